// PostgreSQL specifics that the conformance suite cannot say for every backend: the location's
// parameters, reconnecting after the server dropped the store's connections, migrations
// racing in several processes, and several store objects (as several server instances would
// have) writing to one account at once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger.h"
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
  store_.reset();
  testing_pg::Exec("SET search_path TO \"" + schema_ + "\";\n" + legacy_rows::OldRuleRowsSql(k) +
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

  store_.reset();
  const std::string in = "\"" + schema_ + "\".";
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

TEST_F(PgStoreTest, TwoStoresWritingOneAccountKeepOneChain) {
  // Two store objects are two pools, as two server instances would have.
  std::unique_ptr<ConsentStore> other = Open();
  Account a = MakeAccount();
  SenderNumber n;
  n.account_id = a.id;
  n.number = "+4520123456";
  n.country = "DK";
  n = Must(store_->AddNumber(n));
  constexpr int kWriters = 4;
  constexpr int kCommits = 20;
  std::vector<Contact> contacts;
  for (int i = 0; i < kWriters; ++i) {
    Contact c;
    c.account_id = a.id;
    c.phone = "+451111111" + std::to_string(i);
    contacts.push_back(Must(store_->AddContact(c)));
  }
  std::atomic<int> failures{0};
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
          return;
        }
        cur = d.to;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  EventQuery q;
  q.limit = 10'000;
  auto events = Must(store_->ListEvents(a.id, q));
  ASSERT_EQ(events.size(), size_t{kWriters * kCommits});
  ChainVerifier v;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_TRUE(v.Add(events[i])) << *v.failure();
  }
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
  EventQuery q;
  auto events = Must(store_->ListEvents(a.id, q));
  EXPECT_EQ(events.size(), 10u);
  EXPECT_EQ(Must(store_->ListOutbox(a.id, OutboxQuery{})).size(), 10u);
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
