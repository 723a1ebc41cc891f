// The labelled reply corpus (tests/data/replies/<lang>.tsv) through KeywordMatcher, with the
// languages a number in each listed country gets. Asserts recall of opt-outs per language, no
// false opt-out on any row labelled none or possible, and the possible-opt-out flags; prints the
// table that docs/keywords.md quotes:
//   ./build/release/core_tests --gtest_filter='KeywordCorpus.*'
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/keywords.h"

namespace smsconsent {
namespace keyword_corpus {
namespace {

struct Row {
  int line = 0;
  std::string label;  // opt_out, possible, none (or opt_in / help / opt_out_all for keywords)
  std::string cls;    // what kind of reply: keyword, typo, quoted, hard-negative...
  std::string text;
};

struct Corpus {
  std::string language;
  std::vector<std::string> regions;  // from the "# regions:" line
  std::vector<Row> rows;
};

// "\n", "\t" and "\\" in the text column are escapes.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Corpus Load(const std::string& language) {
  Corpus c;
  c.language = language;
  const std::string path =
      std::string(SMSCONSENT_SOURCE_DIR) + "/tests/data/replies/" + language + ".tsv";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      const std::string tag = "# regions:";
      if (line.compare(0, tag.size(), tag) == 0) {
        std::istringstream r(line.substr(tag.size()));
        std::string region;
        while (r >> region) c.regions.push_back(region);
      }
      continue;
    }
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    EXPECT_NE(t2, std::string::npos) << path << ":" << n << ": expected label<TAB>class<TAB>text";
    if (t2 == std::string::npos) continue;
    c.rows.push_back(
        {n, line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), Unescape(line.substr(t2 + 1))});
  }
  EXPECT_FALSE(c.regions.empty()) << path << ": no \"# regions:\" line";
  return c;
}

struct Figures {
  int opt_out_rows = 0;  // rows labelled opt_out (per region run)
  int recalled = 0;      // ... recognised as opt_out
  int possible_rows = 0;
  int possible_flagged = 0;  // possible rows flagged possible
  int none_rows = 0;
  int false_opt_out = 0;   // a none or possible row that opted out
  int false_possible = 0;  // a none row flagged possible
  int keyword_rows = 0;    // opt_in / help / opt_out_all keyword rows
  int keyword_right = 0;
};

const std::vector<std::string>& CorpusLanguages() {
  static const std::vector<std::string> langs = {"en", "es", "fr", "da", "sv", "nb", "de"};
  return langs;
}

std::string Pct(int a, int b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", b == 0 ? 100.0 : 100.0 * a / b);
  return buf;
}

// Runs one language's corpus on a number of each of its regions; failures name the row.
Figures RunCorpus(const Corpus& c, std::vector<std::string>* failures) {
  Figures f;
  for (const std::string& region : c.regions) {
    KeywordConfig config;
    config.languages = DefaultLanguagesForRegion(region);
    auto matcher = KeywordMatcher::Create(config);
    EXPECT_TRUE(matcher.ok());
    if (!matcher.ok()) continue;
    for (const Row& row : c.rows) {
      const KeywordMatch m = (*matcher)->Match(row.text);
      const bool opted_out = m.intent == Intent::kOptOut || m.intent == Intent::kOptOutAll;
      const bool possible = m.kind == MatchKind::kPossibleOptOut;
      const std::string where = c.language + ".tsv:" + std::to_string(row.line) + " [" + region +
                                "] " + row.label + " (" + row.cls + ") got " +
                                IntentName(m.intent) + "/" + MatchKindName(m.kind) + " " + m.rule +
                                ": " + row.text;
      if (row.label == "opt_out") {
        ++f.opt_out_rows;
        if (opted_out) {
          ++f.recalled;
        } else {
          failures->push_back("missed " + where);
        }
      } else if (row.label == "possible") {
        ++f.possible_rows;
        if (opted_out) {
          ++f.false_opt_out;
          failures->push_back("FALSE OPT-OUT " + where);
        } else if (possible) {
          ++f.possible_flagged;
        } else {
          failures->push_back("not flagged " + where);
        }
      } else if (row.label == "none") {
        ++f.none_rows;
        if (opted_out) {
          ++f.false_opt_out;
          failures->push_back("FALSE OPT-OUT " + where);
        } else if (possible) {
          ++f.false_possible;
          failures->push_back("false possible " + where);
        }
      } else {
        ++f.keyword_rows;
        if (IntentName(m.intent) == row.label) {
          ++f.keyword_right;
        } else {
          failures->push_back("wrong keyword " + where);
        }
      }
    }
  }
  return f;
}

TEST(KeywordCorpus, RecallFalseOptOutsAndPossibleFlagsPerLanguage) {
  std::ostringstream table;
  table << "| Language | Regions | Rows | Opt-out recall | False opt-outs | Possible flagged | "
           "False possible | Other keywords |\n"
        << "|---|---|---|---|---|---|---|---|\n";
  Figures total;
  for (const std::string& lang : CorpusLanguages()) {
    const Corpus c = Load(lang);
    std::vector<std::string> failures;
    const Figures f = RunCorpus(c, &failures);
    std::string regions;
    for (const std::string& r : c.regions) regions += (regions.empty() ? "" : ", ") + r;
    table << "| " << lang << " | " << regions << " | " << c.rows.size() << " | " << f.recalled
          << "/" << f.opt_out_rows << " (" << Pct(f.recalled, f.opt_out_rows) << ") | "
          << f.false_opt_out << "/" << (f.none_rows + f.possible_rows) << " | "
          << f.possible_flagged << "/" << f.possible_rows << " | " << f.false_possible << "/"
          << f.none_rows << " | " << f.keyword_right << "/" << f.keyword_rows << " |\n";
    for (const std::string& failure : failures) std::printf("  %s\n", failure.c_str());
    EXPECT_GE(f.recalled * 100, f.opt_out_rows * 95) << lang << ": opt-out recall below 95 %";
    EXPECT_EQ(f.false_opt_out, 0) << lang << ": a reply that is not an opt-out opted out";
    EXPECT_EQ(f.possible_flagged, f.possible_rows) << lang << ": possible opt-outs not flagged";
    EXPECT_EQ(f.false_possible, 0) << lang << ": chat flagged as a possible opt-out";
    EXPECT_EQ(f.keyword_right, f.keyword_rows) << lang;
    EXPECT_GE(c.rows.size(), 60u) << lang << ": the corpus should stay large";
    total.opt_out_rows += f.opt_out_rows;
    total.recalled += f.recalled;
    total.false_opt_out += f.false_opt_out;
  }
  std::printf("%s", table.str().c_str());
  std::printf("all languages: recall %d/%d (%s), false opt-outs %d\n", total.recalled,
              total.opt_out_rows, Pct(total.recalled, total.opt_out_rows).c_str(),
              total.false_opt_out);
}

}  // namespace
}  // namespace keyword_corpus
}  // namespace smsconsent
