// End-to-end tests of `smsconsent migrate-store`: a SQLite installation with real activity
// (keywords by `sms receive`, manual changes, an import, a bulk change, queued replies, a staff
// user) moved to PostgreSQL — and back — by the real binary, then used there. The PostgreSQL
// tests follow tests/store/pg_test_util.h: skipped without SMSCONSENT_TEST_POSTGRES_URL,
// failed when CI=true.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../store/pg_test_util.h"
#include "cli_test_util.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace testing_pg = smsconsent::testing_pg;
using smsconsent::cli_test::CliRun;

class MigrateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing_pg::Unavailable(); !why.empty()) {
      if (testing_pg::InCi()) FAIL() << "(CI=true, so not skipped): " << why;
      GTEST_SKIP() << why;
    }
    dir_ = cli_test::FreshTestDir("migratecli");
    sqlite_ = "sqlite:" + (dir_ / "source.db").string();
    schema_ = testing_pg::NewSchemaName();
    pg_ = testing_pg::StoreUrl(schema_);
  }
  void TearDown() override {
    if (!schema_.empty()) testing_pg::DropSchema(schema_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  CliRun Exec(const std::string& db, const std::vector<std::string>& args, bool json_flag = true) {
    return smsconsent::cli_test::RunBinary(db, args, json_flag, dir_);
  }
  json Ok(const std::string& db, const std::vector<std::string>& args) {
    CliRun r = Exec(db, args);
    EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err;
    return r.exit_code == 0 ? r.Json() : json();
  }
  CliRun Migrate(const std::string& from, const std::string& to, bool json_flag = true) {
    return Exec(sqlite_, {"migrate-store", "--from", from, "--to", to}, json_flag);
  }

  // Two accounts; on Acme: keyword opt-ins, a HELP, a STOP, a manual opt-in on a short code
  // (its confirmation queued), an import of contacts with properties, a bulk opt-in with a
  // batch id, a provider's settings and a staff user.
  void Populate() {
    const json acme = Ok(sqlite_, {"account", "create", "--name", "Acme", "--addons",
                                   "marketing_sms_access,sms_short_code"});
    acct_ = std::to_string(acme["id"].get<int64_t>());
    api_key_ = acme["api_key"];
    Ok(sqlite_, {"account", "create", "--name", "Other", "--addons", "marketing_sms_access"});
    Ok(sqlite_, {"number", "add", "--account", acct_, "--number", "+15551234567"});
    Ok(sqlite_, {"number", "add", "--account", acct_, "--number", "12345", "--kind", "short_code",
                 "--country", "US"});
    Ok(sqlite_, {"number", "add", "--account", "2", "--number", "+15557654321"});
    Ok(sqlite_, {"provider", "set", "--account", acct_, "--provider", "twilio", "--auth-token",
                 "tok", "--account-sid", "AC1", "--sender", "log"});
    Ok(sqlite_,
       {"user", "add", "--account", acct_, "--email", "Ann@Example.com", "--role", "editor"});
    Ok(sqlite_, {"contact", "add", "--account", acct_, "--phone", "+14155550001", "--name", "Ann"});
    Ok(sqlite_, {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body",
                 "START", "--message-id", "SM1", "--provider", "twilio"});
    Ok(sqlite_, {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body",
                 "HELP", "--message-id", "SM2", "--provider", "twilio"});
    Ok(sqlite_, {"sms", "receive", "--from", "+14155550002", "--to", "+15551234567", "--body",
                 "please stop texting me", "--message-id", "SM3", "--provider", "twilio"});
    Ok(sqlite_, {"sms", "receive", "--from", "+14155550009", "--to", "+15557654321", "--body",
                 "START", "--message-id", "SM4", "--provider", "twilio"});
    Ok(sqlite_, {"status", "set", "--account", acct_, "--phone", "+14155550003", "--number",
                 "12345", "--status", "opted_in", "--attest", "--legal-basis", "consent",
                 "--explanation", "paper form", "--actor", "user:alice"});
    std::ofstream(dir_ / "contacts.csv") << "phone,name,city\n+14155550004,Dan,Aarhus\n"
                                            "+14155550005,Eve,Odense\nnot a phone,Bad,X\n";
    Ok(sqlite_, {"import", (dir_ / "contacts.csv").string(), "--account", acct_});
    Ok(sqlite_, {"bulk", "apply", "--account", acct_, "--number", "12345", "--status", "opted_in",
                 "--filter", "prop.city=Aarhus", "--attest", "--legal-basis", "consent",
                 "--explanation", "signed up in the shop", "--actor", "user:bob"});
  }

  // What a user sees of an installation, by the CLI: the same on both sides of a move.
  std::vector<std::string> Views(const std::string& db) {
    std::vector<std::string> out;
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"account", "list"},
             {"number", "list", "--account", acct_},
             {"contact", "list", "--account", acct_},
             {"history", "--account", acct_, "--phone", "+14155550001"},
             {"status", "show", "--account", acct_, "--phone", "+14155550004"},
             {"outbox", "list", "--account", acct_},
             {"user", "list", "--account", acct_},
             {"job", "show", "--account", acct_, "--job", "1"},
             {"job", "rejects", "--account", acct_, "--job", "1"},
             {"export", "--account", acct_, "--ledger", "--format", "jsonl"},
             {"export", "--account", "2", "--statuses", "--format", "csv"},
         }) {
      CliRun r = Exec(db, args);
      EXPECT_EQ(r.exit_code, 0) << args[0] << " on " << db << ": " << r.err;
      out.push_back(r.out);
    }
    return out;
  }

  fs::path dir_;
  std::string sqlite_, schema_, pg_, acct_, api_key_;
};

