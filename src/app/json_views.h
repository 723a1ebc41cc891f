// JSON shapes of the domain objects, shared by the CLI's --json output and the HTTP API, so
// that one object always looks the same wherever it is printed.
#pragma once

#include <nlohmann/json.hpp>

#include "app/consent_service.h"
#include "app/reviews.h"

namespace smsconsent {

nlohmann::json ToJson(const Account& a);
// {"id", "account", "email", "name", "role", "created_at", "updated_at"}; never the hash.
nlohmann::json ToJson(const User& u);
nlohmann::json ToJson(const SenderNumber& n);
nlohmann::json ToJson(const Contact& c);
// Evidence parsed back into an object (EvidenceJson), with format, nth, batch_hash and leaf_hash.
nlohmann::json ToJson(const ConsentEvent& e);
// An event's evidence as a reader sees it: the members of its batch's document
// (ConsentEvent::batch_document: a bulk change's attestation, legal basis, explanation, actor,
// batch and job), when it has one and it was read, then its own members (a bulk row's "row");
// its stored text as a string when that is not JSON.
nlohmann::json EvidenceJson(const ConsentEvent& e);
nlohmann::json ToJson(const OutboxItem& o);
// A message the business sent (kind message) as POST /v1/messages answers: its state is
// "scheduled" while it waits for its send_at, "queued" while it is due, else the outbox state.
nlohmann::json MessageJson(const OutboxItem& o, int64_t now_ms);
// The answer to a message accepted (SendMessage): MessageJson, and for one deferred by quiet
// hours, "deferred": {"reason": "quiet_hours", "requested", "until", "rule", "zones"}.
nlohmann::json MessageJson(const MessageOutcome& out, int64_t now_ms);
// The answer to a preview of `req` (PreviewMessage): {"state": "queued" | "scheduled" |
// "refused", "body" (as it would be sent; as asked when refused), "opt_out_notice", "segments",
// "encoding", "characters", "per_segment", "purpose", "send_at" (null when refused)}; unless
// refused also "to", "from", "contact_id" and "deferred" as MessageJson's (no id: nothing is
// queued); when refused "refusal": {"code", "message"}.
nlohmann::json MessagePreviewJson(const MessageRequest& req, const MessageOutcome& out,
                                  int64_t now_ms);
nlohmann::json ToJson(const SegmentInfo& s);
nlohmann::json ToJson(const NumberStatus& s);
nlohmann::json ToJson(const QueuedReply& r);
// An inbound message's decision as stored (read by CurrentDecision), with its message_id and
// whether it was a duplicate.
nlohmann::json DecisionJson(const InboundResult& r);
// A stored decision with `rule` (the keyword as configured, the free-text rule id or the
// reaction verb) and `matched` (the normalised text that matched), as in the evidence
// (docs/keywords.md). A decision stored without `rule` holds the rule in `matched`: it is read
// as that rule with `matched` empty, since the text that matched was not kept with it. Anything
// else, and what is not an object, is returned as it is.
nlohmann::json CurrentDecision(nlohmann::json stored);
nlohmann::json ToJson(const LedgerCheck& c);
// The message with its decision parsed back into an object (CurrentDecision) and "replies"
// (outbox items).
nlohmann::json ToJson(const MessageWithReplies& m);
// A review item of the possible opt-out queue: its message, why it was flagged, its state,
// age and whether it is overdue (docs/reviews.md).
nlohmann::json ToJson(const ReviewEntry& e);
// A revocation with its FCC clock: event, contact_id, phone, number, channel, received_at,
// effective_at, business_days, late, sent_between (outbox items), sent_between_more.
nlohmann::json ToJson(const Revocation& r);

}  // namespace smsconsent
