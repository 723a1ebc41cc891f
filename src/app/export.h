// Exports of an account's consent data: the current statuses and the full ledger, as CSV or
// JSON Lines, filtered by sender number, status and time range (docs/export.md).
//
// Streaming: the store is read page by page (contacts by id cursor, events by seq cursor) and
// the output is handed to a sink in chunks of about kExportChunkBytes, so memory is bounded by
// one page and one chunk, never by the size of the account. The CLI's sink writes to stdout or
// a file; the API's appends to a response body.
//
// Add-ons: every export needs the account's Marketing SMS Access add-on (kPermissionDenied);
// the check goes through ConsentService. Thread-safe if the service and the store are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "app/consent_service.h"
#include "core/consent.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

// Receives the export's bytes in order. A non-OK Status stops the export and is returned.
using ExportSink = std::function<Status(std::string_view chunk)>;

inline constexpr size_t kExportChunkBytes = 64 * 1024;

enum class ExportFormat { kCsv, kJsonl };
// "csv", "jsonl" (also "ndjson"); kInvalidArgument otherwise.
Result<ExportFormat> ParseExportFormat(std::string_view s);
const char* ExportFormatName(ExportFormat f);   // "csv", "jsonl"
const char* ExportContentType(ExportFormat f);  // "text/csv; charset=utf-8", "application/x-ndjson"

struct ExportFilter {
  // The sender number: as registered ("+4520123456", "12345"), in any format the account's
  // region normalises to it, or its id. kNotFound when the account has no such number.
  std::optional<std::string> number;
  // Statuses export: the pair's current status. Ledger export: the event's `to`.
  std::optional<SubscriptionStatus> status;
  // Both inclusive, milliseconds since the epoch (UTC). Statuses export: the pair's `since`
  // (a pair never set has none and is left out when either bound is given). Ledger export:
  // the event's `at`.
  std::optional<int64_t> from_ms;
  std::optional<int64_t> to_ms;
};

// Parses the --from / --to (API: from / to) values with ParseTimeSpan: a day YYYY-MM-DD or a
// date-time with Z or an offset. `from` takes the start of its span and `to` the end, so
// `--from 2026-01-01 --to 2026-01-31` covers all of January. kInvalidArgument naming `what`
// on a bad time or when from is after to.
Status SetExportTimeRange(std::optional<std::string_view> from, std::optional<std::string_view> to,
                          ExportFilter* filter);

struct ExportOptions {
  ExportFormat format = ExportFormat::kCsv;
  ExportFilter filter;
  // CSV only: formula-injection protection (CsvWriterOptions::protect_formulas). On for files
  // meant for people; note that it puts an apostrophe before every "+4512…" phone.
  bool protect_formulas = true;
  size_t chunk_bytes = kExportChunkBytes;
};

struct ExportSummary {
  int64_t rows = 0;  // data rows (CSV) or lines (JSONL) written, the CSV header not counted
};

// The current status of every (contact, sender number) pair of the account, one row per
// pair, ordered by contact id and then number id. A contact appears on every number the
// filter selects: a pair that was never set is `not_specified` with empty since/source, so
// `status = not_specified` finds it. CSV columns (JSONL keys alike):
//   contact_id, phone, name, email, number_id, number, status, since, source, self_opted_out,
//   properties
// Errors: kPermissionDenied (add-on), kNotFound (account, number), the sink's error.
Result<ExportSummary> ExportStatuses(ConsentService& service, ConsentStore& store,
                                     int64_t account_id, const ExportOptions& options,
                                     const ExportSink& sink);

// Every event of the account's ledger in seq order, with the fields a third party needs to
// recompute its leaf in the account's Merkle tree and, for format 1, its chain hash
// (docs/ledger.md). CSV columns (JSONL keys alike):
//   seq, at, at_ms, account, contact_id, phone, number_id, number, from, to, changed, source,
//   actor, evidence, prev_hash, hash (format 1; empty for format 2), format, nth, batch_hash,
//   leaf_hash (hex EventLeafHash), batch (the text of the batch document batch_hash names: a
//   bulk change's shared evidence, whose SHA-256 is batch_hash; empty for other events)
// In CSV `evidence` is the stored JSON text (verbatim, as hashed); in JSONL `evidence` is the
// parsed object after the batch document's members (the full evidence) and `evidence_text` the
// verbatim text.
Result<ExportSummary> ExportLedger(ConsentService& service, ConsentStore& store, int64_t account_id,
                                   const ExportOptions& options, const ExportSink& sink);

// "smsconsent-account-7-statuses-20261129T020541Z.csv" for a Content-Disposition header.
std::string ExportFileName(int64_t account_id, std::string_view what, ExportFormat format,
                           int64_t now_ms);

}  // namespace smsconsent
