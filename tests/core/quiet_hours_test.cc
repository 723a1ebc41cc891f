#include "core/quiet_hours.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/business_days.h"

namespace smsconsent {
namespace {

using Kind = QuietHoursPolicy::Kind;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

// The UTC instant of a local wall-clock time in a zone `utc_offset_minutes` ahead of UTC.
int64_t At(int year, int month, int day, int hour, int minute, int utc_offset_minutes) {
  return DaysFromCivil({year, month, day}) * 24 * kHour + hour * kHour + minute * kMinute -
         utc_offset_minutes * kMinute;
}

QuietHoursPolicy Policy(std::string_view json) {
  auto p = ParseQuietHoursPolicy(json);
  EXPECT_TRUE(p.ok()) << json << ": " << p.status().ToString();
  return p.ok() ? *p : QuietHoursPolicy{};
}

QuietHoursDecision Check(std::string_view policy, std::string_view e164, int64_t at) {
  auto d = CheckQuietHours(Policy(policy), e164, at);
  EXPECT_TRUE(d.ok()) << e164 << ": " << d.status().ToString();
  return d.ok() ? *d : QuietHoursDecision{};
}

QuietHoursDecision CheckZones(std::string_view policy, std::vector<std::string> zones, int64_t at) {
  auto d = CheckQuietHoursInZones(Policy(policy), NumberZones{"", "", std::move(zones)}, at);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : QuietHoursDecision{};
}

constexpr int kEdt = -4 * 60, kEst = -5 * 60, kCdt = -5 * 60;

TEST(QuietHoursTest, FloridaEveningIsDeferredToEightNextMorning) {
  // Monday 15 June 2026, 20:30 in Miami: inside the federal hours, past Florida's 20:00.
  const auto d = Check("\"jurisdiction\"", "+13055550123", At(2026, 6, 15, 20, 30, kEdt));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 6, 16, 8, 0, kEdt));
  EXPECT_EQ(d.rule, "US-FL");
  EXPECT_EQ(d.zones, std::vector<std::string>{"America/New_York"});
  // The default policy knows nothing of Florida.
  const auto plain = Check("\"default\"", "+13055550123", At(2026, 6, 15, 20, 30, kEdt));
  EXPECT_TRUE(plain.allowed);
  EXPECT_EQ(plain.rule, "default");
}

TEST(QuietHoursTest, RhodeIslandSundayOpensAtTen) {
  const auto d = Check("\"jurisdiction\"", "+14015550123", At(2026, 6, 14, 9, 30, kEdt));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 6, 14, 10, 0, kEdt));
  EXPECT_EQ(d.rule, "US-RI");
  // On a weekday it closes at 18:00 and opens at 09:00.
  const auto weekday = Check("\"jurisdiction\"", "+14015550123", At(2026, 6, 15, 18, 0, kEdt));
  EXPECT_FALSE(weekday.allowed);
  EXPECT_EQ(weekday.next_allowed_ms, At(2026, 6, 16, 9, 0, kEdt));
}

TEST(QuietHoursTest, TexasSundayOpensAtNoon) {
  const auto d = Check("\"jurisdiction\"", "+15125550123", At(2026, 6, 14, 10, 0, kCdt));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 6, 14, 12, 0, kCdt));
  EXPECT_EQ(d.rule, "US-TX");
  EXPECT_TRUE(Check("\"jurisdiction\"", "+15125550123", At(2026, 6, 15, 10, 0, kCdt)).allowed);
}

TEST(QuietHoursTest, AlabamaWaitsOverSunday) {
  // Saturday 20:00 in Birmingham: closed until Monday 08:00.
  const auto d = Check("\"jurisdiction\"", "+12055550123", At(2026, 6, 13, 20, 0, kCdt));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 6, 15, 8, 0, kCdt));
}

