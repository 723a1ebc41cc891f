// Inbound webhooks of SMS providers: parsing each provider's wire format, verifying its
// signature scheme, and shaping the HTTP answer.
//
// A webhook is handled in three steps, because the secrets to verify with belong to the
// account that owns the receiving number, which is only known after parsing:
//   1. Parse(request)                    -> who sent what to which number, the message id, and
//      the request as it was read (decoded once);
//   2. Verify(request, parsed, settings) -> checks the signature over exactly that reading,
//      with the account's secrets (ProviderConfig::settings, JSON);
//   3. Respond(replies)                  -> the body, content type and status to answer with;
//      for providers whose response carries the reply (Twilio TwiML, Kannel), the reply texts.
// Parse and Verify never decode the request each in their own way: Verify checks the values
// Parse returned (or the raw bytes Parse read them from), so a value the provider did not sign
// cannot reach the message. Pure: no sockets, no store; the current time is an argument.
// docs/webhooks.md documents every format and signature scheme.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.h"
#include "core/status.h"

namespace smsconsent {

struct WebhookRequest {
  std::string method;  // "POST", "GET"
  // The URL as the provider called it: the configured public base URL (or
  // http://HOST from the Host header) + the request target (path and query).
  std::string url;
  std::string path;                                          // "/webhooks/twilio"
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  // First header value with this (lowercase) name, or empty.
  std::string_view Header(std::string_view lowercase_name) const;
  // First query parameter with this name, or empty.
  std::string_view Query(std::string_view name) const;
};

// The part of a request a message was read from.
enum class WebhookSource {
  kQuery,       // the URL's query parameters (a GET's), in ParsedInbound::params
  kForm,        // an application/x-www-form-urlencoded body's parameters, in params
  kJsonFields,  // a JSON object body's top-level scalar fields, in params (Vonage SMS API)
  kJsonBody,    // a JSON body read as a whole; the signature covers its raw bytes
  kRawBody,     // the raw body is the text (Kannel's post-url); params: the URL's query
};

struct ParsedInbound {
  std::string message_id;  // the provider's id (MessageSid, …); idempotency key
  std::string from;        // as sent by the provider (normalised later)
  std::string to;
  std::string body;  // UTF-8
  // Vonage and Plivo write E.164 numbers without the '+': from/to get it back when they are
  // all digits and longer than 8 (short codes stay as sent).
  // True when the request is a genuine webhook of this provider that carries no inbound SMS
  // to process: a delivery/status callback (Twilio MessageStatus, Vonage DLR, Plivo Status,
  // Telnyx message.sent/message.finalized, …) or a non-SMS channel (WhatsApp). The handler
  // stores nothing and answers Respond({}) with its 2xx, so the provider does not retry;
  // verifying first is optional (nothing changes). `ignored_reason` says why, for logs and
  // metrics ("telnyx event message.finalized"). message_id/from/to are filled when the event
  // names them, `to` being the account's number (for a status of one of our own messages, its
  // sender); body is empty.
  bool ignored = false;
  std::string ignored_reason;
  // For a delivery status callback of one of the messages the service sent (Twilio
  // MessageStatus, Vonage delivery receipt, Plivo Status, Telnyx message.sent/finalized): what
  // it reports, read by WebhookService::ReceiveStatus (docs/sending.md, "Delivery status").
  // `ignored` is set too, so the inbound route acknowledges it as before.
  std::optional<DeliveryReport> delivery;

  // The request as Parse read it: where the message came from and, for providers that sign
  // parameters, the decoded parameters in the order sent. Verify checks these.
  WebhookSource source = WebhookSource::kQuery;
  std::vector<std::pair<std::string, std::string>> params;
};

// What a successful Verify leaves to the caller.
struct WebhookVerdict {
  // Set when the signature holds but binds the request to no time (Plivo signature V2): the
  // request is genuine only if this nonce has served no other request of the account, which
  // the caller must make sure of (ConsentStore::UseWebhookNonce).
  std::string single_use_nonce;
};

struct WebhookResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra response headers to send, e.g. Kannel's X-Kannel-Coding: 2 for a reply that needs
  // UCS-2. Names as written here.
  std::vector<std::pair<std::string, std::string>> headers;
};

class WebhookProvider {
 public:
  virtual ~WebhookProvider() = default;
  virtual std::string_view name() const = 0;  // "twilio", …; also the URL path /webhooks/NAME

  // kInvalidArgument naming the missing/malformed field when the request is not a valid
  // inbound message of this provider.
  virtual Result<ParsedInbound> Parse(const WebhookRequest& request) const = 0;

  // Whether `request`, which Parse read as `parsed`, is signed by the provider: the signature
  // is checked over parsed.params (or the raw body they were read from), never over a reading
  // of its own. kPermissionDenied when the signature (or shared secret) is missing or wrong, or
  // a timestamp is outside the tolerance window; kFailedPrecondition when `settings` lacks the
  // secret this provider needs (the account has not configured it). `now_ms` is the current
  // time for timestamp checks.
  virtual Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& parsed,
                                        const nlohmann::json& settings, int64_t now_ms) const = 0;

  // True when the provider sends the reply itself from our HTTP response (Twilio TwiML,
  // Kannel's response body), so the outbox must not send it again.
  virtual bool RepliesInResponse() const = 0;

  // The answer for a processed message. `replies` are the reply texts to carry in the
  // response (only used when RepliesInResponse()).
  virtual WebhookResponse Respond(const std::vector<std::string>& replies) const = 0;
};

