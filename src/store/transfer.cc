#include "store/transfer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "core/consent.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "store/store_rows.h"

namespace smsconsent {
namespace {

struct HeadWalk {
  int64_t seq = 0;
  merkle::CompactRange tree;
};

constexpr ColumnType I = ColumnType::kInt;
constexpr ColumnType B = ColumnType::kBool;
constexpr ColumnType T = ColumnType::kText;
constexpr ColumnType X = ColumnType::kBlob;
constexpr bool kNull = true;

int ColumnIndex(const TransferTable& t, std::string_view name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (name == t.columns[i].name) return static_cast<int>(i);
  }
  return -1;
}

std::string DescribeKey(const TransferTable& t, const TransferRow& row) {
  std::string out = "(";
  for (int i = 0; i < t.key_columns && i < static_cast<int>(row.size()); ++i) {
    if (i > 0) out += ", ";
    out += row[i].value_or("NULL");
  }
  return out + ")";
}

TransferRow KeyOf(const TransferTable& t, const TransferRow& row) {
  return TransferRow(row.begin(), row.begin() + t.key_columns);
}

Result<int64_t> TotalRows(ConsentStore& store) {
  int64_t total = 0;
  for (const TransferTable& t : TransferTables()) {
    SMSC_ASSIGN_OR_RETURN(int64_t n, store.CountRows(t));
    total += n;
  }
  return total;
}

// An events row as the event it stores (the cells CheckTransferRow accepted).
ConsentEvent EventOfRow(const TransferTable& t, const TransferRow& r) {
  auto text = [&](std::string_view name) { return r[ColumnIndex(t, name)].value_or(""); };
  auto integer = [&](std::string_view name) {
    return store_rows::CellInt(r[ColumnIndex(t, name)]);
  };
  auto status = [&](std::string_view name) {
    auto parsed = ParseSubscriptionStatus(text(name));
    return parsed.ok() ? *parsed : SubscriptionStatus::kNotSpecified;
  };
  auto source = ParseSource(text("source"));
  ConsentEvent e;
  e.id = integer("id");
  e.account_id = integer("account_id");
  e.seq = integer("seq");
  e.contact_id = integer("contact_id");
  e.phone = text("phone");
  e.number_id = integer("number_id");
  e.sender = text("sender");
  e.from = status("from_status");
  e.to = status("to_status");
  e.source = source.ok() ? *source : Source::kSystem;
  e.actor = text("actor");
  e.at_ms = integer("at_ms");
  e.evidence = text("evidence");
  e.prev_hash = text("prev_hash");
  e.hash = text("hash");
  e.format = static_cast<int>(integer("format"));
  e.batch_hash = text("batch_hash");
  e.nth = integer("nth");
  return e;
}

// Per account: the highest seq seen and the Merkle tree over the leaves of its numbered events
// (rows come in id order, which is their seq order: SQLite numbers events as it writes them,
// PostgreSQL's integration in id order). An event without a seq yet is not in the tree.
void TrackHeads(const TransferTable& t, const std::vector<TransferRow>& rows,
                std::map<int64_t, HeadWalk>& heads) {
  const int seq = ColumnIndex(t, "seq");
  for (const TransferRow& r : rows) {
    if (!r[seq]) continue;
    const ConsentEvent e = EventOfRow(t, r);
    HeadWalk& h = heads[e.account_id];
    h.seq = std::max(h.seq, e.seq);
    h.tree.Append(EventLeafHash(e));
  }
}

}  // namespace

