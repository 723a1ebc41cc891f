#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/ascii.h"
#include "store/sqlite/state_cache.h"
#include "store/store_columns.h"
#include "store/store_rows.h"

namespace smsconsent {
namespace {

using namespace store_rows;  // the helpers both backends share

// ---- Error mapping ----------------------------------------------------------------------

Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

// Turns a SQLite result code into a Status whose message says what we were doing. Unique
// violations are kAlreadyExists only here, as a fallback: callers that know what a constraint
// means check for it themselves and word the message.
Status SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg +=
      db != nullptr && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite ";
  msg += std::to_string(rc);
  msg += ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      // Another process holds the write lock longer than the busy timeout; retrying later
      // can succeed.
      return Unavailable(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Unavailable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(msg));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists(std::move(msg));
      }
      return Internal(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

bool IsUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

// ---- RAII and the statement cache -------------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A borrowed, cached prepared statement. Binding indexes are 1-based as in SQL ("?1");
// column indexes are 0-based as in sqlite3_column_*. Resets and clears bindings on scope exit
// so that the cached statement is ready for its next use and holds no read snapshot.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  // Binds without copying: `v` must outlive this Stmt (which resets the statement when it
  // goes). For the hot inserts, whose strings belong to the caller's change set or are the
  // enum names of core/consent.h (string literals).
  Stmt& BindRef(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& BindBool(int i, bool v) { return Bind(i, int64_t{v ? 1 : 0}); }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  // 0 means "none" for optional references; stored as NULL so that foreign keys hold.
  Stmt& BindIdOrNull(int i, int64_t id) {
    if (id == 0) {
      sqlite3_bind_null(s_, i);
    } else {
      sqlite3_bind_int64(s_, i, id);
    }
    return *this;
  }

  // true: a row is available; false: done. Errors carry `what`.
  Result<bool> Step(std::string_view what) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, sqlite3_extended_errcode(db_), what);
  }
  // For statements that return no rows; keeps the extended code for callers that branch on
  // constraint kinds.
  Status Run(std::string_view what, int* rc_out = nullptr) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
      if (rc_out != nullptr) *rc_out = SQLITE_OK;
      return Status::Ok();
    }
    int ext = sqlite3_extended_errcode(db_);
    if (rc_out != nullptr) *rc_out = ext;
    return SqlError(db_, ext, what);
  }

  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool Bool(int col) const { return sqlite3_column_int64(s_, col) != 0; }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    if (p == nullptr) return {};
    return std::string(static_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(s_, col);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// ---- A case fold for search --------------------------------------------------------------

// Simple lower-casing of the scripts contact names in our markets use: ASCII, Latin-1
// (Æ Ø Å Ä Ö Ü É …), Latin Extended-A (Ł Ś Ž Ő …), Greek and Cyrillic. SQLite's own LIKE only
// folds ASCII, and we do not want ICU in the store; PostgreSQL's lower() does the same job
// there. Code points outside these ranges, and malformed bytes, are copied unchanged.
char32_t LowerCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x178) return 0xFF;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 1) ? c + 1 : c;
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

std::string FoldCase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(LowerCodePoint(b)));
      ++i;
      continue;
    }
    // Only two-byte sequences can hold the letters we fold (U+0080..U+07FF).
    if ((b & 0xE0) == 0xC0 && i + 1 < s.size() &&
        (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      char32_t c =
          (static_cast<char32_t>(b & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      char32_t l = c >= 0x80 ? LowerCodePoint(c) : c;
      out.push_back(static_cast<char>(0xC0 | (l >> 6)));
      out.push_back(static_cast<char>(0x80 | (l & 0x3F)));
      i += 2;
      continue;
    }
    out.push_back(static_cast<char>(b));
    ++i;
  }
  return out;
}

void SqlFoldCase(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const unsigned char* p = sqlite3_value_text(argv[0]);
  int n = sqlite3_value_bytes(argv[0]);
  std::string folded =
      FoldCase(std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
  sqlite3_result_text(ctx, folded.data(), static_cast<int>(folded.size()), SQLITE_TRANSIENT);
}

// ---- Schema -----------------------------------------------------------------------------

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new entry.
constexpr std::array<Migration, 11> kMigrations{{
    {1, "initial schema", R"sql(
CREATE TABLE accounts (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  name                 TEXT NOT NULL,
  marketing_sms_access INTEGER NOT NULL CHECK (marketing_sms_access IN (0, 1)),
  sms_short_code       INTEGER NOT NULL CHECK (sms_short_code IN (0, 1)),
  default_region       TEXT NOT NULL,
  opt_out_scope        TEXT NOT NULL,
  api_key_hash         TEXT UNIQUE,
  created_at_ms        INTEGER NOT NULL
);

CREATE TABLE sender_numbers (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id          INTEGER NOT NULL REFERENCES accounts (id),
  kind                TEXT NOT NULL,
  number              TEXT NOT NULL,
  country             TEXT NOT NULL,
  business_name       TEXT NOT NULL,
  keywords_json       TEXT NOT NULL,
  reply_opt_in        TEXT NOT NULL,
  reply_opt_out       TEXT NOT NULL,
  reply_help          TEXT NOT NULL,
  opt_in_confirmation INTEGER NOT NULL CHECK (opt_in_confirmation IN (0, 1)),
  created_at_ms       INTEGER NOT NULL,
  UNIQUE (account_id, id)
);
-- Inbound routing must be unambiguous across all accounts: an E.164 number is globally
-- unique; a short code is unique within its country (the same digits exist in many).
CREATE UNIQUE INDEX sender_numbers_e164_unique
  ON sender_numbers (number) WHERE kind <> 'short_code';
CREATE UNIQUE INDEX sender_numbers_short_code_unique
  ON sender_numbers (number, country) WHERE kind = 'short_code';
CREATE INDEX sender_numbers_by_number ON sender_numbers (number);

CREATE TABLE contacts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  phone         TEXT NOT NULL,
  name          TEXT NOT NULL,
  email         TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  UNIQUE (account_id, phone),
  UNIQUE (account_id, id)
);

-- The current status per (contact, number): a cache of the ledger, rebuildable from events.
CREATE TABLE statuses (
  account_id     INTEGER NOT NULL,
  contact_id     INTEGER NOT NULL,
  number_id      INTEGER NOT NULL,
  status         TEXT NOT NULL,
  self_opted_out INTEGER NOT NULL CHECK (self_opted_out IN (0, 1)),
  source         TEXT NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (account_id, contact_id, number_id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
  FOREIGN KEY (account_id, number_id) REFERENCES sender_numbers (account_id, id)
) WITHOUT ROWID;

-- The consent ledger: append-only, hash-chained per account (docs/ledger.md).
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id  INTEGER NOT NULL REFERENCES accounts (id),
  seq         INTEGER NOT NULL,
  contact_id  INTEGER NOT NULL,
  phone       TEXT NOT NULL,
  number_id   INTEGER NOT NULL,
  sender      TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status   TEXT NOT NULL,
  source      TEXT NOT NULL,
  actor       TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  evidence    TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL,
  UNIQUE (account_id, seq),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
  FOREIGN KEY (account_id, number_id) REFERENCES sender_numbers (account_id, id)
);
CREATE INDEX events_by_contact ON events (account_id, contact_id, seq);
CREATE TRIGGER events_append_only BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TABLE inbound_messages (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id          INTEGER NOT NULL REFERENCES accounts (id),
  provider            TEXT NOT NULL,
  provider_message_id TEXT NOT NULL,
  from_phone          TEXT NOT NULL,
  to_number           TEXT NOT NULL,
  number_id           INTEGER,
  contact_id          INTEGER,
  body                TEXT NOT NULL,
  received_at_ms      INTEGER NOT NULL,
  decision            TEXT NOT NULL,
  UNIQUE (account_id, provider, provider_message_id),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
  FOREIGN KEY (account_id, number_id) REFERENCES sender_numbers (account_id, id)
);

CREATE TABLE outbox (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id         INTEGER NOT NULL REFERENCES accounts (id),
  number_id          INTEGER NOT NULL,
  contact_id         INTEGER,
  to_phone           TEXT NOT NULL,
  from_number        TEXT NOT NULL,
  body               TEXT NOT NULL,
  kind               TEXT NOT NULL,
  state              TEXT NOT NULL,
  attempts           INTEGER NOT NULL,
  last_error         TEXT NOT NULL,
  inbound_id         INTEGER,
  created_at_ms      INTEGER NOT NULL,
  next_attempt_at_ms INTEGER NOT NULL,
  FOREIGN KEY (account_id, number_id) REFERENCES sender_numbers (account_id, id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
  FOREIGN KEY (account_id, inbound_id) REFERENCES inbound_messages (account_id, id)
);
CREATE INDEX outbox_by_account_state ON outbox (account_id, state, id);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
)sql"},
    {2, "reply senders, provider settings, outbox dispatch", R"sql(
ALTER TABLE accounts ADD COLUMN reply_sender TEXT NOT NULL DEFAULT 'log';

-- "api": sent by a dispatcher; "response": carried in the webhook's HTTP response.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'api'
  CHECK (channel IN ('api', 'response'));
ALTER TABLE outbox ADD COLUMN provider_message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sent_at_ms INTEGER NOT NULL DEFAULT 0;
-- ExpireOutboxLeases scans only the (few) items on the wire.
CREATE INDEX outbox_sending_leases ON outbox (lease_until_ms) WHERE state = 'sending';

CREATE TABLE provider_configs (
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  provider      TEXT NOT NULL,
  settings      TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, provider)
) WITHOUT ROWID;
)sql"},
    {3, "contact status filter and contact deletion", R"sql(
-- ListContacts filtered by opted_in/opted_out on a number walks this in contact id order.
CREATE INDEX statuses_by_number ON statuses (account_id, number_id, status, contact_id);
-- DeleteContact checks (and the foreign keys re-check) that nothing refers to the contact;
-- without these, both would scan every message of every account.
CREATE INDEX inbound_messages_by_contact ON inbound_messages (account_id, contact_id);
CREATE INDEX outbox_by_contact ON outbox (account_id, contact_id);
)sql"},
    {4, "contact properties and background jobs", R"sql(
ALTER TABLE contacts ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
-- Bulk changes and imports. A job's changes and its progress (done, cursor, result, rejects)
-- are committed together, chunk by chunk, so a job interrupted at any point resumes at its
-- cursor having applied exactly what `done` says.
CREATE TABLE jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id      INTEGER NOT NULL REFERENCES accounts (id),
  kind            TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request         TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  total           INTEGER NOT NULL DEFAULT 0,
  done            INTEGER NOT NULL DEFAULT 0,
  cursor          TEXT NOT NULL DEFAULT '',
  result          TEXT NOT NULL DEFAULT '{}',
  error           TEXT NOT NULL DEFAULT '',
  lease_owner     TEXT NOT NULL DEFAULT '',
  lease_until_ms  INTEGER NOT NULL DEFAULT 0,
  input_chunks    INTEGER NOT NULL DEFAULT 0,
  created_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL,
  finished_at_ms  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account_id, idempotency_key)
);
CREATE INDEX jobs_claimable ON jobs (state, id) WHERE state IN ('queued', 'running');
CREATE TABLE job_inputs (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  chunk  INTEGER NOT NULL,
  data   BLOB NOT NULL,
  PRIMARY KEY (job_id, chunk)
) WITHOUT ROWID;
CREATE TABLE job_rejects (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  row    INTEGER NOT NULL,
  phone  TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (job_id, row)
) WITHOUT ROWID;
)sql"},
    {5, "staff users and sign-in sessions", R"sql(
-- Staff who sign in to the web page (docs/auth.md). Emails are stored lower-cased and are
-- unique across the server, so signing in needs no account.
CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
  password_hash TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX users_by_account ON users (account_id, id);
-- One row per signed-in browser, keyed by the SHA-256 of its cookie's token.
CREATE TABLE sessions (
  token_hash    TEXT PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users (id),
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  csrf_token    TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);
)sql"},
    {6, "replies by the message they answer", R"sql(
-- GET /v1/messages reads the replies of a page of messages in one query (ListOutbox with
-- inbound ids); without this it would scan every outbox item of the account.
CREATE INDEX outbox_by_inbound ON outbox (account_id, inbound_id);
)sql"},
    {7, "due replies only in the dispatcher's index", R"sql(
-- ClaimOutbox walks the pending replies in id order. The old index also held every sent,
-- dead and failed reply (most replies are sent in the webhook's own response and never
-- pending), so each stored reply cost one more B-tree insert. As on PostgreSQL.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (id) WHERE state = 'pending';
)sql"},
    {8, "single-use webhook nonces", R"sql(
-- Nonces of signatures that carry no time (Plivo V2, docs/webhooks.md#plivo): each may serve
-- one request. The key makes that hold for every process on the database; rows past their
-- expiry are deleted by the call that uses the next nonce (UseWebhookNonce).
CREATE TABLE webhook_nonces (
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  provider      TEXT NOT NULL,
  nonce         TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, provider, nonce)
) WITHOUT ROWID;
CREATE INDEX webhook_nonces_by_expiry ON webhook_nonces (expires_at_ms);
)sql"},
    {9, "since and source of a status are those of its last change", R"sql(
-- A status's source and updated_at_ms say how and when it last changed (docs/ledger.md,
-- "Status replay"). Rows written while an event that left the status as it was (a repeated
-- STOP, a user's opt-in of an opted-in contact) still moved them hold that event's source
-- and time: they get those of the pair's last change in the ledger, or 'system' and 0 when
-- the status never changed. Only a row equal to the pair's last event -- a no-change event,
-- with its status, source and time -- is touched, so a row that disagrees with the ledger
-- for another reason stays as it is, for `ledger verify` to report.
UPDATE statuses SET
  source = COALESCE((SELECT e.source FROM events AS e
                     WHERE e.account_id = statuses.account_id
                       AND e.contact_id = statuses.contact_id
                       AND e.number_id = statuses.number_id AND e.from_status <> e.to_status
                     ORDER BY e.seq DESC LIMIT 1), 'system'),
  updated_at_ms = COALESCE((SELECT e.at_ms FROM events AS e
                            WHERE e.account_id = statuses.account_id
                              AND e.contact_id = statuses.contact_id
                              AND e.number_id = statuses.number_id
                              AND e.from_status <> e.to_status
                            ORDER BY e.seq DESC LIMIT 1), 0)
WHERE (SELECT e.from_status = e.to_status AND e.to_status = statuses.status
              AND e.source = statuses.source AND e.at_ms = statuses.updated_at_ms
       FROM events AS e
       WHERE e.account_id = statuses.account_id AND e.contact_id = statuses.contact_id
         AND e.number_id = statuses.number_id
       ORDER BY e.seq DESC LIMIT 1);
)sql"},
    {10, "replies checked against the ledger when they leave", R"sql(
-- The account's ledger seq when a reply was queued: a claim cancels an opt-in confirmation when
-- an event after it changed the contact's status on the number (docs/storage.md, "The outbox").
ALTER TABLE outbox ADD COLUMN queued_at_seq INTEGER NOT NULL DEFAULT 0;
-- Replies still to be sent were queued with the events of their decision, under one clock
-- reading: their seq is the last one of the account at or before that time.
UPDATE outbox SET queued_at_seq = COALESCE((SELECT MAX(e.seq) FROM events e
    WHERE e.account_id = outbox.account_id AND e.at_ms <= outbox.created_at_ms), 0)
  WHERE state IN ('pending', 'sending');
)sql"},
    {11, "possible opt-outs for a person to review", R"sql(
-- An inbound message the recogniser flagged as a possible opt-out, waiting for an editor to
-- confirm it (the contact's own opt-out) or dismiss it (docs/reviews.md). One per message.
CREATE TABLE review_items (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id     INTEGER NOT NULL REFERENCES accounts (id),
  inbound_id     INTEGER NOT NULL UNIQUE,
  contact_id     INTEGER NOT NULL,
  number_id      INTEGER NOT NULL,
  rule           TEXT NOT NULL,
  explanation    TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'dismissed')),
  created_at_ms  INTEGER NOT NULL,
  reviewed_by    TEXT NOT NULL DEFAULT '',
  reviewed_at_ms INTEGER NOT NULL DEFAULT 0,
  note           TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (account_id, inbound_id) REFERENCES inbound_messages (account_id, id),
  FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
  FOREIGN KEY (account_id, number_id) REFERENCES sender_numbers (account_id, id)
);
-- The queue: an account's open items in id order.
CREATE INDEX review_items_by_account_state ON review_items (account_id, state, id);
)sql"},
}};

