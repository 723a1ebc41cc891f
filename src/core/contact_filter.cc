#include "core/contact_filter.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/ascii.h"

namespace smsconsent {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---- Civil dates (proleptic Gregorian, after H. Hinnant's days_from_civil) ----------------

constexpr int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return (m == 2 && leap) ? 29 : kDays[m - 1];
}

// The bounds a filter time may take, so that every bound renders as a 4-digit year.
constexpr int64_t kMinFilterMs = DaysFromCivil(0, 1, 1) * kMsPerDay;
constexpr int64_t kMaxFilterMs = DaysFromCivil(10000, 1, 1) * kMsPerDay - 1;

// Reads exactly `n` digits at s[*i]; false when they are not all digits.
bool Digits(std::string_view s, size_t* i, size_t n, int* out) {
  if (*i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (!IsAsciiDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

// ---- Building a filter from terms (shared by the text and query front ends) --------------

class Builder {
 public:
  // Every setter takes `where` ("at position 7", "in query parameter 'status'") for messages.
  Status Number(std::string_view v, const std::string& where) {
    const bool plus = !v.empty() && v[0] == '+';
    const std::string_view digits = v.substr(plus ? 1 : 0);
    if (digits.size() < 3 || digits.size() > 15 ||
        !std::all_of(digits.begin(), digits.end(), IsAsciiDigit)) {
      return InvalidArgument("bad sender number " + Quote(v) + " " + where +
                             " (expected a number as registered, like +4520123456, or a short "
                             "code like 12345; number_id=ID takes its id)");
    }
    SMSC_RETURN_IF_ERROR(Claim("number", "number=" + std::string(v), where));
    f_.number = std::string(v);
    return Status::Ok();
  }

  Status NumberId(std::string_view v, const std::string& where, const char* key) {
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || id <= 0) {
      return InvalidArgument("bad sender number id " + Quote(v) + " " + where +
                             " (expected a positive integer)");
    }
    SMSC_RETURN_IF_ERROR(Claim("number", std::string(key) + "=" + std::string(v), where));
    f_.number_id = id;
    return Status::Ok();
  }

  Status StatusTerm(std::string_view v, const std::string& where) {
    Result<SubscriptionStatus> s = ParseSubscriptionStatus(LowerAscii(v));
    if (!s.ok()) {
      return InvalidArgument(
          "bad status " + Quote(v) + " " + where +
          " (expected one of: opted_in, opted_out, not_specified, pending_confirmation)");
    }
    SMSC_RETURN_IF_ERROR(Claim("status", "status=" + std::string(v), where));
    f_.status = *s;
    return Status::Ok();
  }

  Status Search(std::string_view v, const std::string& where) {
    SMSC_RETURN_IF_ERROR(Claim("search", "search", where));
    f_.search = std::string(v);
    return Status::Ok();
  }

  // op: one of "=", ">=", ">", "<=", "<".
  Status Created(std::string_view op, std::string_view v, const std::string& where) {
    Result<TimeSpan> span = ParseTimeSpan(v);
    if (!span.ok()) {
      return InvalidArgument("bad time " + Quote(v) + " " + where + ": " + span.status().message());
    }
    const std::string term = "created" + std::string(op) + std::string(v);
    const bool lower = op == "=" || op == ">=" || op == ">";
    const bool upper = op == "=" || op == "<=" || op == "<";
    const int64_t from = op == ">" ? span->end_ms : span->start_ms;
    const int64_t to = op == "<" ? span->start_ms : span->end_ms;
    if ((lower && (from < kMinFilterMs || from > kMaxFilterMs)) ||
        (upper && (to < kMinFilterMs || to > kMaxFilterMs))) {
      return InvalidArgument("time " + Quote(v) + " " + where +
                             " is out of range (0000-01-01 to 9999-12-31T23:59:59.999Z)");
    }
    if (lower) SMSC_RETURN_IF_ERROR(Claim("created_from", term, where));
    if (upper) SMSC_RETURN_IF_ERROR(Claim("created_to", term, where));
    if (lower) f_.created_from_ms = from;
    if (upper) f_.created_to_ms = to;
    return Status::Ok();
  }

  Status Property(std::string_view raw_name, std::string_view v, const std::string& where) {
    std::string name = NormalizePropertyName(raw_name);
    if (name.empty()) {
      return InvalidArgument("empty property name " + where + " (write prop.NAME=VALUE)");
    }
    SMSC_RETURN_IF_ERROR(Claim("prop." + name, "prop." + name, where));
    if (f_.properties.size() >= kMaxFilterProperties) {
      return InvalidArgument("prop." + name + " " + where +
                             " is one too many: a filter takes at most " +
                             std::to_string(kMaxFilterProperties) + " prop.NAME terms");
    }
    f_.properties.emplace_back(std::move(name), std::string(v));
    return Status::Ok();
  }

  Result<ContactFilter> Finish() {
    const bool has_number = f_.number || f_.number_id;
    if (f_.status && !has_number) {
      const Seen& s = seen_.at("status");
      return InvalidArgument(s.term + " " + s.where +
                             " needs number=NUMBER or number_id=ID: a status is always the "
                             "status on one sender number");
    }
    if (has_number && !f_.status) {
      const Seen& s = seen_.at("number");
      return InvalidArgument(
          s.term + " " + s.where +
          " needs status=opted_in|opted_out|not_specified|pending_confirmation: a number alone "
          "selects no contacts");
    }
    if (f_.created_from_ms && f_.created_to_ms && *f_.created_from_ms >= *f_.created_to_ms) {
      return InvalidArgument("the created range is empty: " + seen_.at("created_from").term + " " +
                             seen_.at("created_from").where + " and " +
                             seen_.at("created_to").term + " " + seen_.at("created_to").where);
    }
    std::sort(f_.properties.begin(), f_.properties.end());
    return std::move(f_);
  }

 private:
  struct Seen {
    std::string term;
    std::string where;
  };

  // Each slot (number, status, search, created_from, created_to, prop.NAME) is set once.
  Status Claim(const std::string& slot, std::string term, const std::string& where) {
    auto [it, inserted] = seen_.try_emplace(slot, Seen{term, where});
    if (inserted) return Status::Ok();
    std::string what = slot == "created_from" ? "the created lower bound (created>= or >)"
                       : slot == "created_to" ? "the created upper bound (created< or <=)"
                       : slot == "number"     ? "the sender number (number= or number_id=)"
                                              : Quote(slot);
    return InvalidArgument(what + " is given twice: " + it->second.term + " " + it->second.where +
                           " and " + term + " " + where);
  }

  ContactFilter f_;
  std::map<std::string, Seen> seen_;
};

// ---- The text language ---------------------------------------------------------------------

class TextParser {
 public:
  // `suffix` follows every position in messages ("" or " of the filter parameter").
  TextParser(std::string_view text, std::string suffix) : s_(text), suffix_(std::move(suffix)) {}

  Status ParseInto(Builder* b) {
    SkipSpace();
    while (i_ < s_.size()) {
      SMSC_RETURN_IF_ERROR(Term(b));
      if (i_ < s_.size() && !IsAsciiSpace(s_[i_])) {
        return Error("expected white space between terms", i_);
      }
      SkipSpace();
    }
    return Status::Ok();
  }

 private:
  std::string At(size_t pos) const { return "at position " + std::to_string(pos + 1) + suffix_; }
  // "<what> at position N[ of ...]<detail>"
  Status Error(const std::string& what, size_t pos, std::string_view detail = {}) const {
    return InvalidArgument(what + " " + At(pos) + std::string(detail));
  }
  void SkipSpace() {
    while (i_ < s_.size() && IsAsciiSpace(s_[i_])) ++i_;
  }

  // A double-quoted string at s_[i_] == '"', with \" and \\ escapes.
  Result<std::string> QuotedString() {
    const size_t open = i_++;
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c == '\\') {
        if (i_ + 1 < s_.size() && (s_[i_ + 1] == '"' || s_[i_ + 1] == '\\')) {
          out.push_back(s_[i_ + 1]);
          i_ += 2;
          continue;
        }
        if (i_ + 1 >= s_.size()) break;
        return Error("unknown escape \\" + std::string(1, s_[i_ + 1]) +
                         " (inside quotes only \\\" and \\\\ are escapes)",
                     i_);
      }
      out.push_back(c);
      ++i_;
    }
    return Error("unterminated quote", open);
  }

  Status Term(Builder* b) {
    const size_t key_pos = i_;
    if (!IsAsciiLetter(s_[i_]) && s_[i_] != '_') {
      return Error("expected a term like status=opted_in, found " + Quote(s_.substr(i_, 1)), i_);
    }
    while (i_ < s_.size() && (IsAsciiLetter(s_[i_]) || IsAsciiDigit(s_[i_]) || s_[i_] == '_')) ++i_;
    const std::string key = LowerAscii(s_.substr(key_pos, i_ - key_pos));

    std::string prop_name;
    if (key == "prop") {
      if (i_ >= s_.size() || s_[i_] != '.') return Error("expected prop.NAME", key_pos);
      ++i_;
      if (i_ < s_.size() && s_[i_] == '"') {
        SMSC_ASSIGN_OR_RETURN(prop_name, QuotedString());
      } else {
        const size_t name_pos = i_;
        while (i_ < s_.size() && !IsAsciiSpace(s_[i_]) && s_[i_] != '=' && s_[i_] != '<' &&
               s_[i_] != '>' && s_[i_] != '!' && s_[i_] != '"') {
          ++i_;
        }
        prop_name = std::string(s_.substr(name_pos, i_ - name_pos));
      }
      if (NormalizePropertyName(prop_name).empty()) {
        return Error("empty property name (write prop.NAME=VALUE)", key_pos);
      }
    } else if (key != "number" && key != "number_id" && key != "status" && key != "search" &&
               key != "created") {
      size_t end = i_;
      while (end < s_.size() && !IsAsciiSpace(s_[end]) && s_[end] != '=' && s_[end] != '<' &&
             s_[end] != '>' && s_[end] != '!') {
        ++end;
      }
      return Error("unknown key " + Quote(s_.substr(key_pos, end - key_pos)), key_pos,
                   " (known keys: number, number_id, status, search, created, prop.NAME)");
    }

    const size_t op_pos = i_;
    std::string_view op;
    for (std::string_view candidate : {">=", "<=", "!=", "=", ">", "<"}) {
      if (s_.substr(i_, candidate.size()) == candidate) {
        op = candidate;
        break;
      }
    }
    if (op.empty()) {
      return Error("expected '=' after " + Quote(s_.substr(key_pos, i_ - key_pos)), op_pos);
    }
    i_ += op.size();
    if (op != "=" && key != "created") {
      return Error(
          Quote(s_.substr(key_pos, op_pos - key_pos)) + " takes '=' only, not " + Quote(op),
          op_pos);
    }
    if (op == "!=") return Error("created takes =, >=, >, <= or <, not '!='", op_pos);

    const size_t value_pos = i_;
    std::string value;
    if (i_ < s_.size() && s_[i_] == '"') {
      SMSC_ASSIGN_OR_RETURN(value, QuotedString());
      if (i_ < s_.size() && !IsAsciiSpace(s_[i_])) {
        return Error("expected white space after the closing quote", i_);
      }
    } else {
      while (i_ < s_.size() && !IsAsciiSpace(s_[i_])) {
        if (s_[i_] == '"') {
          return Error("a quote inside a bare value (quote the whole value: key=\"...\")", i_);
        }
        ++i_;
      }
      value = std::string(s_.substr(value_pos, i_ - value_pos));
    }

    const std::string where = At(key_pos);
    if (key == "number") return b->Number(value, where);
    if (key == "number_id") return b->NumberId(value, where, "number_id");
    if (key == "status") return b->StatusTerm(value, where);
    if (key == "search") return b->Search(value, where);
    if (key == "created") return b->Created(op, value, where);
    return b->Property(prop_name, value, where);
  }

  std::string_view s_;
  std::string suffix_;
  size_t i_ = 0;
};

// ---- Rendering -------------------------------------------------------------------------------

void AppendValue(std::string_view v, bool name, std::string* out) {
  bool quote = v.empty();
  for (char c : v) {
    if (IsAsciiSpace(c) || c == '"' ||
        (name && (c == '=' || c == '<' || c == '>' || c == '!' || c == '\\'))) {
      quote = true;
    }
  }
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

// ---- Case folding for search -------------------------------------------------------------------

std::string Fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(std::min<size_t>(s.size(), INT32_MAX));
  int32_t i = 0;
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {  // ill-formed: keep the bytes as they are
      out.append(s.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
      continue;
    }
    c = u_foldCase(c, U_FOLD_CASE_DEFAULT);
    uint8_t buf[U8_MAX_LENGTH];
    int32_t n = 0;
    U8_APPEND_UNSAFE(buf, n, c);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

// ---- Public functions ---------------------------------------------------------------------------

std::string NormalizePropertyName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool separator = false;
  for (char c : name) {
    if (IsAsciiSpace(c) || c == '-' || c == '_') {
      separator = !out.empty();
      continue;
    }
    if (separator) out.push_back('_');
    separator = false;
    out.push_back(LowerAscii(c));
  }
  return out;
}

Result<TimeSpan> ParseTimeSpan(std::string_view s) {
  const std::string_view kDateFormat = "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.mmm]]Z";
  size_t i = 0;
  int year = 0, month = 0, day = 0;
  if (!Digits(s, &i, 4, &year) || i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &month) ||
      i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &day)) {
    return InvalidArgument(std::string(kDateFormat));
  }
  if (month < 1 || month > 12) return InvalidArgument("the month must be 01-12");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return InvalidArgument("the day must be 01-" + std::to_string(DaysInMonth(year, month)) +
                           " in that month");
  }
  const int64_t day_ms = DaysFromCivil(year, month, day) * kMsPerDay;
  if (i == s.size()) return TimeSpan{day_ms, day_ms + kMsPerDay};

  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return InvalidArgument(std::string(kDateFormat));
  ++i;
  int hour = 0, minute = 0, second = 0, millis = 0;
  if (!Digits(s, &i, 2, &hour) || i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &minute)) {
    return InvalidArgument(std::string(kDateFormat));
  }
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!Digits(s, &i, 2, &second)) return InvalidArgument(std::string(kDateFormat));
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t n = 0;
      while (i + n < s.size() && IsAsciiDigit(s[i + n])) ++n;
      if (n == 0) return InvalidArgument("expected digits after the decimal point");
      if (n > 3) return InvalidArgument("times are kept to the millisecond: at most 3 decimals");
      Digits(s, &i, n, &millis);
      for (size_t k = n; k < 3; ++k) millis *= 10;
    }
  }
  if (hour > 23) return InvalidArgument("the hour must be 00-23");
  if (minute > 59) return InvalidArgument("the minutes must be 00-59");
  if (second > 59) return InvalidArgument("the seconds must be 00-59");
  int64_t offset_min = 0;
  if (i == s.size()) {
    return InvalidArgument("a date-time needs a time zone: add Z (UTC) or an offset like +01:00");
  }
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    const int sign = s[i++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!Digits(s, &i, 2, &oh)) return InvalidArgument("expected an offset like +01:00");
    if (i < s.size() && s[i] == ':') ++i;
    if (!Digits(s, &i, 2, &om)) return InvalidArgument("expected an offset like +01:00");
    if (oh > 23 || om > 59) return InvalidArgument("the offset must be at most 23:59");
    offset_min = sign * (oh * 60 + om);
  } else {
    return InvalidArgument("expected Z or an offset like +01:00 after the time");
  }
  if (i != s.size()) return InvalidArgument("unexpected text after the time zone");
  const int64_t ms =
      day_ms + ((hour * 60 + minute) * 60 + second) * int64_t{1000} + millis - offset_min * 60'000;
  return TimeSpan{ms, ms + 1};
}

