#include "core/keywords.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smsconsent {
namespace {

std::vector<std::string> Languages(std::string_view csv) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b < csv.size()) {
    size_t e = csv.find(',', b);
    if (e == std::string_view::npos) e = csv.size();
    out.emplace_back(csv.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

std::shared_ptr<const KeywordMatcher> MakeMatcher(KeywordConfig config) {
  auto m = KeywordMatcher::Create(config);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

std::shared_ptr<const KeywordMatcher> MakeMatcher(std::string_view languages) {
  KeywordConfig config;
  config.languages = Languages(languages);
  return MakeMatcher(config);
}

// ----- The table: one inbound message on a number with the given languages. ----------------

struct Case {
  const char* body;
  const char* languages;  // comma-separated
  Intent intent;
  MatchKind kind;
  const char* rule;  // expected KeywordMatch::rule; nullptr = not checked
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "\"" << c.body << "\" on [" << c.languages << "]";
}

constexpr Intent kIn = Intent::kOptIn;
constexpr Intent kOut = Intent::kOptOut;
constexpr Intent kAll = Intent::kOptOutAll;
constexpr Intent kHelp = Intent::kHelp;
constexpr Intent kNo = Intent::kNone;
constexpr MatchKind kExact = MatchKind::kExactKeyword;
constexpr MatchKind kFree = MatchKind::kFreeText;
constexpr MatchKind kReaction = MatchKind::kIgnoredReaction;
constexpr MatchKind kNothing = MatchKind::kNone;
constexpr MatchKind kPoss = MatchKind::kPossibleOptOut;

const Case kCases[] = {
    // --- English default keywords, exactly as PRODUCT.md lists them ---
    {"STOP", "en", kOut, kExact, "STOP"},
    {"stop", "en", kOut, kExact, "STOP"},
    {"Stop", "en", kOut, kExact, "STOP"},
    {"UNSUBSCRIBE", "en", kOut, kExact, "UNSUBSCRIBE"},
    {"Cancel", "en", kOut, kExact, "CANCEL"},
    {"end", "en", kOut, kExact, "END"},
    {"QUIT", "en", kOut, kExact, "QUIT"},
    {"revoke", "en", kOut, kExact, "REVOKE"},
    {"optout", "en", kOut, kExact, "OPTOUT"},
    {"OPT OUT", "en", kOut, kExact, "OPT OUT"},
    {"STOPALL", "en", kAll, kExact, "STOPALL"},
    {"stop all", "en", kAll, kExact, "STOP ALL"},
    {"START", "en", kIn, kExact, "START"},
    {"unstop", "en", kIn, kExact, "UNSTOP"},
    {"Subscribe", "en", kIn, kExact, "SUBSCRIBE"},
    {"yes", "en", kIn, kExact, "YES"},
    {"HELP", "en", kHelp, kExact, "HELP"},
    {"info", "en", kHelp, kExact, "INFO"},
    // --- Case, white space, punctuation, emoji and invisible characters ---
    {"STOP!!!", "en", kOut, kExact, "STOP"},
    {" stop!! \u270B", "en", kOut, kExact, "STOP"},
    {"Quit.", "en", kOut, kExact, "QUIT"},
    {"  Quit. ", "en", kOut, kExact, "QUIT"},
    {"S\u200BTOP", "en", kOut, kExact, "STOP"},                      // zero-width space
    {"ST\u00ADOP", "en", kOut, kExact, "STOP"},                      // soft hyphen
    {"\uFEFFSTOP", "en", kOut, kExact, "STOP"},                      // byte-order mark
    {"stop\u200D", "en", kOut, kExact, "STOP"},                      // zero-width joiner
    {"\uFF33\uFF34\uFF2F\uFF30", "en", kOut, kExact, "STOP"},        // fullwidth ＳＴＯＰ
    {"\uFF33\uFF54\uFF4F\uFF50\uFF01", "en", kOut, kExact, "STOP"},  // fullwidth Ｓｔｏｐ！
    {"\U0001D412\U0001D413\U0001D40E\U0001D40F", "en", kOut, kExact, "STOP"},  // math bold
    {"stop\u00A0", "en", kOut, kExact, "STOP"},                                // no-break space
    {"\tSTOP\r\n", "en", kOut, kExact, "STOP"},
    {"STOP \U0001F6D1", "en", kOut, kExact, "STOP"},  // 🛑
    {"\U0001F6D1STOP\U0001F6D1", "en", kOut, kExact, "STOP"},
    {"stop \U0001F44D\U0001F3FD", "en", kOut, kExact, "STOP"},  // 👍🏽 skin tone
    {"Stop \U0001F1FA\U0001F1F8", "en", kOut, kExact, "STOP"},  // 🇺🇸 regional indicators
    {"STOP \u2764\uFE0F", "en", kOut, kExact, "STOP"},          // ❤️ with variation selector
    {"stop 1\uFE0F\u20E3", "en", kOut, kExact, "STOP"},         // keycap 1️⃣
    {"\"STOP\"", "en", kOut, kExact, "STOP"},
    {"opt-out", "en", kOut, kExact, "OPT OUT"},
    {"Opt   Out!", "en", kOut, kExact, "OPT OUT"},
    {"Stop All!", "en", kAll, kExact, "STOP ALL"},
    {"Yes!", "en", kIn, kExact, "YES"},
    {"help?", "en", kHelp, kExact, "HELP"},
    {"S T O P", "en", kOut, kFree, "en.keyword-variant"},  // spelled out: free text, opt-out only
    // --- Ordinary messages and words that merely contain or begin with a keyword ---
    {"", "en", kNo, kNothing, nullptr},
    {"!!!", "en", kNo, kNothing, nullptr},
    {"\U0001F44D", "en", kNo, kNothing, nullptr},
    {"See you at 5!", "en", kNo, kNothing, nullptr},
    {"thanks", "en", kNo, kNothing, nullptr},
    {"Yes I'll be there", "en", kNo, kNothing, nullptr},
    {"stopwatch", "en", kNo, kNothing, nullptr},
    {"ending", "en", kNo, kNothing, nullptr},
    {"Starting tomorrow", "en", kNo, kNothing, nullptr},
    {"helpful", "en", kNo, kNothing, nullptr},
    {"information", "en", kNo, kNothing, nullptr},
    {"yesterday", "en", kNo, kNothing, nullptr},
    {"cancelled", "en", kNo, kNothing, nullptr},
    {"quitting time", "en", kNo, kNothing, nullptr},
    {"can't stop laughing \U0001F602", "en", kNo, kNothing, nullptr},
    {"I need to cancel my appointment", "en", kNo, kNothing, nullptr},
    {"the promo ends Friday?", "en", kNo, kNothing, nullptr},
    {"meet me at the bus stop", "en", kNo, kNothing, nullptr},
    {"Stop by the store tomorrow", "en", kNo, kNothing, nullptr},
    {"I can't stop texting her lol", "en", kNo, kNothing, nullptr},
    {"Cancel my order please", "en", kNo, kNothing, nullptr},
    {"Don't send me the link, I have it", "en", kNo, kNothing, nullptr},
    {"Can you drop me off at 5?", "en", kNo, kNothing, nullptr},
    {"Take me out to dinner", "en", kNo, kNothing, nullptr},
    {"Can you take me off the waitlist for Friday?", "en", kNo, kNothing, nullptr},
    {"I don't want to miss the texts!", "en", kNo, kNothing, nullptr},
    {"I have no more questions", "en", kNo, kNothing, nullptr},
    {"My sister said stop texting her", "en", kNo, kNothing, nullptr},
    {"info about my order please", "en", kNo, kNothing, nullptr},
    {"let me be clear", "en", kNo, kNothing, nullptr},
    // --- Negation and other guards ---
    {"don't stop", "en", kNo, kNothing, nullptr},
    {"I will not unsubscribe", "en", kNo, kNothing, nullptr},
    {"Don't stop sending me deals!", "en", kNo, kNothing, nullptr},
    {"please don't unsubscribe me", "en", kNo, kPoss, "en.possible.negated"},
    {"I don't really want to unsubscribe", "en", kNo, kPoss, "en.possible.negated"},
    {"I do not want to opt out", "en", kNo, kPoss, "en.possible.negated"},
    {"never remove me from this list", "en", kNo, kPoss, "en.possible.negated"},
    {"If I opt out will I lose my points?", "en", kNo, kPoss, "en.possible.conditional"},
    {"Reply STOP to opt out", "en", kNo, kNothing, nullptr},
    {"the stop messages are confusing", "en", kNo, kNothing, nullptr},
    // --- Possible opt-outs: not clear enough to act on, so a person reviews them ---
    {"How do I stop these texts?", "en", kNo, kPoss, "en.possible.question"},
    {"can I opt out?", "en", kNo, kPoss, "en.possible.question"},
    {"is there a way to unsubscribe", "en", kNo, kPoss, "en.possible.question"},
    {"Stop sending me promos but keep the appointment reminders", "en", kNo, kPoss,
     "en.possible.mixed"},
    {"stop the marketing texts, order updates are fine", "en", kNo, kPoss, "en.possible.mixed"},
    {"unsubscribe me from emails", "en", kNo, kPoss, "en.possible.other-channel"},
    {"opt me out of paper mail, texts are fine", "en", kNo, kNothing, nullptr},
    {"unsubscribe me from emails, texts are fine", "en", kNo, kNothing, nullptr},
    {"cancel please", "en", kNo, kPoss, "en.possible.context"},
    {"Don't stop sending me deals", "en", kNo, kNothing, nullptr},
    {"can't stop laughing", "en", kNo, kNothing, nullptr},
    {"meet me at the bus stop", "en", kNo, kNothing, nullptr},
    {"can you stop texting me?", "en", kOut, kFree, "en.stop-sending"},  // a request
    {"Stop texting me, why do you keep sending me messages", "en", kOut, kFree, "en.stop-sending"},
    {"Stop texting me, emails are fine", "en", kOut, kFree, "en.stop-sending"},
    // --- English free text (FCC 2025: revocation by any reasonable means) ---
    {"please quit messaging me", "en", kOut, kFree, "en.stop-sending"},
    {"I'd like to unsubscribe from these", "en", kOut, kFree, "en.want-opt-out"},
    {"kindly remove my number", "en", kOut, kFree, "en.remove-number"},
    {"no thanks, opt me out", "en", kOut, kFree, "en.opt-out"},
    {"Stop sending me these ads", "en", kOut, kFree, "en.stop-sending"},
    {"stop texting me", "en", kOut, kFree, "en.stop-sending"},
    {"take me off your list", "en", kOut, kFree, "en.take-me-off"},
    {"remove me from this list", "en", kOut, kFree, "en.remove-me"},
    {"don't text me anymore", "en", kOut, kFree, "en.dont-message"},
    {"no more messages please", "en", kOut, kFree, "en.no-more"},
    {"STOP please", "en", kOut, kFree, "en.stop-sentence"},
    {"please stop", "en", kOut, kFree, "en.stop-sentence"},
    {"STOP!!! please", "en", kOut, kFree, "en.stop-sentence"},
    {"Stop. Who is this?", "en", kOut, kFree, "en.stop-sentence"},
    {"STOP STOP STOP", "en", kOut, kFree, "en.stop-sentence"},
    {"stop stop stop stop stop please!!", "en", kOut, kFree, "en.stop-sentence"},
    {"\uFF30\uFF2C\uFF25\uFF21\uFF33\uFF25 \uFF33\uFF34\uFF2F\uFF30", "en", kOut, kFree,
     "en.stop-sentence"},                                        // fullwidth PLEASE STOP
    {"Stop ALL please", "en", kOut, kFree, "en.stop-sentence"},  // free text never opts out of all
    {"cancel my subscription", "en", kOut, kFree, "en.cancel-subscription"},
    {"unsubscribe me", "en", kOut, kFree, "en.unsubscribe-me"},
    {"leave me alone", "en", kOut, kFree, "en.leave-me-alone"},
    {"Stop sending these ads", "en", kOut, kFree, "en.stop-sending-messages"},
    {"How do I stop getting these?", "en", kNo, kPoss, "en.possible.question"},
    {"stop the texts", "en", kOut, kFree, "en.stop-messages"},
    {"I don\u2019t want these texts", "en", kOut, kFree, "en.dont-want"},
    {"I no longer wish to be contacted", "en", kOut, kFree, "en.dont-want-contact"},
    {"I do not want to receive any of your texts", "en", kOut, kFree, "en.dont-want-any"},
    {"how do I unsubscribe?", "en", kNo, kPoss, "en.possible.question"},
    {"Please stop texting me \U0001F621", "en", kOut, kFree, "en.stop-sending"},
    {"STOP TEXTING ME", "en", kOut, kFree, "en.stop-sending"},
    {"pls stop msging me", "en", kOut, kFree, "en.stop-sending"},
    {"Stop calling and texting me", "en", kOut, kFree, "en.stop-sending"},
    {"don't send me any more texts", "en", kOut, kFree, "en.dont-send"},
    {"No more!", "en", kOut, kFree, "en.no-more-sentence"},
    {"I already said stop, stop texting me", "en", kOut, kFree, "en.stop-sending"},
    {"I want to opt out", "en", kOut, kFree, "en.want-opt-out"},
    {"Please cancel these text alerts", "en", kOut, kFree, "en.cancel-messages"},
    {"Never text me again", "en", kOut, kFree, "en.dont-message"},
    {"not interested, remove me", "en", kOut, kFree, "en.remove-me"},
    {"S\u200Btop texting me", "en", kOut, kFree, "en.stop-sending"},
    // --- Reactions quoting our own message ---
    {"Loved \u201C\u2026Reply STOP to end\u201D", "en", kNo, kReaction, "Loved"},
    {"Liked \"Reply STOP to opt out\"", "en", kNo, kReaction, "Liked"},
    {"Emphasized \u201CReply STOP to opt out\u201D", "en", kNo, kReaction, "Emphasized"},
    {"Laughed at \"Reply STOP to end\"", "en", kNo, kReaction, "Laughed at"},
    {"Disliked \u201CSTOP\u201D", "en", kNo, kReaction, "Disliked"},
    {"Questioned \"Reply STOP to unsubscribe\"", "en", kNo, kReaction, "Questioned"},
    {"Reacted \U0001F44D to \"\u2026STOP\u2026\"", "en", kNo, kReaction, "Reacted"},
    {"Reacted with \U0001F602 to \u201CReply STOP to end\u201D", "en", kNo, kReaction, "Reacted"},
    {"Removed a heart from \u201CReply STOP to end\u201D", "en", kNo, kReaction, "Removed"},
    {"Liked an image", "en", kNo, kReaction, "Liked"},
    {"  loved 'stop'", "en", kNo, kReaction, "Loved"},
    {"Loved it, stop texting me", "en", kOut, kFree, "en.stop-sending"},  // not a reaction
    {"Loved \"the deal\", but please stop texting me", "en", kOut, kFree, "en.stop-sending"},
    {"Liked \u201CReply STOP to end\u201D  \n", "en", kNo, kReaction, "Liked"},
    // --- Danish ---
    {"AFMELD", "da,en", kOut, kExact, "AFMELD"},
    {"Afmeld.", "da,en", kOut, kExact, "AFMELD"},
    {"frameld", "da,en", kOut, kExact, "FRAMELD"},
    {"TILMELD", "da,en", kIn, kExact, "TILMELD"},
    {"HJ\u00C6LP", "da,en", kHelp, kExact, "HJ\u00C6LP"},
    {"hj\u00E6lp!", "da,en", kHelp, kExact, "HJ\u00C6LP"},
    {"HJAELP", "da,en", kHelp, kExact, "HJAELP"},
    {"STOP ALLE", "da,en", kAll, kExact, "STOP ALLE"},
    {"stop all", "da,en", kAll, kExact, "STOP ALL"},
    {"afmeld mig", "da,en", kOut, kFree, "da.afmeld-mig"},
    {"stop med at skrive til mig", "da,en", kOut, kFree, "da.stop-med-at"},
    {"Hold op med at sende mig reklamer", "da,en", kOut, kFree, "da.stop-med-at"},
    {"Ingen flere beskeder tak", "da,en", kOut, kFree, "da.ikke-flere"},
    {"jeg vil ikke have flere sms'er", "da,en", kOut, kFree, "da.vil-ikke"},
    {"Jeg vil gerne afmeldes", "da,en", kOut, kFree, "da.vil-afmeldes"},
    {"fjern mig fra listen", "da,en", kOut, kFree, "da.afmeld-mig"},
    {"Lad mig v\u00E6re i fred!", "da,en", kOut, kFree, "da.lad-mig-vaere"},
    {"afmeld tak", "da,en", kOut, kFree, "da.stop-sentence"},
    {"du m\u00E5 ikke afmelde mig", "da,en", kNo, kPoss, "da.possible.negated"},
    {"hvis jeg afmelder mig, mister jeg s\u00E5 mine point?", "da,en", kNo, kPoss,
     "da.possible.conditional"},
    {"Jeg kan ikke stoppe med at grine", "da,en", kNo, kNothing, nullptr},
    {"Tak for i g\u00E5r", "da,en", kNo, kNothing, nullptr},
    {"AFMELD", "en", kNo, kNothing, nullptr},  // a Danish word on an English-only number
    {"hj\u00E6lp", "en", kNo, kNothing, nullptr},
    {"afmeld mig", "en", kNo, kNothing, nullptr},
    // --- Swedish ---
    {"STOPP", "sv,en", kOut, kExact, "STOPP"},
    {"Avsluta", "sv,en", kOut, kExact, "AVSLUTA"},
    {"AVREGISTRERA", "sv,en", kOut, kExact, "AVREGISTRERA"},
    {"HJ\u00C4LP", "sv,en", kHelp, kExact, "HJ\u00C4LP"},
    {"hjalp", "sv,en", kHelp, kExact, "HJ\u00C4LP"},  // diacritics folded
    {"STOPP ALLA", "sv,en", kAll, kExact, "STOPP ALLA"},
    {"starta", "sv,en", kIn, kExact, "STARTA"},
    {"sluta skicka sms", "sv,en", kOut, kFree, "sv.sluta-skicka"},
    {"Sluta sms:a mig!", "sv,en", kOut, kFree, "sv.sluta-skicka"},
    {"avregistrera mig", "sv,en", kOut, kFree, "sv.avregistrera-mig"},
    {"Ta bort mig fr\u00E5n listan", "sv,en", kOut, kFree, "sv.avregistrera-mig"},
    {"Inga fler sms tack", "sv,en", kOut, kFree, "sv.inga-fler"},
    {"Jag vill inte ha fler meddelanden", "sv,en", kOut, kFree, "sv.vill-inte"},
    {"l\u00E4mna mig ifred", "sv,en", kOut, kFree, "sv.lamna-mig-ifred"},
    {"jag kan inte sluta skicka sms till henne", "sv,en", kNo, kNothing, nullptr},
    {"Vi ses imorgon", "sv,en", kNo, kNothing, nullptr},
    // --- Norwegian Bokmål (also configured as "no") ---
    {"STOPP", "no", kOut, kExact, "STOPP"},
    {"MELD AV", "nb,en", kOut, kExact, "MELD AV"},
    {"avslutt", "nb,en", kOut, kExact, "AVSLUTT"},
    {"HJELP", "nb,en", kHelp, kExact, "HJELP"},
    {"MELD P\u00C5", "nb,en", kIn, kExact, "MELD P\u00C5"},
    {"meld pa", "nb,en", kIn, kExact, "MELD P\u00C5"},
    {"STOPP ALLE", "nb,en", kAll, kExact, "STOPP ALLE"},
    {"meld meg av", "nb,en", kOut, kFree, "nb.meld-meg-av"},
    {"slutt \u00E5 sende meg meldinger", "nb,en", kOut, kFree, "nb.slutt-a-sende"},
    {"Vennligst slutt \u00E5 sende meg sms", "nb,en", kOut, kFree, "nb.slutt-a-sende"},
    {"Ingen flere meldinger takk", "nb,en", kOut, kFree, "nb.ingen-flere"},
    {"jeg vil ikke ha flere sms", "nb,en", kOut, kFree, "nb.vil-ikke"},
    {"fjern meg fra listen", "nb,en", kOut, kFree, "nb.fjern-meg"},
    {"Jeg vil ikke meldes av", "nb,en", kNo, kNothing, nullptr},
    {"Ha en fin dag", "nb,en", kNo, kNothing, nullptr},
    // --- German ---
    {"STOPP", "de,en", kOut, kExact, "STOPP"},
    {"ABMELDEN", "de,en", kOut, kExact, "ABMELDEN"},
    {"abbestellen!", "de,en", kOut, kExact, "ABBESTELLEN"},
    {"Austragen", "de,en", kOut, kExact, "AUSTRAGEN"},
    {"HILFE", "de,en", kHelp, kExact, "HILFE"},
    {"anmelden", "de,en", kIn, kExact, "ANMELDEN"},
    {"STOPP ALLE", "de,en", kAll, kExact, "STOPP ALLE"},
    {"bitte keine SMS mehr", "de,en", kOut, kFree, "de.keine-mehr"},
    {"KEINE SMS MEHR", "de,en", kOut, kFree, "de.keine-mehr"},
    {"abmelden bitte", "de,en", kOut, kFree, "de.stop-sentence"},
    {"Ich m\u00F6chte mich abmelden", "de,en", kOut, kFree, "de.mich-abmelden"},
    {"melden Sie mich ab", "de,en", kOut, kFree, "de.melde-mich-ab"},
    {"H\u00F6ren Sie auf, mir zu schreiben", "de,en", kOut, kFree, "de.hoer-auf"},
    {"Schreiben Sie mir nicht mehr", "de,en", kOut, kFree, "de.nicht-mehr"},
    {"l\u00F6schen Sie bitte meine Nummer", "de,en", kOut, kFree, "de.loeschen"},
    {"Lassen Sie mich in Ruhe", "de,en", kOut, kFree, "de.lass-mich"},
    {"Ich will keine Werbung", "de,en", kOut, kFree, "de.will-keine"},
    {"Ich will mich nicht abmelden", "de,en", kNo, kPoss, "de.possible.negated"},
    {"Ich muss mich vom Kurs abmelden", "de,en", kNo, kNothing, nullptr},
    {"Bis morgen!", "de,en", kNo, kNothing, nullptr},
    // --- French ---
    {"STOP", "fr", kOut, kExact, "STOP"},
    {"ARR\u00CAT", "fr,en", kOut, kExact, "ARR\u00CAT"},
    {"arret", "fr,en", kOut, kExact, "ARR\u00CAT"},
    {"D\u00E9sabonner", "fr,en", kOut, kExact, "D\u00C9SABONNER"},
    {"STOP SMS", "fr,en", kOut, kExact, "STOP SMS"},
    {"AIDE", "fr,en", kHelp, kExact, "AIDE"},
    {"abonner", "fr,en", kIn, kExact, "ABONNER"},
    {"STOP TOUT", "fr,en", kAll, kExact, "STOP TOUT"},
    {"d\u00E9sabonnez-moi", "fr,en", kOut, kFree, "fr.desabonnez-moi"},
    {"Je ne veux plus recevoir de messages", "fr,en", kOut, kFree, "fr.ne-plus-recevoir"},
    {"arr\u00EAtez de m'envoyer des messages", "fr,en", kOut, kFree, "fr.arretez-de"},
    {"Arr\u00EAtez de m\u2019envoyer des SMS !", "fr,en", kOut, kFree, "fr.arretez-de"},
    {"Je souhaite me d\u00E9sabonner", "fr,en", kOut, kFree, "fr.me-desabonner"},
    {"ne m'envoyez plus de pubs", "fr,en", kOut, kFree, "fr.ne-plus-envoyer"},
    {"Plus de SMS svp", "fr,en", kOut, kFree, "fr.plus-de"},
    {"laissez-moi tranquille", "fr,en", kOut, kFree, "fr.laissez-moi"},
    {"Merci de me retirer de votre liste", "fr,en", kOut, kFree, "fr.retirer-de-la-liste"},
    {"stop svp", "fr,en", kOut, kFree, "fr.stop-sentence"},
    {"merci de ne pas me d\u00E9sabonner", "fr,en", kNo, kPoss, "fr.possible.negated"},
    {"si je me d\u00E9sabonne, je perds mes points ?", "fr,en", kNo, kPoss,
     "fr.possible.conditional"},
    {"\u00C0 demain", "fr,en", kNo, kNothing, nullptr},
    // --- Spanish ---
    {"BAJA", "es,en", kOut, kExact, "BAJA"},
    {"baja.", "es,en", kOut, kExact, "BAJA"},
    {"PARAR", "es,en", kOut, kExact, "PARAR"},
    {"Alto", "es,en", kOut, kExact, "ALTO"},
    {"CANCELAR", "es,en", kOut, kExact, "CANCELAR"},
    {"dar de baja", "es,en", kOut, kExact, "DAR DE BAJA"},
    {"ALTA", "es,en", kIn, kExact, "ALTA"},
    {"AYUDA", "es,en", kHelp, kExact, "AYUDA"},
    {"BAJA TODO", "es,en", kAll, kExact, "BAJA TODO"},
    {"Quiero darme de baja", "es,en", kOut, kFree, "es.dar-de-baja"},
    {"no me env\u00EDen m\u00E1s mensajes", "es,en", kOut, kFree, "es.no-envien"},
    {"No me envien mas mensajes", "es,en", kOut, kFree, "es.no-envien"},
    {"NO M\u00C1S MENSAJES", "es,en", kOut, kFree, "es.no-mas"},
    {"Ya no quiero recibir mensajes", "es,en", kOut, kFree, "es.no-quiero"},
    {"dejen de enviarme mensajes", "es,en", kOut, kFree, "es.dejen-de"},
    {"cancelar mi suscripci\u00F3n", "es,en", kOut, kFree, "es.cancelar-suscripcion"},
    {"Por favor, b\u00F3rrenme de su lista", "es,en", kOut, kFree, "es.eliminarme"},
    {"d\u00E9jenme en paz", "es,en", kOut, kFree, "es.dejame-en-paz"},
    {"baja por favor", "es,en", kOut, kFree, "es.stop-sentence"},
    {"No quiero darme de baja", "es,en", kNo, kPoss, "es.possible.negated"},
    {"Gracias, nos vemos ma\u00F1ana", "es,en", kNo, kNothing, nullptr},
    {"BAJA", "en", kNo, kNothing, nullptr},
    {"BAJA", "en,es", kOut, kExact, "BAJA"},  // the US default includes Spanish
};

class KeywordTable : public testing::TestWithParam<Case> {};

TEST_P(KeywordTable, RecognisesIntentKindAndRule) {
  const Case& c = GetParam();
  auto matcher = MakeMatcher(c.languages);
  ASSERT_NE(matcher, nullptr);
  KeywordMatch m = matcher->Match(c.body);
  EXPECT_EQ(IntentName(m.intent), std::string(IntentName(c.intent))) << m.explanation;
  EXPECT_EQ(MatchKindName(m.kind), std::string(MatchKindName(c.kind))) << m.explanation;
  if (c.rule != nullptr) {
    EXPECT_EQ(m.rule, c.rule) << m.explanation;
  }
  EXPECT_FALSE(m.explanation.empty());
  if (m.kind == MatchKind::kNone) {
    EXPECT_TRUE(m.rule.empty());
    EXPECT_TRUE(m.matched.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Messages, KeywordTable, testing::ValuesIn(kCases));

// ----- What a decision reports. ----------------------------------------------------------

TEST(KeywordMatcher, ExactKeywordExplainsItselfWithKeywordAndLanguage) {
  auto m = MakeMatcher("en")->Match("  Stop!! \u270B");
  EXPECT_EQ(m.explanation, "exact keyword \"STOP\" (en)");
  EXPECT_EQ(m.language, "en");
  EXPECT_EQ(m.matched, "stop");
  EXPECT_EQ(m.normalized, "stop");
}

TEST(KeywordMatcher, FreeTextExplainsRuleAndMatchedPhrase) {
  auto m = MakeMatcher("en")->Match("Stop sending me these ads!!");
  EXPECT_EQ(m.rule, "en.stop-sending");
  EXPECT_EQ(m.matched, "stop sending me");
  EXPECT_EQ(m.normalized, "stop sending me these ads");
  EXPECT_EQ(m.language, "en");
  EXPECT_EQ(m.explanation, "free-text rule en.stop-sending matched \"stop sending me\"");
}

TEST(KeywordMatcher, MatchedPhraseKeepsDiacriticsAndInnerPunctuation) {
  auto m = MakeMatcher("fr")->Match("D\u00E9sabonnez-moi !");
  EXPECT_EQ(m.matched, "d\u00E9sabonnez-moi");
  EXPECT_EQ(m.language, "fr");
}

TEST(KeywordMatcher, ReactionReportsVerbAndIsNeverAnIntent) {
  auto m = MakeMatcher("en")->Match("Loved \u201CReply STOP to end\u201D");
  EXPECT_EQ(m.intent, Intent::kNone);
  EXPECT_EQ(m.kind, MatchKind::kIgnoredReaction);
  EXPECT_EQ(m.rule, "Loved");
  EXPECT_NE(m.explanation.find("Loved"), std::string::npos);
  EXPECT_NE(m.normalized.find("reply stop to end"), std::string::npos);
}

TEST(KeywordMatcher, NoMatchStillReportsNormalizedTextAndWhy) {
  auto m = MakeMatcher("en")->Match("See you at 5!");
  EXPECT_EQ(m.normalized, "see you at 5");
  EXPECT_EQ(m.explanation, "no keyword or free-text opt-out request recognised");
  EXPECT_TRUE(m.language.empty());
}

TEST(KeywordMatcher, FirstConfiguredLanguageNamesASharedKeyword) {
  EXPECT_EQ(MakeMatcher("da,en")->Match("STOP").language, "da");
  EXPECT_EQ(MakeMatcher("en,da")->Match("STOP").language, "en");
}

TEST(KeywordMatcher, EveryDocumentedRuleExampleMatchesItsRule) {
  for (const std::string& lang : SupportedLanguages()) {
    auto matcher = MakeMatcher(lang);
    std::vector<FreeTextRuleInfo> rules = FreeTextRules(lang);
    EXPECT_GE(rules.size(), 5u) << lang;
    for (const FreeTextRuleInfo& r : rules) {
      SCOPED_TRACE(r.id + ": " + r.example);
      EXPECT_EQ(r.id.substr(0, lang.size() + 1), lang + ".");
      KeywordMatch m = matcher->Match(r.example);
      if (!r.possible.empty()) {
        // A rule that flags a possible opt-out reports its reason, in its language.
        EXPECT_EQ(r.possible.substr(0, lang.size() + 10), lang + ".possible.");
        EXPECT_EQ(m.intent, Intent::kNone);
        EXPECT_EQ(m.kind, MatchKind::kPossibleOptOut) << m.explanation;
        EXPECT_EQ(m.rule, r.possible) << m.explanation;
        continue;
      }
      EXPECT_EQ(m.intent, Intent::kOptOut);
      EXPECT_EQ(m.kind, MatchKind::kFreeText) << m.explanation;
      EXPECT_EQ(m.rule, r.id) << m.explanation;
    }
  }
}

TEST(KeywordMatcher, PossibleOptOutNamesItsReasonAndChangesNothing) {
  auto m = MakeMatcher("en")->Match("How do I stop these texts?");
  EXPECT_EQ(m.intent, Intent::kNone);
  EXPECT_EQ(m.kind, MatchKind::kPossibleOptOut);
  EXPECT_EQ(m.rule, "en.possible.question");
  EXPECT_EQ(m.language, "en");
  EXPECT_EQ(m.explanation,
            "possibly an opt-out: a question about stopping (\"how do i stop these texts\")");
  auto mixed =
      MakeMatcher("en")->Match("Stop sending me promos but keep the appointment reminders");
  EXPECT_EQ(mixed.kind, MatchKind::kPossibleOptOut);
  EXPECT_EQ(mixed.rule, "en.possible.mixed");
  EXPECT_EQ(mixed.explanation.rfind("possibly an opt-out: a mixed request", 0), 0u);
}

TEST(KeywordMatcher, PossibleOptOutNeverOverridesAKeywordOrAClearRequest) {
  auto matcher = MakeMatcher("en");
  EXPECT_EQ(matcher->Match("STOP").kind, MatchKind::kExactKeyword);
  // A question in one sentence, a clear request in the next: the request wins.
  auto m = matcher->Match("How do I unsubscribe? Stop texting me");
  EXPECT_EQ(m.intent, Intent::kOptOut);
  EXPECT_EQ(m.rule, "en.stop-sending");
  KeywordConfig off;
  off.free_text = false;
  EXPECT_EQ(MakeMatcher(off)->Match("How do I stop these texts?").kind, MatchKind::kNone);
}

TEST(KeywordMatcher, QuotedMessageAndAppTextAroundAKeywordAreIgnored) {
  auto matcher = MakeMatcher("en");
  auto quoted = matcher->Match("Stop\n\n> On Mon, ACME wrote:\n> Sale! Reply STOP to opt out");
  EXPECT_EQ(quoted.intent, Intent::kOptOut);
  EXPECT_EQ(quoted.kind, MatchKind::kExactKeyword);
  EXPECT_EQ(quoted.rule, "STOP");
  EXPECT_EQ(quoted.explanation,
            "exact keyword \"STOP\" (en) (quoted or app-inserted text ignored)");
  // The keyword keeps its own intent: a signature does not make START a free-text request.
  auto start = matcher->Match("START\n\nSent from my iPhone");
  EXPECT_EQ(start.intent, Intent::kOptIn);
  EXPECT_EQ(start.kind, MatchKind::kExactKeyword);
  EXPECT_EQ(matcher->Match("Stop [Sent via Google Voice]").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("Reply from +1 (555) 201-3344: STOP").intent, Intent::kOptOut);
  // A quoted business message never speaks for the contact.
  auto thanks =
      matcher->Match("Thanks!\n> On Mon, ACME wrote:\n> Don't want these texts? Stop texting us");
  EXPECT_EQ(thanks.intent, Intent::kNone) << thanks.explanation;
  // Nothing but a signature: the whole message is what there is.
  EXPECT_EQ(matcher->Match("Sent from my iPhone").kind, MatchKind::kNone);
}

TEST(KeywordMatcher, VariantsOfAKeywordOnlyEverOptOut) {
  auto matcher = MakeMatcher("en");
  auto typo = matcher->Match("stpo");
  EXPECT_EQ(typo.intent, Intent::kOptOut);
  EXPECT_EQ(typo.kind, MatchKind::kFreeText);
  EXPECT_EQ(typo.rule, "en.keyword-variant");
  EXPECT_EQ(typo.explanation, "keyword \"STOP\" misspelled (\"stpo\")");
  EXPECT_EQ(matcher->Match("S T O P").explanation, "keyword \"STOP\" spelled out (\"s t o p\")");
  EXPECT_EQ(matcher->Match("stooooop").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("unsubscibe").intent, Intent::kOptOut);
  // A free-text rule on a corrected text reports that rule.
  EXPECT_EQ(matcher->Match("stoooop texting me").rule, "en.stop-sending");
  // Slips of an opt-in or help keyword are not corrected into anything.
  EXPECT_EQ(matcher->Match("strat").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("S T A R T").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("H E L P").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("subscibe").intent, Intent::kNone);
  // Real words next to a keyword stay themselves.
  for (const char* word : {"quite", "quiet", "shop", "step", "top", "spot", "cancer", "stomp"}) {
    EXPECT_EQ(matcher->Match(word).intent, Intent::kNone) << word;
  }
  // Typos are only looked for in short messages.
  EXPECT_EQ(matcher->Match("I went to the stpo yesterday and it was fun").intent, Intent::kNone);
  KeywordConfig off;
  off.free_text = false;
  EXPECT_EQ(MakeMatcher(off)->Match("stpo").intent, Intent::kNone);
}

TEST(KeywordMatcher, AStopSignEmojiOnItsOwnIsAnOptOut) {
  auto matcher = MakeMatcher("da,en");
  auto m = matcher->Match("\U0001F6D1");
  EXPECT_EQ(m.intent, Intent::kOptOut);
  EXPECT_EQ(m.kind, MatchKind::kFreeText);
  EXPECT_EQ(m.rule, "stop-sign-emoji");
  EXPECT_EQ(matcher->Match(" \U0001F6D1\U0001F6D1 ").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("\U0001F44D").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("next to the \U0001F6D1 sign").intent, Intent::kNone);
}

TEST(KeywordMatcher, ANameOrNumberAfterStopIsACampaignWord) {
  auto matcher = MakeMatcher("en");
  EXPECT_EQ(matcher->Match("STOP ACME").rule, "en.stop-name");
  EXPECT_EQ(matcher->Match("Stop 2").intent, Intent::kOptOut);
  for (const char* chat :
       {"stop motion", "stop sign", "Stop tomorrow", "stop laughing", "stop by", "Stop what?"}) {
    EXPECT_EQ(matcher->Match(chat).intent, Intent::kNone) << chat;
  }
}

TEST(KeywordMatcher, FreeTextRulesOfUnknownLanguageIsEmpty) {
  EXPECT_TRUE(FreeTextRules("xx").empty());
  EXPECT_FALSE(FreeTextRules("no").empty());  // alias of nb
}

// ----- Configuration. --------------------------------------------------------------------

TEST(KeywordMatcher, FreeTextOffLeavesOnlyExactKeywords) {
  KeywordConfig config;
  config.free_text = false;
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("please stop texting me").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("please stop texting me").explanation,
            "no keyword recognised (free-text recognition is off)");
  EXPECT_EQ(matcher->Match("STOP please").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("Stop.").kind, MatchKind::kExactKeyword);
  EXPECT_EQ(matcher->Match("Liked \"STOP\"").kind, MatchKind::kIgnoredReaction);
}

TEST(KeywordMatcher, CustomKeywordsAddToThePacks) {
  KeywordConfig config;
  config.opt_in = {"JOIN", "Sign me up"};
  config.help = {"HOURS"};
  auto matcher = MakeMatcher(config);
  auto m = matcher->Match("join!");
  EXPECT_EQ(m.intent, Intent::kOptIn);
  EXPECT_EQ(m.kind, MatchKind::kExactKeyword);
  EXPECT_EQ(m.rule, "JOIN");
  EXPECT_EQ(m.language, "custom");
  EXPECT_EQ(m.explanation, "exact keyword \"JOIN\" (custom)");
  EXPECT_EQ(matcher->Match("SIGN ME UP!!").rule, "Sign me up");
  EXPECT_EQ(matcher->Match("hours?").intent, Intent::kHelp);
  EXPECT_EQ(matcher->Match("STOP").intent, Intent::kOptOut);  // pack still applies
}

TEST(KeywordMatcher, CustomKeywordsAreNormalisedLikeMessages) {
  KeywordConfig config;
  config.opt_out = {"  Opt-Out Now! "};
  auto m = MakeMatcher(config)->Match("OPT OUT NOW");
  EXPECT_EQ(m.intent, Intent::kOptOut);
  EXPECT_EQ(m.rule, "  Opt-Out Now! ");
}

// A number's own keyword matches itself even when it looks like a label or an app's line that
// the reply is otherwise read without ("sms: …").
TEST(KeywordMatcher, AnOwnKeywordThatLooksLikeALabelStillMatchesItself) {
  KeywordConfig config;
  config.replace_default_keywords = true;
  config.opt_in = {"sms:a inte mer,"};
  config.opt_out = {"Sent from my iPhone"};
  auto matcher = MakeMatcher(config);
  const KeywordMatch in = matcher->Match("sms:a inte mer,");
  EXPECT_EQ(in.kind, MatchKind::kExactKeyword) << in.explanation;
  EXPECT_EQ(in.intent, Intent::kOptIn);
  const KeywordMatch out = matcher->Match("Sent from my iPhone");
  EXPECT_EQ(out.kind, MatchKind::kExactKeyword) << out.explanation;
  EXPECT_EQ(out.intent, Intent::kOptOut);
}

TEST(KeywordMatcher, ReplaceDefaultKeywordsUsesOnlyTheNumbersLists) {
  KeywordConfig config;
  config.replace_default_keywords = true;
  config.opt_out = {"HALT"};
  config.opt_in = {"GO"};
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("halt").kind, MatchKind::kExactKeyword);
  EXPECT_EQ(matcher->Match("go").intent, Intent::kOptIn);
  EXPECT_EQ(matcher->Match("START").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("HELP").intent, Intent::kNone);
  // The free-text grammar still recognises a request to stop.
  auto stop = matcher->Match("STOP");
  EXPECT_EQ(stop.intent, Intent::kOptOut);
  EXPECT_EQ(stop.kind, MatchKind::kFreeText);
  EXPECT_EQ(stop.rule, "en.stop-sentence");
}

TEST(KeywordMatcher, ReplaceDefaultKeywordsWithFreeTextOffIgnoresPackWords) {
  KeywordConfig config;
  config.replace_default_keywords = true;
  config.free_text = false;
  config.opt_out = {"HALT"};
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("STOP").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("HALT").intent, Intent::kOptOut);
}

TEST(KeywordMatcher, CustomListCannotTurnAPackOptOutIntoOptIn) {
  KeywordConfig config;
  config.opt_in = {"STOP"};
  auto m = MakeMatcher(config)->Match("stop");
  EXPECT_EQ(m.intent, Intent::kOptOut);
  EXPECT_EQ(m.language, "en");
}

TEST(KeywordMatcher, CustomListOverridesOtherPackIntents) {
  KeywordConfig config;
  config.opt_out = {"YES"};  // this number uses YES to stop (odd, but its call)
  config.help = {"START"};
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("yes").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("yes").language, "custom");
  EXPECT_EQ(matcher->Match("start").intent, Intent::kHelp);
}

TEST(KeywordMatcher, CustomListMayNarrowStopAllToThisNumber) {
  KeywordConfig config;
  config.opt_out = {"STOP ALL"};
  EXPECT_EQ(MakeMatcher(config)->Match("stop all").intent, Intent::kOptOut);
}

TEST(KeywordMatcher, CreateRejectsUnknownLanguage) {
  KeywordConfig config;
  config.languages = {"en", "xx"};
  auto m = KeywordMatcher::Create(config);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("xx"), std::string::npos);
}

