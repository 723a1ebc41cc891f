#include "core/consent.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/sending.h"

namespace smsconsent {
namespace {

// Name tables: the one place each enum's wire names are spelled.
template <typename E, size_t N>
Result<E> ParseByName(std::string_view s, const std::array<std::pair<E, const char*>, N>& table,
                      const char* what) {
  for (const auto& [value, name] : table) {
    if (s == name) return value;
  }
  std::string known;
  for (const auto& [value, name] : table) {
    if (!known.empty()) known += ", ";
    known += name;
  }
  return InvalidArgument(std::string("unknown ") + what + " '" + std::string(s) +
                         "' (expected one of: " + known + ")");
}

template <typename E, size_t N>
const char* NameOf(E v, const std::array<std::pair<E, const char*>, N>& table) {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<SubscriptionStatus, const char*>, 4> kStatusNames{{
    {SubscriptionStatus::kNotSpecified, "not_specified"},
    {SubscriptionStatus::kOptedIn, "opted_in"},
    {SubscriptionStatus::kOptedOut, "opted_out"},
    {SubscriptionStatus::kPendingConfirmation, "pending_confirmation"},
}};
constexpr std::array<std::pair<Source, const char*>, 8> kSourceNames{{
    {Source::kKeyword, "keyword"},
    {Source::kManual, "manual"},
    {Source::kBulk, "bulk"},
    {Source::kApi, "api"},
    {Source::kImport, "import"},
    {Source::kSystem, "system"},
    {Source::kContactRequest, "contact_request"},
    {Source::kCarrier, "carrier"},
}};
constexpr std::array<std::pair<NumberKind, const char*>, 3> kKindNames{{
    {NumberKind::kLongCode, "long_code"},
    {NumberKind::kTollFree, "toll_free"},
    {NumberKind::kShortCode, "short_code"},
}};
constexpr std::array<std::pair<LegalBasis, const char*>, 6> kLegalBasisNames{{
    {LegalBasis::kConsent, "consent"},
    {LegalBasis::kConsentWithNotice, "consent_with_notice"},
    {LegalBasis::kContract, "performance_of_contract"},
    {LegalBasis::kLegitimateInterest, "legitimate_interest"},
    {LegalBasis::kExistingCustomer, "existing_customer"},
    {LegalBasis::kNotSubjectToGdpr, "not_subject_to_gdpr"},
}};
constexpr std::array<std::pair<ReplyKind, const char*>, 5> kReplyKindNames{{
    {ReplyKind::kOptInConfirmation, "opt_in_confirmation"},
    {ReplyKind::kOptOutConfirmation, "opt_out_confirmation"},
    {ReplyKind::kHelp, "help"},
    {ReplyKind::kMessage, "message"},
    {ReplyKind::kConfirmationRequest, "confirmation_request"},
}};
constexpr std::array<std::pair<Purpose, const char*>, 2> kPurposeNames{{
    {Purpose::kMarketing, "marketing"},
    {Purpose::kTransactional, "transactional"},
}};
constexpr std::array<std::pair<OptOutScope, const char*>, 2> kScopeNames{{
    {OptOutScope::kNumber, "number"},
    {OptOutScope::kAccount, "account"},
}};

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

bool ConfirmsUserOptIn(const NumberPolicy& n) {
  return n.kind == NumberKind::kShortCode || n.opt_in_confirmation;
}

}  // namespace

const char* SubscriptionStatusName(SubscriptionStatus s) { return NameOf(s, kStatusNames); }
Result<SubscriptionStatus> ParseSubscriptionStatus(std::string_view s) {
  return ParseByName(s, kStatusNames, "status");
}
const char* SourceName(Source s) { return NameOf(s, kSourceNames); }
Result<Source> ParseSource(std::string_view s) { return ParseByName(s, kSourceNames, "source"); }
const char* NumberKindName(NumberKind k) { return NameOf(k, kKindNames); }
Result<NumberKind> ParseNumberKind(std::string_view s) {
  return ParseByName(s, kKindNames, "number kind");
}
const char* LegalBasisName(LegalBasis b) { return NameOf(b, kLegalBasisNames); }
Result<LegalBasis> ParseLegalBasis(std::string_view s) {
  return ParseByName(s, kLegalBasisNames, "legal basis");
}
std::vector<std::string> LegalBasisNames() {
  std::vector<std::string> out;
  for (const auto& [v, name] : kLegalBasisNames) out.emplace_back(name);
  return out;
}
const char* ReplyKindName(ReplyKind k) { return NameOf(k, kReplyKindNames); }
Result<ReplyKind> ParseReplyKind(std::string_view s) {
  return ParseByName(s, kReplyKindNames, "reply kind");
}
const char* PurposeName(Purpose p) { return NameOf(p, kPurposeNames); }
Result<Purpose> ParsePurpose(std::string_view s) {
  return ParseByName(s, kPurposeNames, "purpose");
}
const char* OptOutScopeName(OptOutScope s) { return NameOf(s, kScopeNames); }
Result<OptOutScope> ParseOptOutScope(std::string_view s) {
  return ParseByName(s, kScopeNames, "opt-out scope");
}

ConsentState ApplyEvent(const ConsentState& before, SubscriptionStatus to, Source source,
                        int64_t at_ms) {
  ConsentState after = before;
  const bool by_contact = IsContactSource(source);
  if (to != before.status) {
    after.status = to;
    after.self_opted_out = by_contact && to == SubscriptionStatus::kOptedOut;
    after.source = source;
    after.updated_at_ms = at_ms;
  } else if (by_contact && to == SubscriptionStatus::kOptedOut) {
    // A contact confirming an opt-out a user had set makes it their own (by keyword or by
    // another channel recorded on their behalf); since and source
    // stay those of the opt-out, which is when and how the status changed.
    after.self_opted_out = true;
  } else if (to == SubscriptionStatus::kPendingConfirmation) {
    // A renewed request for confirmation: the window runs from it.
    after.source = source;
    after.updated_at_ms = at_ms;
  }
  return after;
}

bool IsConfirmationReply(std::string_view normalized) {
  static constexpr std::string_view kYes[] = {"yes", "y", "ja", "oui", "si", "s\xc3\xad"};
  return std::find(std::begin(kYes), std::end(kYes), normalized) != std::end(kYes);
}

Result<KeywordPlan> PlanKeyword(const KeywordInput& in) {
  const auto receiving = std::find_if(
      in.numbers.begin(), in.numbers.end(),
      [&](const NumberState& n) { return n.number.number_id == in.receiving_number_id; });
  if (receiving == in.numbers.end()) {
    return InvalidArgument("receiving number " + std::to_string(in.receiving_number_id) +
                           " is not among the contact's numbers");
  }
  KeywordPlan plan;
  // A yes from a contact waiting to confirm answers the request, whatever else the word means
  // ("YES" is also an English opt-in keyword). Within the window it completes the opt-in; after
  // it, the request is sent again and the window starts over.
  if (in.confirms && receiving->state.status == SubscriptionStatus::kPendingConfirmation) {
    const bool in_window = in.now_ms - receiving->state.updated_at_ms <= in.confirmation_window_ms;
    const SubscriptionStatus to =
        in_window ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kPendingConfirmation;
    plan.transitions.push_back({receiving->number.number_id, receiving->state.status, to});
    plan.reply = in_window ? ReplyKind::kOptInConfirmation : ReplyKind::kConfirmationRequest;
    return plan;
  }
  switch (in.intent) {
    case Intent::kNone:
      return plan;
    case Intent::kHelp:
      plan.reply = ReplyKind::kHelp;  // answered whatever the contact's status
      return plan;
    case Intent::kOptIn:
      // Only the receiving number: opting in is specific to the program texted.
      if (receiving->number.double_opt_in &&
          receiving->state.status != SubscriptionStatus::kOptedIn) {
        plan.transitions.push_back({receiving->number.number_id, receiving->state.status,
                                    SubscriptionStatus::kPendingConfirmation});
        plan.reply = ReplyKind::kConfirmationRequest;
        return plan;
      }
      plan.transitions.push_back(
          {receiving->number.number_id, receiving->state.status, SubscriptionStatus::kOptedIn});
      // The contact asked; they get an answer even when already opted in.
      plan.reply = ReplyKind::kOptInConfirmation;
      return plan;
    case Intent::kOptOut:
    case Intent::kOptOutAll: {
      const bool all = in.intent == Intent::kOptOutAll || in.opt_out_scope == OptOutScope::kAccount;
      bool newly_own = false;
      for (const NumberState& n : in.numbers) {
        if (!all && n.number.number_id != in.receiving_number_id) continue;
        plan.transitions.push_back(
            {n.number.number_id, n.state.status, SubscriptionStatus::kOptedOut});
        const bool was_own =
            n.state.status == SubscriptionStatus::kOptedOut && n.state.self_opted_out;
        newly_own = newly_own || !was_own;
      }
      // One confirmation however many numbers; none for a repeated STOP.
      if (newly_own) plan.reply = ReplyKind::kOptOutConfirmation;
      return plan;
    }
  }
  return Internal("unhandled intent");
}

Result<UserChangePlan> PlanUserChange(const UserChangeInput& in) {
  if (IsContactSource(in.source)) {
    return InvalidArgument(std::string("a user change cannot have source '") +
                           SourceName(in.source) + "'");
  }
  const ConsentState& cur = in.current;
  if (cur.status == SubscriptionStatus::kOptedOut && cur.self_opted_out &&
      in.target != SubscriptionStatus::kOptedOut) {
    return FailedPrecondition(
        "the contact opted out themselves (by text message, or by another channel recorded on "
        "their behalf); only the contact can opt back in, by texting an opt-in keyword such as "
        "START");
  }
  if (in.target == SubscriptionStatus::kPendingConfirmation) {
    return InvalidArgument(
        "pending_confirmation cannot be set: opting a contact in on a number with double opt-in "
        "leads there, until the contact confirms");
  }
  if (in.target == SubscriptionStatus::kOptedIn) {
    const Attestation& a = in.attestation;
    if (!a.express_consent) {
      return InvalidArgument(
          "opting a contact in requires attesting that you hold their express, verifiable "
          "consent");
    }
    if (!a.legal_basis) {
      return InvalidArgument("opting a contact in requires a legal basis");
    }
    if (IsBlank(a.explanation)) {
      return InvalidArgument(
          "opting a contact in requires an explanation of how consent was obtained");
    }
  }
  UserChangePlan plan;
  if (in.target == SubscriptionStatus::kOptedIn && in.number.double_opt_in &&
      cur.status != SubscriptionStatus::kOptedIn) {
    // The attestation is recorded with the pending step; only the contact's yes completes it.
    plan.transition = {in.number.number_id, cur.status, SubscriptionStatus::kPendingConfirmation};
    plan.send_confirmation_request = true;
    return plan;
  }
  plan.transition = {in.number.number_id, cur.status, in.target};
  plan.send_confirmation = plan.transition.changed() && in.target == SubscriptionStatus::kOptedIn &&
                           ConfirmsUserOptIn(in.number);
  return plan;
}

bool ReplyFollowsStatus(ReplyKind kind) {
  return kind != ReplyKind::kOptOutConfirmation && kind != ReplyKind::kHelp &&
         kind != ReplyKind::kMessage;
}

std::string DurationText(int64_t ms) {
  constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute;
  if (ms < 0) ms = 0;
  if (ms >= kHour && (ms % kHour == 0 || ms >= 2 * kHour)) return std::to_string(ms / kHour) + " h";
  if (ms >= kMinute && (ms % kMinute == 0 || ms >= 2 * kMinute)) {
    return std::to_string(ms / kMinute) + " min";
  }
  return std::to_string(ms / kSecond) + " s";
}

int64_t ReplyMaxAges::For(ReplyKind kind) const {
  switch (kind) {
    case ReplyKind::kOptOutConfirmation:
      return opt_out_confirmation_ms;
    case ReplyKind::kHelp:
      return help_ms;
    case ReplyKind::kMessage:
      return message_ms;
    case ReplyKind::kOptInConfirmation:
    case ReplyKind::kConfirmationRequest:
      break;
  }
  return reply_ms;
}

ReplyVerdict DecidePendingReply(const PendingReply& reply, int64_t now_ms,
                                const ReplyMaxAges& ages) {
  ReplyVerdict v;
  if (reply.kind == ReplyKind::kMessage) {
    if (auto refused = MessageRefusal(reply.purpose, reply.status_now)) {
      v.fate = ReplyFate::kCancel;
      v.reason = std::string(SendRefusalCode(refused->why)) + ": " + refused->message;
      return v;
    }
  } else if (ReplyFollowsStatus(reply.kind)) {
    const bool wrong_now = (reply.kind == ReplyKind::kOptInConfirmation &&
                            reply.status_now != SubscriptionStatus::kOptedIn) ||
                           (reply.kind == ReplyKind::kConfirmationRequest &&
                            reply.status_now != SubscriptionStatus::kPendingConfirmation);
    if (reply.status_changed || wrong_now) {
      v.fate = ReplyFate::kCancel;
      v.reason = std::string("status changed since queued: now ") +
                 SubscriptionStatusName(reply.status_now);
      return v;
    }
  }
  const int64_t max_age = ages.For(reply.kind);
  const int64_t age = now_ms - reply.queued_at_ms;
  if (age > max_age) {
    v.fate = ReplyFate::kExpire;
    v.reason = "not sent within its maximum age of " + DurationText(max_age) + " (queued " +
               DurationText(age) + " ago)";
  }
  return v;
}

std::string RenderReply(std::string_view tmpl, std::string_view business_name) {
  static constexpr std::string_view kPlaceholder = "{business}";
  std::string out;
  out.reserve(tmpl.size() + business_name.size());
  size_t pos = 0;
  while (true) {
    const size_t at = tmpl.find(kPlaceholder, pos);
    if (at == std::string_view::npos) break;
    out.append(tmpl.substr(pos, at - pos));
    out.append(business_name);
    pos = at + kPlaceholder.size();
  }
  out.append(tmpl.substr(pos));
  return out;
}

DefaultReplies DefaultRepliesFor(std::string_view language) {
  if (language == "da") {
    return {"{business}: Du er nu tilmeldt SMS. Svar STOP for at afmelde, HJÆLP for hjælp.",
            "{business}: Du er afmeldt og modtager ikke flere SMS. Svar START for at tilmelde "
            "igen.",
            "{business}: Svar STOP for at afmelde, START for at tilmelde.",
            "{business}: Svar JA for at bekræfte, at du vil modtage SMS. Svar STOP for at "
            "afmelde."};
  }
  if (language == "es") {
    return {"{business}: Te has suscrito a SMS. Responde BAJA para cancelar, AYUDA para ayuda.",
            "{business}: Te has dado de baja y no recibirás más SMS. Responde ALTA para volver.",
            "{business}: Responde BAJA para cancelar, ALTA para suscribirte.",
            "{business}: Responde SI para confirmar que quieres recibir SMS. Responde BAJA para "
            "cancelar."};
  }
  return {
      "{business}: You are now subscribed to SMS. Msg&data rates may apply. Reply STOP to "
      "opt out, HELP for help.",
      "{business}: You are unsubscribed and will receive no more messages. Reply START to "
      "resubscribe.",
      "{business}: Reply STOP to opt out, START to subscribe. Msg&data rates may apply.",
      "{business}: Reply YES to confirm you want to receive SMS. Msg&data rates may apply. "
      "Reply STOP to opt out."};
}

}  // namespace smsconsent
