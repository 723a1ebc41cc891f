#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

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

// ---- Jobs ---------------------------------------------------------------------------------

namespace {

Result<std::optional<Job>> SelectJob(Connection& impl, const char* where, int64_t a, int64_t b) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(std::string("SELECT " SMSC_JOB_COLS " FROM jobs "
                                                         "WHERE ") +
                                             where));
  s.Bind(1, a).Bind(2, b);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading job"));
  if (!row) return std::optional<Job>();
  SMSC_ASSIGN_OR_RETURN(Job j, ReadJob(s));
  return std::optional<Job>(std::move(j));
}

}  // namespace

Result<std::pair<Job, bool>> SqliteStore::CreateJob(const Job& job, const InputSource& next_input) {
  if (job.kind.empty()) return InvalidArgument("a job needs a kind");
  if (job.idempotency_key.empty()) return InvalidArgument("a job needs an idempotency key");
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(job.account_id));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT " SMSC_JOB_COLS " FROM jobs WHERE "
                                                 "account_id = ?1 AND idempotency_key = ?2"));
    s.Bind(1, job.account_id).Bind(2, job.idempotency_key);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding job by idempotency key"));
    if (row) {
      SMSC_ASSIGN_OR_RETURN(Job existing, ReadJob(s));
      return std::make_pair(std::move(existing), false);
    }
  }
  Job out = job;
  out.state = JobState::kQueued;
  out.done = 0;
  out.lease_owner.clear();
  out.lease_until_ms = 0;
  out.finished_at_ms = 0;
  out.updated_at_ms = job.created_at_ms;
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT INTO jobs (account_id, kind, idempotency_key, request, "
                               "state, total, cursor, result, created_at_ms, updated_at_ms) "
                               "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?8)"));
    s.Bind(1, job.account_id)
        .Bind(2, job.kind)
        .Bind(3, job.idempotency_key)
        .Bind(4, job.request)
        .Bind(5, job.total)
        .Bind(6, job.cursor)
        .Bind(7, job.result.empty() ? std::string("{}") : job.result)
        .Bind(8, job.created_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("creating job"));
    out.id = sqlite3_last_insert_rowid(impl_->db.get());
  }
  int64_t chunks = 0;
  while (next_input) {
    SMSC_ASSIGN_OR_RETURN(std::optional<std::string> chunk, next_input());
    if (!chunk) break;
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT INTO job_inputs (job_id, chunk, data) VALUES (?1, ?2, ?3)"));
    s.Bind(1, out.id).Bind(2, chunks).BindBlob(3, *chunk);
    SMSC_RETURN_IF_ERROR(s.Run("storing job input"));
    ++chunks;
  }
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("UPDATE jobs SET input_chunks = ?2 WHERE id = ?1"));
    s.Bind(1, out.id).Bind(2, chunks);
    SMSC_RETURN_IF_ERROR(s.Run("recording job input size"));
  }
  out.input_chunks = chunks;
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return std::make_pair(std::move(out), true);
}

