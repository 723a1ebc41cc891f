// Contact filters: which contacts a bulk change, an export or a list selects.
//
// One struct, ContactFilter, holds the filters of the contact list API -- status on a sender
// number, search text, created range, property values -- and three front ends produce it:
//   - the `--filter EXPR` text of the CLI (ParseContactFilter), e.g.
//       status=opted_in number=+4520123456 search="ann b" created>=2026-01-01 prop.city=Aarhus
//   - URL query parameters of the API (ContactFilterFromQuery), e.g.
//       ?number=7&status=opted_in&search=ann&created_from=2026-01-01&prop.city=Aarhus
//   - code, filling the struct directly.
// FormatContactFilter renders the canonical text, which parses back to the same struct.
// Matches() evaluates a filter on an in-memory contact; the store translates the struct to SQL
// with the same semantics. The grammar is described in docs/csv.md.
//
// Pure: no I/O, no clock. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/consent.h"
#include "core/status.h"

namespace smsconsent {

// The most prop.NAME terms one filter takes. Each is one more condition evaluated per
// contact, and each count of them one more query shape the store prepares and keeps.
inline constexpr size_t kMaxFilterProperties = 20;

struct ContactFilter {
  // The sender number a status is on: either as registered ("+4520123456", or a short code
  // "12345"; the CLI's `number=`) or by id (the API's `number=ID`, the CLI's `number_id=`).
  // At most one of the two; set exactly when `status` is set.
  std::optional<std::string> number;
  std::optional<int64_t> number_id;
  // The contact's status on that number; kNotSpecified also matches a contact whose status
  // on the number was never set.
  std::optional<SubscriptionStatus> status;
  // Case-insensitive substring of the phone (E.164) or the name; empty = no search.
  std::string search;
  // created_from_ms <= created_at_ms < created_to_ms (milliseconds since the epoch, UTC).
  std::optional<int64_t> created_from_ms;
  std::optional<int64_t> created_to_ms;
  // (name, value) pairs, all of which must hold: names normalised by NormalizePropertyName,
  // sorted by name, unique. A value matches the property's value exactly (case-sensitive);
  // an empty value matches a contact without the property (or with an empty one).
  std::vector<std::pair<std::string, std::string>> properties;

  bool empty() const {
    return !number && !number_id && !status && search.empty() && !created_from_ms &&
           !created_to_ms && properties.empty();
  }
  bool operator==(const ContactFilter&) const = default;
};

// Parses the filter language. Terms are separated by white space and all must hold (AND):
//   number=NUMBER  number_id=ID  status=STATUS  search=TEXT  prop.NAME=VALUE
//   created>=TIME  created>TIME  created<=TIME  created<TIME  created=TIME
// Values are bare (up to the next white space, no quotes) or double-quoted, where a
// backslash escapes a quote or a backslash; a property NAME may be quoted too
// (prop."favourite colour"=blue). Keys and status names are case-insensitive. TIME is a UTC
// day YYYY-MM-DD (covering the whole day: >=D is from its start, >D from the next day, <=D up
// to its end) or a date-time
// YYYY-MM-DDTHH:MM[:SS[.mmm]] with Z or an offset (+02:00). The empty text is the empty
// filter. Errors (kInvalidArgument, message naming the 1-based position in the text):
// syntax, unknown key, bad status name, bad number or id, bad date, a key given twice,
// status without number (or number without status), number together with number_id, an
// empty created range, more than kMaxFilterProperties prop.NAME terms.
Result<ContactFilter> ParseContactFilter(std::string_view text);

// The canonical text: terms in the order number/number_id, status, search, created>=,
// created<, prop.* (by name); values quoted only when needed; times as YYYY-MM-DD at midnight,
// else YYYY-MM-DDTHH:MM:SS[.mmm]Z. "" for the empty filter.
// ParseContactFilter(FormatContactFilter(f)) == f for every valid f with sorted properties.
std::string FormatContactFilter(const ContactFilter& filter);

// The same filter from URL query parameters, so the API and the CLI share one meaning:
//   number=ID (a sender number id, as GET /v1/contacts takes it), status=STATUS, search=TEXT,
//   created_from=TIME (inclusive), created_before=TIME (exclusive; a day means its start),
//   prop.NAME=VALUE, and filter=EXPR (the text language, combined with the others).
// Other parameters (limit, after, ...) are ignored. Errors as ParseContactFilter, naming the
// parameter; a key given both in `filter` and as its own parameter is an error, and the
// kMaxFilterProperties limit counts the prop.NAME terms of both.
Result<ContactFilter> ContactFilterFromQuery(const std::map<std::string, std::string>& params);

// What Matches needs to know about a contact.
struct ContactNumberStatus {
  int64_t number_id = 0;
  std::string number;  // the sender number as registered
  SubscriptionStatus status = SubscriptionStatus::kNotSpecified;
};
struct ContactFacts {
  std::string phone;  // E.164
  std::string name;
  int64_t created_at_ms = 0;
  std::vector<std::pair<std::string, std::string>> properties;  // normalised names
  std::vector<ContactNumberStatus> statuses;  // numbers without an entry are not_specified
};

// True when the contact satisfies every term of the filter (the empty filter matches all).
// The search folds case with Unicode simple case folding.
bool Matches(const ContactFilter& filter, const ContactFacts& contact);

// The key under which a contact property is stored, from a CSV column name or a filter's
// prop.NAME: trimmed, ASCII letters lower-cased, runs of spaces, tabs, '-' and '_' turned into
// one '_', leading and trailing '_' dropped ("  Favourite-Colour " -> "favourite_colour").
// Other bytes (digits, '.', UTF-8) are kept as they are. May return "".
std::string NormalizePropertyName(std::string_view name);

// A time as the filter language writes it, as the half-open span of milliseconds it covers:
// a day YYYY-MM-DD covers [midnight, next midnight); a date-time covers one millisecond.
struct TimeSpan {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool operator==(const TimeSpan&) const = default;
};
// kInvalidArgument naming what is wrong ("month must be 01-12", "add Z or an offset", ...).
// Years 0001-9999; at most millisecond precision.
Result<TimeSpan> ParseTimeSpan(std::string_view text);
// "2026-01-01" at midnight UTC, else "2026-01-01T12:00:00Z" / "...:00.250Z".
std::string FormatFilterTime(int64_t ms);

}  // namespace smsconsent
