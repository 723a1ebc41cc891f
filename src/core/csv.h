// CSV for contact import and export: an incremental RFC 4180 reader, the mapping of a contacts
// header row to roles (phone, name, email, properties), and a writer.
//
// The reader is fed the input in chunks of any size (a file read, an HTTP body piece) and
// calls back once per record. It keeps only the record in progress, so its memory is bounded
// by the longest record (and by CsvOptions' limits), never by the size of the input: a
// 1,000,000-row file is read with a few hundred bytes of state. A malformed record (a stray
// quote, an unterminated quote, a field over the size limit) is reported as a record with an
// error and its line number, and reading goes on with the next line, so one bad row does not
// stop an import. The dialect, the header aliases and the formula-injection protection of the
// writer are described in docs/csv.md.
//
// Pure: no I/O, no clock. A reader or writer object is not thread-safe; use one per stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace smsconsent {

// ---- Reading ------------------------------------------------------------------------------

// CsvOptions::delimiter value that picks the delimiter from the first non-empty line.
inline constexpr char kCsvAutoDelimiter = '\0';

struct CsvOptions {
  // ',', ';', '\t' (or any byte other than '"', CR and LF), or kCsvAutoDelimiter: the one of
  // ',' ';' '\t' that occurs most often outside quotes in the first non-empty line (the
  // header), ',' on a tie or when none occurs.
  char delimiter = ',';
  // A field longer than this, a record longer than max_record_bytes (field bytes, without
  // delimiters and quotes) or with more than max_fields fields is reported as an error record
  // and skipped to the end of its line. They bound the reader's memory.
  size_t max_field_bytes = 64 * 1024;
  size_t max_record_bytes = 256 * 1024;
  size_t max_fields = 1024;
};

// Parses "," ";" "tab" (or a literal tab), "|" and "auto" as a CLI flag or API field would
// give a delimiter. kInvalidArgument for anything else.
Result<char> ParseCsvDelimiter(std::string_view s);

// One record, as handed to the callback. `fields` view the reader's buffer and are valid only
// until the callback returns (CsvReader) or until the next Next() (CsvPullReader): copy what
// you keep.
struct CsvRecord {
  // 1-based physical line where the record starts (quoted newlines and CR, LF or CRLF line
  // ends all count as one line each), for reject reports.
  int64_t line = 0;
  std::vector<std::string_view> fields;  // empty when !ok()
  // kInvalidArgument with a message that starts "line N: " when the record is malformed.
  Status error;

  bool ok() const { return error.ok(); }
  // True for a well-formed record whose every field is empty or only spaces/tabs (",,," from
  // a spreadsheet's formatted but empty rows).
  bool blank() const;
};

// The push reader. Usage:
//   CsvReader reader(options);
//   while (read a chunk) reader.Feed(chunk, on_record);
//   reader.Finish(on_record);
// Empty lines are skipped; a UTF-8 byte order mark at the very start is dropped. Quoted fields
// may hold delimiters, doubled quotes ("") and newlines. As a leniency, spaces before an
// opening quote and after a closing quote are dropped (`a, "b" ,c` reads a, b, c).
class CsvReader {
 public:
  // Called once per record, good or bad, in input order. Return false to pause: Feed returns
  // right after that record, and the caller feeds the rest of the chunk later.
  using Callback = std::function<bool(const CsvRecord& record)>;

  explicit CsvReader(CsvOptions options = {});

  // Parses `chunk`, calling `on_record` for each record it completes. Bytes of an incomplete
  // record are kept for the next Feed. Returns how many bytes of `chunk` were consumed:
  // chunk.size(), unless the callback paused. Must not be called after Finish().
  size_t Feed(std::string_view chunk, const Callback& on_record);

  // Ends the input: completes the last record (a last line without a line end is a record) or
  // reports an unterminated quote. Calls `on_record` at most once; its result is ignored.
  void Finish(const Callback& on_record);

  // The delimiter in use; kCsvAutoDelimiter while auto-detection is still reading line 1.
  char delimiter() const { return delimiter_; }
  int64_t records() const { return records_; }  // records handed out so far, bad ones included
  // Bytes the reader holds on the heap for the record in progress (its buffers' capacity).
  // Bounded by the longest record seen (and the options' limits), not by the input size.
  size_t memory_bytes() const;

