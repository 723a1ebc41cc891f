// The baseline of the bulk opt-in benchmark (bench/bulk/run.sh): how long SQLite itself takes
// to insert N contact rows (phone, name, email; a unique index on the phone, as the contacts
// table has) in one transaction, with the store's durability settings (WAL, synchronous=FULL),
// through the C API with one prepared statement. The database lives under
// $SMSCONSENT_BENCH_DIR or the system temp directory.
//
//   build/smsconsent_bench --benchmark_filter=SqliteRawInsert --benchmark_repetitions=3
//
// And the floor under a bulk opt-in on this schema (BM_SqliteSchemaInsert): the same C API
// writing, for each of N new contacts, exactly the rows a bulk opt-in must write -- the contact,
// its consent event (format 2: its row as evidence and the hex hash of the job's batch document,
// precomputed; the document itself is kept once per job, not per row) and its status row --
// into a database created by the store itself (its migrations: indexes, foreign keys, pragmas),
// committing every CHUNK rows as a job does (or in one transaction, as the raw insert does,
// when CHUNK >= ROWS). No parsing, planning or hashing: what SQLite alone
// needs for those rows.
//
//   build/smsconsent_bench --benchmark_filter=SqliteSchemaInsert
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "store/store.h"

namespace smsconsent {
namespace {

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(m);
  }
}

// A fresh directory under $SMSCONSENT_BENCH_DIR or the system temp directory.
std::filesystem::path MakeBenchDir(const std::string& prefix) {
  const char* base = getenv("SMSCONSENT_BENCH_DIR");
  std::string tmpl =
      (std::filesystem::path(base != nullptr ? base : std::filesystem::temp_directory_path()) /
       (prefix + "-XXXXXX"))
          .string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// Closes `db` and deletes its files, outside the timed part of an iteration.
void DropDatabase(benchmark::State& state, sqlite3* db, const std::string& path) {
  state.PauseTiming();
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  state.ResumeTiming();
}

void SetRowsPerSecond(benchmark::State& state, int64_t rows) {
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SqliteRawInsert(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const std::filesystem::path dir = MakeBenchDir("smsconsent-rawinsert");
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = (dir / ("raw" + std::to_string(run++) + ".db")).string();
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    Exec(db,
         "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32768;"
         "CREATE TABLE contacts (id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, "
         "name TEXT NOT NULL, email TEXT NOT NULL)");
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO contacts (phone, name, email) VALUES (?1, ?2, ?3)", -1, &s,
                       nullptr);
    state.ResumeTiming();
    Exec(db, "BEGIN");
    char phone[64], name[64], email[64];
    for (int64_t i = 0; i < rows; ++i) {
      std::snprintf(phone, sizeof phone, "+1415%03lld%04lld", static_cast<long long>(i / 10000),
                    static_cast<long long>(i % 10000));
      std::snprintf(name, sizeof name, "Person %lld", static_cast<long long>(i));
      std::snprintf(email, sizeof email, "p%lld@example.com", static_cast<long long>(i));
      sqlite3_bind_text(s, 1, phone, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 3, email, -1, SQLITE_TRANSIENT);
      if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      sqlite3_reset(s);
    }
    Exec(db, "COMMIT");
    sqlite3_finalize(s);
    DropDatabase(state, db, path);
  }
  std::filesystem::remove_all(dir);
  SetRowsPerSecond(state, rows);
}
BENCHMARK(BM_SqliteRawInsert)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

