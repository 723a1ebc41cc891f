// PhoneNormalizer::Normalize: the full libphonenumber parse of national input, a canonical
// E.164 number answered from the cache, and a canonical number the cache has not seen (with
// and without the region and validity, through the canonical fast path or the full parse).
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

// Arg 0: Normalize (region and validity too) or NormalizeToE164 (what bulk CSV rows and
// inbound senders use); arg 1: Danish (+45, one region) or NANP (+1, 25 regions) numbers;
// arg 2: the canonical fast path (the default) or libphonenumber's full parse.
void BM_NormalizeE164ColdMiss(benchmark::State& state) {
  const bool details = state.range(0) == 1;
  const bool nanp = state.range(1) == 1;
  const bool fast = state.range(2) == 1;
  // 4x the cache capacity of distinct numbers, cycled: the cache empties itself when full, so
  // no number is still cached when its turn comes again.
  const std::size_t n = 4 * PhoneNormalizer::kDefaultCacheCapacity;
  std::vector<std::string> numbers;
  numbers.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), nanp ? "+1415%07zu" : "+4520%06zu", i);
    numbers.emplace_back(buf);
  }
  const PhoneNormalizer phone(PhoneNormalizer::Options{.canonical_fast_path = fast});
  std::size_t i = 0;
  for (auto _ : state) {
    Result<PhoneNumber> r =
        details ? phone.Normalize(numbers[i], "") : phone.NormalizeToE164(numbers[i], "");
    benchmark::DoNotOptimize(r);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NormalizeE164ColdMiss)
    ->ArgNames({"details", "nanp", "fast"})
    ->ArgsProduct({{1, 0}, {0, 1}, {1, 0}});

}  // namespace
}  // namespace smsconsent
