// Plain HTTP request/response values: what handlers see. The Beast server converts to and from
// these, so handlers and their tests never touch Beast.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smsconsent {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query as sent: "/v1/contacts?limit=10"
  std::string path;    // decoded path without the query: "/v1/contacts"
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote;  // peer address

  std::string_view Header(std::string_view lowercase_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lowercase_name) return v;
    }
    return {};
  }
  // First query value, or `fallback` when absent.
  std::string_view Query(std::string_view name, std::string_view fallback = {}) const {
    for (const auto& [k, v] : query) {
      if (k == name) return v;
    }
    return fallback;
  }
  bool HasQuery(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name) return true;
    }
    return false;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Hands the response to a request back to the server: called exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;

}  // namespace smsconsent
