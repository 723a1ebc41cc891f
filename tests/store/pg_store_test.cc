// PostgreSQL specifics that the conformance suite cannot say for every backend: the location's
// parameters, reconnecting after the server dropped the store's connections, migrations
// racing in several processes, and several store objects (as several server instances would
// have) writing to one account at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger.h"
#include "core/merkle.h"
#include "legacy_status_rows.h"
#include "pg_test_util.h"
#include "store/postgres/pg_store.h"
#include "store/store.h"
#include "store_locations.h"

namespace smsconsent {
namespace {

TEST(PgLocation, TakesPoolAndSchemaOutOfTheUri) {
  auto o = Must(PgStore::ParseLocation("postgresql://u@h:5/db?sslmode=disable&pool=3&schema=s_1"));
  EXPECT_EQ(o.pool_size, 3);
  EXPECT_EQ(o.schema, "s_1");
  EXPECT_EQ(o.conninfo,
            "postgresql://u@h:5/db?sslmode=disable&connect_timeout=10&application_name=smsconsent");
  auto d = Must(PgStore::ParseLocation("postgres://h/db?connect_timeout=2&application_name=x"));
  EXPECT_EQ(d.pool_size, 8);
  EXPECT_EQ(d.schema, "");
  EXPECT_EQ(d.conninfo, "postgres://h/db?connect_timeout=2&application_name=x");
}

TEST(PgLocation, RefusesABadPoolOrSchema) {
  for (const char* bad : {"postgresql://h/db?pool=0", "postgresql://h/db?pool=x",
                          "postgresql://h/db?pool=1001", "postgresql://h/db?schema=",
                          "postgresql://h/db?schema=Bad", "postgresql://h/db?schema=a%22b"}) {
    EXPECT_EQ(PgStore::ParseLocation(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PgLocation, AnUnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  auto r = OpenStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

class PgStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing_pg::Unavailable(); !why.empty()) {
      if (testing_pg::InCi()) FAIL() << "CI=true, so not skipped: " << why;
      GTEST_SKIP() << why;
    }
    schema_ = testing_pg::NewSchemaName();
    store_ = Must(OpenStore(testing_pg::StoreUrl(schema_)), "opening the store");
  }
  void TearDown() override {
    store_.reset();
    if (!schema_.empty()) testing_pg::DropSchema(schema_);
  }

  std::unique_ptr<ConsentStore> Open() {
    return Must(OpenStore(testing_pg::StoreUrl(schema_)), "opening another store");
  }
  Account MakeAccount() {
    Account a;
    a.name = "a";
    a.marketing_sms_access = true;
    return Must(store_->CreateAccount(a, ""), "CreateAccount");
  }
  SenderNumber MakeNumber(int64_t account_id) {
    SenderNumber n;
    n.account_id = account_id;
    n.number = "+4520123456";
    n.country = "DK";
    return Must(store_->AddNumber(n), "AddNumber");
  }
  Contact MakeContact(int64_t account_id, const std::string& phone) {
    Contact c;
    c.account_id = account_id;
    c.phone = phone;
    return Must(store_->AddContact(c), "AddContact");
  }
  // Every account's ledger integrated, as a database of the hash chain had every event
  // numbered.
  void IntegrateAll() {
    for (int64_t id : Must(store_->AccountsToIntegrate(1000), "AccountsToIntegrate")) {
      Must(store_->IntegrateLedger(id, store_ledger::kMaxIntegrateEvents, 1), "IntegrateLedger");
    }
  }
  // The account's events once integrated, in seq order.
  std::vector<ConsentEvent> AllEvents(int64_t account_id) {
    Must(store_->IntegrateLedger(account_id, store_ledger::kMaxIntegrateEvents, 1),
         "IntegrateLedger");
    EventQuery q;
    q.limit = 10'000;
    return Must(store_->ListEvents(account_id, q), "ListEvents");
  }
  // SQL that takes the schema back to version 5 (before the Merkle tree, the kept batch
  // documents and the messages' columns), for tests of older migrations. Every event must have its
  // seq.
  std::string UndoMigrationSix() {
    return "SET search_path TO \"" + schema_ +
           "\";\n"
           "ALTER TABLE sender_numbers DROP COLUMN frequency_cap;\n"
           "DROP INDEX outbox_due_replies;\n"
           "ALTER TABLE sender_numbers DROP COLUMN rate_mmps, DROP COLUMN next_send_at_us;\n"
           "DROP INDEX outbox_by_provider_message_id;\n"
           "ALTER TABLE outbox DROP COLUMN delivery, DROP COLUMN delivery_error, "
           "DROP COLUMN delivery_updated_at_ms;\n"
           "ALTER TABLE accounts DROP COLUMN quiet_hours;\n"
           "ALTER TABLE sender_numbers DROP COLUMN double_opt_in, "
           "DROP COLUMN reply_confirmation_request;\n"
           "DROP INDEX outbox_by_idempotency_key;\n"
           "ALTER TABLE sender_numbers DROP COLUMN quiet_hours, DROP COLUMN opt_out_notice;\n"
           "ALTER TABLE outbox DROP COLUMN notice;\n"
           "ALTER TABLE outbox DROP COLUMN purpose, DROP COLUMN send_at_ms, "
           "DROP COLUMN idempotency_key, DROP COLUMN request_hash;\n"
           "DROP TABLE evidence_batches;\n"
           "DROP TRIGGER events_unchangeable ON events;\n"
           "DROP FUNCTION events_unchangeable();\n"
           "DROP INDEX events_unnumbered;\n"
           "DROP TABLE ledger_keys, tree_heads, ledger_nodes, ledger_trees;\n"
           "ALTER TABLE events DROP COLUMN format, DROP COLUMN batch_hash, DROP COLUMN nth;\n"
           "ALTER TABLE events ALTER COLUMN seq SET NOT NULL;\n"
           "ALTER TABLE statuses DROP COLUMN events;\n"
           "ALTER TABLE outbox DROP COLUMN queued_after_event;\n"
           "DELETE FROM schema_migrations WHERE version >= 6;\n";
  }

  std::string schema_;
  std::unique_ptr<ConsentStore> store_;
};

TEST_F(PgStoreTest, RecordsItsMigrations) {
  EXPECT_EQ(testing_pg::Exec("SELECT max(version) FROM \"" + schema_ + "\".schema_migrations"),
            std::to_string(PgStore::LatestSchemaVersion()));
}

// A database written while no-change events still moved since and source: opening it sets
// those rows to their pair's last change, and leaves a row that disagrees with the ledger
// otherwise.
TEST_F(PgStoreTest, MigrationSetsRowsMovedByNoChangeEventsToTheirLastChange) {
  const legacy_rows::Case k = legacy_rows::WriteLedger(*store_);
  IntegrateAll();
  store_.reset();
  testing_pg::Exec(UndoMigrationSix() + legacy_rows::OldRuleRowsSql(k) +
                   "ALTER TABLE outbox DROP COLUMN queued_at_seq;\n"
                   "DROP TABLE review_items;\n"
                   "DELETE FROM schema_migrations WHERE version >= 3;");
  store_ = Open();
  legacy_rows::ExpectLastChanges(*store_, k);
  EXPECT_EQ(testing_pg::Exec("SELECT max(version) FROM \"" + schema_ + "\".schema_migrations"),
            std::to_string(PgStore::LatestSchemaVersion()));
}

// migrate-store copies the tables TransferTables() lists (src/store/transfer.cc): a table or
// column added by a migration and not listed there would be lost in a move.
TEST_F(PgStoreTest, TransferTablesListEveryTableAndColumnOfTheSchema) {
  for (const TransferTable& t : TransferTables()) {
    std::string columns;
    for (const TransferColumn& c : t.columns) {
      columns += (columns.empty() ? "" : ",") + std::string(c.name);
    }
    EXPECT_EQ(testing_pg::Exec("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
                               "FROM information_schema.columns WHERE table_schema = '" +
                               schema_ + "' AND table_name = '" + t.name + "'"),
              columns)
        << t.name;
  }
  EXPECT_EQ(testing_pg::Exec("SELECT count(*) FROM information_schema.tables WHERE table_schema "
                             "= '" +
                             schema_ + "' AND table_name <> 'schema_migrations'"),
            std::to_string(TransferTables().size()));
}

// As SQLite's migration 10: a schema of version 3 holds no ledger seq for its replies, and
// migration 4 derives it for those still to be sent from the times stored, so that a
// confirmation made stale by a later STOP is cancelled after the upgrade, not sent.
TEST_F(PgStoreTest, MigrationFourGivesRepliesStillToBeSentTheirLedgerSeq) {
  const Account a = MakeAccount();
  SenderNumber n;
  n.account_id = a.id;
  n.number = "+4520123456";
  n.rate_mmps = kUnspacedRateMmps;  // several of its items are claimed at one instant
  n = Must(store_->AddNumber(n), "AddNumber");
  Contact c;
  c.account_id = a.id;
  c.phone = "+4511111111";
  c = Must(store_->AddContact(c), "AddContact");
  auto decide = [&](SubscriptionStatus from, SubscriptionStatus to, ReplyKind kind, int64_t at_ms) {
    ChangeSet changes;
    EventDraft e;
    e.contact_id = c.id;
    e.phone = c.phone;
    e.number_id = n.id;
    e.sender = n.number;
    e.from = from;
    e.to = to;
    e.source = to == SubscriptionStatus::kOptedOut ? Source::kKeyword : Source::kManual;
    e.actor = "a";
    e.at_ms = at_ms;
    e.evidence = "{}";
    changes.events = {e};
    OutboxItem o;
    o.number_id = n.id;
    o.contact_id = c.id;
    o.to = c.phone;
    o.from = n.number;
    o.body = "reply";
    o.kind = kind;
    o.created_at_ms = at_ms;
    o.next_attempt_at_ms = at_ms;
    changes.outbox = {o};
    return Must(store_->Commit(a.id, changes), "Commit").outbox.at(0).id;
  };
  const int64_t sent = decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                              ReplyKind::kOptInConfirmation, 1000);
  decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut,
         ReplyKind::kOptOutConfirmation, 2000);
  const int64_t stale = decide(SubscriptionStatus::kOptedOut, SubscriptionStatus::kOptedIn,
                               ReplyKind::kOptInConfirmation, 3000);
  decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut,
         ReplyKind::kOptOutConfirmation, 4000);
  IntegrateAll();

