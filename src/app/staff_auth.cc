#include "app/staff_auth.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/ascii.h"
#include "core/ledger.h"        // Sha256Hex
#include "providers/webhook.h"  // Base64UrlEncode

namespace smsconsent {
namespace {

// The one message for an unknown email and a wrong password.
constexpr char kBadCredentials[] = "wrong email or password";
constexpr char kNoSession[] = "not signed in, or the session has expired: sign in again";

// Above this many tracked emails, entries with nothing left to remember are dropped.
constexpr size_t kAttemptsSweepAt = 10000;

Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }

void RandomBytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();  // no entropy: nothing is safe
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status CheckEmail(const std::string& email) {
  const size_t at = email.find('@');
  if (email.empty() || at == 0 || at == std::string::npos || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string::npos) {
    return InvalidArgument("'" + email + "' is not an email address (expected name@domain)");
  }
  if (email.size() > kMaxEmailBytes) {
    return InvalidArgument("email must be at most " + std::to_string(kMaxEmailBytes) + " bytes");
  }
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return InvalidArgument("email must not contain spaces or control characters");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckPasswordRules(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgument("password must be at most " + std::to_string(kMaxPasswordBytes) +
                           " bytes long");
  }
  const size_t chars = CodePoints(password);
  if (chars < kMinPasswordChars) {
    return InvalidArgument("password must be at least " + std::to_string(kMinPasswordChars) +
                           " characters long (it has " + std::to_string(chars) + ")");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  unsigned char salt[kArgon2SaltBytes];
  RandomBytes(salt, sizeof salt);
  std::string encoded(argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Parallelism,
                                        sizeof salt, kArgon2HashBytes, Argon2_id) +
                          1,
                      '\0');
  const int rc = argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Parallelism,
                                       password.data(), password.size(), salt, sizeof salt,
                                       kArgon2HashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return Internal(std::string("hashing the password failed: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(const std::string& encoded, std::string_view password) {
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string RandomToken() {
  unsigned char bytes[32];
  RandomBytes(bytes, sizeof bytes);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string GeneratePassword() {
  unsigned char bytes[18];
  RandomBytes(bytes, sizeof bytes);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string NormalizeEmail(std::string_view email) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t first = email.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  email = email.substr(first, email.find_last_not_of(kSpace) - first + 1);
  return LowerAscii(email);
}

StaffAuth::StaffAuth(ConsentStore& store, const Clock& clock, StaffAuthOptions options)
    : store_(store), clock_(clock), options_(options) {}

const std::string& StaffAuth::DummyHash() {
  std::call_once(dummy_once_, [this] {
    auto hash = HashPassword(RandomToken());
    // A failure here shows on every sign-in anyway; an unknown email then only verifies
    // against an empty (malformed) hash, which is faster but still refuses.
    if (hash.ok()) dummy_hash_ = std::move(hash).value();
  });
  return dummy_hash_;
}

// ---- users --------------------------------------------------------------------------------

Result<User> StaffAuth::AddUser(const NewUser& req) {
  User u;
  u.account_id = req.account_id;
  u.email = NormalizeEmail(req.email);
  SMSC_RETURN_IF_ERROR(CheckEmail(u.email));
  SMSC_RETURN_IF_ERROR(CheckPasswordRules(req.password));
  u.name = req.name;
  u.role = req.role;
  SMSC_ASSIGN_OR_RETURN(u.password_hash, HashPassword(req.password));
  u.created_at_ms = u.updated_at_ms = clock_.NowMs();
  return store_.CreateUser(u);
}

Result<std::vector<User>> StaffAuth::ListUsers(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  return store_.ListUsers(account.id);
}

Result<User> StaffAuth::FindUser(const std::string& email) {
  return store_.FindUserByEmail(NormalizeEmail(email));
}

Result<User> StaffAuth::UpdateUser(const std::string& email, const UserUpdate& update,
                                   int64_t* sessions_ended) {
  if (sessions_ended) *sessions_ended = 0;
  SMSC_ASSIGN_OR_RETURN(User u, FindUser(email));
  if (update.name) u.name = *update.name;
  if (update.role) u.role = *update.role;
  if (update.password) {
    SMSC_RETURN_IF_ERROR(CheckPasswordRules(*update.password));
    SMSC_ASSIGN_OR_RETURN(u.password_hash, HashPassword(*update.password));
  }
  u.updated_at_ms = clock_.NowMs();
  SMSC_ASSIGN_OR_RETURN(User out, store_.UpdateUser(u));
  if (update.password) {
    // Whoever knew the old password may be signed in somewhere: those sessions end.
    SMSC_ASSIGN_OR_RETURN(int64_t ended, store_.DeleteUserSessions(u.id, ""));
    if (sessions_ended) *sessions_ended = ended;
  }
  return out;
}

Status StaffAuth::RemoveUser(const std::string& email) {
  SMSC_ASSIGN_OR_RETURN(User u, FindUser(email));
  return store_.DeleteUser(u.id);
}

// ---- the throttle -------------------------------------------------------------------------

Status StaffAuth::ReserveAttempt(const std::string& email, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attempts_.size() >= kAttemptsSweepAt) {
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      const Attempts& a = it->second;
      const bool stale =
          a.locked_until_ms <= now_ms &&
          (a.failures.empty() || a.failures.back() < now_ms - options_.failure_window_ms);
      it = stale ? attempts_.erase(it) : std::next(it);
    }
  }
  Attempts& a = attempts_[email];
  while (!a.failures.empty() && a.failures.front() <= now_ms - options_.failure_window_ms) {
    a.failures.pop_front();
  }
  // The second test catches attempts still in flight when the limit is reached.
  if (a.locked_until_ms > now_ms ||
      a.failures.size() >= static_cast<size_t>(options_.max_failures)) {
    const int64_t wait_ms = std::max<int64_t>(a.locked_until_ms - now_ms, 0);
    const int64_t minutes = std::max<int64_t>((wait_ms + 59'999) / 60'000, 1);
    return Status(StatusCode::kResourceExhausted,
                  "too many failed sign-ins for this email: try again in " +
                      std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes"));
  }
  a.failures.push_back(now_ms);
  return Status::Ok();
}

void StaffAuth::ReleaseAttempt(const std::string& email) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attempts_.find(email);
  if (it != attempts_.end() && !it->second.failures.empty()) it->second.failures.pop_back();
}

void StaffAuth::AttemptFailed(const std::string& email, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Attempts& a = attempts_[email];
  if (a.failures.size() >= static_cast<size_t>(options_.max_failures)) {
    a.locked_until_ms = now_ms + options_.lockout_ms;
    a.failures.clear();
  }
}

void StaffAuth::AttemptSucceeded(const std::string& email) {
  std::lock_guard<std::mutex> lock(mu_);
  attempts_.erase(email);
}

// ---- sessions -----------------------------------------------------------------------------

Result<SignedIn> StaffAuth::SignIn(const std::string& email_in, const std::string& password) {
  const std::string email = NormalizeEmail(email_in);
  // No user can have such an email; refusing it here also bounds the throttle's keys.
  if (email.empty() || email.size() > kMaxEmailBytes) return Unauthenticated(kBadCredentials);
  const int64_t started_ms = clock_.NowMs();
  SMSC_RETURN_IF_ERROR(ReserveAttempt(email, started_ms));
  auto failed = [&]() -> Status {
    AttemptFailed(email, clock_.NowMs());
    return Unauthenticated(kBadCredentials);
  };
  if (password.size() > kMaxPasswordBytes) return failed();
  auto user = store_.FindUserByEmail(email);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::kNotFound) {
      ReleaseAttempt(email);  // not the caller's fault: do not count it
      return user.status();
    }
    (void)VerifyPassword(DummyHash(), password);  // same work as for a real user
    return failed();
  }
  if (!VerifyPassword(user->password_hash, password)) return failed();
  AttemptSucceeded(email);
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(user->account_id));

  const int64_t now_ms = clock_.NowMs();
  // Sessions that ended without a sign-out would otherwise stay forever; a sign-in is rare
  // enough to carry the sweep. Failing it changes nothing for this sign-in.
  (void)store_.PurgeExpiredSessions(now_ms);
  SignedIn out;
  out.session_token = RandomToken();
  out.session.token_hash = Sha256Hex(out.session_token);
  out.session.user_id = user->id;
  out.session.account_id = user->account_id;
  out.session.csrf_token = RandomToken();
  out.session.created_at_ms = now_ms;
  out.session.last_seen_ms = now_ms;
  out.session.expires_at_ms =
      now_ms + std::min(options_.idle_timeout_ms, options_.absolute_lifetime_ms);
  SMSC_RETURN_IF_ERROR(store_.CreateSession(out.session));
  out.user = std::move(user).value();
  out.account = std::move(account);
  return out;
}

Result<StaffIdentity> StaffAuth::Authenticate(const std::string& token) {
  // Tokens are 43 characters; anything much longer is not one of ours.
  if (token.empty() || token.size() > 256) return Unauthenticated(kNoSession);
  const std::string hash = Sha256Hex(token);
  auto session = store_.FindSession(hash);
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) return Unauthenticated(kNoSession);
    return session.status();
  }
  const int64_t now_ms = clock_.NowMs();
  if (now_ms >= session->expires_at_ms) {
    (void)store_.DeleteSession(hash);  // PurgeExpiredSessions would get it later anyway
    return Unauthenticated(kNoSession);
  }
  auto user = store_.GetUser(session->user_id);
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kNotFound) return Unauthenticated(kNoSession);
    return user.status();
  }
  auto account = store_.GetAccount(user->account_id);
  if (!account.ok()) {
    if (account.status().code() == StatusCode::kNotFound) return Unauthenticated(kNoSession);
    return account.status();
  }
  if (now_ms - session->last_seen_ms >= options_.touch_interval_ms) {
    const int64_t expires_ms = std::min(now_ms + options_.idle_timeout_ms,
                                        session->created_at_ms + options_.absolute_lifetime_ms);
    Status touched = store_.TouchSession(hash, now_ms, expires_ms);
    if (touched.code() == StatusCode::kNotFound) return Unauthenticated(kNoSession);
    // Any other failure (a busy store) keeps the old expiry; this request may still proceed.
    if (touched.ok()) {
      session->last_seen_ms = now_ms;
      session->expires_at_ms = expires_ms;
    }
  }
  StaffIdentity out;
  out.user = std::move(user).value();
  out.account = std::move(account).value();
  out.session = std::move(session).value();
  return out;
}

Status StaffAuth::SignOut(const std::string& token) {
  Status st = store_.DeleteSession(Sha256Hex(token));
  if (st.code() == StatusCode::kNotFound) return Status::Ok();
  return st;
}

Status StaffAuth::ChangePassword(const std::string& token, const std::string& current_password,
                                 const std::string& new_password) {
  SMSC_ASSIGN_OR_RETURN(StaffIdentity who, Authenticate(token));
  if (current_password.size() > kMaxPasswordBytes ||
      !VerifyPassword(who.user.password_hash, current_password)) {
    return Unauthenticated("the current password is wrong");
  }
  SMSC_RETURN_IF_ERROR(CheckPasswordRules(new_password));
  User u = who.user;
  SMSC_ASSIGN_OR_RETURN(u.password_hash, HashPassword(new_password));
  u.updated_at_ms = clock_.NowMs();
  SMSC_ASSIGN_OR_RETURN(User updated, store_.UpdateUser(u));
  return store_.DeleteUserSessions(updated.id, who.session.token_hash).status();
}

}  // namespace smsconsent
