#include "store/store_rows.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include <set>

#include "core/contact_filter.h"
#include "core/ledger.h"

namespace smsconsent::store_rows {

Status Aborted(std::string message) { return {StatusCode::kAborted, std::move(message)}; }

std::string KeywordsToJson(const KeywordConfig& k) {
  nlohmann::json j = {
      {"languages", k.languages}, {"opt_in", k.opt_in},
      {"opt_out", k.opt_out},     {"opt_out_all", k.opt_out_all},
      {"help", k.help},           {"replace_default_keywords", k.replace_default_keywords},
      {"free_text", k.free_text},
  };
  return j.dump();
}

Result<KeywordConfig> KeywordsFromJson(const std::string& text) {
  KeywordConfig k;
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) return InvalidArgument("keyword config is not a JSON object");
    auto list = [&](const char* key, std::vector<std::string>& out) {
      if (j.contains(key)) out = j.at(key).get<std::vector<std::string>>();
    };
    list("languages", k.languages);
    list("opt_in", k.opt_in);
    list("opt_out", k.opt_out);
    list("opt_out_all", k.opt_out_all);
    list("help", k.help);
    if (j.contains("replace_default_keywords")) {
      k.replace_default_keywords = j.at("replace_default_keywords").get<bool>();
    }
    if (j.contains("free_text")) k.free_text = j.at("free_text").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("keyword config: ") + e.what());
  }
  return k;
}

Status CheckLimit(int limit) {
  if (limit <= 0) return InvalidArgument("limit must be positive, got " + std::to_string(limit));
  return Status::Ok();
}

Status CheckPropertyCount(const ContactQuery& q) {
  if (q.properties.size() > kMaxFilterProperties) {
    return InvalidArgument("a contact search takes at most " +
                           std::to_string(kMaxFilterProperties) + " property filters, got " +
                           std::to_string(q.properties.size()));
  }
  return Status::Ok();
}

Status CheckLease(std::string_view what, const std::string& owner, int64_t lease_ms) {
  if (owner.empty()) return InvalidArgument(std::string(what) + " needs a non-empty owner");
  if (lease_ms <= 0) {
    return InvalidArgument("lease_ms must be positive, got " + std::to_string(lease_ms));
  }
  return Status::Ok();
}

Status CheckOutboxClaim(const OutboxClaim& claim) {
  SMSC_RETURN_IF_ERROR(CheckLimit(claim.limit));
  SMSC_RETURN_IF_ERROR(CheckLease("an outbox claim", claim.owner, claim.lease_ms));
  if (claim.max_ages.reply_ms <= 0 || claim.max_ages.opt_out_confirmation_ms <= 0 ||
      claim.max_ages.help_ms <= 0 || claim.max_ages.message_ms <= 0) {
    return InvalidArgument("the maximum ages of replies must be positive");
  }
  return Status::Ok();
}

int64_t RateIntervalUsOf(std::string_view number_kind, int64_t rate_mmps) {
  Result<NumberKind> kind = ParseNumberKind(number_kind);
  if (!kind.ok()) return 0;
  const int64_t rate = EffectiveRateMmps(*kind, rate_mmps);
  return rate > 0 ? SendIntervalUs(rate) : 0;
}

int64_t RateSlotMs(int64_t next_send_at_us) { return (next_send_at_us + 999) / 1000; }

std::optional<Retirement> RetirementOf(const OutboxItem& item, SubscriptionStatus status_now,
                                       bool status_changed, const OutboxClaim& claim) {
  PendingReply reply;
  reply.kind = item.kind;
  reply.purpose = item.purpose;
  reply.queued_at_ms = std::max(item.created_at_ms, item.send_at_ms);
  reply.status_now = status_now;
  reply.status_changed = status_changed;
  ReplyVerdict v = DecidePendingReply(reply, claim.now_ms, claim.max_ages);
  switch (v.fate) {
    case ReplyFate::kSend:
      return std::nullopt;
    case ReplyFate::kCancel:
      return Retirement{OutboxState::kCancelled, std::move(v.reason)};
    case ReplyFate::kExpire:
      return Retirement{OutboxState::kExpired, std::move(v.reason)};
  }
  return std::nullopt;
}

ClaimFate ClaimFateOf(const OutboxItem& item, SubscriptionStatus status_now, bool status_changed,
                      std::string_view quiet_hours, const OutboxClaim& claim) {
  ClaimFate fate;
  fate.retire = RetirementOf(item, status_now, status_changed, claim);
  if (fate.retire || item.kind != ReplyKind::kMessage) return fate;
  const bool marketing = item.purpose == Purpose::kMarketing;
  Result<QuietHoursPolicy> policy = ParseQuietHoursPolicy(quiet_hours);
  if (policy.ok() && !QuietHoursApplyTo(*policy, marketing)) return fate;
  if (!policy.ok() && !marketing) return fate;
  Result<QuietHoursDecision> quiet =
      policy.ok() ? CheckQuietHours(*policy, item.to, claim.now_ms) : policy.status();
  if (!quiet.ok() && !marketing) return fate;  // no local time: not held back
  if (!quiet.ok()) {
    fate.retire = Retirement{OutboxState::kCancelled, "quiet hours: " + quiet.status().message()};
  } else if (!quiet->allowed) {
    fate.defer_until_ms = quiet->next_allowed_ms;
  }
  return fate;
}

Status CheckProperties(const std::string& text) {
  if (text == "{}") return Status::Ok();
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument("contact properties must be a JSON object");
  for (const auto& [name, value] : j.items()) {
    if (!value.is_string()) {
      return InvalidArgument("contact property '" + name + "' must be a string");
    }
  }
  return Status::Ok();
}

