// `smsconsent --version`: the real binary prints the CMake project version (SMSCONSENT_VERSION,
// set by CMake) and the git revision stamped at build time (cmake/stamp_revision.cmake), and
// touches no database.
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
namespace cli_test = smsconsent::cli_test;

// A short commit hash, "-dirty" when built with uncommitted changes, or "unknown" when not
// built from a git checkout.
const std::regex kRevision("[0-9a-f]{7,40}(-dirty)?|unknown");

class VersionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_test::FreshTestDir("version-cli");
    db_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string db_;
};

TEST_F(VersionCli, PrintsTheProjectVersionAndRevision) {
  cli_test::CliRun r = cli_test::RunBinary(db_, {"--version"}, false, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m, std::regex(R"(smsconsent (\S+) \(git (\S+)\)\n)")))
      << r.out;
  EXPECT_EQ(m[1].str(), SMSCONSENT_VERSION);
  EXPECT_TRUE(std::regex_match(m[2].str(), kRevision)) << m[2];
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(fs::exists(db_)) << "--version opened the database";
}

TEST_F(VersionCli, JsonIsAnObjectOfVersionAndRevision) {
  // --json after --version too: the flags' order on the command line does not matter.
  for (const auto& args :
       {std::vector<std::string>{"--version"}, std::vector<std::string>{"--version", "--json"}}) {
    cli_test::CliRun r = cli_test::RunBinary(db_, args, args.size() == 1, dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json doc = r.Json();
    ASSERT_TRUE(doc.is_object()) << r.out;
    EXPECT_EQ(doc.size(), 2u) << doc;
    EXPECT_EQ(doc.value("version", ""), SMSCONSENT_VERSION);
    EXPECT_TRUE(std::regex_match(doc.value("revision", ""), kRevision)) << doc;
  }
}

}  // namespace
