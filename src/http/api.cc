#include "http/api.h"

#include <charconv>
#include <future>

#include "app/error_map.h"
#include "app/json_views.h"
#include "core/contact_filter.h"  // ParseTimeSpan
#include "core/json_text.h"
#include "core/ledger.h"
#include "core/send_rate.h"
#include "http/api_util.h"
#include "http/target.h"  // CheckQueryText
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;

// A contact's state on one number, as GET /v1/contacts/{id}/subscriptions shows it.
json SubscriptionJson(const NumberStatus& s) {
  json j = ToJson(s);
  j["number_id"] = s.number.id;
  return j;
}

// The comma-separated values of query parameter `name` ("a,b"); an empty one is an error.
Result<std::vector<std::string>> QueryList(const HttpRequest& req, const char* name) {
  std::vector<std::string> out;
  const std::string_view all = req.Query(name);
  size_t start = 0;
  while (true) {
    const size_t comma = all.find(',', start);
    const std::string_view part =
        all.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.empty()) {
      return InvalidArgument(std::string("'") + name + "' is a comma-separated list of values");
    }
    out.emplace_back(part);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

HttpResponse FromWebhook(WebhookResponse w) {
  HttpResponse r;
  r.status = w.status;
  r.content_type = std::move(w.content_type);
  r.body = std::move(w.body);
  r.headers = std::move(w.headers);
  return r;
}

}  // namespace

Api::Api(ConsentService& service, const WebhookService& webhooks, ConsentStore& store,
         const Clock& clock, Metrics& metrics, ApiOptions options)
    : service_(service),
      webhooks_(webhooks),
      store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)) {
  AddSessionRoutes();
  AddRoutes();
  AddExportRoutes();
  AddBulkRoutes();
  AddReviewRoutes();
  AddLedgerRoutes();
  AddMessageRoutes();
  AddWebRoutes();
  AddMetricsRoutes();
}

namespace {
std::string_view RouteLabel(const Router::Match& m) {
  return m.pattern.empty() ? std::string_view("unmatched") : m.pattern;
}
}  // namespace

std::string Api::RouteOf(const HttpRequest& request) const {
  return std::string(RouteLabel(router_.Find(request.method, request.path)));
}

HttpResponse Api::Handle(const HttpRequest& request) const {
  std::promise<HttpResponse> promise;
  auto response = promise.get_future();
  HandleAsync(request, [&promise](HttpResponse r) { promise.set_value(std::move(r)); });
  return response.get();
}

std::string_view Api::HandleAsync(const HttpRequest& request, Responder respond) const {
  Router::Match m = router_.Find(request.method, request.path);
  const std::string_view route = RouteLabel(m);
  // Routes read their query as text (and quote it in errors): bytes that are not UTF-8 are a
  // client's mistake, answered before the handler runs. Webhooks take any (Router's QueryBytes).
  if ((m.async || m.handler) && m.query == QueryBytes::kUtf8) {
    if (Status text = CheckQueryText(request); !text.ok()) {
      respond(ErrorResponse(text));
      return route;
    }
  }
  if (m.async) {
    (*m.async)(request, m.params, std::move(respond));
  } else if (m.handler) {
    respond((*m.handler)(request, m.params));
  } else if (m.status == 405) {
    HttpResponse r = ErrorResponse(405, "METHOD_NOT_ALLOWED",
                                   request.method + " is not allowed on " + request.path);
    r.headers.emplace_back("Allow", m.allow);
    respond(std::move(r));
  } else {
    respond(ErrorResponse(404, "NOT_FOUND", "no route for " + request.path));
  }
  return route;
}

std::optional<HttpResponse> Api::Identify(const HttpRequest& req, Caller* caller) const {
  std::string_view auth = req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    // No API key: a signed-in staff member's browser (api_session.cc).
    if (auth.empty() && staff_auth_ != nullptr && CookieValue(req, kSessionCookie)) {
      return IdentifyStaff(req, caller);
    }
    return ErrorResponse(Status(StatusCode::kUnauthenticated,
                                "missing API key: send 'Authorization: Bearer <key>'"));
  }
  const std::string_view key = auth.substr(kBearer.size());
  const std::string key_hash = Sha256Hex(key);
  auto account = service_.AuthenticateKeyHash(key_hash);
  if (!account.ok()) return ErrorResponse(account.status());
  static_cast<Account&>(*caller) = std::move(account).value();
  // Which key acted, without storing the key.
  caller->actor.reserve(20);
  caller->actor.append("api-key:").append(key_hash, 0, 12);
  caller->role = "key";
  return std::nullopt;
}

