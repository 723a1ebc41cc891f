// Kannel (open-source SMS gateway) sms-service webhook (docs/webhooks.md#kannel).
//
// smsbox fills the escape codes of an sms-service get-url/post-url and calls us. Two shapes:
//   * parameters, in the query string (get-url, or a post-url with a form body):
//       from=%p to=%P text=%b charset=%C coding=%c id=%I [smsc=%i ts=%T]
//   * Kannel's own POST (post-url): the text is the body, in the charset of its Content-Type,
//     with X-Kannel-From (only with send-sender = true), X-Kannel-To, X-Kannel-Coding,
//     X-Kannel-Time, X-Kannel-SMSC headers; the message id can ride in the URL (?id=%I).
// Kannel does not sign requests: a shared secret in the URL (?secret=…) or in an
// X-Smsconsent-Secret header authenticates them. The text/plain response body is sent back
// to the phone as the reply.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "core/segments.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The charset parameter of a Content-Type value ("text/plain; charset=\"UTF-16BE\""), or "".
std::string ContentTypeCharset(std::string_view content_type) {
  std::string lower(content_type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const size_t at = lower.find("charset=");
  if (at == std::string::npos) return {};
  std::string_view v = std::string_view(content_type).substr(at + 8);
  const size_t end = v.find(';');
  if (end != std::string_view::npos) v = v.substr(0, end);
  std::string out = Trim(v);
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"') {
    out = out.substr(1, out.size() - 2);
  }
  return out;
}

// Kannel's coding: 0 = 7-bit (GSM, delivered to us as text), 1 = 8-bit (binary),
// 2 = UCS-2 (UTF-16BE bytes). -1 when absent or unreadable.
int ParseCoding(std::string_view s) {
  const std::string t = Trim(s);
  if (t.size() != 1 || t[0] < '0' || t[0] > '9') return -1;
  return t[0] - '0';
}

// Decodes the message text to UTF-8 from what Kannel says about it. The charset wins over
// the coding: with smsbox's mo-recode, a UCS-2 message arrives as charset UTF-8.
Result<std::string> DecodeText(std::string_view raw, std::string charset, int coding) {
  charset = Upper(Trim(charset));
  if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
    charset = charset.substr(1, charset.size() - 2);
  }
  if (charset == "UTF16-BE" || charset == "UCS-2" || charset == "UCS2" || charset == "UCS-2BE") {
    charset = "UTF-16BE";  // Older Kannel spellings of UCS-2.
  }
  if (charset == "8-BIT" || charset == "BINARY" || (charset.empty() && coding == 1)) {
    // Binary data has no text; ISO-8859-1 maps every byte, so nothing is lost or rejected.
    return ConvertToUtf8(raw, "ISO-8859-1");
  }
  if (charset.empty() && coding == 2) charset = "UTF-16BE";
  if (charset.empty() || charset == "GSM") {
    // 7-bit text without a declared charset: modern smsbox hands it over as UTF-8, older ones
    // as Latin-1; valid UTF-8 is taken as such.
    if (IsValidUtf8(raw)) return std::string(raw);
    return ConvertToUtf8(raw, "WINDOWS-1252");
  }
  auto text = ConvertToUtf8(raw, charset);
  if (!text.ok()) return InvalidArgument("kannel: charset: " + text.status().message());
  return text;
}

class KannelWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "kannel"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    ParsedInbound in;
    in.params = RequestQueryParams(request);
    std::string raw_text, charset, time, smsc;
    int coding = -1;
    std::string id;
    if (const std::string* q = FindParam(in.params, "id")) id = Trim(*q);

    if (!request.Header("x-kannel-to").empty()) {
      in.source = WebhookSource::kRawBody;
      // Kannel's post-url: the text is the body; the rest comes in X-Kannel-* headers.
      in.to = Trim(request.Header("x-kannel-to"));
      in.from = Trim(request.Header("x-kannel-from"));
      if (in.from.empty()) {
        return InvalidArgument(
            "kannel: missing X-Kannel-From header (set send-sender = true in the sms-service)");
      }
      raw_text = request.body;
      const std::string_view content_type = request.Header("content-type");
      charset = std::string(request.Header("x-kannel-charset"));
      if (charset.empty()) charset = ContentTypeCharset(content_type);
      coding = ParseCoding(request.Header("x-kannel-coding"));
      if (charset.empty() && content_type.find("octet-stream") != std::string_view::npos) {
        coding = 1;
      }
      time = std::string(request.Header("x-kannel-time"));
      smsc = std::string(request.Header("x-kannel-smsc"));
    } else {
      in.source = WebhookSource::kQuery;
      if (request.Header("content-type").find("application/x-www-form-urlencoded") !=
          std::string_view::npos) {
        auto form = ParseFormUrlEncoded(request.body);
        if (!form.ok()) return InvalidArgument("kannel: form body: " + form.status().message());
        // The query's parameters first, so they win over the form's of the same name.
        in.source = WebhookSource::kForm;
        for (auto& kv : form.value()) in.params.push_back(std::move(kv));
      }
      const Params& params = in.params;
      if (id.empty()) {
        if (const std::string* p = FindParam(params, "id")) id = Trim(*p);
      }
      const std::string* from = FindParam(params, "from");
      if (from == nullptr) from = FindParam(params, "sender");
      const std::string* to = FindParam(params, "to");
      if (to == nullptr) to = FindParam(params, "receiver");
      const std::string* text = FindParam(params, "text");
      if (from == nullptr || Trim(*from).empty()) {
        return InvalidArgument("kannel: missing from parameter (from=%p in the get-url)");
      }
      if (to == nullptr || Trim(*to).empty()) {
        return InvalidArgument("kannel: missing to parameter (to=%P in the get-url)");
      }
      if (text == nullptr) {
        return InvalidArgument("kannel: missing text parameter (text=%b in the get-url)");
      }
      in.from = Trim(*from);
      in.to = Trim(*to);
      raw_text = *text;
      if (const std::string* c = FindParam(params, "charset")) charset = *c;
      if (const std::string* c = FindParam(params, "coding")) coding = ParseCoding(*c);
      if (const std::string* t = FindParam(params, "ts")) time = *t;
      if (time.empty()) {
        if (const std::string* t = FindParam(params, "time")) time = *t;
      }
      if (const std::string* s = FindParam(params, "smsc")) smsc = *s;
    }

    SMSC_ASSIGN_OR_RETURN(in.body, DecodeText(raw_text, charset, coding));

    if (!id.empty()) {
      SMSC_RETURN_IF_ERROR(CheckFormat(IsPrintableId(id), "kannel", "id", id,
                                       "1 to 128 characters of printable ASCII without spaces"));
      in.message_id = id;
    } else if (!Trim(time).empty()) {
      // Without %I, an id derived from what identifies the message: a retry of the same
      // request carries the same values, two messages differ in time or content.
      in.message_id = "kannel-" + HexEncode(Sha256(smsc + '\n' + in.from + '\n' + in.to + '\n' +
                                                   Trim(time) + '\n' + raw_text))
                                      .substr(0, 32);
    } else {
      return InvalidArgument(
          "kannel: missing id parameter (add id=%I to the get-url/post-url, or ts=%T for a "
          "derived id)");
    }
    return in;
  }

  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& parsed,
                                const nlohmann::json& settings, int64_t /*now_ms*/) const override {
    // A shared secret signs nothing: it authenticates the whole request, however it was read.
    SMSC_ASSIGN_OR_RETURN(const std::string secret, RequiredSetting(settings, "kannel", "secret"));
    std::string given;
    if (const std::string* s = FindParam(parsed.params, "secret")) given = *s;
    if (given.empty()) given = std::string(request.Header("x-smsconsent-secret"));
    if (given.empty()) {
      return PermissionDenied(
          "kannel: missing shared secret (secret query parameter or X-Smsconsent-Secret header)");
    }
    if (!ConstantTimeEquals(given, secret)) {
      return PermissionDenied("kannel: shared secret does not match");
    }
    return WebhookVerdict{};
  }

  bool RepliesInResponse() const override { return true; }

  WebhookResponse Respond(const std::vector<std::string>& replies) const override {
    WebhookResponse r;
    r.status = 200;
    r.content_type = "text/plain; charset=utf-8";
    // One response is one SMS (split into parts by Kannel): several replies share it.
    for (size_t i = 0; i < replies.size(); ++i) {
      if (i > 0) r.body += "\n";
      r.body += replies[i];
    }
    // smsbox would squeeze characters outside GSM-7 into '?' unless told to send UCS-2
    // (honoured when the sms-service has accept-x-kannel-headers = true).
    if (!r.body.empty() && CountSegments(r.body).encoding == SmsEncoding::kUcs2) {
      r.headers.emplace_back("X-Kannel-Coding", "2");
    }
    return r;
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakeKannelWebhook() { return std::make_unique<KannelWebhook>(); }

}  // namespace smsconsent
