#include "core/quiet_hours.h"

#include <unicode/basictz.h>
#include <unicode/strenum.h>
#include <unicode/timezone.h>
#include <unicode/tztrans.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/business_days.h"
#include "core/json_reader.h"
#include "core/phone.h"

namespace smsconsent {
namespace {

constexpr int64_t kLocalDayMs = 24LL * 60 * 60 * 1000;
constexpr int64_t kLocalMinuteMs = 60 * 1000;
constexpr int kMinutesInDay = 24 * 60;
// Local days scanned for window starts: the horizon plus one on each side for zone offsets.
constexpr int64_t kScanDays = kQuietHoursHorizonMs / kLocalDayMs + 2;

int64_t FloorDivMs(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::string WindowTimeText(int minute) {
  std::string s = "00:00";
  s[0] = static_cast<char>('0' + minute / 600);
  s[1] = static_cast<char>('0' + minute / 60 % 10);
  s[3] = static_cast<char>('0' + minute % 60 / 10);
  s[4] = static_cast<char>('0' + minute % 10);
  return s;
}

// "HH:MM", 00:00-24:00, as minutes since midnight.
Result<int> ParseWindowTime(const nlohmann::json& v, const char* key) {
  const std::string where = std::string("quiet_hours.") + key;
  if (!v.is_string()) return InvalidArgument(where + " must be a string \"HH:MM\"");
  const std::string& s = v.get_ref<const std::string&>();
  const auto digit = [&](int i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return InvalidArgument(where + " must have the form HH:MM (24-hour clock)");
  }
  const int hours = (s[0] - '0') * 10 + (s[1] - '0');
  const int minutes = (s[3] - '0') * 10 + (s[4] - '0');
  if (hours > 24 || minutes > 59 || (hours == 24 && minutes != 0)) {
    return InvalidArgument(where + " is not a time of day between 00:00 and 24:00");
  }
  return hours * 60 + minutes;
}

Status CheckCustomWindow(const LocalWindow& w) {
  if (w.start_minute < 0 || w.end_minute > kMinutesInDay || w.empty()) {
    return InvalidArgument("quiet_hours: start must be before end, within 00:00-24:00");
  }
  return Status::Ok();
}

WeeklyWindows SameEveryDay(LocalWindow w) { return {w, w, w, w, w, w, w}; }

WeeklyWindows IntersectWindows(const WeeklyWindows& a, const WeeklyWindows& b) {
  WeeklyWindows out;
  for (std::size_t d = 0; d < out.size(); ++d) {
    const LocalWindow w{std::max(a[d].start_minute, b[d].start_minute),
                        std::min(a[d].end_minute, b[d].end_minute)};
    out[d] = w.empty() ? LocalWindow{} : w;
  }
  return out;
}

// A zone and what the search needs of it. ICU time zones are not shared between threads:
// every check builds its own.
class ZoneClock {
 public:
  explicit ZoneClock(std::unique_ptr<icu::TimeZone> tz) : tz_(std::move(tz)) {}

  // Local wall-clock time at `utc_ms`, as ms since the local epoch.
  int64_t Local(int64_t utc_ms) const {
    int32_t raw = 0, dst = 0;
    UErrorCode status = U_ZERO_ERROR;
    tz_->getOffset(static_cast<UDate>(utc_ms), false, raw, dst, status);
    return utc_ms + raw + dst;
  }

  bool InWindow(const WeeklyWindows& week, int64_t utc_ms) const {
    const int64_t local = Local(utc_ms);
    const int64_t day = FloorDivMs(local, kLocalDayMs);
    return week[Weekday(day)].Contains(
        static_cast<int>((local - day * kLocalDayMs) / kLocalMinuteMs));
  }

  // Instants in (from, to] at which the zone may enter its window: each local window start
  // (under the offset before and after a nearby transition, one of which is right), and each
  // offset transition (a jump that lands inside a window).
  void Candidates(const WeeklyWindows& week, int64_t from, int64_t to,
                  std::vector<int64_t>& out) const {
    const int64_t first_day = FloorDivMs(Local(from), kLocalDayMs) - 1;
    for (int64_t day = first_day; day <= first_day + kScanDays; ++day) {
      const LocalWindow& w = week[Weekday(day)];
      if (w.empty()) continue;
      const int64_t local_start = day * kLocalDayMs + w.start_minute * kLocalMinuteMs;
      for (int64_t probe : {local_start - kLocalDayMs, local_start + kLocalDayMs}) {
        const int64_t utc = local_start - (Local(probe) - probe);
        if (utc > from && utc <= to) out.push_back(utc);
      }
    }
    const auto* basic = dynamic_cast<const icu::BasicTimeZone*>(tz_.get());
    if (basic == nullptr) return;
    icu::TimeZoneTransition transition;
    UDate base = static_cast<UDate>(from);
    // Zones change offset at most a few times a year; the horizon bounds the loop anyway.
    while (basic->getNextTransition(base, false, transition)) {
      const auto at = static_cast<int64_t>(transition.getTime());
      if (at > to) break;
      out.push_back(at);
      base = transition.getTime();
    }
  }

 private:
  std::unique_ptr<icu::TimeZone> tz_;
};

Result<ZoneClock> MakeZoneClock(const std::string& id) {
  auto tz = std::unique_ptr<icu::TimeZone>(
      icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(id)));
  icu::UnicodeString got;
  if (tz == nullptr || tz->getID(got) == icu::UnicodeString("Etc/Unknown")) {
    return InvalidArgument("unknown time zone \"" + id + "\"");
  }
  return ZoneClock(std::move(tz));
}

std::vector<std::string> SplitZoneList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t space = list.find(' ');
    out.emplace_back(list.substr(0, space));
    list = space == std::string_view::npos ? std::string_view() : list.substr(space + 1);
  }
  return out;
}

