// Integration tests: the real `smsconsent serve` binary on 127.0.0.1 port 0, driven over HTTP.
#include <openssl/hmac.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/merkle.h"
#include "http/client.h"
#include "providers/webhook.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Form;
using serve_fixture::RunCli;
namespace fs = std::filesystem;

// A Twilio message SID ("SM" and 32 lowercase hex digits) made from `tag`, so that tests can
// tell their messages apart: the hex of its bytes, padded with zeros.
std::string Sid(const std::string& tag) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string sid = "SM";
  for (const unsigned char c : tag) {
    sid.push_back(kHex[c >> 4]);
    sid.push_back(kHex[c & 15]);
  }
  sid.resize(34, '0');
  return sid;
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("serve");
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    if (db_.empty()) return;
    json a = json::parse(RunCli(db_, {"account", "create", "--name", "Acme", "--addons",
                                      "marketing_sms_access,sms_short_code"}));
    account_ = a["id"].get<int64_t>();
    key_ = a["api_key"];
    json b = json::parse(
        RunCli(db_, {"account", "create", "--name", "Other", "--addons", "marketing_sms_access"}));
    other_key_ = b["api_key"];
    json c = json::parse(RunCli(db_, {"account", "create", "--name", "NoSms"}));
    bare_key_ = c["api_key"];
    RunCli(db_,
           {"number", "add", "--account", std::to_string(account_), "--number", "+15551234567"});
    RunCli(db_, {"number", "add", "--account", std::to_string(account_), "--number", "12345",
                 "--kind", "short_code", "--country", "US"});
    RunCli(db_, {"provider", "set", "--account", std::to_string(account_), "--provider", "twilio",
                 "--auth-token", "secret"});
    RunCli(db_, {"provider", "set", "--account", std::to_string(account_), "--provider", "generic",
                 "--secret", "gsecret", "--sender", "log"});
    StartServer();
  }

  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  static void StartServer() {
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(),
                              {"--threads", "2", "--max-body-bytes", "4096", "--outbox-poll-ms",
                               "50", "--shutdown-grace-ms", "2000"},
                              &server_);
    base_ = server_.base_url;
  }

  // The /metrics text once it holds every one of `wants` (or after 2 s, for the failure
  // message): a request is counted when its response has been written, so the count can
  // trail the client's view by a moment.
  std::string MetricsContaining(const std::vector<std::string>& wants) {
    std::string body;
    for (int attempt = 0; attempt < 100; ++attempt) {
      body = Call("GET", "/metrics", "", "").body;
      bool all = true;
      for (const std::string& w : wants) all = all && body.find(w) != std::string::npos;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return body;
  }

  HttpClientResponse Call(const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& key = key_,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    req.headers = std::move(headers);
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    if (!body.empty() && std::none_of(req.headers.begin(), req.headers.end(),
                                      [](const auto& h) { return h.first == "Content-Type"; })) {
      req.headers.emplace_back("Content-Type", "application/json");
    }
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }

  json CallJson(const std::string& method, const std::string& path, const std::string& body,
                int expect_status, const std::string& key = key_) {
    HttpClientResponse r = Call(method, path, body, key);
    EXPECT_EQ(r.status, expect_status) << method << " " << path << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  HttpClientResponse TwilioPost(const std::vector<std::pair<std::string, std::string>>& params,
                                const std::string& token = "secret") {
    const std::string url = base_ + "/webhooks/twilio";
    return Call("POST", "/webhooks/twilio", Form(params), "",
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", serve_fixture::TwilioSignature(token, url, params)}});
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, other_key_, bare_key_, base_;
  static inline int64_t account_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(Serve, HealthzMetricsAndOpenApi) {
  EXPECT_EQ(CallJson("GET", "/healthz", "", 200, "")["status"], "ok");
  json api = CallJson("GET", "/openapi.json", "", 200, "");
  EXPECT_EQ(api["openapi"], "3.0.3");
  EXPECT_TRUE(api["paths"].contains("/v1/consent"));
  EXPECT_EQ(Call("GET", "/metrics", "", "").status, 200);
  const std::string m = MetricsContaining({"smsconsent_http_requests_total{route=\"/healthz\""});
  EXPECT_NE(m.find("smsconsent_http_requests_total{route=\"/healthz\""), std::string::npos) << m;
  EXPECT_NE(m.find("smsconsent_outbox_items"), std::string::npos);
}

// The same consent check twice with nothing committed in between: the second is answered by
// SQLite's consent cache, and /metrics counts it. PostgreSQL has no such cache: both counters
// stay 0 there.
TEST_F(Serve, MetricsCountConsentChecksAnsweredByTheCache) {
  auto counter = [](const std::string& body, const std::string& name) {
    const size_t at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(body.substr(at + name.size() + 2));
  };
  const std::string check = "/v1/consent?phone=%2B15550002222&number=%2B15551234567";
  HttpClientResponse before = Call("GET", "/metrics", "", "");
  const long long hits = counter(before.body, "smsconsent_consent_cache_hits_total");
  const long long misses = counter(before.body, "smsconsent_consent_cache_misses_total");
  ASSERT_GE(hits, 0) << before.body;
  ASSERT_GE(misses, 0) << before.body;
  EXPECT_EQ(CallJson("GET", check, "", 200)["allowed"], false);
  EXPECT_EQ(CallJson("GET", check, "", 200)["allowed"], false);
  HttpClientResponse after = Call("GET", "/metrics", "", "");
  if (serve_fixture::OnPostgres()) {
    EXPECT_EQ(counter(after.body, "smsconsent_consent_cache_hits_total"), 0) << after.body;
    EXPECT_EQ(counter(after.body, "smsconsent_consent_cache_misses_total"), 0);
    return;
  }
  EXPECT_GE(counter(after.body, "smsconsent_consent_cache_hits_total"), hits + 1) << after.body;
  EXPECT_GE(counter(after.body, "smsconsent_consent_cache_misses_total"), misses + 1);
}

// The consent check before a send sees a change made by another process (the CLI) at once,
// also right after the same check was answered (on SQLite, from its cache).
TEST_F(Serve, ConsentCheckSeesTheCliChangeAtOnce) {
  const std::string acct = std::to_string(account_);
  const std::string check = "/v1/consent?phone=%2B15550003333&number=%2B15551234567";
  serve_fixture::Cli(db_, {"contact", "add", "--account", acct, "--phone", "+15550003333"});
  auto set = [&](const std::string& status) {
    serve_fixture::Cli(db_, {"status", "set", "--account", acct, "--phone", "+15550003333",
                             "--number", "+15551234567", "--status", status, "--attest",
                             "--legal-basis", "consent", "--explanation", "signed the form"});
  };
  set("opted_in");
  EXPECT_EQ(CallJson("GET", check, "", 200)["allowed"], true);
  EXPECT_EQ(CallJson("GET", check, "", 200)["allowed"], true);
  set("opted_out");
  json after = CallJson("GET", check, "", 200);
  EXPECT_EQ(after["allowed"], false);
  EXPECT_EQ(after["status"], "opted_out");
  set("opted_in");
  EXPECT_EQ(CallJson("GET", check, "", 200)["allowed"], true);
}

TEST_F(Serve, UnknownRouteAndWrongMethod) {
  EXPECT_EQ(CallJson("GET", "/nope", "", 404)["error"]["code"], "NOT_FOUND");
  HttpClientResponse r = Call("DELETE", "/v1/consent");
  EXPECT_EQ(r.status, 405);
}

// The metrics label of each request is the pattern of the route it matched: "unmatched" for
// an unknown path, the path's pattern for a 405, and also for a query string the server
// refuses (400) before any handler sees the request.
TEST_F(Serve, MetricsLabelRequestsWithTheRouteTheyMatched) {
  auto key = [](const std::string& route, const std::string& method, int status) {
    return "smsconsent_http_requests_total{route=\"" + route + "\",method=\"" + method +
           "\",status=\"" + std::to_string(status) + "\"} ";
  };
  EXPECT_EQ(Call("GET", "/no/such/route/for/labels").status, 404);
  EXPECT_EQ(Call("PUT", "/healthz", "{}").status, 405);
  EXPECT_EQ(Call("PATCH", "/v1/contacts/12345/history", "{}").status, 405);
  EXPECT_EQ(Call("GET", "/v1/numbers/987654").status, 404);
  EXPECT_EQ(Call("GET", "/v1/consent?phone=%ZZ&number=1").status, 400);
  EXPECT_EQ(Call("GET", "/v1/consent?phone=%2B15550001111&number=%2B15551234567", "", "").status,
            401);
  EXPECT_EQ(Call("GET", "/v1/consent?phone=%2B15550001111&number=%2B15551234567").status, 200);
  const std::vector<std::string> wants = {key("unmatched", "GET", 404),
                                          key("/healthz", "PUT", 405),
                                          key("/v1/contacts/{contact}/history", "PATCH", 405),
                                          key("/v1/numbers/{number}", "GET", 404),
                                          key("/v1/consent", "GET", 400),
                                          key("/v1/consent", "GET", 401),
                                          key("/v1/consent", "GET", 200)};
  const std::string m = MetricsContaining(wants);
  for (const std::string& want : wants) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
}

TEST_F(Serve, ApiKeyIsRequired) {
  EXPECT_EQ(CallJson("GET", "/v1/account", "", 401, "")["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(CallJson("GET", "/v1/account", "", 401, "sk_wrong")["error"]["code"],
            "UNAUTHENTICATED");
  EXPECT_EQ(CallJson("GET", "/v1/account", "", 200)["id"], account_);
  // Once a key has authenticated, keys close to it still do not, and each key keeps acting
  // as its own account (and actor).
  std::string off_by_one = key_;
  off_by_one.back() = off_by_one.back() == 'a' ? 'b' : 'a';
  for (const std::string& wrong : {off_by_one, key_ + "0", key_.substr(0, key_.size() - 1)}) {
    EXPECT_EQ(CallJson("GET", "/v1/account", "", 401, wrong)["error"]["code"], "UNAUTHENTICATED")
        << wrong;
  }
  const json other = CallJson("GET", "/v1/account", "", 200, other_key_);
  EXPECT_NE(other["id"], account_);
  EXPECT_EQ(CallJson("GET", "/v1/account", "", 200, other_key_)["id"], other["id"]);
  EXPECT_EQ(CallJson("GET", "/v1/account", "", 200)["id"], account_);
}

TEST_F(Serve, MissingAddOnIsForbidden) {
  EXPECT_EQ(CallJson("GET", "/v1/numbers", "", 403, bare_key_)["error"]["code"],
            "PERMISSION_DENIED");
  CallJson("POST", "/v1/numbers", R"({"number":"+15550001111"})", 403, bare_key_);
  CallJson("POST", "/v1/numbers", R"({"number":"54321","kind":"short_code","country":"US"})", 403,
           other_key_);
}

TEST_F(Serve, NumbersCrudAndCrossAccountIsolation) {
  json created =
      CallJson("POST", "/v1/numbers", R"({"number":"+15550002222","languages":["en","da"]})", 201);
  const std::string path = "/v1/numbers/" + std::to_string(created["id"].get<int64_t>());
  EXPECT_EQ(CallJson("GET", path, "", 200)["number"], "+15550002222");
  json patched =
      CallJson("PATCH", path,
               R"({"keywords":{"opt_out":["BASTA"]},"replies":{"help":"Call 555-0100"}})", 200);
  EXPECT_EQ(patched["keywords"]["opt_out"][0], "BASTA");
  EXPECT_EQ(patched["replies"]["help"], "Call 555-0100");
  CallJson("PATCH", path, R"({"languages":["xx"]})", 400);
  CallJson("PATCH", path, R"({"replies":{"help":"   "}})", 400);
  CallJson("GET", path, "", 404, other_key_);
  CallJson("PATCH", path, R"({"business_name":"x"})", 404, other_key_);
  CallJson("POST", "/v1/numbers", R"({"number":"+15550002222"})", 409);
  CallJson("POST", "/v1/numbers", R"({"number":"not a number"})", 422);
  CallJson("POST", "/v1/numbers", R"({"number":42})", 400);
  CallJson("POST", "/v1/numbers", "{bad json", 400);
  CallJson("GET", "/v1/numbers/abc", "", 404);
}

TEST_F(Serve, ContactsPaginationAndSearch) {
  for (int i = 0; i < 5; ++i) {
    CallJson(
        "POST", "/v1/contacts",
        json({{"phone", "+1415555030" + std::to_string(i)}, {"name", "Page " + std::to_string(i)}})
            .dump(),
        201);
  }
  CallJson("POST", "/v1/contacts", R"({"phone":"+14155550300"})", 409);
  CallJson("POST", "/v1/contacts", R"({"phone":"12ab"})", 422);
  json page1 = CallJson("GET", "/v1/contacts?search=page&limit=3", "", 200);
  ASSERT_EQ(page1["items"].size(), 3u);
  ASSERT_TRUE(page1["next"].is_string());
  json page2 = CallJson(
      "GET", "/v1/contacts?search=page&limit=3&after=" + page1["next"].get<std::string>(), "", 200);
  EXPECT_EQ(page2["items"].size(), 2u);
  EXPECT_TRUE(page2["next"].is_null());
  CallJson("GET", "/v1/contacts?limit=0", "", 400);
  EXPECT_EQ(CallJson("GET", "/v1/contacts?search=page", "", 200, other_key_)["items"].size(), 0u);
}

// A contact search takes at most 20 property filters: each one is a condition per contact and
// a query shape the store prepares. Past that the answer is 400 and says so, and never the
// store's own error text.
TEST_F(Serve, ContactSearchTakesAtMostTwentyPropertyFilters) {
  auto props = [](int n) {
    std::string q;
    for (int i = 1; i <= n; ++i) q += "&prop.p" + std::to_string(i) + "=x";
    return q;
  };
  CallJson("GET", "/v1/contacts?limit=5" + props(20), "", 200);
  for (int n : {21, 996}) {
    HttpClientResponse r = Call("GET", "/v1/contacts?limit=5" + props(n));
    EXPECT_EQ(r.status, 400) << n << ": " << r.body;
    EXPECT_NE(r.body.find("at most 20 prop.NAME terms"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("SELECT"), std::string::npos) << r.body;
  }
  // The filter expression counts too, with the parameters beside it.
  HttpClientResponse r =
      Call("GET",
           "/v1/contacts?filter=" + serve_fixture::PercentEncode("prop.a=1 prop.b=2") + props(19));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("at most 20 prop.NAME terms"), std::string::npos) << r.body;
}

TEST_F(Serve, PatchContactChangesNameAndEmailButNotThePhone) {
  json c = CallJson("POST", "/v1/contacts", R"({"phone":"+14155551100","name":"Before"})", 201);
  const std::string path = "/v1/contacts/" + std::to_string(c["id"].get<int64_t>());
  json patched =
      CallJson("PATCH", path, R"({"name":"Søren After","email":"soren@example.dk"})", 200);
  EXPECT_EQ(patched["id"], c["id"]);
  EXPECT_EQ(patched["name"], "Søren After");
  EXPECT_EQ(patched["email"], "soren@example.dk");
  EXPECT_EQ(patched["phone"], "+14155551100");
  EXPECT_EQ(patched["created_at"], c["created_at"]);
  json got = CallJson("GET", path, "", 200);
  EXPECT_EQ(got["name"], "Søren After");
  EXPECT_EQ(got["email"], "soren@example.dk");
  // Only the members given change; repeating the phone is fine, changing it is not.
  EXPECT_EQ(
      CallJson("PATCH", path, R"({"email":"new@example.dk","phone":"+14155551100"})", 200)["name"],
      "Søren After");
  json refused = CallJson("PATCH", path, R"({"phone":"+14155551101"})", 400);
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("phone"), std::string::npos);
  CallJson("PATCH", path, R"({"name":5})", 400);
  CallJson("PATCH", path, "{bad json", 400);
  CallJson("PATCH", path, R"({"name":"Mallory"})", 404, other_key_);
  CallJson("PATCH", "/v1/contacts/987654", R"({"name":"x"})", 404);
  EXPECT_EQ(CallJson("GET", path, "", 200)["name"], "Søren After");
}

TEST_F(Serve, DeleteContactIsRefusedAfterAnInboundStartAndAllowedForAFreshContact) {
  ASSERT_EQ(TwilioPost({{"From", "+14155551200"},
                        {"To", "+15551234567"},
                        {"Body", "START"},
                        {"MessageSid", Sid("del-1")}})
                .status,
            200);
  json found = CallJson("GET", "/v1/contacts?search=4155551200", "", 200);
  ASSERT_EQ(found["items"].size(), 1u);
  const std::string texted =
      "/v1/contacts/" + std::to_string(found["items"][0]["id"].get<int64_t>());
  json refused = CallJson("DELETE", texted, "", 409);
  EXPECT_EQ(refused["error"]["code"], "FAILED_PRECONDITION");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("append-only"), std::string::npos)
      << refused.dump();
  CallJson("GET", texted, "", 200);
  EXPECT_EQ(CallJson("GET", texted + "/history", "", 200)["items"].size(), 1u);

  json fresh = CallJson("POST", "/v1/contacts", R"({"phone":"+14155551201","name":"Fresh"})", 201);
  const std::string path = "/v1/contacts/" + std::to_string(fresh["id"].get<int64_t>());
  CallJson("DELETE", path, "", 404, other_key_);  // another account's key
  CallJson("GET", path, "", 200);
  HttpClientResponse deleted = Call("DELETE", path);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(deleted.body.empty()) << deleted.body;
  CallJson("GET", path, "", 404);
  CallJson("DELETE", path, "", 404);
  EXPECT_EQ(CallJson("GET", "/v1/contacts?search=4155551201", "", 200)["items"].size(), 0u);
}

TEST_F(Serve, ContactsFilterByStatusOnANumberWithPagination) {
  // A number of its own, so that only this test's contacts have a status on it.
  json number = CallJson("POST", "/v1/numbers", R"({"number":"+15550003333"})", 201);
  const std::string nid = std::to_string(number["id"].get<int64_t>());
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    json c = CallJson("POST", "/v1/contacts",
                      json({{"phone", "+1415555130" + std::to_string(i)},
                            {"name", "Filter " + std::to_string(i)}})
                          .dump(),
                      201);
    ids.push_back(c["id"].get<int64_t>());
  }
  auto set = [&](int64_t contact, const char* status) {
    json body = {{"status", status}};
    if (std::string(status) == "opted_in") {
      body["attest"] = true;
      body["legal_basis"] = "consent";
      body["explanation"] = "Signed up at the counter";
    }
    CallJson("PUT", "/v1/contacts/" + std::to_string(contact) + "/subscriptions/" + nid,
             body.dump(), 200);
  };
  set(ids[0], "opted_in");
  set(ids[1], "opted_out");
  set(ids[2], "opted_in");
  set(ids[4], "opted_in");
  set(ids[5], "opted_in");
  set(ids[5], "opted_out");

  const std::string in = "/v1/contacts?number=" + nid + "&status=opted_in";
  json page1 = CallJson("GET", in + "&limit=2", "", 200);
  ASSERT_EQ(page1["items"].size(), 2u);
  EXPECT_EQ(page1["items"][0]["id"], ids[0]);
  EXPECT_EQ(page1["items"][1]["id"], ids[2]);
  ASSERT_TRUE(page1["next"].is_string());
  json page2 = CallJson("GET", in + "&limit=2&after=" + page1["next"].get<std::string>(), "", 200);
  ASSERT_EQ(page2["items"].size(), 1u);
  EXPECT_EQ(page2["items"][0]["id"], ids[4]);
  EXPECT_TRUE(page2["next"].is_null());

  auto listed = [&](const std::string& query) {
    const json page = CallJson("GET", "/v1/contacts?" + query, "", 200);
    std::vector<int64_t> out;
    for (const json& c : page["items"]) out.push_back(c["id"].get<int64_t>());
    return out;
  };
  EXPECT_EQ(listed("number=" + nid + "&status=opted_out"), (std::vector<int64_t>{ids[1], ids[5]}));
  // not_specified: never set on this number; combined with the search.
  EXPECT_EQ(listed("number=" + nid + "&status=not_specified&search=filter"),
            (std::vector<int64_t>{ids[3]}));
  EXPECT_EQ(listed("number=" + nid + "&status=opted_in&search=filter%205"),
            (std::vector<int64_t>{}));

  CallJson("GET", "/v1/contacts?number=" + nid, "", 400);
  CallJson("GET", "/v1/contacts?status=opted_in", "", 400);
  CallJson("GET", "/v1/contacts?number=" + nid + "&status=subscribed", "", 400);
  CallJson("GET", "/v1/contacts?number=abc&status=opted_in", "", 400);
  CallJson("GET", "/v1/contacts?number=987654&status=opted_in", "", 404);
  // Another account's key: the number is not theirs.
  CallJson("GET", in, "", 404, other_key_);
  // Status data needs the Marketing SMS Access add-on.
  CallJson("GET", in, "", 403, bare_key_);
}

TEST_F(Serve, ManualChangeFollowsTheRulesAndConsentCheckAnswers) {
  json c = CallJson("POST", "/v1/contacts", R"({"phone":"+14155550400","name":"Eve"})", 201);
  const std::string cid = std::to_string(c["id"].get<int64_t>());
  json numbers = CallJson("GET", "/v1/numbers", "", 200);
  std::string short_id;
  for (const json& n : numbers["items"]) {
    if (n["number"] == "12345") short_id = std::to_string(n["id"].get<int64_t>());
  }
  ASSERT_FALSE(short_id.empty());
  const std::string sub = "/v1/contacts/" + cid + "/subscriptions/" + short_id;
  EXPECT_EQ(CallJson("GET", "/v1/consent?phone=%2B14155550400&number=12345", "", 200)["allowed"],
            false);
  CallJson("PUT", sub, R"({"status":"opted_in"})", 400);
  CallJson("PUT", sub,
           R"({"status":"opted_in","attest":true,"legal_basis":"vibes","explanation":"x"})", 400);
  json ok = CallJson("PUT", sub,
                     R"({"status":"opted_in","attest":true,"legal_basis":"consent",
                         "explanation":"Signed the form in store","actor":"alice"})",
                     200);
  EXPECT_EQ(ok["status_after"], "opted_in");
  EXPECT_EQ(ok["replies"].size(), 1u);  // short code confirmation
  EXPECT_EQ(ok["event"]["actor"], "api:alice");
  json answer = CallJson("GET", "/v1/consent?phone=%2B14155550400&number=12345", "", 200);
  EXPECT_EQ(answer["allowed"], true);
  EXPECT_EQ(answer["status"], "opted_in");
  EXPECT_EQ(answer["source"], "api");
  EXPECT_TRUE(answer["since"].is_string());
  // The answer's exact text, the phone in any format.
  const std::string since = answer["since"];
  EXPECT_EQ(Call("GET", "/v1/consent?phone=%2B1%20415%20555%200400&number=12345").body,
            R"({"allowed":true,"phone":"+14155550400","number":"12345","status":"opted_in",)"
            R"("since":")" +
                since + R"(","source":"api"})");
  EXPECT_EQ(Call("GET", "/v1/consent?phone=%2B14155550499&number=%2B15551234567").body,
            R"({"allowed":false,"phone":"+14155550499","number":"+15551234567",)"
            R"("status":"not_specified","since":null,"source":null})");
  CallJson("GET", "/v1/consent?phone=%2B14155550400", "", 400);
  CallJson("GET", "/v1/consent?phone=%2B14155550400&number=99999", "", 404);
  CallJson("GET", "/v1/consent?phone=zz&number=12345", "", 422);
  CallJson("PUT", sub, R"({"status":"opted_out"})", 404, other_key_);
  json subs = CallJson("GET", "/v1/contacts/" + cid + "/subscriptions", "", 200);
  EXPECT_EQ(subs["items"].size(), numbers["items"].size());
}

