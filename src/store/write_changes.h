// How every ConsentStore backend writes change sets (Commit, CommitBatch, a job's chunk): the
// one algorithm, over the few set-at-a-time row operations each backend supplies in its own
// SQL (RowWriter). The algorithm decides what a change set writes, in what order, which
// references it checks, the outbox rules and every error a caller sees; a backend only moves
// rows. Used by src/store/sqlite/ and src/store/postgres/ only.
//
// A batch is written phase by phase, each phase one call for all of its rows: contacts, then
// inbound messages and review items, then the status rows of every (contact, number) the
// events change (locked, on PostgreSQL), the events, the status rows as the events leave them,
// and the outbox. PostgreSQL makes each call one statement, so a batch costs about a dozen
// round trips however many messages it holds; SQLite, in process, runs cached statements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/consent.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent::store_write {

// A (contact, number) pair of an account: what a status row and a pair's events belong to.
struct Pair {
  int64_t account_id = 0;
  int64_t contact_id = 0;
  int64_t number_id = 0;
  friend bool operator<(const Pair& a, const Pair& b) {
    if (a.account_id != b.account_id) return a.account_id < b.account_id;
    if (a.contact_id != b.contact_id) return a.contact_id < b.contact_id;
    return a.number_id < b.number_id;
  }
  friend bool operator==(const Pair& a, const Pair& b) = default;
};

// An (account, id) reference to check: a contact or a sender number.
struct Ref {
  int64_t account_id = 0;
  int64_t id = 0;
  friend bool operator<(const Ref& a, const Ref& b) {
    return a.account_id != b.account_id ? a.account_id < b.account_id : a.id < b.id;
  }
  friend bool operator==(const Ref& a, const Ref& b) = default;
};

// A contact to create, or to find when its account already has the phone. `insert` is false
// for one that may only be found (its properties are invalid, so it could not be created).
struct NewContact {
  const Contact* contact = nullptr;  // account_id filled in
  bool insert = true;
};
struct ContactId {
  int64_t id = 0;         // 0: neither inserted nor found
  bool inserted = false;  // created by this call: it has no status rows and no events
};

// A pair's status row as the writer found it (and, on PostgreSQL, locked it).
struct PairRow {
  bool exists = false;
  ConsentState state;  // not_specified when the pair has no row
  int64_t events = 0;  // the pair's events so far (statuses.events)
};

// A status row as a change set's events leave it.
struct StatusWrite {
  Pair pair;
  ConsentState state;
  int64_t events = 0;
};

// Why a row an insert was given was not written.
enum class RowFault {
  kNone,
  kDuplicate,         // its unique key exists already
  kMissingReference,  // a row it refers to (an inbound message) is not in its account
};

// The row operations of one backend inside its open write transaction. Each takes all the rows
// of a phase and answers row by row, in the order given.
class RowWriter {
 public:
  virtual ~RowWriter() = default;

  // Whether the store numbers events as it writes them (SQLite's single writer): then the
  // algorithm gives each event its seq after LastSeq. Otherwise seq stays 0 (NULL) until the
  // ledger is integrated.
  virtual bool NumbersAtWrite() const = 0;

