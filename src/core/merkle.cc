#include "core/merkle.h"

#include <openssl/evp.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace smsconsent::merkle {
namespace {

const EVP_MD* MerkleSha256() {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up on every call.
  static EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kMd != nullptr ? kMd : EVP_sha256();
}

Hash DigestOf(const void* data, size_t len) {
  Hash out{};
  unsigned int out_len = 0;
  EVP_Digest(data, len, out.data(), &out_len, MerkleSha256(), nullptr);
  return out;
}

// The largest power of two strictly below n (n >= 2).
int64_t SplitPoint(int64_t n) {
  return int64_t{1} << (std::bit_width(static_cast<uint64_t>(n - 1)) - 1);
}

// MTH of the leaves [begin, begin + n), n >= 1, where begin is a multiple of a power of two
// >= n (true of every range the RFC's recursions reach). Its complete aligned subtrees are the
// set bits of n, largest first; MTH folds them from the right.
Result<Hash> RangeHash(int64_t begin, int64_t n, const SubtreeSource& source) {
  std::vector<Hash> parts;
  int64_t pos = begin;
  for (int level = 62; level >= 0; --level) {
    const int64_t width = int64_t{1} << level;
    if ((n & width) == 0) continue;
    Result<Hash> h = source(level, pos >> level);
    if (!h.ok()) return h.status();
    parts.push_back(*h);
    pos += width;
  }
  Hash acc = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) acc = NodeHash(parts[i], acc);
  return acc;
}

