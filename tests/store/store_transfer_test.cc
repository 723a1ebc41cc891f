// Moving an installation between stores (src/store/transfer.h): ExportRows, CountRows, LastId
// and BeginImport of every backend, run for every (source, target) pair of backends.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/ledger.h"
#include "core/merkle.h"
#include "pg_test_util.h"
#include "store/store.h"
#include "store/transfer.h"
#include "store_locations.h"

namespace smsconsent {
namespace {

const TransferTable& Table(const std::string& name) {
  for (const TransferTable& t : TransferTables()) {
    if (name == t.name) return t;
  }
  throw std::runtime_error("no transfer table " + name);
}

// A job input chunk is bytes, not text.
const std::string kBinaryChunk =
    std::string("phone\n+4520000002\n") + std::string(1, '\0') + "\xff";

using Pair = std::tuple<StoreFactory, StoreFactory>;

class StoreTransfer : public testing::TestWithParam<Pair> {
 protected:
  void SetUp() override {
    for (const StoreFactory* f : {&std::get<0>(GetParam()), &std::get<1>(GetParam())}) {
      if (const std::string why = f->unavailable(); !why.empty()) {
        if (testing_pg::InCi()) FAIL() << f->name << " (CI=true, so not skipped): " << why;
        GTEST_SKIP() << f->name << ": " << why;
      }
    }
    source_location_ = std::get<0>(GetParam()).make_location();
    target_location_ = std::get<1>(GetParam()).make_location();
    source_ = Must(source_location_->Open(), "opening the source");
    target_ = Must(target_location_->Open(), "opening the target");
  }
  void TearDown() override {
    source_.reset();
    target_.reset();
    source_location_.reset();
    target_location_.reset();
  }

