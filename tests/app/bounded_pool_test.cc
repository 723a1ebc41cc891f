#include "app/bounded_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "test_clock.h"

namespace smsconsent {
namespace {

// Work that says when it has started and then waits until the test lets it finish.
class Gate {
 public:
  std::function<void()> Work() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu_);
      ++started_;
      ++running_;
      most_ = std::max(most_, running_);
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
      --running_;
    };
  }
  void WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return started_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int most() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int started_ = 0, running_ = 0, most_ = 0;
  bool open_ = false;
};

TEST(BoundedPool, NeverRunsMoreThanItsThreads) {
  TestClock clock;
  BoundedPool pool(clock, {.threads = 2, .queue = 100, .rate_per_s = 1000});
  Gate gate;
  int64_t retry = 0;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(pool.Submit(gate.Work(), &retry).ok()) << i;
  gate.WaitStarted(2);
  BoundedPoolStats st = pool.Stats();
  EXPECT_EQ(st.threads, 2);
  EXPECT_EQ(st.running, 2);
  EXPECT_EQ(st.queued, 18);
  gate.Open();
  pool.Stop();
  st = pool.Stats();
  EXPECT_EQ(st.done, 20u);
  EXPECT_EQ(st.running_peak, 2);
  EXPECT_EQ(gate.most(), 2);
}

TEST(BoundedPool, RefusesWorkPastTheQueueAndSaysWhenToTryAgain) {
  TestClock clock;
  BoundedPool pool(clock, {.threads = 1, .queue = 2, .rate_per_s = 1000, .work_name = "sign-ins"});
  Gate gate;
  int64_t retry = 0;
  ASSERT_TRUE(pool.Submit(gate.Work(), &retry).ok());
  gate.WaitStarted(1);
  ASSERT_TRUE(pool.Submit(gate.Work(), &retry).ok());
  ASSERT_TRUE(pool.Submit(gate.Work(), &retry).ok());
  bool ran = false;
  Status refused = pool.Submit([&ran] { ran = true; }, &retry);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(), "too many sign-ins at once: try again in 1 second");
  EXPECT_EQ(retry, 1);
  EXPECT_EQ(pool.Stats().refused, 1u);
  gate.Open();
  pool.Stop();
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.Stats().done, 3u);
}

TEST(BoundedPool, TheRateLimitRefillsWithTheClock) {
  TestClock clock;
  BoundedPool pool(clock, {.threads = 1, .queue = 100, .rate_per_s = 5});
  int64_t retry = 0;
  auto submit = [&] { return pool.Submit([] {}, &retry); };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(submit().ok()) << i;  // a burst of one second's worth
  Status spent = submit();
  EXPECT_EQ(spent.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(retry, 1);
  clock.Advance(200);  // one fifth of a second: one more
  EXPECT_TRUE(submit().ok());
  EXPECT_EQ(submit().code(), StatusCode::kResourceExhausted);
  clock.Advance(60'000);  // a long pause refills only up to the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(submit().ok()) << i;
  EXPECT_EQ(submit().code(), StatusCode::kResourceExhausted);
  pool.Stop();
  EXPECT_EQ(pool.Stats().refused, 3u);
  EXPECT_EQ(pool.Stats().done, 11u);
}

TEST(BoundedPool, StopRunsWhatIsQueuedAndRefusesMore) {
  TestClock clock;
  BoundedPool pool(clock, {.threads = 1, .queue = 10, .rate_per_s = 100});
  std::atomic<int> ran{0};
  int64_t retry = 0;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.Submit([&ran] { ++ran; }, &retry).ok());
  pool.Stop();
  EXPECT_EQ(ran.load(), 5);
  EXPECT_EQ(pool.Submit([&ran] { ++ran; }, &retry).code(), StatusCode::kUnavailable);
  pool.Stop();  // again: nothing happens
  EXPECT_EQ(ran.load(), 5);
}

}  // namespace
}  // namespace smsconsent
