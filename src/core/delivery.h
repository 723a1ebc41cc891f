// Delivery status of the messages the service sends (docs/sending.md, "Delivery status"):
// what a provider's status callback reports, the one rule for which report wins, and which
// provider errors say that the recipient has opted out with the carrier. Pure: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace smsconsent {

// sent: accepted by the carrier, not yet known to be on the phone; delivered: the handset has
// it; failed: the provider or carrier refused it; undelivered: the carrier could not deliver
// it. All but sent are final.
enum class DeliveryStatus { kSent, kDelivered, kFailed, kUndelivered };
// "sent", "delivered", "failed", "undelivered"
const char* DeliveryStatusName(DeliveryStatus s);
Result<DeliveryStatus> ParseDeliveryStatus(std::string_view s);  // kInvalidArgument if unknown
inline bool IsFinalDelivery(DeliveryStatus s) { return s != DeliveryStatus::kSent; }

// Whether a report of `incoming` replaces the recorded `current` (nullopt: none yet). Reports
// arrive out of order and are retried, so a final status is never replaced (a late "sent"
// after "delivered" is dropped, and of two different final statuses the first one stays), and
// a repeat of the recorded status changes nothing.
bool DeliveryAdvances(std::optional<DeliveryStatus> current, DeliveryStatus incoming);

// The provider's error as kept with the item: "<code>: <text>", "<code>" or "<text>", printable
// ASCII only (anything else becomes '?', line breaks spaces), at most kMaxDeliveryErrorBytes.
inline constexpr std::size_t kMaxDeliveryErrorBytes = 200;
std::string DeliveryErrorText(std::string_view code, std::string_view text);

// What a provider's status callback says about one of the messages it sent for us.
struct DeliveryReport {
  std::string provider_message_id;  // the id the provider returned when it took the message
  // nullopt: an interim state that changes nothing here (Twilio queued/sending, Kannel
  // buffered), acknowledged all the same.
  std::optional<DeliveryStatus> status;
  std::string provider_status;  // as the provider wrote it, for logs
  std::string error_code;       // the provider's error code, empty when none
  std::string error_text;       // its description, when the callback carries one
};

// Whether `provider`'s error `code` says the carrier refused the message because the recipient
// opted out of this sender (texted STOP to it). Mapped: twilio 21610 ("Attempt to send to
// unsubscribed recipient"), telnyx 40300 ("Blocked due to STOP message"), vonage 9 (a delivery
// receipt's err-code: the user asked not to receive messages from the sender). Plivo and Kannel
// document no such code (docs/sending.md, "Carrier opt-out").
bool IsCarrierOptOutError(std::string_view provider, std::string_view code);

}  // namespace smsconsent
