// Opening a SqliteStore (the writer connection, its readers and checkpointer) and its testing
// hooks.
#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "store/sqlite/sqlite_internal.h"

namespace smsconsent {

using namespace sqlite_detail;

// ---- Open ---------------------------------------------------------------------------------

// Reader connections: reads on the request path run on these, so they proceed while the
// writer connection is busy with a commit and its fsync (WAL lets readers and the writer work
// at once; a read sees every transaction committed before it started).
constexpr int kReaderConnections = 4;

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<ConsentStore>> SqliteStore::Open(const std::string& path) {
  if (path.empty()) return InvalidArgument("SQLite database path is empty");
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      return NotFound("cannot open SQLite database '" + path + "': directory '" + dir.string() +
                      "' does not exist");
    }
  }

  // SQLite keeps memory statistics by default, which takes a global mutex on every allocation
  // (several per statement). Nothing here reads them. This only works before SQLite is first
  // initialised, so it is done before the first connection opens; later calls are no-ops.
  static const int kMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemStatusOff;

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  impl->db.reset(raw);  // closed on every return path, also when open failed
  if (rc != SQLITE_OK) {
    return SqlError(raw, rc, "cannot open SQLite database '" + path + "'");
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  rc = sqlite3_create_function_v2(raw, "smsc_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                  &SqlFoldCase, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "registering smsc_fold()");

  Status st = ApplyPragmas(*impl, in_memory);
  if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
  st = Migrate(*impl);
  if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
  for (int i = 0; !in_memory && i < kReaderConnections; ++i) {
    auto slot = std::make_unique<ReaderSlot>();
    st = OpenReader(path, slot->conn);
    if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
    impl->readers.push_back(std::move(slot));
  }
  if (!in_memory) {
    auto checkpointer = Checkpointer::Start(path, impl->db.get());
    if (!checkpointer.ok()) {
      return Status(checkpointer.status().code(),
                    "opening '" + path + "': " + checkpointer.status().message());
    }
    impl->checkpointer = std::move(*checkpointer);
    impl->wal_watch = WalWatch::Attach(impl->db.get());
  }
  return std::unique_ptr<ConsentStore>(new SqliteStore(std::move(impl)));
}

size_t SqliteStore::CachedStatementsForTesting() {
  size_t most = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    most = impl_->stmts.size();
  }
  for (auto& r : impl_->readers) {
    std::lock_guard<std::mutex> lock(r->mu);
    most = std::max(most, r->conn.stmts.size());
  }
  return most;
}

std::unique_lock<std::mutex> SqliteStore::HoldWriterForTesting() {
  return std::unique_lock<std::mutex>(mu_);
}

ConsentCacheCounts SqliteStore::CacheCounts() const {
  return {impl_->state_cache.hits(), impl_->state_cache.misses()};
}

Result<std::string> SqliteStore::PragmaForTesting(const std::string& name) {
  static const std::set<std::string> kAllowed = {"journal_mode", "synchronous",  "foreign_keys",
                                                 "busy_timeout", "user_version", "temp_store"};
  if (kAllowed.count(name) == 0) return InvalidArgument("pragma not allowed: " + name);
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->PragmaText(name);
}

}  // namespace smsconsent
