// The Vonage, Plivo and Telnyx reply senders through the real HttpClient against a loopback
// stand-in for each provider's REST API (127.0.0.1, port 0, pointed at by api_base_url): the
// request on the wire (method, path, authorization, content type, body), the provider's message
// id on success, 4xx failed with the provider's message kept, 429/5xx and timeouts retried, and
// missing settings refused naming the setting.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "providers/sender.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

using nlohmann::json;

// One request as the stand-in read it.
struct Received {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

// Scripted answer: an HTTP status and body, or silence (the connection is held until the server
// stops, so the client times out).
struct Answer {
  int status = 200;
  std::string body;
  bool silent = false;
};

// Accepts connections one at a time on 127.0.0.1; reads one request (headers and a
// Content-Length body), records it, answers with the next scripted answer (or `fallback`), and
// closes the connection.
class StandIn {
 public:
  explicit StandIn(Answer fallback) : fallback_(std::move(fallback)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0 || pipe(stop_pipe_) != 0) {
      throw std::runtime_error("cannot start the stand-in");
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StandIn() {
    (void)!write(stop_pipe_[1], "x", 1);
    thread_.join();
    for (int fd : held_) close(fd);
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Then(Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(a));
  }
  std::vector<Received> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  std::optional<Received> Read(int fd) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t need = 0;
    Received r;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::string head = data.substr(0, header_end);
          header_end += 4;
          size_t line_end = head.find("\r\n");
          const std::string request_line = head.substr(0, line_end);
          const size_t sp1 = request_line.find(' ');
          const size_t sp2 = request_line.rfind(' ');
          r.method = request_line.substr(0, sp1);
          r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
          while (line_end != std::string::npos) {
            const size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            std::string line = head.substr(
                start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
            size_t v = colon + 1;
            while (v < line.size() && line[v] == ' ') ++v;
            r.headers.emplace_back(name, line.substr(v));
          }
          const std::string cl = r.Header("content-length");
          need = cl.empty() ? 0 : std::stoul(cl);
        }
      }
      if (header_end != std::string::npos && data.size() >= header_end + need) {
        r.body = data.substr(header_end, need);
        return r;
      }
      if (!WaitReadable(fd)) return std::nullopt;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      data.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::optional<Received> r = Read(fd);
      if (!r) {
        close(fd);
        continue;
      }
      Answer a;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(*r);
        if (script_.empty()) {
          a = fallback_;
        } else {
          a = script_.front();
          script_.pop_front();
        }
      }
      if (a.silent) {
        held_.push_back(fd);
        continue;
      }
      const std::string out = "HTTP/1.1 " + std::to_string(a.status) +
                              " X\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n" +
                              a.body;
      size_t off = 0;
      while (off < out.size()) {
        const ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(fd);
    }
  }

  Answer fallback_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Answer> script_;
  std::vector<Received> requests_;
  std::vector<int> held_;  // touched by the server thread only, then by the destructor
};

const OutboundSms kSms{"+4520123456", "+4511111111", "Hi there! æ", "smsconsent:1:7:1700000000000"};

class SenderTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReplySender> Make(const std::string& name, json settings) {
    auto made = MakeReplySender(name, settings, *http_);
    if (!made.ok()) throw std::runtime_error(made.status().ToString());
    return std::move(made).value();
  }
  Status Refusal(const std::string& name, const json& settings) {
    auto made = MakeReplySender(name, settings, *http_);
    return made.ok() ? Status::Ok() : made.status();
  }

  std::unique_ptr<HttpClient> http_ = MakeBeastHttpClient();
};

// ---- Vonage -----------------------------------------------------------------------------------

constexpr char kVonageOk[] =
    R"({"message-count":"1","messages":[{"to":"4511111111","message-id":"0C000000217B7F02",)"
    R"("status":"0","remaining-balance":"15.53590000","message-price":"0.03330000",)"
    R"("network":"23801"}]})";