TEST_F(MigrateCli, SqliteToPostgresCopiesEverythingAndVerifies) {
  Populate();
  CliRun r = Migrate(sqlite_, pg_);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_EQ(doc["first_difference"], nullptr);
  int64_t rows = 0;
  for (const json& t : doc["tables"]) {
    EXPECT_EQ(t["source"], t["target"]) << t.dump();
    rows += t["target"].get<int64_t>();
  }
  EXPECT_EQ(doc["rows"], rows);
  const json source_ledgers = Ok(sqlite_, {"ledger", "verify"});
  ASSERT_EQ(doc["ledgers"].size(), 2u);
  ASSERT_EQ(source_ledgers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json& l = doc["ledgers"][i];
    EXPECT_EQ(l["same"], true);
    EXPECT_EQ(l["source_hash"], l["target_hash"]);
    EXPECT_EQ(l["target_hash"].get<std::string>().size(), 64u);
    EXPECT_EQ(l["verify"]["ok"], true);
    EXPECT_EQ(l["seq"], source_ledgers[i]["events"]);
  }
  EXPECT_GE(doc["ledgers"][0]["seq"].get<int64_t>(), 4);  // START, STOP, manual, bulk

  // The ledger verifies on the target as `ledger verify` sees it, with the same heads.
  const json verify = Ok(pg_, {"ledger", "verify"});
  ASSERT_EQ(verify.size(), 2u);
  EXPECT_EQ(verify[0]["ok"], true);
  EXPECT_EQ(verify[1]["ok"], true);
  EXPECT_EQ(Views(pg_), Views(sqlite_));
}

TEST_F(MigrateCli, TheServiceWorksOnTheTarget) {
  Populate();
  ASSERT_EQ(Migrate(sqlite_, pg_).exit_code, 0);
  // A provider's retry of a message received before the move is recognised.
  const json again = Ok(pg_, {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567",
                              "--body", "START", "--message-id", "SM1", "--provider", "twilio"});
  EXPECT_EQ(again["duplicate"], true);
  // New activity goes on from the copied ledger, with ids after the copied ones.
  const json stop = Ok(pg_, {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567",
                             "--body", "STOP", "--message-id", "SM99", "--provider", "twilio"});
  EXPECT_EQ(stop["status_after"], "opted_out");
  const json added = Ok(pg_, {"contact", "add", "--account", acct_, "--phone", "+14155550077"});
  const json contacts = Ok(sqlite_, {"contact", "list", "--account", acct_});
  EXPECT_GT(added["id"].get<int64_t>(), contacts.back()["id"].get<int64_t>());
  const json verify = Ok(pg_, {"ledger", "verify", "--account", acct_});
  const json source = Ok(sqlite_, {"ledger", "verify", "--account", acct_});
  EXPECT_EQ(verify["ok"], true);
  EXPECT_EQ(verify["events"].get<int64_t>(), source["events"].get<int64_t>() + 1);
}

TEST_F(MigrateCli, ANonEmptyTargetIsRefusedAndLeftUnchanged) {
  Populate();
  ASSERT_EQ(Migrate(sqlite_, pg_).exit_code, 0);
  Ok(pg_, {"sms", "receive", "--from", "+14155550001", "--to", "+15551234567", "--body", "STOP",
           "--message-id", "SM-after", "--provider", "twilio"});
  const std::vector<std::string> before = Views(pg_);

  CliRun again = Migrate(sqlite_, pg_);
  EXPECT_EQ(again.exit_code, 3) << again.err;  // kFailedPrecondition
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
  EXPECT_TRUE(again.out.empty()) << again.out;
  EXPECT_EQ(Views(pg_), before);
  EXPECT_EQ(Ok(pg_, {"ledger", "verify", "--account", acct_})["ok"], true);
}

TEST_F(MigrateCli, PostgresBackToSqliteGivesTheSameInstallation) {
  Populate();
  ASSERT_EQ(Migrate(sqlite_, pg_).exit_code, 0);
  const std::string back = (dir_ / "back.db").string();  // a bare path
  // The test cluster trusts local connections: a password is accepted, and never printed.
  CliRun r = Migrate(pg_ + "&password=s3cret", back, /*json_flag=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("verified: every row equal"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("password=***"), std::string::npos) << r.out;
  EXPECT_EQ(Views(back), Views(sqlite_));
}

TEST_F(MigrateCli, AMissingSourceIsNotFoundAndCreatesNothing) {
  const fs::path missing = dir_ / "missing.db";
  CliRun r = Migrate("sqlite:" + missing.string(), pg_);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_NE(r.err.find("no SQLite database"), std::string::npos) << r.err;
}

}  // namespace
