#include "core/phone.h"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/regex.h>
#include <unicode/stringpiece.h>
#include <unicode/unistr.h>

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ascii.h"

// libphonenumber's compiled-in metadata: the serialized PhoneMetadataCollection
// (phonemetadata.pb.h) its PhoneNumberUtil is built from. libphonenumber 8.12 offers no public
// accessor for a region's metadata, and the canonical E.164 fast path below needs one field of
// it (national_prefix_for_parsing), so we declare the two functions its generated metadata.cc
// defines and its shared library exports (`nm -DC libphonenumber.so.8 | grep metadata_get`).
// Were they ever missing, the build would fail to link, never answer differently.
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

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

// The calling code of a number libphonenumber accepted, and with `details` its region and
// validity: the part of a verdict the full parse and the canonical fast path share.
void AddDetails(const pn::PhoneNumber& number, bool details, PhoneNumber* out) {
  const PhoneNumberUtil& util = Util();
  out->country_code = number.country_code();
  if (!details) return;
  util.GetRegionCodeForNumber(number, &out->region);
  if (out->region == kUnknownRegion) {
    util.GetRegionCodeForCountryCode(number.country_code(), &out->region);
  }
  out->valid = util.IsValidNumber(number);
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
  AddDetails(number, details, &out);
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

// The canonical E.164 fast path: what libphonenumber's Parse makes of "+" followed by ASCII
// digits, worked out without its regular expressions where that is certain to give the same
// pn::PhoneNumber, and nothing (so the caller parses) where it is not.
//
// For such input Parse (libphonenumber 8.12, PhoneNumberUtil::ParseHelper) does, in effect:
// ExtractPossibleNumber, IsViablePhoneNumber and MaybeStripExtension leave it as it is (no
// leading junk, at least three digits, no extension); the "+" makes the default region
// irrelevant and leads to ExtractCountryCode, which takes the first of the 1-3 digit prefixes
// that GetRegionCodeForCountryCode knows; the rest is the national number, which
// MaybeStripNationalPrefixAndCarrierCode, with the metadata of the calling code's main
// region, changes only when that region's national_prefix_for_parsing matches at its start
// (ICU lookingAt); a leading 0 sets italian_leading_zero; the national number is stored as an
// integer. The fast path does the same with the calling codes and patterns read once from
// libphonenumber itself, and refuses the cases it does not reproduce:
//  - an unknown calling code (the error and the retry Parse makes without the "+"),
//  - a non-geographic main region ("001": metadata per calling code, not per region),
//  - a national number starting with 0 (italian_leading_zero and its kin),
//  - a national prefix pattern that matches something at the start of the national number
//    (US "1", Russia's "8", Argentina's "0?(...15)?" when a 15 follows an area code): Parse
//    may strip or transform it. A match of nothing leaves the number as it is: both the
//    transform branch (it needs a non-empty captured group) and the plain strip (it keeps
//    what follows the match, i.e. everything) then leave it unchanged.
class CanonicalE164Parser {
 public:
  // The process-wide instance, built on first use (thread-safe: a function-local static).
  static const CanonicalE164Parser& Get() {
    static const CanonicalE164Parser parser;
    return parser;
  }

  // The number Parse(`e164`, any region) gives, or nullopt when that is not certain; with it,
  // the length of its national number in `national_length` (digits, no leading 0).
  // `e164` must be canonical (IsCanonicalE164).
  std::optional<pn::PhoneNumber> Parse(std::string_view e164, std::size_t* national_length) const {
    if (!available_) return std::nullopt;
    const std::string_view digits = e164.substr(1);
    int cc = 0;
    std::size_t cc_len = 0;
    for (std::size_t i = 0; i < kMaxCallingCodeDigits; ++i) {
      cc = cc * 10 + (digits[i] - '0');
      if (codes_[cc].known) {
        cc_len = i + 1;
        break;
      }
    }
    if (cc_len == 0) return std::nullopt;
    const CallingCode& code = codes_[cc];
    if (!code.fast) return std::nullopt;
    const std::string_view national = digits.substr(cc_len);
    // Canonical input has 7-15 digits and a calling code at most 3, so at least 4 remain:
    // within libphonenumber's 2-17 digit bounds for a national number.
    if (national.empty() || national[0] == '0') return std::nullopt;
    if (!code.national_prefix_digits.empty() && national.starts_with(code.national_prefix_digits)) {
      return std::nullopt;
    }
    if (code.national_prefix != nullptr && MatchesAtStart(*code.national_prefix, national)) {
      return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : national) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    pn::PhoneNumber number;
    number.set_country_code(cc);
    number.set_national_number(value);
    *national_length = national.size();
    return number;
  }

  // IsPossibleNumberWithReason(`number`) == IS_POSSIBLE for a number Parse gave, whose
  // national number is `national_length` digits long. libphonenumber's answer depends only on
  // the calling code and the length of the national significant number (TestNumberLength
  // against the calling code's main region's possible lengths), and Parse gives no leading
  // zeros, so it is worked out once per (calling code, length) and kept. Thread-safe: threads
  // that race store the same answer.
  bool IsPossible(const pn::PhoneNumber& number, std::size_t national_length) const {
    const int cc = number.country_code();
    if (national_length >= kMaxNationalLength) {
      return Util().IsPossibleNumberWithReason(number) == PhoneNumberUtil::IS_POSSIBLE;
    }
    std::atomic<std::int8_t>& known = possible_[cc][national_length];
    std::int8_t verdict = known.load(std::memory_order_relaxed);
    if (verdict == kUnknown) {
      verdict = Util().IsPossibleNumberWithReason(number) == PhoneNumberUtil::IS_POSSIBLE
                    ? kPossible
                    : kNotPossible;
      known.store(verdict, std::memory_order_relaxed);
    }
    return verdict == kPossible;
  }

 private:
  static constexpr std::size_t kMaxCallingCodeDigits = 3;  // PhoneNumberUtil::kMaxLengthCountryCode
  // Canonical input has at most 15 digits, so a national number at most 14.
  static constexpr std::size_t kMaxNationalLength = 15;
  static constexpr std::int8_t kUnknown = 0;
  static constexpr std::int8_t kPossible = 1;
  static constexpr std::int8_t kNotPossible = 2;

  struct CallingCode {
    bool known = false;  // GetRegionCodeForCountryCode gives a region, not "ZZ"
    bool fast = false;   // the fast path may answer for it
    // The main region's national_prefix_for_parsing when it is only ASCII digits ("1", "0",
    // "8"; 109 of the 152 regions that have one): a pattern without metacharacters matches
    // exactly itself, so lookingAt is a string comparison.
    std::string national_prefix_digits;
    // Any other national_prefix_for_parsing, compiled; null when there is none.
    const icu::RegexPattern* national_prefix = nullptr;
  };

  CanonicalE164Parser() {
    const PhoneNumberUtil& util = Util();
    for (int cc = 1; cc < static_cast<int>(codes_.size()); ++cc) {
      std::string region;
      util.GetRegionCodeForCountryCode(cc, &region);
      codes_[cc].known = region != kUnknownRegion;
    }
    // The main region's metadata of every calling code, from the same compiled-in collection
    // libphonenumber was built from. Unreadable: the fast path stays off.
    pn::PhoneMetadataCollection collection;
    const int size = pn::metadata_size();
    if (pn::metadata_get() == nullptr || size <= 0 ||
        !collection.ParseFromArray(pn::metadata_get(), size)) {
      return;
    }
    std::map<std::string, const pn::PhoneMetadata*, std::less<>> by_region;
    std::set<std::string, std::less<>> ambiguous;
    for (const pn::PhoneMetadata& m : collection.metadata()) {
      if (!by_region.emplace(m.id(), &m).second) ambiguous.insert(m.id());
    }
    std::set<int> supported;
    util.GetSupportedCallingCodes(&supported);
    for (int cc : supported) {
      if (cc <= 0 || cc >= static_cast<int>(codes_.size()) || !codes_[cc].known) continue;
      std::string region;
      util.GetRegionCodeForCountryCode(cc, &region);
      if (region == PhoneNumberUtil::kRegionCodeForNonGeoEntity) continue;
      const auto it = by_region.find(region);
      if (it == by_region.end() || ambiguous.contains(region) || it->second->country_code() != cc) {
        continue;
      }
      const std::string& prefix = it->second->national_prefix_for_parsing();
      if (!prefix.empty() && prefix.find_first_not_of("0123456789") == std::string::npos) {
        codes_[cc].national_prefix_digits = prefix;
      } else if (!prefix.empty()) {
        // Compiled as libphonenumber's ICU RegExp adapter compiles it (UTF-8 to UTF-16, no
        // flags), so the same engine gives the same verdict.
        UErrorCode status = U_ZERO_ERROR;
        UParseError parse_error;
        std::unique_ptr<icu::RegexPattern> pattern(
            icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(icu::StringPiece(
                                           prefix.data(), static_cast<int32_t>(prefix.size()))),
                                       0, parse_error, status));
        if (U_FAILURE(status) || pattern == nullptr) continue;
        codes_[cc].national_prefix = pattern.get();
        patterns_.push_back(std::move(pattern));
      }
      codes_[cc].fast = true;
    }
    available_ = true;
  }

  // True when `pattern` matches at the start of `national` and consumes something, or when
  // ICU fails (so the caller parses).
  static bool MatchesAtStart(const icu::RegexPattern& pattern, std::string_view national) {
    const icu::UnicodeString text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(national.data(), static_cast<int32_t>(national.size())));
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> matcher(pattern.matcher(text, status));
    if (U_FAILURE(status) || matcher == nullptr) return true;
    // lookingAt(0), as libphonenumber's Consume calls it on a fresh input.
    const bool found = matcher->lookingAt(0, status);
    if (U_FAILURE(status)) return true;
    if (!found) return false;
    const int32_t end = matcher->end(status);
    return U_FAILURE(status) || end != 0;
  }

  bool available_ = false;
  std::array<CallingCode, 1000> codes_{};
  // IsPossible's verdicts by calling code and national number length; kUnknown until asked.
  mutable std::array<std::array<std::atomic<std::int8_t>, kMaxNationalLength>, 1000> possible_{};
  std::vector<std::unique_ptr<icu::RegexPattern>> patterns_;
};

