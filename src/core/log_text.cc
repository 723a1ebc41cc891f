#include "core/log_text.h"

#include <unicode/utf8.h>

#include <cstdint>

#include <nlohmann/json.hpp>

namespace smsconsent {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// A code point that ends or alters a line although it is not an ASCII control: C1 controls
// (U+0080..U+009F) and U+2028/U+2029.
bool IsUnicodeLineBreakOrControl(UChar32 c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

void AppendCodePointEscape(std::string& out, UChar32 c) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(c >> shift) & 0xF]);
}

// Appends `s` to `out`: each byte below 0x80 through ascii(byte); each well-formed UTF-8
// sequence above it as it is, except the code points IsUnicodeLineBreakOrControl names, which
// become \uXXXX (the same escape in plain and JSON lines); and each byte that is part of no
// well-formed sequence through bad(byte).
template <typename Ascii, typename Bad>
void AppendCharacters(std::string& out, std::string_view s, Ascii ascii, Bad bad) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < length;) {
    if (bytes[i] < 0x80) {
      ascii(static_cast<char>(bytes[i]));
      ++i;
      continue;
    }
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {
      // One ill-formed byte at a time: what follows it may start a sequence of its own.
      bad(bytes[start]);
      i = start + 1;
    } else if (IsUnicodeLineBreakOrControl(c)) {
      AppendCodePointEscape(out, c);
    } else {
      out.append(s.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
    }
  }
}

}  // namespace

void AppendLogText(std::string& out, std::string_view s) {
  auto byte_escape = [&out](uint8_t b) {
    out += "\\x";
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  };
  AppendCharacters(
      out, s,
      [&](char c) {
        switch (c) {
          case '\n':
            out += "\\n";
            return;
          case '\r':
            out += "\\r";
            return;
          case '\t':
            out += "\\t";
            return;
          case '\\':
            out += "\\\\";
            return;
          default:
            break;
        }
        const auto u = static_cast<uint8_t>(c);
        if (u < 0x20 || u == 0x7F) {
          byte_escape(u);
        } else {
          out.push_back(c);
        }
      },
      byte_escape);
}

std::string LogText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendLogText(out, s);
  return out;
}

std::string JsonLogFields(std::string_view message) {
  constexpr std::string_view kFields = "\"msg\":";
  // Raw control characters and line separators can stand only inside strings of valid JSON
  // (anywhere else the text is not JSON, which the check below catches), where their \u
  // escapes mean the same; a byte that is not UTF-8 becomes U+FFFD, as in dump()'s replace
  // mode.
  auto append = [](std::string& out, std::string_view text, bool quote) {
    AppendCharacters(
        out, text,
        [&](char c) {
          const auto u = static_cast<uint8_t>(c);
          if (quote && (c == '"' || c == '\\')) {
            out.push_back('\\');
            out.push_back(c);
          } else if (u < 0x20 || u == 0x7F) {
            AppendCodePointEscape(out, u);
          } else {
            out.push_back(c);
          }
        },
        [&](uint8_t) { out += "\xEF\xBF\xBD"; });
  };
  if (message.substr(0, kFields.size()) == kFields) {
    std::string fields;
    fields.reserve(message.size());
    append(fields, message, /*quote=*/false);
    if (nlohmann::json::accept("{" + fields + "}")) return fields;
  }
  std::string out(kFields);
  out.reserve(message.size() + 8);
  out.push_back('"');
  append(out, message, /*quote=*/true);
  out.push_back('"');
  return out;
}

}  // namespace smsconsent
