// ConsentService::SendMessage: a message the business sends, checked before it is queued.
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

}  // namespace

Result<MessageOutcome> ConsentService::SendMessage(int64_t account_id, const MessageRequest& req) {
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

  const std::string hash = RequestHash(to.e164, number->id, req);
  if (!req.idempotency_key.empty()) {
    SMSC_ASSIGN_OR_RETURN(std::optional<OutboxItem> stored,
                          store_.FindOutboxByIdempotencyKey(account.id, req.idempotency_key));
    if (stored) return Replayed(*stored, hash);
  }

  SMSC_ASSIGN_OR_RETURN(std::optional<ContactState> contact,
                        store_.FindContactState(account.id, to.e164, number->id));
  SendCheck check;
  check.purpose = req.purpose;
  check.marketing_sms_access = account.marketing_sms_access;
  check.sms_short_code = account.sms_short_code;
  check.number_kind = number->kind;
  check.status = contact ? contact->state.status : SubscriptionStatus::kNotSpecified;
  MessageOutcome out;
  if ((out.refusal = RefuseSend(check))) return out;

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
  if (req.purpose == Purpose::kMarketing) {
    SMSC_ASSIGN_OR_RETURN(QuietHoursDecision quiet,
                          CheckQuietHours(number->quiet_hours, to.e164, item.next_attempt_at_ms));
    if (!quiet.allowed) {
      out.requested_ms = item.next_attempt_at_ms;
      item.send_at_ms = item.next_attempt_at_ms = quiet.next_allowed_ms;
      out.deferred = std::move(quiet);
    }
  }
  item.idempotency_key = req.idempotency_key;
  item.request_hash = hash;
  ChangeSet changes;
  changes.outbox.push_back(std::move(item));
  Result<CommitResult> committed = TimedCommit(account.id, changes);
  if (!committed.ok() && committed.status().code() == StatusCode::kAlreadyExists &&
      !req.idempotency_key.empty()) {
    // The same key, queued meanwhile by a concurrent request.
    SMSC_ASSIGN_OR_RETURN(std::optional<OutboxItem> stored,
                          store_.FindOutboxByIdempotencyKey(account.id, req.idempotency_key));
    if (stored) return Replayed(*stored, hash);
  }
  if (!committed.ok()) return committed.status();
  if (committed->outbox.size() != 1) return Internal("the queued message was not returned");
  out.message = std::move(committed->outbox.front());
  return out;
}

}  // namespace smsconsent