const std::vector<TransferTable>& TransferTables() {
  // Column lists are the union of the stores' migrations (src/store/sqlite/sqlite_schema.cc,
  // src/store/postgres/pg_store.cc); a table added there must be added here, which
  // tests/store/sqlite_store_test.cc checks.
  // One table per entry with its columns packed reads better than a column per line.
  // clang-format off
  static const std::vector<TransferTable> kTables = {
      {"accounts",
       {{"id", I}, {"name", T}, {"marketing_sms_access", B}, {"sms_short_code", B},
        {"default_region", T}, {"opt_out_scope", T}, {"api_key_hash", T, kNull},
        {"created_at_ms", I}, {"reply_sender", T}, {"quiet_hours", T}},
       1, true},
      {"users",
       {{"id", I}, {"account_id", I}, {"email", T}, {"name", T}, {"role", T},
        {"password_hash", T}, {"created_at_ms", I}, {"updated_at_ms", I}},
       1, true},
      {"sessions",
       {{"token_hash", T}, {"user_id", I}, {"account_id", I}, {"csrf_token", T},
        {"created_at_ms", I}, {"expires_at_ms", I}, {"last_seen_ms", I}},
       1, false},
      {"sender_numbers",
       {{"id", I}, {"account_id", I}, {"kind", T}, {"number", T}, {"country", T},
        {"business_name", T}, {"keywords_json", T}, {"reply_opt_in", T}, {"reply_opt_out", T},
        {"reply_help", T}, {"opt_in_confirmation", B}, {"created_at_ms", I}, {"quiet_hours", T},
        {"opt_out_notice", T}, {"double_opt_in", B}, {"reply_confirmation_request", T},
        {"rate_mmps", I}, {"next_send_at_us", I}, {"frequency_cap", T}},
       1, true},
      {"provider_configs",
       {{"account_id", I}, {"provider", T}, {"settings", T}, {"updated_at_ms", I}},
       2, false},
      {"webhook_nonces",
       {{"account_id", I}, {"provider", T}, {"nonce", T}, {"request_hash", T},
        {"expires_at_ms", I}},
       3, false},
      {"contacts",
       {{"id", I}, {"account_id", I}, {"phone", T}, {"name", T}, {"email", T},
        {"created_at_ms", I}, {"properties", T}},
       1, true},
      {"statuses",
       {{"account_id", I}, {"contact_id", I}, {"number_id", I}, {"status", T},
        {"self_opted_out", B}, {"source", T}, {"updated_at_ms", I}, {"events", I}},
       3, false},
      {"events",
       {{"id", I}, {"account_id", I}, {"seq", I, kNull}, {"contact_id", I}, {"phone", T},
        {"number_id", I}, {"sender", T}, {"from_status", T}, {"to_status", T}, {"source", T},
        {"actor", T}, {"at_ms", I}, {"evidence", T}, {"prev_hash", T}, {"hash", T},
        {"format", I}, {"batch_hash", T}, {"nth", I}},
       1, true},
      {"inbound_messages",
       {{"id", I}, {"account_id", I}, {"provider", T}, {"provider_message_id", T},
        {"from_phone", T}, {"to_number", T}, {"number_id", I, kNull}, {"contact_id", I, kNull},
        {"body", T}, {"received_at_ms", I}, {"decision", T}},
       1, true},
      {"outbox",
       {{"id", I}, {"account_id", I}, {"number_id", I}, {"contact_id", I, kNull},
        {"to_phone", T}, {"from_number", T}, {"body", T}, {"kind", T}, {"state", T},
        {"attempts", I}, {"last_error", T}, {"inbound_id", I, kNull}, {"created_at_ms", I},
        {"next_attempt_at_ms", I}, {"channel", T}, {"provider_message_id", T},
        {"lease_owner", T}, {"lease_until_ms", I}, {"sent_at_ms", I}, {"queued_at_seq", I},
        {"queued_after_event", I}, {"purpose", T}, {"send_at_ms", I}, {"idempotency_key", T},
        {"request_hash", T}, {"notice", I}, {"delivery", T}, {"delivery_error", T},
        {"delivery_updated_at_ms", I}},
       1, true},
      // The Merkle ledger (docs/ledger.md): each account's tree, its stored subtree hashes, the
      // signed heads handed out and the keys that signed them.
      {"ledger_trees",
       {{"account_id", I}, {"size", I}, {"root", X}, {"frontier", X}, {"updated_at_ms", I}},
       1, false},
      {"ledger_nodes", {{"account_id", I}, {"level", I}, {"idx", I}, {"hash", X}}, 3, false},
      {"tree_heads",
       {{"account_id", I}, {"size", I}, {"root", X}, {"at_ms", I}, {"key_id", T},
        {"signature", X}},
       2, false},
      {"ledger_keys", {{"key_id", T}, {"public_key", X}, {"created_at_ms", I}}, 1, false},
      // Bulk changes' shared evidence, which events name by batch_hash; a document is at most
      // kMaxEvidenceBatchBytes (64 KiB): a few dozen at a time.
      {"evidence_batches",
       {{"account_id", I}, {"hash", T}, {"document", T}, {"created_at_ms", I}},
       2, false, 50},
      {"review_items",
       {{"id", I}, {"account_id", I}, {"inbound_id", I}, {"contact_id", I}, {"number_id", I},
        {"rule", T}, {"explanation", T}, {"state", T}, {"created_at_ms", I},
        {"reviewed_by", T}, {"reviewed_at_ms", I}, {"note", T}},
       1, true},
      {"jobs",
       {{"id", I}, {"account_id", I}, {"kind", T}, {"idempotency_key", T}, {"request", T},
        {"state", T}, {"total", I}, {"done", I}, {"cursor", T}, {"result", T}, {"error", T},
        {"lease_owner", T}, {"lease_until_ms", I}, {"input_chunks", I}, {"created_at_ms", I},
        {"updated_at_ms", I}, {"finished_at_ms", I}},
       1, true},
      // A chunk of a job's input is up to 1 MiB (src/app/bulk.cc): a few at a time.
      {"job_inputs", {{"job_id", I}, {"chunk", I}, {"data", X}}, 2, false, 4},
      {"job_rejects",
       {{"job_id", I}, {"row", I}, {"phone", T}, {"reason", T}, {"detail", T}},
       2, false},
  };
  // clang-format on
  return kTables;
}

