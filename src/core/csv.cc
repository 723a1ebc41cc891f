#include "core/csv.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include "core/ascii.h"
#include "core/contact_filter.h"
#include "core/json_reader.h"
#include "core/json_text.h"

namespace smsconsent {
namespace {

// Byte classes for the scans. In a quoted field only kQuote, kCr and kLf stop the scan; in an
// unquoted one kDelim does too; skipping a bad line stops at kCr and kLf only.
constexpr uint8_t kPlain = 0;
constexpr uint8_t kDelim = 1;
constexpr uint8_t kQuote = 2;
constexpr uint8_t kCr = 3;
constexpr uint8_t kLf = 4;

constexpr char kBom[] = "\xEF\xBB\xBF";

inline uint8_t U8(char c) { return static_cast<uint8_t>(c); }

bool IsBlankByte(char c) { return c == ' ' || c == '\t'; }
bool IsFormulaStart(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

std::string LineMessage(int64_t line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

}  // namespace

Result<char> ParseCsvDelimiter(std::string_view s) {
  if (s == "," || s == "comma") return ',';
  if (s == ";" || s == "semicolon") return ';';
  if (s == "\t" || s == "tab" || s == "\\t") return '\t';
  if (s == "|" || s == "pipe") return '|';
  if (s == "auto") return kCsvAutoDelimiter;
  return InvalidArgument("unknown CSV delimiter '" + std::string(s) +
                         "' (expected one of: ',', ';', tab, '|', auto)");
}

bool CsvRecord::blank() const {
  if (!ok()) return false;
  for (std::string_view f : fields) {
    for (char c : f) {
      if (!IsBlankByte(c)) return false;
    }
  }
  return true;
}

// ---- CsvReader ----------------------------------------------------------------------------

CsvReader::CsvReader(CsvOptions options) : options_(options), delimiter_(options.delimiter) {
  assert(delimiter_ != '"' && delimiter_ != '\r' && delimiter_ != '\n');
  SetDelimiter(delimiter_);
}

void CsvReader::SetDelimiter(char d) {
  delimiter_ = d;
  std::memset(kind_, kPlain, sizeof kind_);
  if (d != kCsvAutoDelimiter) kind_[U8(d)] = kDelim;
  kind_[U8('"')] = kQuote;
  kind_[U8('\r')] = kCr;
  kind_[U8('\n')] = kLf;
}

size_t CsvReader::memory_bytes() const {
  return buf_.capacity() + ends_.capacity() * sizeof(size_t) +
         record_.fields.capacity() * sizeof(std::string_view) + detect_buf_.capacity() +
         error_.capacity();
}

size_t CsvReader::Feed(std::string_view chunk, const Callback& on_record) {
  assert(!finished_ && "CsvReader::Feed after Finish");
  size_t pos = 0;
  if (!bom_done_) {
    while (pos < chunk.size() && bom_matched_ < 3 && chunk[pos] == kBom[bom_matched_]) {
      ++bom_matched_;
      ++pos;
    }
    if (bom_matched_ < 3 && pos == chunk.size()) return pos;  // maybe more BOM next time
    bom_done_ = true;
    if (bom_matched_ < 3 && bom_matched_ > 0) {
      // Not a BOM after all: those bytes are data. They hold no line end, so no record
      // completes and nothing can pause here.
      [[maybe_unused]] size_t n = Detect(std::string_view(kBom, bom_matched_), on_record);
    }
  }
  return pos + Detect(chunk.substr(pos), on_record);
}

void CsvReader::DecideDelimiter(const Callback& cb) {
  // Count the candidates outside quotes in the held line (after any leading empty lines).
  std::string_view line(detect_buf_);
  const size_t last_newline = line.find_last_of("\r\n");
  if (last_newline != std::string_view::npos) line.remove_prefix(last_newline + 1);
  std::array<std::pair<char, int>, 3> counts{{{',', 0}, {';', 0}, {'\t', 0}}};
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (auto& [d, n] : counts) n += (c == d) ? 1 : 0;
  }
  char best = ',';
  int best_n = 0;
  for (const auto& [d, n] : counts) {
    if (n > best_n) best = d, best_n = n;
  }
  SetDelimiter(best);
  const std::string held = std::move(detect_buf_);
  detect_buf_ = std::string();
  [[maybe_unused]] const size_t n = Parse(held, cb);
  assert(n == held.size());
}

// While the delimiter is being auto-detected, the first non-empty physical line is held in
// detect_buf_ (without its line end); then the delimiter is chosen and the held bytes and the
// rest are parsed. The held bytes never complete a record, so parsing them never pauses.
size_t CsvReader::Detect(std::string_view data, const Callback& cb) {
  if (delimiter_ != kCsvAutoDelimiter) return Parse(data, cb);
  bool content = detect_buf_.find_first_not_of("\r\n") != std::string::npos;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      if (content) {
        DecideDelimiter(cb);
        return i + Parse(data.substr(i), cb);
      }
    } else {
      content = true;
    }
    detect_buf_.push_back(c);
    if (detect_buf_.size() > options_.max_record_bytes) {
      DecideDelimiter(cb);
      return i + 1 + Parse(data.substr(i + 1), cb);
    }
  }
  return data.size();
}

