// Fuzz target: every provider's inbound webhook (providers/webhook.h) -- Parse, Verify (over
// the reading Parse returned, as WebhookService does) and Respond on requests made of outside
// bytes.
//
// An input reads like an HTTP request:
//   PROVIDER METHOD URL
//   name: value            (header lines; names are lowercased, as the server does)
//
//   body
// PROVIDER is a provider's name (twilio, kannel, vonage, plivo, telnyx, generic); any other
// first word picks one by the input's first byte. An `x-fuzz-settings: {json}` header adds to
// the account settings the request is verified with (tolerance_seconds, Vonage's
// signature_method, …). The settings hold fixed secrets (kSecret, kToken, kTelnyxPublicKey), so
// seeds can carry valid signatures; the time is fixed at kNowS.
//
// Invariants:
//  - a request that does not parse is refused as invalid (kInvalidArgument);
//  - a request verifies only with the secret it was signed with: never without settings, and
//    never once the secret (or Telnyx's public key) is replaced by another;
//  - a parsed message that is not ignored names its message id, sender and receiver;
//  - the answer to a parsed message is a 2xx.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "fuzz_check.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;

constexpr int64_t kNowS = 1700000000;
constexpr char kSecret[] = "fuzz-secret";
constexpr char kToken[] = "fuzz-token";
// Ed25519 public keys (base64 of the raw 32 bytes); the seeds are signed with the first's
// private key, which is not kept.
constexpr char kTelnyxPublicKey[] = "QqpNEJBUsFlPJPhKcbTS4phoTObP2kDBhqlvhIH0+7w=";
constexpr char kOtherTelnyxPublicKey[] = "z039alcd2n32bzX7NE2UHWq1Da9jUW7X5hef9z3WRmE=";

std::string_view NextLine(std::string_view& rest) {
  const size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The request line's words: provider, method, URL.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  while (words.size() < 2) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) break;
    words.push_back(line.substr(0, space));
    line.remove_prefix(space + 1);
  }
  words.push_back(line);
  return words;
}

// As the server fills WebhookRequest: the path and the decoded query from the URL's target.
WebhookRequest MakeRequest(std::string_view method, std::string_view url) {
  WebhookRequest r;
  r.method = std::string(method);
  r.url = std::string(url);
  const size_t scheme = url.find("://");
  const size_t path_start = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  const std::string_view target =
      path_start == std::string_view::npos ? std::string_view("/") : url.substr(path_start);
  const size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto parsed = ParseFormUrlEncoded(target.substr(q + 1));
    if (parsed.ok()) r.query = std::move(parsed).value();
  }
  return r;
}

json DefaultSettings(std::string_view provider) {
  if (provider == "twilio" || provider == "plivo") return {{"auth_token", kToken}};
  if (provider == "vonage") return {{"signature_secret", kSecret}};
  if (provider == "telnyx") return {{"public_key", kTelnyxPublicKey}};
  return {{"secret", kSecret}};
}

// The same settings with every secret replaced by another.
json OtherSecret(json settings) {
  for (const char* key : {"auth_token", "signature_secret", "secret"}) {
    if (settings.contains(key) && settings[key].is_string()) {
      settings[key] = "other-" + settings[key].get<std::string>();
    }
  }
  if (settings.contains("public_key")) {
    settings["public_key"] =
        settings["public_key"] == kOtherTelnyxPublicKey ? kTelnyxPublicKey : kOtherTelnyxPublicKey;
  }
  return settings;
}

void CheckWebhook(std::string_view input) {
  if (input.empty()) return;
  std::string_view rest = input;
  const std::vector<std::string_view> words = Words(NextLine(rest));
  const WebhookProvider* provider = FindWebhookProvider(words[0]);
  if (provider == nullptr) {
    const auto& all = AllWebhookProviders();
    provider = all[static_cast<unsigned char>(input[0]) % all.size()].get();
  }
  WebhookRequest request = MakeRequest(words.size() > 1 ? words[1] : "POST",
                                       words.size() > 2 ? words[2] : "https://h/webhooks/x");
  json settings = DefaultSettings(provider->name());
  while (!rest.empty()) {
    const std::string_view line = NextLine(rest);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    const std::string name = Lower(Trim(line.substr(0, colon)));
    const std::string_view value =
        colon == std::string_view::npos ? std::string_view() : Trim(line.substr(colon + 1));
    if (name == "x-fuzz-settings") {
      const json extra = json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (extra.is_object()) settings.update(extra);
      continue;
    }
    request.headers.emplace_back(name, value);
  }
  request.body = std::string(rest);
  const std::string what = std::string(provider->name()) + " " + fuzz::Escaped(input);

  const Result<ParsedInbound> parsed = provider->Parse(request);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == StatusCode::kInvalidArgument,
               what + ": " + parsed.status().ToString());
    return;
  }
  if (!parsed->ignored) {
    FUZZ_CHECK(!parsed->message_id.empty() && !parsed->from.empty() && !parsed->to.empty(), what);
  }
  const WebhookResponse response =
      provider->Respond(parsed->ignored ? std::vector<std::string>{}
                                        : std::vector<std::string>{parsed->body, "HELP: reply"});
  FUZZ_CHECK(response.status >= 200 && response.status < 300, what);

  // Verify checks the request as Parse read it (WebhookService never verifies a request that
  // did not parse).
  const int64_t now_ms = kNowS * 1000;
  const Result<WebhookVerdict> verified = provider->Verify(request, *parsed, settings, now_ms);
  if (verified.ok()) {
    const Result<WebhookVerdict> other =
        provider->Verify(request, *parsed, OtherSecret(settings), now_ms);
    FUZZ_CHECK(!other.ok(), what + ": verifies with another secret too");
  } else {
    const StatusCode code = verified.status().code();
    FUZZ_CHECK(code == StatusCode::kPermissionDenied || code == StatusCode::kFailedPrecondition,
               what + ": " + verified.status().ToString());
  }
  const Result<WebhookVerdict> unconfigured =
      provider->Verify(request, *parsed, json::object(), now_ms);
  FUZZ_CHECK(!unconfigured.ok() && unconfigured.status().code() == StatusCode::kFailedPrecondition,
             what + ": verifies without settings");
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::CheckWebhook(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
