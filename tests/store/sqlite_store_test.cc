// SQLite-specific behaviour of SqliteStore, beyond the conformance suite: the durability
// settings, the migrations, the file-level failure modes and OpenStore's dispatch.
#include "store/sqlite/sqlite_store.h"
#include "../app/test_clock.h"
#include "app/consent_service.h"
#include "app/ledger_service.h"
#include "app/proof.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "core/proof_verify.h"
#include "core/tree_head.h"
#include "store/sqlite/state_cache.h"
#include "store/store_rows.h"

#include "legacy_status_rows.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace smsconsent {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "smsconsent-sqlite-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A second, independent connection to the same file, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  // The first column of the first row as text ("" when there is none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // The details of `sql`'s query plan, one step per line.
  std::string Plan(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) !=
        SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
      out += "\n";
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::unique_ptr<ConsentStore> MustOpen(const std::string& path) {
  auto r = SqliteStore::Open(path);
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).value();
}

// An account with one sender number, as the tests below need.
struct AccountWithNumber {
  int64_t account_id = 0;
  int64_t number_id = 0;
  std::string number;
};
AccountWithNumber AddAccountWithNumber(ConsentStore& store) {
  Account a;
  a.name = "a";
  auto acct = store.CreateAccount(a, "");
  if (!acct.ok()) throw std::runtime_error(acct.status().ToString());
  SenderNumber n;
  n.account_id = acct->id;
  n.number = "+4520123456";
  n.rate_mmps = kUnspacedRateMmps;  // several of its items are claimed at one instant
  auto number = store.AddNumber(n);
  if (!number.ok()) throw std::runtime_error(number.status().ToString());
  return {acct->id, number->id, n.number};
}

// What migrations 15 and later added, newest first: a file rewritten as an older version wrote
// it starts by dropping them. Each new migration adds its undo at the top.
constexpr const char* kUndoSinceMigration15[] = {
    "ALTER TABLE sender_numbers DROP COLUMN frequency_cap",
    "DROP INDEX outbox_due_replies",
    "ALTER TABLE sender_numbers DROP COLUMN rate_mmps",
    "ALTER TABLE sender_numbers DROP COLUMN next_send_at_us",
    "DROP INDEX outbox_by_provider_message_id",
    "ALTER TABLE outbox DROP COLUMN delivery",
    "ALTER TABLE outbox DROP COLUMN delivery_error",
    "ALTER TABLE outbox DROP COLUMN delivery_updated_at_ms",
    "ALTER TABLE accounts DROP COLUMN quiet_hours",
    "ALTER TABLE sender_numbers DROP COLUMN double_opt_in",
    "ALTER TABLE sender_numbers DROP COLUMN reply_confirmation_request",
    "DROP INDEX outbox_by_idempotency_key",
    "ALTER TABLE sender_numbers DROP COLUMN quiet_hours",
    "ALTER TABLE sender_numbers DROP COLUMN opt_out_notice",
    "ALTER TABLE outbox DROP COLUMN notice",
    "ALTER TABLE outbox DROP COLUMN purpose",
    "ALTER TABLE outbox DROP COLUMN send_at_ms",
    "ALTER TABLE outbox DROP COLUMN idempotency_key",
    "ALTER TABLE outbox DROP COLUMN request_hash",
};

// Makes the closed file at `path`, written by this version, what version 11 wrote: every
// event a link of its account's hash chain (format 1, prev_hash and hash from ComputeEventHash),
// and nothing of migrations 12 to 15 (the messages' outbox columns, the kept batch documents; the
// events' format, batch_hash and nth, the statuses' event counts, the outbox's queued_after_event,
// the tree's tables and the trigger that refuses changes to events). Returns the events as the file
// now holds them.
std::vector<ConsentEvent> RewriteAsVersion11(const std::string& path) {
  std::vector<ConsentEvent> events;  // by account, each in seq order
  {
    auto store = MustOpen(path);
    auto accounts = store->ListAccounts();
    if (!accounts.ok()) throw std::runtime_error(accounts.status().ToString());
    for (const Account& a : *accounts) {
      EventQuery q;
      while (true) {
        auto page = store->ListEvents(a.id, q);
        if (!page.ok()) throw std::runtime_error(page.status().ToString());
        if (page->empty()) break;
        q.after_seq = page->back().seq;
        events.insert(events.end(), page->begin(), page->end());
      }
    }
  }
  RawDb raw(path);
  auto exec = [&](const std::string& sql) {
    if (raw.Exec(sql) != SQLITE_OK) throw std::runtime_error("failed: " + sql);
  };
  exec("DROP TRIGGER events_unchangeable");
  std::map<int64_t, std::string> head;  // account -> its last hash
  for (ConsentEvent& e : events) {
    auto [it, fresh] = head.emplace(e.account_id, kGenesisHash);
    e.format = 1;
    e.nth = 0;
    e.batch_hash.clear();
    e.prev_hash = it->second;
    e.hash = ComputeEventHash(e);
    it->second = e.hash;
    exec("UPDATE events SET prev_hash = '" + e.prev_hash + "', hash = '" + e.hash +
         "' WHERE id = " + std::to_string(e.id));
  }
  for (const char* sql : kUndoSinceMigration15) exec(sql);
  for (const char* sql :
       {"DROP TABLE evidence_batches", "DROP TABLE ledger_keys", "DROP TABLE tree_heads",
        "DROP TABLE ledger_nodes", "DROP TABLE ledger_trees",
        "ALTER TABLE outbox DROP COLUMN queued_after_event",
        "ALTER TABLE statuses DROP COLUMN events", "ALTER TABLE events DROP COLUMN nth",
        "ALTER TABLE events DROP COLUMN batch_hash", "ALTER TABLE events DROP COLUMN format",
        "DELETE FROM schema_migrations WHERE version >= 12", "PRAGMA user_version = 11"}) {
    exec(sql);
  }
  return events;
}