// ---- Column lists and row readers --------------------------------------------------------
// Each SELECT names its columns (store/store_columns.h) in the order the matching reader
// expects.

Result<Account> ReadAccount(const Stmt& s) {
  Account a;
  a.id = s.Int(0);
  a.name = s.Text(1);
  a.marketing_sms_access = s.Bool(2);
  a.sms_short_code = s.Bool(3);
  a.default_region = s.Text(4);
  auto scope = ParseOptOutScope(s.Text(5));
  if (!scope.ok()) return BadColumn(scope, "accounts", a.id);
  a.opt_out_scope = *scope;
  a.created_at_ms = s.Int(6);
  a.reply_sender = s.Text(7);
  return a;
}

Result<SenderNumber> ReadNumber(const Stmt& s) {
  SenderNumber n;
  n.id = s.Int(0);
  n.account_id = s.Int(1);
  auto kind = ParseNumberKind(s.Text(2));
  if (!kind.ok()) return BadColumn(kind, "sender_numbers", n.id);
  n.kind = *kind;
  n.number = s.Text(3);
  n.country = s.Text(4);
  n.business_name = s.Text(5);
  auto keywords = KeywordsFromJson(s.Text(6));
  if (!keywords.ok()) return BadColumn(keywords, "sender_numbers", n.id);
  n.keywords = std::move(keywords).value();
  n.replies.opt_in = s.Text(7);
  n.replies.opt_out = s.Text(8);
  n.replies.help = s.Text(9);
  n.opt_in_confirmation = s.Bool(10);
  n.created_at_ms = s.Int(11);
  return n;
}

Result<Job> ReadJob(const Stmt& s) {
  Job j;
  j.id = s.Int(0);
  j.account_id = s.Int(1);
  j.kind = s.Text(2);
  j.idempotency_key = s.Text(3);
  j.request = s.Text(4);
  auto state = ParseJobState(s.Text(5));
  if (!state.ok()) return BadColumn(state, "jobs", j.id);
  j.state = *state;
  j.total = s.Int(6);
  j.done = s.Int(7);
  j.cursor = s.Text(8);
  j.result = s.Text(9);
  j.error = s.Text(10);
  j.lease_owner = s.Text(11);
  j.lease_until_ms = s.Int(12);
  j.input_chunks = s.Int(13);
  j.created_at_ms = s.Int(14);
  j.updated_at_ms = s.Int(15);
  j.finished_at_ms = s.Int(16);
  return j;
}

Contact ReadContact(const Stmt& s) {
  Contact c;
  c.id = s.Int(0);
  c.account_id = s.Int(1);
  c.phone = s.Text(2);
  c.name = s.Text(3);
  c.email = s.Text(4);
  c.created_at_ms = s.Int(5);
  c.properties = s.Text(6);
  return c;
}

Result<StatusRow> ReadStatus(const Stmt& s) {
  StatusRow r;
  r.contact_id = s.Int(0);
  r.number_id = s.Int(1);
  auto status = ParseSubscriptionStatus(s.Text(2));
  if (!status.ok()) return BadColumn(status, "statuses", r.contact_id);
  r.state.status = *status;
  r.state.self_opted_out = s.Bool(3);
  auto source = ParseSource(s.Text(4));
  if (!source.ok()) return BadColumn(source, "statuses", r.contact_id);
  r.state.source = *source;
  r.state.updated_at_ms = s.Int(5);
  return r;
}

Result<ConsentEvent> ReadEvent(const Stmt& s) {
  ConsentEvent e;
  e.id = s.Int(0);
  e.account_id = s.Int(1);
  e.seq = s.Int(2);
  e.contact_id = s.Int(3);
  e.phone = s.Text(4);
  e.number_id = s.Int(5);
  e.sender = s.Text(6);
  auto from = ParseSubscriptionStatus(s.Text(7));
  if (!from.ok()) return BadColumn(from, "events", e.id);
  e.from = *from;
  auto to = ParseSubscriptionStatus(s.Text(8));
  if (!to.ok()) return BadColumn(to, "events", e.id);
  e.to = *to;
  auto source = ParseSource(s.Text(9));
  if (!source.ok()) return BadColumn(source, "events", e.id);
  e.source = *source;
  e.actor = s.Text(10);
  e.at_ms = s.Int(11);
  e.evidence = s.Text(12);
  e.prev_hash = s.Text(13);
  e.hash = s.Text(14);
  return e;
}

InboundMessage ReadInbound(const Stmt& s) {
  InboundMessage m;
  m.id = s.Int(0);
  m.account_id = s.Int(1);
  m.provider = s.Text(2);
  m.provider_message_id = s.Text(3);
  m.from = s.Text(4);
  m.to = s.Text(5);
  m.number_id = s.Int(6);  // NULL reads as 0
  m.contact_id = s.Int(7);
  m.body = s.Text(8);
  m.received_at_ms = s.Int(9);
  m.decision = s.Text(10);
  return m;
}

Result<ReviewItem> ReadReview(const Stmt& s) {
  ReviewItem r;
  r.id = s.Int(0);
  r.account_id = s.Int(1);
  r.inbound_id = s.Int(2);
  r.contact_id = s.Int(3);
  r.number_id = s.Int(4);
  r.rule = s.Text(5);
  r.explanation = s.Text(6);
  auto state = ParseReviewState(s.Text(7));
  if (!state.ok()) return BadColumn(state, "review_items", r.id);
  r.state = *state;
  r.created_at_ms = s.Int(8);
  r.reviewed_by = s.Text(9);
  r.reviewed_at_ms = s.Int(10);
  r.note = s.Text(11);
  r.body = s.Text(12);
  r.from = s.Text(13);
  r.to = s.Text(14);
  r.received_at_ms = s.Int(15);
  return r;
}

Result<OutboxItem> ReadOutbox(const Stmt& s) {
  OutboxItem o;
  o.id = s.Int(0);
  o.account_id = s.Int(1);
  o.number_id = s.Int(2);
  o.contact_id = s.Int(3);
  o.to = s.Text(4);
  o.from = s.Text(5);
  o.body = s.Text(6);
  auto kind = ParseReplyKind(s.Text(7));
  if (!kind.ok()) return BadColumn(kind, "outbox", o.id);
  o.kind = *kind;
  auto state = ParseOutboxState(s.Text(8));
  if (!state.ok()) return BadColumn(state, "outbox", o.id);
  o.state = *state;
  o.attempts = static_cast<int>(s.Int(9));
  o.last_error = s.Text(10);
  o.inbound_id = s.Int(11);
  o.created_at_ms = s.Int(12);
  o.next_attempt_at_ms = s.Int(13);
  o.channel = s.Text(14);
  o.provider_message_id = s.Text(15);
  o.lease_owner = s.Text(16);
  o.lease_until_ms = s.Int(17);
  o.sent_at_ms = s.Int(18);
  o.queued_at_seq = s.Int(19);
  return o;
}

// The JSON path of a property for json_extract: $."name".
Result<std::string> PropertyPath(const std::string& name) {
  if (name.empty() || name.find_first_of("\"\\") != std::string::npos) {
    return InvalidArgument("invalid property name '" + name + "'");
  }
  return "$.\"" + name + "\"";
}

// ---- The connection, its statement cache and transactions ---------------------------------

struct Connection {
  std::string path;
  DbPtr db;  // declared before the statements: they are finalized first
  // Statements of SQL in static storage (literals), by the address of their text: finding one
  // costs no string copy and no hash of the text. A fixed set, kept for the connection's life.
  std::unordered_map<const char*, StmtPtr> static_stmts;
  // Statements of SQL built at run time, most recently used first, and the same by their text.
  // Clients choose some of that SQL (a contact search's shape follows its filters), so at most
  // SqliteStore::kStatementCacheSize are kept and the least recently used one goes first. A
  // call holds only a few statements at once, far fewer than the cache keeps, so the one
  // dropped is never still in use.
  std::list<std::pair<std::string, StmtPtr>> stmts;
  std::unordered_map<std::string_view, std::list<std::pair<std::string, StmtPtr>>::iterator>
      stmts_by_sql;

