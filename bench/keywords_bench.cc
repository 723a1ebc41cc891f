// KeywordMatcher::Match throughput on what an SMS number actually receives: mostly ordinary
// replies, some keywords, some free-text requests, some non-ASCII text and reactions. Target:
// >= 500,000 messages per second per core on the mixed corpus. Also the worst case (a long
// non-ASCII message full of trigger words, every pack enabled) and NormalizeForMatching alone.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/keywords.h"

namespace smsconsent {
namespace {

// Roughly the mix of a marketing/notification number's inbox: ~70% ordinary replies, ~15%
// keywords, ~8% free-text requests, the rest reactions and other scripts.
const std::vector<std::string>& MixedCorpus() {
  static const std::vector<std::string> corpus = {
      // Ordinary replies.
      "See you at 5!", "thanks", "Yes I'll be there", "Ok", "ok thanks", "Thank you!",
      "Can I reschedule to Tuesday?", "What time do you close today?", "Who is this?",
      "Sounds good, see you then", "I'll stop by later", "Running 10 min late sorry",
      "Is the sale still on?", "Do you have it in a size 10?", "Great, thanks for the reminder",
      "Can you send me the link again please", "\U0001F44D", "lol", "No problem",
      "I need to cancel my appointment", "meet me at the bus stop",
      "can't stop laughing \U0001F602", "Perfect", "Where are you located?", "Got it", "Will do",
      "Not sure yet, will let you know", "How much is shipping to Aarhus?",
      "The promo ends Friday?", "Yes please",
      "Hi, my order #4471 hasn't arrived yet. Can you check?", "Love it", "k",
      "What's the code again?", "Is this still valid tomorrow?",
      // Keywords.
      "STOP", "Stop", "stop!! \u270B", "Quit.", "UNSUBSCRIBE", "HELP", "START", "YES",
      // Free text.
      "please stop texting me", "take me off your list", "no more messages please", "STOP please",
      "I'd like to unsubscribe from these",
      // Reactions and non-ASCII.
      "Loved \u201CReply STOP to end\u201D", "Tak for i dag \U0001F60A", "Hej, kommer kl. 17",
      "\u00BFA qu\u00E9 hora abren?", "Vielen Dank f\u00FCr die Info", "\uFF33\uFF34\uFF2F\uFF30",
      "afmeld mig"};
  return corpus;
}

std::shared_ptr<const KeywordMatcher> Matcher(std::vector<std::string> languages) {
  KeywordConfig config;
  config.languages = std::move(languages);
  return *KeywordMatcher::Create(config);
}

void RunCorpus(benchmark::State& state, const KeywordMatcher& matcher,
               const std::vector<std::string>& corpus) {
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& body = corpus[i];
    KeywordMatch m = matcher.Match(body);
    benchmark::DoNotOptimize(m);
    bytes += static_cast<int64_t>(body.size());
    if (++i == corpus.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(bytes);
}

// A US number (en + es), the common case.
void BM_MatchMixedCorpusUs(benchmark::State& state) {
  auto matcher = Matcher({"en", "es"});
  RunCorpus(state, *matcher, MixedCorpus());
}
BENCHMARK(BM_MatchMixedCorpusUs);

// A Danish number (da + en).
void BM_MatchMixedCorpusDk(benchmark::State& state) {
  auto matcher = Matcher({"da", "en"});
  RunCorpus(state, *matcher, MixedCorpus());
}
BENCHMARK(BM_MatchMixedCorpusDk);

// Every pack at once: the most free-text rules a message can be checked against.
void BM_MatchMixedCorpusAllLanguages(benchmark::State& state) {
  KeywordConfig config;
  config.languages = SupportedLanguages();
  auto matcher = *KeywordMatcher::Create(config);
  RunCorpus(state, *matcher, MixedCorpus());
}
BENCHMARK(BM_MatchMixedCorpusAllLanguages);

void BM_MatchOrdinaryReply(benchmark::State& state) {
  auto matcher = Matcher({"en", "es"});
  RunCorpus(state, *matcher, {"Yes I'll be there"});
}
BENCHMARK(BM_MatchOrdinaryReply);

void BM_MatchExactKeyword(benchmark::State& state) {
  auto matcher = Matcher({"en", "es"});
  RunCorpus(state, *matcher, {" stop!! \u270B"});
}
BENCHMARK(BM_MatchExactKeyword);

void BM_MatchFreeText(benchmark::State& state) {
  auto matcher = Matcher({"en", "es"});
  RunCorpus(state, *matcher, {"Please stop sending me these ads, I never signed up"});
}
BENCHMARK(BM_MatchFreeText);

// Replies that take the slower paths: a quoted message or app text around a keyword, letters
// spelled out or stretched, a mistyped keyword, a stop sign emoji, a possible opt-out.
void BM_MatchVariants(benchmark::State& state) {
  auto matcher = Matcher({"en", "es"});
  RunCorpus(state, *matcher,
            {"STOP\n\nSent from my iPhone",
             "Stop\n\n> On Mon, Dec 7, 2026, ACME wrote:\n> Flash sale! Reply STOP to opt out",
             "S T O P", "stooop", "stpo", "unsubscibe", "\U0001F6D1", "How do I stop these texts?",
             "Stop sending me promos but keep the appointment reminders"});
}
BENCHMARK(BM_MatchVariants);

// The worst case: ~1,500 bytes of non-ASCII text (a long multi-part SMS) in which many words
// are triggers, so ICU normalisation, diacritic folding and rule evaluation all run, on a
// number with every pack.
std::string LongNonAsciiMessage() {
  std::string s;
  while (s.size() < 1500) {
    s += "Hej \u00C5se! Jeg kan ikke stoppe med at grine \U0001F602\U0001F602, men stop "
         "ikke med at sende tilbud \u2013 ingen \u00E6ndringer, tak. Ne m'envoyez pas "
         "\u00E7a, bitte keine Werbung? \u00A1No m\u00E1s! ";
  }
  return s;
}

void BM_MatchLongNonAsciiWorstCase(benchmark::State& state) {
  KeywordConfig config;
  config.languages = SupportedLanguages();
  auto matcher = *KeywordMatcher::Create(config);
  RunCorpus(state, *matcher, {LongNonAsciiMessage()});
}
BENCHMARK(BM_MatchLongNonAsciiWorstCase);

void RunNormalize(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    std::string n = NormalizeForMatching(text);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

void BM_NormalizeAscii(benchmark::State& state) {
  RunNormalize(state, "  Please STOP sending me these ads!!  ");
}
BENCHMARK(BM_NormalizeAscii);

void BM_NormalizeNonAscii(benchmark::State& state) {
  RunNormalize(state, "  Arr\u00EAtez de m\u2019envoyer des SMS ! \u270B\U0001F3FD ");
}
BENCHMARK(BM_NormalizeNonAscii);

void BM_NormalizeLongNonAscii(benchmark::State& state) {
  RunNormalize(state, LongNonAsciiMessage());
}
BENCHMARK(BM_NormalizeLongNonAscii);

// Building a matcher (per-number hash table); callers are expected to cache matchers, but
// this shows what a cache miss costs.
void BM_CreateMatcher(benchmark::State& state) {
  KeywordConfig config;
  config.languages = {"da", "en"};
  config.opt_in = {"JOIN"};
  for (auto _ : state) {
    auto m = KeywordMatcher::Create(config);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CreateMatcher);

}  // namespace
}  // namespace smsconsent
