// Plivo inbound message webhook (docs/webhooks.md#plivo).
//
// Plivo POSTs a form (From, To, Text, Type, MessageUUID) to the application's message_url and
// signs it. Signature V3 (X-Plivo-Signature-V3 with X-Plivo-Signature-V3-Nonce):
//   base64(HMAC-SHA256(auth token, <url> + "." + nonce)), where <url> is the URL without its
//   query, then "?" + its query parameters sorted ("k=v&k=v", decoded), then — for a POST with
//   parameters — "." after a non-empty query, then the POST parameters sorted, each as name
//   followed by value. A header may list several signatures separated by commas.
// V3 covers the POST parameters only of a form body, so a POST body is read only as a form;
// any other body is refused rather than read unsigned.
// Older accounts send only Signature V2 (X-Plivo-Signature-V2 with X-Plivo-Signature-V2-Nonce):
//   base64(HMAC-SHA256(auth token, <url without query> + nonce)). It signs neither the message
//   nor a time, so one captured signature would carry any message from any phone: V2 is
//   accepted only from an account whose settings say "allow_v2": true, and then only once per
//   nonce (the verdict's single_use_nonce, which the caller claims in the store). The -Ma-
//   variants of both are signed with the main account's token; they are accepted when that is
//   the token configured.
#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/webhook.h"

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// The URL up to (not including) its query or fragment.
// A message status callback's Status as a delivery status: queued changes nothing; rejected
// (refused before it left) is failed.
std::optional<DeliveryStatus> PlivoDelivery(std::string_view status) {
  if (status == "sent") return DeliveryStatus::kSent;
  if (status == "delivered") return DeliveryStatus::kDelivered;
  if (status == "undelivered") return DeliveryStatus::kUndelivered;
  if (status == "failed" || status == "rejected") return DeliveryStatus::kFailed;
  return std::nullopt;
}

std::string_view BaseUrl(std::string_view url) {
  const size_t end = url.find_first_of("?#");
  return end == std::string_view::npos ? url : url.substr(0, end);
}

std::map<std::string, std::vector<std::string>> Group(const Params& params) {
  std::map<std::string, std::vector<std::string>> grouped;
  for (const auto& [k, v] : params) grouped[k].push_back(v);
  for (auto& [k, values] : grouped) std::sort(values.begin(), values.end());
  return grouped;
}

// The string V3 signs before ".nonce" (see the file comment), for a request read as `parsed`.
std::string V3SignedUrl(const WebhookRequest& request, const ParsedInbound& parsed) {
  const bool get = parsed.source == WebhookSource::kQuery;
  std::string query;
  for (const auto& [key, values] : Group(get ? parsed.params : RequestQueryParams(request))) {
    for (const auto& value : values) {
      if (!query.empty()) query += "&";
      query += key + "=" + value;
    }
  }
  std::string url(BaseUrl(request.url));
  if (get) {
    if (!query.empty()) url += "?" + query;
    return url;
  }
  const bool has_post_params = !parsed.params.empty();
  if (!query.empty() || has_post_params) url += "?" + query;
  if (!query.empty() && has_post_params) url += ".";
  for (const auto& [key, values] : Group(parsed.params)) {
    for (const auto& value : values) url += key + value;
  }
  return url;
}

// Whether the account accepts Signature V2: settings "allow_v2" is JSON true.
bool AllowsV2(const nlohmann::json& settings) {
  if (!settings.is_object()) return false;
  const auto it = settings.find("allow_v2");
  return it != settings.end() && it->is_boolean() && it->get<bool>();
}

// True when any of the comma-separated signatures in `header` equals `expected`.
bool AnyMatches(std::string_view header, const std::string& expected) {
  bool match = false;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view one = header.substr(pos, comma - pos);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    match |= ConstantTimeEquals(one, expected);
    pos = comma + 1;
  }
  return match;
}

class PlivoWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "plivo"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    ParsedInbound in;
    if (request.method == "GET") {
      in.source = WebhookSource::kQuery;
      in.params = RequestQueryParams(request);
    } else {
      if (!IsFormBody(request)) {
        return InvalidArgument(
            "plivo: the body must be application/x-www-form-urlencoded (what Signature V3 "
            "covers), not \"" +
            std::string(request.Header("content-type")) + "\"");
      }
      auto form = ParseFormUrlEncoded(request.body);
      if (!form.ok()) {
        return InvalidArgument("plivo: body is not application/x-www-form-urlencoded: " +
                               form.status().message());
      }
      in.source = WebhookSource::kForm;
      in.params = std::move(form).value();
    }
    const Params& params = in.params;
    const std::string* id = FindParam(params, "MessageUUID");
    const std::string* from = FindParam(params, "From");
    const std::string* to = FindParam(params, "To");
    const std::string* text = FindParam(params, "Text");
    if (id != nullptr) in.message_id = *id;
    if (from != nullptr) in.from = PlusE164(*from);
    if (to != nullptr) in.to = PlusE164(*to);
    // A message status callback pointed at this URL: it has a Status and no Text.
    if (text == nullptr && FindParam(params, "Status") != nullptr) {
      in.ignored = true;
      in.ignored_reason = "plivo status callback: " + *FindParam(params, "Status");
      std::swap(in.from, in.to);  // It reports on our own message: From is our number.
      DeliveryReport d;
      d.provider_message_id = in.message_id;
      d.provider_status = *FindParam(params, "Status");
      d.status = PlivoDelivery(d.provider_status);
      if (const std::string* code = FindParam(params, "ErrorCode")) d.error_code = *code;
      in.delivery = std::move(d);
      return in;
    }
    if (id == nullptr || id->empty())
      return InvalidArgument("plivo: missing MessageUUID parameter");
    if (from == nullptr || from->empty()) return InvalidArgument("plivo: missing From parameter");
    if (to == nullptr || to->empty()) return InvalidArgument("plivo: missing To parameter");
    if (text == nullptr) return InvalidArgument("plivo: missing Text parameter");
    SMSC_RETURN_IF_ERROR(CheckFormat(IsUuid(*id), "plivo", "MessageUUID", *id, "a UUID"));
    in.body = *text;
    return in;
  }

  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& parsed,
                                const nlohmann::json& settings, int64_t /*now_ms*/) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string token,
                          RequiredSetting(settings, "plivo", "auth_token"));
    if (parsed.source != WebhookSource::kQuery && parsed.source != WebhookSource::kForm) {
      return PermissionDenied("plivo: not a reading of a Plivo request");
    }

    const std::string_view v3_nonce = request.Header("x-plivo-signature-v3-nonce");
    std::string_view v3 = request.Header("x-plivo-signature-v3");
    if (v3.empty()) v3 = request.Header("x-plivo-signature-ma-v3");
    if (!v3.empty() && !v3_nonce.empty()) {
      const std::string expected = Base64Encode(
          HmacSha256(token, V3SignedUrl(request, parsed) + "." + std::string(v3_nonce)));
      bool match = AnyMatches(request.Header("x-plivo-signature-v3"), expected);
      match |= AnyMatches(request.Header("x-plivo-signature-ma-v3"), expected);
      if (!match) return PermissionDenied("plivo: X-Plivo-Signature-V3 does not match");
      return WebhookVerdict{};
    }

    const std::string_view v2_nonce = request.Header("x-plivo-signature-v2-nonce");
    std::string_view v2 = request.Header("x-plivo-signature-v2");
    if (v2.empty()) v2 = request.Header("x-plivo-signature-ma-v2");
    if (!v2.empty() && !v2_nonce.empty()) {
      if (!AllowsV2(settings)) {
        return PermissionDenied(
            "plivo: Signature V2 (which signs no message) is accepted only with allow_v2 in the "
            "account's plivo settings; this request has no X-Plivo-Signature-V3");
      }
      const std::string expected = Base64Encode(
          HmacSha256(token, std::string(BaseUrl(request.url)) + std::string(v2_nonce)));
      bool match = AnyMatches(request.Header("x-plivo-signature-v2"), expected);
      match |= AnyMatches(request.Header("x-plivo-signature-ma-v2"), expected);
      if (!match) return PermissionDenied("plivo: X-Plivo-Signature-V2 does not match");
      WebhookVerdict verdict;
      verdict.single_use_nonce = std::string(v2_nonce);
      return verdict;
    }
    return PermissionDenied(
        "plivo: missing X-Plivo-Signature-V3 and X-Plivo-Signature-V3-Nonce headers");
  }

  bool RepliesInResponse() const override { return false; }

  WebhookResponse Respond(const std::vector<std::string>& /*replies*/) const override {
    // Plivo expects Plivo XML from a message_url; an empty Response does nothing.
    WebhookResponse r;
    r.status = 200;
    r.content_type = "application/xml";
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
    return r;
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakePlivoWebhook() { return std::make_unique<PlivoWebhook>(); }

}  // namespace smsconsent
