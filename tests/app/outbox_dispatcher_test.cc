// OutboxDispatcher over a real SQLite store, with a fake clock and a fake HttpClient that
// records every request and answers from a script: the senders' wire format (Twilio, Kannel,
// log; Vonage, Plivo and Telnyx as the dispatcher uses them), the retry/fail/dead decisions, the
// replies cancelled or expired as they leave, leases, and at-most-once across dispatchers.
#include "app/outbox_dispatcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "store/store.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;

// Records requests; answers each with the next scripted result, or 201 {"sid": "SM<n>"} when
// the script is empty. Thread-safe. `on_request` runs (unlocked) before answering.
class FakeHttp : public HttpClient {
 public:
  Result<HttpClientResponse> Send(const HttpClientRequest& request) override {
    std::function<void()> hook;
    Result<HttpClientResponse> answer = Response(201, "");
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      const size_t n = requests_.size();
      hook = on_request;
      if (!script_.empty()) {
        answer = script_.front();
        script_.pop_front();
      } else {
        answer = Response(201, R"({"sid":"SM)" + std::to_string(n) + R"("})");
      }
    }
    cv_.notify_all();
    if (hook) hook();
    return answer;
  }

  static HttpClientResponse Response(int status, std::string body) {
    HttpClientResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  void Then(Result<HttpClientResponse> r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(r));
  }
  std::vector<HttpClientRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  // Waits (up to a generous bound, for slow sanitizer runs) until `n` requests arrived.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return requests_.size() >= n; });
  }

  std::function<void()> on_request;  // set before use

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpClientRequest> requests_;
  std::deque<Result<HttpClientResponse>> script_;
};

std::string Header(const HttpClientRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "smsconsent-outbox-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    store_ = Must(OpenStore((dir_ / "outbox.db").string()));
    Account a;
    a.name = "Acme";
    a.marketing_sms_access = true;
    account_ = Must(store_->CreateAccount(a, ""));
    SenderNumber n;
    n.account_id = account_.id;
    n.number = "+4520123456";
    n.country = "DK";
    // Sent from at once, however many at one instant; the sending rate's own tests set a rate.
    n.rate_mmps = kUnspacedRateMmps;
    number_ = Must(store_->AddNumber(n));
    Contact c;
    c.account_id = account_.id;
    c.phone = "+4511111111";
    contact_ = Must(store_->AddContact(c));
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  }
  static void Must(const Status& st) {
    if (!st.ok()) throw std::runtime_error(st.ToString());
  }

  OutboxDispatcher::Options Opts(const std::string& owner = "test-dispatcher") {
    OutboxDispatcher::Options o;
    o.owner_id = owner;
    o.batch_size = 10;
    o.lease_ms = 60'000;
    o.base_backoff_ms = 1000;
    o.max_backoff_ms = 600'000;
    o.max_attempts = 8;
    o.sender_cache_ms = 5000;
    return o;
  }

  // Queues a reply due now, as ConsentService would.
  OutboxItem Queue(const std::string& body = "Hi there! æ") {
    ChangeSet changes;
    OutboxItem o;
    o.number_id = number_.id;
    o.contact_id = contact_.id;
    o.to = contact_.phone;
    o.from = number_.number;
    o.body = body;
    o.kind = ReplyKind::kHelp;
    o.created_at_ms = clock_.NowMs();
    o.next_attempt_at_ms = clock_.NowMs();
    changes.outbox = {o};
    return Must(store_->Commit(account_.id, changes)).outbox.at(0);
  }
  OutboxItem Get(int64_t id) { return Must(store_->GetOutboxItem(account_.id, id)); }

  // A change of the contact's status on the number, now, with the reply it queues (if any), as
  // ConsentService commits a decision. Returns the queued reply (id 0 when none).
  OutboxItem Decide(SubscriptionStatus from, SubscriptionStatus to, Source source,
                    std::optional<ReplyKind> reply, const std::string& body = "") {
    ChangeSet changes;
    EventDraft e;
    e.contact_id = contact_.id;
    e.phone = contact_.phone;
    e.number_id = number_.id;
    e.sender = number_.number;
    e.from = from;
    e.to = to;
    e.source = source;
    e.actor = source == Source::kKeyword ? "contact" : "user:staff";
    e.at_ms = clock_.NowMs();
    e.evidence = "{}";
    changes.events = {e};
    if (reply) {
      OutboxItem o;
      o.number_id = number_.id;
      o.contact_id = contact_.id;
      o.to = contact_.phone;
      o.from = number_.number;
      o.body = body.empty() ? ReplyKindName(*reply) : body;
      o.kind = *reply;
      o.created_at_ms = clock_.NowMs();
      o.next_attempt_at_ms = clock_.NowMs();
      changes.outbox = {o};
    }
    CommitResult r = Must(store_->Commit(account_.id, changes));
    return r.outbox.empty() ? OutboxItem{} : r.outbox.front();
  }
  // The bodies of the Twilio requests made so far, in order.
  std::vector<std::string> SentBodies() {
    std::vector<std::string> out;
    for (const HttpClientRequest& r : http_.requests()) {
      out.push_back(r.body.substr(r.body.find("Body=") + 5));
    }
    return out;
  }

  void UseTwilio(const std::string& settings = R"({"account_sid":"AC123","auth_token":"tok"})") {
    ProviderConfig c;
    c.account_id = account_.id;
    c.provider = "twilio";
    c.settings = settings;
    Must(store_->PutProviderConfig(c));
    Must(store_->SetReplySender(account_.id, "twilio"));
  }
  void UseKannel() {
    ProviderConfig c;
    c.account_id = account_.id;
    c.provider = "kannel";
    c.settings = R"({"sendsms_url":"http://127.0.0.1:13013/cgi-bin/sendsms","username":"smsc",)"
                 R"("password":"p&w d"})";
    Must(store_->PutProviderConfig(c));
    Must(store_->SetReplySender(account_.id, "kannel"));
  }

  fs::path dir_;
  std::unique_ptr<ConsentStore> store_;
  TestClock clock_{1'700'000'000'000};
  FakeHttp http_;
  Account account_;
  SenderNumber number_;
  Contact contact_;
};

