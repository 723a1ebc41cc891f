#include "app/bulk.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/contact_filter.h"
#include "core/csv.h"
#include "core/ledger.h"
#include "core/segments.h"

namespace smsconsent {

using nlohmann::json;

namespace {

constexpr int kMaxAttempts = 5;          // a chunk re-planned after concurrent changes
constexpr int kListPage = 1000;          // contacts per page of a filter selection
constexpr size_t kInputChunk = 1 << 20;  // bytes per stored input chunk
// What a job's batch and job ids and its input's digest add to the batch document of its
// request.
constexpr size_t kBatchIdsBytes = 256;

// Who a batch is: its id, its job and the SHA-256 of the job's input (a CSV), as far as known.
struct BatchIds {
  std::string batch;
  int64_t job_id = 0;
  std::string input_sha256;
};

const char* EncodingName(SmsEncoding e) { return e == SmsEncoding::kGsm7 ? "gsm7" : "ucs2"; }

Result<int64_t> ParseCount(const std::string& s, const char* what) {
  if (s.empty()) return int64_t{0};
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Internal(std::string("corrupt job cursor (") + what + ")");
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string PropertiesJson(const std::vector<std::pair<std::string, std::string>>& props) {
  json j = json::object();
  for (const auto& [k, v] : props) j[k] = v;
  return j.dump();
}

// One input row: a CSV record (fields) or a selected contact (contact_id).
struct InputRow {
  int64_t row = 0;         // CSV line, or 1-based position in the selection
  int64_t contact_id = 0;  // ids / filter selections
  ContactRow fields;       // CSV
  Status error;            // a malformed CSV record
  // CSV: fields.phone normalised (or why not), worked out ahead by the reader thread.
  std::string e164;
  Status phone_error;
};

}  // namespace

// ---- request and tally JSON -----------------------------------------------------------------

json BulkRequest::ToJson() const {
  json j = {{"kind", kind},
            {"number", number},
            {"status", SubscriptionStatusName(status)},
            {"attest", attestation.express_consent},
            {"explanation", attestation.explanation},
            {"actor", actor},
            {"ids", ids},
            {"filter", filter},
            {"csv", csv},
            {"phone_column", phone_column}};
  j["legal_basis"] =
      attestation.legal_basis ? json(LegalBasisName(*attestation.legal_basis)) : json(nullptr);
  return j;
}

Result<BulkRequest> BulkRequest::FromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("a bulk request must be a JSON object");
  BulkRequest r;
  try {
    r.kind = j.value("kind", std::string(kJobBulkSubscriptions));
    r.number = j.value("number", "");
    SMSC_ASSIGN_OR_RETURN(r.status, ParseSubscriptionStatus(j.value("status", "not_specified")));
    r.attestation.express_consent = j.value("attest", false);
    r.attestation.explanation = j.value("explanation", "");
    if (j.contains("legal_basis") && !j["legal_basis"].is_null()) {
      SMSC_ASSIGN_OR_RETURN(r.attestation.legal_basis,
                            ParseLegalBasis(j["legal_basis"].get<std::string>()));
    }
    r.actor = j.value("actor", "");
    if (j.contains("ids")) r.ids = j["ids"].get<std::vector<int64_t>>();
    r.filter = j.value("filter", "");
    r.csv = j.value("csv", false);
    r.phone_column = j.value("phone_column", "");
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("malformed bulk request: ") + e.what());
  }
  return r;
}

json BulkTally::ToJson() const {
  json skipped_json = json::object();
  for (const auto& [reason, n] : skipped) skipped_json[reason] = n;
  json enc = json::object();
  for (const auto& [e, n] : encodings) enc[e] = n;
  return {{"rows", rows},         {"change", change},        {"unchanged", unchanged},
          {"created", created},   {"skipped", skipped_json}, {"confirmations", confirmations},
          {"segments", segments}, {"encodings", enc}};
}

BulkTally BulkTally::FromJson(const json& j) {
  BulkTally t;
  if (!j.is_object()) return t;
  t.rows = j.value("rows", int64_t{0});
  t.change = j.value("change", int64_t{0});
  t.unchanged = j.value("unchanged", int64_t{0});
  t.created = j.value("created", int64_t{0});
  t.confirmations = j.value("confirmations", int64_t{0});
  t.segments = j.value("segments", int64_t{0});
  if (j.contains("skipped") && j["skipped"].is_object()) {
    for (const auto& [k, v] : j["skipped"].items()) t.skipped[k] = v.get<int64_t>();
  }
  if (j.contains("encodings") && j["encodings"].is_object()) {
    for (const auto& [k, v] : j["encodings"].items()) t.encodings[k] = v.get<int64_t>();
  }
  return t;
}

