#include "http/key_hash_memo.h"

#include <openssl/rand.h>

#include <bit>
#include <cstring>
#include <stdexcept>

#include "core/ledger.h"

namespace smsconsent {

namespace {

uint64_t LoadLittleEndian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

uint64_t Load8LittleEndian(const unsigned char* p) {
  if constexpr (std::endian::native != std::endian::little) return LoadLittleEndian(p, 8);
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
  uint64_t Finish() {
    for (int i = 0; i < 4; ++i) Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

}  // namespace

std::array<uint64_t, 2> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data) {
  const uint64_t k0 = LoadLittleEndian(key.data(), 8);
  const uint64_t k1 = LoadLittleEndian(key.data() + 8, 8);
  SipState s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL ^ 0xee,
             k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.Compress(Load8LittleEndian(p + i));
  s.Compress(LoadLittleEndian(p + whole, data.size() - whole) |
             (static_cast<uint64_t>(data.size() & 0xff) << 56));
  s.v2 ^= 0xee;
  const uint64_t first = s.Finish();
  s.v1 ^= 0xdd;
  return {first, s.Finish()};
}

KeyHashMemo::KeyHashMemo(size_t max_entries) : max_entries_(max_entries) {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw std::runtime_error("KeyHashMemo: no random bytes for its key");
  }
}

std::array<uint64_t, 2> KeyHashMemo::Tag(std::string_view api_key) const {
  return SipHash128(secret_, api_key);
}

std::string KeyHashMemo::Sha256Hex(std::string_view api_key, bool* remembered) const {
  const std::array<uint64_t, 2> tag = Tag(api_key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hashes_.find(tag);
    if (it != hashes_.end()) {
      *remembered = true;
      return it->second;
    }
  }
  *remembered = false;
  return smsconsent::Sha256Hex(api_key);
}

void KeyHashMemo::Remember(std::string_view api_key, const std::string& sha256_hex) {
  const std::array<uint64_t, 2> tag = Tag(api_key);
  std::lock_guard<std::mutex> lock(mu_);
  if (hashes_.size() >= max_entries_) hashes_.clear();
  hashes_[tag] = sha256_hex;
}

}  // namespace smsconsent
