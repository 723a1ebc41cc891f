#include "cli/serve.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "app/bounded_pool.h"
#include "app/bulk.h"
#include "app/consent_service.h"
#include "app/group_committer.h"
#include "app/job_worker.h"
#include "app/ledger_key.h"
#include "app/ledger_service.h"
#include "app/outbox_dispatcher.h"
#include "app/reviews.h"
#include "app/staff_auth.h"
#include "app/system_clock.h"
#include "app/webhook_service.h"
#include "cli/output.h"
#include "cli/version.h"
#include "core/json_text.h"
#include "core/log_text.h"
#include "http/api.h"
#include "http/api_util.h"
#include "http/client.h"
#include "http/server.h"
#include "store/store.h"

namespace smsconsent::cli {
namespace {

// A JSON string literal for the access log. Not through nlohmann::json: its dump() throws on
// bytes that are not UTF-8, and a request path may hold any (written as U+FFFD here).
std::string JsonEscape(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

// A log line's message, made safe for its line by the formatter itself (core/log_text.h), so
// that no call site has to escape what it logs: a request path, a provider's error text or a
// message quoting either can neither end the line nor start a forged one. In JSON mode a
// message is the object's inner fields ("msg":… from the call sites here) or becomes "msg".
class SafeMessage final : public spdlog::custom_flag_formatter {
 public:
  explicit SafeMessage(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string text = json_ ? JsonLogFields(payload) : LogText(payload);
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SafeMessage>(json_);
  }

 private:
  bool json_;
};

void SetUpLogging(const ServeConfig& config) {
  auto logger = spdlog::stderr_logger_mt("smsconsent");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<SafeMessage>('*', config.log_json);
  formatter->set_pattern(config.log_json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*})"
                                         : "%Y-%m-%dT%H:%M:%S.%eZ %l %*");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(logger);
}

// Raises the soft limit on open files to the hard one (systemd's default soft limit is 1024,
// its hard one far higher) and returns the soft limit in force.
uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : limit.rlim_cur;
}

MetricsAccess MetricsAccessOf(const std::string& setting) {
  if (setting == "off") return MetricsAccess::kOff;
  if (setting == "token") return MetricsAccess::kToken;
  return MetricsAccess::kLoopback;
}

}  // namespace

