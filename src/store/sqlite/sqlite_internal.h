// Declarations the SQLite store's area files share (src/store/sqlite/ only): the row readers,
// the schema migration, the writing of change sets, and SqliteStore::Impl.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/row_readers.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/state_cache.h"
#include "store/store_rows.h"

namespace smsconsent {
namespace sqlite_detail {

using namespace store_rows;  // the helpers both backends share

// Row readers: store/row_readers.h (a Stmt is their Row).

// ---- Schema (sqlite_schema.cc) -------------------------------------------------------------

// Applies the pending migrations in one write transaction.
Status Migrate(Connection& impl);

// ---- Statuses and change sets --------------------------------------------------------------

// Sets one status row (ReplaceStatuses, and change sets).
inline constexpr char kUpsertStatusSql[] =
    "INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, source, "
    "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = excluded.status, "
    "self_opted_out = excluded.self_opted_out, source = excluded.source, "
    "updated_at_ms = excluded.updated_at_ms";

// Sets one status row as an event leaves it, with the pair's count of events (change sets).
inline constexpr char kWriteStatusSql[] =
    "INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, source, "
    "updated_at_ms, events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = excluded.status, "
    "self_opted_out = excluded.self_opted_out, source = excluded.source, "
    "updated_at_ms = excluded.updated_at_ms, events = excluded.events";

// The trigger that refuses changes to stored events (migration 12; DebugOverwriteEvent lifts it
// for its own transaction only).
inline constexpr char kEventsUnchangeableSql[] =
    "CREATE TRIGGER events_unchangeable BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, "
    "'the consent ledger is append-only'); END";

// Runs one statement through the connection's statement cache (sqlite_ledger.cc).
Status RunSql(Connection& impl, const char* sql, std::string_view what);

// Writes a job chunk's change sets of one account inside the caller's write transaction
// (store/write_changes.h); the first failing one's error fails them all (sqlite_ledger.cc).
Result<std::vector<CommitResult>> WriteChangeSets(Connection& impl, int64_t account_id,
                                                  const std::vector<ChangeSet>& changes);

}  // namespace sqlite_detail

// ---- The store's state -----------------------------------------------------------------------

// Answers kept by the consent check's cache (state_cache.h): some 90 bytes each with their
// hash-table nodes (an estimate), so at most about 24 MiB; enough for a business's whole
// recipient list of a quarter million phones.
constexpr size_t kStateCacheAnswers = 262'144;

struct SqliteStore::Impl : sqlite_detail::Connection {
  using Checkpointer = sqlite_detail::Checkpointer;
  using ReadLease = sqlite_detail::ReadLease;
  using ReaderSlot = sqlite_detail::ReaderSlot;

  std::vector<std::unique_ptr<ReaderSlot>> readers;  // none for :memory: (not shareable)
  std::atomic<size_t> next_reader{0};
  // The database's WAL-index header, for the consent check's cache; null (no cache) for
  // :memory:. Reads the writer connection's mapping, which lives as long as the store.
  std::unique_ptr<WalWatch> wal_watch;
  ContactStateCache state_cache{kStateCacheAnswers};
  // Last: stopped before the connections close. None for :memory:.
  std::unique_ptr<Checkpointer> checkpointer;

  // A free reader connection if there is one, else the next one in turn; the writer
  // connection (under the store's mutex) when there are no readers.
  ReadLease Read(std::mutex& writer_mu) {
    if (readers.empty()) return ReadLease(std::unique_lock<std::mutex>(writer_mu), this);
    const size_t n = readers.size();
    const size_t first = next_reader.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      ReaderSlot& r = *readers[(first + i) % n];
      std::unique_lock<std::mutex> lock(r.mu, std::try_to_lock);
      if (lock.owns_lock()) return ReadLease(std::move(lock), &r.conn);
    }
    ReaderSlot& r = *readers[first % n];
    return ReadLease(std::unique_lock<std::mutex>(r.mu), &r.conn);
  }
};

}  // namespace smsconsent
