// Vonage inbound SMS webhooks (docs/webhooks.md#vonage), in both of Vonage's APIs:
//   * SMS API: msisdn, to, messageId, text, type, keyword, message-timestamp, timestamp,
//     nonce, sig — as a GET query, a POST form or a POST JSON object. With signed webhooks
//     enabled, `sig` is computed over every other parameter: sorted by name, each appended as
//     "&name=value" with '&' and '=' in values replaced by '_', then either MD5 of that string
//     followed by the signature secret ("md5hash") or its HMAC keyed by the secret (md5, sha1,
//     sha256, sha512), in hex. `timestamp` (Unix seconds) bounds replays.
//   * Messages API: a JSON body (message_uuid, from, to, text, channel "sms") with
//     "Authorization: Bearer <JWT>", HS256-signed with the signature secret; its claims carry
//     iat and payload_hash (hex SHA-256 of the body).
// Which of the two a request is, is decided once, by Parse, from the request itself; each is
// verified only by its own scheme (sig over exactly the parameters Parse read; the JWT over
// the raw body the Messages API fields were read from).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_reader.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;
using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool LooksJson(const WebhookRequest& request) {
  if (request.Header("content-type").find("json") != std::string_view::npos) return true;
  for (const char c : request.body) {
    if (!std::isspace(static_cast<unsigned char>(c))) return c == '{';
  }
  return false;
}

// The JSON body as an object, read within ReadJson's limits.
Result<json> BodyObject(const WebhookRequest& request) {
  auto doc = ReadJson(request.body);
  if (!doc.ok()) return InvalidArgument("vonage: body: " + doc.status().message());
  if (!doc->is_object()) return InvalidArgument("vonage: body is not a JSON object");
  return doc;
}

// A value's text for the SMS API's signed string and for logs; dump() is safe on what
// ReadJson returns (nested at most 64 levels, strings UTF-8).
std::string JsonScalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

// The SMS API parameters of a request: query string (GET), form body or the top-level scalar
// fields of a JSON body (POST), as `in.source` and `in.params`.
Status ReadSmsApiParams(const WebhookRequest& request, const json* doc, ParsedInbound& in) {
  if (request.method == "GET" || request.body.empty()) {
    in.source = WebhookSource::kQuery;
    in.params = RequestQueryParams(request);
    return Status::Ok();
  }
  if (doc != nullptr) {
    in.source = WebhookSource::kJsonFields;
    for (const auto& [key, value] : doc->items()) {
      if (value.is_object() || value.is_array()) continue;
      in.params.emplace_back(key, JsonScalar(value));
    }
    return Status::Ok();
  }
  auto form = ParseFormUrlEncoded(request.body);
  if (!form.ok()) return InvalidArgument("vonage: form body: " + form.status().message());
  in.source = WebhookSource::kForm;
  in.params = std::move(form).value();
  return Status::Ok();
}

// A Messages API address: a plain string, or {"type": "sms", "number": "…"} in older versions.
std::string Address(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("number") && v["number"].is_string()) {
    return v["number"].get<std::string>();
  }
  return {};
}

// The SMS API's messageId ("0A0000000123ABCD1"): letters and digits, at most 40.
// A delivery receipt's status as a delivery status: accepted and buffered are on the way
// (sent); expired is undelivered; failed and rejected are failed; unknown changes nothing.
std::optional<DeliveryStatus> VonageDelivery(std::string_view status) {
  if (status == "accepted" || status == "buffered") return DeliveryStatus::kSent;
  if (status == "delivered") return DeliveryStatus::kDelivered;
  if (status == "expired") return DeliveryStatus::kUndelivered;
  if (status == "failed" || status == "rejected") return DeliveryStatus::kFailed;
  return std::nullopt;
}

bool IsSmsApiMessageId(std::string_view id) {
  return !id.empty() && id.size() <= 40 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(c) != 0; });
}

Result<ParsedInbound> ParseMessagesApi(const json& doc) {
  ParsedInbound in;
  in.source = WebhookSource::kJsonBody;
  if (doc.contains("message_uuid") && doc["message_uuid"].is_string()) {
    in.message_id = doc["message_uuid"].get<std::string>();
  }
  if (doc.contains("from")) in.from = PlusE164(Address(doc["from"]));
  if (doc.contains("to")) in.to = PlusE164(Address(doc["to"]));
  const std::string channel = doc.contains("channel") && doc["channel"].is_string()
                                  ? doc["channel"].get<std::string>()
                                  : "";
  if (!channel.empty() && channel != "sms") {
    in.ignored = true;
    in.ignored_reason = "vonage: channel " + channel + " is not SMS";
    return in;
  }
  if (doc.contains("status") && !doc.contains("text")) {
    in.ignored = true;
    in.ignored_reason = "vonage message status: " + JsonScalar(doc["status"]);
    std::swap(in.from, in.to);  // It reports on our own message: from is our number.
    return in;
  }
  if (in.message_id.empty()) return InvalidArgument("vonage: missing message_uuid field");
  if (in.from.empty()) return InvalidArgument("vonage: missing from field");
  if (in.to.empty()) return InvalidArgument("vonage: missing to field");
  if (!doc.contains("text") || !doc["text"].is_string()) {
    return InvalidArgument("vonage: missing text field");
  }
  SMSC_RETURN_IF_ERROR(
      CheckFormat(IsUuid(in.message_id), "vonage", "message_uuid", in.message_id, "a UUID"));
  in.body = doc["text"].get<std::string>();
  return in;
}

