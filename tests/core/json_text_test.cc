// Unit tests of src/core/json_text: text-built JSON is what nlohmann::json's dump() writes for
// the same value, byte for byte, and stays valid JSON for input that is not UTF-8.
#include "core/json_text.h"

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

TEST(AppendJsonString, QuotesBackslashesAndControlCharactersAreEscapedAsDumpDoes) {
  EXPECT_EQ(Literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Literal(std::string("\n\t\x01\x1f\x7f", 5)), "\"\\n\\t\\u0001\\u001f\x7f\"");
}

TEST(AppendJsonString, EveryAsciiByteAndUtf8IsWrittenAsDumpWritesIt) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "\xC3\xA6\xE2\x82\xAC\xF0\x9F\x98\x80";  // "æ€😀": UTF-8 is kept as it is
  EXPECT_EQ(Literal(all), nlohmann::json(all).dump());
  EXPECT_EQ(nlohmann::json::parse(Literal(all)).get<std::string>(), all);
}

TEST(AppendJsonString, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // A lone continuation byte, a truncated sequence, an overlong "/", a UTF-16 surrogate.
  for (std::string bad : {"a\x80z", "a\xE2\x82z", "a\xC0\xAFz", "a\xED\xA0\x80z"}) {
    const std::string text = Literal(bad);
    const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << text;
    const std::string value = parsed.get<std::string>();
    EXPECT_EQ(value.front(), 'a');
    EXPECT_EQ(value.back(), 'z');
    EXPECT_NE(value.find("\xEF\xBF\xBD"), std::string::npos) << text;
    EXPECT_TRUE(IsValidUtf8(value));
  }
}

TEST(ToValidUtf8, KeepsValidTextAndReplacesWhatIsNot) {
  EXPECT_EQ(ToValidUtf8("STOP"), "STOP");
  EXPECT_EQ(ToValidUtf8("Stop \xC3\xA6\xF0\x9F\x98\x80"), "Stop \xC3\xA6\xF0\x9F\x98\x80");
  EXPECT_EQ(ToValidUtf8("STOP \xFF"), "STOP \xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80")));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(AppendJsonKey, SeparatesMembersWithCommasAndMembersQuoteTheirValues) {
  std::string out = "{";
  bool first = true;
  AppendJsonKey(out, "a", first);
  out += "1";
  AppendJsonKey(out, "b", first);
  out += "2";
  AppendJsonMember(out, "c", "x\"y", first);
  out += "}";
  EXPECT_EQ(out, R"({"a":1,"b":2,"c":"x\"y"})");
  EXPECT_EQ(out, nlohmann::json::parse(out).dump());
}

}  // namespace
}  // namespace smsconsent
