// BulkService over a real SQLite store: every skip reason, the preview's message and segment
// counts, jobs (progress, skipped-row report, idempotency, resumption after an interrupted
// runner), imports.
#include "app/bulk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <sstream>

#include "../store/status_shorthands.h"
#include "app/export.h"
#include "app/json_views.h"
#include "app/ledger_service.h"
#include "app/proof.h"
#include "core/csv.h"
#include "core/segments.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;

class BulkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-bulk-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::move(OpenStore((dir_ / "b.db").string())).value();
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    auto acct = svc_->CreateAccount({"Acme", {kAddonMarketingSms, kAddonShortCode}, "US"});
    ASSERT_TRUE(acct.ok()) << acct.status().ToString();
    account_ = acct->account.id;
    long_ = AddNumber("+15551234567", NumberKind::kLongCode);
    short_ = AddNumber("12345", NumberKind::kShortCode);
    BulkService::Options options;
    options.chunk_rows = 10;  // several chunks in every test
    options.lease_ms = 5000;
    bulk_ = std::make_unique<BulkService>(*svc_, *store_, clock_, options);
  }
  void TearDown() override {
    bulk_.reset();
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  SenderNumber AddNumber(const std::string& n, NumberKind kind) {
    NewNumber req;
    req.account_id = account_;
    req.number = n;
    req.kind = kind;
    req.country = "US";
    auto r = svc_->AddNumber(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SenderNumber{};
  }
  BulkRequest OptIn(const std::string& number) {
    BulkRequest r;
    r.number = number;
    r.status = kIn;
    r.attestation = {true, LegalBasis::kConsent, "Signed up at the Aarhus fair, 2026-01-01"};
    r.actor = "user:alice";
    r.csv = true;
    return r;
  }
  // "+1415555" followed by 4 digits.
  static std::string Phone(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "+1415555%04d", i);
    return buf;
  }
  static std::string Csv(int n, int first = 0) {
    std::string s = "phone,name,email,city\n";
    for (int i = first; i < first + n; ++i) {
      s += Phone(i) + ",Person " + std::to_string(i) + ",p" + std::to_string(i) +
           "@example.com,Aarhus\n";
    }
    return s;
  }
  SubscriptionStatus StatusOf(const std::string& phone, const SenderNumber& n) {
    auto r = svc_->ShowStatus(account_, phone);
    if (!r.ok()) return kNone;
    for (const auto& s : *r) {
      if (s.number.id == n.id) return s.state.status;
    }
    return kNone;
  }
  Job RunToEnd(const Job& job, const std::string& owner = "test") {
    auto ran = bulk_->Run(job.id, owner);
    EXPECT_TRUE(ran.ok()) << ran.status().ToString();
    EXPECT_TRUE(ran.ok() && ran->has_value());
    return ran.ok() && *ran ? **ran : Job{};
  }
  // Batch documents kept, in all accounts.
  int64_t BatchDocuments() {
    for (const TransferTable& t : TransferTables()) {
      if (std::string_view(t.name) != "evidence_batches") continue;
      auto n = store_->CountRows(t);
      return n.ok() ? *n : -1;
    }
    return -1;
  }
  int64_t EventCount() {
    EventQuery q;
    q.limit = 100000;
    return static_cast<int64_t>(store_->ListEvents(account_, q)->size());
  }

  fs::path dir_;
  TestClock clock_{kT0};
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> svc_;
  std::unique_ptr<BulkService> bulk_;
  int64_t account_ = 0;
  SenderNumber long_, short_;
};

