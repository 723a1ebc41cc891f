// SplitTarget: the request target into path and query, as handlers see them.
#include "http/target.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace smsconsent {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(SplitTarget, DecodesThePathAndTheQuery) {
  HttpRequest req;
  ASSERT_TRUE(
      SplitTarget("/v1/consent?phone=%2B4520123456&number=+1%20555&flag&&empty=", req).ok());
  EXPECT_EQ(req.path, "/v1/consent");
  EXPECT_EQ(req.query,
            (Params{{"phone", "+4520123456"}, {"number", " 1 555"}, {"flag", ""}, {"empty", ""}}));
}

TEST(SplitTarget, PathKeepsPlusAndEscapesItCannotDecode) {
  HttpRequest req;
  ASSERT_TRUE(SplitTarget("/a+b/%41%4/%zz%", req).ok());
  EXPECT_EQ(req.path, "/a+b/A%4/%zz%");
  EXPECT_TRUE(req.query.empty());
}

TEST(SplitTarget, ReplacesEarlierParameters) {
  HttpRequest req;
  req.query = {{"stale", "1"}};
  ASSERT_TRUE(SplitTarget("/x", req).ok());
  EXPECT_TRUE(req.query.empty());
  ASSERT_TRUE(SplitTarget("/x?a=1", req).ok());
  EXPECT_EQ(req.query, (Params{{"a", "1"}}));
  EXPECT_FALSE(SplitTarget("/x?a=%G1", req).ok());
  EXPECT_TRUE(req.query.empty());
  EXPECT_EQ(req.path, "/x");
}

TEST(SplitTarget, BadEscapesInTheQueryAreErrorsNamingTheProblem) {
  HttpRequest req;
  Status s = SplitTarget("/x?phone=%ZZ", req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "malformed query string: bad %-escape in form data");
  s = SplitTarget("/x?phone=1%2", req);
  EXPECT_EQ(s.message(), "malformed query string: bad %-escape in form data: truncated");
}

TEST(SplitTarget, APathThatIsNotUtf8IsRefused) {
  HttpRequest req;
  for (const char* target : {"/%ff", "/v1/contacts/%c0%af", "/webhooks/%ed%a0%80?a=1"}) {
    const Status s = SplitTarget(target, req);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << target;
    EXPECT_EQ(s.message(), "request path is not UTF-8: its %-escapes must encode UTF-8 text");
  }
  EXPECT_TRUE(SplitTarget("/caf%C3%A9/%E2%82%AC", req).ok());
  EXPECT_EQ(req.path, "/café/€");
}

// Query values are decoded as sent, whatever the bytes: whether a route takes them is
// CheckQueryText's question, asked for the routes that read text.
TEST(CheckQueryText, NamesTheParameterThatIsNotUtf8) {
  HttpRequest req;
  ASSERT_TRUE(SplitTarget("/x?ok=%C3%A9&filter=%FF&%FE=1", req).ok());
  EXPECT_EQ(req.query, (Params{{"ok", "\xC3\xA9"}, {"filter", "\xFF"}, {"\xFE", "1"}}));
  Status s = CheckQueryText(req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "query parameter 'filter' is not UTF-8: its %-escapes must encode UTF-8 text");
  ASSERT_TRUE(SplitTarget("/x?%FE=1", req).ok());
  EXPECT_EQ(CheckQueryText(req).message(),
            "a query parameter's name is not UTF-8: %-escapes must encode UTF-8 text");
  ASSERT_TRUE(SplitTarget("/x?text=%00S%00T%0a&e=%E2%82%AC", req).ok());
  EXPECT_TRUE(CheckQueryText(req).ok());
}

// Form decoding as written out plainly, one character at a time: the reference the decoder
// in ParseFormUrlEncoded (which appends runs of plain characters at once) must agree with.
// Returns the error message, or "" with the pairs in `out`.
std::string ReferenceFormDecode(const std::string& s, Params& out) {
  auto decode = [](const std::string& raw, std::string& v) -> std::string {
    for (size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '+') {
        v.push_back(' ');
      } else if (c == '%') {
        if (i + 2 >= raw.size()) return "bad %-escape in form data: truncated";
        const std::string hex = raw.substr(i + 1, 2);
        if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          return "bad %-escape in form data";
        }
        v.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
        i += 2;
      } else {
        v.push_back(c);
      }
    }
    return "";
  };
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string::npos) amp = s.size();
    const std::string pair = s.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string key, value;
      std::string error = decode(pair.substr(0, eq), key);
      if (error.empty() && eq != std::string::npos) error = decode(pair.substr(eq + 1), value);
      if (!error.empty()) return error;
      out.emplace_back(std::move(key), std::move(value));
    }
    pos = amp + 1;
  }
  return "";
}

// The query is decoded as form data, errors included, exactly as the plain reference decodes
// it: every string of up to 4 characters from an alphabet of the interesting ones, and longer
// random ones.
TEST(SplitTarget, QueryDecodesAsTheReferenceFormDecoder) {
  const std::string alphabet = "a=&%+2BfG\x80 ";
  auto check = [](const std::string& query) {
    HttpRequest req;
    const Status got = SplitTarget("/p?" + query, req);
    Params want;
    const std::string error = ReferenceFormDecode(query, want);
    ASSERT_EQ(got.ok(), error.empty()) << query;
    if (error.empty()) {
      EXPECT_EQ(req.query, want) << query;
    } else {
      EXPECT_EQ(got.message(), "malformed query string: " + error) << query;
    }
    EXPECT_EQ(req.path, "/p");
  };
  std::vector<std::string> level = {""};
  for (int length = 0; length <= 4; ++length) {
    std::vector<std::string> next;
    for (const std::string& q : level) {
      check(q);
      for (const char c : alphabet) next.push_back(q + c);
    }
    level = std::move(next);
  }
  std::mt19937 rng(20261129);
  for (int i = 0; i < 20000; ++i) {
    std::string q(5 + rng() % 40, ' ');
    for (char& c : q) c = alphabet[rng() % alphabet.size()];
    check(q);
  }
}

}  // namespace
}  // namespace smsconsent
