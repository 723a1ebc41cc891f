// Twilio Programmable Messaging inbound webhook (docs/webhooks.md#twilio).
//
// Twilio POSTs application/x-www-form-urlencoded parameters (From, To, Body, MessageSid, …)
// or, when the number is configured for GET, sends them in the query string. It signs every
// request: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + the POST parameters sorted
// by name, each as name followed by value)). The reply rides in the response as TwiML.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/webhook.h"

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

bool IsJson(const WebhookRequest& request) {
  return request.Header("content-type").find("json") != std::string_view::npos;
}

// The parameters Twilio signed besides the URL: the form body of a POST; none for GET (its
// parameters are already in the URL) and none for a JSON body (signed via bodySHA256).
Result<Params> SignedBodyParams(const WebhookRequest& request) {
  if (request.method == "GET" || IsJson(request)) return Params{};
  return ParseFormUrlEncoded(request.body);
}

// The message fields: from the form body of a POST, else from the query string.
Result<Params> MessageParams(const WebhookRequest& request) {
  if (request.method == "GET") return RequestQueryParams(request);
  auto form = ParseFormUrlEncoded(request.body);
  if (!form.ok()) {
    return InvalidArgument("twilio: body is not application/x-www-form-urlencoded: " +
                           form.status().message());
  }
  return form;
}

// Appends `text` escaped for XML character data to `out`.
void AppendXmlEscaped(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 16);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default: {
        const auto b = static_cast<unsigned char>(c);
        // Control characters other than tab, LF and CR are not allowed in XML 1.0.
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') break;
        out.push_back(c);
      }
    }
  }
}

// Whether `signature` is Twilio's signature of `url` followed by `signed_params` under
// `token`. `data` is scratch space.
bool SignatureMatches(std::string_view token, std::string_view url, std::string_view signed_params,
                      std::string_view signature, std::string& data) {
  data.assign(url);
  data.append(signed_params);
  return ConstantTimeEquals(Base64Encode(HmacSha1(token, data)), signature);
}

class TwilioWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "twilio"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    SMSC_ASSIGN_OR_RETURN(Params params, MessageParams(request));
    ParsedInbound in;
    const std::string* sid = FindParam(params, "MessageSid");
    if (sid == nullptr) sid = FindParam(params, "SmsMessageSid");
    if (sid == nullptr) sid = FindParam(params, "SmsSid");
    const std::string* from = FindParam(params, "From");
    const std::string* to = FindParam(params, "To");
    if (sid != nullptr) in.message_id = *sid;
    if (from != nullptr) in.from = *from;
    if (to != nullptr) in.to = *to;

    // A status callback pointed at this URL reports on an outbound message: acknowledge it.
    const std::string* status = FindParam(params, "MessageStatus");
    if (status == nullptr) status = FindParam(params, "SmsStatus");
    if (status != nullptr && *status != "received") {
      in.ignored = true;
      in.ignored_reason = "twilio status callback: " + *status;
      std::swap(in.from, in.to);  // It reports on our own message: From is our number.
      return in;
    }
    if (sid == nullptr || sid->empty()) {
      return InvalidArgument("twilio: missing MessageSid (or SmsSid) parameter");
    }
    if (from == nullptr || from->empty()) return InvalidArgument("twilio: missing From parameter");
    if (to == nullptr || to->empty()) return InvalidArgument("twilio: missing To parameter");
    if (from->rfind("whatsapp:", 0) == 0 || from->rfind("messenger:", 0) == 0) {
      in.ignored = true;
      in.ignored_reason = "twilio: not an SMS (" + from->substr(0, from->find(':')) + ")";
      return in;
    }
    const std::string* body = FindParam(params, "Body");
    if (body == nullptr) return InvalidArgument("twilio: missing Body parameter");
    in.body = *body;  // May be empty: an MMS with media only.
    return in;
  }

  Status Verify(const WebhookRequest& request, const nlohmann::json& settings,
                int64_t /*now_ms*/) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string token,
                          RequiredSetting(settings, "twilio", "auth_token"));
    const std::string_view signature = request.Header("x-twilio-signature");
    if (signature.empty()) return PermissionDenied("twilio: missing X-Twilio-Signature header");
    auto body_params = SignedBodyParams(request);
    if (!body_params.ok()) {
      return PermissionDenied("twilio: cannot verify, body is not form-encoded");
    }
    const Params& params = *body_params;
    // By name; a repeated name's values in order too, so the result does not depend on the
    // order the client sent them in. (Views compare as the strings do.)
    std::vector<std::pair<std::string_view, std::string_view>> sorted(params.begin(), params.end());
    std::sort(sorted.begin(), sorted.end());
    std::size_t length = 0;
    for (const auto& [key, value] : sorted) length += key.size() + value.size();
    std::string signed_params;
    signed_params.reserve(length);
    for (const auto& [key, value] : sorted) {
      signed_params.append(key);
      signed_params.append(value);
    }

    // Twilio may sign the URL with or without the port (its own libraries try both). The
    // comparison is constant-time; stopping at the first variant that matches tells a caller
    // only which public URL form a valid signature used. The URL as requested is the first
    // variant, and the one nearly every signature uses: the others are worked out only when
    // it does not match.
    std::string data;
    data.reserve(request.url.size() + length + 8);
    bool match = SignatureMatches(token, request.url, signed_params, signature, data);
    if (!match) {
      const std::vector<std::string> urls = UrlPortVariants(request.url);
      for (std::size_t i = 1; i < urls.size() && !match; ++i) {
        match = SignatureMatches(token, urls[i], signed_params, signature, data);
      }
    }
    if (!match) return PermissionDenied("twilio: X-Twilio-Signature does not match");

    // A JSON body is covered by the bodySHA256 query parameter, which the URL signature
    // covers in turn.
    if (IsJson(request)) {
      const auto query = RequestQueryParams(request);
      const std::string* body_hash = FindParam(query, "bodySHA256");
      if (body_hash == nullptr) {
        return PermissionDenied("twilio: JSON body without bodySHA256 query parameter");
      }
      std::string given = *body_hash;
      std::transform(given.begin(), given.end(), given.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!ConstantTimeEquals(HexEncode(Sha256(request.body)), given)) {
        return PermissionDenied("twilio: bodySHA256 does not match the body");
      }
    }
    return Status::Ok();
  }

  bool RepliesInResponse() const override { return true; }

  WebhookResponse Respond(const std::vector<std::string>& replies) const override {
    WebhookResponse r;
    r.status = 200;
    r.content_type = "application/xml";
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (replies.empty()) {
      r.body += "<Response/>";
      return r;
    }
    r.body += "<Response>";
    for (const std::string& reply : replies) {
      r.body += "<Message>";
      AppendXmlEscaped(r.body, reply);
      r.body += "</Message>";
    }
    r.body += "</Response>";
    return r;
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakeTwilioWebhook() { return std::make_unique<TwilioWebhook>(); }

}  // namespace smsconsent