TEST_F(Serve, TwilioWebhookSignedStopIsRecordedOnceAndAnsweredWithTwiml) {
  const std::vector<std::pair<std::string, std::string>> start = {{"From", "+14155550500"},
                                                                  {"To", "+15551234567"},
                                                                  {"Body", "START"},
                                                                  {"MessageSid", Sid("a1")}};
  HttpClientResponse r = TwilioPost(start);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Response><Message>"), std::string::npos) << r.body;

  const std::vector<std::pair<std::string, std::string>> stop = {
      {"From", "+14155550500"},
      {"To", "+15551234567"},
      {"Body", "Stop sending me these ads"},
      {"MessageSid", Sid("a2")},
      {"AccountSid", "AC0123456789abcdef0123456789abcdef"}};
  r = TwilioPost(stop);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("unsubscribed"), std::string::npos) << r.body;
  HttpClientResponse again = TwilioPost(stop);  // Twilio's retry
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, r.body);

  json answer = CallJson("GET", "/v1/consent?phone=%2B14155550500&number=%2B15551234567", "", 200);
  EXPECT_EQ(answer["status"], "opted_out");
  EXPECT_EQ(answer["allowed"], false);
  json contacts = CallJson("GET", "/v1/contacts?search=4155550500", "", 200);
  ASSERT_EQ(contacts["items"].size(), 1u);
  json history = CallJson(
      "GET",
      "/v1/contacts/" + std::to_string(contacts["items"][0]["id"].get<int64_t>()) + "/history", "",
      200);
  ASSERT_EQ(history["items"].size(), 2u);  // START and one STOP despite the retry
  EXPECT_EQ(history["items"][1]["evidence"]["message_id"], Sid("a2"));
  EXPECT_EQ(history["items"][1]["evidence"]["provider"], "twilio");

  // Replies carried in TwiML are stored as sent through the response, never dispatched.
  json outbox = CallJson("GET", "/v1/outbox?state=sent", "", 200);
  bool found = false;
  for (const json& o : outbox["items"]) found = found || o["to"] == "+14155550500";
  EXPECT_TRUE(found) << outbox.dump();
}