 private:
  enum class State : uint8_t {
    kRecordStart,    // nothing of the current record seen yet (empty lines are skipped here)
    kFieldStart,     // just after a delimiter
    kUnquoted,       // inside an unquoted field
    kQuoted,         // inside a quoted field
    kQuoteInQuoted,  // a quote inside a quoted field: a doubled quote or the closing one
    kAfterQuoted,    // spaces after a closing quote
    kSkipLine,       // a malformed record: dropping bytes up to the end of its line
  };

  void SetDelimiter(char d);
  size_t Detect(std::string_view data, const Callback& cb);
  void DecideDelimiter(const Callback& cb);
  size_t Parse(std::string_view data, const Callback& cb);
  bool AppendToField(const char* p, size_t n);
  void EndField();
  bool Fail(std::string message);
  bool EmitRecord(const Callback& cb);
  bool EmitError(const Callback& cb, int64_t last_line);

  CsvOptions options_;
  char delimiter_;
  uint8_t kind_[256];  // byte class for the fast scans (see csv.cc)

  State state_ = State::kRecordStart;
  int64_t line_ = 1;          // current physical line
  bool prev_cr_ = false;      // the previous byte was CR (CRLF counts as one line end)
  int64_t record_line_ = 0;   // line where the record in progress started
  int64_t quote_line_ = 0;    // line of the opening quote of the current quoted field
  size_t field_start_ = 0;    // offset of the current field in buf_
  std::string buf_;           // the bytes of the record's fields, back to back
  std::vector<size_t> ends_;  // end offset in buf_ of each completed field
  std::string error_;         // the pending error while in kSkipLine
  CsvRecord record_;          // handed to the callback; reused
  int64_t records_ = 0;
  size_t bom_matched_ = 0;  // bytes of the UTF-8 BOM seen so far at the start
  bool bom_done_ = false;
  std::string detect_buf_;  // auto-detection: the bytes of line 1 held until it ends
  bool finished_ = false;
};

// A pull interface over a caller-supplied read function, for import loops:
//   CsvPullReader reader([&](char* buf, size_t cap) -> Result<size_t> { ... }, options);
//   const CsvRecord* rec;
//   while (true) { SMSC_ASSIGN_OR_RETURN(bool more, reader.Next(&rec)); if (!more) break; ... }
// The read function fills up to `cap` bytes and returns how many; 0 means end of input. Its
// errors are returned by Next. Memory: one read buffer of `chunk_bytes` plus the reader's.
class CsvPullReader {
 public:
  using ReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;

  explicit CsvPullReader(ReadFn read, CsvOptions options = {}, size_t chunk_bytes = 64 * 1024);
  CsvPullReader(const CsvPullReader&) = delete;  // hands out pointers into itself
  CsvPullReader& operator=(const CsvPullReader&) = delete;

  // Sets *record to the next record (valid until the next call) and returns true, or returns
  // false at the end of the input. A read error is returned as is; a malformed record is not
  // an error here but a record with !ok().
  Result<bool> Next(const CsvRecord** record);

  const CsvReader& reader() const { return reader_; }
  int64_t bytes_read() const { return bytes_read_; }  // for progress reporting

 private:
  ReadFn read_;
  CsvReader reader_;
  std::string chunk_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  bool finished_ = false;
  int64_t bytes_read_ = 0;
  const CsvRecord* current_ = nullptr;
};

// ---- The contacts header -----------------------------------------------------------------

// The columns of the statuses export (src/app/export.h, docs/export.md), in order. The
// contacts header recognises that layout, so an export reads back as it is written.
inline constexpr std::array<std::string_view, 11> kStatusesExportColumns = {
    "contact_id", "phone", "name",   "email",          "number_id", "number",
    "status",     "since", "source", "self_opted_out", "properties"};

struct ContactHeaderOptions {
  // When set, the column (compared by normalised name) that holds the phone; other columns
  // whose names are phone aliases then become properties. Resolves "phone" + "mobile".
  std::string phone_column;
  // Drop the apostrophe a formula-protecting export put before = + - @ tab CR (see
  // CsvWriterOptions::protect_formulas), so our own exports import unchanged.
  bool undo_formula_guard = true;
};

inline constexpr size_t kNoColumn = static_cast<size_t>(-1);

