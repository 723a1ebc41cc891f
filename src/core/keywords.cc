// Keyword recognition. The file is laid out in the order a message flows through it:
//   1. normalisation (an ASCII fast path and the ICU path) and tokenisation;
//   2. the language packs and the free-text grammar, as data;
//   3. the grammar compiler (runs once per process) and the pattern matcher;
//   4. reaction detection;
//   5. KeywordMatcher.
// docs/keywords.md describes the behaviour; this file explains the choices behind it.
#include "core/keywords.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/ascii.h"

namespace smsconsent {
namespace {

// ---------------------------------------------------------------------------------------------
// 1. Normalisation and tokenisation
// ---------------------------------------------------------------------------------------------

[[noreturn]] void Die(const char* what, std::string_view detail) {
  // Only reached for a broken ICU installation or a bug in the pack data below: both are
  // programming errors that no caller can handle, so fail loudly at the first use.
  std::fprintf(stderr, "keywords: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void CheckIcu(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) Die(what, u_errorName(status));
}

const icu::Normalizer2& NfkcCasefold() {
  static const icu::Normalizer2* n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFKCCasefoldInstance(status);
    CheckIcu(status, "NFKC_Casefold normaliser");
    return p;
  }();
  return *n;
}

const icu::Normalizer2& Nfd() {
  static const icu::Normalizer2* n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFDInstance(status);
    CheckIcu(status, "NFD normaliser");
    return p;
  }();
  return *n;
}

const icu::Normalizer2& Nfc() {
  static const icu::Normalizer2* n = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFCInstance(status);
    CheckIcu(status, "NFC normaliser");
    return p;
  }();
  return *n;
}

constexpr bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) return false;
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) & 0x80) return false;
  }
  return true;
}

// The ASCII fast path. For ASCII text NFKC_Casefold is plain lower-casing, every printable
// character that is not a letter or digit is punctuation (P*) or a symbol (S*), and the
// control characters are treated as white space by the ICU path too; so this gives exactly
// the ICU path's answer (a test checks it) without leaving the CPU cache.
std::string NormalizeAscii(std::string_view in) {
  size_t b = 0;
  size_t e = in.size();
  while (b < e && !IsAsciiAlnum(static_cast<unsigned char>(in[b]))) ++b;
  while (e > b && !IsAsciiAlnum(static_cast<unsigned char>(in[e - 1]))) --e;
  std::string out;
  out.reserve(e - b);
  bool pending_space = false;
  for (size_t i = b; i < e; ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c <= 0x20 || c == 0x7f) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(AsciiLower(static_cast<char>(c)));
  }
  return out;
}

bool IsVariationSelector(UChar32 c) {
  return (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF) ||
         (c >= 0x180B && c <= 0x180D) || c == 0x180F;
}

// Stripped at the edges: white space, controls, format characters, punctuation, symbols
// (emoji are So; skin-tone modifiers are Sk; regional indicators are So), enclosing marks
// (the keycap U+20E3), private-use and unassigned code points (emoji newer than our ICU).
constexpr uint32_t kEdgeStripMask = U_GC_Z_MASK | U_GC_CC_MASK | U_GC_CF_MASK | U_GC_P_MASK |
                                    U_GC_S_MASK | U_GC_ME_MASK | U_GC_CO_MASK | U_GC_CN_MASK |
                                    U_GC_CS_MASK;

bool IsEdgeStrippable(UChar32 c) {
  return (U_GET_GC_MASK(c) & kEdgeStripMask) != 0 || u_isUWhiteSpace(c);
}

bool IsMark(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0; }
bool IsEnclosingMark(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_ME_MASK) != 0; }
bool IsInnerSpace(UChar32 c) { return u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR; }

void AppendUtf8(std::string* out, UChar32 c) {
  uint8_t buf[U8_MAX_LENGTH];
  int32_t len = 0;
  U8_APPEND_UNSAFE(buf, len, c);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
}

std::string NormalizeUnicode(std::string_view in) {
  UErrorCode status = U_ZERO_ERROR;
  // fromUTF8 turns invalid sequences into U+FFFD (a symbol), so malformed input is harmless.
  icu::UnicodeString src =
      icu::UnicodeString::fromUTF8(icu::StringPiece(in.data(), static_cast<int32_t>(in.size())));
  // NFKC_Casefold = NFKC + full case folding (ß -> ss) + removal of default-ignorable code
  // points (ZWSP, ZWNJ, ZWJ, soft hyphen, variation selectors, tags...), in one ICU pass.
  icu::UnicodeString folded = NfkcCasefold().normalize(src, status);
  CheckIcu(status, "NFKC_Casefold");

  std::vector<UChar32> cps;
  cps.reserve(static_cast<size_t>(folded.length()));
  for (int32_t i = 0; i < folded.length();) {
    UChar32 c = folded.char32At(i);
    i += U16_LENGTH(c);
    // Format characters that are not default-ignorable (e.g. U+0600) still carry no meaning.
    if (u_charType(c) == U_FORMAT_CHAR || IsVariationSelector(c)) continue;
    cps.push_back(c);
  }

  // A cluster is a base character with its combining marks. At the edges a cluster goes when
  // its base is strippable or it carries an enclosing mark (keycap "1⃣"); a mark with no base
  // at the very start goes too.
  size_t b = 0;
  size_t e = cps.size();
  while (b < e) {
    size_t next = b + 1;
    bool enclosed = false;
    while (next < e && IsMark(cps[next])) enclosed |= IsEnclosingMark(cps[next++]);
    if (!(IsEdgeStrippable(cps[b]) || IsMark(cps[b]) || enclosed)) break;
    b = next;
  }
  while (e > b) {
    size_t base = e - 1;
    bool enclosed = false;
    while (base > b && IsMark(cps[base])) enclosed |= IsEnclosingMark(cps[base--]);
    if (!(IsEdgeStrippable(cps[base]) || enclosed)) break;
    e = base;
  }

  std::string out;
  out.reserve((e - b) * 2);
  bool pending_space = false;
  for (size_t i = b; i < e; ++i) {
    if (IsInnerSpace(cps[i])) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    AppendUtf8(&out, cps[i]);
  }
  return out;
}

std::string Normalize(std::string_view body) {
  return IsAscii(body) ? NormalizeAscii(body) : NormalizeUnicode(body);
}

bool IsApostrophe(UChar32 c) {
  return c == '\'' || c == 0x2019 || c == 0x2018 || c == 0x02BC || c == 0xFF07;
}

// The comparison form of one non-ASCII word: NFD, drop non-spacing marks, NFC; typographic
// apostrophes become '. ("arrêt" -> "arret", "hjälp" -> "hjalp", "m’" -> "m'").
std::string FoldDiacritics(std::string_view word) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString src = icu::UnicodeString::fromUTF8(
      icu::StringPiece(word.data(), static_cast<int32_t>(word.size())));
  icu::UnicodeString decomposed = Nfd().normalize(src, status);
  CheckIcu(status, "NFD");
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;
    kept.append(IsApostrophe(c) ? UChar32{'\''} : c);
  }
  icu::UnicodeString composed = Nfc().normalize(kept, status);
  CheckIcu(status, "NFC");
  std::string out;
  composed.toUTF8String(out);
  return out;
}

// How the tokeniser sees a character.
enum class CharClass : uint8_t {
  kLetter,      // L*, M*: part of a word
  kDigit,       // N*: part of a word
  kApostrophe,  // joins two word characters ("don't", "sms'er")
  kColon,       // joins two letters (Swedish "sms:a"); otherwise a clause break
  kSentence,    // . ! ? ; … ¡ ¿ : ends a sentence
  kClause,      // , ( ) [ ] { } – — : ends a clause
  kDash,        // '-': a clause break only when spaced ("no thanks - opt me out")
  kSpace,
  kOther,  // other punctuation, symbols, emoji: separate words, break nothing
};

constexpr std::array<CharClass, 128> MakeAsciiClasses() {
  std::array<CharClass, 128> t{};
  for (auto& c : t) c = CharClass::kOther;
  for (int c = 0; c <= 0x20; ++c) t[c] = CharClass::kSpace;
  t[0x7f] = CharClass::kSpace;
  for (int c = '0'; c <= '9'; ++c) t[c] = CharClass::kDigit;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = CharClass::kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = CharClass::kLetter;
  t['\''] = CharClass::kApostrophe;
  t[':'] = CharClass::kColon;
  t['.'] = t['!'] = t['?'] = t[';'] = CharClass::kSentence;
  t[','] = t['('] = t[')'] = t['['] = t[']'] = t['{'] = t['}'] = CharClass::kClause;
  t['-'] = CharClass::kDash;
  return t;
}
constexpr std::array<CharClass, 128> kAsciiClasses = MakeAsciiClasses();

// Non-ASCII sentence ends (… ¡ ¿ ‼ ‽ ⁇ ⁈ ⁉ 。 ｡ ؟ । ॥ ⸮) and clause breaks (، 、 ､ – — ―).
constexpr UChar32 kSentenceMarks[] = {0x2026, 0x00A1, 0x00BF, 0x203C, 0x203D, 0x2047, 0x2048,
                                      0x2049, 0x3002, 0xFF61, 0x061F, 0x0964, 0x0965, 0x2E2E};
constexpr UChar32 kClauseMarks[] = {0x060C, 0x3001, 0xFF64, 0x2013, 0x2014, 0x2015};

CharClass Classify(UChar32 c) {
  if (c < 0x80) return kAsciiClasses[static_cast<size_t>(c)];
  if (IsApostrophe(c)) return CharClass::kApostrophe;
  if (std::find(std::begin(kSentenceMarks), std::end(kSentenceMarks), c) !=
      std::end(kSentenceMarks)) {
    return CharClass::kSentence;
  }
  if (std::find(std::begin(kClauseMarks), std::end(kClauseMarks), c) != std::end(kClauseMarks)) {
    return CharClass::kClause;
  }
  uint32_t mask = U_GET_GC_MASK(c);
  if (mask & (U_GC_L_MASK | U_GC_M_MASK)) return CharClass::kLetter;
  if (mask & U_GC_N_MASK) return CharClass::kDigit;
  if (mask & (U_GC_PS_MASK | U_GC_PE_MASK)) return CharClass::kClause;
  if (u_isUWhiteSpace(c)) return CharClass::kSpace;
  return CharClass::kOther;
}

inline UChar32 NextCodePoint(std::string_view s, size_t* i) {
  unsigned char b = static_cast<unsigned char>(s[*i]);
  if (b < 0x80) {
    ++*i;
    return b;
  }
  int32_t pos = static_cast<int32_t>(*i);
  UChar32 c;
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), pos, static_cast<int32_t>(s.size()), c);
  *i = static_cast<size_t>(pos);
  return c < 0 ? 0xFFFD : c;
}

struct Token {
  uint32_t begin = 0;  // span in the normalised text (what `matched` quotes)
  uint32_t end = 0;
  uint32_t key_begin = 0;  // the comparison key: in the text itself, or in the arena
  uint32_t key_len = 0;
  bool key_in_arena = false;
  bool sentence_start = false;  // first word of a sentence
  bool clause_start = false;    // first word of a clause (every sentence start is one)
  int32_t word = -1;            // vocabulary id, -1 when no pack knows the word
  bool name_like = false;       // unknown to every pack, not a verb form: maybe a name ("ACME")
};

struct TokenizedText {
  std::string_view text;
  std::string arena;  // comparison keys of words that are not plain ASCII
  std::vector<Token> tokens;

  std::string_view Key(const Token& t) const {
    return t.key_in_arena ? std::string_view(arena).substr(t.key_begin, t.key_len)
                          : text.substr(t.key_begin, t.key_len);
  }
};

// French elision: "m'envoyer" is the two words "m'" and "envoyer", so the grammar can name
// the verb. Only these prefixes split; "don't", "i'd", "sms'er" stay whole.
bool IsElisionPrefix(std::string_view p) {
  static constexpr std::string_view kPrefixes[] = {"c", "d", "j",  "l",     "m",      "n",
                                                   "s", "t", "qu", "jusqu", "lorsqu", "puisqu"};
  for (std::string_view k : kPrefixes) {
    if (p == k) return true;
  }
  return false;
}

// Adds the word unless its comparison key is empty (an empty word would put two spaces into a
// key that otherwise matches a keyword). Returns whether it added one.
bool AddWord(TokenizedText* out, size_t begin, size_t end, size_t key_begin, size_t key_end,
             bool ascii, bool sentence_start, bool clause_start) {
  Token t;
  t.begin = static_cast<uint32_t>(begin);
  t.end = static_cast<uint32_t>(end);
  t.sentence_start = sentence_start;
  t.clause_start = clause_start || sentence_start;
  if (ascii) {
    // Normalised ASCII is already lower case: the key is the text itself.
    t.key_begin = static_cast<uint32_t>(key_begin);
    t.key_len = static_cast<uint32_t>(key_end - key_begin);
  } else {
    std::string folded = FoldDiacritics(out->text.substr(key_begin, key_end - key_begin));
    if (folded.empty()) return false;
    t.key_in_arena = true;
    t.key_begin = static_cast<uint32_t>(out->arena.size());
    t.key_len = static_cast<uint32_t>(folded.size());
    out->arena += folded;
  }
  out->tokens.push_back(t);
  return true;
}

// The first apostrophe in text[from, end) of a word (every one there joins two word
// characters): its offset, with *after set to the offset past it; npos when there is none.
size_t NextApostrophe(std::string_view text, size_t from, size_t end, size_t* after) {
  for (size_t i = from; i < end;) {
    const size_t at = i;
    if (Classify(NextCodePoint(text, &i)) == CharClass::kApostrophe) {
      *after = i;
      return at;
    }
  }
  return std::string_view::npos;
}

// Splits normalised text into words. Letters, marks and digits make words; an apostrophe
// between word characters (and a colon between letters) stays inside the word; everything
// else separates words. Sentence and clause breaks are recorded on the following word.
void Tokenize(std::string_view text, TokenizedText* out) {
  out->text = text;
  out->arena.clear();
  out->tokens.clear();
  const size_t n = text.size();
  size_t i = 0;
  bool sentence = true;
  bool clause = true;
  bool sep_space = false;
  bool sep_dash = false;
  while (i < n) {
    const size_t start = i;
    const UChar32 c = NextCodePoint(text, &i);
    const CharClass k = Classify(c);
    // A combining mark with no letter before it (after a space, or a symbol such as the U+FFFD
    // of invalid UTF-8) starts no word: it would fold away and leave an empty word, or one
    // that starts with an apostrophe.
    if ((k != CharClass::kLetter || IsMark(c)) && k != CharClass::kDigit) {
      switch (k) {
        case CharClass::kSentence:
          sentence = clause = true;
          break;
        case CharClass::kClause:
        case CharClass::kColon:
          clause = true;
          break;
        case CharClass::kDash:
          sep_dash = true;
          break;
        case CharClass::kSpace:
          sep_space = true;
          break;
        default:
          break;
      }
      continue;
    }
    size_t end = i;
    bool ascii = c < 0x80;
    bool prev_letter = k == CharClass::kLetter;
    size_t apostrophe = std::string_view::npos;  // first joining apostrophe
    size_t after_apostrophe = 0;
    while (i < n) {
      size_t j = i;
      const UChar32 d = NextCodePoint(text, &j);
      const CharClass dk = Classify(d);
      if (dk == CharClass::kLetter || dk == CharClass::kDigit) {
        ascii &= d < 0x80;
        prev_letter = dk == CharClass::kLetter;
        i = end = j;
        continue;
      }
      if ((dk == CharClass::kApostrophe || (dk == CharClass::kColon && prev_letter)) && j < n) {
        size_t m = j;
        const UChar32 e = NextCodePoint(text, &m);
        const CharClass ek = Classify(e);
        // Not before a combining mark: the mark folds away, which would leave the apostrophe
        // or colon at the end of the word's key.
        const bool letter = ek == CharClass::kLetter && !IsMark(e);
        const bool joins =
            dk == CharClass::kApostrophe ? (letter || ek == CharClass::kDigit) : letter;
        if (joins) {
          if (dk == CharClass::kApostrophe && apostrophe == std::string_view::npos) {
            apostrophe = i;
            after_apostrophe = j;
          }
          ascii &= d < 0x80;
          i = end = j;
          continue;
        }
      }
      break;
    }
    const bool clause_start = clause || (sep_space && sep_dash);
    bool added = false;
    size_t word = start;
    // Every elided prefix is a word of its own, so that "l'l'e" splits as "l' l'e" does; the
    // prefix is recognised by its key, as the key would be split when read again ("l\u0612'").
    while (apostrophe != std::string_view::npos) {
      const std::string_view prefix = text.substr(word, apostrophe - word);
      const bool prefix_ascii = IsAscii(prefix);
      const std::string folded = prefix_ascii ? std::string() : FoldDiacritics(prefix);
      if (!IsElisionPrefix(prefix_ascii ? prefix : std::string_view(folded))) break;
      const bool first = !added;
      added |= AddWord(out, word, after_apostrophe, word, apostrophe, prefix_ascii,
                       sentence && first, clause_start && first);
      word = after_apostrophe;
      apostrophe = NextApostrophe(text, word, end, &after_apostrophe);
    }
    const bool first = !added;
    added |= AddWord(out, word, end, word, end, ascii, sentence && first, clause_start && first);
    // A sentence or clause break not taken by a word carries over to the next one.
    if (added) sentence = clause = sep_space = sep_dash = false;
  }
}

std::string JoinKeys(const TokenizedText& t) {
  std::string key;
  for (const Token& tok : t.tokens) {
    if (!key.empty()) key.push_back(' ');
    key += t.Key(tok);
  }
  return key;
}

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// ---------------------------------------------------------------------------------------------
// 2. Language packs and the free-text grammar
// ---------------------------------------------------------------------------------------------
//
// Pattern notation (docs/keywords.md has the full description):
//   word            one word, compared after normalisation and diacritic folding
//   do_not          a phrase: '_' joins words that must follow each other
//   a|b|c           any one of the alternatives
//   @CLASS          any phrase of the pack's word class CLASS
//   [ ... ]         the element may be absent
//   X+              one or more of X, back to back ("stop stop stop")
//   $ (in an alternation)  or: the sentence ends here
//   ^ / $           the start / end of a sentence
//   *N              up to N words of anything
// A rule matches a run of words inside one sentence. A guard cancels a match when the guard
// matches words that end exactly where the match starts, within the same clause.

