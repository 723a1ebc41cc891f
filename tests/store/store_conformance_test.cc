// The ConsentStore conformance suite: the contract of src/store/store.h, run against every
// backend. A backend joins by adding one StoreFactory to the instantiation at the bottom; the
// tests themselves only use the ConsentStore interface.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger.h"
#include "core/merkle.h"
#include "core/tree_head.h"
#include "pg_test_util.h"
#include "status_shorthands.h"
#include "store/store.h"
#include "store_locations.h"

namespace smsconsent {
namespace {

// ---- Helpers -------------------------------------------------------------------------------

// Query builders (designated initializers would trip -Wmissing-field-initializers).
ContactQuery Contacts(const std::string& search = "", int limit = 100, int64_t after_id = 0) {
  ContactQuery q;
  q.search = search;
  q.limit = limit;
  q.after_id = after_id;
  return q;
}
EventQuery Events(int64_t after_seq = 0, int limit = 1000,
                  std::optional<int64_t> contact_id = std::nullopt) {
  EventQuery q;
  q.after_seq = after_seq;
  q.limit = limit;
  q.contact_id = contact_id;
  return q;
}
OutboxQuery Outbox(int64_t after_id = 0, int limit = 100,
                   std::optional<OutboxState> state = std::nullopt) {
  OutboxQuery q;
  q.after_id = after_id;
  q.limit = limit;
  if (state) q.states = {*state};
  return q;
}

InboundQuery Inbounds(int64_t before_id = 0, int limit = 50,
                      std::optional<int64_t> contact_id = std::nullopt,
                      std::optional<int64_t> number_id = std::nullopt) {
  InboundQuery q;
  q.before_id = before_id;
  q.limit = limit;
  q.contact_id = contact_id;
  q.number_id = number_id;
  return q;
}

// The items a claim with the default maximum ages hands out.
Result<std::vector<OutboxItem>> ClaimItems(ConsentStore& store, int64_t now_ms, int limit,
                                           const std::string& owner, int64_t lease_ms) {
  OutboxClaim claim;
  claim.now_ms = now_ms;
  claim.limit = limit;
  claim.owner = owner;
  claim.lease_ms = lease_ms;
  Result<ClaimedOutbox> got = store.ClaimOutbox(claim);
  if (!got.ok()) return got.status();
  return std::move(got->items);
}

#define EXPECT_CODE(expr, want_code)                              \
  do {                                                            \
    auto _st = ::smsconsent::StatusOfForTest(expr);               \
    EXPECT_EQ(_st.code(), want_code) << "got " << _st.ToString(); \
  } while (0)

template <typename T>
Status StatusOfForTest(const Result<T>& r) {
  return r.status();
}
Status StatusOfForTest(const Status& s) { return s; }

class StoreConformance : public testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    if (const std::string why = GetParam().unavailable(); !why.empty()) {
      if (testing_pg::InCi()) FAIL() << GetParam().name << " (CI=true, so not skipped): " << why;
      GTEST_SKIP() << GetParam().name << ": " << why;
    }
    location_ = GetParam().make_location();
    store_ = Must(location_->Open(), "opening the store");
  }
  void TearDown() override {
    store_.reset();
    location_.reset();
  }
  void Reopen() {
    store_.reset();
    store_ = Must(location_->Open(), "reopening the store");
  }

  Account MakeAccount(const std::string& name, const std::string& key_hash = "") {
    Account a;
    a.name = name;
    a.marketing_sms_access = true;
    a.created_at_ms = 1000;
    return Must(store_->CreateAccount(a, key_hash), "CreateAccount");
  }
  SenderNumber MakeNumber(int64_t account_id, const std::string& number,
                          NumberKind kind = NumberKind::kLongCode,
                          const std::string& country = "US") {
    SenderNumber n;
    n.account_id = account_id;
    n.kind = kind;
    n.number = number;
    n.country = country;
    n.business_name = "Acme";
    n.created_at_ms = 2000;
    // Several items of one number are claimed at one instant here; the sending rate's own
    // tests (OutboxRate) set theirs.
    n.rate_mmps = kUnspacedRateMmps;
    return Must(store_->AddNumber(n), "AddNumber");
  }
  Contact MakeContact(int64_t account_id, const std::string& phone, const std::string& name = "") {
    Contact c;
    c.account_id = account_id;
    c.phone = phone;
    c.name = name;
    c.created_at_ms = 3000;
    return Must(store_->AddContact(c), "AddContact");
  }
  static EventDraft Draft(const Contact& c, const SenderNumber& n, SubscriptionStatus from,
                          SubscriptionStatus to, Source source = Source::kManual,
                          int64_t at_ms = 5000) {
    EventDraft d;
    d.contact_id = c.id;
    d.phone = c.phone;
    d.number_id = n.id;
    d.sender = n.number;
    d.from = from;
    d.to = to;
    d.source = source;
    d.actor = source == Source::kKeyword ? "contact" : "user:alice";
    d.at_ms = at_ms;
    d.evidence = R"({"explanation":"signed up at the counter"})";
    return d;
  }
  static InboundMessage Inbound(const Contact& c, const SenderNumber& n, const std::string& id,
                                const std::string& body = "STOP") {
    InboundMessage m;
    m.provider = "twilio";
    m.provider_message_id = id;
    m.from = c.phone;
    m.to = n.number;
    m.number_id = n.id;
    m.contact_id = c.id;
    m.body = body;
    m.received_at_ms = 4000;
    m.decision = R"({"intent":"opt_out"})";
    return m;
  }
  static OutboxItem Reply(const Contact& c, const SenderNumber& n, ReplyKind kind) {
    OutboxItem o;
    o.number_id = n.id;
    o.contact_id = c.id;
    o.to = c.phone;
    o.from = n.number;
    o.body = "You are unsubscribed.";
    o.kind = kind;
    o.created_at_ms = 4001;
    o.next_attempt_at_ms = 4001;
    return o;
  }

  // The account's events in ledger order, once integrated (a store may number events only when
  // it integrates them: PostgreSQL does).
  std::vector<ConsentEvent> AllEvents(int64_t account_id) {
    Must(store_->IntegrateLedger(account_id, store_ledger::kMaxIntegrateEvents, 1), "integrating");
    std::vector<ConsentEvent> all;
    EventQuery q;
    q.limit = 7;  // several pages, to exercise the cursor
    while (true) {
      auto page = Must(store_->ListEvents(account_id, q), "ListEvents");
      if (page.empty()) break;
      q.after_seq = page.back().seq;
      all.insert(all.end(), page.begin(), page.end());
    }
    return all;
  }
  // The account's ledger, integrated: seq 1..N without gaps, each pair's events numbered 1, 2,
  // 3, ... in ledger order, format-2 events without a chain, and the tree's root the root of
  // their leaves. Returns the events.
  std::vector<ConsentEvent> LedgerHolds(int64_t account_id) {
    std::vector<ConsentEvent> events = AllEvents(account_id);
    std::vector<merkle::Hash> leaves;
    std::map<StatusKey, int64_t> nth;
    for (size_t i = 0; i < events.size(); ++i) {
      const ConsentEvent& e = events[i];
      EXPECT_EQ(e.seq, static_cast<int64_t>(i) + 1);
      EXPECT_EQ(e.account_id, account_id);
      EXPECT_EQ(e.format, 2);
      EXPECT_TRUE(e.prev_hash.empty() && e.hash.empty()) << "event seq " << e.seq;
      EXPECT_EQ(e.nth, ++nth[StatusKey(e.contact_id, e.number_id)]) << "event seq " << e.seq;
      leaves.push_back(EventLeafHash(e));
    }
    LedgerTree tree = Must(store_->GetLedgerTree(account_id));
    EXPECT_EQ(tree.size, static_cast<int64_t>(events.size()));
    EXPECT_EQ(tree.root, merkle::RootOf(leaves));
    return events;
  }
  std::vector<int64_t> EventIds(const std::vector<ConsentEvent>& events) {
    std::vector<int64_t> ids;
    for (const ConsentEvent& e : events) ids.push_back(e.id);
    return ids;
  }
  // A new account with two numbers and `contacts` contacts (at least 5), and `count` events
  // spread over them (each pair toggles in and out), committed five to a change set.
  struct LedgerFixture {
    Account account;
    std::vector<SenderNumber> numbers;
    std::vector<Contact> contacts;
  };
  LedgerFixture WriteLedger(int count, int contacts) {
    LedgerFixture f;
    f.account = MakeAccount("ledger");
    f.numbers = {MakeNumber(f.account.id, "+4520000001"), MakeNumber(f.account.id, "+4520000002")};
    for (int i = 0; i < contacts; ++i) {
      f.contacts.push_back(MakeContact(f.account.id, "+4530" + std::to_string(100000 + i)));
    }
    std::map<StatusKey, SubscriptionStatus> now;
    for (int i = 0; i < count;) {
      ChangeSet cs;
      for (int k = 0; k < 5 && i < count; ++k, ++i) {
        const Contact& c = f.contacts[i % contacts];
        const SenderNumber& n = f.numbers[(i / contacts) % 2];
        auto it = now.find({c.id, n.id});
        const SubscriptionStatus from = it == now.end() ? kNone : it->second;
        const SubscriptionStatus to = from == kIn ? kOut : kIn;
        cs.events.push_back(Draft(c, n, from, to, Source::kManual, 5000 + i));
        now[{c.id, n.id}] = to;
      }
      Must(store_->Commit(f.account.id, cs), "committing ledger events");
    }
    return f;
  }

  std::vector<OutboxItem> AllOutbox(int64_t account_id) {
    return Must(store_->ListOutbox(account_id, Outbox(0, 1000)), "ListOutbox");
  }
  std::map<StatusKey, ConsentState> StatusMap(int64_t account_id) {
    std::map<StatusKey, ConsentState> m;
    for (const StatusRow& r : Must(store_->ListAllStatuses(account_id), "ListAllStatuses")) {
      m[{r.contact_id, r.number_id}] = r.state;
    }
    return m;
  }

  std::unique_ptr<StoreLocation> location_;
  std::unique_ptr<ConsentStore> store_;
};

bool SameState(const ConsentState& a, const ConsentState& b) {
  return a.status == b.status && a.self_opted_out == b.self_opted_out && a.source == b.source &&
         a.updated_at_ms == b.updated_at_ms;
}

bool SameStates(const std::map<StatusKey, ConsentState>& a,
                const std::map<StatusKey, ConsentState>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first || !SameState(ia->second, ib->second)) return false;
  }
  return true;
}

std::vector<int64_t> OutboxIds(const std::vector<OutboxItem>& items) {
  std::vector<int64_t> ids;
  for (const OutboxItem& o : items) ids.push_back(o.id);
  return ids;
}

std::vector<int64_t> ContactIds(const std::vector<Contact>& cs) {
  std::vector<int64_t> ids;
  for (const Contact& c : cs) ids.push_back(c.id);
  return ids;
}

// ---- Accounts ------------------------------------------------------------------------------

TEST_P(StoreConformance, CreateAccountRoundTripsEveryField) {
  Account a;
  a.name = "Hansen Cykler ApS";
  a.marketing_sms_access = true;
  a.sms_short_code = true;
  a.default_region = "DK";
  a.opt_out_scope = OptOutScope::kAccount;
  a.created_at_ms = 1700000000123;
  auto created = store_->CreateAccount(a, "hash-1");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->id, 0);

  auto got = store_->GetAccount(created->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->name, "Hansen Cykler ApS");
  EXPECT_TRUE(got->marketing_sms_access);
  EXPECT_TRUE(got->sms_short_code);
  EXPECT_EQ(got->default_region, "DK");
  EXPECT_EQ(got->opt_out_scope, OptOutScope::kAccount);
  EXPECT_EQ(got->created_at_ms, 1700000000123);
}

TEST_P(StoreConformance, GetAccountUnknownIsNotFound) {
  EXPECT_CODE(store_->GetAccount(424242), StatusCode::kNotFound);
}

TEST_P(StoreConformance, FindAccountByApiKeyHash) {
  Account a = MakeAccount("a", "hash-a");
  Account b = MakeAccount("b", "hash-b");
  auto found = store_->FindAccountByApiKeyHash("hash-b");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->id, b.id);
  EXPECT_EQ(found->name, "b");
  EXPECT_CODE(store_->FindAccountByApiKeyHash("hash-c"), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindAccountByApiKeyHash(""), StatusCode::kNotFound);
  EXPECT_NE(a.id, b.id);
}

TEST_P(StoreConformance, ApiKeyHashIsUniqueButAccountsMayHaveNone) {
  MakeAccount("a", "same-hash");
  EXPECT_CODE(store_->CreateAccount(Account(), "same-hash"), StatusCode::kAlreadyExists);
  MakeAccount("no key 1");
  MakeAccount("no key 2");
  auto all = store_->ListAccounts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[2].name, "no key 2");
}

// ---- Sender numbers ------------------------------------------------------------------------

TEST_P(StoreConformance, NumberRoundTripsKeywordConfigAndReplies) {
  Account acct = MakeAccount("a");
  SenderNumber n;
  n.account_id = acct.id;
  n.kind = NumberKind::kTollFree;
  n.number = "+18005550100";
  n.country = "US";
  n.business_name = "Acme \"Bikes\"";
  n.keywords.languages = {"en", "es"};
  n.keywords.opt_in = {"JOIN"};
  n.keywords.opt_out = {"ALTO", "BASTA YA"};
  n.keywords.opt_out_all = {"NADA"};
  n.keywords.help = {"SOS"};
  n.keywords.replace_default_keywords = true;
  n.keywords.free_text = false;
  n.replies = {"Hi from {business}", "Bye from {business}", "Help: call us ✆",
               "Reply YES, {business}"};
  n.opt_in_confirmation = true;
  n.double_opt_in = true;
  n.created_at_ms = 77;
  auto added = store_->AddNumber(n);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_GT(added->id, 0);

  auto got = store_->GetNumber(acct.id, added->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->account_id, acct.id);
  EXPECT_EQ(got->kind, NumberKind::kTollFree);
  EXPECT_EQ(got->number, "+18005550100");
  EXPECT_EQ(got->country, "US");
  EXPECT_EQ(got->business_name, "Acme \"Bikes\"");
  EXPECT_EQ(got->keywords.languages, (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(got->keywords.opt_in, (std::vector<std::string>{"JOIN"}));
  EXPECT_EQ(got->keywords.opt_out, (std::vector<std::string>{"ALTO", "BASTA YA"}));
  EXPECT_EQ(got->keywords.opt_out_all, (std::vector<std::string>{"NADA"}));
  EXPECT_EQ(got->keywords.help, (std::vector<std::string>{"SOS"}));
  EXPECT_TRUE(got->keywords.replace_default_keywords);
  EXPECT_FALSE(got->keywords.free_text);
  EXPECT_EQ(got->replies.opt_in, "Hi from {business}");
  EXPECT_EQ(got->replies.opt_out, "Bye from {business}");
  EXPECT_EQ(got->replies.help, "Help: call us ✆");
  EXPECT_EQ(got->replies.confirmation_request, "Reply YES, {business}");
  EXPECT_TRUE(got->opt_in_confirmation);
  EXPECT_TRUE(got->double_opt_in);
  EXPECT_EQ(got->created_at_ms, 77);
}

TEST_P(StoreConformance, UpdateNumberChangesItsSettings) {
  Account acct = MakeAccount("a");
  SenderNumber n = MakeNumber(acct.id, "+4520123456", NumberKind::kLongCode, "DK");
  n.business_name = "Hansen";
  n.keywords.languages = {"da"};
  n.keywords.opt_out = {"STOPPE"};
  n.replies.help = "Ring 70 20 30 40";
  n.replies.confirmation_request = "Svar JA";
  n.opt_in_confirmation = true;
  n.double_opt_in = true;
  auto updated = store_->UpdateNumber(n);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->business_name, "Hansen");

  auto got = store_->GetNumber(acct.id, n.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->business_name, "Hansen");
  EXPECT_EQ(got->keywords.languages, (std::vector<std::string>{"da"}));
  EXPECT_EQ(got->keywords.opt_out, (std::vector<std::string>{"STOPPE"}));
  EXPECT_EQ(got->replies.help, "Ring 70 20 30 40");
  EXPECT_EQ(got->replies.confirmation_request, "Svar JA");
  EXPECT_TRUE(got->opt_in_confirmation);
  EXPECT_TRUE(got->double_opt_in);

  auto listed = store_->ListNumbers(acct.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].business_name, "Hansen");
}

TEST_P(StoreConformance, UpdateOrGetNumberOfAnotherAccountIsNotFound) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  EXPECT_CODE(store_->GetNumber(b.id, n.id), StatusCode::kNotFound);
  SenderNumber hijack = n;
  hijack.account_id = b.id;
  hijack.business_name = "Evil";
  EXPECT_CODE(store_->UpdateNumber(hijack), StatusCode::kNotFound);
  SenderNumber missing = n;
  missing.id = 999999;
  EXPECT_CODE(store_->UpdateNumber(missing), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetNumber(a.id, n.id)).business_name, "Acme");
}

TEST_P(StoreConformance, ListNumbersShowsOnlyTheAccountsNumbers) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber a1 = MakeNumber(a.id, "+4520000001");
  SenderNumber b1 = MakeNumber(b.id, "+4520000002");
  SenderNumber a2 = MakeNumber(a.id, "12345", NumberKind::kShortCode, "US");
  auto listed = store_->ListNumbers(a.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, a1.id);
  EXPECT_EQ((*listed)[1].id, a2.id);
  EXPECT_EQ((*listed)[1].kind, NumberKind::kShortCode);
  EXPECT_NE(b1.id, a1.id);
}

TEST_P(StoreConformance, SameE164NumberIsRefusedAcrossAccounts) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  MakeNumber(a.id, "+4520123456", NumberKind::kLongCode, "DK");
  SenderNumber dup;
  dup.account_id = b.id;
  dup.kind = NumberKind::kLongCode;
  dup.number = "+4520123456";
  dup.country = "DK";
  EXPECT_CODE(store_->AddNumber(dup), StatusCode::kAlreadyExists);
  dup.account_id = a.id;
  EXPECT_CODE(store_->AddNumber(dup), StatusCode::kAlreadyExists);
  // The country does not make an E.164 number distinct.
  dup.country = "SE";
  EXPECT_CODE(store_->AddNumber(dup), StatusCode::kAlreadyExists);
  EXPECT_EQ(Must(store_->ListNumbers(b.id)).size(), 0u);
}

TEST_P(StoreConformance, ShortCodeDigitsMayRepeatInAnotherCountryOnly) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  MakeNumber(a.id, "12345", NumberKind::kShortCode, "US");
  SenderNumber dk;
  dk.account_id = b.id;
  dk.kind = NumberKind::kShortCode;
  dk.number = "12345";
  dk.country = "DK";
  auto added = store_->AddNumber(dk);
  EXPECT_TRUE(added.ok()) << added.status().ToString();
  SenderNumber us_again = dk;
  us_again.country = "US";
  EXPECT_CODE(store_->AddNumber(us_again), StatusCode::kAlreadyExists);
}

TEST_P(StoreConformance, UpdateNumberToATakenNumberIsRefused) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  MakeNumber(a.id, "+4520000001");
  SenderNumber mine = MakeNumber(b.id, "+4520000002");
  mine.number = "+4520000001";
  EXPECT_CODE(store_->UpdateNumber(mine), StatusCode::kAlreadyExists);
  EXPECT_EQ(Must(store_->GetNumber(b.id, mine.id)).number, "+4520000002");
}

TEST_P(StoreConformance, FindNumbersReturnsEveryAccountsRegistration) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber us = MakeNumber(a.id, "12345", NumberKind::kShortCode, "US");
  SenderNumber dk = MakeNumber(b.id, "12345", NumberKind::kShortCode, "DK");
  SenderNumber lc = MakeNumber(a.id, "+4520123456", NumberKind::kLongCode, "DK");

  auto found = store_->FindNumbers("12345");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  std::set<std::pair<int64_t, std::string>> got;
  for (const SenderNumber& n : *found) got.insert({n.account_id, n.country});
  EXPECT_EQ(got, (std::set<std::pair<int64_t, std::string>>{{a.id, "US"}, {b.id, "DK"}}));

  auto one = store_->FindNumbers("+4520123456");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, lc.id);
  EXPECT_TRUE(Must(store_->FindNumbers("+4599999999")).empty());
  EXPECT_NE(us.id, dk.id);
}

TEST_P(StoreConformance, AddNumberToUnknownAccountIsNotFound) {
  SenderNumber n;
  n.account_id = 31337;
  n.number = "+4520123456";
  EXPECT_CODE(store_->AddNumber(n), StatusCode::kNotFound);
}

// ---- Contacts ------------------------------------------------------------------------------

TEST_P(StoreConformance, AddGetAndFindContact) {
  Account a = MakeAccount("a");
  Contact c;
  c.account_id = a.id;
  c.phone = "+4512345678";
  c.name = "Søren Kierkegaard";
  c.email = "soren@example.dk";
  c.created_at_ms = 123;
  auto added = store_->AddContact(c);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_GT(added->id, 0);

  auto got = store_->GetContact(a.id, added->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->phone, "+4512345678");
  EXPECT_EQ(got->name, "Søren Kierkegaard");
  EXPECT_EQ(got->email, "soren@example.dk");
  EXPECT_EQ(got->created_at_ms, 123);
  EXPECT_EQ(got->account_id, a.id);

  auto found = store_->FindContactByPhone(a.id, "+4512345678");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, added->id);
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4587654321"), StatusCode::kNotFound);
  EXPECT_CODE(store_->GetContact(a.id, 987654), StatusCode::kNotFound);
}

TEST_P(StoreConformance, DuplicatePhoneIsRefusedWithinAnAccountOnly) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  MakeContact(a.id, "+4512345678", "first");
  Contact dup;
  dup.account_id = a.id;
  dup.phone = "+4512345678";
  dup.name = "second";
  EXPECT_CODE(store_->AddContact(dup), StatusCode::kAlreadyExists);
  dup.account_id = b.id;
  auto other = store_->AddContact(dup);
  EXPECT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(Must(store_->FindContactByPhone(a.id, "+4512345678")).name, "first");
}

TEST_P(StoreConformance, AnotherAccountCannotSeeAContact) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  Contact c = MakeContact(a.id, "+4512345678", "Alice");
  EXPECT_CODE(store_->GetContact(b.id, c.id), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindContactByPhone(b.id, "+4512345678"), StatusCode::kNotFound);
  EXPECT_TRUE(Must(store_->ListContacts(b.id, Contacts())).empty());
  EXPECT_TRUE(Must(store_->ListContacts(b.id, Contacts("alice"))).empty());
}

TEST_P(StoreConformance, AddContactToUnknownAccountIsNotFound) {
  EXPECT_CODE(store_->AddContact(Contact{0, 31337, "+4512345678", "", "", 0}),
              StatusCode::kNotFound);
}

TEST_P(StoreConformance, ListContactsPagesWithTheIdCursor) {
  Account a = MakeAccount("a");
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) {
    ids.push_back(MakeContact(a.id, "+45100000" + std::to_string(10 + i)).id);
  }
  std::vector<int64_t> seen;
  ContactQuery q = Contacts("", 10);
  std::vector<size_t> page_sizes;
  while (true) {
    auto page = store_->ListContacts(a.id, q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    if (page->empty()) break;
    page_sizes.push_back(page->size());
    for (const Contact& c : *page) seen.push_back(c.id);
    q.after_id = page->back().id;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5}));
  EXPECT_EQ(seen, ids);
}

TEST_P(StoreConformance, ListContactsSearchIgnoresCaseInNames) {
  Account a = MakeAccount("a");
  Contact alice = MakeContact(a.id, "+4511111111", "Alice Smith");
  Contact shout = MakeContact(a.id, "+4522222222", "MALICE");
  MakeContact(a.id, "+4533333333", "Bob");
  Contact soren = MakeContact(a.id, "+4544444444", "Søren Ærø");
  Contact greek = MakeContact(a.id, "+3055555555", "Σωκράτης");

  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("alice")))),
            (std::vector<int64_t>{alice.id, shout.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("SMITH")))),
            (std::vector<int64_t>{alice.id}));
  // Beyond ASCII: Danish and Greek capitals match their lower-case forms.
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("SØREN ÆRØ")))),
            (std::vector<int64_t>{soren.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("σωκ")))),
            (std::vector<int64_t>{greek.id}));
  EXPECT_TRUE(Must(store_->ListContacts(a.id, Contacts("carol"))).empty());
}

TEST_P(StoreConformance, ListContactsSearchMatchesPhoneSubstrings) {
  Account a = MakeAccount("a");
  Contact dk = MakeContact(a.id, "+4512345678", "Dane");
  Contact us = MakeContact(a.id, "+14155552671", "Yank");
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("2345")))),
            (std::vector<int64_t>{dk.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("+1415")))),
            (std::vector<int64_t>{us.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("5")))),
            (std::vector<int64_t>{dk.id, us.id}));
}

TEST_P(StoreConformance, ListContactsSearchTreatsLikeMetacharactersLiterally) {
  Account a = MakeAccount("a");
  Contact percent = MakeContact(a.id, "+4511111111", "100% Real");
  MakeContact(a.id, "+4522222222", "1000 Real");
  Contact underscore = MakeContact(a.id, "+4533333333", "a_b");
  MakeContact(a.id, "+4544444444", "axb");
  Contact backslash = MakeContact(a.id, "+4555555555", "back\\slash");

  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("%")))),
            (std::vector<int64_t>{percent.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("0% r")))),
            (std::vector<int64_t>{percent.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("_")))),
            (std::vector<int64_t>{underscore.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("a_")))),
            (std::vector<int64_t>{underscore.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("\\")))),
            (std::vector<int64_t>{backslash.id}));
}