Result<Job> SqliteStore::GetJob(int64_t account_id, int64_t job_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      auto job, SelectJob(*reader.get(), "id = ?1 AND account_id = ?2", job_id, account_id));
  if (!job) {
    return NotFound("job " + std::to_string(job_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return std::move(*job);
}

Result<std::string> SqliteStore::ReadJobInput(int64_t job_id, int64_t index) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT data FROM job_inputs WHERE job_id = ?1 AND chunk = ?2"));
  s.Bind(1, job_id).Bind(2, index);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading job input"));
  if (!row) {
    return NotFound("job " + std::to_string(job_id) + " has no input chunk " +
                    std::to_string(index));
  }
  return s.Blob(0);
}

Result<std::optional<Job>> SqliteStore::ClaimJob(int64_t job_id, const std::string& owner,
                                                 int64_t now_ms, int64_t lease_ms) {
  SMSC_RETURN_IF_ERROR(CheckLease("a job claim", owner, lease_ms));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  std::optional<Job> job;
  {
    // ?1 job id (0: any), ?2 now; the owner is checked below.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("SELECT " SMSC_JOB_COLS " FROM jobs WHERE (?1 = 0 OR id = ?1) "
                               "AND (state = 'queued' OR (state = 'running' AND "
                               "(lease_until_ms < ?2 OR lease_owner = ?3))) ORDER BY id "
                               "LIMIT 1"));
    s.Bind(1, job_id).Bind(2, now_ms).Bind(3, owner);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding a claimable job"));
    if (row) {
      SMSC_ASSIGN_OR_RETURN(Job j, ReadJob(s));
      job = std::move(j);
    }
  }
  if (!job) return std::optional<Job>();
  job->state = JobState::kRunning;
  job->lease_owner = owner;
  job->lease_until_ms = now_ms + lease_ms;
  job->updated_at_ms = now_ms;
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE jobs SET state = 'running', "
                                                 "lease_owner = ?2, lease_until_ms = ?3, "
                                                 "updated_at_ms = ?4 WHERE id = ?1"));
    s.Bind(1, job->id).Bind(2, owner).Bind(3, job->lease_until_ms).Bind(4, now_ms);
    SMSC_RETURN_IF_ERROR(s.Run("claiming job"));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return job;
}

Result<std::vector<CommitResult>> SqliteStore::CommitJobChunk(int64_t account_id,
                                                              const std::vector<ChangeSet>& changes,
                                                              const JobProgress& progress) {
  if (progress.finish && *progress.finish != JobState::kDone &&
      *progress.finish != JobState::kFailed) {
    return InvalidArgument("a job can only finish as done or failed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Impl& impl = *impl_;
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(&impl));
  {
    SMSC_ASSIGN_OR_RETURN(
        auto job, SelectJob(impl, "id = ?1 AND account_id = ?2", progress.job_id, account_id));
    if (!job) {
      return NotFound("job " + std::to_string(progress.job_id) + " not found in account " +
                      std::to_string(account_id));
    }
    if (job->state != JobState::kRunning || job->lease_owner != progress.lease_owner) {
      return Aborted("job " + std::to_string(job->id) + " is no longer held by '" +
                     progress.lease_owner + "'");
    }
  }
  std::vector<CommitResult> results;
  results.reserve(changes.size());
  // The job's row proves the account (jobs.account_id references it). Any error fails the
  // whole chunk, so the context is never out of step with the transaction.
  WriteContext ctx;
  ctx.accounts_ok.insert(account_id);
  for (const ChangeSet& c : changes) {
    SMSC_ASSIGN_OR_RETURN(CommitResult r, WriteChangeSet(impl, ctx, account_id, c));
    results.push_back(std::move(r));
  }
  for (const JobReject& r : progress.rejects) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("INSERT OR REPLACE INTO job_rejects (job_id, row, "
                                               "phone, reason, detail) VALUES (?1, ?2, ?3, ?4, "
                                               "?5)"));
    s.Bind(1, progress.job_id).Bind(2, r.row).Bind(3, r.phone).Bind(4, r.reason);
    s.Bind(5, r.detail);
    SMSC_RETURN_IF_ERROR(s.Run("recording a skipped row"));
  }
  {
    const bool finished = progress.finish.has_value();
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("UPDATE jobs SET done = ?2, total = ?3, cursor = ?4, result = ?5, "
                             "updated_at_ms = ?6, lease_until_ms = ?7, state = ?8, error = ?9, "
                             "finished_at_ms = ?10, lease_owner = ?11 WHERE id = ?1"));
    s.Bind(1, progress.job_id)
        .Bind(2, progress.done)
        .Bind(3, progress.total)
        .Bind(4, progress.cursor)
        .Bind(5, progress.result.empty() ? std::string("{}") : progress.result)
        .Bind(6, progress.at_ms)
        .Bind(7, finished ? int64_t{0} : progress.lease_until_ms)
        .Bind(8, JobStateName(finished ? *progress.finish : JobState::kRunning))
        .Bind(9, progress.error)
        .Bind(10, finished ? progress.at_ms : int64_t{0})
        .Bind(11, finished ? std::string() : progress.lease_owner);
    SMSC_RETURN_IF_ERROR(s.Run("recording job progress"));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return results;
}

