// `smsconsent migrate-store`: copy every table (CopyStore), then check the target three ways —
// every row equal to the source's (CompareStores: counts per table, cell by cell), every
// account's ledger verifying on the target as `ledger verify` does, and the ledger heads
// identical — and exit non-zero unless all three hold.
#include "cli/migrate_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "app/consent_service.h"
#include "app/json_views.h"
#include "app/system_clock.h"
#include "cli/output.h"
#include "store/store.h"
#include "store/transfer.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

bool IsPostgres(std::string_view loc) {
  return loc.rfind("postgresql://", 0) == 0 || loc.rfind("postgres://", 0) == 0;
}

// A location as it may be printed: a password in a PostgreSQL URL (user:PASSWORD@ or a
// password= parameter) becomes "***".
std::string Redacted(std::string loc) {
  if (!IsPostgres(loc)) return loc;
  const size_t scheme = loc.find("://") + 3;
  const size_t at = loc.find('@', scheme);
  const size_t colon = loc.find(':', scheme);
  if (at != std::string::npos && colon != std::string::npos && colon < at) {
    loc = loc.substr(0, colon + 1) + "***" + loc.substr(at);
  }
  for (const char* key : {"?password=", "&password="}) {
    const size_t p = loc.find(key);
    if (p == std::string::npos) continue;
    const size_t start = p + std::string_view(key).size();
    loc = loc.substr(0, start) + "***" + loc.substr(std::min(loc.find('&', start), loc.size()));
  }
  return loc;
}

// Opening a SQLite location creates the file; a source that does not exist is a mistake.
Result<std::unique_ptr<ConsentStore>> OpenSource(const std::string& loc) {
  if (!IsPostgres(loc)) {
    std::string path = loc.rfind("sqlite:", 0) == 0 ? loc.substr(7) : loc;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return NotFound("--from: no SQLite database at '" + path + "'");
    }
  }
  return OpenStore(loc);
}

// One line on stderr, redrawn at most ten times a second; only on a terminal.
class Progress {
 public:
  explicit Progress(const char* verb) : verb_(verb), enabled_(isatty(STDERR_FILENO) != 0) {}
  void operator()(const TransferProgress& p) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && p.done < p.total) return;
    last_ = now;
    const int64_t total = std::max<int64_t>(p.total, 1);
    std::fprintf(stderr, "\r%s %-16s %3d%%  %lld/%lld rows ", verb_, p.table,
                 static_cast<int>(100 * p.done / total), static_cast<long long>(p.done),
                 static_cast<long long>(p.total));
    drawn_ = true;
  }
  ~Progress() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  const char* verb_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

struct MigrateArgs {
  std::string from;
  std::string to;
};

int RunMigrate(const MigrateArgs& args, const Output& out) {
  const auto start = std::chrono::steady_clock::now();
  auto from = OpenSource(args.from);
  if (!from.ok()) return Output::Fail(from.status());
  auto to = OpenStore(args.to);
  if (!to.ok()) return Output::Fail(to.status());

  Result<int64_t> copied = 0;
  {
    Progress progress("copying  ");
    copied = CopyStore(**from, **to, [&](const TransferProgress& p) { progress(p); });
  }
  if (!copied.ok()) return Output::Fail(copied.status());
  const auto copied_at = std::chrono::steady_clock::now();
  Result<TransferCheck> check = TransferCheck{};
  {
    Progress progress("comparing");
    check = CompareStores(**from, **to, [&](const TransferProgress& p) { progress(p); });
  }
  if (!check.ok()) return Output::Fail(check.status());

  SystemClock clock;
  ConsentService target(**to, clock);
  auto accounts = target.ListAccountIds();
  if (!accounts.ok()) return Output::Fail(accounts.status());
  std::vector<LedgerCheck> ledgers;
  bool ledgers_ok = true;
  for (int64_t id : *accounts) {
    auto c = target.VerifyLedger(id);
    if (!c.ok()) return Output::Fail(c.status());
    ledgers_ok = ledgers_ok && c->ok();
    ledgers.push_back(*c);
  }
  const bool ok = check->ok() && ledgers_ok;
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start).count();
  const double verify_seconds = std::chrono::duration<double>(now - copied_at).count();

  json tables = json::array();
  for (const TableCount& t : check->tables) {
    tables.push_back({{"table", t.table},
                      {"source", t.source_rows},
                      {"target", t.target_rows},
                      {"same", t.source_rows == t.target_rows}});
  }
  json heads = json::array();
  for (const LedgerHead& h : check->heads) {
    json verify = nullptr;
    for (const LedgerCheck& c : ledgers) {
      if (c.account_id == h.account_id) verify = ToJson(c);
    }
    heads.push_back({{"account", h.account_id},
                     {"seq", h.target_seq},
                     {"source_hash", h.source_hash},
                     {"target_hash", h.target_hash},
                     {"same", h.same()},
                     {"verify", verify}});
  }
  json doc = {{"ok", ok},
              {"from", Redacted(args.from)},
              {"to", Redacted(args.to)},
              {"rows", *copied},
              {"tables", tables},
              {"ledgers", heads},
              {"first_difference",
               check->first_difference ? json(*check->first_difference) : json(nullptr)},
              {"seconds", seconds},
              {"verify_seconds", verify_seconds}};
  out.Print(doc, [&](std::ostream& os) {
    os << "copied " << *copied << " rows from " << Redacted(args.from) << " to "
       << Redacted(args.to) << " in " << std::fixed << std::setprecision(1) << seconds
       << " s (verifying " << verify_seconds << " s)\n";
    for (const TableCount& t : check->tables) {
      os << "  " << std::left << std::setw(17) << t.table << std::right << std::setw(10)
         << t.target_rows << (t.source_rows == t.target_rows ? "" : "  DIFFERS from source ")
         << (t.source_rows == t.target_rows ? "" : std::to_string(t.source_rows)) << "\n";
    }
    for (const LedgerHead& h : check->heads) {
      os << "  ledger of account " << h.account_id << ": " << h.target_seq << " events, head "
         << h.target_hash.substr(0, 16) << "… "
         << (h.same() ? "identical" : "DIFFERS from the source's " + h.source_hash) << "\n";
    }
    for (const LedgerCheck& c : ledgers) {
      if (!c.ok()) {
        os << "  ledger of account " << c.account_id << " FAILS verification on the target\n";
      }
    }
    if (check->first_difference) os << "  first difference: " << *check->first_difference << "\n";
    os << (ok ? "verified: every row equal, every ledger intact with the same head\n"
              : "VERIFICATION FAILED\n");
  });
  if (!ok) {
    std::cerr << "smsconsent: migrate-store: the target does not match the source ("
              << check->first_difference.value_or(ledgers_ok ? "ledger heads differ"
                                                             : "a ledger fails verification")
              << "); empty the target before running again\n";
    return 1;
  }
  return 0;
}

}  // namespace

void AddMigrateCommand(CLI::App& cli, const bool& json, std::function<int()>& run) {
  static MigrateArgs args;
  auto* cmd = cli.add_subcommand(
      "migrate-store",
      "copy every row of one store into an empty other one and verify it (docs/storage.md)");
  cmd->add_option("--from", args.from,
                  "source: sqlite:PATH, PATH or postgresql://… (stop servers using it first)")
      ->required();
  cmd->add_option("--to", args.to, "target, empty: sqlite:PATH, PATH or postgresql://…")
      ->required();
  cmd->callback([&] { run = [&] { return RunMigrate(args, Output{json}); }; });
}

}  // namespace smsconsent::cli
