// What the CLI end-to-end tests share: running the real binary (SMSCONSENT_BINARY, set by
// CMake) through the shell with its output captured in files, and reading them back.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace smsconsent::cli_test {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
  // stdout as JSON; null when it is not JSON.
  nlohmann::json Json() const {
    nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }
};

// An empty directory for the running test's files: TMPDIR/smsconsent-NAME-PID-TEST, emptied
// first if an earlier run left it. The caller removes it in TearDown().
inline std::filesystem::path FreshTestDir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("smsconsent-" + name + "-" + std::to_string(getpid()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// `s` in single quotes for sh.
inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `smsconsent --db DB [--json] ARGS…` to completion with standard input from `stdin_path`
// and its stdout and stderr in files in `dir` (overwritten by the next run).
inline CliRun RunBinary(const std::string& db, const std::vector<std::string>& args, bool json_flag,
                        const std::filesystem::path& dir,
                        const std::string& stdin_path = "/dev/null") {
  std::string cmd = ShellQuote(SMSCONSENT_BINARY) + " --db " + ShellQuote(db);
  if (json_flag) cmd += " --json";
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  const std::filesystem::path out = dir / "stdout", err = dir / "stderr";
  cmd += " <" + ShellQuote(stdin_path) + " >" + ShellQuote(out.string()) + " 2>" +
         ShellQuote(err.string());
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = ReadAll(out);
  r.err = ReadAll(err);
  return r;
}

}  // namespace smsconsent::cli_test
