// OutboxDispatcher: sends queued replies through each account's reply sender.
//
// One pass (RunOnce) turns abandoned leases into dead items, then, up to batch_size times,
// claims the oldest due pending item (state sending, leased to this dispatcher), sends it
// through the sender the account chose (Account::reply_sender with that provider's
// ProviderConfig settings) and records the outcome. The claim itself first checks that the
// reply is still due (ConsentStore::ClaimOutbox, DecidePendingReply in core/consent.h): an
// opt-in confirmation whose contact's status on the number changed since it was queued is
// cancelled, and a reply older than its kind's maximum age (max_ages) is expired; neither is
// ever sent, and the claim goes on to the next item. Then:
//   sent                  -> sent, with the provider's message id;
//   retryable (429, 5xx,  -> pending again, next attempt after a backoff that doubles from
//   network errors)          base_backoff_ms up to max_backoff_ms; dead after max_attempts;
//   refused (other 4xx)   -> failed, never retried;
//   no usable sender      -> failed, with the reason (e.g. "twilio reply sender needs the
//   (missing settings)       setting auth_token").
//
// One item at a time: an item is claimed right before it is sent, so the only item a
// dispatcher ever holds is the one that may be on the wire. A dispatcher that dies (killed,
// crashed, machine lost) therefore strands at most that one item; every other due item stays
// pending and is sent by the other dispatchers.
//
// At most once: the item a dead dispatcher held stays `sending` until its lease runs out, and
// then the next pass of any dispatcher marks it dead ("interrupted while sending; not
// retried …", visible in the outbox listing) instead of sending it again, because it may have
// reached the provider (docs/storage.md, "The outbox"). lease_ms should exceed the time one
// send can take (the HTTP timeout, 10 s); a shorter one is still never a second send (the
// late completion is refused and the item stays dead), only a needlessly dead item.
//
// Any number of dispatchers (threads or processes, each with its own owner_id) may share one
// store: the store's claim hands each item to one of them.
//
// Sending rate: the claim hands out an item only when its sender number may send, by the
// number's rate (messages per second, core/send_rate.h), and moves the number's next send time
// on in the same transaction; the store holds that time, so every dispatcher of every process
// sharing the store keeps to one rate per number together. Items of a number that must wait are
// passed over, and other numbers' items go; the service's own replies (opt-out confirmations,
// HELP answers) are claimed before messages, so a campaign queued on a number does not hold
// them back beyond the number's rate. A pass that leaves a number waiting looks again when its
// next slot comes (or at the poll interval, whichever is first). All times come from the injected
// Clock; the poll interval alone is real time (it only decides when to look again).
//
// Threading: RunOnce, Notify, Start and Stop may be called from any thread; RunOnce calls are
// serialised.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

class HttpClient;
class ReplySender;

class OutboxDispatcher {
 public:
  struct Options {
    // Names this dispatcher's leases; empty: "HOSTNAME:PID:RANDOM", unique per instance.
    std::string owner_id;
    int batch_size = 50;                       // items per pass (each claimed on its own)
    int64_t lease_ms = kDefaultOutboxLeaseMs;  // how long the item on the wire is held
    std::chrono::milliseconds poll_interval{1000};
    int64_t base_backoff_ms = 1000;  // before the 2nd attempt; doubles each time
    int64_t max_backoff_ms = 10 * 60 * 1000;
    int max_attempts = 8;            // the 8th retryable failure makes the item dead
    int64_t sender_cache_ms = 5000;  // how long an account's sender settings are reused
    ReplyMaxAges max_ages;           // past these a reply expires unsent
    // The service's public base URL (ServeConfig::public_url): when set, each message asks
    // its provider to post its delivery status to <public_url>/webhooks/<provider>/status.
    std::string public_url;
  };

  // `store`, `clock` and `http` must outlive the dispatcher.
  OutboxDispatcher(ConsentStore& store, const Clock& clock, HttpClient& http, Options options);
  ~OutboxDispatcher();  // Stop()s
  OutboxDispatcher(const OutboxDispatcher&) = delete;
  OutboxDispatcher& operator=(const OutboxDispatcher&) = delete;

  // One pass over the due items (at most batch_size sent, claimed one by one; the items found
  // no longer due on the way are retired without counting). Returns the first store error met
  // (a failed claim ends the pass; a failed completion does not); send failures are not
  // errors, they are recorded on the items.
  Status RunOnce();

  // Starts the background thread: a pass every poll_interval, at once after Notify(), and
  // back to back while passes find full batches. No-op if already started.
  void Start();
  // Stops the background thread and waits for it. The item on the wire is finished and
  // recorded, and no further item is claimed, so shutdown waits for at most one send and
  // leaves nothing leased. Idempotent.
  void Stop();
  // Asks for a pass now (e.g. after a commit queued replies). Cheap; safe from any thread.
  void Notify();

  const std::string& owner_id() const { return options_.owner_id; }

 private:
  struct CachedSender {
    int64_t expires_at_ms = 0;
    Status error;  // not OK: the account has no usable sender
    std::unique_ptr<ReplySender> sender;
    std::string provider;  // the account's reply_sender: "twilio", …
  };

  // One pass; `claimed` is how many items it took, `next_rate_slot_ms` when a number waiting
  // for its sending rate may send again (0: none waits). Only the background loop's passes
  // (from_loop) end early when Stop() is requested.
  Status Pass(bool from_loop, int* claimed, int64_t* next_rate_slot_ms);
  // Sends one claimed item and records the outcome (CompleteOutbox's status).
  Status SendAndRecord(const OutboxItem& item);
  // The account's sender, from the cache or freshly built. kNotFound/kFailedPrecondition/
  // kInvalidArgument: the items cannot be sent (failed); other codes: the store failed.
  Result<const CachedSender*> SenderFor(int64_t account_id, int64_t now_ms);
  Result<std::unique_ptr<ReplySender>> BuildSender(int64_t account_id, std::string* provider);
  int64_t Backoff(int attempts) const;
  void Loop();

  ConsentStore& store_;
  const Clock& clock_;
  HttpClient& http_;
  Options options_;

  std::mutex run_mu_;  // serialises passes; guards senders_
  std::map<int64_t, CachedSender> senders_;

  std::atomic<bool> stop_requested_{false};  // also read by Pass between items

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool notified_ = false;
  std::thread thread_;
};

}  // namespace smsconsent
