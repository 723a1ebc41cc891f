// Text for the service's log lines. A log line is one record: whatever a logged value holds
// (a request path, a header, a message body, an error message quoting either) must not end
// the line early, start what looks like another record, or reach a terminal as a control
// sequence. The log formatter (src/cli/serve.cc) passes every message through these, so no
// call site has to remember to.
//
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace smsconsent {

// `s` for a plain-text log line: valid UTF-8 on one line. Escaped as
//   \n \r \t                 line feed, carriage return, tab;
//   \xNN                     other C0 controls, DEL, and each byte that is not part of a
//                            well-formed UTF-8 sequence (so the raw bytes can be read back);
//   \u0085 \u009b …          C1 controls (NEL ends a line for some readers; a terminal may read
//                            U+009B as CSI), and \u2028 \u2029 (Unicode's line and paragraph
//                            separators);
//   \\                       a backslash, so that the escapes above are unambiguous.
// Everything else, other UTF-8 included, is kept as it is.
std::string LogText(std::string_view s);
void AppendLogText(std::string& out, std::string_view s);

// The inner fields of a JSON log line ({"ts":…,"level":…,FIELDS}) for `message`. A message
// that is already fields ("msg":… followed by more members, the convention of JSON-mode call
// sites) is kept, with any raw control character, line separator or byte that is not UTF-8
// escaped the JSON way (\u000a, U+FFFD), so a value that was written into it unescaped cannot
// break the line. Anything else, or fields that do not make a JSON object, becomes one member:
// "msg":"<message as a JSON string>". Either way "{" + result + "}" is one JSON object on one
// line.
std::string JsonLogFields(std::string_view message);

}  // namespace smsconsent
