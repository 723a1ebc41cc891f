// Helpers for integration tests that run the real `smsconsent` binary (SMSCONSENT_BINARY, set
// by CMake): a fresh database on the store under test, the CLI to set it up, and `smsconsent
// serve` on 127.0.0.1 port 0. Nothing here uses the production code, so a test built on it
// sees the service from outside.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../store/pg_test_util.h"

namespace smsconsent::serve_fixture {

// ---- The store under test ----
// SQLite files by default; PostgreSQL with SMSCONSENT_TEST_STORE=postgres, which is how CMake
// registers the pg.* copy of these tests: each database is then a schema of its own in the
// test cluster (SMSCONSENT_TEST_POSTGRES_URL, tests/store/pg_test_util.h).
inline bool OnPostgres() {
  const char* store = std::getenv("SMSCONSENT_TEST_STORE");
  return store != nullptr && std::string(store) == "postgres";
}

// Why the store under test cannot be used here ("" when it can): PostgreSQL asked for without
// a cluster.
inline std::string StoreUnavailable() { return OnPostgres() ? testing_pg::Unavailable() : ""; }

// For a fixture's SetUp(): skips the test when the store under test cannot be used, or fails it
// when CI=true (CI never passes without the PostgreSQL tests). Per test, since not every
// GoogleTest version skips a suite from SetUpTestSuite().
inline void SkipOrFailWithoutStore() {
  const std::string why = StoreUnavailable();
  if (why.empty()) return;
  if (testing_pg::InCi()) FAIL() << "CI=true, so not skipped: " << why;
  GTEST_SKIP() << why;
}

// An empty directory for a test suite's files: TMPDIR/smsconsent-NAME-PID, emptied first if an
// earlier run left it. The suite removes it in TearDownTestSuite().
inline std::filesystem::path FreshDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("smsconsent-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A fresh, empty database for `smsconsent --db`: the file `dir/name`, or on PostgreSQL the
// cluster's URL with a new schema; "" when the store cannot be used (SetUpTestSuite() then
// returns at once, and SkipOrFailWithoutStore() in SetUp() reports it).
inline std::string NewDatabase(const std::filesystem::path& dir, const std::string& name) {
  if (!OnPostgres()) return (dir / name).string();
  if (!StoreUnavailable().empty()) return "";
  return testing_pg::StoreUrl(testing_pg::NewSchemaName(), /*pool=*/8);
}

// Removes what NewDatabase made on PostgreSQL (its schema); a SQLite file goes with its
// directory. Call after the servers using it have stopped.
inline void DropDatabase(const std::string& db) {
  const size_t at = db.find("schema=");
  if (db.rfind("postgresql://", 0) != 0 || at == std::string::npos) return;
  const size_t start = at + 7;
  const std::string schema = db.substr(start, db.find('&', start) - start);
  try {
    testing_pg::DropSchema(schema);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping test schema " << schema << ": " << e.what();
  }
}

// Runs `smsconsent --db DB --json ARGS…` to completion; returns its stdout (stderr is
// discarded) and the exit code through `rc`. Arguments must not contain a single quote.
inline std::string RunCli(const std::string& db, const std::vector<std::string>& args,
                          int* rc = nullptr) {
  std::string cmd = std::string(SMSCONSENT_BINARY) + " --db '" + db + "' --json";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (p == nullptr) {
    if (rc) *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// RunCli for a command that must succeed: a non-fatal failure when it exits non-zero, unless
// `rc_out` is given, which then receives the exit code instead. Returns its stdout as JSON,
// null when it is not JSON.
inline nlohmann::json Cli(const std::string& db, const std::vector<std::string>& args,
                          int* rc_out = nullptr) {
  int rc = 0;
  const std::string out = RunCli(db, args, &rc);
  if (rc_out != nullptr) {
    *rc_out = rc;
  } else {
    EXPECT_EQ(rc, 0) << "smsconsent " << args.front() << " failed: " << out;
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

// The end of a test that ran servers: its PostgreSQL schema dropped, if it has one (after
// ending the sessions that instances it killed may have left), and its directory removed --
// or kept, and named, when the test failed, for the servers' logs in it.
inline void DropTestState(const std::string& schema, const std::filesystem::path& dir,
                          bool failed) {
  if (!schema.empty()) {
    try {
      testing_pg::TerminateBackends(schema);
      testing_pg::DropSchema(schema);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      failed = true;
    }
  }
  if (failed) {
    std::printf("server logs kept in %s\n", dir.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

// The value of the header `name` (exact spelling) of a response whose `headers` are (name,
// value) pairs, such as HttpClientResponse; "" when it has none.
template <typename Response>
std::string HeaderOf(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// Percent-encodes everything but RFC 3986 unreserved characters (so a space is %20).
inline std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// An application/x-www-form-urlencoded body of `params`, in the order given.
inline std::string Form(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += "&";
    out += PercentEncode(k) + "=" + PercentEncode(v);
  }
  return out;
}

// X-Twilio-Signature as Twilio computes it (twilio-node webhooks.getExpectedTwilioSignature):
// base64(HMAC-SHA1(auth token, the URL + every POST parameter sorted by name, each as name then
// value, no separators)).
inline std::string TwilioSignature(const std::string& token, const std::string& url,
                                   std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string data = url;
  for (const auto& [name, value] : params) data += name + value;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(len))));
  return out;
}

// A running `smsconsent serve`.
struct ServeProcess {
  pid_t pid = -1;
  std::string base_url;  // "http://127.0.0.1:PORT"
};

// What else a test may choose for the server process.
struct ServeSetup {
  std::string listen = "127.0.0.1:0";
  // NAME=VALUE settings added to the test's own environment: a setting given this way is
  // ignored by a binary that does not know it, where an unknown flag would stop it.
  std::vector<std::string> env;
  // The limit on open files (RLIMIT_NOFILE, soft and hard) of the process; 0 keeps the test's.
  rlim_t max_open_files = 0;
};

// Starts `smsconsent --db DB serve --listen 127.0.0.1:0 EXTRA_ARGS…` with its stderr in
// `log_path`, and returns once it accepts connections (it prints its address on stdout then).
// Fails the current test (fatally) when it does not start; check HasFatalFailure().
inline void StartServe(const std::string& db, const std::string& log_path,
                       const std::vector<std::string>& extra_args, ServeProcess* out,
                       const ServeSetup& setup = {}) {
  // Everything the child needs is built before fork: only exec-safe calls happen after it.
  std::vector<std::string> args = {SMSCONSENT_BINARY, "--db",     db,
                                   "serve",           "--listen", setup.listen};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = setup.env;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const struct rlimit open_files = {setup.max_open_files, setup.max_open_files};
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    const int err = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    if (setup.max_open_files > 0) setrlimit(RLIMIT_NOFILE, &open_files);
    execve(SMSCONSENT_BINARY, argv.data(), envp.data());
    _exit(127);
  }
  out->pid = pid;
  close(pipe_fds[1]);
  std::string line;
  char c;
  while (read(pipe_fds[0], &c, 1) == 1 && c != '\n') line += c;
  close(pipe_fds[0]);
  const std::string prefix = "smsconsent listening on http://";
  ASSERT_EQ(line.rfind(prefix, 0), 0u)
      << "unexpected first line: " << line << " (see " << log_path << ")";
  out->base_url = "http://" + line.substr(prefix.size());
}

// Stops the server gracefully (SIGTERM) and waits for it; returns its exit status as
// waitpid reports it, or -1 when it was not running.
inline int StopServe(ServeProcess& p) {
  if (p.pid <= 0) return -1;
  kill(p.pid, SIGTERM);
  int status = 0;
  waitpid(p.pid, &status, 0);
  p.pid = -1;
  return status;
}

}  // namespace smsconsent::serve_fixture
