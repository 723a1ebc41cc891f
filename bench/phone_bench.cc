// PhoneNormalizer::Normalize: the full libphonenumber parse of national input, a canonical
// E.164 number answered from the cache, and a canonical number the cache has not seen.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/phone.h"

namespace smsconsent {
namespace {

void BM_NormalizeNational(benchmark::State& state) {
  PhoneNormalizer phone;
  for (auto _ : state) {
    Result<PhoneNumber> r = phone.Normalize("20 12 34 56", "DK");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NormalizeNational);

void BM_NormalizeE164CachedHit(benchmark::State& state) {
  PhoneNormalizer phone;
  if (!phone.Normalize("+4520123456", "").ok()) state.SkipWithError("not accepted");
  for (auto _ : state) {
    Result<PhoneNumber> r = phone.Normalize("+4520123456", "");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NormalizeE164CachedHit);

void BM_NormalizeE164ColdMiss(benchmark::State& state) {
  // 4x the cache capacity of distinct numbers, cycled: the cache empties itself when full, so
  // no number is still cached when its turn comes again.
  const std::size_t n = 4 * PhoneNormalizer::kDefaultCacheCapacity;
  std::vector<std::string> numbers;
  numbers.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "+4520%06zu", i);
    numbers.emplace_back(buf);
  }
  PhoneNormalizer phone;
  std::size_t i = 0;
  for (auto _ : state) {
    Result<PhoneNumber> r = phone.Normalize(numbers[i], "");
    benchmark::DoNotOptimize(r);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NormalizeE164ColdMiss);

}  // namespace
}  // namespace smsconsent