  Result<StmtPtr> PrepareNew(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return SqlError(db.get(), rc, "preparing \"" + std::string(sql.substr(0, 60)) + "\"");
    }
    return StmtPtr(raw);
  }

  // Returns the cached prepared statement for `sql`, preparing it on first use. A statement
  // is used by one Stmt at a time; the connection's lock and the scoping of Stmt ensure that.
  Result<Stmt> Prepare(const std::string& sql) {
    auto it = stmts_by_sql.find(sql);
    if (it != stmts_by_sql.end()) {
      stmts.splice(stmts.begin(), stmts, it->second);
    } else {
      SMSC_ASSIGN_OR_RETURN(StmtPtr fresh, PrepareNew(sql));
      stmts.emplace_front(sql, std::move(fresh));
      stmts_by_sql.emplace(stmts.front().first, stmts.begin());
      if (stmts.size() > SqliteStore::kStatementCacheSize) {
        stmts_by_sql.erase(stmts.back().first);
        stmts.pop_back();
      }
    }
    sqlite3_stmt* s = stmts.front().second.get();
    if (sqlite3_stmt_busy(s)) return Internal("statement already in use: " + sql.substr(0, 60));
    return Stmt(db.get(), s);
  }
  // For a string literal (or another array with static storage duration: its address must
  // always hold this text).
  template <size_t N>
  Result<Stmt> Prepare(const char (&sql)[N]) {
    auto it = static_stmts.find(sql);
    if (it == static_stmts.end()) {
      SMSC_ASSIGN_OR_RETURN(StmtPtr fresh, PrepareNew(std::string_view(sql, N - 1)));
      it = static_stmts.emplace(sql, std::move(fresh)).first;
    }
    if (!sqlite3_stmt_busy(it->second.get())) return Stmt(db.get(), it->second.get());
    // Still stepping further up this call: a second copy, cached as run-time SQL is.
    return Prepare(std::string(sql, N - 1));
  }

  Status Exec(const char* sql, std::string_view what) {
    char* err = nullptr;
    int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &err);
    sqlite3_free(err);  // the same text is available from sqlite3_errmsg
    if (rc != SQLITE_OK) return SqlError(db.get(), sqlite3_extended_errcode(db.get()), what);
    return Status::Ok();
  }

  // Runs a PRAGMA that returns one value and gives it as text.
  Result<std::string> PragmaText(const std::string& pragma) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA " + pragma));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("PRAGMA " + pragma));
    if (!row) return std::string();
    return s.Text(0);
  }

  Status AccountExists(int64_t account_id) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT 1 FROM accounts WHERE id = ?1"));
    s.Bind(1, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up account"));
    if (!row) return NotFound("account " + std::to_string(account_id) + " not found");
    return Status::Ok();
  }

  Status ContactInAccount(int64_t account_id, int64_t contact_id) {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          Prepare("SELECT 1 FROM contacts WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, contact_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact"));
    if (!row) {
      return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return Status::Ok();
  }

  Status NumberInAccount(int64_t account_id, int64_t number_id) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, Prepare("SELECT 1 FROM sender_numbers WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, number_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up sender number"));
    if (!row) {
      return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return Status::Ok();
  }

  Result<SenderNumber> SelectNumber(int64_t account_id, int64_t number_id) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, Prepare("SELECT " SMSC_NUMBER_COLS " FROM sender_numbers WHERE id = ?1 AND "
                        "account_id = ?2"));
    s.Bind(1, number_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading sender number"));
    if (!row) {
      return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return ReadNumber(s);
  }
};

// A write transaction: BEGIN IMMEDIATE takes the write lock up front, so two writers never
// both read and then fail to upgrade (which in SQLite is an immediate SQLITE_BUSY that the
// busy timeout cannot help). Rolls back unless Commit() succeeded.
class WriteTxn {
 public:
  static Result<WriteTxn> Begin(Connection* impl) {
    SMSC_RETURN_IF_ERROR(impl->Exec("BEGIN IMMEDIATE", "starting a write transaction"));
    return WriteTxn(impl);
  }
  WriteTxn(WriteTxn&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn() {
    if (impl_ != nullptr) {
      // Nothing useful to do if rollback fails: the connection then rolls back itself when
      // the next statement finds the transaction broken.
      (void)impl_->Exec("ROLLBACK", "rolling back");
    }
  }
  Status Commit() {
    Status st = impl_->Exec("COMMIT", "committing");
    if (st.ok()) impl_ = nullptr;
    return st;
  }

 private:
  explicit WriteTxn(Connection* impl) : impl_(impl) {}
  Connection* impl_;
};

Status ApplyPragmas(Connection& impl, bool in_memory) {
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  SMSC_ASSIGN_OR_RETURN(std::string mode, impl.PragmaText("journal_mode = WAL"));
  if (!in_memory && mode != "wal") {
    return Unavailable("cannot switch '" + impl.path + "' to WAL journal mode (got '" + mode +
                       "'); is the file on a filesystem without shared-memory support?");
  }
  // FULL: in WAL mode every commit fsyncs the WAL, so an acknowledged write survives a power
  // loss. NORMAL would only fsync at checkpoints.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA synchronous = FULL", "setting synchronous = FULL"));
  // When an item of a CommitBatch fails, the batch is written again with a savepoint per
  // item, whose undo journal (the original of every page the item changes) would otherwise
  // spill to a temporary file after 64 KiB. It is only for rolling back within a
  // transaction, never needed for durability or recovery, so memory is the right place for it.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA temp_store = MEMORY", "setting temp_store = MEMORY"));
  // The writer touches the contacts, statuses, events and messages indexes at random places
  // (one per new phone number); SQLite's default 2 MiB page cache would re-read those pages
  // from the file on nearly every write.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA cache_size = -32768", "setting cache_size (32 MiB)"));
  return Status::Ok();
}

Status Migrate(Connection& impl) {
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(&impl));
  SMSC_RETURN_IF_ERROR(
      impl.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL)",
                "creating schema_migrations"));
  int64_t current = 0;
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                               "schema_migrations"));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading schema version"));
    if (row) current = s.Int(0);
  }
  const int latest = kMigrations.back().version;
  if (current > latest) {
    return FailedPrecondition("database '" + impl.path + "' has schema version " +
                              std::to_string(current) + ", newer than this smsconsent (" +
                              std::to_string(latest) + "); upgrade smsconsent");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    SMSC_RETURN_IF_ERROR(
        impl.Exec(m.sql, "applying migration " + std::to_string(m.version) + " (" + m.name + ")"));
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)"));
    s.Bind(1, int64_t{m.version}).Bind(2, m.name);
    SMSC_RETURN_IF_ERROR(s.Run("recording migration " + std::to_string(m.version)));
  }
  // Mirrors the version for tools (sqlite3 CLI, backups) that only look at the header.
  SMSC_RETURN_IF_ERROR(impl.Exec(("PRAGMA user_version = " + std::to_string(latest)).c_str(),
                                 "setting user_version"));
  return txn.Commit();
}

}  // namespace

// ---- Open ---------------------------------------------------------------------------------

// Reader connections: reads on the request path run on these, so they proceed while the
// writer connection is busy with a commit and its fsync (WAL lets readers and the writer work
// at once; a read sees every transaction committed before it started).
constexpr int kReaderConnections = 4;

struct ReaderSlot {
  std::mutex mu;  // one call at a time per connection
  Connection conn;
};

// A connection held for one read call.
class ReadLease {
 public:
  ReadLease(std::unique_lock<std::mutex> lock, Connection* conn)
      : lock_(std::move(lock)), conn_(conn) {}
  Connection* operator->() const { return conn_; }
  Connection* get() const { return conn_; }

 private:
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
};

Status OpenReader(const std::string& path, Connection& conn) {
  conn.path = path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  conn.db.reset(raw);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "opening a reader connection");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  rc = sqlite3_create_function_v2(raw, "smsc_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                  &SqlFoldCase, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "registering smsc_fold()");
  SMSC_RETURN_IF_ERROR(conn.Exec("PRAGMA cache_size = -8192", "setting cache_size (8 MiB)"));
  return conn.Exec("PRAGMA query_only = ON", "making a reader connection read-only");
}

// Runs WAL checkpoints on a thread and connection of its own. SQLite's default runs one inside
// the commit that takes the WAL past 1000 pages: copying those pages into the database file
// and an fsync of it, while every request waiting on that commit (a whole group-commit batch)
// waits too. PASSIVE never blocks the writer or readers; frames still in use by a reader are
// copied by a later checkpoint.
class Checkpointer {
 public:
  // SQLite's own default is 1000 pages. Between two checkpoints the writer rewrites the same
  // pages many times (each table's and index's last page, the phone index's leaves); a
  // checkpoint copies each page once, so a longer interval copies fewer pages per message and
  // costs the checkpoint thread less CPU per webhook (bench/load/run.sh). The WAL file grows
  // to about 32 MiB (4 KiB pages) and stays that size (it is reused, not truncated).
  static constexpr int kWalPages = 8000;

  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, sqlite3* writer) {
    std::unique_ptr<Checkpointer> c(new Checkpointer(writer));
    c->conn_.path = path;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    c->conn_.db.reset(raw);
    if (rc != SQLITE_OK) return SqlError(raw, rc, "opening the checkpoint connection");
    sqlite3_busy_timeout(raw, 5000);
    // A connection learns that the file is in WAL mode on its first read; until then a
    // checkpoint does nothing.
    SMSC_RETURN_IF_ERROR(
        c->conn_.Exec("SELECT count(*) FROM sqlite_schema", "reading the schema to checkpoint"));
    c->thread_ = std::thread([p = c.get()] { p->Loop(); });
    // Replaces the writer's automatic checkpoints (sqlite3_wal_autocheckpoint is this hook).
    sqlite3_wal_hook(writer, &Checkpointer::OnCommit, c.get());
    return c;
  }

  ~Checkpointer() {
    sqlite3_wal_hook(writer_, nullptr, nullptr);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  explicit Checkpointer(sqlite3* writer) : writer_(writer) {}

  // Called by SQLite on the writer's thread after each commit, with the WAL's size in pages.
  static int OnCommit(void* self, sqlite3*, const char*, int pages) {
    if (pages >= kWalPages) {
      auto* c = static_cast<Checkpointer*>(self);
      {
        std::lock_guard<std::mutex> lock(c->mu_);
        c->due_ = true;
      }
      c->cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      // A failure (I/O error) leaves the frames in the WAL, where they are as durable as in the
      // database file; the next commit past the threshold tries again.
      (void)sqlite3_wal_checkpoint_v2(conn_.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
      lock.lock();
    }
  }

  sqlite3* const writer_;
  Connection conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// Answers kept by the consent check's cache (state_cache.h): some 90 bytes each with their
// hash-table nodes (an estimate), so at most about 24 MiB; enough for a business's whole
// recipient list of a quarter million phones.
constexpr size_t kStateCacheAnswers = 262'144;

struct SqliteStore::Impl : Connection {
  std::vector<std::unique_ptr<ReaderSlot>> readers;  // none for :memory: (not shareable)
  std::atomic<size_t> next_reader{0};
  // The database's WAL-index header, for the consent check's cache; null (no cache) for
  // :memory:. Reads the writer connection's mapping, which lives as long as the store.
  std::unique_ptr<WalWatch> wal_watch;
  ContactStateCache state_cache{kStateCacheAnswers};
  // Last: stopped before the connections close. None for :memory:.
  std::unique_ptr<Checkpointer> checkpointer;

  // A free reader connection if there is one, else the next one in turn; the writer
  // connection (under the store's mutex) when there are no readers.
  ReadLease Read(std::mutex& writer_mu) {
    if (readers.empty()) return ReadLease(std::unique_lock<std::mutex>(writer_mu), this);
    const size_t n = readers.size();
    const size_t first = next_reader.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      ReaderSlot& r = *readers[(first + i) % n];
      std::unique_lock<std::mutex> lock(r.mu, std::try_to_lock);
      if (lock.owns_lock()) return ReadLease(std::move(lock), &r.conn);
    }
    ReaderSlot& r = *readers[first % n];
    return ReadLease(std::unique_lock<std::mutex>(r.mu), &r.conn);
  }
};

int SqliteStore::LatestSchemaVersion() { return kMigrations.back().version; }

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<ConsentStore>> SqliteStore::Open(const std::string& path) {
  if (path.empty()) return InvalidArgument("SQLite database path is empty");
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      return NotFound("cannot open SQLite database '" + path + "': directory '" + dir.string() +
                      "' does not exist");
    }
  }

  // SQLite keeps memory statistics by default, which takes a global mutex on every allocation
  // (several per statement). Nothing here reads them. This only works before SQLite is first
  // initialised, so it is done before the first connection opens; later calls are no-ops.
  static const int kMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemStatusOff;

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  impl->db.reset(raw);  // closed on every return path, also when open failed
  if (rc != SQLITE_OK) {
    return SqlError(raw, rc, "cannot open SQLite database '" + path + "'");
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  rc = sqlite3_create_function_v2(raw, "smsc_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                  &SqlFoldCase, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "registering smsc_fold()");

  Status st = ApplyPragmas(*impl, in_memory);
  if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
  st = Migrate(*impl);
  if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
  for (int i = 0; !in_memory && i < kReaderConnections; ++i) {
    auto slot = std::make_unique<ReaderSlot>();
    st = OpenReader(path, slot->conn);
    if (!st.ok()) return Status(st.code(), "opening '" + path + "': " + st.message());
    impl->readers.push_back(std::move(slot));
  }
  if (!in_memory) {
    auto checkpointer = Checkpointer::Start(path, impl->db.get());
    if (!checkpointer.ok()) {
      return Status(checkpointer.status().code(),
                    "opening '" + path + "': " + checkpointer.status().message());
    }
    impl->checkpointer = std::move(*checkpointer);
    impl->wal_watch = WalWatch::Attach(impl->db.get());
  }
  return std::unique_ptr<ConsentStore>(new SqliteStore(std::move(impl)));
}

size_t SqliteStore::CachedStatementsForTesting() {
  size_t most = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    most = impl_->stmts.size();
  }
  for (auto& r : impl_->readers) {
    std::lock_guard<std::mutex> lock(r->mu);
    most = std::max(most, r->conn.stmts.size());
  }
  return most;
}

std::unique_lock<std::mutex> SqliteStore::HoldWriterForTesting() {
  return std::unique_lock<std::mutex>(mu_);
}

ConsentCacheCounts SqliteStore::CacheCounts() const {
  return {impl_->state_cache.hits(), impl_->state_cache.misses()};
}