bool CsvReader::AppendToField(const char* p, size_t n) {
  // A run of bytes is appended at once, but reported as if appended byte by byte: the limit
  // its bytes cross first is the error (the field's on a tie), so that the message does not
  // depend on where the chunks the input came in were cut.
  const size_t field_room = options_.max_field_bytes - (buf_.size() - field_start_);
  const size_t record_room = options_.max_record_bytes - buf_.size();
  if (n > field_room && field_room <= record_room) {
    return Fail("field " + std::to_string(ends_.size() + 1) + " is longer than " +
                std::to_string(options_.max_field_bytes) + " bytes" +
                (state_ == State::kQuoted ? " (is a closing quote missing?)" : ""));
  }
  if (buf_.size() + n > options_.max_record_bytes) {
    return Fail("record is longer than " + std::to_string(options_.max_record_bytes) + " bytes");
  }
  buf_.append(p, n);
  return true;
}

void CsvReader::EndField() {
  ends_.push_back(buf_.size());
  field_start_ = buf_.size();
}

bool CsvReader::Fail(std::string message) {
  error_ = std::move(message);
  state_ = State::kSkipLine;
  buf_.clear();
  ends_.clear();
  field_start_ = 0;
  return false;
}

bool CsvReader::EmitRecord(const Callback& cb) {
  // buf_ is cleared when the next record starts, not here: the views must outlive the
  // callback for CsvPullReader.
  record_.line = record_line_;
  record_.error = Status();
  record_.fields.clear();
  size_t begin = 0;
  for (size_t end : ends_) {
    record_.fields.emplace_back(buf_.data() + begin, end - begin);
    begin = end;
  }
  state_ = State::kRecordStart;
  ++records_;
  return cb(record_);
}

bool CsvReader::EmitError(const Callback& cb, int64_t last_line) {
  std::string message = LineMessage(record_line_, error_);
  if (last_line > record_line_) {
    message += "; skipped through line " + std::to_string(last_line);
  }
  record_.line = record_line_;
  record_.fields.clear();
  record_.error = Status(StatusCode::kInvalidArgument, std::move(message));
  error_.clear();
  state_ = State::kRecordStart;
  ++records_;
  return cb(record_);
}