bool TransferCheck::ok() const {
  if (first_difference) return false;
  for (const TableCount& t : tables) {
    if (t.source_rows != t.target_rows) return false;
  }
  for (const LedgerHead& h : heads) {
    if (!h.same()) return false;
  }
  return true;
}

namespace {

// Integrates every account's ledger of `s` (ConsentStore::IntegrateLedger): afterwards every
// event has its seq. A PostgreSQL store's writers leave that to integration, and a SQLite store
// holds numbered events only. kFailedPrecondition when an account makes no progress (another
// process integrating it, or writers still adding events).
Status IntegrateEveryLedger(ConsentStore& s) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  while (true) {
    SMSC_ASSIGN_OR_RETURN(std::vector<int64_t> accounts, s.AccountsToIntegrate(1000));
    if (accounts.empty()) return Status::Ok();
    for (int64_t id : accounts) {
      SMSC_ASSIGN_OR_RETURN(LedgerTree before, s.GetLedgerTree(id));
      SMSC_ASSIGN_OR_RETURN(LedgerTree after,
                            s.IntegrateLedger(id, store_ledger::kMaxIntegrateEvents, now_ms));
      if (after.size == before.size) {
        return FailedPrecondition("the ledger of account " + std::to_string(id) +
                                  " is being integrated or written by another process; stop "
                                  "the servers that use the source and try again");
      }
    }
  }
}

}  // namespace

Result<int64_t> CopyStore(ConsentStore& from, ConsentStore& to,
                          const TransferProgressFn& progress) {
  // Every event numbered first, so that the copy holds each one with its place in the ledger.
  SMSC_RETURN_IF_ERROR(IntegrateEveryLedger(from));
  SMSC_ASSIGN_OR_RETURN(int64_t total, TotalRows(from));
  SMSC_ASSIGN_OR_RETURN(std::unique_ptr<StoreImport> import, to.BeginImport());
  int64_t done = 0;
  for (const TransferTable& t : TransferTables()) {
    TransferRow after;
    int64_t table_rows = 0;
    while (true) {
      SMSC_ASSIGN_OR_RETURN(std::vector<TransferRow> rows, from.ExportRows(t, after));
      if (rows.empty()) break;
      Status st = import->Insert(t, rows);
      if (!st.ok()) {
        return Status(st.code(), std::string("copying ") + t.name + " (rows after key " +
                                     DescribeKey(t, after) + "): " + st.message());
      }
      after = KeyOf(t, rows.back());
      table_rows += static_cast<int64_t>(rows.size());
      done += static_cast<int64_t>(rows.size());
      if (progress) progress({t.name, table_rows, done, std::max(done, total)});
    }
    if (t.id_counter) {
      SMSC_ASSIGN_OR_RETURN(int64_t last_id, from.LastId(t));
      SMSC_RETURN_IF_ERROR(import->SetLastId(t, last_id));
    }
  }
  SMSC_RETURN_IF_ERROR(import->Commit());
  return done;
}