struct WordClassDef {
  std::string_view name;
  std::string_view words;
};

struct RuleDef {
  std::string_view id;
  std::string_view pattern;
  std::string_view example;
  // When set, a match is not a request but a possible opt-out with this reason
  // ("en.possible.question"): it changes nothing and goes to a person.
  std::string_view possible = {};
};

struct GuardDef {
  std::string_view id;
  std::string_view pattern;
  std::string_view only_before;  // when set, the guard applies only before these words
  // When set, the guard does not cancel the match but turns it into a possible opt-out with
  // this reason ("en.possible.negated").
  std::string_view possible = {};
};

struct PackDef {
  std::string_view code;
  // '|'-separated keywords as they are shown in decisions ("OPT OUT", "HJÆLP").
  std::string_view opt_in;
  std::string_view opt_out;
  std::string_view opt_out_all;
  std::string_view help;
  std::span<const WordClassDef> classes;
  std::span<const RuleDef> rules;
  std::span<const GuardDef> guards;
  // Searched anywhere in a message that a rule matched: a "keep the other kind" clause makes
  // the request mixed (possible opt-out, reason `possible`).
  std::span<const GuardDef> mixed = {};
  // Matched right after a rule's match: the request is about something other than these
  // texts ("unsubscribe me from emails"). Possible opt-out, or nothing when a mixed clause
  // also keeps the texts ("..., texts are fine").
  std::span<const GuardDef> elsewhere = {};
};

// --- English -------------------------------------------------------------------------------

constexpr WordClassDef kEnClasses[] = {
    {"STOP", "stop|quit|cease|discontinue|halt"},
    {"MSGVERB",
     "messaging|texting|txting|texing|sending|contacting|spamming|calling|bothering|pestering|"
     "harassing|harrassing|bugging|emailing|smsing|sms'ing|msging|msg'ing"},
    {"MSGBASE", "text|txt|message|msg|contact|sms|spam|bother|pester|harass|email"},
    {"MSGNOUN",
     "messages|message|msgs|msg|texts|text|txts|txt|sms|smss|smses|sms's|ads|adverts|"
     "advertisements|advertising|promos|promo|promotions|offers|deals|alerts|notifications|"
     "marketing|spam|newsletters|newsletter|updates|reminders|junk|this_stuff|crap"},
    {"ME",
     "me|us|my_number|this_number|my_phone|my_cell|my_phone_number|my_cell_number|"
     "this_phone"},
    {"DET",
     "these|those|this|that|the|your|ur|any|all|such|more|further|other|all_these|all_your|"
     "all_the|all_of_these|all_of_your"},
    {"POLITE",
     "please|pls|plz|plse|kindly|thanks|thank_you|thank_u|thankyou|thx|ty|now|asap|"
     "immediately|already|right_now|for_good|ok|okay|just|seriously|omg|again|it|yes|yeah|yep|"
     "no|nope|nah|no_thanks|no_thank_you|no_thx|hi|hello|hey|ugh|sorry|sir|guys|man|dude|lol|wtf|"
     "ffs|damn|dammit|jeez|geez|idiot|idiots|spammer|spammers|scammers|you|u|y'all|this|that|and|"
     "all_of_you|goodbye|bye|lmao|smh|already_said"},
    {"NOTNAME",
     "sign|signs|light|lights|motion|watch|loss|gap|bath|payment|order|here|there|by|at|in|on|"
     "over|off|and|or|the|a|an|to|for|of|with|him|her|them|playing|doing|being|crying|"
     "laughing|lying|smoking|drinking|eating|talking|worrying|complaining|button|gun|cock|"
     "valve|codon|consonant|sequence|time|date|point|points|bar|band|limit|line|street|"
     "station|sale|shop|n_shop|me|us|today|tomorrow|tonight|later|soon|yesterday|morning|"
     "afternoon|evening|weekend|week|month|monday|tuesday|wednesday|thursday|friday|saturday|"
     "sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|am|pm|noon|early|late|first|next|"
     "last|what|why|who|how|when|where|which|haha|hahaha|lmao|lol"},
    {"KIND",
     "promotional|promo|marketing|advertising|sales|spam|spammy|automated|weekly|daily|"
     "annoying|text|sms|group|mass|bulk|unwanted|unsolicited|random|endless"},
    {"INTENS",
     "fucking|fuckin|freaking|freakin|frickin|effing|f'ing|f_ing|f_in|damn|damned|goddamn|"
     "bloody|stupid|"
     "annoying|constant|stupid_ass|fing"},
    {"GOAWAY",
     "fuck_off|f_off|fk_off|fck_off|fuk_off|eff_off|piss_off|go_away|get_lost|bugger_off|"
     "sod_off|buzz_off|back_off|fuck_you|f_you|screw_you|go_to_hell|shut_up_and_go_away|"
     "leave_me_be|beat_it|scram|get_bent"},
    {"SENTWORD", "stop|quit|unsubscribe|unsub|optout|opt_out|stopall|stop_all"},
    {"OPTOUTVERB",
     "unsubscribe|unsub|opt_out|optout|unenroll|unenrol|deregister|unregister|be_removed|"
     "be_taken_off|be_unsubscribed|get_unsubscribed|get_removed"},
    {"WANT", "want|wanna|like|wish|need|would_like|prefer|trying|tryna"},
    {"NEG",
     "don't|dont|do_not|not|never|won't|wont|will_not|can't|cant|cannot|can_not|couldn't|"
     "couldnt|didn't|didnt|did_not|wouldn't|wouldnt|shouldn't|shouldnt|doesn't|doesnt|"
     "does_not|mustn't|no_need_to|no_reason_to|hardly"},
    {"LIST",
     "list|lists|database|system|records|register|contacts|roster|it|this|them|mailing_list|"
     "texting_list|text_list|sms_list|contact_list|distribution_list|marketing_list"},
};

constexpr RuleDef kEnRules[] = {
    {"en.stop-sending", "@STOP [@INTENS] @MSGVERB [and|or] [@MSGVERB] @ME|$",
     "please quit messaging me"},
    {"en.stop-sending-messages", "@STOP [@INTENS] @MSGVERB [me|us] [@DET] [@DET] @MSGNOUN",
     "stop sending these ads"},
    {"en.stop-receiving", "@STOP receiving|getting [@DET] [@DET] @MSGNOUN|these|this|them|those|$",
     "I want to stop getting these"},
    {"en.stop-messages", "@STOP [@DET] [@DET] [@INTENS] [@KIND] @MSGNOUN", "stop the texts"},
    {"en.stop-sending-these",
     "@STOP [@INTENS] @MSGVERB [me|us] these|those|them|this|that|it|this_stuff|this_crap|"
     "this_spam|all_this [@POLITE] [@POLITE] $",
     "Stop sending these"},
    {"en.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] [@POLITE] $",
     "STOP please"},
    {"en.want-opt-out", "@WANT [to|2] @OPTOUTVERB", "I'd like to unsubscribe from these"},
    {"en.want-off",
     "@WANT [to|2] [get|be|go] off|out_of [@DET] "
     "[sms|text|texting|mailing|marketing|contact|messaging|subscriber|distribution|call] @LIST",
     "I want off this list"},
    {"en.want-out-messages", "@WANT [to|2] [get|be|go] off|out_of [@DET] [@DET] [@KIND] @MSGNOUN",
     "I want out of these texts"},
    {"en.opt-out", "optout|opt_out|opt_me_out|opt_us_out|opt_outta|opt_me_outta",
     "no thanks, opt me out"},
    {"en.unsubscribe-me", "unsubscribe|unsub|unenroll|unenrol|deregister|unregister @ME|from",
     "unsubscribe me"},
    {"en.how-to-opt-out",
     "how [do|can|could|would|to|should] [i|we|u|you] [get|be] "
     "unsubscribe|unsubscribed|unsub|optout|opt_out|removed|off_this|off_your|off_the|taken_off",
     "how do I unsubscribe?", "en.possible.question"},
    {"en.can-i-opt-out",
     "is_there_a_way|is_there_any_way|any_way|can_i|could_i|may_i|where_do_i|where_can_i|"
     "what_do_i_do|what_should_i_do|what_do_i_need [to|i_can|for_me_to] [just|please] "
     "@OPTOUTVERB|stop_these|stop_this|stop_them|stop_the|stop_getting|stop_receiving|stop_your",
     "is there a way to unsubscribe?", "en.possible.question"},
    {"en.how-make-stop",
     "how|what [do|can|could|should] [i|we|u] [do] [to] get|make @DET|it|them [@MSGNOUN] [to] "
     "stop|end",
     "how do I make these texts stop?", "en.possible.question"},
    {"en.never-said", "@NEG said|say|asked|ask|wanted|meant [to] [be] @OPTOUTVERB|stop|stopped",
     "I never said unsubscribe", "en.possible.negated"},
    {"en.if-i-opt-out",
     "if|when|once|whether|before|after i|we [ever|do|did|just] "
     "@OPTOUTVERB|unsubscribed|opted_out|text_stop|reply_stop|send_stop|say_stop|texted_stop|"
     "replied_stop",
     "If I unsubscribe will I still get order updates?", "en.possible.conditional"},
    {"en.cancel-alone", "^ [@POLITE] [@POLITE] cancel|end [it|this|that] [@POLITE] [@POLITE] $",
     "cancel please", "en.possible.context"},
    {"en.remove-me", "remove|delete|erase|scrub|unlist me|us", "remove me from this list"},
    {"en.remove-number",
     "remove|delete|erase|scrub my|our|this "
     "number|phone|cell|contact|details|info|information|data|phone_number|cell_number|"
     "contact_info|contact_details",
     "kindly remove my number"},
    {"en.take-me-off",
     "take|get|cross|strike|scratch @ME off|from|out_of [@DET] "
     "[sms|text|texting|mailing|marketing|contact|messaging|subscriber|distribution|call] "
     "@LIST|$",
     "take me off your list"},
    {"en.no-more", "no|not_any more|further [of] [@DET] @MSGNOUN|these|this|them|those",
     "no more messages please"},
    {"en.no-more-sentence", "^ [@POLITE] no more [@POLITE] [@POLITE] $", "No more!"},
    {"en.dont-message", "don't|dont|do_not|never @MSGBASE @ME", "don't text me anymore"},
    {"en.dont-send", "don't|dont|do_not|never send|sent [me|us] [@DET] [@DET] @MSGNOUN",
     "don't send me any more texts"},
    {"en.dont-want",
     "don't|dont|do_not|no_longer|never want|wish|need [to] [receive|get|be_sent|have] [@DET] "
     "[@DET] @MSGNOUN",
     "I don't want these texts"},
    {"en.dont-want-any",
     "don't|dont|do_not|no_longer|never want|wish|need [to] receive|get|be_sent *3 @MSGNOUN",
     "I don't want to get any of your texts"},
    {"en.dont-want-contact",
     "don't|dont|do_not|no_longer want|wish [to] [be] "
     "contacted|texted|txted|messaged|spammed|bothered|subscribed|signed_up|on_this_list|"
     "on_your_list|on_the_list",
     "I no longer wish to be contacted"},
    {"en.cancel-subscription",
     "cancel|end|stop|terminate|discontinue|quit [@DET|my|our] "
     "[sms|text|texting|message|marketing] "
     "subscription|subscriptions",
     "cancel my subscription"},
    {"en.cancel-messages",
     "cancel|terminate|discontinue [@DET|my|our] [sms|text] "
     "alerts|texts|messages|notifications|txts|msgs|promos|newsletters|text_alerts",
     "please cancel these text alerts"},
    {"en.leave-me-alone", "leave @ME [the_hell|the_fuck|tf|the_heck|the_f] alone|be",
     "leave me alone"},
    {"en.go-away", "^ [@POLITE] [@POLITE] @GOAWAY [@POLITE] [@POLITE] [@POLITE] $", "Fuck off"},
    {"en.revoke-consent",
     "revoke|revoking|revoked|withdraw|withdrawing|withdrawn|rescind|rescinding|retract|"
     "retracting|cancel|terminate|remove [my|our|all|any|the|this] [prior|previous|express|"
     "written|prior_express|earlier] consent|permission|authorization|authorisation",
     "I revoke my consent to receive text messages"},
    {"en.consent-revoked",
     "revocation_of_consent|revocation_of_my_consent|consent_revoked|consent_is_revoked|"
     "consent_withdrawn|consent_is_withdrawn|no_longer_consent|withdrawal_of_consent|"
     "withdrawal_of_my_consent|consent_is_hereby_revoked|i_revoke_consent",
     "consent revoked"},
    {"en.do-not-consent",
     "do_not_consent|don't_consent|dont_consent|not_consent|never_consented|did_not_consent|"
     "didn't_consent|didnt_consent [to] [receive|receiving|being|getting|get] [any|these|this|"
     "your|text|sms|marketing|further] [text|sms|marketing] @MSGNOUN|contacted|texted|messaged|"
     "this|these|them",
     "I do not consent to receiving these messages"},
    {"en.formal-cease",
     "cease|stop|discontinue|end|terminate all|any [further] [text|sms|marketing] "
     "communications|communication|contact|messages|messaging|texts|texting",
     "Please end all communications"},
    {"en.cease-and-desist", "cease_and_desist|cease_desist|cease_n_desist|cease_+_desist",
     "Cease and desist"},
    {"en.lose-number", "lose|forget|drop|ditch|trash my|this|our number|phone_number|contact",
     "Lose my number"},
    {"en.stop-name", "^ [@POLITE] stop|unsubscribe|unsub|optout|opt_out % [%] [@POLITE] $",
     "STOP ACME"},
    {"en.wrong-number",
     "^ [@POLITE] [@POLITE] [this_is|you_have|u_have|you've_got|youve_got|you_got|u_got|"
     "you_texted|u_texted|you_have_got] [the|a] wrong|incorrect number|person|recipient|phone",
     "Sorry, wrong number"},
};

// Guards are tried in order; the first that matches decides. Those without a reason cancel
// the match; the others turn it into a possible opt-out.

constexpr GuardDef kEnGuards[] = {
    {"en.quoted-instruction",
     "reply|text|txt|send|respond|type|enter|sms [with] [@SENTWORD|cancel|end] [to|for]", ""},
    {"en.noun-use",
     "the|a|an|that|this|your|my|bus|pit|full|next|last|first|train|tram|truck|rest|whistle|"
     "non|one|every|each",
     "stop|quit|end"},
    // "don't stop sending me deals": asks for more, not less.
    {"en.negated-stop", "@NEG [ever|just|even|you|u|ever_ever]",
     "stop|quit|cease|discontinue|halt"},
    {"en.negation",
     "@NEG [really|ever|actually|even|necessarily|yet|just] "
     "[want|wish|need|like|wanna|going|trying|plan|mean] [to]",
     "", "en.possible.negated"},
    {"en.conditional",
     "if|whether|unless|when|before|after|once|until|till i|we "
     "[ever|do|did|can|just|decide_to|choose_to|want_to|were_to]",
     "", "en.possible.conditional"},
    {"en.question",
     "how [do|can|could|would|should|does|to|did] [i|we|u|you|one] [get|go_about|make|just] "
     "[to]",
     "", "en.possible.question"},
    {"en.question-can-i",
     "can|could|may|should|do|shall i|we [just|please|still] [go_ahead_and] [to]", "",
     "en.possible.question"},
    {"en.question-way",
     "is_there_a_way|is_there_any_way|any_way|what_do_i_do|what_should_i_do|where_do_i|"
     "where_can_i|who_do_i [to|i_can|for_me_to|ask_to] [just]",
     "", "en.possible.question"},
};

// A request that keeps another kind of message is mixed.
constexpr GuardDef kEnMixed[] = {
    {"en.mixed-but-keep",
     "but|except|only|though|and|just [please|pls] [do] [still] keep|continue|still_send|"
     "still_text|still_want",
     "", "en.possible.mixed"},
    {"en.mixed-keep-kind",
     "keep|continue [sending|texting|getting|receiving] [me|us] [the|my|all_the] "
     "appointment|order|delivery|account|shipping|service|payment|important|security|booking|"
     "pickup|prescription|billing|transactional|fraud|bank|balance|shipment|tracking "
     "[@MSGNOUN|confirmations|texts|notices|info]",
     "", "en.possible.mixed"},
    {"en.mixed-keep-the", "keep|continue [sending|getting|receiving] [me|us] the|my @MSGNOUN", "",
     "en.possible.mixed"},
    {"en.mixed-fine",
     "@MSGNOUN|texts|text|them|those|these|the_rest|rest|confirmations [are|is|r] "
     "fine|ok|okay|good|welcome|great|allowed",
     "", "en.possible.mixed"},
    {"en.mixed-still-want", "i|we still want|need|like", "", "en.possible.mixed"},
    {"en.mixed-only", "only|just send|text|txt|message|contact|msg me|us", "", "en.possible.mixed"},
    {"en.mixed-instead", "call|email|e_mail|mail|phone|ring [me|us] instead", "",
     "en.possible.mixed"},
};

// Right after a request: what it is about is not these texts.
constexpr GuardDef kEnElsewhere[] = {
    {"en.other-channel",
     "[from|of|for|on|to] [@DET|my|our] [%] [paper|postal|marketing|promotional|loyalty|rewards] "
     "[newsletter|weekly|daily|monthly|promotional|marketing] "
     "mail|mails|email|emails|e_mail|e_mails|emailing|catalog|catalogs|"
     "catalogue|catalogues|calls|phone_calls|calling|voicemail|voicemails|robocalls|loyalty|"
     "rewards|membership|program|programme|app|push|mailers|post|letters|flyers|brochures|"
     "magazine|statements|paper_statements|bills|emails_only|auto_renew|autorenew|renewal|"
     "insurance|plan|account|policy|gym|class|appointment|order|slot|group|group_chat|chat|"
     "schedule|waitlist|wait_list|team|meeting|event|carpool|rota|shift|shifts|reservation|"
     "booking|tour|trip|cart|basket|wishlist",
     "", "en.possible.other-channel"},
};

// --- Danish --------------------------------------------------------------------------------