TEST(QuietHoursTest, TwoZonesMustBothBeInTheWindow) {
  // Area code 812 covers Evansville (Central) and Bloomington (Eastern).
  const auto zones = ZonesForNumber("+18125550123");
  ASSERT_TRUE(zones.ok()) << zones.status().ToString();
  EXPECT_EQ(zones->jurisdiction, "US-IN");
  EXPECT_EQ(std::set<std::string>(zones->zones.begin(), zones->zones.end()),
            (std::set<std::string>{"America/Indiana/Indianapolis", "America/Chicago"}));
  // 08:30 Eastern is 07:30 Central: wait for 08:00 Central.
  const auto morning = Check("\"default\"", "+18125550123", At(2026, 6, 15, 8, 30, kEdt));
  EXPECT_FALSE(morning.allowed);
  EXPECT_EQ(morning.next_allowed_ms, At(2026, 6, 15, 8, 0, kCdt));
  // 21:00 Eastern is 20:00 Central: closed in the east until 08:00 Central the next day.
  const auto evening = Check("\"default\"", "+18125550123", At(2026, 6, 15, 21, 0, kEdt));
  EXPECT_FALSE(evening.allowed);
  EXPECT_EQ(evening.next_allowed_ms, At(2026, 6, 16, 8, 0, kCdt));
  EXPECT_TRUE(Check("\"default\"", "+18125550123", At(2026, 6, 15, 20, 59, kEdt)).allowed);
  // Kansas's 785 reaches the Mountain counties.
  const auto kansas = Check("\"default\"", "+17855550123", At(2026, 6, 15, 8, 30, kCdt));
  EXPECT_FALSE(kansas.allowed);
  EXPECT_EQ(kansas.next_allowed_ms, At(2026, 6, 15, 8, 0, -6 * 60));
}

TEST(QuietHoursTest, DenmarkUsesCopenhagenAndTheDefault) {
  const auto zones = ZonesForNumber("+4520123456");
  ASSERT_TRUE(zones.ok()) << zones.status().ToString();
  EXPECT_EQ(zones->region, "DK");
  EXPECT_EQ(zones->jurisdiction, "");
  EXPECT_EQ(zones->zones, std::vector<std::string>{"Europe/Copenhagen"});
  // 07:15 on a winter Monday (UTC+1) waits for 08:00; "jurisdiction" is the default here.
  const auto d = Check("\"jurisdiction\"", "+4520123456", At(2026, 12, 7, 7, 15, 60));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 12, 7, 8, 0, 60));
  EXPECT_EQ(d.rule, "default");
  EXPECT_TRUE(Check("\"default\"", "+4520123456", At(2026, 6, 15, 20, 59, 120)).allowed);
  EXPECT_FALSE(Check("\"default\"", "+4520123456", At(2026, 6, 15, 21, 0, 120)).allowed);
}

TEST(QuietHoursTest, UnitedKingdomFollowsLondonTime) {
  const auto winter = Check("\"default\"", "+442079460958", At(2026, 12, 7, 21, 30, 0));
  EXPECT_EQ(winter.zones, std::vector<std::string>{"Europe/London"});
  EXPECT_FALSE(winter.allowed);
  EXPECT_EQ(winter.next_allowed_ms, At(2026, 12, 8, 8, 0, 0));
  // In summer London is UTC+1: 07:30 UTC is already 08:30 there.
  EXPECT_TRUE(Check("\"default\"", "+442079460958", At(2026, 6, 15, 7, 30, 0)).allowed);
}

