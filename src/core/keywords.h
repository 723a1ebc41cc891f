// Keyword recognition: what an inbound SMS asks for, and why we think so.
//
// Given a message body and a sender number's keyword configuration, Match() returns the
// intent (opt_in, opt_out, opt_out_all, help, none) together with the rule that decided it.
// Two kinds of positive decision are reported differently:
//   - kExactKeyword: after normalisation the whole message is one configured keyword
//     ("stop!! ✋" -> STOP). This is what carriers and CTIA mean by a keyword.
//   - kFreeText: a clear request in free text that matches the opt-out grammar
//     ("please quit messaging me"), FCC 2025 "any reasonable means". Can be switched off.
//     Free text only ever yields opt_out: the law obliges us to honour a stop request in any
//     wording, but starting messages (opt_in), widening a stop to every number of the account
//     (opt_out_all) or sending the HELP text are actions the contact must ask for with the
//     keyword itself, so a misread sentence can never start or widen anything.
// Reactions that quote our own message (iMessage `Loved "…Reply STOP…"`, RCS
// "Reacted 👍 to …") are kIgnoredReaction with intent none.
// A reply that may be a revocation but is not clear enough to act on (a negation, a question,
// a mixed request) is kPossibleOptOut with intent none: it changes nothing by itself and goes
// to a person for review; `rule` names the reason and `explanation` says it in a sentence.
//
// Normalisation (see docs/keywords.md): Unicode NFKC, full case folding (ICU), zero-width and
// format characters removed, leading/trailing white space, punctuation, symbols and emoji
// stripped, inner white space collapsed to one space; for comparison diacritics are also
// folded (AFMELD == afmeld, ARRÊT == arret). ASCII input takes a fast path without ICU.
//
// Language packs: en, da, sv, nb (also "no"), de, fr, es, each with keywords per intent and
// free-text phrases. A number's languages default from its country (DefaultLanguagesForRegion)
// and can be set. Custom keywords per number add to the packs (or replace their keywords).
// A KeywordMatcher is immutable after Create() and safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace smsconsent {

enum class Intent { kNone, kOptIn, kOptOut, kOptOutAll, kHelp };
const char* IntentName(Intent i);  // "none", "opt_in", "opt_out", "opt_out_all", "help"
Result<Intent> ParseIntent(std::string_view s);

enum class MatchKind { kNone, kExactKeyword, kFreeText, kIgnoredReaction, kPossibleOptOut };
// "none", "exact_keyword", "free_text", "reaction", "possible_opt_out"
const char* MatchKindName(MatchKind k);

struct KeywordMatch {
  Intent intent = Intent::kNone;
  MatchKind kind = MatchKind::kNone;
  // kExactKeyword: the keyword as configured ("STOP", "OPT OUT", "AFMELD").
  // kFreeText: the grammar rule id ("en.stop-verb-messaging").
  // kIgnoredReaction: the reaction verb ("Loved").
  // kPossibleOptOut: the reason's id ("en.possible.negated-stop"). Empty for kNone.
  std::string rule;
  std::string language;    // "en", "da", ..., or "custom" for a number's own keywords
  std::string matched;     // the normalised text (or phrase within it) that matched
  std::string normalized;  // the whole normalised message
  // One sentence for people and the ledger: 'exact keyword "STOP" (en)'.
  std::string explanation;
};

struct KeywordConfig {
  std::vector<std::string> languages{"en"};
  // A number's own keywords, per intent. Compared after the same normalisation.
  std::vector<std::string> opt_in;
  std::vector<std::string> opt_out;
  std::vector<std::string> opt_out_all;
  std::vector<std::string> help;
  // When true the language packs' keywords are not used, only the lists above (the packs'
  // free-text grammar still applies when free_text is on).
  bool replace_default_keywords = false;
  bool free_text = true;  // recognise free-text opt-out requests

  bool operator==(const KeywordConfig&) const = default;
};

class KeywordMatcher {
 public:
  // kInvalidArgument for an unknown language, an empty keyword, or one keyword configured for
  // two different intents of the number's own lists. When language packs disagree on a word
  // (one pack's opt-in is another's opt-out) the opt-out wins: wrongly continuing to text
  // someone is worse than wrongly stopping.
  static Result<std::shared_ptr<const KeywordMatcher>> Create(const KeywordConfig& config);

  KeywordMatch Match(std::string_view body) const;

  const KeywordConfig& config() const;
  ~KeywordMatcher();

 private:
  struct Impl;
  explicit KeywordMatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Languages with a pack: {"da","de","en","es","fr","nb","sv"} ("no" is accepted for "nb").
std::vector<std::string> SupportedLanguages();
// ISO region -> languages a number there understands: "DK" -> {"da","en"}, "US" -> {"en","es"},
// unknown -> {"en"}.
std::vector<std::string> DefaultLanguagesForRegion(std::string_view region);
// The normalisation used for matching (exposed for tests and the docs): NFKC with full case
// folding, format characters removed, leading/trailing white space, punctuation, symbols and
// emoji stripped, inner white space collapsed. Keeps diacritics ("ARRÊT!" -> "arrêt"); this is
// the text reported in KeywordMatch::normalized.
std::string NormalizeForMatching(std::string_view body);

// What keywords are compared by: NormalizeForMatching, split into words (inner punctuation
// separates words), diacritics folded, words joined by one space. "Opt-Out!" -> "opt out",
// "ARRÊT" -> "arret", "HJÆLP" -> "hjælp" (æ/ø do not decompose). Two keywords are the same
// keyword exactly when their keys are equal; an empty key is not a valid keyword.
std::string KeywordComparisonKey(std::string_view text);

// One free-text opt-out rule of a language pack, as documented in docs/keywords.md.
struct FreeTextRuleInfo {
  std::string id;       // "en.stop-sending"
  std::string pattern;  // the rule in the grammar's notation: "@STOP @MSGVERB ..."
  std::string example;  // a message the rule recognises
  // Empty for a rule that recognises a request; for a rule that flags a possible opt-out, the
  // reason it reports ("en.possible.question").
  std::string possible;
};
// The free-text rules of a pack in evaluation order; empty for an unsupported language.
std::vector<FreeTextRuleInfo> FreeTextRules(std::string_view language);

namespace keywords_internal {
// NormalizeForMatching without the ASCII fast path (always through ICU). For tests that check
// the fast path gives the same answer.
std::string NormalizeWithIcu(std::string_view body);
}  // namespace keywords_internal

}  // namespace smsconsent