TEST(SqliteStore, DurabilityPragmasAreInForce) {
  TempDir dir;
  auto store = MustOpen(dir.File("c.db"));
  auto* sqlite = dynamic_cast<SqliteStore*>(store.get());
  ASSERT_NE(sqlite, nullptr);
  auto pragma = [&](const char* name) {
    auto r = sqlite->PragmaForTesting(name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::string();
  };
  EXPECT_EQ(pragma("journal_mode"), "wal");
  EXPECT_EQ(pragma("synchronous"), "2");  // FULL
  EXPECT_EQ(pragma("foreign_keys"), "1");
  EXPECT_EQ(pragma("busy_timeout"), "5000");
  EXPECT_EQ(pragma("temp_store"), "2");  // MEMORY: savepoint journals of group commits
  EXPECT_EQ(sqlite->PragmaForTesting("cache_size").status().code(), StatusCode::kInvalidArgument);

  // WAL is a property of the file: another connection sees it too.
  RawDb raw(dir.File("c.db"));
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
}

// migrate-store copies the tables TransferTables() lists (src/store/transfer.cc): a table or
// column added by a migration and not listed there would be lost in a move.
TEST(SqliteStore, TransferTablesListEveryTableAndColumnOfTheSchema) {
  TempDir dir;
  auto store = MustOpen(dir.File("t.db"));
  RawDb raw(dir.File("t.db"));
  std::string listed;
  for (const TransferTable& t : TransferTables()) {
    listed += (listed.empty() ? "" : ",") + std::string(t.name);
    std::string columns;
    for (const TransferColumn& c : t.columns) {
      columns += (columns.empty() ? "" : ",") + std::string(c.name);
    }
    EXPECT_EQ(raw.Query("SELECT group_concat(name, ',') FROM (SELECT name FROM "
                        "pragma_table_info('" +
                        std::string(t.name) + "') ORDER BY cid)"),
              columns)
        << t.name;
  }
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT IN "
                      "('schema_migrations', 'sqlite_sequence')"),
            std::to_string(TransferTables().size()))
      << "tables listed: " << listed;
}

TEST(SqliteStore, MigrationsAreAppliedOnceAndSurviveReopen) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  const std::string latest = std::to_string(SqliteStore::LatestSchemaVersion());
  {
    auto store = MustOpen(path);
    Account a;
    a.name = "kept";
    ASSERT_TRUE(store->CreateAccount(a, "h").ok());
  }
  for (int i = 0; i < 2; ++i) {
    auto store = MustOpen(path);
    auto accounts = store->ListAccounts();
    ASSERT_TRUE(accounts.ok());
    ASSERT_EQ(accounts->size(), 1u);
    EXPECT_EQ((*accounts)[0].name, "kept");
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM schema_migrations"), latest);
  EXPECT_EQ(raw.Query("SELECT MAX(version) FROM schema_migrations"), latest);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), latest);
}

// A file written while no-change events still moved since and source: opening it sets those
// rows to their pair's last change, and leaves a row that disagrees with the ledger otherwise.
TEST(SqliteStore, MigrationSetsRowsMovedByNoChangeEventsToTheirLastChange) {
  TempDir dir;
  const std::string path = dir.File("legacy.db");
  legacy_rows::Case k;
  {
    auto store = MustOpen(path);
    k = legacy_rows::WriteLedger(*store);
  }
  RewriteAsVersion11(path);
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec(legacy_rows::OldRuleRowsSql(k)), SQLITE_OK);
    // A version-8 file: neither migration 9 nor the outbox column of 10, nor later tables.
    ASSERT_EQ(raw.Exec("ALTER TABLE outbox DROP COLUMN queued_at_seq"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("DROP TABLE review_items"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("DELETE FROM schema_migrations WHERE version >= 9"), SQLITE_OK);
  }
  auto store = MustOpen(path);
  legacy_rows::ExpectLastChanges(*store, k);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT MAX(version) FROM schema_migrations"),
            std::to_string(SqliteStore::LatestSchemaVersion()));
}

// A file of version 13 kept the input of finished jobs; opening it deletes that input and
// keeps the input of a job still to run.
TEST(SqliteStore, MigrationDeletesTheInputOfFinishedJobs) {
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    account_id = AddAccountWithNumber(*store).account_id;
  }
  {
    RawDb raw(path);
    for (const char* state : {"done", "failed", "queued", "running"}) {
      ASSERT_EQ(raw.Exec("INSERT INTO jobs (account_id, kind, idempotency_key, request, state, "
                         "input_chunks, created_at_ms, updated_at_ms) VALUES (" +
                         std::to_string(account_id) + ", 'import_contacts', '" + state +
                         "', '{}', '" + state + "', 2, 1, 1)"),
                SQLITE_OK);
    }
    ASSERT_EQ(raw.Exec("INSERT INTO job_inputs (job_id, chunk, data) SELECT id, c.n, "
                       "x'70686f6e65' FROM jobs, (SELECT 0 AS n UNION ALL SELECT 1) AS c"),
              SQLITE_OK);
    for (const char* undo : kUndoSinceMigration15) ASSERT_EQ(raw.Exec(undo), SQLITE_OK) << undo;
    for (const char* undo : {"DELETE FROM schema_migrations WHERE version >= 14"}) {
      ASSERT_EQ(raw.Exec(undo), SQLITE_OK) << undo;
    }
  }
  MustOpen(path);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT group_concat(j.state || ':' || i.chunk, ' ') FROM job_inputs i "
                      "JOIN jobs j ON j.id = i.job_id ORDER BY j.id, i.chunk"),
            "queued:0 queued:1 running:0 running:1");
  EXPECT_EQ(raw.Query("SELECT group_concat(input_chunks, ' ') FROM jobs ORDER BY id"), "2 2 2 2");
}

