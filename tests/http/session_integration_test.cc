// Integration tests of staff sign-in (docs/auth.md): the real `smsconsent serve` binary on
// 127.0.0.1 port 0, users created with `smsconsent user add`, the session cookie, the CSRF
// header and the viewer role, seen from outside over HTTP.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
using serve_fixture::HeaderOf;
namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

// A signed-in browser: its cookie and the page's CSRF token.
struct Browser {
  std::string cookie;  // "smsconsent_session=…"
  std::string csrf;
  json session;
};

class SessionApi : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("session-api");
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    key_ = a["api_key"];
    account_id_ = a["id"];
    const std::string acct = std::to_string(account_id_);
    json other =
        Cli(db_, {"account", "create", "--name", "Other", "--addons", "marketing_sms_access"});
    number_id_ = Cli(db_, {"number", "add", "--account", acct, "--number", "+15551234567"})["id"];
    editor_password_ = Cli(db_, {"user", "add", "--account", acct, "--email", "Editor@Example.com",
                                 "--name", "Eddie", "--role", "editor"})["password"];
    viewer_password_ = Cli(db_, {"user", "add", "--account", acct, "--email", "viewer@example.com",
                                 "--role", "viewer"})["password"];
    throttled_password_ = Cli(db_, {"user", "add", "--account", acct, "--email",
                                    "throttled@example.com", "--role", "editor"})["password"];
    other_password_ =
        Cli(db_, {"user", "add", "--account", std::to_string(other["id"].get<int64_t>()), "--email",
                  "other@example.com", "--role", "editor"})["password"];
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(), {"--threads", "2"}, &server_);
    base_ = server_.base_url;
  }
  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  HttpClientResponse Send(const std::string& method, const std::string& path,
                          const std::string& body, const Headers& headers) {
    HttpClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    for (const auto& h : headers) req.headers.push_back(h);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  static json Body(const HttpClientResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }
  // With the API key.
  json Key(const std::string& method, const std::string& path, const json& body, int want) {
    HttpClientResponse r = Send(method, path, body.is_null() ? "" : body.dump(),
                                {{"Authorization", "Bearer " + key_}});
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    return Body(r);
  }
  HttpClientResponse SignInRaw(const std::string& email, const std::string& password,
                               const Headers& headers = {}) {
    return Send("POST", "/v1/session", json{{"email", email}, {"password", password}}.dump(),
                headers);
  }
  Browser SignIn(const std::string& email, const std::string& password) {
    HttpClientResponse r = SignInRaw(email, password);
    EXPECT_EQ(r.status, 200) << r.body;
    Browser b;
    const std::string set_cookie = HeaderOf(r, "set-cookie");
    b.cookie = set_cookie.substr(0, set_cookie.find(';'));
    b.session = Body(r);
    b.csrf = b.session.value("csrf_token", "");
    return b;
  }
  // As the browser: its cookie, and the CSRF header unless `csrf` is nullopt.
  HttpClientResponse AsBrowser(const Browser& b, const std::string& method, const std::string& path,
                               const json& body = nullptr,
                               std::optional<std::string> csrf = std::nullopt) {
    Headers h = {{"Cookie", b.cookie}};
    if (csrf) h.emplace_back("X-CSRF-Token", *csrf);
    return Send(method, path, body.is_null() ? "" : body.dump(), h);
  }
  int64_t NewContact(const std::string& phone) {
    return Key("POST", "/v1/contacts", {{"phone", phone}}, 201)["id"];
  }
  std::string SubscriptionPath(int64_t contact) {
    return "/v1/contacts/" + std::to_string(contact) + "/subscriptions/" +
           std::to_string(number_id_);
  }
  json History(int64_t contact) {
    return Key("GET", "/v1/contacts/" + std::to_string(contact) + "/history", nullptr,
               200)["items"];
  }
  static json OptOut() { return {{"status", "opted_out"}, {"actor", "mallory"}}; }

  static inline fs::path dir_;
  static inline std::string db_, key_, base_;
  static inline std::string editor_password_, viewer_password_, throttled_password_,
      other_password_;
  static inline int64_t account_id_ = 0, number_id_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(SessionApi, SignInSetsAnHttpOnlyStrictCookieAndAnswersWhoSignedIn) {
  HttpClientResponse r = SignInRaw("editor@example.com", editor_password_);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = HeaderOf(r, "set-cookie");
  EXPECT_EQ(cookie.rfind("smsconsent_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Path=/"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Max-Age=604800"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "the public URL is not https";
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  json body = Body(r);
  EXPECT_EQ(body["user"]["email"], "editor@example.com");
  EXPECT_EQ(body["user"]["name"], "Eddie");
  EXPECT_EQ(body["user"]["role"], "editor");
  EXPECT_TRUE(body["user"]["id"].is_number());
  EXPECT_FALSE(body["user"].contains("password_hash"));
  EXPECT_EQ(body["account"], Key("GET", "/v1/account", nullptr, 200));
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 43u);
  EXPECT_TRUE(body["expires_at"].is_string());
}

TEST_F(SessionApi, TheCookieAuthenticatesReadsAmongOtherCookies) {
  Browser b = SignIn("editor@example.com", editor_password_);
  HttpClientResponse r =
      Send("GET", "/v1/account", "", {{"Cookie", "theme=dark;  " + b.cookie + " ; other=\"x y\""}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Key("GET", "/v1/account", nullptr, 200));
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  // The session as the page reads it after a reload: the same JSON, no new cookie.
  r = AsBrowser(b, "GET", "/v1/session");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "set-cookie"), "");
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  EXPECT_EQ(Body(r)["csrf_token"], b.csrf);
  EXPECT_EQ(Body(r)["user"], b.session["user"]);
  EXPECT_EQ(Body(r)["account"], b.session["account"]);
  // No cookie, an unknown one: 401 as without a key.
  EXPECT_EQ(Send("GET", "/v1/account", "", {}).status, 401);
  EXPECT_EQ(Send("GET", "/v1/account", "", {{"Cookie", "smsconsent_session=forged"}}).status, 401);
  EXPECT_EQ(Send("GET", "/v1/session", "", {}).status, 401);
}

TEST_F(SessionApi, UnsafeRequestsWithoutTheRightCsrfTokenAreRefusedAndChangeNothing) {
  Browser b = SignIn("editor@example.com", editor_password_);
  const int64_t c = NewContact("+14155550101");
  for (const std::optional<std::string>& csrf :
       {std::optional<std::string>(), std::optional<std::string>("wrong"),
        std::optional<std::string>(b.csrf.substr(0, 42) + "x")}) {
    HttpClientResponse r = AsBrowser(b, "PUT", SubscriptionPath(c), OptOut(), csrf);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "CSRF_FAILED") << r.body;
    EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
    r = AsBrowser(b, "POST", "/v1/contacts", {{"phone", "+14155550102"}}, csrf);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "CSRF_FAILED");
  }
  EXPECT_TRUE(History(c).empty());
  EXPECT_TRUE(Key("GET", "/v1/contacts?phone=%2B14155550102", nullptr, 200)["items"].empty());
  // A forged cookie with any token is not signed in at all.
  HttpClientResponse r = Send("PUT", SubscriptionPath(c), OptOut().dump(),
                              {{"Cookie", "smsconsent_session=forged"}, {"X-CSRF-Token", b.csrf}});
  EXPECT_EQ(r.status, 401);
}

