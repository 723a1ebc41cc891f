// WebhookService over a real SQLite store with a fake clock: a provider's request in, the
// outcome out, with no HTTP. The providers' formats and signatures have their own tests
// (tests/providers/webhooks_test.cc); here the generic provider stands for all of them.
#include "app/webhook_service.h"

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kNumber[] = "+15551234567";
constexpr char kSecret[] = "generic-secret";

class WebhookServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-hooksvc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "hooks.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    consent_ = std::make_unique<ConsentService>(*store_, clock_);
    auto acct = consent_->CreateAccount({"Acme", {kAddonMarketingSms}, "US"});
    ASSERT_TRUE(acct.ok()) << acct.status().ToString();
    account_ = acct->account.id;
    NewNumber n;
    n.account_id = account_;
    n.number = kNumber;
    ASSERT_TRUE(consent_->AddNumber(n).ok());
    ASSERT_TRUE(
        consent_->SetProvider(account_, "generic", json{{"secret", kSecret}}, std::nullopt).ok());
    WebhookService::Options options;
    options.on_not_verified = [this](std::string_view provider, std::string_view to,
                                     const Status& reason) {
      not_verified_.push_back(std::string(provider) + " " + std::string(to) + ": " +
                              reason.ToString());
    };
    webhooks_ = std::make_unique<WebhookService>(*consent_, *store_, clock_, std::move(options));
  }
  void TearDown() override {
    webhooks_.reset();
    consent_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // The generic provider's request for an SMS, signed with `secret` now.
  WebhookRequest Generic(const std::string& id, const std::string& from, const std::string& to,
                         const std::string& text, const std::string& secret = kSecret) const {
    WebhookRequest r;
    r.method = "POST";
    r.url = "https://sms.example.com/webhooks/generic";
    r.path = "/webhooks/generic";
    r.body = json{{"message_id", id}, {"from", from}, {"to", to}, {"body", text}}.dump();
    const std::string ts = std::to_string(clock_.NowMs() / 1000);
    r.headers = {
        {"content-type", "application/json"},
        {"x-smsconsent-timestamp", ts},
        {"x-smsconsent-signature", "sha256=" + HexEncode(HmacSha256(secret, ts + "." + r.body))}};
    return r;
  }

  // Receive with a service that answers before returning (no group committer here).
  WebhookOutcome Receive(std::string_view provider, const WebhookRequest& request) {
    std::optional<WebhookOutcome> out;
    webhooks_->Receive(provider, request, [&out](WebhookOutcome o) { out = std::move(o); });
    EXPECT_TRUE(out.has_value()) << "no outcome before Receive returned";
    return out ? std::move(*out) : WebhookOutcome{};
  }

  std::string StatusOf(const std::string& phone) {
    auto answer = consent_->CheckConsent(account_, phone, kNumber);
    EXPECT_TRUE(answer.ok()) << answer.status().ToString();
    return answer.ok() ? SubscriptionStatusName(answer->state.status) : "?";
  }

  fs::path dir_;
  TestClock clock_;
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> consent_;
  std::unique_ptr<WebhookService> webhooks_;
  int64_t account_ = 0;
  std::vector<std::string> not_verified_;  // what on_not_verified was told
};

TEST_F(WebhookServiceTest, ASignedMessageIsDecidedAndAnsweredAsItsProviderAnswers) {
  WebhookOutcome out = Receive("generic", Generic("m-1", "+14155550101", kNumber, "STOP"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.response.status, 200);
  EXPECT_EQ(out.response.body, R"({"ok":true})");
  ASSERT_NE(out.intent, nullptr);
  EXPECT_STREQ(out.intent, "opt_out");
  EXPECT_EQ(StatusOf("+14155550101"), "opted_out");

  // The provider's retry: the same answer, nothing new.
  WebhookOutcome again = Receive("generic", Generic("m-1", "+14155550101", kNumber, "STOP"));
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.response.body, out.response.body);
  auto history = consent_->History(account_, "+14155550101");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
}

TEST_F(WebhookServiceTest, AnUnknownProviderIsNotFound) {
  WebhookOutcome out = Receive("nexmo", Generic("m-2", "+14155550102", kNumber, "STOP"));
  EXPECT_EQ(out.status.code(), StatusCode::kNotFound);
  EXPECT_NE(out.status.message().find("nexmo"), std::string::npos);
}

TEST_F(WebhookServiceTest, AMalformedRequestIsInvalidAndNothingIsStored) {
  WebhookRequest r = Generic("m-3", "+14155550103", kNumber, "STOP");
  r.body = "not json";
  WebhookOutcome out = Receive("generic", r);
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.intent, nullptr);
  EXPECT_EQ(StatusOf("+14155550103"), "not_specified");
}

