// Integration tests of the Vonage (SMS API and Messages API), Plivo, Telnyx and Twilio inbound
// webhooks over HTTP, against the real `smsconsent serve` binary on port 0 with secrets stored
// through `smsconsent provider set`. Every signature is computed here with OpenSSL from the
// provider's published scheme (docs/webhooks.md), never with the production helpers, so a wrong
// implementation cannot agree with itself. Also: a request target whose query string cannot be
// decoded is answered 400 without reaching any handler.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Form;
using serve_fixture::PercentEncode;
using Params = std::vector<std::pair<std::string, std::string>>;
using Headers = std::vector<std::pair<std::string, std::string>>;
namespace fs = std::filesystem;

// ---- crypto, with OpenSSL only -----------------------------------------------------------

std::string Raw(const unsigned char* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string ToHex(std::string_view bytes, bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// base64url without padding, as JWTs write it.
std::string Base64Url(std::string_view bytes) {
  std::string out = Base64(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return Raw(mac, len);
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return Raw(out, len);
}

// An Ed25519 key pair, as Telnyx holds the private half and shows the public one.
class Ed25519Key {
 public:
  Ed25519Key() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    if (ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1) EVP_PKEY_keygen(ctx, &key_);
    EVP_PKEY_CTX_free(ctx);
  }
  ~Ed25519Key() { EVP_PKEY_free(key_); }
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  bool ok() const { return key_ != nullptr; }

  // Base64 of the raw 32-byte public key: what Telnyx's portal shows.
  std::string PublicKeyBase64() const {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_, raw, &len) != 1) return {};
    return Base64(Raw(raw, len));
  }

  std::string SignBase64(std::string_view message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char sig[64];
    size_t len = sizeof sig;
    const bool ok =
        ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
        EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? Base64(Raw(sig, len)) : std::string();
  }

 private:
  EVP_PKEY* key_ = nullptr;
};

// ---- the providers' signing recipes --------------------------------------------------------

// Vonage SMS API signed webhooks (Vonage's SDKs, Signature::sign): every parameter but `sig`,
// sorted by name, '&' and '=' in values replaced by '_', written "&name=value…"; md5hash is the
// MD5 of that string followed by the secret, the others its HMAC keyed by the secret. The SDKs
// write HMAC digests in uppercase hex, md5hash in lowercase.
std::string VonageSig(Params params, const std::string& secret, const std::string& method) {
  std::sort(params.begin(), params.end());
  std::string base;
  for (auto [name, value] : params) {
    if (name == "sig") continue;
    std::replace(value.begin(), value.end(), '&', '_');
    std::replace(value.begin(), value.end(), '=', '_');
    base += "&" + name + "=" + value;
  }
  if (method == "md5hash") return ToHex(Digest(EVP_md5(), base + secret));
  const EVP_MD* md = method == "md5"      ? EVP_md5()
                     : method == "sha1"   ? EVP_sha1()
                     : method == "sha512" ? EVP_sha512()
                                          : EVP_sha256();
  return ToHex(Hmac(md, secret, base), /*upper=*/true);
}

