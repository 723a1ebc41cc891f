// PgStore: the location string, opening (and migrating) the store, the testing hooks, and
// the lookups that calls of several areas share. The calls themselves: pg_<area>.cc.
#include "store/postgres/pg_store.h"

#include <algorithm>
#include <set>
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

// The accounts of a write, checked once per transaction, in id order: the ids that exist. FOR
// KEY SHARE is what the foreign keys of the rows written take anyway; it does not wait for other
// writers of the account (they order themselves by the (contact, number) rows they change), only
// for a rebuild of its status table (LockAccount).
Result<std::set<int64_t>> ShareAccounts(Conn& c, std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT id FROM accounts WHERE id = ANY($1::bigint[]) "
                                   "ORDER BY id FOR KEY SHARE",
                                   "checking the accounts", pg::IntArray(ids)));
  std::set<int64_t> found;
  for (int i = 0; i < r.rows(); ++i) found.insert(r.Int(i, 0));
  return found;
}

// FOR UPDATE waits for the account's writers in flight (their FOR KEY SHARE) and keeps new
// ones out until the commit.
Status LockAccount(Conn& c, int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
                                   "locking the account", account_id));
  if (r.rows() == 0) return AccountNotFound(account_id);
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
}  // namespace smsconsent
