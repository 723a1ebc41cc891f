// Integration tests of messages the business sends (POST /v1/messages, docs/sending.md): the
// real `smsconsent serve` binary with its dispatcher and the log sender, which writes every
// message it sends to the server's log.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "http/client.h"
#include "providers/webhook.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

constexpr char kNumber[] = "+15551230000";
constexpr char kSecret[] = "messages-secret";
constexpr char kFan[] = "+14155550123";       // opted in by staff
constexpr char kStranger[] = "+14155550124";  // never heard of

class Messages : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = serve_fixture::FreshDir("messages-" + name);
    db_ = serve_fixture::NewDatabase(dir_, "messages.db");
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    number_id_ = Cli(db_, {"number", "add", "--account", account_, "--number", kNumber,
                           "--business-name", "Acme"})["id"];
    Cli(db_, {"provider", "set", "--account", account_, "--provider", "generic", "--secret",
              kSecret, "--sender", "log"});
    json r = Cli(db_, {"status", "set", "--account", account_, "--phone", kFan, "--number", kNumber,
                       "--status", "opted_in", "--attest", "--legal-basis", "consent",
                       "--explanation", "signed up at the counter", "--actor", "staff@acme"});
    ASSERT_EQ(r["status_after"], "opted_in") << r.dump();
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(),
                              {"--threads", "2", "--outbox-poll-ms", "50"}, &server_);
    // These tests run at any hour: the recipient's quiet hours would defer their marketing
    // messages at night. AMarketingMessageIsDeferredOutOfTheRecipientsNight puts them back.
    ASSERT_EQ(Patch(R"({"quiet_hours":"off"})").status, 200);
  }
  HttpClientResponse Patch(const std::string& body) {
    HttpClientRequest req;
    req.method = "PATCH";
    req.url = server_.base_url + "/v1/numbers/" + std::to_string(number_id_);
    req.body = body;
    req.headers = {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}};
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  void TearDown() override {
    serve_fixture::StopServe(server_);
    if (!db_.empty()) serve_fixture::DropDatabase(db_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  HttpClientResponse Post(const json& body, const std::string& idempotency_key = "",
                          const std::string& path = "/v1/messages") {
    HttpClientRequest req;
    req.method = "POST";
    req.url = server_.base_url + path;
    req.body = body.dump();
    req.headers = {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}};
    if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json Get(const std::string& path) {
    HttpClientRequest req;
    req.method = "GET";
    req.url = server_.base_url + path;
    req.headers = {{"Authorization", "Bearer " + key_}};
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok() && r->status == 200) << path << ": " << (r.ok() ? r->body : "");
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }
  // The body's error code, or "" when it has none.
  static std::string ErrorCode(const HttpClientResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  // What the contact texts to the number, through the generic webhook.
  void Text(const std::string& id, const std::string& from, const std::string& body) {
    const std::string payload =
        json({{"message_id", id}, {"from", from}, {"to", kNumber}, {"body", body}}).dump();
    const std::string ts = std::to_string(std::time(nullptr));
    HttpClientRequest req;
    req.method = "POST";
    req.url = server_.base_url + "/webhooks/generic";
    req.body = payload;
    req.headers = {
        {"Content-Type", "application/json"},
        {"X-Smsconsent-Timestamp", ts},
        {"X-Smsconsent-Signature", "sha256=" + HexEncode(HmacSha256(kSecret, ts + "." + payload))}};
    auto r = client_->Send(req);
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  }
  // Polls the outbox item (deadline 20 s) until it is no longer pending or sending.
  json Settled(int64_t id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json item;
    while (std::chrono::steady_clock::now() < deadline) {
      item = Get("/v1/outbox/" + std::to_string(id));
      if (item.is_object() && item["state"] != "pending" && item["state"] != "sending") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return item;
  }
  std::string Log() {
    std::ifstream in(dir_ / "serve.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  size_t OutboxSize() { return Get("/v1/outbox?limit=1000")["items"].size(); }
  HttpClientResponse Call(const std::string& method, const std::string& path, const json& body) {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + path;
    req.body = body.dump();
    req.headers = {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}};
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  // Waits (20 s at most) for the service's log to contain `text`.
  bool LogShows(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  fs::path dir_;
  std::string db_, account_, key_;
  int64_t number_id_ = 0;
  serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(Messages, AMarketingMessageToAnOptedInContactIsQueuedAndSent) {
  HttpClientResponse r = Post({{"to", "+1 (415) 555-0123"},
                               {"from", number_id_},
                               {"body", "Spring sale: 20% off today"},
                               {"purpose", "marketing"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const json m = json::parse(r.body);
  EXPECT_EQ(m["state"], "queued");
  EXPECT_EQ(m["to"], kFan);
  EXPECT_EQ(m["from"], kNumber);
  EXPECT_EQ(m["purpose"], "marketing");
  EXPECT_EQ(m["segments"], 1);
  EXPECT_EQ(m["encoding"], "GSM-7");
  EXPECT_TRUE(m["contact_id"].is_number());
  const json sent = Settled(m["id"]);
  EXPECT_EQ(sent["state"], "sent") << sent.dump();
  EXPECT_EQ(sent["kind"], "message");
  EXPECT_EQ(sent["purpose"], "marketing");
  EXPECT_NE(Log().find("Spring sale: 20% off today"), std::string::npos);

  // The contact's conversation: what they sent, and what was sent to them.
  ASSERT_EQ(Post({{"to", kFan}, {"from", kNumber}, {"body", "Second"}}).status, 202);
  const std::string contact = std::to_string(m["contact_id"].get<int64_t>());
  json out = Get("/v1/messages?direction=outbound&contact=" + contact);
  ASSERT_EQ(out["items"].size(), 2u) << out.dump();
  EXPECT_EQ(out["items"][0]["body"], "Second");  // newest first
  EXPECT_EQ(out["items"][1]["id"], m["id"]);
  EXPECT_EQ(out["items"][1]["state"], "sent");
  out = Get("/v1/messages?direction=outbound&limit=1");
  ASSERT_EQ(out["items"].size(), 1u);
  EXPECT_EQ(Get("/v1/messages?direction=outbound&before=" + out["next"].get<std::string>() +
                "&number=" + std::to_string(number_id_))["items"][0]["id"],
            m["id"]);
  EXPECT_TRUE(Get("/v1/messages")["items"].empty());  // inbound: nothing received
}

TEST_F(Messages, EachRefusalHasItsCodeAndQueuesNothing) {
  // Marketing to a phone that never opted in.
  HttpClientResponse r = Post({{"to", kStranger}, {"from", kNumber}, {"body", "Sale"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorCode(r), "not_opted_in") << r.body;
  // A transactional message to them is fine; to someone who texted STOP it is not.
  r = Post({{"to", kStranger},
            {"from", kNumber},
            {"body", "Your order shipped"},
            {"purpose", "transactional"}});
  EXPECT_EQ(r.status, 202) << r.body;
  Text("stop-1", kFan, "STOP");
  for (const char* purpose : {"marketing", "transactional"}) {
    r = Post({{"to", kFan}, {"from", kNumber}, {"body", "Hello"}, {"purpose", purpose}});
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(ErrorCode(r), "opted_out") << purpose << ": " << r.body;
  }
  const size_t queued = OutboxSize();  // the transactional message and the STOP confirmation
  EXPECT_EQ(queued, 2u);
  // Bad input: 4xx naming what is wrong, and nothing queued.
  struct Bad {
    json body;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{{"to", "12"}, {"from", kNumber}, {"body", "x"}}, 422, ""},
      {{{"to", kFan}, {"from", "+15559999999"}, {"body", "x"}}, 404, "+15559999999"},
      {{{"to", kFan}, {"from", 999}, {"body", "x"}}, 404, "999"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "  "}}, 400, "'body'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", std::string(1531, 'a')}}, 400, "11 SMS"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"send_at", "2020-01-01T00:00:00Z"}},
       400,
       "'send_at'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"send_at", "2026-01-01"}},
       400,
       "'send_at'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"purpose", "promo"}}, 400, "'purpose'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"sender", "y"}}, 400, "sender"},
      {{{"to", kFan}, {"from", true}, {"body", "x"}}, 400, "'from'"},
  };
  for (const Bad& b : bad) {
    r = Post(b.body);
    EXPECT_EQ(r.status, b.status) << b.body.dump() << " -> " << r.body;
    EXPECT_NE(r.body.find(b.says), std::string::npos) << b.body.dump() << " -> " << r.body;
  }
  EXPECT_EQ(OutboxSize(), queued);
}

TEST_F(Messages, APreviewShowsWhatWouldBeSentWithTheNoticeAndQueuesNothing) {
  const auto preview = [this](const json& body, const std::string& key = "") {
    HttpClientResponse r = Post(body, key, "/v1/messages/preview");
    EXPECT_EQ(r.status, 200) << body.dump() << " -> " << r.body;
    return json::parse(r.body, nullptr, false);
  };
  const std::string notice = "Reply STOP to opt out";
  // The first marketing message to the fan carries the number's opt-out notice, counted.
  json p = preview({{"to", "+1 (415) 555-0123"}, {"from", number_id_}, {"body", "Spring sale"}});
  EXPECT_EQ(p["state"], "queued") << p.dump();
  EXPECT_EQ(p["body"], "Spring sale\n" + notice) << p.dump();
  EXPECT_EQ(p["opt_out_notice"], true);
  EXPECT_EQ(p["characters"], 12 + notice.size());
  EXPECT_EQ(p["segments"], 1);
  EXPECT_EQ(p["encoding"], "GSM-7");
  EXPECT_EQ(p["to"], kFan);
  EXPECT_EQ(p["from"], kNumber);
  EXPECT_FALSE(p.contains("refusal") || p.contains("id")) << p.dump();
  // A body of 150 septets fits one segment alone, and costs two with the notice.
  p = preview({{"to", kFan}, {"from", kNumber}, {"body", std::string(150, 'a')}});
  EXPECT_EQ(p["segments"], 2) << p.dump();
  // Transactional messages carry no notice; an emoji makes the text UCS-2.
  p = preview({{"to", kFan},
               {"from", kNumber},
               {"body", "Your bike is ready \xF0\x9F\x9A\xB2"},
               {"purpose", "transactional"}});
  EXPECT_EQ(p["opt_out_notice"], false) << p.dump();
  EXPECT_EQ(p["body"], "Your bike is ready \xF0\x9F\x9A\xB2");
  EXPECT_EQ(p["encoding"], "UCS-2");
  EXPECT_EQ(p["characters"], 21);
  EXPECT_EQ(OutboxSize(), 0u);

  // Once a message carried it, the next one does not (the default policy: again in 30 days).
  HttpClientResponse sent = Post({{"to", kFan}, {"from", kNumber}, {"body", "Spring sale"}}, "k1");
  ASSERT_EQ(sent.status, 202) << sent.body;
  EXPECT_EQ(json::parse(sent.body)["opt_out_notice"], true);
  // A preview with the key of the queued message answers for a new request, not the replay.
  p = preview({{"to", kFan}, {"from", kNumber}, {"body", "Spring sale"}}, "k1");
  EXPECT_EQ(p["body"], "Spring sale") << p.dump();
  EXPECT_EQ(p["opt_out_notice"], false);
  EXPECT_EQ(p["segments"], 1);

  // What would be refused says so, with the code POST /v1/messages answers.
  p = preview({{"to", kStranger}, {"from", kNumber}, {"body", "Sale"}});
  EXPECT_EQ(p["state"], "refused") << p.dump();
  EXPECT_EQ(p["refusal"]["code"], "not_opted_in");
  EXPECT_TRUE(p["refusal"]["message"].is_string());
  EXPECT_EQ(p["body"], "Sale");
  EXPECT_EQ(p["segments"], 1);
  EXPECT_TRUE(p["send_at"].is_null());
  Text("stop-1", kFan, "STOP");
  p = preview({{"to", kFan}, {"from", kNumber}, {"body", "Hi"}, {"purpose", "transactional"}});
  EXPECT_EQ(p["refusal"]["code"], "opted_out") << p.dump();
  EXPECT_EQ(OutboxSize(), 2u);  // the message sent and the STOP's confirmation
}

TEST_F(Messages, APreviewOfBadInputIsRefusedAsTheMessageWouldBe) {
  struct Bad {
    json body;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{{"from", kNumber}, {"body", "x"}}, 400, "'to'"},
      {{{"to", "12"}, {"from", kNumber}, {"body", "x"}}, 422, ""},
      {{{"to", kFan}, {"from", 999}, {"body", "x"}}, 404, "999"},
      {{{"to", kFan}, {"from", "+15559999999"}, {"body", "x"}}, 404, "+15559999999"},
      {{{"to", kFan}, {"from", kNumber}, {"body", ""}}, 400, "'body'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", std::string(1531, 'a')}}, 400, "'body'"},
      // Within 10 segments alone, not with the notice the fan's first marketing message gets.
      {{{"to", kFan}, {"from", kNumber}, {"body", std::string(1520, 'a')}},
       400,
       "with the opt-out notice"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"purpose", "promo"}}, 400, "'purpose'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"send_at", "2020-01-01T00:00:00Z"}},
       400,
       "'send_at'"},
      {{{"to", kFan}, {"from", kNumber}, {"body", "x"}, {"sender", "y"}}, 400, "sender"},
  };
  for (const Bad& b : bad) {
    HttpClientResponse r = Post(b.body, "", "/v1/messages/preview");
    EXPECT_EQ(r.status, b.status) << b.body.dump() << " -> " << r.body;
    EXPECT_NE(r.body.find(b.says), std::string::npos) << b.body.dump() << " -> " << r.body;
  }
  EXPECT_EQ(OutboxSize(), 0u);
}