ByteSource ChunkSource(std::function<Result<std::optional<std::string>>()> next_chunk) {
  struct State {
    std::string chunk;
    size_t offset = 0;
  };
  auto state = std::make_shared<State>();
  return [state, next = std::move(next_chunk)](char* buf, size_t cap) -> Result<size_t> {
    while (state->offset == state->chunk.size()) {
      SMSC_ASSIGN_OR_RETURN(std::optional<std::string> chunk, next());
      if (!chunk) return size_t{0};
      state->chunk = std::move(*chunk);
      state->offset = 0;
    }
    const size_t n = std::min(cap, state->chunk.size() - state->offset);
    std::memcpy(buf, state->chunk.data() + state->offset, n);
    state->offset += n;
    return n;
  };
}

ByteSource StringSource(std::string data) {
  auto held = std::make_shared<std::optional<std::string>>(std::move(data));
  return ChunkSource([held]() -> Result<std::optional<std::string>> {
    return std::exchange(*held, std::nullopt);
  });
}

json JobJson(const Job& job) {
  json result = json::parse(job.result, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) result = json::object();
  json request = json::parse(job.request, nullptr, /*allow_exceptions=*/false);
  json j = {{"job", job.id},
            {"kind", job.kind},
            {"state", JobStateName(job.state)},
            {"done", job.done},
            {"total", job.total},
            {"result", result},
            {"created_at_ms", job.created_at_ms},
            {"updated_at_ms", job.updated_at_ms}};
  if (request.is_object() && request.contains("batch")) j["batch"] = request["batch"];
  if (job.finished_at_ms != 0) j["finished_at_ms"] = job.finished_at_ms;
  if (!job.error.empty()) j["error"] = job.error;
  return j;
}

// ---- the per-row engine ---------------------------------------------------------------------

// Reads the selection in chunks and turns each chunk into change sets, skipped rows and
// counts. Shared by preview (nothing committed) and jobs (each chunk committed with the job's
// progress). Not thread-safe; one per preview or job run.
class BulkService::Engine {
 public:
  struct ChunkPlan {
    std::vector<ChangeSet> changes;
    std::vector<JobReject> rejects;
    int64_t rows = 0;
    // To undo the chunk's effect on the engine when its commit is retried.
    BulkTally tally_before;
    std::vector<std::string> seen_added;
  };

  Engine(BulkService& svc, Account account, std::vector<SenderNumber> numbers, int64_t target_id,
         BulkRequest req, BatchIds ids)
      : svc_(svc),
        account_(std::move(account)),
        numbers_(std::move(numbers)),
        req_(std::move(req)),
        ids_(std::move(ids)),
        target_id_(target_id) {}

  // Checks the request and opens the selection. `csv` is read when the request has a CSV.
  static Result<std::unique_ptr<Engine>> Open(BulkService& svc, int64_t account_id,
                                              const BulkRequest& req, BatchIds ids,
                                              ByteSource csv) {
    SMSC_ASSIGN_OR_RETURN(Account account, svc.service_.AccountWithSms(account_id));
    SMSC_ASSIGN_OR_RETURN(std::vector<SenderNumber> numbers, svc.store_.ListNumbers(account.id));
    const bool import = req.kind == kJobImportContacts;
    if (!import && req.kind != kJobBulkSubscriptions) {
      return InvalidArgument("unknown job kind '" + req.kind + "'");
    }
    int64_t target_id = 0;
    if (!import) {
      if (req.number.empty()) return InvalidArgument("a bulk change needs the sender number");
      SMSC_ASSIGN_OR_RETURN(const SenderNumber* found,
                            svc.service_.ResolveNumberIn(account, numbers, req.number));
      const SenderNumber& n = *found;
      target_id = n.id;
      // The batch's attestation must satisfy the rules before any row is looked at: plan the
      // change for a contact with no status yet (a contact's own opt-out is per row).
      UserChangeInput probe;
      probe.number = {n.id, n.kind, n.opt_in_confirmation, n.double_opt_in};
      probe.target = req.status;
      probe.source = Source::kBulk;
      probe.attestation = req.attestation;
      SMSC_RETURN_IF_ERROR(PlanUserChange(probe).status());
    }
    const int selections =
        (req.ids.empty() ? 0 : 1) + (req.filter.empty() ? 0 : 1) + (req.csv ? 1 : 0);
    if (import && (!req.csv || selections != 1)) {
      return InvalidArgument("an import reads a CSV file and nothing else");
    }
    if (selections != 1) {
      return InvalidArgument("select the contacts with exactly one of: ids, a filter, a CSV");
    }
    auto engine = std::make_unique<Engine>(svc, std::move(account), std::move(numbers), target_id,
                                           req, std::move(ids));
    // The batch document must fit in the store with the batch and job ids a job adds.
    if (!import && engine->BatchDocument().size() + kBatchIdsBytes > kMaxEvidenceBatchBytes) {
      return InvalidArgument("the explanation and actor of a bulk change must fit in " +
                             std::to_string(kMaxEvidenceBatchBytes - kBatchIdsBytes) +
                             " bytes of evidence (docs/limits.md)");
    }
    if (!req.filter.empty()) {
      SMSC_ASSIGN_OR_RETURN(ContactFilter f, ParseContactFilter(req.filter));
      SMSC_RETURN_IF_ERROR(engine->SetFilter(f));
    }
    if (req.csv) {
      engine->csv_ = std::make_unique<CsvPullReader>(std::move(csv));
      SMSC_RETURN_IF_ERROR(engine->ReadHeader());
    }
    return engine;
  }

