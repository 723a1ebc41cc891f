#include "core/sending.h"

#include "core/ascii.h"
#include "core/segments.h"

namespace smsconsent {

const char* SendRefusalCode(SendRefusal r) {
  switch (r) {
    case SendRefusal::kAddonMissing:
      return "addon_missing";
    case SendRefusal::kNumberNotPermitted:
      return "number_not_permitted";
    case SendRefusal::kNotOptedIn:
      return "not_opted_in";
    case SendRefusal::kOptedOut:
      return "opted_out";
  }
  return "not_opted_in";
}

std::optional<Refusal> MessageRefusal(Purpose purpose, SubscriptionStatus status) {
  if (status == SubscriptionStatus::kOptedOut) {
    return Refusal{SendRefusal::kOptedOut,
                   "the recipient opted out on this number; nothing is sent to them from it "
                   "until they opt in again"};
  }
  if (purpose == Purpose::kMarketing && status != SubscriptionStatus::kOptedIn) {
    return Refusal{SendRefusal::kNotOptedIn,
                   std::string("marketing needs the recipient opted in on this number; their "
                               "status is ") +
                       SubscriptionStatusName(status)};
  }
  return std::nullopt;
}

std::optional<Refusal> RefuseSend(const SendCheck& check) {
  if (!check.marketing_sms_access) {
    return Refusal{SendRefusal::kAddonMissing,
                   "the account has no marketing_sms_access add-on, which sending SMS needs"};
  }
  if (check.number_kind == NumberKind::kShortCode && !check.sms_short_code) {
    return Refusal{SendRefusal::kNumberNotPermitted,
                   "sending from a short code needs the account's sms_short_code add-on"};
  }
  return MessageRefusal(check.purpose, check.status);
}

Status CheckMessageBody(std::string_view body) {
  bool blank = true;
  for (char c : body) {
    if (!IsAsciiSpace(c)) {
      blank = false;
      break;
    }
  }
  if (blank) return InvalidArgument("'body' must not be empty");
  const SegmentInfo info = CountSegments(body);
  if (info.segments > kMaxMessageSegments) {
    return InvalidArgument("'body' costs " + std::to_string(info.segments) + " SMS segments (" +
                           SmsEncodingName(info.encoding) + "); at most " +
                           std::to_string(kMaxMessageSegments) + " are allowed");
  }
  return Status::Ok();
}

Status CheckSendAt(int64_t send_at_ms, int64_t now_ms) {
  if (send_at_ms < now_ms - kSendAtSkewMs) return InvalidArgument("'send_at' is in the past");
  if (send_at_ms > now_ms + kMaxScheduleAheadMs) {
    return InvalidArgument("'send_at' is more than 30 days ahead");
  }
  return Status::Ok();
}

}  // namespace smsconsent
