// Statuses and ledger exports over a real SQLite store with a settable fake clock.
#include "app/export.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/contact_filter.h"
#include "core/csv.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  CsvReader reader;
  auto cb = [&](const CsvRecord& r) {
    EXPECT_TRUE(r.ok()) << r.error.ToString();
    rows.emplace_back(r.fields.begin(), r.fields.end());
    return true;
  };
  reader.Feed(text, cb);
  reader.Finish(cb);
  return rows;
}

std::vector<json> ParseJsonl(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(j.is_object()) << line;
    out.push_back(j);
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-export-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "export.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    account_ = MakeAccount("Acme", true);
    long_ = Number(account_, "+15551234567", NumberKind::kLongCode);
    short_ = Number(account_, "12345", NumberKind::kShortCode);
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  int64_t MakeAccount(const std::string& name, bool sms) {
    smsconsent::NewAccount req{name, {}, "US"};
    if (sms) req.addons = {kAddonMarketingSms, kAddonShortCode};
    auto a = svc_->CreateAccount(req);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->account.id : 0;
  }
  SenderNumber Number(int64_t account, const std::string& n, NumberKind kind) {
    NewNumber req;
    req.account_id = account;
    req.number = n;
    req.kind = kind;
    req.country = "US";
    auto r = svc_->AddNumber(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SenderNumber{};
  }
  void Receive(const std::string& from, const std::string& to, const std::string& body) {
    auto r = svc_->ReceiveSms({"test", "", from, to, body});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void OptIn(const std::string& phone, const std::string& number, int64_t account = 0) {
    StatusChangeRequest req;
    req.account_id = account ? account : account_;
    req.phone = phone;
    req.number = number;
    req.target = SubscriptionStatus::kOptedIn;
    req.actor = "user:alice";
    req.attestation = {true, LegalBasis::kConsent, "Web form, double opt-in"};
    auto r = svc_->SetStatus(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void AddContact(const std::string& phone, const std::string& name,
                  const std::string& email = "") {
    auto c = svc_->AddContact(account_, phone, name, email);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
  }

  // The usual data: A texts START to the long code; B is opted in by a user on the short code;
  // C was never set anywhere.
  void Populate() {
    clock_.Set(kT0 + 1000);
    Receive("+14155550001", "+15551234567", "START");
    clock_.Set(kT0 + 86'400'000);  // 2026-01-02
    OptIn("+14155550002", "12345");
    clock_.Set(kT0 + 2 * 86'400'000);  // 2026-01-03
    AddContact("+14155550003", "Carol");
  }

  Result<std::string> Statuses(ExportOptions o = {}, int64_t account = 0) {
    std::string out;
    auto r =
        ExportStatuses(*svc_, *store_, account ? account : account_, o, [&](std::string_view c) {
          out.append(c);
          return Status::Ok();
        });
    if (!r.ok()) return r.status();
    return out;
  }
  Result<std::string> Ledger(ExportOptions o = {}, int64_t account = 0) {
    std::string out;
    auto r = ExportLedger(*svc_, *store_, account ? account : account_, o, [&](std::string_view c) {
      out.append(c);
      return Status::Ok();
    });
    if (!r.ok()) return r.status();
    return out;
  }

  fs::path dir_;
  TestClock clock_{kT0};  // stands still until Set
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> svc_;
  int64_t account_ = 0;
  SenderNumber long_, short_;
};

TEST_F(ExportTest, StatusesCsvHasOneRowPerContactAndNumber) {
  Populate();
  ExportOptions o;
  o.protect_formulas = false;
  auto csv = Statuses(o);
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  auto rows = ParseCsv(*csv);
  ASSERT_EQ(rows.size(), 1u + 3 * 2);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"contact_id", "phone", "name", "email", "number_id",
                                               "number", "status", "since", "source",
                                               "self_opted_out", "properties"}));
  // Ordered by contact, then number id (long code registered first).
  EXPECT_EQ(rows[1][1], "+14155550001");
  EXPECT_EQ(rows[1][5], "+15551234567");
  EXPECT_EQ(rows[1][6], "opted_in");
  EXPECT_EQ(rows[1][7], "2026-01-01T00:00:01.000Z");
  EXPECT_EQ(rows[1][8], "keyword");
  EXPECT_EQ(rows[2][5], "12345");
  EXPECT_EQ(rows[2][6], "not_specified");
  EXPECT_EQ(rows[2][7], "");  // never set: no since, no source
  EXPECT_EQ(rows[2][8], "");
  EXPECT_EQ(rows[4][1], "+14155550002");
  EXPECT_EQ(rows[4][6], "opted_in");
  EXPECT_EQ(rows[4][8], "manual");
  EXPECT_EQ(rows[6][2], "Carol");
  EXPECT_EQ(rows[6][10], "{}");
  EXPECT_NE(csv->find("\r\n"), std::string::npos);  // RFC 4180 line ends
}

TEST_F(ExportTest, StatusFilterFindsNeverSetPairsAsNotSpecified) {
  Populate();
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  o.filter.status = SubscriptionStatus::kNotSpecified;
  auto all = Statuses(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  auto lines = ParseJsonl(*all);
  ASSERT_EQ(lines.size(), 4u);  // A on the short code, B on the long code, C on both
  for (const json& j : lines) {
    EXPECT_EQ(j["status"], "not_specified");
    EXPECT_TRUE(j["since"].is_null());
  }
  // With a number, the store's own filter selects them.
  o.filter.number = "12345";
  lines = ParseJsonl(*Statuses(o));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["phone"], "+14155550001");
  EXPECT_EQ(lines[1]["phone"], "+14155550003");
}

TEST_F(ExportTest, NumberAndStatusFilter) {
  Populate();
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  o.filter.number = "+15551234567";
  o.filter.status = SubscriptionStatus::kOptedIn;
  auto lines = ParseJsonl(*Statuses(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["phone"], "+14155550001");
  EXPECT_EQ(lines[0]["number"], "+15551234567");
  EXPECT_EQ(lines[0]["number_id"], long_.id);
  EXPECT_TRUE(lines[0]["properties"].is_object());
  // Only the number: every contact once.
  o.filter.status.reset();
  EXPECT_EQ(ParseJsonl(*Statuses(o)).size(), 3u);
}

TEST_F(ExportTest, NumberByIdOrAnyFormatAndUnknownNumberIsNotFound) {
  Populate();
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  for (const std::string& n :
       {std::to_string(long_.id), std::string("(555) 123-4567"), std::string("+1 555 123 4567")}) {
    o.filter.number = n;
    auto out = Statuses(o);
    ASSERT_TRUE(out.ok()) << n << ": " << out.status().ToString();
    for (const json& j : ParseJsonl(*out)) EXPECT_EQ(j["number"], "+15551234567") << n;
  }
  o.filter.number = "+15559999999";
  EXPECT_EQ(Statuses(o).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ledger(o).status().code(), StatusCode::kNotFound);
}

TEST_F(ExportTest, CsvQuotingAndFormulaProtection) {
  AddContact("+14155550009", "=HYPERLINK(\"http://evil\",\"x\")");
  AddContact("+14155550010", "Smith, \"Bob\"\nJr", "@bob");
  ExportOptions o;
  o.filter.number = "+15551234567";
  auto csv = Statuses(o);
  ASSERT_TRUE(csv.ok());
  // The raw text: quoted, quotes doubled, the formula defused with an apostrophe.
  EXPECT_NE(csv->find("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""), std::string::npos) << *csv;
  EXPECT_NE(csv->find("\"Smith, \"\"Bob\"\"\nJr\""), std::string::npos) << *csv;
  auto rows = ParseCsv(*csv);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][1], "'+14155550009");  // a phone starts with '+', so it is guarded too
  EXPECT_EQ(rows[1][2], "'=HYPERLINK(\"http://evil\",\"x\")");
  EXPECT_EQ(rows[2][2], "Smith, \"Bob\"\nJr");
  EXPECT_EQ(rows[2][3], "'@bob");
  // For programs, the guard can be turned off.
  o.protect_formulas = false;
  rows = ParseCsv(*Statuses(o));
  EXPECT_EQ(rows[1][1], "+14155550009");
  EXPECT_EQ(rows[1][2], "=HYPERLINK(\"http://evil\",\"x\")");
}

TEST_F(ExportTest, StatusesCarryContactProperties) {
  Contact c;
  c.account_id = account_;
  c.phone = "+14155550042";
  c.name = "Dora";
  c.properties = R"({"city":"Aarhus","customer_no":"=1+2"})";
  ASSERT_TRUE(store_->AddContact(c).ok());
  ExportOptions o;
  o.filter.number = "12345";
  auto rows = ParseCsv(*Statuses(o));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][10], R"({"city":"Aarhus","customer_no":"=1+2"})");  // JSON text, one column
  o.format = ExportFormat::kJsonl;
  auto lines = ParseJsonl(*Statuses(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["properties"], json({{"city", "Aarhus"}, {"customer_no", "=1+2"}}));
}

TEST_F(ExportTest, LedgerJsonlLinesAreValidAndRecomputeTheirLeafHashes) {
  Populate();
  Receive("+14155550001", "+15551234567", "STOP");
  Receive("+14155550001", "+15551234567", "Please stop texting me, \"thanks\"\n<b>bye</b>");
  // Export what the tree covers, so that the lines can be checked against its root.
  auto tree = store_->IntegrateLedger(account_, 1000, clock_.NowMs());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  auto out = Ledger(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto lines = ParseJsonl(*out);
  ASSERT_GE(lines.size(), 3u);
  ASSERT_EQ(tree->size, static_cast<int64_t>(lines.size()));
  std::map<std::pair<int64_t, int64_t>, int64_t> pair_events;
  std::vector<merkle::Hash> leaves;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& j = lines[i];
    EXPECT_EQ(j["seq"], static_cast<int64_t>(i + 1));
    // Everything a third party needs to recompute the leaf is in the line.
    ConsentEvent e;
    e.account_id = j["account"];
    e.seq = j["seq"];
    e.contact_id = j["contact_id"];
    e.phone = j["phone"];
    e.number_id = j["number_id"];
    e.sender = j["number"];
    e.from = *ParseSubscriptionStatus(j["from"].get<std::string>());
    e.to = *ParseSubscriptionStatus(j["to"].get<std::string>());
    e.source = *ParseSource(j["source"].get<std::string>());
    e.actor = j["actor"];
    e.at_ms = j["at_ms"];
    e.evidence = j["evidence_text"];
    e.prev_hash = j["prev_hash"];
    e.format = j["format"];
    e.nth = j["nth"];
    e.batch_hash = j["batch_hash"];
    // Events written now are tree leaves only: no chain, numbered per (contact, number).
    EXPECT_EQ(e.format, 2) << j.dump();
    EXPECT_EQ(j["prev_hash"], "") << j.dump();
    EXPECT_EQ(j["hash"], "") << j.dump();
    const int64_t nth = ++pair_events[std::make_pair(e.contact_id, e.number_id)];
    EXPECT_EQ(e.nth, nth) << j.dump();
    EXPECT_EQ(merkle::ToHex(merkle::LeafHash(CanonicalEventEncodingV2(e))), j["leaf_hash"])
        << j.dump();
    leaves.push_back(EventLeafHash(e));
    EXPECT_TRUE(j["evidence"].is_object());
    EXPECT_EQ(j["at"], FormatTimestampMs(e.at_ms));
  }
  // The recomputed leaves are the account's tree.
  EXPECT_EQ(merkle::RootOf(leaves), tree->root);
}

TEST_F(ExportTest, LedgerCsvCarriesEvidenceVerbatim) {
  Populate();
  ExportOptions o;
  o.protect_formulas = false;
  auto rows = ParseCsv(*Ledger(o));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].front(), "seq");
  EXPECT_EQ(rows[0][13], "evidence");
  auto events = store_->ListEvents(account_, {});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const ConsentEvent& e = (*events)[i];
    EXPECT_EQ(rows[i + 1][0], std::to_string(e.seq));
    EXPECT_EQ(rows[i + 1][13], e.evidence);
    EXPECT_EQ(rows[i + 1][14], e.prev_hash);
    EXPECT_EQ(rows[i + 1][15], e.hash);
    EXPECT_EQ(rows[i + 1][16], std::to_string(e.format));
    EXPECT_EQ(rows[i + 1][17], std::to_string(e.nth));
    EXPECT_EQ(rows[i + 1][18], e.batch_hash);
    EXPECT_EQ(rows[i + 1][19], merkle::ToHex(EventLeafHash(e)));
  }
}