// A file of version 11, whose ledger is a hash chain, opened by this version: the chain still
// verifies, integration makes its events the first leaves of the account's tree (their v1
// encoding, as hashed), new events are tree leaves only and continue its seq and each pair's
// count, and a proof over both kinds verifies with the installation's public key alone.
TEST(SqliteStore, AVersion11ChainBecomesTheStartOfTheTree) {
  TempDir dir;
  const std::string path = dir.File("v11.db");
  int64_t account = 0, number = 0, alice = 0, bob = 0;
  {
    auto store = MustOpen(path);
    Account a;
    a.name = "upgraded";
    a.marketing_sms_access = true;
    account = store->CreateAccount(a, "").value().id;
    SenderNumber n;
    n.account_id = account;
    n.number = "+4520123456";
    n.country = "DK";
    number = store->AddNumber(n).value().id;
    Contact c;
    c.account_id = account;
    c.phone = "+4511111111";
    alice = store->AddContact(c).value().id;
    c.phone = "+4522222222";
    bob = store->AddContact(c).value().id;
    const std::vector<EventDraft> drafts = {
        legacy_rows::Draft(store->GetContact(account, alice).value(), number, kNone, kIn,
                           Source::kKeyword, 1000),
        legacy_rows::Draft(store->GetContact(account, bob).value(), number, kNone, kIn,
                           Source::kManual, 2000),
        legacy_rows::Draft(store->GetContact(account, alice).value(), number, kIn, kOut,
                           Source::kKeyword, 3000),
    };
    for (const EventDraft& d : drafts) {
      ChangeSet changes;
      changes.events = {d};
      ASSERT_TRUE(store->Commit(account, changes).ok());
    }
  }
  const std::vector<ConsentEvent> chain = RewriteAsVersion11(path);
  ASSERT_EQ(chain.size(), 3u);
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Query("SELECT MAX(version) FROM schema_migrations"), "11");
    ASSERT_EQ(raw.Query("SELECT hash FROM events WHERE seq = 3"), chain[2].hash);
  }

  auto store = MustOpen(path);  // migration 12
  TestClock clock{kT0};
  ConsentService svc(*store, clock);
  auto events = store->ListEvents(account, {});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*events)[i].format, 1);
    EXPECT_EQ((*events)[i].prev_hash, chain[i].prev_hash);
    EXPECT_EQ((*events)[i].hash, chain[i].hash);
  }
  auto check = svc.VerifyLedger(account);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->ok()) << check->chain_failure.value_or("status mismatch");
  EXPECT_EQ(check->events, 3);

  // The chain's events are the tree's first leaves, each its v1 encoding as it was hashed.
  auto tree = store->IntegrateLedger(account, 1000, kT0);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->size, 3);
  std::vector<merkle::Hash> leaves;
  for (const ConsentEvent& e : chain) {
    leaves.push_back(merkle::LeafHash(CanonicalEventEncoding(e)));
    EXPECT_EQ(Sha256Hex(CanonicalEventEncoding(e)), e.hash);
  }
  EXPECT_EQ(tree->root, merkle::RootOf(leaves));

  // New events are tree leaves only, after the chain.
  {
    ChangeSet changes;
    changes.events = {legacy_rows::Draft(store->GetContact(account, alice).value(), number, kOut,
                                         kIn, Source::kManual, 4000),
                      legacy_rows::Draft(store->GetContact(account, bob).value(), number, kIn, kOut,
                                         Source::kKeyword, 4000)};
    auto r = store->Commit(account, changes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto all = store->ListEvents(account, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  const ConsentEvent& again = (*all)[3];
  EXPECT_EQ(again.seq, 4);
  EXPECT_EQ(again.format, 2);
  EXPECT_TRUE(again.prev_hash.empty() && again.hash.empty());
  EXPECT_EQ(again.contact_id, alice);
  EXPECT_EQ(again.nth, 3);  // alice's third event on the number, after her two chained ones
  EXPECT_EQ((*all)[4].seq, 5);
  EXPECT_EQ((*all)[4].format, 2);
  EXPECT_EQ((*all)[4].nth, 2);

  // A proof for alice holds both kinds and verifies with the public key alone.
  SigningKey key = std::move(SigningKey::Generate()).value();
  LedgerService ledger(*store, clock, key);
  ASSERT_TRUE(ledger.RegisterKey().ok());
  ProofSubject subject;
  subject.contact_id = alice;
  auto proof = BuildConsentProof(svc, *store, ledger, clock, account, subject);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(proof->ledger.ok) << proof->ledger.failure.value_or("");
  EXPECT_EQ(proof->ledger.head.head.size, 5);
  ASSERT_EQ(proof->events.size(), 3u);
  EXPECT_EQ(proof->events[0].event.format, 1);
  EXPECT_EQ(proof->events[1].event.format, 1);
  EXPECT_EQ(proof->events[2].event.format, 2);
  for (const ProofEvent& e : proof->events) EXPECT_TRUE(e.included) << e.event.seq;
  ProofCheck verified = VerifyProofDocument(ProofToJson(*proof), key.PublicKeyRaw());
  EXPECT_TRUE(verified.ok) << nlohmann::json(verified.problems).dump();
  check = svc.VerifyLedger(account);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->chain_failure.value_or("status mismatch");
  EXPECT_EQ(check->tree_size, 5);
  EXPECT_GE(check->heads_checked, 1);
}

TEST(SqliteStore, SchemaFromANewerVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.File("n.db");
  MustOpen(path).reset();
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')"),
              SQLITE_OK);
  }
  auto r = SqliteStore::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("9999"), std::string::npos) << r.status().ToString();
}

