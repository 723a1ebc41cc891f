// SqliteStore's ledger writing: Commit and CommitBatch (the rows of store/write_changes.h in
// SQLite), and the events (ListEvents, DebugOverwriteEvent).
#include <sqlite3.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"
#include "store/write_changes.h"

namespace smsconsent {

using namespace sqlite_detail;

// ---- Commit -------------------------------------------------------------------------------

namespace sqlite_detail {

// Runs one statement through the connection's cache of prepared statements (the savepoint
// statements run for every item of a batch that is written again; this saves parsing them).
Status RunSql(Connection& impl, const char* sql, std::string_view what) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(sql));
  return s.Run(what);
}

namespace {

// The event's columns, from account_id to nth in SMSC_EVENT_COLS order (id left out), as
// parameters `first` to `first` + 16. `e` must outlive the statement (bound without copies).
void BindEvent(Stmt& s, const ConsentEvent& e, int first) {
  s.Bind(first, e.account_id)
      .Bind(first + 1, e.seq)
      .Bind(first + 2, e.contact_id)
      .BindRef(first + 3, e.phone)
      .Bind(first + 4, e.number_id)
      .BindRef(first + 5, e.sender)
      .BindRef(first + 6, SubscriptionStatusName(e.from))
      .BindRef(first + 7, SubscriptionStatusName(e.to))
      .BindRef(first + 8, SourceName(e.source))
      .BindRef(first + 9, e.actor)
      .Bind(first + 10, e.at_ms)
      .BindRef(first + 11, e.evidence)
      .BindRef(first + 12, e.prev_hash)
      .BindRef(first + 13, e.hash)
      .Bind(first + 14, int64_t{e.format})
      .BindRef(first + 15, e.batch_hash)
      .Bind(first + 16, e.nth);
}

using store_write::ContactId;
using store_write::NewContact;
using store_write::Pair;
using store_write::PairRow;
using store_write::Ref;
using store_write::RowFault;
using store_write::StatusWrite;

// The change-set algorithm's rows in SQLite (store/write_changes.h): cached statements, one
// row at a time, in process. The single writer numbers events as it writes them.
class SqliteRows : public store_write::BatchTxn {
 public:
  explicit SqliteRows(Connection& impl) : impl_(impl) {}

  bool NumbersAtWrite() const override { return true; }

  Result<Existing> RefsExist(const std::vector<Ref>& contacts,
                             const std::vector<Ref>& numbers) override {
    Existing out;
    SMSC_ASSIGN_OR_RETURN(
        out.contacts, Exist(contacts, "SELECT 1 FROM contacts WHERE id = ?1 AND account_id = ?2",
                            "looking up contact"));
    SMSC_ASSIGN_OR_RETURN(
        out.numbers,
        Exist(numbers, "SELECT 1 FROM sender_numbers WHERE id = ?1 AND account_id = ?2",
              "looking up sender number"));
    return out;
  }

  Result<std::vector<ContactId>> AddContacts(const std::vector<NewContact>& rows) override {
    std::vector<ContactId> out(rows.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      const Contact& c = *rows[k].contact;
      if (rows[k].insert) {
        SMSC_ASSIGN_OR_RETURN(
            Stmt s, impl_.Prepare("INSERT INTO contacts (account_id, phone, name, email, "
                                  "created_at_ms, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                  "ON CONFLICT (account_id, phone) DO NOTHING"));
        s.Bind(1, c.account_id)
            .BindRef(2, c.phone)
            .BindRef(3, c.name)
            .BindRef(4, c.email)
            .Bind(5, c.created_at_ms)
            .BindRef(6, c.properties);
        SMSC_RETURN_IF_ERROR(s.Run("adding contact"));
        if (sqlite3_changes(impl_.db.get()) == 1) {
          out[k] = {sqlite3_last_insert_rowid(impl_.db.get()), true};
          continue;
        }
      }
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_.Prepare("SELECT id FROM contacts WHERE account_id = ?1 AND phone = ?2"));
      s.Bind(1, c.account_id).BindRef(2, c.phone);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding contact by phone"));
      if (row) out[k].id = s.Int(0);
    }
    return out;
  }

  Result<std::vector<bool>> UpdateContacts(const std::vector<Contact>& rows) override {
    std::vector<bool> found;
    for (const Contact& c : rows) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare("UPDATE contacts SET name = ?3, email = ?4, "
                                                  "properties = ?5 WHERE id = ?1 AND "
                                                  "account_id = ?2"));
      s.Bind(1, c.id).Bind(2, c.account_id).BindRef(3, c.name).BindRef(4, c.email);
      s.BindRef(5, c.properties);
      SMSC_RETURN_IF_ERROR(s.Run("updating contact"));
      found.push_back(sqlite3_changes(impl_.db.get()) != 0);
    }
    return found;
  }

