#include "app/config.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <algorithm>
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

TEST(HandlerThreads, CountOutsideTheRangeIsRefused) {
  EXPECT_THROW(ParseServeFlags({"--threads", "-1"}), CLI::ValidationError);
  EXPECT_THROW(ParseServeFlags({"--threads", "257"}), CLI::ValidationError);
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