Result<std::vector<JobReject>> SqliteStore::ListJobRejects(int64_t account_id, int64_t job_id,
                                                           int64_t after_row, int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  ReadLease reader = impl_->Read(mu_);
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          reader->Prepare("SELECT 1 FROM jobs WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, job_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding job"));
    if (!row) {
      return NotFound("job " + std::to_string(job_id) + " not found in account " +
                      std::to_string(account_id));
    }
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT row, phone, reason, detail FROM "
                                                "job_rejects WHERE job_id = ?1 AND row > ?2 "
                                                "ORDER BY row LIMIT ?3"));
  s.Bind(1, job_id).Bind(2, after_row).Bind(3, int64_t{limit});
  std::vector<JobReject> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing skipped rows"));
    if (!row) break;
    out.push_back(JobReject{s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
  }
  return out;
}

// ---- Moving an installation (src/store/transfer.h) ----------------------------------------

namespace {

// Binds a transfer cell (checked by CheckTransferRow) as its column's type.
void BindCell(Stmt& s, int index, const TransferColumn& column, const TransferCell& cell) {
  if (!cell) {
    s.BindNull(index);
    return;
  }
  switch (column.type) {
    case ColumnType::kInt:
      s.Bind(index, CellInt(cell));
      break;
    case ColumnType::kBool:
      s.BindBool(index, *cell == "1");
      break;
    case ColumnType::kText:
      s.Bind(index, *cell);
      break;
    case ColumnType::kBlob:
      s.BindBlob(index, *cell);
      break;
  }
}

TransferCell ReadCell(const Stmt& s, int col, const TransferColumn& column) {
  if (s.IsNull(col)) return std::nullopt;
  switch (column.type) {
    case ColumnType::kInt:
      return std::to_string(s.Int(col));
    case ColumnType::kBool:
      return std::string(s.Bool(col) ? "1" : "0");
    case ColumnType::kText:
      return s.Text(col);
    case ColumnType::kBlob:
      return s.Blob(col);
  }
  return std::nullopt;
}

Result<int64_t> SequenceValue(Connection& c, const TransferTable& t) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1"));
  s.Bind(1, t.name);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("reading the id counter of ") + t.name));
  return row ? s.Int(0) : 0;
}

// The import: one write transaction on the writer connection, which it holds (with the store's
// mutex) from BeginImport until it is committed or destroyed.
class SqliteImport final : public StoreImport {
 public:
  SqliteImport(std::unique_lock<std::mutex> lock, Connection* conn, WriteTxn txn)
      : lock_(std::move(lock)), conn_(conn), txn_(std::move(txn)) {}

  Status Insert(const TransferTable& t, const std::vector<TransferRow>& rows) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    std::string sql = std::string("INSERT INTO ") + Quoted(t.name) + " (" +
                      ColumnList(t, static_cast<int>(t.columns.size())) + ") VALUES (";
    for (size_t i = 0; i < t.columns.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    for (const TransferRow& row : rows) {
      SMSC_RETURN_IF_ERROR(CheckTransferRow(t, row));
      SMSC_ASSIGN_OR_RETURN(Stmt s, conn_->Prepare(sql));
      for (size_t i = 0; i < t.columns.size(); ++i) {
        BindCell(s, static_cast<int>(i + 1), t.columns[i], row[i]);
      }
      SMSC_RETURN_IF_ERROR(s.Run(std::string("inserting into ") + t.name));
    }
    return Status::Ok();
  }

