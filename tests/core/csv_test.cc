#include "core/csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smsconsent {
namespace {

// A record as the tests compare it: owned strings, the line, and the error message.
struct Rec {
  int64_t line = 0;
  std::vector<std::string> fields;
  std::string error;  // "" when ok
  bool operator==(const Rec&) const = default;
};

void PrintTo(const Rec& r, std::ostream* os) {
  *os << "{line " << r.line;
  for (const auto& f : r.fields) *os << " [" << f << "]";
  if (!r.error.empty()) *os << " error: " << r.error;
  *os << "}";
}

Rec ToRec(const CsvRecord& r) {
  Rec out;
  out.line = r.line;
  for (std::string_view f : r.fields) out.fields.emplace_back(f);
  if (!r.ok()) out.error = r.error.message();
  return out;
}

Rec R(int64_t line, std::vector<std::string> fields) { return Rec{line, std::move(fields), ""}; }

// Feeds `chunks` one after the other and collects every record.
std::vector<Rec> ParseChunks(const std::vector<std::string_view>& chunks, CsvOptions options = {},
                             char* detected = nullptr) {
  std::vector<Rec> out;
  CsvReader reader(options);
  auto collect = [&out](const CsvRecord& r) {
    out.push_back(ToRec(r));
    return true;
  };
  for (std::string_view c : chunks) EXPECT_EQ(reader.Feed(c, collect), c.size());
  reader.Finish(collect);
  EXPECT_EQ(reader.records(), static_cast<int64_t>(out.size()));
  if (detected != nullptr) *detected = reader.delimiter();
  return out;
}

std::vector<Rec> Parse(std::string_view input, CsvOptions options = {}) {
  return ParseChunks({input}, options);
}

// ---- The dialect -----------------------------------------------------------------------------

TEST(CsvReader, ReadsSimpleRecords) {
  EXPECT_EQ(Parse("phone,name\n+4520123456,Ann\n+4520123457,Bo\n"),
            (std::vector<Rec>{R(1, {"phone", "name"}), R(2, {"+4520123456", "Ann"}),
                              R(3, {"+4520123457", "Bo"})}));
}

TEST(CsvReader, LastLineWithoutLineEndIsARecord) {
  EXPECT_EQ(Parse("a,b\nc,d"), (std::vector<Rec>{R(1, {"a", "b"}), R(2, {"c", "d"})}));
  EXPECT_EQ(Parse("x"), (std::vector<Rec>{R(1, {"x"})}));
  EXPECT_TRUE(Parse("").empty());
}

TEST(CsvReader, AcceptsCrlfLfAndCrLineEndsAndCountsEachAsOneLine) {
  EXPECT_EQ(Parse("a\r\nb\rc\nd\r\n"),
            (std::vector<Rec>{R(1, {"a"}), R(2, {"b"}), R(3, {"c"}), R(4, {"d"})}));
  // LF CR is two line ends (an empty line between), CR LF is one.
  EXPECT_EQ(Parse("a\n\rb\r\nc"), (std::vector<Rec>{R(1, {"a"}), R(3, {"b"}), R(4, {"c"})}));
}

TEST(CsvReader, SkipsEmptyLinesButKeepsPhysicalLineNumbers) {
  EXPECT_EQ(Parse("\n\r\na,b\n\n\nc,d\r\n\r\n"),
            (std::vector<Rec>{R(3, {"a", "b"}), R(6, {"c", "d"})}));
}

TEST(CsvReader, EmptyFieldsAreKept) {
  EXPECT_EQ(Parse(",\na,,b,\n\"\"\n,,,\n"),
            (std::vector<Rec>{R(1, {"", ""}), R(2, {"a", "", "b", ""}), R(3, {""}),
                              R(4, {"", "", "", ""})}));
}

TEST(CsvReader, DropsAUtf8ByteOrderMarkAtTheStartOnly) {
  EXPECT_EQ(Parse("\xEF\xBB\xBFphone\n\xEF\xBB\xBFx\n"),
            (std::vector<Rec>{R(1, {"phone"}), R(2, {"\xEF\xBB\xBFx"})}));
  // Bytes that begin like a BOM but are not one are data.
  EXPECT_EQ(Parse("\xEF\xBBz\n"), (std::vector<Rec>{R(1, {"\xEF\xBBz"})}));
  EXPECT_EQ(Parse("\xEF"), (std::vector<Rec>{R(1, {"\xEF"})}));
  EXPECT_TRUE(Parse("\xEF\xBB\xBF").empty());
}

TEST(CsvReader, QuotedFieldsHoldDelimitersQuotesAndNewlines) {
  EXPECT_EQ(Parse("\"Doe, Ann\",\"say \"\"hi\"\"\",\"two\nlines\",\"crlf\r\nkept\"\nnext,row\n"),
            (std::vector<Rec>{R(1, {"Doe, Ann", "say \"hi\"", "two\nlines", "crlf\r\nkept"}),
                              R(4, {"next", "row"})}));
}

TEST(CsvReader, RecordLineIsWhereTheRecordStarts) {
  const auto recs = Parse("h\n\"a\nb\nc\"\n\n\"d\r\n\r\ne\",f\ng\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2], R(6, {"d\r\n\r\ne", "f"}));
  EXPECT_EQ(recs[3].line, 9);
}

TEST(CsvReader, QuotedEmptyAndQuoteOnlyFields) {
  EXPECT_EQ(Parse("\"\",\"\"\"\",\"\"\"\"\"\"\n"), (std::vector<Rec>{R(1, {"", "\"", "\"\""})}));
}

TEST(CsvReader, SpacesAroundQuotedFieldsAreDropped) {
  EXPECT_EQ(Parse("a, \"b, c\" ,  \"d\"\t\n"), (std::vector<Rec>{R(1, {"a", "b, c", "d"})}));
  // In unquoted fields spaces are data.
  EXPECT_EQ(Parse(" a , b \n"), (std::vector<Rec>{R(1, {" a ", " b "})}));
}

TEST(CsvReader, OtherDelimiters) {
  CsvOptions semi;
  semi.delimiter = ';';
  EXPECT_EQ(
      Parse("phone;name\n+45;\"Doe; Ann\"\na,b;c\n", semi),
      (std::vector<Rec>{R(1, {"phone", "name"}), R(2, {"+45", "Doe; Ann"}), R(3, {"a,b", "c"})}));
  CsvOptions tab;
  tab.delimiter = '\t';
  EXPECT_EQ(Parse("phone\tname\n+45\t Ann \n", tab),
            (std::vector<Rec>{R(1, {"phone", "name"}), R(2, {"+45", " Ann "})}));
}

TEST(CsvReader, ParsesDelimiterNames) {
  EXPECT_EQ(*ParseCsvDelimiter(","), ',');
  EXPECT_EQ(*ParseCsvDelimiter("semicolon"), ';');
  EXPECT_EQ(*ParseCsvDelimiter("tab"), '\t');
  EXPECT_EQ(*ParseCsvDelimiter("\t"), '\t');
  EXPECT_EQ(*ParseCsvDelimiter("auto"), kCsvAutoDelimiter);
  EXPECT_FALSE(ParseCsvDelimiter("::").ok());
  EXPECT_FALSE(ParseCsvDelimiter("").ok());
}

// ---- Delimiter auto-detection ----------------------------------------------------------------

struct DetectCase {
  std::string name;
  std::string input;
  char expected;
};

void PrintTo(const DetectCase& c, std::ostream* os) { *os << c.name; }

class CsvDetect : public testing::TestWithParam<DetectCase> {};

TEST_P(CsvDetect, PicksTheDelimiterFromTheHeader) {
  CsvOptions options;
  options.delimiter = kCsvAutoDelimiter;
  char detected = 'x';
  const auto recs = ParseChunks({GetParam().input}, options, &detected);
  EXPECT_EQ(detected, GetParam().expected);
  // And the same when fed byte by byte.
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < GetParam().input.size(); ++i) {
    bytes.push_back(std::string_view(GetParam().input).substr(i, 1));
  }
  char detected_bytewise = 'x';
  EXPECT_EQ(ParseChunks(bytes, options, &detected_bytewise), recs);
  EXPECT_EQ(detected_bytewise, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    All, CsvDetect,
    testing::Values(DetectCase{"comma", "phone,name,email\n1;2,3,4\n", ','},
                    DetectCase{"semicolon", "phone;name;email\n1,5;2;3\n", ';'},
                    DetectCase{"tab", "phone\tname\temail\n1\t2\t3\n", '\t'},
                    DetectCase{"single_column", "phone\n+4520123456\n", ','},
                    DetectCase{"quoted_delimiters_not_counted", "\"a;b;c\",d,e;f\n", ','},
                    DetectCase{"after_bom_and_empty_lines", "\xEF\xBB\xBF\r\n\na;b\n", ';'},
                    DetectCase{"no_line_end", "a;b", ';'},
                    DetectCase{"tie_prefers_comma", "a;b,c\n", ','},
                    DetectCase{"empty_input", "", ','}),
    [](const testing::TestParamInfo<DetectCase>& info) { return info.param.name; });

TEST(CsvReader, AutoDetectedRecordsMatchExplicitDelimiter) {
  CsvOptions autodetect;
  autodetect.delimiter = kCsvAutoDelimiter;
  CsvOptions semi;
  semi.delimiter = ';';
  const std::string input = "\n\"na;me\";phone\r\n\"x\ny\";1\n";
  EXPECT_EQ(Parse(input, autodetect), Parse(input, semi));
  EXPECT_EQ(Parse(input, autodetect)[0], R(2, {"na;me", "phone"}));
}

// ---- Malformed records --------------------------------------------------------------------------

TEST(CsvReader, StrayQuoteIsAnErrorForThatRecordOnly) {
  const auto recs = Parse("a,b\nc,d\"e,f\ng,h\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], R(1, {"a", "b"}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_TRUE(recs[1].fields.empty());
  EXPECT_NE(recs[1].error.find("line 2: stray quote in unquoted field 2"), std::string::npos)
      << recs[1].error;
  EXPECT_EQ(recs[2], R(3, {"g", "h"}));
}

TEST(CsvReader, TextAfterAClosingQuoteIsAnError) {
  const auto recs = Parse("\"ab\"c,d\n\"ok\",e\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[0].error.find("line 1: unexpected character after the closing quote of field 1"),
            std::string::npos)
      << recs[0].error;
  EXPECT_EQ(recs[1], R(2, {"ok", "e"}));
}

TEST(CsvReader, ErrorRecordsCarryTheStatusCode) {
  CsvReader reader;
  std::vector<StatusCode> codes;
  auto cb = [&](const CsvRecord& r) {
    codes.push_back(r.error.code());
    return true;
  };
  reader.Feed("a\"b\nc\n", cb);
  reader.Finish(cb);
  EXPECT_EQ(codes, (std::vector<StatusCode>{StatusCode::kInvalidArgument, StatusCode::kOk}));
}

TEST(CsvReader, UnterminatedQuoteAtEndOfInputIsReported) {
  const auto recs = Parse("a,b\nc,\"d\ne,f\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], R(1, {"a", "b"}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_NE(recs[1].error.find("line 2: unterminated quoted field 2"), std::string::npos)
      << recs[1].error;
  EXPECT_NE(recs[1].error.find("opened on line 2"), std::string::npos) << recs[1].error;
}

TEST(CsvReader, OverlongFieldIsSkippedToTheEndOfItsLine) {
  CsvOptions options;
  options.max_field_bytes = 8;
  const auto recs = Parse("12345678,x\n123456789,y\nok,z\n", options);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], R(1, {"12345678", "x"}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_NE(recs[1].error.find("line 2: field 1 is longer than 8 bytes"), std::string::npos)
      << recs[1].error;
  EXPECT_EQ(recs[2], R(3, {"ok", "z"}));
}

TEST(CsvReader, RunawayQuoteIsCutOffByTheFieldLimitAndTheRangeReported) {
  CsvOptions options;
  options.max_field_bytes = 16;  // "oops\nb,1\nc,2\nd,3" fills it; the next newline is one too many
  const auto recs = Parse("a,\"oops\nb,1\nc,2\nd,3\ne,4\nf,5\n", options);
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_NE(recs[0].error.find("is a closing quote missing?"), std::string::npos) << recs[0].error;
  EXPECT_NE(recs[0].error.find("skipped through line 4"), std::string::npos) << recs[0].error;
  EXPECT_EQ(recs[1], R(5, {"e", "4"}));
  EXPECT_EQ(recs.back(), R(6, {"f", "5"}));
}

TEST(CsvReader, OverlongRecordAndTooManyFieldsAreErrors) {
  CsvOptions options;
  options.max_record_bytes = 10;
  options.max_fields = 4;
  const auto recs = Parse("aaaa,bbbb,cc\naaaa,bbbb,ccc\n1,2,3,4\n1,2,3,4,5\nlast\n", options);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0], R(1, {"aaaa", "bbbb", "cc"}));
  EXPECT_NE(recs[1].error.find("line 2: record is longer than 10 bytes"), std::string::npos)
      << recs[1].error;
  EXPECT_EQ(recs[2], R(3, {"1", "2", "3", "4"}));
  EXPECT_NE(recs[3].error.find("line 4: more than 4 fields"), std::string::npos) << recs[3].error;
  EXPECT_EQ(recs[4], R(5, {"last"}));
}

// A run of bytes is appended at once: the error must still be the limit that a byte of it
// crosses first, as it is when the input arrives byte by byte.
TEST(CsvReader, TheLimitCrossedFirstIsTheErrorWhereverTheInputIsCut) {
  CsvOptions options;
  options.max_field_bytes = 8;
  options.max_record_bytes = 10;
  // Field 2's 7th byte makes the record 11 bytes long while the field is still 7.
  constexpr std::string_view kRecordFirst = "abcd,abcdefghij\nok\n";
  // Field 2's 9th byte crosses both limits at once (the record would be 11 bytes): the field's
  // is reported, as it is checked first for each byte.
  constexpr std::string_view kFieldFirst = "ab,abcdefghij\nok\n";
  for (const auto& [input, error] :
       {std::pair{kRecordFirst, "line 1: record is longer than 10 bytes"},
        std::pair{kFieldFirst, "line 1: field 2 is longer than 8 bytes"}}) {
    const std::vector<Rec> whole = Parse(input, options);
    ASSERT_EQ(whole.size(), 2u);
    EXPECT_NE(whole[0].error.find(error), std::string::npos) << whole[0].error;
    EXPECT_EQ(whole[1], R(2, {"ok"}));
    for (size_t i = 0; i <= input.size(); ++i) {
      EXPECT_EQ(ParseChunks({input.substr(0, i), input.substr(i)}, options), whole)
          << "split at " << i;
    }
  }
}

TEST(CsvReader, ErrorAtEndOfInputWithoutLineEnd) {
  const auto recs = Parse("a\nb\"c");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[1].error.find("line 2: stray quote"), std::string::npos) << recs[1].error;
}

// ---- Chunking
// --------------------------------------------------------------------------------------

// An input exercising every state: a BOM, CRLF and CR, quoted newlines, doubled quotes,
// empty lines, an error, spaces around quotes and a last line without a line end.
constexpr std::string_view kTricky =
    "\xEF\xBB\xBFphone,name,note\r\n"
    "+4520123456,\"Doe, Ann\",\"said \"\"yes\"\"\"\r\n"
    "\r\n"
    "+4520123457,Bo,\"two\r\nlines\"\r"
    "+4520123458,C\"d,x\n"
    "+4520123459, \"Eve\" ,\n"
    "\"unterminated,at,end";

TEST(CsvReader, EverySplitPositionGivesTheSameRecords) {
  const std::vector<Rec> whole = Parse(kTricky);
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_EQ(whole[1], R(2, {"+4520123456", "Doe, Ann", "said \"yes\""}));
  EXPECT_EQ(whole[2], R(4, {"+4520123457", "Bo", "two\r\nlines"}));
  EXPECT_FALSE(whole[3].error.empty());
  EXPECT_EQ(whole[4], R(7, {"+4520123459", "Eve", ""}));
  EXPECT_NE(whole[5].error.find("unterminated"), std::string::npos);
  for (size_t i = 0; i <= kTricky.size(); ++i) {
    for (size_t j = i; j <= kTricky.size(); ++j) {
      EXPECT_EQ(ParseChunks({kTricky.substr(0, i), kTricky.substr(i, j - i), kTricky.substr(j)}),
                whole)
          << "split at " << i << " and " << j;
    }
  }
}

TEST(CsvReader, ByteByByteGivesTheSameRecords) {
  for (char delimiter : {',', kCsvAutoDelimiter}) {
    CsvOptions options;
    options.delimiter = delimiter;
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < kTricky.size(); ++i) bytes.push_back(kTricky.substr(i, 1));
    EXPECT_EQ(ParseChunks(bytes, options), Parse(kTricky, options));
  }
}

