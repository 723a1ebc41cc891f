// The one table that turns a StatusCode into a process exit code (and, for the HTTP API,
// a status code). Documented in the README's CLI reference.
#pragma once

#include <string>

#include "core/status.h"

namespace smsconsent {

// 0 ok; 1 ledger/data problem or internal error; 2 bad input; 3 refused by a rule or a
// missing add-on; 4 not found; 5 already exists; 6 store unavailable or throttled.
int ExitCodeFor(StatusCode code);

// 400/401/403/404/409/422/429/503/500 as the API will use them.
int HttpStatusFor(StatusCode code);

// What an HTTP client is told of a failure: the status, the code's name and a message. A
// failure inside the service (kInternal, kDataLoss, kUnavailable) is answered with a fixed
// message, since its own text is written for operators -- SQL, a library's words, a database
// host -- and `log` says that the caller must log the status instead. Every other code keeps
// its message, which is written for the client.
struct HttpError {
  int status = 500;
  const char* code = "INTERNAL";
  std::string message;
  bool log = false;
};
HttpError HttpErrorFor(const Status& status);

}  // namespace smsconsent
