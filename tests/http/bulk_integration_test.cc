// Integration tests of the bulk, import and job endpoints: the real `smsconsent serve` binary
// on 127.0.0.1 port 0, its job runner applying what the API submits.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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
namespace fs = std::filesystem;

std::string Csv(int n) {
  std::string s = "phone,name\n";
  for (int i = 0; i < n; ++i) {
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1415555%04d", i);
    s += std::string(phone) + ",Person " + std::to_string(i) + "\n";
  }
  return s;
}

class BulkApi : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("bulk-api");
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons",
                       "marketing_sms_access,sms_short_code"});
    key_ = a["api_key"];
    other_key_ = Cli(db_, {"account", "create", "--name", "Other", "--addons",
                           "marketing_sms_access"})["api_key"];
    bare_key_ = Cli(db_, {"account", "create", "--name", "NoSms"})["api_key"];
    const std::string acct = std::to_string(a["id"].get<int64_t>());
    Cli(db_, {"number", "add", "--account", acct, "--number", "+15551234567"});
    Cli(db_, {"number", "add", "--account", acct, "--number", "12345", "--kind", "short_code",
              "--country", "US"});
    // Phone 1 opts out by text: no bulk change may override it.
    Cli(db_,
        {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "STOP"});
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(), {"--threads", "2"}, &server_);
    base_ = server_.base_url;
  }
  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  HttpClientResponse Send(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type,
                          const std::string& key = key_,
                          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    for (const auto& h : headers) req.headers.push_back(h);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json Call(const std::string& method, const std::string& path, const json& body, int want,
            const std::string& key = key_,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpClientResponse r =
        Send(method, path, body.is_null() ? "" : body.dump(), "application/json", key, headers);
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }
  // Polls the job until it is done or failed.
  json WaitForJob(int64_t id, const std::string& key = key_) {
    json job;
    for (int i = 0; i < 200; ++i) {
      job = Call("GET", "/v1/jobs/" + std::to_string(id), nullptr, 200, key);
      if (job.value("state", "") == "done" || job.value("state", "") == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return job;
  }
  static json OptIn(const std::string& number) {
    return {{"number", number},
            {"status", "opted_in"},
            {"attest", true},
            {"legal_basis", "consent_with_notice"},
            {"explanation", "Checkout form, 2026-11-01"}};
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, other_key_, bare_key_, base_;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(BulkApi, PreviewCountsMessagesAndSegmentsAndChangesNothing) {
  json req = OptIn("12345");
  req["csv"] = Csv(6) + "+14155550003,again\nnot a phone,x\n";
  json t = Call("POST", "/v1/bulk/subscriptions/preview", req, 200);
  EXPECT_EQ(t["change"], 6);
  EXPECT_EQ(t["unchanged"], 0);
  EXPECT_EQ(t["skipped"], json({{"duplicate", 1}, {"invalid_phone", 1}}));
  EXPECT_EQ(t["confirmations"], 6);  // short code: every opt-in is confirmed
  EXPECT_EQ(t["segments"], 6);
  EXPECT_EQ(t["encodings"], json({{"gsm7", 6}}));
  json consent = Call("GET", "/v1/consent?phone=%2B14155550002&number=12345", nullptr, 200);
  EXPECT_EQ(consent["allowed"], false);
}

TEST_F(BulkApi, ApplyRunsAsAJobAndIsIdempotent) {
  json req = OptIn("+15551234567");
  req["csv"] = Csv(40);
  json accepted =
      Call("POST", "/v1/bulk/subscriptions", req, 202, key_, {{"Idempotency-Key", "apply-1"}});
  ASSERT_TRUE(accepted.contains("job")) << accepted;
  const int64_t id = accepted["job"];
  json job = WaitForJob(id);
  EXPECT_EQ(job["state"], "done") << job;
  EXPECT_EQ(job["done"], 40);
  EXPECT_EQ(job["total"], 40);
  EXPECT_EQ(job["result"]["change"], 39);
  EXPECT_EQ(job["result"]["skipped"], json({{"self_opted_out", 1}}));
  json consent =
      Call("GET", "/v1/consent?phone=%2B14155550002&number=%2B15551234567", nullptr, 200);
  EXPECT_EQ(consent["allowed"], true);
  // The skipped-rows report.
  HttpClientResponse rejects = Send("GET", "/v1/jobs/" + std::to_string(id) + "/rejects", "", "");
  EXPECT_EQ(rejects.status, 200);
  EXPECT_NE(rejects.body.find("self_opted_out"), std::string::npos) << rejects.body;
  // The same key again: the same job, nothing re-applied.
  json again =
      Call("POST", "/v1/bulk/subscriptions", req, 202, key_, {{"Idempotency-Key", "apply-1"}});
  EXPECT_EQ(again["job"], id);
  EXPECT_EQ(again["created"], false);
  // Another account cannot see the job.
  Call("GET", "/v1/jobs/" + std::to_string(id), nullptr, 404, other_key_);
}

TEST_F(BulkApi, CsvBodyWithParametersInTheQuery) {
  HttpClientResponse r =
      Send("POST",
           "/v1/bulk/subscriptions/preview?number=12345&status=opted_in&attest=true&legal_basis="
           "consent&explanation=Paper%20form",
           Csv(3), "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["confirmations"], 3);
}

TEST_F(BulkApi, ImportCreatesContacts) {
  HttpClientResponse r =
      Send("POST", "/v1/contacts/import", "phone,name,city\n+14155559001,Ida,Aarhus\n", "text/csv");
  ASSERT_EQ(r.status, 202) << r.body;
  json job = WaitForJob(json::parse(r.body)["job"]);
  EXPECT_EQ(job["result"]["created"], 1) << job;
  json list = Call("GET", "/v1/contacts?phone=%2B14155559001", nullptr, 200);
  ASSERT_EQ(list["items"].size(), 1u) << list;
  EXPECT_EQ(list["items"][0]["properties"]["city"], "Aarhus");
  // The list takes the bulk filters too.
  list = Call("GET", "/v1/contacts?prop.city=Aarhus", nullptr, 200);
  ASSERT_EQ(list["items"].size(), 1u) << list;
  EXPECT_EQ(list["items"][0]["name"], "Ida");
  list = Call("GET", "/v1/contacts?phone=%2B1%20415%20555%209001", nullptr, 200);
  EXPECT_EQ(list["items"].size(), 1u) << list;
  list = Call("GET", "/v1/contacts?phone=%2B14155559999", nullptr, 200);
  EXPECT_EQ(list["items"].size(), 0u) << list;
  Call("GET", "/v1/contacts?phone=nope", nullptr, 422);
  Call("GET", "/v1/contacts?created_from=yesterday", nullptr, 400);
}

// The statuses export goes back in as it is written: a bulk change and an import over the API
// take the exported CSV without options (docs/bulk.md, "Re-importing a statuses export").
TEST_F(BulkApi, TheStatusesExportGoesBackInAsItIs) {
  HttpClientResponse exported = Send("GET", "/v1/export/statuses?number=12345", "", "");
  ASSERT_EQ(exported.status, 200) << exported.body;
  const int64_t rows = std::count(exported.body.begin(), exported.body.end(), '\n') - 1;
  ASSERT_GT(rows, 0) << exported.body;
  json req = OptIn("12345");
  req["csv"] = exported.body;
  json t = Call("POST", "/v1/bulk/subscriptions/preview", req, 200);
  EXPECT_EQ(t["rows"], rows);
  EXPECT_EQ(t["skipped"], json::object()) << t;
  EXPECT_EQ(t["created"], 0);
  HttpClientResponse r = Send("POST", "/v1/contacts/import", exported.body, "text/csv");
  ASSERT_EQ(r.status, 202) << r.body;
  json job = WaitForJob(json::parse(r.body)["job"]);
  EXPECT_EQ(job["state"], "done") << job;
  EXPECT_EQ(job["result"]["rows"], rows);
  EXPECT_EQ(job["result"]["skipped"], json::object()) << job;
  EXPECT_EQ(job["result"]["created"], 0);
}

TEST_F(BulkApi, DocumentedInOpenApi) {
  json api = Call("GET", "/openapi.json", nullptr, 200, "");
  for (const char* path : {"/v1/bulk/subscriptions/preview", "/v1/bulk/subscriptions",
                           "/v1/contacts/import", "/v1/jobs/{job}", "/v1/jobs/{job}/rejects"}) {
    EXPECT_TRUE(api["paths"].contains(path)) << path;
  }
}

TEST_F(BulkApi, RefusalsChangeNothing) {
  json req = OptIn("+15551234567");
  req["csv"] = Csv(2);
  req["attest"] = false;  // an opt-in without the attestation
  Call("POST", "/v1/bulk/subscriptions", req, 400);
  req = OptIn("+15551234567");
  req["csv"] = Csv(2);
  req["legal_basis"] = "because";
  Call("POST", "/v1/bulk/subscriptions/preview", req, 400);
  req = OptIn("+15550000000");  // not a number of this account
  req["csv"] = Csv(2);
  Call("POST", "/v1/bulk/subscriptions", req, 404);
  req = OptIn("+15551234567");
  req["csv"] = "name\nAnn\n";  // no phone column
  json err = Call("POST", "/v1/bulk/subscriptions", req, 400);
  EXPECT_NE(err.dump().find("phone"), std::string::npos);
  Call("POST", "/v1/bulk/subscriptions", OptIn("+15551234567"), 400);  // no selection
  req = OptIn("+15551234567");
  req["csv"] = Csv(2);
  Call("POST", "/v1/bulk/subscriptions", req, 403, bare_key_);  // no add-on
  Call("POST", "/v1/bulk/subscriptions", req, 401, "");         // no key
  Call("GET", "/v1/jobs/999999", nullptr, 404);
  HttpClientResponse bad = Send("POST", "/v1/bulk/subscriptions", "{not json", "application/json");
  EXPECT_EQ(bad.status, 400);
}

}  // namespace
}  // namespace smsconsent
