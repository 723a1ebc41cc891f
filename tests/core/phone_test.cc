#include "core/phone.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace smsconsent {
namespace {

using testing::HasSubstr;

// `s` in double quotes, as error messages name their input.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

class PhoneTest : public testing::Test {
 protected:
  PhoneNormalizer phone_;

  // Normalizes and returns the E.164 form, or the error as text for a readable failure.
  std::string E164(std::string_view input, std::string_view region) {
    Result<PhoneNumber> r = phone_.Normalize(input, region);
    return r.ok() ? r->e164 : r.status().ToString();
  }

  Status Error(std::string_view input, std::string_view region) {
    Result<PhoneNumber> r = phone_.Normalize(input, region);
    EXPECT_FALSE(r.ok()) << "accepted " << input << " as " << (r.ok() ? r->e164 : "");
    return r.status();
  }
};

TEST_F(PhoneTest, NationalFormatUsesDefaultRegion) {
  Result<PhoneNumber> dk = phone_.Normalize("20 12 34 56", "DK");
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_EQ(dk->e164, "+4520123456");
  EXPECT_EQ(dk->region, "DK");
  EXPECT_EQ(dk->country_code, 45);
  EXPECT_TRUE(dk->valid);

  Result<PhoneNumber> us = phone_.Normalize("(415) 555-2671", "US");
  ASSERT_TRUE(us.ok()) << us.status().ToString();
  EXPECT_EQ(us->e164, "+14155552671");
  EXPECT_EQ(us->region, "US");
  EXPECT_EQ(us->country_code, 1);
  EXPECT_TRUE(us->valid);

  EXPECT_EQ(E164("415.555.2671", "US"), "+14155552671");
  EXPECT_EQ(E164("1 415 555 2671", "US"), "+14155552671");  // with the national prefix 1
  EXPECT_EQ(E164("020 7946 0958", "GB"), "+442079460958");  // national prefix 0 dropped
}

TEST_F(PhoneTest, RegionIsCaseInsensitive) {
  EXPECT_EQ(E164("20 12 34 56", "dk"), "+4520123456");
  EXPECT_EQ(E164("20 12 34 56", "Dk"), "+4520123456");
}

TEST_F(PhoneTest, InternationalFormatsIgnoreTheRegion) {
  for (const char* input : {"+4520123456", "+45 20 12 34 56", "+45-20-12-34-56", "+45.20.12.34.56",
                            "+45 (20) 12 34 56", "  +45 2012 3456\t"}) {
    for (const char* region : {"", "DK", "US", "GB"}) {
      EXPECT_EQ(E164(input, region), "+4520123456") << input << " in " << region;
    }
  }
  EXPECT_EQ(E164("+1 (415) 555-2671", ""), "+14155552671");
}

TEST_F(PhoneTest, DoubleZeroInternationalPrefix) {
  EXPECT_EQ(E164("0045 20 12 34 56", ""), "+4520123456");
  EXPECT_EQ(E164("0045 20 12 34 56", "DK"), "+4520123456");
  EXPECT_EQ(E164("0045 20 12 34 56", "GB"), "+4520123456");
  // The US dials abroad with 011, but "00" still means international to a person.
  EXPECT_EQ(E164("0045 20 12 34 56", "US"), "+4520123456");
  EXPECT_EQ(E164("00442079460958", ""), "+442079460958");
  EXPECT_EQ(E164("011 45 20 12 34 56", "US"), "+4520123456");  // the region's own prefix
}

// libphonenumber may keep a trunk prefix "0" in the national number of national input and
// strip it from the same digits written in E.164; the answer is the form that reads back as
// itself, so the number is stored and looked up by one spelling.
TEST_F(PhoneTest, TheE164FormNormalisesToItself) {
  PhoneNormalizer full_parse(
      PhoneNormalizer::Options{.cache_capacity = 0, .canonical_fast_path = false});
  for (const auto& [input, region, e164] : {std::tuple{"0020000012", "BR", "+5520000012"},
                                            std::tuple{"00020001012", "DE", "+4920001012"},
                                            std::tuple{"+55020000012", "", "+5520000012"}}) {
    EXPECT_EQ(E164(input, region), e164) << input << " in " << region;
    const Result<PhoneNumber> full = full_parse.Normalize(input, region);
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    EXPECT_EQ(full->e164, e164) << input << " in " << region;
    for (const std::string_view again_region : {"", "US", region}) {
      EXPECT_EQ(E164(e164, again_region), e164) << again_region;
    }
  }
}

TEST_F(PhoneTest, FictionalAndTestRangesAreAccepted) {
  Result<PhoneNumber> fictional = phone_.Normalize("+15551234567", "");
  ASSERT_TRUE(fictional.ok()) << fictional.status().ToString();
  EXPECT_EQ(fictional->e164, "+15551234567");
  EXPECT_EQ(fictional->country_code, 1);
  EXPECT_EQ(fictional->region, "US");  // no region's ranges match: the main region of +1
  EXPECT_FALSE(fictional->valid);

  EXPECT_EQ(E164("+1 555 123 4567", "US"), "+15551234567");
  EXPECT_EQ(E164("(555) 123-4567", "US"), "+15551234567");

  Result<PhoneNumber> twilio = phone_.Normalize("+15005550006", "");
  ASSERT_TRUE(twilio.ok()) << twilio.status().ToString();
  EXPECT_EQ(twilio->e164, "+15005550006");

  Result<PhoneNumber> ofcom_drama = phone_.Normalize("+44 7700 900123", "");
  ASSERT_TRUE(ofcom_drama.ok()) << ofcom_drama.status().ToString();
  EXPECT_EQ(ofcom_drama->region, "GB");
  EXPECT_FALSE(ofcom_drama->valid);
}

TEST_F(PhoneTest, NonGeographicNumbersKeepLibphonenumbersRegion) {
  Result<PhoneNumber> freephone = phone_.Normalize("+800 1234 5678", "");
  ASSERT_TRUE(freephone.ok()) << freephone.status().ToString();
  EXPECT_EQ(freephone->e164, "+80012345678");
  EXPECT_EQ(freephone->region, "001");
  EXPECT_EQ(freephone->country_code, 800);
}

struct PhoneErrorCase {
  const char* input;
  const char* region;
  const char* reason;
};

TEST_F(PhoneTest, ErrorsNameTheInputAndTheReason) {
  const PhoneErrorCase cases[] = {
      {"", "DK", "empty"},
      {"   ", "DK", "empty"},
      {"call me", "DK", "contains letters"},
      {"+45 2012 34AB", "", "contains letters"},
      {"1-800-FLOWERS", "US", "contains letters"},
      {"+45 20123456 ext. 12", "", "contains letters"},
      {"+4520123456#12", "", "extension"},
      {"+", "", "not a phone number"},
      {"--", "DK", "not a phone number"},
      {"+45 2012", "", "too short"},
      {"2012", "DK", "too short for +45 (DK)"},
      {"+45 2012 3456 7890 1234", "", "too long"},
      {"12345678901234567890", "DK", "too long"},
      {"+45 201234567", "", "+45 (DK)"},
      {"20 12 34 56", "", "national number without a default region"},
      {"20 12 34 56", "XX", "unknown default region \"XX\""},
      {"+999 1234 5678", "", "unknown country calling code"},
      {"0099912345678", "", "unknown country calling code"},
      {"555-2671", "US", "local number without an area code"},
  };
  for (const PhoneErrorCase& c : cases) {
    const Status st = Error(c.input, c.region);
    EXPECT_EQ(st.code(), StatusCode::kInvalidPhone) << c.input;
    EXPECT_THAT(st.message(), HasSubstr(Quoted(c.input))) << c.input;
    EXPECT_THAT(st.message(), HasSubstr(c.reason)) << c.input;
  }
}

TEST_F(PhoneTest, ErrorMessageEscapesAndBoundsTheInput) {
  Status st = Error("\"2\"\n", "DK");
  EXPECT_THAT(st.message(), HasSubstr("\"\\\"2\\\"\\x0A\""));
  EXPECT_EQ(st.message().find('\n'), std::string::npos);

  st = Error(std::string(1000, '9'), "DK");
  EXPECT_LT(st.message().size(), 200u);
  EXPECT_THAT(st.message(), HasSubstr("...\""));
}

// Numbers of many shapes: valid, fictional, too short, too long, unknown calling codes.
std::vector<std::string> GeneratedE164Numbers() {
  const char* const kPrefixes[] = {"1415555", "1555",  "1500555",   "4520",  "4531",  "4570",
                                   "4479",    "44207", "447700900", "4915",  "3361",  "46",
                                   "4790",    "3491",  "8613",      "81901", "61412", "91981",
                                   "800",     "882",   "999",       "2",     "7",     "3"};
  std::vector<std::string> out;
  unsigned seed = 12345;
  for (const char* prefix : kPrefixes) {
    for (int total = 7; total <= 15; ++total) {
      std::string digits = prefix;
      while (static_cast<int>(digits.size()) < total) {
        seed = seed * 1103515245u + 12345u;
        digits += static_cast<char>('0' + (seed >> 16) % 10);
      }
      digits.resize(total);
      digits.insert(digits.begin(), '+');
      out.push_back(digits);
    }
  }
  return out;
}

void ExpectSameVerdict(const Result<PhoneNumber>& a, const Result<PhoneNumber>& b,
                       const std::string& input) {
  ASSERT_EQ(a.ok(), b.ok()) << input;
  if (a.ok()) {
    EXPECT_EQ(a->e164, b->e164) << input;
    EXPECT_EQ(a->region, b->region) << input;
    EXPECT_EQ(a->country_code, b->country_code) << input;
    EXPECT_EQ(a->valid, b->valid) << input;
  } else {
    EXPECT_EQ(a.status().code(), b.status().code()) << input;
    EXPECT_EQ(a.status().message(), b.status().message()) << input;
  }
}

TEST(PhoneNormalizerCache, FastPathGivesTheSlowPathsAnswer) {
  const std::vector<std::string> numbers = GeneratedE164Numbers();
  ASSERT_GE(numbers.size(), 200u);
  PhoneNormalizer cached;
  // The reference: libphonenumber's full parse, every time.
  PhoneNormalizer uncached(
      PhoneNormalizer::Options{.cache_capacity = 0, .canonical_fast_path = false});
  int accepted = 0;
  int refused = 0;
  for (const std::string& n : numbers) {
    const Result<PhoneNumber> slow = uncached.Normalize(n, "US");
    const Result<PhoneNumber> miss = cached.Normalize(n, "DK");  // fills the cache
    const Result<PhoneNumber> hit = cached.Normalize(n, "");     // answered from it
    ExpectSameVerdict(slow, miss, n);
    ExpectSameVerdict(slow, hit, n);
    (slow.ok() ? accepted : refused)++;
  }
  EXPECT_EQ(cached.cache_size(), numbers.size());
  EXPECT_EQ(uncached.cache_size(), 0u);
  // The corpus exercises both verdicts.
  EXPECT_GT(accepted, 50);
  EXPECT_GT(refused, 50);
}

// NormalizeToE164 (the inbound sender's path) accepts and refuses exactly what Normalize does,
// with the same E.164 form and messages; only region and validity are left out.
TEST(PhoneNormalizeToE164, SameVerdictAsNormalize) {
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const std::string& n : GeneratedE164Numbers()) inputs.emplace_back(n, "");
  const char* national[][2] = {{"20 12 34 56", "DK"},     {"(201) 555-0123", "US"},
                               {"0044 20 7946 0958", ""}, {"020 7946 0958", "GB"},
                               {"555-2671", "US"},        {"2012", "DK"},
                               {"call me", "DK"},         {"+4520123456#12", ""}};
  for (const auto& n : national) inputs.emplace_back(n[0], n[1]);
  PhoneNormalizer full(PhoneNormalizer::Options{.cache_capacity = 0, .canonical_fast_path = false});
  PhoneNormalizer light;
  for (const auto& [input, region] : inputs) {
    const Result<PhoneNumber> want = full.Normalize(input, region);
    const Result<PhoneNumber> got = light.NormalizeToE164(input, region);
    ASSERT_EQ(want.ok(), got.ok()) << input;
    if (want.ok()) {
      EXPECT_EQ(got->e164, want->e164) << input;
      EXPECT_EQ(got->country_code, want->country_code) << input;
    } else {
      EXPECT_EQ(got.status().code(), want.status().code()) << input;
      EXPECT_EQ(got.status().message(), want.status().message()) << input;
    }
  }
  // A partial verdict is cached for NormalizeToE164, but Normalize works out the details and
  // replaces it; the full one then serves both.
  PhoneNormalizer both;
  ASSERT_TRUE(both.NormalizeToE164("+4520123456", "").ok());
  EXPECT_EQ(both.cache_size(), 1u);
  auto detailed = both.Normalize("+4520123456", "");
  ASSERT_TRUE(detailed.ok());
  EXPECT_EQ(detailed->region, "DK");
  EXPECT_TRUE(detailed->valid);
  auto cached = both.NormalizeToE164("+4520123456", "");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->region, "DK");
  EXPECT_EQ(both.cache_size(), 1u);
}

