// `smsconsent bulk`, `import` and `job`: bulk subscription changes and contact imports, run as
// jobs in this process with a progress bar on a terminal.
#include "cli/bulk_commands.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/bulk.h"
#include "app/consent_service.h"
#include "app/system_clock.h"
#include "cli/output.h"
#include "cli/session.h"
#include "store/store.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

// Reads a file ("-" = stdin) as a ByteSource.
Result<ByteSource> FileSource(const std::string& path) {
  std::shared_ptr<std::FILE> f;
  if (path == "-") {
    f.reset(stdin, [](std::FILE*) {});
  } else {
    std::FILE* raw = std::fopen(path.c_str(), "rb");
    if (!raw) return NotFound("cannot read " + path + ": " + std::strerror(errno));
    f.reset(raw, [](std::FILE* p) { std::fclose(p); });
  }
  return ByteSource([f, path](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::fread(buf, 1, cap, f.get());
    if (n == 0 && std::ferror(f.get())) return Internal("reading " + path + " failed");
    return n;
  });
}

// A one-line progress bar on stderr, redrawn at most ten times a second; only on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void Update(const Job& job, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const int64_t total = std::max<int64_t>(job.total, 1);
    const int width = 30;
    const int filled = static_cast<int>(width * std::min<int64_t>(job.done, total) / total);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %lld/%lld rows  %.0f rows/s ",
                 std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                 static_cast<int>(100 * std::min<int64_t>(job.done, total) / total),
                 static_cast<long long>(job.done), static_cast<long long>(job.total),
                 seconds > 0 ? static_cast<double>(job.done) / seconds : 0.0);
    drawn_ = true;
  }
  void Finish() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

void PrintTally(std::ostream& os, const json& t, bool import) {
  if (import) {
    os << "created " << t.value("created", 0) << ", updated " << t.value("change", 0)
       << ", unchanged " << t.value("unchanged", 0);
  } else {
    os << "change " << t.value("change", 0) << " (new contacts " << t.value("created", 0)
       << "), unchanged " << t.value("unchanged", 0);
  }
  const json skipped_by = t.value("skipped", json::object());
  const json encodings = t.value("encodings", json::object());
  int64_t skipped = 0;
  for (const auto& [reason, n] : skipped_by.items()) {
    skipped += n.get<int64_t>();
  }
  os << ", skipped " << skipped;
  if (skipped) {
    os << " (";
    bool first = true;
    for (const auto& [reason, n] : skipped_by.items()) {
      os << (first ? "" : ", ") << reason << " " << n.get<int64_t>();
      first = false;
    }
    os << ")";
  }
  os << "\n";
  if (!import) {
    os << "confirmation messages: " << t.value("confirmations", 0)
       << ", SMS segments: " << t.value("segments", 0);
    for (const auto& [enc, n] : encodings.items()) {
      os << ", " << enc << " " << n.get<int64_t>();
    }
    os << "\n";
  }
}

Result<std::string> WriteRejects(BulkService& bulk, int64_t account, int64_t job,
                                 const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
  SMSC_RETURN_IF_ERROR(bulk.RejectsCsv(account, job, [&](std::string_view chunk) {
    out << chunk;
    return out ? Status::Ok() : Internal("writing " + path + " failed");
  }));
  return path;
}

// Runs (or resumes, or waits for) a submitted job in this process until it ends.
Result<Job> RunToEnd(Session& s, const Job& submitted, bool progress_bar) {
  const std::string owner = "cli-" + std::to_string(getpid()) + "-" + GenerateApiKey().substr(3, 8);
  ProgressBar bar(progress_bar);
  Job job = submitted;
  while (job.state == JobState::kQueued || job.state == JobState::kRunning) {
    auto ran = s.bulk->Run(job.id, owner, [&](const Job& j) { bar.Update(j); });
    if (!ran.ok()) {
      bar.Finish();
      return ran.status();
    }
    if (*ran) {
      job = **ran;
      continue;
    }
    // Another live runner holds it (a parallel run, or a killed run whose lease has not
    // expired yet): wait and look again.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    SMSC_ASSIGN_OR_RETURN(job, s.bulk->GetJob(submitted.account_id, submitted.id));
    bar.Update(job);
  }
  bar.Update(job, true);
  bar.Finish();
  return job;
}

struct BulkArgs {
  int64_t account = 0;
  std::string number;
  std::string status;
  std::string csv;
  std::string filter;
  std::string ids;
  bool attest = false;
  std::string legal_basis;
  std::string explanation;
  std::string actor = "cli";
  std::string idempotency_key;
  std::string phone_column;
  std::string rejects;
  int chunk_rows = BulkService::Options().chunk_rows;
};

