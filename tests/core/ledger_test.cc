#include "core/ledger.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace smsconsent {
namespace {

std::vector<ConsentEvent> Chain(int n) {
  std::vector<ConsentEvent> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    ConsentEvent e;
    e.id = 100 + i;
    e.account_id = 7;
    e.seq = i;
    e.contact_id = 1 + i % 2;
    e.phone = "+4520123456";
    e.number_id = 3;
    e.sender = "12345";
    e.from = i % 2 ? SubscriptionStatus::kNotSpecified : SubscriptionStatus::kOptedIn;
    e.to = i % 2 ? SubscriptionStatus::kOptedIn : SubscriptionStatus::kOptedOut;
    e.source = i % 2 ? Source::kManual : Source::kKeyword;
    e.actor = "cli";
    e.at_ms = 1000 * i;
    e.evidence = R"({"type":"keyword","body":"STOP"})";
    e.prev_hash = prev;
    e.hash = ComputeEventHash(e);
    prev = e.hash;
    out.push_back(e);
  }
  return out;
}

TEST(Sha256Hex, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Parts hash as their concatenation, empty parts and no parts included.
  EXPECT_EQ(Sha256Hex(std::vector<std::string>{"a", "", "bc"}), Sha256Hex("abc"));
  EXPECT_EQ(Sha256Hex(std::vector<std::string>{}), Sha256Hex(""));
}

TEST(CanonicalEncoding, IsLengthPrefixedAndStable) {
  ConsentEvent e = Chain(1)[0];
  const std::string enc = CanonicalEventEncoding(e);
  EXPECT_EQ(enc.rfind("smsconsent-ledger-v1\naccount:1:7\nseq:1:1\n", 0), 0u);
  EXPECT_NE(enc.find("evidence:32:{\"type\":\"keyword\",\"body\":\"STOP\"}\n"), std::string::npos);
  EXPECT_NE(enc.find("prev:64:" + std::string(kGenesisHash) + "\n"), std::string::npos);
  EXPECT_EQ(ComputeEventHash(e), ComputeEventHash(e));
}

TEST(CanonicalEncoding, FieldBoundariesCannotBeShifted) {
  // Without length prefixes "a" + "b:c" and "a:b" + "c" could collide.
  ConsentEvent a = Chain(1)[0], b = a;
  a.phone = "+1";
  a.sender = "2:3";
  b.phone = "+1:2";
  b.sender = "3";
  EXPECT_NE(ComputeEventHash(a), ComputeEventHash(b));
}

TEST(ChainVerifier, AcceptsAnIntactChain) {
  ChainVerifier v;
  for (const auto& e : Chain(10)) EXPECT_TRUE(v.Add(e));
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.checked(), 10);
}

TEST(ChainVerifier, DetectsAChangedField) {
  auto events = Chain(5);
  events[2].to = SubscriptionStatus::kOptedOut;  // tampered, hash not recomputed
  ChainVerifier v;
  for (const auto& e : events) v.Add(e);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failed_seq(), 3);
  EXPECT_NE(v.failure()->find("does not match its hash"), std::string::npos);
}

TEST(ChainVerifier, DetectsARecomputedHashByTheNextLink) {
  auto events = Chain(5);
  events[2].evidence = R"({"type":"forged"})";
  events[2].hash = ComputeEventHash(events[2]);  // the forger re-hashed this event only
  ChainVerifier v;
  for (const auto& e : events) v.Add(e);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failed_seq(), 4);
}

TEST(ChainVerifier, DetectsADeletedEvent) {
  auto events = Chain(5);
  events.erase(events.begin() + 1);
  ChainVerifier v;
  for (const auto& e : events) v.Add(e);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.failed_seq(), 3);
  EXPECT_NE(v.failure()->find("expected seq 2"), std::string::npos);
}

TEST(ChainVerifier, DetectsATruncatedHead) {
  auto events = Chain(3);
  ChainVerifier v;
  EXPECT_FALSE(v.Add(events[1]));
}

TEST(StatusReplay, FoldsEventsPerContactAndNumber) {
  StatusReplay r;
  for (const auto& e : Chain(4)) r.Add(e);
  ASSERT_EQ(r.states().size(), 2u);
  const ConsentState& c1 = r.states().at({1, 3});  // events 2 and 4: keyword opt-outs
  EXPECT_EQ(c1.status, SubscriptionStatus::kOptedOut);
  EXPECT_TRUE(c1.self_opted_out);
  EXPECT_EQ(c1.updated_at_ms, 2000);  // event 4 repeats the opt-out: no change
  EXPECT_EQ(r.states().at({2, 3}).status, SubscriptionStatus::kOptedIn);
}

// The replay that `ledger verify` compares the status table with follows ApplyEvent: a
// no-change event stays in the ledger but moves neither since nor source.
TEST(StatusReplay, NoChangeEventsKeepTheLastChange) {
  auto event = [](int64_t seq, SubscriptionStatus from, SubscriptionStatus to, Source source) {
    ConsentEvent e;
    e.account_id = 7;
    e.seq = seq;
    e.contact_id = 1;
    e.number_id = 3;
    e.from = from;
    e.to = to;
    e.source = source;
    e.at_ms = 1000 * seq;
    return e;
  };
  constexpr auto kNone = SubscriptionStatus::kNotSpecified;
  constexpr auto kIn = SubscriptionStatus::kOptedIn;
  constexpr auto kOut = SubscriptionStatus::kOptedOut;
  StatusReplay r;
  r.Add(event(1, kNone, kIn, Source::kKeyword));  // START
  r.Add(event(2, kIn, kIn, Source::kManual));     // a staff opt-in: no change
  ConsentState s = r.states().at({1, 3});
  EXPECT_EQ(s.status, kIn);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 1000);
  r.Add(event(3, kIn, kOut, Source::kKeyword));   // STOP
  r.Add(event(4, kOut, kOut, Source::kKeyword));  // STOP again
  s = r.states().at({1, 3});
  EXPECT_EQ(s.status, kOut);
  EXPECT_TRUE(s.self_opted_out);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 3000);
}

