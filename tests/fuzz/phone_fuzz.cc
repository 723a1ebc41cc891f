// Fuzz target: phone number normalisation (core/phone.h) -- the From and To of every webhook,
// every imported contact and API call.
//
// Invariants:
//  - the cached, fast-path normaliser and one with neither give the same verdict (error code,
//    E.164 form, region, calling code, validity), as phone.h promises; NormalizeToE164 gives
//    the same E.164 form and calling code as Normalize;
//  - a normalised number has the canonical E.164 shape (or is shorter or longer) and
//    normalises to itself, in any default region;
//  - what LooksLikeShortCode accepts, NormalizeShortCode accepts, as 3-8 digits.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "core/phone.h"
#include "core/status.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

const PhoneNormalizer& Fast() {
  static const auto* const kFast = new PhoneNormalizer();
  return *kFast;
}

const PhoneNormalizer& Full() {
  static const auto* const kFull = new PhoneNormalizer(
      PhoneNormalizer::Options{.cache_capacity = 0, .canonical_fast_path = false});
  return *kFull;
}

std::string Describe(const Result<PhoneNumber>& r) {
  if (!r.ok()) return r.status().ToString();
  return r->e164 + " " + r->region + " +" + std::to_string(r->country_code) +
         (r->valid ? " valid" : " not valid");
}

void CheckNumber(std::string_view input, std::string_view region) {
  const std::string what = fuzz::Escaped(input) + " in region " + std::string(region);
  const Result<PhoneNumber> fast = Fast().Normalize(input, region);
  const Result<PhoneNumber> full = Full().Normalize(input, region);
  FUZZ_CHECK(fast.ok() == full.ok(), what + ": " + Describe(fast) + " vs " + Describe(full));
  const Result<PhoneNumber> to_e164 = Fast().NormalizeToE164(input, region);
  FUZZ_CHECK(to_e164.ok() == fast.ok(), what + ": " + Describe(to_e164) + " vs " + Describe(fast));
  if (!fast.ok()) {
    FUZZ_CHECK(fast.status().code() == full.status().code(),
               what + ": " + Describe(fast) + " vs " + Describe(full));
    return;
  }
  FUZZ_CHECK(fast->e164 == full->e164 && fast->region == full->region &&
                 fast->country_code == full->country_code && fast->valid == full->valid,
             what + ": " + Describe(fast) + " vs " + Describe(full));
  FUZZ_CHECK(to_e164->e164 == fast->e164 && to_e164->country_code == fast->country_code,
             what + ": " + Describe(to_e164) + " vs " + Describe(fast));
  // "+", then digits: canonical, but for a few numbers shorter or longer than that (phone.h).
  const std::string& e164 = fast->e164;
  FUZZ_CHECK(e164.size() >= 2 && e164[0] == '+' &&
                 e164.find_first_not_of("0123456789", 1) == std::string::npos &&
                 (e164.size() < 8 || e164.size() > 16 || PhoneNormalizer::LooksLikeE164(e164)),
             what + ": " + Describe(fast));
  for (const std::string_view again_region : {"", "US", "DK"}) {
    const Result<PhoneNumber> again = Full().Normalize(e164, again_region);
    FUZZ_CHECK(again.ok() && again->e164 == e164,
               what + ": " + Describe(fast) + " then " + Describe(again));
  }
}

void CheckShortCode(std::string_view input) {
  const Result<ShortCode> code = Fast().NormalizeShortCode(input, "US");
  if (PhoneNormalizer::LooksLikeShortCode(input)) FUZZ_CHECK(code.ok(), fuzz::Escaped(input));
  if (code.ok()) {
    FUZZ_CHECK(code->digits.size() >= 3 && code->digits.size() <= 8, fuzz::Escaped(input));
    for (const char c : code->digits) FUZZ_CHECK(c >= '0' && c <= '9', fuzz::Escaped(input));
  }
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static constexpr std::string_view kRegions[] = {"GB", "IN", "BR", "de", "SE", "ZZ", "XK", "001"};
  smsconsent::CheckNumber(input, "");
  smsconsent::CheckNumber(input, "DK");
  smsconsent::CheckNumber(input, "US");
  smsconsent::CheckNumber(input, kRegions[size % std::size(kRegions)]);
  smsconsent::CheckShortCode(input);
  return 0;
}