TEST(PhoneNormalizerCache, OnlyCanonicalE164IsCached) {
  PhoneNormalizer phone;
  ASSERT_TRUE(phone.Normalize("+45 20 12 34 56", "").ok());
  ASSERT_TRUE(phone.Normalize("20123456", "DK").ok());
  ASSERT_TRUE(phone.Normalize(" +4520123456", "").ok());
  EXPECT_EQ(phone.cache_size(), 0u);
  ASSERT_TRUE(phone.Normalize("+4520123456", "").ok());
  ASSERT_TRUE(phone.Normalize("+4520123456", "").ok());
  EXPECT_EQ(phone.cache_size(), 1u);
  EXPECT_FALSE(phone.Normalize("+999123456789", "").ok());  // refusals are cached too
  EXPECT_EQ(phone.cache_size(), 2u);
}

TEST(PhoneNormalizerCache, StaysWithinItsCapacity) {
  PhoneNormalizer phone(4);
  for (int i = 0; i < 10; ++i) {
    std::string number = "+452012345";
    number += std::to_string(i);
    ASSERT_TRUE(phone.Normalize(number, "").ok());
    EXPECT_LE(phone.cache_size(), 4u);
  }
  Result<PhoneNumber> again = phone.Normalize("+4520123450", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->e164, "+4520123450");
}

