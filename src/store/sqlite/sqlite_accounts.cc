// SqliteStore's accounts, staff users and sessions, sender numbers, provider settings and
// webhook nonces.
#include <sqlite3.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

namespace smsconsent {

using namespace sqlite_detail;

// ---- Accounts -----------------------------------------------------------------------------

Result<Account> SqliteStore::CreateAccount(const Account& account,
                                           const std::string& api_key_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("INSERT INTO accounts (name, marketing_sms_access, "
                             "sms_short_code, default_region, opt_out_scope, "
                             "api_key_hash, created_at_ms, reply_sender) VALUES (?1, ?2, ?3, "
                             "?4, ?5, ?6, ?7, ?8)"));
  s.Bind(1, account.name)
      .BindBool(2, account.marketing_sms_access)
      .BindBool(3, account.sms_short_code)
      .Bind(4, account.default_region)
      .Bind(5, OptOutScopeName(account.opt_out_scope))
      .Bind(7, account.created_at_ms)
      .Bind(8, account.reply_sender.empty() ? std::string("log") : account.reply_sender);
  // No key yet is NULL, so several key-less accounts do not collide on the unique index.
  if (!api_key_hash.empty()) s.Bind(6, api_key_hash);
  int rc = SQLITE_OK;
  Status st = s.Run("creating account", &rc);
  if (IsUniqueViolation(rc)) return AlreadyExists("API key is already in use by another account");
  SMSC_RETURN_IF_ERROR(st);
  Account out = account;
  out.id = sqlite3_last_insert_rowid(impl_->db.get());
  if (out.reply_sender.empty()) out.reply_sender = "log";
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<Account> SqliteStore::GetAccount(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_ACCOUNT_COLS " FROM accounts WHERE id = ?1"));
  s.Bind(1, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading account"));
  if (!row) return NotFound("account " + std::to_string(account_id) + " not found");
  return ReadAccount(s);
}

Result<Account> SqliteStore::FindAccountByApiKeyHash(const std::string& api_key_hash) {
  ReadLease reader = impl_->Read(mu_);
  if (api_key_hash.empty()) return NotFound("no account has an empty API key");
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_ACCOUNT_COLS
                                                " FROM accounts WHERE api_key_hash = ?1"));
  s.Bind(1, api_key_hash);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up API key"));
  if (!row) return NotFound("no account has this API key");
  return ReadAccount(s);
}

Result<std::vector<Account>> SqliteStore::ListAccounts() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT " SMSC_ACCOUNT_COLS " FROM accounts ORDER BY id"));
  std::vector<Account> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing accounts"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(Account a, ReadAccount(s));
    out.push_back(std::move(a));
  }
  return out;
}

// ---- Staff users and sessions -------------------------------------------------------------

namespace {

Result<User> SelectUser(Connection& c, int64_t user_id) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT " SMSC_USER_COLS " FROM users WHERE id = ?1"));
  s.Bind(1, user_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading user"));
  if (!row) return UserNotFound(user_id);
  return ReadUser(s);
}

}  // namespace

Result<User> SqliteStore::CreateUser(const User& user) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(user.account_id));
  User out = user;
  out.email = LowerAscii(user.email);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("INSERT INTO users (account_id, email, name, role, password_hash, "
                             "created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, out.account_id)
      .Bind(2, out.email)
      .Bind(3, out.name)
      .Bind(4, StaffRoleName(out.role))
      .Bind(5, out.password_hash)
      .Bind(6, out.created_at_ms)
      .Bind(7, out.updated_at_ms);
  int rc = SQLITE_OK;
  Status st = s.Run("creating user", &rc);
  if (IsUniqueViolation(rc)) return AlreadyExists("a user with email " + out.email + " exists");
  SMSC_RETURN_IF_ERROR(st);
  out.id = sqlite3_last_insert_rowid(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<User> SqliteStore::GetUser(int64_t user_id) {
  ReadLease reader = impl_->Read(mu_);
  return SelectUser(*reader.get(), user_id);
}

Result<User> SqliteStore::FindUserByEmail(const std::string& email) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT " SMSC_USER_COLS " FROM users WHERE email = ?1"));
  s.Bind(1, LowerAscii(email));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding user by email"));
  if (!row) return NotFound("no user has email " + LowerAscii(email));
  return ReadUser(s);
}

Result<std::vector<User>> SqliteStore::ListUsers(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_USER_COLS
                                                " FROM users WHERE account_id = ?1 ORDER BY id"));
  s.Bind(1, account_id);
  std::vector<User> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing users"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(User u, ReadUser(s));
    out.push_back(std::move(u));
  }
  return out;
}

