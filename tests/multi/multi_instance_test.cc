// Several `smsconsent serve` processes on one PostgreSQL database, driven from outside:
// real server processes (tests/http/serve_fixture.h), signed webhooks, the API, the CLI, and a
// stand-in for Twilio's REST API that receives the outbox replies. What they show:
//   - the same webhook delivered to two instances at once is stored, decided and answered
//     once, and each account's ledger stays one valid hash chain under concurrent writers on
//     different instances;
//   - an instance killed (SIGKILL) while sending a reply strands only that reply (dead, never
//     sent twice); every other reply is sent exactly once by the other instances;
//   - a bulk job whose instance is killed mid-way is finished by another instance once the
//     job's lease runs out, with exact counts and no event written twice.
// They need SMSCONSENT_TEST_POSTGRES_URL (scripts/pg-test-cluster.sh); each test works in a
// schema of its own, so they can run in parallel and repeatedly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <latch>
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
#include "core/merkle.h"
#include "http/client.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;
using serve_fixture::ServeProcess;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kNumber[] = "+15551234567";
constexpr char kSecret[] = "generic-secret";
// Generous bounds for slow sanitizer runs on a busy machine; the waits end as soon as their
// condition holds.
constexpr auto kDeadline = std::chrono::seconds(60);

// Polls `done` every 20 ms until it holds or `limit` passes; returns whether it held.
bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit = kDeadline) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string Phone(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1415555%04d", i);
  return buf;
}

std::string FormValue(const std::string& form, const std::string& name) {
  auto params = ParseFormUrlEncoded(form);
  if (!params.ok()) return "";
  const std::string* value = FindParam(*params, name);
  return value != nullptr ? *value : "";
}

// A stand-in for Twilio's Messages API on 127.0.0.1: counts every request it receives by
// (To, Body), answers 201 {"sid": …}, except that requests to a "hung" phone are read and never
// answered (until Stop), so a test can kill the instance that sent one.
class TwilioStandIn {
 public:
  TwilioStandIn() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "stand-in: cannot listen";
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TwilioStandIn() { Stop(); }
  TwilioStandIn(const TwilioStandIn&) = delete;
  TwilioStandIn& operator=(const TwilioStandIn&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Hang(const std::string& phone) {
    std::lock_guard<std::mutex> lock(mu_);
    hung_.insert(phone);
  }
  // (To, Body) -> how many requests carried it.
  std::map<std::pair<std::string, std::string>, int> Deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  int Total() {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }
  int TotalTo(const std::string& phone) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [key, count] : deliveries_) n += key.first == phone ? count : 0;
    return n;
  }

  // Closes every connection (hung ones too) and joins the threads. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> conns;
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns.swap(conns_);
    }
    for (std::thread& t : conns) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  void Accept() {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::lock_guard<std::mutex> lock(mu_);
      conns_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t need = 0;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::string head = data.substr(0, header_end);
          for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          const size_t cl = head.find("content-length:");
          need = header_end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15)));
        }
      }
      if (header_end != std::string::npos && data.size() >= need) break;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) {
        close(fd);
        return;
      }
      data.append(buf, static_cast<size_t>(n));
    }
    const std::string body = data.substr(header_end + 4);
    const std::string to = FormValue(body, "To");
    int n = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++deliveries_[{to, FormValue(body, "Body")}];
      n = ++total_;
      if (hung_.count(to) != 0) {
        cv_.wait(lock, [this] { return stopping_; });
        close(fd);
        return;
      }
    }
    const std::string answer = R"({"sid":"SM)" + std::to_string(n) + R"("})";
    const std::string response =
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(answer.size()) + "\r\nConnection: close\r\n\r\n" + answer;
    size_t off = 0;
    while (off < response.size()) {
      const ssize_t w = write(fd, response.data() + off, response.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> conns_;
  std::set<std::string> hung_;
  std::map<std::pair<std::string, std::string>, int> deliveries_;
  int total_ = 0;
};

// A connection of the test's own to the cluster, for what it does behind the servers' back
// (hold a row in an open transaction, read who holds a lease).
class SideConnection {
 public:
  SideConnection() : conn_(PQconnectdb(testing_pg::Url().c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) ADD_FAILURE() << PQerrorMessage(conn_);
  }
  ~SideConnection() { PQfinish(conn_); }
  SideConnection(const SideConnection&) = delete;
  SideConnection& operator=(const SideConnection&) = delete;

  // Runs `sql`; returns the first value ("" when none). A failure fails the test.
  std::string Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    std::string out;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) out = PQgetvalue(r, 0, 0);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  }

 private:
  PGconn* conn_;
};

