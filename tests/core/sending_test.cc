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
