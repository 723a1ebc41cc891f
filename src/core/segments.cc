#include "core/segments.h"

#include <array>
#include <cstdint>
#include <limits>

namespace smsconsent {
namespace {

constexpr int kGsmSingle = 160;
constexpr int kGsmMulti = 153;
constexpr int kUcs2Single = 70;
constexpr int kUcs2Multi = 67;
constexpr char32_t kReplacement = 0xFFFD;

// Septets a code point in U+0000..U+00FF costs in GSM-7: 0 = not representable, 1 = default
// alphabet, 2 = extension table (escape + character). ASCII is the hot path, and Latin-1 holds
// all but the Greek capitals and the euro sign, so one 256-entry table covers nearly every
// lookup.
constexpr std::array<std::uint8_t, 256> MakeLatin1Table() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0x20; c <= 0x7E; ++c) t[c] = 1;  // printable ASCII, except as patched below
  t['`'] = 0;                                   // the only printable ASCII GSM lacks
  for (char c : {'^', '{', '}', '\\', '[', '~', ']', '|'}) t[static_cast<unsigned char>(c)] = 2;
  t['\n'] = 1;
  t['\r'] = 1;
  t['\f'] = 2;  // the extension table's page break
  for (int c :
       {0xA1, 0xA3, 0xA4, 0xA5, 0xA7, 0xBF, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9, 0xD1, 0xD6, 0xD8, 0xDC,
        0xDF, 0xE0, 0xE4, 0xE5, 0xE6, 0xE8, 0xE9, 0xEC, 0xF1, 0xF2, 0xF6, 0xF8, 0xF9, 0xFC}) {
    t[c] = 1;  // ¡ £ ¤ ¥ § ¿ Ä Å Æ Ç É Ñ Ö Ø Ü ß à ä å æ è é ì ñ ò ö ø ù ü
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kLatin1Septets = MakeLatin1Table();

inline int GsmSeptets(char32_t cp) {
  if (cp < 0x100) return kLatin1Septets[cp];
  switch (cp) {
    case 0x0393:  // Γ
    case 0x0394:  // Δ
    case 0x0398:  // Θ
    case 0x039B:  // Λ
    case 0x039E:  // Ξ
    case 0x03A0:  // Π
    case 0x03A3:  // Σ
    case 0x03A6:  // Φ
    case 0x03A8:  // Ψ
    case 0x03A9:  // Ω
      return 1;
    case 0x20AC:  // €
      return 2;
    default:
      return 0;
  }
}

inline bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes one code point starting at a non-ASCII byte `*p` and advances `p`. Ill-formed input
// yields U+FFFD once per maximal subpart (the Unicode / WHATWG practice), so a truncated
// three-byte sequence costs one replacement, and a stray continuation byte costs one each.
inline char32_t DecodeMultiByte(const unsigned char*& p, const unsigned char* end) {
  const unsigned char b0 = *p++;
  int need;
  char32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return kReplacement;  // continuation byte, C0/C1 or F5..FF as a lead
  }
  if (p == end || *p < lo || *p > hi) return kReplacement;
  cp = (cp << 6) | (*p++ & 0x3F);
  for (int i = 1; i < need; ++i) {
    if (p == end || !IsContinuation(*p)) return kReplacement;
    cp = (cp << 6) | (*p++ & 0x3F);
  }
  return cp;
}

inline char32_t DecodeNext(const unsigned char*& p, const unsigned char* end) {
  if (*p < 0x80) return *p++;
  return DecodeMultiByte(p, end);
}

// Greedy packing into multi-part segments: a unit of `cost` (2 for an extension character or
// a surrogate pair) that does not fit in what is left of the current part starts a new one.
struct Packer {
  int capacity;
  std::int64_t parts = 1;
  int used = 0;
  void Add(int cost) {
    if (used + cost > capacity) {
      ++parts;
      used = 0;
    }
    used += cost;
  }
};

std::int64_t PackGsm(const unsigned char* p, const unsigned char* end) {
  Packer packer{kGsmMulti};
  while (p < end) packer.Add(GsmSeptets(DecodeNext(p, end)));
  return packer.parts;
}

std::int64_t PackUcs2(const unsigned char* p, const unsigned char* end) {
  Packer packer{kUcs2Multi};
  while (p < end) packer.Add(DecodeNext(p, end) > 0xFFFF ? 2 : 1);
  return packer.parts;
}

std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Counters are 64-bit so that no input size can overflow them; the result saturates.
int Saturate(std::int64_t v) {
  return v > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                             : static_cast<int>(v);
}

}  // namespace

const char* SmsEncodingName(SmsEncoding e) {
  switch (e) {
    case SmsEncoding::kGsm7:
      return "GSM-7";
    case SmsEncoding::kUcs2:
      return "UCS-2";
  }
  return "UNKNOWN";
}

SegmentInfo CountSegments(std::string_view utf8) {
  SegmentInfo info;
  if (utf8.empty()) {
    info.per_segment = kGsmSingle;
    return info;
  }

  const auto* const begin = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* const end = begin + utf8.size();

  // One pass for the totals. The texts we see are short and mostly ASCII, so runs of ASCII
  // cost a table lookup per byte and nothing else; the no-split packing needs a second pass
  // only for multi-part texts that contain a two-unit character. Within a GSM text every
  // code point costs 1 or 2 septets, so septets - code_points counts extension characters;
  // likewise units - code_points counts surrogate pairs.
  std::int64_t code_points = 0;
  std::int64_t septets = 0;
  std::int64_t units = 0;  // UTF-16 code units
  bool non_gsm = false;
  for (const unsigned char* p = begin; p < end;) {
    const unsigned char* const run = p;
    while (p < end && *p < 0x80) {
      const int s = kLatin1Septets[*p++];
      septets += s;
      non_gsm |= (s == 0);
    }
    code_points += p - run;
    units += p - run;
    if (p == end) break;
    const char32_t cp = DecodeMultiByte(p, end);
    const int s = GsmSeptets(cp);
    septets += s;
    non_gsm |= (s == 0);
    ++code_points;
    units += cp > 0xFFFF ? 2 : 1;
  }

  info.code_points = Saturate(code_points);
  if (!non_gsm) {
    info.encoding = SmsEncoding::kGsm7;
    info.characters = Saturate(septets);
    if (septets <= kGsmSingle) {
      info.segments = 1;
      info.per_segment = kGsmSingle;
    } else {
      info.segments =
          Saturate(septets == code_points ? CeilDiv(septets, kGsmMulti) : PackGsm(begin, end));
      info.per_segment = kGsmMulti;
    }
  } else {
    info.encoding = SmsEncoding::kUcs2;
    info.characters = Saturate(units);
    if (units <= kUcs2Single) {
      info.segments = 1;
      info.per_segment = kUcs2Single;
    } else {
      info.segments =
          Saturate(units == code_points ? CeilDiv(units, kUcs2Multi) : PackUcs2(begin, end));
      info.per_segment = kUcs2Multi;
    }
  }
  return info;
}

}  // namespace smsconsent
