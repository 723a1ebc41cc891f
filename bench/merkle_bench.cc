// The ledger's Merkle tree: building and checking proofs in a tree of ten million events, with
// a SubtreeSource that answers in constant time (so what is measured is the proof logic and
// its hashing, not a store), appending to a CompactRange, and signing and checking tree heads.
//
// The synthetic tree has identical leaves, so every complete subtree of a level has the same
// hash (computed once up front) and the source is consistent: proofs from it verify.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/merkle.h"
#include "core/tree_head.h"

namespace smsconsent {
namespace {

constexpr int64_t kBenchTreeSize = 10'000'000;
constexpr int64_t kBenchLeaf = 5'000'000;

const std::vector<merkle::Hash>& UniformLevels() {
  static const std::vector<merkle::Hash> levels = [] {
    std::vector<merkle::Hash> out{merkle::LeafHash("synthetic leaf")};
    for (int level = 1; level < 63; ++level)
      out.push_back(merkle::NodeHash(out.back(), out.back()));
    return out;
  }();
  return levels;
}

merkle::SubtreeSource UniformSource(int64_t* asked) {
  return [asked](int level, int64_t) -> Result<merkle::Hash> {
    ++*asked;
    return UniformLevels()[static_cast<size_t>(level)];
  };
}

void BM_InclusionProofBuildAndVerify(benchmark::State& state) {
  int64_t asked = 0;
  const merkle::SubtreeSource source = UniformSource(&asked);
  const merkle::Hash root = merkle::RootFromSource(kBenchTreeSize, source).value();
  const merkle::Hash leaf = UniformLevels()[0];
  size_t nodes = 0;
  for (auto _ : state) {
    auto proof = merkle::InclusionProof(kBenchLeaf, kBenchTreeSize, source);
    if (!proof.ok() || !merkle::VerifyInclusion(leaf, kBenchLeaf, kBenchTreeSize, *proof, root)) {
      state.SkipWithError("proof does not verify");
      break;
    }
    nodes = proof->size();
  }
  state.counters["proof_bytes"] = static_cast<double>(32 * nodes);
  state.counters["subtrees_asked"] =
      benchmark::Counter(static_cast<double>(asked), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_InclusionProofBuildAndVerify);

void BM_ConsistencyProofBuildAndVerify(benchmark::State& state) {
  int64_t asked = 0;
  const merkle::SubtreeSource source = UniformSource(&asked);
  const merkle::Hash old_root = merkle::RootFromSource(kBenchLeaf, source).value();
  const merkle::Hash new_root = merkle::RootFromSource(kBenchTreeSize, source).value();
  asked = 0;
  size_t nodes = 0;
  for (auto _ : state) {
    auto proof = merkle::ConsistencyProof(kBenchLeaf, kBenchTreeSize, source);
    if (!proof.ok() ||
        !merkle::VerifyConsistency(kBenchLeaf, kBenchTreeSize, old_root, new_root, *proof)) {
      state.SkipWithError("proof does not verify");
      break;
    }
    nodes = proof->size();
  }
  state.counters["proof_bytes"] = static_cast<double>(32 * nodes);
  state.counters["subtrees_asked"] =
      benchmark::Counter(static_cast<double>(asked), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ConsistencyProofBuildAndVerify);

void BM_CompactRangeAppend(benchmark::State& state) {
  merkle::CompactRange range;
  const merkle::Hash leaf = merkle::LeafHash("leaf");
  for (auto _ : state) range.Append(leaf);
  benchmark::DoNotOptimize(range.Root());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CompactRangeAppend);

void BM_TreeHeadSign(benchmark::State& state) {
  const SigningKey key = SigningKey::Generate().value();
  TreeHead head{7, kBenchTreeSize, UniformLevels()[5], 1764381941123};
  for (auto _ : state) {
    SignedTreeHead sth = key.Sign(head);
    benchmark::DoNotOptimize(sth);
  }
}
BENCHMARK(BM_TreeHeadSign);

void BM_TreeHeadVerify(benchmark::State& state) {
  const SigningKey key = SigningKey::Generate().value();
  const SignedTreeHead sth = key.Sign(TreeHead{7, kBenchTreeSize, UniformLevels()[5], 1});
  const std::string pub = key.PublicKeyRaw();
  for (auto _ : state) {
    if (!VerifyTreeHead(sth, pub)) state.SkipWithError("does not verify");
  }
}
BENCHMARK(BM_TreeHeadVerify);

}  // namespace
}  // namespace smsconsent
