// PgStore: contacts and their statuses, and the lookups of a contact's state that the
// message and bulk paths make (FindContactState, LookupContacts).
#include <set>
#include <string>
#include <unordered_map>
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

namespace {

// The same names the SQLite store accepts (it builds a JSON path from them).
Status CheckPropertyName(const std::string& name) {
  if (name.empty() || name.find_first_of("\"\\") != std::string::npos) {
    return InvalidArgument("invalid property name '" + name + "'");
  }
  return Status::Ok();
}

}  // namespace

// ---- Contacts -----------------------------------------------------------------------------

Result<Contact> PgStore::AddContact(const Contact& contact) {
  SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Contact> {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    SMSC_RETURN_IF_ERROR(AccountExists(c, contact.account_id));
    Result<Res> r =
        c.Q("INSERT INTO contacts (account_id, phone, name, email, created_at_ms, "
            "properties) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            "adding contact", contact.account_id, contact.phone, contact.name, contact.email,
            contact.created_at_ms, contact.properties);
    if (!r.ok() && c.last_sqlstate() == pg::kUniqueViolation) {
      return AlreadyExists("a contact with phone " + contact.phone + " already exists");
    }
    if (!r.ok()) return r.status();
    Contact out = contact;
    out.id = r->Int(0, 0);
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return out;
  });
}

Result<Contact> PgStore::GetContact(int64_t account_id, int64_t contact_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Contact> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE id = $1 "
                                     "AND account_id = $2",
                                     "reading contact", contact_id, account_id));
    if (r.rows() == 0) {
      return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                      std::to_string(account_id));
    }
    return ReadContact(r, 0);
  });
}

Result<Contact> PgStore::FindContactByPhone(int64_t account_id, const std::string& e164) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<Contact> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE "
                                     "account_id = $1 AND phone = $2",
                                     "finding contact by phone", account_id, e164));
    if (r.rows() == 0) return NotFound("no contact with phone " + e164);
    return ReadContact(r, 0);
  });
}

Result<std::vector<Contact>> PgStore::ListContacts(int64_t account_id, const ContactQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  SMSC_RETURN_IF_ERROR(CheckPropertyCount(q));
  if (q.number_id.has_value() != q.status.has_value()) {
    return InvalidArgument("a contact status filter needs both a sender number and a status");
  }
  for (const auto& [name, value] : q.properties) SMSC_RETURN_IF_ERROR(CheckPropertyName(name));
  // $1 account, $2 cursor, $3 limit, $4 search pattern, $5 number id, $6 status, $7/$8 created
  // range, then a name and a value per property. lower() folds letters beyond ASCII in a
  // UTF-8 database whose LC_CTYPE is not C (docs/storage.md).
  constexpr char kCols[] =
      "c.id, c.account_id, c.phone, c.name, c.email, c.created_at_ms, c.properties";
  std::string extra;
  std::vector<pg::Arg> args = {pg::ToArg(account_id), pg::ToArg(q.after_id),
                               pg::ToArg(int64_t{q.limit})};
  auto arg = [&](pg::Arg a) {
    args.push_back(std::move(a));
    return "$" + std::to_string(args.size());
  };
  if (!q.search.empty()) {
    const std::string p = arg(pg::ToArg(ContainsPattern(q.search)));
    extra += " AND (lower(c.name) LIKE lower(" + p + ") ESCAPE E'\\\\' OR c.phone LIKE lower(" + p +
             ") ESCAPE E'\\\\')";
  }
  std::string number_param, status_param;
  if (q.status) {
    number_param = arg(pg::ToArg(*q.number_id));
    status_param = arg(pg::ToArg(SubscriptionStatusName(*q.status)));
  }
  if (q.created_from_ms) extra += " AND c.created_at_ms >= " + arg(pg::ToArg(*q.created_from_ms));
  if (q.created_to_ms) extra += " AND c.created_at_ms < " + arg(pg::ToArg(*q.created_to_ms));
  for (const auto& [name, value] : q.properties) {
    const std::string n = arg(pg::ToArg(name));
    const std::string v = arg(pg::ToArg(value));
    extra += " AND COALESCE(c.properties::jsonb ->> " + n + "::text, '') = " + v + "::text";
  }
  std::string sql;
  if (!q.status) {
    sql = std::string("SELECT ") + kCols +
          " FROM contacts AS c WHERE c.account_id = $1 AND c.id > $2" + extra +
          " ORDER BY c.id LIMIT $3";
  } else if (*q.status != SubscriptionStatus::kNotSpecified) {
    // statuses_by_number (account, number, status, contact) in contact order.
    sql = std::string("SELECT ") + kCols +
          " FROM statuses AS s JOIN contacts AS c ON c.id = s.contact_id AND c.account_id = "
          "s.account_id WHERE s.account_id = $1 AND s.number_id = " +
          number_param + " AND s.status = " + status_param + " AND s.contact_id > $2" + extra +
          " ORDER BY s.contact_id LIMIT $3";
  } else {
    // not_specified is also "no row".
    sql = std::string("SELECT ") + kCols +
          " FROM contacts AS c LEFT JOIN statuses AS s ON s.account_id = c.account_id AND "
          "s.contact_id = c.id AND s.number_id = " +
          number_param + " WHERE c.account_id = $1 AND c.id > $2 AND (s.status IS NULL OR " +
          "s.status = " + status_param + ")" + extra + " ORDER BY c.id LIMIT $3";
  }
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<Contact>> {
    if (q.number_id) SMSC_RETURN_IF_ERROR(NumberInAccount(c, account_id, *q.number_id));
    SMSC_ASSIGN_OR_RETURN(Res r, c.Query(sql, args, "listing contacts"));
    return ReadAll<Contact>(r, ReadContact);
  });
}