json VonageSettings(const StandIn& s) {
  return {{"api_key", "abcd1234"}, {"api_secret", "s3cr&t"}, {"api_base_url", s.Base() + "/"}};
}

TEST_F(SenderTest, VonageRequestHasTheSmsApiShape) {
  StandIn stand_in({200, kVonageOk});
  const SendOutcome out = Make("vonage", VonageSettings(stand_in))->Send(kSms);
  EXPECT_EQ(out.kind, SendOutcome::kSent) << out.error;
  EXPECT_EQ(out.provider_message_id, "0C000000217B7F02");

  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/sms/json");
  EXPECT_EQ(reqs[0].Header("authorization"), "Basic YWJjZDEyMzQ6czNjciZ0");  // abcd1234:s3cr&t
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  // E.164 without the '+'; "æ" is GSM-7, so no type.
  EXPECT_EQ(json::parse(reqs[0].body),
            json({{"from", "4520123456"}, {"to", "4511111111"}, {"text", "Hi there! æ"}}));
  EXPECT_EQ(reqs[0].Header("idempotency-key"), "");  // Vonage has none
}

TEST_F(SenderTest, VonageSendsTextOutsideGsm7AsUnicodeAndShortCodesAsTheyAre) {
  StandIn stand_in({200, kVonageOk});
  auto sender = Make("vonage", VonageSettings(stand_in));
  EXPECT_EQ(sender->Send({"12345", "+4511111111", "Привет 😀", ""}).kind, SendOutcome::kSent);
  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const json body = json::parse(reqs[0].body);
  EXPECT_EQ(body.value("type", ""), "unicode");
  EXPECT_EQ(body.value("from", ""), "12345");
  EXPECT_EQ(body.value("text", ""), "Привет 😀");
}

TEST_F(SenderTest, VonageLongTextSentInPartsKeepsTheFirstPartsId) {
  StandIn stand_in(
      {200, R"({"message-count":"2","messages":[)"
            R"({"status":"0","message-id":"PART1"},{"status":"0","message-id":"PART2"}]})"});
  const SendOutcome out = Make("vonage", VonageSettings(stand_in))->Send(kSms);
  EXPECT_EQ(out.kind, SendOutcome::kSent);
  EXPECT_EQ(out.provider_message_id, "PART1");
}

TEST_F(SenderTest, VonageStatusesAreClassified) {
  StandIn stand_in({200, kVonageOk});
  auto sender = Make("vonage", VonageSettings(stand_in));
  struct Case {
    std::string status;
    std::string text;
    SendOutcome::Kind kind;
  };
  const std::vector<Case> cases = {
      {"1", "Throughput Rate Exceeded - please wait [ 10 ] and retry", SendOutcome::kRetry},
      {"5", "Internal Error", SendOutcome::kRetry},
      {"10", "Too Many Existing Binds", SendOutcome::kRetry},
      {"2", "Missing to param", SendOutcome::kFailed},
      {"3", "Invalid to param", SendOutcome::kFailed},
      {"4", "Bad Credentials", SendOutcome::kFailed},
      {"6", "Unroutable message - rejected", SendOutcome::kFailed},
      {"7", "Number barred", SendOutcome::kFailed},
      {"9", "Quota Exceeded - rejected", SendOutcome::kFailed},
      {"15", "Illegal Sender Address - rejected", SendOutcome::kFailed},
      {"29", "Non White-listed Destination - rejected", SendOutcome::kFailed},
  };
  for (const Case& c : cases) {
    stand_in.Then({200, json({{"message-count", "1"},
                              {"messages", {{{"status", c.status}, {"error-text", c.text}}}}})
                            .dump()});
    const SendOutcome out = sender->Send(kSms);
    EXPECT_EQ(out.kind, c.kind) << c.status;
    EXPECT_EQ(out.provider_message_id, "") << c.status;
    EXPECT_EQ(out.error, "vonage: status " + c.status + ": " + c.text);
  }
  // A later part that did not leave decides, whatever the first did.
  stand_in.Then({200, R"({"message-count":"2","messages":[{"status":"0","message-id":"P1"},)"
                      R"({"status":"9","error-text":"Quota Exceeded - rejected"}]})"});
  const SendOutcome partial = sender->Send(kSms);
  EXPECT_EQ(partial.kind, SendOutcome::kFailed);
  EXPECT_EQ(partial.provider_message_id, "");
  // An answer without messages: whether anything left is unknown, so never retried.
  stand_in.Then({200, R"({"unexpected":true})"});
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kFailed);
}