Result<ParsedInbound> ParseSmsApi(ParsedInbound in) {
  const Params& params = in.params;
  const std::string* id = FindParam(params, "messageId");
  const std::string* from = FindParam(params, "msisdn");
  const std::string* to = FindParam(params, "to");
  const std::string* text = FindParam(params, "text");
  if (id != nullptr) in.message_id = *id;
  if (from != nullptr) in.from = PlusE164(*from);
  if (to != nullptr) in.to = PlusE164(*to);
  // A delivery receipt pointed at this URL: it has a status and no text.
  if (text == nullptr && FindParam(params, "status") != nullptr) {
    in.ignored = true;
    in.ignored_reason = "vonage delivery receipt: " + *FindParam(params, "status");
    DeliveryReport d;
    d.provider_message_id = in.message_id;
    d.provider_status = *FindParam(params, "status");
    d.status = VonageDelivery(d.provider_status);
    // err-code 0 is "delivered": no error.
    if (const std::string* code = FindParam(params, "err-code"); code != nullptr && *code != "0") {
      d.error_code = *code;
    }
    in.delivery = std::move(d);
    return in;
  }
  const std::string* type = FindParam(params, "type");
  if (type != nullptr && *type == "binary") {
    in.ignored = true;
    in.ignored_reason = "vonage: binary message";
    return in;
  }
  if (id == nullptr || id->empty()) return InvalidArgument("vonage: missing messageId parameter");
  if (from == nullptr || from->empty()) return InvalidArgument("vonage: missing msisdn parameter");
  if (to == nullptr || to->empty()) return InvalidArgument("vonage: missing to parameter");
  if (text == nullptr) return InvalidArgument("vonage: missing text parameter");
  SMSC_RETURN_IF_ERROR(CheckFormat(IsSmsApiMessageId(*id), "vonage", "messageId", *id,
                                   "1 to 40 letters and digits"));
  // sig joins "&name=value" with '&' and '=' in values replaced, so only a name holding them
  // could move a boundary between parameters: Vonage's names never do.
  for (const auto& [name, value] : params) {
    if (name.find_first_of("&=") != std::string::npos) {
      return CheckFormat(false, "vonage", "parameter name", name, "one without '&' or '='");
    }
  }
  in.body = *text;
  return in;
}

Status VerifyJwt(const WebhookRequest& request, std::string_view token, const std::string& secret,
                 int64_t now_ms, int64_t tolerance_s) {
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return PermissionDenied("vonage: Authorization bearer token is not a JWT");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view claims_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const auto header_raw = Base64UrlDecode(header_b64);
  const auto claims_raw = Base64UrlDecode(claims_b64);
  const auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_raw.ok() || !claims_raw.ok() || !signature.ok()) {
    return PermissionDenied("vonage: JWT is not valid base64url");
  }
  const auto header = ReadJson(header_raw.value());
  if (!header.ok() || !header->is_object() || !header->contains("alg") ||
      (*header)["alg"] != "HS256") {
    return PermissionDenied("vonage: JWT alg must be HS256");
  }
  const std::string signing_input(token.substr(0, dot2));
  if (!ConstantTimeEquals(HmacSha256(secret, signing_input), signature.value())) {
    return PermissionDenied("vonage: JWT signature does not match the signature secret");
  }
  const auto read_claims = ReadJson(claims_raw.value());
  if (!read_claims.ok() || !read_claims->is_object()) {
    return PermissionDenied("vonage: JWT claims are not a JSON object");
  }
  const json& claims = *read_claims;
  if (!claims.contains("iat") || !claims["iat"].is_number_integer()) {
    return PermissionDenied("vonage: JWT lacks the iat claim");
  }
  if (!WithinTolerance(claims["iat"].get<int64_t>(), now_ms, tolerance_s)) {
    return PermissionDenied("vonage: JWT iat is outside the tolerance window");
  }
  if (claims.contains("exp") && claims["exp"].is_number_integer() &&
      claims["exp"].get<int64_t>() < now_ms / 1000) {
    return PermissionDenied("vonage: JWT has expired");
  }
  if (!claims.contains("payload_hash") || !claims["payload_hash"].is_string()) {
    return PermissionDenied("vonage: JWT lacks the payload_hash claim");
  }
  if (!ConstantTimeEquals(HexEncode(Sha256(request.body)),
                          Lower(claims["payload_hash"].get<std::string>()))) {
    return PermissionDenied("vonage: JWT payload_hash does not match the body");
  }
  return Status::Ok();
}

