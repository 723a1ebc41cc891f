// The Boost.Beast HttpClient of client.h.
//
// Each Send owns a private io_context and runs one asynchronous operation at a time on it, so
// the code reads top to bottom like a blocking client while every step (resolve, connect, TLS
// handshake, write, read) is bounded by the request's one deadline: beast::tcp_stream closes
// the socket when its expiry passes and the operation fails with beast::error::timeout.
#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// GCC 12 with -fsanitize=address at -O3 reports a false -Wmaybe-uninitialized inside Beast's
// parser (boost::optional<uint64_t> in basic_parser::content_length_unchecked, inlined here).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace smsconsent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr uint64_t kBodyLimit = 1 << 20;  // provider answers are small JSON or text
constexpr uint32_t kHeaderLimit = 64 << 10;

struct Url {
  bool tls = false;
  std::string scheme;
  std::string host;         // without IPv6 brackets: what we resolve and verify
  std::string port;         // always set (default 80/443)
  std::string host_header;  // host[:port] as the Host header wants it
  std::string target;       // path and query, at least "/"
  std::string path;         // target without the query: safe to log (queries carry secrets)
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool HasControlOrSpace(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return true;
  }
  return false;
}

Result<Url> ParseUrl(std::string_view text) {
  auto bad = [&](const std::string& why) {
    // The query may hold credentials (Kannel's sendsms): never echo it.
    std::string shown(text.substr(0, text.find('?')));
    return InvalidArgument("malformed URL \"" + shown + "\": " + why);
  };
  if (HasControlOrSpace(text)) return bad("contains spaces or control characters");
  Url url;
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos) return bad("expected http:// or https://");
  url.scheme = Lower(text.substr(0, colon));
  if (url.scheme == "https") {
    url.tls = true;
  } else if (url.scheme != "http") {
    return bad("scheme must be http or https");
  }
  std::string_view rest = text.substr(colon + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const size_t c = authority.rfind(':');
    url.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (url.host.empty()) return bad("no host");
  const char* default_port = url.tls ? "443" : "80";
  if (port.empty()) {
    url.port = default_port;
  } else {
    int value = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9' || value > 65535) return bad("invalid port");
      value = value * 10 + (ch - '0');
    }
    if (value < 1 || value > 65535) return bad("invalid port");
    url.port = std::to_string(value);
  }
  const std::string bracketed =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  url.host_header = url.port == default_port ? bracketed : bracketed + ":" + url.port;
  url.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  url.path = url.target.substr(0, url.target.find('?'));
  return url;
}

