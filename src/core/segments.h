// SMS segment counting: which encoding a text needs and how many SMS parts it costs.
//
// GSM 03.38: a text whose every character is in the GSM-7 default alphabet or its extension
// table is sent as GSM-7 (extension characters such as "{", "€" take two septets); otherwise
// as UCS-2, where every UTF-16 code unit counts (an emoji outside the BMP is a surrogate pair,
// two units). A single part holds 160 septets / 70 units; a multi-part message carries a user
// data header and holds 153 septets / 67 units per part. A two-septet extension character or
// a surrogate pair is never split across parts, so a part may hold one unit fewer.
// Pure: no I/O, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace smsconsent {

enum class SmsEncoding { kGsm7, kUcs2 };

const char* SmsEncodingName(SmsEncoding e);  // "GSM-7" or "UCS-2"

struct SegmentInfo {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  // Length in the encoding's units: septets for GSM-7 (extension characters count 2),
  // UTF-16 code units for UCS-2 (a surrogate pair counts 2). This is what the limits apply to.
  int characters = 0;
  int code_points = 0;  // Unicode code points, as a person would count them
  int segments = 0;     // 0 for the empty text, else >= 1
  int per_segment = 0;  // 160/153 (GSM-7) or 70/67 (UCS-2): single vs multi-part capacity
};

// Counts any UTF-8 text. Invalid UTF-8 sequences count as U+FFFD (which forces UCS-2).
SegmentInfo CountSegments(std::string_view utf8);

}  // namespace smsconsent