  Status SetLastId(const TransferTable& t, int64_t last_id) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
    // Inserting explicit ids already moved the counter to the highest one; only a higher
    // `last_id` (ids handed out and deleted on the source) is left to record.
    SMSC_ASSIGN_OR_RETURN(int64_t current, SequenceValue(*conn_, t));
    if (last_id <= current) return Status::Ok();
    // A table that never had a row has no sqlite_sequence row yet (current is then 0).
    SMSC_ASSIGN_OR_RETURN(
        Stmt s,
        conn_->Prepare(current > 0 ? "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1"
                                   : "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)"));
    s.Bind(1, t.name).Bind(2, last_id);
    return s.Run(std::string("setting the id counter of ") + t.name);
  }

  Status Commit() override {
    if (!txn_) return FailedPrecondition("the import has ended");
    SMSC_RETURN_IF_ERROR(txn_->Commit());
    txn_.reset();
    lock_.unlock();
    return Status::Ok();
  }

 private:
  // Declared first: released last, after the transaction is rolled back.
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
  std::optional<WriteTxn> txn_;
};

}  // namespace

Result<std::vector<TransferRow>> SqliteStore::ExportRows(const TransferTable& t,
                                                         const TransferRow& after_key) {
  if (!after_key.empty() && static_cast<int>(after_key.size()) != t.key_columns) {
    return InvalidArgument(std::string(t.name) + ": the key has " + std::to_string(t.key_columns) +
                           " columns");
  }
  const std::string keys = ColumnList(t, t.key_columns);
  std::string sql =
      "SELECT " + ColumnList(t, static_cast<int>(t.columns.size())) + " FROM " + Quoted(t.name);
  if (!after_key.empty()) {
    sql += " WHERE (" + keys + ") > (";
    for (int i = 0; i < t.key_columns; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
  }
  sql += " ORDER BY " + keys + " LIMIT " + std::to_string(t.batch_rows);
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  for (size_t i = 0; i < after_key.size(); ++i) {
    BindCell(s, static_cast<int>(i + 1), t.columns[i], after_key[i]);
  }
  std::vector<TransferRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("exporting ") + t.name));
    if (!row) break;
    TransferRow r;
    r.reserve(t.columns.size());
    for (size_t i = 0; i < t.columns.size(); ++i) {
      r.push_back(ReadCell(s, static_cast<int>(i), t.columns[i]));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> SqliteStore::CountRows(const TransferTable& t) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT count(*) FROM " + Quoted(t.name)));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("counting ") + t.name));
  return row ? s.Int(0) : 0;
}

Result<int64_t> SqliteStore::LastId(const TransferTable& t) {
  if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
  ReadLease reader = impl_->Read(mu_);
  return SequenceValue(*reader.get(), t);
}

Result<std::unique_ptr<StoreImport>> SqliteStore::BeginImport() {
  std::unique_lock<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  for (const TransferTable& t : TransferTables()) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT 1 FROM " + Quoted(t.name) + " LIMIT 1"));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("checking that ") + t.name + " is empty"));
    if (row) {
      return FailedPrecondition("'" + impl_->path + "' is not empty (table " + t.name +
                                " has rows): an import only fills an empty database");
    }
  }
  return std::unique_ptr<StoreImport>(
      new SqliteImport(std::move(lock), impl_.get(), std::move(txn)));
}

#undef SMSC_ACCOUNT_COLS
#undef SMSC_NUMBER_COLS
#undef SMSC_CONTACT_COLS
#undef SMSC_JOB_COLS
#undef SMSC_STATUS_COLS
#undef SMSC_EVENT_COLS
#undef SMSC_INBOUND_COLS
#undef SMSC_OUTBOX_COLS
#undef SMSC_USER_COLS
#undef SMSC_SESSION_COLS
#undef SMSC_REVIEW_COLS
#undef SMSC_REVIEW_FROM

}  // namespace smsconsent
