// Store write throughput: how many consent events per second the SQLite store appends.
//
// Every Commit is one durable transaction (WAL + synchronous=FULL: one fsync of the WAL per
// commit), so the single-event figure is bounded by the disk's fsync latency and the batched
// figure shows what amortising that fsync buys (a bulk opt-in commits many events at once).
// The database lives in a fresh directory under $SMSCONSENT_BENCH_DIR, or the system temp
// directory (/tmp) when unset: the numbers are those of that filesystem, and are meaningless on
// tmpfs, where fsync is free.
//
//   build/smsconsent_bench --benchmark_filter=Commit --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.h"

namespace smsconsent {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).value();
}

// A fresh store with one account, one number and `contacts` contacts.
class BenchStore {
 public:
  explicit BenchStore(int contacts) {
    const char* base = getenv("SMSCONSENT_BENCH_DIR");
    std::string tmpl =
        (std::filesystem::path(base != nullptr ? base : std::filesystem::temp_directory_path()) /
         "smsconsent-bench-XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    dir_ = tmpl;
    store_ = Must(OpenStore("sqlite:" + (dir_ / "bench.db").string()));
    Account a;
    a.name = "bench";
    a.marketing_sms_access = true;
    account_ = Must(store_->CreateAccount(a, ""));
    SenderNumber n;
    n.account_id = account_.id;
    n.number = "+4520123456";
    n.country = "DK";
    n.business_name = "Bench";
    number_ = Must(store_->AddNumber(n));
    for (int i = 0; i < contacts; ++i) {
      Contact c;
      c.account_id = account_.id;
      c.phone = "+4530" + std::to_string(100000 + i);
      contacts_.push_back(Must(store_->AddContact(c)));
      status_.push_back(SubscriptionStatus::kNotSpecified);
    }
  }
  ~BenchStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The next event for contact i: toggles its status, with realistic evidence.
  EventDraft NextEvent(size_t i, int64_t at_ms) {
    EventDraft d;
    d.contact_id = contacts_[i].id;
    d.phone = contacts_[i].phone;
    d.number_id = number_.id;
    d.sender = number_.number;
    d.from = status_[i];
    d.to = status_[i] == SubscriptionStatus::kOptedIn ? SubscriptionStatus::kOptedOut
                                                      : SubscriptionStatus::kOptedIn;
    d.source = Source::kBulk;
    d.actor = "user:bench";
    d.at_ms = at_ms;
    d.evidence =
        R"({"attestation":true,"legal_basis":"consent","explanation":"signed up in store",)"
        R"("batch":"bench"})";
    status_[i] = d.to;
    return d;
  }

  ConsentStore& store() { return *store_; }
  int64_t account_id() const { return account_.id; }
  size_t contacts() const { return contacts_.size(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ConsentStore> store_;
  Account account_;
  SenderNumber number_;
  std::vector<Contact> contacts_;
  std::vector<SubscriptionStatus> status_;
};

// One event per Commit: each event is its own durable transaction.
void BM_CommitSingleEvent(benchmark::State& state) {
  BenchStore b(1);
  int64_t t = 0;
  for (auto _ : state) {
    ChangeSet changes;
    changes.events.push_back(b.NextEvent(0, ++t));
    auto r = b.store().Commit(b.account_id(), changes);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CommitSingleEvent)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A bulk change: `range(0)` events (one per contact) in one Commit.
void BM_CommitBatch(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  BenchStore b(static_cast<int>(batch));
  int64_t t = 0;
  for (auto _ : state) {
    ChangeSet changes;
    changes.events.reserve(batch);
    for (size_t i = 0; i < batch; ++i) changes.events.push_back(b.NextEvent(i, ++t));
    auto r = b.store().Commit(b.account_id(), changes);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
}
BENCHMARK(BM_CommitBatch)->Arg(100)->Unit(benchmark::kMicrosecond)->UseRealTime();

// What one inbound keyword costs the store: inbound message + event + queued reply.
void BM_CommitKeywordDecision(benchmark::State& state) {
  BenchStore b(1);
  int64_t t = 0;
  for (auto _ : state) {
    ChangeSet changes;
    InboundMessage m;
    m.provider = "bench";
    m.provider_message_id = "SM" + std::to_string(++t);
    m.from = "+4530100000";
    m.to = "+4520123456";
    m.body = "STOP";
    m.received_at_ms = t;
    m.decision = R"({"intent":"opt_out","rule":"STOP"})";
    changes.inbound = m;
    changes.events.push_back(b.NextEvent(0, t));
    OutboxItem o;
    o.number_id = changes.events[0].number_id;
    o.contact_id = changes.events[0].contact_id;
    o.to = m.from;
    o.from = m.to;
    o.body = "You will get no more messages.";
    o.kind = ReplyKind::kOptOutConfirmation;
    o.created_at_ms = t;
    changes.outbox.push_back(o);
    auto r = b.store().Commit(b.account_id(), changes);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CommitKeywordDecision)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace smsconsent
