// PgStore: the consent ledger: Commit and CommitBatch, the change set writer they and the
// jobs share, and reading events.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Commit -------------------------------------------------------------------------------

namespace pg_detail {

// Writes one change set inside the caller's transaction, whose caller has checked that the
// account exists (ShareAccounts). On error it returns without undoing what it wrote: the caller
// rolls back (CommitBatch, to the item's savepoint).
Result<CommitResult> WriteChangeSet(Conn& c, int64_t account_id, const ChangeSet& changes) {
  CommitResult result;

  // Each referenced id is checked once per change set.
  std::set<int64_t> contacts_ok, numbers_ok;
  auto check_contact = [&](int64_t id) -> Status {
    if (contacts_ok.count(id) != 0) return Status::Ok();
    SMSC_RETURN_IF_ERROR(ContactInAccount(c, account_id, id));
    contacts_ok.insert(id);
    return Status::Ok();
  };
  auto check_number = [&](int64_t id) -> Status {
    if (numbers_ok.count(id) != 0) return Status::Ok();
    SMSC_RETURN_IF_ERROR(NumberInAccount(c, account_id, id));
    numbers_ok.insert(id);
    return Status::Ok();
  };

  if (changes.new_contact.has_value()) {
    const Contact& nc = *changes.new_contact;
    if (nc.account_id != 0 && nc.account_id != account_id) {
      return InvalidArgument("the new contact belongs to account " + std::to_string(nc.account_id) +
                             ", not to account " + std::to_string(account_id));
    }
    if (nc.phone.empty()) return InvalidArgument("the new contact has no phone number");
    SMSC_RETURN_IF_ERROR(CheckProperties(nc.properties));
    // Another writer (another server instance) may be creating the same contact right now:
    // ON CONFLICT waits for it and then takes its row instead of failing.
    SMSC_ASSIGN_OR_RETURN(
        Res ins, c.Q("INSERT INTO contacts (account_id, phone, name, email, created_at_ms, "
                     "properties) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, phone) "
                     "DO NOTHING RETURNING id",
                     "adding contact", account_id, nc.phone, nc.name, nc.email, nc.created_at_ms,
                     nc.properties));
    if (ins.rows() == 1) {
      result.contact_id = ins.Int(0, 0);
    } else {
      SMSC_ASSIGN_OR_RETURN(Res found, c.Q("SELECT id FROM contacts WHERE account_id = $1 AND "
                                           "phone = $2",
                                           "finding contact by phone", account_id, nc.phone));
      if (found.rows() == 0) return Aborted("contact " + nc.phone + " vanished; retry");
      result.contact_id = found.Int(0, 0);
    }
    contacts_ok.insert(result.contact_id);
  }
  // contact_id 0 in the change set means the new contact, when there is one.
  auto contact_of = [&](int64_t id) { return id == 0 ? result.contact_id : id; };

  if (changes.update_contact.has_value()) {
    const Contact& uc = *changes.update_contact;
    SMSC_RETURN_IF_ERROR(CheckProperties(uc.properties));
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE contacts SET name = $3, email = $4, properties = $5 "
                                     "WHERE id = $1 AND account_id = $2",
                                     "updating contact", contact_of(uc.id), account_id, uc.name,
                                     uc.email, uc.properties));
    if (r.Affected() == 0) {
      return NotFound("contact " + std::to_string(uc.id) + " not found in account " +
                      std::to_string(account_id));
    }
  }

  if (changes.inbound.has_value()) {
    const InboundMessage& m = *changes.inbound;
    const int64_t inbound_contact = contact_of(m.contact_id);
    if (inbound_contact != 0) SMSC_RETURN_IF_ERROR(check_contact(inbound_contact));
    if (m.number_id != 0) SMSC_RETURN_IF_ERROR(check_number(m.number_id));
    // The same provider message arriving twice at once (two server instances): the second
    // insert waits for the first transaction and then fails on the unique key.
    Result<Res> r =
        c.Q("INSERT INTO inbound_messages (account_id, provider, "
            "provider_message_id, from_phone, to_number, number_id, contact_id, "
            "body, received_at_ms, decision) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9, $10) RETURNING id",
            "storing inbound message", account_id, m.provider, m.provider_message_id, m.from, m.to,
            IdOrNull(m.number_id), IdOrNull(inbound_contact), m.body, m.received_at_ms, m.decision);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("inbound message " + m.provider + "/" + m.provider_message_id +
                           " is already stored");
    }
    if (!r.ok()) return r.status();
    result.inbound_id = r->Int(0, 0);
  }

  if (changes.review.has_value()) {
    const ReviewItem& rv = *changes.review;
    const int64_t inbound_id = rv.inbound_id == 0 ? result.inbound_id : rv.inbound_id;
    const int64_t contact_id = contact_of(rv.contact_id);
    if (inbound_id == 0) return InvalidArgument("a review item needs its inbound message");
    SMSC_RETURN_IF_ERROR(check_contact(contact_id));
    SMSC_RETURN_IF_ERROR(check_number(rv.number_id));
    Result<Res> r =
        c.Q("INSERT INTO review_items (account_id, inbound_id, contact_id, number_id, rule, "
            "explanation, state, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
            "storing review item", account_id, inbound_id, contact_id, rv.number_id, rv.rule,
            rv.explanation, rv.created_at_ms);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("inbound message " + std::to_string(inbound_id) +
                           " has a review item already");
    }
    if (!r.ok() && c.last_sqlstate() == pg::kForeignKeyViolation) {
      return NotFound("inbound message " + std::to_string(inbound_id) + " is not in account " +
                      std::to_string(account_id));
    }
    if (!r.ok()) return r.status();
  }

  // The id of the last event this change set wrote on each (contact, number): what its
  // replies were decided after.
  std::map<std::pair<int64_t, int64_t>, int64_t> last_event_of_pair;

  result.events.reserve(changes.events.size());
  for (const EventDraft& draft : changes.events) {
    EventDraft resolved;
    const EventDraft& d = ResolveDraftContact(draft, result.contact_id, &resolved);
    SMSC_RETURN_IF_ERROR(check_contact(d.contact_id));
    SMSC_RETURN_IF_ERROR(check_number(d.number_id));

    // The pair's status row, locked until the commit: writers of the same (contact, number)
    // take turns here, before the event's id is drawn, so a pair's events get ids in the order
    // they happened; writers of other pairs of the account do not wait.
    ConsentState before;  // no row: not_specified, no events yet
    int64_t pair_events = 0;
    bool have_row = false;
    {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c.Q("SELECT " SMSC_STATUS_COLS ", events FROM statuses WHERE "
                     "account_id = $1 AND contact_id = $2 AND number_id = $3 "
                     "FOR UPDATE",
                     "locking the contact's status", account_id, d.contact_id, d.number_id));
      if (r.rows() == 1) {
        SMSC_ASSIGN_OR_RETURN(StatusRow row, ReadStatus(r, 0));
        before = row.state;
        pair_events = r.Int(0, 6);
        have_row = true;
      }
    }
    if (!have_row) {
      // The pair's first event: its row is created now, so that it is locked from here on. A
      // row that appears meanwhile was created by another writer of the same pair, whose
      // change this one did not see: the caller re-reads and decides again. (The count covers
      // events of a pair whose row a rebuild of the status table left out.)
      SMSC_ASSIGN_OR_RETURN(
          Res r, c.Q("INSERT INTO statuses (account_id, contact_id, number_id, status, "
                     "self_opted_out, source, updated_at_ms, events) VALUES ($1, $2, $3, $4, "
                     "false, $5, 0, (SELECT COUNT(*) FROM events WHERE account_id = $1 AND "
                     "contact_id = $2 AND number_id = $3)) ON CONFLICT DO NOTHING RETURNING "
                     "events",
                     "locking the contact's status", account_id, d.contact_id, d.number_id,
                     SubscriptionStatusName(before.status), SourceName(before.source)));
      if (r.rows() == 0) {
        return Aborted("contact " + std::to_string(d.contact_id) + " on number " +
                       std::to_string(d.number_id) +
                       " was changed concurrently; re-read and retry");
      }
      pair_events = r.Int(0, 0);
    }
    SMSC_ASSIGN_OR_RETURN(ConsentEvent e, NextEvent(account_id, d, before, 0, pair_events + 1));
    {
      // seq stays NULL until the account's ledger is integrated (PgStore::IntegrateLedger).
      SMSC_ASSIGN_OR_RETURN(
          Res r,
          c.Q("INSERT INTO events (account_id, seq, contact_id, phone, number_id, sender, "
              "from_status, to_status, source, actor, at_ms, evidence, prev_hash, hash, format, "
              "batch_hash, nth) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', "
              "'', $12, $13, $14) RETURNING id",
              "appending consent event", e.account_id, e.contact_id, e.phone, e.number_id, e.sender,
              SubscriptionStatusName(e.from), SubscriptionStatusName(e.to), SourceName(e.source),
              e.actor, e.at_ms, e.evidence, int64_t{e.format}, e.batch_hash, e.nth));
      e.id = r.Int(0, 0);
    }

    ConsentState after = ApplyEvent(before, d.to, d.source, d.at_ms);
    SMSC_RETURN_IF_ERROR(c.Q("UPDATE statuses SET status = $4, self_opted_out = $5, source = $6, "
                             "updated_at_ms = $7, events = $8 WHERE account_id = $1 AND "
                             "contact_id = $2 AND number_id = $3",
                             "updating status", account_id, d.contact_id, d.number_id,
                             SubscriptionStatusName(after.status), after.self_opted_out,
                             SourceName(after.source), after.updated_at_ms, e.nth)
                             .status());
    last_event_of_pair[{d.contact_id, d.number_id}] = e.id;
    result.events.push_back(std::move(e));
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
    // The pair's last event: this change set's, else the newest one this transaction sees
    // (a writer of the pair that commits later draws a higher id).
    o.queued_at_seq = 0;
    o.queued_after_event = 0;
    if (o.contact_id != 0) {
      auto mine = last_event_of_pair.find({o.contact_id, o.number_id});
      if (mine != last_event_of_pair.end()) {
        o.queued_after_event = mine->second;
      } else {
        SMSC_ASSIGN_OR_RETURN(
            Res h, c.Q("SELECT COALESCE(MAX(id), 0) FROM events WHERE "
                       "account_id = $1 AND contact_id = $2 AND number_id = $3",
                       "reading the contact's last event", account_id, o.contact_id, o.number_id));
        o.queued_after_event = h.Int(0, 0);
      }
    }
    Result<Res> r =
        c.Q("INSERT INTO outbox (account_id, number_id, contact_id, to_phone, from_number, body, "
            "kind, state, attempts, last_error, inbound_id, created_at_ms, next_attempt_at_ms, "
            "channel, provider_message_id, lease_owner, lease_until_ms, sent_at_ms, "
            "queued_at_seq, queued_after_event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id",
            "queueing outbox item", o.account_id, o.number_id, IdOrNull(o.contact_id), o.to, o.from,
            o.body, ReplyKindName(o.kind), OutboxStateName(o.state), int64_t{o.attempts},
            o.last_error, IdOrNull(o.inbound_id), o.created_at_ms, o.next_attempt_at_ms, o.channel,
            o.provider_message_id, o.lease_owner, o.lease_until_ms, o.sent_at_ms, o.queued_at_seq,
            o.queued_after_event);
    if (!r.ok() && c.last_sqlstate() == pg::kForeignKeyViolation) {
      return NotFound("outbox item refers to inbound message " + std::to_string(o.inbound_id) +
                      ", which is not in account " + std::to_string(account_id));
    }
    if (!r.ok()) return r.status();
    o.id = r->Int(0, 0);
    result.outbox.push_back(std::move(o));
  }
  return result;
}

}  // namespace pg_detail