  // Positions the selection after the rows a job already processed (its cursor), replaying
  // them through the duplicate check so later duplicates are still recognised.
  Status Resume(const std::string& cursor, int64_t done, const BulkTally& tally) {
    tally_ = tally;
    SMSC_ASSIGN_OR_RETURN(int64_t n, ParseCount(cursor, "position"));
    if (!req_.ids.empty()) {
      next_id_index_ = static_cast<size_t>(n);
      for (size_t i = 0; i < next_id_index_ && i < req_.ids.size(); ++i) {
        seen_.insert("id:" + std::to_string(req_.ids[i]));
      }
    } else if (!req_.filter.empty()) {
      filter_after_ = n;
    } else {
      for (int64_t i = 0; i < n; ++i) {
        SMSC_ASSIGN_OR_RETURN(std::optional<InputRow> row, NextCsvRow());
        if (!row) break;
        std::string key;
        const SenderNumber* number = nullptr;
        if (RowKey(*row, &key, &number, nullptr).ok()) seen_.insert(key);
      }
    }
    consumed_ = done;
    return Status::Ok();
  }

  // The rows to process in all (CSV: data records; filter: matching contacts), counted by
  // reading the selection once.
  Result<int64_t> CountRows(const ByteSource& csv) {
    if (!req_.ids.empty()) return static_cast<int64_t>(req_.ids.size());
    if (!req_.filter.empty()) {
      int64_t n = 0;
      ContactQuery q = query_;
      q.limit = kListPage;
      while (true) {
        SMSC_ASSIGN_OR_RETURN(auto page, svc_.store_.ListContacts(account_.id, q));
        n += static_cast<int64_t>(page.size());
        if (static_cast<int>(page.size()) < q.limit) break;
        q.after_id = page.back().id;
      }
      return n;
    }
    CsvPullReader reader(csv);
    int64_t n = -1;  // the header is not a row
    const CsvRecord* record = nullptr;
    while (true) {
      SMSC_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
      if (!more) break;
      ++n;
    }
    return std::max<int64_t>(n, 0);
  }

  Result<std::vector<InputRow>> ReadChunk(int max_rows) {
    std::vector<InputRow> rows;
    if (!req_.ids.empty()) {
      while (static_cast<int>(rows.size()) < max_rows && next_id_index_ < req_.ids.size()) {
        InputRow r;
        r.row = static_cast<int64_t>(next_id_index_) + 1;
        r.contact_id = req_.ids[next_id_index_++];
        rows.push_back(std::move(r));
      }
    } else if (!req_.filter.empty()) {
      ContactQuery q = query_;
      q.after_id = filter_after_;
      q.limit = max_rows;
      SMSC_ASSIGN_OR_RETURN(auto page, svc_.store_.ListContacts(account_.id, q));
      for (const Contact& c : page) {
        InputRow r;
        r.row = consumed_ + static_cast<int64_t>(rows.size()) + 1;
        r.contact_id = c.id;
        rows.push_back(std::move(r));
        filter_after_ = c.id;
      }
    } else {
      if (!prefetch_.valid()) prefetch_ = ReadCsvAsync(max_rows);
      SMSC_ASSIGN_OR_RETURN(rows, prefetch_.get());
      if (!rows.empty()) prefetch_ = ReadCsvAsync(max_rows);
    }
    consumed_ += static_cast<int64_t>(rows.size());
    return rows;
  }

