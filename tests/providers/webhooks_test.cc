// Inbound webhook formats and signature schemes of every provider. Expected signatures are
// built here, from the providers' documented recipes (the signed strings are spelled out
// literally) and OpenSSL directly, never by calling the code under test's signing paths.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t kNowS = 1700000000;
constexpr int64_t kNowMs = kNowS * 1000;

// ---- independent crypto, straight from OpenSSL -----------------------------------------

std::string OpenSslHmac(const EVP_MD* md, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string OpenSslDigest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string OpenSslBase64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Hex(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// ---- requests ----------------------------------------------------------------------------

WebhookRequest MakeRequest(std::string method, std::string url, Params headers = {},
                           std::string body = {}) {
  WebhookRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  const size_t scheme = r.url.find("://");
  const size_t path_start = r.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const std::string target = path_start == std::string::npos ? "/" : r.url.substr(path_start);
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) {
    auto parsed = ParseFormUrlEncoded(target.substr(q + 1));
    if (parsed.ok()) r.query = parsed.value();
  }
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

std::string FormBody(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += "&";
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

// A provider as these tests use it: Verify(request, settings, now) parses the request and
// verifies what Parse read, as the webhook service does; a request Parse refuses gets Parse's
// status.
class Checked {
 public:
  explicit Checked(const WebhookProvider& p) : p_(p) {}
  std::string_view name() const { return p_.name(); }
  Result<ParsedInbound> Parse(const WebhookRequest& request) const { return p_.Parse(request); }
  Status Verify(const WebhookRequest& request, const json& settings, int64_t now_ms) const {
    return Verdict(request, settings, now_ms).status();
  }
  Result<WebhookVerdict> Verdict(const WebhookRequest& request, const json& settings,
                                 int64_t now_ms) const {
    auto parsed = p_.Parse(request);
    if (!parsed.ok()) return parsed.status();
    return p_.Verify(request, *parsed, settings, now_ms);
  }
  bool RepliesInResponse() const { return p_.RepliesInResponse(); }
  WebhookResponse Respond(const std::vector<std::string>& replies) const {
    return p_.Respond(replies);
  }

 private:
  const WebhookProvider& p_;
};

Checked Provider(std::string_view name) {
  const WebhookProvider* p = FindWebhookProvider(name);
  EXPECT_NE(p, nullptr) << name;
  return Checked(*p);
}

// ---- shared helpers ----------------------------------------------------------------------

TEST(WebhookUtil, RegistryHoldsEveryProviderOnce) {
  std::vector<std::string> names;
  for (const auto& p : AllWebhookProviders()) names.emplace_back(p->name());
  EXPECT_EQ(names,
            (std::vector<std::string>{"twilio", "kannel", "vonage", "plivo", "telnyx", "generic"}));
  EXPECT_EQ(FindWebhookProvider("kannel")->name(), "kannel");
  EXPECT_EQ(FindWebhookProvider("nexmo"), nullptr);
}

TEST(WebhookUtil, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\xff\x00\x80", 3)}) {
    EXPECT_EQ(Base64Encode(s), OpenSslBase64(s));
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back.value(), s);
  }
  EXPECT_EQ(Base64Decode("Zm9vYg").value(), "foob");  // Padding is optional.
  EXPECT_FALSE(Base64Decode("Zm9v!mFy").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());
  EXPECT_FALSE(Base64Decode("Zg=").ok());
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8").value(), "\xfb\xff");
  EXPECT_FALSE(Base64UrlDecode("+/8").ok());
}

TEST(WebhookUtil, DigestsAndMacsMatchOpenSsl) {
  EXPECT_EQ(HmacSha1("k", "data"), OpenSslHmac(EVP_sha1(), "k", "data"));
  EXPECT_EQ(HmacSha256("k", "data"), OpenSslHmac(EVP_sha256(), "k", "data"));
  EXPECT_EQ(HmacMd5("k", "data"), OpenSslHmac(EVP_md5(), "k", "data"));
  EXPECT_EQ(HmacSha512("k", "data"), OpenSslHmac(EVP_sha512(), "k", "data"));
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// A thread keeps one keyed context per (digest, key) and restarts it for every message: the
// same key again, keys in turn, a key longer than the digest's block (hashed first) and the
// empty key give what a fresh HMAC gives, message after message.
TEST(WebhookUtil, MacsWithAReusedKeyMatchOpenSsl) {
  const std::string long_key(200, 'k');
  const std::vector<std::string> keys = {"tok", "other", long_key, "", "tok"};
  const std::vector<std::string> messages = {"", "a", std::string(1000, 'x'), "data", "a"};
  for (int round = 0; round < 3; ++round) {
    for (const std::string& key : keys) {
      for (const std::string& message : messages) {
        EXPECT_EQ(HmacSha1(key, message), OpenSslHmac(EVP_sha1(), key, message)) << key;
        EXPECT_EQ(HmacSha256(key, message), OpenSslHmac(EVP_sha256(), key, message)) << key;
      }
    }
  }
}

TEST(WebhookUtil, FormDecodingAndUrlEncoding) {
  auto p = ParseFormUrlEncoded("From=%2B4512345678&Body=Hello+w%C3%B8rld&&empty=&flag");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(
      p.value(),
      (Params{
          {"From", "+4512345678"}, {"Body", "Hello w\xc3\xb8rld"}, {"empty", ""}, {"flag", ""}}));
  EXPECT_FALSE(ParseFormUrlEncoded("a=%zz").ok());
  EXPECT_FALSE(ParseFormUrlEncoded("a=%4").ok());
  EXPECT_EQ(ParseFormUrlEncoded("a+b%3D=c%41++d%25&=v&k=").value(),
            (Params{{"a b=", "cA  d%"}, {"", "v"}, {"k", ""}}));
  EXPECT_EQ(ParseFormUrlEncoded("x=1&k%4=v").status().message(),
            "bad %-escape in form data: truncated");  // a %-escape must be whole before '='
  EXPECT_EQ(ParseFormUrlEncoded("x=%").status().message(), "bad %-escape in form data: truncated");
  EXPECT_EQ(ParseFormUrlEncoded("x=%41%g1").status().message(), "bad %-escape in form data");
  EXPECT_EQ(ParseFormUrlEncoded("%zz=%4").status().message(), "bad %-escape in form data");
  EXPECT_EQ(UrlEncode("a b+c/ø~"), "a%20b%2Bc%2F%C3%B8~");
}

TEST(WebhookUtil, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(WebhookUtil, UrlPortVariants) {
  EXPECT_EQ(
      UrlPortVariants("https://example.com/a?b=c"),
      (std::vector<std::string>{"https://example.com/a?b=c", "https://example.com:443/a?b=c"}));
  EXPECT_EQ(
      UrlPortVariants("http://u:p@example.com:8080/a"),
      (std::vector<std::string>{"http://u:p@example.com:8080/a", "http://u:p@example.com/a"}));
  EXPECT_EQ(UrlPortVariants("http://[::1]/x"),
            (std::vector<std::string>{"http://[::1]/x", "http://[::1]:80/x"}));
  EXPECT_EQ(UrlPortVariants("not a url"), (std::vector<std::string>{"not a url"}));
}

TEST(WebhookUtil, ConvertToUtf8) {
  EXPECT_EQ(ConvertToUtf8("HJ\xc6LP", "ISO-8859-1").value(), "HJ\xc3\x86LP");
  EXPECT_EQ(ConvertToUtf8(std::string("\x00\x48\x00\x4a\x00\xc6\x00\x4c\x00\x50", 10), "utf-16be")
                .value(),
            "HJ\xc3\x86LP");
  // A lone surrogate becomes U+FFFD instead of an error.
  EXPECT_EQ(ConvertToUtf8(std::string("\xd8\x00\x00\x41", 4), "UTF-16BE").value(),
            "\xef\xbf\xbd"
            "A");
  auto bad = ConvertToUtf8("x", "KLINGON-8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("KLINGON-8"), std::string::npos);
}

TEST(WebhookUtil, SettingsHelpers) {
  EXPECT_EQ(RequiredSetting(json{{"secret", "s"}}, "generic", "secret").value(), "s");
  for (const json& settings :
       {json(nullptr), json::object(), json{{"secret", ""}}, json{{"secret", 42}}, json::array()}) {
    auto r = RequiredSetting(settings, "generic", "secret");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("\"secret\""), std::string::npos);
  }
  EXPECT_EQ(ToleranceSeconds(json::object()), 300);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", 60}}), 60);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", -5}}), 300);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", 86400}}), 86400);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", INT64_MAX}}), 300);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", UINT64_MAX}}), 300);
  EXPECT_EQ(ToleranceSeconds(json{{"tolerance_seconds", "60"}}), 300);
}

TEST(WebhookUtil, RequestQueryParamsPrefersTheRawUrl) {
  WebhookRequest r;
  r.url = "https://h/p?a=1+2&b=%2B";
  r.query = {{"a", "wrong"}};
  EXPECT_EQ(RequestQueryParams(r), (Params{{"a", "1 2"}, {"b", "+"}}));
  r.url = "https://h/p";
  EXPECT_EQ(RequestQueryParams(r), (Params{{"a", "wrong"}}));
}