TEST_F(Messages, AnIdempotencyKeyReturnsTheSameMessageForTheSameRequestOnly) {
  const json body = {{"to", kFan}, {"from", kNumber}, {"body", "Once only"}};
  HttpClientResponse first = Post(body, "order-17");
  ASSERT_EQ(first.status, 202) << first.body;
  HttpClientResponse again = Post(body, "order-17");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  bool replayed = false;
  for (const auto& [name, value] : again.headers) {
    replayed = replayed || (name == "idempotent-replayed" && value == "true");
  }
  EXPECT_TRUE(replayed);
  // The same key for another request is refused.
  json other = body;
  other["body"] = "Twice";
  HttpClientResponse clash = Post(other, "order-17");
  EXPECT_EQ(clash.status, 409) << clash.body;
  EXPECT_NE(clash.body.find("different request"), std::string::npos) << clash.body;
  EXPECT_EQ(Post(body, std::string(256, 'k')).status, 400);
  EXPECT_EQ(Post(body, "with space").status, 400);
  EXPECT_EQ(OutboxSize(), 1u);
  EXPECT_EQ(Settled(json::parse(first.body)["id"])["state"], "sent");
  const std::string log = Log();
  EXPECT_EQ(log.find("Once only"), log.rfind("Once only")) << "sent twice:\n" << log;
}

