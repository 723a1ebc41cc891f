// The SQLite schema: the migrations, append only, and how Open applies them.
#include <array>
#include <string>

#include "store/sqlite/sqlite_internal.h"

namespace smsconsent {

using namespace sqlite_detail;

namespace {

// ---- Schema -----------------------------------------------------------------------------

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new entry.
constexpr std::array<Migration, 20> kMigrations{{
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
    {12, "the ledger as a Merkle tree with signed heads", R"sql(
-- Events written from now on are leaves of the account's Merkle tree only (format 2: no
-- prev_hash, no hash; docs/ledger.md). batch_hash names a bulk change's evidence stored once;
-- nth numbers the events of one (contact, number), as statuses.events counts them.
ALTER TABLE events ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN batch_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN nth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statuses ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
UPDATE statuses SET events = (SELECT COUNT(*) FROM events e WHERE e.account_id =
    statuses.account_id AND e.contact_id = statuses.contact_id AND e.number_id = statuses.number_id);
-- The id of the pair's last event when a reply was queued (docs/storage.md, "The outbox"):
-- the replies still to be sent get it from the seq they were queued at.
ALTER TABLE outbox ADD COLUMN queued_after_event INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET queued_after_event = COALESCE((SELECT MAX(e.id) FROM events e
    WHERE e.account_id = outbox.account_id AND e.contact_id = outbox.contact_id AND
    e.number_id = outbox.number_id AND e.seq <= outbox.queued_at_seq), 0)
  WHERE state IN ('pending', 'sending');
-- Each account's tree: its size, root and right frontier (merkle::CompactRange).
CREATE TABLE ledger_trees (
  account_id    INTEGER PRIMARY KEY REFERENCES accounts (id),
  size          INTEGER NOT NULL,
  root          BLOB NOT NULL,
  frontier      BLOB NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
-- Hashes of complete subtrees at levels 4, 8, 12, ... (src/store/ledger_tree.h).
CREATE TABLE ledger_nodes (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  level      INTEGER NOT NULL,
  idx        INTEGER NOT NULL,
  hash       BLOB NOT NULL,
  PRIMARY KEY (account_id, level, idx)
) WITHOUT ROWID;
-- Every signed tree head handed out; the first one per size stays.
CREATE TABLE tree_heads (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  size       INTEGER NOT NULL,
  root       BLOB NOT NULL,
  at_ms      INTEGER NOT NULL,
  key_id     TEXT NOT NULL,
  signature  BLOB NOT NULL,
  PRIMARY KEY (account_id, size)
) WITHOUT ROWID;
-- The public keys that signed tree heads.
CREATE TABLE ledger_keys (
  key_id        TEXT PRIMARY KEY,
  public_key    BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- Events may not be changed either (deletes are refused since version 1).
CREATE TRIGGER events_unchangeable BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;
)sql"},
    {13, "bulk evidence kept once per batch", R"sql(
-- A bulk change's shared evidence (attestation, legal basis, explanation, actor, batch and
-- job), kept once; each of its events names it by hash (events.batch_hash, inside the event's
-- leaf) and holds only its own row (docs/ledger.md, "Batch documents").
CREATE TABLE evidence_batches (
  account_id    INTEGER NOT NULL REFERENCES accounts (id),
  hash          TEXT NOT NULL,
  document      TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, hash)
) WITHOUT ROWID;
-- Part of the ledger: never changed, never deleted.
CREATE TRIGGER evidence_batches_unchangeable BEFORE UPDATE ON evidence_batches
BEGIN
  SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;
CREATE TRIGGER evidence_batches_append_only BEFORE DELETE ON evidence_batches
BEGIN
  SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;
)sql"},
    {14, "a finished job's input is not kept", R"sql(
-- A job's input (the uploaded CSV: phones, names, e-mail addresses) is needed only until the
-- job finishes; a finished job's chunks are deleted with its last chunk from now on, and
-- those of jobs finished before are deleted here.
DELETE FROM job_inputs WHERE job_id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed'));
)sql"},
    {15, "messages the business sends", R"sql(
-- An outbox item of kind 'message' (POST /v1/messages): its purpose ('marketing' or
-- 'transactional'; '' for replies), when it is due, and the client's Idempotency-Key with the
-- SHA-256 of the request it came with (docs/sending.md).
ALTER TABLE outbox ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN send_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX outbox_by_idempotency_key ON outbox (account_id, idempotency_key)
  WHERE idempotency_key <> '';
-- When marketing from the number may reach a recipient, as the policy's JSON text
-- (core/quiet_hours.h): "jurisdiction", "default", "off" or {"start":"HH:MM","end":"HH:MM"}.
ALTER TABLE sender_numbers ADD COLUMN quiet_hours TEXT NOT NULL DEFAULT '"jurisdiction"';
-- When its marketing carries the opt-out notice ({"text", "every_messages", "every_days"};
-- '{}': the defaults), and whether a message carried it.
ALTER TABLE sender_numbers ADD COLUMN opt_out_notice TEXT NOT NULL DEFAULT '{}';
ALTER TABLE outbox ADD COLUMN notice INTEGER NOT NULL DEFAULT 0;
)sql"},
    {16, "double opt-in", R"sql(
-- Whether an opt-in on the number waits for the contact's YES (status pending_confirmation),
-- and the number's own text of the request to confirm ('': the default in its first language).
ALTER TABLE sender_numbers ADD COLUMN double_opt_in INTEGER NOT NULL DEFAULT 0
  CHECK (double_opt_in IN (0, 1));
ALTER TABLE sender_numbers ADD COLUMN reply_confirmation_request TEXT NOT NULL DEFAULT '';
)sql"},
    {17, "quiet hours per account", R"sql(
-- The account's quiet-hours policy, which its numbers follow unless they have their own: the
-- numbers that had the default take the account's (the same default) from now on.
ALTER TABLE accounts ADD COLUMN quiet_hours TEXT NOT NULL DEFAULT '"jurisdiction"';
UPDATE sender_numbers SET quiet_hours = '"account"' WHERE quiet_hours = '"jurisdiction"';
)sql"},
    {18, "delivery status of sent messages", R"sql(
-- What the provider's status callbacks reported of a sent item (docs/sending.md, "Delivery
-- status"): '' until the first one, then sent, delivered, failed or undelivered; the
-- provider's error code and text; when the status last changed. A callback names the item by
-- the id the provider gave it, looked up within the account.
ALTER TABLE outbox ADD COLUMN delivery TEXT NOT NULL DEFAULT ''
  CHECK (delivery IN ('', 'sent', 'delivered', 'failed', 'undelivered'));
ALTER TABLE outbox ADD COLUMN delivery_error TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN delivery_updated_at_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_by_provider_message_id ON outbox (account_id, provider_message_id)
  WHERE provider_message_id <> '';
)sql"},
    {19, "sending rate per number", R"sql(
-- How fast a number may send, in thousandths of a message per second (0: its kind's default,
-- core/send_rate.h), and the earliest time, in microseconds, at which it may send its next
-- message: the outbox claim reads and moves it (docs/sending.md, "Sending rate").
ALTER TABLE sender_numbers ADD COLUMN rate_mmps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sender_numbers ADD COLUMN next_send_at_us INTEGER NOT NULL DEFAULT 0;
-- The claim takes the service's own replies (confirmations, HELP answers) before messages,
-- without walking a queue of messages to find them.
CREATE INDEX outbox_due_replies ON outbox (id) WHERE state = 'pending' AND kind <> 'message';
)sql"},
    {20, "frequency cap per number", R"sql(
-- How much marketing one contact may get from the number: null (none) or
-- {"per_day", "per_week", "over"} (docs/sending.md, "Frequency cap").
ALTER TABLE sender_numbers ADD COLUMN frequency_cap TEXT NOT NULL DEFAULT 'null';
)sql"},
}};

}  // namespace

namespace sqlite_detail {

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

}  // namespace sqlite_detail

int SqliteStore::LatestSchemaVersion() { return kMigrations.back().version; }

}  // namespace smsconsent