Result<CommitResult> PgStore::Commit(int64_t account_id, const ChangeSet& changes) {
  std::vector<Result<CommitResult>> results = CommitBatch({BatchItem{account_id, &changes}});
  return std::move(results.front());
}

// Group commit: one transaction, the items, one COMMIT: one WAL flush for the batch. An item
// that fails is left out by writing the batch again with a savepoint per item (below), so the
// others are unaffected. The accounts of the batch are checked once up front (ShareAccounts);
// writers of the same account wait only for those of the same (contact, number) pair.
std::vector<Result<CommitResult>> PgStore::CommitBatch(const std::vector<BatchItem>& items) {
  std::vector<Result<CommitResult>> results;
  if (items.empty()) return results;
  // The batch as a whole failed: items already written are lost with the transaction.
  auto fail_all = [&](const Status& st) {
    for (Result<CommitResult>& r : results) {
      if (r.ok()) r = st;
    }
    while (results.size() < items.size()) results.emplace_back(st);
    return std::move(results);
  };
  std::vector<int64_t> accounts;
  for (const BatchItem& item : items) accounts.push_back(item.account_id);

  // As in SqliteStore::CommitBatch: first without a savepoint per item (two round trips
  // each); when an item fails, the transaction is rolled back and the batch written again
  // with them, so that only the failing item is left out. A batch of one needs no second
  // pass: the rollback is the item's.
  bool savepoints = false;
  for (int attempt = 0;; ++attempt) {
    results.clear();
    results.reserve(items.size());
    Result<pg::Lease> lease = impl_->pool.Acquire();
    if (!lease.ok()) return fail_all(lease.status());
    Conn& c = **lease;
    Result<Txn> txn = Txn::Begin(c);
    if (!txn.ok()) {
      // A pooled connection that died while idle (server restart): nothing was done yet.
      if (attempt == 0 && lease->reused() && c.broken()) {
        impl_->pool.DropIdle();
        continue;
      }
      return fail_all(txn.status());
    }
    Result<std::set<int64_t>> locked = ShareAccounts(c, accounts);
    if (!locked.ok()) return fail_all(locked.status());
    bool again = false;
    for (const BatchItem& item : items) {
      if (item.changes == nullptr) {
        results.emplace_back(InvalidArgument("batch item without a change set"));
        continue;
      }
      if (locked->count(item.account_id) == 0) {
        results.emplace_back(AccountNotFound(item.account_id));
        continue;
      }
      if (savepoints) {
        Status st = c.Exec("SAVEPOINT batch_item", "starting a batch item");
        if (!st.ok()) return fail_all(st);
      }
      Result<CommitResult> written = WriteChangeSet(c, item.account_id, *item.changes);
      if (!written.ok()) {
        if (c.broken()) return fail_all(written.status());
        if (!savepoints) {
          if (items.size() == 1) {
            results.push_back(std::move(written));
            return results;  // `txn` rolls back as it goes
          }
          savepoints = again = true;
          break;
        }
        Status st = c.Exec("ROLLBACK TO SAVEPOINT batch_item", "rolling back a batch item");
        if (!st.ok()) return fail_all(st);
      }
      if (savepoints) {
        Status st = c.Exec("RELEASE SAVEPOINT batch_item", "finishing a batch item");
        if (!st.ok()) return fail_all(st);
      }
      results.push_back(std::move(written));
    }
    // An item failed without savepoints: `txn` rolls back as it goes; written again, item by
    // item.
    if (again) continue;
    Status committed = txn->Commit();  // the WAL flush
    if (!committed.ok()) return fail_all(committed);
    return results;
  }
}

