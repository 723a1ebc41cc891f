#include "core/sending.h"

#include <gtest/gtest.h>

#include <string>

namespace smsconsent {
namespace {

using S = SubscriptionStatus;

SendCheck Check(Purpose purpose, S status) {
  SendCheck c;
  c.purpose = purpose;
  c.marketing_sms_access = true;
  c.status = status;
  return c;
}

std::string CodeOf(const std::optional<Refusal>& r) {
  return r ? SendRefusalCode(r->why) : "allowed";
}

TEST(RefuseSend, MarketingNeedsOptedInAndTransactionalOnlyNotOptedOut) {
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kMarketing, S::kOptedIn))), "allowed");
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kMarketing, S::kNotSpecified))), "not_opted_in");
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kMarketing, S::kOptedOut))), "opted_out");
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kTransactional, S::kOptedIn))), "allowed");
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kTransactional, S::kNotSpecified))), "allowed");
  // An opt-out binds whatever the purpose.
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kTransactional, S::kOptedOut))), "opted_out");
  // A double opt-in not yet confirmed: no marketing, with its own code; transactional goes.
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kMarketing, S::kPendingConfirmation))),
            "pending_confirmation");
  EXPECT_EQ(CodeOf(RefuseSend(Check(Purpose::kTransactional, S::kPendingConfirmation))), "allowed");
  const auto why = RefuseSend(Check(Purpose::kMarketing, S::kNotSpecified));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->message.find("not_specified"), std::string::npos);
}

TEST(RefuseSend, AddOnsComeBeforeTheContactsStatus) {
  SendCheck c = Check(Purpose::kTransactional, S::kOptedIn);
  c.marketing_sms_access = false;
  EXPECT_EQ(CodeOf(RefuseSend(c)), "addon_missing");
  c = Check(Purpose::kMarketing, S::kOptedOut);
  c.number_kind = NumberKind::kShortCode;
  EXPECT_EQ(CodeOf(RefuseSend(c)), "number_not_permitted");
  c.sms_short_code = true;
  EXPECT_EQ(CodeOf(RefuseSend(c)), "opted_out");
  c.number_kind = NumberKind::kTollFree;
  c.sms_short_code = false;
  c.status = S::kOptedIn;
  EXPECT_EQ(CodeOf(RefuseSend(c)), "allowed");
}

TEST(CheckMessageBody, RefusesEmptyAndOverlongBodiesNamingTheField) {
  EXPECT_TRUE(CheckMessageBody("Sale today").ok());
  for (const char* blank : {"", " ", "\n\t "}) {
    const Status st = CheckMessageBody(blank);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("'body'"), std::string::npos);
  }
  // Ten GSM-7 parts hold 1,530 characters; one more costs an eleventh.
  EXPECT_TRUE(CheckMessageBody(std::string(1530, 'a')).ok());
  const Status st = CheckMessageBody(std::string(1531, 'a'));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("11 SMS segments"), std::string::npos) << st.message();
  // UCS-2: 67 units per part, so 670 fit and 671 do not.
  std::string ucs2;
  for (int i = 0; i < 335; ++i) ucs2 += "✓✓";
  EXPECT_TRUE(CheckMessageBody(ucs2).ok());
  EXPECT_FALSE(CheckMessageBody(ucs2 + "✓").ok());
}

TEST(CheckSendAt, AllowsAMinuteOfSkewAndThirtyDaysAhead) {
  const int64_t now = 1'800'000'000'000;
  EXPECT_TRUE(CheckSendAt(now, now).ok());
  EXPECT_TRUE(CheckSendAt(now - kSendAtSkewMs, now).ok());
  EXPECT_TRUE(CheckSendAt(now + kMaxScheduleAheadMs, now).ok());
  const Status past = CheckSendAt(now - kSendAtSkewMs - 1, now);
  EXPECT_EQ(past.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past.message().find("'send_at'"), std::string::npos);
  EXPECT_EQ(CheckSendAt(now + kMaxScheduleAheadMs + 1, now).code(), StatusCode::kInvalidArgument);
}