bool IsIpAddress(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Runs the io_context until the operation started just before has completed. Every stream
// operation carries its own deadline (tcp_stream's expiry), so this cannot hang.
void RunToCompletion(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

class BeastHttpClient final : public HttpClient {
 public:
  BeastHttpClient() : tls_(ssl::context::tls_client) {
    tls_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    tls_.set_default_verify_paths(ec);
    tls_ready_ = !ec;
    tls_error_ = ec.message();
  }

  Result<HttpClientResponse> Send(const HttpClientRequest& request) override {
    SMSC_ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
    for (const auto& [name, value] : request.headers) {
      if (name.empty() || HasControlOrSpace(name) ||
          value.find_first_of("\r\n") != std::string::npos) {
        return InvalidArgument("malformed header \"" + name + "\"");
      }
    }
    if (request.method.empty() || HasControlOrSpace(request.method)) {
      return InvalidArgument("malformed method \"" + request.method + "\"");
    }
    const std::string what = request.method + " " + url.scheme + "://" + url.host_header + url.path;
    try {
      return Exchange(request, url, what);
    } catch (const std::exception& e) {
      // Beast and Asio report through error codes here; this is the edge for anything else
      // (allocation, a library throwing on input we did not foresee).
      return Status(StatusCode::kUnavailable, what + ": " + e.what());
    }
  }

 private:
  Result<HttpClientResponse> Exchange(const HttpClientRequest& request, const Url& url,
                                      const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + request.timeout;
    auto fail = [&](const char* step, const error_code& ec) {
      std::string why = ec == beast::error::timeout
                            ? "timed out after " + std::to_string(request.timeout.count()) + " ms"
                            : ec.message();
      if (ec == http::error::body_limit) {
        why = "response body larger than " + std::to_string(kBodyLimit) + " bytes";
      }
      return Status(StatusCode::kUnavailable,
                    what + ": " + step + " " + url.host + ":" + url.port + " failed: " + why);
    };
    if (url.tls && !tls_ready_) {
      return Status(StatusCode::kUnavailable,
                    what + ": cannot load the system's trusted certificates: " + tls_error_);
    }

    asio::io_context ioc;

    // Resolve. getaddrinfo runs on Asio's resolver thread and cannot be interrupted, so the
    // deadline is enforced by how long we wait for it.
    tcp::resolver resolver(ioc);
    std::optional<error_code> resolved;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(url.host, url.port,
                           [&](const error_code& ec, tcp::resolver::results_type results) {
                             resolved = ec;
                             endpoints = std::move(results);
                           });
    ioc.run_until(deadline);
    if (!resolved.has_value()) return fail("resolving", beast::error::timeout);
    if (*resolved) return fail("resolving", *resolved);

    http::request<http::string_body> req;
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
      req.method_string(request.method);
    } else {
      req.method(verb);
    }
    req.target(url.target);
    req.version(11);
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent, "smsconsent/0.1");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.keep_alive(false);  // one request per connection
    req.body() = request.body;
    req.prepare_payload();  // Content-Length

    if (!url.tls) {
      beast::tcp_stream stream(ioc);
      return Converse(stream, stream, ioc, endpoints, deadline, req, fail);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_);
    SSL* ssl = stream.native_handle();
    if (IsIpAddress(url.host)) {
      // No SNI for addresses (RFC 6066); the certificate must name the IP.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url.host.c_str());
      SSL_set1_host(ssl, url.host.c_str());
    }
    return Converse(stream, beast::get_lowest_layer(stream), ioc, endpoints, deadline, req, fail);
  }

  // Connects `tcp` (the lowest layer of `stream`), handshakes when `stream` is TLS, writes
  // `req` and reads the response.
  template <typename Stream, typename Fail>
  Result<HttpClientResponse> Converse(Stream& stream, beast::tcp_stream& tcp, asio::io_context& ioc,
                                      const tcp::resolver::results_type& endpoints,
                                      std::chrono::steady_clock::time_point deadline,
                                      http::request<http::string_body>& req, const Fail& fail) {
    error_code ec;
    tcp.expires_at(deadline);
    tcp.async_connect(endpoints, [&](const error_code& e, const tcp::endpoint&) { ec = e; });
    RunToCompletion(ioc);
    if (ec) return fail("connecting to", ec);

    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      stream.async_handshake(ssl::stream_base::client, [&](const error_code& e) { ec = e; });
      RunToCompletion(ioc);
      if (ec) return fail("TLS handshake with", ec);
    }

    http::async_write(stream, req, [&](const error_code& e, std::size_t) { ec = e; });
    RunToCompletion(ioc);
    if (ec) return fail("sending to", ec);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    // Header first: Beast 1.74's eager parse (what async_read uses) overwrites the
    // body_limit error for a too large Content-Length and goes on reading the body, so the
    // limit is checked here. Chunked and close-delimited bodies are limited while parsing.
    http::async_read_header(stream, buffer, parser,
                            [&](const error_code& e, std::size_t) { ec = e; });
    RunToCompletion(ioc);
    if (ec) return fail("reading the response from", ec);
    if (parser.content_length().value_or(0) > kBodyLimit) {
      return fail("reading the response from", http::error::body_limit);
    }
    if (!parser.is_done()) {
      http::async_read(stream, buffer, parser, [&](const error_code& e, std::size_t) { ec = e; });
      RunToCompletion(ioc);
      if (ec) return fail("reading the response from", ec);
    }

    // The response is complete (framed by Content-Length, chunking or the close), so the TLS
    // close_notify exchange would only add a round trip that a slow peer can stall: close.
    error_code ignored;
    tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp.socket().close(ignored);

    http::response<http::string_body> res = parser.release();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      const beast::string_view name = field.name_string();
      const beast::string_view value = field.value();
      out.headers.emplace_back(Lower(std::string_view(name.data(), name.size())),
                               std::string(value.data(), value.size()));
    }
    out.body = std::move(res.body());
    return out;
  }

  ssl::context tls_;  // shared by all requests: SSL_CTX is safe to use from many threads
  bool tls_ready_ = false;
  std::string tls_error_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeBeastHttpClient() { return std::make_unique<BeastHttpClient>(); }

}  // namespace smsconsent
