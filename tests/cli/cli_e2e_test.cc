// End-to-end tests of the real `smsconsent` binary: each test gets a fresh SQLite file and
// drives the CLI exactly as a user would, reading its --json output.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
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
using cli_test::CliRun;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_test::FreshTestDir("cli");
    db_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliRun Exec(const std::vector<std::string>& args, bool json_output = true) {
    return cli_test::RunBinary(db_, args, json_output, dir_);
  }

  // Runs a command that must succeed and returns its JSON.
  json Ok(const std::vector<std::string>& args) {
    CliRun r = Exec(args);
    EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err << "\nstdout: " << r.out;
    if (r.exit_code != 0) return json();
    return r.Json();
  }

  std::string NewAccount(const std::string& addons) {
    json a = Ok({"account", "create", "--name", "Acme", "--addons", addons, "--region", "US"});
    return std::to_string(a["id"].get<int64_t>());
  }

  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(Cli, FullConsentJourneyOnAShortCode) {
  const std::string acct = NewAccount("marketing_sms_access,sms_short_code");
  json num = Ok({"number", "add", "--account", acct, "--number", "12345", "--kind", "short_code",
                 "--country", "US"});
  EXPECT_EQ(num["number"], "12345");
  EXPECT_EQ(num["languages"], json::array({"en", "es"}));

  // Inbound START: opted in, confirmation queued with its segments.
  json start = Ok({"sms", "receive", "--from", "+14155552671", "--to", "12345", "--body", "START",
                   "--message-id", "SM1"});
  EXPECT_EQ(start["intent"], "opt_in");
  EXPECT_EQ(start["rule"], "START");     // the keyword as configured
  EXPECT_EQ(start["matched"], "start");  // the text that matched it
  EXPECT_EQ(start["status_before"], "not_specified");
  EXPECT_EQ(start["status_after"], "opted_in");
  ASSERT_EQ(start["replies"].size(), 1u);
  EXPECT_EQ(start["replies"][0]["kind"], "opt_in_confirmation");
  EXPECT_GE(start["replies"][0]["segments"].get<int>(), 1);
  EXPECT_EQ(start["replies"][0]["encoding"], "GSM-7");

  // Free-text opt-out: opted out with one confirmation.
  json quit = Ok({"sms", "receive", "--from", "+14155552671", "--to", "12345", "--body",
                  "please quit messaging me", "--message-id", "SM2"});
  EXPECT_EQ(quit["intent"], "opt_out");
  EXPECT_EQ(quit["match_kind"], "free_text");
  EXPECT_EQ(quit["status_after"], "opted_out");
  ASSERT_EQ(quit["replies"].size(), 1u);
  EXPECT_EQ(quit["replies"][0]["kind"], "opt_out_confirmation");

  // A user cannot override the contact's own opt-out.
  CliRun refused = Exec({"status", "set", "--account", acct, "--phone", "+14155552671", "--number",
                         "12345", "--status", "opted_in", "--attest", "--legal-basis", "consent",
                         "--explanation", "They said yes on the phone"});
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("only the contact can opt back in"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << "one-line reason";

  // The contact opts back in themselves.
  json unstop = Ok({"sms", "receive", "--from", "+14155552671", "--to", "12345", "--body", "unstop",
                    "--message-id", "SM3"});
  EXPECT_EQ(unstop["intent"], "opt_in");
  EXPECT_EQ(unstop["status_after"], "opted_in");

  // History shows every event with its evidence.
  json history = Ok({"history", "--account", acct, "--phone", "+14155552671"});
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["to"], "opted_in");
  EXPECT_EQ(history[0]["source"], "keyword");
  EXPECT_EQ(history[0]["evidence"]["body"], "START");
  EXPECT_EQ(history[1]["to"], "opted_out");
  EXPECT_EQ(history[1]["evidence"]["body"], "please quit messaging me");
  EXPECT_EQ(history[1]["evidence"]["match_kind"], "free_text");
  EXPECT_FALSE(history[1]["evidence"]["rule"].get<std::string>().empty());
  EXPECT_EQ(history[2]["evidence"]["rule"], "UNSTOP");
  // Each event is numbered among the pair's events and carries its leaf in the account's tree.
  std::set<std::string> leaves;
  for (size_t k = 0; k < history.size(); ++k) {
    EXPECT_EQ(history[k]["format"], 2) << k;
    EXPECT_EQ(history[k]["nth"], static_cast<int64_t>(k + 1)) << k;
    const std::string leaf = history[k]["leaf_hash"].get<std::string>();
    EXPECT_EQ(leaf.size(), 64u) << k;
    EXPECT_EQ(leaf.find_first_not_of("0123456789abcdef"), std::string::npos) << leaf;
    leaves.insert(leaf);
  }
  EXPECT_EQ(leaves.size(), history.size());

  json outbox = Ok({"outbox", "list", "--account", acct});
  ASSERT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox[0]["to"], "+14155552671");
  EXPECT_EQ(outbox[0]["from"], "12345");
  EXPECT_EQ(outbox[0]["state"], "pending");

  json status = Ok({"status", "show", "--account", acct, "--phone", "(415) 555-2671"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["status"], "opted_in");
  EXPECT_EQ(status[0]["source"], "keyword");

  EXPECT_EQ(Exec({"ledger", "verify", "--account", acct}).exit_code, 0);

  // Tampering with a stored event that is in the tree (`ledger head` integrates and signs) is
  // detected where the events first disagree with a stored hash: here the tree of 3 events
  // (an event of format 2 has no hash of its own to name it by).
  EXPECT_EQ(Ok({"ledger", "head", "--account", acct})["size"], 3);
  Sql("DROP TRIGGER events_unchangeable; UPDATE events SET evidence = "
      "'{\"type\":\"keyword\",\"body\":\"YES\"}' WHERE seq = 2");
  CliRun verify = Exec({"ledger", "verify", "--account", acct});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_EQ(verify.Json()["first_bad_event"], 3);
  EXPECT_NE(verify.err.find("the stored tree of 3 events does not match the events' root"),
            std::string::npos)
      << verify.err;
}