// A request the provider sends that carries no message (here a Telnyx delivery event, to a
// number nobody has) is acknowledged without being verified: nothing is stored or revealed.
TEST_F(WebhookServiceTest, ARequestWithoutAMessageIsAcknowledgedAndNothingIsStored) {
  WebhookRequest r;
  r.method = "POST";
  r.url = "https://sms.example.com/webhooks/telnyx";
  r.headers = {{"content-type", "application/json"}};
  r.body = R"({"data":{"event_type":"message.finalized","payload":{"id":"x",)"
           R"("from":{"phone_number":"+15559990000"},"to":[{"phone_number":"+14155550104"}]}}})";
  WebhookOutcome out = Receive("telnyx", r);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.response.body, R"({"ok":true})");
  EXPECT_EQ(out.intent, nullptr);
}

// Until a request is verified, its refusal says nothing about what the service holds: an
// unknown receiving number, an account without the provider's secret and a wrong signature are
// refused alike. The real reason is reported to on_not_verified.
TEST_F(WebhookServiceTest, RefusalsBeforeVerificationLookAlikeAndTheRealReasonIsReported) {
  NewNumber other;
  other.account_id = account_;
  other.number = "+15551234568";
  ASSERT_TRUE(consent_->AddNumber(other).ok());
  ASSERT_TRUE(consent_->SetProvider(account_, "generic", json{{"secret", ""}}, std::nullopt).ok());
  const WebhookOutcome no_secret = Receive("generic", Generic("m-5", "+14155550105", kNumber, "x"));
  ASSERT_TRUE(
      consent_->SetProvider(account_, "generic", json{{"secret", kSecret}}, std::nullopt).ok());
  const WebhookOutcome unknown =
      Receive("generic", Generic("m-6", "+14155550105", "+15559990000", "STOP"));
  const WebhookOutcome wrong =
      Receive("generic", Generic("m-7", "+14155550105", kNumber, "STOP", "not-the-secret"));
  for (const WebhookOutcome* out : {&no_secret, &unknown, &wrong}) {
    EXPECT_EQ(out->status.code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(out->status.message(), kWebhookNotVerified);
    EXPECT_EQ(out->intent, nullptr);
  }
  EXPECT_EQ(StatusOf("+14155550105"), "not_specified");
  ASSERT_EQ(not_verified_.size(), 3u);
  EXPECT_NE(not_verified_[0].find("generic settings lack \"secret\""), std::string::npos)
      << not_verified_[0];
  EXPECT_NE(not_verified_[1].find("generic +15559990000: NOT_FOUND"), std::string::npos)
      << not_verified_[1];
  EXPECT_NE(not_verified_[2].find("X-Smsconsent-Signature does not match"), std::string::npos)
      << not_verified_[2];
}

// Plivo's Signature V2 signs no message: with allow_v2, each nonce serves one request, in the
// store (so every instance on the database sees it), and is forgotten after kNonceTtlMs.
TEST_F(WebhookServiceTest, APlivoV2NonceServesOneRequestUntilItExpires) {
  ASSERT_TRUE(consent_
                  ->SetProvider(account_, "plivo", json{{"auth_token", "tok"}, {"allow_v2", true}},
                                std::nullopt)
                  .ok());
  const std::string url = "https://sms.example.com/webhooks/plivo";
  auto plivo = [&](const std::string& from, const std::string& id, const std::string& text,
                   const std::string& nonce) {
    WebhookRequest r;
    r.method = "POST";
    r.url = url;
    r.body = "From=" + from.substr(1) + "&To=" + std::string(kNumber).substr(1) +
             "&Type=sms&Text=" + text + "&MessageUUID=" + id;
    r.headers = {{"content-type", "application/x-www-form-urlencoded"},
                 {"x-plivo-signature-v2", Base64Encode(HmacSha256("tok", url + nonce))},
                 {"x-plivo-signature-v2-nonce", nonce}};
    return r;
  };
  const auto start = plivo("+14155550201", "bbbbbbbb-0000-4000-8000-000000000201", "START", "n-1");
  WebhookOutcome first = Receive("plivo", start);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(StatusOf("+14155550201"), "opted_in");
  // Plivo's retry of the same request: the same answer.
  WebhookOutcome retry = Receive("plivo", start);
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_EQ(retry.response.body, first.response.body);
  // The same nonce under another message: a replay.
  WebhookOutcome replay = Receive(
      "plivo", plivo("+14155550202", "bbbbbbbb-0000-4000-8000-000000000202", "STOP", "n-1"));
  EXPECT_EQ(replay.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(replay.status.message(), kWebhookNotVerified);
  ASSERT_FALSE(not_verified_.empty());
  EXPECT_NE(not_verified_.back().find("nonce"), std::string::npos) << not_verified_.back();
  EXPECT_EQ(StatusOf("+14155550202"), "not_specified");
  // Once forgotten, the nonce may serve again.
  clock_.Advance(WebhookService::kNonceTtlMs);
  WebhookOutcome later = Receive(
      "plivo", plivo("+14155550202", "bbbbbbbb-0000-4000-8000-000000000203", "STOP", "n-1"));
  EXPECT_TRUE(later.status.ok()) << later.status.ToString();
}

}  // namespace
}  // namespace smsconsent
