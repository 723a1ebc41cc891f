// PgStore: the consent ledger: Commit and CommitBatch (the rows of store/write_changes.h in
// PostgreSQL, set at a time), and reading events.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"
#include "store/write_changes.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Commit -------------------------------------------------------------------------------

namespace pg_detail {
namespace {

using store_write::ContactId;
using store_write::NewContact;
using store_write::Pair;
using store_write::PairRow;
using store_write::Ref;
using store_write::RowFault;
using store_write::StatusWrite;

// Columns of a set-at-a-time statement, each one array parameter ($1, $2, … in unnest).
struct Columns {
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<std::string>> texts;
};

// The pairs as three array parameters.
std::vector<pg::Arg> PairArgs(const std::vector<Pair>& pairs) {
  std::vector<int64_t> a, c, n;
  for (const Pair& p : pairs) {
    a.push_back(p.account_id);
    c.push_back(p.contact_id);
    n.push_back(p.number_id);
  }
  return {pg::IntArray(a), pg::IntArray(c), pg::IntArray(n)};
}

// The change-set algorithm's rows in PostgreSQL (store/write_changes.h): each call is one
// statement over arrays (unnest), whatever the number of rows, so a batch of webhooks costs
// about a dozen round trips. Events are written with seq NULL; integration numbers them.
class PgRows : public store_write::BatchTxn {
 public:
  PgRows(pg::Pool* pool, Conn* conn) : pool_(pool), c_(conn) {}

  bool NumbersAtWrite() const override { return false; }

  // Both lists in one statement: the contacts' answers, then the numbers'.
  Result<Existing> RefsExist(const std::vector<Ref>& contacts,
                             const std::vector<Ref>& numbers) override {
    std::vector<int64_t> ca, ci, na, ni;
    for (const Ref& r : contacts) {
      ca.push_back(r.account_id);
      ci.push_back(r.id);
    }
    for (const Ref& r : numbers) {
      na.push_back(r.account_id);
      ni.push_back(r.id);
    }
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("SELECT * FROM (SELECT 0 AS kind, v.ord, EXISTS (SELECT 1 FROM contacts t "
                     "WHERE t.id = v.i AND t.account_id = v.a) FROM unnest($1::bigint[], "
                     "$2::bigint[]) WITH ORDINALITY AS v(a, i, ord) UNION ALL SELECT 1, v.ord, "
                     "EXISTS (SELECT 1 FROM sender_numbers t WHERE t.id = v.i AND t.account_id "
                     "= v.a) FROM unnest($3::bigint[], $4::bigint[]) WITH ORDINALITY AS v(a, i, "
                     "ord)) AS x ORDER BY kind, ord",
                     "looking up contacts and sender numbers", pg::IntArray(ca), pg::IntArray(ci),
                     pg::IntArray(na), pg::IntArray(ni)));
    Existing out;
    for (int i = 0; i < r.rows(); ++i) {
      (r.Int(i, 0) == 0 ? out.contacts : out.numbers).push_back(r.Bool(i, 2));
    }
    if (out.contacts.size() != contacts.size() || out.numbers.size() != numbers.size()) {
      return Internal("looking up contacts and sender numbers: rows missing from the answer");
    }
    return out;
  }