// ---- Events -------------------------------------------------------------------------------

Result<std::vector<ConsentEvent>> PgStore::ListEvents(int64_t account_id, const EventQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<ConsentEvent>> {
    Result<Res> r = q.contact_id.has_value()
                        ? c.Q("SELECT " SMSC_EVENT_COLS
                              " FROM events WHERE account_id = $1 AND seq > $2 "
                              "AND contact_id = $4 ORDER BY seq LIMIT $3",
                              "listing consent events", account_id, q.after_seq, int64_t{q.limit},
                              *q.contact_id)
                        : c.Q("SELECT " SMSC_EVENT_COLS
                              " FROM events WHERE account_id = $1 AND seq > $2 "
                              "ORDER BY seq LIMIT $3",
                              "listing consent events", account_id, q.after_seq, int64_t{q.limit});
    if (!r.ok()) return r.status();
    return ReadAll<ConsentEvent>(*r, ReadEvent);
  });
}

Status PgStore::DebugOverwriteEvent(const ConsentEvent& e) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // The trigger that refuses changes to events, lifted inside this transaction only.
    SMSC_RETURN_IF_ERROR(c.Exec("ALTER TABLE events DISABLE TRIGGER events_unchangeable",
                                "lifting the ledger's trigger"));
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("UPDATE events SET account_id = $2, seq = $3, contact_id = $4, phone = $5, "
                   "number_id = $6, sender = $7, from_status = $8, to_status = $9, source = $10, "
                   "actor = $11, at_ms = $12, evidence = $13, prev_hash = $14, hash = $15, "
                   "format = $16, batch_hash = $17, nth = $18 WHERE id = $1",
                   "overwriting event " + std::to_string(e.id), e.id, e.account_id, IdOrNull(e.seq),
                   e.contact_id, e.phone, e.number_id, e.sender, SubscriptionStatusName(e.from),
                   SubscriptionStatusName(e.to), SourceName(e.source), e.actor, e.at_ms, e.evidence,
                   e.prev_hash, e.hash, int64_t{e.format}, e.batch_hash, e.nth));
    if (r.Affected() == 0) return NotFound("event " + std::to_string(e.id) + " not found");
    SMSC_RETURN_IF_ERROR(c.Exec("ALTER TABLE events ENABLE TRIGGER events_unchangeable",
                                "restoring the ledger's trigger"));
    return txn.Commit();
  });
}
}  // namespace smsconsent