TEST(CsvReader, EverySplitPositionWithAutoDetection) {
  CsvOptions options;
  options.delimiter = kCsvAutoDelimiter;
  const std::string input = "\xEF\xBB\xBF\nphone;name\r\n+45;\"A;\nB\"\n+46;C";
  const std::vector<Rec> whole = Parse(input, options);
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[1], R(3, {"+45", "A;\nB"}));
  for (size_t i = 0; i <= input.size(); ++i) {
    const std::string_view in(input);
    EXPECT_EQ(ParseChunks({in.substr(0, i), in.substr(i)}, options), whole) << "split at " << i;
  }
}

TEST(CsvReader, PausingAndResumingGivesTheSameRecords) {
  const std::vector<Rec> whole = Parse(kTricky);
  CsvReader reader;
  std::vector<Rec> got;
  auto one = [&got](const CsvRecord& r) {
    got.push_back(ToRec(r));
    return false;  // pause after every record
  };
  std::string_view rest = kTricky;
  int feeds = 0;
  while (!rest.empty()) {
    const size_t before = got.size();
    const size_t n = reader.Feed(rest, one);
    ASSERT_LE(got.size(), before + 1);
    if (n < rest.size()) {
      EXPECT_EQ(got.size(), before + 1);  // paused right after a record
    }
    rest.remove_prefix(n);
    ++feeds;
  }
  reader.Finish(one);
  EXPECT_EQ(got, whole);
  EXPECT_GE(feeds, 5);
}

