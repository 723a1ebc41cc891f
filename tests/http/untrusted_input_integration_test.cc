// Integration tests of what the service does with hostile input: JSON nested or repeated past
// the reader's limits, bytes that are not UTF-8 in a request's path, query, webhook fields and
// JSON strings, and control characters meant to forge log lines. The real `smsconsent serve`
// binary on 127.0.0.1 port 0: a crash shows as a dropped connection, and a later request
// checks that the process is still there.
#include <openssl/hmac.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "http/client.h"
#include "providers/webhook.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;
namespace fs = std::filesystem;

class UntrustedInput : public ::testing::Test {
 protected:
  static constexpr char kNumber[] = "+15553000001";
  static constexpr char kTwilioToken[] = "twilio-token";
  static constexpr char kKannelSecret[] = "kannel-secret";

  static void SetUpTestSuite() {
    dir_ = serve_fixture::FreshDir("untrusted");
    db_ = serve_fixture::NewDatabase(dir_, "untrusted.db");
    if (db_.empty()) return;
    json a = serve_fixture::Cli(
        db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    const std::string acme = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    number_id_ =
        serve_fixture::Cli(db_, {"number", "add", "--account", acme, "--number", kNumber})["id"];
    serve_fixture::Cli(db_, {"provider", "set", "--account", acme, "--provider", "twilio",
                             "--auth-token", kTwilioToken, "--sender", "log"});
    serve_fixture::Cli(db_, {"provider", "set", "--account", acme, "--provider", "kannel",
                             "--secret", kKannelSecret});
    serve_fixture::Cli(db_, {"provider", "set", "--account", acme, "--provider", "vonage",
                             "--signature-secret", "vonage-secret"});
    // The default body limit (1 MiB): the nested bodies below are that large on purpose.
    serve_fixture::StartServe(db_, LogPath().string(),
                              {"--threads", "2", "--shutdown-grace-ms", "2000"}, &server_);
  }

  static void TearDownTestSuite() {
    serve_fixture::StopServe(server_);
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }

  void SetUp() override {
    serve_fixture::SkipOrFailWithoutStore();
    if (IsSkipped() || HasFailure()) return;
    ASSERT_GT(server_.pid, 0) << "the server did not start";
  }

  static fs::path LogPath() { return dir_ / "serve.log"; }

  static std::string FileText(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  HttpClientResponse Send(const std::string& method, const std::string& target,
                          const std::string& body = "", Params headers = {},
                          const std::string& base = server_.base_url) {
    HttpClientRequest req;
    req.method = method;
    req.url = base + target;
    req.body = body;
    req.headers = std::move(headers);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }

  HttpClientResponse Api(const std::string& method, const std::string& target,
                         const std::string& body = "") {
    Params headers = {{"Authorization", "Bearer " + key_}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return Send(method, target, body, std::move(headers));
  }

  // The server still answers: it did not crash on what came before.
  void ExpectAlive() {
    HttpClientResponse r = Send("GET", "/healthz");
    EXPECT_EQ(r.status, 200) << "the server no longer answers; its log:\n" << FileText(LogPath());
  }

  // An answer in the API's error shape with a 4xx status; `what` names the request.
  static void ExpectClientError(const HttpClientResponse& r, const std::string& what) {
    EXPECT_GE(r.status, 400) << what << ": " << r.body;
    EXPECT_LT(r.status, 500) << what << ": " << r.body;
    const json j = json::parse(r.body, nullptr, false);
    const bool shaped = j.is_object() && j.contains("error") && j["error"].is_object();
    EXPECT_TRUE(shaped) << what << ": not in the error shape: " << r.body;
    if (!shaped) return;
    EXPECT_TRUE(j["error"].contains("code") && j["error"]["code"].is_string())
        << what << ": " << r.body;
    EXPECT_TRUE(j["error"].contains("message") && j["error"]["message"].is_string())
        << what << ": " << r.body;
  }

  static std::string ErrorMessage(const HttpClientResponse& r) {
    const json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object() ||
        !j["error"].contains("message") || !j["error"]["message"].is_string()) {
      return "";
    }
    return j["error"]["message"].get<std::string>();
  }

  // `depth` arrays, each holding the next: [[[…]]].
  static std::string NestedArrays(size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  }

  // A Twilio webhook signed as Twilio signs it: HMAC-SHA1 of the URL and the sorted
  // parameters, with the raw (decoded) values.
  HttpClientResponse TwilioWebhook(const Params& params) {
    const std::string signature =
        serve_fixture::TwilioSignature(kTwilioToken, server_.base_url + "/webhooks/twilio", params);
    return Send(
        "POST", "/webhooks/twilio", serve_fixture::Form(params),
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}});
  }

