#include "app/ledger_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace smsconsent {

LedgerService::LedgerService(ConsentStore& store, const Clock& clock, const SigningKey& key,
                             LedgerOptions options)
    : store_(store), clock_(clock), key_(key), options_(options) {}

Status LedgerService::RegisterKey() {
  return store_.PutLedgerKey(key_.KeyId(), key_.PublicKeyRaw(), clock_.NowMs());
}

Result<LedgerTree> CatchUpLedger(ConsentStore& store, const Clock& clock, int64_t account_id) {
  constexpr int64_t kBatch = store_ledger::kMaxIntegrateEvents;
  for (int round = 0; round < kMaxCatchUpRounds; ++round) {
    SMSC_ASSIGN_OR_RETURN(LedgerTree tree,
                          store.IntegrateLedger(account_id, kBatch, clock.NowMs()));
    if (tree.integrated == kBatch) continue;  // more may be waiting
    if (!tree.busy) return tree;
    // Another process is integrating the account (PostgreSQL): its work shows in a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status(StatusCode::kUnavailable, "the ledger of account " + std::to_string(account_id) +
                                              " is still being integrated; try again");
}

Result<LedgerTree> LedgerService::CatchUp(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, CatchUpLedger(store_, clock_, account_id));
  std::lock_guard<std::mutex> lock(mu_);
  auto s = signed_.find(account_id);
  if (s == signed_.end() || tree.size > s->second.size) grown_[account_id] = tree;
  return tree;
}

Result<SignedTreeHead> LedgerService::SignAndKeep(const LedgerTree& tree) {
  TreeHead head;
  head.account_id = tree.account_id;
  head.size = tree.size;
  head.root = tree.root;
  head.at_ms = clock_.NowMs();
  SignedTreeHead sth = key_.Sign(head);
  SMSC_RETURN_IF_ERROR(store_.PutTreeHead(sth));
  // Another instance may have kept one for this size first: hand out the kept one.
  SMSC_ASSIGN_OR_RETURN(auto kept, store_.ListTreeHeads(tree.account_id, tree.size - 1, 1));
  if (!kept.empty() && kept.front().head.size == tree.size) sth = kept.front();
  std::lock_guard<std::mutex> lock(mu_);
  Signed& s = signed_[tree.account_id];
  if (sth.head.size >= s.size) s = {sth.head.size, head.at_ms};
  auto g = grown_.find(tree.account_id);
  if (g != grown_.end() && g->second.size <= sth.head.size) grown_.erase(g);
  return sth;
}

Result<std::optional<SignedTreeHead>> LedgerService::LatestHead(int64_t account_id) {
  SMSC_RETURN_IF_ERROR(store_.GetAccount(account_id).status());
  return store_.LatestTreeHead(account_id);
}

Result<SignedTreeHead> LedgerService::CurrentHead(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, CatchUp(account_id));
  SMSC_ASSIGN_OR_RETURN(auto latest, store_.LatestTreeHead(account_id));
  if (latest.has_value() && latest->head.size == tree.size) return *latest;
  return SignAndKeep(tree);
}

namespace {

merkle::SubtreeSource SourceOf(ConsentStore& store, int64_t account_id, int64_t size) {
  return [&store, account_id, size](int level, int64_t index) {
    return store.SubtreeHash(account_id, size, level, index);
  };
}

}  // namespace

Result<std::vector<merkle::Hash>> LedgerService::InclusionProof(int64_t account_id, int64_t index,
                                                                int64_t size) {
  return merkle::InclusionProof(index, size, SourceOf(store_, account_id, size));
}

Result<SignedTreeHead> LedgerService::HeadOfSize(int64_t account_id, int64_t size) {
  SMSC_ASSIGN_OR_RETURN(auto heads, store_.ListTreeHeads(account_id, size - 1, 1));
  if (!heads.empty() && heads.front().head.size == size) return heads.front();
  // None kept for that size: the root of the tree's first `size` events now, signed and kept.
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, CatchUp(account_id));
  if (size > tree.size) {
    return InvalidArgument("the ledger of account " + std::to_string(account_id) + " has " +
                           std::to_string(tree.size) + " events, not " + std::to_string(size));
  }
  LedgerTree prefix = tree;
  prefix.size = size;
  SMSC_ASSIGN_OR_RETURN(prefix.root,
                        merkle::RootFromSource(size, SourceOf(store_, account_id, tree.size)));
  return SignAndKeep(prefix);
}

