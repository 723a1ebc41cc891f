// The verifiable ledger end to end: the real `smsconsent serve` integrates events and signs
// tree heads; a contact's proof and consistency proofs fetched over HTTP are checked by the
// independent verifier (tests/ledger/verify_proof.py, Python's hashlib and cryptography only),
// which must accept them as served and refuse a changed event, an event left out, a head not
// signed by the installation's key, and a ledger whose tail was cut off and rewritten.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/proof_verify.h"
#include "core/tree_head.h"
#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;

// Runs the Python verifier on `doc`; returns its exit code (0 valid, 1 not) and its output.
int PythonVerify(const fs::path& dir, const std::string& kind, const json& doc,
                 const std::string& public_key, std::string* output) {
  static int n = 0;
  const fs::path file = dir / ("doc-" + std::to_string(++n) + ".json");
  std::ofstream(file) << doc.dump(2);
  const std::string cmd = "python3 " + std::string(SMSCONSENT_SOURCE_DIR) +
                          "/tests/ledger/verify_proof.py " + kind + " " + file.string() +
                          " --public-key " + public_key + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t got;
  output->clear();
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, got);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool PythonVerifierAvailable() {
  return std::system("python3 -c 'import cryptography' >/dev/null 2>&1") == 0;
}

class LedgerApi : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!PythonVerifierAvailable()) {
      if (testing_pg::InCi()) FAIL() << "CI=true: python3 with cryptography is required";
      GTEST_SKIP() << "python3 with the cryptography module is not installed";
    }
    dir_ = serve_fixture::FreshDir(
        "ledger-api-" +
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    account_ = a["id"].get<int64_t>();
    key_ = a["api_key"];
    Cli(db_, {"number", "add", "--account", std::to_string(account_), "--number", kNumber});
    Start();
  }
  void TearDown() override {
    serve_fixture::StopServe(server_);
    if (!db_.empty()) serve_fixture::DropDatabase(db_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void Start() {
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(),
                              {"--threads", "2", "--ledger-integrate-interval-ms", "20"}, &server_,
                              Setup());
  }
  serve_fixture::ServeSetup Setup() const {
    serve_fixture::ServeSetup s;
    s.env = {"SMSCONSENT_LEDGER_KEY=" + (dir_ / "ledger-key.pem").string()};
    return s;
  }
  // An inbound SMS through the CLI, which writes to the same database as the server.
  void Sms(const std::string& from, const std::string& body) {
    int rc = 0;
    serve_fixture::RunCli(db_, {"sms", "receive", "--from", from, "--to", kNumber, "--body", body},
                          &rc);
    ASSERT_EQ(rc, 0) << from << " " << body;
  }
  json Get(const std::string& path, int want = 200) {
    HttpClientRequest req;
    req.method = "GET";
    req.url = server_.base_url + path;
    req.headers.emplace_back("Authorization", "Bearer " + key_);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, want) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  int64_t ContactId(const std::string& phone) {
    json c = Cli(db_, {"contact", "list", "--account", std::to_string(account_), "--search",
                       phone.substr(1)});
    return c.is_array() && c.size() == 1 ? c[0].value("id", int64_t{0}) : 0;
  }
  std::string PublicKey() { return Get("/v1/ledger/public-key")["public_key"]; }
  int Verify(const std::string& kind, const json& doc, std::string* out) {
    return PythonVerify(dir_, kind, doc, PublicKey(), out);
  }

  static constexpr char kNumber[] = "+15551234567";
  fs::path dir_;
  std::string db_, key_;
  int64_t account_ = 0;
  serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

TEST_F(LedgerApi, ServedProofVerifiesAndEveryForgeryIsRefused) {
  // Ann's three events on the number, between other contacts' events.
  Sms("+14155550001", "START");
  Sms("+14155550002", "START");
  Sms("+14155550001", "STOP");
  Sms("+14155550003", "START");
  Sms("+14155550001", "START");
  Sms("+14155550002", "STOP");
  const int64_t ann = ContactId("+14155550001");
  ASSERT_GT(ann, 0);
  json proof = Get("/v1/contacts/" + std::to_string(ann) + "/proof?format=json");
  ASSERT_EQ(proof["format"], "smsconsent-proof-v2");
  ASSERT_EQ(proof["events"].size(), 3u);
  EXPECT_EQ(proof["tree_head"]["size"], 6);
  std::string out;
  EXPECT_EQ(Verify("proof", proof, &out), 0) << out;
  EXPECT_EQ(out, "ok: 3 events\n");

  // A changed event: its evidence says it arrived a millisecond later.
  {
    json doc = proof;
    std::string enc = doc["events"][1]["encoding"];
    const size_t at = enc.find("\nat:13:") + 7 + 12;
    enc[at] = enc[at] == '9' ? '8' : static_cast<char>(enc[at] + 1);
    doc["events"][1]["encoding"] = enc;
    EXPECT_EQ(Verify("proof", doc, &out), 1) << out;
    EXPECT_NE(out.find("inclusion proof does not lead to the tree head's root"), std::string::npos)
        << out;
  }
  // An event left out: the STOP between the two opt-ins.
  {
    json doc = proof;
    doc["events"].erase(1);
    EXPECT_EQ(Verify("proof", doc, &out), 1) << out;
    EXPECT_NE(out.find("missing"), std::string::npos) << out;
  }
  // A head whose root was replaced, and a head over the same tree signed by another key.
  {
    json root_doc = proof;
    root_doc["tree_head"]["root"] = std::string(64, 'a');
    EXPECT_EQ(Verify("proof", root_doc, &out), 1) << out;

    SigningKey mallory = std::move(SigningKey::Generate()).value();
    TreeHead h;
    h.account_id = account_;
    h.size = proof["tree_head"]["size"].get<int64_t>();
    h.root = *merkle::FromHex(proof["tree_head"]["root"].get<std::string>());
    h.at_ms = proof["tree_head"]["at"].get<int64_t>();
    json forged = proof;
    forged["tree_head"] = SignedTreeHeadToJson(mallory.Sign(h));
    EXPECT_EQ(Verify("proof", forged, &out), 1) << out;
    // It is well formed: under the forger's own key it verifies, so the key is what decides.
    const std::string mallory_key = (dir_ / "mallory.pem").string();
    std::ofstream(mallory_key) << PublicKeyPem(mallory.PublicKeyRaw());
    EXPECT_EQ(PythonVerify(dir_, "proof", forged, mallory_key, &out), 0) << out;
  }
}

// A bulk change keeps its shared evidence once, as a batch document each event names by hash
// inside its leaf: the proof carries the document, the verifier checks its hash, and the
// contact's history shows the whole evidence.
TEST_F(LedgerApi, ABulkChangesProofCarriesItsBatchDocumentAndVerifies) {
  const fs::path csv = dir_ / "contacts.csv";
  std::ofstream(csv) << "phone,name\n+14155550001,Ann\n+14155550002,Bob\n+14155550003,Cy\n";
  json applied = Cli(
      db_, {"bulk", "apply", "--account", std::to_string(account_), "--number", kNumber, "--status",
            "opted_in", "--csv", csv.string(), "--attest", "--legal-basis", "consent",
            "--explanation", "Signed up at the Aarhus fair", "--actor", "user:alice"});
  ASSERT_EQ(applied["change"], 3) << applied;
  const int64_t bob = ContactId("+14155550002");
  ASSERT_GT(bob, 0);
  json proof = Get("/v1/contacts/" + std::to_string(bob) + "/proof?format=json");
  ASSERT_EQ(proof["events"].size(), 1u) << proof.dump();
  const json& event = proof["events"][0];
  const std::string hash = event["batch_hash"];
  ASSERT_EQ(hash.size(), 64u);
  ASSERT_EQ(proof["batches"].size(), 1u);
  ASSERT_TRUE(proof["batches"].contains(hash)) << proof["batches"];
  const json document = json::parse(proof["batches"][hash].get<std::string>());
  EXPECT_EQ(document["explanation"], "Signed up at the Aarhus fair");
  EXPECT_EQ(document["legal_basis"], "consent");
  EXPECT_EQ(document["attested_express_consent"], true);
  EXPECT_EQ(document["actor"], "user:alice");
  EXPECT_EQ(document["batch"], applied["batch"]);
  // The event keeps only its row; its evidence, as shown, is the batch's and its own.
  EXPECT_EQ(event["evidence_text"], R"({"row":3})");
  EXPECT_EQ(event["evidence"]["row"], 3);
  EXPECT_EQ(event["evidence"]["explanation"], "Signed up at the Aarhus fair");
  EXPECT_EQ(event["evidence"]["type"], "bulk");
  std::string out;
  EXPECT_EQ(Verify("proof", proof, &out), 0) << out;
  EXPECT_EQ(out, "ok: 1 events\n");

  // The document left out, or changed: refused.
  {
    json doc = proof;
    doc["batches"] = json::object();
    EXPECT_EQ(Verify("proof", doc, &out), 1) << out;
    EXPECT_NE(out.find("its batch document is not in batches"), std::string::npos) << out;
  }
  {
    json doc = proof;
    std::string text = doc["batches"][hash];
    text.replace(text.find("Aarhus"), 6, "Odense");
    doc["batches"][hash] = text;
    EXPECT_EQ(Verify("proof", doc, &out), 1) << out;
    EXPECT_NE(out.find("its text has another SHA-256"), std::string::npos) << out;
  }

  // The contact's history (the contact page's source) shows the whole evidence.
  json history = Get("/v1/contacts/" + std::to_string(bob) + "/history");
  const json& items = history.is_array() ? history : history["items"];
  ASSERT_EQ(items.size(), 1u) << history.dump();
  EXPECT_EQ(items[0]["evidence"]["explanation"], "Signed up at the Aarhus fair");
  EXPECT_EQ(items[0]["evidence"]["legal_basis"], "consent");
  EXPECT_EQ(items[0]["evidence"]["row"], 3);
  EXPECT_EQ(items[0]["batch_hash"], hash);
}

TEST_F(LedgerApi, ConsistencyProofsShowAppendsAndRefuseARewrittenTail) {
  Sms("+14155550001", "START");
  Sms("+14155550002", "START");
  const json old_head = Get("/v1/ledger/head");
  ASSERT_EQ(old_head["size"], 2);
  Sms("+14155550003", "START");
  Sms("+14155550001", "STOP");
  const json new_head = Get("/v1/ledger/head");
  ASSERT_EQ(new_head["size"], 4);
  json honest = Get("/v1/ledger/consistency?from=2&to=4");
  EXPECT_EQ(honest["from"], old_head);
  EXPECT_EQ(honest["to"], new_head);
  std::string out;
  EXPECT_EQ(Verify("consistency", honest, &out), 0) << out;
  // From a size no head was kept for: the server signs (and keeps) the root of that prefix.
  json from_three = Get("/v1/ledger/consistency?from=3");
  EXPECT_EQ(from_three["from"]["size"], 3);
  EXPECT_EQ(Verify("consistency", from_three, &out), 0) << out;
  EXPECT_EQ(Get("/v1/ledger/consistency?from=5", 400)["error"]["code"], "INVALID_ARGUMENT");
  Get("/v1/ledger/consistency", 400);
  Get("/v1/ledger/consistency?from=4&to=2", 400);

  // Someone with the database file cuts the ledger back to one event and writes a different
  // history after it, tree, heads and all: the server is none the wiser and serves heads of
  // the new history.
  serve_fixture::StopServe(server_);
  if (serve_fixture::OnPostgres()) GTEST_SKIP() << "the rewrite below edits the SQLite file";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    const char* sql =
        "DROP TRIGGER events_append_only; DROP TRIGGER events_unchangeable;"
        "DELETE FROM outbox; DELETE FROM review_items; DELETE FROM events WHERE seq > 1;"
        "UPDATE statuses SET events = (SELECT COUNT(*) FROM events e WHERE e.contact_id = "
        "statuses.contact_id AND e.number_id = statuses.number_id);"
        "DELETE FROM statuses WHERE events = 0;"
        "DELETE FROM ledger_trees; DELETE FROM ledger_nodes; DELETE FROM tree_heads;";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  Sms("+14155550009", "START");
  Sms("+14155550008", "START");
  Sms("+14155550007", "START");
  Start();
  const json rewritten = Get("/v1/ledger/head");
  ASSERT_EQ(rewritten["size"], 4);
  EXPECT_NE(rewritten["root"], new_head["root"]);
  // Whoever kept the old heads asks the server to prove that its ledger extends them.
  json answer = Get("/v1/ledger/consistency?from=2&to=4");
  answer["from"] = old_head;  // the head the client kept, not the server's copy
  EXPECT_EQ(Verify("consistency", answer, &out), 1) << out;
  answer = Get("/v1/ledger/consistency?from=4&to=4");
  answer["from"] = new_head;
  EXPECT_EQ(Verify("consistency", answer, &out), 1) << out;
}

}  // namespace
}  // namespace smsconsent
