// ConsentStore: the one interface every storage backend implements.
//
// The SQLite store (src/store/sqlite/) is the embedded default; a PostgreSQL store will
// implement the same interface and pass the same conformance suite
// (tests/store/store_conformance_test.cc). No backend type appears in this header.
//
// Durability: when a mutating call returns OK, the change is durable (committed and synced
// as the backend's documentation says; for SQLite: WAL + synchronous=FULL). A call that
// returns an error changed nothing.
//
// Threading: a store object may be used from several threads; each call is atomic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/consent.h"
#include "core/keywords.h"
#include "core/ledger.h"
#include "core/status.h"

namespace smsconsent {

struct Account {
  int64_t id = 0;
  std::string name;
  bool marketing_sms_access = false;
  bool sms_short_code = false;
  std::string default_region = "US";  // for national-format phone input
  OptOutScope opt_out_scope = OptOutScope::kNumber;
  int64_t created_at_ms = 0;
  // How replies leave for this account: "log" (default), "twilio" or "kannel".
  std::string reply_sender = "log";
};

struct ReplyTexts {
  std::string opt_in;   // templates; "{business}" is replaced by the business name
  std::string opt_out;
  std::string help;
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
  int64_t created_at_ms = 0;
};

struct Contact {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string phone;  // E.164
  std::string name;
  std::string email;
  int64_t created_at_ms = 0;
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
// that no reply is ever sent twice).
enum class OutboxState { kPending, kSending, kSent, kFailed, kDead };
const char* OutboxStateName(OutboxState s);  // "pending", "sending", "sent", "failed", "dead"
Result<OutboxState> ParseOutboxState(std::string_view s);

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
};

// Per-account settings of one SMS provider: webhook secrets and outbound credentials, as a
// JSON object whose keys the provider defines (docs/webhooks.md). Stored verbatim.
struct ProviderConfig {
  int64_t account_id = 0;
  std::string provider;  // "twilio", "kannel", "vonage", "plivo", "telnyx", "generic"
  std::string settings;  // JSON object text
  int64_t updated_at_ms = 0;
};

// How a dispatcher finishes one claimed outbox item.
struct OutboxCompletion {
  int64_t id = 0;
  std::string lease_owner;  // must still hold the lease, else kAborted
  OutboxState state = OutboxState::kSent;  // kSent, kPending (retry later), kFailed or kDead
  int attempts = 0;
  std::string last_error;
  int64_t next_attempt_at_ms = 0;  // for kPending
  std::string provider_message_id;
  int64_t at_ms = 0;  // sent_at_ms for kSent
};

// An event to append; the store assigns id, seq, prev_hash and hash.
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
};

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
  std::string search;    // substring of phone or name (case-insensitive), empty = all
  // Filter by the contact's status on one sender number of the account. Both or neither
  // (kInvalidArgument otherwise); a number outside the account is kNotFound.
  // not_specified also matches contacts that have no status row for the number (never set).
  // Combines with `search` and the cursor.
  std::optional<int64_t> number_id;
  std::optional<SubscriptionStatus> status;
};

struct EventQuery {
  int64_t after_seq = 0;  // cursor: events with seq > after_seq, ascending
  int limit = 1000;
  std::optional<int64_t> contact_id;
};

struct OutboxQuery {
  int64_t after_id = 0;
  int limit = 100;
  std::optional<OutboxState> state;
};

class ConsentStore {
 public:
  virtual ~ConsentStore() = default;