// ---- The pull reader
// --------------------------------------------------------------------------------

TEST(CsvPullReader, ReadsThroughSmallBuffersAndReportsProgress) {
  for (size_t chunk : {1u, 3u, 7u, 64u, 4096u}) {
    std::string_view source = kTricky;
    CsvPullReader reader(
        [&source](char* buf, size_t cap) -> Result<size_t> {
          const size_t n = std::min(cap, source.size());
          std::copy_n(source.data(), n, buf);
          source.remove_prefix(n);
          return n;
        },
        CsvOptions{}, chunk);
    std::vector<Rec> got;
    const CsvRecord* rec = nullptr;
    while (true) {
      Result<bool> more = reader.Next(&rec);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      got.push_back(ToRec(*rec));
    }
    EXPECT_EQ(got, Parse(kTricky)) << "chunk " << chunk;
    EXPECT_EQ(reader.bytes_read(), static_cast<int64_t>(kTricky.size()));
    // After the end, Next keeps saying so.
    Result<bool> again = reader.Next(&rec);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
  }
}

TEST(CsvPullReader, ReturnsTheReadError) {
  int calls = 0;
  CsvPullReader reader([&calls](char* buf, size_t cap) -> Result<size_t> {
    if (++calls > 1) return Status(StatusCode::kUnavailable, "disk on fire");
    const std::string_view first = "a,b\nc";
    const size_t n = std::min(cap, first.size());
    std::copy_n(first.data(), n, buf);
    return n;
  });
  const CsvRecord* rec = nullptr;
  Result<bool> first = reader.Next(&rec);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(ToRec(*rec), R(1, {"a", "b"}));
  Result<bool> second = reader.Next(&rec);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

// ---- Bounded memory
// ------------------------------------------------------------------------------

TEST(CsvReader, AMillionRecordStreamKeepsMemoryBounded) {
  // The input is generated chunk by chunk and never held whole (~45 MB in all).
  constexpr int kRecords = 1'000'000;
  CsvReader reader;
  int64_t seen = 0;
  int64_t bad = 0;
  size_t max_memory = 0;
  std::string last_phone;
  auto cb = [&](const CsvRecord& r) {
    ++seen;
    if (!r.ok() || r.fields.size() != 4) ++bad;
    if (seen == kRecords + 1) last_phone.assign(r.fields[0]);
    if ((seen & 1023) == 0) max_memory = std::max(max_memory, reader.memory_bytes());
    return true;
  };
  std::string chunk;
  int next = 0;
  reader.Feed("phone,name,email,city\r\n", cb);
  while (next < kRecords) {
    chunk.clear();
    while (chunk.size() < 64 * 1024 && next < kRecords) {
      const std::string n = std::to_string(next);
      chunk += "+4520" + std::string(6 - std::min<size_t>(6, n.size()), '0') + n + ",\"Name " + n +
               ", Jr.\",user" + n + "@example.com,Aarhus\r\n";
      ++next;
    }
    ASSERT_EQ(reader.Feed(chunk, cb), chunk.size());
  }
  reader.Finish(cb);
  max_memory = std::max(max_memory, reader.memory_bytes());
  EXPECT_EQ(seen, kRecords + 1);
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(last_phone, "+4520999999");
  // The state is one record's worth: tens of bytes of fields plus vectors of 4 entries.
  EXPECT_LE(max_memory, 1024u) << "reader memory grew with the input";
}

TEST(CsvReader, MemoryFollowsTheLongestRecordNotTheInput) {
  CsvReader reader;
  auto cb = [](const CsvRecord&) { return true; };
  reader.Feed("a,b,c\n" + std::string(10'000, 'x') + "\n", cb);
  const size_t after_long = reader.memory_bytes();
  EXPECT_GE(after_long, 10'000u);
  for (int i = 0; i < 10'000; ++i) reader.Feed("a,b,c\n", cb);
  EXPECT_EQ(reader.memory_bytes(), after_long);
  // A runaway field stops at the limit instead of growing.
  CsvOptions options;
  options.max_field_bytes = 1000;
  options.max_record_bytes = 2000;
  CsvReader limited(options);
  int errors = 0;
  auto count = [&errors](const CsvRecord& r) {
    errors += r.ok() ? 0 : 1;
    return true;
  };
  limited.Feed("\"", count);
  for (int i = 0; i < 1000; ++i) limited.Feed(std::string(1000, 'y'), count);
  limited.Finish(count);
  EXPECT_EQ(errors, 1);
  EXPECT_LE(limited.memory_bytes(), 4096u);
}

// ---- Blank records
// -------------------------------------------------------------------------------

TEST(CsvRecord, BlankMeansOnlyEmptyOrSpaceFields) {
  const auto blank = [](std::string_view line) {
    bool out = false;
    CsvReader reader;
    auto cb = [&out](const CsvRecord& r) {
      out = r.blank();
      return true;
    };
    reader.Feed(line, cb);
    reader.Finish(cb);
    return out;
  };
  EXPECT_TRUE(blank(",,,"));
  EXPECT_TRUE(blank(" , \t,\"\""));
  EXPECT_FALSE(blank(",x,"));
  EXPECT_FALSE(blank("a\"b"));  // an error record has no fields but is not blank
}

// ---- Writer
// -----------------------------------------------------------------------------------------

std::string Field(std::string_view f, CsvWriterOptions options = {}) {
  std::string out;
  CsvWriter(options).AppendField(f, &out);
  return out;
}

TEST(CsvWriter, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(Field("plain"), "plain");
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("Doe, Ann"), "\"Doe, Ann\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(Field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(Field(" lead"), "\" lead\"");
  EXPECT_EQ(Field("trail\t"), "\"trail\t\"");
  EXPECT_EQ(Field("in side"), "in side");
  EXPECT_EQ(Field("semi;colon"), "semi;colon");
  CsvWriterOptions semi;
  semi.delimiter = ';';
  EXPECT_EQ(Field("semi;colon", semi), "\"semi;colon\"");
  EXPECT_EQ(Field("a,b", semi), "a,b");
}

TEST(CsvWriter, NeutralisesSpreadsheetFormulasByDefault) {
  EXPECT_EQ(Field("=1+2"), "'=1+2");
  EXPECT_EQ(Field("+4520123456"), "'+4520123456");
  EXPECT_EQ(Field("-5"), "'-5");
  EXPECT_EQ(Field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(Field("\tx"), "'\tx");
  EXPECT_EQ(Field("\rx"), "\"'\rx\"");
  EXPECT_EQ(Field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(Field("a=b"), "a=b");
  CsvWriterOptions raw;
  raw.protect_formulas = false;
  EXPECT_EQ(Field("=1+2", raw), "=1+2");
  EXPECT_EQ(Field("+4520123456", raw), "+4520123456");
  EXPECT_EQ(Field("\tx", raw), "\"\tx\"");
}

TEST(CsvWriter, WritesRecordsWithTheLineEnd) {
  CsvWriter crlf;
  std::string out;
  crlf.AppendRecord({"phone", "name"}, &out);
  const std::vector<std::string> row = {"+4520123456", "Doe, Ann"};
  crlf.AppendRecord(row, &out);
  EXPECT_EQ(out, "phone,name\r\n'+4520123456,\"Doe, Ann\"\r\n");
  CsvWriterOptions lf;
  lf.line_end = "\n";
  lf.delimiter = '\t';
  out.clear();
  CsvWriter(lf).AppendRecord({"a", "b c", ""}, &out);
  EXPECT_EQ(out, "a\tb c\t\n");
}

TEST(CsvWriter, RandomFieldsRoundTripThroughTheReader) {
  std::mt19937 rng(4);
  const std::string alphabet = "ab ,;\"\r\n\t=+-@'\xC3\xB8";
  for (char delimiter : {',', ';', '\t'}) {
    CsvWriterOptions wo;
    wo.delimiter = delimiter;
    wo.protect_formulas = false;
    CsvWriter writer(wo);
    std::vector<std::vector<std::string>> rows;
    std::string file;
    for (int r = 0; r < 300; ++r) {
      std::vector<std::string> row(1 + rng() % 5);
      for (auto& f : row) {
        const size_t len = rng() % 8;
        for (size_t i = 0; i < len; ++i) f.push_back(alphabet[rng() % alphabet.size()]);
      }
      // A record that is one empty field would be an empty line, which readers skip.
      if (row.size() == 1 && row[0].empty()) row[0] = "x";
      writer.AppendRecord(row, &file);
      rows.push_back(row);
    }
    CsvOptions ro;
    ro.delimiter = delimiter;
    const auto recs = Parse(file, ro);
    ASSERT_EQ(recs.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_TRUE(recs[i].error.empty()) << recs[i].error;
      EXPECT_EQ(recs[i].fields, rows[i]) << "row " << i;
    }
  }
}

// ---- Contacts header
// -------------------------------------------------------------------------------

Result<ContactColumns> Map(std::vector<std::string_view> header,
                           const ContactHeaderOptions& options = {}) {
  return MapContactHeader(header, options);
}

TEST(ContactHeader, MapsRolesAndPropertiesInColumnOrder) {
  auto cols = Map({"phone", "name", "email", "City", "Favourite Colour"});
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->phone, 0u);
  EXPECT_EQ(cols->name, 1u);
  EXPECT_EQ(cols->email, 2u);
  EXPECT_EQ(cols->first_name, kNoColumn);
  EXPECT_EQ(cols->columns, 5u);
  EXPECT_EQ(cols->properties,
            (std::vector<std::pair<size_t, std::string>>{{3, "city"}, {4, "favourite_colour"}}));
}

TEST(ContactHeader, AliasesAreTrimmedAndCaseInsensitive) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {" Phone Number ", "Full Name"},
      {"MOBILE", "name"},
      {"msisdn", "full-name"},
      {"Tel", "Name"},
      {"number", "NAME"},
      {"phone_number", "Full_Name"},
      {"Mobile-Number", "name"},
      {"telephone", "name"}};
  for (const auto& [phone, name] : cases) {
    auto cols = Map({"E-mail", name, phone});
    ASSERT_TRUE(cols.ok()) << phone << ": " << cols.status().ToString();
    EXPECT_EQ(cols->phone, 2u) << phone;
    EXPECT_EQ(cols->name, 1u) << name;
    EXPECT_EQ(cols->email, 0u);
    EXPECT_TRUE(cols->properties.empty());
  }
  EXPECT_EQ(Map({"email address", "phone"})->email, 0u);
}

TEST(ContactHeader, NoPhoneColumnIsAClearError) {
  auto cols = Map({"Name", "E-mail", "city"});
  ASSERT_FALSE(cols.ok());
  EXPECT_EQ(cols.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = cols.status().message();
  EXPECT_NE(m.find("no phone column"), std::string::npos) << m;
  EXPECT_NE(m.find("'Name', 'E-mail', 'city'"), std::string::npos) << m;
  EXPECT_NE(m.find("phone, phone_number, mobile"), std::string::npos) << m;
  EXPECT_FALSE(Map({}).ok());
}

TEST(ContactHeader, TwoPhoneColumnsNeedAChoice) {
  auto cols = Map({"phone", "name", "Mobile"});
  ASSERT_FALSE(cols.ok());
  EXPECT_NE(cols.status().message().find("two phone columns, 'phone' (column 1) and 'Mobile' "
                                         "(column 3)"),
            std::string::npos)
      << cols.status().message();
  ContactHeaderOptions options;
  options.phone_column = "MOBILE";
  cols = Map({"phone", "name", "Mobile"}, options);
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->phone, 2u);
  EXPECT_EQ(cols->properties, (std::vector<std::pair<size_t, std::string>>{{0, "phone"}}));
  options.phone_column = "cell";
  cols = Map({"phone", "name"}, options);
  ASSERT_FALSE(cols.ok());
  EXPECT_NE(cols.status().message().find("'cell' is not in the header"), std::string::npos);
  // A non-alias column may be the phone column too.
  cols = Map({"Handy", "name"}, options = ContactHeaderOptions{"handy", true});
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->phone, 0u);
}

TEST(ContactHeader, OtherDuplicateRolesAndNamesAreErrors) {
  EXPECT_FALSE(Map({"phone", "name", "full name"}).ok());
  EXPECT_FALSE(Map({"phone", "email", "e-mail"}).ok());
  auto dup = Map({"phone", "City", " city "});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("two columns named 'city'"), std::string::npos)
      << dup.status().message();
}

TEST(ContactHeader, FirstAndLastNameMakeTheName) {
  auto cols = Map({"First Name", "phone", "Surname"});
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->first_name, 0u);
  EXPECT_EQ(cols->last_name, 2u);
  EXPECT_EQ(cols->name, kNoColumn);
  // With a name column they are ordinary properties.
  cols = Map({"firstname", "phone", "lastname", "name"});
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->name, 3u);
  EXPECT_EQ(cols->first_name, kNoColumn);
  EXPECT_EQ(cols->properties,
            (std::vector<std::pair<size_t, std::string>>{{0, "firstname"}, {2, "lastname"}}));
}

