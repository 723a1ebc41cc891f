#include "store/write_changes.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "store/store_rows.h"

namespace smsconsent::store_write {

using store_rows::Aborted;
using store_rows::CheckProperties;
using store_rows::kChannelApi;
using store_rows::kChannelResponse;

namespace {

std::string Id(int64_t id) { return std::to_string(id); }

Status ContactNotFound(int64_t account_id, int64_t id) {
  return NotFound("contact " + Id(id) + " not found in account " + Id(account_id));
}
Status NumberNotFound(int64_t account_id, int64_t id) {
  return NotFound("sender number " + Id(id) + " not found in account " + Id(account_id));
}

// Sorted, without repeats.
template <typename T>
std::vector<T> Distinct(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

template <typename T>
size_t IndexOf(const std::vector<T>& sorted, const T& v) {
  return static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
}

// One run of WriteChangeSets: the change sets, what each has got so far, and the first error.
class Run {
 public:
  Run(RowWriter& w, const std::vector<int64_t>& accounts,
      const std::vector<const ChangeSet*>& changes)
      : w_(w), accounts_(accounts), changes_(changes), results_(changes.size()) {}

  Written Go() {
    Written out;
    Status st = Phases();
    if (!st.ok() || !error_.ok()) {
      out.error = error_.ok() ? st : error_;
      return out;
    }
    out.results = std::move(results_);
    return out;
  }

 private:
  // Records change set i's error (of several, the earliest change set's stands); true when
  // there is one.
  bool Fail(size_t i, Status st) {
    if (st.ok()) return false;
    if (error_.ok() || i < failed_) {
      error_ = std::move(st);
      failed_ = i;
    }
    return true;
  }
  bool failed() const { return !error_.ok(); }
  size_t size() const { return changes_.size(); }
  const ChangeSet& cs(size_t i) const { return *changes_[i]; }
  int64_t account(size_t i) const { return accounts_[i]; }
  // contact_id 0 in a change set means its new contact, when it has one.
  int64_t ContactOf(size_t i, int64_t id) const { return id == 0 ? results_[i].contact_id : id; }
  bool CreatedHere(int64_t contact_id) const { return created_.count(contact_id) != 0; }

  // The phases in order; the first change set that fails stops the run.
  Status Phases() {
    for (Status (Run::*phase)() :
         {&Run::Check, &Run::Contacts, &Run::UpdateContacts, &Run::CheckReferences, &Run::Inbound,
          &Run::Reviews, &Run::Events, &Run::Outbox}) {
      SMSC_RETURN_IF_ERROR((this->*phase)());
      if (failed()) break;
    }
    return Status::Ok();
  }

  // What needs no reading: the new contact's account and phone, the outbox channels, a
  // review's inbound message.
  Status Check() {
    for (size_t i = 0; i < size(); ++i) {
      const ChangeSet& c = cs(i);
      if (c.new_contact.has_value()) {
        const Contact& nc = *c.new_contact;
        if (nc.account_id != 0 && nc.account_id != account(i)) {
          Fail(i, InvalidArgument("the new contact belongs to account " + Id(nc.account_id) +
                                  ", not to account " + Id(account(i))));
        } else if (nc.phone.empty()) {
          Fail(i, InvalidArgument("the new contact has no phone number"));
        }
      }
      if (c.update_contact.has_value()) Fail(i, CheckProperties(c.update_contact->properties));
      if (c.review.has_value() && c.review->inbound_id == 0 && !c.inbound.has_value()) {
        Fail(i, InvalidArgument("a review item needs its inbound message"));
      }
      for (const OutboxItem& o : c.outbox) {
        if (o.channel != kChannelApi && o.channel != kChannelResponse) {
          Fail(i, InvalidArgument("outbox item channel \"" + o.channel +
                                  "\" is unknown (expected api or response)"));
        }
      }
    }
    return Status::Ok();
  }

  // The new contacts, each (account, phone) once: the first change set that names it creates
  // it (with its name, email and properties), later ones take it. A contact whose properties
  // are invalid is only looked for: an error only when it has to be created.
  Status Contacts() {
    std::map<std::pair<int64_t, std::string>, size_t> first;  // (account, phone) -> change set
    for (size_t i = 0; i < size(); ++i) {
      if (cs(i).new_contact.has_value()) {
        first.emplace(std::make_pair(account(i), cs(i).new_contact->phone), i);
      }
    }
    if (first.empty()) return Status::Ok();
    std::vector<Contact> contacts;
    contacts.reserve(first.size());
    std::vector<NewContact> rows;
    rows.reserve(first.size());
    for (const auto& [key, i] : first) {
      contacts.push_back(*cs(i).new_contact);
      contacts.back().account_id = key.first;
    }
    for (const Contact& c : contacts) rows.push_back({&c, CheckProperties(c.properties).ok()});
    SMSC_ASSIGN_OR_RETURN(std::vector<ContactId> ids, w_.AddContacts(rows));
    size_t row = 0;
    std::map<std::pair<int64_t, std::string>, int64_t> id_of;
    for (const auto& [key, i] : first) {
      const ContactId& got = ids[row];
      if (got.id == 0) {
        Status why = CheckProperties(contacts[row].properties);
        Fail(i,
             why.ok() ? Internal("contact " + key.second + " was neither added nor found") : why);
      }
      if (got.inserted) created_.insert(got.id);
      id_of[key] = got.id;
      ++row;
    }
    for (size_t i = 0; i < size(); ++i) {
      if (cs(i).new_contact.has_value()) {
        results_[i].contact_id = id_of[{account(i), cs(i).new_contact->phone}];
      }
    }
    return Status::Ok();
  }

  // Updates of existing contacts; of several updates of one contact, the last one stands.
  Status UpdateContacts() {
    std::map<Ref, size_t> last;  // (account, contact) -> index into rows
    std::vector<Contact> rows;
    std::vector<std::pair<size_t, Ref>> asked;  // change set, contact
    for (size_t i = 0; i < size(); ++i) {
      if (!cs(i).update_contact.has_value()) continue;
      Contact c = *cs(i).update_contact;
      c.id = ContactOf(i, c.id);
      c.account_id = account(i);
      const Ref ref{c.account_id, c.id};
      asked.emplace_back(i, ref);
      if (auto it = last.find(ref); it != last.end()) {
        rows[it->second] = std::move(c);
      } else {
        last.emplace(ref, rows.size());
        rows.push_back(std::move(c));
      }
    }
    if (rows.empty()) return Status::Ok();
    SMSC_ASSIGN_OR_RETURN(std::vector<bool> found, w_.UpdateContacts(rows));
    for (const auto& [i, ref] : asked) {
      if (!found[last[ref]]) Fail(i, ContactNotFound(ref.account_id, cs(i).update_contact->id));
    }
    return Status::Ok();
  }

  // Every contact and sender number the inbound messages, review items, events and outbox
  // items refer to is in its change set's account: each checked once.
  Status CheckReferences() {
    std::vector<std::pair<size_t, Ref>> contacts, numbers;
    auto contact = [&](size_t i, int64_t id) {
      id = ContactOf(i, id);
      if (id != 0 && !CreatedHere(id) &&
          !(cs(i).new_contact.has_value() && id == results_[i].contact_id)) {
        contacts.emplace_back(i, Ref{account(i), id});
      }
    };
    auto number = [&](size_t i, int64_t id) { numbers.emplace_back(i, Ref{account(i), id}); };
    for (size_t i = 0; i < size(); ++i) {
      const ChangeSet& c = cs(i);
      if (c.inbound.has_value()) {
        contact(i, c.inbound->contact_id);
        if (c.inbound->number_id != 0) number(i, c.inbound->number_id);
      }
      if (c.review.has_value()) {
        if (ContactOf(i, c.review->contact_id) == 0) {
          Fail(i, ContactNotFound(account(i), 0));
        }
        contact(i, c.review->contact_id);
        number(i, c.review->number_id);
      }
      for (const EventDraft& d : c.events) {
        if (ContactOf(i, d.contact_id) == 0) Fail(i, ContactNotFound(account(i), 0));
        contact(i, d.contact_id);
        number(i, d.number_id);
      }
      for (const OutboxItem& o : c.outbox) {
        number(i, o.number_id);
        contact(i, o.contact_id);
      }
    }
    std::vector<Ref> contact_refs = RefsOf(contacts), number_refs = RefsOf(numbers);
    if (contact_refs.empty() && number_refs.empty()) return Status::Ok();
    SMSC_ASSIGN_OR_RETURN(RowWriter::Existing there, w_.RefsExist(contact_refs, number_refs));
    for (const auto& [i, ref] : contacts) {
      if (!there.contacts[IndexOf(contact_refs, ref)]) {
        Fail(i, ContactNotFound(ref.account_id, ref.id));
      }
    }
    for (const auto& [i, ref] : numbers) {
      if (!there.numbers[IndexOf(number_refs, ref)])
        Fail(i, NumberNotFound(ref.account_id, ref.id));
    }
    return Status::Ok();
  }

  // The references asked for, sorted and each once.
  static std::vector<Ref> RefsOf(const std::vector<std::pair<size_t, Ref>>& asked) {
    std::vector<Ref> refs;
    refs.reserve(asked.size());
    for (const auto& a : asked) refs.push_back(a.second);
    return Distinct(std::move(refs));
  }

  Status Inbound() {
    std::vector<InboundMessage> rows;
    std::vector<size_t> of;  // rows[k] belongs to change set of[k]
    std::set<std::tuple<int64_t, std::string, std::string>> keys;
    for (size_t i = 0; i < size(); ++i) {
      if (!cs(i).inbound.has_value()) continue;
      const InboundMessage& m = *cs(i).inbound;
      if (!keys.emplace(account(i), m.provider, m.provider_message_id).second) {
        Fail(i, InboundStored(m));  // a retry of a message an earlier change set stores
        continue;
      }
      InboundMessage r = m;
      r.account_id = account(i);
      r.contact_id = ContactOf(i, m.contact_id);
      rows.push_back(std::move(r));
      of.push_back(i);
    }
    if (rows.empty()) return Status::Ok();
    std::vector<RowFault> faults(rows.size(), RowFault::kNone);
    SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> ids, w_.AddInbound(rows, &faults));
    for (size_t k = 0; k < rows.size(); ++k) {
      if (faults[k] != RowFault::kNone) {
        Fail(of[k], InboundStored(rows[k]));
      } else {
        results_[of[k]].inbound_id = ids[k];
      }
    }
    return Status::Ok();
  }

  static Status InboundStored(const InboundMessage& m) {
    return AlreadyExists("inbound message " + m.provider + "/" + m.provider_message_id +
                         " is already stored");
  }

  Status Reviews() {
    std::vector<ReviewItem> rows;
    std::vector<size_t> of;
    std::set<int64_t> inbound_ids;
    for (size_t i = 0; i < size(); ++i) {
      if (!cs(i).review.has_value()) continue;
      ReviewItem r = *cs(i).review;
      r.account_id = account(i);
      if (r.inbound_id == 0) r.inbound_id = results_[i].inbound_id;
      r.contact_id = ContactOf(i, r.contact_id);
      if (!inbound_ids.insert(r.inbound_id).second) {
        Fail(i, ReviewExists(r.inbound_id));
        continue;
      }
      rows.push_back(std::move(r));
      of.push_back(i);
    }
    if (rows.empty()) return Status::Ok();
    std::vector<RowFault> faults(rows.size(), RowFault::kNone);
    SMSC_RETURN_IF_ERROR(w_.AddReviews(rows, &faults));
    for (size_t k = 0; k < rows.size(); ++k) {
      if (faults[k] == RowFault::kDuplicate) Fail(of[k], ReviewExists(rows[k].inbound_id));
      if (faults[k] == RowFault::kMissingReference) {
        Fail(of[k], NotFound("inbound message " + Id(rows[k].inbound_id) + " is not in account " +
                             Id(rows[k].account_id)));
      }
    }
    return Status::Ok();
  }

  static Status ReviewExists(int64_t inbound_id) {
    return AlreadyExists("inbound message " + Id(inbound_id) + " has a review item already");
  }

  // The events, in change-set order: each pair's status row is read (and locked) once, each
  // event applied to the state the one before it left, the events appended and every pair's
  // row written once as the last of its events leaves it.
  Status Events() {
    SMSC_RETURN_IF_ERROR(ReadLastEvents());
    std::vector<Pair> to_read;
    for (size_t i = 0; i < size(); ++i) {
      for (const EventDraft& d : cs(i).events) {
        const int64_t contact = ContactOf(i, d.contact_id);
        if (!CreatedHere(contact)) to_read.push_back({account(i), contact, d.number_id});
      }
    }
    to_read = Distinct(std::move(to_read));
    std::map<Pair, PairRow> state;  // each pair's status as the events so far leave it
    std::set<Pair> raced;           // pairs whose first row another writer created meanwhile
    if (!to_read.empty()) {
      SMSC_ASSIGN_OR_RETURN(std::vector<PairRow> rows, w_.ReadStatuses(to_read));
      std::vector<Pair> missing;
      for (size_t k = 0; k < to_read.size(); ++k) {
        if (rows[k].exists) {
          state[to_read[k]] = rows[k];
        } else {
          missing.push_back(to_read[k]);
        }
      }
      if (!missing.empty()) {
        SMSC_ASSIGN_OR_RETURN(std::vector<std::optional<int64_t>> counts, w_.StartPairs(missing));
        for (size_t k = 0; k < missing.size(); ++k) {
          if (counts[k].has_value()) {
            PairRow r;
            r.events = *counts[k];
            state[missing[k]] = r;
          } else {
            raced.insert(missing[k]);
          }
        }
      }
    }
    if (w_.NumbersAtWrite()) SMSC_RETURN_IF_ERROR(ReadHeads());
    std::map<int64_t, int64_t> head = head_at_start_;  // account -> seq of its last event so far

    std::vector<ConsentEvent> events;
    std::vector<size_t> of;
    for (size_t i = 0; i < size(); ++i) {
      for (const EventDraft& draft : cs(i).events) {
        EventDraft resolved;
        const EventDraft& d =
            store_rows::ResolveDraftContact(draft, results_[i].contact_id, &resolved);
        const Pair p{account(i), d.contact_id, d.number_id};
        if (raced.count(p) != 0) {
          Fail(i, Aborted("contact " + Id(d.contact_id) + " on number " + Id(d.number_id) +
                          " was changed concurrently; re-read and retry"));
          break;
        }
        PairRow& now = state[p];
        const int64_t seq = w_.NumbersAtWrite() ? head[account(i)] + 1 : 0;
        Result<ConsentEvent> e =
            store_rows::NextEvent(account(i), d, now.state, seq, now.events + 1);
        if (!e.ok()) {
          Fail(i, e.status());
          break;
        }
        if (w_.NumbersAtWrite()) head[account(i)] = seq;
        now.state = ApplyEvent(now.state, d.to, d.source, d.at_ms);
        now.events = e->nth;
        events.push_back(std::move(e).value());
        of.push_back(i);
      }
    }
    if (failed() || events.empty()) return Status::Ok();
    SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> ids, w_.AddEvents(events));
    std::vector<StatusWrite> writes;
    writes.reserve(state.size());
    for (const auto& [pair, row] : state) writes.push_back({pair, row.state, row.events});
    SMSC_RETURN_IF_ERROR(w_.WriteStatuses(writes));
    for (size_t k = 0; k < events.size(); ++k) {
      events[k].id = ids[k];
      results_[of[k]].events.push_back(std::move(events[k]));
    }
    return Status::Ok();
  }

