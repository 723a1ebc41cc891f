// Consent rules: the state machine over one (contact, sender number) pair.
//
// Pure functions from "what is the contact's state now, and what was asked" to "which status
// transitions to record and which reply to queue". They implement PRODUCT.md rules 2-7:
//   - an opt-out keyword affects the number it was sent to, or every number of the account
//     when the account's scope policy says so; STOPALL always affects every number;
//   - a contact's own opt-out (set by keyword, or recorded by staff on the contact's behalf
//     when the contact asked by phone, email, in person or another channel) cannot be
//     overridden by a user: only an opt-in keyword from the contact lifts it;
//   - a user's opt-in (manual, bulk, api, import) needs an attestation of express, verifiable
//     consent, a legal basis and an explanation;
//   - an opt-in on a short code always queues a confirmation (numbers may also opt in to
//     confirmations for manual/bulk opt-ins; a keyword opt-in is always answered);
//   - a new own opt-out gets exactly one confirmation, however many numbers it covers;
//     repeating STOP when already opted out by oneself gets none;
//   - HELP is answered for anyone; a message with no intent changes nothing;
//   - on a number with double opt-in, an opt-in (by keyword or by a user) first makes the
//     contact pending_confirmation and sends the request to confirm; the contact's YES within
//     the window completes it; a pending contact gets no marketing;
//   - asking again for the state one is in is recorded as a no-change event;
//   - a queued reply is checked again as it leaves: an opt-in confirmation whose contact's
//     status changed since is cancelled, and a reply past its maximum age expires.
// Nothing here reads a clock, a store or the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/keywords.h"
#include "core/status.h"

