// A short-lived, in-process cache of accounts and their sender numbers for the hot read
// paths (the consent check before every send, API-key authentication).
//
// Consent statuses are never cached: only account metadata (add-ons, region) and the number
// list, which change rarely. This process drops an entry when it changes that account itself;
// changes made by another process (the CLI, another `serve` instance) show within ttl_ms.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace smsconsent {

class AccountCache {
 public:
  struct Entry {
    Account account;
    std::vector<SenderNumber> numbers;
    int64_t loaded_at_ms = 0;
  };

  AccountCache(ConsentStore& store, const Clock& clock, int64_t ttl_ms)
      : store_(store), clock_(clock), ttl_ms_(ttl_ms) {}

  // The account and its numbers, from the cache when fresh. kNotFound for an unknown account.
  Result<std::shared_ptr<const Entry>> Get(int64_t account_id);
  // The account id of an API key's SHA-256 (keys never change, so ids are kept for good;
  // unknown keys are not cached). kNotFound for an unknown key.
  Result<int64_t> AccountIdForKeyHash(const std::string& key_hash);
  void Invalidate(int64_t account_id);

 private:
  ConsentStore& store_;
  const Clock& clock_;
  const int64_t ttl_ms_;
  std::mutex mu_;
  std::unordered_map<int64_t, std::shared_ptr<const Entry>> entries_;
  std::unordered_map<std::string, int64_t> key_hashes_;
};

}  // namespace smsconsent
