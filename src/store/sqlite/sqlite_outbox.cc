// SqliteStore's inbound messages, review items, and the outbox: listing and dispatch
// (ClaimOutbox, CompleteOutbox, ExpireOutboxLeases, CountOutbox).
#include <sqlite3.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

namespace smsconsent {

using namespace sqlite_detail;

// ---- Inbound and outbox -------------------------------------------------------------------

Result<std::optional<InboundMessage>> SqliteStore::FindInbound(
    int64_t account_id, const std::string& provider, const std::string& provider_message_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_INBOUND_COLS
                                                " FROM inbound_messages WHERE account_id = ?1 "
                                                "AND provider = ?2 AND provider_message_id = ?3"));
  s.Bind(1, account_id).Bind(2, provider).Bind(3, provider_message_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding inbound message"));
  if (!row) return std::optional<InboundMessage>();
  return std::optional<InboundMessage>(ReadInbound(s));
}

Result<std::vector<InboundMessage>> SqliteStore::ListInbound(int64_t account_id,
                                                             const InboundQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  ReadLease reader = impl_->Read(mu_);
  // ?1 account, ?2 cursor, ?3 limit, ?4 contact, ?5 number. The UNIQUE (account_id, id) index
  // gives the order; with a contact, inbound_messages_by_contact (whose rows end in the id)
  // does. A number filter walks the account's messages newest first.
  std::string sql = "SELECT " SMSC_INBOUND_COLS " FROM inbound_messages WHERE account_id = ?1";
  if (q.before_id > 0) sql += " AND id < ?2";
  if (q.contact_id) sql += " AND contact_id = ?4";
  if (q.number_id) sql += " AND number_id = ?5";
  sql += " ORDER BY id DESC LIMIT ?3";
  if (q.contact_id) SMSC_RETURN_IF_ERROR(reader->ContactInAccount(account_id, *q.contact_id));
  if (q.number_id) SMSC_RETURN_IF_ERROR(reader->NumberInAccount(account_id, *q.number_id));
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(3, int64_t{q.limit});
  if (q.before_id > 0) s.Bind(2, q.before_id);
  if (q.contact_id) s.Bind(4, *q.contact_id);
  if (q.number_id) s.Bind(5, *q.number_id);
  std::vector<InboundMessage> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing inbound messages"));
    if (!row) break;
    out.push_back(ReadInbound(s));
  }
  return out;
}

// ---- Review items ----------------------------------------------------------------------------

Result<std::vector<ReviewItem>> SqliteStore::ListReviews(int64_t account_id, const ReviewQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  // ?1 account, ?2 cursor, ?3 limit, ?4 state: review_items_by_account_state gives the order.
  std::string sql =
      "SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM " WHERE r.account_id = ?1 AND r.id > ?2";
  if (q.state) sql += " AND r.state = ?4";
  sql += " ORDER BY r.id LIMIT ?3";
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (q.state) s.Bind(4, ReviewStateName(*q.state));
  std::vector<ReviewItem> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing review items"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(ReviewItem r, ReadReview(s));
    out.push_back(std::move(r));
  }
  return out;
}

Result<ReviewItem> SqliteStore::GetReview(int64_t account_id, int64_t id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM
                                                " WHERE r.account_id = ?1 AND r.id = ?2"));
  s.Bind(1, account_id).Bind(2, id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading review item"));
  if (!row) return ReviewNotFound(account_id, id);
  return ReadReview(s);
}

Result<ReviewItem> SqliteStore::ResolveReview(int64_t account_id, const ReviewResolution& r) {
  SMSC_RETURN_IF_ERROR(CheckReviewResolution(r));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // Only an open item changes: of two resolutions, the second finds it closed.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("UPDATE review_items SET state = ?3, reviewed_by = ?4, "
                               "reviewed_at_ms = ?5, note = ?6 WHERE account_id = ?1 AND id = ?2 "
                               "AND state = 'open'"));
    s.Bind(1, account_id)
        .Bind(2, r.id)
        .Bind(3, ReviewStateName(r.state))
        .Bind(4, r.reviewed_by)
        .Bind(5, r.reviewed_at_ms)
        .Bind(6, r.note);
    SMSC_RETURN_IF_ERROR(s.Run("resolving review item " + std::to_string(r.id)));
  }
  const bool changed = sqlite3_changes(impl_->db.get()) == 1;
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT " SMSC_REVIEW_COLS SMSC_REVIEW_FROM
                                               " WHERE r.account_id = ?1 AND r.id = ?2"));
  s.Bind(1, account_id).Bind(2, r.id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading review item"));
  if (!row) return ReviewNotFound(account_id, r.id);
  SMSC_ASSIGN_OR_RETURN(ReviewItem stored, ReadReview(s));
  if (!changed) return ReviewNotOpen(stored);
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return stored;
}

