// PgStore: moving an installation (src/store/transfer.h): exporting rows in key order and
// the import, one transaction that fills an empty database.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_internal.h"
#include "store/store_rows.h"

namespace smsconsent {

using namespace store_rows;  // the helpers both backends share
using namespace pg_detail;

using pg::Conn;
using pg::IdOrNull;
using pg::Res;
using pg::Txn;

// ---- Moving an installation (src/store/transfer.h) ----------------------------------------

namespace {

const char* CastFor(ColumnType type) {
  switch (type) {
    case ColumnType::kInt:
      return "::bigint";
    case ColumnType::kBool:
      return "::boolean";
    case ColumnType::kText:
      return "::text";
    case ColumnType::kBlob:
      return "::bytea";
  }
  return "";
}

pg::Arg CellArg(const TransferColumn& column, const TransferCell& cell) {
  if (!cell) return pg::Arg{};
  if (column.type == ColumnType::kBlob) return pg::Bytes(*cell);
  return pg::Arg{*cell};  // integers in decimal and booleans "0"/"1" are PostgreSQL's input
}

TransferCell ReadCell(const Res& r, int row, int col, const TransferColumn& column) {
  if (r.IsNull(row, col)) return std::nullopt;
  switch (column.type) {
    case ColumnType::kBool:
      return std::string(r.Bool(row, col) ? "1" : "0");
    case ColumnType::kBlob:
      return r.Bytea(row, col);
    case ColumnType::kInt:
    case ColumnType::kText:
      break;
  }
  return r.Text(row, col);
}

// A key column as ORDER BY and the row comparison use it: text bytewise (COLLATE "C"), as
// SQLite orders it, whatever the database's collation, so both stores export in one order.
std::string KeyExpr(const TransferColumn& column) {
  std::string e = Quoted(column.name);
  if (column.type == ColumnType::kText) e += " COLLATE \"C\"";
  return e;
}

// The import: one transaction on one connection of the pool, held until it ends.
class PgImport final : public StoreImport {
 public:
  PgImport(pg::Lease lease, Txn txn) : lease_(std::move(lease)), txn_(std::move(txn)) {}

  Status Insert(const TransferTable& t, const std::vector<TransferRow>& rows) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    const size_t ncols = t.columns.size();
    // One statement for many rows (a round trip per row would dominate); PostgreSQL takes at
    // most 65,535 parameters per statement.
    const size_t per_statement = std::max<size_t>(1, 65535 / ncols);
    for (size_t start = 0; start < rows.size(); start += per_statement) {
      const size_t n = std::min(per_statement, rows.size() - start);
      std::string sql = std::string("INSERT INTO ") + Quoted(t.name) + " (" +
                        ColumnList(t, static_cast<int>(ncols)) + ") VALUES ";
      std::vector<pg::Arg> args;
      args.reserve(n * ncols);
      for (size_t r = 0; r < n; ++r) {
        const TransferRow& row = rows[start + r];
        SMSC_RETURN_IF_ERROR(CheckTransferRow(t, row));
        sql += r ? ", (" : "(";
        for (size_t c = 0; c < ncols; ++c) {
          if (c) sql += ", ";
          sql += "$" + std::to_string(args.size() + 1) + CastFor(t.columns[c].type);
          args.push_back(CellArg(t.columns[c], row[c]));
        }
        sql += ")";
      }
      SMSC_RETURN_IF_ERROR(
          lease_->Query(sql, args, std::string("inserting into ") + t.name).status());
    }
    return Status::Ok();
  }

  Status SetLastId(const TransferTable& t, int64_t last_id) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
    // setval(seq, v, true): the next id is v + 1. An empty table with no ids handed out keeps
    // its counter at the start (setval cannot take 0).
    const std::string sql =
        "SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST(v, 1), "
        "v > 0) FROM (SELECT GREATEST($2::bigint, (SELECT COALESCE(MAX(id), "
        "0) FROM " +
        Quoted(t.name) + ")) AS v) AS last";
    return lease_
        ->Q(sql, std::string("setting the id counter of ") + t.name, std::string(t.name), last_id)
        .status();
  }

  Status Commit() override {
    if (!txn_) return FailedPrecondition("the import has ended");
    Status st = txn_->Commit();
    txn_.reset();
    return st;
  }

 private:
  pg::Lease lease_;  // declared first: returned to the pool after the transaction ends
  std::optional<Txn> txn_;
};

}  // namespace

Result<std::vector<TransferRow>> PgStore::ExportRows(const TransferTable& t,
                                                     const TransferRow& after_key) {
  if (!after_key.empty() && static_cast<int>(after_key.size()) != t.key_columns) {
    return InvalidArgument(std::string(t.name) + ": the key has " + std::to_string(t.key_columns) +
                           " columns");
  }
  std::string keys, params;
  std::vector<pg::Arg> args;
  for (int i = 0; i < t.key_columns; ++i) {
    keys += (i ? ", " : "") + KeyExpr(t.columns[i]);
    params += (i ? ", $" : "$") + std::to_string(i + 1) + CastFor(t.columns[i].type);
    if (!after_key.empty()) args.push_back(CellArg(t.columns[i], after_key[i]));
  }
  std::string sql =
      "SELECT " + ColumnList(t, static_cast<int>(t.columns.size())) + " FROM " + Quoted(t.name);
  if (!after_key.empty()) sql += " WHERE ROW(" + keys + ") > ROW(" + params + ")";
  sql += " ORDER BY " + keys + " LIMIT " + std::to_string(t.batch_rows);
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<TransferRow>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Query(sql, args, std::string("exporting ") + t.name));
    std::vector<TransferRow> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      TransferRow row;
      row.reserve(t.columns.size());
      for (size_t c = 0; c < t.columns.size(); ++c) {
        row.push_back(ReadCell(r, i, static_cast<int>(c), t.columns[c]));
      }
      out.push_back(std::move(row));
    }
    return out;
  });
}

Result<int64_t> PgStore::CountRows(const TransferTable& t) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT count(*) FROM " + Quoted(t.name), std::string("counting ") + t.name));
    return r.Int(0, 0);
  });
}

Result<int64_t> PgStore::LastId(const TransferTable& t) {
  if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    // NULL (0) while the sequence has not handed out an id.
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')"
                   "::regclass), 0)",
                   std::string("reading the id counter of ") + t.name, std::string(t.name)));
    return r.Int(0, 0);
  });
}

Result<std::unique_ptr<StoreImport>> PgStore::BeginImport() {
  SMSC_ASSIGN_OR_RETURN(pg::Lease lease, impl_->pool.Acquire());
  SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(*lease));
  // Writers (a server still running on this database, another import) wait until the import
  // ends; an import that follows finds the tables filled and is refused.
  std::string tables;
  for (const TransferTable& t : TransferTables()) {
    tables += (tables.empty() ? "" : ", ") + Quoted(t.name);
  }
  SMSC_RETURN_IF_ERROR(lease->Exec("LOCK TABLE " + tables + " IN EXCLUSIVE MODE",
                                   "locking the tables for the import"));
  for (const TransferTable& t : TransferTables()) {
    SMSC_ASSIGN_OR_RETURN(Res r, lease->Q("SELECT 1 FROM " + Quoted(t.name) + " LIMIT 1",
                                          std::string("checking that ") + t.name + " is empty"));
    if (r.rows() > 0) {
      return FailedPrecondition(std::string("the PostgreSQL database is not empty (table ") +
                                t.name + " has rows): an import only fills an empty database");
    }
  }
  return std::unique_ptr<StoreImport>(new PgImport(std::move(lease), std::move(txn)));
}

}  // namespace smsconsent