Status PgStore::UpdateContact(const Contact& contact) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // NO KEY: the update changes no key, so it need not wait for (or block) transactions
    // whose foreign keys refer to the contact.
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT phone FROM contacts WHERE id = $1 AND account_id = "
                                     "$2 FOR NO KEY UPDATE",
                                     "reading contact", contact.id, contact.account_id));
    if (r.rows() == 0) {
      return NotFound("contact " + std::to_string(contact.id) + " not found in account " +
                      std::to_string(contact.account_id));
    }
    const std::string stored = r.Text(0, 0);
    if (!contact.phone.empty() && contact.phone != stored) {
      return InvalidArgument("the phone of contact " + std::to_string(contact.id) + " (" + stored +
                             ") cannot be changed: consent is given by a phone number, so a "
                             "new number is a new contact");
    }
    SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
    SMSC_RETURN_IF_ERROR(c.Q("UPDATE contacts SET name = $3, email = $4, properties = $5 WHERE "
                             "id = $1 AND account_id = $2",
                             "updating contact", contact.id, contact.account_id, contact.name,
                             contact.email, contact.properties)
                             .status());
    return txn.Commit();
  });
}

Status PgStore::DeleteContact(int64_t account_id, int64_t contact_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // Locked, so that nothing new can refer to it between the counts and the delete.
    SMSC_ASSIGN_OR_RETURN(Res found, c.Q("SELECT 1 FROM contacts WHERE id = $2 AND account_id = "
                                         "$1 FOR UPDATE",
                                         "looking up contact", account_id, contact_id));
    if (found.rows() == 0) {
      return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                      std::to_string(account_id));
    }
    SMSC_ASSIGN_OR_RETURN(
        Res r,
        c.Q("SELECT (SELECT COUNT(*) FROM events WHERE account_id = $1 AND contact_id = $2), "
            "(SELECT COUNT(*) FROM inbound_messages WHERE account_id = $1 AND "
            "contact_id = $2), "
            "(SELECT COUNT(*) FROM outbox WHERE account_id = $1 AND contact_id = $2)",
            "counting what refers to the contact", account_id, contact_id));
    SMSC_RETURN_IF_ERROR(CheckContactDeletable(contact_id, r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)));
    SMSC_RETURN_IF_ERROR(c.Q("DELETE FROM statuses WHERE account_id = $1 AND contact_id = $2",
                             "deleting the contact's status rows", account_id, contact_id)
                             .status());
    SMSC_RETURN_IF_ERROR(c.Q("DELETE FROM contacts WHERE id = $2 AND account_id = $1",
                             "deleting contact", account_id, contact_id)
                             .status());
    return txn.Commit();
  });
}

