// A short-lived, in-process cache of accounts, their sender numbers and provider settings for
// the hot paths (the consent check before every send, API-key authentication, routing and
// verifying inbound webhooks).
//
// Consent statuses, contacts and messages are never cached here: only account metadata
// (add-ons, region), the number list and provider secrets, which change rarely. (The SQLite
// store keeps consent checks' answers in an exact cache of its own, which is never stale:
// src/store/sqlite/state_cache.h.) This process drops an
// account's entries when it changes that account itself; changes made by another process (the
// CLI, another `serve` instance) show within ttl_ms.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "store/store.h"

namespace smsconsent {

class AccountCache {
 public:
  struct Entry {
    Account account;
    std::vector<SenderNumber> numbers;
    std::vector<ProviderConfig> providers;
    // providers[i].settings parsed, once per load rather than once per webhook (a discarded
    // value when the stored text is not valid JSON).
    std::vector<nlohmann::json> parsed_settings;
    int64_t loaded_at_ms = 0;

    // A provider's stored settings, parsed (possibly not an object: the caller checks), or
    // nullptr when not configured. Lives as long as the entry.
    const nlohmann::json* ParsedProviderSettings(std::string_view provider) const;
  };

  AccountCache(ConsentStore& store, const Clock& clock, int64_t ttl_ms)
      : store_(store), clock_(clock), ttl_ms_(ttl_ms) {}

  // The account and its numbers, from the cache when fresh. kNotFound for an unknown account.
  Result<std::shared_ptr<const Entry>> Get(int64_t account_id);
  // The sender numbers of every account registered as `number` (an E.164 number, or a short
  // code's digits, which several countries may share), as ConsentStore::FindNumbers. Unknown
  // numbers are cached too (an empty list), so a flood of webhooks for an unregistered
  // number costs no store reads.
  Result<std::vector<SenderNumber>> NumbersAt(const std::string& number);
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
  struct Route {
    std::vector<SenderNumber> numbers;
    int64_t loaded_at_ms = 0;
  };
  std::unordered_map<std::string, Route> routes_;
};

}  // namespace smsconsent