  store_.reset();
  const std::string in = "\"" + schema_ + "\".";
  testing_pg::Exec(UndoMigrationSix());
  testing_pg::Exec("UPDATE " + in + "outbox SET state = 'sent' WHERE id = " + std::to_string(sent));
  testing_pg::Exec("ALTER TABLE " + in + "outbox DROP COLUMN queued_at_seq");
  testing_pg::Exec("DROP TABLE " + in + "review_items");
  testing_pg::Exec("DELETE FROM " + in + "schema_migrations WHERE version >= 4");
  store_ = Open();
  EXPECT_EQ(testing_pg::Exec("SELECT max(version) FROM " + in + "schema_migrations"),
            std::to_string(PgStore::LatestSchemaVersion()));
  EXPECT_EQ(testing_pg::Exec("SELECT string_agg(queued_at_seq::text, ',' ORDER BY id) FROM " + in +
                             "outbox"),
            "0,2,3,4");
  // The undo took the number's rate away with migration 10's column; both confirmations are
  // claimed at one instant below.
  testing_pg::Exec("UPDATE " + in + "sender_numbers SET rate_mmps = -1");
  OutboxClaim claim;
  claim.now_ms = 5000;
  claim.limit = 10;
  claim.owner = "me";
  claim.lease_ms = 1000;
  const ClaimedOutbox got = Must(store_->ClaimOutbox(claim), "ClaimOutbox");
  ASSERT_EQ(got.retired.size(), 1u);
  EXPECT_EQ(got.retired[0].id, stale);
  EXPECT_EQ(got.retired[0].state, OutboxState::kCancelled);
  EXPECT_EQ(got.items.size(), 2u);  // the two opt-out confirmations
}

