// The delivery-status rules of core/delivery.h: which report wins, how a provider's error is
// kept, and which provider errors are a carrier opt-out.
#include "core/delivery.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace smsconsent {
// Named, so that its helpers stay apart from those of the unity build's other files.
namespace delivery_rules {
namespace {

constexpr DeliveryStatus kAll[] = {DeliveryStatus::kSent, DeliveryStatus::kDelivered,
                                   DeliveryStatus::kFailed, DeliveryStatus::kUndelivered};

TEST(Delivery, NamesRoundTrip) {
  for (DeliveryStatus s : kAll) {
    auto parsed = ParseDeliveryStatus(DeliveryStatusName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(ParseDeliveryStatus("queued").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDeliveryStatus("").status().code(), StatusCode::kInvalidArgument);
}

TEST(Delivery, AnyFirstReportIsRecorded) {
  for (DeliveryStatus s : kAll) EXPECT_TRUE(DeliveryAdvances(std::nullopt, s));
}

TEST(Delivery, SentGivesWayToAFinalStatusOnly) {
  EXPECT_FALSE(DeliveryAdvances(DeliveryStatus::kSent, DeliveryStatus::kSent));
  EXPECT_TRUE(DeliveryAdvances(DeliveryStatus::kSent, DeliveryStatus::kDelivered));
  EXPECT_TRUE(DeliveryAdvances(DeliveryStatus::kSent, DeliveryStatus::kFailed));
  EXPECT_TRUE(DeliveryAdvances(DeliveryStatus::kSent, DeliveryStatus::kUndelivered));
}

TEST(Delivery, AFinalStatusIsNeverReplaced) {
  for (DeliveryStatus current : kAll) {
    if (!IsFinalDelivery(current)) continue;
    for (DeliveryStatus incoming : kAll) {
      EXPECT_FALSE(DeliveryAdvances(current, incoming))
          << DeliveryStatusName(current) << " then " << DeliveryStatusName(incoming);
    }
  }
}

TEST(Delivery, ErrorTextIsCodeAndTextPrintableAndBounded) {
  EXPECT_EQ(DeliveryErrorText("21610", "Attempt to send to unsubscribed recipient"),
            "21610: Attempt to send to unsubscribed recipient");
  EXPECT_EQ(DeliveryErrorText("30003", ""), "30003");
  EXPECT_EQ(DeliveryErrorText("", "rejected"), "rejected");
  EXPECT_EQ(DeliveryErrorText("", ""), "");
  EXPECT_EQ(DeliveryErrorText("1", "a\nb\x01\xc3\xa9"), "1: a b???");
  const std::string long_text(1000, 'x');
  EXPECT_EQ(DeliveryErrorText("1", long_text).size(), kMaxDeliveryErrorBytes);
}

TEST(Delivery, CarrierOptOutCodesAreThoseOfTheirOwnProvider) {
  EXPECT_TRUE(IsCarrierOptOutError("twilio", "21610"));
  EXPECT_TRUE(IsCarrierOptOutError("telnyx", "40300"));
  EXPECT_TRUE(IsCarrierOptOutError("vonage", "9"));
  EXPECT_FALSE(IsCarrierOptOutError("twilio", "30003"));
  EXPECT_FALSE(IsCarrierOptOutError("twilio", "40300"));
  EXPECT_FALSE(IsCarrierOptOutError("telnyx", "21610"));
  EXPECT_FALSE(IsCarrierOptOutError("plivo", "21610"));
  EXPECT_FALSE(IsCarrierOptOutError("kannel", "9"));
  EXPECT_FALSE(IsCarrierOptOutError("twilio", ""));
}

}  // namespace
}  // namespace delivery_rules
}  // namespace smsconsent
