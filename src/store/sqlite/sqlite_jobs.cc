// SqliteStore's jobs: creation, claims, their input, chunks committed and rows rejected.
#include <sqlite3.h>

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

namespace smsconsent {

using namespace sqlite_detail;

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
  // The job's row proves the account (jobs.account_id references it). Any error fails the
  // whole chunk.
  SMSC_ASSIGN_OR_RETURN(std::vector<CommitResult> results,
                        WriteChangeSets(impl, account_id, changes));
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
    if (finished) {
      SMSC_ASSIGN_OR_RETURN(Stmt d, impl.Prepare("DELETE FROM job_inputs WHERE job_id = ?1"));
      d.Bind(1, progress.job_id);
      SMSC_RETURN_IF_ERROR(d.Run("deleting a finished job's input"));
    }
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

}  // namespace smsconsent
