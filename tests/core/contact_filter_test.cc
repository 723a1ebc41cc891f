#include "core/contact_filter.h"

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smsconsent {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t k2026 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

ContactFilter MustParse(std::string_view text) {
  Result<ContactFilter> f = ParseContactFilter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : ContactFilter{};
}

std::string ErrorOf(std::string_view text) {
  Result<ContactFilter> f = ParseContactFilter(text);
  if (f.ok()) return "(parsed: " + FormatContactFilter(*f) + ")";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().message();
}

// ---- Parsing ------------------------------------------------------------------------------------

TEST(ContactFilterParse, TheFullExample) {
  const ContactFilter f = MustParse(
      "status=opted_in number=+15551234567 search=\"ann\" created>=2026-01-01 "
      "created<2026-02-01T12:00:00Z prop.city=Aarhus prop.vip=yes");
  EXPECT_EQ(f.number, "+15551234567");
  EXPECT_EQ(f.number_id, std::nullopt);
  EXPECT_EQ(f.status, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(f.search, "ann");
  EXPECT_EQ(f.created_from_ms, k2026);
  EXPECT_EQ(f.created_to_ms, k2026 + 31 * kDay + 12 * 3'600'000);
  EXPECT_EQ(f.properties,
            (std::vector<std::pair<std::string, std::string>>{{"city", "Aarhus"}, {"vip", "yes"}}));
  EXPECT_FALSE(f.empty());
}

TEST(ContactFilterParse, EmptyTextIsTheEmptyFilter) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("  \t\n ").empty());
  EXPECT_EQ(FormatContactFilter(ContactFilter{}), "");
}

