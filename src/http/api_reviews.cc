// Routes of the queue of possible opt-outs (docs/reviews.md):
//   GET  /v1/reviews?state=open|confirmed|dismissed|all&after=&limit=  (oldest first)
//   GET  /v1/reviews/{review}
//   POST /v1/reviews/{review}/confirm  {"note"}  the contact's own opt-out, then closed
//   POST /v1/reviews/{review}/dismiss  {"note"}  closed; no status changes
// The POST routes need an API key or an editor's session (Authed refuses a viewer's); a
// second decision on the same item is 409 FAILED_PRECONDITION.
#include <string>

#include "app/json_views.h"
#include "http/api.h"
#include "http/api_util.h"

namespace smsconsent {

using nlohmann::json;

namespace {

// The body of confirm and dismiss: {"note"} or nothing at all.
Result<std::string> DecisionNote(const HttpRequest& req) {
  if (req.body.empty()) return std::string();
  static const JsonFields kFields = {{"note"}};
  SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kFields));
  SMSC_ASSIGN_OR_RETURN(auto note, OptString(body, "note"));
  return note.value_or("");
}

}  // namespace

void Api::AddReviewRoutes() {
  auto reviews = [this]() -> Result<ReviewService*> {
    if (reviews_ == nullptr) {
      return Status(StatusCode::kUnavailable, "the review queue is not enabled on this server");
    }
    return reviews_;
  };
  router_.Add("GET", "/v1/reviews",
              Authed([this, reviews](const Caller& a, const HttpRequest& req,
                                     const PathParams&) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(ReviewService * service, reviews());
                ReviewQuery q;
                SMSC_ASSIGN_OR_RETURN(q.after_id, Cursor(req));
                SMSC_ASSIGN_OR_RETURN(q.limit, PageLimit(req, 50, ReviewService::kMaxPage));
                const std::string_view state = req.Query("state", "open");
                if (state != "all") {
                  SMSC_ASSIGN_OR_RETURN(q.state, ParseReviewState(state));
                }
                SMSC_ASSIGN_OR_RETURN(auto entries, service->List(a.id, q));
                json items = json::array();
                for (const ReviewEntry& e : entries) items.push_back(ToJson(e));
                json page = Page(std::move(items), static_cast<int>(entries.size()) == q.limit,
                                 entries.empty() ? 0 : entries.back().item.id);
                page["highlight_after_seconds"] = service->highlight_after_ms() / 1000;
                return JsonResponse(200, page);
              }));
  router_.Add("GET", "/v1/reviews/{review}",
              Authed([reviews](const Caller& a, const HttpRequest&,
                               const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(ReviewService * service, reviews());
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "review"));
                SMSC_ASSIGN_OR_RETURN(ReviewEntry e, service->Get(a.id, id));
                return JsonResponse(200, ToJson(e));
              }));
  for (const bool confirm : {true, false}) {
    router_.Add("POST", confirm ? "/v1/reviews/{review}/confirm" : "/v1/reviews/{review}/dismiss",
                Authed([this, reviews, confirm](const Caller& a, const HttpRequest& req,
                                                const PathParams& p) -> Result<HttpResponse> {
                  SMSC_ASSIGN_OR_RETURN(ReviewService * service, reviews());
                  SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "review"));
                  ReviewDecision d;
                  d.account_id = a.id;
                  d.id = id;
                  d.actor = a.actor;
                  SMSC_ASSIGN_OR_RETURN(d.note, DecisionNote(req));
                  SMSC_ASSIGN_OR_RETURN(ReviewEntry e,
                                        confirm ? service->Confirm(d) : service->Dismiss(d));
                  // A confirmed opt-out may queue its confirmation text.
                  if (confirm && notify_outbox_) notify_outbox_();
                  return JsonResponse(200, ToJson(e));
                }));
  }
}

}  // namespace smsconsent
