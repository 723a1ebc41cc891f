// ConsentStore: the one interface every storage backend implements.
//
// The SQLite store (src/store/sqlite/) is the embedded default; the PostgreSQL store
// (src/store/postgres/) implements the same interface and passes the same conformance suite
// (tests/store/store_conformance_test.cc). No backend type appears in this header.
//
// Durability: when a mutating call returns OK, the change is durable (committed and synced
// as the backend's documentation says; for SQLite: WAL + synchronous=FULL; for PostgreSQL:
// synchronous_commit on). A call that
// returns an error changed nothing.
//
// Threading: a store object may be used from several threads; each call is atomic.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/consent.h"
#include "core/delivery.h"
#include "core/keywords.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "core/quiet_hours.h"
#include "core/send_rate.h"
#include "core/sending.h"
#include "core/status.h"
#include "core/tree_head.h"
#include "store/ledger_tree.h"

namespace smsconsent {

struct Account {
  int64_t id = 0;
  std::string name;
  bool marketing_sms_access = false;
  bool sms_short_code = false;
  std::string default_region = "US";  // for national-format phone input
  OptOutScope opt_out_scope = OptOutScope::kNumber;
  int64_t created_at_ms = 0;
  // How replies leave for this account: "log" (default), "twilio", "kannel", "vonage", "plivo"
  // or "telnyx" (kReplySenderNames in providers/sender.h).
  std::string reply_sender = "log";
  // When marketing may reach a recipient, for the numbers whose own policy is "account"
  // (core/quiet_hours.h); never kAccount itself.
  QuietHoursPolicy quiet_hours{QuietHoursPolicy::Kind::kJurisdiction, {}};
};

// A staff member who signs in to the web page (docs/auth.md). viewer: reads only; editor:
// may change data too.
enum class StaffRole { kViewer, kEditor };
const char* StaffRoleName(StaffRole r);  // "viewer", "editor"
Result<StaffRole> ParseStaffRole(std::string_view s);

struct User {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string email;  // unique across the server; stored lower-cased (ASCII letters)
  std::string name;
  StaffRole role = StaffRole::kViewer;
  std::string password_hash;  // Argon2 encoded string ("$argon2id$v=19$m=…")
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A signed-in browser. Only the SHA-256 of the cookie's token is stored, never the token.
struct StaffSession {
  std::string token_hash;  // SHA-256 hex of the session token
  int64_t user_id = 0;
  int64_t account_id = 0;
  std::string csrf_token;  // sent back by the page in X-CSRF-Token on unsafe requests
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;  // invalid from this time on (idle or absolute limit)
  int64_t last_seen_ms = 0;
};

struct ReplyTexts {
  std::string opt_in;  // templates; "{business}" is replaced by the business name
  std::string opt_out;
  std::string help;
  std::string confirmation_request;  // double opt-in's request to confirm
};

struct SenderNumber {
  int64_t id = 0;
  int64_t account_id = 0;
  NumberKind kind = NumberKind::kLongCode;
  std::string number;   // E.164 for long codes and toll-free, digits for short codes
  std::string country;  // ISO region ("US", "DK")
  std::string business_name;
  KeywordConfig keywords;  // includes languages and free_text switch
  ReplyTexts replies;
  bool opt_in_confirmation = false;  // for user opt-ins on non-short-codes
  // Opt-ins become pending_confirmation until the contact's YES (core/consent.h).
  bool double_opt_in = false;
  int64_t created_at_ms = 0;
  // When marketing sent from it may reach a recipient (core/quiet_hours.h): by default the
  // account's policy, which by default is the 08:00-21:00 window of the recipient's local time
  // with their US state's stricter rules.
  QuietHoursPolicy quiet_hours{QuietHoursPolicy::Kind::kAccount, {}};
  // When its marketing carries the opt-out notice (core/sending.h).
  OptOutNotice opt_out_notice;
  // How fast it may send, in thousandths of a message per second (core/send_rate.h); 0: its
  // kind's default (DefaultRateMmps). The outbox claim spaces its items by it.
  int64_t rate_mmps = 0;
  // How much marketing one contact may get from it (core/sending.h); none by default.
  FrequencyCap frequency_cap;
};

struct Contact {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string phone;  // E.164
  std::string name;
  std::string email;
  int64_t created_at_ms = 0;
  // The contact's own fields from imports (city, customer number, ...): a JSON object of
  // string values, names normalised by NormalizePropertyName (src/core/contact_filter.h).
  std::string properties = "{}";
};

struct StatusRow {
  int64_t contact_id = 0;
  int64_t number_id = 0;
  ConsentState state;
};

struct InboundMessage {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string provider;             // "cli", "twilio", ...
  std::string provider_message_id;  // unique per (account, provider)
  std::string from;                 // E.164
  std::string to;                   // the sender number as registered
  int64_t number_id = 0;
  int64_t contact_id = 0;
  std::string body;
  int64_t received_at_ms = 0;
  std::string decision;  // JSON text of the decision we answered with
};

// pending: waiting to be sent (next_attempt_at_ms says when); sending: claimed by a dispatcher
// (lease_owner/lease_until_ms) and possibly on the wire; sent: accepted by the provider, or
// delivered in the webhook's own response (channel "response"); failed: refused by the provider
// (4xx), not retried; dead: retries exhausted, or interrupted while on the wire (not retried, so
// that no reply is ever sent twice); cancelled: never sent, because the contact's status on the
// number changed after it was queued (DecidePendingReply, core/consent.h); expired: never sent,
// because it waited longer than its maximum age. All but pending and sending are final;
// last_error holds the reason of failed, dead, cancelled and expired.
enum class OutboxState { kPending, kSending, kSent, kFailed, kDead, kCancelled, kExpired };
// "pending", "sending", "sent", "failed", "dead", "cancelled", "expired"
const char* OutboxStateName(OutboxState s);
Result<OutboxState> ParseOutboxState(std::string_view s);
const std::vector<OutboxState>& AllOutboxStates();  // every state, in enum order

struct OutboxItem {
  int64_t id = 0;
  int64_t account_id = 0;
  int64_t number_id = 0;
  int64_t contact_id = 0;
  std::string to;    // the contact's E.164
  std::string from;  // the sender number
  std::string body;
  ReplyKind kind = ReplyKind::kHelp;
  OutboxState state = OutboxState::kPending;
  int attempts = 0;
  std::string last_error;
  int64_t inbound_id = 0;  // the inbound message this answers, 0 if none
  int64_t created_at_ms = 0;
  int64_t next_attempt_at_ms = 0;
  // "api": sent by the dispatcher through the account's reply sender; "response": carried in
  // the provider webhook's HTTP response (TwiML, Kannel body), stored already as sent.
  std::string channel = "api";
  std::string provider_message_id;  // the provider's id once sent
  std::string lease_owner;          // dispatcher instance holding the item while sending
  int64_t lease_until_ms = 0;
  int64_t sent_at_ms = 0;
  // The id of the last event of the reply's (contact, number) when it was queued (its own
  // decision's events included; 0 when there was none), set by Commit: an event of the pair
  // with a higher id happened after it was decided, in both stores (SQLite's single writer and
  // PostgreSQL's pair lock, docs/storage.md, order a pair's events by id).
  int64_t queued_after_event = 0;
  // The account's ledger seq when the reply was queued, kept for replies queued before
  // queued_after_event existed (SQLite still sets it; 0 on PostgreSQL, where a new event has no
  // seq until it is integrated).
  int64_t queued_at_seq = 0;
  // A kMessage's (POST /v1/messages; empty or 0 for a reply): why it is sent, when it is due
  // (0: when queued; next_attempt_at_ms starts there), the client's Idempotency-Key (unique in
  // the account: a second item with it is kAlreadyExists) and the SHA-256 of the request.
  Purpose purpose = Purpose::kMarketing;
  int64_t send_at_ms = 0;
  std::string idempotency_key;
  std::string request_hash;
  bool notice = false;  // a kMessage whose body carries the number's opt-out notice
  // What the provider's status callbacks reported of a sent item (RecordDelivery): nullopt
  // until the first one; the provider's error, bounded (DeliveryErrorText, core/delivery.h);
  // when the recorded status last changed.
  std::optional<DeliveryStatus> delivery;
  std::string delivery_error;
  int64_t delivery_updated_at_ms = 0;
};

// A provider's delivery report for the account's item sent with provider_message_id
// (ConsentStore::RecordDelivery).
struct DeliveryUpdate {
  int64_t account_id = 0;
  std::string provider_message_id;  // not empty
  DeliveryStatus status = DeliveryStatus::kSent;
  std::string error;  // DeliveryErrorText: at most kMaxDeliveryErrorBytes
  int64_t at_ms = 0;
};

// What RecordDelivery found: the item as stored afterwards, and whether the report changed it.
struct DeliveryRecorded {
  OutboxItem item;
  bool changed = false;
};

// Per-account settings of one SMS provider: webhook secrets and outbound credentials, as a
// JSON object whose keys the provider defines (docs/webhooks.md). Stored verbatim.
struct ProviderConfig {
  int64_t account_id = 0;
  std::string provider;  // "twilio", "kannel", "vonage", "plivo", "telnyx", "generic"
  std::string settings;  // JSON object text
  int64_t updated_at_ms = 0;
};

// A nonce a provider's signature relies on to be used once (Plivo signature V2, which signs no
// time: docs/webhooks.md#plivo), in the account that verified it.
struct WebhookNonce {
  int64_t account_id = 0;
  std::string provider;  // "plivo"
  std::string nonce;
  // What the nonce was used for (SHA-256 hex of the request): the same request again is the
  // provider's retry, not a replay.
  std::string request_hash;
  int64_t expires_at_ms = 0;  // forgotten from this time on
};

// What ClaimOutbox takes: up to `limit` due items for `owner`, leased until now_ms + lease_ms,
// each checked against the contact's status and its kind's maximum age first.
struct OutboxClaim {
  int64_t now_ms = 0;
  int limit = 1;
  std::string owner;
  int64_t lease_ms = 0;
  ReplyMaxAges max_ages;
};

struct ClaimedOutbox {
  std::vector<OutboxItem> items;    // claimed: sending, leased to the owner, oldest first
  std::vector<OutboxItem> retired;  // found no longer due: cancelled or expired, with the reason
  // Marketing messages due in their recipient's quiet hours: still pending, next_attempt_at_ms
  // moved to the next instant they may arrive (docs/sending.md).
  std::vector<OutboxItem> deferred;
  // The earliest time (ms, rounded up) at which a number that is waiting for its sending rate
  // may send again; 0 when no number is waiting. A dispatcher need not look again before it.
  int64_t next_rate_slot_ms = 0;
};

// How a dispatcher finishes one claimed outbox item.
struct OutboxCompletion {
  int64_t id = 0;
  std::string lease_owner;                 // must still hold the lease, else kAborted
  OutboxState state = OutboxState::kSent;  // kSent, kPending (retry later), kFailed or kDead
  int attempts = 0;
  std::string last_error;
  int64_t next_attempt_at_ms = 0;  // for kPending
  std::string provider_message_id;
  int64_t at_ms = 0;  // sent_at_ms for kSent
};

// An event to append; the store assigns id, seq (at once, or when it integrates the ledger) and
// nth (docs/ledger.md).
struct EventDraft {
  int64_t contact_id = 0;
  std::string phone;
  int64_t number_id = 0;
  std::string sender;
  SubscriptionStatus from = SubscriptionStatus::kNotSpecified;  // what the caller saw
  SubscriptionStatus to = SubscriptionStatus::kNotSpecified;
  Source source = Source::kSystem;
  std::string actor;
  int64_t at_ms = 0;
  std::string evidence;  // JSON object text
  // Hex SHA-256 of a bulk change's shared evidence document, stored once per batch; empty for
  // events without one.
  std::string batch_hash;
};

// A bulk change's shared evidence, kept once per batch (ConsentStore::PutEvidenceBatch): hash
// (lowercase hex SHA-256 of the document) -> the document's JSON text.
using EvidenceBatches = std::map<std::string, std::string>;
// The largest batch document a store keeps (docs/limits.md): far above what a bulk request can
// put in one (its explanation and actor are bounded well below).
inline constexpr size_t kMaxEvidenceBatchBytes = 64 * 1024;
// The most hashes one GetEvidenceBatches call looks up.
inline constexpr size_t kMaxEvidenceBatchLookup = 1000;
// kInvalidArgument unless `document` is non-empty, at most kMaxEvidenceBatchBytes and `hash` is
// its lowercase hex SHA-256.
Status CheckEvidenceBatch(const std::string& hash, const std::string& document);

// ---- possible opt-outs for a person to review (docs/reviews.md) ----

// open: waiting for an editor; confirmed: an editor found it a revocation (the contact's own
// opt-out was recorded from it); dismissed: an editor found it none. Only open changes.
enum class ReviewState { kOpen, kConfirmed, kDismissed };
const char* ReviewStateName(ReviewState s);  // "open", "confirmed", "dismissed"
Result<ReviewState> ParseReviewState(std::string_view s);

// One inbound message the recogniser flagged as a possible opt-out (MatchKind::kPossibleOptOut).
struct ReviewItem {
  int64_t id = 0;
  int64_t account_id = 0;
  int64_t inbound_id = 0;   // the flagged message (0 in a ChangeSet: the change set's own)
  int64_t contact_id = 0;   // 0 in a ChangeSet: the change set's new contact
  int64_t number_id = 0;    // the number the message was sent to
  std::string rule;         // why it was flagged: KeywordMatch::rule ("en.possible.question")
  std::string explanation;  // the same in a sentence
  ReviewState state = ReviewState::kOpen;
  int64_t created_at_ms = 0;
  std::string reviewed_by;  // the actor who confirmed or dismissed it; empty while open
  int64_t reviewed_at_ms = 0;
  std::string note;  // the reviewer's note, if any
  // Read with the item, from its inbound message (not written): the text, who sent it, the
  // number it was sent to, when it arrived.
  std::string body;
  std::string from;
  std::string to;
  int64_t received_at_ms = 0;
};

// The account's review items, oldest first (ascending id).
struct ReviewQuery {
  int64_t after_id = 0;  // cursor: items with id > after_id
  int limit = 50;
  std::optional<ReviewState> state;  // nullopt: every state
};

// How an editor closes an open item (ConsentStore::ResolveReview).
struct ReviewResolution {
  int64_t id = 0;
  ReviewState state = ReviewState::kDismissed;  // kConfirmed or kDismissed
  std::string reviewed_by;
  int64_t reviewed_at_ms = 0;
  std::string note;
};
// The longest note a resolution keeps (docs/limits.md).
inline constexpr size_t kMaxReviewNoteBytes = 1000;
// kInvalidArgument unless the resolution confirms or dismisses, names who made it and keeps its
// note within kMaxReviewNoteBytes.
Status CheckReviewResolution(const ReviewResolution& r);
// kFailedPrecondition for an item that is no longer open: its state, and by whom.
Status ReviewNotOpen(const ReviewItem& stored);
Status ReviewNotFound(int64_t account_id, int64_t id);  // kNotFound

// Everything one decision writes, committed atomically.
struct ChangeSet {
  // A contact to create in the same transaction (the first message from an unknown phone).
  // The store inserts it, or takes the account's existing contact with the same phone (one
  // created concurrently), and uses its id wherever the inbound message, an event or an
  // outbox item below says contact_id 0. Its account_id must be 0 or the commit's account.
  std::optional<Contact> new_contact;
  std::optional<InboundMessage> inbound;  // its id is filled in on outbox items below
  std::vector<EventDraft> events;
  std::vector<OutboxItem> outbox;  // id/state/attempts are assigned by the store
  // Replaces name, email and properties of an existing contact (id, in the commit's account);
  // kNotFound when it is not there. Phone and created_at_ms are kept.
  std::optional<Contact> update_contact;
  // A review item for the inbound message above (state open), written with it: a provider's
  // retry of the message (kAlreadyExists) writes no second one.
  std::optional<ReviewItem> review;
};

struct CommitResult {
  int64_t contact_id = 0;  // the id of ChangeSet::new_contact (created or found), else 0
  int64_t inbound_id = 0;
  std::vector<ConsentEvent> events;
  std::vector<OutboxItem> outbox;
};

// One change set of a CommitBatch.
struct BatchItem {
  int64_t account_id = 0;
  const ChangeSet* changes = nullptr;  // not owned; must outlive the call
};

struct ContactQuery {
  int64_t after_id = 0;  // cursor: contacts with id > after_id, ascending
  int limit = 100;
  std::string search;  // substring of phone or name (case-insensitive), empty = all
  // Filter by the contact's status on one sender number of the account. Both or neither
  // (kInvalidArgument otherwise); a number outside the account is kNotFound.
  // not_specified also matches contacts that have no status row for the number (never set).
  // Combines with `search` and the cursor.
  std::optional<int64_t> number_id;
  std::optional<SubscriptionStatus> status;
  // created_at_ms within [created_from_ms, created_to_ms).
  std::optional<int64_t> created_from_ms;
  std::optional<int64_t> created_to_ms;
  // Property values that must match exactly; an empty value matches a missing property. At
  // most kMaxFilterProperties (core/contact_filter.h) of them: kInvalidArgument past that.
  std::vector<std::pair<std::string, std::string>> properties;
};

// ---- background jobs (bulk changes, imports) ----

// queued: waiting for a runner; running: claimed by a runner (lease_owner, lease_until_ms; a
// runner that dies leaves it to be claimed again once the lease expires, and it resumes at
// its cursor); done / failed: finished, result (or error) final.
enum class JobState { kQueued, kRunning, kDone, kFailed };
const char* JobStateName(JobState s);  // "queued", "running", "done", "failed"
Result<JobState> ParseJobState(std::string_view s);

struct Job {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string kind;             // "bulk_subscriptions", "import_contacts"
  std::string idempotency_key;  // unique per account
  std::string request;          // JSON object text: what to do (the input rows are separate)
  JobState state = JobState::kQueued;
  int64_t total = 0;   // rows or contacts to process (0 until known)
  int64_t done = 0;    // processed so far, committed with their changes
  std::string cursor;  // where processing resumes (opaque to the store)
  std::string result;  // JSON object text: counts so far / final
  std::string error;   // why it failed (state failed)
  std::string lease_owner;
  int64_t lease_until_ms = 0;
  int64_t input_chunks = 0;  // input (CSV bytes) in chunks 0..input_chunks-1, until it finishes
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t finished_at_ms = 0;
};

// One input row a job skipped, and why (the downloadable report).
struct JobReject {
  int64_t row = 0;     // the row's line in the input (or position in the selection)
  std::string phone;   // as given
  std::string reason;  // "self_opted_out", "invalid_phone", "duplicate", ...
  std::string detail;  // human-readable
};

// What one chunk of a job wrote, committed with the chunk's change sets.
struct JobProgress {
  int64_t job_id = 0;
  std::string lease_owner;  // must still hold the lease, else kAborted
  int64_t done = 0;         // new totals (not deltas)
  int64_t total = 0;
  std::string cursor;
  std::string result;
  std::vector<JobReject> rejects;  // appended
  std::optional<JobState> finish;  // kDone / kFailed to finish the job with this chunk
  std::string error;               // with finish = kFailed
  int64_t at_ms = 0;
  int64_t lease_until_ms = 0;  // renewed lease
};

// A contact's id and its state on one number (FindContactState).
struct ContactState {
  int64_t contact_id = 0;
  ConsentState state;  // the default (not_specified, never touched) when it has no status row
};

// How often a store's own cache of consent answers (FindContactState) answered, and how often
// the call read the database instead (ConsentStore::CacheCounts).
struct ConsentCacheCounts {
  uint64_t hits = 0;
  uint64_t misses = 0;
};

// A contact with its stored statuses (LookupContacts).
struct ContactStatuses {
  Contact contact;
  std::vector<StatusRow> statuses;
};

// Numbered events only: an event written to PostgreSQL is listed once integration has given it
// its seq (IntegrateLedger), within the integration delay (docs/ledger.md).
struct EventQuery {
  int64_t after_seq = 0;  // cursor: events with seq > after_seq, ascending
  int limit = 1000;
  std::optional<int64_t> contact_id;
};

// Ascending by id from the cursor, or newest first; both bounds apply in either order.
struct OutboxQuery {
  int64_t after_id = 0;   // items with id > after_id
  int64_t before_id = 0;  // and id < before_id; 0: no upper bound
  int limit = 100;
  std::vector<OutboxState> states;  // in any of these states; empty: every state
  bool newest_first = false;        // descending id
  // Only the replies to these inbound messages (OutboxItem::inbound_id); an empty list
  // matches nothing. At most 10,000 ids (kInvalidArgument).
  std::optional<std::vector<int64_t>> inbound_ids;
  // Only the replies to this contact (OutboxItem::contact_id).
  std::optional<int64_t> contact_id;
  // Only items from this sender number, and only items of this kind (kMessage: the messages
  // the business sent through the service).
  std::optional<int64_t> number_id;
  std::optional<ReplyKind> kind;
  // Only replies sent (sent_at_ms) at or after / at or before these times; a reply never
  // sent has sent_at_ms 0.
  std::optional<int64_t> sent_from_ms;
  std::optional<int64_t> sent_until_ms;
};

// Inbound messages of an account, newest (highest id) first.
struct InboundQuery {
  int64_t before_id = 0;  // cursor: messages with id < before_id; 0: from the newest
  int limit = 50;
  // Only messages from this contact / to this sender number; one that is not the account's
  // is kNotFound.
  std::optional<int64_t> contact_id;
  std::optional<int64_t> number_id;
};

// ---- Moving an installation between stores (`smsconsent migrate-store`, src/store/transfer.h) --
// Every table is copied as it is stored, ids and all, in a store-neutral form.

// A cell: integers in decimal ("-12"), booleans "0"/"1", text and blobs as their bytes;
// nullopt is NULL. Both stores read and write exactly these forms, so rows compare equal
// across stores when their contents are.
using TransferCell = std::optional<std::string>;
using TransferRow = std::vector<TransferCell>;

enum class ColumnType { kInt, kBool, kText, kBlob };

struct TransferColumn {
  const char* name;
  ColumnType type;
  bool nullable = false;
};

struct TransferTable {
  const char* name;
  std::vector<TransferColumn> columns;
  int key_columns = 1;      // columns[0..key_columns) are the primary key; rows go in its order
                            // (text keys bytewise)
  bool id_counter = false;  // columns[0] is `id` from an autoincrement/identity counter
  int batch_rows = 500;     // rows per ExportRows call (small for large rows: job input chunks)
};

// Every table of an installation (not the migration bookkeeping), parents before children:
// the order in which an import must insert them for the foreign keys to hold.
const std::vector<TransferTable>& TransferTables();

class StoreImport;

class ConsentStore {
 public:
  virtual ~ConsentStore() = default;

