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
                 SubscriptionStatus::kOptedOut, SubscriptionStatus::kPendingConfirmation}) {
    EXPECT_EQ(*ParseSubscriptionStatus(SubscriptionStatusName(s)), s);
  }
  for (auto s : {Source::kKeyword, Source::kManual, Source::kBulk, Source::kApi, Source::kImport,
                 Source::kSystem, Source::kContactRequest}) {
    EXPECT_EQ(*ParseSource(SourceName(s)), s);
  }
  for (const std::string& b : LegalBasisNames()) EXPECT_EQ(LegalBasisName(*ParseLegalBasis(b)), b);
  EXPECT_EQ(*ParseNumberKind("short_code"), NumberKind::kShortCode);
  EXPECT_EQ(*ParseOptOutScope("account"), OptOutScope::kAccount);
  for (auto k : {ReplyKind::kOptInConfirmation, ReplyKind::kOptOutConfirmation, ReplyKind::kHelp,
                 ReplyKind::kMessage, ReplyKind::kConfirmationRequest}) {
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

TEST(ApplyEvent, OptOutRecordedOnTheContactsBehalfIsTheContactsOwn) {
  auto s = ApplyEvent(kUserIn, SubscriptionStatus::kOptedOut, Source::kContactRequest, 5);
  EXPECT_EQ(s.status, SubscriptionStatus::kOptedOut);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.source, Source::kContactRequest);
  // Recorded on top of a user's opt-out, it makes that opt-out the contact's own.
  EXPECT_TRUE(ApplyEvent(kUserOut, SubscriptionStatus::kOptedOut, Source::kContactRequest, 5)
                  .self_opted_out);
  // The contact's START lifts it.
  EXPECT_FALSE(ApplyEvent(s, SubscriptionStatus::kOptedIn, Source::kKeyword, 6).self_opted_out);
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

TEST(PlanUserChange, OptOutRecordedOnTheContactsBehalfCannotBeOverriddenByAnyUserSource) {
  const ConsentState on_behalf =
      ApplyEvent(kUserIn, SubscriptionStatus::kOptedOut, Source::kContactRequest, 5);
  for (Source src : {Source::kManual, Source::kBulk, Source::kApi, Source::kImport}) {
    for (auto target : {SubscriptionStatus::kOptedIn, SubscriptionStatus::kNotSpecified}) {
      auto p = PlanUserChange(Change(on_behalf, target, NumberKind::kLongCode, Full(), src));
      EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition) << SourceName(src);
    }
  }
}

TEST(PlanUserChange, ContactSourcesAreNotUserChanges) {
  for (Source src : {Source::kKeyword, Source::kContactRequest}) {
    auto p = PlanUserChange(
        Change(kUnset, SubscriptionStatus::kOptedOut, NumberKind::kLongCode, Full(), src));
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << SourceName(src);
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

// ---- A queued reply at the moment it leaves --------------------------------------------------

constexpr int64_t kQueuedAt = 1'000'000;
constexpr int64_t kHourMs = 3'600'000;

PendingReply Pending(ReplyKind kind, SubscriptionStatus now, bool changed = false) {
  PendingReply r;
  r.kind = kind;
  r.queued_at_ms = kQueuedAt;
  r.status_now = now;
  r.status_changed = changed;
  return r;
}

TEST(DecidePendingReply, OptInConfirmationIsCancelledOnceTheContactOptedOut) {
  const ReplyVerdict v =
      DecidePendingReply(Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kOptedOut,
                                 /*changed=*/true),
                         kQueuedAt + 1000, ReplyMaxAges{});
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
  EXPECT_EQ(v.reason, "status changed since queued: now opted_out");
}

TEST(DecidePendingReply, OptInConfirmationIsCancelledWhenTheStatusChangedAndChangedBack) {
  // STOP, then START again: the new START queued a confirmation of its own.
  const ReplyVerdict v = DecidePendingReply(
      Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kOptedIn, /*changed=*/true),
      kQueuedAt, ReplyMaxAges{});
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
  EXPECT_EQ(v.reason, "status changed since queued: now opted_in");
}

TEST(DecidePendingReply, OptInConfirmationNeedsTheContactOptedInEvenWithoutARecordedChange) {
  const ReplyVerdict v =
      DecidePendingReply(Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kNotSpecified),
                         kQueuedAt, ReplyMaxAges{});
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
  EXPECT_EQ(v.reason, "status changed since queued: now not_specified");
}

TEST(DecidePendingReply, UnchangedOptInConfirmationIsSentWithinItsMaximumAge) {
  const PendingReply r = Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kOptedIn);
  const ReplyVerdict v = DecidePendingReply(r, kQueuedAt + kHourMs, ReplyMaxAges{});
  EXPECT_EQ(v.fate, ReplyFate::kSend);
  EXPECT_EQ(v.reason, "");
}