TEST(ContactHeader, EmptyHeaderNamesAreIgnored) {
  auto cols = Map({"phone", "", " ", "city"});
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->ignored, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(cols->properties.size(), 1u);
}

// smsconsent's statuses export reads back as it is written: `number` beside `number_id` is
// the sender number, not a second phone column; the columns about consent are not properties.
TEST(ContactHeader, TheStatusesExportReadsBackAsItIs) {
  auto cols = Map({"contact_id", "phone", "name", "email", "number_id", "number", "status", "since",
                   "source", "self_opted_out", "properties"});
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->phone, 1u);
  EXPECT_EQ(cols->name, 2u);
  EXPECT_EQ(cols->email, 3u);
  EXPECT_TRUE(cols->properties.empty());
  // Without number_id and status, `number` is a phone column as ever; the ledger export (from
  // and to, no status) is not read as contacts.
  EXPECT_NE(Map({"phone", "number"}).status().message().find("two phone columns"),
            std::string::npos);
  EXPECT_NE(Map({"seq", "contact_id", "phone", "number_id", "number", "from", "to"})
                .status()
                .message()
                .find("two phone columns"),
            std::string::npos);
  EXPECT_EQ(Map({"number", "status"})->phone, 0u);
}

// Reads a whole file: the header, then one ContactRow (or error) per record.
std::vector<std::string> ImportRows(std::string_view file, ContactHeaderOptions options = {}) {
  std::vector<std::string> out;
  CsvReader reader;
  std::optional<ContactColumns> columns;
  ContactRow row;
  auto cb = [&](const CsvRecord& r) {
    if (!columns) {
      auto c = MapContactHeader(r.fields, options);
      if (!c.ok()) {
        out.push_back("header: " + c.status().message());
        return false;
      }
      columns = *c;
      return true;
    }
    Status st = ReadContactRow(*columns, r, &row);
    if (!st.ok()) {
      out.push_back("error: " + st.message());
      return true;
    }
    std::string s = row.phone + "|" + row.name + "|" + row.email;
    for (const auto& [k, v] : row.properties) s += "|" + k + "=" + v;
    out.push_back(s);
    return true;
  };
  reader.Feed(file, cb);
  reader.Finish(cb);
  return out;
}