// ICU 72 names zones by CLDR's canonical ids, some of which are the IANA database's old
// spellings of the same place; the decision reports IANA's current name.
constexpr std::pair<std::string_view, std::string_view> kCldrToIana[] = {
    {"Africa/Asmera", "Africa/Asmara"},
    {"America/Buenos_Aires", "America/Argentina/Buenos_Aires"},
    {"America/Catamarca", "America/Argentina/Catamarca"},
    {"America/Cordoba", "America/Argentina/Cordoba"},
    {"America/Godthab", "America/Nuuk"},
    {"America/Indianapolis", "America/Indiana/Indianapolis"},
    {"America/Jujuy", "America/Argentina/Jujuy"},
    {"America/Louisville", "America/Kentucky/Louisville"},
    {"America/Mendoza", "America/Argentina/Mendoza"},
    {"Asia/Calcutta", "Asia/Kolkata"},
    {"Asia/Katmandu", "Asia/Kathmandu"},
    {"Asia/Rangoon", "Asia/Yangon"},
    {"Asia/Saigon", "Asia/Ho_Chi_Minh"},
    {"Atlantic/Faeroe", "Atlantic/Faroe"},
    {"Europe/Kiev", "Europe/Kyiv"},
    {"Pacific/Enderbury", "Pacific/Kanton"},
    {"Pacific/Ponape", "Pacific/Pohnpei"},
    {"Pacific/Truk", "Pacific/Chuuk"},
};

// Reads ICU's zone list of a region (about 0.2 ms: CanonicalZonesOfRegion caches it).
std::vector<std::string> ReadZonesOfRegion(const std::string& region) {
  std::vector<std::string> out;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::StringEnumeration> ids(icu::TimeZone::createTimeZoneIDEnumeration(
      UCAL_ZONE_TYPE_CANONICAL_LOCATION, region.c_str(), nullptr, status));
  if (U_FAILURE(status) || ids == nullptr) return out;
  int32_t length = 0;
  while (const char* id = ids->next(&length, status)) {
    if (U_FAILURE(status)) break;
    const std::string_view name(id, static_cast<std::size_t>(length));
    const auto renamed = std::find_if(std::begin(kCldrToIana), std::end(kCldrToIana),
                                      [&](const auto& pair) { return pair.first == name; });
    out.emplace_back(renamed == std::end(kCldrToIana) ? name : renamed->second);
  }
  return out;
}

// The zones of a region, read once per region and process. Bounded: libphonenumber knows
// about 250 regions, and only those are asked for.
std::vector<std::string> CanonicalZonesOfRegion(const std::string& region) {
  static std::mutex mutex;
  static auto* cache = new std::map<std::string, std::vector<std::string>, std::less<>>();
  {
    std::lock_guard lock(mutex);
    if (const auto it = cache->find(region); it != cache->end()) return it->second;
  }
  std::vector<std::string> zones = ReadZonesOfRegion(region);
  std::lock_guard lock(mutex);
  return cache->try_emplace(region, std::move(zones)).first->second;
}

