// Integration tests of the resources a client can make the server hold (docs/limits.md,
// "Resources held per client"): connections, the sign-in pool, and who may read /metrics. The
// real `smsconsent serve` binary, with its settings given as environment variables.
//
// Nothing here asserts how fast anything is: each test checks a mechanism (a refusal, a count,
// a bound on CPU time that only a busy loop could exceed).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"
#include "serve_fixture.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::Cli;
using serve_fixture::HeaderOf;
namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

// CPU time (user + system) the process has used so far, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after it are plain.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  // Fields 3..15 of proc(5): utime is field 14, stime field 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The port of "http://HOST:PORT".
uint16_t PortOf(const std::string& base_url) {
  return static_cast<uint16_t>(std::stoi(base_url.substr(base_url.rfind(':') + 1)));
}

// A TCP connection to 127.0.0.1:port, established (the kernel completes the handshake whether
// or not the server has accepted it yet); -1 when connect fails.
int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the peer sends until it closes the connection (or 10 s pass: a guard against a
// hanging test, not a measure).
std::string ReadUntilClosed(int fd) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
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

// The value of the sample `name` (with its labels, if any) in a /metrics text; nullopt when
// absent.
std::optional<double> Sample(const std::string& metrics, const std::string& name) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
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
  // What a reverse proxy on this machine forwards came from elsewhere.
  EXPECT_EQ(
      Send("GET", "http://127.0.0.1:" + port + "/metrics", {{"X-Forwarded-For", "203.0.113.9"}})
          .status,
      403);
  EXPECT_EQ(Send("GET", "http://127.0.0.1:" + port + "/metrics", {{"Forwarded", "for=203.0.113.9"}})
                .status,
            403);
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

// ---- Connections --------------------------------------------------------------------------------

// Out of file descriptors, accept() fails at once for as long as connections wait in the
// backlog. The server must wait between attempts instead of retrying in a loop: over two
// seconds of that state it uses a small fraction of a CPU (a busy loop uses all of one), and
// once connections close it serves again.
TEST_F(Limits, OutOfFileDescriptorsTheAcceptLoopWaitsInsteadOfSpinning) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan checks a virtual call's object by writing it to a pipe it opens for the purpose;
  // with no descriptor left that fails, and it reports Boost's error categories (compared on
  // every failed accept) as objects of the wrong type. The Release suite runs this test.
  GTEST_SKIP() << "a process out of file descriptors trips the sanitizers' own checks";
#endif
  // A connection limit above what the descriptors allow, so that accept() itself runs out.
  Start({.env = {"SMSCONSENT_MAX_CONNECTIONS=100000"}, .max_open_files = 64});
  ASSERT_FALSE(HasFatalFailure());
  const uint16_t port = PortOf(server_.base_url);
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    held.push_back(fd);
  }
  const double before = CpuSeconds(server_.pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the window measured, not a wait
  const double used = CpuSeconds(server_.pid) - before;
  EXPECT_LT(used, 0.5) << "CPU seconds used in 2 s out of file descriptors";
  for (int fd : held) close(fd);
  EXPECT_EQ(Get("/healthz").status, 200);
  // It did run out: the pauses above were taken.
  const std::string metrics = Get("/metrics").body;
  EXPECT_GE(Sample(metrics, "smsconsent_http_accept_failures_total").value_or(0), 1) << metrics;
}

// Past --max-connections a new connection is answered 503 (with Retry-After) and closed at
// once, without being read; the connections already open are served as before.
TEST_F(Limits, ConnectionsPastTheLimitAreAnswered503AndClosed) {
  Start({.env = {"SMSCONSENT_MAX_CONNECTIONS=4", "SMSCONSENT_REQUEST_TIMEOUT_MS=3000"}});
  ASSERT_FALSE(HasFatalFailure());
  const uint16_t port = PortOf(server_.base_url);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // The server accepts in order: these four hold every slot before the fifth is looked at.
  const int extra = Connect(port);
  ASSERT_GE(extra, 0);
  const std::string answer = ReadUntilClosed(extra);
  close(extra);
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_NE(answer.find("Retry-After: "), std::string::npos) << answer;
  // A held connection is still served.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(held[0], request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  EXPECT_EQ(ReadUntilClosed(held[0]).rfind("HTTP/1.1 200", 0), 0u);
  for (int fd : held) close(fd);
  EXPECT_EQ(Get("/healthz").status, 200);
  const std::string metrics = Get("/metrics").body;
  EXPECT_GE(Sample(metrics, "smsconsent_http_connections_refused_total").value_or(0), 1) << metrics;
  EXPECT_EQ(Sample(metrics, "smsconsent_http_connections_limit").value_or(0), 4) << metrics;
}

// ---- Request headers ---------------------------------------------------------------------------

