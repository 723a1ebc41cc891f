#include "core/sending.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/ascii.h"
#include "core/json_reader.h"
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
    case SendRefusal::kPendingConfirmation:
      return "pending_confirmation";
    case SendRefusal::kFrequencyCapped:
      return "frequency_capped";
  }
  return "not_opted_in";
}

std::optional<Refusal> MessageRefusal(Purpose purpose, SubscriptionStatus status) {
  if (status == SubscriptionStatus::kOptedOut) {
    return Refusal{SendRefusal::kOptedOut,
                   "the recipient opted out on this number; nothing is sent to them from it "
                   "until they opt in again"};
  }
  if (purpose == Purpose::kMarketing && status == SubscriptionStatus::kPendingConfirmation) {
    return Refusal{SendRefusal::kPendingConfirmation,
                   "the recipient has not yet confirmed their opt-in on this number (double "
                   "opt-in): marketing waits for their YES"};
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

Result<OptOutNotice> ParseOptOutNotice(std::string_view text) {
  auto read = ReadJson(text);
  if (!read.ok()) return InvalidArgument("opt_out_notice: " + read.status().message());
  const nlohmann::json& j = *read;
  if (!j.is_object()) return InvalidArgument("opt_out_notice must be an object");
  OptOutNotice n;
  for (const auto& [key, value] : j.items()) {
    if (key == "text") {
      if (!value.is_string()) return InvalidArgument("opt_out_notice.text must be a string");
      n.text = value.get<std::string>();
      if (n.text.size() > 160) {
        return InvalidArgument("opt_out_notice.text may be at most 160 bytes");
      }
    } else if (key == "every_messages" || key == "every_days") {
      const int64_t max = key == "every_messages" ? 1000 : 365;
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > max) {
        return InvalidArgument("opt_out_notice." + key + " must be a whole number from 0 to " +
                               std::to_string(max));
      }
      (key == "every_messages" ? n.every_messages : n.every_days) =
          static_cast<int>(value.get<int64_t>());
    } else {
      return InvalidArgument("opt_out_notice: unknown field '" + key + "'");
    }
  }
  return n;
}

std::string OptOutNoticeToJson(const OptOutNotice& n) {
  return nlohmann::json{
      {"text", n.text}, {"every_messages", n.every_messages}, {"every_days", n.every_days}}
      .dump();
}

Result<FrequencyCap> ParseFrequencyCap(std::string_view text) {
  auto read = ReadJson(text);
  if (!read.ok()) return InvalidArgument("frequency_cap: " + read.status().message());
  const nlohmann::json& j = *read;
  FrequencyCap cap;
  if (j.is_null()) return cap;
  if (!j.is_object()) return InvalidArgument("frequency_cap must be an object or null");
  for (const auto& [key, value] : j.items()) {
    if (key == "per_day" || key == "per_week") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > kMaxFrequencyCap) {
        return InvalidArgument("frequency_cap." + key + " must be a whole number from 0 to " +
                               std::to_string(kMaxFrequencyCap));
      }
      (key == "per_day" ? cap.per_day : cap.per_week) = static_cast<int>(value.get<int64_t>());
    } else if (key == "over") {
      if (value == "refuse") {
        cap.over = FrequencyCap::Over::kRefuse;
      } else if (value == "defer") {
        cap.over = FrequencyCap::Over::kDefer;
      } else {
        return InvalidArgument("frequency_cap.over must be \"refuse\" or \"defer\"");
      }
    } else {
      return InvalidArgument("frequency_cap: unknown field '" + key + "'");
    }
  }
  if (!cap.any()) {
    return InvalidArgument("frequency_cap needs per_day or per_week above 0 (null: no cap)");
  }
  return cap;
}

std::string FrequencyCapToJson(const FrequencyCap& cap) {
  if (!cap.any()) return "null";
  return nlohmann::json{{"per_day", cap.per_day},
                        {"per_week", cap.per_week},
                        {"over", cap.over == FrequencyCap::Over::kDefer ? "defer" : "refuse"}}
      .dump();
}

Result<std::optional<int64_t>> FrequencyCapDelay(const FrequencyCap& cap,
                                                 const std::vector<int64_t>& others_ms,
                                                 int64_t due_ms) {
  constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000, kWeekMs = 7 * kDayMs;
  const auto fits = [&](int64_t t) {
    int64_t day = 0, week = 0;
    for (int64_t o : others_ms) {
      const int64_t d = o > t ? o - t : t - o;
      if (d < kDayMs) ++day;
      if (d < kWeekMs) ++week;
    }
    return (cap.per_day == 0 || day < cap.per_day) && (cap.per_week == 0 || week < cap.per_week);
  };
  if (!cap.any() || fits(due_ms)) return std::optional<int64_t>();
  // A window's count drops only when a message leaves it: the first instant that fits is one
  // window length after one of the other messages.
  std::vector<int64_t> candidates;
  for (int64_t o : others_ms) {
    for (int64_t w : {kDayMs, kWeekMs}) {
      if (o + w > due_ms) candidates.push_back(o + w);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (int64_t t : candidates) {
    if (t - due_ms > kMaxScheduleAheadMs) break;
    if (fits(t)) return std::optional<int64_t>(t);
  }
  return InvalidArgument("the frequency cap leaves no room for this message within 30 days");
}

std::string DefaultOptOutNoticeText(std::string_view language) {
  if (language == "da") return "Svar STOP for at afmelde";
  if (language == "es") return "Responde BAJA para cancelar";
  return "Reply STOP to opt out";
}

std::string OptOutNoticeText(const OptOutNotice& notice,
                             const std::vector<std::string>& languages) {
  if (!notice.text.empty()) return notice.text;
  return DefaultOptOutNoticeText(languages.empty() ? "en" : languages.front());
}

bool NeedsOptOutNotice(const OptOutNotice& policy, const NoticeHistory& history, int64_t now_ms) {
  constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;
  if (!history.ever) return true;
  if (policy.every_messages > 0 && history.since_notice >= policy.every_messages) return true;
  return policy.every_days > 0 && now_ms - history.last_notice_ms >= policy.every_days * kDayMs;
}

std::string WithOptOutNotice(std::string_view body, std::string_view notice) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = LowerAscii(c);
    return out;
  };
  if (notice.empty() || lower(body).find(lower(notice)) != std::string::npos) {
    return std::string(body);
  }
  std::string out(body);
  out += '\n';
  out += notice;
  return out;
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
