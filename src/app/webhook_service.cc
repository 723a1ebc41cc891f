#include "app/webhook_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/delivery.h"
#include "core/keywords.h"
#include "core/ledger.h"

namespace smsconsent {
namespace {

// Failures of the service itself rather than of what the request says: passed on as they are,
// since they say nothing about the request (and a provider retries a 503).
bool IsServiceFailure(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

WebhookOutcome Refused(Status status) {
  WebhookOutcome out;
  out.status = std::move(status);
  return out;
}

WebhookOutcome Answered(WebhookResponse response) {
  WebhookOutcome out;
  out.response = std::move(response);
  return out;
}

}  // namespace

WebhookService::WebhookService(ConsentService& consent, ConsentStore& store, const Clock& clock,
                               Options options)
    : consent_(consent), store_(store), clock_(clock), options_(std::move(options)) {}

void WebhookService::Receive(std::string_view name, const WebhookRequest& request,
                             Done done) const {
  const WebhookProvider* provider = FindWebhookProvider(name);
  if (provider == nullptr) {
    return done(Refused(NotFound("no webhook for provider '" + std::string(name) + "'")));
  }
  auto parsed = provider->Parse(request);
  if (!parsed.ok()) return done(Refused(parsed.status()));
  // A genuine request of the provider that carries no message (a status callback, another
  // channel): acknowledged unverified, since nothing is stored and nothing is revealed.
  if (parsed->ignored) return done(Answered(provider->Respond({})));

  auto route = Authenticate(*provider, request, *parsed);
  if (!route.ok()) return done(Refused(route.status()));

  InboundSms sms;
  sms.provider = std::string(provider->name());
  sms.message_id = std::move(parsed->message_id);
  sms.from = std::move(parsed->from);
  sms.to = std::move(parsed->to);
  sms.body = std::move(parsed->body);
  sms.reply_channel = provider->RepliesInResponse() ? "response" : "api";
  // The message is decided here; its commit is waited for without holding this thread.
  consent_.ReceiveRoutedAsync(
      sms, *route, [this, provider, done = std::move(done)](Result<InboundResult> result) {
        if (!result.ok()) return done(Refused(result.status()));
        std::vector<std::string> replies;
        replies.reserve(result->replies.size());
        for (QueuedReply& r : result->replies) replies.push_back(std::move(r.body));
        if (!replies.empty() && !provider->RepliesInResponse() && !result->duplicate &&
            notify_outbox_) {
          notify_outbox_();
        }
        WebhookOutcome out = Answered(provider->Respond(replies));
        out.intent = IntentName(result->match.intent);
        done(std::move(out));
      });
}

Result<InboundRoute> WebhookService::Authenticate(const WebhookProvider& provider,
                                                  const WebhookRequest& request,
                                                  const ParsedInbound& parsed) const {
  // Until the signature holds, every refusal is the same one.
  auto not_verified = [&](const Status& reason) -> Status {
    if (IsServiceFailure(reason.code())) return reason;
    if (options_.on_not_verified) options_.on_not_verified(provider.name(), parsed.to, reason);
    return PermissionDenied(kWebhookNotVerified);
  };
  auto route = consent_.RouteInbound(parsed.to, parsed.from);
  if (!route.ok()) return not_verified(route.status());
  auto settings = consent_.ProviderSettings(*route, std::string(provider.name()));
  if (!settings.ok()) return not_verified(settings.status());
  const int64_t now_ms = clock_.NowMs();
  auto verdict = provider.Verify(request, parsed, **settings, now_ms);
  if (!verdict.ok()) return not_verified(verdict.status());
  if (!verdict->single_use_nonce.empty()) {
    // The same request again is the provider's retry (its message id then makes it change
    // nothing); any other request with this nonce is a replay of its signature.
    WebhookNonce nonce;
    nonce.account_id = route->account.id;
    nonce.provider = std::string(provider.name());
    nonce.nonce = std::move(verdict->single_use_nonce);
    nonce.request_hash = Sha256Hex(request.method + ' ' + request.url + '\n' + request.body);
    nonce.expires_at_ms = now_ms + kNonceTtlMs;
    Status used = store_.UseWebhookNonce(nonce, now_ms);
    if (!used.ok()) return not_verified(used);
  }
  return route;
}

WebhookOutcome WebhookService::ReceiveStatus(std::string_view name,
                                             const WebhookRequest& request) const {
  const WebhookProvider* provider = FindWebhookProvider(name);
  if (provider == nullptr) {
    return Refused(NotFound("no webhook for provider '" + std::string(name) + "'"));
  }
  auto parsed = provider->Parse(request);
  if (!parsed.ok()) return Refused(parsed.status());
  if (!parsed->delivery) {
    return Refused(
        InvalidArgument(std::string(provider->name()) + ": not a delivery status callback"));
  }
  if (parsed->delivery->provider_message_id.empty()) {
    return Refused(InvalidArgument(std::string(provider->name()) +
                                   ": the status callback names no message id"));
  }
  auto route = Authenticate(*provider, request, *parsed);
  if (!route.ok()) return Refused(route.status());
  auto recorded =
      RecordDeliveryReport(store_, clock_, route->account.id, provider->name(), *parsed->delivery);
  if (!recorded.ok()) return Refused(recorded.status());
  WebhookOutcome out = Answered(provider->Respond({}));
  if (!parsed->delivery->status) {
    out.delivery = "interim";
  } else if (!recorded->known) {
    // Providers retry anything but a 2xx: an id of no item here (sent by another system
    // through the same provider account, or deleted) is acknowledged, and counted.
    out.delivery = "unknown";
    if (options_.on_unknown_delivery) {
      options_.on_unknown_delivery(provider->name(), parsed->delivery->provider_message_id);
    }
  } else {
    out.delivery = recorded->changed ? "recorded" : "unchanged";
  }
  out.carrier_opt_out = recorded->opted_out;
  return out;
}

}  // namespace smsconsent