// ---- Statuses -----------------------------------------------------------------------------

Result<std::vector<StatusRow>> PgStore::GetStatuses(int64_t account_id, int64_t contact_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<StatusRow>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE "
                                     "account_id = $1 AND contact_id = $2 ORDER BY number_id",
                                     "reading statuses", account_id, contact_id));
    return ReadAll<StatusRow>(r, [](const Res& s, int i) { return ReadStatus(s, i); });
  });
}

Result<std::vector<StatusRow>> PgStore::ListAllStatuses(int64_t account_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<StatusRow>> {
    SMSC_ASSIGN_OR_RETURN(Res r, c.Q("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE "
                                     "account_id = $1 ORDER BY contact_id, number_id",
                                     "listing statuses", account_id));
    return ReadAll<StatusRow>(r, [](const Res& s, int i) { return ReadStatus(s, i); });
  });
}

namespace pg_detail {

constexpr char kUpsertStatusSql[] =
    "INSERT INTO statuses (account_id, contact_id, number_id, status, self_opted_out, source, "
    "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (account_id, contact_id, number_id) DO UPDATE SET status = excluded.status, "
    "self_opted_out = excluded.self_opted_out, source = excluded.source, "
    "updated_at_ms = excluded.updated_at_ms";

}  // namespace pg_detail

Status PgStore::ReplaceStatuses(int64_t account_id, const std::vector<StatusRow>& rows) {
  SMSC_RETURN_IF_ERROR(CheckStatusRowsDistinct(rows));
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Status {
    SMSC_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(c));
    // The ledger's writers wait until the commit (and those in flight are waited for): the
    // rebuilt table cannot miss an event.
    SMSC_RETURN_IF_ERROR(LockAccount(c, account_id));
    SMSC_RETURN_IF_ERROR(
        c.Q("DELETE FROM statuses WHERE account_id = $1", "clearing statuses", account_id)
            .status());
    std::set<int64_t> contacts_ok, numbers_ok;
    for (const StatusRow& r : rows) {
      if (contacts_ok.insert(r.contact_id).second) {
        SMSC_RETURN_IF_ERROR(ContactInAccount(c, account_id, r.contact_id));
      }
      if (numbers_ok.insert(r.number_id).second) {
        SMSC_RETURN_IF_ERROR(NumberInAccount(c, account_id, r.number_id));
      }
      SMSC_RETURN_IF_ERROR(c.Q(kUpsertStatusSql, "writing status", account_id, r.contact_id,
                               r.number_id, SubscriptionStatusName(r.state.status),
                               r.state.self_opted_out, SourceName(r.state.source),
                               r.state.updated_at_ms)
                               .status());
    }
    // Each pair's count of events, which numbers its next event (ConsentEvent::nth).
    SMSC_RETURN_IF_ERROR(
        c.Q("UPDATE statuses s SET events = n.count FROM (SELECT contact_id, number_id, "
            "COUNT(*) AS count FROM events WHERE account_id = $1 GROUP BY contact_id, number_id) "
            "n WHERE s.account_id = $1 AND s.contact_id = n.contact_id AND s.number_id = "
            "n.number_id",
            "counting the pairs' events", account_id)
            .status());
    return txn.Commit();
  });
}