TEST_F(Cli, ProviderRetryChangesNothing) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  json first = Ok({"sms", "receive", "--from", "+15005550006", "--to", "+15551234567", "--body",
                   "STOP", "--message-id", "SMdup"});
  json again = Ok({"sms", "receive", "--from", "+15005550006", "--to", "+15551234567", "--body",
                   "STOP", "--message-id", "SMdup"});
  EXPECT_EQ(again["duplicate"], true);
  EXPECT_EQ(again["intent"], first["intent"]);
  EXPECT_EQ(again["replies"], first["replies"]);
  EXPECT_EQ(Ok({"history", "--account", acct, "--phone", "+15005550006"}).size(), 1u);
  EXPECT_EQ(Ok({"outbox", "list", "--account", acct}).size(), 1u);
}

TEST_F(Cli, StopAllOptsOutOfEveryNumberWithOneReply) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  Ok({"number", "add", "--account", acct, "--number", "+15551234568"});
  for (const char* to : {"+15551234567", "+15551234568"}) {
    Ok({"sms", "receive", "--from", "+14155552671", "--to", to, "--body", "YES"});
  }
  json all = Ok(
      {"sms", "receive", "--from", "+14155552671", "--to", "+15551234568", "--body", "Stop all"});
  EXPECT_EQ(all["intent"], "opt_out_all");
  EXPECT_EQ(all["transitions"].size(), 2u);
  EXPECT_EQ(all["replies"].size(), 1u);
  for (const json& s : Ok({"status", "show", "--account", acct, "--phone", "+14155552671"})) {
    EXPECT_EQ(s["status"], "opted_out");
  }
}