// ---- Twilio -----------------------------------------------------------------------------------

TEST_F(DispatcherTest, TwilioRequestHasTheRestApiShape) {
  UseTwilio();
  OutboxItem o = Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());

  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(Header(reqs[0], "Authorization"), "Basic QUMxMjM6dG9r");  // AC123:tok
  EXPECT_EQ(Header(reqs[0], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(reqs[0].body, "From=%2B4520123456&To=%2B4511111111&Body=Hi+there%21+%C3%A6");

  OutboxItem sent = Get(o.id);
  EXPECT_EQ(sent.state, OutboxState::kSent);
  EXPECT_EQ(sent.provider_message_id, "SM1");
  EXPECT_EQ(sent.sent_at_ms, clock_.NowMs());
  EXPECT_EQ(sent.attempts, 1);
  EXPECT_EQ(sent.lease_owner, "test-dispatcher");
}

TEST_F(DispatcherTest, TwilioApiBaseUrlIsConfigurable) {
  UseTwilio(R"({"account_sid":"AC9","auth_token":"x","api_base_url":"http://127.0.0.1:4010/"})");
  Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  ASSERT_EQ(http_.count(), 1u);
  EXPECT_EQ(http_.requests()[0].url, "http://127.0.0.1:4010/2010-04-01/Accounts/AC9/Messages.json");
}

TEST_F(DispatcherTest, ServerErrorIsRetriedAfterTheBackoff) {
  UseTwilio();
  OutboxItem o = Queue();
  http_.Then(FakeHttp::Response(500, R"({"code":20500,"message":"Internal Server Error"})"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  const int64_t t0 = clock_.NowMs();
  ASSERT_TRUE(d.RunOnce().ok());
  OutboxItem pending = Get(o.id);
  EXPECT_EQ(pending.state, OutboxState::kPending);
  EXPECT_EQ(pending.attempts, 1);
  EXPECT_EQ(pending.next_attempt_at_ms, t0 + 1000);
  EXPECT_NE(pending.last_error.find("HTTP 500"), std::string::npos) << pending.last_error;

  ASSERT_TRUE(d.RunOnce().ok());  // not due yet
  clock_.Advance(999);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
  clock_.Advance(1);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 2u);
  OutboxItem sent = Get(o.id);
  EXPECT_EQ(sent.state, OutboxState::kSent);
  EXPECT_EQ(sent.attempts, 2);
  EXPECT_EQ(sent.provider_message_id, "SM2");
}

TEST_F(DispatcherTest, RateLimitAndNetworkErrorsAreRetried) {
  UseTwilio();
  OutboxItem a = Queue("a");
  OutboxItem b = Queue("b");
  http_.Then(FakeHttp::Response(429, R"({"code":20429,"message":"Too Many Requests"})"));
  http_.Then(Status(StatusCode::kUnavailable, "connecting to api.twilio.com:443 failed"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(a.id).state, OutboxState::kPending);
  EXPECT_EQ(Get(b.id).state, OutboxState::kPending);
  EXPECT_NE(Get(b.id).last_error.find("api.twilio.com"), std::string::npos);
}

TEST_F(DispatcherTest, ClientErrorFailsAndIsNeverRetried) {
  UseTwilio();
  OutboxItem o = Queue();
  http_.Then(FakeHttp::Response(
      400,
      R"({"code":21211,"message":"The 'To' number +4511111111 is not a valid phone number."})"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  OutboxItem failed = Get(o.id);
  EXPECT_EQ(failed.state, OutboxState::kFailed);
  EXPECT_NE(failed.last_error.find("HTTP 400"), std::string::npos);
  EXPECT_NE(failed.last_error.find("not a valid phone number"), std::string::npos);
  EXPECT_NE(failed.last_error.find("21211"), std::string::npos);

  clock_.Advance(24 * 3600 * 1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
  EXPECT_EQ(Get(o.id).state, OutboxState::kFailed);
}

TEST_F(DispatcherTest, EightRetryableFailuresMakeTheItemDead) {
  UseTwilio();
  OutboxItem o = Queue();
  for (int i = 0; i < 8; ++i) http_.Then(FakeHttp::Response(503, "Service Unavailable"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  int64_t expected_delay = 1000;
  for (int attempt = 1; attempt <= 7; ++attempt) {
    const int64_t now = clock_.NowMs();
    ASSERT_TRUE(d.RunOnce().ok());
    OutboxItem item = Get(o.id);
    ASSERT_EQ(item.state, OutboxState::kPending) << "attempt " << attempt;
    EXPECT_EQ(item.attempts, attempt);
    EXPECT_EQ(item.next_attempt_at_ms - now, expected_delay) << "attempt " << attempt;
    clock_.Advance(item.next_attempt_at_ms - now);
    expected_delay *= 2;
  }
  ASSERT_TRUE(d.RunOnce().ok());
  OutboxItem dead = Get(o.id);
  EXPECT_EQ(dead.state, OutboxState::kDead);
  EXPECT_EQ(dead.attempts, 8);
  EXPECT_NE(dead.last_error.find("gave up after 8 attempts"), std::string::npos);
  EXPECT_NE(dead.last_error.find("HTTP 503"), std::string::npos);

  clock_.Advance(3600 * 1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 8u);
}

TEST_F(DispatcherTest, BackoffIsCappedAtTheMaximum) {
  UseTwilio();
  OutboxItem o = Queue();
  for (int i = 0; i < 3; ++i) http_.Then(FakeHttp::Response(502, ""));
  auto opts = Opts();
  opts.base_backoff_ms = 1000;
  opts.max_backoff_ms = 1500;
  OutboxDispatcher d(*store_, clock_, http_, opts);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(o.id).next_attempt_at_ms - clock_.NowMs(), 1000);
  clock_.Advance(1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(o.id).next_attempt_at_ms - clock_.NowMs(), 1500);
}

TEST_F(DispatcherTest, MissingSettingsFailTheItemWithTheReason) {
  Must(store_->SetReplySender(account_.id, "twilio"));  // but no twilio settings
  OutboxItem o = Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  OutboxItem failed = Get(o.id);
  EXPECT_EQ(failed.state, OutboxState::kFailed);
  EXPECT_NE(failed.last_error.find("account_sid"), std::string::npos) << failed.last_error;
  EXPECT_EQ(http_.count(), 0u);

  // Incomplete settings: the missing key is named.
  UseTwilio(R"({"account_sid":"AC1"})");
  clock_.Advance(10'000);  // past the sender cache
  OutboxItem second = Queue();
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(second.id).state, OutboxState::kFailed);
  EXPECT_NE(Get(second.id).last_error.find("auth_token"), std::string::npos);
}

TEST_F(DispatcherTest, UnknownReplySenderFailsTheItem) {
  Must(store_->SetReplySender(account_.id, "carrier-pigeon"));
  OutboxItem o = Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(o.id).state, OutboxState::kFailed);
  EXPECT_NE(Get(o.id).last_error.find("carrier-pigeon"), std::string::npos);
}

TEST_F(DispatcherTest, SettingsChangesApplyOnceTheCacheExpires) {
  UseTwilio(R"({"account_sid":"AC1","auth_token":"old"})");
  Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  UseTwilio(R"({"account_sid":"AC2","auth_token":"new"})");
  Queue();
  ASSERT_TRUE(d.RunOnce().ok());  // within sender_cache_ms: still the old settings
  clock_.Advance(5000);
  Queue();
  ASSERT_TRUE(d.RunOnce().ok());
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[1].url.find("/AC1/"), std::string::npos);
  EXPECT_NE(reqs[2].url.find("/AC2/"), std::string::npos);
}

// ---- log and Kannel ---------------------------------------------------------------------------

TEST_F(DispatcherTest, LogSenderMarksSentWithoutAnyRequest) {
  OutboxItem o = Queue();  // accounts start with the log sender
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 0u);
  EXPECT_EQ(Get(o.id).state, OutboxState::kSent);
  EXPECT_EQ(Get(o.id).sent_at_ms, clock_.NowMs());
}

TEST_F(DispatcherTest, KannelSendsGsmTextAsUtf8) {
  UseKannel();
  OutboxItem o = Queue("Hej æøå");  // æ, ø, å are in the GSM-7 alphabet
  http_.Then(FakeHttp::Response(202, "0: Accepted for delivery"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].url,
            "http://127.0.0.1:13013/cgi-bin/sendsms?username=smsc&password=p%26w%20d"
            "&from=%2B4520123456&to=%2B4511111111&text=Hej%20%C3%A6%C3%B8%C3%A5"
            "&charset=UTF-8&coding=0");
  EXPECT_EQ(Get(o.id).state, OutboxState::kSent);
}

TEST_F(DispatcherTest, KannelSendsNonGsmTextAsUcs2) {
  UseKannel();
  Queue("Привет");
  Queue("ok 😀");  // outside the BMP: a surrogate pair
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  http_.Then(FakeHttp::Response(202, "0: Accepted for delivery"));
  http_.Then(FakeHttp::Response(202, "3: Queued for later delivery"));
  ASSERT_TRUE(d.RunOnce().ok());
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].url.find("&text=%04%1F%04%40%048%042%045%04B&charset=UTF-16BE&coding=2"),
            std::string::npos)
      << reqs[0].url;
  EXPECT_NE(reqs[1].url.find("&text=%00o%00k%00%20%D8%3D%DE%00&charset=UTF-16BE&coding=2"),
            std::string::npos)
      << reqs[1].url;
}

TEST_F(DispatcherTest, KannelTemporaryFailureRetriesAndAuthFailureFails) {
  UseKannel();
  OutboxItem a = Queue("a");
  OutboxItem b = Queue("b");
  http_.Then(FakeHttp::Response(503, "Temporal failure, try again later."));
  http_.Then(FakeHttp::Response(403, "Authorization failed for sendsms"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(a.id).state, OutboxState::kPending);
  EXPECT_EQ(Get(b.id).state, OutboxState::kFailed);
  EXPECT_NE(Get(b.id).last_error.find("Authorization failed"), std::string::npos);
}

// ---- Vonage, Plivo, Telnyx (their wire formats: tests/providers/senders_test.cc) ---------------

TEST_F(DispatcherTest, TelnyxRetriesOfOneReplyCarryOneIdempotencyKey) {
  ProviderConfig c;
  c.account_id = account_.id;
  c.provider = "telnyx";
  c.settings = R"({"public_key":"x","api_key":"KEY1"})";
  Must(store_->PutProviderConfig(c));
  Must(store_->SetReplySender(account_.id, "telnyx"));
  OutboxItem a = Queue("a");
  OutboxItem b = Queue("b");
  http_.Then(FakeHttp::Response(503, R"({"errors":[{"title":"Service Unavailable"}]})"));
  http_.Then(FakeHttp::Response(200, R"({"data":{"id":"msg-b"}})"));
  http_.Then(FakeHttp::Response(200, R"({"data":{"id":"msg-a"}})"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  clock_.Advance(1000);
  ASSERT_TRUE(d.RunOnce().ok());

  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].url, "https://api.telnyx.com/v2/messages");
  EXPECT_EQ(Header(reqs[0], "Authorization"), "Bearer KEY1");
  const std::string key_a = Header(reqs[0], "Idempotency-Key");
  EXPECT_EQ(key_a, "smsconsent:" + std::to_string(account_.id) + ":" + std::to_string(a.id) + ":" +
                       std::to_string(a.created_at_ms));
  EXPECT_NE(Header(reqs[1], "Idempotency-Key"), key_a);  // another reply
  EXPECT_EQ(Header(reqs[2], "Idempotency-Key"), key_a);  // a's retry
  EXPECT_EQ(Get(a.id).state, OutboxState::kSent);
  EXPECT_EQ(Get(a.id).provider_message_id, "msg-a");
  EXPECT_EQ(Get(b.id).provider_message_id, "msg-b");
}

TEST_F(DispatcherTest, VonageAndPlivoSendThroughTheirApisWithTheirSettings) {
  for (const std::string provider : {"vonage", "plivo"}) {
    ProviderConfig c;
    c.account_id = account_.id;
    c.provider = provider;
    c.settings = provider == "vonage" ? R"({"signature_secret":"s","api_key":"k","api_secret":"p"})"
                                      : R"({"auth_token":"t","auth_id":"MA1"})";
    Must(store_->PutProviderConfig(c));
    Must(store_->SetReplySender(account_.id, provider));
    clock_.Advance(10'000);  // past the sender cache
    http_.Then(provider == "vonage"
                   ? FakeHttp::Response(200, R"({"messages":[{"status":"0","message-id":"V1"}]})")
                   : FakeHttp::Response(202, R"({"message_uuid":["P1"]})"));
    OutboxItem o = Queue();
    OutboxDispatcher d(*store_, clock_, http_, Opts());
    ASSERT_TRUE(d.RunOnce().ok());
    EXPECT_EQ(Get(o.id).state, OutboxState::kSent) << provider << ": " << Get(o.id).last_error;
    EXPECT_EQ(Get(o.id).provider_message_id, provider == "vonage" ? "V1" : "P1");
  }
  auto reqs = http_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].url, "https://rest.nexmo.com/sms/json");
  EXPECT_EQ(reqs[1].url, "https://api.plivo.com/v1/Account/MA1/Message/");
}

TEST_F(DispatcherTest, NewSendersWithoutTheirCredentialsFailTheItemNamingTheSetting) {
  ProviderConfig c;
  c.account_id = account_.id;
  c.provider = "vonage";
  c.settings = R"({"signature_secret":"only the webhook's"})";
  Must(store_->PutProviderConfig(c));
  Must(store_->SetReplySender(account_.id, "vonage"));
  OutboxItem o = Queue();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(Get(o.id).state, OutboxState::kFailed);
  EXPECT_NE(Get(o.id).last_error.find("api_key"), std::string::npos) << Get(o.id).last_error;
  EXPECT_EQ(http_.count(), 0u);
}

// ---- Replies checked as they leave -------------------------------------------------------------

// A staff opt-in queues its confirmation; the contact texts STOP before any dispatcher runs.
// Only the opt-out confirmation leaves; the opt-in confirmation is cancelled with the reason.
TEST_F(DispatcherTest, StaleOptInConfirmationIsCancelledAndOnlyTheOptOutConfirmationSent) {
  UseTwilio();
  const OutboxItem opt_in = Decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                                   Source::kManual, ReplyKind::kOptInConfirmation, "subscribed");
  clock_.Advance(1000);
  const OutboxItem opt_out =
      Decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut, Source::kKeyword,
             ReplyKind::kOptOutConfirmation, "unsubscribed");
  clock_.Advance(1000);
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());

  EXPECT_EQ(SentBodies(), std::vector<std::string>{"unsubscribed"});
  const OutboxItem cancelled = Get(opt_in.id);
  EXPECT_EQ(cancelled.state, OutboxState::kCancelled);
  EXPECT_EQ(cancelled.last_error, "status changed since queued: now opted_out");
  EXPECT_EQ(cancelled.attempts, 0);
  EXPECT_EQ(Get(opt_out.id).state, OutboxState::kSent);
  clock_.Advance(3600 * 1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
}

// The first attempt meets a provider error; the contact opts out before the retry is due. The
// retry is checked again, and cancelled instead of sent.
TEST_F(DispatcherTest, ARetryIsCancelledWhenTheContactOptedOutMeanwhile) {
  UseTwilio();
  const OutboxItem opt_in = Decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                                   Source::kKeyword, ReplyKind::kOptInConfirmation, "subscribed");
  http_.Then(FakeHttp::Response(503, "Service Unavailable"));
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  ASSERT_EQ(Get(opt_in.id).state, OutboxState::kPending);
  Decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut, Source::kKeyword,
         std::nullopt);
  clock_.Advance(1000);  // the retry is due
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
  const OutboxItem cancelled = Get(opt_in.id);
  EXPECT_EQ(cancelled.state, OutboxState::kCancelled);
  EXPECT_EQ(cancelled.attempts, 1);
  EXPECT_EQ(cancelled.last_error, "status changed since queued: now opted_out");
}

