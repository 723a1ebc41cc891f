// The canonical E.164 fast path (PhoneNormalizer::Options::canonical_fast_path) gives exactly
// the verdict of libphonenumber's full parse: for every calling code libphonenumber supports and
// a spread of national numbers, and for the cases it must hand to the full parse (national
// prefixes, leading zeros, non-geographic and unknown calling codes, impossible lengths).
#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/phone.h"

namespace smsconsent {
namespace {

// Both without the cache, so every call works its verdict out.
PhoneNormalizer::Options FastPath() { return {.cache_capacity = 0, .canonical_fast_path = true}; }
PhoneNormalizer::Options FullParse() { return {.cache_capacity = 0, .canonical_fast_path = false}; }

std::vector<int> SupportedCallingCodes() {
  std::set<int> codes;
  i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedCallingCodes(&codes);
  return {codes.begin(), codes.end()};
}

void ExpectSame(const Result<PhoneNumber>& want, const Result<PhoneNumber>& got,
                std::string_view what, const std::string& input) {
  ASSERT_EQ(want.ok(), got.ok()) << what << " " << input << ": "
                                 << (want.ok() ? want->e164 : want.status().ToString()) << " vs "
                                 << (got.ok() ? got->e164 : got.status().ToString());
  if (want.ok()) {
    EXPECT_EQ(want->e164, got->e164) << what << " " << input;
    EXPECT_EQ(want->country_code, got->country_code) << what << " " << input;
    EXPECT_EQ(want->region, got->region) << what << " " << input;
    EXPECT_EQ(want->valid, got->valid) << what << " " << input;
  } else {
    EXPECT_EQ(want.status().code(), got.status().code()) << what << " " << input;
    EXPECT_EQ(want.status().message(), got.status().message()) << what << " " << input;
  }
}

struct Outcome {
  bool accepted;  // the full parse accepts the number
  bool fast;      // the fast path answered (rather than handing over to the full parse)
};

// Normalize and NormalizeToE164 of `input` through the fast path and through the full parse
// agree.
Outcome ExpectSameVerdicts(const PhoneNormalizer& fast, const PhoneNormalizer& full,
                           const std::string& input) {
  const std::size_t before = fast.canonical_fast_path_count();
  const Result<PhoneNumber> want = full.Normalize(input, "");
  ExpectSame(want, fast.Normalize(input, ""), "Normalize", input);
  ExpectSame(full.NormalizeToE164(input, ""), fast.NormalizeToE164(input, ""), "NormalizeToE164",
             input);
  const std::size_t taken = fast.canonical_fast_path_count() - before;
  EXPECT_TRUE(taken == 0 || taken == 2) << input;  // both calls take the same path
  // It answers only for numbers the parse accepts: refusals are worded by the parse.
  EXPECT_TRUE(taken == 0 || want.ok()) << input;
  return {want.ok(), taken == 2};
}

// Deterministic pseudo-random digits (a fixed-seed LCG, the same on every platform).
class Digits {
 public:
  char Next() {
    state_ = state_ * 1103515245u + 12345u;
    return static_cast<char>('0' + (state_ >> 16) % 10);
  }
  std::string Fill(std::string prefix, std::size_t length) {
    while (prefix.size() < length) prefix += Next();
    prefix.resize(length);
    return prefix;
  }

