// Fuzz target: the decoders providers/webhook.h applies to bytes from outside --
// application/x-www-form-urlencoded (webhook bodies, every query string), base64 and base64url
// (signatures, Vonage's JWT), the URL spellings a signature may cover (from the Host header)
// and Unix-seconds timestamps. Every input goes through all of them.
//
// Invariants: form data re-encoded with UrlEncode parses back to the same pairs; decoding
// never makes up pairs (at most one per '&'-separated piece); base64 of anything decodes back
// to it, and what decodes re-encodes to text that decodes to the same bytes; the URL variants
// start with the URL as given and are unique; a parsed timestamp prints back as its digits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "fuzz_check.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

void CheckForm(std::string_view s) {
  auto params = ParseFormUrlEncoded(s);
  if (!params.ok()) {
    FUZZ_CHECK(params.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  const auto pieces = static_cast<size_t>(std::count(s.begin(), s.end(), '&')) + 1;
  FUZZ_CHECK(params->size() <= pieces, fuzz::Escaped(s));
  std::string encoded;
  for (const auto& [key, value] : *params) {
    if (!encoded.empty()) encoded.push_back('&');
    encoded += UrlEncode(key);
    encoded.push_back('=');
    encoded += UrlEncode(value);
  }
  auto again = ParseFormUrlEncoded(encoded);
  FUZZ_CHECK(again.ok() && *again == *params, fuzz::Escaped(s) + " -> " + encoded);
}

void CheckBase64(std::string_view s) {
  auto plain = Base64Decode(Base64Encode(s));
  FUZZ_CHECK(plain.ok() && *plain == s, fuzz::Escaped(s));
  auto url = Base64UrlDecode(Base64UrlEncode(s));
  FUZZ_CHECK(url.ok() && *url == s, fuzz::Escaped(s));

  if (auto decoded = Base64Decode(s); decoded.ok()) {
    auto again = Base64Decode(Base64Encode(*decoded));
    FUZZ_CHECK(again.ok() && *again == *decoded, fuzz::Escaped(s));
    FUZZ_CHECK(decoded->size() <= s.size() * 3 / 4, fuzz::Escaped(s));
  }
  if (auto decoded = Base64UrlDecode(s); decoded.ok()) {
    auto again = Base64UrlDecode(Base64UrlEncode(*decoded));
    FUZZ_CHECK(again.ok() && *again == *decoded, fuzz::Escaped(s));
  }
}

void CheckUrl(std::string_view url) {
  const std::vector<std::string> variants = UrlPortVariants(url);
  FUZZ_CHECK(!variants.empty() && variants.size() <= 2 && variants[0] == url, fuzz::Escaped(url));
  if (variants.size() == 2) FUZZ_CHECK(variants[0] != variants[1], fuzz::Escaped(url));

  WebhookRequest request;
  request.url = std::string(url);
  request.query = {{"from", "request.query"}};
  (void)RequestQueryParams(request);
}

void CheckSeconds(std::string_view s) {
  int64_t at = -1;
  if (ParseSeconds(s, &at)) {
    FUZZ_CHECK(at >= 0, fuzz::Escaped(s));
    std::string_view digits = s;
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    FUZZ_CHECK(std::to_string(at) == digits, fuzz::Escaped(s));
  }
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  smsconsent::CheckForm(input);
  smsconsent::CheckBase64(input);
  smsconsent::CheckUrl(input);
  smsconsent::CheckSeconds(input);
  return 0;
}
