// PgStore: inbound messages, review items, and the outbox: listing it and dispatching its
// items (claim, complete, lease expiry).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_internal.h"
#include "store/store_columns.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Inbound and outbox -------------------------------------------------------------------

Result<std::optional<InboundMessage>> PgStore::FindInbound(int64_t account_id,
                                                           const std::string& provider,
                                                           const std::string& provider_message_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<InboundMessage>> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT " SMSC_INBOUND_COLS " FROM inbound_messages WHERE "
                   "account_id = $1 AND provider = $2 AND "
                   "provider_message_id = $3",
                   "finding inbound message", account_id, provider, provider_message_id));
    if (r.rows() == 0) return std::optional<InboundMessage>();
    return std::optional<InboundMessage>(ReadInbound(r, 0));
  });
}

Result<std::vector<InboundMessage>> PgStore::ListInbound(int64_t account_id,
                                                         const InboundQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  std::vector<pg::Arg> args = {pg::ToArg(account_id), pg::ToArg(int64_t{q.limit})};
  std::string sql = "SELECT " SMSC_INBOUND_COLS " FROM inbound_messages WHERE account_id = $1";
  auto arg = [&](pg::Arg a) {
    args.push_back(std::move(a));
    return "$" + std::to_string(args.size());
  };
  if (q.before_id > 0) sql += " AND id < " + arg(pg::ToArg(q.before_id));
  if (q.contact_id) sql += " AND contact_id = " + arg(pg::ToArg(*q.contact_id));
  if (q.number_id) sql += " AND number_id = " + arg(pg::ToArg(*q.number_id));
  sql += " ORDER BY id DESC LIMIT $2";
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<InboundMessage>> {
    if (q.contact_id) SMSC_RETURN_IF_ERROR(ContactInAccount(c, account_id, *q.contact_id));
    if (q.number_id) SMSC_RETURN_IF_ERROR(NumberInAccount(c, account_id, *q.number_id));
    SMSC_ASSIGN_OR_RETURN(Res r, c.Query(sql, args, "listing inbound messages"));
    return ReadAll<InboundMessage>(r, ReadInbound);
  });
}

// ---- Review items ----------------------------------------------------------------------------

Result<std::vector<ReviewItem>> PgStore::ListReviews(int64_t account_id, const ReviewQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  std::vector<pg::Arg> args = {pg::ToArg(account_id), pg::ToArg(q.after_id),
                               pg::ToArg(int64_t{q.limit})};
  std::string sql =
      "SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM " WHERE r.account_id = $1 AND r.id > $2";
  if (q.state) {
    args.push_back(pg::ToArg(std::string(ReviewStateName(*q.state))));
    sql += " AND r.state = $4";
  }
  sql += " ORDER BY r.id LIMIT $3";
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<ReviewItem>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Query(sql, args, "listing review items"));
    return ReadAll<ReviewItem>(r, ReadReview);
  });
}

namespace {
Result<ReviewItem> ReadOneReview(Conn& c, int64_t account_id, int64_t id) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM
                                   " WHERE r.account_id = $1 AND r.id = $2",
                                   "reading review item", account_id, id));
  if (r.rows() == 0) return ReviewNotFound(account_id, id);
  return ReadReview(r, 0);
}
}  // namespace

Result<ReviewItem> PgStore::GetReview(int64_t account_id, int64_t id) {
  return pg::WithConn(
      impl_->pool, [&](Conn& c) -> Result<ReviewItem> { return ReadOneReview(c, account_id, id); });
}

Result<ReviewItem> PgStore::ResolveReview(int64_t account_id, const ReviewResolution& res) {
  SMSC_RETURN_IF_ERROR(CheckReviewResolution(res));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<ReviewItem> {
    // Only an open item changes: a concurrent resolution waits for this row's lock and then
    // finds it closed.
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE review_items SET state = $3, reviewed_by = $4, "
                                     "reviewed_at_ms = $5, note = $6 WHERE account_id = $1 AND "
                                     "id = $2 AND state = 'open'",
                                     "resolving review item " + std::to_string(res.id), account_id,
                                     res.id, std::string(ReviewStateName(res.state)),
                                     res.reviewed_by, res.reviewed_at_ms, res.note));
    const bool changed = r.Affected() > 0;
    SMSC_ASSIGN_OR_RETURN(ReviewItem stored, ReadOneReview(c, account_id, res.id));
    if (!changed) return ReviewNotOpen(stored);
    return stored;
  });
}