  // The newest stored event of each pair a reply is queued for before any change set of the
  // batch (up to the reply's own) writes an event of that pair: read before the batch's
  // events are written.
  Status ReadLastEvents() {
    std::set<Pair> with_events;
    std::vector<Pair> stored;
    for (size_t i = 0; i < size(); ++i) {
      for (const EventDraft& d : cs(i).events) {
        with_events.insert({account(i), ContactOf(i, d.contact_id), d.number_id});
      }
      for (const OutboxItem& o : cs(i).outbox) {
        const Pair p{account(i), ContactOf(i, o.contact_id), o.number_id};
        if (p.contact_id != 0 && !CreatedHere(p.contact_id) && with_events.count(p) == 0) {
          stored.push_back(p);
        }
      }
    }
    stored = Distinct(std::move(stored));
    if (stored.empty()) return Status::Ok();
    SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> ids, w_.LastEvents(stored));
    for (size_t k = 0; k < stored.size(); ++k) last_stored_[stored[k]] = ids[k];
    return Status::Ok();
  }

  // The ledger's last seq of every account whose change sets write events or queue replies:
  // the writer numbers the events that follow, and a reply records the seq it was queued at.
  Status ReadHeads() {
    for (size_t i = 0; i < size(); ++i) {
      if (cs(i).events.empty() && cs(i).outbox.empty()) continue;
      if (head_at_start_.count(account(i)) != 0) continue;
      SMSC_ASSIGN_OR_RETURN(head_at_start_[account(i)], w_.LastSeq(account(i)));
    }
    return Status::Ok();
  }