std::string FormatFilterTime(int64_t ms) {
  int64_t days = ms / kMsPerDay;
  int64_t rem = ms % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --days;
  }
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  if (rem == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(y), m, d);
    return buf;
  }
  const int64_t secs = rem / 1000;
  const int millis = static_cast<int>(rem % 1000);
  const int hh = static_cast<int>(secs / 3600), mm = static_cast<int>(secs / 60 % 60),
            ss = static_cast<int>(secs % 60);
  if (millis == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(y), m,
                  d, hh, mm, ss);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  static_cast<long long>(y), m, d, hh, mm, ss, millis);
  }
  return buf;
}

Result<ContactFilter> ParseContactFilter(std::string_view text) {
  Builder b;
  Status st = TextParser(text, "").ParseInto(&b);
  if (!st.ok()) return InvalidArgument("filter: " + st.message());
  Result<ContactFilter> f = b.Finish();
  if (!f.ok()) return InvalidArgument("filter: " + f.status().message());
  return f;
}

std::string FormatContactFilter(const ContactFilter& f) {
  std::string out;
  auto term = [&out](std::string_view key) {
    if (!out.empty()) out.push_back(' ');
    out.append(key);
  };
  if (f.number) {
    term("number=");
    AppendValue(*f.number, false, &out);
  }
  if (f.number_id) term("number_id=" + std::to_string(*f.number_id));
  if (f.status) term(std::string("status=") + SubscriptionStatusName(*f.status));
  if (!f.search.empty()) {
    term("search=");
    AppendValue(f.search, false, &out);
  }
  if (f.created_from_ms) term("created>=" + FormatFilterTime(*f.created_from_ms));
  if (f.created_to_ms) term("created<" + FormatFilterTime(*f.created_to_ms));
  std::vector<std::pair<std::string, std::string>> props = f.properties;
  std::sort(props.begin(), props.end());
  for (const auto& [name, value] : props) {
    term("prop.");
    AppendValue(name, true, &out);
    out.push_back('=');
    AppendValue(value, false, &out);
  }
  return out;
}

