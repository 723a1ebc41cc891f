// What may be sent, decided before a message is accepted and again when it leaves (rule 7):
// the refusals a client branches on, and the limits of a message's body and schedule.
// Pure: no I/O, no clock (the caller passes the time), thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/consent.h"
#include "core/status.h"

namespace smsconsent {

// Why a message is refused. Each has a stable code (SendRefusalCode) that clients may branch
// on, in the spirit of a provider's "recipient opted out" error but before anything leaves.
enum class SendRefusal {
  kAddonMissing,         // the account lacks marketing_sms_access, which every SMS feature needs
  kNumberNotPermitted,   // a short code while the account lacks sms_short_code
  kNotOptedIn,           // marketing to someone not opted in on the number
  kOptedOut,             // anything to someone opted out on the number
  kPendingConfirmation,  // marketing to someone who has not yet confirmed a double opt-in
  kFrequencyCapped,      // marketing past the number's frequency cap for the contact
};
// "addon_missing", "number_not_permitted", "not_opted_in", "opted_out", "pending_confirmation",
// "frequency_capped"
const char* SendRefusalCode(SendRefusal r);

struct Refusal {
  SendRefusal why = SendRefusal::kNotOptedIn;
  std::string message;  // for people: what is wrong and what would make it right
};

// The consent rules alone: marketing needs opted_in on the number (pending_confirmation is
// refused with its own code); a transactional message goes to anyone not opted out. An opt-out
// always wins, whatever the purpose.
std::optional<Refusal> MessageRefusal(Purpose purpose, SubscriptionStatus status);

// Everything a message is checked against when it is accepted.
struct SendCheck {
  Purpose purpose = Purpose::kMarketing;
  bool marketing_sms_access = false;  // the account's add-on
  bool sms_short_code = false;        // the account's add-on
  NumberKind number_kind = NumberKind::kLongCode;
  SubscriptionStatus status = SubscriptionStatus::kNotSpecified;  // on the sender number now
};
// The first refusal that applies, in the order of SendRefusal; nullopt when it may be sent.
std::optional<Refusal> RefuseSend(const SendCheck& check);

// ---- The opt-out notice ---------------------------------------------------------------------
// A sender number's policy for the notice its marketing carries ("Reply STOP to opt out"): on
// the first marketing message to a contact on the number, then again after `every_messages`
// messages without it or `every_days` days since the last one (0: not by that measure).
struct OptOutNotice {
  std::string text;        // empty: the default for the number's language
  int every_messages = 0;  // 0..1000
  int every_days = 30;     // 0..365
  bool operator==(const OptOutNotice&) const = default;
};
// {"text", "every_messages", "every_days"}, each optional; kInvalidArgument naming the field
// (text at most 160 bytes, counts within their ranges, no other keys).
Result<OptOutNotice> ParseOptOutNotice(std::string_view json);
std::string OptOutNoticeToJson(const OptOutNotice& notice);  // compact, every member
// "Reply STOP to opt out" (en), "Svar STOP for at afmelde" (da), "Responde BAJA para cancelar"
// (es); English for any other language.
std::string DefaultOptOutNoticeText(std::string_view language);
// The text a number's marketing carries: the policy's own, else the default in the first of
// the number's languages (English when it has none).
std::string OptOutNoticeText(const OptOutNotice& notice, const std::vector<std::string>& languages);

// The marketing messages a contact was sent on a number, as far as the notice cares: those not
// cancelled, expired or failed.
struct NoticeHistory {
  bool ever = false;           // one of them carried the notice
  int64_t last_notice_ms = 0;  // when the last one that did was queued
  int64_t since_notice = 0;    // how many were queued after it (all of them when !ever)
};
bool NeedsOptOutNotice(const OptOutNotice& policy, const NoticeHistory& history, int64_t now_ms);
// The body with the notice on a line of its own, unless the body already says it (compared
// without regard to ASCII case).
std::string WithOptOutNotice(std::string_view body, std::string_view notice);

// ---- The frequency cap ---------------------------------------------------------------------
// A sender number's limit on the marketing one contact gets from it: at most `per_day`
// messages in any 24 hours and `per_week` in any 7 days (0: no limit by that measure). A
// message over it is refused (409 frequency_capped) or, with kDefer, scheduled for the first
// moment it fits.
struct FrequencyCap {
  enum class Over { kRefuse, kDefer };
  int per_day = 0;   // 0..1000
  int per_week = 0;  // 0..1000
  Over over = Over::kRefuse;
  bool operator==(const FrequencyCap&) const = default;
  bool any() const { return per_day > 0 || per_week > 0; }
};
inline constexpr int kMaxFrequencyCap = 1000;
// null (no cap) or {"per_day", "per_week", "over": "refuse"|"defer"}, each optional but one
// of the counts; kInvalidArgument naming the field.
Result<FrequencyCap> ParseFrequencyCap(std::string_view json);
std::string FrequencyCapToJson(const FrequencyCap& cap);  // "null" when !cap.any()

// Where a marketing message due at `due_ms` fits under the cap, given when the contact's other
// marketing messages from the number are (or were) due (`others_ms`, those not cancelled,
// expired, failed or dead). A window counts every message due less than its length before or
// after the new one, so no 24 hours or 7 days that hold the new message hold more than the cap.
// nullopt: it fits at `due_ms`. Otherwise the first instant at which it fits, looked for up to
// kMaxScheduleAheadMs ahead (kInvalidArgument past that).
Result<std::optional<int64_t>> FrequencyCapDelay(const FrequencyCap& cap,
                                                 const std::vector<int64_t>& others_ms,
                                                 int64_t due_ms);

// ---- Limits of a message --------------------------------------------------------------------

inline constexpr int kMaxMessageSegments = 10;  // SMS parts a message may cost
// How far ahead a message may be scheduled, and how far in the past a send_at may lie (a
// client's clock a little behind ours) before it is refused rather than sent at once.
inline constexpr int64_t kMaxScheduleAheadMs = 30LL * 24 * 60 * 60 * 1000;  // 30 days
inline constexpr int64_t kSendAtSkewMs = 60 * 1000;                         // 1 minute

// kInvalidArgument naming `body` when it is empty (or only white space) or costs more than
// kMaxMessageSegments parts (core/segments.h counts them).
Status CheckMessageBody(std::string_view body);
// kInvalidArgument naming `send_at` when it lies more than kSendAtSkewMs before now_ms or more
// than kMaxScheduleAheadMs after it.
Status CheckSendAt(int64_t send_at_ms, int64_t now_ms);

}  // namespace smsconsent