Result<std::optional<ContactState>> PgStore::FindContactState(int64_t account_id,
                                                              const std::string& e164,
                                                              int64_t number_id) {
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::optional<ContactState>> {
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT c.id, s.status, s.self_opted_out, s.source, s.updated_at_ms FROM "
                   "contacts AS c LEFT JOIN statuses AS s ON s.account_id = c.account_id AND "
                   "s.contact_id = c.id AND s.number_id = $3 WHERE c.account_id = $1 AND "
                   "c.phone = $2",
                   "reading a contact's state", account_id, e164, number_id));
    if (r.rows() == 0) return std::optional<ContactState>();
    ContactState out;
    out.contact_id = r.Int(0, 0);
    if (!r.IsNull(0, 1)) {
      auto status = ParseSubscriptionStatus(r.Text(0, 1));
      if (!status.ok()) return BadColumn(status, "statuses", out.contact_id);
      out.state.status = *status;
      out.state.self_opted_out = r.Bool(0, 2);
      auto source = ParseSource(r.Text(0, 3));
      if (!source.ok()) return BadColumn(source, "statuses", out.contact_id);
      out.state.source = *source;
      out.state.updated_at_ms = r.Int(0, 4);
    }
    return std::optional<ContactState>(out);
  });
}

Result<std::vector<ContactStatuses>> PgStore::LookupContacts(int64_t account_id,
                                                             const std::vector<std::string>& phones,
                                                             const std::vector<int64_t>& ids) {
  constexpr size_t kMaxKeys = 10'000;
  if (phones.size() + ids.size() > kMaxKeys) {
    return InvalidArgument("at most " + std::to_string(kMaxKeys) + " contacts per lookup");
  }
  return pg::WithConn(impl_->pool, [&](Conn& c) -> Result<std::vector<ContactStatuses>> {
    // One snapshot for both queries.
    SMSC_ASSIGN_OR_RETURN(Txn txn,
                          Txn::Begin(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    SMSC_ASSIGN_OR_RETURN(
        Res r, c.Q("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = $1 AND (phone = "
                   "ANY($2::text[]) OR id = ANY($3::bigint[]))",
                   "looking up contacts", account_id, pg::TextArray(phones), pg::IntArray(ids)));
    std::unordered_map<std::string, size_t> by_phone;
    std::unordered_map<int64_t, size_t> by_id;
    std::vector<Contact> found;
    for (int i = 0; i < r.rows(); ++i) {
      found.push_back(ReadContact(r, i));
      by_phone.emplace(found.back().phone, found.size() - 1);
      by_id.emplace(found.back().id, found.size() - 1);
    }
    // In the order asked for (phones, then ids), each contact once.
    std::vector<ContactStatuses> out;
    std::unordered_map<int64_t, size_t> index;  // contact id -> position in out
    auto add = [&](size_t f) {
      if (index.count(found[f].id) != 0) return;
      index.emplace(found[f].id, out.size());
      out.push_back(ContactStatuses{found[f], {}});
    };
    for (const std::string& p : phones) {
      if (auto it = by_phone.find(p); it != by_phone.end()) add(it->second);
    }
    for (int64_t id : ids) {
      if (auto it = by_id.find(id); it != by_id.end()) add(it->second);
    }
    if (!out.empty()) {
      std::vector<int64_t> contact_ids;
      for (const ContactStatuses& cs : out) contact_ids.push_back(cs.contact.id);
      SMSC_ASSIGN_OR_RETURN(Res s, c.Q("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE "
                                       "account_id = $1 AND contact_id = ANY($2::bigint[]) "
                                       "ORDER BY contact_id, number_id",
                                       "reading statuses", account_id, pg::IntArray(contact_ids)));
      for (int i = 0; i < s.rows(); ++i) {
        SMSC_ASSIGN_OR_RETURN(StatusRow row, ReadStatus(s, i));
        out[index.at(row.contact_id)].statuses.push_back(row);
      }
    }
    SMSC_RETURN_IF_ERROR(txn.Commit());
    return out;
  });
}
}  // namespace smsconsent
