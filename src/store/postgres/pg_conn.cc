#include "store/postgres/pg_conn.h"

#include <charconv>
#include <cstdlib>

namespace smsconsent::pg {

// ---- Errors -------------------------------------------------------------------------------

StatusCode CodeForSqlState(std::string_view st, bool connection_ok) {
  auto cls = st.substr(0, 2);
  // The connection is gone (server restarted, backend terminated, network): nothing of the
  // transaction was committed; retrying later can succeed.
  if (!connection_ok || st.empty() || cls == "08") return StatusCode::kUnavailable;
  if (st == kUniqueViolation) return StatusCode::kAlreadyExists;
  // Serialization failure, deadlock detected (and the rest of class 40): the transaction was
  // rolled back because of a concurrent one; the caller re-reads and tries again.
  if (cls == "40") return StatusCode::kAborted;
  // Shutting down / starting up, statement timeout, lock timeout, out of disk or memory, too
  // many connections, I/O errors: the server cannot do it now.
  if (st == "57P01" || st == "57P02" || st == "57P03" || st == "57014" || st == "55P03" ||
      cls == "53" || cls == "58") {
    return StatusCode::kUnavailable;
  }
  if (st == "XX001" || st == "XX002") return StatusCode::kDataLoss;  // data or index corrupted
  // Data exceptions: text PostgreSQL cannot store (a NUL byte, invalid UTF-8), out of range.
  if (cls == "22") return StatusCode::kInvalidArgument;
  return StatusCode::kInternal;
}

Status Conn::Fail(PGresult* r, std::string_view what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string msg(what);
  msg += ": ";
  const char* err = r != nullptr ? PQresultErrorMessage(r) : nullptr;
  msg += (err != nullptr && err[0] != '\0') ? err : PQerrorMessage(pg_.get());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (!last_sqlstate_.empty()) msg += " (SQLSTATE " + last_sqlstate_ + ")";
  const bool ok = PQstatus(pg_.get()) == CONNECTION_OK;
  if (!ok) broken_ = true;
  if (r != nullptr) PQclear(r);
  return Status(CodeForSqlState(last_sqlstate_, ok), std::move(msg));
}

// ---- Arguments and results ----------------------------------------------------------------

Arg IntArray(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  s += '}';
  return Arg{std::move(s)};
}

Arg TextArray(const std::vector<std::string>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += '"';
    for (char ch : v[i]) {
      if (ch == '"' || ch == '\\') s += '\\';
      s += ch;
    }
    s += '"';
  }
  s += '}';
  return Arg{std::move(s)};
}

int64_t Res::Int(int row, int col) const {
  if (PQgetisnull(r_.get(), row, col)) return 0;
  const char* p = PQgetvalue(r_.get(), row, col);
  int64_t v = 0;
  std::from_chars(p, p + PQgetlength(r_.get(), row, col), v);
  return v;
}

std::string Res::Bytea(int row, int col) const {
  if (PQgetisnull(r_.get(), row, col)) return {};
  size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

int64_t Res::Affected() const {
  const char* p = PQcmdTuples(r_.get());
  int64_t v = 0;
  if (p != nullptr) std::from_chars(p, p + std::char_traits<char>::length(p), v);
  return v;
}

// ---- Connections --------------------------------------------------------------------------

Result<std::unique_ptr<Conn>> Conn::Connect(const std::string& conninfo,
                                            const std::string& schema) {
  PGconn* raw = PQconnectdb(conninfo.c_str());
  std::unique_ptr<Conn> c(new Conn(raw));
  if (raw == nullptr) return Status(StatusCode::kUnavailable, "libpq: out of memory");
  if (PQstatus(raw) != CONNECTION_OK) {
    // One line: libpq's message spans several ("…failed: …\n\tIs the server running…").
    std::string msg;
    for (const char* p = PQerrorMessage(raw); *p != '\0'; ++p) {
      const bool space = *p == '\n' || *p == '\t';
      if (space && (msg.empty() || msg.back() == ' ')) continue;
      msg.push_back(space ? ' ' : *p);
    }
    while (!msg.empty() && msg.back() == ' ') msg.pop_back();
    return Status(StatusCode::kUnavailable, "cannot connect to PostgreSQL: " + msg);
  }
  // Server notices ("schema … already exists, skipping") are not errors; libpq would print
  // them on stderr, in the middle of the CLI's output.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQclientEncoding(raw) != pg_char_to_encoding("UTF8") &&
      PQsetClientEncoding(raw, "UTF8") != 0) {
    return Status(StatusCode::kUnavailable, "cannot set the client encoding to UTF8");
  }
  if (!schema.empty()) {
    // The name was checked to be [a-z0-9_]+ (PgStore::ParseLocation); quoted all the same.
    SMSC_RETURN_IF_ERROR(c->Exec("SET search_path TO \"" + schema + "\"", "setting search_path"));
  }
  // An acknowledged write must survive a crash of the server: if the server's default turns
  // the WAL flush at commit off, turn it on for our sessions (local, remote_write, … are kept).
  SMSC_ASSIGN_OR_RETURN(
      Res sc, c->Q("SELECT current_setting('synchronous_commit')", "reading synchronous_commit"));
  if (sc.rows() == 1 && sc.Text(0, 0) == "off") {
    SMSC_RETURN_IF_ERROR(c->Exec("SET synchronous_commit TO on", "setting synchronous_commit"));
  }
  c->completed_ = 0;
  return c;
}

