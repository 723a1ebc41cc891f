// The request target ("/v1/consent?phone=%2B4520…&number=…") split into what handlers read:
// HttpRequest::path and HttpRequest::query. Used by the server for every request.
#pragma once

#include <string_view>

#include "core/status.h"
#include "http/http_types.h"

namespace smsconsent {

// Sets `req.path` to the target's path with its %XX escapes decoded ("+" stays a plus sign; an
// escape that is not two hex digits stays as it is), and `req.query` to the query's parameters
// in order, decoded by ParseFormUrlEncoded (providers/webhook.h: form data, "+" is a space,
// empty pairs are skipped, a pair without "=" has an empty value).
// kInvalidArgument "malformed query string: …" when the query has a bad or truncated
// %-escape (the message then says which, as ParseFormUrlEncoded's), `req.query` then empty.
Status SplitTarget(std::string_view target, HttpRequest& req);

}  // namespace smsconsent
