// The clock the app tests give the services instead of the system clock (src/core/clock.h):
// it starts where the test says and moves only as the test says. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace smsconsent {

// 2026-01-01T00:00:00Z: where the bulk, export and proof tests start the clock.
inline constexpr int64_t kT0 = 1'767'225'600'000;

class TestClock : public Clock {
 public:
  // Starts at `start_ms`. With `step_per_read_ms` = 0 the clock stands still until Advance or
  // Set; otherwise every NowMs() first moves it on by that much, so that each reading (from any
  // thread) is later than the one before.
  explicit TestClock(int64_t start_ms = 1'700'000'000'000, int64_t step_per_read_ms = 0)
      : now_(start_ms), step_(step_per_read_ms) {}

  int64_t NowMs() const override { return now_.fetch_add(step_) + step_; }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  mutable std::atomic<int64_t> now_;
  const int64_t step_;
};

}  // namespace smsconsent
