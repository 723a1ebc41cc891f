#include "app/config.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/store.h"

namespace smsconsent {
namespace {

ServeConfig ParseServeFlags(std::vector<std::string> args) {
  CLI::App app;
  ServeConfig config;
  AddServeOptions(app, config);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
  return config;
}

TEST(HandlerThreads, DefaultIsTwoPerCoreOnSqliteAtLeastFour) {
  const ServeConfig config = ParseServeFlags({});
  EXPECT_EQ(config.threads, 0);
  EXPECT_EQ(HandlerThreads(config, /*networked_store=*/false, 2), 4);
  EXPECT_EQ(HandlerThreads(config, false, 8), 16);
  EXPECT_EQ(HandlerThreads(config, false, 1), 4);
  // hardware_concurrency() may say 0 when it cannot tell.
  EXPECT_EQ(HandlerThreads(config, false, 0), 4);
}

TEST(HandlerThreads, DefaultIsSixteenOnPostgres) {
  EXPECT_EQ(HandlerThreads(ParseServeFlags({}), /*networked_store=*/true, 2), 16);
}

TEST(HandlerThreads, AnExplicitCountWinsOnEitherStore) {
  const ServeConfig config = ParseServeFlags({"--threads", "5"});
  EXPECT_EQ(HandlerThreads(config, false, 2), 5);
  EXPECT_EQ(HandlerThreads(config, true, 2), 5);
}

TEST(CommitWriters, OneOnSqliteFourOnPostgresUnlessGiven) {
  const ServeConfig defaults = ParseServeFlags({});
  EXPECT_EQ(CommitWriters(defaults, /*networked_store=*/false), 1);
  EXPECT_EQ(CommitWriters(defaults, /*networked_store=*/true), 4);
  const ServeConfig two = ParseServeFlags({"--commit-writers", "2"});
  EXPECT_EQ(CommitWriters(two, false), 2);
  EXPECT_EQ(CommitWriters(two, true), 2);
  EXPECT_THROW(ParseServeFlags({"--commit-writers", "33"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--commit-writers", "-1"}), CLI::ValidationError);
}

TEST(HandlerThreads, CountOutsideTheRangeIsRefused) {
  EXPECT_THROW(ParseServeFlags({"--threads", "-1"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--threads", "257"}), CLI::ValidationError);
}

// A settings file in the test's temporary directory, and `serve` parsed with --config FILE and
// `args`, the file applied.
class ServeConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("smsconsent-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".conf");
    AddServeOptions(app_, config_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  void Write(const std::string& text) { std::ofstream(path_) << text; }

  Status Apply(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--config", path_.string()});
    std::reverse(args.begin(), args.end());
    app_.parse(args);
    return ApplyServeConfigFile(app_);
  }

  std::filesystem::path path_;
  CLI::App app_;
  ServeConfig config_;
};

TEST_F(ServeConfigFile, SetsWhatNoFlagSets) {
  Write(
      "# comment\n"
      "listen = 0.0.0.0:9090\n"
      "public-url = https://sms.example.com\n"
      "threads = 3\n"
      "log-json = true\n"
      "dispatch = false\n"
      "outbox-poll-ms = 250\n");
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(config_.listen, "0.0.0.0:9090");
  EXPECT_EQ(config_.public_url, "https://sms.example.com");
  EXPECT_EQ(config_.threads, 3);
  EXPECT_TRUE(config_.log_json);
  EXPECT_FALSE(config_.dispatch);
  EXPECT_EQ(config_.outbox_poll_ms, 250);
  EXPECT_TRUE(config_.group_commit);  // not in the file: the default
}

TEST_F(ServeConfigFile, AFlagWinsOverTheFile) {
  Write("listen = 0.0.0.0:9090\nthreads = 3\nlog-json = true\n");
  ASSERT_TRUE(Apply({"--listen", "127.0.0.1:0", "--no-log-json"}).ok());
  EXPECT_EQ(config_.listen, "127.0.0.1:0");
  EXPECT_FALSE(config_.log_json);
  EXPECT_EQ(config_.threads, 3);
}

TEST_F(ServeConfigFile, TheEnvironmentWinsOverTheFile) {
  Write("listen = 0.0.0.0:9090\nthreads = 3\n");
  ::setenv("SMSCONSENT_LISTEN", "127.0.0.1:7070", 1);
  const Status st = Apply();
  ::unsetenv("SMSCONSENT_LISTEN");
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(config_.listen, "127.0.0.1:7070");
  EXPECT_EQ(config_.threads, 3);
}

TEST_F(ServeConfigFile, RefusesUnknownKeysSectionsAndBadValues) {
  for (const std::string text :
       {"listen = 127.0.0.1:8080\ndb = /var/lib/x.db\n", "[serve]\nlisten = 127.0.0.1:8080\n",
        "threads = 999\n", "log-json = maybe\n", "config = /etc/other.conf\n"}) {
    CLI::App app;
    ServeConfig config;
    AddServeOptions(app, config);
    Write(text);
    app.parse(std::vector<std::string>{path_.string(), "--config"});
    const Status st = ApplyServeConfigFile(app);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find(path_.string()), std::string::npos) << st.message();
  }
}

TEST_F(ServeConfigFile, AMissingFileIsRefusedWhenParsing) {
  EXPECT_THROW(Apply(), CLI::ValidationError);
}

TEST_F(ServeConfigFile, NoConfigOptionReadsNothing) {
  app_.parse(std::vector<std::string>{});
  EXPECT_TRUE(ApplyServeConfigFile(app_).ok());
  EXPECT_EQ(config_.listen, "127.0.0.1:8080");
}

TEST_F(ServeConfigFile, SetsTheResourceLimitsToo) {
  Write(
      "metrics = token\n"
      "metrics-token = 0123456789abcdef0123\n"
      "max-connections = 200\n"
      "signin-threads = 2\n"
      "signin-queue = 4\n"
      "signin-rate = 3\n");
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(config_.metrics, "token");
  EXPECT_EQ(config_.metrics_token, "0123456789abcdef0123");
  EXPECT_TRUE(CheckServeConfig(config_).ok());
  EXPECT_EQ(config_.max_connections, 200);
  EXPECT_EQ(config_.signin_threads, 2);
  EXPECT_EQ(config_.signin_queue, 4);
  EXPECT_EQ(config_.signin_rate, 3);
}

TEST(MaxConnections, DefaultIsAThousandTwentyFourOrHalfTheOpenFileLimit) {
  const ServeConfig config = ParseServeFlags({});
  EXPECT_EQ(config.max_connections, 0);
  EXPECT_EQ(MaxConnections(config, 1'048'576), 1024);
  EXPECT_EQ(MaxConnections(config, 1024), 512);
  EXPECT_EQ(MaxConnections(config, 64), 32);
  EXPECT_EQ(MaxConnections(config, 1), 1);
  EXPECT_EQ(MaxConnections(ParseServeFlags({"--max-connections", "5000"}), 1024), 5000);
  EXPECT_THROW(ParseServeFlags({"--max-connections", "-1"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--max-connections", "1000001"}), CLI::ValidationError);
}

TEST(SignInPool, SettingsAndTheirRanges) {
  const ServeConfig defaults = ParseServeFlags({});
  EXPECT_EQ(defaults.signin_threads, 1);
  EXPECT_EQ(defaults.signin_queue, 8);
  EXPECT_EQ(defaults.signin_rate, 10);
  const ServeConfig set =
      ParseServeFlags({"--signin-threads", "3", "--signin-queue", "0", "--signin-rate", "1000"});
  EXPECT_EQ(set.signin_threads, 3);
  EXPECT_EQ(set.signin_queue, 0);
  EXPECT_EQ(set.signin_rate, 1000);
  EXPECT_THROW(ParseServeFlags({"--signin-threads", "0"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--signin-threads", "17"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--signin-queue", "1025"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--signin-rate", "0"}), CLI::ValidationError);
}

TEST(ReplyMaxAges, DefaultsSettingsAndRanges) {
  const ServeConfig defaults = ParseServeFlags({});
  EXPECT_EQ(defaults.reply_max_age_s, 3600);
  EXPECT_EQ(defaults.opt_out_confirmation_max_age_s, 300);
  EXPECT_EQ(defaults.help_reply_max_age_s, 86'400);
  const ReplyMaxAges ages = ReplyMaxAgesOf(defaults);
  EXPECT_EQ(ages.reply_ms, kDefaultReplyMaxAgeMs);
  EXPECT_EQ(ages.opt_out_confirmation_ms, kDefaultOptOutConfirmationMaxAgeMs);
  EXPECT_EQ(ages.help_ms, kDefaultHelpReplyMaxAgeMs);
  EXPECT_EQ(ages.message_ms, kDefaultMessageMaxAgeMs);
  const ServeConfig set =
      ParseServeFlags({"--reply-max-age-s", "600", "--opt-out-confirmation-max-age-s", "120",
                       "--help-reply-max-age-s", "7200", "--message-max-age-s", "3600"});
  EXPECT_EQ(ReplyMaxAgesOf(set).message_ms, 3'600'000);
  EXPECT_THROW(ParseServeFlags({"--message-max-age-s", "0"}), CLI::ValidationError);
  EXPECT_EQ(ReplyMaxAgesOf(set).reply_ms, 600'000);
  EXPECT_EQ(ReplyMaxAgesOf(set).opt_out_confirmation_ms, 120'000);
  EXPECT_EQ(ReplyMaxAgesOf(set).help_ms, 7'200'000);
  EXPECT_EQ(ParseServeFlags({"--reply-max-age-s", "2592000"}).reply_max_age_s, 2'592'000);
  EXPECT_THROW(ParseServeFlags({"--reply-max-age-s", "0"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--reply-max-age-s", "2592001"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--help-reply-max-age-s", "-1"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--opt-out-confirmation-max-age-s", "0"}), CLI::ValidationError);
  // Double opt-in's window, in days.
  EXPECT_EQ(ParseServeFlags({}).confirmation_window_days, 30);
  EXPECT_EQ(ParseServeFlags({"--confirmation-window-days", "7"}).confirmation_window_days, 7);
  EXPECT_THROW(ParseServeFlags({"--confirmation-window-days", "0"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--confirmation-window-days", "366"}), CLI::ValidationError);
}

TEST_F(ServeConfigFile, ReplyMaxAgesFromTheFile) {
  Write(
      "reply-max-age-s = 1800\nopt-out-confirmation-max-age-s = 240\n"
      "help-reply-max-age-s = 43200\n");
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(config_.reply_max_age_s, 1800);
  EXPECT_EQ(config_.opt_out_confirmation_max_age_s, 240);
  EXPECT_EQ(config_.help_reply_max_age_s, 43'200);
}

TEST(Metrics, LoopbackByDefaultAndATokenModeNeedsItsToken) {
  const ServeConfig defaults = ParseServeFlags({});
  EXPECT_EQ(defaults.metrics, "loopback");
  EXPECT_TRUE(CheckServeConfig(defaults).ok());
  EXPECT_EQ(ParseServeFlags({"--metrics", "off"}).metrics, "off");
  EXPECT_THROW(ParseServeFlags({"--metrics", "public"}), CLI::ValidationError);
  const Status no_token = CheckServeConfig(ParseServeFlags({"--metrics", "token"}));
  EXPECT_EQ(no_token.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_token.message().find("--metrics-token"), std::string::npos);
  const ServeConfig token =
      ParseServeFlags({"--metrics", "token", "--metrics-token", "0123456789abcdef"});
  EXPECT_TRUE(CheckServeConfig(token).ok());
  EXPECT_THROW(ParseServeFlags({"--metrics-token", "short"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--metrics-token", "has a space in it ok"}), CLI::ValidationError);
}

TEST(IsPostgresLocation, KnowsBothSchemesAndNothingElse) {
  EXPECT_TRUE(IsPostgresLocation("postgresql://u@localhost/db"));
  EXPECT_TRUE(IsPostgresLocation("postgres://localhost/db"));
  EXPECT_FALSE(IsPostgresLocation("sqlite:/tmp/x.db"));
  EXPECT_FALSE(IsPostgresLocation("/tmp/postgresql://x.db"));
  EXPECT_FALSE(IsPostgresLocation(""));
}

}  // namespace
}  // namespace smsconsent
