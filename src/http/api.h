// The HTTP surface of smsconsent: API v1 (Bearer API key, or a staff member's session
// cookie: docs/auth.md), provider webhooks, /healthz,
// /metrics (MetricsAccess says for whom) and /openapi.json, as routes on a Router. Handlers are
// thin: they parse and
// authenticate, call ConsentService, and map Status to HTTP through error_map.h, with one
// JSON error shape: {"error": {"code", "message"}}.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "app/bounded_pool.h"
#include "app/bulk.h"
#include "app/consent_service.h"
#include "app/ledger_service.h"
#include "app/reviews.h"
#include "app/staff_auth.h"
#include "app/webhook_service.h"
#include "core/clock.h"
#include "http/http_types.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/store.h"

namespace smsconsent {

// Who may read GET /metrics, which shows every account's outbox counts.
enum class MetricsAccess {
  kOff,       // no such route: 404
  kLoopback,  // peers on 127.0.0.0/8 or ::1 only, not forwarded by a proxy; 403 for others
  kToken,     // `Authorization: Bearer <metrics_token>`; 401 without it
};

struct ApiOptions {
  std::string public_url;  // base URL providers call; empty: http://<Host>
  std::string web_dir;     // the web page's folder; empty: the embedded copy
  MetricsAccess metrics = MetricsAccess::kLoopback;
  std::string metrics_token;  // for MetricsAccess::kToken; not empty then
};

// Who calls an authenticated route: the account, and how it authenticated.
struct Caller : Account {
  // Recorded as the actor of what the caller changes: "user:<email>" for a staff member,
  // "api-key:<first 12 hex of the key's SHA-256>" for an API key.
  std::string actor;
  std::string role;          // "key" for an API key; "viewer" or "editor" for staff
  bool via_session = false;  // by the session cookie (its CSRF token already checked)
};

class Api {
 public:
  Api(ConsentService& service, const WebhookService& webhooks, ConsentStore& store,
      const Clock& clock, Metrics& metrics, ApiOptions options);

  // Routes one request (thread-safe) and answers through `respond`: at once, or later from
  // another thread for a route that waits without holding the thread (webhooks). Returns the
  // route's label, as RouteOf gives it, valid as long as the Api: the server's access log uses
  // it instead of routing the request a second time.
  std::string_view HandleAsync(const HttpRequest& request, Responder respond) const;
  // The same, waiting for the answer (for tests and tools that call the API in-process).
  HttpResponse Handle(const HttpRequest& request) const;
  // The route pattern a request matched, for metrics labels ("unmatched" when none).
  std::string RouteOf(const HttpRequest& request) const;

  // Enables the bulk and import routes (503 without); `notify` wakes the job runner.
  void SetBulk(BulkService* bulk, std::function<void()> notify) {
    bulk_ = bulk;
    notify_jobs_ = std::move(notify);
  }

  // Enables the review queue's routes (/v1/reviews…; 503 without). Not owned.
  void SetReviews(ReviewService* reviews) { reviews_ = reviews; }

  // Enables the verifiable ledger's routes (/v1/ledger/head, …/heads, …/consistency,
  // …/public-key) and consent proofs (503 without). Not owned.
  void SetLedger(LedgerService* ledger) { ledger_ = ledger; }

  // Called when replies were queued for the dispatcher.
  void SetOutboxNotifier(std::function<void()> notify) { notify_outbox_ = std::move(notify); }

  // Enables staff sign-in: /v1/session (503 without) and the session cookie on every
  // authenticated route (only API keys without). Not owned.
  void SetStaffAuth(StaffAuth* auth) { staff_auth_ = auth; }
  // Runs the password checks of sign-ins on `pool` (429 with Retry-After when it refuses)
  // instead of on the thread that handles the request. Not owned.
  void SetSignInPool(BoundedPool* pool) { signin_pool_ = pool; }

 private:
  // A handler that needs the caller: a Bearer API key, or else the session cookie, whose
  // requests with a method other than GET/HEAD/OPTIONS need the X-CSRF-Token header (403
  // CSRF_FAILED) and the editor role (403 PERMISSION_DENIED). Errors map through
  // ErrorResponse; responses to a cookie carry Cache-Control: no-store.
  using AuthedHandler =
      std::function<Result<HttpResponse>(const Caller&, const HttpRequest&, const PathParams&)>;
  Handler Authed(AuthedHandler fn) const;
  // The same for a handler that answers later, through its callback (called exactly once).
  using AuthedAnswer = std::function<void(Result<HttpResponse>)>;
  using AuthedAsyncHandler =
      std::function<void(const Caller&, const HttpRequest&, const PathParams&, AuthedAnswer)>;
  AsyncHandler AuthedAsync(AuthedAsyncHandler fn) const;
  // Who sends the request (an API key or a staff session, whose refusals carry no-store), or
  // the response that refuses it.
  std::optional<HttpResponse> Identify(const HttpRequest& req, Caller* caller) const;
  // A handler's result as the caller gets it: errors mapped, no-store for a session.
  static HttpResponse Answer(const Caller& caller, Result<HttpResponse> r);
  // The session behind the request's cookie, its CSRF token checked for unsafe methods
  // (api_session.cc). The refusal (401, 403 CSRF_FAILED, 503) as a response, or nullopt.
  std::optional<HttpResponse> CheckSession(const HttpRequest& req, StaffIdentity* who) const;
  std::optional<HttpResponse> IdentifyStaff(const HttpRequest& req, Caller* caller) const;

  void AddRoutes();
  // Each area's routes, in a file of its own (api_<area>.cc).
  void AddExportRoutes();   // statuses/ledger export, consent proof (api_export.cc)
  void AddSessionRoutes();  // staff sign-in, session, sign-out (api_session.cc)
  void AddBulkRoutes();     // bulk changes, imports, jobs (api_bulk.cc)
  void AddWebRoutes();      // the staff web page under /app/ (web_ui.cc)
  void AddMetricsRoutes();  // /metrics, as ApiOptions::metrics allows (api_metrics.cc)
  void AddReviewRoutes();   // the queue of possible opt-outs (api_reviews.cc)
  void AddLedgerRoutes();   // signed tree heads, consistency proofs, public key (api_ledger.cc)
  void AddMessageRoutes();  // messages the business sends (api_messages.cc)
  Result<LedgerService*> Ledger() const;
  // A provider's webhook: the request handed to WebhookService as it came, its outcome mapped
  // to the response.
  void Webhook(const HttpRequest& req, const std::string& provider, Responder respond) const;
  // A provider's delivery status callback (/webhooks/{provider}/status).
  HttpResponse WebhookStatus(const HttpRequest& req, const std::string& provider) const;
  // The request as the provider sent it, with the URL it called.
  WebhookRequest ToWebhookRequest(const HttpRequest& req) const;

  ConsentService& service_;
  const WebhookService& webhooks_;
  ConsentStore& store_;
  const Clock& clock_;
  Metrics& metrics_;
  ApiOptions options_;
  Router router_;
  std::function<void()> notify_outbox_;
  BulkService* bulk_ = nullptr;
  ReviewService* reviews_ = nullptr;
  LedgerService* ledger_ = nullptr;
  std::function<void()> notify_jobs_;
  StaffAuth* staff_auth_ = nullptr;
  BoundedPool* signin_pool_ = nullptr;
};

// The OpenAPI 3 document served at /openapi.json (docs/openapi.json, embedded at build time).
const std::string& OpenApiDocument();

}  // namespace smsconsent
