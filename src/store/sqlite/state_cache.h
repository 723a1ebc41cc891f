// The consent check's cache in SqliteStore: FindContactState answers, kept only while the
// database is exactly as it was when they were read.
//
// Why it is exact. In WAL mode every commit, by any connection in any process (another
// `serve`, the CLI, the sqlite3 shell), ends by writing a new WAL-index header into the
// database's shared memory (the -shm file, mapped by every process that has the database
// open): the header names the last committed frame and carries running checksums and salts,
// so no two committed states have the same header (https://www.sqlite.org/walformat.html,
// "The WAL-Index Header"). A writer's commit returns only after that header is written.
// WalWatch reads the header without a lock, as SQLite's own readers do first; an answer is
// stored under the header read *before* the read transaction that produced it, and served
// only while the header is still the same one. If anything was committed in between, the
// header has moved on and the answer is never served.
//
// What it costs: nothing is served stale, so it helps only while the database is unchanged.
// Under a stream of writes (webhooks) the header changes at every group commit and the
// cache mostly misses; checks then cost what they cost without it, plus a map insert.
//
// Not covered: a database taken out of WAL mode by another program while the store is open
// (smsconsent itself never does that; every smsconsent process keeps the file in WAL mode).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "store/store.h"

struct sqlite3;

namespace smsconsent {

// One committed state of a WAL-mode database: its WAL-index header (48 bytes).
struct WalStamp {
  std::array<uint32_t, 12> words{};
  bool operator==(const WalStamp&) const = default;
};

// Reads the WAL-index header of one database from shared memory.
class WalWatch {
 public:
  // For the database that `db` (a connection in WAL mode that has read or written it) has
  // open, or nullptr when it has no shared-memory index (not in WAL mode, :memory:, a VFS
  // without shared memory, or an index format this code does not know). The mapping stays
  // valid while any connection of this process has the database open in WAL mode: the
  // caller keeps `db` open for the WalWatch's lifetime.
  static std::unique_ptr<WalWatch> Attach(sqlite3* db);

  // The current committed state; nullopt while a writer is in the middle of writing the
  // header, or while the index awaits recovery (no stamp can be trusted then).
  std::optional<WalStamp> Now() const;

 private:
  explicit WalWatch(const volatile uint32_t* index) : index_(index) {}
  const volatile uint32_t* index_;  // the start of the index: two copies of the header
};

// FindContactState answers by (account, phone, number), each stored under the WalStamp read
// before it was read from the database. Sharded, so concurrent checks seldom share a lock.
// Thread-safe.
class ContactStateCache {
 public:
  // At most `capacity` answers are kept; a shard that fills up starts over empty.
  explicit ContactStateCache(size_t capacity);

  // The phone's key: E.164 text ('+' and 1 to 15 digits) packed into 64 bits; nullopt for
  // any other text, which is then never cached.
  static std::optional<uint64_t> PhoneKey(std::string_view e164);

  // The answer stored for the key under `stamp`; nullopt when there is none (never read,
  // or read under another stamp).
  std::optional<std::optional<ContactState>> Find(const WalStamp& stamp, int64_t account_id,
                                                  uint64_t phone_key, int64_t number_id);
  // Stores an answer that was read from the database after `stamp` was read. Answers stored
  // under an older stamp are dropped.
  void Store(const WalStamp& stamp, int64_t account_id, uint64_t phone_key, int64_t number_id,
             const std::optional<ContactState>& answer);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Key {
    int64_t account_id;
    uint64_t phone;
    int64_t number_id;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Shard {
    std::mutex mu;
    WalStamp stamp;  // every answer in `answers` was stored under it
    std::unordered_map<Key, std::optional<ContactState>, KeyHash> answers;
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(const Key& k);

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace smsconsent