TEST(SqliteStore, MissingDirectoryIsAClearNotFound) {
  TempDir dir;
  const std::string missing = dir.File("no/such/dir");
  auto r = SqliteStore::Open(missing + "/x.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("directory '" + missing + "' does not exist"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST(SqliteStore, AFileThatIsNotADatabaseIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(8192, 'x');
  }
  auto r = SqliteStore::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
}

TEST(SqliteStore, TheLedgerTableRefusesDeletes) {
  TempDir dir;
  const std::string path = dir.File("l.db");
  auto store = MustOpen(path);
  const AccountWithNumber an = AddAccountWithNumber(*store);
  Contact c;
  c.account_id = an.account_id;
  c.phone = "+4511111111";
  auto contact = store->AddContact(c);
  ASSERT_TRUE(contact.ok());
  ChangeSet changes;
  EventDraft d;
  d.contact_id = contact->id;
  d.number_id = an.number_id;
  d.to = SubscriptionStatus::kOptedIn;
  changes.events.push_back(d);
  ASSERT_TRUE(store->Commit(an.account_id, changes).ok());

  RawDb raw(path);
  EXPECT_NE(raw.Exec("DELETE FROM events"), SQLITE_OK);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM events"), "1");
}

// The dispatcher's claim walks only pending replies; a reply answered in the webhook's response
// (stored as sent) is not in that index at all.
TEST(SqliteStore, OnlyPendingRepliesAreInTheDispatchersIndex) {
  TempDir dir;
  const std::string path = dir.File("o.db");
  auto store = MustOpen(path);
  const AccountWithNumber an = AddAccountWithNumber(*store);
  ChangeSet changes;
  for (const char* channel :
       {store_rows::kChannelResponse, store_rows::kChannelApi, store_rows::kChannelResponse}) {
    OutboxItem o;
    o.number_id = an.number_id;
    o.to = "+4511111111";
    o.from = an.number;
    o.body = "Reply";
    o.channel = channel;
    changes.outbox.push_back(o);
  }
  ASSERT_TRUE(store->Commit(an.account_id, changes).ok());

  RawDb raw(path);
  const std::string plan = raw.Plan(
      "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at_ms <= 5 ORDER BY id "
      "LIMIT 10");
  EXPECT_NE(plan.find("outbox_due"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;  // no sort: id order
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM outbox INDEXED BY outbox_due WHERE state = 'pending'"),
            "1");
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM outbox"), "3");
  OutboxClaim claim;
  claim.now_ms = 1;
  claim.limit = 10;
  claim.owner = "me";
  claim.lease_ms = 1000;
  auto claimed = store->ClaimOutbox(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->items.size(), 1u);
  EXPECT_EQ(claimed->items[0].channel, store_rows::kChannelApi);
}

// A file from before the outbox recorded the ledger seq of each reply: migration 10 derives it
// for the replies still to be sent from the times stored, so that a confirmation queued before
// the upgrade and made stale by a STOP is cancelled after it, not sent.
TEST(SqliteStore, MigrationTenGivesRepliesStillToBeSentTheirLedgerSeq) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  int64_t confirmation = 0, sent = 0;
  {
    auto store = MustOpen(path);
    const AccountWithNumber an = AddAccountWithNumber(*store);
    Contact c;
    c.account_id = an.account_id;
    c.phone = "+4511111111";
    c = store->AddContact(c).value();
    auto decide = [&](SubscriptionStatus from, SubscriptionStatus to, ReplyKind kind,
                      int64_t at_ms) {
      ChangeSet changes;
      EventDraft e;
      e.contact_id = c.id;
      e.phone = c.phone;
      e.number_id = an.number_id;
      e.sender = an.number;
      e.from = from;
      e.to = to;
      e.source = to == SubscriptionStatus::kOptedOut ? Source::kKeyword : Source::kManual;
      e.actor = "a";
      e.at_ms = at_ms;
      e.evidence = "{}";
      changes.events = {e};
      OutboxItem o;
      o.number_id = an.number_id;
      o.contact_id = c.id;
      o.to = c.phone;
      o.from = an.number;
      o.body = "reply";
      o.kind = kind;
      o.created_at_ms = at_ms;
      o.next_attempt_at_ms = at_ms;
      changes.outbox = {o};
      auto r = store->Commit(an.account_id, changes);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      return r->outbox.at(0).id;
    };
    sent = decide(SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                  ReplyKind::kOptInConfirmation, 1000);
    confirmation = decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut,
                          ReplyKind::kOptOutConfirmation, 2000);
    confirmation = decide(SubscriptionStatus::kOptedOut, SubscriptionStatus::kOptedIn,
                          ReplyKind::kOptInConfirmation, 3000);
    decide(SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut,
           ReplyKind::kOptOutConfirmation, 4000);
  }
  RewriteAsVersion11(path);
  {
    // As a version-9 file has it: no column, the first reply sent long ago.
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("UPDATE outbox SET state = 'sent' WHERE id = " + std::to_string(sent)),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec("ALTER TABLE outbox DROP COLUMN queued_at_seq"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("DROP TABLE review_items"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("DELETE FROM schema_migrations WHERE version >= 10"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 9"), SQLITE_OK);
  }
  auto store = MustOpen(path);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT MAX(version) FROM schema_migrations"),
            std::to_string(SqliteStore::LatestSchemaVersion()));
  EXPECT_EQ(raw.Query("SELECT group_concat(queued_at_seq, ',') FROM (SELECT queued_at_seq FROM "
                      "outbox ORDER BY id)"),
            "0,2,3,4");
  // The rewrite took the number's rate away with migration 16's column; both confirmations are
  // claimed at one instant below.
  ASSERT_EQ(raw.Exec("UPDATE sender_numbers SET rate_mmps = -1"), SQLITE_OK);
  OutboxClaim claim;
  claim.now_ms = 5000;
  claim.limit = 10;
  claim.owner = "me";
  claim.lease_ms = 1000;
  auto got = store->ClaimOutbox(claim);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->retired.size(), 1u);
  EXPECT_EQ(got->retired[0].id, confirmation);
  EXPECT_EQ(got->retired[0].state, OutboxState::kCancelled);
  EXPECT_EQ(got->items.size(), 2u);  // the two opt-out confirmations
}