// A Vonage Messages API webhook token: HS256 JWT keyed with the signature secret whose claims
// carry iat and payload_hash, the hex SHA-256 of the body.
std::string VonageJwt(const std::string& secret, const std::string& body, int64_t iat,
                      const std::string& alg = "HS256") {
  const json header = {{"alg", alg}, {"typ", "JWT"}};
  const json claims = {{"iat", iat},
                       {"exp", iat + 900},
                       {"jti", "2b5c0f3e-6d1a-4b8e-9c1d-" + std::to_string(iat)},
                       {"iss", "Vonage"},
                       {"api_key", "abcd1234"},
                       {"application_id", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
                       {"payload_hash", ToHex(Digest(EVP_sha256(), body))}};
  const std::string input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  return input + "." + Base64Url(Hmac(EVP_sha256(), secret, input));
}

// Plivo Signature V3 (plivo-python utils/signature_v3.py): the URL without its query; then
// "?" + its query parameters sorted, "k=v" joined by "&", when there is a query or POST
// parameters; "." when there are both; the POST parameters sorted, each name then value;
// finally "." + nonce. base64(HMAC-SHA256(auth token, that)). The query here is plain ASCII,
// so splitting it needs no decoding.
std::string PlivoV3(const std::string& token, const std::string& url, const Params& post,
                    const std::string& nonce) {
  const size_t q = url.find('?');
  std::string signed_url = url.substr(0, q);
  std::map<std::string, std::vector<std::string>> query;
  if (q != std::string::npos) {
    const std::string rest = url.substr(q + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t amp = rest.find('&', pos);
      if (amp == std::string::npos) amp = rest.size();
      const std::string pair = rest.substr(pos, amp - pos);
      const size_t eq = pair.find('=');
      if (!pair.empty())
        query[pair.substr(0, eq)].push_back(eq == std::string::npos ? "" : pair.substr(eq + 1));
      pos = amp + 1;
    }
  }
  std::string query_string;
  for (auto& [name, values] : query) {
    std::sort(values.begin(), values.end());
    for (const auto& v : values) query_string += (query_string.empty() ? "" : "&") + name + "=" + v;
  }
  if (!query_string.empty() || !post.empty()) signed_url += "?" + query_string;
  if (!query_string.empty() && !post.empty()) signed_url += ".";
  std::map<std::string, std::vector<std::string>> sorted_post;
  for (const auto& [name, value] : post) sorted_post[name].push_back(value);
  for (auto& [name, values] : sorted_post) {
    std::sort(values.begin(), values.end());
    for (const auto& v : values) signed_url += name + v;
  }
  return Base64(Hmac(EVP_sha256(), token, signed_url + "." + nonce));
}

// Plivo Signature V2 (plivo-python utils/signature_v2.py): base64(HMAC-SHA256(auth token, the URL
// without its query + nonce)). Nothing of the parameters is signed.
std::string PlivoV2(const std::string& token, const std::string& url, const std::string& nonce) {
  return Base64(Hmac(EVP_sha256(), token, url.substr(0, url.find('?')) + nonce));
}

// ---- the fixture ----------------------------------------------------------------------------

constexpr char kNumberA[] = "+15557654321";  // account Acme
constexpr char kNumberB[] = "+15557654322";  // account Beta
constexpr char kNumberC[] = "+15557654323";  // account Gamma: still on Plivo signature V2
constexpr char kUnknownNumber[] = "+15559990000";
constexpr char kVonageSecretA[] = "vonage-secret-acme";
constexpr char kVonageSecretB[] = "vonage-secret-beta";
constexpr char kPlivoToken[] = "plivo-auth-token-acme";
constexpr char kPlivoTokenC[] = "plivo-auth-token-gamma";
constexpr char kTwilioToken[] = "twilio-auth-token-acme";
// Every refusal of a webhook that is not verified, whatever the reason.
constexpr char kNotVerified[] =
    R"({"error":{"code":"PERMISSION_DENIED","message":"webhook not verified"}})";
constexpr int64_t kTelnyxToleranceS = 60;

// Vonage and Plivo write E.164 numbers without the '+'.
std::string Digits(const std::string& e164) { return e164.substr(1); }

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

class WebhooksOverHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("hooks");
    db_ = serve_fixture::NewDatabase(dir_, "hooks.db");
    if (db_.empty()) return;
    json a = Cli({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    json b = Cli({"account", "create", "--name", "Beta", "--addons", "marketing_sms_access"});
    json c = Cli({"account", "create", "--name", "Gamma", "--addons", "marketing_sms_access"});
    ASSERT_TRUE(a["api_key"].is_string() && b["api_key"].is_string() && c["api_key"].is_string() &&
                a["id"].is_number() && b["id"].is_number() && c["id"].is_number());
    key_a_ = a["api_key"];
    key_b_ = b["api_key"];
    key_c_ = c["api_key"];
    const std::string id_a = std::to_string(a["id"].get<int64_t>());
    const std::string id_b = std::to_string(b["id"].get<int64_t>());
    const std::string id_c = std::to_string(c["id"].get<int64_t>());
    Cli({"number", "add", "--account", id_a, "--number", kNumberA});
    Cli({"number", "add", "--account", id_b, "--number", kNumberB});
    Cli({"number", "add", "--account", id_c, "--number", kNumberC});
    // Acme signs Vonage SMS API webhooks with HMAC-SHA256, Beta with the default md5hash.
    Cli({"provider", "set", "--account", id_a, "--provider", "vonage", "--signature-secret",
         kVonageSecretA, "--signature-method", "sha256", "--sender", "log"});
    Cli({"provider", "set", "--account", id_b, "--provider", "vonage", "--signature-secret",
         kVonageSecretB, "--sender", "log"});
    Cli({"provider", "set", "--account", id_a, "--provider", "plivo", "--auth-token", kPlivoToken});
    Cli({"provider", "set", "--account", id_a, "--provider", "twilio", "--auth-token",
         kTwilioToken});
    // Gamma's Plivo account signs with V2 only, and Gamma has said so.
    Cli({"provider", "set", "--account", id_c, "--provider", "plivo", "--auth-token",
         kPlivoTokenC});
    serve_fixture::RunCli(
        db_,
        {"provider", "set", "--account", id_c, "--provider", "plivo", "--plivo-allow-v2", "true"},
        &allow_v2_rc_);
    telnyx_key_ = std::make_unique<Ed25519Key>();
    ASSERT_TRUE(telnyx_key_->ok());
    Cli({"provider", "set", "--account", id_a, "--provider", "telnyx", "--public-key",
         telnyx_key_->PublicKeyBase64(), "--tolerance-seconds", std::to_string(kTelnyxToleranceS)});
    serve_fixture::StartServe(
        db_, (dir_ / "serve.log").string(),
        {"--threads", "2", "--outbox-poll-ms", "50", "--shutdown-grace-ms", "2000"}, &server_);
  }

  static void TearDownTestSuite() {
    if (db_.empty()) {  // skipped: no PostgreSQL here
      fs::remove_all(dir_);
      return;
    }
    // A clean exit after SIGTERM: under ASan this also means LeakSanitizer found nothing.
    const int status = serve_fixture::StopServe(server_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "serve exited with wait status " << status << "; its log:\n"
        << ReadFile(dir_ / "serve.log");
    telnyx_key_.reset();
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  static std::string ReadFile(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (IsSkipped() || HasFailure()) return;
    ASSERT_GT(server_.pid, 0) << "the server did not start";
  }

  // Runs the CLI and expects success; returns its JSON output.
  static json Cli(const std::vector<std::string>& args) {
    int rc = -1;
    const std::string out = serve_fixture::RunCli(db_, args, &rc);
    EXPECT_EQ(rc, 0) << args[0] << " " << args[1] << ": " << out;
    return json::parse(out, nullptr, false);
  }

  HttpClientResponse Send(const std::string& method, const std::string& target,
                          const std::string& body, Headers headers) {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + target;
    req.body = body;
    req.headers = std::move(headers);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }

  HttpClientResponse Get(const std::string& target, const std::string& key) {
    return Send("GET", target, "",
                key.empty() ? Headers{} : Headers{{"Authorization", "Bearer " + key}});
  }

  // The contact's status on `number` as GET /v1/consent answers it.
  std::string StatusOf(const std::string& phone, const std::string& number,
                       const std::string& key = key_a_) {
    const HttpClientResponse r =
        Get("/v1/consent?phone=" + PercentEncode(phone) + "&number=" + PercentEncode(number), key);
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);  // not const: [] on a missing key is null
    return j.is_object() && j["status"].is_string() ? j["status"].get<std::string>() : "?";
  }

  // How many consent events the contact has (0 when the contact does not exist).
  size_t EventCount(const std::string& phone, const std::string& key = key_a_) {
    json found = json::parse(Get("/v1/contacts?search=" + Digits(phone), key).body, nullptr, false);
    if (!found.is_object() || found["items"].empty()) return 0;
    json history = json::parse(
        Get("/v1/contacts/" + std::to_string(found["items"][0]["id"].get<int64_t>()) + "/history",
            key)
            .body,
        nullptr, false);
    return history.is_object() ? history["items"].size() : 0;
  }

  // How many replies to `phone` the account's outbox holds, in any state.
  size_t RepliesTo(const std::string& phone, const std::string& key = key_a_) {
    const json page = json::parse(Get("/v1/outbox?limit=1000", key).body, nullptr, false);
    if (!page.is_object()) return 0;
    return static_cast<size_t>(std::count_if(page["items"].begin(), page["items"].end(),
                                             [&](const json& o) { return o["to"] == phone; }));
  }

  static std::string ErrorCode(const HttpClientResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object() ||
        !j["error"]["code"].is_string() || !j["error"]["message"].is_string()) {
      return "(not the error shape: " + r.body + ")";
    }
    return j["error"]["code"];
  }

  // ---- Vonage SMS API ----

  static Params VonageParams(const std::string& from, const std::string& to, const std::string& id,
                             const std::string& text, int64_t ts) {
    return {{"msisdn", Digits(from)},
            {"to", Digits(to)},
            {"messageId", id},
            {"text", text},
            {"type", "text"},
            {"keyword", text.substr(0, text.find(' '))},
            {"api-key", "abcd1234"},
            {"message-timestamp", "2026-11-29 10:00:00"},
            {"timestamp", std::to_string(ts)},
            {"nonce", "6ad2d5b2-6a36-4c1c-a9c1-" + id}};
  }

  static Params VonageSigned(Params params, const std::string& secret,
                             const std::string& method = "sha256") {
    params.emplace_back("sig", VonageSig(params, secret, method));
    return params;
  }

  HttpClientResponse VonagePostForm(const Params& params) {
    return Send("POST", "/webhooks/vonage", Form(params),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  // ---- Vonage Messages API ----

  static std::string VonageMessage(const std::string& from, const std::string& to,
                                   const std::string& id, const std::string& text) {
    return json{{"channel", "sms"},
                {"message_uuid", id},
                {"to", Digits(to)},
                {"from", Digits(from)},
                {"timestamp", "2026-11-29T10:00:00Z"},
                {"text", text},
                {"sms", {{"num_messages", "1"}}},
                {"message_type", "text"}}
        .dump();
  }

  HttpClientResponse VonageJwtPost(const std::string& body, const std::string& jwt) {
    Headers h = {{"Content-Type", "application/json"}};
    if (!jwt.empty()) h.emplace_back("Authorization", "Bearer " + jwt);
    return Send("POST", "/webhooks/vonage", body, std::move(h));
  }

  // ---- Plivo ----

  static Params PlivoParams(const std::string& from, const std::string& to, const std::string& id,
                            const std::string& text) {
    return {{"From", Digits(from)},   {"To", Digits(to)},         {"Type", "sms"},
            {"Text", text},           {"MessageUUID", id},        {"Units", "1"},
            {"TotalRate", "0.00000"}, {"TotalAmount", "0.00000"}, {"PowerpackUUID", ""}};
  }

  // POSTs `params` to /webhooks/plivo + `query` with V3 headers; the signature covers
  // `signed_query` (the same query unless a test says otherwise).
  HttpClientResponse PlivoPost(const Params& params, const std::string& token,
                               const std::string& nonce, const std::string& query = "",
                               std::optional<std::string> signed_query = std::nullopt) {
    const std::string url = server_.base_url + "/webhooks/plivo" + signed_query.value_or(query);
    return Send("POST", "/webhooks/plivo" + query, Form(params),
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Plivo-Signature-V3", PlivoV3(token, url, params, nonce)},
                 {"X-Plivo-Signature-V3-Nonce", nonce}});
  }

  // POSTs `params` to /webhooks/plivo with Signature V2 headers only.
  HttpClientResponse PlivoPostV2(const Params& params, const std::string& token,
                                 const std::string& nonce) {
    const std::string url = server_.base_url + "/webhooks/plivo";
    return Send("POST", "/webhooks/plivo", Form(params),
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Plivo-Signature-V2", PlivoV2(token, url, nonce)},
                 {"X-Plivo-Signature-V2-Nonce", nonce}});
  }

  // ---- Twilio ----

  // Twilio's parameters for an inbound SMS to a number of a Messaging Service.
  static Params TwilioParams(const std::string& from, const std::string& to, const std::string& sid,
                             const std::string& body) {
    return {{"ToCountry", "US"},
            {"SmsMessageSid", sid},
            {"NumMedia", "0"},
            {"SmsSid", sid},
            {"SmsStatus", "received"},
            {"Body", body},
            {"To", to},
            {"NumSegments", "1"},
            {"MessageSid", sid},
            {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"},
            {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
            {"From", from},
            {"ApiVersion", "2010-04-01"}};
  }

  // POSTs `sent` to /webhooks/twilio with the signature of `signed_params` (the same by default).
  HttpClientResponse TwilioPost(const Params& sent,
                                std::optional<Params> signed_params = std::nullopt) {
    const std::string url = server_.base_url + "/webhooks/twilio";
    return Send("POST", "/webhooks/twilio", Form(sent),
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", serve_fixture::TwilioSignature(
                                            kTwilioToken, url, signed_params.value_or(sent))}});
  }

  // ---- Telnyx ----

  // A message.received event as Telnyx formats it, indented: the raw bytes are what is signed.
  static std::string TelnyxEvent(const std::string& from, const std::string& to,
                                 const std::string& id, const std::string& text, int attempt = 1) {
    std::string body = R"({
  "data": {
    "event_type": "message.received",
    "id": "event-$ID-$ATTEMPT",
    "occurred_at": "2026-11-29T10:00:00.000+00:00",
    "payload": {
      "direction": "inbound",
      "from": {"carrier": "T-Mobile USA", "line_type": "Wireless", "phone_number": "$FROM"},
      "id": "$ID",
      "record_type": "message",
      "text": "$TEXT",
      "to": [{"phone_number": "$TO", "status": "webhook_delivered"}],
      "type": "SMS"
    },
    "record_type": "event"
  },
  "meta": {"attempt": $ATTEMPT, "delivered_to": "https://example.com/webhooks/telnyx"}
})";
    const std::pair<std::string, std::string> fields[] = {{"$ID", id},
                                                          {"$ATTEMPT", std::to_string(attempt)},
                                                          {"$FROM", from},
                                                          {"$TO", to},
                                                          {"$TEXT", text}};
    for (const auto& [name, value] : fields) {
      for (size_t at = body.find(name); at != std::string::npos; at = body.find(name, at)) {
        body.replace(at, name.size(), value);
        at += value.size();
      }
    }
    return body;
  }

  HttpClientResponse TelnyxPost(const std::string& body, const std::string& timestamp,
                                const std::string& signature,
                                const std::string& target = "/webhooks/telnyx") {
    Headers h = {{"Content-Type", "application/json"}};
    if (!signature.empty()) h.emplace_back("telnyx-signature-ed25519", signature);
    if (!timestamp.empty()) h.emplace_back("telnyx-timestamp", timestamp);
    return Send("POST", target, body, std::move(h));
  }

  HttpClientResponse TelnyxSigned(const std::string& body, int64_t ts,
                                  const std::string& target = "/webhooks/telnyx") {
    const std::string t = std::to_string(ts);
    return TelnyxPost(body, t, telnyx_key_->SignBase64(t + "|" + body), target);
  }

  static inline fs::path dir_;
  static inline std::string db_, key_a_, key_b_, key_c_;
  static inline int allow_v2_rc_ = -1;  // `provider set --plivo-allow-v2 true` for Gamma
  static inline serve_fixture::ServeProcess server_;
  static inline std::unique_ptr<Ed25519Key> telnyx_key_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