Result<int64_t> PgStore::CountOpenReviews() {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT COUNT(*) FROM review_items WHERE state = 'open'",
                                     "counting open review items"));
    return r.Int(0, 0);
  });
}

Result<std::vector<OutboxItem>> PgStore::ListOutbox(int64_t account_id, const OutboxQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  constexpr size_t kMaxInboundIds = 10'000;
  if (q.inbound_ids && q.inbound_ids->size() > kMaxInboundIds) {
    return InvalidArgument("at most " + std::to_string(kMaxInboundIds) +
                           " inbound message ids per outbox query");
  }
  if (q.inbound_ids && q.inbound_ids->empty()) return std::vector<OutboxItem>();
  std::vector<pg::Arg> args = {pg::ToArg(account_id), pg::ToArg(q.after_id),
                               pg::ToArg(int64_t{q.limit})};
  auto arg = [&](pg::Arg a) {
    args.push_back(std::move(a));
    return "$" + std::to_string(args.size());
  };
  std::string sql = "SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = $1 AND id > $2";
  if (q.before_id > 0) sql += " AND id < " + arg(pg::ToArg(q.before_id));
  if (q.inbound_ids) {
    sql += " AND inbound_id = ANY(" + arg(pg::IntArray(*q.inbound_ids)) + "::bigint[])";
  }
  if (q.contact_id) sql += " AND contact_id = " + arg(pg::ToArg(*q.contact_id));
  if (q.sent_from_ms) sql += " AND sent_at_ms >= " + arg(pg::ToArg(*q.sent_from_ms));
  if (q.sent_until_ms) sql += " AND sent_at_ms <= " + arg(pg::ToArg(*q.sent_until_ms));
  if (q.number_id) sql += " AND number_id = " + arg(pg::ToArg(*q.number_id));
  if (q.kind) sql += " AND kind = " + arg(pg::ToArg(ReplyKindName(*q.kind)));
  std::vector<OutboxState> states;
  for (OutboxState st : q.states) {
    if (std::find(states.begin(), states.end(), st) == states.end()) states.push_back(st);
  }
  if (!states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < states.size(); ++i) {
      sql += (i ? ", " : "") + arg(pg::ToArg(OutboxStateName(states[i])));
    }
    sql += ")";
  }
  sql += q.newest_first ? " ORDER BY id DESC LIMIT $3" : " ORDER BY id LIMIT $3";
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<OutboxItem>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Query(sql, args, "listing outbox"));
    return ReadAll<OutboxItem>(r, ReadOutbox);
  });
}

Result<OutboxItem> PgStore::GetOutboxItem(int64_t account_id, int64_t id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<OutboxItem> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE id = $1 AND "
                                     "account_id = $2",
                                     "reading outbox item", id, account_id));
    if (r.rows() == 0) {
      return NotFound("outbox item " + std::to_string(id) + " not found in account " +
                      std::to_string(account_id));
    }
    return ReadOutbox(r, 0);
  });
}

Result<std::vector<int64_t>> PgStore::ListMarketingDueTimes(int64_t account_id, int64_t contact_id,
                                                            int64_t number_id, int64_t from_ms,
                                                            int64_t to_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<int64_t>> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT next_attempt_at_ms FROM outbox WHERE account_id = $1 AND contact_id = "
                   "$2 AND number_id = $3 AND kind = 'message' AND purpose = 'marketing' AND "
                   "state IN ('pending', 'sending', 'sent') AND next_attempt_at_ms > $4 AND "
                   "next_attempt_at_ms < $5 ORDER BY next_attempt_at_ms LIMIT $6",
                   "reading marketing due times", account_id, contact_id, number_id, from_ms, to_ms,
                   int64_t{kMaxCapRows}));
    std::vector<int64_t> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
    return out;
  });
}

