// The Merkle tree math against RFC 6962's published test vectors, and as properties: every
// proof built from a tree verifies, and any change to it does not.
#include "core/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <cctype>
#include <string>
#include <vector>

namespace smsconsent::merkle {
namespace {

// The eight leaves of the Certificate Transparency reference test data.
std::vector<std::string> ReferenceLeaves() {
  return {"",
          std::string("\x00", 1),
          "\x10",
          "\x20\x21",
          "\x30\x31",
          "\x40\x41\x42\x43",
          "\x50\x51\x52\x53\x54\x55\x56\x57",
          "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
}

std::vector<Hash> ReferenceLeafHashes(size_t n) {
  std::vector<Hash> out;
  for (const std::string& leaf : ReferenceLeaves()) {
    if (out.size() == n) break;
    out.push_back(LeafHash(leaf));
  }
  return out;
}

Hash H(const char* hex) { return FromHex(hex).value(); }

std::vector<std::string> Hexes(const std::vector<Hash>& hs) {
  std::vector<std::string> out;
  for (const Hash& h : hs) out.push_back(ToHex(h));
  return out;
}

// Leaves that are all different: LeafHash of the index's decimal text.
std::vector<Hash> NumberedLeaves(int n) {
  std::vector<Hash> out;
  for (int i = 0; i < n; ++i) out.push_back(LeafHash("leaf " + std::to_string(i)));
  return out;
}

TEST(MerkleHash, EmptyRootIsTheHashOfNothing) {
  EXPECT_EQ(ToHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RootOf({}), EmptyRoot());
}

TEST(MerkleHash, HexRoundTripsAndRejectsMalformedText) {
  const Hash h = LeafHash("x");
  EXPECT_EQ(FromHex(ToHex(h)), h);
  std::string upper = ToHex(h);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(FromHex(upper), h);
  EXPECT_FALSE(FromHex(ToHex(h).substr(1)).has_value());
  EXPECT_FALSE(FromHex(ToHex(h) + "0").has_value());
  EXPECT_FALSE(FromHex(std::string(63, '0') + "g").has_value());
}

TEST(MerkleHash, RootsMatchTheReferenceVectors) {
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  for (size_t n = 1; n <= 8; ++n) {
    const std::vector<Hash> leaves = ReferenceLeafHashes(n);
    EXPECT_EQ(ToHex(RootOf(leaves)), roots[n - 1]) << "size " << n;
    auto from_source = RootFromSource(static_cast<int64_t>(n), SourceFromLeaves(leaves));
    ASSERT_TRUE(from_source.ok());
    EXPECT_EQ(ToHex(*from_source), roots[n - 1]) << "size " << n;
  }
}

TEST(MerkleProofs, InclusionProofsMatchTheReferenceVectors) {
  const std::vector<Hash> leaves = ReferenceLeafHashes(8);
  const SubtreeSource source = SourceFromLeaves(leaves);
  auto p0 = InclusionProof(0, 8, source);
  ASSERT_TRUE(p0.ok());
  EXPECT_EQ(Hexes(*p0), (std::vector<std::string>{
                            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  auto p5 = InclusionProof(5, 8, source);
  ASSERT_TRUE(p5.ok());
  EXPECT_EQ(Hexes(*p5), (std::vector<std::string>{
                            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  const Hash root = H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_TRUE(VerifyInclusion(leaves[0], 0, 8, *p0, root));
  EXPECT_TRUE(VerifyInclusion(leaves[5], 5, 8, *p5, root));
}

TEST(MerkleProofs, ConsistencyProofsMatchTheReferenceVectors) {
  const std::vector<Hash> leaves = ReferenceLeafHashes(8);
  const SubtreeSource source = SourceFromLeaves(leaves);
  struct Case {
    int64_t m, n;
    std::vector<std::string> proof;
  };
  const std::vector<Case> cases = {
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    auto proof = ConsistencyProof(c.m, c.n, source);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(Hexes(*proof), c.proof) << c.m << " -> " << c.n;
    const std::vector<Hash> old_leaves(leaves.begin(), leaves.begin() + c.m);
    const std::vector<Hash> new_leaves(leaves.begin(), leaves.begin() + c.n);
    EXPECT_TRUE(VerifyConsistency(c.m, c.n, RootOf(old_leaves), RootOf(new_leaves), *proof));
  }
}

TEST(MerkleProofs, RejectsImpossibleArguments) {
  const std::vector<Hash> leaves = NumberedLeaves(4);
  const SubtreeSource source = SourceFromLeaves(leaves);
  EXPECT_EQ(InclusionProof(4, 4, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InclusionProof(-1, 4, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InclusionProof(0, 0, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(0, 4, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(5, 4, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RootFromSource(-1, source).status().code(), StatusCode::kInvalidArgument);
  auto same = ConsistencyProof(4, 4, source);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  const Hash root = RootOf(leaves);
  EXPECT_TRUE(VerifyConsistency(4, 4, root, root, {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, root, leaves[0], {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, root, root, {root}));
  EXPECT_FALSE(VerifyConsistency(0, 4, EmptyRoot(), root, {}));
  EXPECT_FALSE(VerifyInclusion(leaves[0], 0, 0, {}, root));
}

TEST(MerkleProofs, SourceErrorsArePassedThrough) {
  const SubtreeSource failing = [](int, int64_t) -> Result<Hash> {
    return Status(StatusCode::kUnavailable, "store busy");
  };
  EXPECT_EQ(InclusionProof(3, 10, failing).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ConsistencyProof(3, 10, failing).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(RootFromSource(10, failing).status().code(), StatusCode::kUnavailable);
}

TEST(MerkleProofs, OnlyCompleteAlignedSubtreesAreAskedFor) {
  const std::vector<Hash> leaves = NumberedLeaves(70);
  const SubtreeSource inner = SourceFromLeaves(leaves);
  int asked = 0;
  const SubtreeSource checking = [&](int level, int64_t index) -> Result<Hash> {
    ++asked;
    EXPECT_GE(level, 0);
    EXPECT_LE((index + 1) << level, 70) << "level " << level << " index " << index;
    return inner(level, index);
  };
  auto root = RootFromSource(70, checking);  // 70 = 64 + 4 + 2: three subtrees
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, RootOf(leaves));
  EXPECT_EQ(asked, 3);
  for (int64_t i = 0; i < 70; ++i) ASSERT_TRUE(InclusionProof(i, 70, checking).ok());
  for (int64_t m = 1; m <= 70; ++m) ASSERT_TRUE(ConsistencyProof(m, 70, checking).ok());
}

// Every size 1..70 and every leaf: the proof verifies; a flipped byte in any node, a dropped or
// an extra node, a wrong index, a wrong size, another leaf or another root does not.
TEST(MerkleProofs, InclusionProofsVerifyAndTamperingFails) {
  const std::vector<Hash> all = NumberedLeaves(71);
  for (int n = 1; n <= 70; ++n) {
    const std::vector<Hash> leaves(all.begin(), all.begin() + n);
    const SubtreeSource source = SourceFromLeaves(leaves);
    const Hash root = RootOf(leaves);
    for (int i = 0; i < n; ++i) {
      auto proof = InclusionProof(i, n, source);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, root)) << i << " of " << n;
      for (size_t k = 0; k < proof->size(); ++k) {
        for (size_t byte : {size_t{0}, size_t{17}, size_t{31}}) {
          std::vector<Hash> bad = *proof;
          bad[k][byte] ^= 0x01;
          EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root)) << i << " of " << n;
        }
        std::vector<Hash> dropped = *proof;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(k));
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, dropped, root)) << i << " of " << n;
      }
      std::vector<Hash> extra = *proof;
      extra.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, extra, root));
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, *proof, root)) << i << " of " << n;
        EXPECT_FALSE(VerifyInclusion(leaves[(i + 1) % n], i, n, *proof, root));
      }
      // Another size with that size's own root. (With the same root a proof can verify for
      // another size: the size is bound by the signed tree head, not by the proof.)
      const Hash bigger = RootOf({all.begin(), all.begin() + n + 1});
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n + 1, *proof, bigger)) << i << " of " << n;
      if (i < n - 1) {
        const Hash smaller = RootOf({all.begin(), all.begin() + n - 1});
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n - 1, *proof, smaller)) << i << " of " << n;
      }
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, *proof, all[70]));
    }
  }
}

