// Outbound reply senders: how a queued reply leaves through the account's provider.
//
// A sender turns one reply into one provider API call and classifies the outcome so the
// dispatcher knows whether to retry: 2xx sent; 4xx failed for good (the request itself is
// wrong: bad credentials, bad number); 5xx, 429 and network errors retried with backoff.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace smsconsent {

class HttpClient;

struct OutboundSms {
  std::string from;
  std::string to;
  std::string body;
};

struct SendOutcome {
  enum Kind { kSent, kRetry, kFailed } kind = kSent;
  std::string provider_message_id;  // when sent and the provider returns one
  std::string error;                // for kRetry/kFailed: status and provider's message
};

class ReplySender {
 public:
  virtual ~ReplySender() = default;
  virtual SendOutcome Send(const OutboundSms& sms) = 0;
};

// Builds the sender named `sender` ("log", "twilio", "kannel") from that provider's settings
// (ProviderConfig::settings of the account). kFailedPrecondition when a required setting is
// missing (e.g. twilio needs account_sid and auth_token); kInvalidArgument for an unknown name.
// `http` must outlive the sender.
Result<std::unique_ptr<ReplySender>> MakeReplySender(const std::string& sender,
                                                     const nlohmann::json& settings,
                                                     HttpClient& http);

}  // namespace smsconsent