  // An installation with a row in every table, NULLs in the nullable columns, an id counter
  // past the highest id (a deleted contact) and `events` consent events.
  void Populate(ConsentStore& s, int events = 3) {
    Account a;
    a.name = "Hansen Cykler ApS";
    a.marketing_sms_access = true;
    a.sms_short_code = true;
    a.default_region = "DK";
    a.created_at_ms = 1000;
    acct_ = Must(s.CreateAccount(a, "key-hash-1")).id;
    Must(s.CreateAccount(Account(), ""));  // no API key: api_key_hash NULL
    User u;
    u.account_id = acct_;
    u.email = "ann@example.com";
    u.role = StaffRole::kEditor;
    u.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
    const int64_t user = Must(s.CreateUser(u)).id;
    StaffSession session;
    session.token_hash = "ab12";
    session.user_id = user;
    session.account_id = acct_;
    session.csrf_token = "csrf";
    session.expires_at_ms = 99999;
    Must(s.CreateSession(session));
    SenderNumber n;
    n.account_id = acct_;
    n.number = "+4520123456";
    n.country = "DK";
    n.business_name = "Hansen";
    n.keywords.opt_out = {"AFMELD"};
    n.opt_in_confirmation = true;
    number_ = Must(s.AddNumber(n));
    ProviderConfig pc;
    pc.account_id = acct_;
    pc.provider = "twilio";
    pc.settings = R"({"auth_token":"t"})";
    Must(s.PutProviderConfig(pc));
    WebhookNonce nonce;
    nonce.account_id = acct_;
    nonce.provider = "plivo";
    nonce.nonce = "05429567804466091622";
    nonce.request_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    nonce.expires_at_ms = 99999;
    Must(s.UseWebhookNonce(nonce, 1000));
    // A bulk change's shared evidence, kept once.
    const std::string batch = R"({"type":"bulk","explanation":"Tilmeldt i butikken ✓"})";
    Must(s.PutEvidenceBatch(acct_, Sha256Hex(batch), batch, 1000));
    // Another contact, whose events come last (below).
    Contact more;
    more.account_id = acct_;
    more.phone = "+4520000002";
    more = Must(s.AddContact(more));
    Contact c;
    c.account_id = acct_;
    c.phone = "+4520000001";
    c.name = "Åse Ødegård";
    c.properties = R"({"city":"Aarhus"})";
    contact_ = Must(s.AddContact(c));
    // The highest contact id handed out is then one no row has.
    Contact gone;
    gone.account_id = acct_;
    gone.phone = "+4520999999";
    Must(s.DeleteContact(acct_, Must(s.AddContact(gone)).id));
    std::vector<ChangeSet> sets(static_cast<size_t>(events));
    for (int i = 0; i < events; ++i) {
      ChangeSet& cs = sets[static_cast<size_t>(i)];
      InboundMessage m;
      m.provider = "twilio";
      m.provider_message_id = "SM" + std::to_string(i);
      m.from = contact_.phone;
      m.to = number_.number;
      m.number_id = i == 0 ? 0 : number_.id;  // the first one unrouted: NULL number_id
      m.contact_id = contact_.id;
      m.body = i % 2 == 0 ? "START" : "STOP";
      m.received_at_ms = 10000 + i;
      m.decision = R"({"intent":"opt_in"})";
      cs.inbound = m;
      EventDraft d;
      d.contact_id = contact_.id;
      d.phone = contact_.phone;
      d.number_id = number_.id;
      d.sender = number_.number;
      d.from = i == 0 ? SubscriptionStatus::kNotSpecified
                      : (i % 2 == 1 ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kOptedOut);
      d.to = i % 2 == 0 ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kOptedOut;
      d.source = Source::kKeyword;
      d.actor = "contact";
      d.at_ms = 10000 + i;
      d.evidence = R"({"type":"keyword","body":"START ✓"})";
      cs.events.push_back(d);
      OutboxItem o;
      o.number_id = number_.id;
      o.contact_id = contact_.id;
      o.to = contact_.phone;
      o.from = number_.number;
      o.body = "Tak!";
      o.kind = ReplyKind::kOptInConfirmation;
      o.created_at_ms = 10000 + i;
      o.next_attempt_at_ms = 10000 + i;
      cs.outbox.push_back(o);
    }
    std::vector<BatchItem> items;
    for (const ChangeSet& cs : sets) items.push_back({acct_, &cs});
    for (auto& r : s.CommitBatch(items)) Must(std::move(r), "CommitBatch");
    // Two possible opt-outs: one still open, one dismissed with a note.
    for (int i = 0; i < 2; ++i) {
      ChangeSet cs;
      InboundMessage m;
      m.provider = "twilio";
      m.provider_message_id = "SM-review-" + std::to_string(i);
      m.from = contact_.phone;
      m.to = number_.number;
      m.number_id = number_.id;
      m.contact_id = contact_.id;
      m.body = "Hvordan stopper jeg de her beskeder?";
      m.received_at_ms = 15000 + i;
      m.decision = R"({"intent":"none","match_kind":"possible_opt_out"})";
      cs.inbound = m;
      ReviewItem r;
      r.contact_id = contact_.id;
      r.number_id = number_.id;
      r.rule = "da.possible.question";
      r.explanation = "spørger hvordan man stopper";
      r.created_at_ms = 15000 + i;
      cs.review = r;
      Must(s.Commit(acct_, cs), "Commit review");
    }
    ReviewResolution dismissed;
    dismissed.id = Must(s.ListReviews(acct_, ReviewQuery())).back().id;
    dismissed.state = ReviewState::kDismissed;
    dismissed.reviewed_by = "user:ann@example.com";
    dismissed.reviewed_at_ms = 16000;
    dismissed.note = "spurgte om åbningstider";
    Must(s.ResolveReview(acct_, dismissed), "ResolveReview");
    Job job;
    job.account_id = acct_;
    job.kind = "import_contacts";
    job.idempotency_key = "k1";
    job.request = "{}";
    job.created_at_ms = job.updated_at_ms = 20000;
    std::vector<std::string> chunks = {kBinaryChunk, "x"};
    size_t next = 0;
    auto created = Must(s.CreateJob(job, [&]() -> Result<std::optional<std::string>> {
      if (next == chunks.size()) return std::optional<std::string>();
      return std::optional<std::string>(chunks[next++]);
    }));
    job_ = created.first.id;
    Must(s.ClaimJob(job_, "worker", 20000, 60000));
    JobProgress p;
    p.job_id = job_;
    p.lease_owner = "worker";
    p.done = p.total = 1;
    p.result = R"({"skipped":1})";
    p.rejects.push_back({3, "+45 bad", "invalid_phone", "too short"});
    p.finish = JobState::kDone;
    p.at_ms = 21000;
    Must(s.CommitJobChunk(acct_, {}, p));
    // A job still queued keeps its input (binary bytes included).
    job.idempotency_key = "k2";
    next = 0;
    queued_job_ = Must(s.CreateJob(job, [&]() -> Result<std::optional<std::string>> {
                    if (next == chunks.size()) return std::optional<std::string>();
                    return std::optional<std::string>(chunks[next++]);
                  })).first.id;
    // Sixteen events of another contact fill the tree's first stored node (level 4); the
    // ledger is integrated and a signed head kept, by a key kept too.
    ChangeSet flips;
    for (int i = 0; i < 16; ++i) {
      EventDraft d;
      d.contact_id = more.id;
      d.phone = more.phone;
      d.number_id = number_.id;
      d.sender = number_.number;
      d.from = i == 0 ? SubscriptionStatus::kNotSpecified
                      : (i % 2 == 1 ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kOptedOut);
      d.to = i % 2 == 0 ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kOptedOut;
      d.source = Source::kApi;
      d.actor = "api";
      d.at_ms = 22000 + i;
      d.evidence = "{}";
      flips.events.push_back(d);
    }
    Must(s.Commit(acct_, flips), "Commit flips");
    LedgerTree tree;
    do {
      tree = Must(s.IntegrateLedger(acct_, 7, 23000), "IntegrateLedger");
    } while (!Must(s.AccountsToIntegrate(10)).empty());
    const std::string key_id(64, 'a');
    Must(s.PutLedgerKey(key_id, std::string(32, '\x01'), 23000), "PutLedgerKey");
    SignedTreeHead head;
    head.head.account_id = acct_;
    head.head.size = tree.size;
    head.head.root = tree.root;
    head.head.at_ms = 23000;
    head.key_id = key_id;
    head.signature = std::string(64, '\x02');
    Must(s.PutTreeHead(head), "PutTreeHead");
  }

