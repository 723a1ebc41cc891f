#include "core/consent.h"

#include <gtest/gtest.h>

namespace smsconsent {
namespace {

constexpr int64_t kLong = 1, kShort = 2, kToll = 3;

ConsentState State(SubscriptionStatus s, Source src, bool self = false) {
  ConsentState st;
  st.status = s;
  st.source = src;
  st.self_opted_out = self;
  st.updated_at_ms = 1000;
  return st;
}

const ConsentState kSelfOut = State(SubscriptionStatus::kOptedOut, Source::kKeyword, true);
const ConsentState kUserOut = State(SubscriptionStatus::kOptedOut, Source::kManual);
const ConsentState kUserIn = State(SubscriptionStatus::kOptedIn, Source::kManual);
const ConsentState kUnset{};

KeywordInput Input(Intent intent, int64_t receiving, ConsentState on_long = {},
                   ConsentState on_short = {}, ConsentState on_toll = {}) {
  KeywordInput in;
  in.intent = intent;
  in.receiving_number_id = receiving;
  in.numbers = {{{kLong, NumberKind::kLongCode, false}, on_long},
                {{kShort, NumberKind::kShortCode, true}, on_short},
                {{kToll, NumberKind::kTollFree, false}, on_toll}};
  return in;
}

Attestation Full() {
  return {true, LegalBasis::kConsent, "Signed up at the counter on 2026-11-01"};
}

UserChangeInput Change(ConsentState current, SubscriptionStatus target, NumberKind kind,
                       Attestation a = Full(), Source source = Source::kManual) {
  UserChangeInput in;
  in.number = {kLong, kind, false};
  in.current = current;
  in.target = target;
  in.source = source;
  in.attestation = std::move(a);
  return in;
}

TEST(Names, RoundTripEveryEnum) {
  for (auto s : {SubscriptionStatus::kNotSpecified, SubscriptionStatus::kOptedIn,
                 SubscriptionStatus::kOptedOut}) {
    EXPECT_EQ(*ParseSubscriptionStatus(SubscriptionStatusName(s)), s);
  }
  for (auto s : {Source::kKeyword, Source::kManual, Source::kBulk, Source::kApi, Source::kImport,
                 Source::kSystem}) {
    EXPECT_EQ(*ParseSource(SourceName(s)), s);
  }
  for (const std::string& b : LegalBasisNames()) EXPECT_EQ(LegalBasisName(*ParseLegalBasis(b)), b);
  EXPECT_EQ(*ParseNumberKind("short_code"), NumberKind::kShortCode);
  EXPECT_EQ(*ParseOptOutScope("account"), OptOutScope::kAccount);
  for (auto k : {ReplyKind::kOptInConfirmation, ReplyKind::kOptOutConfirmation, ReplyKind::kHelp}) {
    EXPECT_EQ(*ParseReplyKind(ReplyKindName(k)), k);
  }
  EXPECT_EQ(ParseReplyKind("welcome").status().code(), StatusCode::kInvalidArgument);
}

TEST(Names, UnknownNameListsTheChoices) {
  auto r = ParseSubscriptionStatus("subscribed");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'subscribed'"), std::string::npos);
  EXPECT_NE(r.status().message().find("opted_in"), std::string::npos);
}

TEST(ApplyEvent, KeywordOptOutIsTheContactsOwn) {
  auto s = ApplyEvent(kUnset, SubscriptionStatus::kOptedOut, Source::kKeyword, 5);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.updated_at_ms, 5);
  EXPECT_EQ(s.source, Source::kKeyword);
}

TEST(ApplyEvent, UserOptOutIsNotSelf) {
  EXPECT_FALSE(
      ApplyEvent(kUserIn, SubscriptionStatus::kOptedOut, Source::kManual, 5).self_opted_out);
}

TEST(ApplyEvent, ContactConfirmingUserOptOutMakesItTheirOwn) {
  EXPECT_TRUE(
      ApplyEvent(kUserOut, SubscriptionStatus::kOptedOut, Source::kKeyword, 5).self_opted_out);
}

TEST(ApplyEvent, UserNoChangeKeepsSelfOptOut) {
  EXPECT_TRUE(ApplyEvent(kSelfOut, SubscriptionStatus::kOptedOut, Source::kBulk, 5).self_opted_out);
}

TEST(ApplyEvent, OptInByKeywordClearsSelfOptOut) {
  auto s = ApplyEvent(kSelfOut, SubscriptionStatus::kOptedIn, Source::kKeyword, 5);
  EXPECT_EQ(s.status, SubscriptionStatus::kOptedIn);
  EXPECT_FALSE(s.self_opted_out);
}

// since (updated_at_ms) and source say when and how the status last changed: an event that
// leaves the status as it was is evidence in the ledger, not a change.
TEST(ApplyEvent, NoChangeEventKeepsSinceAndSource) {
  const ConsentState by_keyword =
      ApplyEvent(kUnset, SubscriptionStatus::kOptedIn, Source::kKeyword, 100);
  const ConsentState s = ApplyEvent(by_keyword, SubscriptionStatus::kOptedIn, Source::kManual, 200);
  EXPECT_EQ(s.status, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 100);
  EXPECT_FALSE(s.self_opted_out);
}

TEST(ApplyEvent, RepeatedStopKeepsSince) {
  const ConsentState first =
      ApplyEvent(kUserIn, SubscriptionStatus::kOptedOut, Source::kKeyword, 100);
  const ConsentState again =
      ApplyEvent(first, SubscriptionStatus::kOptedOut, Source::kKeyword, 200);
  EXPECT_TRUE(again.self_opted_out);
  EXPECT_EQ(again.source, Source::kKeyword);
  EXPECT_EQ(again.updated_at_ms, 100);
}

TEST(ApplyEvent, ContactConfirmingUserOptOutKeepsItsSinceAndSource) {
  const ConsentState s = ApplyEvent(kUserOut, SubscriptionStatus::kOptedOut, Source::kKeyword, 5);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.source, Source::kManual);
  EXPECT_EQ(s.updated_at_ms, 1000);
}

