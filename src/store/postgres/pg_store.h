// PgStore: the ConsentStore on PostgreSQL, for installations that run several `smsconsent
// serve` instances against one database.
//
// Location: a libpq URI, `postgresql://USER@HOST:PORT/DB?…` (or `postgres://`), with two
// parameters of our own that are taken out before the URI reaches libpq:
//   pool=N     connections in the pool (default 8, 1..1000)
//   schema=S   keep the tables in schema S (created if missing; [a-z0-9_], at most 63
//              characters) instead of the first schema of the server's search_path
// docs/storage.md ("PostgreSQL") describes the schema, the locking and the error mapping.
//
// Durability: every mutating call is one transaction; COMMIT returns after the WAL is flushed
// (synchronous_commit is turned back on for our sessions if the server has it off).
//
// Threading: calls from any number of threads and processes. Each call borrows one connection
// from the pool for its duration. A connection that breaks (server restarted, backend
// terminated) is thrown away and replaced by a new one on a later call; a call whose first
// statement finds its pooled connection dead is retried once on a new connection (nothing was
// done yet), other calls that lose their connection answer kUnavailable and changed nothing.
//
// No libpq type appears in this header.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace smsconsent {

class PgStore final : public ConsentStore {
 public:
  // What a location string says.
  struct Options {
    std::string conninfo;  // the URI as libpq gets it (without pool/schema)
    std::string schema;    // empty: the server's search_path decides
    int pool_size = 8;
  };
  // kInvalidArgument for a malformed pool or schema parameter.
  static Result<Options> ParseLocation(const std::string& location);

  // Connects, creates the schema if asked to, and applies pending migrations in one
  // transaction under an advisory lock (concurrent starts are serialised). Errors:
  // kUnavailable when the server cannot be reached; kFailedPrecondition when the database was
  // migrated by a newer smsconsent; kInvalidArgument for a bad location.
  static Result<std::unique_ptr<ConsentStore>> Open(const std::string& location);

  static int LatestSchemaVersion();

  // Statements are prepared on the server per connection. Those of SQL built per call (a
  // contact search has one shape for each combination of its filters, and clients choose the
  // combinations) are kept in a least-recently-used cache of this many per connection, and
  // deallocated on the server when they drop out of it.
  static constexpr size_t kStatementCacheSize = 64;
  // For tests: the statements prepared on the server for one of the pool's connections.
  Result<int64_t> PreparedStatementsForTesting();

  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  Result<Account> CreateAccount(const Account& account, const std::string& api_key_hash) override;
  Result<Account> GetAccount(int64_t account_id) override;
  Result<Account> FindAccountByApiKeyHash(const std::string& api_key_hash) override;
  Result<std::vector<Account>> ListAccounts() override;

  Result<User> CreateUser(const User& user) override;
  Result<User> GetUser(int64_t user_id) override;
  Result<User> FindUserByEmail(const std::string& email) override;
  Result<std::vector<User>> ListUsers(int64_t account_id) override;
  Result<User> UpdateUser(const User& user) override;
  Status DeleteUser(int64_t user_id) override;
  Status CreateSession(const StaffSession& session) override;
  Result<StaffSession> FindSession(const std::string& token_hash) override;
  Status TouchSession(const std::string& token_hash, int64_t last_seen_ms,
                      int64_t expires_at_ms) override;
  Status DeleteSession(const std::string& token_hash) override;
  Result<int64_t> DeleteUserSessions(int64_t user_id, const std::string& keep_token_hash) override;
  Result<int64_t> PurgeExpiredSessions(int64_t now_ms) override;

  Result<SenderNumber> AddNumber(const SenderNumber& number) override;
  Result<SenderNumber> UpdateNumber(const SenderNumber& number) override;
  Result<SenderNumber> GetNumber(int64_t account_id, int64_t number_id) override;
  Result<std::vector<SenderNumber>> ListNumbers(int64_t account_id) override;
  Result<std::vector<SenderNumber>> FindNumbers(const std::string& number) override;

  Result<Contact> AddContact(const Contact& contact) override;
  Result<Contact> GetContact(int64_t account_id, int64_t contact_id) override;
  Result<Contact> FindContactByPhone(int64_t account_id, const std::string& e164) override;
  Result<std::vector<Contact>> ListContacts(int64_t account_id, const ContactQuery& q) override;
  Status UpdateContact(const Contact& contact) override;
  Status DeleteContact(int64_t account_id, int64_t contact_id) override;

  Result<std::vector<StatusRow>> GetStatuses(int64_t account_id, int64_t contact_id) override;
  Result<std::vector<StatusRow>> ListAllStatuses(int64_t account_id) override;
  Status ReplaceStatuses(int64_t account_id, const std::vector<StatusRow>& rows) override;