TEST_F(SessionApi, WithTheCsrfTokenAChangeIsRecordedAsTheSignedInUser) {
  Browser b = SignIn("editor@example.com", editor_password_);
  const int64_t c = NewContact("+14155550111");
  HttpClientResponse r = AsBrowser(b, "PUT", SubscriptionPath(c), OptOut(), b.csrf);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  json history = History(c);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["actor"], "user:editor@example.com");  // not the body's "mallory"
  EXPECT_EQ(history[0]["source"], "manual");
  EXPECT_EQ(history[0]["to"], "opted_out");
  r = AsBrowser(b, "POST", "/v1/contacts", {{"phone", "+14155550112"}}, b.csrf);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(SessionApi, ABulkChangeBySessionIsRecordedAsTheSignedInUser) {
  Browser b = SignIn("editor@example.com", editor_password_);
  const int64_t c = NewContact("+14155550121");
  // Who acts is the signed-in user: a body naming someone else is refused, not half-taken.
  json req = {
      {"number", "+15551234567"}, {"status", "opted_out"}, {"ids", {c}}, {"actor", "mallory"}};
  HttpClientResponse r = AsBrowser(b, "POST", "/v1/bulk/subscriptions", req, b.csrf);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r)["error"]["message"], "unknown field 'actor'");
  req.erase("actor");
  r = AsBrowser(b, "POST", "/v1/bulk/subscriptions", req, b.csrf);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string job = "/v1/jobs/" + std::to_string(Body(r)["job"].get<int64_t>());
  json state;
  for (int i = 0; i < 200; ++i) {
    state = Body(AsBrowser(b, "GET", job));
    if (state.value("state", "") == "done" || state.value("state", "") == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(state["state"], "done") << state;
  json history = History(c);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["actor"], "user:editor@example.com");
}

TEST_F(SessionApi, AViewerReadsButCannotChangeAnything) {
  Browser v = SignIn("viewer@example.com", viewer_password_);
  EXPECT_EQ(v.session["user"]["role"], "viewer");
  const int64_t c = NewContact("+14155550131");
  HttpClientResponse r = AsBrowser(v, "GET", "/v1/contacts/" + std::to_string(c));
  EXPECT_EQ(r.status, 200) << r.body;
  r = AsBrowser(v, "PUT", SubscriptionPath(c), OptOut(), v.csrf);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("viewer role is read-only"),
            std::string::npos)
      << r.body;
  json bulk = {{"number", "+15551234567"}, {"status", "opted_out"}, {"ids", {c}}};
  r = AsBrowser(v, "POST", "/v1/bulk/subscriptions", bulk, v.csrf);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_TRUE(History(c).empty());
  // A viewer may still sign out.
  EXPECT_EQ(AsBrowser(v, "DELETE", "/v1/session", nullptr, v.csrf).status, 204);
}

