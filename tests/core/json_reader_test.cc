#include "core/json_reader.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace smsconsent {
namespace {

using nlohmann::json;

std::string Arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string Objects(size_t depth) {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

TEST(ReadJson, ReadsWhatJsonParseReads) {
  for (const char* text :
       {R"({"a":[1,-2,3.5,"x",true,false,null,{"b":{}}],"c":"\u00e9\ud83d\ude00"})", "[]", "{}",
        "0", "-0", "1e300", "18446744073709551615", "-9223372036854775808", "\"\"", "null",
        " \t\r\n[ 1 , 2 ]\n ", R"({"dup":1,"dup":2})"}) {
    auto r = ReadJson(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r, json::parse(text)) << text;
    EXPECT_EQ(r->dump(), json::parse(text).dump()) << text;
  }
}

TEST(ReadJson, KeepsTheNumberKinds) {
  auto r = ReadJson(R"([1, -1, 18446744073709551615, 1.5])");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].is_number_unsigned());
  EXPECT_TRUE((*r)[1].is_number_integer());
  EXPECT_TRUE((*r)[2].is_number_unsigned());
  EXPECT_TRUE((*r)[3].is_number_float());
}

TEST(ReadJson, NestingUpToTheLimitIsRead) {
  auto arrays = ReadJson(Arrays(64));
  ASSERT_TRUE(arrays.ok()) << arrays.status().ToString();
  auto objects = ReadJson(Objects(64));
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  EXPECT_EQ(objects->dump(), Objects(64));
}

TEST(ReadJson, NestingPastTheLimitIsRefused) {
  for (const std::string& text : {Arrays(65), Objects(65), "[" + Objects(64) + "]"}) {
    auto r = ReadJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "JSON nested deeper than 64 levels");
  }
}

// Deep enough that building it and then copying or dumping it (recursive in nlohmann::json)
// would overflow the stack: reading stops at level 65, before any of that.
TEST(ReadJson, VeryDeepNestingIsRefusedWithoutBuildingIt) {
  for (const std::string& text : {Arrays(400'000), Objects(200'000), std::string(1'000'000, '[')}) {
    auto r = ReadJson(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "JSON nested deeper than 64 levels");
  }
}

TEST(ReadJson, OtherDepthLimits) {
  EXPECT_TRUE(ReadJson("[[1]]", {.max_depth = 2}).ok());
  EXPECT_EQ(ReadJson("[[[1]]]", {.max_depth = 2}).status().message(),
            "JSON nested deeper than 2 levels");
  EXPECT_TRUE(ReadJson("1", {.max_depth = 0}).ok());
  EXPECT_FALSE(ReadJson("[]", {.max_depth = 0}).ok());
}

TEST(ReadJson, ValuesUpToTheLimitAreRead) {
  // The array itself and its elements.
  std::string text = "[0";
  for (int i = 1; i < 99'999; ++i) text += ",0";
  text += "]";
  auto r = ReadJson(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 99'999u);
}

TEST(ReadJson, ValuesPastTheLimitAreRefused) {
  std::string text = "[0";
  for (int i = 1; i < 100'000; ++i) text += ",0";
  text += "]";
  auto r = ReadJson(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "JSON holds more than 100000 values");
  // Containers count too; keys do not.
  EXPECT_TRUE(ReadJson(R"({"a":[],"b":{}})", {.max_values = 3}).ok());
  EXPECT_FALSE(ReadJson(R"({"a":[],"b":{},"c":1})", {.max_values = 3}).ok());
  EXPECT_EQ(ReadJson("[[],[]]", {.max_values = 2}).status().message(),
            "JSON holds more than 2 values");
}

TEST(ReadJson, SyntaxErrorsNameWhereAndWhy) {
  for (const char* text : {"", " ", "{", "[1,]", "{\"a\" 1}", "nul", "[1] 2", "{'a':1}", "01",
                           "1e999", "\"\\ud800\"", "\"tab\there\""}) {
    auto r = ReadJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(r.status().message().rfind("not valid JSON at byte ", 0), 0u)
        << text << ": " << r.status().message();
  }
}

TEST(ReadJson, StringsThatAreNotUtf8AreRefused) {
  for (const std::string text :
       {"\"\xff\"", "{\"a\xc0\xaf\":1}", "[\"\xed\xa0\x80\"]", "\"\xe2\x82\""}) {
    auto r = ReadJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  }
}

TEST(ReadJson, NulInStringsIsReadUnlessRefused) {
  auto r = ReadJson(R"({"a":"x\u0000y"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"].get<std::string>(), std::string("x\0y", 3));
  const JsonLimits no_nul{.allow_nul = false};
  for (const std::string text : {R"({"a":"x\u0000y"})", R"({"a\u0000":1})", R"(["\u0000"])"}) {
    auto refused = ReadJson(text, no_nul);
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_EQ(refused.status().message(), "a string holds U+0000 (NUL), which cannot be stored");
  }
  EXPECT_TRUE(ReadJson(R"({"a":"x\u0001y"})", no_nul).ok());
}

TEST(ReadJson, ErrorMessagesAreUtf8WhateverTheInput) {
  for (const std::string text : {"\xff", "[\xfe]", "{\"a\":\xc0}", "\x1b[2J", "\"\n\""}) {
    auto r = ReadJson(text);
    ASSERT_FALSE(r.ok());
    EXPECT_NO_THROW(json(r.status().message()).dump()) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
    EXPECT_EQ(r.status().message().find('\x1b'), std::string::npos);
  }
}

// Every JSON text that reaches the service from outside is read through ReadJson: request
// bodies (src/http) and providers' webhooks and API answers (src/providers). A new parse there
// would skip its limits.
TEST(ReadJson, EveryOutsideJsonIsReadThroughIt) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(SMSCONSENT_SOURCE_DIR) / "src";
  std::vector<std::string> offenders;
  for (const char* dir : {"http", "providers"}) {
    for (const auto& entry : fs::directory_iterator(src / dir)) {
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        if (line.find("json::parse(") != std::string::npos ||
            line.find("json::sax_parse(") != std::string::npos) {
          offenders.push_back(entry.path().filename().string() + ":" + std::to_string(n));
        }
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << "parses JSON without ReadJson: "
                                 << testing::PrintToString(offenders);
}

}  // namespace
}  // namespace smsconsent
