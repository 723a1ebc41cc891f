// Quiet hours: whether a marketing SMS may reach a recipient now, by the recipient's local time,
// and if not, the earliest instant it may (docs/sending.md, "Quiet hours").
//
// A number's time zones: its region from libphonenumber, then the region's canonical location
// zones from ICU (icu::TimeZone's enumeration). NANP (+1) numbers are narrowed by area code:
// a compiled-in table maps every current US and Canadian geographic area code to its state or
// province and the IANA zones it spans (quiet_hours_data.cc). libphonenumber's time-zone mapper
// exists only in its Java edition, so the C++ library cannot answer this itself. A number that
// spans several zones may be texted only when the window holds in all of them.
//
// The window is local wall-clock time, per day of the week, [start, end). Policies:
//   default       08:00-21:00 every day (the TCPA's hours, 47 CFR 64.1200(c)(1));
//   jurisdiction  the default intersected with the stricter rule of the recipient's US state,
//                 when the area code names one that has a rule (quiet_hours_data.cc);
//   custom        one window, every day, that replaces the default;
//   off           never quiet.
//
// Pure: no I/O, no clock reads (the caller passes the instant); safe to call from any thread.
// Each region's zone list is read from ICU once per process and kept (a mutex guards it; at
// most one entry per libphonenumber region, about 250).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace smsconsent {

// How far ahead CheckQuietHours looks for an allowed instant.
inline constexpr int64_t kQuietHoursHorizonMs = 8LL * 24 * 60 * 60 * 1000;
// Zones a number may have; a region with more is refused (no region in ICU comes close).
inline constexpr std::size_t kMaxZonesPerNumber = 64;
// Instants a check accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kQuietHoursMinMs = -62'135'596'800'000;
inline constexpr int64_t kQuietHoursMaxMs = 253'402'300'799'999;

// [start, end) in minutes since local midnight, 0 <= start <= end <= 1440; start == end is a
// day with no window at all.
struct LocalWindow {
  int start_minute = 0;
  int end_minute = 0;
  bool empty() const { return start_minute >= end_minute; }
  bool Contains(int minute) const { return minute >= start_minute && minute < end_minute; }
  bool operator==(const LocalWindow&) const = default;
};

// Index 0 is Sunday ... 6 Saturday.
using WeeklyWindows = std::array<LocalWindow, 7>;

// 08:00-21:00 every day.
WeeklyWindows DefaultQuietHoursWindows();

struct QuietHoursPolicy {
  // kAccount, a number's only: the account's policy (EffectiveQuietHours).
  enum class Kind { kDefault, kJurisdiction, kCustom, kOff, kAccount };
  Kind kind = Kind::kDefault;
  LocalWindow custom;  // kCustom only: not empty
  // Defer transactional messages too. Off by default: an order confirmation or a one-time code
  // is expected at once, and the quiet-hours rules (TCPA, the state laws) are about marketing.
  bool transactional = false;
  bool operator==(const QuietHoursPolicy&) const = default;
};

// The policy from its JSON text: "default", "jurisdiction", "off", "account" or
// {"start":"HH:MM","end":"HH:MM"} (00:00 <= start < end <= 24:00), or, to defer transactional
// messages too, an object with "transactional": true and either "rule" ("default",
// "jurisdiction", "off") or "start" and "end".
// kInvalidArgument naming what is wrong: not JSON, an unknown name, a missing or extra key,
// a time not in HH:MM form or out of range, start not before end.
Result<QuietHoursPolicy> ParseQuietHoursPolicy(std::string_view json);
// The JSON text ParseQuietHoursPolicy reads back to the same policy.
std::string QuietHoursPolicyToJson(const QuietHoursPolicy& policy);

// Whether the policy holds messages of this purpose back: marketing always, transactional
// messages only when the policy says so.
inline bool QuietHoursApplyTo(const QuietHoursPolicy& policy, bool marketing) {
  return marketing || policy.transactional;
}

// The policy a number's messages follow: its own, or with "account" its account's.
inline const QuietHoursPolicy& EffectiveQuietHours(const QuietHoursPolicy& number,
                                                   const QuietHoursPolicy& account) {
  return number.kind == QuietHoursPolicy::Kind::kAccount ? account : number;
}

// Where a number's recipient may be.
struct NumberZones {
  std::string region;  // libphonenumber's region: "US", "DK"
  // "US-FL", "CA-ON" for NANP numbers whose area code is in the table (several provinces
  // sharing an area code are joined with "/": "CA-NS/PE"); else empty.
  std::string jurisdiction;
  std::vector<std::string> zones;  // IANA ids, at least one
};

// kInvalidPhone when `e164` is not a phone number; kFailedPrecondition when its region has no
// time zone (non-geographic numbers such as +800) or more than kMaxZonesPerNumber.
Result<NumberZones> ZonesForNumber(std::string_view e164);

struct QuietHoursDecision {
  bool allowed = false;
  // The earliest instant >= the one asked about at which the window holds in every zone
  // (equal to it when allowed).
  int64_t next_allowed_ms = 0;
  std::vector<std::string> zones;
  std::string rule;  // "default", "custom", "off" or the state's rule: "US-FL"
};

// The decision for a number at `at_unix_ms`. Errors of ZonesForNumber; kInvalidArgument when
// `at_unix_ms` is outside [kQuietHoursMinMs, kQuietHoursMaxMs]; kFailedPrecondition when no instant
// within kQuietHoursHorizonMs of `at_unix_ms` is in the window of every zone (zones too far apart
// to share one).
Result<QuietHoursDecision> CheckQuietHours(const QuietHoursPolicy& policy, std::string_view e164,
                                           int64_t at_unix_ms);
// The same for zones already known (tests, callers that cache ZonesForNumber). kInvalidArgument
// when a zone id is not known to ICU or the list is empty.
Result<QuietHoursDecision> CheckQuietHoursInZones(const QuietHoursPolicy& policy,
                                                  const NumberZones& where, int64_t at_unix_ms);

// The compiled-in data (quiet_hours_data.cc), for tests and documentation.
struct AreaCodeZones {
  int area_code;                  // 305
  std::string_view jurisdiction;  // "US-FL"
  std::string_view zones;         // space-separated IANA ids
};
struct JurisdictionRule {
  std::string_view jurisdiction;  // "US-FL"
  WeeklyWindows windows;
};
// Sorted by area code, each once.
std::span<const AreaCodeZones> NanpAreaCodes();
std::span<const JurisdictionRule> JurisdictionRules();

}  // namespace smsconsent
