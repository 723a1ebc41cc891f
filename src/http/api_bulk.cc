// Routes for bulk subscription changes, contact imports and their jobs (docs/bulk.md):
//   POST /v1/bulk/subscriptions/preview, POST /v1/bulk/subscriptions (202 {"job"}),
//   POST /v1/contacts/import (202 {"job"}), GET /v1/jobs/{job}, GET /v1/jobs/{job}/rejects.
// A request is JSON ({"number", "status", "attest", "legal_basis", "explanation", and one of
// "ids", "filter", "csv" (the CSV text)}), or a CSV body (Content-Type text/csv) with the same
// fields as query parameters.
#include <string>

#include "core/json_text.h"  // IsValidUtf8
#include "core/ledger.h"
#include "http/api.h"
#include "http/api_util.h"

namespace smsconsent {

using nlohmann::json;

namespace {

bool IsCsvBody(const HttpRequest& req) {
  const std::string_view type = req.Header("content-type");
  return type.substr(0, 8) == "text/csv";
}

// The request and its CSV text (empty when the selection is not a CSV). `actor` (the
// caller's, Caller::actor) goes on every event; an "actor" in the body is ignored.
Result<std::pair<BulkRequest, std::string>> ParseBulkRequest(const HttpRequest& req, bool import,
                                                             const std::string& actor) {
  BulkRequest r;
  std::string csv;
  json body = json::object();
  if (IsCsvBody(req)) {
    for (const auto& [k, v] : req.query) {
      if (k == "ids") {
        body[k] = json::array();
        size_t start = 0;
        while (start <= v.size()) {
          size_t end = v.find(',', start);
          if (end == std::string::npos) end = v.size();
          const std::string item = v.substr(start, end - start);
          if (!item.empty()) {
            SMSC_ASSIGN_OR_RETURN(int64_t id, ParseInt(item, "ids", 1, INT64_MAX));
            body[k].push_back(id);
          }
          start = end + 1;
        }
      } else if (k == "attest") {
        body[k] = v == "true" || v == "1";
      } else {
        body[k] = v;
      }
    }
    csv = req.body;
    body["csv"] = true;
  } else {
    // BulkRequest's members that a client gives (kind and actor come from the route and the
    // caller).
    static const JsonFields kFields = {{"number"},      {"status"},      {"attest"},
                                       {"legal_basis"}, {"explanation"}, {"ids"},
                                       {"filter"},      {"csv"},         {"phone_column"}};
    SMSC_ASSIGN_OR_RETURN(body, ParseJsonBody(req, kFields));
    if (body.contains("csv")) {
      if (!body["csv"].is_string()) return InvalidArgument("'csv' must be the CSV text");
      csv = body["csv"].get<std::string>();
      body["csv"] = true;
    }
  }
  if (import) {
    body["kind"] = kJobImportContacts;
    body["csv"] = true;
    if (csv.empty()) return InvalidArgument("an import needs a CSV body (Content-Type text/csv)");
  } else {
    body.erase("kind");
    if (!body.contains("status")) return InvalidArgument("'status' is required");
    if (!body.contains("number")) return InvalidArgument("'number' is required");
  }
  body.erase("actor");
  SMSC_ASSIGN_OR_RETURN(r, BulkRequest::FromJson(body));
  r.actor = actor;
  return std::make_pair(std::move(r), std::move(csv));
}

// The job's idempotency key: stored with the job, so text like everything stored (a header's
// value may be any bytes).
Result<std::string> IdempotencyKey(const HttpRequest& req) {
  std::string key(req.Header("idempotency-key"));
  if (key.empty()) key = std::string(req.Query("idempotency_key"));
  if (!IsValidUtf8(key)) return InvalidArgument("the Idempotency-Key header is not UTF-8");
  return key;
}

}  // namespace

void Api::AddBulkRoutes() {
  auto need_bulk = [this]() -> Status {
    if (bulk_ == nullptr) {
      return Status(StatusCode::kUnavailable, "bulk jobs are not available in this process");
    }
    return Status::Ok();
  };
  router_.Add("POST", "/v1/bulk/subscriptions/preview",
              Authed([this, need_bulk](const Caller& a, const HttpRequest& req,
                                       const PathParams&) -> Result<HttpResponse> {
                SMSC_RETURN_IF_ERROR(need_bulk());
                SMSC_ASSIGN_OR_RETURN(auto parsed, ParseBulkRequest(req, false, a.actor));
                SMSC_ASSIGN_OR_RETURN(
                    BulkTally tally,
                    bulk_->Preview(a.id, parsed.first, StringSource(std::move(parsed.second))));
                return JsonResponse(200, tally.ToJson());
              }));
  auto submit = [this, need_bulk](bool import) {
    return Authed([this, need_bulk, import](const Caller& a, const HttpRequest& req,
                                            const PathParams&) -> Result<HttpResponse> {
      SMSC_RETURN_IF_ERROR(need_bulk());
      SMSC_ASSIGN_OR_RETURN(auto parsed, ParseBulkRequest(req, import, a.actor));
      SMSC_ASSIGN_OR_RETURN(std::string key, IdempotencyKey(req));
      SMSC_ASSIGN_OR_RETURN(auto submitted, bulk_->Submit(a.id, parsed.first, std::move(key),
                                                          StringSource(std::move(parsed.second))));
      if (submitted.second && notify_jobs_) notify_jobs_();
      json body = JobJson(submitted.first);
      body["created"] = submitted.second;
      HttpResponse r = JsonResponse(202, body);
      r.headers.emplace_back("Location", "/v1/jobs/" + std::to_string(submitted.first.id));
      return r;
    });
  };
  router_.Add("POST", "/v1/bulk/subscriptions", submit(false));
  router_.Add("POST", "/v1/contacts/import", submit(true));
  router_.Add("GET", "/v1/jobs/{job}",
              Authed([this, need_bulk](const Account& a, const HttpRequest&,
                                       const PathParams& p) -> Result<HttpResponse> {
                SMSC_RETURN_IF_ERROR(need_bulk());
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "job"));
                SMSC_ASSIGN_OR_RETURN(Job job, bulk_->GetJob(a.id, id));
                return JsonResponse(200, JobJson(job));
              }));
  router_.Add("GET", "/v1/jobs/{job}/rejects",
              Authed([this, need_bulk](const Account& a, const HttpRequest&,
                                       const PathParams& p) -> Result<HttpResponse> {
                SMSC_RETURN_IF_ERROR(need_bulk());
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "job"));
                HttpResponse r;
                r.content_type = "text/csv; charset=utf-8";
                r.headers.emplace_back(
                    "Content-Disposition",
                    "attachment; filename=\"job-" + std::to_string(id) + "-skipped.csv\"");
                SMSC_RETURN_IF_ERROR(bulk_->RejectsCsv(a.id, id, [&r](std::string_view chunk) {
                  r.body.append(chunk);
                  return Status::Ok();
                }));
                return r;
              }));
}

}  // namespace smsconsent
