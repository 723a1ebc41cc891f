#include "app/outbox_dispatcher.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>
#include <vector>

#include "app/delivery.h"
#include "providers/sender.h"

namespace smsconsent {
namespace {

std::string DefaultOwnerId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char suffix[9];
  snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return std::string(host[0] != '\0' ? host : "localhost") + ":" + std::to_string(getpid()) + ":" +
         suffix;
}

// A sender that cannot be built for these reasons will not work on a retry either: the items
// fail with the reason. Any other code is the store failing, which may pass.
bool IsConfigurationError(const Status& st) {
  return st.code() == StatusCode::kNotFound || st.code() == StatusCode::kFailedPrecondition ||
         st.code() == StatusCode::kInvalidArgument;
}

}  // namespace

OutboxDispatcher::OutboxDispatcher(ConsentStore& store, const Clock& clock, HttpClient& http,
                                   Options options)
    : store_(store), clock_(clock), http_(http), options_(std::move(options)) {
  if (options_.owner_id.empty()) options_.owner_id = DefaultOwnerId();
  options_.batch_size = std::max(options_.batch_size, 1);
  options_.max_attempts = std::max(options_.max_attempts, 1);
  options_.lease_ms = std::max<int64_t>(options_.lease_ms, 1);
}

OutboxDispatcher::~OutboxDispatcher() { Stop(); }

Status OutboxDispatcher::RunOnce() {
  int claimed = 0;
  int64_t next_rate_slot_ms = 0;
  return Pass(/*from_loop=*/false, &claimed, &next_rate_slot_ms);
}

int64_t OutboxDispatcher::Backoff(int attempts) const {
  int64_t delay = options_.base_backoff_ms;
  for (int i = 1; i < attempts && delay < options_.max_backoff_ms; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff_ms);
}

Result<std::unique_ptr<ReplySender>> OutboxDispatcher::BuildSender(int64_t account_id,
                                                                   std::string* provider) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  *provider = account.reply_sender;
  nlohmann::json settings = nlohmann::json::object();
  if (account.reply_sender != "log") {
    SMSC_ASSIGN_OR_RETURN(std::vector<ProviderConfig> configs,
                          store_.ListProviderConfigs(account_id));
    for (const ProviderConfig& c : configs) {
      if (c.provider != account.reply_sender) continue;
      settings = nlohmann::json::parse(c.settings, nullptr, /*allow_exceptions=*/false);
      if (settings.is_discarded()) {
        return FailedPrecondition("stored " + c.provider + " settings are not valid JSON");
      }
    }
  }
  return MakeReplySender(account.reply_sender, settings, http_);
}

Result<const OutboxDispatcher::CachedSender*> OutboxDispatcher::SenderFor(int64_t account_id,
                                                                          int64_t now_ms) {
  auto it = senders_.find(account_id);
  if (it == senders_.end() || it->second.expires_at_ms <= now_ms) {
    CachedSender entry;
    Result<std::unique_ptr<ReplySender>> built = BuildSender(account_id, &entry.provider);
    if (!built.ok() && !IsConfigurationError(built.status())) return built.status();
    entry.expires_at_ms = now_ms + options_.sender_cache_ms;
    if (built.ok()) {
      entry.sender = std::move(built).value();
    } else {
      entry.error = Status(built.status().code(), "account " + std::to_string(account_id) + ": " +
                                                      built.status().message());
    }
    it = senders_.insert_or_assign(account_id, std::move(entry)).first;
  }
  if (!it->second.error.ok()) return it->second.error;
  return &it->second;
}

Status OutboxDispatcher::Pass(bool from_loop, int* claimed, int64_t* next_rate_slot_ms) {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  *claimed = 0;
  *next_rate_slot_ms = 0;

  Result<int64_t> expired = store_.ExpireOutboxLeases(clock_.NowMs());
  if (!expired.ok()) return expired.status();
  if (*expired > 0) {
    spdlog::warn("outbox: {} repl{} interrupted while sending marked dead (never re-sent)",
                 *expired, *expired == 1 ? "y" : "ies");
  }

  Status first_error;
  while (*claimed < options_.batch_size) {
    // Between items is where Stop() takes effect: nothing is held then.
    if (from_loop && stop_requested_.load()) break;
    // One item at a time, claimed right before it is sent: the only item this dispatcher ever
    // holds is the one that may be on the wire. If the process dies, that one item is dead
    // once its lease runs out (it may have reached the provider), and every other due item is
    // still pending for the other dispatchers.
    // The claim re-checks each item against the contact's status as it is now, in the same
    // transaction, and retires the ones no longer due instead of handing them out.
    OutboxClaim claim;
    claim.now_ms = clock_.NowMs();
    claim.limit = 1;
    claim.owner = options_.owner_id;
    claim.lease_ms = options_.lease_ms;
    claim.max_ages = options_.max_ages;
    Result<ClaimedOutbox> got = store_.ClaimOutbox(claim);
    if (!got.ok()) {
      if (first_error.ok()) first_error = got.status();
      break;
    }
    *next_rate_slot_ms = got->next_rate_slot_ms;
    for (const OutboxItem& o : got->retired) {
      if (o.state == OutboxState::kExpired) {
        spdlog::warn("outbox: item {} ({}) to {} expired: {}", o.id, ReplyKindName(o.kind), o.to,
                     o.last_error);
      } else {
        spdlog::info("outbox: item {} ({}) to {} {}: {}", o.id, ReplyKindName(o.kind), o.to,
                     OutboxStateName(o.state), o.last_error);
      }
    }
    for (const OutboxItem& o : got->deferred) {
      spdlog::debug("outbox: message {} to {} deferred by quiet hours until {}", o.id, o.to,
                    FormatTimestampMs(o.next_attempt_at_ms));
    }
    if (got->items.empty()) {
      if (got->retired.empty() && got->deferred.empty()) break;  // nothing due
      continue;  // the claim stopped at its bound of retired and deferred items
    }
    ++*claimed;
    Status st = SendAndRecord(got->items.front());
    if (!st.ok() && first_error.ok()) first_error = st;
  }
  return first_error;
}

