// The SQLite connection machinery of SqliteStore: error mapping, the cached prepared statements,
// write transactions, reader connections and the WAL checkpointer.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/sqlite/sqlite_store.h"

namespace smsconsent::sqlite_detail {

// ---- Error mapping (sqlite_db.cc) --------------------------------------------------------

Status SqlError(sqlite3* db, int rc, std::string_view what);
bool IsUniqueViolation(int rc);

// ---- RAII and the statement cache -------------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A borrowed, cached prepared statement. Binding indexes are 1-based as in SQL ("?1");
// column indexes are 0-based as in sqlite3_column_*. Resets and clears bindings on scope exit
// so that the cached statement is ready for its next use and holds no read snapshot.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  // Binds without copying: `v` must outlive this Stmt (which resets the statement when it
  // goes). For the hot inserts, whose strings belong to the caller's change set or are the
  // enum names of core/consent.h (string literals).
  Stmt& BindRef(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& BindBool(int i, bool v) { return Bind(i, int64_t{v ? 1 : 0}); }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  // 0 means "none" for optional references; stored as NULL so that foreign keys hold.
  Stmt& BindIdOrNull(int i, int64_t id) {
    if (id == 0) {
      sqlite3_bind_null(s_, i);
    } else {
      sqlite3_bind_int64(s_, i, id);
    }
    return *this;
  }

  // true: a row is available; false: done. Errors carry `what`.
  Result<bool> Step(std::string_view what) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, sqlite3_extended_errcode(db_), what);
  }
  // For statements that return no rows; keeps the extended code for callers that branch on
  // constraint kinds.
  Status Run(std::string_view what, int* rc_out = nullptr) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
      if (rc_out != nullptr) *rc_out = SQLITE_OK;
      return Status::Ok();
    }
    int ext = sqlite3_extended_errcode(db_);
    if (rc_out != nullptr) *rc_out = ext;
    return SqlError(db_, ext, what);
  }

  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool Bool(int col) const { return sqlite3_column_int64(s_, col) != 0; }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    if (p == nullptr) return {};
    return std::string(static_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(s_, col);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// ---- A case fold for search (sqlite_db.cc) -----------------------------------------------

std::string FoldCase(std::string_view s);
// smsc_fold(text) in SQL: FoldCase of its argument.
void SqlFoldCase(sqlite3_context* ctx, int argc, sqlite3_value** argv);

// ---- The connection, its statement cache and transactions ---------------------------------

struct Connection {
  std::string path;
  DbPtr db;  // declared before the statements: they are finalized first
  // Statements of SQL in static storage (literals), by the address of their text: finding one
  // costs no string copy and no hash of the text. A fixed set, kept for the connection's life.
  std::unordered_map<const char*, StmtPtr> static_stmts;
  // Statements of SQL built at run time, most recently used first, and the same by their text.
  // Clients choose some of that SQL (a contact search's shape follows its filters), so at most
  // SqliteStore::kStatementCacheSize are kept and the least recently used one goes first. A
  // call holds only a few statements at once, far fewer than the cache keeps, so the one
  // dropped is never still in use.
  std::list<std::pair<std::string, StmtPtr>> stmts;
  std::unordered_map<std::string_view, std::list<std::pair<std::string, StmtPtr>>::iterator>
      stmts_by_sql;

  Result<StmtPtr> PrepareNew(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return SqlError(db.get(), rc, "preparing \"" + std::string(sql.substr(0, 60)) + "\"");
    }
    return StmtPtr(raw);
  }

  // Returns the cached prepared statement for `sql`, preparing it on first use. A statement
  // is used by one Stmt at a time; the connection's lock and the scoping of Stmt ensure that.
  Result<Stmt> Prepare(const std::string& sql) {
    auto it = stmts_by_sql.find(sql);
    if (it != stmts_by_sql.end()) {
      stmts.splice(stmts.begin(), stmts, it->second);
    } else {
      SMSC_ASSIGN_OR_RETURN(StmtPtr fresh, PrepareNew(sql));
      stmts.emplace_front(sql, std::move(fresh));
      stmts_by_sql.emplace(stmts.front().first, stmts.begin());
      if (stmts.size() > SqliteStore::kStatementCacheSize) {
        stmts_by_sql.erase(stmts.back().first);
        stmts.pop_back();
      }
    }
    sqlite3_stmt* s = stmts.front().second.get();
    if (sqlite3_stmt_busy(s)) return Internal("statement already in use: " + sql.substr(0, 60));
    return Stmt(db.get(), s);
  }
  // For a string literal (or another array with static storage duration: its address must
  // always hold this text).
  template <size_t N>
  Result<Stmt> Prepare(const char (&sql)[N]) {
    auto it = static_stmts.find(sql);
    if (it == static_stmts.end()) {
      SMSC_ASSIGN_OR_RETURN(StmtPtr fresh, PrepareNew(std::string_view(sql, N - 1)));
      it = static_stmts.emplace(sql, std::move(fresh)).first;
    }
    if (!sqlite3_stmt_busy(it->second.get())) return Stmt(db.get(), it->second.get());
    // Still stepping further up this call: a second copy, cached as run-time SQL is.
    return Prepare(std::string(sql, N - 1));
  }

  Status Exec(const char* sql, std::string_view what) {
    char* err = nullptr;
    int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &err);
    sqlite3_free(err);  // the same text is available from sqlite3_errmsg
    if (rc != SQLITE_OK) return SqlError(db.get(), sqlite3_extended_errcode(db.get()), what);
    return Status::Ok();
  }

  // Runs a PRAGMA that returns one value and gives it as text.
  Result<std::string> PragmaText(const std::string& pragma) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA " + pragma));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("PRAGMA " + pragma));
    if (!row) return std::string();
    return s.Text(0);
  }

  Status AccountExists(int64_t account_id) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT 1 FROM accounts WHERE id = ?1"));
    s.Bind(1, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up account"));
    if (!row) return NotFound("account " + std::to_string(account_id) + " not found");
    return Status::Ok();
  }

  Status ContactInAccount(int64_t account_id, int64_t contact_id) {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          Prepare("SELECT 1 FROM contacts WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, contact_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact"));
    if (!row) {
      return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return Status::Ok();
  }

  Status NumberInAccount(int64_t account_id, int64_t number_id) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, Prepare("SELECT 1 FROM sender_numbers WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, number_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up sender number"));
    if (!row) {
      return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return Status::Ok();
  }

  // Reads one of the account's sender numbers (defined in sqlite_accounts.cc).
  Result<SenderNumber> SelectNumber(int64_t account_id, int64_t number_id);
};