TEST(FormatTimestamp, IsoUtcWithMillis) {
  EXPECT_EQ(FormatTimestampMs(1796004341123), "2026-11-30T02:05:41.123Z");
}

TEST(FormatTimestamp, CalendarEdges) {
  EXPECT_EQ(FormatTimestampMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestampMs(1709251199999), "2024-02-29T23:59:59.999Z");  // leap day
  EXPECT_EQ(FormatTimestampMs(978264000001), "2000-12-31T12:00:00.001Z");   // leap year 2000
  EXPECT_EQ(FormatTimestampMs(4107542400000), "2100-03-01T00:00:00.000Z");  // 2100 is no leap year
  EXPECT_EQ(FormatTimestampMs(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestampMs(253402300800000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestampMs(-1), "1969-12-31T23:59:59.999Z");  // before the epoch
}

}  // namespace
}  // namespace smsconsent

namespace smsconsent {
namespace {

ConsentEvent DocumentedEvent() {
  ConsentEvent e;
  e.account_id = 7;
  e.seq = 1;
  e.contact_id = 2;
  e.phone = "+4520123456";
  e.number_id = 3;
  e.sender = "12345";
  e.from = SubscriptionStatus::kNotSpecified;
  e.to = SubscriptionStatus::kOptedIn;
  e.source = Source::kKeyword;
  e.actor = "contact";
  e.at_ms = 1764381941123;
  e.evidence = R"({"type":"keyword","body":"START"})";
  e.prev_hash = kGenesisHash;
  return e;
}

// The example of docs/ledger.md, byte for byte: chain events keep their encoding and hash.
TEST(CanonicalEncoding, V1IsTheDocumentedExample) {
  ConsentEvent e = DocumentedEvent();
  const std::string want =
      "smsconsent-ledger-v1\n"
      "account:1:7\n"
      "seq:1:1\n"
      "contact:1:2\n"
      "phone:11:+4520123456\n"
      "number:1:3\n"
      "sender:5:12345\n"
      "from:13:not_specified\n"
      "to:8:opted_in\n"
      "source:7:keyword\n"
      "actor:7:contact\n"
      "at:13:1764381941123\n"
      "evidence:33:{\"type\":\"keyword\",\"body\":\"START\"}\n"
      "prev:64:0000000000000000000000000000000000000000000000000000000000000000\n";
  EXPECT_EQ(CanonicalEventEncoding(e), want);
  // A batch hash is not part of v1: a format-1 event's leaf is its v1 encoding.
  e.batch_hash = "cb8a2750d44f33c76d8e0100d05d3162fd550cebe5da55bef50f7d29fe673a3b";
  EXPECT_EQ(CanonicalEventEncoding(e), want);
  EXPECT_EQ(LeafData(e), want);
  EXPECT_EQ(EventLeafHash(e), merkle::LeafHash(want));
  EXPECT_EQ(ComputeEventHash(e), Sha256Hex(want));
}

TEST(CanonicalEncoding, V2HasBatchAndNoPrev) {
  ConsentEvent e = DocumentedEvent();
  e.format = 2;
  e.seq = 12;
  e.to = SubscriptionStatus::kOptedOut;
  e.from = SubscriptionStatus::kOptedIn;
  e.source = Source::kBulk;
  e.actor = "user:alice";
  e.evidence = R"({"type":"bulk","row":4})";
  e.batch_hash = "cb8a2750d44f33c76d8e0100d05d3162fd550cebe5da55bef50f7d29fe673a3b";
  e.nth = 3;
  e.prev_hash = "ignored";
  const std::string want =
      "smsconsent-ledger-v2\n"
      "account:1:7\n"
      "seq:2:12\n"
      "contact:1:2\n"
      "phone:11:+4520123456\n"
      "number:1:3\n"
      "sender:5:12345\n"
      "nth:1:3\n"
      "from:8:opted_in\n"
      "to:9:opted_out\n"
      "source:4:bulk\n"
      "actor:10:user:alice\n"
      "at:13:1764381941123\n"
      "evidence:23:{\"type\":\"bulk\",\"row\":4}\n"
      "batch:64:cb8a2750d44f33c76d8e0100d05d3162fd550cebe5da55bef50f7d29fe673a3b\n";
  EXPECT_EQ(CanonicalEventEncodingV2(e), want);
  EXPECT_EQ(LeafData(e), want);
  EXPECT_EQ(EventLeafHash(e), merkle::LeafHash(want));
  e.batch_hash.clear();
  EXPECT_NE(CanonicalEventEncodingV2(e).find("\nbatch:0:\n"), std::string::npos);
  EXPECT_TRUE(CanonicalEventEncodingV2(e).ends_with("batch:0:\n"));
}

}  // namespace
}  // namespace smsconsent
