// The baseline of the bulk opt-in benchmark (bench/bulk/run.sh): how long SQLite itself takes
// to insert N contact rows (phone, name, email; a unique index on the phone, as the contacts
// table has) in one transaction, with the store's durability settings (WAL, synchronous=FULL),
// through the C API with one prepared statement. The database lives under
// $SMSCONSENT_BENCH_DIR or the system temp directory.
//
//   build/smsconsent_bench --benchmark_filter=SqliteRawInsert --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

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

void BM_SqliteRawInsert(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const char* base = getenv("SMSCONSENT_BENCH_DIR");
  std::string tmpl =
      (std::filesystem::path(base != nullptr ? base : std::filesystem::temp_directory_path()) /
       "smsconsent-rawinsert-XXXXXX")
          .string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = (dir / ("raw" + std::to_string(run++) + ".db")).string();
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32768;"
             "CREATE TABLE contacts (id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, "
             "name TEXT NOT NULL, email TEXT NOT NULL)");
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO contacts (phone, name, email) VALUES (?1, ?2, ?3)", -1,
                       &s, nullptr);
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
    state.PauseTiming();
    sqlite3_finalize(s);
    sqlite3_close(db);
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SqliteRawInsert)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)
    ->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace smsconsent