  // The replies. Each is queued after its pair's last event as of its change set (this one's
  // or an earlier one's in the batch, else the newest one stored), which is what it was
  // decided on: a claim re-checks the pair's status when a later event exists.
  Status Outbox() {
    std::map<Pair, int64_t> last = last_stored_;  // pair -> its last event so far
    // The account's seq as each change set leaves it (NumbersAtWrite stores).
    std::map<int64_t, int64_t> seq = head_at_start_;

    std::vector<OutboxItem> rows;
    std::vector<size_t> of;
    for (size_t i = 0; i < size(); ++i) {
      for (const ConsentEvent& e : results_[i].events) {
        last[{e.account_id, e.contact_id, e.number_id}] = e.id;
        seq[e.account_id] = std::max(seq[e.account_id], e.seq);
      }
      for (const OutboxItem& item : cs(i).outbox) {
        OutboxItem o = item;
        o.account_id = account(i);
        o.contact_id = ContactOf(i, item.contact_id);
        o.attempts = 0;
        o.last_error.clear();
        o.lease_owner.clear();
        o.lease_until_ms = 0;
        if (o.channel == kChannelResponse) {
          // Delivered in the webhook's own HTTP response: recorded, never dispatched.
          o.state = OutboxState::kSent;
          o.sent_at_ms = o.created_at_ms;
        } else {
          o.state = OutboxState::kPending;
          o.sent_at_ms = 0;
          o.provider_message_id.clear();
        }
        if (o.inbound_id == 0) o.inbound_id = results_[i].inbound_id;
        o.queued_at_seq = w_.NumbersAtWrite() ? seq[o.account_id] : 0;
        o.queued_after_event = 0;  // a contact with no events
        if (o.contact_id != 0) {
          auto it = last.find({o.account_id, o.contact_id, o.number_id});
          if (it != last.end()) o.queued_after_event = it->second;
        }
        rows.push_back(std::move(o));
        of.push_back(i);
      }
    }
    if (rows.empty()) return Status::Ok();
    std::vector<RowFault> faults(rows.size(), RowFault::kNone);
    SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> ids, w_.AddOutbox(rows, &faults));
    for (size_t k = 0; k < rows.size(); ++k) {
      if (faults[k] == RowFault::kDuplicate) {
        Fail(of[k], AlreadyExists("a message with Idempotency-Key '" + rows[k].idempotency_key +
                                  "' was queued already"));
        continue;
      }
      if (faults[k] != RowFault::kNone) {
        Fail(of[k], NotFound("outbox item refers to inbound message " + Id(rows[k].inbound_id) +
                             ", which is not in account " + Id(rows[k].account_id)));
        continue;
      }
      rows[k].id = ids[k];
      results_[of[k]].outbox.push_back(std::move(rows[k]));
    }
    return Status::Ok();
  }

  RowWriter& w_;
  const std::vector<int64_t>& accounts_;
  const std::vector<const ChangeSet*>& changes_;
  std::vector<CommitResult> results_;
  std::set<int64_t> created_;                 // contacts this run inserted
  std::map<int64_t, int64_t> head_at_start_;  // account -> its last seq before this run
  std::map<Pair, int64_t> last_stored_;       // pair -> its newest event before this run
  Status error_;
  size_t failed_ = 0;
};

}  // namespace