TEST_F(PgStoreTest, SeveralProcessesMigrateOneNewSchemaAtOnce) {
  const std::string fresh = testing_pg::NewSchemaName();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto s = OpenStore(testing_pg::StoreUrl(fresh, 1));
      if (!s.ok()) {
        ADD_FAILURE() << s.status().ToString();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(testing_pg::Exec("SELECT count(*) FROM \"" + fresh + "\".schema_migrations"),
            std::to_string(PgStore::LatestSchemaVersion()));
  testing_pg::DropSchema(fresh);
}

TEST_F(PgStoreTest, ReconnectsAfterTheServerDroppedItsConnections) {
  Account a = MakeAccount();
  // Every call so far left its connection idle in the pool; the server now ends them all,
  // as a restart of the server would.
  ASSERT_GT(testing_pg::TerminateBackends(schema_), 0);
  // The next calls find their pooled connection dead before doing anything, and run again
  // on a new one: the caller sees no error.
  EXPECT_EQ(Must(store_->GetAccount(a.id)).name, "a");
  Account b = MakeAccount();
  EXPECT_NE(b.id, a.id);
  EXPECT_EQ(Must(store_->ListAccounts()).size(), 2u);

  // A group commit on a dead connection too.
  ASSERT_GT(testing_pg::TerminateBackends(schema_), 0);
  Contact c;
  c.account_id = a.id;
  c.phone = "+4511111111";
  ChangeSet changes;
  changes.new_contact = c;
  auto results = store_->CommitBatch({BatchItem{a.id, &changes}});
  ASSERT_TRUE(results.at(0).ok()) << results[0].status().ToString();
  EXPECT_GT(results[0]->contact_id, 0);
}

TEST_F(PgStoreTest, ALostConnectionMidTransactionIsUnavailableAndChangesNothing) {
  Account a = MakeAccount();
  // A job whose input source ends the server side of the connection while the transaction is
  // open: the call fails with kUnavailable, nothing of it is stored, and the next call works.
  Job job;
  job.account_id = a.id;
  job.kind = "import_contacts";
  job.idempotency_key = "k1";
  job.request = "{}";
  int chunks = 0;
  auto r = store_->CreateJob(job, [&]() -> Result<std::optional<std::string>> {
    if (chunks++ == 0) {
      testing_pg::TerminateBackends(schema_);
      return std::optional<std::string>("phone\n+4511111111\n");
    }
    return std::optional<std::string>();
  });
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(testing_pg::Exec("SELECT count(*) FROM \"" + schema_ + "\".jobs"), "0");
  auto again =
      store_->CreateJob(job, [] { return Result<std::optional<std::string>>(std::nullopt); });
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->second);
}

