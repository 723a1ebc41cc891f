// HttpServer: the Boost.Beast HTTP/1.1 server under `smsconsent serve`.
//
// Keep-alive, a request body limit (413), read/write deadlines, an idle limit, and graceful
// shutdown: on SIGTERM/SIGINT (or Stop()) it stops accepting, lets requests already being
// handled finish (up to the grace period), then returns from Run(). Requests are handed to
// one synchronous handler on the server's worker threads; the handler must be thread-safe.
// The server answers some requests itself, in the API's error shape, without calling the
// handler: 400 for malformed HTTP or a query string that cannot be decoded (a bad or
// truncated %-escape), 413 for a body over the limit, 431 for oversized headers.
// Beast stays inside server.cc: this header only speaks HttpRequest/HttpResponse.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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
  bool handle_signals = true;  // SIGINT/SIGTERM trigger graceful shutdown
};

// Called after every response: for access logs and metrics.
struct AccessRecord {
  const HttpRequest* request = nullptr;
  int status = 0;
  size_t response_bytes = 0;
  double seconds = 0;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smsconsent