// The claim walks the pending replies by the dispatcher's index, and reads each one's contact's
// status and events by key, not by scanning.
TEST(SqliteStore, TheClaimsStatusCheckUsesIndexes) {
  TempDir dir;
  const std::string path = dir.File("p.db");
  auto store = MustOpen(path);
  RawDb raw(path);
  const std::string plan = raw.Plan(
      "SELECT id, COALESCE((SELECT s.status FROM statuses s WHERE s.account_id = "
      "outbox.account_id AND s.contact_id = outbox.contact_id AND s.number_id = "
      "outbox.number_id), 'not_specified'), EXISTS (SELECT 1 FROM events e WHERE "
      "e.account_id = outbox.account_id AND e.contact_id = outbox.contact_id AND e.number_id = "
      "outbox.number_id AND e.seq > outbox.queued_at_seq AND e.from_status <> e.to_status) FROM "
      "outbox WHERE state = 'pending' AND next_attempt_at_ms <= 5 ORDER BY id LIMIT 1");
  EXPECT_NE(plan.find("outbox_due"), std::string::npos) << plan;
  EXPECT_NE(plan.find("events_by_contact"), std::string::npos) << plan;
  EXPECT_NE(plan.find("PRIMARY KEY"), std::string::npos) << plan;  // statuses, WITHOUT ROWID
  EXPECT_EQ(plan.find("SCAN e"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN s"), std::string::npos) << plan;
}

// The writer never checkpoints the WAL itself: a background connection does, once the WAL
// passes 8000 pages. Pages reach the database file only through a checkpoint, so the file
// growing while the store is open (and no other connection checkpoints) shows it runs.
TEST(SqliteStore, WalIsCheckpointedInTheBackground) {
  TempDir dir;
  const std::string path = dir.File("w.db");
  auto store = MustOpen(path);
  Account a;
  a.name = "a";
  auto acct = store->CreateAccount(a, "");
  ASSERT_TRUE(acct.ok());
  const auto initial = std::filesystem::file_size(path);
  // About 40 MB of contacts: some 10,000 pages of 4 KiB (past the 8000-page threshold), in
  // transactions of 100.
  const std::string padding(4000, 'x');
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<ChangeSet> sets(100);
    std::vector<BatchItem> items;
    for (int i = 0; i < 100; ++i) {
      Contact c;
      c.account_id = acct->id;
      c.phone = "+45" + std::to_string(20000000 + batch * 100 + i);
      c.name = padding;
      sets[i].new_contact = c;
      items.push_back(BatchItem{acct->id, &sets[i]});
    }
    for (const auto& r : store->CommitBatch(items)) ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::uintmax_t size = initial;
  for (int i = 0; i < 200 && size < initial + 20'000'000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size = std::filesystem::file_size(path);
  }
  EXPECT_GE(size, initial + 20'000'000) << "the database file did not grow: no checkpoint ran";
}

// Moves a contact from one status to another on `an`'s number, at `at_ms`.
void ChangeStatus(ConsentStore& store, const AccountWithNumber& an, const Contact& c,
                  SubscriptionStatus from, SubscriptionStatus to, int64_t at_ms) {
  ChangeSet changes;
  EventDraft d;
  d.contact_id = c.id;
  d.phone = c.phone;
  d.number_id = an.number_id;
  d.sender = an.number;
  d.from = from;
  d.to = to;
  d.source = Source::kManual;
  d.actor = "user:test";
  d.at_ms = at_ms;
  d.evidence = R"({"explanation":"test"})";
  changes.events.push_back(d);
  auto committed = store.Commit(an.account_id, changes);
  if (!committed.ok()) throw std::runtime_error(committed.status().ToString());
}

// A contact of `an`'s account with a status on its number, for the consent cache's tests.
Contact AddContactWithStatus(ConsentStore& store, const AccountWithNumber& an,
                             const std::string& phone, SubscriptionStatus status, int64_t at_ms) {
  Contact c;
  c.account_id = an.account_id;
  c.phone = phone;
  c.created_at_ms = 1000;
  auto added = store.AddContact(c);
  if (!added.ok()) throw std::runtime_error(added.status().ToString());
  ChangeStatus(store, an, *added, SubscriptionStatus::kNotSpecified, status, at_ms);
  return *added;
}

ConsentCacheCounts Counts(ConsentStore& store) { return store.CacheCounts(); }

TEST(SqliteStore, ConsentCacheAnswersOnlyWhileNothingWasCommitted) {
  TempDir dir;
  const std::string path = dir.File("cache.db");
  auto serve = MustOpen(path);
  const AccountWithNumber an = AddAccountWithNumber(*serve);
  const Contact c =
      AddContactWithStatus(*serve, an, "+4520000001", SubscriptionStatus::kOptedIn, 5000);

  auto first = serve->FindContactState(an.account_id, c.phone, an.number_id);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->state.status, SubscriptionStatus::kOptedIn);
  auto again = serve->FindContactState(an.account_id, c.phone, an.number_id);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->state.status, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(Counts(*serve).hits, 1u) << "the second check was not answered from the cache";

  // Another process's store (the CLI, another `serve`) opts the contact out.
  {
    auto cli = MustOpen(path);
    ChangeStatus(*cli, an, c, SubscriptionStatus::kOptedIn, SubscriptionStatus::kOptedOut, 6000);
  }
  auto after_cli = serve->FindContactState(an.account_id, c.phone, an.number_id);
  ASSERT_TRUE(after_cli.ok() && after_cli->has_value());
  EXPECT_EQ((*after_cli)->state.status, SubscriptionStatus::kOptedOut);
  EXPECT_EQ((*after_cli)->state.updated_at_ms, 6000);

  // This store's own write.
  ChangeStatus(*serve, an, c, SubscriptionStatus::kOptedOut, SubscriptionStatus::kOptedIn, 7000);
  auto after_own = serve->FindContactState(an.account_id, c.phone, an.number_id);
  ASSERT_TRUE(after_own.ok() && after_own->has_value());
  EXPECT_EQ((*after_own)->state.status, SubscriptionStatus::kOptedIn);

  // A program that is not smsconsent at all, writing with plain SQL.
  (void)serve->FindContactState(an.account_id, c.phone, an.number_id);  // cached again
  RawDb raw(path);
  ASSERT_EQ(raw.Exec("UPDATE statuses SET status = 'opted_out', updated_at_ms = 8000"), SQLITE_OK);
  auto after_raw = serve->FindContactState(an.account_id, c.phone, an.number_id);
  ASSERT_TRUE(after_raw.ok() && after_raw->has_value());
  EXPECT_EQ((*after_raw)->state.status, SubscriptionStatus::kOptedOut);
  EXPECT_EQ((*after_raw)->state.updated_at_ms, 8000);

  // "No such contact" is cached too, and ends when the contact is created elsewhere.
  const std::string later = "+4520000002";
  EXPECT_FALSE(serve->FindContactState(an.account_id, later, an.number_id)->has_value());
  const uint64_t hits = Counts(*serve).hits;
  EXPECT_FALSE(serve->FindContactState(an.account_id, later, an.number_id)->has_value());
  EXPECT_EQ(Counts(*serve).hits, hits + 1);
  {
    auto cli = MustOpen(path);
    AddContactWithStatus(*cli, an, later, SubscriptionStatus::kOptedIn, 9000);
  }
  auto created = serve->FindContactState(an.account_id, later, an.number_id);
  ASSERT_TRUE(created.ok() && created->has_value());
  EXPECT_EQ((*created)->state.status, SubscriptionStatus::kOptedIn);
}

// Linearizability under load: once a commit has returned (in another store, as another
// process would), no check that starts afterwards may answer from before it. One thread
// flips a contact's status through a second store, each flip a newer updated_at_ms; three
// threads check through the first store and compare the answer with the last flip that had
// returned before their check began.
TEST(SqliteStore, ConsentCacheNeverAnswersFromBeforeAReturnedCommit) {
  TempDir dir;
  const std::string path = dir.File("race.db");
  auto serve = MustOpen(path);
  const AccountWithNumber an = AddAccountWithNumber(*serve);
  const Contact c =
      AddContactWithStatus(*serve, an, "+4520000001", SubscriptionStatus::kOptedIn, 1);
  auto other = MustOpen(path);
  constexpr int kFlips = 150;
  std::atomic<int64_t> returned{1};  // updated_at_ms of the last flip that returned
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 3; ++t) {
    checkers.emplace_back([&] {
      while (!done.load()) {
        const int64_t floor = returned.load();
        auto r = serve->FindContactState(an.account_id, c.phone, an.number_id);
        if (!r.ok() || !r->has_value()) {
          errors.fetch_add(1);
          continue;
        }
        if ((*r)->state.updated_at_ms < floor) stale.fetch_add(1);
      }
    });
  }
  SubscriptionStatus s = SubscriptionStatus::kOptedIn;
  for (int i = 2; i < kFlips + 2; ++i) {
    const SubscriptionStatus next = s == SubscriptionStatus::kOptedIn
                                        ? SubscriptionStatus::kOptedOut
                                        : SubscriptionStatus::kOptedIn;
    ChangeStatus(*other, an, c, s, next, i);
    s = next;
    returned.store(i);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  done.store(true);
  for (auto& t : checkers) t.join();
  EXPECT_EQ(stale.load(), 0) << "checks answered from before a commit that had returned";
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(Counts(*serve).hits, 0u) << "the cache never answered: the test proves nothing";
  EXPECT_GT(Counts(*serve).misses, static_cast<uint64_t>(kFlips / 2));
}

// Every combination of contact filters is a query of its own shape, prepared on the
// connection that runs it. Clients choose the combinations, so the statements kept per
// connection are bounded, and one dropped from the cache is prepared again when needed.
TEST(SqliteStore, ContactSearchesKeepABoundedNumberOfPreparedStatements) {
  TempDir dir;
  auto store = MustOpen(dir.File("c.db"));
  auto* sqlite = dynamic_cast<SqliteStore*>(store.get());
  ASSERT_NE(sqlite, nullptr);
  const AccountWithNumber a = AddAccountWithNumber(*store);
  Contact c;
  c.account_id = a.account_id;
  c.phone = "+4520000001";
  c.name = "Ann";
  c.properties = R"({"p1":"x"})";
  ASSERT_TRUE(store->AddContact(c).ok());

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
      auto r = store->ListContacts(a.account_id, query(properties, mask));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->size(), properties <= 1 ? 1u : 0u) << properties << " " << mask;
      ++shapes;
    }
  }
  ASSERT_GT(shapes, static_cast<int>(SqliteStore::kStatementCacheSize));
  EXPECT_LE(sqlite->CachedStatementsForTesting(), SqliteStore::kStatementCacheSize);

  // The first shape was dropped long ago; it is prepared again and still answers.
  auto again = store->ListContacts(a.account_id, query(1, 1));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].phone, "+4520000001");
}

