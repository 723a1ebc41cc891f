// Short names for the three subscription statuses, for the tables of expected states in the
// store conformance suite and the app tests.
#pragma once

#include "core/consent.h"

namespace smsconsent {

inline constexpr auto kIn = SubscriptionStatus::kOptedIn;
inline constexpr auto kOut = SubscriptionStatus::kOptedOut;
inline constexpr auto kNone = SubscriptionStatus::kNotSpecified;

}  // namespace smsconsent
