#include "core/segments.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace smsconsent {
namespace {

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct SegmentCase {
  std::string name;
  std::string text;
  SmsEncoding encoding;
  int characters;
  int segments;
  int per_segment;
};

void PrintTo(const SegmentCase& c, std::ostream* os) { *os << c.name; }

class CountSegmentsTable : public testing::TestWithParam<SegmentCase> {};

TEST_P(CountSegmentsTable, MatchesExpectation) {
  const SegmentCase& c = GetParam();
  const SegmentInfo info = CountSegments(c.text);
  EXPECT_EQ(SmsEncodingName(info.encoding), std::string(SmsEncodingName(c.encoding)));
  EXPECT_EQ(info.characters, c.characters);
  EXPECT_EQ(info.segments, c.segments);
  EXPECT_EQ(info.per_segment, c.per_segment);
}

const std::string kA = "a";
const std::string kEuro = "\u20AC";      // GSM extension: 2 septets
const std::string kBrace = "{";          // GSM extension: 2 septets
const std::string kHan = "\u4E2D";       // BMP, not GSM: 1 UTF-16 unit
const std::string kGrin = "\U0001F600";  // 😀, supplementary: a surrogate pair
const std::string kCurly = "\u2019";     // ’ right single quotation mark: not GSM

std::vector<SegmentCase> Cases() {
  using E = SmsEncoding;
  return {
      {"Empty", "", E::kGsm7, 0, 0, 160},
      {"OneChar", "a", E::kGsm7, 1, 1, 160},
      // GSM-7 boundaries.
      {"Gsm160", Repeat(kA, 160), E::kGsm7, 160, 1, 160},
      {"Gsm161", Repeat(kA, 161), E::kGsm7, 161, 2, 153},
      {"Gsm306", Repeat(kA, 306), E::kGsm7, 306, 2, 153},
      {"Gsm307", Repeat(kA, 307), E::kGsm7, 307, 3, 153},
      {"Gsm459", Repeat(kA, 459), E::kGsm7, 459, 3, 153},
      {"Gsm460", Repeat(kA, 460), E::kGsm7, 460, 4, 153},
      // Extension characters cost two septets.
      {"Euro80", Repeat(kEuro, 80), E::kGsm7, 160, 1, 160},
      {"Euro81", Repeat(kEuro, 81), E::kGsm7, 162, 2, 153},
      {"Gsm159PlusBrace", Repeat(kA, 159) + kBrace, E::kGsm7, 161, 2, 153},
      {"Gsm158PlusBrace", Repeat(kA, 158) + kBrace, E::kGsm7, 160, 1, 160},
      // 152 septets then "€": the escape would fit in part one but its character would not,
      // so "€" moves whole to part two. 152 + 2 + 152 = 306 septets fit two parts only when
      // nothing is split, so the no-split rule costs a third part here.
      {"ExtensionStraddles153", Repeat(kA, 152) + kEuro + Repeat(kA, 152), E::kGsm7, 306, 3, 153},
      {"ExtensionEndsAt153", Repeat(kA, 151) + kEuro + Repeat(kA, 153), E::kGsm7, 306, 2, 153},
      // 76 "€" fill 152 septets of each part; 153 "€" need three parts, not ceil(306/153)=2.
      {"Euro153", Repeat(kEuro, 153), E::kGsm7, 306, 3, 153},
      {"AllExtensionChars", "\f^{}\\[~]|\u20AC", E::kGsm7, 20, 1, 160},
      // UCS-2 boundaries (a BMP character is one unit).
      {"Ucs2_70", Repeat(kHan, 70), E::kUcs2, 70, 1, 70},
      {"Ucs2_71", Repeat(kHan, 71), E::kUcs2, 71, 2, 67},
      {"Ucs2_134", Repeat(kHan, 134), E::kUcs2, 134, 2, 67},
      {"Ucs2_135", Repeat(kHan, 135), E::kUcs2, 135, 3, 67},
      // One non-GSM character turns a whole GSM text into UCS-2.
      {"OneHanIn69Ascii", Repeat(kA, 69) + kHan, E::kUcs2, 70, 1, 70},
      {"OneHanIn70Ascii", Repeat(kA, 70) + kHan, E::kUcs2, 71, 2, 67},
      // Emoji outside the BMP are surrogate pairs: two units each.
      {"Emoji35", Repeat(kGrin, 35), E::kUcs2, 70, 1, 70},
      {"Emoji36", Repeat(kGrin, 36), E::kUcs2, 72, 2, 67},
      // A pair at unit 67/68 of the first part moves whole to the next part.
      {"PairStraddles67", Repeat(kHan, 66) + kGrin + Repeat(kHan, 66), E::kUcs2, 134, 3, 67},
      {"PairEndsAt67", Repeat(kHan, 65) + kGrin + Repeat(kHan, 67), E::kUcs2, 134, 2, 67},
      // Danish: æ ø å Æ Ø Å are all in the GSM default alphabet.
      {"DanishGsm", "Hej Søren! Vil du have æbler fra Århus? Svar JA/NEJ.", E::kGsm7, 52, 1, 160},
      {"PolishLIsNotGsm", "Dzi\u0119kuj\u0119, \u0142adnie", E::kUcs2, 16, 1, 70},
      {"CurlyApostropheForcesUcs2", "Don" + kCurly + "t forget: reply STOP to opt out", E::kUcs2,
       35, 1, 70},
      {"StraightApostropheStaysGsm", "Don't forget: reply STOP to opt out", E::kGsm7, 35, 1, 160},
      {"BacktickIsNotGsm", "`", E::kUcs2, 1, 1, 70},
      {"LowercaseCCedillaIsNotGsm", "\u00E7", E::kUcs2, 1, 1, 70},
      {"CapitalCCedillaIsGsm", "\u00C7", E::kGsm7, 1, 1, 160},
      {"GreekCapitalsAreGsm", "\u0394\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E",
       E::kGsm7, 10, 1, 160},
      {"GreekSmallIsNotGsm", "\u03B1", E::kUcs2, 1, 1, 70},
      {"Latin1Symbols", "@\u00A3$\u00A5\u00A4\u00A7\u00A1\u00BF_#", E::kGsm7, 10, 1, 160},
      // Line breaks: LF and CR are one septet each; form feed is an extension character.
      {"Newlines", "Line one\nLine two\r\nEnd", E::kGsm7, 22, 1, 160},
      {"FormFeed", "a\fb", E::kGsm7, 4, 1, 160},
      {"TabIsNotGsm", "a\tb", E::kUcs2, 3, 1, 70},
      {"NulIsNotGsm", std::string("a\0b", 3), E::kUcs2, 3, 1, 70},
      // Invalid UTF-8 counts as U+FFFD (not GSM), once per maximal ill-formed subpart.
      {"LoneContinuationByte", "abc\x80", E::kUcs2, 4, 1, 70},
      {"TruncatedThreeByte", "a\xE2\x82", E::kUcs2, 2, 1, 70},
      {"OverlongSlash", "\xC0\xAF", E::kUcs2, 2, 1, 70},
      {"EncodedSurrogate", "\xED\xA0\x80", E::kUcs2, 3, 1, 70},
      {"BeyondMaxCodePoint", "\xF4\x90\x80\x80", E::kUcs2, 4, 1, 70},
      {"TruncatedFourByteAtEnd", "ok\xF0\x9F\x98", E::kUcs2, 3, 1, 70},
  };
}

INSTANTIATE_TEST_SUITE_P(Table, CountSegmentsTable, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<SegmentCase>& info) {
                           return info.param.name;
                         });

