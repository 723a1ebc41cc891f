// GroupCommitter over a real SQLite store: many threads' commits share transactions, and
// each caller still gets its own result, only once it is durable.
#include "app/group_committer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../store/status_shorthands.h"
#include "app/consent_service.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "store/ledger_tree.h"
#include "store/store.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class GroupCommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-gc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "gc.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Account a;
    a.name = "Acme";
    a.marketing_sms_access = true;
    auto account = store_->CreateAccount(a, "");
    ASSERT_TRUE(account.ok()) << account.status().ToString();
    account_ = account->id;
    SenderNumber n;
    n.account_id = account_;
    n.number = "+15551234567";
    n.country = "US";
    n.business_name = "Acme";
    n.keywords.languages = {"en"};
    n.replies = {"Subscribed.", "Unsubscribed.", "Help.", "Reply YES."};
    auto number = store_->AddNumber(n);
    ASSERT_TRUE(number.ok()) << number.status().ToString();
    number_ = *number;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // One message from `phone` that moves its status `from` -> `to`, for a contact that is
  // created with it when contact_id is 0.
  ChangeSet Change(int64_t contact_id, const std::string& phone, const std::string& message_id,
                   SubscriptionStatus from, SubscriptionStatus to) const {
    ChangeSet c;
    if (contact_id == 0) {
      Contact fresh;
      fresh.account_id = account_;
      fresh.phone = phone;
      fresh.created_at_ms = 1000;
      c.new_contact = fresh;
    }
    InboundMessage m;
    m.provider = "test";
    m.provider_message_id = message_id;
    m.from = phone;
    m.to = number_.number;
    m.number_id = number_.id;
    m.contact_id = contact_id;
    m.body = to == kIn ? "START" : "STOP";
    m.received_at_ms = 2000;
    m.decision = "{}";
    c.inbound = m;
    EventDraft e;
    e.contact_id = contact_id;
    e.phone = phone;
    e.number_id = number_.id;
    e.sender = number_.number;
    e.from = from;
    e.to = to;
    e.source = Source::kKeyword;
    e.actor = "contact";
    e.at_ms = 3000;
    e.evidence = R"({"type":"keyword"})";
    c.events.push_back(e);
    return c;
  }

  std::vector<ConsentEvent> AllEvents() {
    std::vector<ConsentEvent> all;
    EventQuery q;
    while (true) {
      auto page = store_->ListEvents(account_, q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok() || page->empty()) return all;
      q.after_seq = page->back().seq;
      all.insert(all.end(), page->begin(), page->end());
    }
  }

  // The ledger is seq 1..n without gaps, each (contact, number)'s events numbered 1, 2, 3, ...
  // in seq order, its replay is the status table, and once integrated the account's tree is
  // exactly these events' leaves.
  void ExpectOneValidLedger(size_t want_events) {
    std::vector<ConsentEvent> events = AllEvents();
    ASSERT_EQ(events.size(), want_events);
    StatusReplay replay;
    std::map<StatusKey, int64_t> pair_events;
    std::vector<merkle::Hash> leaves;
    for (size_t i = 0; i < events.size(); ++i) {
      const ConsentEvent& e = events[i];
      EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
      EXPECT_EQ(e.format, 2) << "event seq " << e.seq;
      const int64_t nth = ++pair_events[StatusKey(e.contact_id, e.number_id)];
      EXPECT_EQ(e.nth, nth) << "event seq " << e.seq;
      leaves.push_back(EventLeafHash(e));
      replay.Add(e);
    }
    auto rows = store_->ListAllStatuses(account_);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), replay.states().size());
    for (const StatusRow& r : *rows) {
      EXPECT_EQ(r.state.status, replay.states().at({r.contact_id, r.number_id}).status);
    }
    auto tree = store_->IntegrateLedger(account_, store_ledger::kMaxIntegrateEvents, 10'000);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    EXPECT_EQ(tree->size, static_cast<int64_t>(want_events));
    EXPECT_EQ(tree->root, merkle::RootOf(leaves));
  }

  // 16 threads, each toggling its own new contact 30 times through a committer with
  // `writers` writer threads: every caller gets the result of its own change set, the ledger
  // is one valid ledger, and commits were actually grouped. Returns the writer threads that
  // wrote batches.
  std::set<std::thread::id> Toggle(int writers);

  fs::path dir_;
  std::unique_ptr<ConsentStore> store_;
  int64_t account_ = 0;
  SenderNumber number_;
};

