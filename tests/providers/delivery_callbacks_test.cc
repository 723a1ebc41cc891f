// Delivery status callbacks of each provider, as Parse reads them into a DeliveryReport
// (docs/sending.md, "Delivery status"). The field names and values are the providers'
// documented ones.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "providers/webhook.h"

namespace smsconsent {
// Named, so that its helpers stay apart from those of the unity build's other files.
namespace delivery_callbacks {
namespace {

using nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;

const WebhookProvider& DlrProvider(const char* name) { return *FindWebhookProvider(name); }

std::string DlrForm(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

WebhookRequest DlrFormPost(const std::string& path, const Params& params) {
  WebhookRequest r;
  r.method = "POST";
  r.url = "https://sms.example.com" + path;
  r.path = path;
  r.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  r.body = DlrForm(params);
  return r;
}

WebhookRequest DlrGet(const std::string& path, const Params& params) {
  WebhookRequest r;
  r.method = "GET";
  r.url = "https://sms.example.com" + path + "?" + DlrForm(params);
  r.path = path;
  r.query = params;
  return r;
}

WebhookRequest DlrJsonPost(const std::string& path, const json& body) {
  WebhookRequest r;
  r.method = "POST";
  r.url = "https://sms.example.com" + path;
  r.path = path;
  r.headers = {{"content-type", "application/json"}};
  r.body = body.dump();
  return r;
}

// ---- Twilio: StatusCallback ----------------------------------------------------------------

Params DlrTwilioStatus(const std::string& status, const std::string& error_code = "") {
  Params p = {{"AccountSid", "AC0123456789abcdef0123456789abcdef"},
              {"From", "+15005550006"},
              {"To", "+15558675310"},
              {"MessageSid", "SM0123456789abcdef0123456789abcdef"},
              {"SmsSid", "SM0123456789abcdef0123456789abcdef"},
              {"MessageStatus", status},
              {"SmsStatus", status},
              {"ApiVersion", "2010-04-01"}};
  if (!error_code.empty()) p.emplace_back("ErrorCode", error_code);
  return p;
}

TEST(DeliveryCallback, TwilioStatusesMapAndTheSenderNumberRoutes) {
  struct Case {
    const char* status;
    std::optional<DeliveryStatus> want;
  };
  for (const Case& c :
       {Case{"queued", std::nullopt}, Case{"sending", std::nullopt},
        Case{"sent", DeliveryStatus::kSent}, Case{"delivered", DeliveryStatus::kDelivered},
        Case{"undelivered", DeliveryStatus::kUndelivered},
        Case{"failed", DeliveryStatus::kFailed}}) {
    auto in = DlrProvider("twilio").Parse(
        DlrFormPost("/webhooks/twilio/status", DlrTwilioStatus(c.status)));
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    ASSERT_TRUE(in->delivery.has_value()) << c.status;
    EXPECT_EQ(in->delivery->status, c.want) << c.status;
    EXPECT_EQ(in->delivery->provider_status, c.status);
    EXPECT_EQ(in->delivery->provider_message_id, "SM0123456789abcdef0123456789abcdef");
    EXPECT_EQ(in->to, "+15005550006");  // our number: the account is found by it
    EXPECT_TRUE(in->ignored);           // and the inbound route acknowledges it as before
  }
}

TEST(DeliveryCallback, TwilioErrorCodeIsKept) {
  auto in = DlrProvider("twilio").Parse(
      DlrFormPost("/webhooks/twilio/status", DlrTwilioStatus("undelivered", "21610")));
  ASSERT_TRUE(in.ok());
  ASSERT_TRUE(in->delivery.has_value());
  EXPECT_EQ(in->delivery->error_code, "21610");
  // An inbound message is no status callback.
  auto inbound = DlrProvider("twilio").Parse(
      DlrFormPost("/webhooks/twilio", {{"MessageSid", "SM0123456789abcdef0123456789abcdef"},
                                       {"From", "+15558675310"},
                                       {"To", "+15005550006"},
                                       {"Body", "STOP"}}));
  ASSERT_TRUE(inbound.ok()) << inbound.status().ToString();
  EXPECT_FALSE(inbound->delivery.has_value());
}

// ---- Plivo: message status callback (url) ----------------------------------------------------

TEST(DeliveryCallback, PlivoStatusesAndErrorCode) {
  struct Case {
    const char* status;
    std::optional<DeliveryStatus> want;
  };
  for (const Case& c :
       {Case{"queued", std::nullopt}, Case{"sent", DeliveryStatus::kSent},
        Case{"delivered", DeliveryStatus::kDelivered},
        Case{"undelivered", DeliveryStatus::kUndelivered}, Case{"failed", DeliveryStatus::kFailed},
        Case{"rejected", DeliveryStatus::kFailed}}) {
    auto in = DlrProvider("plivo").Parse(DlrFormPost(
        "/webhooks/plivo/status", {{"From", "14155551234"},
                                   {"To", "14155556789"},
                                   {"MessageUUID", "2f3e5b6a-0000-4000-8000-00000000abcd"},
                                   {"Status", c.status},
                                   {"ErrorCode", "30"}}));
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    ASSERT_TRUE(in->delivery.has_value());
    EXPECT_EQ(in->delivery->status, c.want) << c.status;
    EXPECT_EQ(in->delivery->provider_message_id, "2f3e5b6a-0000-4000-8000-00000000abcd");
    EXPECT_EQ(in->delivery->error_code, "30");
    EXPECT_EQ(in->to, "+14155551234");  // our number, with its '+' back
  }
}

// ---- Vonage: SMS API delivery receipt ---------------------------------------------------------

TEST(DeliveryCallback, VonageReceiptsMapAndErrCodeNineIsKept) {
  struct Case {
    const char* status;
    const char* err;
    std::optional<DeliveryStatus> want;
    const char* code;
  };
  for (const Case& c : {Case{"accepted", "0", DeliveryStatus::kSent, ""},
                        Case{"buffered", "0", DeliveryStatus::kSent, ""},
                        Case{"delivered", "0", DeliveryStatus::kDelivered, ""},
                        Case{"expired", "5", DeliveryStatus::kUndelivered, "5"},
                        Case{"failed", "9", DeliveryStatus::kFailed, "9"},
                        Case{"rejected", "9", DeliveryStatus::kFailed, "9"},
                        Case{"unknown", "99", std::nullopt, "99"}}) {
    auto in = DlrProvider("vonage").Parse(
        DlrGet("/webhooks/vonage/status", {{"msisdn", "447700900000"},
                                           {"to", "447700900001"},
                                           {"network-code", "12345"},
                                           {"messageId", "0A0000000123ABCD1"},
                                           {"price", "0.00000000"},
                                           {"status", c.status},
                                           {"scts", "2001011400"},
                                           {"err-code", c.err},
                                           {"message-timestamp", "2020-01-01 12:00:00"}}));
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    ASSERT_TRUE(in->delivery.has_value());
    EXPECT_EQ(in->delivery->status, c.want) << c.status;
    EXPECT_EQ(in->delivery->error_code, c.code) << c.status;
    EXPECT_EQ(in->delivery->provider_message_id, "0A0000000123ABCD1");
    EXPECT_EQ(in->to, "+447700900001");  // the sender: our number
  }
}

// ---- Telnyx: message.sent and message.finalized ---------------------------------------------

json DlrTelnyxEvent(const std::string& type, const std::string& status, json errors) {
  return {{"data",
           {{"record_type", "event"},
            {"id", "b301ed3f-1490-491f-995f-6e64e69674d4"},
            {"event_type", type},
            {"occurred_at", "2023-11-14T22:13:20.000Z"},
            {"payload",
             {{"record_type", "message"},
              {"direction", "outbound"},
              {"id", "40385f64-5717-4562-b3fc-2c963f66afa6"},
              {"type", "SMS"},
              {"from", {{"phone_number", "+18445550001"}}},
              {"to", json::array({{{"phone_number", "+18665550001"}, {"status", status}}})},
              {"text", "Sale today"},
              {"errors", std::move(errors)}}}}},
          {"meta", {{"attempt", 1}, {"delivered_to", "https://sms.example.com/x"}}}};
}

TEST(DeliveryCallback, TelnyxRecipientStatusAndFirstError) {
  struct Case {
    const char* type;
    const char* status;
    std::optional<DeliveryStatus> want;
  };
  for (const Case& c : {Case{"message.sent", "sent", DeliveryStatus::kSent},
                        Case{"message.finalized", "delivered", DeliveryStatus::kDelivered},
                        Case{"message.finalized", "sending_failed", DeliveryStatus::kFailed},
                        Case{"message.finalized", "delivery_failed", DeliveryStatus::kUndelivered},
                        Case{"message.finalized", "delivery_unconfirmed", DeliveryStatus::kSent},
                        Case{"message.sent", "queued", std::nullopt}}) {
    auto in = DlrProvider("telnyx").Parse(
        DlrJsonPost("/webhooks/telnyx/status", DlrTelnyxEvent(c.type, c.status, json::array())));
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    ASSERT_TRUE(in->delivery.has_value()) << c.status;
    EXPECT_EQ(in->delivery->status, c.want) << c.status;
    EXPECT_EQ(in->delivery->provider_message_id, "40385f64-5717-4562-b3fc-2c963f66afa6");
    EXPECT_EQ(in->to, "+18445550001");
  }
  auto blocked = DlrProvider("telnyx").Parse(DlrJsonPost(
      "/webhooks/telnyx/status",
      DlrTelnyxEvent(
          "message.finalized", "sending_failed",
          json::array({{{"code", "40300"}, {"title", "Blocked due to STOP message"}}}))));
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(blocked->delivery->error_code, "40300");
  EXPECT_EQ(blocked->delivery->error_text, "Blocked due to STOP message");
  // Other events carry no report.
  auto other = DlrProvider("telnyx").Parse(DlrJsonPost(
      "/webhooks/telnyx/status", DlrTelnyxEvent("message.queued", "queued", json::array())));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->delivery.has_value());
}

}  // namespace
}  // namespace delivery_callbacks
}  // namespace smsconsent