Result<NoticeHistory> PgStore::GetNoticeHistory(int64_t account_id, int64_t contact_id,
                                                int64_t number_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<NoticeHistory> {
    // The last message that carried the notice, and the marketing messages after it (all of
    // them when none did), from outbox_by_contact.
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("WITH m AS (SELECT id, created_at_ms, notice FROM outbox WHERE account_id = $1 "
                   "AND contact_id = $2 AND number_id = $3 AND kind = 'message' AND purpose = "
                   "'marketing' AND state IN ('pending', 'sending', 'sent')), l AS (SELECT "
                   "max(id) AS id, max(created_at_ms) AS at FROM m WHERE notice = 1) SELECT "
                   "COALESCE(l.at, 0), l.id IS NOT NULL, (SELECT count(*) FROM m WHERE m.id > "
                   "COALESCE(l.id, 0)) FROM l",
                   "reading the opt-out notice's history", account_id, contact_id, number_id));
    NoticeHistory h;
    if (r.rows() == 0) return h;
    h.last_notice_ms = r.Int(0, 0);
    h.ever = r.Bool(0, 1);
    h.since_notice = r.Int(0, 2);
    return h;
  });
}

Result<std::optional<OutboxItem>> PgStore::FindOutboxByIdempotencyKey(int64_t account_id,
                                                                      const std::string& key) {
  if (key.empty()) return std::optional<OutboxItem>();
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<OutboxItem>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = "
                                     "$1 AND idempotency_key = $2 AND idempotency_key <> ''",
                                     "finding outbox item by idempotency key", account_id, key));
    if (r.rows() == 0) return std::optional<OutboxItem>();
    SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(r, 0));
    return std::optional<OutboxItem>(std::move(o));
  });
}

// ---- Outbox dispatch ----------------------------------------------------------------------
// The state machine and why it sends each reply at most once: docs/storage.md, "The outbox".