  Result<std::vector<int64_t>> AddInbound(const std::vector<InboundMessage>& rows,
                                          std::vector<RowFault>* faults) override {
    std::vector<int64_t> ids(rows.size(), 0);
    for (size_t k = 0; k < rows.size(); ++k) {
      const InboundMessage& m = rows[k];
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_.Prepare("INSERT INTO inbound_messages (account_id, provider, "
                                "provider_message_id, from_phone, to_number, number_id, "
                                "contact_id, body, received_at_ms, decision) VALUES (?1, ?2, ?3, "
                                "?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
      s.Bind(1, m.account_id)
          .BindRef(2, m.provider)
          .BindRef(3, m.provider_message_id)
          .BindRef(4, m.from)
          .BindRef(5, m.to)
          .BindIdOrNull(6, m.number_id)
          .BindIdOrNull(7, m.contact_id)
          .BindRef(8, m.body)
          .Bind(9, m.received_at_ms)
          .BindRef(10, m.decision);
      int rc = SQLITE_OK;
      Status st = s.Run("storing inbound message", &rc);
      if (IsUniqueViolation(rc)) {
        (*faults)[k] = RowFault::kDuplicate;
        continue;
      }
      SMSC_RETURN_IF_ERROR(st);
      ids[k] = sqlite3_last_insert_rowid(impl_.db.get());
    }
    return ids;
  }

  Status AddReviews(const std::vector<ReviewItem>& rows, std::vector<RowFault>* faults) override {
    for (size_t k = 0; k < rows.size(); ++k) {
      const ReviewItem& r = rows[k];
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_.Prepare("INSERT INTO review_items (account_id, inbound_id, contact_id, "
                                "number_id, rule, explanation, state, created_at_ms) VALUES (?1, "
                                "?2, ?3, ?4, ?5, ?6, 'open', ?7)"));
      s.Bind(1, r.account_id)
          .Bind(2, r.inbound_id)
          .Bind(3, r.contact_id)
          .Bind(4, r.number_id)
          .BindRef(5, r.rule)
          .BindRef(6, r.explanation)
          .Bind(7, r.created_at_ms);
      int rc = SQLITE_OK;
      Status st = s.Run("storing review item", &rc);
      if (IsUniqueViolation(rc)) {
        (*faults)[k] = RowFault::kDuplicate;
      } else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        (*faults)[k] = RowFault::kMissingReference;
      } else {
        SMSC_RETURN_IF_ERROR(st);
      }
    }
    return Status::Ok();
  }

  Result<std::vector<PairRow>> ReadStatuses(const std::vector<Pair>& pairs) override {
    std::vector<PairRow> out(pairs.size());
    for (size_t k = 0; k < pairs.size(); ++k) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare("SELECT " SMSC_STATUS_COLS
                                                  ", events FROM statuses WHERE account_id = ?1 "
                                                  "AND contact_id = ?2 AND number_id = ?3"));
      s.Bind(1, pairs[k].account_id).Bind(2, pairs[k].contact_id).Bind(3, pairs[k].number_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading current status"));
      if (!row) continue;
      SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
      out[k] = {true, r.state, s.Int(6)};
    }
    return out;
  }

  // The single writer needs no row to lock; the count covers a pair whose row a rebuild of
  // the status table left out.
  Result<std::vector<std::optional<int64_t>>> StartPairs(const std::vector<Pair>& pairs) override {
    std::vector<std::optional<int64_t>> out;
    for (const Pair& p : pairs) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare("SELECT COUNT(*) FROM events WHERE "
                                                  "account_id = ?1 AND contact_id = ?2 AND "
                                                  "number_id = ?3"));
      s.Bind(1, p.account_id).Bind(2, p.contact_id).Bind(3, p.number_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting the pair's events"));
      out.emplace_back(row ? s.Int(0) : 0);
    }
    return out;
  }

  Result<int64_t> LastSeq(int64_t account_id) override {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare("SELECT MAX(seq) FROM events WHERE "
                                                "account_id = ?1"));
    s.Bind(1, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the ledger head"));
    return row ? s.Int(0) : 0;
  }

  Result<std::vector<int64_t>> AddEvents(const std::vector<ConsentEvent>& events) override {
    std::vector<int64_t> ids;
    ids.reserve(events.size());
    for (const ConsentEvent& e : events) {
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_.Prepare("INSERT INTO events (account_id, seq, contact_id, phone, "
                                "number_id, sender, from_status, to_status, source, actor, "
                                "at_ms, evidence, prev_hash, hash, format, batch_hash, nth) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                "?14, ?15, ?16, ?17)"));
      BindEvent(s, e, 1);
      SMSC_RETURN_IF_ERROR(s.Run("appending consent event"));
      ids.push_back(sqlite3_last_insert_rowid(impl_.db.get()));
    }
    return ids;
  }

  Status WriteStatuses(const std::vector<StatusWrite>& rows) override {
    for (const StatusWrite& w : rows) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare(kWriteStatusSql));
      s.Bind(1, w.pair.account_id)
          .Bind(2, w.pair.contact_id)
          .Bind(3, w.pair.number_id)
          .BindRef(4, SubscriptionStatusName(w.state.status))
          .BindBool(5, w.state.self_opted_out)
          .BindRef(6, SourceName(w.state.source))
          .Bind(7, w.state.updated_at_ms)
          .Bind(8, w.events);
      SMSC_RETURN_IF_ERROR(s.Run("updating status"));
    }
    return Status::Ok();
  }

  Result<std::vector<int64_t>> LastEvents(const std::vector<Pair>& pairs) override {
    std::vector<int64_t> out;
    for (const Pair& p : pairs) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare("SELECT COALESCE(MAX(id), 0) FROM events WHERE "
                                                  "account_id = ?1 AND contact_id = ?2 AND "
                                                  "number_id = ?3"));
      s.Bind(1, p.account_id).Bind(2, p.contact_id).Bind(3, p.number_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the pair's last event"));
      out.push_back(row ? s.Int(0) : 0);
    }
    return out;
  }

  Result<std::vector<int64_t>> AddOutbox(const std::vector<OutboxItem>& rows,
                                         std::vector<RowFault>* faults) override {
    std::vector<int64_t> ids(rows.size(), 0);
    for (size_t k = 0; k < rows.size(); ++k) {
      const OutboxItem& o = rows[k];
      SMSC_ASSIGN_OR_RETURN(
          Stmt s, impl_.Prepare("INSERT INTO outbox (account_id, number_id, contact_id, "
                                "to_phone, from_number, body, kind, state, attempts, last_error, "
                                "inbound_id, created_at_ms, next_attempt_at_ms, channel, "
                                "provider_message_id, lease_owner, lease_until_ms, sent_at_ms, "
                                "queued_at_seq, queued_after_event, purpose, send_at_ms, "
                                "idempotency_key, request_hash, notice) VALUES (?1, ?2, ?3, ?4, "
                                "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                                "?19, ?20, ?21, ?22, ?23, ?24, ?25)"));
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
          .Bind(19, o.queued_at_seq)
          .Bind(20, o.queued_after_event)
          .Bind(21, std::string(o.kind == ReplyKind::kMessage ? PurposeName(o.purpose) : ""))
          .Bind(22, o.send_at_ms)
          .BindRef(23, o.idempotency_key)
          .BindRef(24, o.request_hash)
          .BindBool(25, o.notice);
      int rc = SQLITE_OK;
      Status st = s.Run("queueing outbox item", &rc);
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        (*faults)[k] = RowFault::kMissingReference;
        continue;
      }
      if (rc == SQLITE_CONSTRAINT_UNIQUE) {  // outbox_by_idempotency_key
        (*faults)[k] = RowFault::kDuplicate;
        continue;
      }
      SMSC_RETURN_IF_ERROR(st);
      ids[k] = sqlite3_last_insert_rowid(impl_.db.get());
    }
    return ids;
  }

  // ---- the transaction (CommitBatch) ----
  Result<std::vector<bool>> Begin(const std::vector<int64_t>& accounts) override {
    SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(&impl_));
    txn_.emplace(std::move(txn));
    std::map<int64_t, bool> known;
    std::vector<bool> out;
    for (int64_t id : accounts) {
      auto it = known.find(id);
      if (it == known.end()) {
        Status st = impl_.AccountExists(id);
        if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
        it = known.emplace(id, st.ok()).first;
      }
      out.push_back(it->second);
    }
    return out;
  }
  Status Commit() override {
    Status st = txn_->Commit();  // the fsync
    txn_.reset();
    return st;
  }
  void Rollback() override { txn_.reset(); }
  Status Savepoint() override {
    return RunSql(impl_, "SAVEPOINT batch_item", "starting a batch item");
  }
  Status RollbackToSavepoint() override {
    return RunSql(impl_, "ROLLBACK TO batch_item", "rolling back a batch item");
  }
  Status ReleaseSavepoint() override {
    return RunSql(impl_, "RELEASE batch_item", "finishing a batch item");
  }
  // Some errors (I/O, disk full) make SQLite roll back the whole transaction itself.
  bool Lost() override { return sqlite3_get_autocommit(impl_.db.get()) != 0; }

 private:
  Result<std::vector<bool>> Exist(const std::vector<Ref>& refs, const char* sql,
                                  std::string_view what) {
    std::vector<bool> out;
    for (const Ref& r : refs) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_.Prepare(std::string(sql)));
      s.Bind(1, r.id).Bind(2, r.account_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step(what));
      out.push_back(row);
    }
    return out;
  }

  Connection& impl_;
  std::optional<WriteTxn> txn_;
};

}  // namespace

