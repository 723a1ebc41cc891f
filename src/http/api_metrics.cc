// GET /metrics: the Prometheus text of src/http/metrics.h. It shows every account's outbox
// counts and the routes in use, so it is served only as ApiOptions::metrics allows: to no one,
// to peers on the loopback interface (a scraper on the same machine, the default), or to
// whoever sends the configured token.
#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/api.h"
#include "http/api_util.h"
#include "providers/webhook.h"  // ConstantTimeEquals

namespace smsconsent {
namespace {

// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (a dual-stack socket's view of it).
bool IsLoopbackPeer(const std::string& remote) {
  boost::system::error_code ec;
  boost::asio::ip::address a = boost::asio::ip::make_address(remote, ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a.is_loopback();
}

}  // namespace

void Api::AddMetricsRoutes() {
  if (options_.metrics == MetricsAccess::kOff) return;  // 404, as for any unknown path
  router_.Add("GET", "/metrics", [this](const HttpRequest& req, const PathParams&) {
    // A reverse proxy on this machine is a loopback peer too; what it forwards came from
    // elsewhere (when it says so: a proxy that adds neither header is not told apart).
    if (options_.metrics == MetricsAccess::kLoopback &&
        (!IsLoopbackPeer(req.remote) || !req.Header("forwarded").empty() ||
         !req.Header("x-forwarded-for").empty())) {
      return ErrorResponse(403, "PERMISSION_DENIED",
                           "/metrics is served to loopback peers only, not through a proxy "
                           "(--metrics)");
    }
    if (options_.metrics == MetricsAccess::kToken) {
      constexpr std::string_view kBearer = "Bearer ";
      const std::string_view auth = req.Header("authorization");
      const bool ok = auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer &&
                      ConstantTimeEquals(auth.substr(kBearer.size()), options_.metrics_token);
      if (!ok) {
        HttpResponse r = ErrorResponse(
            401, "UNAUTHENTICATED", "/metrics needs 'Authorization: Bearer <the metrics token>'");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"smsconsent-metrics\"");
        return r;
      }
    }
    std::vector<std::pair<std::string, int64_t>> outbox;
    auto counts = store_.CountOutbox();
    if (counts.ok()) {
      for (const auto& [state, n] : *counts) outbox.emplace_back(OutboxStateName(state), n);
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.Render(outbox, store_.CacheCounts());
    return r;
  });
}

}  // namespace smsconsent
