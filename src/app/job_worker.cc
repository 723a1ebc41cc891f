#include "app/job_worker.h"

#include <spdlog/spdlog.h>

namespace smsconsent {

void JobWorker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void JobWorker::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

void JobWorker::Stop() {
  stop_ = true;
  Notify();
  if (thread_.joinable()) thread_.join();
}

void JobWorker::Loop() {
  while (!stop_) {
    auto ran = bulk_.Run(0, owner_, {}, &stop_);
    if (!ran.ok()) {
      spdlog::warn("job runner: {}", ran.status().ToString());
    } else if (*ran) {
      spdlog::info("job {} {}: {} of {} rows", (*ran)->id, JobStateName((*ran)->state),
                   (*ran)->done, (*ran)->total);
      continue;  // look for the next one at once
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, poll_, [this] { return notified_ || stop_.load(); });
    notified_ = false;
  }
}

}  // namespace smsconsent
