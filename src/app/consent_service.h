// ConsentService: the use cases of smsconsent, shared by the CLI and (later) the HTTP API.
//
// It wires the pure core (phone numbers, keyword matching, consent rules, segments, ledger)
// to a ConsentStore and a Clock. Every method checks the account's add-ons first: without
// Marketing SMS Access every SMS operation is refused (kPermissionDenied); registering a
// short code also needs the SMS Short Code add-on.
//
// Writes go through ConsentStore::Commit (or a GroupCommitter, see SetCommitter), so the
// inbound message, its events and queued replies are stored together and durably; a
// concurrent change (kAborted) is retried with a fresh read, at most kMaxAttempts times.
// Thread-safe if the store is.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/account_cache.h"
#include "app/group_committer.h"
#include "app/key_serializer.h"
#include "core/clock.h"
#include "core/consent.h"
#include "core/contact_filter.h"
#include "core/keywords.h"
#include "core/phone.h"
#include "core/segments.h"
#include "core/sending.h"
#include "store/store.h"

namespace smsconsent {

inline constexpr char kAddonMarketingSms[] = "marketing_sms_access";
inline constexpr char kAddonShortCode[] = "sms_short_code";

struct NewAccount {
  std::string name;
  std::vector<std::string> addons;  // kAddonMarketingSms, kAddonShortCode
  std::string region = "US";
  OptOutScope opt_out_scope = OptOutScope::kNumber;
};

struct CreatedAccount {
  Account account;
  std::string api_key;  // shown once; only its SHA-256 is stored
};

struct NewNumber {
  int64_t account_id = 0;
  std::string number;
  NumberKind kind = NumberKind::kLongCode;
  std::string country;                 // required for short codes; derived for E.164
  std::vector<std::string> languages;  // empty = default for the country
  std::string business_name;           // empty = the account's name
  bool opt_in_confirmation = false;
  bool free_text = true;
  bool double_opt_in = false;  // opt-ins wait for the contact's YES
};

struct InboundSms {
  std::string provider = "cli";
  std::string message_id;  // empty = generate one (no idempotency possible)
  std::string from;
  std::string to;
  std::string body;
  // "api": replies go out through the dispatcher; "response": the caller carries them in its
  // HTTP response (TwiML, Kannel), so they are stored as sent and never dispatched.
  std::string reply_channel = "api";
};

// Where an inbound message goes: the number it was sent to and that number's account.
struct InboundRoute {
  Account account;
  SenderNumber number;
  // The account's cached numbers and provider settings, as read when routing (may be null:
  // ReceiveRouted then reads them from the store).
  std::shared_ptr<const AccountCache::Entry> cached;
};

// The answer to "may I send to this phone from this number?".
struct ConsentAnswer {
  bool allowed = false;
  std::string phone;   // E.164
  std::string number;  // the sender number as registered
  ConsentState state;  // not_specified with updated_at_ms 0 when never set
  bool known_contact = false;
};

// A message the business asks to send (POST /v1/messages, `sms send`).
struct MessageRequest {
  std::string to;                  // the recipient's phone, in any format
  std::optional<int64_t> from_id;  // the sender number by id, or
  std::string from;                // by its text (E.164 in any format, or short code digits)
  std::string body;
  Purpose purpose = Purpose::kMarketing;
  std::optional<int64_t> send_at_ms;  // when it is due; now when not given
  std::string idempotency_key;        // the client's Idempotency-Key, or empty
};

// What became of a MessageRequest: the message queued (or the one queued before with the same
// Idempotency-Key, `replayed`), or why it was refused (nothing queued).
struct MessageOutcome {
  std::optional<OutboxItem> message;
  bool replayed = false;
  std::optional<Refusal> refusal;
  // A marketing message that would have arrived in the recipient's quiet hours: when it was
  // asked for, and the decision that moved it (its send_at is decision->next_allowed_ms).
  std::optional<QuietHoursDecision> deferred;
  // A marketing message past the number's frequency cap (with "over": "defer"): when the cap
  // lets it go, before quiet hours (which may move it on again).
  std::optional<int64_t> capped_until_ms;
  int64_t requested_ms = 0;
};

// A partial update of a sender number's keyword and reply configuration.
struct NumberUpdate {
  std::optional<std::vector<std::string>> languages;
  std::optional<std::vector<std::string>> opt_in, opt_out, opt_out_all, help;
  std::optional<bool> replace_default_keywords;
  std::optional<bool> free_text;
  std::optional<std::string> reply_opt_in, reply_opt_out, reply_help, reply_confirmation_request;
  std::optional<bool> double_opt_in;
  std::optional<std::string> business_name;
  std::optional<bool> opt_in_confirmation;
  std::optional<QuietHoursPolicy> quiet_hours;
  std::optional<OptOutNotice> opt_out_notice;
  std::optional<FrequencyCap> frequency_cap;
  std::optional<int64_t> rate_mmps;  // 0: back to the kind's default (core/send_rate.h)
};

// A partial update of a contact: only the fields set change. The phone is not here: it is
// immutable (consent is given by a phone number; a new number is a new contact).
struct ContactUpdate {
  std::optional<std::string> name;
  std::optional<std::string> email;
};

struct QueuedReply {
  std::string body;
  ReplyKind kind = ReplyKind::kHelp;
  SegmentInfo segments;
  int64_t outbox_id = 0;
};

struct InboundResult {
  int64_t inbound_id = 0;
  bool duplicate = false;  // a provider retry: nothing changed, same answer as before
  int64_t account_id = 0;
  int64_t contact_id = 0;
  std::string from, to;
  KeywordMatch match;
  SubscriptionStatus status_before = SubscriptionStatus::kNotSpecified;  // on the number texted
  SubscriptionStatus status_after = SubscriptionStatus::kNotSpecified;
  std::vector<ConsentEvent> events;
  std::vector<QueuedReply> replies;
  std::string message_id;  // the provider's id of the message
  // The decision as stored with the message: a JSON object's text (intent, match, statuses
  // before and after, transitions, replies). DecisionJson (json_views.h) prints it.
  std::string decision;
};

struct StatusChangeRequest {
  int64_t account_id = 0;
  std::string phone;
  std::string number;
  SubscriptionStatus target = SubscriptionStatus::kNotSpecified;
  Source source = Source::kManual;
  std::string actor = "cli";
  Attestation attestation;
};

// How a contact asked to stop, for an opt-out recorded on their behalf (FCC 24-24: a
// revocation by any reasonable means binds like a texted STOP). "sms" is a text message that
// was no opt-out keyword but that staff confirm as the contact's request to stop; it needs
// ContactOptOutRequest::inbound_message_id.
inline constexpr std::array<const char*, 7> kContactOptOutChannels = {
    "phone", "email", "in_person", "web", "mail", "other_sms", "sms"};

// An opt-out the contact asked for by another channel than an opt-out keyword, recorded by a
// staff member, the API or a review of an inbound message. It is the contact's own opt-out
// (Source::kContactRequest): no user, bulk change or import can reverse it; only the contact's
// opt-in keyword does.
struct ContactOptOutRequest {
  int64_t account_id = 0;
  std::string phone;
  std::string number;
  std::string channel;  // one of kContactOptOutChannels
  // When the contact's request was received, ms since the epoch: the FCC clock runs from it.
  // 0: the inbound message's arrival when inbound_message_id is set, else now.
  int64_t received_at_ms = 0;
  std::string explanation;  // what the contact asked, and how; required
  std::string actor = "cli";
  // The account's inbound message that carries the request (channel "sms"): the evidence
  // references it and it must come from `phone`.
  std::optional<int64_t> inbound_message_id;
};

struct StatusChangeResult {
  Contact contact;
  SenderNumber number;
  ConsentEvent event;
  bool changed = false;
  std::vector<QueuedReply> replies;
};

struct NumberStatus {
  SenderNumber number;
  ConsentState state;
};

// An inbound message and the replies that answer it (OutboxItem::inbound_id), by id.
struct MessageWithReplies {
  InboundMessage message;
  std::vector<OutboxItem> replies;
};

// A page of the account's revocations: the contact's own opt-outs (keyword or recorded on the
// contact's behalf), in ledger order.
struct RevocationQuery {
  int64_t after_seq = 0;   // cursor: events with seq > after_seq
  int limit = 50;          // revocations per page, 1 to kMaxRevocationPage
  bool late_only = false;  // only those that took more than 10 US business days
};

// One revocation and its FCC clock (core/business_days.h).
struct Revocation {
  ConsentEvent event;
  std::string channel;  // "sms" for a keyword; how the contact asked otherwise
  int64_t received_at_ms = 0;
  int64_t effective_at_ms = 0;  // the event's time
  int64_t business_days = 0;
  bool late = false;
  // The replies sent to the contact (from any of the account's numbers) while the revocation
  // waited: sent at or after its receipt and at or before its effect. At most
  // kMaxSentBetween, oldest first; sent_between_more says there were more.
  std::vector<OutboxItem> sent_between;
  bool sent_between_more = false;
};

struct RevocationPage {
  std::vector<Revocation> items;
  // Where the next page starts (the seq of the last event looked at), or nullopt at the
  // ledger's end. A page may hold fewer than `limit` items and still have a next: each page
  // looks at no more than kRevocationScanEvents events.
  std::optional<int64_t> next_after_seq;
};

struct LedgerCheck {
  int64_t account_id = 0;
  int64_t events = 0;
  // The ledger itself: the hash chain of format-1 events (docs/ledger.md), the Merkle tree's
  // root recomputed from every event against the stored tree and every kept signed head, and
  // each head's signature with the key the store recorded for it.
  bool chain_ok = true;
  std::optional<std::string> chain_failure;  // the first problem found, of either kind
  std::optional<int64_t> failed_seq;
  int64_t tree_size = 0;      // events in the integrated tree
  int64_t heads_checked = 0;  // signed tree heads whose root and signature were checked
  // Batch documents (bulk changes' shared evidence) that events name, found and hashed right;
  // one missing or not hashing to its name is a failure of the ledger.
  int64_t batches_checked = 0;
  int64_t status_mismatches = 0;  // rows where the status table differs from the replay
  std::vector<std::string> mismatch_samples;
  bool ok() const { return chain_ok && status_mismatches == 0; }
};

class ConsentService {
 public:
  static constexpr int kMaxAttempts = 8;
  static constexpr int64_t kMetadataTtlMs = 2000;

