// ASCII-only text helpers for protocol tokens (emails' case, URL schemes and hosts, filter
// keys): locale-independent, and leaving every non-ASCII byte as it is. Case folding of
// people's text is ICU's job (src/core/keywords.h).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace smsconsent {

constexpr bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// `s` without leading and trailing ASCII white space.
constexpr std::string_view TrimAsciiSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Transparent hash for unordered containers keyed by std::string, so that lookups by
// std::string_view do not allocate (with std::equal_to<> as the key-equal).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

constexpr char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

}  // namespace smsconsent
