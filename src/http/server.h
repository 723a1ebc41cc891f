// HttpServer: the Boost.Beast HTTP/1.1 server under `smsconsent serve`.
//
// Keep-alive, a request body limit (413), read/write deadlines, an idle limit, and graceful
// shutdown: on SIGTERM/SIGINT (or Stop()) it stops accepting, lets requests already being
// handled finish (up to the grace period), then returns from Run(). Requests are handed to
// one handler on the server's worker threads; the handler must be thread-safe. It answers
// through a callback, at once or later from any thread, so a request that waits (for a
// group commit) holds its connection but no thread.
// The server answers some requests itself, in the API's error shape, without calling the
// handler: 400 for malformed HTTP or a query string that cannot be decoded (a bad or
// truncated %-escape), 413 for a body over the limit, 431 for oversized headers.
// At most max_connections client connections are open at once: one more is answered 503 (with
// Retry-After) and closed as soon as it is accepted, without being read. When accepting fails
// (out of file descriptors, EMFILE/ENFILE), the server waits before it tries again, from 10 ms
// doubling up to 1 s, instead of retrying in a busy loop.
// Beast stays inside server.cc: this header only speaks HttpRequest/HttpResponse.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "http/http_types.h"

namespace smsconsent {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = any free port
  int threads = 4;
  int64_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  int64_t max_connections = 1024;  // open client connections; 503 past it
  bool handle_signals = true;      // SIGINT/SIGTERM trigger graceful shutdown
};

// What the server holds, for /metrics. Counters count since the server was made.
struct HttpServerStats {
  int64_t open_connections = 0;
  int64_t max_connections = 0;
  uint64_t refused_connections = 0;  // answered 503 past max_connections
  uint64_t accept_failures = 0;      // accept() errors, each followed by a wait
};

// Called after every response: for access logs and metrics.
struct AccessRecord {
  const HttpRequest* request = nullptr;
  int status = 0;
  size_t response_bytes = 0;
  double seconds = 0;
  // What the handler returned for the request (its route, for logs and metrics); empty when
  // the server answered without calling the handler, or the handler threw.
  std::string_view route;
};

class HttpServer {
 public:
  // Answers through `respond` (http_types.h), now or later; `request` stays valid until `respond`
  // has been called. Returns a label for the request, handed to the access log as
  // AccessRecord::route; it must stay valid as long as the server.
  using Handler = std::function<std::string_view(const HttpRequest& request, Responder respond)>;
  using AccessLog = std::function<void(const AccessRecord&)>;

  HttpServer(HttpServerOptions options, Handler handler, AccessLog access_log);
  ~HttpServer();

  // Binds and listens. Returns the bound port (useful with port 0). kUnavailable when the
  // address cannot be bound, naming it.
  Result<uint16_t> Listen();
  // Serves until Stop() or a signal, then drains in-flight requests. Call after Listen().
  void Run();
  // Begins a graceful shutdown; safe from any thread (and from a handler).
  void Stop();

  // Runs `fn` on one of the server's threads, soon. A Responder called there resumes its
  // request at once instead of queueing it, so work that answers many waiting requests (a
  // group commit's callbacks) is best handed over this way. After Run() returns, `fn` is
  // dropped without running.
  void Post(std::function<void()> fn);

  // Thread-safe.
  HttpServerStats Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smsconsent
