#include "core/log_text.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace smsconsent {
namespace {

TEST(LogText, PlainTextStaysAsItIs) {
  EXPECT_EQ(LogText("GET /v1/contacts 200 1.2ms 10B 127.0.0.1"),
            "GET /v1/contacts 200 1.2ms 10B 127.0.0.1");
  EXPECT_EQ(LogText("Zoë → 😀 \"quoted\" 'single'"), "Zoë → 😀 \"quoted\" 'single'");
  EXPECT_EQ(LogText(""), "");
}

TEST(LogText, LineBreaksCannotStartAnotherLine) {
  EXPECT_EQ(LogText("/x\n2099-01-01T00:00:00.000Z info FORGED"),
            "/x\\n2099-01-01T00:00:00.000Z info FORGED");
  EXPECT_EQ(LogText("a\r\nb"), "a\\r\\nb");
  // Unicode's own line and paragraph separators, and NEL, end a line in some viewers.
  EXPECT_EQ(LogText("a\xE2\x80\xA8z\xE2\x80\xA9"), "a\\u2028z\\u2029");
  EXPECT_EQ(LogText("a\xC2\x85z"), "a\\u0085z");
}

TEST(LogText, ControlCharactersAreEscaped) {
  EXPECT_EQ(LogText("\t"), "\\t");
  EXPECT_EQ(LogText(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(LogText("\x1b[2J\x7f"), "\\x1b[2J\\x7f");
  // C1 controls (a terminal may read U+009B as CSI).
  EXPECT_EQ(LogText("\xC2\x9B"), "\\u009b");
}

TEST(LogText, BackslashesAreDoubledSoEscapesAreUnambiguous) {
  EXPECT_EQ(LogText("C:\\n"), "C:\\\\n");
}

TEST(LogText, BytesThatAreNotUtf8AreEscaped) {
  EXPECT_EQ(LogText("/bytes\xff\xfe"), "/bytes\\xff\\xfe");
  EXPECT_EQ(LogText("\xC0\xAF"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(LogText("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(LogText("\xE2\x82"), "\\xe2\\x82");           // truncated
  EXPECT_EQ(LogText("ok\xE2\x82\xACok"), "ok\xE2\x82\xACok");
  EXPECT_TRUE(IsValidUtf8(LogText("\xff\x80\xc3")));
}

TEST(JsonLogFields, FieldsArePassedThrough) {
  const std::string fields = R"("msg":"request","path":"/a\nb","status":200)";
  EXPECT_EQ(JsonLogFields(fields), fields);
}

TEST(JsonLogFields, OtherMessagesBecomeTheMsgField) {
  EXPECT_EQ(JsonLogFields("job runner: UNAVAILABLE: store busy"),
            R"("msg":"job runner: UNAVAILABLE: store busy")");
  EXPECT_EQ(JsonLogFields("a \"b\"\nc"), R"("msg":"a \"b\"\u000ac")");
}

// Whatever a message holds, the line is one JSON object.
TEST(JsonLogFields, TheLineIsAlwaysOneJsonObject) {
  for (const std::string message :
       {"plain", "x\ny", "\xff\xfe", "\x1b[2J", "\"msg\":\"raw\nline\"", "\"msg\":\"\xff\"",
        "\"msg\":\"a\",\"b\":\"\x01\"", "\xE2\x80\xA8"}) {
    const std::string line = "{\"level\":\"info\"," + JsonLogFields(message) + "}";
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_TRUE(IsValidUtf8(line)) << line;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << line;
  }
}

}  // namespace
}  // namespace smsconsent