Result<int64_t> SqliteStore::CountOpenReviews() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT COUNT(*) FROM review_items WHERE state = 'open'"));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting open review items"));
  return row ? s.Int(0) : 0;
}

Result<std::vector<OutboxItem>> SqliteStore::ListOutbox(int64_t account_id, const OutboxQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  constexpr size_t kMaxInboundIds = 10'000;
  if (q.inbound_ids && q.inbound_ids->size() > kMaxInboundIds) {
    return InvalidArgument("at most " + std::to_string(kMaxInboundIds) +
                           " inbound message ids per outbox query");
  }
  if (q.inbound_ids && q.inbound_ids->empty()) return std::vector<OutboxItem>();
  // ?1 account, ?2 after, ?3 limit, ?4 before, ?5 inbound ids (a JSON array), ?6 contact,
  // ?7 sent from, ?8 sent until, ?9 number, ?10 kind, ?11… states. One state (IN with one value is
  // an equality) walks outbox_by_account_state in id order; inbound ids look up outbox_by_inbound,
  // a contact outbox_by_contact.
  std::string sql = "SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = ?1 AND id > ?2";
  if (q.before_id > 0) sql += " AND id < ?4";
  if (q.inbound_ids) sql += " AND inbound_id IN (SELECT value FROM json_each(?5))";
  if (q.contact_id) sql += " AND contact_id = ?6";
  if (q.sent_from_ms) sql += " AND sent_at_ms >= ?7";
  if (q.sent_until_ms) sql += " AND sent_at_ms <= ?8";
  if (q.number_id) sql += " AND number_id = ?9";
  if (q.kind) sql += " AND kind = ?10";
  std::vector<OutboxState> states;
  for (OutboxState st : q.states) {
    if (std::find(states.begin(), states.end(), st) == states.end()) states.push_back(st);
  }
  if (!states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < states.size(); ++i) {
      sql += (i ? ", ?" : "?") + std::to_string(11 + i);
    }
    sql += ")";
  }
  sql += q.newest_first ? " ORDER BY id DESC LIMIT ?3" : " ORDER BY id LIMIT ?3";
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (q.before_id > 0) s.Bind(4, q.before_id);
  if (q.inbound_ids) s.Bind(5, nlohmann::json(*q.inbound_ids).dump());
  if (q.contact_id) s.Bind(6, *q.contact_id);
  if (q.sent_from_ms) s.Bind(7, *q.sent_from_ms);
  if (q.sent_until_ms) s.Bind(8, *q.sent_until_ms);
  if (q.number_id) s.Bind(9, *q.number_id);
  if (q.kind) s.Bind(10, std::string(ReplyKindName(*q.kind)));
  for (size_t i = 0; i < states.size(); ++i) {
    s.Bind(static_cast<int>(11 + i), OutboxStateName(states[i]));
  }
  std::vector<OutboxItem> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing outbox"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(s));
    out.push_back(std::move(o));
  }
  return out;
}

Result<OutboxItem> SqliteStore::GetOutboxItem(int64_t account_id, int64_t id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_OUTBOX_COLS
                                                " FROM outbox WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, id).Bind(2, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading outbox item"));
  if (!row) {
    return NotFound("outbox item " + std::to_string(id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadOutbox(s);
}

Result<std::vector<int64_t>> SqliteStore::ListMarketingDueTimes(int64_t account_id,
                                                                int64_t contact_id,
                                                                int64_t number_id, int64_t from_ms,
                                                                int64_t to_ms) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT next_attempt_at_ms FROM outbox WHERE account_id = ?1 AND "
                              "contact_id = ?2 AND number_id = ?3 AND kind = 'message' AND "
                              "purpose = 'marketing' AND state IN ('pending', 'sending', 'sent') "
                              "AND next_attempt_at_ms > ?4 AND next_attempt_at_ms < ?5 ORDER BY "
                              "next_attempt_at_ms LIMIT ?6"));
  s.Bind(1, account_id)
      .Bind(2, contact_id)
      .Bind(3, number_id)
      .Bind(4, from_ms)
      .Bind(5, to_ms)
      .Bind(6, int64_t{kMaxCapRows});
  std::vector<int64_t> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading marketing due times"));
    if (!row) break;
    out.push_back(s.Int(0));
  }
  return out;
}

