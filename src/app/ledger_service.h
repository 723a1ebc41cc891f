// The verifiable ledger's upkeep and its proofs (docs/ledger.md): integrating written events
// into each account's Merkle tree, signing tree heads with the installation's Ed25519 key, and
// answering inclusion and consistency proofs.
//
// Writers never wait for any of this: an event is durable and in effect when its change set
// commits, and appears in the tree when the next integration of its account runs
// (LedgerSequencer, every integrate_interval_ms, and on demand before a proof). Several
// instances may run it against one PostgreSQL database: the store lets one integrate an account
// at a time, and the first head kept for a size stays.
//
// Thread-safe if the store is.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/merkle.h"
#include "core/status.h"
#include "core/tree_head.h"
#include "store/store.h"

namespace smsconsent {

// Integrates every event of the account written so far into its tree, in at most
// kMaxCatchUpRounds transactions of store_ledger::kMaxIntegrateEvents each; when another process
// is integrating the account (PostgreSQL), waits for it 10 ms at a time within those rounds.
// Returns the tree; kUnavailable when the account still has events to integrate at the end.
inline constexpr int kMaxCatchUpRounds = 1000;
Result<LedgerTree> CatchUpLedger(ConsentStore& store, const Clock& clock, int64_t account_id);

struct LedgerOptions {
  // While an account's tree grows, a new signed head at most this often (a proof or
  // `ledger head` signs one whenever the newest kept head does not cover the tree).
  int64_t head_interval_ms = 60'000;
  // How often the sequencer looks for events to integrate.
  int64_t integrate_interval_ms = 200;
};

// A consistency proof between two kept heads of one account (RFC 9162 §2.1.4).
struct ConsistencyAnswer {
  SignedTreeHead from;
  SignedTreeHead to;
  std::vector<merkle::Hash> proof;
};

class LedgerService {
 public:
  // `key` must outlive the service.
  LedgerService(ConsentStore& store, const Clock& clock, const SigningKey& key,
                LedgerOptions options = {});

  const SigningKey& key() const { return key_; }
  // Records the key's public half in the store (so `ledger verify` knows it). Idempotent.
  Status RegisterKey();

  // CatchUpLedger, and the tree it returns.
  Result<LedgerTree> CatchUp(int64_t account_id);
  // A signed head covering the whole integrated tree after CatchUp: the newest kept one when it
  // does, else a new one, kept before it is returned.
  Result<SignedTreeHead> CurrentHead(int64_t account_id);
  // The newest kept head, without integrating or signing; nullopt when none was kept.
  Result<std::optional<SignedTreeHead>> LatestHead(int64_t account_id);

  // Leaf `index` (seq - 1) in the tree of `size` leaves.
  Result<std::vector<merkle::Hash>> InclusionProof(int64_t account_id, int64_t index, int64_t size);
  // Between the heads of sizes `from` and `to` (0: a current head, as CurrentHead): the kept
  // ones, or, for a size no head was kept for, the root of the tree's first `size` events signed
  // now (and kept). kInvalidArgument unless 0 < from <= to <= the tree's size.
  Result<ConsistencyAnswer> Consistency(int64_t account_id, int64_t from, int64_t to);
  // Kept heads with size > after_size, ascending, at most `limit` (1..1000).
  Result<std::vector<SignedTreeHead>> ListHeads(int64_t account_id, int64_t after_size, int limit);

  // One round of the sequencer: integrates the accounts with events to integrate, and signs a
  // head for each account whose tree grew and whose last head is older than head_interval_ms.
  // Returns how many events it integrated.
  Result<int64_t> IntegrateAll();

  static constexpr int kAccountsPerRound = 1000;

 private:
  Result<SignedTreeHead> SignAndKeep(const LedgerTree& tree);
  Result<SignedTreeHead> HeadOfSize(int64_t account_id, int64_t size);

  ConsentStore& store_;
  const Clock& clock_;
  const SigningKey& key_;
  LedgerOptions options_;
  std::mutex mu_;
  // Per account: the size and time of the head this process last signed or saw.
  struct Signed {
    int64_t size = 0;
    int64_t at_ms = 0;
  };
  std::map<int64_t, Signed> signed_;
  std::map<int64_t, LedgerTree> grown_;  // trees that grew since their last head
};

// Runs LedgerService::IntegrateAll every integrate_interval_ms on a thread of its own, and once
// more when stopped, so that a clean shutdown leaves every written event integrated.
class LedgerSequencer {
 public:
  LedgerSequencer(LedgerService& ledger, int64_t interval_ms);
  ~LedgerSequencer();  // Stop()
  void Start();
  void Stop();
  // Wakes the sequencer now (after a commit, say) instead of at its next interval.
  void Nudge();
  int64_t integrated() const;  // events integrated since start, for /metrics

 private:
  void Run();
  LedgerService& ledger_;
  int64_t interval_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool nudged_ = false;
  int64_t integrated_ = 0;
  std::thread thread_;
};

}  // namespace smsconsent