constexpr WordClassDef kDaClasses[] = {
    {"STOP",
     "stop|stands|hold_op|hør_op|stoppe|holde_op|høre_op|stop_nu|hold_nu_op|hør_nu_op|"
     "hold_så_op|hør_så_op|lad_være_med_at|lad_vær_med_at|ophør|ophører|ophøre"},
    {"MSGVERB", "skrive|sende|smse|sms'e|texte|kontakte|ringe|spamme|genere|chikanere|forstyrre"},
    {"MSGNOUN",
     "sms|sms'er|smser|sms'erne|smserne|beskeder|beskederne|besked|tekstbeskeder|reklamer|"
     "reklame|reklamerne|tilbud|tilbuddene|nyhedsbreve|nyhedsbrev|meddelelser|notifikationer|"
     "markedsføring|spam|reklame_sms|kampagner|nyheder"},
    {"ME", "mig|os|mit_nummer|mit_telefonnummer|mit_mobilnummer"},
    {"POLITE",
     "tak|venligst|please|nu|lige|gerne|mange_tak|tak_for_nu|ellers_tak|nej_tak|bare|så|ja|"
     "nej|ok|okay|hej|hallo|for_fanden|fandeme|satans|damn|du|i"},
    {"SENTWORD", "stop|afmeld|frameld|afmelding|stop_alle"},
    {"CONSENT", "samtykke|samtykket|tilladelse|tilladelsen|accept|accepten"},
    {"NEG", "ikke|aldrig|ik|lad_være_med_at|lad_vær_med_at|lad_være_at"},
};

constexpr RuleDef kDaRules[] = {
    {"da.afmeld-mig", "afmeld|frameld|udmeld|afmelde|framelde|afmelder|fjern|slet @ME",
     "afmeld mig"},
    {"da.stop-med-at", "@STOP [venligst|nu|lige|så|dog] [med] [at] @MSGVERB [til] @ME|@MSGNOUN|$",
     "stop med at skrive til mig"},
    {"da.stop-beskeder", "@STOP [med] [de|disse|jeres|alle|dine|din|dem] @MSGNOUN",
     "stop jeres sms'er"},
    {"da.ikke-flere", "ikke|ingen flere|mere @MSGNOUN", "Ingen flere beskeder tak"},
    {"da.vil-ikke",
     "vil|ønsker ikke [længere|mere] [at] [have|modtage|få] "
     "[flere|mere|jeres|disse|de|dine|nogen|nogle] "
     "[flere] @MSGNOUN|kontaktes|kontaktet|tilmeldt|være_tilmeldt",
     "jeg vil ikke have flere sms'er"},
    {"da.vil-afmeldes",
     "vil|ønsker|gerne [gerne|godt|at|helst] "
     "afmeldes|frameldes|slettes|fjernes|være_afmeldt|meldes_ud|melde_mig_fra|melde_mig_ud",
     "Jeg vil gerne afmeldes"},
    {"da.lad-mig-vaere", "lad @ME være", "Lad mig være i fred!"},
    {"da.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $", "afmeld tak"},
    {"da.send-ikke",
     "send|skriv|sms|ring ikke|aldrig [flere|mere] [til] [mig|os] [flere|mere] @MSGNOUN|mere|flere",
     "send ikke flere sms'er til mig"},
    {"da.skal-ikke", "skal|må ikke|aldrig [mere] @MSGVERB [til] @ME|mere|flere",
     "I skal ikke skrive til mig mere"},
    {"da.drop-beskeder",
     "drop|dropper|afmeld|afmelder|frameld|stop [alle|jeres|de|dine|disse|dem] @MSGNOUN",
     "drop de sms'er"},
    {"da.skrid-med", "skrid|smut|forsvind med [jeres|din|dit|dine|det|den] @MSGNOUN|lort|pis",
     "skrid med jeres spam"},
    {"da.vil-ikke-afmeldes",
     "vil|ønsker ikke [at] [blive|være] afmeldes|afmelde|framelde|afmeldt|frameldt",
     "jeg vil ikke afmeldes", "da.possible.negated"},
    {"da.samtykke",
     "trækker|trækkes|tilbagekalder|tilbagekaldes|trækker_hermed|tilbagekalder_hermed|"
     "trak [hermed] [mit|vores|al|alt|mine|det] @CONSENT",
     "Jeg trækker mit samtykke tilbage"},
    {"da.skrid", "^ [@POLITE] skrid|smut|forsvind|gå_væk|hold_kæft|rend_mig [@POLITE] $", "skrid"},
    {"da.hvordan-afmelde",
     "hvordan|hvor [kan|gør|skal|får] [jeg|man|vi] "
     "afmelde|afmelder|framelde|framelder|stopper|stoppe|slipper|slippe|fjerne|fjerner",
     "hvordan afmelder jeg mig?", "da.possible.question"},
    {"da.forkert-nummer",
     "^ [@POLITE] [@POLITE] [det_er|du_har|i_har|du_har_fat_i] [et|en|den] forkert "
     "nummer|person|modtager",
     "forkert nummer"},
};

constexpr GuardDef kDaGuards[] = {
    {"da.quoted-instruction", "svar|send|skriv|sms [med] [@SENTWORD] [for|til]", ""},
    {"da.negated-stop", "@NEG [helt|bare]", "stop|stands|hold_op|hør_op|stoppe|holde_op|høre_op"},
    {"da.negation", "@NEG [helt|bare|rigtig]", "", "da.possible.negated"},
    {"da.conditional", "hvis|når|før|inden|efter|om jeg|vi [nu]", "", "da.possible.conditional"},
    {"da.question", "hvordan|kan|må|skal [kan|gør|får|skal] [jeg|vi|man] [mig|os]", "",
     "da.possible.question"},
};

constexpr GuardDef kDaMixed[] = {
    {"da.mixed-but-keep",
     "men|undtagen|bare [i|du] [må|skal] [gerne|godt|stadig] "
     "behold|beholde|fortsæt|fortsætte|stadig|sende|send",
     "", "da.possible.mixed"},
    {"da.mixed-still", "send|sende stadig|fortsat|gerne", "", "da.possible.mixed"},
    {"da.mixed-fine", "@MSGNOUN|påmindelser|bekræftelser|resten er|må fint|ok|okay|godt", "",
     "da.possible.mixed"},
};

constexpr GuardDef kDaElsewhere[] = {
    {"da.other-channel",
     "[fra|af|på|til|for] [jeres|dit|din|mit|min|mine|de|det|den] "
     "mail|mails|e_mail|e_mails|email|emails|post|brev|breve|katalog|kataloger|opkald|app|"
     "appen|nyhedsmail|nyhedsmailen|mailen|e_mailen|emailen|medlemskab|abonnement|aftale|"
     "aftalen|tid|tiden|ordre|ordren",
     "", "da.possible.other-channel"},
};

// --- Swedish -------------------------------------------------------------------------------

constexpr WordClassDef kSvClasses[] = {
    {"STOP", "sluta|stoppa|upphör|sluta_upp|sluta_nu|upphör_med"},
    {"MSGVERB", "skicka|sms:a|smsa|messa|kontakta|ringa|spamma|maila|störa|skriva|texta|tjata"},
    {"MSGNOUN",
     "sms|sms:en|sms:er|sms:et|smsen|smser|meddelanden|meddelande|meddelandena|reklam|"
     "reklamutskick|utskick|erbjudanden|erbjudandena|nyhetsbrev|notiser|aviseringar|spam|"
     "marknadsföring|textmeddelanden|kampanjer|reklamen"},
    {"ME", "mig|mej|oss|mitt_nummer|mitt_telefonnummer|mitt_mobilnummer"},
    {"POLITE",
     "tack|snälla|vänligen|nu|please|tack_så_mycket|nej_tack|tack_ändå|ja|nej|ok|okej|hej|"
     "hallå|för_fan|fan|för_helvete|du|ni"},
    {"SENTWORD", "stopp|stop|sluta|stoppa|avsluta|avregistrera|avanmäl|stopp_alla"},
    {"CONSENT", "samtycke|samtycket|medgivande|medgivandet|godkännande|godkännandet"},
    {"NEG", "inte|aldrig|ej|icke"},
};

constexpr RuleDef kSvRules[] = {
    {"sv.sluta-skicka",
     "@STOP [med] [att] @MSGVERB [till] [mig|mej|oss] [fler|mer|några|era|dessa|de_här] "
     "@MSGNOUN|@ME|$",
     "sluta skicka sms"},
    {"sv.avregistrera-mig",
     "avregistrera|avanmäl|avsluta|radera|stryk|ta_bort @ME|prenumerationen|min_prenumeration",
     "avregistrera mig"},
    {"sv.inga-fler", "inga|inte fler|mer @MSGNOUN", "Inga fler sms tack"},
    {"sv.vill-inte",
     "vill|önskar inte [ha|få|ta_emot] [fler|mer|några|era|dessa] "
     "@MSGNOUN|kontaktas|bli_kontaktad|bli_kontaktade|bli_störd",
     "Jag vill inte ha fler meddelanden"},
    {"sv.vill-avregistrera",
     "vill|önskar [bli] "
     "avregistrera|avregistreras|avregistrerad|avanmäla|avprenumerera|tas_bort|strykas|"
     "avsluta_prenumerationen",
     "jag vill avprenumerera"},
    {"sv.lamna-mig-ifred", "lämna @ME ifred|i_fred", "lämna mig ifred"},
    {"sv.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $", "stopp tack"},
    {"sv.skicka-inga",
     "skicka|sms:a|smsa|messa|skriv inga|inte|aldrig [fler|mer] [till_mig] @MSGNOUN|till_mig|mer|"
     "fler",
     "skicka inga fler sms"},
    {"sv.sluta-med", "sluta|stoppa|stopp [med] [era|all|alla|den_här|de_här|dessa] @MSGNOUN",
     "sluta med reklamen"},
    {"sv.dra-med",
     "dra_åt_helvete|dra_åt_skogen|försvinn|stick med [er|ert|era|din|ditt|dina] @MSGNOUN|skit",
     "dra åt helvete med er spam"},
    {"sv.samtycker-inte", "samtycker|godkänner|accepterar|medger inte|ej längre|mer",
     "jag samtycker inte längre"},
    {"sv.stop-campaign", "^ [@POLITE] @SENTWORD @MSGNOUN [@POLITE] $", "AVSLUTA ERBJUDANDEN"},
    {"sv.samtycke",
     "återkallar|återkalla|drar_tillbaka|drar_härmed_tillbaka|återkallar_härmed [härmed] "
     "[mitt|vårt|allt|mina|det] @CONSENT",
     "Jag återkallar mitt samtycke"},
    {"sv.dra-at-skogen",
     "^ [@POLITE] dra_åt_helvete|stick_härifrån|försvinn|håll_käften|dra_åt_skogen [@POLITE] $",
     "dra åt skogen"},
    {"sv.hur-avregistrera",
     "hur [kan|gör|ska|får] [jag|man|vi] "
     "avregistrera|avregistrerar|avsluta|avslutar|avanmäla|avanmäler|stoppar|stoppa|slipper|"
     "slippa|sluta|slutar",
     "hur avregistrerar jag mig?", "sv.possible.question"},
    {"sv.om-jag-avregistrerar",
     "om|när jag|vi avregistrerar|avslutar|avanmäler|stoppar|slutar|säger_upp",
     "om jag avregistrerar mig, förlorar jag mina poäng?", "sv.possible.conditional"},
    {"sv.fel-nummer", "^ [@POLITE] [@POLITE] [det_är|du_har|ni_har] fel nummer|person|mottagare",
     "fel nummer"},
};

constexpr GuardDef kSvGuards[] = {
    {"sv.quoted-instruction", "svara|skicka|sms:a|smsa|skriv [med] [@SENTWORD] [för|till]", ""},
    {"sv.negated-stop", "@NEG [riktigt|bara]", "sluta|stoppa|upphör|sluta_upp"},
    {"sv.negation", "@NEG [riktigt|alls|bara]", "", "sv.possible.negated"},
    {"sv.conditional", "om|när|innan|efter jag|vi", "", "sv.possible.conditional"},
    {"sv.question", "hur|kan|får|ska [gör|kan|får|ska] [jag|vi|man] [mig|oss]", "",
     "sv.possible.question"},
};

constexpr GuardDef kSvMixed[] = {
    {"sv.mixed-but-keep",
     "men|utom|förutom|bara [ni|du] [får|ska|kan] [gärna|fortfarande] "
     "behåll|behålla|fortsätt|fortsätta|fortfarande|skicka",
     "", "sv.possible.mixed"},
    {"sv.mixed-fine", "@MSGNOUN|påminnelser|bekräftelser|resten är|går bra|ok|okej|fint", "",
     "sv.possible.mixed"},
};

constexpr GuardDef kSvElsewhere[] = {
    {"sv.other-channel",
     "[från|av|på|till|för] [era|ert|er|din|ditt|mitt|min|mina] "
     "mejl|mail|mejlen|e_post|epost|email|post|brev|katalog|kataloger|samtal|appen|app|"
     "medlemskap|abonnemang|bokning|bokningen|tid|tiden|order|ordern",
     "", "sv.possible.other-channel"},
};

// --- Norwegian Bokmål ----------------------------------------------------------------------

constexpr WordClassDef kNbClasses[] = {
    {"STOP", "slutt|stopp|stans|hold_opp|slutt_nå|stoppe|slutte|opphør|opphører|opphøre"},
    {"MSGVERB", "sende|skrive|sms'e|smse|kontakte|ringe|spamme|mase|tekste|plage|maile"},
    {"MSGNOUN",
     "sms|sms'er|smser|sms'ene|meldinger|melding|meldingene|tekstmeldinger|reklame|reklamer|"
     "reklamen|tilbud|tilbudene|nyhetsbrev|varsler|markedsføring|spam|kampanjer"},
    {"ME", "meg|oss|nummeret_mitt|mitt_nummer|telefonnummeret_mitt"},
    {"POLITE",
     "takk|vær_så_snill|vennligst|nå|please|takk_skal_du_ha|nei_takk|ellers_takk|tusen_takk|ja|"
     "nei|ok|okei|hei|hallo|for_faen|faen|for_helvete|du|dere"},
    {"SENTWORD", "stopp|stop|avslutt|meld_av|avmeld|slutt|stopp_alle"},
    {"CONSENT", "samtykke|samtykket|samtykket_mitt|tillatelse|tillatelsen|godkjenning"},
    {"NEG", "ikke|aldri|ikkje"},
};

constexpr RuleDef kNbRules[] = {
    {"nb.meld-meg-av", "meld|meld_dere|melde|melder @ME av|ut", "meld meg av"},
    {"nb.ikke-send",
     "ikke|aldri send|skriv|sms|ring [meg|oss|til_meg] [flere|mer|noen] @MSGNOUN|mer|flere",
     "ikke send meg flere meldinger"},
    {"nb.ta-meg-av",
     "ta @ME av|ut_av|bort_fra "
     "[listen|lista|listene|registeret|databasen|systemet|listen_deres|lista_deres]",
     "ta meg av listen deres"},
    {"nb.avslutt-abonnement",
     "avslutt|avslutte|si_opp|stopp [mitt|det|deres] abonnementet|abonnement",
     "avslutt abonnementet mitt"},
    {"nb.slutt-med", "slutt|stopp [med] [den|all|alle|disse|deres] @MSGNOUN", "slutt med reklamen"},
    {"nb.dra-med",
     "dra_til_helvete|forsvinn|stikk_av med [den|det|deres|din|ditt|dine] @MSGNOUN|dritten|"
     "spammen",
     "dra til helvete med spammen deres"},
    {"nb.samtykker-ikke", "samtykker|godtar|aksepterer ikke lenger|mer",
     "jeg samtykker ikke lenger"},
    {"nb.vil-meldes-av",
     "vil|ønsker [gjerne|å|bli] meldes_av|melde_meg_av|avmeldes|avmeldt|meldt_av|slettes|fjernes",
     "jeg vil gjerne meldes av"},
    {"nb.slutt-a-sende",
     "@STOP [med] [å] @MSGVERB [til] [meg|oss] [flere|mer|noen|disse] @MSGNOUN|@ME|$",
     "slutt å sende meg meldinger"},
    {"nb.fjern-meg", "fjern|slett|avmeld|ta_bort|stryk @ME", "fjern meg fra listen"},
    {"nb.ingen-flere", "ingen|ikke flere|mer @MSGNOUN", "Ingen flere meldinger takk"},
    {"nb.vil-ikke",
     "vil|ønsker ikke [å] [ha|få|motta] [flere|mer|noen|deres|disse] "
     "@MSGNOUN|kontaktes|bli_kontaktet",
     "jeg vil ikke ha flere sms"},
    {"nb.la-meg-vaere", "la @ME være", "la meg være i fred"},
    {"nb.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $", "stopp takk"},
    {"nb.stop-campaign", "^ [@POLITE] @SENTWORD @MSGNOUN [@POLITE] $", "AVSLUTT TILBUD"},
    {"nb.samtykke",
     "trekker|tilbakekaller|trekker_herved|tilbakekaller_herved [herved] [tilbake] "
     "[mitt|vårt|alt|mine|det] @CONSENT",
     "Jeg trekker tilbake samtykket mitt"},
    {"nb.stikk", "^ [@POLITE] forsvinn|dra_til_helvete|hold_kjeft|stikk_av [@POLITE] $",
     "stikk av"},
    {"nb.hvordan-melde-av",
     "hvordan [kan|gjør|skal|får] [jeg|man|vi] "
     "melde|melder|avslutte|avslutter|stoppe|stopper|slipper|slippe|avmelde|avmelder",
     "hvordan melder jeg meg av?", "nb.possible.question"},
    {"nb.hvis-jeg-melder-av", "hvis|når|om jeg|vi melder|avslutter|stopper|avmelder|sier_opp",
     "hvis jeg melder meg av, mister jeg poengene mine?", "nb.possible.conditional"},
    {"nb.feil-nummer", "^ [@POLITE] [@POLITE] [det_er|du_har|dere_har] feil nummer|person|mottaker",
     "feil nummer"},
};

constexpr GuardDef kNbGuards[] = {
    {"nb.quoted-instruction", "svar|send|skriv [med] [@SENTWORD] [for|til]", ""},
    {"nb.negated-stop", "@NEG [helt|bare]", "slutt|stopp|stans|hold_opp|stoppe|slutte"},
    {"nb.negation", "@NEG [helt|bare]", "", "nb.possible.negated"},
    {"nb.conditional", "hvis|når|før|etter|om jeg|vi", "", "nb.possible.conditional"},
    {"nb.question", "hvordan|kan|får|skal [kan|gjør|får|skal] [jeg|vi|man] [meg|oss]", "",
     "nb.possible.question"},
};