class MultiInstance : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = testing_pg::Unavailable();
    if (!why.empty()) {
      if (testing_pg::InCi()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    schema_ = testing_pg::NewSchemaName();
    db_ = testing_pg::StoreUrl(schema_, /*pool=*/3);
    dir_ = fs::temp_directory_path() / ("smsconsent-multi-" + schema_);
    fs::create_directories(dir_);
    json a = Cli({"account", "create", "--name", "Acme", "--addons", "marketing_sms_access"});
    ASSERT_TRUE(a.contains("api_key")) << a;
    account_ = std::to_string(a["id"].get<int64_t>());
    key_ = a["api_key"];
    Cli({"number", "add", "--account", account_, "--number", kNumber});
    // Inbound through the generic webhook; replies through Twilio's API, i.e. the stand-in.
    Cli({"provider", "set", "--account", account_, "--provider", "twilio", "--account-sid", "AC1",
         "--auth-token", "tok", "--api-base-url", twilio_.base_url()});
    Cli({"provider", "set", "--account", account_, "--provider", "generic", "--secret", kSecret,
         "--sender", "twilio"});
  }

  void TearDown() override {
    twilio_.Stop();  // a dispatcher stuck in a hung send gets its answer (EOF) now
    for (auto& [id, p] : instances_) {
      if (p.pid <= 0) continue;  // killed
      // A clean exit: graceful shutdown works beside killed peers (and, in the sanitizer
      // build, the server found no leak or error).
      const int status = serve_fixture::StopServe(p);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "instance " << id << " ended with status " << status;
    }
    if (schema_.empty()) return;  // skipped: nothing was made
    serve_fixture::DropTestState(schema_, dir_, HasFailure());
  }

  json Cli(const std::vector<std::string>& args, int* rc_out = nullptr) {
    return serve_fixture::Cli(db_, args, rc_out);
  }

  // Starts an instance named `id` (its --instance-id, the owner of its leases) with short
  // leases, so that a killed instance's work is taken over within seconds.
  const ServeProcess& Start(const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--instance-id",       id,     "--threads",         "4",
                                     "--outbox-poll-ms",    "50",   "--outbox-lease-ms", "1500",
                                     "--job-lease-ms",      "2000", "--job-chunk-rows",  "25",
                                     "--shutdown-grace-ms", "2000"};
    args.insert(args.end(), extra.begin(), extra.end());
    ServeProcess& p = instances_[id];
    serve_fixture::ServeSetup setup;
    setup.env = {"SMSCONSENT_LEDGER_KEY=" + (dir_ / "ledger-key.pem").string()};
    serve_fixture::StartServe(db_, (dir_ / (id + ".log")).string(), args, &p, setup);
    return p;
  }

  // SIGKILL: no shutdown, no lease handed back, connections dropped mid-transaction.
  void Kill(const std::string& id) {
    ServeProcess& p = instances_.at(id);
    ASSERT_GT(p.pid, 0);
    kill(p.pid, SIGKILL);
    int status = 0;
    waitpid(p.pid, &status, 0);
    p.pid = -1;
  }

  HttpClientResponse Send(const std::string& id, const std::string& method, const std::string& path,
                          const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpClientRequest req;
    req.method = method;
    req.url = instances_.at(id).base_url + path;
    req.body = body;
    req.headers = std::move(headers);
    auto r = MakeBeastHttpClient()->Send(req);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse{};
  }

  json Api(const std::string& id, const std::string& method, const std::string& path,
           const json& body, int want,
           std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + key_);
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    HttpClientResponse r =
        Send(id, method, path, body.is_null() ? "" : body.dump(), std::move(headers));
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  // A whole listing that fits one page (the tests keep their counts small).
  json All(const std::string& id, const std::string& path) {
    json page = Api(id, "GET", path, nullptr, 200);
    EXPECT_TRUE(page["next"].is_null()) << path << " has more than one page";
    return page["items"];
  }

  // A signed generic webhook (docs/webhooks.md, "generic").
  int Webhook(const std::string& id, const std::string& message_id, const std::string& from,
              const std::string& text) {
    const std::string body =
        json({{"message_id", message_id}, {"from", from}, {"to", kNumber}, {"body", text}}).dump();
    const std::string ts = std::to_string(std::time(nullptr));
    return Send(id, "POST", "/webhooks/generic", body,
                {{"Content-Type", "application/json"},
                 {"X-Smsconsent-Timestamp", ts},
                 {"X-Smsconsent-Signature",
                  "sha256=" + HexEncode(HmacSha256(kSecret, ts + "." + body))}})
        .status;
  }

  // `ledger verify` over the account's chain, as an operator would run it.
  void ExpectLedgerVerifies(int64_t events) {
    int rc = -1;
    json check = Cli({"ledger", "verify", "--account", account_}, &rc);
    EXPECT_EQ(rc, 0) << check;
    EXPECT_EQ(check["ok"], true) << check;
    EXPECT_EQ(check["chain_ok"], true) << check;
    EXPECT_EQ(check["events"], events) << check;
  }

  std::string Table(const std::string& name) const { return "\"" + schema_ + "\"." + name; }

  std::string schema_, db_, account_, key_;
  fs::path dir_;
  TwilioStandIn twilio_;
  std::map<std::string, ServeProcess> instances_;
};

