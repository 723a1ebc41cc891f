// End-to-end tests of `smsconsent user add|list|set|remove`: the real binary on a fresh
// SQLite file, its --json output, exit codes, and what the file stores.
#include <sqlite3.h>
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

#include "cli_test_util.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace cli_test = smsconsent::cli_test;
using CliResult = cli_test::CliRun;

class UserCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_test::FreshTestDir("user-cli");
    db_ = (dir_ / "test.db").string();
    ASSERT_EQ(Run({"account", "create", "--name", "Acme"}).exit_code, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `smsconsent --db DB --json ARGS…` with `stdin_text` on standard input.
  CliResult Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    const fs::path in = dir_ / "stdin";
    std::ofstream(in, std::ios::binary) << stdin_text;
    return cli_test::RunBinary(db_, args, /*json_flag=*/true, dir_, in.string());
  }

  // One text column of the users table, by email.
  std::string StoredHash(const std::string& email) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, "SELECT password_hash FROM users WHERE email = ?1", -1, &st,
                           nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, email.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) == SQLITE_ROW) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(UserCli, AddWithAGeneratedPasswordShowsItOnceAndStoresOnlyItsHash) {
  CliResult r = Run({"user", "add", "--account", "1", "--email", "Ann@Example.com", "--name", "Ann",
                     "--role", "editor"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json u = r.Json();
  EXPECT_EQ(u["email"], "ann@example.com");
  EXPECT_EQ(u["name"], "Ann");
  EXPECT_EQ(u["role"], "editor");
  EXPECT_EQ(u["account"], 1);
  const std::string password = u.value("password", "");
  EXPECT_GE(password.size(), 12u);
  const std::string hash = StoredHash("ann@example.com");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << hash;
  EXPECT_EQ(hash.find(password), std::string::npos);
  // The list never shows a password or its hash.
  r = Run({"user", "list", "--account", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.Json().size(), 1u);
  EXPECT_FALSE(r.Json()[0].contains("password"));
  EXPECT_FALSE(r.Json()[0].contains("password_hash"));
}

TEST_F(UserCli, PasswordFromStdinFollowsTheRules) {
  CliResult r = Run({"user", "add", "--account", "1", "--email", "bob@example.com", "--role",
                     "viewer", "--password-stdin"},
                    "a long enough password\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.Json().contains("password"));
  EXPECT_EQ(r.Json()["role"], "viewer");
  r = Run({"user", "add", "--account", "1", "--email", "carl@example.com", "--role", "viewer",
           "--password-stdin"},
          "short\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("at least 12 characters"), std::string::npos) << r.err;
  r = Run({"user", "add", "--account", "1", "--email", "BOB@example.com", "--role", "editor"});
  EXPECT_EQ(r.exit_code, 5) << r.err;  // the email exists, whatever its case
  r = Run({"user", "add", "--account", "1", "--email", "dan@example.com", "--role", "admin"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Run({"user", "add", "--account", "9", "--email", "dan@example.com", "--role", "editor"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

TEST_F(UserCli, SetChangesRoleNameAndPasswordAndRemoveDeletes) {
  ASSERT_EQ(Run({"user", "add", "--account", "1", "--email", "ann@example.com", "--role", "editor"})
                .exit_code,
            0);
  const std::string before = StoredHash("ann@example.com");
  CliResult r =
      Run({"user", "set", "--email", "ANN@example.com", "--role", "viewer", "--name", "Ann B."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["role"], "viewer");
  EXPECT_EQ(r.Json()["name"], "Ann B.");
  EXPECT_EQ(StoredHash("ann@example.com"), before);
  r = Run({"user", "set", "--email", "ann@example.com", "--password-stdin"},
          "a brand new password\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["sessions_ended"], 0);
  EXPECT_EQ(r.Json()["role"], "viewer");
  EXPECT_NE(StoredHash("ann@example.com"), before);
  EXPECT_EQ(Run({"user", "set", "--email", "ann@example.com"}).exit_code, 2);
  EXPECT_EQ(Run({"user", "set", "--email", "nobody@example.com", "--role", "editor"}).exit_code, 4);

  r = Run({"user", "remove", "--email", "Ann@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["removed"], "ann@example.com");
  EXPECT_TRUE(Run({"user", "list", "--account", "1"}).Json().empty());
  EXPECT_EQ(Run({"user", "remove", "--email", "ann@example.com"}).exit_code, 4);
}

}  // namespace
