#include "app/account_cache.h"

namespace smsconsent {

Result<std::shared_ptr<const AccountCache::Entry>> AccountCache::Get(int64_t account_id) {
  const int64_t now = clock_.NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(account_id);
    if (it != entries_.end() && now - it->second->loaded_at_ms < ttl_ms_) return it->second;
  }
  // Loaded outside the lock: two threads may both load; the later one wins, harmlessly.
  auto entry = std::make_shared<Entry>();
  SMSC_ASSIGN_OR_RETURN(entry->account, store_.GetAccount(account_id));
  SMSC_ASSIGN_OR_RETURN(entry->numbers, store_.ListNumbers(account_id));
  entry->loaded_at_ms = now;
  std::lock_guard<std::mutex> lock(mu_);
  entries_[account_id] = entry;
  return std::shared_ptr<const Entry>(entry);
}

Result<int64_t> AccountCache::AccountIdForKeyHash(const std::string& key_hash) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = key_hashes_.find(key_hash);
    if (it != key_hashes_.end()) return it->second;
  }
  SMSC_ASSIGN_OR_RETURN(Account account, store_.FindAccountByApiKeyHash(key_hash));
  std::lock_guard<std::mutex> lock(mu_);
  if (key_hashes_.size() > 100'000) key_hashes_.clear();  // bound memory against key spraying
  key_hashes_[key_hash] = account.id;
  return account.id;
}

void AccountCache::Invalidate(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(account_id);
}

}  // namespace smsconsent