// With the number's default quiet hours ("jurisdiction"), a marketing message scheduled for
// 03:00 or 04:00 in San Francisco (11:00Z) is deferred to 08:00 there, and the answer says so.
TEST_F(Messages, AMarketingMessageIsDeferredOutOfTheRecipientsNight) {
  HttpClientResponse bad = Patch(R"({"quiet_hours":{"start":"21:00","end":"08:00"}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("start must be before end"), std::string::npos) << bad.body;
  HttpClientResponse set = Patch(R"({"quiet_hours":"jurisdiction"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["quiet_hours"], "jurisdiction");
  // The next 11:00Z at least an hour from now.
  const int64_t day = 86'400'000, now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  int64_t night = (now / day) * day + 11 * 3'600'000;
  while (night < now + 3'600'000) night += day;
  const json request = {{"to", kFan},
                        {"from", kNumber},
                        {"body", "Night owl deals"},
                        {"send_at", FormatTimestampMs(night)}};
  HttpClientResponse previewed = Post(request, "", "/v1/messages/preview");
  ASSERT_EQ(previewed.status, 200) << previewed.body;
  HttpClientResponse r = Post(request);
  ASSERT_EQ(r.status, 202) << r.body;
  const json m = json::parse(r.body);
  EXPECT_EQ(m["state"], "scheduled");
  ASSERT_TRUE(m.contains("deferred")) << m.dump();
  EXPECT_EQ(m["deferred"]["reason"], "quiet_hours");
  EXPECT_EQ(m["deferred"]["requested"], FormatTimestampMs(night));
  EXPECT_EQ(m["deferred"]["zones"], json::array({"America/Los_Angeles"}));
  // 08:00 Pacific: 16:00Z in winter, 15:00Z in summer.
  const std::string until = m["deferred"]["until"];
  EXPECT_TRUE(until == FormatTimestampMs(night + 5 * 3'600'000) ||
              until == FormatTimestampMs(night + 4 * 3'600'000))
      << until;
  EXPECT_EQ(m["send_at"], until);
  // The preview said so before it was sent.
  const json p = json::parse(previewed.body);
  EXPECT_EQ(p["state"], "scheduled");
  EXPECT_EQ(p["deferred"], m["deferred"]);
  EXPECT_EQ(p["send_at"], until);
}

// A message scheduled for later to a contact who texts STOP before it is due is cancelled when
// it would leave, with the refusal as the reason, and never sent.
TEST_F(Messages, AScheduledMessageIsCancelledWhenTheContactOptsOutBeforeItIsDue) {
  const int64_t due = (std::time(nullptr) + 3) * 1000;
  HttpClientResponse r = Post({{"to", kFan},
                               {"from", kNumber},
                               {"body", "Tomorrow's deals"},
                               {"send_at", FormatTimestampMs(due)}});
  ASSERT_EQ(r.status, 202) << r.body;
  const json m = json::parse(r.body);
  EXPECT_EQ(m["state"], "scheduled");
  EXPECT_EQ(m["send_at"], FormatTimestampMs(due));
  Text("stop-2", kFan, "STOP");
  const json after = Settled(m["id"]);
  EXPECT_EQ(after["state"], "cancelled") << after.dump();
  const std::string reason = after["last_error"].is_string() ? after["last_error"] : "";
  EXPECT_EQ(reason.rfind("opted_out: ", 0), 0u) << reason;
  EXPECT_EQ(Log().find("Tomorrow's deals"), std::string::npos);
}

TEST_F(Messages, OnANumberWithDoubleOptInMarketingWaitsForTheContactsYes) {
  HttpClientResponse set = Patch(R"({"double_opt_in":true})");
  ASSERT_EQ(set.status, 200) << set.body;
  json number = json::parse(set.body);
  EXPECT_EQ(number["double_opt_in"], true);
  EXPECT_NE(number["replies"]["confirmation_request"].get<std::string>().find("Reply YES"),
            std::string::npos);
  EXPECT_EQ(Patch(R"({"double_opt_in":"yes"})").status, 400);

  // By keyword: START asks to confirm; marketing is refused until the YES.
  Text("start-1", kStranger, "START");
  HttpClientResponse r = Post({{"to", kStranger}, {"from", kNumber}, {"body", "Sale"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorCode(r), "pending_confirmation") << r.body;
  EXPECT_EQ(Post({{"to", kStranger},
                  {"from", kNumber},
                  {"body", "Your order shipped"},
                  {"purpose", "transactional"}})
                .status,
            202);
  EXPECT_TRUE(LogShows("Acme: Reply YES to confirm you want to receive SMS."));
  json pending =
      Get("/v1/contacts?number=" + std::to_string(number_id_) + "&status=pending_confirmation");
  ASSERT_EQ(pending["items"].size(), 1u) << pending.dump();
  EXPECT_EQ(pending["items"][0]["phone"], kStranger);
  Text("yes-1", kStranger, "yes");
  EXPECT_EQ(Post({{"to", kStranger}, {"from", kNumber}, {"body", "Sale"}}).status, 202);

  // By API: staff's opt-in of another phone becomes pending, with the request queued.
  const char kSignup[] = "+14155550125";
  HttpClientResponse c = Call("POST", "/v1/contacts", {{"phone", kSignup}});
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string contact = std::to_string(json::parse(c.body)["id"].get<int64_t>());
  HttpClientResponse opt =
      Call("PUT", "/v1/contacts/" + contact + "/subscriptions/" + std::to_string(number_id_),
           {{"status", "opted_in"},
            {"attest", true},
            {"legal_basis", "consent"},
            {"explanation", "web form"}});
  ASSERT_EQ(opt.status, 200) << opt.body;
  EXPECT_EQ(json::parse(opt.body)["status_after"], "pending_confirmation") << opt.body;
  HttpClientResponse direct =
      Call("PUT", "/v1/contacts/" + contact + "/subscriptions/" + std::to_string(number_id_),
           {{"status", "pending_confirmation"}});
  EXPECT_EQ(direct.status, 400) << direct.body;
  r = Post({{"to", kSignup}, {"from", kNumber}, {"body", "Sale"}});
  EXPECT_EQ(ErrorCode(r), "pending_confirmation") << r.body;
  Text("yes-2", kSignup, "Y");
  EXPECT_EQ(Post({{"to", kSignup}, {"from", kNumber}, {"body", "Sale"}}).status, 202);
}

TEST_F(Messages, ANumberFollowsItsAccountsQuietHoursUnlessItHasItsOwn) {
  HttpClientResponse own = Patch(R"({"quiet_hours":"account"})");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(json::parse(own.body)["quiet_hours"], "account");
  auto account = [&](const json& body) { return Call("PATCH", "/v1/account", body); };
  EXPECT_EQ(Get("/v1/account")["quiet_hours"], "jurisdiction");
  // One minute a day allowed: any other moment is quiet, so the message waits.
  HttpClientResponse set = account({{"quiet_hours", {{"start", "00:00"}, {"end", "00:01"}}}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["quiet_hours"]["end"], "00:01");
  HttpClientResponse r = Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale"}});
  ASSERT_EQ(r.status, 202) << r.body;
  json m = json::parse(r.body);
  if (m.contains("deferred")) {  // unless this runs in that very minute in San Francisco
    EXPECT_EQ(m["deferred"]["rule"], "custom") << r.body;
    EXPECT_EQ(m["state"], "scheduled");
  }
  // Never quiet: sent at once.
  ASSERT_EQ(account({{"quiet_hours", "off"}}).status, 200);
  r = Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale 2"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_FALSE(json::parse(r.body).contains("deferred")) << r.body;
  // Bad input changes nothing.
  EXPECT_EQ(account({{"quiet_hours", "account"}}).status, 400);
  EXPECT_EQ(account({{"quiet_hours", "sometimes"}}).status, 400);
  EXPECT_EQ(account({{"quiet_hours", "off"}, {"name", "Evil"}}).status, 400);
  EXPECT_EQ(Get("/v1/account")["quiet_hours"], "off");
}

// ---- Sending rate ----

TEST_F(Messages, ANumbersRateIsSetThroughPatchAndBadRatesChangeNothing) {
  const std::string path = "/v1/numbers/" + std::to_string(number_id_);
  json n = Get(path);
  EXPECT_EQ(n["rate_per_second"], 1.0);  // a long code's default
  EXPECT_EQ(n["rate_default"], true);

  HttpClientResponse r = Patch(R"({"rate_per_second":2.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rate_per_second"], 2.5);
  EXPECT_EQ(Get(path)["rate_default"], false);

  for (const char* bad :
       {R"({"rate_per_second":0})", R"({"rate_per_second":1000.5})", R"({"rate_per_second":-3})",
        R"({"rate_per_second":"fast"})", R"({"rate_per_second":0.001})"}) {
    r = Patch(bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_NE(r.body.find("rate_per_second"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Get(path)["rate_per_second"], 2.5);

  r = Patch(R"({"rate_per_second":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rate_per_second"], 1.0);
  EXPECT_EQ(json::parse(r.body)["rate_default"], true);
}

// Messages queued together on one number leave at its rate: with 4 per second, the fifth
// leaves a second after the first at the earliest.
TEST_F(Messages, MessagesLeaveANumberAtItsRate) {
  ASSERT_EQ(Patch(R"({"rate_per_second":4})").status, 200);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    HttpClientResponse r = Post({{"to", kFan},
                                 {"from", kNumber},
                                 {"body", "update " + std::to_string(i)},
                                 {"purpose", "transactional"}});
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json::parse(r.body)["id"].get<int64_t>());
  }
  std::vector<std::string> sent_at;
  for (int64_t id : ids) {
    json item = Settled(id);
    ASSERT_EQ(item["state"], "sent") << item.dump();
    sent_at.push_back(item["sent_at"]);
  }
  // "YYYY-MM-DDTHH:MM:SS.mmmZ": the time of day in milliseconds.
  auto ms_of = [](const std::string& t) {
    const int h = std::stoi(t.substr(11, 2)), m = std::stoi(t.substr(14, 2));
    const double s = std::stod(t.substr(17, 6));
    return static_cast<int64_t>(((h * 60 + m) * 60 + s) * 1000 + 0.5);
  };
  int64_t span = ms_of(sent_at.back()) - ms_of(sent_at.front());
  if (span < 0) span += 24 * 3600 * 1000;  // across midnight
  EXPECT_GE(span, 990) << sent_at.front() << " .. " << sent_at.back();
}

TEST_F(Messages, TheFrequencyCapRefusesMarketingPastItAndBadCapsChangeNothing) {
  HttpClientResponse set = Patch(R"({"frequency_cap":{"per_day":1}})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["frequency_cap"]["per_day"], 1);
  EXPECT_EQ(json::parse(set.body)["frequency_cap"]["over"], "refuse");
  for (const char* bad :
       {R"({"frequency_cap":{"per_day":0}})", R"({"frequency_cap":{"per_day":1,"over":"drop"}})",
        R"({"frequency_cap":{"per_hour":1}})", R"({"frequency_cap":3})"}) {
    HttpClientResponse r = Patch(bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("frequency_cap"), std::string::npos) << r.body;
  }
  ASSERT_EQ(Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale 1"}}).status, 202);
  HttpClientResponse r = Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale 2"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorCode(r), "frequency_capped") << r.body;
  EXPECT_EQ(
      Post({{"to", kFan}, {"from", kNumber}, {"body", "Receipt"}, {"purpose", "transactional"}})
          .status,
      202);
  // Deferred instead, a day after the first.
  ASSERT_EQ(Patch(R"({"frequency_cap":{"per_day":1,"over":"defer"}})").status, 200);
  r = Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale 3"}});
  ASSERT_EQ(r.status, 202) << r.body;
  json m = json::parse(r.body);
  EXPECT_EQ(m["state"], "scheduled") << r.body;
  EXPECT_EQ(m["deferred"]["reason"], "frequency_cap") << r.body;
  ASSERT_EQ(Patch(R"({"frequency_cap":null})").status, 200);
  EXPECT_EQ(Post({{"to", kFan}, {"from", kNumber}, {"body", "Sale 4"}}).status, 202);
}

}  // namespace
}  // namespace smsconsent