// The verdict for canonical E.164 input through the fast path, or nullopt when the full
// parse must decide (CanonicalE164Parser says so, or the length is not possible: the parse
// words those refusals).
std::optional<Result<PhoneNumber>> NormalizeCanonicalFast(std::string_view input, bool details) {
  const CanonicalE164Parser& parser = CanonicalE164Parser::Get();
  std::size_t national_length = 0;
  const std::optional<pn::PhoneNumber> number = parser.Parse(input, &national_length);
  if (!number) return std::nullopt;
  if (!parser.IsPossible(*number, national_length)) return std::nullopt;
  assert(Util().IsPossibleNumberWithReason(*number) == PhoneNumberUtil::IS_POSSIBLE);
  PhoneNumber out;
  // Format(E164) writes "+", the calling code and the national number's digits, which for a
  // national number without a leading 0 is the input itself.
  out.e164.assign(input);
#ifndef NDEBUG
  std::string formatted;
  Util().Format(*number, PhoneNumberUtil::E164, &formatted);
  assert(formatted == out.e164);
#endif
  AddDetails(*number, details, &out);
  return Result<PhoneNumber>(std::move(out));
}

// The full parse, giving an E.164 form that normalises to itself. libphonenumber does not
// promise that: "0020000012" with region BR parses to +55 and the national number 020000012
// (a leading zero kept), whose E.164 form "+55020000012" parses to +55 20000012, the trunk
// prefix 0 stripped; "00020001012" in DE takes two such steps. A contact stored under one form
// would not be found by a webhook's From in the other, so the answer is the number its E.164
// form settles on. A further parse is needed only when the fast path cannot vouch for the
// form; each strips a prefix, so a few suffice, and input that does not settle is refused.
Result<PhoneNumber> NormalizeFull(std::string_view input, std::string_view default_region,
                                  bool details) {
  constexpr int kMaxReparses = 4;
  Result<PhoneNumber> number = NormalizeSlow(input, default_region, details);
  if (!number.ok() || number->e164 == TrimAsciiSpace(input)) return number;
  for (int reparses = 0;; ++reparses) {
    if (IsCanonicalE164(number->e164) &&
        NormalizeCanonicalFast(number->e164, /*details=*/false).has_value()) {
      return number;
    }
    if (reparses == kMaxReparses) {
      return InvalidPhone(input, "has no E.164 form that reads back as the same number");
    }
    const std::string e164 = number->e164;
    number = NormalizeSlow(e164, "", details);
    if (!number.ok()) {
      return InvalidPhone(input, StrCat("its E.164 form ", e164, " is not a phone number"));
    }
    if (number->e164 == e164) return number;
  }
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
  // Canonical E.164 input -> the verdict Canonical gave it. Guarded by mu.
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> verdicts;
  // Verdicts Canonical worked out through the fast path.
  std::atomic<std::size_t> fast_path_count{0};
};

