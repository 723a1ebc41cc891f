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
  // CommitAsync: the waiter owns its change set and is deleted by the writer after `callback`.
  ChangeSet owned;
  Callback callback;
};

GroupCommitter::GroupCommitter(ConsentStore& store, Options options)
    : store_(store), options_(std::move(options)) {
  const int writers = std::max(1, options_.writers);
  writers_.reserve(static_cast<size_t>(writers));
  for (int i = 0; i < writers; ++i) writers_.emplace_back([this] { WriterLoop(); });
}

GroupCommitter::~GroupCommitter() { Stop(); }

Result<CommitResult> GroupCommitter::Commit(int64_t account_id, const ChangeSet& changes) {
  Waiter w;
  w.account_id = account_id;
  w.changes = &changes;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    return Status(StatusCode::kUnavailable, "the group committer is stopped");
  }
  EnqueueLocked(&w);
  w.done.wait(lock, [&w] { return w.result.has_value(); });
  return std::move(*w.result);
}

void GroupCommitter::CommitAsync(int64_t account_id, ChangeSet changes, Callback done) {
  auto w = std::make_unique<Waiter>();
  w->account_id = account_id;
  w->owned = std::move(changes);
  w->changes = &w->owned;
  w->callback = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      EnqueueLocked(w.release());  // the writer deletes it
      return;
    }
  }
  w->callback(Status(StatusCode::kUnavailable, "the group committer is stopped"));
}

void GroupCommitter::EnqueueLocked(Waiter* w) {
  queue_.push_back(w);
  // A writer only sleeps with an empty queue (or while collecting with max_wait), so only
  // the first arrival, or the one that fills a batch, needs to wake one.
  if (queue_.size() == 1 || queue_.size() >= static_cast<size_t>(options_.max_batch)) {
    work_cv_.notify_one();
  }
}

void GroupCommitter::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& writer : writers_) writer.join();
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
    results.resize(batch.size(), Internal("the store returned fewer results than batch items"));
    std::vector<std::pair<Callback, Result<CommitResult>>> answers;
    lock.lock();
    // Counted before anyone hears of the batch, so a caller that got its answer sees it.
    ++stats_.batches;
    stats_.items += static_cast<int64_t>(batch.size());
    stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i]->callback) {
        std::unique_ptr<Waiter> owned(batch[i]);
        answers.emplace_back(std::move(owned->callback), std::move(results[i]));
        continue;
      }
      batch[i]->result.emplace(std::move(results[i]));
      // Notified under the lock: the waiter's condition variable lives on its stack and may
      // be gone as soon as the waiter sees its result.
      batch[i]->done.notify_one();
    }
    // Asynchronous callers outside the lock: a callback may queue the next change set.
    lock.unlock();
    RunCallbacks(std::move(answers));
    lock.lock();
  }
}

void GroupCommitter::RunCallbacks(std::vector<std::pair<Callback, Result<CommitResult>>> answers) {
  if (answers.empty()) return;
  if (!options_.run_callbacks) {
    for (auto& [callback, result] : answers) callback(std::move(result));
    return;
  }
  using Answers = std::vector<std::pair<Callback, Result<CommitResult>>>;
  const size_t chunks =
      std::min(answers.size(), static_cast<size_t>(std::max(1, options_.callback_chunks)));
  const size_t per_chunk = (answers.size() + chunks - 1) / chunks;
  for (size_t begin = 0; begin < answers.size(); begin += per_chunk) {
    const size_t end = std::min(answers.size(), begin + per_chunk);
    auto part = std::make_shared<Answers>(std::make_move_iterator(answers.begin() + begin),
                                          std::make_move_iterator(answers.begin() + end));
    options_.run_callbacks([part] {
      for (auto& [callback, result] : *part) callback(std::move(result));
    });
  }
}

}  // namespace smsconsent