TEST_F(BulkTest, PreviewCountsEverySkipReasonAndChangesNothing) {
  // A contact who texted STOP on the long code, one already opted in, and one opted out by
  // a user (which a user may reverse).
  ASSERT_TRUE(svc_->ReceiveSms({"test", "m1", Phone(1), "+15551234567", "STOP"}).ok());
  StatusChangeRequest manual;
  manual.account_id = account_;
  manual.phone = Phone(2);
  manual.number = "+15551234567";
  manual.target = kIn;
  manual.attestation = {true, LegalBasis::kConsent, "form"};
  ASSERT_TRUE(svc_->SetStatus(manual).ok());
  manual.phone = Phone(3);
  manual.target = kOut;
  ASSERT_TRUE(svc_->SetStatus(manual).ok());
  const std::string csv = Csv(6) +                          // rows 2-7: phones 0..5
                          Phone(4) + ",again,,\n" +         // duplicate
                          "call me,x,,\n" +                 // invalid phone
                          Phone(7) + ",Sender,,,12345\n" +  // too many fields: bad row
                          "phone_only_missing,,,\n";        // invalid phone
  const int64_t events = EventCount();
  auto t = bulk_->Preview(account_, OptIn("+15551234567"), StringSource(csv));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 10);
  EXPECT_EQ(t->change, 4);                      // phones 0, 3 (user opt-out reversed), 4, 5
  EXPECT_EQ(t->unchanged, 1);                   // phone 2
  EXPECT_EQ(t->created, 3);                     // phones 0, 4, 5 do not exist yet
  EXPECT_EQ(t->skipped[kSkipSelfOptedOut], 1);  // phone 1
  EXPECT_EQ(t->skipped[kSkipDuplicate], 1);
  EXPECT_EQ(t->skipped[kSkipInvalidPhone], 2);
  EXPECT_EQ(t->skipped[kSkipBadRow], 1);
  EXPECT_EQ(t->confirmations, 0);  // a long code without opt-in confirmations
  EXPECT_EQ(EventCount(), events);
  EXPECT_EQ(StatusOf(Phone(0), long_), kNone);
  EXPECT_FALSE(store_->FindContactByPhone(account_, Phone(0)).ok());
}

TEST_F(BulkTest, PreviewCountsConfirmationSegmentsInGsm7AndUcs2) {
  auto preview = [&](const std::string& reply) {
    NumberUpdate u;
    u.reply_opt_in = reply;
    EXPECT_TRUE(svc_->UpdateNumber(account_, short_.id, u).ok());
    auto t = bulk_->Preview(account_, OptIn("12345"), StringSource(Csv(3)));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : BulkTally{};
  };
  // The business name is substituted before counting: "{business}" -> "Acme".
  const std::string gsm_single = "{business}: you are subscribed. Reply STOP to opt out.";
  BulkTally t = preview(gsm_single);
  EXPECT_EQ(t.confirmations, 3);
  EXPECT_EQ(t.segments, 3);
  EXPECT_EQ(t.encodings["gsm7"], 3);
  // 200 GSM-7 characters: two parts each.
  t = preview(std::string(200, 'a'));
  EXPECT_EQ(t.segments, 6);
  EXPECT_EQ(CountSegments(std::string(200, 'a')).segments, 2);
  // One character outside GSM-7 makes it UCS-2: 60 characters fit one part...
  t = preview("Tilmeldt ✓ " + std::string(49, 'x'));
  EXPECT_EQ(t.encodings["ucs2"], 3);
  EXPECT_EQ(t.segments, 3);
  // ... 71 do not (67 per part when split).
  t = preview("Tilmeldt ✓ " + std::string(60, 'x'));
  EXPECT_EQ(t.encodings["ucs2"], 3);
  EXPECT_EQ(t.segments, 6);
}