// Two server instances writing one account while both integrate it: every event ends up with
// its own seq 1..N, each pair's events numbered 1, 2, 3, ... in the order they were written,
// and the tree's root is the root of all their leaves, each integrated once.
TEST_F(PgStoreTest, TwoStoresWritingAndIntegratingOneAccountAtOnceKeepOneLedger) {
  // Two store objects are two pools, as two server instances would have.
  std::unique_ptr<ConsentStore> other = Open();
  const Account a = MakeAccount();
  const SenderNumber n = MakeNumber(a.id);
  constexpr int kWriters = 4;
  constexpr int kCommits = 25;
  std::vector<Contact> contacts;
  for (int i = 0; i < kWriters; ++i) {
    contacts.push_back(MakeContact(a.id, "+451111111" + std::to_string(i)));
  }
  std::atomic<int> failures{0};
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      ConsentStore& s = t % 2 == 0 ? *store_ : *other;
      SubscriptionStatus cur = SubscriptionStatus::kNotSpecified;
      for (int i = 0; i < kCommits; ++i) {
        EventDraft d;
        d.contact_id = contacts[t].id;
        d.phone = contacts[t].phone;
        d.number_id = n.id;
        d.sender = n.number;
        d.from = cur;
        d.to = cur == SubscriptionStatus::kOptedIn ? SubscriptionStatus::kOptedOut
                                                   : SubscriptionStatus::kOptedIn;
        d.source = Source::kApi;
        d.at_ms = 1000 + i;
        d.evidence = "{}";
        ChangeSet changes;
        changes.events = {d};
        auto r = s.Commit(a.id, changes);
        if (!r.ok()) {
          ADD_FAILURE() << r.status().ToString();
          ++failures;
          break;
        }
        EXPECT_EQ(r->events.at(0).seq, 0);  // numbered when integrated
        EXPECT_EQ(r->events.at(0).nth, i + 1);
        cur = d.to;
      }
      --writers_left;
    });
  }
  // Two integrators, one per store, taking a few events at a time while the writers write.
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      ConsentStore& s = t == 0 ? *store_ : *other;
      int64_t now = 10'000;
      while (true) {
        const bool writing = writers_left.load() > 0;
        auto tree = s.IntegrateLedger(a.id, 7, ++now);
        if (!tree.ok()) {
          ADD_FAILURE() << tree.status().ToString();
          ++failures;
          return;
        }
        if (!writing) {
          auto left = s.AccountsToIntegrate(10);
          if (left.ok() && left->empty()) return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_TRUE(Must(store_->AccountsToIntegrate(10)).empty());
  EventQuery q;
  q.limit = 10'000;
  const std::vector<ConsentEvent> events = Must(store_->ListEvents(a.id, q));
  ASSERT_EQ(events.size(), size_t{kWriters * kCommits});
  std::vector<merkle::Hash> leaves;
  std::map<int64_t, int64_t> nth_of_contact;
  std::map<int64_t, int64_t> last_id_of_contact;
  std::set<int64_t> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    const ConsentEvent& e = events[i];
    EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(e.format, 2);
    EXPECT_TRUE(ids.insert(e.id).second);
    EXPECT_EQ(e.nth, ++nth_of_contact[e.contact_id]) << "seq " << e.seq;
    EXPECT_GT(e.id, last_id_of_contact[e.contact_id]);
    last_id_of_contact[e.contact_id] = e.id;
    leaves.push_back(EventLeafHash(e));
  }
  const LedgerTree tree = Must(store_->GetLedgerTree(a.id));
  EXPECT_EQ(tree.size, kWriters * kCommits);
  EXPECT_EQ(tree.root, merkle::RootOf(leaves));
  EXPECT_EQ(Must(other->GetLedgerTree(a.id)).root, tree.root);
  // The stored subtree hashes are those of the leaves: the first 16 events' node.
  EXPECT_EQ(Must(store_->SubtreeHash(a.id, tree.size, 4, 0)),
            merkle::RootOf(std::vector<merkle::Hash>(leaves.begin(), leaves.begin() + 16)));
}

