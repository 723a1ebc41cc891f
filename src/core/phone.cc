#include "core/phone.h"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ascii.h"

namespace smsconsent {
namespace {

namespace pn = ::i18n::phonenumbers;
using pn::PhoneNumberUtil;

// libphonenumber's unknown region.
constexpr const char* kUnknownRegion = "ZZ";
// Longest input quoted verbatim in an error message; longer input is cut there.
constexpr std::size_t kMaxQuotedInput = 64;

// Concatenation by appending to one buffer. (GCC 12 at -O3 reports a bogus -Wrestrict on
// `"literal" + std::string`, so this file avoids that form.)
template <typename... Parts>
std::string StrCat(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view(parts).size() + ...));
  (out.append(std::string_view(parts)), ...);
  return out;
}

// The process-wide PhoneNumberUtil, with its logging silenced: it reports unparseable input
// on stderr, which would end up in the middle of CLI output. We report errors ourselves.
const PhoneNumberUtil& Util() {
  static const PhoneNumberUtil* const util = [] {
    PhoneNumberUtil* u = PhoneNumberUtil::GetInstance();
    u->SetLogger(new pn::NullLogger());  // takes ownership
    return u;
  }();
  return *util;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// "+" [1-9] then 6-14 digits: the only form whose verdict may be cached, because it cannot
// depend on the default region.
bool IsCanonicalE164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (!IsAsciiDigit(s[i])) return false;
  }
  return true;
}