  std::unique_ptr<StoreLocation> source_location_, target_location_;
  std::unique_ptr<ConsentStore> source_, target_;
  int64_t acct_ = 0, job_ = 0, queued_job_ = 0;
  SenderNumber number_;
  Contact contact_;
};

TEST_P(StoreTransfer, CopiesEveryTableRowForRowAndTheTargetComparesEqual) {
  Populate(*source_);
  auto copied = CopyStore(*source_, *target_);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  auto check = CompareStores(*source_, *target_);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->ok()) << check->first_difference.value_or("counts or heads differ");
  int64_t rows = 0;
  for (const TableCount& t : check->tables) {
    EXPECT_GT(t.source_rows, 0) << t.table << ": Populate must fill every table";
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
    rows += t.target_rows;
  }
  EXPECT_EQ(*copied, rows);
  EXPECT_EQ(check->tables.size(), TransferTables().size());
  ASSERT_EQ(check->heads.size(), 1u);
  EXPECT_EQ(check->heads[0].account_id, acct_);
  EXPECT_EQ(check->heads[0].target_seq, 3 + 16);
  EXPECT_TRUE(check->heads[0].same());
  // The head is the root of the tree over the events, as a signed tree head carries it.
  EXPECT_EQ(check->heads[0].target_hash, merkle::ToHex(Must(source_->GetLedgerTree(acct_)).root));
}

TEST_P(StoreTransfer, TheTargetServesTheSameDataThroughTheInterface) {
  Populate(*source_);
  ASSERT_TRUE(CopyStore(*source_, *target_).ok());
  auto src_events = Must(source_->ListEvents(acct_, EventQuery()));
  auto dst_events = Must(target_->ListEvents(acct_, EventQuery()));
  ASSERT_EQ(dst_events.size(), src_events.size());
  for (size_t i = 0; i < src_events.size(); ++i) {
    EXPECT_EQ(dst_events[i].id, src_events[i].id);
    EXPECT_EQ(dst_events[i].seq, src_events[i].seq);
    EXPECT_EQ(dst_events[i].prev_hash, src_events[i].prev_hash);
    EXPECT_EQ(dst_events[i].hash, src_events[i].hash);
    EXPECT_EQ(dst_events[i].format, src_events[i].format);
    EXPECT_EQ(dst_events[i].nth, src_events[i].nth);
    EXPECT_EQ(dst_events[i].evidence, src_events[i].evidence);
    EXPECT_EQ(EventLeafHash(dst_events[i]), EventLeafHash(src_events[i]));
  }
  // Idempotency of provider retries holds on the target.
  auto found = Must(target_->FindInbound(acct_, "twilio", "SM1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->body, "STOP");
  EXPECT_EQ(Must(target_->FindAccountByApiKeyHash("key-hash-1")).id, acct_);
  EXPECT_EQ(Must(target_->FindUserByEmail("ann@example.com")).password_hash,
            "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA");
  EXPECT_EQ(Must(target_->FindSession("ab12")).csrf_token, "csrf");
  EXPECT_EQ(Must(target_->GetContact(acct_, contact_.id)).properties, R"({"city":"Aarhus"})");
  EXPECT_EQ(target_->ReadJobInput(job_, 0).status().code(), StatusCode::kNotFound);  // done
  EXPECT_EQ(Must(target_->ReadJobInput(queued_job_, 0)), kBinaryChunk);
  EXPECT_EQ(Must(target_->GetJob(acct_, job_)).state, JobState::kDone);
  EXPECT_EQ(Must(target_->ListJobRejects(acct_, job_, 0, 10)).at(0).reason, "invalid_phone");
  EXPECT_EQ(Must(target_->ListOutbox(acct_, OutboxQuery())).size(), 3u);
  auto statuses = Must(target_->GetStatuses(acct_, contact_.id));
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state.status, SubscriptionStatus::kOptedIn);
}

TEST_P(StoreTransfer, IdCountersCarryOverSoDeletedIdsAreNeverReused) {
  Populate(*source_);
  ASSERT_TRUE(CopyStore(*source_, *target_).ok());
  for (const TransferTable& t : TransferTables()) {
    if (!t.id_counter) continue;
    EXPECT_EQ(Must(target_->LastId(t)), Must(source_->LastId(t))) << t.name;
  }
  // The deleted contact's id, one past contact_'s, was handed out: it is never reused.
  Contact next;
  next.account_id = acct_;
  next.phone = "+4520000077";
  const int64_t id = Must(target_->AddContact(next)).id;
  EXPECT_EQ(id, contact_.id + 2);
  // The chain goes on from the copied head.
  ChangeSet cs;
  EventDraft d;
  d.contact_id = id;
  d.phone = next.phone;
  d.number_id = number_.id;
  d.sender = number_.number;
  d.to = SubscriptionStatus::kOptedOut;
  d.source = Source::kManual;
  d.actor = "user:ann";
  d.evidence = "{}";
  cs.events.push_back(d);
  auto r = Must(target_->Commit(acct_, cs));
  EventQuery all;
  all.limit = 10'000;
  const auto head = Must(source_->ListEvents(acct_, all)).back();
  EXPECT_GT(r.events.at(0).id, head.id);
  // The ledger goes on from the copied tree.
  const LedgerTree tree = Must(target_->IntegrateLedger(acct_, 100, 30000));
  EXPECT_EQ(tree.size, head.seq + 1);
  EXPECT_EQ(Must(target_->ListEvents(acct_, all)).back().id, r.events.at(0).id);
}

// A store may hold events not numbered yet (PostgreSQL's writers leave that to integration):
// the copy integrates the source first, so every copied event has its place in the ledger.
TEST_P(StoreTransfer, EventsNotYetIntegratedAreNumberedBeforeTheCopy) {
  Populate(*source_);
  ChangeSet cs;
  EventDraft d;
  d.contact_id = contact_.id;
  d.phone = contact_.phone;
  d.number_id = number_.id;
  d.sender = number_.number;
  d.from = SubscriptionStatus::kOptedIn;  // Populate's third event opted in
  d.to = SubscriptionStatus::kOptedOut;
  d.source = Source::kManual;
  d.actor = "user:ann";
  d.evidence = "{}";
  cs.events.push_back(d);
  const int64_t id = Must(source_->Commit(acct_, cs)).events.at(0).id;
  ASSERT_TRUE(CopyStore(*source_, *target_).ok());
  EventQuery all;
  all.limit = 10'000;
  const auto events = Must(target_->ListEvents(acct_, all));
  ASSERT_EQ(events.size(), 3u + 16u + 1u);
  EXPECT_EQ(events.back().id, id);
  EXPECT_EQ(events.back().seq, 20);
  EXPECT_EQ(Must(target_->GetLedgerTree(acct_)).size, 20);
  EXPECT_EQ(Must(target_->GetLedgerTree(acct_)).root, Must(source_->GetLedgerTree(acct_)).root);
  EXPECT_TRUE(Must(source_->AccountsToIntegrate(10)).empty());
}

TEST_P(StoreTransfer, ManyRowsMoveInSeveralBatches) {
  Populate(*source_, 600);  // events, messages and outbox items: two batches each
  int64_t source_rows = 0;
  for (const TransferTable& t : TransferTables()) source_rows += Must(source_->CountRows(t));
  std::vector<int64_t> progress;
  auto copied = CopyStore(*source_, *target_, [&](const TransferProgress& p) {
    progress.push_back(p.done);
    EXPECT_EQ(p.total, source_rows);  // counted once, before the copy
    EXPECT_LE(p.done, source_rows);
  });
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), *copied);
  EXPECT_EQ(Must(target_->CountRows(Table("events"))), 600 + 16);
  auto check = Must(CompareStores(*source_, *target_));
  EXPECT_TRUE(check.ok()) << check.first_difference.value_or("");
  EXPECT_EQ(check.heads.at(0).target_seq, 600 + 16);
}

