// SqliteStore's contacts and their statuses: search, the consent check's reads
// (FindContactState, ReadContactState) and LookupContacts.
#include <sqlite3.h>

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_internal.h"
#include "store/store_columns.h"

namespace smsconsent {

using namespace sqlite_detail;

namespace {

// The JSON path of a property for json_extract: $."name".
Result<std::string> PropertyPath(const std::string& name) {
  if (name.empty() || name.find_first_of("\"\\") != std::string::npos) {
    return InvalidArgument("invalid property name '" + name + "'");
  }
  return "$.\"" + name + "\"";
}

}  // namespace

// ---- Contacts -----------------------------------------------------------------------------

Result<Contact> SqliteStore::AddContact(const Contact& contact) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(contact.account_id));
  SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("INSERT INTO contacts (account_id, phone, name, "
                                               "email, created_at_ms, properties) VALUES (?1, "
                                               "?2, ?3, ?4, ?5, ?6)"));
  s.Bind(1, contact.account_id)
      .Bind(2, contact.phone)
      .Bind(3, contact.name)
      .Bind(4, contact.email)
      .Bind(5, contact.created_at_ms)
      .Bind(6, contact.properties);
  int rc = SQLITE_OK;
  Status st = s.Run("adding contact", &rc);
  if (IsUniqueViolation(rc)) {
    return AlreadyExists("a contact with phone " + contact.phone + " already exists");
  }
  SMSC_RETURN_IF_ERROR(st);
  Contact out = contact;
  out.id = sqlite3_last_insert_rowid(impl_->db.get());
  SMSC_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Result<Contact> SqliteStore::GetContact(int64_t account_id, int64_t contact_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE id = ?1 AND "
                              "account_id = ?2"));
  s.Bind(1, contact_id).Bind(2, account_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading contact"));
  if (!row) {
    return NotFound("contact " + std::to_string(contact_id) + " not found in account " +
                    std::to_string(account_id));
  }
  return ReadContact(s);
}

Result<Contact> SqliteStore::FindContactByPhone(int64_t account_id, const std::string& e164) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = ?1 "
                              "AND phone = ?2"));
  s.Bind(1, account_id).Bind(2, e164);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("finding contact by phone"));
  if (!row) return NotFound("no contact with phone " + e164);
  return ReadContact(s);
}

