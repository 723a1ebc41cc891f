// KeyHashMemo: the SHA-256 of API keys that authenticated before, so the check made before
// every send does not hash the same key again on every request (SHA-256 of a key cost more
// than a fifth of the consent check's own work).
//
// Entries are found by a 128-bit SipHash-2-4 tag of the key under a random per-process key,
// not by the key itself: holding every API key in memory for the process's lifetime (core
// dumps, swap) would be a new exposure, whereas today only their SHA-256 stays (AccountCache).
// The tag is unpredictable to a client, so presenting a key that is taken for a remembered
// one has a chance of about 2^-128 per try; an ordinary unkeyed hash could be collided on
// purpose. The memo holds a pure function's results, so nothing in it can go stale: whether
// the key is valid (revoked, moved) is still decided by the store/AccountCache on every
// request. Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace smsconsent {

// SipHash-2-4 with a 128-bit output (Aumasson and Bernstein's reference "SipHash-128"): the
// two 64-bit words of the tag; as bytes, word 0 then word 1, each little-endian.
std::array<uint64_t, 2> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data);

class KeyHashMemo {
 public:
  // At most `max_entries` keys are remembered; when full, the memo starts afresh.
  explicit KeyHashMemo(size_t max_entries = 10'000);

  // The lowercase hex SHA-256 of `api_key` (Sha256Hex), from memory when it was remembered.
  // `*remembered` says which.
  std::string Sha256Hex(std::string_view api_key, bool* remembered) const;
  // Remembers `sha256_hex` as the hash of `api_key`; call only for a key that authenticated,
  // so that unknown keys sprayed at the API do not fill the memo.
  void Remember(std::string_view api_key, const std::string& sha256_hex);

 private:
  struct TagHash {
    size_t operator()(const std::array<uint64_t, 2>& tag) const { return tag[0]; }
  };
  std::array<uint64_t, 2> Tag(std::string_view api_key) const;

  const size_t max_entries_;
  std::array<uint8_t, 16> secret_{};
  mutable std::mutex mu_;
  std::unordered_map<std::array<uint64_t, 2>, std::string, TagHash> hashes_;
};

}  // namespace smsconsent
