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
  const JsonFields fields = {{"name"}, {"a"}};
  HttpRequest req;
  req.body = R"({"name":"Ann"})";
  auto ok = ParseJsonBody(req, fields);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["name"], "Ann");

  req.body = "{\"a\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto deep = ParseJsonBody(req, fields);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.status().message(), "request body: JSON nested deeper than 64 levels");

  req.body = "{\"a\":1,";
  EXPECT_EQ(ParseJsonBody(req, fields)
                .status()
                .message()
                .rfind("request body: not valid JSON at byte", 0),
            0u);
  req.body = "[1]";
  EXPECT_EQ(ParseJsonBody(req, fields).status().message(), "request body must be a JSON object");
  req.body = "";
  EXPECT_EQ(ParseJsonBody(req, fields).status().message(), "request body must be a JSON object");
}

// A member no route declares is refused by name rather than ignored, with the declared name it
// is closest to when that is a likely misspelling.
TEST(ParseJsonBody, RefusesAnUnknownFieldNamingIt) {
  const JsonFields fields = {{"business_name"}, {"opt_in_confirmation"}, {"languages"}};
  HttpRequest req;
  req.body = R"({"business_name":"Acme","opt_in_confimation":true})";
  auto r = ParseJsonBody(req, fields);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "unknown field 'opt_in_confimation' (did you mean 'opt_in_confirmation'?)");

  req.body = R"({"colour":"red"})";
  EXPECT_EQ(ParseJsonBody(req, fields).status().message(), "unknown field 'colour'");
  req.body = R"({"Languages":["en"]})";
  EXPECT_EQ(ParseJsonBody(req, fields).status().message(),
            "unknown field 'Languages' (did you mean 'languages'?)");

  req.body = R"({"business_name":null,"languages":["en"],"opt_in_confirmation":false})";
  EXPECT_TRUE(ParseJsonBody(req, fields).ok());
}

TEST(ParseJsonBody, RefusesAnUnknownMemberOfAFixedShapeObjectByItsPath) {
  const JsonFields fields = {{"keywords", {{"opt_in"}, {"opt_out"}, {"free_text"}}}, {"metadata"}};
  HttpRequest req;
  req.body = R"({"keywords":{"opt_in":["GO"],"opt_inn":["GO"]}})";
  EXPECT_EQ(ParseJsonBody(req, fields).status().message(),
            "unknown field 'keywords.opt_inn' (did you mean 'keywords.opt_in'?)");
  // A member declared without members of its own holds any value.
  req.body = R"({"keywords":{"free_text":true},"metadata":{"anything":1}})";
  EXPECT_TRUE(ParseJsonBody(req, fields).ok());
  // A value of the wrong type is the handler's to refuse, with its own message.
  req.body = R"({"keywords":["STOP"]})";
  EXPECT_TRUE(ParseJsonBody(req, fields).ok());
}

TEST(CheckJsonFields, ANameFarFromEveryDeclaredOneGetsNoHint) {
  const JsonFields fields = {{"id"}, {"status"}};
  EXPECT_EQ(CheckJsonFields(nlohmann::json{{"ix", 1}}, fields).message(), "unknown field 'ix'");
  EXPECT_EQ(CheckJsonFields(nlohmann::json{{"statsu", 1}}, fields).message(),
            "unknown field 'statsu' (did you mean 'status'?)");
  EXPECT_TRUE(CheckJsonFields(nlohmann::json{{"status", 1}}, fields).ok());
}

}  // namespace
}  // namespace smsconsent