TEST_F(BulkTest, ApplyWritesOneBatchWithEvidenceAndQueuesConfirmations) {
  auto submitted = bulk_->Submit(account_, OptIn("12345"), "k1", StringSource(Csv(25)));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  EXPECT_TRUE(submitted->second);
  EXPECT_EQ(submitted->first.total, 25);
  EXPECT_EQ(submitted->first.state, JobState::kQueued);
  std::vector<int64_t> progress;
  auto ran =
      bulk_->Run(submitted->first.id, "w", [&](const Job& j) { progress.push_back(j.done); });
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  const Job job = **ran;
  EXPECT_EQ(job.state, JobState::kDone);
  EXPECT_EQ(job.done, 25);
  EXPECT_EQ(progress, (std::vector<int64_t>{10, 20, 25, 25}));
  BulkTally t = BulkTally::FromJson(json::parse(job.result));
  EXPECT_EQ(t.change, 25);
  EXPECT_EQ(t.created, 25);
  EXPECT_EQ(t.confirmations, 25);

  const std::string batch = json::parse(job.request)["batch"];
  EXPECT_THAT(batch, testing::StartsWith("batch-"));
  // The batch's evidence is kept once, as a document each event names by its hash; an event
  // holds only its row.
  EXPECT_EQ(BatchDocuments(), 1);
  EventQuery q;
  q.limit = 1000;
  auto events = store_->ListEvents(account_, q);
  ASSERT_EQ(events->size(), 25u);
  const std::string hash = events->front().batch_hash;
  ASSERT_EQ(hash.size(), 64u);
  auto kept = store_->GetEvidenceBatches(account_, {hash});
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->count(hash), 1u);
  const std::string& text = kept->at(hash);
  EXPECT_EQ(Sha256Hex(text), hash);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["type"], "bulk");
  EXPECT_EQ(doc["batch"], batch);
  EXPECT_EQ(doc["job"], job.id);
  EXPECT_EQ(doc["legal_basis"], "consent");
  EXPECT_EQ(doc["attested_express_consent"], true);
  EXPECT_EQ(doc["explanation"], "Signed up at the Aarhus fair, 2026-01-01");
  EXPECT_EQ(doc["actor"], "user:alice");
  // The uploaded CSV is not kept once the job is done; its digest in the document ties the
  // file its sender keeps to the batch.
  EXPECT_EQ(doc["input_sha256"], Sha256Hex(Csv(25)));
  EXPECT_EQ(store_->ReadJobInput(job.id, 0).status().code(), StatusCode::kNotFound);
  int64_t row = 1;  // the CSV's header line
  for (const ConsentEvent& e : *events) {
    EXPECT_EQ(e.source, Source::kBulk);
    EXPECT_EQ(e.actor, "user:alice");
    EXPECT_EQ(e.batch_hash, hash);
    EXPECT_EQ(e.evidence, "{\"row\":" + std::to_string(++row) + "}");
  }
  // Whoever reads a contact's history sees the whole evidence: the batch's and the row.
  auto seven = store_->FindContactByPhone(account_, Phone(7));
  ASSERT_TRUE(seven.ok());
  auto history = svc_->ContactHistory(account_, seven->id);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 1u);
  const json shown = ToJson(history->front())["evidence"];
  EXPECT_EQ(shown["explanation"], "Signed up at the Aarhus fair, 2026-01-01");
  EXPECT_EQ(shown["legal_basis"], "consent");
  EXPECT_EQ(shown["batch"], batch);
  EXPECT_EQ(shown["row"], 9);
  OutboxQuery oq;
  oq.limit = 100;
  EXPECT_EQ(store_->ListOutbox(account_, oq)->size(), 25u);
  auto contact = store_->FindContactByPhone(account_, Phone(7));
  ASSERT_TRUE(contact.ok());
  EXPECT_EQ(contact->name, "Person 7");
  EXPECT_EQ(contact->email, "p7@example.com");
  EXPECT_EQ(json::parse(contact->properties), json({{"city", "Aarhus"}}));
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok());
  EXPECT_EQ(check->batches_checked, 1);
}