TEST_P(StoreConformance, ListContactsSearchPagesWithTheCursor) {
  Account a = MakeAccount("a");
  std::vector<int64_t> hansens;
  for (int i = 0; i < 7; ++i) {
    hansens.push_back(
        MakeContact(a.id, "+451000000" + std::to_string(i), "Hansen " + std::to_string(i)).id);
    MakeContact(a.id, "+452000000" + std::to_string(i), "Jensen");
  }
  std::vector<int64_t> seen;
  ContactQuery q = Contacts("HANSEN", 3);
  while (true) {
    auto page = Must(store_->ListContacts(a.id, q));
    if (page.empty()) break;
    EXPECT_LE(page.size(), 3u);
    for (const Contact& c : page) seen.push_back(c.id);
    q.after_id = page.back().id;
  }
  EXPECT_EQ(seen, hansens);
}

// ---- Contacts: status filter, update, delete ----------------------------------------------

ContactQuery WithStatus(ContactQuery q, int64_t number_id, SubscriptionStatus status) {
  q.number_id = number_id;
  q.status = status;
  return q;
}

TEST_P(StoreConformance, ListContactsFiltersByStatusOnANumber) {
  Account a = MakeAccount("a");
  SenderNumber n1 = MakeNumber(a.id, "+4520000001");
  SenderNumber n2 = MakeNumber(a.id, "+4520000002");
  Contact in1 = MakeContact(a.id, "+4511111111", "in on n1");
  Contact out1 = MakeContact(a.id, "+4522222222", "out on n1");
  Contact in2 = MakeContact(a.id, "+4533333333", "in on n2 only");
  Contact reset = MakeContact(a.id, "+4544444444", "in, then not_specified on n1");
  Contact never = MakeContact(a.id, "+4555555555", "no status row at all");
  ChangeSet changes;
  changes.events = {Draft(in1, n1, kNone, kIn),
                    Draft(out1, n1, kNone, kIn),
                    Draft(out1, n1, kIn, kOut, Source::kKeyword),
                    Draft(in2, n2, kNone, kIn),
                    Draft(reset, n1, kNone, kIn),
                    Draft(reset, n1, kIn, kNone)};
  ASSERT_TRUE(store_->Commit(a.id, changes).ok());

  auto ids = [&](int64_t number_id, SubscriptionStatus st) {
    return ContactIds(Must(store_->ListContacts(a.id, WithStatus(Contacts(), number_id, st))));
  };
  EXPECT_EQ(ids(n1.id, kIn), (std::vector<int64_t>{in1.id}));
  EXPECT_EQ(ids(n1.id, kOut), (std::vector<int64_t>{out1.id}));
  // not_specified: a row saying so, and no row at all.
  EXPECT_EQ(ids(n1.id, kNone), (std::vector<int64_t>{in2.id, reset.id, never.id}));
  EXPECT_EQ(ids(n2.id, kIn), (std::vector<int64_t>{in2.id}));
  EXPECT_TRUE(ids(n2.id, kOut).empty());
  EXPECT_EQ(ids(n2.id, kNone), (std::vector<int64_t>{in1.id, out1.id, reset.id, never.id}));
}

TEST_P(StoreConformance, ListContactsStatusFilterNeedsBothHalvesAndANumberOfTheAccount) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber na = MakeNumber(a.id, "+4520000001");
  SenderNumber nb = MakeNumber(b.id, "+4520000002");
  MakeContact(a.id, "+4511111111");
  ContactQuery only_number = Contacts();
  only_number.number_id = na.id;
  EXPECT_CODE(store_->ListContacts(a.id, only_number), StatusCode::kInvalidArgument);
  ContactQuery only_status = Contacts();
  only_status.status = kIn;
  EXPECT_CODE(store_->ListContacts(a.id, only_status), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ListContacts(a.id, WithStatus(Contacts(), nb.id, kNone)),
              StatusCode::kNotFound);
  EXPECT_CODE(store_->ListContacts(a.id, WithStatus(Contacts(), 987654, kIn)),
              StatusCode::kNotFound);
}

TEST_P(StoreConformance, ListContactsStatusFilterSeesOnlyTheAccountsContacts) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber na = MakeNumber(a.id, "+4520000001");
  SenderNumber nb = MakeNumber(b.id, "+4520000002");
  Contact ca = MakeContact(a.id, "+4511111111", "Alice");
  Contact cb = MakeContact(b.id, "+4511111111", "Alice");
  Contact cb_none = MakeContact(b.id, "+4522222222", "Alice too");
  ChangeSet ina;
  ina.events = {Draft(ca, na, kNone, kIn)};
  ASSERT_TRUE(store_->Commit(a.id, ina).ok());
  ChangeSet inb;
  inb.events = {Draft(cb, nb, kNone, kIn)};
  ASSERT_TRUE(store_->Commit(b.id, inb).ok());

  EXPECT_EQ(ContactIds(Must(store_->ListContacts(b.id, WithStatus(Contacts(), nb.id, kIn)))),
            (std::vector<int64_t>{cb.id}));
  EXPECT_EQ(
      ContactIds(Must(store_->ListContacts(b.id, WithStatus(Contacts("alice"), nb.id, kNone)))),
      (std::vector<int64_t>{cb_none.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, WithStatus(Contacts(), na.id, kNone)))),
            (std::vector<int64_t>{}));
}

TEST_P(StoreConformance, ListContactsStatusFilterPagesWithSearchAndTheCursor) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520000001");
  std::vector<int64_t> hansens_in, hansens_none, all_in;
  ChangeSet changes;
  for (int i = 0; i < 12; ++i) {
    const std::string d = std::to_string(10 + i);
    Contact h = MakeContact(a.id, "+45100000" + d, "Hansen " + d);
    Contact j = MakeContact(a.id, "+45200000" + d, "Jensen " + d);
    if (i % 3 != 0) {  // 8 of the Hansens and every Jensen opt in
      changes.events.push_back(Draft(h, n, kNone, kIn));
      hansens_in.push_back(h.id);
      all_in.push_back(h.id);
    } else {
      hansens_none.push_back(h.id);
    }
    changes.events.push_back(Draft(j, n, kNone, kIn));
    all_in.push_back(j.id);
  }
  ASSERT_TRUE(store_->Commit(a.id, changes).ok());

  auto pages = [&](ContactQuery q, std::vector<size_t>* sizes) {
    std::vector<int64_t> seen;
    while (true) {
      auto page = Must(store_->ListContacts(a.id, q));
      if (page.empty()) break;
      sizes->push_back(page.size());
      for (const Contact& c : page) seen.push_back(c.id);
      q.after_id = page.back().id;
    }
    return seen;
  };
  std::vector<size_t> sizes;
  EXPECT_EQ(pages(WithStatus(Contacts("HANSEN", 3), n.id, kIn), &sizes), hansens_in);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 2}));
  sizes.clear();
  EXPECT_EQ(pages(WithStatus(Contacts("hansen", 3), n.id, kNone), &sizes), hansens_none);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 1}));
  sizes.clear();
  EXPECT_EQ(pages(WithStatus(Contacts("", 5), n.id, kIn), &sizes), all_in);
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5}));
  sizes.clear();
  EXPECT_TRUE(pages(WithStatus(Contacts("jensen", 5), n.id, kNone), &sizes).empty());
  // The cursor starts anywhere, also in the middle of the matches.
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(
                a.id, WithStatus(Contacts("hansen", 2, hansens_in[3]), n.id, kIn)))),
            (std::vector<int64_t>{hansens_in[4], hansens_in[5]}));
}

TEST_P(StoreConformance, UpdateContactChangesNameAndEmailOnly) {
  Account a = MakeAccount("a");
  Contact c = MakeContact(a.id, "+4511111111", "Old Name");
  Contact u = c;
  u.name = "Søren Ny";
  u.email = "soren@example.dk";
  u.created_at_ms = 999999;  // not changed by an update
  ASSERT_TRUE(store_->UpdateContact(u).ok());
  Contact got = Must(store_->GetContact(a.id, c.id));
  EXPECT_EQ(got.name, "Søren Ny");
  EXPECT_EQ(got.email, "soren@example.dk");
  EXPECT_EQ(got.phone, "+4511111111");
  EXPECT_EQ(got.created_at_ms, c.created_at_ms);
  // The search sees the new name.
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts("SØREN")))),
            (std::vector<int64_t>{c.id}));
  EXPECT_TRUE(Must(store_->ListContacts(a.id, Contacts("old name"))).empty());

  // An empty phone means "unchanged".
  u.phone.clear();
  u.email = "";
  ASSERT_TRUE(store_->UpdateContact(u).ok());
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).email, "");
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).phone, "+4511111111");
}

TEST_P(StoreConformance, UpdateContactRefusesAPhoneChangeAndOtherAccounts) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  Contact c = MakeContact(a.id, "+4511111111", "Alice");
  Contact u = c;
  u.phone = "+4599999999";
  u.name = "Mallory";
  EXPECT_CODE(store_->UpdateContact(u), StatusCode::kInvalidArgument);
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).name, "Alice");  // nothing changed
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4599999999"), StatusCode::kNotFound);

  Contact other = c;
  other.account_id = b.id;
  other.name = "Mallory";
  EXPECT_CODE(store_->UpdateContact(other), StatusCode::kNotFound);
  Contact unknown = c;
  unknown.id = 987654;
  EXPECT_CODE(store_->UpdateContact(unknown), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).name, "Alice");
}

TEST_P(StoreConformance, DeleteContactIsRefusedOnceTheLedgerHasEvents) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520000001");
  Contact c = MakeContact(a.id, "+4511111111", "Alice");
  ChangeSet changes;
  changes.events = {Draft(c, n, kNone, kIn), Draft(c, n, kIn, kNone)};
  ASSERT_TRUE(store_->Commit(a.id, changes).ok());

  Status st = store_->DeleteContact(a.id, c.id);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("append-only"), std::string::npos) << st.message();
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).name, "Alice");
  EXPECT_EQ(AllEvents(a.id).size(), 2u);
  EXPECT_EQ(StatusMap(a.id).size(), 1u);
}

TEST_P(StoreConformance, DeleteContactIsRefusedWithInboundMessagesOrReplies) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520000001");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet help;  // a HELP: a message and its answer, no event
  help.inbound = Inbound(c, n, "SM-help", "HELP");
  help.outbox = {Reply(c, n, ReplyKind::kHelp)};
  ASSERT_TRUE(store_->Commit(a.id, help).ok());
  EXPECT_CODE(store_->DeleteContact(a.id, c.id), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->GetContact(a.id, c.id).ok());
  EXPECT_TRUE(Must(store_->FindInbound(a.id, "twilio", "SM-help")).has_value());
}

TEST_P(StoreConformance, DeleteContactWithoutHistoryRemovesItFromTheAccountOnly) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520000001");
  Contact keep = MakeContact(a.id, "+4511111111", "keep");
  Contact gone = MakeContact(a.id, "+4522222222", "gone");
  Contact twin = MakeContact(b.id, "+4522222222", "b's contact with the same phone");
  ChangeSet changes;
  changes.events = {Draft(keep, n, kNone, kIn)};
  ASSERT_TRUE(store_->Commit(a.id, changes).ok());

  // Another account cannot delete it, nor an unknown id.
  EXPECT_CODE(store_->DeleteContact(b.id, gone.id), StatusCode::kNotFound);
  EXPECT_CODE(store_->DeleteContact(a.id, 987654), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetContact(a.id, gone.id).ok());

  Status st = store_->DeleteContact(a.id, gone.id);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_CODE(store_->GetContact(a.id, gone.id), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4522222222"), StatusCode::kNotFound);
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, Contacts()))),
            (std::vector<int64_t>{keep.id}));
  EXPECT_EQ(ContactIds(Must(store_->ListContacts(a.id, WithStatus(Contacts(), n.id, kNone)))),
            (std::vector<int64_t>{}));
  EXPECT_CODE(store_->DeleteContact(a.id, gone.id), StatusCode::kNotFound);
  // The other account's contact with the same phone is untouched; the phone can come back.
  EXPECT_EQ(Must(store_->GetContact(b.id, twin.id)).name, twin.name);
  Contact again = MakeContact(a.id, "+4522222222", "back");
  EXPECT_GT(again.id, gone.id);
  // The ledger did not move.
  EXPECT_EQ(AllEvents(a.id).size(), 1u);
}

TEST_P(StoreConformance, ListQueriesRefuseANonPositiveLimit) {
  Account a = MakeAccount("a");
  EXPECT_CODE(store_->ListContacts(a.id, Contacts("", 0)), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ListEvents(a.id, Events(0, -1)), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ListOutbox(a.id, Outbox(0, 0)), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ListInbound(a.id, Inbounds(0, 0)), StatusCode::kInvalidArgument);
}

// ---- Commit: the ledger --------------------------------------------------------------------

TEST_P(StoreConformance, CommitWritesEventsThatTheLedgerNumbersInCommitOrder) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");

  ChangeSet first;
  first.events = {Draft(c1, n, kNone, kIn), Draft(c2, n, kNone, kIn)};
  auto r1 = store_->Commit(a.id, first);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_EQ(r1->events.size(), 2u);
  EXPECT_EQ(r1->events[0].format, 2);
  EXPECT_EQ(r1->events[0].nth, 1);
  EXPECT_EQ(r1->events[0].account_id, a.id);
  EXPECT_GT(r1->events[0].id, 0);
  EXPECT_EQ(r1->inbound_id, 0);

  ChangeSet second;
  second.events = {Draft(c1, n, kIn, kOut, Source::kKeyword, 6000)};
  auto r2 = store_->Commit(a.id, second);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(r2->events.size(), 1u);
  EXPECT_EQ(r2->events[0].nth, 2);  // the pair's second event

  std::vector<ConsentEvent> stored = LedgerHolds(a.id);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(EventIds(stored),
            (std::vector<int64_t>{r1->events[0].id, r1->events[1].id, r2->events[0].id}));

  // What Commit returned is what was stored, field for field.
  const ConsentEvent& e = stored[2];
  const ConsentEvent& ret = r2->events[0];
  EXPECT_EQ(e.id, ret.id);
  EXPECT_EQ(e.contact_id, c1.id);
  EXPECT_EQ(e.phone, c1.phone);
  EXPECT_EQ(e.number_id, n.id);
  EXPECT_EQ(e.sender, n.number);
  EXPECT_EQ(e.from, kIn);
  EXPECT_EQ(e.to, kOut);
  EXPECT_EQ(e.source, Source::kKeyword);
  EXPECT_EQ(e.actor, "contact");
  EXPECT_EQ(e.at_ms, 6000);
  EXPECT_EQ(e.evidence, ret.evidence);
  EXPECT_EQ(e.nth, ret.nth);
}

TEST_P(StoreConformance, CommitFoldsEventsIntoStatusesWithApplyEvent) {
  Account a = MakeAccount("a");
  SenderNumber n1 = MakeNumber(a.id, "+4520000001");
  SenderNumber n2 = MakeNumber(a.id, "+4520000002");
  Contact c = MakeContact(a.id, "+4511111111");

  EXPECT_TRUE(Must(store_->GetStatuses(a.id, c.id)).empty());

  ChangeSet changes;
  changes.events = {
      Draft(c, n1, kNone, kIn, Source::kManual, 100),
      Draft(c, n1, kIn, kOut, Source::kKeyword, 200),  // same pair twice in one commit
      Draft(c, n2, kNone, kOut, Source::kBulk, 300),
      Draft(c, n2, kOut, kOut, Source::kKeyword, 400),  // no change, but now the contact's own
  };
  auto r = store_->Commit(a.id, changes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  ConsentState want1 =
      ApplyEvent(ApplyEvent({}, kIn, Source::kManual, 100), kOut, Source::kKeyword, 200);
  ConsentState want2 =
      ApplyEvent(ApplyEvent({}, kOut, Source::kBulk, 300), kOut, Source::kKeyword, 400);
  auto rows = Must(store_->GetStatuses(a.id, c.id));
  ASSERT_EQ(rows.size(), 2u);
  std::map<int64_t, ConsentState> by_number;
  for (const StatusRow& row : rows) {
    EXPECT_EQ(row.contact_id, c.id);
    by_number[row.number_id] = row.state;
  }
  EXPECT_TRUE(SameState(by_number[n1.id], want1));
  EXPECT_TRUE(SameState(by_number[n2.id], want2));
  EXPECT_TRUE(by_number[n1.id].self_opted_out);
  EXPECT_TRUE(by_number[n2.id].self_opted_out);
  // The confirming STOP changed no status: since and source stay the bulk opt-out's.
  EXPECT_EQ(by_number[n2.id].updated_at_ms, 300);
  EXPECT_EQ(by_number[n2.id].source, Source::kBulk);
}

// A status's since and source are when and how it last changed. An event that leaves it as it
// was -- a staff opt-in of a contact who texted START, a second STOP -- is in the ledger, as
// evidence, and moves neither; the ledger's replay agrees with the table.
TEST_P(StoreConformance, NoChangeEventsKeepSinceAndSourceOfTheLastChange) {
  Account a = MakeAccount("a");
  SenderNumber n1 = MakeNumber(a.id, "+4520000001");
  SenderNumber n2 = MakeNumber(a.id, "+4520000002");
  Contact c = MakeContact(a.id, "+4511111111");
  auto commit = [&](const EventDraft& d) {
    ChangeSet changes;
    changes.events = {d};
    auto r = store_->Commit(a.id, changes);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  auto state = [&](const SenderNumber& n) {
    for (const StatusRow& row : Must(store_->GetStatuses(a.id, c.id))) {
      if (row.number_id == n.id) return row.state;
    }
    return ConsentState{};
  };

  commit(Draft(c, n1, kNone, kIn, Source::kKeyword, 100));  // START
  commit(Draft(c, n1, kIn, kIn, Source::kManual, 200));     // a staff opt-in: no change
  ConsentState s = state(n1);
  EXPECT_EQ(s.status, kIn);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 100);

  commit(Draft(c, n1, kIn, kOut, Source::kKeyword, 300));   // STOP
  commit(Draft(c, n1, kOut, kOut, Source::kKeyword, 400));  // STOP again
  s = state(n1);
  EXPECT_EQ(s.status, kOut);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 300);

  commit(Draft(c, n2, kNone, kOut, Source::kBulk, 500));    // a user's opt-out
  commit(Draft(c, n2, kOut, kOut, Source::kKeyword, 600));  // the contact confirms it
  s = state(n2);
  EXPECT_EQ(s.status, kOut);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.source, Source::kBulk);
  EXPECT_EQ(s.updated_at_ms, 500);

  const auto events = AllEvents(a.id);
  ASSERT_EQ(events.size(), 6u);
  StatusReplay replay;
  for (const ConsentEvent& e : events) replay.Add(e);
  EXPECT_TRUE(SameState(replay.states().at({c.id, n1.id}), state(n1)));
  EXPECT_TRUE(SameState(replay.states().at({c.id, n2.id}), state(n2)));
}

TEST_P(StoreConformance, StaleFromAbortsAndWritesNothing) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  ChangeSet setup;
  setup.events = {Draft(c2, n, kNone, kIn)};
  Must(store_->Commit(a.id, setup));
  auto statuses_before = StatusMap(a.id);

  ChangeSet changes;
  changes.inbound = Inbound(c1, n, "SM-1");
  changes.events = {
      Draft(c1, n, kNone, kOut, Source::kKeyword),  // valid
      Draft(c2, n, kNone, kOut, Source::kKeyword),  // stale: c2 is opted_in
  };
  changes.outbox = {Reply(c1, n, ReplyKind::kOptOutConfirmation)};
  EXPECT_CODE(store_->Commit(a.id, changes), StatusCode::kAborted);

  EXPECT_EQ(AllEvents(a.id).size(), 1u);
  EXPECT_FALSE(Must(store_->FindInbound(a.id, "twilio", "SM-1")).has_value());
  EXPECT_TRUE(AllOutbox(a.id).empty());
  EXPECT_TRUE(SameStates(StatusMap(a.id), statuses_before));

  // The ledger continues without a gap after the aborted attempt.
  changes.events[1].from = kIn;
  auto retried = store_->Commit(a.id, changes);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  const auto events = AllEvents(a.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].id, retried->events[0].id);
  EXPECT_EQ(events[1].seq, 2);
  EXPECT_EQ(events[2].id, retried->events[1].id);
  EXPECT_EQ(events[2].seq, 3);
}

TEST_P(StoreConformance, DuplicateInboundIsAlreadyExistsAndWritesNothing) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet changes;
  changes.inbound = Inbound(c, n, "SM-42");
  changes.events = {Draft(c, n, kNone, kOut, Source::kKeyword)};
  changes.outbox = {Reply(c, n, ReplyKind::kOptOutConfirmation)};
  auto first = store_->Commit(a.id, changes);
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  // A provider retry: same message id, decided again on the new state.
  changes.events = {Draft(c, n, kOut, kOut, Source::kKeyword)};
  EXPECT_CODE(store_->Commit(a.id, changes), StatusCode::kAlreadyExists);
  EXPECT_EQ(AllEvents(a.id).size(), 1u);
  EXPECT_EQ(AllOutbox(a.id).size(), 1u);

  auto stored = Must(store_->FindInbound(a.id, "twilio", "SM-42"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id, first->inbound_id);
  EXPECT_EQ(stored->account_id, a.id);
  EXPECT_EQ(stored->body, "STOP");
  EXPECT_EQ(stored->from, c.phone);
  EXPECT_EQ(stored->to, n.number);
  EXPECT_EQ(stored->number_id, n.id);
  EXPECT_EQ(stored->contact_id, c.id);
  EXPECT_EQ(stored->received_at_ms, 4000);
  EXPECT_EQ(stored->decision, R"({"intent":"opt_out"})");

  // The same provider message id is another message for another provider or account.
  changes.inbound->provider = "vonage";
  EXPECT_TRUE(store_->Commit(a.id, changes).ok());
  Account b = MakeAccount("b");
  SenderNumber nb = MakeNumber(b.id, "+4520999999");
  Contact cb = MakeContact(b.id, "+4511111111");
  ChangeSet other;
  other.inbound = Inbound(cb, nb, "SM-42");
  EXPECT_TRUE(store_->Commit(b.id, other).ok());
}

TEST_P(StoreConformance, OutboxItemsGetTheInboundIdAndStartPending) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet changes;
  changes.inbound = Inbound(c, n, "SM-7", "HELP");
  OutboxItem item = Reply(c, n, ReplyKind::kHelp);
  item.state = OutboxState::kDead;  // ignored: the store starts every item pending
  item.attempts = 9;
  changes.outbox = {item};
  auto r = store_->Commit(a.id, changes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->inbound_id, 0);
  ASSERT_EQ(r->outbox.size(), 1u);
  EXPECT_GT(r->outbox[0].id, 0);
  EXPECT_EQ(r->outbox[0].inbound_id, r->inbound_id);
  EXPECT_EQ(r->outbox[0].state, OutboxState::kPending);
  EXPECT_EQ(r->outbox[0].attempts, 0);
  EXPECT_EQ(r->outbox[0].account_id, a.id);

  auto listed = AllOutbox(a.id);
  ASSERT_EQ(listed.size(), 1u);
  const OutboxItem& o = listed[0];
  EXPECT_EQ(o.id, r->outbox[0].id);
  EXPECT_EQ(o.inbound_id, r->inbound_id);
  EXPECT_EQ(o.state, OutboxState::kPending);
  EXPECT_EQ(o.attempts, 0);
  EXPECT_EQ(o.kind, ReplyKind::kHelp);
  EXPECT_EQ(o.number_id, n.id);
  EXPECT_EQ(o.contact_id, c.id);
  EXPECT_EQ(o.to, c.phone);
  EXPECT_EQ(o.from, n.number);
  EXPECT_EQ(o.body, "You are unsubscribed.");
  EXPECT_EQ(o.created_at_ms, 4001);
  EXPECT_EQ(o.next_attempt_at_ms, 4001);
  EXPECT_EQ(o.last_error, "");

  // Without an inbound message (a manual opt-in's confirmation) the item answers nothing.
  ChangeSet manual;
  manual.events = {Draft(c, n, kNone, kIn)};
  manual.outbox = {Reply(c, n, ReplyKind::kOptInConfirmation)};
  auto m = store_->Commit(a.id, manual);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->inbound_id, 0);
  EXPECT_EQ(m->outbox[0].inbound_id, 0);
  EXPECT_EQ(AllOutbox(a.id)[1].inbound_id, 0);
}

TEST_P(StoreConformance, ListOutboxFiltersByStateAndPages) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet changes;
  for (int i = 0; i < 5; ++i) changes.outbox.push_back(Reply(c, n, ReplyKind::kHelp));
  auto r = Must(store_->Commit(a.id, changes));
  ASSERT_EQ(r.outbox.size(), 5u);

  auto page1 = Must(store_->ListOutbox(a.id, Outbox(0, 2)));
  ASSERT_EQ(page1.size(), 2u);
  auto page2 = Must(store_->ListOutbox(a.id, Outbox(page1.back().id, 10)));
  ASSERT_EQ(page2.size(), 3u);
  EXPECT_EQ(page2.back().id, r.outbox.back().id);
  EXPECT_EQ(Must(store_->ListOutbox(a.id, Outbox(0, 100, OutboxState::kPending))).size(), 5u);
  EXPECT_TRUE(Must(store_->ListOutbox(a.id, Outbox(0, 100, OutboxState::kSent))).empty());
  Account b = MakeAccount("b");
  EXPECT_TRUE(Must(store_->ListOutbox(b.id, Outbox())).empty());
}

// ---- Inbound messages and their replies ---------------------------------------------------

std::vector<int64_t> MessageIds(const std::vector<InboundMessage>& ms) {
  std::vector<int64_t> ids;
  for (const InboundMessage& m : ms) ids.push_back(m.id);
  return ids;
}