Result<std::string> SqliteStore::PragmaForTesting(const std::string& name) {
  static const std::set<std::string> kAllowed = {"journal_mode", "synchronous",  "foreign_keys",
                                                 "busy_timeout", "user_version", "temp_store"};
  if (kAllowed.count(name) == 0) return InvalidArgument("pragma not allowed: " + name);
  std::lock_guard<std::mutex> lock(mu_);
  return impl_->PragmaText(name);
}

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

Result<User> ReadUser(const Stmt& s) {
  User u;
  u.id = s.Int(0);
  u.account_id = s.Int(1);
  u.email = s.Text(2);
  u.name = s.Text(3);
  auto role = ParseStaffRole(s.Text(4));
  if (!role.ok()) return BadColumn(role, "users", u.id);
  u.role = *role;
  u.password_hash = s.Text(5);
  u.created_at_ms = s.Int(6);
  u.updated_at_ms = s.Int(7);
  return u;
}

StaffSession ReadSession(const Stmt& s) {
  StaffSession x;
  x.token_hash = s.Text(0);
  x.user_id = s.Int(1);
  x.account_id = s.Int(2);
  x.csrf_token = s.Text(3);
  x.created_at_ms = s.Int(4);
  x.expires_at_ms = s.Int(5);
  x.last_seen_ms = s.Int(6);
  return x;
}

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

Result<SenderNumber> SqliteStore::AddNumber(const SenderNumber& number) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(number.account_id));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("INSERT INTO sender_numbers (account_id, kind, number, country, "
                             "business_name, keywords_json, reply_opt_in, reply_opt_out, "
                             "reply_help, opt_in_confirmation, created_at_ms) VALUES (?1, ?2, "
                             "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
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
      .Bind(11, number.created_at_ms);
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
      Stmt s, impl_->Prepare("UPDATE sender_numbers SET kind = ?3, number = ?4, country = ?5, "
                             "business_name = ?6, keywords_json = ?7, reply_opt_in = ?8, "
                             "reply_opt_out = ?9, reply_help = ?10, opt_in_confirmation = ?11 "
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
      .BindBool(11, number.opt_in_confirmation);
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

// ---- Contacts -----------------------------------------------------------------------------

Result<Contact> SqliteStore::AddContact(const Contact& contact) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(contact.account_id));
  SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("INSERT INTO contacts (account_id, phone, name, "
                                               "email, created_at_ms, properties) VALUES (?1, "
                                               "?2, ?3, ?4, ?5, ?6)"));
  s.Bind(1, contact.account_id)
      .Bind(2, contact.phone)
      .Bind(3, contact.name)
      .Bind(4, contact.email)
      .Bind(5, contact.created_at_ms)
      .Bind(6, contact.properties);
  int rc = SQLITE_OK;
  Status st = s.Run("adding contact", &rc);
  if (IsUniqueViolation(rc)) {
    return AlreadyExists("a contact with phone " + contact.phone + " already exists");
  }
  SMSC_RETURN_IF_ERROR(st);
  Contact out = contact;
  out.id = sqlite3_last_insert_rowid(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<Contact> SqliteStore::GetContact(int64_t account_id, int64_t contact_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE id = ?1 AND "
                              "account_id = ?2"));
  s.Bind(1, contact_id).Bind(2, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading contact"));
  if (!row) {
    return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadContact(s);
}

Result<Contact> SqliteStore::FindContactByPhone(int64_t account_id, const std::string& e164) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = ?1 "
                              "AND phone = ?2"));
  s.Bind(1, account_id).Bind(2, e164);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding contact by phone"));
  if (!row) return NotFound("no contact with phone " + e164);
  return ReadContact(s);
}

Result<std::vector<Contact>> SqliteStore::ListContacts(int64_t account_id, const ContactQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  SMSC_RETURN_IF_ERROR(CheckPropertyCount(q));
  if (q.number_id.has_value() != q.status.has_value()) {
    return InvalidArgument("a contact status filter needs both a sender number and a status");
  }
  ReadLease reader = impl_->Read(mu_);
  // ?1 account, ?2 cursor, ?3 limit, ?4 search pattern, ?5 number id, ?6 status,
  // ?7/?8 created range, then a JSON path and a value per property.
  // Substring search cannot use an index; it scans in id order and stops after `limit` hits.
  constexpr char kCols[] =
      "c.id, c.account_id, c.phone, c.name, c.email, c.created_at_ms, c.properties";
  std::string extra;
  if (!q.search.empty()) {
    extra += " AND (smsc_fold(c.name) LIKE ?4 ESCAPE '\\' OR c.phone LIKE ?4 ESCAPE '\\')";
  }
  if (q.created_from_ms) extra += " AND c.created_at_ms >= ?7";
  if (q.created_to_ms) extra += " AND c.created_at_ms < ?8";
  for (size_t i = 0; i < q.properties.size(); ++i) {
    const std::string path = "?" + std::to_string(9 + 2 * i);
    const std::string value = "?" + std::to_string(10 + 2 * i);
    extra += " AND COALESCE(json_extract(c.properties, " + path + "), '') = " + value;
  }
  std::string sql;
  if (!q.status) {
    sql = std::string("SELECT ") + kCols + " FROM contacts AS c WHERE c.account_id = ?1 AND " +
          "c.id > ?2" + extra + " ORDER BY c.id LIMIT ?3";
  } else if (*q.status != SubscriptionStatus::kNotSpecified) {
    // Walks statuses_by_number (account, number, status, contact) in contact order and looks
    // each contact up by id: the cost follows the matches, not the size of the account.
    sql = std::string("SELECT ") + kCols +
          " FROM statuses AS s CROSS JOIN contacts AS c ON c.id = s.contact_id AND "
          "c.account_id = s.account_id WHERE s.account_id = ?1 AND s.number_id = ?5 AND "
          "s.status = ?6 AND s.contact_id > ?2" +
          extra + " ORDER BY s.contact_id LIMIT ?3";
  } else {
    // not_specified is also "no row": walk the contacts and probe the status primary key.
    sql = std::string("SELECT ") + kCols +
          " FROM contacts AS c LEFT JOIN statuses AS s ON s.account_id = c.account_id AND "
          "s.contact_id = c.id AND s.number_id = ?5 WHERE c.account_id = ?1 AND c.id > ?2 AND "
          "(s.status IS NULL OR s.status = ?6)" +
          extra + " ORDER BY c.id LIMIT ?3";
  }
  if (q.number_id) SMSC_RETURN_IF_ERROR(reader->NumberInAccount(account_id, *q.number_id));
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (!q.search.empty()) s.Bind(4, ContainsPattern(FoldCase(q.search)));
  if (q.status) s.Bind(5, *q.number_id).Bind(6, SubscriptionStatusName(*q.status));
  if (q.created_from_ms) s.Bind(7, *q.created_from_ms);
  if (q.created_to_ms) s.Bind(8, *q.created_to_ms);
  for (size_t i = 0; i < q.properties.size(); ++i) {
    const auto& [name, value] = q.properties[i];
    SMSC_ASSIGN_OR_RETURN(std::string path, PropertyPath(name));
    s.Bind(static_cast<int>(9 + 2 * i), path).Bind(static_cast<int>(10 + 2 * i), value);
  }
  std::vector<Contact> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing contacts"));
    if (!row) break;
    out.push_back(ReadContact(s));
  }
  return out;
}

Status SqliteStore::UpdateContact(const Contact& contact) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("SELECT phone FROM contacts WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, contact.id).Bind(2, contact.account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading contact"));
    if (!row) {
      return NotFound("contact " + std::to_string(contact.id) + " not found in account " +
                      std::to_string(contact.account_id));
    }
    const std::string stored = s.Text(0);
    if (!contact.phone.empty() && contact.phone != stored) {
      return InvalidArgument("the phone of contact " + std::to_string(contact.id) + " (" + stored +
                             ") cannot be changed: consent is given by a phone number, so a "
                             "new number is a new contact");
    }
  }
  SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE contacts SET name = ?3, email = ?4, "
                                               "properties = ?5 WHERE id = ?1 AND "
                                               "account_id = ?2"));
  s.Bind(1, contact.id).Bind(2, contact.account_id).Bind(3, contact.name).Bind(4, contact.email);
  s.Bind(5, contact.properties);
  SMSC_RETURN_IF_ERROR(s.Run("updating contact"));
  return txn.Commit();
}

Status SqliteStore::DeleteContact(int64_t account_id, int64_t contact_id) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->ContactInAccount(account_id, contact_id));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s,
        impl_->Prepare(
            "SELECT (SELECT COUNT(*) FROM events WHERE account_id = ?1 AND contact_id = ?2), "
            "(SELECT COUNT(*) FROM inbound_messages WHERE account_id = ?1 AND "
            "contact_id = ?2), "
            "(SELECT COUNT(*) FROM outbox WHERE account_id = ?1 AND contact_id = ?2)"));
    s.Bind(1, account_id).Bind(2, contact_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting what refers to the contact"));
    const int64_t events = row ? s.Int(0) : 0;
    const int64_t inbound = row ? s.Int(1) : 0;
    const int64_t outbox = row ? s.Int(2) : 0;
    const std::string who = "contact " + std::to_string(contact_id);
    if (events > 0) {
      return FailedPrecondition(who + " has " + std::to_string(events) +
                                " consent event(s) and cannot be deleted: the consent ledger is "
                                "append-only and is the proof of consent");
    }
    if (inbound > 0 || outbox > 0) {
      return FailedPrecondition(
          who + " has " + std::to_string(inbound) + " inbound message(s) and " +
          std::to_string(outbox) +
          " queued or sent reply(ies) and cannot be deleted: they are the record of what the "
          "contact sent and what was answered, and keep provider retries idempotent");
    }
  }
  {
    // Status rows exist only for pairs with events; none is expected here, but a stray row
    // must not make the delete fail on its foreign key.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("DELETE FROM statuses WHERE account_id = ?1 AND contact_id = ?2"));
    s.Bind(1, account_id).Bind(2, contact_id);
    SMSC_RETURN_IF_ERROR(s.Run("deleting the contact's status rows"));
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        impl_->Prepare("DELETE FROM contacts WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, contact_id).Bind(2, account_id);
  SMSC_RETURN_IF_ERROR(s.Run("deleting contact"));
  return txn.Commit();
}

// ---- Statuses -----------------------------------------------------------------------------

Result<std::vector<StatusRow>> SqliteStore::GetStatuses(int64_t account_id, int64_t contact_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE account_id = ?1 AND "
                              "contact_id = ?2 ORDER BY number_id"));
  s.Bind(1, account_id).Bind(2, contact_id);
  std::vector<StatusRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading statuses"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
    out.push_back(r);
  }
  return out;
}

Result<std::vector<StatusRow>> SqliteStore::ListAllStatuses(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE account_id = ?1 "
                              "ORDER BY contact_id, number_id"));
  s.Bind(1, account_id);
  std::vector<StatusRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing statuses"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
    out.push_back(r);
  }
  return out;
}

namespace {
constexpr char kUpsertStatusSql[] =
    "INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, source, "
    "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = excluded.status, "
    "self_opted_out = excluded.self_opted_out, source = excluded.source, "
    "updated_at_ms = excluded.updated_at_ms";
}  // namespace

Status SqliteStore::ReplaceStatuses(int64_t account_id, const std::vector<StatusRow>& rows) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(account_id));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt del, impl_->Prepare("DELETE FROM statuses WHERE account_id = ?1"));
    del.Bind(1, account_id);
    SMSC_RETURN_IF_ERROR(del.Run("clearing statuses"));
  }
  std::set<int64_t> contacts_ok, numbers_ok;
  std::set<StatusKey> seen;
  for (const StatusRow& r : rows) {
    if (!seen.insert({r.contact_id, r.number_id}).second) {
      return InvalidArgument("status rows name contact " + std::to_string(r.contact_id) +
                             " on number " + std::to_string(r.number_id) + " twice");
    }
    if (contacts_ok.insert(r.contact_id).second) {
      SMSC_RETURN_IF_ERROR(impl_->ContactInAccount(account_id, r.contact_id));
    }
    if (numbers_ok.insert(r.number_id).second) {
      SMSC_RETURN_IF_ERROR(impl_->NumberInAccount(account_id, r.number_id));
    }
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare(kUpsertStatusSql));
    s.Bind(1, account_id)
        .Bind(2, r.contact_id)
        .Bind(3, r.number_id)
        .Bind(4, SubscriptionStatusName(r.state.status))
        .BindBool(5, r.state.self_opted_out)
        .Bind(6, SourceName(r.state.source))
        .Bind(7, r.state.updated_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("writing status"));
  }
  return txn.Commit();
}

// ---- Commit -------------------------------------------------------------------------------

namespace {

// Runs one statement through the connection's cache of prepared statements (the savepoint
// statements run for every item of every batch; this saves parsing them each time).
Status RunSql(Connection& impl, const char* sql, std::string_view what) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(sql));
  return s.Run(what);
}

// What one write transaction has established so far, kept across the change sets it writes
// (a batch, a job's chunk) so that each does not look it up again: accounts and sender
// numbers found (change sets never create or delete them) and each account's ledger head
// after the events written so far. Forget() the heads when a savepoint is rolled back.
struct WriteContext {
  std::set<int64_t> accounts_ok;
  std::set<std::pair<int64_t, int64_t>> numbers_ok;  // (account, number)
  struct Head {
    int64_t seq = 0;
    std::string hash;
  };
  std::unordered_map<int64_t, Head> heads;  // account -> ledger head in this transaction
  void Forget() { heads.clear(); }
};

