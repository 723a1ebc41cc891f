// Integration tests of the export and proof endpoints: the real `smsconsent serve` binary on
// 127.0.0.1 port 0, set up through the CLI, driven over HTTP.
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/proof_verify.h"
#include "http/client.h"
#include "serve_fixture.h"
#include "store/store.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
using serve_fixture::HeaderOf;
using serve_fixture::PercentEncode;
namespace fs = std::filesystem;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

class ExportApi : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("export-api");
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons",
                       "marketing_sms_access,sms_short_code"});
    account_ = a["id"].get<int64_t>();
    key_ = a["api_key"];
    json b = Cli(db_, {"account", "create", "--name", "Other", "--addons", "marketing_sms_access"});
    other_key_ = b["api_key"];
    json c = Cli(db_, {"account", "create", "--name", "NoSms"});
    bare_key_ = c["api_key"];
    json d =
        Cli(db_, {"account", "create", "--name", "Tampered", "--addons", "marketing_sms_access"});
    tampered_key_ = d["api_key"];
    const std::string acct = std::to_string(account_);
    long_id_ = Cli(db_, {"number", "add", "--account", acct, "--number", "+15551234567"})["id"]
                   .get<int64_t>();
    Cli(db_, {"number", "add", "--account", acct, "--number", "12345", "--kind", "short_code",
              "--country", "US"});
    ann_ = Cli(db_, {"contact", "add", "--account", acct, "--phone", "+14155550001", "--name",
                     "Ann"})["id"]
               .get<int64_t>();
    Cli(db_,
        {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "START"});
    Cli(db_, {"status", "set", "--account", acct, "--phone", "+14155550002", "--number", "12345",
              "--status", "opted_in", "--attest", "--legal-basis", "consent", "--explanation",
              "paper form", "--actor", "user:alice"});
    Cli(db_, {"contact", "add", "--account", acct, "--phone", "+14155550003", "--name",
              "=HYPERLINK(\"http://evil\")"});
    Cli(db_, {"sms", "receive", "--from", "+14155550004", "--to", "+15551234567", "--body",
              "Please stop texting me <script>alert(1)</script>"});

    // Account D: two events, in a signed tree, the first one altered afterwards.
    const std::string dacct = std::to_string(d["id"].get<int64_t>());
    Cli(db_, {"number", "add", "--account", dacct, "--number", "+15557654321"});
    Cli(db_,
        {"sms", "receive", "--from", "+14155550005", "--to", "+15557654321", "--body", "START"});
    Cli(db_,
        {"sms", "receive", "--from", "+14155550006", "--to", "+15557654321", "--body", "START"});
    ASSERT_EQ(Cli(db_, {"ledger", "head", "--account", dacct})["size"], 2);
    {
      auto store = OpenStore(db_);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      auto events = (*store)->ListEvents(d["id"].get<int64_t>(), {});
      ASSERT_TRUE(events.ok());
      ASSERT_EQ(events->size(), 2u);
      ConsentEvent forged = (*events)[0];
      forged.actor = "user:mallory";
      ASSERT_TRUE((*store)->DebugOverwriteEvent(forged).ok());
      tampered_contact_ = (*events)[1].contact_id;
    }

    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(), {"--threads", "2"}, &server_);
    base_ = server_.base_url;
  }

  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  HttpClientResponse Get(const std::string& path, const std::string& key = key_) {
    HttpClientRequest req;
    req.method = "GET";
    req.url = base_ + path;
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  json GetJson(const std::string& path, int expect_status, const std::string& key = key_) {
    HttpClientResponse r = Get(path, key);
    EXPECT_EQ(r.status, expect_status) << path << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  static inline fs::path dir_;
  static inline std::string db_, key_, other_key_, bare_key_, tampered_key_, base_;
  static inline int64_t account_ = 0, long_id_ = 0, ann_ = 0, tampered_contact_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(ExportApi, StatusesCsvWithAttachmentName) {
  HttpClientResponse r = Get("/v1/export/statuses");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "content-type"), "text/csv; charset=utf-8");
  const std::string cd = HeaderOf(r, "content-disposition");
  EXPECT_EQ(cd.rfind("attachment; filename=\"smsconsent-account-" + std::to_string(account_) +
                         "-statuses-",
                     0),
            0u)
      << cd;
  EXPECT_NE(cd.find(".csv\""), std::string::npos) << cd;
  auto lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 1u + 4 * 2);  // four contacts, two numbers
  EXPECT_EQ(HeaderOf(r, "x-export-rows"), "8");
  // Formula protection is on by default, and quoting holds.
  EXPECT_NE(r.body.find("\"'=HYPERLINK(\"\"http://evil\"\")\""), std::string::npos) << r.body;
  r = Get("/v1/export/statuses?formula_guard=false&number=" + std::to_string(long_id_) +
          "&status=opted_in");
  ASSERT_EQ(r.status, 200) << r.body;
  lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(",+14155550001,Ann,"), std::string::npos) << lines[1];
}