TEST_P(StoreConformance, ListInboundIsNewestFirstAndPagesWithTheBeforeCursor) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ChangeSet changes;
    changes.inbound = Inbound(c, n, "SM-" + std::to_string(i), "HELP " + std::to_string(i));
    changes.inbound->received_at_ms = 4000 + i;
    ids.push_back(Must(store_->Commit(a.id, changes)).inbound_id);
  }
  auto page1 = Must(store_->ListInbound(a.id, Inbounds(0, 2)));
  EXPECT_EQ(MessageIds(page1), (std::vector<int64_t>{ids[4], ids[3]}));
  auto page2 = Must(store_->ListInbound(a.id, Inbounds(page1.back().id, 2)));
  EXPECT_EQ(MessageIds(page2), (std::vector<int64_t>{ids[2], ids[1]}));
  auto page3 = Must(store_->ListInbound(a.id, Inbounds(page2.back().id, 2)));
  EXPECT_EQ(MessageIds(page3), (std::vector<int64_t>{ids[0]}));
  EXPECT_TRUE(Must(store_->ListInbound(a.id, Inbounds(ids[0], 2))).empty());

  // Every field as stored.
  const InboundMessage& m = page1[0];
  EXPECT_EQ(m.account_id, a.id);
  EXPECT_EQ(m.provider, "twilio");
  EXPECT_EQ(m.provider_message_id, "SM-4");
  EXPECT_EQ(m.from, c.phone);
  EXPECT_EQ(m.to, n.number);
  EXPECT_EQ(m.number_id, n.id);
  EXPECT_EQ(m.contact_id, c.id);
  EXPECT_EQ(m.body, "HELP 4");
  EXPECT_EQ(m.received_at_ms, 4004);
  EXPECT_EQ(m.decision, R"({"intent":"opt_out"})");
}

TEST_P(StoreConformance, ListInboundFiltersByContactAndNumberOfTheAccountOnly) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n1 = MakeNumber(a.id, "+4520123456");
  SenderNumber n2 = MakeNumber(a.id, "+4520123457");
  SenderNumber theirs = MakeNumber(b.id, "+4520123458");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  Contact their_contact = MakeContact(b.id, "+4511111111");
  auto receive = [&](int64_t account, const Contact& c, const SenderNumber& n,
                     const std::string& id) {
    ChangeSet changes;
    changes.inbound = Inbound(c, n, id);
    return Must(store_->Commit(account, changes)).inbound_id;
  };
  const int64_t m1 = receive(a.id, c1, n1, "m1");
  const int64_t m2 = receive(a.id, c2, n1, "m2");
  const int64_t m3 = receive(a.id, c1, n2, "m3");
  const int64_t m4 = receive(b.id, their_contact, theirs, "m4");
  const int64_t m5 = receive(a.id, c1, n1, "m5");

  EXPECT_EQ(MessageIds(Must(store_->ListInbound(a.id, Inbounds()))),
            (std::vector<int64_t>{m5, m3, m2, m1}));
  EXPECT_EQ(MessageIds(Must(store_->ListInbound(b.id, Inbounds()))), std::vector<int64_t>{m4});
  EXPECT_EQ(MessageIds(Must(store_->ListInbound(a.id, Inbounds(0, 50, c1.id)))),
            (std::vector<int64_t>{m5, m3, m1}));
  EXPECT_EQ(MessageIds(Must(store_->ListInbound(a.id, Inbounds(0, 50, std::nullopt, n1.id)))),
            (std::vector<int64_t>{m5, m2, m1}));
  EXPECT_EQ(MessageIds(Must(store_->ListInbound(a.id, Inbounds(0, 50, c1.id, n1.id)))),
            (std::vector<int64_t>{m5, m1}));
  // Filters combine with the cursor and the limit.
  EXPECT_EQ(MessageIds(Must(store_->ListInbound(a.id, Inbounds(m5, 1, c1.id)))),
            std::vector<int64_t>{m3});
  EXPECT_TRUE(Must(store_->ListInbound(a.id, Inbounds(0, 50, c2.id, n2.id))).empty());
  // Another account's contact or number is not found, even though it has messages.
  EXPECT_CODE(store_->ListInbound(a.id, Inbounds(0, 50, their_contact.id)), StatusCode::kNotFound);
  EXPECT_CODE(store_->ListInbound(a.id, Inbounds(0, 50, std::nullopt, theirs.id)),
              StatusCode::kNotFound);
  EXPECT_CODE(store_->ListInbound(b.id, Inbounds(0, 50, c1.id)), StatusCode::kNotFound);
}

TEST_P(StoreConformance, ListOutboxFindsTheRepliesToInboundMessagesInOneQuery) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  SenderNumber their_number = MakeNumber(b.id, "+4520123457");
  Contact c = MakeContact(a.id, "+4511111111");
  Contact their_contact = MakeContact(b.id, "+4511111111");
  auto receive = [&](int64_t account, const Contact& to, const SenderNumber& from,
                     const std::string& id, int replies) {
    ChangeSet changes;
    changes.inbound = Inbound(to, from, id);
    for (int i = 0; i < replies; ++i) changes.outbox.push_back(Reply(to, from, ReplyKind::kHelp));
    return Must(store_->Commit(account, changes));
  };
  const CommitResult one = receive(a.id, c, n, "m1", 1);
  const CommitResult none = receive(a.id, c, n, "m2", 0);
  const CommitResult two = receive(a.id, c, n, "m3", 2);
  const CommitResult theirs = receive(b.id, their_contact, their_number, "m4", 1);
  ChangeSet manual;  // a reply that answers no message
  manual.outbox = {Reply(c, n, ReplyKind::kOptInConfirmation)};
  Must(store_->Commit(a.id, manual));

  OutboxQuery q;
  q.inbound_ids =
      std::vector<int64_t>{two.inbound_id, none.inbound_id, one.inbound_id, theirs.inbound_id};
  auto found = Must(store_->ListOutbox(a.id, q));
  EXPECT_EQ(OutboxIds(found),
            (std::vector<int64_t>{one.outbox[0].id, two.outbox[0].id, two.outbox[1].id}));
  for (const OutboxItem& o : found) EXPECT_NE(o.inbound_id, 0);
  // The other account sees its own reply only.
  auto their = Must(store_->ListOutbox(b.id, q));
  EXPECT_EQ(OutboxIds(their), std::vector<int64_t>{theirs.outbox[0].id});
  // Combined with the cursor and the limit; an empty list matches nothing.
  q.after_id = one.outbox[0].id;
  q.limit = 1;
  EXPECT_EQ(OutboxIds(Must(store_->ListOutbox(a.id, q))), std::vector<int64_t>{two.outbox[0].id});
  q.inbound_ids->clear();
  q.after_id = 0;
  q.limit = 100;
  EXPECT_TRUE(Must(store_->ListOutbox(a.id, q)).empty());
  q.inbound_ids = std::vector<int64_t>(10'001, one.inbound_id);
  EXPECT_CODE(store_->ListOutbox(a.id, q), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, ListOutboxFiltersByContactAndSentTime) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  Contact other = MakeContact(a.id, "+4522222222");
  // Replies in the webhook's response are stored sent at their creation time.
  auto sent_at = [&](const Contact& to, int64_t at_ms) {
    ChangeSet changes;
    OutboxItem o = Reply(to, n, ReplyKind::kHelp);
    o.channel = "response";
    o.created_at_ms = at_ms;
    changes.outbox = {o};
    return Must(store_->Commit(a.id, changes)).outbox[0].id;
  };
  const int64_t early = sent_at(c, 1000);
  const int64_t inside = sent_at(c, 2000);
  const int64_t others = sent_at(other, 2000);
  const int64_t edge = sent_at(c, 3000);
  ChangeSet pending;  // never sent: sent_at_ms 0
  pending.outbox = {Reply(c, n, ReplyKind::kHelp)};
  const int64_t unsent = Must(store_->Commit(a.id, pending)).outbox[0].id;

  OutboxQuery q;
  q.contact_id = c.id;
  EXPECT_EQ(OutboxIds(Must(store_->ListOutbox(a.id, q))),
            (std::vector<int64_t>{early, inside, edge, unsent}));
  q.sent_from_ms = 1500;
  q.sent_until_ms = 3000;
  EXPECT_EQ(OutboxIds(Must(store_->ListOutbox(a.id, q))), (std::vector<int64_t>{inside, edge}));
  q.contact_id = other.id;
  EXPECT_EQ(OutboxIds(Must(store_->ListOutbox(a.id, q))), std::vector<int64_t>{others});
  // Another account sees none of them.
  Account b = MakeAccount("b");
  EXPECT_TRUE(Must(store_->ListOutbox(b.id, q)).empty());
}

TEST_P(StoreConformance, AnOptOutOnTheContactsBehalfIsTheContactsOwn) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520000001");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet changes;
  changes.events = {Draft(c, n, kNone, kIn, Source::kManual, 100),
                    Draft(c, n, kIn, kOut, Source::kContactRequest, 200)};
  Must(store_->Commit(a.id, changes));
  auto rows = Must(store_->GetStatuses(a.id, c.id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state.status, kOut);
  EXPECT_TRUE(rows[0].state.self_opted_out);
  EXPECT_EQ(rows[0].state.source, Source::kContactRequest);
  EXPECT_EQ(AllEvents(a.id).back().source, Source::kContactRequest);
  // The replay agrees with the table, after a reopen too.
  Reopen();
  StatusReplay replay;
  for (const ConsentEvent& e : AllEvents(a.id)) replay.Add(e);
  EXPECT_TRUE(SameStates(StatusMap(a.id), replay.states()));
}

TEST_P(StoreConformance, CommitRefusesContactsAndNumbersOfAnotherAccount) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber na = MakeNumber(a.id, "+4520000001");
  Contact ca = MakeContact(a.id, "+4511111111");
  SenderNumber nb = MakeNumber(b.id, "+4520000002");
  Contact cb = MakeContact(b.id, "+4522222222");

  ChangeSet foreign_contact;
  foreign_contact.events = {Draft(cb, na, kNone, kIn)};
  EXPECT_CODE(store_->Commit(a.id, foreign_contact), StatusCode::kNotFound);
  ChangeSet foreign_number;
  foreign_number.events = {Draft(ca, nb, kNone, kIn)};
  EXPECT_CODE(store_->Commit(a.id, foreign_number), StatusCode::kNotFound);
  ChangeSet foreign_reply;
  foreign_reply.inbound = Inbound(ca, na, "SM-1");
  foreign_reply.outbox = {Reply(cb, nb, ReplyKind::kHelp)};
  EXPECT_CODE(store_->Commit(a.id, foreign_reply), StatusCode::kNotFound);
  EXPECT_CODE(store_->Commit(31337, ChangeSet{}), StatusCode::kNotFound);

  EXPECT_TRUE(AllEvents(a.id).empty());
  EXPECT_TRUE(AllOutbox(a.id).empty());
  EXPECT_FALSE(Must(store_->FindInbound(a.id, "twilio", "SM-1")).has_value());
  EXPECT_TRUE(Must(store_->ListAllStatuses(a.id)).empty());
}

TEST_P(StoreConformance, EachAccountHasItsOwnSequence) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber na = MakeNumber(a.id, "+4520000001");
  Contact ca = MakeContact(a.id, "+4511111111");
  SenderNumber nb = MakeNumber(b.id, "+4520000002");
  Contact cb = MakeContact(b.id, "+4511111111");

  ChangeSet in_a;
  in_a.events = {Draft(ca, na, kNone, kIn), Draft(ca, na, kIn, kOut), Draft(ca, na, kOut, kIn)};
  Must(store_->Commit(a.id, in_a));
  ChangeSet in_b;
  in_b.events = {Draft(cb, nb, kNone, kIn)};
  auto rb = store_->Commit(b.id, in_b);
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();

  EXPECT_EQ(LedgerHolds(a.id).size(), 3u);
  auto events_b = LedgerHolds(b.id);  // a ledger of its own, from seq 1
  ASSERT_EQ(events_b.size(), 1u);
  EXPECT_EQ(events_b[0].account_id, b.id);
}

TEST_P(StoreConformance, ListEventsPagesAndFiltersByContact) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  ChangeSet changes;
  SubscriptionStatus s1 = kNone, s2 = kNone;
  for (int i = 0; i < 10; ++i) {
    Contact& c = i % 3 == 0 ? c2 : c1;
    SubscriptionStatus& s = i % 3 == 0 ? s2 : s1;
    SubscriptionStatus to = s == kIn ? kOut : kIn;
    changes.events.push_back(Draft(c, n, s, to, Source::kApi, 1000 + i));
    s = to;
  }
  Must(store_->Commit(a.id, changes));
  Must(store_->IntegrateLedger(a.id, 1000, 1));  // listed once numbered

  auto page = Must(store_->ListEvents(a.id, Events(3, 4)));
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page.front().seq, 4);
  EXPECT_EQ(page.back().seq, 7);

  auto only_c2 = Must(store_->ListEvents(a.id, Events(0, 1000, c2.id)));
  std::vector<int64_t> seqs;
  for (const ConsentEvent& e : only_c2) {
    EXPECT_EQ(e.contact_id, c2.id);
    seqs.push_back(e.seq);
  }
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 4, 7, 10}));
  auto c2_after = Must(store_->ListEvents(a.id, Events(4, 1, c2.id)));
  ASSERT_EQ(c2_after.size(), 1u);
  EXPECT_EQ(c2_after[0].seq, 7);
  EXPECT_TRUE(Must(store_->ListEvents(a.id, Events(10))).empty());
}

TEST_P(StoreConformance, ReplaceStatusesReplacesTheWholeTableAtomically) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  Contact foreign = MakeContact(b.id, "+4533333333");
  ChangeSet changes;
  changes.events = {Draft(c1, n, kNone, kIn, Source::kManual, 10)};
  Must(store_->Commit(a.id, changes));

  StatusRow row;
  row.contact_id = c2.id;
  row.number_id = n.id;
  row.state = {kOut, true, Source::kKeyword, 99};
  ASSERT_TRUE(store_->ReplaceStatuses(a.id, {row}).ok());
  auto after = StatusMap(a.id);
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(after.count({c2.id, n.id}), 1u);
  EXPECT_TRUE(SameState(after[{c2.id, n.id}], row.state));

  // A bad row fails the whole replacement; the previous table stays.
  StatusRow bad = row;
  bad.contact_id = foreign.id;
  StatusRow good = row;
  good.contact_id = c1.id;
  EXPECT_CODE(store_->ReplaceStatuses(a.id, {good, bad}), StatusCode::kNotFound);
  EXPECT_TRUE(SameStates(StatusMap(a.id), after));

  ASSERT_TRUE(store_->ReplaceStatuses(a.id, {}).ok());
  EXPECT_TRUE(Must(store_->ListAllStatuses(a.id)).empty());
  EXPECT_EQ(AllEvents(a.id).size(), 1u);  // the ledger is untouched
}

TEST_P(StoreConformance, TamperingWithAStoredEventIsDetected) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet changes;
  changes.events = {Draft(c, n, kNone, kIn), Draft(c, n, kIn, kOut), Draft(c, n, kOut, kIn)};
  Must(store_->Commit(a.id, changes));

  std::vector<ConsentEvent> events = AllEvents(a.id);
  ConsentEvent forged = events[1];
  forged.evidence = R"({"explanation":"she said yes, honestly"})";
  ASSERT_TRUE(store_->DebugOverwriteEvent(forged).ok());

  std::vector<ConsentEvent> after = AllEvents(a.id);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[1].evidence, forged.evidence);
  EXPECT_EQ(after[1].seq, events[1].seq);
  // The tree integrated before the change no longer matches the events.
  std::vector<merkle::Hash> leaves;
  for (const ConsentEvent& e : after) leaves.push_back(EventLeafHash(e));
  const LedgerTree tree = Must(store_->GetLedgerTree(a.id));
  EXPECT_EQ(tree.size, 3);
  EXPECT_NE(tree.root, merkle::RootOf(leaves));

  ConsentEvent missing = forged;
  missing.id = 987654;
  EXPECT_CODE(store_->DebugOverwriteEvent(missing), StatusCode::kNotFound);
}

TEST_P(StoreConformance, ReplayingTheLedgerGivesTheStatusTable) {
  Account a = MakeAccount("a");
  SenderNumber n1 = MakeNumber(a.id, "+4520000001");
  SenderNumber n2 = MakeNumber(a.id, "12345", NumberKind::kShortCode, "US");
  std::vector<Contact> contacts;
  for (int i = 0; i < 4; ++i)
    contacts.push_back(MakeContact(a.id, "+451111111" + std::to_string(i)));
  std::map<StatusKey, SubscriptionStatus> now;
  const Source sources[] = {Source::kKeyword, Source::kManual, Source::kBulk, Source::kImport};
  int64_t t = 1000;
  for (int round = 0; round < 5; ++round) {
    ChangeSet changes;
    for (size_t i = 0; i < contacts.size(); ++i) {
      const SenderNumber& n = (i + round) % 2 == 0 ? n1 : n2;
      SubscriptionStatus& cur = now[{contacts[i].id, n.id}];
      SubscriptionStatus to = (round + i) % 3 == 0 ? kOut : kIn;
      changes.events.push_back(Draft(contacts[i], n, cur, to, sources[(i + round) % 4], ++t));
      cur = to;
    }
    Must(store_->Commit(a.id, changes));
  }
  StatusReplay replay;
  for (const ConsentEvent& e : AllEvents(a.id)) replay.Add(e);
  EXPECT_TRUE(SameStates(replay.states(), StatusMap(a.id)));

  // ReplaceStatuses with the replay restores a damaged table.
  ASSERT_TRUE(store_->ReplaceStatuses(a.id, {}).ok());
  std::vector<StatusRow> rows;
  for (const auto& [key, state] : replay.states()) rows.push_back({key.first, key.second, state});
  ASSERT_TRUE(store_->ReplaceStatuses(a.id, rows).ok());
  EXPECT_TRUE(SameStates(replay.states(), StatusMap(a.id)));
}

TEST_P(StoreConformance, DataPersistsAcrossReopen) {
  Account a = MakeAccount("a", "key-hash");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111", "Alice");
  ChangeSet changes;
  changes.inbound = Inbound(c, n, "SM-1");
  changes.events = {Draft(c, n, kNone, kOut, Source::kKeyword)};
  changes.outbox = {Reply(c, n, ReplyKind::kOptOutConfirmation)};
  auto committed = Must(store_->Commit(a.id, changes));

  Reopen();
  EXPECT_EQ(Must(store_->FindAccountByApiKeyHash("key-hash")).id, a.id);
  EXPECT_EQ(Must(store_->GetNumber(a.id, n.id)).number, "+4520123456");
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).name, "Alice");
  EXPECT_TRUE(Must(store_->FindInbound(a.id, "twilio", "SM-1")).has_value());
  auto events = AllEvents(a.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, committed.events[0].id);
  EXPECT_EQ(events[0].evidence, committed.events[0].evidence);
  EXPECT_EQ(AllOutbox(a.id).size(), 1u);
  auto statuses = Must(store_->GetStatuses(a.id, c.id));
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state.status, kOut);

  // The ledger goes on where it left off.
  ChangeSet more;
  more.events = {Draft(c, n, kOut, kIn, Source::kKeyword)};
  auto r = Must(store_->Commit(a.id, more));
  EXPECT_EQ(r.events[0].nth, 2);
  EXPECT_EQ(EventIds(LedgerHolds(a.id)),
            (std::vector<int64_t>{committed.events[0].id, r.events[0].id}));
}

// Four writers race on one (contact, number) pair, each re-reading after kAborted as the
// interface asks. The ledger must end as one unbroken chain whose replay is the status table.
TEST_P(StoreConformance, ConcurrentCommitsKeepOneChainWithoutGaps) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact shared = MakeContact(a.id, "+4511111111");
  std::vector<Contact> own;
  for (int i = 0; i < 4; ++i) own.push_back(MakeContact(a.id, "+452222222" + std::to_string(i)));

  constexpr int kThreads = 4;
  constexpr int kCommitsPerThread = 25;
  std::atomic<int> aborted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SubscriptionStatus mine = kNone;
      for (int i = 0; i < kCommitsPerThread; ++i) {
        while (true) {
          auto rows = store_->GetStatuses(a.id, shared.id);
          if (!rows.ok()) {
            ++failures;
            return;
          }
          SubscriptionStatus cur = rows->empty() ? kNone : (*rows)[0].state.status;
          ChangeSet changes;
          changes.events.push_back(Draft(shared, n, cur, cur == kIn ? kOut : kIn));
          SubscriptionStatus next_mine = mine == kIn ? kOut : kIn;
          changes.events.push_back(Draft(own[t], n, mine, next_mine));
          auto r = store_->Commit(a.id, changes);
          if (r.ok()) {
            mine = next_mine;
            break;
          }
          if (r.status().code() != StatusCode::kAborted) {
            ADD_FAILURE() << r.status().ToString();
            ++failures;
            return;
          }
          ++aborted;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  RecordProperty("aborted_retries", aborted.load());

  std::vector<ConsentEvent> events = AllEvents(a.id);
  ASSERT_EQ(events.size(), size_t{2 * kThreads * kCommitsPerThread});
  LedgerHolds(a.id);
  StatusReplay replay;
  for (const ConsentEvent& e : events) replay.Add(e);
  EXPECT_TRUE(SameStates(replay.states(), StatusMap(a.id)));
  // Every commit toggled the shared pair from what it read: 100 toggles from not_specified.
  EXPECT_EQ(replay.states().at({shared.id, n.id}).status, kOut);
}

TEST_P(StoreConformance, EmptyChangeSetCommitsNothing) {
  Account a = MakeAccount("a");
  auto r = store_->Commit(a.id, ChangeSet{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inbound_id, 0);
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(AllEvents(a.id).empty());
}

// ---- Group commit (CommitBatch) and contacts created with their first change ---------------

std::vector<BatchItem> Batch(int64_t account_id, const std::vector<const ChangeSet*>& sets) {
  std::vector<BatchItem> items;
  for (const ChangeSet* s : sets) items.push_back(BatchItem{account_id, s});
  return items;
}

// A contact that is not stored yet: id 0, as ChangeSet::new_contact expects it.
Contact Unsaved(int64_t account_id, const std::string& phone, const std::string& name = "") {
  Contact c;
  c.account_id = account_id;
  c.phone = phone;
  c.name = name;
  c.created_at_ms = 3500;
  return c;
}

TEST_P(StoreConformance, CommitBatchOfNothingReturnsNothing) {
  EXPECT_TRUE(store_->CommitBatch({}).empty());
}

// Each item is all-or-nothing and independent: failing items (whatever they wrote before
// failing) leave no trace, and the items around them are stored.
TEST_P(StoreConformance, CommitBatchItemsFailAndSucceedIndependently) {
  Account a = MakeAccount("a");
  Account other = MakeAccount("other");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  SenderNumber foreign = MakeNumber(other.id, "+4520999999");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  Contact c3 = MakeContact(a.id, "+4533333333");

  ChangeSet ok1;  // stored
  ok1.inbound = Inbound(c1, n, "SM-1", "START");
  ok1.events = {Draft(c1, n, kNone, kIn, Source::kKeyword)};
  ok1.outbox = {Reply(c1, n, ReplyKind::kOptInConfirmation)};
  ChangeSet duplicate;  // the same provider message id as ok1: kAlreadyExists
  duplicate.inbound = Inbound(c2, n, "SM-1");
  duplicate.events = {Draft(c2, n, kNone, kOut, Source::kKeyword)};
  ChangeSet partly_stale;  // c3's event is fine, c1's `from` is stale after ok1: kAborted
  partly_stale.inbound = Inbound(c3, n, "SM-3");
  partly_stale.events = {Draft(c3, n, kNone, kIn), Draft(c1, n, kNone, kOut)};
  partly_stale.outbox = {Reply(c3, n, ReplyKind::kOptInConfirmation)};
  ChangeSet foreign_number;  // a number of another account: kNotFound
  foreign_number.events = {Draft(c2, foreign, kNone, kIn)};
  ChangeSet ok2;  // stored, and sees ok1's change of c1
  ok2.inbound = Inbound(c2, n, "SM-5");
  ok2.events = {Draft(c2, n, kNone, kOut, Source::kKeyword), Draft(c1, n, kIn, kOut)};

  auto results =
      store_->CommitBatch(Batch(a.id, {&ok1, &duplicate, &partly_stale, &foreign_number, &ok2}));
  ASSERT_EQ(results.size(), 5u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_CODE(results[1], StatusCode::kAlreadyExists);
  EXPECT_CODE(results[2], StatusCode::kAborted);
  EXPECT_CODE(results[3], StatusCode::kNotFound);
  ASSERT_TRUE(results[4].ok()) << results[4].status().ToString();

  // Only ok1 and ok2 are in the ledger: seq 1..3.
  std::vector<ConsentEvent> events = LedgerHolds(a.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(EventIds(events),
            (std::vector<int64_t>{results[0]->events[0].id, results[4]->events[0].id,
                                  results[4]->events[1].id}));

  EXPECT_TRUE(Must(store_->FindInbound(a.id, "twilio", "SM-1")).has_value());
  EXPECT_EQ(Must(store_->FindInbound(a.id, "twilio", "SM-1"))->contact_id, c1.id);
  EXPECT_FALSE(Must(store_->FindInbound(a.id, "twilio", "SM-3")).has_value());
  EXPECT_TRUE(Must(store_->FindInbound(a.id, "twilio", "SM-5")).has_value());
  std::vector<OutboxItem> outbox = AllOutbox(a.id);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].id, results[0]->outbox[0].id);
  EXPECT_EQ(outbox[0].inbound_id, results[0]->inbound_id);
  EXPECT_TRUE(Must(store_->GetStatuses(a.id, c3.id)).empty());  // partly_stale left nothing
  auto statuses = StatusMap(a.id);
  EXPECT_EQ(statuses.at({c1.id, n.id}).status, kOut);
  EXPECT_EQ(statuses.at({c2.id, n.id}).status, kOut);
  StatusReplay replay;
  for (const ConsentEvent& e : events) replay.Add(e);
  EXPECT_TRUE(SameStates(replay.states(), statuses));
  EXPECT_TRUE(AllEvents(other.id).empty());
}

// A batch is first written without a savepoint per item and written again item by item when
// one fails: whichever item fails (here the last, and the first), exactly it is left out.
TEST_P(StoreConformance, CommitBatchLeavesOutExactlyTheFailingItemWhereverItIs) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c1 = MakeContact(a.id, "+4511111111");
  Contact c2 = MakeContact(a.id, "+4522222222");
  ChangeSet ok1, ok2, stale;
  ok1.inbound = Inbound(c1, n, "SM-1", "START");
  ok1.events = {Draft(c1, n, kNone, kIn, Source::kKeyword)};
  ok2.inbound = Inbound(c2, n, "SM-2", "START");
  ok2.events = {Draft(c2, n, kNone, kIn, Source::kKeyword)};
  stale.inbound = Inbound(c1, n, "SM-3", "STOP");
  stale.events = {Draft(c1, n, kNone, kOut, Source::kKeyword)};  // c1 is opted in by then

  auto results = store_->CommitBatch(Batch(a.id, {&ok1, &ok2, &stale}));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  ASSERT_TRUE(results[1].ok()) << results[1].status().ToString();
  EXPECT_CODE(results[2], StatusCode::kAborted);
  EXPECT_FALSE(Must(store_->FindInbound(a.id, "twilio", "SM-3")).has_value());
  EXPECT_EQ(AllEvents(a.id).size(), 2u);

  ChangeSet dup;  // SM-1 again, first in its batch
  dup.inbound = Inbound(c2, n, "SM-1");
  ChangeSet ok3;
  ok3.inbound = Inbound(c1, n, "SM-4", "STOP");
  ok3.events = {Draft(c1, n, kIn, kOut, Source::kKeyword)};
  results = store_->CommitBatch(Batch(a.id, {&dup, &ok3}));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_CODE(results[0], StatusCode::kAlreadyExists);
  ASSERT_TRUE(results[1].ok()) << results[1].status().ToString();
  std::vector<ConsentEvent> events = LedgerHolds(a.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(StatusMap(a.id).at({c1.id, n.id}).status, kOut);
  EXPECT_EQ(StatusMap(a.id).at({c2.id, n.id}).status, kIn);
}

// Items of several accounts interleave in one batch; each account's chain runs on from its
// last event before the batch, through the batch, to the next commit after it.
TEST_P(StoreConformance, CommitBatchContinuesEachAccountsLedger) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber na = MakeNumber(a.id, "+4520000001");
  SenderNumber nb = MakeNumber(b.id, "+4520000002");
  Contact ca = MakeContact(a.id, "+4511111111");
  Contact cb = MakeContact(b.id, "+4511111111");
  ChangeSet before;
  before.events = {Draft(ca, na, kNone, kIn)};
  Must(store_->Commit(a.id, before));

  // Toggles per account, each item starting from what the previous one left.
  std::vector<ChangeSet> sets(6);
  std::vector<BatchItem> items;
  SubscriptionStatus state_a = kIn, state_b = kNone;
  for (size_t i = 0; i < sets.size(); ++i) {
    const bool for_a = i % 2 == 0;
    SubscriptionStatus& state = for_a ? state_a : state_b;
    SubscriptionStatus next = state == kIn ? kOut : kIn;
    sets[i].events = {for_a ? Draft(ca, na, state, next) : Draft(cb, nb, state, next)};
    if (i == 4) sets[i].events.push_back(Draft(ca, na, next, state));  // two events, one item
    items.push_back(BatchItem{for_a ? a.id : b.id, &sets[i]});
    state = i == 4 ? state : next;
  }
  auto results = store_->CommitBatch(items);
  ASSERT_EQ(results.size(), sets.size());
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status().ToString();

  ChangeSet after;
  after.events = {Draft(cb, nb, state_b, state_b == kIn ? kOut : kIn)};
  auto next = Must(store_->Commit(b.id, after));

  // Each account's ledger, in commit order: a's event before the batch, then its items; b's
  // items, then the commit after the batch.
  EXPECT_EQ(EventIds(LedgerHolds(a.id)).size(), 5u);
  EXPECT_EQ(EventIds(AllEvents(a.id))[1], results[0]->events[0].id);
  EXPECT_EQ(EventIds(AllEvents(a.id))[4], results[4]->events[1].id);
  EXPECT_EQ(EventIds(LedgerHolds(b.id)),
            (std::vector<int64_t>{results[1]->events[0].id, results[3]->events[0].id,
                                  results[5]->events[0].id, next.events[0].id}));
  for (const Account& acc : {a, b}) {
    StatusReplay replay;
    for (const ConsentEvent& e : AllEvents(acc.id)) replay.Add(e);
    EXPECT_TRUE(SameStates(replay.states(), StatusMap(acc.id)));
  }
}

// A change set with new_contact creates the contact in its own transaction and files the
// message, events and replies (contact_id 0) under it.
TEST_P(StoreConformance, NewContactIsCreatedWithItsFirstChange) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact fresh = Unsaved(a.id, "+4544444444", "Dora");
  ChangeSet changes;
  changes.new_contact = fresh;
  changes.inbound = Inbound(fresh, n, "SM-1");
  changes.events = {Draft(fresh, n, kNone, kOut, Source::kKeyword)};
  changes.outbox = {Reply(fresh, n, ReplyKind::kOptOutConfirmation)};
  auto r = store_->Commit(a.id, changes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->contact_id, 0);

  Contact stored = Must(store_->FindContactByPhone(a.id, "+4544444444"));
  EXPECT_EQ(stored.id, r->contact_id);
  EXPECT_EQ(stored.name, "Dora");
  EXPECT_EQ(stored.created_at_ms, 3500);
  EXPECT_EQ(r->events[0].contact_id, stored.id);
  EXPECT_EQ(r->outbox[0].contact_id, stored.id);
  EXPECT_EQ(Must(store_->FindInbound(a.id, "twilio", "SM-1"))->contact_id, stored.id);
  EXPECT_EQ(AllEvents(a.id)[0].contact_id, stored.id);
  EXPECT_EQ(AllOutbox(a.id)[0].contact_id, stored.id);
  auto statuses = Must(store_->GetStatuses(a.id, stored.id));
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state.status, kOut);

  // Without new_contact, contact_id 0 still refers to nothing.
  ChangeSet orphan;
  orphan.events = {Draft(Unsaved(a.id, "+4555555555"), n, kNone, kIn)};
  EXPECT_CODE(store_->Commit(a.id, orphan), StatusCode::kNotFound);
  EXPECT_EQ(r->contact_id, Must(store_->FindContactByPhone(a.id, "+4544444444")).id);
}

