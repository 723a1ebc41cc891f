// A small blocking HTTP/1.1 client (Boost.Beast) for provider REST calls: http:// and
// https:// (OpenSSL, peer verified against the system trust store), one request per
// connection, with a total timeout. Thread-safe: each call uses its own connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace smsconsent {

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: http://127.0.0.1:8080/path?query or https://…
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
};

struct HttpClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // kUnavailable for connection/timeout/TLS errors (message says which); kInvalidArgument for
  // a malformed URL. Any HTTP status, including 4xx/5xx, is a successful result.
  virtual Result<HttpClientResponse> Send(const HttpClientRequest& request) = 0;
};

// The real client.
std::unique_ptr<HttpClient> MakeBeastHttpClient();

}  // namespace smsconsent