TEST_F(GroupCommitterTest, ManyThreadsGetTheirOwnResultsInOneChain) {
  EXPECT_EQ(Toggle(1).size(), 1u);
}

// Several writers take batches side by side (on SQLite their transactions still take turns):
// the same guarantees, and more than one writer wrote.
TEST_F(GroupCommitterTest, SeveralWritersKeepEveryGuarantee) { EXPECT_GT(Toggle(3).size(), 1u); }

std::set<std::thread::id> GroupCommitterTest::Toggle(int writers) {
  std::mutex writers_mu;
  std::set<std::thread::id> writer_ids;
  GroupCommitter::Options options;
  options.writers = writers;
  options.on_batch = [&](int, double) {
    std::lock_guard<std::mutex> lock(writers_mu);
    writer_ids.insert(std::this_thread::get_id());
  };
  GroupCommitter committer(*store_, options);
  constexpr int kThreads = 16;
  constexpr int kCommits = 30;
  std::atomic<int> failures{0};
  std::vector<int64_t> contact_of(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string phone = "+1415555" + std::to_string(1000 + t);
      int64_t contact = 0;
      SubscriptionStatus state = kNone;
      for (int i = 0; i < kCommits; ++i) {
        const SubscriptionStatus next = state == kIn ? kOut : kIn;
        const std::string id = "m-" + std::to_string(t) + "-" + std::to_string(i);
        ChangeSet changes = Change(contact, phone, id, state, next);
        auto r = committer.Commit(account_, changes);
        if (!r.ok()) {
          ADD_FAILURE() << id << ": " << r.status().ToString();
          ++failures;
          return;
        }
        if (contact == 0) contact = r->contact_id;
        // This caller's own change, not a neighbour's from the same batch.
        EXPECT_EQ(r->contact_id, i == 0 ? contact : 0);
        EXPECT_GT(r->inbound_id, 0);
        if (r->events.size() != 1) {
          ADD_FAILURE() << id << ": " << r->events.size() << " events";
          ++failures;
          return;
        }
        EXPECT_EQ(r->events[0].contact_id, contact);
        EXPECT_EQ(r->events[0].phone, phone);
        EXPECT_EQ(r->events[0].from, state);
        EXPECT_EQ(r->events[0].to, next);
        auto stored = store_->FindInbound(account_, "test", id);
        EXPECT_TRUE(stored.ok() && stored->has_value() && (*stored)->id == r->inbound_id &&
                    (*stored)->contact_id == contact)
            << id;
        state = next;
      }
      contact_of[t] = contact;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<int64_t>(contact_of.begin(), contact_of.end()).size(), size_t{kThreads});
  ExpectOneValidLedger(kThreads * kCommits);

  GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.items, kThreads * kCommits);
  EXPECT_EQ(stats.queued, 0);
  // 16 writers against one fsync at a time: commits must have shared transactions.
  EXPECT_LT(stats.batches, stats.items);
  EXPECT_GT(stats.largest_batch, 1);
  RecordProperty("batches", static_cast<int>(stats.batches));
  RecordProperty("largest_batch", static_cast<int>(stats.largest_batch));
  committer.Stop();
  std::lock_guard<std::mutex> lock(writers_mu);
  return writer_ids;
}