Result<std::vector<Contact>> SqliteStore::ListContacts(int64_t account_id, const ContactQuery& q) {
  SMSC_RETURN_IF_ERROR(CheckLimit(q.limit));
  SMSC_RETURN_IF_ERROR(CheckPropertyCount(q));
  if (q.number_id.has_value() != q.status.has_value()) {
    return InvalidArgument("a contact status filter needs both a sender number and a status");
  }
  ReadLease reader = impl_->Read(mu_);
  // ?1 account, ?2 cursor, ?3 limit, ?4 search pattern, ?5 number id, ?6 status,
  // ?7/?8 created range, then a JSON path and a value per property.
  // Substring search cannot use an index; it scans in id order and stops after `limit` hits.
  constexpr char kCols[] =
      "c.id, c.account_id, c.phone, c.name, c.email, c.created_at_ms, c.properties";
  std::string extra;
  if (!q.search.empty()) {
    extra += " AND (smsc_fold(c.name) LIKE ?4 ESCAPE '\\' OR c.phone LIKE ?4 ESCAPE '\\')";
  }
  if (q.created_from_ms) extra += " AND c.created_at_ms >= ?7";
  if (q.created_to_ms) extra += " AND c.created_at_ms < ?8";
  for (size_t i = 0; i < q.properties.size(); ++i) {
    const std::string path = "?" + std::to_string(9 + 2 * i);
    const std::string value = "?" + std::to_string(10 + 2 * i);
    extra += " AND COALESCE(json_extract(c.properties, " + path + "), '') = " + value;
  }
  std::string sql;
  if (!q.status) {
    sql = std::string("SELECT ") + kCols + " FROM contacts AS c WHERE c.account_id = ?1 AND " +
          "c.id > ?2" + extra + " ORDER BY c.id LIMIT ?3";
  } else if (*q.status != SubscriptionStatus::kNotSpecified) {
    // Walks statuses_by_number (account, number, status, contact) in contact order and looks
    // each contact up by id: the cost follows the matches, not the size of the account.
    sql = std::string("SELECT ") + kCols +
          " FROM statuses AS s CROSS JOIN contacts AS c ON c.id = s.contact_id AND "
          "c.account_id = s.account_id WHERE s.account_id = ?1 AND s.number_id = ?5 AND "
          "s.status = ?6 AND s.contact_id > ?2" +
          extra + " ORDER BY s.contact_id LIMIT ?3";
  } else {
    // not_specified is also "no row": walk the contacts and probe the status primary key.
    sql = std::string("SELECT ") + kCols +
          " FROM contacts AS c LEFT JOIN statuses AS s ON s.account_id = c.account_id AND "
          "s.contact_id = c.id AND s.number_id = ?5 WHERE c.account_id = ?1 AND c.id > ?2 AND "
          "(s.status IS NULL OR s.status = ?6)" +
          extra + " ORDER BY c.id LIMIT ?3";
  }
  if (q.number_id) SMSC_RETURN_IF_ERROR(reader->NumberInAccount(account_id, *q.number_id));
  SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  s.Bind(1, account_id).Bind(2, q.after_id).Bind(3, int64_t{q.limit});
  if (!q.search.empty()) s.Bind(4, ContainsPattern(FoldCase(q.search)));
  if (q.status) s.Bind(5, *q.number_id).Bind(6, SubscriptionStatusName(*q.status));
  if (q.created_from_ms) s.Bind(7, *q.created_from_ms);
  if (q.created_to_ms) s.Bind(8, *q.created_to_ms);
  for (size_t i = 0; i < q.properties.size(); ++i) {
    const auto& [name, value] = q.properties[i];
    SMSC_ASSIGN_OR_RETURN(std::string path, PropertyPath(name));
    s.Bind(static_cast<int>(9 + 2 * i), path).Bind(static_cast<int>(10 + 2 * i), value);
  }
  std::vector<Contact> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing contacts"));
    if (!row) break;
    out.push_back(ReadContact(s));
  }
  return out;
}

Status SqliteStore::UpdateContact(const Contact& contact) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("SELECT phone FROM contacts WHERE id = ?1 AND account_id = ?2"));
    s.Bind(1, contact.id).Bind(2, contact.account_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading contact"));
    if (!row) {
      return NotFound("contact " + std::to_string(contact.id) + " not found in account " +
                      std::to_string(contact.account_id));
    }
    const std::string stored = s.Text(0);
    if (!contact.phone.empty() && contact.phone != stored) {
      return InvalidArgument("the phone of contact " + std::to_string(contact.id) + " (" + stored +
                             ") cannot be changed: consent is given by a phone number, so a "
                             "new number is a new contact");
    }
  }
  SMSC_RETURN_IF_ERROR(CheckProperties(contact.properties));
  SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare("UPDATE contacts SET name = ?3, email = ?4, "
                                               "properties = ?5 WHERE id = ?1 AND "
                                               "account_id = ?2"));
  s.Bind(1, contact.id).Bind(2, contact.account_id).Bind(3, contact.name).Bind(4, contact.email);
  s.Bind(5, contact.properties);
  SMSC_RETURN_IF_ERROR(s.Run("updating contact"));
  return txn.Commit();
}

Status SqliteStore::DeleteContact(int64_t account_id, int64_t contact_id) {
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->ContactInAccount(account_id, contact_id));
  {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s,
        impl_->Prepare(
            "SELECT (SELECT COUNT(*) FROM events WHERE account_id = ?1 AND contact_id = ?2), "
            "(SELECT COUNT(*) FROM inbound_messages WHERE account_id = ?1 AND "
            "contact_id = ?2), "
            "(SELECT COUNT(*) FROM outbox WHERE account_id = ?1 AND contact_id = ?2)"));
    s.Bind(1, account_id).Bind(2, contact_id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("counting what refers to the contact"));
    if (row) SMSC_RETURN_IF_ERROR(CheckContactDeletable(contact_id, s.Int(0), s.Int(1), s.Int(2)));
  }
  {
    // Status rows exist only for pairs with events; none is expected here, but a stray row
    // must not make the delete fail on its foreign key.
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, impl_->Prepare("DELETE FROM statuses WHERE account_id = ?1 AND contact_id = ?2"));
    s.Bind(1, account_id).Bind(2, contact_id);
    SMSC_RETURN_IF_ERROR(s.Run("deleting the contact's status rows"));
  }
  SMSC_ASSIGN_OR_RETURN(Stmt s,
                        impl_->Prepare("DELETE FROM contacts WHERE id = ?1 AND account_id = ?2"));
  s.Bind(1, contact_id).Bind(2, account_id);
  SMSC_RETURN_IF_ERROR(s.Run("deleting contact"));
  return txn.Commit();
}

