// The ledger key file: created once with mode 0600, read back the same afterwards.
#include "app/ledger_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace smsconsent {
namespace {

namespace fs = std::filesystem;

class LedgerKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-ledger-key-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LedgerKeyTest, CreatesTheFileOnceWithMode0600) {
  const std::string path = (dir_ / "ledger.pem").string();
  auto first = LoadOrCreateLedgerKey(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreateLedgerKey(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->KeyId(), first->KeyId());
  // No temporary file is left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(LedgerKeyTest, ReadsAKeyWrittenElsewhere) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string path = (dir_ / "given.pem").string();
  std::ofstream(path) << key->ToPem();
  auto loaded = LoadOrCreateLedgerKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->PublicKeyRaw(), key->PublicKeyRaw());
}

TEST_F(LedgerKeyTest, RefusesAFileThatIsNotAKeyAndLeavesItAlone) {
  const std::string path = (dir_ / "garbage.pem").string();
  std::ofstream(path) << "not a key\n";
  auto loaded = LoadOrCreateLedgerKey(path);
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "not a key\n");

  const std::string big = (dir_ / "big.pem").string();
  std::ofstream(big) << std::string(kMaxLedgerKeyFileBytes + 1, 'x');
  EXPECT_EQ(LoadOrCreateLedgerKey(big).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerKeyTest, MissingDirectoryIsAFailedPrecondition) {
  auto loaded = LoadOrCreateLedgerKey((dir_ / "no-such-dir" / "ledger.pem").string());
  EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace smsconsent
