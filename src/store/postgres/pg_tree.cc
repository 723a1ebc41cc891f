// PgStore: the Merkle ledger (docs/ledger.md): the LedgerWriter and LedgerReader that the shared
// integration algorithm (src/store/ledger_tree.h) runs on, signed tree heads and the keys that
// signed them.
//
// Writers leave a new event's seq NULL (store/write_changes.h); IntegrateLedger numbers them, in id
// order, under a transaction-scoped advisory lock of the account, so that one process at a time
// integrates an account and the others pass it over instead of waiting.
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/ledger_tree.h"
#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;
using namespace pg_detail;

using pg::Conn;
using pg::Res;
using pg::Txn;

namespace {

// The advisory lock of an account's ledger integration (docs/storage.md): its class names the
// installation's schema, since advisory locks are per database and several installations
// (schema=) may share one, and its key is the account id modulo 2^31 - 1. Accounts (or
// schemas) that share a lock only take turns integrating.
constexpr char kLockKeySql[] =
    "pg_try_advisory_xact_lock(hashtext('smsconsent-ledger:' || current_schema()), "
    "($1::bigint % 2147483647)::integer)";

Result<std::vector<ConsentEvent>> EventsFrom(Conn& c, int64_t account_id, int64_t first_seq,
                                             int64_t limit) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_EVENT_COLS " FROM events WHERE account_id = $1 "
                                   "AND seq >= $2 ORDER BY seq LIMIT $3",
                                   "reading the ledger's events", account_id, first_seq, limit));
  return ReadAll<ConsentEvent>(r, ReadEvent);
}

class PgLedgerWriter final : public store_ledger::LedgerWriter {
 public:
  explicit PgLedgerWriter(Conn& c) : c_(c) {}

  Result<std::optional<std::pair<std::string, int64_t>>> LoadTree(int64_t account_id) override {
    SMSC_ASSIGN_OR_RETURN(Res r, c_.Q("SELECT frontier, updated_at_ms FROM ledger_trees WHERE "
                                      "account_id = $1",
                                      "reading the ledger tree", account_id));
    if (r.rows() == 0) return std::optional<std::pair<std::string, int64_t>>();
    return std::optional<std::pair<std::string, int64_t>>(std::in_place, r.Bytea(0, 0),
                                                          r.Int(0, 1));
  }
  Result<std::vector<ConsentEvent>> EventsAfter(int64_t account_id, int64_t after_seq,
                                                int64_t limit) override {
    return EventsFrom(c_, account_id, after_seq + 1, limit);
  }
  // The partial index events_unnumbered, in id order: for one (contact, number) the order its
  // writers took turns in (each locks the pair's status row before drawing the event's id).
  Result<std::vector<ConsentEvent>> UnnumberedEvents(int64_t account_id, int64_t limit) override {
    SMSC_ASSIGN_OR_RETURN(Res r, c_.Q("SELECT " SMSC_EVENT_COLS " FROM events WHERE account_id = "
                                      "$1 AND seq IS NULL ORDER BY id LIMIT $2",
                                      "reading the events to number", account_id, limit));
    return ReadAll<ConsentEvent>(r, ReadEvent);
  }
  Status NumberEvents(int64_t account_id,
                      const std::vector<std::pair<int64_t, int64_t>>& id_seq) override {
    if (id_seq.empty()) return Status::Ok();
    std::vector<int64_t> ids, seqs;
    ids.reserve(id_seq.size());
    seqs.reserve(id_seq.size());
    for (const auto& [id, seq] : id_seq) {
      ids.push_back(id);
      seqs.push_back(seq);
    }
    SMSC_ASSIGN_OR_RETURN(Res r, c_.Q("UPDATE events SET seq = v.seq FROM unnest($1::bigint[], "
                                      "$2::bigint[]) AS v(id, seq) WHERE events.id = v.id AND "
                                      "events.account_id = $3 AND events.seq IS NULL",
                                      "numbering the ledger's events", pg::IntArray(ids),
                                      pg::IntArray(seqs), account_id));
    if (r.Affected() != static_cast<int64_t>(id_seq.size())) {
      return Status(StatusCode::kAborted, "ledger of account " + std::to_string(account_id) +
                                              ": events were numbered concurrently");
    }
    return Status::Ok();
  }
  Status PutNodes(int64_t account_id, const std::vector<store_ledger::StoredNode>& nodes) override {
    if (nodes.empty()) return Status::Ok();
    std::vector<int64_t> levels, indexes;
    std::vector<std::string> hashes;
    for (const store_ledger::StoredNode& n : nodes) {
      levels.push_back(n.level);
      indexes.push_back(n.index);
      hashes.push_back(merkle::ToHex(n.hash));
    }
    return c_
        .Q("INSERT INTO ledger_nodes (account_id, level, idx, hash) SELECT $1, v.level, v.idx, "
           "decode(v.hash, 'hex') FROM unnest($2::integer[], $3::bigint[], $4::text[]) AS "
           "v(level, idx, hash)",
           "storing ledger tree nodes", account_id, pg::IntArray(levels), pg::IntArray(indexes),
           pg::TextArray(hashes))
        .status();
  }
  Status SaveTree(int64_t account_id, int64_t size, const merkle::Hash& root,
                  const std::string& frontier, int64_t updated_at_ms) override {
    return c_
        .Q("INSERT INTO ledger_trees (account_id, size, root, frontier, updated_at_ms) VALUES "
           "($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET size = excluded.size, "
           "root = excluded.root, frontier = excluded.frontier, updated_at_ms = "
           "excluded.updated_at_ms",
           "saving the ledger tree", account_id, size, pg::Bytes(store_ledger::HashBytes(root)),
           pg::Bytes(frontier), updated_at_ms)
        .status();
  }