// Writes one change set inside the caller's write transaction. On error it returns without
// undoing what it wrote: the caller rolls back (CommitBatch, to the item's savepoint, then
// calls ctx.Forget()).
Result<CommitResult> WriteChangeSet(Connection& impl, WriteContext& ctx, int64_t account_id,
                                    const ChangeSet& changes) {
  if (ctx.accounts_ok.count(account_id) == 0) {
    SMSC_RETURN_IF_ERROR(impl.AccountExists(account_id));
    ctx.accounts_ok.insert(account_id);
  }
  CommitResult result;

  // Each referenced contact is checked once per change set, each number once per transaction.
  std::set<int64_t> contacts_ok;
  auto check_contact = [&](int64_t id) -> Status {
    if (contacts_ok.count(id) != 0) return Status::Ok();
    SMSC_RETURN_IF_ERROR(impl.ContactInAccount(account_id, id));
    contacts_ok.insert(id);
    return Status::Ok();
  };
  auto check_number = [&](int64_t id) -> Status {
    if (ctx.numbers_ok.count({account_id, id}) != 0) return Status::Ok();
    SMSC_RETURN_IF_ERROR(impl.NumberInAccount(account_id, id));
    ctx.numbers_ok.insert({account_id, id});
    return Status::Ok();
  };
  // Set when this change set inserted its new contact: it has no statuses yet.
  bool contact_inserted = false;

  if (changes.new_contact.has_value()) {
    const Contact& c = *changes.new_contact;
    if (c.account_id != 0 && c.account_id != account_id) {
      return InvalidArgument("the new contact belongs to account " + std::to_string(c.account_id) +
                             ", not to account " + std::to_string(account_id));
    }
    if (c.phone.empty()) return InvalidArgument("the new contact has no phone number");
    // Usually the contact is new: insert it, and only when an earlier item of the same batch
    // (or another writer) created it already, find that one. Invalid properties are an error
    // only for a contact that has to be created.
    const bool properties_ok = CheckProperties(c.properties).ok();
    if (properties_ok) {
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl.Prepare("INSERT INTO contacts (account_id, phone, name, email, "
                               "created_at_ms, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                               "ON CONFLICT (account_id, phone) DO NOTHING"));
      s.Bind(1, account_id)
          .BindRef(2, c.phone)
          .BindRef(3, c.name)
          .BindRef(4, c.email)
          .Bind(5, c.created_at_ms)
          .BindRef(6, c.properties);
      SMSC_RETURN_IF_ERROR(s.Run("adding contact"));
      if (sqlite3_changes(impl.db.get()) == 1) {
        result.contact_id = sqlite3_last_insert_rowid(impl.db.get());
        contact_inserted = true;
      }
    }
    if (!contact_inserted) {
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl.Prepare("SELECT id FROM contacts WHERE account_id = ?1 AND phone = ?2"));
      s.Bind(1, account_id).BindRef(2, c.phone);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding contact by phone"));
      if (row) result.contact_id = s.Int(0);
    }
    if (result.contact_id == 0) {
      SMSC_RETURN_IF_ERROR(CheckProperties(c.properties));  // why it was not added
      return Internal("contact " + c.phone + " was neither added nor found");
    }
    contacts_ok.insert(result.contact_id);
  }
  // contact_id 0 in the change set means the new contact, when there is one.
  auto contact_of = [&](int64_t id) { return id == 0 ? result.contact_id : id; };

  if (changes.update_contact.has_value()) {
    const Contact& c = *changes.update_contact;
    SMSC_RETURN_IF_ERROR(CheckProperties(c.properties));
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("UPDATE contacts SET name = ?3, email = ?4, "
                                               "properties = ?5 WHERE id = ?1 AND "
                                               "account_id = ?2"));
    s.Bind(1, contact_of(c.id)).Bind(2, account_id).Bind(3, c.name).Bind(4, c.email);
    s.Bind(5, c.properties);
    SMSC_RETURN_IF_ERROR(s.Run("updating contact"));
    if (sqlite3_changes(impl.db.get()) == 0) {
      return NotFound("contact " + std::to_string(c.id) + " not found in account " +
                      std::to_string(account_id));
    }
  }

  if (changes.inbound.has_value()) {
    const InboundMessage& m = *changes.inbound;
    const int64_t inbound_contact = contact_of(m.contact_id);
    if (inbound_contact != 0) SMSC_RETURN_IF_ERROR(check_contact(inbound_contact));
    if (m.number_id != 0) SMSC_RETURN_IF_ERROR(check_number(m.number_id));
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("INSERT INTO inbound_messages (account_id, provider, "
                             "provider_message_id, from_phone, to_number, number_id, contact_id, "
                             "body, received_at_ms, decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                             "?7, ?8, ?9, ?10)"));
    s.Bind(1, account_id)
        .BindRef(2, m.provider)
        .BindRef(3, m.provider_message_id)
        .BindRef(4, m.from)
        .BindRef(5, m.to)
        .BindIdOrNull(6, m.number_id)
        .BindIdOrNull(7, inbound_contact)
        .BindRef(8, m.body)
        .Bind(9, m.received_at_ms)
        .BindRef(10, m.decision);
    int rc = SQLITE_OK;
    Status st = s.Run("storing inbound message", &rc);
    if (IsUniqueViolation(rc)) {
      return AlreadyExists("inbound message " + m.provider + "/" + m.provider_message_id +
                           " is already stored");
    }
    SMSC_RETURN_IF_ERROR(st);
    result.inbound_id = sqlite3_last_insert_rowid(impl.db.get());
  }

  if (changes.review.has_value()) {
    const ReviewItem& r = *changes.review;
    const int64_t inbound_id = r.inbound_id == 0 ? result.inbound_id : r.inbound_id;
    const int64_t contact_id = contact_of(r.contact_id);
    if (inbound_id == 0) return InvalidArgument("a review item needs its inbound message");
    SMSC_RETURN_IF_ERROR(check_contact(contact_id));
    SMSC_RETURN_IF_ERROR(check_number(r.number_id));
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("INSERT INTO review_items (account_id, inbound_id, contact_id, "
                             "number_id, rule, explanation, state, created_at_ms) VALUES (?1, ?2, "
                             "?3, ?4, ?5, ?6, 'open', ?7)"));
    s.Bind(1, account_id)
        .Bind(2, inbound_id)
        .Bind(3, contact_id)
        .Bind(4, r.number_id)
        .BindRef(5, r.rule)
        .BindRef(6, r.explanation)
        .Bind(7, r.created_at_ms);
    int rc = SQLITE_OK;
    Status st = s.Run("storing review item", &rc);
    if (IsUniqueViolation(rc)) {
      return AlreadyExists("inbound message " + std::to_string(inbound_id) +
                           " has a review item already");
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return NotFound("inbound message " + std::to_string(inbound_id) + " is not in account " +
                      std::to_string(account_id));
    }
    SMSC_RETURN_IF_ERROR(st);
  }

  // The account's ledger head in this transaction, read once.
  auto ledger_head = [&]() -> Result<WriteContext::Head*> {
    auto head = ctx.heads.find(account_id);
    if (head == ctx.heads.end()) {
      WriteContext::Head h{0, kGenesisHash};
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("SELECT seq, hash FROM events WHERE "
                                                 "account_id = ?1 ORDER BY seq DESC LIMIT 1"));
      s.Bind(1, account_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the ledger head"));
      if (row) {
        h.seq = s.Int(0);
        h.hash = s.Text(1);
      }
      head = ctx.heads.emplace(account_id, std::move(h)).first;
    }
    return &head->second;
  };

  if (!changes.events.empty()) {
    SMSC_ASSIGN_OR_RETURN(WriteContext::Head * head, ledger_head());
    int64_t seq = head->seq;
    std::string prev_hash = head->hash;
    result.events.reserve(changes.events.size());
    for (const EventDraft& draft : changes.events) {
      EventDraft resolved;
      const EventDraft& d = ResolveDraftContact(draft, result.contact_id, &resolved);
      SMSC_RETURN_IF_ERROR(check_contact(d.contact_id));
      SMSC_RETURN_IF_ERROR(check_number(d.number_id));

      ConsentState before;  // no row: not_specified
      if (!(contact_inserted && d.contact_id == result.contact_id)) {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("SELECT " SMSC_STATUS_COLS
                                                   " FROM statuses WHERE account_id = ?1 AND "
                                                   "contact_id = ?2 AND number_id = ?3"));
        s.Bind(1, account_id).Bind(2, d.contact_id).Bind(3, d.number_id);
        SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading current status"));
        if (row) {
          SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
          before = r.state;
        }
      }
      SMSC_ASSIGN_OR_RETURN(ConsentEvent e, NextChainEvent(account_id, d, before, seq, prev_hash));
      seq = e.seq;
      {
        SMSC_ASSIGN_OR_RETURN(
            Stmt s, impl.Prepare("INSERT INTO events (account_id, seq, contact_id, phone, "
                                 "number_id, sender, from_status, to_status, source, actor, "
                                 "at_ms, evidence, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, "
                                 "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
        s.Bind(1, e.account_id)
            .Bind(2, e.seq)
            .Bind(3, e.contact_id)
            .BindRef(4, e.phone)
            .Bind(5, e.number_id)
            .BindRef(6, e.sender)
            .BindRef(7, SubscriptionStatusName(e.from))
            .BindRef(8, SubscriptionStatusName(e.to))
            .BindRef(9, SourceName(e.source))
            .BindRef(10, e.actor)
            .Bind(11, e.at_ms)
            .BindRef(12, e.evidence)
            .BindRef(13, e.prev_hash)
            .BindRef(14, e.hash);
        SMSC_RETURN_IF_ERROR(s.Run("appending consent event"));
        e.id = sqlite3_last_insert_rowid(impl.db.get());
      }

      ConsentState after = ApplyEvent(before, d.to, d.source, d.at_ms);
      {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(kUpsertStatusSql));
        s.Bind(1, account_id)
            .Bind(2, d.contact_id)
            .Bind(3, d.number_id)
            .BindRef(4, SubscriptionStatusName(after.status))
            .BindBool(5, after.self_opted_out)
            .BindRef(6, SourceName(after.source))
            .Bind(7, after.updated_at_ms);
        SMSC_RETURN_IF_ERROR(s.Run("updating status"));
      }
      prev_hash = e.hash;
      result.events.push_back(std::move(e));
    }
    head->seq = seq;
    head->hash = std::move(prev_hash);
  }

  result.outbox.reserve(changes.outbox.size());
  for (const OutboxItem& item : changes.outbox) {
    OutboxItem o = item;
    o.contact_id = contact_of(item.contact_id);
    SMSC_RETURN_IF_ERROR(check_number(o.number_id));
    if (o.contact_id != 0) SMSC_RETURN_IF_ERROR(check_contact(o.contact_id));
    o.account_id = account_id;
    o.attempts = 0;
    o.last_error.clear();
    o.lease_owner.clear();
    o.lease_until_ms = 0;
    if (o.channel == kChannelResponse) {
      // Delivered in the webhook's own HTTP response: recorded, never dispatched.
      o.state = OutboxState::kSent;
      o.sent_at_ms = o.created_at_ms;
    } else if (o.channel == kChannelApi) {
      o.state = OutboxState::kPending;
      o.sent_at_ms = 0;
      o.provider_message_id.clear();
    } else {
      return InvalidArgument("outbox item channel \"" + o.channel +
                             "\" is unknown (expected api or response)");
    }
    if (o.inbound_id == 0) o.inbound_id = result.inbound_id;
    // After this change set's events: what the reply was decided on.
    SMSC_ASSIGN_OR_RETURN(WriteContext::Head * head, ledger_head());
    o.queued_at_seq = head->seq;
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("INSERT INTO outbox (account_id, number_id, contact_id, to_phone, "
                             "from_number, body, kind, state, attempts, last_error, inbound_id, "
                             "created_at_ms, next_attempt_at_ms, channel, provider_message_id, "
                             "lease_owner, lease_until_ms, sent_at_ms, queued_at_seq) VALUES "
                             "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                             "?16, ?17, ?18, ?19)"));
    // `o` outlives `s` (declared before it): its strings are bound without copies.
    s.Bind(1, o.account_id)
        .Bind(2, o.number_id)
        .BindIdOrNull(3, o.contact_id)
        .BindRef(4, o.to)
        .BindRef(5, o.from)
        .BindRef(6, o.body)
        .BindRef(7, ReplyKindName(o.kind))
        .BindRef(8, OutboxStateName(o.state))
        .Bind(9, int64_t{o.attempts})
        .BindRef(10, o.last_error)
        .BindIdOrNull(11, o.inbound_id)
        .Bind(12, o.created_at_ms)
        .Bind(13, o.next_attempt_at_ms)
        .BindRef(14, o.channel)
        .BindRef(15, o.provider_message_id)
        .BindRef(16, o.lease_owner)
        .Bind(17, o.lease_until_ms)
        .Bind(18, o.sent_at_ms)
        .Bind(19, o.queued_at_seq);
    int rc = SQLITE_OK;
    Status st = s.Run("queueing outbox item", &rc);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return NotFound("outbox item refers to inbound message " + std::to_string(o.inbound_id) +
                      ", which is not in account " + std::to_string(account_id));
    }
    SMSC_RETURN_IF_ERROR(st);
    o.id = sqlite3_last_insert_rowid(impl.db.get());
    result.outbox.push_back(std::move(o));
  }
  return result;
}

}  // namespace