namespace smsconsent {

// kPendingConfirmation: opted in on a number with double opt-in, waiting for the contact's YES.
enum class SubscriptionStatus { kNotSpecified, kOptedIn, kOptedOut, kPendingConfirmation };
// "not_specified", "opted_in", "opted_out", "pending_confirmation"
const char* SubscriptionStatusName(SubscriptionStatus s);
Result<SubscriptionStatus> ParseSubscriptionStatus(std::string_view s);

// Who or what caused a change. kKeyword is the contact texting a keyword; kContactRequest is
// the contact asking by another channel (a call, an email, in person, ...), recorded by staff
// on the contact's behalf: under FCC 24-24 a revocation by any reasonable means binds like a
// texted STOP, so both are the contact's own. All others are the business.
enum class Source {
  kKeyword,
  kManual,
  kBulk,
  kApi,
  kImport,
  kSystem,
  kContactRequest,
  kCarrier,
};
// "keyword", "manual", "bulk", "api", "import", "system", "contact_request", "carrier"
const char* SourceName(Source s);
Result<Source> ParseSource(std::string_view s);
// True for the sources that speak for the contact: kKeyword, kContactRequest and kCarrier.
// A carrier's opt-out (the provider refusing a message because the recipient texted STOP to
// the sender: docs/sending.md, "Carrier opt-out") is the contact's own STOP, relayed by the
// carrier that received it, so it binds like one: no user, bulk change or import reverses it.
inline bool IsContactSource(Source s) {
  return s == Source::kKeyword || s == Source::kContactRequest || s == Source::kCarrier;
}

enum class NumberKind { kLongCode, kTollFree, kShortCode };
const char* NumberKindName(NumberKind k);  // "long_code", "toll_free", "short_code"
Result<NumberKind> ParseNumberKind(std::string_view s);

// Legal bases a user may give for a manual or bulk opt-in.
enum class LegalBasis {
  kConsent,             // GDPR Art. 6(1)(a): express consent
  kConsentWithNotice,   // consent collected together with a privacy notice
  kContract,            // performance of a contract (transactional messages)
  kLegitimateInterest,  // GDPR Art. 6(1)(f)
  kExistingCustomer,    // Markedsføringsloven §10 stk. 2: own similar products to customers
  kNotSubjectToGdpr,    // the contact is outside GDPR's scope
};
const char* LegalBasisName(LegalBasis b);  // "consent", "consent_with_notice", ...
Result<LegalBasis> ParseLegalBasis(std::string_view s);
std::vector<std::string> LegalBasisNames();

// What an outbox item is: a reply the service queued itself, or kMessage, a message the
// business sends through the service (POST /v1/messages), checked against its purpose.
// kConfirmationRequest is double opt-in's "Reply YES to confirm".
enum class ReplyKind {
  kOptInConfirmation,
  kOptOutConfirmation,
  kHelp,
  kMessage,
  kConfirmationRequest
};
// "opt_in_confirmation", "opt_out_confirmation", "help", "message", "confirmation_request"
const char* ReplyKindName(ReplyKind k);
Result<ReplyKind> ParseReplyKind(std::string_view s);

// Why the business sends a message. Marketing needs the recipient opted in on the number;
// transactional messages (an order, an appointment) go to anyone who has not opted out.
enum class Purpose { kMarketing, kTransactional };
const char* PurposeName(Purpose p);  // "marketing", "transactional"
Result<Purpose> ParsePurpose(std::string_view s);

// The current consent of one contact on one number, as derived from the ledger.
struct ConsentState {
  SubscriptionStatus status = SubscriptionStatus::kNotSpecified;
  // True when the contact opted out themselves (by keyword, or by another channel recorded on
  // their behalf); such an opt-out binds users.
  bool self_opted_out = false;
  // How and when the status last changed: the source and time of the last event that changed
  // it ("since"). Events that leave the status as it was do not move them.
  Source source = Source::kSystem;
  int64_t updated_at_ms = 0;  // 0 = never changed
};

// May the business send to a contact in this state? Only opted_in allows it (rule 7).
inline bool MaySend(const ConsentState& s) { return s.status == SubscriptionStatus::kOptedIn; }

// Folds one event into a state: the single definition of how the ledger replays. A change of
// status takes the event's status, source and time. An event that leaves the status as it was
// (a no-change event: a repeated STOP, a user's opt-in of an opted-in contact) is evidence
// only and keeps the source and time of the last change, with two effects: the contact's own
// opt-out (IsContactSource) confirming an opt-out a user had set makes it the contact's own;
// and a renewed request for confirmation (pending_confirmation again) takes its source and
// time, because the confirmation window runs from the latest request.
ConsentState ApplyEvent(const ConsentState& before, SubscriptionStatus to, Source source,
                        int64_t at_ms);

enum class OptOutScope { kNumber, kAccount };
const char* OptOutScopeName(OptOutScope s);  // "number", "account"
Result<OptOutScope> ParseOptOutScope(std::string_view s);

// What the rules need to know about a sender number.
struct NumberPolicy {
  int64_t number_id = 0;
  NumberKind kind = NumberKind::kLongCode;
  // Send the opt-in confirmation also for user opt-ins on this number. Short codes always do.
  bool opt_in_confirmation = false;
  // Double opt-in: an opt-in becomes pending_confirmation until the contact's YES.
  bool double_opt_in = false;
};

// How long a contact has to answer a request to confirm (double opt-in), from the latest
// request; a later YES asks again instead of completing the opt-in.
inline constexpr int64_t kDefaultConfirmationWindowMs = 30LL * 24 * 60 * 60 * 1000;  // 30 days

// Whether a whole message (as KeywordMatch::normalized gives it: case-folded, punctuation and
// outer white space removed) is a yes that confirms a pending opt-in: "yes", "y", "ja", "oui",
// "si", "sí". Only a pending contact's yes means anything; from anyone else it is a message
// like any other (or, for "yes", the opt-in keyword it is in the English pack).
bool IsConfirmationReply(std::string_view normalized);

struct Transition {
  int64_t number_id = 0;
  SubscriptionStatus from = SubscriptionStatus::kNotSpecified;
  SubscriptionStatus to = SubscriptionStatus::kNotSpecified;
  bool changed() const { return from != to; }
};

// ---- Inbound keyword ------------------------------------------------------------------

struct NumberState {
  NumberPolicy number;
  ConsentState state;
};

struct KeywordInput {
  Intent intent = Intent::kNone;
  // The message is a yes (IsConfirmationReply): it confirms a pending opt-in on the receiving
  // number when the latest request is at most `confirmation_window_ms` old at `now_ms`.
  bool confirms = false;
  int64_t now_ms = 0;
  int64_t confirmation_window_ms = kDefaultConfirmationWindowMs;
  int64_t receiving_number_id = 0;
  // The contact's state on every number of the account (must include the receiving number).
  std::vector<NumberState> numbers;
  OptOutScope opt_out_scope = OptOutScope::kNumber;
};

struct KeywordPlan {
  std::vector<Transition> transitions;  // one event each (no-change ones included)
  std::optional<ReplyKind> reply;       // sent from the receiving number
};

// Decides an inbound message's effect. kInvalidArgument when the receiving number is not
// among `numbers`. On a number with double opt-in: an opt-in keyword from a contact who is not
// opted in makes them pending_confirmation and replies with the request to confirm (again, when
// already pending: the window starts over); a yes from a pending contact within the window opts
// them in and replies with the opt-in confirmation; a yes after it asks again. An opted-in
// contact's opt-in keyword is a no-change event answered with the opt-in confirmation.
Result<KeywordPlan> PlanKeyword(const KeywordInput& in);

// ---- A user's change (manual, bulk, api, import) -------------------------------------

struct Attestation {
  bool express_consent = false;  // "I attest that I hold express, verifiable consent"
  std::optional<LegalBasis> legal_basis;
  std::string explanation;
};

struct UserChangeInput {
  NumberPolicy number;
  ConsentState current;
  SubscriptionStatus target = SubscriptionStatus::kNotSpecified;
  Source source = Source::kManual;  // must not be a contact's source (IsContactSource)
  Attestation attestation;
};

struct UserChangePlan {
  Transition transition;
  bool send_confirmation = false;  // opt-in confirmation to queue
  // Double opt-in: the opt-in became pending_confirmation; the request to confirm is queued.
  bool send_confirmation_request = false;
};

// On a number with double opt-in, an opt-in of a contact not opted in becomes
// pending_confirmation with the request to confirm (asked again when already pending).
// Errors: kFailedPrecondition when the contact's own opt-out forbids the change (any target
// other than opted_out); kInvalidArgument when an opt-in lacks the attestation, the legal
// basis or an explanation, when the target is pending_confirmation (only an opt-in on a
// number with double opt-in leads there), or when source is the contact's (IsContactSource).
Result<UserChangePlan> PlanUserChange(const UserChangeInput& in);

// ---- A queued reply at the moment it leaves (rules 5-7) --------------------------------

// How long a queued reply may wait to be sent, from the moment it was queued; past it the
// reply expires unsent (docs/limits.md, "Replies", says why these defaults).
inline constexpr int64_t kDefaultReplyMaxAgeMs = 60 * 60 * 1000;  // 1 hour
// The FCC presumes a text confirming an opt-out within consent when it is sent within five
// minutes of the request (FCC 12-143 ¶ 11, kept by FCC 24-24); later, the sender must show the
// delay was reasonable. A later confirmation is therefore never sent by default.
inline constexpr int64_t kDefaultOptOutConfirmationMaxAgeMs = 5 * 60 * 1000;  // 5 minutes
inline constexpr int64_t kDefaultHelpReplyMaxAgeMs = 24 * 60 * 60 * 1000;     // 24 hours
// A message the business sends, from the time it was due (its send_at, or when it was queued):
// a campaign held up for a day by a provider's outage is not sent late.
inline constexpr int64_t kDefaultMessageMaxAgeMs = 24 * 60 * 60 * 1000;  // 24 hours

struct ReplyMaxAges {
  // Opt-in confirmations, and every other reply that follows the status (ReplyFollowsStatus).
  int64_t reply_ms = kDefaultReplyMaxAgeMs;
  int64_t opt_out_confirmation_ms = kDefaultOptOutConfirmationMaxAgeMs;
  int64_t help_ms = kDefaultHelpReplyMaxAgeMs;   // HELP answers
  int64_t message_ms = kDefaultMessageMaxAgeMs;  // messages the business sends