Status OutboxDispatcher::SendAndRecord(const OutboxItem& item) {
  OutboxCompletion done;
  done.id = item.id;
  done.lease_owner = options_.owner_id;

  Result<const CachedSender*> sender = SenderFor(item.account_id, clock_.NowMs());
  bool carrier_opt_out = false;
  SendOutcome outcome;
  if (!sender.ok() && IsConfigurationError(sender.status())) {
    done.state = OutboxState::kFailed;
    done.attempts = item.attempts;
    done.last_error = sender.status().message();
  } else if (!sender.ok()) {
    // The store failed while looking up the sender; nothing was sent, so a retry is safe.
    done.attempts = item.attempts + 1;
    done.last_error = sender.status().ToString();
    done.state =
        done.attempts >= options_.max_attempts ? OutboxState::kDead : OutboxState::kPending;
    done.next_attempt_at_ms = clock_.NowMs() + Backoff(done.attempts);
  } else {
    try {
      // One key per reply, the same on every attempt: the item's id alone would repeat in
      // another installation sending through the same provider account.
      const std::string key = "smsconsent:" + std::to_string(item.account_id) + ":" +
                              std::to_string(item.id) + ":" + std::to_string(item.created_at_ms);
      OutboundSms sms{item.from, item.to, item.body, key, ""};
      if (!options_.public_url.empty() && (*sender)->provider != "log") {
        std::string base = options_.public_url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        sms.status_callback_url = base + "/webhooks/" + (*sender)->provider + "/status";
      }
      outcome = (*sender)->sender->Send(sms);
    } catch (const std::exception& e) {
      // Whether it reached the provider is unknown: not retried, so never sent twice.
      outcome.kind = SendOutcome::kFailed;
      outcome.error = std::string("sender threw: ") + e.what();
    }
    const int64_t at = clock_.NowMs();
    done.attempts = item.attempts + 1;
    switch (outcome.kind) {
      case SendOutcome::kSent:
        done.state = OutboxState::kSent;
        done.provider_message_id = outcome.provider_message_id;
        done.at_ms = at;
        break;
      case SendOutcome::kFailed:
        done.state = OutboxState::kFailed;
        done.last_error = outcome.error;
        carrier_opt_out = IsCarrierOptOutError((*sender)->provider, outcome.error_code);
        break;
      case SendOutcome::kRetry:
        if (done.attempts >= options_.max_attempts) {
          done.state = OutboxState::kDead;
          done.last_error =
              "gave up after " + std::to_string(done.attempts) + " attempts: " + outcome.error;
        } else {
          done.state = OutboxState::kPending;
          done.last_error = outcome.error;
          done.next_attempt_at_ms = at + Backoff(done.attempts);
        }
        break;
    }
  }
  if (done.state == OutboxState::kSent) {
    spdlog::debug("outbox: item {} sent to {} (provider id {})", item.id, item.to,
                  done.provider_message_id);
  } else if (done.state != OutboxState::kPending) {
    spdlog::warn("outbox: item {} to {} {}: {}", item.id, item.to, OutboxStateName(done.state),
                 done.last_error);
  }

  Status st = store_.CompleteOutbox(done);
  if (!st.ok()) {
    // kAborted: our lease ran out and another dispatcher marked the item dead (which is what
    // at-most-once needs); anything else leaves it in `sending` until its lease expires, and
    // then dead.
    spdlog::error("outbox: recording item {} as {} failed: {}", item.id,
                  OutboxStateName(done.state), st.ToString());
  }
  if (st.ok() && carrier_opt_out && item.contact_id != 0) {
    // The provider refused the send because the recipient texted STOP to this sender at the
    // carrier: that is the contact's opt-out, recorded as such (docs/sending.md).
    Status opted = RecordCarrierOptOut(store_, clock_, (*sender)->provider, "send", item,
                                       outcome.error_code, outcome.error);
    if (!opted.ok()) {
      spdlog::error("outbox: recording the carrier opt-out of item {} failed: {}", item.id,
                    opted.ToString());
    } else {
      spdlog::info("outbox: item {}: {} reports {} opted out at the carrier; recorded", item.id,
                   (*sender)->provider, item.to);
    }
  }
  return st;
}

void OutboxDispatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_requested_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxDispatcher::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void OutboxDispatcher::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_all();
}

void OutboxDispatcher::Loop() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) return;
      notified_ = false;  // this pass sees everything committed before the Notify
    }
    int claimed = 0;
    int64_t next_rate_slot_ms = 0;
    Status st = Pass(/*from_loop=*/true, &claimed, &next_rate_slot_ms);
    if (!st.ok()) spdlog::error("outbox: dispatch pass failed: {}", st.ToString());
    std::unique_lock<std::mutex> lock(mu_);
    if (st.ok() && claimed == options_.batch_size) continue;  // probably more due now
    // A number waiting for its sending rate may send again before the next poll: look again
    // then, so that it sends at its rate rather than once per poll interval.
    std::chrono::milliseconds wait = options_.poll_interval;
    if (st.ok() && next_rate_slot_ms > 0) {
      const int64_t until_slot = std::max<int64_t>(next_rate_slot_ms - clock_.NowMs(), 1);
      wait = std::min(wait, std::chrono::milliseconds(until_slot));
    }
    cv_.wait_for(lock, wait, [this] { return stop_requested_ || notified_; });
  }
}

}  // namespace smsconsent