Result<ConsistencyAnswer> LedgerService::Consistency(int64_t account_id, int64_t from, int64_t to) {
  if (from <= 0 || (to != 0 && to < from)) {
    return InvalidArgument("a consistency proof needs 0 < from <= to (tree sizes)");
  }
  ConsistencyAnswer answer;
  SMSC_RETURN_IF_ERROR(store_.GetAccount(account_id).status());
  if (to == 0) {
    SMSC_ASSIGN_OR_RETURN(answer.to, CurrentHead(account_id));
  } else {
    SMSC_ASSIGN_OR_RETURN(answer.to, HeadOfSize(account_id, to));
  }
  if (answer.to.head.size < from) {
    return InvalidArgument("the tree head of size " + std::to_string(answer.to.head.size) +
                           " is older than size " + std::to_string(from));
  }
  SMSC_ASSIGN_OR_RETURN(answer.from, HeadOfSize(account_id, from));
  SMSC_ASSIGN_OR_RETURN(
      answer.proof, merkle::ConsistencyProof(from, answer.to.head.size,
                                             SourceOf(store_, account_id, answer.to.head.size)));
  return answer;
}

Result<std::vector<SignedTreeHead>> LedgerService::ListHeads(int64_t account_id, int64_t after_size,
                                                             int limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("limit must be 1 to 1000");
  SMSC_RETURN_IF_ERROR(store_.GetAccount(account_id).status());
  return store_.ListTreeHeads(account_id, after_size, limit);
}

Result<int64_t> LedgerService::IntegrateAll() {
  int64_t total = 0;
  SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> accounts,
                        store_.AccountsToIntegrate(kAccountsPerRound));
  for (int64_t account : accounts) {
    SMSC_ASSIGN_OR_RETURN(
        LedgerTree tree,
        store_.IntegrateLedger(account, store_ledger::kMaxIntegrateEvents, clock_.NowMs()));
    total += tree.integrated;
    std::lock_guard<std::mutex> lock(mu_);
    if (tree.integrated > 0) grown_[account] = tree;
  }
  // Heads: for every tree that grew, once its last head is old enough.
  std::vector<LedgerTree> due;
  {
    const int64_t now = clock_.NowMs();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [account, tree] : grown_) {
      auto s = signed_.find(account);
      if (s == signed_.end() || now - s->second.at_ms >= options_.head_interval_ms) {
        due.push_back(tree);
      }
    }
  }
  for (const LedgerTree& tree : due) {
    // The first time this process sees the account: a head another instance (or an earlier
    // run) kept recently counts.
    bool first;
    {
      std::lock_guard<std::mutex> lock(mu_);
      first = signed_.count(tree.account_id) == 0;
    }
    if (first) {
      SMSC_ASSIGN_OR_RETURN(auto latest, store_.LatestTreeHead(tree.account_id));
      if (latest.has_value()) {
        std::lock_guard<std::mutex> lock(mu_);
        signed_[tree.account_id] = {latest->head.size, latest->head.at_ms};
        if (clock_.NowMs() - latest->head.at_ms < options_.head_interval_ms) continue;
      }
    }
    SMSC_RETURN_IF_ERROR(SignAndKeep(tree).status());
  }
  return total;
}

// ---- LedgerSequencer ----

LedgerSequencer::LedgerSequencer(LedgerService& ledger, int64_t interval_ms)
    : ledger_(ledger), interval_ms_(std::max<int64_t>(1, interval_ms)) {}

LedgerSequencer::~LedgerSequencer() { Stop(); }

void LedgerSequencer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LedgerSequencer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LedgerSequencer::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = true;
  }
  cv_.notify_all();
}

int64_t LedgerSequencer::integrated() const {
  std::lock_guard<std::mutex> lock(mu_);
  return integrated_;
}

void LedgerSequencer::Run() {
  while (true) {
    bool last;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                   [this] { return stop_ || nudged_; });
      nudged_ = false;
      last = stop_;
    }
    Result<int64_t> n = ledger_.IntegrateAll();
    if (!n.ok()) {
      spdlog::warn("ledger: integration failed: {}", n.status().message());
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      integrated_ += *n;
    }
    if (last) return;
  }
}

}  // namespace smsconsent