// `ledger verify` checks that every batch document an event names is kept and hashes to its
// name: a document changed behind the store's back (its trigger dropped) fails the check.
TEST_F(BulkTest, AChangedBatchDocumentFailsTheLedgerCheck) {
  auto submitted = bulk_->Submit(account_, OptIn("+15551234567"), "k", StringSource(Csv(3)));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  RunToEnd(submitted->first);
  ASSERT_TRUE(svc_->VerifyLedger(account_)->ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "b.db").string().c_str(), &db), SQLITE_OK);
  // Kept documents are never changed...
  EXPECT_NE(
      sqlite3_exec(db, "UPDATE evidence_batches SET document = '{}'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM evidence_batches", nullptr, nullptr, nullptr), SQLITE_OK);
  // ... unless someone lifts the rule.
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER evidence_batches_unchangeable; UPDATE evidence_batches SET "
                         "document = replace(document, 'Aarhus', 'Odense')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_FALSE(check->ok());
  EXPECT_THAT(check->chain_failure.value_or(""), HasSubstr("does not hash to its name"));
  EXPECT_EQ(check->failed_seq.value_or(0), 1);
  // A contact's proof says so too (and carries the document as stored, which a verifier
  // refuses).
  SigningKey key = std::move(SigningKey::Generate()).value();
  LedgerService ledger(*store_, clock_, key);
  ASSERT_TRUE(ledger.RegisterKey().ok());
  ProofSubject subject;
  subject.phone = Phone(1);
  auto proof = BuildConsentProof(*svc_, *store_, ledger, clock_, account_, subject);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_FALSE(proof->ledger.ok);
  EXPECT_THAT(proof->ledger.failure.value_or(""), HasSubstr("does not hash to its name"));
  ASSERT_EQ(proof->batches.size(), 1u);
  EXPECT_THAT(proof->batches.begin()->second, HasSubstr("Odense"));
}

// The ledger export carries each bulk event's batch document beside it: verbatim in CSV (its
// SHA-256 is the event's batch_hash), and in JSONL also merged into the evidence shown.
TEST_F(BulkTest, TheLedgerExportCarriesTheBatchDocumentBesideEachEvent) {
  auto submitted = bulk_->Submit(account_, OptIn("+15551234567"), "k", StringSource(Csv(3)));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  RunToEnd(submitted->first);
  auto export_as = [&](ExportFormat format) {
    ExportOptions o;
    o.format = format;
    o.protect_formulas = false;
    std::string out;
    auto r = ExportLedger(*svc_, *store_, account_, o, [&](std::string_view c) {
      out.append(c);
      return Status::Ok();
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return out;
  };
  std::vector<std::vector<std::string>> rows;
  CsvReader reader;
  auto take = [&](const CsvRecord& r) {
    rows.emplace_back(r.fields.begin(), r.fields.end());
    return true;
  };
  reader.Feed(export_as(ExportFormat::kCsv), take);
  reader.Finish(take);
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_EQ(rows[0].size(), 21u);
  EXPECT_EQ(rows[0][13], "evidence");
  EXPECT_EQ(rows[0][18], "batch_hash");
  EXPECT_EQ(rows[0][20], "batch");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][13], "{\"row\":" + std::to_string(i + 1) + "}");
    EXPECT_EQ(Sha256Hex(rows[i][20]), rows[i][18]);
    EXPECT_EQ(json::parse(rows[i][20])["explanation"], "Signed up at the Aarhus fair, 2026-01-01");
  }
  std::istringstream lines(export_as(ExportFormat::kJsonl));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const json j = json::parse(line);
    ++n;
    EXPECT_EQ(j["evidence_text"], "{\"row\":" + std::to_string(n + 1) + "}");
    EXPECT_EQ(j["evidence"]["row"], n + 1);
    EXPECT_EQ(j["evidence"]["explanation"], "Signed up at the Aarhus fair, 2026-01-01");
    EXPECT_EQ(j["evidence"]["legal_basis"], "consent");
    EXPECT_EQ(Sha256Hex(j["batch"].get<std::string>()), j["batch_hash"]);
  }
  EXPECT_EQ(n, 3);
}

