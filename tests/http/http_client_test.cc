// The Beast HttpClient against a tiny raw-socket HTTP server on 127.0.0.1 (port 0): what goes
// on the wire, how responses are read, and how connection failures and timeouts are reported.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"

namespace smsconsent {
namespace {

// Accepts connections one at a time. For each, reads one request (headers and a
// Content-Length body) unless `read_request` is false, then writes what `respond` returns and
// closes; a nullopt answer keeps the connection open and silent until the server stops.
class TinyServer {
 public:
  using Responder = std::function<std::optional<std::string>(const std::string& request)>;

  // `on_accept`, if set, takes over each accepted connection (and its answer); the server
  // closes the socket afterwards.
  explicit TinyServer(Responder respond, bool read_request = true,
                      std::function<void(int fd)> on_accept = nullptr)
      : respond_(std::move(respond)),
        read_request_(read_request),
        on_accept_(std::move(on_accept)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0 || pipe(stop_pipe_) != 0) {
      throw std::runtime_error("cannot start the test server");
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyServer() {
    (void)!write(stop_pipe_[1], "x", 1);
    thread_.join();
    for (int fd : held_) close(fd);
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  int port() const { return port_; }
  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  // Waits for `fd` to be readable; false when the server is stopping.
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  std::string ReadRequest(int fd) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t need = 0;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          header_end += 4;
          std::string lower = data.substr(0, header_end);
          for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
          size_t cl = lower.find("\r\ncontent-length:");
          need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 17));
        }
      }
      if (header_end != std::string::npos && data.size() >= header_end + need) return data;
      if (!WaitReadable(fd)) return data;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return data;
      data.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      if (on_accept_) {
        on_accept_(fd);
        close(fd);
        continue;
      }
      std::string request = read_request_ ? ReadRequest(fd) : "";
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      std::optional<std::string> answer = respond_(request);
      if (!answer.has_value()) {
        held_.push_back(fd);  // silent until the server stops
        continue;
      }
      size_t off = 0;
      while (off < answer->size()) {
        ssize_t n = send(fd, answer->data() + off, answer->size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(fd);
    }
  }

