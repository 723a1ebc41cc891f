// The API's body reader: a body is read within the JSON limits.
#include "http/api_util.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace smsconsent {
namespace {

TEST(ParseJsonBody, ReadsWithinTheJsonLimits) {
  HttpRequest req;
  req.body = R"({"name":"Ann"})";
  auto ok = ParseJsonBody(req);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["name"], "Ann");

  req.body = "{\"a\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto deep = ParseJsonBody(req);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.status().message(), "request body: JSON nested deeper than 64 levels");

  req.body = "{\"a\":1,";
  EXPECT_EQ(ParseJsonBody(req).status().message().rfind("request body: not valid JSON at byte", 0),
            0u);
  req.body = "[1]";
  EXPECT_EQ(ParseJsonBody(req).status().message(), "request body must be a JSON object");
  req.body = "";
  EXPECT_EQ(ParseJsonBody(req).status().message(), "request body must be a JSON object");
}

}  // namespace
}  // namespace smsconsent