TEST_F(DispatcherTest, RepliesPastTheirMaximumAgeExpireUnsent) {
  UseTwilio();
  // Nothing dispatches for two hours: the opt-in confirmation is past its hour, the HELP
  // answer (24 hours) is not.
  const OutboxItem opt_in = Decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                                   Source::kManual, ReplyKind::kOptInConfirmation, "subscribed");
  const OutboxItem help = Queue("help");
  clock_.Advance(2 * 3600 * 1000);
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(SentBodies(), std::vector<std::string>{"help"});
  const OutboxItem expired = Get(opt_in.id);
  EXPECT_EQ(expired.state, OutboxState::kExpired);
  EXPECT_EQ(expired.last_error, "not sent within its maximum age of 1 h (queued 2 h ago)");
  EXPECT_EQ(Get(help.id).state, OutboxState::kSent);

  // A HELP answer has its own maximum age: a day.
  const OutboxItem late = Queue("late help");
  clock_.Advance(25 * 3600 * 1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
  EXPECT_EQ(Get(late.id).state, OutboxState::kExpired);
  EXPECT_EQ(Get(late.id).last_error, "not sent within its maximum age of 24 h (queued 25 h ago)");
}

// An opt-out confirmation is presumed within the contact's consent only when it leaves within
// five minutes of the STOP: after a ten-minute stop of every dispatcher it is never sent, while
// a HELP answer queued at the same time still is.
TEST_F(DispatcherTest, AnOptOutConfirmationNotSentWithinFiveMinutesExpires) {
  UseTwilio();
  const OutboxItem stop = Decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedOut,
                                 Source::kKeyword, ReplyKind::kOptOutConfirmation, "unsubscribed");
  const OutboxItem help = Queue("help");
  clock_.Advance(10 * 60 * 1000);
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(SentBodies(), std::vector<std::string>{"help"});
  EXPECT_EQ(Get(stop.id).state, OutboxState::kExpired);
  EXPECT_EQ(Get(stop.id).last_error,
            "not sent within its maximum age of 5 min (queued 10 min ago)");
}

