// Twilio Programmable Messaging inbound webhook (docs/webhooks.md#twilio).
//
// Twilio POSTs application/x-www-form-urlencoded parameters (From, To, Body, MessageSid, …)
// or, when the number is configured for GET, sends them in the query string. It signs every
// request: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + the POST parameters sorted
// by name, each as name followed by value)). The reply rides in the response as TwiML.
// A POST body is read only as the form Twilio signs; any other body is refused.
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

// The message fields: from the form body of a POST, else from the query string.
Result<ParsedInbound> ReadRequest(const WebhookRequest& request) {
  ParsedInbound in;
  if (request.method == "GET") {
    in.source = WebhookSource::kQuery;
    in.params = RequestQueryParams(request);
    return in;
  }
  if (!IsFormBody(request)) {
    return InvalidArgument("twilio: the body must be application/x-www-form-urlencoded, not \"" +
                           std::string(request.Header("content-type")) + "\"");
  }
  auto form = ParseFormUrlEncoded(request.body);
  if (!form.ok()) {
    return InvalidArgument("twilio: body is not application/x-www-form-urlencoded: " +
                           form.status().message());
  }
  in.source = WebhookSource::kForm;
  in.params = std::move(form).value();
  return in;
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
    SMSC_ASSIGN_OR_RETURN(ParsedInbound in, ReadRequest(request));
    const Params& params = in.params;
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

  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& parsed,
                                const nlohmann::json& settings, int64_t /*now_ms*/) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string token,
                          RequiredSetting(settings, "twilio", "auth_token"));
    const std::string_view signature = request.Header("x-twilio-signature");
    if (signature.empty()) return PermissionDenied("twilio: missing X-Twilio-Signature header");
    // A GET's parameters are in the URL, which is signed as it was called; a POST's are the
    // form parameters Parse read, appended sorted by name. A repeated name's values are sorted
    // too, so the result does not depend on the order the client sent them in. (Views compare
    // as the strings do.)
    std::string signed_params;
    if (parsed.source == WebhookSource::kForm) {
      std::vector<std::pair<std::string_view, std::string_view>> sorted(parsed.params.begin(),
                                                                        parsed.params.end());
      std::sort(sorted.begin(), sorted.end());
      std::size_t length = 0;
      for (const auto& [key, value] : sorted) length += key.size() + value.size();
      signed_params.reserve(length);
      for (const auto& [key, value] : sorted) {
        signed_params.append(key);
        signed_params.append(value);
      }
    } else if (parsed.source != WebhookSource::kQuery) {
      return PermissionDenied("twilio: not a reading of a Twilio request");
    }

    // Twilio may sign the URL with or without the port (its own libraries try both). The
    // comparison is constant-time; stopping at the first variant that matches tells a caller
    // only which public URL form a valid signature used. The URL as requested is the first
    // variant, and the one nearly every signature uses: the others are worked out only when
    // it does not match.
    std::string data;
    data.reserve(request.url.size() + signed_params.size() + 8);
    bool match = SignatureMatches(token, request.url, signed_params, signature, data);
    if (!match) {
      const std::vector<std::string> urls = UrlPortVariants(request.url);
      for (std::size_t i = 1; i < urls.size() && !match; ++i) {
        match = SignatureMatches(token, urls[i], signed_params, signature, data);
      }
    }
    if (!match) return PermissionDenied("twilio: X-Twilio-Signature does not match");
    return WebhookVerdict{};
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
