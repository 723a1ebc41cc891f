// Integration tests of the resources a client can make the server hold (docs/limits.md,
// "Resources held per client"): who may read /metrics. The real `smsconsent serve` binary, with
// its settings given as environment variables.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The port of "http://HOST:PORT".
uint16_t PortOf(const std::string& base_url) {
  return static_cast<uint16_t>(std::stoi(base_url.substr(base_url.rfind(':') + 1)));
}

// An IPv4 address of this machine other than loopback, if it has one that is up.
std::optional<std::string> NonLoopbackAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* i = all; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) found = text;
  }
  freeifaddrs(all);
  return found;
}

class Limits : public ::testing::Test {
 protected:
  void SetUp() override { serve_fixture::SkipOrFailWithoutStore(); }
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("smsconsent-limits-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = serve_fixture::NewDatabase(dir_, "serve.db");
    if (db_.empty()) return;
    json a = Cli(db_, {"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    key_ = a["api_key"];
    Cli(db_, {"number", "add", "--account", std::to_string(a["id"].get<int64_t>()), "--number",
              "+15551234567"});
  }
  static void TearDownTestSuite() {
    serve_fixture::DropDatabase(db_);
    fs::remove_all(dir_);
  }
  void TearDown() override { serve_fixture::StopServe(server_); }

  void Start(serve_fixture::ServeSetup setup, std::vector<std::string> args = {"--threads", "2"}) {
    serve_fixture::StartServe(db_, (dir_ / "serve.log").string(), args, &server_, setup);
  }

  HttpClientResponse Send(const std::string& method, const std::string& url,
                          const Headers& headers = {}, const std::string& body = "") {
    HttpClientRequest req;
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << method << " " << url << ": " << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }
  HttpClientResponse Get(const std::string& path, const Headers& headers = {}) {
    return Send("GET", server_.base_url + path, headers);
  }

  static inline fs::path dir_;
  static inline std::string db_, key_;
  serve_fixture::ServeProcess server_;
  std::unique_ptr<HttpClient> client_ = MakeBeastHttpClient();
};

// ---- /metrics: off, loopback (the default), token --------------------------------------------

TEST_F(Limits, MetricsAreForLoopbackPeersByDefault) {
  const std::optional<std::string> outside = NonLoopbackAddress();
  serve_fixture::ServeSetup setup;
  if (outside) setup.listen = "0.0.0.0:0";
  Start(setup);
  ASSERT_FALSE(HasFatalFailure());
  const std::string port = std::to_string(PortOf(server_.base_url));
  HttpClientResponse local = Send("GET", "http://127.0.0.1:" + port + "/metrics");
  EXPECT_EQ(local.status, 200) << local.body;
  EXPECT_NE(local.body.find("smsconsent_http_requests_total"), std::string::npos);
  if (!outside) GTEST_SKIP() << "this machine has no address but loopback to call from";
  HttpClientResponse remote = Send("GET", "http://" + *outside + ":" + port + "/metrics");
  EXPECT_EQ(remote.status, 403) << remote.body;
  EXPECT_EQ(remote.body.find("smsconsent_"), std::string::npos) << remote.body;
  // Only /metrics: the API answers peers anywhere.
  EXPECT_EQ(Send("GET", "http://" + *outside + ":" + port + "/healthz").status, 200);
}

TEST_F(Limits, MetricsOffIsNotFound) {
  Start({.env = {"SMSCONSENT_METRICS=off"}});
  ASSERT_FALSE(HasFatalFailure());
  HttpClientResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.body.find("smsconsent_"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(Limits, MetricsWithATokenNeedItEvenFromLoopback) {
  const std::string token = "metrics-token-0123456789abcdef";
  Start({.env = {"SMSCONSENT_METRICS=token", "SMSCONSENT_METRICS_TOKEN=" + token}});
  ASSERT_FALSE(HasFatalFailure());
  HttpClientResponse none = Get("/metrics");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.body.find("smsconsent_"), std::string::npos) << none.body;
  EXPECT_EQ(Get("/metrics", {{"Authorization", "Bearer wrong-token-0123456789abcdef"}}).status,
            401);
  EXPECT_EQ(Get("/metrics", {{"Authorization", "Bearer " + key_}}).status, 401);
  HttpClientResponse ok = Get("/metrics", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("smsconsent_http_requests_total"), std::string::npos);
}

}  // namespace
}  // namespace smsconsent
