// SIGKILL under load: client threads send signed webhooks (the generic provider) over
// keep-alive connections while the server is killed with SIGKILL and restarted on the same
// database, several times. A webhook that was not answered 2xx is sent again with the same
// message id once the server is back, as a provider retries. Afterwards, from outside:
//   - every answered webhook is stored, and nothing is stored twice;
//   - no inbound message has two replies queued in the outbox;
//   - `smsconsent ledger verify` passes.
// On SQLite one instance; on PostgreSQL (SMSCONSENT_TEST_POSTGRES_URL) two instances on one
// database, both under load, killed one at a time. The figures are printed for the record.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../http/serve_fixture.h"
#include "../store/pg_test_util.h"
#include "http/client.h"
#include "providers/webhook.h"

// A namespace of its own: this file shares a unity batch with multi_instance_test.cc.
namespace smsconsent::sigkill_test {
namespace {

using nlohmann::json;
using serve_fixture::ServeProcess;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kNumber[] = "+15557654321";
constexpr char kSecret[] = "sigkill-secret";
constexpr int kKills = 5;
// Webhooks the victim answers after its (re)start before it is killed: enough that the kill
// lands in the middle of steady load, few enough that the whole test stays short.
constexpr int kAnsweredBeforeKill = 300;
constexpr int kClientThreads = 4;
// Each message comes from a phone of its own and says STOP, so each is one consent event with
// one reply, whatever order retries put them in.
constexpr int kMessagesPerThread = 1'000'000;
// Bounds for slow sanitizer runs on a busy machine; waits end as soon as their condition holds.
constexpr auto kDeadline = std::chrono::seconds(90);

enum class Store { kSqlite, kPostgres };

std::string StoreName(Store s) { return s == Store::kSqlite ? "SQLite" : "PostgreSQL"; }

// Polls `done` every 10 ms until it holds or `limit` passes; returns whether it held.
bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit = kDeadline) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// One HTTP/1.1 connection kept alive across requests, on raw sockets: the provider's side of
// the wire, which must see a killed server as a failed request (no answer), never as a hang.
class KeepAliveConnection {
 public:
  ~KeepAliveConnection() { Close(); }

  bool connected() const { return fd_ >= 0; }

  bool Connect(int port) {
    Close();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{10, 0};  // a server that neither answers nor dies fails the request
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return false;
    }
    return true;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffered_.clear();
  }

  // Sends `request` and reads the response; its status, or 0 when the connection failed (the
  // connection is then closed).
  int RoundTrip(const std::string& request) {
    size_t off = 0;
    while (off < request.size()) {
      // MSG_NOSIGNAL: a peer killed mid-write is an error here, not a SIGPIPE for the test.
      const ssize_t n = send(fd_, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return Fail();
      off += static_cast<size_t>(n);
    }
    size_t head_end = std::string::npos;
    while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!Read()) return Fail();
    }
    std::string head = buffered_.substr(0, head_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.rfind("http/1.1 ", 0) != 0 || head.size() < 12) return Fail();
    const int status = std::stoi(head.substr(9, 3));
    const size_t cl = head.find("\r\ncontent-length:");
    const size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17));
    while (buffered_.size() < head_end + 4 + length) {
      if (!Read()) return Fail();
    }
    buffered_.erase(0, head_end + 4 + length);
    if (head.find("\r\nconnection: close") != std::string::npos) Close();
    return status;
  }

 private:
  bool Read() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffered_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int Fail() {
    Close();
    return 0;
  }

  int fd_ = -1;
  std::string buffered_;
};

// Where an instance can be reached: its port while it runs, and a generation that counts its
// restarts, so a client whose connection failed waits for the next one.
struct Endpoint {
  std::mutex mu;
  std::condition_variable cv;
  int port = 0;  // 0 while down
  int generation = 0;
  std::atomic<int> answered_since_start{0};
};

struct Figures {
  std::atomic<int> requests{0};  // every POST, retries included
  std::atomic<int> answered{0};  // 2xx
  std::atomic<int> failed{0};    // sent, but no answer: the connection broke (a kill)
  std::atomic<int> refused{0};   // answered, but not 2xx (5xx: retried too)
};

