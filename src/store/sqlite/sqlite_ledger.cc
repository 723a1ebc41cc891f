// SqliteStore's ledger writing: Commit and CommitBatch, the writing of one change set, and
// the events (ListEvents, DebugOverwriteEvent).
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

namespace smsconsent {

using namespace sqlite_detail;

// ---- Commit -------------------------------------------------------------------------------

namespace sqlite_detail {

// Runs one statement through the connection's cache of prepared statements (the savepoint
// statements run for every item of every batch; this saves parsing them each time).
Status RunSql(Connection& impl, const char* sql, std::string_view what) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(sql));
  return s.Run(what);
}

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

  // The account's last seq in this transaction, read once: the single writer numbers events as
  // it writes them.
  auto ledger_head = [&]() -> Result<WriteContext::Head*> {
    auto head = ctx.heads.find(account_id);
    if (head == ctx.heads.end()) {
      WriteContext::Head h;
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("SELECT MAX(seq) FROM events WHERE "
                                                 "account_id = ?1"));
      s.Bind(1, account_id);
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the ledger head"));
      if (row) h.seq = s.Int(0);
      head = ctx.heads.emplace(account_id, h).first;
    }
    return &head->second;
  };
  // The last event of each (contact, number) this change set wrote: what its replies were
  // decided on.
  std::map<std::pair<int64_t, int64_t>, int64_t> last_event;

  if (!changes.events.empty()) {
    SMSC_ASSIGN_OR_RETURN(WriteContext::Head * head, ledger_head());
    result.events.reserve(changes.events.size());
    for (const EventDraft& draft : changes.events) {
      EventDraft resolved;
      const EventDraft& d = ResolveDraftContact(draft, result.contact_id, &resolved);
      SMSC_RETURN_IF_ERROR(check_contact(d.contact_id));
      SMSC_RETURN_IF_ERROR(check_number(d.number_id));

      ConsentState before;  // no row: not_specified, no events yet
      int64_t pair_events = 0;
      if (!(contact_inserted && d.contact_id == result.contact_id)) {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare("SELECT " SMSC_STATUS_COLS
                                                   ", events FROM statuses WHERE account_id = ?1 "
                                                   "AND contact_id = ?2 AND number_id = ?3"));
        s.Bind(1, account_id).Bind(2, d.contact_id).Bind(3, d.number_id);
        SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading current status"));
        if (row) {
          SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
          before = r.state;
          pair_events = s.Int(6);
        }
      }
      SMSC_ASSIGN_OR_RETURN(ConsentEvent e,
                            NextEvent(account_id, d, before, head->seq + 1, pair_events + 1));
      {
        SMSC_ASSIGN_OR_RETURN(
            Stmt s, impl.Prepare("INSERT INTO events (account_id, seq, contact_id, phone, "
                                 "number_id, sender, from_status, to_status, source, actor, "
                                 "at_ms, evidence, prev_hash, hash, format, batch_hash, nth) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '', "
                                 "'', 2, ?13, ?14)"));
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
            .BindRef(13, e.batch_hash)
            .Bind(14, e.nth);
        SMSC_RETURN_IF_ERROR(s.Run("appending consent event"));
        e.id = sqlite3_last_insert_rowid(impl.db.get());
      }
      head->seq = e.seq;

      ConsentState after = ApplyEvent(before, d.to, d.source, d.at_ms);
      {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl.Prepare(kWriteStatusSql));
        s.Bind(1, account_id)
            .Bind(2, d.contact_id)
            .Bind(3, d.number_id)
            .BindRef(4, SubscriptionStatusName(after.status))
            .BindBool(5, after.self_opted_out)
            .BindRef(6, SourceName(after.source))
            .Bind(7, after.updated_at_ms)
            .Bind(8, e.nth);
        SMSC_RETURN_IF_ERROR(s.Run("updating status"));
      }
      last_event[{e.contact_id, e.number_id}] = e.id;
      result.events.push_back(std::move(e));
    }
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
    if (auto last = last_event.find({o.contact_id, o.number_id}); last != last_event.end()) {
      o.queued_after_event = last->second;
    } else if (o.contact_id == 0 || (contact_inserted && o.contact_id == result.contact_id)) {
      o.queued_after_event = 0;  // a contact with no events
    } else {
      SMSC_ASSIGN_OR_RETURN(Stmt q, impl.Prepare("SELECT COALESCE(MAX(id), 0) FROM events WHERE "
                                                 "account_id = ?1 AND contact_id = ?2 AND "
                                                 "number_id = ?3"));
      q.Bind(1, account_id).Bind(2, o.contact_id).Bind(3, o.number_id);
      SMSC_ASSIGN_OR_RETURN(bool row, q.Step("reading the pair's last event"));
      o.queued_after_event = row ? q.Int(0) : 0;
    }
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl.Prepare("INSERT INTO outbox (account_id, number_id, contact_id, to_phone, "
                             "from_number, body, kind, state, attempts, last_error, inbound_id, "
                             "created_at_ms, next_attempt_at_ms, channel, provider_message_id, "
                             "lease_owner, lease_until_ms, sent_at_ms, queued_at_seq, "
                             "queued_after_event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                             "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"));
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
        .Bind(19, o.queued_at_seq)
        .Bind(20, o.queued_after_event);
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

}  // namespace sqlite_detail

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
  // The trigger that refuses changes to events, lifted inside this transaction only.
  SMSC_RETURN_IF_ERROR(RunSql(*impl_, "DROP TRIGGER events_unchangeable", "lifting the trigger"));
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, impl_->Prepare("UPDATE events SET account_id = ?2, seq = ?3, contact_id = ?4, "
                             "phone = ?5, number_id = ?6, sender = ?7, from_status = ?8, "
                             "to_status = ?9, source = ?10, actor = ?11, at_ms = ?12, "
                             "evidence = ?13, prev_hash = ?14, hash = ?15, format = ?16, "
                             "batch_hash = ?17, nth = ?18 WHERE id = ?1"));
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
      .Bind(15, e.hash)
      .Bind(16, int64_t{e.format})
      .Bind(17, e.batch_hash)
      .Bind(18, e.nth);
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