  Result<CommitResult> Commit(int64_t account_id, const ChangeSet& changes) override;
  // One transaction for the whole batch; a savepoint per item only when an item fails and the
  // batch is written again without it.
  std::vector<Result<CommitResult>> CommitBatch(const std::vector<BatchItem>& items) override;
  Result<std::pair<Job, bool>> CreateJob(const Job& job, const InputSource& next_input) override;
  Result<Job> GetJob(int64_t account_id, int64_t job_id) override;
  Result<std::string> ReadJobInput(int64_t job_id, int64_t index) override;
  Result<std::optional<Job>> ClaimJob(int64_t job_id, const std::string& owner, int64_t now_ms,
                                      int64_t lease_ms) override;
  Result<std::vector<CommitResult>> CommitJobChunk(int64_t account_id,
                                                   const std::vector<ChangeSet>& changes,
                                                   const JobProgress& progress) override;
  Result<std::vector<JobReject>> ListJobRejects(int64_t account_id, int64_t job_id,
                                                int64_t after_row, int limit) override;
  Result<std::optional<ContactState>> FindContactState(int64_t account_id, const std::string& e164,
                                                       int64_t number_id) override;
  Result<std::vector<ContactStatuses>> LookupContacts(int64_t account_id,
                                                      const std::vector<std::string>& phones,
                                                      const std::vector<int64_t>& ids) override;
  Result<std::vector<ConsentEvent>> ListEvents(int64_t account_id, const EventQuery& q) override;
  Status DebugOverwriteEvent(const ConsentEvent& e) override;

  // ---- the Merkle ledger (pg_tree.cc) ----
  bool NumbersEventsWhenIntegrating() const override { return true; }
  Result<LedgerTree> IntegrateLedger(int64_t account_id, int64_t max_events,
                                     int64_t now_ms) override;
  Result<std::vector<int64_t>> AccountsToIntegrate(int limit) override;
  Result<LedgerTree> GetLedgerTree(int64_t account_id) override;
  Result<merkle::Hash> SubtreeHash(int64_t account_id, int64_t tree_size, int level,
                                   int64_t index) override;
  Status PutTreeHead(const SignedTreeHead& head) override;
  Result<std::vector<SignedTreeHead>> ListTreeHeads(int64_t account_id, int64_t after_size,
                                                    int limit) override;
  Result<std::optional<SignedTreeHead>> LatestTreeHead(int64_t account_id) override;
  Status PutLedgerKey(const std::string& key_id, const std::string& public_key_raw,
                      int64_t at_ms) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListLedgerKeys() override;
  Status PutEvidenceBatch(int64_t account_id, const std::string& hash, const std::string& document,
                          int64_t at_ms) override;
  Result<EvidenceBatches> GetEvidenceBatches(int64_t account_id,
                                             const std::vector<std::string>& hashes) override;

  Result<std::optional<InboundMessage>> FindInbound(
      int64_t account_id, const std::string& provider,
      const std::string& provider_message_id) override;
  Result<std::vector<InboundMessage>> ListInbound(int64_t account_id,
                                                  const InboundQuery& q) override;
  Result<std::vector<ReviewItem>> ListReviews(int64_t account_id, const ReviewQuery& q) override;
  Result<ReviewItem> GetReview(int64_t account_id, int64_t id) override;
  Result<ReviewItem> ResolveReview(int64_t account_id, const ReviewResolution& r) override;
  Result<int64_t> CountOpenReviews() override;

  Status PutProviderConfig(const ProviderConfig& config) override;
  Result<std::vector<ProviderConfig>> ListProviderConfigs(int64_t account_id) override;
  Status SetReplySender(int64_t account_id, const std::string& sender) override;
  Status SetAccountQuietHours(int64_t account_id, const QuietHoursPolicy& policy) override;
  Status UseWebhookNonce(const WebhookNonce& nonce, int64_t now_ms) override;

  Result<std::vector<OutboxItem>> ListOutbox(int64_t account_id, const OutboxQuery& q) override;
  Result<OutboxItem> GetOutboxItem(int64_t account_id, int64_t id) override;
  Result<std::optional<OutboxItem>> FindOutboxByIdempotencyKey(int64_t account_id,
                                                               const std::string& key) override;
  Result<std::vector<int64_t>> ListMarketingDueTimes(int64_t account_id, int64_t contact_id,
                                                     int64_t number_id, int64_t from_ms,
                                                     int64_t to_ms) override;
  Result<NoticeHistory> GetNoticeHistory(int64_t account_id, int64_t contact_id,
                                         int64_t number_id) override;
  Result<ClaimedOutbox> ClaimOutbox(const OutboxClaim& claim) override;
  Status CompleteOutbox(const OutboxCompletion& completion) override;
  Result<std::optional<DeliveryRecorded>> RecordDelivery(const DeliveryUpdate& update) override;
  Result<int64_t> ExpireOutboxLeases(int64_t now_ms) override;
  Result<std::vector<std::pair<OutboxState, int64_t>>> CountOutbox() override;

  Result<std::vector<TransferRow>> ExportRows(const TransferTable& table,
                                              const TransferRow& after_key) override;
  Result<int64_t> CountRows(const TransferTable& table) override;
  Result<int64_t> LastId(const TransferTable& table) override;
  Result<std::unique_ptr<StoreImport>> BeginImport() override;

 private:
  struct Impl;
  explicit PgStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace smsconsent