  Responder respond_;
  bool read_request_;
  std::function<void(int fd)> on_accept_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::vector<int> held_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

std::optional<std::string> Reply(const std::string& raw) { return raw; }

std::string HeaderValue(const HttpClientResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(BeastHttpClient, SendsMethodTargetHeadersAndBodyAndReadsTheResponse) {
  TinyServer server([](const std::string&) {
    return Reply(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: Abc\r\n"
        "Content-Length: 13\r\n\r\n{\"sid\":\"SM1\"}");
  });
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.method = "POST";
  req.url = server.Url("/2010-04-01/Accounts/AC1/Messages.json?x=1&y=%20");
  req.headers = {{"Authorization", "Basic QUMxOnQ="},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "From=%2B1555&To=%2B1415&Body=Hi";
  auto resp = client->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 201);
  EXPECT_EQ(resp->body, "{\"sid\":\"SM1\"}");
  EXPECT_EQ(HeaderValue(*resp, "x-request-id"), "Abc");  // names lowercased, values kept
  EXPECT_EQ(HeaderValue(*resp, "content-type"), "application/json");

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  const std::string& r = seen[0];
  EXPECT_EQ(r.rfind("POST /2010-04-01/Accounts/AC1/Messages.json?x=1&y=%20 HTTP/1.1\r\n", 0), 0u)
      << r;
  EXPECT_NE(r.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("\r\nUser-Agent: smsconsent/0.1\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nAuthorization: Basic QUMxOnQ=\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nContent-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: 31\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "From=%2B1555&To=%2B1415&Body=Hi");
}

TEST(BeastHttpClient, ErrorStatusesAreResultsNotErrors) {
  TinyServer server([](const std::string&) {
    return Reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 7\r\n\r\nbusy!!!");
  });
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.url = server.Url("/cgi-bin/sendsms?username=u&text=hi");
  auto resp = client->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 503);
  EXPECT_EQ(resp->body, "busy!!!");
  const std::string r = server.requests().at(0);
  EXPECT_EQ(r.rfind("GET /cgi-bin/sendsms?username=u&text=hi HTTP/1.1\r\n", 0), 0u) << r;
  EXPECT_EQ(r.find("Content-Length"), std::string::npos) << r;  // a GET without a body
}

TEST(BeastHttpClient, ReadsChunkedAndCloseDelimitedBodies) {
  TinyServer chunked([](const std::string&) {
    return Reply(
        "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\n0: \r\n15\r\nAccepted for delivery\r\n0\r\n\r\n");
  });
  TinyServer until_close([](const std::string&) {
    return Reply("HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n0: Accepted for delivery");
  });
  auto client = MakeBeastHttpClient();
  for (TinyServer* s : {&chunked, &until_close}) {
    HttpClientRequest req;
    req.url = s->Url("/");
    auto resp = client->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->status, 202);
    EXPECT_EQ(resp->body, "0: Accepted for delivery");
  }
}

TEST(BeastHttpClient, TimesOutAgainstAServerThatNeverAnswers) {
  TinyServer silent([](const std::string&) { return std::optional<std::string>(); });
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.method = "POST";
  req.url = silent.Url("/slow?password=secret");
  req.body = "x";
  req.timeout = std::chrono::milliseconds(200);
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  const std::string& m = resp.status().message();
  EXPECT_NE(m.find("timed out after 200 ms"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(silent.port())), std::string::npos) << m;
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;  // queries may carry credentials
}

TEST(BeastHttpClient, ConnectionRefusedIsUnavailable) {
  int port = 0;
  {
    // A port that was free a moment ago and has no listener now.
    TinyServer gone([](const std::string&) { return Reply(""); });
    port = gone.port();
  }
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << resp.status().message();
  EXPECT_NE(resp.status().message().find("refused"), std::string::npos) << resp.status().message();
}

TEST(BeastHttpClient, ServerClosingWithoutAnAnswerIsUnavailable) {
  TinyServer rude([](const std::string&) { return Reply(""); });
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.url = rude.Url("/");
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable) << resp.status().ToString();
}

TEST(BeastHttpClient, OversizedResponseBodyIsUnavailable) {
  const std::string over(size_t{1} << 20 | 1, 'x');  // 1 MiB + 1
  // Announced by Content-Length (refused before reading it), in one oversized chunk, and
  // delimited by the close.
  TinyServer by_length([](const std::string&) {
    return Reply("HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n" + std::string(1024, 'x'));
  });
  TinyServer by_chunk([](const std::string&) {
    return Reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\nxxxx");
  });
  TinyServer by_close([&](const std::string&) {
    return Reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + over);
  });
  auto client = MakeBeastHttpClient();
  for (TinyServer* s : {&by_length, &by_chunk, &by_close}) {
    HttpClientRequest req;
    req.url = s->Url("/");
    auto resp = client->Send(req);
    ASSERT_FALSE(resp.ok()) << s->port();
    EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(resp.status().message().find("larger than 1048576 bytes"), std::string::npos)
        << resp.status().message();
  }
}

TEST(BeastHttpClient, HttpsToAPlainHttpServerFailsTheHandshake) {
  TinyServer plain([](const std::string&) { return Reply("HTTP/1.1 400 Bad Request\r\n\r\n"); },
                   /*read_request=*/false);
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/";
  req.timeout = std::chrono::milliseconds(5000);
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("TLS handshake"), std::string::npos)
      << resp.status().message();
}

