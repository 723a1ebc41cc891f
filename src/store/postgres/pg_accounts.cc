// PgStore: accounts, staff users and their sessions, sender numbers, provider settings and
// webhook nonces.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ascii.h"
#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

namespace {

Result<SenderNumber> SelectNumber(Conn& c, int64_t account_id, int64_t number_id) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers WHERE id = "
                                   "$1 AND account_id = $2",
                                   "reading sender number", number_id, account_id));
  if (r.rows() == 0) {
    return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadNumber(r, 0);
}

Result<User> SelectUser(Conn& c, int64_t user_id) {
  SMSC_ASSIGN_OR_RETURN(
      Res r, c.Q("SELECT " SMSC_USER_COLS " FROM users WHERE id = $1", "reading user", user_id));
  if (r.rows() == 0) return UserNotFound(user_id);
  return ReadUser(r, 0);
}

}  // namespace

// ---- Accounts -----------------------------------------------------------------------------

Result<Account> PgStore::CreateAccount(const Account& account, const std::string& api_key_hash) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Account> {
    Account out = account;
    if (out.reply_sender.empty()) out.reply_sender = "log";
    // No key yet is NULL, so several key-less accounts do not collide on the unique index.
    Result<Res> r =
        c.Q("INSERT INTO accounts (name, marketing_sms_access, sms_short_code, "
            "default_region, opt_out_scope, api_key_hash, created_at_ms, "
            "reply_sender) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            "creating account", account.name, account.marketing_sms_access, account.sms_short_code,
            account.default_region, OptOutScopeName(account.opt_out_scope),
            api_key_hash.empty() ? pg::Arg{} : pg::ToArg(api_key_hash), account.created_at_ms,
            out.reply_sender);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("API key is already in use by another account");
    }
    if (!r.ok()) return r.status();
    out.id = r->Int(0, 0);
    return out;
  });
}

Result<Account> PgStore::GetAccount(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Account> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_ACCOUNT_COLS " FROM accounts WHERE id = $1",
                                     "reading account", account_id));
    if (r.rows() == 0) return AccountNotFound(account_id);
    return ReadAccount(r, 0);
  });
}

Result<Account> PgStore::FindAccountByApiKeyHash(const std::string& api_key_hash) {
  if (api_key_hash.empty()) return NotFound("no account has an empty API key");
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Account> {
    SMSC_ASSIGN_OR_RETURN(Res r,
                          c.Q("SELECT " SMSC_ACCOUNT_COLS " FROM accounts WHERE api_key_hash = $1",
                              "looking up API key", api_key_hash));
    if (r.rows() == 0) return NotFound("no account has this API key");
    return ReadAccount(r, 0);
  });
}

Result<std::vector<Account>> PgStore::ListAccounts() {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<Account>> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT " SMSC_ACCOUNT_COLS " FROM accounts ORDER BY id", "listing accounts"));
    return ReadAll<Account>(r, ReadAccount);
  });
}

// ---- Staff users and sessions -------------------------------------------------------------

Result<User> PgStore::CreateUser(const User& user) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<User> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, user.account_id));
    User out = user;
    out.email = LowerAscii(user.email);
    Result<Res> r =
        c.Q("INSERT INTO users (account_id, email, name, role, password_hash, "
            "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "RETURNING id",
            "creating user", out.account_id, out.email, out.name, StaffRoleName(out.role),
            out.password_hash, out.created_at_ms, out.updated_at_ms);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("a user with email " + out.email + " exists");
    }
    if (!r.ok()) return r.status();
    out.id = r->Int(0, 0);
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return out;
  });
}

Result<User> PgStore::GetUser(int64_t user_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) { return SelectUser(c, user_id); });
}

Result<User> PgStore::FindUserByEmail(const std::string& email) {
  const std::string lower = LowerAscii(email);
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<User> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_USER_COLS " FROM users WHERE email = $1",
                                     "finding user by email", lower));
    if (r.rows() == 0) return NotFound("no user has email " + lower);
    return ReadUser(r, 0);
  });
}

Result<std::vector<User>> PgStore::ListUsers(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<User>> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT " SMSC_USER_COLS " FROM users WHERE account_id = $1 ORDER BY id",
                   "listing users", account_id));
    return ReadAll<User>(r, ReadUser);
  });
}

Result<User> PgStore::UpdateUser(const User& user) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<User> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE users SET name = $2, role = $3, password_hash = $4, "
                                     "updated_at_ms = $5 WHERE id = $1 RETURNING " SMSC_USER_COLS,
                                     "updating user", user.id, user.name, StaffRoleName(user.role),
                                     user.password_hash, user.updated_at_ms));
    if (r.rows() == 0) return UserNotFound(user.id);
    return ReadUser(r, 0);
  });
}

Status PgStore::DeleteUser(int64_t user_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(
        c.Q("DELETE FROM sessions WHERE user_id = $1", "deleting the user's sessions", user_id)
            .status());
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("DELETE FROM users WHERE id = $1", "deleting user", user_id));
    if (r.Affected() == 0) return UserNotFound(user_id);
    return txn.Commit();
  });
}