size_t CsvReader::Parse(std::string_view data, const Callback& cb) {
  const char* const begin = data.data();
  const char* const end = begin + data.size();
  const char* p = begin;
  while (p < end) {
    // Fast paths: runs of ordinary bytes are scanned and appended at once.
    if (state_ == State::kUnquoted || state_ == State::kQuoted || state_ == State::kSkipLine) {
      const uint8_t stop = state_ == State::kUnquoted ? kDelim
                           : state_ == State::kQuoted ? kQuote
                                                      : kCr;
      const char* q = p;
      while (q < end && kind_[U8(*q)] < stop) ++q;
      if (q != p) {
        prev_cr_ = false;
        if (state_ != State::kSkipLine) {
          const bool ok = AppendToField(p, static_cast<size_t>(q - p));
          p = q;
          if (!ok) continue;  // now skipping the line
        }
        p = q;
        if (p == end) break;
      }
    }

    const char c = *p++;
    const uint8_t k = kind_[U8(c)];
    const int64_t line_of_byte = line_;
    if (k >= kCr) {
      if (k == kCr || !prev_cr_) ++line_;
      prev_cr_ = (k == kCr);
    } else {
      prev_cr_ = false;
    }

    switch (state_) {
      case State::kRecordStart:
        if (k >= kCr) continue;  // an empty line (or the LF of a CRLF)
        buf_.clear();
        ends_.clear();
        field_start_ = 0;
        record_line_ = line_of_byte;
        [[fallthrough]];
      case State::kFieldStart:
        if (k == kDelim) {
          EndField();
          state_ = State::kFieldStart;
          if (ends_.size() >= options_.max_fields) {
            Fail("more than " + std::to_string(options_.max_fields) + " fields");
          }
        } else if (k == kQuote) {
          quote_line_ = line_of_byte;
          state_ = State::kQuoted;
        } else if (k >= kCr) {  // only after a delimiter: a last, empty field
          EndField();
          if (!EmitRecord(cb)) return static_cast<size_t>(p - begin);
        } else {
          state_ = State::kUnquoted;
          AppendToField(&c, 1);
        }
        continue;

      case State::kUnquoted:  // c is a delimiter, a quote or a line end
        if (k == kDelim) {
          EndField();
          state_ = State::kFieldStart;
          if (ends_.size() >= options_.max_fields) {
            Fail("more than " + std::to_string(options_.max_fields) + " fields");
          }
        } else if (k >= kCr) {
          EndField();
          if (!EmitRecord(cb)) return static_cast<size_t>(p - begin);
        } else if (std::all_of(buf_.begin() + static_cast<std::ptrdiff_t>(field_start_), buf_.end(),
                               IsBlankByte)) {
          // Leniency: `a, "b"` -- spaces before an opening quote are dropped.
          buf_.resize(field_start_);
          quote_line_ = line_of_byte;
          state_ = State::kQuoted;
        } else {
          Fail("stray quote in unquoted field " + std::to_string(ends_.size() + 1) +
               " (a field containing quotes must be quoted, with each quote doubled)");
        }
        continue;

      case State::kQuoted:  // c is a quote or a line end
        if (k == kQuote) {
          state_ = State::kQuoteInQuoted;
        } else if (!AppendToField(&c, 1)) {
          // The field overflowed on this line end: the line that is skipped ends here.
          if (!EmitError(cb, line_of_byte)) return static_cast<size_t>(p - begin);
        }
        continue;

      case State::kQuoteInQuoted:
        if (k == kQuote) {  // "" inside quotes is one quote
          state_ = State::kQuoted;
          AppendToField(&c, 1);
          continue;
        }
        [[fallthrough]];
      case State::kAfterQuoted:
        if (k == kDelim) {
          EndField();
          state_ = State::kFieldStart;
          if (ends_.size() >= options_.max_fields) {
            Fail("more than " + std::to_string(options_.max_fields) + " fields");
          }
        } else if (k >= kCr) {
          EndField();
          if (!EmitRecord(cb)) return static_cast<size_t>(p - begin);
        } else if (IsBlankByte(c)) {
          state_ = State::kAfterQuoted;
        } else {
          Fail("unexpected character after the closing quote of field " +
               std::to_string(ends_.size() + 1) + " (a quote inside a quoted field is doubled)");
        }
        continue;

      case State::kSkipLine:  // c is a line end
        if (!EmitError(cb, line_of_byte)) return static_cast<size_t>(p - begin);
        continue;
    }
  }
  return data.size();
}

