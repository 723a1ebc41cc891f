// The Merkle ledger on SQLite (docs/ledger.md): the LedgerWriter and LedgerReader that the shared
// integration algorithm (src/store/ledger_tree.h) runs on, signed tree heads and the keys that
// signed them.
#include <cstring>

#include "store/ledger_tree.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

namespace smsconsent {

using namespace sqlite_detail;

namespace {

// Events read in seq order from a prepared statement whose columns are SMSC_EVENT_COLS.
Result<std::vector<ConsentEvent>> ReadEvents(Stmt& s, std::string_view what) {
  std::vector<ConsentEvent> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(what));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(ConsentEvent e, ReadEvent(s));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<ConsentEvent>> EventsFrom(Connection& c, int64_t account_id, int64_t first_seq,
                                             int64_t limit) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT " SMSC_EVENT_COLS " FROM events WHERE "
                                          "account_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"));
  s.Bind(1, account_id).Bind(2, first_seq).Bind(3, limit);
  return ReadEvents(s, "reading the ledger's events");
}

class SqliteLedgerWriter final : public store_ledger::LedgerWriter {
 public:
  explicit SqliteLedgerWriter(Connection& c) : c_(c) {}

  Result<std::optional<std::pair<std::string, int64_t>>> LoadTree(int64_t account_id) override {
    SMSC_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("SELECT frontier, updated_at_ms FROM ledger_trees "
                                             "WHERE account_id = ?1"));
    s.Bind(1, account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the ledger tree"));
    if (!row) return std::optional<std::pair<std::string, int64_t>>();
    return std::optional<std::pair<std::string, int64_t>>(std::in_place, s.Blob(0), s.Int(1));
  }
  Result<std::vector<ConsentEvent>> EventsAfter(int64_t account_id, int64_t after_seq,
                                                int64_t limit) override {
    return EventsFrom(c_, account_id, after_seq + 1, limit);
  }
  // SQLite's writer numbers every event as it writes it.
  Result<std::vector<ConsentEvent>> UnnumberedEvents(int64_t, int64_t) override {
    return std::vector<ConsentEvent>();
  }
  Status NumberEvents(int64_t, const std::vector<std::pair<int64_t, int64_t>>& id_seq) override {
    if (id_seq.empty()) return Status::Ok();
    return Internal("SQLite events are numbered when written");
  }
  Status PutNodes(int64_t account_id, const std::vector<store_ledger::StoredNode>& nodes) override {
    for (const store_ledger::StoredNode& n : nodes) {
      SMSC_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("INSERT INTO ledger_nodes (account_id, level, idx, "
                                               "hash) VALUES (?1, ?2, ?3, ?4)"));
      s.Bind(1, account_id)
          .Bind(2, int64_t{n.level})
          .Bind(3, n.index)
          .BindBlob(4, store_ledger::HashBytes(n.hash));
      SMSC_RETURN_IF_ERROR(s.Run("storing a ledger tree node"));
    }
    return Status::Ok();
  }
  Status SaveTree(int64_t account_id, int64_t size, const merkle::Hash& root,
                  const std::string& frontier, int64_t updated_at_ms) override {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare("INSERT INTO ledger_trees (account_id, size, root, frontier, "
                           "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account_id) "
                           "DO UPDATE SET size = excluded.size, root = excluded.root, frontier = "
                           "excluded.frontier, updated_at_ms = excluded.updated_at_ms"));
    s.Bind(1, account_id)
        .Bind(2, size)
        .BindBlob(3, store_ledger::HashBytes(root))
        .BindBlob(4, frontier);
    s.Bind(5, updated_at_ms);
    return s.Run("saving the ledger tree");
  }

 private:
  Connection& c_;
};

class SqliteLedgerReader final : public store_ledger::LedgerReader {
 public:
  explicit SqliteLedgerReader(Connection& c) : c_(c) {}
  Result<std::vector<ConsentEvent>> EventsBySeq(int64_t account_id, int64_t first_seq,
                                                int64_t count) override {
    return EventsFrom(c_, account_id, first_seq, count);
  }
  Result<std::vector<merkle::Hash>> Nodes(int64_t account_id, int level, int64_t first_index,
                                          int64_t count) override {
    SMSC_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("SELECT hash FROM ledger_nodes WHERE account_id = ?1 "
                                             "AND level = ?2 AND idx >= ?3 AND idx < ?4 ORDER BY "
                                             "idx"));
    s.Bind(1, account_id).Bind(2, int64_t{level}).Bind(3, first_index).Bind(4, first_index + count);
    std::vector<merkle::Hash> out;
    while (true) {
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading ledger tree nodes"));
      if (!row) break;
      SMSC_ASSIGN_OR_RETURN(merkle::Hash h,
                            store_ledger::HashFromBytes(s.Blob(0), "a ledger tree node"));
      out.push_back(h);
    }
    return out;
  }

 private:
  Connection& c_;
};

Result<LedgerTree> SelectTree(Connection& c, int64_t account_id) {
  SMSC_RETURN_IF_ERROR(c.AccountExists(account_id));
  LedgerTree tree;
  tree.account_id = account_id;
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT size, root, updated_at_ms FROM ledger_trees "
                                          "WHERE account_id = ?1"));
  s.Bind(1, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the ledger tree"));
  if (row) {
    tree.size = s.Int(0);
    SMSC_ASSIGN_OR_RETURN(tree.root,
                          store_ledger::HashFromBytes(s.Blob(1), "the ledger tree's root"));
    tree.updated_at_ms = s.Int(2);
  }
  return tree;
}