// A webhook as the provider sends it: the same message id and body on every attempt, signed
// anew each time.
std::string WebhookRequest(int port, const std::string& body) {
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string signature = HexEncode(HmacSha256(kSecret, ts + "." + body));
  return "POST /webhooks/generic HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\nX-Smsconsent-Timestamp: " + ts +
         "\r\nX-Smsconsent-Signature: sha256=" + signature +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-12-07T02:57:33.168Z", as the API writes times, in milliseconds since the epoch.
int64_t ParseApiTime(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    ADD_FAILURE() << "not an API time: " << s;
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string Phone(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1415%07d", i);
  return buf;
}

class SigkillUnderLoad : public ::testing::TestWithParam<Store> {
 protected:
  void SetUp() override {
    const std::string tag = std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr));
    if (GetParam() == Store::kPostgres) {
      const std::string why = testing_pg::Unavailable();
      if (!why.empty()) {
        if (testing_pg::InCi()) FAIL() << "CI=true, so not skipped: " << why;
        GTEST_SKIP() << why;
      }
      schema_ = testing_pg::NewSchemaName();
      db_ = testing_pg::StoreUrl(schema_, /*pool=*/4);
      dir_ = fs::temp_directory_path() / ("smsconsent-sigkill-" + schema_);
    } else {
      dir_ = fs::temp_directory_path() / ("smsconsent-sigkill-" + tag);
      db_ = (dir_ / "consent.db").string();
    }
    fs::create_directories(dir_);
    json a = Cli({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    ASSERT_TRUE(a.contains("api_key")) << a;
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    Cli({"number", "add", "--account", account_, "--number", kNumber});
    Cli({"provider", "set", "--account", account_, "--provider", "generic", "--secret", kSecret});
  }

  void TearDown() override {
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i].pid <= 0) continue;
      const int status = serve_fixture::StopServe(servers_[i]);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "instance " << i << " ended with status " << status;
    }
    serve_fixture::DropTestState(schema_, dir_, HasFailure());
  }

  json Cli(const std::vector<std::string>& args, int* rc_out = nullptr) {
    return serve_fixture::Cli(db_, args, rc_out);
  }

  // Starts instance `i` (again) and publishes its port to the clients.
  void Start(size_t i) {
    const std::string log =
        (dir_ / ("instance-" + std::to_string(i) + "-" + std::to_string(starts_++) + ".log"))
            .string();
    serve_fixture::StartServe(
        db_, log, {"--instance-id", "i" + std::to_string(i), "--no-dispatch", "--threads", "2"},
        &servers_[i]);
    ASSERT_FALSE(HasFatalFailure());
    const std::string& url = servers_[i].base_url;
    Endpoint& e = endpoints_[i];
    {
      std::lock_guard<std::mutex> lock(e.mu);
      e.port = std::stoi(url.substr(url.rfind(':') + 1));
      ++e.generation;
      e.answered_since_start = 0;
    }
    e.cv.notify_all();
  }

  // SIGKILL: no shutdown, no response to what is in flight.
  void Kill(size_t i) {
    Endpoint& e = endpoints_[i];
    {
      std::lock_guard<std::mutex> lock(e.mu);
      e.port = 0;
    }
    kill(servers_[i].pid, SIGKILL);
    int status = 0;
    waitpid(servers_[i].pid, &status, 0);
    servers_[i].pid = -1;
  }

  // One client: sends its own messages to instance `i`, and each that was not answered 2xx
  // again (same id and body) until it is, or until `stop_`.
  void Client(int thread, size_t i) {
    Endpoint& e = endpoints_[i];
    KeepAliveConnection conn;
    std::deque<std::pair<std::string, std::string>> retries;  // (message id, body)
    int next = 0;
    int port = 0;
    while (!stop_) {
      std::pair<std::string, std::string> message;
      if (!retries.empty()) {
        message = retries.front();
        retries.pop_front();
      } else {
        // Under the lock that no_new_messages_ is set under: once it is, sent_ is final.
        std::lock_guard<std::mutex> lock(mu_);
        if (no_new_messages_ || next == kMessagesPerThread) break;  // nothing left to send
        const std::string id = "t" + std::to_string(thread) + "-" + std::to_string(next);
        message = {id, json({{"message_id", id},
                             {"from", Phone(thread * kMessagesPerThread + next)},
                             {"to", kNumber},
                             {"body", "STOP"}})
                           .dump()};
        ++next;
        sent_.insert(id);
      }
      int status = 0;
      if (!conn.connected()) {
        std::unique_lock<std::mutex> lock(e.mu);
        // Wait for the instance to be up; bounded, so that a stuck restart fails the test
        // rather than hanging it.
        if (!e.cv.wait_for(lock, kDeadline, [&] { return e.port != 0 || stop_; })) {
          ++client_gave_up_;
          break;
        }
        port = e.port;
      }
      bool attempted = false;
      if (port != 0 && (conn.connected() || conn.Connect(port))) {
        ++figures_.requests;
        attempted = true;
        status = conn.RoundTrip(WebhookRequest(port, message.second));
      }
      if (status >= 200 && status < 300) {
        ++figures_.answered;
        ++e.answered_since_start;
        std::lock_guard<std::mutex> lock(mu_);
        answered_.insert(message.first);
        continue;
      }
      if (status == 0) {
        if (attempted) {
          ++figures_.failed;
          std::lock_guard<std::mutex> lock(mu_);
          lost_at_ms_.try_emplace(message.first, NowMs());
        }
        // Down, or being killed: wait for the next generation before connecting again.
        std::unique_lock<std::mutex> lock(e.mu);
        const int generation = e.generation;
        e.cv.wait_for(lock, std::chrono::milliseconds(200),
                      [&] { return e.generation != generation || stop_; });
        port = 0;
      } else {
        ++figures_.refused;
        if (status < 500) {
          std::lock_guard<std::mutex> lock(mu_);
          client_errors_.push_back(message.first + ": HTTP " + std::to_string(status));
          continue;  // a 4xx would not be retried by a provider either
        }
      }
      retries.push_back(std::move(message));
    }
    std::lock_guard<std::mutex> lock(mu_);
    unfinished_ += static_cast<int>(retries.size());
  }

  // Every item of a paged API listing.
  std::vector<json> ListAll(const std::string& base_url, const std::string& path,
                            const std::string& cursor) {
    std::vector<json> all;
    std::string next;
    auto client = MakeBeastHttpClient();
    for (int page = 0; page < 1000; ++page) {
      HttpClientRequest req;
      req.url = base_url + path + (next.empty() ? "" : "&" + cursor + "=" + next);
      req.headers = {{"Authorization", "Bearer " + key_}};
      auto r = client->Send(req);
      if (!r.ok() || r->status != 200) {
        ADD_FAILURE() << path << ": " << (r.ok() ? r->body : r.status().ToString());
        break;
      }
      json body = json::parse(r->body, nullptr, false);
      for (json& item : body["items"]) all.push_back(std::move(item));
      if (body["next"].is_null()) break;
      next = body["next"].is_string() ? body["next"].get<std::string>() : body["next"].dump();
    }
    return all;
  }

  void Run() {
    const auto start = Clock::now();
    const size_t instances = GetParam() == Store::kSqlite ? 1 : 2;
    servers_.resize(instances);
    endpoints_ = std::vector<Endpoint>(instances);
    for (size_t i = 0; i < instances; ++i) {
      Start(i);
      ASSERT_FALSE(HasFatalFailure());
    }
    std::vector<std::thread> clients;
    for (int t = 0; t < kClientThreads; ++t) {
      clients.emplace_back([this, t, instances] { Client(t, static_cast<size_t>(t) % instances); });
    }
    // Stops and joins the clients however the block below is left.
    struct Joiner {
      SigkillUnderLoad* test;
      std::vector<std::thread>& threads;
      ~Joiner() {
        test->stop_ = true;
        for (Endpoint& e : test->endpoints_) {
          std::lock_guard<std::mutex> lock(e.mu);
          e.cv.notify_all();
        }
        for (std::thread& t : threads) t.join();
      }
    };
    {
      Joiner joiner{this, clients};
      for (int k = 0; k < kKills; ++k) {
        const size_t victim = static_cast<size_t>(k) % instances;
        ASSERT_TRUE(PollUntil([&] {
          return endpoints_[victim].answered_since_start >= kAnsweredBeforeKill;
        })) << "instance "
            << victim << " answered only " << endpoints_[victim].answered_since_start
            << " webhooks";
        Kill(victim);
        ++kills_;
        Start(victim);
        ASSERT_FALSE(HasFatalFailure());
      }
      // The load goes on a little on the restarted instances, then only the retries remain.
      ASSERT_TRUE(PollUntil([&] {
        for (Endpoint& e : endpoints_) {
          if (e.answered_since_start < kAnsweredBeforeKill) return false;
        }
        return true;
      }));
      {
        std::lock_guard<std::mutex> lock(mu_);
        no_new_messages_ = true;
      }
      ASSERT_TRUE(PollUntil([&] {
        std::lock_guard<std::mutex> lock(mu_);
        return answered_.size() == sent_.size();
      })) << "still unanswered after the last restart";
    }
    const auto load_done = Clock::now();

    EXPECT_EQ(client_gave_up_.load(), 0);
    EXPECT_EQ(unfinished_, 0);
    EXPECT_TRUE(client_errors_.empty()) << client_errors_.front();

    // What the service stored, seen through its API.
    const std::string base = servers_[0].base_url;
    const std::vector<json> messages = ListAll(base, "/v1/messages?limit=200", "before");
    const std::vector<json> outbox = ListAll(base, "/v1/outbox?limit=1000", "after");
    std::map<std::string, int> stored;
    std::map<int64_t, std::string> id_of;
    // Webhooks whose answer a kill lost after they were stored: their retry was a duplicate.
    int stored_before_retry = 0;
    for (const json& m : messages) {
      const std::string id = m["provider_message_id"];
      ++stored[id];
      id_of[m["id"].get<int64_t>()] = id;
      const auto lost = lost_at_ms_.find(id);
      if (lost != lost_at_ms_.end() && ParseApiTime(m["received_at"]) <= lost->second) {
        ++stored_before_retry;
      }
    }
    int duplicates = 0;
    for (const auto& [id, n] : stored) {
      if (n > 1) {
        duplicates += n - 1;
        ADD_FAILURE() << id << " is stored " << n << " times";
      }
    }
    for (const std::string& id : answered_) {
      EXPECT_EQ(stored.count(id), 1u) << id << " was answered 2xx but is not stored";
    }
    for (const auto& [id, n] : stored) {
      EXPECT_EQ(sent_.count(id), 1u) << id << " is stored but was never sent";
    }
    std::map<int64_t, int> replies_to;
    for (const json& o : outbox) {
      if (o["inbound_id"].is_null()) continue;
      ++replies_to[o["inbound_id"].get<int64_t>()];
    }
    int double_replies = 0;
    for (const auto& [inbound, n] : replies_to) {
      EXPECT_EQ(id_of.count(inbound), 1u) << "a reply to unknown inbound message " << inbound;
      if (n > 1) {
        double_replies += n - 1;
        ADD_FAILURE() << "message " << id_of[inbound] << " has " << n << " replies queued";
      }
    }
    // Each message opted a new phone out: one event and one confirmation each, none lost.
    EXPECT_EQ(replies_to.size(), messages.size());

    int rc = -1;
    const json check = Cli({"ledger", "verify", "--account", account_}, &rc);
    EXPECT_EQ(rc, 0) << check;
    EXPECT_EQ(check["ok"], true) << check;
    EXPECT_EQ(check["chain_ok"], true) << check;
    EXPECT_EQ(check["events"], messages.size()) << check;

    const auto seconds = [](Clock::duration d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0;
    };
    std::printf(
        "sigkill figures (%s, %zu instance%s): kills %d, webhooks sent %zu (requests %d, "
        "unanswered and sent again %zu, of which already stored %d; refused %d), answered 2xx "
        "%d (distinct %zu), stored %zu, stored twice %d, replies queued %zu, replies queued "
        "twice %d, ledger events %s; load %.1f s, total %.1f s\n",
        StoreName(GetParam()).c_str(), instances, instances == 1 ? "" : "s", kills_, sent_.size(),
        figures_.requests.load(), lost_at_ms_.size(), stored_before_retry, figures_.refused.load(),
        figures_.answered.load(), answered_.size(), stored.size(), duplicates, outbox.size(),
        double_replies, check.value("events", json()).dump().c_str(), seconds(load_done - start),
        seconds(Clock::now() - start));
  }

  std::string schema_, db_, account_, key_;
  fs::path dir_;
  std::vector<ServeProcess> servers_;
  std::vector<Endpoint> endpoints_;
  int starts_ = 0;
  int kills_ = 0;
  std::atomic<bool> stop_{false};
  bool no_new_messages_ = false;  // guarded by mu_
  std::atomic<int> client_gave_up_{0};
  Figures figures_;
  std::mutex mu_;  // guards no_new_messages_ and what follows
  std::set<std::string> sent_;
  std::set<std::string> answered_;
  std::vector<std::string> client_errors_;
  // Message id -> when its first attempt went unanswered (system clock, ms).
  std::map<std::string, int64_t> lost_at_ms_;
  int unfinished_ = 0;
};

TEST_P(SigkillUnderLoad, EveryAnsweredWebhookIsStoredOnceWithOneReplyAndTheLedgerVerifies) {
  Run();
}

INSTANTIATE_TEST_SUITE_P(Stores, SigkillUnderLoad,
                         ::testing::Values(Store::kSqlite, Store::kPostgres),
                         [](const ::testing::TestParamInfo<Store>& info) {
                           return info.param == Store::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace smsconsent::sigkill_test