void CsvReader::Finish(const Callback& on_record) {
  if (finished_) return;
  if (!bom_done_) {
    bom_done_ = true;
    if (bom_matched_ > 0 && bom_matched_ < 3) {
      [[maybe_unused]] size_t n = Detect(std::string_view(kBom, bom_matched_), on_record);
    }
  }
  // The whole input was one line without a line end: detect from it now.
  if (delimiter_ == kCsvAutoDelimiter) DecideDelimiter(on_record);
  finished_ = true;
  switch (state_) {
    case State::kRecordStart:
      break;
    case State::kFieldStart:
    case State::kUnquoted:
    case State::kQuoteInQuoted:
    case State::kAfterQuoted:
      EndField();
      EmitRecord(on_record);
      break;
    case State::kQuoted:
      error_ = "unterminated quoted field " + std::to_string(ends_.size() + 1) +
               " (the quote opened on line " + std::to_string(quote_line_) + " is never closed)";
      buf_.clear();
      ends_.clear();
      EmitError(on_record, record_line_);
      break;
    case State::kSkipLine:
      EmitError(on_record, line_);
      break;
  }
}

// ---- CsvPullReader ------------------------------------------------------------------------

CsvPullReader::CsvPullReader(ReadFn read, CsvOptions options, size_t chunk_bytes)
    : read_(std::move(read)), reader_(options), chunk_(std::max<size_t>(chunk_bytes, 1), '\0') {}

Result<bool> CsvPullReader::Next(const CsvRecord** record) {
  current_ = nullptr;
  const CsvReader::Callback keep = [this](const CsvRecord& r) {
    current_ = &r;
    return false;
  };
  while (true) {
    if (pos_ < len_) {
      pos_ += reader_.Feed(std::string_view(chunk_.data() + pos_, len_ - pos_), keep);
    } else if (eof_) {
      if (finished_) return false;
      finished_ = true;
      reader_.Finish(keep);
    } else {
      SMSC_ASSIGN_OR_RETURN(const size_t n, read_(chunk_.data(), chunk_.size()));
      if (n > chunk_.size()) return Internal("CSV read function returned more than asked");
      if (n == 0) eof_ = true;
      pos_ = 0;
      len_ = n;
      bytes_read_ += static_cast<int64_t>(n);
    }
    if (current_ != nullptr) {
      *record = current_;
      return true;
    }
  }
}

// ---- The contacts header -----------------------------------------------------------------

namespace {

enum class Role {
  kPhone,
  kName,
  kFirstName,
  kLastName,
  kEmail,
  kProperty,
  kExportColumn,    // a statuses export's column about consent: dropped
  kPropertiesJson,  // a statuses export's `properties`: a JSON object
};

struct Alias {
  const char* name;
  Role role;
};

constexpr Alias kAliases[] = {
    {"phone", Role::kPhone},
    {"phone_number", Role::kPhone},
    {"mobile", Role::kPhone},
    {"mobile_number", Role::kPhone},
    {"number", Role::kPhone},
    {"msisdn", Role::kPhone},
    {"tel", Role::kPhone},
    {"telephone", Role::kPhone},
    {"name", Role::kName},
    {"full_name", Role::kName},
    {"first_name", Role::kFirstName},
    {"firstname", Role::kFirstName},
    {"given_name", Role::kFirstName},
    {"last_name", Role::kLastName},
    {"lastname", Role::kLastName},
    {"surname", Role::kLastName},
    {"family_name", Role::kLastName},
    {"email", Role::kEmail},
    {"e_mail", Role::kEmail},
    {"email_address", Role::kEmail},
};

Role RoleOf(std::string_view normalised) {
  for (const Alias& a : kAliases) {
    if (normalised == a.name) return a.role;
  }
  return Role::kProperty;
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kPhone:
      return "phone";
    case Role::kName:
      return "name";
    case Role::kFirstName:
      return "first name";
    case Role::kLastName:
      return "last name";
    case Role::kEmail:
      return "email";
    case Role::kProperty:
    case Role::kExportColumn:
    case Role::kPropertiesJson:
      break;
  }
  return "property";
}