TEST_F(DispatcherTest, MaximumAgesAreOptions) {
  UseTwilio();
  auto opts = Opts();
  opts.max_ages.reply_ms = 10 * 60 * 1000;
  opts.max_ages.help_ms = 20 * 60 * 1000;
  const OutboxItem opt_in = Decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                                   Source::kManual, ReplyKind::kOptInConfirmation, "subscribed");
  const OutboxItem help = Queue("help");
  clock_.Advance(15 * 60 * 1000);
  OutboxDispatcher d(*store_, clock_, http_, opts);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(SentBodies(), std::vector<std::string>{"help"});
  EXPECT_EQ(Get(opt_in.id).last_error,
            "not sent within its maximum age of 10 min (queued 15 min ago)");
  EXPECT_EQ(Get(help.id).state, OutboxState::kSent);
}

// Stale replies do not count against a pass's batch: the pass retires them and still sends a
// full batch of the replies that are due.
TEST_F(DispatcherTest, RetiredRepliesDoNotUseUpAPass) {
  UseTwilio();
  for (int i = 0; i < 15; ++i) {
    Decide(i == 0 ? SubscriptionStatus::kNotSpecified : SubscriptionStatus::kOptedIn,
           SubscriptionStatus::kOptedIn, Source::kKeyword, ReplyKind::kOptInConfirmation,
           "subscribed");
  }
  Decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut, Source::kKeyword,
         std::nullopt);
  for (int i = 0; i < 12; ++i) Queue("help" + std::to_string(i));
  OutboxDispatcher d(*store_, clock_, http_, Opts());  // batch_size 10
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 10u);
  std::map<OutboxState, int64_t> counts;
  for (const auto& [state, n] : Must(store_->CountOutbox())) counts[state] = n;
  EXPECT_EQ(counts[OutboxState::kCancelled], 15);
  EXPECT_EQ(counts[OutboxState::kSent], 10);
  EXPECT_EQ(counts[OutboxState::kPending], 2);
}