Written WriteChangeSets(RowWriter& w, const std::vector<int64_t>& account_ids,
                        const std::vector<const ChangeSet*>& changes) {
  return Run(w, account_ids, changes).Go();
}

Result<std::vector<CommitResult>> WriteChunk(RowWriter& w, int64_t account_id,
                                             const std::vector<ChangeSet>& changes) {
  std::vector<int64_t> accounts(changes.size(), account_id);
  std::vector<const ChangeSet*> sets;
  sets.reserve(changes.size());
  for (const ChangeSet& c : changes) sets.push_back(&c);
  Written written = WriteChangeSets(w, accounts, sets);
  if (!written.ok()) return written.error;
  return std::move(written.results);
}

std::vector<Result<CommitResult>> CommitChangeSets(BatchTxn& tx,
                                                   const std::vector<BatchItem>& items) {
  std::vector<Result<CommitResult>> results;
  if (items.empty()) return results;
  // The batch as a whole failed: what was written is lost with the transaction.
  auto fail_all = [&](const Status& st) {
    tx.Rollback();
    results.assign(items.size(), Result<CommitResult>(st));
    return std::move(results);
  };
  std::vector<int64_t> accounts;
  accounts.reserve(items.size());
  for (const BatchItem& item : items) accounts.push_back(item.account_id);

  for (const bool one_by_one : {false, true}) {
    results.assign(items.size(), Result<CommitResult>(Internal("not written")));
    Result<std::vector<bool>> exist = tx.Begin(accounts);
    if (!exist.ok()) return fail_all(exist.status());
    std::vector<size_t> todo;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].changes == nullptr) {
        results[i] = InvalidArgument("batch item without a change set");
      } else if (!(*exist)[i]) {
        results[i] = NotFound("account " + Id(items[i].account_id) + " not found");
      } else {
        todo.push_back(i);
      }
    }
    if (!one_by_one) {
      std::vector<int64_t> ids;
      std::vector<const ChangeSet*> changes;
      for (size_t i : todo) {
        ids.push_back(items[i].account_id);
        changes.push_back(items[i].changes);
      }
      Written w = WriteChangeSets(tx, ids, changes);
      if (!w.ok()) {
        if (tx.Lost()) return fail_all(w.error);
        tx.Rollback();
        if (todo.size() > 1) continue;  // written again, change set by change set
        results[todo.front()] = std::move(w.error);
        return results;
      }
      for (size_t k = 0; k < todo.size(); ++k) results[todo[k]] = std::move(w.results[k]);
    } else {
      for (size_t i : todo) {
        if (Status st = tx.Savepoint(); !st.ok()) return fail_all(st);
        Written w = WriteChangeSets(tx, {items[i].account_id}, {items[i].changes});
        if (!w.ok()) {
          if (tx.Lost()) return fail_all(w.error);
          Status st = tx.RollbackToSavepoint();
          if (!st.ok()) return fail_all(st);
          results[i] = std::move(w.error);
          continue;
        }
        Status st = tx.ReleaseSavepoint();
        if (!st.ok()) return fail_all(st);
        results[i] = std::move(w.results.front());
      }
    }
    Status committed = tx.Commit();
    if (!committed.ok()) return fail_all(committed);
    return results;
  }
  return results;
}

}  // namespace smsconsent::store_write