// The statuses export's columns that describe a consent, not the contact.
bool IsExportConsentColumn(std::string_view normalised) {
  for (std::string_view c :
       {"contact_id", "number_id", "number", "status", "since", "source", "self_opted_out"}) {
    if (normalised == c) return true;
  }
  return false;
}

// Appends the members of an export's `properties` cell (a JSON object of texts) to *row from
// position *n on.
Status ReadPropertiesJson(std::string_view text, int64_t line, ContactRow* row, size_t* n) {
  JsonLimits limits;
  limits.max_depth = 2;
  limits.allow_nul = false;
  auto parsed = ReadJson(text, limits);
  if (!parsed.ok() || !parsed->is_object()) {
    return InvalidArgument(LineMessage(
        line, "the properties column is not a JSON object" +
                  (parsed.ok() ? std::string() : " (" + parsed.status().message() + ")")));
  }
  for (const auto& [key, value] : parsed->items()) {
    if (!value.is_string()) {
      return InvalidArgument(
          LineMessage(line, "the properties column's '" + key + "' is not a text (a JSON string)"));
    }
    std::string name = NormalizePropertyName(key);
    const std::string& v = value.get_ref<const std::string&>();
    if (name.empty() || v.empty()) continue;
    if (*n == row->properties.size()) row->properties.emplace_back();
    row->properties[*n].first = std::move(name);
    row->properties[*n].second.assign(v);
    ++*n;
  }
  return Status::Ok();
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string ColumnRef(std::span<const std::string_view> header, size_t i) {
  return Quoted(TrimAsciiSpace(header[i])) + " (column " + std::to_string(i + 1) + ")";
}

// The value of a cell as a contact field: trimmed, with an export's formula guard removed.
std::string_view CellValue(std::string_view v, bool undo_guard) {
  v = TrimAsciiSpace(v);
  if (undo_guard && v.size() >= 2 && v[0] == '\'' && IsFormulaStart(v[1])) {
    v = TrimAsciiSpace(v.substr(1));
  }
  return v;
}

}  // namespace

