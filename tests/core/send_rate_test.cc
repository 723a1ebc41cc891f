#include "core/send_rate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace smsconsent {
namespace {

TEST(SendRate, EachKindHasItsCarriersDefault) {
  EXPECT_EQ(DefaultRateMmps(NumberKind::kLongCode), 1'000);
  EXPECT_EQ(DefaultRateMmps(NumberKind::kTollFree), 3'000);
  EXPECT_EQ(DefaultRateMmps(NumberKind::kShortCode), 100'000);
  EXPECT_EQ(EffectiveRateMmps(NumberKind::kTollFree, 0), 3'000);
  EXPECT_EQ(EffectiveRateMmps(NumberKind::kTollFree, 250), 250);
}

TEST(SendRate, RatesOutsideTheBoundsAreRefused) {
  EXPECT_EQ(*RateMmpsFromPerSecond(1), 1'000);
  EXPECT_EQ(*RateMmpsFromPerSecond(0.01), 10);
  EXPECT_EQ(*RateMmpsFromPerSecond(1000), 1'000'000);
  EXPECT_EQ(*RateMmpsFromPerSecond(2.5), 2'500);
  EXPECT_DOUBLE_EQ(RatePerSecond(2'500), 2.5);
  for (double bad : {0.0, -1.0, 0.004, 1000.5, 1e12, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    Result<int64_t> r = RateMmpsFromPerSecond(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("rate_per_second"), std::string::npos);
  }
}

TEST(SendRate, IntervalIsRoundedUpSoTheRateIsNeverExceeded) {
  EXPECT_EQ(SendIntervalUs(1'000), 1'000'000);  // 1/s
  EXPECT_EQ(SendIntervalUs(1'000'000), 1'000);  // 1000/s
  EXPECT_EQ(SendIntervalUs(10), 100'000'000);   // 0.01/s: one every 100 s
  EXPECT_EQ(SendIntervalUs(3'000), 333'334);    // 3/s: 333333.3 µs, rounded up
  EXPECT_GE(SendIntervalUs(7'000) * 7, 1'000'000);
}

TEST(SendRate, BusyNumberKeepsItsSpacingAndIdleOneStartsFromNow) {
  const int64_t t = 5'000'000;
  const int64_t step = SendIntervalUs(1'000);
  EXPECT_TRUE(MaySendAt(0, t));
  EXPECT_TRUE(MaySendAt(t, t));
  EXPECT_FALSE(MaySendAt(t + 1, t));
  // Idle for a long time: no saved-up credit; the next may go one interval from now.
  EXPECT_EQ(NextSendAtUs(0, t, step), t + step);
  // Busy, but looked at 40 ms late: the lost time is not made up by sending the next sooner.
  int64_t next = t + step;
  next = NextSendAtUs(next, next + 40'000, step);
  EXPECT_EQ(next, t + 2 * step + 40'000);
  EXPECT_EQ(NextSendAtUs(t + 3 * step, t, step), t + 4 * step);
  // N sends in a row from idle at one instant take N-1 intervals at least.
  int64_t at = 0;
  int64_t now = t;
  for (int i = 0; i < 10; ++i) {
    while (!MaySendAt(at, now)) now = at;
    at = NextSendAtUs(at, now, step);
  }
  EXPECT_EQ(now - t, 9 * step);
}

}  // namespace
}  // namespace smsconsent