Result<std::vector<CommitResult>> WriteChangeSets(Connection& impl, int64_t account_id,
                                                  const std::vector<ChangeSet>& changes) {
  SqliteRows rows(impl);
  return store_write::WriteChunk(rows, account_id, changes);
}

}  // namespace sqlite_detail

Result<CommitResult> SqliteStore::Commit(int64_t account_id, const ChangeSet& changes) {
  std::vector<Result<CommitResult>> results = CommitBatch({BatchItem{account_id, &changes}});
  return std::move(results.front());
}

// Group commit: one BEGIN IMMEDIATE, the change sets, one COMMIT: one fsync for the batch
// (store/write_changes.h). An item that fails must leave no trace while the others are kept;
// SQLite's savepoints cost (every page an item touches is first copied into the savepoint's
// journal, about 20 pages per inbound message), so they are only taken when the batch is
// written again after an item failed.
std::vector<Result<CommitResult>> SqliteStore::CommitBatch(const std::vector<BatchItem>& items) {
  std::lock_guard<std::mutex> lock(mu_);
  SqliteRows tx(*impl_);
  return store_write::CommitChangeSets(tx, items);
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
  // The trigger that refuses changes to events, lifted inside this transaction only.
  SMSC_RETURN_IF_ERROR(RunSql(*impl_, "DROP TRIGGER events_unchangeable", "lifting the trigger"));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("UPDATE events SET account_id = ?2, seq = ?3, contact_id = ?4, "
                             "phone = ?5, number_id = ?6, sender = ?7, from_status = ?8, "
                             "to_status = ?9, source = ?10, actor = ?11, at_ms = ?12, "
                             "evidence = ?13, prev_hash = ?14, hash = ?15, format = ?16, "
                             "batch_hash = ?17, nth = ?18 WHERE id = ?1"));
  s.Bind(1, e.id);
  BindEvent(s, e, 2);
  SMSC_RETURN_IF_ERROR(s.Run("overwriting event " + std::to_string(e.id)));
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("event " + std::to_string(e.id) + " not found");
  }
  SMSC_RETURN_IF_ERROR(RunSql(*impl_, kEventsUnchangeableSql, "restoring the trigger"));
  return txn.Commit();
}

}  // namespace smsconsent