TEST(ApplyEvent, NoChangeOnANeverSetPairLeavesItNeverChanged) {
  const ConsentState s = ApplyEvent(kUnset, SubscriptionStatus::kNotSpecified, Source::kManual, 5);
  EXPECT_EQ(s.status, SubscriptionStatus::kNotSpecified);
  EXPECT_EQ(s.updated_at_ms, 0);
  EXPECT_EQ(s.source, Source::kSystem);
}

TEST(MaySend, OnlyOptedIn) {
  EXPECT_TRUE(MaySend(kUserIn));
  EXPECT_FALSE(MaySend(kUnset));
  EXPECT_FALSE(MaySend(kUserOut));
  EXPECT_FALSE(MaySend(kSelfOut));
}

TEST(PlanKeyword, NoIntentChangesNothingAndSendsNothing) {
  auto p = PlanKeyword(Input(Intent::kNone, kLong));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->transitions.empty());
  EXPECT_FALSE(p->reply);
}

TEST(PlanKeyword, HelpIsAnsweredForAnyoneWithoutChange) {
  for (const ConsentState& s : {kUnset, kUserIn, kSelfOut}) {
    auto p = PlanKeyword(Input(Intent::kHelp, kLong, s));
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->transitions.empty());
    EXPECT_EQ(p->reply, ReplyKind::kHelp);
  }
}

TEST(PlanKeyword, OptInAffectsOnlyTheNumberTextedAndIsConfirmed) {
  auto p = PlanKeyword(Input(Intent::kOptIn, kShort));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transitions.size(), 1u);
  EXPECT_EQ(p->transitions[0].number_id, kShort);
  EXPECT_EQ(p->transitions[0].to, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(p->reply, ReplyKind::kOptInConfirmation);
}

TEST(PlanKeyword, OptInLiftsTheContactsOwnOptOut) {
  auto p = PlanKeyword(Input(Intent::kOptIn, kLong, kSelfOut));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->transitions[0].from, SubscriptionStatus::kOptedOut);
  EXPECT_TRUE(p->transitions[0].changed());
}

TEST(PlanKeyword, RepeatedOptInIsRecordedAsNoChange) {
  auto p = PlanKeyword(Input(Intent::kOptIn, kLong, kUserIn));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transitions.size(), 1u);
  EXPECT_FALSE(p->transitions[0].changed());
}

TEST(PlanKeyword, PlainOptOutAffectsOnlyTheNumberTextedByDefault) {
  auto p = PlanKeyword(Input(Intent::kOptOut, kLong, kUserIn, kUserIn, kUserIn));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transitions.size(), 1u);
  EXPECT_EQ(p->transitions[0].number_id, kLong);
  EXPECT_EQ(p->reply, ReplyKind::kOptOutConfirmation);
}

TEST(PlanKeyword, AccountScopePolicyMakesPlainOptOutCoverEveryNumber) {
  auto in = Input(Intent::kOptOut, kLong, kUserIn, kUserIn, kUserIn);
  in.opt_out_scope = OptOutScope::kAccount;
  auto p = PlanKeyword(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->transitions.size(), 3u);
}

TEST(PlanKeyword, StopAllCoversEveryNumberWithOneConfirmation) {
  auto p = PlanKeyword(Input(Intent::kOptOutAll, kShort, kUserIn, kUserIn, kUnset));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transitions.size(), 3u);
  for (const auto& t : p->transitions) EXPECT_EQ(t.to, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(p->reply, ReplyKind::kOptOutConfirmation);  // one reply, not three
}