Result<ClaimedOutbox> PgStore::ClaimOutbox(const OutboxClaim& claim) {
  SMSC_RETURN_IF_ERROR(CheckOutboxClaim(claim));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<ClaimedOutbox> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    ClaimedOutbox out;
    const int64_t until = claim.now_ms + claim.lease_ms;
    const int64_t now_us = claim.now_ms * 1000;
    // The service's own replies first (outbox_due_replies holds only them), then everything.
    bool replies_only = true;
    while (static_cast<int>(out.items.size()) < claim.limit &&
           static_cast<int>(out.retired.size() + out.deferred.size()) < kMaxRetiredPerClaim) {
      // SKIP LOCKED: rows another claimer has selected (and is about to mark) are passed over,
      // not waited for, so concurrent dispatchers get disjoint items. The same statement reads
      // each item's contact's status on its number and whether an event changed it after the
      // item was queued, from one snapshot, and its number's quiet hours, kind and rate; it
      // passes over the items of numbers that may not send yet. The rows stay locked until the
      // commit.
      std::string sql =
          "SELECT " SMSC_OUTBOX_COLS_O
          ", COALESCE((SELECT s.status FROM statuses s WHERE s.account_id = "
          "o.account_id AND s.contact_id = o.contact_id AND s.number_id = "
          "o.number_id), 'not_specified'), EXISTS (SELECT 1 FROM events e WHERE "
          "e.account_id = o.account_id AND e.contact_id = o.contact_id AND "
          "e.number_id = o.number_id AND e.id > o.queued_after_event AND e.from_status <> "
          "e.to_status), COALESCE(CASE WHEN n.quiet_hours = '\"account\"' THEN a.quiet_hours "
          "ELSE n.quiet_hours END, ''), COALESCE(n.kind, ''), COALESCE(n.rate_mmps, 0) FROM "
          "outbox o LEFT JOIN sender_numbers n ON n.id = o.number_id LEFT JOIN accounts a ON "
          "a.id = n.account_id WHERE o.state = 'pending'";
      if (replies_only) sql += " AND o.kind <> 'message'";
      sql +=
          " AND o.next_attempt_at_ms <= $1 AND COALESCE(n.next_send_at_us, 0) <= $3 ORDER BY "
          "o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED";
      SMSC_ASSIGN_OR_RETURN(Res r,
                            c.Q(sql, "selecting due outbox items", claim.now_ms,
                                int64_t{claim.limit - static_cast<int>(out.items.size())}, now_us));
      if (r.rows() == 0) {
        if (!replies_only) break;
        replies_only = false;
        continue;
      }
      const size_t handled = out.items.size() + out.retired.size() + out.deferred.size();
      for (int i = 0; i < r.rows(); ++i) {
        SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(r, i));
        constexpr int k = kOutboxColumnCount;  // the columns after the item's
        auto status = ParseSubscriptionStatus(r.Text(i, k));
        if (!status.ok()) return BadColumn(status, "statuses", o.contact_id);
        ClaimFate fate = ClaimFateOf(o, *status, r.Bool(i, k + 1), r.Text(i, k + 2), claim);
        std::optional<Retirement>& retire = fate.retire;
        if (fate.defer_until_ms) {
          SMSC_RETURN_IF_ERROR(c.Q("UPDATE outbox SET next_attempt_at_ms = $2 WHERE id = $1",
                                   "deferring outbox item " + std::to_string(o.id), o.id,
                                   *fate.defer_until_ms)
                                   .status());
          o.next_attempt_at_ms = *fate.defer_until_ms;
          out.deferred.push_back(std::move(o));
          continue;
        }
        if (retire) {
          SMSC_RETURN_IF_ERROR(c.Q("UPDATE outbox SET state = $2, last_error = $3 WHERE id = $1",
                                   "retiring outbox item " + std::to_string(o.id), o.id,
                                   OutboxStateName(retire->state), retire->reason)
                                   .status());
          o.state = retire->state;
          o.last_error = std::move(retire->reason);
          out.retired.push_back(std::move(o));
          continue;
        }
        const int64_t interval_us = RateIntervalUsOf(r.Text(i, k + 3), r.Int(i, k + 4));
        if (interval_us > 0) {
          // The number's next slot, taken only if it has come by the number's row as it is now
          // (the snapshot above may be older) and no other claimer holds the row (SKIP LOCKED:
          // that claimer is taking the slot, and waiting for it could deadlock two claimers
          // that take two numbers in opposite orders). Otherwise the item stays pending.
          SMSC_ASSIGN_OR_RETURN(
              Res slot,
              c.Q("UPDATE sender_numbers SET next_send_at_us = GREATEST(next_send_at_us, $2) + "
                  "$3 WHERE id = (SELECT id FROM sender_numbers WHERE id = $1 AND "
                  "next_send_at_us <= $2 FOR UPDATE SKIP LOCKED)",
                  "taking number " + std::to_string(o.number_id) + "'s next sending slot",
                  o.number_id, now_us, interval_us));
          if (slot.Affected() == 0) continue;
        }
        SMSC_RETURN_IF_ERROR(c.Q("UPDATE outbox SET state = 'sending', lease_owner = $2, "
                                 "lease_until_ms = $3 WHERE id = $1",
                                 "claiming outbox item " + std::to_string(o.id), o.id, claim.owner,
                                 until)
                                 .status());
        o.state = OutboxState::kSending;
        o.lease_owner = claim.owner;
        o.lease_until_ms = until;
        out.items.push_back(std::move(o));
      }
      // Only items whose number's slot another claimer holds: claim again later, not here.
      if (out.items.size() + out.retired.size() + out.deferred.size() == handled) {
        if (!replies_only) break;
        replies_only = false;
      }
    }
    // When a number that is waiting for its rate may send again (a number with nothing to
    // send only makes a dispatcher look once for nothing).
    SMSC_ASSIGN_OR_RETURN(Res next,
                          c.Q("SELECT COALESCE(MIN(next_send_at_us), 0) FROM sender_numbers WHERE "
                              "next_send_at_us > $1",
                              "reading the next sending slot", now_us));
    if (next.Int(0, 0) > 0) out.next_rate_slot_ms = RateSlotMs(next.Int(0, 0));
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return out;
  });
}

