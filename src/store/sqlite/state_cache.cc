#include "store/sqlite/state_cache.h"

#include <sqlite3.h>

#include <boost/container_hash/hash.hpp>

namespace smsconsent {

namespace {

// The WAL index is mapped in regions of this size (SQLite's WALINDEX_PGSZ); the header
// copies are at the start of region 0.
constexpr int kIndexRegionBytes = 32768;
// The header's first field: the index format version, 3007000 in every SQLite since 3.7.0.
constexpr uint32_t kIndexVersion = 3007000;
constexpr size_t kHeaderWords = 12;  // 48 bytes
// Byte 12 of the header: isInit, nonzero once the header is valid.
constexpr size_t kIsInitByte = 12;

}  // namespace

std::unique_ptr<WalWatch> WalWatch::Attach(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
      file->pMethods->xShmMap == nullptr) {
    return nullptr;
  }
  // Region 0 is already mapped by the connection's WAL; with extend = 0 this only returns
  // its address (or null if there is none).
  void volatile* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, kIndexRegionBytes, 0, &region) != SQLITE_OK ||
      region == nullptr) {
    return nullptr;
  }
  std::unique_ptr<WalWatch> watch(new WalWatch(static_cast<const volatile uint32_t*>(region)));
  const std::optional<WalStamp> first = watch->Now();
  if (!first || first->words[0] != kIndexVersion) return nullptr;
  return watch;
}

std::optional<WalStamp> WalWatch::Now() const {
  // As SQLite's readers do: the first copy, a barrier, the second copy. A writer writes the
  // second copy first and the first copy last, so equal copies are one whole header.
  WalStamp first;
  WalStamp second;
  for (size_t i = 0; i < kHeaderWords; ++i) first.words[i] = index_[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (size_t i = 0; i < kHeaderWords; ++i) second.words[i] = index_[kHeaderWords + i];
  if (!(first == second)) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(first.words.data());
  if (bytes[kIsInitByte] == 0) return std::nullopt;
  return first;
}

ContactStateCache::ContactStateCache(size_t capacity)
    : shard_capacity_(capacity / kShards > 0 ? capacity / kShards : 1) {}

std::optional<uint64_t> ContactStateCache::PhoneKey(std::string_view e164) {
  if (e164.size() < 2 || e164.size() > 16 || e164[0] != '+') return std::nullopt;
  uint64_t digits = 0;
  for (char c : e164.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    digits = digits * 10 + static_cast<uint64_t>(c - '0');
  }
  // The length is part of the key, so "+01" and "+1" stay apart (10^15 < 2^50).
  return (digits << 4) | static_cast<uint64_t>(e164.size() - 1);
}

size_t ContactStateCache::KeyHash::operator()(const Key& k) const {
  size_t h = 0;
  boost::hash_combine(h, k.account_id);
  boost::hash_combine(h, k.phone);
  boost::hash_combine(h, k.number_id);
  return h;
}

ContactStateCache::Shard& ContactStateCache::ShardFor(const Key& k) {
  return shards_[KeyHash{}(k) % kShards];
}

std::optional<std::optional<ContactState>> ContactStateCache::Find(const WalStamp& stamp,
                                                                   int64_t account_id,
                                                                   uint64_t phone_key,
                                                                   int64_t number_id) {
  const Key key{account_id, phone_key, number_id};
  Shard& shard = ShardFor(key);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.stamp == stamp) {
      auto it = shard.answers.find(key);
      if (it != shard.answers.end()) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return it->second;
      }
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

void ContactStateCache::Store(const WalStamp& stamp, int64_t account_id, uint64_t phone_key,
                              int64_t number_id, const std::optional<ContactState>& answer) {
  const Key key{account_id, phone_key, number_id};
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  // A different stamp (newer, or older when this read raced a commit) makes every stored
  // answer unusable under this one: the shard starts over.
  if (!(shard.stamp == stamp) || shard.answers.size() >= shard_capacity_) {
    shard.answers.clear();
    shard.stamp = stamp;
  }
  shard.answers.insert_or_assign(key, answer);
}

}  // namespace smsconsent