TEST(ContactRows, ReadsTrimmedValuesAndNonEmptyProperties) {
  EXPECT_EQ(ImportRows("Phone, First Name ,Last Name,E-mail,City,VIP\n"
                       " +4520123456 , Ann ,  Doe ,ann@example.com, Aarhus ,yes\n"
                       "+4520123457,Bo,,,,\n"
                       "+4520123458,,Cee\n"
                       "+4520123459\n"),
            (std::vector<std::string>{"+4520123456|Ann Doe|ann@example.com|city=Aarhus|vip=yes",
                                      "+4520123457|Bo|", "+4520123458|Cee|", "+4520123459||"}));
}

TEST(ContactRows, RowErrorsNameTheLine) {
  EXPECT_EQ(ImportRows("phone,name\n"
                       ",Ann\n"
                       "+4520123456,Bo,extra\n"
                       "+4520123457,Cee,,\n"
                       "+452\"0,Dee\n"),
            (std::vector<std::string>{
                "error: line 2: no phone number",
                "error: line 3: 3 fields but the header has 2 columns", "+4520123457|Cee|",
                "error: line 5: stray quote in unquoted field 1 (a field containing quotes must "
                "be quoted, with each quote doubled)"}));
}

// A file saved in another encoding (Windows-1252 from a spreadsheet: "\xE6" for "æ") is
// refused row by row with what to do about it, never stored as it is or guessed at.
TEST(ContactRows, TextThatIsNotUtf8IsARowError) {
  EXPECT_EQ(
      ImportRows("phone,name,city\n"
                 "+4520123456,S\xF8ren,Aarhus\n"
                 "+4520123457,Bo,\xC6r\xF8\n"
                 "+4520123458,J\xC3\xB8rgen,\xC3\x86r\xC3\xB8\n"),
      (std::vector<std::string>{"error: line 2: column 2 is not UTF-8 text: save the file as UTF-8",
                                "error: line 3: column 3 is not UTF-8 text: save the file as UTF-8",
                                "+4520123458|J\xC3\xB8rgen||city=\xC3\x86r\xC3\xB8"}));
  EXPECT_EQ(ImportRows("phone,b\xE6r\n+4520123456,x\n"),
            (std::vector<std::string>{"header: the header's column 2 is not UTF-8 text: save the "
                                      "file as UTF-8 (CSV UTF-8)"}));
}

