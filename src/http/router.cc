#include "http/router.h"

#include <algorithm>
#include <string_view>

namespace smsconsent {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t j = path.find('/', i);
    const size_t end = j == std::string::npos ? path.size() : j;
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, pattern, SplitPath(pattern), std::move(handler), nullptr});
}

void Router::AddAsync(const std::string& method, const std::string& pattern,
                      AsyncHandler handler) {
  routes_.push_back({method, pattern, SplitPath(pattern), nullptr, std::move(handler)});
}

Router::Match Router::Find(const std::string& method, const std::string& path) const {
  // The path's segments as views (no copies); parameters are copied out only for the route
  // that matches.
  std::vector<std::string_view> segs;
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t j = std::min(path.find('/', i), path.size());
    segs.push_back(std::string_view(path).substr(i, j - i));
    i = j;
  }
  auto is_param = [](const std::string& p) {
    return p.size() > 2 && p.front() == '{' && p.back() == '}';
  };
  Match m;
  m.status = 404;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      ok = is_param(r.segments[i]) || r.segments[i] == segs[i];
    }
    if (!ok) continue;
    if (r.method != method && !(method == "HEAD" && r.method == "GET")) {
      m.status = 405;
      m.pattern = r.pattern;
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r.method;
      continue;
    }
    if (r.async) {
      m.async = &r.async;
    } else {
      m.handler = &r.handler;
    }
    for (size_t i = 0; i < segs.size(); ++i) {
      const std::string& p = r.segments[i];
      if (is_param(p)) m.params[p.substr(1, p.size() - 2)] = std::string(segs[i]);
    }
    m.pattern = r.pattern;
    m.status = 200;
    m.allow.clear();
    return m;
  }
  return m;
}

}  // namespace smsconsent