  ConsentService(ConsentStore& store, const Clock& clock);

  Result<CreatedAccount> CreateAccount(const NewAccount& req);
  Result<Account> GetAccount(int64_t account_id);
  Result<std::vector<int64_t>> ListAccountIds();
  Result<SenderNumber> AddNumber(const NewNumber& req);
  Result<std::vector<SenderNumber>> ListNumbers(int64_t account_id);
  Result<Contact> AddContact(int64_t account_id, const std::string& phone, const std::string& name,
                             const std::string& email);
  // With a status filter (q.number_id and q.status) the account needs Marketing SMS Access,
  // as for every status read; kNotFound for a number of another account.
  Result<std::vector<Contact>> ListContacts(int64_t account_id, const ContactQuery& q);
  // The store query of a contact filter (a sender number given by its text is resolved to
  // its id; kNotFound when the account has no such number).
  Result<ContactQuery> QueryFor(int64_t account_id, const ContactFilter& filter);
  Result<Contact> UpdateContact(int64_t account_id, int64_t contact_id, const ContactUpdate& u);
  // kFailedPrecondition when the contact has consent events, inbound messages or replies
  // (ConsentStore::DeleteContact says why).
  Status DeleteContact(int64_t account_id, int64_t contact_id);

  // Handles one inbound SMS: routes it by `to`, stores it once (idempotent on message id),
  // recognises the keyword, applies the rules and queues the reply. kNotFound when no
  // account has the `to` number; kInvalidArgument when its message id, `from` or `to` is not
  // UTF-8 (a body that is not is stored with U+FFFD for the bytes that cannot be read).
  Result<InboundResult> ReceiveSms(const InboundSms& sms);
  // The routing step of ReceiveSms alone: the number `to` and its account (which must have
  // Marketing SMS Access). Webhooks need it before ReceiveSms, to verify the provider's
  // signature with that account's secrets. kNotFound when no account has the number.
  Result<InboundRoute> RouteInbound(const std::string& to, const std::string& from);
  // The stored settings of `provider` for a routed message's account (an empty object when not
  // configured), from the route's cached copy, parsed once per cache load (the cache entry is
  // dropped, and the settings parsed again, when SetProvider changes them). kInternal when
  // the stored settings are not a JSON object.
  Result<std::shared_ptr<const nlohmann::json>> ProviderSettings(const InboundRoute& route,
                                                                 const std::string& provider);
  // ReceiveSms for an already routed message.
  Result<InboundResult> ReceiveRouted(const InboundSms& sms, const InboundRoute& route);
  // ReceiveRouted without blocking on the commit. `done` is called exactly once with the
  // answer: before this returns when the message is refused before anything is written (or
  // when there is no committer), otherwise on the committer's writer thread once the message
  // is durable, where `done` must not block. Messages from one phone are still decided one
  // at a time, in arrival order, without a thread waiting (KeySerializer).
  using InboundCallback = std::function<void(Result<InboundResult>)>;
  void ReceiveRoutedAsync(const InboundSms& sms, const InboundRoute& route, InboundCallback done);

