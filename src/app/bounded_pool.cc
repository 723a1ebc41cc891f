#include "app/bounded_pool.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace smsconsent {

BoundedPool::BoundedPool(const Clock& clock, BoundedPoolOptions options)
    : clock_(clock),
      options_(options),
      tokens_(std::max(options.rate_per_s, 1)),
      refilled_ms_(clock.NowMs()) {
  stats_.threads = std::max(options_.threads, 1);
  for (int i = 0; i < stats_.threads; ++i) threads_.emplace_back([this] { Loop(); });
}

BoundedPool::~BoundedPool() { Stop(); }

Status BoundedPool::Submit(std::function<void()> work, int64_t* retry_after_s) {
  *retry_after_s = 1;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    ++stats_.refused;
    return Status(StatusCode::kUnavailable, "shutting down");
  }
  const double rate = std::max(options_.rate_per_s, 1);
  const int64_t now_ms = clock_.NowMs();
  if (now_ms > refilled_ms_) {
    tokens_ = std::min(rate, tokens_ + rate * static_cast<double>(now_ms - refilled_ms_) / 1000.0);
    refilled_ms_ = now_ms;
  }
  if (tokens_ < 1) {
    ++stats_.refused;
    *retry_after_s = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - tokens_) / rate)));
    return Status(StatusCode::kResourceExhausted,
                  "too many " + options_.work_name + " at once: try again in " +
                      std::to_string(*retry_after_s) +
                      (*retry_after_s == 1 ? " second" : " seconds"));
  }
  // Work waits only while no thread is free; `queue` more may wait.
  const int free_threads = stats_.threads - stats_.running;
  if (static_cast<int>(queue_.size()) >= free_threads + std::max(options_.queue, 0)) {
    ++stats_.refused;
    return Status(StatusCode::kResourceExhausted,
                  "too many " + options_.work_name + " at once: try again in 1 second");
  }
  tokens_ -= 1;
  queue_.push_back(std::move(work));
  stats_.queued = static_cast<int>(queue_.size());
  lock.unlock();
  cv_.notify_one();
  return Status::Ok();
}

void BoundedPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

BoundedPoolStats BoundedPool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void BoundedPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    stats_.queued = static_cast<int>(queue_.size());
    ++stats_.running;
    stats_.running_peak = std::max(stats_.running_peak, stats_.running);
    lock.unlock();
    work();
    lock.lock();
    --stats_.running;
    ++stats_.done;
  }
}

}  // namespace smsconsent
