// Moving an installation from one ConsentStore to another (`smsconsent migrate-store`,
// docs/storage.md "Moving an installation between stores"): every table copied row by row
// with its ids, and a comparison of the two stores afterwards. Works between any two backends
// (SQLite → PostgreSQL, PostgreSQL → SQLite, SQLite → SQLite) through the ConsentStore
// interface only.
//
// Memory is bounded: rows move in batches of TransferTable::batch_rows, whatever the size of
// the installation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace smsconsent {

// Called after every batch: the table being copied (or compared), rows done in it, and rows
// done and expected over all tables.
struct TransferProgress {
  const char* table = "";
  int64_t table_rows = 0;
  int64_t done = 0;
  int64_t total = 0;
};
using TransferProgressFn = std::function<void(const TransferProgress&)>;

struct TableCount {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
};

// An account's ledger on each side: its last seq, and the root (hex) of the Merkle tree over
// every numbered event's leaf (EventLeafHash), which a signed tree head of that size carries.
struct LedgerHead {
  int64_t account_id = 0;
  int64_t source_seq = 0;
  std::string source_hash;
  int64_t target_seq = 0;
  std::string target_hash;
  bool same() const { return source_seq == target_seq && source_hash == target_hash; }
};

struct TransferCheck {
  std::vector<TableCount> tables;  // in TransferTables() order
  std::vector<LedgerHead> heads;   // by account id
  // The first row that differs ("events: row with key (17) differs in column hash"), if any.
  std::optional<std::string> first_difference;
  bool ok() const;
};

// Copies every table of `from` into `to` in one import (ConsentStore::BeginImport): `to` must
// be empty (kFailedPrecondition otherwise, `to` unchanged); on any error nothing is
// committed and `to` stays empty. Id counters are carried over (LastId / SetLastId), so ids
// never handed out on the source are never handed out on the target either. Returns the
// number of rows copied. `from` must not change meanwhile (stop the servers that use it):
// CompareStores afterwards detects that it did.
Result<int64_t> CopyStore(ConsentStore& from, ConsentStore& to,
                          const TransferProgressFn& progress = nullptr);

// Reads both stores table by table in key order and compares every row cell by cell; counts
// rows on each side and takes each account's ledger head. A difference is reported in the
// result (first_difference), not as an error; errors are read failures.
Result<TransferCheck> CompareStores(ConsentStore& from, ConsentStore& to,
                                    const TransferProgressFn& progress = nullptr);

}  // namespace smsconsent