// Reads run on the reader connections: none of them waits while the writer connection is busy
// (held here as a commit waiting for its fsync would hold it), so a long search never holds up
// webhooks, and a busy writer never holds up a search.
TEST(SqliteStore, ReadsDoNotWaitForTheWriterConnection) {
  TempDir dir;
  auto store = MustOpen(dir.File("c.db"));
  auto* sqlite = dynamic_cast<SqliteStore*>(store.get());
  ASSERT_NE(sqlite, nullptr);
  const AccountWithNumber a = AddAccountWithNumber(*store);
  Contact c;
  c.account_id = a.account_id;
  c.phone = "+4520000001";
  c.name = "Ann";
  auto contact = store->AddContact(c);
  ASSERT_TRUE(contact.ok()) << contact.status().ToString();

  ContactQuery search;
  search.search = "ann";
  ContactQuery by_status;
  by_status.number_id = a.number_id;
  by_status.status = SubscriptionStatus::kNotSpecified;
  const std::vector<std::pair<std::string, std::function<Status()>>> reads = {
      {"ListContacts", [&] { return store->ListContacts(a.account_id, search).status(); }},
      {"ListContacts by status",
       [&] { return store->ListContacts(a.account_id, by_status).status(); }},
      {"GetContact", [&] { return store->GetContact(a.account_id, contact->id).status(); }},
      {"GetNumber", [&] { return store->GetNumber(a.account_id, a.number_id).status(); }},
      {"ListAccounts", [&] { return store->ListAccounts().status(); }},
      {"ListAllStatuses", [&] { return store->ListAllStatuses(a.account_id).status(); }},
      {"ListEvents", [&] { return store->ListEvents(a.account_id, EventQuery{}).status(); }},
      {"ListOutbox", [&] { return store->ListOutbox(a.account_id, OutboxQuery{}).status(); }},
      {"CountOutbox", [&] { return store->CountOutbox().status(); }},
      {"GetOutboxItem",
       [&] {
         Status st = store->GetOutboxItem(a.account_id, 1).status();
         return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
       }},
      {"GetJob",
       [&] {
         Status st = store->GetJob(a.account_id, 1).status();
         return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
       }},
      {"CountRows", [&] { return store->CountRows(TransferTables().front()).status(); }},
  };

  std::unique_lock<std::mutex> writer = sqlite->HoldWriterForTesting();
  std::vector<std::future<Status>> running;
  for (const auto& [name, read] : reads) running.push_back(std::async(std::launch::async, read));
  // Not a measure of speed: a read that needs the writer cannot finish at all while the test
  // holds it, and the limit only keeps a failing test from hanging.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<std::string> waited;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (running[i].wait_until(give_up) != std::future_status::ready) {
      waited.push_back(reads[i].first);
    }
  }
  writer.unlock();
  for (size_t i = 0; i < reads.size(); ++i) {
    const Status st = running[i].get();
    EXPECT_TRUE(st.ok()) << reads[i].first << ": " << st.ToString();
  }
  std::string names;
  for (const std::string& w : waited) names += " " + w;
  EXPECT_TRUE(waited.empty()) << "waited for the writer connection:" << names;
}

