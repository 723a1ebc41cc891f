#include "http/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "http/api_util.h"  // ErrorResponse: the API's error shape for the server's own answers
#include "http/target.h"

namespace smsconsent {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Set while a thread of the server runs work handed to it by Post(): a request answered there
// resumes at once (net::dispatch), since nothing else of this thread is mid-way. Anywhere
// else, also inside another request's handler, its resumption is queued (net::post).
thread_local bool in_posted_work = false;

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  AccessLog access_log;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::signal_set signals{ioc};
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> refused_connections{0};
  std::atomic<uint64_t> accept_failures{0};

  // One of the max_connections, held by a Session for as long as its connection is open
  // (also when its coroutine is destroyed without having run).
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(std::atomic<int64_t>* open) : open_(open) { ++*open_; }
    ConnectionSlot(ConnectionSlot&& o) noexcept : open_(std::exchange(o.open_, nullptr)) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (open_ != nullptr) --*open_;
    }

   private:
    std::atomic<int64_t>* open_;
  };

  Impl(HttpServerOptions o, Handler h, AccessLog a)
      : options(std::move(o)),
        handler(std::move(h)),
        access_log(std::move(a)),
        ioc(options.threads) {}

  HttpResponse TooLarge() const {
    return ErrorResponse(
        413, "PAYLOAD_TOO_LARGE",
        "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
  }

  net::awaitable<void> Accept() {
    // Out of file descriptors (EMFILE, ENFILE) or kernel buffers, accept() fails at once for
    // as long as a connection waits in the backlog: trying again at once would spin a core.
    // The connections already open go on being served meanwhile, and free descriptors.
    constexpr std::chrono::milliseconds kFirstPause{10};
    constexpr std::chrono::milliseconds kLongestPause{1000};
    std::chrono::milliseconds pause = kFirstPause;
    net::steady_timer timer(ioc);
    for (;;) {
      beast::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == net::error::operation_aborted) co_return;
        ++accept_failures;
        timer.expires_after(pause);
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        if (stopping) co_return;
        pause = std::min(pause * 2, kLongestPause);
        continue;
      }
      pause = kFirstPause;
      // Counted here, in the order connections are accepted, not when their sessions start.
      if (open_connections.load() >= options.max_connections) {
        Refuse(std::move(socket));
        continue;
      }
      net::co_spawn(
          ioc, Session(beast::tcp_stream(std::move(socket)), ConnectionSlot(&open_connections)),
          net::detached);
    }
  }

  // A connection past max_connections: a 503 written without waiting (a new connection's send
  // buffer is empty, so it takes the whole answer) and the connection closed, so that it holds
  // no descriptor, memory or thread any longer than this.
  void Refuse(tcp::socket socket) {
    ++refused_connections;
    static const std::string kAnswer = [] {
      const std::string body =
          R"({"error":{"code":"UNAVAILABLE","message":"too many open connections; try again"}})";
      return "HTTP/1.1 503 Service Unavailable\r\nServer: smsconsent\r\n"
             "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(kAnswer), ec);
    // Whatever of the request has arrived is read first: closing a socket with unread data
    // resets the connection, and the client might then lose the answer.
    char discard[4096];
    for (int i = 0; i < 16 && !ec; ++i) socket.read_some(net::buffer(discard), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  net::awaitable<void> Session(beast::tcp_stream stream, [[maybe_unused]] ConnectionSlot slot) {
    beast::flat_buffer buffer;
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    bool first = true;
    for (;;) {
      if (stopping) break;
      http::request_parser<http::string_body> parser;
      parser.body_limit(static_cast<uint64_t>(options.max_body_bytes));
      parser.header_limit(64 * 1024);
      beast::error_code ec;
      // Idle keep-alive connections get the idle limit until the first byte arrives; a whole
      // request must then arrive within the request timeout.
      stream.expires_after(first ? options.request_timeout : options.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       net::redirect_error(net::use_awaitable, ec));
      first = false;
      if (ec) {
        if (ec == http::error::body_limit) {
          // Beast 1.74 reports an over-limit Content-Length already while reading the header.
          co_await Write(stream, TooLarge(), false, nullptr, std::chrono::steady_clock::now());
        } else if (ec == http::error::header_limit) {
          co_await Write(stream,
                         ErrorResponse(431, "HEADERS_TOO_LARGE", "request headers too large"),
                         false, nullptr, std::chrono::steady_clock::now());
        } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                   ec != net::error::operation_aborted && ec != net::error::eof &&
                   ec != net::error::connection_reset) {
          co_await Write(stream, ErrorResponse(400, "BAD_REQUEST", "malformed HTTP request"), false,
                         nullptr, std::chrono::steady_clock::now());
        }
        break;
      }
      const auto start = std::chrono::steady_clock::now();
      ++in_flight;
      stream.expires_after(options.request_timeout);
      const auto content_length = parser.content_length();
      if (content_length && *content_length > static_cast<uint64_t>(options.max_body_bytes)) {
        co_await Write(stream, TooLarge(), false, nullptr, start);
        --in_flight;
        break;
      }
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (ec == http::error::body_limit) {
          co_await Write(stream, TooLarge(), false, nullptr, start);
        } else if (ec != beast::error::timeout && ec != net::error::eof &&
                   ec != http::error::partial_message) {
          co_await Write(stream, ErrorResponse(400, "BAD_REQUEST", "malformed HTTP request"), false,
                         nullptr, start);
        }
        --in_flight;
        break;
      }
      http::request<http::string_body> raw = parser.release();
      HttpRequest req;
      req.method = std::string(raw.method_string());
      req.target = std::string(raw.target());
      const Status target_ok = SplitTarget(req.target, req);
      for (const auto& field : raw) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      req.body = std::move(raw.body());
      req.remote = remote;
      HttpResponse res;
      std::string_view route;
      if (!target_ok.ok()) {
        res = ErrorResponse(target_ok);  // 400; the handler never sees it
      } else {
        res = co_await Handle(req, route);
      }
      const bool keep_alive = raw.keep_alive() && !stopping;
      const bool head = req.method == "HEAD";
      const bool ok = co_await Write(stream, res, keep_alive, &req, start, head, route);
      --in_flight;
      if (!ok || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Calls the handler and, unless it answered before returning (most routes do), waits for
  // its answer without holding the thread. `route` receives the handler's label.
  net::awaitable<HttpResponse> Handle(const HttpRequest& req, std::string_view& route) {
    // Shared by the handler's Responder and this coroutine.
    struct Exchange {
      std::mutex mu;
      bool answered = false;
      std::optional<HttpResponse> early;         // answered before anyone waited
      std::function<void(HttpResponse)> resume;  // set once the coroutine waits
    };
    auto x = std::make_shared<Exchange>();
    Responder respond = [x](HttpResponse res) {
      std::unique_lock<std::mutex> lock(x->mu);
      if (x->answered) return;  // only the first answer counts
      x->answered = true;
      if (!x->resume) {
        x->early.emplace(std::move(res));
        return;
      }
      auto resume = std::move(x->resume);
      lock.unlock();
      resume(std::move(res));
    };
    try {
      route = handler(req, respond);
    } catch (const std::exception&) {
      respond(ErrorResponse(500, "INTERNAL", "unexpected error"));
    }
    {
      std::lock_guard<std::mutex> lock(x->mu);
      if (x->early) co_return std::move(*x->early);
    }
    auto initiate = [x](auto completion) {
      auto executor = net::get_associated_executor(completion);
      auto shared = std::make_shared<decltype(completion)>(std::move(completion));
      // The coroutine resumes on its own executor: at once when the answer comes from one of
      // the server's threads (GroupCommitter hands its callbacks to them, see Post), else
      // queued there.
      auto resume = [shared, executor](HttpResponse res) {
        auto go = [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); };
        if (in_posted_work) {
          net::dispatch(executor, std::move(go));
        } else {
          net::post(executor, std::move(go));
        }
      };
      std::unique_lock<std::mutex> lock(x->mu);
      if (x->early) {  // answered between the check above and now
        HttpResponse res = std::move(*x->early);
        x->early.reset();
        lock.unlock();
        net::post(executor,
                  [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
        return;
      }
      x->resume = std::move(resume);
    };
    co_return co_await net::async_initiate<decltype(net::use_awaitable), void(HttpResponse)>(
        initiate, net::use_awaitable);
  }

  net::awaitable<bool> Write(beast::tcp_stream& stream, const HttpResponse& res, bool keep_alive,
                             const HttpRequest* req, std::chrono::steady_clock::time_point start,
                             bool head = false, std::string_view route = {}) {
    http::response<http::string_body> out{static_cast<http::status>(res.status), 11};
    out.set(http::field::server, "smsconsent");
    out.set(http::field::content_type, res.content_type);
    // A handler's header replaces a default set above, but a name the handler gives more than
    // once (Set-Cookie) is written once per value.
    for (size_t i = 0; i < res.headers.size(); ++i) {
      const auto& [k, v] = res.headers[i];
      bool repeated = false;
      for (size_t j = 0; j < i && !repeated; ++j) {
        repeated = beast::iequals(res.headers[j].first, k);
      }
      if (repeated) {
        out.insert(k, v);
      } else {
        out.set(k, v);
      }
    }
    out.keep_alive(keep_alive);
    const size_t bytes = res.body.size();
    if (head) {
      out.content_length(bytes);
    } else {
      out.body() = res.body;
      out.prepare_payload();
    }
    stream.expires_after(options.request_timeout);
    beast::error_code ec;
    if (head) {
      http::response_serializer<http::string_body> sr{out};
      co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
    } else {
      co_await http::async_write(stream, out, net::redirect_error(net::use_awaitable, ec));
    }
    if (access_log) {
      HttpRequest placeholder;
      AccessRecord rec;
      rec.request = req ? req : &placeholder;
      rec.status = res.status;
      rec.response_bytes = bytes;
      rec.route = route;
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      access_log(rec);
    }
    co_return !ec;
  }

  // Waits until no request is in flight (or the grace period ends), then stops the loop.
  net::awaitable<void> Drain() {
    const auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
    net::steady_timer timer(ioc);
    while (in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      beast::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    ioc.stop();
  }

  void BeginStop() {
    if (stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    signals.cancel(ec);
    net::co_spawn(ioc, Drain(), net::detached);
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler, AccessLog access_log)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(access_log))) {
}

HttpServer::~HttpServer() = default;

Result<uint16_t> HttpServer::Listen() {
  Impl& s = *impl_;
  beast::error_code ec;
  const auto address = net::ip::make_address(s.options.host, ec);
  if (ec) {
    return InvalidArgument("cannot listen on '" + s.options.host + "': not an IP address");
  }
  const tcp::endpoint endpoint{address, s.options.port};
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot listen on " + s.options.host + ":" +
                                                std::to_string(s.options.port) + ": " +
                                                ec.message());
  }
  return s.acceptor.local_endpoint().port();
}

void HttpServer::Run() {
  Impl& s = *impl_;
  if (s.options.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([this](beast::error_code ec, int) {
      if (!ec) impl_->BeginStop();
    });
  }
  net::co_spawn(s.ioc, s.Accept(), net::detached);
  std::vector<std::thread> workers;
  for (int i = 1; i < s.options.threads; ++i) workers.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : workers) t.join();
}

void HttpServer::Post(std::function<void()> fn) {
  net::post(impl_->ioc, [fn = std::move(fn)] {
    struct Mark {
      Mark() { in_posted_work = true; }
      ~Mark() { in_posted_work = false; }
    } mark;
    fn();
  });
}

HttpServerStats HttpServer::Stats() const {
  HttpServerStats st;
  st.open_connections = impl_->open_connections.load();
  st.max_connections = impl_->options.max_connections;
  st.refused_connections = impl_->refused_connections.load();
  st.accept_failures = impl_->accept_failures.load();
  return st;
}

void HttpServer::Stop() {
  net::post(impl_->ioc, [this] { impl_->BeginStop(); });
}

}  // namespace smsconsent