  // The account an API key belongs to (cached). kUnauthenticated for an unknown key.
  Result<Account> Authenticate(const std::string& api_key);
  // The same for a key already hashed (Sha256Hex of the key), for callers that need the hash
  // themselves.
  Result<Account> AuthenticateKeyHash(const std::string& key_hash);

  // May the business text `phone` from `number`? Only opted_in allows it (rule 7). The
  // account's metadata comes from a cache of at most kMetadataTtlMs; the status never does.
  Result<ConsentAnswer> CheckConsent(int64_t account_id, const std::string& phone,
                                     const std::string& number);

  Result<SenderNumber> GetNumber(int64_t account_id, int64_t number_id);
  // Validates the resulting keyword configuration (KeywordMatcher::Create) before storing;
  // short codes keep their opt-in confirmation on.
  Result<SenderNumber> UpdateNumber(int64_t account_id, int64_t number_id,
                                    const NumberUpdate& update);
  Result<Contact> GetContact(int64_t account_id, int64_t contact_id);
  Result<std::vector<NumberStatus>> ContactStatuses(int64_t account_id, int64_t contact_id);
  // The events below come with their batch documents (AttachBatchDocuments).
  Result<std::vector<ConsentEvent>> ContactHistory(int64_t account_id, int64_t contact_id);
  Result<std::vector<ConsentEvent>> ListEvents(int64_t account_id, const EventQuery& q);
  Result<OutboxItem> GetOutboxItem(int64_t account_id, int64_t id);

