// Router: maps (method, path) to a handler. Patterns are literal segments and {name}
// parameters ("/v1/contacts/{id}/subscriptions"). An unknown path is 404; a known path with
// another method is 405 with an Allow header. Built once at start-up; Dispatch is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_types.h"

namespace smsconsent {

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;
// A handler that answers later, from any thread, through `respond` (a webhook waiting for its
// group commit); the request and params stay valid until it has.
using AsyncHandler = std::function<void(const HttpRequest&, const PathParams&, Responder)>;

// What a route takes in its query string once decoded: text (UTF-8, what every API route
// reads), or any bytes (a webhook, whose provider may receive a message in the charset the
// request names and decodes it itself).
enum class QueryBytes { kUtf8, kAny };

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler,
           QueryBytes query = QueryBytes::kUtf8);
  void AddAsync(const std::string& method, const std::string& pattern, AsyncHandler handler,
                QueryBytes query = QueryBytes::kUtf8);

  struct Match {
    // Exactly one of the two is set when the route is found; both null: see status.
    const Handler* handler = nullptr;
    const AsyncHandler* async = nullptr;
    PathParams params;
    // The route's pattern, for metrics and logs ("" when none); a view of the Router's own
    // copy, valid as long as the Router.
    std::string_view pattern;
    int status = 200;                      // 404 or 405 when handler is null
    std::string allow;                     // for 405
    QueryBytes query = QueryBytes::kUtf8;  // as the route was added
  };
  // The first route (in the order added) whose pattern matches `path` and whose method is
  // `method` (a GET route also answers HEAD); else 405 listing the methods of every route whose
  // pattern matches, with the last such pattern; else 404.
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    struct Segment {
      std::string text;    // a literal, or "{name}"
      bool param = false;  // matches any one segment
    };
    std::vector<Segment> segments;
    Handler handler;
    AsyncHandler async;
    QueryBytes query = QueryBytes::kUtf8;
  };
  void AddRoute(const std::string& method, const std::string& pattern, Handler handler,
                AsyncHandler async, QueryBytes query);
  std::vector<Route> routes_;
  // Indexes into routes_, in order, by the number of path segments: a path is compared only
  // with the patterns of its length.
  std::vector<std::vector<size_t>> by_length_;
};

// Splits "/a/b/" into {"a","b"}.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace smsconsent
