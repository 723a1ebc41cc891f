// ConsentService over a real SQLite store with a fake clock: the use cases end to end,
// in-process.
#include "app/consent_service.h"
#include "app/json_views.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-svc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "svc.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    auto acct = svc_->CreateAccount({"Acme", {kAddonMarketingSms, kAddonShortCode}, "US"});
    ASSERT_TRUE(acct.ok()) << acct.status().ToString();
    account_ = acct->account.id;
    long_ = Number("+15551234567", NumberKind::kLongCode);
    short_ = Number("12345", NumberKind::kShortCode);
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  SenderNumber Number(const std::string& n, NumberKind kind, const std::string& country = "US",
                      int64_t account = 0) {
    NewNumber req;
    req.account_id = account ? account : account_;
    req.number = n;
    req.kind = kind;
    req.country = country;
    auto r = svc_->AddNumber(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SenderNumber{};
  }

  InboundResult Receive(const std::string& body, const std::string& to = "+15551234567",
                        const std::string& from = "+14155552671", const std::string& id = "") {
    auto r = svc_->ReceiveSms({"test", id, from, to, body});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : InboundResult{};
  }

  StatusChangeRequest OptIn(const std::string& number, Source source = Source::kManual) {
    StatusChangeRequest req;
    req.account_id = account_;
    req.phone = "+14155552671";
    req.number = number;
    req.target = SubscriptionStatus::kOptedIn;
    req.source = source;
    req.actor = "user:alice";
    req.attestation = {true, LegalBasis::kConsent, "Web form 2026-11-01, double opt-in"};
    return req;
  }

  SubscriptionStatus StatusOn(const SenderNumber& n, const std::string& phone = "+14155552671") {
    auto r = svc_->ShowStatus(account_, phone);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& s : *r) {
      if (s.number.id == n.id) return s.state.status;
    }
    return SubscriptionStatus::kNotSpecified;
  }

  fs::path dir_;
  TestClock clock_{1'700'000'000'000, /*step_per_read_ms=*/1000};  // strictly increasing
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> svc_;
  int64_t account_ = 0;
  SenderNumber long_, short_;
};

TEST_F(ServiceTest, NumbersGetLanguagesAndRepliesFromTheirCountry) {
  SenderNumber dk = Number("+4520123456", NumberKind::kLongCode, "DK");
  EXPECT_EQ(dk.keywords.languages, (std::vector<std::string>{"da", "en"}));
  EXPECT_NE(dk.replies.opt_out.find("afmeldt"), std::string::npos);
  EXPECT_EQ(dk.business_name, "Acme");
  EXPECT_TRUE(short_.opt_in_confirmation);
  EXPECT_FALSE(long_.opt_in_confirmation);
}

TEST_F(ServiceTest, CanadianNumberUnderstandsEnglishAndFrenchFromItsAreaCode) {
  // The account's region is US; libphonenumber places +1 416 and +1 514 in Canada, and
  // Canadian carriers require ARRET/ARRÊT alongside STOP.
  for (const std::string& e164 : {std::string("+14165550123"), std::string("+15145550123")}) {
    SenderNumber ca = Number(e164, NumberKind::kLongCode, "");
    EXPECT_EQ(ca.country, "CA") << e164;
    EXPECT_EQ(ca.keywords.languages, (std::vector<std::string>{"en", "fr"})) << e164;
  }
  SenderNumber hinted = Number("+16045550123", NumberKind::kLongCode, "US");
  EXPECT_EQ(hinted.keywords.languages, (std::vector<std::string>{"en", "fr"}));
  for (const std::string& body : {std::string("ARR\u00CAT"), std::string("arret"),
                                  std::string("Arr\u00EAtez de m'envoyer des messages")}) {
    InboundResult r = Receive(body, "+14165550123", "+14165550199");
    EXPECT_EQ(r.match.intent, Intent::kOptOut) << body << ": " << r.match.explanation;
    EXPECT_EQ(r.match.language, "fr") << body;
  }
  EXPECT_EQ(Receive("STOP", "+15145550123", "+15145550199").match.intent, Intent::kOptOut);
}

TEST_F(ServiceTest, UsNumberUnderstandsSpanishButNotFrench) {
  SenderNumber us = Number("+14155550123", NumberKind::kLongCode, "");
  EXPECT_EQ(us.country, "US");
  EXPECT_EQ(us.keywords.languages, (std::vector<std::string>{"en", "es"}));
  InboundResult baja = Receive("BAJA", "+14155550123", "+14155550199");
  EXPECT_EQ(baja.match.intent, Intent::kOptOut);
  EXPECT_EQ(baja.match.language, "es");
  EXPECT_EQ(Receive("no me manden m\u00E1s mensajes", "+14155550123", "+14155550198").match.intent,
            Intent::kOptOut);
  EXPECT_EQ(Receive("ARRET", "+14155550123", "+14155550197").match.intent, Intent::kNone);
}

TEST_F(ServiceTest, DanishKeywordOnDanishNumber) {
  Number("+4520123456", NumberKind::kLongCode, "DK");
  InboundResult r = Receive("Afmeld", "+4520123456", "+4530123456");
  EXPECT_EQ(r.match.intent, Intent::kOptOut);
  EXPECT_EQ(r.match.language, "da");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_NE(r.replies[0].body.find("Acme"), std::string::npos);
}