TEST(KeywordMatcher, CreateRejectsEmptyKeyword) {
  for (const char* kw : {"", "   ", "!!!", "\U0001F44D"}) {
    SCOPED_TRACE(kw);
    KeywordConfig config;
    config.help = {kw};
    auto m = KeywordMatcher::Create(config);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(KeywordMatcher, CreateRejectsOneKeywordForTwoIntents) {
  KeywordConfig config;
  config.opt_out = {"stop"};
  config.help = {"STOP!"};  // the same keyword after normalisation
  auto m = KeywordMatcher::Create(config);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("STOP!"), std::string::npos);
  EXPECT_NE(m.status().message().find("opt_out"), std::string::npos);
}

TEST(KeywordMatcher, CreateAcceptsARepeatedKeywordInOneList) {
  KeywordConfig config;
  config.opt_out = {"HALT", "halt!"};
  EXPECT_TRUE(KeywordMatcher::Create(config).ok());
}

TEST(KeywordMatcher, LanguageCodesAreCaseInsensitiveAndMayCarryARegion) {
  KeywordConfig config;
  config.languages = {"DA_dk", "en-US", "NO", "nb"};
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("afmeld").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("meld av").language, "nb");
  EXPECT_EQ(matcher->config().languages, config.languages);  // config() is what was given
}

