// ConsentService::SendMessage(Async): a message the business sends, checked before it is queued.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "app/consent_service.h"
#include "core/ledger.h"

namespace smsconsent {
namespace {

// What makes two requests with one Idempotency-Key the same request: everything that decides
// what is sent, to whom, from where and when, after normalising (so "+1 (555) …" and "+1555…"
// are one request).
std::string RequestHash(const std::string& to, int64_t number_id, const MessageRequest& req) {
  nlohmann::json j = {{"to", to},
                      {"from", number_id},
                      {"body", req.body},
                      {"purpose", PurposeName(req.purpose)},
                      {"send_at", req.send_at_ms ? nlohmann::json(*req.send_at_ms) : nullptr}};
  return Sha256Hex(j.dump());
}

Result<MessageOutcome> Replayed(const OutboxItem& stored, const std::string& hash) {
  if (stored.request_hash != hash) {
    return AlreadyExists("Idempotency-Key '" + stored.idempotency_key +
                         "' was used for a different request (message " +
                         std::to_string(stored.id) + ")");
  }
  MessageOutcome out;
  out.message = stored;
  out.replayed = true;
  return out;
}

// The outcome of the commit of a prepared message. kAlreadyExists: another request with the
// same Idempotency-Key was committed meanwhile (a retry finds it).
Result<MessageOutcome> Committed(MessageOutcome out, const Result<CommitResult>& committed,
                                 const std::string& key) {
  if (!committed.ok() && committed.status().code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a request with Idempotency-Key '" + key +
                         "' was being queued at the same time; repeat it to get its message");
  }
  if (!committed.ok()) return committed.status();
  if (committed->outbox.size() != 1) return Internal("the queued message was not returned");
  out.message = committed->outbox.front();
  return out;
}

}  // namespace

