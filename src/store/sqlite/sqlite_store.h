// SqliteStore: the embedded ConsentStore, one SQLite database file.
//
// This is what `smsconsent serve` uses on a fresh machine. docs/storage.md describes the
// schema, the migrations and why the settings below were chosen.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a mutating call that
// returns OK has been committed and the WAL fsynced; a power loss right after cannot take it
// back. A call that returns an error has changed nothing (every write is one transaction).
//
// Threading: one SqliteStore holds one writer connection, guarded by a mutex: writes from
// several threads are safe and run one at a time. Reads run on a few reader connections
// instead (an in-memory database has none: there, on the writer), so they proceed while a
// commit waits for its fsync, and a long read (a contact search) never holds up a commit.
// Write transactions start with BEGIN IMMEDIATE, so several processes may
// open the same file (e.g. `smsconsent serve` and an import): a writer that finds the file
// locked waits up to the busy timeout (5 s) and then fails with kUnavailable, never with a
// half-done change.
//
// No SQLite type appears in this header: the connection lives behind Impl.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace smsconsent {

class SqliteStore final : public ConsentStore {
 public:
  // Opens (creating if needed) the database file at `path` and applies pending migrations in
  // one transaction. Errors: kNotFound when the file's directory does not exist;
  // kUnavailable when the file cannot be opened or is locked beyond the busy timeout;
  // kFailedPrecondition when the file was migrated by a newer smsconsent than this one;
  // kDataLoss when the file is not a SQLite database; kInternal otherwise.
  static Result<std::unique_ptr<ConsentStore>> Open(const std::string& path);

  // The highest schema migration this build knows (and applies at Open).
  static int LatestSchemaVersion();

  // For tests: the writer connection's current value of one of journal_mode, synchronous,
  // foreign_keys, busy_timeout, user_version or temp_store, as SQLite prints it ("wal", "2").
  // kInvalidArgument for any other name.
  Result<std::string> PragmaForTesting(const std::string& name);

  // Statements prepared from SQL built per call (a contact search has one shape for each
  // combination of its filters, and clients choose the combinations) are kept per connection
  // in a least-recently-used cache of this many; statements of fixed SQL are kept for the
  // connection's life.
  static constexpr size_t kStatementCacheSize = 64;
  // For tests: the most statements of SQL built per call that one connection keeps.
  size_t CachedStatementsForTesting();
  // For tests: holds the writer connection, as a commit waiting for its fsync does, until the
  // returned lock is released.
  std::unique_lock<std::mutex> HoldWriterForTesting();

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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
  // One transaction (one fsync) for the whole batch; a savepoint per item only when an item
  // fails and the batch is written again without it.
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
  // Answered from an exact cache while the database is unchanged (state_cache.h).
  Result<std::optional<ContactState>> FindContactState(int64_t account_id, const std::string& e164,
                                                       int64_t number_id) override;
  ConsentCacheCounts CacheCounts() const override;
  Result<std::vector<ContactStatuses>> LookupContacts(int64_t account_id,
                                                      const std::vector<std::string>& phones,
                                                      const std::vector<int64_t>& ids) override;
  Result<std::vector<ConsentEvent>> ListEvents(int64_t account_id, const EventQuery& q) override;
  Status DebugOverwriteEvent(const ConsentEvent& e) override;

  // The Merkle ledger (sqlite_tree.cc).
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
  // FindContactState's database read, without the cache.
  Result<std::optional<ContactState>> ReadContactState(int64_t account_id, const std::string& e164,
                                                       int64_t number_id);
  explicit SqliteStore(std::unique_ptr<Impl> impl);

  std::mutex mu_;  // serialises every use of the connection in impl_
  std::unique_ptr<Impl> impl_;
};

}  // namespace smsconsent