TEST_F(ServiceTest, UnknownSenderBecomesAContactInE164) {
  Receive("hello there", "+15551234567", "+1 (415) 555-2671");
  auto c = store_->FindContactByPhone(account_, "+14155552671");
  EXPECT_TRUE(c.ok());
}

TEST_F(ServiceTest, MessageWithoutIntentIsStoredButChangesNothing) {
  InboundResult r = Receive("can't stop laughing 😂", "+15551234567", "+14155552671", "m1");
  EXPECT_EQ(r.match.intent, Intent::kNone);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.replies.empty());
  auto stored = store_->FindInbound(account_, "test", "m1");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->body, "can't stop laughing 😂");
}

TEST_F(ServiceTest, InboundToUnknownNumberIsNotFound) {
  auto r = svc_->ReceiveSms({"test", "", "+14155552671", "+15559999999", "STOP"});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(ServiceTest, KeywordEvidenceRecordsMessageAndRule) {
  InboundResult r = Receive(" stop!! ✋", "+15551234567", "+14155552671", "SM77");
  ASSERT_EQ(r.events.size(), 1u);
  const auto ev = nlohmann::json::parse(r.events[0].evidence);
  EXPECT_EQ(ev["message_id"], "SM77");
  EXPECT_EQ(ev["body"], " stop!! ✋");
  EXPECT_EQ(ev["rule"], "STOP");
  EXPECT_EQ(ev["match_kind"], "exact_keyword");
  EXPECT_EQ(r.events[0].actor, "contact");
}

// The evidence and the decision are written as text (core/json_text.h): byte for byte what
// nlohmann::json dumps for the same object, whatever the body holds.
TEST_F(ServiceTest, EvidenceAndDecisionTextIsWhatAJsonDumpWouldWrite) {
  auto acct = svc_->CreateAccount({"Wide", {kAddonMarketingSms}, "US", OptOutScope::kAccount});
  ASSERT_TRUE(acct.ok());
  SenderNumber a = Number("+15550000001", NumberKind::kLongCode, "US", acct->account.id);
  Number("+15550000002", NumberKind::kLongCode, "US", acct->account.id);
  Receive("START", "+15550000002");
  int n = 0;
  for (std::string body :
       {std::string("STOP"), std::string("start \"now\"\\\n\t\x01 \xC3\xA6\xF0\x9F\x98\x80"),
        std::string("STOP\r\n"), std::string("help?")}) {
    const std::string id = "SMtext" + std::to_string(++n);
    InboundResult r = Receive(body, a.number, "+14155552671", id);
    const auto decision = nlohmann::json::parse(r.decision);
    EXPECT_EQ(decision.dump(), r.decision);
    for (const ConsentEvent& e : r.events) {
      const auto ev = nlohmann::json::parse(e.evidence);
      EXPECT_EQ(ev.dump(), e.evidence);
      EXPECT_EQ(ev["body"], body);
    }
    auto stored = store_->FindInbound(acct->account.id, "test", id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->decision, r.decision);
    // Printed with the message id and whether it was a retry.
    const auto printed = DecisionJson(r);
    EXPECT_EQ(printed["message_id"], id);
    EXPECT_EQ(printed["duplicate"], false);
    EXPECT_EQ(printed["replies"].size(), r.replies.size());
  }
}

// A body with bytes that are not UTF-8 is still read: the STOP counts, and what is stored and
// hashed is valid UTF-8 (U+FFFD for the unreadable bytes).
TEST_F(ServiceTest, BodyThatIsNotUtf8IsStillAnOptOut) {
  Receive("START", long_.number);
  InboundResult r = Receive("STOP \xFF\xFE", long_.number, "+14155552671", "SMbad");
  EXPECT_EQ(r.match.intent, Intent::kOptOut);
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedOut);
  ASSERT_EQ(r.events.size(), 1u);
  const auto ev = nlohmann::json::parse(r.events[0].evidence);
  EXPECT_EQ(ev["body"], "STOP \xEF\xBF\xBD\xEF\xBF\xBD");
  auto stored = store_->FindInbound(account_, "test", "SMbad");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->body, "STOP \xEF\xBF\xBD\xEF\xBF\xBD");
}

// The decision stored with a message names the rule that decided (`rule`) and the text it
// matched (`matched`), as the evidence does, and a retry reads both back.
TEST_F(ServiceTest, DecisionNamesTheRuleAndTheTextItMatched) {
  InboundResult r =
      Receive("Please stop sending me messages", long_.number, "+14155552671", "SMfree");
  ASSERT_EQ(r.match.kind, MatchKind::kFreeText);
  auto d = nlohmann::json::parse(r.decision);
  EXPECT_EQ(d["rule"], r.match.rule);
  EXPECT_EQ(d["matched"], r.match.matched);
  EXPECT_NE(r.match.rule, r.match.matched);
  ASSERT_EQ(r.events.size(), 1u);
  const auto ev = nlohmann::json::parse(r.events[0].evidence);
  EXPECT_EQ(d["rule"], ev["rule"]);
  EXPECT_EQ(d["matched"], ev["matched"]);

  r = Receive(" Stop!", long_.number, "+14155552672", "SMexact");
  d = nlohmann::json::parse(r.decision);
  EXPECT_EQ(d["rule"], "STOP");
  EXPECT_EQ(d["matched"], "stop");
  InboundResult again = Receive(" Stop!", long_.number, "+14155552672", "SMexact");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.match.rule, "STOP");
  EXPECT_EQ(again.match.matched, "stop");
  EXPECT_EQ(DecisionJson(again)["rule"], "STOP");
}