TEST(MerkleProofs, ConsistencyProofsVerifyAndTamperingFails) {
  const std::vector<Hash> all = NumberedLeaves(70);
  std::vector<Hash> roots;  // roots[m] = root of the first m leaves
  for (int m = 0; m <= 70; ++m) roots.push_back(RootOf({all.begin(), all.begin() + m}));
  for (int n = 1; n <= 70; ++n) {
    const std::vector<Hash> leaves(all.begin(), all.begin() + n);
    const SubtreeSource source = SourceFromLeaves(leaves);
    for (int m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(m, n, source);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], *proof)) << m << " -> " << n;
      for (size_t k = 0; k < proof->size(); ++k) {
        std::vector<Hash> bad = *proof;
        bad[k][k % 32] ^= 0x80;
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad)) << m << " -> " << n;
        std::vector<Hash> dropped = *proof;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(k));
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], dropped)) << m << " -> " << n;
      }
      if (m == n) continue;
      std::vector<Hash> extra = *proof;
      extra.push_back(roots[n]);
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], extra)) << m << " -> " << n;
      // Another old root, another new root, or the proof claimed for other sizes.
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m - 1], roots[n], *proof)) << m << " -> " << n;
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n - 1], *proof)) << m << " -> " << n;
      if (m + 1 < n) {
        EXPECT_FALSE(VerifyConsistency(m + 1, n, roots[m + 1], roots[n], *proof));
      }
      if (n < 70) {
        EXPECT_FALSE(VerifyConsistency(m, n + 1, roots[m], roots[n + 1], *proof));
      }
    }
  }
}