// At the moment it leaves, a message is checked as when it was accepted, against the status
// then: a marketing message queued for an opted-in contact who has since opted out (or was
// removed from the list) is cancelled with the refusal's code.
TEST(DecidePendingReply, AMessageIsCheckedByItsPurposeWhenItLeaves) {
  PendingReply m;
  m.kind = ReplyKind::kMessage;
  m.queued_at_ms = 1'000'000;
  m.status_now = S::kOptedIn;
  m.status_changed = true;  // opted out and in again since: opted in now is what counts
  EXPECT_EQ(DecidePendingReply(m, 1'000'000, ReplyMaxAges()).fate, ReplyFate::kSend);
  m.status_now = S::kOptedOut;
  ReplyVerdict v = DecidePendingReply(m, 1'000'000, ReplyMaxAges());
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
  EXPECT_EQ(v.reason.rfind("opted_out: ", 0), 0u) << v.reason;
  m.status_now = S::kNotSpecified;
  v = DecidePendingReply(m, 1'000'000, ReplyMaxAges());
  EXPECT_EQ(v.fate, ReplyFate::kCancel);
  EXPECT_EQ(v.reason.rfind("not_opted_in: ", 0), 0u) << v.reason;
  m.purpose = Purpose::kTransactional;
  EXPECT_EQ(DecidePendingReply(m, 1'000'000, ReplyMaxAges()).fate, ReplyFate::kSend);
  m.status_now = S::kOptedOut;
  EXPECT_EQ(DecidePendingReply(m, 1'000'000, ReplyMaxAges()).fate, ReplyFate::kCancel);
  // A message not sent within a day of being due expires.
  m.status_now = S::kOptedIn;
  ReplyMaxAges ages;
  EXPECT_EQ(DecidePendingReply(m, 1'000'000 + ages.message_ms, ages).fate, ReplyFate::kSend);
  v = DecidePendingReply(m, 1'000'001 + ages.message_ms, ages);
  EXPECT_EQ(v.fate, ReplyFate::kExpire);
  EXPECT_NE(v.reason.find("24 h"), std::string::npos) << v.reason;
}

TEST(Purpose, NamesRoundTrip) {
  for (Purpose p : {Purpose::kMarketing, Purpose::kTransactional}) {
    EXPECT_EQ(*ParsePurpose(PurposeName(p)), p);
  }
  EXPECT_EQ(ParsePurpose("promo").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseReplyKind("message"), ReplyKind::kMessage);
}

}  // namespace
}  // namespace smsconsent