const PhoneNormalizer& QuietHoursNormalizer() {
  // Thread-safe (phone.h); a small cache, as the consent checks keep their own.
  static const auto* normalizer =
      new PhoneNormalizer(PhoneNormalizer::Options{.cache_capacity = 4096});
  return *normalizer;
}

}  // namespace

WeeklyWindows DefaultQuietHoursWindows() { return SameEveryDay({8 * 60, 21 * 60}); }

Result<QuietHoursPolicy> ParseQuietHoursPolicy(std::string_view json) {
  auto parsed = ReadJson(json);
  if (!parsed.ok()) return InvalidArgument("quiet_hours: " + parsed.status().message());
  const nlohmann::json& v = *parsed;
  if (v.is_string()) {
    const std::string& name = v.get_ref<const std::string&>();
    if (name == "default") return QuietHoursPolicy{QuietHoursPolicy::Kind::kDefault, {}};
    if (name == "jurisdiction") return QuietHoursPolicy{QuietHoursPolicy::Kind::kJurisdiction, {}};
    if (name == "off") return QuietHoursPolicy{QuietHoursPolicy::Kind::kOff, {}};
    if (name == "account") return QuietHoursPolicy{QuietHoursPolicy::Kind::kAccount, {}};
    return InvalidArgument(
        "quiet_hours must be \"default\", \"jurisdiction\", \"off\", \"account\" or "
        "{\"start\",\"end\"}");
  }
  if (!v.is_object()) {
    return InvalidArgument(
        "quiet_hours must be \"default\", \"jurisdiction\", \"off\" or {\"start\",\"end\"}");
  }
  for (const auto& [key, value] : v.items()) {
    if (key != "start" && key != "end" && key != "rule" && key != "transactional") {
      return InvalidArgument(
          "quiet_hours has an unknown key; only \"start\", \"end\", \"rule\" and "
          "\"transactional\" are allowed");
    }
  }
  bool transactional = false;
  if (v.contains("transactional")) {
    if (!v.at("transactional").is_boolean()) {
      return InvalidArgument("quiet_hours.transactional must be true or false");
    }
    transactional = v.at("transactional").get<bool>();
  }
  if (v.contains("rule")) {
    if (v.contains("start") || v.contains("end")) {
      return InvalidArgument("quiet_hours has either \"rule\" or \"start\" and \"end\", not both");
    }
    const nlohmann::json& rule = v.at("rule");
    if (!rule.is_string()) return InvalidArgument("quiet_hours.rule must be a string");
    SMSC_ASSIGN_OR_RETURN(QuietHoursPolicy named, ParseQuietHoursPolicy(rule.dump()));
    if (named.kind == QuietHoursPolicy::Kind::kAccount) {
      return InvalidArgument(
          "quiet_hours \"account\" takes the account's whole policy, transactional included; "
          "write it as a string");
    }
    named.transactional = transactional;
    return named;
  }
  if (!v.contains("start") || !v.contains("end")) {
    return InvalidArgument("quiet_hours needs both \"start\" and \"end\" (or a \"rule\")");
  }
  SMSC_ASSIGN_OR_RETURN(const int start, ParseWindowTime(v.at("start"), "start"));
  SMSC_ASSIGN_OR_RETURN(const int end, ParseWindowTime(v.at("end"), "end"));
  const LocalWindow window{start, end};
  SMSC_RETURN_IF_ERROR(CheckCustomWindow(window));
  return QuietHoursPolicy{QuietHoursPolicy::Kind::kCustom, window, transactional};
}

std::string QuietHoursPolicyToJson(const QuietHoursPolicy& policy) {
  if (policy.transactional) {
    QuietHoursPolicy marketing_only = policy;
    marketing_only.transactional = false;
    std::string inner = QuietHoursPolicyToJson(marketing_only);
    if (policy.kind != QuietHoursPolicy::Kind::kCustom) {
      return "{\"rule\":" + inner + ",\"transactional\":true}";
    }
    inner.pop_back();  // the custom window's closing brace
    return inner + ",\"transactional\":true}";
  }
  switch (policy.kind) {
    case QuietHoursPolicy::Kind::kDefault:
      return "\"default\"";
    case QuietHoursPolicy::Kind::kJurisdiction:
      return "\"jurisdiction\"";
    case QuietHoursPolicy::Kind::kOff:
      return "\"off\"";
    case QuietHoursPolicy::Kind::kAccount:
      return "\"account\"";
    case QuietHoursPolicy::Kind::kCustom:
      break;
  }
  return "{\"start\":\"" + WindowTimeText(policy.custom.start_minute) + "\",\"end\":\"" +
         WindowTimeText(policy.custom.end_minute) + "\"}";
}