  // ---- accounts ----
  // api_key_hash: SHA-256 hex of the account's API key (the key itself is never stored).
  virtual Result<Account> CreateAccount(const Account& account,
                                        const std::string& api_key_hash) = 0;
  virtual Result<Account> GetAccount(int64_t account_id) = 0;  // kNotFound
  virtual Result<Account> FindAccountByApiKeyHash(const std::string& api_key_hash) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;

  // ---- staff users and their sign-in sessions (docs/auth.md) ----
  // Emails compare case-insensitively (ASCII letters): the store lower-cases them on the way
  // in, in every call below.
  // kAlreadyExists when any account has a user with this email; kNotFound for an unknown
  // account. Returns the user with its id (and the email as stored).
  virtual Result<User> CreateUser(const User& user) = 0;
  virtual Result<User> GetUser(int64_t user_id) = 0;                    // kNotFound
  virtual Result<User> FindUserByEmail(const std::string& email) = 0;   // kNotFound
  virtual Result<std::vector<User>> ListUsers(int64_t account_id) = 0;  // by id
  // Replaces name, role, password_hash and updated_at_ms of user.id (account and email are
  // kept). kNotFound for an unknown user.
  virtual Result<User> UpdateUser(const User& user) = 0;
  // Deletes the user and all its sessions. kNotFound for an unknown user.
  virtual Status DeleteUser(int64_t user_id) = 0;
  // kAlreadyExists for a token hash stored already; kNotFound for an unknown user;
  // kInvalidArgument when account_id is not the user's account.
  virtual Status CreateSession(const StaffSession& session) = 0;
  // The session whatever its expiry (the caller compares expires_at_ms with its clock).
  // kNotFound when there is none.
  virtual Result<StaffSession> FindSession(const std::string& token_hash) = 0;
  // Sets last_seen_ms and expires_at_ms (a sliding idle timeout). kNotFound when gone.
  virtual Status TouchSession(const std::string& token_hash, int64_t last_seen_ms,
                              int64_t expires_at_ms) = 0;
  virtual Status DeleteSession(const std::string& token_hash) = 0;  // kNotFound when gone
  // Deletes the user's sessions except the one whose hash is `keep_token_hash` (empty: all).
  // Returns how many.
  virtual Result<int64_t> DeleteUserSessions(int64_t user_id,
                                             const std::string& keep_token_hash) = 0;
  // Deletes every session with expires_at_ms <= now_ms. Returns how many.
  virtual Result<int64_t> PurgeExpiredSessions(int64_t now_ms) = 0;