// new_contact with a phone the account already has (created by AddContact, or by an earlier
// item of the same batch) reuses that contact: one contact per phone, name kept.
TEST_P(StoreConformance, NewContactReusesTheContactWithTheSamePhone) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact existing = MakeContact(a.id, "+4511111111", "Alice");
  ChangeSet late;  // decided before `existing` was seen
  late.new_contact = Unsaved(a.id, "+4511111111", "Someone else");
  late.inbound = Inbound(late.new_contact.value(), n, "SM-1", "HELP");
  auto r = store_->Commit(a.id, late);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->contact_id, existing.id);
  EXPECT_EQ(Must(store_->GetContact(a.id, existing.id)).name, "Alice");
  EXPECT_EQ(Must(store_->FindInbound(a.id, "twilio", "SM-1"))->contact_id, existing.id);

  // Two first messages from one new phone in one batch: the second finds the first's
  // contact; its event assumed no status, which the first changed, so it is kAborted (the
  // caller re-reads), while an item without events is simply filed under the contact.
  Contact fresh = Unsaved(a.id, "+4522222222");
  ChangeSet first, second, third;
  for (ChangeSet* s : {&first, &second, &third}) s->new_contact = fresh;
  first.inbound = Inbound(fresh, n, "SM-2", "START");
  first.events = {Draft(fresh, n, kNone, kIn, Source::kKeyword)};
  second.inbound = Inbound(fresh, n, "SM-3", "STOP");
  second.events = {Draft(fresh, n, kNone, kOut, Source::kKeyword)};
  third.inbound = Inbound(fresh, n, "SM-4", "HELP");
  auto results = store_->CommitBatch(Batch(a.id, {&first, &second, &third}));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_CODE(results[1], StatusCode::kAborted);
  ASSERT_TRUE(results[2].ok()) << results[2].status().ToString();
  EXPECT_EQ(results[2]->contact_id, results[0]->contact_id);
  EXPECT_EQ(Must(store_->FindContactByPhone(a.id, "+4522222222")).id, results[0]->contact_id);
  EXPECT_EQ(Must(store_->ListContacts(a.id, Contacts())).size(), 2u);
  EXPECT_FALSE(Must(store_->FindInbound(a.id, "twilio", "SM-3")).has_value());
}

// A batch that succeeds is written phase by phase for all its items at once, yet reads as
// if its items were committed one after the other: a pair changed by two items gets its
// events in item order, each reply waits on the pair's last event as of its own item, of
// two updates of one contact the later stands, and each account's ledger goes on.
TEST_P(StoreConformance, CommitBatchWritesItsItemsAsIfOneAfterTheOther) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  SenderNumber m = MakeNumber(b.id, "+4520654321");
  Contact c = MakeContact(a.id, "+4511111111", "Carl");
  Contact d = MakeContact(b.id, "+4511111111", "Dina");
  ChangeSet earlier;  // a status row for c on n already
  earlier.events = {Draft(c, n, kNone, kOut, Source::kManual, 1000)};
  const int64_t earlier_event = Must(store_->Commit(a.id, earlier)).events.at(0).id;

  ChangeSet first, second, reply_only, other, rename1, rename2;
  first.inbound = Inbound(c, n, "SM-1", "START");
  first.events = {Draft(c, n, kOut, kIn, Source::kKeyword, 2000)};
  first.outbox = {Reply(c, n, ReplyKind::kOptInConfirmation)};
  second.inbound = Inbound(c, n, "SM-2", "STOP");
  second.events = {Draft(c, n, kIn, kOut, Source::kKeyword, 3000)};
  second.outbox = {Reply(c, n, ReplyKind::kOptOutConfirmation)};
  reply_only.outbox = {Reply(c, n, ReplyKind::kHelp)};
  other.events = {Draft(d, m, kNone, kIn, Source::kManual, 2500)};  // no status row yet
  rename1.update_contact = c;
  rename1.update_contact->name = "Carla";
  rename2.update_contact = c;
  rename2.update_contact->name = "Carlotta";
  ChangeSet help_first;  // the help reply queued before the batch's events
  help_first.outbox = {Reply(c, n, ReplyKind::kHelp)};
  std::vector<BatchItem> items =
      Batch(a.id, {&help_first, &first, &second, &reply_only, &rename1, &rename2});
  items.insert(items.begin() + 2, BatchItem{b.id, &other});
  auto results = store_->CommitBatch(items);
  ASSERT_EQ(results.size(), 7u);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status().ToString();

  const ConsentEvent& in = results[1]->events.at(0);
  const ConsentEvent& out = results[3]->events.at(0);
  EXPECT_LT(in.id, out.id);
  EXPECT_EQ(in.nth, 2);
  EXPECT_EQ(out.nth, 3);
  EXPECT_EQ(out.from, kIn);
  EXPECT_EQ(results[2]->events.at(0).nth, 1);
  EXPECT_EQ(results[0]->outbox.at(0).queued_after_event, earlier_event);
  EXPECT_EQ(results[1]->outbox.at(0).queued_after_event, in.id);
  EXPECT_EQ(results[3]->outbox.at(0).queued_after_event, out.id);
  EXPECT_EQ(results[4]->outbox.at(0).queued_after_event, out.id);
  EXPECT_EQ(results[1]->inbound_id, Must(store_->FindInbound(a.id, "twilio", "SM-1"))->id);

  auto statuses = Must(store_->GetStatuses(a.id, c.id));
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state.status, kOut);
  EXPECT_EQ(statuses[0].state.updated_at_ms, 3000);
  EXPECT_EQ(Must(store_->GetStatuses(b.id, d.id)).at(0).state.status, kIn);
  EXPECT_EQ(Must(store_->GetContact(a.id, c.id)).name, "Carlotta");
  EXPECT_EQ(Must(store_->GetContact(b.id, d.id)).name, "Dina");

  std::vector<ConsentEvent> ledger = AllEvents(a.id);
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[1].id, in.id);
  EXPECT_EQ(ledger[2].id, out.id);
  EXPECT_EQ(AllEvents(b.id).size(), 1u);
}

// A new contact belongs to its change set: rolled back with it, and never in another account.
TEST_P(StoreConformance, NewContactIsRolledBackWithItsItemAndStaysInItsAccount) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet stored;
  stored.inbound = Inbound(c, n, "SM-1");
  Must(store_->Commit(a.id, stored));

  Contact fresh = Unsaved(a.id, "+4522222222");
  ChangeSet retry;  // a provider retry from a new phone: kAlreadyExists, no contact left
  retry.new_contact = fresh;
  retry.inbound = Inbound(fresh, n, "SM-1");
  ChangeSet other_account;
  other_account.new_contact = Unsaved(b.id, "+4533333333");
  ChangeSet no_phone;
  no_phone.new_contact = Unsaved(a.id, "");
  auto results = store_->CommitBatch(Batch(a.id, {&retry, &other_account, &no_phone}));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_CODE(results[0], StatusCode::kAlreadyExists);
  EXPECT_CODE(results[1], StatusCode::kInvalidArgument);
  EXPECT_CODE(results[2], StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4522222222"), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4533333333"), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindContactByPhone(b.id, "+4533333333"), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->ListContacts(a.id, Contacts())).size(), 1u);
}

TEST_P(StoreConformance, CommitBatchIsDurableAcrossReopen) {
  Account a = MakeAccount("a");
  SenderNumber n = MakeNumber(a.id, "+4520123456");
  std::vector<ChangeSet> sets(20);
  std::vector<BatchItem> items;
  for (size_t i = 0; i < sets.size(); ++i) {
    Contact fresh = Unsaved(a.id, "+45300000" + std::to_string(10 + i));
    sets[i].new_contact = fresh;
    sets[i].inbound = Inbound(fresh, n, "SM-" + std::to_string(i));
    sets[i].events = {Draft(fresh, n, kNone, i % 2 == 0 ? kIn : kOut, Source::kKeyword)};
    sets[i].outbox = {Reply(fresh, n, ReplyKind::kOptOutConfirmation)};
    items.push_back(BatchItem{a.id, &sets[i]});
  }
  sets[7].inbound->provider_message_id = "SM-3";  // a duplicate within the batch
  auto results = store_->CommitBatch(items);
  ASSERT_EQ(results.size(), sets.size());
  int64_t last_id = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i == 7) {
      EXPECT_CODE(results[i], StatusCode::kAlreadyExists);
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    last_id = results[i]->events[0].id;
  }

  Reopen();
  std::vector<ConsentEvent> events = LedgerHolds(a.id);
  ASSERT_EQ(events.size(), sets.size() - 1);
  EXPECT_EQ(events.back().id, last_id);
  EXPECT_EQ(Must(store_->ListContacts(a.id, Contacts())).size(), sets.size() - 1);
  EXPECT_EQ(AllOutbox(a.id).size(), sets.size() - 1);
  EXPECT_CODE(store_->FindContactByPhone(a.id, "+4530000017"), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->FindContactByPhone(a.id, "+4530000029")).id, results[19]->contact_id);
  StatusReplay replay;
  for (const ConsentEvent& e : events) replay.Add(e);
  EXPECT_TRUE(SameStates(replay.states(), StatusMap(a.id)));
}

// ---- Provider settings and reply senders ---------------------------------------------------

ProviderConfig Config(int64_t account_id, const std::string& provider, const std::string& settings,
                      int64_t at_ms = 7000) {
  ProviderConfig c;
  c.account_id = account_id;
  c.provider = provider;
  c.settings = settings;
  c.updated_at_ms = at_ms;
  return c;
}

TEST_P(StoreConformance, ProviderConfigsArePutReplacedAndListedPerAccount) {
  Account a = MakeAccount("a");
  Account b = MakeAccount("b");
  EXPECT_TRUE(Must(store_->ListProviderConfigs(a.id)).empty());
  ASSERT_TRUE(store_->PutProviderConfig(Config(a.id, "twilio", R"({"auth_token":"t1"})")).ok());
  ASSERT_TRUE(store_->PutProviderConfig(Config(a.id, "kannel", R"({"username":"u"})")).ok());
  ASSERT_TRUE(store_->PutProviderConfig(Config(b.id, "twilio", R"({"auth_token":"b"})")).ok());

  // Replacing keeps one row per (account, provider), with the new settings and time.
  ASSERT_TRUE(store_
                  ->PutProviderConfig(
                      Config(a.id, "twilio", R"({"auth_token":"t2","account_sid":"AC1"})", 8000))
                  .ok());
  auto list = Must(store_->ListProviderConfigs(a.id));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].provider, "kannel");  // ordered by provider
  EXPECT_EQ(list[0].settings, R"({"username":"u"})");
  EXPECT_EQ(list[0].account_id, a.id);
  EXPECT_EQ(list[0].updated_at_ms, 7000);
  EXPECT_EQ(list[1].provider, "twilio");
  EXPECT_EQ(list[1].settings, R"({"auth_token":"t2","account_sid":"AC1"})");  // verbatim
  EXPECT_EQ(list[1].updated_at_ms, 8000);

  auto other = Must(store_->ListProviderConfigs(b.id));
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].settings, R"({"auth_token":"b"})");

  Reopen();
  EXPECT_EQ(Must(store_->ListProviderConfigs(a.id)).size(), 2u);
}

TEST_P(StoreConformance, ProviderConfigOfUnknownAccountOrNotAnObjectIsRefused) {
  Account a = MakeAccount("a");
  EXPECT_CODE(store_->PutProviderConfig(Config(a.id + 100, "twilio", "{}")), StatusCode::kNotFound);
  EXPECT_CODE(store_->PutProviderConfig(Config(a.id, "twilio", "[1,2]")),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->PutProviderConfig(Config(a.id, "twilio", "{not json")),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->PutProviderConfig(Config(a.id, "", "{}")), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Must(store_->ListProviderConfigs(a.id)).empty());
  EXPECT_TRUE(Must(store_->ListProviderConfigs(a.id + 100)).empty());
}

TEST_P(StoreConformance, ReplySenderDefaultsToLogAndCanBeChanged) {
  Account a = MakeAccount("a", "hash-a");
  EXPECT_EQ(a.reply_sender, "log");
  EXPECT_EQ(Must(store_->GetAccount(a.id)).reply_sender, "log");

  ASSERT_TRUE(store_->SetReplySender(a.id, "twilio").ok());
  EXPECT_EQ(Must(store_->GetAccount(a.id)).reply_sender, "twilio");
  EXPECT_EQ(Must(store_->FindAccountByApiKeyHash("hash-a")).reply_sender, "twilio");
  EXPECT_EQ(Must(store_->ListAccounts()).at(0).reply_sender, "twilio");
  EXPECT_CODE(store_->SetReplySender(a.id + 100, "kannel"), StatusCode::kNotFound);

  Account k;
  k.name = "k";
  k.reply_sender = "kannel";
  Account created = Must(store_->CreateAccount(k, ""));
  EXPECT_EQ(Must(store_->GetAccount(created.id)).reply_sender, "kannel");

  Reopen();
  EXPECT_EQ(Must(store_->GetAccount(a.id)).reply_sender, "twilio");
}

// ---- Staff users and sessions ----------------------------------------------------------------

User StaffUser(int64_t account_id, const std::string& email, StaffRole role = StaffRole::kEditor) {
  User u;
  u.account_id = account_id;
  u.email = email;
  u.name = "Ann";
  u.role = role;
  u.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  u.created_at_ms = 1000;
  u.updated_at_ms = 1000;
  return u;
}

StaffSession StaffSessionOf(const User& u, const std::string& token_hash, int64_t expires_ms) {
  StaffSession s;
  s.token_hash = token_hash;
  s.user_id = u.id;
  s.account_id = u.account_id;
  s.csrf_token = "csrf-" + token_hash;
  s.created_at_ms = 1000;
  s.last_seen_ms = 1000;
  s.expires_at_ms = expires_ms;
  return s;
}

TEST_P(StoreConformance, UsersHaveOneEmailAcrossTheServerComparedWithoutCase) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const User ann = Must(store_->CreateUser(StaffUser(a.id, "Ann@Example.COM")));
  EXPECT_GT(ann.id, 0);
  EXPECT_EQ(ann.email, "ann@example.com");
  EXPECT_CODE(store_->CreateUser(StaffUser(a.id, "ann@example.com")), StatusCode::kAlreadyExists);
  EXPECT_CODE(store_->CreateUser(StaffUser(b.id, "ANN@EXAMPLE.COM")), StatusCode::kAlreadyExists);
  EXPECT_CODE(store_->CreateUser(StaffUser(a.id + b.id + 100, "new@example.com")),
              StatusCode::kNotFound);
  const User bob = Must(store_->CreateUser(StaffUser(b.id, "bob@example.com", StaffRole::kViewer)));

  const User found = Must(store_->FindUserByEmail("ANN@example.com"));
  EXPECT_EQ(found.id, ann.id);
  EXPECT_EQ(found.account_id, a.id);
  EXPECT_EQ(found.name, "Ann");
  EXPECT_EQ(found.role, StaffRole::kEditor);
  EXPECT_EQ(found.password_hash, ann.password_hash);
  EXPECT_EQ(found.created_at_ms, 1000);
  EXPECT_CODE(store_->FindUserByEmail("nobody@example.com"), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetUser(bob.id)).role, StaffRole::kViewer);
  EXPECT_CODE(store_->GetUser(bob.id + 100), StatusCode::kNotFound);

  const auto of_a = Must(store_->ListUsers(a.id));
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].email, "ann@example.com");
  EXPECT_EQ(Must(store_->ListUsers(b.id)).size(), 1u);

  Reopen();
  EXPECT_EQ(Must(store_->FindUserByEmail("ann@example.com")).id, ann.id);
}

TEST_P(StoreConformance, UpdateUserChangesNameRoleAndPasswordOnly) {
  const Account a = MakeAccount("a");
  User u = Must(store_->CreateUser(StaffUser(a.id, "ann@example.com")));
  u.name = "Ann B.";
  u.role = StaffRole::kViewer;
  u.password_hash = "$argon2id$new";
  u.updated_at_ms = 9000;
  u.email = "changed@example.com";  // not changed by UpdateUser
  const User updated = Must(store_->UpdateUser(u));
  EXPECT_EQ(updated.name, "Ann B.");
  EXPECT_EQ(updated.role, StaffRole::kViewer);
  EXPECT_EQ(updated.password_hash, "$argon2id$new");
  EXPECT_EQ(updated.updated_at_ms, 9000);
  EXPECT_EQ(updated.created_at_ms, 1000);
  EXPECT_EQ(updated.email, "ann@example.com");
  EXPECT_EQ(Must(store_->GetUser(u.id)).name, "Ann B.");
  u.id += 100;
  EXPECT_CODE(store_->UpdateUser(u), StatusCode::kNotFound);
}