// ---- Statuses -----------------------------------------------------------------------------

Result<std::vector<StatusRow>> SqliteStore::GetStatuses(int64_t account_id, int64_t contact_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE account_id = ?1 AND "
                              "contact_id = ?2 ORDER BY number_id"));
  s.Bind(1, account_id).Bind(2, contact_id);
  std::vector<StatusRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading statuses"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
    out.push_back(r);
  }
  return out;
}

Result<std::vector<StatusRow>> SqliteStore::ListAllStatuses(int64_t account_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses WHERE account_id = ?1 "
                              "ORDER BY contact_id, number_id"));
  s.Bind(1, account_id);
  std::vector<StatusRow> out;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("listing statuses"));
    if (!row) break;
    SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
    out.push_back(r);
  }
  return out;
}

Status SqliteStore::ReplaceStatuses(int64_t account_id, const std::vector<StatusRow>& rows) {
  SMSC_RETURN_IF_ERROR(CheckStatusRowsDistinct(rows));
  std::lock_guard<std::mutex> lock(mu_);
  SMSC_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(impl_.get()));
  SMSC_RETURN_IF_ERROR(impl_->AccountExists(account_id));
  {
    SMSC_ASSIGN_OR_RETURN(Stmt del, impl_->Prepare("DELETE FROM statuses WHERE account_id = ?1"));
    del.Bind(1, account_id);
    SMSC_RETURN_IF_ERROR(del.Run("clearing statuses"));
  }
  std::set<int64_t> contacts_ok, numbers_ok;
  for (const StatusRow& r : rows) {
    if (contacts_ok.insert(r.contact_id).second) {
      SMSC_RETURN_IF_ERROR(impl_->ContactInAccount(account_id, r.contact_id));
    }
    if (numbers_ok.insert(r.number_id).second) {
      SMSC_RETURN_IF_ERROR(impl_->NumberInAccount(account_id, r.number_id));
    }
    SMSC_ASSIGN_OR_RETURN(Stmt s, impl_->Prepare(kUpsertStatusSql));
    s.Bind(1, account_id)
        .Bind(2, r.contact_id)
        .Bind(3, r.number_id)
        .Bind(4, SubscriptionStatusName(r.state.status))
        .BindBool(5, r.state.self_opted_out)
        .Bind(6, SourceName(r.state.source))
        .Bind(7, r.state.updated_at_ms);
    SMSC_RETURN_IF_ERROR(s.Run("writing status"));
  }
  // Each pair's count of events, which numbers its next event (docs/ledger.md), from the ledger.
  SMSC_ASSIGN_OR_RETURN(
      Stmt count, impl_->Prepare("UPDATE statuses SET events = (SELECT COUNT(*) FROM events e "
                                 "WHERE e.account_id = statuses.account_id AND e.contact_id = "
                                 "statuses.contact_id AND e.number_id = statuses.number_id) WHERE "
                                 "account_id = ?1"));
  count.Bind(1, account_id);
  SMSC_RETURN_IF_ERROR(count.Run("counting the pairs' events"));
  return txn.Commit();
}

// ---- The consent check and lookups -------------------------------------------------------

Result<std::optional<ContactState>> SqliteStore::FindContactState(int64_t account_id,
                                                                  const std::string& e164,
                                                                  int64_t number_id) {
  // The cache (state_cache.h) answers while the database is unchanged since the answer was
  // read; the stamp is read before the read transaction below begins.
  const std::optional<WalStamp> stamp =
      impl_->wal_watch ? impl_->wal_watch->Now() : std::optional<WalStamp>();
  const std::optional<uint64_t> phone_key =
      stamp ? ContactStateCache::PhoneKey(e164) : std::optional<uint64_t>();
  if (phone_key) {
    auto cached = impl_->state_cache.Find(*stamp, account_id, *phone_key, number_id);
    if (cached) return *cached;
  }
  SMSC_ASSIGN_OR_RETURN(std::optional<ContactState> answer,
                        ReadContactState(account_id, e164, number_id));
  if (phone_key) impl_->state_cache.Store(*stamp, account_id, *phone_key, number_id, answer);
  return answer;
}