// Which column of the file plays which role.
struct ContactColumns {
  size_t phone = kNoColumn;
  size_t name = kNoColumn;
  size_t first_name = kNoColumn;  // combined with last_name into the name when no name column
  size_t last_name = kNoColumn;
  size_t email = kNoColumn;
  // Every other column: (column index, property name normalised by NormalizePropertyName).
  std::vector<std::pair<size_t, std::string>> properties;
  std::vector<size_t> ignored;  // columns with an empty header name (their values are dropped)
  size_t columns = 0;           // fields in the header row
  bool undo_formula_guard = true;
  // The column named `sender`, also a property: a bulk change's sender number for the row.
  size_t sender = kNoColumn;
  // The statuses export's layout (kStatusesExportColumns), recognised by `number`, `number_id`
  // and `status` columns: there `number` is the sender number, not a phone. Its columns
  // about consent (contact_id, number_id, number, status, since, source, self_opted_out) are
  // dropped, listed here; its `properties` column, a JSON object of texts, is read key by key.
  bool statuses_export = false;
  std::vector<size_t> export_columns;
  size_t properties_json = kNoColumn;
};

// Maps a header row. Names are compared trimmed, case-insensitively, with spaces, '-' and '_'
// alike ("Phone Number" = phone_number, "E-mail" = email). Aliases:
//   phone: phone, phone_number, mobile, mobile_number, number, msisdn, tel, telephone
//   name: name, full_name;  first_name: first_name, firstname, given_name;
//   last_name: last_name, lastname, surname, family_name;  email: email, e_mail, email_address
// When there is a name column, first/last name columns are ordinary properties. A header with
// `number`, `number_id` and `status` is the statuses export's (ContactColumns::statuses_export).
// Errors (kInvalidArgument): no phone column (the message lists the header and the aliases);
// two columns for one role (e.g. phone and mobile: pick one with phone_column); phone_column
// not in the header; two columns with the same (normalised) name.
Result<ContactColumns> MapContactHeader(std::span<const std::string_view> header,
                                        const ContactHeaderOptions& options = {});

// One data row, values trimmed of surrounding spaces/tabs. Empty property values are left out.
struct ContactRow {
  std::string phone;  // as written in the file; the caller normalises it (core/phone.h)
  std::string name;
  std::string email;
  std::string sender;  // the `sender` column's value, empty without one
  // An export's `properties` keys first (names normalised), then the property columns in
  // column order: where a name repeats, the later value is the one that counts.
  std::vector<std::pair<std::string, std::string>> properties;
};

// Fills *row (reusing its storage) from a data record. Errors (kInvalidArgument, message
// starting "line N: "): the record's own error; an empty phone; more non-empty fields than
// the header has columns; an export's `properties` cell that is not a JSON object of texts.
// Missing trailing fields read as empty.
Status ReadContactRow(const ContactColumns& columns, const CsvRecord& record, ContactRow* row);

// ---- Writing ----------------------------------------------------------------------------

// Put this first in a file meant for Excel, which otherwise reads UTF-8 as a legacy code page.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

struct CsvWriterOptions {
  char delimiter = ',';
  std::string line_end = "\r\n";  // RFC 4180; "\n" is fine for Unix tools
  // Formula-injection protection (CWE-1236): a spreadsheet opening the file runs a cell that
  // starts with = + - @ (and tab or CR, which some strip before looking) as a formula, so a
  // contact named `=HYPERLINK("http://evil","x")` or `=cmd|'/c calc'!A1` in an export becomes
  // code on the reader's machine. With this on, such a field gets a leading apostrophe, which
  // spreadsheets show as text and hide. Keep it on for files meant for people; turn it off
  // for machine-to-machine files (the apostrophe changes the data: "+4512..." becomes
  // "'+4512..."). ReadContactRow removes it again on import.
  bool protect_formulas = true;
};

class CsvWriter {
 public:
  explicit CsvWriter(CsvWriterOptions options = {});

  // Appends one field to *out, quoted when it contains the delimiter, a quote, CR or LF, or
  // starts or ends with a space or tab (quotes doubled), after the formula guard.
  void AppendField(std::string_view field, std::string* out) const;
  // Appends the fields, delimiter-separated, and the line end.
  void AppendRecord(std::span<const std::string_view> fields, std::string* out) const;
  void AppendRecord(std::span<const std::string> fields, std::string* out) const;
  void AppendRecord(std::initializer_list<std::string_view> fields, std::string* out) const {
    AppendRecord(std::span<const std::string_view>(fields.begin(), fields.size()), out);
  }

  const CsvWriterOptions& options() const { return options_; }

 private:
  CsvWriterOptions options_;
};

}  // namespace smsconsent