  ~Engine() {
    if (prefetch_.valid()) prefetch_.wait();
  }

  // Where a job resumes after the rows read so far.
  std::string Cursor() const {
    if (!req_.filter.empty()) return std::to_string(filter_after_);
    return std::to_string(consumed_);
  }

  Result<ChunkPlan> Plan(const std::vector<InputRow>& rows) {
    ChunkPlan plan;
    plan.tally_before = tally_;
    plan.rows = static_cast<int64_t>(rows.size());
    const int64_t now = svc_.clock_.NowMs();
    auto skip = [&](const InputRow& r, const std::string& phone, const char* reason,
                    std::string detail) {
      ++tally_.skipped[reason];
      plan.rejects.push_back(JobReject{r.row, phone, reason, std::move(detail)});
    };

    struct Pending {
      const InputRow* row;
      std::string e164;
      const SenderNumber* number;
    };
    std::vector<Pending> pending;
    std::vector<std::string> phones;
    std::vector<int64_t> ids;
    for (const InputRow& r : rows) {
      ++tally_.rows;
      std::string key;
      const SenderNumber* number = nullptr;
      std::string e164;
      const char* reason = nullptr;
      Status st = RowKey(r, &key, &number, &e164, &reason);
      if (!st.ok()) {
        skip(r, r.fields.phone, reason, st.message());
        continue;
      }
      if (!seen_.insert(key).second) {
        std::string detail = r.contact_id
                                 ? "contact " + std::to_string(r.contact_id) + " selected twice"
                                 : "phone " + e164 + " appears on an earlier row";
        if (!r.contact_id && columns_.statuses_export) {
          detail +=
              " (a statuses export has a row for each sender number; export one number "
              "for one row per contact)";
        }
        skip(r, r.fields.phone.empty() ? e164 : r.fields.phone, kSkipDuplicate, std::move(detail));
        continue;
      }
      plan.seen_added.push_back(std::move(key));
      pending.push_back(Pending{&r, e164, number});
      if (r.contact_id) {
        ids.push_back(r.contact_id);
      } else {
        phones.push_back(e164);
      }
    }
    SMSC_ASSIGN_OR_RETURN(std::vector<ContactStatuses> found,
                          svc_.store_.LookupContacts(account_.id, phones, ids));
    std::unordered_map<std::string, const ContactStatuses*> by_phone;
    std::unordered_map<int64_t, const ContactStatuses*> by_id;
    for (const ContactStatuses& cs : found) {
      by_phone[cs.contact.phone] = &cs;
      by_id[cs.contact.id] = &cs;
    }

    for (const Pending& p : pending) {
      const InputRow& r = *p.row;
      const ContactStatuses* existing = nullptr;
      if (r.contact_id) {
        auto it = by_id.find(r.contact_id);
        if (it == by_id.end()) {
          skip(r, "", kSkipUnknownContact,
               "contact " + std::to_string(r.contact_id) + " is not in this account");
          continue;
        }
        existing = it->second;
      } else {
        auto it = by_phone.find(p.e164);
        if (it != by_phone.end()) existing = it->second;
      }
      ChangeSet changes;
      Contact contact;
      if (existing) {
        contact = existing->contact;
      } else {
        contact.account_id = account_.id;
        contact.phone = p.e164;
        contact.name = r.fields.name;
        contact.email = r.fields.email;
        contact.properties = PropertiesJson(r.fields.properties);
        contact.created_at_ms = now;
        changes.new_contact = contact;
        ++tally_.created;
      }
      if (req_.kind == kJobImportContacts) {
        PlanImport(r, existing, contact, &changes);
      } else {
        Status st = PlanStatus(r, *p.number, existing, contact, now, &changes);
        if (st.code() == StatusCode::kFailedPrecondition) {
          skip(r, contact.phone, kSkipSelfOptedOut, st.message());
          if (!changes.new_contact) continue;
        } else if (!st.ok()) {
          return st;
        }
      }
      if (changes.new_contact || changes.update_contact || !changes.events.empty()) {
        plan.changes.push_back(std::move(changes));
      }
    }
    return plan;
  }

  // Forgets a chunk's effect (its commit is retried, re-planned from fresh reads).
  void Undo(const ChunkPlan& plan) {
    tally_ = plan.tally_before;
    for (const std::string& k : plan.seen_added) seen_.erase(k);
  }

  const BulkTally& tally() const { return tally_; }

 private:
  Status SetFilter(const ContactFilter& f) {
    SMSC_ASSIGN_OR_RETURN(query_, svc_.service_.QueryFor(account_.id, f));
    return Status::Ok();
  }