  // Stores a provider's settings for the account (webhook secrets, outbound credentials) and,
  // when `reply_sender` is set, how replies leave (one of kReplySenderNames: "log", "twilio",
  // "kannel", "vonage", "plivo", "telnyx"; kInvalidArgument for another name).
  Status SetProvider(int64_t account_id, const std::string& provider,
                     const nlohmann::json& settings,
                     const std::optional<std::string>& reply_sender);
  // The account's settings for one provider ({} when none are stored).
  Result<nlohmann::json> ProviderSettings(int64_t account_id, const std::string& provider);

  // Sets the account's quiet hours, which its numbers with the policy "account" (the default)
  // follow. kInvalidArgument for "account" itself.
  Result<Account> SetAccountQuietHours(int64_t account_id, const QuietHoursPolicy& policy);

  // Called after each store commit with its duration (metrics).
  void SetStoreObserver(std::function<void(const char* op, double seconds)> observer) {
    store_observer_ = std::move(observer);
  }
  // Routes every commit through `committer` (group commit; `smsconsent serve` does this), or
  // straight to the store when null (the default). Set before use; not owned.
  void SetCommitter(GroupCommitter* committer) { committer_ = committer; }
  // How long a contact has to confirm a double opt-in (core/consent.h); set before use.
  void SetConfirmationWindow(int64_t ms) { confirmation_window_ms_ = ms; }

  // A user's (manual, bulk, api, import) status change. kFailedPrecondition when a self
  // opt-out forbids it; kInvalidArgument when an opt-in lacks its attestation.
  Result<StatusChangeResult> SetStatus(const StatusChangeRequest& req);

  // Records the contact's own opt-out on `number`, asked for by another channel (see
  // ContactOptOutRequest). The event's evidence holds the channel, the explanation, the actor,
  // the inbound message if any, and the FCC clock: received_at_ms, effective_at_ms (the event's
  // time), the US business days between them and `late` when they are more than 10; a late
  // revocation is recorded all the same. No reply is queued. Errors: kInvalidArgument for an
  // unknown channel, a blank or too long explanation, a received time in the future or older
  // than kMaxRevocationAgeMs, or an inbound message that is not the contact's; kNotFound for an
  // unknown number or inbound message; kPermissionDenied without Marketing SMS Access.
  Result<StatusChangeResult> RecordContactOptOut(const ContactOptOutRequest& req);
  static constexpr int64_t kMaxRevocationAgeMs = 3660LL * 24 * 60 * 60 * 1000;  // ~10 years
  static constexpr int64_t kMaxReceivedAheadMs = 5 * 60 * 1000;  // clock skew of the caller
  static constexpr size_t kMaxOptOutExplanationBytes = 2000;

