// `smsconsent export` and `smsconsent proof`: parsing, and writing to stdout or a file.
#include "cli/export_commands.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/consent_service.h"
#include "app/export.h"
#include "app/ledger_key.h"
#include "app/ledger_service.h"
#include "app/proof.h"
#include "app/system_clock.h"
#include "cli/output.h"
#include "cli/session.h"
#include "store/store.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

// Where the bytes go: stdout, or FILE written as FILE.partial and renamed into place only when
// everything was written, so a failed export never leaves a truncated FILE behind.
class Destination {
 public:
  explicit Destination(std::string path) : path_(std::move(path)) {}
  ~Destination() {
    if (file_ && file_ != stdout) {
      std::fclose(file_);
      std::error_code ec;
      std::filesystem::remove(Partial(), ec);
    }
  }
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;

  Status Open() {
    if (path_.empty()) {
      file_ = stdout;
      return Status::Ok();
    }
    file_ = std::fopen(Partial().c_str(), "wb");
    if (!file_) return InvalidArgument("cannot write " + Partial() + ": " + std::strerror(errno));
    return Status::Ok();
  }
  Status Write(std::string_view chunk) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) {
      return Internal("write to " + Name() + " failed: " + std::strerror(errno));
    }
    return Status::Ok();
  }
  // Flushes and, for a file, moves it into place.
  Status Commit() {
    if (file_ == stdout) {
      if (std::fflush(stdout) != 0) return Internal(std::string("stdout: ") + std::strerror(errno));
      return Status::Ok();
    }
    FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) {
      std::error_code ec;
      std::filesystem::remove(Partial(), ec);
      return Internal("closing " + Partial() + " failed: " + std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::rename(Partial(), path_, ec);
    if (ec) return Internal("cannot rename " + Partial() + " to " + path_ + ": " + ec.message());
    return Status::Ok();
  }
  bool to_file() const { return !path_.empty(); }
  std::string Name() const { return path_.empty() ? "stdout" : path_; }

 private:
  std::string Partial() const { return path_ + ".partial"; }

  std::string path_;
  FILE* file_ = nullptr;
};

struct ExportArgs {
  int64_t account = 0;
  bool statuses = false;
  bool ledger = false;
  std::string format = "csv";
  std::string number;
  std::string status;
  std::string from;
  std::string to;
  std::string output;
  bool no_formula_guard = false;
};

struct ProofArgs {
  int64_t account = 0;
  std::string phone;
  int64_t contact = 0;
  std::string format;  // empty: json with --json, else html
  std::string output;
};

int RunExport(const std::string& db, bool json_out, const ExportArgs& a) {
  ExportOptions options;
  auto format = ParseExportFormat(a.format);
  if (!format.ok()) return Output::Fail(format.status());
  options.format = *format;
  options.protect_formulas = !a.no_formula_guard;
  if (!a.number.empty()) options.filter.number = a.number;
  if (!a.status.empty()) {
    auto s = ParseSubscriptionStatus(a.status);
    if (!s.ok()) return Output::Fail(s.status());
    options.filter.status = *s;
  }
  Status st = SetExportTimeRange(
      a.from.empty() ? std::nullopt : std::optional<std::string_view>(a.from),
      a.to.empty() ? std::nullopt : std::optional<std::string_view>(a.to), &options.filter);
  if (!st.ok()) return Output::Fail(st);

  auto session = OpenSession(db);
  if (!session.ok()) return Output::Fail(session.status());
  Session& s = **session;
  Destination dest(a.output);
  st = dest.Open();
  if (!st.ok()) return Output::Fail(st);
  const ExportSink sink = [&](std::string_view chunk) { return dest.Write(chunk); };
  auto r = a.statuses ? ExportStatuses(*s.service, *s.store, a.account, options, sink)
                      : ExportLedger(*s.service, *s.store, a.account, options, sink);
  if (!r.ok()) return Output::Fail(r.status());
  st = dest.Commit();
  if (!st.ok()) return Output::Fail(st);
  if (dest.to_file()) {
    const char* what = a.statuses ? "statuses" : "ledger";
    return Output{json_out}.Print({{"export", what},
                                   {"format", ExportFormatName(options.format)},
                                   {"rows", r->rows},
                                   {"output", a.output}},
                                  [&](std::ostream& os) {
                                    os << "wrote " << r->rows << (r->rows == 1 ? " row" : " rows")
                                       << " (" << what << ", " << ExportFormatName(options.format)
                                       << ") to " << a.output << "\n";
                                  });
  }
  return 0;
}

