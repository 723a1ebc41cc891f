// PgStore: the location string, opening (and migrating) the store, the testing hooks, and
// the lookups that calls of several areas share. The calls themselves: pg_<area>.cc.
#include "store/postgres/pg_store.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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

namespace pg_detail {

Status AccountNotFound(int64_t id) {
  return NotFound("account " + std::to_string(id) + " not found");
}

// ---- Lookups shared by several calls -------------------------------------------------------

Status AccountExists(Conn& c, int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(
      Res r, c.Q("SELECT 1 FROM accounts WHERE id = $1", "looking up account", account_id));
  if (r.rows() == 0) return AccountNotFound(account_id);
  return Status::Ok();
}

// Locks the accounts' rows (the heads of their hash chains) in id order, so that writers of
// the same accounts queue up instead of deadlocking, and returns the ids that exist. FOR NO KEY
// UPDATE does not block the FOR KEY SHARE locks that foreign key checks take on the row.
Result<std::set<int64_t>> LockAccounts(Conn& c, std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT id FROM accounts WHERE id = ANY($1::bigint[]) "
                                   "ORDER BY id FOR NO KEY UPDATE",
                                   "locking the accounts' ledgers", pg::IntArray(ids)));
  std::set<int64_t> found;
  for (int i = 0; i < r.rows(); ++i) found.insert(r.Int(i, 0));
  return found;
}

Status LockAccount(Conn& c, int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(std::set<int64_t> found, LockAccounts(c, {account_id}));
  if (found.empty()) return AccountNotFound(account_id);
  return Status::Ok();
}

Status ContactInAccount(Conn& c, int64_t account_id, int64_t contact_id) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT 1 FROM contacts WHERE id = $1 AND account_id = $2",
                                   "looking up contact", contact_id, account_id));
  if (r.rows() == 0) {
    return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return Status::Ok();
}

Status NumberInAccount(Conn& c, int64_t account_id, int64_t number_id) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT 1 FROM sender_numbers WHERE id = $1 AND account_id = $2",
                                   "looking up sender number", number_id, account_id));
  if (r.rows() == 0) {
    return NotFound("sender number " + std::to_string(number_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return Status::Ok();
}

}  // namespace pg_detail

// ---- Open ---------------------------------------------------------------------------------

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::~PgStore() = default;

static_assert(PgStore::kStatementCacheSize == pg::kPreparedStatements);

Result<int64_t> PgStore::PreparedStatementsForTesting() {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<int64_t> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT count(*) FROM pg_prepared_statements", "counting prepared statements"));
    return r.Int(0, 0);
  });
}

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char ch) -> int {
        if (ch >= '0' && ch <= '9') return ch - '0';
        if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Result<PgStore::Options> PgStore::ParseLocation(const std::string& location) {
  Options o;
  const size_t q = location.find('?');
  std::string base = location.substr(0, q);
  std::vector<std::string> kept;
  bool has_connect_timeout = false;
  bool has_application_name = false;
  if (q != std::string::npos) {
    std::string_view rest = std::string_view(location).substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (param.empty()) continue;
      const size_t eq = param.find('=');
      const std::string key(param.substr(0, eq));
      const std::string value =
          eq == std::string_view::npos ? std::string() : PercentDecode(param.substr(eq + 1));
      if (key == "pool") {
        int n = 0;
        const bool digits =
            !value.empty() && value.size() <= 4 &&
            std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (digits) n = std::stoi(value);
        if (!digits || n < 1 || n > 1000) {
          return InvalidArgument(
              "PostgreSQL location: pool must be a number from 1 to 1000, "
              "got '" +
              value + "'");
        }
        o.pool_size = n;
      } else if (key == "schema") {
        const bool good =
            !value.empty() && value.size() <= 63 &&
            std::all_of(value.begin(), value.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
            });
        if (!good) {
          return InvalidArgument(
              "PostgreSQL location: schema must be 1 to 63 of a-z, 0-9 and "
              "_, got '" +
              value + "'");
        }
        o.schema = value;
      } else {
        if (key == "connect_timeout") has_connect_timeout = true;
        if (key == "application_name") has_application_name = true;
        kept.emplace_back(param);
      }
    }
  }
  // Without a timeout libpq would wait as long as TCP does for a server that does not answer.
  if (!has_connect_timeout) kept.emplace_back("connect_timeout=10");
  if (!has_application_name) kept.emplace_back("application_name=smsconsent");
  o.conninfo = base;
  for (size_t i = 0; i < kept.size(); ++i) o.conninfo += (i == 0 ? "?" : "&") + kept[i];
  return o;
}

Result<std::unique_ptr<ConsentStore>> PgStore::Open(const std::string& location) {
  SMSC_ASSIGN_OR_RETURN(Options o, ParseLocation(location));
  auto impl = std::make_unique<Impl>(o.conninfo, o.schema, o.pool_size);
  Status st = pg::WithConn(impl->pool, [&](Conn& c) { return Migrate(c, o.schema); });
  if (!st.ok()) return Status(st.code(), "opening PostgreSQL store: " + st.message());
  return std::unique_ptr<ConsentStore>(new PgStore(std::move(impl)));
}

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

#undef SMSC_ACCOUNT_COLS
#undef SMSC_NUMBER_COLS
#undef SMSC_CONTACT_COLS
#undef SMSC_JOB_COLS
#undef SMSC_STATUS_COLS
#undef SMSC_EVENT_COLS
#undef SMSC_INBOUND_COLS
#undef SMSC_OUTBOX_COLS
#undef SMSC_OUTBOX_COLS_O
#undef SMSC_USER_COLS
#undef SMSC_SESSION_COLS
#undef SMSC_REVIEW_COLS
#undef SMSC_REVIEW_FROM

}  // namespace smsconsent