TEST(PhoneNormalizerCache, SharedBetweenThreads) {
  PhoneNormalizer phone(64);
  const std::vector<std::string> numbers = GeneratedE164Numbers();
  std::vector<std::thread> threads;
  std::vector<int> accepted(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (const std::string& n : numbers) accepted[t] += phone.Normalize(n, "").ok();
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(accepted[t], accepted[0]);
}

TEST(PhoneShortCode, AcceptsThreeToEightDigits) {
  PhoneNormalizer phone;
  for (const char* input : {"123", "12345", "12345678"}) {
    Result<ShortCode> sc = phone.NormalizeShortCode(input, "US");
    ASSERT_TRUE(sc.ok()) << sc.status().ToString();
    EXPECT_EQ(sc->digits, input);
    EXPECT_EQ(sc->country, "US");
  }
  Result<ShortCode> spaced = phone.NormalizeShortCode(" 12 345 ", "dk");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->digits, "12345");
  EXPECT_EQ(spaced->country, "DK");
  Result<ShortCode> dashed = phone.NormalizeShortCode("123-45", "GB");
  ASSERT_TRUE(dashed.ok()) << dashed.status().ToString();
  EXPECT_EQ(dashed->digits, "12345");
}

TEST(PhoneShortCode, RefusesOtherLengthsAndCharacters) {
  PhoneNormalizer phone;
  for (const char* input : {"", "12", "123456789", "12a45", "+12345", "12.345"}) {
    Result<ShortCode> sc = phone.NormalizeShortCode(input, "US");
    ASSERT_FALSE(sc.ok()) << input;
    EXPECT_EQ(sc.status().code(), StatusCode::kInvalidPhone) << input;
    EXPECT_THAT(sc.status().message(), HasSubstr(Quoted(input)));
    EXPECT_THAT(sc.status().message(), HasSubstr("3-8 digits"));
  }
}

