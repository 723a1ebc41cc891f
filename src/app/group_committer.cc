#include "app/group_committer.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace smsconsent {

struct GroupCommitter::Waiter {
  int64_t account_id = 0;
  const ChangeSet* changes = nullptr;
  std::optional<Result<CommitResult>> result;  // set by the writer, under mu_
  std::condition_variable done;
};

GroupCommitter::GroupCommitter(ConsentStore& store, Options options)
    : store_(store), options_(std::move(options)), writer_([this] { WriterLoop(); }) {}

GroupCommitter::~GroupCommitter() { Stop(); }

Result<CommitResult> GroupCommitter::Commit(int64_t account_id, const ChangeSet& changes) {
  Waiter w;
  w.account_id = account_id;
  w.changes = &changes;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    return Status(StatusCode::kUnavailable, "the group committer is stopped");
  }
  queue_.push_back(&w);
  // The writer only sleeps with an empty queue (or while collecting with max_wait), so only
  // the first arrival, or the one that fills a batch, needs to wake it.
  if (queue_.size() == 1 || queue_.size() >= static_cast<size_t>(options_.max_batch)) {
    work_cv_.notify_one();
  }
  w.done.wait(lock, [&w] { return w.result.has_value(); });
  return std::move(*w.result);
}

void GroupCommitter::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_one();
    writer_.join();
  });
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats stats = stats_;
  stats.queued = static_cast<int64_t>(queue_.size());
  return stats;
}

void GroupCommitter::WriterLoop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  std::vector<Waiter*> batch;
  std::vector<BatchItem> items;
  batch.reserve(max_batch);
  items.reserve(max_batch);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, and everything queued is committed
    if (options_.max_wait.count() > 0 && !stopping_ && queue_.size() < max_batch) {
      work_cv_.wait_for(lock, options_.max_wait,
                        [&] { return queue_.size() >= max_batch || stopping_; });
    }
    batch.clear();
    items.clear();
    while (!queue_.empty() && batch.size() < max_batch) {
      Waiter* w = queue_.front();
      queue_.pop_front();
      batch.push_back(w);
      items.push_back(BatchItem{w->account_id, w->changes});
    }
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    std::vector<Result<CommitResult>> results = store_.CommitBatch(items);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options_.on_batch) options_.on_batch(static_cast<int>(batch.size()), seconds);
    lock.lock();
    ++stats_.batches;
    stats_.items += static_cast<int64_t>(batch.size());
    stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i < results.size()) {
        batch[i]->result.emplace(std::move(results[i]));
      } else {
        batch[i]->result.emplace(Internal("the store returned fewer results than batch items"));
      }
      // Notified under the lock: the waiter's condition variable lives on its stack and may
      // be gone as soon as the waiter sees its result.
      batch[i]->done.notify_one();
    }
  }
}

}  // namespace smsconsent
