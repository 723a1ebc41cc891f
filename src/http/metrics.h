// Process metrics in the Prometheus text exposition format (GET /metrics):
//   smsconsent_http_requests_total{route,method,status}
//   smsconsent_http_request_duration_seconds (histogram, by route)
//   smsconsent_webhook_decisions_total{provider,intent}
//   smsconsent_store_operation_duration_seconds (histogram, by operation)
//   smsconsent_group_commit_batches_total, smsconsent_group_commit_items_total (items/batches
//   is the mean batch size; each batch is one transaction and one fsync)
//   smsconsent_outbox_items{state} (read from the store at scrape time)
//   smsconsent_consent_cache_hits_total, smsconsent_consent_cache_misses_total (consent checks
//   answered by the store's cache, and those that read the database; docs/storage.md)
//   and what other components report at scrape time (AddReadings): the server's connections,
//   the sign-in pool (docs/limits.md, "Resources held per client")
// Thread-safe; recording takes one short mutex.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace smsconsent {

struct ConsentCacheCounts;  // store/store.h

class Histogram {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void Observe(double seconds);
  // Appends the _bucket/_sum/_count lines for `name` with `labels` ("route=\"/x\"").
  void Render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<uint64_t, kBuckets.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  // A value another component reports at scrape time: rendered as `name value` under its help
  // text and type ("gauge" or "counter").
  struct Reading {
    std::string name;
    std::string help;
    std::string type;
    double value = 0;
  };
  // Adds a source of readings, called on every Render (so it must not call back into this
  // object). Add them before serving.
  void AddReadings(std::function<std::vector<Reading>()> read);

  void RecordRequest(std::string_view route, std::string_view method, int status, double seconds);
  void RecordDecision(const std::string& provider, const std::string& intent);
  // A delivery status callback by provider and effect ("recorded", "unchanged", "unknown",
  // "interim": WebhookOutcome::delivery).
  void RecordDeliveryCallback(const std::string& provider, const std::string& effect);
  void RecordStore(const std::string& operation, double seconds);
  // One group-commit batch of `items` change sets that took `seconds` to write (also
  // observed as store operation "commit_batch").
  void RecordGroupCommit(int items, double seconds);
  // `outbox` is the current count per state, rendered as a gauge; `cache` the store's
  // consent cache counters, rendered as counters.
  std::string Render(const std::vector<std::pair<std::string, int64_t>>& outbox,
                     const ConsentCacheCounts& cache) const;

 private:
  mutable std::mutex mu_;
  // Transparent comparators: a request is counted without copying its labels once they
  // have been seen.
  std::map<std::tuple<std::string, std::string, int>, uint64_t, std::less<>> requests_;
  std::map<std::string, Histogram, std::less<>> request_seconds_;
  std::map<std::pair<std::string, std::string>, uint64_t> decisions_;
  std::map<std::pair<std::string, std::string>, uint64_t> delivery_callbacks_;
  std::map<std::string, Histogram> store_seconds_;
  uint64_t group_commit_batches_ = 0;
  uint64_t group_commit_items_ = 0;
  std::vector<std::function<std::vector<Reading>()>> readings_;
};

// Escapes a label value for the exposition format.
std::string PromEscape(const std::string& s);

}  // namespace smsconsent