 private:
  Conn& c_;
};

class PgLedgerReader final : public store_ledger::LedgerReader {
 public:
  explicit PgLedgerReader(Conn& c) : c_(c) {}
  Result<std::vector<ConsentEvent>> EventsBySeq(int64_t account_id, int64_t first_seq,
                                                int64_t count) override {
    return EventsFrom(c_, account_id, first_seq, count);
  }
  Result<std::vector<merkle::Hash>> Nodes(int64_t account_id, int level, int64_t first_index,
                                          int64_t count) override {
    SMSC_ASSIGN_OR_RETURN(Res r, c_.Q("SELECT hash FROM ledger_nodes WHERE account_id = $1 AND "
                                      "level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx",
                                      "reading ledger tree nodes", account_id, int64_t{level},
                                      first_index, first_index + count));
    std::vector<merkle::Hash> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      SMSC_ASSIGN_OR_RETURN(merkle::Hash h,
                            store_ledger::HashFromBytes(r.Bytea(i, 0), "a ledger tree node"));
      out.push_back(h);
    }
    return out;
  }

 private:
  Conn& c_;
};

Result<LedgerTree> SelectTree(Conn& c, int64_t account_id) {
  SMSC_RETURN_IF_ERROR(AccountExists(c, account_id));
  LedgerTree tree;
  tree.account_id = account_id;
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT size, root, updated_at_ms FROM ledger_trees WHERE "
                                   "account_id = $1",
                                   "reading the ledger tree", account_id));
  if (r.rows() == 1) {
    tree.size = r.Int(0, 0);
    SMSC_ASSIGN_OR_RETURN(tree.root,
                          store_ledger::HashFromBytes(r.Bytea(0, 1), "the ledger tree's root"));
    tree.updated_at_ms = r.Int(0, 2);
  }
  return tree;
}

#define SMSC_HEAD_COLS "account_id, size, root, at_ms, key_id, signature"

Result<SignedTreeHead> ReadHead(const Res& r, int i) {
  SignedTreeHead h;
  h.head.account_id = r.Int(i, 0);
  h.head.size = r.Int(i, 1);
  SMSC_ASSIGN_OR_RETURN(h.head.root,
                        store_ledger::HashFromBytes(r.Bytea(i, 2), "a tree head's root"));
  h.head.at_ms = r.Int(i, 3);
  h.key_id = r.Text(i, 4);
  h.signature = r.Bytea(i, 5);
  return h;
}

}  // namespace

Result<LedgerTree> PgStore::IntegrateLedger(int64_t account_id, int64_t max_events,
                                            int64_t now_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<LedgerTree> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, account_id));
    SMSC_ASSIGN_OR_RETURN(Res lock, c.Q(std::string("SELECT ") + kLockKeySql,
                                        "taking the ledger's integration lock", account_id));
    // Another process is integrating the account: the tree as it is, without waiting.
    if (!lock.Bool(0, 0)) {
      SMSC_ASSIGN_OR_RETURN(LedgerTree stored, SelectTree(c, account_id));
      stored.busy = true;
      return stored;
    }
    PgLedgerWriter writer(c);
    int64_t integrated = 0;
    SMSC_ASSIGN_OR_RETURN(
        LedgerTree tree,
        store_ledger::IntegrateLedger(writer, account_id, max_events, now_ms, &integrated));
    tree.integrated = integrated;
    if (integrated == 0) return tree;  // `txn` rolls back: nothing was written
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return tree;
  });
}

