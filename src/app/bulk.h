// Bulk subscription changes and contact imports: preview, background jobs, resumption.
//
// A bulk change sets one status on one sender number for many contacts, selected by ids, by a
// contact filter (src/core/contact_filter.h) or by an uploaded CSV of phone numbers (contacts
// that do not exist are created; an optional `sender` column names another of the account's
// numbers for that row). Every row goes through the same rules as a manual change
// (PlanUserChange): an opt-in needs the attestation, legal basis and explanation, given once
// for the whole batch and written into every event's evidence with the batch id; a contact's
// own opt-out is never overridden (the row is skipped as self_opted_out).
//
// Preview runs the same per-row logic and changes nothing. Apply stores a job (idempotent on
// an idempotency key) with its input, and a runner processes it in chunks: each chunk's
// changes and the job's progress (done, cursor, counts, skipped rows) are one transaction, so
// a runner killed at any point leaves a job that resumes at its cursor, having applied exactly
// what it reports. A job whose runner died is claimed again once its lease expires.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/consent_service.h"
#include "core/clock.h"
#include "core/consent.h"
#include "store/store.h"

namespace smsconsent {

inline constexpr char kJobBulkSubscriptions[] = "bulk_subscriptions";
inline constexpr char kJobImportContacts[] = "import_contacts";

// Why a row was skipped (JobReject::reason, the keys of BulkTally::skipped).
inline constexpr char kSkipSelfOptedOut[] = "self_opted_out";
inline constexpr char kSkipInvalidPhone[] = "invalid_phone";
inline constexpr char kSkipDuplicate[] = "duplicate";
inline constexpr char kSkipUnknownNumber[] = "unknown_number";
inline constexpr char kSkipUnknownContact[] = "unknown_contact";
inline constexpr char kSkipBadRow[] = "bad_row";

struct BulkRequest {
  std::string kind = kJobBulkSubscriptions;  // or kJobImportContacts (no status change)
  std::string number;                        // the sender number (bulk)
  SubscriptionStatus status = SubscriptionStatus::kNotSpecified;
  Attestation attestation;
  std::string actor;  // who asked: a user, "api-key", "cli"
  // The selection: exactly one of these (an import always reads a CSV).
  std::vector<int64_t> ids;
  std::string filter;        // ContactFilter text
  bool csv = false;          // the rows come from a CSV given with the request
  std::string phone_column;  // CSV: which column is the phone when several could be

  nlohmann::json ToJson() const;
  static Result<BulkRequest> FromJson(const nlohmann::json& j);
};

// What a preview found or a job did.
struct BulkTally {
  int64_t rows = 0;       // rows (or selected contacts) looked at
  int64_t change = 0;     // contacts whose status changes (bulk) / contacts updated (import)
  int64_t unchanged = 0;  // already in the requested state / nothing new to import
  int64_t created = 0;    // contacts created (bulk CSV rows and imports)
  std::map<std::string, int64_t> skipped;  // reason -> rows
  // SMS to send: opt-in confirmations, or on a number with double opt-in the requests to confirm.
  int64_t confirmations = 0;
  int64_t segments = 0;                      // their SMS segments in total
  std::map<std::string, int64_t> encodings;  // "gsm7"/"ucs2" -> confirmation messages

  nlohmann::json ToJson() const;
  static BulkTally FromJson(const nlohmann::json& j);
};

// Input bytes of a CSV (a file, a request body, a job's stored input): fills up to `cap`
// bytes, returns how many; 0 at the end.
using ByteSource = std::function<Result<size_t>(char* buf, size_t cap)>;
ByteSource StringSource(std::string data);  // over a string held by the source
// Over the chunks `next_chunk` yields in order (nullopt at the end).
ByteSource ChunkSource(std::function<Result<std::optional<std::string>>()> next_chunk);

class BulkService {
 public:
  struct Options {
    int chunk_rows = kDefaultJobChunkRows;  // rows per transaction
    int64_t lease_ms = kDefaultJobLeaseMs;  // how long a runner holds a job between chunks
  };
  BulkService(ConsentService& service, ConsentStore& store, const Clock& clock, Options options);
  BulkService(ConsentService& service, ConsentStore& store, const Clock& clock)
      : BulkService(service, store, clock, Options()) {}

  // What Apply would do, changing nothing. `csv` is read when req.csv.
  Result<BulkTally> Preview(int64_t account_id, const BulkRequest& req, const ByteSource& csv);

  // Validates the request, stores it as a queued job with its input and returns the job, or
  // the account's existing job with the same idempotency key (second = false; the input is
  // then not read). An empty key is derived from the request and the input's SHA-256, so the
  // same request twice is one job.
  Result<std::pair<Job, bool>> Submit(int64_t account_id, const BulkRequest& req,
                                      std::string idempotency_key, const ByteSource& csv);

  // Claims job `job_id` (0: the oldest claimable job of any account) for `owner` and runs it
  // to the end, calling `progress` after every chunk. Returns the job as it ended, nullopt
  // when none was claimable. Stops between chunks when *stop becomes true (the job stays
  // running and is resumed by the next claim once the lease expires, or at once by `owner`).
  Result<std::optional<Job>> Run(int64_t job_id, const std::string& owner,
                                 const std::function<void(const Job&)>& progress = {},
                                 const std::atomic<bool>* stop = nullptr);

  Result<Job> GetJob(int64_t account_id, int64_t job_id);
  Result<std::vector<JobReject>> Rejects(int64_t account_id, int64_t job_id, int64_t after_row,
                                         int limit);
  // The skipped-rows report as CSV (row, phone, reason, detail), handed to `sink` page by page.
  Status RejectsCsv(int64_t account_id, int64_t job_id,
                    const std::function<Status(std::string_view)>& sink);

  const Options& options() const { return options_; }

 private:
  class Engine;
  Result<std::optional<Job>> RunClaimed(Job job, const std::string& owner,
                                        const std::function<void(const Job&)>& progress,
                                        const std::atomic<bool>* stop);

  ConsentService& service_;
  ConsentStore& store_;
  const Clock& clock_;
  const Options options_;
};

// {"state", "done", "total", "result", ...} as the API and the CLI show a job.
nlohmann::json JobJson(const Job& job);

}  // namespace smsconsent