// The input in double quotes for an error message: bounded in length, with quotes,
// backslashes and control bytes escaped so a hostile input cannot forge log lines.
std::string QuoteInput(std::string_view input) {
  bool cut = false;
  if (input.size() > kMaxQuotedInput) {
    std::size_t n = kMaxQuotedInput;
    // Do not cut a UTF-8 sequence in half.
    while (n > 0 && (static_cast<unsigned char>(input[n]) & 0xC0) == 0x80) --n;
    input = input.substr(0, n);
    cut = true;
  }
  std::string out = "\"";
  for (char c : input) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b == 0x7F) {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02X", b);
      out += buf;
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

Status InvalidPhone(std::string_view input, std::string_view reason) {
  return Status(StatusCode::kInvalidPhone,
                StrCat("invalid phone number ", QuoteInput(input), ": ", reason));
}

// "+45 (DK)", for reasons about a parsed number's length.
std::string DescribeCountry(int country_code) {
  std::string region;
  Util().GetRegionCodeForCountryCode(country_code, &region);
  return StrCat("+", std::to_string(country_code), " (", region, ")");
}

bool IsKnownRegion(const std::string& region) {
  return Util().GetCountryCodeForRegion(region) != 0;
}

// One parse of `text` with `region` ("ZZ" for none). `input` is what the caller gave, for the
// message; `international` says the text carries its own country code.
// With `details` false, PhoneNumber::region and ::valid are left unset: they cost more than
// the parse itself (a +1 number is matched against the ranges of every NANP region).
Result<PhoneNumber> ParseOnce(std::string_view input, const std::string& text,
                              const std::string& region, bool international, bool details) {
  const PhoneNumberUtil& util = Util();
  pn::PhoneNumber number;
  switch (util.Parse(text, region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      if (international) return InvalidPhone(input, "unknown country calling code");
      if (region == kUnknownRegion) {
        return InvalidPhone(input,
                            "national number without a default region (give a region, or write "
                            "it with + and the country calling code)");
      }
      if (!IsKnownRegion(region)) {
        return InvalidPhone(input, StrCat("unknown default region ", QuoteInput(region)));
      }
      return InvalidPhone(input, "unknown country calling code");
    case PhoneNumberUtil::NOT_A_NUMBER:
      return InvalidPhone(input, "not a phone number");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return InvalidPhone(input, "too short after the international prefix");
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return InvalidPhone(input, "too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return InvalidPhone(input, "too long");
    default:
      return InvalidPhone(input, "not a phone number");
  }

  if (number.has_extension()) {
    return InvalidPhone(input, "has an extension, which SMS cannot reach");
  }

  const int cc = number.country_code();
  switch (util.IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE:
      break;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return InvalidPhone(input,
                          StrCat("local number without an area code for ", DescribeCountry(cc)));
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return InvalidPhone(input, StrCat("unknown country calling code +", std::to_string(cc)));
    case PhoneNumberUtil::TOO_SHORT:
      return InvalidPhone(input, StrCat("too short for ", DescribeCountry(cc)));
    case PhoneNumberUtil::TOO_LONG:
      return InvalidPhone(input, StrCat("too long for ", DescribeCountry(cc)));
    case PhoneNumberUtil::INVALID_LENGTH:
    default:
      return InvalidPhone(input, StrCat("wrong number of digits for ", DescribeCountry(cc)));
  }

  PhoneNumber out;
  util.Format(number, PhoneNumberUtil::E164, &out.e164);
  out.country_code = cc;
  if (!details) return out;
  util.GetRegionCodeForNumber(number, &out.region);
  if (out.region == kUnknownRegion) util.GetRegionCodeForCountryCode(cc, &out.region);
  out.valid = util.IsValidNumber(number);
  return out;
}

// The full parse, without the cache.
Result<PhoneNumber> NormalizeSlow(std::string_view input, std::string_view default_region,
                                  bool details) {
  const std::string_view text = TrimAsciiSpace(input);
  if (text.empty()) return InvalidPhone(input, "empty");
  for (char c : text) {
    // libphonenumber would read letters as a vanity number (1-800-FLOWERS) or an extension
    // ("ext. 12"); neither belongs in a contact's SMS number.
    if (IsAsciiLetter(c)) return InvalidPhone(input, "contains letters");
  }
  const std::string region =
      default_region.empty() ? std::string(kUnknownRegion) : AsciiUpper(default_region);

  // "00" is the international prefix in most of the world. libphonenumber honours it only
  // when it is the default region's own prefix, so without a region (or when the region reads
  // it some other way, as the US would with its 011) we read "00" as "+".
  if (text.size() >= 2 && text[0] == '0' && text[1] == '0') {
    std::string as_plus = "+";
    as_plus.append(text.substr(2));
    if (region != kUnknownRegion) {
      Result<PhoneNumber> national = ParseOnce(input, std::string(text), region, false, details);
      if (national.ok()) return national;
    }
    return ParseOnce(input, as_plus, kUnknownRegion, true, details);
  }
  const bool international = text.front() == '+';
  return ParseOnce(input, std::string(text), region, international, details);
}

}  // namespace

struct PhoneNormalizer::Cache {
  explicit Cache(std::size_t cap) : capacity(cap) {}

  struct Entry {
    Result<PhoneNumber> verdict;
    bool details;  // region and validity worked out (Normalize), or not (NormalizeToE164)
  };

  const std::size_t capacity;
  std::mutex mu;
  // Canonical E.164 input -> the verdict NormalizeSlow gave it. Guarded by mu.
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> verdicts;
};

PhoneNormalizer::PhoneNormalizer() : PhoneNormalizer(kDefaultCacheCapacity) {}

PhoneNormalizer::PhoneNormalizer(std::size_t cache_capacity)
    : cache_(std::make_unique<Cache>(cache_capacity)) {
  Util();  // silence libphonenumber before anything can make it log
}

PhoneNormalizer::~PhoneNormalizer() = default;

Result<PhoneNumber> PhoneNormalizer::Normalize(std::string_view input,
                                               std::string_view default_region) const {
  return Cached(input, default_region, /*details=*/true);
}

Result<PhoneNumber> PhoneNormalizer::NormalizeToE164(std::string_view input,
                                                     std::string_view default_region) const {
  return Cached(input, default_region, /*details=*/false);
}

Result<PhoneNumber> PhoneNormalizer::Cached(std::string_view input,
                                            std::string_view default_region,
                                            bool details) const {
  if (cache_->capacity == 0 || !IsCanonicalE164(input)) {
    return NormalizeSlow(input, default_region, details);
  }
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->verdicts.find(input);
    // A verdict without details serves only callers that do not need them.
    if (it != cache_->verdicts.end() && (it->second.details || !details)) {
      return it->second.verdict;
    }
  }
  // Parse outside the lock: two threads may both miss and parse the same number, and both
  // arrive at the same verdict.
  Result<PhoneNumber> verdict = NormalizeSlow(input, default_region, details);
  std::lock_guard<std::mutex> lock(cache_->mu);
  auto it = cache_->verdicts.find(input);
  if (it != cache_->verdicts.end()) {
    if (details) it->second = Cache::Entry{verdict, true};  // never downgraded
    return verdict;
  }
  // Emptying when full keeps the bound without per-entry bookkeeping; the working set of
  // numbers refills it at one parse per number.
  if (cache_->verdicts.size() >= cache_->capacity) cache_->verdicts.clear();
  cache_->verdicts.emplace(std::string(input), Cache::Entry{verdict, details});
  return verdict;
}

Result<ShortCode> PhoneNormalizer::NormalizeShortCode(std::string_view input,
                                                      std::string_view country) const {
  ShortCode out;
  for (char c : input) {
    if (IsAsciiSpace(c) || c == '-') continue;
    if (!IsAsciiDigit(c) || out.digits.size() > 8) {
      return Status(StatusCode::kInvalidPhone,
                    StrCat("invalid short code ", QuoteInput(input), ": must be 3-8 digits"));
    }
    out.digits += c;
  }
  if (out.digits.size() < 3 || out.digits.size() > 8) {
    return Status(StatusCode::kInvalidPhone,
                  StrCat("invalid short code ", QuoteInput(input), ": must be 3-8 digits"));
  }
  out.country = AsciiUpper(country);
  if (!IsKnownRegion(out.country)) {
    return InvalidArgument(StrCat("unknown country ", QuoteInput(country), " for short code ",
                                  QuoteInput(input),
                                  " (expected an ISO 3166 alpha-2 code such as \"US\")"));
  }
  return out;
}

int PhoneNormalizer::CountryCodeForRegion(std::string_view region) const {
  return Util().GetCountryCodeForRegion(AsciiUpper(region));
}

std::string PhoneNormalizer::RegionForCountryCode(int country_code) const {
  std::string region;
  Util().GetRegionCodeForCountryCode(country_code, &region);
  return region;
}

bool PhoneNormalizer::LooksLikeShortCode(std::string_view s) {
  s = TrimAsciiSpace(s);
  if (s.size() < 3 || s.size() > 8) return false;
  for (char c : s) {
    if (!IsAsciiDigit(c)) return false;
  }
  return true;
}

bool PhoneNormalizer::LooksLikeE164(std::string_view s) { return IsCanonicalE164(s); }

std::size_t PhoneNormalizer::cache_size() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  return cache_->verdicts.size();
}

}  // namespace smsconsent
