// Router: which route a (method, path) reaches, its label and parameters, 404 and 405.
#include "http/router.h"

#include <gtest/gtest.h>

#include <string>

namespace smsconsent {
namespace {

// A handler that answers with its own name, so a test can see which route was found.
Handler Named(const std::string& name) {
  return [name](const HttpRequest&, const PathParams&) {
    HttpResponse r;
    r.body = name;
    return r;
  };
}

std::string Reached(const Router::Match& m) {
  if (m.handler == nullptr) return "";
  return (*m.handler)(HttpRequest{}, m.params).body;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/healthz", Named("healthz"));
    router_.Add("GET", "/v1/contacts", Named("list"));
    router_.Add("POST", "/v1/contacts", Named("create"));
    router_.Add("GET", "/v1/contacts/{contact}", Named("get"));
    router_.Add("POST", "/v1/contacts/import", Named("import"));
    router_.Add("DELETE", "/v1/contacts/{contact}", Named("delete"));
    router_.Add("PUT", "/v1/contacts/{contact}/subscriptions/{number}", Named("put"));
    router_.AddAsync(
        "POST", "/webhooks/{provider}", [](const HttpRequest&, const PathParams&, Responder) {},
        QueryBytes::kAny);
  }
  Router router_;
};

TEST_F(RouterTest, LiteralRouteIsFoundWithItsPattern) {
  Router::Match m = router_.Find("GET", "/healthz");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(Reached(m), "healthz");
  EXPECT_EQ(m.pattern, "/healthz");
  EXPECT_TRUE(m.params.empty());
  EXPECT_TRUE(m.allow.empty());
}

TEST_F(RouterTest, ParametersAreDecodedIntoNamedValues) {
  Router::Match m = router_.Find("PUT", "/v1/contacts/42/subscriptions/7");
  EXPECT_EQ(Reached(m), "put");
  EXPECT_EQ(m.pattern, "/v1/contacts/{contact}/subscriptions/{number}");
  EXPECT_EQ(m.params, (PathParams{{"contact", "42"}, {"number", "7"}}));
}

TEST_F(RouterTest, TheFirstRouteAddedWinsWhenAParameterAndALiteralBothMatch) {
  // GET /v1/contacts/{contact} was added before POST /v1/contacts/import: a GET of "import"
  // is a contact id, a POST reaches the import.
  Router::Match get = router_.Find("GET", "/v1/contacts/import");
  EXPECT_EQ(Reached(get), "get");
  EXPECT_EQ(get.params.at("contact"), "import");
  EXPECT_EQ(Reached(router_.Find("POST", "/v1/contacts/import")), "import");
}

TEST_F(RouterTest, RepeatedAndTrailingSlashesDoNotMatter) {
  EXPECT_EQ(Reached(router_.Find("GET", "//v1///contacts/")), "list");
  EXPECT_EQ(Reached(router_.Find("GET", "/healthz/")), "healthz");
}

TEST_F(RouterTest, HeadReachesTheGetRoute) {
  Router::Match m = router_.Find("HEAD", "/v1/contacts/5");
  EXPECT_EQ(Reached(m), "get");
  EXPECT_EQ(m.pattern, "/v1/contacts/{contact}");
}

TEST_F(RouterTest, AsyncRouteIsFound) {
  Router::Match m = router_.Find("POST", "/webhooks/twilio");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.async, nullptr);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/webhooks/{provider}");
  EXPECT_EQ(m.params.at("provider"), "twilio");
}

TEST_F(RouterTest, UnknownPathIs404WithoutAPattern) {
  for (const char* path :
       {"/", "", "/nope", "/v1", "/v1/contacts/1/subscriptions", "/v1/contacts/1/subscriptions/2/3",
        "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z"}) {
    Router::Match m = router_.Find("GET", path);
    EXPECT_EQ(m.status, 404) << path;
    EXPECT_EQ(m.handler, nullptr) << path;
    EXPECT_EQ(m.async, nullptr) << path;
    EXPECT_EQ(m.pattern, "") << path;
    EXPECT_TRUE(m.allow.empty()) << path;
  }
}

TEST_F(RouterTest, KnownPathWithAnotherMethodIs405ListingEveryMethod) {
  Router::Match m = router_.Find("PATCH", "/v1/contacts");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(m.pattern, "/v1/contacts");
  // Every pattern that matches counts; the label is the last of them.
  Router::Match both = router_.Find("PATCH", "/v1/contacts/import");
  EXPECT_EQ(both.status, 405);
  EXPECT_EQ(both.allow, "GET, POST, DELETE");
  EXPECT_EQ(both.pattern, "/v1/contacts/{contact}");
  Router::Match head = router_.Find("HEAD", "/webhooks/x");
  EXPECT_EQ(head.status, 405);
  EXPECT_EQ(head.allow, "POST");
}

TEST_F(RouterTest, AMatchingMethodAfterAWrongOneIsFound) {
  Router::Match m = router_.Find("DELETE", "/v1/contacts/9");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(Reached(m), "delete");
  EXPECT_TRUE(m.allow.empty());
  EXPECT_EQ(m.pattern, "/v1/contacts/{contact}");
}

TEST_F(RouterTest, AMatchSaysWhatTheRouteTakesInItsQuery) {
  EXPECT_EQ(router_.Find("GET", "/v1/contacts").query, QueryBytes::kUtf8);
  EXPECT_EQ(router_.Find("POST", "/webhooks/kannel").query, QueryBytes::kAny);
}

TEST(SplitPath, DropsEmptySegments) {
  EXPECT_EQ(SplitPath("/a//b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(SplitPath("/").empty());
}

}  // namespace
}  // namespace smsconsent