  // The account's revocations from q.after_seq on (see RevocationPage). Events written before
  // the clock was recorded count as received when they took effect. kInvalidArgument for a
  // limit outside 1 to kMaxRevocationPage.
  Result<RevocationPage> ListRevocations(int64_t account_id, const RevocationQuery& q);
  static constexpr int kMaxRevocationPage = 200;
  static constexpr int64_t kRevocationScanEvents = 10'000;
  static constexpr int kMaxSentBetween = 20;

  // The contact's state on every number of the account (not_specified where never set).
  Result<std::vector<NumberStatus>> ShowStatus(int64_t account_id, const std::string& phone);
  Result<std::vector<ConsentEvent>> History(int64_t account_id, const std::string& phone);
  Result<std::vector<OutboxItem>> ListOutbox(int64_t account_id, const OutboxQuery& q);
  // The account's inbound messages matching `q`, newest first, each with its replies: two
  // store reads for the whole page (messages, then all their replies). kNotFound for a
  // contact or number filter outside the account.
  Result<std::vector<MessageWithReplies>> ListMessages(int64_t account_id, const InboundQuery& q);
  // For each of these contacts of the account, its stored states (numbers where its status
  // was never set are left out: not_specified), in the order of the account's numbers; two
  // store reads whatever the number of contacts. Other accounts' contacts are left out.
  Result<std::map<int64_t, std::vector<NumberStatus>>> StoredStatuses(
      int64_t account_id, const std::vector<int64_t>& contact_ids);

  // Integrates every event of the account written so far into its tree (CatchUpLedger,
  // app/ledger_service.h). kUnavailable when it could not finish.
  Status IntegrateLedger(int64_t account_id);
  // On a store that numbers events only when it integrates them (PostgreSQL), integrates the
  // account's written events, so that a listing that follows shows every write before it;
  // nothing on SQLite.
  // Queues a message to send from one of the account's numbers, after checking the rules
  // (RefuseSend in core/sending.h: add-ons, the number, the recipient's status on it) and the
  // body and schedule (CheckMessageBody, CheckSendAt). A refusal is an outcome, not an error;
  // errors are bad input (kInvalidArgument, kInvalidPhone, kNotFound for an unknown number),
  // kAlreadyExists for an Idempotency-Key used with a different request, kFailedPrecondition
  // for a marketing message to a number with no local time, and store failures. A marketing
  // message due in the recipient's quiet hours (the number's policy, core/quiet_hours.h) is
  // deferred to the next instant it may arrive, not refused. The dispatcher checks the message
  // again when it leaves (DecidePendingReply, quiet hours).
  Result<MessageOutcome> SendMessage(int64_t account_id, const MessageRequest& req);
  // SendMessage without blocking on the commit: `done` is called exactly once, before this
  // returns when the answer needs no commit (a refusal, a replay, bad input), otherwise on the
  // committer's writer thread, where it must not block. A concurrent request with the same
  // Idempotency-Key that committed first makes this one kAlreadyExists (repeating it replays).
  using MessageCallback = std::function<void(Result<MessageOutcome>)>;
  void SendMessageAsync(int64_t account_id, const MessageRequest& req, MessageCallback done);
  // What SendMessage would do with `req` now, as a new request (its Idempotency-Key is not
  // looked up), queuing nothing: the message as it would be queued (`message`, id 0: the body
  // as it would be sent, with the number's opt-out notice when its policy adds it, and the
  // schedule, `deferred` out of the recipient's quiet hours), or the refusal (no `message`).
  // The same errors as SendMessage for the same input. Reads only; SendMessage decides afresh.
  Result<MessageOutcome> PreviewMessage(int64_t account_id, MessageRequest req);
  Status NumberWrittenEvents(int64_t account_id);
  // Checks the ledger (the chain of format-1 events, the tree and its signed heads) and that the
  // status table equals the ledger's replay, after integrating the account's events written so
  // far. Reads the whole ledger once.
  Result<LedgerCheck> VerifyLedger(int64_t account_id);
  // Rebuilds the status table from the ledger; refuses (kDataLoss) when the ledger does not
  // verify (VerifyLedger: a format-1 chain, the tree or a signed head contradicted).
  Result<int64_t> RebuildStatuses(int64_t account_id);

  const PhoneNormalizer& phones() const { return phones_; }