Status VerifySignedParams(const ParsedInbound& parsed, const nlohmann::json& settings,
                          const std::string& secret, int64_t now_ms, int64_t tolerance_s) {
  std::string method = "md5hash";
  if (settings.is_object() && settings.contains("signature_method")) {
    if (!settings["signature_method"].is_string()) {
      return FailedPrecondition("vonage settings: signature_method must be a string");
    }
    method = Lower(settings["signature_method"].get<std::string>());
  }
  // Vonage's dashboard and SDKs name the HMAC variants both ways ("sha256", "sha256hmac").
  if (method.size() > 4 && method.compare(method.size() - 4, 4, "hmac") == 0) {
    method.resize(method.size() - 4);
  }
  if (method != "md5hash" && method != "md5" && method != "sha1" && method != "sha256" &&
      method != "sha512") {
    return FailedPrecondition("vonage settings: unknown signature_method \"" + method +
                              "\" (md5hash, md5, sha1, sha256 or sha512)");
  }
  std::vector<std::pair<std::string_view, std::string_view>> sorted(parsed.params.begin(),
                                                                    parsed.params.end());
  const std::string* sig = FindParam(parsed.params, "sig");
  if (sig == nullptr || sig->empty()) {
    return PermissionDenied(
        "vonage: missing sig parameter (enable signed webhooks) or "
        "Authorization bearer token");
  }
  const std::string given = Lower(*sig);
  std::string signed_string;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [key, value] : sorted) {
    if (key == "sig") continue;
    signed_string += '&';
    signed_string += key;
    signed_string += '=';
    for (const char c : value) signed_string += c == '&' || c == '=' ? '_' : c;
  }
  std::string expected;
  if (method == "md5hash") {
    expected = HexEncode(Md5(signed_string + secret));
  } else if (method == "md5") {
    expected = HexEncode(HmacMd5(secret, signed_string));
  } else if (method == "sha1") {
    expected = HexEncode(HmacSha1(secret, signed_string));
  } else if (method == "sha256") {
    expected = HexEncode(HmacSha256(secret, signed_string));
  } else {
    expected = HexEncode(HmacSha512(secret, signed_string));
  }
  if (!ConstantTimeEquals(expected, given)) {
    return PermissionDenied("vonage: sig does not match (signature_method " + method + ")");
  }
  const std::string* timestamp = FindParam(parsed.params, "timestamp");
  int64_t at_s = 0;
  if (timestamp == nullptr || !ParseSeconds(*timestamp, &at_s)) {
    return PermissionDenied("vonage: missing or malformed timestamp parameter");
  }
  if (!WithinTolerance(at_s, now_ms, tolerance_s)) {
    return PermissionDenied("vonage: timestamp is outside the tolerance window");
  }
  return Status::Ok();
}

class VonageWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "vonage"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    json doc;
    if (request.method != "GET" && LooksJson(request)) {
      SMSC_ASSIGN_OR_RETURN(doc, BodyObject(request));
      if (doc.contains("message_uuid") || doc.contains("channel")) return ParseMessagesApi(doc);
    }
    ParsedInbound in;
    SMSC_RETURN_IF_ERROR(ReadSmsApiParams(request, doc.is_object() ? &doc : nullptr, in));
    return ParseSmsApi(std::move(in));
  }

  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& parsed,
                                const nlohmann::json& settings, int64_t now_ms) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string secret,
                          RequiredSetting(settings, "vonage", "signature_secret"));
    const int64_t tolerance_s = ToleranceSeconds(settings);
    if (parsed.source == WebhookSource::kJsonBody) {
      // The Messages API: its fields were read from the body, which only the JWT covers.
      const std::string_view auth = request.Header("authorization");
      if (auth.size() <= 7 || Lower(auth.substr(0, 7)) != "bearer ") {
        return PermissionDenied("vonage: Messages API webhook without an Authorization bearer JWT");
      }
      std::string_view token = auth.substr(7);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      SMSC_RETURN_IF_ERROR(VerifyJwt(request, token, secret, now_ms, tolerance_s));
      return WebhookVerdict{};
    }
    SMSC_RETURN_IF_ERROR(VerifySignedParams(parsed, settings, secret, now_ms, tolerance_s));
    return WebhookVerdict{};
  }

  bool RepliesInResponse() const override { return false; }

  WebhookResponse Respond(const std::vector<std::string>& /*replies*/) const override {
    return JsonAcknowledgement();
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakeVonageWebhook() { return std::make_unique<VonageWebhook>(); }

}  // namespace smsconsent
