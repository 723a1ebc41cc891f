// Invariant checks for the libFuzzer targets of this directory. A broken invariant prints what
// broke and aborts, which libFuzzer reports as a crash and saves the input that caused it.
// Unlike assert() these stay on in every build type.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace smsconsent::fuzz {

[[noreturn]] inline void Fail(const char* condition, const char* file, int line,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, condition);
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

// The bytes of `s` with everything outside printable ASCII as \xNN, for failure messages.
inline std::string Escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

}  // namespace smsconsent::fuzz

// FUZZ_CHECK(condition) or FUZZ_CHECK(condition, detail): detail is anything a std::string_view
// is made from, evaluated only when the check fails.
#define FUZZ_CHECK(condition, ...)                                              \
  do {                                                                          \
    if (!(condition)) {                                                         \
      ::smsconsent::fuzz::Fail(#condition, __FILE__, __LINE__,                  \
                               ::std::string_view(::std::string(__VA_ARGS__))); \
    }                                                                           \
  } while (false)