// All providers: twilio, kannel, vonage, plivo, telnyx, generic. Built once, immutable,
// safe to use from any thread.
const std::vector<std::unique_ptr<WebhookProvider>>& AllWebhookProviders();
const WebhookProvider* FindWebhookProvider(std::string_view name);  // nullptr when unknown

// One factory per provider (src/providers/NAME.cc); AllWebhookProviders() holds one of each.
std::unique_ptr<WebhookProvider> MakeTwilioWebhook();
std::unique_ptr<WebhookProvider> MakeKannelWebhook();
std::unique_ptr<WebhookProvider> MakeVonageWebhook();
std::unique_ptr<WebhookProvider> MakePlivoWebhook();
std::unique_ptr<WebhookProvider> MakeTelnyxWebhook();
std::unique_ptr<WebhookProvider> MakeGenericWebhook();

// Helpers shared by providers and tests.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);
std::string HmacSha1(std::string_view key, std::string_view data);    // raw bytes
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes
std::string HexEncode(std::string_view bytes);                        // lowercase
// application/x-www-form-urlencoded: "+" is space, %XX decoded. kInvalidArgument on a bad
// escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(std::string_view s);
std::string UrlEncode(std::string_view s);  // RFC 3986 unreserved kept, others %XX
// True when the request's time `at_s` (Unix seconds) is within `tolerance_s` of now, in either
// direction. Compared as a range, not |now - at|: `at_s` comes from the request and may be any
// int64.
bool WithinTolerance(int64_t at_s, int64_t now_ms, int64_t tolerance_s);
// A Unix time in whole seconds as providers send it ("1700000000"): digits only, at most 18,
// else false.
bool ParseSeconds(std::string_view s, int64_t* out);
// Vonage and Plivo write numbers in E.164 without the '+' ("447700900001"). Restores it for
// anything longer than a short code (3-8 digits), so the number is not read as national later;
// short codes stay as sent.
std::string PlusE164(std::string_view number);
// 200 {"ok":true}: the answer of providers whose replies leave through the outbox.
WebhookResponse JsonAcknowledgement();
// Constant-time comparison for secrets and signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// More helpers, shared by the providers and their tests. Digests and MACs return raw bytes.
std::string HmacMd5(std::string_view key, std::string_view data);
std::string HmacSha512(std::string_view key, std::string_view data);
std::string Md5(std::string_view data);
std::string Sha256(std::string_view data);
// base64url without padding (JWT); decoding accepts it with or without padding.
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);
// Converts `bytes` in `charset` (an ICU converter name or alias: "UTF-8", "ISO-8859-1",
// "WINDOWS-1252", "UTF-16BE", …; case-insensitive) to UTF-8. Malformed sequences become
// U+FFFD rather than failing, so a damaged message still reaches keyword matching.
// kInvalidArgument naming the charset when no converter knows it.
Result<std::string> ConvertToUtf8(std::string_view bytes, std::string_view charset);
// The spellings of an absolute URL a provider may have signed: the URL as given, with the
// scheme's default port made explicit (http :80, https :443) when it has none, and with any
// port removed. Unique, the URL as given first.
std::vector<std::string> UrlPortVariants(std::string_view url);
// The request's query parameters, form-decoded from the query part of `request.url` when it
// has one (so a provider sees exactly what was sent), else `request.query`.
std::vector<std::pair<std::string, std::string>> RequestQueryParams(const WebhookRequest& request);
// Message-id formats (docs/limits.md#webhooks). A provider's message id is the idempotency key
// of what it delivers, so one that is not of its provider's form is refused (400) rather than
// taken as a new message.
inline constexpr std::size_t kMaxMessageIdBytes = 128;  // Kannel's and generic's ids
// 8-4-4-4-12 hex digits of either case: Plivo's MessageUUID, Telnyx's and Vonage's Messages
// API ids.
bool IsUuid(std::string_view id);
// `prefix` followed by 32 lowercase hex digits: a Twilio SID ("SM…", "MM…", "AC…", "MG…").
bool IsTwilioSid(std::string_view sid, std::string_view prefix);
// 1 to `max_bytes` bytes of printable ASCII other than the space (0x21-0x7E).
bool IsPrintableId(std::string_view id, std::size_t max_bytes = kMaxMessageIdBytes);
// OK when `ok`, else kInvalidArgument: "<provider>: <field> \"<value>\" is not <form>", the
// value shown as a bounded prefix of printable ASCII (it came from the request).
Status CheckFormat(bool ok, std::string_view provider, std::string_view field,
                   std::string_view value, std::string_view form);
// Whether a POST body is declared application/x-www-form-urlencoded (or declared nothing), the
// only body that providers signing their form parameters (Twilio, Plivo) may be read from.
bool IsFormBody(const WebhookRequest& request);
// First value of `name` in decoded parameters, or nullptr.
const std::string* FindParam(const std::vector<std::pair<std::string, std::string>>& params,
                             std::string_view name);
// settings[key] as a non-empty string; kFailedPrecondition naming the provider and the key
// ("twilio settings lack \"auth_token\"") when `settings` is not an object or the key is
// absent, empty or not a string.
Result<std::string> RequiredSetting(const nlohmann::json& settings, std::string_view provider,
                                    std::string_view key);
// The replay window for signed timestamps: settings "tolerance_seconds" when it is an integer
// from 1 to 86400, else 300.
int64_t ToleranceSeconds(const nlohmann::json& settings);

}  // namespace smsconsent