constexpr GuardDef kNbMixed[] = {
    {"nb.mixed-but-keep",
     "men|unntatt|bortsett_fra|bare [dere|du] [kan|må|skal] [gjerne|fortsatt] "
     "behold|beholde|fortsett|fortsette|fortsatt|send|sende",
     "", "nb.possible.mixed"},
    {"nb.mixed-fine", "@MSGNOUN|påminnelser|bekreftelser|resten er|går fint|ok|greit|fint", "",
     "nb.possible.mixed"},
};

constexpr GuardDef kNbElsewhere[] = {
    {"nb.other-channel",
     "[fra|av|på|til|for] [deres|din|ditt|mitt|min|mine] "
     "e_post|epost|mail|mailer|email|post|brev|katalog|kataloger|samtaler|appen|app|"
     "medlemskap|abonnement|timen|bestilling|bestillingen|ordre|ordren|e_posten|eposten|"
     "mailen|nyhetsbrevet_på_e_post",
     "", "nb.possible.other-channel"},
};

// --- German --------------------------------------------------------------------------------

constexpr WordClassDef kDeClasses[] = {
    {"MSGNOUN",
     "sms|nachrichten|nachricht|mitteilungen|werbung|werbe_sms|werbesms|werbenachrichten|"
     "angebote|newsletter|benachrichtigungen|textnachrichten|kurznachrichten|spam|infos|"
     "sms_nachrichten"},
    {"MSGVERB",
     "schreiben|senden|schicken|zusenden|zuschicken|simsen|texten|kontaktieren|anschreiben|"
     "belästigen|nerven|zuspammen|spammen|zuzuspammen|zuzuschicken|zuzusenden|anzuschreiben|"
     "zu_schreiben|zu_nerven|zu_belästigen|zu_kontaktieren|zu_spammen"},
    {"MSGVERBFIN",
     "schreiben|schreibt|schreib|kontaktieren|kontaktiert|kontaktier|simsen|simst|schicken|"
     "schickt|schick|senden|sendet|belästigen|belästigt|nerven|nervt"},
    {"ME", "mich|mir|uns"},
    {"POLITE",
     "bitte|danke|jetzt|sofort|endlich|dankeschön|danke_schön|nein_danke|vielen_dank|ja|nein|"
     "ok|okay|hallo|hi|verdammt|verdammt_nochmal|mann|leute|ihr|sie"},
    {"SENTWORD", "stopp|stop|abmelden|abbestellen|austragen|abmeldung|stoppen|stopp_alle"},
    {"CONSENT",
     "einwilligung|zustimmung|einverständnis|einverständniserklärung|erlaubnis|"
     "einwilligungserklärung|werbeeinwilligung"},
    {"WANT", "will|möchte|möchten|wollen|würde|würden|wünsche|hätte|bitte"},
    {"HOER", "hören|hört|hör|hoer|hoert|hoeren"},
    {"NEG", "nicht|nie|niemals|keinesfalls|auf_keinen_fall"},
};

constexpr RuleDef kDeRules[] = {
    {"de.keine-mehr", "keine|kein @MSGNOUN mehr", "bitte keine SMS mehr"},
    {"de.keine-weiteren", "keine|kein weiteren|weitere|zusätzlichen @MSGNOUN",
     "keine weiteren Nachrichten"},
    {"de.will-keine", "@WANT [gerne|bitte] keine|kein [weiteren|weitere] @MSGNOUN",
     "Ich will keine Werbung"},
    {"de.melde-mich-ab",
     "melden|meldet|melde|tragen|tragt|trag|nehmen|nehmt|nimm [sie|ihr|du] @ME [bitte] "
     "[hier|davon|dort|sofort|aus_der_liste|aus_dem_verteiler] ab|aus|raus",
     "melden Sie mich ab"},
    {"de.mich-abmelden",
     "mich|uns [bitte|gerne|hier|davon|hiervon|jetzt|sofort] [bitte] "
     "[von_der_liste|vom_verteiler|vom_newsletter|aus_der_liste|aus_dem_verteiler] "
     "abmelden|austragen|abbestellen|löschen|entfernen|streichen",
     "Ich möchte mich abmelden"},
    {"de.abbestellen",
     "@WANT [gerne] [die|den|das|diese|eure|ihre|alle] @MSGNOUN "
     "abbestellen|abmelden|kündigen|stoppen|beenden",
     "ich möchte den Newsletter abbestellen"},
    {"de.hoer-auf",
     "@HOER [sie|ihr|du] [endlich|jetzt|bitte|sofort] auf [damit] [@ME] [@ME] [zu] @MSGVERB",
     "Hören Sie auf, mir zu schreiben"},
    {"de.nicht-mehr",
     "@MSGVERBFIN [sie|ihr|du] [@ME] [bitte] nicht_mehr|nichts_mehr|nie_wieder|nie_mehr",
     "Schreiben Sie mir nicht mehr"},
    {"de.loeschen",
     "löschen|entfernen|streichen|löscht|entfernt|streicht|lösche|entferne|lösch [sie|ihr] "
     "[bitte] meine|unsere "
     "nummer|telefonnummer|handynummer|daten|kontaktdaten",
     "löschen Sie bitte meine Nummer"},
    {"de.nummer-loeschen",
     "meine|unsere nummer|telefonnummer|handynummer|daten [bitte] "
     "[aus_der_liste|aus_dem_verteiler] löschen|entfernen|streichen",
     "meine Nummer bitte löschen"},
    {"de.lass-mich", "lass|lasst|lassen_sie @ME [bitte|endlich] in_ruhe",
     "Lassen Sie mich in Ruhe"},
    {"de.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $",
     "abmelden bitte"},
    {"de.von-der-liste",
     "nehmen|nehmt|nimm|streichen|streicht|löschen|löscht|entfernen|entfernt|tragen|tragt "
     "[sie|ihr|du] [bitte] mich|uns [bitte] [sofort] von|aus "
     "[der|dem|ihrer|ihrem|eurer|eurem|ihren|euren|diesem|dieser] "
     "liste|verteiler|verteilerliste|datenbank|kartei|system|sms_liste|sms_verteiler",
     "Nehmen Sie mich von der Liste"},
    {"de.moechte-abbestellen",
     "@WANT [mich|uns] [gerne|bitte|hiermit] abbestellen|abmelden|austragen|kündigen",
     "Ich möchte abbestellen"},
    {"de.unterlassen",
     "unterlassen|unterlasst|unterlässt [sie|ihr] [bitte] "
     "[jede|jegliche|die|alle] [weitere|weiteren|künftige|zukünftige] "
     "zusendung|zusendungen|kontaktaufnahme|kontaktaufnahmen|werbung|@MSGNOUN",
     "Unterlassen Sie jede weitere Zusendung"},
    {"de.zu-unterlassen",
     "zusendung|zusendungen|kontaktaufnahme|kontaktaufnahmen|werbung|@MSGNOUN [von|per|mit] "
     "[@MSGNOUN] [bitte] [künftig|zukünftig|ab_sofort|sofort] "
     "zu_unterlassen|einzustellen|unterlassen|einstellen",
     "die Zusendung von SMS zu unterlassen"},
    {"de.nicht-mehr-schreiben", "nicht_mehr|nie_mehr|nie_wieder [@ME] [@ME] [zu] @MSGVERB",
     "Bitte nicht mehr schreiben"},
    {"de.nicht-mehr-bekommen",
     "@WANT [das|die|diese|sie|es|euch|ihre|eure] nicht_mehr|keine|keinen|nichts_mehr [@MSGNOUN] "
     "[mehr] bekommen|erhalten|kriegen|empfangen",
     "Ich will das nicht mehr bekommen"},
    {"de.nicht-mehr-kontaktiert",
     "nicht_mehr|nie_mehr|nie_wieder|keinesfalls_mehr "
     "kontaktiert|angeschrieben|angerufen|benachrichtigt|belästigt|angesimst|angetextet",
     "Ich möchte nicht mehr kontaktiert werden"},
    {"de.verpiss-mit",
     "verpiss_dich|verpisst_euch|hau_ab|haut_ab mit [eurem|eurer|ihrem|ihrer|deinem|deiner|dem|"
     "der|euren|ihren] @MSGNOUN|mist|scheiß|scheiss",
     "verpisst euch mit eurem Spam"},
    {"de.untersage",
     "untersage|verbiete|untersagen|verbieten [ihnen|euch|dir] [hiermit] "
     "[jede|jegliche|die|alle|weitere] [weitere|zukünftige] "
     "kontaktaufnahme|zusendung|zusendungen|werbung|kontakt|kontakte|@MSGNOUN",
     "Ich untersage Ihnen jede weitere Kontaktaufnahme per SMS"},
    {"de.wie-stoppe-ich",
     "wie|wo stoppe|beende|kündige|bestelle|werde|melde ich|man [diese|die|eure|ihre|das] "
     "[@MSGNOUN]",
     "Wie stoppe ich diese SMS?", "de.possible.question"},
    {"de.wie-kann-ich",
     "wie|wo kann|könnte ich|man *3 stoppen|abbestellen|abmelden|beenden|loswerden|kündigen|"
     "abstellen|austragen",
     "Wie kann ich diese SMS abstellen?", "de.possible.question"},
    {"de.nicht-abmelden", "mich|uns nicht abmelden|austragen|abbestellen",
     "ich will mich nicht abmelden", "de.possible.negated"},
    {"de.vom-mail-newsletter",
     "melden|meldet|melde|tragen|tragt|trag|nehmen|nehmt|nimm [sie|ihr|du] @ME [bitte] "
     "vom|von_dem|aus_dem|von "
     "e_mail_newsletter|email_newsletter|mail_newsletter|e_mail|email|mail|post|e_mail_verteiler",
     "melden Sie mich vom E-Mail-Newsletter ab", "de.possible.other-channel"},
    {"de.stop-campaign", "^ [@POLITE] @SENTWORD @MSGNOUN [@POLITE] $", "STOPP WERBUNG"},
    {"de.widerruf",
     "widerrufe|widerrufen|ziehe|entziehe|widerruf [hiermit] [ich] [hiermit] "
     "[meine|die|jede|jegliche|alle|meiner|der] @CONSENT",
     "Ich widerrufe meine Einwilligung"},
    {"de.verpiss-dich",
     "^ [@POLITE] verpiss_dich|verpisst_euch|hau_ab|haut_ab|lass_mich_in_frieden|"
     "lasst_mich_in_frieden|halt_die_klappe [@POLITE] $",
     "hau ab"},
    {"de.wenn-ich-mich-abmelde", "wenn|falls ich|wir mich|uns abmelde|abmelden|austrage|austragen",
     "wenn ich mich abmelde, verliere ich dann meine Punkte?", "de.possible.conditional"},
    {"de.falsche-nummer",
     "^ [@POLITE] [@POLITE] [sie_haben|du_hast|ihr_habt|das_ist] [die|eine|den|der] "
     "falsche|falscher|verkehrte|falsch nummer|person|empfänger|verbunden",
     "falsche Nummer"},
};

constexpr GuardDef kDeGuards[] = {
    {"de.quoted-instruction",
     "antworte|antworten|antwortet|sende|senden|schreibe|schreiben|sms|simse [mit] [@SENTWORD] "
     "[an|um|zum|für]",
     ""},
    {"de.negation", "@NEG [mehr|wirklich]", "", "de.possible.negated"},
    {"de.conditional", "wenn|falls|ob|bevor|nachdem ich|wir [mich|uns]", "",
     "de.possible.conditional"},
    {"de.question",
     "wie|wo|kann|darf|soll [kann|muss|soll|darf] [ich|wir|man] [mich|uns] [hier|denn]", "",
     "de.possible.question"},
};

constexpr GuardDef kDeMixed[] = {
    {"de.mixed-weiterhin", "aber|außer|ausser|nur *3 weiterhin|weiter|behalten", "",
     "de.possible.mixed"},
    {"de.mixed-but-keep",
     "aber|außer|ausser|nur [bitte] [weiterhin] behalten|behaltet|weiter|weiterhin|weitersenden|"
     "weiterschicken|schickt|sendet|schicken_sie|senden_sie",
     "", "de.possible.mixed"},
    {"de.mixed-fine",
     "@MSGNOUN|erinnerungen|bestätigungen|termine|rest sind|ist ok|okay|gut|"
     "in_ordnung|erwünscht",
     "", "de.possible.mixed"},
};

constexpr GuardDef kDeElsewhere[] = {
    {"de.other-channel",
     "[von|vom|aus|für|bei|beim] [der|dem|den|die|das|ihrem|ihren|eurem|euren|meinem|meiner] "
     "e_mail|e_mails|email|emails|mail|mails|post|briefe|katalog|kataloge|anrufe|anrufen|app|"
     "mitgliedschaft|abo|vertrag|termin|kurs|bestellung|kundenkarte|treueprogramm|"
     "e_mail_newsletter|mail_newsletter",
     "", "de.possible.other-channel"},
};

// --- French --------------------------------------------------------------------------------

constexpr WordClassDef kFrClasses[] = {
    {"MSGNOUN",
     "messages|message|sms|textos|texto|pubs|pub|publicités|publicité|offres|promotions|"
     "promos|notifications|alertes|newsletters|newsletter|spam|relances"},
    {"MSGVERB",
     "envoyer|écrire|contacter|harceler|spammer|texter|solliciter|relancer|déranger|"
     "importuner"},
    {"MSGVERBFIN",
     "envoyez|écrivez|contactez|harcelez|relancez|dérangez|sollicitez|envoie|écris|contacte|"
     "harcèle|dérange"},
    {"WANT",
     "veux|voudrais|souhaite|souhaiterais|désire|désirerais|aimerais|veut|voulons|souhaitons|"
     "désirons|voudrions"},
    {"POLITE",
     "svp|stp|merci|s'il_vous_plaît|s'il_te_plaît|maintenant|immédiatement|merci_beaucoup|"
     "non_merci|pitié|oui|non|ok|okay|bonjour|salut|allo|là|tout_de_suite|bordel|sérieux|"
     "vous|svp_merci|tabarnak|câlisse"},
    {"SENTWORD",
     "stop|arrêt|arrêtez|arrête|stoppez|désabonner|désabonnement|désinscription|désinscrire|"
     "stop_sms|stopsms|stop_tout|arrêter"},
    {"CONSENT", "consentement|autorisation|accord|consentements"},
    {"NEG", "ne|n'|pas|jamais|ne_pas|surtout_pas"},
};

constexpr RuleDef kFrRules[] = {
    {"fr.desabonnez-moi",
     "désabonnez|désinscrivez|désabonne|désinscris|retirez|supprimez|enlevez|radiez|effacez|"
     "rayez|désabonner|désinscrire moi|nous|mon_numéro",
     "désabonnez-moi"},
    {"fr.me-desabonner",
     "me|nous|m' désabonner|désinscrire|désabonne|désinscris|désabonnez|désinscrivez",
     "Je souhaite me désabonner"},
    {"fr.retirer-de-la-liste",
     "me|nous|m' retirer|supprimer|enlever|effacer|radier|rayer de|des|du "
     "[votre|vos|la|cette|ce|ta|tes|leur|leurs] "
     "liste|listes|fichier|fichiers|base|contacts|liste_de_diffusion",
     "Merci de me retirer de votre liste"},
    {"fr.etre-desabonne",
     "@WANT [être] "
     "désabonné|désabonnée|désinscrit|désinscrite|retiré|retirée|supprimé|supprimée|radié|"
     "radiée",
     "je souhaite être désinscrit"},
    {"fr.ne-plus-recevoir",
     "ne|n' @WANT plus|pas|rien [plus] "
     "recevoir|être_contacté|être_contactée|être_sollicité|être_sollicitée|être_dérangé|"
     "être_dérangée",
     "Je ne veux plus recevoir de messages"},
    {"fr.ne-plus-de",
     "ne|n' @WANT plus|pas|aucun|aucune|aucuns|aucunes [de|d'] [vos|ces|les|des|du|tes|leurs] "
     "@MSGNOUN",
     "je ne veux pas de pubs"},
    {"fr.ne-plus-envoyer", "ne|n' [me|m'|nous] @MSGVERBFIN plus|pas|jamais",
     "ne m'envoyez plus de pubs"},
    {"fr.arretez-de",
     "arrêtez|arrête|arrêter|cessez|cesse|cesser|stop|stoppez [de|d'] [me|m'|nous] @MSGVERB",
     "arrêtez de m'envoyer des messages"},
    {"fr.plus-de",
     "^ [@POLITE] plus|pas|fini|assez|stop [de|d'|aux] @MSGNOUN [@POLITE] [@POLITE] $",
     "plus de SMS svp"},
    {"fr.laissez-moi",
     "laissez|laisse|fichez|foutez|fiche|fous moi|nous|me|m' tranquille|tranquilles|en_paix|"
     "la_paix",
     "laissez-moi tranquille"},
    {"fr.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $", "stop svp"},
    {"fr.arretez-messages",
     "arrêtez|arrête|arrêter|stop|stoppez|cessez|cesser [les|vos|ces|tes|des|de|d'] "
     "[conneries|saloperies|foutues|satanées|putains|maudites|niaiseries] [de|d'] @MSGNOUN",
     "arrêtez les SMS"},
    {"fr.comment-ne-plus",
     "comment [faire|je_fais|on_fait|puis_je|je_peux|fait_on] [pour] ne|n' plus|pas|jamais "
     "recevoir|être_contacté|être_contactée",
     "comment faire pour ne plus recevoir vos messages ?", "fr.possible.question"},
    {"fr.cesser-tout-envoi",
     "cesser|cessez|cesse|arrêter|arrêtez|stopper|stoppez|suspendre|suspendez [immédiatement] "
     "[tout|tous|toute|toutes|les|vos|l'|vos] "
     "envoi|envois|contact|contacts|sollicitation|sollicitations|@MSGNOUN",
     "Cessez immédiatement tout envoi"},
    {"fr.ne-plus-envoyer-inf", "ne|n' plus|pas|jamais [me|m'|nous] @MSGVERB",
     "Merci de ne plus m'envoyer de SMS"},
    {"fr.lachez-moi", "lâchez|lâche|lâchez_moi|lâche_moi [moi|nous] avec|la_grappe|les_baskets",
     "lâchez-moi avec vos pubs"},
    {"fr.ne-consens-plus",
     "ne|n' consens|consent|consentons|autorise|autorisons|accepte|acceptons plus|aucunement",
     "Je ne consens plus à recevoir de messages"},
    {"fr.consentement",
     "retire|révoque|retirer|révoquer|annule|annuler|retire_par_la_présente [par_la_présente] "
     "[mon|le|tout|mes|notre] @CONSENT",
     "Je retire mon consentement"},
    {"fr.dégage",
     "^ [@POLITE] dégage|dégagez|fous_le_camp|foutez_le_camp|va_te_faire_foutre|"
     "allez_vous_faire_foutre|fichez_le_camp|décrissez|décrisse|lâchez_moi [@POLITE] $",
     "dégagez"},
    {"fr.mauvais-numero",
     "^ [@POLITE] [@POLITE] [vous_avez|tu_as|c'est|vous_vous_êtes_trompé_de|erreur_de] "
     "[le|un] [mauvais|faux] numéro|destinataire|personne",
     "mauvais numéro"},
};

