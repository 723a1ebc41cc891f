// StaffAuth: the staff who sign in to the web page, their passwords and their sign-in
// sessions (docs/auth.md). No HTTP here: src/http/api_session.cc turns a session into a
// cookie and checks CSRF; this file decides who someone is and for how long.
//
// Passwords are stored as Argon2id encoded strings (libargon2). A session is a random token
// that only the browser holds (the store keeps its SHA-256) and a CSRF token the page sends
// back on unsafe requests. The clock is injected, so expiry and throttling are tested with a
// fake one.
//
// Threading: every method may be called from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

// Argon2id cost: OWASP's minimum recommendation (t=2 passes, m=19 MiB, p=1). One hash or
// verification takes tens of milliseconds and 19 MiB on one core.
inline constexpr uint32_t kArgon2TimeCost = 2;
inline constexpr uint32_t kArgon2MemoryKiB = 19 * 1024;
inline constexpr uint32_t kArgon2Parallelism = 1;
inline constexpr size_t kArgon2SaltBytes = 16;
inline constexpr size_t kArgon2HashBytes = 32;

// Password rules: at least 12 characters (Unicode code points), at most 1024 bytes.
inline constexpr size_t kMinPasswordChars = 12;
inline constexpr size_t kMaxPasswordBytes = 1024;
// Longest email a user may have (RFC 5321's path limit less the angle brackets).
inline constexpr size_t kMaxEmailBytes = 254;

// kInvalidArgument with a message saying which rule `password` breaks; OK otherwise.
Status CheckPasswordRules(std::string_view password);
// The Argon2id encoded string of `password` with a fresh 16-byte random salt. The rules are
// not checked here (CheckPasswordRules). kInternal when libargon2 fails.
Result<std::string> HashPassword(std::string_view password);
// Whether `password` matches the encoded Argon2id hash; false for a malformed hash too.
bool VerifyPassword(const std::string& encoded, std::string_view password);
// 32 bytes from OpenSSL's RAND_bytes as base64url without padding (43 characters). Aborts
// when the system has no entropy: nothing would be safe then.
std::string RandomToken();
// A strong random password (24 base64url characters, 144 bits) for users created without
// one.
std::string GeneratePassword();
// `email` without surrounding whitespace, ASCII letters lower-cased.
std::string NormalizeEmail(std::string_view email);

struct StaffAuthOptions {
  // A session ends after this long without a request (sliding)…
  int64_t idle_timeout_ms = 12LL * 3600 * 1000;
  // …and this long after sign-in whatever happens.
  int64_t absolute_lifetime_ms = 7LL * 24 * 3600 * 1000;
  // The sliding expiry is written at most this often per session (not on every request).
  int64_t touch_interval_ms = 60 * 1000;
  // Sign-in throttle: after `max_failures` failed attempts for one email within
  // `failure_window_ms`, attempts for that email are refused for `lockout_ms`.
  int max_failures = 5;
  int64_t failure_window_ms = 15LL * 60 * 1000;
  int64_t lockout_ms = 15LL * 60 * 1000;
};

struct NewUser {
  int64_t account_id = 0;
  std::string email;
  std::string name;
  StaffRole role = StaffRole::kViewer;
  std::string password;
};

// What `UpdateUser` changes: only the fields that are set.
struct UserUpdate {
  std::optional<std::string> name;
  std::optional<StaffRole> role;
  std::optional<std::string> password;
};

// A successful sign-in. `session_token` goes into the cookie and is nowhere else.
struct SignedIn {
  std::string session_token;
  StaffSession session;  // csrf_token, expires_at_ms, …
  User user;
  Account account;
};

// Who a valid session token belongs to.
struct StaffIdentity {
  User user;
  Account account;
  StaffSession session;  // with the expiry as slid by this request
};

class StaffAuth {
 public:
  StaffAuth(ConsentStore& store, const Clock& clock, StaffAuthOptions options = {});

  const StaffAuthOptions& options() const { return options_; }

  // Creates a user. kInvalidArgument for a malformed email or a password that breaks the
  // rules; kAlreadyExists when any account has a user with this email; kNotFound for an
  // unknown account.
  Result<User> AddUser(const NewUser& user);
  Result<std::vector<User>> ListUsers(int64_t account_id);
  Result<User> FindUser(const std::string& email);  // kNotFound
  // Changes the fields set in `update`. A new password ends every session of the user;
  // `*sessions_ended` (when given) says how many. kNotFound for an unknown email;
  // kInvalidArgument for a password that breaks the rules.
  Result<User> UpdateUser(const std::string& email, const UserUpdate& update,
                          int64_t* sessions_ended = nullptr);
  // Deletes the user and its sessions. kNotFound for an unknown email.
  Status RemoveUser(const std::string& email);

  // Checks the password and starts a session. kUnauthenticated with one message for an
  // unknown email and a wrong password (an unknown email is verified against a dummy hash,
  // so the time taken does not tell them apart either); kResourceExhausted while the email
  // is throttled (StaffAuthOptions; counted in this process's memory only).
  Result<SignedIn> SignIn(const std::string& email, const std::string& password);
  // The user, account and session of a session token, sliding the idle expiry (written at
  // most once per touch_interval_ms). kUnauthenticated for an unknown, expired or signed-out
  // token, or a user deleted since.
  Result<StaffIdentity> Authenticate(const std::string& session_token);
  // Ends the session (OK when it had ended already).
  Status SignOut(const std::string& session_token);
  // Changes the password of the token's user after checking the current one, and ends the
  // user's other sessions (this one stays). kUnauthenticated for a bad session or a wrong
  // current password; kInvalidArgument when the new password breaks the rules.
  Status ChangePassword(const std::string& session_token, const std::string& current_password,
                        const std::string& new_password);

 private:
  struct Attempts {
    std::deque<int64_t> failures;  // times of failed (and in-flight) attempts in the window
    int64_t locked_until_ms = 0;
  };
  // Counts an attempt for `email` before its password is checked, so that parallel attempts
  // cannot exceed the limit. kResourceExhausted when the email is throttled.
  Status ReserveAttempt(const std::string& email, int64_t now_ms);
  // Takes back a reserved attempt that failed through no fault of the caller (store error).
  void ReleaseAttempt(const std::string& email);
  // A reserved attempt had the wrong password: locks the email once the limit is reached.
  void AttemptFailed(const std::string& email, int64_t now_ms);
  void AttemptSucceeded(const std::string& email);
  const std::string& DummyHash();

  ConsentStore& store_;
  const Clock& clock_;
  const StaffAuthOptions options_;
  std::mutex mu_;  // guards attempts_
  std::unordered_map<std::string, Attempts> attempts_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace smsconsent