TEST(DecidePendingReply, OptOutConfirmationAndHelpGoToOptedOutContactsWhateverChanged) {
  for (ReplyKind kind : {ReplyKind::kOptOutConfirmation, ReplyKind::kHelp}) {
    for (SubscriptionStatus now : {SubscriptionStatus::kOptedOut, SubscriptionStatus::kOptedIn,
                                   SubscriptionStatus::kNotSpecified}) {
      const ReplyVerdict v =
          DecidePendingReply(Pending(kind, now, /*changed=*/true), kQueuedAt, ReplyMaxAges{});
      EXPECT_EQ(v.fate, ReplyFate::kSend) << ReplyKindName(kind) << " " << static_cast<int>(now);
    }
  }
}

TEST(DecidePendingReply, RepliesPastTheirKindsMaximumAgeExpire) {
  const ReplyMaxAges ages;  // 1 h; 5 min for opt-out confirmations; 24 h for HELP answers
  EXPECT_EQ(ages.reply_ms, kHourMs);
  EXPECT_EQ(ages.opt_out_confirmation_ms, 5 * 60 * 1000);
  EXPECT_EQ(ages.help_ms, 24 * kHourMs);
  const PendingReply opt_in = Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kOptedIn);
  EXPECT_EQ(DecidePendingReply(opt_in, kQueuedAt + kHourMs, ages).fate, ReplyFate::kSend);
  const ReplyVerdict late = DecidePendingReply(opt_in, kQueuedAt + 3 * kHourMs + 5, ages);
  EXPECT_EQ(late.fate, ReplyFate::kExpire);
  EXPECT_EQ(late.reason, "not sent within its maximum age of 1 h (queued 3 h ago)");
  EXPECT_EQ(DecidePendingReply(opt_in, kQueuedAt + kHourMs + 1, ages).fate, ReplyFate::kExpire);

  const PendingReply help = Pending(ReplyKind::kHelp, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(DecidePendingReply(help, kQueuedAt + 3 * kHourMs, ages).fate, ReplyFate::kSend);
  EXPECT_EQ(DecidePendingReply(help, kQueuedAt + 24 * kHourMs, ages).fate, ReplyFate::kSend);
  const ReplyVerdict v = DecidePendingReply(help, kQueuedAt + 30 * kHourMs, ages);
  EXPECT_EQ(v.fate, ReplyFate::kExpire);
  EXPECT_EQ(v.reason, "not sent within its maximum age of 24 h (queued 30 h ago)");

  ReplyMaxAges short_ages;
  short_ages.reply_ms = 90'000;
  short_ages.help_ms = 1000;
  EXPECT_EQ(DecidePendingReply(opt_in, kQueuedAt + 100'000, short_ages).reason,
            "not sent within its maximum age of 90 s (queued 100 s ago)");
  EXPECT_EQ(DecidePendingReply(Pending(ReplyKind::kHelp, SubscriptionStatus::kNotSpecified),
                               kQueuedAt + 1500, short_ages)
                .reason,
            "not sent within its maximum age of 1 s (queued 1 s ago)");
}

// The FCC presumes an opt-out confirmation within consent only when it is sent within five
// minutes of the STOP (FCC 12-143 ¶ 11): one that could not leave by then is not sent at all.
TEST(DecidePendingReply, AnOptOutConfirmationOlderThanFiveMinutesIsNotSent) {
  const ReplyMaxAges ages;
  const PendingReply r = Pending(ReplyKind::kOptOutConfirmation, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(DecidePendingReply(r, kQueuedAt + 2 * 60 * 1000, ages).fate, ReplyFate::kSend);
  EXPECT_EQ(DecidePendingReply(r, kQueuedAt + 5 * 60 * 1000, ages).fate, ReplyFate::kSend);
  const ReplyVerdict late = DecidePendingReply(r, kQueuedAt + 6 * 60 * 1000, ages);
  EXPECT_EQ(late.fate, ReplyFate::kExpire);
  EXPECT_EQ(late.reason, "not sent within its maximum age of 5 min (queued 6 min ago)");
  // A HELP answer queued as long ago is still owed.
  EXPECT_EQ(DecidePendingReply(Pending(ReplyKind::kHelp, SubscriptionStatus::kOptedOut),
                               kQueuedAt + 6 * 60 * 1000, ages)
                .fate,
            ReplyFate::kSend);
}

TEST(DecidePendingReply, ACancelledReplyIsCancelledRatherThanExpired) {
  const ReplyVerdict v = DecidePendingReply(
      Pending(ReplyKind::kOptInConfirmation, SubscriptionStatus::kOptedOut, /*changed=*/true),
      kQueuedAt + 48 * kHourMs, ReplyMaxAges{});
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
}

TEST(DurationText, WholeUnitsRoundedDown) {
  EXPECT_EQ(DurationText(0), "0 s");
  EXPECT_EQ(DurationText(999), "0 s");
  EXPECT_EQ(DurationText(1000), "1 s");
  EXPECT_EQ(DurationText(60'000), "1 min");
  EXPECT_EQ(DurationText(90'000), "90 s");
  EXPECT_EQ(DurationText(119'999), "119 s");
  EXPECT_EQ(DurationText(150'000), "2 min");
  EXPECT_EQ(DurationText(kHourMs), "1 h");
  EXPECT_EQ(DurationText(kHourMs + 1), "60 min");
  EXPECT_EQ(DurationText(2 * kHourMs + 59 * 60'000), "2 h");
  EXPECT_EQ(DurationText(24 * kHourMs), "24 h");
  EXPECT_EQ(DurationText(-5), "0 s");
}

// ---- Double opt-in ---------------------------------------------------------------------------

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;
const ConsentState kPending =
    State(SubscriptionStatus::kPendingConfirmation, Source::kKeyword);  // since 1000

// The long code with double opt-in; the contact's message arrives at now_ms.
KeywordInput DoubleOptIn(Intent intent, ConsentState on_long, bool yes, int64_t now_ms) {
  KeywordInput in = Input(intent, kLong, on_long);
  in.numbers[0].number.double_opt_in = true;
  in.confirms = yes;
  in.now_ms = now_ms;
  in.confirmation_window_ms = 30 * kDayMs;
  return in;
}

TEST(DoubleOptIn, AnOptInKeywordMakesTheContactPendingAndAsksToConfirm) {
  for (const ConsentState& before : {kUnset, kSelfOut, kUserOut}) {
    auto plan = PlanKeyword(DoubleOptIn(Intent::kOptIn, before, false, 5000));
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->transitions.size(), 1u);
    EXPECT_EQ(plan->transitions[0].from, before.status);
    EXPECT_EQ(plan->transitions[0].to, SubscriptionStatus::kPendingConfirmation);
    EXPECT_EQ(plan->reply, ReplyKind::kConfirmationRequest);
  }
}

TEST(DoubleOptIn, AYesWithinTheWindowCompletesTheOptIn) {
  // "YES" is also the English opt-in keyword; "JA" is no keyword at all.
  for (Intent intent : {Intent::kOptIn, Intent::kNone}) {
    auto plan = PlanKeyword(DoubleOptIn(intent, kPending, true, 1000 + 30 * kDayMs));
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->transitions.size(), 1u);
    EXPECT_EQ(plan->transitions[0].from, SubscriptionStatus::kPendingConfirmation);
    EXPECT_EQ(plan->transitions[0].to, SubscriptionStatus::kOptedIn);
    EXPECT_EQ(plan->reply, ReplyKind::kOptInConfirmation);
  }
}

TEST(DoubleOptIn, AYesAfterTheWindowAsksAgainAndTheWindowStartsOver) {
  const int64_t late = 1000 + 30 * kDayMs + 1;
  auto plan = PlanKeyword(DoubleOptIn(Intent::kNone, kPending, true, late));
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->transitions.size(), 1u);
  EXPECT_EQ(plan->transitions[0].to, SubscriptionStatus::kPendingConfirmation);
  EXPECT_FALSE(plan->transitions[0].changed());
  EXPECT_EQ(plan->reply, ReplyKind::kConfirmationRequest);
  // The renewed request moves "since": a yes within 30 days of it confirms.
  const ConsentState renewed =
      ApplyEvent(kPending, SubscriptionStatus::kPendingConfirmation, Source::kKeyword, late);
  EXPECT_EQ(renewed.updated_at_ms, late);
  auto again = PlanKeyword(DoubleOptIn(Intent::kNone, renewed, true, late + kDayMs));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->transitions[0].to, SubscriptionStatus::kOptedIn);
}

TEST(DoubleOptIn, AnotherOptInKeywordWhilePendingAsksAgain) {
  auto plan = PlanKeyword(DoubleOptIn(Intent::kOptIn, kPending, false, 2000));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->transitions[0].to, SubscriptionStatus::kPendingConfirmation);
  EXPECT_EQ(plan->reply, ReplyKind::kConfirmationRequest);
}

TEST(DoubleOptIn, AYesFromAContactNotPendingIsNoConfirmation) {
  // "JA" to a number whose contact is not waiting: nothing (it is no keyword).
  auto plan = PlanKeyword(DoubleOptIn(Intent::kNone, kUnset, true, 2000));
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->transitions.empty());
  EXPECT_FALSE(plan->reply);
  // "YES" from an opted-in contact: the opt-in keyword, a no-change event.
  auto in = PlanKeyword(DoubleOptIn(Intent::kOptIn, kUserIn, true, 2000));
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->transitions[0].to, SubscriptionStatus::kOptedIn);
  EXPECT_FALSE(in->transitions[0].changed());
  EXPECT_EQ(in->reply, ReplyKind::kOptInConfirmation);
  // Without double opt-in nothing changes: YES opts in at once, JA means nothing.
  KeywordInput plain = Input(Intent::kOptIn, kLong);
  plain.confirms = true;
  auto yes = PlanKeyword(plain);
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(yes->transitions[0].to, SubscriptionStatus::kOptedIn);
}

TEST(DoubleOptIn, StopWhilePendingOptsOut) {
  auto plan = PlanKeyword(DoubleOptIn(Intent::kOptOut, kPending, false, 2000));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->transitions[0].to, SubscriptionStatus::kOptedOut);
  EXPECT_EQ(plan->reply, ReplyKind::kOptOutConfirmation);
  EXPECT_TRUE(
      ApplyEvent(kPending, SubscriptionStatus::kOptedOut, Source::kKeyword, 2000).self_opted_out);
}

TEST(DoubleOptIn, AUsersOptInBecomesPendingWithTheRequestToConfirm) {
  UserChangeInput in = Change(kUnset, SubscriptionStatus::kOptedIn, NumberKind::kLongCode);
  in.number.double_opt_in = true;
  auto plan = PlanUserChange(in);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->transition.to, SubscriptionStatus::kPendingConfirmation);
  EXPECT_TRUE(plan->send_confirmation_request);
  EXPECT_FALSE(plan->send_confirmation);
  // Still needs the attestation.
  in.attestation.express_consent = false;
  EXPECT_EQ(PlanUserChange(in).status().code(), StatusCode::kInvalidArgument);
  // An opted-in contact stays opted in, asked nothing.
  UserChangeInput already = Change(kUserIn, SubscriptionStatus::kOptedIn, NumberKind::kLongCode);
  already.number.double_opt_in = true;
  auto same = PlanUserChange(already);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->transition.changed());
  EXPECT_FALSE(same->send_confirmation_request);
  // The contact's own opt-out still binds.
  UserChangeInput own = Change(kSelfOut, SubscriptionStatus::kOptedIn, NumberKind::kLongCode);
  own.number.double_opt_in = true;
  EXPECT_EQ(PlanUserChange(own).status().code(), StatusCode::kFailedPrecondition);
}

TEST(DoubleOptIn, NobodySetsPendingConfirmationDirectly) {
  auto plan = PlanUserChange(
      Change(kUnset, SubscriptionStatus::kPendingConfirmation, NumberKind::kLongCode));
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
}

TEST(DoubleOptIn, TheRequestIsCancelledOnceTheContactIsNoLongerPending) {
  PendingReply r;
  r.kind = ReplyKind::kConfirmationRequest;
  r.queued_at_ms = 0;
  r.status_now = SubscriptionStatus::kPendingConfirmation;
  EXPECT_EQ(DecidePendingReply(r, 1000, ReplyMaxAges{}).fate, ReplyFate::kSend);
  r.status_now = SubscriptionStatus::kOptedOut;
  EXPECT_EQ(DecidePendingReply(r, 1000, ReplyMaxAges{}).fate, ReplyFate::kCancel);
  r.status_now = SubscriptionStatus::kOptedIn;
  EXPECT_EQ(DecidePendingReply(r, 1000, ReplyMaxAges{}).fate, ReplyFate::kCancel);
}

TEST(DoubleOptIn, WhatCountsAsAYes) {
  for (const char* yes : {"yes", "y", "ja", "oui", "si", "s\xc3\xad"}) {
    EXPECT_TRUE(IsConfirmationReply(yes)) << yes;
  }
  for (const char* other : {"", "yes please", "no", "start", "yess", "nej"}) {
    EXPECT_FALSE(IsConfirmationReply(other)) << other;
  }
}

TEST(DoubleOptIn, TheRequestToConfirmSaysHowInTheNumbersLanguage) {
  EXPECT_NE(DefaultRepliesFor("en").confirmation_request.find("Reply YES"), std::string::npos);
  EXPECT_NE(DefaultRepliesFor("da").confirmation_request.find("Svar JA"), std::string::npos);
  EXPECT_NE(DefaultRepliesFor("es").confirmation_request.find("Responde SI"), std::string::npos);
}

}  // namespace
}  // namespace smsconsent
