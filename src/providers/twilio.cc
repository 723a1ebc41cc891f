// Twilio Programmable Messaging inbound webhook (docs/webhooks.md#twilio).
//
// Twilio POSTs application/x-www-form-urlencoded parameters (From, To, Body, MessageSid, …)
// or, when the number is configured for GET, sends them in the query string. It signs every
// request: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + the POST parameters sorted
// by name, each as name followed by value)). The reply rides in the response as TwiML.
// A POST body is read only as the form Twilio signs; any other body is refused.
//
// The signed string joins names and values without separators, so the same signature covers
// "MessageSid=SMaaa…&MessagingServiceSid=MGbbb…" and "MessageSid=SMaaa…MessagingServiceSidMGbbb…":
// a boundary between parameters can be moved without breaking it. A message is therefore taken
// only when it cannot be such a shift: every id is a Twilio SID, every address and count is of
// its form (a shifted value carries the next parameter's name and value along), a POST has
// only parameters Twilio sends, each once (a shift makes a new name or removes one).
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.h"
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

// The parameters of an inbound message that Twilio documents (docs/webhooks.md#twilio), sorted;
// MediaContentType<N> and MediaUrl<N> are checked apart.
constexpr std::string_view kMessageParams[] = {
    "AccountSid",    "AddOns",      "ApiVersion",    "Body",
    "From",          "FromCity",    "FromCountry",   "FromState",
    "FromZip",       "MessageSid",  "MessageStatus", "MessagingServiceSid",
    "NumMedia",      "NumSegments", "OptOutType",    "ReferralNumMedia",
    "SmsMessageSid", "SmsSid",      "SmsStatus",     "To",
    "ToCity",        "ToCountry",   "ToState",       "ToZip"};

static_assert(std::is_sorted(std::begin(kMessageParams), std::end(kMessageParams)));

bool IsIndexedMediaParam(std::string_view name) {
  for (const std::string_view prefix :
       {std::string_view("MediaContentType"), std::string_view("MediaUrl")}) {
    if (name.size() > prefix.size() && name.size() <= prefix.size() + 2 &&
        name.substr(0, prefix.size()) == prefix &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                    IsAsciiDigit)) {
      return true;
    }
  }
  return false;
}

// A phone number or short code as Twilio writes it: "+" and digits, or digits.
bool IsPhoneAddress(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return !s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), IsAsciiDigit);
}

bool IsCount(std::string_view s) {
  return !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), IsAsciiDigit);
}

// An inbound message's parameters that cannot be the product of a moved boundary (see the file
// comment). `post`: read from the form body, whose parameters are signed without separators
// (a GET's are in the URL, signed as written).
Status CheckMessageParams(const Params& params, bool post) {
  if (post) {
    std::vector<std::string_view> names;
    names.reserve(params.size());
    for (const auto& [name, value] : params) {
      if (!std::binary_search(std::begin(kMessageParams), std::end(kMessageParams), name) &&
          !IsIndexedMediaParam(name)) {
        return CheckFormat(false, "twilio", "parameter name", name,
                           "one Twilio sends with a message");
      }
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    const auto twice = std::adjacent_find(names.begin(), names.end());
    if (twice != names.end()) {
      return InvalidArgument("twilio: parameter " + std::string(*twice) + " appears twice");
    }
  }
  const std::string* sid = nullptr;
  for (const char* field : {"MessageSid", "SmsMessageSid", "SmsSid"}) {
    const std::string* value = FindParam(params, field);
    if (value == nullptr) continue;
    SMSC_RETURN_IF_ERROR(CheckFormat(IsTwilioSid(*value, "SM") || IsTwilioSid(*value, "MM"),
                                     "twilio", field, *value,
                                     "a message SID (SM or MM and 32 hex digits)"));
    if (sid != nullptr && *value != *sid) {
      return InvalidArgument(std::string("twilio: ") + field + " differs from the message's SID");
    }
    sid = value;
  }
  for (const auto& [field, prefix] :
       {std::pair<const char*, const char*>{"AccountSid", "AC"}, {"MessagingServiceSid", "MG"}}) {
    if (const std::string* value = FindParam(params, field)) {
      SMSC_RETURN_IF_ERROR(CheckFormat(IsTwilioSid(*value, prefix), "twilio", field, *value,
                                       std::string(prefix) + " and 32 hex digits"));
    }
  }
  for (const char* field : {"From", "To"}) {
    if (const std::string* value = FindParam(params, field)) {
      SMSC_RETURN_IF_ERROR(
          CheckFormat(IsPhoneAddress(*value), "twilio", field, *value, "a phone number"));
    }
  }
  for (const char* field : {"NumMedia", "NumSegments"}) {
    if (const std::string* value = FindParam(params, field)) {
      SMSC_RETURN_IF_ERROR(CheckFormat(IsCount(*value), "twilio", field, *value, "a count"));
    }
  }
  return Status::Ok();
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

// A MessageStatus as a delivery status; nullopt for the states on the way (accepted, queued,
// scheduled, sending) and for canceled, which never left.
std::optional<DeliveryStatus> TwilioDelivery(std::string_view status) {
  if (status == "sent") return DeliveryStatus::kSent;
  if (status == "delivered" || status == "read") return DeliveryStatus::kDelivered;
  if (status == "undelivered") return DeliveryStatus::kUndelivered;
  if (status == "failed") return DeliveryStatus::kFailed;
  return std::nullopt;
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
      DeliveryReport d;
      d.provider_message_id = in.message_id;
      d.provider_status = *status;
      d.status = TwilioDelivery(*status);
      if (const std::string* code = FindParam(params, "ErrorCode")) d.error_code = *code;
      if (const std::string* text = FindParam(params, "ErrorMessage")) d.error_text = *text;
      in.delivery = std::move(d);
      return in;
    }
    if (sid == nullptr || sid->empty()) {
      return InvalidArgument("twilio: missing MessageSid (or SmsSid) parameter");
    }
    if (from == nullptr || from->empty()) return InvalidArgument("twilio: missing From parameter");
    if (to == nullptr || to->empty()) return InvalidArgument("twilio: missing To parameter");
    // A channel address ("whatsapp:+1…", "messenger:…") is another channel than SMS.
    const size_t colon = from->find(':');
    if (colon != std::string::npos && colon > 0 &&
        std::all_of(from->begin(), from->begin() + static_cast<std::ptrdiff_t>(colon),
                    [](char c) { return c >= 'a' && c <= 'z'; })) {
      in.ignored = true;
      in.ignored_reason = "twilio: not an SMS (" + from->substr(0, colon) + ")";
      return in;
    }
    const std::string* body = FindParam(params, "Body");
    if (body == nullptr) return InvalidArgument("twilio: missing Body parameter");
    SMSC_RETURN_IF_ERROR(CheckMessageParams(params, in.source == WebhookSource::kForm));
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