  // ---- sender numbers ----
  // kAlreadyExists when the same number (and, for short codes, country) is registered to
  // any account: inbound routing must be unambiguous.
  virtual Result<SenderNumber> AddNumber(const SenderNumber& number) = 0;
  virtual Result<SenderNumber> UpdateNumber(const SenderNumber& number) = 0;  // kNotFound
  virtual Result<SenderNumber> GetNumber(int64_t account_id, int64_t number_id) = 0;
  virtual Result<std::vector<SenderNumber>> ListNumbers(int64_t account_id) = 0;
  // All numbers (of any account) registered with this value; used to route inbound SMS.
  virtual Result<std::vector<SenderNumber>> FindNumbers(const std::string& number) = 0;

  // ---- contacts ----
  virtual Result<Contact> AddContact(const Contact& contact) = 0;  // kAlreadyExists on phone
  virtual Result<Contact> GetContact(int64_t account_id, int64_t contact_id) = 0;
  virtual Result<Contact> FindContactByPhone(int64_t account_id, const std::string& e164) = 0;
  virtual Result<std::vector<Contact>> ListContacts(int64_t account_id, const ContactQuery& q) = 0;
  // Changes name and email of contact (contact.account_id, contact.id); created_at_ms is
  // kept. The phone is immutable: contact.phone must be empty or the stored phone, else
  // kInvalidArgument (consent is given by a phone number, so a new number is a new contact).
  // kNotFound when the contact is not in the account.
  virtual Status UpdateContact(const Contact& contact) = 0;
  // Deletes a contact that nothing refers to. kFailedPrecondition when it has consent events
  // (the ledger is append-only and is the proof of consent), inbound messages or outbox items
  // (the record of what was received and answered; inbound message ids also make provider
  // retries idempotent). kNotFound when the contact is not in the account.
  virtual Status DeleteContact(int64_t account_id, int64_t contact_id) = 0;