TEST(QuietHoursTest, HalfHourOffsets) {
  // Kolkata is UTC+5:30 all year.
  const auto india = Check("\"default\"", "+919810012345", At(2026, 6, 15, 7, 30, 330));
  EXPECT_EQ(india.zones, std::vector<std::string>{"Asia/Kolkata"});
  EXPECT_FALSE(india.allowed);
  EXPECT_EQ(india.next_allowed_ms, At(2026, 6, 15, 8, 0, 330));
  // Kathmandu is UTC+5:45.
  const auto nepal = Check("\"default\"", "+9779841234567", At(2026, 6, 15, 20, 59, 345));
  EXPECT_TRUE(nepal.allowed);
  EXPECT_EQ(Check("\"default\"", "+9779841234567", At(2026, 6, 15, 21, 0, 345)).next_allowed_ms,
            At(2026, 6, 16, 8, 0, 345));
  // Adelaide is UTC+10:30 in its summer, +9:30 in winter.
  const auto summer =
      CheckZones("\"default\"", {"Australia/Adelaide"}, At(2026, 1, 15, 21, 0, 630));
  EXPECT_FALSE(summer.allowed);
  EXPECT_EQ(summer.next_allowed_ms, At(2026, 1, 16, 8, 0, 630));
  const auto winter =
      CheckZones("\"default\"", {"Australia/Adelaide"}, At(2026, 6, 15, 7, 59, 570));
  EXPECT_EQ(winter.next_allowed_ms, At(2026, 6, 15, 8, 0, 570));
}

TEST(QuietHoursTest, SpringForwardNight) {
  // New York, Sunday 8 March 2026: 02:00 EST becomes 03:00 EDT.
  const auto d = CheckZones("\"default\"", {"America/New_York"}, At(2026, 3, 7, 22, 0, kEst));
  EXPECT_EQ(d.next_allowed_ms, At(2026, 3, 8, 8, 0, kEdt));
  // A window opening at 02:30 opens at 03:00 EDT that night: 02:30 never happens.
  const auto skipped = CheckZones(R"({"start":"02:30","end":"06:00"})", {"America/New_York"},
                                  At(2026, 3, 8, 1, 0, kEst));
  EXPECT_FALSE(skipped.allowed);
  EXPECT_EQ(skipped.next_allowed_ms, At(2026, 3, 8, 3, 0, kEdt));
}

TEST(QuietHoursTest, FallBackNight) {
  // New York, Sunday 1 November 2026: 02:00 EDT becomes 01:00 EST.
  const auto d = CheckZones("\"default\"", {"America/New_York"}, At(2026, 10, 31, 23, 0, kEdt));
  EXPECT_EQ(d.next_allowed_ms, At(2026, 11, 1, 8, 0, kEst));
  // 01:30 happens twice; the first one counts.
  const auto twice = CheckZones(R"({"start":"01:30","end":"05:00"})", {"America/New_York"},
                                At(2026, 11, 1, 0, 0, kEdt));
  EXPECT_EQ(twice.next_allowed_ms, At(2026, 11, 1, 1, 30, kEdt));
  // After 01:00-01:30 EDT has passed, the clock turning back opens it again at 01:00 EST.
  const auto again = CheckZones(R"({"start":"01:00","end":"01:30"})", {"America/New_York"},
                                At(2026, 11, 1, 1, 45, kEdt));
  EXPECT_FALSE(again.allowed);
  EXPECT_EQ(again.next_allowed_ms, At(2026, 11, 1, 1, 0, kEst));
}

TEST(QuietHoursTest, CustomWindowReplacesTheDefaultAndStateRule) {
  const auto d =
      Check(R"({"start":"10:00","end":"22:00"})", "+13055550123", At(2026, 6, 15, 21, 30, kEdt));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "custom");
  const auto early =
      Check(R"({"start":"10:00","end":"22:00"})", "+13055550123", At(2026, 6, 15, 9, 0, kEdt));
  EXPECT_EQ(early.next_allowed_ms, At(2026, 6, 15, 10, 0, kEdt));
}

TEST(QuietHoursTest, OffIsNeverQuiet) {
  const auto d = Check("\"off\"", "+13055550123", At(2026, 6, 15, 3, 0, kEdt));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.next_allowed_ms, At(2026, 6, 15, 3, 0, kEdt));
  EXPECT_EQ(d.rule, "off");
}

TEST(QuietHoursTest, ZonesThatNeverShareAWindowAreAnError) {
  const auto d = CheckQuietHoursInZones(Policy(R"({"start":"08:00","end":"09:00"})"),
                                        NumberZones{"", "", {"Europe/London", "Asia/Tokyo"}},
                                        At(2026, 6, 15, 12, 0, 0));
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
}

