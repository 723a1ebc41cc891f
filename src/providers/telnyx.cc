// Telnyx messaging webhook, API v2 (docs/webhooks.md#telnyx).
//
// Telnyx POSTs JSON events: {"data": {"event_type": "message.received", "id": …, "payload":
// {"id": <message id>, "from": {"phone_number"}, "to": [{"phone_number"}], "text", …}}}.
// Each delivery is signed with the account's Ed25519 key: telnyx-signature-ed25519 is the
// base64 signature of telnyx-timestamp + "|" + the raw body, verified with the public key
// from the Telnyx portal (base64 of the 32-byte key). Other events are acknowledged and
// ignored; message.sent and message.finalized also carry a delivery report (to[].status).
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_reader.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string StringAt(const json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key) && obj[key].is_string()) {
    return obj[key].get<std::string>();
  }
  return {};
}

// The delivery report of a message.sent or message.finalized event: the recipient's status
// (to[0].status) and the first of errors[] ({"code", "title", "detail"}). Telnyx's states:
// queued and sending change nothing; sent; delivered; sending_failed (Telnyx or the carrier
// refused it) is failed; delivery_failed and expired are undelivered; delivery_unconfirmed
// (the carrier sent no receipt) stays sent.
DeliveryReport TelnyxDelivery(const json& payload, const std::string& message_id) {
  DeliveryReport d;
  d.provider_message_id = message_id;
  if (payload.contains("to") && payload["to"].is_array() && !payload["to"].empty()) {
    d.provider_status = StringAt(payload["to"][0], "status");
  }
  const std::string& st = d.provider_status;
  if (st == "sent" || st == "delivery_unconfirmed") d.status = DeliveryStatus::kSent;
  if (st == "delivered") d.status = DeliveryStatus::kDelivered;
  if (st == "sending_failed") d.status = DeliveryStatus::kFailed;
  if (st == "delivery_failed" || st == "expired") d.status = DeliveryStatus::kUndelivered;
  if (payload.contains("errors") && payload["errors"].is_array() && !payload["errors"].empty()) {
    const json& e = payload["errors"][0];
    if (e.is_object() && e.contains("code")) {
      d.error_code = e["code"].is_string()           ? e["code"].get<std::string>()
                     : e["code"].is_number_integer() ? std::to_string(e["code"].get<int64_t>())
                                                     : std::string();
    }
    d.error_text = StringAt(e, "title");
  }
  return d;
}

class TelnyxWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "telnyx"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    auto read = ReadJson(request.body);
    if (!read.ok()) return InvalidArgument("telnyx: body: " + read.status().message());
    const json& doc = *read;
    if (!doc.is_object()) return InvalidArgument("telnyx: body is not a JSON object");
    if (!doc.contains("data") || !doc["data"].is_object()) {
      return InvalidArgument("telnyx: missing data object");
    }
    const json& data = doc["data"];
    const std::string event_type = StringAt(data, "event_type");
    if (event_type.empty()) return InvalidArgument("telnyx: missing data.event_type");
    const json empty = json::object();
    const json& payload =
        data.contains("payload") && data["payload"].is_object() ? data["payload"] : empty;

    ParsedInbound in;
    in.source = WebhookSource::kJsonBody;
    in.message_id = StringAt(payload, "id");
    if (payload.contains("from")) in.from = StringAt(payload["from"], "phone_number");
    if (payload.contains("to") && payload["to"].is_array() && !payload["to"].empty()) {
      in.to = StringAt(payload["to"][0], "phone_number");
    }
    if (event_type != "message.received") {
      in.ignored = true;
      in.ignored_reason = "telnyx event " + event_type;
      // For our own outbound messages the account's number is the sender.
      if (payload.contains("from")) std::swap(in.from, in.to);
      if (event_type == "message.sent" || event_type == "message.finalized") {
        in.delivery = TelnyxDelivery(payload, in.message_id);
      }
      return in;
    }
    if (!data.contains("payload") || !data["payload"].is_object()) {
      return InvalidArgument("telnyx: missing data.payload object");
    }
    if (in.message_id.empty()) return InvalidArgument("telnyx: missing data.payload.id");
    if (in.from.empty()) return InvalidArgument("telnyx: missing data.payload.from.phone_number");
    if (in.to.empty()) return InvalidArgument("telnyx: missing data.payload.to[0].phone_number");
    if (!payload.contains("text")) return InvalidArgument("telnyx: missing data.payload.text");
    SMSC_RETURN_IF_ERROR(
        CheckFormat(IsUuid(in.message_id), "telnyx", "data.payload.id", in.message_id, "a UUID"));
    // null for an MMS with media only.
    in.body = payload["text"].is_string() ? payload["text"].get<std::string>() : "";
    return in;
  }

  // The signature covers the raw body, which is what Parse read the message from.
  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& /*parsed*/,
                                const nlohmann::json& settings, int64_t now_ms) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string key_b64,
                          RequiredSetting(settings, "telnyx", "public_key"));
    const auto key = Base64Decode(key_b64);
    if (!key.ok() || key.value().size() != 32) {
      return FailedPrecondition(
          "telnyx settings: public_key is not a base64 Ed25519 public key (32 bytes)");
    }
    const std::string_view signature_b64 = request.Header("telnyx-signature-ed25519");
    const std::string_view timestamp = request.Header("telnyx-timestamp");
    if (signature_b64.empty()) {
      return PermissionDenied("telnyx: missing telnyx-signature-ed25519 header");
    }
    if (timestamp.empty()) return PermissionDenied("telnyx: missing telnyx-timestamp header");
    int64_t at_s = 0;
    if (!ParseSeconds(timestamp, &at_s)) {
      return PermissionDenied("telnyx: telnyx-timestamp is not Unix seconds");
    }
    if (!WithinTolerance(at_s, now_ms, ToleranceSeconds(settings))) {
      return PermissionDenied("telnyx: telnyx-timestamp is outside the tolerance window");
    }
    const auto signature = Base64Decode(signature_b64);
    if (!signature.ok() || signature.value().size() != 64) {
      return PermissionDenied("telnyx: telnyx-signature-ed25519 is not a base64 Ed25519 signature");
    }

    std::unique_ptr<EVP_PKEY, PkeyFree> pkey(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key.value().data()),
        key.value().size()));
    if (pkey == nullptr) {
      return FailedPrecondition("telnyx settings: public_key is not a valid Ed25519 key");
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (ctx == nullptr ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
      return Internal("telnyx: cannot initialise Ed25519 verification");
    }
    const std::string message = std::string(timestamp) + "|" + request.body;
    const int ok = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(signature.value().data()),
        signature.value().size(), reinterpret_cast<const unsigned char*>(message.data()),
        message.size());
    if (ok != 1) return PermissionDenied("telnyx: telnyx-signature-ed25519 does not match");
    return WebhookVerdict{};
  }

  bool RepliesInResponse() const override { return false; }

  WebhookResponse Respond(const std::vector<std::string>& /*replies*/) const override {
    return JsonAcknowledgement();
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakeTelnyxWebhook() { return std::make_unique<TelnyxWebhook>(); }

}  // namespace smsconsent
