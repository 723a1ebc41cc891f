#include "app/key_serializer.h"

#include <utility>
#include <vector>

namespace smsconsent {
namespace {

// Tasks started by Done on this thread while an outer Done is still running them.
thread_local std::vector<std::function<void()>>* pending_starts = nullptr;

}  // namespace

void KeySerializer::Run(const std::string& key, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = busy_.try_emplace(key);
    if (!inserted) {
      it->second.push_back(std::move(task));
      return;
    }
  }
  task();
}

void KeySerializer::Done(const std::string& key) {
  std::function<void()> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = busy_.find(key);
    if (it == busy_.end()) return;  // not running: a caller's mistake, nothing to release
    if (it->second.empty()) {
      busy_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  if (pending_starts != nullptr) {  // inside an outer Done: it starts the task
    pending_starts->push_back(std::move(next));
    return;
  }
  std::vector<std::function<void()>> starts{std::move(next)};
  struct Reset {
    ~Reset() { pending_starts = nullptr; }
  } reset;
  pending_starts = &starts;
  for (size_t i = 0; i < starts.size(); ++i) {
    auto task = std::move(starts[i]);  // `starts` may grow while it runs
    task();
  }
}

size_t KeySerializer::busy_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_.size();
}

}  // namespace smsconsent
