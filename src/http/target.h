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
// %-escape (the message then says which, as ParseFormUrlEncoded's), `req.query` then empty;
// kInvalidArgument "request path is not UTF-8: …" when the decoded path is not (no route has
// such a path). Query values are left as decoded, any bytes: see CheckQueryText.
Status SplitTarget(std::string_view target, HttpRequest& req);

// kInvalidArgument naming the parameter when a name or value of `req.query` is not UTF-8. The
// API's routes take text only and are refused such a query before their handler runs
// (Router's QueryBytes); a webhook's query may carry a message in the charset it names
// (Kannel: charset=UTF-16BE), which its provider decodes.
Status CheckQueryText(const HttpRequest& req);

}  // namespace smsconsent