TEST_F(SenderTest, VonageHttpErrorsKeepTheProblemText) {
  StandIn stand_in({200, kVonageOk});
  auto sender = Make("vonage", VonageSettings(stand_in));
  stand_in.Then({401,
                 R"({"type":"https://developer.nexmo.com/api-errors#unauthorized",)"
                 R"("title":"Unauthorized","detail":"You did not provide correct credentials."})"});
  stand_in.Then({429, R"({"title":"Too Many Requests"})"});
  stand_in.Then({503, "<html>Service Unavailable</html>"});
  const SendOutcome unauthorized = sender->Send(kSms);
  EXPECT_EQ(unauthorized.kind, SendOutcome::kFailed);
  EXPECT_EQ(unauthorized.error,
            "vonage: HTTP 401: Unauthorized: You did not provide correct credentials.");
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kRetry);
  const SendOutcome unavailable = sender->Send(kSms);
  EXPECT_EQ(unavailable.kind, SendOutcome::kRetry);
  EXPECT_EQ(unavailable.error, "vonage: HTTP 503: <html>Service Unavailable</html>");
}

// ---- Plivo ------------------------------------------------------------------------------------

constexpr char kPlivoOk[] =
    R"({"api_id":"db342550-7f1d-11e1-8ea7-1231380bc196","message":"message(s) queued",)"
    R"("message_uuid":["db3ce55a-7f1d-11e1-8ea7-1231380bc196"]})";

json PlivoSettings(const StandIn& s) {
  // auth_token is the webhook's key too (docs/webhooks.md#plivo).
  return {{"auth_id", "MAXXXXXXXXXXXXXXXXXX"},
          {"auth_token", "tok"},
          {"allow_v2", false},
          {"api_base_url", s.Base()}};
}

TEST_F(SenderTest, PlivoRequestHasTheMessageApiShape) {
  StandIn stand_in({202, kPlivoOk});
  const SendOutcome out = Make("plivo", PlivoSettings(stand_in))->Send(kSms);
  EXPECT_EQ(out.kind, SendOutcome::kSent) << out.error;
  EXPECT_EQ(out.provider_message_id, "db3ce55a-7f1d-11e1-8ea7-1231380bc196");

  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/");
  // MAXXXXXXXXXXXXXXXXXX:tok
  EXPECT_EQ(reqs[0].Header("authorization"), "Basic TUFYWFhYWFhYWFhYWFhYWFhYWFg6dG9r");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  EXPECT_EQ(json::parse(reqs[0].body),
            json({{"src", "+4520123456"}, {"dst", "+4511111111"}, {"text", "Hi there! æ"}}));
  EXPECT_EQ(reqs[0].Header("idempotency-key"), "");  // Plivo has none
}

