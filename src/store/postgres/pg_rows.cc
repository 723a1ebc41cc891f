// PgStore's row readers: one per table, each reading the columns of its SMSC_*_COLS list
// (store/store_columns.h) from a result row.
#include <utility>

#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Column lists and row readers --------------------------------------------------------
// Each SELECT names its columns (store/store_columns.h) in the order the matching reader
// expects.

namespace pg_detail {

Result<Account> ReadAccount(const Res& s, int i) {
  Account a;
  a.id = s.Int(i, 0);
  a.name = s.Text(i, 1);
  a.marketing_sms_access = s.Bool(i, 2);
  a.sms_short_code = s.Bool(i, 3);
  a.default_region = s.Text(i, 4);
  auto scope = ParseOptOutScope(s.Text(i, 5));
  if (!scope.ok()) return BadColumn(scope, "accounts", a.id);
  a.opt_out_scope = *scope;
  a.created_at_ms = s.Int(i, 6);
  a.reply_sender = s.Text(i, 7);
  return a;
}

Result<SenderNumber> ReadNumber(const Res& s, int i) {
  SenderNumber n;
  n.id = s.Int(i, 0);
  n.account_id = s.Int(i, 1);
  auto kind = ParseNumberKind(s.Text(i, 2));
  if (!kind.ok()) return BadColumn(kind, "sender_numbers", n.id);
  n.kind = *kind;
  n.number = s.Text(i, 3);
  n.country = s.Text(i, 4);
  n.business_name = s.Text(i, 5);
  auto keywords = KeywordsFromJson(s.Text(i, 6));
  if (!keywords.ok()) return BadColumn(keywords, "sender_numbers", n.id);
  n.keywords = std::move(keywords).value();
  n.replies.opt_in = s.Text(i, 7);
  n.replies.opt_out = s.Text(i, 8);
  n.replies.help = s.Text(i, 9);
  n.opt_in_confirmation = s.Bool(i, 10);
  n.created_at_ms = s.Int(i, 11);
  return n;
}

Result<Job> ReadJob(const Res& s, int i) {
  Job j;
  j.id = s.Int(i, 0);
  j.account_id = s.Int(i, 1);
  j.kind = s.Text(i, 2);
  j.idempotency_key = s.Text(i, 3);
  j.request = s.Text(i, 4);
  auto state = ParseJobState(s.Text(i, 5));
  if (!state.ok()) return BadColumn(state, "jobs", j.id);
  j.state = *state;
  j.total = s.Int(i, 6);
  j.done = s.Int(i, 7);
  j.cursor = s.Text(i, 8);
  j.result = s.Text(i, 9);
  j.error = s.Text(i, 10);
  j.lease_owner = s.Text(i, 11);
  j.lease_until_ms = s.Int(i, 12);
  j.input_chunks = s.Int(i, 13);
  j.created_at_ms = s.Int(i, 14);
  j.updated_at_ms = s.Int(i, 15);
  j.finished_at_ms = s.Int(i, 16);
  return j;
}

Contact ReadContact(const Res& s, int i) {
  Contact c;
  c.id = s.Int(i, 0);
  c.account_id = s.Int(i, 1);
  c.phone = s.Text(i, 2);
  c.name = s.Text(i, 3);
  c.email = s.Text(i, 4);
  c.created_at_ms = s.Int(i, 5);
  c.properties = s.Text(i, 6);
  return c;
}

// `col`: where the six status columns start.
Result<StatusRow> ReadStatus(const Res& s, int i, int col) {
  StatusRow r;
  r.contact_id = s.Int(i, col);
  r.number_id = s.Int(i, col + 1);
  auto status = ParseSubscriptionStatus(s.Text(i, col + 2));
  if (!status.ok()) return BadColumn(status, "statuses", r.contact_id);
  r.state.status = *status;
  r.state.self_opted_out = s.Bool(i, col + 3);
  auto source = ParseSource(s.Text(i, col + 4));
  if (!source.ok()) return BadColumn(source, "statuses", r.contact_id);
  r.state.source = *source;
  r.state.updated_at_ms = s.Int(i, col + 5);
  return r;
}

Result<ConsentEvent> ReadEvent(const Res& s, int i) {
  ConsentEvent e;
  e.id = s.Int(i, 0);
  e.account_id = s.Int(i, 1);
  e.seq = s.Int(i, 2);  // NULL (not integrated yet): 0
  e.contact_id = s.Int(i, 3);
  e.phone = s.Text(i, 4);
  e.number_id = s.Int(i, 5);
  e.sender = s.Text(i, 6);
  auto from = ParseSubscriptionStatus(s.Text(i, 7));
  if (!from.ok()) return BadColumn(from, "events", e.id);
  e.from = *from;
  auto to = ParseSubscriptionStatus(s.Text(i, 8));
  if (!to.ok()) return BadColumn(to, "events", e.id);
  e.to = *to;
  auto source = ParseSource(s.Text(i, 9));
  if (!source.ok()) return BadColumn(source, "events", e.id);
  e.source = *source;
  e.actor = s.Text(i, 10);
  e.at_ms = s.Int(i, 11);
  e.evidence = s.Text(i, 12);
  e.prev_hash = s.Text(i, 13);
  e.hash = s.Text(i, 14);
  e.format = static_cast<int>(s.Int(i, 15));
  e.batch_hash = s.Text(i, 16);
  e.nth = s.Int(i, 17);
  return e;
}

Result<ReviewItem> ReadReview(const Res& s, int i) {
  ReviewItem r;
  r.id = s.Int(i, 0);
  r.account_id = s.Int(i, 1);
  r.inbound_id = s.Int(i, 2);
  r.contact_id = s.Int(i, 3);
  r.number_id = s.Int(i, 4);
  r.rule = s.Text(i, 5);
  r.explanation = s.Text(i, 6);
  auto state = ParseReviewState(s.Text(i, 7));
  if (!state.ok()) return BadColumn(state, "review_items", r.id);
  r.state = *state;
  r.created_at_ms = s.Int(i, 8);
  r.reviewed_by = s.Text(i, 9);
  r.reviewed_at_ms = s.Int(i, 10);
  r.note = s.Text(i, 11);
  r.body = s.Text(i, 12);
  r.from = s.Text(i, 13);
  r.to = s.Text(i, 14);
  r.received_at_ms = s.Int(i, 15);
  return r;
}

InboundMessage ReadInbound(const Res& s, int i) {
  InboundMessage m;
  m.id = s.Int(i, 0);
  m.account_id = s.Int(i, 1);
  m.provider = s.Text(i, 2);
  m.provider_message_id = s.Text(i, 3);
  m.from = s.Text(i, 4);
  m.to = s.Text(i, 5);
  m.number_id = s.Int(i, 6);  // NULL reads as 0
  m.contact_id = s.Int(i, 7);
  m.body = s.Text(i, 8);
  m.received_at_ms = s.Int(i, 9);
  m.decision = s.Text(i, 10);
  return m;
}

Result<OutboxItem> ReadOutbox(const Res& s, int i) {
  OutboxItem o;
  o.id = s.Int(i, 0);
  o.account_id = s.Int(i, 1);
  o.number_id = s.Int(i, 2);
  o.contact_id = s.Int(i, 3);
  o.to = s.Text(i, 4);
  o.from = s.Text(i, 5);
  o.body = s.Text(i, 6);
  auto kind = ParseReplyKind(s.Text(i, 7));
  if (!kind.ok()) return BadColumn(kind, "outbox", o.id);
  o.kind = *kind;
  auto state = ParseOutboxState(s.Text(i, 8));
  if (!state.ok()) return BadColumn(state, "outbox", o.id);
  o.state = *state;
  o.attempts = static_cast<int>(s.Int(i, 9));
  o.last_error = s.Text(i, 10);
  o.inbound_id = s.Int(i, 11);
  o.created_at_ms = s.Int(i, 12);
  o.next_attempt_at_ms = s.Int(i, 13);
  o.channel = s.Text(i, 14);
  o.provider_message_id = s.Text(i, 15);
  o.lease_owner = s.Text(i, 16);
  o.lease_until_ms = s.Int(i, 17);
  o.sent_at_ms = s.Int(i, 18);
  o.queued_at_seq = s.Int(i, 19);
  o.queued_after_event = s.Int(i, 20);
  return o;
}

Result<User> ReadUser(const Res& s, int i) {
  User u;
  u.id = s.Int(i, 0);
  u.account_id = s.Int(i, 1);
  u.email = s.Text(i, 2);
  u.name = s.Text(i, 3);
  auto role = ParseStaffRole(s.Text(i, 4));
  if (!role.ok()) return BadColumn(role, "users", u.id);
  u.role = *role;
  u.password_hash = s.Text(i, 5);
  u.created_at_ms = s.Int(i, 6);
  u.updated_at_ms = s.Int(i, 7);
  return u;
}

StaffSession ReadSession(const Res& s, int i) {
  StaffSession x;
  x.token_hash = s.Text(i, 0);
  x.user_id = s.Int(i, 1);
  x.account_id = s.Int(i, 2);
  x.csrf_token = s.Text(i, 3);
  x.created_at_ms = s.Int(i, 4);
  x.expires_at_ms = s.Int(i, 5);
  x.last_seen_ms = s.Int(i, 6);
  return x;
}

}  // namespace pg_detail

}  // namespace smsconsent
