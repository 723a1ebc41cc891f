// smsconsent's own JSON webhook, for providers without a dedicated adapter
// (docs/webhooks.md#generic).
//
// POST {"message_id", "from", "to", "body"} with
//   X-Smsconsent-Timestamp: <Unix seconds>
//   X-Smsconsent-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>
// The timestamp must be within the tolerance window (300 s by default).
#include <algorithm>
#include <cctype>
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

class GenericWebhook final : public WebhookProvider {
 public:
  std::string_view name() const override { return "generic"; }

  Result<ParsedInbound> Parse(const WebhookRequest& request) const override {
    auto read = ReadJson(request.body);
    if (!read.ok()) return InvalidArgument("generic: body: " + read.status().message());
    const json& doc = *read;
    if (!doc.is_object()) return InvalidArgument("generic: body is not a JSON object");
    ParsedInbound in;
    in.source = WebhookSource::kJsonBody;
    for (const auto& [field, target] :
         {std::pair<const char*, std::string*>{"message_id", &in.message_id},
          {"from", &in.from},
          {"to", &in.to},
          {"body", &in.body}}) {
      if (!doc.contains(field) || !doc[field].is_string()) {
        return InvalidArgument(std::string("generic: missing string field \"") + field + "\"");
      }
      *target = doc[field].get<std::string>();
      if (target != &in.body && target->empty()) {
        return InvalidArgument(std::string("generic: empty field \"") + field + "\"");
      }
    }
    SMSC_RETURN_IF_ERROR(CheckFormat(IsPrintableId(in.message_id), "generic", "message_id",
                                     in.message_id,
                                     "1 to 128 characters of printable ASCII without spaces"));
    return in;
  }

  // The signature covers the raw body, which is what Parse read the message from.
  Result<WebhookVerdict> Verify(const WebhookRequest& request, const ParsedInbound& /*parsed*/,
                                const nlohmann::json& settings, int64_t now_ms) const override {
    SMSC_ASSIGN_OR_RETURN(const std::string secret, RequiredSetting(settings, "generic", "secret"));
    const std::string_view header = request.Header("x-smsconsent-signature");
    const std::string_view timestamp = request.Header("x-smsconsent-timestamp");
    if (header.empty()) return PermissionDenied("generic: missing X-Smsconsent-Signature header");
    if (timestamp.empty())
      return PermissionDenied("generic: missing X-Smsconsent-Timestamp header");
    int64_t at_s = 0;
    if (!ParseSeconds(timestamp, &at_s)) {
      return PermissionDenied("generic: X-Smsconsent-Timestamp is not Unix seconds");
    }
    constexpr std::string_view kPrefix = "sha256=";
    if (header.substr(0, kPrefix.size()) != kPrefix) {
      return PermissionDenied("generic: X-Smsconsent-Signature must be \"sha256=<hex>\"");
    }
    std::string given(header.substr(kPrefix.size()));
    std::transform(given.begin(), given.end(), given.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string expected =
        HexEncode(HmacSha256(secret, std::string(timestamp) + "." + request.body));
    if (!ConstantTimeEquals(expected, given)) {
      return PermissionDenied("generic: X-Smsconsent-Signature does not match");
    }
    if (!WithinTolerance(at_s, now_ms, ToleranceSeconds(settings))) {
      return PermissionDenied("generic: X-Smsconsent-Timestamp is outside the tolerance window");
    }
    return WebhookVerdict{};
  }

  bool RepliesInResponse() const override { return false; }

  WebhookResponse Respond(const std::vector<std::string>& /*replies*/) const override {
    return JsonAcknowledgement();
  }
};

}  // namespace

std::unique_ptr<WebhookProvider> MakeGenericWebhook() { return std::make_unique<GenericWebhook>(); }

}  // namespace smsconsent