TEST_F(ExportApi, JsonlLinesAreEachValidJson) {
  HttpClientResponse r = Get("/v1/export/ledger?format=jsonl");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-ndjson");
  EXPECT_NE(HeaderOf(r, "content-disposition").find(".jsonl\""), std::string::npos);
  auto lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    json j = json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << lines[i];
    EXPECT_EQ(j["seq"], static_cast<int>(i + 1));
  }
  r = Get("/v1/export/statuses?format=jsonl&number=12345&status=not_specified");
  ASSERT_EQ(r.status, 200) << r.body;
  lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 3u);  // everyone but the contact opted in there
  for (const auto& l : lines) EXPECT_EQ(json::parse(l)["status"], "not_specified");
}

TEST_F(ExportApi, LedgerTimeRangeAndStatusFilters) {
  auto lines = Lines(Get("/v1/export/ledger?format=jsonl&from=2000-01-01&to=2999-12-31").body);
  EXPECT_EQ(lines.size(), 3u);
  HttpClientResponse r = Get("/v1/export/ledger?format=jsonl&to=2001-01-01");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  lines = Lines(Get("/v1/export/ledger?format=jsonl&status=opted_out").body);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["phone"], "+14155550004");
  lines = Lines(Get("/v1/export/ledger?format=jsonl&number=" + PercentEncode("+15551234567") +
                    "&from=" + PercentEncode("2000-01-01T00:00:00+02:00"))
                    .body);
  EXPECT_EQ(lines.size(), 2u);
}

