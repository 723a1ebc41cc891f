// Integration tests of revocations: an opt-out recorded on the contact's behalf (FCC 24-24:
// a revocation by any reasonable means binds like a texted STOP) and the FCC's clock of ten US
// business days, through the real `smsconsent serve` binary and CLI.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Revocations : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("revocations");
    db_ = serve_fixture::NewDatabase(dir_, "revocations.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    json n = Cli(db_, {"number", "add", "--account", account_, "--number", "+15551234567"});
    number_id_ = std::to_string(n["id"].get<int64_t>());
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(),
                              {"--threads", "2", "--outbox-poll-ms", "50"}, &server_);
    base_ = server_.base_url;
  }
  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  json Call(const std::string& method, const std::string& path, const std::string& body,
            int expect_status) {
    HttpClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    req.headers.emplace_back("Authorization", "Bearer " + key_);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, expect_status) << method << " " << path << " " << body << ": " << r->body;
    json j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  // A contact opted in by the API, as a path to its subscription on the long code.
  std::string OptedInContact(const std::string& phone) {
    json c = Call("POST", "/v1/contacts", json({{"phone", phone}}).dump(), 201);
    const std::string sub =
        "/v1/contacts/" + std::to_string(c["id"].get<int64_t>()) + "/subscriptions/" + number_id_;
    Call("PUT", sub,
         R"({"status":"opted_in","attest":true,"legal_basis":"consent","explanation":"web form"})",
         200);
    return sub;
  }

  bool Allowed(const std::string& phone) {
    json j =
        Call("GET", "/v1/consent?phone=%2B" + phone.substr(1) + "&number=%2B15551234567", "", 200);
    return j.value("allowed", true);
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, base_, account_, number_id_;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(Revocations, AnOptOutOnTheContactsBehalfIsNotReversedByStaffBulkOrImport) {
  const std::string phone = "+14155550101";
  const std::string sub = OptedInContact(phone);
  json out = Call("PUT", sub,
                  R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"phone",
                      "explanation":"customer called and asked us to stop","actor":"bob"})",
                  200);
  EXPECT_EQ(out["status_after"], "opted_out");
  EXPECT_EQ(out["event"]["source"], "contact_request");
  EXPECT_EQ(out["event"]["actor"], "api:bob");
  EXPECT_EQ(out["event"]["evidence"]["channel"], "phone");
  EXPECT_EQ(out["event"]["evidence"]["business_days"], 0);
  EXPECT_FALSE(Allowed(phone));

  // The API's opt-in, a staff member's (CLI) manual or import opt-in: refused.
  Call("PUT", sub,
       R"({"status":"opted_in","attest":true,"legal_basis":"consent","explanation":"again"})", 409);
  for (const char* source : {"manual", "import"}) {
    int rc = 0;
    Cli(db_,
        {"status", "set", "--account", account_, "--phone", phone, "--number", "+15551234567",
         "--status", "opted_in", "--attest", "--legal-basis", "consent", "--explanation", "again",
         "--source", source},
        &rc);
    EXPECT_NE(rc, 0) << source;
  }
  // A bulk opt-in skips the contact.
  json preview = Call("POST", "/v1/bulk/subscriptions/preview",
                      json({{"number", "+15551234567"},
                            {"status", "opted_in"},
                            {"attest", true},
                            {"legal_basis", "consent"},
                            {"explanation", "trade fair list"},
                            {"csv", "phone\n" + phone + "\n"}})
                          .dump(),
                      200);
  EXPECT_EQ(preview["skipped"], json({{"self_opted_out", 1}})) << preview;
  json statuses = Call("GET", sub.substr(0, sub.rfind('/')), "", 200);
  bool own = false;
  for (const json& s : statuses["items"]) own = own || s.value("self_opted_out", false);
  EXPECT_TRUE(own) << statuses;
  EXPECT_FALSE(Allowed(phone));

  // The contact's own START opts them back in.
  Cli(db_, {"sms", "receive", "--from", phone, "--to", "+15551234567", "--body", "START"});
  EXPECT_TRUE(Allowed(phone));
  json verify = Cli(db_, {"ledger", "verify", "--account", account_});
  EXPECT_EQ(verify["ok"], true) << verify;
}

TEST_F(Revocations, ALateRevocationIsAcceptedFlaggedAndListedWithTheRepliesSentInBetween) {
  const std::string phone = "+14155550202";
  const std::string sub = OptedInContact(phone);
  // A reply goes out to the contact while their emailed request waits.
  Cli(db_, {"sms", "receive", "--from", phone, "--to", "+15551234567", "--body", "HELP"});
  bool sent = false;
  for (int i = 0; i < 200 && !sent; ++i) {
    json page = Call("GET", "/v1/outbox?state=sent", "", 200);
    for (const json& o : page["items"]) sent = sent || o["to"] == phone;
    if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(sent);
  // Received 30 days ago: at least 17 US business days.
  const std::string received = FormatTimestampMs(NowMs() - 30LL * 86'400'000);
  json out = Call("PUT", sub,
                  json({{"status", "opted_out"},
                        {"on_behalf_of_contact", true},
                        {"channel", "email"},
                        {"received_at", received},
                        {"explanation", "asked by email to stop"}})
                      .dump(),
                  200);
  const json& ev = out["event"]["evidence"];
  EXPECT_GT(ev["business_days"].get<int64_t>(), 10) << ev;
  EXPECT_EQ(ev["late"], true);

  json late = Call("GET", "/v1/compliance/revocations?late=true", "", 200);
  ASSERT_EQ(late["items"].size(), 1u) << late;
  const json& r = late["items"][0];
  EXPECT_EQ(r["phone"], phone);
  EXPECT_EQ(r["channel"], "email");
  EXPECT_EQ(r["received_at"], received);
  EXPECT_EQ(r["late"], true);
  ASSERT_EQ(r["sent_between"].size(), 1u) << r;
  EXPECT_EQ(r["sent_between"][0]["kind"], "help");
  EXPECT_TRUE(late["next"].is_null());
  // The CLI lists the same.
  json cli = Cli(db_, {"compliance", "revocations", "--account", account_, "--late"});
  ASSERT_EQ(cli["items"].size(), 1u) << cli;
  EXPECT_EQ(cli["items"][0]["event"]["seq"], r["event"]["seq"]);
}

TEST_F(Revocations, BadInputIsRefusedAndChangesNothing) {
  const std::string phone = "+14155550303";
  const std::string sub = OptedInContact(phone);
  const std::string future = FormatTimestampMs(NowMs() + 86'400'000);
  const std::vector<std::string> bodies = {
      R"({"status":"opted_in","on_behalf_of_contact":true,"channel":"phone","explanation":"x"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"fax","explanation":"x"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"explanation":"x"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"phone"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"sms","explanation":"x"})",
      R"({"status":"opted_out","channel":"phone","explanation":"x"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"phone",
               "explanation":"x","received_at":"yesterday"})",
      R"({"status":"opted_out","on_behalf_of_contact":true,"channel":"phone",
               "explanation":"x","received_at":")" +
          future + R"("})",
      R"({"status":"opted_out","on_behalf_of_contact":"yes","channel":"phone"})",
  };
  for (const std::string& body : bodies) Call("PUT", sub, body, 400);
  EXPECT_TRUE(Allowed(phone));
  Call("GET", "/v1/compliance/revocations?limit=0", "", 400);
  Call("GET", "/v1/compliance/revocations?late=maybe", "", 400);
}

}  // namespace
}  // namespace smsconsent