TEST(WebhookUtil, NoProviderCrashesOnGarbage) {
  const std::vector<std::string> bodies = {
      "", "{", "[]", "null", "\xff\xfe", "a=%zz", "{\"data\":[]}", "{\"data\":{\"event_type\":1}}"};
  for (const auto& p : AllWebhookProviders()) {
    for (const auto& body : bodies) {
      for (const char* method : {"GET", "POST"}) {
        auto req = MakeRequest(method, "https://h/webhooks/x?%zz",
                               {{"content-type", "application/json"},
                                {"x-twilio-signature", "%%%"},
                                {"authorization", "Bearer a.b.c"},
                                {"telnyx-signature-ed25519", "!!"},
                                {"telnyx-timestamp", "99999999999999999999"}},
                               body);
        auto parsed = p->Parse(req);
        if (!parsed.ok()) {
          EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
        }
        const Status st =
            Checked(*p).Verify(req,
                               json{{"auth_token", "t"},
                                    {"secret", "s"},
                                    {"signature_secret", "s"},
                                    {"public_key", OpenSslBase64(std::string(32, 'k'))}},
                               kNowMs);
        EXPECT_FALSE(st.ok()) << p->name() << " accepted garbage";
      }
    }
  }
}

// A JSON body nested far deeper than the reader allows is refused while it is read, before a
// provider copies or dumps any of it (either would recurse once per level).
TEST(WebhookUtil, JsonBodiesAreReadWithinTheLimits) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"vonage", R"({"message_uuid":"u","channel":"sms","status":)" + deep + "}"},
      {"vonage", R"({"msisdn":"1","to":"2","messageId":"m","text":"x","deep":)" + deep + "}"},
      {"telnyx", R"({"data":{"event_type":"message.received","payload":)" + deep + "}}"},
      {"generic", R"({"message_id":"m","from":"1","to":"2","body":"x","deep":)" + deep + "}"}};
  for (const auto& [name, body] : cases) {
    auto parsed = Provider(name).Parse(MakeRequest("POST", "https://h/webhooks/" + name,
                                                   {{"content-type", "application/json"}}, body));
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(parsed.status().message(), name + ": body: JSON nested deeper than 64 levels");
  }
}

TEST(WebhookUtil, EveryProviderNeedsItsSecret) {
  for (const auto& p : AllWebhookProviders()) {
    auto req = MakeRequest("POST", "https://h/webhooks/" + std::string(p->name()));
    for (const json& settings : {json::object(), json(nullptr), json{{"unrelated", "x"}}}) {
      const Status st = p->Verify(req, ParsedInbound(), settings, kNowMs).status();
      EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << p->name() << ": " << st.ToString();
    }
  }
}

// Form parameters are read from a body declared a form (or declared nothing), and from no
// other: the providers that sign form parameters would otherwise read an unsigned body.
TEST(WebhookUtil, OnlyAFormContentTypeIsAFormBody) {
  for (const char* form :
       {"", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded ;charset=UTF-8"}) {
    EXPECT_TRUE(IsFormBody(MakeRequest("POST", "https://h/", {{"content-type", form}}))) << form;
  }
  for (const char* other :
       {"text/plain", "application/json", "text/plain; x=application/x-www-form-urlencoded",
        "application/x-www-form-urlencodedx", "multipart/form-data; boundary=x"}) {
    EXPECT_FALSE(IsFormBody(MakeRequest("POST", "https://h/", {{"content-type", other}}))) << other;
  }
}

// ---- Twilio ------------------------------------------------------------------------------

constexpr char kTwilioUrl[] = "http://127.0.0.1:18080/sms/inbound?tenant=a";

WebhookRequest TwilioRequest(const std::string& url, const Params& params,
                             const std::string& signature) {
  Params headers = {{"content-type", "application/x-www-form-urlencoded"}};
  if (!signature.empty()) headers.emplace_back("x-twilio-signature", signature);
  return MakeRequest("POST", url, headers, FormBody(params));
}

// Twilio's documented recipe: base64(HMAC-SHA1(token, URL + the POST parameters sorted by
// name, each as name followed by value)).
std::string TwilioSig(const std::string& token, const std::string& url, Params params) {
  std::sort(params.begin(), params.end());
  std::string data = url;
  for (const auto& [name, value] : params) data += name + value;
  return OpenSslBase64(OpenSslHmac(EVP_sha1(), token, data));
}

const Params kTwilioParams = {{"From", "+15005550006"},
                              {"To", "+15551234567"},
                              {"Body", "STOP"},
                              {"MessageSid", "SM0123456789abcdef0123456789abcdef"}};

TEST(Twilio, MatchesTheOfficialTestVector) {
  // Twilio's own test vector has no MessageSid, so it is no inbound message Parse would accept;
  // Verify checks the parameters it is given as read.
  const Params vector = {{"From", "+15005550006"}, {"To", "+15551234567"}, {"Body", "STOP"}};
  const auto req = TwilioRequest(kTwilioUrl, vector, "HNEnT2ilP2ZEvqByAJdqhxWaEfU=");
  ParsedInbound read;
  read.source = WebhookSource::kForm;
  read.params = vector;
  EXPECT_TRUE(FindWebhookProvider("twilio")
                  ->Verify(req, read, json{{"auth_token", "secret"}}, kNowMs)
                  .ok());
  // The same value, computed here from the documented recipe.
  const std::string data = std::string(kTwilioUrl) + "BodySTOPFrom+15005550006To+15551234567";
  EXPECT_EQ(OpenSslBase64(OpenSslHmac(EVP_sha1(), "secret", data)), "HNEnT2ilP2ZEvqByAJdqhxWaEfU=");
  EXPECT_EQ(TwilioSig("secret", kTwilioUrl, vector), "HNEnT2ilP2ZEvqByAJdqhxWaEfU=");
  EXPECT_TRUE(Provider("twilio")
                  .Verify(TwilioRequest(kTwilioUrl, kTwilioParams,
                                        TwilioSig("secret", kTwilioUrl, kTwilioParams)),
                          json{{"auth_token", "secret"}}, kNowMs)
                  .ok());
}

// Verify checks the values Parse read, not a reading of its own: what reaches the message is
// what was signed.
TEST(Twilio, VerifiesExactlyTheValuesParseRead) {
  const WebhookProvider& twilio = *FindWebhookProvider("twilio");
  const json settings = {{"auth_token", "secret"}};
  const auto req =
      TwilioRequest(kTwilioUrl, kTwilioParams, TwilioSig("secret", kTwilioUrl, kTwilioParams));
  auto parsed = twilio.Parse(req);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->source, WebhookSource::kForm);
  EXPECT_EQ(parsed->params, kTwilioParams);
  EXPECT_TRUE(twilio.Verify(req, *parsed, settings, kNowMs).ok());
  ParsedInbound changed = *parsed;
  for (auto& [name, value] : changed.params) {
    if (name == "Body") value = "START";
  }
  EXPECT_EQ(twilio.Verify(req, changed, settings, kNowMs).status().code(),
            StatusCode::kPermissionDenied);
}

// Twilio's Messaging webhooks are forms: a body of any other type is not read at all (it would
// not be what the signature's parameters are).
TEST(Twilio, ABodyThatIsNotAFormIsRefused) {
  for (const char* type : {"application/json", "text/plain"}) {
    auto req = MakeRequest("POST", kTwilioUrl, {{"content-type", type}}, FormBody(kTwilioParams));
    auto in = Provider("twilio").Parse(req);
    ASSERT_FALSE(in.ok()) << type;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(in.status().message().find(type), std::string::npos) << in.status().message();
  }
  auto charset = MakeRequest("POST", kTwilioUrl,
                             {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                             FormBody(kTwilioParams));
  EXPECT_TRUE(Provider("twilio").Parse(charset).ok());
}

TEST(Twilio, ParsesAnInboundSms) {
  const Params params = {{"ToCountry", "US"},
                         {"SmsMessageSid", "SM1234567890abcdef1234567890abcdef"},
                         {"NumMedia", "0"},
                         {"SmsSid", "SM1234567890abcdef1234567890abcdef"},
                         {"SmsStatus", "received"},
                         {"Body", "Stop & go <now>"},
                         {"To", "+15551234567"},
                         {"NumSegments", "1"},
                         {"MessageSid", "SM1234567890abcdef1234567890abcdef"},
                         {"AccountSid", "AC00000000000000000000000000000000"},
                         {"From", "+15005550006"},
                         {"ApiVersion", "2010-04-01"}};
  auto in = Provider("twilio").Parse(TwilioRequest(kTwilioUrl, params, ""));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_FALSE(in->ignored);
  EXPECT_EQ(in->message_id, "SM1234567890abcdef1234567890abcdef");
  EXPECT_EQ(in->from, "+15005550006");
  EXPECT_EQ(in->to, "+15551234567");
  EXPECT_EQ(in->body, "Stop & go <now>");
}

TEST(Twilio, FallsBackToSmsSidAndReadsGetRequests) {
  auto req = MakeRequest("GET",
                         "https://h/webhooks/twilio?SmsSid=SM0123456789abcdef0123456789abcdef"
                         "&From=%2B1555&To=%2B1666&Body=hi");
  auto in = Provider("twilio").Parse(req);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "SM0123456789abcdef0123456789abcdef");
  EXPECT_EQ(in->from, "+1555");
  EXPECT_EQ(in->body, "hi");
}