TEST_F(Cli, AddOnsGateSmsFeatures) {
  const std::string bare = NewAccount("");
  CliRun r = Exec({"number", "add", "--account", bare, "--number", "+15551234567"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("Marketing SMS Access"), std::string::npos) << r.err;

  const std::string no_short = NewAccount("marketing_sms_access");
  r = Exec({"number", "add", "--account", no_short, "--number", "12345", "--kind", "short_code"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("Short Code"), std::string::npos) << r.err;
}

// `sms send` queues a message only when the recipient's consent allows it; a refusal says why
// (exit code 3) and queues nothing; an idempotency key queues a message once.
TEST_F(Cli, ANumberAddedWithDoubleOptInWaitsForTheContactsYes) {
  const std::string acct = NewAccount("marketing_sms_access");
  json number =
      Ok({"number", "add", "--account", acct, "--number", "+15551234567", "--double-opt-in"});
  EXPECT_EQ(number["double_opt_in"], true);
  json set = Ok({"status", "set", "--account", acct, "--phone", "+14155552671", "--number",
                 "+15551234567", "--status", "opted_in", "--attest", "--legal-basis", "consent",
                 "--explanation", "signed up in the shop"});
  EXPECT_EQ(set["status_after"], "pending_confirmation") << set.dump();
  CliRun r = Exec({"sms", "send", "--account", acct, "--to", "+14155552671", "--from",
                   "+15551234567", "--body", "Sale today"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("pending_confirmation"), std::string::npos) << r.err;
  json yes = Ok({"sms", "receive", "--from", "+14155552671", "--to", "+15551234567", "--body",
                 "YES", "--message-id", "yes-1"});
  EXPECT_EQ(yes["status_after"], "opted_in") << yes.dump();
}

TEST_F(Cli, SmsSendQueuesOnlyWhatConsentAllows) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  const std::vector<std::string> send = {"sms",    "send",         "--account", acct,
                                         "--to",   "+14155552671", "--from",    "+15551234567",
                                         "--body", "Sale today"};
  CliRun r = Exec(send);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("not_opted_in"), std::string::npos) << r.err;
  std::vector<std::string> transactional = send;
  transactional.insert(transactional.end(), {"--purpose", "transactional"});
  EXPECT_EQ(Ok(transactional)["state"], "queued");

  Ok({"status", "set", "--account", acct, "--phone", "+14155552671", "--number", "+15551234567",
      "--status", "opted_in", "--attest", "--legal-basis", "consent", "--explanation",
      "signed up in the shop"});
  std::vector<std::string> keyed = send;
  keyed.insert(keyed.end(), {"--idempotency-key", "sale-1", "--send-at", "2099-01-01T09:00:00Z"});
  r = Exec(keyed);
  EXPECT_EQ(r.exit_code, 2) << r.err;  // more than 30 days ahead
  const std::time_t in_an_hour = std::time(nullptr) + 3600;
  std::tm tm{};
  gmtime_r(&in_an_hour, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  keyed.back() = when;
  json first = Ok(keyed);
  EXPECT_EQ(first["state"], "scheduled");
  EXPECT_EQ(first["purpose"], "marketing");
  EXPECT_EQ(Ok(keyed)["id"], first["id"]);
  EXPECT_EQ(Ok({"outbox", "list", "--account", acct}).size(), 2u);

  Ok({"sms", "receive", "--from", "+14155552671", "--to", "+15551234567", "--body", "STOP",
      "--message-id", "SM9"});
  r = Exec(transactional);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("opted_out"), std::string::npos) << r.err;
}

// Text that is not UTF-8 (a terminal in Latin-1) is refused before anything is stored: a
// contact stored with such a name would make every later listing fail.
TEST_F(Cli, ArgumentsThatAreNotUtf8AreRefusedAndChangeNothing) {
  const std::string acct = NewAccount("marketing_sms_access");
  CliRun r =
      Exec({"contact", "add", "--account", acct, "--phone", "+14155550199", "--name", "S\xF8ren"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not UTF-8"), std::string::npos) << r.err;
  json list = Ok({"contact", "list", "--account", acct});
  EXPECT_TRUE(list.empty()) << list.dump();
  Ok({"contact", "add", "--account", acct, "--phone", "+14155550199", "--name", "S\xC3\xB8ren"});
}

TEST_F(Cli, ManualOptInNeedsAttestationLegalBasisAndExplanation) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  const std::vector<std::string> base = {"status",   "set",          "--account", acct,
                                         "--phone",  "+14155552671", "--number",  "+15551234567",
                                         "--status", "opted_in"};
  CliRun r = Exec(base);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("attest"), std::string::npos);
  auto with = base;
  with.insert(with.end(), {"--attest", "--legal-basis", "gut_feeling", "--explanation", "x"});
  r = Exec(with);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("gut_feeling"), std::string::npos);
  with = base;
  with.insert(with.end(), {"--attest", "--legal-basis", "existing_customer", "--explanation",
                           "Bought a bike in store, ticked the SMS box"});
  json ok = Ok(with);
  EXPECT_EQ(ok["status_after"], "opted_in");
  EXPECT_EQ(ok["event"]["evidence"]["legal_basis"], "existing_customer");
  EXPECT_TRUE(ok["replies"].empty());  // long code without opt-in confirmations
  // Refusals changed nothing: one event in the ledger.
  EXPECT_EQ(Ok({"history", "--account", acct, "--phone", "+14155552671"}).size(), 1u);
}