int RunProof(const std::string& db, const std::string& ledger_key, bool json_out,
             const ProofArgs& a) {
  if (a.account == 0) return Output::Fail(InvalidArgument("--account is required"));
  if (a.phone.empty() == (a.contact == 0)) {
    return Output::Fail(
        InvalidArgument("name the contact by exactly one of --phone and --contact"));
  }
  std::string format = a.format.empty() ? (json_out ? "json" : "html") : a.format;
  if (format != "json" && format != "html") {
    return Output::Fail(InvalidArgument("--format must be json or html, not '" + format + "'"));
  }
  ProofSubject subject;
  if (!a.phone.empty()) subject.phone = a.phone;
  if (a.contact) subject.contact_id = a.contact;
  auto session = OpenSession(db);
  if (!session.ok()) return Output::Fail(session.status());
  Session& s = **session;
  auto key = LoadOrCreateLedgerKey(LedgerKeyPath(db, ledger_key));
  if (!key.ok()) return Output::Fail(key.status());
  LedgerService ledger(*s.store, s.clock, *key);
  if (Status st = ledger.RegisterKey(); !st.ok()) return Output::Fail(st);
  auto proof = BuildConsentProof(*s.service, *s.store, ledger, s.clock, a.account, subject);
  if (!proof.ok()) return Output::Fail(proof.status());
  const std::string doc =
      format == "json" ? ProofToJson(*proof).dump(2) + "\n" : ProofToHtml(*proof);
  Destination dest(a.output);
  Status st = dest.Open();
  if (st.ok()) st = dest.Write(doc);
  if (st.ok()) st = dest.Commit();
  if (!st.ok()) return Output::Fail(st);
  if (dest.to_file()) {
    (void)Output{json_out}.Print({{"proof", proof->contact.phone},
                                  {"format", format},
                                  {"output", a.output},
                                  {"ledger_ok", proof->ledger.ok}},
                                 [&](std::ostream& os) {
                                   os << "wrote the consent record of " << proof->contact.phone
                                      << " (" << format << ") to " << a.output << "\n";
                                 });
  }
  if (!proof->ledger.ok) {
    // The document is written (it says so too), but the exit code tells scripts.
    std::cerr << "smsconsent: the proof for account " << proof->account.id
              << " does not verify: " << proof->ledger.failure.value_or("") << " [DATA_LOSS]\n";
    return ExitCodeFor(StatusCode::kDataLoss);
  }
  return 0;
}

}  // namespace

void AddExportCommands(CLI::App& cli, const std::string& db, const std::string& ledger_key,
                       const bool& json, std::function<int()>& run) {
  // Owned by the CLI::App's lifetime through shared_ptrs captured by the callbacks.
  auto ea = std::make_shared<ExportArgs>();
  auto* exp = cli.add_subcommand(
      "export", "export current statuses or the full ledger as CSV or JSON Lines (docs/export.md)");
  exp->add_option("--account", ea->account, "account id")->required();
  auto* what = exp->add_option_group("what", "what to export");
  what->add_flag("--statuses", ea->statuses,
                 "one row per (contact, sender number) with its status");
  what->add_flag("--ledger", ea->ledger, "every consent event with evidence and hashes");
  what->require_option(1);
  exp->add_option("--format", ea->format, "csv or jsonl")->capture_default_str();
  exp->add_option("--number", ea->number, "only this sender number (as registered, or its id)");
  exp->add_option(
      "--status", ea->status,
      "only this status: opted_in, opted_out or not_specified (ledger: the event's 'to')");
  exp->add_option("--from", ea->from, "from this time, inclusive (YYYY-MM-DD or ISO-8601 with Z)");
  exp->add_option("--to", ea->to, "up to this time, inclusive (a day covers the whole day)");
  exp->add_option("--output", ea->output, "write to FILE instead of stdout");
  exp->add_flag("--no-formula-guard", ea->no_formula_guard,
                "CSV: do not prefix cells starting with = + - @ with an apostrophe (for programs)");
  exp->callback(
      [&db, &json, &run, ea] { run = [&db, &json, ea] { return RunExport(db, json, *ea); }; });

  auto pa = std::make_shared<ProofArgs>();
  auto* proof = cli.add_subcommand(
      "proof",
      "a contact's consent record: events, evidence, hash checks (JSON or printable HTML)");
  // Not required by the parser: `proof verify` (src/cli/ledger_commands.cc) needs neither.
  proof->add_option("--account", pa->account, "account id (required)");
  proof->add_option("--phone", pa->phone, "the contact's phone (or --contact)");
  proof->add_option("--contact", pa->contact, "the contact's id (or --phone)");
  proof->add_option("--format", pa->format, "json or html (default: html; json with --json)");
  proof->add_option("--output", pa->output, "write to FILE instead of stdout");
  proof->callback([&db, &ledger_key, &json, &run, pa, proof] {
    if (proof->got_subcommand("verify")) return;
    run = [&db, &ledger_key, &json, pa] { return RunProof(db, ledger_key, json, *pa); };
  });
}

}  // namespace smsconsent::cli