  // The maximum age of a reply of this kind.
  int64_t For(ReplyKind kind) const;
};

// Whether a reply is due only while the contact's status on its number is the one it was
// queued for. False for the opt-out confirmation and HELP answers, which opted-out contacts get
// too (rule 6), and for a kMessage, which is checked by its purpose instead; true for the
// opt-in confirmation and the request to confirm.
bool ReplyFollowsStatus(ReplyKind kind);

// A queued reply as its store sees it when a dispatcher is about to send it.
struct PendingReply {
  ReplyKind kind = ReplyKind::kHelp;
  Purpose purpose = Purpose::kMarketing;  // of a kMessage
  // When it was queued; for a kMessage, when it was due (its send_at, if later).
  int64_t queued_at_ms = 0;
  // The contact's status on the reply's number now (not_specified when there is no contact).
  SubscriptionStatus status_now = SubscriptionStatus::kNotSpecified;
  // Whether an event changed that status after the reply was queued (and it may have changed
  // back since).
  bool status_changed = false;
};

enum class ReplyFate { kSend, kCancel, kExpire };

struct ReplyVerdict {
  ReplyFate fate = ReplyFate::kSend;
  std::string reason;  // why it is not sent; empty for kSend
};

// Rule 7 at the moment a reply leaves: nothing queued before a status change that makes it
// wrong goes out after it. A kMessage is checked as when it was accepted (MessageRefusal in
// core/sending.h): marketing only to a contact opted in now, nothing to one opted out now;
// it is cancelled with that refusal's text otherwise. A reply that follows the status is cancelled
// ("status changed since queued: now opted_out") when the status changed after it was queued, or,
// for an opt-in confirmation, when the contact is not opted in now (for a request to confirm,
// not pending_confirmation now). Then a reply older than its
// kind's maximum age (now_ms - queued_at_ms > the age) expires ("not sent within its maximum age of
// 1 h (queued 3 h ago)"). Otherwise it is sent.
ReplyVerdict DecidePendingReply(const PendingReply& reply, int64_t now_ms,
                                const ReplyMaxAges& ages);

// A duration as a reply's reason states it: whole hours, minutes or seconds ("24 h", "90 s",
// "2 min"), rounded down to the largest unit that still says at least 2 of it, unless the
// duration is a whole number of a larger unit ("1 h").
std::string DurationText(int64_t ms);

// Reply templates: "{business}" is replaced by the number's business name.
std::string RenderReply(std::string_view tmpl, std::string_view business_name);

struct DefaultReplies {
  std::string opt_in, opt_out, help, confirmation_request;
};
// Default reply texts for a language ("en", "da", ...; unknown -> English).
DefaultReplies DefaultRepliesFor(std::string_view language);

}  // namespace smsconsent
