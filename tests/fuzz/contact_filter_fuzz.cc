// Fuzz target: contact filters (core/contact_filter.h) -- the `filter=` text language of the
// API and CLI, the same filter from URL query parameters, and the filter's times.
//
// Invariants: a filter that parses prints (FormatContactFilter) as text that parses back to the
// same filter and prints the same again; so does one built from query parameters; a created
// range is never empty; a parsed time is a non-empty span that prints as text parsing back to
// the same start. The text form has four-digit years, so the round trips are checked for
// times in the years 0000-9999 (an offset or `created>9999-12-31` can reach just outside
// them). Matches() is evaluated on a few contacts (it must not crash).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/consent.h"
#include "core/contact_filter.h"
#include "core/status.h"
#include "fuzz_check.h"
#include "providers/webhook.h"

namespace smsconsent {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;
constexpr int64_t kYear0000Ms = -62'167'219'200'000;   // 0000-01-01T00:00:00Z
constexpr int64_t kYear10000Ms = 253'402'300'800'000;  // 10000-01-01T00:00:00Z

bool FourDigitYear(int64_t ms) { return ms >= kYear0000Ms && ms < kYear10000Ms; }
bool FourDigitYears(const ContactFilter& f) {
  return (!f.created_from_ms || FourDigitYear(*f.created_from_ms)) &&
         (!f.created_to_ms || FourDigitYear(*f.created_to_ms));
}

const ContactFacts& Ann() {
  static const ContactFacts* const kAnn = [] {
    auto* c = new ContactFacts;
    c->phone = "+4520123456";
    c->name = "Ann Bøgh";
    c->created_at_ms = 1767225600000;  // 2026-01-01
    c->properties = {{"city", "Aarhus"}, {"favourite_colour", "blue"}};
    c->statuses = {{7, "+4520123456", SubscriptionStatus::kOptedIn},
                   {8, "12345", SubscriptionStatus::kOptedOut}};
    return c;
  }();
  return *kAnn;
}

// `f` prints as text that parses back to `f`, and prints the same again.
void CheckCanonical(const ContactFilter& f, std::string_view input) {
  FUZZ_CHECK(!(f.created_from_ms && f.created_to_ms && *f.created_from_ms >= *f.created_to_ms),
             fuzz::Escaped(input));
  FUZZ_CHECK(f.status.has_value() == (f.number.has_value() || f.number_id.has_value()),
             fuzz::Escaped(input));
  (void)Matches(f, Ann());
  (void)Matches(f, ContactFacts{});
  if (!FourDigitYears(f)) return;
  const std::string text = FormatContactFilter(f);
  auto again = ParseContactFilter(text);
  FUZZ_CHECK(again.ok(), fuzz::Escaped(input) + " prints as " + fuzz::Escaped(text) +
                             ", which does not parse: " + again.status().message());
  FUZZ_CHECK(*again == f, fuzz::Escaped(input) + " prints as " + fuzz::Escaped(text) +
                              ", which parses to " + fuzz::Escaped(FormatContactFilter(*again)));
  FUZZ_CHECK(FormatContactFilter(*again) == text, fuzz::Escaped(text));
}

void CheckText(std::string_view input) {
  auto f = ParseContactFilter(input);
  if (!f.ok()) {
    FUZZ_CHECK(f.status().code() == StatusCode::kInvalidArgument, f.status().ToString());
    return;
  }
  FUZZ_CHECK(f->empty() == (FormatContactFilter(*f).empty()), fuzz::Escaped(input));
  CheckCanonical(*f, input);
}

void CheckQuery(std::string_view input) {
  auto pairs = ParseFormUrlEncoded(input);
  if (!pairs.ok()) return;
  std::map<std::string, std::string> params;
  for (auto& [key, value] : *pairs) params.emplace(std::move(key), std::move(value));
  auto f = ContactFilterFromQuery(params);
  if (!f.ok()) {
    FUZZ_CHECK(f.status().code() == StatusCode::kInvalidArgument, f.status().ToString());
    return;
  }
  CheckCanonical(*f, input);
}

void CheckTime(std::string_view input) {
  auto span = ParseTimeSpan(input);
  if (!span.ok()) return;
  FUZZ_CHECK(span->start_ms < span->end_ms, fuzz::Escaped(input));
  const int64_t length = span->end_ms - span->start_ms;
  FUZZ_CHECK(length == 1 || length == kMsPerDay, fuzz::Escaped(input));
  if (!FourDigitYear(span->start_ms)) return;
  const std::string printed = FormatFilterTime(span->start_ms);
  auto again = ParseTimeSpan(printed);
  FUZZ_CHECK(again.ok() && again->start_ms == span->start_ms,
             fuzz::Escaped(input) + " prints as " + printed +
                 (again.ok() ? std::string() : ": " + again.status().message()));
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  smsconsent::CheckText(input);
  smsconsent::CheckQuery(input);
  smsconsent::CheckTime(input);
  return 0;
}
