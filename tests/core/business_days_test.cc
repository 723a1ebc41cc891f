#include "core/business_days.h"

#include <gtest/gtest.h>

namespace smsconsent {
namespace {

int64_t Day(int y, int m, int d) { return DaysFromCivil({y, m, d}); }
// Noon UTC of a date, in ms.
int64_t Noon(int y, int m, int d) { return Day(y, m, d) * 86'400'000 + 12 * 3'600'000; }

TEST(CivilDays, RoundTripsAndKnowsTheEpochAndLeapDays) {
  EXPECT_EQ(Day(1970, 1, 1), 0);
  EXPECT_EQ(Day(2000, 3, 1) - Day(2000, 2, 28), 2);  // 2000 is a leap year
  EXPECT_EQ(Day(1900, 3, 1) - Day(1900, 2, 28), 1);  // 1900 is not
  for (int64_t d = Day(1999, 12, 1); d < Day(2030, 1, 1); d += 17) {
    const CivilDate c = CivilFromDays(d);
    EXPECT_EQ(DaysFromCivil(c), d);
  }
  EXPECT_EQ(Weekday(Day(2026, 12, 7)), 1);  // a Monday
  EXPECT_EQ(DayOfMs(-1), -1);
}

TEST(UsFederalHolidays, FloatingAndFixedHolidays) {
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 11, 26)));   // Thanksgiving: 4th Thursday
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 5, 25)));    // Memorial Day: last Monday of May
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 1, 19)));    // MLK Day: 3rd Monday of January
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 9, 7)));     // Labor Day
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 10, 12)));   // Columbus Day
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 2, 16)));    // Washington's Birthday
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 6, 19)));    // Juneteenth
  EXPECT_FALSE(IsUsFederalHoliday(Day(2019, 6, 19)));   // not yet a federal holiday
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 12, 25)));   // Christmas
  EXPECT_FALSE(IsUsFederalHoliday(Day(2026, 11, 27)));  // the Friday after Thanksgiving
}

TEST(UsFederalHolidays, WeekendHolidaysAreObservedOnTheNearestWeekday) {
  // Independence Day 2026 is a Saturday: observed on Friday 3 July.
  EXPECT_TRUE(IsUsFederalHoliday(Day(2026, 7, 3)));
  EXPECT_FALSE(IsUsBusinessDay(Day(2026, 7, 3)));
  // Christmas 2022 was a Sunday: observed on Monday 26 December.
  EXPECT_TRUE(IsUsFederalHoliday(Day(2022, 12, 26)));
  // New Year's Day 2022 was a Saturday: observed on Friday 31 December 2021.
  EXPECT_TRUE(IsUsFederalHoliday(Day(2021, 12, 31)));
  EXPECT_FALSE(IsUsBusinessDay(Day(2021, 12, 31)));
  EXPECT_TRUE(IsUsBusinessDay(Day(2021, 12, 30)));
}

TEST(UsBusinessDays, SameDayAndBackwardsAreZero) {
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 7), Noon(2026, 12, 7) + 3'600'000), 0);
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 8), Noon(2026, 12, 7)), 0);
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 7), Noon(2026, 12, 8)), 1);
}

TEST(UsBusinessDays, AWeekendIsNotCounted) {
  // Friday to the Monday after: one business day.
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 4), Noon(2026, 12, 7)), 1);
  // Two full weeks: ten business days, not late.
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 1), Noon(2026, 12, 15)), 10);
  EXPECT_FALSE(RevocationIsLate(10));
  EXPECT_TRUE(RevocationIsLate(11));
}

TEST(UsBusinessDays, TenBusinessDaysOverThanksgiving) {
  // Received Monday 23 November 2026; Thanksgiving (Thursday 26) does not count, the Friday
  // after does: ten business days end on Tuesday 8 December, not Monday 7.
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 11, 23), Noon(2026, 12, 7)), 9);
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 11, 23), Noon(2026, 12, 8)), 10);
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 11, 23), Noon(2026, 12, 9)), 11);
}

TEST(UsBusinessDays, TenBusinessDaysOverChristmasAndNewYear) {
  // Received Friday 18 December 2026: Christmas (Friday 25) and New Year's Day (Friday 1
  // January 2027) are skipped, so the tenth business day is Tuesday 5 January 2027.
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 18), Noon(2027, 1, 4)), 9);
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2026, 12, 18), Noon(2027, 1, 5)), 10);
  // Over New Year 2022, observed on Friday 31 December 2021.
  EXPECT_EQ(UsBusinessDaysBetween(Noon(2021, 12, 29), Noon(2022, 1, 3)), 2);
}

}  // namespace
}  // namespace smsconsent
