// What the files of PgStore (src/store/postgres/pg_*.cc) share: the Impl, the row readers, the
// change set writer and the lookups of several areas. Internal to src/store/postgres/.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_store.h"
#include "store/store_columns.h"

namespace smsconsent {

struct PgStore::Impl {
  Impl(std::string conninfo, std::string schema, int pool_size)
      : pool(std::move(conninfo), schema, pool_size) {}
  pg::Pool pool;
};

namespace pg_detail {

// ---- Migrations (pg_schema.cc) -------------------------------------------------------------

// Creates the schema if asked to and applies the pending migrations, in one transaction.
Status Migrate(pg::Conn& c, const std::string& schema);

// ---- Column lists and row readers (pg_rows.cc) -------------------------------------------

Result<Account> ReadAccount(const pg::Res& s, int i);
Result<SenderNumber> ReadNumber(const pg::Res& s, int i);
Result<Job> ReadJob(const pg::Res& s, int i);
Contact ReadContact(const pg::Res& s, int i);
Result<StatusRow> ReadStatus(const pg::Res& s, int i, int col = 0);
Result<ConsentEvent> ReadEvent(const pg::Res& s, int i);
Result<ReviewItem> ReadReview(const pg::Res& s, int i);
InboundMessage ReadInbound(const pg::Res& s, int i);
Result<OutboxItem> ReadOutbox(const pg::Res& s, int i);
Result<User> ReadUser(const pg::Res& s, int i);
StaffSession ReadSession(const pg::Res& s, int i);

// Reads every row of `r` with `read` (a reader returning T or Result<T>).
template <typename T, typename Reader>
Result<std::vector<T>> ReadAll(const pg::Res& r, Reader read) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if constexpr (std::is_same_v<decltype(read(r, i)), T>) {
      out.push_back(read(r, i));
    } else {
      auto v = read(r, i);
      if (!v.ok()) return v.status();
      out.push_back(std::move(v).value());
    }
  }
  return out;
}

// ---- Lookups shared by several calls (pg_store.cc) ----------------------------------------

Status AccountNotFound(int64_t id);
Status AccountExists(pg::Conn& c, int64_t account_id);
// The ids that exist of these accounts, which the transaction writes (FOR KEY SHARE: writers of
// an account do not wait for each other).
Result<std::set<int64_t>> ShareAccounts(pg::Conn& c, std::vector<int64_t> ids);
// The account alone, writers excluded until the commit (rebuilding its status table).
Status LockAccount(pg::Conn& c, int64_t account_id);
Status ContactInAccount(pg::Conn& c, int64_t account_id, int64_t contact_id);
Status NumberInAccount(pg::Conn& c, int64_t account_id, int64_t number_id);

// ---- Statuses (pg_contacts.cc) --------------------------------------------------------------

// Inserts or overwrites one status row (ReplaceStatuses).
extern const char kUpsertStatusSql[];

// ---- Commit (pg_ledger.cc) ----------------------------------------------------------------

// Writes a job chunk's change sets of one account inside the caller's transaction
// (store/write_changes.h); the first failing one's error fails them all.
Result<std::vector<CommitResult>> WriteChangeSets(pg::Conn& c, int64_t account_id,
                                                  const std::vector<ChangeSet>& changes);

}  // namespace pg_detail
}  // namespace smsconsent
