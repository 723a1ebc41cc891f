// Integration tests of delivery status callbacks and carrier opt-outs (docs/sending.md): the
// real `smsconsent serve` binary sends messages through its Twilio sender to a stand-in of
// Twilio's REST API on 127.0.0.1, which answers as Twilio does; the test then posts Twilio's
// signed status callbacks to /webhooks/twilio/status, as Twilio would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
// Named, so that its helpers stay apart from those of the unity build's other files.
namespace delivery_integration {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

constexpr char kNumber[] = "+15551230000";
constexpr char kFan[] = "+14155550123";
constexpr char kToken[] = "twilio-auth-token";
constexpr char kAccountSid[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kPublicUrl[] = "https://sms.example.com";
constexpr char kStatusUrl[] = "https://sms.example.com/webhooks/twilio/status";

// Twilio's REST API, as far as sending a message goes: every request is recorded, and answered
// with the next scripted answer (201 with a fresh message SID when none is left).
class TwilioStandIn {
 public:
  struct Answer {
    int status = 201;
    std::string body;
  };

  TwilioStandIn() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 16) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot start the Twilio stand-in");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TwilioStandIn() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Then(Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(a));
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      std::string in;
      char buf[4096];
      size_t need = std::string::npos;
      while (need == std::string::npos || in.size() < need) {
        const ssize_t n = read(conn, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        const size_t end = in.find("\r\n\r\n");
        if (need == std::string::npos && end != std::string::npos) {
          size_t length = 0;
          std::string lower = in.substr(0, end);
          for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          const size_t at = lower.find("content-length:");
          if (at != std::string::npos) length = std::stoul(lower.substr(at + 15));
          need = end + 4 + length;
        }
      }
      Answer a;
      {
        std::lock_guard<std::mutex> lock(mu_);
        const size_t end = in.find("\r\n\r\n");
        bodies_.push_back(end == std::string::npos ? "" : in.substr(end + 4));
        if (!script_.empty()) {
          a = std::move(script_.front());
          script_.pop_front();
        } else {
          char sid[35];
          std::snprintf(sid, sizeof sid, "SM%032x", ++sent_);
          a.body = json({{"sid", sid}, {"status", "queued"}}).dump();
        }
      }
      const std::string out = "HTTP/1.1 " + std::to_string(a.status) +
                              " X\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" +
                              a.body;
      (void)!write(conn, out.data(), out.size());
      close(conn);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<Answer> script_;
  std::vector<std::string> bodies_;
  unsigned sent_ = 0;
};

class Delivery : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = serve_fixture::FreshDir("delivery-" + name);
    db_ = serve_fixture::NewDatabase(dir_, "delivery.db");
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    number_id_ = Cli(db_, {"number", "add", "--account", account_, "--number", kNumber,
                           "--business-name", "Acme"})["id"];
    Cli(db_,
        {"provider", "set", "--account", account_, "--provider", "twilio", "--auth-token", kToken,
         "--account-sid", kAccountSid, "--api-base-url", twilio_.Base(), "--sender", "twilio"});
    json r = Cli(db_, {"status", "set", "--account", account_, "--phone", kFan, "--number", kNumber,
                       "--status", "opted_in", "--attest", "--legal-basis", "consent",
                       "--explanation", "signed up at the counter", "--actor", "staff@acme"});
    ASSERT_EQ(r["status_after"], "opted_in") << r.dump();
    serve_fixture::StartServe(
        db_, (dir_ / "serve.log").string(),
        {"--threads", "2", "--outbox-poll-ms", "50", "--public-url", kPublicUrl}, &server_);
    if (HasFatalFailure()) return;
    ASSERT_EQ(Send("PATCH", "/v1/numbers/" + std::to_string(number_id_), R"({"quiet_hours":"off"})")
                  .status,
              200);
  }
  void TearDown() override {
    serve_fixture::StopServe(server_);
    if (!db_.empty()) serve_fixture::DropDatabase(db_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  HttpClientResponse Send(const std::string& method, const std::string& path,
                          const std::string& body = "") {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + path;
    req.body = body;
    req.headers = {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}};
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json Get(const std::string& path) {
    HttpClientResponse r = Send("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // Sends a marketing message to kFan and waits (20 s at most) until the dispatcher is done
  // with it; returns its outbox item.
  json SendMessage(const std::string& body) {
    HttpClientResponse r =
        Send("POST", "/v1/messages",
             json({{"to", kFan}, {"from", number_id_}, {"body", body}, {"purpose", "marketing"}})
                 .dump());
    EXPECT_EQ(r.status, 202) << r.body;
    const int64_t id = json::parse(r.body, nullptr, false).value("id", int64_t{0});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json item;
    while (std::chrono::steady_clock::now() < deadline) {
      item = Get("/v1/outbox/" + std::to_string(id));
      if (item.is_object() && item["state"] != "pending" && item["state"] != "sending") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (item.is_object() && item["contact_id"].is_number()) contact_id_ = item["contact_id"];
    return item;
  }
  // Twilio's status callback for `sid`, signed with `token` as Twilio signs it.
  HttpClientResponse Callback(const std::string& sid, const std::string& status,
                              const std::string& error_code = "",
                              const std::string& token = kToken) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"AccountSid", kAccountSid}, {"ApiVersion", "2010-04-01"},
        {"From", kNumber},           {"MessageSid", sid},
        {"MessageStatus", status},   {"SmsSid", sid},
        {"SmsStatus", status},       {"To", kFan}};
    if (!error_code.empty()) params.emplace_back("ErrorCode", error_code);
    HttpClientRequest req;
    req.method = "POST";
    req.url = server_.base_url + "/webhooks/twilio/status";
    req.body = serve_fixture::Form(params);
    req.headers = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"X-Twilio-Signature", serve_fixture::TwilioSignature(token, kStatusUrl, params)}};
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  // kFan's status on kNumber (the contact of the last message sent).
  json Subscription() {
    return Get("/v1/contacts/" + std::to_string(contact_id_) + "/subscriptions")["items"].at(0);
  }
  json History() {
    return Get("/v1/contacts/" + std::to_string(contact_id_) + "/history")["items"];
  }
  static int CountCarrierEvents(const json& history) {
    int n = 0;
    for (const json& e : history) n += e["source"] == "carrier";
    return n;
  }

  TwilioStandIn twilio_;
  fs::path dir_;
  std::string db_, account_, key_;
  int64_t number_id_ = 0;
  int64_t contact_id_ = 0;
  serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(Delivery, StatusCallbacksUpdateTheMessageAndAFinalStatusStays) {
  const json item = SendMessage("Spring sale");
  ASSERT_EQ(item["state"], "sent") << item.dump();
  EXPECT_TRUE(item["delivery"].is_null());
  const std::string sid = item["provider_message_id"];
  const std::string path = "/v1/outbox/" + std::to_string(item["id"].get<int64_t>());
  // The message asked Twilio to report its status to the service's public URL.
  const std::vector<std::string> bodies = twilio_.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(
      bodies[0].find("StatusCallback=https%3A%2F%2Fsms.example.com%2Fwebhooks%2Ftwilio%2Fstatus"),
      std::string::npos)
      << bodies[0];

  EXPECT_EQ(Callback(sid, "queued").status, 200);  // interim: nothing recorded
  EXPECT_TRUE(Get(path)["delivery"].is_null());
  EXPECT_EQ(Callback(sid, "sent").status, 200);
  EXPECT_EQ(Get(path)["delivery"], "sent");
  EXPECT_EQ(Callback(sid, "delivered").status, 200);
  json got = Get(path);
  EXPECT_EQ(got["delivery"], "delivered");
  EXPECT_TRUE(got["delivery_updated_at"].is_string());
  EXPECT_TRUE(got["delivery_error"].is_null());
  // Late or repeated callbacks do not move a final status back.
  EXPECT_EQ(Callback(sid, "sent").status, 200);
  EXPECT_EQ(Callback(sid, "undelivered", "30003").status, 200);
  EXPECT_EQ(Get(path)["delivery"], "delivered");
  // The outbound conversation shows it too.
  const json out = Get("/v1/messages?direction=outbound");
  ASSERT_EQ(out["items"].size(), 1u);
  EXPECT_EQ(out["items"][0]["delivery"], "delivered");
}

TEST_F(Delivery, UnknownIdsAreAcknowledgedAndBadSignaturesRefused) {
  const json item = SendMessage("Spring sale");
  ASSERT_EQ(item["state"], "sent") << item.dump();
  const std::string sid = item["provider_message_id"];
  const std::string path = "/v1/outbox/" + std::to_string(item["id"].get<int64_t>());
  // An id no message has: 200, so that Twilio does not retry it, and nothing changes.
  EXPECT_EQ(Callback("SMffffffffffffffffffffffffffffffff", "delivered").status, 200);
  EXPECT_TRUE(Get(path)["delivery"].is_null());
  // A callback not signed with the account's token: refused as an inbound webhook is.
  HttpClientResponse forged = Callback(sid, "delivered", "", "not-the-token");
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_TRUE(Get(path)["delivery"].is_null());
  // An inbound message posted to the status URL is no status callback.
  HttpClientRequest req;
  req.method = "POST";
  req.url = server_.base_url + "/webhooks/twilio/status";
  req.body =
      serve_fixture::Form({{"MessageSid", sid}, {"From", kFan}, {"To", kNumber}, {"Body", "hi"}});
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto r = client_->Send(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  // The unknown id is counted.
  HttpClientRequest metrics;
  metrics.method = "GET";
  metrics.url = server_.base_url + "/metrics";
  auto m = client_->Send(metrics);
  ASSERT_TRUE(m.ok());
  EXPECT_NE(
      m->body.find(R"(smsconsent_delivery_callbacks_total{provider="twilio",effect="unknown"} 1)"),
      std::string::npos)
      << m->body;
}

TEST_F(Delivery, ACarrierOptOutInAStatusCallbackOptsTheContactOutOnce) {
  const json item = SendMessage("Spring sale");
  ASSERT_EQ(item["state"], "sent") << item.dump();
  const std::string sid = item["provider_message_id"];
  const std::string path = "/v1/outbox/" + std::to_string(item["id"].get<int64_t>());

  EXPECT_EQ(Callback(sid, "failed", "21610").status, 200);
  const json got = Get(path);
  EXPECT_EQ(got["delivery"], "failed");
  EXPECT_EQ(got["delivery_error"], "21610");
  const json sub = Subscription();
  EXPECT_EQ(sub["status"], "opted_out") << sub.dump();
  EXPECT_EQ(sub["source"], "carrier");
  EXPECT_EQ(sub["self_opted_out"], true);  // the contact's own STOP: no user may undo it
  // Twilio retries: the same callback again records nothing more.
  EXPECT_EQ(Callback(sid, "failed", "21610").status, 200);
  const json history = History();
  ASSERT_EQ(CountCarrierEvents(history), 1) << history.dump();
  for (const json& e : history) {
    if (e["source"] != "carrier") continue;
    EXPECT_EQ(e["to"], "opted_out");
    EXPECT_EQ(e["actor"], "twilio");
    EXPECT_EQ(e["evidence"]["type"], "carrier");
    EXPECT_EQ(e["evidence"]["via"], "status_callback");
    EXPECT_EQ(e["evidence"]["error_code"], "21610");
    EXPECT_EQ(e["evidence"]["provider_message_id"], sid);
    EXPECT_EQ(e["evidence"]["outbox_id"], item["id"]);
  }
  // The next message is refused.
  HttpClientResponse next =
      Send("POST", "/v1/messages",
           json({{"to", kFan}, {"from", number_id_}, {"body", "Again"}, {"purpose", "marketing"}})
               .dump());
  EXPECT_EQ(next.status, 409) << next.body;
  EXPECT_EQ(json::parse(next.body, nullptr, false)["error"]["code"], "opted_out") << next.body;
}

TEST_F(Delivery, ASendRefusedForAnUnsubscribedRecipientOptsTheContactOut) {
  twilio_.Then({400, R"({"code":21610,"message":"Attempt to send to unsubscribed recipient",)"
                     R"("more_info":"https://www.twilio.com/docs/errors/21610","status":400})"});
  const json item = SendMessage("Spring sale");
  EXPECT_EQ(item["state"], "failed") << item.dump();
  EXPECT_NE(item["last_error"].get<std::string>().find("unsubscribed recipient"),
            std::string::npos);
  const json sub = Subscription();
  EXPECT_EQ(sub["status"], "opted_out") << sub.dump();
  EXPECT_EQ(sub["source"], "carrier");
  const json history = History();
  ASSERT_EQ(CountCarrierEvents(history), 1) << history.dump();
  for (const json& e : history) {
    if (e["source"] == "carrier") {
      EXPECT_EQ(e["evidence"]["via"], "send");
    }
  }
}

TEST_F(Delivery, AnotherRefusalLeavesTheMessageFailedWithTheProvidersError) {
  twilio_.Then({400, R"({"code":21211,"message":"The 'To' number is not a valid phone number.",)"
                     R"("status":400})"});
  const json item = SendMessage("Spring sale");
  EXPECT_EQ(item["state"], "failed") << item.dump();
  EXPECT_EQ(item["attempts"], 1);  // a 4xx is not retried
  EXPECT_NE(item["last_error"].get<std::string>().find("(code 21211)"), std::string::npos)
      << item.dump();
  EXPECT_TRUE(item["provider_message_id"].is_null());
  EXPECT_EQ(Subscription()["status"], "opted_in");  // not an opt-out
}

}  // namespace
}  // namespace delivery_integration
}  // namespace smsconsent
