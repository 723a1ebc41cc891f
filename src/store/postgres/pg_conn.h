// A thin RAII layer over libpq for PgStore: one connection with its prepared statements, query
// results, a pool of connections, and the one place where PostgreSQL errors become Statuses.
// Internal to src/store/postgres/.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace smsconsent::pg {

// SQLSTATEs the store branches on.
inline constexpr char kUniqueViolation[] = "23505";
inline constexpr char kForeignKeyViolation[] = "23503";

// Maps an SQLSTATE (and whether the connection is still usable) to a StatusCode; the table is
// in docs/storage.md ("PostgreSQL", "Errors").
StatusCode CodeForSqlState(std::string_view sqlstate, bool connection_ok);

// A query parameter: text (or binary, for bytea), or NULL.
struct Arg {
  std::optional<std::string> value;
  int format = 0;  // 0 text, 1 binary
};
inline Arg ToArg(const Arg& a) { return a; }
inline Arg ToArg(int64_t v) { return Arg{std::to_string(v)}; }
inline Arg ToArg(int v) { return Arg{std::to_string(v)}; }
inline Arg ToArg(bool v) { return Arg{std::string(v ? "t" : "f")}; }
inline Arg ToArg(std::string_view v) { return Arg{std::string(v)}; }
inline Arg ToArg(const std::string& v) { return Arg{v}; }
inline Arg ToArg(const char* v) { return Arg{std::string(v)}; }
// 0 means "none" for optional references; stored as NULL so that foreign keys hold.
inline Arg IdOrNull(int64_t id) { return id == 0 ? Arg{} : ToArg(id); }
inline Arg Bytes(std::string_view v) { return Arg{std::string(v), 1}; }
// A PostgreSQL array literal ("{1,2,3}", "{\"a\",\"b\"}") for `= ANY($n::bigint[])`.
Arg IntArray(const std::vector<int64_t>& v);
Arg TextArray(const std::vector<std::string>& v);

// A query's result (text format). Rows and columns are 0-based; NULL reads as 0 / "".
class Res {
 public:
  explicit Res(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  std::string Bytea(int row, int col) const;  // a bytea column, unescaped
  int64_t Affected() const;                   // rows changed by INSERT/UPDATE/DELETE
  std::string CommandStatus() const { return PQcmdStatus(r_.get()); }  // "COMMIT", …

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

// The statements one connection keeps prepared (PgStore::kStatementCacheSize).
inline constexpr size_t kPreparedStatements = 64;

class Conn {
 public:
  // Connects and prepares the session (search_path, synchronous_commit). kUnavailable when
  // the server cannot be reached.
  static Result<std::unique_ptr<Conn>> Connect(const std::string& conninfo,
                                               const std::string& schema);

  // Runs `sql` as a prepared statement (prepared on this connection on first use) with `args`.
  // Errors carry `what`; the SQLSTATE of the last failure is in last_sqlstate(). At most
  // `kPreparedStatements` stay prepared: the least recently used one is deallocated first.
  Result<Res> Query(const std::string& sql, const std::vector<Arg>& args, std::string_view what);
  template <typename... A>
  Result<Res> Q(const std::string& sql, std::string_view what, const A&... a) {
    return Query(sql, std::vector<Arg>{ToArg(a)...}, what);
  }
  // A statement without parameters and results (BEGIN, SAVEPOINT, …).
  Status Exec(const std::string& sql, std::string_view what) { return Q(sql, what).status(); }

  // Several statements in one string, without parameters (migrations): the simple protocol.
  Status ExecScript(const std::string& sql, std::string_view what);
  // The same, returning the last statement's result (one round trip for several statements).
  Result<Res> Script(const std::string& sql, std::string_view what);

  const std::string& last_sqlstate() const { return last_sqlstate_; }
  bool broken() const { return broken_ || PQstatus(pg_.get()) != CONNECTION_OK; }
  bool idle() const { return PQtransactionStatus(pg_.get()) == PQTRANS_IDLE; }
  int completed() const { return completed_; }  // statements that succeeded since Lease
  void ResetCompleted() { completed_ = 0; }
  int backend_pid() const { return PQbackendPID(pg_.get()); }

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  explicit Conn(PGconn* c) : pg_(c) {}
  Status Fail(PGresult* r, std::string_view what);

  // Drops the least recently used statement, on the server too. Outside a failed transaction
  // only (the server refuses every command there until it ends); the cache then stays one over
  // its size until a later call.
  void EvictOne();

  std::unique_ptr<PGconn, Finish> pg_;
  // Prepared statements, most recently used first: (sql, name on the server), and the same by
  // their SQL. Clients choose some of that SQL (a contact search's shape follows its filters),
  // so the list is bounded.
  std::list<std::pair<std::string, std::string>> prepared_;
  std::unordered_map<std::string_view, std::list<std::pair<std::string, std::string>>::iterator>
      prepared_by_sql_;
  int64_t next_name_ = 0;
  std::string last_sqlstate_;
  bool broken_ = false;
  int completed_ = 0;
};

class Pool;

// A connection borrowed from the pool; returned (or, if broken or left inside a transaction,
// closed) when the lease ends.
class Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<Conn> conn, bool reused)
      : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Conn& operator*() const { return *conn_; }
  Conn* operator->() const { return conn_.get(); }
  bool reused() const { return reused_; }

 private:
  Pool* pool_;
  std::unique_ptr<Conn> conn_;
  bool reused_;
};

class Pool {
 public:
  Pool(std::string conninfo, std::string schema, int size)
      : conninfo_(std::move(conninfo)), schema_(std::move(schema)), size_(size) {}
  ~Pool();

  // An idle connection, a new one while fewer than `size` are open, else waits for one (up to
  // 30 s: kUnavailable).
  Result<Lease> Acquire();
  // Closes every idle connection (after one broke: the server probably restarted, so the
  // others are dead too).
  void DropIdle();
  void Release(std::unique_ptr<Conn> conn);

 private:
  const std::string conninfo_;
  const std::string schema_;
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

// Runs `fn(Conn&)` on a pooled connection. If the connection came from the pool and turned out
// dead before any statement succeeded (so nothing was done), the idle connections are dropped
// and `fn` runs once more on a new connection.
template <typename Fn>
auto WithConn(Pool& pool, Fn&& fn) -> decltype(fn(std::declval<Conn&>())) {
  for (int attempt = 0;; ++attempt) {
    Result<Lease> lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    auto r = fn(**lease);
    if (attempt == 0 && lease->reused() && (*lease)->broken() && (*lease)->completed() == 0) {
      pool.DropIdle();
      continue;
    }
    return r;
  }
}

// A transaction on one connection: rolled back unless Commit() succeeded.
class Txn {
 public:
  static Result<Txn> Begin(Conn& c, const char* begin_sql = "BEGIN");
  // BEGIN and `first`, a statement without parameters, in one round trip: the transaction and
  // the statement's result.
  static Result<std::pair<Txn, Res>> BeginWith(Conn& c, const std::string& first);
  Txn(Txn&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  Txn& operator=(Txn&&) = delete;
  ~Txn();
  Status Commit();

 private:
  explicit Txn(Conn* c) : c_(c) {}
  Conn* c_;
};

}  // namespace smsconsent::pg