Result<NoticeHistory> SqliteStore::GetNoticeHistory(int64_t account_id, int64_t contact_id,
                                                    int64_t number_id) {
  ReadLease reader = impl_->Read(mu_);
  // The last message that carried the notice, and the marketing messages after it (all of them
  // when none did), from outbox_by_contact: a contact has few items. The same statement as
  // PostgreSQL's.
  SMSC_ASSIGN_OR_RETURN(
      Stmt s,
      reader->Prepare("WITH m AS (SELECT id, created_at_ms, notice FROM outbox WHERE account_id = "
                      "?1 AND contact_id = ?2 AND number_id = ?3 AND kind = 'message' AND "
                      "purpose = 'marketing' AND state IN ('pending', 'sending', 'sent')), l AS "
                      "(SELECT max(id) AS id, max(created_at_ms) AS at FROM m WHERE notice = 1) "
                      "SELECT COALESCE(l.at, 0), l.id IS NOT NULL, (SELECT count(*) FROM m WHERE "
                      "m.id > COALESCE(l.id, 0)) FROM l"));
  s.Bind(1, account_id).Bind(2, contact_id).Bind(3, number_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the opt-out notice's history"));
  NoticeHistory h;
  if (!row) return h;
  h.last_notice_ms = s.Int(0);
  h.ever = s.Bool(1);
  h.since_notice = s.Int(2);
  return h;
}

Result<std::optional<OutboxItem>> SqliteStore::FindOutboxByIdempotencyKey(int64_t account_id,
                                                                          const std::string& key) {
  if (key.empty()) return std::optional<OutboxItem>();
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = ?1 AND "
                              "idempotency_key = ?2 AND idempotency_key <> ''"));
  s.Bind(1, account_id).Bind(2, key);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding outbox item by idempotency key"));
  if (!row) return std::optional<OutboxItem>();
  SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(s));
  return std::optional<OutboxItem>(std::move(o));
}

// ---- Outbox dispatch ----------------------------------------------------------------------
// The state machine and why it sends each reply at most once: docs/storage.md, "The outbox".