void BM_SqliteSchemaInsert(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const int64_t chunk = state.range(1);
  const std::filesystem::path dir = MakeBenchDir("smsconsent-schemainsert");
  // What bulk.cc writes as each event's evidence (its row) and batch_hash (the SHA-256 of the
  // job's batch document).
  const std::string evidence_prefix = R"({"row":)";
  const std::string hash(64, 'a');
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = (dir / ("schema" + std::to_string(run++) + ".db")).string();
    int64_t account_id = 0, number_id = 0;
    {
      auto store = OpenStore("sqlite:" + path);
      if (!store.ok()) throw std::runtime_error(store.status().ToString());
      Account a;
      a.name = "bench";
      a.marketing_sms_access = true;
      auto account = (*store)->CreateAccount(a, "");
      if (!account.ok()) throw std::runtime_error(account.status().ToString());
      SenderNumber n;
      n.account_id = account_id = account->id;
      n.number = "+15551234567";
      n.country = "US";
      n.business_name = "Bench";
      auto number = (*store)->AddNumber(n);
      if (!number.ok()) throw std::runtime_error(number.status().ToString());
      number_id = number->id;
    }
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    Exec(db,
         "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
         "PRAGMA cache_size = -32768");
    sqlite3_stmt* contact = nullptr;
    sqlite3_stmt* event = nullptr;
    sqlite3_stmt* status = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO contacts (account_id, phone, name, email, created_at_ms, "
                       "properties) VALUES (?1, ?2, ?3, ?4, 1764400000000, '{}')",
                       -1, &contact, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO events (account_id, seq, contact_id, phone, number_id, "
                       "sender, from_status, to_status, source, actor, at_ms, evidence, "
                       "prev_hash, hash, format, batch_hash, nth) VALUES (?1, ?2, ?3, ?4, ?5, "
                       "'+15551234567', 'not_specified', 'opted_in', 'bulk', 'cli', "
                       "1764400000000, ?6, '', '', 2, ?7, 1)",
                       -1, &event, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO statuses (account_id, contact_id, number_id, status, "
                       "self_opted_out, source, updated_at_ms) VALUES (?1, ?2, ?3, 'opted_in', "
                       "0, 'bulk', 1764400000000)",
                       -1, &status, nullptr);
    if (contact == nullptr || event == nullptr || status == nullptr) {
      throw std::runtime_error(sqlite3_errmsg(db));
    }
    auto step = [db](sqlite3_stmt* s) {
      if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      sqlite3_reset(s);
    };
    state.ResumeTiming();
    char phone[64], name[64], email[64];
    std::string evidence;
    for (int64_t i = 0; i < rows; ++i) {
      if (i % chunk == 0) Exec(db, "BEGIN");
      std::snprintf(phone, sizeof phone, "+1415%03lld%04lld", static_cast<long long>(i / 10000),
                    static_cast<long long>(i % 10000));
      std::snprintf(name, sizeof name, "Person %lld", static_cast<long long>(i));
      std::snprintf(email, sizeof email, "p%lld@example.com", static_cast<long long>(i));
      sqlite3_bind_int64(contact, 1, account_id);
      sqlite3_bind_text(contact, 2, phone, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(contact, 3, name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(contact, 4, email, -1, SQLITE_TRANSIENT);
      step(contact);
      const int64_t contact_id = sqlite3_last_insert_rowid(db);
      evidence = evidence_prefix + std::to_string(i + 2) + "}";
      sqlite3_bind_int64(event, 1, account_id);
      sqlite3_bind_int64(event, 2, i + 1);
      sqlite3_bind_int64(event, 3, contact_id);
      sqlite3_bind_text(event, 4, phone, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(event, 5, number_id);
      sqlite3_bind_text(event, 6, evidence.data(), static_cast<int>(evidence.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(event, 7, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
      step(event);
      sqlite3_bind_int64(status, 1, account_id);
      sqlite3_bind_int64(status, 2, contact_id);
      sqlite3_bind_int64(status, 3, number_id);
      step(status);
      if ((i + 1) % chunk == 0 || i + 1 == rows) Exec(db, "COMMIT");
    }
    for (sqlite3_stmt* s : {contact, event, status}) sqlite3_finalize(s);
    DropDatabase(state, db, path);
  }
  std::filesystem::remove_all(dir);
  SetRowsPerSecond(state, rows);
}
BENCHMARK(BM_SqliteSchemaInsert)
    ->ArgNames({"rows", "chunk"})
    ->ArgsProduct({{100'000, 1'000'000}, {1'000, 10'000, 1'000'000}})  // 1,000,000: one txn
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace smsconsent