  // ---- statuses ----
  // Rows exist only for pairs that have at least one event; absent means not_specified.
  virtual Result<std::vector<StatusRow>> GetStatuses(int64_t account_id, int64_t contact_id) = 0;
  virtual Result<std::vector<StatusRow>> ListAllStatuses(int64_t account_id) = 0;
  // Replaces the whole status table of the account (rebuild from the ledger), atomically.
  virtual Status ReplaceStatuses(int64_t account_id, const std::vector<StatusRow>& rows) = 0;

  // ---- the atomic write ----
  // In one transaction: creates (or finds) new_contact, stores the inbound message, appends
  // each event (format 2, numbered among its (contact, number)'s events; its seq given now on
  // SQLite, at integration on PostgreSQL) and folds it into the status table with ApplyEvent,
  // then enqueues the outbox items (state pending; or sent, with sent_at_ms = created_at_ms,
  // when channel is "response"). Errors:
  //   kAlreadyExists — the inbound (account, provider, provider_message_id) is stored already;
  //   kAborted — an event's `from` differs from the stored status (a concurrent change):
  //              the caller re-reads and decides again;
  //   kNotFound — a referenced contact or number is not in the account.
  // Nothing is written on error. Durable on return.
  virtual Result<CommitResult> Commit(int64_t account_id, const ChangeSet& changes) = 0;
  // Commits many change sets at once (group commit): each item is all-or-nothing and
  // independent of the others, exactly as if it had been passed to Commit alone (one item's
  // kAborted, kAlreadyExists or kNotFound changes nothing of the others), and items apply in
  // order, so the ledger's seq and each pair's nth run on from one item to the next. Every
  // item whose result is OK is durable on return; results are in the order of `items`. A
  // backend may make the whole batch one durable write (SQLite: one transaction, one fsync);
  // this default commits the items one by one.
  virtual std::vector<Result<CommitResult>> CommitBatch(const std::vector<BatchItem>& items) {
    std::vector<Result<CommitResult>> results;
    results.reserve(items.size());
    for (const BatchItem& item : items) results.push_back(Commit(item.account_id, *item.changes));
    return results;
  }

