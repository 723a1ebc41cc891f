// PgStore: bulk jobs: creating and claiming them, their input, committing their chunks and
// the rows they skipped.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Jobs ---------------------------------------------------------------------------------

Result<std::pair<Job, bool>> PgStore::CreateJob(const Job& job, const InputSource& next_input) {
  if (job.kind.empty()) return InvalidArgument("a job needs a kind");
  if (job.idempotency_key.empty()) return InvalidArgument("a job needs an idempotency key");
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::pair<Job, bool>> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, job.account_id));
    // The same key submitted twice at once (two server instances): ON CONFLICT waits for the
    // other transaction and then answers with its job.
    SMSC_ASSIGN_OR_RETURN(
        Res ins,
        c.Q("INSERT INTO jobs (account_id, kind, idempotency_key, request, state, total, "
            "cursor, result, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, "
            "'queued', $5, $6, $7, $8, $8) ON CONFLICT (account_id, idempotency_key) DO "
            "NOTHING RETURNING id",
            "creating job", job.account_id, job.kind, job.idempotency_key, job.request, job.total,
            job.cursor, job.result.empty() ? std::string("{}") : job.result, job.created_at_ms));
    if (ins.rows() == 0) {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c.Q("SELECT " SMSC_JOB_COLS " FROM jobs WHERE account_id = $1 "
                     "AND idempotency_key = $2",
                     "finding job by idempotency key", job.account_id, job.idempotency_key));
      if (r.rows() == 0) return Aborted("job " + job.idempotency_key + " vanished; retry");
      SMSC_ASSIGN_OR_RETURN(Job existing, ReadJob(r, 0));
      return std::make_pair(std::move(existing), false);
    }
    Job out = job;
    out.id = ins.Int(0, 0);
    out.state = JobState::kQueued;
    out.done = 0;
    out.lease_owner.clear();
    out.lease_until_ms = 0;
    out.finished_at_ms = 0;
    out.updated_at_ms = job.created_at_ms;
    int64_t chunks = 0;
    while (next_input) {
      SMSC_ASSIGN_OR_RETURN(std::optional<std::string> chunk, next_input());
      if (!chunk) break;
      SMSC_RETURN_IF_ERROR(c.Q("INSERT INTO job_inputs (job_id, chunk, data) VALUES ($1, $2, $3)",
                               "storing job input", out.id, chunks, pg::Bytes(*chunk))
                               .status());
      ++chunks;
    }
    SMSC_RETURN_IF_ERROR(c.Q("UPDATE jobs SET input_chunks = $2 WHERE id = $1",
                             "recording job input size", out.id, chunks)
                             .status());
    out.input_chunks = chunks;
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return std::make_pair(std::move(out), true);
  });
}

Result<Job> PgStore::GetJob(int64_t account_id, int64_t job_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Job> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_JOB_COLS " FROM jobs WHERE id = $1 AND "
                                     "account_id = $2",
                                     "reading job", job_id, account_id));
    if (r.rows() == 0) {
      return NotFound("job " + std::to_string(job_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return ReadJob(r, 0);
  });
}

Result<std::string> PgStore::ReadJobInput(int64_t job_id, int64_t index) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::string> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT data FROM job_inputs WHERE job_id = $1 AND chunk = "
                                     "$2",
                                     "reading job input", job_id, index));
    if (r.rows() == 0) {
      return NotFound("job " + std::to_string(job_id) + " has no input chunk " +
                      std::to_string(index));
    }
    return r.Bytea(0, 0);
  });
}

Result<std::optional<Job>> PgStore::ClaimJob(int64_t job_id, const std::string& owner,
                                             int64_t now_ms, int64_t lease_ms) {
  SMSC_RETURN_IF_ERROR(CheckLease("a job claim", owner, lease_ms));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<Job>> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // SKIP LOCKED: a job another runner is claiming right now is not claimable for us.
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT " SMSC_JOB_COLS " FROM jobs WHERE ($1::bigint = 0 OR id = $1::bigint) "
                   "AND (state = 'queued' OR (state = 'running' AND (lease_until_ms < $2 OR "
                   "lease_owner = $3))) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                   "finding a claimable job", job_id, now_ms, owner));
    if (r.rows() == 0) return std::optional<Job>();
    SMSC_ASSIGN_OR_RETURN(Job job, ReadJob(r, 0));
    job.state = JobState::kRunning;
    job.lease_owner = owner;
    job.lease_until_ms = now_ms + lease_ms;
    job.updated_at_ms = now_ms;
    SMSC_RETURN_IF_ERROR(c.Q("UPDATE jobs SET state = 'running', lease_owner = $2, "
                             "lease_until_ms = $3, updated_at_ms = $4 WHERE id = $1",
                             "claiming job", job.id, owner, job.lease_until_ms, now_ms)
                             .status());
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return std::optional<Job>(std::move(job));
  });
}

