// What every ConsentStore backend checks, writes and reads the same way, whatever its SQL:
// argument checks, the JSON text of keyword configurations, LIKE patterns, and the messages
// of errors a caller sees. Used by src/store/sqlite/ and src/store/postgres/ only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/keywords.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent::store_rows {

// A stored enum name we cannot parse means the file was written by something else (or a
// newer version): report it, do not guess.
template <typename T>
Status BadColumn(const Result<T>& r, std::string_view table, int64_t id) {
  return Internal("stored " + std::string(table) + " row " + std::to_string(id) +
                  " is unreadable: " + r.status().message());
}

// The `keywords_json` column of a sender number: its KeywordConfig as a JSON object.
std::string KeywordsToJson(const KeywordConfig& k);
// Missing members keep their defaults so that older rows stay readable when fields are added.
Result<KeywordConfig> KeywordsFromJson(const std::string& text);
Status Aborted(std::string message);  // kAborted: a concurrent change; re-read and retry

// The outbox's `channel` column: sent through the provider's API, or in the webhook's response.
constexpr char kChannelApi[] = "api";
constexpr char kChannelResponse[] = "response";
// Why ExpireOutboxLeases gives up on an item (OutboxItem::last_error).
constexpr char kInterruptedError[] =
    "interrupted while sending; not retried so the reply is never sent twice";

// ---- Outbox claims (ClaimOutbox) ----
// The most items one claim cancels or expires before it returns, so that a long backlog of
// stale replies never holds the write lock for long; the dispatcher claims again for the rest.
constexpr int kMaxRetiredPerClaim = 100;
// kInvalidArgument unless the claim has a positive limit, an owner, a positive lease and
// positive maximum ages.
Status CheckOutboxClaim(const OutboxClaim& claim);
// The spacing of a number's items from what the claiming statement read of it (its kind's
// name, '' when the item's number is gone, and its rate_mmps): SendIntervalUs of its
// effective rate, or 0 for no number or an unspaced one (nothing to space).
int64_t RateIntervalUsOf(std::string_view number_kind, int64_t rate_mmps);
// ClaimedOutbox::next_rate_slot_ms from the earliest next send time (µs) of a waiting number.
int64_t RateSlotMs(int64_t next_send_at_us);
// What a claim does with a due pending item, from what the claiming statement read of its
// contact: nullopt to claim it (send it), else the final state (cancelled or expired) and the
// reason (DecidePendingReply).
struct Retirement {
  OutboxState state = OutboxState::kCancelled;
  std::string reason;
};
std::optional<Retirement> RetirementOf(const OutboxItem& item, SubscriptionStatus status_now,
                                       bool status_changed, const OutboxClaim& claim);
// What a claim does with a due item: RetirementOf first; then a marketing message whose
// recipient is in quiet hours by its number's policy (`quiet_hours`, the policy's JSON text) is
// deferred to the next instant it may arrive, and one whose local time cannot be known (a
// number with no place) is cancelled. Neither: it is sent.
struct ClaimFate {
  std::optional<Retirement> retire;
  std::optional<int64_t> defer_until_ms;
};
ClaimFate ClaimFateOf(const OutboxItem& item, SubscriptionStatus status_now, bool status_changed,
                      std::string_view quiet_hours, const OutboxClaim& claim);

// A page size must be positive.
Status CheckLimit(int limit);
// A contact search takes at most kMaxFilterProperties property filters (core/contact_filter.h),
// whichever front end built it.
Status CheckPropertyCount(const ContactQuery& q);
// A claim (outbox items, jobs) names its owner and holds it for a positive time.
Status CheckLease(std::string_view what, const std::string& owner, int64_t lease_ms);
// Contact::properties must be a JSON object whose values are strings.
Status CheckProperties(const std::string& text);
// "%" + s with LIKE's metacharacters (and the escape character itself) escaped + "%".
std::string ContainsPattern(std::string_view s);
// The message of ALREADY_EXISTS for a number another account (or this one) has.
std::string NumberTaken(const SenderNumber& n);
Status UserNotFound(int64_t id);

// ---- Contacts and statuses ----
// What DeleteContact allows, from the counts of what refers to the contact: kFailedPrecondition
// when it has consent events (the ledger is the proof of consent) or inbound messages or
// replies (the record of what was sent and answered, which keeps provider retries idempotent).
Status CheckContactDeletable(int64_t contact_id, int64_t events, int64_t inbound, int64_t outbox);
// ReplaceStatuses' rows name each (contact, number) at most once.
Status CheckStatusRowsDistinct(const std::vector<StatusRow>& rows);
// An outbox completion ends a send: its state is not `sending`, and it names its lease owner.
Status CheckOutboxCompletion(const OutboxCompletion& c);
// A delivery report names the item's provider id, and its error fits kMaxDeliveryErrorBytes.
Status CheckDeliveryUpdate(const DeliveryUpdate& u);
// Applies the report to the stored item when DeliveryAdvances (core/delivery.h) allows it;
// false (item unchanged) when the item already holds that status or a final one.
bool ApplyDelivery(const DeliveryUpdate& u, OutboxItem* item);

// ---- The ledger (store/write_changes.h) ----
// The draft with its contact filled in: an event drafted for the change set's new contact
// (contact_id 0) belongs to `new_contact_id` once that contact is written. Returns `draft`
// itself when it needs no change, else a copy made in `*scratch`.
const EventDraft& ResolveDraftContact(const EventDraft& draft, int64_t new_contact_id,
                                      EventDraft* scratch);
// The event `d` as written now (format 2, docs/ledger.md): number `seq` of the account's ledger
// (0 when the store numbers it at integration), the pair's event number `nth`; its id is the
// caller's to fill in. kAborted when the pair's current status `before` is not the one the
// change assumed (it was changed concurrently).
Result<ConsentEvent> NextEvent(int64_t account_id, const EventDraft& d, const ConsentState& before,
                               int64_t seq, int64_t nth);

// ---- Moving an installation (ExportRows, StoreImport) ----
// `name` as a quoted SQL identifier ("row" is a keyword in PostgreSQL).
std::string Quoted(std::string_view name);
// The table's columns, quoted, comma-separated, optionally each with `suffix`.
std::string ColumnList(const TransferTable& t, int count, std::string_view suffix = "");
// kInvalidArgument unless the row has one cell per column, NULL only where nullable, integers
// in decimal and booleans "0"/"1".
Status CheckTransferRow(const TransferTable& t, const TransferRow& row);
// An integer cell CheckTransferRow accepted.
int64_t CellInt(const TransferCell& cell);

}  // namespace smsconsent::store_rows