// ---- Leases and at-most-once ------------------------------------------------------------------

TEST_F(DispatcherTest, ExpiredLeaseIsDeadAndNeverResent) {
  UseTwilio();
  OutboxItem o = Queue();
  // A dispatcher claimed it and died before recording the outcome.
  OutboxClaim claim;
  claim.now_ms = clock_.NowMs();
  claim.limit = 10;
  claim.owner = "crashed";
  claim.lease_ms = 30'000;
  ASSERT_EQ(Must(store_->ClaimOutbox(claim)).items.size(), 1u);

  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());  // lease still running: left alone
  EXPECT_EQ(Get(o.id).state, OutboxState::kSending);
  clock_.Advance(30'001);
  ASSERT_TRUE(d.RunOnce().ok());
  OutboxItem dead = Get(o.id);
  EXPECT_EQ(dead.state, OutboxState::kDead);
  EXPECT_NE(dead.last_error.find("never sent twice"), std::string::npos);
  clock_.Advance(3600 * 1000);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 0u);
}

TEST_F(DispatcherTest, AnotherDispatcherNeverResendsASentItem) {
  UseTwilio();
  OutboxItem o = Queue();
  {
    OutboxDispatcher first(*store_, clock_, http_, Opts("first"));
    ASSERT_TRUE(first.RunOnce().ok());
  }
  ASSERT_EQ(Get(o.id).state, OutboxState::kSent);
  // A restart: a new instance on a reopened store.
  store_.reset();
  store_ = Must(OpenStore((dir_ / "outbox.db").string()));
  OutboxDispatcher second(*store_, clock_, http_, Opts("second"));
  clock_.Advance(3600 * 1000);
  ASSERT_TRUE(second.RunOnce().ok());
  EXPECT_EQ(http_.count(), 1u);
  EXPECT_EQ(Get(o.id).lease_owner, "first");
}