TEST_P(StoreConformance, SessionsAreFoundByTokenHashTouchedAndDeleted) {
  const Account a = MakeAccount("a");
  const User ann = Must(store_->CreateUser(StaffUser(a.id, "ann@example.com")));
  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, "h1", 50'000)).ok());
  EXPECT_CODE(store_->CreateSession(StaffSessionOf(ann, "h1", 50'000)), StatusCode::kAlreadyExists);
  User ghost = ann;
  ghost.id += 100;
  EXPECT_CODE(store_->CreateSession(StaffSessionOf(ghost, "h2", 50'000)), StatusCode::kNotFound);

  StaffSession s = Must(store_->FindSession("h1"));
  EXPECT_EQ(s.user_id, ann.id);
  EXPECT_EQ(s.account_id, a.id);
  EXPECT_EQ(s.csrf_token, "csrf-h1");
  EXPECT_EQ(s.created_at_ms, 1000);
  EXPECT_EQ(s.last_seen_ms, 1000);
  EXPECT_EQ(s.expires_at_ms, 50'000);
  EXPECT_CODE(store_->FindSession("nope"), StatusCode::kNotFound);

  ASSERT_TRUE(store_->TouchSession("h1", 7000, 60'000).ok());
  s = Must(store_->FindSession("h1"));
  EXPECT_EQ(s.last_seen_ms, 7000);
  EXPECT_EQ(s.expires_at_ms, 60'000);
  EXPECT_EQ(s.created_at_ms, 1000);
  EXPECT_CODE(store_->TouchSession("nope", 7000, 60'000), StatusCode::kNotFound);

  Reopen();
  EXPECT_EQ(Must(store_->FindSession("h1")).expires_at_ms, 60'000);
  ASSERT_TRUE(store_->DeleteSession("h1").ok());
  EXPECT_CODE(store_->FindSession("h1"), StatusCode::kNotFound);
  EXPECT_CODE(store_->DeleteSession("h1"), StatusCode::kNotFound);
}

TEST_P(StoreConformance, UserSessionsAreDeletedAllButOneOrWithTheUser) {
  const Account a = MakeAccount("a");
  const User ann = Must(store_->CreateUser(StaffUser(a.id, "ann@example.com")));
  const User bob = Must(store_->CreateUser(StaffUser(a.id, "bob@example.com")));
  for (const char* h : {"a1", "a2", "a3"}) {
    ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, h, 50'000)).ok());
  }
  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(bob, "b1", 50'000)).ok());
  EXPECT_EQ(Must(store_->DeleteUserSessions(ann.id, "a2")), 2);
  EXPECT_CODE(store_->FindSession("a1"), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSession("a2").ok());
  EXPECT_EQ(Must(store_->DeleteUserSessions(ann.id, "")), 1);
  EXPECT_CODE(store_->FindSession("a2"), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSession("b1").ok());

  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, "a4", 50'000)).ok());
  ASSERT_TRUE(store_->DeleteUser(ann.id).ok());
  EXPECT_CODE(store_->GetUser(ann.id), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindSession("a4"), StatusCode::kNotFound);
  EXPECT_CODE(store_->DeleteUser(ann.id), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSession("b1").ok());
  EXPECT_EQ(Must(store_->ListUsers(a.id)).size(), 1u);
}

TEST_P(StoreConformance, PurgeExpiredSessionsDeletesOnlyTheExpired) {
  const Account a = MakeAccount("a");
  const User ann = Must(store_->CreateUser(StaffUser(a.id, "ann@example.com")));
  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, "old", 10'000)).ok());
  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, "edge", 20'000)).ok());
  ASSERT_TRUE(store_->CreateSession(StaffSessionOf(ann, "new", 30'000)).ok());
  EXPECT_EQ(Must(store_->PurgeExpiredSessions(20'000)), 2);
  EXPECT_CODE(store_->FindSession("old"), StatusCode::kNotFound);
  EXPECT_CODE(store_->FindSession("edge"), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSession("new").ok());
  EXPECT_EQ(Must(store_->PurgeExpiredSessions(20'000)), 0);
}

// ---- Single-use webhook nonces ----------------------------------------------------------------

const TransferTable& TableNamed(std::string_view name) {
  for (const TransferTable& t : TransferTables()) {
    if (name == t.name) return t;
  }
  throw std::runtime_error("no table " + std::string(name));
}

WebhookNonce Nonce(int64_t account_id, const std::string& nonce, const std::string& request_hash,
                   int64_t expires_at_ms, const std::string& provider = "plivo") {
  WebhookNonce n;
  n.account_id = account_id;
  n.provider = provider;
  n.nonce = nonce;
  n.request_hash = request_hash;
  n.expires_at_ms = expires_at_ms;
  return n;
}

TEST_P(StoreConformance, AWebhookNonceServesOneRequestAndItsRetries) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  ASSERT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "n1", "req-1", 50'000), 1'000).ok());
  // The same request again (the provider's retry), and again after a reopen: durable.
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "n1", "req-1", 50'000), 2'000).ok());
  Reopen();
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "n1", "req-1", 50'000), 3'000).ok());
  // Another request with the same nonce is a replay.
  EXPECT_CODE(store_->UseWebhookNonce(Nonce(a.id, "n1", "req-2", 50'000), 4'000),
              StatusCode::kAlreadyExists);
  // Nonces are the account's and the provider's own.
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(b.id, "n1", "req-2", 50'000), 4'000).ok());
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "n1", "req-2", 50'000, "other"), 4'000).ok());
  EXPECT_CODE(store_->UseWebhookNonce(Nonce(987654, "n1", "req-1", 50'000), 4'000),
              StatusCode::kNotFound);
}

TEST_P(StoreConformance, AnExpiredWebhookNonceIsForgottenByTheNextUse) {
  const Account a = MakeAccount("a");
  ASSERT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "old", "req-1", 10'000), 1'000).ok());
  ASSERT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "edge", "req-2", 20'000), 1'000).ok());
  ASSERT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "live", "req-3", 30'000), 1'000).ok());
  EXPECT_CODE(store_->UseWebhookNonce(Nonce(a.id, "old", "req-4", 60'000), 9'999),
              StatusCode::kAlreadyExists);
  // At 20 s "old" and "edge" are past their expiry: forgotten, usable again; "live" is not.
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "other", "req-5", 60'000), 20'000).ok());
  EXPECT_EQ(Must(store_->CountRows(TableNamed("webhook_nonces"))), 2);
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "old", "req-4", 60'000), 20'000).ok());
  EXPECT_TRUE(store_->UseWebhookNonce(Nonce(a.id, "edge", "req-6", 60'000), 20'000).ok());
  EXPECT_CODE(store_->UseWebhookNonce(Nonce(a.id, "live", "req-7", 60'000), 20'000),
              StatusCode::kAlreadyExists);
}

// Two processes on one database may get the same nonce at once (a replay racing the original):
// exactly one request gets it.
TEST_P(StoreConformance, ConcurrentUsesOfOneWebhookNonceLetExactlyOneRequestThrough) {
  const Account a = MakeAccount("a");
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> used{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const Status st = store_->UseWebhookNonce(
            Nonce(a.id, "n" + std::to_string(round), "req-" + std::to_string(t), 50'000), 1'000);
        if (st.ok()) {
          ++used;
        } else if (st.code() == StatusCode::kAlreadyExists) {
          ++refused;
        } else {
          ADD_FAILURE() << st.ToString();
        }
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(used.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), kThreads - 1) << "round " << round;
  }
}

// ---- Outbox dispatch -------------------------------------------------------------------------

class OutboxDispatch : public StoreConformance {
 protected:
  void SetUp() override {
    StoreConformance::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    account_ = MakeAccount("a");
    number_ = MakeNumber(account_.id, "+4520123456");
    contact_ = MakeContact(account_.id, "+4511111111");
  }
  // Queues one api-channel reply, due at `due_ms`.
  OutboxItem Queue(int64_t due_ms, const std::string& body = "reply") {
    return QueueIn(account_.id, number_, contact_, due_ms, body);
  }
  OutboxItem QueueIn(int64_t account_id, const SenderNumber& n, const Contact& c, int64_t due_ms,
                     const std::string& body = "reply") {
    ChangeSet changes;
    OutboxItem o = Reply(c, n, ReplyKind::kHelp);
    o.body = body;
    o.created_at_ms = due_ms;
    o.next_attempt_at_ms = due_ms;
    changes.outbox = {o};
    return Must(store_->Commit(account_id, changes), "Commit").outbox.at(0);
  }
  OutboxItem Get(int64_t id) { return Must(store_->GetOutboxItem(account_.id, id), "Get"); }
  static OutboxCompletion Completion(const OutboxItem& item, const std::string& owner,
                                     OutboxState state) {
    OutboxCompletion c;
    c.id = item.id;
    c.lease_owner = owner;
    c.state = state;
    c.attempts = item.attempts + 1;
    return c;
  }
  static std::vector<int64_t> Ids(const std::vector<OutboxItem>& items) {
    std::vector<int64_t> ids;
    for (const OutboxItem& o : items) ids.push_back(o.id);
    return ids;
  }

  Account account_;
  SenderNumber number_;
  Contact contact_;
};

TEST_P(OutboxDispatch, GetOutboxItemIsScopedToTheAccount) {
  OutboxItem o = Queue(1000, "hello");
  EXPECT_EQ(Get(o.id).body, "hello");
  EXPECT_EQ(Get(o.id).channel, "api");
  Account b = MakeAccount("b");
  EXPECT_CODE(store_->GetOutboxItem(b.id, o.id), StatusCode::kNotFound);
  EXPECT_CODE(store_->GetOutboxItem(account_.id, o.id + 100), StatusCode::kNotFound);
}

TEST_P(OutboxDispatch, ClaimTakesOnlyDuePendingItemsOldestFirstUpToTheLimit) {
  OutboxItem first = Queue(200);
  OutboxItem second = Queue(100);  // due earlier, but queued later
  OutboxItem future = Queue(300);

  auto one = Must(ClaimItems(*store_, 250, 1, "d1", 60000));
  ASSERT_EQ(Ids(one), std::vector<int64_t>{first.id});
  EXPECT_EQ(one[0].state, OutboxState::kSending);
  EXPECT_EQ(one[0].lease_owner, "d1");
  EXPECT_EQ(one[0].lease_until_ms, 250 + 60000);
  EXPECT_EQ(one[0].body, "reply");
  EXPECT_EQ(one[0].account_id, account_.id);
  OutboxItem stored = Get(first.id);
  EXPECT_EQ(stored.state, OutboxState::kSending);
  EXPECT_EQ(stored.lease_owner, "d1");
  EXPECT_EQ(stored.lease_until_ms, 250 + 60000);

  // The claimed item is not claimable again; the future one is not due yet.
  EXPECT_EQ(Ids(Must(ClaimItems(*store_, 250, 10, "d2", 60000))), std::vector<int64_t>{second.id});
  EXPECT_TRUE(Must(ClaimItems(*store_, 299, 10, "d2", 60000)).empty());
  EXPECT_EQ(Ids(Must(ClaimItems(*store_, 300, 10, "d2", 60000))), std::vector<int64_t>{future.id});
  EXPECT_TRUE(Must(ClaimItems(*store_, 1'000'000, 10, "d2", 60000)).empty());
}

TEST_P(OutboxDispatch, ClaimSpansAccountsAndRefusesBadArguments) {
  Account b = MakeAccount("b");
  SenderNumber nb = MakeNumber(b.id, "+4520999999");
  Contact cb = MakeContact(b.id, "+4522222222");
  OutboxItem in_a = Queue(100);
  OutboxItem in_b = QueueIn(b.id, nb, cb, 100);
  auto claimed = Must(ClaimItems(*store_, 100, 10, "d", 1000));
  ASSERT_EQ(Ids(claimed), (std::vector<int64_t>{in_a.id, in_b.id}));
  EXPECT_EQ(claimed[1].account_id, b.id);

  EXPECT_CODE(ClaimItems(*store_, 100, 0, "d", 1000), StatusCode::kInvalidArgument);
  EXPECT_CODE(ClaimItems(*store_, 100, 10, "", 1000), StatusCode::kInvalidArgument);
  EXPECT_CODE(ClaimItems(*store_, 100, 10, "d", 0), StatusCode::kInvalidArgument);
}

// Four dispatchers (two on this store object, two on their own connections, as separate
// processes would be) drain 200 items in batches of 7: every item is claimed exactly once.
TEST_P(OutboxDispatch, ConcurrentClaimersNeverGetTheSameItem) {
  std::set<int64_t> queued;
  {
    ChangeSet changes;
    for (int i = 0; i < 200; ++i) {
      OutboxItem o = Reply(contact_, number_, ReplyKind::kHelp);
      o.body = "item " + std::to_string(i);
      changes.outbox.push_back(o);
    }
    for (const OutboxItem& o : Must(store_->Commit(account_.id, changes)).outbox) {
      queued.insert(o.id);
    }
  }
  ASSERT_EQ(queued.size(), 200u);

  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<ConsentStore>> own(kThreads);
  for (int t = 2; t < kThreads; ++t) own[t] = Must(location_->Open(), "second connection");
  std::vector<std::vector<int64_t>> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ConsentStore& store = own[t] ? *own[t] : *store_;
      const std::string owner = "dispatcher-" + std::to_string(t);
      while (true) {
        auto batch = ClaimItems(store, 10'000, 7, owner, 60000);
        if (!batch.ok()) {
          errors[t] = batch.status().ToString();
          return;
        }
        if (batch->empty()) return;
        for (const OutboxItem& o : *batch) {
          got[t].push_back(o.id);
          if (o.lease_owner != owner) errors[t] = "lease owner " + o.lease_owner;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  own.clear();

  std::multiset<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    all.insert(got[t].begin(), got[t].end());
  }
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), queued);  // all, and no duplicates
  EXPECT_TRUE(
      Must(store_->ListOutbox(account_.id, Outbox(0, 1000, OutboxState::kPending))).empty());
}

TEST_P(OutboxDispatch, CompleteRecordsTheOutcomeOnlyForTheLeaseHolder) {
  OutboxItem o = Queue(100);
  OutboxItem claimed = Must(ClaimItems(*store_, 100, 10, "d1", 60000)).at(0);

  OutboxCompletion sent = Completion(claimed, "d2", OutboxState::kSent);
  sent.provider_message_id = "SM123";
  sent.at_ms = 150;
  EXPECT_CODE(store_->CompleteOutbox(sent), StatusCode::kAborted);
  EXPECT_EQ(Get(o.id).state, OutboxState::kSending);  // unchanged

  sent.lease_owner = "d1";
  ASSERT_TRUE(store_->CompleteOutbox(sent).ok());
  OutboxItem done = Get(o.id);
  EXPECT_EQ(done.state, OutboxState::kSent);
  EXPECT_EQ(done.provider_message_id, "SM123");
  EXPECT_EQ(done.sent_at_ms, 150);
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.lease_until_ms, 0);

  // Finished: even the former holder cannot complete it again.
  OutboxCompletion again = Completion(done, "d1", OutboxState::kFailed);
  EXPECT_CODE(store_->CompleteOutbox(again), StatusCode::kAborted);
  EXPECT_EQ(Get(o.id).state, OutboxState::kSent);
  // An item nobody claimed cannot be completed either.
  OutboxItem unclaimed = Queue(5'000'000);
  EXPECT_CODE(store_->CompleteOutbox(Completion(unclaimed, "d1", OutboxState::kSent)),
              StatusCode::kAborted);
  again.id = unclaimed.id + 100;
  EXPECT_CODE(store_->CompleteOutbox(again), StatusCode::kNotFound);

  Reopen();
  EXPECT_EQ(Get(o.id).provider_message_id, "SM123");
}

TEST_P(OutboxDispatch, CompleteRecordsFailedAndDeadWithTheirReason) {
  Queue(100);
  Queue(100);
  auto claimed = Must(ClaimItems(*store_, 100, 10, "d1", 60000));
  ASSERT_EQ(claimed.size(), 2u);
  OutboxCompletion failed = Completion(claimed[0], "d1", OutboxState::kFailed);
  failed.last_error = "twilio: HTTP 400: invalid To (code 21211)";
  ASSERT_TRUE(store_->CompleteOutbox(failed).ok());
  OutboxCompletion dead = Completion(claimed[1], "d1", OutboxState::kDead);
  dead.attempts = 8;
  dead.last_error = "gave up after 8 attempts";
  ASSERT_TRUE(store_->CompleteOutbox(dead).ok());
  OutboxCompletion bad = Completion(claimed[1], "d1", OutboxState::kSending);
  EXPECT_CODE(store_->CompleteOutbox(bad), StatusCode::kInvalidArgument);

  EXPECT_EQ(Get(claimed[0].id).state, OutboxState::kFailed);
  EXPECT_EQ(Get(claimed[0].id).last_error, failed.last_error);
  EXPECT_EQ(Get(claimed[0].id).sent_at_ms, 0);
  EXPECT_EQ(Get(claimed[1].id).state, OutboxState::kDead);
  EXPECT_EQ(Get(claimed[1].id).attempts, 8);
  EXPECT_TRUE(Must(ClaimItems(*store_, 1'000'000, 10, "d1", 60000)).empty());
  EXPECT_EQ(Must(store_->ListOutbox(account_.id, Outbox(0, 10, OutboxState::kFailed))).size(), 1u);
  EXPECT_EQ(Must(store_->ListOutbox(account_.id, Outbox(0, 10, OutboxState::kDead))).size(), 1u);
}

// ---- Delivery reports (RecordDelivery) ----

// Items sent with a provider's id, and what its status callbacks report.
class DeliveryReports : public OutboxDispatch {
 protected:
  // Queues an item and completes it as sent with the provider's id `provider_id`.
  OutboxItem SentAs(const std::string& provider_id) {
    OutboxItem o = Queue(100);
    OutboxItem claimed = Must(ClaimItems(*store_, 1'000'000, 1, "d1", 60000)).at(0);
    EXPECT_EQ(claimed.id, o.id);
    OutboxCompletion sent = Completion(claimed, "d1", OutboxState::kSent);
    sent.provider_message_id = provider_id;
    sent.at_ms = 200;
    EXPECT_TRUE(store_->CompleteOutbox(sent).ok());
    return o;
  }
};

DeliveryUpdate DeliveryReportOf(int64_t account_id, const std::string& id, DeliveryStatus status,
                                int64_t at_ms, const std::string& error = "") {
  DeliveryUpdate u;
  u.account_id = account_id;
  u.provider_message_id = id;
  u.status = status;
  u.error = error;
  u.at_ms = at_ms;
  return u;
}

TEST_P(DeliveryReports, FindTheItemByProviderIdAndKeepAFinalStatus) {
  OutboxItem o = SentAs("SM1");
  EXPECT_FALSE(Get(o.id).delivery.has_value());  // no report yet

  auto sent = Must(
      store_->RecordDelivery(DeliveryReportOf(account_.id, "SM1", DeliveryStatus::kSent, 300)));
  ASSERT_TRUE(sent.has_value());
  EXPECT_TRUE(sent->changed);
  EXPECT_EQ(sent->item.id, o.id);
  EXPECT_EQ(sent->item.delivery, DeliveryStatus::kSent);

  auto delivered = Must(store_->RecordDelivery(
      DeliveryReportOf(account_.id, "SM1", DeliveryStatus::kDelivered, 400)));
  ASSERT_TRUE(delivered.has_value());
  EXPECT_TRUE(delivered->changed);
  // Late and repeated reports change nothing: a final status stays.
  for (DeliveryStatus late : {DeliveryStatus::kSent, DeliveryStatus::kDelivered,
                              DeliveryStatus::kUndelivered, DeliveryStatus::kFailed}) {
    auto again =
        Must(store_->RecordDelivery(DeliveryReportOf(account_.id, "SM1", late, 500, "30003")));
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->changed) << DeliveryStatusName(late);
    EXPECT_EQ(again->item.delivery, DeliveryStatus::kDelivered);
  }
  Reopen();
  OutboxItem got = Get(o.id);
  EXPECT_EQ(got.delivery, DeliveryStatus::kDelivered);
  EXPECT_EQ(got.delivery_error, "");
  EXPECT_EQ(got.delivery_updated_at_ms, 400);
  EXPECT_EQ(got.state, OutboxState::kSent);  // the outbox state is the send's, untouched
  EXPECT_EQ(Must(store_->ListOutbox(account_.id, Outbox(0, 10, OutboxState::kSent))).at(0).delivery,
            DeliveryStatus::kDelivered);
}

TEST_P(DeliveryReports, KeepTheProviderErrorAndAreScopedToTheAccount) {
  OutboxItem o = SentAs("SM2");
  const std::string error = "21610: Attempt to send to unsubscribed recipient";
  auto failed = Must(store_->RecordDelivery(
      DeliveryReportOf(account_.id, "SM2", DeliveryStatus::kUndelivered, 300, error)));
  ASSERT_TRUE(failed.has_value());
  EXPECT_TRUE(failed->changed);
  EXPECT_EQ(Get(o.id).delivery, DeliveryStatus::kUndelivered);
  EXPECT_EQ(Get(o.id).delivery_error, error);

  // Another account's report, or an id no item has: nothing found, nothing changed.
  Account b = MakeAccount("b");
  EXPECT_FALSE(
      Must(store_->RecordDelivery(DeliveryReportOf(b.id, "SM2", DeliveryStatus::kDelivered, 400)))
          .has_value());
  EXPECT_FALSE(Must(store_->RecordDelivery(
                        DeliveryReportOf(account_.id, "SM-none", DeliveryStatus::kDelivered, 400)))
                   .has_value());
  // An unsent item has no provider id: an empty id is refused, not matched.
  Queue(5'000'000);
  EXPECT_CODE(store_->RecordDelivery(DeliveryReportOf(account_.id, "", DeliveryStatus::kSent, 400)),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(
      store_->RecordDelivery(DeliveryReportOf(account_.id, "SM2", DeliveryStatus::kSent, 400,
                                              std::string(kMaxDeliveryErrorBytes + 1, 'x'))),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(Get(o.id).delivery, DeliveryStatus::kUndelivered);
}

TEST_P(DeliveryReports, ConcurrentChangeTheItemOnce) {
  OutboxItem o = SentAs("SM3");
  constexpr int kThreads = 8;
  std::atomic<int> changed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto r = store_->RecordDelivery(DeliveryReportOf(
          account_.id, "SM3", t % 2 ? DeliveryStatus::kDelivered : DeliveryStatus::kFailed, 300));
      if (!r.ok()) return ADD_FAILURE() << r.status().ToString();
      if (r->has_value() && (*r)->changed) ++changed;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(changed.load(), 1);
  EXPECT_TRUE(Get(o.id).delivery == DeliveryStatus::kDelivered ||
              Get(o.id).delivery == DeliveryStatus::kFailed);
}

TEST_P(OutboxDispatch, RetryLaterIsNotClaimableUntilItsNextAttempt) {
  OutboxItem o = Queue(1000);
  OutboxItem claimed = Must(ClaimItems(*store_, 1000, 10, "d1", 60000)).at(0);
  OutboxCompletion retry = Completion(claimed, "d1", OutboxState::kPending);
  retry.last_error = "twilio: HTTP 503";
  retry.next_attempt_at_ms = 5000;
  ASSERT_TRUE(store_->CompleteOutbox(retry).ok());
  OutboxItem pending = Get(o.id);
  EXPECT_EQ(pending.state, OutboxState::kPending);
  EXPECT_EQ(pending.attempts, 1);
  EXPECT_EQ(pending.next_attempt_at_ms, 5000);
  EXPECT_EQ(pending.last_error, "twilio: HTTP 503");
  EXPECT_EQ(pending.lease_until_ms, 0);

  EXPECT_TRUE(Must(ClaimItems(*store_, 4999, 10, "d2", 60000)).empty());
  auto again = Must(ClaimItems(*store_, 5000, 10, "d2", 60000));
  ASSERT_EQ(Ids(again), std::vector<int64_t>{o.id});
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].last_error, "twilio: HTTP 503");
  EXPECT_EQ(again[0].lease_owner, "d2");
  // The first dispatcher's lease is gone with its completion.
  EXPECT_CODE(store_->CompleteOutbox(Completion(again[0], "d1", OutboxState::kSent)),
              StatusCode::kAborted);
}

TEST_P(OutboxDispatch, ExpiredLeasesBecomeDeadAndAreNeverSentAgain) {
  OutboxItem o = Queue(1000);
  OutboxItem keep = Queue(1000);
  OutboxItem claimed = Must(ClaimItems(*store_, 1000, 1, "crashed", 100)).at(0);
  ASSERT_EQ(claimed.id, o.id);
  Must(ClaimItems(*store_, 1050, 1, "alive", 1000));  // `keep`, leased until 2050

  EXPECT_EQ(Must(store_->ExpireOutboxLeases(1100)), 0);  // lease_until 1100 is not before 1100
  EXPECT_EQ(Must(store_->ExpireOutboxLeases(1101)), 1);
  OutboxItem dead = Get(o.id);
  EXPECT_EQ(dead.state, OutboxState::kDead);
  EXPECT_EQ(dead.last_error,
            "interrupted while sending; not retried so the reply is never sent twice");
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(Get(keep.id).state, OutboxState::kSending);

  // The dispatcher that held it cannot record a late outcome, and nobody claims it again.
  EXPECT_CODE(store_->CompleteOutbox(Completion(claimed, "crashed", OutboxState::kSent)),
              StatusCode::kAborted);
  EXPECT_EQ(Get(o.id).state, OutboxState::kDead);
  EXPECT_TRUE(Must(ClaimItems(*store_, 1'000'000, 10, "d", 1000)).empty());
  EXPECT_EQ(Must(store_->ExpireOutboxLeases(1101)), 0);
}

TEST_P(OutboxDispatch, ResponseChannelItemsAreStoredSentAndNeverClaimed) {
  ChangeSet changes;
  changes.inbound = Inbound(contact_, number_, "SM-9", "HELP");
  OutboxItem in_response = Reply(contact_, number_, ReplyKind::kHelp);
  in_response.channel = "response";
  in_response.created_at_ms = 4100;
  OutboxItem by_api = Reply(contact_, number_, ReplyKind::kHelp);
  by_api.state = OutboxState::kSent;  // ignored for the api channel
  by_api.provider_message_id = "ignored";
  changes.outbox = {in_response, by_api};
  auto r = Must(store_->Commit(account_.id, changes));
  ASSERT_EQ(r.outbox.size(), 2u);
  EXPECT_EQ(r.outbox[0].state, OutboxState::kSent);
  EXPECT_EQ(r.outbox[0].sent_at_ms, 4100);
  EXPECT_EQ(r.outbox[1].state, OutboxState::kPending);

  OutboxItem stored = Get(r.outbox[0].id);
  EXPECT_EQ(stored.state, OutboxState::kSent);
  EXPECT_EQ(stored.channel, "response");
  EXPECT_EQ(stored.sent_at_ms, 4100);
  EXPECT_EQ(stored.attempts, 0);
  EXPECT_EQ(stored.inbound_id, r.inbound_id);
  OutboxItem api = Get(r.outbox[1].id);
  EXPECT_EQ(api.channel, "api");
  EXPECT_EQ(api.state, OutboxState::kPending);
  EXPECT_EQ(api.provider_message_id, "");
  EXPECT_EQ(api.sent_at_ms, 0);

  EXPECT_EQ(Ids(Must(ClaimItems(*store_, 1'000'000, 10, "d", 1000))),
            std::vector<int64_t>{r.outbox[1].id});

  ChangeSet bad;
  bad.inbound = Inbound(contact_, number_, "SM-10", "HELP");
  OutboxItem unknown = Reply(contact_, number_, ReplyKind::kHelp);
  unknown.channel = "carrier-pigeon";
  bad.outbox = {unknown};
  EXPECT_CODE(store_->Commit(account_.id, bad), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Must(store_->FindInbound(account_.id, "twilio", "SM-10")).has_value());
}

TEST_P(OutboxDispatch, CountOutboxCountsEveryStateAcrossAccounts) {
  auto zero = Must(store_->CountOutbox());
  ASSERT_EQ(zero.size(), 7u);
  const std::vector<OutboxState> order = {
      OutboxState::kPending, OutboxState::kSending,   OutboxState::kSent,   OutboxState::kFailed,
      OutboxState::kDead,    OutboxState::kCancelled, OutboxState::kExpired};
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(zero[i].first, order[i]);
    EXPECT_EQ(zero[i].second, 0);
  }

  Account b = MakeAccount("b");
  SenderNumber nb = MakeNumber(b.id, "+4520999999");
  Contact cb = MakeContact(b.id, "+4522222222");
  for (int i = 0; i < 5; ++i) Queue(100);  // 5 in account a
  QueueIn(b.id, nb, cb, 100);              // 1 in account b
  QueueIn(b.id, nb, cb, 9'000'000);        // not due
  auto claimed = Must(ClaimItems(*store_, 100, 4, "d", 1000));
  ASSERT_EQ(claimed.size(), 4u);
  ASSERT_TRUE(store_->CompleteOutbox(Completion(claimed[0], "d", OutboxState::kSent)).ok());
  ASSERT_TRUE(store_->CompleteOutbox(Completion(claimed[1], "d", OutboxState::kFailed)).ok());
  ASSERT_TRUE(store_->CompleteOutbox(Completion(claimed[2], "d", OutboxState::kDead)).ok());
  // claimed[3] stays sending.

  std::map<OutboxState, int64_t> counts;
  for (const auto& [state, n] : Must(store_->CountOutbox())) counts[state] = n;
  EXPECT_EQ(counts[OutboxState::kPending], 3);
  EXPECT_EQ(counts[OutboxState::kSending], 1);
  EXPECT_EQ(counts[OutboxState::kSent], 1);
  EXPECT_EQ(counts[OutboxState::kFailed], 1);
  EXPECT_EQ(counts[OutboxState::kDead], 1);
}

TEST_P(OutboxDispatch, ListOutboxMatchesAnyOfSeveralStatesNewestFirstBetweenCursors) {
  std::vector<OutboxItem> items;
  for (int i = 0; i < 6; ++i) items.push_back(Queue(100));
  Account b = MakeAccount("b");
  SenderNumber nb = MakeNumber(b.id, "+4520999999");
  Contact cb = MakeContact(b.id, "+4522222222");
  QueueIn(b.id, nb, cb, 100);
  auto claimed = Must(ClaimItems(*store_, 100, 7, "d", 1000));  // all 7, both accounts
  ASSERT_EQ(claimed.size(), 7u);
  // items 0..5 become failed, sent, dead, failed, dead, sending; b's item dead.
  const OutboxState outcome[] = {OutboxState::kFailed, OutboxState::kSent, OutboxState::kDead,
                                 OutboxState::kFailed, OutboxState::kDead};
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->CompleteOutbox(Completion(items[i], "d", outcome[i])).ok());
  }
  ASSERT_TRUE(store_->CompleteOutbox(Completion(claimed[6], "d", OutboxState::kDead)).ok());

  OutboxQuery q;
  q.states = {OutboxState::kFailed, OutboxState::kDead};
  EXPECT_EQ(Ids(Must(store_->ListOutbox(account_.id, q))),
            (std::vector<int64_t>{items[0].id, items[2].id, items[3].id, items[4].id}));
  q.newest_first = true;
  EXPECT_EQ(Ids(Must(store_->ListOutbox(account_.id, q))),
            (std::vector<int64_t>{items[4].id, items[3].id, items[2].id, items[0].id}));
  // Newest first, paged with before_id.
  q.limit = 3;
  auto page1 = Must(store_->ListOutbox(account_.id, q));
  EXPECT_EQ(Ids(page1), (std::vector<int64_t>{items[4].id, items[3].id, items[2].id}));
  q.before_id = page1.back().id;
  EXPECT_EQ(Ids(Must(store_->ListOutbox(account_.id, q))), std::vector<int64_t>{items[0].id});
  // Both bounds at once, either order; a state given twice counts once.
  q.limit = 100;
  q.after_id = items[0].id;
  q.before_id = items[4].id;
  EXPECT_EQ(Ids(Must(store_->ListOutbox(account_.id, q))),
            (std::vector<int64_t>{items[3].id, items[2].id}));
  q.newest_first = false;
  q.states = {OutboxState::kDead, OutboxState::kDead, OutboxState::kSending};
  q.after_id = 0;
  q.before_id = 0;
  EXPECT_EQ(Ids(Must(store_->ListOutbox(account_.id, q))),
            (std::vector<int64_t>{items[2].id, items[4].id, items[5].id}));
  // No states: every state.
  q.states.clear();
  EXPECT_EQ(Must(store_->ListOutbox(account_.id, q)).size(), 6u);
}

// ---- Replies checked as they leave ------------------------------------------------------------
// ClaimOutbox checks each due item against its contact's status on its number as it is at the
// claim, in the same transaction (DecidePendingReply, core/consent.h).

class OutboxRecheck : public OutboxDispatch {
 protected:
  void SetUp() override {
    OutboxDispatch::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Account with_short_codes;
    with_short_codes.name = "short";
    with_short_codes.marketing_sms_access = true;
    with_short_codes.sms_short_code = true;
    with_short_codes.created_at_ms = 1000;
    short_account_ = Must(store_->CreateAccount(with_short_codes, ""), "CreateAccount");
    short_code_ = MakeNumber(short_account_.id, "12345", NumberKind::kShortCode, "US");
    person_ = MakeContact(short_account_.id, "+14155550123");
  }

  // A decision on the short code: its event and the reply it queues, at `at_ms`.
  CommitResult Decide(SubscriptionStatus from, SubscriptionStatus to, Source source,
                      std::optional<ReplyKind> reply, int64_t at_ms, const Contact* who = nullptr) {
    const Contact& c = who ? *who : person_;
    ChangeSet changes;
    if (source == Source::kKeyword) {
      changes.inbound = Inbound(c, short_code_, "msg-" + std::to_string(++messages_),
                                to == kOut ? "STOP" : "START");
      changes.inbound->received_at_ms = at_ms;
    }
    changes.events = {Draft(c, short_code_, from, to, source, at_ms)};
    if (reply) changes.outbox = {Queued(*reply, at_ms, c)};
    return Must(store_->Commit(short_account_.id, changes), "Commit");
  }
  OutboxItem Queued(ReplyKind kind, int64_t at_ms, const Contact& c) {
    OutboxItem o = Reply(c, short_code_, kind);
    o.body = ReplyKindName(kind);
    o.created_at_ms = at_ms;
    o.next_attempt_at_ms = at_ms;
    return o;
  }
  // A HELP answer (no event) queued at `at_ms`.
  OutboxItem Help(int64_t at_ms, const Contact* who = nullptr) {
    ChangeSet changes;
    changes.outbox = {Queued(ReplyKind::kHelp, at_ms, who ? *who : person_)};
    return Must(store_->Commit(short_account_.id, changes), "Commit").outbox.at(0);
  }
  ClaimedOutbox Claim(int64_t now_ms, int limit = 10, const ReplyMaxAges& ages = {},
                      ConsentStore* store = nullptr) {
    OutboxClaim claim;
    claim.now_ms = now_ms;
    claim.limit = limit;
    claim.owner = "d";
    claim.lease_ms = 60'000;
    claim.max_ages = ages;
    return Must((store ? *store : *store_).ClaimOutbox(claim), "ClaimOutbox");
  }
  OutboxItem GetShort(int64_t id) {
    return Must(store_->GetOutboxItem(short_account_.id, id), "GetOutboxItem");
  }

  Account short_account_;
  SenderNumber short_code_;
  Contact person_;
  int messages_ = 0;
};

// The defect this guards against: a staff opt-in on a short code queues the confirmation, the
// contact texts STOP before any dispatcher runs, and then both went out.
TEST_P(OutboxRecheck, StaleOptInConfirmationIsCancelledAndTheOptOutConfirmationClaimed) {
  const CommitResult opt_in =
      Decide(kNone, kIn, Source::kManual, ReplyKind::kOptInConfirmation, 5000);
  ASSERT_EQ(opt_in.outbox.size(), 1u);
  EXPECT_EQ(opt_in.outbox[0].queued_at_seq, opt_in.events.at(0).seq);
  const CommitResult stop =
      Decide(kIn, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 6000);
  EXPECT_EQ(stop.outbox.at(0).queued_at_seq, stop.events.at(0).seq);
  EXPECT_EQ(GetShort(opt_in.outbox[0].id).queued_at_seq, opt_in.events[0].seq);

  const ClaimedOutbox got = Claim(7000);
  ASSERT_EQ(Ids(got.items), std::vector<int64_t>{stop.outbox[0].id});
  EXPECT_EQ(got.items[0].kind, ReplyKind::kOptOutConfirmation);
  ASSERT_EQ(Ids(got.retired), std::vector<int64_t>{opt_in.outbox[0].id});
  EXPECT_EQ(got.retired[0].state, OutboxState::kCancelled);
  EXPECT_EQ(got.retired[0].last_error, "status changed since queued: now opted_out");

  Reopen();
  const OutboxItem cancelled = GetShort(opt_in.outbox[0].id);
  EXPECT_EQ(cancelled.state, OutboxState::kCancelled);
  EXPECT_EQ(cancelled.last_error, "status changed since queued: now opted_out");
  EXPECT_EQ(cancelled.attempts, 0);
  EXPECT_EQ(cancelled.lease_owner, "");
  EXPECT_EQ(cancelled.sent_at_ms, 0);
  // Final: never claimed again, and listed and counted under its state.
  EXPECT_TRUE(Claim(1'000'000).items.empty());
  EXPECT_EQ(GetShort(opt_in.outbox[0].id).state, OutboxState::kCancelled);
  EXPECT_EQ(
      Ids(Must(store_->ListOutbox(short_account_.id, Outbox(0, 10, OutboxState::kCancelled)))),
      std::vector<int64_t>{opt_in.outbox[0].id});
  std::map<OutboxState, int64_t> counts;
  for (const auto& [state, n] : Must(store_->CountOutbox())) counts[state] = n;
  EXPECT_EQ(counts[OutboxState::kCancelled], 1);
  EXPECT_EQ(counts[OutboxState::kSending], 1);
}

TEST_P(OutboxRecheck, OptingOutAndInAgainCancelsTheFirstConfirmationOnly) {
  const CommitResult first =
      Decide(kNone, kIn, Source::kKeyword, ReplyKind::kOptInConfirmation, 5000);
  const CommitResult stop =
      Decide(kIn, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 5100);
  const CommitResult again =
      Decide(kOut, kIn, Source::kKeyword, ReplyKind::kOptInConfirmation, 5200);
  const ClaimedOutbox got = Claim(6000);
  EXPECT_EQ(Ids(got.items), (std::vector<int64_t>{stop.outbox[0].id, again.outbox[0].id}));
  ASSERT_EQ(Ids(got.retired), std::vector<int64_t>{first.outbox[0].id});
  EXPECT_EQ(got.retired[0].last_error, "status changed since queued: now opted_in");
}

TEST_P(OutboxRecheck, UnchangedStatusAndRepliesThatDoNotFollowItAreClaimed) {
  // A second START while opted in is recorded as a no-change event: the first confirmation
  // still holds.
  const CommitResult start =
      Decide(kNone, kIn, Source::kKeyword, ReplyKind::kOptInConfirmation, 5000);
  const CommitResult repeat =
      Decide(kIn, kIn, Source::kKeyword, ReplyKind::kOptInConfirmation, 5100);
  // Another contact who opted out asks for HELP: answered, like the opt-out confirmation.
  const Contact other = MakeContact(short_account_.id, "+14155550124");
  const CommitResult stop =
      Decide(kNone, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 5200, &other);
  const OutboxItem help = Help(5300, &other);
  // A status change on another number of the same contact changes nothing here.
  const SenderNumber second = MakeNumber(short_account_.id, "54321", NumberKind::kShortCode);
  ChangeSet elsewhere;
  elsewhere.events = {Draft(person_, second, kNone, kOut, Source::kKeyword, 5400)};
  Must(store_->Commit(short_account_.id, elsewhere), "Commit");

  const ClaimedOutbox got = Claim(6000);
  EXPECT_TRUE(got.retired.empty()) << got.retired.at(0).last_error;
  EXPECT_EQ(Ids(got.items), (std::vector<int64_t>{start.outbox[0].id, repeat.outbox[0].id,
                                                  stop.outbox[0].id, help.id}));
}

// A reply that waits for a retry is checked again when it is due: the STOP that came in
// meanwhile cancels it.
TEST_P(OutboxRecheck, ARetryIsCheckedAgainstTheStatusAtItsNextClaim) {
  const CommitResult opt_in =
      Decide(kNone, kIn, Source::kManual, ReplyKind::kOptInConfirmation, 5000);
  const ClaimedOutbox first = Claim(5000);
  ASSERT_EQ(Ids(first.items), std::vector<int64_t>{opt_in.outbox[0].id});
  OutboxCompletion retry = Completion(first.items[0], "d", OutboxState::kPending);
  retry.last_error = "twilio: HTTP 503";
  retry.next_attempt_at_ms = 8000;
  ASSERT_TRUE(store_->CompleteOutbox(retry).ok());

  const CommitResult stop =
      Decide(kIn, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 6000);
  const ClaimedOutbox later = Claim(8000);
  EXPECT_EQ(Ids(later.items), std::vector<int64_t>{stop.outbox[0].id});
  ASSERT_EQ(Ids(later.retired), std::vector<int64_t>{opt_in.outbox[0].id});
  const OutboxItem cancelled = GetShort(opt_in.outbox[0].id);
  EXPECT_EQ(cancelled.state, OutboxState::kCancelled);
  EXPECT_EQ(cancelled.attempts, 1);  // the attempt that was made stays counted
  EXPECT_EQ(cancelled.last_error, "status changed since queued: now opted_out");
}

// A message the business sends (POST /v1/messages) is an outbox item of kind message with its
// purpose, its schedule and the client's Idempotency-Key, which is unique in the account.
TEST_P(OutboxRecheck, MessagesKeepTheirPurposeScheduleAndIdempotencyKey) {
  auto message = [&](const std::string& key, Purpose purpose, int64_t send_at) {
    OutboxItem o = Queued(ReplyKind::kMessage, 5000, person_);
    o.body = "Sale today";
    o.purpose = purpose;
    o.send_at_ms = send_at;
    o.next_attempt_at_ms = std::max<int64_t>(5000, send_at);
    o.idempotency_key = key;
    o.request_hash = "hash-" + key;
    ChangeSet changes;
    changes.outbox = {o};
    return changes;
  };
  const OutboxItem queued =
      Must(store_->Commit(short_account_.id, message("k1", Purpose::kTransactional, 9000)))
          .outbox.at(0);
  Reopen();
  const OutboxItem read = GetShort(queued.id);
  EXPECT_EQ(read.kind, ReplyKind::kMessage);
  EXPECT_EQ(read.purpose, Purpose::kTransactional);
  EXPECT_EQ(read.send_at_ms, 9000);
  EXPECT_EQ(read.next_attempt_at_ms, 9000);
  EXPECT_EQ(read.idempotency_key, "k1");
  EXPECT_EQ(read.request_hash, "hash-k1");
  EXPECT_EQ(read.contact_id, person_.id);
  auto found = Must(store_->FindOutboxByIdempotencyKey(short_account_.id, "k1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, queued.id);
  EXPECT_FALSE(Must(store_->FindOutboxByIdempotencyKey(short_account_.id, "k2")).has_value());
  EXPECT_FALSE(Must(store_->FindOutboxByIdempotencyKey(short_account_.id, "")).has_value());
  EXPECT_FALSE(Must(store_->FindOutboxByIdempotencyKey(account_.id, "k1")).has_value());

  // The key again: refused, and nothing of that change set is written; in a batch, only the
  // item that repeats a key fails (an earlier item of the same batch counts).
  const size_t before = Must(store_->ListOutbox(short_account_.id, OutboxQuery())).size();
  EXPECT_CODE(store_->Commit(short_account_.id, message("k1", Purpose::kMarketing, 0)),
              StatusCode::kAlreadyExists);
  const ChangeSet a = message("k2", Purpose::kMarketing, 0);
  const ChangeSet b = message("k2", Purpose::kMarketing, 0);
  const ChangeSet c = message("k3", Purpose::kMarketing, 0);
  const ChangeSet no_key = message("", Purpose::kMarketing, 0);
  auto results = store_->CommitBatch({{short_account_.id, &a},
                                      {short_account_.id, &b},
                                      {short_account_.id, &c},
                                      {short_account_.id, &no_key},
                                      {short_account_.id, &no_key}});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(results[2].ok());
  EXPECT_TRUE(results[3].ok() && results[4].ok());  // no key: never a duplicate
  EXPECT_EQ(Must(store_->ListOutbox(short_account_.id, OutboxQuery())).size(), before + 4);
  // Listed by kind and by number (the messages the business sent from it).
  Decide(kNone, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 4500);
  OutboxQuery sent;
  sent.kind = ReplyKind::kMessage;
  sent.number_id = short_code_.id;
  sent.newest_first = true;
  const auto messages = Must(store_->ListOutbox(short_account_.id, sent));
  ASSERT_EQ(messages.size(), before + 4);
  for (const OutboxItem& o : messages) EXPECT_EQ(o.kind, ReplyKind::kMessage);
  EXPECT_EQ(messages.front().id, results[4]->outbox.at(0).id);
  sent.number_id = short_code_.id + 1000;
  EXPECT_TRUE(Must(store_->ListOutbox(short_account_.id, sent)).empty());
  // Keys are per account.
  Contact other = MakeContact(account_.id, "+14155550199");
  OutboxItem elsewhere = Reply(other, number_, ReplyKind::kMessage);
  elsewhere.idempotency_key = "k1";
  ChangeSet in_other;
  in_other.outbox = {elsewhere};
  EXPECT_TRUE(store_->Commit(account_.id, in_other).ok());
}

// When it is claimed, a message is checked by its purpose against the status then: marketing
// only to a contact opted in now, nothing to one opted out now; and not before its send_at.
TEST_P(OutboxRecheck, AMessageLeavesOnlyWhenDueAndWhileItsPurposeAllows) {
  short_code_.quiet_hours = QuietHoursPolicy{QuietHoursPolicy::Kind::kOff, {}};  // 1970's nights
  short_code_ = Must(store_->UpdateNumber(short_code_));
  Decide(kNone, kIn, Source::kManual, std::nullopt, 4000);
  const Contact stranger = MakeContact(short_account_.id, "+14155550124");  // not_specified
  auto queue = [&](const Contact& to, Purpose purpose, int64_t send_at) {
    OutboxItem o = Queued(ReplyKind::kMessage, 5000, to);
    o.purpose = purpose;
    o.send_at_ms = send_at;
    o.next_attempt_at_ms = std::max<int64_t>(5000, send_at);
    ChangeSet changes;
    changes.outbox = {o};
    return Must(store_->Commit(short_account_.id, changes)).outbox.at(0).id;
  };
  const int64_t marketing = queue(person_, Purpose::kMarketing, 0);
  const int64_t later = queue(person_, Purpose::kMarketing, 50'000);
  const int64_t to_stranger = queue(stranger, Purpose::kMarketing, 0);
  const int64_t receipt = queue(stranger, Purpose::kTransactional, 0);

  ClaimedOutbox got = Claim(6000);
  EXPECT_EQ(Ids(got.items), (std::vector<int64_t>{marketing, receipt}));
  ASSERT_EQ(Ids(got.retired), std::vector<int64_t>{to_stranger});
  EXPECT_EQ(got.retired[0].state, OutboxState::kCancelled);
  EXPECT_EQ(got.retired[0].last_error.rfind("not_opted_in: ", 0), 0u) << got.retired[0].last_error;

  // The contact opts out before the scheduled one is due: it is cancelled when it would leave.
  Decide(kIn, kOut, Source::kKeyword, std::nullopt, 7000);
  EXPECT_TRUE(Claim(49'999).items.empty());
  got = Claim(50'000);
  EXPECT_TRUE(got.items.empty());
  ASSERT_EQ(Ids(got.retired), std::vector<int64_t>{later});
  EXPECT_EQ(GetShort(later).last_error.rfind("opted_out: ", 0), 0u) << GetShort(later).last_error;
}

// A number's quiet hours are kept with it ("jurisdiction" unless set); a marketing message due
// while they hold for its recipient is deferred to the next instant they allow, and a
// transactional one leaves.
TEST_P(OutboxRecheck, AMarketingMessageInTheRecipientsQuietHoursIsDeferred) {
  // A number follows its account's policy unless it has its own; an account's is by
  // jurisdiction unless set.
  EXPECT_EQ(short_code_.quiet_hours.kind, QuietHoursPolicy::Kind::kAccount);
  EXPECT_EQ(Must(store_->GetNumber(short_account_.id, short_code_.id)).quiet_hours.kind,
            QuietHoursPolicy::Kind::kAccount);
  EXPECT_EQ(Must(store_->GetAccount(short_account_.id)).quiet_hours.kind,
            QuietHoursPolicy::Kind::kJurisdiction);
  // 2026-12-08T01:30:00Z is 20:30 in Miami (EST), after Florida's 20:00.
  constexpr int64_t kEvening = 1'796'693'400'000;
  constexpr int64_t kMorning = kEvening + 11LL * 3'600'000 + 30 * 60'000;  // 08:00 EST
  const Contact miami = MakeContact(short_account_.id, "+13055550100");
  Decide(kNone, kIn, Source::kManual, std::nullopt, kEvening - 1000, &miami);
  auto queue = [&](Purpose purpose) {
    OutboxItem o = Queued(ReplyKind::kMessage, kEvening, miami);
    o.purpose = purpose;
    ChangeSet changes;
    changes.outbox = {o};
    return Must(store_->Commit(short_account_.id, changes)).outbox.at(0).id;
  };
  const int64_t sale = queue(Purpose::kMarketing);
  const int64_t receipt = queue(Purpose::kTransactional);
  ClaimedOutbox got = Claim(kEvening);
  EXPECT_EQ(Ids(got.items), std::vector<int64_t>{receipt});
  ASSERT_EQ(Ids(got.deferred), std::vector<int64_t>{sale});
  EXPECT_EQ(got.deferred[0].next_attempt_at_ms, kMorning);
  EXPECT_EQ(GetShort(sale).state, OutboxState::kPending);
  EXPECT_EQ(GetShort(sale).next_attempt_at_ms, kMorning);
  EXPECT_TRUE(Claim(kMorning - 1).items.empty());
  EXPECT_EQ(Ids(Claim(kMorning).items), std::vector<int64_t>{sale});

  // The account's policy is what "account" numbers follow.
  ASSERT_TRUE(
      store_->SetAccountQuietHours(short_account_.id, Must(ParseQuietHoursPolicy(R"("off")")))
          .ok());
  EXPECT_EQ(Must(store_->GetAccount(short_account_.id)).quiet_hours.kind,
            QuietHoursPolicy::Kind::kOff);
  const int64_t night_sale = queue(Purpose::kMarketing);
  EXPECT_EQ(Ids(Claim(kEvening + 120'000).items), std::vector<int64_t>{night_sale});
  EXPECT_CODE(
      store_->SetAccountQuietHours(short_account_.id, Must(ParseQuietHoursPolicy(R"("account")"))),
      StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->SetAccountQuietHours(short_account_.id + 100,
                                           Must(ParseQuietHoursPolicy(R"("off")"))),
              StatusCode::kNotFound);
  ASSERT_TRUE(store_
                  ->SetAccountQuietHours(short_account_.id,
                                         Must(ParseQuietHoursPolicy(R"("jurisdiction")")))
                  .ok());

  // A custom window replaces the state's rule; "off" never defers.
  short_code_.quiet_hours = Must(ParseQuietHoursPolicy(R"({"start":"09:00","end":"17:00"})"));
  short_code_ = Must(store_->UpdateNumber(short_code_));
  Reopen();
  EXPECT_EQ(QuietHoursPolicyToJson(
                Must(store_->GetNumber(short_account_.id, short_code_.id)).quiet_hours),
            R"({"start":"09:00","end":"17:00"})");
  const int64_t custom = queue(Purpose::kMarketing);
  got = Claim(kMorning + 3'600'000);  // 09:00 EST
  EXPECT_EQ(Ids(got.items), std::vector<int64_t>{custom});

  // A policy that holds transactional messages back defers them at dispatch too.
  short_code_.quiet_hours =
      Must(ParseQuietHoursPolicy(R"({"rule":"jurisdiction","transactional":true})"));
  short_code_ = Must(store_->UpdateNumber(short_code_));
  const int64_t code = queue(Purpose::kTransactional);
  got = Claim(kEvening + 60'000);
  EXPECT_TRUE(got.items.empty());
  ASSERT_EQ(Ids(got.deferred), std::vector<int64_t>{code});
  EXPECT_EQ(got.deferred[0].next_attempt_at_ms, kMorning);
}

// The frequency cap's view of a (contact, number): when its marketing messages are due, those
// not retired, within the range asked.
TEST_P(OutboxRecheck, MarketingDueTimesListWhatTheCapCounts) {
  const Contact c = MakeContact(short_account_.id, "+13055550177");
  auto queue = [&](Purpose purpose, int64_t due) {
    OutboxItem o = Queued(ReplyKind::kMessage, due, c);
    o.purpose = purpose;
    o.next_attempt_at_ms = due;
    ChangeSet changes;
    changes.outbox = {o};
    return Must(store_->Commit(short_account_.id, changes)).outbox.at(0).id;
  };
  // One sent and one failed: the claim hands each out, the completion records how it went.
  Decide(kNone, kIn, Source::kManual, std::nullopt, 500, &c);
  for (auto [due, state] : {std::pair{3000, OutboxState::kSent}, {4000, OutboxState::kFailed}}) {
    queue(Purpose::kMarketing, due);
    ClaimedOutbox got = Claim(due, 1);
    ASSERT_EQ(got.items.size(), 1u);
    OutboxCompletion done;
    done.id = got.items[0].id;
    done.lease_owner = "d";
    done.state = state;
    done.attempts = 1;
    done.at_ms = due;
    ASSERT_TRUE(store_->CompleteOutbox(done).ok());
  }
  queue(Purpose::kMarketing, 1000);
  queue(Purpose::kTransactional, 3500);
  queue(Purpose::kMarketing, 9000);
  EXPECT_EQ(Must(store_->ListMarketingDueTimes(short_account_.id, c.id, short_code_.id, 0, 10000)),
            (std::vector<int64_t>{1000, 3000, 9000}));
  EXPECT_EQ(
      Must(store_->ListMarketingDueTimes(short_account_.id, c.id, short_code_.id, 1000, 9000)),
      (std::vector<int64_t>{3000}));
  EXPECT_TRUE(
      Must(store_->ListMarketingDueTimes(short_account_.id + 1, c.id, short_code_.id, 0, 10000))
          .empty());
}

// The opt-out notice's history of a (contact, number): the marketing messages queued, the last
// one that carried the notice and how many came after it; cancelled messages do not count.
TEST_P(OutboxRecheck, TheOptOutNoticesHistoryCountsMarketingSinceTheLastNotice) {
  OptOutNotice policy;
  policy.text = "STOP to end";
  policy.every_messages = 3;
  short_code_.opt_out_notice = policy;
  short_code_ = Must(store_->UpdateNumber(short_code_));
  Reopen();
  EXPECT_EQ(Must(store_->GetNumber(short_account_.id, short_code_.id)).opt_out_notice, policy);
  auto history = [&] {
    return Must(store_->GetNoticeHistory(short_account_.id, person_.id, short_code_.id));
  };
  EXPECT_FALSE(history().ever);
  EXPECT_EQ(history().since_notice, 0);
  auto queue = [&](Purpose purpose, bool notice, int64_t at) {
    OutboxItem o = Queued(ReplyKind::kMessage, at, person_);
    o.purpose = purpose;
    o.notice = notice;
    ChangeSet changes;
    changes.outbox = {o};
    return Must(store_->Commit(short_account_.id, changes)).outbox.at(0);
  };
  queue(Purpose::kMarketing, false, 5000);
  EXPECT_FALSE(history().ever);
  EXPECT_EQ(history().since_notice, 1);
  const OutboxItem noticed = queue(Purpose::kMarketing, true, 6000);
  EXPECT_TRUE(GetShort(noticed.id).notice);
  queue(Purpose::kMarketing, false, 7000);
  queue(Purpose::kTransactional, false, 7500);  // not marketing: not counted
  NoticeHistory h = history();
  EXPECT_TRUE(h.ever);
  EXPECT_EQ(h.last_notice_ms, 6000);
  EXPECT_EQ(h.since_notice, 1);
  // The message that carried it is cancelled (the contact opted out): as if it never left.
  Decide(kNone, kOut, Source::kKeyword, std::nullopt, 8000);
  Claim(9000);
  EXPECT_EQ(GetShort(noticed.id).state, OutboxState::kCancelled);
  h = history();
  EXPECT_FALSE(h.ever);
  EXPECT_EQ(h.since_notice, 0);  // every marketing message was cancelled
}

TEST_P(OutboxRecheck, RepliesPastTheirKindsMaximumAgeExpire) {
  ReplyMaxAges ages;
  ages.reply_ms = 1000;
  ages.opt_out_confirmation_ms = 3000;
  ages.help_ms = 3000;
  const CommitResult opt_in =
      Decide(kNone, kIn, Source::kManual, ReplyKind::kOptInConfirmation, 5000);
  const Contact other = MakeContact(short_account_.id, "+14155550124");
  const CommitResult stop =
      Decide(kNone, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 5000, &other);
  const OutboxItem help = Help(5000);
  const OutboxItem late_help = Help(5000, &other);
  ASSERT_GT(late_help.id, help.id);

  // At 7 s: the opt-in confirmation is 2 s old, past its 1 s; the others are within 3 s.
  const ClaimedOutbox got = Claim(7000, 2, ages);
  EXPECT_EQ(Ids(got.items), (std::vector<int64_t>{stop.outbox[0].id, help.id}));
  ASSERT_EQ(Ids(got.retired), std::vector<int64_t>{opt_in.outbox[0].id});
  EXPECT_EQ(got.retired[0].state, OutboxState::kExpired);
  const OutboxItem expired = GetShort(opt_in.outbox[0].id);
  EXPECT_EQ(expired.state, OutboxState::kExpired);
  EXPECT_EQ(expired.last_error, "not sent within its maximum age of 1 s (queued 2 s ago)");
  // A millisecond past its maximum age a reply does not go; exactly at it, it still does.
  EXPECT_EQ(GetShort(late_help.id).state, OutboxState::kPending);
  const ClaimedOutbox later = Claim(8001, 10, ages);
  EXPECT_TRUE(later.items.empty());
  ASSERT_EQ(Ids(later.retired), std::vector<int64_t>{late_help.id});
  EXPECT_EQ(GetShort(late_help.id).last_error,
            "not sent within its maximum age of 3 s (queued 3 s ago)");
  const OutboxItem on_time = Help(10'000);
  EXPECT_EQ(Ids(Claim(13'000, 10, ages).items), std::vector<int64_t>{on_time.id});
  EXPECT_EQ(Ids(Must(store_->ListOutbox(short_account_.id, Outbox(0, 10, OutboxState::kExpired)))),
            (std::vector<int64_t>{opt_in.outbox[0].id, late_help.id}));

  OutboxClaim bad;
  bad.now_ms = 1;
  bad.owner = "d";
  bad.lease_ms = 1000;
  bad.max_ages.reply_ms = 0;
  EXPECT_CODE(store_->ClaimOutbox(bad), StatusCode::kInvalidArgument);
}

// A long backlog of stale replies is retired over several claims, none holding the write lock
// for all of it, and the reply due behind it is claimed once they are done.
TEST_P(OutboxRecheck, ALongBacklogOfStaleRepliesIsRetiredOverSeveralClaims) {
  constexpr int kStale = 150;
  ChangeSet opt_in;
  opt_in.events = {Draft(person_, short_code_, kNone, kIn, Source::kManual, 5000)};
  for (int i = 0; i < kStale; ++i) {
    opt_in.outbox.push_back(Queued(ReplyKind::kOptInConfirmation, 5000, person_));
  }
  Must(store_->Commit(short_account_.id, opt_in), "Commit");
  const CommitResult stop =
      Decide(kIn, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 6000);

  size_t retired = 0;
  int calls = 0;
  std::vector<OutboxItem> claimed;
  while (claimed.empty() && calls < kStale) {
    ClaimedOutbox got = Claim(7000, 1);
    ++calls;
    EXPECT_LT(got.retired.size(), static_cast<size_t>(kStale)) << "one claim retired them all";
    retired += got.retired.size();
    claimed = got.items;
    if (got.items.empty()) {
      ASSERT_FALSE(got.retired.empty()) << "a claim that did nothing";
    }
  }
  EXPECT_GT(calls, 1);
  EXPECT_EQ(retired, static_cast<size_t>(kStale));
  EXPECT_EQ(Ids(claimed), std::vector<int64_t>{stop.outbox[0].id});
}

// Claimers on several connections (as several processes would be) over a mix of stale and due
// replies: each item is claimed or retired exactly once, and no stale one is ever handed out.
TEST_P(OutboxRecheck, ConcurrentClaimersNeverHandOutAStaleReply) {
  std::set<int64_t> stale, due;
  for (int i = 0; i < 30; ++i) {
    const Contact c = MakeContact(short_account_.id, "+1415555" + std::to_string(1000 + i));
    const CommitResult r =
        Decide(kNone, kIn, Source::kManual, ReplyKind::kOptInConfirmation, 5000 + i, &c);
    if (i % 2 == 0) {
      const CommitResult s =
          Decide(kIn, kOut, Source::kKeyword, ReplyKind::kOptOutConfirmation, 6000 + i, &c);
      stale.insert(r.outbox[0].id);
      due.insert(s.outbox[0].id);
    } else {
      due.insert(r.outbox[0].id);
      due.insert(Help(6000 + i, &c).id);
    }
  }
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<ConsentStore>> own(kThreads);
  for (int t = 1; t < kThreads; ++t) own[t] = Must(location_->Open(), "another connection");
  std::vector<std::vector<int64_t>> claimed(kThreads), retired(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ConsentStore& store = own[t] ? *own[t] : *store_;
      OutboxClaim claim;
      claim.now_ms = 10'000;
      claim.limit = 3;
      claim.owner = "claimer-" + std::to_string(t);
      claim.lease_ms = 60'000;
      while (true) {
        auto got = store.ClaimOutbox(claim);
        if (!got.ok()) {
          errors[t] = got.status().ToString();
          return;
        }
        if (got->items.empty() && got->retired.empty()) return;
        for (const OutboxItem& o : got->items) claimed[t].push_back(o.id);
        for (const OutboxItem& o : got->retired) retired[t].push_back(o.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  own.clear();
  std::multiset<int64_t> all_claimed, all_retired;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "claimer " << t;
    all_claimed.insert(claimed[t].begin(), claimed[t].end());
    all_retired.insert(retired[t].begin(), retired[t].end());
  }
  EXPECT_EQ(all_claimed.size(), due.size());
  EXPECT_EQ(std::set<int64_t>(all_claimed.begin(), all_claimed.end()), due);
  EXPECT_EQ(all_retired.size(), stale.size());
  EXPECT_EQ(std::set<int64_t>(all_retired.begin(), all_retired.end()), stale);
}

// ---- contact properties and filters -----------------------------------------------------

TEST_P(StoreConformance, ContactPropertiesAreStoredFilteredAndValidated) {
  const Account a = MakeAccount("a");
  Contact c;
  c.account_id = a.id;
  c.phone = "+4520000001";
  c.properties = R"({"city":"Aarhus","vip":"yes"})";
  c.created_at_ms = 1000;
  const Contact aarhus = Must(store_->AddContact(c));
  c.phone = "+4520000002";
  c.properties = R"({"city":"Odense"})";
  c.created_at_ms = 2000;
  const Contact odense = Must(store_->AddContact(c));
  c.phone = "+4520000003";
  c.properties = "{}";
  c.created_at_ms = 3000;
  const Contact none = Must(store_->AddContact(c));
  EXPECT_EQ(Must(store_->GetContact(a.id, aarhus.id)).properties,
            R"({"city":"Aarhus","vip":"yes"})");

  auto ids = [&](ContactQuery q) {
    std::vector<int64_t> out;
    for (const Contact& x : Must(store_->ListContacts(a.id, q))) out.push_back(x.id);
    return out;
  };
  ContactQuery q = Contacts();
  q.properties = {{"city", "Aarhus"}};
  EXPECT_EQ(ids(q), (std::vector<int64_t>{aarhus.id}));
  q.properties = {{"city", "Aarhus"}, {"vip", "no"}};
  EXPECT_TRUE(ids(q).empty());
  q.properties = {{"vip", ""}};  // empty matches a missing property
  EXPECT_EQ(ids(q), (std::vector<int64_t>{odense.id, none.id}));
  q = Contacts();
  q.created_from_ms = 2000;
  EXPECT_EQ(ids(q), (std::vector<int64_t>{odense.id, none.id}));
  q.created_to_ms = 3000;  // exclusive
  EXPECT_EQ(ids(q), (std::vector<int64_t>{odense.id}));

  c.phone = "+4520000004";
  c.properties = R"(["not an object"])";
  EXPECT_CODE(store_->AddContact(c), StatusCode::kInvalidArgument);
  c.properties = R"({"n":1})";
  EXPECT_CODE(store_->AddContact(c), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, ChangeSetUpdatesAContact) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const Contact c = MakeContact(a.id, "+4520000001", "Ann");
  ChangeSet changes;
  Contact u = c;
  u.name = "Ann B";
  u.email = "ann@example.com";
  u.properties = R"({"city":"Aarhus"})";
  changes.update_contact = u;
  Must(store_->Commit(a.id, changes));
  const Contact got = Must(store_->GetContact(a.id, c.id));
  EXPECT_EQ(got.name, "Ann B");
  EXPECT_EQ(got.email, "ann@example.com");
  EXPECT_EQ(got.properties, R"({"city":"Aarhus"})");
  EXPECT_EQ(got.phone, c.phone);
  // Another account's contact is not found, and nothing changes.
  EXPECT_CODE(store_->Commit(b.id, changes), StatusCode::kNotFound);
}

// ---- jobs -------------------------------------------------------------------------------

Job NewJob(int64_t account_id, const std::string& key) {
  Job j;
  j.account_id = account_id;
  j.kind = "bulk_subscriptions";
  j.idempotency_key = key;
  j.request = R"({"status":"opted_in"})";
  j.total = 3;
  j.cursor = "0";
  j.created_at_ms = 100;
  return j;
}

ConsentStore::InputSource Chunks(std::vector<std::string> chunks) {
  auto state = std::make_shared<std::pair<std::vector<std::string>, size_t>>(std::move(chunks), 0);
  return [state]() -> Result<std::optional<std::string>> {
    if (state->second >= state->first.size()) return std::optional<std::string>();
    return std::optional<std::string>(state->first[state->second++]);
  };
}

TEST_P(StoreConformance, JobsAreIdempotentOnTheirKeyAndKeepTheirInput) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  std::string binary("phone\n+1\0x\n", 12);
  auto [job, created] = Must(store_->CreateJob(NewJob(a.id, "k1"), Chunks({"abc", binary})));
  EXPECT_TRUE(created);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.input_chunks, 2);
  EXPECT_EQ(Must(store_->ReadJobInput(job.id, 0)), "abc");
  EXPECT_EQ(Must(store_->ReadJobInput(job.id, 1)), binary);
  EXPECT_CODE(store_->ReadJobInput(job.id, 2), StatusCode::kNotFound);

  // The same key: the stored job, nothing new (the input source is not read).
  bool read = false;
  auto again =
      Must(store_->CreateJob(NewJob(a.id, "k1"), [&]() -> Result<std::optional<std::string>> {
        read = true;
        return std::optional<std::string>();
      }));
  EXPECT_FALSE(again.second);
  EXPECT_EQ(again.first.id, job.id);
  EXPECT_FALSE(read);
  // Keys are per account.
  EXPECT_TRUE(Must(store_->CreateJob(NewJob(b.id, "k1"), nullptr)).second);
  EXPECT_CODE(store_->GetJob(b.id, job.id), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetJob(a.id, job.id)).request, R"({"status":"opted_in"})");
  EXPECT_CODE(store_->CreateJob(NewJob(a.id, ""), nullptr), StatusCode::kInvalidArgument);
  // A failing input source stores nothing.
  auto failing = []() -> Result<std::optional<std::string>> { return Internal("disk"); };
  EXPECT_CODE(store_->CreateJob(NewJob(a.id, "k2"), failing), StatusCode::kInternal);
  EXPECT_TRUE(Must(store_->CreateJob(NewJob(a.id, "k2"), nullptr)).second);
}

TEST_P(StoreConformance, JobClaimsHonourLeases) {
  const Account a = MakeAccount("a");
  const Job first = Must(store_->CreateJob(NewJob(a.id, "k1"), nullptr)).first;
  const Job second = Must(store_->CreateJob(NewJob(a.id, "k2"), nullptr)).first;
  auto claimed = Must(store_->ClaimJob(0, "w1", 1000, 500));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, first.id);  // oldest first
  EXPECT_EQ(claimed->state, JobState::kRunning);
  EXPECT_EQ(claimed->lease_until_ms, 1500);
  auto next = Must(store_->ClaimJob(0, "w2", 1100, 500));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->id, second.id);
  EXPECT_FALSE(Must(store_->ClaimJob(0, "w3", 1200, 500)).has_value());  // both held
  EXPECT_FALSE(Must(store_->ClaimJob(first.id, "w3", 1499, 500)).has_value());
  // Its owner may claim it again at once; anyone else once the lease expired.
  EXPECT_TRUE(Must(store_->ClaimJob(first.id, "w1", 1200, 500)).has_value());
  auto taken = Must(store_->ClaimJob(first.id, "w3", 1701, 500));
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->lease_owner, "w3");
  EXPECT_CODE(store_->ClaimJob(0, "", 1, 1), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, JobChunksCommitWithTheirProgressAllOrNothing) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact known = MakeContact(a.id, "+4520000001");
  const Job job = Must(store_->CreateJob(NewJob(a.id, "k"), nullptr)).first;
  ASSERT_TRUE(Must(store_->ClaimJob(job.id, "w1", 1000, 500)).has_value());

  std::vector<ChangeSet> changes(2);
  changes[0].events.push_back(Draft(known, n, kNone, kIn, Source::kBulk));
  Contact fresh;
  fresh.phone = "+4520000002";
  fresh.created_at_ms = 1000;
  changes[1].new_contact = fresh;
  EventDraft d = Draft(fresh, n, kNone, kIn, Source::kBulk);
  d.contact_id = 0;
  changes[1].events.push_back(d);
  JobProgress p;
  p.job_id = job.id;
  p.lease_owner = "w1";
  p.done = 2;
  p.total = 3;
  p.cursor = "2";
  p.result = R"({"change":2})";
  p.rejects = {JobReject{7, "nope", "invalid_phone", "not a number"}};
  p.at_ms = 1100;
  p.lease_until_ms = 1600;
  auto results = Must(store_->CommitJobChunk(a.id, changes, p));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NE(results[1].contact_id, 0);
  Job after = Must(store_->GetJob(a.id, job.id));
  EXPECT_EQ(after.done, 2);
  EXPECT_EQ(after.cursor, "2");
  EXPECT_EQ(after.result, R"({"change":2})");
  EXPECT_EQ(after.state, JobState::kRunning);
  EXPECT_EQ(after.lease_until_ms, 1600);
  auto rejects = Must(store_->ListJobRejects(a.id, job.id, 0, 10));
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].row, 7);
  EXPECT_EQ(rejects[0].reason, "invalid_phone");
  EXPECT_CODE(store_->ListJobRejects(MakeAccount("b").id, job.id, 0, 10), StatusCode::kNotFound);

  // A stale `from` in one change set: nothing of the chunk, and no progress, is written.
  std::vector<ChangeSet> stale(2);
  const Contact other = MakeContact(a.id, "+4520000003");
  stale[0].events.push_back(Draft(other, n, kNone, kOut, Source::kBulk));
  stale[1].events.push_back(Draft(known, n, kNone, kOut, Source::kBulk));  // it is opted_in
  JobProgress p2 = p;
  p2.done = 3;
  p2.cursor = "3";
  p2.rejects.clear();
  p2.finish = JobState::kDone;
  EXPECT_CODE(store_->CommitJobChunk(a.id, stale, p2), StatusCode::kAborted);
  EXPECT_EQ(Must(store_->GetJob(a.id, job.id)).done, 2);
  EXPECT_EQ(AllEvents(a.id).size(), 2u);

  // Another runner took the job over: the old owner's chunk is refused.
  ASSERT_TRUE(Must(store_->ClaimJob(job.id, "w2", 5000, 500)).has_value());
  EXPECT_CODE(store_->CommitJobChunk(a.id, {}, p2), StatusCode::kAborted);
  p2.lease_owner = "w2";
  p2.at_ms = 5100;
  Must(store_->CommitJobChunk(a.id, {}, p2));
  after = Must(store_->GetJob(a.id, job.id));
  EXPECT_EQ(after.state, JobState::kDone);
  EXPECT_EQ(after.finished_at_ms, 5100);
  EXPECT_EQ(after.lease_owner, "");
  // A finished job is never claimed again.
  EXPECT_FALSE(Must(store_->ClaimJob(job.id, "w2", 9000, 500)).has_value());
}

TEST_P(StoreConformance, AFinishedJobsInputIsDeletedWithItsLastChunk) {
  const Account a = MakeAccount("a");
  const Job done = Must(store_->CreateJob(NewJob(a.id, "k1"), Chunks({"phone\n+1", "a"}))).first;
  const Job failed = Must(store_->CreateJob(NewJob(a.id, "k2"), Chunks({"phone\n+2"}))).first;
  const Job queued = Must(store_->CreateJob(NewJob(a.id, "k3"), Chunks({"phone\n+3"}))).first;
  auto finish = [&](const Job& job, JobState state, bool last) {
    ASSERT_TRUE(Must(store_->ClaimJob(job.id, "w", 1000, 500)).has_value());
    JobProgress p;
    p.job_id = job.id;
    p.lease_owner = "w";
    p.done = p.total = 1;
    p.cursor = "1";
    p.at_ms = 1100;
    p.lease_until_ms = 1600;
    if (last) p.finish = state;
    Must(store_->CommitJobChunk(a.id, {}, p));
  };
  // A chunk that does not finish the job leaves the input for a runner that resumes it.
  finish(done, JobState::kDone, false);
  EXPECT_EQ(Must(store_->ReadJobInput(done.id, 1)), "a");
  finish(done, JobState::kDone, true);
  finish(failed, JobState::kFailed, true);
  for (const Job& j : {done, failed}) {
    EXPECT_CODE(store_->ReadJobInput(j.id, 0), StatusCode::kNotFound);
    EXPECT_EQ(Must(store_->GetJob(a.id, j.id)).input_chunks, j.input_chunks);  // how much it had
  }
  EXPECT_EQ(Must(store_->ReadJobInput(queued.id, 0)), "phone\n+3");
}

TEST_P(StoreConformance, FindContactStateReadsOneNumbersState) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const SenderNumber n1 = MakeNumber(a.id, "+15551234567");
  const SenderNumber n2 = MakeNumber(a.id, "+15557654321");
  const Contact c = MakeContact(a.id, "+4520000001");
  MakeContact(b.id, "+4520000002");
  ChangeSet changes;
  changes.events.push_back(Draft(c, n1, kNone, kOut, Source::kKeyword, 7000));
  Must(store_->Commit(a.id, changes));
  auto on1 = Must(store_->FindContactState(a.id, c.phone, n1.id));
  ASSERT_TRUE(on1.has_value());
  EXPECT_EQ(on1->contact_id, c.id);
  EXPECT_EQ(on1->state.status, kOut);
  EXPECT_TRUE(on1->state.self_opted_out);
  EXPECT_EQ(on1->state.source, Source::kKeyword);
  EXPECT_EQ(on1->state.updated_at_ms, 7000);
  auto on2 = Must(store_->FindContactState(a.id, c.phone, n2.id));
  ASSERT_TRUE(on2.has_value());
  EXPECT_EQ(on2->state.status, kNone);
  EXPECT_EQ(on2->state.updated_at_ms, 0);
  EXPECT_FALSE(Must(store_->FindContactState(a.id, "+4520000404", n1.id)).has_value());
  EXPECT_FALSE(Must(store_->FindContactState(a.id, "+4520000002", n1.id)).has_value());
}

TEST_P(StoreConformance, LookupContactsByPhoneOrIdWithStatuses) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact c1 = MakeContact(a.id, "+4520000001");
  const Contact c2 = MakeContact(a.id, "+4520000002");
  const Contact theirs = MakeContact(b.id, "+4520000009");
  ChangeSet changes;
  changes.events.push_back(Draft(c1, n, kNone, kIn));
  Must(store_->Commit(a.id, changes));
  auto found = Must(store_->LookupContacts(a.id, {"+4520000001", "+4520000404", "+4520000009"},
                                           {c2.id, c1.id, theirs.id}));
  ASSERT_EQ(found.size(), 2u);  // c1 once, c2; none of account b
  EXPECT_EQ(found[0].contact.id, c1.id);
  ASSERT_EQ(found[0].statuses.size(), 1u);
  EXPECT_EQ(found[0].statuses[0].state.status, kIn);
  EXPECT_EQ(found[1].contact.id, c2.id);
  EXPECT_TRUE(found[1].statuses.empty());
}

// ---- Review items (possible opt-outs) ----------------------------------------------------

ReviewItem FlaggedReview(int64_t number_id, int64_t contact_id = 0) {
  ReviewItem r;
  r.contact_id = contact_id;
  r.number_id = number_id;
  r.rule = "en.possible.question";
  r.explanation = "asks how to stop: a question, not a request";
  r.created_at_ms = 4000;
  return r;
}

ReviewResolution ReviewResolutionBy(int64_t id, ReviewState state, const std::string& by,
                                    const std::string& note = "") {
  ReviewResolution r;
  r.id = id;
  r.state = state;
  r.reviewed_by = by;
  r.reviewed_at_ms = 9000;
  r.note = note;
  return r;
}

TEST_P(StoreConformance, ReviewItemIsWrittenWithItsMessageAndReadWithIt) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  // The first message of an unknown phone: the contact, the message and the item in one commit.
  ChangeSet changes;
  changes.new_contact = Contact();
  changes.new_contact->phone = "+4520000001";
  changes.new_contact->created_at_ms = 4000;
  Contact unknown;
  unknown.phone = "+4520000001";
  changes.inbound = Inbound(unknown, n, "SM-q", "How do I stop these texts?");
  changes.review = FlaggedReview(n.id);
  const CommitResult committed = Must(store_->Commit(a.id, changes));

  auto open = Must(store_->ListReviews(a.id, ReviewQuery()));
  ASSERT_EQ(open.size(), 1u);
  const ReviewItem& r = open[0];
  EXPECT_GT(r.id, 0);
  EXPECT_EQ(r.account_id, a.id);
  EXPECT_EQ(r.inbound_id, committed.inbound_id);
  EXPECT_EQ(r.contact_id, committed.contact_id);
  EXPECT_EQ(r.number_id, n.id);
  EXPECT_EQ(r.rule, "en.possible.question");
  EXPECT_EQ(r.explanation, "asks how to stop: a question, not a request");
  EXPECT_EQ(r.state, ReviewState::kOpen);
  EXPECT_EQ(r.created_at_ms, 4000);
  EXPECT_EQ(r.reviewed_by, "");
  EXPECT_EQ(r.reviewed_at_ms, 0);
  EXPECT_EQ(r.body, "How do I stop these texts?");
  EXPECT_EQ(r.from, "+4520000001");
  EXPECT_EQ(r.to, n.number);
  EXPECT_EQ(r.received_at_ms, 4000);
  EXPECT_EQ(Must(store_->GetReview(a.id, r.id)).inbound_id, committed.inbound_id);
  EXPECT_EQ(Must(store_->CountOpenReviews()), 1);

  // A provider's retry of the message writes no second item.
  EXPECT_CODE(store_->Commit(a.id, changes), StatusCode::kAlreadyExists);
  EXPECT_EQ(Must(store_->ListReviews(a.id, ReviewQuery())).size(), 1u);

  // Another account sees none of it.
  const Account b = MakeAccount("b");
  EXPECT_TRUE(Must(store_->ListReviews(b.id, ReviewQuery())).empty());
  EXPECT_CODE(store_->GetReview(b.id, r.id), StatusCode::kNotFound);
  EXPECT_CODE(
      store_->ResolveReview(b.id, ReviewResolutionBy(r.id, ReviewState::kDismissed, "user:eve")),
      StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetReview(a.id, r.id)).state, ReviewState::kOpen);
}

TEST_P(StoreConformance, ReviewItemIsResolvedExactlyOnce) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact c = MakeContact(a.id, "+4520000001");
  ChangeSet changes;
  changes.inbound = Inbound(c, n, "SM-1", "Stop sending me promos but keep the reminders");
  changes.review = FlaggedReview(n.id, c.id);
  Must(store_->Commit(a.id, changes));
  const int64_t id = Must(store_->ListReviews(a.id, ReviewQuery())).at(0).id;

  // Bad resolutions change nothing.
  EXPECT_CODE(store_->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kOpen, "user:ann")),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kDismissed, "")),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(
      store_->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kDismissed, "user:ann",
                                                     std::string(kMaxReviewNoteBytes + 1, 'x'))),
      StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->ResolveReview(
                  a.id, ReviewResolutionBy(id + 100, ReviewState::kDismissed, "user:ann")),
              StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->GetReview(a.id, id)).state, ReviewState::kOpen);

  const ReviewItem done = Must(store_->ResolveReview(
      a.id, ReviewResolutionBy(id, ReviewState::kConfirmed, "user:ann", "clear")));
  EXPECT_EQ(done.state, ReviewState::kConfirmed);
  EXPECT_EQ(done.reviewed_by, "user:ann");
  EXPECT_EQ(done.reviewed_at_ms, 9000);
  EXPECT_EQ(done.note, "clear");
  EXPECT_EQ(done.body, "Stop sending me promos but keep the reminders");

  // A second resolution, either way, is refused and changes nothing.
  auto again =
      store_->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kDismissed, "user:bob"));
  EXPECT_CODE(again, StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("confirmed already by user:ann"), std::string::npos)
      << again.status().ToString();
  const ReviewItem stored = Must(store_->GetReview(a.id, id));
  EXPECT_EQ(stored.state, ReviewState::kConfirmed);
  EXPECT_EQ(stored.reviewed_by, "user:ann");
  EXPECT_EQ(Must(store_->CountOpenReviews()), 0);
}