TEST_F(ExportTest, LedgerFiltersByNumberAndStatus) {
  Populate();
  Receive("+14155550003", "12345", "STOP");
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  o.filter.number = "12345";
  auto lines = ParseJsonl(*Ledger(o));
  ASSERT_EQ(lines.size(), 2u);
  for (const json& j : lines) EXPECT_EQ(j["number"], "12345");
  o.filter.status = SubscriptionStatus::kOptedOut;
  lines = ParseJsonl(*Ledger(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["phone"], "+14155550003");
  EXPECT_EQ(lines[0]["to"], "opted_out");
}

TEST_F(ExportTest, TimeRangeBoundsAreInclusive) {
  Populate();  // events at 2026-01-01T00:00:01Z and 2026-01-02T00:00:00Z
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  // A day covers the whole day on both ends.
  ASSERT_TRUE(SetExportTimeRange("2026-01-01", "2026-01-01", &o.filter).ok());
  auto lines = ParseJsonl(*Ledger(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["phone"], "+14155550001");
  // Exact instants: both bounds included.
  o.filter = {};
  ASSERT_TRUE(SetExportTimeRange("2026-01-01T00:00:01Z", "2026-01-02T00:00:00Z", &o.filter).ok());
  EXPECT_EQ(ParseJsonl(*Ledger(o)).size(), 2u);
  o.filter = {};
  ASSERT_TRUE(
      SetExportTimeRange("2026-01-01T00:00:01.001Z", "2026-01-01T23:59:59.999Z", &o.filter).ok());
  EXPECT_EQ(ParseJsonl(*Ledger(o)).size(), 0u);
  o.filter = {};
  ASSERT_TRUE(SetExportTimeRange("2026-01-02", std::nullopt, &o.filter).ok());
  lines = ParseJsonl(*Ledger(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["phone"], "+14155550002");
  // Statuses are filtered by `since`; never-set pairs have none and drop out.
  lines = ParseJsonl(*Statuses(o));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["phone"], "+14155550002");
  EXPECT_EQ(lines[0]["since"], "2026-01-02T00:00:00.000Z");
}

TEST_F(ExportTest, TimeRangeErrors) {
  ExportFilter f;
  EXPECT_EQ(SetExportTimeRange("2026-13-01", std::nullopt, &f).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SetExportTimeRange(std::nullopt, "yesterday", &f).code(), StatusCode::kInvalidArgument);
  ExportFilter g;
  EXPECT_EQ(SetExportTimeRange("2026-02-01", "2026-01-31", &g).code(),
            StatusCode::kInvalidArgument);
  ExportFilter h;
  ASSERT_TRUE(SetExportTimeRange("2026-01-31", "2026-01-31", &h).ok());
  EXPECT_EQ(*h.to_ms - *h.from_ms, 86'400'000 - 1);
}

TEST_F(ExportTest, OtherAccountsDataNeverAppears) {
  Populate();
  const int64_t other = MakeAccount("Other", true);
  Number(other, "+15557654321", NumberKind::kLongCode);
  Receive("+14155550099", "+15557654321", "START");
  ExportOptions o;
  o.format = ExportFormat::kJsonl;
  auto mine = ParseJsonl(*Statuses(o));
  for (const json& j : mine) EXPECT_NE(j["phone"], "+14155550099");
  auto theirs = ParseJsonl(*Statuses(o, other));
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0]["phone"], "+14155550099");
  auto ledger = ParseJsonl(*Ledger(o, other));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0]["seq"], 1);
  // Another account's number is not a number of this one.
  o.filter.number = "+15557654321";
  EXPECT_EQ(Statuses(o).status().code(), StatusCode::kNotFound);
}

