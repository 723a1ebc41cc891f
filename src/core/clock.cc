#include "core/clock.h"

#include <chrono>
#include <cstdio>

namespace smsconsent {

namespace {

// Writes `v` as exactly `width` decimal digits at `p` (v >= 0, v < 10^width).
char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

}  // namespace

// Calendar arithmetic instead of gmtime_r + strftime + snprintf: this runs for every consent
// check and every exported event, and the libc route costs about ten times as much.
std::string FormatTimestampMs(int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const int64_t in_day = (t - day).count();  // 0 ... 86'399'999
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {  // outside what four digits hold: the long way
    char out[64];
    std::snprintf(out, sizeof out, "%d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(in_day / 3'600'000), static_cast<int>(in_day / 60'000 % 60),
                  static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
    return out;
  }
  char out[24];  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  char* p = PutDigits(out, year, 4);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  p = PutDigits(p, in_day / 3'600'000, 2);
  *p++ = ':';
  p = PutDigits(p, in_day / 60'000 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, in_day / 1000 % 60, 2);
  *p++ = '.';
  p = PutDigits(p, in_day % 1000, 3);
  *p++ = 'Z';
  return std::string(out, p);
}

}  // namespace smsconsent