TEST_F(BulkTest, TheSameRequestTwiceIsOneJob) {
  auto first = bulk_->Submit(account_, OptIn("+15551234567"), "", StringSource(Csv(5)));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  RunToEnd(first->first);
  auto again = bulk_->Submit(account_, OptIn("+15551234567"), "", StringSource(Csv(5)));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first.id, first->first.id);
  EXPECT_EQ(again->first.state, JobState::kDone);
  EXPECT_EQ(EventCount(), 5);
  // A different file is a different job; an explicit key wins over the content.
  auto other = bulk_->Submit(account_, OptIn("+15551234567"), "", StringSource(Csv(6)));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->second);
  auto keyed = bulk_->Submit(account_, OptIn("+15551234567"), "mine", StringSource(Csv(1)));
  auto keyed_again = bulk_->Submit(account_, OptIn("+15551234567"), "mine", StringSource(Csv(9)));
  ASSERT_TRUE(keyed.ok() && keyed_again.ok());
  EXPECT_EQ(keyed->first.id, keyed_again->first.id);
}

TEST_F(BulkTest, AnInterruptedJobResumesExactlyWhereItStopped) {
  const std::string csv = Csv(45) + Phone(3) + ",dup,,\n";  // a duplicate of an early row
  auto submitted = bulk_->Submit(account_, OptIn("12345"), "k", StringSource(csv));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  // The first runner stops after two chunks (as if killed between two commits).
  std::atomic<bool> stop{false};
  int chunks = 0;
  auto ran = bulk_->Run(
      submitted->first.id, "dies", [&](const Job&) { stop = ++chunks == 2; }, &stop);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  Job mid = *bulk_->GetJob(account_, submitted->first.id);
  EXPECT_EQ(mid.state, JobState::kRunning);
  EXPECT_EQ(mid.done, 20);
  EXPECT_EQ(EventCount(), 20);  // exactly what it reports
  // Nobody else may take it while the lease holds...
  EXPECT_FALSE(bulk_->Run(mid.id, "other")->has_value());
  // ... and once it expired, another runner finishes it.
  clock_.Advance(6000);
  Job done = RunToEnd(mid, "other");
  EXPECT_EQ(done.state, JobState::kDone);
  EXPECT_EQ(done.done, 46);
  BulkTally t = BulkTally::FromJson(json::parse(done.result));
  EXPECT_EQ(t.change, 45);
  EXPECT_EQ(t.confirmations, 45);
  EXPECT_EQ(t.skipped[kSkipDuplicate], 1);  // recognised across the interruption
  EXPECT_EQ(EventCount(), 45);
  OutboxQuery oq;
  oq.limit = 100;
  EXPECT_EQ(store_->ListOutbox(account_, oq)->size(), 45u);
  auto rejects = bulk_->Rejects(account_, done.id, 0, 10);
  ASSERT_TRUE(rejects.ok());
  ASSERT_EQ(rejects->size(), 1u);
  EXPECT_EQ((*rejects)[0].row, 47);  // its line in the file
  EXPECT_EQ((*rejects)[0].reason, kSkipDuplicate);
  EXPECT_TRUE(svc_->VerifyLedger(account_)->ok());
  EXPECT_EQ(BatchDocuments(), 1);  // kept again by the second runner: the same one
}

TEST_F(BulkTest, AStopBetweenSubmitAndRunIsRespected) {
  // A contact texts STOP after the job was submitted: the job must not opt them back in.
  auto submitted = bulk_->Submit(account_, OptIn("+15551234567"), "k", StringSource(Csv(3)));
  ASSERT_TRUE(submitted.ok());
  ASSERT_TRUE(svc_->ReceiveSms({"test", "m1", Phone(1), "+15551234567", "STOP"}).ok());
  Job done = RunToEnd(submitted->first);
  BulkTally t = BulkTally::FromJson(json::parse(done.result));
  EXPECT_EQ(t.change, 2);
  EXPECT_EQ(t.skipped[kSkipSelfOptedOut], 1);
  EXPECT_EQ(StatusOf(Phone(1), long_), kOut);
}