  Status ReadHeader() {
    const CsvRecord* record = nullptr;
    SMSC_ASSIGN_OR_RETURN(bool any, csv_->Next(&record));
    if (!any) return InvalidArgument("the CSV file is empty (it needs a header row)");
    if (!record->ok()) return record->error;
    ContactHeaderOptions options;
    options.phone_column = req_.phone_column;
    SMSC_ASSIGN_OR_RETURN(columns_, MapContactHeader(record->fields, options));
    return Status::Ok();
  }

  // Reads up to max_rows CSV rows and normalises their phones, on another thread. Only that
  // thread touches the reader until the result is taken.
  std::future<Result<std::vector<InputRow>>> ReadCsvAsync(int max_rows) {
    return std::async(std::launch::async, [this, max_rows]() -> Result<std::vector<InputRow>> {
      std::vector<InputRow> rows;
      while (static_cast<int>(rows.size()) < max_rows) {
        SMSC_ASSIGN_OR_RETURN(std::optional<InputRow> row, NextCsvRow());
        if (!row) break;
        rows.push_back(std::move(*row));
      }
      return rows;
    });
  }

  Result<std::optional<InputRow>> NextCsvRow() {
    const CsvRecord* record = nullptr;
    SMSC_ASSIGN_OR_RETURN(bool more, csv_->Next(&record));
    if (!more) return std::optional<InputRow>();
    InputRow r;
    r.row = record->line;
    r.error = ReadContactRow(columns_, *record, &r.fields);
    if (r.error.ok()) {
      auto phone = svc_.service_.phones().NormalizeToE164(r.fields.phone, account_.default_region);
      if (phone.ok()) {
        r.e164 = std::move(phone->e164);
      } else {
        r.phone_error = phone.status();
      }
    }
    return std::optional<InputRow>(std::move(r));
  }

  // The duplicate-check key of a row and, for CSV rows, its E.164 phone and sender number.
  // An error says why the row is skipped (reason set).
  Status RowKey(const InputRow& r, std::string* key, const SenderNumber** number,
                std::string* e164_out, const char** reason = nullptr) {
    const char* unused = nullptr;
    if (!reason) reason = &unused;
    *number = Target();
    if (r.contact_id) {
      *key = "id:" + std::to_string(r.contact_id);
      return Status::Ok();
    }
    if (!r.error.ok()) {
      *reason = kSkipBadRow;
      return r.error;
    }
    if (!r.phone_error.ok()) {
      *reason = kSkipInvalidPhone;
      return r.phone_error;
    }
    const std::string& sender = r.fields.sender;
    if (!sender.empty() && req_.kind != kJobImportContacts) {
      auto n = svc_.service_.ResolveNumberIn(account_, numbers_, sender);
      if (!n.ok()) {
        *reason = kSkipUnknownNumber;
        return n.status();
      }
      *number = *n;
    }
    *key = (*number ? std::to_string((*number)->id) : std::string()) + ":" + r.e164;
    if (e164_out) *e164_out = r.e164;
    return Status::Ok();
  }

  const SenderNumber* Target() const {
    for (const SenderNumber& n : numbers_) {
      if (n.id == target_id_) return &n;
    }
    return nullptr;
  }

  // kFailedPrecondition when the contact's own opt-out forbids the change.
  Status PlanStatus(const InputRow& r, const SenderNumber& number, const ContactStatuses* existing,
                    const Contact& contact, int64_t now, ChangeSet* changes) {
    ConsentState current;
    if (existing) {
      for (const StatusRow& s : existing->statuses) {
        if (s.number_id == number.id) current = s.state;
      }
    }
    UserChangeInput in;
    in.number = {number.id, number.kind, number.opt_in_confirmation, number.double_opt_in};
    in.current = current;
    in.target = req_.status;
    in.source = Source::kBulk;
    in.attestation = req_.attestation;
    SMSC_ASSIGN_OR_RETURN(UserChangePlan plan, PlanUserChange(in));
    if (!plan.transition.changed()) {
      ++tally_.unchanged;
      return Status::Ok();
    }
    ++tally_.change;
    EventDraft e;
    e.contact_id = existing ? contact.id : 0;
    e.phone = contact.phone;
    e.number_id = number.id;
    e.sender = number.number;
    e.from = plan.transition.from;
    e.to = plan.transition.to;
    e.source = Source::kBulk;
    e.actor = req_.actor;
    e.at_ms = now;
    // The batch's evidence, the same for every row, is kept once (its document, named by its
    // hash inside the event's leaf); the event's own evidence is its row.
    e.evidence = "{\"row\":" + std::to_string(r.row) + "}";
    e.batch_hash = BatchHash();
    changes->events.push_back(std::move(e));
    if (plan.send_confirmation || plan.send_confirmation_request) {
      const QueuedReply& reply = Reply(
          plan.send_confirmation ? ReplyKind::kOptInConfirmation : ReplyKind::kConfirmationRequest,
          number);
      ++tally_.confirmations;
      tally_.segments += reply.segments.segments;
      ++tally_.encodings[EncodingName(reply.segments.encoding)];
      Contact to = contact;
      if (!existing) to.id = 0;
      changes->outbox.push_back(OutboxFor(reply, number, to, now));
    }
    return Status::Ok();
  }