TEST(WalWatch, TheStampMovesWithEveryCommitAndOnlyThen) {
  TempDir dir;
  const std::string path = dir.File("stamp.db");
  auto store = MustOpen(path);  // creates the file in WAL mode
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "SELECT count(*) FROM accounts", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto watch = WalWatch::Attach(db);
  ASSERT_NE(watch, nullptr);
  const auto before = watch->Now();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(watch->Now(), before) << "no commit, yet the stamp moved";
  AddAccountWithNumber(*store);  // commits through the store's own connection
  const auto after = watch->Now();
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after, before);
  // A read changes nothing.
  ASSERT_EQ(sqlite3_exec(db, "SELECT count(*) FROM sender_numbers", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(watch->Now(), after);
  watch.reset();
  sqlite3_close_v2(db);

  // No shared memory, no watch: an in-memory database.
  sqlite3* mem = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &mem), SQLITE_OK);
  EXPECT_EQ(WalWatch::Attach(mem), nullptr);
  sqlite3_close_v2(mem);
}

TEST(ContactStateCache, AnswersOnlyUnderTheStampTheyWereStoredUnder) {
  ContactStateCache cache(1024);
  WalStamp s1;
  s1.words[2] = 1;
  WalStamp s2;
  s2.words[2] = 2;
  const uint64_t phone = *ContactStateCache::PhoneKey("+4520000001");
  ContactState state;
  state.contact_id = 7;
  state.state.status = SubscriptionStatus::kOptedIn;
  EXPECT_FALSE(cache.Find(s1, 1, phone, 1).has_value());
  cache.Store(s1, 1, phone, 1, state);
  auto hit = cache.Find(s1, 1, phone, 1);
  ASSERT_TRUE(hit.has_value() && hit->has_value());
  EXPECT_EQ((*hit)->contact_id, 7);
  EXPECT_FALSE(cache.Find(s2, 1, phone, 1).has_value());  // the database has changed since
  EXPECT_FALSE(cache.Find(s1, 2, phone, 1).has_value());  // another account
  EXPECT_FALSE(cache.Find(s1, 1, phone, 2).has_value());  // another number
  cache.Store(s1, 1, phone, 2, std::nullopt);             // no such contact, cached too
  auto none = cache.Find(s1, 1, phone, 2);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  // Storing under a newer stamp drops what was stored under the older one.
  cache.Store(s2, 1, *ContactStateCache::PhoneKey("+4520000002"), 1, state);
  cache.Store(s2, 1, phone, 1, std::nullopt);
  EXPECT_FALSE(cache.Find(s1, 1, phone, 1).has_value());
  EXPECT_EQ(cache.hits(), 2u);
}