// ---- batch documents (a bulk change's shared evidence) ---------------------------------------

namespace smsconsent {

Status SqliteStore::PutEvidenceBatch(int64_t account_id, const std::string& hash,
                                     const std::string& document, int64_t at_ms) {
  SMSC_RETURN_IF_ERROR(CheckEvidenceBatch(hash, document));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(account_id));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("INSERT INTO evidence_batches (account_id, hash, "
                                               "document, created_at_ms) VALUES (?1, ?2, ?3, ?4) "
                                               "ON CONFLICT (account_id, hash) DO NOTHING"));
  s.Bind(1, account_id).Bind(2, hash).Bind(3, document).Bind(4, at_ms);
  SMSC_RETURN_IF_ERROR(s.Run("keeping a batch document"));
  return txn.Commit();
}

Result<EvidenceBatches> SqliteStore::GetEvidenceBatches(int64_t account_id,
                                                        const std::vector<std::string>& hashes) {
  if (hashes.size() > kMaxEvidenceBatchLookup) {
    return InvalidArgument("at most " + std::to_string(kMaxEvidenceBatchLookup) +
                           " batch documents per lookup");
  }
  EvidenceBatches out;
  if (hashes.empty()) return out;
  ReadLease reader = impl_->Read(mu_);
  for (const std::string& hash : hashes) {
    if (out.count(hash) != 0) continue;
    SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT document FROM evidence_batches WHERE "
                                                  "account_id = ?1 AND hash = ?2"));
    s.Bind(1, account_id).Bind(2, hash);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading a batch document"));
    if (row) out.emplace(hash, s.Text(0));
  }
  return out;
}

}  // namespace smsconsent