// A NUL byte is UTF-8 but cannot be stored the same in both stores (PostgreSQL's text ends at
// it): the row is refused, whichever column holds it.
TEST(ContactRows, ANulByteIsARowError) {
  using namespace std::string_literals;
  EXPECT_EQ(
      ImportRows("phone,name,city\n"
                 "+4520123456,Ann\0Doe,Aarhus\n"
                 "+4520123457,Bo,Ode\0nse\n"
                 "+4520123458,Cee,Vejle\n"s),
      (std::vector<std::string>{"error: line 2: column 2 holds a NUL byte, which cannot be stored",
                                "error: line 3: column 3 holds a NUL byte, which cannot be stored",
                                "+4520123458|Cee||city=Vejle"}));
  EXPECT_EQ(ImportRows("phone,ci\0ty\n+4520123456,x\n"s),
            (std::vector<std::string>{
                "header: the header's column 2 holds a NUL byte, which cannot be stored"}));
}

TEST(ContactRows, ExportsWithFormulaProtectionImportUnchanged) {
  CsvWriter writer;  // protect_formulas on
  std::string file;
  writer.AppendRecord({"phone", "name", "note"}, &file);
  writer.AppendRecord({"+4520123456", "=cmd|'/c calc'!A1", "-5 @home"}, &file);
  writer.AppendRecord({"+4520123457", "'quoted'", "\tTabbed"}, &file);
  EXPECT_NE(file.find("'+4520123456,'=cmd"), std::string::npos) << file;
  EXPECT_EQ(ImportRows(file),
            (std::vector<std::string>{"+4520123456|=cmd|'/c calc'!A1||note=-5 @home",
                                      "+4520123457|'quoted'||note=Tabbed"}));
  ContactHeaderOptions keep;
  keep.undo_formula_guard = false;
  EXPECT_EQ(ImportRows(file, keep)[0], "'+4520123456|'=cmd|'/c calc'!A1||note='-5 @home");
}