TEST(QuietHoursTest, BadNumbersAndZonesAreErrors) {
  EXPECT_EQ(CheckQuietHours({}, "not a phone", 0).status().code(), StatusCode::kInvalidPhone);
  EXPECT_EQ(CheckQuietHours({}, "+1", 0).status().code(), StatusCode::kInvalidPhone);
  // International freephone numbers have no place, so no local time.
  EXPECT_EQ(CheckQuietHours({}, "+80012345678", 0).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      CheckQuietHoursInZones({}, NumberZones{"", "", {"Mars/Olympus_Mons"}}, 0).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckQuietHoursInZones({}, NumberZones{}, 0).status().code(),
            StatusCode::kInvalidArgument);
  for (int64_t at : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                     kQuietHoursMaxMs + 1, kQuietHoursMinMs - 1}) {
    EXPECT_EQ(CheckQuietHours({}, "+4520123456", at).status().code(), StatusCode::kInvalidArgument)
        << at;
  }
  EXPECT_TRUE(CheckQuietHours({}, "+4520123456", kQuietHoursMaxMs).ok());
  EXPECT_TRUE(CheckQuietHours({}, "+4520123456", kQuietHoursMinMs).ok());
}

TEST(QuietHoursTest, UnknownAreaCodeFallsBackToTheRegionsZones) {
  // 800 is toll-free: no place, so every US zone.
  const auto zones = ZonesForNumber("+18005550123");
  ASSERT_TRUE(zones.ok()) << zones.status().ToString();
  EXPECT_EQ(zones->jurisdiction, "");
  EXPECT_GT(zones->zones.size(), 5u);
  EXPECT_NE(std::find(zones->zones.begin(), zones->zones.end(), "Pacific/Honolulu"),
            zones->zones.end());
}

TEST(QuietHoursTest, RegionZonesAreNamedAsTheIanaDatabaseNamesThemNow) {
  // ICU's own ids for these are Asia/Calcutta, Asia/Saigon, Asia/Katmandu.
  for (const auto& [number, zone] :
       {std::pair{"+919810012345", "Asia/Kolkata"}, std::pair{"+84912345678", "Asia/Ho_Chi_Minh"},
        std::pair{"+9779841234567", "Asia/Kathmandu"}}) {
    const auto zones = ZonesForNumber(number);
    ASSERT_TRUE(zones.ok()) << number << ": " << zones.status().ToString();
    EXPECT_EQ(zones->zones, std::vector<std::string>{zone}) << number;
    EXPECT_TRUE(CheckQuietHoursInZones({}, *zones, 0).ok()) << number;
  }
}

TEST(QuietHoursTest, CanadaAndTheTerritoriesOfTheNanp) {
  const auto toronto = ZonesForNumber("+14165550123");
  ASSERT_TRUE(toronto.ok());
  EXPECT_EQ(toronto->jurisdiction, "CA-ON");
  EXPECT_EQ(toronto->zones, std::vector<std::string>{"America/Toronto"});
  // Puerto Rico is a region of its own in libphonenumber: its zone comes from ICU.
  const auto san_juan = ZonesForNumber("+17877221234");
  ASSERT_TRUE(san_juan.ok()) << san_juan.status().ToString();
  EXPECT_EQ(san_juan->region, "PR");
  EXPECT_EQ(san_juan->jurisdiction, "");
  EXPECT_EQ(san_juan->zones, std::vector<std::string>{"America/Puerto_Rico"});
}