// A write transaction: BEGIN IMMEDIATE takes the write lock up front, so two writers never
// both read and then fail to upgrade (which in SQLite is an immediate SQLITE_BUSY that the
// busy timeout cannot help). Rolls back unless Commit() succeeded.
class WriteTxn {
 public:
  static Result<WriteTxn> Begin(Connection* impl) {
    SMSC_RETURN_IF_ERROR(impl->Exec("BEGIN IMMEDIATE", "starting a write transaction"));
    return WriteTxn(impl);
  }
  WriteTxn(WriteTxn&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn() {
    if (impl_ != nullptr) {
      // Nothing useful to do if rollback fails: the connection then rolls back itself when
      // the next statement finds the transaction broken.
      (void)impl_->Exec("ROLLBACK", "rolling back");
    }
  }
  Status Commit() {
    Status st = impl_->Exec("COMMIT", "committing");
    if (st.ok()) impl_ = nullptr;
    return st;
  }

 private:
  explicit WriteTxn(Connection* impl) : impl_(impl) {}
  Connection* impl_;
};

// Sets the writer connection's pragmas (sqlite_db.cc).
Status ApplyPragmas(Connection& impl, bool in_memory);

// ---- Reader connections and the checkpointer ----------------------------------------------

struct ReaderSlot {
  std::mutex mu;  // one call at a time per connection
  Connection conn;
};

// A connection held for one read call.
class ReadLease {
 public:
  ReadLease(std::unique_lock<std::mutex> lock, Connection* conn)
      : lock_(std::move(lock)), conn_(conn) {}
  Connection* operator->() const { return conn_; }
  Connection* get() const { return conn_; }

 private:
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
};

// Opens a reader connection on the database at `path` (sqlite_db.cc).
Status OpenReader(const std::string& path, Connection& conn);

// Runs WAL checkpoints on a thread and connection of its own. SQLite's default runs one inside
// the commit that takes the WAL past 1000 pages: copying those pages into the database file
// and an fsync of it, while every request waiting on that commit (a whole group-commit batch)
// waits too. PASSIVE never blocks the writer or readers; frames still in use by a reader are
// copied by a later checkpoint.
class Checkpointer {
 public:
  // SQLite's own default is 1000 pages. Between two checkpoints the writer rewrites the same
  // pages many times (each table's and index's last page, the phone index's leaves); a
  // checkpoint copies each page once, so a longer interval copies fewer pages per message and
  // costs the checkpoint thread less CPU per webhook (bench/load/run.sh). The WAL file grows
  // to about 32 MiB (4 KiB pages) and stays that size (it is reused, not truncated).
  static constexpr int kWalPages = 8000;

  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, sqlite3* writer) {
    std::unique_ptr<Checkpointer> c(new Checkpointer(writer));
    c->conn_.path = path;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    c->conn_.db.reset(raw);
    if (rc != SQLITE_OK) return SqlError(raw, rc, "opening the checkpoint connection");
    sqlite3_busy_timeout(raw, 5000);
    // A connection learns that the file is in WAL mode on its first read; until then a
    // checkpoint does nothing.
    SMSC_RETURN_IF_ERROR(
        c->conn_.Exec("SELECT count(*) FROM sqlite_schema", "reading the schema to checkpoint"));
    c->thread_ = std::thread([p = c.get()] { p->Loop(); });
    // Replaces the writer's automatic checkpoints (sqlite3_wal_autocheckpoint is this hook).
    sqlite3_wal_hook(writer, &Checkpointer::OnCommit, c.get());
    return c;
  }

  ~Checkpointer() {
    sqlite3_wal_hook(writer_, nullptr, nullptr);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  explicit Checkpointer(sqlite3* writer) : writer_(writer) {}

  // Called by SQLite on the writer's thread after each commit, with the WAL's size in pages.
  static int OnCommit(void* self, sqlite3*, const char*, int pages) {
    if (pages >= kWalPages) {
      auto* c = static_cast<Checkpointer*>(self);
      {
        std::lock_guard<std::mutex> lock(c->mu_);
        c->due_ = true;
      }
      c->cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      // A failure (I/O error) leaves the frames in the WAL, where they are as durable as in the
      // database file; the next commit past the threshold tries again.
      (void)sqlite3_wal_checkpoint_v2(conn_.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
      lock.lock();
    }
  }

  sqlite3* const writer_;
  Connection conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace smsconsent::sqlite_detail