constexpr char kAck[] = R"({"ok":true})";

// ---- Vonage SMS API ------------------------------------------------------------------------

TEST_F(WebhooksOverHttp, VonageSmsApiSignedStopChangesTheStatusAndAReplayChangesNothing) {
  const std::string phone = "+14155550101";
  // START as a GET (Vonage's default method), STOP as a POST form.
  const Params start =
      VonageSigned(VonageParams(phone, kNumberA, "0A0000001", "START", Now()), kVonageSecretA);
  const HttpClientResponse started = Get("/webhooks/vonage?" + Form(start), "");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.body, kAck);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const Params stop =
      VonageSigned(VonageParams(phone, kNumberA, "0A0000002", "STOP", Now()), kVonageSecretA);
  const HttpClientResponse stopped = VonagePostForm(stop);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");

  const size_t replies = RepliesTo(phone);
  EXPECT_EQ(replies, 2u);  // the START and the STOP confirmations
  // Vonage retries the START: same messageId, nothing changes, same answer.
  const HttpClientResponse replay = Get("/webhooks/vonage?" + Form(start), "");
  EXPECT_EQ(replay.status, started.status);
  EXPECT_EQ(replay.body, started.body);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  EXPECT_EQ(EventCount(phone), 2u);
  EXPECT_EQ(RepliesTo(phone), replies);
}