Result<std::optional<ContactState>> SqliteStore::ReadContactState(int64_t account_id,
                                                                  const std::string& e164,
                                                                  int64_t number_id) {
  ReadLease reader = impl_->Read(mu_);
  SMSC_ASSIGN_OR_RETURN(
      Stmt s, reader->Prepare("SELECT c.id, s.status, s.self_opted_out, s.source, "
                              "s.updated_at_ms FROM contacts AS c LEFT JOIN statuses AS s ON "
                              "s.account_id = c.account_id AND s.contact_id = c.id AND "
                              "s.number_id = ?3 WHERE c.account_id = ?1 AND c.phone = ?2"));
  s.Bind(1, account_id).Bind(2, e164).Bind(3, number_id);
  SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading a contact's state"));
  if (!row) return std::optional<ContactState>();
  ContactState out;
  out.contact_id = s.Int(0);
  if (!s.Text(1).empty()) {
    auto status = ParseSubscriptionStatus(s.Text(1));
    if (!status.ok()) return BadColumn(status, "statuses", out.contact_id);
    out.state.status = *status;
    out.state.self_opted_out = s.Bool(2);
    auto source = ParseSource(s.Text(3));
    if (!source.ok()) return BadColumn(source, "statuses", out.contact_id);
    out.state.source = *source;
    out.state.updated_at_ms = s.Int(4);
  }
  return std::optional<ContactState>(out);
}

Result<std::vector<ContactStatuses>> SqliteStore::LookupContacts(
    int64_t account_id, const std::vector<std::string>& phones, const std::vector<int64_t>& ids) {
  constexpr size_t kMaxKeys = 10'000;
  if (phones.size() + ids.size() > kMaxKeys) {
    return InvalidArgument("at most " + std::to_string(kMaxKeys) + " contacts per lookup");
  }
  ReadLease reader = impl_->Read(mu_);
  // One read transaction (one snapshot, one lock round) for all the lookups.
  SMSC_RETURN_IF_ERROR(RunSql(*reader.get(), "BEGIN", "starting a read"));
  struct EndRead {
    Connection* c;
    ~EndRead() { (void)RunSql(*c, "COMMIT", "ending a read"); }
  } end_read{reader.get()};
  std::vector<ContactStatuses> out;
  std::unordered_map<int64_t, size_t> index;  // contact id -> position in out
  auto add = [&](Stmt& s) {
    Contact c = ReadContact(s);
    if (index.count(c.id) != 0) return;
    index.emplace(c.id, out.size());
    out.push_back(ContactStatuses{std::move(c), {}});
  };
  for (const std::string& phone : phones) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = "
                                "?1 AND phone = ?2"));
    s.Bind(1, account_id).Bind(2, phone);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact by phone"));
    if (row) add(s);
  }
  for (int64_t id : ids) {
    SMSC_ASSIGN_OR_RETURN(
        Stmt s, reader->Prepare("SELECT " SMSC_CONTACT_COLS " FROM contacts WHERE account_id = "
                                "?1 AND id = ?2"));
    s.Bind(1, account_id).Bind(2, id);
    SMSC_ASSIGN_OR_RETURN(bool row, s.Step("looking up contact by id"));
    if (row) add(s);
  }
  for (ContactStatuses& cs : out) {
    SMSC_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT " SMSC_STATUS_COLS " FROM statuses "
                                                  "WHERE account_id = ?1 AND contact_id = ?2"));
    s.Bind(1, account_id).Bind(2, cs.contact.id);
    while (true) {
      SMSC_ASSIGN_OR_RETURN(bool row, s.Step("reading statuses"));
      if (!row) break;
      SMSC_ASSIGN_OR_RETURN(StatusRow r, ReadStatus(s));
      cs.statuses.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace smsconsent
