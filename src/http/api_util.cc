// Request parsing and response building shared by the API's route files.
#include "http/api_util.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

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

namespace {

// Levenshtein distance, given up as soon as it exceeds `limit` (names are short).
size_t EditDistance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
      best = std::min(best, row[j]);
    }
    if (best > limit) return limit + 1;
  }
  return row[b.size()];
}

Status CheckMembers(const json& object, const JsonFields& fields, const std::string& prefix) {
  for (const auto& [name, value] : object.items()) {
    const JsonField* field = nullptr;
    for (const JsonField& f : fields) {
      if (f.name == name) field = &f;
    }
    if (field == nullptr) {
      // A close declared name is most likely what was meant: name it. A short name is close
      // to too many others for a guess, so the edits allowed are one per three characters of
      // the declared name, two at most.
      const JsonField* close = nullptr;
      size_t closest = SIZE_MAX;
      for (const JsonField& f : fields) {
        const size_t limit = std::min<size_t>(2, f.name.size() / 3);
        const size_t d = EditDistance(name, f.name, limit);
        if (d <= limit && d < closest) {
          closest = d;
          close = &f;
        }
      }
      std::string message = "unknown field '" + prefix + name + "'";
      if (close != nullptr)
        message += " (did you mean '" + prefix + std::string(close->name) + "'?)";
      return InvalidArgument(message);
    }
    if (!field->members.empty() && value.is_object()) {
      SMSC_RETURN_IF_ERROR(CheckMembers(value, field->members, prefix + name + "."));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckJsonFields(const json& object, const JsonFields& fields) {
  if (!object.is_object()) return Status::Ok();
  return CheckMembers(object, fields, "");
}

Result<json> ParseJsonBody(const HttpRequest& req, const JsonFields& fields) {
  if (req.body.empty()) return InvalidArgument("request body must be a JSON object");
  // What an API body says is stored, and no store keeps a NUL (JsonLimits::allow_nul).
  auto j = ReadJson(req.body, JsonLimits{.allow_nul = false});
  if (!j.ok()) return InvalidArgument("request body: " + j.status().message());
  if (!j->is_object()) return InvalidArgument("request body must be a JSON object");
  SMSC_RETURN_IF_ERROR(CheckJsonFields(*j, fields));
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
