// The row readers of both stores: each turns a row of a SELECT that names its table's columns
// (store/store_columns.h, in that order) into the domain type. `Row` is a backend's row: it
// reads column `col` (0-based) with Int(col), Text(col) and Bool(col), NULL as 0 or "". Used
// by src/store/sqlite/ and src/store/postgres/ only.
#pragma once

#include <string>
#include <utility>

#include "core/consent.h"
#include "store/store.h"
#include "store/store_rows.h"

namespace smsconsent::store_rows {

template <typename Row>
Result<Account> ReadAccount(const Row& s) {
  Account a;
  a.id = s.Int(0);
  a.name = s.Text(1);
  a.marketing_sms_access = s.Bool(2);
  a.sms_short_code = s.Bool(3);
  a.default_region = s.Text(4);
  auto scope = ParseOptOutScope(s.Text(5));
  if (!scope.ok()) return BadColumn(scope, "accounts", a.id);
  a.opt_out_scope = *scope;
  a.created_at_ms = s.Int(6);
  a.reply_sender = s.Text(7);
  auto quiet = ParseQuietHoursPolicy(s.Text(8));
  if (!quiet.ok()) return BadColumn(quiet, "accounts", a.id);
  a.quiet_hours = *quiet;
  return a;
}

template <typename Row>
Result<SenderNumber> ReadNumber(const Row& s) {
  SenderNumber n;
  n.id = s.Int(0);
  n.account_id = s.Int(1);
  auto kind = ParseNumberKind(s.Text(2));
  if (!kind.ok()) return BadColumn(kind, "sender_numbers", n.id);
  n.kind = *kind;
  n.number = s.Text(3);
  n.country = s.Text(4);
  n.business_name = s.Text(5);
  auto keywords = KeywordsFromJson(s.Text(6));
  if (!keywords.ok()) return BadColumn(keywords, "sender_numbers", n.id);
  n.keywords = std::move(keywords).value();
  n.replies.opt_in = s.Text(7);
  n.replies.opt_out = s.Text(8);
  n.replies.help = s.Text(9);
  n.opt_in_confirmation = s.Bool(10);
  n.created_at_ms = s.Int(11);
  auto quiet = ParseQuietHoursPolicy(s.Text(12));
  if (!quiet.ok()) return BadColumn(quiet, "sender_numbers", n.id);
  n.quiet_hours = *quiet;
  auto notice = ParseOptOutNotice(s.Text(13));
  if (!notice.ok()) return BadColumn(notice, "sender_numbers", n.id);
  n.opt_out_notice = *notice;
  n.double_opt_in = s.Bool(14);
  n.replies.confirmation_request = s.Text(15);
  n.rate_mmps = s.Int(16);
  auto cap = ParseFrequencyCap(s.Text(17));
  if (!cap.ok()) return BadColumn(cap, "sender_numbers", n.id);
  n.frequency_cap = *cap;
  return n;
}

template <typename Row>
Result<Job> ReadJob(const Row& s) {
  Job j;
  j.id = s.Int(0);
  j.account_id = s.Int(1);
  j.kind = s.Text(2);
  j.idempotency_key = s.Text(3);
  j.request = s.Text(4);
  auto state = ParseJobState(s.Text(5));
  if (!state.ok()) return BadColumn(state, "jobs", j.id);
  j.state = *state;
  j.total = s.Int(6);
  j.done = s.Int(7);
  j.cursor = s.Text(8);
  j.result = s.Text(9);
  j.error = s.Text(10);
  j.lease_owner = s.Text(11);
  j.lease_until_ms = s.Int(12);
  j.input_chunks = s.Int(13);
  j.created_at_ms = s.Int(14);
  j.updated_at_ms = s.Int(15);
  j.finished_at_ms = s.Int(16);
  return j;
}

template <typename Row>
Contact ReadContact(const Row& s) {
  Contact c;
  c.id = s.Int(0);
  c.account_id = s.Int(1);
  c.phone = s.Text(2);
  c.name = s.Text(3);
  c.email = s.Text(4);
  c.created_at_ms = s.Int(5);
  c.properties = s.Text(6);
  return c;
}

template <typename Row>
Result<StatusRow> ReadStatus(const Row& s) {
  StatusRow r;
  r.contact_id = s.Int(0);
  r.number_id = s.Int(1);
  auto status = ParseSubscriptionStatus(s.Text(2));
  if (!status.ok()) return BadColumn(status, "statuses", r.contact_id);
  r.state.status = *status;
  r.state.self_opted_out = s.Bool(3);
  auto source = ParseSource(s.Text(4));
  if (!source.ok()) return BadColumn(source, "statuses", r.contact_id);
  r.state.source = *source;
  r.state.updated_at_ms = s.Int(5);
  return r;
}

template <typename Row>
Result<ConsentEvent> ReadEvent(const Row& s) {
  ConsentEvent e;
  e.id = s.Int(0);
  e.account_id = s.Int(1);
  e.seq = s.Int(2);  // NULL (not integrated yet): 0
  e.contact_id = s.Int(3);
  e.phone = s.Text(4);
  e.number_id = s.Int(5);
  e.sender = s.Text(6);
  auto from = ParseSubscriptionStatus(s.Text(7));
  if (!from.ok()) return BadColumn(from, "events", e.id);
  e.from = *from;
  auto to = ParseSubscriptionStatus(s.Text(8));
  if (!to.ok()) return BadColumn(to, "events", e.id);
  e.to = *to;
  auto source = ParseSource(s.Text(9));
  if (!source.ok()) return BadColumn(source, "events", e.id);
  e.source = *source;
  e.actor = s.Text(10);
  e.at_ms = s.Int(11);
  e.evidence = s.Text(12);
  e.prev_hash = s.Text(13);
  e.hash = s.Text(14);
  e.format = static_cast<int>(s.Int(15));
  e.batch_hash = s.Text(16);
  e.nth = s.Int(17);
  return e;
}

template <typename Row>
InboundMessage ReadInbound(const Row& s) {
  InboundMessage m;
  m.id = s.Int(0);
  m.account_id = s.Int(1);
  m.provider = s.Text(2);
  m.provider_message_id = s.Text(3);
  m.from = s.Text(4);
  m.to = s.Text(5);
  m.number_id = s.Int(6);  // NULL reads as 0
  m.contact_id = s.Int(7);
  m.body = s.Text(8);
  m.received_at_ms = s.Int(9);
  m.decision = s.Text(10);
  return m;
}

template <typename Row>
Result<ReviewItem> ReadReview(const Row& s) {
  ReviewItem r;
  r.id = s.Int(0);
  r.account_id = s.Int(1);
  r.inbound_id = s.Int(2);
  r.contact_id = s.Int(3);
  r.number_id = s.Int(4);
  r.rule = s.Text(5);
  r.explanation = s.Text(6);
  auto state = ParseReviewState(s.Text(7));
  if (!state.ok()) return BadColumn(state, "review_items", r.id);
  r.state = *state;
  r.created_at_ms = s.Int(8);
  r.reviewed_by = s.Text(9);
  r.reviewed_at_ms = s.Int(10);
  r.note = s.Text(11);
  r.body = s.Text(12);
  r.from = s.Text(13);
  r.to = s.Text(14);
  r.received_at_ms = s.Int(15);
  return r;
}

template <typename Row>
Result<OutboxItem> ReadOutbox(const Row& s) {
  OutboxItem o;
  o.id = s.Int(0);
  o.account_id = s.Int(1);
  o.number_id = s.Int(2);
  o.contact_id = s.Int(3);
  o.to = s.Text(4);
  o.from = s.Text(5);
  o.body = s.Text(6);
  auto kind = ParseReplyKind(s.Text(7));
  if (!kind.ok()) return BadColumn(kind, "outbox", o.id);
  o.kind = *kind;
  auto state = ParseOutboxState(s.Text(8));
  if (!state.ok()) return BadColumn(state, "outbox", o.id);
  o.state = *state;
  o.attempts = static_cast<int>(s.Int(9));
  o.last_error = s.Text(10);
  o.inbound_id = s.Int(11);
  o.created_at_ms = s.Int(12);
  o.next_attempt_at_ms = s.Int(13);
  o.channel = s.Text(14);
  o.provider_message_id = s.Text(15);
  o.lease_owner = s.Text(16);
  o.lease_until_ms = s.Int(17);
  o.sent_at_ms = s.Int(18);
  o.queued_at_seq = s.Int(19);
  o.queued_after_event = s.Int(20);
  if (o.kind == ReplyKind::kMessage) {
    auto purpose = ParsePurpose(s.Text(21));
    if (!purpose.ok()) return BadColumn(purpose, "outbox", o.id);
    o.purpose = *purpose;
  }
  o.send_at_ms = s.Int(22);
  o.idempotency_key = s.Text(23);
  o.request_hash = s.Text(24);
  o.notice = s.Int(25) != 0;
  if (const std::string delivery = s.Text(26); !delivery.empty()) {
    auto status = ParseDeliveryStatus(delivery);
    if (!status.ok()) return BadColumn(status, "outbox", o.id);
    o.delivery = *status;
  }
  o.delivery_error = s.Text(27);
  o.delivery_updated_at_ms = s.Int(28);
  return o;
}

template <typename Row>
Result<User> ReadUser(const Row& s) {
  User u;
  u.id = s.Int(0);
  u.account_id = s.Int(1);
  u.email = s.Text(2);
  u.name = s.Text(3);
  auto role = ParseStaffRole(s.Text(4));
  if (!role.ok()) return BadColumn(role, "users", u.id);
  u.role = *role;
  u.password_hash = s.Text(5);
  u.created_at_ms = s.Int(6);
  u.updated_at_ms = s.Int(7);
  return u;
}

template <typename Row>
StaffSession ReadSession(const Row& s) {
  StaffSession x;
  x.token_hash = s.Text(0);
  x.user_id = s.Int(1);
  x.account_id = s.Int(2);
  x.csrf_token = s.Text(3);
  x.created_at_ms = s.Int(4);
  x.expires_at_ms = s.Int(5);
  x.last_seen_ms = s.Int(6);
  return x;
}

}  // namespace smsconsent::store_rows