Result<Res> Conn::Query(const std::string& sql, const std::vector<Arg>& args,
                        std::string_view what) {
  last_sqlstate_.clear();
  auto found = prepared_by_sql_.find(sql);
  if (found != prepared_by_sql_.end()) {
    prepared_.splice(prepared_.begin(), prepared_, found->second);
  } else {
    if (prepared_.size() >= kPreparedStatements) EvictOne();
    std::string name = "s" + std::to_string(++next_name_);
    PGresult* r =
        PQprepare(pg_.get(), name.c_str(), sql.c_str(), static_cast<int>(args.size()), nullptr);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) {
      return Fail(r, std::string(what) + " (preparing \"" + sql.substr(0, 60) + "\")");
    }
    PQclear(r);
    prepared_.emplace_front(sql, std::move(name));
    prepared_by_sql_.emplace(prepared_.front().first, prepared_.begin());
  }
  const std::string& statement = prepared_.front().second;
  std::vector<const char*> values(args.size());
  std::vector<int> lengths(args.size());
  std::vector<int> formats(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    values[i] = args[i].value ? args[i].value->data() : nullptr;
    lengths[i] = args[i].value ? static_cast<int>(args[i].value->size()) : 0;
    formats[i] = args[i].format;
  }
  PGresult* r = PQexecPrepared(pg_.get(), statement.c_str(), static_cast<int>(args.size()),
                               values.data(), lengths.data(), formats.data(), 0);
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return Fail(r, what);
  ++completed_;
  return Res(r);
}

void Conn::EvictOne() {
  if (prepared_.empty() || PQtransactionStatus(pg_.get()) == PQTRANS_INERROR) return;
  // DEALLOCATE is not transactional: inside a transaction that later rolls back, the statement
  // is gone all the same, as the cache then says.
  PGresult* r = PQexec(pg_.get(), ("DEALLOCATE " + prepared_.back().second).c_str());
  const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) return;  // the connection is failing; the call that needs it reports that
  prepared_by_sql_.erase(prepared_.back().first);
  prepared_.pop_back();
}

Result<Res> Conn::Script(const std::string& sql, std::string_view what) {
  last_sqlstate_.clear();
  PGresult* r = PQexec(pg_.get(), sql.c_str());
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return Fail(r, what);
  ++completed_;
  return Res(r);
}

Status Conn::ExecScript(const std::string& sql, std::string_view what) {
  last_sqlstate_.clear();
  PGresult* r = PQexec(pg_.get(), sql.c_str());
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return Fail(r, what);
  PQclear(r);
  ++completed_;
  return Status::Ok();
}

// ---- The pool -----------------------------------------------------------------------------

Lease::~Lease() {
  if (conn_ != nullptr && pool_ != nullptr) pool_->Release(std::move(conn_));
}

Pool::~Pool() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
}

Result<Lease> Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (idle_.empty() && open_ >= size_) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      return Status(StatusCode::kUnavailable,
                    "all " + std::to_string(size_) +
                        " PostgreSQL connections of the pool stayed busy for 30 s");
    }
  }
  if (!idle_.empty()) {
    std::unique_ptr<Conn> c = std::move(idle_.back());
    idle_.pop_back();
    c->ResetCompleted();
    return Lease(this, std::move(c), true);
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<Conn>> c = Conn::Connect(conninfo_, schema_);
  if (!c.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(*c), false);
}

void Pool::Release(std::unique_ptr<Conn> conn) {
  // A broken connection, or one left inside a transaction (a failed ROLLBACK), is closed; a
  // new one replaces it when needed.
  const bool keep = !conn->broken() && conn->idle();
  const bool was_broken = conn->broken();
  std::unique_ptr<Conn> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      doomed = std::move(conn);
      --open_;
    }
  }
  cv_.notify_one();
  doomed.reset();  // PQfinish outside the lock
  if (was_broken) DropIdle();
}

void Pool::DropIdle() {
  std::vector<std::unique_ptr<Conn>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    doomed.swap(idle_);
    open_ -= static_cast<int>(doomed.size());
  }
  cv_.notify_all();
}

// ---- Transactions -------------------------------------------------------------------------

Result<Txn> Txn::Begin(Conn& c, const char* begin_sql) {
  SMSC_RETURN_IF_ERROR(c.Exec(begin_sql, "starting a transaction"));
  return Txn(&c);
}

Result<std::pair<Txn, Res>> Txn::BeginWith(Conn& c, const std::string& first) {
  Result<Res> r = c.Script("BEGIN; " + first, "starting a transaction");
  // BEGIN may have succeeded and `first` failed: the transaction is open (and failed).
  if (!r.ok()) {
    if (!c.idle() && !c.broken()) (void)c.Exec("ROLLBACK", "rolling back");
    return r.status();
  }
  return std::pair<Txn, Res>(Txn(&c), std::move(r).value());
}

Txn::~Txn() {
  // If the rollback fails the connection is broken or still in the transaction; the pool
  // closes it either way, and the server rolls back.
  if (c_ != nullptr) (void)c_->Exec("ROLLBACK", "rolling back");
}

Status Txn::Commit() {
  Result<Res> r = c_->Q("COMMIT", "committing");
  Status st = r.status();
  // COMMIT of a transaction that failed earlier answers ROLLBACK, not an error.
  if (r.ok() && r->CommandStatus() != "COMMIT") {
    st = Internal("committing: the transaction had failed and was rolled back");
  }
  // Whatever COMMIT answered, the transaction is over (or the connection is broken and the
  // server decides): never ROLLBACK after it. A lost answer leaves the outcome unknown, which
  // is reported as kUnavailable like any lost connection.
  c_ = nullptr;
  return st;
}

}  // namespace smsconsent::pg