  // ---- jobs ----
  // Stores a queued job and its input, which `next_input` yields chunk by chunk (nullopt at
  // the end), in one transaction. When the account already has a job with the same
  // idempotency key, nothing is stored and that job is returned with `second` = false.
  using InputSource = std::function<Result<std::optional<std::string>>()>;
  virtual Result<std::pair<Job, bool>> CreateJob(const Job& job, const InputSource& next_input) = 0;
  virtual Result<Job> GetJob(int64_t account_id, int64_t job_id) = 0;  // kNotFound
  // Chunk `index` of the job's input; kNotFound past the end, and once the job finished: the
  // input (personal data) is deleted with the chunk that finishes the job (CommitJobChunk).
  virtual Result<std::string> ReadJobInput(int64_t job_id, int64_t index) = 0;
  // Claims a job for `owner` until now_ms + lease_ms: the given one (job_id != 0, any
  // account) or else the oldest claimable. Claimable: queued, or running with an expired
  // lease, or running with lease_owner == owner. nullopt when none is.
  virtual Result<std::optional<Job>> ClaimJob(int64_t job_id, const std::string& owner,
                                              int64_t now_ms, int64_t lease_ms) = 0;
  // In one transaction: every change set (all or nothing: the first failing one's error is
  // returned and nothing is written) and the job's progress; a progress that finishes the job
  // also deletes its input. kAborted when the owner lost the lease.
  virtual Result<std::vector<CommitResult>> CommitJobChunk(int64_t account_id,
                                                           const std::vector<ChangeSet>& changes,
                                                           const JobProgress& progress) = 0;
  virtual Result<std::vector<JobReject>> ListJobRejects(int64_t account_id, int64_t job_id,
                                                        int64_t after_row, int limit) = 0;