// Headers past 64 KiB in all are answered 431 and the connection closed; the server reads no
// more of them and goes on serving.
TEST_F(Limits, HeadersPast64KiBAreAnswered431) {
  Start({});
  ASSERT_FALSE(HasFatalFailure());
  const int fd = Connect(PortOf(server_.base_url));
  ASSERT_GE(fd, 0);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 80; ++i) {
    request += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  }
  request += "\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  const std::string answer = ReadUntilClosed(fd);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find("HEADERS_TOO_LARGE"), std::string::npos) << answer.substr(0, 400);
  // Just under the limit is served.
  Headers under;
  for (int i = 0; i < 60; ++i)
    under.emplace_back("X-Filler-" + std::to_string(i), std::string(1000, 'a'));
  EXPECT_EQ(Get("/healthz", under).status, 200);
}

// ---- Time a connection may hold ---------------------------------------------------------------

// Seconds from now until the peer closes `fd` (ReadUntilClosed gives up after 10 s).
double SecondsUntilClosed(int fd, std::string* received) {
  const auto start = std::chrono::steady_clock::now();
  *received = ReadUntilClosed(fd);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A request whose headers never end (slowloris) holds its connection only for the request
// timeout: the server closes it without an answer.
TEST_F(Limits, ARequestThatNeverEndsIsClosedAtTheRequestTimeout) {
  Start({.env = {"SMSCONSENT_REQUEST_TIMEOUT_MS=1000"}});
  ASSERT_FALSE(HasFatalFailure());
  const int fd = Connect(PortOf(server_.base_url));
  ASSERT_GE(fd, 0);
  const std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  std::string received;
  const double seconds = SecondsUntilClosed(fd, &received);
  close(fd);
  EXPECT_LT(seconds, 9.0) << "the server kept an unfinished request open";
  EXPECT_EQ(received, "");
  EXPECT_EQ(Get("/healthz").status, 200);
}

// A keep-alive connection with no next request is closed at the idle timeout.
TEST_F(Limits, AnIdleKeepAliveConnectionIsClosedAtTheIdleTimeout) {
  Start({.env = {"SMSCONSENT_IDLE_TIMEOUT_MS=1000"}});
  ASSERT_FALSE(HasFatalFailure());
  const int fd = Connect(PortOf(server_.base_url));
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  const double seconds = SecondsUntilClosed(fd, &received);
  close(fd);
  EXPECT_EQ(received.rfind("HTTP/1.1 200", 0), 0u) << received;
  EXPECT_LT(seconds, 9.0) << "the server kept an idle connection open";
}

// ---- Sign-in ------------------------------------------------------------------------------------

// Every sign-in hashes a password with Argon2id (19 MiB, tens of milliseconds of CPU), for an
// unknown email too. A flood of them is refused past the sign-in pool's queue and rate (429
// with Retry-After) instead of taking the HTTP threads: a consent check sent during the flood
// is answered, and the pool never hashed more passwords at once than it has threads.
TEST_F(Limits, ASignInFloodIsRefusedPastThePoolAndOtherRequestsAreAnswered) {
  Start({});
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kSignIns = 64;
  std::vector<HttpClientResponse> answers(kSignIns);
  std::atomic<int> started{0};
  std::vector<std::thread> flood;
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < kSignIns; ++i) {
    const std::string email = "flood-" + std::to_string(i) + "-" + std::to_string(rng()) + "@x.io";
    flood.emplace_back([this, i, email, &answers, &started] {
      auto client = MakeBeastHttpClient();
      HttpClientRequest req;
      req.method = "POST";
      req.url = server_.base_url + "/v1/session";
      req.headers = {{"Content-Type", "application/json"}};
      req.body = json{{"email", email}, {"password", "not the password at all"}}.dump();
      req.timeout = std::chrono::milliseconds(60'000);
      ++started;
      auto r = client->Send(req);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) answers[i] = *r;
    });
  }
  while (started < kSignIns) std::this_thread::yield();
  HttpClientResponse check = Get("/v1/consent?phone=%2B15550001111&number=%2B15551234567",
                                 {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(check.status, 200) << check.body;
  for (auto& t : flood) t.join();

  int refused = 0, wrong = 0;
  for (const HttpClientResponse& r : answers) {
    if (r.status == 429) {
      ++refused;
      EXPECT_GE(std::atoi(HeaderOf(r, "retry-after").c_str()), 1) << r.body;
      EXPECT_NE(r.body.find("RESOURCE_EXHAUSTED"), std::string::npos) << r.body;
    } else {
      EXPECT_EQ(r.status, 401) << r.body;
      ++wrong;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(wrong, 0);
  EXPECT_EQ(refused + wrong, kSignIns);
  const std::string metrics = Get("/metrics").body;
  const std::optional<double> threads = Sample(metrics, "smsconsent_signin_threads");
  const std::optional<double> peak = Sample(metrics, "smsconsent_signin_running_peak");
  ASSERT_TRUE(threads && peak) << metrics;
  EXPECT_EQ(*threads, 1);  // the default
  EXPECT_GE(*peak, 1);
  EXPECT_LE(*peak, *threads);
  EXPECT_EQ(Sample(metrics, "smsconsent_signin_refused_total").value_or(-1), refused) << metrics;
}

}  // namespace
}  // namespace smsconsent
