// Clock: the only way the application learns the time. The core takes times as arguments;
// src/app supplies a system clock, tests a fake one.
#pragma once

#include <cstdint>
#include <string>

namespace smsconsent {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;  // milliseconds since the Unix epoch, UTC
};

// "2026-11-29T02:05:41.123Z"
std::string FormatTimestampMs(int64_t ms);

}  // namespace smsconsent
