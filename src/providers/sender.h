// Outbound reply senders: how a queued reply leaves through the account's provider.
//
// A sender turns one reply into one provider API call and classifies the outcome so the
// dispatcher knows whether to retry: 2xx sent; 4xx failed for good (the request itself is
// wrong: bad credentials, bad number); 5xx, 429 and network errors retried with backoff.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace smsconsent {

class HttpClient;

// Every name MakeReplySender builds, "log" (the default: replies go to the service's log) first.
inline constexpr std::array<std::string_view, 6> kReplySenderNames = {"log",    "twilio", "kannel",
                                                                      "vonage", "plivo",  "telnyx"};

struct OutboundSms {
  std::string from;
  std::string to;
  std::string body;
  // The same for every attempt of one reply and different for every other reply (the
  // dispatcher derives it from the outbox item), at most 255 characters of [A-Za-z0-9_:-].
  // Senders whose provider deduplicates requests by a client key send it (Telnyx's
  // Idempotency-Key); the others ignore it. Empty: none is sent.
  std::string idempotency_key;
  // Where the provider should post this message's delivery status: the service's public URL
  // + "/webhooks/<provider>/status" (docs/sending.md, "Delivery status"). Empty: none is asked
  // for, and the provider's account-wide setting, if any, applies. Sent as Twilio's
  // StatusCallback, Telnyx's webhook_url, Plivo's url and Vonage's callback.
  std::string status_callback_url{};
};

struct SendOutcome {
  enum Kind { kSent, kRetry, kFailed } kind = kSent;
  std::string provider_message_id;  // when sent and the provider returns one
  std::string error;                // for kRetry/kFailed: status and provider's message
  // For kFailed: the provider's own error code when its answer names one (Twilio's "code",
  // Telnyx's errors[0].code), e.g. "21610"; empty otherwise. IsCarrierOptOutError
  // (core/delivery.h) reads it.
  std::string error_code;
};

class ReplySender {
 public:
  virtual ~ReplySender() = default;
  virtual SendOutcome Send(const OutboundSms& sms) = 0;
};

// Builds the sender named `sender` ("log", "twilio", "kannel", "vonage", "plivo", "telnyx")
// from that provider's settings (ProviderConfig::settings of the account; the keys are listed
// in senders.cc and docs/webhooks.md). kFailedPrecondition naming the setting when a required
// one is missing or not a string (e.g. twilio needs account_sid and auth_token, vonage api_key
// and api_secret, plivo auth_id and auth_token, telnyx api_key); kInvalidArgument for an
// unknown name.
// `http` must outlive the sender.
Result<std::unique_ptr<ReplySender>> MakeReplySender(const std::string& sender,
                                                     const nlohmann::json& settings,
                                                     HttpClient& http);

}  // namespace smsconsent