Handler Api::Authed(AuthedHandler fn) const {
  return [this, fn = std::move(fn)](const HttpRequest& req, const PathParams& params) {
    Caller caller;
    if (auto refused = Identify(req, &caller)) return std::move(*refused);
    return Answer(caller, fn(caller, req, params));
  };
}

AsyncHandler Api::AuthedAsync(AuthedAsyncHandler fn) const {
  return [this, fn = std::move(fn)](const HttpRequest& req, const PathParams& params,
                                    Responder respond) {
    auto caller = std::make_shared<Caller>();
    if (auto refused = Identify(req, caller.get())) return respond(std::move(*refused));
    fn(*caller, req, params, [caller, respond = std::move(respond)](Result<HttpResponse> r) {
      respond(Answer(*caller, std::move(r)));
    });
  };
}

void Api::AddRoutes() {
  auto authed = [this](AuthedHandler fn) { return Authed(std::move(fn)); };

  router_.Add("GET", "/healthz", [](const HttpRequest&, const PathParams&) {
    return JsonResponse(200, {{"status", "ok"}});
  });
  router_.Add("GET", "/openapi.json", [](const HttpRequest&, const PathParams&) {
    HttpResponse r;
    r.body = OpenApiDocument();
    return r;
  });

  // ---- account ----
  router_.Add(
      "GET", "/v1/account",
      authed([](const Account& a, const HttpRequest&, const PathParams&) -> Result<HttpResponse> {
        return JsonResponse(200, ToJson(a));
      }));

  // The account's own settings.
  router_.Add("PATCH", "/v1/account",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                static const JsonFields kAccountPatchFields = {{"quiet_hours"}};
                SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kAccountPatchFields));
                SMSC_ASSIGN_OR_RETURN(Account account, service_.GetAccount(a.id));
                if (body.contains("quiet_hours")) {
                  SMSC_ASSIGN_OR_RETURN(QuietHoursPolicy policy,
                                        ParseQuietHoursPolicy(body["quiet_hours"].dump()));
                  SMSC_ASSIGN_OR_RETURN(account, service_.SetAccountQuietHours(a.id, policy));
                }
                return JsonResponse(200, ToJson(account));
              }));

  // ---- sender numbers ----
  router_.Add("GET", "/v1/numbers",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams&) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(auto numbers, service_.ListNumbers(a.id));
                json items = json::array();
                for (const auto& n : numbers) items.push_back(ToJson(n));
                return JsonResponse(200, {{"items", items}});
              }));
  router_.Add("POST", "/v1/numbers",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                static const JsonFields kNewNumberFields = {
                    {"number"},    {"kind"},          {"country"},
                    {"languages"}, {"business_name"}, {"opt_in_confirmation"},
                    {"free_text"}, {"double_opt_in"}};
                SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kNewNumberFields));
                NewNumber n;
                n.account_id = a.id;
                SMSC_ASSIGN_OR_RETURN(n.number, ReqString(body, "number"));
                SMSC_ASSIGN_OR_RETURN(auto kind, OptString(body, "kind"));
                if (kind) {
                  SMSC_ASSIGN_OR_RETURN(n.kind, ParseNumberKind(*kind));
                }
                SMSC_ASSIGN_OR_RETURN(auto country, OptString(body, "country"));
                n.country = country.value_or("");
                SMSC_ASSIGN_OR_RETURN(auto langs, OptStrings(body, "languages"));
                if (langs) n.languages = *langs;
                SMSC_ASSIGN_OR_RETURN(auto business, OptString(body, "business_name"));
                n.business_name = business.value_or("");
                SMSC_ASSIGN_OR_RETURN(auto confirm, OptBool(body, "opt_in_confirmation"));
                n.opt_in_confirmation = confirm.value_or(false);
                SMSC_ASSIGN_OR_RETURN(auto free_text, OptBool(body, "free_text"));
                n.free_text = free_text.value_or(true);
                SMSC_ASSIGN_OR_RETURN(auto double_opt_in, OptBool(body, "double_opt_in"));
                n.double_opt_in = double_opt_in.value_or(false);
                SMSC_ASSIGN_OR_RETURN(SenderNumber created, service_.AddNumber(n));
                return JsonResponse(201, ToJson(created));
              }));
  router_.Add("GET", "/v1/numbers/{number}",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "number"));
                SMSC_ASSIGN_OR_RETURN(SenderNumber n, service_.GetNumber(a.id, id));
                return JsonResponse(200, ToJson(n));
              }));
  router_.Add(
      "PATCH", "/v1/numbers/{number}",
      authed([this](const Account& a, const HttpRequest& req,
                    const PathParams& p) -> Result<HttpResponse> {
        SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "number"));
        static const JsonFields kNumberPatchFields = {
            {"languages"},
            {"business_name"},
            {"opt_in_confirmation"},
            {"double_opt_in"},
            {"quiet_hours"},
            {"opt_out_notice", {{"text"}, {"every_messages"}, {"every_days"}}},
            {"frequency_cap"},
            {"rate_per_second"},
            {"keywords",
             {{"opt_in"},
              {"opt_out"},
              {"opt_out_all"},
              {"help"},
              {"replace_defaults"},
              {"free_text"}}},
            {"replies", {{"opt_in"}, {"opt_out"}, {"help"}, {"confirmation_request"}}}};
        SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kNumberPatchFields));
        NumberUpdate u;
        SMSC_ASSIGN_OR_RETURN(u.languages, OptStrings(body, "languages"));
        SMSC_ASSIGN_OR_RETURN(u.business_name, OptString(body, "business_name"));
        SMSC_ASSIGN_OR_RETURN(u.opt_in_confirmation, OptBool(body, "opt_in_confirmation"));
        SMSC_ASSIGN_OR_RETURN(u.double_opt_in, OptBool(body, "double_opt_in"));
        if (body.contains("quiet_hours")) {
          SMSC_ASSIGN_OR_RETURN(u.quiet_hours, ParseQuietHoursPolicy(body["quiet_hours"].dump()));
        }
        if (body.contains("frequency_cap")) {
          SMSC_ASSIGN_OR_RETURN(u.frequency_cap, ParseFrequencyCap(body["frequency_cap"].dump()));
        }
        if (body.contains("opt_out_notice")) {
          SMSC_ASSIGN_OR_RETURN(u.opt_out_notice, ParseOptOutNotice(body["opt_out_notice"].dump()));
        }
        if (body.contains("rate_per_second")) {
          // null: back to the kind's default (stored as 0).
          const json& rate = body["rate_per_second"];
          if (rate.is_null()) {
            u.rate_mmps = 0;
          } else if (!rate.is_number()) {
            return InvalidArgument("'rate_per_second' must be a number or null");
          } else {
            SMSC_ASSIGN_OR_RETURN(u.rate_mmps, RateMmpsFromPerSecond(rate.get<double>()));
          }
        }
        const json kw = body.value("keywords", json::object());
        if (!kw.is_object()) return InvalidArgument("'keywords' must be an object");
        SMSC_ASSIGN_OR_RETURN(u.opt_in, OptStrings(kw, "opt_in"));
        SMSC_ASSIGN_OR_RETURN(u.opt_out, OptStrings(kw, "opt_out"));
        SMSC_ASSIGN_OR_RETURN(u.opt_out_all, OptStrings(kw, "opt_out_all"));
        SMSC_ASSIGN_OR_RETURN(u.help, OptStrings(kw, "help"));
        SMSC_ASSIGN_OR_RETURN(u.replace_default_keywords, OptBool(kw, "replace_defaults"));
        SMSC_ASSIGN_OR_RETURN(u.free_text, OptBool(kw, "free_text"));
        const json replies = body.value("replies", json::object());
        if (!replies.is_object()) return InvalidArgument("'replies' must be an object");
        SMSC_ASSIGN_OR_RETURN(u.reply_opt_in, OptString(replies, "opt_in"));
        SMSC_ASSIGN_OR_RETURN(u.reply_opt_out, OptString(replies, "opt_out"));
        SMSC_ASSIGN_OR_RETURN(u.reply_help, OptString(replies, "help"));
        SMSC_ASSIGN_OR_RETURN(u.reply_confirmation_request,
                              OptString(replies, "confirmation_request"));
        SMSC_ASSIGN_OR_RETURN(SenderNumber n, service_.UpdateNumber(a.id, id, u));
        return JsonResponse(200, ToJson(n));
      }));

  // ---- contacts ----
  router_.Add("POST", "/v1/contacts",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                static const JsonFields kNewContactFields = {{"phone"}, {"name"}, {"email"}};
                SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kNewContactFields));
                SMSC_ASSIGN_OR_RETURN(std::string phone, ReqString(body, "phone"));
                SMSC_ASSIGN_OR_RETURN(auto name, OptString(body, "name"));
                SMSC_ASSIGN_OR_RETURN(auto email, OptString(body, "email"));
                SMSC_ASSIGN_OR_RETURN(Contact c, service_.AddContact(a.id, phone, name.value_or(""),
                                                                     email.value_or("")));
                return JsonResponse(201, ToJson(c));
              }));
  router_.Add("GET", "/v1/contacts",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                // ?include=subscriptions: every contact's stored states too, read for the
                // whole page at once.
                bool subscriptions = false;
                if (req.HasQuery("include")) {
                  SMSC_ASSIGN_OR_RETURN(auto include, QueryList(req, "include"));
                  for (const std::string& what : include) {
                    if (what != "subscriptions") {
                      return InvalidArgument("'include' takes 'subscriptions', not '" + what + "'");
                    }
                    subscriptions = true;
                  }
                }
                auto add_subscriptions = [&](json& items) -> Status {
                  if (!subscriptions) return Status::Ok();
                  std::vector<int64_t> ids;
                  for (const json& c : items) ids.push_back(c["id"].get<int64_t>());
                  SMSC_ASSIGN_OR_RETURN(auto states, service_.StoredStatuses(a.id, ids));
                  for (json& c : items) {
                    json subs = json::array();
                    for (const NumberStatus& s : states[c["id"].get<int64_t>()]) {
                      subs.push_back(SubscriptionJson(s));
                    }
                    c["subscriptions"] = std::move(subs);
                  }
                  return Status::Ok();
                };
                // ?phone=: the one contact with that number (any format the account's
                // region reads), or none.
                if (req.HasQuery("phone")) {
                  SMSC_ASSIGN_OR_RETURN(PhoneNumber p, service_.phones().Normalize(
                                                           req.Query("phone"), a.default_region));
                  json items = json::array();
                  auto found = store_.FindContactByPhone(a.id, p.e164);
                  if (found.ok()) {
                    items.push_back(ToJson(*found));
                  } else if (found.status().code() != StatusCode::kNotFound) {
                    return found.status();
                  }
                  SMSC_RETURN_IF_ERROR(add_subscriptions(items));
                  return JsonResponse(200, Page(std::move(items), false, 0));
                }
                // Status on one number: both parameters or neither.
                if (req.HasQuery("number") != req.HasQuery("status")) {
                  return InvalidArgument(
                      "query parameters 'number' (a sender number id) and 'status' go together");
                }
                // The same filters as a bulk change: search, number+status, created_from,
                // created_before, prop.NAME, filter=EXPR (src/core/contact_filter.h).
                std::map<std::string, std::string> params;
                for (const auto& [k, v] : req.query) params.emplace(k, v);
                SMSC_ASSIGN_OR_RETURN(ContactFilter filter, ContactFilterFromQuery(params));
                SMSC_ASSIGN_OR_RETURN(ContactQuery q, service_.QueryFor(a.id, filter));
                SMSC_ASSIGN_OR_RETURN(q.after_id, Cursor(req));
                SMSC_ASSIGN_OR_RETURN(q.limit, PageLimit(req, 50, 1000));
                SMSC_ASSIGN_OR_RETURN(auto contacts, service_.ListContacts(a.id, q));
                json items = json::array();
                for (const auto& c : contacts) items.push_back(ToJson(c));
                SMSC_RETURN_IF_ERROR(add_subscriptions(items));
                return JsonResponse(
                    200, Page(std::move(items), static_cast<int>(contacts.size()) == q.limit,
                              contacts.empty() ? 0 : contacts.back().id));
              }));
  router_.Add("GET", "/v1/contacts/{contact}",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
                SMSC_ASSIGN_OR_RETURN(Contact c, service_.GetContact(a.id, id));
                return JsonResponse(200, ToJson(c));
              }));
  router_.Add("PATCH", "/v1/contacts/{contact}",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
                static const JsonFields kContactPatchFields = {{"name"}, {"email"}, {"phone"}};
                SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kContactPatchFields));
                ContactUpdate u;
                SMSC_ASSIGN_OR_RETURN(u.name, OptString(body, "name"));
                SMSC_ASSIGN_OR_RETURN(u.email, OptString(body, "email"));
                SMSC_ASSIGN_OR_RETURN(auto phone, OptString(body, "phone"));
                if (phone) {
                  // Echoing the stored phone back is fine; changing it is not.
                  SMSC_ASSIGN_OR_RETURN(Contact current, service_.GetContact(a.id, id));
                  if (*phone != current.phone) {
                    return InvalidArgument(
                        "'phone' cannot be changed: consent is given by a phone number, so a new "
                        "number is a new contact (POST /v1/contacts)");
                  }
                }
                SMSC_ASSIGN_OR_RETURN(Contact c, service_.UpdateContact(a.id, id, u));
                return JsonResponse(200, ToJson(c));
              }));
  router_.Add("DELETE", "/v1/contacts/{contact}",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
                SMSC_RETURN_IF_ERROR(service_.DeleteContact(a.id, id));
                HttpResponse r;
                r.status = 204;
                return r;
              }));
  router_.Add("GET", "/v1/contacts/{contact}/subscriptions",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
                SMSC_ASSIGN_OR_RETURN(auto statuses, service_.ContactStatuses(a.id, id));
                json items = json::array();
                for (const auto& s : statuses) items.push_back(SubscriptionJson(s));
                return JsonResponse(200, {{"items", items}});
              }));
  router_.Add("PUT", "/v1/contacts/{contact}/subscriptions/{number}",
              authed([this](const Caller& a, const HttpRequest& req,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t contact_id, PathId(p, "contact"));
                SMSC_ASSIGN_OR_RETURN(int64_t number_id, PathId(p, "number"));
                static const JsonFields kStatusChangeFields = {
                    {"status"}, {"attest"},  {"legal_basis"},          {"explanation"},
                    {"actor"},  {"channel"}, {"on_behalf_of_contact"}, {"received_at"}};
                SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kStatusChangeFields));
                SMSC_ASSIGN_OR_RETURN(Contact contact, service_.GetContact(a.id, contact_id));
                SMSC_ASSIGN_OR_RETURN(SenderNumber number, service_.GetNumber(a.id, number_id));
                StatusChangeRequest change;
                change.account_id = a.id;
                change.phone = contact.phone;
                change.number = number.number;
                SMSC_ASSIGN_OR_RETURN(std::string status, ReqString(body, "status"));
                SMSC_ASSIGN_OR_RETURN(change.target, ParseSubscriptionStatus(status));
                change.source = Source::kApi;
                if (a.via_session) {
                  // A staff member on the contact record: the help article's manual change, by who
                  // signed in ("actor" in the body is ignored).
                  change.source = Source::kManual;
                  change.actor = a.actor;
                } else {
                  SMSC_ASSIGN_OR_RETURN(auto actor, OptString(body, "actor"));
                  change.actor = actor ? "api:" + *actor : "api";
                }
                SMSC_ASSIGN_OR_RETURN(auto on_behalf, OptBool(body, "on_behalf_of_contact"));
                SMSC_ASSIGN_OR_RETURN(auto channel, OptString(body, "channel"));
                SMSC_ASSIGN_OR_RETURN(auto received_at, OptString(body, "received_at"));
                if (on_behalf.value_or(false)) {
                  // The contact's own opt-out, asked for by another channel (FCC 24-24).
                  if (change.target != SubscriptionStatus::kOptedOut) {
                    return InvalidArgument(
                        "on_behalf_of_contact records the contact's opt-out: 'status' must be "
                        "opted_out");
                  }
                  if (body.contains("attest") || body.contains("legal_basis")) {
                    return InvalidArgument(
                        "'attest' and 'legal_basis' are for opt-ins, not for an opt-out on the "
                        "contact's behalf");
                  }
                  ContactOptOutRequest opt_out;
                  opt_out.account_id = a.id;
                  opt_out.phone = contact.phone;
                  opt_out.number = number.number;
                  SMSC_ASSIGN_OR_RETURN(opt_out.channel, ReqString(body, "channel"));
                  if (received_at) {
                    auto span = ParseTimeSpan(*received_at);
                    if (!span.ok()) {
                      return InvalidArgument("'received_at': " + span.status().message());
                    }
                    opt_out.received_at_ms = span->start_ms;
                  }
                  SMSC_ASSIGN_OR_RETURN(auto explanation, OptString(body, "explanation"));
                  opt_out.explanation = explanation.value_or("");
                  opt_out.actor = change.actor;
                  SMSC_ASSIGN_OR_RETURN(StatusChangeResult r,
                                        service_.RecordContactOptOut(opt_out));
                  return JsonResponse(200, {{"status_before", SubscriptionStatusName(r.event.from)},
                                            {"status_after", SubscriptionStatusName(r.event.to)},
                                            {"changed", r.changed},
                                            {"event", ToJson(r.event)},
                                            {"replies", json::array()}});
                }
                if (channel || received_at) {
                  return InvalidArgument(
                      "'channel' and 'received_at' go with \"on_behalf_of_contact\": true");
                }
                SMSC_ASSIGN_OR_RETURN(auto attest, OptBool(body, "attest"));
                change.attestation.express_consent = attest.value_or(false);
                SMSC_ASSIGN_OR_RETURN(auto basis, OptString(body, "legal_basis"));
                if (basis) {
                  SMSC_ASSIGN_OR_RETURN(change.attestation.legal_basis, ParseLegalBasis(*basis));
                }
                SMSC_ASSIGN_OR_RETURN(auto explanation, OptString(body, "explanation"));
                change.attestation.explanation = explanation.value_or("");
                SMSC_ASSIGN_OR_RETURN(StatusChangeResult r, service_.SetStatus(change));
                if (!r.replies.empty() && notify_outbox_) notify_outbox_();
                json replies = json::array();
                for (const auto& rep : r.replies) replies.push_back(ToJson(rep));
                return JsonResponse(200, {{"status_before", SubscriptionStatusName(r.event.from)},
                                          {"status_after", SubscriptionStatusName(r.event.to)},
                                          {"changed", r.changed},
                                          {"event", ToJson(r.event)},
                                          {"replies", replies}});
              }));
  router_.Add("GET", "/v1/contacts/{contact}/history",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "contact"));
                SMSC_ASSIGN_OR_RETURN(auto events, service_.ContactHistory(a.id, id));
                json items = json::array();
                for (const auto& e : events) items.push_back(ToJson(e));
                return JsonResponse(200, {{"items", items}});
              }));

  // ---- the check before every send ----
  router_.Add("GET", "/v1/consent",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                if (!req.HasQuery("phone") || !req.HasQuery("number")) {
                  return InvalidArgument("query parameters 'phone' and 'number' are required");
                }
                SMSC_ASSIGN_OR_RETURN(ConsentAnswer c,
                                      service_.CheckConsent(a.id, std::string(req.Query("phone")),
                                                            std::string(req.Query("number"))));
                // Written as text: this is the call made before every send, and building an
                // object tree to dump() it cost as much as the store lookup.
                HttpResponse r;
                std::string& b = r.body;
                b.reserve(160);
                b += c.allowed ? "{\"allowed\":true,\"phone\":" : "{\"allowed\":false,\"phone\":";
                AppendJsonString(b, c.phone);
                b += ",\"number\":";
                AppendJsonString(b, c.number);
                b += ",\"status\":";
                AppendJsonString(b, SubscriptionStatusName(c.state.status));
                b += ",\"since\":";
                if (c.state.updated_at_ms) {
                  AppendJsonString(b, FormatTimestampMs(c.state.updated_at_ms));
                  b += ",\"source\":";
                  AppendJsonString(b, SourceName(c.state.source));
                  b += "}";
                } else {
                  b += "null,\"source\":null}";
                }
                return r;
              }));

  // ---- ledger export ----
  router_.Add("GET", "/v1/ledger",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                EventQuery q;
                SMSC_ASSIGN_OR_RETURN(q.after_seq, Cursor(req));
                SMSC_ASSIGN_OR_RETURN(q.limit, PageLimit(req, 500, 5000));
                SMSC_ASSIGN_OR_RETURN(auto events, service_.ListEvents(a.id, q));
                json items = json::array();
                for (const auto& e : events) {
                  json j = ToJson(e);
                  j["contact_id"] = e.contact_id;
                  j["number_id"] = e.number_id;
                  items.push_back(std::move(j));
                }
                return JsonResponse(
                    200, Page(std::move(items), static_cast<int>(events.size()) == q.limit,
                              events.empty() ? 0 : events.back().seq));
              }));

  // ---- inbound messages and their replies ----
  router_.Add(
      "GET", "/v1/messages",
      authed([this](const Account& a, const HttpRequest& req,
                    const PathParams&) -> Result<HttpResponse> {
        InboundQuery q;
        if (req.HasQuery("before")) {
          SMSC_ASSIGN_OR_RETURN(q.before_id, ParseInt(req.Query("before"), "before", 1, INT64_MAX));
        }
        SMSC_ASSIGN_OR_RETURN(q.limit, PageLimit(req, 50, 200));
        if (req.HasQuery("contact")) {
          SMSC_ASSIGN_OR_RETURN(q.contact_id,
                                ParseInt(req.Query("contact"), "contact", 1, INT64_MAX));
        }
        if (req.HasQuery("number")) {
          SMSC_ASSIGN_OR_RETURN(q.number_id, ParseInt(req.Query("number"), "number", 1, INT64_MAX));
        }
        const std::string_view direction = req.Query("direction", "inbound");
        if (direction == "outbound") {
          // The messages the business sent through the service, newest first, each with its
          // outbox state: with contact=, the other half of that contact's conversation.
          if (q.contact_id) SMSC_RETURN_IF_ERROR(service_.GetContact(a.id, *q.contact_id).status());
          if (q.number_id) SMSC_RETURN_IF_ERROR(service_.GetNumber(a.id, *q.number_id).status());
          OutboxQuery o;
          o.before_id = q.before_id;
          o.limit = q.limit;
          o.contact_id = q.contact_id;
          o.number_id = q.number_id;
          o.kind = ReplyKind::kMessage;
          o.newest_first = true;
          SMSC_ASSIGN_OR_RETURN(auto sent, service_.ListOutbox(a.id, o));
          json items = json::array();
          for (const auto& m : sent) items.push_back(ToJson(m));
          return JsonResponse(200, Page(std::move(items), static_cast<int>(sent.size()) == o.limit,
                                        sent.empty() ? 0 : sent.back().id));
        }
        if (direction != "inbound")
          return InvalidArgument("'direction' must be inbound or outbound");
        SMSC_ASSIGN_OR_RETURN(auto messages, service_.ListMessages(a.id, q));
        json items = json::array();
        for (const auto& m : messages) items.push_back(ToJson(m));
        return JsonResponse(200,
                            Page(std::move(items), static_cast<int>(messages.size()) == q.limit,
                                 messages.empty() ? 0 : messages.back().message.id));
      }));

  // ---- outbox ----
  router_.Add(
      "GET", "/v1/outbox",
      authed([this](const Account& a, const HttpRequest& req,
                    const PathParams&) -> Result<HttpResponse> {
        OutboxQuery q;
        SMSC_ASSIGN_OR_RETURN(q.after_id, Cursor(req));
        if (req.HasQuery("before")) {
          SMSC_ASSIGN_OR_RETURN(q.before_id, ParseInt(req.Query("before"), "before", 1, INT64_MAX));
        }
        SMSC_ASSIGN_OR_RETURN(q.limit, PageLimit(req, 100, 1000));
        if (req.HasQuery("state")) {
          SMSC_ASSIGN_OR_RETURN(auto states, QueryList(req, "state"));
          for (const std::string& s : states) {
            SMSC_ASSIGN_OR_RETURN(OutboxState state, ParseOutboxState(s));
            q.states.push_back(state);
          }
        }
        // order=desc: newest first; the next page is then before=<next>.
        const std::string_view order = req.Query("order", "asc");
        if (order != "asc" && order != "desc") {
          return InvalidArgument("'order' must be asc or desc");
        }
        q.newest_first = order == "desc";
        SMSC_ASSIGN_OR_RETURN(auto items, service_.ListOutbox(a.id, q));
        json out = json::array();
        for (const auto& o : items) out.push_back(ToJson(o));
        return JsonResponse(200, Page(std::move(out), static_cast<int>(items.size()) == q.limit,
                                      items.empty() ? 0 : items.back().id));
      }));
  // ---- compliance: revocations and the FCC's 10-business-day clock ----
  router_.Add("GET", "/v1/compliance/revocations",
              authed([this](const Account& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                RevocationQuery q;
                SMSC_ASSIGN_OR_RETURN(q.after_seq, Cursor(req));
                SMSC_ASSIGN_OR_RETURN(q.limit,
                                      PageLimit(req, 50, ConsentService::kMaxRevocationPage));
                const std::string_view late = req.Query("late", "false");
                if (late != "true" && late != "false")
                  return InvalidArgument("'late' must be true or false");
                q.late_only = late == "true";
                SMSC_ASSIGN_OR_RETURN(RevocationPage page, service_.ListRevocations(a.id, q));
                json items = json::array();
                for (const Revocation& r : page.items) items.push_back(ToJson(r));
                return JsonResponse(200, Page(std::move(items), page.next_after_seq.has_value(),
                                              page.next_after_seq.value_or(0)));
              }));
  router_.Add("GET", "/v1/outbox/{item}",
              authed([this](const Account& a, const HttpRequest&,
                            const PathParams& p) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(int64_t id, PathId(p, "item"));
                SMSC_ASSIGN_OR_RETURN(OutboxItem o, service_.GetOutboxItem(a.id, id));
                return JsonResponse(200, ToJson(o));
              }));

  // ---- provider webhooks (GET for Kannel/Vonage get-url style) ----
  // Kannel's get-url carries the message in the charset it names (UCS-2 as UTF-16BE bytes):
  // the provider decodes the query, and the message's fields are checked as text once it has
  // (ConsentService::ReceiveRoutedAsync).
  for (const char* method : {"POST", "GET"}) {
    router_.AddAsync(
        method, "/webhooks/{provider}",
        [this](const HttpRequest& req, const PathParams& p, Responder respond) {
          Webhook(req, p.at("provider"), std::move(respond));
        },
        QueryBytes::kAny);
    // Delivery status callbacks (docs/sending.md, "Delivery status"): the URL each message
    // asks its provider to post its status to.
    router_.Add(
        method, "/webhooks/{provider}/status",
        [this](const HttpRequest& req, const PathParams& p) {
          return WebhookStatus(req, p.at("provider"));
        },
        QueryBytes::kAny);
  }
}