TEST(QuietHoursTest, ConcurrentChecksAgreeWithSequentialOnes) {
  const std::string_view numbers[] = {"+13055550123", "+18125550123", "+4520123456", "+18005550123",
                                      "+919810012345"};
  const int64_t start = At(2026, 3, 7, 0, 0, 0);
  std::vector<int64_t> expected;
  for (int i = 0; i < 200; ++i) {
    expected.push_back(
        Check("\"jurisdiction\"", numbers[i % std::size(numbers)], start + i * 17 * kMinute)
            .next_allowed_ms);
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const auto d = CheckQuietHours({QuietHoursPolicy::Kind::kJurisdiction, {}},
                                       numbers[i % std::size(numbers)], start + i * 17 * kMinute);
        if (!d.ok() || d->next_allowed_ms != expected[i]) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(QuietHoursPolicyTest, ParsesAndWritesEveryForm) {
  for (std::string_view json :
       {R"("default")", R"("jurisdiction")", R"("off")", R"({"start":"08:30","end":"20:00"})",
        R"({"start":"00:00","end":"24:00"})", R"({"rule":"jurisdiction","transactional":true})",
        R"({"rule":"off","transactional":true})",
        R"({"start":"09:00","end":"18:00","transactional":true})", R"("account")"}) {
    const auto p = ParseQuietHoursPolicy(json);
    ASSERT_TRUE(p.ok()) << json << ": " << p.status().ToString();
    EXPECT_EQ(QuietHoursPolicyToJson(*p), json);
  }
  const auto custom = Policy(R"( { "end" : "17:45", "start" : "09:15" } )");
  EXPECT_EQ(custom.kind, Kind::kCustom);
  EXPECT_EQ(custom.custom, (LocalWindow{9 * 60 + 15, 17 * 60 + 45}));
  EXPECT_FALSE(custom.transactional);
  // Transactional messages are held back only when the policy says so.
  EXPECT_FALSE(QuietHoursApplyTo(Policy(R"("jurisdiction")"), /*marketing=*/false));
  EXPECT_TRUE(QuietHoursApplyTo(Policy(R"("jurisdiction")"), /*marketing=*/true));
  const auto both = Policy(R"({"rule":"jurisdiction","transactional":true})");
  EXPECT_EQ(both.kind, Kind::kJurisdiction);
  EXPECT_TRUE(QuietHoursApplyTo(both, /*marketing=*/false));
  // Written without "transactional" when false: the stored text of every number stays as it was.
  EXPECT_EQ(QuietHoursPolicyToJson(Policy(R"({"rule":"default","transactional":false})")),
            R"("default")");
  // A number's "account" follows its account's policy, and is never checked as it is.
  const QuietHoursPolicy account_policy = Policy(R"({"start":"10:00","end":"16:00"})");
  EXPECT_EQ(EffectiveQuietHours(Policy(R"("account")"), account_policy), account_policy);
  EXPECT_EQ(EffectiveQuietHours(Policy(R"("off")"), account_policy).kind, Kind::kOff);
  EXPECT_EQ(
      CheckQuietHours(Policy(R"("account")"), "+13055550100", 1'796'693'400'000).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(QuietHoursPolicyTest, BadPolicyTextIsRefusedWithAReason) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "JSON"},
      {"{", "JSON"},
      {R"("sometimes")", "must be"},
      {"5", "must be"},
      {"null", "must be"},
      {R"({"start":"08:00"})", "both"},
      {R"({"start":"08:00","end":"20:00","days":"weekdays"})", "unknown key"},
      {R"({"start":"8:00","end":"20:00"})", "HH:MM"},
      {R"({"start":"08:00","end":"20h00"})", "HH:MM"},
      {R"({"start":8,"end":"20:00"})", "string"},
      {R"({"start":"25:00","end":"26:00"})", "00:00 and 24:00"},
      {R"({"start":"08:60","end":"20:00"})", "00:00 and 24:00"},
      {R"({"start":"08:00","end":"24:30"})", "00:00 and 24:00"},
      {R"({"start":"20:00","end":"08:00"})", "before"},
      {R"({"start":"10:00","end":"10:00"})", "before"},
      {R"({"rule":"jurisdiction","transactional":"yes"})", "true or false"},
      {R"({"rule":"sometimes"})", "must be"},
      {R"({"rule":{"start":"08:00","end":"20:00"}})", "must be a string"},
      {R"({"rule":"off","start":"08:00","end":"20:00"})", "not both"},
      {R"({"transactional":true})", "both"},
      {R"({"rule":"account","transactional":true})", "whole policy"},
  };
  for (const auto& [json, reason] : cases) {
    const auto p = ParseQuietHoursPolicy(json);
    ASSERT_FALSE(p.ok()) << json;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << json;
    EXPECT_NE(p.status().message().find(reason), std::string::npos)
        << json << ": " << p.status().message();
  }
}

TEST(QuietHoursDataTest, AreaCodesAreSortedUniqueAndInKnownZones) {
  const auto table = NanpAreaCodes();
  ASSERT_GT(table.size(), 350u);
  std::set<std::string> states, provinces;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const AreaCodeZones& row = table[i];
    if (i > 0) {
      EXPECT_LT(table[i - 1].area_code, row.area_code);
    }
    // A number of the code finds the row, and every zone of the row is one ICU knows.
    const auto where = ZonesForNumber("+1" + std::to_string(row.area_code) + "5550123");
    ASSERT_TRUE(where.ok()) << row.area_code << ": " << where.status().ToString();
    EXPECT_EQ(where->jurisdiction, row.jurisdiction) << row.area_code;
    EXPECT_FALSE(where->zones.empty()) << row.area_code;
    const auto d = CheckQuietHoursInZones({}, *where, At(2026, 6, 15, 3, 0, 0));
    EXPECT_TRUE(d.ok()) << row.area_code << ": " << d.status().ToString();
    (row.jurisdiction.starts_with("US-") ? states : provinces)
        .insert(std::string(row.jurisdiction));
  }
  EXPECT_EQ(states.size(), 51u);     // the 50 states and DC
  EXPECT_EQ(provinces.size(), 10u);  // Nova Scotia and PEI share codes, as do the territories
  for (const JurisdictionRule& rule : JurisdictionRules()) {
    EXPECT_TRUE(states.count(std::string(rule.jurisdiction))) << rule.jurisdiction;
  }
}