  static inline fs::path dir_;
  static inline std::string db_, key_;
  static inline int64_t number_id_ = 0;
  static inline serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

// ---- JSON nested or repeated past the reader's limits ----

// The Vonage Messages API parser is reached before routing and signatures: no account or
// secret is needed to send this.
TEST_F(UntrustedInput, VonageBodyNestedTooDeepIs400AndTheServerLivesOn) {
  const std::string body =
      R"({"message_uuid":"aaaaaaaa-0000-4000-8000-000000000001","channel":"sms","status":)" +
      NestedArrays(80'000) + "}";
  HttpClientResponse r =
      Send("POST", "/webhooks/vonage", body, {{"Content-Type", "application/json"}});
  ExpectClientError(r, "deep Vonage body");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("nested deeper than 64 levels"), std::string::npos) << r.body;
  ExpectAlive();
}

TEST_F(UntrustedInput, NumberPatchNestedTooDeepIs400AndTheServerLivesOn) {
  for (const char* field : {"keywords", "replies"}) {
    const std::string body = std::string("{\"") + field + "\":" + NestedArrays(400'000) + "}";
    ASSERT_LT(body.size(), 1u << 20);
    HttpClientResponse r = Api("PATCH", "/v1/numbers/" + std::to_string(number_id_), body);
    ExpectClientError(r, field);
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_NE(ErrorMessage(r).find("nested deeper than 64 levels"), std::string::npos) << r.body;
    ExpectAlive();
    if (HasFailure()) return;
  }
}

TEST_F(UntrustedInput, JsonBodyNestedToTheLimitIsStillRead) {
  // 64 levels: the body object and 63 arrays inside it. The reader takes it, so what is refused
  // is the member no route reads.
  const std::string body = "{\"phone\":\"+14155550101\",\"extra\":" + NestedArrays(63) + "}";
  HttpClientResponse r = Api("POST", "/v1/contacts", body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorMessage(r), "unknown field 'extra'");
  const std::string deeper = "{\"phone\":\"+14155550102\",\"extra\":" + NestedArrays(64) + "}";
  r = Api("POST", "/v1/contacts", deeper);
  ExpectClientError(r, "65 levels");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("nested deeper than 64 levels"), std::string::npos) << r.body;
}

TEST_F(UntrustedInput, JsonBodyWithTooManyValuesIs400) {
  std::string values = "0";
  for (int i = 1; i < 100'001; ++i) values += ",0";
  HttpClientResponse r =
      Api("POST", "/v1/contacts", "{\"phone\":\"+14155550103\",\"extra\":[" + values + "]}");
  ExpectClientError(r, "many values");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("more than 100000 values"), std::string::npos) << r.body;
  // Nothing was created.
  const json page =
      json::parse(Api("GET", "/v1/contacts?phone=%2B14155550103").body, nullptr, false);
  EXPECT_EQ(page["items"].size(), 0u) << page.dump();
}

// ---- Text that is not UTF-8 ----

// A message id, sender or receiver that is not UTF-8 is refused before anything is stored, so
// the message list (and the web page's Activity view that reads it) keeps working.
TEST_F(UntrustedInput, WebhookFieldsThatAreNotUtf8AreRefusedAndMessagesStillList) {
  HttpClientResponse r = TwilioWebhook(
      {{"From", "+14155550200"}, {"To", kNumber}, {"Body", "START"}, {"MessageSid", "SM\xFF\xFE"}});
  ExpectClientError(r, "Twilio MessageSid SM%FF%FE");
  EXPECT_EQ(r.status, 400);

  r = Send("GET",
           "/webhooks/kannel?from=%2B14155550201&to=%2B15553000001&text=START&id=k-%ff"
           "&secret=" +
               std::string(kKannelSecret));
  ExpectClientError(r, "Kannel id=k-%ff");
  EXPECT_EQ(r.status, 400);

  r = TwilioWebhook(
      {{"From", "+1415555\xFF"}, {"To", kNumber}, {"Body", "START"}, {"MessageSid", "SMok-1"}});
  ExpectClientError(r, "Twilio From with %FF");

  r = TwilioWebhook({{"From", "+14155550203"},
                     {"To", "+1555300\xFF"},
                     {"Body", "START"},
                     {"MessageSid", "SMok-2"}});
  ExpectClientError(r, "Twilio To with %FF");

  r = Api("GET", "/v1/messages");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body, nullptr, false).is_object()) << r.body;
  ExpectAlive();
}