// A decision stored without `rule` held the rule in `matched`: it reads as that rule, with no
// matched text. One stored with `rule` reads as it is.
TEST(CurrentDecision, ADecisionWithoutRuleHeldTheRuleInMatched) {
  const auto stored = nlohmann::json::parse(R"({"intent":"opt_out","matched":"STOP"})");
  const auto d = CurrentDecision(stored);
  EXPECT_EQ(d["rule"], "STOP");
  EXPECT_EQ(d["matched"], "");
  EXPECT_EQ(d["intent"], "opt_out");
  const auto current = nlohmann::json::parse(R"({"matched":"stop","rule":"STOP"})");
  EXPECT_EQ(CurrentDecision(current), current);
  EXPECT_EQ(CurrentDecision(nlohmann::json("not an object")), "not an object");
  EXPECT_EQ(CurrentDecision(nlohmann::json::object())["rule"], "");
}

// A provider retry gets the answer given the first time, replies included.
TEST_F(ServiceTest, RetryIsAnsweredWithTheStoredDecisionAndReplies) {
  InboundResult first = Receive("STOP", long_.number, "+14155552671", "SMretry");
  ASSERT_EQ(first.replies.size(), 1u);
  InboundResult again = Receive("STOP", long_.number, "+14155552671", "SMretry");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.decision, first.decision);
  EXPECT_EQ(again.match.intent, Intent::kOptOut);
  ASSERT_EQ(again.replies.size(), 1u);
  EXPECT_EQ(again.replies[0].body, first.replies[0].body);
  EXPECT_EQ(again.replies[0].kind, first.replies[0].kind);
  EXPECT_EQ(again.replies[0].segments.segments, first.replies[0].segments.segments);
  EXPECT_EQ(DecisionJson(again)["duplicate"], true);
}

TEST_F(ServiceTest, AccountScopePolicyAppliesPlainStopEverywhere) {
  auto acct = svc_->CreateAccount({"Wide", {kAddonMarketingSms}, "US", OptOutScope::kAccount});
  ASSERT_TRUE(acct.ok());
  SenderNumber a = Number("+15550000001", NumberKind::kLongCode, "US", acct->account.id);
  SenderNumber b = Number("+15550000002", NumberKind::kLongCode, "US", acct->account.id);
  Receive("START", a.number);
  Receive("START", b.number);
  InboundResult r = Receive("STOP", a.number);
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.replies.size(), 1u);
}

TEST_F(ServiceTest, ManualOptInOnShortCodeQueuesConfirmation) {
  auto r = svc_->SetStatus(OptIn("12345"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->replies.size(), 1u);
  EXPECT_EQ(r->replies[0].kind, ReplyKind::kOptInConfirmation);
  auto outbox = svc_->ListOutbox(account_, {});
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].from, "12345");
  EXPECT_EQ(r->event.actor, "user:alice");
}

TEST_F(ServiceTest, BulkAndApiOptInCannotOverrideSelfOptOut) {
  Receive("STOP");
  for (Source s : {Source::kManual, Source::kBulk, Source::kApi, Source::kImport}) {
    auto r = svc_->SetStatus(OptIn("+15551234567", s));
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << SourceName(s);
  }
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedOut);
  auto history = svc_->History(account_, "+14155552671");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);  // refusals wrote nothing
}

ContactOptOutRequest OnBehalf(int64_t account, const std::string& number,
                              const std::string& channel = "phone", int64_t received_at_ms = 0) {
  ContactOptOutRequest req;
  req.account_id = account;
  req.phone = "+14155552671";
  req.number = number;
  req.channel = channel;
  req.received_at_ms = received_at_ms;
  req.explanation = "Customer called and asked us to stop texting";
  req.actor = "user:alice";
  return req;
}

TEST_F(ServiceTest, OptOutRecordedOnTheContactsBehalfBindsUsersUntilTheContactsStart) {
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  auto out = svc_->RecordContactOptOut(OnBehalf(account_, "+15551234567"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->changed);
  EXPECT_EQ(out->event.source, Source::kContactRequest);
  auto shown = svc_->ShowStatus(account_, "+14155552671");
  ASSERT_TRUE(shown.ok());
  for (const auto& s : *shown) {
    if (s.number.id == long_.id) {
      EXPECT_TRUE(s.state.self_opted_out);
    }
  }
  for (Source s : {Source::kManual, Source::kBulk, Source::kApi, Source::kImport}) {
    auto r = svc_->SetStatus(OptIn("+15551234567", s));
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << SourceName(s);
  }
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedOut);
  // The ledger's replay agrees with the status table.
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok());
  // The contact's own START lifts it.
  Receive("START");
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedIn);
}

