// Routes for exports and consent proofs (docs/export.md):
//   GET /v1/export/statuses, GET /v1/export/ledger  ?format=csv|jsonl&number=&status=&from=&to=
//   GET /v1/contacts/{contact}/proof                ?format=json|html
// The export is built into the response body through the same chunked sink the CLI writes to
// stdout with (the server sends whole bodies).
#include <optional>
#include <string>

#include "app/export.h"
#include "app/proof.h"
#include "http/api.h"
#include "http/api_util.h"

namespace smsconsent {
namespace {

std::optional<std::string_view> OptQuery(const HttpRequest& req, std::string_view name) {
  if (!req.HasQuery(name)) return std::nullopt;
  return req.Query(name);
}

Result<ExportOptions> ExportOptionsFrom(const HttpRequest& req) {
  ExportOptions o;
  SMSC_ASSIGN_OR_RETURN(o.format, ParseExportFormat(req.Query("format", "csv")));
  if (req.HasQuery("number")) o.filter.number = std::string(req.Query("number"));
  if (req.HasQuery("status")) {
    SMSC_ASSIGN_OR_RETURN(o.filter.status, ParseSubscriptionStatus(req.Query("status")));
  }
  SMSC_RETURN_IF_ERROR(SetExportTimeRange(OptQuery(req, "from"), OptQuery(req, "to"), &o.filter));
  if (req.HasQuery("formula_guard")) {
    const std::string_view g = req.Query("formula_guard");
    if (g != "true" && g != "false") {
      return InvalidArgument("query parameter 'formula_guard' must be true or false");
    }
    o.protect_formulas = g == "true";
  }
  return o;
}

}  // namespace

void Api::AddExportRoutes() {
  using Exporter = Result<ExportSummary> (*)(ConsentService&, ConsentStore&, int64_t,
                                             const ExportOptions&, const ExportSink&);
  auto export_route = [this](const char* what, Exporter exporter) {
    return Authed([this, what, exporter](const Account& a, const HttpRequest& req,
                                         const PathParams&) -> Result<HttpResponse> {
      SMSC_ASSIGN_OR_RETURN(ExportOptions options, ExportOptionsFrom(req));
      HttpResponse r;
      SMSC_ASSIGN_OR_RETURN(ExportSummary summary,
                            exporter(service_, store_, a.id, options, [&](std::string_view chunk) {
                              r.body.append(chunk);
                              return Status::Ok();
                            }));
      r.content_type = ExportContentType(options.format);
      r.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"" +
                                 ExportFileName(a.id, what, options.format, clock_.NowMs()) + "\"");
      r.headers.emplace_back("X-Export-Rows", std::to_string(summary.rows));
      return r;
    });
  };
  router_.Add("GET", "/v1/export/statuses", export_route("statuses", &ExportStatuses));
  router_.Add("GET", "/v1/export/ledger", export_route("ledger", &ExportLedger));

  router_.Add(
      "GET", "/v1/contacts/{contact}/proof",
      Authed([this](const Account& a, const HttpRequest& req,
                    const PathParams& p) -> Result<HttpResponse> {
        SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
        const std::string format(req.Query("format", "json"));
        if (format != "json" && format != "html") {
          return InvalidArgument("query parameter 'format' must be json or html");
        }
        ProofSubject subject;
        subject.contact_id = id;
        SMSC_ASSIGN_OR_RETURN(LedgerService * ledger, Ledger());
        SMSC_ASSIGN_OR_RETURN(ConsentProof proof,
                              BuildConsentProof(service_, store_, *ledger, clock_, a.id, subject));
        if (format == "json") return JsonResponse(200, ProofToJson(proof));
        HttpResponse r;
        r.content_type = "text/html; charset=utf-8";
        r.body = ProofToHtml(proof);
        r.headers.emplace_back("Content-Disposition", "inline; filename=\"consent-record-contact-" +
                                                          std::to_string(proof.contact.id) +
                                                          ".html\"");
        // Self-contained: nothing to load, nothing to run.
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; style-src 'unsafe-inline'");
        return r;
      }));
}

}  // namespace smsconsent