TEST_F(DispatcherTest, ConcurrentDispatchersSendEachItemOnce) {
  UseTwilio();
  std::set<std::string> bodies;
  for (int i = 0; i < 60; ++i) {
    bodies.insert("item" + std::to_string(i));
    Queue("item" + std::to_string(i));
  }
  auto second_store = Must(OpenStore((dir_ / "outbox.db").string()));
  OutboxDispatcher a(*store_, clock_, http_, Opts("a"));
  OutboxDispatcher b(*second_store, clock_, http_, Opts("b"));
  auto drain = [](OutboxDispatcher& d) {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(d.RunOnce().ok());
  };
  std::thread ta([&] { drain(a); });
  std::thread tb([&] { drain(b); });
  ta.join();
  tb.join();

  std::multiset<std::string> sent;
  for (const HttpClientRequest& r : http_.requests()) {
    sent.insert(r.body.substr(r.body.find("Body=") + 5));
  }
  EXPECT_EQ(sent.size(), 60u);
  EXPECT_EQ(std::set<std::string>(sent.begin(), sent.end()), bodies);
  for (const auto& [state, n] : Must(store_->CountOutbox())) {
    EXPECT_EQ(n, state == OutboxState::kSent ? 60 : 0) << OutboxStateName(state);
  }
}

