// The API's response writers and body reader: whatever a request sent, an answer is written
// and a body is read within the JSON limits.
#include "http/api_util.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace smsconsent {
namespace {

TEST(ErrorResponse, AMessageQuotingBytesThatAreNotUtf8IsStillWritten) {
  HttpResponse r;
  ASSERT_NO_THROW(r = ErrorResponse(404, "NOT_FOUND", "no route for /\xff\xfe"));
  EXPECT_EQ(r.status, 404);
  const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(j["error"]["message"], "no route for /\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ErrorResponse, UnauthenticatedAsksForTheBearerKey) {
  const HttpResponse r = ErrorResponse(Status(StatusCode::kUnauthenticated, "missing API key"));
  EXPECT_EQ(r.status, 401);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
}

// Text stored before the service checked it (a message id from an older version) is answered
// with U+FFFD rather than failing the whole list.
TEST(JsonResponse, StringsThatAreNotUtf8AreWrittenWithReplacementCharacters) {
  HttpResponse r;
  ASSERT_NO_THROW(r = JsonResponse(200, {{"items", {{{"message_id", "SM\xff"}}}}}));
  EXPECT_EQ(r.body, "{\"items\":[{\"message_id\":\"SM\xEF\xBF\xBD\"}]}");
}

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