Result<NumberZones> ZonesForNumber(std::string_view e164) {
  SMSC_ASSIGN_OR_RETURN(const PhoneNumber number, QuietHoursNormalizer().Normalize(e164, ""));
  NumberZones where;
  where.region = number.region;
  if (number.country_code == 1 && number.e164.size() == 12) {
    const int area_code = std::stoi(number.e164.substr(2, 3));
    const auto table = NanpAreaCodes();
    const auto it =
        std::lower_bound(table.begin(), table.end(), area_code,
                         [](const AreaCodeZones& row, int code) { return row.area_code < code; });
    if (it != table.end() && it->area_code == area_code) {
      where.jurisdiction = std::string(it->jurisdiction);
      where.zones = SplitZoneList(it->zones);
      return where;
    }
  }
  where.zones = CanonicalZonesOfRegion(where.region);
  if (where.zones.empty() || where.zones.size() > kMaxZonesPerNumber) {
    return FailedPrecondition("no local time is known for " + number.e164 + " (region " +
                              where.region + ")");
  }
  return where;
}

Result<QuietHoursDecision> CheckQuietHoursInZones(const QuietHoursPolicy& policy,
                                                  const NumberZones& where, int64_t at_unix_ms) {
  if (where.zones.empty() || where.zones.size() > kMaxZonesPerNumber) {
    return InvalidArgument("a number needs between 1 and 64 time zones");
  }
  if (at_unix_ms < kQuietHoursMinMs || at_unix_ms > kQuietHoursMaxMs) {
    return InvalidArgument("the instant to check is not between the years 1 and 9999");
  }
  std::vector<ZoneClock> zones;
  zones.reserve(where.zones.size());
  for (const std::string& id : where.zones) {
    SMSC_ASSIGN_OR_RETURN(ZoneClock zone, MakeZoneClock(id));
    zones.push_back(std::move(zone));
  }
  QuietHoursDecision decision;
  decision.zones = where.zones;
  decision.next_allowed_ms = at_unix_ms;
  WeeklyWindows week = DefaultQuietHoursWindows();
  decision.rule = "default";
  switch (policy.kind) {
    case QuietHoursPolicy::Kind::kAccount:
      return InvalidArgument("quiet hours \"account\" are checked as the account's policy");
    case QuietHoursPolicy::Kind::kOff:
      decision.rule = "off";
      decision.allowed = true;
      return decision;
    case QuietHoursPolicy::Kind::kDefault:
      break;
    case QuietHoursPolicy::Kind::kCustom:
      SMSC_RETURN_IF_ERROR(CheckCustomWindow(policy.custom));
      week = SameEveryDay(policy.custom);
      decision.rule = "custom";
      break;
    case QuietHoursPolicy::Kind::kJurisdiction:
      for (const JurisdictionRule& rule : JurisdictionRules()) {
        if (rule.jurisdiction == where.jurisdiction) {
          week = IntersectWindows(week, rule.windows);
          decision.rule = std::string(rule.jurisdiction);
        }
      }
      break;
  }
  const auto allowed_at = [&](int64_t t) {
    return std::all_of(zones.begin(), zones.end(),
                       [&](const ZoneClock& z) { return z.InWindow(week, t); });
  };
  if (allowed_at(at_unix_ms)) {
    decision.allowed = true;
    return decision;
  }
  // The allowed instants of one zone are a union of intervals, each opening at a window start
  // or an offset transition; those of all zones are the intersection, so the earliest allowed
  // instant is one of the zones' opening instants.
  const int64_t horizon = at_unix_ms + kQuietHoursHorizonMs;
  std::vector<int64_t> candidates;
  for (const ZoneClock& zone : zones) zone.Candidates(week, at_unix_ms, horizon, candidates);
  std::sort(candidates.begin(), candidates.end());
  for (int64_t t : candidates) {
    if (allowed_at(t)) {
      decision.next_allowed_ms = t;
      return decision;
    }
  }
  return FailedPrecondition("the quiet-hours window (" + decision.rule +
                            ") never holds in all time zones of the number at once within 8 days");
}

Result<QuietHoursDecision> CheckQuietHours(const QuietHoursPolicy& policy, std::string_view e164,
                                           int64_t at_unix_ms) {
  SMSC_ASSIGN_OR_RETURN(const NumberZones where, ZonesForNumber(e164));
  return CheckQuietHoursInZones(policy, where, at_unix_ms);
}

}  // namespace smsconsent
