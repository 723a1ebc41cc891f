// Router: maps (method, path) to a handler. Patterns are literal segments and {name}
// parameters ("/v1/contacts/{id}/subscriptions"). An unknown path is 404; a known path with
// another method is 405 with an Allow header. Built once at start-up; Dispatch is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/http_types.h"

namespace smsconsent {

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: see status
    PathParams params;
    std::string pattern;  // the route's pattern, for metrics and logs ("" when none)
    int status = 200;     // 404 or 405 when handler is null
    std::string allow;    // for 405
  };
  Match Find(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits "/a/b/" into {"a","b"}.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace smsconsent
