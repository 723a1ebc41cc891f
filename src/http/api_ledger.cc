// Routes of the verifiable ledger (docs/ledger.md):
//   GET /v1/ledger/head                       a signed tree head covering every event so far
//   GET /v1/ledger/heads?after=SIZE&limit=    the heads kept, ascending by size
//   GET /v1/ledger/consistency?from=&to=      consistency proof between two kept heads (to
//                                             omitted: a current head)
//   GET /v1/ledger/public-key                 the key that signs tree heads
#include <string>

#include "app/ledger_service.h"
#include "app/proof.h"
#include "core/base64.h"
#include "core/proof_verify.h"
#include "http/api.h"
#include "http/api_util.h"

namespace smsconsent {

using nlohmann::json;

Result<LedgerService*> Api::Ledger() const {
  if (ledger_ == nullptr) {
    return Status(StatusCode::kUnavailable, "the verifiable ledger is not enabled on this server");
  }
  return ledger_;
}

void Api::AddLedgerRoutes() {
  router_.Add("GET", "/v1/ledger/head",
              Authed([this](const Caller& a, const HttpRequest&,
                            const PathParams&) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(LedgerService * ledger, Ledger());
                SMSC_ASSIGN_OR_RETURN(SignedTreeHead head, ledger->CurrentHead(a.id));
                return JsonResponse(200, SignedTreeHeadToJson(head));
              }));
  router_.Add("GET", "/v1/ledger/heads",
              Authed([this](const Caller& a, const HttpRequest& req,
                            const PathParams&) -> Result<HttpResponse> {
                SMSC_ASSIGN_OR_RETURN(LedgerService * ledger, Ledger());
                SMSC_ASSIGN_OR_RETURN(int64_t after, Cursor(req));
                SMSC_ASSIGN_OR_RETURN(int limit, PageLimit(req, 100, 1000));
                SMSC_ASSIGN_OR_RETURN(auto heads, ledger->ListHeads(a.id, after, limit));
                json items = json::array();
                for (const SignedTreeHead& h : heads) items.push_back(SignedTreeHeadToJson(h));
                return JsonResponse(200,
                                    Page(std::move(items), static_cast<int>(heads.size()) == limit,
                                         heads.empty() ? 0 : heads.back().head.size));
              }));
  router_.Add(
      "GET", "/v1/ledger/consistency",
      Authed([this](const Caller& a, const HttpRequest& req,
                    const PathParams&) -> Result<HttpResponse> {
        SMSC_ASSIGN_OR_RETURN(LedgerService * ledger, Ledger());
        if (!req.HasQuery("from")) {
          return InvalidArgument("query parameter 'from' (a tree size) is required");
        }
        SMSC_ASSIGN_OR_RETURN(int64_t from, ParseInt(req.Query("from"), "from", 1, INT64_MAX));
        int64_t to = 0;
        if (req.HasQuery("to")) {
          SMSC_ASSIGN_OR_RETURN(to, ParseInt(req.Query("to"), "to", 1, INT64_MAX));
        }
        SMSC_ASSIGN_OR_RETURN(ConsistencyAnswer answer, ledger->Consistency(a.id, from, to));
        return JsonResponse(200, ConsistencyToJson(answer));
      }));
  router_.Add(
      "GET", "/v1/ledger/public-key",
      Authed([this](const Caller&, const HttpRequest&, const PathParams&) -> Result<HttpResponse> {
        SMSC_ASSIGN_OR_RETURN(LedgerService * ledger, Ledger());
        const SigningKey& key = ledger->key();
        return JsonResponse(200, json{{"key_id", key.KeyId()},
                                      {"public_key", base64::Encode(key.PublicKeyRaw())},
                                      {"pem", PublicKeyPem(key.PublicKeyRaw())}});
      }));
}

}  // namespace smsconsent
