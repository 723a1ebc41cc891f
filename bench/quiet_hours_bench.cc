// CheckQuietHours on the numbers a marketing send asks about: one zone inside its window, one
// zone deferred to the next morning, an area code spanning two zones, and a +1 number whose
// area code is not geographic, which takes all 29 zones of the United States.
#include <benchmark/benchmark.h>

#include <string_view>

#include "core/business_days.h"
#include "core/quiet_hours.h"

namespace smsconsent {
namespace {

// Monday 15 June 2026 at `hour`:00 UTC.
int64_t JuneUtc(int hour) { return DaysFromCivil({2026, 6, 15}) * 86'400'000 + hour * 3'600'000; }

void RunCheckQuietHours(benchmark::State& state, QuietHoursPolicy::Kind kind, std::string_view e164,
                        int64_t at, bool expect_allowed) {
  const QuietHoursPolicy policy{kind, {}};
  auto first = CheckQuietHours(policy, e164, at);
  if (!first.ok() || first->allowed != expect_allowed) {
    state.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : state) {
    auto decision = CheckQuietHours(policy, e164, at);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_QuietHoursFloridaAllowed(benchmark::State& state) {
  // 14:00 EDT.
  RunCheckQuietHours(state, QuietHoursPolicy::Kind::kJurisdiction, "+13055550123", JuneUtc(18),
                     true);
}
BENCHMARK(BM_QuietHoursFloridaAllowed);

void BM_QuietHoursFloridaDeferred(benchmark::State& state) {
  // 20:30 EDT: past Florida's 20:00, deferred to 08:00.
  RunCheckQuietHours(state, QuietHoursPolicy::Kind::kJurisdiction, "+13055550123",
                     JuneUtc(24) + 30 * 60'000, false);
}
BENCHMARK(BM_QuietHoursFloridaDeferred);

void BM_QuietHoursTwoZonesDeferred(benchmark::State& state) {
  // 812, southern Indiana: 21:30 Eastern, 20:30 Central.
  RunCheckQuietHours(state, QuietHoursPolicy::Kind::kDefault, "+18125550123",
                     JuneUtc(25) + 30 * 60'000, false);
}
BENCHMARK(BM_QuietHoursTwoZonesDeferred);

void BM_QuietHoursAllUsZonesDeferred(benchmark::State& state) {
  // +1 800: every zone of the United States, New York to Adak; 03:00 UTC.
  RunCheckQuietHours(state, QuietHoursPolicy::Kind::kDefault, "+18005550123", JuneUtc(3), false);
}
BENCHMARK(BM_QuietHoursAllUsZonesDeferred);

}  // namespace
}  // namespace smsconsent
