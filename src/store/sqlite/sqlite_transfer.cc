// SqliteStore's side of moving an installation (src/store/transfer.h): export, counts and the
// import.
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"

namespace smsconsent {

using namespace sqlite_detail;

// ---- Moving an installation (src/store/transfer.h) ----------------------------------------

namespace {

// Binds a transfer cell (checked by CheckTransferRow) as its column's type.
void BindCell(Stmt& s, int index, const TransferColumn& column, const TransferCell& cell) {
  if (!cell) {
    s.BindNull(index);
    return;
  }
  switch (column.type) {
    case ColumnType::kInt:
      s.Bind(index, CellInt(cell));
      break;
    case ColumnType::kBool:
      s.BindBool(index, *cell == "1");
      break;
    case ColumnType::kText:
      s.Bind(index, *cell);
      break;
    case ColumnType::kBlob:
      s.BindBlob(index, *cell);
      break;
  }
}

TransferCell ReadCell(const Stmt& s, int col, const TransferColumn& column) {
  if (s.IsNull(col)) return std::nullopt;
  switch (column.type) {
    case ColumnType::kInt:
      return std::to_string(s.Int(col));
    case ColumnType::kBool:
      return std::string(s.Bool(col) ? "1" : "0");
    case ColumnType::kText:
      return s.Text(col);
    case ColumnType::kBlob:
      return s.Blob(col);
  }
  return std::nullopt;
}

Result<int64_t> SequenceValue(Connection& c, const TransferTable& t) {
  SMSC_ASSIGN_OR_RETURN(Stmt s, c.Prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1"));
  s.Bind(1, t.name);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("reading the id counter of ") + t.name));
  return row ? s.Int(0) : 0;
}

// The import: one write transaction on the writer connection, which it holds (with the store's
// mutex) from BeginImport until it is committed or destroyed.
class SqliteImport final : public StoreImport {
 public:
  SqliteImport(std::unique_lock<std::mutex> lock, Connection* conn, WriteTxn txn)
      : lock_(std::move(lock)), conn_(conn), txn_(std::move(txn)) {}

  Status Insert(const TransferTable& t, const std::vector<TransferRow>& rows) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    std::string sql = std::string("INSERT INTO ") + Quoted(t.name) + " (" +
                      ColumnList(t, static_cast<int>(t.columns.size())) + ") VALUES (";
    for (size_t i = 0; i < t.columns.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    for (const TransferRow& row : rows) {
      SMSC_RETURN_IF_ERROR(CheckTransferRow(t, row));
      SMSC_ASSIGN_OR_RETURN(Stmt s, conn_->Prepare(sql));
      for (size_t i = 0; i < t.columns.size(); ++i) {
        BindCell(s, static_cast<int>(i + 1), t.columns[i], row[i]);
      }
      SMSC_RETURN_IF_ERROR(s.Run(std::string("inserting into ") + t.name));
    }
    return Status::Ok();
  }

  Status SetLastId(const TransferTable& t, int64_t last_id) override {
    if (!txn_) return FailedPrecondition("the import has ended");
    if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
    // Inserting explicit ids already moved the counter to the highest one; only a higher
    // `last_id` (ids handed out and deleted on the source) is left to record.
    SMSC_ASSIGN_OR_RETURN(int64_t current, SequenceValue(*conn_, t));
    if (last_id <= current) return Status::Ok();
    // A table that never had a row has no sqlite_sequence row yet (current is then 0).
    SMSC_ASSIGN_OR_RETURN(
        Stmt s,
        conn_->Prepare(current > 0 ? "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1"
                                   : "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)"));
    s.Bind(1, t.name).Bind(2, last_id);
    return s.Run(std::string("setting the id counter of ") + t.name);
  }

  Status Commit() override {
    if (!txn_) return FailedPrecondition("the import has ended");
    SMSC_RETURN_IF_ERROR(txn_->Commit());
    txn_.reset();
    lock_.unlock();
    return Status::Ok();
  }

 private:
  // Declared first: released last, after the transaction is rolled back.
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
  std::optional<WriteTxn> txn_;
};

}  // namespace

Result<std::vector<TransferRow>> SqliteStore::ExportRows(const TransferTable& t,
                                                         const TransferRow& after_key) {
  if (!after_key.empty() && static_cast<int>(after_key.size()) != t.key_columns) {
    return InvalidArgument(std::string(t.name) + ": the key has " + std::to_string(t.key_columns) +
                           " columns");
  }
  const std::string keys = ColumnList(t, t.key_columns);
  std::string sql =
      "SELECT " + ColumnList(t, static_cast<int>(t.columns.size())) + " FROM " + Quoted(t.name);
  if (!after_key.empty()) {
    sql += " WHERE (" + keys + ") > (";
    for (int i = 0; i < t.key_columns; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
  }
  sql += " ORDER BY " + keys + " LIMIT " + std::to_string(t.batch_rows);
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  for (size_t i = 0; i < after_key.size(); ++i) {
    BindCell(s, static_cast<int>(i + 1), t.columns[i], after_key[i]);
  }
  std::vector<TransferRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("exporting ") + t.name));
    if (!row) break;
    TransferRow r;
    r.reserve(t.columns.size());
    for (size_t i = 0; i < t.columns.size(); ++i) {
      r.push_back(ReadCell(s, static_cast<int>(i), t.columns[i]));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> SqliteStore::CountRows(const TransferTable& t) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT count(*) FROM " + Quoted(t.name)));
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("counting ") + t.name));
  return row ? s.Int(0) : 0;
}

Result<int64_t> SqliteStore::LastId(const TransferTable& t) {
  if (!t.id_counter) return InvalidArgument(std::string(t.name) + " has no id counter");
  ReadLease reader = impl_->Read(mu_);
  return SequenceValue(*reader.get(), t);
}

Result<std::unique_ptr<StoreImport>> SqliteStore::BeginImport() {
  std::unique_lock<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  for (const TransferTable& t : TransferTables()) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("SELECT 1 FROM " + Quoted(t.name) + " LIMIT 1"));
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step(std::string("checking that ") + t.name + " is empty"));
    if (row) {
      return FailedPrecondition("'" + impl_->path + "' is not empty (table " + t.name +
                                " has rows): an import only fills an empty database");
    }
  }
  return std::unique_ptr<StoreImport>(
      new SqliteImport(std::move(lock), impl_.get(), std::move(txn)));
}

}  // namespace smsconsent