Result<CommitResult> SqliteStore::Commit(int64_t account_id, const ChangeSet& changes) {
  std::vector<Result<CommitResult>> results = CommitBatch({BatchItem{account_id, &changes}});
  return std::move(results.front());
}

// Group commit: one BEGIN IMMEDIATE, the items, one COMMIT: one fsync for the batch. Every
// item re-reads the ledger head and the statuses it checks (or takes them from the items
// before it), so it sees those items exactly as a later, separate Commit would.
//
// An item that fails must leave no trace while the others are kept. A savepoint per item
// does that, but costs: SQLite copies every page an item touches into the savepoint's
// journal first (about 20 pages, 80 KB, per inbound message). Items rarely fail (a
// provider's retry, a concurrent change), so the batch is first written without savepoints;
// only when an item fails is the transaction rolled back and the batch written again with a
// savepoint per item. A batch of one needs no second pass: the rollback is the item's.
std::vector<Result<CommitResult>> SqliteStore::CommitBatch(const std::vector<BatchItem>& items) {
  std::vector<Result<CommitResult>> results;
  results.reserve(items.size());
  // The batch as a whole failed: items already written are lost with the transaction.
  auto fail_all = [&](const Status& st) {
    for (Result<CommitResult>& r : results) {
      if (r.ok()) r = st;
    }
    while (results.size() < items.size()) results.emplace_back(st);
    return std::move(results);
  };
  if (items.empty()) return results;

  std::lock_guard<std::mutex> lock(mu_);
  Impl& impl = *impl_;
  for (const bool savepoints : {false, true}) {
    results.clear();
    Result<WriteTxn> txn = WriteTxn::Begin(&impl);
    if (!txn.ok()) return fail_all(txn.status());
    WriteContext ctx;
    bool again = false;
    for (const BatchItem& item : items) {
      if (item.changes == nullptr) {
        results.emplace_back(InvalidArgument("batch item without a change set"));
        continue;
      }
      if (savepoints) {
        Status st = RunSql(impl, "SAVEPOINT batch_item", "starting a batch item");
        if (!st.ok()) return fail_all(st);
      }
      Result<CommitResult> written = WriteChangeSet(impl, ctx, item.account_id, *item.changes);
      if (!written.ok()) {
        // Some errors (I/O, disk full) make SQLite roll back the whole transaction itself.
        if (sqlite3_get_autocommit(impl.db.get()) != 0) return fail_all(written.status());
        if (!savepoints) {
          if (items.size() == 1) {
            results.push_back(std::move(written));
            return results;  // `txn` rolls back as it goes
          }
          again = true;
          break;
        }
        Status st = RunSql(impl, "ROLLBACK TO batch_item", "rolling back a batch item");
        ctx.Forget();
        if (!st.ok()) return fail_all(st);
      }
      if (savepoints) {
        Status st = RunSql(impl, "RELEASE batch_item", "finishing a batch item");
        if (!st.ok()) return fail_all(st);
      }
      results.push_back(std::move(written));
    }
    if (again) continue;               // `txn` rolls back as it goes; written again, item by item
    Status committed = txn->Commit();  // the fsync
    if (!committed.ok()) return fail_all(committed);
    return results;
  }
  return results;  // not reached: the second pass always returns
}

// ---- Events -------------------------------------------------------------------------------

Result<std::vector<ConsentEvent>> SqliteStore::ListEvents(int64_t account_id, const EventQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  ReadLease reader = impl_->Read(mu_);
  std::optional<Stmt> s;
  if (q.contact_id.has_value()) {
    SMSC_ASSIGN_OR_RETURN(Stmt st, reader->Prepare("SELECT " SMSC_EVENT_COLS
                                                   " FROM events WHERE account_id = ?1 AND seq > "
                                                   "?2 AND contact_id = ?4 ORDER BY seq LIMIT ?3"));
    s.emplace(std::move(st));
    s->Bind(4, *q.contact_id);
  } else {
    SMSC_ASSIGN_OR_RETURN(Stmt st, reader->Prepare("SELECT " SMSC_EVENT_COLS
                                                   " FROM events WHERE account_id = ?1 AND seq > "
                                                   "?2 ORDER BY seq LIMIT ?3"));
    s.emplace(std::move(st));
  }
  s->Bind(1, account_id).Bind(2, q.after_seq).Bind(3, int64_t{q.limit});
  std::vector<ConsentEvent> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s->Step("listing consent events"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(ConsentEvent e, ReadEvent(*s));
    out.push_back(std::move(e));
  }
  return out;
}

Status SqliteStore::DebugOverwriteEvent(const ConsentEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("UPDATE events SET account_id = ?2, seq = ?3, contact_id = ?4, "
                             "phone = ?5, number_id = ?6, sender = ?7, from_status = ?8, "
                             "to_status = ?9, source = ?10, actor = ?11, at_ms = ?12, "
                             "evidence = ?13, prev_hash = ?14, hash = ?15 WHERE id = ?1"));
  s.Bind(1, e.id)
      .Bind(2, e.account_id)
      .Bind(3, e.seq)
      .Bind(4, e.contact_id)
      .Bind(5, e.phone)
      .Bind(6, e.number_id)
      .Bind(7, e.sender)
      .Bind(8, SubscriptionStatusName(e.from))
      .Bind(9, SubscriptionStatusName(e.to))
      .Bind(10, SourceName(e.source))
      .Bind(11, e.actor)
      .Bind(12, e.at_ms)
      .Bind(13, e.evidence)
      .Bind(14, e.prev_hash)
      .Bind(15, e.hash);
  SMSC_RETURN_IF_ERROR(s.Run("overwriting event " + std::to_string(e.id)));
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("event " + std::to_string(e.id) + " not found");
  }
  return txn.Commit();
}

// ---- Inbound and outbox -------------------------------------------------------------------

Result<std::optional<InboundMessage>> SqliteStore::FindInbound(
    int64_t account_id, const std::string& provider, const std::string& provider_message_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_INBOUND_COLS
                                                " FROM inbound_messages WHERE account_id = ?1 "
                                                "AND provider = ?2 AND provider_message_id = ?3"));
  s.Bind(1, account_id).Bind(2, provider).Bind(3, provider_message_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding inbound message"));
  if (!row) return std::optional<InboundMessage>();
  return std::optional<InboundMessage>(ReadInbound(s));
}

Result<std::vector<InboundMessage>> SqliteStore::ListInbound(int64_t account_id,
                                                             const InboundQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  ReadLease reader = impl_->Read(mu_);
  // ?1 account, ?2 cursor, ?3 limit, ?4 contact, ?5 number. The UNIQUE (account_id, id) index
  // gives the order; with a contact, inbound_messages_by_contact (whose rows end in the id)
  // does. A number filter walks the account's messages newest first.
  std::string sql = "SELECT " SMSC_INBOUND_COLS " FROM inbound_messages WHERE account_id = ?1";
  if (q.before_id > 0) sql += " AND id < ?2";
  if (q.contact_id) sql += " AND contact_id = ?4";
  if (q.number_id) sql += " AND number_id = ?5";
  sql += " ORDER BY id DESC LIMIT ?3";
  if (q.contact_id) SMSC_RETURN_IF_ERROR(reader->ContactInAccount(account_id, *q.contact_id));
  if (q.number_id) SMSC_RETURN_IF_ERROR(reader->NumberInAccount(account_id, *q.number_id));
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(3, int64_t{q.limit});
  if (q.before_id > 0) s.Bind(2, q.before_id);
  if (q.contact_id) s.Bind(4, *q.contact_id);
  if (q.number_id) s.Bind(5, *q.number_id);
  std::vector<InboundMessage> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing inbound messages"));
    if (!row) break;
    out.push_back(ReadInbound(s));
  }
  return out;
}

// ---- Review items ----------------------------------------------------------------------------

Result<std::vector<ReviewItem>> SqliteStore::ListReviews(int64_t account_id, const ReviewQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  // ?1 account, ?2 cursor, ?3 limit, ?4 state: review_items_by_account_state gives the order.
  std::string sql =
      "SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM " WHERE r.account_id = ?1 AND r.id > ?2";
  if (q.state) sql += " AND r.state = ?4";
  sql += " ORDER BY r.id LIMIT ?3";
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (q.state) s.Bind(4, ReviewStateName(*q.state));
  std::vector<ReviewItem> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing review items"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(ReviewItem r, ReadReview(s));
    out.push_back(std::move(r));
  }
  return out;
}

Result<ReviewItem> SqliteStore::GetReview(int64_t account_id, int64_t id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM
                                                " WHERE r.account_id = ?1 AND r.id = ?2"));
  s.Bind(1, account_id).Bind(2, id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading review item"));
  if (!row) return ReviewNotFound(account_id, id);
  return ReadReview(s);
}

Result<ReviewItem> SqliteStore::ResolveReview(int64_t account_id, const ReviewResolution& r) {
  SMSC_RETURN_IF_ERROR(CheckReviewResolution(r));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // Only an open item changes: of two resolutions, the second finds it closed.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("UPDATE review_items SET state = ?3, reviewed_by = ?4, "
                               "reviewed_at_ms = ?5, note = ?6 WHERE account_id = ?1 AND id = ?2 "
                               "AND state = 'open'"));
    s.Bind(1, account_id)
        .Bind(2, r.id)
        .Bind(3, ReviewStateName(r.state))
        .Bind(4, r.reviewed_by)
        .Bind(5, r.reviewed_at_ms)
        .Bind(6, r.note);
    SMSC_RETURN_IF_ERROR(s.Run("resolving review item " + std::to_string(r.id)));
  }
  const bool changed = sqlite3_changes(impl_->db.get()) == 1;
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM
                                               " WHERE r.account_id = ?1 AND r.id = ?2"));
  s.Bind(1, account_id).Bind(2, r.id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading review item"));
  if (!row) return ReviewNotFound(account_id, r.id);
  SMSC_ASSIGN_OR_RETURN(ReviewItem stored, ReadReview(s));
  if (!changed) return ReviewNotOpen(stored);
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return stored;
}

Result<int64_t> SqliteStore::CountOpenReviews() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT COUNT(*) FROM review_items WHERE state = 'open'"));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting open review items"));
  return row ? s.Int(0) : 0;
}

Result<std::vector<OutboxItem>> SqliteStore::ListOutbox(int64_t account_id, const OutboxQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  constexpr size_t kMaxInboundIds = 10'000;
  if (q.inbound_ids && q.inbound_ids->size() > kMaxInboundIds) {
    return InvalidArgument("at most " + std::to_string(kMaxInboundIds) +
                           " inbound message ids per outbox query");
  }
  if (q.inbound_ids && q.inbound_ids->empty()) return std::vector<OutboxItem>();
  // ?1 account, ?2 after, ?3 limit, ?4 before, ?5 inbound ids (a JSON array), ?6 contact,
  // ?7 sent from, ?8 sent until, ?9… states. One state (IN with one value is an equality)
  // walks outbox_by_account_state in id order; inbound ids look up outbox_by_inbound, a
  // contact outbox_by_contact.
  std::string sql = "SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = ?1 AND id > ?2";
  if (q.before_id > 0) sql += " AND id < ?4";
  if (q.inbound_ids) sql += " AND inbound_id IN (SELECT value FROM json_each(?5))";
  if (q.contact_id) sql += " AND contact_id = ?6";
  if (q.sent_from_ms) sql += " AND sent_at_ms >= ?7";
  if (q.sent_until_ms) sql += " AND sent_at_ms <= ?8";
  std::vector<OutboxState> states;
  for (OutboxState st : q.states) {
    if (std::find(states.begin(), states.end(), st) == states.end()) states.push_back(st);
  }
  if (!states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < states.size(); ++i) {
      sql += (i ? ", ?" : "?") + std::to_string(9 + i);
    }
    sql += ")";
  }
  sql += q.newest_first ? " ORDER BY id DESC LIMIT ?3" : " ORDER BY id LIMIT ?3";
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (q.before_id > 0) s.Bind(4, q.before_id);
  if (q.inbound_ids) s.Bind(5, nlohmann::json(*q.inbound_ids).dump());
  if (q.contact_id) s.Bind(6, *q.contact_id);
  if (q.sent_from_ms) s.Bind(7, *q.sent_from_ms);
  if (q.sent_until_ms) s.Bind(8, *q.sent_until_ms);
  for (size_t i = 0; i < states.size(); ++i) {
    s.Bind(static_cast<int>(9 + i), OutboxStateName(states[i]));
  }
  std::vector<OutboxItem> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing outbox"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(s));
    out.push_back(std::move(o));
  }
  return out;
}