TEST_F(ServiceTest, OptOutOnTheContactsBehalfRecordsTheFccClock) {
  clock_.Set(kT0 + 14 * 86'400'000LL);  // Thursday 15 January 2026
  // Received Monday 29 December 2025: New Year's Day and the weekends are not business days.
  const int64_t received = kT0 - 3 * 86'400'000LL;
  auto out = svc_->RecordContactOptOut(OnBehalf(account_, "+15551234567", "email", received));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto ev = nlohmann::json::parse(out->event.evidence);
  EXPECT_EQ(ev["type"], "contact_request");
  EXPECT_EQ(ev["channel"], "email");
  EXPECT_EQ(ev["actor"], "user:alice");
  EXPECT_EQ(ev["received_at_ms"], received);
  EXPECT_EQ(ev["effective_at_ms"], out->event.at_ms);
  // 30, 31 Dec; 2, 5-9, 12-15 Jan = 12 business days: late, and recorded all the same.
  EXPECT_EQ(ev["business_days"], 12);
  EXPECT_EQ(ev["late"], true);
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedOut);
}

TEST_F(ServiceTest, LateRevocationsAreListedWithTheMessagesSentInBetween) {
  clock_.Set(kT0);                              // Thursday 1 January 2026
  const int64_t received = kT0 + 86'400'000LL;  // Friday 2 January
  // The contact asks for HELP by text meanwhile; the answer goes out in the webhook response.
  clock_.Set(kT0 + 5 * 86'400'000LL);
  InboundSms help{"test", "h1", "+14155552671", "+15551234567", "HELP", "response"};
  ASSERT_TRUE(svc_->ReceiveSms(help).ok());
  // A STOP from another contact takes effect at once.
  Receive("STOP", "+15551234567", "+14155550000");
  // The on-behalf opt-out is recorded 12 business days after its receipt.
  clock_.Set(kT0 + 19 * 86'400'000LL);  // Tuesday 20 January (after MLK Day)
  auto late = svc_->RecordContactOptOut(OnBehalf(account_, "+15551234567", "mail", received));
  ASSERT_TRUE(late.ok()) << late.status().ToString();

  RevocationQuery q;
  auto all = svc_->ListRevocations(account_, q);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_FALSE(all->next_after_seq.has_value());
  EXPECT_EQ(all->items[0].channel, "sms");
  EXPECT_EQ(all->items[0].business_days, 0);
  q.late_only = true;
  auto only_late = svc_->ListRevocations(account_, q);
  ASSERT_TRUE(only_late.ok());
  ASSERT_EQ(only_late->items.size(), 1u);
  const Revocation& r = only_late->items[0];
  EXPECT_EQ(r.event.id, late->event.id);
  EXPECT_EQ(r.channel, "mail");
  EXPECT_EQ(r.received_at_ms, received);
  EXPECT_EQ(r.effective_at_ms, late->event.at_ms);
  // 5-9, 12-16 and 20 January; 19 January is Martin Luther King Jr. Day.
  EXPECT_EQ(r.business_days, 11);
  EXPECT_TRUE(r.late);
  ASSERT_EQ(r.sent_between.size(), 1u);
  EXPECT_EQ(r.sent_between[0].kind, ReplyKind::kHelp);
  EXPECT_EQ(r.sent_between[0].to, "+14155552671");
  // Pages of one.
  q.late_only = false;
  q.limit = 1;
  auto first = svc_->ListRevocations(account_, q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 1u);
  ASSERT_TRUE(first->next_after_seq.has_value());
  q.after_seq = *first->next_after_seq;
  auto second = svc_->ListRevocations(account_, q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].event.id, late->event.id);
  q.limit = 0;
  EXPECT_EQ(svc_->ListRevocations(account_, q).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, KeywordStopRecordsTheFccClockFromTheMessagesArrival) {
  InboundResult r = Receive("STOP");
  ASSERT_EQ(r.events.size(), 1u);
  auto ev = nlohmann::json::parse(r.events[0].evidence);
  EXPECT_EQ(ev["received_at_ms"], ev["effective_at_ms"]);
  EXPECT_EQ(ev["effective_at_ms"], r.events[0].at_ms);
  EXPECT_EQ(ev["business_days"], 0);
  EXPECT_EQ(ev["late"], false);
  // An opt-in keyword is no revocation: no clock.
  InboundResult in = Receive("START");
  ASSERT_EQ(in.events.size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(in.events[0].evidence).contains("business_days"));
}

TEST_F(ServiceTest, OptOutOnTheContactsBehalfRefusesBadInputAndWritesNothing) {
  auto bad = [&](ContactOptOutRequest req, StatusCode code) {
    auto r = svc_->RecordContactOptOut(req);
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  };
  bad(OnBehalf(account_, "+15551234567", "carrier pigeon"), StatusCode::kInvalidArgument);
  bad(OnBehalf(account_, "+15551234567", "sms"), StatusCode::kInvalidArgument);  // no message
  auto blank = OnBehalf(account_, "+15551234567");
  blank.explanation = "  ";
  bad(blank, StatusCode::kInvalidArgument);
  bad(OnBehalf(account_, "+15551234567", "phone", 1'700'000'000'000 + 86'400'000),
      StatusCode::kInvalidArgument);  // tomorrow
  bad(OnBehalf(account_, "+15551234567", "phone", 1'000'000'000'000),
      StatusCode::kInvalidArgument);  // 2001
  auto unknown_message = OnBehalf(account_, "+15551234567", "sms");
  unknown_message.inbound_message_id = 999;
  bad(unknown_message, StatusCode::kNotFound);
  // Not even the contact was created.
  EXPECT_EQ(store_->FindContactByPhone(account_, "+14155552671").status().code(),
            StatusCode::kNotFound);
}

