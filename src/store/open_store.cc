// OpenStore: picks the ConsentStore backend from a location string, and the outbox, job and
// review state and staff role names declared in store.h.
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace smsconsent {
namespace {

constexpr std::array<std::pair<OutboxState, const char*>, 7> kOutboxStateNames{{
    {OutboxState::kPending, "pending"},
    {OutboxState::kSending, "sending"},
    {OutboxState::kSent, "sent"},
    {OutboxState::kFailed, "failed"},
    {OutboxState::kDead, "dead"},
    {OutboxState::kCancelled, "cancelled"},
    {OutboxState::kExpired, "expired"},
}};

constexpr std::array<std::pair<JobState, const char*>, 4> kJobStateNames{{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kDone, "done"},
    {JobState::kFailed, "failed"},
}};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

const char* OutboxStateName(OutboxState s) {
  for (const auto& [v, name] : kOutboxStateNames) {
    if (v == s) return name;
  }
  return "unknown";
}

Result<OutboxState> ParseOutboxState(std::string_view s) {
  for (const auto& [v, name] : kOutboxStateNames) {
    if (s == name) return v;
  }
  return InvalidArgument("unknown outbox state \"" + std::string(s) +
                         "\" (expected pending, sending, sent, failed, dead, cancelled or "
                         "expired)");
}

const std::vector<OutboxState>& AllOutboxStates() {
  static const std::vector<OutboxState> kAll = [] {
    std::vector<OutboxState> all;
    for (const auto& [v, name] : kOutboxStateNames) all.push_back(v);
    return all;
  }();
  return kAll;
}

const char* JobStateName(JobState s) {
  for (const auto& [v, name] : kJobStateNames) {
    if (v == s) return name;
  }
  return "unknown";
}

Result<JobState> ParseJobState(std::string_view s) {
  for (const auto& [v, name] : kJobStateNames) {
    if (s == name) return v;
  }
  return InvalidArgument("unknown job state \"" + std::string(s) +
                         "\" (expected queued, running, done or failed)");
}

const char* StaffRoleName(StaffRole r) { return r == StaffRole::kEditor ? "editor" : "viewer"; }

Result<StaffRole> ParseStaffRole(std::string_view s) {
  if (s == "viewer") return StaffRole::kViewer;
  if (s == "editor") return StaffRole::kEditor;
  return InvalidArgument("unknown role \"" + std::string(s) + "\" (expected viewer or editor)");
}

const char* ReviewStateName(ReviewState s) {
  switch (s) {
    case ReviewState::kOpen:
      return "open";
    case ReviewState::kConfirmed:
      return "confirmed";
    case ReviewState::kDismissed:
      return "dismissed";
  }
  return "unknown";
}

Result<ReviewState> ParseReviewState(std::string_view s) {
  if (s == "open") return ReviewState::kOpen;
  if (s == "confirmed") return ReviewState::kConfirmed;
  if (s == "dismissed") return ReviewState::kDismissed;
  return InvalidArgument("unknown review state \"" + std::string(s) +
                         "\" (expected open, confirmed or dismissed)");
}

Status CheckReviewResolution(const ReviewResolution& r) {
  if (r.state != ReviewState::kConfirmed && r.state != ReviewState::kDismissed) {
    return InvalidArgument("a review item is resolved as confirmed or dismissed, not " +
                           std::string(ReviewStateName(r.state)));
  }
  if (r.reviewed_by.empty()) return InvalidArgument("a review item's resolution names who made it");
  if (r.note.size() > kMaxReviewNoteBytes) {
    return InvalidArgument("the note is " + std::to_string(r.note.size()) + " bytes; at most " +
                           std::to_string(kMaxReviewNoteBytes) + " are kept");
  }
  return Status::Ok();
}

Status CheckEvidenceBatch(const std::string& hash, const std::string& document) {
  if (document.empty()) return InvalidArgument("a batch document cannot be empty");
  if (document.size() > kMaxEvidenceBatchBytes) {
    return InvalidArgument("the batch document is " + std::to_string(document.size()) +
                           " bytes; at most " + std::to_string(kMaxEvidenceBatchBytes) +
                           " are kept");
  }
  if (Sha256Hex(document) != hash) {
    return InvalidArgument("the batch document's SHA-256 is not " + hash);
  }
  return Status::Ok();
}

Status ReviewNotOpen(const ReviewItem& stored) {
  return FailedPrecondition("review item " + std::to_string(stored.id) + " was " +
                            ReviewStateName(stored.state) + " already by " + stored.reviewed_by);
}

Status ReviewNotFound(int64_t account_id, int64_t id) {
  return NotFound("review item " + std::to_string(id) + " not found in account " +
                  std::to_string(account_id));
}

bool IsPostgresLocation(std::string_view location) {
  return StartsWith(location, "postgresql://") || StartsWith(location, "postgres://");
}

Result<std::unique_ptr<ConsentStore>> OpenStore(const std::string& location) {
  std::string_view loc = location;
  if (IsPostgresLocation(loc)) return PgStore::Open(location);
  if (StartsWith(loc, "sqlite:")) loc.remove_prefix(7);
  if (loc.empty()) {
    return InvalidArgument(
        "store location is empty (expected sqlite:PATH, PATH or postgresql://…)");
  }
  return SqliteStore::Open(std::string(loc));
}

}  // namespace smsconsent
