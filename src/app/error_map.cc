#include "app/error_map.h"

namespace smsconsent {

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidPhone:
      return 2;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kFailedPrecondition:
      return 3;
    case StatusCode::kNotFound:
      return 4;
    case StatusCode::kAlreadyExists:
      return 5;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kAborted:
      return 6;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return 1;
  }
  return 1;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kInvalidPhone:
      return 422;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

HttpError HttpErrorFor(const Status& status) {
  HttpError e;
  e.status = HttpStatusFor(status.code());
  e.code = StatusCodeName(status.code());
  switch (status.code()) {
    case StatusCode::kInternal:
      e.message = "internal error; the server's log has the details";
      e.log = true;
      break;
    case StatusCode::kDataLoss:
      e.message = "stored data failed an integrity check; the server's log has the details";
      e.log = true;
      break;
    case StatusCode::kUnavailable:
      e.message = "temporarily unavailable (the database is busy or cannot be reached); try again";
      e.log = true;
      break;
    default:
      e.message = status.message();
  }
  return e;
}

}  // namespace smsconsent