TEST_P(StoreConformance, ReviewListFiltersByStateAndPagesOldestFirst) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact c = MakeContact(a.id, "+4520000001");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ChangeSet changes;
    changes.inbound = Inbound(c, n, "SM-" + std::to_string(i), "how do I stop?");
    changes.review = FlaggedReview(n.id, c.id);
    Must(store_->Commit(a.id, changes));
  }
  for (const ReviewItem& r : Must(store_->ListReviews(a.id, ReviewQuery()))) ids.push_back(r.id);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  Must(
      store_->ResolveReview(a.id, ReviewResolutionBy(ids[1], ReviewState::kDismissed, "user:ann")));

  ReviewQuery open;
  open.state = ReviewState::kOpen;
  open.limit = 2;
  auto first = Must(store_->ListReviews(a.id, open));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ids[0]);
  EXPECT_EQ(first[1].id, ids[2]);
  open.after_id = first.back().id;
  auto second = Must(store_->ListReviews(a.id, open));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].id, ids[3]);
  EXPECT_EQ(second[1].id, ids[4]);

  ReviewQuery dismissed;
  dismissed.state = ReviewState::kDismissed;
  auto d = Must(store_->ListReviews(a.id, dismissed));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, ids[1]);
  EXPECT_EQ(Must(store_->ListReviews(a.id, ReviewQuery())).size(), 5u);  // no filter: all
  ReviewQuery bad;
  bad.limit = 0;
  EXPECT_CODE(store_->ListReviews(a.id, bad), StatusCode::kInvalidArgument);
  EXPECT_EQ(Must(store_->CountOpenReviews()), 4);
}

