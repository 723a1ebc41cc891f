// Status and Result<T>: how every layer of smsconsent reports failure.
//
// Modelled on abseil's Status: a code that callers branch on and a message that people read.
// The core and the store return these; exceptions from libraries are caught at the adapter
// edge and turned into a Status. One table (src/app/error_map.h, later the HTTP layer) maps
// codes to exit codes and HTTP statuses.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace smsconsent {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed input (bad flag value, unparseable text)
  kInvalidPhone,        // a phone number that cannot be normalised
  kNotFound,            // a referenced account/number/contact does not exist
  kAlreadyExists,       // a unique thing created twice
  kUnauthenticated,     // no or unknown credentials (API key)
  kPermissionDenied,    // an add-on is missing, a signature is wrong, a role is not enough
  kFailedPrecondition,  // a consent rule refuses the change (e.g. self opt-out)
  kAborted,             // optimistic concurrency conflict: retry the whole operation
  kDataLoss,            // ledger tampering or corruption detected
  kUnavailable,         // the store cannot be reached or is busy
  kResourceExhausted,   // too many attempts: a throttle refuses for a while (sign-in)
  kInternal,            // a broken invariant or unexpected library failure
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: contact +4512345678 not found" -- for logs and CLI stderr.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status without a value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace smsconsent

// Propagate a non-OK Status from an expression returning Status.
#define SMSC_RETURN_IF_ERROR(expr)     \
  do {                                 \
    ::smsconsent::Status _st = (expr); \
    if (!_st.ok()) return _st;         \
  } while (0)

#define SMSC_CONCAT_INNER(a, b) a##b
#define SMSC_CONCAT(a, b) SMSC_CONCAT_INNER(a, b)
// Assign the value of a Result<T> expression or return its Status.
#define SMSC_ASSIGN_OR_RETURN(lhs, expr) \
  SMSC_ASSIGN_OR_RETURN_IMPL(SMSC_CONCAT(_res_, __LINE__), lhs, expr)
#define SMSC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