TEST_F(ExportApi, BadParametersAre400AndUnknownNumberIs404) {
  EXPECT_EQ(GetJson("/v1/export/ledger?format=xml", 400)["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(GetJson("/v1/export/ledger?from=soon", 400)["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(GetJson("/v1/export/ledger?from=2026-02-01&to=2026-01-01", 400)["error"]["code"],
            "INVALID_ARGUMENT");
  EXPECT_EQ(GetJson("/v1/export/statuses?status=maybe", 400)["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(GetJson("/v1/export/statuses?formula_guard=0", 400)["error"]["code"],
            "INVALID_ARGUMENT");
  EXPECT_EQ(GetJson("/v1/export/statuses?number=%2B15550000000", 404)["error"]["code"],
            "NOT_FOUND");
  EXPECT_EQ(
      GetJson("/v1/contacts/" + std::to_string(ann_) + "/proof?format=pdf", 400)["error"]["code"],
      "INVALID_ARGUMENT");
}

TEST_F(ExportApi, KeysAreRequiredAndAccountsAreIsolated) {
  EXPECT_EQ(GetJson("/v1/export/statuses", 401, "")["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(GetJson("/v1/contacts/1/proof", 401, "")["error"]["code"], "UNAUTHENTICATED");
  // Account B's key sees B's (empty) data, never A's.
  HttpClientResponse r = Get("/v1/export/ledger?format=jsonl", other_key_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  r = Get("/v1/export/statuses", other_key_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Lines(r.body).size(), 1u);  // the header alone
  EXPECT_EQ(r.body.find("+1415555"), std::string::npos);
  EXPECT_EQ(GetJson("/v1/export/statuses?number=" + std::to_string(long_id_), 404,
                    other_key_)["error"]["code"],
            "NOT_FOUND");
  EXPECT_EQ(
      GetJson("/v1/contacts/" + std::to_string(ann_) + "/proof", 404, other_key_)["error"]["code"],
      "NOT_FOUND");
  EXPECT_EQ(GetJson("/v1/contacts/" + std::to_string(ann_) + "/proof?format=html", 404,
                    other_key_)["error"]["code"],
            "NOT_FOUND");
}

TEST_F(ExportApi, MissingAddonIs403) {
  EXPECT_EQ(GetJson("/v1/export/statuses", 403, bare_key_)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(GetJson("/v1/export/ledger", 403, bare_key_)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(
      GetJson("/v1/contacts/" + std::to_string(ann_) + "/proof", 403, bare_key_)["error"]["code"],
      "PERMISSION_DENIED");
}

TEST_F(ExportApi, ProofJsonAndUnknownContact) {
  json p = GetJson("/v1/contacts/" + std::to_string(ann_) + "/proof", 200);
  EXPECT_EQ(p["title"], "Consent record for +14155550001");
  EXPECT_EQ(p["contact"]["id"], ann_);
  EXPECT_EQ(p["format"], "smsconsent-proof-v2");
  EXPECT_EQ(p["ledger"]["ok"], true) << p["ledger"];
  EXPECT_EQ(p["tree_head"]["size"], 3);  // the account's three events
  ASSERT_EQ(p["events"].size(), 1u);
  EXPECT_EQ(p["events"][0]["included"], true);
  // Anyone with the installation's public key checks it without the server.
  json key = GetJson("/v1/ledger/public-key", 200);
  auto raw_key = base64::DecodeStrict(key["public_key"].get<std::string>());
  ASSERT_TRUE(raw_key.ok());
  ProofCheck check = VerifyProofDocument(p, *raw_key);
  EXPECT_TRUE(check.ok) << json(check.problems).dump();
  EXPECT_EQ(check.events_checked, 1);
  EXPECT_EQ(p["events"][0]["evidence"]["body"], "START");
  EXPECT_NE(p["summary"][0].get<std::string>().find("opted in on"), std::string::npos);
  EXPECT_EQ(GetJson("/v1/contacts/999999/proof", 404)["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(GetJson("/v1/contacts/abc/proof", 404)["error"]["code"], "NOT_FOUND");  // as elsewhere
}

TEST_F(ExportApi, ProofHtmlEscapesTheMessageBody) {
  json c = GetJson("/v1/contacts?search=" + PercentEncode("+14155550004"), 200);
  ASSERT_EQ(c["items"].size(), 1u) << c.dump();
  const std::string id = std::to_string(c["items"][0]["id"].get<int64_t>());
  HttpClientResponse r = Get("/v1/contacts/" + id + "/proof?format=html");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "content-type"), "text/html; charset=utf-8");
  EXPECT_NE(HeaderOf(r, "content-security-policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(r.body.find("<title>Consent record for +14155550004</title>"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST_F(ExportApi, ProofOfATamperedLedgerNamesTheBrokenEvent) {
  json p =
      GetJson("/v1/contacts/" + std::to_string(tampered_contact_) + "/proof", 200, tampered_key_);
  // This contact's own event (seq 2) is intact, but the altered seq 1 is on its path to the
  // signed root: its inclusion proof no longer leads there.
  EXPECT_EQ(p["ledger"]["ok"], false);
  EXPECT_NE(p["ledger"]["failure"].get<std::string>().find("event seq 2 is not in the signed tree"),
            std::string::npos)
      << p["ledger"];
  ASSERT_EQ(p["events"].size(), 1u);
  EXPECT_EQ(p["events"][0]["seq"], 2);
  EXPECT_EQ(p["events"][0]["included"], false);
  json key = GetJson("/v1/ledger/public-key", 200, tampered_key_);
  auto raw_key = base64::DecodeStrict(key["public_key"].get<std::string>());
  ASSERT_TRUE(raw_key.ok());
  EXPECT_FALSE(VerifyProofDocument(p, *raw_key).ok);
  HttpClientResponse r = Get(
      "/v1/contacts/" + std::to_string(tampered_contact_) + "/proof?format=html", tampered_key_);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("This record does NOT verify."), std::string::npos);
}

TEST_F(ExportApi, OpenApiListsTheEndpoints) {
  json api = GetJson("/openapi.json", 200, "");
  EXPECT_TRUE(api["paths"].contains("/v1/export/statuses"));
  EXPECT_TRUE(api["paths"].contains("/v1/export/ledger"));
  EXPECT_TRUE(api["paths"].contains("/v1/contacts/{contact}/proof"));
}

}  // namespace
}  // namespace smsconsent