TEST_P(StoreConformance, ReviewItemOfAnotherAccountsMessageIsRefused) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const SenderNumber nb = MakeNumber(b.id, "+15557654321");
  const Contact c = MakeContact(a.id, "+4520000001");
  const Contact cb = MakeContact(b.id, "+4520000001");
  ChangeSet theirs;
  theirs.inbound = Inbound(cb, nb, "SM-b");
  const CommitResult b_msg = Must(store_->Commit(b.id, theirs));
  ChangeSet changes;
  ReviewItem r = FlaggedReview(n.id, c.id);
  r.inbound_id = b_msg.inbound_id;  // not account a's message
  changes.review = r;
  EXPECT_CODE(store_->Commit(a.id, changes), StatusCode::kNotFound);
  EXPECT_TRUE(Must(store_->ListReviews(a.id, ReviewQuery())).empty());
}

TEST_P(StoreConformance, TwoEditorsResolvingOneReviewItemAtOnceOneWins) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact c = MakeContact(a.id, "+4520000001");
  ChangeSet changes;
  changes.inbound = Inbound(c, n, "SM-1", "how do I stop?");
  changes.review = FlaggedReview(n.id, c.id);
  Must(store_->Commit(a.id, changes));
  const int64_t id = Must(store_->ListReviews(a.id, ReviewQuery())).at(0).id;

  // Two store objects on one database: two server instances.
  auto other = Must(location_->Open(), "opening a second store");
  std::atomic<int> ready{0};
  Result<ReviewItem> ann = Internal("not run"), bob = Internal("not run");
  std::thread t1([&] {
    ++ready;
    while (ready < 2) std::this_thread::yield();
    ann = store_->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kConfirmed, "user:ann"));
  });
  std::thread t2([&] {
    ++ready;
    while (ready < 2) std::this_thread::yield();
    bob = other->ResolveReview(a.id, ReviewResolutionBy(id, ReviewState::kDismissed, "user:bob"));
  });
  t1.join();
  t2.join();
  ASSERT_NE(ann.ok(), bob.ok()) << ann.status().ToString() << " / " << bob.status().ToString();
  const Result<ReviewItem>& lost = ann.ok() ? bob : ann;
  EXPECT_CODE(lost, StatusCode::kFailedPrecondition);
  const ReviewItem stored = Must(store_->GetReview(a.id, id));
  EXPECT_EQ(stored.reviewed_by, ann.ok() ? "user:ann" : "user:bob");
  EXPECT_EQ(stored.state, ann.ok() ? ReviewState::kConfirmed : ReviewState::kDismissed);
}

