// Integration tests of what the web page's Activity page and contacts index read: inbound
// messages with their decisions and replies (GET /v1/messages), the outbox by several states
// and newest first, and contacts with their subscriptions. The real `smsconsent serve` binary
// on 127.0.0.1 port 0; messages arrive through the signed generic webhook.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <regex>
#include <set>
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
using serve_fixture::RunCli;
namespace fs = std::filesystem;

constexpr char kNumber1[] = "+15552000001";
constexpr char kNumber2[] = "+15552000002";
constexpr char kOtherNumber[] = "+15552000009";
constexpr char kSecret[] = "acme-secret";
constexpr char kOtherSecret[] = "other-secret";

class Activity : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("activity");
    db_ = serve_fixture::NewDatabase(dir_, "activity.db");
    if (db_.empty()) return;
    json a = json::parse(
        RunCli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"}));
    const std::string acme = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    json b = json::parse(
        RunCli(db_, {"account", "create", "--name", "Other", "--addons", "marketing_sms_access"}));
    const std::string other = std::to_string(b["id"].get<int64_t>());
    other_key_ = b["api_key"];
    bare_key_ = json::parse(RunCli(db_, {"account", "create", "--name", "NoSms"}))["api_key"];
    number1_ =
        json::parse(RunCli(db_, {"number", "add", "--account", acme, "--number", kNumber1}))["id"];
    number2_ =
        json::parse(RunCli(db_, {"number", "add", "--account", acme, "--number", kNumber2}))["id"];
    RunCli(db_, {"number", "add", "--account", other, "--number", kOtherNumber});
    RunCli(db_, {"provider", "set", "--account", acme, "--provider", "generic", "--secret", kSecret,
                 "--sender", "log"});
    // Replies of the other account fail: it sends through Twilio but has no Twilio settings.
    RunCli(db_, {"provider", "set", "--account", other, "--provider", "generic", "--secret",
                 kOtherSecret, "--sender", "twilio"});
    serve_fixture::StartServe(
        db_, (dir_ / "serve.log").string(),
        {"--threads", "2", "--outbox-poll-ms", "50", "--shutdown-grace-ms", "2000"}, &server_);
  }

  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  HttpClientResponse Call(const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& key = key_,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + path;
    req.body = body;
    req.headers = std::move(headers);
    if (!body.empty() && req.headers.empty()) {
      req.headers.emplace_back("Content-Type", "application/json");
    }
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
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
  json Get(const std::string& path, const std::string& key = key_) {
    return CallJson("GET", path, "", 200, key);
  }

  // An SMS from `from` to `to` through the generic webhook, signed with `secret`.
  void Receive(const std::string& id, const std::string& from, const std::string& to,
               const std::string& text, const std::string& secret = kSecret) {
    const std::string body =
        json({{"message_id", id}, {"from", from}, {"to", to}, {"body", text}}).dump();
    const std::string ts = std::to_string(std::time(nullptr));
    const std::string sig = "sha256=" + HexEncode(HmacSha256(secret, ts + "." + body));
    HttpClientResponse r = Call("POST", "/webhooks/generic", body, "",
                                {{"Content-Type", "application/json"},
                                 {"X-Smsconsent-Timestamp", ts},
                                 {"X-Smsconsent-Signature", sig}});
    ASSERT_EQ(r.status, 200) << id << ": " << r.body;
  }

  int64_t ContactId(const std::string& phone, const std::string& key = key_) {
    json page = Get("/v1/contacts?phone=" + serve_fixture::PercentEncode(phone), key);
    EXPECT_EQ(page["items"].size(), 1u) << phone;
    return page["items"].empty() ? 0 : page["items"][0]["id"].get<int64_t>();
  }

  // Polls `path` (deadline 10 s, no fixed sleeps as synchronisation) until `done` holds.
  template <typename Pred>
  json WaitFor(const std::string& path, Pred done, const std::string& key = key_) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    json j;
    while (std::chrono::steady_clock::now() < deadline) {
      j = Get(path, key);
      if (done(j)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return j;
  }

  static std::vector<int64_t> Ids(const json& page) {
    std::vector<int64_t> ids;
    for (const json& item : page["items"]) ids.push_back(item["id"].get<int64_t>());
    return ids;
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, other_key_, bare_key_;
  static inline int64_t number1_ = 0, number2_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

TEST_F(Activity, MessagesAreNewestFirstWithTheirDecisionAndReplies) {
  const std::string phone = "+14155557001";
  Receive("act-1", phone, kNumber1, "START");
  Receive("act-2", phone, kNumber1, "Thanks, see you on Tuesday");
  Receive("act-3", phone, kNumber1, "STOP");
  const int64_t contact = ContactId(phone);
  const std::string path = "/v1/messages?contact=" + std::to_string(contact);
  // The STOP's confirmation is dispatched (log sender); its state shows under the message.
  json page = WaitFor(path, [](const json& j) {
    return !j["items"].empty() && !j["items"][0]["replies"].empty() &&
           j["items"][0]["replies"][0]["state"] == "sent";
  });
  ASSERT_EQ(page["items"].size(), 3u) << page.dump();
  EXPECT_TRUE(page["next"].is_null());
  const json& stop = page["items"][0];
  EXPECT_EQ(stop["provider"], "generic");
  EXPECT_EQ(stop["provider_message_id"], "act-3");
  EXPECT_EQ(stop["from"], phone);
  EXPECT_EQ(stop["to"], kNumber1);
  EXPECT_EQ(stop["number_id"], number1_);
  EXPECT_EQ(stop["contact_id"], contact);
  EXPECT_EQ(stop["body"], "STOP");
  EXPECT_TRUE(std::regex_match(stop["received_at"].get<std::string>(), kTimestamp))
      << stop["received_at"];
  // The decision as stored, an object.
  const json& d = stop["decision"];
  ASSERT_TRUE(d.is_object()) << stop.dump();
  EXPECT_EQ(d["intent"], "opt_out");
  EXPECT_EQ(d["match_kind"], "exact_keyword");
  EXPECT_EQ(d["status_before"], "opted_in");
  EXPECT_EQ(d["status_after"], "opted_out");
  ASSERT_EQ(d["transitions"].size(), 1u);
  EXPECT_EQ(d["transitions"][0]["number"], kNumber1);
  EXPECT_EQ(d["transitions"][0]["changed"], true);
  ASSERT_EQ(d["replies"].size(), 1u);
  // The queued confirmation, as the outbox shows it.
  ASSERT_EQ(stop["replies"].size(), 1u);
  const json& reply = stop["replies"][0];
  EXPECT_EQ(reply["kind"], "opt_out_confirmation");
  EXPECT_EQ(reply["body"], d["replies"][0]["body"]);
  EXPECT_EQ(reply["channel"], "api");
  EXPECT_EQ(reply["to"], phone);
  EXPECT_EQ(reply["attempts"], 1);
  EXPECT_TRUE(reply["last_error"].is_null());
  EXPECT_TRUE(reply["sent_at"].is_string());
  EXPECT_EQ(reply["inbound_id"], stop["id"]);
  EXPECT_EQ(reply["contact_id"], contact);
  EXPECT_EQ(Get("/v1/outbox/" + std::to_string(reply["id"].get<int64_t>())), reply);

  // A message no keyword matched: intent none, nothing changed, no reply.
  const json& other = page["items"][1];
  EXPECT_EQ(other["provider_message_id"], "act-2");
  EXPECT_EQ(other["decision"]["intent"], "none");
  EXPECT_TRUE(other["decision"]["transitions"].empty());
  EXPECT_TRUE(other["replies"].empty());
  EXPECT_EQ(page["items"][2]["provider_message_id"], "act-1");
  EXPECT_EQ(page["items"][2]["decision"]["intent"], "opt_in");
  EXPECT_EQ(page["items"][2]["replies"].size(), 1u);
  EXPECT_GT(stop["id"].get<int64_t>(), other["id"].get<int64_t>());
}

// A decision names the rule that decided (`rule`) and the text it matched (`matched`), as the
// event's evidence does.
TEST_F(Activity, ADecisionNamesItsRuleAndTheTextItMatchedAsTheEvidenceDoes) {
  const std::string phone = "+14155557031";
  Receive("act-rule-1", phone, kNumber1, "Please stop sending me messages");
  const int64_t contact = ContactId(phone);
  const json page = Get("/v1/messages?contact=" + std::to_string(contact));
  ASSERT_EQ(page["items"].size(), 1u) << page.dump();
  const json& d = page["items"][0]["decision"];
  EXPECT_EQ(d["intent"], "opt_out");
  EXPECT_EQ(d["match_kind"], "free_text");
  EXPECT_EQ(d.value("rule", "").rfind("en.", 0), 0u) << d;
  EXPECT_EQ(d.value("matched", "").find("stop"), 0u) << d;
  const json history = Get("/v1/contacts/" + std::to_string(contact) + "/history");
  ASSERT_EQ(history["items"].size(), 1u) << history.dump();
  const json& evidence = history["items"][0]["evidence"];
  EXPECT_EQ(d["rule"], evidence["rule"]);
  EXPECT_EQ(d["matched"], evidence["matched"]);
}

TEST_F(Activity, MessagesPageWithBeforeAndFilterByContactAndNumber) {
  const std::string phone = "+14155557002";
  for (const char* id : {"page-1", "page-2", "page-3"}) Receive(id, phone, kNumber1, "HELP");
  Receive("page-4", phone, kNumber2, "HELP");
  Receive("page-5", "+14155557003", kNumber2, "HELP");
  const std::string contact = std::to_string(ContactId(phone));

  json page1 = Get("/v1/messages?contact=" + contact + "&limit=2");
  ASSERT_EQ(page1["items"].size(), 2u);
  EXPECT_EQ(page1["items"][0]["provider_message_id"], "page-4");
  EXPECT_EQ(page1["items"][1]["provider_message_id"], "page-3");
  ASSERT_TRUE(page1["next"].is_string());
  EXPECT_EQ(page1["next"], std::to_string(page1["items"][1]["id"].get<int64_t>()));
  json page2 = Get("/v1/messages?contact=" + contact +
                   "&limit=2&before=" + page1["next"].get<std::string>());
  ASSERT_EQ(page2["items"].size(), 2u);
  EXPECT_EQ(page2["items"][0]["provider_message_id"], "page-2");
  EXPECT_EQ(page2["items"][1]["provider_message_id"], "page-1");
  ASSERT_TRUE(page2["next"].is_string());  // a full page: there may be more
  json page3 = Get("/v1/messages?contact=" + contact +
                   "&limit=2&before=" + page2["next"].get<std::string>());
  EXPECT_TRUE(page3["items"].empty());
  EXPECT_TRUE(page3["next"].is_null());

  // By number, alone and with the contact.
  json on2 = Get("/v1/messages?number=" + std::to_string(number2_));
  std::set<std::string> ids;
  for (const json& m : on2["items"]) {
    EXPECT_EQ(m["to"], kNumber2);
    ids.insert(m["provider_message_id"].get<std::string>());
  }
  EXPECT_TRUE(ids.count("page-4") && ids.count("page-5")) << on2.dump();
  json both = Get("/v1/messages?contact=" + contact + "&number=" + std::to_string(number2_));
  ASSERT_EQ(both["items"].size(), 1u);
  EXPECT_EQ(both["items"][0]["provider_message_id"], "page-4");
  // The unfiltered list starts with the newest message of the account.
  EXPECT_EQ(Get("/v1/messages?limit=1")["items"][0]["provider_message_id"], "page-5");

  CallJson("GET", "/v1/messages?before=0", "", 400);
  CallJson("GET", "/v1/messages?before=abc", "", 400);
  CallJson("GET", "/v1/messages?limit=201", "", 400);
  CallJson("GET", "/v1/messages?limit=0", "", 400);
  CallJson("GET", "/v1/messages?contact=x", "", 400);
  CallJson("GET", "/v1/messages?contact=987654", "", 404);
  CallJson("GET", "/v1/messages?number=987654", "", 404);
}

TEST_F(Activity, AnotherAccountSeesNoneOfTheMessages) {
  Receive("iso-1", "+14155557004", kNumber1, "STOP");
  const std::string contact = std::to_string(ContactId("+14155557004"));
  json theirs = Get("/v1/messages?limit=200", other_key_);
  for (const json& m : theirs["items"]) EXPECT_EQ(m["to"], kOtherNumber) << m.dump();
  // Filters naming this account's contact or number are not found for the other account.
  CallJson("GET", "/v1/messages?contact=" + contact, "", 404, other_key_);
  CallJson("GET", "/v1/messages?number=" + std::to_string(number1_), "", 404, other_key_);
  // Messages are SMS consent data: Marketing SMS Access is needed.
  CallJson("GET", "/v1/messages", "", 403, bare_key_);
  CallJson("GET", "/v1/messages", "", 401, "");
}

TEST_F(Activity, OutboxStateTakesSeveralStatesAndNewestFirst) {
  // The other account's replies fail (no Twilio settings); they show as failed.
  const std::string phone = "+14155557005";
  Receive("fail-1", phone, kOtherNumber, "HELP", kOtherSecret);
  Receive("fail-2", phone, kOtherNumber, "HELP", kOtherSecret);
  json failed = WaitFor(
      "/v1/outbox?state=failed,dead", [](const json& j) { return j["items"].size() >= 2; },
      other_key_);
  ASSERT_EQ(failed["items"].size(), 2u) << failed.dump();
  for (const json& o : failed["items"]) {
    EXPECT_EQ(o["state"], "failed");
    EXPECT_TRUE(o["last_error"].is_string()) << o.dump();
  }
  const std::vector<int64_t> ascending = Ids(failed);
  ASSERT_LT(ascending[0], ascending[1]);
  json desc = Get("/v1/outbox?state=dead,failed&order=desc", other_key_);
  EXPECT_EQ(Ids(desc), (std::vector<int64_t>{ascending[1], ascending[0]}));
  // Newest first, paged with before=<next>.
  json first = Get("/v1/outbox?state=failed&order=desc&limit=1", other_key_);
  EXPECT_EQ(Ids(first), std::vector<int64_t>{ascending[1]});
  ASSERT_TRUE(first["next"].is_string());
  json second =
      Get("/v1/outbox?state=failed&order=desc&limit=1&before=" + first["next"].get<std::string>(),
          other_key_);
  EXPECT_EQ(Ids(second), std::vector<int64_t>{ascending[0]});
  // The failed reply is also what its message shows.
  json messages = Get("/v1/messages?limit=1", other_key_);
  ASSERT_EQ(messages["items"][0]["replies"].size(), 1u);
  EXPECT_EQ(messages["items"][0]["replies"][0]["state"], "failed");

  // Several states are "any of"; this account has sent replies and no failed ones.
  Receive("sent-1", "+14155557006", kNumber1, "HELP");
  json sent = WaitFor("/v1/outbox?state=sent,failed", [](const json& j) {
    for (const json& o : j["items"]) {
      if (o["to"] == "+14155557006") return true;
    }
    return false;
  });
  for (const json& o : sent["items"]) EXPECT_EQ(o["state"], "sent");
  EXPECT_TRUE(Get("/v1/outbox?state=failed,dead")["items"].empty());
  // Ascending stays the default, unchanged for existing callers.
  const std::vector<int64_t> all = Ids(Get("/v1/outbox?limit=1000"));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));

  CallJson("GET", "/v1/outbox?state=failed,bogus", "", 400);
  CallJson("GET", "/v1/outbox?state=failed,", "", 400);
  CallJson("GET", "/v1/outbox?state=", "", 400);
  CallJson("GET", "/v1/outbox?order=sideways", "", 400);
  CallJson("GET", "/v1/outbox?before=0", "", 400);
}

TEST_F(Activity, ContactsIncludeTheirSubscriptionsOnRequest) {
  const std::string opted = "+14155557101";
  json c1 =
      CallJson("POST", "/v1/contacts", json({{"phone", opted}, {"name", "Subs One"}}).dump(), 201);
  json c2 = CallJson("POST", "/v1/contacts", R"({"phone":"+14155557102","name":"Subs Two"})", 201);
  const std::string id1 = std::to_string(c1["id"].get<int64_t>());
  // A manual opt-in on both numbers, then the contact's own STOP on number 2.
  for (int64_t number : {number1_, number2_}) {
    CallJson("PUT", "/v1/contacts/" + id1 + "/subscriptions/" + std::to_string(number),
             R"({"status":"opted_in","attest":true,"legal_basis":"consent",
                 "explanation":"Signed up at the counter"})",
             200);
  }
  Receive("subs-1", opted, kNumber2, "STOP");

  json page = Get("/v1/contacts?search=subs&include=subscriptions");
  ASSERT_EQ(page["items"].size(), 2u) << page.dump();
  const json& one = page["items"][0];
  EXPECT_EQ(one["id"], c1["id"]);
  EXPECT_EQ(one["phone"], opted);
  ASSERT_EQ(one["subscriptions"].size(), 2u) << one.dump();
  const json& on1 = one["subscriptions"][0];
  EXPECT_EQ(on1["number_id"], number1_);
  EXPECT_EQ(on1["number"], kNumber1);
  EXPECT_EQ(on1["status"], "opted_in");
  EXPECT_EQ(on1["source"], "api");
  EXPECT_EQ(on1["may_send"], true);
  EXPECT_TRUE(std::regex_match(on1["updated_at"].get<std::string>(), kTimestamp));
  const json& on2 = one["subscriptions"][1];
  EXPECT_EQ(on2["number_id"], number2_);
  EXPECT_EQ(on2["status"], "opted_out");
  EXPECT_EQ(on2["source"], "keyword");
  EXPECT_EQ(on2["self_opted_out"], true);
  EXPECT_EQ(on2["may_send"], false);
  // Exactly what the contact's own subscriptions show for those numbers.
  json own = Get("/v1/contacts/" + id1 + "/subscriptions");
  for (const json& s : one["subscriptions"]) {
    bool same = false;
    for (const json& o : own["items"]) same = same || o == s;
    EXPECT_TRUE(same) << s.dump() << " not in " << own.dump();
  }
  // No status stored anywhere: an empty list (every number not_specified).
  EXPECT_EQ(page["items"][1]["id"], c2["id"]);
  EXPECT_EQ(page["items"][1]["subscriptions"], json::array());

  // A number with no stored status is left out: the contact texted number 1 only.
  Receive("subs-2", "+14155557103", kNumber1, "START");
  json texted = Get("/v1/contacts?phone=%2B14155557103&include=subscriptions");
  ASSERT_EQ(texted["items"].size(), 1u);
  ASSERT_EQ(texted["items"][0]["subscriptions"].size(), 1u);
  EXPECT_EQ(texted["items"][0]["subscriptions"][0]["number_id"], number1_);
  EXPECT_EQ(texted["items"][0]["subscriptions"][0]["status"], "opted_in");

  // Without include the response is as before.
  const json plain = Get("/v1/contacts?search=subs");
  for (const json& c : plain["items"]) {
    EXPECT_FALSE(c.contains("subscriptions")) << c.dump();
  }
  CallJson("GET", "/v1/contacts?include=bogus", "", 400);
  CallJson("GET", "/v1/contacts?include=subscriptions,", "", 400);
  EXPECT_TRUE(Get("/v1/contacts?search=subs&include=subscriptions", other_key_)["items"].empty());
  // Statuses are SMS consent data: Marketing SMS Access is needed.
  CallJson("GET", "/v1/contacts?include=subscriptions", "", 403, bare_key_);
  Get("/v1/contacts", bare_key_);
}

}  // namespace
}  // namespace smsconsent