// ---- batch documents (a bulk change's shared evidence) ---------------------------------------

namespace smsconsent {

Status PgStore::PutEvidenceBatch(int64_t account_id, const std::string& hash,
                                 const std::string& document, int64_t at_ms) {
  SMSC_RETURN_IF_ERROR(CheckEvidenceBatch(hash, document));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, account_id));
    SMSC_RETURN_IF_ERROR(c.Q("INSERT INTO evidence_batches (account_id, hash, document, "
                             "created_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, "
                             "hash) DO NOTHING",
                             "keeping a batch document", account_id, hash, document, at_ms)
                             .status());
    return txn.Commit();
  });
}

Result<EvidenceBatches> PgStore::GetEvidenceBatches(int64_t account_id,
                                                    const std::vector<std::string>& hashes) {
  if (hashes.size() > kMaxEvidenceBatchLookup) {
    return InvalidArgument("at most " + std::to_string(kMaxEvidenceBatchLookup) +
                           " batch documents per lookup");
  }
  if (hashes.empty()) return EvidenceBatches();
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<EvidenceBatches> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT hash, document FROM evidence_batches WHERE "
                                     "account_id = $1 AND hash = ANY($2::text[])",
                                     "reading batch documents", account_id, pg::TextArray(hashes)));
    EvidenceBatches out;
    for (int i = 0; i < r.rows(); ++i) out.emplace(r.Text(i, 0), r.Text(i, 1));
    return out;
  });
}

}  // namespace smsconsent