TEST_F(ExportTest, MissingAddonIsPermissionDenied) {
  const int64_t bare = MakeAccount("Bare", false);
  EXPECT_EQ(Statuses({}, bare).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Ledger({}, bare).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Statuses({}, 999999).status().code(), StatusCode::kNotFound);
}

TEST_F(ExportTest, StreamsInChunksAndStopsOnASinkError) {
  Populate();
  for (int i = 0; i < 510; ++i) {  // more than one page of contacts (500)
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1415556%04d", i);
    AddContact(phone, "Contact " + std::to_string(i));
  }
  auto whole = Statuses();
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(ParseCsv(*whole).size(), 1u + 513 * 2);
  ExportOptions o;
  o.chunk_bytes = 4096;
  std::string joined;
  size_t calls = 0, largest = 0;
  auto r = ExportStatuses(*svc_, *store_, account_, o, [&](std::string_view c) {
    ++calls;
    largest = std::max(largest, c.size());
    joined.append(c);
    return Status::Ok();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows, 513 * 2);
  EXPECT_EQ(joined, *whole);
  EXPECT_GT(calls, 10u);
  EXPECT_LT(largest, 4096u + 1024u);  // a chunk is flushed once it reaches the size
  calls = 0;
  r = ExportStatuses(*svc_, *store_, account_, o, [&](std::string_view) {
    ++calls;
    return Status(StatusCode::kUnavailable, "disk full");
  });
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1u);
}

TEST_F(ExportTest, FormatNamesAndFileName) {
  EXPECT_EQ(*ParseExportFormat("csv"), ExportFormat::kCsv);
  EXPECT_EQ(*ParseExportFormat("jsonl"), ExportFormat::kJsonl);
  EXPECT_EQ(*ParseExportFormat("ndjson"), ExportFormat::kJsonl);
  EXPECT_EQ(ParseExportFormat("xlsx").status().code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(ExportContentType(ExportFormat::kCsv), "text/csv; charset=utf-8");
  EXPECT_STREQ(ExportContentType(ExportFormat::kJsonl), "application/x-ndjson");
  EXPECT_EQ(ExportFileName(7, "ledger", ExportFormat::kJsonl, kT0 + 3'723'000),
            "smsconsent-account-7-ledger-20260101T010203Z.jsonl");
}

}  // namespace
}  // namespace smsconsent