  // ---- accounts ----
  // api_key_hash: SHA-256 hex of the account's API key (the key itself is never stored).
  virtual Result<Account> CreateAccount(const Account& account, const std::string& api_key_hash) = 0;
  virtual Result<Account> GetAccount(int64_t account_id) = 0;  // kNotFound
  virtual Result<Account> FindAccountByApiKeyHash(const std::string& api_key_hash) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;

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
  // each event (assigning seq and chaining hashes with ComputeEventHash) and folds it into the
  // status table with ApplyEvent, then enqueues the outbox items (state pending; or sent,
  // with sent_at_ms = created_at_ms, when channel is "response"). Errors:
  //   kAlreadyExists — the inbound (account, provider, provider_message_id) is stored already;
  //   kAborted — an event's `from` differs from the stored status (a concurrent change):
  //              the caller re-reads and decides again;
  //   kNotFound — a referenced contact or number is not in the account.
  // Nothing is written on error. Durable on return.
  virtual Result<CommitResult> Commit(int64_t account_id, const ChangeSet& changes) = 0;
  // Commits many change sets at once (group commit): each item is all-or-nothing and
  // independent of the others, exactly as if it had been passed to Commit alone (one item's
  // kAborted, kAlreadyExists or kNotFound changes nothing of the others), and items apply in
  // order, so the hash chain runs on from one item to the next. Every item whose result is OK
  // is durable on return; results are in the order of `items`. A backend may make the whole
  // batch one durable write (SQLite: one transaction, one fsync); this default commits the
  // items one by one.
  virtual std::vector<Result<CommitResult>> CommitBatch(const std::vector<BatchItem>& items) {
    std::vector<Result<CommitResult>> results;
    results.reserve(items.size());
    for (const BatchItem& item : items) results.push_back(Commit(item.account_id, *item.changes));
    return results;
  }

  virtual Result<std::vector<ConsentEvent>> ListEvents(int64_t account_id, const EventQuery& q) = 0;
  // Overwrites a stored event's fields verbatim (no re-hashing). Exists only so tests and the
  // conformance suite can simulate tampering; never called by the application.
  virtual Status DebugOverwriteEvent(const ConsentEvent& e) = 0;

  // ---- inbound messages ----
  virtual Result<std::optional<InboundMessage>> FindInbound(int64_t account_id,
                                                            const std::string& provider,
                                                            const std::string& provider_message_id) = 0;

  // ---- provider settings ----
  // Inserts or replaces the account's settings for config.provider. kNotFound for an unknown
  // account.
  virtual Status PutProviderConfig(const ProviderConfig& config) = 0;
  virtual Result<std::vector<ProviderConfig>> ListProviderConfigs(int64_t account_id) = 0;
  // Sets Account::reply_sender. kNotFound for an unknown account.
  virtual Status SetReplySender(int64_t account_id, const std::string& sender) = 0;

  // ---- outbox ----
  virtual Result<std::vector<OutboxItem>> ListOutbox(int64_t account_id, const OutboxQuery& q) = 0;
  virtual Result<OutboxItem> GetOutboxItem(int64_t account_id, int64_t id) = 0;  // kNotFound
  // Atomically claims up to `limit` items of any account that are pending and due
  // (next_attempt_at_ms <= now_ms), oldest first: state becomes sending, lease_owner = owner,
  // lease_until_ms = now_ms + lease_ms. Two concurrent claimers never get the same item.
  virtual Result<std::vector<OutboxItem>> ClaimOutbox(int64_t now_ms, int limit,
                                                      const std::string& owner,
                                                      int64_t lease_ms) = 0;
  // Finishes a claimed item. kAborted when the caller no longer holds its lease.
  virtual Status CompleteOutbox(const OutboxCompletion& completion) = 0;
  // Items left in `sending` whose lease expired before now_ms (their dispatcher died while
  // the reply may have been on the wire) become dead with a reason, never re-sent: a reply is
  // sent at most once. Returns how many.
  virtual Result<int64_t> ExpireOutboxLeases(int64_t now_ms) = 0;
  // Count of items per state, for metrics (all accounts): one entry for every state, in enum
  // order, zero counts included.
  virtual Result<std::vector<std::pair<OutboxState, int64_t>>> CountOutbox() = 0;
};

// Opens the store named by `location`: "sqlite:PATH", or a plain path (SQLite).
// Creates the file and applies migrations as needed.
Result<std::unique_ptr<ConsentStore>> OpenStore(const std::string& location);

}  // namespace smsconsent