  // An import creates the contact or fills in what the row gives (non-empty name, email and
  // properties replace the stored ones; properties not in the row are kept).
  void PlanImport(const InputRow& r, const ContactStatuses* existing, const Contact& contact,
                  ChangeSet* changes) {
    if (!existing) return;  // created above, with the row's fields
    Contact updated = contact;
    if (!r.fields.name.empty()) updated.name = r.fields.name;
    if (!r.fields.email.empty()) updated.email = r.fields.email;
    json props = json::parse(contact.properties, nullptr, /*allow_exceptions=*/false);
    if (!props.is_object()) props = json::object();
    const std::string stored = props.dump();
    for (const auto& [k, v] : r.fields.properties) props[k] = v;
    updated.properties = props.dump();
    if (updated.name == contact.name && updated.email == contact.email &&
        updated.properties == stored) {
      ++tally_.unchanged;
      return;
    }
    ++tally_.change;
    changes->update_contact = std::move(updated);
  }

  const std::string& BatchHash() {
    if (batch_hash_.empty()) batch_hash_ = Sha256Hex(BatchDocument());
    return batch_hash_;
  }

 public:
  // The evidence every event of the batch shares, kept once (ConsentStore::PutEvidenceBatch):
  // type, batch, job, attestation, legal basis, explanation and actor, as compact JSON.
  const std::string& BatchDocument() {
    if (batch_document_.empty()) {
      json evidence = {{"type", "bulk"},
                       {"batch", ids_.batch},
                       {"attested_express_consent", req_.attestation.express_consent},
                       {"explanation", req_.attestation.explanation},
                       {"actor", req_.actor}};
      if (ids_.job_id) evidence["job"] = ids_.job_id;
      // The uploaded file itself is not kept once the job is done (ConsentStore::ReadJobInput):
      // whoever keeps it can show that it is the one this batch was read from.
      if (!ids_.input_sha256.empty()) evidence["input_sha256"] = ids_.input_sha256;
      evidence["legal_basis"] = req_.attestation.legal_basis
                                    ? json(LegalBasisName(*req_.attestation.legal_basis))
                                    : json(nullptr);
      batch_document_ = evidence.dump();
    }
    return batch_document_;
  }

  // Keeps the batch document of a bulk status change in the account's store, before any of
  // its events; a document kept already (a resumed job) changes nothing.
  Status KeepBatchDocument() {
    if (req_.kind != kJobBulkSubscriptions) return Status::Ok();  // an import writes no events
    return svc_.store_.PutEvidenceBatch(account_.id, BatchHash(), BatchDocument(),
                                        svc_.clock_.NowMs());
  }

 private:
  // The reply of this kind from the number, rendered once per batch.
  const QueuedReply& Reply(ReplyKind kind, const SenderNumber& number) {
    const std::pair<int64_t, ReplyKind> key{number.id, kind};
    auto it = replies_.find(key);
    if (it == replies_.end()) {
      it = replies_.emplace(key, svc_.service_.MakeReply(kind, number)).first;
    }
    return it->second;
  }

  BulkService& svc_;
  Account account_;
  std::vector<SenderNumber> numbers_;
  BulkRequest req_;
  BatchIds ids_;
  int64_t target_id_ = 0;
  ContactQuery query_;
  std::unique_ptr<CsvPullReader> csv_;
  ContactColumns columns_;
  size_t next_id_index_ = 0;
  int64_t filter_after_ = 0;
  int64_t consumed_ = 0;
  std::unordered_set<std::string> seen_;
  std::map<std::pair<int64_t, ReplyKind>, QueuedReply> replies_;
  std::string batch_document_;
  std::string batch_hash_;
  BulkTally tally_;
  // CSV: the next chunk, read and its phones normalised on another thread while the current
  // chunk is planned and committed (phone parsing is the largest part of a row's cost).
  std::future<Result<std::vector<InputRow>>> prefetch_;
};

