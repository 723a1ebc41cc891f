#include "app/export.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <map>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/contact_filter.h"
#include "core/csv.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "core/phone.h"

namespace smsconsent {
namespace {

using nlohmann::ordered_json;  // keys in column order

constexpr int kContactPage = 500;
constexpr int kExportEventPage = 1000;

// Collects output and hands it to the sink in chunks, so nothing grows with the export.
class ChunkedOutput {
 public:
  ChunkedOutput(const ExportSink& sink, size_t chunk_bytes)
      : sink_(sink), chunk_bytes_(std::max<size_t>(chunk_bytes, 1)) {
    buf_.reserve(chunk_bytes_ + 1024);
  }
  std::string* buffer() { return &buf_; }
  // Flushes when the buffer has reached the chunk size.
  Status MaybeFlush() { return buf_.size() >= chunk_bytes_ ? Flush() : Status::Ok(); }
  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    Status st = sink_(buf_);
    buf_.clear();
    return st;
  }

 private:
  const ExportSink& sink_;
  size_t chunk_bytes_;
  std::string buf_;
};

// The contact's properties as JSON object text ("{}" when none).
std::string PropertiesText(const Contact& c) {
  return c.properties.empty() ? std::string("{}") : c.properties;
}

ordered_json ParseOr(const std::string& text, const ordered_json& fallback) {
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The numbers the filter selects: all of them, or the one it names.
Result<std::vector<SenderNumber>> SelectNumbers(ConsentService& service, const Account& account,
                                                std::vector<SenderNumber> numbers,
                                                const ExportFilter& filter) {
  if (!filter.number) return numbers;
  const std::string& want = *filter.number;
  auto pick = [&](auto pred) -> std::optional<SenderNumber> {
    for (const SenderNumber& n : numbers) {
      if (pred(n)) return n;
    }
    return std::nullopt;
  };
  // As registered first (a short code is digits too, so it wins over an id).
  if (auto n = pick([&](const SenderNumber& s) { return s.number == want; })) {
    return std::vector<SenderNumber>{*n};
  }
  if (AllDigits(want) && want.size() <= 18) {
    int64_t id = 0;
    std::from_chars(want.data(), want.data() + want.size(), id);
    if (auto n = pick([&](const SenderNumber& s) { return s.id == id; })) {
      return std::vector<SenderNumber>{*n};
    }
  }
  // Any other way of writing it ("(555) 123-4567", "0045 20 12 34 56", "123 45").
  std::string normalized;
  if (PhoneNormalizer::LooksLikeShortCode(want)) {
    auto sc = service.phones().NormalizeShortCode(want, account.default_region);
    if (sc.ok()) normalized = sc->digits;
  } else {
    auto p = service.phones().Normalize(want, account.default_region);
    if (p.ok()) normalized = p->e164;
  }
  if (!normalized.empty()) {
    if (auto n = pick([&](const SenderNumber& s) { return s.number == normalized; })) {
      return std::vector<SenderNumber>{*n};
    }
  }
  return NotFound("sender number '" + want + "' is not registered to account " +
                  std::to_string(account.id));
}

bool InRange(const ExportFilter& f, int64_t ms) {
  if (f.from_ms && ms < *f.from_ms) return false;
  if (f.to_ms && ms > *f.to_ms) return false;
  return true;
}

// The account (with the add-on checked by ConsentService::ListNumbers) and the numbers the
// filter selects.
struct Scope {
  Account account;
  std::vector<SenderNumber> numbers;  // selected, ordered by id
};

Result<Scope> ResolveScope(ConsentService& service, int64_t account_id, const ExportFilter& f) {
  if (f.from_ms && f.to_ms && *f.from_ms > *f.to_ms) {
    return InvalidArgument("the time range is empty: 'from' is after 'to'");
  }
  // ListNumbers checks Marketing SMS Access (kPermissionDenied) and the account (kNotFound).
  SMSC_ASSIGN_OR_RETURN(auto all, service.ListNumbers(account_id));
  SMSC_ASSIGN_OR_RETURN(Account account, service.GetAccount(account_id));
  Scope scope;
  scope.account = std::move(account);
  SMSC_ASSIGN_OR_RETURN(scope.numbers, SelectNumbers(service, scope.account, std::move(all), f));
  std::sort(scope.numbers.begin(), scope.numbers.end(),
            [](const SenderNumber& a, const SenderNumber& b) { return a.id < b.id; });
  return scope;
}

const std::array<std::string_view, 21> kLedgerColumns = {
    "seq",       "at",   "at_ms",  "account", "contact_id", "phone",     "number_id",
    "number",    "from", "to",     "changed", "source",     "actor",     "evidence",
    "prev_hash", "hash", "format", "nth",     "batch_hash", "leaf_hash", "batch"};

// The evidence a reader sees: the batch document's members (a bulk change's shared evidence),
// then the event's own; the stored text as a string when it is not a JSON object.
ordered_json FullEvidence(const ConsentEvent& e) {
  ordered_json own = ParseOr(e.evidence, ordered_json(e.evidence));
  if (e.batch_document.empty() || !own.is_object()) return own;
  ordered_json merged = ParseOr(e.batch_document, ordered_json());
  if (!merged.is_object()) return own;
  for (auto& [key, value] : own.items()) merged[key] = std::move(value);
  return merged;
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view s) {
  if (s == "csv") return ExportFormat::kCsv;
  if (s == "jsonl" || s == "ndjson") return ExportFormat::kJsonl;
  return InvalidArgument("format must be csv or jsonl, not '" + std::string(s) + "'");
}

const char* ExportFormatName(ExportFormat f) { return f == ExportFormat::kCsv ? "csv" : "jsonl"; }

const char* ExportContentType(ExportFormat f) {
  return f == ExportFormat::kCsv ? "text/csv; charset=utf-8" : "application/x-ndjson";
}

Status SetExportTimeRange(std::optional<std::string_view> from, std::optional<std::string_view> to,
                          ExportFilter* filter) {
  if (from) {
    auto span = ParseTimeSpan(*from);
    if (!span.ok()) return InvalidArgument("from: " + span.status().message());
    filter->from_ms = span->start_ms;
  }
  if (to) {
    auto span = ParseTimeSpan(*to);
    if (!span.ok()) return InvalidArgument("to: " + span.status().message());
    filter->to_ms = span->end_ms - 1;  // the span is half-open; the bound is inclusive
  }
  if (filter->from_ms && filter->to_ms && *filter->from_ms > *filter->to_ms) {
    return InvalidArgument("the time range is empty: 'from' is after 'to'");
  }
  return Status::Ok();
}

std::string ExportFileName(int64_t account_id, std::string_view what, ExportFormat format,
                           int64_t now_ms) {
  const std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return "smsconsent-account-" + std::to_string(account_id) + "-" + std::string(what) + "-" +
         stamp + "." + ExportFormatName(format);
}

Result<ExportSummary> ExportStatuses(ConsentService& service, ConsentStore& store,
                                     int64_t account_id, const ExportOptions& options,
                                     const ExportSink& sink) {
  const ExportFilter& f = options.filter;
  SMSC_ASSIGN_OR_RETURN(Scope scope, ResolveScope(service, account_id, f));
  const bool csv = options.format == ExportFormat::kCsv;
  CsvWriterOptions csv_options;
  csv_options.protect_formulas = options.protect_formulas;
  const CsvWriter writer(csv_options);
  ChunkedOutput out(sink, options.chunk_bytes);
  if (csv) {
    writer.AppendRecord(std::span<const std::string_view>(kStatusesExportColumns), out.buffer());
  }

  ExportSummary summary;
  ContactQuery q;
  q.limit = kContactPage;
  // With one number and a status the store selects the contacts (never-set pairs included for
  // not_specified); otherwise every contact is read and its pairs are filtered here.
  if (scope.numbers.size() == 1 && f.status) {
    q.number_id = scope.numbers.front().id;
    q.status = f.status;
  }
  const bool time_filtered = f.from_ms || f.to_ms;
  std::vector<std::string> fields;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto contacts, store.ListContacts(scope.account.id, q));
    if (contacts.empty()) break;
    q.after_id = contacts.back().id;
    for (const Contact& c : contacts) {
      SMSC_ASSIGN_OR_RETURN(auto rows, store.GetStatuses(scope.account.id, c.id));
      std::map<int64_t, ConsentState> by_number;
      for (const StatusRow& r : rows) by_number[r.number_id] = r.state;
      std::string properties;  // rendered once per contact, when a row needs it
      for (const SenderNumber& n : scope.numbers) {
        ConsentState st;
        if (auto it = by_number.find(n.id); it != by_number.end()) st = it->second;
        if (f.status && st.status != *f.status) continue;
        const bool set = st.updated_at_ms != 0;
        if (time_filtered && (!set || !InRange(f, st.updated_at_ms))) continue;
        if (properties.empty()) properties = PropertiesText(c);
        const std::string since = set ? FormatTimestampMs(st.updated_at_ms) : "";
        const std::string source = set ? SourceName(st.source) : "";
        if (csv) {
          fields = {std::to_string(c.id),
                    c.phone,
                    c.name,
                    c.email,
                    std::to_string(n.id),
                    n.number,
                    SubscriptionStatusName(st.status),
                    since,
                    source,
                    st.self_opted_out ? "true" : "false",
                    properties};
          writer.AppendRecord(std::span<const std::string>(fields), out.buffer());
        } else {
          ordered_json j = {{"contact_id", c.id},
                            {"phone", c.phone},
                            {"name", c.name},
                            {"email", c.email},
                            {"number_id", n.id},
                            {"number", n.number},
                            {"status", SubscriptionStatusName(st.status)},
                            {"since", set ? ordered_json(since) : ordered_json(nullptr)},
                            {"source", set ? ordered_json(source) : ordered_json(nullptr)},
                            {"self_opted_out", st.self_opted_out},
                            {"properties", ParseOr(properties, ordered_json::object())}};
          out.buffer()->append(j.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
          out.buffer()->push_back('\n');
        }
        ++summary.rows;
        SMSC_RETURN_IF_ERROR(out.MaybeFlush());
      }
    }
  }
  SMSC_RETURN_IF_ERROR(out.Flush());
  return summary;
}

Result<ExportSummary> ExportLedger(ConsentService& service, ConsentStore& store, int64_t account_id,
                                   const ExportOptions& options, const ExportSink& sink) {
  const ExportFilter& f = options.filter;
  SMSC_ASSIGN_OR_RETURN(Scope scope, ResolveScope(service, account_id, f));
  SMSC_RETURN_IF_ERROR(service.NumberWrittenEvents(scope.account.id));
  // 0: every number (an optional here trips GCC 12's -Wmaybe-uninitialized).
  const int64_t number_id = f.number ? scope.numbers.front().id : 0;
  const bool csv = options.format == ExportFormat::kCsv;
  CsvWriterOptions csv_options;
  csv_options.protect_formulas = options.protect_formulas;
  const CsvWriter writer(csv_options);
  ChunkedOutput out(sink, options.chunk_bytes);
  if (csv) writer.AppendRecord(std::span<const std::string_view>(kLedgerColumns), out.buffer());

  ExportSummary summary;
  EventQuery q;
  q.limit = kExportEventPage;
  std::vector<std::string> fields;
  EvidenceBatches batches;  // the batch documents read so far
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto events, store.ListEvents(scope.account.id, q));
    if (events.empty()) break;
    q.after_seq = events.back().seq;
    SMSC_RETURN_IF_ERROR(AttachBatchDocuments(store, scope.account.id, events, batches));
    for (const ConsentEvent& e : events) {
      if (number_id != 0 && e.number_id != number_id) continue;
      if (f.status && e.to != *f.status) continue;
      if (!InRange(f, e.at_ms)) continue;
      const std::string at = FormatTimestampMs(e.at_ms);
      const std::string leaf_hash = merkle::ToHex(EventLeafHash(e));
      if (csv) {
        fields = {std::to_string(e.seq),
                  at,
                  std::to_string(e.at_ms),
                  std::to_string(e.account_id),
                  std::to_string(e.contact_id),
                  e.phone,
                  std::to_string(e.number_id),
                  e.sender,
                  SubscriptionStatusName(e.from),
                  SubscriptionStatusName(e.to),
                  e.from != e.to ? "true" : "false",
                  SourceName(e.source),
                  e.actor,
                  e.evidence,
                  e.prev_hash,
                  e.hash,
                  std::to_string(e.format),
                  std::to_string(e.nth),
                  e.batch_hash,
                  leaf_hash,
                  e.batch_document};
        writer.AppendRecord(std::span<const std::string>(fields), out.buffer());
      } else {
        ordered_json j = {{"seq", e.seq},
                          {"at", at},
                          {"at_ms", e.at_ms},
                          {"account", e.account_id},
                          {"contact_id", e.contact_id},
                          {"phone", e.phone},
                          {"number_id", e.number_id},
                          {"number", e.sender},
                          {"from", SubscriptionStatusName(e.from)},
                          {"to", SubscriptionStatusName(e.to)},
                          {"changed", e.from != e.to},
                          {"source", SourceName(e.source)},
                          {"actor", e.actor},
                          {"evidence", FullEvidence(e)},
                          {"evidence_text", e.evidence},
                          {"prev_hash", e.prev_hash},
                          {"hash", e.hash},
                          {"format", e.format},
                          {"nth", e.nth},
                          {"batch_hash", e.batch_hash},
                          {"leaf_hash", leaf_hash},
                          {"batch", e.batch_document}};
        out.buffer()->append(j.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
        out.buffer()->push_back('\n');
      }
      ++summary.rows;
      SMSC_RETURN_IF_ERROR(out.MaybeFlush());
    }
  }
  SMSC_RETURN_IF_ERROR(out.Flush());
  return summary;
}

}  // namespace smsconsent