Result<ClaimedOutbox> SqliteStore::ClaimOutbox(const OutboxClaim& claim) {
  SMSC_RETURN_IF_ERROR(CheckOutboxClaim(claim));
  std::lock_guard<std::mutex> lock(mu_);
  // The write lock is taken before the SELECT, so no other connection (or process) can claim
  // the same rows, or change a contact's status or a number's next send time, between our read
  // and our update: each item is checked against the status as it is when the item is claimed.
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  ClaimedOutbox out;
  const int64_t until = claim.now_ms + claim.lease_ms;
  const int64_t now_us = claim.now_ms * 1000;
  // The service's own replies first (outbox_due_replies holds only them), then everything.
  bool replies_only = true;
  while (static_cast<int>(out.items.size()) < claim.limit &&
         static_cast<int>(out.retired.size() + out.deferred.size()) < kMaxRetiredPerClaim) {
    // Each item with its contact's status on its number now, whether an event changed that
    // status after the item was queued (events_by_contact: the pair's events past its seq),
    // its number's quiet hours, kind and rate; only items whose number may send now.
    std::vector<OutboxItem> due;
    std::vector<std::pair<SubscriptionStatus, bool>> contact_now;
    std::vector<std::string> quiet_hours;
    std::vector<int64_t> intervals;
    {
      // The number (and, for quiet hours "account", its account) is joined once per item.
      std::string sql =
          "SELECT " SMSC_OUTBOX_COLS_O
          ", COALESCE((SELECT s.status FROM statuses s WHERE s.account_id = "
          "o.account_id AND s.contact_id = o.contact_id AND s.number_id = "
          "o.number_id), 'not_specified'), EXISTS (SELECT 1 FROM events e WHERE "
          "e.account_id = o.account_id AND e.contact_id = o.contact_id AND "
          "e.number_id = o.number_id AND e.id > o.queued_after_event AND "
          "e.from_status <> e.to_status), COALESCE(CASE WHEN n.quiet_hours = '\"account\"' THEN "
          "a.quiet_hours ELSE n.quiet_hours END, ''), COALESCE(n.kind, ''), "
          "COALESCE(n.rate_mmps, 0) FROM outbox AS o";
      sql += replies_only ? " INDEXED BY outbox_due_replies" : " INDEXED BY outbox_due";
      sql +=
          " LEFT JOIN sender_numbers n ON n.id = o.number_id LEFT JOIN accounts a ON a.id = "
          "n.account_id WHERE o.state = 'pending'";
      if (replies_only) sql += " AND o.kind <> 'message'";
      sql +=
          " AND o.next_attempt_at_ms <= ?1 AND COALESCE(n.next_send_at_us, 0) <= ?3 ORDER BY "
          "o.id LIMIT ?2";
      SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare(sql));
      s.Bind(1, claim.now_ms)
          .Bind(2, int64_t{claim.limit - static_cast<int>(out.items.size())})
          .Bind(3, now_us);
      while (true) {
        SMSC_ASSIGN_OR_RETURN(bool row, s.Step("selecting due outbox items"));
        if (!row) break;
        SMSC_ASSIGN_OR_RETURN(OutboxItem o, ReadOutbox(s));
        constexpr int k = kOutboxColumnCount;  // the columns after the item's
        auto status = ParseSubscriptionStatus(s.Text(k));
        if (!status.ok()) return BadColumn(status, "statuses", o.contact_id);
        contact_now.emplace_back(*status, s.Int(k + 1) != 0);
        quiet_hours.push_back(s.Text(k + 2));
        intervals.push_back(RateIntervalUsOf(s.Text(k + 3), s.Int(k + 4)));
        due.push_back(std::move(o));
      }
    }
    if (due.empty()) {
      if (!replies_only) break;
      replies_only = false;
      continue;
    }
    const size_t handled = out.items.size() + out.retired.size() + out.deferred.size();
    for (size_t i = 0; i < due.size(); ++i) {
      OutboxItem& o = due[i];
      ClaimFate fate =
          ClaimFateOf(o, contact_now[i].first, contact_now[i].second, quiet_hours[i], claim);
      std::optional<Retirement>& retire = fate.retire;
      if (fate.defer_until_ms) {
        SMSC_ASSIGN_OR_RETURN(
            Stmt s, impl_->Prepare("UPDATE outbox SET next_attempt_at_ms = ?2 WHERE id = ?1"));
        s.Bind(1, o.id).Bind(2, *fate.defer_until_ms);
        SMSC_RETURN_IF_ERROR(s.Run("deferring outbox item " + std::to_string(o.id)));
        o.next_attempt_at_ms = *fate.defer_until_ms;
        out.deferred.push_back(std::move(o));
        continue;
      }
      if (retire) {
        SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE outbox SET state = ?2, last_error = "
                                                     "?3 WHERE id = ?1"));
        s.Bind(1, o.id).Bind(2, OutboxStateName(retire->state)).Bind(3, retire->reason);
        SMSC_RETURN_IF_ERROR(s.Run("retiring outbox item " + std::to_string(o.id)));
        o.state = retire->state;
        o.last_error = std::move(retire->reason);
        out.retired.push_back(std::move(o));
        continue;
      }
      if (intervals[i] > 0) {
        // The number's next slot, taken only if it has come (an earlier item of this claim may
        // have taken it): otherwise the item waits, and the next SELECT passes over its number.
        SMSC_ASSIGN_OR_RETURN(Stmt s,
                              impl_->Prepare("UPDATE sender_numbers SET next_send_at_us = "
                                             "MAX(next_send_at_us, ?2) + ?3 WHERE id = ?1 AND "
                                             "next_send_at_us <= ?2"));
        s.Bind(1, o.number_id).Bind(2, now_us).Bind(3, intervals[i]);
        SMSC_RETURN_IF_ERROR(
            s.Run("taking number " + std::to_string(o.number_id) + "'s next sending slot"));
        if (sqlite3_changes(impl_->db.get()) == 0) continue;
      }
      SMSC_ASSIGN_OR_RETURN(Stmt s,
                            impl_->Prepare("UPDATE outbox SET state = 'sending', lease_owner = ?2, "
                                           "lease_until_ms = ?3 WHERE id = ?1"));
      s.Bind(1, o.id).Bind(2, claim.owner).Bind(3, until);
      SMSC_RETURN_IF_ERROR(s.Run("claiming outbox item " + std::to_string(o.id)));
      o.state = OutboxState::kSending;
      o.lease_owner = claim.owner;
      o.lease_until_ms = until;
      out.items.push_back(std::move(o));
    }
    // Every item passed over (cannot happen with the write lock held; a guard against looping).
    if (out.items.size() + out.retired.size() + out.deferred.size() == handled) {
      if (!replies_only) break;
      replies_only = false;
    }
  }
  {
    // When a number that is waiting for its rate may send again (a number with nothing to
    // send only makes a dispatcher look once for nothing).
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT COALESCE(MIN(next_send_at_us), 0) FROM "
                                                 "sender_numbers WHERE next_send_at_us > ?1"));
    s.Bind(1, now_us);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the next sending slot"));
    if (row && s.Int(0) > 0) out.next_rate_slot_ms = RateSlotMs(s.Int(0));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Status SqliteStore::CompleteOutbox(const OutboxCompletion& c) {
  SMSC_RETURN_IF_ERROR(CheckOutboxCompletion(c));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // next_attempt_at_ms only moves for a retry; sent_at_ms is only set when sent. The lease
    // owner stays as a record of which dispatcher finished the item.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare(
                    "UPDATE outbox SET state = ?3, attempts = ?4, last_error = ?5, "
                    "next_attempt_at_ms = CASE WHEN ?3 = 'pending' THEN ?6 ELSE "
                    "next_attempt_at_ms END, provider_message_id = ?7, sent_at_ms = CASE WHEN ?3 "
                    "= 'sent' THEN ?8 ELSE 0 END, lease_until_ms = 0 WHERE id = ?1 AND state = "
                    "'sending' AND lease_owner = ?2"));
    s.Bind(1, c.id)
        .Bind(2, c.lease_owner)
        .Bind(3, OutboxStateName(c.state))
        .Bind(4, int64_t{c.attempts})
        .Bind(5, c.last_error)
        .Bind(6, c.next_attempt_at_ms)
        .Bind(7, c.provider_message_id)
        .Bind(8, c.at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("completing outbox item " + std::to_string(c.id)));
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("SELECT state, lease_owner FROM outbox WHERE id = ?1"));
    s.Bind(1, c.id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading outbox item"));
    if (!row) return NotFound("outbox item " + std::to_string(c.id) + " not found");
    return Aborted("outbox item " + std::to_string(c.id) + " is no longer leased to " +
                   c.lease_owner + " (state " + s.Text(0) + ", lease owner " +
                   (s.Text(1).empty() ? std::string("none") : s.Text(1)) + ")");
  }
  return txn.Commit();
}