Result<User> SqliteStore::UpdateUser(const User& user) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("UPDATE users SET name = ?2, role = ?3, password_hash = ?4, "
                               "updated_at_ms = ?5 WHERE id = ?1"));
    s.Bind(1, user.id)
        .Bind(2, user.name)
        .Bind(3, StaffRoleName(user.role))
        .Bind(4, user.password_hash)
        .Bind(5, user.updated_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("updating user"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) return UserNotFound(user.id);
  SMSC_ASSIGN_OR_RETURN(User out, SelectUser(*impl_, user.id));
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Status SqliteStore::DeleteUser(int64_t user_id) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("DELETE FROM sessions WHERE user_id = ?1"));
    s.Bind(1, user_id);
    SMSC_RETURN_IF_ERROR(s.Run("deleting the user's sessions"));
  }
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("DELETE FROM users WHERE id = ?1"));
    s.Bind(1, user_id);
    SMSC_RETURN_IF_ERROR(s.Run("deleting user"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) return UserNotFound(user_id);
  return txn.Commit();
}

Status SqliteStore::CreateSession(const StaffSession& session) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_ASSIGN_OR_RETURN(User user, SelectUser(*impl_, session.user_id));
  if (user.account_id != session.account_id) {
    return InvalidArgument("session of user " + std::to_string(user.id) + " names account " +
                           std::to_string(session.account_id) + ", the user's is " +
                           std::to_string(user.account_id));
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("INSERT INTO sessions (" SMSC_SESSION_COLS
                                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, session.token_hash)
      .Bind(2, session.user_id)
      .Bind(3, session.account_id)
      .Bind(4, session.csrf_token)
      .Bind(5, session.created_at_ms)
      .Bind(6, session.expires_at_ms)
      .Bind(7, session.last_seen_ms);
  int rc = SQLITE_OK;
  Status st = s.Run("creating session", &rc);
  if (IsUniqueViolation(rc)) return AlreadyExists("a session with this token exists");
  SMSC_RETURN_IF_ERROR(st);
  return txn.Commit();
}

Result<StaffSession> SqliteStore::FindSession(const std::string& token_hash) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_SESSION_COLS " FROM sessions WHERE token_hash = ?1"));
  s.Bind(1, token_hash);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding session"));
  if (!row) return NotFound("no such session");
  return ReadSession(s);
}

Status SqliteStore::TouchSession(const std::string& token_hash, int64_t last_seen_ms,
                                 int64_t expires_at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE sessions SET last_seen_ms = ?2, "
                                                 "expires_at_ms = ?3 WHERE token_hash = ?1"));
    s.Bind(1, token_hash).Bind(2, last_seen_ms).Bind(3, expires_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("touching session"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) return NotFound("no such session");
  return txn.Commit();
}

Status SqliteStore::DeleteSession(const std::string& token_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("DELETE FROM sessions WHERE token_hash = ?1"));
    s.Bind(1, token_hash);
    SMSC_RETURN_IF_ERROR(s.Run("deleting session"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) return NotFound("no such session");
  return txn.Commit();
}

Result<int64_t> SqliteStore::DeleteUserSessions(int64_t user_id,
                                                const std::string& keep_token_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("DELETE FROM sessions WHERE user_id = ?1 AND "
                                                 "token_hash <> ?2"));
    s.Bind(1, user_id).Bind(2, keep_token_hash);
    SMSC_RETURN_IF_ERROR(s.Run("deleting the user's sessions"));
  }
  const int64_t n = sqlite3_changes(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return n;
}

Result<int64_t> SqliteStore::PurgeExpiredSessions(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("DELETE FROM sessions WHERE expires_at_ms <= ?1"));
    s.Bind(1, now_ms);
    SMSC_RETURN_IF_ERROR(s.Run("purging expired sessions"));
  }
  const int64_t n = sqlite3_changes(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return n;
}

// ---- Sender numbers -----------------------------------------------------------------------