constexpr GuardDef kFrGuards[] = {
    {"fr.quoted-instruction",
     "répondez|répondre|envoyez|envoyer|tapez|écrivez|réponds|envoie|sms [par|avec] "
     "[@SENTWORD] [pour|au|à]",
     ""},
    {"fr.negated-stop", "@NEG [vraiment]", "arrêtez|arrête|arrêter|cessez|cesse|cesser|stoppez"},
    {"fr.negation", "@NEG [vraiment]", "", "fr.possible.negated"},
    {"fr.conditional", "si|s'|quand|lorsque|avant|après je|j'|nous|on", "",
     "fr.possible.conditional"},
    {"fr.question",
     "comment|où|est_ce_que|puis_je|peut_on|pourrais_je [est_ce_que] [je|on|nous] [peux|dois|"
     "peut|fait|fais|faire|pour] [pour]",
     "", "fr.possible.question"},
};

constexpr GuardDef kFrMixed[] = {
    {"fr.mixed-but-keep",
     "mais|sauf|seulement|uniquement [svp] [continuez|gardez|garder|continuer|envoyez|"
     "continuez_à|continuez_de] [à|de|d'] [m'envoyer|me_envoyer|envoyer]",
     "", "fr.possible.mixed"},
    {"fr.mixed-keep",
     "gardez|garder|continuez|continuer|conservez [à|de|d'] [m'|me] [envoyer] [les|mes|vos]", "",
     "fr.possible.mixed"},
    {"fr.mixed-fine",
     "@MSGNOUN|rappels|confirmations|reste [sont|est|c'est] ok|bien|correct|acceptés|bienvenus", "",
     "fr.possible.mixed"},
};

constexpr GuardDef kFrElsewhere[] = {
    {"fr.other-channel",
     "[de|des|du|aux|à|au|par] [la|le|les|l'|vos|votre|mes|mon|ma] "
     "courriel|courriels|mail|mails|email|emails|e_mail|e_mails|courrier|courriers|catalogue|"
     "catalogues|appels|application|appli|newsletter_par_mail|abonnement|carte|programme|"
     "fidélité|rendez_vous|commande|cours|contrat|magazine|revue",
     "", "fr.possible.other-channel"},
};

// --- Spanish -------------------------------------------------------------------------------

constexpr WordClassDef kEsClasses[] = {
    {"MSGNOUN",
     "mensajes|mensaje|sms|textos|texto|mensajitos|publicidad|promociones|promos|ofertas|"
     "notificaciones|alertas|anuncios|spam|boletines"},
    {"MSGVERBSUBJ",
     "envíen|envíes|envíe|manden|mandes|mande|escriban|escribas|escriba|contacten|contactes|"
     "contacte|molesten|molestes|moleste|textees|texteen"},
    {"MSGVERB",
     "enviar|enviarme|enviarnos|mandar|mandarme|mandarnos|escribir|escribirme|escribirnos|"
     "contactar|contactarme|contactarnos|molestar|molestarme|molestarnos|textear|textearme|"
     "spamear|chingar|fregar|joder|jorobar|friegar|chingarme|fregarme"},
    {"WANT", "quiero|queremos|deseo|deseamos|quisiera|me_gustaría|necesito"},
    {"POLITE",
     "por_favor|porfa|porfavor|xfa|xfavor|gracias|ya|ahora|muchas_gracias|no_gracias|plis|sí|"
     "por_fabor|porfabor|x_favor|pf|porfis|"
     "si|no|ok|okay|hola|oiga|oigan|carajo|ya_basta|joder|mil_gracias|de_inmediato"},
    {"SENTWORD", "baja|alto|parar|stop|basta|para_ya|dar_de_baja|baja_todo"},
    {"CONSENT", "consentimiento|autorización|permiso|consentimientos"},
    {"NEG",
     "no|nunca|jamás|tampoco|no_quiero|no_deseo|no_necesito|no_voy_a|no_quiero_que_me|"
     "no_vayan_a"},
};

constexpr RuleDef kEsRules[] = {
    {"es.dar-de-baja",
     "dar|darme|darnos|den|denme|deme|dame|da|dan|doy|darse|dé|dad|darle [me|nos] de baja",
     "Quiero darme de baja"},
    {"es.no-envien", "no [me|nos] @MSGVERBSUBJ más|nada|@MSGNOUN|$", "no me envíen más mensajes"},
    {"es.no-mas", "no|ya_no|nada más @MSGNOUN", "NO MÁS MENSAJES"},
    {"es.no-quiero",
     "no|ya_no @WANT [recibir] [más|tus|sus|estos|estas|los|las|ningún|ninguna] [más] "
     "@MSGNOUN|recibir|que_me_escriban|que_me_envíen|que_me_contacten",
     "no quiero recibir más mensajes"},
    {"es.no-vuelvan", "no [me|nos] vuelvan|vuelva|vuelvas|vuelve a @MSGVERB",
     "No me vuelvan a escribir"},
    {"es.basta-de", "basta|suficiente|ya_basta|ya_estuvo|se_acabó de [tantos|sus|tus] @MSGNOUN",
     "ya basta de mensajes"},
    {"es.cese", "cese_y_desista|cesen_y_desistan|cese_y_desistan", "Cese y desista"},
    {"es.cesen-envio",
     "cese|cesen|cesar|suspendan|suspenda|suspender|detengan|detenga|detener "
     "[y_desista|y_desistan] [inmediatamente] [de|el|los|con_el|todo|todos_los|todo_el] "
     "envío|envíos|@MSGVERB|@MSGNOUN|contacto",
     "Exijo que cesen el envío de mensajes"},
    {"es.salir-lista",
     "@WANT salir|salirme|que_me_saquen|que_me_quiten|que_me_borren de [esta|la|su|sus|tu] "
     "lista|listas|base_de_datos",
     "quiero salir de esta lista"},
    {"es.como-me-salgo",
     "cómo|como [me|nos] salgo|salir|salirme|quito|quitarme|elimino|borro|desuscribo|"
     "desuscribirme|desinscribo de [esta|la|su|sus] [lista|listas|mensajes]",
     "¿Cómo me salgo de esta lista?", "es.possible.question"},
    {"es.como-hago",
     "cómo|como [hago|puedo|le_hago|se_hace|hacer] [para] [que] [ya] [no] "
     "dejen|paren|deje|darme|dar|cancelar|quitar|eliminar|salir|dejar|dejar_de_recibir",
     "¿cómo hago para que dejen de llegar estos mensajes?", "es.possible.question"},
    {"es.dejen-de", "dejen|deje|deja|dejar|dejad|paren|pare|parar|para|basta de [me|nos] @MSGVERB",
     "dejen de enviarme mensajes"},
    {"es.favor-no", "favor_de_no|por_favor_no|porfavor_no|porfa_no @MSGVERB",
     "favor de no escribirme"},
    {"es.cancelar-suscripcion",
     "cancelar|cancela|cancelen|cancele|cancelo|anular|anulen|anula|anulo|terminar "
     "[mi|la|mis|las|esta|esa|estos|estas|los|sus|tus] "
     "suscripción|suscripciones|subscripción|@MSGNOUN",
     "cancelar mi suscripción"},
    {"es.eliminarme",
     "elimínenme|bórrenme|sáquenme|quítenme|sácame|bórrame|elimíname|quítame|retírenme|"
     "retírame|bájenme",
     "bórrenme de su lista"},
    {"es.eliminar-numero",
     "eliminen|borren|quiten|saquen|eliminar|borrar|quitar|retiren|retirar|saca|quita|borra|"
     "elimina|retira mi|mis|nuestro número|datos|teléfono|celular",
     "borren mi número"},
    {"es.dejame-en-paz", "déjame|déjenme|déjennos en paz", "déjenme en paz"},
    {"es.stop-sentence", "^ [@POLITE] [@POLITE] @SENTWORD+ [@POLITE] [@POLITE] $",
     "baja por favor"},
    {"es.stop-campaign", "^ [@POLITE] @SENTWORD @MSGNOUN|promo|promos [@POLITE] $", "BAJA PROMO"},
    {"es.no-autorizo",
     "ya_no|no autorizo|consiento|acepto|doy_mi_consentimiento|doy_mi_autorización "
     "[el|los|que|más] "
     "envío|envíos|@MSGNOUN|que_me|recibir|más",
     "Ya no autorizo el envío de mensajes"},
    {"es.consentimiento",
     "revoco|retiro|revocar|retirar|cancelo|anulo|revoca|retira [por_este_medio] [mi|el|todo|mis] "
     "@CONSENT",
     "Retiro mi consentimiento"},
    {"es.largate",
     "^ [@POLITE] lárgate|lárguense|váyanse_al_carajo|vete_al_carajo|piérdete|piérdanse|"
     "váyanse_a_la_mierda|déjenme_tranquilo|déjenme_tranquila [@POLITE] $",
     "lárguense"},
    {"es.numero-equivocado",
     "^ [@POLITE] [@POLITE] [tienes|tiene|tienen|es|este_es|ese_no_es] [el|un|mi] "
     "número|persona equivocado|equivocada|incorrecto|errado",
     "número equivocado"},
};

constexpr GuardDef kEsGuards[] = {
    {"es.quoted-instruction",
     "responde|responda|respondan|envía|envíe|manda|mande|escribe|escriba|texto [con] "
     "[@SENTWORD] [para|al]",
     ""},
    {"es.negated-stop", "@NEG [realmente]", "dejen|deje|deja|dejar|dejad|paren|pare|parar"},
    {"es.negation", "@NEG [realmente]", "", "es.possible.negated"},
    {"es.conditional", "si|cuando|antes_de|después_de [me|yo|nos]", "", "es.possible.conditional"},
    {"es.question",
     "cómo|como|dónde|donde|puedo|podría|se_puede [puedo|hago|hacer|podría|se_puede] [para] "
     "[me|yo|nos]",
     "", "es.possible.question"},
};

constexpr GuardDef kEsMixed[] = {
    {"es.mixed-but-keep",
     "pero|excepto|salvo|solo|sólo [por_favor] sigan|siga|sigue|mantengan|mantener|dejen|"
     "quiero_seguir|sigan_enviando|sigan_mandando|todavía",
     "", "es.possible.mixed"},
    {"es.mixed-fine",
     "@MSGNOUN|recordatorios|confirmaciones|resto [están|está|estan|esta] bien|ok|perfecto", "",
     "es.possible.mixed"},
};

constexpr GuardDef kEsElsewhere[] = {
    {"es.something-else",
     "[mi|la|el|una|un|mis|de|del|de_la|de_mi|en|en_el|en_la|en_mi|a|al] "
     "tarjeta|cuenta|línea|pedido|cita|reserva|servicio|seguro|contrato|plan|membresía|orden|"
     "compra|tarjeta_de_crédito|tarjeta_perdida|gimnasio|gym|club|banco|escuela|curso|clase|"
     "trabajo|empresa|universidad|equipo|liga|torneo|póliza|suscripción_al_gimnasio|cargo|"
     "cargos|cobro|cobros|factura|pago|pagos|débito|domiciliación|producto|artículo",
     ""},
    {"es.other-channel",
     "[de|del|por|para|en|a|al] [los|las|el|la|su|sus|mi|mis] "
     "correo|correos|email|emails|mail|mails|e_mail|e_mails|llamadas|catálogo|catálogos|"
     "aplicación|app|membresía|cita|pedido|orden|programa|tarjeta|revista|correo_electrónico|"
     "correos_electrónicos",
     "", "es.possible.other-channel"},
};

// Pack order here is the bit order of the per-word trigger masks; evaluation order is the
// order of the number's languages.
constexpr PackDef kPacks[] = {
    {"en", "START|UNSTOP|SUBSCRIBE|YES",
     "STOP|UNSUBSCRIBE|CANCEL|END|QUIT|REVOKE|OPTOUT|OPT OUT|REMOVE", "STOPALL|STOP ALL",
     "HELP|INFO", kEnClasses, kEnRules, kEnGuards, kEnMixed, kEnElsewhere},
    {"da", "START|TILMELD", "STOP|AFMELD|FRAMELD|AFMELDING", "STOP ALLE|STOPALLE",
     "HJÆLP|HJAELP|INFO", kDaClasses, kDaRules, kDaGuards, kDaMixed, kDaElsewhere},
    {"sv", "START|STARTA", "STOPP|STOP|AVSLUTA|AVREGISTRERA|AVANMÄL",
     "STOPP ALLA|STOPPA ALLA|STOP ALLA", "HJÄLP|INFO", kSvClasses, kSvRules, kSvGuards, kSvMixed,
     kSvElsewhere},
    {"nb", "START|MELD PÅ", "STOPP|STOP|AVSLUTT|MELD AV|AVMELD", "STOPP ALLE|STOP ALLE",
     "HJELP|INFO", kNbClasses, kNbRules, kNbGuards, kNbMixed, kNbElsewhere},
    {"de", "START|ANMELDEN|STARTEN", "STOPP|STOP|ABMELDEN|ABBESTELLEN|AUSTRAGEN|ABMELDUNG",
     "STOPP ALLE|STOP ALLE", "HILFE|INFO", kDeClasses, kDeRules, kDeGuards, kDeMixed, kDeElsewhere},
    {"fr", "START|ABONNER",
     "STOP|ARRÊT|ARRET|STOP SMS|STOPSMS|DÉSABONNER|DÉSINSCRIRE|DÉSABONNEMENT|DÉSINSCRIPTION",
     "STOP TOUT", "AIDE|INFO", kFrClasses, kFrRules, kFrGuards, kFrMixed, kFrElsewhere},
    {"es", "ALTA|START|SUSCRIBIR", "BAJA|PARAR|ALTO|CANCELAR|DAR DE BAJA|DARME DE BAJA|STOP",
     "BAJA TODO|BAJA TODOS|PARAR TODO", "AYUDA|INFO", kEsClasses, kEsRules, kEsGuards, kEsMixed,
     kEsElsewhere},
};
constexpr size_t kNumPacks = std::size(kPacks);
static_assert(kNumPacks <= 8, "trigger masks are one byte");

// ---------------------------------------------------------------------------------------------
// 3. The grammar compiler and the matcher
// ---------------------------------------------------------------------------------------------

using Phrase = std::vector<int32_t>;  // word ids

struct Element {
  enum class Type : uint8_t { kWords, kGap, kSentenceStart, kSentenceEnd, kNameLike };
  Type type = Type::kWords;
  bool optional = false;
  bool allows_end = false;  // `$` among the alternatives
  bool repeats = false;     // `+`: one or more
  int gap = 0;
  std::vector<Phrase> phrases;
  std::vector<int32_t> first_words;  // sorted: the words a phrase can start with
};

struct Pattern {
  std::vector<Element> elements;
  bool anchored = false;  // starts with ^
  // The first element is a required word: a match can only start at a word some pack knows.
  bool starts_with_word = false;
};

struct CompiledRule {
  std::string id;
  std::string pattern_text;
  std::string example;
  Pattern pattern;
  std::string possible;  // empty for a request; else the possible opt-out's reason
};

struct CompiledGuard {
  std::string id;
  Pattern pattern;
  std::vector<int32_t> only_before;
  std::string possible;  // empty: cancels; else turns the match into this possible reason
};

struct PackKeyword {
  std::string keyword;  // as shown: "OPT OUT"
  std::string key;      // as compared: "opt out"
  Intent intent;
};

