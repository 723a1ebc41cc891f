// The one table that turns a StatusCode into a process exit code (and, for the HTTP API,
// a status code). Documented in the README's CLI reference.
#pragma once

#include "core/status.h"

namespace smsconsent {

// 0 ok; 1 ledger/data problem or internal error; 2 bad input; 3 refused by a rule or a
// missing add-on; 4 not found; 5 already exists; 6 store unavailable or throttled.
int ExitCodeFor(StatusCode code);

// 400/401/403/404/409/422/429/503/500 as the API will use them.
int HttpStatusFor(StatusCode code);

}  // namespace smsconsent