TEST_F(SessionApi, SignOutEndsTheSessionAndClearsTheCookie) {
  Browser b = SignIn("editor@example.com", editor_password_);
  HttpClientResponse r = AsBrowser(b, "DELETE", "/v1/session");
  EXPECT_EQ(r.status, 403) << "sign-out needs the CSRF header too";
  EXPECT_EQ(Body(r)["error"]["code"], "CSRF_FAILED");
  EXPECT_EQ(AsBrowser(b, "GET", "/v1/account").status, 200);
  r = AsBrowser(b, "DELETE", "/v1/session", nullptr, b.csrf);
  EXPECT_EQ(r.status, 204) << r.body;
  const std::string cleared = HeaderOf(r, "set-cookie");
  EXPECT_EQ(cleared.rfind("smsconsent_session=;", 0), 0u) << cleared;
  EXPECT_NE(cleared.find("Max-Age=0"), std::string::npos) << cleared;
  EXPECT_EQ(AsBrowser(b, "GET", "/v1/account").status, 401);
  EXPECT_EQ(AsBrowser(b, "GET", "/v1/session").status, 401);
}

TEST_F(SessionApi, BadCredentialsAre401WithoutACookieAndTheSameMessage) {
  HttpClientResponse wrong = SignInRaw("editor@example.com", "not the password at all");
  HttpClientResponse unknown = SignInRaw("nobody@example.com", "not the password at all");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(HeaderOf(wrong, "set-cookie"), "");
  EXPECT_EQ(HeaderOf(unknown, "set-cookie"), "");
  EXPECT_EQ(Body(wrong)["error"], Body(unknown)["error"]);
  EXPECT_EQ(Body(wrong)["error"]["code"], "UNAUTHENTICATED");
  HttpClientResponse malformed = Send("POST", "/v1/session", "{\"email\": 1}", {});
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(Send("POST", "/v1/session", "not json", {}).status, 400);
}

TEST_F(SessionApi, RepeatedFailuresAreThrottledWith429) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(SignInRaw("throttled@example.com", "wrong password!!").status, 401);
  }
  HttpClientResponse r = SignInRaw("throttled@example.com", throttled_password_);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(Body(r)["error"]["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(HeaderOf(r, "set-cookie"), "");
}

TEST_F(SessionApi, SignInFromAnotherOriginIsRefused) {
  HttpClientResponse r =
      SignInRaw("editor@example.com", editor_password_, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["code"], "CSRF_FAILED");
  EXPECT_EQ(HeaderOf(r, "set-cookie"), "");
  EXPECT_EQ(SignInRaw("editor@example.com", editor_password_, {{"Origin", "null"}}).status, 403);
  // The page's own origin (the server's Host) is fine.
  r = SignInRaw("editor@example.com", editor_password_, {{"Origin", base_}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(SessionApi, AUserSeesOnlyItsOwnAccount) {
  Browser o = SignIn("other@example.com", other_password_);
  const int64_t c = NewContact("+14155550141");
  EXPECT_EQ(AsBrowser(o, "GET", "/v1/contacts/" + std::to_string(c)).status, 404);
  EXPECT_NE(Body(AsBrowser(o, "GET", "/v1/account"))["id"], account_id_);
}

TEST_F(SessionApi, TheApiKeyPathIsUnchanged) {
  const int64_t c = NewContact("+14155550151");
  json changed = Key("PUT", SubscriptionPath(c), {{"status", "opted_out"}, {"actor", "crm"}}, 200);
  EXPECT_EQ(changed["event"]["actor"], "api:crm");
  HttpClientResponse r = Send("GET", "/v1/account", "", {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(HeaderOf(r, "cache-control"), "");  // only cookie responses are no-store
  // A key wins over a cookie: no CSRF header needed, the key's actor recorded.
  Browser v = SignIn("viewer@example.com", viewer_password_);
  r = Send("PUT", SubscriptionPath(c),
           json{{"status", "opted_in"},
                {"attest", true},
                {"legal_basis", "consent"},
                {"explanation", "web form"}}
               .dump(),
           {{"Authorization", "Bearer " + key_}, {"Cookie", v.cookie}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["event"]["actor"], "api");
  EXPECT_EQ(Send("GET", "/v1/account", "", {{"Authorization", "Bearer wrong"}}).status, 401);
}

TEST_F(SessionApi, OpenApiDescribesTheSessionRoutesAndTheCookie) {
  json api = Body(Send("GET", "/openapi.json", "", {}));
  EXPECT_TRUE(api["paths"]["/v1/session"].contains("post"));
  EXPECT_TRUE(api["paths"]["/v1/session"].contains("delete"));
  EXPECT_EQ(api["components"]["securitySchemes"]["sessionCookie"]["name"], "smsconsent_session");
}

}  // namespace
}  // namespace smsconsent