Result<std::vector<CommitResult>> PgStore::CommitJobChunk(int64_t account_id,
                                                          const std::vector<ChangeSet>& changes,
                                                          const JobProgress& progress) {
  if (progress.finish && *progress.finish != JobState::kDone &&
      *progress.finish != JobState::kFailed) {
    return InvalidArgument("a job can only finish as done or failed");
  }
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<CommitResult>> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // The account first (as CommitBatch checks it), then the job's row, so that the lease
    // check holds until the commit.
    SMSC_ASSIGN_OR_RETURN(std::set<int64_t> locked, ShareAccounts(c, {account_id}));
    SMSC_ASSIGN_OR_RETURN(Res j, c.Q("SELECT state, lease_owner FROM jobs WHERE id = $1 AND "
                                     "account_id = $2 FOR UPDATE",
                                     "reading job", progress.job_id, account_id));
    if (j.rows() == 0 || locked.empty()) {
      return NotFound("job " + std::to_string(progress.job_id) + " not found in account " +
                      std::to_string(account_id));
    }
    if (j.Text(0, 0) != JobStateName(JobState::kRunning) || j.Text(0, 1) != progress.lease_owner) {
      return Aborted("job " + std::to_string(progress.job_id) + " is no longer held by '" +
                     progress.lease_owner + "'");
    }
    SMSC_ASSIGN_OR_RETURN(std::vector<CommitResult> results,
                          WriteChangeSets(c, account_id, changes));
    for (const JobReject& r : progress.rejects) {
      SMSC_RETURN_IF_ERROR(c.Q("INSERT INTO job_rejects (job_id, \"row\", phone, reason, detail) "
                               "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, \"row\") DO "
                               "UPDATE SET phone = excluded.phone, reason = excluded.reason, "
                               "detail = excluded.detail",
                               "recording a skipped row", progress.job_id, r.row, r.phone, r.reason,
                               r.detail)
                               .status());
    }
    const bool finished = progress.finish.has_value();
    SMSC_RETURN_IF_ERROR(
        c.Q("UPDATE jobs SET done = $2, total = $3, cursor = $4, result = $5, updated_at_ms = $6, "
            "lease_until_ms = $7, state = $8, error = $9, finished_at_ms = $10, lease_owner = $11 "
            "WHERE id = $1",
            "recording job progress", progress.job_id, progress.done, progress.total,
            progress.cursor, progress.result.empty() ? std::string("{}") : progress.result,
            progress.at_ms, finished ? int64_t{0} : progress.lease_until_ms,
            JobStateName(finished ? *progress.finish : JobState::kRunning), progress.error,
            finished ? progress.at_ms : int64_t{0}, finished ? std::string() : progress.lease_owner)
            .status());
    if (finished) {
      SMSC_RETURN_IF_ERROR(c.Q("DELETE FROM job_inputs WHERE job_id = $1",
                               "deleting a finished job's input", progress.job_id)
                               .status());
    }
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return results;
  });
}

Result<std::vector<JobReject>> PgStore::ListJobRejects(int64_t account_id, int64_t job_id,
                                                       int64_t after_row, int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<JobReject>> {
    SMSC_ASSIGN_OR_RETURN(Res j, c.Q("SELECT 1 FROM jobs WHERE id = $1 AND account_id = $2",
                                     "finding job", job_id, account_id));
    if (j.rows() == 0) {
      return NotFound("job " + std::to_string(job_id) + " not found in account " +
                      std::to_string(account_id));
    }
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT \"row\", phone, reason, detail FROM job_rejects "
                                     "WHERE job_id = $1 AND \"row\" > $2 ORDER BY \"row\" "
                                     "LIMIT $3",
                                     "listing skipped rows", job_id, after_row, int64_t{limit}));
    std::vector<JobReject> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(JobReject{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3)});
    }
    return out;
  });
}
}  // namespace smsconsent
