// Fuzz target: the CSV reader (core/csv.h), which reads contact imports uploaded through the
// API and the CLI, and the contacts header mapping and row reading behind it.
//
// Invariants: the records do not depend on how the input is cut into chunks, nor on the
// callback pausing the reader (CsvPullReader); the reader's memory stays within its limits;
// what it read, written by CsvWriter, reads back as the same fields. The reader options come
// from the input's length, so a seed is a plain CSV file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"
#include "core/status.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

struct Rec {
  int64_t line = 0;
  std::vector<std::string> fields;
  std::string error;  // "" when ok
  bool operator==(const Rec&) const = default;
};

std::string Describe(const std::vector<Rec>& records) {
  std::string out;
  for (const Rec& r : records) {
    out += "\n  line " + std::to_string(r.line) + ":";
    for (const std::string& f : r.fields) out += " [" + fuzz::Escaped(f) + "]";
    if (!r.error.empty()) out += " error: " + r.error;
  }
  return out;
}

Rec ToRec(const CsvRecord& r) {
  Rec out;
  out.line = r.line;
  for (const std::string_view f : r.fields) out.fields.emplace_back(f);
  if (!r.ok()) out.error = r.error.message();
  return out;
}

// Reads `input` in chunks of `chunk` bytes (all at once for 0). *delimiter gets the delimiter
// the reader settled on.
std::vector<Rec> Read(std::string_view input, const CsvOptions& options, size_t chunk,
                      char* delimiter = nullptr) {
  std::vector<Rec> out;
  CsvReader reader(options);
  const auto collect = [&out](const CsvRecord& r) {
    out.push_back(ToRec(r));
    return true;
  };
  size_t peak = 0;
  if (chunk == 0) chunk = input.size();
  for (size_t at = 0; at < input.size(); at += chunk) {
    const std::string_view piece = input.substr(at, chunk);
    FUZZ_CHECK(reader.Feed(piece, collect) == piece.size());
    peak = std::max(peak, reader.memory_bytes());
  }
  reader.Finish(collect);
  FUZZ_CHECK(reader.records() == static_cast<int64_t>(out.size()));
  // The record's bytes and, while the delimiter is detected, line 1 (each up to twice the
  // record limit, as a string grows by doubling), the fields' offsets and views, an error
  // message.
  const size_t bound = 4 * (options.max_record_bytes + 1) +
                       2 * options.max_fields * (sizeof(size_t) + sizeof(std::string_view)) + 1024;
  FUZZ_CHECK(peak <= bound, std::to_string(peak) + " bytes held");
  if (delimiter != nullptr) *delimiter = reader.delimiter();
  return out;
}

std::vector<Rec> Pull(std::string_view input, const CsvOptions& options, size_t chunk) {
  size_t at = 0;
  CsvPullReader reader(
      [&](char* buf, size_t cap) -> Result<size_t> {
        const size_t n = std::min(cap, input.size() - at);
        std::copy_n(input.data() + at, n, buf);
        at += n;
        return n;
      },
      options, chunk);
  std::vector<Rec> out;
  const CsvRecord* record = nullptr;
  while (true) {
    auto more = reader.Next(&record);
    FUZZ_CHECK(more.ok(), more.status().ToString());
    if (!*more) break;
    out.push_back(ToRec(*record));
  }
  return out;
}

void ReadContacts(const std::vector<Rec>& records) {
  std::vector<std::string_view> header;
  size_t i = 0;
  for (; i < records.size(); ++i) {
    if (records[i].error.empty()) break;
  }
  if (i == records.size()) return;
  for (const std::string& f : records[i].fields) header.push_back(f);
  auto columns = MapContactHeader(header);
  if (!columns.ok()) return;
  ContactRow row;
  for (++i; i < records.size(); ++i) {
    CsvRecord record;
    record.line = records[i].line;
    for (const std::string& f : records[i].fields) record.fields.push_back(f);
    if (!records[i].error.empty()) record.error = InvalidArgument(records[i].error);
    if (ReadContactRow(*columns, record, &row).ok()) FUZZ_CHECK(!row.phone.empty());
  }
}

void RoundTrip(const std::vector<Rec>& records, const CsvOptions& options, char delimiter,
               std::string_view input) {
  CsvWriterOptions writer_options;
  writer_options.delimiter = delimiter;
  writer_options.protect_formulas = false;
  writer_options.line_end = input.size() % 2 == 0 ? "\r\n" : "\n";
  const CsvWriter writer(writer_options);
  // The reader drops one byte order mark at the start: a first field that begins with one
  // (after the input's own) keeps it only behind another.
  std::string written(kUtf8Bom);
  std::vector<Rec> expected;
  for (const Rec& r : records) {
    // A record of one empty field is written as an empty line, which is no record.
    if (!r.error.empty() || (r.fields.size() == 1 && r.fields[0].empty())) continue;
    writer.AppendRecord(std::span<const std::string>(r.fields), &written);
    expected.push_back(r);
  }
  CsvOptions fixed = options;
  fixed.delimiter = delimiter;
  std::vector<Rec> again = Read(written, fixed, 0);
  FUZZ_CHECK(again.size() == expected.size(), "read:" + Describe(expected) +
                                                  "\nwritten: " + fuzz::Escaped(written) +
                                                  "\nread back:" + Describe(again));
  for (size_t i = 0; i < again.size(); ++i) {
    FUZZ_CHECK(again[i].error.empty() && again[i].fields == expected[i].fields,
               "read:" + Describe(expected) + "\nwritten: " + fuzz::Escaped(written) +
                   "\nread back:" + Describe(again));
  }
}

void CheckCsv(std::string_view input) {
  CsvOptions options;
  const size_t variant = input.size() % 8;
  options.delimiter = variant < 4 ? kCsvAutoDelimiter : variant == 4 ? ';' : ',';
  if (variant % 2 == 1) {
    // Small limits, so that short inputs reach the over-the-limit paths.
    options.max_field_bytes = 16;
    options.max_record_bytes = 40;
    options.max_fields = 6;
  }
  char delimiter = kCsvAutoDelimiter;
  const std::vector<Rec> whole = Read(input, options, 0, &delimiter);
  const size_t chunk = 1 + input.size() % 7;
  const std::vector<Rec> chunked = Read(input, options, chunk);
  FUZZ_CHECK(chunked == whole, "whole:" + Describe(whole) + "\nin chunks of " +
                                   std::to_string(chunk) + ":" + Describe(chunked));
  const std::vector<Rec> pulled = Pull(input, options, 1 + input.size() % 5);
  FUZZ_CHECK(pulled == whole, "whole:" + Describe(whole) + "\npulled:" + Describe(pulled));

  ReadContacts(whole);
  RoundTrip(whole, options, delimiter == kCsvAutoDelimiter ? ',' : delimiter, input);
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::CheckCsv(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
