// ASCII-only text helpers for protocol tokens (emails' case, URL schemes and hosts, filter
// keys): locale-independent, and leaving every non-ASCII byte as it is. Case folding of
// people's text is ICU's job (src/core/keywords.h).
#pragma once

#include <string>
#include <string_view>

namespace smsconsent {

constexpr char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

}  // namespace smsconsent