// PostgreSQL's text ends at a NUL, so text the service stores holds none: an API body with
// U+0000 in a string is refused (one store would keep "a", the other "a\0b"), and a message
// body's NUL is kept as U+FFFD, as a byte that is not UTF-8 is.
TEST_F(UntrustedInput, NulInStoredTextIsRefusedOrReplaced) {
  HttpClientResponse r =
      Api("POST", "/v1/contacts", R"({"phone":"+14155550230","name":"a\u0000b"})");
  ExpectClientError(r, "name with U+0000");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("U+0000"), std::string::npos) << r.body;
  r = Api("POST", "/v1/contacts", R"({"phone":"+14155550230","properties":{"c\u0000ty":"x"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  const json page =
      json::parse(Api("GET", "/v1/contacts?phone=%2B14155550230").body, nullptr, false);
  EXPECT_EQ(page["items"].size(), 0u) << page.dump();

  r = Send("GET",
           "/webhooks/kannel?from=%2B14155550231&to=%2B15553000001&text=hi%00there&id=k-nul"
           "&secret=" +
               std::string(kKannelSecret));
  EXPECT_EQ(r.status, 200) << r.body;
  const json messages = json::parse(Api("GET", "/v1/messages").body, nullptr, false);
  bool found = false;
  for (const json& m : messages.value("items", json::array())) {
    if (m.value("provider_message_id", "") != "k-nul") continue;
    found = true;
    EXPECT_EQ(m.value("body", ""), "hi\xEF\xBF\xBDthere") << m.dump();
  }
  EXPECT_TRUE(found) << messages.dump();
  ExpectAlive();
}

// A bulk job's idempotency key is stored with the job: a header that is not UTF-8 is refused.
TEST_F(UntrustedInput, IdempotencyKeyThatIsNotUtf8Is400) {
  const std::string body = R"({"status":"opted_out","number":"+15553000001","ids":[1]})";
  HttpClientResponse r = Send("POST", "/v1/bulk/subscriptions", body,
                              {{"Authorization", "Bearer " + key_},
                               {"Content-Type", "application/json"},
                               {"Idempotency-Key", "job-\xFF\xFE"}});
  ExpectClientError(r, "Idempotency-Key job-\\xFF");
  EXPECT_EQ(r.status, 400);
}

// Kannel hands over a message's text in the charset it names (UCS-2 as UTF-16BE bytes): the
// webhook's query is the one that may carry bytes that are not UTF-8.
TEST_F(UntrustedInput, KannelTextInItsOwnCharsetStillArrives) {
  HttpClientResponse r =
      Send("GET",
           "/webhooks/kannel?from=%2B14155550210&to=%2B15553000001&text=%00S%00T%00A%00R%00T"
           "&charset=UTF-16BE&coding=2&id=k-ucs2&secret=" +
               std::string(kKannelSecret));
  EXPECT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(
      Api("GET", "/v1/consent?phone=%2B14155550210&number=%2B15553000001").body, nullptr, false);
  EXPECT_EQ(answer.value("status", ""), "opted_in") << answer.dump();
}

// JSON text is read as UTF-8; a string that is not is refused with the body.
TEST_F(UntrustedInput, JsonStringsThatAreNotUtf8Are400) {
  HttpClientResponse r =
      Api("POST", "/v1/contacts", "{\"phone\":\"+14155550220\",\"name\":\"Ann \xFF\"}");
  ExpectClientError(r, "name with \\xFF");
  EXPECT_EQ(r.status, 400);
}

