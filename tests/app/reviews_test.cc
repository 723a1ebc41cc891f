// ReviewService and the inbound path's review items, over a real SQLite store with a test
// clock: a possible opt-out waits for a person, who confirms it (the contact's own opt-out,
// as a STOP would have been) or dismisses it (nothing changes).
#include "app/reviews.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;

constexpr char kReviewQuestion[] = "How do I stop these texts?";
constexpr char kReviewMixed[] = "Stop sending me promos but keep the appointment reminders";
constexpr char kReviewPhone[] = "+14155552671";
constexpr int64_t kReviewHour = 3'600'000;

class ReviewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-reviews-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::move(OpenStore((dir_ / "r.db").string())).value();
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    reviews_ = std::make_unique<ReviewService>(*svc_, *store_, clock_, 24 * kReviewHour);
    account_ = MakeAccount(OptOutScope::kNumber);
    a_ = Number(account_, "+15551234567");
    b_ = Number(account_, "+15557654321");
  }
  void TearDown() override {
    reviews_.reset();
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  int64_t MakeAccount(OptOutScope scope) {
    auto acct = svc_->CreateAccount({"Acme", {kAddonMarketingSms}, "US", scope});
    EXPECT_TRUE(acct.ok()) << acct.status().ToString();
    return acct.ok() ? acct->account.id : 0;
  }
  SenderNumber Number(int64_t account, const std::string& n) {
    NewNumber req;
    req.account_id = account;
    req.number = n;
    auto r = svc_->AddNumber(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SenderNumber{};
  }
  InboundResult Receive(const std::string& body, const std::string& to, const std::string& id) {
    auto r = svc_->ReceiveSms({"test", id, kReviewPhone, to, body});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : InboundResult{};
  }
  void OptIn(int64_t account, const SenderNumber& n) {
    StatusChangeRequest req;
    req.account_id = account;
    req.phone = kReviewPhone;
    req.number = n.number;
    req.target = SubscriptionStatus::kOptedIn;
    req.actor = "user:alice";
    req.attestation = {true, LegalBasis::kConsent, "web form, double opt-in"};
    auto r = svc_->SetStatus(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ConsentState StateOn(int64_t account, const SenderNumber& n) {
    auto r = svc_->ShowStatus(account, kReviewPhone);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      for (const auto& s : *r) {
        if (s.number.id == n.id) return s.state;
      }
    }
    return ConsentState();
  }
  std::vector<ReviewEntry> Open(int64_t account) {
    ReviewQuery q;
    q.state = ReviewState::kOpen;
    auto r = reviews_->List(account, q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<ReviewEntry>{};
  }
  ReviewDecision Decision(int64_t id, const std::string& actor = "user:ann@example.com",
                          const std::string& note = "") {
    ReviewDecision d;
    d.account_id = account_;
    d.id = id;
    d.actor = actor;
    d.note = note;
    return d;
  }

  fs::path dir_;
  TestClock clock_{kT0};
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> svc_;
  std::unique_ptr<ReviewService> reviews_;
  int64_t account_ = 0;
  SenderNumber a_, b_;
};

TEST_F(ReviewsTest, PossibleOptOutWaitsForReviewAndChangesNoStatus) {
  OptIn(account_, a_);
  const InboundResult r = Receive(kReviewQuestion, a_.number, "SM-1");
  EXPECT_EQ(r.match.kind, MatchKind::kPossibleOptOut);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.replies.empty());
  EXPECT_EQ(StateOn(account_, a_).status, SubscriptionStatus::kOptedIn);

  auto open = Open(account_);
  ASSERT_EQ(open.size(), 1u);
  const ReviewItem& item = open[0].item;
  EXPECT_EQ(item.inbound_id, r.inbound_id);
  EXPECT_EQ(item.contact_id, r.contact_id);
  EXPECT_EQ(item.number_id, a_.id);
  EXPECT_EQ(item.body, kReviewQuestion);
  EXPECT_EQ(item.from, kReviewPhone);
  EXPECT_EQ(item.to, a_.number);
  EXPECT_EQ(item.rule, r.match.rule);
  EXPECT_FALSE(item.explanation.empty());
  EXPECT_FALSE(open[0].overdue);

  // The provider delivers the same message again: answered as before, no second item.
  const InboundResult again = Receive(kReviewQuestion, a_.number, "SM-1");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(Open(account_).size(), 1u);
  // Plain messages and clear keywords enter no queue.
  Receive("thanks, see you tomorrow", a_.number, "SM-2");
  Receive("STOP", b_.number, "SM-3");
  EXPECT_EQ(Open(account_).size(), 1u);
}

TEST_F(ReviewsTest, ConfirmedItemIsTheContactsOwnOptOutFromTheMessagesArrival) {
  OptIn(account_, a_);
  OptIn(account_, b_);
  const InboundResult r = Receive(kReviewMixed, a_.number, "SM-1");
  ASSERT_EQ(r.match.kind, MatchKind::kPossibleOptOut);
  const int64_t arrived = store_->GetReview(account_, Open(account_).at(0).item.id)->received_at_ms;
  clock_.Advance(30 * kReviewHour);  // reviewed the next day

  const int64_t id = Open(account_).at(0).item.id;
  auto confirmed = reviews_->Confirm(Decision(id, "user:ann@example.com", "asked to stop promos"));
  ASSERT_TRUE(confirmed.ok()) << confirmed.status().ToString();
  EXPECT_EQ(confirmed->item.state, ReviewState::kConfirmed);
  EXPECT_EQ(confirmed->item.reviewed_by, "user:ann@example.com");
  EXPECT_EQ(confirmed->item.note, "asked to stop promos");
  EXPECT_FALSE(confirmed->overdue);

  // Opted out on the number texted, as the contact's own opt-out; the other number keeps its
  // status (the account's scope is the number).
  const ConsentState on_a = StateOn(account_, a_);
  EXPECT_EQ(on_a.status, SubscriptionStatus::kOptedOut);
  EXPECT_TRUE(on_a.self_opted_out);
  EXPECT_EQ(StateOn(account_, b_).status, SubscriptionStatus::kOptedIn);

  // The event names the message and the review, and the FCC clock runs from the message.
  auto history = svc_->History(account_, kReviewPhone);
  ASSERT_TRUE(history.ok());
  const ConsentEvent& last = history->back();
  EXPECT_EQ(last.to, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(last.actor, "user:ann@example.com");
  const nlohmann::json ev = nlohmann::json::parse(last.evidence);
  EXPECT_EQ(ev.value("channel", ""), "sms");
  EXPECT_EQ(ev.value("inbound_message_id", int64_t{0}), r.inbound_id);
  EXPECT_EQ(ev.value("received_at_ms", int64_t{0}), arrived);
  EXPECT_NE(ev.value("explanation", "").find("asked to stop promos"), std::string::npos);

  // A user cannot undo it; the contact's START can.
  StatusChangeRequest back;
  back.account_id = account_;
  back.phone = kReviewPhone;
  back.number = a_.number;
  back.target = SubscriptionStatus::kOptedIn;
  back.actor = "user:alice";
  back.attestation = {true, LegalBasis::kConsent, "called us"};
  EXPECT_EQ(svc_->SetStatus(back).status().code(), StatusCode::kFailedPrecondition);
  Receive("START", a_.number, "SM-2");
  EXPECT_EQ(StateOn(account_, a_).status, SubscriptionStatus::kOptedIn);
}

TEST_F(ReviewsTest, ItemIsDecidedOnceOnly) {
  OptIn(account_, a_);
  Receive(kReviewQuestion, a_.number, "SM-1");
  const int64_t id = Open(account_).at(0).item.id;
  ASSERT_TRUE(reviews_->Dismiss(Decision(id, "user:bob@example.com")).ok());
  auto confirm = reviews_->Confirm(Decision(id));
  EXPECT_EQ(confirm.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(confirm.status().message().find("dismissed already by user:bob@example.com"),
            std::string::npos)
      << confirm.status().ToString();
  // The refused confirmation recorded no opt-out.
  EXPECT_EQ(StateOn(account_, a_).status, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(reviews_->Dismiss(Decision(id)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reviews_->Confirm(Decision(id + 1000)).status().code(), StatusCode::kNotFound);
}

TEST_F(ReviewsTest, DismissedItemLeavesTheStatusAsItWas) {
  OptIn(account_, a_);
  Receive(kReviewQuestion, a_.number, "SM-1");
  const int64_t id = Open(account_).at(0).item.id;
  auto dismissed = reviews_->Dismiss(Decision(id, "user:bob@example.com", "asked about hours"));
  ASSERT_TRUE(dismissed.ok()) << dismissed.status().ToString();
  EXPECT_EQ(dismissed->item.state, ReviewState::kDismissed);
  EXPECT_EQ(dismissed->item.note, "asked about hours");
  EXPECT_EQ(StateOn(account_, a_).status, SubscriptionStatus::kOptedIn);
  EXPECT_TRUE(Open(account_).empty());
  ReviewQuery all;
  EXPECT_EQ(reviews_->List(account_, all)->size(), 1u);
}

TEST_F(ReviewsTest, ConfirmationFollowsTheAccountsOptOutScopeAsStopWould) {
  const int64_t wide = MakeAccount(OptOutScope::kAccount);
  const SenderNumber w1 = Number(wide, "+15550000001");
  const SenderNumber w2 = Number(wide, "+15550000002");
  OptIn(wide, w1);
  OptIn(wide, w2);
  Receive(kReviewQuestion, w2.number, "SM-w");
  const int64_t id = Open(wide).at(0).item.id;
  ReviewDecision d = Decision(id);
  d.account_id = wide;
  ASSERT_TRUE(reviews_->Confirm(d).ok());
  EXPECT_EQ(StateOn(wide, w1).status, SubscriptionStatus::kOptedOut);
  EXPECT_TRUE(StateOn(wide, w1).self_opted_out);
  EXPECT_EQ(StateOn(wide, w2).status, SubscriptionStatus::kOptedOut);
  // Nothing reached the other account: no item, no contact.
  EXPECT_TRUE(Open(account_).empty());
  EXPECT_EQ(svc_->ShowStatus(account_, kReviewPhone).status().code(), StatusCode::kNotFound);
}

TEST_F(ReviewsTest, UnreviewedItemsBecomeOverdueAfterTheHighlightAge) {
  Receive(kReviewQuestion, a_.number, "SM-1");
  clock_.Advance(23 * kReviewHour);
  auto open = Open(account_);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_FALSE(open[0].overdue);
  EXPECT_EQ(open[0].age_ms, 23 * kReviewHour);
  clock_.Advance(kReviewHour);
  EXPECT_TRUE(Open(account_).at(0).overdue);
  // Decided items are never overdue.
  auto dismissed = reviews_->Dismiss(Decision(open[0].item.id));
  ASSERT_TRUE(dismissed.ok());
  EXPECT_FALSE(dismissed->overdue);
}

TEST_F(ReviewsTest, BadDecisionsAndPagesAreRefusedAndChangeNothing) {
  OptIn(account_, a_);
  Receive(kReviewQuestion, a_.number, "SM-1");
  const int64_t id = Open(account_).at(0).item.id;
  auto long_note = reviews_->Confirm(Decision(id, "user:ann", std::string(1001, 'x')));
  EXPECT_EQ(long_note.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StateOn(account_, a_).status, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(reviews_->Confirm(Decision(id, "")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Open(account_).size(), 1u);
  ReviewQuery huge;
  huge.limit = ReviewService::kMaxPage + 1;
  EXPECT_EQ(reviews_->List(account_, huge).status().code(), StatusCode::kInvalidArgument);
  // Without Marketing SMS Access there is no queue to read.
  auto plain = svc_->CreateAccount({"Plain", {}, "US"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(reviews_->List(plain->account.id, ReviewQuery()).status().code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace smsconsent