// Every message is delivered to two instances at the same moment (a provider retrying against
// another instance behind the load balancer), while other phones' messages go to all three:
// one inbound message, one decision and one reply each, one chain.
TEST_F(MultiInstance, DuplicateWebhooksOnTwoInstancesAreStoredAndAnsweredOnce) {
  const std::vector<std::string> ids = {"a", "b", "c"};
  for (const std::string& id : ids) {
    Start(id);
    ASSERT_FALSE(HasFatalFailure());
  }
  constexpr int kPhones = 20;
  const std::vector<std::string> texts = {"START", "STOP"};  // one event and one reply each

  // Eight senders, each taking every eighth phone through its messages in order.
  std::atomic<int> not_ok{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < 8; ++s) {
    senders.emplace_back([&, s] {
      for (int i = s; i < kPhones; i += 8) {
        for (size_t m = 0; m < texts.size(); ++m) {
          const std::string message_id = "msg-" + std::to_string(i) + "-" + std::to_string(m);
          const std::string first = ids[(i + m) % 3], second = ids[(i + m + 1) % 3];
          std::latch ready(2);
          auto deliver = [&](const std::string& id) {
            ready.arrive_and_wait();  // both go out together
            if (Webhook(id, message_id, Phone(i), texts[m]) != 200) ++not_ok;
          };
          std::thread t1(deliver, first), t2(deliver, second);
          t1.join();
          t2.join();
        }
      }
    });
  }
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(not_ok.load(), 0) << "every delivery, duplicate or not, is answered 200";

  // One inbound message per message id.
  json messages = All("a", "/v1/messages?limit=200");
  std::set<std::string> message_ids;
  for (const json& m : messages) message_ids.insert(m["provider_message_id"].get<std::string>());
  EXPECT_EQ(messages.size(), static_cast<size_t>(kPhones * texts.size()));
  EXPECT_EQ(message_ids.size(), static_cast<size_t>(kPhones * texts.size()));

  // One decision per START and per STOP: each phone opted in, then out; one ledger, seq 1..n,
  // whose leaves are the tree a signed head covers (the head integrates every event first).
  json head = Api("b", "GET", "/v1/ledger/head", nullptr, 200);
  EXPECT_EQ(head["size"], 2 * kPhones) << head;
  json events = All("b", "/v1/ledger?limit=5000");
  ASSERT_EQ(events.size(), static_cast<size_t>(2 * kPhones));
  std::map<std::string, std::vector<std::string>> by_phone;
  std::vector<merkle::Hash> leaves;
  for (size_t k = 0; k < events.size(); ++k) {
    EXPECT_EQ(events[k]["seq"], static_cast<int64_t>(k + 1));
    auto& statuses = by_phone[events[k]["phone"].get<std::string>()];
    statuses.push_back(events[k]["to"].get<std::string>());
    EXPECT_EQ(events[k]["nth"], static_cast<int64_t>(statuses.size())) << k;
    auto leaf = merkle::FromHex(events[k]["leaf_hash"].get<std::string>());
    ASSERT_TRUE(leaf.has_value()) << events[k];
    leaves.push_back(*leaf);
  }
  EXPECT_EQ(head["root"], merkle::ToHex(merkle::RootOf(leaves)));
  ASSERT_EQ(by_phone.size(), static_cast<size_t>(kPhones));
  for (const auto& [phone, statuses] : by_phone) {
    EXPECT_EQ(statuses, (std::vector<std::string>{"opted_in", "opted_out"})) << phone;
  }
  ExpectLedgerVerifies(2 * kPhones);

  // One reply per message, each sent once, by whichever instance claimed it; or, for a START's
  // confirmation that was still waiting when the phone's STOP was stored, cancelled and never
  // sent (the claim checks the status as it is then).
  const size_t replies = kPhones * texts.size();
  EXPECT_TRUE(WaitUntil([&] {
    return All("c", "/v1/outbox?state=sent,cancelled&limit=1000").size() == replies;
  })) << All("c", "/v1/outbox?limit=1000").dump();
  const json outbox = All("c", "/v1/outbox?limit=1000");
  EXPECT_EQ(outbox.size(), replies);
  size_t sent = 0;
  for (const json& o : outbox) {
    if (o["state"] == "sent") {
      ++sent;
    } else {
      EXPECT_EQ(o["kind"], "opt_in_confirmation") << o.dump();
      EXPECT_EQ(o["last_error"], "status changed since queued: now opted_out") << o.dump();
    }
  }
  EXPECT_EQ(All("c", "/v1/outbox?state=sent&limit=1000").size(), sent);
  const auto deliveries = twilio_.Deliveries();
  EXPECT_EQ(deliveries.size(), sent);
  for (const auto& [key, count] : deliveries) {
    EXPECT_EQ(count, 1) << key.first << ": " << key.second;
  }
  EXPECT_EQ(twilio_.Total(), static_cast<int>(sent));
}