Result<std::optional<DeliveryRecorded>> SqliteStore::RecordDelivery(const DeliveryUpdate& u) {
  SMSC_RETURN_IF_ERROR(store_rows::CheckDeliveryUpdate(u));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  DeliveryRecorded out;
  {
    // outbox_by_provider_message_id finds it.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("SELECT " SMSC_OUTBOX_COLS " FROM outbox WHERE account_id = ?1 AND "
                               "provider_message_id = ?2 ORDER BY id DESC "
                               "LIMIT 1"));
    s.Bind(1, u.account_id).Bind(2, u.provider_message_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding the outbox item of a delivery report"));
    if (!row) return std::optional<DeliveryRecorded>();
    SMSC_ASSIGN_OR_RETURN(out.item, ReadOutbox(s));
  }
  out.changed = store_rows::ApplyDelivery(u, &out.item);
  if (!out.changed) return std::optional<DeliveryRecorded>(std::move(out));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt s,
                          impl_->Prepare("UPDATE outbox SET delivery = ?2, delivery_error = "
                                         "?3, delivery_updated_at_ms = ?4 WHERE id = ?1"));
    s.Bind(1, out.item.id)
        .Bind(2, DeliveryStatusName(*out.item.delivery))
        .Bind(3, out.item.delivery_error)
        .Bind(4, out.item.delivery_updated_at_ms);
    SMSC_RETURN_IF_ERROR(
        s.Run("recording the delivery of outbox item " + std::to_string(out.item.id)));
  }
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return std::optional<DeliveryRecorded>(std::move(out));
}

Result<int64_t> SqliteStore::ExpireOutboxLeases(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    // The dispatcher that held the lease died (or stalled) while the request may have reached
    // the provider: the only choice that never sends a reply twice is to stop here. Counted as
    // an attempt, since one was made.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("UPDATE outbox SET state = 'dead', last_error = ?2, attempts = "
                               "attempts + 1, lease_until_ms = 0 WHERE state = 'sending' AND "
                               "lease_until_ms < ?1"));
    s.Bind(1, now_ms).Bind(2, kInterruptedError);
    SMSC_RETURN_IF_ERROR(s.Run("expiring outbox leases"));
  }
  const int64_t n = sqlite3_changes(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return n;
}

Result<std::vector<std::pair<OutboxState, int64_t>>> SqliteStore::CountOutbox() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        reader->Prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state"));
  std::vector<std::pair<OutboxState, int64_t>> out;
  for (OutboxState st : AllOutboxStates()) out.emplace_back(st, 0);
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting outbox items"));
    if (!row) break;
    auto state = ParseOutboxState(s.Text(0));
    if (!state.ok()) return BadColumn(state, "outbox", 0);
    for (auto& [st, n] : out) {
      if (st == *state) n = s.Int(1);
    }
  }
  return out;
}

}  // namespace smsconsent