TEST_F(SenderTest, PlivoErrorsAreClassifiedAndKeepPlivosMessage) {
  StandIn stand_in({202, kPlivoOk});
  auto sender = Make("plivo", PlivoSettings(stand_in));
  stand_in.Then({400, R"({"api_id":"x","error":"dst parameter is invalid"})"});
  stand_in.Then({401, R"({"api_id":"x","error":"authentication failed"})"});
  stand_in.Then({429, R"({"api_id":"x","error":"too many requests"})"});
  stand_in.Then({500, R"({"api_id":"x","error":"unexpected error"})"});
  const SendOutcome bad = sender->Send(kSms);
  EXPECT_EQ(bad.kind, SendOutcome::kFailed);
  EXPECT_EQ(bad.error, "plivo: HTTP 400: dst parameter is invalid");
  const SendOutcome auth = sender->Send(kSms);
  EXPECT_EQ(auth.kind, SendOutcome::kFailed);
  EXPECT_EQ(auth.error, "plivo: HTTP 401: authentication failed");
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kRetry);
  const SendOutcome server = sender->Send(kSms);
  EXPECT_EQ(server.kind, SendOutcome::kRetry);
  EXPECT_EQ(server.error, "plivo: HTTP 500: unexpected error");
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kSent);
}

// ---- Telnyx -----------------------------------------------------------------------------------

constexpr char kTelnyxOk[] =
    R"({"data":{"record_type":"message","direction":"outbound",)"
    R"("id":"40385f64-5717-4562-b3fc-2c963f66afa6","type":"SMS","text":"Hi there! æ"}})";

json TelnyxSettings(const StandIn& s) {
  // public_key verifies the webhook; api_key sends.
  return {{"public_key", "MCowBQYDK2VwAyEA"}, {"api_key", "KEY0123"}, {"api_base_url", s.Base()}};
}

TEST_F(SenderTest, TelnyxRequestHasTheMessagingApiShape) {
  StandIn stand_in({200, kTelnyxOk});
  const SendOutcome out = Make("telnyx", TelnyxSettings(stand_in))->Send(kSms);
  EXPECT_EQ(out.kind, SendOutcome::kSent) << out.error;
  EXPECT_EQ(out.provider_message_id, "40385f64-5717-4562-b3fc-2c963f66afa6");

  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v2/messages");
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer KEY0123");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].Header("idempotency-key"), "smsconsent:1:7:1700000000000");
  EXPECT_EQ(json::parse(reqs[0].body),
            json({{"from", "+4520123456"}, {"to", "+4511111111"}, {"text", "Hi there! æ"}}));
}

TEST_F(SenderTest, TelnyxSendsNoIdempotencyKeyWhenTheReplyHasNone) {
  StandIn stand_in({200, kTelnyxOk});
  OutboundSms sms = kSms;
  sms.idempotency_key.clear();
  EXPECT_EQ(Make("telnyx", TelnyxSettings(stand_in))->Send(sms).kind, SendOutcome::kSent);
  const std::vector<Received> reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  for (const auto& [name, value] : reqs[0].headers) {
    EXPECT_NE(name, "idempotency-key") << value;
  }
}

TEST_F(SenderTest, TelnyxErrorsAreClassifiedAndKeepTelnyxsDetail) {
  StandIn stand_in({200, kTelnyxOk});
  auto sender = Make("telnyx", TelnyxSettings(stand_in));
  stand_in.Then({422, R"({"errors":[{"code":"40310","title":"Invalid 'to' address",)"
                      R"("detail":"The 'to' address should be in +E.164 format."}]})"});
  stand_in.Then({401, R"({"errors":[{"code":"10009","title":"Authentication failed"}]})"});
  stand_in.Then({429, R"({"errors":[{"code":"10011","title":"Too many requests"}]})"});
  stand_in.Then({502, ""});
  const SendOutcome invalid = sender->Send(kSms);
  EXPECT_EQ(invalid.kind, SendOutcome::kFailed);
  EXPECT_EQ(invalid.error,
            "telnyx: HTTP 422: The 'to' address should be in +E.164 format. (code 40310)");
  const SendOutcome auth = sender->Send(kSms);
  EXPECT_EQ(auth.kind, SendOutcome::kFailed);
  EXPECT_EQ(auth.error, "telnyx: HTTP 401: Authentication failed (code 10009)");
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kRetry);
  const SendOutcome bad_gateway = sender->Send(kSms);
  EXPECT_EQ(bad_gateway.kind, SendOutcome::kRetry);
  EXPECT_EQ(bad_gateway.error, "telnyx: HTTP 502");
}