  // The consent check's single read: the account's contact with this phone (E.164) and its
  // state on `number_id`; nullopt when there is no such contact.
  virtual Result<std::optional<ContactState>> FindContactState(int64_t account_id,
                                                               const std::string& e164,
                                                               int64_t number_id) = 0;
  // For /metrics: FindContactState calls answered from the store's own cache (SQLite's,
  // docs/storage.md) and those that read the database; zero for a store without a cache.
  virtual ConsentCacheCounts CacheCounts() const { return {}; }
  // The contacts with these phones (E.164) or ids, with their statuses; absent ones are left
  // out. At most 10,000 keys per call.
  virtual Result<std::vector<ContactStatuses>> LookupContacts(
      int64_t account_id, const std::vector<std::string>& phones,
      const std::vector<int64_t>& ids) = 0;

  virtual Result<std::vector<ConsentEvent>> ListEvents(int64_t account_id, const EventQuery& q) = 0;

  // ---- the Merkle ledger (docs/ledger.md, src/store/ledger_tree.h) ----
  // Numbers and integrates up to `max_events` events of the account into its tree, in one
  // transaction (store_ledger::IntegrateLedger); the tree's `integrated` says how many. One
  // integrator per account at a time: on PostgreSQL, a call that finds another process
  // integrating the account returns the tree as it is, with `busy` set, without waiting.
  // kNotFound for an unknown account. Durable on return.
  virtual Result<LedgerTree> IntegrateLedger(int64_t account_id, int64_t max_events,
                                             int64_t now_ms) = 0;
  // Whether events get their seq only when integrated (PostgreSQL), so that listing an
  // account's events up to the last write needs IntegrateLedger first; false when the commit
  // numbers them (SQLite).
  virtual bool NumbersEventsWhenIntegrating() const { return false; }
  // Accounts that have events their tree does not cover yet, by id, at most `limit`.
  virtual Result<std::vector<int64_t>> AccountsToIntegrate(int limit) = 0;
  // The integrated tree (size 0 and the empty root when none). kNotFound for an unknown account.
  virtual Result<LedgerTree> GetLedgerTree(int64_t account_id) = 0;
  // The hash of a complete aligned subtree of the account's tree of `tree_size` leaves
  // (tree_size at most the integrated size): store_ledger::SubtreeHash.
  virtual Result<merkle::Hash> SubtreeHash(int64_t account_id, int64_t tree_size, int level,
                                           int64_t index) = 0;
  // Keeps a signed tree head; the first one kept for an (account, size) stays (another one for
  // the same size is OK and changes nothing). kInvalidArgument for a size above the integrated
  // tree. Durable on return.
  virtual Status PutTreeHead(const SignedTreeHead& head) = 0;
  // Kept heads of the account with size > after_size, ascending by size, at most `limit`.
  virtual Result<std::vector<SignedTreeHead>> ListTreeHeads(int64_t account_id, int64_t after_size,
                                                            int limit) = 0;
  // The newest kept head (largest size), if any.
  virtual Result<std::optional<SignedTreeHead>> LatestTreeHead(int64_t account_id) = 0;
  // Public keys that signed tree heads: key id (hex SHA-256 of the raw key) -> raw 32 bytes.
  // Recording one that is known changes nothing.
  virtual Status PutLedgerKey(const std::string& key_id, const std::string& public_key_raw,
                              int64_t at_ms) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListLedgerKeys() = 0;
  // Keeps a bulk change's shared evidence (docs/ledger.md, "Batch documents"): `document` is
  // the batch's JSON text, `hash` its lowercase hex SHA-256, which the batch's events carry as
  // batch_hash. kInvalidArgument when the hash is not that of the document, or the document is
  // empty or over kMaxEvidenceBatchBytes; kNotFound for an unknown account. Keeping a document
  // the account has already is OK and changes nothing. Kept documents are never changed or
  // deleted. Durable on return.
  virtual Status PutEvidenceBatch(int64_t account_id, const std::string& hash,
                                  const std::string& document, int64_t at_ms) = 0;
  // The account's documents with these hashes (hash -> document); hashes it has none for are
  // left out. At most kMaxEvidenceBatchLookup hashes per call (kInvalidArgument otherwise).
  virtual Result<EvidenceBatches> GetEvidenceBatches(int64_t account_id,
                                                     const std::vector<std::string>& hashes) = 0;
  // Overwrites a stored event's fields verbatim (no re-hashing). Exists only so tests and the
  // conformance suite can simulate tampering; never called by the application.
  virtual Status DebugOverwriteEvent(const ConsentEvent& e) = 0;