Result<OutboxItem> SqliteStore::GetOutboxItem(int64_t account_id, int64_t id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_OUTBOX_COLS
                                                " FROM outbox WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, id).Bind(2, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading outbox item"));
  if (!row) {
    return NotFound("outbox item " + std::to_string(id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadOutbox(s);
}

// ---- Outbox dispatch ----------------------------------------------------------------------
// The state machine and why it sends each reply at most once: docs/storage.md, "The outbox".

Result<ClaimedOutbox> SqliteStore::ClaimOutbox(const OutboxClaim& claim) {
  SMSC_RETURN_IF_ERROR(CheckOutboxClaim(claim));
  std::lock_guard<std::mutex> lock(mu_);
  // The write lock is taken before the SELECT, so no other connection (or process) can claim
  // the same rows, or change a contact's status, between our read and our update: each item is
  // checked against the status as it is when the item is claimed.
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  ClaimedOutbox out;
  const int64_t until = claim.now_ms + claim.lease_ms;
  while (static_cast<int>(out.items.size()) < claim.limit &&
         static_cast<int>(out.retired.size()) < kMaxRetiredPerClaim) {
    // Each item with its contact's status on its number now, and whether an event changed that
    // status after the item was queued (events_by_contact: the pair's events past its seq).
    std::vector<OutboxItem> due;
    std::vector<std::pair<SubscriptionStatus, bool>> contact_now;
    {
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_->Prepare(
                      "SELECT " SMSC_OUTBOX_COLS
                      ", COALESCE((SELECT s.status FROM statuses s WHERE s.account_id = "
                      "outbox.account_id AND s.contact_id = outbox.contact_id AND s.number_id = "
                      "outbox.number_id), 'not_specified'), EXISTS (SELECT 1 FROM events e WHERE "
                      "e.account_id = outbox.account_id AND e.contact_id = outbox.contact_id AND "
                      "e.number_id = outbox.number_id AND e.seq > outbox.queued_at_seq AND "
                      "e.from_status <> e.to_status) FROM outbox WHERE state = 'pending' AND "
                      "next_attempt_at_ms <= ?1 ORDER BY id LIMIT ?2"));
      s.Bind(1, claim.now_ms).Bind(2, int64_t{claim.limit - static_cast<int>(out.items.size())});
      while (true) {
        SMSC_ASSIGN_OR_RETURN(bool row, s.Step("selecting due outbox items"));
        if (!row) break;
        SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(s));
        auto status = ParseSubscriptionStatus(s.Text(20));
        if (!status.ok()) return BadColumn(status, "statuses", o.contact_id);
        contact_now.emplace_back(*status, s.Int(21) != 0);
        due.push_back(std::move(o));
      }
    }
    if (due.empty()) break;
    for (size_t i = 0; i < due.size(); ++i) {
      OutboxItem& o = due[i];
      std::optional<Retirement> retire =
          RetirementOf(o, contact_now[i].first, contact_now[i].second, claim);
      if (retire) {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE outbox SET state = ?2, last_error = "
                                                     "?3 WHERE id = ?1"));
        s.Bind(1, o.id).Bind(2, OutboxStateName(retire->state)).Bind(3, retire->reason);
        SMSC_RETURN_IF_ERROR(s.Run("retiring outbox item " + std::to_string(o.id)));
        o.state = retire->state;
        o.last_error = std::move(retire->reason);
        out.retired.push_back(std::move(o));
        continue;
      }
      SMSC_ASSIGN_OR_RETURN(Stmt s,
                            impl_->Prepare("UPDATE outbox SET state = 'sending', lease_owner = ?2, "
                                           "lease_until_ms = ?3 WHERE id = ?1"));
      s.Bind(1, o.id).Bind(2, claim.owner).Bind(3, until);
      SMSC_RETURN_IF_ERROR(s.Run("claiming outbox item " + std::to_string(o.id)));
      o.state = OutboxState::kSending;
      o.lease_owner = claim.owner;
      o.lease_until_ms = until;
      out.items.push_back(std::move(o));
    }
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Status SqliteStore::CompleteOutbox(const OutboxCompletion& c) {
  if (c.state == OutboxState::kSending) {
    return InvalidArgument("an outbox item cannot be completed to state sending");
  }
  if (c.lease_owner.empty()) return InvalidArgument("an outbox completion needs its lease owner");
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // next_attempt_at_ms only moves for a retry; sent_at_ms is only set when sent. The lease
    // owner stays as a record of which dispatcher finished the item.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare(
                    "UPDATE outbox SET state = ?3, attempts = ?4, last_error = ?5, "
                    "next_attempt_at_ms = CASE WHEN ?3 = 'pending' THEN ?6 ELSE "
                    "next_attempt_at_ms END, provider_message_id = ?7, sent_at_ms = CASE WHEN ?3 "
                    "= 'sent' THEN ?8 ELSE 0 END, lease_until_ms = 0 WHERE id = ?1 AND state = "
                    "'sending' AND lease_owner = ?2"));
    s.Bind(1, c.id)
        .Bind(2, c.lease_owner)
        .Bind(3, OutboxStateName(c.state))
        .Bind(4, int64_t{c.attempts})
        .Bind(5, c.last_error)
        .Bind(6, c.next_attempt_at_ms)
        .Bind(7, c.provider_message_id)
        .Bind(8, c.at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("completing outbox item " + std::to_string(c.id)));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("SELECT state, lease_owner FROM outbox WHERE id = ?1"));
    s.Bind(1, c.id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading outbox item"));
    if (!row) return NotFound("outbox item " + std::to_string(c.id) + " not found");
    return Aborted("outbox item " + std::to_string(c.id) + " is no longer leased to " +
                   c.lease_owner + " (state " + s.Text(0) + ", lease owner " +
                   (s.Text(1).empty() ? std::string("none") : s.Text(1)) + ")");
  }
  return txn.Commit();
}

Result<int64_t> SqliteStore::ExpireOutboxLeases(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // The dispatcher that held the lease died (or stalled) while the request may have reached
    // the provider: the only choice that never sends a reply twice is to stop here. Counted as
    // an attempt, since one was made.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("UPDATE outbox SET state = 'dead', last_error = ?2, attempts = "
                               "attempts + 1, lease_until_ms = 0 WHERE state = 'sending' AND "
                               "lease_until_ms < ?1"));
    s.Bind(1, now_ms).Bind(2, kInterruptedError);
    SMSC_RETURN_IF_ERROR(s.Run("expiring outbox leases"));
  }
  const int64_t n = sqlite3_changes(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return n;
}

Result<std::vector<std::pair<OutboxState, int64_t>>> SqliteStore::CountOutbox() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state"));
  std::vector<std::pair<OutboxState, int64_t>> out;
  for (OutboxState st : AllOutboxStates()) out.emplace_back(st, 0);
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting outbox items"));
    if (!row) break;
    auto state = ParseOutboxState(s.Text(0));
    if (!state.ok()) return BadColumn(state, "outbox", 0);
    for (auto& [st, n] : out) {
      if (st == *state) n = s.Int(1);
    }
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

// ---- Jobs ---------------------------------------------------------------------------------

namespace {

Result<std::optional<Job>> SelectJob(Connection& impl, const char* where, int64_t a, int64_t b) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(std::string("SELECT " SMSC_JOB_COLS " FROM jobs "
                                                         "WHERE ") +
                                             where));
  s.Bind(1, a).Bind(2, b);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading job"));
  if (!row) return std::optional<Job>();
  SMSC_ASSIGN_OR_RETURN(Job j, ReadJob(s));
  return std::optional<Job>(std::move(j));
}

}  // namespace

Result<std::pair<Job, bool>> SqliteStore::CreateJob(const Job& job, const InputSource& next_input) {
  if (job.kind.empty()) return InvalidArgument("a job needs a kind");
  if (job.idempotency_key.empty()) return InvalidArgument("a job needs an idempotency key");
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(job.account_id));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT " SMSC_JOB_COLS " FROM jobs WHERE "
                                                 "account_id = ?1 AND idempotency_key = ?2"));
    s.Bind(1, job.account_id).Bind(2, job.idempotency_key);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding job by idempotency key"));
    if (row) {
      SMSC_ASSIGN_OR_RETURN(Job existing, ReadJob(s));
      return std::make_pair(std::move(existing), false);
    }
  }
  Job out = job;
  out.state = JobState::kQueued;
  out.done = 0;
  out.lease_owner.clear();
  out.lease_until_ms = 0;
  out.finished_at_ms = 0;
  out.updated_at_ms = job.created_at_ms;
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT INTO jobs (account_id, kind, idempotency_key, request, "
                               "state, total, cursor, result, created_at_ms, updated_at_ms) "
                               "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?8)"));
    s.Bind(1, job.account_id)
        .Bind(2, job.kind)
        .Bind(3, job.idempotency_key)
        .Bind(4, job.request)
        .Bind(5, job.total)
        .Bind(6, job.cursor)
        .Bind(7, job.result.empty() ? std::string("{}") : job.result)
        .Bind(8, job.created_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("creating job"));
    out.id = sqlite3_last_insert_rowid(impl_->db.get());
  }
  int64_t chunks = 0;
  while (next_input) {
    SMSC_ASSIGN_OR_RETURN(std::optional<std::string> chunk, next_input());
    if (!chunk) break;
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("INSERT INTO job_inputs (job_id, chunk, data) VALUES (?1, ?2, ?3)"));
    s.Bind(1, out.id).Bind(2, chunks).BindBlob(3, *chunk);
    SMSC_RETURN_IF_ERROR(s.Run("storing job input"));
    ++chunks;
  }
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("UPDATE jobs SET input_chunks = ?2 WHERE id = ?1"));
    s.Bind(1, out.id).Bind(2, chunks);
    SMSC_RETURN_IF_ERROR(s.Run("recording job input size"));
  }
  out.input_chunks = chunks;
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return std::make_pair(std::move(out), true);
}

Result<Job> SqliteStore::GetJob(int64_t account_id, int64_t job_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      auto job, SelectJob(*reader.get(), "id = ?1 AND account_id = ?2", job_id, account_id));
  if (!job) {
    return NotFound("job " + std::to_string(job_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return std::move(*job);
}

Result<std::string> SqliteStore::ReadJobInput(int64_t job_id, int64_t index) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT data FROM job_inputs WHERE job_id = ?1 AND chunk = ?2"));
  s.Bind(1, job_id).Bind(2, index);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading job input"));
  if (!row) {
    return NotFound("job " + std::to_string(job_id) + " has no input chunk " +
                    std::to_string(index));
  }
  return s.Blob(0);
}

Result<std::optional<Job>> SqliteStore::ClaimJob(int64_t job_id, const std::string& owner,
                                                 int64_t now_ms, int64_t lease_ms) {
  SMSC_RETURN_IF_ERROR(CheckLease("a job claim", owner, lease_ms));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  std::optional<Job> job;
  {
    // ?1 job id (0: any), ?2 now; the owner is checked below.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("SELECT " SMSC_JOB_COLS " FROM jobs WHERE (?1 = 0 OR id = ?1) "
                               "AND (state = 'queued' OR (state = 'running' AND "
                               "(lease_until_ms < ?2 OR lease_owner = ?3))) ORDER BY id "
                               "LIMIT 1"));
    s.Bind(1, job_id).Bind(2, now_ms).Bind(3, owner);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding a claimable job"));
    if (row) {
      SMSC_ASSIGN_OR_RETURN(Job j, ReadJob(s));
      job = std::move(j);
    }
  }
  if (!job) return std::optional<Job>();
  job->state = JobState::kRunning;
  job->lease_owner = owner;
  job->lease_until_ms = now_ms + lease_ms;
  job->updated_at_ms = now_ms;
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE jobs SET state = 'running', "
                                                 "lease_owner = ?2, lease_until_ms = ?3, "
                                                 "updated_at_ms = ?4 WHERE id = ?1"));
    s.Bind(1, job->id).Bind(2, owner).Bind(3, job->lease_until_ms).Bind(4, now_ms);
    SMSC_RETURN_IF_ERROR(s.Run("claiming job"));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return job;
}

