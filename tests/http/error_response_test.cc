// The API's error answers: what a client is told for each kind of failure. Failures inside the
// service (a store's SQL error, a library's message, a corrupt file) are answered with a
// generic message: their text names tables, queries and hosts that are no client's business,
// and the server's log has it instead.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "http/api_util.h"

namespace smsconsent {
namespace {

using nlohmann::json;

json Body(const HttpResponse& r) { return json::parse(r.body); }

TEST(ErrorResponse, InternalErrorsSayNothingOfTheirCause) {
  const Status sql(StatusCode::kInternal,
                   "listing contacts (preparing \"SELECT c.id, c.account_id FROM contacts AS c "
                   "WHERE\"): Expression tree is too large (maximum depth 1000) (sqlite 1)");
  HttpResponse r = ErrorResponse(sql);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["error"]["code"], "INTERNAL");
  const std::string message = Body(r)["error"]["message"];
  EXPECT_EQ(message.find("SELECT"), std::string::npos) << message;
  EXPECT_EQ(message.find("sqlite"), std::string::npos) << message;
  EXPECT_FALSE(message.empty());
}

TEST(ErrorResponse, DataLossAndAnUnavailableStoreSayNothingOfTheirCause) {
  HttpResponse corrupt = ErrorResponse(Status(StatusCode::kDataLoss,
                                              "reading contact: database disk image is "
                                              "malformed (sqlite 11)"));
  EXPECT_EQ(corrupt.status, 500);
  EXPECT_EQ(Body(corrupt)["error"]["code"], "DATA_LOSS");
  EXPECT_EQ(corrupt.body.find("malformed"), std::string::npos) << corrupt.body;

  HttpResponse down = ErrorResponse(Status(
      StatusCode::kUnavailable,
      "cannot connect to PostgreSQL: connection to server at \"db.internal\" (10.0.0.7), port "
      "5432 failed: Connection refused"));
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(Body(down)["error"]["code"], "UNAVAILABLE");
  EXPECT_EQ(down.body.find("db.internal"), std::string::npos) << down.body;
  EXPECT_EQ(down.body.find("PostgreSQL"), std::string::npos) << down.body;
}

TEST(ErrorResponse, ClientErrorsKeepTheirMessage) {
  HttpResponse r = ErrorResponse(NotFound("contact 7 not found in account 1"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["error"]["message"], "contact 7 not found in account 1");
  HttpResponse bad = ErrorResponse(InvalidArgument("a filter takes at most 20 prop.NAME terms"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"]["message"], "a filter takes at most 20 prop.NAME terms");
}

}  // namespace
}  // namespace smsconsent