Result<ContactFilter> ContactFilterFromQuery(const std::map<std::string, std::string>& params) {
  Builder b;
  for (const auto& [key, value] : params) {
    const std::string where = "in query parameter " + Quote(key);
    if (key == "filter") {
      SMSC_RETURN_IF_ERROR(TextParser(value, " of the filter parameter").ParseInto(&b));
    } else if (key == "number") {
      SMSC_RETURN_IF_ERROR(b.NumberId(value, where, "number"));
    } else if (key == "status") {
      SMSC_RETURN_IF_ERROR(b.StatusTerm(value, where));
    } else if (key == "search") {
      SMSC_RETURN_IF_ERROR(b.Search(value, where));
    } else if (key == "created_from") {
      SMSC_RETURN_IF_ERROR(b.Created(">=", value, where));
    } else if (key == "created_before") {
      SMSC_RETURN_IF_ERROR(b.Created("<", value, where));
    } else if (key.starts_with("prop.")) {
      SMSC_RETURN_IF_ERROR(b.Property(std::string_view(key).substr(5), value, where));
    }
  }
  return b.Finish();
}

bool Matches(const ContactFilter& f, const ContactFacts& c) {
  if (f.created_from_ms && c.created_at_ms < *f.created_from_ms) return false;
  if (f.created_to_ms && c.created_at_ms >= *f.created_to_ms) return false;
  if (f.status) {
    SubscriptionStatus status = SubscriptionStatus::kNotSpecified;
    for (const ContactNumberStatus& s : c.statuses) {
      if ((f.number_id && s.number_id == *f.number_id) || (f.number && s.number == *f.number)) {
        status = s.status;
        break;
      }
    }
    if (status != *f.status) return false;
  }
  for (const auto& [name, value] : f.properties) {
    std::string_view actual;
    for (const auto& [n, v] : c.properties) {
      if (n == name) {
        actual = v;
        break;
      }
    }
    if (actual != value) return false;
  }
  if (!f.search.empty()) {
    // As the store does: the folded search text inside the folded name or the phone.
    const std::string needle = Fold(f.search);
    if (c.phone.find(needle) == std::string::npos &&
        Fold(c.name).find(needle) == std::string::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace smsconsent