PhoneNormalizer::PhoneNormalizer() : PhoneNormalizer(Options{}) {}

PhoneNormalizer::PhoneNormalizer(std::size_t cache_capacity)
    : PhoneNormalizer(Options{.cache_capacity = cache_capacity}) {}

PhoneNormalizer::PhoneNormalizer(const Options& options)
    : canonical_fast_path_(options.canonical_fast_path),
      cache_(std::make_unique<Cache>(options.cache_capacity)) {
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

Result<PhoneNumber> PhoneNormalizer::Cached(std::string_view input, std::string_view default_region,
                                            bool details) const {
  if (!IsCanonicalE164(input)) return NormalizeFull(input, default_region, details);
  if (cache_->capacity == 0) return Canonical(input, default_region, details);
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
  Result<PhoneNumber> verdict = Canonical(input, default_region, details);
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

Result<PhoneNumber> PhoneNormalizer::Canonical(std::string_view input,
                                               std::string_view default_region,
                                               bool details) const {
  if (canonical_fast_path_) {
    std::optional<Result<PhoneNumber>> fast = NormalizeCanonicalFast(input, details);
    if (fast) {
      cache_->fast_path_count.fetch_add(1, std::memory_order_relaxed);
      return *std::move(fast);
    }
  }
  return NormalizeFull(input, default_region, details);
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

std::size_t PhoneNormalizer::canonical_fast_path_count() const {
  return cache_->fast_path_count.load(std::memory_order_relaxed);
}

}  // namespace smsconsent
