#include "app/reviews.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace smsconsent {

ReviewService::ReviewService(ConsentService& service, ConsentStore& store, const Clock& clock,
                             int64_t highlight_after_ms)
    : service_(service), store_(store), clock_(clock), highlight_after_ms_(highlight_after_ms) {}

ReviewEntry ReviewService::EntryOf(ReviewItem item) const {
  ReviewEntry e;
  e.age_ms = std::max<int64_t>(0, clock_.NowMs() - item.created_at_ms);
  e.overdue = item.state == ReviewState::kOpen && e.age_ms >= highlight_after_ms_;
  e.item = std::move(item);
  return e;
}

Result<std::vector<ReviewEntry>> ReviewService::List(int64_t account_id, const ReviewQuery& q) {
  if (q.limit < 1 || q.limit > kMaxPage) {
    return InvalidArgument("'limit' must be between 1 and " + std::to_string(kMaxPage));
  }
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(account_id).status());
  SMSC_ASSIGN_OR_RETURN(std::vector<ReviewItem> items, store_.ListReviews(account_id, q));
  std::vector<ReviewEntry> out;
  out.reserve(items.size());
  for (ReviewItem& item : items) out.push_back(EntryOf(std::move(item)));
  return out;
}

Result<ReviewEntry> ReviewService::Get(int64_t account_id, int64_t id) {
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(account_id).status());
  SMSC_ASSIGN_OR_RETURN(ReviewItem item, store_.GetReview(account_id, id));
  return EntryOf(std::move(item));
}

Result<ReviewEntry> ReviewService::Confirm(const ReviewDecision& d) {
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(d.account_id).status());
  ReviewResolution resolution{d.id, ReviewState::kConfirmed, d.actor, 0, d.note};
  // Checked before anything is recorded: a bad note or a missing actor changes nothing.
  SMSC_RETURN_IF_ERROR(CheckReviewResolution(resolution));
  std::lock_guard<std::mutex> lock(decide_mu_);
  SMSC_ASSIGN_OR_RETURN(ReviewItem item, store_.GetReview(d.account_id, d.id));
  if (item.state != ReviewState::kOpen) {
    return ReviewNotOpen(item);
  }
  // The opt-out first, the item's state second: should the second write fail, the item stays
  // open with the opt-out recorded (confirming it again records nothing new), never closed
  // without the opt-out it stands for.
  // The same effect as the contact's STOP would have had: on the number texted, or on every
  // number when the account's opt-out scope is the account.
  SMSC_ASSIGN_OR_RETURN(Account account, service_.AccountWithSms(d.account_id));
  std::vector<std::string> numbers{item.to};
  if (account.opt_out_scope == OptOutScope::kAccount) {
    SMSC_ASSIGN_OR_RETURN(std::vector<SenderNumber> all, service_.ListNumbers(d.account_id));
    for (const SenderNumber& n : all) {
      if (n.id != item.number_id) numbers.push_back(n.number);
    }
  }
  for (const std::string& number : numbers) {
    ContactOptOutRequest req;
    req.account_id = d.account_id;
    req.phone = item.from;
    req.number = number;
    req.channel = "sms";
    req.received_at_ms = item.received_at_ms;
    req.explanation = "possible opt-out confirmed on review: " + item.explanation;
    if (!d.note.empty()) req.explanation += " (" + d.note + ")";
    req.actor = d.actor;
    req.inbound_message_id = item.inbound_id;
    SMSC_RETURN_IF_ERROR(service_.RecordContactOptOut(req).status());
  }
  resolution.reviewed_at_ms = clock_.NowMs();
  SMSC_ASSIGN_OR_RETURN(ReviewItem resolved, store_.ResolveReview(d.account_id, resolution));
  return EntryOf(std::move(resolved));
}

Result<ReviewEntry> ReviewService::Dismiss(const ReviewDecision& d) {
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(d.account_id).status());
  std::lock_guard<std::mutex> lock(decide_mu_);
  ReviewResolution resolution{d.id, ReviewState::kDismissed, d.actor, clock_.NowMs(), d.note};
  SMSC_ASSIGN_OR_RETURN(ReviewItem resolved, store_.ResolveReview(d.account_id, resolution));
  return EntryOf(std::move(resolved));
}

}  // namespace smsconsent