Status PgStore::CreateSession(const StaffSession& session) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_ASSIGN_OR_RETURN(User user, SelectUser(c, session.user_id));
    if (user.account_id != session.account_id) {
      return InvalidArgument("session of user " + std::to_string(user.id) + " names account " +
                             std::to_string(session.account_id) + ", the user's is " +
                             std::to_string(user.account_id));
    }
    Result<Res> r =
        c.Q("INSERT INTO sessions (" SMSC_SESSION_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
            "creating session", session.token_hash, session.user_id, session.account_id,
            session.csrf_token, session.created_at_ms, session.expires_at_ms, session.last_seen_ms);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("a session with this token exists");
    }
    if (!r.ok()) return r.status();
    return txn.Commit();
  });
}

Result<StaffSession> PgStore::FindSession(const std::string& token_hash) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<StaffSession> {
    SMSC_ASSIGN_OR_RETURN(Res r,
                          c.Q("SELECT " SMSC_SESSION_COLS " FROM sessions WHERE token_hash = $1",
                              "finding session", token_hash));
    if (r.rows() == 0) return NotFound("no such session");
    return ReadSession(r, 0);
  });
}

Status PgStore::TouchSession(const std::string& token_hash, int64_t last_seen_ms,
                             int64_t expires_at_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE sessions SET last_seen_ms = $2, expires_at_ms = $3 "
                                     "WHERE token_hash = $1",
                                     "touching session", token_hash, last_seen_ms, expires_at_ms));
    if (r.Affected() == 0) return NotFound("no such session");
    return Status::Ok();
  });
}

Status PgStore::DeleteSession(const std::string& token_hash) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("DELETE FROM sessions WHERE token_hash = $1", "deleting session", token_hash));
    if (r.Affected() == 0) return NotFound("no such session");
    return Status::Ok();
  });
}

Result<int64_t> PgStore::DeleteUserSessions(int64_t user_id, const std::string& keep_token_hash) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("DELETE FROM sessions WHERE user_id = $1 AND "
                                     "token_hash <> $2",
                                     "deleting the user's sessions", user_id, keep_token_hash));
    return r.Affected();
  });
}

Result<int64_t> PgStore::PurgeExpiredSessions(int64_t now_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("DELETE FROM sessions WHERE expires_at_ms <= $1",
                                     "purging expired sessions", now_ms));
    return r.Affected();
  });
}

// ---- Sender numbers -----------------------------------------------------------------------

Result<SenderNumber> PgStore::AddNumber(const SenderNumber& number) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<SenderNumber> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, number.account_id));
    Result<Res> r =
        c.Q("INSERT INTO sender_numbers (account_id, kind, number, country, "
            "business_name, keywords_json, reply_opt_in, reply_opt_out, reply_help, "
            "opt_in_confirmation, created_at_ms, quiet_hours, opt_out_notice, double_opt_in, "
            "reply_confirmation_request, rate_mmps, frequency_cap) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
            "adding sender number", number.account_id, NumberKindName(number.kind), number.number,
            number.country, number.business_name, KeywordsToJson(number.keywords),
            number.replies.opt_in, number.replies.opt_out, number.replies.help,
            number.opt_in_confirmation, number.created_at_ms,
            QuietHoursPolicyToJson(number.quiet_hours), OptOutNoticeToJson(number.opt_out_notice),
            number.double_opt_in, number.replies.confirmation_request, number.rate_mmps,
            FrequencyCapToJson(number.frequency_cap));
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists(NumberTaken(number));
    }
    if (!r.ok()) return r.status();
    SenderNumber out = number;
    out.id = r->Int(0, 0);
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return out;
  });
}

Result<SenderNumber> PgStore::UpdateNumber(const SenderNumber& number) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<SenderNumber> {
    // created_at_ms is when the number was registered; an update does not move it.
    Result<Res> r = c.Q(
        "UPDATE sender_numbers SET kind = $3, number = $4, country = $5, "
        "business_name = $6, keywords_json = $7, reply_opt_in = $8, "
        "reply_opt_out = $9, reply_help = $10, opt_in_confirmation = $11, quiet_hours = $12, "
        "opt_out_notice = $13, double_opt_in = $14, reply_confirmation_request = $15, rate_mmps = "
        "$16, frequency_cap = $17 WHERE id = $1 AND account_id = $2 RETURNING " SMSC_NUMBER_COLS,
        "updating sender number", number.id, number.account_id, NumberKindName(number.kind),
        number.number, number.country, number.business_name, KeywordsToJson(number.keywords),
        number.replies.opt_in, number.replies.opt_out, number.replies.help,
        number.opt_in_confirmation, QuietHoursPolicyToJson(number.quiet_hours),
        OptOutNoticeToJson(number.opt_out_notice), number.double_opt_in,
        number.replies.confirmation_request, number.rate_mmps,
        FrequencyCapToJson(number.frequency_cap));
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists(NumberTaken(number));
    }
    if (!r.ok()) return r.status();
    if (r->rows() == 0) {
      return NotFound("sender number " + std::to_string(number.id) + " not found in account " +
                      std::to_string(number.account_id));
    }
    return ReadNumber(*r, 0);
  });
}