TEST_P(StoreTransfer, ANonEmptyTargetIsRefusedAndLeftUnchanged) {
  Populate(*source_);
  Account existing;
  existing.name = "already here";
  Must(target_->CreateAccount(existing, "other-key"));
  auto copied = CopyStore(*source_, *target_);
  EXPECT_EQ(copied.status().code(), StatusCode::kFailedPrecondition) << copied.status().ToString();
  EXPECT_NE(copied.status().message().find("not empty"), std::string::npos);
  auto accounts = Must(target_->ListAccounts());
  ASSERT_EQ(accounts.size(), 1u);
  EXPECT_EQ(accounts[0].name, "already here");
  for (const TransferTable& t : TransferTables()) {
    if (std::string(t.name) != "accounts") {
      EXPECT_EQ(Must(target_->CountRows(t)), 0) << t.name;
    }
  }
}

TEST_P(StoreTransfer, AnImportThatIsNotCommittedLeavesTheTargetEmpty) {
  Populate(*source_);
  {
    auto import = Must(target_->BeginImport());
    const TransferTable& accounts = Table("accounts");
    Must(import->Insert(accounts, Must(source_->ExportRows(accounts, {}))));
    // Interrupted here: never committed.
  }
  EXPECT_EQ(Must(target_->CountRows(Table("accounts"))), 0);
  // A fresh attempt starts from an empty target and succeeds.
  auto copied = CopyStore(*source_, *target_);
  EXPECT_TRUE(copied.ok()) << copied.status().ToString();
}