Result<SignedTreeHead> ReadHead(const Stmt& s) {
  SignedTreeHead h;
  h.head.account_id = s.Int(0);
  h.head.size = s.Int(1);
  SMSC_ASSIGN_OR_RETURN(h.head.root, store_ledger::HashFromBytes(s.Blob(2), "a tree head's root"));
  h.head.at_ms = s.Int(3);
  h.key_id = s.Text(4);
  h.signature = s.Blob(5);
  return h;
}

}  // namespace

Result<LedgerTree> SqliteStore::IntegrateLedger(int64_t account_id, int64_t max_events,
                                                int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(account_id));
  SqliteLedgerWriter writer(*impl_);
  int64_t integrated = 0;
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, store_ledger::IntegrateLedger(
                                             writer, account_id, max_events, now_ms, &integrated));
  tree.integrated = integrated;
  if (integrated == 0) return tree;  // `txn` rolls back: nothing was written
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return tree;
}

Result<std::vector<int64_t>> SqliteStore::AccountsToIntegrate(int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  ReadLease reader = impl_->Read(mu_);
  // The highest seq of each account is the last entry of its part of UNIQUE (account_id, seq).
  SMSC_ASSIGN_OR_RETURN(
      Stmt s,
      reader->Prepare("SELECT a.id FROM accounts a WHERE (SELECT MAX(e.seq) FROM events e "
                      "WHERE e.account_id = a.id) > COALESCE((SELECT t.size FROM "
                      "ledger_trees t WHERE t.account_id = a.id), 0) ORDER BY a.id LIMIT ?1"));
  s.Bind(1, int64_t{limit});
  std::vector<int64_t> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding ledgers to integrate"));
    if (!row) break;
    out.push_back(s.Int(0));
  }
  return out;
}

Result<LedgerTree> SqliteStore::GetLedgerTree(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  return SelectTree(*reader.get(), account_id);
}

Result<merkle::Hash> SqliteStore::SubtreeHash(int64_t account_id, int64_t tree_size, int level,
                                              int64_t index) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, SelectTree(*reader.get(), account_id));
  if (tree_size > tree.size) {
    return InvalidArgument("the ledger of account " + std::to_string(account_id) + " holds " +
                           std::to_string(tree.size) + " integrated events, not " +
                           std::to_string(tree_size));
  }
  SqliteLedgerReader r(*reader.get());
  return store_ledger::SubtreeHash(r, account_id, tree_size, level, index);
}

Status SqliteStore::PutTreeHead(const SignedTreeHead& h) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, SelectTree(*impl_, h.head.account_id));
  if (h.head.size > tree.size || h.head.size < 0) {
    return InvalidArgument("a tree head of size " + std::to_string(h.head.size) + " is past the " +
                           std::to_string(tree.size) + " integrated events of account " +
                           std::to_string(h.head.account_id));
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        impl_->Prepare("INSERT INTO tree_heads (account_id, size, root, "
                                       "at_ms, key_id, signature) VALUES (?1, ?2, ?3, ?4, "
                                       "?5, ?6) ON CONFLICT (account_id, size) DO NOTHING"));
  s.Bind(1, h.head.account_id)
      .Bind(2, h.head.size)
      .BindBlob(3, store_ledger::HashBytes(h.head.root));
  s.Bind(4, h.head.at_ms).Bind(5, h.key_id).BindBlob(6, h.signature);
  SMSC_RETURN_IF_ERROR(s.Run("keeping a tree head"));
  return txn.Commit();
}

Result<std::vector<SignedTreeHead>> SqliteStore::ListTreeHeads(int64_t account_id,
                                                               int64_t after_size, int limit) {
  SMSC_RETURN_IF_ERROR(CheckLimit(limit));
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT account_id, size, root, at_ms, key_id, "
                                                "signature FROM tree_heads WHERE account_id = ?1 "
                                                "AND size > ?2 ORDER BY size LIMIT ?3"));
  s.Bind(1, account_id).Bind(2, after_size).Bind(3, int64_t{limit});
  std::vector<SignedTreeHead> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing tree heads"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(SignedTreeHead h, ReadHead(s));
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::optional<SignedTreeHead>> SqliteStore::LatestTreeHead(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT account_id, size, root, at_ms, key_id, "
                                                "signature FROM tree_heads WHERE account_id = ?1 "
                                                "ORDER BY size DESC LIMIT 1"));
  s.Bind(1, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading the latest tree head"));
  if (!row) return std::optional<SignedTreeHead>();
  SMSC_ASSIGN_OR_RETURN(SignedTreeHead h, ReadHead(s));
  return std::optional<SignedTreeHead>(std::move(h));
}

Status SqliteStore::PutLedgerKey(const std::string& key_id, const std::string& public_key_raw,
                                 int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("INSERT INTO ledger_keys (key_id, public_key, "
                                               "created_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT "
                                               "(key_id) DO NOTHING"));
  s.Bind(1, key_id).BindBlob(2, public_key_raw).Bind(3, at_ms);
  SMSC_RETURN_IF_ERROR(s.Run("recording a ledger key"));
  return txn.Commit();
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::ListLedgerKeys() {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT key_id, public_key FROM ledger_keys ORDER "
                                                "BY created_at_ms, key_id"));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing ledger keys"));
    if (!row) break;
    out.emplace_back(s.Text(0), s.Blob(1));
  }
  return out;
}

}  // namespace smsconsent