  // ---- inbound messages ----
  virtual Result<std::optional<InboundMessage>> FindInbound(
      int64_t account_id, const std::string& provider, const std::string& provider_message_id) = 0;
  // The account's messages matching `q`, newest first.
  virtual Result<std::vector<InboundMessage>> ListInbound(int64_t account_id,
                                                          const InboundQuery& q) = 0;

  // ---- review items (possible opt-outs) ----
  // The account's items matching `q`, oldest first, each with its message's text, sender,
  // number and arrival. kInvalidArgument for a limit that is not positive.
  virtual Result<std::vector<ReviewItem>> ListReviews(int64_t account_id, const ReviewQuery& q) = 0;
  virtual Result<ReviewItem> GetReview(int64_t account_id, int64_t id) = 0;  // kNotFound
  // Closes an open item exactly once, atomically (of two concurrent calls one wins, across
  // processes too): kFailedPrecondition, naming the state and who set it, when it is no longer
  // open; kNotFound when the account has no such item; kInvalidArgument for a target state
  // other than confirmed or dismissed. Returns the item as stored. Durable on return.
  virtual Result<ReviewItem> ResolveReview(int64_t account_id, const ReviewResolution& r) = 0;
  // Open items of every account, for /metrics.
  virtual Result<int64_t> CountOpenReviews() = 0;

  // ---- provider settings ----
  // Inserts or replaces the account's settings for config.provider. kNotFound for an unknown
  // account.
  virtual Status PutProviderConfig(const ProviderConfig& config) = 0;
  virtual Result<std::vector<ProviderConfig>> ListProviderConfigs(int64_t account_id) = 0;
  // Sets Account::reply_sender. kNotFound for an unknown account.
  virtual Status SetReplySender(int64_t account_id, const std::string& sender) = 0;
  // Sets Account::quiet_hours (not kAccount: kInvalidArgument). kNotFound for an unknown account.
  virtual Status SetAccountQuietHours(int64_t account_id, const QuietHoursPolicy& policy) = 0;

  // ---- single-use webhook nonces ----
  // Uses `nonce` once: OK when the account has not used nonce.nonce with this provider (it is
  // then kept until nonce.expires_at_ms), or used it for the same request_hash (a retry of that
  // request); kAlreadyExists when it was used for another request and has not expired. Every
  // nonce with expires_at_ms <= now_ms is forgotten by the same call (the sweep is part of
  // using one, so the table holds only live nonces and needs no other upkeep). Atomic across
  // processes sharing the database (a unique key decides). kNotFound for an unknown account.
  // Durable on return.
  virtual Status UseWebhookNonce(const WebhookNonce& nonce, int64_t now_ms) = 0;