  // The account, refused (kPermissionDenied) without Marketing SMS Access.
  Result<Account> AccountWithSms(int64_t account_id);
  // One of the account's numbers by its text (E.164 in any format, or short code digits):
  // a pointer into `numbers`.
  Result<const SenderNumber*> ResolveNumberIn(const Account& account,
                                              const std::vector<SenderNumber>& numbers,
                                              const std::string& number) const;
  // A reply of `number` rendered with its business name, and its segments.
  QueuedReply MakeReply(ReplyKind kind, const SenderNumber& number) const;

 private:
  struct Receipt;  // one inbound message being decided (consent_service.cc)
  // One attempt at deciding and committing `r`; retried after kAborted.
  void AttemptReceive(const std::shared_ptr<Receipt>& r);
  void OnReceiptCommitted(const std::shared_ptr<Receipt>& r, Result<CommitResult> committed);
  void FinishReceive(const std::shared_ptr<Receipt>& r, Result<InboundResult> result);
  Result<SenderNumber> ResolveNumber(const Account& account, const std::string& number);
  static Status RequireSms(const Account& account);
  Result<Contact> GetOrCreateContact(const Account& account, const std::string& e164);
  Result<std::shared_ptr<const KeywordMatcher>> MatcherFor(const SenderNumber& number);
  // The change set that stores an inbound message and its consequences, from the contact's
  // current statuses; fills `out` with the answer except what only the commit knows (ids,
  // events).
  Result<ChangeSet> PlanInbound(const InboundSms& sms, const InboundRoute& route,
                                const Contact& contact, const std::string& message_id,
                                InboundResult& out);
  // The route's cached account entry, or a fresh one when the route carries none.
  Result<std::shared_ptr<const AccountCache::Entry>> CachedAccount(const InboundRoute& route);
  // A message checked and ready to queue (`changes`), or its answer when it needs no commit.
  struct PreparedMessage {
    bool done = false;       // `outcome` is the answer: a refusal or a replay
    MessageOutcome outcome;  // otherwise what the answer adds to the queued message
    int64_t account_id = 0;
    ChangeSet changes;
  };
  Result<PreparedMessage> PrepareMessage(int64_t account_id, const MessageRequest& req);
  Result<CommitResult> TimedCommit(int64_t account_id, const ChangeSet& changes);
  // TimedCommit without blocking (GroupCommitter::CommitAsync); inline without a committer.
  void TimedCommitAsync(int64_t account_id, ChangeSet changes,
                        std::function<void(Result<CommitResult>)> done);
  Result<Contact> FindContact(const Account& account, const std::string& phone);
  Result<InboundResult> StoredAnswer(const InboundMessage& stored);
  // Pages through the ledger in seq order (optionally one contact's events).
  Status ForEachEvent(int64_t account_id, std::optional<int64_t> contact_id,
                      const std::function<void(const ConsentEvent&)>& fn);

  ConsentStore& store_;
  const Clock& clock_;
  PhoneNormalizer phones_;
  std::mutex matchers_mu_;
  // number id -> matcher: rebuilt when the number's keyword configuration changes.
  std::map<int64_t, std::shared_ptr<const KeywordMatcher>> matchers_;
  std::function<void(const char*, double)> store_observer_;
  int64_t confirmation_window_ms_ = kDefaultConfirmationWindowMs;
  AccountCache accounts_;
  GroupCommitter* committer_ = nullptr;
  KeySerializer phone_turns_;  // inbound messages of one phone, one at a time
};

// The number's text of double opt-in's request to confirm: its own, else the default in its
// first language.
std::string ConfirmationRequestTemplate(const SenderNumber& number);

// The outbox item that sends `reply` from `number` to `contact` (id 0: a contact created in the
// same change set), due at now_ms.
OutboxItem OutboxFor(const QueuedReply& reply, const SenderNumber& number, const Contact& contact,
                     int64_t now_ms);

// Random API key ("sk_" + 40 hex characters) from OpenSSL's CSPRNG.
std::string GenerateApiKey();

// Sets the batch_document of every event that names one (batch_hash, a bulk change's shared
// evidence: docs/ledger.md, "Batch documents") from the account's kept documents. Documents
// already in `known` are not read again, and those read are added to it, so that a caller
// paging through a bulk change's events reads its document once. A document the store does not
// hold leaves batch_document empty (VerifyLedger reports it).
Status AttachBatchDocuments(ConsentStore& store, int64_t account_id,
                            std::vector<ConsentEvent>& events, EvidenceBatches& known);

}  // namespace smsconsent