TEST(KeywordMatcher, NoLanguagesMeansOnlyCustomKeywords) {
  KeywordConfig config;
  config.languages = {};
  config.opt_out = {"HALT"};
  auto matcher = MakeMatcher(config);
  EXPECT_EQ(matcher->Match("HALT").intent, Intent::kOptOut);
  EXPECT_EQ(matcher->Match("STOP").intent, Intent::kNone);
  EXPECT_EQ(matcher->Match("please stop texting me").intent, Intent::kNone);
}

TEST(KeywordMatcher, HugeBodiesAreHandledWithoutDeepRecursion) {
  KeywordConfig config;
  config.languages = SupportedLanguages();
  auto matcher = MakeMatcher(config);
  std::string stops;
  while (stops.size() < 100000) stops += "stop ";
  KeywordMatch m = matcher->Match(stops);
  EXPECT_EQ(m.intent, Intent::kOptOut);
  EXPECT_EQ(m.kind, MatchKind::kFreeText);
  std::string chatter;
  while (chatter.size() < 100000) chatter += "no more ne pas å æ ";
  EXPECT_EQ(matcher->Match(chatter).intent, Intent::kNone);
}

TEST(KeywordMatcher, AllLanguagesTogetherStillRejectOrdinaryChat) {
  KeywordConfig config;
  config.languages = SupportedLanguages();
  auto matcher = MakeMatcher(config);
  for (const char* body :
       {"See you at 5!", "thanks", "Yes I'll be there", "Tak for i dag", "Hasta luego", "Bis bald",
        "meet me at the bus stop", "can't stop laughing \U0001F602"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(matcher->Match(body).intent, Intent::kNone);
  }
}

// ----- Regions, names and normalisation. ------------------------------------------------

TEST(DefaultLanguagesForRegion, MapsCountriesToTheirLanguagesThenEnglish) {
  using V = std::vector<std::string>;
  EXPECT_EQ(DefaultLanguagesForRegion("DK"), (V{"da", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("dk"), (V{"da", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("SE"), (V{"sv", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("NO"), (V{"nb", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("DE"), (V{"de", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("AT"), (V{"de", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("CH"), (V{"de", "fr", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("FR"), (V{"fr", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("BE"), (V{"fr", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("ES"), (V{"es", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("MX"), (V{"es", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("AR"), (V{"es", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("CO"), (V{"es", "en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("US"), (V{"en", "es"}));
  EXPECT_EQ(DefaultLanguagesForRegion("CA"), (V{"en", "fr"}));
  EXPECT_EQ(DefaultLanguagesForRegion("GB"), (V{"en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("ZZ"), (V{"en"}));
  EXPECT_EQ(DefaultLanguagesForRegion(""), (V{"en"}));
  EXPECT_EQ(DefaultLanguagesForRegion("DKK"), (V{"en"}));
}

TEST(DefaultLanguagesForRegion, EveryAnswerIsAValidConfiguration) {
  for (const char* region :
       {"DK", "SE", "NO", "DE", "AT", "CH", "FR", "BE", "ES", "MX", "US", "CA", "LU", "GB", "ZZ"}) {
    SCOPED_TRACE(region);
    KeywordConfig config;
    config.languages = DefaultLanguagesForRegion(region);
    EXPECT_TRUE(KeywordMatcher::Create(config).ok());
  }
}

TEST(SupportedLanguages, ListsEveryPackSorted) {
  EXPECT_EQ(SupportedLanguages(),
            (std::vector<std::string>{"da", "de", "en", "es", "fr", "nb", "sv"}));
}

TEST(IntentNames, RoundTripThroughParseIntent) {
  for (Intent i :
       {Intent::kNone, Intent::kOptIn, Intent::kOptOut, Intent::kOptOutAll, Intent::kHelp}) {
    auto parsed = ParseIntent(IntentName(i));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, i);
  }
  EXPECT_EQ(std::string(IntentName(Intent::kOptOutAll)), "opt_out_all");
  EXPECT_EQ(ParseIntent("stop").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(MatchKindName(MatchKind::kIgnoredReaction)), "reaction");
  EXPECT_EQ(std::string(MatchKindName(MatchKind::kExactKeyword)), "exact_keyword");
  EXPECT_EQ(std::string(MatchKindName(MatchKind::kFreeText)), "free_text");
  EXPECT_EQ(std::string(MatchKindName(MatchKind::kNone)), "none");
}

TEST(NormalizeForMatching, FoldsCaseWidthAndStripsEdges) {
  EXPECT_EQ(NormalizeForMatching("  Hello,   World!! "), "hello, world");
  EXPECT_EQ(NormalizeForMatching("\uFF33\uFF34\uFF2F\uFF30"), "stop");
  EXPECT_EQ(NormalizeForMatching("S\u200BTOP"), "stop");
  EXPECT_EQ(NormalizeForMatching("Stra\u00DFe"), "strasse");     // full case folding
  EXPECT_EQ(NormalizeForMatching("ARR\u00CAT!"), "arr\u00EAt");  // diacritics kept here
  EXPECT_EQ(NormalizeForMatching("stop!! \u270B"), "stop");
  EXPECT_EQ(NormalizeForMatching("\u2764\uFE0F stop \U0001F44D\U0001F3FD"), "stop");
  EXPECT_EQ(NormalizeForMatching("Hi\n\n\tthere"), "hi there");
  EXPECT_EQ(NormalizeForMatching("stop \U0001F44D please"), "stop \U0001F44D please");
  EXPECT_EQ(NormalizeForMatching("\U0001F1E9\U0001F1F0"), "");
  EXPECT_EQ(NormalizeForMatching(""), "");
  EXPECT_EQ(NormalizeForMatching("\xFF\xFEstop\xC3"), "stop");  // invalid UTF-8
}

TEST(NormalizeForMatching, AsciiFastPathAgreesWithIcu) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 127);
  std::uniform_int_distribution<int> len(0, 24);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s.push_back(static_cast<char>(byte(rng)));
    ASSERT_EQ(NormalizeForMatching(s), keywords_internal::NormalizeWithIcu(s)) << "input: " << s;
  }
  for (const char* s : {" STOP!! ", "Opt-Out", "\tquit.\r\n", "don't  text\x01me", "~stop~"}) {
    EXPECT_EQ(NormalizeForMatching(s), keywords_internal::NormalizeWithIcu(s)) << s;
  }
}

TEST(KeywordComparisonKey, SplitsOnInnerPunctuationAndFoldsDiacritics) {
  EXPECT_EQ(KeywordComparisonKey("Opt-Out!"), "opt out");
  EXPECT_EQ(KeywordComparisonKey("ARR\u00CAT"), "arret");
  EXPECT_EQ(KeywordComparisonKey("HJ\u00C6LP"), "hj\u00E6lp");  // æ does not decompose
  EXPECT_EQ(KeywordComparisonKey("HJ\u00C4LP"), "hjalp");
  EXPECT_EQ(KeywordComparisonKey("don\u2019t"), "don't");
  EXPECT_EQ(KeywordComparisonKey("m'envoyer"), "m envoyer");  // French elision splits
  EXPECT_EQ(KeywordComparisonKey("sms:a"), "sms:a");          // Swedish colon stays
  EXPECT_EQ(KeywordComparisonKey("!!!"), "");
}

// "l'" and the like are words of their own however many follow each other, so a key reads
// back as itself.
TEST(KeywordComparisonKey, EveryElidedPrefixIsAWord) {
  EXPECT_EQ(KeywordComparisonKey("l'l'e"), "l l e");
  EXPECT_EQ(KeywordComparisonKey("qu'l\u2019arr\u00EAt"), "qu l arret");
  EXPECT_EQ(KeywordComparisonKey("l l'e"), "l l e");
  // A prefix whose key is "l" ("l" with a combining mark) is elided as "l" is.
  EXPECT_EQ(KeywordComparisonKey("l\u0612'rd"), "l rd");
  EXPECT_EQ(KeywordComparisonKey(KeywordComparisonKey("l\u0612'rd")), "l rd");
}

// Combining marks with no letter to sit on (after a space or a symbol such as the U+FFFD of
// invalid UTF-8) are no word and start none, so the words around them still make the keyword.
TEST(KeywordComparisonKey, CombiningMarksAloneAreNoWord) {
  EXPECT_EQ(KeywordComparisonKey("STOP \u0319 ALL"), "stop all");
  EXPECT_EQ(KeywordComparisonKey("e\x96\xCC\x99\xFF z"), "e z");  // U+FFFD, U+0319, U+FFFD
  EXPECT_EQ(KeywordComparisonKey("e \u0612'rd"), "e rd");
  // An apostrophe before a mark joins nothing: it would end the key of "e'".
  EXPECT_EQ(KeywordComparisonKey("l'e'\u1C30"), "l e");
  for (const std::string_view text :
       {"STOP \u0319 ALL", "e\x96\xCC\x99\xFF z", "e \u0612'rd", "l'e'\u1C30"}) {
    const std::string key = KeywordComparisonKey(text);
    EXPECT_EQ(KeywordComparisonKey(key), key) << text;
  }
  const KeywordMatch m = MakeMatcher("en")->Match("STOP \u0319 ALL");
  EXPECT_EQ(m.intent, Intent::kOptOutAll) << m.explanation;
  EXPECT_EQ(m.kind, MatchKind::kExactKeyword);
}

}  // namespace
}  // namespace smsconsent
