#include "store/ledger_tree.h"

#include <algorithm>
#include <cstring>

namespace smsconsent::store_ledger {

std::string HashBytes(const merkle::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

Result<merkle::Hash> HashFromBytes(std::string_view bytes, std::string_view what) {
  merkle::Hash h{};
  if (bytes.size() != h.size()) {
    return Status(StatusCode::kDataLoss, std::string(what) + " is not a 32-byte hash");
  }
  std::memcpy(h.data(), bytes.data(), h.size());
  return h;
}

merkle::Hash FoldPowerOfTwo(std::vector<merkle::Hash> hashes) {
  if (hashes.empty()) return merkle::EmptyRoot();
  while (hashes.size() > 1) {
    std::vector<merkle::Hash> up;
    up.reserve(hashes.size() / 2);
    for (size_t i = 0; i + 1 < hashes.size(); i += 2) {
      up.push_back(merkle::NodeHash(hashes[i], hashes[i + 1]));
    }
    hashes = std::move(up);
  }
  return hashes.front();
}

Result<LedgerTree> IntegrateLedger(LedgerWriter& w, int64_t account_id, int64_t max_events,
                                   int64_t now_ms, int64_t* integrated) {
  *integrated = 0;
  max_events = std::clamp<int64_t>(max_events, 1, kMaxIntegrateEvents);
  LedgerTree tree;
  tree.account_id = account_id;
  merkle::CompactRange range;
  SMSC_ASSIGN_OR_RETURN(auto stored, w.LoadTree(account_id));
  if (stored.has_value()) {
    SMSC_ASSIGN_OR_RETURN(range, merkle::CompactRange::Parse(stored->first));
    tree.updated_at_ms = stored->second;
  }
  std::vector<StoredNode> nodes;
  auto keep_node = [&](int level, int64_t index, const merkle::Hash& h) {
    if (level % kNodeLevelStep == 0) nodes.push_back({level, index, h});
  };
  auto append = [&](const ConsentEvent& e) -> Status {
    if (e.seq != range.size() + 1) {
      return Status(StatusCode::kDataLoss, "ledger of account " + std::to_string(account_id) +
                                               ": event seq " + std::to_string(e.seq) +
                                               " follows a tree of " +
                                               std::to_string(range.size()) + " events");
    }
    range.Append(EventLeafHash(e), keep_node);
    ++*integrated;
    return Status::Ok();
  };

  // Events numbered already (by SQLite's writer, or written before the tree existed).
  SMSC_ASSIGN_OR_RETURN(std::vector<ConsentEvent> numbered,
                        w.EventsAfter(account_id, range.size(), max_events));
  for (const ConsentEvent& e : numbered) SMSC_RETURN_IF_ERROR(append(e));
  // Then those that await a number (PostgreSQL's writers), in the order they were written.
  if (*integrated < max_events) {
    SMSC_ASSIGN_OR_RETURN(std::vector<ConsentEvent> fresh,
                          w.UnnumberedEvents(account_id, max_events - *integrated));
    if (!fresh.empty()) {
      std::vector<std::pair<int64_t, int64_t>> id_seq;
      id_seq.reserve(fresh.size());
      for (ConsentEvent& e : fresh) {
        e.seq = range.size() + 1;
        id_seq.emplace_back(e.id, e.seq);
        SMSC_RETURN_IF_ERROR(append(e));
      }
      SMSC_RETURN_IF_ERROR(w.NumberEvents(account_id, id_seq));
    }
  }
  tree.size = range.size();
  tree.root = range.Root();
  if (*integrated == 0) return tree;
  tree.updated_at_ms = now_ms;
  if (!nodes.empty()) SMSC_RETURN_IF_ERROR(w.PutNodes(account_id, nodes));
  SMSC_RETURN_IF_ERROR(w.SaveTree(account_id, tree.size, tree.root, range.Serialize(), now_ms));
  return tree;
}

Result<merkle::Hash> SubtreeHash(LedgerReader& r, int64_t account_id, int64_t tree_size, int level,
                                 int64_t index) {
  if (level < 0 || level > 62 || index < 0 || index >= (tree_size >> level)) {
    return InvalidArgument("subtree (level " + std::to_string(level) + ", index " +
                           std::to_string(index) + ") is not inside a tree of " +
                           std::to_string(tree_size) + " events");
  }
  auto missing = [&](const std::string& what) {
    return Status(StatusCode::kDataLoss,
                  "ledger of account " + std::to_string(account_id) + ": " + what + " is missing");
  };
  if (level > 0 && level % kNodeLevelStep == 0) {
    SMSC_ASSIGN_OR_RETURN(auto one, r.Nodes(account_id, level, index, 1));
    if (one.size() != 1) {
      return missing("tree node (level " + std::to_string(level) + ", index " +
                     std::to_string(index) + ")");
    }
    return one.front();
  }
  const int base = level - level % kNodeLevelStep;
  const int64_t count = int64_t{1} << (level - base);
  const int64_t first = index << (level - base);
  std::vector<merkle::Hash> parts;
  if (base == 0) {
    SMSC_ASSIGN_OR_RETURN(auto events, r.EventsBySeq(account_id, first + 1, count));
    if (static_cast<int64_t>(events.size()) != count) {
      return missing("an event of seq " + std::to_string(first + 1) + " to " +
                     std::to_string(first + count));
    }
    parts.reserve(events.size());
    for (const ConsentEvent& e : events) parts.push_back(EventLeafHash(e));
  } else {
    SMSC_ASSIGN_OR_RETURN(parts, r.Nodes(account_id, base, first, count));
    if (static_cast<int64_t>(parts.size()) != count) {
      return missing("a tree node of level " + std::to_string(base));
    }
  }
  return FoldPowerOfTwo(std::move(parts));
}

}  // namespace smsconsent::store_ledger