TEST(ContactStateCache, KeepsAtMostItsCapacity) {
  ContactStateCache cache(16);  // one answer per shard
  WalStamp s;
  for (int i = 0; i < 1000; ++i) {
    cache.Store(s, 1, *ContactStateCache::PhoneKey("+45" + std::to_string(20000000 + i)), 1,
                std::nullopt);
  }
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    if (cache.Find(s, 1, *ContactStateCache::PhoneKey("+45" + std::to_string(20000000 + i)), 1)) {
      ++kept;
    }
  }
  EXPECT_LE(kept, 16);
  EXPECT_GE(kept, 1);
}

TEST(ContactStateCache, PhoneKeysAreDistinctForDistinctE164Texts) {
  EXPECT_NE(ContactStateCache::PhoneKey("+1"), ContactStateCache::PhoneKey("+01"));
  EXPECT_NE(ContactStateCache::PhoneKey("+4520000001"), ContactStateCache::PhoneKey("+452000001"));
  EXPECT_TRUE(ContactStateCache::PhoneKey("+999999999999999").has_value());    // 15 digits
  EXPECT_FALSE(ContactStateCache::PhoneKey("+9999999999999999").has_value());  // 16
  EXPECT_FALSE(ContactStateCache::PhoneKey("4520000001").has_value());
  EXPECT_FALSE(ContactStateCache::PhoneKey("+45 20000001").has_value());
  EXPECT_FALSE(ContactStateCache::PhoneKey("+").has_value());
}

TEST(OpenStore, DispatchesOnTheLocation) {
  TempDir dir;
  auto plain = OpenStore(dir.File("plain.db"));
  EXPECT_TRUE(plain.ok()) << plain.status().ToString();
  auto prefixed = OpenStore("sqlite:" + dir.File("prefixed.db"));
  EXPECT_TRUE(prefixed.ok()) << prefixed.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.File("prefixed.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("sqlite:prefixed.db")));

  // postgresql:// and postgres:// go to the PostgreSQL store (tests/store/pg_store_test.cc):
  // its own location errors, and a server that is not there.
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    auto pg = OpenStore(std::string(scheme) + "localhost/smsconsent?pool=0");
    ASSERT_FALSE(pg.ok());
    EXPECT_EQ(pg.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(pg.status().message().find("PostgreSQL"), std::string::npos);
  }
  auto down = OpenStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
  EXPECT_EQ(OpenStore("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:").status().code(), StatusCode::kInvalidArgument);
}

TEST(OutboxState, NamesRoundTrip) {
  ASSERT_EQ(AllOutboxStates().size(), 7u);
  for (OutboxState s : AllOutboxStates()) {
    auto parsed = ParseOutboxState(OutboxStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_STREQ(OutboxStateName(OutboxState::kPending), "pending");
  EXPECT_STREQ(OutboxStateName(OutboxState::kCancelled), "cancelled");
  EXPECT_STREQ(OutboxStateName(OutboxState::kExpired), "expired");
  EXPECT_EQ(ParseOutboxState("queued").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smsconsent