WebhookRequest Api::ToWebhookRequest(const HttpRequest& req) const {
  WebhookRequest wr;
  wr.method = req.method;
  const std::string base = options_.public_url.empty() ? "http://" + std::string(req.Header("host"))
                                                       : options_.public_url;
  wr.url =
      (base.size() && base.back() == '/' ? base.substr(0, base.size() - 1) : base) + req.target;
  wr.path = req.path;
  wr.query = req.query;
  wr.headers = req.headers;
  wr.body = req.body;
  return wr;
}

HttpResponse Api::WebhookStatus(const HttpRequest& req, const std::string& name) const {
  WebhookOutcome outcome = webhooks_.ReceiveStatus(name, ToWebhookRequest(req));
  if (!outcome.status.ok()) return ErrorResponse(outcome.status);
  if (outcome.delivery != nullptr) metrics_.RecordDeliveryCallback(name, outcome.delivery);
  return FromWebhook(std::move(outcome.response));
}

void Api::Webhook(const HttpRequest& req, const std::string& name, Responder respond) const {
  WebhookRequest wr = ToWebhookRequest(req);
  webhooks_.Receive(name, wr, [this, name, respond = std::move(respond)](WebhookOutcome outcome) {
    if (!outcome.status.ok()) return respond(ErrorResponse(outcome.status));
    if (outcome.intent != nullptr) metrics_.RecordDecision(name, outcome.intent);
    respond(FromWebhook(std::move(outcome.response)));
  });
}

}  // namespace smsconsent