// ---- the service --------------------------------------------------------------------------

BulkService::BulkService(ConsentService& service, ConsentStore& store, const Clock& clock,
                         Options options)
    : service_(service), store_(store), clock_(clock), options_(options) {}

Result<BulkTally> BulkService::Preview(int64_t account_id, const BulkRequest& req,
                                       const ByteSource& csv) {
  SMSC_ASSIGN_OR_RETURN(auto engine, Engine::Open(*this, account_id, req, {"preview", 0, ""}, csv));
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto rows, engine->ReadChunk(options_.chunk_rows));
    if (rows.empty()) break;
    SMSC_RETURN_IF_ERROR(engine->Plan(rows).status());
  }
  return engine->tally();
}

Result<std::pair<Job, bool>> BulkService::Submit(int64_t account_id, const BulkRequest& req,
                                                 std::string idempotency_key,
                                                 const ByteSource& csv) {
  // The input is buffered once: it is checked (header, row count) and hashed before the job
  // is stored, and stored in chunks inside the job's transaction.
  std::vector<std::string> chunks;
  if (req.csv) {
    std::string buf(kInputChunk, '\0');
    while (true) {
      SMSC_ASSIGN_OR_RETURN(size_t n, csv(buf.data(), buf.size()));
      if (n == 0) break;
      chunks.emplace_back(buf.data(), n);
    }
  }
  // A fresh reader over the buffered chunks each time it is called.
  auto replay = [&chunks]() {
    auto next = std::make_shared<size_t>(0);
    return ChunkSource([&chunks, next]() -> Result<std::optional<std::string>> {
      if (*next >= chunks.size()) return std::optional<std::string>();
      return std::optional<std::string>(chunks[(*next)++]);
    });
  };
  json request = req.ToJson();
  if (idempotency_key.empty()) {
    std::string material = request.dump();
    for (const std::string& c : chunks) material += Sha256Hex(c);
    idempotency_key = "auto-" + Sha256Hex(material);
  }
  SMSC_ASSIGN_OR_RETURN(auto engine, Engine::Open(*this, account_id, req, {}, replay()));
  SMSC_ASSIGN_OR_RETURN(int64_t total, engine->CountRows(replay()));
  request["batch"] = "batch-" + GenerateApiKey().substr(3, 24);
  if (req.csv) request["input_sha256"] = Sha256Hex(chunks);
  Job job;
  job.account_id = account_id;
  job.kind = req.kind;
  job.idempotency_key = idempotency_key;
  job.request = request.dump();
  job.total = total;
  job.cursor = "0";
  job.result = BulkTally().ToJson().dump();
  job.created_at_ms = clock_.NowMs();
  size_t next = 0;
  return store_.CreateJob(job, [&]() -> Result<std::optional<std::string>> {
    if (next >= chunks.size()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(chunks[next++]));
  });
}

Result<std::optional<Job>> BulkService::Run(int64_t job_id, const std::string& owner,
                                            const std::function<void(const Job&)>& progress,
                                            const std::atomic<bool>* stop) {
  SMSC_ASSIGN_OR_RETURN(std::optional<Job> job,
                        store_.ClaimJob(job_id, owner, clock_.NowMs(), options_.lease_ms));
  if (!job) return std::optional<Job>();
  return RunClaimed(std::move(*job), owner, progress, stop);
}

