#include "core/json_text.h"

#include <unicode/stringpiece.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <array>
#include <cstddef>

namespace smsconsent {
namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], 0 when it is not one (ICU's
// decoder: overlong forms, surrogates and code points above U+10FFFF are ill-formed).
int32_t SequenceLength(std::string_view s, int32_t i) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  const int32_t start = i;
  UChar32 c = 0;
  U8_NEXT(bytes, i, length, c);
  return c < 0 ? 0 : i - start;
}

// Printable ASCII other than '"' and '\\': written as it is. A table, because every byte of
// every string written goes through it.
constexpr std::array<bool, 256> kJsonPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

bool IsPlain(unsigned char c) { return kJsonPlain[c]; }

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (int32_t i = 0; i < static_cast<int32_t>(s.size());) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int32_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .toUTF8String(out);
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto size = static_cast<int32_t>(s.size());
  out.push_back('"');
  for (int32_t i = 0; i < size;) {
    // Runs of plain characters (most of any text) are appended at once.
    int32_t run = i;
    while (run < size && IsPlain(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, static_cast<size_t>(run - i));
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const int32_t n = SequenceLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for the ill-formed byte
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void AppendJsonKey(std::string& out, std::string_view key, bool& first) {
  if (!first) out.push_back(',');
  first = false;
  AppendJsonString(out, key);
  out.push_back(':');
}

void AppendJsonMember(std::string& out, std::string_view key, std::string_view value, bool& first) {
  AppendJsonKey(out, key, first);
  AppendJsonString(out, value);
}

}  // namespace smsconsent
