// ReviewService: the queue of possible opt-outs (docs/reviews.md).
//
// A reply that may be a revocation but is not clear enough to act on (a negation, a question,
// a mixed request: MatchKind::kPossibleOptOut) changes no status; ConsentService stores a review
// item with the message. An editor (or an API key) then confirms it -- recorded as the
// contact's own opt-out, exactly as if the contact had texted STOP: on the number the message
// was sent to, or on every number when the account's opt-out scope is the account, with the
// message as evidence and the FCC clock running from the message's arrival -- or dismisses
// it. Items still open after `highlight_after_ms` are overdue: lists mark them so that the page
// can highlight them.
//
// Every method needs the account's Marketing SMS Access (kPermissionDenied without), as every
// status read does. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "app/consent_service.h"
#include "core/clock.h"
#include "store/store.h"

namespace smsconsent {

// A review item as the queue shows it.
struct ReviewEntry {
  ReviewItem item;
  int64_t age_ms = 0;    // since the item was created (the message's arrival)
  bool overdue = false;  // open, and older than the highlight age
};

// An editor's decision on one item.
struct ReviewDecision {
  int64_t account_id = 0;
  int64_t id = 0;
  std::string actor;  // who decides: "user:<email>", "api-key:…", "cli"
  std::string note;   // optional, at most kMaxReviewNoteBytes (store.h) bytes
};

class ReviewService {
 public:
  // The most items one List call returns.
  static constexpr int kMaxPage = 200;

  ReviewService(ConsentService& service, ConsentStore& store, const Clock& clock,
                int64_t highlight_after_ms);

  // The account's items matching `q` (oldest first; open ones by default in the callers),
  // each with its age and whether it is overdue. kInvalidArgument for a limit outside
  // 1..kMaxPage.
  Result<std::vector<ReviewEntry>> List(int64_t account_id, const ReviewQuery& q);
  Result<ReviewEntry> Get(int64_t account_id, int64_t id);  // kNotFound
  // Records the contact's own opt-out from the flagged message (ConsentService::
  // RecordContactOptOut: channel "sms", received at the message's arrival, the message as
  // evidence), then closes the item as confirmed. kFailedPrecondition when the item is no
  // longer open (confirmed or dismissed already, by whom); kNotFound for an unknown item.
  Result<ReviewEntry> Confirm(const ReviewDecision& d);
  // Closes the item as dismissed; no status changes. The same errors as Confirm.
  Result<ReviewEntry> Dismiss(const ReviewDecision& d);

  int64_t highlight_after_ms() const { return highlight_after_ms_; }

 private:
  ReviewEntry EntryOf(ReviewItem item) const;

  ConsentService& service_;
  ConsentStore& store_;
  const Clock& clock_;
  const int64_t highlight_after_ms_;
  // Decisions in this process one at a time: two editors confirming the same item do not
  // both record the opt-out. Across processes the store's ResolveReview still lets one win.
  std::mutex decide_mu_;
};

}  // namespace smsconsent
