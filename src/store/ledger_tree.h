// The account ledger's Merkle tree as both stores keep it: one algorithm over a small interface
// that each backend implements with its own SQL (docs/ledger.md, "The tree").
//
// Writers append events without touching the tree: SQLite's single writer gives each event its
// seq as it writes it; PostgreSQL's concurrent writers leave seq empty, and whoever integrates
// the account next numbers those events in id order. Integration (IntegrateLedger) then appends
// the leaves of every numbered event the tree does not cover yet, in seq order, keeps the
// tree's right frontier (merkle::CompactRange) in one row per account, and stores the hash of
// every complete aligned subtree whose level is a multiple of kNodeLevelStep. Any subtree hash a
// proof needs is then one stored node, or at most 2^(kNodeLevelStep-1) stored nodes or leaves
// folded (SubtreeHash). One integrator per account at a time: the caller holds the SQLite write
// lock, or a PostgreSQL advisory lock of the account for the transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ledger.h"
#include "core/merkle.h"
#include "core/status.h"

namespace smsconsent {

// The integrated part of an account's ledger.
struct LedgerTree {
  int64_t account_id = 0;
  int64_t size = 0;  // leaves: events seq 1..size
  merkle::Hash root = merkle::EmptyRoot();
  int64_t updated_at_ms = 0;  // when the tree last grew (0: never)
  // Set by ConsentStore::IntegrateLedger only: the events the call integrated, and whether it
  // left the account alone because another process was integrating it (PostgreSQL), so that
  // the tree is as stored and more may follow in a moment.
  int64_t integrated = 0;
  bool busy = false;
};

namespace store_ledger {

// Levels of stored subtree hashes: 4, 8, 12, ... (a node per 16 leaves, per 256, ...: about
// 1/15 of a row per event).
inline constexpr int kNodeLevelStep = 4;
// The most events one IntegrateLedger call takes (one transaction).
inline constexpr int64_t kMaxIntegrateEvents = 20'000;

struct StoredNode {
  int level = 0;
  int64_t index = 0;
  merkle::Hash hash{};
};

// What integration needs of a backend, inside the caller's write transaction.
class LedgerWriter {
 public:
  virtual ~LedgerWriter() = default;
  // The account's tree row: its frontier (CompactRange::Serialize) and when it last grew;
  // nullopt when the account has no tree yet.
  virtual Result<std::optional<std::pair<std::string, int64_t>>> LoadTree(int64_t account_id) = 0;
  // Numbered events past `after_seq`, in seq order, at most `limit`.
  virtual Result<std::vector<ConsentEvent>> EventsAfter(int64_t account_id, int64_t after_seq,
                                                        int64_t limit) = 0;
  // Events without a seq yet, in id order, at most `limit` (none on SQLite).
  virtual Result<std::vector<ConsentEvent>> UnnumberedEvents(int64_t account_id, int64_t limit) = 0;
  // Gives each (event id, seq) its seq.
  virtual Status NumberEvents(int64_t account_id,
                              const std::vector<std::pair<int64_t, int64_t>>& id_seq) = 0;
  virtual Status PutNodes(int64_t account_id, const std::vector<StoredNode>& nodes) = 0;
  virtual Status SaveTree(int64_t account_id, int64_t size, const merkle::Hash& root,
                          const std::string& frontier, int64_t updated_at_ms) = 0;
};

// Numbers and integrates up to `max_events` events (at most kMaxIntegrateEvents) of the account:
// first those numbered but not in the tree (seq order), then unnumbered ones (id order, each
// taking the next seq). Returns the tree after, and in `*integrated` how many events it added.
Result<LedgerTree> IntegrateLedger(LedgerWriter& w, int64_t account_id, int64_t max_events,
                                   int64_t now_ms, int64_t* integrated);

// What reading subtree hashes needs of a backend.
class LedgerReader {
 public:
  virtual ~LedgerReader() = default;
  // Events seq first_seq .. first_seq + count - 1, in seq order (fewer when absent).
  virtual Result<std::vector<ConsentEvent>> EventsBySeq(int64_t account_id, int64_t first_seq,
                                                        int64_t count) = 0;
  // Stored node hashes of `level`, indexes first_index .. first_index + count - 1, in order
  // (fewer when absent).
  virtual Result<std::vector<merkle::Hash>> Nodes(int64_t account_id, int level,
                                                  int64_t first_index, int64_t count) = 0;
};

// The hash of the complete aligned subtree (level, index) of the account's tree of `tree_size`
// leaves. kInvalidArgument when it is not inside the tree; kDataLoss when a leaf or node it
// needs is missing.
Result<merkle::Hash> SubtreeHash(LedgerReader& r, int64_t account_id, int64_t tree_size, int level,
                                 int64_t index);

// A hash as the stores keep it (32 raw bytes), and back: kDataLoss naming `what` for a value
// of another length.
std::string HashBytes(const merkle::Hash& h);
Result<merkle::Hash> HashFromBytes(std::string_view bytes, std::string_view what);

// The hash of 2^k adjacent subtree hashes (k >= 0), folded pairwise.
merkle::Hash FoldPowerOfTwo(std::vector<merkle::Hash> hashes);

}  // namespace store_ledger
}  // namespace smsconsent
