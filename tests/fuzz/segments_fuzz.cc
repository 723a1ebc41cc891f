// Fuzz target: SMS segment counting (core/segments.h), run on every reply and every text the
// API and the web page count.
//
// Invariants: the empty text has no segment and any other at least one; a text within one
// part's capacity is one part; a longer one is split into parts of the multi-part capacity
// that are full but for at most the one unit a two-unit character could not be split into;
// the length in units is between the number of code points and twice that, and for valid
// UTF-8 sent as UCS-2 it is exactly its UTF-16 length; invalid UTF-8 is sent as UCS-2.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_text.h"
#include "core/segments.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

// Code points and UTF-16 units of valid UTF-8, counted from the lead bytes.
void CountUtf8(std::string_view s, int64_t* code_points, int64_t* units) {
  *code_points = 0;
  *units = 0;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b & 0xC0) == 0x80) continue;
    ++*code_points;
    *units += b >= 0xF0 ? 2 : 1;
  }
}

void CheckSegments(std::string_view text) {
  const SegmentInfo info = CountSegments(text);
  const std::string what = fuzz::Escaped(text) + ": " + SmsEncodingName(info.encoding) + " " +
                           std::to_string(info.characters) + " units, " +
                           std::to_string(info.code_points) + " code points, " +
                           std::to_string(info.segments) + " segments of " +
                           std::to_string(info.per_segment);
  if (text.empty()) {
    FUZZ_CHECK(info.segments == 0 && info.characters == 0 && info.code_points == 0, what);
    return;
  }
  FUZZ_CHECK(info.segments >= 1, what);
  FUZZ_CHECK(info.code_points >= 1 && static_cast<size_t>(info.code_points) <= text.size(), what);
  FUZZ_CHECK(info.characters >= info.code_points && info.characters <= 2 * info.code_points, what);

  const bool gsm = info.encoding == SmsEncoding::kGsm7;
  const int single = gsm ? 160 : 70;
  const int multi = gsm ? 153 : 67;
  if (info.characters <= single) {
    FUZZ_CHECK(info.segments == 1 && info.per_segment == single, what);
  } else {
    FUZZ_CHECK(info.per_segment == multi, what);
    const int64_t parts = info.segments;
    FUZZ_CHECK(parts * multi >= info.characters, what);
    FUZZ_CHECK((parts - 1) * (multi - 1) < info.characters, what);
    if (info.characters == info.code_points) {
      FUZZ_CHECK(parts == (info.characters + multi - 1) / multi, what);
    }
  }

  if (IsValidUtf8(text)) {
    int64_t code_points = 0;
    int64_t units = 0;
    CountUtf8(text, &code_points, &units);
    FUZZ_CHECK(info.code_points == code_points, what);
    if (!gsm) FUZZ_CHECK(info.characters == units, what);
  } else {
    FUZZ_CHECK(!gsm, what);
  }
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::CheckSegments(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
