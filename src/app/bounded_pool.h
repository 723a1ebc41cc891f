// BoundedPool: runs expensive work -- checking a sign-in's password with Argon2id, 19 MiB and
// tens of milliseconds of CPU each -- on a few threads of its own, behind a bounded queue and
// a rate limit shared by all callers. Work past either bound is refused at once, so a flood of
// it never takes the HTTP threads, nor the memory and cores that webhooks and consent checks
// need: at most `threads` run at once, at most `queue` more wait, and at most `rate_per_s`
// start per second (in bursts of as many).
//
// The clock is injected, so the rate limit is tested with a fake one.
//
// Threading: Submit and Stats may be called from any thread. Work runs on the pool's threads.
// Stop (and the destructor) refuse new work, let the work already queued run, and join the
// threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace smsconsent {

struct BoundedPoolOptions {
  int threads = 1;                     // at least 1
  int queue = 8;                       // work that may wait for a thread; 0: none waits
  int rate_per_s = 10;                 // work admitted per second, in bursts of as many; at least 1
  std::string work_name = "requests";  // what a refusal says there are too many of
};

struct BoundedPoolStats {
  int threads = 0;
  int running = 0;       // work running now
  int running_peak = 0;  // the most that ever ran at once; never above `threads`
  int queued = 0;        // work waiting now
  uint64_t refused = 0;  // work refused: queue full, rate spent or stopped
  uint64_t done = 0;     // work that has run
};

class BoundedPool {
 public:
  BoundedPool(const Clock& clock, BoundedPoolOptions options);
  ~BoundedPool();
  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  // Queues `work` to run on one of the pool's threads. kResourceExhausted, with `work` dropped
  // unrun, when the rate is spent or the queue is full (or after Stop: kUnavailable); then
  // `*retry_after_s` (at least 1) says after how many seconds trying again may succeed.
  Status Submit(std::function<void()> work, int64_t* retry_after_s);

  // Refuses new work, runs what is queued, and joins the threads. Idempotent.
  void Stop();

  BoundedPoolStats Stats() const;

 private:
  void Loop();

  const Clock& clock_;
  const BoundedPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  // The rate limit's token bucket: `tokens_` (at most rate_per_s) as of `refilled_ms_`.
  double tokens_;
  int64_t refilled_ms_;
  BoundedPoolStats stats_;
  std::vector<std::thread> threads_;
};

}  // namespace smsconsent