// Rows per transaction of a job this command runs.
void AddChunkRows(CLI::App* c, BulkArgs& a) {
  c->add_option("--chunk-rows", a.chunk_rows,
                "rows applied per transaction: more is faster, but a server sharing the "
                "database waits for each chunk's commit (about 25 ms per 1,000 rows)")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
}

Result<BulkRequest> MakeRequest(const BulkArgs& a) {
  BulkRequest r;
  r.number = a.number;
  SMSC_ASSIGN_OR_RETURN(r.status, ParseSubscriptionStatus(a.status));
  r.attestation.express_consent = a.attest;
  r.attestation.explanation = a.explanation;
  if (!a.legal_basis.empty()) {
    SMSC_ASSIGN_OR_RETURN(r.attestation.legal_basis, ParseLegalBasis(a.legal_basis));
  }
  r.actor = a.actor;
  r.filter = a.filter;
  r.csv = !a.csv.empty();
  r.phone_column = a.phone_column;
  std::stringstream ss(a.ids);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (end == nullptr || *end != '\0' || v <= 0) {
      return InvalidArgument("--ids: '" + item + "' is not a contact id");
    }
    r.ids.push_back(v);
  }
  return r;
}

// The request and, when it selects by CSV, the file to read.
Result<std::pair<BulkRequest, ByteSource>> BulkInput(const BulkArgs& a) {
  SMSC_ASSIGN_OR_RETURN(BulkRequest req, MakeRequest(a));
  ByteSource csv;
  if (req.csv) {
    SMSC_ASSIGN_OR_RETURN(csv, FileSource(a.csv));
  }
  return std::make_pair(std::move(req), std::move(csv));
}

int Finish(const Output& out, Session& s, const Job& job, const BulkArgs& a, bool import) {
  json result = JobJson(job);
  json doc = result["result"];
  doc["job"] = job.id;
  doc["state"] = JobStateName(job.state);
  if (result.contains("batch")) doc["batch"] = result["batch"];
  if (!a.rejects.empty()) {
    auto written = WriteRejects(*s.bulk, job.account_id, job.id, a.rejects);
    if (!written.ok()) return Output::Fail(written.status());
    doc["rejects_file"] = *written;
  }
  if (job.state == JobState::kFailed) {
    return Output::Fail(Status(StatusCode::kFailedPrecondition,
                               "job " + std::to_string(job.id) + " failed: " + job.error));
  }
  return out.Print(doc, [&](std::ostream& os) {
    os << "job " << job.id << " " << JobStateName(job.state) << ": " << job.done << " of "
       << job.total << " rows\n";
    PrintTally(os, result["result"], import);
    if (!a.rejects.empty()) os << "skipped rows written to " << a.rejects << "\n";
  });
}

}  // namespace

