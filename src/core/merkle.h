// Merkle trees of the consent ledger, as RFC 9162 (Certificate Transparency 2.0) defines them.
//
// Each account's events are the leaves of one tree, in seq order (leaf index = seq - 1). The
// tree's root (the Merkle Tree Hash, MTH) commits to every event; an inclusion proof shows one
// event is in a tree of a given size and root, a consistency proof shows a tree is an append-
// only extension of an older one. docs/ledger.md describes the hashes so that a third party can
// check proofs without our code.
//
//   leaf hash    = SHA-256(0x00 || leaf data)
//   node hash    = SHA-256(0x01 || left || right)
//   MTH({})      = SHA-256("")
//   MTH(D[n])    = NodeHash(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Everything here is pure: no I/O, no clock, no threads. Proofs are built from a SubtreeSource
// (the store answers it from stored nodes and leaves) that is only ever asked for *complete
// aligned subtrees*; hashes of the incomplete right edges of a tree are computed from those.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace smsconsent::merkle {

using Hash = std::array<uint8_t, 32>;

std::string ToHex(const Hash& h);  // 64 lowercase hex digits
// Exactly 64 hex digits (either case), else nullopt.
std::optional<Hash> FromHex(std::string_view hex);

Hash LeafHash(std::string_view data);                // SHA-256(0x00 || data)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash EmptyRoot();                                    // SHA-256(""), the root of an empty tree

// MTH of leaf hashes (already LeafHash'ed), by the RFC's recursive definition. For tests and
// small trees: it hashes every inner node.
Hash RootOf(const std::vector<Hash>& leaves);

// A complete aligned subtree: the 2^level leaves [index << level, (index + 1) << level).
// Level 0 is a single leaf (its leaf hash).
struct Subtree {
  int level = 0;
  int64_t index = 0;
};

// Answers the hash of a complete aligned subtree. Callers ask only for subtrees that lie inside
// the tree they work on; an error is passed through unchanged.
using SubtreeSource = std::function<Result<Hash>(int level, int64_t index)>;

// A source over leaf hashes held in memory: each answer hashes the whole subtree (2^level
// leaves), so for tests and small trees. `leaves` must outlive the source.
SubtreeSource SourceFromLeaves(const std::vector<Hash>& leaves);

// PATH(m, D[n]) of RFC 9162 §2.1.3.1, in the RFC's order (the sibling nearest the leaf first):
// at most ceil(log2(size)) hashes. kInvalidArgument unless 0 <= index < size. Asks the source
// for at most about 2 * log2(size) subtrees.
Result<std::vector<Hash>> InclusionProof(int64_t index, int64_t size, const SubtreeSource& source);

// PROOF(m, D[n]) of RFC 9162 §2.1.4.1. kInvalidArgument unless 0 < old_size <= new_size; an
// empty proof when old_size == new_size.
Result<std::vector<Hash>> ConsistencyProof(int64_t old_size, int64_t new_size,
                                           const SubtreeSource& source);

// MTH of the first `size` leaves (EmptyRoot() for 0), asking the source for one complete
// subtree per set bit of `size`. kInvalidArgument for a negative size.
Result<Hash> RootFromSource(int64_t size, const SubtreeSource& source);

// RFC 9162 §2.1.3.2: true when `proof` shows the leaf hash `leaf` at `index` in the tree of
// `size` leaves with root `root`. False for index >= size, a negative value, or a proof of the
// wrong length.
bool VerifyInclusion(const Hash& leaf, int64_t index, int64_t size, const std::vector<Hash>& proof,
                     const Hash& root);

// RFC 9162 §2.1.4.2: true when `proof` shows that the tree of new_size leaves with root
// new_root extends the tree of old_size leaves with root old_root. old_size == new_size needs an
// empty proof and equal roots. False unless 0 < old_size <= new_size.
bool VerifyConsistency(int64_t old_size, int64_t new_size, const Hash& old_root,
                       const Hash& new_root, const std::vector<Hash>& proof);

// The right frontier of a tree of n leaves: the roots of the complete aligned subtrees of n's
// binary decomposition, largest (leftmost) first, one per set bit of n. Enough to append leaves
// and compute the root without reading the tree. A value type; not thread-safe.
class CompactRange {
 public:
  CompactRange() = default;

  int64_t size() const { return size_; }
  const std::vector<Hash>& frontier() const { return frontier_; }

  // Appends one leaf hash. on_complete is called for every complete aligned subtree the leaf
  // completes at level >= 1 (lowest level first), so the caller can store inner nodes.
  void Append(const Hash& leaf,
              const std::function<void(int level, int64_t index, const Hash&)>& on_complete = {});

  // MTH of all leaves appended (EmptyRoot() when none): equals RootOf of the same leaves.
  Hash Root() const;

  // 8-byte big-endian size, then popcount(size) hashes of 32 bytes.
  std::string Serialize() const;
  // The inverse of Serialize. kDataLoss for a blob of the wrong length or a negative size.
  static Result<CompactRange> Parse(std::string_view blob);

  // From a size and its frontier (one hash per set bit of size, largest subtree first), e.g.
  // read from the store. Precondition: size >= 0 and frontier.size() == popcount(size); a
  // violation is a broken invariant and aborts.
  static CompactRange FromSubtrees(int64_t size, std::vector<Hash> frontier);

 private:
  int64_t size_ = 0;
  std::vector<Hash> frontier_;
};

}  // namespace smsconsent::merkle
