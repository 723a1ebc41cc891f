// The column lists of the stores' SELECTs, in the order their row readers expect. Both
// backends have the same tables and column names (src/store/transfer.cc lists them), so one
// list serves both. Used by src/store/sqlite/ and src/store/postgres/ only.
#pragma once

#define SMSC_ACCOUNT_COLS                                                           \
  "id, name, marketing_sms_access, sms_short_code, default_region, opt_out_scope, " \
  "created_at_ms, reply_sender, quiet_hours"
#define SMSC_NUMBER_COLS                                                                         \
  "id, account_id, kind, number, country, business_name, keywords_json, reply_opt_in, "          \
  "reply_opt_out, reply_help, opt_in_confirmation, created_at_ms, quiet_hours, opt_out_notice, " \
  "double_opt_in, reply_confirmation_request, rate_mmps, frequency_cap"
#define SMSC_CONTACT_COLS "id, account_id, phone, name, email, created_at_ms, properties"
#define SMSC_JOB_COLS                                                                    \
  "id, account_id, kind, idempotency_key, request, state, total, done, cursor, result, " \
  "error, lease_owner, lease_until_ms, input_chunks, created_at_ms, updated_at_ms, "     \
  "finished_at_ms"
#define SMSC_STATUS_COLS "contact_id, number_id, status, self_opted_out, source, updated_at_ms"
#define SMSC_EVENT_COLS                                                                 \
  "id, account_id, seq, contact_id, phone, number_id, sender, from_status, to_status, " \
  "source, actor, at_ms, evidence, prev_hash, hash, format, batch_hash, nth"
#define SMSC_INBOUND_COLS                                                             \
  "id, account_id, provider, provider_message_id, from_phone, to_number, number_id, " \
  "contact_id, body, received_at_ms, decision"
#define SMSC_OUTBOX_COLS                                                              \
  "id, account_id, number_id, contact_id, to_phone, from_number, body, kind, state, " \
  "attempts, last_error, inbound_id, created_at_ms, next_attempt_at_ms, channel, "    \
  "provider_message_id, lease_owner, lease_until_ms, sent_at_ms, queued_at_seq, "     \
  "queued_after_event, purpose, send_at_ms, idempotency_key, request_hash, notice, "  \
  "delivery, delivery_error, delivery_updated_at_ms"
// The outbox columns qualified by the alias o (both stores' ClaimOutbox read them beside the
// number's row).
#define SMSC_OUTBOX_COLS_O                                                                     \
  "o.id, o.account_id, o.number_id, o.contact_id, o.to_phone, o.from_number, o.body, o.kind, " \
  "o.state, o.attempts, o.last_error, o.inbound_id, o.created_at_ms, o.next_attempt_at_ms, "   \
  "o.channel, o.provider_message_id, o.lease_owner, o.lease_until_ms, o.sent_at_ms, "          \
  "o.queued_at_seq, o.queued_after_event, o.purpose, o.send_at_ms, o.idempotency_key, "        \
  "o.request_hash, o.notice, o.delivery, o.delivery_error, o.delivery_updated_at_ms"

namespace smsconsent {
// How many columns SMSC_OUTBOX_COLS names: a SELECT that reads more after them starts there.
inline constexpr int kOutboxColumnCount = 29;
}  // namespace smsconsent
#define SMSC_USER_COLS \
  "id, account_id, email, name, role, password_hash, created_at_ms, updated_at_ms"
#define SMSC_SESSION_COLS \
  "token_hash, user_id, account_id, csrf_token, created_at_ms, expires_at_ms, last_seen_ms"
// A review item (alias r) with what it shows of its inbound message (alias m).
#define SMSC_REVIEW_COLS                                                                      \
  "r.id, r.account_id, r.inbound_id, r.contact_id, r.number_id, r.rule, r.explanation, "      \
  "r.state, r.created_at_ms, r.reviewed_by, r.reviewed_at_ms, r.note, m.body, m.from_phone, " \
  "m.to_number, m.received_at_ms"
#define SMSC_REVIEW_FROM " FROM review_items r JOIN inbound_messages m ON m.id = r.inbound_id"