TEST(PlanKeyword, RepeatedStopGetsNoSecondConfirmation) {
  auto p = PlanKeyword(Input(Intent::kOptOut, kLong, kSelfOut));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transitions.size(), 1u);
  EXPECT_FALSE(p->transitions[0].changed());
  EXPECT_FALSE(p->reply);
}

TEST(PlanKeyword, StopAfterAUsersOptOutIsConfirmedOnce) {
  // The status does not change, but the opt-out becomes the contact's own: confirm it.
  auto p = PlanKeyword(Input(Intent::kOptOut, kLong, kUserOut));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->transitions[0].changed());
  EXPECT_EQ(p->reply, ReplyKind::kOptOutConfirmation);
}

TEST(PlanKeyword, StopAllWhenAlreadyOutEverywhereSendsNothing) {
  auto p = PlanKeyword(Input(Intent::kOptOutAll, kLong, kSelfOut, kSelfOut, kSelfOut));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->transitions.size(), 3u);
  EXPECT_FALSE(p->reply);
}

TEST(PlanKeyword, UnknownReceivingNumberIsAnError) {
  auto p = PlanKeyword(Input(Intent::kOptOut, 99));
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

TEST(PlanUserChange, OptInNeedsAttestation) {
  Attestation a = Full();
  a.express_consent = false;
  auto p = PlanUserChange(Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode, a));
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("attest"), std::string::npos);
}

TEST(PlanUserChange, OptInNeedsLegalBasis) {
  Attestation a = Full();
  a.legal_basis.reset();
  auto p = PlanUserChange(Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode, a));
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("legal basis"), std::string::npos);
}

TEST(PlanUserChange, OptInNeedsANonBlankExplanation) {
  Attestation a = Full();
  a.explanation = "   \t";
  auto p = PlanUserChange(Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode, a));
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("explanation"), std::string::npos);
}

TEST(PlanUserChange, OptOutNeedsNoAttestation) {
  auto p = PlanUserChange(
      Change(kUserIn, SubscriptionStatus::kOptedOut, NumberKind::kLongCode, Attestation{}));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->transition.changed());
  EXPECT_FALSE(p->send_confirmation);
}

TEST(PlanUserChange, SelfOptOutCannotBeOverriddenByAnyUserSource) {
  for (Source src : {Source::kManual, Source::kBulk, Source::kApi, Source::kImport}) {
    for (auto target : {SubscriptionStatus::kOptedIn, SubscriptionStatus::kNotSpecified}) {
      auto p = PlanUserChange(Change(kSelfOut, target, NumberKind::kLongCode, Full(), src));
      EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition) << SourceName(src);
    }
  }
}

TEST(PlanUserChange, UsersOwnOptOutCanBeReversedByAUser) {
  auto p = PlanUserChange(Change(kUserOut, SubscriptionStatus::kOptedIn, NumberKind::kLongCode));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->transition.changed());
}

TEST(PlanUserChange, OptOutOnTopOfSelfOptOutIsANoChange) {
  auto p = PlanUserChange(
      Change(kSelfOut, SubscriptionStatus::kOptedOut, NumberKind::kLongCode, Attestation{}));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->transition.changed());
}

TEST(PlanUserChange, ShortCodeOptInAlwaysConfirms) {
  auto in = Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kShortCode);
  in.number.opt_in_confirmation = false;  // cannot be turned off for short codes
  auto p = PlanUserChange(in);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->send_confirmation);
}

TEST(PlanUserChange, LongCodeConfirmsOnlyWhenConfigured) {
  auto in = Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode);
  EXPECT_FALSE(PlanUserChange(in)->send_confirmation);
  in.number.opt_in_confirmation = true;
  EXPECT_TRUE(PlanUserChange(in)->send_confirmation);
}

TEST(PlanUserChange, NoChangeOptInSendsNoSecondConfirmation) {
  auto p = PlanUserChange(Change(kUserIn, SubscriptionStatus::kOptedIn, NumberKind::kShortCode));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->transition.changed());
  EXPECT_FALSE(p->send_confirmation);
}

TEST(PlanUserChange, KeywordIsNotAUserSource) {
  auto p = PlanUserChange(Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode,
                                 Full(), Source::kKeyword));
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

TEST(RenderReply, ReplacesEveryPlaceholder) {
  EXPECT_EQ(RenderReply("{business}: hi from {business}", "Acme"), "Acme: hi from Acme");
  EXPECT_EQ(RenderReply("no placeholder", "Acme"), "no placeholder");
}

TEST(DefaultReplies, DanishAndFallbackToEnglish) {
  EXPECT_NE(DefaultRepliesFor("da").opt_out.find("afmeldt"), std::string::npos);
  EXPECT_NE(DefaultRepliesFor("xx").help.find("Reply STOP"), std::string::npos);
}

}  // namespace
}  // namespace smsconsent