TEST(ContactRows, AStatusesExportGivesTheContactsWithTheirProperties) {
  CsvWriter writer;  // as the export writes it, formula guard on
  std::string file;
  writer.AppendRecord({"contact_id", "phone", "name", "email", "number_id", "number", "status",
                       "since", "source", "self_opted_out", "properties"},
                      &file);
  const std::string_view props = R"({"city":"Aarhus","vip":"yes"})";
  writer.AppendRecord({"1", "+4520123456", "Ann", "ann@example.com", "3", "+4570000000", "opted_in",
                       "2026-01-01T00:00:00.000Z", "keyword", "false", props},
                      &file);
  writer.AppendRecord({"1", "+4520123456", "Ann", "ann@example.com", "4", "12345", "not_specified",
                       "", "", "false", props},
                      &file);
  writer.AppendRecord({"2", "+4520123457", "=Bo", "", "3", "+4570000000", "opted_out",
                       "2026-01-02T00:00:00.000Z", "keyword", "true", "{}"},
                      &file);
  EXPECT_EQ(ImportRows(file),
            (std::vector<std::string>{"+4520123456|Ann|ann@example.com|city=Aarhus|vip=yes",
                                      "+4520123456|Ann|ann@example.com|city=Aarhus|vip=yes",
                                      "+4520123457|=Bo|"}));
  // A column added to the file is a property, listed after (and so winning over) the keys of
  // `properties`.
  EXPECT_EQ(
      ImportRows("phone,number_id,number,status,properties,City\n"
                 "+4520123456,3,+4570000000,opted_in,\"{\"\"city\"\":\"\"Aarhus\"\"}\",Odense\n"),
      (std::vector<std::string>{"+4520123456|||city=Aarhus|city=Odense"}));
}

