#include "http/router.h"

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
  const std::vector<std::string> segs = SplitPath(path);
  Match m;
  m.status = 404;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    PathParams params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = segs[i];
      } else {
        ok = p == segs[i];
      }
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
    m.params = std::move(params);
    m.pattern = r.pattern;
    m.status = 200;
    m.allow.clear();
    return m;
  }
  return m;
}

}  // namespace smsconsent