std::string ContainsPattern(std::string_view s) {
  std::string p = "%";
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '\\') p.push_back('\\');
    p.push_back(ch);
  }
  p.push_back('%');
  return p;
}

std::string NumberTaken(const SenderNumber& n) {
  if (n.kind == NumberKind::kShortCode) {
    return "short code " + n.number + " (" + n.country + ") is already registered";
  }
  return "sender number " + n.number + " is already registered";
}

Status UserNotFound(int64_t id) { return NotFound("user " + std::to_string(id) + " not found"); }

Status CheckContactDeletable(int64_t contact_id, int64_t events, int64_t inbound, int64_t outbox) {
  const std::string who = "contact " + std::to_string(contact_id);
  if (events > 0) {
    return FailedPrecondition(who + " has " + std::to_string(events) +
                              " consent event(s) and cannot be deleted: the consent ledger is "
                              "append-only and is the proof of consent");
  }
  if (inbound > 0 || outbox > 0) {
    return FailedPrecondition(
        who + " has " + std::to_string(inbound) + " inbound message(s) and " +
        std::to_string(outbox) +
        " queued or sent reply(ies) and cannot be deleted: they are the record of what the "
        "contact sent and what was answered, and keep provider retries idempotent");
  }
  return Status::Ok();
}

Status CheckStatusRowsDistinct(const std::vector<StatusRow>& rows) {
  std::set<StatusKey> seen;
  for (const StatusRow& r : rows) {
    if (!seen.insert({r.contact_id, r.number_id}).second) {
      return InvalidArgument("status rows name contact " + std::to_string(r.contact_id) +
                             " on number " + std::to_string(r.number_id) + " twice");
    }
  }
  return Status::Ok();
}

Status CheckOutboxCompletion(const OutboxCompletion& c) {
  if (c.state == OutboxState::kSending) {
    return InvalidArgument("an outbox item cannot be completed to state sending");
  }
  if (c.lease_owner.empty()) return InvalidArgument("an outbox completion needs its lease owner");
  return Status::Ok();
}

Status CheckDeliveryUpdate(const DeliveryUpdate& u) {
  if (u.provider_message_id.empty()) {
    return InvalidArgument("a delivery report needs the provider's message id");
  }
  if (u.error.size() > kMaxDeliveryErrorBytes) {
    return InvalidArgument("a delivery error is longer than " +
                           std::to_string(kMaxDeliveryErrorBytes) + " bytes");
  }
  return Status::Ok();
}

bool ApplyDelivery(const DeliveryUpdate& u, OutboxItem* item) {
  if (!DeliveryAdvances(item->delivery, u.status)) return false;
  item->delivery = u.status;
  item->delivery_error = u.error;
  item->delivery_updated_at_ms = u.at_ms;
  return true;
}

const EventDraft& ResolveDraftContact(const EventDraft& draft, int64_t new_contact_id,
                                      EventDraft* scratch) {
  if (draft.contact_id != 0 || new_contact_id == 0) return draft;
  *scratch = draft;
  scratch->contact_id = new_contact_id;
  return *scratch;
}

Result<ConsentEvent> NextEvent(int64_t account_id, const EventDraft& d, const ConsentState& before,
                               int64_t seq, int64_t nth) {
  if (before.status != d.from) {
    return Aborted("contact " + std::to_string(d.contact_id) + " on number " +
                   std::to_string(d.number_id) + " is " + SubscriptionStatusName(before.status) +
                   ", not " + SubscriptionStatusName(d.from) +
                   " as the change assumed (changed concurrently); re-read and retry");
  }
  ConsentEvent e;
  e.format = 2;
  e.account_id = account_id;
  e.seq = seq;
  e.contact_id = d.contact_id;
  e.phone = d.phone;
  e.number_id = d.number_id;
  e.sender = d.sender;
  e.nth = nth;
  e.from = d.from;
  e.to = d.to;
  e.source = d.source;
  e.actor = d.actor;
  e.at_ms = d.at_ms;
  e.evidence = d.evidence;
  e.batch_hash = d.batch_hash;
  return e;
}

std::string Quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

std::string ColumnList(const TransferTable& t, int count, std::string_view suffix) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += Quoted(t.columns[i].name);
    out += suffix;
  }
  return out;
}

Status CheckTransferRow(const TransferTable& t, const TransferRow& row) {
  if (row.size() != t.columns.size()) {
    return InvalidArgument(std::string(t.name) + ": a row has " + std::to_string(row.size()) +
                           " cells, expected " + std::to_string(t.columns.size()));
  }
  for (size_t i = 0; i < row.size(); ++i) {
    const TransferColumn& c = t.columns[i];
    const auto bad = [&](const char* why) {
      return InvalidArgument(std::string(t.name) + "." + c.name + ": " + why);
    };
    if (!row[i]) {
      if (!c.nullable) return bad("NULL in a NOT NULL column");
      continue;
    }
    const std::string& v = *row[i];
    if (c.type == ColumnType::kInt) {
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) return bad("not an integer");
    } else if (c.type == ColumnType::kBool && v != "0" && v != "1") {
      return bad("not 0 or 1");
    }
  }
  return Status::Ok();
}

int64_t CellInt(const TransferCell& cell) {
  int64_t n = 0;
  if (cell) std::from_chars(cell->data(), cell->data() + cell->size(), n);
  return n;
}

}  // namespace smsconsent::store_rows
