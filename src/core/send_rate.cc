#include "core/send_rate.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace smsconsent {

int64_t DefaultRateMmps(NumberKind kind) {
  switch (kind) {
    case NumberKind::kLongCode:
      return 1'000;
    case NumberKind::kTollFree:
      return 3'000;
    case NumberKind::kShortCode:
      return 100'000;
  }
  return 1'000;
}

int64_t EffectiveRateMmps(NumberKind kind, int64_t rate_mmps) {
  return rate_mmps != 0 ? rate_mmps : DefaultRateMmps(kind);
}

Result<int64_t> RateMmpsFromPerSecond(double rate_per_second) {
  const auto bad = [] {
    return InvalidArgument(
        "rate_per_second must be a number from 0.01 to 1000 (messages per "
        "second)");
  };
  if (!std::isfinite(rate_per_second)) return bad();
  const double mmps = std::round(rate_per_second * 1000.0);
  if (mmps < static_cast<double>(kMinRateMmps) || mmps > static_cast<double>(kMaxRateMmps)) {
    return bad();
  }
  return static_cast<int64_t>(mmps);
}

double RatePerSecond(int64_t rate_mmps) { return static_cast<double>(rate_mmps) / 1000.0; }

int64_t SendIntervalUs(int64_t rate_mmps) {
  const int64_t mmps = std::max<int64_t>(rate_mmps, 1);
  // 10^9 µs·mmps per message: one per second (1000 mmps) is 10^6 µs.
  return (1'000'000'000 + mmps - 1) / mmps;
}

bool MaySendAt(int64_t next_send_at_us, int64_t now_us) { return next_send_at_us <= now_us; }

int64_t NextSendAtUs(int64_t next_send_at_us, int64_t now_us, int64_t interval_us) {
  return std::max(next_send_at_us, now_us) + interval_us;
}

}  // namespace smsconsent