TEST_F(BulkTest, AnOptOutRecordedOnTheContactsBehalfIsNotReversed) {
  // Staff record that the contact called and asked to stop: a later bulk opt-in skips them
  // like a contact who texted STOP.
  ContactOptOutRequest req;
  req.account_id = account_;
  req.phone = Phone(1);
  req.number = "+15551234567";
  req.channel = "phone";
  req.explanation = "Customer called and asked us to stop";
  req.actor = "user:alice";
  ASSERT_TRUE(svc_->RecordContactOptOut(req).ok());
  auto preview = bulk_->Preview(account_, OptIn("+15551234567"), StringSource(Csv(3)));
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  EXPECT_EQ(preview->skipped[kSkipSelfOptedOut], 1);
  auto submitted = bulk_->Submit(account_, OptIn("+15551234567"), "k", StringSource(Csv(3)));
  ASSERT_TRUE(submitted.ok());
  Job done = RunToEnd(submitted->first);
  BulkTally t = BulkTally::FromJson(json::parse(done.result));
  EXPECT_EQ(t.change, 2);
  EXPECT_EQ(t.skipped[kSkipSelfOptedOut], 1);
  EXPECT_EQ(StatusOf(Phone(1), long_), kOut);
}

TEST_F(BulkTest, SelectionByIdsAndByFilter) {
  ASSERT_TRUE(
      RunToEnd(bulk_->Submit(account_, OptIn("+15551234567"), "", StringSource(Csv(12)))->first)
          .state == JobState::kDone);
  // Opt out by a user, selected by filter: status on the long code and a property.
  BulkRequest out;
  out.number = "+15551234567";
  out.status = kOut;
  out.actor = "user:bob";
  out.filter = "number=+15551234567 status=opted_in prop.city=Aarhus";
  auto t = bulk_->Preview(account_, out, {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->change, 12);
  Job done = RunToEnd(bulk_->Submit(account_, out, "", {})->first);
  EXPECT_EQ(BulkTally::FromJson(json::parse(done.result)).change, 12);
  EXPECT_EQ(StatusOf(Phone(0), long_), kOut);
  // A user's opt-out can be reversed by a user, by ids (unknown and repeated ids skipped).
  const int64_t id0 = store_->FindContactByPhone(account_, Phone(0))->id;
  BulkRequest back = OptIn("+15551234567");
  back.csv = false;
  back.ids = {id0, 999999, id0};
  done = RunToEnd(bulk_->Submit(account_, back, "", {})->first);
  const BulkTally tb = BulkTally::FromJson(json::parse(done.result));
  EXPECT_EQ(tb.change, 1);
  EXPECT_EQ(tb.skipped.at(kSkipUnknownContact), 1);
  EXPECT_EQ(tb.skipped.at(kSkipDuplicate), 1);
  EXPECT_EQ(StatusOf(Phone(0), long_), kIn);
  // "not specified" in bulk.
  BulkRequest clear;
  clear.number = "+15551234567";
  clear.status = kNone;
  clear.filter = "number=+15551234567 status=opted_out";
  done = RunToEnd(bulk_->Submit(account_, clear, "", {})->first);
  EXPECT_EQ(BulkTally::FromJson(json::parse(done.result)).change, 11);
}

TEST_F(BulkTest, BadRequestsAreRefusedBeforeAnythingIsStored) {
  BulkRequest r = OptIn("+15551234567");
  r.attestation.express_consent = false;
  EXPECT_EQ(bulk_->Submit(account_, r, "", StringSource(Csv(2))).status().code(),
            StatusCode::kInvalidArgument);
  r = OptIn("+15551234567");
  r.attestation.legal_basis.reset();
  EXPECT_EQ(bulk_->Preview(account_, r, StringSource(Csv(2))).status().code(),
            StatusCode::kInvalidArgument);
  r = OptIn("+19999999999");
  EXPECT_EQ(bulk_->Submit(account_, r, "", StringSource(Csv(2))).status().code(),
            StatusCode::kNotFound);
  r = OptIn("+15551234567");
  auto no_phone = bulk_->Submit(account_, r, "", StringSource("name,email\nA,a@x\n"));
  EXPECT_EQ(no_phone.status().code(), StatusCode::kInvalidArgument);
  r.filter = "status=opted_in";  // two selections
  EXPECT_EQ(bulk_->Submit(account_, r, "", StringSource(Csv(2))).status().code(),
            StatusCode::kInvalidArgument);
  // Evidence larger than a batch document may hold (docs/limits.md).
  r = OptIn("+15551234567");
  r.attestation.explanation = std::string(kMaxEvidenceBatchBytes, 'x');
  auto too_long = bulk_->Submit(account_, r, "", StringSource(Csv(2)));
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), HasSubstr("explanation"));
  EXPECT_EQ(bulk_->Preview(account_, r, StringSource(Csv(2))).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchDocuments(), 0);
  // Without the add-on nothing is possible.
  auto other = svc_->CreateAccount({"NoSms", {}, "US"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(bulk_->Preview(other->account.id, OptIn("+15551234567"), StringSource(Csv(1)))
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(EventCount(), 0);
}

TEST_F(BulkTest, UnknownSenderColumnIsSkippedPerRow) {
  const std::string csv =
      "phone,sender\n" + Phone(1) + ",12345\n" + Phone(2) + ",+15550000000\n" + Phone(3) + ",\n";
  auto t = bulk_->Preview(account_, OptIn("+15551234567"), StringSource(csv));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->change, 2);
  EXPECT_EQ(t->confirmations, 1);  // the short code row
  EXPECT_EQ(t->skipped[kSkipUnknownNumber], 1);
}

TEST_F(BulkTest, ImportCreatesAndUpdatesContacts) {
  ASSERT_TRUE(svc_->ReceiveSms({"test", "m1", Phone(1), "+15551234567", "HELP"}).ok());
  BulkRequest imp;
  imp.kind = kJobImportContacts;
  imp.csv = true;
  const std::string csv = "Phone Number,First Name,Last Name,City\n" + Phone(1) +
                          ",Ann,Berg,Aarhus\n" + Phone(2) + ",Bo,Dahl,Odense\n" + Phone(2) +
                          ",again,,\nxyz,,,\n";
  auto submitted = bulk_->Submit(account_, imp, "", StringSource(csv));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  Job done = RunToEnd(submitted->first);
  BulkTally t = BulkTally::FromJson(json::parse(done.result));
  EXPECT_EQ(t.created, 1);
  EXPECT_EQ(t.change, 1);  // Phone(1) updated
  EXPECT_EQ(t.skipped[kSkipDuplicate], 1);
  EXPECT_EQ(t.skipped[kSkipInvalidPhone], 1);
  auto ann = store_->FindContactByPhone(account_, Phone(1));
  ASSERT_TRUE(ann.ok());
  EXPECT_EQ(ann->name, "Ann Berg");
  EXPECT_EQ(json::parse(ann->properties)["city"], "Aarhus");
  EXPECT_EQ(EventCount(), 0);  // an import never changes consent
}

TEST_F(BulkTest, OnANumberWithDoubleOptInABulkOptInAsksEveryContactToConfirm) {
  NumberUpdate u;
  u.double_opt_in = true;
  ASSERT_TRUE(svc_->UpdateNumber(account_, long_.id, u).ok());
  auto submitted = bulk_->Submit(account_, OptIn("+15551234567"), "doi", StringSource(Csv(12)));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  const Job job = RunToEnd(submitted->first);
  EXPECT_EQ(job.state, JobState::kDone);
  BulkTally t = BulkTally::FromJson(json::parse(job.result));
  EXPECT_EQ(t.change, 12);
  EXPECT_EQ(t.confirmations, 12);  // the requests to confirm
  EXPECT_EQ(StatusOf(Phone(0), long_), SubscriptionStatus::kPendingConfirmation);
  OutboxQuery q;
  q.limit = 100;
  auto queued = store_->ListOutbox(account_, q);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  ASSERT_EQ(queued->size(), 12u);
  for (const OutboxItem& o : *queued) {
    EXPECT_EQ(o.kind, ReplyKind::kConfirmationRequest);
    EXPECT_THAT(o.body, HasSubstr("Reply YES to confirm"));
  }
}

}  // namespace
}  // namespace smsconsent