// A STOP whose body also holds bytes that are not UTF-8 (a gateway's wrong charset) is still
// an opt-out, answered like any other; the stored body shows U+FFFD for the unreadable bytes.
TEST_F(Serve, TwilioWebhookWithBytesThatAreNotUtf8IsStillAnOptOut) {
  ASSERT_EQ(TwilioPost({{"From", "+14155550510"},
                        {"To", "+15551234567"},
                        {"Body", "START"},
                        {"MessageSid", Sid("u1")}})
                .status,
            200);
  HttpClientResponse r = TwilioPost({{"From", "+14155550510"},
                                     {"To", "+15551234567"},
                                     {"Body", "STOP \xFF\xFE"},
                                     {"MessageSid", Sid("u2")}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("unsubscribed"), std::string::npos) << r.body;
  json answer = CallJson("GET", "/v1/consent?phone=%2B14155550510&number=%2B15551234567", "", 200);
  EXPECT_EQ(answer["status"], "opted_out");
}

TEST_F(Serve, TwilioWebhookRejectsBadOrMissingSignature) {
  const std::vector<std::pair<std::string, std::string>> p = {{"From", "+14155550600"},
                                                              {"To", "+15551234567"},
                                                              {"Body", "STOP"},
                                                              {"MessageSid", Sid("b1")}};
  EXPECT_EQ(TwilioPost(p, "wrong-token").status, 403);
  HttpClientResponse r = Call("POST", "/webhooks/twilio", Form(p), "",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 403);
  // Nothing was stored: the contact does not exist.
  EXPECT_EQ(CallJson("GET", "/v1/contacts?search=4155550600", "", 200)["items"].size(), 0u);
}

TEST_F(Serve, WebhookErrors) {
  // Unknown receiving number: not verified, as a wrong signature is.
  EXPECT_EQ(TwilioPost({{"From", "+14155550700"},
                        {"To", "+15559990000"},
                        {"Body", "STOP"},
                        {"MessageSid", Sid("c1")}})
                .status,
            403);
  // Malformed: no From.
  EXPECT_EQ(
      TwilioPost({{"To", "+15551234567"}, {"Body", "STOP"}, {"MessageSid", Sid("c2")}}).status,
      400);
  // Oversized body.
  HttpClientResponse big = Call("POST", "/webhooks/twilio", std::string(10000, 'a'), "",
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Call("POST", "/webhooks/nosuch", "x", "").status, 404);
}

TEST_F(Serve, GenericWebhookQueuesReplyThatTheDispatcherSends) {
  const std::string body =
      R"({"message_id":"g-1","from":"+14155550800","to":"+15551234567","body":"HELP"})";
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string sig = "sha256=" + HexEncode(HmacSha256("gsecret", ts + "." + body));
  HttpClientResponse r = Call("POST", "/webhooks/generic", body, "",
                              {{"Content-Type", "application/json"},
                               {"X-Smsconsent-Timestamp", ts},
                               {"X-Smsconsent-Signature", sig}});
  ASSERT_EQ(r.status, 200) << r.body;
  // The dispatcher (log sender) picks it up; wait for it with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    json items = CallJson("GET", "/v1/outbox", "", 200)["items"];
    for (const json& o : items) {
      if (o["to"] == "+14155550800") state = o["state"];
    }
    if (state == "sent") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state, "sent");
}