Result<std::optional<Job>> BulkService::RunClaimed(Job job, const std::string& owner,
                                                   const std::function<void(const Job&)>& progress,
                                                   const std::atomic<bool>* stop) {
  auto fail = [&](const Status& why) -> Result<std::optional<Job>> {
    JobProgress p;
    p.job_id = job.id;
    p.lease_owner = owner;
    p.done = job.done;
    p.total = job.total;
    p.cursor = job.cursor;
    p.result = job.result;
    p.finish = JobState::kFailed;
    p.error = why.ToString();
    p.at_ms = clock_.NowMs();
    SMSC_RETURN_IF_ERROR(store_.CommitJobChunk(job.account_id, {}, p).status());
    auto after = store_.GetJob(job.account_id, job.id);
    return std::optional<Job>(after.ok() ? *after : job);
  };
  json request_json = json::parse(job.request, nullptr, /*allow_exceptions=*/false);
  auto req = BulkRequest::FromJson(request_json);
  if (!req.ok()) return fail(req.status());
  BatchIds ids{request_json.value("batch", ""), job.id, request_json.value("input_sha256", "")};
  // The job's stored input, chunk by chunk (read on the engine's reader thread).
  const int64_t job_id = job.id, chunks = job.input_chunks;
  auto next_chunk = std::make_shared<int64_t>(0);
  ByteSource input =
      ChunkSource([this, job_id, chunks, next_chunk]() -> Result<std::optional<std::string>> {
        if (*next_chunk >= chunks) return std::optional<std::string>();
        SMSC_ASSIGN_OR_RETURN(std::string chunk, store_.ReadJobInput(job_id, (*next_chunk)++));
        return std::optional<std::string>(std::move(chunk));
      });
  auto engine = Engine::Open(*this, job.account_id, *req, std::move(ids), input);
  if (!engine.ok()) {
    // The account lost its add-on or the number was removed since the job was queued.
    return fail(engine.status());
  }
  SMSC_RETURN_IF_ERROR((*engine)->Resume(
      job.cursor, job.done, BulkTally::FromJson(json::parse(job.result, nullptr, false))));
  SMSC_RETURN_IF_ERROR((*engine)->KeepBatchDocument());
  while (true) {
    if (stop && stop->load()) return std::optional<Job>(job);
    SMSC_ASSIGN_OR_RETURN(auto rows, (*engine)->ReadChunk(options_.chunk_rows));
    for (int attempt = 1;; ++attempt) {
      SMSC_ASSIGN_OR_RETURN(auto plan, (*engine)->Plan(rows));
      JobProgress p;
      p.job_id = job.id;
      p.lease_owner = owner;
      p.done = job.done + plan.rows;
      p.total = std::max(job.total, p.done);
      p.cursor = (*engine)->Cursor();
      p.result = (*engine)->tally().ToJson().dump();
      p.rejects = plan.rejects;
      p.at_ms = clock_.NowMs();
      p.lease_until_ms = p.at_ms + options_.lease_ms;
      if (rows.empty()) p.finish = JobState::kDone;
      auto committed = store_.CommitJobChunk(job.account_id, plan.changes, p);
      if (committed.ok()) {
        job.done = p.done;
        job.total = p.total;
        job.cursor = p.cursor;
        job.result = p.result;
        job.updated_at_ms = p.at_ms;
        job.lease_until_ms = p.lease_until_ms;
        if (p.finish) {
          job.state = *p.finish;
          job.finished_at_ms = p.at_ms;
        }
        break;
      }
      const StatusCode code = committed.status().code();
      // kAborted: a concurrent change to a status this chunk read, a contact created meanwhile
      // (kNotFound for a contact deleted meanwhile), or the lease lost to another runner.
      SMSC_ASSIGN_OR_RETURN(Job now, store_.GetJob(job.account_id, job.id));
      if (now.lease_owner != owner || now.state != JobState::kRunning) {
        return Status(StatusCode::kAborted,
                      "job " + std::to_string(job.id) + " was taken over by another runner");
      }
      if ((code != StatusCode::kAborted && code != StatusCode::kNotFound &&
           code != StatusCode::kAlreadyExists) ||
          attempt >= kMaxAttempts) {
        return committed.status();
      }
      (*engine)->Undo(plan);
    }
    if (progress) progress(job);
    if (job.state != JobState::kRunning) return std::optional<Job>(job);
  }
}

Result<Job> BulkService::GetJob(int64_t account_id, int64_t job_id) {
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(account_id).status());
  return store_.GetJob(account_id, job_id);
}

Status BulkService::RejectsCsv(int64_t account_id, int64_t job_id,
                               const std::function<Status(std::string_view)>& sink) {
  constexpr int kPage = 1000;
  CsvWriter writer;
  std::string buf;
  writer.AppendRecord({"row", "phone", "reason", "detail"}, &buf);
  int64_t after = 0;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto page, Rejects(account_id, job_id, after, kPage));
    for (const JobReject& r : page) {
      writer.AppendRecord({std::to_string(r.row), r.phone, r.reason, r.detail}, &buf);
      after = r.row;
    }
    SMSC_RETURN_IF_ERROR(sink(buf));
    buf.clear();
    if (static_cast<int>(page.size()) < kPage) return Status::Ok();
  }
}

Result<std::vector<JobReject>> BulkService::Rejects(int64_t account_id, int64_t job_id,
                                                    int64_t after_row, int limit) {
  SMSC_RETURN_IF_ERROR(service_.AccountWithSms(account_id).status());
  return store_.ListJobRejects(account_id, job_id, after_row, limit);
}

}  // namespace smsconsent
