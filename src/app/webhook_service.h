// WebhookService: a provider's inbound webhook, from the raw request to the answer, with no
// HTTP in it. One entry point, Receive(provider, request), runs the use case:
//   read     the provider parses the request once (src/providers/webhook.h);
//   route    the receiving number's account (ConsentService::RouteInbound);
//   secrets  that account's settings for the provider;
//   verify   the signature over exactly what was read; a nonce the signature relies on to be
//            used once (Plivo V2) is claimed in the store, so every instance sharing the
//            database refuses its reuse;
//   decide   ConsentService decides and stores the message (group commit, without a thread
//            waiting for it), and the provider shapes the answer.
// Before a request is verified, its refusal tells the caller nothing about what the service
// holds: an unknown receiving number, an account without the provider's secret and a wrong
// signature get one and the same answer (kPermissionDenied, kWebhookNotVerified). The real
// reason goes to Options::on_not_verified, for the log.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "app/consent_service.h"
#include "core/clock.h"
#include "core/status.h"
#include "providers/webhook.h"
#include "store/store.h"

namespace smsconsent {

// The message of every refusal of a request that was not verified.
inline constexpr char kWebhookNotVerified[] = "webhook not verified";

// What to answer a webhook request with.
struct WebhookOutcome {
  // OK: `response` is the provider's answer (a processed message, a retry of one, or a
  // request the provider sent that carries no message to process). Otherwise:
  //   kNotFound          no provider has that name;
  //   kInvalidArgument   not a well-formed request of the provider (the message says what);
  //   kPermissionDenied  not verified, whatever the reason (message kWebhookNotVerified);
  //   kInvalidPhone, kUnavailable, kInternal, …  deciding or storing a verified message failed.
  Status status;
  WebhookResponse response;
  // The decided message's intent ("opt_out", …, IntentName), for metrics; nullptr when no
  // message was decided.
  const char* intent = nullptr;
  // A status callback's effect (ReceiveStatus), for metrics: "recorded", "unchanged" (a repeat,
  // or older than what the item holds), "unknown" (no item has its message id) or "interim"
  // (a state that records nothing); nullptr otherwise.
  const char* delivery = nullptr;
  bool carrier_opt_out = false;  // the callback recorded the carrier's opt-out of the contact
};

class WebhookService {
 public:
  // How long a single-use nonce is remembered (ConsentStore::UseWebhookNonce). A signature
  // that binds no time stays valid for ever, so this is how long a replay waits before it can
  // be tried once more; 30 days of a legacy account's nonces is a small table.
  static constexpr int64_t kNonceTtlMs = 30LL * 24 * 3600 * 1000;

  struct Options {
    // Called, on the calling thread, with the real reason of every refusal of a request that
    // was not verified, and the receiving number the request named (as sent). For the log:
    // both come from the request, so escape them.
    std::function<void(std::string_view provider, std::string_view to, const Status& reason)>
        on_not_verified;
    // Called with a verified status callback's message id that no outbox item of the account
    // has (it is acknowledged all the same, so the provider does not retry it). For the log.
    std::function<void(std::string_view provider, std::string_view message_id)> on_unknown_delivery;
  };

  WebhookService(ConsentService& consent, ConsentStore& store, const Clock& clock, Options options);

  // Called when a processed message queued replies for the dispatcher.
  void SetOutboxNotifier(std::function<void()> notify) { notify_outbox_ = std::move(notify); }

  using Done = std::function<void(WebhookOutcome)>;
  // Reads, routes, verifies and decides one request to `provider`'s webhook. `done` is called
  // exactly once: before this returns when the request is refused, carries no message to
  // process, or fails before its commit; otherwise on the committer's writer thread once the
  // message is durable (ConsentService::ReceiveRoutedAsync), where `done` must not block.
  // `request` is only read before this returns. Thread-safe.
  void Receive(std::string_view provider, const WebhookRequest& request, Done done) const;

  // A delivery status callback to /webhooks/<provider>/status (docs/sending.md, "Delivery
  // status"): read by the provider, routed by the sender number it names (the account's),
  // verified exactly as an inbound webhook is, and recorded on the account's outbox item
  // (RecordDeliveryReport, app/delivery.h), which may record the carrier's opt-out of the
  // contact. OK with the provider's acknowledgement also for a message id no item has (see
  // WebhookOutcome::delivery). Refusals: kNotFound (no such provider), kInvalidArgument (not a
  // status callback of the provider, or no message id), kPermissionDenied
  // (kWebhookNotVerified), or the store's error. Synchronous; thread-safe.
  WebhookOutcome ReceiveStatus(std::string_view provider, const WebhookRequest& request) const;

 private:
  // Routes a parsed request by its receiving number (for a status callback: the account's
  // sender number), loads that account's settings for the provider and verifies the
  // signature, claiming a single-use nonce when the signature relies on one. Every refusal but
  // a failure of the service itself is kPermissionDenied (kWebhookNotVerified).
  Result<InboundRoute> Authenticate(const WebhookProvider& provider, const WebhookRequest& request,
                                    const ParsedInbound& parsed) const;

  ConsentService& consent_;
  ConsentStore& store_;
  const Clock& clock_;
  Options options_;
  std::function<void()> notify_outbox_;
};

}  // namespace smsconsent