TEST_F(ServiceTest, AnInboundMessageConfirmedAsAnOptOutStartsTheClockAtItsArrival) {
  InboundResult msg = Receive("Hi, can you call me about my account instead?");
  ASSERT_TRUE(msg.events.empty());
  auto fetched = svc_->ListMessages(account_, InboundQuery{});
  ASSERT_TRUE(fetched.ok());
  ASSERT_FALSE(fetched->empty());
  const InboundMessage& m = fetched->front().message;
  clock_.Advance(3 * 86'400'000LL);
  auto req = OnBehalf(account_, "+15551234567", "sms");
  req.inbound_message_id = m.id;
  auto out = svc_->RecordContactOptOut(req);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto ev = nlohmann::json::parse(out->event.evidence);
  EXPECT_EQ(ev["inbound_message_id"], m.id);
  EXPECT_EQ(ev["received_at_ms"], m.received_at_ms);
  EXPECT_EQ(ev["channel"], "sms");
  // Another phone's message is not this contact's request.
  Receive("who is this?", "+15551234567", "+14155550000");
  auto fetched2 = svc_->ListMessages(account_, InboundQuery{});
  ASSERT_TRUE(fetched2.ok());
  req.inbound_message_id = fetched2->front().message.id;
  EXPECT_EQ(svc_->RecordContactOptOut(req).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, UserOptOutCanBeReversedByUserButNotAfterContactConfirmsIt) {
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  StatusChangeRequest out = OptIn("+15551234567");
  out.target = SubscriptionStatus::kOptedOut;
  ASSERT_TRUE(svc_->SetStatus(out).ok());
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  ASSERT_TRUE(svc_->SetStatus(out).ok());
  InboundResult stop = Receive("STOP");  // the contact makes it their own
  EXPECT_EQ(stop.replies.size(), 1u);
  EXPECT_EQ(svc_->SetStatus(OptIn("+15551234567")).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(ServiceTest, NoChangeIsRecordedOnce) {
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  auto again = svc_->SetStatus(OptIn("+15551234567"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->event.from, again->event.to);
}

TEST_F(ServiceTest, ShortCodeDigitsInTwoCountriesRouteByTheSendersCountry) {
  auto other = svc_->CreateAccount({"Nordic", {kAddonMarketingSms, kAddonShortCode}, "DK"});
  ASSERT_TRUE(other.ok());
  SenderNumber dk = Number("12345", NumberKind::kShortCode, "DK", other->account.id);
  InboundResult r = Receive("STOP", "12345", "+4530123456");
  EXPECT_EQ(r.account_id, other->account.id);
  InboundResult us = Receive("STOP", "12345", "+14155552671");
  EXPECT_EQ(us.account_id, account_);
}

TEST_F(ServiceTest, AccountsDoNotSeeEachOthersContacts) {
  auto other = svc_->CreateAccount({"Other", {kAddonMarketingSms}, "US"});
  ASSERT_TRUE(other.ok());
  Receive("START");
  EXPECT_EQ(svc_->History(other->account.id, "+14155552671").status().code(),
            StatusCode::kNotFound);
  StatusChangeRequest req = OptIn("+15551234567");
  req.account_id = other->account.id;
  EXPECT_EQ(svc_->SetStatus(req).status().code(), StatusCode::kNotFound);
}

TEST_F(ServiceTest, MatcherFollowsConfigChanges) {
  EXPECT_EQ(Receive("AFMELD").match.intent, Intent::kNone);  // en/es number
  SenderNumber n = long_;
  n.keywords.opt_out.push_back("AFMELD");
  ASSERT_TRUE(store_->UpdateNumber(n).ok());
  EXPECT_EQ(Receive("afmeld").match.intent, Intent::kOptOut);
}

TEST_F(ServiceTest, ConcurrentMessagesKeepOneValidChain) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = (i % 2) ? "STOP" : "START";
        auto r = svc_->ReceiveSms({"test", "t" + std::to_string(t) + "-" + std::to_string(i),
                                   "+14155552671", "+15551234567", body});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->chain_failure.value_or("status mismatch");
  EXPECT_EQ(check->events, 40);
}

TEST_F(ServiceTest, VerifyAndRebuild) {
  Receive("START");
  Receive("STOP");
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok());
  ASSERT_TRUE(store_->ReplaceStatuses(account_, {}).ok());
  check = svc_->VerifyLedger(account_);
  EXPECT_EQ(check->status_mismatches, 1);
  auto rebuilt = svc_->RebuildStatuses(account_);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*rebuilt, 1);
  EXPECT_TRUE(svc_->VerifyLedger(account_)->ok());
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedOut);
}