namespace sqlite_detail {

Result<SenderNumber> Connection::SelectNumber(int64_t account_id, int64_t number_id) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers "
                                        "WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, number_id).Bind(2, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading sender number"));
  if (!row) {
    return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadNumber(s);
}

}  // namespace sqlite_detail

Result<SenderNumber> SqliteStore::AddNumber(const SenderNumber& number) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(number.account_id));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("INSERT INTO sender_numbers (account_id, kind, number, country, "
                             "business_name, keywords_json, reply_opt_in, reply_opt_out, "
                             "reply_help, opt_in_confirmation, created_at_ms, quiet_hours, "
                             "opt_out_notice, double_opt_in, reply_confirmation_request, "
                             "rate_mmps, frequency_cap) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"));
  s.Bind(1, number.account_id)
      .Bind(2, NumberKindName(number.kind))
      .Bind(3, number.number)
      .Bind(4, number.country)
      .Bind(5, number.business_name)
      .Bind(6, KeywordsToJson(number.keywords))
      .Bind(7, number.replies.opt_in)
      .Bind(8, number.replies.opt_out)
      .Bind(9, number.replies.help)
      .BindBool(10, number.opt_in_confirmation)
      .Bind(11, number.created_at_ms)
      .Bind(12, QuietHoursPolicyToJson(number.quiet_hours))
      .Bind(13, OptOutNoticeToJson(number.opt_out_notice))
      .BindBool(14, number.double_opt_in)
      .Bind(15, number.replies.confirmation_request)
      .Bind(16, number.rate_mmps)
      .Bind(17, FrequencyCapToJson(number.frequency_cap));
  int rc = SQLITE_OK;
  Status st = s.Run("adding sender number", &rc);
  if (IsUniqueViolation(rc)) return AlreadyExists(NumberTaken(number));
  SMSC_RETURN_IF_ERROR(st);
  SenderNumber out = number;
  out.id = sqlite3_last_insert_rowid(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<SenderNumber> SqliteStore::UpdateNumber(const SenderNumber& number) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  // created_at_ms is when the number was registered; an update does not move it.
  SMSC_ASSIGN_OR_RETURN(
      Stmt s,
      impl_->Prepare("UPDATE sender_numbers SET kind = ?3, number = ?4, country = ?5, "
                     "business_name = ?6, keywords_json = ?7, reply_opt_in = ?8, "
                     "reply_opt_out = ?9, reply_help = ?10, opt_in_confirmation = ?11, "
                     "quiet_hours = ?12, opt_out_notice = ?13, double_opt_in = ?14, "
                     "reply_confirmation_request = ?15, rate_mmps = ?16, frequency_cap = ?17 "
                     "WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, number.id)
      .Bind(2, number.account_id)
      .Bind(3, NumberKindName(number.kind))
      .Bind(4, number.number)
      .Bind(5, number.country)
      .Bind(6, number.business_name)
      .Bind(7, KeywordsToJson(number.keywords))
      .Bind(8, number.replies.opt_in)
      .Bind(9, number.replies.opt_out)
      .Bind(10, number.replies.help)
      .BindBool(11, number.opt_in_confirmation)
      .Bind(12, QuietHoursPolicyToJson(number.quiet_hours))
      .Bind(13, OptOutNoticeToJson(number.opt_out_notice))
      .BindBool(14, number.double_opt_in)
      .Bind(15, number.replies.confirmation_request)
      .Bind(16, number.rate_mmps)
      .Bind(17, FrequencyCapToJson(number.frequency_cap));
  int rc = SQLITE_OK;
  Status st = s.Run("updating sender number", &rc);
  if (IsUniqueViolation(rc)) return AlreadyExists(NumberTaken(number));
  SMSC_RETURN_IF_ERROR(st);
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("sender number " + std::to_string(number.id) + " not found in account " +
                    std::to_string(number.account_id));
  }
  SMSC_ASSIGN_OR_RETURN(SenderNumber out, impl_->SelectNumber(number.account_id, number.id));
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<SenderNumber> SqliteStore::GetNumber(int64_t account_id, int64_t number_id) {
  ReadLease reader = impl_->Read(mu_);
  return reader->SelectNumber(account_id, number_id);
}

Result<std::vector<SenderNumber>> SqliteStore::ListNumbers(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_NUMBER_COLS
                                                " FROM sender_numbers WHERE account_id = ?1 "
                                                "ORDER BY id"));
  s.Bind(1, account_id);
  std::vector<SenderNumber> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing sender numbers"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(SenderNumber n, ReadNumber(s));
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<SenderNumber>> SqliteStore::FindNumbers(const std::string& number) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers WHERE number = ?1 "
                              "ORDER BY id"));
  s.Bind(1, number);
  std::vector<SenderNumber> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding sender numbers"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(SenderNumber n, ReadNumber(s));
    out.push_back(std::move(n));
  }
  return out;
}