// Replies queued by a front instance that does not dispatch; two dispatching instances start.
// The reply to one phone hangs on the wire; the instance holding it is killed. That reply is
// dead once the lease runs out (it may have reached the provider: never sent twice), and every
// other reply is sent exactly once.
TEST_F(MultiInstance, KilledInstanceStrandsOnlyTheReplyOnTheWire) {
  Start("front", {"--no-dispatch"});
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kPhones = 10;
  twilio_.Hang(Phone(0));
  for (int i = 0; i < kPhones; ++i) {
    ASSERT_EQ(Webhook("front", "stop-" + std::to_string(i), Phone(i), "STOP"), 200);
  }
  ASSERT_EQ(All("front", "/v1/outbox?state=pending&limit=1000").size(),
            static_cast<size_t>(kPhones));

  Start("d1");
  ASSERT_FALSE(HasFatalFailure());
  Start("d2");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitUntil([&] { return twilio_.TotalTo(Phone(0)) == 1; }))
      << "the reply to " << Phone(0) << " never reached the stand-in";
  SideConnection side;
  const std::string holder = side.Exec("SELECT lease_owner FROM " + Table("outbox") +
                                       " WHERE state = 'sending' AND "
                                       "to_phone = '" +
                                       Phone(0) + "'");
  ASSERT_TRUE(holder == "d1" || holder == "d2") << "holder: '" << holder << "'";
  Kill(holder);
  const std::string survivor = holder == "d1" ? "d2" : "d1";

  // The survivor sends the other nine, and marks the stranded one dead after the lease.
  ASSERT_TRUE(WaitUntil([&] {
    return All(survivor, "/v1/outbox?state=sent&limit=1000").size() == kPhones - 1 &&
           All(survivor, "/v1/outbox?state=dead&limit=1000").size() == 1;
  })) << All(survivor, "/v1/outbox?limit=1000").dump();
  json dead = All(survivor, "/v1/outbox?state=dead&limit=1000").at(0);
  EXPECT_EQ(dead["to"], Phone(0));
  EXPECT_NE(dead["last_error"].get<std::string>().find("interrupted while sending"),
            std::string::npos)
      << dead;
  for (int i = 0; i < kPhones; ++i) EXPECT_EQ(twilio_.TotalTo(Phone(i)), 1) << Phone(i);
  EXPECT_EQ(twilio_.Total(), kPhones);
  EXPECT_EQ(All("front", "/v1/outbox?state=pending,sending,failed&limit=1000").size(), 0u);
}