// With max_wait the writer holds a batch open until max_batch change sets are queued. Failing
// items (a provider retry, a stale status) get their own error; their neighbours are stored.
TEST_F(GroupCommitterTest, MaxWaitCollectsAFullBatchAndItemsFailAlone) {
  ChangeSet stored = Change(0, "+14155550000", "m-dup", kNone, kIn);
  ASSERT_TRUE(store_->Commit(account_, stored).ok());

  GroupCommitter::Options options;
  options.max_batch = 6;
  options.max_wait = 30s;  // far longer than the test: only a full batch ends the wait
  std::vector<int> batch_sizes;
  options.on_batch = [&batch_sizes](int items, double seconds) {
    batch_sizes.push_back(items);
    EXPECT_GE(seconds, 0);
  };
  GroupCommitter committer(*store_, options);

  std::vector<ChangeSet> sets;
  for (int i = 0; i < 4; ++i) {
    sets.push_back(Change(0, "+1415555000" + std::to_string(i + 1), "m-" + std::to_string(i), kNone,
                          i % 2 ? kOut : kIn));
  }
  sets.push_back(Change(0, "+14155550009", "m-dup", kNone, kIn));   // kAlreadyExists
  sets.push_back(Change(0, "+14155550008", "m-stale", kIn, kOut));  // kAborted
  std::vector<std::optional<Result<CommitResult>>> results(sets.size());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < sets.size(); ++i) {
    threads.emplace_back([&, i] { results[i].emplace(committer.Commit(account_, sets[i])); });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_EQ(batch_sizes, std::vector<int>({6}));
  EXPECT_EQ(committer.stats().batches, 1);
  EXPECT_EQ(committer.stats().largest_batch, 6);

  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i]->ok()) << i << ": " << results[i]->status().ToString();
    EXPECT_EQ(store_->FindContactByPhone(account_, sets[i].new_contact->phone)->id,
              (*results[i])->contact_id);
  }
  EXPECT_EQ(results[4]->status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(results[5]->status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->FindContactByPhone(account_, "+14155550009").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->FindContactByPhone(account_, "+14155550008").status().code(),
            StatusCode::kNotFound);
  ExpectOneValidLedger(5);
}

