// KeySerializer: runs tasks that share a key one after another, without a thread waiting.
//
// Inbound messages from one phone must be decided one at a time: each reads the statuses it
// plans from, and a commit of another message from the same phone between that read and its
// own commit would make it lose (kAborted) again and again. A mutex per phone would do that
// for callers that block, but a webhook that waits for its group commit holds no thread and
// so cannot hold a mutex. Here a task whose key is busy is queued instead, and started when
// the task before it calls Done(key). Thread-safe.
#pragma once

#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace smsconsent {

class KeySerializer {
 public:
  // Runs `task` now, on this thread, if no task of `key` is running; otherwise queues it
  // behind the tasks of `key` already waiting. Every task must end with Done(key), once,
  // from any thread (also from inside the task itself).
  void Run(const std::string& key, std::function<void()> task);

  // Ends the running task of `key` and starts the next queued one, if any. A task started
  // from Done runs on this thread, but never nested inside another task's Done: a chain of
  // tasks that end at once runs as a loop, not as a recursion.
  void Done(const std::string& key);

  // How many keys have a running task (for tests).
  size_t busy_keys() const;

 private:
  mutable std::mutex mu_;
  // Keys with a running task, each with the tasks waiting behind it. A list, because nearly
  // every key has none waiting, and an empty list allocates nothing (a deque allocates its
  // map and a block as soon as it is made).
  std::unordered_map<std::string, std::list<std::function<void()>>> busy_;
};

}  // namespace smsconsent
