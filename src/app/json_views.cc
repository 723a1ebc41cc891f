#include "app/json_views.h"

#include "core/ledger.h"
#include "core/merkle.h"

namespace smsconsent {

using nlohmann::json;

json ToJson(const Account& a) {
  json addons = json::array();
  if (a.marketing_sms_access) addons.push_back(kAddonMarketingSms);
  if (a.sms_short_code) addons.push_back(kAddonShortCode);
  return {{"id", a.id},
          {"name", a.name},
          {"addons", addons},
          {"region", a.default_region},
          {"opt_out_scope", OptOutScopeName(a.opt_out_scope)},
          {"quiet_hours", json::parse(QuietHoursPolicyToJson(a.quiet_hours))},
          {"created_at", FormatTimestampMs(a.created_at_ms)}};
}

json ToJson(const User& u) {
  return {{"id", u.id},
          {"account", u.account_id},
          {"email", u.email},
          {"name", u.name},
          {"role", StaffRoleName(u.role)},
          {"created_at", FormatTimestampMs(u.created_at_ms)},
          {"updated_at", FormatTimestampMs(u.updated_at_ms)}};
}

json ToJson(const SenderNumber& n) {
  return {{"id", n.id},
          {"number", n.number},
          {"kind", NumberKindName(n.kind)},
          {"country", n.country},
          {"business_name", n.business_name},
          {"languages", n.keywords.languages},
          {"keywords",
           {{"opt_in", n.keywords.opt_in},
            {"opt_out", n.keywords.opt_out},
            {"opt_out_all", n.keywords.opt_out_all},
            {"help", n.keywords.help},
            {"replace_defaults", n.keywords.replace_default_keywords},
            {"free_text", n.keywords.free_text}}},
          {"replies",
           {{"opt_in", n.replies.opt_in},
            {"opt_out", n.replies.opt_out},
            {"help", n.replies.help},
            {"confirmation_request", ConfirmationRequestTemplate(n)}}},
          {"opt_in_confirmation", n.opt_in_confirmation},
          {"double_opt_in", n.double_opt_in},
          {"quiet_hours", json::parse(QuietHoursPolicyToJson(n.quiet_hours))},
          {"opt_out_notice",
           {{"text", OptOutNoticeText(n.opt_out_notice, n.keywords.languages)},
            {"every_messages", n.opt_out_notice.every_messages},
            {"every_days", n.opt_out_notice.every_days}}},
          {"rate_per_second", n.rate_mmps < 0
                                  ? json(nullptr)
                                  : json(RatePerSecond(EffectiveRateMmps(n.kind, n.rate_mmps)))},
          {"rate_default", n.rate_mmps == 0},
          {"frequency_cap", json::parse(FrequencyCapToJson(n.frequency_cap))},
          {"created_at", FormatTimestampMs(n.created_at_ms)}};
}

json ToJson(const Contact& c) {
  json properties = json::parse(c.properties, nullptr, /*allow_exceptions=*/false);
  if (!properties.is_object()) properties = json::object();
  return {{"id", c.id},
          {"phone", c.phone},
          {"name", c.name},
          {"email", c.email},
          {"properties", properties},
          {"created_at", FormatTimestampMs(c.created_at_ms)}};
}

json EvidenceJson(const ConsentEvent& e) {
  json evidence = json::parse(e.evidence, nullptr, /*allow_exceptions=*/false);
  if (evidence.is_discarded()) return e.evidence;  // shown as stored, never hidden
  if (e.batch_document.empty() || !evidence.is_object()) return evidence;
  json merged = json::parse(e.batch_document, nullptr, /*allow_exceptions=*/false);
  if (!merged.is_object()) return evidence;
  for (auto& [key, value] : evidence.items()) merged[key] = std::move(value);
  return merged;
}

json ToJson(const ConsentEvent& e) {
  json evidence = EvidenceJson(e);
  return {{"seq", e.seq},
          {"at", FormatTimestampMs(e.at_ms)},
          {"number", e.sender},
          {"phone", e.phone},
          {"from", SubscriptionStatusName(e.from)},
          {"to", SubscriptionStatusName(e.to)},
          {"changed", e.from != e.to},
          {"source", SourceName(e.source)},
          {"actor", e.actor},
          {"evidence", evidence},
          {"prev_hash", e.prev_hash},  // format 1 only
          {"hash", e.hash},            // format 1 only
          {"format", e.format},
          {"nth", e.nth},
          {"batch_hash", e.batch_hash},
          {"leaf_hash", merkle::ToHex(EventLeafHash(e))}};
}

json ToJson(const Revocation& r) {
  json sent = json::array();
  for (const OutboxItem& o : r.sent_between) sent.push_back(ToJson(o));
  return {{"event", ToJson(r.event)},
          {"contact_id", r.event.contact_id},
          {"phone", r.event.phone},
          {"number", r.event.sender},
          {"channel", r.channel},
          {"received_at", FormatTimestampMs(r.received_at_ms)},
          {"effective_at", FormatTimestampMs(r.effective_at_ms)},
          {"business_days", r.business_days},
          {"late", r.late},
          {"sent_between", std::move(sent)},
          {"sent_between_more", r.sent_between_more}};
}

json ToJson(const SegmentInfo& s) {
  return {{"encoding", SmsEncodingName(s.encoding)},
          {"characters", s.characters},
          {"segments", s.segments},
          {"per_segment", s.per_segment}};
}

json ToJson(const OutboxItem& o) {
  const SegmentInfo seg = CountSegments(o.body);
  json j = {{"id", o.id},
            {"to", o.to},
            {"from", o.from},
            {"body", o.body},
            {"kind", ReplyKindName(o.kind)},
            {"state", OutboxStateName(o.state)},
            {"attempts", o.attempts},
            {"encoding", SmsEncodingName(seg.encoding)},
            {"segments", seg.segments},
            {"channel", o.channel},
            {"provider_message_id",
             o.provider_message_id.empty() ? json(nullptr) : json(o.provider_message_id)},
            {"last_error", o.last_error.empty() ? json(nullptr) : json(o.last_error)},
            {"next_attempt_at", o.state == OutboxState::kPending
                                    ? json(FormatTimestampMs(o.next_attempt_at_ms))
                                    : json(nullptr)},
            {"sent_at", o.sent_at_ms ? json(FormatTimestampMs(o.sent_at_ms)) : json(nullptr)},
            {"created_at", FormatTimestampMs(o.created_at_ms)},
            {"contact_id", o.contact_id ? json(o.contact_id) : json(nullptr)},
            {"inbound_id", o.inbound_id ? json(o.inbound_id) : json(nullptr)},
            {"delivery", o.delivery ? json(DeliveryStatusName(*o.delivery)) : json(nullptr)},
            {"delivery_error", o.delivery_error.empty() ? json(nullptr) : json(o.delivery_error)},
            {"delivery_updated_at", o.delivery_updated_at_ms
                                        ? json(FormatTimestampMs(o.delivery_updated_at_ms))
                                        : json(nullptr)}};
  if (o.kind == ReplyKind::kMessage) {
    j["purpose"] = PurposeName(o.purpose);
    j["opt_out_notice"] = o.notice;
    j["send_at"] = o.send_at_ms ? json(FormatTimestampMs(o.send_at_ms)) : json(nullptr);
  }
  return j;
}

json MessageJson(const OutboxItem& o, int64_t now_ms) {
  const SegmentInfo seg = CountSegments(o.body);
  std::string state = OutboxStateName(o.state);
  if (o.state == OutboxState::kPending && o.attempts == 0) {
    state = o.next_attempt_at_ms > now_ms ? "scheduled" : "queued";
  }
  return {{"id", o.id},
          {"state", state},
          {"to", o.to},
          {"from", o.from},
          {"body", o.body},
          {"purpose", PurposeName(o.purpose)},
          {"send_at", FormatTimestampMs(std::max(o.send_at_ms, o.created_at_ms))},
          {"segments", seg.segments},
          {"encoding", SmsEncodingName(seg.encoding)},
          {"opt_out_notice", o.notice},
          {"contact_id", o.contact_id ? json(o.contact_id) : json(nullptr)},
          {"created_at", FormatTimestampMs(o.created_at_ms)}};
}

json MessageJson(const MessageOutcome& out, int64_t now_ms) {
  json j = MessageJson(*out.message, now_ms);
  if (out.deferred) {
    j["deferred"] = {{"reason", "quiet_hours"},
                     {"requested", FormatTimestampMs(out.requested_ms)},
                     {"until", FormatTimestampMs(out.deferred->next_allowed_ms)},
                     {"rule", out.deferred->rule},
                     {"zones", out.deferred->zones}};
  } else if (out.capped_until_ms) {
    j["deferred"] = {{"reason", "frequency_cap"},
                     {"requested", FormatTimestampMs(out.requested_ms)},
                     {"until", FormatTimestampMs(*out.capped_until_ms)},
                     {"zones", json::array()}};
  }
  // Held back by the cap and then by quiet hours: both say when.
  if (out.deferred && out.capped_until_ms) {
    j["deferred"]["frequency_cap_until"] = FormatTimestampMs(*out.capped_until_ms);
  }
  return j;
}

json MessagePreviewJson(const MessageRequest& req, const MessageOutcome& out, int64_t now_ms) {
  json j;
  if (out.message) {
    j = MessageJson(out, now_ms);
    for (const char* unknown_until_queued : {"id", "created_at"}) j.erase(unknown_until_queued);
  } else {
    j = {{"state", "refused"},
         {"body", req.body},
         {"opt_out_notice", false},
         {"purpose", PurposeName(req.purpose)},
         {"send_at", nullptr}};
  }
  j.update(ToJson(CountSegments(j["body"].get<std::string>())));
  if (out.refusal) {
    j["refusal"] = {{"code", SendRefusalCode(out.refusal->why)}, {"message", out.refusal->message}};
  }
  return j;
}

json ToJson(const NumberStatus& s) {
  return {{"number", s.number.number},
          {"kind", NumberKindName(s.number.kind)},
          {"status", SubscriptionStatusName(s.state.status)},
          {"self_opted_out", s.state.self_opted_out},
          {"updated_at",
           s.state.updated_at_ms ? json(FormatTimestampMs(s.state.updated_at_ms)) : json(nullptr)},
          {"source", s.state.updated_at_ms ? json(SourceName(s.state.source)) : json(nullptr)},
          {"may_send", MaySend(s.state)}};
}

json ToJson(const QueuedReply& r) {
  return {{"kind", ReplyKindName(r.kind)},
          {"body", r.body},
          {"encoding", SmsEncodingName(r.segments.encoding)},
          {"characters", r.segments.characters},
          {"segments", r.segments.segments}};
}

json CurrentDecision(json stored) {
  if (stored.is_object() && !stored.contains("rule")) {
    auto matched = stored.find("matched");
    stored["rule"] = matched != stored.end() && matched->is_string() ? *matched : json("");
    stored["matched"] = "";
  }
  return stored;
}

json DecisionJson(const InboundResult& r) {
  json d = CurrentDecision(json::parse(r.decision, nullptr, /*allow_exceptions=*/false));
  if (!d.is_object()) d = json::object();
  d["message_id"] = r.message_id;
  d["duplicate"] = r.duplicate;
  return d;
}

json ToJson(const LedgerCheck& c) {
  json j = {{"account", c.account_id},
            {"ok", c.ok()},
            {"events", c.events},
            {"chain_ok", c.chain_ok},
            {"tree_size", c.tree_size},
            {"heads_checked", c.heads_checked},
            {"batches_checked", c.batches_checked},
            {"status_mismatches", c.status_mismatches},
            {"mismatch_samples", c.mismatch_samples}};
  j["first_bad_event"] = c.failed_seq ? json(*c.failed_seq) : json(nullptr);
  j["failure"] = c.chain_failure ? json(*c.chain_failure) : json(nullptr);
  return j;
}

json ToJson(const MessageWithReplies& m) {
  const InboundMessage& in = m.message;
  json decision = CurrentDecision(json::parse(in.decision, nullptr, /*allow_exceptions=*/false));
  if (decision.is_discarded()) decision = in.decision;  // shown as stored, never hidden
  json replies = json::array();
  for (const OutboxItem& o : m.replies) replies.push_back(ToJson(o));
  return {{"id", in.id},
          {"provider", in.provider},
          {"provider_message_id", in.provider_message_id},
          {"from", in.from},
          {"to", in.to},
          {"number_id", in.number_id ? json(in.number_id) : json(nullptr)},
          {"contact_id", in.contact_id ? json(in.contact_id) : json(nullptr)},
          {"body", in.body},
          {"received_at", FormatTimestampMs(in.received_at_ms)},
          {"decision", std::move(decision)},
          {"replies", std::move(replies)}};
}

json ToJson(const ReviewEntry& e) {
  const ReviewItem& r = e.item;
  const bool open = r.state == ReviewState::kOpen;
  return {{"id", r.id},
          {"state", ReviewStateName(r.state)},
          {"message_id", r.inbound_id},
          {"contact_id", r.contact_id},
          {"number_id", r.number_id},
          {"from", r.from},
          {"to", r.to},
          {"body", r.body},
          {"received_at", FormatTimestampMs(r.received_at_ms)},
          {"rule", r.rule},
          {"explanation", r.explanation},
          {"created_at", FormatTimestampMs(r.created_at_ms)},
          {"age_seconds", e.age_ms / 1000},
          {"overdue", e.overdue},
          {"reviewed_by", open ? json(nullptr) : json(r.reviewed_by)},
          {"reviewed_at", open ? json(nullptr) : json(FormatTimestampMs(r.reviewed_at_ms))},
          {"note", r.note}};
}

}  // namespace smsconsent