// Stop() commits what is already queued (its callers get their results), then refuses.
TEST_F(GroupCommitterTest, StopCommitsWhatIsQueuedAndRefusesLaterCommits) {
  GroupCommitter::Options options;
  options.max_wait = 30s;  // nothing but Stop() ends the wait for these three
  GroupCommitter committer(*store_, options);
  std::vector<ChangeSet> sets;
  for (int i = 0; i < 3; ++i) {
    sets.push_back(
        Change(0, "+1415555001" + std::to_string(i), "q-" + std::to_string(i), kNone, kIn));
  }
  std::vector<std::optional<Result<CommitResult>>> results(sets.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < sets.size(); ++i) {
    threads.emplace_back([&, i] { results[i].emplace(committer.Commit(account_, sets[i])); });
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (committer.stats().queued < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(committer.stats().queued, 3);
  committer.Stop();
  for (std::thread& th : threads) th.join();
  for (const auto& r : results) EXPECT_TRUE(r->ok()) << r->status().ToString();
  EXPECT_EQ(committer.stats().items, 3);
  ExpectOneValidLedger(3);

  ChangeSet late = Change(0, "+14155550099", "q-late", kNone, kIn);
  EXPECT_EQ(committer.Commit(account_, late).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(store_->FindInbound(account_, "test", "q-late")->has_value());
  committer.Stop();  // idempotent
}

// CommitAsync: callers that do not wait share batches like blocked ones; each callback gets its
// own change set's result once, after the batch is durable, on the thread run_callbacks gives.
TEST_F(GroupCommitterTest, CommitAsyncAnswersEveryCallerOnceThroughRunCallbacks) {
  // A stand-in for the HTTP server's threads: one thread running what it is handed.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> work;
  bool stop = false;
  std::thread runner([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stop || !work.empty(); });
      if (work.empty()) return;
      auto fn = std::move(work.front());
      work.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  });
  const std::thread::id runner_id = runner.get_id();

  GroupCommitter::Options options;
  options.max_wait = 20ms;  // lets all of them queue before the first batch
  options.run_callbacks = [&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    work.push_back(std::move(fn));
    // All: the test's own thread waits on the same condition variable, and a notify_one that
    // woke only that thread would leave the runner asleep with work queued.
    cv.notify_all();
  };
  options.callback_chunks = 3;
  GroupCommitter committer(*store_, options);
  constexpr int kItems = 120;
  std::vector<std::optional<Result<CommitResult>>> results(kItems);
  std::atomic<int> answered{0};
  std::atomic<int> off_runner{0};
  for (int i = 0; i < kItems; ++i) {
    // Every tenth one repeats the message id of the one before: refused alone.
    const std::string id = "a-" + std::to_string(i % 10 == 9 ? i - 1 : i);
    committer.CommitAsync(account_,
                          Change(0, "+1415555" + std::to_string(3000 + i), id, kNone, kIn),
                          [&, i](Result<CommitResult> r) {
                            if (std::this_thread::get_id() != runner_id) ++off_runner;
                            std::lock_guard<std::mutex> lock(mu);
                            EXPECT_FALSE(results[i].has_value()) << "answered twice: " << i;
                            results[i].emplace(std::move(r));
                            ++answered;
                            cv.notify_all();
                          });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return answered.load() == kItems; }));
  }
  EXPECT_EQ(off_runner.load(), 0);
  int ok = 0;
  for (int i = 0; i < kItems; ++i) {
    if (i % 10 == 9) {
      EXPECT_EQ(results[i]->status().code(), StatusCode::kAlreadyExists) << i;
    } else {
      ASSERT_TRUE(results[i]->ok()) << i << ": " << results[i]->status().ToString();
      EXPECT_GT((*results[i])->inbound_id, 0);
      ++ok;
    }
  }
  EXPECT_LT(committer.stats().batches, kItems / 4);  // they were grouped
  ExpectOneValidLedger(static_cast<size_t>(ok));

  committer.Stop();
  // After Stop: answered at once with kUnavailable, nothing written.
  std::optional<Result<CommitResult>> late;
  committer.CommitAsync(account_, Change(0, "+14155550098", "a-late", kNone, kIn),
                        [&](Result<CommitResult> r) { late.emplace(std::move(r)); });
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(store_->FindInbound(account_, "test", "a-late")->has_value());
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_one();
  }
  runner.join();
}

// ConsentService through a committer, as `smsconsent serve` runs it.
class ServiceWithCommitterTest : public GroupCommitterTest {
 protected:
  void SetUp() override {
    GroupCommitterTest::SetUp();
    committer_ = std::make_unique<GroupCommitter>(*store_);
    svc_ = std::make_unique<ConsentService>(*store_, clock_);
    svc_->SetCommitter(committer_.get());
    svc_->SetStoreObserver([this](const char* op, double) {
      if (std::string(op) == "commit") ++commits_;
    });
  }
  void TearDown() override {
    committer_->Stop();
    svc_.reset();
    committer_.reset();
    GroupCommitterTest::TearDown();
  }

  TestClock clock_{1'700'000'000'000, /*step_per_read_ms=*/1000};
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<ConsentService> svc_;
  std::atomic<int> commits_{0};
};