void AddBulkCommands(CLI::App& cli, const std::string& db, const bool& json_out,
                     std::function<int()>& run) {
  auto args = std::make_shared<BulkArgs>();
  auto* bulk = cli.add_subcommand("bulk", "change the subscription status of many contacts");
  bulk->require_subcommand(1);
  auto add_common = [&](CLI::App* c) {
    c->add_option("--account", args->account, "account id")->required();
    c->add_option("--number", args->number, "the sender number")->required();
    c->add_option("--status", args->status, "opted_in, opted_out or not_specified")->required();
    c->add_option("--csv", args->csv,
                  "CSV of phone numbers (optional name, email, sender "
                  "and property columns; '-' = stdin)");
    c->add_option("--filter", args->filter,
                  "contact filter, e.g. 'status=not_specified number=+15551234567 "
                  "prop.city=Aarhus' (docs/csv.md)");
    c->add_option("--ids", args->ids, "contact ids, comma-separated");
    c->add_flag("--attest", args->attest, "I attest that I hold express, verifiable consent");
    c->add_option("--legal-basis", args->legal_basis, "legal basis (see status set --help)");
    c->add_option("--explanation", args->explanation, "how and when consent was obtained");
    c->add_option("--actor", args->actor, "who is making the change")->capture_default_str();
    c->add_option("--phone-column", args->phone_column,
                  "the CSV column holding the phone, when several could");
  };
  auto* preview = bulk->add_subcommand("preview", "what a bulk change would do (changes nothing)");
  add_common(preview);
  auto* apply = bulk->add_subcommand("apply", "apply a bulk change as a job, with progress");
  add_common(apply);
  apply->add_option("--idempotency-key", args->idempotency_key,
                    "the same key is the same job (default: derived from the request and the "
                    "CSV, so running the same command again resumes or reports that job)");
  apply->add_option("--rejects", args->rejects, "write the skipped rows to this CSV file");
  AddChunkRows(apply, *args);

  preview->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      auto s = OpenSession(db);
      if (!s.ok()) return Output::Fail(s.status());
      auto input = BulkInput(*args);
      if (!input.ok()) return Output::Fail(input.status());
      auto& [req, csv] = *input;
      auto tally = (*s)->bulk->Preview(args->account, req, csv);
      if (!tally.ok()) return Output::Fail(tally.status());
      json doc = tally->ToJson();
      return Output{json_out}.Print(doc, [&](std::ostream& os) {
        os << "preview (nothing changed): " << tally->rows << " rows\n";
        PrintTally(os, doc, false);
      });
    };
  });
  apply->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      auto s = OpenSession(db, args->chunk_rows);
      if (!s.ok()) return Output::Fail(s.status());
      auto input = BulkInput(*args);
      if (!input.ok()) return Output::Fail(input.status());
      auto& [req, csv] = *input;
      auto submitted = (*s)->bulk->Submit(args->account, req, args->idempotency_key, csv);
      if (!submitted.ok()) return Output::Fail(submitted.status());
      auto job = RunToEnd(**s, submitted->first, !json_out);
      if (!job.ok()) return Output::Fail(job.status());
      return Finish(Output{json_out}, **s, *job, *args, false);
    };
  });

  // ---- import ----
  auto* import = cli.add_subcommand(
      "import", "import contacts from a CSV file (phone, name, email and property columns)");
  import->add_option("file", args->csv, "the CSV file ('-' = stdin)")->required();
  import->add_option("--account", args->account, "account id")->required();
  import->add_option("--rejects", args->rejects, "write the skipped rows to this CSV file");
  import->add_option("--idempotency-key", args->idempotency_key,
                     "the same key is the same import (default: derived from the file)");
  import->add_option("--phone-column", args->phone_column,
                     "the column holding the phone, when several could");
  AddChunkRows(import, *args);
  import->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      auto s = OpenSession(db, args->chunk_rows);
  if (!s.ok()) return Output::Fail(s.status());
  BulkRequest req;
  req.kind = kJobImportContacts;
  req.csv = true;
  req.actor = "cli";
  req.phone_column = args->phone_column;
  auto f = FileSource(args->csv);
  if (!f.ok()) return Output::Fail(f.status());
  auto submitted = (*s)->bulk->Submit(args->account, req, args->idempotency_key, *f);
  if (!submitted.ok()) return Output::Fail(submitted.status());
  auto job = RunToEnd(**s, submitted->first, !json_out);
  if (!job.ok()) return Output::Fail(job.status());
  return Finish(Output{json_out}, **s, *job, *args, true);
};
}  // namespace smsconsent::cli
);

// ---- job ----
auto* job = cli.add_subcommand("job", "background jobs (bulk changes, imports)");
job->require_subcommand(1);
auto job_id = std::make_shared<int64_t>(0);
auto* show = job->add_subcommand("show", "a job's state, progress and result");
show->add_option("--account", args->account, "account id")->required();
show->add_option("--job", *job_id, "job id")->required();
show->callback([&run, &db, &json_out, args, job_id] {
  run = [&db, &json_out, args, job_id]() -> int {
    auto s = OpenSession(db);
    if (!s.ok()) return Output::Fail(s.status());
    auto j = (*s)->bulk->GetJob(args->account, *job_id);
    if (!j.ok()) return Output::Fail(j.status());
    json doc = JobJson(*j);
    return Output{json_out}.Print(doc, [&](std::ostream& os) {
      os << "job " << j->id << " (" << j->kind << ") " << JobStateName(j->state) << ": " << j->done
         << " of " << j->total << " rows\n";
      PrintTally(os, doc["result"], j->kind == kJobImportContacts);
      if (!j->error.empty()) os << "error: " << j->error << "\n";
    });
  };
});
auto* rejects = job->add_subcommand("rejects", "a job's skipped rows as CSV");
rejects->add_option("--account", args->account, "account id")->required();
rejects->add_option("--job", *job_id, "job id")->required();
rejects->add_option("--output", args->rejects, "file to write (default: stdout)");
rejects->callback([&run, &db, args, job_id] {
  run = [&db, args, job_id]() -> int {
    auto s = OpenSession(db);
    if (!s.ok()) return Output::Fail(s.status());
    const std::string path = args->rejects.empty() ? "/dev/stdout" : args->rejects;
    auto written = WriteRejects(*(*s)->bulk, args->account, *job_id, path);
    if (!written.ok()) return Output::Fail(written.status());
    return 0;
  };
});
}

}  // namespace smsconsent::cli