Status PgStore::CompleteOutbox(const OutboxCompletion& cpl) {
  SMSC_RETURN_IF_ERROR(CheckOutboxCompletion(cpl));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    // next_attempt_at_ms only moves for a retry; sent_at_ms is only set when sent. The lease
    // owner stays as a record of which dispatcher finished the item.
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("UPDATE outbox SET state = $3, attempts = $4, last_error = $5, "
                   "next_attempt_at_ms = CASE WHEN $3 = 'pending' THEN $6::bigint ELSE "
                   "next_attempt_at_ms END, provider_message_id = $7, sent_at_ms = CASE WHEN $3 "
                   "= 'sent' THEN $8::bigint ELSE 0 END, lease_until_ms = 0 WHERE id = $1 AND "
                   "state = 'sending' AND lease_owner = $2",
                   "completing outbox item " + std::to_string(cpl.id), cpl.id, cpl.lease_owner,
                   OutboxStateName(cpl.state), int64_t{cpl.attempts}, cpl.last_error,
                   cpl.next_attempt_at_ms, cpl.provider_message_id, cpl.at_ms));
    if (r.Affected() > 0) return Status::Ok();
    SMSC_ASSIGN_OR_RETURN(Res s, c.Q("SELECT state, lease_owner FROM outbox WHERE id = $1",
                                     "reading outbox item", cpl.id));
    if (s.rows() == 0) return NotFound("outbox item " + std::to_string(cpl.id) + " not found");
    return Aborted("outbox item " + std::to_string(cpl.id) + " is no longer leased to " +
                   cpl.lease_owner + " (state " + s.Text(0, 0) + ", lease owner " +
                   (s.Text(0, 1).empty() ? std::string("none") : s.Text(0, 1)) + ")");
  });
}

Result<std::optional<DeliveryRecorded>> PgStore::RecordDelivery(const DeliveryUpdate& u) {
  SMSC_RETURN_IF_ERROR(CheckDeliveryUpdate(u));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<DeliveryRecorded>> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // The row stays locked until the commit: of two reports at once, the second one sees
    // what the first recorded. outbox_by_provider_message_id finds it.
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c.Q("SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = $1 AND "
            "provider_message_id = $2 ORDER BY id DESC LIMIT 1 "
            "FOR UPDATE",
            "finding the outbox item of a delivery report", u.account_id, u.provider_message_id));
    if (r.rows() == 0) return std::optional<DeliveryRecorded>();
    DeliveryRecorded out;
    SMSC_ASSIGN_OR_RETURN(out.item, ReadOutbox(r, 0));
    out.changed = ApplyDelivery(u, &out.item);
    if (!out.changed) return std::optional<DeliveryRecorded>(std::move(out));
    SMSC_RETURN_IF_ERROR(c.Q("UPDATE outbox SET delivery = $2, delivery_error = $3, "
                             "delivery_updated_at_ms = $4 WHERE id = $1",
                             "recording the delivery of outbox item " + std::to_string(out.item.id),
                             out.item.id, std::string(DeliveryStatusName(*out.item.delivery)),
                             out.item.delivery_error, out.item.delivery_updated_at_ms)
                             .status());
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return std::optional<DeliveryRecorded>(std::move(out));
  });
}

Result<int64_t> PgStore::ExpireOutboxLeases(int64_t now_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    // The dispatcher that held the lease died (or stalled) while the request may have reached
    // the provider: the only choice that never sends a reply twice is to stop here.
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("UPDATE outbox SET state = 'dead', last_error = $2, "
                                     "attempts = attempts + 1, lease_until_ms = 0 WHERE state = "
                                     "'sending' AND lease_until_ms < $1",
                                     "expiring outbox leases", now_ms, kInterruptedError));
    return r.Affected();
  });
}

Result<std::vector<std::pair<OutboxState, int64_t>>> PgStore::CountOutbox() {
  return pg::WithConn(
      impl_->pool, [&](Conn& c) -> Result<std::vector<std::pair<OutboxState, int64_t>>> {
        SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT state, COUNT(*) FROM outbox GROUP BY state",
                                         "counting outbox items"));
        std::vector<std::pair<OutboxState, int64_t>> out;
        for (OutboxState st : AllOutboxStates()) out.emplace_back(st, 0);
        for (int i = 0; i < r.rows(); ++i) {
          auto state = ParseOutboxState(r.Text(i, 0));
          if (!state.ok()) return BadColumn(state, "outbox", 0);
          for (auto& [st, n] : out) {
            if (st == *state) n = r.Int(i, 1);
          }
        }
        return out;
      });
}
}  // namespace smsconsent