TEST_F(ServiceTest, RebuildRefusesABrokenChain) {
  Receive("START");
  Receive("STOP");
  // An event contradicts the ledger once it is in the account's tree.
  auto tree = store_->IntegrateLedger(account_, 1000, clock_.NowMs());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ASSERT_EQ(tree->size, 2);
  auto events = store_->ListEvents(account_, {});
  ASSERT_TRUE(events.ok());
  ConsentEvent e = (*events)[0];
  e.actor = "someone else";
  ASSERT_TRUE(store_->DebugOverwriteEvent(e).ok());
  EXPECT_EQ(svc_->RebuildStatuses(account_).status().code(), StatusCode::kDataLoss);
}

TEST_F(ServiceTest, AccountWithoutMarketingAccessIsRefusedEverywhere) {
  auto bare = svc_->CreateAccount({"Bare", {}, "US"});
  ASSERT_TRUE(bare.ok());
  NewNumber req;
  req.account_id = bare->account.id;
  req.number = "+15550000009";
  EXPECT_EQ(svc_->AddNumber(req).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_->ListNumbers(bare->account.id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_->ListOutbox(bare->account.id, {}).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ServiceTest, CreateAccountValidatesInput) {
  EXPECT_EQ(svc_->CreateAccount({"  ", {}, "US"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->CreateAccount({"X", {"sms_everything"}, "US"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->CreateAccount({"X", {}, "QQ"}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ApiKeyIsStoredOnlyAsHash) {
  auto acct = svc_->CreateAccount({"Keyed", {kAddonMarketingSms}, "US"});
  ASSERT_TRUE(acct.ok());
  EXPECT_EQ(acct->api_key.rfind("sk_", 0), 0u);
  EXPECT_EQ(acct->api_key.size(), 43u);
  auto found = store_->FindAccountByApiKeyHash(Sha256Hex(acct->api_key));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, acct->account.id);
}

TEST_F(ServiceTest, EveryReplySenderCanBeChosenAndOthersAreRefused) {
  for (const std::string sender : {"vonage", "plivo", "telnyx", "twilio", "kannel", "log"}) {
    ASSERT_TRUE(svc_->SetProvider(account_, sender == "log" ? "generic" : sender,
                                  nlohmann::json::object(), sender)
                    .ok())
        << sender;
    EXPECT_EQ(store_->GetAccount(account_)->reply_sender, sender);
  }
  const Status unknown = svc_->SetProvider(account_, "generic", nlohmann::json::object(), "sinch");
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("telnyx"), std::string::npos) << unknown.message();
  EXPECT_EQ(store_->GetAccount(account_)->reply_sender, "log");
}

// Webhooks verify with the route's parsed settings, parsed once per cache load: a change by
// SetProvider (as `provider set` makes it) must show at once, not after the cache's TTL.
TEST_F(ServiceTest, RoutedProviderSettingsFollowSetProvider) {
  auto route = svc_->RouteInbound("+15551234567", "+14155552671");
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  auto none = svc_->ProviderSettings(*route, "twilio");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(**none, nlohmann::json::object());

  ASSERT_TRUE(svc_->SetProvider(account_, "twilio", {{"auth_token", "first"}}, std::nullopt).ok());
  route = svc_->RouteInbound("+15551234567", "+14155552671");
  ASSERT_TRUE(route.ok());
  auto first = svc_->ProviderSettings(*route, "twilio");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((**first)["auth_token"], "first");

  ASSERT_TRUE(svc_->SetProvider(account_, "twilio", {{"auth_token", "second"}}, std::nullopt).ok());
  route = svc_->RouteInbound("+15551234567", "+14155552671");
  ASSERT_TRUE(route.ok());
  auto second = svc_->ProviderSettings(*route, "twilio");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ((**second)["auth_token"], "second");
  // What a caller holds stays as it was read.
  EXPECT_EQ((**first)["auth_token"], "first");
  // Another provider's settings are not mixed in.
  auto other = svc_->ProviderSettings(*route, "kannel");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(**other, nlohmann::json::object());
}

}  // namespace
}  // namespace smsconsent

namespace smsconsent {
namespace {

// A marketing message that would arrive in the recipient's quiet hours is deferred to the next
// instant their local time allows, by the number's policy ("jurisdiction" by default: the
// recipient's US state's rule where it is stricter); the answer says so. A transactional one is
// not deferred.
TEST_F(ServiceTest, AMarketingMessageInQuietHoursIsDeferredToTheRecipientsMorning) {
  auto send = [&](const std::string& to, Purpose purpose) {
    StatusChangeRequest opt_in = OptIn("+15551234567");
    opt_in.phone = to;
    EXPECT_TRUE(svc_->SetStatus(opt_in).ok());
    MessageRequest m;
    m.to = to;
    m.from = "+15551234567";
    m.body = "Weekend sale";
    m.purpose = purpose;
    auto r = svc_->SendMessage(account_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : MessageOutcome{};
  };
  // Florida: 2026-12-08T01:30:00Z is 20:30 in Miami, past Florida's 20:00; 08:00 EST next.
  clock_.Set(1'796'693'400'000);
  MessageOutcome florida = send("+13055550100", Purpose::kMarketing);
  ASSERT_TRUE(florida.message.has_value());
  ASSERT_TRUE(florida.deferred.has_value());
  EXPECT_EQ(florida.deferred->rule, "US-FL");
  EXPECT_EQ(florida.message->next_attempt_at_ms, 1'796'734'800'000);  // 2026-12-08T13:00:00Z
  EXPECT_EQ(florida.message->send_at_ms, 1'796'734'800'000);
  EXPECT_EQ(MessageJson(florida, clock_.NowMs())["state"], "scheduled");
  EXPECT_EQ(MessageJson(florida, clock_.NowMs())["deferred"]["until"], "2026-12-08T13:00:00.000Z");
  // The same evening, a transactional message is not deferred.
  MessageOutcome receipt = send("+13055550101", Purpose::kTransactional);
  ASSERT_TRUE(receipt.message.has_value());
  EXPECT_FALSE(receipt.deferred.has_value());
  EXPECT_LT(receipt.message->next_attempt_at_ms, 1'796'693'400'000 + 60'000);  // at once
  // Unless the number's policy holds transactional messages back too.
  NumberUpdate hold;
  hold.quiet_hours = *ParseQuietHoursPolicy(R"({"rule":"jurisdiction","transactional":true})");
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, hold).ok());
  MessageOutcome held = send("+13055550102", Purpose::kTransactional);
  ASSERT_TRUE(held.deferred.has_value());
  EXPECT_EQ(held.message->next_attempt_at_ms, 1'796'734'800'000);
  hold.quiet_hours = *ParseQuietHoursPolicy(R"("jurisdiction")");
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, hold).ok());

  // Rhode Island on a Sunday: 2026-12-13T14:30:00Z is 09:30 EST; weekends open at 10:00.
  clock_.Set(1'797'172'200'000);
  MessageOutcome rhode_island = send("+14015550100", Purpose::kMarketing);
  ASSERT_TRUE(rhode_island.deferred.has_value());
  EXPECT_EQ(rhode_island.deferred->rule, "US-RI");
  EXPECT_EQ(rhode_island.message->next_attempt_at_ms, 1'797'174'000'000);  // 15:00Z, 10:00 EST
}

}  // namespace
}  // namespace smsconsent

namespace smsconsent {
namespace {

// The first marketing message to a contact on a number carries the number's opt-out notice in
// its language, and then as its policy says; transactional messages never do.
TEST_F(ServiceTest, TheFirstMarketingMessageCarriesTheOptOutNoticeThenByPolicy) {
  clock_.Set(1'796'720'400'000);  // 2026-12-08T09:20:00Z: 10:20 in Copenhagen, 04:20 in NY
  NumberUpdate u;
  u.quiet_hours = QuietHoursPolicy{QuietHoursPolicy::Kind::kOff, {}};
  OptOutNotice every_two;
  every_two.every_messages = 2;
  every_two.every_days = 0;
  u.opt_out_notice = every_two;
  u.languages = std::vector<std::string>{"da"};
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  auto send = [&](Purpose purpose) {
    MessageRequest m;
    m.to = "+14155552671";
    m.from = "+15551234567";
    m.body = "Udsalg i dag";
    m.purpose = purpose;
    auto r = svc_->SendMessage(account_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->message ? *r->message : OutboxItem{};
  };
  OutboxItem first = send(Purpose::kMarketing);
  EXPECT_TRUE(first.notice);
  EXPECT_EQ(first.body, "Udsalg i dag\nSvar STOP for at afmelde");
  EXPECT_FALSE(send(Purpose::kTransactional).notice);
  EXPECT_EQ(send(Purpose::kTransactional).body, "Udsalg i dag");
  EXPECT_FALSE(send(Purpose::kMarketing).notice);
  EXPECT_FALSE(send(Purpose::kMarketing).notice);
  EXPECT_TRUE(send(Purpose::kMarketing).notice);  // two since the last notice
  // A body that leaves no room for the notice is refused, naming it.
  MessageRequest full;
  full.to = "+14155552671";
  full.from = "+15551234567";
  full.body = std::string(1530, 'a');
  EXPECT_TRUE(svc_->SendMessage(account_, full).ok());  // no notice due
  EXPECT_TRUE(svc_->SendMessage(account_, full).ok());
  auto refused = svc_->SendMessage(account_, full);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("with the opt-out notice"), std::string::npos)
      << refused.status().ToString();
}

TEST_F(ServiceTest, DoubleOptInByKeywordWaitsForTheContactsYes) {
  NumberUpdate u;
  u.double_opt_in = true;
  u.quiet_hours = QuietHoursPolicy{QuietHoursPolicy::Kind::kOff, {}};
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  auto marketing = [&](Purpose purpose = Purpose::kMarketing) {
    MessageRequest m;
    m.to = "+14155552671";
    m.from = "+15551234567";
    m.body = "Sale today";
    m.purpose = purpose;
    auto r = svc_->SendMessage(account_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->refusal ? std::string(SendRefusalCode(r->refusal->why)) : "queued";
  };

  InboundResult start = Receive("START");
  EXPECT_EQ(start.status_after, SubscriptionStatus::kPendingConfirmation);
  ASSERT_EQ(start.replies.size(), 1u);
  EXPECT_EQ(start.replies[0].kind, ReplyKind::kConfirmationRequest);
  EXPECT_NE(start.replies[0].body.find("Reply YES to confirm"), std::string::npos);
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kPendingConfirmation);
  EXPECT_EQ(marketing(), "pending_confirmation");
  EXPECT_EQ(marketing(Purpose::kTransactional), "queued");

  InboundResult yes = Receive("Yes!");
  EXPECT_EQ(yes.status_before, SubscriptionStatus::kPendingConfirmation);
  EXPECT_EQ(yes.status_after, SubscriptionStatus::kOptedIn);
  ASSERT_EQ(yes.replies.size(), 1u);
  EXPECT_EQ(yes.replies[0].kind, ReplyKind::kOptInConfirmation);
  EXPECT_EQ(marketing(), "queued");

  // The ledger holds both steps; the second says it is the contact's confirmation.
  auto events = store_->ListEvents(account_, EventQuery{});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].to, SubscriptionStatus::kPendingConfirmation);
  EXPECT_EQ((*events)[1].to, SubscriptionStatus::kOptedIn);
  EXPECT_NE((*events)[1].evidence.find("\"confirms\":true"), std::string::npos)
      << (*events)[1].evidence;
  // A number without double opt-in is untouched: YES opts in at once there.
  InboundResult other = Receive("YES", "12345");
  EXPECT_EQ(other.status_after, SubscriptionStatus::kOptedIn);
}

TEST_F(ServiceTest, DoubleOptInByApiAsksAgainAfterTheWindow) {
  svc_->SetConfirmationWindow(2LL * 24 * 60 * 60 * 1000);
  NumberUpdate u;
  u.double_opt_in = true;
  u.reply_confirmation_request = "{business}: reply Y to get our offers";
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  auto set = svc_->SetStatus(OptIn("+15551234567", Source::kApi));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->event.to, SubscriptionStatus::kPendingConfirmation);
  ASSERT_EQ(set->replies.size(), 1u);
  EXPECT_EQ(set->replies[0].kind, ReplyKind::kConfirmationRequest);
  EXPECT_EQ(set->replies[0].body, "Acme: reply Y to get our offers");
  EXPECT_NE(set->replies[0].outbox_id, 0);

  clock_.Advance(3LL * 24 * 60 * 60 * 1000);  // past the 2-day window
  InboundResult late = Receive("y");
  EXPECT_EQ(late.status_after, SubscriptionStatus::kPendingConfirmation);
  ASSERT_EQ(late.replies.size(), 1u);
  EXPECT_EQ(late.replies[0].kind, ReplyKind::kConfirmationRequest);
  // The window starts over at the renewed request.
  clock_.Advance(24LL * 60 * 60 * 1000);
  EXPECT_EQ(Receive("y").status_after, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(StatusOn(long_), SubscriptionStatus::kOptedIn);
  // Staff cannot set the pending status themselves.
  StatusChangeRequest pending = OptIn("+15551234567");
  pending.target = SubscriptionStatus::kPendingConfirmation;
  EXPECT_EQ(svc_->SetStatus(pending).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, TheFrequencyCapRefusesOrDefersMarketingPastIt) {
  NumberUpdate u;
  u.quiet_hours = QuietHoursPolicy{QuietHoursPolicy::Kind::kOff, {}};
  u.frequency_cap = *ParseFrequencyCap(R"({"per_day":2})");
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  ASSERT_TRUE(svc_->SetStatus(OptIn("+15551234567")).ok());
  auto send = [&](Purpose purpose) {
    MessageRequest m;
    m.to = "+14155552671";
    m.from = "+15551234567";
    m.body = "Sale";
    m.purpose = purpose;
    auto r = svc_->SendMessage(account_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : MessageOutcome{};
  };
  const int64_t first = clock_.NowMs();
  ASSERT_TRUE(send(Purpose::kMarketing).message);
  ASSERT_TRUE(send(Purpose::kMarketing).message);
  MessageOutcome third = send(Purpose::kMarketing);
  ASSERT_TRUE(third.refusal.has_value());
  EXPECT_STREQ(SendRefusalCode(third.refusal->why), "frequency_capped");
  EXPECT_FALSE(third.message.has_value());
  // Transactional messages are not capped.
  EXPECT_TRUE(send(Purpose::kTransactional).message.has_value());

  u = NumberUpdate{};
  u.frequency_cap = *ParseFrequencyCap(R"({"per_day":2,"over":"defer"})");
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  MessageOutcome later = send(Purpose::kMarketing);
  ASSERT_TRUE(later.message.has_value());
  ASSERT_TRUE(later.capped_until_ms.has_value());
  // A day after the first, which the clock read once before queueing it.
  EXPECT_GE(*later.capped_until_ms, first + 24LL * 60 * 60 * 1000);
  EXPECT_LE(*later.capped_until_ms, first + 24LL * 60 * 60 * 1000 + 10'000);
  EXPECT_EQ(later.message->next_attempt_at_ms, *later.capped_until_ms);
  json j = MessageJson(later, clock_.NowMs());
  EXPECT_EQ(j["state"], "scheduled");
  EXPECT_EQ(j["deferred"]["reason"], "frequency_cap");
}

}  // namespace
}  // namespace smsconsent
