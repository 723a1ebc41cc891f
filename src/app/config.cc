#include "app/config.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "store/store.h"

namespace smsconsent {
namespace {

constexpr int64_t kMaxReplyMaxAgeS = 30 * 24 * 3600;  // 30 days

}  // namespace

void AddServeOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--config", c.config_file,
                 "read settings from a file of `key = value` lines, the keys being "
                 "these options' long names (e.g. listen = 127.0.0.1:8080)")
      ->check(CLI::ExistingFile)
      ->configurable(false);
  cmd.add_option("--listen", c.listen, "address to listen on, HOST:PORT (port 0: any free)")
      ->envname("SMSCONSENT_LISTEN")
      ->capture_default_str();
  cmd.add_option("--web-dir", c.web_dir,
                 "serve the web page (/app/) from this folder instead of the copy built in")
      ->envname("SMSCONSENT_WEB_DIR")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--public-url", c.public_url,
                 "public base URL providers call (for signature checks behind a proxy)")
      ->envname("SMSCONSENT_PUBLIC_URL");
  cmd.add_option("--threads", c.threads,
                 "I/O + handler threads; 0: two per CPU core (at least 4) on SQLite, where a "
                 "webhook waits for its group commit without a thread, 16 on PostgreSQL, "
                 "where each store call waits for a network round trip")
      ->envname("SMSCONSENT_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_option("--max-body-bytes", c.max_body_bytes, "largest accepted request body (413 above)")
      ->envname("SMSCONSENT_MAX_BODY_BYTES")
      ->check(CLI::Range(int64_t{1024}, int64_t{64} << 20))
      ->capture_default_str();
  cmd.add_option("--request-timeout-ms", c.request_timeout_ms, "deadline to read/write a request")
      ->envname("SMSCONSENT_REQUEST_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{100}, int64_t{600'000}))
      ->capture_default_str();
  cmd.add_option("--idle-timeout-ms", c.idle_timeout_ms, "keep-alive idle limit")
      ->envname("SMSCONSENT_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{100}, int64_t{3'600'000}))
      ->capture_default_str();
  cmd.add_option("--shutdown-grace-ms", c.shutdown_grace_ms,
                 "on SIGTERM/SIGINT, time allowed for in-flight requests")
      ->envname("SMSCONSENT_SHUTDOWN_GRACE_MS")
      ->capture_default_str();
  cmd.add_flag("--log-json,!--no-log-json", c.log_json, "log as JSON lines")
      ->envname("SMSCONSENT_LOG_JSON");
  cmd.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->envname("SMSCONSENT_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  cmd.add_flag("--dispatch,!--no-dispatch", c.dispatch,
               "send queued replies from this process (default on)")
      ->envname("SMSCONSENT_DISPATCH");
  cmd.add_flag("--group-commit,!--no-group-commit", c.group_commit,
               "commit concurrent requests together, one fsync per batch; nothing is answered "
               "before its batch is durable (default on)")
      ->envname("SMSCONSENT_GROUP_COMMIT");
  cmd.add_option("--commit-writers", c.commit_writers,
                 "group commit writer threads, each writing its own batches; 0: 1 on SQLite, 4 "
                 "on PostgreSQL")
      ->envname("SMSCONSENT_COMMIT_WRITERS")
      ->check(CLI::Range(0, 32))
      ->capture_default_str();
  cmd.add_option("--outbox-poll-ms", c.outbox_poll_ms, "outbox dispatcher wake-up interval")
      ->envname("SMSCONSENT_OUTBOX_POLL_MS")
      ->check(CLI::Range(int64_t{10}, int64_t{600'000}))
      ->capture_default_str();
  cmd.add_option("--outbox-lease-ms", c.outbox_lease_ms,
                 "how long the reply being sent stays leased to this instance; if the instance "
                 "dies meanwhile, the reply is marked dead (never sent twice) when it runs out")
      ->envname("SMSCONSENT_OUTBOX_LEASE_MS")
      ->check(CLI::Range(int64_t{100}, int64_t{3'600'000}))
      ->capture_default_str();
  cmd.add_option("--reply-max-age-s", c.reply_max_age_s,
                 "an opt-in confirmation (or any reply that depends on the contact's status) not "
                 "sent within this many seconds of being queued expires unsent")
      ->envname("SMSCONSENT_REPLY_MAX_AGE_S")
      ->check(CLI::Range(int64_t{1}, kMaxReplyMaxAgeS))
      ->capture_default_str();
  cmd.add_option("--opt-out-confirmation-max-age-s", c.opt_out_confirmation_max_age_s,
                 "an opt-out confirmation not sent within this many seconds of being queued "
                 "expires unsent (the FCC presumes one sent within five minutes to be within "
                 "consent)")
      ->envname("SMSCONSENT_OPT_OUT_CONFIRMATION_MAX_AGE_S")
      ->check(CLI::Range(int64_t{1}, kMaxReplyMaxAgeS))
      ->capture_default_str();
  cmd.add_option("--help-reply-max-age-s", c.help_reply_max_age_s,
                 "a HELP answer not sent within this many seconds of being queued expires unsent")
      ->envname("SMSCONSENT_HELP_REPLY_MAX_AGE_S")
      ->check(CLI::Range(int64_t{1}, kMaxReplyMaxAgeS))
      ->capture_default_str();
  cmd.add_option("--message-max-age-s", c.message_max_age_s,
                 "a message sent through POST /v1/messages not sent within this many seconds of "
                 "being due expires unsent")
      ->envname("SMSCONSENT_MESSAGE_MAX_AGE_S")
      ->check(CLI::Range(int64_t{1}, kMaxReplyMaxAgeS))
      ->capture_default_str();
  cmd.add_option("--confirmation-window-days", c.confirmation_window_days,
                 "on a number with double opt-in, a contact's YES confirms their opt-in only "
                 "within this many days of the latest request to confirm")
      ->envname("SMSCONSENT_CONFIRMATION_WINDOW_DAYS")
      ->check(CLI::Range(int64_t{1}, int64_t{365}))
      ->capture_default_str();
  cmd.add_option("--review-highlight-after-s", c.review_highlight_after_s,
                 "a possible opt-out still unreviewed after this many seconds is marked overdue "
                 "and highlighted on the activity page")
      ->envname("SMSCONSENT_REVIEW_HIGHLIGHT_AFTER_S")
      ->check(CLI::Range(int64_t{1}, kMaxReplyMaxAgeS))
      ->capture_default_str();
  cmd.add_option("--ledger-integrate-interval-ms", c.ledger_integrate_interval_ms,
                 "how often events written are integrated into the accounts' Merkle trees "
                 "(the verifiable ledger; every written event is durable and in effect at once)")
      ->envname("SMSCONSENT_LEDGER_INTEGRATE_INTERVAL_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{60'000}))
      ->capture_default_str();
  cmd.add_option("--tree-head-interval-s", c.tree_head_interval_s,
                 "while an account's ledger grows, sign a new tree head at most this often "
                 "(a proof signs one when it needs it)")
      ->envname("SMSCONSENT_TREE_HEAD_INTERVAL_S")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}))
      ->capture_default_str();
  cmd.add_option("--job-lease-ms", c.job_lease_ms,
                 "how long a bulk or import job stays leased to this instance between chunks; "
                 "if the instance dies, another one resumes the job when it runs out")
      ->envname("SMSCONSENT_JOB_LEASE_MS")
      ->check(CLI::Range(int64_t{100}, int64_t{3'600'000}))
      ->capture_default_str();
  cmd.add_option("--job-chunk-rows", c.job_chunk_rows,
                 "rows a bulk or import job applies per transaction")
      ->envname("SMSCONSENT_JOB_CHUNK_ROWS")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd.add_option("--instance-id", c.instance_id,
                 "name of this instance (owner of its outbox and job leases)")
      ->envname("SMSCONSENT_INSTANCE_ID");
  cmd.add_option("--metrics", c.metrics,
                 "who may read /metrics: off (404), loopback (peers on 127.0.0.0/8 or ::1, not "
                 "through a proxy; 403 for others) or token (Authorization: Bearer "
                 "<--metrics-token>; 401 without)")
      ->envname("SMSCONSENT_METRICS")
      ->check(CLI::IsMember({"off", "loopback", "token"}))
      ->capture_default_str();
  cmd.add_option("--metrics-token", c.metrics_token,
                 "the token /metrics needs with --metrics token (16 to 256 visible ASCII "
                 "characters); prefer the environment variable or the config file to the flag, "
                 "which other users of the machine can see")
      ->envname("SMSCONSENT_METRICS_TOKEN")
      ->check(CLI::Validator(
          [](std::string& token) -> std::string {
            if (token.size() < 16 || token.size() > 256) {
              return "must be 16 to 256 characters long";
            }
            for (char ch : token) {
              if (ch <= ' ' || ch > '~') return "must be visible ASCII characters only";
            }
            return "";
          },
          "TOKEN"));
  cmd.add_option("--max-connections", c.max_connections,
                 "open client connections; past it a new one is answered 503 and closed (0: "
                 "1024, or half the open-file limit when that is lower)")
      ->envname("SMSCONSENT_MAX_CONNECTIONS")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->capture_default_str();
  cmd.add_option("--signin-threads", c.signin_threads,
                 "threads that check sign-in passwords (Argon2id, 19 MiB each)")
      ->envname("SMSCONSENT_SIGNIN_THREADS")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd.add_option("--signin-queue", c.signin_queue,
                 "sign-ins that may wait for a thread; past it, 429 with Retry-After")
      ->envname("SMSCONSENT_SIGNIN_QUEUE")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd.add_option("--signin-rate", c.signin_rate,
                 "sign-ins per second from all clients together (a burst of as many); past it, "
                 "429 with Retry-After")
      ->envname("SMSCONSENT_SIGNIN_RATE")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
}

int64_t MaxConnections(const ServeConfig& config, uint64_t open_file_limit) {
  if (config.max_connections > 0) return config.max_connections;
  constexpr int64_t kDefault = 1024;
  const uint64_t half = open_file_limit / 2;
  return std::max<int64_t>(
      1, half < static_cast<uint64_t>(kDefault) ? static_cast<int64_t>(half) : kDefault);
}

Status CheckServeConfig(const ServeConfig& config) {
  if (config.metrics == "token" && config.metrics_token.empty()) {
    return InvalidArgument(
        "--metrics token needs the token: --metrics-token or SMSCONSENT_METRICS_TOKEN");
  }
  return Status::Ok();
}

ReplyMaxAges ReplyMaxAgesOf(const ServeConfig& config) {
  ReplyMaxAges ages;
  ages.reply_ms = config.reply_max_age_s * 1000;
  ages.opt_out_confirmation_ms = config.opt_out_confirmation_max_age_s * 1000;
  ages.help_ms = config.help_reply_max_age_s * 1000;
  ages.message_ms = config.message_max_age_s * 1000;
  return ages;
}

Status ApplyServeConfigFile(CLI::App& cmd) {
  const CLI::Option* file_option = cmd.get_option_no_throw("--config");
  if (file_option == nullptr || file_option->count() == 0) return Status::Ok();
  const std::string path = file_option->as<std::string>();
  // The file's own keys are options of `cmd`: CLI11's INI reader gives each as a name and its
  // values, which go in as if given on the command line (validators included).
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigINI().from_file(path);
  } catch (const CLI::Error& e) {
    return InvalidArgument("config file " + path + ": " + e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    // CLI11 marks where a [section] starts and ends with items named "++" and "--".
    if (item.name == "++" || item.name == "--") {
      return InvalidArgument("config file " + path + ": [" + CLI::detail::join(item.parents, ".") +
                             "]: sections are not used; write the keys at the top level");
    }
    const std::string where = "config file " + path + ", " + item.fullname() + ": ";
    CLI::Option* option =
        item.parents.empty() ? cmd.get_option_no_throw("--" + item.name) : nullptr;
    if (option == nullptr || !option->get_configurable()) {
      return InvalidArgument(where + "no such setting (see smsconsent serve --help)");
    }
    if (option->count() > 0) continue;  // a flag or an environment variable wins
    try {
      if (option->get_expected_min() == 0) {  // a flag: true or false
        if (item.inputs.size() != 1) return InvalidArgument(where + "expected true or false");
        option->add_result(option->get_flag_value(item.name, item.inputs.front()));
      } else {
        option->add_result(item.inputs);
      }
      option->run_callback();
    } catch (const CLI::Error& e) {
      return InvalidArgument(where + e.what());
    }
  }
  return Status::Ok();
}

int HandlerThreads(const ServeConfig& config, bool networked_store, unsigned cores) {
  if (config.threads > 0) return config.threads;
  if (networked_store) return 16;
  return std::max(4, 2 * static_cast<int>(cores));
}

int CommitWriters(const ServeConfig& config, bool networked_store) {
  if (config.commit_writers > 0) return config.commit_writers;
  return networked_store ? 4 : 1;
}

std::string LedgerKeyPath(const std::string& db, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (IsPostgresLocation(db)) return "smsconsent-ledger-key.pem";
  const std::string_view path = std::string_view(db).substr(db.rfind("sqlite:", 0) == 0 ? 7 : 0);
  return std::string(path) + "-ledger-key.pem";
}

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return false;
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return false;
  unsigned long p = 0;
  for (size_t i = colon + 1; i < listen.size(); ++i) {
    if (listen[i] < '0' || listen[i] > '9') return false;
    p = p * 10 + static_cast<unsigned long>(listen[i] - '0');
    if (p > 65535) return false;
  }
  *host = h;
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace smsconsent
