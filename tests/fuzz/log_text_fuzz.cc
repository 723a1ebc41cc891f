// Fuzz target: the escaping of log lines (core/log_text.h), which every logged value -- request
// paths, headers, message bodies, errors quoting them -- goes through.
//
// Invariants: LogText gives valid UTF-8 with no control character, C1 control or Unicode line
// separator in it, and leaves text that needs no escape as it is; "{" + JsonLogFields(s) + "}"
// is one JSON object on one line.
#include <unicode/utf8.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/log_text.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

// True when `s` (valid UTF-8) has a C0 control, DEL, a C1 control or U+2028/U+2029.
bool HasLineBreakOrControl(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029) {
      return true;
    }
  }
  return false;
}

void Check(std::string_view s) {
  const std::string text = LogText(s);
  FUZZ_CHECK(IsValidUtf8(text), fuzz::Escaped(s) + " -> " + fuzz::Escaped(text));
  FUZZ_CHECK(!HasLineBreakOrControl(text), fuzz::Escaped(s) + " -> " + fuzz::Escaped(text));
  if (IsValidUtf8(s) && !HasLineBreakOrControl(s) && s.find('\\') == std::string_view::npos) {
    FUZZ_CHECK(text == s, fuzz::Escaped(s) + " -> " + fuzz::Escaped(text));
  }

  const std::string line = "{" + JsonLogFields(s) + "}";
  FUZZ_CHECK(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos,
             fuzz::Escaped(line));
  const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(parsed.is_object(), fuzz::Escaped(s) + " -> " + fuzz::Escaped(line));
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
