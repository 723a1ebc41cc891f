// The real clock, for the binary. Tests use a fake Clock.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace smsconsent {

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace smsconsent