// ---- The Merkle ledger (docs/ledger.md) ----------------------------------------------------

TEST_P(StoreConformance, IntegrationNumbersEveryEventAndTheTreeIsTheirs) {
  LedgerFixture f = WriteLedger(300, 40);
  const int64_t a = f.account.id;
  EXPECT_EQ(Must(store_->AccountsToIntegrate(100)), std::vector<int64_t>{a});
  // At most the events asked for, in one call.
  LedgerTree part = Must(store_->IntegrateLedger(a, 100, 7000));
  EXPECT_EQ(part.size, 100);
  EXPECT_EQ(part.integrated, 100);
  EXPECT_FALSE(part.busy);
  EXPECT_EQ(part.updated_at_ms, 7000);
  LedgerTree tree = Must(store_->IntegrateLedger(a, 1000, 8000));
  EXPECT_EQ(tree.size, 300);
  EXPECT_EQ(tree.integrated, 200);
  EXPECT_EQ(Must(store_->AccountsToIntegrate(100)), std::vector<int64_t>{});
  // Nothing left: the tree stays as it is.
  LedgerTree again = Must(store_->IntegrateLedger(a, 1000, 9000));
  EXPECT_EQ(again.size, 300);
  EXPECT_EQ(again.integrated, 0);
  EXPECT_EQ(again.root, tree.root);
  EXPECT_EQ(again.updated_at_ms, 8000);
  EXPECT_EQ(Must(store_->GetLedgerTree(a)).root, tree.root);

  std::vector<ConsentEvent> events = AllEvents(a);
  ASSERT_EQ(events.size(), 300u);
  std::vector<merkle::Hash> leaves;
  std::map<StatusKey, int64_t> nth;
  for (size_t i = 0; i < events.size(); ++i) {
    const ConsentEvent& e = events[i];
    EXPECT_EQ(e.seq, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(e.format, 2);
    EXPECT_TRUE(e.prev_hash.empty());
    EXPECT_TRUE(e.hash.empty());
    // Each pair's events are numbered 1, 2, 3, ... in ledger order.
    EXPECT_EQ(e.nth, ++nth[StatusKey(e.contact_id, e.number_id)]) << "event seq " << e.seq;
    leaves.push_back(EventLeafHash(e));
  }
  EXPECT_EQ(tree.root, merkle::RootOf(leaves));
}

TEST_P(StoreConformance, SubtreeHashesAndProofsFromTheStoreMatchTheLeaves) {
  LedgerFixture f = WriteLedger(300, 40);
  const int64_t a = f.account.id;
  LedgerTree tree = Must(store_->IntegrateLedger(a, 1000, 8000));
  std::vector<merkle::Hash> leaves;
  for (const ConsentEvent& e : AllEvents(a)) leaves.push_back(EventLeafHash(e));
  ASSERT_EQ(leaves.size(), 300u);
  // Levels below, at and above the stored ones (every 4th).
  for (int level = 0; level <= 8; ++level) {
    const int64_t width = int64_t{1} << level;
    for (int64_t index = 0; (index + 1) * width <= 300; index += level < 3 ? 37 : 1) {
      std::vector<merkle::Hash> part(leaves.begin() + index * width,
                                     leaves.begin() + (index + 1) * width);
      EXPECT_EQ(Must(store_->SubtreeHash(a, 300, level, index)), merkle::RootOf(part))
          << "level " << level << " index " << index;
    }
  }
  EXPECT_CODE(store_->SubtreeHash(a, 300, 9, 0), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->SubtreeHash(a, 300, 2, 75), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->SubtreeHash(a, 301, 0, 0), StatusCode::kInvalidArgument);

  auto source = [&](int64_t size) {
    return [this, a, size](int level, int64_t index) {
      return store_->SubtreeHash(a, size, level, index);
    };
  };
  for (int64_t index : {0, 1, 15, 16, 17, 255, 256, 298, 299}) {
    auto proof = Must(merkle::InclusionProof(index, 300, source(300)));
    EXPECT_TRUE(merkle::VerifyInclusion(leaves[index], index, 300, proof, tree.root)) << index;
  }
  for (int64_t old_size : {1, 37, 255, 256, 257, 299, 300}) {
    std::vector<merkle::Hash> prefix(leaves.begin(), leaves.begin() + old_size);
    auto proof = Must(merkle::ConsistencyProof(old_size, 300, source(300)));
    EXPECT_TRUE(merkle::VerifyConsistency(old_size, 300, merkle::RootOf(prefix), tree.root, proof))
        << old_size;
  }
}

TEST_P(StoreConformance, TreeHeadsAreKeptOncePerSize) {
  LedgerFixture f = WriteLedger(20, 5);
  const int64_t a = f.account.id;
  LedgerTree tree = Must(store_->IntegrateLedger(a, 1000, 8000));
  SigningKey key = Must(SigningKey::Generate());
  EXPECT_FALSE(Must(store_->LatestTreeHead(a)).has_value());
  TreeHead head{a, 20, tree.root, 9000};
  SignedTreeHead first = key.Sign(head);
  ASSERT_TRUE((store_->PutTreeHead(first)).ok());
  head.at_ms = 9500;
  ASSERT_TRUE((store_->PutTreeHead(key.Sign(head))).ok());  // the same size again: the first stays
  TreeHead empty{a, 0, merkle::EmptyRoot(), 8500};
  ASSERT_TRUE((store_->PutTreeHead(key.Sign(empty))).ok());
  head.size = 21;
  EXPECT_CODE(store_->PutTreeHead(key.Sign(head)), StatusCode::kInvalidArgument);

  auto heads = Must(store_->ListTreeHeads(a, -1, 10));
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].head.size, 0);
  EXPECT_EQ(heads[1].head.size, 20);
  EXPECT_EQ(heads[1].head.at_ms, 9000);
  EXPECT_EQ(heads[1].signature, first.signature);
  EXPECT_TRUE(VerifyTreeHead(heads[1], key.PublicKeyRaw()));
  EXPECT_EQ(Must(store_->ListTreeHeads(a, 0, 10)).size(), 1u);
  auto latest = Must(store_->LatestTreeHead(a));
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->head.size, 20);
  EXPECT_EQ(latest->key_id, key.KeyId());

  ASSERT_TRUE((store_->PutLedgerKey(key.KeyId(), key.PublicKeyRaw(), 1)).ok());
  ASSERT_TRUE((store_->PutLedgerKey(key.KeyId(), key.PublicKeyRaw(), 2)).ok());
  auto keys = Must(store_->ListLedgerKeys());
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].first, key.KeyId());
  EXPECT_EQ(keys[0].second, key.PublicKeyRaw());
}

// ---- Batch documents (a bulk change's shared evidence) ---------------------------------------

TEST_P(StoreConformance, ABatchDocumentIsKeptOnceUnderItsHashPerAccount) {
  const Account a = MakeAccount("a");
  const Account b = MakeAccount("b");
  const std::string doc = R"({"type":"bulk","explanation":"Signed up ✓","job":7})";
  const std::string other = R"({"type":"bulk","explanation":"At the fair"})";
  const std::string hash = Sha256Hex(doc);
  ASSERT_TRUE(store_->PutEvidenceBatch(a.id, hash, doc, 1000).ok());
  // The same document again (a resumed job) changes nothing.
  ASSERT_TRUE(store_->PutEvidenceBatch(a.id, hash, doc, 2000).ok());
  Reopen();  // durable
  EXPECT_EQ(Must(store_->CountRows(TableNamed("evidence_batches"))), 1);
  // Looked up by hash: found ones only, each once, the text byte for byte.
  EvidenceBatches found = Must(store_->GetEvidenceBatches(a.id, {hash, Sha256Hex(other), hash}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[hash], doc);
  EXPECT_TRUE(Must(store_->GetEvidenceBatches(a.id, {})).empty());
  // Another account's documents are its own.
  EXPECT_TRUE(Must(store_->GetEvidenceBatches(b.id, {hash})).empty());
  ASSERT_TRUE(store_->PutEvidenceBatch(b.id, hash, doc, 3000).ok());
  ASSERT_TRUE(store_->PutEvidenceBatch(b.id, Sha256Hex(other), other, 3000).ok());
  found = Must(store_->GetEvidenceBatches(b.id, {hash, Sha256Hex(other)}));
  EXPECT_EQ(found.size(), 2u);
  EXPECT_EQ(found[Sha256Hex(other)], other);
  EXPECT_EQ(Must(store_->CountRows(TableNamed("evidence_batches"))), 3);
}

TEST_P(StoreConformance, ABatchDocumentMustHashToItsNameAndFit) {
  const Account a = MakeAccount("a");
  const std::string doc = R"({"type":"bulk"})";
  // Another document's hash, an upper-case hash, no hash, an empty or oversized document.
  EXPECT_CODE(store_->PutEvidenceBatch(a.id, Sha256Hex("{}"), doc, 1000),
              StatusCode::kInvalidArgument);
  std::string upper = Sha256Hex(doc);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_CODE(store_->PutEvidenceBatch(a.id, upper, doc, 1000), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->PutEvidenceBatch(a.id, "", doc, 1000), StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->PutEvidenceBatch(a.id, Sha256Hex(""), "", 1000),
              StatusCode::kInvalidArgument);
  const std::string big = "\"" + std::string(kMaxEvidenceBatchBytes, 'x') + "\"";
  EXPECT_CODE(store_->PutEvidenceBatch(a.id, Sha256Hex(big), big, 1000),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->PutEvidenceBatch(987654, Sha256Hex(doc), doc, 1000), StatusCode::kNotFound);
  EXPECT_EQ(Must(store_->CountRows(TableNamed("evidence_batches"))), 0);
  // The largest document kept.
  const std::string largest = "\"" + std::string(kMaxEvidenceBatchBytes - 2, 'x') + "\"";
  EXPECT_TRUE(store_->PutEvidenceBatch(a.id, Sha256Hex(largest), largest, 1000).ok());
  // A lookup is bounded.
  EXPECT_CODE(store_->GetEvidenceBatches(
                  a.id, std::vector<std::string>(kMaxEvidenceBatchLookup + 1, Sha256Hex(doc))),
              StatusCode::kInvalidArgument);
}

// An event names its batch's document by hash, inside its leaf; the store keeps both as given.
TEST_P(StoreConformance, AnEventNamingABatchDocumentKeepsItsHashInItsLeaf) {
  const Account a = MakeAccount("a");
  const SenderNumber n = MakeNumber(a.id, "+15551234567");
  const Contact c = MakeContact(a.id, "+14155550001");
  const std::string doc = R"({"type":"bulk","explanation":"Signed up"})";
  ASSERT_TRUE(store_->PutEvidenceBatch(a.id, Sha256Hex(doc), doc, 1000).ok());
  ChangeSet cs;
  EventDraft d =
      Draft(c, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn, Source::kBulk);
  d.evidence = R"({"row":2})";
  d.batch_hash = Sha256Hex(doc);
  cs.events.push_back(d);
  ASSERT_TRUE(store_->Commit(a.id, cs).ok());
  Must(store_->IntegrateLedger(a.id, 100, 1));
  auto events = Must(store_->ListEvents(a.id, {}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].batch_hash, Sha256Hex(doc));
  EXPECT_EQ(events[0].evidence, R"({"row":2})");
  EXPECT_NE(LeafData(events[0]).find("\nbatch:64:" + Sha256Hex(doc) + "\n"), std::string::npos)
      << LeafData(events[0]);
  EXPECT_EQ(Must(store_->GetEvidenceBatches(a.id, {events[0].batch_hash}))[Sha256Hex(doc)], doc);
}

TEST_P(StoreConformance, LedgerCallsOnAnUnknownAccountAreNotFound) {
  EXPECT_CODE(store_->IntegrateLedger(987, 10, 1), StatusCode::kNotFound);
  EXPECT_CODE(store_->GetLedgerTree(987), StatusCode::kNotFound);
  LedgerTree empty = Must(store_->GetLedgerTree(MakeAccount("a").id));
  EXPECT_EQ(empty.size, 0);
  EXPECT_EQ(empty.root, merkle::EmptyRoot());
}

// ---- Sending rate -----------------------------------------------------------------------------
// ClaimOutbox spaces each number's items by its rate, with the number's next send time in the
// store (core/send_rate.h), passes over the items of a number that must wait, and takes the
// service's own replies before messages.

class OutboxRate : public OutboxDispatch {
 protected:
  SenderNumber RatedNumber(const std::string& e164, int64_t rate_mmps) {
    SenderNumber n = MakeNumber(account_.id, e164);
    n.rate_mmps = rate_mmps;
    return Must(store_->UpdateNumber(n), "UpdateNumber");
  }
  // A transactional message (not held by quiet hours) from `n`, due at `due_ms`.
  OutboxItem Message(const SenderNumber& n, int64_t due_ms, const std::string& body) {
    ChangeSet changes;
    OutboxItem o = Reply(contact_, n, ReplyKind::kMessage);
    o.purpose = Purpose::kTransactional;
    o.body = body;
    o.created_at_ms = due_ms;
    o.next_attempt_at_ms = due_ms;
    changes.outbox = {o};
    return Must(store_->Commit(account_.id, changes), "Commit").outbox.at(0);
  }
  ClaimedOutbox ClaimAt(int64_t now_ms, ConsentStore* store = nullptr, int limit = 10) {
    OutboxClaim claim;
    claim.now_ms = now_ms;
    claim.limit = limit;
    claim.owner = "d";
    claim.lease_ms = 60'000;
    return Must((store ? *store : *store_).ClaimOutbox(claim), "ClaimOutbox");
  }
};

TEST_P(OutboxRate, ANumberAtItsRateIsPassedOverWhileOtherNumbersItemsAreClaimed) {
  const SenderNumber slow = RatedNumber("+4520000001", 1'000);  // 1 per second
  const SenderNumber fast = RatedNumber("+4520000002", kMaxRateMmps);
  const OutboxItem s1 = QueueIn(account_.id, slow, contact_, 10'000, "s1");
  const OutboxItem s2 = QueueIn(account_.id, slow, contact_, 10'000, "s2");
  const OutboxItem f1 = QueueIn(account_.id, fast, contact_, 10'000, "f1");
  const OutboxItem s3 = QueueIn(account_.id, slow, contact_, 10'000, "s3");
  const OutboxItem f2 = QueueIn(account_.id, fast, contact_, 10'000, "f2");

  // One of each number per slot; the slow number's other items do not hold up the fast one's.
  ClaimedOutbox first = ClaimAt(10'000);
  EXPECT_EQ(Ids(first.items), (std::vector<int64_t>{s1.id, f1.id}));
  EXPECT_EQ(Get(s2.id).state, OutboxState::kPending);
  EXPECT_EQ(Get(s3.id).state, OutboxState::kPending);
  EXPECT_EQ(first.next_rate_slot_ms, 10'001);  // the fast number's next slot
  EXPECT_EQ(Ids(ClaimAt(10'001).items), std::vector<int64_t>{f2.id});
  ClaimedOutbox waiting = ClaimAt(10'999);
  EXPECT_TRUE(waiting.items.empty());
  EXPECT_EQ(waiting.next_rate_slot_ms, 11'000);  // the slow number's
  EXPECT_EQ(Ids(ClaimAt(11'000).items), std::vector<int64_t>{s2.id});
  EXPECT_TRUE(ClaimAt(11'500).items.empty());
  // Looked at late, the number does not catch up with a burst: one item, then a second later.
  EXPECT_EQ(Ids(ClaimAt(12'400).items), std::vector<int64_t>{s3.id});
  EXPECT_EQ(ClaimAt(12'400).next_rate_slot_ms, 13'400);
}

TEST_P(OutboxRate, EachKindHasItsDefaultRateUntilOneIsSet) {
  SenderNumber toll_free = MakeNumber(account_.id, "+18005550100", NumberKind::kTollFree);
  toll_free.rate_mmps = 0;
  toll_free = Must(store_->UpdateNumber(toll_free), "UpdateNumber");
  EXPECT_EQ(Must(store_->GetNumber(account_.id, toll_free.id), "GetNumber").rate_mmps, 0);
  std::vector<OutboxItem> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(QueueIn(account_.id, toll_free, contact_, 1'000, "t" + std::to_string(i)));
  }
  // 3 per second: one every 333.334 ms, the slot rounded up to the next millisecond.
  EXPECT_EQ(Ids(ClaimAt(1'000).items), std::vector<int64_t>{queued[0].id});
  EXPECT_TRUE(ClaimAt(1'333).items.empty());
  EXPECT_EQ(Ids(ClaimAt(1'334).items), std::vector<int64_t>{queued[1].id});
  EXPECT_TRUE(ClaimAt(1'667).items.empty());
  EXPECT_EQ(Ids(ClaimAt(1'668).items), std::vector<int64_t>{queued[2].id});
}

TEST_P(OutboxRate, TheServicesRepliesAreClaimedBeforeMessagesQueuedEarlier) {
  const SenderNumber n = RatedNumber("+4520000003", 1'000);
  const OutboxItem m1 = Message(n, 1'000, "m1");
  const OutboxItem m2 = Message(n, 1'000, "m2");
  const OutboxItem help = QueueIn(account_.id, n, contact_, 1'000, "help");
  EXPECT_EQ(Ids(ClaimAt(1'000).items), std::vector<int64_t>{help.id});
  EXPECT_EQ(Ids(ClaimAt(2'000).items), std::vector<int64_t>{m1.id});
  EXPECT_EQ(Ids(ClaimAt(3'000).items), std::vector<int64_t>{m2.id});
}

TEST_P(OutboxRate, ClaimersOnSeparateConnectionsShareOneRatePerNumber) {
  const SenderNumber n = RatedNumber("+4520000004", 2'000);  // 2 per second
  for (int i = 0; i < 6; ++i) QueueIn(account_.id, n, contact_, 1'000, "r" + std::to_string(i));
  std::unique_ptr<ConsentStore> other = Must(location_->Open(), "second connection");
  EXPECT_EQ(ClaimAt(1'000).items.size(), 1u);
  EXPECT_TRUE(ClaimAt(1'000, other.get()).items.empty());
  EXPECT_TRUE(ClaimAt(1'499, other.get()).items.empty());
  EXPECT_EQ(ClaimAt(1'500, other.get()).items.size(), 1u);
  EXPECT_TRUE(ClaimAt(1'500).items.empty());
  EXPECT_EQ(ClaimAt(2'000).items.size(), 1u);
}

TEST_P(OutboxRate, RetiredAndDeferredItemsDoNotUseTheNumbersSlot) {
  const SenderNumber n = RatedNumber("+4520000005", 1'000);
  ReplyMaxAges ages;
  // A HELP answer far past its maximum age expires; the message behind it still goes now.
  const OutboxItem stale = QueueIn(account_.id, n, contact_, 1'000, "stale");
  const OutboxItem m = Message(n, 1'000 + ages.help_ms + 1, "m");
  ClaimedOutbox got = ClaimAt(1'000 + ages.help_ms + 1);
  EXPECT_EQ(Ids(got.retired), std::vector<int64_t>{stale.id});
  EXPECT_EQ(Ids(got.items), std::vector<int64_t>{m.id});
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance,
                         testing::Values(SqliteFactory(), PostgresFactory()),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });
INSTANTIATE_TEST_SUITE_P(Backends, OutboxDispatch,
                         testing::Values(SqliteFactory(), PostgresFactory()),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });
INSTANTIATE_TEST_SUITE_P(Backends, OutboxRate, testing::Values(SqliteFactory(), PostgresFactory()),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });
INSTANTIATE_TEST_SUITE_P(Backends, OutboxRecheck,
                         testing::Values(SqliteFactory(), PostgresFactory()),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });
INSTANTIATE_TEST_SUITE_P(Backends, DeliveryReports,
                         testing::Values(SqliteFactory(), PostgresFactory()),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace smsconsent
