// Fuzz target: keyword recognition (core/keywords.h), which reads the body of every inbound
// SMS, and its normalisation.
//
// Invariants, on three matchers (English; every language pack with custom keywords; custom
// keywords only, free text off):
//  - free text only ever opts out, and never on a matcher with free text off; a reaction or
//    no match has no intent; an exact keyword has one;
//  - an exact keyword's comparison key is the message's;
//  - KeywordMatch::normalized is NormalizeForMatching(body), and the ASCII fast path of the
//    normalisation gives what ICU gives;
//  - normalising, and taking the comparison key, twice changes nothing.
// An input with a line break also configures a number's own keywords from its lines (staff
// write those through the API): configuring them must fail cleanly or give a matcher that
// recognises each of them.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/keywords.h"
#include "core/status.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

std::shared_ptr<const KeywordMatcher> Make(const KeywordConfig& config) {
  auto m = KeywordMatcher::Create(config);
  FUZZ_CHECK(m.ok(), m.status().ToString());
  return *m;
}

const std::vector<std::shared_ptr<const KeywordMatcher>>& Matchers() {
  static const auto* const kMatchers = [] {
    auto* v = new std::vector<std::shared_ptr<const KeywordMatcher>>;
    v->push_back(Make(KeywordConfig{}));
    KeywordConfig all;
    all.languages = SupportedLanguages();
    all.opt_in = {"JOIN NOW", "Ja tak"};
    all.opt_out = {"NO MORE"};
    all.help = {"INFO?"};
    v->push_back(Make(all));
    KeywordConfig own;
    own.opt_in = {"START"};
    own.opt_out = {"STOP", "Afmeld"};
    own.opt_out_all = {"STOP ALL"};
    own.replace_default_keywords = true;
    own.free_text = false;
    v->push_back(Make(own));
    return v;
  }();
  return *kMatchers;
}

void CheckMatch(const KeywordMatcher& matcher, std::string_view body) {
  const KeywordMatch m = matcher.Match(body);
  const std::string what = fuzz::Escaped(body) + " -> " + m.explanation;
  switch (m.kind) {
    case MatchKind::kNone:
    case MatchKind::kIgnoredReaction:
      FUZZ_CHECK(m.intent == Intent::kNone, what);
      break;
    case MatchKind::kFreeText:
      FUZZ_CHECK(m.intent == Intent::kOptOut, what);
      FUZZ_CHECK(matcher.config().free_text, what);
      break;
    case MatchKind::kExactKeyword:
      // The keyword is the whole reply once a quoted message and app-inserted lines are set
      // aside, so it is what matched, not necessarily the whole body.
      FUZZ_CHECK(m.intent != Intent::kNone, what);
      FUZZ_CHECK(KeywordComparisonKey(m.rule) == KeywordComparisonKey(m.matched), what);
      break;
    case MatchKind::kPossibleOptOut:
      // A possible opt-out changes nothing by itself, and always says why.
      FUZZ_CHECK(m.intent == Intent::kNone, what);
      FUZZ_CHECK(!m.rule.empty() && !m.explanation.empty(), what);
      break;
  }
  FUZZ_CHECK(m.normalized == NormalizeForMatching(body), what);
}

void CheckOwnKeywords(std::string_view input) {
  std::vector<std::string> lines;
  size_t from = 0;
  while (from <= input.size() && lines.size() < 4) {
    size_t end = input.find('\n', from);
    if (end == std::string_view::npos) end = input.size();
    lines.emplace_back(input.substr(from, end - from));
    from = end + 1;
  }
  KeywordConfig config;
  config.opt_in = {lines[0]};
  config.opt_out = {lines[1]};
  if (lines.size() > 2) config.help = {lines[2]};
  if (lines.size() > 3) config.opt_out_all = {lines[3]};
  config.replace_default_keywords = true;
  auto matcher = KeywordMatcher::Create(config);
  if (!matcher.ok()) {
    FUZZ_CHECK(matcher.status().code() == StatusCode::kInvalidArgument,
               matcher.status().ToString());
    return;
  }
  for (const std::string& keyword : lines) {
    FUZZ_CHECK(!KeywordComparisonKey(keyword).empty(), fuzz::Escaped(keyword));
    const KeywordMatch m = (*matcher)->Match(keyword);
    FUZZ_CHECK(m.kind == MatchKind::kExactKeyword || m.kind == MatchKind::kIgnoredReaction,
               fuzz::Escaped(keyword) + " -> " + m.explanation);
  }
}

void CheckKeywords(std::string_view body) {
  for (const auto& matcher : Matchers()) CheckMatch(*matcher, body);

  const std::string normalized = NormalizeForMatching(body);
  FUZZ_CHECK(normalized == keywords_internal::NormalizeWithIcu(body),
             fuzz::Escaped(body) + ": " + fuzz::Escaped(normalized) + " vs ICU's " +
                 fuzz::Escaped(keywords_internal::NormalizeWithIcu(body)));
  FUZZ_CHECK(NormalizeForMatching(normalized) == normalized,
             fuzz::Escaped(body) + " -> " + fuzz::Escaped(normalized) + " -> " +
                 fuzz::Escaped(NormalizeForMatching(normalized)));
  const std::string key = KeywordComparisonKey(body);
  FUZZ_CHECK(KeywordComparisonKey(key) == key, fuzz::Escaped(body) + " -> " + fuzz::Escaped(key) +
                                                   " -> " +
                                                   fuzz::Escaped(KeywordComparisonKey(key)));

  if (body.find('\n') != std::string_view::npos) CheckOwnKeywords(body);
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsconsent::CheckKeywords(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
