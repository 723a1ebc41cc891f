// Phone numbers: normalisation to E.164 with libphonenumber, and short codes.
//
// A contact's phone and a long-code/toll-free sender number are stored in E.164
// ("+4520123456"). Input may be in any common national or international format; a default
// region (ISO 3166 alpha-2, e.g. "DK") resolves national formats. A number is accepted when
// libphonenumber parses it and its length is possible for its region (IsPossibleNumber):
// we do not require the range to be assigned, so fictional test ranges such as +1 555 work;
// `valid` says whether libphonenumber also considers the range assigned.
//
// Canonical E.164 input ("+", a non-zero digit, 6-14 more digits) takes two shortcuts, both
// giving exactly the verdict of the full parse:
//  - its verdict is cached per normaliser, so a repeated number costs a hash lookup. The
//    cache is bounded and guarded by a mutex; a PhoneNormalizer is safe to share between
//    threads.
//  - a number the cache has not seen skips libphonenumber's Parse (most of whose cost is
//    regular expressions whose outcome is fixed for "+" and digits; bench/phone_bench.cc
//    measures both paths): the calling code and the national number are read off the
//    digits, and only the length check (and, for Normalize, the region and validity) go
//    through libphonenumber. Whenever that could differ from
//    Parse -- an unknown or non-geographic calling code, a national number starting with 0 or
//    with the region's national prefix (US "1"), a length that is not possible for the
//    country -- the number takes the full parse instead.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace smsconsent {

struct PhoneNumber {
  std::string e164;      // "+4520123456"
  std::string region;    // "DK"; "001" style non-geographic entities as libphonenumber names
                         // them; the calling code's main region ("US") when no region's
                         // ranges match the number (fictional +1 555, +44 7700 900)
  int country_code = 0;  // 45
  bool valid = false;    // libphonenumber IsValidNumber (range assigned)
};

struct ShortCode {
  std::string digits;   // "12345"
  std::string country;  // "US"
};

class PhoneNormalizer {
 public:
  // Verdicts kept for canonical E.164 input (about 200 bytes each, so up to ~26 MB): enough
  // for the working set of a business's recipients, which every consent check and webhook
  // of theirs repeats. The cache is emptied when full, so a working set larger than this
  // pays a full parse per lookup.
  static constexpr std::size_t kDefaultCacheCapacity = 131072;

  struct Options {
    // Bounds the verdict cache (entries; it is emptied when full). 0 disables the cache.
    std::size_t cache_capacity = kDefaultCacheCapacity;
    // False: canonical E.164 input the cache has not seen takes libphonenumber's full Parse
    // like any other input. For tests that compare the two paths, and benchmarks.
    bool canonical_fast_path = true;
  };

  PhoneNormalizer();
  // Same as Options{.cache_capacity = cache_capacity}: 0 disables the cache (for tests and
  // benchmarks); canonical input the cache has not seen still skips the full parse.
  explicit PhoneNormalizer(std::size_t cache_capacity);
  explicit PhoneNormalizer(const Options& options);
  ~PhoneNormalizer();
  PhoneNormalizer(const PhoneNormalizer&) = delete;
  PhoneNormalizer& operator=(const PhoneNormalizer&) = delete;

  // Returns the E.164 form of `input`, or kInvalidPhone with a message that names the input
  // and the reason (not a number, too short, too long, unknown country, missing region).
  // `default_region` may be empty when the input is international ("+..." or "00..."); it is
  // case-insensitive. Also refused: input with letters (vanity numbers, "ext."), numbers with
  // an extension, and local-only numbers without an area code (US "555-2671"), none of which
  // has a dialable E.164 form. Canonical E.164 input never depends on `default_region`.
  // The E.164 form returned normalises to itself, in any region: a number is stored, and
  // looked up, by one spelling.
  Result<PhoneNumber> Normalize(std::string_view input, std::string_view default_region) const;
  // Normalize for callers that need only the E.164 form and calling code: the same verdict and
  // errors, but PhoneNumber::region may be empty and ::valid false (working those out costs
  // more than the parse). For hot paths such as an inbound message's sender. Its verdicts
  // are cached too, and serve later NormalizeToE164 calls (Normalize parses again once).
  Result<PhoneNumber> NormalizeToE164(std::string_view input,
                                      std::string_view default_region) const;

  // Short code: 3-8 digits (spaces/dashes allowed in input) with an ISO country.
  // kInvalidPhone when not 3-8 digits; kInvalidArgument when the country is not a known region.
  Result<ShortCode> NormalizeShortCode(std::string_view input, std::string_view country) const;

  // Calling code of a region ("DK" -> 45), 0 when unknown.
  int CountryCodeForRegion(std::string_view region) const;
  // Main region of a calling code (45 -> "DK"), "ZZ" when unknown.
  std::string RegionForCountryCode(int country_code) const;

  // True when `s` looks like a short code (3-8 digits, nothing else after trimming).
  static bool LooksLikeShortCode(std::string_view s);
  // True when `s` has the shape of a canonical E.164 number ("+", a non-zero digit, 6-14 more
  // digits), which the E.164 forms this class returns have, except a few shorter or longer
  // ones that libphonenumber deems possible (German numbers of 4 or 14 national digits:
  // "+490205"); those take the parse. A valid number in that shape normalises to itself, so a
  // phone already stored (always normalised) can be looked up by such input as it is, before
  // -- and instead of -- a parse.
  static bool LooksLikeE164(std::string_view s);

  // Number of verdicts currently held by the cache (observability and tests).
  std::size_t cache_size() const;
  // Number of verdicts this normaliser worked out for canonical E.164 input without
  // libphonenumber's Parse (observability and tests; cache hits are not counted).
  std::size_t canonical_fast_path_count() const;

 private:
  struct Cache;
  // Normalize / NormalizeToE164 through the cache (canonical E.164 input only).
  Result<PhoneNumber> Cached(std::string_view input, std::string_view default_region,
                             bool details) const;
  // The verdict for canonical E.164 input, without the cache: the fast path when it applies,
  // else the full parse.
  Result<PhoneNumber> Canonical(std::string_view input, std::string_view default_region,
                                bool details) const;
  const bool canonical_fast_path_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace smsconsent
