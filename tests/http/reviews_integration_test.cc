// Integration tests of the possible opt-out queue (docs/reviews.md) through the real
// `smsconsent serve` binary on 127.0.0.1 port 0: a message the recogniser flags arrives by the
// signed generic webhook, waits in GET /v1/reviews, and an editor (or an API key) confirms it
// -- the contact's own opt-out, which only the contact's START undoes -- or dismisses it. A
// viewer reads the queue but decides nothing; the CLI reads and decides on the same database.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"
#include "providers/webhook.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

constexpr char kReviewNumber[] = "+15553000001";
constexpr char kReviewSecret[] = "acme-secret";
constexpr char kReviewQuestion[] = "How do I stop these texts?";
constexpr char kReviewMixed[] = "Stop sending me promos but keep the appointment reminders";

using ReviewHeaders = std::vector<std::pair<std::string, std::string>>;

class Reviews : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("reviews");
    db_ = serve_fixture::NewDatabase(dir_, "reviews.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    key_ = a["api_key"];
    account_ = std::to_string(a["id"].get<int64_t>());
    number_id_ =
        Cli(db_, {"number", "add", "--account", account_, "--number", kReviewNumber})["id"];
    Cli(db_, {"provider", "set", "--account", account_, "--provider", "generic", "--secret",
              kReviewSecret, "--sender", "log"});
    viewer_password_ = Cli(db_, {"user", "add", "--account", account_, "--email",
                                 "viewer@example.com", "--role", "viewer"})["password"];
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(),
                              {"--threads", "2", "--outbox-poll-ms", "50",
                               "--review-highlight-after-s", "1", "--shutdown-grace-ms", "2000"},
                              &server_);
  }
  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  HttpClientResponse Send(const std::string& method, const std::string& path,
                          const std::string& body, ReviewHeaders headers) {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + path;
    req.body = body;
    req.headers = std::move(headers);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json Call(const std::string& method, const std::string& path, const std::string& body, int want) {
    HttpClientResponse r = Send(method, path, body, {{"Authorization", "Bearer " + key_}});
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }
  json Get(const std::string& path) { return Call("GET", path, "", 200); }

  void Receive(const std::string& id, const std::string& from, const std::string& text) {
    const std::string body =
        json({{"message_id", id}, {"from", from}, {"to", kReviewNumber}, {"body", text}}).dump();
    const std::string ts = std::to_string(std::time(nullptr));
    const std::string sig = "sha256=" + HexEncode(HmacSha256(kReviewSecret, ts + "." + body));
    HttpClientRequest req;
    req.method = "POST";
    req.url = server_.base_url + "/webhooks/generic";
    req.body = body;
    req.headers = {{"Content-Type", "application/json"},
                   {"X-Smsconsent-Timestamp", ts},
                   {"X-Smsconsent-Signature", sig}};
    auto r = client_->Send(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << id << ": " << r->body;
  }

  // The open item of `phone`'s message (exactly one expected).
  json OpenItemOf(const std::string& phone) {
    json page = Get("/v1/reviews");
    json found;
    for (const json& item : page["items"]) {
      if (item["from"] == phone) {
        EXPECT_TRUE(found.is_null()) << "two open items for " << phone << ": " << page.dump();
        found = item;
      }
    }
    EXPECT_FALSE(found.is_null()) << phone << " not in " << page.dump();
    return found;
  }
  std::string StatusOf(int64_t contact) {
    json subs = Get("/v1/contacts/" + std::to_string(contact) + "/subscriptions");
    for (const json& s : subs["items"]) {
      if (s.value("number_id", int64_t{0}) == number_id_) {
        return s["status"];
      }
    }
    return "missing";
  }
  json LastEvent(int64_t contact) {
    json h = Get("/v1/contacts/" + std::to_string(contact) + "/history");
    return h["items"].empty() ? json() : h["items"].back();
  }
  void OptIn(int64_t contact) {
    Call("PUT",
         "/v1/contacts/" + std::to_string(contact) + "/subscriptions/" + std::to_string(number_id_),
         json{{"status", "opted_in"},
              {"attest", true},
              {"legal_basis", "consent"},
              {"explanation", "web form"}}
             .dump(),
         200);
  }
  int64_t NewContact(const std::string& phone) {
    return Call("POST", "/v1/contacts", json{{"phone", phone}}.dump(), 201)["id"];
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, account_, viewer_password_;
  static inline int64_t number_id_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(Reviews, ConfirmedQuestionIsTheContactsOwnOptOutUntilTheyTextStart) {
  const std::string phone = "+14155558001";
  const int64_t contact = NewContact(phone);
  OptIn(contact);
  Receive("rv-1", phone, kReviewQuestion);
  Receive("rv-1", phone, kReviewQuestion);  // the provider's retry: no second item
  const json item = OpenItemOf(phone);
  EXPECT_EQ(item["state"], "open");
  EXPECT_EQ(item["body"], kReviewQuestion);
  EXPECT_EQ(item["to"], kReviewNumber);
  EXPECT_EQ(item["contact_id"], contact);
  EXPECT_EQ(item["rule"], "en.possible.question");
  EXPECT_FALSE(item["explanation"].get<std::string>().empty());
  EXPECT_TRUE(item["reviewed_by"].is_null());
  // The message changed nothing.
  EXPECT_EQ(StatusOf(contact), "opted_in");

  const std::string id = std::to_string(item["id"].get<int64_t>());
  json confirmed =
      Call("POST", "/v1/reviews/" + id + "/confirm", json{{"note", "clear enough"}}.dump(), 200);
  EXPECT_EQ(confirmed["state"], "confirmed");
  EXPECT_EQ(confirmed["note"], "clear enough");
  EXPECT_EQ(confirmed["reviewed_by"].get<std::string>().rfind("api-key:", 0), 0u);
  EXPECT_EQ(StatusOf(contact), "opted_out");
  json ev = LastEvent(contact);
  EXPECT_EQ(ev["to"], "opted_out");
  EXPECT_EQ(ev["evidence"]["channel"], "sms");
  EXPECT_EQ(ev["evidence"]["inbound_message_id"], item["message_id"]);

  // Decided once: confirming or dismissing again is 409, and changes nothing.
  json again = Call("POST", "/v1/reviews/" + id + "/confirm", "", 409);
  EXPECT_EQ(again["error"]["code"], "FAILED_PRECONDITION");
  Call("POST", "/v1/reviews/" + id + "/dismiss", "", 409);
  EXPECT_EQ(Get("/v1/reviews/" + id)["state"], "confirmed");

  // A user cannot opt the contact back in; the contact's START does.
  Call("PUT",
       "/v1/contacts/" + std::to_string(contact) + "/subscriptions/" + std::to_string(number_id_),
       json{{"status", "opted_in"},
            {"attest", true},
            {"legal_basis", "consent"},
            {"explanation", "called us"}}
           .dump(),
       409);
  Receive("rv-2", phone, "START");
  EXPECT_EQ(StatusOf(contact), "opted_in");
}

TEST_F(Reviews, DismissedMixedRequestLeavesTheStatus) {
  const std::string phone = "+14155558002";
  const int64_t contact = NewContact(phone);
  OptIn(contact);
  Receive("rv-3", phone, kReviewMixed);
  const json item = OpenItemOf(phone);
  const std::string id = std::to_string(item["id"].get<int64_t>());
  json dismissed = Call("POST", "/v1/reviews/" + id + "/dismiss",
                        json{{"note", "wants reminders, asked about promos only"}}.dump(), 200);
  EXPECT_EQ(dismissed["state"], "dismissed");
  EXPECT_EQ(StatusOf(contact), "opted_in");
  Call("POST", "/v1/reviews/" + id + "/confirm", "", 409);
  EXPECT_EQ(StatusOf(contact), "opted_in");
  json page = Get("/v1/reviews?state=dismissed");
  bool listed = false;
  for (const json& i : page["items"]) listed = listed || i["id"] == item["id"];
  EXPECT_TRUE(listed) << page.dump();
}

TEST_F(Reviews, BadRequestsAreRefusedAndChangeNothing) {
  const std::string phone = "+14155558003";
  Receive("rv-4", phone, kReviewQuestion);
  const json item = OpenItemOf(phone);
  const std::string id = std::to_string(item["id"].get<int64_t>());
  json e = Call("POST", "/v1/reviews/" + id + "/confirm", json{{"nots", "typo"}}.dump(), 400);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("unknown field 'nots'"),
            std::string::npos)
      << e.dump();
  Call("POST", "/v1/reviews/" + id + "/dismiss", json{{"note", std::string(1001, 'x')}}.dump(),
       400);
  Call("GET", "/v1/reviews?state=pending", "", 400);
  Call("GET", "/v1/reviews?limit=201", "", 400);
  Call("POST", "/v1/reviews/999999/confirm", "", 404);
  EXPECT_EQ(Get("/v1/reviews/" + id)["state"], "open");

  // A viewer reads the queue and decides nothing.
  HttpClientResponse r =
      Send("POST", "/v1/session",
           json{{"email", "viewer@example.com"}, {"password", viewer_password_}}.dump(), {});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string set_cookie = serve_fixture::HeaderOf(r, "set-cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = json::parse(r.body).value("csrf_token", "");
  EXPECT_EQ(Send("GET", "/v1/reviews", "", {{"Cookie", cookie}}).status, 200);
  r = Send("POST", "/v1/reviews/" + id + "/dismiss", "",
           {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Get("/v1/reviews/" + id)["state"], "open");
}

TEST_F(Reviews, UnreviewedItemsBecomeOverdueAndTheCliSeesThem) {
  const std::string phone = "+14155558004";
  Receive("rv-5", phone, kReviewQuestion);
  // --review-highlight-after-s 1: polled until the item is overdue (at most 10 s).
  json item;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    item = OpenItemOf(phone);
    if (item.value("overdue", false)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(item.value("overdue", false)) << item.dump();
  EXPECT_EQ(Get("/v1/reviews")["highlight_after_seconds"], 1);

  // The CLI on the same database.
  json listed = Cli(db_, {"reviews", "list", "--account", account_, "--highlight-after-s", "1"});
  bool found = false;
  for (const json& i : listed) {
    if (i["id"] == item["id"]) {
      found = true;
      EXPECT_TRUE(i["overdue"].get<bool>());
    }
  }
  EXPECT_TRUE(found) << listed.dump();
  const std::string id = std::to_string(item["id"].get<int64_t>());
  json dismissed = Cli(db_, {"reviews", "dismiss", id, "--account", account_, "--note", "asked"});
  EXPECT_EQ(dismissed["state"], "dismissed");
  EXPECT_EQ(dismissed["reviewed_by"], "cli");
  int rc = 0;
  Cli(db_, {"reviews", "confirm", id, "--account", account_}, &rc);
  EXPECT_EQ(rc, 3);  // refused: decided already
}

TEST_F(Reviews, MetricsCountOpenItems) {
  Receive("rv-6", "+14155558005", kReviewQuestion);
  HttpClientResponse r = Send("GET", "/metrics", "", {});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("# TYPE smsconsent_review_items_open gauge"), std::string::npos);
  EXPECT_NE(r.body.find("\nsmsconsent_review_items_open "), std::string::npos) << r.body;
}

}  // namespace
}  // namespace smsconsent