struct CompiledPack {
  std::string code;
  std::vector<PackKeyword> keywords;
  std::vector<CompiledRule> rules;
  std::vector<CompiledGuard> guards;
  std::vector<CompiledGuard> mixed;
  std::vector<CompiledGuard> elsewhere;
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(sep, b);
    if (e == std::string_view::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

class Grammar {
 public:
  static const Grammar& Get() {
    static const Grammar* g = new Grammar();  // never destroyed: shared by all matchers
    return *g;
  }

  int32_t Lookup(std::string_view key) const {
    auto it = vocab_.find(key);
    return it == vocab_.end() ? -1 : it->second;
  }
  uint8_t TriggerPacks(int32_t word) const { return trigger_packs_[static_cast<size_t>(word)]; }
  // The mixed clauses of a pack (a bit each) that can start with this word.
  uint8_t MixedTriggers(int32_t word, size_t pack) const {
    const size_t w = static_cast<size_t>(word);
    return w < mixed_triggers_.size() ? mixed_triggers_[w][pack] : 0;
  }
  uint64_t TriggerRules(int32_t word, size_t pack) const {
    return trigger_rules_[static_cast<size_t>(word)][pack];
  }
  const CompiledPack& pack(size_t i) const { return packs_[i]; }
  std::optional<size_t> PackIndex(std::string_view code) const {
    for (size_t i = 0; i < packs_.size(); ++i) {
      if (packs_[i].code == code) return i;
    }
    return std::nullopt;
  }

 private:
  Grammar() {
    for (std::string_view w :
         {"my",   "this", "our", "all",  "any", "the", "me",   "i",    "you",   "u",
          "and",  "to",   "of",  "a",    "is",  "it",  "in",   "that", "these", "those",
          "your", "no",   "not", "mi",   "la",  "el",  "de",   "mon",  "le",    "les",
          "des",  "mit",  "min", "mitt", "meg", "mig", "mich", "die",  "der"}) {
      everyday_.insert(Intern(w));
    }
    for (size_t p = 0; p < kNumPacks; ++p) packs_.push_back(CompilePack(p, kPacks[p]));
    // Every word a pack lists is known, so `%` (a word no pack knows) never matches one.
    for (const PackDef& def : kPacks) {
      for (const WordClassDef& c : def.classes) {
        for (std::string_view w : Split(c.words, '|')) CompilePhrase(w, c.name);
      }
    }
  }

  int32_t Intern(std::string_view key) {
    auto it = vocab_.find(key);
    if (it != vocab_.end()) return it->second;
    int32_t id = static_cast<int32_t>(trigger_packs_.size());
    vocab_.emplace(std::string(key), id);
    trigger_packs_.push_back(0);
    trigger_rules_.emplace_back();
    return id;
  }

  Phrase CompilePhrase(std::string_view text, std::string_view where) {
    std::string spaced(text);
    std::replace(spaced.begin(), spaced.end(), '_', ' ');
    std::string normalized = Normalize(spaced);
    TokenizedText t;
    Tokenize(normalized, &t);
    if (t.tokens.empty()) Die("empty word in pattern", where);
    Phrase p;
    for (const Token& tok : t.tokens) p.push_back(Intern(t.Key(tok)));
    return p;
  }

  void CompileAlternatives(std::string_view alts, const PackDef& def, std::string_view where,
                           Element* e) {
    for (std::string_view item : Split(alts, '|')) {
      if (item == "$") {
        e->allows_end = true;
      } else if (item[0] == '@') {
        const WordClassDef* cls = nullptr;
        for (const WordClassDef& c : def.classes) {
          if (c.name == item.substr(1)) cls = &c;
        }
        if (cls == nullptr) Die("unknown word class", item);
        for (std::string_view w : Split(cls->words, '|')) {
          e->phrases.push_back(CompilePhrase(w, where));
        }
      } else {
        e->phrases.push_back(CompilePhrase(item, where));
      }
    }
  }

  Pattern CompilePattern(std::string_view text, const PackDef& def, std::string_view where) {
    Pattern p;
    for (std::string_view part : Split(text, ' ')) {
      Element e;
      if (part == "^") {
        if (!p.elements.empty()) Die("^ must come first", where);
        e.type = Element::Type::kSentenceStart;
        p.anchored = true;
      } else if (part == "$") {
        e.type = Element::Type::kSentenceEnd;
      } else if (part == "%") {
        e.type = Element::Type::kNameLike;
      } else if (part[0] == '*') {
        e.type = Element::Type::kGap;
        e.gap = std::atoi(std::string(part.substr(1)).c_str());
        if (e.gap <= 0 || e.gap > 5) Die("gap must be *1 to *5", where);
      } else if (part.size() > 1 && part.back() == '+' && part.front() != '[') {
        e.repeats = true;
        CompileAlternatives(part.substr(0, part.size() - 1), def, where, &e);
        if (e.allows_end) Die("$ cannot repeat", where);
      } else if (part == "[%]") {
        e.type = Element::Type::kNameLike;
        e.optional = true;
      } else if (part.front() == '[') {
        if (part.back() != ']') Die("unbalanced [", where);
        e.optional = true;
        CompileAlternatives(part.substr(1, part.size() - 2), def, where, &e);
      } else {
        CompileAlternatives(part, def, where, &e);
      }
      p.elements.push_back(std::move(e));
    }
    for (Element& e : p.elements) {
      for (const Phrase& ph : e.phrases) e.first_words.push_back(ph.front());
      std::sort(e.first_words.begin(), e.first_words.end());
      e.first_words.erase(std::unique(e.first_words.begin(), e.first_words.end()),
                          e.first_words.end());
    }
    if (!p.elements.empty()) {
      const Element& first = p.elements.front();
      p.starts_with_word =
          first.type == Element::Type::kWords && !first.optional && !first.allows_end;
    }
    return p;
  }

  CompiledPack CompilePack(size_t index, const PackDef& def) {
    CompiledPack pack;
    pack.code = std::string(def.code);
    const std::pair<std::string_view, Intent> lists[] = {{def.opt_in, Intent::kOptIn},
                                                         {def.opt_out, Intent::kOptOut},
                                                         {def.opt_out_all, Intent::kOptOutAll},
                                                         {def.help, Intent::kHelp}};
    for (const auto& [list, intent] : lists) {
      for (std::string_view kw : Split(list, '|')) {
        std::string key = KeywordComparisonKey(kw);
        if (key.empty()) Die("empty pack keyword", def.code);
        pack.keywords.push_back({std::string(kw), std::move(key), intent});
      }
    }
    if (def.rules.size() > 64) Die("more than 64 rules in pack", def.code);
    for (size_t r = 0; r < def.rules.size(); ++r) {
      const RuleDef& rd = def.rules[r];
      CompiledRule rule{std::string(rd.id), std::string(rd.pattern), std::string(rd.example),
                        CompilePattern(rd.pattern, def, rd.id), std::string(rd.possible)};
      // The trigger element: a required word element (one that cannot match zero words), the
      // one with the fewest alternatives, preferring later ones on a tie (they tend to be the
      // rarer content words). A message without any of its first words skips the rule.
      // An element that can start with an everyday word ("my", "all") is a trigger only when
      // the rule has no other.
      const auto everyday = [&](const Element& e) {
        return std::any_of(e.phrases.begin(), e.phrases.end(),
                           [&](const Phrase& ph) { return everyday_.count(ph.front()) > 0; });
      };
      const Element* trigger = nullptr;
      for (const Element& e : rule.pattern.elements) {
        if (e.type != Element::Type::kWords || e.optional || e.allows_end) continue;
        if (trigger == nullptr || (everyday(*trigger) && !everyday(e)) ||
            (everyday(*trigger) == everyday(e) && e.phrases.size() <= trigger->phrases.size())) {
          trigger = &e;
        }
      }
      if (trigger == nullptr) Die("rule has no required word", rd.id);
      for (const Phrase& ph : trigger->phrases) {
        const size_t w = static_cast<size_t>(ph.front());
        trigger_packs_[w] |= static_cast<uint8_t>(1u << index);
        trigger_rules_[w][index] |= uint64_t{1} << r;
      }
      pack.rules.push_back(std::move(rule));
    }
    const auto compile_guards = [&](std::span<const GuardDef> defs,
                                    std::vector<CompiledGuard>* out) {
      for (const GuardDef& gd : defs) {
        CompiledGuard guard{std::string(gd.id),
                            CompilePattern(gd.pattern, def, gd.id),
                            {},
                            std::string(gd.possible)};
        if (!gd.only_before.empty()) {
          Element e;
          CompileAlternatives(gd.only_before, def, gd.id, &e);
          for (const Phrase& ph : e.phrases) guard.only_before.push_back(ph.front());
        }
        out->push_back(std::move(guard));
      }
    };
    compile_guards(def.guards, &pack.guards);
    compile_guards(def.mixed, &pack.mixed);
    compile_guards(def.elsewhere, &pack.elsewhere);
    // A mixed clause is only looked for when a word of its first required element occurs.
    if (pack.mixed.size() > 8) Die("more than 8 mixed clauses in pack", def.code);
    for (size_t mi = 0; mi < pack.mixed.size(); ++mi) {
      const CompiledGuard& m = pack.mixed[mi];
      const Element* first = nullptr;
      for (const Element& e : m.pattern.elements) {
        if (e.type == Element::Type::kWords && !e.optional && !e.allows_end) {
          first = &e;
          break;
        }
      }
      if (first == nullptr) Die("mixed clause has no required word", m.id);
      for (const Phrase& ph : first->phrases) {
        const size_t w = static_cast<size_t>(ph.front());
        if (mixed_triggers_.size() <= w) mixed_triggers_.resize(w + 1);
        mixed_triggers_[w][index] |= static_cast<uint8_t>(1u << mi);
      }
    }
    return pack;
  }

  StringMap<int32_t> vocab_;
  std::vector<uint8_t> trigger_packs_;                          // by word id
  std::vector<std::array<uint64_t, kNumPacks>> trigger_rules_;  // by word id, then pack
  std::unordered_set<int32_t> everyday_;                        // words too common to trigger
  std::vector<std::array<uint8_t, kNumPacks>> mixed_triggers_;  // by word id, then pack
  std::vector<CompiledPack> packs_;
};

struct Span {
  size_t begin;  // first token of the sentence
  size_t end;    // one past the last
};

// Whether a pattern that starts with a required word can start at this token.
inline bool StartsHere(const Pattern& p, const Token& t) {
  const std::vector<int32_t>& first = p.elements.front().first_words;
  return t.word >= 0 && std::binary_search(first.begin(), first.end(), t.word);
}

// Backtracking over a handful of elements. Every call moves to the next element, so the
// recursion is at most as deep as the pattern is long, and the work per start position is
// bounded by the pattern, not by the message.
bool MatchElements(const std::vector<Element>& els, size_t ei, size_t pos,
                   const std::vector<Token>& tokens, Span s, size_t required_end, size_t* end) {
  if (ei == els.size()) {
    if (required_end != std::string_view::npos && pos != required_end) return false;
    *end = pos;
    return true;
  }
  const Element& e = els[ei];
  switch (e.type) {
    case Element::Type::kSentenceStart:
      return pos == s.begin && MatchElements(els, ei + 1, pos, tokens, s, required_end, end);
    case Element::Type::kSentenceEnd:
      return pos == s.end && MatchElements(els, ei + 1, pos, tokens, s, required_end, end);
    case Element::Type::kGap:
      for (int k = 0; k <= e.gap && pos + static_cast<size_t>(k) <= s.end; ++k) {
        if (MatchElements(els, ei + 1, pos + static_cast<size_t>(k), tokens, s, required_end,
                          end)) {
          return true;
        }
      }
      return false;
    case Element::Type::kNameLike:
      if (pos < s.end && tokens[pos].name_like &&
          MatchElements(els, ei + 1, pos + 1, tokens, s, required_end, end)) {
        return true;
      }
      return e.optional && MatchElements(els, ei + 1, pos, tokens, s, required_end, end);
    case Element::Type::kWords:
      break;
  }
  auto phrase_at = [&](const Phrase& ph, size_t at) {
    if (at + ph.size() > s.end) return false;
    for (size_t k = 0; k < ph.size(); ++k) {
      if (tokens[at + k].word != ph[k]) return false;
    }
    return true;
  };
  if (e.repeats) {
    // Iterative and greedy (the longest matching phrase at each step, so "stop all" is one
    // repetition, not "stop" then a stray "all"): a body of ten thousand "stop"s costs a loop,
    // not ten thousand stack frames. Then back off one repetition at a time until the rest of
    // the pattern matches.
    std::vector<size_t> ends;
    for (size_t at = pos;;) {
      size_t longest = 0;
      for (const Phrase& ph : e.phrases) {
        if (ph.size() > longest && phrase_at(ph, at)) longest = ph.size();
      }
      if (longest == 0) break;
      at += longest;
      ends.push_back(at);
    }
    for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
      if (MatchElements(els, ei + 1, *it, tokens, s, required_end, end)) return true;
    }
    return false;
  }
  // Most positions hold none of the element's first words: one binary search rules them out.
  if (pos < s.end &&
      std::binary_search(e.first_words.begin(), e.first_words.end(), tokens[pos].word)) {
    for (const Phrase& ph : e.phrases) {
      if (phrase_at(ph, pos) &&
          MatchElements(els, ei + 1, pos + ph.size(), tokens, s, required_end, end)) {
        return true;
      }
    }
  }
  if (e.allows_end && pos == s.end &&
      MatchElements(els, ei + 1, pos, tokens, s, required_end, end)) {
    return true;
  }
  return e.optional && MatchElements(els, ei + 1, pos, tokens, s, required_end, end);
}

// The first of the pack's guards that matches words ending where the match starts, within the
// match's clause; nullptr when none does.
const CompiledGuard* Guarded(const CompiledPack& pack, const std::vector<Token>& tokens,
                             Span sentence, size_t match_start) {
  if (tokens[match_start].clause_start) return nullptr;
  constexpr size_t kMaxGuardWords = 8;
  for (const CompiledGuard& g : pack.guards) {
    if (!g.only_before.empty() && std::find(g.only_before.begin(), g.only_before.end(),
                                            tokens[match_start].word) == g.only_before.end()) {
      continue;
    }
    const Span window{sentence.begin, match_start};
    for (size_t gs = match_start; gs > sentence.begin && match_start - gs < kMaxGuardWords;) {
      --gs;
      size_t end = 0;
      if (MatchElements(g.pattern.elements, 0, gs, tokens, window, match_start, &end)) {
        return &g;
      }
      if (tokens[gs].clause_start) break;  // a guard never reaches into an earlier clause
    }
  }
  return nullptr;
}

struct FreeTextHit {
  size_t pack = 0;
  size_t rule = 0;
  size_t begin = 0;
  size_t end = 0;
  std::string_view possible;  // empty for a request; else the possible opt-out's reason
};

// The first request the pack's rules find (rules in order, then positions). A match that a
// guard turns into a possible opt-out, or of a possible-only rule, does not end the search: the
// first of those is kept in *possible in case no request turns up.
std::optional<FreeTextHit> FindRule(const Grammar& g, size_t pack_index, uint64_t rule_mask,
                                    const std::vector<Token>& tokens,
                                    std::optional<FreeTextHit>* possible) {
  const CompiledPack& pack = g.pack(pack_index);
  for (size_t r = 0; r < pack.rules.size(); ++r) {
    if (!(rule_mask & (uint64_t{1} << r))) continue;
    const CompiledRule& rule = pack.rules[r];
    const Pattern& p = rule.pattern;
    size_t sb = 0;
    while (sb < tokens.size()) {
      size_t se = sb + 1;
      while (se < tokens.size() && !tokens[se].sentence_start) ++se;
      const Span s{sb, se};
      const size_t last_start = p.anchored ? sb + 1 : se;
      for (size_t start = sb; start < last_start; ++start) {
        if (p.starts_with_word && !StartsHere(p, tokens[start])) continue;
        size_t end = 0;
        if (!MatchElements(p.elements, 0, start, tokens, s, std::string_view::npos, &end) ||
            end <= start) {
          continue;
        }
        const CompiledGuard* guard = Guarded(pack, tokens, s, start);
        if (guard != nullptr && guard->possible.empty()) continue;  // cancelled
        std::string_view reason = rule.possible;
        if (guard != nullptr) reason = guard->possible;
        if (reason.empty()) return FreeTextHit{pack_index, r, start, end, {}};
        if (!possible->has_value()) *possible = FreeTextHit{pack_index, r, start, end, reason};
      }
      sb = se;
    }
  }
  return std::nullopt;
}

// The first of `guards` (those whose bit is set in `which`) that matches anywhere in the
// message (any sentence, any position).
const CompiledGuard* FindAnywhere(const std::vector<CompiledGuard>& guards, uint8_t which,
                                  const std::vector<Token>& tokens) {
  for (size_t gi = 0; gi < guards.size(); ++gi) {
    if (!(which & (1u << gi))) continue;
    const CompiledGuard& g = guards[gi];
    size_t sb = 0;
    while (sb < tokens.size()) {
      size_t se = sb + 1;
      while (se < tokens.size() && !tokens[se].sentence_start) ++se;
      const Span s{sb, se};
      const size_t last_start = g.pattern.anchored ? sb + 1 : se;
      for (size_t start = sb; start < last_start; ++start) {
        if (g.pattern.starts_with_word && !StartsHere(g.pattern, tokens[start])) continue;
        size_t end = 0;
        if (MatchElements(g.pattern.elements, 0, start, tokens, s, std::string_view::npos, &end) &&
            end > start) {
          return &g;
        }
      }
      sb = se;
    }
  }
  return nullptr;
}

// The first of `guards` that matches starting right where a match ended (same sentence).
const CompiledGuard* FindAfter(const std::vector<CompiledGuard>& guards,
                               const std::vector<Token>& tokens, size_t at) {
  if (at >= tokens.size() || tokens[at].clause_start) return nullptr;
  size_t sb = at;
  while (sb > 0 && !tokens[sb].sentence_start) --sb;
  size_t se = at + 1;
  while (se < tokens.size() && !tokens[se].sentence_start) ++se;
  for (const CompiledGuard& g : guards) {
    size_t end = 0;
    if (MatchElements(g.pattern.elements, 0, at, tokens, Span{sb, se}, std::string_view::npos,
                      &end) &&
        end > at) {
      return &g;
    }
  }
  return nullptr;
}

// The sentence a possible opt-out's explanation gives for its reason ("en.possible.question").
std::string_view PossibleReasonText(std::string_view reason) {
  const size_t dot = reason.rfind('.');
  const std::string_view kind = dot == std::string_view::npos ? reason : reason.substr(dot + 1);
  if (kind == "question") return "a question about stopping";
  if (kind == "negated") return "a negated stop";
  if (kind == "conditional") return "a conditional stop";
  if (kind == "mixed") return "a mixed request (stop one kind of message, keep another)";
  if (kind == "other-channel") return "a request to stop something other than these texts";
  if (kind == "context") return "a stop word without a clear messaging context";
  return "unclear";
}

// ---------------------------------------------------------------------------------------------
// 4. Reactions
// ---------------------------------------------------------------------------------------------
//
// iMessage sends a tapback to a non-Apple phone as text ("Loved “Reply STOP to end”"), and RCS
// fallbacks do the same ("Reacted 👍 to “…”"). They quote our own message, keyword included,
// and are never a request.

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != prefix[i]) return false;
  }
  return true;
}

constexpr std::string_view kQuotes[] = {"\"",     "'",      "\u201C", "\u201D", "\u201E",
                                        "\u2018", "\u2019", "\u00AB", "\u00BB", "\u2039",
                                        "\u203A", "\u300C", "\u300D", "\uFF02"};

// Length of the opening quotation mark at the start of s, or 0.
size_t QuoteLength(std::string_view s) {
  for (std::string_view q : kQuotes) {
    if (s.substr(0, q.size()) == q) return q.size();
  }
  return 0;
}

bool EndsWithQuote(std::string_view s) {
  for (std::string_view q : kQuotes) {
    if (s.size() >= q.size() && s.substr(s.size() - q.size()) == q) return true;
  }
  return false;
}