TEST_P(StoreTransfer, AFailedInsertLeavesTheTargetEmpty) {
  Populate(*source_);
  auto rows = Must(source_->ExportRows(Table("contacts"), {}));
  {
    auto import = Must(target_->BeginImport());
    // Contacts without their account: the foreign key refuses them.
    EXPECT_FALSE(import->Insert(Table("contacts"), rows).ok());
  }
  EXPECT_EQ(Must(target_->CountRows(Table("contacts"))), 0);
  rows[0][2] = std::nullopt;  // phone NULL
  auto import = Must(target_->BeginImport());
  EXPECT_EQ(import->Insert(Table("contacts"), rows).code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreTransfer, CompareStoresFindsAnAlteredEvent) {
  Populate(*source_);
  ASSERT_TRUE(CopyStore(*source_, *target_).ok());
  ConsentEvent e = Must(target_->ListEvents(acct_, EventQuery())).at(1);
  e.actor = "user:mallory";
  Must(target_->DebugOverwriteEvent(e));
  auto check = Must(CompareStores(*source_, *target_));
  EXPECT_FALSE(check.ok());
  ASSERT_TRUE(check.first_difference.has_value());
  EXPECT_EQ(*check.first_difference,
            "events: row with key (" + std::to_string(e.id) + ") differs in column actor");
  // And the ledgers' heads differ: the altered event's leaf changes the tree's root.
  ASSERT_EQ(check.heads.size(), 1u);
  EXPECT_EQ(check.heads[0].target_seq, check.heads[0].source_seq);
  EXPECT_FALSE(check.heads[0].same());
}

TEST_P(StoreTransfer, CompareStoresFindsARowMissingOnTheTarget) {
  Populate(*source_);
  ASSERT_TRUE(CopyStore(*source_, *target_).ok());
  Contact extra;
  extra.account_id = acct_;
  extra.phone = "+4520000099";
  const int64_t id = Must(source_->AddContact(extra)).id;  // the source changed after the copy
  auto check = Must(CompareStores(*source_, *target_));
  EXPECT_FALSE(check.ok());
  EXPECT_EQ(check.first_difference.value_or(""),
            "contacts: row with key (" + std::to_string(id) + ") is only in the source");
}

std::string PairName(const testing::TestParamInfo<Pair>& info) {
  return std::get<0>(info.param).name + "To" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTransfer,
                         testing::Values(Pair{SqliteFactory(), PostgresFactory()},
                                         Pair{PostgresFactory(), SqliteFactory()},
                                         Pair{SqliteFactory(), SqliteFactory()},
                                         Pair{PostgresFactory(), PostgresFactory()}),
                         PairName);

}  // namespace
}  // namespace smsconsent