// One integrator per account at a time, and a dead one leaves nothing half done: an integrator
// (here a side connection, as the store's own would) holds the account's advisory lock, numbers
// half of the events, and dies before committing; the instances, which skipped the account
// meanwhile, then integrate every event exactly once.
TEST_F(MultiInstance, AnIntegratorThatDiesMidwayLeavesTheLedgerToTheOthers) {
  constexpr int kPhones = 30;
  Start("a", {"--ledger-integrate-interval-ms", "10"});
  ASSERT_FALSE(HasFatalFailure());
  Start("b", {"--ledger-integrate-interval-ms", "10"});
  ASSERT_FALSE(HasFatalFailure());
  SideConnection observer;
  const std::string unnumbered =
      "SELECT count(*) FROM " + Table("events") + " WHERE seq IS NULL AND account_id = " + account_;
  {
    SideConnection dying;
    dying.Exec("BEGIN");
    // The lock of ledger integration (src/store/postgres/pg_tree.cc, docs/storage.md).
    EXPECT_EQ(dying.Exec("SELECT pg_try_advisory_xact_lock(hashtext('smsconsent-ledger:" + schema_ +
                         "'), " + account_ + ")"),
              "t");
    for (int i = 0; i < kPhones; ++i) {
      ASSERT_EQ(Webhook(i % 2 == 0 ? "a" : "b", "m-" + std::to_string(i), Phone(i), "START"), 200);
    }
    // Written, in effect, and not integrated: the lock holder is the account's integrator.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(observer.Exec(unnumbered), std::to_string(kPhones));
    dying.Exec("UPDATE " + Table("events") +
               " e SET seq = n.seq FROM (SELECT id, row_number() "
               "OVER (ORDER BY id) AS seq FROM " +
               Table("events") +
               " WHERE seq IS NULL AND "
               "account_id = " +
               account_ + " ORDER BY id LIMIT " + std::to_string(kPhones / 2) +
               ") n WHERE e.id = n.id");
    EXPECT_EQ(dying.Exec("SELECT count(*) FROM " + Table("events") +
                         " WHERE seq IS NULL AND "
                         "account_id = " +
                         account_),
              std::to_string(kPhones - kPhones / 2));
  }  // the connection closes mid-transaction: PostgreSQL rolls it back and frees the lock
  Kill("a");
  ASSERT_TRUE(WaitUntil([&] { return observer.Exec(unnumbered) == "0"; }))
      << observer.Exec(unnumbered) << " events left unintegrated";
  EXPECT_EQ(observer.Exec("SELECT count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq) FROM " +
                          Table("events") + " WHERE account_id = " + account_),
            std::to_string(kPhones) + " 1 " + std::to_string(kPhones));
  json head = Api("b", "GET", "/v1/ledger/head", nullptr, 200);
  EXPECT_EQ(head["size"], kPhones) << head;
  ExpectLedgerVerifies(kPhones);
}