TEST(ContactFilterParse, KeysAndStatusNamesIgnoreCase) {
  const ContactFilter f = MustParse("  Status=OPTED_OUT\tNUMBER_ID=12   Search=x ");
  EXPECT_EQ(f.status, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(f.number_id, 12);
  EXPECT_EQ(f.search, "x");
  EXPECT_EQ(MustParse("number=12345 status=not_specified").number, "12345");
}

TEST(ContactFilterParse, QuotedValuesAndEscapes) {
  EXPECT_EQ(MustParse(R"(search="Ann \"Bo\" C:\\x")").search, R"(Ann "Bo" C:\x)");
  EXPECT_EQ(MustParse(R"(search=C:\x)").search, R"(C:\x)");  // bare values keep backslashes
  EXPECT_EQ(MustParse("search=\"\"").search, "");
  EXPECT_EQ(MustParse("search=\"Søren Ærø\"").search, "Søren Ærø");
  // A bare value runs to the next white space and may contain = < >.
  EXPECT_EQ(MustParse("prop.formula=a=b<c").properties[0].second, "a=b<c");
}

TEST(ContactFilterParse, PropertyNamesAreNormalisedAndSorted) {
  const ContactFilter f =
      MustParse("prop.\"Favourite Colour\"=\"dark blue\" prop.City=Aarhus prop.vip= prop.a-b=1");
  EXPECT_EQ(f.properties,
            (std::vector<std::pair<std::string, std::string>>{
                {"a_b", "1"}, {"city", "Aarhus"}, {"favourite_colour", "dark blue"}, {"vip", ""}}));
}

struct CreatedCase {
  std::string text;
  std::optional<int64_t> from, to;
};

void PrintTo(const CreatedCase& c, std::ostream* os) { *os << c.text; }

class ContactFilterCreated : public testing::TestWithParam<CreatedCase> {};

TEST_P(ContactFilterCreated, Bounds) {
  const ContactFilter f = MustParse(GetParam().text);
  EXPECT_EQ(f.created_from_ms, GetParam().from);
  EXPECT_EQ(f.created_to_ms, GetParam().to);
}

constexpr int64_t kNoon = k2026 + 12 * 3'600'000;

INSTANTIATE_TEST_SUITE_P(
    All, ContactFilterCreated,
    testing::Values(
        // A day covers the whole day.
        CreatedCase{"created>=2026-01-01", k2026, std::nullopt},
        CreatedCase{"created>2026-01-01", k2026 + kDay, std::nullopt},
        CreatedCase{"created<2026-01-01", std::nullopt, k2026},
        CreatedCase{"created<=2026-01-01", std::nullopt, k2026 + kDay},
        CreatedCase{"created=2026-01-01", k2026, k2026 + kDay},
        // A date-time is one millisecond.
        CreatedCase{"created>=2026-01-01T12:00:00Z", kNoon, std::nullopt},
        CreatedCase{"created>2026-01-01T12:00Z", kNoon + 1, std::nullopt},
        CreatedCase{"created<2026-01-01T12:00:00.250Z", std::nullopt, kNoon + 250},
        CreatedCase{"created<=2026-01-01T12:00:00.5Z", std::nullopt, kNoon + 501},
        CreatedCase{"created=2026-01-01t12:00:00z", kNoon, kNoon + 1},
        CreatedCase{"created>=2026-01-01T14:00:00+02:00", kNoon, std::nullopt},
        CreatedCase{"created>=2026-01-01T07:30:00-0430", kNoon, std::nullopt},
        CreatedCase{"created>=\"2026-01-01 12:00Z\"", kNoon, std::nullopt},
        CreatedCase{"created>=2026-01-01 created<2026-01-02", k2026, k2026 + kDay},
        CreatedCase{"created>=1969-12-31", -kDay, std::nullopt}));

// ---- Errors
// ---------------------------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string text;
  std::string message;  // a substring of the error message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ContactFilterErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(ContactFilterErrors, SaysWhatAndWhere) {
  const std::string m = ErrorOf(GetParam().text);
  EXPECT_NE(m.find(GetParam().message), std::string::npos) << m;
  EXPECT_EQ(m.rfind("filter: ", 0), 0u) << m;
}

INSTANTIATE_TEST_SUITE_P(
    All, ContactFilterErrors,
    testing::Values(
        ErrorCase{"unknown_key", "search=x colour=red",
                  "unknown key 'colour' at position 10 (known keys: number, number_id, status, "
                  "search, created, prop.NAME)"},
        ErrorCase{"unknown_dotted_key", "props.city=x", "unknown key 'props.city' at position 1"},
        ErrorCase{"bad_status", "number=+4520123456 status=optedin",
                  "bad status 'optedin' at position 20 (expected one of: opted_in, opted_out, "
                  "not_specified, pending_confirmation)"},
        ErrorCase{"bad_month", "created>=2026-13-01",
                  "bad time '2026-13-01' at position 1: the month must be 01-12"},
        ErrorCase{"bad_day", "created<2026-02-29", "the day must be 01-28 in that month"},
        ErrorCase{"bad_format", "created<2026-2-1", "expected YYYY-MM-DD"},
        ErrorCase{"no_zone", "created<2026-02-01T10:00", "add Z (UTC) or an offset"},
        ErrorCase{"bad_hour", "created<2026-02-01T24:00Z", "the hour must be 00-23"},
        ErrorCase{"too_precise", "created<2026-02-01T10:00:00.1234Z", "at most 3 decimals"},
        ErrorCase{"trailing_text", "created<2026-02-01Zz", "expected YYYY-MM-DD"},
        ErrorCase{"out_of_range", "created<=9999-12-31", "is out of range"},
        ErrorCase{"duplicate_status", "number_id=1 status=opted_in status=opted_out",
                  "'status' is given twice: status=opted_in at position 13 and "
                  "status=opted_out at position 29"},
        ErrorCase{"duplicate_lower_bound", "created>=2026-01-01 created>2026-01-05",
                  "the created lower bound (created>= or >) is given twice"},
        ErrorCase{"equals_and_bound", "created<2026-03-01 created=2026-01-05",
                  "the created upper bound (created< or <=) is given twice"},
        ErrorCase{"duplicate_property", "prop.City=a prop.city=b",
                  "'prop.city' is given twice: prop.city at position 1 and prop.city at "
                  "position 13"},
        ErrorCase{"duplicate_search", "search=a search=b", "'search' is given twice"},
        ErrorCase{"number_and_id", "number=+4520123456 number_id=3 status=opted_in",
                  "the sender number (number= or number_id=) is given twice"},
        ErrorCase{"status_without_number", "status=opted_in",
                  "status=opted_in at position 1 needs number=NUMBER or number_id=ID"},
        ErrorCase{"number_without_status", "search=a number=+4520123456",
                  "number=+4520123456 at position 10 needs status="},
        ErrorCase{"empty_range", "created>=2026-02-01 created<2026-01-01",
                  "the created range is empty"},
        ErrorCase{"empty_range_same_day", "created>2026-01-01 created<=2026-01-01",
                  "the created range is empty"},
        ErrorCase{"bad_number", "number=abc status=opted_in", "bad sender number 'abc'"},
        ErrorCase{"short_number", "number=12 status=opted_in", "bad sender number '12'"},
        ErrorCase{"bad_number_id", "number_id=0 status=opted_in",
                  "bad sender number id '0' at position 1 (expected a positive integer)"},
        ErrorCase{"number_id_text", "number_id=7x status=opted_in", "bad sender number id '7x'"},
        ErrorCase{"not_equal", "status!=opted_in", "'status' takes '=' only, not '!='"},
        ErrorCase{"created_not_equal", "created!=2026-01-01", "created takes =, >=, >, <= or <"},
        ErrorCase{"ordering_on_search", "search>=a", "'search' takes '=' only"},
        ErrorCase{"missing_operator", "search", "expected '=' after 'search' at position 7"},
        ErrorCase{"missing_operator_space", "search =x", "expected '=' after 'search'"},
        ErrorCase{"garbage", "search=x &", "expected a term like status=opted_in, found '&'"},
        ErrorCase{"unterminated_quote", "search=\"ann", "unterminated quote at position 8"},
        ErrorCase{"backslash_at_end", "search=\"ann\\", "unterminated quote at position 8"},
        ErrorCase{"unknown_escape", "search=\"a\\nb\"",
                  "unknown escape \\n (inside quotes only \\\" and \\\\ are escapes) at "
                  "position 10"},
        ErrorCase{"quote_in_bare_value", "search=an\"n\"",
                  "a quote inside a bare value (quote the whole value: key=\"...\") at "
                  "position 10"},
        ErrorCase{"no_space_after_quote", "search=\"a\"status=opted_in",
                  "expected white space after the closing quote at position 11"},
        ErrorCase{"empty_property_name", "prop.=x", "empty property name"},
        ErrorCase{"empty_quoted_property_name", "prop.\" - \"=x", "empty property name"},
        ErrorCase{"prop_without_dot", "prop=x", "expected prop.NAME at position 1"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

// ---- Canonical text and round trips
// --------------------------------------------------------------

TEST(ContactFilterFormat, CanonicalText) {
  EXPECT_EQ(FormatContactFilter(MustParse(
                "prop.vip=yes prop.City=Aarhus created<2026-02-01T12:00:00Z search=\"ann\" "
                "created>=2026-01-01 status=OPTED_IN number=+15551234567")),
            "number=+15551234567 status=opted_in search=ann created>=2026-01-01 "
            "created<2026-02-01T12:00:00Z prop.city=Aarhus prop.vip=yes");
  EXPECT_EQ(FormatContactFilter(MustParse("created<=2026-01-31 created>2025-12-31T23:59:59.998Z")),
            "created>=2025-12-31T23:59:59.999Z created<2026-02-01");
  EXPECT_EQ(FormatContactFilter(MustParse(R"(search="a \"b\"" prop."x y"="" number_id=4 )"
                                          "status=not_specified")),
            R"(number_id=4 status=not_specified search="a \"b\"" prop.x_y="")");
}

TEST(ContactFilterFormat, QuotesPropertyNamesThatNeedIt) {
  ContactFilter f;
  f.properties = {{"a=b", "1"}, {"q\"", "x y"}};
  const std::string text = FormatContactFilter(f);
  EXPECT_EQ(text, R"(prop."a=b"=1 prop."q\""="x y")");
  EXPECT_EQ(MustParse(text), f);
}

std::string RandomText(std::mt19937& rng, bool allow_empty) {
  static const std::vector<std::string> kPieces = {"a", "Z", " ", "\"", "\\", "=", "<", "\t",
                                                   "ø", "Æ", "😀", "-",  "_",  ".", "9", "'"};
  std::string out;
  const size_t n = (allow_empty ? 0 : 1) + rng() % 6;
  for (size_t i = 0; i < n; ++i) out += kPieces[rng() % kPieces.size()];
  return out;
}

TEST(ContactFilterFormat, RandomFiltersRoundTrip) {
  std::mt19937 rng(20260101);
  const SubscriptionStatus statuses[] = {SubscriptionStatus::kOptedIn,
                                         SubscriptionStatus::kOptedOut,
                                         SubscriptionStatus::kNotSpecified};
  for (int i = 0; i < 2000; ++i) {
    ContactFilter f;
    switch (rng() % 3) {
      case 0:
        break;
      case 1:
        f.number = (rng() % 2 ? "+45" : "") + std::to_string(100 + rng() % 100000000);
        f.status = statuses[rng() % 3];
        break;
      case 2:
        f.number_id = 1 + static_cast<int64_t>(rng() % 1000000);
        f.status = statuses[rng() % 3];
        break;
    }
    if (rng() % 2) f.search = RandomText(rng, false);
    const int64_t t =
        static_cast<int64_t>(rng() % 4'000'000'000) * 1000 + (rng() % 2) * (rng() % 1000);
    if (rng() % 2) f.created_from_ms = t;
    if (rng() % 2) f.created_to_ms = t + 1 + static_cast<int64_t>(rng() % 3) * kDay;
    const int props = static_cast<int>(rng() % 3);
    for (int p = 0; p < props; ++p) {
      std::string name = NormalizePropertyName(RandomText(rng, false));
      if (name.empty()) continue;
      bool dup = false;
      for (const auto& [n, v] : f.properties) dup = dup || n == name;
      if (!dup) f.properties.emplace_back(name, RandomText(rng, true));
    }
    std::sort(f.properties.begin(), f.properties.end());
    const std::string text = FormatContactFilter(f);
    Result<ContactFilter> back = ParseContactFilter(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    EXPECT_EQ(*back, f) << text;
    EXPECT_EQ(FormatContactFilter(*back), text);
  }
}

// Each property term is one more condition the store evaluates per contact and one more shape
// of query it prepares, so a filter takes at most 20 of them, in either front end.
TEST(ContactFilterLimits, TwentyPropertiesAreAcceptedAndTheTwentyFirstIsRefused) {
  std::string text;
  std::map<std::string, std::string> params;
  for (int i = 1; i <= 20; ++i) {
    text += " prop.p" + std::to_string(i) + "=x";
    params["prop.p" + std::to_string(i)] = "x";
  }
  EXPECT_EQ(MustParse(text).properties.size(), 20u);
  ASSERT_TRUE(ContactFilterFromQuery(params).ok());

  EXPECT_NE(ErrorOf(text + " prop.p21=x").find("at most 20 prop.NAME terms"), std::string::npos)
      << ErrorOf(text + " prop.p21=x");
  params["prop.p21"] = "x";
  Result<ContactFilter> q = ContactFilterFromQuery(params);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("at most 20 prop.NAME terms"), std::string::npos)
      << q.status().message();
  // The same name twice is still the duplicate error, not the limit.
  EXPECT_NE(ErrorOf(text + " prop.p1=y").find("given twice"), std::string::npos);
}

// ---- Times
// ----------------------------------------------------------------------------------------

TEST(FilterTime, ParsesDaysAndInstants) {
  EXPECT_EQ(*ParseTimeSpan("2026-01-01"), (TimeSpan{k2026, k2026 + kDay}));
  EXPECT_EQ(*ParseTimeSpan("1970-01-01T00:00:00Z"), (TimeSpan{0, 1}));
  EXPECT_EQ(ParseTimeSpan("2024-02-29")->start_ms, 1'709'164'800'000);
  EXPECT_TRUE(ParseTimeSpan("2000-02-29").ok());
  EXPECT_FALSE(ParseTimeSpan("1900-02-29").ok());
  EXPECT_FALSE(ParseTimeSpan("2023-02-29").ok());
  EXPECT_FALSE(ParseTimeSpan("2026-04-31").ok());
  EXPECT_FALSE(ParseTimeSpan("2026-01-01T10:60Z").ok());
  EXPECT_FALSE(ParseTimeSpan("2026-01-01T10:00:60Z").ok());
  EXPECT_FALSE(ParseTimeSpan("2026-01-01T10:00+24:00").ok());
  EXPECT_FALSE(ParseTimeSpan("2026-01-01T10:00:00.Z").ok());
  EXPECT_FALSE(ParseTimeSpan("").ok());
  EXPECT_FALSE(ParseTimeSpan("yesterday").ok());
  EXPECT_EQ(ParseTimeSpan("2026-01-01T00:00:00.001+00:00")->start_ms, k2026 + 1);
}

TEST(FilterTime, FormatsDaysAndInstants) {
  EXPECT_EQ(FormatFilterTime(k2026), "2026-01-01");
  EXPECT_EQ(FormatFilterTime(k2026 + 1000), "2026-01-01T00:00:01Z");
  EXPECT_EQ(FormatFilterTime(k2026 + 7), "2026-01-01T00:00:00.007Z");
  EXPECT_EQ(FormatFilterTime(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatFilterTime(0), "1970-01-01");
  EXPECT_EQ(FormatFilterTime(ParseTimeSpan("0000-03-01")->start_ms), "0000-03-01");
  EXPECT_EQ(FormatFilterTime(ParseTimeSpan("9999-12-31T23:59:59.999Z")->start_ms),
            "9999-12-31T23:59:59.999Z");
}

// ---- Query parameters
// -------------------------------------------------------------------------------

TEST(ContactFilterQuery, SameFilterAsTheText) {
  Result<ContactFilter> q = ContactFilterFromQuery({{"number", "7"},
                                                    {"status", "opted_in"},
                                                    {"search", "ann b"},
                                                    {"created_from", "2026-01-01"},
                                                    {"created_before", "2026-02-01T12:00:00Z"},
                                                    {"prop.City", "Aarhus"},
                                                    {"limit", "50"},
                                                    {"after", "9"}});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(*q, MustParse("number_id=7 status=opted_in search=\"ann b\" created>=2026-01-01 "
                          "created<2026-02-01T12:00:00Z prop.city=Aarhus"));
  Result<ContactFilter> none = ContactFilterFromQuery({{"limit", "5"}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ContactFilterQuery, FilterParameterCombinesWithTheOthers) {
  Result<ContactFilter> q =
      ContactFilterFromQuery({{"filter", "status=opted_out prop.vip=yes"}, {"number", "3"}});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(*q, MustParse("number_id=3 status=opted_out prop.vip=yes"));
}

TEST(ContactFilterQuery, ErrorsNameTheParameter) {
  auto message = [](std::map<std::string, std::string> params) {
    Result<ContactFilter> q = ContactFilterFromQuery(params);
    return q.ok() ? std::string("(ok)") : q.status().message();
  };
  EXPECT_NE(message({{"number", "+4520123456"}, {"status", "opted_in"}})
                .find("bad sender number id '+4520123456' in query parameter 'number'"),
            std::string::npos);
  EXPECT_NE(message({{"status", "opted_in"}})
                .find("status=opted_in in query parameter 'status' needs number="),
            std::string::npos);
  EXPECT_NE(message({{"number", "3"}}).find("needs status="), std::string::npos);
  EXPECT_NE(message({{"number", "3"}, {"status", "maybe"}})
                .find("bad status 'maybe' in query parameter 'status'"),
            std::string::npos);
  EXPECT_NE(message({{"created_from", "2026-13-01"}})
                .find("bad time '2026-13-01' in query parameter 'created_from': the month"),
            std::string::npos);
  EXPECT_NE(message({{"filter", "status=opted_in"}, {"status", "opted_out"}, {"number", "1"}})
                .find("'status' is given twice: status=opted_in at position 1 of the filter "
                      "parameter and status=opted_out in query parameter 'status'"),
            std::string::npos)
      << message({{"filter", "status=opted_in"}, {"status", "opted_out"}, {"number", "1"}});
  EXPECT_NE(message({{"filter", "bogus=1"}})
                .find("unknown key 'bogus' at position 1 of the filter parameter"),
            std::string::npos);
  EXPECT_NE(message({{"prop.", "x"}}).find("empty property name in query parameter 'prop.'"),
            std::string::npos);
  EXPECT_NE(message({{"created_from", "2026-02-01"}, {"created_before", "2026-02-01"}})
                .find("the created range is empty"),
            std::string::npos);
}

// ---- Matching
// ------------------------------------------------------------------------------------

ContactFacts Ann() {
  ContactFacts c;
  c.phone = "+4520123456";
  c.name = "Ann SØRENSEN";
  c.created_at_ms = k2026 + 10 * kDay;
  c.properties = {{"city", "Aarhus"}, {"vip", "yes"}, {"empty", ""}};
  c.statuses = {{1, "+4520000001", SubscriptionStatus::kOptedIn},
                {2, "12345", SubscriptionStatus::kOptedOut}};
  return c;
}

struct MatchCase {
  std::string filter;
  bool matches;
};

void PrintTo(const MatchCase& c, std::ostream* os) { *os << c.filter; }

class ContactFilterMatches : public testing::TestWithParam<MatchCase> {};

TEST_P(ContactFilterMatches, OnAnInMemoryContact) {
  EXPECT_EQ(Matches(MustParse(GetParam().filter), Ann()), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    All, ContactFilterMatches,
    testing::Values(MatchCase{"", true},
                    // Status on a number, by id or by number; never set = not_specified.
                    MatchCase{"number_id=1 status=opted_in", true},
                    MatchCase{"number_id=1 status=opted_out", false},
                    MatchCase{"number=+4520000001 status=opted_in", true},
                    MatchCase{"number=12345 status=opted_out", true},
                    MatchCase{"number=12345 status=opted_in", false},
                    MatchCase{"number_id=3 status=not_specified", true},
                    MatchCase{"number=+4520000009 status=not_specified", true},
                    MatchCase{"number_id=3 status=opted_in", false},
                    // Search: name (case folded, beyond ASCII) or phone.
                    MatchCase{"search=ann", true}, MatchCase{"search=sørensen", true},
                    MatchCase{"search=\"n sø\"", true}, MatchCase{"search=2012", true},
                    MatchCase{"search=+452", true}, MatchCase{"search=bob", false},
                    // Created: from inclusive, to exclusive.
                    MatchCase{"created>=2026-01-11", true}, MatchCase{"created>2026-01-11", false},
                    MatchCase{"created<2026-01-11", false}, MatchCase{"created<=2026-01-11", true},
                    MatchCase{"created=2026-01-11", true},
                    MatchCase{"created>=2026-01-11T00:00:00.001Z", false},
                    MatchCase{"created<2026-01-11T00:00:00.001Z", true},
                    // Properties: exact values; an empty value means absent or empty.
                    MatchCase{"prop.city=Aarhus", true}, MatchCase{"prop.CITY=Aarhus", true},
                    MatchCase{"prop.city=aarhus", false}, MatchCase{"prop.vip=yes", true},
                    MatchCase{"prop.vip=", false}, MatchCase{"prop.country=", true},
                    MatchCase{"prop.empty=\"\"", true}, MatchCase{"prop.country=DK", false},
                    // All terms must hold.
                    MatchCase{"search=ann prop.city=Aarhus number_id=1 status=opted_in "
                              "created>=2026-01-01",
                              true},
                    MatchCase{"search=ann prop.city=Aarhus number_id=2 status=opted_in", false}));

TEST(ContactFilterMatches, GreekFinalSigmaAndEszettFold) {
  ContactFacts c;
  c.name = "ΟΔΥΣΣΕΥΣ Straße";
  EXPECT_TRUE(Matches(MustParse("search=οδυσσευς"), c));  // final ς folds like σ
  EXPECT_TRUE(Matches(MustParse("search=STRAßE"), c));
}

// ---- Property names
// ---------------------------------------------------------------------------------

TEST(PropertyNames, Normalise) {
  EXPECT_EQ(NormalizePropertyName("  Favourite-Colour "), "favourite_colour");
  EXPECT_EQ(NormalizePropertyName("E-mail"), "e_mail");
  EXPECT_EQ(NormalizePropertyName("__a  -  b__"), "a_b");
  EXPECT_EQ(NormalizePropertyName("Post.Code 2"), "post.code_2");
  EXPECT_EQ(NormalizePropertyName("Bynavn Ø"), "bynavn_Ø");  // only ASCII is lower-cased
  EXPECT_EQ(NormalizePropertyName(" - "), "");
}

}  // namespace
}  // namespace smsconsent