// A TLS server with a freshly made self-signed certificate for the IP address `san_ip`. It
// answers one GET with 200 "secure". Trust it with TrustedClient().
class SelfSignedTlsServer {
 public:
  explicit SelfSignedTlsServer(const std::string& san_ip = "127.0.0.1") {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("smsconsent test"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    for (const std::string& ext :
         {"subjectAltName=IP:" + san_ip, std::string("basicConstraints=critical,CA:TRUE")}) {
      const size_t eq = ext.find('=');
      X509_EXTENSION* e =
          X509V3_EXT_conf(nullptr, &v3, ext.substr(0, eq).c_str(), ext.substr(eq + 1).c_str());
      X509_add_ext(cert, e, -1);
      X509_EXTENSION_free(e);
    }
    X509_sign(cert, key, EVP_sha256());
    if (SSL_CTX_use_certificate(ctx_, cert) != 1 || SSL_CTX_use_PrivateKey(ctx_, key) != 1) {
      throw std::runtime_error("cannot set up the TLS test server");
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "smsconsent-tls-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    FILE* f = fd >= 0 ? fdopen(fd, "w") : nullptr;
    if (f == nullptr || PEM_write_X509(f, cert) != 1) throw std::runtime_error("cert file");
    fclose(f);
    cert_file_ = tmpl;
    X509_free(cert);
    EVP_PKEY_free(key);
    server_ = std::make_unique<TinyServer>(
        [](const std::string&) { return std::optional<std::string>(); }, /*read_request=*/false,
        [this](int fd) { Serve(fd); });
  }
  ~SelfSignedTlsServer() {
    server_.reset();
    SSL_CTX_free(ctx_);
    std::filesystem::remove(cert_file_);
  }
  int port() const { return server_->port(); }

  // A client that trusts this server's certificate (OpenSSL's default verify paths honour
  // SSL_CERT_FILE when the client is made).
  std::unique_ptr<HttpClient> TrustedClient() const {
    setenv("SSL_CERT_FILE", cert_file_.c_str(), 1);
    auto client = MakeBeastHttpClient();
    unsetenv("SSL_CERT_FILE");
    return client;
  }

 private:
  void Serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {  // fails when the client rejects the certificate
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
      SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
    }
    SSL_free(ssl);
  }

  SSL_CTX* ctx_ = nullptr;
  std::string cert_file_;
  std::unique_ptr<TinyServer> server_;
};

TEST(BeastHttpClient, HttpsRefusesACertificateTheSystemDoesNotTrust) {
  SelfSignedTlsServer server;
  auto client = MakeBeastHttpClient();
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  req.timeout = std::chrono::milliseconds(5000);
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("certificate verify failed"), std::string::npos)
      << resp.status().message();
}

TEST(BeastHttpClient, HttpsWorksWithATrustedCertificateForTheHost) {
  SelfSignedTlsServer server("127.0.0.1");
  auto client = server.TrustedClient();
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/status";
  req.timeout = std::chrono::milliseconds(5000);
  auto resp = client->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "secure");
}

TEST(BeastHttpClient, HttpsRefusesATrustedCertificateForAnotherHost) {
  SelfSignedTlsServer server("127.0.0.2");
  auto client = server.TrustedClient();
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  req.timeout = std::chrono::milliseconds(5000);
  auto resp = client->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("certificate verify failed"), std::string::npos)
      << resp.status().message();
}

TEST(BeastHttpClient, MalformedUrlsAreInvalidArgument) {
  auto client = MakeBeastHttpClient();
  for (const char* url :
       {"ftp://example.com/", "http://", "127.0.0.1:8080/x", "http://:80/", "http://h:99999/",
        "http://h:8x/", "http://user:pw@example.com/", "http://example.com/a b", "http://[::1/",
        "https://example.com/\r\nX: y"}) {
    HttpClientRequest req;
    req.url = url;
    auto resp = client->Send(req);
    ASSERT_FALSE(resp.ok()) << url;
    EXPECT_EQ(resp.status().code(), StatusCode::kInvalidArgument) << url;
  }
  HttpClientRequest secret;
  secret.url = "gopher://example.com/?password=hunter2";
  auto resp = client->Send(secret);
  EXPECT_EQ(resp.status().message().find("hunter2"), std::string::npos);

  HttpClientRequest header_injection;
  header_injection.url = "http://127.0.0.1:1/";
  header_injection.headers = {{"X-A", "1\r\nX-Injected: 2"}};
  EXPECT_EQ(client->Send(header_injection).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smsconsent