// A misspelt member is refused by name, with the member it is likely to mean, and nothing
// changes; the same body spelt right is taken.
TEST_F(UntrustedInput, PatchingANumberWithAMisspeltFieldIs400NamingIt) {
  const std::string path = "/v1/numbers/" + std::to_string(number_id_);
  HttpClientResponse r = Api("PATCH", path, R"({"opt_in_confimation":true})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorMessage(r),
            "unknown field 'opt_in_confimation' (did you mean 'opt_in_confirmation'?)");
  EXPECT_EQ(json::parse(Api("GET", path).body, nullptr, false).value("opt_in_confirmation", true),
            false);

  r = Api("PATCH", path, R"({"keywords":{"opt_inn":["GO"]}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorMessage(r), "unknown field 'keywords.opt_inn' (did you mean 'keywords.opt_in'?)");
  r = Api("PATCH", path, R"({"replies":{"stop":"Bye"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorMessage(r), "unknown field 'replies.stop'");

  r = Api("PATCH", path, R"({"opt_in_confirmation":false,"keywords":{"opt_in":["GO"]}})");
  EXPECT_EQ(r.status, 200) << r.body;
}

// Every route that takes a JSON body, as the served /openapi.json lists them, refuses a member
// it does not declare with 400 naming it, at the top and inside each object of a fixed shape,
// before it looks anything up; and the document says so (additionalProperties: false). A route
// added with a body is covered by this test without a line of its own.
TEST_F(UntrustedInput, EveryJsonBodyRefusesAnUnknownFieldByName) {
  const json openapi = json::parse(Send("GET", "/openapi.json").body, nullptr, false);
  ASSERT_TRUE(openapi.is_object() && openapi.contains("paths"));
  auto resolve = [&](json schema) {
    while (schema.is_object() && schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      const std::string prefix = "#/components/schemas/";
      if (ref.rfind(prefix, 0) != 0) break;
      schema = openapi["components"]["schemas"][ref.substr(prefix.size())];
    }
    return schema;
  };
  constexpr char kUnknown[] = "zz_not_a_field";
  size_t routes = 0;
  for (const auto& [pattern, ops] : openapi["paths"].items()) {
    for (const auto& [method_lower, op] : ops.items()) {
      if (!op.is_object() || !op.contains("requestBody")) continue;
      const json content = op["requestBody"].value("content", json::object());
      if (!content.contains("application/json")) continue;
      std::string method = method_lower;
      std::transform(method.begin(), method.end(), method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      std::string target;
      std::stringstream split(pattern.substr(1));
      for (std::string segment; std::getline(split, segment, '/');) {
        target += "/" + (segment.front() == '{' ? std::to_string(number_id_) : segment);
      }
      const std::string what = method + " " + pattern;
      const json schema = resolve(content["application/json"]["schema"]);
      EXPECT_EQ(schema.value("additionalProperties", json(true)), json(false)) << what;

      HttpClientResponse r = Api(method, target, json{{kUnknown, 1}}.dump());
      EXPECT_EQ(r.status, 400) << what << ": " << r.body;
      EXPECT_EQ(ErrorMessage(r), std::string("unknown field '") + kUnknown + "'") << what;
      const json properties = schema.value("properties", json::object());
      for (const auto& [name, property] : properties.items()) {
        const json member = resolve(property);
        if (member.value("type", "") != "object" || !member.contains("properties")) continue;
        EXPECT_EQ(member.value("additionalProperties", json(true)), json(false))
            << what << " ." << name;
        r = Api(method, target, json{{name, {{kUnknown, 1}}}}.dump());
        EXPECT_EQ(r.status, 400) << what << " ." << name << ": " << r.body;
        EXPECT_EQ(ErrorMessage(r), "unknown field '" + name + "." + kUnknown + "'") << what;
      }
      ++routes;
    }
  }
  // The numbers, contacts, subscription, bulk and sign-in bodies.
  EXPECT_GE(routes, 8u);
  ExpectAlive();
}

// Every route, with %ff in each place a client controls: a path segment, a path parameter, a
// query parameter's value and name. Each answer is a 4xx in the API's error shape (an error
// message may quote the bytes; it must not turn into a 500).
TEST_F(UntrustedInput, EveryRouteAnswersBytesThatAreNotUtf8With4xxAndAJsonError) {
  const json openapi = json::parse(Send("GET", "/openapi.json").body, nullptr, false);
  ASSERT_TRUE(openapi.is_object() && openapi.contains("paths"));
  struct Route {
    std::string method, pattern;
    std::vector<std::string> query;
  };
  std::vector<Route> routes = {{"GET", "/", {}}, {"GET", "/app", {}}, {"GET", "/app/{file}", {}}};
  for (const auto& [pattern, ops] : openapi["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      if (!op.is_object()) continue;
      Route route{method, pattern, {}};
      std::transform(route.method.begin(), route.method.end(), route.method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      for (const json& p : op.value("parameters", json::array())) {
        if (p.value("in", "") == "query") route.query.push_back(p["name"]);
      }
      // Parameters every list and webhook reads, documented or not.
      for (const char* name : {"limit", "after", "id", "from", "to"}) route.query.push_back(name);
      routes.push_back(std::move(route));
    }
  }
  ASSERT_GT(routes.size(), 30u);

  size_t requests = 0;
  for (const Route& route : routes) {
    std::vector<std::string> segments;
    std::stringstream split(route.pattern.substr(1));
    for (std::string s; std::getline(split, s, '/');) segments.push_back(s);
    // Each segment in turn replaced by %ff (parameters filled with 1 elsewhere).
    auto path_with = [&](size_t bad) {
      std::string path;
      for (size_t i = 0; i < segments.size(); ++i) {
        const bool param = !segments[i].empty() && segments[i].front() == '{';
        path += "/" + (i == bad ? std::string("%ff") : param ? std::string("1") : segments[i]);
      }
      return path.empty() ? std::string("/") : path;
    };
    std::vector<std::string> targets;
    for (size_t i = 0; i < segments.size(); ++i) targets.push_back(path_with(i));
    const std::string good_path = path_with(segments.size());
    for (const std::string& q : route.query) targets.push_back(good_path + "?" + q + "=%ff");
    targets.push_back(good_path + "?%ff=1");
    targets.push_back(good_path + "?filter=%FF");
    for (const std::string& target : targets) {
      const std::string body =
          route.method == "GET" || route.method == "DELETE" ? std::string() : std::string("{}");
      HttpClientResponse r = Api(route.method, target, body);
      ExpectClientError(r, route.method + " " + target);
      ++requests;
    }
  }
  EXPECT_GT(requests, 100u);
  ExpectAlive();
}

// ---- Logs ----

// Lines of the log file at `path` once it mentions `marker` (or after 5 s): the access log is
// written when the response has been, so it can trail the client by a moment.
std::vector<std::string> LogLinesOnce(const fs::path& path, const std::string& marker) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.find(marker) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<std::string> lines;
  std::stringstream split(text);
  for (std::string line; std::getline(split, line);) lines.push_back(line);
  return lines;
}

// A request path that decodes to a line break, what looks like a log line of its own and a
// terminal escape; and one with bytes that are not UTF-8.
const char kForgedTarget[] =
    "/forge%0d%0a2099-01-01T00:00:00.000Z%20info%20FORGED%20admin%20signed%20in%0a%1b%5b2J";
const char kBadBytesTarget[] = "/bytes%ff%fe%c0";

TEST_F(UntrustedInput, ControlCharactersInARequestCannotForgeALogLine) {
  Send("GET", kForgedTarget);
  Send("GET", kBadBytesTarget);
  Send("GET", "/v1/contacts?filter=%0aFORGED", "", {{"Authorization", "Bearer " + key_}});
  Send("GET", "/healthz?marker=plain-log-done");
  const std::vector<std::string> lines = LogLinesOnce(LogPath(), "plain-log-done");
  bool seen = false;
  for (const std::string& line : lines) {
    seen = seen || line.find("FORGED") != std::string::npos;
    EXPECT_NE(line.rfind("2099-", 0), 0u) << "forged line: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_TRUE(IsValidUtf8(line)) << line;
  }
  EXPECT_TRUE(seen) << "the forged request was not logged:\n" << FileText(LogPath());
}

// With --log-json every line stays one JSON object, whatever the request held.
TEST_F(UntrustedInput, JsonLogLinesStayOneObjectEach) {
  const std::string db = serve_fixture::NewDatabase(dir_, "json-log.db");
  ASSERT_FALSE(db.empty());
  serve_fixture::Cli(db, {"account", "create", "--name", "Logs"});
  const fs::path log = dir_ / "json.log";
  serve_fixture::ServeProcess server;
  serve_fixture::StartServe(db, log.string(), {"--threads", "2", "--log-json"}, &server);
  ASSERT_FALSE(HasFatalFailure());
  Send("GET", kForgedTarget, "", {}, server.base_url);
  Send("GET", kBadBytesTarget, "", {}, server.base_url);
  Send("GET", "/healthz?marker=json-log-done", "", {}, server.base_url);
  const std::vector<std::string> lines = LogLinesOnce(log, "json-log-done");
  serve_fixture::StopServe(server);
  serve_fixture::DropDatabase(db);
  ASSERT_FALSE(lines.empty());
  bool seen = false;
  for (const std::string& line : lines) {
    seen = seen || line.find("FORGED") != std::string::npos;
    const json j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not one JSON object: " << line;
  }
  EXPECT_TRUE(seen) << "the forged request was not logged";
}

}  // namespace
}  // namespace smsconsent