  // Sorted by (account, phone), so that two writers creating the same contacts wait for each
  // other in one order (ON CONFLICT waits for the other's commit, then takes its row).
  Result<std::vector<ContactId>> AddContacts(const std::vector<NewContact>& rows) override {
    std::vector<int64_t> account, created;
    std::vector<std::string> phone, name, email, properties;
    for (const NewContact& r : rows) {
      if (!r.insert) continue;
      account.push_back(r.contact->account_id);
      phone.push_back(r.contact->phone);
      name.push_back(r.contact->name);
      email.push_back(r.contact->email);
      created.push_back(r.contact->created_at_ms);
      properties.push_back(r.contact->properties);
    }
    std::map<std::pair<int64_t, std::string>, ContactId> got;
    if (!account.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r,
          c_->Q("INSERT INTO contacts (account_id, phone, name, email, created_at_ms, "
                "properties) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
                "$4::text[], $5::bigint[], $6::text[]) ON CONFLICT (account_id, phone) DO "
                "NOTHING RETURNING id, account_id, phone",
                "adding contacts", pg::IntArray(account), pg::TextArray(phone), pg::TextArray(name),
                pg::TextArray(email), pg::IntArray(created), pg::TextArray(properties)));
      for (int i = 0; i < r.rows(); ++i) got[{r.Int(i, 1), r.Text(i, 2)}] = {r.Int(i, 0), true};
    }
    account.clear();
    phone.clear();
    for (const NewContact& r : rows) {
      if (got.count({r.contact->account_id, r.contact->phone}) != 0) continue;
      account.push_back(r.contact->account_id);
      phone.push_back(r.contact->phone);
    }
    if (!account.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c_->Q("SELECT c.id, c.account_id, c.phone FROM contacts c JOIN "
                       "unnest($1::bigint[], $2::text[]) AS v(account_id, phone) ON "
                       "c.account_id = v.account_id AND c.phone = v.phone",
                       "finding contacts by phone", pg::IntArray(account), pg::TextArray(phone)));
      for (int i = 0; i < r.rows(); ++i) got[{r.Int(i, 1), r.Text(i, 2)}] = {r.Int(i, 0), false};
    }
    std::vector<ContactId> out;
    for (const NewContact& r : rows) {
      auto it = got.find({r.contact->account_id, r.contact->phone});
      out.push_back(it == got.end() ? ContactId{} : it->second);
    }
    return out;
  }

  Result<std::vector<bool>> UpdateContacts(const std::vector<Contact>& rows) override {
    std::vector<int64_t> id, account;
    std::vector<std::string> name, email, properties;
    for (const Contact& c : rows) {
      id.push_back(c.id);
      account.push_back(c.account_id);
      name.push_back(c.name);
      email.push_back(c.email);
      properties.push_back(c.properties);
    }
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("UPDATE contacts c SET name = v.name, email = v.email, properties = "
                     "v.properties FROM unnest($1::bigint[], $2::bigint[], $3::text[], "
                     "$4::text[], $5::text[]) AS v(id, account_id, name, email, properties) "
                     "WHERE c.id = v.id AND c.account_id = v.account_id RETURNING c.id",
                     "updating contacts", pg::IntArray(id), pg::IntArray(account),
                     pg::TextArray(name), pg::TextArray(email), pg::TextArray(properties)));
    std::set<int64_t> found;
    for (int i = 0; i < r.rows(); ++i) found.insert(r.Int(i, 0));
    std::vector<bool> out;
    for (const Contact& c : rows) out.push_back(found.count(c.id) != 0);
    return out;
  }

  // The same provider message arriving twice at once (two server instances): the second
  // insert waits for the first transaction, then does nothing.
  Result<std::vector<int64_t>> AddInbound(const std::vector<InboundMessage>& rows,
                                          std::vector<RowFault>* faults) override {
    std::vector<int64_t> account, number, contact, received;
    std::vector<std::string> provider, message_id, from, to, body, decision;
    for (const InboundMessage& m : rows) {
      account.push_back(m.account_id);
      provider.push_back(m.provider);
      message_id.push_back(m.provider_message_id);
      from.push_back(m.from);
      to.push_back(m.to);
      number.push_back(m.number_id);
      contact.push_back(m.contact_id);
      body.push_back(m.body);
      received.push_back(m.received_at_ms);
      decision.push_back(m.decision);
    }
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("INSERT INTO inbound_messages (account_id, provider, provider_message_id, "
                     "from_phone, to_number, number_id, contact_id, body, received_at_ms, "
                     "decision) SELECT a, p, m, f, t, NULLIF(n, 0), NULLIF(c, 0), b, r, d FROM "
                     "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
                     "$6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::text[]) WITH "
                     "ORDINALITY AS v(a, p, m, f, t, n, c, b, r, d, ord) ORDER BY ord ON "
                     "CONFLICT (account_id, provider, provider_message_id) DO NOTHING RETURNING "
                     "id, account_id, provider, provider_message_id",
                     "storing inbound messages", pg::IntArray(account), pg::TextArray(provider),
                     pg::TextArray(message_id), pg::TextArray(from), pg::TextArray(to),
                     pg::IntArray(number), pg::IntArray(contact), pg::TextArray(body),
                     pg::IntArray(received), pg::TextArray(decision)));
    std::map<std::tuple<int64_t, std::string, std::string>, int64_t> ids;
    for (int i = 0; i < r.rows(); ++i) {
      ids[{r.Int(i, 1), r.Text(i, 2), r.Text(i, 3)}] = r.Int(i, 0);
      inbound_written_.insert(r.Int(i, 0));
    }
    std::vector<int64_t> out;
    for (size_t k = 0; k < rows.size(); ++k) {
      auto it = ids.find({rows[k].account_id, rows[k].provider, rows[k].provider_message_id});
      if (it == ids.end()) (*faults)[k] = RowFault::kDuplicate;
      out.push_back(it == ids.end() ? 0 : it->second);
    }
    return out;
  }

  Status AddReviews(const std::vector<ReviewItem>& rows, std::vector<RowFault>* faults) override {
    std::vector<int64_t> account, inbound, contact, number, created;
    std::vector<std::string> rule, explanation;
    for (const ReviewItem& r : rows) {
      account.push_back(r.account_id);
      inbound.push_back(r.inbound_id);
      contact.push_back(r.contact_id);
      number.push_back(r.number_id);
      rule.push_back(r.rule);
      explanation.push_back(r.explanation);
      created.push_back(r.created_at_ms);
    }
    // Per row: whether its inbound message is in its account, and whether it was written
    // (else the message has a review item already).
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("WITH v AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], "
                     "$4::bigint[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS "
                     "v(a, i, c, n, rule, ex, at, ord)), ok AS (SELECT v.*, EXISTS (SELECT 1 "
                     "FROM inbound_messages m WHERE m.id = v.i AND m.account_id = v.a) AS known "
                     "FROM v), ins AS (INSERT INTO review_items (account_id, inbound_id, "
                     "contact_id, number_id, rule, explanation, state, created_at_ms) SELECT a, "
                     "i, c, n, rule, ex, 'open', at FROM ok WHERE known ORDER BY ord ON "
                     "CONFLICT (inbound_id) DO NOTHING RETURNING inbound_id) SELECT ok.known, "
                     "ok.i IN (SELECT inbound_id FROM ins) FROM ok ORDER BY ok.ord",
                     "storing review items", pg::IntArray(account), pg::IntArray(inbound),
                     pg::IntArray(contact), pg::IntArray(number), pg::TextArray(rule),
                     pg::TextArray(explanation), pg::IntArray(created)));
    for (int i = 0; i < r.rows(); ++i) {
      if (!r.Bool(i, 0)) {
        (*faults)[i] = RowFault::kMissingReference;
      } else if (!r.Bool(i, 1)) {
        (*faults)[i] = RowFault::kDuplicate;
      }
    }
    return Status::Ok();
  }

  // Locked in key order, so writers of overlapping pairs wait for each other rather than
  // deadlock.
  Result<std::vector<PairRow>> ReadStatuses(const std::vector<Pair>& pairs) override {
    std::vector<pg::Arg> args = PairArgs(pairs);
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Query("SELECT s.account_id, s.contact_id, s.number_id, s.status, "
                         "s.self_opted_out, s.source, s.updated_at_ms, s.events FROM statuses s "
                         "JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(a, c, n) ON "
                         "s.account_id = v.a AND s.contact_id = v.c AND s.number_id = v.n ORDER "
                         "BY s.account_id, s.contact_id, s.number_id FOR UPDATE OF s",
                         args, "locking the contacts' statuses"));
    std::map<Pair, PairRow> found;
    for (int i = 0; i < r.rows(); ++i) {
      SMSC_ASSIGN_OR_RETURN(StatusRow row, ReadStatus(r, i, 1));
      found[{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2)}] = {true, row.state, r.Int(i, 7)};
    }
    std::vector<PairRow> out;
    for (const Pair& p : pairs) {
      auto it = found.find(p);
      out.push_back(it == found.end() ? PairRow{} : it->second);
    }
    return out;
  }

  // The pairs' first rows, created now so that they are locked from here on. A row that
  // appeared meanwhile was created by another writer of the same pair.
  Result<std::vector<std::optional<int64_t>>> StartPairs(const std::vector<Pair>& pairs) override {
    std::vector<pg::Arg> args = PairArgs(pairs);
    const ConsentState none;
    args.push_back(pg::ToArg(SubscriptionStatusName(none.status)));
    args.push_back(pg::ToArg(SourceName(none.source)));
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Query("INSERT INTO statuses (account_id, contact_id, number_id, status, "
                         "self_opted_out, source, updated_at_ms, events) SELECT v.a, v.c, v.n, "
                         "$4, false, $5, 0, (SELECT COUNT(*) FROM events e WHERE e.account_id = "
                         "v.a AND e.contact_id = v.c AND e.number_id = v.n) FROM "
                         "unnest($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS "
                         "v(a, c, n, ord) ORDER BY v.ord ON CONFLICT DO NOTHING RETURNING "
                         "account_id, contact_id, number_id, events",
                         args, "locking the contacts' statuses"));
    std::map<Pair, int64_t> created;
    for (int i = 0; i < r.rows(); ++i)
      created[{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2)}] = r.Int(i, 3);
    std::vector<std::optional<int64_t>> out;
    for (const Pair& p : pairs) {
      auto it = created.find(p);
      out.push_back(it == created.end() ? std::nullopt : std::optional<int64_t>(it->second));
    }
    return out;
  }

  Result<int64_t> LastSeq(int64_t) override {
    return Internal("PostgreSQL numbers at integration");
  }

  // seq stays NULL until the account's ledger is integrated (PgStore::IntegrateLedger). The ids
  // are drawn in the order given (ORDER BY ord), which orders each pair's events.
  Result<std::vector<int64_t>> AddEvents(const std::vector<ConsentEvent>& events) override {
    std::vector<int64_t> account, contact, number, at, nth;
    std::vector<std::string> phone, sender, from, to, source, actor, evidence, batch;
    for (const ConsentEvent& e : events) {
      account.push_back(e.account_id);
      contact.push_back(e.contact_id);
      phone.push_back(e.phone);
      number.push_back(e.number_id);
      sender.push_back(e.sender);
      from.push_back(SubscriptionStatusName(e.from));
      to.push_back(SubscriptionStatusName(e.to));
      source.push_back(SourceName(e.source));
      actor.push_back(e.actor);
      at.push_back(e.at_ms);
      evidence.push_back(e.evidence);
      batch.push_back(e.batch_hash);
      nth.push_back(e.nth);
    }
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c_->Q("INSERT INTO events (account_id, seq, contact_id, phone, number_id, "
              "sender, from_status, to_status, source, actor, at_ms, evidence, prev_hash, "
              "hash, format, batch_hash, nth) SELECT a, NULL, c, ph, n, snd, fs, ts, src, "
              "act, at, ev, '', '', 2, bh, nth FROM unnest($1::bigint[], $2::bigint[], "
              "$3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], "
              "$9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[]) WITH "
              "ORDINALITY AS v(a, c, ph, n, snd, fs, ts, src, act, at, ev, bh, nth, ord) "
              "ORDER BY ord RETURNING id, account_id, contact_id, number_id, nth",
              "appending consent events", pg::IntArray(account), pg::IntArray(contact),
              pg::TextArray(phone), pg::IntArray(number), pg::TextArray(sender),
              pg::TextArray(from), pg::TextArray(to), pg::TextArray(source), pg::TextArray(actor),
              pg::IntArray(at), pg::TextArray(evidence), pg::TextArray(batch), pg::IntArray(nth)));
    // A pair's events in one batch have distinct numbers (nth): the row's key.
    std::map<std::pair<Pair, int64_t>, int64_t> ids;
    for (int i = 0; i < r.rows(); ++i) {
      ids[{Pair{r.Int(i, 1), r.Int(i, 2), r.Int(i, 3)}, r.Int(i, 4)}] = r.Int(i, 0);
    }
    std::vector<int64_t> out;
    for (const ConsentEvent& e : events) {
      auto it = ids.find({Pair{e.account_id, e.contact_id, e.number_id}, e.nth});
      if (it == ids.end()) return Internal("an appended event was not returned");
      out.push_back(it->second);
    }
    return out;
  }

  Status WriteStatuses(const std::vector<StatusWrite>& rows) override {
    std::vector<int64_t> account, contact, number, updated, events;
    std::vector<std::string> status, self, source;
    for (const StatusWrite& w : rows) {
      account.push_back(w.pair.account_id);
      contact.push_back(w.pair.contact_id);
      number.push_back(w.pair.number_id);
      status.push_back(SubscriptionStatusName(w.state.status));
      self.push_back(w.state.self_opted_out ? "t" : "f");
      source.push_back(SourceName(w.state.source));
      updated.push_back(w.state.updated_at_ms);
      events.push_back(w.events);
    }
    return c_
        ->Q("INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, "
            "source, updated_at_ms, events) SELECT * FROM unnest($1::bigint[], $2::bigint[], "
            "$3::bigint[], $4::text[], $5::boolean[], $6::text[], $7::bigint[], $8::bigint[]) "
            "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = "
            "excluded.status, self_opted_out = excluded.self_opted_out, source = "
            "excluded.source, updated_at_ms = excluded.updated_at_ms, events = excluded.events",
            "updating statuses", pg::IntArray(account), pg::IntArray(contact), pg::IntArray(number),
            pg::TextArray(status), pg::TextArray(self), pg::TextArray(source),
            pg::IntArray(updated), pg::IntArray(events))
        .status();
  }

  // The newest event this transaction sees: a writer of the pair that commits later draws a
  // higher id.
  Result<std::vector<int64_t>> LastEvents(const std::vector<Pair>& pairs) override {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Query("SELECT (SELECT COALESCE(MAX(e.id), 0) FROM events e WHERE "
                         "e.account_id = v.a AND e.contact_id = v.c AND e.number_id = v.n) FROM "
                         "unnest($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS "
                         "v(a, c, n, ord) ORDER BY v.ord",
                         PairArgs(pairs), "reading the contacts' last events"));
    std::vector<int64_t> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
    return out;
  }

  Result<std::vector<int64_t>> AddOutbox(const std::vector<OutboxItem>& rows,
                                         std::vector<RowFault>* faults) override {
    // Inbound messages not written by this transaction are looked for first (a foreign-key
    // failure would fail the whole statement, not the one row).
    std::vector<int64_t> ask_account, ask_id;
    for (const OutboxItem& o : rows) {
      if (o.inbound_id != 0 && inbound_written_.count(o.inbound_id) == 0) {
        ask_account.push_back(o.account_id);
        ask_id.push_back(o.inbound_id);
      }
    }
    std::set<std::pair<int64_t, int64_t>> known;
    if (!ask_id.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r,
          c_->Q("SELECT m.account_id, m.id FROM inbound_messages m JOIN "
                "unnest($1::bigint[], $2::bigint[]) AS v(a, i) ON m.account_id = v.a AND "
                "m.id = v.i",
                "looking up inbound messages", pg::IntArray(ask_account), pg::IntArray(ask_id)));
      for (int i = 0; i < r.rows(); ++i) known.insert({r.Int(i, 0), r.Int(i, 1)});
    }
    // The columns as arrays: 11 integers ($1…$11), then 9 texts ($12…$20).
    Columns v{std::vector<std::vector<int64_t>>(11), std::vector<std::vector<std::string>>(9)};
    std::vector<size_t> written;
    for (size_t k = 0; k < rows.size(); ++k) {
      const OutboxItem& o = rows[k];
      if (o.inbound_id != 0 && inbound_written_.count(o.inbound_id) == 0 &&
          known.count({o.account_id, o.inbound_id}) == 0) {
        (*faults)[k] = RowFault::kMissingReference;
        continue;
      }
      written.push_back(k);
      const int64_t ints[] = {o.account_id,         o.number_id,         o.contact_id,
                              int64_t{o.attempts},  o.inbound_id,        o.created_at_ms,
                              o.next_attempt_at_ms, o.lease_until_ms,    o.sent_at_ms,
                              o.queued_at_seq,      o.queued_after_event};
      for (size_t j = 0; j < v.ints.size(); ++j) v.ints[j].push_back(ints[j]);
      const std::string_view texts[] = {o.to,
                                        o.from,
                                        o.body,
                                        ReplyKindName(o.kind),
                                        OutboxStateName(o.state),
                                        o.last_error,
                                        o.channel,
                                        o.provider_message_id,
                                        o.lease_owner};
      for (size_t j = 0; j < v.texts.size(); ++j) v.texts[j].emplace_back(texts[j]);
    }
    std::vector<int64_t> ids(rows.size(), 0);
    if (written.empty()) return ids;
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c_->Q("INSERT INTO outbox (account_id, number_id, contact_id, to_phone, from_number, body, "
              "kind, state, attempts, last_error, inbound_id, created_at_ms, next_attempt_at_ms, "
              "channel, provider_message_id, lease_owner, lease_until_ms, sent_at_ms, "
              "queued_at_seq, queued_after_event) SELECT a, n, NULLIF(c, 0), tp, fn, b, k, s, "
              "att, le, NULLIF(i, 0), ca, na, ch, pm, lo, lu, sa, qs, qe FROM "
              "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
              "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], "
              "$11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], "
              "$17::text[], $18::text[], $19::text[], $20::text[]) WITH ORDINALITY AS v(a, n, "
              "c, att, i, ca, na, lu, sa, qs, qe, tp, fn, b, k, s, le, ch, pm, lo, ord) ORDER "
              "BY ord RETURNING id",
              "queueing outbox items", pg::IntArray(v.ints[0]), pg::IntArray(v.ints[1]),
              pg::IntArray(v.ints[2]), pg::IntArray(v.ints[3]), pg::IntArray(v.ints[4]),
              pg::IntArray(v.ints[5]), pg::IntArray(v.ints[6]), pg::IntArray(v.ints[7]),
              pg::IntArray(v.ints[8]), pg::IntArray(v.ints[9]), pg::IntArray(v.ints[10]),
              pg::TextArray(v.texts[0]), pg::TextArray(v.texts[1]), pg::TextArray(v.texts[2]),
              pg::TextArray(v.texts[3]), pg::TextArray(v.texts[4]), pg::TextArray(v.texts[5]),
              pg::TextArray(v.texts[6]), pg::TextArray(v.texts[7]), pg::TextArray(v.texts[8])));
    // The ids are drawn in the rows' order (ORDER BY ord), so ascending ids are the rows.
    std::vector<int64_t> drawn;
    for (int i = 0; i < r.rows(); ++i) drawn.push_back(r.Int(i, 0));
    if (drawn.size() != written.size()) return Internal("queued outbox items were not returned");
    std::sort(drawn.begin(), drawn.end());
    for (size_t k = 0; k < written.size(); ++k) ids[written[k]] = drawn[k];
    return ids;
  }

  // ---- the transaction (CommitBatch) ----
  // BEGIN and the accounts' check in one round trip (the ids are integers, written into the
  // statement as an array literal).
  Result<std::vector<bool>> Begin(const std::vector<int64_t>& accounts) override {
    inbound_written_.clear();
    std::vector<int64_t> ids(accounts);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::string list;
    for (int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    const std::string share = "SELECT id FROM accounts WHERE id = ANY('{" + list +
                              "}'::bigint[]) ORDER BY id FOR KEY SHARE";
    std::set<int64_t> found;
    for (int attempt = 0;; ++attempt) {
      Result<pg::Lease> lease = pool_->Acquire();
      if (!lease.ok()) return lease.status();
      lease_.emplace(std::move(lease).value());
      c_ = &**lease_;
      Result<std::pair<Txn, Res>> txn = Txn::BeginWith(*c_, share);
      if (!txn.ok()) {
        // A pooled connection that died while idle (server restart): nothing was done yet.
        const bool retry = attempt == 0 && lease_->reused() && c_->broken();
        Rollback();
        if (retry) {
          pool_->DropIdle();
          continue;
        }
        return txn.status();
      }
      txn_.emplace(std::move(txn->first));
      for (int i = 0; i < txn->second.rows(); ++i) found.insert(txn->second.Int(i, 0));
      break;
    }
    std::vector<bool> out;
    for (int64_t id : accounts) out.push_back(found.count(id) != 0);
    return out;
  }
  Status Commit() override {
    Status st = txn_->Commit();  // the WAL flush
    Rollback();
    return st;
  }
  void Rollback() override {
    txn_.reset();
    lease_.reset();
    c_ = nullptr;
  }
  Status Savepoint() override { return c_->Exec("SAVEPOINT batch_item", "starting a batch item"); }
  Status RollbackToSavepoint() override {
    inbound_written_.clear();  // what the item wrote is gone; the lookups ask the database
    return c_->Exec("ROLLBACK TO SAVEPOINT batch_item", "rolling back a batch item");
  }
  Status ReleaseSavepoint() override {
    return c_->Exec("RELEASE SAVEPOINT batch_item", "finishing a batch item");
  }
  bool Lost() override { return c_ == nullptr || c_->broken(); }

 private:
  pg::Pool* pool_;
  Conn* c_;
  std::optional<pg::Lease> lease_;
  std::optional<Txn> txn_;
  std::set<int64_t> inbound_written_;  // inbound messages this transaction stored
};

}  // namespace

Result<std::vector<CommitResult>> WriteChangeSets(Conn& c, int64_t account_id,
                                                  const std::vector<ChangeSet>& changes) {
  PgRows rows(nullptr, &c);
  return store_write::WriteChunk(rows, account_id, changes);
}

}  // namespace pg_detail

Result<CommitResult> PgStore::Commit(int64_t account_id, const ChangeSet& changes) {
  std::vector<Result<CommitResult>> results = CommitBatch({BatchItem{account_id, &changes}});
  return std::move(results.front());
}

// Group commit: one transaction, the change sets, one COMMIT: one WAL flush for the batch
// (store/write_changes.h). The accounts are checked once up front, with the BEGIN; writers of
// the same account wait only for those of the same (contact, number) pair.
std::vector<Result<CommitResult>> PgStore::CommitBatch(const std::vector<BatchItem>& items) {
  PgRows tx(&impl_->pool, nullptr);
  return store_write::CommitChangeSets(tx, items);
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
