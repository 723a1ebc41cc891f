// End-to-end tests of `smsconsent export` and `smsconsent proof`: the real binary on a fresh
// SQLite file, its stdout, files and exit codes.
#include <openssl/sha.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace cli_test = smsconsent::cli_test;
using CliResult = cli_test::CliRun;
using cli_test::ReadAll;

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

class ExportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_test::FreshTestDir("exportcli");
    db_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult Exec(const std::vector<std::string>& args, bool json_flag = false) {
    return cli_test::RunBinary(db_, args, json_flag, dir_);
  }
  json Ok(const std::vector<std::string>& args) {
    CliResult r = Exec(args, true);
    EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_close(db);
  }

  // Makes the database what version 11 wrote: every event a link of its account's hash chain
  // (the smsconsent-ledger-v1 encoding of docs/ledger.md and its SHA-256, computed here from
  // that description alone), and nothing of migration 12.
  void RewriteAsVersion11() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db,
                           "SELECT id, account_id, seq, contact_id, phone, number_id, sender, "
                           "from_status, to_status, source, actor, at_ms, evidence FROM "
                           "events ORDER BY account_id, seq",
                           -1, &s, nullptr),
        SQLITE_OK);
    const char* const names[] = {"account", "seq", "contact", "phone", "number", "sender",
                                 "from",    "to",  "source",  "actor", "at",     "evidence"};
    std::map<std::string, std::string> head;  // account -> its last hash
    std::string sql = "DROP TRIGGER events_unchangeable;";
    while (sqlite3_step(s) == SQLITE_ROW) {
      auto column = [&](int i) {
        const unsigned char* text = sqlite3_column_text(s, i);
        return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(s, i))
                    : std::string();
      };
      std::string& prev = head.emplace(column(1), std::string(64, '0')).first->second;
      std::string encoding = "smsconsent-ledger-v1\n";
      for (int i = 0; i < 12; ++i) {
        const std::string value = column(i + 1);
        encoding += std::string(names[i]) + ":" + std::to_string(value.size()) + ":" + value + "\n";
      }
      encoding += "prev:64:" + prev + "\n";
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(encoding.data()), encoding.size(), digest);
      std::string hash;
      for (unsigned char c : digest) {
        hash += "0123456789abcdef"[c >> 4];
        hash += "0123456789abcdef"[c & 15];
      }
      sql += "UPDATE events SET prev_hash = '" + prev + "', hash = '" + hash +
             "' WHERE id = " + column(0) + ";";
      prev = hash;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    Sql(sql +
        "ALTER TABLE sender_numbers DROP COLUMN frequency_cap; "
        "DROP INDEX outbox_due_replies; ALTER TABLE sender_numbers DROP COLUMN rate_mmps; "
        "ALTER TABLE sender_numbers DROP COLUMN next_send_at_us; "
        "DROP INDEX outbox_by_provider_message_id; ALTER TABLE outbox DROP COLUMN delivery; "
        "ALTER TABLE outbox DROP COLUMN delivery_error; ALTER TABLE outbox DROP COLUMN "
        "delivery_updated_at_ms; "
        "ALTER TABLE accounts DROP COLUMN quiet_hours; "
        "ALTER TABLE sender_numbers DROP COLUMN double_opt_in; ALTER TABLE sender_numbers DROP "
        "COLUMN reply_confirmation_request; "
        "DROP INDEX outbox_by_idempotency_key; ALTER TABLE sender_numbers DROP COLUMN "
        "quiet_hours; ALTER TABLE sender_numbers DROP COLUMN opt_out_notice; ALTER TABLE outbox "
        "DROP COLUMN notice; ALTER TABLE outbox DROP COLUMN purpose; ALTER TABLE outbox DROP "
        "COLUMN "
        "send_at_ms; ALTER TABLE outbox DROP COLUMN idempotency_key; ALTER TABLE outbox DROP "
        "COLUMN request_hash; "
        "DROP TABLE evidence_batches; DROP TABLE ledger_keys; DROP TABLE tree_heads; DROP TABLE "
        "ledger_nodes; "
        "DROP TABLE ledger_trees; ALTER TABLE outbox DROP COLUMN queued_after_event; "
        "ALTER TABLE statuses DROP COLUMN events; ALTER TABLE events DROP COLUMN nth; "
        "ALTER TABLE events DROP COLUMN batch_hash; ALTER TABLE events DROP COLUMN format; "
        "DELETE FROM schema_migrations WHERE version >= 12; PRAGMA user_version = 11;");
  }

  // Account 1 (both add-ons) with a long code and a short code; Ann opted in by START on the
  // long code, Bob opted in by a user on the short code, Carol never set.
  void Populate() {
    acct_ = std::to_string(Ok({"account", "create", "--name", "Acme", "--addons",
                               "marketing_sms_access,sms_short_code"})["id"]
                               .get<int64_t>());
    Ok({"number", "add", "--account", acct_, "--number", "+15551234567"});
    Ok({"number", "add", "--account", acct_, "--number", "12345", "--kind", "short_code",
        "--country", "US"});
    Ok({"contact", "add", "--account", acct_, "--phone", "+14155550001", "--name", "Ann"});
    Ok({"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "START"});
    Ok({"status", "set", "--account", acct_, "--phone", "+14155550002", "--number", "12345",
        "--status", "opted_in", "--attest", "--legal-basis", "consent", "--explanation",
        "paper form", "--actor", "user:alice"});
    Ok({"contact", "add", "--account", acct_, "--phone", "+14155550003", "--name",
        "=cmd|' /C calc'!A0"});
  }

  fs::path dir_;
  std::string db_, acct_;
};

TEST_F(ExportCli, StatusesCsvOnStdoutWithFormulaGuard) {
  Populate();
  CliResult r = Exec({"export", "--account", acct_, "--statuses"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u + 3 * 2);
  EXPECT_EQ(lines[0],
            "contact_id,phone,name,email,number_id,number,status,since,source,self_opted_out,"
            "properties");
  EXPECT_NE(r.out.find("'+14155550001,Ann,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(",'=cmd|' /C calc'!A0,"), std::string::npos) << r.out;
  r = Exec({"export", "--account", acct_, "--statuses", "--no-formula-guard", "--number",
            "+15551234567", "--status", "opted_in"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].rfind("1,+14155550001,Ann,,1,+15551234567,opted_in,", 0), 0u) << lines[1];
}

TEST_F(ExportCli, NotSpecifiedFindsNeverSetContacts) {
  Populate();
  CliResult r = Exec({"export", "--account", acct_, "--statuses", "--format", "jsonl", "--number",
                      "12345", "--status", "not_specified"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["phone"], "+14155550001");
  EXPECT_EQ(json::parse(lines[1])["phone"], "+14155550003");
  EXPECT_TRUE(json::parse(lines[1])["since"].is_null());
}

TEST_F(ExportCli, LedgerJsonlToAFileWithTimeRange) {
  Populate();
  const std::string file = (dir_ / "ledger.jsonl").string();
  json summary = Ok({"export", "--account", acct_, "--ledger", "--format", "jsonl", "--output",
                     file, "--from", "2000-01-01", "--to", "2999-12-31"});
  EXPECT_EQ(summary["rows"], 2);
  EXPECT_EQ(summary["output"], file);
  EXPECT_FALSE(fs::exists(file + ".partial"));
  auto lines = Lines(ReadAll(file));
  ASSERT_EQ(lines.size(), 2u);
  for (size_t i = 0; i < lines.size(); ++i) {
    json j = json::parse(lines[i]);
    EXPECT_EQ(j["seq"], static_cast<int>(i + 1));
    EXPECT_EQ(j["format"], 2);
    EXPECT_EQ(j["nth"], 1);  // each is the first event of its (contact, number)
    EXPECT_EQ(j["leaf_hash"].get<std::string>().size(), 64u);
  }
  EXPECT_EQ(json::parse(lines[0])["evidence"]["body"], "START");
  // A range in the past selects nothing; the text form says where the rows went.
  CliResult r =
      Exec({"export", "--account", acct_, "--ledger", "--to", "2001-01-01", "--output", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote 0 rows (ledger, csv) to " + file + "\n");
  EXPECT_EQ(Lines(ReadAll(file)).size(), 1u);  // the header only
  // Filter by the event's status.
  r = Exec({"export", "--account", acct_, "--ledger", "--status", "opted_in", "--number", "12345"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 2u);
}

TEST_F(ExportCli, ErrorsAndExitCodes) {
  Populate();
  EXPECT_EQ(
      Exec({"export", "--account", acct_, "--statuses", "--number", "+15550000000"}).exit_code, 4);
  EXPECT_EQ(Exec({"export", "--account", acct_, "--statuses", "--status", "maybe"}).exit_code, 2);
  EXPECT_EQ(Exec({"export", "--account", acct_, "--ledger", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(Exec({"export", "--account", acct_, "--ledger", "--from", "2026-02-30"}).exit_code, 2);
  EXPECT_NE(Exec({"export", "--account", acct_, "--ledger", "--statuses"}).exit_code, 0);
  EXPECT_NE(Exec({"export", "--account", acct_}).exit_code, 0);
  const std::string bare =
      std::to_string(Ok({"account", "create", "--name", "Bare"})["id"].get<int64_t>());
  CliResult r = Exec({"export", "--account", bare, "--ledger"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("Marketing SMS Access"), std::string::npos) << r.err;
  EXPECT_EQ(Exec({"proof", "--account", bare, "--phone", "+14155550001"}).exit_code, 3);
  // A failed export to a file leaves nothing behind.
  const std::string file = (dir_ / "none.csv").string();
  EXPECT_EQ(Exec({"export", "--account", bare, "--ledger", "--output", file}).exit_code, 3);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".partial"));
}

TEST_F(ExportCli, ProofHtmlAndJson) {
  Populate();
  CliResult html = Exec({"proof", "--account", acct_, "--phone", "+14155550001"});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_EQ(html.out.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.out.find("<title>Consent record for +14155550001</title>"), std::string::npos);
  EXPECT_NE(html.out.find("by keyword START sent from +14155550001"), std::string::npos);

  json j = Ok({"proof", "--account", acct_, "--phone", "+14155550002"});  // --json: JSON
  EXPECT_EQ(j["contact"]["phone"], "+14155550002");
  EXPECT_EQ(j["format"], "smsconsent-proof-v2");
  EXPECT_EQ(j["ledger"]["ok"], true);
  EXPECT_EQ(j["tree_head"]["size"], 2);  // a signed head over the account's two events
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["included"], true);
  EXPECT_EQ(j["events"][0]["evidence"]["legal_basis"], "consent");
  EXPECT_NE(j["summary"][1].get<std::string>().find("opted in by user:alice"), std::string::npos);

  const std::string file = (dir_ / "proof.html").string();
  CliResult r =
      Exec({"proof", "--account", acct_, "--contact", "1", "--format", "html", "--output", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote the consent record of +14155550001 (html) to " + file + "\n");
  EXPECT_NE(ReadAll(file).find("Consent record for +14155550001"), std::string::npos);
  json written = Ok({"proof", "--account", acct_, "--phone", "+14155550001", "--output", file});
  EXPECT_EQ(written["output"], file);
  EXPECT_EQ(written["format"], "json");  // --json without --format
  EXPECT_EQ(json::parse(ReadAll(file))["contact"]["phone"], "+14155550001");

  EXPECT_EQ(Exec({"proof", "--account", acct_, "--phone", "+14155559999"}).exit_code, 4);
  EXPECT_EQ(
      Exec({"proof", "--account", acct_, "--phone", "+14155550001", "--format", "pdf"}).exit_code,
      2);
  EXPECT_NE(Exec({"proof", "--account", acct_}).exit_code, 0);
}

// A status's since and source are when and how it last changed. A staff opt-in of a contact
// who texted START changes nothing: it is in the ledger, and `status show`, the proof, the
// export and `ledger verify` all still say "since the START, by keyword".
TEST_F(ExportCli, StaffOptInAfterStartKeepsSinceAndSource) {
  acct_ = std::to_string(
      Ok({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"})["id"]
          .get<int64_t>());
  Ok({"number", "add", "--account", acct_, "--number", "+15551234567"});
  Ok({"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "START"});
  json set = Ok({"status", "set", "--account", acct_, "--phone", "+14155550001", "--number",
                 "+15551234567", "--status", "opted_in", "--attest", "--legal-basis", "consent",
                 "--explanation", "signed the paper form", "--actor", "user:alice"});
  EXPECT_EQ(set["changed"], false);
  json history = Ok({"history", "--account", acct_, "--phone", "+14155550001"});
  ASSERT_EQ(history.size(), 2u);  // the no-change event is recorded
  const std::string start = history[0]["at"];
  ASSERT_NE(start, history[1]["at"].get<std::string>());

  json status = Ok({"status", "show", "--account", acct_, "--phone", "+14155550001"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["status"], "opted_in");
  EXPECT_EQ(status[0]["updated_at"], start);
  EXPECT_EQ(status[0]["source"], "keyword");
  CliResult text = Exec({"status", "show", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_NE(text.out.find("since " + start + " by keyword"), std::string::npos) << text.out;

  json proof = Ok({"proof", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_EQ(proof["statuses"][0]["updated_at"], start);
  EXPECT_EQ(proof["statuses"][0]["source"], "keyword");
  EXPECT_NE(proof["summary"][0].get<std::string>().find("by keyword START"), std::string::npos)
      << proof["summary"][0];
  ASSERT_EQ(proof["events"].size(), 2u);
  EXPECT_EQ(proof["events"][1]["changed"], false);
  CliResult html = Exec({"proof", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_NE(html.out.find("<td>" + start + "</td><td>keyword</td>"), std::string::npos);

  json row =
      json::parse(Exec({"export", "--account", acct_, "--statuses", "--format", "jsonl"}).out);
  EXPECT_EQ(row["since"], start);
  EXPECT_EQ(row["source"], "keyword");
  EXPECT_EQ(Ok({"ledger", "verify", "--account", acct_})["ok"], true);
}

// A second STOP is recorded but does not move since: the opt-out dates from the first.
TEST_F(ExportCli, RepeatedStopKeepsSince) {
  acct_ = std::to_string(
      Ok({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"})["id"]
          .get<int64_t>());
  Ok({"number", "add", "--account", acct_, "--number", "+15551234567"});
  for (const char* body : {"START", "STOP", "STOP"}) {
    Ok({"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", body});
  }
  json history = Ok({"history", "--account", acct_, "--phone", "+14155550001"});
  ASSERT_EQ(history.size(), 3u);
  const std::string stop = history[1]["at"];
  ASSERT_NE(stop, history[2]["at"].get<std::string>());
  json status = Ok({"status", "show", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_EQ(status[0]["status"], "opted_out");
  EXPECT_EQ(status[0]["updated_at"], stop);
  EXPECT_EQ(status[0]["source"], "keyword");
  EXPECT_EQ(status[0]["self_opted_out"], true);
  json proof = Ok({"proof", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_EQ(proof["statuses"][0]["updated_at"], stop);
  EXPECT_EQ(Ok({"ledger", "verify", "--account", acct_})["ok"], true);
}

// A database whose status rows were written while a no-change event still moved since and
// source is set right when it is opened, and `ledger verify` passes on it.
TEST_F(ExportCli, AnUpgradedDatabaseShowsTheLastChangeAndVerifies) {
  acct_ = std::to_string(
      Ok({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"})["id"]
          .get<int64_t>());
  Ok({"number", "add", "--account", acct_, "--number", "+15551234567"});
  Ok({"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "START"});
  Ok({"status", "set", "--account", acct_, "--phone", "+14155550001", "--number", "+15551234567",
      "--status", "opted_in", "--attest", "--legal-basis", "consent", "--explanation",
      "signed the paper form", "--actor", "user:alice"});
  const std::string start = Ok({"history", "--account", acct_, "--phone", "+14155550001"})[0]["at"];
  // A version-8 file: a hash chain, and the row as the old rule wrote it (the staff opt-in's
  // source and time).
  RewriteAsVersion11();
  Sql("UPDATE statuses SET source = 'manual', updated_at_ms = (SELECT MAX(at_ms) FROM events); "
      "ALTER TABLE outbox DROP COLUMN queued_at_seq; DROP TABLE review_items; "
      "DELETE FROM schema_migrations WHERE version >= 9;");
  json verify = Ok({"ledger", "verify", "--account", acct_});
  EXPECT_EQ(verify["ok"], true) << verify;
  json status = Ok({"status", "show", "--account", acct_, "--phone", "+14155550001"});
  EXPECT_EQ(status[0]["updated_at"], start);
  EXPECT_EQ(status[0]["source"], "keyword");
  // The chain's two events become the tree's first leaves, and the ledger still verifies.
  EXPECT_EQ(Ok({"ledger", "head", "--account", acct_})["size"], 2);
  verify = Ok({"ledger", "verify", "--account", acct_});
  EXPECT_EQ(verify["ok"], true) << verify;
  EXPECT_EQ(verify["tree_size"], 2) << verify;
  json history = Ok({"history", "--account", acct_, "--phone", "+14155550001"});
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["format"], 1);
  EXPECT_EQ(history[0]["prev_hash"], std::string(64, '0'));
  EXPECT_EQ(history[1]["prev_hash"], history[0]["hash"]);
}

// The statuses export reads back as it is written (formula guard included) without options:
// `import` restores its contacts with their properties, and a bulk change applies its own
// status and number to them. The export's status columns are not applied.
TEST_F(ExportCli, StatusesExportReadsBackWithImportAndBulkApply) {
  Populate();
  const std::string props = (dir_ / "props.csv").string();
  std::ofstream(props) << "phone,city\n+14155550001,Aarhus\n";
  Ok({"import", props, "--account", acct_});
  const std::string file = (dir_ / "statuses.csv").string();
  Ok({"export", "--account", acct_, "--statuses", "--output", file});
  ASSERT_NE(ReadAll(file).find("'+14155550001"), std::string::npos);

  const std::string copy = std::to_string(
      Ok({"account", "create", "--name", "Copy", "--addons", "marketing_sms_access"})["id"]
          .get<int64_t>());
  Ok({"number", "add", "--account", copy, "--number", "+15557654321"});
  json imported = Ok({"import", file, "--account", copy});
  EXPECT_EQ(imported["rows"], 6);
  EXPECT_EQ(imported["created"], 3);
  EXPECT_EQ(imported["skipped"]["duplicate"], 3);  // each contact's row for the second number
  json contacts = Ok({"contact", "list", "--account", copy});
  ASSERT_EQ(contacts.size(), 3u);
  EXPECT_EQ(contacts[0]["phone"], "+14155550001");
  EXPECT_EQ(contacts[0]["name"], "Ann");
  EXPECT_EQ(contacts[0]["properties"], json({{"city", "Aarhus"}}));
  EXPECT_EQ(contacts[1]["phone"], "+14155550002");
  EXPECT_EQ(contacts[1]["properties"], json::object());
  EXPECT_EQ(contacts[2]["name"], "=cmd|' /C calc'!A0");
  json status = Ok({"status", "show", "--account", copy, "--phone", "+14155550001"});
  EXPECT_EQ(status[0]["status"], "not_specified");  // an import changes no status

  json bulk = Ok({"bulk", "apply", "--account", copy, "--number", "+15557654321", "--status",
                  "opted_out", "--csv", file});
  EXPECT_EQ(bulk["change"], 3);
  EXPECT_EQ(bulk["skipped"]["duplicate"], 3);
  status = Ok({"status", "show", "--account", copy, "--phone", "+14155550002"});
  EXPECT_EQ(status[0]["status"], "opted_out");
  EXPECT_EQ(status[0]["source"], "bulk");

  // On the account it came from, the request's number and status count, not the file's.
  bulk = Ok({"bulk", "apply", "--account", acct_, "--number", "12345", "--status", "opted_in",
             "--attest", "--legal-basis", "consent", "--explanation", "renewed on paper", "--csv",
             file});
  EXPECT_EQ(bulk["change"], 2);     // Ann and Carol
  EXPECT_EQ(bulk["unchanged"], 1);  // Bob was opted in on 12345 already
  EXPECT_EQ(Ok({"ledger", "verify", "--account", acct_})["ok"], true);
}

TEST_F(ExportCli, ProofOfATamperedLedgerSaysWhereItBreaksAndExitsOne) {
  Populate();
  // Both events are in a signed tree; then Ann's (seq 1) is changed behind the store's back.
  EXPECT_EQ(Ok({"ledger", "head", "--account", acct_})["size"], 2);
  Sql("DROP TRIGGER events_unchangeable; UPDATE events SET evidence = "
      "'{\"type\":\"keyword\",\"body\":\"YES\"}' WHERE seq = 1");
  CliResult r = Exec({"proof", "--account", acct_, "--phone", "+14155550002", "--format", "json"});
  EXPECT_EQ(r.exit_code, 1);
  // Bob's own event (seq 2) is intact, but the changed one is on its path to the signed root.
  EXPECT_NE(r.err.find("event seq 2 is not in the signed tree"), std::string::npos) << r.err;
  json j = json::parse(r.out);  // the record is still produced
  EXPECT_EQ(j["ledger"]["ok"], false);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["seq"], 2);
  EXPECT_EQ(j["events"][0]["included"], false);
  // The ledger check finds it too.
  CliResult v = Exec({"ledger", "verify", "--account", acct_});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
}

}  // namespace
