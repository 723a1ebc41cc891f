// Configuration of `smsconsent serve`: the one place that knows every setting, its default,
// its flag, its environment variable (SMSCONSENT_*) and its config-file key (the flag's long
// name without the dashes). Precedence: flag > environment > config file (--config FILE,
// INI/TOML "key = value"; ApplyServeConfigFile) > default.
// `smsconsent serve --help` prints all of it.
#pragma once

#include <cstdint>
#include <string>

#include "core/consent.h"
#include "core/status.h"

namespace CLI {
class App;
}

namespace smsconsent {

// Defaults shared with the components that use them when no configuration is given
// (OutboxDispatcher::Options, BulkService::Options).
inline constexpr int64_t kDefaultOutboxLeaseMs = 60'000;
inline constexpr int64_t kDefaultJobLeaseMs = 30'000;
inline constexpr int kDefaultJobChunkRows = 1000;
// A possible opt-out still unreviewed after this long is highlighted (docs/reviews.md): one
// day, so that an item left over a working day stands out while the FCC's ten business days
// to honour a revocation are far from spent.
inline constexpr int64_t kDefaultReviewHighlightAfterS = 24 * 3600;

struct ServeConfig {
  std::string config_file;                // --config: the settings file, if any
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  // The public base URL providers call (scheme://host[:port]), used to rebuild the signed URL
  // behind a reverse proxy. Empty: http://<Host header>.
  std::string public_url;
  // I/O + handler threads; 0: HandlerThreads picks by store.
  int threads = 0;
  int64_t max_body_bytes = 1 << 20;     // larger requests get 413
  int64_t request_timeout_ms = 10'000;  // read/write deadline per request
  int64_t idle_timeout_ms = 60'000;     // keep-alive idle limit
  int64_t shutdown_grace_ms = 10'000;   // SIGTERM: time to finish in-flight requests
  bool log_json = false;                // access/application logs as JSON lines
  std::string log_level = "info";       // trace, debug, info, warn, error, off
  bool dispatch = true;                 // run the outbox dispatcher in this process
  bool group_commit = true;             // batch concurrent commits into one fsync
  int commit_writers = 0;               // group commit writers; 0: CommitWriters picks by store
  int64_t outbox_poll_ms = 1000;        // dispatcher wake-up interval
  // How long the reply on the wire stays leased to this instance; a reply whose instance died
  // while sending it is marked dead (never re-sent) once the lease runs out.
  int64_t outbox_lease_ms = kDefaultOutboxLeaseMs;
  // How long a queued reply may wait to be sent; past it the reply expires unsent
  // (docs/limits.md, "Replies"): opt-in confirmations, opt-out confirmations and HELP answers.
  int64_t reply_max_age_s = kDefaultReplyMaxAgeMs / 1000;
  int64_t opt_out_confirmation_max_age_s = kDefaultOptOutConfirmationMaxAgeMs / 1000;
  int64_t help_reply_max_age_s = kDefaultHelpReplyMaxAgeMs / 1000;
  int64_t message_max_age_s = kDefaultMessageMaxAgeMs / 1000;
  // How long a contact has to answer double opt-in's request to confirm.
  int64_t confirmation_window_days = kDefaultConfirmationWindowMs / (24 * 60 * 60 * 1000);
  // How long a bulk/import job stays leased to this instance between chunks; a job whose
  // instance died is resumed by another one once the lease runs out.
  int64_t job_lease_ms = kDefaultJobLeaseMs;
  int job_chunk_rows = kDefaultJobChunkRows;  // job rows per transaction
  // Open review items (possible opt-outs) older than this are marked overdue.
  int64_t review_highlight_after_s = kDefaultReviewHighlightAfterS;
  // The verifiable ledger (docs/ledger.md): how often written events are integrated into the
  // accounts' Merkle trees, and how often, at most, a growing tree gets a new signed head.
  int64_t ledger_integrate_interval_ms = 200;
  int64_t tree_head_interval_s = 60;
  // Owner name of this instance's outbox and job leases; default instance-PID. Give each
  // instance on one database its own.
  std::string instance_id;
  // The web page's files: empty serves the copy built into the binary; a folder (holding
  // index.html, app.js, …) is read on every request instead.
  std::string web_dir;
  // Who may read /metrics: "off", "loopback" (peers on 127.0.0.0/8 or ::1) or "token"
  // (Authorization: Bearer <metrics_token>).
  std::string metrics = "loopback";
  std::string metrics_token;
  // Open client connections; past it a new one is answered 503 and closed. 0: 1024, or half
  // the open-file limit when that is lower (MaxConnections).
  int64_t max_connections = 0;
  // Sign-ins hash a password (Argon2id: 19 MiB and tens of milliseconds of CPU each), so they
  // run on a pool of their own: this many threads, this many more waiting, and at most
  // signin_rate starting per second (a burst of as many); past that, 429 with Retry-After.
  int signin_threads = 1;
  int signin_queue = 8;
  int signin_rate = 10;
};

// The connection limit `serve` runs with: `config.max_connections` when set, else 1024 or half
// of `open_file_limit` (the process's RLIMIT_NOFILE) when that is lower, leaving the other half
// for the database's files and outgoing connections. At least 1.
int64_t MaxConnections(const ServeConfig& config, uint64_t open_file_limit);

// Checks what the options' own range checks cannot: --metrics token needs --metrics-token.
// kInvalidArgument naming the setting.
Status CheckServeConfig(const ServeConfig& config);

// The maximum ages of replies the settings give, for OutboxDispatcher::Options.
ReplyMaxAges ReplyMaxAgesOf(const ServeConfig& config);

// Registers serve's options on `cmd` bound to `config` (with env names and config-file keys).
void AddServeOptions(CLI::App& cmd, ServeConfig& config);

// Once `cmd` is parsed: reads the file its --config option names (nothing without one) into
// the options that neither a flag nor an environment variable has set. Fails, naming the file
// and key, on a file it cannot read, a key that is no option of serve, a [section], or a value
// the option refuses. (CLI11 2.1 reads a config file only for the top-level command, not for
// a subcommand such as serve: this does it for serve.)
Status ApplyServeConfigFile(CLI::App& cmd);

// The handler threads `serve` runs: `config.threads`, or when that is 0, two per CPU core (at
// least 4) on SQLite and 16 on PostgreSQL (`networked_store`). On SQLite a webhook waits for
// its group commit without a thread (docs/storage.md) and reads are local, so many threads
// only add context switches; two per core rather than one, because one per core leaves
// consent checks slower (bench/load/run.sh; figures in docs/performance.md). On PostgreSQL
// every store call waits for a network round trip on its handler thread.
int HandlerThreads(const ServeConfig& config, bool networked_store, unsigned cores);

// The group committer's writer threads: `config.commit_writers`, or when that is 0, 1 on
// SQLite (its writes take turns) and 4 on PostgreSQL (`networked_store`), where a batch
// mostly waits for round trips and the WAL flush while writers of other (contact, number)
// pairs need not wait for it. Each writer holds one pooled connection while it writes.
int CommitWriters(const ServeConfig& config, bool networked_store);

// The file holding the installation's Ed25519 ledger key (PKCS#8 PEM, created on first use):
// `configured` (--ledger-key, SMSCONSENT_LEDGER_KEY) when set; else, for a SQLite database,
// beside it ("PATH-ledger-key.pem", as SQLite's own "-wal" file); for PostgreSQL,
// "smsconsent-ledger-key.pem" in the working directory.
std::string LedgerKeyPath(const std::string& db, const std::string& configured);

// Splits "HOST:PORT" ("[::1]:80" too). false when malformed.
bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace smsconsent
