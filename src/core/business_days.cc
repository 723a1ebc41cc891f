#include "core/business_days.h"

namespace smsconsent {
namespace {

constexpr int64_t kMsPerCalendarDay = 24LL * 60 * 60 * 1000;

int64_t FloorDivide(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// The day of the n-th (1-based) `weekday` of a month, or of its last one when n is 0.
int64_t NthWeekdayOfMonth(int year, int month, int weekday, int n) {
  if (n == 0) {
    const int next_year = month == 12 ? year + 1 : year;
    const int next_month = month == 12 ? 1 : month + 1;
    const int64_t last = DaysFromCivil({next_year, next_month, 1}) - 1;
    return last - ((Weekday(last) - weekday + 7) % 7);
  }
  const int64_t first = DaysFromCivil({year, month, 1});
  return first + ((weekday - Weekday(first) + 7) % 7) + 7 * (n - 1);
}

// A fixed-date holiday moved off the weekend.
int64_t ObservedDay(int64_t day) {
  const int wd = Weekday(day);
  if (wd == 6) return day - 1;
  if (wd == 0) return day + 1;
  return day;
}

bool IsFederalHolidayOfYear(int64_t days, int year) {
  constexpr int kMonday = 1, kThursday = 4;
  const int64_t fixed[] = {
      ObservedDay(DaysFromCivil({year, 1, 1})),    // New Year's Day
      ObservedDay(DaysFromCivil({year, 7, 4})),    // Independence Day
      ObservedDay(DaysFromCivil({year, 11, 11})),  // Veterans Day
      ObservedDay(DaysFromCivil({year, 12, 25})),  // Christmas Day
  };
  for (int64_t d : fixed) {
    if (d == days) return true;
  }
  if (year >= 2021 && ObservedDay(DaysFromCivil({year, 6, 19})) == days) return true;  // Juneteenth
  const int64_t floating[] = {
      NthWeekdayOfMonth(year, 1, kMonday, 3),    // Martin Luther King Jr. Day
      NthWeekdayOfMonth(year, 2, kMonday, 3),    // Washington's Birthday
      NthWeekdayOfMonth(year, 5, kMonday, 0),    // Memorial Day
      NthWeekdayOfMonth(year, 9, kMonday, 1),    // Labor Day
      NthWeekdayOfMonth(year, 10, kMonday, 2),   // Columbus Day
      NthWeekdayOfMonth(year, 11, kThursday, 4)  // Thanksgiving Day
  };
  for (int64_t d : floating) {
    if (d == days) return true;
  }
  return false;
}

}  // namespace

// The proleptic Gregorian calendar in 400-year eras of 146,097 days, with years starting on
// 1 March so that the leap day ends the year.
int64_t DaysFromCivil(const CivilDate& d) {
  const int64_t y = static_cast<int64_t>(d.year) - (d.month <= 2 ? 1 : 0);
  const int64_t era = FloorDivide(y, 400);
  const int64_t year_of_era = y - era * 400;                                 // [0, 399]
  const int64_t month_from_march = (d.month + 9) % 12;                       // March = 0
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + d.day - 1;  // [0, 365]
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = FloorDivide(z, 146097);
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  CivilDate out;
  out.day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  out.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  out.year = static_cast<int>(year_of_era + era * 400 + (out.month <= 2 ? 1 : 0));
  return out;
}

int Weekday(int64_t days) {
  // 1970-01-01 was a Thursday.
  return static_cast<int>(((days % 7) + 7 + 4) % 7);
}

int64_t DayOfMs(int64_t ms) { return FloorDivide(ms, kMsPerCalendarDay); }

bool IsUsFederalHoliday(int64_t days) {
  const int year = CivilFromDays(days).year;
  // New Year's Day of the next year may be observed on 31 December.
  return IsFederalHolidayOfYear(days, year) || IsFederalHolidayOfYear(days, year + 1);
}

bool IsUsBusinessDay(int64_t days) {
  const int wd = Weekday(days);
  return wd != 0 && wd != 6 && !IsUsFederalHoliday(days);
}

int64_t UsBusinessDaysBetween(int64_t received_ms, int64_t effective_ms) {
  int64_t count = 0;
  const int64_t last = DayOfMs(effective_ms);
  for (int64_t d = DayOfMs(received_ms) + 1; d <= last; ++d) {
    if (IsUsBusinessDay(d)) ++count;
  }
  return count;
}

}  // namespace smsconsent
