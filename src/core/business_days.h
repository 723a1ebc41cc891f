// US business days, for the FCC's revocation clock.
//
// Under 47 CFR 64.1200(a)(10) (FCC 24-24) a revocation of consent must be honoured within a
// reasonable time not exceeding ten business days of its receipt. A business day here is a
// weekday that is not a US federal holiday (5 U.S.C. 6103), with the observed-date rule: a
// holiday on a Saturday is observed on the Friday before, one on a Sunday on the Monday after
// (so New Year's Day on a Saturday is observed on the previous 31 December).
//
// Days are calendar days in UTC: a timestamp's day is its UTC date. Pure functions; nothing
// here reads a clock.
#pragma once

#include <cstdint>

namespace smsconsent {

// The FCC's bound: a revocation that took effect more than this many business days after it
// was received is late.
inline constexpr int64_t kMaxRevocationBusinessDays = 10;

struct CivilDate {
  int year = 1970;
  int month = 1;  // 1-12
  int day = 1;    // 1-31
};

// Days since 1970-01-01 of a date (negative before it), and back.
int64_t DaysFromCivil(const CivilDate& d);
CivilDate CivilFromDays(int64_t days);
// 0 = Sunday ... 6 = Saturday.
int Weekday(int64_t days);
// The UTC day of a time in ms since the epoch (floor division: times before 1970 work too).
int64_t DayOfMs(int64_t ms);

// Whether the day is a US federal holiday as observed (the Friday or Monday a weekend holiday
// moves to counts; the weekend day itself is not a business day anyway). Federal holidays:
// New Year's Day, Martin Luther King Jr. Day, Washington's Birthday, Memorial Day, Juneteenth
// (from 2021), Independence Day, Labor Day, Columbus Day, Veterans Day, Thanksgiving Day and
// Christmas Day.
bool IsUsFederalHoliday(int64_t days);
bool IsUsBusinessDay(int64_t days);

// The business days from a revocation's receipt to its effect: the number of business days
// after the day of `received_ms` up to and including the day of `effective_ms` (0 when both are
// on the same day, or when `effective_ms` is not after `received_ms`). Bounded work: each call
// walks at most the days between the two times.
int64_t UsBusinessDaysBetween(int64_t received_ms, int64_t effective_ms);

// Whether that count is over kMaxRevocationBusinessDays.
inline bool RevocationIsLate(int64_t business_days) {
  return business_days > kMaxRevocationBusinessDays;
}

}  // namespace smsconsent