TEST(CountSegments, CodePointsCountWhatAPersonSees) {
  EXPECT_EQ(CountSegments("").code_points, 0);
  EXPECT_EQ(CountSegments("abc").code_points, 3);
  EXPECT_EQ(CountSegments("æøå").code_points, 3);                // 6 bytes, 3 septets
  EXPECT_EQ(CountSegments(Repeat(kEuro, 80)).code_points, 80);   // 160 septets
  EXPECT_EQ(CountSegments(Repeat(kGrin, 35)).code_points, 35);   // 70 UTF-16 units
  const std::string truncated = std::string("a\xE2\x82") + "b";  // a, U+FFFD, b
  EXPECT_EQ(CountSegments(truncated).code_points, 3);
}

TEST(CountSegments, ExtensionCharacterCostsTwoSeptetsButOneCodePoint) {
  const SegmentInfo info = CountSegments("{x}");
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(info.characters, 5);
  EXPECT_EQ(info.code_points, 3);
}

TEST(CountSegments, ValidMultiByteSequencesDecode) {
  // Two-, three- and four-byte forms at their range limits decode as one code point each.
  const SegmentInfo info = CountSegments(
      "\xC2\x80\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
      "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(info.code_points, 5);
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(info.characters, 7);  // three BMP units + two surrogate pairs
}

TEST(CountSegments, EveryGsmTableCharacterStaysGsm) {
  const std::string basic =
      "@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\n\u00D8\u00F8\r\u00C5\u00E5"
      "\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9"
      " !\"#\u00A4%&'()*+,-./0123456789:;<=>?"
      "\u00A1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00C4\u00D6\u00D1\u00DC\u00A7"
      "\u00BFabcdefghijklmnopqrstuvwxyz\u00E4\u00F6\u00F1\u00FC\u00E0";
  const SegmentInfo info = CountSegments(basic);
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(info.code_points, 127);  // the 128 positions minus the escape
  EXPECT_EQ(info.characters, 127);
}

TEST(CountSegments, SegmentsAgreeWithBruteForcePacking) {
  // Mixed one- and two-unit characters at every length up to a few parts, checked against
  // an independent greedy packer.
  for (bool ucs2 : {false, true}) {
    const std::string one = ucs2 ? kHan : kA;
    const std::string two = ucs2 ? kGrin : kEuro;
    const int single = ucs2 ? 70 : 160;
    const int multi = ucs2 ? 67 : 153;
    std::string text;
    std::vector<int> costs;
    for (int i = 0; i < 500; ++i) {
      const bool is_two = (i * 7919) % 5 == 0;
      text += is_two ? two : one;
      costs.push_back(is_two ? 2 : 1);
      int total = 0;
      for (int c : costs) total += c;
      int expected = 1;
      if (total > single) {
        int used = 0;
        for (int c : costs) {
          if (used + c > multi) {
            ++expected;
            used = 0;
          }
          used += c;
        }
      }
      const SegmentInfo info = CountSegments(text);
      ASSERT_EQ(info.characters, total) << "length " << i + 1 << (ucs2 ? " UCS-2" : " GSM");
      ASSERT_EQ(info.segments, expected) << "length " << i + 1 << (ucs2 ? " UCS-2" : " GSM");
    }
  }
}

TEST(SmsEncodingName, NamesBothEncodings) {
  EXPECT_STREQ(SmsEncodingName(SmsEncoding::kGsm7), "GSM-7");
  EXPECT_STREQ(SmsEncodingName(SmsEncoding::kUcs2), "UCS-2");
}

// tests/data/segment_vectors.json is also run against the web page's counter
// (web/segments.js, tests/web/segments.test.mjs), so the live counter and the server agree.
TEST(CountSegments, SharedVectorsWithTheWebPage) {
  std::ifstream in(std::string(SMSCONSENT_SOURCE_DIR) + "/tests/data/segment_vectors.json");
  ASSERT_TRUE(in) << "tests/data/segment_vectors.json not found";
  const nlohmann::json vectors = nlohmann::json::parse(in);
  ASSERT_GE(vectors.size(), 10u);
  for (const auto& v : vectors) {
    const SegmentInfo info = CountSegments(v.at("text").get<std::string>());
    const std::string name = v.at("name").get<std::string>();
    EXPECT_EQ(SmsEncodingName(info.encoding), v.at("encoding").get<std::string>()) << name;
    EXPECT_EQ(info.characters, v.at("characters").get<int>()) << name;
    EXPECT_EQ(info.segments, v.at("segments").get<int>()) << name;
  }
}

}  // namespace
}  // namespace smsconsent
