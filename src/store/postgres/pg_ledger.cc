// PgStore: the consent ledger: Commit and CommitBatch (the rows of store/write_changes.h in
// PostgreSQL, set at a time), and reading events.
#include <algorithm>
#include <functional>
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

// One column of a set-at-a-time statement: `get` (a member or a function) of every row, as an
// array parameter for unnest($n::bigint[]) or unnest($n::text[]).
template <typename Row, typename Get>
pg::Arg Ints(const std::vector<Row>& rows, Get get) {
  std::vector<int64_t> v;
  v.reserve(rows.size());
  for (const Row& r : rows) v.push_back(static_cast<int64_t>(std::invoke(get, r)));
  return pg::IntArray(v);
}
template <typename Row, typename Get>
pg::Arg Texts(const std::vector<Row>& rows, Get get) {
  std::vector<std::string> v;
  v.reserve(rows.size());
  for (const Row& r : rows) v.emplace_back(std::invoke(get, r));
  return pg::TextArray(v);
}

// The pairs as three array parameters.
std::vector<pg::Arg> PairArgs(const std::vector<Pair>& pairs) {
  return {Ints(pairs, &Pair::account_id), Ints(pairs, &Pair::contact_id),
          Ints(pairs, &Pair::number_id)};
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
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c_->Q("SELECT * FROM (SELECT 0 AS kind, v.ord, EXISTS (SELECT 1 FROM contacts t "
              "WHERE t.id = v.i AND t.account_id = v.a) FROM unnest($1::bigint[], "
              "$2::bigint[]) WITH ORDINALITY AS v(a, i, ord) UNION ALL SELECT 1, v.ord, "
              "EXISTS (SELECT 1 FROM sender_numbers t WHERE t.id = v.i AND t.account_id "
              "= v.a) FROM unnest($3::bigint[], $4::bigint[]) WITH ORDINALITY AS v(a, i, "
              "ord)) AS x ORDER BY kind, ord",
              "looking up contacts and sender numbers", Ints(contacts, &Ref::account_id),
              Ints(contacts, &Ref::id), Ints(numbers, &Ref::account_id), Ints(numbers, &Ref::id)));
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
    std::vector<const Contact*> insert;
    for (const NewContact& r : rows) {
      if (r.insert) insert.push_back(r.contact);
    }
    std::map<std::pair<int64_t, std::string>, ContactId> got;
    if (!insert.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c_->Q("INSERT INTO contacts (account_id, phone, name, email, created_at_ms, "
                       "properties) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
                       "$4::text[], $5::bigint[], $6::text[]) ON CONFLICT (account_id, phone) DO "
                       "NOTHING RETURNING id, account_id, phone",
                       "adding contacts", Ints(insert, &Contact::account_id),
                       Texts(insert, &Contact::phone), Texts(insert, &Contact::name),
                       Texts(insert, &Contact::email), Ints(insert, &Contact::created_at_ms),
                       Texts(insert, &Contact::properties)));
      for (int i = 0; i < r.rows(); ++i) got[{r.Int(i, 1), r.Text(i, 2)}] = {r.Int(i, 0), true};
    }
    std::vector<const Contact*> find;
    for (const NewContact& r : rows) {
      if (got.count({r.contact->account_id, r.contact->phone}) == 0) find.push_back(r.contact);
    }
    if (!find.empty()) {
      SMSC_ASSIGN_OR_RETURN(Res r,
                            c_->Q("SELECT c.id, c.account_id, c.phone FROM contacts c JOIN "
                                  "unnest($1::bigint[], $2::text[]) AS v(account_id, phone) ON "
                                  "c.account_id = v.account_id AND c.phone = v.phone",
                                  "finding contacts by phone", Ints(find, &Contact::account_id),
                                  Texts(find, &Contact::phone)));
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
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("UPDATE contacts c SET name = v.name, email = v.email, properties = "
                     "v.properties FROM unnest($1::bigint[], $2::bigint[], $3::text[], "
                     "$4::text[], $5::text[]) AS v(id, account_id, name, email, properties) "
                     "WHERE c.id = v.id AND c.account_id = v.account_id RETURNING c.id",
                     "updating contacts", Ints(rows, &Contact::id),
                     Ints(rows, &Contact::account_id), Texts(rows, &Contact::name),
                     Texts(rows, &Contact::email), Texts(rows, &Contact::properties)));
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
    using M = InboundMessage;
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c_->Q("INSERT INTO inbound_messages (account_id, provider, provider_message_id, "
              "from_phone, to_number, number_id, contact_id, body, received_at_ms, "
              "decision) SELECT a, p, m, f, t, NULLIF(n, 0), NULLIF(c, 0), b, r, d FROM "
              "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
              "$6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::text[]) WITH "
              "ORDINALITY AS v(a, p, m, f, t, n, c, b, r, d, ord) ORDER BY ord ON "
              "CONFLICT (account_id, provider, provider_message_id) DO NOTHING RETURNING "
              "id, account_id, provider, provider_message_id",
              "storing inbound messages", Ints(rows, &M::account_id), Texts(rows, &M::provider),
              Texts(rows, &M::provider_message_id), Texts(rows, &M::from), Texts(rows, &M::to),
              Ints(rows, &M::number_id), Ints(rows, &M::contact_id), Texts(rows, &M::body),
              Ints(rows, &M::received_at_ms), Texts(rows, &M::decision)));
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
    using R = ReviewItem;
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
                     "storing review items", Ints(rows, &R::account_id), Ints(rows, &R::inbound_id),
                     Ints(rows, &R::contact_id), Ints(rows, &R::number_id), Texts(rows, &R::rule),
                     Texts(rows, &R::explanation), Ints(rows, &R::created_at_ms)));
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
    using E = ConsentEvent;
    SMSC_ASSIGN_OR_RETURN(
        Res r, c_->Q("INSERT INTO events (account_id, seq, contact_id, phone, number_id, "
                     "sender, from_status, to_status, source, actor, at_ms, evidence, prev_hash, "
                     "hash, format, batch_hash, nth) SELECT a, NULL, c, ph, n, snd, fs, ts, src, "
                     "act, at, ev, '', '', 2, bh, nth FROM unnest($1::bigint[], $2::bigint[], "
                     "$3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], "
                     "$9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[]) WITH "
                     "ORDINALITY AS v(a, c, ph, n, snd, fs, ts, src, act, at, ev, bh, nth, ord) "
                     "ORDER BY ord RETURNING id, account_id, contact_id, number_id, nth",
                     "appending consent events", Ints(events, &E::account_id),
                     Ints(events, &E::contact_id), Texts(events, &E::phone),
                     Ints(events, &E::number_id), Texts(events, &E::sender),
                     Texts(events, [](const E& e) { return SubscriptionStatusName(e.from); }),
                     Texts(events, [](const E& e) { return SubscriptionStatusName(e.to); }),
                     Texts(events, [](const E& e) { return SourceName(e.source); }),
                     Texts(events, &E::actor), Ints(events, &E::at_ms), Texts(events, &E::evidence),
                     Texts(events, &E::batch_hash), Ints(events, &E::nth)));
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
    using W = StatusWrite;
    return c_
        ->Q("INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, "
            "source, updated_at_ms, events) SELECT * FROM unnest($1::bigint[], $2::bigint[], "
            "$3::bigint[], $4::text[], $5::boolean[], $6::text[], $7::bigint[], $8::bigint[]) "
            "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = "
            "excluded.status, self_opted_out = excluded.self_opted_out, source = "
            "excluded.source, updated_at_ms = excluded.updated_at_ms, events = excluded.events",
            "updating statuses", Ints(rows, [](const W& w) { return w.pair.account_id; }),
            Ints(rows, [](const W& w) { return w.pair.contact_id; }),
            Ints(rows, [](const W& w) { return w.pair.number_id; }),
            Texts(rows, [](const W& w) { return SubscriptionStatusName(w.state.status); }),
            Texts(rows, [](const W& w) { return w.state.self_opted_out ? "t" : "f"; }),
            Texts(rows, [](const W& w) { return SourceName(w.state.source); }),
            Ints(rows, [](const W& w) { return w.state.updated_at_ms; }), Ints(rows, &W::events))
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
    using O = OutboxItem;
    auto unknown = [&](const O& o) {
      return o.inbound_id != 0 && inbound_written_.count(o.inbound_id) == 0;
    };
    std::vector<O> ask;
    for (const O& o : rows) {
      if (unknown(o)) ask.push_back(o);
    }
    std::set<std::pair<int64_t, int64_t>> known;
    if (!ask.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c_->Q("SELECT m.account_id, m.id FROM inbound_messages m JOIN "
                       "unnest($1::bigint[], $2::bigint[]) AS v(a, i) ON m.account_id = v.a AND "
                       "m.id = v.i",
                       "looking up inbound messages", Ints(ask, &O::account_id),
                       Ints(ask, &O::inbound_id)));
      for (int i = 0; i < r.rows(); ++i) known.insert({r.Int(i, 0), r.Int(i, 1)});
    }
    // Idempotency keys taken already, in the store or by an earlier row (a unique violation
    // would fail the whole statement, not the one row).
    std::vector<O> keyed;
    for (const O& o : rows) {
      if (!o.idempotency_key.empty()) keyed.push_back(o);
    }
    std::set<std::pair<int64_t, std::string>> taken;
    if (!keyed.empty()) {
      SMSC_ASSIGN_OR_RETURN(
          Res r, c_->Q("SELECT o.account_id, o.idempotency_key FROM outbox o JOIN "
                       "unnest($1::bigint[], $2::text[]) AS v(a, k) ON o.account_id = v.a AND "
                       "o.idempotency_key = v.k",
                       "looking up idempotency keys", Ints(keyed, &O::account_id),
                       Texts(keyed, &O::idempotency_key)));
      for (int i = 0; i < r.rows(); ++i) taken.insert({r.Int(i, 0), r.Text(i, 1)});
    }
    std::vector<size_t> written;  // the rows written, by index
    std::vector<O> w;
    for (size_t k = 0; k < rows.size(); ++k) {
      if (unknown(rows[k]) && known.count({rows[k].account_id, rows[k].inbound_id}) == 0) {
        (*faults)[k] = RowFault::kMissingReference;
        continue;
      }
      if (!rows[k].idempotency_key.empty() &&
          !taken.insert({rows[k].account_id, rows[k].idempotency_key}).second) {
        (*faults)[k] = RowFault::kDuplicate;
        continue;
      }
      written.push_back(k);
      w.push_back(rows[k]);
    }
    std::vector<int64_t> ids(rows.size(), 0);
    if (written.empty()) return ids;
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c_->Q("INSERT INTO outbox (account_id, number_id, contact_id, to_phone, from_number, body, "
              "kind, state, attempts, last_error, inbound_id, created_at_ms, next_attempt_at_ms, "
              "channel, provider_message_id, lease_owner, lease_until_ms, sent_at_ms, "
              "queued_at_seq, queued_after_event, purpose, send_at_ms, idempotency_key, "
              "request_hash, notice) SELECT a, n, NULLIF(c, 0), tp, fn, b, k, s, att, le, "
              "NULLIF(i, 0), ca, na, ch, pm, lo, lu, sa, qs, qe, pu, sat, ik, rh, nt FROM "
              "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
              "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], "
              "$11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], "
              "$17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::bigint[], "
              "$23::text[], $24::text[], $25::bigint[]) WITH ORDINALITY AS v(a, n, c, att, i, ca, "
              "na, lu, sa, qs, qe, tp, fn, b, k, s, le, ch, pm, lo, pu, sat, ik, rh, nt, ord) "
              "ORDER BY ord RETURNING id",
              "queueing outbox items", Ints(w, &O::account_id), Ints(w, &O::number_id),
              Ints(w, &O::contact_id), Ints(w, &O::attempts), Ints(w, &O::inbound_id),
              Ints(w, &O::created_at_ms), Ints(w, &O::next_attempt_at_ms),
              Ints(w, &O::lease_until_ms), Ints(w, &O::sent_at_ms), Ints(w, &O::queued_at_seq),
              Ints(w, &O::queued_after_event), Texts(w, &O::to), Texts(w, &O::from),
              Texts(w, &O::body), Texts(w, [](const O& o) { return ReplyKindName(o.kind); }),
              Texts(w, [](const O& o) { return OutboxStateName(o.state); }),
              Texts(w, &O::last_error), Texts(w, &O::channel), Texts(w, &O::provider_message_id),
              Texts(w, &O::lease_owner),
              Texts(w,
                    [](const O& o) {
                      return o.kind == ReplyKind::kMessage ? PurposeName(o.purpose) : "";
                    }),
              Ints(w, &O::send_at_ms), Texts(w, &O::idempotency_key), Texts(w, &O::request_hash),
              Ints(w, &O::notice)));
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