// A bulk opt-in of a few hundred CSV rows runs in chunks of 25. A transaction of the test's own
// holds one row's phone, so the job's runner stops in the middle (chunks before it committed);
// that instance is killed. The other instance claims the job once its lease runs out, resumes
// at the cursor, and finishes: the counts are exact, and each contact has one event, carrying
// the job's batch id.
TEST_F(MultiInstance, BulkJobOfAKilledInstanceIsFinishedByAnother) {
  constexpr int kRows = 300, kHeld = 150, kSelfOptedOut = 7;
  Start("j1");
  ASSERT_FALSE(HasFatalFailure());
  Start("j2");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(Webhook("j1", "self-stop", Phone(kSelfOptedOut), "STOP"), 200);

  std::string csv = "phone,name\n";
  for (int i = 0; i < kRows; ++i) csv += Phone(i) + ",Person " + std::to_string(i) + "\n";
  csv += Phone(3) + ",again\nnot a phone,x\n";

  // `side` holds the row; `observer` looks (outside that transaction, whose view of
  // pg_stat_activity would stay as it was when first read).
  SideConnection side, observer;
  side.Exec("BEGIN");
  side.Exec("INSERT INTO " + Table("contacts") +
            " (account_id, phone, name, email, created_at_ms) VALUES (" + account_ + ", '" +
            Phone(kHeld) + "', '', '', 0)");

  json request = {{"number", kNumber},
                  {"status", "opted_in"},
                  {"attest", true},
                  {"legal_basis", "consent_with_notice"},
                  {"explanation", "Signed paper forms"},
                  {"csv", csv}};
  json accepted =
      Api("j1", "POST", "/v1/bulk/subscriptions", request, 202, {{"Idempotency-Key", "multi-1"}});
  ASSERT_TRUE(accepted.contains("job")) << accepted;
  const std::string job = std::to_string(accepted["job"].get<int64_t>());

  // The runner waits for the held phone (its insert of that contact waits for our
  // transaction), its earlier chunks committed.
  ASSERT_TRUE(WaitUntil([&] {
    return observer.Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                         schema_ +
                         "' AND wait_event_type = 'Lock' AND query LIKE "
                         "'INSERT INTO contacts%'") != "0";
  })) << "the job never reached the held row";
  const std::string holder =
      observer.Exec("SELECT lease_owner FROM " + Table("jobs") + " WHERE id = " + job);
  ASSERT_TRUE(holder == "j1" || holder == "j2") << "holder: '" << holder << "'";
  json midway = Api(holder, "GET", "/v1/jobs/" + job, nullptr, 200);
  EXPECT_EQ(midway["state"], "running") << midway;
  EXPECT_GT(midway["done"].get<int64_t>(), 0) << midway;
  EXPECT_LE(midway["done"].get<int64_t>(), kHeld) << midway;
  Kill(holder);
  side.Exec("ROLLBACK");  // the killed runner's transaction never commits
  const std::string survivor = holder == "j1" ? "j2" : "j1";

  json done;
  ASSERT_TRUE(WaitUntil([&] {
    done = Api(survivor, "GET", "/v1/jobs/" + job, nullptr, 200);
    return done["state"] != "running" && done["state"] != "queued";
  })) << done;
  EXPECT_EQ(done["state"], "done") << done;
  EXPECT_EQ(done["done"], kRows + 2);
  EXPECT_EQ(done["total"], kRows + 2);
  EXPECT_EQ(done["result"]["change"], kRows - 1) << done;
  EXPECT_EQ(done["result"]["created"], kRows - 1) << done;
  EXPECT_EQ(done["result"]["skipped"],
            json({{"duplicate", 1}, {"invalid_phone", 1}, {"self_opted_out", 1}}))
      << done;

  // (The killed instance cannot have finished it.)
  // Exactly one bulk event per changed contact, each with the job's batch id; one ledger.
  // Verifying integrates the events written (the ledger lists events once integrated).
  ExpectLedgerVerifies(kRows);
  const std::string batch = done.value("batch", "");
  ASSERT_FALSE(batch.empty()) << done;
  json events = All(survivor, "/v1/ledger?limit=5000");
  std::map<std::string, int> bulk_events;
  for (const json& e : events) {
    if (e["source"] != "bulk") continue;
    ++bulk_events[e["phone"].get<std::string>()];
    EXPECT_EQ(e["evidence"]["batch"], batch) << e;
    EXPECT_EQ(e["to"], "opted_in") << e;
  }
  EXPECT_EQ(bulk_events.size(), static_cast<size_t>(kRows - 1));
  for (const auto& [phone, n] : bulk_events) EXPECT_EQ(n, 1) << phone;
  EXPECT_EQ(bulk_events.count(Phone(kSelfOptedOut)), 0u);
  EXPECT_EQ(bulk_events.count(Phone(kHeld)), 1u);
  EXPECT_EQ(events.size(), static_cast<size_t>(kRows));  // plus the STOP
}

}  // namespace
}  // namespace smsconsent