// ---- Provider settings --------------------------------------------------------------------

Status SqliteStore::PutProviderConfig(const ProviderConfig& config) {
  if (config.provider.empty()) return InvalidArgument("provider name is empty");
  try {
    if (!nlohmann::json::parse(config.settings).is_object()) {
      return InvalidArgument(config.provider + " settings are not a JSON object");
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(config.provider + " settings are not valid JSON: " + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(config.account_id));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT INTO provider_configs (account_id, provider, settings, "
                               "updated_at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, "
                               "provider) DO UPDATE SET settings = excluded.settings, "
                               "updated_at_ms = excluded.updated_at_ms"));
    s.Bind(1, config.account_id)
        .Bind(2, config.provider)
        .Bind(3, config.settings)
        .Bind(4, config.updated_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("storing " + config.provider + " settings"));
  }
  return txn.Commit();
}

Result<std::vector<ProviderConfig>> SqliteStore::ListProviderConfigs(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT account_id, provider, settings, updated_at_ms FROM "
                              "provider_configs WHERE account_id = ?1 ORDER BY provider"));
  s.Bind(1, account_id);
  std::vector<ProviderConfig> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing provider settings"));
    if (!row) break;
    ProviderConfig c;
    c.account_id = s.Int(0);
    c.provider = s.Text(1);
    c.settings = s.Text(2);
    c.updated_at_ms = s.Int(3);
    out.push_back(std::move(c));
  }
  return out;
}

Status SqliteStore::SetReplySender(int64_t account_id, const std::string& sender) {
  if (sender.empty()) return InvalidArgument("reply sender name is empty");
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("UPDATE accounts SET reply_sender = ?2 WHERE id = ?1"));
    s.Bind(1, account_id).Bind(2, sender);
    SMSC_RETURN_IF_ERROR(s.Run("setting reply sender"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("account " + std::to_string(account_id) + " not found");
  }
  return txn.Commit();
}

Status SqliteStore::SetAccountQuietHours(int64_t account_id, const QuietHoursPolicy& policy) {
  if (policy.kind == QuietHoursPolicy::Kind::kAccount) {
    return InvalidArgument("an account's quiet hours cannot be \"account\"");
  }
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("UPDATE accounts SET quiet_hours = ?2 WHERE id = ?1"));
    s.Bind(1, account_id).Bind(2, QuietHoursPolicyToJson(policy));
    SMSC_RETURN_IF_ERROR(s.Run("setting the account's quiet hours"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("account " + std::to_string(account_id) + " not found");
  }
  return txn.Commit();
}

// ---- Webhook nonces ------------------------------------------------------------------------

Status SqliteStore::UseWebhookNonce(const WebhookNonce& nonce, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("DELETE FROM webhook_nonces WHERE expires_at_ms <= ?1"));
    s.Bind(1, now_ms);
    SMSC_RETURN_IF_ERROR(s.Run("forgetting expired webhook nonces"));
  }
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(nonce.account_id));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT OR IGNORE INTO webhook_nonces (account_id, provider, nonce, "
                               "request_hash, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    s.Bind(1, nonce.account_id)
        .Bind(2, nonce.provider)
        .Bind(3, nonce.nonce)
        .Bind(4, nonce.request_hash)
        .Bind(5, nonce.expires_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("using a webhook nonce"));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("SELECT request_hash FROM webhook_nonces WHERE "
                                         "account_id = ?1 AND provider = ?2 AND nonce = ?3"));
    s.Bind(1, nonce.account_id).Bind(2, nonce.provider).Bind(3, nonce.nonce);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading a used webhook nonce"));
    if (row && s.Text(0) != nonce.request_hash) {
      return AlreadyExists("nonce already used for another request");
    }
  }
  return txn.Commit();
}

}  // namespace smsconsent