TEST_F(PgStoreTest, TheSameMessageFromTwoStoresAtOnceIsStoredOnce) {
  std::unique_ptr<ConsentStore> other = Open();
  Account a = MakeAccount();
  SenderNumber n;
  n.account_id = a.id;
  n.number = "+4520123456";
  n.country = "DK";
  n = Must(store_->AddNumber(n));
  for (int round = 0; round < 10; ++round) {
    // A first message from an unknown phone: the contact, the message, an event, a reply.
    Contact c;
    c.phone = "+4530000" + std::to_string(100 + round);
    InboundMessage m;
    m.provider = "twilio";
    m.provider_message_id = "SM" + std::to_string(round);
    m.from = c.phone;
    m.to = n.number;
    m.number_id = n.id;
    m.body = "STOP";
    m.decision = "{}";
    EventDraft d;
    d.phone = c.phone;
    d.number_id = n.id;
    d.sender = n.number;
    d.to = SubscriptionStatus::kOptedOut;
    d.source = Source::kKeyword;
    d.evidence = "{}";
    OutboxItem o;
    o.number_id = n.id;
    o.to = c.phone;
    o.from = n.number;
    o.body = "You are unsubscribed.";
    o.kind = ReplyKind::kOptOutConfirmation;
    ChangeSet changes;
    changes.new_contact = c;
    changes.inbound = m;
    changes.events = {d};
    changes.outbox = {o};
    std::vector<Result<CommitResult>> results(2, Status(StatusCode::kInternal, "not run"));
    std::thread t1([&] { results[0] = store_->Commit(a.id, changes); });
    std::thread t2([&] { results[1] = other->Commit(a.id, changes); });
    t1.join();
    t2.join();
    const int ok = results[0].ok() + results[1].ok();
    EXPECT_EQ(ok, 1) << results[0].status().ToString() << " / " << results[1].status().ToString();
    for (const auto& r : results) {
      if (!r.ok()) {
        // The loser either saw the stored message, or (having decided from not_specified
        // like the winner) the status the winner changed.
        EXPECT_TRUE(r.status().code() == StatusCode::kAlreadyExists ||
                    r.status().code() == StatusCode::kAborted)
            << r.status().ToString();
      }
    }
  }
  EXPECT_EQ(AllEvents(a.id).size(), 10u);
  EXPECT_EQ(Must(store_->ListOutbox(a.id, OutboxQuery{})).size(), 10u);
}

namespace raw {

// A connection of the test's own (libpq, outside the store), to hold a transaction open across
// statements as another server instance would.
class Conn {
 public:
  explicit Conn(const std::string& schema) : c_(PQconnectdb(testing_pg::Url().c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c_));
    Run("SET search_path TO \"" + schema + "\"");
  }
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  // The first value of the result ("" when none); throws on an error.
  std::string Run(const std::string& sql) {
    std::string error;
    std::string out = Exec(sql, &error);
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
    return out;
  }
  // The error of `sql` ("" when it succeeded).
  std::string Error(const std::string& sql) {
    std::string error;
    Exec(sql, &error);
    return error;
  }
  int Pid() const { return PQbackendPID(c_); }

 private:
  std::string Exec(const std::string& sql, std::string* error) {
    PGresult* r = PQexec(c_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    std::string out;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) out = PQgetvalue(r, 0, 0);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      *error = PQresultErrorMessage(r);
      if (error->empty()) *error = "failed";
    }
    PQclear(r);
    return out;
  }
  PGconn* c_;
};

}  // namespace raw

EventDraft Change(const Contact& c, const SenderNumber& n, SubscriptionStatus from,
                  SubscriptionStatus to, int64_t at_ms = 1000) {
  EventDraft d;
  d.contact_id = c.id;
  d.phone = c.phone;
  d.number_id = n.id;
  d.sender = n.number;
  d.from = from;
  d.to = to;
  d.source = to == SubscriptionStatus::kOptedOut ? Source::kKeyword : Source::kApi;
  d.actor = "contact";
  d.at_ms = at_ms;
  d.evidence = "{}";
  return d;
}