Result<SenderNumber> PgStore::GetNumber(int64_t account_id, int64_t number_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) { return SelectNumber(c, account_id, number_id); });
}

Result<std::vector<SenderNumber>> PgStore::ListNumbers(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<SenderNumber>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers WHERE "
                                     "account_id = $1 ORDER BY id",
                                     "listing sender numbers", account_id));
    return ReadAll<SenderNumber>(r, ReadNumber);
  });
}

Result<std::vector<SenderNumber>> PgStore::FindNumbers(const std::string& number) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<SenderNumber>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers WHERE "
                                     "number = $1 ORDER BY id",
                                     "finding sender numbers", number));
    return ReadAll<SenderNumber>(r, ReadNumber);
  });
}

// ---- Provider settings --------------------------------------------------------------------

Status PgStore::PutProviderConfig(const ProviderConfig& config) {
  if (config.provider.empty()) return InvalidArgument("provider name is empty");
  try {
    if (!nlohmann::json::parse(config.settings).is_object()) {
      return InvalidArgument(config.provider + " settings are not a JSON object");
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(config.provider + " settings are not valid JSON: " + e.what());
  }
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, config.account_id));
    SMSC_RETURN_IF_ERROR(c.Q("INSERT INTO provider_configs (account_id, provider, settings, "
                             "updated_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, "
                             "provider) DO UPDATE SET settings = excluded.settings, "
                             "updated_at_ms = excluded.updated_at_ms",
                             "storing " + config.provider + " settings", config.account_id,
                             config.provider, config.settings, config.updated_at_ms)
                             .status());
    return txn.Commit();
  });
}

Result<std::vector<ProviderConfig>> PgStore::ListProviderConfigs(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<ProviderConfig>> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT account_id, provider, settings, updated_at_ms FROM "
                                     "provider_configs WHERE account_id = $1 ORDER BY provider "
                                     "COLLATE \"C\"",
                                     "listing provider settings", account_id));
    std::vector<ProviderConfig> out;
    for (int i = 0; i < r.rows(); ++i) {
      ProviderConfig pc;
      pc.account_id = r.Int(i, 0);
      pc.provider = r.Text(i, 1);
      pc.settings = r.Text(i, 2);
      pc.updated_at_ms = r.Int(i, 3);
      out.push_back(std::move(pc));
    }
    return out;
  });
}

Status PgStore::SetReplySender(int64_t account_id, const std::string& sender) {
  if (sender.empty()) return InvalidArgument("reply sender name is empty");
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE accounts SET reply_sender = $2 WHERE id = $1",
                                     "setting reply sender", account_id, sender));
    if (r.Affected() == 0) return AccountNotFound(account_id);
    return Status::Ok();
  });
}

Status PgStore::SetAccountQuietHours(int64_t account_id, const QuietHoursPolicy& policy) {
  if (policy.kind == QuietHoursPolicy::Kind::kAccount) {
    return InvalidArgument("an account's quiet hours cannot be \"account\"");
  }
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE accounts SET quiet_hours = $2 WHERE id = $1",
                                     "setting the account's quiet hours", account_id,
                                     QuietHoursPolicyToJson(policy)));
    if (r.Affected() == 0) return AccountNotFound(account_id);
    return Status::Ok();
  });
}

// ---- Webhook nonces ------------------------------------------------------------------------

Status PgStore::UseWebhookNonce(const WebhookNonce& nonce, int64_t now_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(c.Q("DELETE FROM webhook_nonces WHERE expires_at_ms <= $1",
                             "forgetting expired webhook nonces", now_ms)
                             .status());
    // A concurrent insert of the same key makes this one wait for it and then do nothing; the
    // SELECT (a statement of its own, so a snapshot of its own) then sees the row it committed.
    Result<Res> inserted =
        c.Q("INSERT INTO webhook_nonces (account_id, provider, nonce, request_hash, "
            "expires_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            "using a webhook nonce", nonce.account_id, nonce.provider, nonce.nonce,
            nonce.request_hash, nonce.expires_at_ms);
    if (!inserted.ok() && c.last_sqlstate() == pg::kForeignKeyViolation) {
      return AccountNotFound(nonce.account_id);
    }
    if (!inserted.ok()) return inserted.status();
    if (inserted->Affected() == 0) {
      SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT request_hash FROM webhook_nonces WHERE "
                                       "account_id = $1 AND provider = $2 AND nonce = $3",
                                       "reading a used webhook nonce", nonce.account_id,
                                       nonce.provider, nonce.nonce));
      if (r.rows() > 0 && r.Text(0, 0) != nonce.request_hash) {
        return AlreadyExists("nonce already used for another request");
      }
    }
    return txn.Commit();
  });
}
}  // namespace smsconsent
