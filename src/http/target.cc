#include "http/target.h"

#include <string>
#include <utility>

#include "core/json_text.h"  // IsValidUtf8
#include "providers/webhook.h"

namespace smsconsent {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX in a path ("+" is a plus sign in paths, unlike in form data).
std::string PercentDecodePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      const int hi = HexValue(raw[i + 1]), lo = HexValue(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(raw[i]);
  }
  return out;
}

}  // namespace

Status SplitTarget(std::string_view target, HttpRequest& req) {
  const size_t q = target.find('?');
  req.path = PercentDecodePath(target.substr(0, q));
  req.query.clear();
  // Handlers quote the path in their errors and match it against routes and stored names;
  // no route or name has bytes that are not UTF-8, and refusing them here means no answer or
  // log has to carry them further.
  if (!IsValidUtf8(req.path)) {
    return InvalidArgument("request path is not UTF-8: its %-escapes must encode UTF-8 text");
  }
  if (q == std::string_view::npos) return Status::Ok();
  auto params = ParseFormUrlEncoded(target.substr(q + 1));
  if (!params.ok()) return InvalidArgument("malformed query string: " + params.status().message());
  req.query = std::move(params).value();
  return Status::Ok();
}

Status CheckQueryText(const HttpRequest& req) {
  for (const auto& [name, value] : req.query) {
    if (!IsValidUtf8(name)) {
      return InvalidArgument(
          "a query parameter's name is not UTF-8: %-escapes must encode UTF-8 text");
    }
    if (!IsValidUtf8(value)) {
      return InvalidArgument("query parameter '" + name +
                             "' is not UTF-8: its %-escapes must encode UTF-8 text");
    }
  }
  return Status::Ok();
}

}  // namespace smsconsent
