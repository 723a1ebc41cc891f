// Consent proofs over a real SQLite store with a fixed fake clock.
#include "app/proof.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/ledger.h"
#include "core/proof_verify.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class ProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-proof-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "proof.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    ledger_ = std::make_unique<LedgerService>(*store_, clock_, key_);
    ASSERT_TRUE(ledger_->RegisterKey().ok());
    account_ = MakeAccount("Acme & Sons", true);
    Number(account_, "+15551234567", NumberKind::kLongCode);
    Number(account_, "12345", NumberKind::kShortCode);
  }
  void TearDown() override {
    ledger_.reset();
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  int64_t MakeAccount(const std::string& name, bool sms) {
    smsconsent::NewAccount req{name, {}, "US"};
    if (sms) req.addons = {kAddonMarketingSms, kAddonShortCode};
    auto a = svc_->CreateAccount(req);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->account.id : 0;
  }
  void Number(int64_t account, const std::string& n, NumberKind kind) {
    NewNumber req;
    req.account_id = account;
    req.number = n;
    req.kind = kind;
    req.country = "US";
    auto r = svc_->AddNumber(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  InboundResult Receive(const std::string& from, const std::string& to, const std::string& body) {
    auto r = svc_->ReceiveSms({"twilio", "", from, to, body});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : InboundResult{};
  }
  void OptIn(const std::string& phone, const std::string& number, const std::string& why) {
    StatusChangeRequest req;
    req.account_id = account_;
    req.phone = phone;
    req.number = number;
    req.target = SubscriptionStatus::kOptedIn;
    req.actor = "user:alice";
    req.attestation = {true, LegalBasis::kExistingCustomer, why};
    auto r = svc_->SetStatus(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<ConsentProof> ByPhone(const std::string& phone, int64_t account = 0) {
    ProofSubject s;
    s.phone = phone;
    return BuildConsentProof(*svc_, *store_, *ledger_, clock_, account ? account : account_, s);
  }
  Result<ConsentProof> ById(int64_t id, int64_t account = 0) {
    ProofSubject s;
    s.contact_id = id;
    return BuildConsentProof(*svc_, *store_, *ledger_, clock_, account ? account : account_, s);
  }
  // Integrates the account's events and signs a head over them, as the sequencer would.
  SignedTreeHead SignedHead() {
    auto h = ledger_->CurrentHead(account_);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : SignedTreeHead{};
  }

  fs::path dir_;
  TestClock clock_{kT0};
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> svc_;
  SigningKey key_ = std::move(SigningKey::Generate()).value();
  std::unique_ptr<LedgerService> ledger_;
  int64_t account_ = 0;
};

TEST_F(ProofTest, KeywordOptInIsSummarisedWithTheMessageAndVerifies) {
  clock_.Set(kT0 + 3'600'000);  // 2026-01-01T01:00:00Z
  Receive("+14155552671", "+15551234567", "START");
  clock_.Set(kT0 + 7'200'000);
  auto p = ByPhone("(415) 555-2671");  // national format, the account's region
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->contact.phone, "+14155552671");
  EXPECT_EQ(p->generated_at_ms, kT0 + 7'200'000);
  ASSERT_EQ(p->summary.size(), 2u);
  EXPECT_EQ(p->summary[0],
            "On +15551234567 (long_code): opted in on 2026-01-01 01:00:00 UTC by keyword START "
            "sent from +14155552671 to +15551234567.");
  EXPECT_THAT(p->summary[1], HasSubstr("On 12345 (short_code): no consent event recorded"));
  ASSERT_EQ(p->events.size(), 1u);
  const ProofEvent& e = p->events[0];
  EXPECT_TRUE(e.included);
  EXPECT_EQ(e.leaf_data, LeafData(e.event));
  EXPECT_EQ(e.leaf_hash, merkle::LeafHash(e.leaf_data));
  EXPECT_EQ(e.evidence["body"], "START");
  EXPECT_EQ(e.evidence["match_kind"], "exact_keyword");
  EXPECT_TRUE(p->ledger.ok) << p->ledger.failure.value_or("");
  EXPECT_EQ(p->ledger.head.head.size, 1);
  EXPECT_EQ(p->ledger.head.head.root, e.leaf_hash);  // a tree of one leaf
  EXPECT_TRUE(VerifyTreeHead(p->ledger.head, key_.PublicKeyRaw()));
  // The document verifies offline with nothing but the public key.
  ProofCheck check = VerifyProofDocument(ProofToJson(*p), key_.PublicKeyRaw());
  EXPECT_TRUE(check.ok) << (check.problems.empty() ? "" : check.problems.front());
  EXPECT_EQ(check.events_checked, 1);
}

TEST_F(ProofTest, AttestedOptInNamesTheActorBasisAndExplanation) {
  clock_.Set(kT0 + 86'400'000);
  OptIn("+14155552671", "12345", "Signed the paper form at the counter");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(
      p->summary[1],
      "On 12345 (short_code): opted in by user:alice (manual) on 2026-01-02 00:00:00 UTC, "
      "attested express consent, legal basis existing customer, similar products (Danish "
      "Markedsf\u00f8ringsloven \u00a710 stk. 2), explanation: \"Signed the paper form at the "
      "counter\".");
  json j = ProofToJson(*p);
  EXPECT_EQ(j["title"], "Consent record for +14155552671");
  EXPECT_EQ(j["events"][0]["evidence"]["legal_basis"], "existing_customer");
  EXPECT_EQ(j["events"][0]["evidence"]["attested_express_consent"], true);
  EXPECT_EQ(j["events"][0]["included"], true);
  EXPECT_EQ(j["ledger"]["ok"], true);
  EXPECT_EQ(j["format"], "smsconsent-proof-v2");
  EXPECT_EQ(j["generated_at"], "2026-01-02T00:00:00.000Z");
  EXPECT_EQ(j["statuses"][1]["status"], "opted_in");
  EXPECT_EQ(j["statuses"][1]["may_send"], true);
}

TEST_F(ProofTest, SelfOptOutAfterOptInShowsBothEventsInOrder) {
  clock_.Set(kT0);
  OptIn("+14155552671", "+15551234567", "web form");
  clock_.Set(kT0 + 60'000);
  Receive("+14155552671", "+15551234567", "STOP");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->events.size(), 2u);
  EXPECT_EQ(p->events[0].event.to, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(p->events[1].event.to, SubscriptionStatus::kOptedOut);
  EXPECT_THAT(p->summary[0], HasSubstr("opted out on 2026-01-01 00:01:00 UTC by keyword STOP"));
  EXPECT_THAT(p->summary[0], HasSubstr("the contact's own opt-out"));
  EXPECT_THAT(p->events[1].description, HasSubstr("Opted out on +15551234567 by keyword STOP"));
}

// The printable record says what it is not.
TEST_F(ProofTest, TheRecordSaysItIsNotLegalAdvice) {
  Receive("+14155552671", "+15551234567", "START");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_THAT(ProofToHtml(*p), HasSubstr("It is not legal advice"));
}

// The summary and the status table tell one story: a staff opt-in of a contact who texted
// START changes nothing, so both still date the opt-in from the START and credit the keyword.
TEST_F(ProofTest, NoChangeOptInKeepsTheKeywordOptInAsItsBasis) {
  clock_.Set(kT0 + 3'600'000);
  Receive("+14155552671", "+15551234567", "START");
  clock_.Set(kT0 + 7'200'000);
  OptIn("+14155552671", "+15551234567", "paper form");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->statuses[0].state.updated_at_ms, kT0 + 3'600'000);
  EXPECT_EQ(p->statuses[0].state.source, Source::kKeyword);
  EXPECT_EQ(p->summary[0],
            "On +15551234567 (long_code): opted in on 2026-01-01 01:00:00 UTC by keyword START "
            "sent from +14155552671 to +15551234567.");
  ASSERT_EQ(p->events.size(), 2u);
  EXPECT_THAT(p->events[1].description, HasSubstr("Confirmed opted in (no change)"));
  json j = ProofToJson(*p);
  EXPECT_EQ(j["statuses"][0]["updated_at"], "2026-01-01T01:00:00.000Z");
  EXPECT_EQ(j["statuses"][0]["source"], "keyword");
}

// A user's opt-out becomes the contact's own when they text STOP; it still dates from the
// user's change, and the summary names the confirmation that made it binding.
TEST_F(ProofTest, UserOptOutConfirmedByStopNamesTheConfirmation) {
  clock_.Set(kT0);
  StatusChangeRequest req;
  req.account_id = account_;
  req.phone = "+14155552671";
  req.number = "+15551234567";
  req.target = SubscriptionStatus::kOptedOut;
  req.actor = "user:alice";
  req.attestation.explanation = "asked by phone";
  ASSERT_TRUE(svc_->SetStatus(req).ok());
  clock_.Set(kT0 + 60'000);
  Receive("+14155552671", "+15551234567", "STOP");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->statuses[0].state.updated_at_ms, kT0);
  EXPECT_EQ(p->statuses[0].state.source, Source::kManual);
  EXPECT_TRUE(p->statuses[0].state.self_opted_out);
  EXPECT_EQ(p->summary[0],
            "On +15551234567 (long_code): opted out by user:alice (manual) on 2026-01-01 "
            "00:00:00 UTC, explanation: \"asked by phone\"; the contact confirmed it on "
            "2026-01-01 00:01:00 UTC by keyword STOP sent from +14155552671 to +15551234567, so "
            "it is their own opt-out, which no user can override.");
}

// An opt-out the contact asked for by phone, recorded on their behalf, is their own: the
// summary says how they asked, when it was received and the business days until it took effect.
TEST_F(ProofTest, OptOutOnTheContactsBehalfIsSummarisedAsTheContactsOwn) {
  clock_.Set(kT0);
  OptIn("+14155552671", "+15551234567", "web form");
  clock_.Set(kT0 + 5 * 86'400'000LL);  // Tuesday 6 January 2026
  ContactOptOutRequest req;
  req.account_id = account_;
  req.phone = "+14155552671";
  req.number = "+15551234567";
  req.channel = "in_person";
  req.received_at_ms = kT0 + 4 * 86'400'000LL;  // Monday 5 January
  req.explanation = "asked at the counter";
  req.actor = "user:alice";
  ASSERT_TRUE(svc_->RecordContactOptOut(req).ok());
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->statuses[0].state.self_opted_out);
  EXPECT_EQ(p->summary[0],
            "On +15551234567 (long_code): opted out on 2026-01-06 00:00:00 UTC at the contact's "
            "own request in person, recorded by user:alice, received 2026-01-05 00:00:00 UTC "
            "(1 US business day(s) before it took effect), explanation: \"asked at the "
            "counter\"; this is the contact's own opt-out, which no user can override.");
}

TEST_F(ProofTest, ByIdEqualsByPhone) {
  Receive("+14155552671", "+15551234567", "START");
  auto a = ByPhone("+14155552671");
  ASSERT_TRUE(a.ok());
  auto b = ById(a->contact.id);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ProofToJson(*a), ProofToJson(*b));
  EXPECT_EQ(ProofToHtml(*a), ProofToHtml(*b));
}

TEST_F(ProofTest, Errors) {
  Receive("+14155552671", "+15551234567", "START");
  EXPECT_EQ(ByPhone("+14155550000").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ById(987654).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ByPhone("not a phone").status().code(), StatusCode::kInvalidPhone);
  EXPECT_EQ(BuildConsentProof(*svc_, *store_, *ledger_, clock_, account_, {}).status().code(),
            StatusCode::kInvalidArgument);
  const int64_t bare = MakeAccount("Bare", false);
  EXPECT_EQ(ByPhone("+14155552671", bare).status().code(), StatusCode::kPermissionDenied);
  // Another account cannot prove this account's contact, by id or by phone.
  const int64_t other = MakeAccount("Other", true);
  auto mine = ByPhone("+14155552671");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(ById(mine->contact.id, other).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ByPhone("+14155552671", other).status().code(), StatusCode::kNotFound);
}

TEST_F(ProofTest, EventChangedAfterItsHeadWasSignedIsNotInTheSignedTree) {
  Receive("+14155552671", "+15551234567", "START");
  Receive("+14155550002", "+15551234567", "START");
  Receive("+14155552671", "12345", "START");
  const SignedTreeHead head = SignedHead();
  ASSERT_EQ(head.head.size, 3);
  auto events = store_->ListEvents(account_, {});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  ConsentEvent forged = (*events)[2];  // seq 3, this contact's opt-in on the short code
  forged.evidence = R"({"type":"keyword","body":"START, I promise"})";
  ASSERT_TRUE(store_->DebugOverwriteEvent(forged).ok());

  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ledger.head.head.size, 3);  // the head signed before the change
  EXPECT_EQ(p->ledger.head.head.root, head.head.root);
  EXPECT_FALSE(p->ledger.ok);
  EXPECT_THAT(*p->ledger.failure, HasSubstr("event seq 3"));
  ASSERT_EQ(p->events.size(), 2u);
  // (Whether seq 1 still proves depends on whether the changed leaf is on its path: here it is.)
  EXPECT_FALSE(p->events[1].included);
  json j = ProofToJson(*p);
  EXPECT_EQ(j["ledger"]["ok"], false);
  EXPECT_EQ(j["events"][1]["included"], false);
  ProofCheck check = VerifyProofDocument(j, key_.PublicKeyRaw());
  EXPECT_FALSE(check.ok);
  const std::string html = ProofToHtml(*p);
  EXPECT_THAT(html, HasSubstr("Warning: this record does not verify."));
  EXPECT_THAT(html, HasSubstr("This record does NOT verify."));
  EXPECT_THAT(html, HasSubstr("event seq 3 is not in the signed tree"));
  EXPECT_THAT(html, HasSubstr("DOES NOT MATCH"));
  // And the ledger check names it.
  auto v = svc_->VerifyLedger(account_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok());
}