int RunServe(const std::string& db, const std::string& ledger_key, const ServeConfig& config) {
  SetUpLogging(config);
  if (config.log_json) {
    spdlog::info(R"("msg":"starting","version":{},"revision":{})", JsonEscape(Version()),
                 JsonEscape(Revision()));
  } else {
    spdlog::info("smsconsent {} (git {}) starting", Version(), Revision());
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(config.listen, &host, &port)) {
    return Output::Fail(InvalidArgument("--listen must be HOST:PORT, got '" + config.listen + "'"));
  }
  if (Status st = CheckServeConfig(config); !st.ok()) return Output::Fail(st);
  const uint64_t open_files = RaiseOpenFileLimit();
  const int64_t max_connections = MaxConnections(config, open_files);
  if (max_connections > static_cast<int64_t>(open_files / 2)) {
    // Past the open-file limit, connections wait in the kernel's backlog instead of being
    // refused, and the database or an outgoing reply may find no descriptor left.
    if (config.log_json) {
      spdlog::warn(
          R"("msg":"max_connections above half the open-file limit","max_connections":{},"open_files":{})",
          max_connections, open_files);
    } else {
      spdlog::warn(
          "--max-connections {} leaves fewer than half of the {} files the process may open "
          "for the database and outgoing connections",
          max_connections, open_files);
    }
  }
  auto store = OpenStore(db);
  if (!store.ok()) return Output::Fail(store.status());
  const int threads =
      HandlerThreads(config, IsPostgresLocation(db), std::thread::hardware_concurrency());
  SystemClock clock;
  ConsentService service(**store, clock);
  Metrics metrics;
  service.SetStoreObserver(
      [&metrics](const char* op, double seconds) { metrics.RecordStore(op, seconds); });
  // Concurrent requests' commits share one transaction and one fsync (docs/storage.md,
  // "Group commit"); each request is still answered only once its batch is durable.
  // The server, once it exists: the committer hands it the callbacks that answer waiting
  // webhooks, so the writer thread goes straight on to the next batch.
  std::atomic<HttpServer*> http_server{nullptr};
  std::unique_ptr<GroupCommitter> committer;
  if (config.group_commit) {
    GroupCommitter::Options options;
    options.on_batch = [&metrics](int items, double seconds) {
      metrics.RecordGroupCommit(items, seconds);
    };
    options.run_callbacks = [&http_server](std::function<void()> fn) {
      if (HttpServer* server = http_server.load()) return server->Post(std::move(fn));
      fn();
    };
    options.callback_chunks = std::max(1, std::min(threads, 4));
    options.writers = CommitWriters(config, IsPostgresLocation(db));
    committer = std::make_unique<GroupCommitter>(**store, std::move(options));
    service.SetCommitter(committer.get());
  }
  service.SetConfirmationWindow(config.confirmation_window_days * 24 * 60 * 60 * 1000);
  const bool json_logs = config.log_json;
  WebhookService::Options webhook_options;
  // The real reason of a webhook refused as unverified, which its answer does not say. The
  // request wrote part of it; the formatter keeps that on its line (SafeMessage).
  webhook_options.on_not_verified = [json_logs](std::string_view provider, std::string_view to,
                                                const Status& reason) {
    if (json_logs) {
      spdlog::warn(R"("msg":"webhook not verified","provider":{},"to":{},"reason":{})",
                   JsonEscape(provider), JsonEscape(to), JsonEscape(reason.ToString()));
    } else {
      spdlog::warn("webhook {} to {} not verified: {}", provider, to, reason.ToString());
    }
  };
  // A genuine status callback for a message id no outbox item has: acknowledged (providers
  // retry anything else) and counted in smsconsent_delivery_callbacks_total{effect="unknown"}.
  webhook_options.on_unknown_delivery = [json_logs](std::string_view provider,
                                                    std::string_view message_id) {
    if (json_logs) {
      spdlog::info(R"("msg":"delivery status for an unknown message","provider":{},"id":{})",
                   JsonEscape(provider), JsonEscape(message_id));
    } else {
      spdlog::info("delivery status from {} for unknown message {}", provider,
                   JsonEscape(message_id));
    }
  };
  WebhookService webhooks(service, **store, clock, std::move(webhook_options));
  Api api(service, webhooks, **store, clock, metrics,
          ApiOptions{config.public_url, config.web_dir, MetricsAccessOf(config.metrics),
                     config.metrics_token});
  const std::string instance =
      config.instance_id.empty() ? "instance-" + std::to_string(::getpid()) : config.instance_id;
  BulkService::Options bulk_options;
  bulk_options.chunk_rows = config.job_chunk_rows;
  bulk_options.lease_ms = config.job_lease_ms;
  BulkService bulk(service, **store, clock, bulk_options);
  JobWorker jobs(bulk, instance, std::chrono::milliseconds(1000));
  api.SetBulk(&bulk, [&jobs] { jobs.Notify(); });
  // The verifiable ledger (docs/ledger.md): the key that signs tree heads, created on first run,
  // and the sequencer that integrates written events into the accounts' trees.
  const std::string key_path = LedgerKeyPath(db, ledger_key);
  auto key = LoadOrCreateLedgerKey(key_path);
  if (!key.ok()) return Output::Fail(key.status());
  LedgerOptions ledger_options;
  ledger_options.head_interval_ms = config.tree_head_interval_s * 1000;
  ledger_options.integrate_interval_ms = config.ledger_integrate_interval_ms;
  LedgerService ledger(**store, clock, *key, ledger_options);
  if (Status st = ledger.RegisterKey(); !st.ok()) return Output::Fail(st);
  LedgerSequencer sequencer(ledger, config.ledger_integrate_interval_ms);
  api.SetLedger(&ledger);
  metrics.AddReadings([&sequencer] {
    return std::vector<Metrics::Reading>{
        {"smsconsent_ledger_integrated_events_total",
         "Events this instance integrated into the accounts' Merkle trees.", "counter",
         static_cast<double>(sequencer.integrated())}};
  });
  spdlog::info(json_logs ? R"("msg":"ledger key","path":)" + JsonEscape(key_path) +
                               R"(,"key_id":)" + JsonEscape(key->KeyId())
                         : "ledger key " + key_path + " (key id " + key->KeyId() + ")");
  // The queue of possible opt-outs (docs/reviews.md).
  ReviewService reviews(service, **store, clock, config.review_highlight_after_s * 1000);
  api.SetReviews(&reviews);
  metrics.AddReadings([&store] {
    std::vector<Metrics::Reading> readings;
    auto open = (*store)->CountOpenReviews();
    if (open.ok()) {
      readings.push_back({"smsconsent_review_items_open",
                          "Possible opt-outs waiting for a person to confirm or dismiss them.",
                          "gauge", static_cast<double>(*open)});
    }
    return readings;
  });
  // Staff sign-in for the web page (docs/auth.md).
  StaffAuth staff_auth(**store, clock);
  api.SetStaffAuth(&staff_auth);
  // Password checks run on a pool of their own (docs/limits.md, "Resources held per client").
  BoundedPool signin_pool(clock, BoundedPoolOptions{config.signin_threads, config.signin_queue,
                                                    config.signin_rate, "sign-ins"});
  api.SetSignInPool(&signin_pool);
  metrics.AddReadings([&signin_pool] {
    const BoundedPoolStats st = signin_pool.Stats();
    return std::vector<Metrics::Reading>{
        {"smsconsent_signin_threads", "Threads that check sign-in passwords.", "gauge",
         static_cast<double>(st.threads)},
        {"smsconsent_signin_running", "Sign-ins checking a password now.", "gauge",
         static_cast<double>(st.running)},
        {"smsconsent_signin_running_peak", "The most sign-ins that checked a password at once.",
         "gauge", static_cast<double>(st.running_peak)},
        {"smsconsent_signin_queued", "Sign-ins waiting for a thread.", "gauge",
         static_cast<double>(st.queued)},
        {"smsconsent_signin_refused_total", "Sign-ins refused past the queue or the rate (429).",
         "counter", static_cast<double>(st.refused)},
    };
  });

  std::unique_ptr<HttpClient> http_client = MakeBeastHttpClient();
  std::unique_ptr<OutboxDispatcher> dispatcher;
  if (config.dispatch) {
    OutboxDispatcher::Options options;
    options.owner_id = instance;
    options.lease_ms = config.outbox_lease_ms;
    options.max_ages = ReplyMaxAgesOf(config);
    options.poll_interval = std::chrono::milliseconds(config.outbox_poll_ms);
    options.public_url = config.public_url;
    dispatcher = std::make_unique<OutboxDispatcher>(**store, clock, *http_client, options);
    api.SetOutboxNotifier([d = dispatcher.get()] { d->Notify(); });
    webhooks.SetOutboxNotifier([d = dispatcher.get()] { d->Notify(); });
  }

  HttpServerOptions options;
  options.host = host;
  options.port = port;
  options.threads = threads;
  options.max_body_bytes = config.max_body_bytes;
  options.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  options.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  options.max_connections = max_connections;
  HttpServer server(
      options,
      [&api](const HttpRequest& req, Responder respond) {
        return api.HandleAsync(req, std::move(respond));
      },
      [&api, &metrics, json_logs](const AccessRecord& rec) {
        const HttpRequest& req = *rec.request;
        // The route the handler matched; routed here only when the server answered without
        // calling it (a query string it could not decode, a 413, malformed HTTP).
        std::string unhandled_route;
        if (rec.route.empty()) unhandled_route = req.method.empty() ? "unparsed" : api.RouteOf(req);
        const std::string_view route = rec.route.empty() ? unhandled_route : rec.route;
        metrics.RecordRequest(route, req.method, rec.status, rec.seconds);
        if (!spdlog::should_log(spdlog::level::info)) return;
        const double ms = rec.seconds * 1000.0;
        if (json_logs) {
          spdlog::info(
              R"("msg":"request","method":{},"path":{},"route":{},"status":{},"ms":{:.3f},"bytes":{},"remote":{})",
              JsonEscape(req.method), JsonEscape(req.path), JsonEscape(route), rec.status, ms,
              rec.response_bytes, JsonEscape(req.remote));
        } else {
          spdlog::info("{} {} {} {:.3f}ms {}B {}", req.method, req.path, rec.status, ms,
                       rec.response_bytes, req.remote);
        }
      });
  http_server = &server;
  metrics.AddReadings([&server] {
    const HttpServerStats st = server.Stats();
    return std::vector<Metrics::Reading>{
        {"smsconsent_http_connections_open", "Open client connections.", "gauge",
         static_cast<double>(st.open_connections)},
        {"smsconsent_http_connections_limit", "Open client connections allowed.", "gauge",
         static_cast<double>(st.max_connections)},
        {"smsconsent_http_connections_refused_total",
         "Connections answered 503 and closed past the limit.", "counter",
         static_cast<double>(st.refused_connections)},
        {"smsconsent_http_accept_failures_total",
         "Failed accepts (out of file descriptors), each followed by a pause.", "counter",
         static_cast<double>(st.accept_failures)},
    };
  });
  auto bound = server.Listen();
  if (!bound.ok()) return Output::Fail(bound.status());
  if (dispatcher) dispatcher->Start();
  jobs.Start();
  sequencer.Start();
  // Tools and tests wait for this line; print it only once the socket accepts connections.
  std::cout << "smsconsent listening on http://"
            << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << *bound
            << std::endl;
  if (json_logs) {
    spdlog::info(R"("msg":"listening","port":{},"threads":{},"max_connections":{})", *bound,
                 threads, max_connections);
  } else {
    spdlog::info("listening on port {} with {} handler threads, at most {} connections", *bound,
                 threads, max_connections);
  }
  server.Run();
  // Sign-ins still queued are answered into the stopped server (and dropped), before it goes.
  signin_pool.Stop();
  spdlog::info(json_logs ? std::string(R"("msg":"stopping")") : std::string("stopping"));
  // The server has drained: no handler waits on the committer any more. Stop it (committing
  // anything still queued) before the store closes.
  jobs.Stop();
  if (committer) committer->Stop();
  if (dispatcher) dispatcher->Stop();
  // After the committer: its last batch is integrated too.
  sequencer.Stop();
  spdlog::info(json_logs ? std::string(R"("msg":"stopped")") : std::string("stopped"));
  spdlog::shutdown();
  return 0;
}

}  // namespace smsconsent::cli