// A dispatcher that stops mid-send (here: its send never returns, which to the store is the
// same as its process being killed) holds only the item on the wire. Another dispatcher sends
// every other item once the first one is gone; the item on the wire becomes dead when its
// lease runs out and is never sent again.
TEST_F(DispatcherTest, KilledDispatchersUnsentItemsAreSentByAnother) {
  UseTwilio();
  std::vector<OutboxItem> items;
  for (int i = 0; i < 5; ++i) items.push_back(Queue("item" + std::to_string(i)));

  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  http_.on_request = [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  auto first_store = Must(OpenStore((dir_ / "outbox.db").string()));
  OutboxDispatcher first(*first_store, clock_, http_, Opts("first"));
  Status first_pass;
  std::thread hung([&] { first_pass = first.RunOnce(); });
  ASSERT_TRUE(http_.WaitFor(1));  // the first item is on the wire, and stays there

  // Only the item on the wire is held; the others are still pending for anyone.
  std::map<OutboxState, int64_t> counts;
  for (const auto& [state, n] : Must(store_->CountOutbox())) counts[state] = n;
  EXPECT_EQ(counts[OutboxState::kSending], 1);
  EXPECT_EQ(counts[OutboxState::kPending], 4);
  EXPECT_EQ(Get(items[0].id).lease_owner, "first");

  FakeHttp second_http;
  OutboxDispatcher second(*store_, clock_, second_http, Opts("second"));
  ASSERT_TRUE(second.RunOnce().ok());
  EXPECT_EQ(second_http.count(), 4u);  // the four the first dispatcher never claimed
  EXPECT_EQ(Get(items[0].id).state, OutboxState::kSending);  // its lease still runs

  clock_.Advance(60'001);  // the first dispatcher's lease runs out
  ASSERT_TRUE(second.RunOnce().ok());
  OutboxItem on_the_wire = Get(items[0].id);
  EXPECT_EQ(on_the_wire.state, OutboxState::kDead);
  EXPECT_NE(on_the_wire.last_error.find("interrupted while sending"), std::string::npos)
      << on_the_wire.last_error;
  EXPECT_EQ(second_http.count(), 4u);  // not re-sent
  for (size_t i = 1; i < items.size(); ++i) {
    OutboxItem sent = Get(items[i].id);
    EXPECT_EQ(sent.state, OutboxState::kSent) << i;
    EXPECT_EQ(sent.lease_owner, "second") << i;
    EXPECT_EQ(sent.attempts, 1) << i;
  }
  std::multiset<std::string> bodies;
  for (const HttpClientRequest& r : second_http.requests()) {
    bodies.insert(r.body.substr(r.body.find("Body=") + 5));
  }
  EXPECT_EQ(bodies, (std::multiset<std::string>{"item1", "item2", "item3", "item4"}));

  // The first dispatcher's send finally returns: its outcome is refused (the item stays dead)
  // and it finds nothing more to send.
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  hung.join();
  EXPECT_EQ(first_pass.code(), StatusCode::kAborted) << first_pass.ToString();
  EXPECT_EQ(http_.count(), 1u);
  EXPECT_EQ(Get(items[0].id).state, OutboxState::kDead);
}

TEST_F(DispatcherTest, APassSendsAtMostBatchSizeItems) {
  UseTwilio();
  for (int i = 0; i < 12; ++i) Queue("item" + std::to_string(i));
  OutboxDispatcher d(*store_, clock_, http_, Opts());  // batch_size 10
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 10u);
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(http_.count(), 12u);
}

// ---- Sending rate ---------------------------------------------------------------------------

// The defect this guards against: every due item of a number went out back to back, however
// fast the provider and the carriers accept them from that number.
TEST_F(DispatcherTest, ANumbersItemsLeaveAtItsRateWhileAnotherNumbersItemsGo) {
  UseTwilio();
  SenderNumber slow;
  slow.account_id = account_.id;
  slow.number = "+4520000009";
  slow.country = "DK";  // a long code: 1 per second by default
  slow = Must(store_->AddNumber(slow));
  ASSERT_EQ(slow.rate_mmps, 0);
  auto queue_on = [&](const SenderNumber& n, const std::string& body) {
    ChangeSet changes;
    OutboxItem o;
    o.number_id = n.id;
    o.contact_id = contact_.id;
    o.to = contact_.phone;
    o.from = n.number;
    o.body = body;
    o.kind = ReplyKind::kHelp;
    o.created_at_ms = clock_.NowMs();
    o.next_attempt_at_ms = clock_.NowMs();
    changes.outbox = {o};
    Must(store_->Commit(account_.id, changes));
  };
  for (int i = 0; i < 4; ++i) queue_on(slow, "slow" + std::to_string(i));
  for (int i = 0; i < 3; ++i) queue_on(number_, "other" + std::to_string(i));
  auto sent_from = [&](const std::string& encoded_from) {
    int n = 0;
    for (const HttpClientRequest& r : http_.requests()) {
      if (r.body.rfind("From=" + encoded_from + "&", 0) == 0) ++n;
    }
    return n;
  };
  const int64_t t0 = clock_.NowMs();
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  EXPECT_EQ(sent_from("%2B4520000009"), 1);
  EXPECT_EQ(sent_from("%2B4520123456"), 3);  // the other number's items all went
  for (int second = 1; second <= 3; ++second) {
    clock_.Set(t0 + second * 1000 - 1);
    ASSERT_TRUE(d.RunOnce().ok());
    EXPECT_EQ(sent_from("%2B4520000009"), second) << "before second " << second;
    clock_.Set(t0 + second * 1000);
    ASSERT_TRUE(d.RunOnce().ok());
    EXPECT_EQ(sent_from("%2B4520000009"), second + 1) << "at second " << second;
  }
  EXPECT_EQ(http_.count(), 7u);
}

// An opt-out confirmation queued behind a campaign on the same number is the next to leave.
TEST_F(DispatcherTest, RepliesLeaveBeforeMessagesQueuedEarlierOnTheSameNumber) {
  UseTwilio();
  SenderNumber n = number_;
  n.rate_mmps = 1'000;
  number_ = Must(store_->UpdateNumber(n));
  for (int i = 0; i < 3; ++i) {
    ChangeSet changes;
    OutboxItem o;
    o.number_id = number_.id;
    o.contact_id = contact_.id;
    o.to = contact_.phone;
    o.from = number_.number;
    o.body = "campaign" + std::to_string(i);
    o.kind = ReplyKind::kMessage;
    o.purpose = Purpose::kTransactional;
    o.created_at_ms = clock_.NowMs();
    o.next_attempt_at_ms = clock_.NowMs();
    changes.outbox = {o};
    Must(store_->Commit(account_.id, changes));
  }
  Queue("help answer");
  OutboxDispatcher d(*store_, clock_, http_, Opts());
  ASSERT_TRUE(d.RunOnce().ok());
  clock_.Advance(1000);
  ASSERT_TRUE(d.RunOnce().ok());
  ASSERT_EQ(SentBodies(), (std::vector<std::string>{"help+answer", "campaign0"}));
}

// ---- The background thread --------------------------------------------------------------------

TEST_F(DispatcherTest, NotifyWakesTheBackgroundThread) {
  UseTwilio();
  auto opts = Opts();
  opts.poll_interval = std::chrono::hours(1);  // only Notify can wake it
  OutboxDispatcher d(*store_, clock_, http_, opts);
  d.Start();
  OutboxItem o = Queue();
  d.Notify();
  ASSERT_TRUE(http_.WaitFor(1));
  d.Stop();
  EXPECT_EQ(Get(o.id).state, OutboxState::kSent);
  d.Stop();  // idempotent
}

TEST_F(DispatcherTest, StopFinishesTheSendInFlightAndLeavesNothingLeased) {
  UseTwilio();
  for (int i = 0; i < 10; ++i) Queue("item" + std::to_string(i));
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  http_.on_request = [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  auto opts = Opts();
  opts.poll_interval = std::chrono::hours(1);
  OutboxDispatcher d(*store_, clock_, http_, opts);
  d.Start();
  d.Notify();
  ASSERT_TRUE(http_.WaitFor(1));  // the first send is on the wire
  std::thread stopper([&] { d.Stop(); });
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();

  // Whatever the timing: nothing is left leased, each sent item was sent once, and items not
  // sent are pending with no attempt counted.
  std::map<OutboxState, int64_t> counts;
  for (const auto& [state, n] : Must(store_->CountOutbox())) counts[state] = n;
  EXPECT_EQ(counts[OutboxState::kSending], 0);
  EXPECT_EQ(counts[OutboxState::kSent], static_cast<int64_t>(http_.count()));
  EXPECT_EQ(counts[OutboxState::kSent] + counts[OutboxState::kPending], 10);
  OutboxQuery q;
  q.states = {OutboxState::kPending};
  for (const OutboxItem& o : Must(store_->ListOutbox(account_.id, q))) {
    EXPECT_EQ(o.attempts, 0);
  }
}

}  // namespace
}  // namespace smsconsent