Result<std::vector<int64_t>> PgStore::AccountsToIntegrate(int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<int64_t>> {
    // Events awaiting a seq, and numbered events the tree does not cover (a ledger written
    // before the tree existed). The first are found account by account, each the first entry
    // past the last in the partial index events_unnumbered (a skip scan): that index also holds,
    // until vacuum, an entry for each version integration replaced, tens of thousands under
    // load, and a DISTINCT over it (or a scan of events, which the planner may prefer) reads
    // them all every round, while this reads a few and lets the scan mark the dead ones. The
    // second ask the (account_id, seq) index for a seq past the tree's size.
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("WITH RECURSIVE unnumbered AS ((SELECT account_id FROM events WHERE seq IS "
                   "NULL ORDER BY account_id LIMIT 1) UNION ALL SELECT (SELECT e.account_id FROM "
                   "events e WHERE e.seq IS NULL AND e.account_id > u.account_id ORDER BY "
                   "e.account_id LIMIT 1) FROM unnumbered u WHERE u.account_id IS NOT NULL) "
                   "SELECT id FROM (SELECT account_id AS id FROM unnumbered WHERE account_id IS "
                   "NOT NULL UNION SELECT a.id FROM accounts a WHERE EXISTS (SELECT 1 FROM events "
                   "e WHERE e.account_id = a.id AND e.seq > COALESCE((SELECT t.size FROM "
                   "ledger_trees t WHERE t.account_id = a.id), 0))) AS pending ORDER BY id "
                   "LIMIT $1",
                   "finding ledgers to integrate", int64_t{limit}));
    std::vector<int64_t> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
    return out;
  });
}

Result<LedgerTree> PgStore::GetLedgerTree(int64_t account_id) {
  return pg::WithConn(impl_->pool,
                      [&](Conn& c) -> Result<LedgerTree> { return SelectTree(c, account_id); });
}

Result<merkle::Hash> PgStore::SubtreeHash(int64_t account_id, int64_t tree_size, int level,
                                          int64_t index) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<merkle::Hash> {
    SMSC_ASSIGN_OR_RETURN(LedgerTree tree, SelectTree(c, account_id));
    if (tree_size > tree.size) {
      return InvalidArgument("the ledger of account " + std::to_string(account_id) + " holds " +
                             std::to_string(tree.size) + " integrated events, not " +
                             std::to_string(tree_size));
    }
    PgLedgerReader reader(c);
    return store_ledger::SubtreeHash(reader, account_id, tree_size, level, index);
  });
}

Status PgStore::PutTreeHead(const SignedTreeHead& h) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(LedgerTree tree, SelectTree(c, h.head.account_id));
    if (h.head.size > tree.size || h.head.size < 0) {
      return InvalidArgument("a tree head of size " + std::to_string(h.head.size) +
                             " is past the " + std::to_string(tree.size) +
                             " integrated events of account " + std::to_string(h.head.account_id));
    }
    // The tree only grows, so a size checked here stays inside it.
    return c
        .Q("INSERT INTO tree_heads (" SMSC_HEAD_COLS
           ") VALUES ($1, $2, $3, $4, $5, $6) ON "
           "CONFLICT (account_id, size) DO NOTHING",
           "keeping a tree head", h.head.account_id, h.head.size,
           pg::Bytes(store_ledger::HashBytes(h.head.root)), h.head.at_ms, h.key_id,
           pg::Bytes(h.signature))
        .status();
  });
}

Result<std::vector<SignedTreeHead>> PgStore::ListTreeHeads(int64_t account_id, int64_t after_size,
                                                           int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<SignedTreeHead>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_HEAD_COLS " FROM tree_heads WHERE account_id "
                                     "= $1 AND size > $2 ORDER BY size LIMIT $3",
                                     "listing tree heads", account_id, after_size, int64_t{limit}));
    return ReadAll<SignedTreeHead>(r, ReadHead);
  });
}

Result<std::optional<SignedTreeHead>> PgStore::LatestTreeHead(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<SignedTreeHead>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_HEAD_COLS " FROM tree_heads WHERE account_id "
                                     "= $1 ORDER BY size DESC LIMIT 1",
                                     "reading the latest tree head", account_id));
    if (r.rows() == 0) return std::optional<SignedTreeHead>();
    SMSC_ASSIGN_OR_RETURN(SignedTreeHead h, ReadHead(r, 0));
    return std::optional<SignedTreeHead>(std::move(h));
  });
}

Status PgStore::PutLedgerKey(const std::string& key_id, const std::string& public_key_raw,
                             int64_t at_ms) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    return c
        .Q("INSERT INTO ledger_keys (key_id, public_key, created_at_ms) VALUES ($1, $2, $3) ON "
           "CONFLICT (key_id) DO NOTHING",
           "recording a ledger key", key_id, pg::Bytes(public_key_raw), at_ms)
        .status();
  });
}

Result<std::vector<std::pair<std::string, std::string>>> PgStore::ListLedgerKeys() {
  using Keys = std::vector<std::pair<std::string, std::string>>;
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Keys> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT key_id, public_key FROM ledger_keys ORDER BY "
                                     "created_at_ms, key_id",
                                     "listing ledger keys"));
    Keys out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Text(i, 0), r.Bytea(i, 1));
    return out;
  });
}

}  // namespace smsconsent
