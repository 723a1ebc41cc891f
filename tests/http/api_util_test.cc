// Unit tests of src/http/api_util: the text-built JSON of hot paths must parse back to what was
// written.
#include "http/api_util.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace smsconsent {
namespace {

std::string Literal(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(AppendJsonString, PlainTextIsQuoted) {
  EXPECT_EQ(Literal("+15551234567"), "\"+15551234567\"");
  EXPECT_EQ(Literal(""), "\"\"");
}

TEST(AppendJsonString, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(Literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Literal(std::string("\n\t\x01\x1f", 4)), "\"\\u000a\\u0009\\u0001\\u001f\"");
}

TEST(AppendJsonString, EveryByteRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "\xC3\xA6\xE2\x82\xAC";  // "æ€": UTF-8 is kept as it is
  const auto parsed = nlohmann::json::parse(Literal(all));
  EXPECT_EQ(parsed.get<std::string>(), all);
}

}  // namespace
}  // namespace smsconsent