std::string_view SkipSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::optional<std::string> DetectReaction(std::string_view body) {
  // Leading white space and a byte-order mark.
  while (!body.empty()) {
    if (static_cast<unsigned char>(body.front()) <= 0x20) {
      body.remove_prefix(1);
    } else if (body.substr(0, 3) == "\xEF\xBB\xBF") {
      body.remove_prefix(3);
    } else {
      break;
    }
  }
  while (!body.empty() && static_cast<unsigned char>(body.back()) <= 0x20) body.remove_suffix(1);
  if (body.empty()) return std::nullopt;
  switch (AsciiLower(body.front())) {
    case 'l':
    case 'e':
    case 'd':
    case 'q':
    case 'r':
      break;
    default:
      return std::nullopt;  // the fast exit for nearly every message
  }
  struct Verb {
    std::string_view prefix;  // lower case, with the following space
    std::string_view name;
  };
  static constexpr Verb kVerbs[] = {
      {"loved ", "Loved"},           {"liked ", "Liked"},           {"disliked ", "Disliked"},
      {"laughed at ", "Laughed at"}, {"emphasized ", "Emphasized"}, {"emphasised ", "Emphasised"},
      {"questioned ", "Questioned"}, {"reacted ", "Reacted"},       {"removed ", "Removed"},
  };
  // A reaction is the whole message: the quote runs to the end ('Loved "…", stop texting me'
  // is a person writing, not a tapback).
  const bool quoted_to_end = EndsWithQuote(body);
  for (const Verb& v : kVerbs) {
    if (!StartsWithIgnoreCase(body, v.prefix)) continue;
    std::string_view rest = SkipSpaces(body.substr(v.prefix.size()));
    if (v.name == "Reacted" || v.name == "Removed") {
      // "Reacted 👍 to “…”", "Reacted with 😂 to “…”", "Removed a heart from “…”": the words
      // between are short, then "to"/"from" and the quote.
      const std::string_view link = v.name == "Reacted" ? " to " : " from ";
      const size_t at = rest.substr(0, 64).find(link);
      if (at == std::string_view::npos) return std::nullopt;
      rest = SkipSpaces(rest.substr(at + link.size()));
      if (quoted_to_end && QuoteLength(rest) > 0) return std::string(v.name);
      return std::nullopt;
    }
    if (quoted_to_end && QuoteLength(rest) > 0) return std::string(v.name);
    // "Liked an image" and friends: a reaction to an attachment, with nothing quoted.
    static constexpr std::string_view kMedia[] = {"an image", "a photo",         "a video",
                                                  "a movie",  "an attachment",   "a sticker",
                                                  "a gif",    "an audio message"};
    for (std::string_view m : kMedia) {
      if (rest.size() == m.size() && StartsWithIgnoreCase(rest, m)) return std::string(v.name);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// 4b. The reply itself, and variants of a keyword
// ---------------------------------------------------------------------------------------------

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

bool ContainsAny(std::string_view lower, std::initializer_list<std::string_view> needles) {
  for (std::string_view n : needles) {
    if (lower.find(n) != std::string_view::npos) return true;
  }
  return false;
}

bool StartsWithAny(std::string_view lower, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (lower.substr(0, p.size()) == p) return true;
  }
  return false;
}

// A line where an earlier, quoted message begins: "> ...", "-----Original Message-----",
// "On Mon, ... ACME wrote:", "Le lun. ... a écrit :", "Am ... schrieb ...:", a mail header.
bool IsQuoteStart(std::string_view line, bool first) {
  const std::string lower = LowerAscii(line);
  if (lower.empty()) return false;
  if (lower[0] == '>') return true;
  if (StartsWithAny(lower, {"-----", "_____", "—————"})) return true;
  if (ContainsAny(lower, {"original message", "original-nachricht", "message d'origine",
                          "mensaje original", "ursprungligt meddelande", "opprinnelig melding",
                          "oprindelig meddelelse", "forwarded message"})) {
    return true;
  }
  if (!first && StartsWithAny(lower, {"from:", "de :", "de:", "von:", "fra:", "från:", "sent:",
                                      "envoyé :", "enviado:", "gesendet:"})) {
    return true;
  }
  if (lower.back() == ':' &&
      ContainsAny(lower, {"wrote", "crit", "escribi", "schrieb", "skrev", "geschrieben"})) {
    return true;
  }
  return false;
}

// A line that an app or carrier adds: "Sent from my iPhone", "Envoyé de mon iPhone"...
bool IsAppLine(std::string_view line) {
  // "(Sent from Messages on Mac) STOP": a bracket is dropped by itself, not with its line.
  if (!line.empty() && (line.front() == '[' || line.front() == '(')) return false;
  const std::string lower = LowerAscii(line);
  std::string_view l = lower;
  while (!l.empty() && (l.front() == '[' || l.front() == '(' || l.front() == '-' ||
                        l.front() == '~' || l.front() == ' ')) {
    l.remove_prefix(1);
  }
  return StartsWithAny(l, {"sent from",
                           "sent via",
                           "sent with",
                           "sent using",
                           "sent by",
                           "get outlook",
                           "enviado desde",
                           "enviado con",
                           "envoy\xC3\xA9 de",
                           "envoy\xC3\xA9 depuis",
                           "envoye de",
                           "envoye depuis",
                           "sendt fra",
                           "skickat fr\xC3\xA5n",
                           "skickat fran",
                           "von meinem",
                           "gesendet von",
                           "gesendet mit",
                           "this message was sent",
                           "message sent via",
                           "text message sent",
                           "sms sent"});
}

// Drops "[Sent via Google Voice]"-like brackets from a line.
std::string DropAppBrackets(std::string_view line, bool* changed) {
  std::string out;
  size_t i = 0;
  while (i < line.size()) {
    const char open = line[i];
    if (open == '[' || open == '(') {
      const char close = open == '[' ? ']' : ')';
      const size_t end = line.find(close, i + 1);
      if (end != std::string_view::npos) {
        const std::string inner = LowerAscii(line.substr(i + 1, end - i - 1));
        if (ContainsAny(inner, {"sent", "via ", "envoy", "enviado", "gesendet", "sendt", "auto",
                                "skickat", "textra", "google voice", "mobile"})) {
          *changed = true;
          i = end + 1;
          continue;
        }
      }
    }
    out.push_back(line[i++]);
  }
  return out;
}

// "Reply from +15551234567: STOP", "SMS from 72345: stop", "Re: STOP": the part before the
// colon is a label an app or gateway added.
std::string_view DropLabel(std::string_view line, bool* changed) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon > 48) return line;
  const std::string lower = LowerAscii(TrimSpaces(line.substr(0, colon)));
  static constexpr std::string_view kLabels[] = {
      "reply from",   "sms from",    "message from", "msg from",       "text from",
      "text message", "new message", "frm",          "from",           "msg",
      "re",           "fwd",         "fw",           "subject",        "sms",
      "txt",          "reply",       "respuesta",    "r\xC3\xA9ponse", "reponse",
      "antwort",      "svar",        "nachricht",    "mensaje"};
  for (std::string_view l : kLabels) {
    if (lower.substr(0, l.size()) != l) continue;
    // The label is the whole prefix, or the label and a number or name ("SMS from ACME").
    if (lower.size() == l.size() ||
        (lower.size() > l.size() && lower[l.size()] == ' ' &&
         (l.find(' ') != std::string_view::npos || l == "from" || l == "frm"))) {
      *changed = true;
      return line.substr(colon + 1);
    }
  }
  return line;
}

// The reply without a quoted earlier message and without what an app or carrier added. Returns
// false (and leaves *out alone) when there is nothing to remove, or nothing would be left.
bool ReplyCore(std::string_view body, std::string* out) {
  if (std::none_of(body.begin(), body.end(),
                   [](char c) { return c == '\n' || c == '[' || c == '(' || c == ':'; })) {
    return false;
  }
  bool changed = false;
  std::string core;
  bool first = true;
  size_t b = 0;
  while (b <= body.size()) {
    size_t e = body.find('\n', b);
    if (e == std::string_view::npos) e = body.size();
    std::string_view line = TrimSpaces(body.substr(b, e - b));
    b = e + 1;
    if (line.empty()) continue;
    if (IsQuoteStart(line, first) || line == "--" || line == "-- ") {
      changed = true;
      break;
    }
    if (IsAppLine(line)) {
      changed = true;
      continue;
    }
    std::string kept = DropAppBrackets(line, &changed);
    std::string_view rest = kept;
    if (first) rest = DropLabel(rest, &changed);
    if (!core.empty()) core.push_back('\n');
    core.append(rest);
    first = false;
  }
  if (!changed) return false;
  bool any_word = false;
  for (char c : core) any_word |= IsAsciiAlnum(static_cast<unsigned char>(c)) || (c & 0x80);
  if (!any_word) return false;
  *out = std::move(core);
  return true;
}

// Only stop sign emoji (🛑), maybe with other symbols and spaces: a message with no words.
bool IsStopSignOnly(std::string_view body) {
  return body.find("\xF0\x9F\x9B\x91") != std::string_view::npos;  // U+1F6D1
}

// Runs of one letter repeated: "stooop" -> "stop", "arrett" -> "aret".
std::string CollapseRuns(std::string_view s, size_t keep) {
  std::string out;
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    run = (i > 0 && s[i] == s[i - 1]) ? run + 1 : 1;
    if (run <= keep) out.push_back(s[i]);
  }
  return out;
}

bool HasRunOfThree(std::string_view s) {
  for (size_t i = 2; i < s.size(); ++i) {
    if (s[i] == s[i - 1] && s[i] == s[i - 2] && (static_cast<unsigned char>(s[i]) < 0x80)) {
      return true;
    }
  }
  return false;
}

// Letters that sound alike and are often typed for each other ("vaja", "canselar").
constexpr bool SoundAlike(char a, char b) {
  switch (a) {
    case 'b':
      return b == 'v';
    case 'v':
      return b == 'b';
    case 's':
      return b == 'c' || b == 'z';
    case 'c':
      return b == 's' || b == 'k';
    case 'z':
      return b == 's';
    case 'k':
      return b == 'c';
    case 'y':
      return b == 'i';
    case 'i':
      return b == 'y';
    default:
      return false;
  }
}

// Neighbouring keys on a QWERTY keyboard, in the same row ("stoo" for "stop").
bool KeyNeighbours(char a, char b) {
  constexpr std::string_view kRows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
  for (std::string_view row : kRows) {
    const size_t i = row.find(a);
    if (i == std::string_view::npos) continue;
    return (i > 0 && row[i - 1] == b) || (i + 1 < row.size() && row[i + 1] == b);
  }
  return false;
}

// Optimal string alignment distance (adjacent swaps count as one edit), for short words.
size_t SlipDistance(std::string_view a, std::string_view b) {
  constexpr size_t kMax = 32;
  if (a.size() >= kMax || b.size() >= kMax) return kMax;
  size_t d[kMax][kMax];
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// A typing slip away from keyword k: two neighbouring letters swapped (any length), a letter
// too many (keywords of four letters or more), one missing (five or more, or a four-letter
// keyword keeping its first and last letter: "stp"), one wrong (six or more, or a sound-alike
// letter: "vaja"); two slips for keywords of seven letters or more. The first letter must be
// right, unless it is part of a swap or a sound-alike.
bool OneSlipApart(std::string_view w, std::string_view k) {
  const size_t n = k.size();
  if (w == k) return true;
  if (n < 4 || w.size() < 3) return false;
  if (w.size() == n) {
    size_t i = 0;
    while (i < n && w[i] == k[i]) ++i;
    if (i + 1 < n && w[i] == k[i + 1] && w[i + 1] == k[i] && w.substr(i + 2) == k.substr(i + 2)) {
      return true;
    }
    if (w.substr(i + 1) == k.substr(i + 1) &&
        (SoundAlike(w[i], k[i]) || (i > 0 && (n >= 6 || KeyNeighbours(w[i], k[i]))))) {
      return true;
    }
  }
  if (w[0] != k[0]) return false;
  if (n >= 7) return w.size() + 2 >= n && w.size() <= n + 2 && SlipDistance(w, k) <= 2;
  const std::string_view longer = w.size() > n ? w : k;
  const std::string_view shorter = w.size() > n ? k : w;
  if (longer.size() != shorter.size() + 1) return false;
  if (w.size() < n && n < 5 && w.back() != k.back()) return false;
  size_t i = 0;
  while (i < shorter.size() && longer[i] == shorter[i]) ++i;
  return longer.substr(i + 1) == shorter.substr(i);
}

// Real words one slip away from a keyword, which must stay themselves.
bool IsRealWordNearKeyword(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      "quite", "quiet", "quilt", "cancer", "alot",  "arrest", "arete",  "bajar",
      "altos", "stoep", "stoa",  "parer",  "paris", "ended",  "stoops", "sloop",
      "stomp", "strop", "stoup", "slop",   "atop",  "bajo"};
  for (std::string_view k : kWords) {
    if (w == k) return true;
  }
  return false;
}

bool IsSingleLetter(std::string_view key) {
  if (key.empty()) return false;
  size_t i = 0;
  const UChar32 c = NextCodePoint(key, &i);
  return i == key.size() && u_isalpha(c);
}

// ---------------------------------------------------------------------------------------------
// 5. KeywordMatcher
// ---------------------------------------------------------------------------------------------

std::optional<std::string> CanonicalLanguage(std::string_view lang) {
  std::string code;
  for (char c : lang) {
    if (c == '-' || c == '_') break;  // "en-US", "nb_NO": the primary subtag decides
    code.push_back(AsciiLower(c));
  }
  if (code == "no") code = "nb";
  for (const PackDef& p : kPacks) {
    if (p.code == code) return code;
  }
  return std::nullopt;
}

// How strongly an intent stops messages; the higher one wins a conflict between packs.
int StopRank(Intent i) {
  switch (i) {
    case Intent::kOptOutAll:
      return 4;
    case Intent::kOptOut:
      return 3;
    case Intent::kHelp:
      return 2;
    case Intent::kOptIn:
      return 1;
    case Intent::kNone:
      return 0;
  }
  return 0;
}

bool IsOptOut(Intent i) { return i == Intent::kOptOut || i == Intent::kOptOutAll; }

struct KeywordEntry {
  Intent intent = Intent::kNone;
  std::string keyword;   // as configured
  std::string language;  // pack code or "custom"
};

}  // namespace

// A one-word opt-out keyword, for recognising it misspelled.
struct FuzzyKeyword {
  std::string collapsed;  // runs of a letter collapsed: "stopp" -> "stop"
  std::string key;
};

struct KeywordMatcher::Impl {
  KeywordConfig config;
  std::vector<size_t> packs;  // grammar pack indices, in the number's language order
  uint8_t pack_mask = 0;
  StringMap<KeywordEntry> keywords;
  size_t max_keyword_words = 0;
  std::vector<FuzzyKeyword> fuzzy;      // the packs' opt-out keywords (spaces removed)
  std::vector<std::string> keep;        // the packs' other one-word keywords, collapsed
  std::array<bool, 256> fuzzy_start{};  // first bytes a slip of a fuzzy keyword can start with
  size_t fuzzy_min = SIZE_MAX;          // shortest and longest collapsed fuzzy keyword
  size_t fuzzy_max = 0;

  // Whether a word could be a slip of one of the fuzzy keywords (cheap; no allocation): about
  // the right length, and starting like one (or with its first two letters swapped).
  bool MayBeFuzzy(std::string_view w) const {
    if (w.size() < 3 || w.size() + 2 < fuzzy_min || w.size() > fuzzy_max + 3 ||
        !fuzzy_start[static_cast<unsigned char>(w[0])]) {
      return false;
    }
    for (const FuzzyKeyword& f : fuzzy) {
      if (CouldSlip(w, f.collapsed)) return true;
    }
    return false;
  }
  static bool CouldSlip(std::string_view w, std::string_view k) {
    return w.size() >= 3 && w.size() + 2 >= k.size() && w.size() <= k.size() + 3 &&
           (w[0] == k[0] || SoundAlike(w[0], k[0]) || (w[0] == k[1] && w[1] == k[0]));
  }

  // The whole text is a keyword (with opt_out_only, an opt-out keyword).
  bool MatchExact(const TokenizedText& text, bool opt_out_only, KeywordMatch* m) const;
  // A free-text request; a possible opt-out found on the way is kept in *possible.
  bool MatchGrammar(TokenizedText* text, std::optional<FreeTextHit>* possible,
                    KeywordMatch* m) const;
  // The text with letters spelled out joined, stretched letters shortened and a mistyped
  // keyword corrected; false when there is nothing to correct.
  bool CorrectVariant(const TokenizedText& text, std::string* corrected, std::string* what) const;
};

KeywordMatcher::KeywordMatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeywordMatcher::~KeywordMatcher() = default;

const KeywordConfig& KeywordMatcher::config() const { return impl_->config; }

