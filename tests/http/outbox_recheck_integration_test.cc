// Integration tests of the outbox's check at the moment a reply leaves (docs/storage.md, "The
// outbox"; docs/limits.md, "Replies"): replies queued while no instance dispatches, then the
// real `smsconsent serve` binary starting with its dispatcher, the log sender writing every
// reply it sends to the server's log.
#include <unistd.h>

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

#include "http/client.h"
#include "providers/webhook.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

constexpr char kRecheckShortCode[] = "12345";
constexpr char kRecheckSecret[] = "recheck-secret";
constexpr char kRecheckOptInText[] = "You are now subscribed";
constexpr char kRecheckOptOutText[] = "You are unsubscribed";

class OutboxRecheck : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = serve_fixture::FreshDir("recheck-" + name);
    db_ = serve_fixture::NewDatabase(dir_, "recheck.db");
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons",
                       "marketing_sms_access,sms_short_code"});
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    Cli(db_, {"number", "add", "--account", account_, "--number", kRecheckShortCode, "--kind",
              "short_code", "--country", "US", "--business-name", "Acme"});
    Cli(db_, {"provider", "set", "--account", account_, "--provider", "generic", "--secret",
              kRecheckSecret, "--sender", "log"});
  }
  void TearDown() override {
    serve_fixture::StopServe(server_);
    if (!db_.empty()) serve_fixture::DropDatabase(db_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Starts serve; `log` names its log file in the test's directory.
  void Start(const std::string& log, const std::vector<std::string>& args,
             const serve_fixture::ServeSetup& setup = {}) {
    std::vector<std::string> all = {"--threads",           "2",   "--outbox-poll-ms", "50",
                                    "--shutdown-grace-ms", "2000"};
    all.insert(all.end(), args.begin(), args.end());
    serve_fixture::StartServe(db_, (dir_ / log).string(), all, &server_, setup);
  }
  void Stop() { serve_fixture::StopServe(server_); }

  HttpClientResponse Call(const std::string& method, const std::string& path,
                          const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClientRequest req;
    req.method = method;
    req.url = server_.base_url + path;
    req.body = body;
    req.headers = std::move(headers);
    if (req.headers.empty()) req.headers.emplace_back("Authorization", "Bearer " + key_);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json Outbox() {
    HttpClientResponse r = Call("GET", "/v1/outbox?limit=1000");
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json::array() : j["items"];
  }

  // What the contact texts to the short code, through the generic webhook.
  void Text(const std::string& id, const std::string& from, const std::string& body) {
    const std::string payload =
        json({{"message_id", id}, {"from", from}, {"to", kRecheckShortCode}, {"body", body}})
            .dump();
    const std::string ts = std::to_string(std::time(nullptr));
    const std::string sig = "sha256=" + HexEncode(HmacSha256(kRecheckSecret, ts + "." + payload));
    HttpClientResponse r = Call("POST", "/webhooks/generic", payload,
                                {{"Content-Type", "application/json"},
                                 {"X-Smsconsent-Timestamp", ts},
                                 {"X-Smsconsent-Signature", sig}});
    ASSERT_EQ(r.status, 200) << id << ": " << r.body;
  }

  // A staff member's opt-in with the CLI (no server needed): on a short code it queues the
  // confirmation.
  void StaffOptIn(const std::string& phone) {
    json r =
        Cli(db_, {"status", "set", "--account", account_, "--phone", phone, "--number",
                  kRecheckShortCode, "--status", "opted_in", "--attest", "--legal-basis", "consent",
                  "--explanation", "signed up at the counter", "--actor", "staff@acme"});
    ASSERT_EQ(r["status_after"], "opted_in") << r.dump();
    ASSERT_EQ(r["replies"].size(), 1u) << r.dump();
  }

  // Polls the outbox (deadline 20 s; no fixed sleep as synchronisation) until no reply is
  // pending or sending, and returns it.
  json Settled() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json items;
    while (std::chrono::steady_clock::now() < deadline) {
      items = Outbox();
      bool busy = false;
      for (const json& o : items) busy = busy || o["state"] == "pending" || o["state"] == "sending";
      if (!busy) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return items;
  }

  static const json* OfKind(const json& items, const std::string& to, const std::string& kind) {
    for (const json& o : items) {
      if (o["to"] == to && o["kind"] == kind) return &o;
    }
    return nullptr;
  }

  std::string Log(const std::string& log) {
    std::ifstream in(dir_ / log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::string db_, account_, key_;
  serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

// A staff opt-in on a short code queues its confirmation; the contact texts STOP before any
// instance dispatches; when one does, only the opt-out confirmation is sent, and the stale
// opt-in confirmation is cancelled with the reason.
TEST_F(OutboxRecheck, StaleOptInConfirmationIsCancelledAndOnlyTheOptOutConfirmationSent) {
  const std::string phone = "+14155550123";
  StaffOptIn(phone);
  Start("front.log", {"--no-dispatch"});
  ASSERT_FALSE(HasFatalFailure());
  Text("stop-1", phone, "STOP");
  json queued = Outbox();
  ASSERT_EQ(queued.size(), 2u) << queued.dump();
  for (const json& o : queued) EXPECT_EQ(o["state"], "pending") << o.dump();
  Stop();

  Start("dispatch.log", {});
  ASSERT_FALSE(HasFatalFailure());
  json items = Settled();
  ASSERT_EQ(items.size(), 2u) << items.dump();
  const json* opt_in = OfKind(items, phone, "opt_in_confirmation");
  const json* opt_out = OfKind(items, phone, "opt_out_confirmation");
  ASSERT_NE(opt_in, nullptr) << items.dump();
  ASSERT_NE(opt_out, nullptr) << items.dump();
  EXPECT_EQ((*opt_in)["state"], "cancelled") << opt_in->dump();
  EXPECT_EQ((*opt_in)["last_error"], "status changed since queued: now opted_out");
  EXPECT_EQ((*opt_in)["attempts"], 0);
  EXPECT_TRUE((*opt_in)["sent_at"].is_null());
  EXPECT_EQ((*opt_out)["state"], "sent") << opt_out->dump();
  // The listing by state, as the web page's activity view asks for it.
  HttpClientResponse r = Call("GET", "/v1/outbox?state=cancelled,expired");
  ASSERT_EQ(r.status, 200) << r.body;
  json unsent = json::parse(r.body)["items"];
  ASSERT_EQ(unsent.size(), 1u) << unsent.dump();
  EXPECT_EQ(unsent[0]["id"], (*opt_in)["id"]);
  // The outbox depth on /metrics (served to loopback peers) counts it under its state.
  HttpClientResponse metrics = Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_NE(metrics.body.find("smsconsent_outbox_items{state=\"cancelled\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("smsconsent_outbox_items{state=\"expired\"} 0\n"), std::string::npos);
  Stop();

  // What left, as the log sender recorded it: the opt-out confirmation only.
  const std::string log = Log("dispatch.log");
  EXPECT_NE(log.find(kRecheckOptOutText), std::string::npos) << log;
  EXPECT_EQ(log.find(kRecheckOptInText), std::string::npos) << log;
  // The CLI lists it with its reason.
  json listed = Cli(db_, {"outbox", "list", "--account", account_, "--state", "cancelled"});
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["last_error"], "status changed since queued: now opted_out");
}

// Replies that waited longer than their maximum age expire unsent; an opt-out confirmation has
// a maximum age of its own and is still sent. The ages are given as environment variables (a
// binary that did not know them would ignore them, and send everything).
TEST_F(OutboxRecheck, RepliesPastTheirMaximumAgeExpireUnsent) {
  const std::string staff = "+14155550124", texter = "+14155550125";
  StaffOptIn(staff);
  Start("front.log", {"--no-dispatch"});
  ASSERT_FALSE(HasFatalFailure());
  Text("stop-2", texter, "STOP");
  ASSERT_EQ(Outbox().size(), 2u);
  Stop();
  // The maximum age below is one second: let more than that pass since both were queued.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));

  serve_fixture::ServeSetup setup;
  setup.env = {"SMSCONSENT_REPLY_MAX_AGE_S=1", "SMSCONSENT_OPT_OUT_CONFIRMATION_MAX_AGE_S=3600"};
  Start("dispatch.log", {}, setup);
  ASSERT_FALSE(HasFatalFailure());
  json items = Settled();
  const json* opt_in = OfKind(items, staff, "opt_in_confirmation");
  const json* opt_out = OfKind(items, texter, "opt_out_confirmation");
  ASSERT_NE(opt_in, nullptr) << items.dump();
  ASSERT_NE(opt_out, nullptr) << items.dump();
  EXPECT_EQ((*opt_in)["state"], "expired") << opt_in->dump();
  const std::string reason = (*opt_in)["last_error"].is_string() ? (*opt_in)["last_error"] : "";
  EXPECT_EQ(reason.rfind("not sent within its maximum age of 1 s (queued ", 0), 0u) << reason;
  EXPECT_EQ((*opt_out)["state"], "sent") << opt_out->dump();
  Stop();
  const std::string log = Log("dispatch.log");
  EXPECT_NE(log.find(kRecheckOptOutText), std::string::npos) << log;
  EXPECT_EQ(log.find(kRecheckOptInText), std::string::npos) << log;
}

}  // namespace
}  // namespace smsconsent