Result<TransferCheck> CompareStores(ConsentStore& from, ConsentStore& to,
                                    const TransferProgressFn& progress) {
  TransferCheck check;
  // Every table's counts first: the source's sum is the progress total.
  int64_t total = 0;
  for (const TransferTable& t : TransferTables()) {
    TableCount count{t.name};
    SMSC_ASSIGN_OR_RETURN(count.source_rows, from.CountRows(t));
    SMSC_ASSIGN_OR_RETURN(count.target_rows, to.CountRows(t));
    total += count.source_rows;
    check.tables.push_back(std::move(count));
  }
  int64_t done = 0;
  std::map<int64_t, HeadWalk> source_heads, target_heads;
  for (const TransferTable& t : TransferTables()) {
    const bool events = std::string_view(t.name) == "events";
    // Both sides are read from the same key on, so a row missing on one side shows up as a
    // difference at that key rather than shifting every later comparison.
    TransferRow after;
    int64_t table_rows = 0;
    while (true) {
      SMSC_ASSIGN_OR_RETURN(std::vector<TransferRow> a, from.ExportRows(t, after));
      SMSC_ASSIGN_OR_RETURN(std::vector<TransferRow> b, to.ExportRows(t, after));
      if (events) {
        TrackHeads(t, a, source_heads);
        TrackHeads(t, b, target_heads);
      }
      for (size_t i = 0; !check.first_difference && i < std::max(a.size(), b.size()); ++i) {
        if (i >= a.size() || i >= b.size()) {
          const TransferRow& extra = i < a.size() ? a[i] : b[i];
          check.first_difference = std::string(t.name) + ": row with key " + DescribeKey(t, extra) +
                                   " is only in the " + (i < a.size() ? "source" : "target");
          break;
        }
        for (size_t c = 0; c < t.columns.size(); ++c) {
          if (a[i][c] != b[i][c]) {
            check.first_difference = std::string(t.name) + ": row with key " +
                                     DescribeKey(t, a[i]) + " differs in column " +
                                     t.columns[c].name;
            break;
          }
        }
      }
      if (a.empty() && b.empty()) break;
      // Go on after the source's last row (the target's when the source has no more): rows
      // of the target re-read after a difference do not matter, the difference is recorded.
      after = KeyOf(t, a.empty() ? b.back() : a.back());
      if (check.first_difference && a.empty()) break;  // only target rows left: counted
      table_rows += static_cast<int64_t>(a.size());
      done += static_cast<int64_t>(a.size());
      if (progress) progress({t.name, table_rows, done, std::max(done, total)});
    }
  }
  for (const auto& [account, head] : source_heads) {
    LedgerHead h;
    h.account_id = account;
    h.source_seq = head.seq;
    h.source_hash = merkle::ToHex(head.tree.Root());
    auto it = target_heads.find(account);
    if (it != target_heads.end()) {
      h.target_seq = it->second.seq;
      h.target_hash = merkle::ToHex(it->second.tree.Root());
    }
    check.heads.push_back(std::move(h));
  }
  for (const auto& [account, head] : target_heads) {
    if (source_heads.count(account) == 0) {
      LedgerHead h;
      h.account_id = account;
      h.target_seq = head.seq;
      h.target_hash = merkle::ToHex(head.tree.Root());
      check.heads.push_back(std::move(h));
    }
  }
  return check;
}

}  // namespace smsconsent