// ---- What every sender shares ------------------------------------------------------------------

TEST_F(SenderTest, ProviderMessagesAreBoundedAndPrintable) {
  StandIn stand_in({200, kTelnyxOk});
  const std::string long_detail = std::string(500, 'x') + "\n\xC3\xA6";
  stand_in.Then({400, json({{"errors", {{{"detail", long_detail}}}}}).dump()});
  const SendOutcome out = Make("telnyx", TelnyxSettings(stand_in))->Send(kSms);
  EXPECT_EQ(out.kind, SendOutcome::kFailed);
  EXPECT_EQ(out.error, "telnyx: HTTP 400: " + std::string(200, 'x') + "...");
}

TEST_F(SenderTest, TimeoutsAndRefusedConnectionsAreRetried) {
  for (const std::string name : {"vonage", "plivo", "telnyx"}) {
    StandIn stand_in({0, "", true});  // reads the request, never answers
    json settings = name == "vonage"  ? VonageSettings(stand_in)
                    : name == "plivo" ? PlivoSettings(stand_in)
                                      : TelnyxSettings(stand_in);
    settings["timeout_ms"] = 300;
    const auto start = std::chrono::steady_clock::now();
    const SendOutcome out = Make(name, settings)->Send(kSms);
    EXPECT_EQ(out.kind, SendOutcome::kRetry) << name << ": " << out.error;
    EXPECT_EQ(out.error.rfind(name + ": ", 0), 0u) << out.error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << name;
    EXPECT_EQ(stand_in.requests().size(), 1u) << name;

    // Nothing listens on port 1.
    settings["api_base_url"] = "http://127.0.0.1:1";
    EXPECT_EQ(Make(name, settings)->Send(kSms).kind, SendOutcome::kRetry) << name;
  }
}

TEST_F(SenderTest, MissingOrMistypedSettingsAreRefusedNamingTheSetting) {
  struct Case {
    std::string sender;
    json settings;
    std::string named;
  };
  const std::vector<Case> cases = {
      {"vonage", json::object(), "api_key"},
      {"vonage", {{"api_key", "k"}}, "api_secret"},
      {"vonage", {{"api_key", "k"}, {"api_secret", ""}}, "api_secret"},
      {"vonage", {{"api_key", 12}, {"api_secret", "s"}}, "api_key"},
      // The webhook's settings alone do not send.
      {"vonage", {{"signature_secret", "x"}}, "api_key"},
      {"plivo", {{"auth_token", "t"}}, "auth_id"},
      {"plivo", {{"auth_id", "MA1"}}, "auth_token"},
      {"plivo", {{"auth_id", "MA1"}, {"auth_token", "t"}, {"timeout_ms", -1}}, "timeout_ms"},
      {"telnyx", {{"public_key", "x"}}, "api_key"},
      {"telnyx", {{"api_key", "k"}, {"api_base_url", false}}, "api_base_url"},
  };
  for (const Case& c : cases) {
    const Status st = Refusal(c.sender, c.settings);
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << c.sender << " " << c.settings;
    EXPECT_NE(st.message().find(c.named), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(c.sender), std::string::npos) << st.message();
  }
  const Status unknown = Refusal("sinch", json::object());
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("telnyx"), std::string::npos) << unknown.message();
}

TEST_F(SenderTest, EveryNamedSenderCanBeBuilt) {
  const json settings = {{"account_sid", "AC1"}, {"auth_token", "t"}, {"sendsms_url", "http://k"},
                         {"username", "u"},      {"password", "p"},   {"api_key", "k"},
                         {"api_secret", "s"},    {"auth_id", "MA1"}};
  for (std::string_view name : kReplySenderNames) {
    auto made = MakeReplySender(std::string(name), settings, *http_);
    EXPECT_TRUE(made.ok()) << name << ": " << made.status().ToString();
  }
}