// For random instants and numbers: the answer is allowed, is not before the instant asked
// about, and no minute between them is allowed.
TEST(QuietHoursPropertyTest, NextAllowedIsTheFirstAllowedMinute) {
  const std::string_view numbers[] = {"+13055550123", "+14015550123",  "+15125550123",
                                      "+12055550123", "+18125550123",  "+19285550123",
                                      "+4520123456",  "+919810012345", "+442079460958"};
  const std::string_view policies[] = {R"("default")", R"("jurisdiction")",
                                       R"({"start":"01:15","end":"02:45"})"};
  std::mt19937_64 rng(20260315);
  // 2026 and 2027, so both DST changes of each year are in range.
  std::uniform_int_distribution<int64_t> instant(At(2026, 1, 1, 0, 0, 0), At(2028, 1, 1, 0, 0, 0));
  for (int sample = 0; sample < 120; ++sample) {
    const std::string_view number = numbers[sample % std::size(numbers)];
    const QuietHoursPolicy policy = Policy(policies[sample / std::size(numbers) % 3]);
    const int64_t at = instant(rng);
    const auto d = CheckQuietHours(policy, number, at);
    ASSERT_TRUE(d.ok()) << number << " " << at << ": " << d.status().ToString();
    ASSERT_GE(d->next_allowed_ms, at);
    const auto next = CheckQuietHours(policy, number, d->next_allowed_ms);
    ASSERT_TRUE(next.ok());
    EXPECT_TRUE(next->allowed) << number << " at " << at << " next " << d->next_allowed_ms;
    EXPECT_EQ(d->allowed, d->next_allowed_ms == at);
    const auto zones = ZonesForNumber(number);
    ASSERT_TRUE(zones.ok());
    for (int64_t t = at; t < d->next_allowed_ms; t += kMinute) {
      const auto between = CheckQuietHoursInZones(policy, *zones, t);
      ASSERT_TRUE(between.ok());
      ASSERT_FALSE(between->allowed) << number << " allowed at " << t << " before "
                                     << d->next_allowed_ms << " (asked at " << at << ")";
    }
  }
}

}  // namespace
}  // namespace smsconsent
