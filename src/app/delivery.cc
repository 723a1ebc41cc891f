#include "app/delivery.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace smsconsent {
namespace {

// A concurrent change of the pair's status (kAborted) is retried with a fresh read this often.
constexpr int kMaxOptOutAttempts = 5;

Result<ConsentState> PairState(ConsentStore& store, const OutboxItem& item) {
  SMSC_ASSIGN_OR_RETURN(std::vector<StatusRow> rows,
                        store.GetStatuses(item.account_id, item.contact_id));
  for (const StatusRow& r : rows) {
    if (r.number_id == item.number_id) return r.state;
  }
  return ConsentState{};
}

}  // namespace

Status RecordCarrierOptOut(ConsentStore& store, const Clock& clock, std::string_view provider,
                           std::string_view via, const OutboxItem& item,
                           std::string_view error_code, std::string_view error_text) {
  if (item.contact_id == 0) {
    return FailedPrecondition("outbox item " + std::to_string(item.id) + " has no contact");
  }
  const nlohmann::json evidence = {{"type", "carrier"},
                                   {"provider", std::string(provider)},
                                   {"via", std::string(via)},
                                   {"error_code", std::string(error_code)},
                                   {"error", DeliveryErrorText("", error_text)},
                                   {"outbox_id", item.id},
                                   {"provider_message_id", item.provider_message_id}};
  for (int attempt = 1;; ++attempt) {
    SMSC_ASSIGN_OR_RETURN(ConsentState current, PairState(store, item));
    EventDraft e;
    e.contact_id = item.contact_id;
    e.phone = item.to;
    e.number_id = item.number_id;
    e.sender = item.from;
    e.from = current.status;
    e.to = SubscriptionStatus::kOptedOut;
    e.source = Source::kCarrier;
    e.actor = std::string(provider);
    e.at_ms = clock.NowMs();
    e.evidence = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ChangeSet changes;
    changes.events.push_back(std::move(e));
    auto committed = store.Commit(item.account_id, changes);
    if (committed.ok()) return Status::Ok();
    if (committed.status().code() != StatusCode::kAborted || attempt >= kMaxOptOutAttempts) {
      return committed.status();
    }
  }
}

Result<DeliveryOutcome> RecordDeliveryReport(ConsentStore& store, const Clock& clock,
                                             int64_t account_id, std::string_view provider,
                                             const DeliveryReport& report) {
  if (report.provider_message_id.empty()) {
    return InvalidArgument(std::string(provider) + ": the status callback names no message id");
  }
  DeliveryOutcome out;
  if (!report.status) return out;  // an interim state: acknowledged, nothing recorded
  DeliveryUpdate u;
  u.account_id = account_id;
  u.provider_message_id = report.provider_message_id;
  u.status = *report.status;
  u.error = DeliveryErrorText(report.error_code, report.error_text);
  u.at_ms = clock.NowMs();
  SMSC_ASSIGN_OR_RETURN(std::optional<DeliveryRecorded> recorded, store.RecordDelivery(u));
  if (!recorded) return out;
  out.known = true;
  out.changed = recorded->changed;
  out.item = std::move(recorded->item);
  if (!IsCarrierOptOutError(provider, report.error_code) || out.item.contact_id == 0) return out;

  bool record = out.changed;
  if (!record && out.item.delivery_error == u.error) {
    // The same report again: it records the opt-out only if the first one stopped before it
    // did, which shows as a pair not opted out and not changed since the report was recorded.
    SMSC_ASSIGN_OR_RETURN(ConsentState now, PairState(store, out.item));
    record = now.status != SubscriptionStatus::kOptedOut &&
             now.updated_at_ms <= out.item.delivery_updated_at_ms;
  }
  if (record) {
    SMSC_RETURN_IF_ERROR(RecordCarrierOptOut(store, clock, provider, "status_callback", out.item,
                                             report.error_code, report.error_text));
    out.opted_out = true;
  }
  return out;
}

}  // namespace smsconsent
