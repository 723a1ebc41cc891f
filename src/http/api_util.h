// Request parsing and response building shared by the API's route files (api.cc and the
// files that add routes of one area each). Errors are kInvalidArgument with a message naming
// the offending field or parameter, so they map to 400 through ErrorResponse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "http/http_types.h"
#include "http/router.h"

namespace smsconsent {

// A JSON response with the given status. Never throws: a string that is not UTF-8 is written
// with U+FFFD in place of its ill-formed bytes.
HttpResponse JsonResponse(int status, const nlohmann::json& body);
// {"error": {"code": "NOT_FOUND", "message": …}} as HttpErrorFor (app/error_map.h) has it (and,
// for kUnauthenticated, a WWW-Authenticate header): every error the service answers, the
// server's own included, is written here. A failure inside the service gets a fixed message,
// and the status itself goes to the log. Never throws, whatever the message quotes.
HttpResponse ErrorResponse(const Status& status);
HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message);
// A member a request body may hold: its name and, for a member whose value is an object of a
// fixed shape, the members that object may hold (empty: any value, checked by the handler).
// Every route that reads a JSON body declares its members, so a misspelt or unknown one is
// refused rather than ignored (docs/limits.md, "JSON bodies").
struct JsonField {
  // Implicit, so that a route's list reads {{"name"}, {"keywords", {{"opt_in"}, …}}}.
  JsonField(std::string_view name) : name(name) {}  // NOLINT(google-explicit-constructor)
  JsonField(std::string_view name, std::vector<JsonField> members)
      : name(name), members(std::move(members)) {}

  std::string_view name;
  std::vector<JsonField> members;
};
using JsonFields = std::vector<JsonField>;
// Ok when every member of `object` is one of `fields` and, for a field with members of its own
// whose value is an object, so is every member of that value (recursively). Otherwise
// kInvalidArgument "unknown field 'opt_in_confimation' (did you mean 'opt_in_confirmation'?)",
// a nested member named by its path ('keywords.opt_inn'); the hint names the closest declared
// name within two edits (one in three characters for a short one). A value that is not an
// object is left to the handler to refuse.
Status CheckJsonFields(const nlohmann::json& object, const JsonFields& fields);
// The request body as a JSON object holding only `fields`, read with ReadJson's limits
// (core/json_reader.h): kInvalidArgument "request body: JSON nested deeper than 64 levels",
// "request body: not valid JSON at byte …", "request body must be a JSON object", and
// CheckJsonFields' "unknown field '…'".
Result<nlohmann::json> ParseJsonBody(const HttpRequest& req, const JsonFields& fields);
// A field that, when present and not null, must be a string / bool / array of strings.
Result<std::optional<std::string>> OptString(const nlohmann::json& j, const char* name);
Result<std::string> ReqString(const nlohmann::json& j, const char* name);
Result<std::optional<bool>> OptBool(const nlohmann::json& j, const char* name);
Result<std::optional<std::vector<std::string>>> OptStrings(const nlohmann::json& j,
                                                           const char* name);
// A decimal integer within [min, max]; `what` names it in the error.
Result<int64_t> ParseInt(std::string_view s, const char* what, int64_t min, int64_t max);
// A numeric path parameter.
Result<int64_t> PathId(const PathParams& p, const char* name);
// ?limit= (default `def`, at most `max`) and ?cursor= of a paged list.
Result<int> PageLimit(const HttpRequest& req, int def, int max);
Result<int64_t> Cursor(const HttpRequest& req);
// {"items": [...], "next": "<cursor>" or null}; `full` says whether a further page may exist.
nlohmann::json Page(nlohmann::json items, bool full, int64_t last);

// The staff session's cookie (docs/auth.md).
inline constexpr char kSessionCookie[] = "smsconsent_session";
// The value of cookie `name` in the request's Cookie header(s) — "a=1; b=2", spaces around
// each pair ignored, a double-quoted value unquoted — or nullopt when absent. The first one
// wins when a name appears twice.
std::optional<std::string> CookieValue(const HttpRequest& req, std::string_view name);

}  // namespace smsconsent
