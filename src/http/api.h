// The HTTP surface of smsconsent: API v1 (Bearer API key), provider webhooks, /healthz,
// /metrics and /openapi.json, as routes on a Router. Handlers are thin: they parse and
// authenticate, call ConsentService, and map Status to HTTP through error_map.h, with one
// JSON error shape: {"error": {"code", "message"}}.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/bulk.h"
#include "app/consent_service.h"
#include "core/clock.h"
#include "http/http_types.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/store.h"

namespace smsconsent {

struct ApiOptions {
  std::string public_url;  // base URL providers call; empty: http://<Host>
};

class Api {
 public:
  Api(ConsentService& service, ConsentStore& store, const Clock& clock, Metrics& metrics,
      ApiOptions options);

  // Routes one request (thread-safe).
  HttpResponse Handle(const HttpRequest& request) const;
  // The route pattern a request matched, for metrics labels ("unmatched" when none).
  std::string RouteOf(const HttpRequest& request) const;

  // Enables the bulk and import routes (503 without); `notify` wakes the job runner.
  void SetBulk(BulkService* bulk, std::function<void()> notify) {
    bulk_ = bulk;
    notify_jobs_ = std::move(notify);
  }

  // Called when replies were queued for the dispatcher.
  void SetOutboxNotifier(std::function<void()> notify) { notify_outbox_ = std::move(notify); }

 private:
  // A handler that needs the caller's account (Bearer API key); errors map through
  // ErrorResponse.
  using AuthedHandler =
      std::function<Result<HttpResponse>(const Account&, const HttpRequest&, const PathParams&)>;
  Handler Authed(AuthedHandler fn) const;

  void AddRoutes();
  // Each area's routes, in a file of its own (api_<area>.cc).
  void AddExportRoutes();  // statuses/ledger export, consent proof (api_export.cc)
  void AddBulkRoutes();    // bulk changes, imports, jobs (api_bulk.cc)
  HttpResponse Webhook(const HttpRequest& req, const std::string& provider) const;

  ConsentService& service_;
  ConsentStore& store_;
  const Clock& clock_;
  Metrics& metrics_;
  ApiOptions options_;
  Router router_;
  std::function<void()> notify_outbox_;
  BulkService* bulk_ = nullptr;
  std::function<void()> notify_jobs_;
};

// {"error": {"code": "NOT_FOUND", "message": …}} with the status from HttpStatusFor.
HttpResponse ErrorResponse(const Status& status);
HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message);

// The OpenAPI 3 document served at /openapi.json (docs/openapi.json, embedded at build time).
const std::string& OpenApiDocument();

}  // namespace smsconsent
