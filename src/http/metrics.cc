#include "http/metrics.h"

#include "store/store.h"

#include <cstdio>

namespace smsconsent {

std::string PromEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::Render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    out += name + "_bucket{" + labels + sep + "le=\"" + Num(kBuckets[i]) + "\"} " +
           std::to_string(counts_[i]) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum{" + labels + "} " + Num(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

void Metrics::RecordRequest(std::string_view route, std::string_view method, int status,
                            double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::tuple<std::string_view, std::string_view, int> key{route, method, status};
  auto count = requests_.find(key);
  if (count == requests_.end()) {
    count = requests_.emplace(std::tuple(std::string(route), std::string(method), status), 0).first;
  }
  ++count->second;
  auto histogram = request_seconds_.find(route);
  if (histogram == request_seconds_.end()) {
    histogram = request_seconds_.emplace(std::string(route), Histogram()).first;
  }
  histogram->second.Observe(seconds);
}

void Metrics::RecordDecision(const std::string& provider, const std::string& intent) {
  std::lock_guard<std::mutex> lock(mu_);
  ++decisions_[{provider, intent}];
}

void Metrics::RecordDeliveryCallback(const std::string& provider, const std::string& effect) {
  std::lock_guard<std::mutex> lock(mu_);
  ++delivery_callbacks_[{provider, effect}];
}

void Metrics::RecordStore(const std::string& operation, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  store_seconds_[operation].Observe(seconds);
}

void Metrics::RecordGroupCommit(int items, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++group_commit_batches_;
  group_commit_items_ += static_cast<uint64_t>(items);
  store_seconds_["commit_batch"].Observe(seconds);
}

std::string Metrics::Render(const std::vector<std::pair<std::string, int64_t>>& outbox,
                            const ConsentCacheCounts& cache) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP smsconsent_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE smsconsent_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += "smsconsent_http_requests_total{route=\"" + PromEscape(route) + "\",method=\"" +
           PromEscape(method) + "\",status=\"" + std::to_string(status) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP smsconsent_http_request_duration_seconds Time to answer a request.\n";
  out += "# TYPE smsconsent_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : request_seconds_) {
    h.Render(out, "smsconsent_http_request_duration_seconds",
             "route=\"" + PromEscape(route) + "\"");
  }
  out += "# HELP smsconsent_webhook_decisions_total Inbound messages by provider and intent.\n";
  out += "# TYPE smsconsent_webhook_decisions_total counter\n";
  for (const auto& [key, n] : decisions_) {
    out += "smsconsent_webhook_decisions_total{provider=\"" + PromEscape(key.first) +
           "\",intent=\"" + PromEscape(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP smsconsent_delivery_callbacks_total Delivery status callbacks by provider and "
      "effect.\n";
  out += "# TYPE smsconsent_delivery_callbacks_total counter\n";
  for (const auto& [key, n] : delivery_callbacks_) {
    out += "smsconsent_delivery_callbacks_total{provider=\"" + PromEscape(key.first) +
           "\",effect=\"" + PromEscape(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP smsconsent_store_operation_duration_seconds Store call latency.\n";
  out += "# TYPE smsconsent_store_operation_duration_seconds histogram\n";
  for (const auto& [op, h] : store_seconds_) {
    h.Render(out, "smsconsent_store_operation_duration_seconds",
             "operation=\"" + PromEscape(op) + "\"");
  }
  out += "# HELP smsconsent_group_commit_batches_total Group commits (one fsync each).\n";
  out += "# TYPE smsconsent_group_commit_batches_total counter\n";
  out += "smsconsent_group_commit_batches_total " + std::to_string(group_commit_batches_) + "\n";
  out += "# HELP smsconsent_group_commit_items_total Change sets written by group commits.\n";
  out += "# TYPE smsconsent_group_commit_items_total counter\n";
  out += "smsconsent_group_commit_items_total " + std::to_string(group_commit_items_) + "\n";
  out += "# HELP smsconsent_outbox_items Replies in the outbox by state.\n";
  out += "# TYPE smsconsent_outbox_items gauge\n";
  for (const auto& [state, n] : outbox) {
    out +=
        "smsconsent_outbox_items{state=\"" + PromEscape(state) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP smsconsent_consent_cache_hits_total Consent checks answered by the store's "
      "cache.\n";
  out += "# TYPE smsconsent_consent_cache_hits_total counter\n";
  out += "smsconsent_consent_cache_hits_total " + std::to_string(cache.hits) + "\n";
  out += "# HELP smsconsent_consent_cache_misses_total Consent checks that read the database.\n";
  out += "# TYPE smsconsent_consent_cache_misses_total counter\n";
  out += "smsconsent_consent_cache_misses_total " + std::to_string(cache.misses) + "\n";
  for (const auto& read : readings_) {
    for (const Reading& r : read()) {
      out += "# HELP " + r.name + " " + r.help + "\n";
      out += "# TYPE " + r.name + " " + r.type + "\n";
      char value[32];
      std::snprintf(value, sizeof value, "%.15g", r.value);
      out += r.name + " " + value + "\n";
    }
  }
  return out;
}

void Metrics::AddReadings(std::function<std::vector<Reading>()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  readings_.push_back(std::move(read));
}

}  // namespace smsconsent
