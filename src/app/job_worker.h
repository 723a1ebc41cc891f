// JobWorker: runs queued jobs (bulk changes, imports) on a thread of its own inside
// `smsconsent serve`, and picks up jobs whose runner died (expired lease), so a job submitted
// through the API finishes even if the instance that started it is killed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "app/bulk.h"

namespace smsconsent {

class JobWorker {
 public:
  JobWorker(BulkService& bulk, std::string owner, std::chrono::milliseconds poll)
      : bulk_(bulk), owner_(std::move(owner)), poll_(poll) {}
  ~JobWorker() { Stop(); }
  JobWorker(const JobWorker&) = delete;
  JobWorker& operator=(const JobWorker&) = delete;

  void Start();
  // Wakes the worker (a job was just submitted).
  void Notify();
  // Stops between chunks; a job in progress stays claimed until its lease expires, then any
  // instance (this one after a restart, too) resumes it at its cursor.
  void Stop();

 private:
  void Loop();

  BulkService& bulk_;
  const std::string owner_;
  const std::chrono::milliseconds poll_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
  std::thread thread_;
};

}  // namespace smsconsent