// PATH(m, D[begin:begin+n]).
Status PathOf(int64_t m, int64_t begin, int64_t n, const SubtreeSource& source,
              std::vector<Hash>& out) {
  if (n <= 1) return Status::Ok();
  const int64_t k = SplitPoint(n);
  Result<Hash> sibling = Hash{};
  if (m < k) {
    SMSC_RETURN_IF_ERROR(PathOf(m, begin, k, source, out));
    sibling = RangeHash(begin + k, n - k, source);
  } else {
    SMSC_RETURN_IF_ERROR(PathOf(m - k, begin + k, n - k, source, out));
    sibling = RangeHash(begin, k, source);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return Status::Ok();
}

// SUBPROOF(m, D[begin:begin+n], whole).
Status SubproofOf(int64_t m, int64_t begin, int64_t n, bool whole, const SubtreeSource& source,
                  std::vector<Hash>& out) {
  if (m == n) {
    if (whole) return Status::Ok();
    Result<Hash> h = RangeHash(begin, n, source);
    if (!h.ok()) return h.status();
    out.push_back(*h);
    return Status::Ok();
  }
  const int64_t k = SplitPoint(n);
  Result<Hash> other = Hash{};
  if (m <= k) {
    SMSC_RETURN_IF_ERROR(SubproofOf(m, begin, k, whole, source, out));
    other = RangeHash(begin + k, n - k, source);
  } else {
    SMSC_RETURN_IF_ERROR(SubproofOf(m - k, begin + k, n - k, false, source, out));
    other = RangeHash(begin, k, source);
  }
  if (!other.ok()) return other.status();
  out.push_back(*other);
  return Status::Ok();
}

Hash RootOfRange(const Hash* leaves, size_t n) {
  if (n == 1) return leaves[0];
  const size_t k = static_cast<size_t>(SplitPoint(static_cast<int64_t>(n)));
  return NodeHash(RootOfRange(leaves, k), RootOfRange(leaves + k, n - k));
}

void ShiftUntilOddOrZero(int64_t& fn, int64_t& sn) {
  while (fn != 0 && (fn & 1) == 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

std::string ToHex(const Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < h.size(); ++i) {
    out[2 * i] = kDigits[h[i] >> 4];
    out[2 * i + 1] = kDigits[h[i] & 0xf];
  }
  return out;
}

std::optional<Hash> FromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Hash LeafHash(std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  static constexpr unsigned char kLeafPrefix = 0x00;
  Hash out{};
  unsigned int out_len = 0;
  EVP_DigestInit_ex(ctx, MerkleSha256(), nullptr);
  EVP_DigestUpdate(ctx, &kLeafPrefix, 1);
  EVP_DigestUpdate(ctx, data.data(), data.size());
  EVP_DigestFinal_ex(ctx, out.data(), &out_len);
  EVP_MD_CTX_free(ctx);
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return DigestOf(buf, sizeof buf);
}

Hash EmptyRoot() { return DigestOf("", 0); }

Hash RootOf(const std::vector<Hash>& leaves) {
  if (leaves.empty()) return EmptyRoot();
  return RootOfRange(leaves.data(), leaves.size());
}

SubtreeSource SourceFromLeaves(const std::vector<Hash>& leaves) {
  return [&leaves](int level, int64_t index) -> Result<Hash> {
    if (level < 0 || level > 62 || index < 0) return InvalidArgument("subtree out of range");
    const int64_t width = int64_t{1} << level;
    const int64_t begin = index * width;
    if (index > (int64_t{1} << (62 - level)) ||
        begin + width > static_cast<int64_t>(leaves.size())) {
      return InvalidArgument("subtree (" + std::to_string(level) + ", " + std::to_string(index) +
                             ") is outside the " + std::to_string(leaves.size()) + " leaves");
    }
    return RootOfRange(leaves.data() + begin, static_cast<size_t>(width));
  };
}

Result<std::vector<Hash>> InclusionProof(int64_t index, int64_t size, const SubtreeSource& source) {
  if (size <= 0 || index < 0 || index >= size) {
    return InvalidArgument("no leaf " + std::to_string(index) + " in a tree of " +
                           std::to_string(size) + " leaves");
  }
  std::vector<Hash> out;
  SMSC_RETURN_IF_ERROR(PathOf(index, 0, size, source, out));
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(int64_t old_size, int64_t new_size,
                                           const SubtreeSource& source) {
  if (old_size <= 0 || old_size > new_size) {
    return InvalidArgument("no consistency proof from size " + std::to_string(old_size) +
                           " to size " + std::to_string(new_size));
  }
  std::vector<Hash> out;
  SMSC_RETURN_IF_ERROR(SubproofOf(old_size, 0, new_size, true, source, out));
  return out;
}

Result<Hash> RootFromSource(int64_t size, const SubtreeSource& source) {
  if (size < 0) return InvalidArgument("negative tree size " + std::to_string(size));
  if (size == 0) return EmptyRoot();
  return RangeHash(0, size, source);
}

bool VerifyInclusion(const Hash& leaf, int64_t index, int64_t size, const std::vector<Hash>& proof,
                     const Hash& root) {
  if (index < 0 || size <= 0 || index >= size) return false;
  int64_t fn = index;
  int64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) ShiftUntilOddOrZero(fn, sn);
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(int64_t old_size, int64_t new_size, const Hash& old_root,
                       const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size <= 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(static_cast<uint64_t>(old_size))) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  int64_t fn = old_size - 1;
  int64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) ShiftUntilOddOrZero(fn, sn);
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

void CompactRange::Append(
    const Hash& leaf,
    const std::function<void(int level, int64_t index, const Hash&)>& on_complete) {
  Hash h = leaf;
  int level = 0;
  int64_t index = size_;
  // Each set low bit of the old size is a complete subtree on the frontier that the new leaf's
  // subtree now pairs with.
  while (((size_ >> level) & 1) != 0) {
    h = NodeHash(frontier_.back(), h);
    frontier_.pop_back();
    ++level;
    index >>= 1;
    if (on_complete) on_complete(level, index, h);
  }
  frontier_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  Hash acc = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) acc = NodeHash(frontier_[i], acc);
  return acc;
}

std::string CompactRange::Serialize() const {
  std::string out(8 + 32 * frontier_.size(), '\0');
  const uint64_t n = static_cast<uint64_t>(size_);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
  for (size_t i = 0; i < frontier_.size(); ++i) {
    std::memcpy(out.data() + 8 + 32 * i, frontier_[i].data(), 32);
  }
  return out;
}

Result<CompactRange> CompactRange::Parse(std::string_view blob) {
  if (blob.size() < 8) {
    return Status(StatusCode::kDataLoss, "compact range of " + std::to_string(blob.size()) +
                                             " bytes: shorter than its 8-byte size");
  }
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = n << 8 | static_cast<uint8_t>(blob[i]);
  if (n > static_cast<uint64_t>(INT64_MAX)) {
    return Status(StatusCode::kDataLoss, "compact range with a negative size");
  }
  const size_t want = 8 + 32 * static_cast<size_t>(std::popcount(n));
  if (blob.size() != want) {
    return Status(StatusCode::kDataLoss, "compact range of size " + std::to_string(n) + " needs " +
                                             std::to_string(want) + " bytes, has " +
                                             std::to_string(blob.size()));
  }
  CompactRange out;
  out.size_ = static_cast<int64_t>(n);
  out.frontier_.resize(static_cast<size_t>(std::popcount(n)));
  for (size_t i = 0; i < out.frontier_.size(); ++i) {
    std::memcpy(out.frontier_[i].data(), blob.data() + 8 + 32 * i, 32);
  }
  return out;
}

CompactRange CompactRange::FromSubtrees(int64_t size, std::vector<Hash> frontier) {
  if (size < 0 ||
      frontier.size() != static_cast<size_t>(std::popcount(static_cast<uint64_t>(size)))) {
    std::abort();  // A frontier that does not match its size: the caller's invariant is broken.
  }
  CompactRange out;
  out.size_ = size;
  out.frontier_ = std::move(frontier);
  return out;
}

}  // namespace smsconsent::merkle