 private:
  unsigned state_ = 20261129u;
};

// "+", the calling code and national numbers of every first digit 1-9 (lengths 4-14), every
// first two digits 10-99 (a few lengths), a few with a leading 0 and a few of random length;
// only the canonical ones (7-15 digits in all), the only input the fast path sees.
std::vector<std::string> NumbersFor(int calling_code, Digits& digits) {
  const std::string cc = std::to_string(calling_code);
  std::vector<std::string> nationals;
  for (char first = '1'; first <= '9'; ++first) {
    for (std::size_t length = 4; length <= 14; ++length) {
      nationals.push_back(digits.Fill(std::string(1, first), length));
    }
  }
  for (int two = 10; two <= 99; ++two) {
    for (std::size_t length : {7u, 9u, 11u}) {
      nationals.push_back(digits.Fill(std::to_string(two), length));
    }
  }
  for (std::size_t length : {6u, 9u, 11u}) nationals.push_back(digits.Fill("0", length));
  for (int i = 0; i < 10; ++i) {
    nationals.push_back(digits.Fill("", 4 + static_cast<std::size_t>(digits.Next() - '0')));
  }
  std::vector<std::string> out;
  for (const std::string& national : nationals) {
    const std::string e164 = "+" + cc + national;
    if (PhoneNormalizer::LooksLikeE164(e164)) out.push_back(e164);
  }
  return out;
}

// One test per first digit of the calling code, so that CTest runs them side by side.
class PhoneFastPathEquivalence : public testing::TestWithParam<int> {};

TEST_P(PhoneFastPathEquivalence, SameVerdictsAsTheFullParseForEveryCallingCode) {
  const PhoneNormalizer fast(FastPath());
  const PhoneNormalizer full(FullParse());
  Digits digits;
  int calling_codes = 0;
  std::size_t accepted = 0;
  std::size_t answered = 0;
  for (int cc : SupportedCallingCodes()) {
    if (std::to_string(cc)[0] != static_cast<char>('0' + GetParam())) continue;
    ++calling_codes;
    for (const std::string& input : NumbersFor(cc, digits)) {
      const Outcome outcome = ExpectSameVerdicts(fast, full, input);
      if (testing::Test::HasFatalFailure()) return;
      accepted += outcome.accepted;
      answered += outcome.fast;
    }
  }
  EXPECT_GT(calling_codes, 0);
  // The fast path answers for many of the numbers the parse accepts (+1: half, since half of
  // the +1 numbers accepted here start with the US prefix 1); the others -- national
  // prefixes, leading zeros, the non-geographic +800 family -- show that handing over leaves
  // the verdict as it is.
  EXPECT_GE(answered * 3, accepted) << answered << " of " << accepted;
  EXPECT_GT(answered, 0u);
  EXPECT_EQ(full.canonical_fast_path_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(CallingCodesStartingWith, PhoneFastPathEquivalence, testing::Range(1, 10));

// The fast path keeps libphonenumber's possible-length verdict per (calling code, length of
// the national number), which is right only while the verdict depends on nothing else for
// national numbers without a leading zero. Checked here for every calling code and length,
// with numbers of every first digit, so that a libphonenumber whose check looks at the digits
// fails this test rather than the service.
TEST(PhoneFastPath, PossibleLengthVerdictDependsOnlyOnCallingCodeAndLength) {
  namespace pn = ::i18n::phonenumbers;
  const pn::PhoneNumberUtil& util = *pn::PhoneNumberUtil::GetInstance();
  Digits digits;
  for (int cc : SupportedCallingCodes()) {
    for (std::size_t length = 1; length <= 14; ++length) {
      std::set<int> verdicts;
      for (char first = '1'; first <= '9'; ++first) {
        const std::string national = digits.Fill(std::string(1, first), length);
        pn::PhoneNumber number;
        number.set_country_code(cc);
        number.set_national_number(std::stoull(national));
        verdicts.insert(static_cast<int>(util.IsPossibleNumberWithReason(number)));
      }
      EXPECT_EQ(verdicts.size(), 1u) << "+" << cc << " with " << length << " digits";
    }
  }
}

// Numbers of one length in turn possible and not (the second of each pair is a digit longer
// or shorter than the first), so that a verdict kept for one length would show up as a wrong
// answer for the other.
TEST(PhoneFastPath, KeptLengthVerdictsStayPerLength) {
  const PhoneNormalizer fast(FastPath());
  const PhoneNormalizer full(FullParse());
  for (const char* input :
       {"+4520123456", "+452012345", "+4530123456", "+45301234567", "+4540123456", "+14155552671",
        "+1415555267", "+14155552672", "+141555526712", "+442079460958", "+44207946095",
        "+442079460959", "+4420794609581", "+491512345678", "+49151234567", "+4915123456789",
        "+491512345679"}) {
    ExpectSameVerdicts(fast, full, input);
  }
}

struct FastPathCase {
  const char* input;
  bool fast;  // the fast path answers (else it hands over to the full parse)
  const char* why;
};

TEST(PhoneFastPath, HandsOverWhateverParseWouldChange) {
  const PhoneNormalizer fast(FastPath());
  const PhoneNormalizer full(FullParse());
  const FastPathCase cases[] = {
      {"+14155552671", true, "NANP, national number not starting with the US prefix 1"},
      {"+12015550123", true, "NANP fictional 555 range: possible, not valid"},
      {"+114155552671", false, "US national_prefix_for_parsing \"1\" matches"},
      {"+11234567890", false, "US national prefix again"},
      {"+1800555012", false, "NANP too short: the parse words the refusal"},
      {"+5491123456789", true,
       "Argentina mobile with the 9 token: the prefix pattern matches nothing"},
      {"+541123456789", true, "Argentina Buenos Aires fixed line"},
      {"+541115234567", false, "Argentina 11 then the 15 mobile token: the prefix pattern matches"},
      {"+5411151234567", false, "Argentina 11 15 ...: transformed by the parse"},
      {"+5215512345678", false, "Mexico old mobile 1 token (national prefix for parsing)"},
      {"+525512345678", true, "Mexico City"},
      {"+5511987654321", true, "Brazil Sao Paulo mobile"},
      {"+5501187654321", false, "Brazil national number starting with 0"},
      {"+551531987654321", false, "Brazil carrier-code form: too long, or stripped by the parse"},
      {"+79161234567", true, "Russia mobile"},
      {"+78123456789", false, "Russia: national prefix 8 matches"},
      {"+390612345678", false, "Italy fixed line: leading 0 (italian_leading_zero)"},
      {"+393123456789", true, "Italy mobile"},
      {"+80012345678", false, "+800: non-geographic main region 001"},
      {"+88213123456", false, "+882: non-geographic"},
      {"+4520123456", true, "Denmark"},
      {"+452012345", false, "Denmark, one digit short"},
      {"+45201234567", false, "Denmark, one digit long"},
      {"+442079460958", true, "UK London"},
      {"+4407946095812", false, "UK national number with leading 0"},
      {"+9991234567", false, "unknown calling code 999"},
      {"+2101234567", false, "unknown calling code 210"},
      {"+491512345678", true, "Germany mobile"},
      {"+8613812345678", true, "China mobile"},
      {"+819012345678", true, "Japan mobile"},
  };
  for (const FastPathCase& c : cases) {
    SCOPED_TRACE(c.why);
    EXPECT_EQ(ExpectSameVerdicts(fast, full, c.input).fast, c.fast) << c.input;
  }
}

TEST(PhoneFastPath, KeepsTheVerdictsTheParseGivesForNationalPrefixes) {
  // What the full parse makes of these (so that the hand-over above matters): the US prefix
  // 1 is stripped, an Italian leading zero kept, +800 is its own region.
  const PhoneNormalizer fast(FastPath());
  Result<PhoneNumber> us = fast.Normalize("+114155552671", "");
  ASSERT_TRUE(us.ok()) << us.status().ToString();
  EXPECT_EQ(us->e164, "+14155552671");
  Result<PhoneNumber> it = fast.Normalize("+390612345678", "");
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  EXPECT_EQ(it->e164, "+390612345678");
  EXPECT_EQ(it->region, "IT");
  Result<PhoneNumber> free_phone = fast.Normalize("+80012345678", "");
  ASSERT_TRUE(free_phone.ok()) << free_phone.status().ToString();
  EXPECT_EQ(free_phone->region, "001");
  EXPECT_EQ(fast.canonical_fast_path_count(), 0u);
}

TEST(PhoneFastPath, IgnoresTheDefaultRegionAsTheParseDoes) {
  const PhoneNormalizer fast(FastPath());
  const PhoneNormalizer full(FullParse());
  for (const char* region : {"", "DK", "US", "AR", "xx"}) {
    for (const char* input : {"+4520123456", "+14155552671", "+5491123456789"}) {
      ExpectSame(full.Normalize(input, region), fast.Normalize(input, region), region, input);
    }
  }
  EXPECT_GT(fast.canonical_fast_path_count(), 0u);
}

TEST(PhoneFastPath, OnlyCanonicalInputTakesIt) {
  const PhoneNormalizer fast(FastPath());
  for (const char* input : {"+45 20 12 34 56", "004520123456", "20123456", " +4520123456",
                            "+4520123456 ", "+04520123456", "+452"}) {
    (void)fast.Normalize(input, "DK");
  }
  EXPECT_EQ(fast.canonical_fast_path_count(), 0u);
}

TEST(PhoneFastPath, OnByDefaultAndBehindTheCache) {
  PhoneNormalizer phone;
  ASSERT_TRUE(phone.NormalizeToE164("+4520123456", "").ok());
  EXPECT_EQ(phone.canonical_fast_path_count(), 1u);
  ASSERT_TRUE(phone.NormalizeToE164("+4520123456", "").ok());  // a cache hit
  EXPECT_EQ(phone.canonical_fast_path_count(), 1u);
  PhoneNormalizer uncached(0);
  ASSERT_TRUE(uncached.Normalize("+4520123456", "").ok());
  EXPECT_EQ(uncached.canonical_fast_path_count(), 1u);
}

}  // namespace
}  // namespace smsconsent