Result<ContactColumns> MapContactHeader(std::span<const std::string_view> header,
                                        const ContactHeaderOptions& options) {
  ContactColumns out;
  out.columns = header.size();
  out.undo_formula_guard = options.undo_formula_guard;
  const std::string phone_column = NormalizePropertyName(options.phone_column);

  for (size_t i = 0; i < header.size(); ++i) {
    if (!IsValidUtf8(header[i])) {
      return InvalidArgument("the header's column " + std::to_string(i + 1) +
                             " is not UTF-8 text: save the file as UTF-8 (CSV UTF-8)");
    }
    if (header[i].find('\0') != std::string_view::npos) {
      return InvalidArgument("the header's column " + std::to_string(i + 1) +
                             " holds a NUL byte, which cannot be stored");
    }
  }
  std::vector<std::string> names(header.size());
  std::vector<Role> roles(header.size(), Role::kProperty);
  for (size_t i = 0; i < header.size(); ++i) names[i] = NormalizePropertyName(header[i]);
  auto has = [&](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  // Our own statuses export: its `number` is the sender number, and the phone is `phone`.
  out.statuses_export = has("number") && has("number_id") && has("status");
  for (size_t i = 0; i < header.size(); ++i) {
    if (names[i].empty()) continue;
    for (size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) {
        return InvalidArgument("the header has two columns named " + Quoted(names[i]) + ": " +
                               ColumnRef(header, j) + " and " + ColumnRef(header, i));
      }
    }
    roles[i] = RoleOf(names[i]);
    if (out.statuses_export) {
      if (names[i] == "properties") {
        roles[i] = Role::kPropertiesJson;
      } else if (IsExportConsentColumn(names[i])) {
        roles[i] = Role::kExportColumn;
      }
    }
    if (!phone_column.empty()) {
      if (names[i] == phone_column) {
        roles[i] = Role::kPhone;
      } else if (roles[i] == Role::kPhone) {
        roles[i] = Role::kProperty;
      }
    }
  }

  auto assign = [&](size_t* slot, size_t i) -> Status {
    if (*slot != kNoColumn) {
      std::string message = "the header has two " + std::string(RoleName(roles[i])) + " columns, " +
                            ColumnRef(header, *slot) + " and " + ColumnRef(header, i);
      if (roles[i] == Role::kPhone) message += ": choose one as the phone column";
      return InvalidArgument(std::move(message));
    }
    *slot = i;
    return Status::Ok();
  };
  for (size_t i = 0; i < header.size(); ++i) {
    if (names[i].empty()) continue;
    switch (roles[i]) {
      case Role::kPhone:
        SMSC_RETURN_IF_ERROR(assign(&out.phone, i));
        break;
      case Role::kName:
        SMSC_RETURN_IF_ERROR(assign(&out.name, i));
        break;
      case Role::kFirstName:
        SMSC_RETURN_IF_ERROR(assign(&out.first_name, i));
        break;
      case Role::kLastName:
        SMSC_RETURN_IF_ERROR(assign(&out.last_name, i));
        break;
      case Role::kEmail:
        SMSC_RETURN_IF_ERROR(assign(&out.email, i));
        break;
      case Role::kPropertiesJson:
        out.properties_json = i;
        break;
      case Role::kProperty:
      case Role::kExportColumn:
        break;
    }
  }
  if (out.name != kNoColumn) {
    // With a full name given, first/last name are kept as ordinary properties.
    if (out.first_name != kNoColumn) roles[out.first_name] = Role::kProperty;
    if (out.last_name != kNoColumn) roles[out.last_name] = Role::kProperty;
    out.first_name = out.last_name = kNoColumn;
  }
  for (size_t i = 0; i < header.size(); ++i) {
    if (names[i].empty()) {
      out.ignored.push_back(i);
    } else if (roles[i] == Role::kExportColumn) {
      out.export_columns.push_back(i);
    } else if (roles[i] == Role::kProperty) {
      out.properties.emplace_back(i, names[i]);
      if (names[i] == "sender") out.sender = i;
    }
  }

  if (out.phone == kNoColumn) {
    if (!phone_column.empty()) {
      return InvalidArgument("the phone column " + Quoted(options.phone_column) +
                             " is not in the header");
    }
    std::string found;
    for (std::string_view h : header) {
      if (!found.empty()) found += ", ";
      found += Quoted(TrimAsciiSpace(h));
    }
    std::string aliases;
    for (const Alias& a : kAliases) {
      if (a.role != Role::kPhone) continue;
      if (!aliases.empty()) aliases += ", ";
      aliases += a.name;
    }
    return InvalidArgument("no phone column in the CSV header (columns: " +
                           (found.empty() ? std::string("none") : found) +
                           "); name the column with the phone numbers one of: " + aliases);
  }
  return out;
}