// A writer of one (contact, number) holds what it locked until its commit; a writer of another
// pair of the same account goes ahead meanwhile, and one of the same pair waits for it. The
// account's row is not locked against other writers (FOR NO KEY UPDATE, what writers of the
// account once took, is granted at once).
TEST_F(PgStoreTest, WritersOfDifferentPairsOfOneAccountDoNotWaitForEachOther) {
  std::unique_ptr<ConsentStore> other = Open();
  const Account a = MakeAccount();
  const SenderNumber n = MakeNumber(a.id);
  const Contact c1 = MakeContact(a.id, "+4511111111");
  const Contact c2 = MakeContact(a.id, "+4522222222");
  // A message the first writer's reply refers to.
  ChangeSet message;
  InboundMessage m;
  m.provider = "twilio";
  m.provider_message_id = "SM1";
  m.from = c1.phone;
  m.to = n.number;
  m.number_id = n.id;
  m.contact_id = c1.id;
  m.body = "START";
  m.decision = "{}";
  message.inbound = m;
  const int64_t inbound_id = Must(store_->Commit(a.id, message)).inbound_id;

  // The writer of (c1, n) stops at its reply, after its event: another connection holds the
  // message's row, which the reply's foreign key needs to share.
  raw::Conn holder(schema_);
  holder.Run("BEGIN");
  holder.Run("SELECT id FROM inbound_messages WHERE id = " + std::to_string(inbound_id) +
             " FOR UPDATE");
  ChangeSet first;
  first.events = {Change(c1, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  OutboxItem o;
  o.number_id = n.id;
  o.contact_id = c1.id;
  o.to = c1.phone;
  o.from = n.number;
  o.body = "Welcome";
  o.kind = ReplyKind::kOptInConfirmation;
  o.inbound_id = inbound_id;
  first.outbox = {o};
  auto held = std::async(std::launch::async, [&] { return store_->Commit(a.id, first); });
  // Until the held writer waits for the message's row (its event is written then).
  bool waiting = false;
  for (int i = 0; i < 1000 && !waiting; ++i) {
    waiting = testing_pg::Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                               schema_ + "' AND wait_event_type = 'Lock'") != "0";
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(waiting) << "the first writer never reached its reply";
  ASSERT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  // The account's row: nothing a writer of the account would wait for is held.
  raw::Conn probe(schema_);
  probe.Run("BEGIN");
  EXPECT_EQ(probe.Error("SELECT id FROM accounts WHERE id = " + std::to_string(a.id) +
                        " FOR NO KEY UPDATE NOWAIT"),
            "");
  probe.Run("ROLLBACK");

  // Another pair of the account, through another store: done while the first writer holds.
  ChangeSet second;
  second.events = {Change(c2, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  auto other_pair = std::async(std::launch::async, [&] { return other->Commit(a.id, second); });
  const bool done = other_pair.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  // The same pair: waits for the first writer, then finds the status it set.
  ChangeSet third;
  third.events = {Change(c1, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedOut)};
  auto same_pair = std::async(std::launch::async, [&] { return other->Commit(a.id, third); });
  EXPECT_EQ(same_pair.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  holder.Run("COMMIT");
  ASSERT_TRUE(done) << "a writer of another pair waited for the held one";
  Result<CommitResult> second_result = other_pair.get();
  ASSERT_TRUE(second_result.ok()) << second_result.status().ToString();
  Result<CommitResult> first_result = held.get();
  ASSERT_TRUE(first_result.ok()) << first_result.status().ToString();
  EXPECT_EQ(same_pair.get().status().code(), StatusCode::kAborted);
  // The held writer drew its event's id first; integration numbers in id order.
  const std::vector<ConsentEvent> events = AllEvents(a.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, first_result->events.at(0).id);
  EXPECT_EQ(events[1].id, second_result->events.at(0).id);
  EXPECT_EQ(first_result->outbox.at(0).queued_after_event, first_result->events.at(0).id);
}

// An integrator that dies with its transaction open (its backend terminated) numbered nothing:
// meanwhile another passes the account over without waiting, and then integrates it all.
TEST_F(PgStoreTest, AnIntegratorThatDiesLeavesNothingHalfDone) {
  const Account a = MakeAccount();
  const SenderNumber n = MakeNumber(a.id);
  SubscriptionStatus cur = SubscriptionStatus::kNotSpecified;
  const Contact c = MakeContact(a.id, "+4511111111");
  for (int i = 0; i < 10; ++i) {
    const SubscriptionStatus to = cur == SubscriptionStatus::kOptedIn
                                      ? SubscriptionStatus::kOptedOut
                                      : SubscriptionStatus::kOptedIn;
    ChangeSet cs;
    cs.events = {Change(c, n, cur, to, 1000 + i)};
    Must(store_->Commit(a.id, cs));
    cur = to;
  }
  auto dying = std::make_unique<raw::Conn>(schema_);
  dying->Run("BEGIN");
  // The lock documented in docs/storage.md.
  ASSERT_EQ(dying->Run("SELECT pg_try_advisory_xact_lock(hashtext('smsconsent-ledger:' || "
                       "current_schema()), " +
                       std::to_string(a.id) + ")"),
            "t");
  dying->Run(
      "UPDATE events SET seq = v.seq FROM (SELECT id, row_number() OVER (ORDER BY id) AS "
      "seq FROM events WHERE seq IS NULL ORDER BY id LIMIT 3) v WHERE events.id = v.id");
  // Held by the other integrator: returned as it is, at once.
  const LedgerTree meanwhile = Must(store_->IntegrateLedger(a.id, 100, 2000));
  EXPECT_EQ(meanwhile.size, 0);
  EXPECT_EQ(meanwhile.integrated, 0);
  EXPECT_TRUE(meanwhile.busy);
  EXPECT_EQ(meanwhile.root, merkle::EmptyRoot());
  EXPECT_EQ(Must(store_->AccountsToIntegrate(10)), std::vector<int64_t>{a.id});
  testing_pg::Exec("SELECT pg_terminate_backend(" + std::to_string(dying->Pid()) + ")");
  dying.reset();
  EXPECT_EQ(
      testing_pg::Exec("SELECT count(*) FROM \"" + schema_ + "\".events WHERE seq IS NOT NULL"),
      "0");
  LedgerTree tree;
  for (int i = 0; i < 100 && tree.size < 10; ++i) {  // until the dead backend's lock is gone
    tree = Must(store_->IntegrateLedger(a.id, 100, 3000));
    if (tree.size < 10) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(tree.size, 10);
  const std::vector<ConsentEvent> events = AllEvents(a.id);
  std::vector<merkle::Hash> leaves;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].nth, static_cast<int64_t>(i + 1));
    leaves.push_back(EventLeafHash(events[i]));
  }
  EXPECT_EQ(tree.root, merkle::RootOf(leaves));
  EXPECT_TRUE(Must(store_->AccountsToIntegrate(10)).empty());
}

// The integration lock's key is the account id modulo 2^31 - 1: ids past 32 bits work too.
TEST_F(PgStoreTest, AnAccountWithALargeIdIsIntegrated) {
  testing_pg::Exec("SELECT setval(pg_get_serial_sequence('\"" + schema_ +
                   "\".accounts', 'id'), 5000000000)");
  const Account a = MakeAccount();
  ASSERT_GT(a.id, int64_t{5000000000});
  const SenderNumber n = MakeNumber(a.id);
  const Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet cs;
  cs.events = {Change(c, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  Must(store_->Commit(a.id, cs));
  EXPECT_EQ(Must(store_->IntegrateLedger(a.id, 100, 2000)).size, 1);
}

// A kept batch document (a bulk change's shared evidence) is part of the ledger: no change, no
// deletion, from any connection.
TEST_F(PgStoreTest, KeptBatchDocumentsCannotBeChangedOrDeleted) {
  const Account a = MakeAccount();
  const std::string doc = R"({"type":"bulk","explanation":"Signed up"})";
  ASSERT_TRUE(store_->PutEvidenceBatch(a.id, Sha256Hex(doc), doc, 1000).ok());
  raw::Conn sql(schema_);
  for (const std::string& change :
       {std::string("UPDATE evidence_batches SET document = '{}'"),
        std::string("UPDATE evidence_batches SET created_at_ms = 5"),
        std::string("DELETE FROM evidence_batches"), std::string("TRUNCATE evidence_batches")}) {
    EXPECT_NE(sql.Error(change).find("append-only"), std::string::npos) << change;
  }
  EXPECT_EQ(Must(store_->GetEvidenceBatches(a.id, {Sha256Hex(doc)}))[Sha256Hex(doc)], doc);
}

// The ledger refuses any change to a stored event, from any connection, except an event
// without a seq being given one and nothing else.
TEST_F(PgStoreTest, StoredEventsCanOnlyBeNumbered) {
  const Account a = MakeAccount();
  const SenderNumber n = MakeNumber(a.id);
  const Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet cs;
  cs.events = {Change(c, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  const int64_t first = Must(store_->Commit(a.id, cs)).events.at(0).id;
  AllEvents(a.id);  // numbered: seq 1
  cs.events = {Change(c, n, SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut)};
  const int64_t fresh = Must(store_->Commit(a.id, cs)).events.at(0).id;  // no seq yet
  raw::Conn sql(schema_);
  const std::string f = std::to_string(first);
  const std::string u = std::to_string(fresh);
  for (const std::string& change :
       {"UPDATE events SET evidence = '{\"forged\":true}' WHERE id = " + f,
        "UPDATE events SET seq = 7 WHERE id = " + f, "UPDATE events SET seq = NULL WHERE id = " + f,
        "UPDATE events SET evidence = '{\"forged\":true}', seq = 2 WHERE id = " + u,
        "UPDATE events SET nth = 5 WHERE id = " + u,
        "UPDATE events SET at_ms = at_ms + 1 WHERE id = " + u, "DELETE FROM events WHERE id = " + u,
        std::string("TRUNCATE events")}) {
    EXPECT_NE(sql.Error(change).find("append-only"), std::string::npos) << change;
  }
  // Numbering alone is what integration does.
  sql.Run("BEGIN");
  EXPECT_EQ(sql.Error("UPDATE events SET seq = 2 WHERE id = " + u), "");
  sql.Run("ROLLBACK");
  const std::vector<ConsentEvent> events = AllEvents(a.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].evidence, "{}");
  EXPECT_EQ(events[1].id, fresh);
  EXPECT_EQ(events[1].seq, 2);
}

// A reply queued before its contact's status changed again is cancelled when it is claimed,
// though the change's event has no seq yet (it is not integrated).
TEST_F(PgStoreTest, AClaimCancelsAReplyWhosePairChangedBeforeTheChangeIsIntegrated) {
  const Account a = MakeAccount();
  const SenderNumber n = MakeNumber(a.id);
  const Contact c = MakeContact(a.id, "+4511111111");
  ChangeSet opt_in;
  opt_in.events = {Change(c, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  OutboxItem o;
  o.number_id = n.id;
  o.contact_id = c.id;
  o.to = c.phone;
  o.from = n.number;
  o.body = "Welcome";
  o.kind = ReplyKind::kOptInConfirmation;
  o.created_at_ms = 1000;
  o.next_attempt_at_ms = 1000;
  opt_in.outbox = {o};
  const CommitResult queued = Must(store_->Commit(a.id, opt_in));
  EXPECT_EQ(queued.outbox.at(0).queued_after_event, queued.events.at(0).id);
  // Another contact's reply, whose pair did not change after it: sent.
  const Contact stays = MakeContact(a.id, "+4522222222");
  ChangeSet stays_in;
  stays_in.events = {
      Change(stays, n, SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn)};
  o.contact_id = stays.id;
  o.to = stays.phone;
  stays_in.outbox = {o};
  const int64_t sent = Must(store_->Commit(a.id, stays_in)).outbox.at(0).id;
  AllEvents(a.id);  // the opt-ins are numbered; the opt-out below is not
  // Opted out and in again: the status is opted_in as when the reply was queued, but it changed
  // in between.
  ChangeSet out_and_in;
  out_and_in.events = {
      Change(c, n, SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut, 2000),
      Change(c, n, SubscriptionStatus::kOptedOut, SubscriptionStatus::kOptedIn, 3000)};
  Must(store_->Commit(a.id, out_and_in));
  EXPECT_EQ(testing_pg::Exec("SELECT count(*) FROM \"" + schema_ + "\".events WHERE seq IS NULL"),
            "2");
  OutboxClaim claim;
  claim.now_ms = 4000;
  claim.limit = 10;
  claim.owner = "me";
  claim.lease_ms = 1000;
  const ClaimedOutbox got = Must(store_->ClaimOutbox(claim));
  ASSERT_EQ(got.items.size(), 1u);
  EXPECT_EQ(got.items[0].id, sent);
  ASSERT_EQ(got.retired.size(), 1u);
  EXPECT_EQ(got.retired[0].id, queued.outbox.at(0).id);
  EXPECT_EQ(got.retired[0].state, OutboxState::kCancelled);
}

// Each combination of contact filters is a statement of its own, prepared on the server for
// the connection that runs it. Clients choose the combinations, so a connection keeps a
// bounded number of them, and one it dropped is prepared again when needed.
TEST_F(PgStoreTest, ContactSearchesKeepABoundedNumberOfPreparedStatements) {
  // One connection: every query below runs on it.
  std::unique_ptr<ConsentStore> one =
      Must(OpenStore(testing_pg::StoreUrl(schema_, 1)), "opening a store with one connection");
  auto* pg = dynamic_cast<PgStore*>(one.get());
  ASSERT_NE(pg, nullptr);
  Account a = MakeAccount();
  Contact c;
  c.account_id = a.id;
  c.phone = "+4520000001";
  c.name = "Ann";
  c.properties = R"({"p1":"x"})";
  Must(one->AddContact(c));

  auto query = [](int properties, int mask) {
    ContactQuery q;
    for (int i = 1; i <= properties; ++i) q.properties.emplace_back("p" + std::to_string(i), "x");
    if (mask & 1) q.search = "ann";
    if (mask & 2) q.created_from_ms = 0;
    if (mask & 4) q.created_to_ms = int64_t{1} << 50;
    return q;
  };
  int shapes = 0;
  for (int properties = 0; properties <= 20; ++properties) {
    for (int mask = 0; mask < 8; ++mask) {
      auto r = Must(one->ListContacts(a.id, query(properties, mask)));
      EXPECT_EQ(r.size(), properties <= 1 ? 1u : 0u) << properties << " " << mask;
      ++shapes;
    }
  }
  ASSERT_GT(shapes, static_cast<int>(PgStore::kStatementCacheSize));
  EXPECT_LE(Must(pg->PreparedStatementsForTesting()),
            static_cast<int64_t>(PgStore::kStatementCacheSize));

  auto again = Must(one->ListContacts(a.id, query(1, 1)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].phone, "+4520000001");
}

}  // namespace
}  // namespace smsconsent