  // Which of the contacts and of the sender numbers (each list sorted, distinct, either may be
  // empty) exist in their accounts, in the order given.
  struct Existing {
    std::vector<bool> contacts, numbers;
  };
  virtual Result<Existing> RefsExist(const std::vector<Ref>& contacts,
                                     const std::vector<Ref>& numbers) = 0;
  // Creates the contacts whose (account, phone) is new; finds the others. The rows are in
  // (account, phone) order and distinct.
  virtual Result<std::vector<ContactId>> AddContacts(const std::vector<NewContact>& rows) = 0;
  // Replaces name, email and properties; whether each row's (id, account) was found.
  virtual Result<std::vector<bool>> UpdateContacts(const std::vector<Contact>& rows) = 0;
  // Inbound messages (account_id, contact_id and number_id filled in): each one's id, or 0 with
  // kDuplicate when its (account, provider, provider message id) is stored already.
  virtual Result<std::vector<int64_t>> AddInbound(const std::vector<InboundMessage>& rows,
                                                  std::vector<RowFault>* faults) = 0;
  virtual Status AddReviews(const std::vector<ReviewItem>& rows, std::vector<RowFault>* faults) = 0;
  // The status rows of the pairs (sorted, distinct), locked until the commit where the store
  // has row locks.
  virtual Result<std::vector<PairRow>> ReadStatuses(const std::vector<Pair>& pairs) = 0;
  // Pairs (sorted, distinct) that ReadStatuses found without a row: where the store has row
  // locks, each gets its row now so that it is locked from here on. Each pair's count of
  // events already recorded (a rebuilt status table may lack rows of pairs with events), or
  // nullopt when another writer created the row meanwhile (its change was not seen: kAborted).
  virtual Result<std::vector<std::optional<int64_t>>> StartPairs(
      const std::vector<Pair>& pairs) = 0;
  // The account's last seq (NumbersAtWrite stores only).
  virtual Result<int64_t> LastSeq(int64_t account_id) = 0;
  // Appends the events in order; their ids, increasing in that order.
  virtual Result<std::vector<int64_t>> AddEvents(const std::vector<ConsentEvent>& events) = 0;
  // Sets the status rows (creating those that have none).
  virtual Status WriteStatuses(const std::vector<StatusWrite>& rows) = 0;
  // The id of each pair's newest event (0: none).
  virtual Result<std::vector<int64_t>> LastEvents(const std::vector<Pair>& pairs) = 0;
  // Queues the outbox items; each one's id, or 0 with kMissingReference when its inbound
  // message is not in its account, or with kDuplicate when its Idempotency-Key is taken (by an
  // item stored or an earlier one of `rows`).
  virtual Result<std::vector<int64_t>> AddOutbox(const std::vector<OutboxItem>& rows,
                                                 std::vector<RowFault>* faults) = 0;
};

// The result of WriteChangeSets: every change set's, or the first failing one's error.
struct Written {
  std::vector<CommitResult> results;  // one per change set, when all succeeded
  Status error;                       // the earliest failing change set's error
  bool ok() const { return error.ok(); }
};

// Writes the change sets of `account_ids[i]` inside the caller's transaction, as if one after
// the other: a later change set sees what an earlier one wrote (a contact it created, a pair's
// events). The accounts must exist (the caller checked them). On error nothing is undone: the
// caller rolls back (all of them, or the one change set's savepoint).
Written WriteChangeSets(RowWriter& w, const std::vector<int64_t>& account_ids,
                        const std::vector<const ChangeSet*>& changes);

// The change sets of one account (a job's chunk) inside the caller's transaction: their
// results, or the first failing one's error, which fails them all.
Result<std::vector<CommitResult>> WriteChunk(RowWriter& w, int64_t account_id,
                                             const std::vector<ChangeSet>& changes);

// A backend's write transaction, for CommitChangeSets.
class BatchTxn : public RowWriter {
 public:
  // Starts the transaction and returns which of the accounts exist (kept until the commit).
  virtual Result<std::vector<bool>> Begin(const std::vector<int64_t>& accounts) = 0;
  virtual Status Commit() = 0;
  // Ends the transaction without its writes (harmless when none is open).
  virtual void Rollback() = 0;
  virtual Status Savepoint() = 0;
  virtual Status RollbackToSavepoint() = 0;
  virtual Status ReleaseSavepoint() = 0;
  // The transaction was lost (the connection broke, or SQLite rolled it back by itself).
  virtual bool Lost() = 0;
};

// ConsentStore::CommitBatch over a backend's transaction: one transaction, one commit. The
// batch is first written whole; when a change set fails, the transaction is rolled back and
// the batch written again change set by change set, each in a savepoint, so that only the
// failing ones are left out (items rarely fail: a provider's retry, a concurrent change).
std::vector<Result<CommitResult>> CommitChangeSets(BatchTxn& tx,
                                                   const std::vector<BatchItem>& items);

}  // namespace smsconsent::store_write