// A tree whose tail was rewritten (same size, other last leaf) is not consistent with the old.
TEST(MerkleProofs, RewrittenTailIsNotConsistent) {
  std::vector<Hash> honest = NumberedLeaves(20);
  std::vector<Hash> rewritten = honest;
  rewritten[9] = LeafHash("rewritten");
  const Hash old_root = RootOf({honest.begin(), honest.begin() + 10});
  auto proof = ConsistencyProof(10, 20, SourceFromLeaves(rewritten));
  ASSERT_TRUE(proof.ok());
  EXPECT_FALSE(VerifyConsistency(10, 20, old_root, RootOf(rewritten), *proof));
  auto honest_proof = ConsistencyProof(10, 20, SourceFromLeaves(honest));
  ASSERT_TRUE(honest_proof.ok());
  EXPECT_TRUE(VerifyConsistency(10, 20, old_root, RootOf(honest), *honest_proof));
}

TEST(CompactRange, RootEqualsTheTreeRootForEverySize) {
  const std::vector<Hash> all = NumberedLeaves(300);
  CompactRange range;
  EXPECT_EQ(range.Root(), EmptyRoot());
  for (int n = 1; n <= 300; ++n) {
    range.Append(all[n - 1]);
    ASSERT_EQ(range.size(), n);
    ASSERT_EQ(range.Root(), RootOf({all.begin(), all.begin() + n})) << "size " << n;
    ASSERT_EQ(range.frontier().size(),
              static_cast<size_t>(std::popcount(static_cast<unsigned>(n))));
    auto parsed = CompactRange::Parse(range.Serialize());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(parsed->size(), n);
    ASSERT_EQ(parsed->Root(), range.Root());
    ASSERT_EQ(parsed->Serialize(), range.Serialize());
    const CompactRange rebuilt = CompactRange::FromSubtrees(n, range.frontier());
    ASSERT_EQ(rebuilt.Root(), range.Root());
  }
}

TEST(CompactRange, ReportsEveryCompletedSubtreeWithItsHash) {
  const std::vector<Hash> leaves = NumberedLeaves(37);
  const SubtreeSource source = SourceFromLeaves(leaves);
  CompactRange range;
  int reported = 0;
  for (const Hash& leaf : leaves) {
    range.Append(leaf, [&](int level, int64_t index, const Hash& h) {
      ++reported;
      EXPECT_GE(level, 1);
      auto want = source(level, index);
      ASSERT_TRUE(want.ok()) << level << "/" << index;
      EXPECT_EQ(h, *want) << level << "/" << index;
    });
  }
  // Complete subtrees of level >= 1 in 37 leaves: 18 + 9 + 4 + 2 + 1.
  EXPECT_EQ(reported, 34);
}

TEST(CompactRange, ParseRejectsMalformedBlobs) {
  CompactRange range;
  for (const Hash& h : NumberedLeaves(5)) range.Append(h);  // 5 = 4 + 1: two hashes
  const std::string blob = range.Serialize();
  ASSERT_EQ(blob.size(), 8u + 64u);
  EXPECT_EQ(CompactRange::Parse(blob.substr(0, 7)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(CompactRange::Parse(blob.substr(0, blob.size() - 1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(CompactRange::Parse(blob + std::string(32, 'x')).status().code(),
            StatusCode::kDataLoss);
  std::string negative = blob;
  negative[0] = static_cast<char>(0x80);
  EXPECT_EQ(CompactRange::Parse(negative).status().code(), StatusCode::kDataLoss);
  std::string wrong_size = blob;
  wrong_size[7] = 7;  // 7 leaves need three hashes
  EXPECT_EQ(CompactRange::Parse(wrong_size).status().code(), StatusCode::kDataLoss);
  auto empty = CompactRange::Parse(std::string(8, '\0'));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0);
  EXPECT_EQ(empty->Root(), EmptyRoot());
}

}  // namespace
}  // namespace smsconsent::merkle
