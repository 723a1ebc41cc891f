// How fast a sender number may send: its rate in messages per second, the per-kind default
// that applies until one is set, and the arithmetic the outbox claim uses to space a number's
// messages (docs/sending.md, "Sending rate").
//
// A rate is kept as an integer count of thousandths of a message per second ("milli-messages
// per second", mmps): 1 message per second is 1000, 0.01 is 10. A number's next send time is
// kept in microseconds, so that even the highest rate (1000 per second, one every 1000 µs)
// spaces its messages exactly.
//
// Pure: no I/O, no clock (the caller passes the time), thread-safe.
#pragma once

#include <cstdint>

#include "core/consent.h"
#include "core/status.h"

namespace smsconsent {

inline constexpr int64_t kMinRateMmps = 10;         // 0.01 per second: one every 100 s
inline constexpr int64_t kMaxRateMmps = 1'000'000;  // 1000 per second
// A number the service does not space at all, leaving the pace to the provider (which may
// queue or refuse what exceeds its rate). Not offered through the API or the CLI; the store's
// tests use it to claim several items of one number at one instant.
inline constexpr int64_t kUnspacedRateMmps = -1;

// What a number of this kind may send when no rate was set, in mmps: what US carriers and
// providers accept by default. A long code: 1 per second; toll-free: 3 per second; a short
// code: 100 per second.
int64_t DefaultRateMmps(NumberKind kind);

// The rate a number sends at: `rate_mmps` when set (non-zero), else its kind's default
// (kUnspacedRateMmps stays as it is).
int64_t EffectiveRateMmps(NumberKind kind, int64_t rate_mmps);

// A rate given in messages per second, as mmps (rounded to the nearest thousandth).
// kInvalidArgument naming rate_per_second when it is not finite or lies outside
// kMinRateMmps..kMaxRateMmps (0.01..1000).
Result<int64_t> RateMmpsFromPerSecond(double rate_per_second);
double RatePerSecond(int64_t rate_mmps);

// The time between two messages of a number sending at `rate_mmps` (> 0), in microseconds,
// rounded up so that the spacing never allows more than the rate.
int64_t SendIntervalUs(int64_t rate_mmps);

// A number whose next send time is `next_send_at_us` may send at `now_us` when that time has
// come. Sending then moves it to one interval after the later of the two: a number that was
// idle starts afresh from now, and time a busy number lost (its next message looked at late)
// is not made up with a burst. So in any stretch of time a number sends at most one message
// more than its rate allows for that stretch (the first), never a burst of saved-up credit.
bool MaySendAt(int64_t next_send_at_us, int64_t now_us);
int64_t NextSendAtUs(int64_t next_send_at_us, int64_t now_us, int64_t interval_us);

}  // namespace smsconsent