Result<ConsentService::PreparedMessage> ConsentService::PrepareMessage(int64_t account_id,
                                                                       const MessageRequest& req) {
  SMSC_ASSIGN_OR_RETURN(auto cached, accounts_.Get(account_id));
  const Account& account = cached->account;
  const SenderNumber* number = nullptr;
  if (req.from_id) {
    for (const SenderNumber& n : cached->numbers) {
      if (n.id == *req.from_id) number = &n;
    }
    if (number == nullptr) {
      return NotFound("sender number " + std::to_string(*req.from_id) + " not found in account " +
                      std::to_string(account.id));
    }
  } else {
    SMSC_ASSIGN_OR_RETURN(number, ResolveNumberIn(account, cached->numbers, req.from));
  }
  SMSC_RETURN_IF_ERROR(CheckMessageBody(req.body));
  const int64_t now = clock_.NowMs();
  if (req.send_at_ms) SMSC_RETURN_IF_ERROR(CheckSendAt(*req.send_at_ms, now));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber to, phones_.NormalizeToE164(req.to, number->country));

  PreparedMessage p;
  const std::string hash = RequestHash(to.e164, number->id, req);
  if (!req.idempotency_key.empty()) {
    SMSC_ASSIGN_OR_RETURN(std::optional<OutboxItem> stored,
                          store_.FindOutboxByIdempotencyKey(account.id, req.idempotency_key));
    if (stored) {
      SMSC_ASSIGN_OR_RETURN(p.outcome, Replayed(*stored, hash));
      p.done = true;
      return p;
    }
  }

  SMSC_ASSIGN_OR_RETURN(std::optional<ContactState> contact,
                        store_.FindContactState(account.id, to.e164, number->id));
  SendCheck check;
  check.purpose = req.purpose;
  check.marketing_sms_access = account.marketing_sms_access;
  check.sms_short_code = account.sms_short_code;
  check.number_kind = number->kind;
  check.status = contact ? contact->state.status : SubscriptionStatus::kNotSpecified;
  if ((p.outcome.refusal = RefuseSend(check))) {
    p.done = true;
    return p;
  }

  OutboxItem item;
  item.account_id = account.id;
  item.number_id = number->id;
  item.contact_id = contact ? contact->contact_id : 0;
  item.to = to.e164;
  item.from = number->number;
  item.body = req.body;
  item.kind = ReplyKind::kMessage;
  item.purpose = req.purpose;
  item.created_at_ms = now;
  item.send_at_ms = req.send_at_ms.value_or(0);
  item.next_attempt_at_ms = std::max(now, item.send_at_ms);
  if (req.purpose == Purpose::kMarketing && contact) {
    // The number's opt-out notice, on the first marketing message to the contact and then as
    // its policy says; the body's limits hold with it.
    SMSC_ASSIGN_OR_RETURN(NoticeHistory history,
                          store_.GetNoticeHistory(account.id, contact->contact_id, number->id));
    if (NeedsOptOutNotice(number->opt_out_notice, history, now)) {
      item.body = WithOptOutNotice(
          item.body, OptOutNoticeText(number->opt_out_notice, number->keywords.languages));
      item.notice = true;
      Status fits = CheckMessageBody(item.body);
      if (!fits.ok()) return InvalidArgument(fits.message() + ", with the opt-out notice");
    }
  }
  if (req.purpose == Purpose::kMarketing && contact && number->frequency_cap.any()) {
    // The contact's other marketing from the number, a week either side of the earliest and
    // the latest time the cap could move this one to.
    constexpr int64_t kWeekMs = 7LL * 24 * 60 * 60 * 1000;
    const int64_t due = item.next_attempt_at_ms;
    SMSC_ASSIGN_OR_RETURN(
        std::vector<int64_t> others,
        store_.ListMarketingDueTimes(account.id, contact->contact_id, number->id, due - kWeekMs,
                                     due + kMaxScheduleAheadMs + kWeekMs));
    Result<std::optional<int64_t>> delay = FrequencyCapDelay(number->frequency_cap, others, due);
    if (!delay.ok() || (*delay && number->frequency_cap.over == FrequencyCap::Over::kRefuse)) {
      p.outcome.refusal =
          Refusal{SendRefusal::kFrequencyCapped,
                  "the number's frequency cap (" + FrequencyCapToJson(number->frequency_cap) +
                      ") allows no more marketing to this recipient " +
                      (delay.ok() ? "until " + FormatTimestampMs(**delay) : "within 30 days")};
      p.done = true;
      return p;
    }
    if (*delay) {
      p.outcome.requested_ms = due;
      p.outcome.capped_until_ms = **delay;
      item.send_at_ms = item.next_attempt_at_ms = **delay;
    }
  }
  const QuietHoursPolicy& quiet_hours =
      EffectiveQuietHours(number->quiet_hours, account.quiet_hours);
  if (QuietHoursApplyTo(quiet_hours, req.purpose == Purpose::kMarketing)) {
    Result<QuietHoursDecision> checked =
        CheckQuietHours(quiet_hours, to.e164, item.next_attempt_at_ms);
    // A recipient with no known local time gets no marketing (it could be any hour there), but
    // a transactional message is not held back for it.
    if (!checked.ok() && (req.purpose == Purpose::kMarketing ||
                          checked.status().code() != StatusCode::kFailedPrecondition)) {
      return checked.status();
    }
    QuietHoursDecision quiet = checked.ok() ? std::move(checked).value() : QuietHoursDecision{};
    if (checked.ok() && !quiet.allowed) {
      if (!p.outcome.capped_until_ms) p.outcome.requested_ms = item.next_attempt_at_ms;
      item.send_at_ms = item.next_attempt_at_ms = quiet.next_allowed_ms;
      p.outcome.deferred = std::move(quiet);
    }
  }
  item.idempotency_key = req.idempotency_key;
  item.request_hash = hash;
  p.account_id = account.id;
  p.changes.outbox.push_back(std::move(item));
  return p;
}

Result<MessageOutcome> ConsentService::SendMessage(int64_t account_id, const MessageRequest& req) {
  SMSC_ASSIGN_OR_RETURN(PreparedMessage p, PrepareMessage(account_id, req));
  if (p.done) return std::move(p.outcome);
  return Committed(std::move(p.outcome), TimedCommit(p.account_id, p.changes), req.idempotency_key);
}

Result<MessageOutcome> ConsentService::PreviewMessage(int64_t account_id, MessageRequest req) {
  // Without a key PrepareMessage looks up no earlier request: the preview of a request whose
  // key already queued a message answers what a new message would be, not the replay.
  req.idempotency_key.clear();
  SMSC_ASSIGN_OR_RETURN(PreparedMessage p, PrepareMessage(account_id, req));
  if (!p.done) p.outcome.message = std::move(p.changes.outbox.front());
  return std::move(p.outcome);
}

void ConsentService::SendMessageAsync(int64_t account_id, const MessageRequest& req,
                                      MessageCallback done) {
  Result<PreparedMessage> p = PrepareMessage(account_id, req);
  if (!p.ok()) return done(p.status());
  if (p->done) return done(std::move(p->outcome));
  TimedCommitAsync(p->account_id, std::move(p->changes),
                   [outcome = std::move(p->outcome), key = req.idempotency_key,
                    done = std::move(done)](Result<CommitResult> committed) mutable {
                     done(Committed(std::move(outcome), committed, key));
                   });
}

}  // namespace smsconsent