Result<std::shared_ptr<const KeywordMatcher>> KeywordMatcher::Create(const KeywordConfig& config) {
  const Grammar& g = Grammar::Get();
  auto impl = std::make_unique<Impl>();
  impl->config = config;

  for (const std::string& lang : config.languages) {
    std::optional<std::string> code = CanonicalLanguage(lang);
    if (!code) {
      return InvalidArgument("unknown keyword language \"" + lang +
                             "\"; supported: da, de, en, es, fr, nb (or no), sv");
    }
    const size_t index = *g.PackIndex(*code);
    if (impl->pack_mask & (1u << index)) continue;
    impl->pack_mask |= static_cast<uint8_t>(1u << index);
    impl->packs.push_back(index);
  }

  // The number's own lists first, on their own: one word, one intent.
  struct Custom {
    std::string key;
    const std::string* keyword;
    Intent intent;
  };
  std::vector<Custom> custom;
  StringMap<std::pair<Intent, const std::string*>> seen;
  const std::pair<const std::vector<std::string>*, Intent> lists[] = {
      {&config.opt_in, Intent::kOptIn},
      {&config.opt_out, Intent::kOptOut},
      {&config.opt_out_all, Intent::kOptOutAll},
      {&config.help, Intent::kHelp}};
  for (const auto& [list, intent] : lists) {
    for (const std::string& kw : *list) {
      std::string key = KeywordComparisonKey(kw);
      if (key.empty()) {
        return InvalidArgument("keyword \"" + kw + "\" (" + IntentName(intent) +
                               ") is empty after normalisation");
      }
      auto [it, inserted] = seen.try_emplace(key, intent, &kw);
      if (!inserted && it->second.first != intent) {
        return InvalidArgument("keyword \"" + kw + "\" is configured as " + IntentName(intent) +
                               " and \"" + *it->second.second + "\" as " +
                               IntentName(it->second.first) + "; they are the same keyword");
      }
      if (inserted) custom.push_back({std::move(key), &kw, intent});
    }
  }

  // Pack keywords: the first language to list a word names it; when packs disagree on a word,
  // the intent that stops more wins.
  if (!config.replace_default_keywords) {
    for (size_t index : impl->packs) {
      const CompiledPack& pack = g.pack(index);
      for (const PackKeyword& kw : pack.keywords) {
        auto [it, inserted] = impl->keywords.try_emplace(kw.key);
        if (inserted || StopRank(kw.intent) > StopRank(it->second.intent)) {
          it->second = KeywordEntry{kw.intent, kw.keyword, pack.code};
        }
      }
    }
  }
  // The number's own keywords override the packs, except that they cannot turn a pack's
  // opt-out word into something that keeps texting.
  for (const Custom& c : custom) {
    auto [it, inserted] = impl->keywords.try_emplace(c.key);
    if (!inserted && IsOptOut(it->second.intent) && !IsOptOut(c.intent)) continue;
    it->second = KeywordEntry{c.intent, *c.keyword, "custom"};
  }
  for (const auto& [key, entry] : impl->keywords) {
    impl->max_keyword_words = std::max(
        impl->max_keyword_words, static_cast<size_t>(std::count(key.begin(), key.end(), ' ')) + 1);
  }
  for (size_t index : impl->packs) {
    for (const PackKeyword& kw : g.pack(index).keywords) {
      std::string joined = kw.key;
      std::erase(joined, ' ');
      if (IsOptOut(kw.intent)) {
        FuzzyKeyword f{CollapseRuns(joined, 1), kw.key};
        if (f.collapsed.size() < 4) continue;  // "end": too short to tell a slip from a word
        for (int c = 0; c < 256; ++c) {
          if (c == static_cast<unsigned char>(f.collapsed[0]) ||
              SoundAlike(static_cast<char>(c), f.collapsed[0])) {
            impl->fuzzy_start[static_cast<size_t>(c)] = true;
          }
        }
        if (f.collapsed.size() > 1) {
          impl->fuzzy_start[static_cast<unsigned char>(f.collapsed[1])] = true;
        }
        impl->fuzzy_min = std::min(impl->fuzzy_min, f.collapsed.size());
        impl->fuzzy_max = std::max(impl->fuzzy_max, f.collapsed.size());
        impl->fuzzy.push_back(std::move(f));
      } else if (kw.key.find(' ') == std::string::npos) {
        impl->keep.push_back(CollapseRuns(kw.key, 1));
      }
    }
  }
  return std::shared_ptr<const KeywordMatcher>(new KeywordMatcher(std::move(impl)));
}

KeywordMatch KeywordMatcher::Match(std::string_view body) const {
  KeywordMatch m;
  if (std::optional<std::string> verb = DetectReaction(body)) {
    m.kind = MatchKind::kIgnoredReaction;
    m.normalized = Normalize(body);
    m.explanation = "reaction \"" + *verb + "\" quoting an earlier message; ignored";
    m.rule = std::move(*verb);
    return m;
  }
  m.normalized = Normalize(body);
  // The reply itself, without a quoted earlier message or text an app or carrier added
  // ("Sent from my iPhone"). Only when something was removed is it normalised again.
  std::string core_body;
  std::string core_normalized;
  const bool trimmed = ReplyCore(body, &core_body);
  if (trimmed) core_normalized = Normalize(core_body);
  const std::string& analysed = trimmed ? core_normalized : m.normalized;
  const char* trimmed_note = trimmed ? " (quoted or app-inserted text ignored)" : "";

  TokenizedText text;
  text.tokens.reserve(16);
  if (trimmed) {
    // A message that is a keyword as it stands is that keyword, whatever looks like a label or
    // an app's line inside it: a number's own keyword ("sms: stop") always matches itself.
    Tokenize(m.normalized, &text);
    if (impl_->MatchExact(text, /*opt_out_only=*/false, &m)) {
      m.matched = m.normalized;
      return m;
    }
    text = TokenizedText{};
  }
  Tokenize(analysed, &text);
  if (impl_->MatchExact(text, /*opt_out_only=*/false, &m)) {
    m.matched = analysed;
    m.explanation += trimmed_note;
    return m;
  }
  if (!impl_->config.free_text || impl_->pack_mask == 0) {
    m.explanation = impl_->config.free_text
                        ? "no keyword or free-text opt-out request recognised"
                        : "no keyword recognised (free-text recognition is off)";
    return m;
  }
  std::optional<FreeTextHit> possible;
  if (!text.tokens.empty() && impl_->MatchGrammar(&text, &possible, &m)) {
    m.explanation += trimmed_note;
    return m;
  }
  // Variants of a keyword or request: letters spelled out ("S T O P"), stretched ("stooop") or
  // mistyped ("stpo", "unsubscibe"). Only an opt-out can come of them.
  std::string corrected;
  std::string what;
  if (!text.tokens.empty() && impl_->CorrectVariant(text, &corrected, &what)) {
    TokenizedText fixed;
    Tokenize(corrected, &fixed);
    KeywordMatch v;
    std::optional<FreeTextHit> ignored;
    const bool exact = impl_->MatchExact(fixed, /*opt_out_only=*/true, &v);
    // A corrected text is not also guessed to carry a name ("stopp vid macken").
    if (exact || (impl_->MatchGrammar(&fixed, &ignored, &v) && !v.rule.ends_with(".stop-name"))) {
      m.intent = Intent::kOptOut;
      m.kind = MatchKind::kFreeText;
      m.language = v.language == "custom" && !impl_->packs.empty()
                       ? std::string(Grammar::Get().pack(impl_->packs.front()).code)
                       : v.language;
      m.rule = exact ? m.language + ".keyword-variant" : v.rule;
      m.matched = analysed;
      m.explanation = (exact ? "keyword \"" + v.rule + "\"" : "free-text rule " + v.rule) + " " +
                      what + " (\"" + analysed + "\")" + trimmed_note;
      return m;
    }
  }
  if (text.tokens.empty() && IsStopSignOnly(trimmed ? std::string_view(core_body) : body)) {
    m.intent = Intent::kOptOut;
    m.kind = MatchKind::kFreeText;
    m.rule = "stop-sign-emoji";
    m.matched = trimmed ? core_body : std::string(body);
    m.explanation = "a stop sign emoji (\U0001F6D1) on its own" + std::string(trimmed_note);
    return m;
  }
  if (possible) {
    const std::vector<Token>& tokens = text.tokens;
    const Grammar& g = Grammar::Get();
    m.kind = MatchKind::kPossibleOptOut;
    m.rule = std::string(possible->possible);
    m.language = g.pack(possible->pack).code;
    m.matched = analysed.substr(tokens[possible->begin].begin,
                                tokens[possible->end - 1].end - tokens[possible->begin].begin);
    m.explanation = "possibly an opt-out: " + std::string(PossibleReasonText(possible->possible)) +
                    " (\"" + analysed + "\")";
    return m;
  }
  m.explanation = "no keyword or free-text opt-out request recognised";
  return m;
}

bool KeywordMatcher::Impl::MatchExact(const TokenizedText& text, bool opt_out_only,
                                      KeywordMatch* m) const {
  const std::vector<Token>& tokens = text.tokens;
  if (tokens.empty() || tokens.size() > max_keyword_words) return false;
  std::string joined;
  std::string_view key = text.Key(tokens[0]);
  if (tokens.size() > 1) key = joined = JoinKeys(text);
  auto it = keywords.find(key);
  if (it == keywords.end()) return false;
  const KeywordEntry& e = it->second;
  if (opt_out_only && !IsOptOut(e.intent)) return false;
  m->intent = e.intent;
  m->kind = MatchKind::kExactKeyword;
  m->rule = e.keyword;
  m->language = e.language;
  m->explanation = "exact keyword \"" + e.keyword + "\" (" + e.language + ")";
  return true;
}

bool KeywordMatcher::Impl::MatchGrammar(TokenizedText* text, std::optional<FreeTextHit>* possible,
                                        KeywordMatch* m) const {
  const Grammar& g = Grammar::Get();
  std::array<uint64_t, kNumPacks> rules{};
  uint8_t seen = 0;
  for (Token& t : text->tokens) {
    const std::string_view key = text->Key(t);
    t.word = g.Lookup(key);
    // A number ("STOP 2") or a word no pack knows ("STOP ACME"), but not a verb form.
    t.name_like = std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (t.word < 0) {
      t.name_like |= key.size() >= 2 && !(key.size() > 4 && key.substr(key.size() - 3) == "ing");
      continue;
    }
    const uint8_t hit = g.TriggerPacks(t.word) & pack_mask;
    if (hit == 0) continue;
    seen |= hit;
    for (size_t p = 0; p < kNumPacks; ++p) {
      if (hit & (1u << p)) rules[p] |= g.TriggerRules(t.word, p);
    }
  }
  if (seen == 0) return false;
  const std::vector<Token>& tokens = text->tokens;
  std::optional<FreeTextHit> hit;
  for (size_t p : packs) {
    if (!(seen & (1u << p))) continue;
    hit = FindRule(g, p, rules[p], tokens, possible);
    if (hit) break;
  }
  if (!hit) return false;
  // A request that keeps another kind of message ("... but keep the reminders"), or that is
  // about something other than these texts ("unsubscribe me from emails"), is not clear enough
  // to act on.
  const CompiledGuard* mixed = nullptr;
  for (size_t p : packs) {
    uint8_t clauses = 0;
    for (const Token& t : tokens) {
      if (t.word >= 0) clauses |= g.MixedTriggers(t.word, p);
    }
    if (clauses != 0 && (mixed = FindAnywhere(g.pack(p).mixed, clauses, tokens)) != nullptr) {
      break;
    }
  }
  const CompiledGuard* elsewhere = FindAfter(g.pack(hit->pack).elsewhere, tokens, hit->end);
  if (elsewhere != nullptr && (mixed != nullptr || elsewhere->possible.empty())) {
    possible->reset();  // "opt me out of paper mail, texts are fine": not about these texts
    return false;
  }
  if (elsewhere != nullptr || mixed != nullptr) {
    hit->possible = elsewhere != nullptr ? elsewhere->possible : mixed->possible;
    *possible = hit;
    return false;
  }
  const CompiledRule& rule = g.pack(hit->pack).rules[hit->rule];
  m->intent = Intent::kOptOut;
  m->kind = MatchKind::kFreeText;
  m->rule = rule.id;
  m->language = g.pack(hit->pack).code;
  m->matched = std::string(text->text.substr(tokens[hit->begin].begin,
                                             tokens[hit->end - 1].end - tokens[hit->begin].begin));
  m->explanation = "free-text rule " + rule.id + " matched \"" + m->matched + "\"";
  return true;
}

bool KeywordMatcher::Impl::CorrectVariant(const TokenizedText& text, std::string* corrected,
                                          std::string* what) const {
  const std::vector<Token>& tokens = text.tokens;
  // Most messages have nothing to correct: find out without allocating.
  {
    const bool short_text = tokens.size() <= 4;
    bool worth = false;
    size_t letters = 0;
    size_t joined = 0;
    for (const Token& t : tokens) {
      const std::string_view key = text.Key(t);
      letters = IsSingleLetter(key) ? letters + 1 : 0;
      joined += key.size();
      if (letters >= 3 || HasRunOfThree(key) || (short_text && MayBeFuzzy(key))) {
        worth = true;
        break;
      }
    }
    if (!worth && short_text && tokens.size() > 1)
      worth = MayBeFuzzy(std::string_view(text.text.data() + tokens[0].begin,
                                          std::min<size_t>(joined, fuzzy_max + 1)));
    if (!worth) return false;
  }
  std::vector<std::string> words;
  std::vector<bool> sentence_start;
  words.reserve(tokens.size());
  bool changed = false;
  for (size_t i = 0; i < tokens.size();) {
    size_t j = i;
    while (j < tokens.size() && IsSingleLetter(text.Key(tokens[j]))) ++j;
    sentence_start.push_back(tokens[i].sentence_start);
    if (j - i >= 3) {  // "S T O P", "s-t-o-p", "S.T.O.P."
      std::string w;
      for (size_t k = i; k < j; ++k) w += text.Key(tokens[k]);
      words.push_back(std::move(w));
      changed = true;
      *what = "spelled out";
      i = j;
      continue;
    }
    words.emplace_back(text.Key(tokens[i]));
    ++i;
  }
  const Grammar& g = Grammar::Get();
  const auto known = [&](const std::string& w) {
    return g.Lookup(w) >= 0 || keywords.find(w) != keywords.end();
  };
  const bool short_message = words.size() <= 4;
  // A keyword split by a stray space ("stop p", "meld a v").
  if (short_message && words.size() > 1) {
    std::string all;
    for (const std::string& w : words) all += w;
    const auto it = keywords.find(all);
    if (it != keywords.end() && IsOptOut(it->second.intent)) {
      words.assign(1, all);
      sentence_start.assign(1, true);
      changed = true;
      *what = "split by a space";
    } else if (it == keywords.end()) {
      const std::string collapsed = CollapseRuns(all, 1);
      for (const FuzzyKeyword& f : fuzzy) {
        if (collapsed == f.collapsed) {
          words.assign(1, f.key);
          sentence_start.assign(1, true);
          changed = true;
          *what = "split by a space";
          break;
        }
      }
    }
  }
  for (std::string& w : words) {
    if (HasRunOfThree(w)) {  // "stooop", "pleeease"
      std::string two = CollapseRuns(w, 2);
      w = known(two) ? std::move(two) : CollapseRuns(w, 1);
      changed = true;
      *what = "with stretched letters";
    }
    if (!short_message || keywords.find(w) != keywords.end() || IsRealWordNearKeyword(w)) {
      continue;
    }
    if (!MayBeFuzzy(w)) continue;
    const std::string collapsed = CollapseRuns(w, 1);
    // Not when the word is closer to a keyword that keeps texts coming ("anmelde"); on a tie
    // the opt-out wins, as it does between packs.
    const auto closer_to_keep = [&](const std::string& k) {
      const size_t d = SlipDistance(collapsed, k);
      return std::any_of(keep.begin(), keep.end(),
                         [&](const std::string& o) { return SlipDistance(collapsed, o) < d; });
    };
    for (const FuzzyKeyword& f : fuzzy) {
      // Doubled letters are compared collapsed ("stopp"), and as typed ("stoo" for "stop").
      if (!CouldSlip(w, f.collapsed) && !CouldSlip(collapsed, f.collapsed)) continue;
      if (collapsed == f.collapsed ||
          ((OneSlipApart(collapsed, f.collapsed) || (w != collapsed && OneSlipApart(w, f.key))) &&
           !closer_to_keep(f.collapsed))) {
        if (w != f.key) {
          w = f.key;
          changed = true;
          *what = "misspelled";
        }
        break;
      }
    }
  }
  if (!changed) return false;
  corrected->clear();
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) corrected->append(sentence_start[i] ? ". " : " ");
    corrected->append(words[i]);
  }
  return true;
}

const char* IntentName(Intent i) {
  switch (i) {
    case Intent::kNone:
      return "none";
    case Intent::kOptIn:
      return "opt_in";
    case Intent::kOptOut:
      return "opt_out";
    case Intent::kOptOutAll:
      return "opt_out_all";
    case Intent::kHelp:
      return "help";
  }
  return "none";
}

Result<Intent> ParseIntent(std::string_view s) {
  for (Intent i :
       {Intent::kNone, Intent::kOptIn, Intent::kOptOut, Intent::kOptOutAll, Intent::kHelp}) {
    if (s == IntentName(i)) return i;
  }
  return InvalidArgument("unknown intent \"" + std::string(s) +
                         "\"; expected none, opt_in, opt_out, opt_out_all or help");
}

const char* MatchKindName(MatchKind k) {
  switch (k) {
    case MatchKind::kNone:
      return "none";
    case MatchKind::kExactKeyword:
      return "exact_keyword";
    case MatchKind::kFreeText:
      return "free_text";
    case MatchKind::kIgnoredReaction:
      return "reaction";
    case MatchKind::kPossibleOptOut:
      return "possible_opt_out";
  }
  return "none";
}

std::vector<std::string> SupportedLanguages() {
  std::vector<std::string> out;
  for (const PackDef& p : kPacks) out.emplace_back(p.code);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> DefaultLanguagesForRegion(std::string_view region) {
  std::string r;
  for (char c : region) r.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  struct Entry {
    std::string_view regions;              // '|'-separated ISO 3166-1 alpha-2 codes
    std::array<const char*, 3> languages;  // in order of preference, nullptr-padded
  };
  static const Entry kTable[] = {
      {"DK|GL|FO", {"da", "en"}},
      {"SE|AX", {"sv", "en"}},
      {"NO|SJ", {"nb", "en"}},
      {"DE|AT|LI", {"de", "en"}},
      {"CH", {"de", "fr", "en"}},
      {"LU", {"fr", "de", "en"}},
      {"FR|BE|MC|GP|MQ|GF|RE|YT|PM|BL|MF|NC|PF|WF", {"fr", "en"}},
      {"CA", {"en", "fr"}},
      {"ES|MX|AR|BO|CL|CO|CR|CU|DO|EC|SV|GT|HN|NI|PA|PY|PE|PR|UY|VE|GQ", {"es", "en"}},
      {"US", {"en", "es"}},
  };
  if (r.size() == 2) {
    for (const Entry& e : kTable) {
      for (std::string_view code : Split(e.regions, '|')) {
        if (code != r) continue;
        std::vector<std::string> out;
        for (const char* lang : e.languages) {
          if (lang != nullptr) out.emplace_back(lang);
        }
        return out;
      }
    }
  }
  return {"en"};
}

std::string NormalizeForMatching(std::string_view body) { return Normalize(body); }

std::string KeywordComparisonKey(std::string_view text) {
  std::string normalized = Normalize(text);
  TokenizedText t;
  Tokenize(normalized, &t);
  return JoinKeys(t);
}

std::vector<FreeTextRuleInfo> FreeTextRules(std::string_view language) {
  std::vector<FreeTextRuleInfo> out;
  std::optional<std::string> code = CanonicalLanguage(language);
  if (!code) return out;
  const Grammar& g = Grammar::Get();
  for (const CompiledRule& r : g.pack(*g.PackIndex(*code)).rules) {
    out.push_back({r.id, r.pattern_text, r.example, r.possible});
  }
  return out;
}

namespace keywords_internal {
std::string NormalizeWithIcu(std::string_view body) { return NormalizeUnicode(body); }
}  // namespace keywords_internal

}  // namespace smsconsent