Result<std::vector<CommitResult>> SqliteStore::CommitJobChunk(int64_t account_id,
                                                              const std::vector<ChangeSet>& changes,
                                                              const JobProgress& progress) {
  if (progress.finish && *progress.finish != JobState::kDone &&
      *progress.finish != JobState::kFailed) {
    return InvalidArgument("a job can only finish as done or failed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Impl& impl = *impl_;
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(&impl));
  {
    SMSC_ASSIGN_OR_RETURN(
        auto job, SelectJob(impl, "id = ?1 AND account_id = ?2", progress.job_id, account_id));
    if (!job) {
      return NotFound("job " + std::to_string(progress.job_id) + " not found in account " +
                      std::to_string(account_id));
    }
    if (job->state != JobState::kRunning || job->lease_owner != progress.lease_owner) {
      return Aborted("job " + std::to_string(job->id) + " is no longer held by '" +
                     progress.lease_owner + "'");
    }
  }
  std::vector<CommitResult> results;
  results.reserve(changes.size());
  // The job's row proves the account (jobs.account_id references it). Any error fails the
  // whole chunk, so the context is never out of step with the transaction.
  WriteContext ctx;
  ctx.accounts_ok.insert(account_id);
  for (const ChangeSet& c : changes) {
    SMSC_ASSIGN_OR_RETURN(CommitResult r, WriteChangeSet(impl, ctx, account_id, c));
    results.push_back(std::move(r));
  }
  for (const JobReject& r : progress.rejects) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("INSERT OR REPLACE INTO job_rejects (job_id, row, "
                                               "phone, reason, detail) VALUES (?1, ?2, ?3, ?4, "
                                               "?5)"));
    s.Bind(1, progress.job_id).Bind(2, r.row).Bind(3, r.phone).Bind(4, r.reason);
    s.Bind(5, r.detail);
    SMSC_RETURN_IF_ERROR(s.Run("recording a skipped row"));
  }
  {
    const bool finished = progress.finish.has_value();
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("UPDATE jobs SET done = ?2, total = ?3, cursor = ?4, result = ?5, "
                             "updated_at_ms = ?6, lease_until_ms = ?7, state = ?8, error = ?9, "
                             "finished_at_ms = ?10, lease_owner = ?11 WHERE id = ?1"));
    s.Bind(1, progress.job_id)
        .Bind(2, progress.done)
        .Bind(3, progress.total)
        .Bind(4, progress.cursor)
        .Bind(5, progress.result.empty() ? std::string("{}") : progress.result)
        .Bind(6, progress.at_ms)
        .Bind(7, finished ? int64_t{0} : progress.lease_until_ms)
        .Bind(8, JobStateName(finished ? *progress.finish : JobState::kRunning))
        .Bind(9, progress.error)
        .Bind(10, finished ? progress.at_ms : int64_t{0})
        .Bind(11, finished ? std::string() : progress.lease_owner);
    SMSC_RETURN_IF_ERROR(s.Run("recording job progress"));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return results;
}

Result<std::vector<JobReject>> SqliteStore::ListJobRejects(int64_t account_id, int64_t job_id,
                                                           int64_t after_row, int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  ReadLease reader = impl_->Read(mu_);
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          reader->Prepare("SELECT 1 FROM jobs WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, job_id).Bind(2, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding job"));
    if (!row) {
      return NotFound("job " + std::to_string(job_id) + " not found in account " +
                      std::to_string(account_id));
    }
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT row, phone, reason, detail FROM "
                                                "job_rejects WHERE job_id = ?1 AND row > ?2 "
                                                "ORDER BY row LIMIT ?3"));
  s.Bind(1, job_id).Bind(2, after_row).Bind(3, int64_t{limit});
  std::vector<JobReject> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing skipped rows"));
    if (!row) break;
    out.push_back(JobReject{s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
  }
  return out;
}

Result<std::optional<ContactState>> SqliteStore::FindContactState(int64_t account_id,
                                                                  const std::string& e164,
                                                                  int64_t number_id) {
  // The cache (state_cache.h) answers while the database is unchanged since the answer was
  // read; the stamp is read before the read transaction below begins.
  const std::optional<WalStamp> stamp =
      impl_->wal_watch ? impl_->wal_watch->Now() : std::optional<WalStamp>();
  const std::optional<uint64_t> phone_key =
      stamp ? ContactStateCache::PhoneKey(e164) : std::optional<uint64_t>();
  if (phone_key) {
    auto cached = impl_->state_cache.Find(*stamp, account_id, *phone_key, number_id);
    if (cached) return *cached;
  }
  SMSC_ASSIGN_OR_RETURN(std::optional<ContactState> answer,
                        ReadContactState(account_id, e164, number_id));
  if (phone_key) impl_->state_cache.Store(*stamp, account_id, *phone_key, number_id, answer);
  return answer;
}

Result<std::optional<ContactState>> SqliteStore::ReadContactState(int64_t account_id,
                                                                  const std::string& e164,
                                                                  int64_t number_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT c.id, s.status, s.self_opted_out, s.source, "
                              "s.updated_at_ms FROM contacts AS c LEFT JOIN statuses AS s ON "
                              "s.account_id = c.account_id AND s.contact_id = c.id AND "
                              "s.number_id = ?3 WHERE c.account_id = ?1 AND c.phone = ?2"));
  s.Bind(1, account_id).Bind(2, e164).Bind(3, number_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading a contact's state"));
  if (!row) return std::optional<ContactState>();
  ContactState out;
  out.contact_id = s.Int(0);
  if (!s.Text(1).empty()) {
    auto status = ParseSubscriptionStatus(s.Text(1));
    if (!status.ok()) return BadColumn(status, "statuses", out.contact_id);
    out.state.status = *status;
    out.state.self_opted_out = s.Bool(2);
    auto source = ParseSource(s.Text(3));
    if (!source.ok()) return BadColumn(source, "statuses", out.contact_id);
    out.state.source = *source;
    out.state.updated_at_ms = s.Int(4);
  }
  return std::optional<ContactState>(out);
}

Result<std::vector<ContactStatuses>> SqliteStore::LookupContacts(
    int64_t account_id, const std::vector<std::string>& phones, const std::vector<int64_t>& ids) {
  constexpr size_t kMaxKeys = 10'000;
  if (phones.size() + ids.size() > kMaxKeys) {
    return InvalidArgument("at most " + std::to_string(kMaxKeys) + " contacts per lookup");
  }
  ReadLease reader = impl_->Read(mu_);
  // One read transaction (one snapshot, one lock round) for all the lookups.
  SMSC_RETURN_IF_ERROR(RunSql(*reader.get(), "BEGIN", "starting a read"));
  struct EndRead {
    Connection* c;
    ~EndRead() { (void)RunSql(*c, "COMMIT", "ending a read"); }
  } end_read{reader.get()};
  std::vector<ContactStatuses> out;
  std::unordered_map<int64_t, size_t> index;  // contact id -> position in out
  auto add = [&](Stmt& s) {
    Contact c = ReadContact(s);
    if (index.count(c.id) != 0) return;
    index.emplace(c.id, out.size());
    out.push_back(ContactStatuses{std::move(c), {}});
  };
  for (const std::string& phone : phones) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = "
                                "?1 AND phone = ?2"));
    s.Bind(1, account_id).Bind(2, phone);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact by phone"));
    if (row) add(s);
  }
  for (int64_t id : ids) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = "
                                "?1 AND id = ?2"));
    s.Bind(1, account_id).Bind(2, id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact by id"));
    if (row) add(s);
  }
  for (ContactStatuses& cs : out) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses "
                                                  "WHERE account_id = ?1 AND contact_id = ?2"));
    s.Bind(1, account_id).Bind(2, cs.contact.id);
    while (true) {
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading statuses"));
      if (!row) break;
      SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
      cs.statuses.push_back(std::move(r));
    }
  }
  return out;
}

#undef SMSC_ACCOUNT_COLS
#undef SMSC_NUMBER_COLS
#undef SMSC_CONTACT_COLS
#undef SMSC_JOB_COLS
#undef SMSC_STATUS_COLS
#undef SMSC_EVENT_COLS
#undef SMSC_INBOUND_COLS
#undef SMSC_OUTBOX_COLS
#undef SMSC_USER_COLS
#undef SMSC_SESSION_COLS
#undef SMSC_REVIEW_COLS
#undef SMSC_REVIEW_FROM

// ---- Moving an installation (src/store/transfer.h) ----------------------------------------

namespace {

// Binds a transfer cell (checked by CheckTransferRow) as its column's type.
void BindCell(Stmt& s, int index, const TransferColumn& column, const TransferCell& cell) {
  if (!cell) {
    s.BindNull(index);
    return;
  }
  switch (column.type) {
    case ColumnType::kInt:
      s.Bind(index, CellInt(cell));
      break;
    case ColumnType::kBool:
      s.BindBool(index, *cell == "1");
      break;
    case ColumnType::kText:
      s.Bind(index, *cell);
      break;
    case ColumnType::kBlob:
      s.BindBlob(index, *cell);
      break;
  }
}

TransferCell ReadCell(const Stmt& s, int col, const TransferColumn& column) {
  if (s.IsNull(col)) return std::nullopt;
  switch (column.type) {
    case ColumnType::kInt:
      return std::to_string(s.Int(col));
    case ColumnType::kBool:
      return std::string(s.Bool(col) ? "1" : "0");
    case ColumnType::kText:
      return s.Text(col);
    case ColumnType::kBlob:
      return s.Blob(col);
  }
  return std::nullopt;
}

Result<int64_t> SequenceValue(Connection& c, const TransferTable& t) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1"));
  s.Bind(1, t.name);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("reading the id counter of ") + t.name));
  return row ? s.Int(0) : 0;
}

// The import: one write transaction on the writer connection, which it holds (with the store's
// mutex) from BeginImport until it is committed or destroyed.
class SqliteImport final : public StoreImport {
 public:
  SqliteImport(std::unique_lock<std::mutex> lock, Connection* conn, WriteTxn txn)
      : lock_(std::move(lock)), conn_(conn), txn_(std::move(txn)) {}

  Status Insert(const TransferTable& t, const std::vector<TransferRow>& rows) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    std::string sql = std::string("INSERT INTO ") + Quoted(t.name) + " (" +
                      ColumnList(t, static_cast<int>(t.columns.size())) + ") VALUES (";
    for (size_t i = 0; i < t.columns.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    for (const TransferRow& row : rows) {
      SMSC_RETURN_IF_ERROR(CheckTransferRow(t, row));
      SMSC_ASSIGN_OR_RETURN(Stmt s, conn_->Prepare(sql));
      for (size_t i = 0; i < t.columns.size(); ++i) {
        BindCell(s, static_cast<int>(i + 1), t.columns[i], row[i]);
      }
      SMSC_RETURN_IF_ERROR(s.Run(std::string("inserting into ") + t.name));
    }
    return Status::Ok();
  }

  Status SetLastId(const TransferTable& t, int64_t last_id) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
    // Inserting explicit ids already moved the counter to the highest one; only a higher
    // `last_id` (ids handed out and deleted on the source) is left to record.
    SMSC_ASSIGN_OR_RETURN(int64_t current, SequenceValue(*conn_, t));
    if (last_id <= current) return Status::Ok();
    // A table that never had a row has no sqlite_sequence row yet (current is then 0).
    SMSC_ASSIGN_OR_RETURN(
        Stmt s,
        conn_->Prepare(current > 0 ? "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1"
                                   : "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)"));
    s.Bind(1, t.name).Bind(2, last_id);
    return s.Run(std::string("setting the id counter of ") + t.name);
  }

  Status Commit() override {
    if (!txn_) return FailedPrecondition("the import has ended");
    SMSC_RETURN_IF_ERROR(txn_->Commit());
    txn_.reset();
    lock_.unlock();
    return Status::Ok();
  }

 private:
  // Declared first: released last, after the transaction is rolled back.
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
  std::optional<WriteTxn> txn_;
};

}  // namespace

Result<std::vector<TransferRow>> SqliteStore::ExportRows(const TransferTable& t,
                                                         const TransferRow& after_key) {
  if (!after_key.empty() && static_cast<int>(after_key.size()) != t.key_columns) {
    return InvalidArgument(std::string(t.name) + ": the key has " + std::to_string(t.key_columns) +
                           " columns");
  }
  const std::string keys = ColumnList(t, t.key_columns);
  std::string sql =
      "SELECT " + ColumnList(t, static_cast<int>(t.columns.size())) + " FROM " + Quoted(t.name);
  if (!after_key.empty()) {
    sql += " WHERE (" + keys + ") > (";
    for (int i = 0; i < t.key_columns; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
  }
  sql += " ORDER BY " + keys + " LIMIT " + std::to_string(t.batch_rows);
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  for (size_t i = 0; i < after_key.size(); ++i) {
    BindCell(s, static_cast<int>(i + 1), t.columns[i], after_key[i]);
  }
  std::vector<TransferRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("exporting ") + t.name));
    if (!row) break;
    TransferRow r;
    r.reserve(t.columns.size());
    for (size_t i = 0; i < t.columns.size(); ++i) {
      r.push_back(ReadCell(s, static_cast<int>(i), t.columns[i]));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> SqliteStore::CountRows(const TransferTable& t) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT count(*) FROM " + Quoted(t.name)));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("counting ") + t.name));
  return row ? s.Int(0) : 0;
}

Result<int64_t> SqliteStore::LastId(const TransferTable& t) {
  if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
  ReadLease reader = impl_->Read(mu_);
  return SequenceValue(*reader.get(), t);
}

Result<std::unique_ptr<StoreImport>> SqliteStore::BeginImport() {
  std::unique_lock<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  for (const TransferTable& t : TransferTables()) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT 1 FROM " + Quoted(t.name) + " LIMIT 1"));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("checking that ") + t.name + " is empty"));
    if (row) {
      return FailedPrecondition("'" + impl_->path + "' is not empty (table " + t.name +
                                " has rows): an import only fills an empty database");
    }
  }
  return std::unique_ptr<StoreImport>(
      new SqliteImport(std::move(lock), impl_.get(), std::move(txn)));
}

}  // namespace smsconsent