Status ReadContactRow(const ContactColumns& columns, const CsvRecord& record, ContactRow* row) {
  if (!record.ok()) return record.error;
  const bool undo = columns.undo_formula_guard;
  auto cell = [&](size_t i) -> std::string_view {
    if (i == kNoColumn || i >= record.fields.size()) return {};
    return CellValue(record.fields[i], undo);
  };
  for (size_t i = columns.columns; i < record.fields.size(); ++i) {
    if (!TrimAsciiSpace(record.fields[i]).empty()) {
      return InvalidArgument(LineMessage(
          record.line, std::to_string(record.fields.size()) + " fields but the header has " +
                           std::to_string(columns.columns) + " columns"));
    }
  }
  // Names, emails and properties are stored as text and written into JSON: a file in another
  // encoding (Windows-1252 from a spreadsheet) is refused row by row, not guessed at. A NUL
  // byte is valid UTF-8 but PostgreSQL's text ends at it, so a name would be stored cut short
  // there and whole in SQLite: refused in both.
  for (size_t i = 0; i < record.fields.size(); ++i) {
    if (!IsValidUtf8(record.fields[i])) {
      return InvalidArgument(LineMessage(
          record.line,
          "column " + std::to_string(i + 1) + " is not UTF-8 text: save the file as UTF-8"));
    }
    if (record.fields[i].find('\0') != std::string_view::npos) {
      return InvalidArgument(LineMessage(
          record.line,
          "column " + std::to_string(i + 1) + " holds a NUL byte, which cannot be stored"));
    }
  }
  row->phone.assign(cell(columns.phone));
  if (row->phone.empty()) return InvalidArgument(LineMessage(record.line, "no phone number"));
  if (columns.name != kNoColumn) {
    row->name.assign(cell(columns.name));
  } else {
    const std::string_view first = cell(columns.first_name);
    const std::string_view last = cell(columns.last_name);
    row->name.assign(first);
    if (!first.empty() && !last.empty()) row->name.push_back(' ');
    row->name.append(last);
  }
  row->email.assign(cell(columns.email));
  row->sender.assign(cell(columns.sender));
  // Reuse the pairs' strings across rows: an import calls this a million times.
  size_t n = 0;
  if (const std::string_view json = cell(columns.properties_json); !json.empty()) {
    Status st = ReadPropertiesJson(json, record.line, row, &n);
    if (!st.ok()) {
      row->properties.resize(n);
      return st;
    }
  }
  for (const auto& [i, property] : columns.properties) {
    const std::string_view v = cell(i);
    if (v.empty()) continue;
    if (n == row->properties.size()) row->properties.emplace_back();
    row->properties[n].first.assign(property);
    row->properties[n].second.assign(v);
    ++n;
  }
  row->properties.resize(n);
  return Status::Ok();
}

// ---- CsvWriter --------------------------------------------------------------------------

CsvWriter::CsvWriter(CsvWriterOptions options) : options_(std::move(options)) {
  assert(options_.delimiter != '"' && options_.delimiter != '\r' && options_.delimiter != '\n');
}

void CsvWriter::AppendField(std::string_view field, std::string* out) const {
  const bool guard = options_.protect_formulas && !field.empty() && IsFormulaStart(field[0]);
  bool quote = false;
  for (char c : field) {
    if (c == options_.delimiter || c == '"' || c == '\r' || c == '\n') {
      quote = true;
      break;
    }
  }
  if (!field.empty()) {
    // With the guard the field starts with the apostrophe, so only its end can be blank.
    if ((!guard && IsBlankByte(field.front())) || IsBlankByte(field.back())) quote = true;
  }
  if (quote) out->push_back('"');
  if (guard) out->push_back('\'');
  if (quote) {
    size_t from = 0;
    for (size_t q = field.find('"'); q != std::string_view::npos; q = field.find('"', from)) {
      out->append(field.substr(from, q + 1 - from));
      out->push_back('"');
      from = q + 1;
    }
    out->append(field.substr(from));
    out->push_back('"');
  } else {
    out->append(field);
  }
}

void CsvWriter::AppendRecord(std::span<const std::string_view> fields, std::string* out) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(options_.delimiter);
    AppendField(fields[i], out);
  }
  out->append(options_.line_end);
}

void CsvWriter::AppendRecord(std::span<const std::string> fields, std::string* out) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(options_.delimiter);
    AppendField(fields[i], out);
  }
  out->append(options_.line_end);
}

}  // namespace smsconsent