namespace smsconsent {
namespace {

constexpr int64_t kDay = 24LL * 60 * 60 * 1000;

TEST(OptOutNotice, FirstMessageThenByCountOrByDays) {
  OptOutNotice every_five;
  every_five.every_messages = 5;
  every_five.every_days = 0;
  const int64_t now = 100 * kDay;
  EXPECT_TRUE(NeedsOptOutNotice(every_five, {}, now));  // the first marketing message
  EXPECT_FALSE(NeedsOptOutNotice(every_five, {true, now - kDay, 4}, now));
  EXPECT_TRUE(NeedsOptOutNotice(every_five, {true, now - kDay, 5}, now));
  const OptOutNotice monthly;  // the default: every 30 days
  EXPECT_FALSE(NeedsOptOutNotice(monthly, {true, now - 30 * kDay + 1, 900}, now));
  EXPECT_TRUE(NeedsOptOutNotice(monthly, {true, now - 30 * kDay, 0}, now));
}

TEST(OptOutNotice, IsAddedOnALineOfItsOwnUnlessTheBodySaysIt) {
  EXPECT_EQ(WithOptOutNotice("Sale today", "Reply STOP to opt out"),
            "Sale today\nReply STOP to opt out");
  EXPECT_EQ(WithOptOutNotice("Sale! reply stop to opt out", "Reply STOP to opt out"),
            "Sale! reply stop to opt out");
  EXPECT_EQ(DefaultOptOutNoticeText("da"), "Svar STOP for at afmelde");
  EXPECT_EQ(DefaultOptOutNoticeText("xx"), "Reply STOP to opt out");
}

TEST(OptOutNotice, PolicyJsonRoundTripsAndBadFieldsAreNamed) {
  auto n = ParseOptOutNotice(R"({"text":"STOP=stop","every_messages":3})");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->text, "STOP=stop");
  EXPECT_EQ(n->every_messages, 3);
  EXPECT_EQ(n->every_days, 30);
  EXPECT_EQ(*ParseOptOutNotice(OptOutNoticeToJson(*n)), *n);
  EXPECT_EQ(*ParseOptOutNotice("{}"), OptOutNotice());
  for (const char* bad : {R"({"every_days":366})", R"({"every_messages":-1})", R"({"text":7})",
                          R"({"txt":"x"})", "[]", "nope"}) {
    const auto r = ParseOptOutNotice(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("opt_out_notice"), std::string::npos) << bad;
  }
  EXPECT_FALSE(ParseOptOutNotice(R"({"text":")" + std::string(161, 'x') + R"("})").ok());
}

// ---- The frequency cap ----

constexpr int64_t kHourMs = 60LL * 60 * 1000, kCapDayMs = 24 * kHourMs;

TEST(FrequencyCap, PolicyJsonRoundTripsAndBadFieldsAreNamed) {
  EXPECT_FALSE(ParseFrequencyCap("null")->any());
  EXPECT_EQ(FrequencyCapToJson(FrequencyCap{}), "null");
  const auto cap = ParseFrequencyCap(R"({"per_day":2,"over":"defer"})");
  ASSERT_TRUE(cap.ok()) << cap.status().ToString();
  EXPECT_EQ(cap->per_day, 2);
  EXPECT_EQ(cap->per_week, 0);
  EXPECT_EQ(cap->over, FrequencyCap::Over::kDefer);
  EXPECT_EQ(*ParseFrequencyCap(FrequencyCapToJson(*cap)), *cap);
  for (const char* bad : {R"({"per_day":0})", R"({"per_day":-1})", R"({"per_week":1001})",
                          R"({"per_day":1,"over":"drop"})", R"({"per_day":1,"per_hour":3})",
                          R"([1])", R"({"per_day":"2"})"}) {
    const auto r = ParseFrequencyCap(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("frequency_cap"), std::string::npos) << bad;
  }
}

TEST(FrequencyCap, AMessageFitsWhenNoWindowAroundItIsFull) {
  FrequencyCap two_a_day;
  two_a_day.per_day = 2;
  const int64_t t = 100 * kCapDayMs;
  EXPECT_FALSE(*FrequencyCapDelay(two_a_day, {}, t));
  EXPECT_FALSE(*FrequencyCapDelay(two_a_day, {t - 5 * kHourMs}, t));
  // Two in the 24 hours before: the first moment it fits is when the older one leaves.
  auto delay = FrequencyCapDelay(two_a_day, {t - 20 * kHourMs, t - 2 * kHourMs}, t);
  ASSERT_TRUE(delay.ok());
  ASSERT_TRUE(delay->has_value());
  EXPECT_EQ(**delay, t + 4 * kHourMs);
  // One scheduled after counts too: any 24 hours that hold the new message hold at most two.
  delay = FrequencyCapDelay(two_a_day, {t - 20 * kHourMs, t + 3 * kHourMs}, t);
  ASSERT_TRUE(delay->has_value());
  EXPECT_EQ(**delay, t + 4 * kHourMs);  // then only the later one is within 24 hours
  delay = FrequencyCapDelay(two_a_day, {t + 1 * kHourMs, t + 3 * kHourMs}, t);
  ASSERT_TRUE(delay->has_value());
  EXPECT_EQ(**delay, t + 25 * kHourMs);  // two later ones: a day after the first of them
  // Exactly 24 hours apart is another day.
  EXPECT_FALSE(*FrequencyCapDelay(two_a_day, {t - 24 * kHourMs, t - kCapDayMs - 1}, t));

  FrequencyCap three_a_week;
  three_a_week.per_week = 3;
  delay = FrequencyCapDelay(three_a_week, {t - 6 * kCapDayMs, t - 3 * kCapDayMs, t - kHourMs}, t);
  ASSERT_TRUE(delay->has_value());
  EXPECT_EQ(**delay, t + kCapDayMs);  // when the one six days ago is a week old
  // A cap that leaves no room within 30 days.
  std::vector<int64_t> daily;
  for (int d = -7; d <= 40; ++d) daily.push_back(t + d * kCapDayMs);
  FrequencyCap one_a_week;
  one_a_week.per_week = 1;
  EXPECT_EQ(FrequencyCapDelay(one_a_week, daily, t).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smsconsent