// ---- Delivery status callbacks and carrier opt-out codes ---------------------------------------

TEST_F(SenderTest, TwilioAsksForTheStatusCallbackAndKeepsTheErrorCode) {
  StandIn stand_in({201, R"({"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"})"});
  const json settings = {
      {"account_sid", "AC1"}, {"auth_token", "t"}, {"api_base_url", stand_in.Base()}};
  OutboundSms sms = kSms;
  sms.status_callback_url = "https://sms.example.com/webhooks/twilio/status";
  auto sender = Make("twilio", settings);
  EXPECT_EQ(sender->Send(sms).kind, SendOutcome::kSent);
  EXPECT_EQ(sender->Send(kSms).kind, SendOutcome::kSent);
  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 2u);
  auto form = ParseFormUrlEncoded(reqs[0].body);
  ASSERT_TRUE(form.ok());
  const std::string* callback = FindParam(*form, "StatusCallback");
  ASSERT_NE(callback, nullptr);
  EXPECT_EQ(*callback, "https://sms.example.com/webhooks/twilio/status");
  EXPECT_EQ(FindParam(*ParseFormUrlEncoded(reqs[1].body), "StatusCallback"), nullptr);

  // Twilio refuses a recipient who texted STOP to the sender with 400 and code 21610.
  stand_in.Then({400, R"({"code":21610,"message":"Attempt to send to unsubscribed recipient",)"
                      R"("more_info":"https://www.twilio.com/docs/errors/21610","status":400})"});
  const SendOutcome refused = sender->Send(kSms);
  EXPECT_EQ(refused.kind, SendOutcome::kFailed);
  EXPECT_EQ(refused.error_code, "21610");
  EXPECT_NE(refused.error.find("unsubscribed recipient"), std::string::npos) << refused.error;
}

TEST_F(SenderTest, TelnyxAsksForTheWebhookUrlAndKeepsTheErrorCode) {
  StandIn stand_in({200, kTelnyxOk});
  OutboundSms sms = kSms;
  sms.status_callback_url = "https://sms.example.com/webhooks/telnyx/status";
  auto sender = Make("telnyx", TelnyxSettings(stand_in));
  EXPECT_EQ(sender->Send(sms).kind, SendOutcome::kSent);
  auto reqs = stand_in.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(json::parse(reqs[0].body).value("webhook_url", ""),
            "https://sms.example.com/webhooks/telnyx/status");

  stand_in.Then({400, R"({"errors":[{"code":"40300","title":"Blocked due to STOP message"}]})"});
  const SendOutcome refused = sender->Send(kSms);
  EXPECT_EQ(refused.kind, SendOutcome::kFailed);
  EXPECT_EQ(refused.error_code, "40300");
}

TEST_F(SenderTest, PlivoAndVonageAskForTheirStatusUrl) {
  StandIn plivo({202, kPlivoOk});
  OutboundSms sms = kSms;
  sms.status_callback_url = "https://sms.example.com/webhooks/plivo/status";
  EXPECT_EQ(Make("plivo", PlivoSettings(plivo))->Send(sms).kind, SendOutcome::kSent);
  EXPECT_EQ(json::parse(plivo.requests().at(0).body).value("url", ""), sms.status_callback_url);

  StandIn vonage({200, kVonageOk});
  sms.status_callback_url = "https://sms.example.com/webhooks/vonage/status";
  EXPECT_EQ(Make("vonage", VonageSettings(vonage))->Send(sms).kind, SendOutcome::kSent);
  EXPECT_EQ(json::parse(vonage.requests().at(0).body).value("callback", ""),
            sms.status_callback_url);
}

}  // namespace
}  // namespace smsconsent
