// Standard base64 (RFC 4648 §4, with padding) for signatures and keys in documents a third
// party checks. Decoding is strict: it accepts only the one canonical encoding of a byte
// string (padding required, no whitespace, unused bits zero), so a value has one spelling.
// (src/providers has a lenient decoder for what SMS providers send.)
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace smsconsent::base64 {

std::string Encode(std::string_view bytes);
// kInvalidArgument for anything but the canonical encoding of some byte string.
Result<std::string> DecodeStrict(std::string_view text);

}  // namespace smsconsent::base64