TEST_F(Serve, LedgerExportPages) {
  for (const char* body : {"START", "STOP"}) {
    ASSERT_EQ(TwilioPost({{"From", "+14155550900"},
                          {"To", "+15551234567"},
                          {"Body", body},
                          {"MessageSid", Sid(std::string("l-") + body)}})
                  .status,
              200);
  }
  // A signed head over every event so far (the ledger is integrated first).
  json head = CallJson("GET", "/v1/ledger/head", "", 200);
  ASSERT_GE(head["size"].get<int64_t>(), 2);
  json page = CallJson("GET", "/v1/ledger?limit=1", "", 200);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["seq"], 1);
  ASSERT_TRUE(page["next"].is_string());
  json next =
      CallJson("GET", "/v1/ledger?limit=1&after=" + page["next"].get<std::string>(), "", 200);
  ASSERT_EQ(next["items"].size(), 1u);
  EXPECT_EQ(next["items"][0]["seq"], 2);
  // Every page together is the signed tree: the leaf hashes of seq 1..size give its root.
  std::vector<merkle::Hash> leaves;
  json listed = CallJson("GET", "/v1/ledger?limit=1000", "", 200);
  ASSERT_TRUE(listed["next"].is_null());
  EXPECT_EQ(listed["items"][0], page["items"][0]);
  EXPECT_EQ(listed["items"][1], next["items"][0]);
  std::vector<int64_t> nth;
  for (const json& item : listed["items"]) {
    EXPECT_EQ(item["format"], 2) << item.dump();
    if (static_cast<int64_t>(leaves.size()) < head["size"].get<int64_t>()) {
      auto leaf = merkle::FromHex(item["leaf_hash"].get<std::string>());
      ASSERT_TRUE(leaf.has_value()) << item.dump();
      leaves.push_back(*leaf);
    }
    if (item["phone"] == "+14155550900") nth.push_back(item["nth"].get<int64_t>());
  }
  EXPECT_EQ(static_cast<int64_t>(leaves.size()), head["size"].get<int64_t>());
  EXPECT_EQ(head["root"], merkle::ToHex(merkle::RootOf(leaves)));
  EXPECT_EQ(nth, (std::vector<int64_t>{1, 2}));  // this phone's START, then its STOP
  EXPECT_EQ(CallJson("GET", "/v1/ledger", "", 200, other_key_)["items"].size(), 0u);
}

}  // namespace
}  // namespace smsconsent