  // ---- outbox ----
  virtual Result<std::vector<OutboxItem>> ListOutbox(int64_t account_id, const OutboxQuery& q) = 0;
  virtual Result<OutboxItem> GetOutboxItem(int64_t account_id, int64_t id) = 0;  // kNotFound
  // The marketing messages queued to a contact on a number (not cancelled, expired, failed or
  // dead), as the opt-out notice's policy needs them (NoticeHistory, core/sending.h).
  virtual Result<NoticeHistory> GetNoticeHistory(int64_t account_id, int64_t contact_id,
                                                 int64_t number_id) = 0;
  // When the contact's marketing messages from the number (not cancelled, expired, failed or
  // dead) are due, or were when they left: their next_attempt_at_ms within (from_ms, to_ms),
  // ascending, at most kMaxCapRows of them (the frequency cap, core/sending.h).
  static constexpr int kMaxCapRows = 5000;
  virtual Result<std::vector<int64_t>> ListMarketingDueTimes(int64_t account_id, int64_t contact_id,
                                                             int64_t number_id, int64_t from_ms,
                                                             int64_t to_ms) = 0;
  // The account's outbox item queued with this Idempotency-Key; nullopt when there is none.
  virtual Result<std::optional<OutboxItem>> FindOutboxByIdempotencyKey(int64_t account_id,
                                                                       const std::string& key) = 0;
  // Atomically claims up to claim.limit items of any account that are pending and due
  // (next_attempt_at_ms <= now_ms), replies the service sends itself (every kind but kMessage:
  // confirmations, HELP answers) before messages, each oldest first: state becomes sending,
  // lease_owner = owner, lease_until_ms = now_ms + lease_ms. Two concurrent claimers never get
  // the same item.
  // Sending rate: an item is only claimed when its number may send (MaySendAt against the
  // number's next send time, core/send_rate.h), and claiming it moves that time on by one
  // interval of the number's rate (SenderNumber::rate_mmps) in the same transaction, so all
  // claimers sharing the store together keep to each number's rate. The items of a number that
  // may not send yet are passed over, not waited for: other numbers' items are claimed.
  // next_rate_slot_ms says when the first waiting number may send again.
  // In the same transaction, each due item is first checked with DecidePendingReply
  // (core/consent.h) against its contact's status on its number as it is then, and whether an
  // event changed that status after the item's queued_at_seq: an item that is no longer due
  // becomes cancelled or expired with the reason in last_error, is returned in `retired`, and
  // does not count towards the limit; the claim goes on with the next pending items, retiring
  // at most a bounded number per call (so `items` may be empty while `retired` is not: claim
  // again). kInvalidArgument for a limit, lease or maximum age that is not positive, or an
  // empty owner. Durable on return.
  virtual Result<ClaimedOutbox> ClaimOutbox(const OutboxClaim& claim) = 0;
  // Finishes a claimed item. kAborted when the caller no longer holds its lease.
  virtual Status CompleteOutbox(const OutboxCompletion& completion) = 0;
  // Records a provider's delivery report on the account's item sent with
  // update.provider_message_id (the newest such item, should a provider reuse an id), in one
  // transaction: the status, error and time replace the recorded ones when DeliveryAdvances
  // (core/delivery.h) says the report is newer, else nothing changes (changed = false). nullopt
  // when the account has no item with that id. kInvalidArgument for an empty id or an error
  // over kMaxDeliveryErrorBytes. Found through the outbox's (account_id, provider_message_id)
  // index. Durable on return.
  virtual Result<std::optional<DeliveryRecorded>> RecordDelivery(const DeliveryUpdate& update) = 0;
  // Items left in `sending` whose lease expired before now_ms (their dispatcher died while
  // the reply may have been on the wire) become dead with a reason, never re-sent: a reply is
  // sent at most once. Returns how many.
  virtual Result<int64_t> ExpireOutboxLeases(int64_t now_ms) = 0;
  // Count of items per state, for metrics (all accounts): one entry for every state (all
  // seven), in enum order, zero counts included.
  virtual Result<std::vector<std::pair<OutboxState, int64_t>>> CountOutbox() = 0;

  // ---- moving an installation (src/store/transfer.h) ----
  // Up to table.batch_rows rows of `table` whose key is greater than `after_key` (its
  // key_columns first cells; empty: from the start), in key order (text bytewise), every
  // column of table.columns in that order. A read: safe alongside other calls.
  virtual Result<std::vector<TransferRow>> ExportRows(const TransferTable& table,
                                                      const TransferRow& after_key) = 0;
  virtual Result<int64_t> CountRows(const TransferTable& table) = 0;
  // For a table with an id counter: the highest id it has handed out (it can exceed the
  // highest id stored, after deletions); 0 when none.
  virtual Result<int64_t> LastId(const TransferTable& table) = 0;
  // Starts an import: one transaction, until StoreImport::Commit, that holds this store's
  // write lock (SQLite) or an EXCLUSIVE lock on every table (PostgreSQL). kFailedPrecondition,
  // with nothing changed, when any table of TransferTables() has a row: an import only fills
  // an empty installation. Other calls on this store wait until the import ends (or, for
  // another process, fail after the busy timeout); the import must end before the store is
  // destroyed.
  virtual Result<std::unique_ptr<StoreImport>> BeginImport() = 0;
};

// An import in progress (ConsentStore::BeginImport). Nothing of it is visible to others, or
// durable, before Commit returns OK; destroying it uncommitted rolls everything back.
class StoreImport {
 public:
  virtual ~StoreImport() = default;
  // Inserts rows as ExportRows gives them, ids included, with every constraint checked
  // (kAlreadyExists for a duplicate key, kInternal for a foreign key without its parent).
  virtual Status Insert(const TransferTable& table, const std::vector<TransferRow>& rows) = 0;
  // Sets the table's id counter so that new rows get ids above both `last_id` and every id
  // stored.
  virtual Status SetLastId(const TransferTable& table, int64_t last_id) = 0;
  // Commits; durable on return.
  virtual Status Commit() = 0;
};

// Opens the store named by `location`: "sqlite:PATH", or a plain path (SQLite); or
// "postgresql://…" / "postgres://…" (PostgreSQL, src/store/postgres/pg_store.h). Creates the
// file (SQLite) and applies migrations as needed.
Result<std::unique_ptr<ConsentStore>> OpenStore(const std::string& location);
// Whether `location` names a PostgreSQL store (OpenStore's choice).
bool IsPostgresLocation(std::string_view location);

}  // namespace smsconsent
