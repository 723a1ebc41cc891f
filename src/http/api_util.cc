// Request parsing and response building shared by the API's route files.
#include "http/api_util.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "app/error_map.h"
#include "core/json_reader.h"

namespace smsconsent {

using nlohmann::json;

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  // dump() throws on a string that is not UTF-8; U+FFFD in its place answers the request
  // instead. Text from outside is checked where it comes in, so this is for what was stored
  // before it was, and for error messages that quote what a client sent.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message) {
  return JsonResponse(http_status, {{"error", {{"code", code}, {"message", message}}}});
}

HttpResponse ErrorResponse(const Status& status) {
  const HttpError e = HttpErrorFor(status);
  if (e.log) spdlog::error("request failed: {}", status.ToString());
  HttpResponse r = ErrorResponse(e.status, e.code, e.message);
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"smsconsent\"");
  }
  return r;
}

Result<json> ParseJsonBody(const HttpRequest& req) {
  if (req.body.empty()) return InvalidArgument("request body must be a JSON object");
  // What an API body says is stored, and no store keeps a NUL (JsonLimits::allow_nul).
  auto j = ReadJson(req.body, JsonLimits{.allow_nul = false});
  if (!j.ok()) return InvalidArgument("request body: " + j.status().message());
  if (!j->is_object()) return InvalidArgument("request body must be a JSON object");
  return j;
}

// Typed field access with errors that name the field.
Result<std::optional<std::string>> OptString(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return InvalidArgument(std::string("'") + name + "' must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> ReqString(const json& j, const char* name) {
  SMSC_ASSIGN_OR_RETURN(auto v, OptString(j, name));
  if (!v || v->empty()) return InvalidArgument(std::string("'") + name + "' is required");
  return *v;
}

Result<std::optional<bool>> OptBool(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean())
    return InvalidArgument(std::string("'") + name + "' must be true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::vector<std::string>>> OptStrings(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) {
    return InvalidArgument(std::string("'") + name + "' must be an array of strings");
  }
  std::vector<std::string> out;
  for (const json& v : *it) {
    if (!v.is_string()) {
      return InvalidArgument(std::string("'") + name + "' must be an array of strings");
    }
    out.push_back(v.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<int64_t> ParseInt(std::string_view s, const char* what, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) {
    return InvalidArgument(std::string("'") + what + "' must be an integer from " +
                           std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

Result<int64_t> PathId(const PathParams& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end()) return InvalidArgument(std::string("missing ") + name);
  auto v = ParseInt(it->second, name, 1, INT64_MAX);
  if (!v.ok()) return NotFound(std::string("no such ") + name + " '" + it->second + "'");
  return v;
}

Result<int> PageLimit(const HttpRequest& req, int def, int max) {
  if (!req.HasQuery("limit")) return def;
  SMSC_ASSIGN_OR_RETURN(int64_t v, ParseInt(req.Query("limit"), "limit", 1, max));
  return static_cast<int>(v);
}

Result<int64_t> Cursor(const HttpRequest& req) {
  if (!req.HasQuery("after")) return int64_t{0};
  return ParseInt(req.Query("after"), "after", 0, INT64_MAX);
}

json Page(json items, bool full, int64_t last) {
  return {{"items", std::move(items)}, {"next", full ? json(std::to_string(last)) : json(nullptr)}};
}

std::optional<std::string> CookieValue(const HttpRequest& req, std::string_view name) {
  constexpr std::string_view kSpace = " \t";
  for (const auto& [header, value] : req.headers) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t first = pair.find_first_not_of(kSpace);
      if (first == std::string_view::npos) continue;
      pair = pair.substr(first, pair.find_last_not_of(kSpace) - first + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = pair.substr(0, eq);
      key = key.substr(0, key.find_last_not_of(kSpace) + 1);
      if (key != name) continue;
      std::string_view v = pair.substr(eq + 1);
      const size_t vfirst = v.find_first_not_of(kSpace);
      v = vfirst == std::string_view::npos ? std::string_view() : v.substr(vfirst);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
  }
  return std::nullopt;
}

}  // namespace smsconsent
