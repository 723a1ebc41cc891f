// Fuzz target: the request target of every HTTP request (http/target.h SplitTarget and
// CheckQueryText), bytes straight from the network.
//
// Invariants: a path that does not decode to UTF-8 is refused; otherwise the query is exactly
// what ParseFormUrlEncoded makes of the part after the first '?', and on an error it is empty
// (not what an earlier request left); decoding the path only ever shrinks it, leaves a path
// without '%' as it is, and undoes UrlEncode; CheckQueryText refuses exactly the queries with
// a name or value that is not UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_text.h"
#include "core/status.h"
#include "fuzz_check.h"
#include "http/http_types.h"
#include "http/target.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

void CheckTarget(std::string_view target) {
  HttpRequest req;
  req.query.emplace_back("left", "over");
  const Status status = SplitTarget(target, req);
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);

  FUZZ_CHECK(req.path.size() <= raw_path.size(), fuzz::Escaped(target));
  if (raw_path.find('%') == std::string_view::npos) {
    FUZZ_CHECK(req.path == raw_path, fuzz::Escaped(target));
  }
  if (!IsValidUtf8(req.path)) {
    FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument && req.query.empty(),
               fuzz::Escaped(target) + ": " + status.ToString());
    return;
  }
  if (q == std::string_view::npos) {
    FUZZ_CHECK(status.ok() && req.query.empty(), fuzz::Escaped(target));
  } else {
    auto params = ParseFormUrlEncoded(target.substr(q + 1));
    FUZZ_CHECK(status.ok() == params.ok(), fuzz::Escaped(target));
    if (status.ok()) {
      FUZZ_CHECK(req.query == *params, fuzz::Escaped(target));
    } else {
      FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.ToString());
      FUZZ_CHECK(req.query.empty(), fuzz::Escaped(target));
    }
  }
  bool text = true;
  for (const auto& [name, value] : req.query)
    text = text && IsValidUtf8(name) && IsValidUtf8(value);
  FUZZ_CHECK(CheckQueryText(req).ok() == text, fuzz::Escaped(target));

  // UrlEncode escapes '?' and '%' too, so the encoded path splits back into the same path.
  HttpRequest again;
  FUZZ_CHECK(SplitTarget(UrlEncode(req.path), again).ok());
  FUZZ_CHECK(again.path == req.path && again.query.empty(), fuzz::Escaped(req.path));
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::CheckTarget(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