TEST_F(ProofTest, HeadSignedWithAnotherKeyDoesNotVerifyWithThisOne) {
  Receive("+14155552671", "+15551234567", "START");
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->ledger.ok);
  SigningKey other = std::move(SigningKey::Generate()).value();
  EXPECT_FALSE(VerifyProofDocument(ProofToJson(*p), other.PublicKeyRaw()).ok);
  // A head re-signed by another key over the same tree is not this installation's.
  json forged = ProofToJson(*p);
  forged["tree_head"] = SignedTreeHeadToJson(other.Sign(p->ledger.head.head));
  EXPECT_FALSE(VerifyProofDocument(forged, key_.PublicKeyRaw()).ok);
}

TEST_F(ProofTest, HtmlIsSelfContainedAndEscapesEverything) {
  auto c = svc_->AddContact(account_, "+14155552671", "<img src=x onerror=alert(1)>", "");
  ASSERT_TRUE(c.ok());
  InboundResult r =
      Receive("+14155552671", "+15551234567", "Please stop texting me <script>alert('x')</script>");
  ASSERT_EQ(r.events.size(), 1u) << r.decision;
  auto p = ByPhone("+14155552671");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->events[0].evidence["body"], "Please stop texting me <script>alert('x')</script>");
  const std::string html = ProofToHtml(*p);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("<title>Consent record for +14155552671</title>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr("Acme &amp; Sons"));
  // No external assets: nothing is loaded from anywhere.
  EXPECT_THAT(html, Not(HasSubstr("src=\"")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("This record verifies."));
  EXPECT_THAT(html, HasSubstr("smsconsent-ledger-v2"));
}

TEST_F(ProofTest, ContactWithoutEventsHasAnEmptyTimeline) {
  auto c = svc_->AddContact(account_, "+14155552671", "Ann", "ann@example.com");
  ASSERT_TRUE(c.ok());
  Receive("+14155550002", "+15551234567", "START");  // someone else's event
  auto p = ById(c->id);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->events.empty());
  EXPECT_TRUE(p->ledger.ok);
  EXPECT_EQ(p->ledger.head.head.size, 1);
  EXPECT_THAT(ProofToHtml(*p), HasSubstr("No consent events are recorded for this contact."));
}

TEST_F(ProofTest, ContactPropertiesAreShownEscaped) {
  Contact c;
  c.account_id = account_;
  c.phone = "+14155552671";
  c.properties = R"({"note":"<b>vip</b>"})";
  auto added = store_->AddContact(c);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto p = ById(added->id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ProofToJson(*p)["contact"]["properties"]["note"], "<b>vip</b>");
  const std::string html = ProofToHtml(*p);
  EXPECT_THAT(html, HasSubstr("Property: note"));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;vip&lt;/b&gt;"));
}

TEST(HtmlEscape, EscapesTheFiveCharacters) {
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(HtmlEscape("plain \xC3\xA6\xC3\xB8\xC3\xA5"), "plain \xC3\xA6\xC3\xB8\xC3\xA5");
}

}  // namespace
}  // namespace smsconsent