// An unknown sender's contact is created in the same commit as the message and its event.
TEST_F(ServiceWithCommitterTest, FirstMessageFromANewPhoneIsOneCommit) {
  auto r = svc_->ReceiveSms({"test", "m1", "+1 (415) 555-2671", "+15551234567", "STOP"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(commits_.load(), 1);
  EXPECT_EQ(committer_->stats().items, 1);
  auto contact = store_->FindContactByPhone(account_, "+14155552671");
  ASSERT_TRUE(contact.ok()) << contact.status().ToString();
  EXPECT_EQ(r->contact_id, contact->id);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].contact_id, contact->id);
  EXPECT_EQ(r->status_before, kNone);
  EXPECT_EQ(r->status_after, kOut);
  EXPECT_EQ(store_->FindInbound(account_, "test", "m1")->value().contact_id, contact->id);

  // The next message finds the contact; a provider retry changes nothing.
  auto again = svc_->ReceiveSms({"test", "m2", "+14155552671", "+15551234567", "START"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->contact_id, contact->id);
  EXPECT_EQ(again->status_before, kOut);
  auto retry = svc_->ReceiveSms({"test", "m1", "+14155552671", "+15551234567", "STOP"});
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  // The retry is not looked up first: its write is attempted, refused as a duplicate and
  // rolled back, leaving the two events of m1 and m2.
  EXPECT_EQ(commits_.load(), 3);
  ExpectOneValidLedger(2);
}

// Many handler threads, new and known phones, all through one committer: one valid ledger,
// one contact per phone, and grouped commits.
TEST_F(ServiceWithCommitterTest, ConcurrentMessagesKeepOneValidChain) {
  constexpr int kThreads = 12;
  constexpr int kMessages = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kMessages; ++i) {
        // Every thread also texts from one shared phone, racing on its first message.
        const std::string from =
            i % 4 == 0 ? "+14155550100" : "+1415555" + std::to_string(2000 + t * 100 + i % 3);
        const std::string body = (i / 2) % 2 ? "STOP" : "START";
        auto r = svc_->ReceiveSms({"test", "c" + std::to_string(t) + "-" + std::to_string(i), from,
                                   "+15551234567", body});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  auto check = svc_->VerifyLedger(account_);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->ok()) << check->chain_failure.value_or("status mismatch");
  ContactQuery q;
  q.limit = 1000;
  auto contacts = store_->ListContacts(account_, q);
  ASSERT_TRUE(contacts.ok());
  EXPECT_EQ(contacts->size(), size_t{kThreads * 3 + 1});
  GroupCommitter::Stats stats = committer_->stats();
  EXPECT_GE(stats.items, kThreads * kMessages);  // a kAborted item is decided and sent again
  EXPECT_LT(stats.batches, stats.items);
}

// Messages from one phone handed over without waiting are decided one after another in
// arrival order, each from the status the one before left, so none has to be retried.
TEST_F(ServiceWithCommitterTest, AsyncMessagesFromOnePhoneAreDecidedInArrivalOrder) {
  auto route = svc_->RouteInbound("+15551234567", "+14155550123");
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  constexpr int kMessages = 40;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result<InboundResult>>> results(kMessages);
  int answered = 0;
  for (int i = 0; i < kMessages; ++i) {
    InboundSms sms;
    sms.provider = "test";
    sms.message_id = "o-" + std::to_string(i);
    sms.from = "+1 415 555 0123";
    sms.to = "+15551234567";
    sms.body = i % 2 == 0 ? "STOP" : "START";
    svc_->ReceiveRoutedAsync(sms, *route, [&, i](Result<InboundResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      results[i].emplace(std::move(r));
      ++answered;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return answered == kMessages; }));
  }
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(results[i]->ok()) << i << ": " << results[i]->status().ToString();
    const InboundResult& r = **results[i];
    EXPECT_EQ(r.status_before, i == 0 ? kNone : (i % 2 == 0 ? kIn : kOut)) << i;
    EXPECT_EQ(r.status_after, i % 2 == 0 ? kOut : kIn) << i;
  }
  EXPECT_EQ(commits_.load(), kMessages);  // one commit each: nothing lost a race and retried
  ExpectOneValidLedger(kMessages);
}

}  // namespace
}  // namespace smsconsent
