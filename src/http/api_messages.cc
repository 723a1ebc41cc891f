// Messages the business sends through the service (docs/sending.md):
//   POST /v1/messages  {"to", "from" (number id or text), "body", "purpose", "send_at"}
//     with an optional Idempotency-Key header: 202 and the message queued (or, for a key
//     used before with the same request, the message it queued, with Idempotent-Replayed:
//     true); 409 {"error": {"code": "not_opted_in" | "opted_out" | "addon_missing" |
//     "number_not_permitted", "message"}} when the rules refuse it, and nothing is queued.
//   POST /v1/messages/preview  the same body: 200 and what POST /v1/messages would queue now
//     (the body as it would be sent, with the opt-out notice when the number's policy adds it,
//     its segments, the schedule) or "refusal": {"code", "message"}; queues nothing.
#include <string>

#include "app/json_views.h"
#include "core/contact_filter.h"
#include "http/api.h"
#include "http/api_util.h"

namespace smsconsent {

using nlohmann::json;

namespace {

constexpr size_t kMaxIdempotencyKey = 255;

// Printable ASCII without spaces, 1-255 bytes; absent is "".
Result<std::string> MessageIdempotencyKey(const HttpRequest& req) {
  const std::string_view key = req.Header("idempotency-key");
  if (key.size() > kMaxIdempotencyKey) {
    return InvalidArgument("the Idempotency-Key header may be at most 255 characters");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidArgument("the Idempotency-Key header must be printable ASCII without spaces");
    }
  }
  return std::string(key);
}

Result<MessageRequest> ReadMessageRequest(const HttpRequest& req) {
  static const JsonFields kFields = {{"to"}, {"from"}, {"body"}, {"purpose"}, {"send_at"}};
  SMSC_ASSIGN_OR_RETURN(json body, ParseJsonBody(req, kFields));
  MessageRequest m;
  SMSC_ASSIGN_OR_RETURN(m.to, ReqString(body, "to"));
  const json& from = body.contains("from") ? body["from"] : json(nullptr);
  if (from.is_number_integer() && from.get<int64_t>() > 0) {
    m.from_id = from.get<int64_t>();
  } else if (from.is_string() && !from.get<std::string>().empty()) {
    m.from = from.get<std::string>();
  } else {
    return InvalidArgument("'from' must be a sender number's id or its number");
  }
  SMSC_ASSIGN_OR_RETURN(m.body, ReqString(body, "body"));
  SMSC_ASSIGN_OR_RETURN(auto purpose, OptString(body, "purpose"));
  if (purpose) {
    auto parsed = ParsePurpose(*purpose);
    if (!parsed.ok()) return InvalidArgument("'purpose' must be marketing or transactional");
    m.purpose = *parsed;
  }
  SMSC_ASSIGN_OR_RETURN(auto send_at, OptString(body, "send_at"));
  if (send_at) {
    auto span = ParseTimeSpan(*send_at);
    if (!span.ok()) return InvalidArgument("'send_at': " + span.status().message());
    if (span->end_ms - span->start_ms != 1) {
      return InvalidArgument("'send_at' must be a date and time with Z or an offset");
    }
    m.send_at_ms = span->start_ms;
  }
  SMSC_ASSIGN_OR_RETURN(m.idempotency_key, MessageIdempotencyKey(req));
  return m;
}

}  // namespace

void Api::AddMessageRoutes() {
  // Answered once the message is durable, without holding an HTTP thread meanwhile (the
  // group commit's writer calls back, as for webhooks).
  router_.AddAsync(
      "POST", "/v1/messages",
      AuthedAsync(
          [this](const Caller& a, const HttpRequest& req, const PathParams&, AuthedAnswer answer) {
            Result<MessageRequest> m = ReadMessageRequest(req);
            if (!m.ok()) return answer(m.status());
            service_.SendMessageAsync(
                a.id, *m, [this, answer = std::move(answer)](Result<MessageOutcome> out) -> void {
                  if (!out.ok()) return answer(out.status());
                  if (out->refusal) {
                    return answer(ErrorResponse(409, SendRefusalCode(out->refusal->why),
                                                out->refusal->message));
                  }
                  HttpResponse r = JsonResponse(202, MessageJson(*out, clock_.NowMs()));
                  if (out->replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
                  answer(std::move(r));
                });
          }));
  // Reads only, so it answers on the HTTP thread; the page asks it as the user types.
  router_.Add("POST", "/v1/messages/preview",
              Authed([this](const Caller& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(MessageRequest m, ReadMessageRequest(req));
                SMSC_ASSIGN_OR_RETURN(MessageOutcome out, service_.PreviewMessage(a.id, m));
                return JsonResponse(200, MessagePreviewJson(m, out, clock_.NowMs()));
              }));
}

}  // namespace smsconsent
