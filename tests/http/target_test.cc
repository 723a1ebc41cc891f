// SplitTarget: the request target into path and query, as handlers see them.
#include "http/target.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "providers/webhook.h"

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(SplitTarget, DecodesThePathAndTheQuery) {
  HttpRequest req;
  ASSERT_TRUE(SplitTarget("/v1/consent?phone=%2B4520123456&number=+1%20555&flag&&empty=", req).ok());
  EXPECT_EQ(req.path, "/v1/consent");
  EXPECT_EQ(req.query, (Params{{"phone", "+4520123456"}, {"number", " 1 555"}, {"flag", ""},
                               {"empty", ""}}));
}

TEST(SplitTarget, PathKeepsPlusAndEscapesItCannotDecode) {
  HttpRequest req;
  ASSERT_TRUE(SplitTarget("/a+b/%41%4/%zz%", req).ok());
  EXPECT_EQ(req.path, "/a+b/A%4/%zz%");
  EXPECT_TRUE(req.query.empty());
}

TEST(SplitTarget, ReplacesEarlierParameters) {
  HttpRequest req;
  req.query = {{"stale", "1"}};
  ASSERT_TRUE(SplitTarget("/x", req).ok());
  EXPECT_TRUE(req.query.empty());
  ASSERT_TRUE(SplitTarget("/x?a=1", req).ok());
  EXPECT_EQ(req.query, (Params{{"a", "1"}}));
  EXPECT_FALSE(SplitTarget("/x?a=%G1", req).ok());
  EXPECT_TRUE(req.query.empty());
  EXPECT_EQ(req.path, "/x");
}

TEST(SplitTarget, BadEscapesInTheQueryAreErrorsNamingTheProblem) {
  HttpRequest req;
  Status s = SplitTarget("/x?phone=%ZZ", req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "malformed query string: bad %-escape in form data");
  s = SplitTarget("/x?phone=1%2", req);
  EXPECT_EQ(s.message(), "malformed query string: bad %-escape in form data: truncated");
}

// The query is decoded exactly as ParseFormUrlEncoded decodes form data, errors included:
// every string of up to 4 characters from an alphabet of the interesting ones, and longer
// random ones.
TEST(SplitTarget, QueryDecodesAsParseFormUrlEncoded) {
  const std::string alphabet = "a=&%+2BfG\x80 ";
  auto check = [](const std::string& query) {
    HttpRequest req;
    const Status got = SplitTarget("/p?" + query, req);
    const auto want = ParseFormUrlEncoded(query);
    ASSERT_EQ(got.ok(), want.ok()) << query;
    if (want.ok()) {
      EXPECT_EQ(req.query, *want) << query;
    } else {
      EXPECT_EQ(got.message(), "malformed query string: " + want.status().message()) << query;
    }
    EXPECT_EQ(req.path, "/p");
  };
  std::vector<std::string> level = {""};
  for (int length = 0; length <= 4; ++length) {
    std::vector<std::string> next;
    for (const std::string& q : level) {
      check(q);
      for (const char c : alphabet) next.push_back(q + c);
    }
    level = std::move(next);
  }
  std::mt19937 rng(20261129);
  for (int i = 0; i < 20000; ++i) {
    std::string q(5 + rng() % 40, ' ');
    for (char& c : q) c = alphabet[rng() % alphabet.size()];
    check(q);
  }
}

}  // namespace
}  // namespace smsconsent