TEST(ContactRows, AnExportsPropertiesMustBeAJsonObjectOfTexts) {
  const auto rows = ImportRows(
      "phone,number_id,number,status,properties\n"
      "+4520123456,3,1,opted_in,[1]\n"
      "+4520123457,3,1,opted_in,\"{\"\"a\"\":1}\"\n"
      "+4520123458,3,1,opted_in,not json\n"
      "+4520123459,3,1,opted_in,\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], "error: line 2: the properties column is not a JSON object");
  EXPECT_EQ(rows[1], "error: line 3: the properties column's 'a' is not a text (a JSON string)");
  EXPECT_EQ(rows[2].rfind("error: line 4: the properties column is not a JSON object (", 0), 0u)
      << rows[2];
  EXPECT_EQ(rows[3], "+4520123459||");
}

TEST(ContactRows, TheRecordsOwnErrorIsReturned) {
  auto cols = Map({"phone"});
  ASSERT_TRUE(cols.ok());
  CsvRecord bad;
  bad.line = 9;
  bad.error = Status(StatusCode::kInvalidArgument, "line 9: stray quote");
  ContactRow row;
  Status st = ReadContactRow(*cols, bad, &row);
  EXPECT_EQ(st.message(), "line 9: stray quote");
}

}  // namespace
}  // namespace smsconsent
