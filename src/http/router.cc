#include "http/router.h"

#include <array>
#include <stdexcept>
#include <string>

namespace smsconsent {

namespace {

// Patterns are written in code and have a handful of segments; a path with more than the
// longest pattern matches nothing, so Find needs room for no more than this many.
constexpr size_t kMaxSegments = 16;

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Router::Find's inner comparison, kept inline: most literals differ from the path's segment
// in length already.
bool Equal(const std::string& a, std::string_view b) {
  return a.size() == b.size() && std::char_traits<char>::compare(a.data(), b.data(), b.size()) == 0;
}

}  // namespace

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

void Router::Add(const std::string& method, const std::string& pattern, Handler handler,
                 QueryBytes query) {
  AddRoute(method, pattern, std::move(handler), nullptr, query);
}

void Router::AddAsync(const std::string& method, const std::string& pattern, AsyncHandler handler,
                      QueryBytes query) {
  AddRoute(method, pattern, nullptr, std::move(handler), query);
}

void Router::AddRoute(const std::string& method, const std::string& pattern, Handler handler,
                      AsyncHandler async, QueryBytes query) {
  Route route{method, pattern, {}, std::move(handler), std::move(async), query};
  for (std::string& s : SplitPath(pattern)) {
    const bool param = IsParam(s);
    route.segments.push_back({std::move(s), param});
  }
  const size_t n = route.segments.size();
  if (n > kMaxSegments) throw std::invalid_argument("route pattern too long: " + pattern);
  if (by_length_.size() <= n) by_length_.resize(n + 1);
  by_length_[n].push_back(routes_.size());
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  m.status = 404;
  // The path's segments as views (no copies, no allocation); parameters are copied out only
  // for the route that matches.
  std::array<std::string_view, kMaxSegments> segs;
  size_t n = 0;
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (n == segs.size()) return m;  // longer than any pattern
    segs[n++] = path.substr(i, j - i);
    i = j;
  }
  if (n >= by_length_.size()) return m;
  for (const size_t index : by_length_[n]) {
    const Route& r = routes_[index];
    // From the last segment back: patterns mostly share their first segments ("v1").
    bool ok = true;
    for (size_t i = n; i > 0 && ok; --i) {
      ok = r.segments[i - 1].param || Equal(r.segments[i - 1].text, segs[i - 1]);
    }
    if (!ok) continue;
    if (!Equal(r.method, method) && !(method == "HEAD" && r.method == "GET")) {
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
    for (size_t i = 0; i < n; ++i) {
      if (!r.segments[i].param) continue;
      const std::string& p = r.segments[i].text;
      m.params[p.substr(1, p.size() - 2)] = std::string(segs[i]);
    }
    m.pattern = r.pattern;
    m.status = 200;
    m.allow.clear();
    m.query = r.query;
    return m;
  }
  return m;
}

}  // namespace smsconsent
