// Delivery reports and carrier opt-outs (docs/sending.md, "Delivery status" and "Carrier
// opt-out"): what a provider's status callback, or its refusal of a send, changes in the store.
//
// A report is recorded on the outbox item the provider sent (ConsentStore::RecordDelivery,
// which keeps a final status final). When its error is the provider's "recipient opted out"
// code (IsCarrierOptOutError, core/delivery.h), the item's contact is opted out on the item's
// number with Source::kCarrier: the contact's own STOP, relayed by the carrier, which no user,
// bulk change or import reverses. Used by WebhookService (status callbacks) and the
// OutboxDispatcher (a send refused with that code). Thread-safe if the store is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/delivery.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

struct DeliveryOutcome {
  bool known = false;      // the account has an item sent with that provider id
  bool changed = false;    // the report changed what the item records
  bool opted_out = false;  // the report recorded the carrier's opt-out of the item's contact
  OutboxItem item;         // as stored afterwards, when known
};

// Records `report` (provider `provider`, e.g. "twilio") on the account's item; a report
// without a status (an interim state) only looks the item up. The carrier's opt-out is
// recorded once per item: when the report first records its error, or when a repeat of it
// finds the opt-out missing and nothing changed the contact's status on the number since the
// report was recorded (the first attempt failed between the two writes). Errors: the store's,
// and kInvalidArgument for a report without a message id.
Result<DeliveryOutcome> RecordDeliveryReport(ConsentStore& store, const Clock& clock,
                                             int64_t account_id, std::string_view provider,
                                             const DeliveryReport& report);

// Records the carrier's opt-out of `item`'s contact on `item`'s number: an event to opted_out
// with Source::kCarrier, actor `provider`, and the provider's error as evidence ({"type":
// "carrier", "provider", "via": "status_callback" or "send", "error_code", "error",
// "outbox_id", "provider_message_id"}). A contact already opted out gets a no-change event,
// as a repeated STOP does. kFailedPrecondition for an item without a contact.
Status RecordCarrierOptOut(ConsentStore& store, const Clock& clock, std::string_view provider,
                           std::string_view via, const OutboxItem& item,
                           std::string_view error_code, std::string_view error_text);

}  // namespace smsconsent