TEST(PhoneShortCode, RefusesUnknownCountry) {
  PhoneNormalizer phone;
  for (const char* country : {"", "XX", "ZZ", "001", "USA"}) {
    Result<ShortCode> sc = phone.NormalizeShortCode("12345", country);
    ASSERT_FALSE(sc.ok()) << country;
    EXPECT_EQ(sc.status().code(), StatusCode::kInvalidArgument) << country;
    EXPECT_THAT(sc.status().message(), HasSubstr(Quoted(country)));
  }
}

TEST(PhoneShortCode, LooksLikeShortCode) {
  EXPECT_TRUE(PhoneNormalizer::LooksLikeShortCode("123"));
  EXPECT_TRUE(PhoneNormalizer::LooksLikeShortCode("12345"));
  EXPECT_TRUE(PhoneNormalizer::LooksLikeShortCode(" 12345678 "));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode(""));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode("12"));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode("123456789"));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode("+12345"));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode("123 45"));
  EXPECT_FALSE(PhoneNormalizer::LooksLikeShortCode("+4520123456"));
}

TEST(PhoneRegions, CountryCodeForRegion) {
  PhoneNormalizer phone;
  EXPECT_EQ(phone.CountryCodeForRegion("DK"), 45);
  EXPECT_EQ(phone.CountryCodeForRegion("dk"), 45);
  EXPECT_EQ(phone.CountryCodeForRegion("US"), 1);
  EXPECT_EQ(phone.CountryCodeForRegion("CA"), 1);
  EXPECT_EQ(phone.CountryCodeForRegion("GB"), 44);
  EXPECT_EQ(phone.CountryCodeForRegion("XX"), 0);
  EXPECT_EQ(phone.CountryCodeForRegion(""), 0);
}

TEST(PhoneRegions, RegionForCountryCode) {
  PhoneNormalizer phone;
  EXPECT_EQ(phone.RegionForCountryCode(45), "DK");
  EXPECT_EQ(phone.RegionForCountryCode(1), "US");
  EXPECT_EQ(phone.RegionForCountryCode(44), "GB");
  EXPECT_EQ(phone.RegionForCountryCode(46), "SE");
  EXPECT_EQ(phone.RegionForCountryCode(800), "001");
  EXPECT_EQ(phone.RegionForCountryCode(999), "ZZ");
  EXPECT_EQ(phone.RegionForCountryCode(0), "ZZ");
  EXPECT_EQ(phone.RegionForCountryCode(-1), "ZZ");
}

}  // namespace
}  // namespace smsconsent