TEST_F(WebhooksOverHttp, VonageSmsApiSignsValuesWithAmpersandsAndEqualsAsUnderscores) {
  const std::string phone = "+14155550102";
  const HttpClientResponse r = VonagePostForm(
      VonageSigned(VonageParams(phone, kNumberA, "0A0000011", "Q&A: is 2+2=4? Reply later", Now()),
                   kVonageSecretA));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "not_specified");
}

TEST_F(WebhooksOverHttp, VonageSmsApiAcceptsTheSignedParametersAsAJsonBody) {
  // The dashboard's "POST-JSON" method: the same parameters, signed the same way.
  const std::string phone = "+14155550106";
  json body = json::object();
  for (const auto& [k, v] :
       VonageSigned(VonageParams(phone, kNumberA, "0A0000041", "STOP", Now()), kVonageSecretA)) {
    body[k] = v;
  }
  HttpClientResponse r =
      Send("POST", "/webhooks/vonage", body.dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  body["text"] = "START";  // changed after signing
  body["messageId"] = "0A0000042";
  r = Send("POST", "/webhooks/vonage", body.dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
}

TEST_F(WebhooksOverHttp, VonageSmsApiVerifiesWithTheSecretOfTheReceivingNumbersAccount) {
  const std::string phone = "+14155550103";
  // Beta uses md5hash (MD5 of the string followed by the secret).
  const Params params = VonageParams(phone, kNumberB, "0B0000001", "STOP", Now());
  EXPECT_EQ(VonagePostForm(VonageSigned(params, kVonageSecretA, "md5hash")).status, 403);
  EXPECT_EQ(VonagePostForm(VonageSigned(params, kVonageSecretB, "sha256")).status, 403);
  EXPECT_EQ(EventCount(phone, key_b_), 0u);
  const HttpClientResponse r = VonagePostForm(VonageSigned(params, kVonageSecretB, "md5hash"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(StatusOf(phone, kNumberB, key_b_), "opted_out");
  EXPECT_EQ(EventCount(phone, key_b_), 1u);
}

TEST_F(WebhooksOverHttp, VonageSmsApiRefusesBadOrMissingSignaturesAndChangesNothing) {
  const std::string phone = "+14155550104";
  ASSERT_EQ(VonagePostForm(VonageSigned(VonageParams(phone, kNumberA, "0A0000021", "START", Now()),
                                        kVonageSecretA))
                .status,
            200);
  ASSERT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const Params stop = VonageParams(phone, kNumberA, "0A0000022", "STOP", Now());
  // Wrong secret.
  HttpClientResponse r = VonagePostForm(VonageSigned(stop, "not-the-secret"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  // Signed for other parameters: the text was changed after signing.
  Params tampered =
      VonageSigned(VonageParams(phone, kNumberA, "0A0000022", "HELP", Now()), kVonageSecretA);
  for (auto& [k, v] : tampered) {
    if (k == "text") v = "STOP";
  }
  EXPECT_EQ(VonagePostForm(tampered).status, 403);
  // A signature that is not even hex.
  Params garbage = stop;
  garbage.emplace_back("sig", "zz");
  EXPECT_EQ(VonagePostForm(garbage).status, 403);
  // No signature at all.
  r = VonagePostForm(stop);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  // Correctly signed, but an hour old: a replay.
  EXPECT_EQ(
      VonagePostForm(VonageSigned(VonageParams(phone, kNumberA, "0A0000023", "STOP", Now() - 3600),
                                  kVonageSecretA))
          .status,
      403);

  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

TEST_F(WebhooksOverHttp, VonageSmsApiMalformedRequestIs400AndAnUnknownNumberIsNotVerified) {
  const std::string phone = "+14155550105";
  Params no_sender;
  for (const auto& p : VonageParams(phone, kNumberA, "0A0000031", "STOP", Now())) {
    if (p.first != "msisdn") no_sender.push_back(p);
  }
  HttpClientResponse r = VonagePostForm(VonageSigned(no_sender, kVonageSecretA));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  r = Send("POST", "/webhooks/vonage", "msisdn=%zz&to=15557654321",
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");

  r = VonagePostForm(VonageSigned(VonageParams(phone, kUnknownNumber, "0A0000032", "STOP", Now()),
                                  kVonageSecretA));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  EXPECT_EQ(EventCount(phone), 0u);
}

// ---- Vonage Messages API -------------------------------------------------------------------

TEST_F(WebhooksOverHttp, VonageMessagesApiJwtSignedStopChangesTheStatusAndAReplayChangesNothing) {
  const std::string phone = "+14155550201";
  const std::string start =
      VonageMessage(phone, kNumberA, "aaaaaaaa-0000-4000-8000-000000000201", "START");
  const std::string start_jwt = VonageJwt(kVonageSecretA, start, Now());
  const HttpClientResponse started = VonageJwtPost(start, start_jwt);
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.body, kAck);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const std::string stop =
      VonageMessage(phone, kNumberA, "aaaaaaaa-0000-4000-8000-000000000202", "STOP");
  const HttpClientResponse stopped = VonageJwtPost(stop, VonageJwt(kVonageSecretA, stop, Now()));
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");

  const size_t replies = RepliesTo(phone);
  EXPECT_EQ(replies, 2u);  // the START and the STOP confirmations
  const HttpClientResponse replay = VonageJwtPost(start, start_jwt);
  EXPECT_EQ(replay.status, started.status);
  EXPECT_EQ(replay.body, started.body);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  EXPECT_EQ(EventCount(phone), 2u);
  EXPECT_EQ(RepliesTo(phone), replies);
}

TEST_F(WebhooksOverHttp, VonageMessagesApiRefusesBadOrMissingJwtAndChangesNothing) {
  const std::string phone = "+14155550202";
  const std::string start =
      VonageMessage(phone, kNumberA, "aaaaaaaa-0000-4000-8000-000000000203", "START");
  ASSERT_EQ(VonageJwtPost(start, VonageJwt(kVonageSecretA, start, Now())).status, 200);
  ASSERT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const std::string stop =
      VonageMessage(phone, kNumberA, "aaaaaaaa-0000-4000-8000-000000000204", "STOP");
  // Keyed with another secret.
  HttpClientResponse r = VonageJwtPost(stop, VonageJwt("not-the-secret", stop, Now()));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  // A valid token for another body: payload_hash does not match.
  EXPECT_EQ(VonageJwtPost(stop, VonageJwt(kVonageSecretA, start, Now())).status, 403);
  // Issued an hour ago.
  EXPECT_EQ(VonageJwtPost(stop, VonageJwt(kVonageSecretA, stop, Now() - 3600)).status, 403);
  // An unsigned token ("alg": "none", no signature).
  std::string unsigned_jwt = VonageJwt(kVonageSecretA, stop, Now(), "none");
  unsigned_jwt.resize(unsigned_jwt.rfind('.') + 1);
  EXPECT_EQ(VonageJwtPost(stop, unsigned_jwt).status, 403);
  // No Authorization header at all.
  r = VonageJwtPost(stop, "");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");

  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

TEST_F(WebhooksOverHttp, VonageMessagesApiMalformedBodyIs400AndAnUnknownNumberIsNotVerified) {
  const std::string phone = "+14155550203";
  const std::string not_json = R"({"message_uuid": "x", "channel": "sms",)";
  HttpClientResponse r = VonageJwtPost(not_json, VonageJwt(kVonageSecretA, not_json, Now()));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  json no_text =
      json::parse(VonageMessage(phone, kNumberA, "aaaaaaaa-0000-4000-8000-000000000205", "STOP"));
  no_text.erase("text");
  r = VonageJwtPost(no_text.dump(), VonageJwt(kVonageSecretA, no_text.dump(), Now()));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");

  const std::string unknown =
      VonageMessage(phone, kUnknownNumber, "aaaaaaaa-0000-4000-8000-000000000206", "STOP");
  r = VonageJwtPost(unknown, VonageJwt(kVonageSecretA, unknown, Now()));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  EXPECT_EQ(EventCount(phone), 0u);
}

// ---- Plivo ---------------------------------------------------------------------------------

TEST_F(WebhooksOverHttp, PlivoSignedStopChangesTheStatusAndAReplayChangesNothing) {
  const std::string phone = "+14155550301";
  const Params start =
      PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000301", "START");
  const HttpClientResponse started = PlivoPost(start, kPlivoToken, "10293847561029384756");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_NE(started.body.find("<Response></Response>"), std::string::npos) << started.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");

  // The message URL may carry a query: it is signed too ("?query." before the POST params).
  const Params stop = PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000302", "STOP");
  const HttpClientResponse stopped =
      PlivoPost(stop, kPlivoToken, "56473829105647382910", "?tenant=acme&app=consent");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");

  const size_t replies = RepliesTo(phone);
  EXPECT_EQ(replies, 2u);  // the START and the STOP confirmations
  const HttpClientResponse replay = PlivoPost(start, kPlivoToken, "10293847561029384756");
  EXPECT_EQ(replay.status, started.status);
  EXPECT_EQ(replay.body, started.body);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  EXPECT_EQ(EventCount(phone), 2u);
  EXPECT_EQ(RepliesTo(phone), replies);
}

TEST_F(WebhooksOverHttp, PlivoAcceptsAnyOfSeveralCommaSeparatedSignatures) {
  const std::string phone = "+14155550302";
  const Params stop = PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000303", "STOP");
  const std::string nonce = "99887766554433221100";
  const std::string url = server_.base_url + "/webhooks/plivo";
  const HttpClientResponse r =
      Send("POST", "/webhooks/plivo", Form(stop),
           {{"Content-Type", "application/x-www-form-urlencoded"},
            {"X-Plivo-Signature-V3",
             PlivoV3("old-token", url, stop, nonce) + "," + PlivoV3(kPlivoToken, url, stop, nonce)},
            {"X-Plivo-Signature-V3-Nonce", nonce}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
}

TEST_F(WebhooksOverHttp, PlivoRefusesBadOrMissingSignaturesAndChangesNothing) {
  const std::string phone = "+14155550303";
  ASSERT_EQ(PlivoPost(PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000304", "START"),
                      kPlivoToken, "11111111111111111111")
                .status,
            200);
  ASSERT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const Params stop = PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000305", "STOP");
  // Wrong auth token.
  HttpClientResponse r = PlivoPost(stop, "not-the-token", "22222222222222222222");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  // Signed for another URL query than the one called.
  EXPECT_EQ(
      PlivoPost(stop, kPlivoToken, "33333333333333333333", "?tenant=evil", "?tenant=acme").status,
      403);
  const std::string url = server_.base_url + "/webhooks/plivo";
  // The signature of another nonce than the one sent.
  r = Send("POST", "/webhooks/plivo", Form(stop),
           {{"Content-Type", "application/x-www-form-urlencoded"},
            {"X-Plivo-Signature-V3", PlivoV3(kPlivoToken, url, stop, "44444444444444444444")},
            {"X-Plivo-Signature-V3-Nonce", "55555555555555555555"}});
  EXPECT_EQ(r.status, 403) << r.body;
  // A correct signature but no nonce header.
  r = Send("POST", "/webhooks/plivo", Form(stop),
           {{"Content-Type", "application/x-www-form-urlencoded"},
            {"X-Plivo-Signature-V3", PlivoV3(kPlivoToken, url, stop, "")}});
  EXPECT_EQ(r.status, 403) << r.body;
  // No signature headers at all.
  r = Send("POST", "/webhooks/plivo", Form(stop),
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");

  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

TEST_F(WebhooksOverHttp, PlivoMalformedBodyIs400AndAnUnknownNumberIsNotVerified) {
  const std::string phone = "+14155550304";
  Params no_sender;
  for (const auto& p :
       PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000306", "STOP")) {
    if (p.first != "From") no_sender.push_back(p);
  }
  HttpClientResponse r = PlivoPost(no_sender, kPlivoToken, "66666666666666666666");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  r = Send("POST", "/webhooks/plivo", "From=%zz&To=15557654321&Text=STOP",
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");

  r = PlivoPost(PlivoParams(phone, kUnknownNumber, "bbbbbbbb-0000-4000-8000-000000000307", "STOP"),
                kPlivoToken, "77777777777777777777");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  EXPECT_EQ(EventCount(phone), 0u);
}

// Signature V2 signs the URL and a nonce, not the message: a captured V2 request would let anyone
// store any text from any phone. Refused unless the account opts in.
TEST_F(WebhooksOverHttp, PlivoSignatureV2IsRefusedWithoutTheAccountsOptIn) {
  const std::string phone = "+14155550311";
  const HttpClientResponse r =
      PlivoPostV2(PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000311", "STOP"),
                  kPlivoToken, "31313131313131313131");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  EXPECT_EQ(EventCount(phone), 0u);
}

// With V2 allowed, a nonce serves one request: the captured signature of a genuine START cannot
// carry a STOP, START or HELP from three other phones. Plivo's retry of the very same request is
// still answered, and changes nothing.
TEST_F(WebhooksOverHttp, PlivoSignatureV2NonceIsSingleUse) {
  ASSERT_EQ(allow_v2_rc_, 0) << "smsconsent provider set --plivo-allow-v2 true failed";
  const std::string phone = "+14155550321";
  const std::string nonce = "32132132132132132132";
  const Params start =
      PlivoParams(phone, kNumberC, "bbbbbbbb-0000-4000-8000-000000000321", "START");
  const HttpClientResponse started = PlivoPostV2(start, kPlivoTokenC, nonce);
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(StatusOf(phone, kNumberC, key_c_), "opted_in");

  const std::vector<std::pair<std::string, std::string>> forged = {
      {"+14155550322", "STOP"}, {"+14155550323", "START"}, {"+14155550324", "HELP"}};
  int n = 0;
  for (const auto& [victim, text] : forged) {
    const HttpClientResponse r =
        PlivoPostV2(PlivoParams(victim, kNumberC,
                                "bbbbbbbb-0000-4000-8000-00000000033" + std::to_string(n++), text),
                    kPlivoTokenC, nonce);
    EXPECT_EQ(r.status, 403) << victim << ": " << r.body;
    EXPECT_EQ(r.body, kNotVerified);
    EXPECT_EQ(EventCount(victim, key_c_), 0u) << victim;
    EXPECT_EQ(RepliesTo(victim, key_c_), 0u) << victim;
  }

  const HttpClientResponse retry = PlivoPostV2(start, kPlivoTokenC, nonce);
  EXPECT_EQ(retry.status, started.status) << retry.body;
  EXPECT_EQ(retry.body, started.body);
  EXPECT_EQ(EventCount(phone, key_c_), 1u);
  // A new nonce is a new request.
  EXPECT_EQ(
      PlivoPostV2(PlivoParams(phone, kNumberC, "bbbbbbbb-0000-4000-8000-000000000325", "STOP"),
                  kPlivoTokenC, "32532532532532532532")
          .status,
      200);
  EXPECT_EQ(StatusOf(phone, kNumberC, key_c_), "opted_out");
}

// V3 signs the POST parameters only when the body is a form. A signed GET replayed as a POST whose
// body is not declared a form must not have that (unsigned) body read as the message.
TEST_F(WebhooksOverHttp, PlivoSignedGetReplayedAsAPostWithAnotherBodyIsRefused) {
  const std::string phone = "+14155550341";
  ASSERT_EQ(PlivoPost(PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000341", "START"),
                      kPlivoToken, "34134134134134134134")
                .status,
            200);
  const std::string query = "?" + Form({{"From", Digits(phone)},
                                        {"To", Digits(kNumberA)},
                                        {"Type", "sms"},
                                        {"Text", "hello"},
                                        {"MessageUUID", "bbbbbbbb-0000-4000-8000-000000000342"}});
  const std::string nonce = "34234234234234234234";
  const Headers signed_get = {
      {"X-Plivo-Signature-V3",
       PlivoV3(kPlivoToken, server_.base_url + "/webhooks/plivo" + query, {}, nonce)},
      {"X-Plivo-Signature-V3-Nonce", nonce}};
  // The genuine GET: read from its (signed) query.
  const HttpClientResponse got = Send("GET", "/webhooks/plivo" + query, "", signed_get);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const std::string stop = Form({{"From", Digits(phone)},
                                 {"To", Digits(kNumberA)},
                                 {"Type", "sms"},
                                 {"Text", "STOP"},
                                 {"MessageUUID", "bbbbbbbb-0000-4000-8000-000000000343"}});
  for (const char* content_type : {"text/plain", "application/json", "text/plain; x=form"}) {
    Headers h = signed_get;
    h.emplace_back("Content-Type", content_type);
    const HttpClientResponse r = Send("POST", "/webhooks/plivo" + query, stop, h);
    EXPECT_EQ(r.status, 400) << content_type << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT") << content_type;
  }
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

// ---- Twilio --------------------------------------------------------------------------------

// Twilio signs the parameters concatenated without separators, so "MessageSid=SMaaa…" and
// "MessagingServiceSid=MGbbb…" sign exactly like one "MessageSid=SMaaa…MessagingServiceSidMGbbb…":
// a captured START replayed that way carries a new message id. After a real STOP it must not opt
// the contact back in.
TEST_F(WebhooksOverHttp, TwilioParameterBoundaryShiftIsRefused) {
  const std::string phone = "+14155550601";
  const Params start = TwilioParams(phone, kNumberA, "SM0000000000000000000000000000601a", "START");
  ASSERT_EQ(TwilioPost(start).status, 200);
  ASSERT_EQ(TwilioPost(TwilioParams(phone, kNumberA, "SM0000000000000000000000000000601b", "STOP"))
                .status,
            200);
  ASSERT_EQ(StatusOf(phone, kNumberA), "opted_out");

  Params shifted;
  std::string service;
  for (const auto& [name, value] : start) {
    if (name == "MessagingServiceSid") service = value;
  }
  for (const auto& [name, value] : start) {
    if (name == "MessagingServiceSid") continue;
    shifted.emplace_back(name,
                         name == "MessageSid" ? value + "MessagingServiceSid" + service : value);
  }
  const HttpClientResponse r = TwilioPost(shifted, start);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  EXPECT_EQ(EventCount(phone), 2u);
}

// ---- refusals before the signature is checked ----------------------------------------------

// Whether a receiving number is registered, and whether its account has configured the
// provider's secret, is nobody's business until the request is verified: an unknown number, a
// missing secret and a bad signature are answered alike. The server's log says which it was.
TEST_F(WebhooksOverHttp, UnverifiedWebhooksAreRefusedAlike) {
  const std::string phone = "+14155550701";
  const std::vector<std::pair<std::string, HttpClientResponse>> plivo = {
      {"unknown number",
       PlivoPost(PlivoParams(phone, kUnknownNumber, "bbbbbbbb-0000-4000-8000-000000000701", "STOP"),
                 kPlivoToken, "70170170170170170170")},
      {"no secret",  // Beta has not configured Plivo
       PlivoPost(PlivoParams(phone, kNumberB, "bbbbbbbb-0000-4000-8000-000000000702", "STOP"),
                 kPlivoToken, "70270270270270270270")},
      {"bad signature",
       PlivoPost(PlivoParams(phone, kNumberA, "bbbbbbbb-0000-4000-8000-000000000703", "STOP"),
                 "not-the-token", "70370370370370370370")}};
  const std::vector<std::pair<std::string, HttpClientResponse>> telnyx = {
      {"unknown number", TelnyxSigned(TelnyxEvent(phone, kUnknownNumber,
                                                  "cccccccc-0000-4000-8000-000000000701", "STOP"),
                                      Now())},
      {"no secret",  // Beta has not configured Telnyx
       TelnyxSigned(TelnyxEvent(phone, kNumberB, "cccccccc-0000-4000-8000-000000000702", "STOP"),
                    Now())},
      {"bad signature",
       TelnyxPost(TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000703", "STOP"),
                  std::to_string(Now()), Base64(std::string(64, 'x')))}};
  for (const auto* cases : {&plivo, &telnyx}) {
    for (const auto& [what, r] : *cases) {
      EXPECT_EQ(r.status, 403) << what << ": " << r.body;
      EXPECT_EQ(r.body, kNotVerified) << what;
      EXPECT_EQ(r.headers, cases->front().second.headers) << what;
    }
  }
  EXPECT_EQ(EventCount(phone), 0u);
  EXPECT_EQ(EventCount(phone, key_b_), 0u);
  const std::string log = ReadFile(dir_ / "serve.log");
  EXPECT_NE(log.find("no account has the receiving number"), std::string::npos) << log;
  EXPECT_NE(log.find("plivo settings lack"), std::string::npos) << log;
  EXPECT_NE(log.find("X-Plivo-Signature-V3 does not match"), std::string::npos) << log;
  EXPECT_NE(log.find("telnyx settings lack"), std::string::npos) << log;
}

// The logged reason may hold what the request said (an unknown number): escaped, so a request
// cannot write lines of its own into the log.
TEST_F(WebhooksOverHttp, TheLoggedReasonOfARefusalIsEscaped) {
  const std::string to = "+15559990000\nforged log line";
  const HttpClientResponse r = TelnyxSigned(json{{"data",
                                                  {{"event_type", "message.received"},
                                                   {"payload",
                                                    {{"id", "cccccccc-0000-4000-8000-000000000711"},
                                                     {"from", {{"phone_number", "+14155550711"}}},
                                                     {"to", json::array({{{"phone_number", to}}})},
                                                     {"text", "STOP"}}}}}}
                                                .dump(),
                                            Now());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  const std::string log = ReadFile(dir_ / "serve.log");
  EXPECT_EQ(log.find("\nforged log line"), std::string::npos) << log;
  EXPECT_NE(log.find("forged log line"), std::string::npos) << log;
}

// ---- Telnyx --------------------------------------------------------------------------------

TEST_F(WebhooksOverHttp, TelnyxSignedStopChangesTheStatusAndARetryChangesNothing) {
  const std::string phone = "+14155550401";
  const std::string start_id = "cccccccc-0000-4000-8000-000000000401";
  const HttpClientResponse started =
      TelnyxSigned(TelnyxEvent(phone, kNumberA, start_id, "START"), Now());
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.body, kAck);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const std::string stop =
      TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000402", "STOP");
  const std::string ts = std::to_string(Now());
  const std::string stop_sig = telnyx_key_->SignBase64(ts + "|" + stop);
  const HttpClientResponse stopped = TelnyxPost(stop, ts, stop_sig);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");

  const size_t replies = RepliesTo(phone);
  EXPECT_EQ(replies, 2u);  // the START and the STOP confirmations
  // Telnyx's retry of the START: same message id, a new attempt, timestamp and signature.
  const HttpClientResponse retry =
      TelnyxSigned(TelnyxEvent(phone, kNumberA, start_id, "START", /*attempt=*/2), Now());
  EXPECT_EQ(retry.status, started.status);
  EXPECT_EQ(retry.body, started.body);
  // And the very same STOP delivery again.
  const HttpClientResponse again = TelnyxPost(stop, ts, stop_sig);
  EXPECT_EQ(again.status, stopped.status);
  EXPECT_EQ(again.body, stopped.body);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
  EXPECT_EQ(EventCount(phone), 2u);
  EXPECT_EQ(RepliesTo(phone), replies);
}

TEST_F(WebhooksOverHttp, TelnyxRefusesBadOrMissingSignaturesAndChangesNothing) {
  const std::string phone = "+14155550402";
  ASSERT_EQ(
      TelnyxSigned(TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000403", "START"),
                   Now())
          .status,
      200);
  ASSERT_EQ(StatusOf(phone, kNumberA), "opted_in");

  const std::string stop =
      TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000404", "STOP");
  const std::string ts = std::to_string(Now());
  // Signed with another key.
  const Ed25519Key other;
  ASSERT_TRUE(other.ok());
  HttpClientResponse r = TelnyxPost(stop, ts, other.SignBase64(ts + "|" + stop));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  // Signed over another body (the START), or over another timestamp than the header's.
  const std::string start_body =
      TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000403", "START");
  EXPECT_EQ(TelnyxPost(stop, ts, telnyx_key_->SignBase64(ts + "|" + start_body)).status, 403);
  EXPECT_EQ(
      TelnyxPost(stop, ts, telnyx_key_->SignBase64(std::to_string(std::stoll(ts) - 1) + "|" + stop))
          .status,
      403);
  // Not base64, or not 64 bytes.
  EXPECT_EQ(TelnyxPost(stop, ts, "!!!not-base64!!!").status, 403);
  EXPECT_EQ(TelnyxPost(stop, ts, Base64("short")).status, 403);
  // Missing signature; missing timestamp.
  r = TelnyxPost(stop, ts, "");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  EXPECT_EQ(TelnyxPost(stop, "", telnyx_key_->SignBase64(ts + "|" + stop)).status, 403);

  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

TEST_F(WebhooksOverHttp, TelnyxRefusesTimestampsOutsideTheConfiguredTolerance) {
  const std::string phone = "+14155550403";
  ASSERT_EQ(
      TelnyxSigned(TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000405", "START"),
                   Now())
          .status,
      200);
  const std::string stop =
      TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000406", "STOP");
  // --tolerance-seconds 60: two minutes is outside (the default of 300 s would accept it).
  HttpClientResponse r = TelnyxSigned(stop, Now() - 2 * kTelnyxToleranceS);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED");
  EXPECT_EQ(TelnyxSigned(stop, Now() + 2 * kTelnyxToleranceS).status, 403);
  EXPECT_EQ(TelnyxSigned(stop, 0).status, 403);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
}

TEST_F(WebhooksOverHttp, TelnyxMalformedBodyIs400AndAnUnknownNumberIsNotVerified) {
  const std::string phone = "+14155550404";
  HttpClientResponse r = TelnyxSigned("this is not json", Now());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  json no_id =
      json::parse(TelnyxEvent(phone, kNumberA, "cccccccc-0000-4000-8000-000000000407", "STOP"));
  no_id["data"]["payload"].erase("id");
  r = TelnyxSigned(no_id.dump(), Now());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");

  r = TelnyxSigned(
      TelnyxEvent(phone, kUnknownNumber, "cccccccc-0000-4000-8000-000000000408", "STOP"), Now());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body, kNotVerified);
  EXPECT_EQ(EventCount(phone), 0u);
}

// ---- the server: undecodable query strings -------------------------------------------------

TEST_F(WebhooksOverHttp, UndecodableQueryStringIs400AndNeverReachesTheHandler) {
  for (const char* target :
       {"/healthz?x=%zz", "/healthz?x=%", "/healthz?x=%4", "/healthz?%g1=1", "/healthz?a=1&b=%2"}) {
    const HttpClientResponse r = Get(target, "");
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT") << target;
    EXPECT_NE(r.body.find("query"), std::string::npos) << r.body;
  }
  // Well-formed escapes are still decoded.
  EXPECT_EQ(Get("/healthz?x=%41%2b+b", "").status, 200);
  // The handler would have said 401 (no key) or 404 (no route): the server answers first.
  EXPECT_EQ(Get("/v1/account?x=%zz", "").status, 400);
  EXPECT_EQ(Get("/no/such/route?x=%", "").status, 400);

  // A correctly signed STOP is not processed when its URL's query is broken.
  const std::string phone = "+14155550501";
  ASSERT_EQ(
      TelnyxSigned(TelnyxEvent(phone, kNumberA, "dddddddd-0000-4000-8000-000000000501", "START"),
                   Now())
          .status,
      200);
  const HttpClientResponse r =
      TelnyxSigned(TelnyxEvent(phone, kNumberA, "dddddddd-0000-4000-8000-000000000502", "STOP"),
                   Now(), "/webhooks/telnyx?tenant=%zz");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_in");
  EXPECT_EQ(EventCount(phone), 1u);
  // The same STOP with a clean query goes through.
  EXPECT_EQ(
      TelnyxSigned(TelnyxEvent(phone, kNumberA, "dddddddd-0000-4000-8000-000000000502", "STOP"),
                   Now(), "/webhooks/telnyx?tenant=acme")
          .status,
      200);
  EXPECT_EQ(StatusOf(phone, kNumberA), "opted_out");
}

}  // namespace
}  // namespace smsconsent
