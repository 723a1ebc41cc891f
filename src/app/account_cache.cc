#include "app/account_cache.h"

namespace smsconsent {

namespace {
// Bounds the memory of the caches keyed by what callers send (numbers, API keys).
constexpr std::size_t kMaxKeyedEntries = 100'000;
}  // namespace

const nlohmann::json* AccountCache::Entry::ParsedProviderSettings(std::string_view provider) const {
  for (size_t i = 0; i < providers.size() && i < parsed_settings.size(); ++i) {
    if (providers[i].provider == provider) return &parsed_settings[i];
  }
  return nullptr;
}

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
  SMSC_ASSIGN_OR_RETURN(entry->providers, store_.ListProviderConfigs(account_id));
  entry->parsed_settings.reserve(entry->providers.size());
  for (const ProviderConfig& c : entry->providers) {
    entry->parsed_settings.push_back(
        nlohmann::json::parse(c.settings, nullptr, /*allow_exceptions=*/false));
  }
  entry->loaded_at_ms = now;
  std::lock_guard<std::mutex> lock(mu_);
  entries_[account_id] = entry;
  return std::shared_ptr<const Entry>(entry);
}

Result<std::vector<SenderNumber>> AccountCache::NumbersAt(const std::string& number) {
  const int64_t now = clock_.NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = routes_.find(number);
    if (it != routes_.end() && now - it->second.loaded_at_ms < ttl_ms_) {
      return it->second.numbers;
    }
  }
  SMSC_ASSIGN_OR_RETURN(std::vector<SenderNumber> found, store_.FindNumbers(number));
  std::lock_guard<std::mutex> lock(mu_);
  if (routes_.size() >= kMaxKeyedEntries) routes_.clear();
  routes_[number] = Route{found, now};
  return found;
}

Result<int64_t> AccountCache::AccountIdForKeyHash(const std::string& key_hash) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = key_hashes_.find(key_hash);
    if (it != key_hashes_.end()) return it->second;
  }
  SMSC_ASSIGN_OR_RETURN(Account account, store_.FindAccountByApiKeyHash(key_hash));
  std::lock_guard<std::mutex> lock(mu_);
  if (key_hashes_.size() >= kMaxKeyedEntries) key_hashes_.clear();  // against key spraying
  key_hashes_[key_hash] = account.id;
  return account.id;
}

void AccountCache::Invalidate(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(account_id);
  // Routes are keyed by number, not account; a number may have moved in or out of this
  // account, so all of them are dropped (they reload at one read per receiving number).
  routes_.clear();
}

}  // namespace smsconsent