TEST(Twilio, MissingFieldsAreNamed) {
  for (const char* field : {"From", "To", "Body", "MessageSid"}) {
    Params params = {{"MessageSid", "SM1"}, {"From", "+1555"}, {"To", "+1666"}, {"Body", "x"}};
    std::erase_if(params, [&](const auto& kv) { return kv.first == field; });
    auto in = Provider("twilio").Parse(TwilioRequest(kTwilioUrl, params, ""));
    ASSERT_FALSE(in.ok()) << field;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(in.status().message().find(field), std::string::npos) << in.status().message();
  }
  auto bad = Provider("twilio").Parse(MakeRequest("POST", kTwilioUrl, {}, "Body=%zz"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Twilio, StatusCallbacksAndWhatsAppAreIgnored) {
  auto status = Provider("twilio").Parse(TwilioRequest(
      kTwilioUrl,
      {{"MessageSid", "SM1"}, {"MessageStatus", "delivered"}, {"From", "+1666"}, {"To", "+1555"}},
      ""));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->ignored);
  EXPECT_NE(status->ignored_reason.find("delivered"), std::string::npos);
  EXPECT_EQ(status->to, "+1666");  // Our number, the sender of the reported message.
  auto wa = Provider("twilio").Parse(TwilioRequest(
      kTwilioUrl,
      {{"MessageSid", "SM2"}, {"From", "whatsapp:+1555"}, {"To", "whatsapp:+1666"}, {"Body", "x"}},
      ""));
  ASSERT_TRUE(wa.ok());
  EXPECT_TRUE(wa->ignored);
}

// Twilio's signature joins names and values without separators, so moving the boundary between
// two parameters keeps it valid. A request that can only be such a shift is refused before its
// message is read, however well it is signed.
TEST(Twilio, ParameterBoundaryShiftsAreRefused) {
  const json settings = {{"auth_token", "secret"}};
  const Params genuine = {{"ToCountry", "US"},
                          {"NumMedia", "0"},
                          {"NumSegments", "1"},
                          {"Body", "STOP Eating"},
                          {"To", "+15551234567"},
                          {"MessageSid", "SM0123456789abcdef0123456789abcdef"},
                          {"SmsSid", "SM0123456789abcdef0123456789abcdef"},
                          {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"},
                          {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
                          {"From", "+15005550006"},
                          {"FromCity", "BERKELEY"},
                          {"ApiVersion", "2010-04-01"}};
  const std::string sig = TwilioSig("secret", kTwilioUrl, genuine);
  ASSERT_TRUE(
      Provider("twilio").Verify(TwilioRequest(kTwilioUrl, genuine, sig), settings, kNowMs).ok());
  // Each shifted set signs the same string: `merge` joins a parameter onto the value before it
  // in signing order; `extra` adds a parameter.
  auto shifted = [&](std::string_view into, std::string_view merged,
                     std::optional<std::pair<std::string, std::string>> extra = std::nullopt) {
    Params out;
    std::string tail;
    for (const auto& [name, value] : genuine) {
      if (name == merged) tail = name + value;
    }
    for (const auto& [name, value] : genuine) {
      if (name == merged) continue;
      out.emplace_back(name, name == into ? value + tail : value);
    }
    if (extra) out.push_back(*extra);
    return out;
  };
  struct Case {
    const char* what;
    Params params;
    const char* named;  // what the refusal names
  };
  const std::vector<Case> cases = {
      {"a new message id", shifted("MessageSid", "MessagingServiceSid"), "MessageSid"},
      {"a longer sender", shifted("From", "FromCity"), "From"},
      {"a count with more", shifted("NumMedia", "NumSegments"), "NumMedia"},
      {"an account with the version", shifted("AccountSid", "ApiVersion"), "AccountSid"}};
  for (const Case& c : cases) {
    const auto req = TwilioRequest(kTwilioUrl, c.params, sig);
    ParsedInbound read;
    read.source = WebhookSource::kForm;
    read.params = c.params;
    EXPECT_TRUE(FindWebhookProvider("twilio")->Verify(req, read, settings, kNowMs).ok())
        << c.what << ": the signature still holds";
    auto in = Provider("twilio").Parse(req);
    ASSERT_FALSE(in.ok()) << c.what;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(in.status().message().find(c.named), std::string::npos) << in.status().message();
  }
  // "BodySTOP Eating" + "To…" also signs as Body "STOP " and a parameter "Eating" with no value:
  // a name Twilio does not send.
  Params split;
  for (const auto& [name, value] : genuine) {
    split.emplace_back(name, name == "Body" ? "STOP " : value);
  }
  split.emplace_back("Eating", "");
  EXPECT_EQ(TwilioSig("secret", kTwilioUrl, split), sig);
  auto in = Provider("twilio").Parse(TwilioRequest(kTwilioUrl, split, sig));
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("Eating"), std::string::npos) << in.status().message();
  // A parameter twice, and ids that disagree.
  Params twice = genuine;
  twice.emplace_back("Body", "START");
  EXPECT_EQ(Provider("twilio").Parse(TwilioRequest(kTwilioUrl, twice, "")).status().code(),
            StatusCode::kInvalidArgument);
  Params other_sid = genuine;
  other_sid[6].second = "SM00000000000000000000000000000000";
  EXPECT_EQ(Provider("twilio").Parse(TwilioRequest(kTwilioUrl, other_sid, "")).status().code(),
            StatusCode::kInvalidArgument);
  // Media parameters and every other documented name are fine.
  Params mms = genuine;
  mms.emplace_back("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1");
  mms.emplace_back("MediaContentType0", "image/jpeg");
  mms.emplace_back("OptOutType", "STOP");
  EXPECT_TRUE(Provider("twilio").Parse(TwilioRequest(kTwilioUrl, mms, "")).ok());
}

TEST(Twilio, MessageSidsMustBeTwilioSids) {
  for (const char* sid :
       {"SM1", "SMdel-1", "SM0123456789ABCDEF0123456789ABCDEF",
        "XX0123456789abcdef0123456789abcdef", "SM0123456789abcdef0123456789abcdef0", ""}) {
    Params params = kTwilioParams;
    params[3].second = sid;
    auto in = Provider("twilio").Parse(TwilioRequest(kTwilioUrl, params, ""));
    ASSERT_FALSE(in.ok()) << sid;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument) << sid;
  }
  Params mms = kTwilioParams;
  mms[3].second = "MM0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(Provider("twilio").Parse(TwilioRequest(kTwilioUrl, mms, "")).ok());
  // A GET is signed as the URL is written (no shift is possible), but its ids are checked too.
  EXPECT_EQ(Provider("twilio")
                .Parse(MakeRequest("GET", "https://h/t?SmsSid=SMx&From=%2B1555&To=%2B1666&Body=hi"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(Twilio, TamperingDenies) {
  const json settings = {{"auth_token", "secret"}};
  const std::string sig = TwilioSig("secret", kTwilioUrl, kTwilioParams);
  Params tampered = kTwilioParams;
  tampered[2].second = "STOQ";
  EXPECT_EQ(
      Provider("twilio").Verify(TwilioRequest(kTwilioUrl, tampered, sig), settings, kNowMs).code(),
      StatusCode::kPermissionDenied);
  Params extra = kTwilioParams;
  extra.emplace_back("NumMedia", "0");
  EXPECT_FALSE(
      Provider("twilio").Verify(TwilioRequest(kTwilioUrl, extra, sig), settings, kNowMs).ok());
  EXPECT_FALSE(
      Provider("twilio")
          .Verify(TwilioRequest("http://127.0.0.1:18080/sms/inbound?tenant=b", kTwilioParams, sig),
                  settings, kNowMs)
          .ok());
  EXPECT_FALSE(Provider("twilio")
                   .Verify(TwilioRequest(kTwilioUrl, kTwilioParams, sig),
                           json{{"auth_token", "secreT"}}, kNowMs)
                   .ok());
  std::string flipped = sig;
  flipped[3] = 'F';
  EXPECT_FALSE(Provider("twilio")
                   .Verify(TwilioRequest(kTwilioUrl, kTwilioParams, flipped), settings, kNowMs)
                   .ok());
}

TEST(Twilio, MissingOrGarbageSignatureDenies) {
  const json settings = {{"auth_token", "secret"}};
  const Status missing =
      Provider("twilio").Verify(TwilioRequest(kTwilioUrl, kTwilioParams, ""), settings, kNowMs);
  EXPECT_EQ(missing.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(missing.message().find("X-Twilio-Signature"), std::string::npos);
  for (const std::string& garbage :
       std::vector<std::string>{"%%%", "====", "a", std::string(500, 'A')}) {
    EXPECT_EQ(Provider("twilio")
                  .Verify(TwilioRequest(kTwilioUrl, kTwilioParams, garbage), settings, kNowMs)
                  .code(),
              StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(Provider("twilio")
                .Verify(TwilioRequest(kTwilioUrl, kTwilioParams, "x"), json::object(), kNowMs)
                .code(),
            StatusCode::kFailedPrecondition);
}

TEST(Twilio, AcceptsTheUrlSignedWithOrWithoutTheDefaultPort) {
  const json settings = {{"auth_token", "tok"}};
  const std::string params =
      "BodySTOPFrom+15005550006MessageSidSM0123456789abcdef0123456789abcdefTo+15551234567";
  const std::string with_port = "https://sms.example.com:443/webhooks/twilio";
  const std::string without_port = "https://sms.example.com/webhooks/twilio";
  const std::string sig_with = OpenSslBase64(OpenSslHmac(EVP_sha1(), "tok", with_port + params));
  const std::string sig_without =
      OpenSslBase64(OpenSslHmac(EVP_sha1(), "tok", without_port + params));
  for (const auto& url : {with_port, without_port}) {
    for (const auto& sig : {sig_with, sig_without}) {
      EXPECT_TRUE(
          Provider("twilio").Verify(TwilioRequest(url, kTwilioParams, sig), settings, kNowMs).ok())
          << url << " " << sig;
    }
  }
  // A non-default port is part of what Twilio signed.
  const std::string other = "https://sms.example.com:8443/webhooks/twilio";
  EXPECT_TRUE(
      Provider("twilio")
          .Verify(TwilioRequest(other, kTwilioParams,
                                OpenSslBase64(OpenSslHmac(EVP_sha1(), "tok", other + params))),
                  settings, kNowMs)
          .ok());
}

TEST(Twilio, RespondsWithEscapedTwiml) {
  const auto& twilio = Provider("twilio");
  EXPECT_TRUE(twilio.RepliesInResponse());
  const WebhookResponse none = twilio.Respond({});
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.content_type, "application/xml");
  EXPECT_EQ(none.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
  const WebhookResponse one = twilio.Respond({"Tom & Jerry <say> \"hi\" 'now'", "Bye\x01"});
  EXPECT_EQ(one.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
            "<Message>Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; &apos;now&apos;</Message>"
            "<Message>Bye</Message></Response>");
}

// ---- message ids -------------------------------------------------------------------------

TEST(WebhookUtil, MessageIdFormats) {
  EXPECT_TRUE(IsUuid("2f3e5b6a-0000-4000-8000-00000000abcd"));
  EXPECT_TRUE(IsUuid("2F3E5B6A-0000-4000-8000-00000000ABCD"));
  for (const char* bad :
       {"", "u", "2f3e5b6a-0000-4000-8000-00000000abc", "2f3e5b6a-0000-4000-8000-00000000abcdX",
        "2f3e5b6a00000-4000-8000-0000000abcd", "2f3e5b6a-0000-4000-8000-00000000abcg"}) {
    EXPECT_FALSE(IsUuid(bad)) << bad;
  }
  EXPECT_TRUE(IsTwilioSid("SM0123456789abcdef0123456789abcdef", "SM"));
  EXPECT_FALSE(IsTwilioSid("SM0123456789abcdef0123456789abcdef", "MM"));
  EXPECT_FALSE(IsTwilioSid("SM0123456789abcdef0123456789abcdeF", "SM"));
  EXPECT_TRUE(IsPrintableId("0b5e5e5e-1111-2222-3333-444455556666"));
  EXPECT_TRUE(IsPrintableId(std::string(kMaxMessageIdBytes, 'a')));
  for (const std::string& bad :
       {std::string(), std::string(kMaxMessageIdBytes + 1, 'a'), std::string("a b"),
        std::string("a\nb"), std::string("caf\xc3\xa9")}) {
    EXPECT_FALSE(IsPrintableId(bad)) << bad;
  }
}

// A provider's message id is the idempotency key of what it delivers: one that is not of the
// provider's form is refused, not taken as a new message.
TEST(WebhookUtil, EveryProviderRefusesAMessageIdNotOfItsForm) {
  const std::string long_id(kMaxMessageIdBytes + 1, '1');
  Params plivo = {
      {"From", "14155551234"}, {"To", "14155556789"}, {"Text", "STOP"}, {"MessageUUID", "u-1"}};
  json telnyx = {{"data",
                  {{"event_type", "message.received"},
                   {"payload",
                    {{"id", "7ee4241c"},
                     {"from", {{"phone_number", "+18665550001"}}},
                     {"to", json::array({{{"phone_number", "+18445550001"}}})},
                     {"text", "STOP"}}}}}};
  json messages = {{"channel", "sms"},
                   {"message_uuid", "u-1"},
                   {"from", "447700900001"},
                   {"to", "447700900000"},
                   {"text", "STOP"}};
  const std::vector<std::pair<std::string, WebhookRequest>> requests = {
      {"plivo",
       MakeRequest("POST", "https://h/p", {{"content-type", "application/x-www-form-urlencoded"}},
                   FormBody(plivo))},
      {"telnyx",
       MakeRequest("POST", "https://h/t", {{"content-type", "application/json"}}, telnyx.dump())},
      {"vonage",
       MakeRequest("POST", "https://h/v", {{"content-type", "application/json"}}, messages.dump())},
      {"vonage", MakeRequest("GET",
                             "https://h/v?msisdn=447700900001&to=447700900000&text=STOP"
                             "&messageId=0A00-0001")},
      {"vonage", MakeRequest("GET",
                             "https://h/v?msisdn=447700900001&to=447700900000&text=STOP"
                             "&messageId=" +
                                 std::string(41, 'A'))},
      {"vonage", MakeRequest("GET",
                             "https://h/v?msisdn=447700900001&to=447700900000&text=STOP"
                             "&messageId=0A01&x%26timestamp%3D1=2")},
      {"kannel", MakeRequest("GET", "https://h/k?from=1&to=2&text=STOP&id=a%20b")},
      {"kannel", MakeRequest("GET", "https://h/k?from=1&to=2&text=STOP&id=" + long_id)},
      {"generic",
       MakeRequest(
           "POST", "https://h/g", {{"content-type", "application/json"}},
           json{{"message_id", "m\n1"}, {"from", "+1"}, {"to", "+2"}, {"body", "x"}}.dump())},
      {"generic",
       MakeRequest(
           "POST", "https://h/g", {{"content-type", "application/json"}},
           json{{"message_id", long_id}, {"from", "+1"}, {"to", "+2"}, {"body", "x"}}.dump())}};
  for (const auto& [provider, request] : requests) {
    auto in = Provider(provider).Parse(request);
    ASSERT_FALSE(in.ok()) << provider << " " << request.url << request.body;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument) << provider;
    EXPECT_NE(in.status().message().find(" is not "), std::string::npos)
        << provider << ": " << in.status().message();
  }
}

// ---- Kannel ------------------------------------------------------------------------------

TEST(Kannel, ParsesTheRecommendedGetUrl) {
  auto req = MakeRequest(
      "GET",
      "http://127.0.0.1:8080/webhooks/kannel?secret=S&from=%2B4512345678&to=1234&text=Stop+please"
      "&charset=UTF-8&coding=0&id=0b5e5e5e-1111-2222-3333-444455556666");
  auto in = Provider("kannel").Parse(req);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "0b5e5e5e-1111-2222-3333-444455556666");
  EXPECT_EQ(in->from, "+4512345678");
  EXPECT_EQ(in->to, "1234");
  EXPECT_EQ(in->body, "Stop please");
}

TEST(Kannel, DecodesUcs2AndLatin1) {
  // "AFMELD" and "HJÆLP" as UTF-16BE, the way %b escapes the raw UCS-2 bytes.
  auto ucs2 = Provider("kannel").Parse(
      MakeRequest("GET",
                  "http://h/webhooks/kannel?from=4512345678&to=1234&coding=2&charset=UTF-16BE&id=1"
                  "&text=%00A%00F%00M%00E%00L%00D"));
  ASSERT_TRUE(ucs2.ok()) << ucs2.status().ToString();
  EXPECT_EQ(ucs2->body, "AFMELD");
  auto hjaelp = Provider("kannel").Parse(
      MakeRequest("GET",
                  "http://h/webhooks/kannel?from=4512345678&to=1234&coding=2&id=2"
                  "&text=%00H%00J%00%C6%00L%00P"));  // No charset: coding 2 alone means UTF-16BE.
  ASSERT_TRUE(hjaelp.ok()) << hjaelp.status().ToString();
  EXPECT_EQ(hjaelp->body, "HJ\xc3\x86LP");
  auto latin1 = Provider("kannel").Parse(MakeRequest(
      "GET",
      "http://h/webhooks/kannel?from=4512345678&to=1234&coding=0&charset=ISO-8859-1&id=3"
      "&text=HJ%C6LP"));
  ASSERT_TRUE(latin1.ok());
  EXPECT_EQ(latin1->body, "HJ\xc3\x86LP");
  // mo-recode: a UCS-2 message recoded by smsbox arrives as charset UTF-8.
  auto recoded = Provider("kannel").Parse(MakeRequest(
      "GET", "http://h/webhooks/kannel?from=1&to=2&coding=2&charset=UTF-8&id=4&text=HJ%C3%86LP"));
  ASSERT_TRUE(recoded.ok());
  EXPECT_EQ(recoded->body, "HJ\xc3\x86LP");
  // No charset and not UTF-8: older smsbox versions hand over Latin-1.
  auto undeclared = Provider("kannel").Parse(
      MakeRequest("GET", "http://h/webhooks/kannel?from=1&to=2&id=5&text=HJ%C6LP"));
  ASSERT_TRUE(undeclared.ok());
  EXPECT_EQ(undeclared->body, "HJ\xc3\x86LP");
  auto unknown = Provider("kannel").Parse(
      MakeRequest("GET", "http://h/webhooks/kannel?from=1&to=2&id=6&charset=KLINGON&text=x"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("charset"), std::string::npos);
}

TEST(Kannel, ParsesKannelsOwnPostWithHeaders) {
  const std::string body("\x00H\x00J\x00\xc6\x00L\x00P", 10);
  auto req = MakeRequest("POST", "http://h/webhooks/kannel?secret=S&id=abc",
                         {{"content-type", "text/plain; charset=\"UTF-16BE\""},
                          {"x-kannel-from", "+4512345678"},
                          {"x-kannel-to", "1234"},
                          {"x-kannel-coding", "2"},
                          {"x-kannel-time", "2026-11-29 10:00:00"},
                          {"x-kannel-service", "smsconsent"}},
                         body);
  auto in = Provider("kannel").Parse(req);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "abc");
  EXPECT_EQ(in->from, "+4512345678");
  EXPECT_EQ(in->to, "1234");
  EXPECT_EQ(in->body, "HJ\xc3\x86LP");

  // Without send-sender = true Kannel leaves out X-Kannel-From: say so.
  auto no_from = Provider("kannel").Parse(
      MakeRequest("POST", "http://h/webhooks/kannel?id=abc", {{"x-kannel-to", "1234"}}, "STOP"));
  ASSERT_FALSE(no_from.ok());
  EXPECT_NE(no_from.status().message().find("X-Kannel-From"), std::string::npos);
  EXPECT_NE(no_from.status().message().find("send-sender"), std::string::npos);
}

TEST(Kannel, ParsesAFormPost) {
  auto req = MakeRequest("POST", "http://h/webhooks/kannel?secret=S",
                         {{"content-type", "application/x-www-form-urlencoded"}},
                         "from=%2B4512345678&to=1234&text=STOP&id=xyz&charset=UTF-8");
  auto in = Provider("kannel").Parse(req);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "xyz");
  EXPECT_EQ(in->body, "STOP");
}

TEST(Kannel, DerivesAnIdFromTheTimestampWhenIdIsAbsent) {
  const std::string base = "http://h/webhooks/kannel?from=%2B4512345678&to=1234&smsc=fake";
  auto a = Provider("kannel").Parse(MakeRequest("GET", base + "&text=STOP&ts=1700000000"));
  auto again = Provider("kannel").Parse(MakeRequest("GET", base + "&text=STOP&ts=1700000000"));
  auto later = Provider("kannel").Parse(MakeRequest("GET", base + "&text=STOP&ts=1700000060"));
  ASSERT_TRUE(a.ok() && again.ok() && later.ok());
  EXPECT_EQ(a->message_id.rfind("kannel-", 0), 0u);
  EXPECT_EQ(a->message_id, again->message_id);
  EXPECT_NE(a->message_id, later->message_id);
  auto none = Provider("kannel").Parse(MakeRequest("GET", base + "&text=STOP"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("id=%I"), std::string::npos);
}

TEST(Kannel, MissingFieldsAreNamed) {
  for (const auto& [url, field] :
       std::vector<std::pair<std::string, std::string>>{{"http://h/k?to=1&text=x&id=1", "from"},
                                                        {"http://h/k?from=1&text=x&id=1", "to"},
                                                        {"http://h/k?from=1&to=2&id=1", "text"}}) {
    auto in = Provider("kannel").Parse(MakeRequest("GET", url));
    ASSERT_FALSE(in.ok()) << url;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(in.status().message().find(field), std::string::npos) << in.status().message();
  }
}

TEST(Kannel, SharedSecretInTheUrlOrAHeader) {
  const json settings = {{"secret", "s3cret"}};
  const auto& kannel = Provider("kannel");
  const std::string message = "http://h/k?from=1&to=2&text=STOP&id=abc";
  EXPECT_TRUE(kannel.Verify(MakeRequest("GET", message + "&secret=s3cret"), settings, kNowMs).ok());
  EXPECT_TRUE(kannel
                  .Verify(MakeRequest("POST", "http://h/k?id=abc",
                                      {{"x-smsconsent-secret", "s3cret"},
                                       {"x-kannel-to", "2"},
                                       {"x-kannel-from", "1"}},
                                      "STOP"),
                          settings, kNowMs)
                  .ok());
  EXPECT_EQ(kannel.Verify(MakeRequest("GET", message + "&secret=s3creT"), settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  const Status missing = kannel.Verify(MakeRequest("GET", message), settings, kNowMs);
  EXPECT_EQ(missing.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(missing.message().find("secret"), std::string::npos);
  EXPECT_EQ(
      kannel.Verify(MakeRequest("GET", message + "&secret=s3cret"), json::object(), kNowMs).code(),
      StatusCode::kFailedPrecondition);
}

TEST(Kannel, RepliesInThePlainTextBody) {
  const auto& kannel = Provider("kannel");
  EXPECT_TRUE(kannel.RepliesInResponse());
  const WebhookResponse none = kannel.Respond({});
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "");
  EXPECT_EQ(none.content_type, "text/plain; charset=utf-8");
  EXPECT_TRUE(none.headers.empty());
  const WebhookResponse gsm =
      kannel.Respond({"Du er afmeldt. Svar START for at tilmelde dig igen."});
  EXPECT_EQ(gsm.body, "Du er afmeldt. Svar START for at tilmelde dig igen.");
  EXPECT_TRUE(gsm.headers.empty());  // "æøå" would be GSM-7 too; this needs no UCS-2.
  const WebhookResponse emoji = kannel.Respond({"Thanks \xf0\x9f\x91\x8d", "Second"});
  EXPECT_EQ(emoji.body, "Thanks \xf0\x9f\x91\x8d\nSecond");
  EXPECT_EQ(emoji.headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Kannel-Coding", "2"}}));
}

// ---- Vonage ------------------------------------------------------------------------------

// An inbound SMS as the SMS API documents it, with signed-webhook fields.
Params VonageInbound() {
  return {{"api-key", "abcd1234"},     {"msisdn", "447700900001"},
          {"to", "447700900000"},      {"messageId", "0A0000000123ABCD1"},
          {"text", "Hello world"},     {"type", "text"},
          {"keyword", "HELLO"},        {"message-timestamp", "2023-11-14 22:13:20"},
          {"timestamp", "1700000000"}, {"nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}};
}

// The documented signing input for VonageInbound(), spelled out: sorted by name, "&k=v".
constexpr char kVonageSigned[] =
    "&api-key=abcd1234&keyword=HELLO&message-timestamp=2023-11-14 22:13:20"
    "&messageId=0A0000000123ABCD1&msisdn=447700900001"
    "&nonce=aaaaaaaa-bbbb-cccc-dddd-0123456789ab&text=Hello world&timestamp=1700000000"
    "&to=447700900000&type=text";

TEST(Vonage, ParsesAnSmsApiInboundMessage) {
  auto in = Provider("vonage").Parse(MakeRequest(
      "POST", "https://h/webhooks/vonage", {{"content-type", "application/x-www-form-urlencoded"}},
      FormBody(VonageInbound())));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "0A0000000123ABCD1");
  EXPECT_EQ(in->from, "+447700900001");  // Vonage leaves out the '+'.
  EXPECT_EQ(in->to, "+447700900000");
  EXPECT_EQ(in->body, "Hello world");

  auto short_code = Provider("vonage").Parse(MakeRequest(
      "GET", "https://h/webhooks/vonage?msisdn=447700900001&to=12345&messageId=m&text=STOP"));
  ASSERT_TRUE(short_code.ok());
  EXPECT_EQ(short_code->to, "12345");
}

TEST(Vonage, Md5HashSignature) {
  const std::string secret = "sig-secret";
  Params params = VonageInbound();
  params.emplace_back("sig", Hex(OpenSslDigest(EVP_md5(), std::string(kVonageSigned) + secret)));
  const json settings = {{"signature_secret", secret}};  // md5hash is the default method.
  const auto& vonage = Provider("vonage");
  auto form =
      MakeRequest("POST", "https://h/webhooks/vonage",
                  {{"content-type", "application/x-www-form-urlencoded"}}, FormBody(params));
  EXPECT_TRUE(vonage.Verify(form, settings, kNowMs).ok());
  // The same parameters as a GET query, and as POST-JSON.
  EXPECT_TRUE(vonage
                  .Verify(MakeRequest("GET", "https://h/webhooks/vonage?" + FormBody(params)),
                          settings, kNowMs)
                  .ok());
  json doc = json::object();
  for (const auto& [k, v] : params) doc[k] = v;
  EXPECT_TRUE(vonage
                  .Verify(MakeRequest("POST", "https://h/webhooks/vonage",
                                      {{"content-type", "application/json"}}, doc.dump()),
                          settings, kNowMs)
                  .ok());
  // Upper-case hex is the same signature.
  Params upper = params;
  for (char& c : upper.back().second) c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(vonage
                  .Verify(MakeRequest("GET", "https://h/webhooks/vonage?" + FormBody(upper)),
                          settings, kNowMs)
                  .ok());
  // Tampering with the text denies.
  Params tampered = params;
  tampered[4].second = "Hello worle";
  EXPECT_EQ(vonage
                .Verify(MakeRequest("GET", "https://h/webhooks/vonage?" + FormBody(tampered)),
                        settings, kNowMs)
                .code(),
            StatusCode::kPermissionDenied);
}

TEST(Vonage, Sha256HmacSignatureReplacesAmpersandAndEquals) {
  const std::string secret = "hmac-secret";
  Params params = {{"msisdn", "447700900001"}, {"to", "447700900000"}, {"messageId", "m1"},
                   {"text", "STOP=now&then"},  {"type", "text"},       {"timestamp", "1700000100"}};
  const std::string signed_string =
      "&messageId=m1&msisdn=447700900001&text=STOP_now_then&timestamp=1700000100"
      "&to=447700900000&type=text";
  params.emplace_back("sig", Hex(OpenSslHmac(EVP_sha256(), secret, signed_string)));
  const auto req = MakeRequest("GET", "https://h/webhooks/vonage?" + FormBody(params));
  EXPECT_TRUE(
      Provider("vonage")
          .Verify(req, json{{"signature_secret", secret}, {"signature_method", "sha256"}}, kNowMs)
          .ok());
  EXPECT_TRUE(Provider("vonage")
                  .Verify(req,
                          json{{"signature_secret", secret}, {"signature_method", "SHA256HMAC"}},
                          kNowMs)
                  .ok());
  // The wrong method or secret denies; an unknown method is a configuration error.
  EXPECT_EQ(
      Provider("vonage")
          .Verify(req, json{{"signature_secret", secret}, {"signature_method", "sha512"}}, kNowMs)
          .code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Provider("vonage")
          .Verify(req, json{{"signature_secret", "x"}, {"signature_method", "sha256"}}, kNowMs)
          .code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Provider("vonage")
          .Verify(req, json{{"signature_secret", secret}, {"signature_method", "crc32"}}, kNowMs)
          .code(),
      StatusCode::kFailedPrecondition);
}

TEST(Vonage, OtherHmacMethods) {
  const std::string secret = "k";
  const std::string signed_string = "&messageId=m&msisdn=1&text=x&timestamp=1700000000&to=2";
  const std::vector<std::pair<std::string, const EVP_MD*>> methods = {
      {"md5", EVP_md5()}, {"sha1", EVP_sha1()}, {"sha512", EVP_sha512()}};
  for (const auto& [method, md] : methods) {
    const std::string url =
        "https://h/v?msisdn=1&to=2&messageId=m&text=x&timestamp=1700000000&sig=" +
        Hex(OpenSslHmac(md, secret, signed_string));
    EXPECT_TRUE(Provider("vonage")
                    .Verify(MakeRequest("GET", url),
                            json{{"signature_secret", secret}, {"signature_method", method}},
                            kNowMs)
                    .ok())
        << method;
  }
}

TEST(Vonage, MissingSignatureOrStaleTimestampDenies) {
  const json settings = {{"signature_secret", "s"}};
  const Status unsigned_req = Provider("vonage").Verify(
      MakeRequest("GET", "https://h/v?" + FormBody(VonageInbound())), settings, kNowMs);
  EXPECT_EQ(unsigned_req.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(unsigned_req.message().find("sig"), std::string::npos);

  Params params = VonageInbound();
  params.emplace_back("sig", Hex(OpenSslDigest(EVP_md5(), std::string(kVonageSigned) + "s")));
  const auto req = MakeRequest("GET", "https://h/v?" + FormBody(params));
  EXPECT_TRUE(Provider("vonage").Verify(req, settings, kNowMs + 299'000).ok());
  EXPECT_EQ(Provider("vonage").Verify(req, settings, kNowMs + 301'000).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Provider("vonage").Verify(req, settings, kNowMs - 301'000).code(),
            StatusCode::kPermissionDenied);
}

TEST(Vonage, DeliveryReceiptsAreIgnored) {
  auto in = Provider("vonage").Parse(MakeRequest(
      "GET",
      "https://h/v?msisdn=447700900001&to=AcmeInc&network-code=12345&messageId=m&price=0.03"
      "&status=delivered&scts=2001011400&err-code=0&message-timestamp=2020-01-01+12%3A00%3A00"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(in->ignored);
}

// ---- Vonage Messages API -----------------------------------------------------------------

std::string Jwt(const json& header, const json& claims, const std::string& secret) {
  const std::string signing_input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  return signing_input + "." + Base64UrlEncode(OpenSslHmac(EVP_sha256(), secret, signing_input));
}

const char kMessagesBody[] =
    "{\"channel\":\"sms\",\"message_uuid\":\"aaaaaaaa-bbbb-cccc-dddd-0123456789ab\","
    "\"to\":\"447700900000\",\"from\":\"447700900001\",\"timestamp\":\"2023-11-14T22:13:20Z\","
    "\"text\":\"Stop\",\"sms\":{\"num_messages\":\"1\",\"keyword\":\"STOP\"},"
    "\"message_type\":\"text\"}";

WebhookRequest MessagesRequest(const std::string& body, const std::string& token) {
  return MakeRequest("POST", "https://h/webhooks/vonage",
                     {{"content-type", "application/json"}, {"authorization", "Bearer " + token}},
                     body);
}

json MessagesClaims(const std::string& body, int64_t iat) {
  return {{"iat", iat},
          {"jti", "c3a2d1e4-0000-1111-2222-333344445555"},
          {"iss", "Vonage"},
          {"payload_hash", Hex(OpenSslDigest(EVP_sha256(), body))},
          {"api_key", "abcd1234"},
          {"application_id", "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"}};
}

TEST(VonageMessages, ParsesAnInboundSms) {
  auto in = Provider("vonage").Parse(MessagesRequest(kMessagesBody, "x"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "aaaaaaaa-bbbb-cccc-dddd-0123456789ab");
  EXPECT_EQ(in->from, "+447700900001");
  EXPECT_EQ(in->to, "+447700900000");
  EXPECT_EQ(in->body, "Stop");
  auto whatsapp =
      Provider("vonage").Parse(MessagesRequest("{\"channel\":\"whatsapp\",\"message_uuid\":\"u\","
                                               "\"to\":\"1\",\"from\":\"2\",\"text\":\"x\"}",
                                               "x"));
  ASSERT_TRUE(whatsapp.ok());
  EXPECT_TRUE(whatsapp->ignored);
  auto no_text = Provider("vonage").Parse(MessagesRequest(
      "{\"channel\":\"sms\",\"message_uuid\":\"u\",\"to\":\"1\",\"from\":\"2\"}", "x"));
  ASSERT_FALSE(no_text.ok());
  EXPECT_NE(no_text.status().message().find("text"), std::string::npos);
}

TEST(VonageMessages, VerifiesTheJwtAndPayloadHash) {
  const std::string secret = "messages-signature-secret";
  const json settings = {{"signature_secret", secret}};
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  const std::string token = Jwt(header, MessagesClaims(kMessagesBody, kNowS), secret);
  EXPECT_TRUE(
      Provider("vonage").Verify(MessagesRequest(kMessagesBody, token), settings, kNowMs).ok());

  // A body changed in transit no longer matches payload_hash.
  std::string tampered = kMessagesBody;
  tampered[tampered.find("Stop")] = 's';
  EXPECT_EQ(Provider("vonage").Verify(MessagesRequest(tampered, token), settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  // Signed with another secret.
  EXPECT_EQ(Provider("vonage")
                .Verify(MessagesRequest(kMessagesBody,
                                        Jwt(header, MessagesClaims(kMessagesBody, kNowS), "other")),
                        settings, kNowMs)
                .code(),
            StatusCode::kPermissionDenied);
  // Too old.
  EXPECT_EQ(
      Provider("vonage")
          .Verify(MessagesRequest(kMessagesBody,
                                  Jwt(header, MessagesClaims(kMessagesBody, kNowS - 301), secret)),
                  settings, kNowMs)
          .code(),
      StatusCode::kPermissionDenied);
  // An absurd iat is a denial (and no overflow).
  for (const int64_t iat : {INT64_MIN, INT64_MAX, int64_t{0}}) {
    EXPECT_EQ(Provider("vonage")
                  .Verify(MessagesRequest(kMessagesBody,
                                          Jwt(header, MessagesClaims(kMessagesBody, iat), secret)),
                          settings, kNowMs)
                  .code(),
              StatusCode::kPermissionDenied);
  }
  // alg "none" and a missing payload_hash are refused.
  json no_hash = MessagesClaims(kMessagesBody, kNowS);
  no_hash.erase("payload_hash");
  EXPECT_FALSE(
      Provider("vonage")
          .Verify(MessagesRequest(kMessagesBody, Jwt(header, no_hash, secret)), settings, kNowMs)
          .ok());
  const std::string none_token = Base64UrlEncode("{\"alg\":\"none\"}") + "." +
                                 Base64UrlEncode(MessagesClaims(kMessagesBody, kNowS).dump()) + ".";
  EXPECT_FALSE(
      Provider("vonage").Verify(MessagesRequest(kMessagesBody, none_token), settings, kNowMs).ok());
  // Claims nested past the reader's depth limit, however well signed, are unreadable.
  const std::string deep_claims = "{\"iat\":" + std::to_string(kNowS) +
                                  ",\"x\":" + std::string(10'000, '[') + std::string(10'000, ']') +
                                  "}";
  const std::string deep_input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(deep_claims);
  const std::string deep_token = deep_input + "." + Base64UrlEncode(HmacSha256(secret, deep_input));
  EXPECT_EQ(Provider("vonage")
                .Verify(MessagesRequest(kMessagesBody, deep_token), settings, kNowMs)
                .message(),
            "vonage: JWT claims are not a JSON object");
  // One flipped character in the signature.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(
      Provider("vonage").Verify(MessagesRequest(kMessagesBody, flipped), settings, kNowMs).ok());
}

// ---- Plivo -------------------------------------------------------------------------------

const Params kPlivoParams = {{"From", "14155551234"},
                             {"To", "14155556789"},
                             {"Type", "sms"},
                             {"Text", "STOP"},
                             {"MessageUUID", "2f3e5b6a-0000-4000-8000-00000000abcd"}};
constexpr char kPlivoNonce[] = "05429567804466091622";

WebhookRequest PlivoRequest(const std::string& url, const Params& params, Params headers) {
  headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  return MakeRequest("POST", url, std::move(headers), FormBody(params));
}

std::string PlivoV3(const std::string& token, const std::string& signed_url) {
  return OpenSslBase64(OpenSslHmac(EVP_sha256(), token, signed_url + "." + kPlivoNonce));
}

TEST(Plivo, ParsesAnInboundMessage) {
  auto in = Provider("plivo").Parse(PlivoRequest("https://h/webhooks/plivo", kPlivoParams, {}));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "2f3e5b6a-0000-4000-8000-00000000abcd");
  EXPECT_EQ(in->from, "+14155551234");
  EXPECT_EQ(in->to, "+14155556789");
  EXPECT_EQ(in->body, "STOP");
  for (const char* field : {"From", "To", "Text", "MessageUUID"}) {
    Params params = kPlivoParams;
    std::erase_if(params, [&](const auto& kv) { return kv.first == field; });
    auto missing = Provider("plivo").Parse(PlivoRequest("https://h/p", params, {}));
    ASSERT_FALSE(missing.ok()) << field;
    EXPECT_NE(missing.status().message().find(field), std::string::npos);
  }
  auto status = Provider("plivo").Parse(PlivoRequest(
      "https://h/p", {{"MessageUUID", "u"}, {"Status", "delivered"}, {"From", "1"}, {"To", "2"}},
      {}));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->ignored);
}

TEST(Plivo, SignatureV3OverUrlQueryAndSortedPostParams) {
  const std::string token = "plivo-auth-token";
  const json settings = {{"auth_token", token}};
  // With a query string: sorted query, ".", then the sorted POST parameters as name+value.
  const std::string url = "https://sms.example.com/webhooks/plivo?tenant=a&b=2";
  const std::string signed_with_query =
      "https://sms.example.com/webhooks/plivo?b=2&tenant=a."
      "From14155551234MessageUUID2f3e5b6a-0000-4000-8000-00000000abcdTextSTOPTo14155556789Typesms";
  auto req = PlivoRequest(url, kPlivoParams,
                          {{"x-plivo-signature-v3", PlivoV3(token, signed_with_query)},
                           {"x-plivo-signature-v3-nonce", kPlivoNonce}});
  EXPECT_TRUE(Provider("plivo").Verify(req, settings, kNowMs).ok());

  // Without a query string the URL ends in "?" before the parameters.
  const std::string plain = "https://sms.example.com/webhooks/plivo";
  const std::string signed_plain =
      "https://sms.example.com/webhooks/plivo?"
      "From14155551234MessageUUID2f3e5b6a-0000-4000-8000-00000000abcdTextSTOPTo14155556789Typesms";
  EXPECT_TRUE(Provider("plivo")
                  .Verify(PlivoRequest(plain, kPlivoParams,
                                       {{"x-plivo-signature-v3", PlivoV3(token, signed_plain)},
                                        {"x-plivo-signature-v3-nonce", kPlivoNonce}}),
                          settings, kNowMs)
                  .ok());

  // Tampered parameter, URL or nonce.
  Params tampered = kPlivoParams;
  tampered[3].second = "START";
  EXPECT_EQ(Provider("plivo")
                .Verify(PlivoRequest(url, tampered,
                                     {{"x-plivo-signature-v3", PlivoV3(token, signed_with_query)},
                                      {"x-plivo-signature-v3-nonce", kPlivoNonce}}),
                        settings, kNowMs)
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_FALSE(
      Provider("plivo")
          .Verify(PlivoRequest(url + "x", kPlivoParams,
                               {{"x-plivo-signature-v3", PlivoV3(token, signed_with_query)},
                                {"x-plivo-signature-v3-nonce", kPlivoNonce}}),
                  settings, kNowMs)
          .ok());
  EXPECT_FALSE(
      Provider("plivo")
          .Verify(PlivoRequest(url, kPlivoParams,
                               {{"x-plivo-signature-v3", PlivoV3(token, signed_with_query)},
                                {"x-plivo-signature-v3-nonce", "1"}}),
                  settings, kNowMs)
          .ok());
}

// V3 covers the POST parameters only of a form body: a body of another type is not read (it
// would be unsigned), and a GET is read from, and verified over, its query.
TEST(Plivo, ReadsAFormBodyOrTheQueryAndNothingElse) {
  const std::string token = "plivo-auth-token";
  const json settings = {{"auth_token", token}};
  const std::string url = "https://sms.example.com/webhooks/plivo?" + FormBody(kPlivoParams);
  const std::string signed_get =
      "https://sms.example.com/webhooks/plivo?From=14155551234"
      "&MessageUUID=2f3e5b6a-0000-4000-8000-00000000abcd&Text=STOP&To=14155556789&Type=sms";
  const Params headers = {{"x-plivo-signature-v3", PlivoV3(token, signed_get)},
                          {"x-plivo-signature-v3-nonce", kPlivoNonce}};
  const auto get = MakeRequest("GET", url, headers);
  auto in = Provider("plivo").Parse(get);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->source, WebhookSource::kQuery);
  EXPECT_EQ(in->body, "STOP");
  EXPECT_TRUE(Provider("plivo").Verify(get, settings, kNowMs).ok());

  // The signed GET as a POST whose body is not a form: refused before anything is verified.
  for (const char* type : {"text/plain", "application/json", "text/plain; a=b"}) {
    Params h = headers;
    h.emplace_back("content-type", type);
    const auto post = MakeRequest("POST", url, h, FormBody(kPlivoParams));
    auto refused = Provider("plivo").Parse(post);
    ASSERT_FALSE(refused.ok()) << type;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("application/x-www-form-urlencoded"),
              std::string::npos);
  }
}

TEST(Plivo, AnyOfSeveralSignaturesMayMatch) {
  const std::string token = "tok";
  const std::string url = "https://h/webhooks/plivo";
  const std::string signed_url =
      "https://h/webhooks/plivo?"
      "From14155551234MessageUUID2f3e5b6a-0000-4000-8000-00000000abcdTextSTOPTo14155556789Typesms";
  const std::string good = PlivoV3(token, signed_url);
  const std::string other = PlivoV3("rotated-old-token", signed_url);
  auto req = PlivoRequest(
      url, kPlivoParams,
      {{"x-plivo-signature-v3", other + ", " + good}, {"x-plivo-signature-v3-nonce", kPlivoNonce}});
  EXPECT_TRUE(Provider("plivo").Verify(req, json{{"auth_token", token}}, kNowMs).ok());
  auto none = PlivoRequest(url, kPlivoParams,
                           {{"x-plivo-signature-v3", other + ",garbage==,"},
                            {"x-plivo-signature-v3-nonce", kPlivoNonce}});
  EXPECT_EQ(Provider("plivo").Verify(none, json{{"auth_token", token}}, kNowMs).code(),
            StatusCode::kPermissionDenied);
}

// Signature V2 signs the URL and a nonce, not the message: only an account that says
// "allow_v2": true accepts it, and then its nonce must serve one request (the verdict asks the
// caller to make sure of that).
TEST(Plivo, SignatureV2OnlyWhenTheAccountAllowsItAndThenOncePerNonce) {
  const std::string token = "tok";
  const std::string url = "https://h/webhooks/plivo?tenant=a";
  const std::string v2 = OpenSslBase64(
      OpenSslHmac(EVP_sha256(), token, std::string("https://h/webhooks/plivo") + kPlivoNonce));
  const auto req =
      PlivoRequest(url, kPlivoParams,
                   {{"x-plivo-signature-v2", v2}, {"x-plivo-signature-v2-nonce", kPlivoNonce}});
  for (const json& settings :
       {json{{"auth_token", token}}, json{{"auth_token", token}, {"allow_v2", false}},
        json{{"auth_token", token}, {"allow_v2", "true"}}}) {
    const Status refused = Provider("plivo").Verify(req, settings, kNowMs);
    EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << settings.dump();
    EXPECT_NE(refused.message().find("allow_v2"), std::string::npos) << refused.message();
  }
  const json allowed = {{"auth_token", token}, {"allow_v2", true}};
  auto verdict = Provider("plivo").Verdict(req, allowed, kNowMs);
  ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
  EXPECT_EQ(verdict->single_use_nonce, kPlivoNonce);
  // A wrong V2 signature is still wrong.
  const auto wrong = PlivoRequest(
      url, kPlivoParams,
      {{"x-plivo-signature-v2", v2}, {"x-plivo-signature-v2-nonce", "12345678901234567890"}});
  EXPECT_EQ(Provider("plivo").Verify(wrong, allowed, kNowMs).code(), StatusCode::kPermissionDenied);
  // V3 asks nothing of the caller.
  const std::string signed_plain =
      "https://h/webhooks/plivo?tenant=a."
      "From14155551234MessageUUID2f3e5b6a-0000-4000-8000-00000000abcdTextSTOPTo14155556789Typesms";
  auto v3 = Provider("plivo").Verdict(
      PlivoRequest(url, kPlivoParams,
                   {{"x-plivo-signature-v3", PlivoV3(token, signed_plain)},
                    {"x-plivo-signature-v3-nonce", kPlivoNonce}}),
      allowed, kNowMs);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_TRUE(v3->single_use_nonce.empty());

  const Status missing =
      Provider("plivo").Verify(PlivoRequest(url, kPlivoParams, {}), allowed, kNowMs);
  EXPECT_EQ(missing.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(missing.message().find("X-Plivo-Signature-V3"), std::string::npos);
}

// Each Vonage API is verified by its own scheme only: the Messages API's fields come from the
// body, which only its JWT covers; the SMS API's from the parameters its sig covers.
TEST(VonageMessages, IsVerifiedByItsJwtOnly) {
  const std::string secret = "messages-signature-secret";
  const json settings = {{"signature_secret", secret}};
  // A Messages API body that also carries a correct SMS API sig over its scalar fields.
  json doc = json::parse(kMessagesBody);
  std::string signed_string;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_string()) signed_string += "&" + key + "=" + value.get<std::string>();
  }
  doc["sig"] = Hex(OpenSslDigest(EVP_md5(), signed_string + secret));
  const auto no_jwt = MakeRequest("POST", "https://h/webhooks/vonage",
                                  {{"content-type", "application/json"}}, doc.dump());
  const Status st = Provider("vonage").Verify(no_jwt, settings, kNowMs);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("JWT"), std::string::npos) << st.message();

  // An SMS API request with a JWT (of an empty body) and no sig: its query is not covered.
  const std::string empty_token =
      Jwt({{"alg", "HS256"}, {"typ", "JWT"}}, MessagesClaims("", kNowS), secret);
  const auto sms_api = MakeRequest("GET", "https://h/webhooks/vonage?" + FormBody(VonageInbound()),
                                   {{"authorization", "Bearer " + empty_token}});
  EXPECT_EQ(Provider("vonage").Verify(sms_api, settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
}

// ---- Telnyx ------------------------------------------------------------------------------

struct Ed25519Key {
  EVP_PKEY* key = nullptr;
  Ed25519Key() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_keygen(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
  }
  ~Ed25519Key() { EVP_PKEY_free(key); }
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  std::string PublicKeyBase64() const {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(key, raw, &len);
    return OpenSslBase64(std::string(reinterpret_cast<char*>(raw), len));
  }
  std::string SignBase64(const std::string& message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
    unsigned char sig[64];
    size_t len = sizeof(sig);
    EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                   message.size());
    EVP_MD_CTX_free(ctx);
    return OpenSslBase64(std::string(reinterpret_cast<char*>(sig), len));
  }
};

const char kTelnyxBody[] = R"({
  "data": {
    "record_type": "event",
    "id": "bf6307bd-884d-4c1f-b6ea-c62b8c495d3c",
    "event_type": "message.received",
    "occurred_at": "2023-11-14T22:13:20.000Z",
    "payload": {
      "record_type": "message",
      "direction": "inbound",
      "id": "7ee4241c-f127-47e5-9c34-3aac291f8058",
      "type": "SMS",
      "messaging_profile_id": "0f512bda-ae1e-4597-8e11-e5f5686b97d3",
      "from": {"phone_number": "+18665550001", "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
      "to": [{"phone_number": "+18445550001", "status": "webhook_delivered", "carrier": "TELNYX LLC", "line_type": "VoIP"}],
      "text": "STOP",
      "media": [],
      "encoding": "GSM-7",
      "parts": 1
    }
  },
  "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks/telnyx"}
})";

WebhookRequest TelnyxRequest(const std::string& body, const std::string& signature,
                             const std::string& timestamp) {
  Params headers = {{"content-type", "application/json"}};
  if (!signature.empty()) headers.emplace_back("telnyx-signature-ed25519", signature);
  if (!timestamp.empty()) headers.emplace_back("telnyx-timestamp", timestamp);
  return MakeRequest("POST", "https://h/webhooks/telnyx", headers, body);
}

TEST(Telnyx, ParsesMessageReceived) {
  auto in = Provider("telnyx").Parse(TelnyxRequest(kTelnyxBody, "", ""));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_FALSE(in->ignored);
  EXPECT_EQ(in->message_id, "7ee4241c-f127-47e5-9c34-3aac291f8058");
  EXPECT_EQ(in->from, "+18665550001");
  EXPECT_EQ(in->to, "+18445550001");
  EXPECT_EQ(in->body, "STOP");

  json no_to = json::parse(kTelnyxBody);
  no_to["data"]["payload"].erase("to");
  auto missing = Provider("telnyx").Parse(TelnyxRequest(no_to.dump(), "", ""));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("to[0].phone_number"), std::string::npos);
}

TEST(Telnyx, OtherEventsAreAcknowledgedAndIgnored) {
  json finalized = json::parse(kTelnyxBody);
  finalized["data"]["event_type"] = "message.finalized";
  finalized["data"]["payload"]["direction"] = "outbound";
  finalized["data"]["payload"]["from"]["phone_number"] = "+18445550001";
  finalized["data"]["payload"]["to"][0]["phone_number"] = "+18665550001";
  auto in = Provider("telnyx").Parse(TelnyxRequest(finalized.dump(), "", ""));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(in->ignored);
  EXPECT_EQ(in->ignored_reason, "telnyx event message.finalized");
  EXPECT_EQ(in->to, "+18445550001");  // The account's number.
  EXPECT_TRUE(in->body.empty());
  const WebhookResponse r = Provider("telnyx").Respond({});
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(Provider("telnyx").RepliesInResponse());
}

TEST(Telnyx, VerifiesEd25519OverTimestampAndBody) {
  const Ed25519Key key;
  const json settings = {{"public_key", key.PublicKeyBase64()}};
  const std::string ts = std::to_string(kNowS);
  const std::string sig = key.SignBase64(ts + "|" + kTelnyxBody);
  EXPECT_TRUE(
      Provider("telnyx").Verify(TelnyxRequest(kTelnyxBody, sig, ts), settings, kNowMs).ok());

  std::string tampered = kTelnyxBody;
  tampered[tampered.find("STOP")] = 'T';
  EXPECT_EQ(Provider("telnyx").Verify(TelnyxRequest(tampered, sig, ts), settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  // The timestamp is signed too.
  EXPECT_FALSE(
      Provider("telnyx")
          .Verify(TelnyxRequest(kTelnyxBody, sig, std::to_string(kNowS + 1)), settings, kNowMs)
          .ok());
  // Another key.
  const Ed25519Key other;
  EXPECT_FALSE(Provider("telnyx")
                   .Verify(TelnyxRequest(kTelnyxBody, sig, ts),
                           json{{"public_key", other.PublicKeyBase64()}}, kNowMs)
                   .ok());
  // Garbage signatures are denials, not crashes.
  for (const std::string& garbage :
       std::vector<std::string>{"!!!", "AAAA", OpenSslBase64(std::string(64, '\0'))}) {
    EXPECT_EQ(
        Provider("telnyx").Verify(TelnyxRequest(kTelnyxBody, garbage, ts), settings, kNowMs).code(),
        StatusCode::kPermissionDenied);
  }
  // Missing headers.
  EXPECT_EQ(Provider("telnyx").Verify(TelnyxRequest(kTelnyxBody, "", ts), settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Provider("telnyx").Verify(TelnyxRequest(kTelnyxBody, sig, ""), settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
}

TEST(Telnyx, TimestampToleranceWindow) {
  const Ed25519Key key;
  const std::string old_ts = std::to_string(kNowS - 301);
  const auto old_req =
      TelnyxRequest(kTelnyxBody, key.SignBase64(old_ts + "|" + kTelnyxBody), old_ts);
  const json settings = {{"public_key", key.PublicKeyBase64()}};
  const Status stale = Provider("telnyx").Verify(old_req, settings, kNowMs);
  EXPECT_EQ(stale.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(stale.message().find("tolerance"), std::string::npos);
  EXPECT_TRUE(Provider("telnyx")
                  .Verify(old_req,
                          json{{"public_key", key.PublicKeyBase64()}, {"tolerance_seconds", 600}},
                          kNowMs)
                  .ok());
}

TEST(Telnyx, BadPublicKeyIsAConfigurationError) {
  const auto req = TelnyxRequest(kTelnyxBody, "AAAA", std::to_string(kNowS));
  for (const std::string& bad : std::vector<std::string>{"not base64!", OpenSslBase64("short")}) {
    EXPECT_EQ(Provider("telnyx").Verify(req, json{{"public_key", bad}}, kNowMs).code(),
              StatusCode::kFailedPrecondition);
  }
}

// ---- generic -----------------------------------------------------------------------------

const char kGenericBody[] =
    R"({"message_id":"m-1","from":"+4512345678","to":"+4598765432","body":"STOP"})";

WebhookRequest GenericRequest(const std::string& body, const std::string& secret,
                              const std::string& ts) {
  const std::string sig = "sha256=" + Hex(OpenSslHmac(EVP_sha256(), secret, ts + "." + body));
  return MakeRequest("POST", "https://h/webhooks/generic",
                     {{"content-type", "application/json"},
                      {"x-smsconsent-signature", sig},
                      {"x-smsconsent-timestamp", ts}},
                     body);
}

TEST(Generic, ParsesAndVerifies) {
  const auto req = GenericRequest(kGenericBody, "s3cret", std::to_string(kNowS));
  auto in = Provider("generic").Parse(req);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->message_id, "m-1");
  EXPECT_EQ(in->from, "+4512345678");
  EXPECT_EQ(in->to, "+4598765432");
  EXPECT_EQ(in->body, "STOP");
  EXPECT_TRUE(Provider("generic").Verify(req, json{{"secret", "s3cret"}}, kNowMs).ok());

  WebhookRequest tampered = req;
  tampered.body[tampered.body.find("STOP")] = 'S' + 1;
  EXPECT_EQ(Provider("generic").Verify(tampered, json{{"secret", "s3cret"}}, kNowMs).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Provider("generic").Verify(req, json{{"secret", "other"}}, kNowMs).code(),
            StatusCode::kPermissionDenied);
}

TEST(Generic, MissingFieldsAreNamed) {
  for (const char* field : {"message_id", "from", "to", "body"}) {
    json doc = json::parse(kGenericBody);
    doc.erase(field);
    auto in = Provider("generic").Parse(MakeRequest("POST", "https://h/g", {}, doc.dump()));
    ASSERT_FALSE(in.ok()) << field;
    EXPECT_EQ(in.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(in.status().message().find(field), std::string::npos);
  }
}

TEST(Generic, StaleOrUnsignedDenies) {
  const json settings = {{"secret", "s3cret"}};
  const auto stale = GenericRequest(kGenericBody, "s3cret", std::to_string(kNowS - 301));
  EXPECT_EQ(Provider("generic").Verify(stale, settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  const auto future = GenericRequest(kGenericBody, "s3cret", std::to_string(kNowS + 301));
  EXPECT_EQ(Provider("generic").Verify(future, settings, kNowMs).code(),
            StatusCode::kPermissionDenied);
  WebhookRequest unsigned_req = GenericRequest(kGenericBody, "s3cret", std::to_string(kNowS));
  unsigned_req.headers.erase(unsigned_req.headers.begin() + 1);
  const Status st = Provider("generic").Verify(unsigned_req, settings, kNowMs);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("X-Smsconsent-Signature"), std::string::npos);
  WebhookRequest no_prefix = GenericRequest(kGenericBody, "s3cret", std::to_string(kNowS));
  no_prefix.headers[1].second = no_prefix.headers[1].second.substr(7);
  EXPECT_FALSE(Provider("generic").Verify(no_prefix, settings, kNowMs).ok());
}

TEST(Generic, RespondsWithJsonAndDoesNotCarryReplies) {
  EXPECT_FALSE(Provider("generic").RepliesInResponse());
  const WebhookResponse r = Provider("generic").Respond({"ignored"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"ok\":true}");
}

}  // namespace
}  // namespace smsconsent