// "customer called and asked us to stop": recorded on the contact's behalf, it is their own
// opt-out, so a later staff opt-in (manual or import) is refused; only their START lifts it.
// Received three weeks earlier, it is accepted, flagged late and listed by `compliance
// revocations`.
TEST_F(Cli, AnOptOutOnTheContactsBehalfBindsStaffAndIsListedWhenLate) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  const std::vector<std::string> base = {"status",  "set",          "--account", acct,
                                         "--phone", "+14155552671", "--number",  "+15551234567"};
  auto opt_in = base;
  opt_in.insert(opt_in.end(), {"--status", "opted_in", "--attest", "--legal-basis", "consent",
                               "--explanation", "web form"});
  Ok(opt_in);
  const auto now = std::chrono::system_clock::now() - std::chrono::hours(24 * 21);
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  char received[32];
  std::strftime(received, sizeof received, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  auto on_behalf = base;
  on_behalf.insert(
      on_behalf.end(),
      {"--status", "opted_out", "--on-behalf-of-contact", "--channel", "phone", "--received-at",
       received, "--explanation", "customer called and asked us to stop", "--actor", "user:alice"});
  json out = Ok(on_behalf);
  EXPECT_EQ(out["event"]["source"], "contact_request");
  EXPECT_EQ(out["event"]["evidence"]["late"], true);
  EXPECT_GT(out["event"]["evidence"]["business_days"].get<int64_t>(), 10);
  for (const char* source : {"manual", "import"}) {
    auto again = opt_in;
    again.insert(again.end(), {"--source", source});
    CliRun r = Exec(again);
    EXPECT_EQ(r.exit_code, 3) << source << ": " << r.err;  // refused by a rule
    EXPECT_NE(r.err.find("opted out themselves"), std::string::npos) << r.err;
  }
  json late = Ok({"compliance", "revocations", "--account", acct, "--late"});
  ASSERT_EQ(late["items"].size(), 1u) << late;
  EXPECT_EQ(late["items"][0]["channel"], "phone");
  CliRun text = Exec({"compliance", "revocations", "--account", acct}, /*json_output=*/false);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("LATE"), std::string::npos) << text.out;
  // Bad input: no channel, a channel without the flag, an opt-in on the contact's behalf.
  auto no_channel = base;
  no_channel.insert(no_channel.end(),
                    {"--status", "opted_out", "--on-behalf-of-contact", "--explanation", "x"});
  EXPECT_EQ(Exec(no_channel).exit_code, 2);
  auto stray = base;
  stray.insert(stray.end(), {"--status", "opted_out", "--channel", "phone"});
  EXPECT_EQ(Exec(stray).exit_code, 2);
  auto in_behalf = base;
  in_behalf.insert(in_behalf.end(), {"--status", "opted_in", "--on-behalf-of-contact", "--channel",
                                     "phone", "--explanation", "x"});
  EXPECT_EQ(Exec(in_behalf).exit_code, 2);
  EXPECT_EQ(Ok({"history", "--account", acct, "--phone", "+14155552671"}).size(), 2u);
  // The contact's own START opts them back in.
  Ok({"sms", "receive", "--from", "+14155552671", "--to", "+15551234567", "--body", "START"});
  json shown = Ok({"status", "show", "--account", acct, "--phone", "+14155552671"});
  EXPECT_EQ(shown[0]["status"], "opted_in");
  EXPECT_EQ(Ok({"ledger", "verify", "--account", acct})["ok"], true);
}

TEST_F(Cli, InvalidPhoneIsNamedInTheError) {
  const std::string acct = NewAccount("marketing_sms_access");
  CliRun r = Exec({"contact", "add", "--account", acct, "--phone", "12ab"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("12ab"), std::string::npos) << r.err;
}

TEST_F(Cli, ContactsAreStoredInE164AndListed) {
  const std::string acct = NewAccount("marketing_sms_access");
  json c = Ok({"contact", "add", "--account", acct, "--phone", "(415) 555-2671", "--name", "Ada"});
  EXPECT_EQ(c["phone"], "+14155552671");
  EXPECT_EQ(Exec({"contact", "add", "--account", acct, "--phone", "+1 415 555 2671"}).exit_code, 5);
  json list = Ok({"contact", "list", "--account", acct, "--search", "ada"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "Ada");
}

TEST_F(Cli, RebuildRestoresStatusesFromTheLedger) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  Ok({"sms", "receive", "--from", "+14155552671", "--to", "+15551234567", "--body", "START"});
  Sql("UPDATE statuses SET status = 'opted_out'");
  CliRun bad = Exec({"ledger", "verify", "--account", acct});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.Json()["status_mismatches"], 1);
  Ok({"ledger", "rebuild", "--account", acct});
  EXPECT_EQ(Exec({"ledger", "verify", "--account", acct}).exit_code, 0);
}

TEST_F(Cli, SegmentsCommand) {
  json s = Ok({"segments", std::string(161, 'a')});
  EXPECT_EQ(s["encoding"], "GSM-7");
  EXPECT_EQ(s["segments"], 2);
  EXPECT_EQ(s["per_segment"], 153);
  s = Ok({"segments", "Hej 😀"});
  EXPECT_EQ(s["encoding"], "UCS-2");
}

TEST_F(Cli, HumanReadableOutputByDefault) {
  const std::string acct = NewAccount("marketing_sms_access");
  Ok({"number", "add", "--account", acct, "--number", "+15551234567"});
  CliRun r =
      Exec({"sms", "receive", "--from", "+14155552671", "--to", "+15551234567", "--body", "HELP"},
           /*json_output=*/false);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("intent: help"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reply queued"), std::string::npos) << r.out;
}

}  // namespace
