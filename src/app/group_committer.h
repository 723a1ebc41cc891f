// GroupCommitter: many threads' commits, one durable write per batch.
//
// With synchronous=FULL every SQLite commit waits for an fsync, so one commit per request caps
// the webhook rate at 1/fsync. Here callers hand their change set to one writer thread and
// block; the writer takes everything queued (up to max_batch) and writes it with
// ConsentStore::CommitBatch: one transaction, one fsync. While that fsync runs, new requests
// queue up and form the next batch, so the batch size follows the load by itself. With
// several writers (Options::writers, for PostgreSQL), an idle writer takes what queued while
// the others write.
//
// Durability is unchanged: Commit returns only after the batch holding its change set is
// durable, and returns that item's own result (an item's kAborted/kAlreadyExists/kNotFound
// does not affect the others in its batch). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

class GroupCommitter {
 public:
  struct Options {
    // Most change sets in one batch (one transaction).
    int max_batch = 256;
    // How long the writer may wait for more change sets before committing a batch smaller
    // than max_batch. 0: commit as soon as the writer is free; the batch is then whatever
    // queued while the previous batch was being written.
    std::chrono::microseconds max_wait{0};
    // Called on the writer thread after each batch: its size and how long CommitBatch took.
    std::function<void(int items, double seconds)> on_batch;
    // Where the CommitAsync callbacks of a batch run: handed over in up to `callback_chunks`
    // parts, each a function to run on another thread (`smsconsent serve` gives them to the
    // HTTP server's threads, which answer the waiting webhooks there). Null: the writer runs
    // them itself. Either way the writer does not wait for them, so they never delay the
    // next batch by more than the hand-over.
    std::function<void(std::function<void()>)> run_callbacks;
    int callback_chunks = 2;
    // Writer threads, each writing its own batches. One is right for SQLite, whose writes
    // take turns anyway. On PostgreSQL a batch mostly waits on round trips and the WAL flush,
    // and writers of different (contact, number) pairs do not wait for each other, so several
    // writers keep the server busy while one of them waits (docs/storage.md, "Group commit").
    int writers = 1;
  };

  // For tests and metrics.
  struct Stats {
    int64_t batches = 0;        // CommitBatch calls so far (one transaction, one fsync each)
    int64_t items = 0;          // change sets committed so far
    int64_t largest_batch = 0;  // the most change sets one batch held
    int64_t queued = 0;         // change sets waiting for the writer right now
  };

  // Starts the writer threads. `store` must outlive the committer.
  GroupCommitter(ConsentStore& store, Options options);
  explicit GroupCommitter(ConsentStore& store) : GroupCommitter(store, Options()) {}
  ~GroupCommitter();  // Stop()
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // ConsentStore::Commit through the next batch: blocks until the batch is durable and
  // returns this change set's result. After Stop(): kUnavailable, nothing written.
  Result<CommitResult> Commit(int64_t account_id, const ChangeSet& changes);

  // The same without blocking: queues `changes` and returns at once; `done` is called exactly
  // once with this change set's result, on the writer thread after its batch is durable (or
  // at once with kUnavailable after Stop()). `done` must not block: a waiting HTTP request
  // hands its result back to its own thread from there. This is how a webhook waits for its
  // batch without holding a server thread, so a batch can hold as many messages as there
  // are connections rather than as many as there are threads.
  using Callback = std::function<void(Result<CommitResult>)>;
  void CommitAsync(int64_t account_id, ChangeSet changes, Callback done);

  // Commits what is queued, then stops the writers. Idempotent.
  void Stop();

  Stats stats() const;

 private:
  struct Waiter;  // one Commit call: blocked on its caller's stack, or an owned CommitAsync

  void WriterLoop();
  void EnqueueLocked(Waiter* w);  // under mu_
  void RunCallbacks(std::vector<std::pair<Callback, Result<CommitResult>>> answers);

  ConsentStore& store_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits for work here
  std::deque<Waiter*> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::once_flag stop_once_;
  std::vector<std::thread> writers_;  // started in the constructor's body
};

}  // namespace smsconsent
