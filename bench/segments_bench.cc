// CountSegments throughput on the texts a bulk opt-in preview counts: short confirmations,
// long multi-part GSM texts and UCS-2 texts with emoji.
#include <benchmark/benchmark.h>

#include <string>

#include "core/segments.h"

namespace smsconsent {
namespace {

void RunCountSegments(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    SegmentInfo info = CountSegments(text);
    benchmark::DoNotOptimize(info);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

void BM_CountSegmentsShortGsm(benchmark::State& state) {
  RunCountSegments(state,
                   "Acme: you are now subscribed to order updates. Msg&data rates may apply. "
                   "Reply HELP for help, STOP to opt out.");
}
BENCHMARK(BM_CountSegmentsShortGsm);

void BM_CountSegmentsLongGsm(benchmark::State& state) {
  // Four parts, with extension characters so the no-split packing pass runs too.
  std::string text;
  while (text.size() < 560) {
    text += "Hej Søren, dit abonnement {Guld} er fornyet til 99 € pr. måned [ordre #1234]. ";
  }
  RunCountSegments(state, text);
}
BENCHMARK(BM_CountSegmentsLongGsm);

void BM_CountSegmentsUcs2Emoji(benchmark::State& state) {
  // Three parts of UCS-2 with surrogate pairs (packing pass) and a curly apostrophe.
  std::string text;
  while (text.size() < 300) text += "We’ve got your order 😀🎉 — thanks! ";
  RunCountSegments(state, text);
}
BENCHMARK(BM_CountSegmentsUcs2Emoji);

}  // namespace
}  // namespace smsconsent
