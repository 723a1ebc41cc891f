#include "app/proof.h"

#include <algorithm>
#include <map>
#include <utility>

#include "app/json_views.h"
#include "core/base64.h"
#include "core/phone.h"
#include "core/proof_verify.h"

namespace smsconsent {
namespace {

using nlohmann::json;

constexpr int kProofEventPage = 1000;

// "2026-11-29 14:02:05 UTC": the ISO-8601 form without milliseconds, for sentences.
std::string HumanTime(int64_t ms) {
  std::string iso = FormatTimestampMs(ms);  // 2026-11-29T14:02:05.123Z
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string HumanLegalBasis(const std::string& name) {
  if (name == "existing_customer") {
    return "existing customer, similar products (Danish Markedsf\u00f8ringsloven \u00a710 stk. 2)";
  }
  if (name == "performance_of_contract") return "performance of a contract";
  if (name == "not_subject_to_gdpr") return "not subject to GDPR";
  std::string out = name;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

const char* Verb(const ConsentEvent& e) {
  if (e.from == e.to) {
    switch (e.to) {
      case SubscriptionStatus::kOptedIn:
        return "Confirmed opted in (no change)";
      case SubscriptionStatus::kOptedOut:
        return "Confirmed opted out (no change)";
      case SubscriptionStatus::kNotSpecified:
        return "Confirmed not specified (no change)";
      case SubscriptionStatus::kPendingConfirmation:
        return "Asked again to confirm the opt-in (no change)";
    }
  }
  switch (e.to) {
    case SubscriptionStatus::kOptedIn:
      return "Opted in";
    case SubscriptionStatus::kOptedOut:
      return "Opted out";
    case SubscriptionStatus::kNotSpecified:
      return "Status reset to not specified";
    case SubscriptionStatus::kPendingConfirmation:
      return "Opted in, awaiting the contact's confirmation (double opt-in)";
  }
  return "Changed";
}

const char* StatusPhrase(SubscriptionStatus s) {
  switch (s) {
    case SubscriptionStatus::kOptedIn:
      return "opted in";
    case SubscriptionStatus::kOptedOut:
      return "opted out";
    case SubscriptionStatus::kNotSpecified:
      return "not specified";
    case SubscriptionStatus::kPendingConfirmation:
      return "pending confirmation";
  }
  return "?";
}

// The part of a sentence that says how: "by keyword START sent from +1… to +1…".
std::string HowPhrase(const ConsentEvent& e, const json& ev) {
  const std::string type = ev.is_object() ? Str(ev, "type") : "";
  if (type == "keyword") {
    std::string s;
    if (ev.contains("confirms")) {
      s = "by the reply \"" + Str(ev, "body") + "\" confirming the opt-in";
    } else if (Str(ev, "match_kind") == "free_text") {
      s = "by the free-text message \"" + Str(ev, "body") + "\"";
    } else {
      s = "by keyword " + (Str(ev, "rule").empty() ? Str(ev, "body") : Str(ev, "rule"));
      if (Str(ev, "body") != Str(ev, "rule")) s += " (message \"" + Str(ev, "body") + "\")";
    }
    s += " sent from " + (Str(ev, "from").empty() ? e.phone : Str(ev, "from")) + " to " +
         (Str(ev, "to").empty() ? e.sender : Str(ev, "to"));
    if (Str(ev, "scope") == "account") s += ", applied account-wide to " + e.sender;
    return s;
  }
  if (type == "attestation") {
    std::string s =
        "by " + (e.actor.empty() ? Str(ev, "actor") : e.actor) + " (" + SourceName(e.source) + ")";
    if (ev.value("attested_express_consent", false)) {
      s += ", attested express consent";
    } else if (e.to == SubscriptionStatus::kOptedIn) {
      s += ", without an attestation of express consent";
    }
    if (!Str(ev, "legal_basis").empty())
      s += ", legal basis " + HumanLegalBasis(Str(ev, "legal_basis"));
    if (!Str(ev, "explanation").empty()) s += ", explanation: \"" + Str(ev, "explanation") + "\"";
    return s;
  }
  if (type == "contact_request") {
    // "at the contact's request by phone, recorded by user:alice, received <date> (2 US
    // business days before it took effect), explanation: "…""
    const std::string channel = Str(ev, "channel");
    static const std::map<std::string, std::string> kHow = {
        {"phone", "by phone"},     {"email", "by email"}, {"in_person", "in person"},
        {"web", "by web form"},    {"mail", "by letter"}, {"other_sms", "by another text message"},
        {"sms", "by text message"}};
    const auto how = kHow.find(channel);
    std::string s = "at the contact's own request " +
                    (how != kHow.end() ? how->second : "by " + channel) + ", recorded by " +
                    (e.actor.empty() ? Str(ev, "actor") : e.actor);
    if (ev.contains("inbound_message_id") && ev["inbound_message_id"].is_number_integer()) {
      s += " from inbound message " + std::to_string(ev["inbound_message_id"].get<int64_t>());
    }
    if (ev.contains("received_at_ms") && ev["received_at_ms"].is_number_integer()) {
      s += ", received " + HumanTime(ev["received_at_ms"].get<int64_t>());
      if (ev.contains("business_days") && ev["business_days"].is_number_integer()) {
        s += " (" + std::to_string(ev["business_days"].get<int64_t>()) +
             " US business day(s) before it took effect" +
             (ev.value("late", false) ? ", more than the FCC's 10" : "") + ")";
      }
    }
    if (!Str(ev, "explanation").empty()) s += ", explanation: \"" + Str(ev, "explanation") + "\"";
    return s;
  }
  if (type == "carrier") {
    // "as reported by the carrier through twilio (error 21610: …), which refused message 7
    // because the recipient had texted STOP"
    std::string s = "as reported by the carrier through " + Str(ev, "provider");
    if (!Str(ev, "error_code").empty()) s += " (error " + Str(ev, "error_code") + ")";
    s += ": the contact had texted STOP to this sender";
    if (ev.contains("outbox_id") && ev["outbox_id"].is_number_integer()) {
      s += ", reported for message " + std::to_string(ev["outbox_id"].get<int64_t>());
    }
    return s;
  }
  return "by " + e.actor + " (" + SourceName(e.source) + ")";
}

std::string Describe(const ConsentEvent& e, const json& ev) {
  return std::string(Verb(e)) + " on " + e.sender + " " + HowPhrase(e, ev) + ".";
}

// "On +1555… (long_code): opted in on <date> by keyword START sent from …".
std::string SummaryLine(const NumberStatus& ns, const std::vector<ProofEvent>& events) {
  std::string head = "On " + ns.number.number + " (" + NumberKindName(ns.number.kind) + "): ";
  const bool any = std::any_of(events.begin(), events.end(), [&](const ProofEvent& pe) {
    return pe.event.number_id == ns.number.id;
  });
  if (ns.state.updated_at_ms == 0) {
    if (!any) return head + "no consent event recorded (not specified).";
    return head + StatusPhrase(ns.state.status) +
           "; the status has never changed (the events below left it as it was).";
  }
  // The event that put the pair in its current state, which the status's since and source
  // describe: the newest change to it, else the newest event on the number. No-change events
  // after it are evidence, not its basis.
  const ProofEvent* basis = nullptr;
  for (const ProofEvent& pe : events) {
    const ConsentEvent& e = pe.event;
    if (e.number_id != ns.number.id) continue;
    if (e.to == ns.state.status && e.from != e.to) basis = &pe;
  }
  if (!basis) {
    for (const ProofEvent& pe : events) {
      if (pe.event.number_id == ns.number.id) basis = &pe;
    }
  }
  std::string s = head + StatusPhrase(ns.state.status);
  if (!basis) return s + " since " + HumanTime(ns.state.updated_at_ms) + " (no event found).";
  const ConsentEvent& e = basis->event;
  const json& ev = basis->evidence;
  if (ev.is_object() && Str(ev, "type") == "attestation") {
    // "opted in by user:alice on <date>, attested express consent, legal basis …"
    std::string how = HowPhrase(e, ev);  // "by ACTOR (source), attested…"
    const size_t first_comma = how.find(", ");
    const std::string who = first_comma == std::string::npos ? how : how.substr(0, first_comma);
    const std::string rest = first_comma == std::string::npos ? "" : how.substr(first_comma);
    s += " " + who + " on " + HumanTime(e.at_ms) + rest;
  } else {
    s += " on " + HumanTime(e.at_ms) + " " + HowPhrase(e, ev);
  }
  if (ns.state.self_opted_out) {
    // A user's opt-out becomes the contact's own when they confirm it by keyword: name that
    // confirmation, the event that made it binding.
    const ProofEvent* confirmed = nullptr;
    if (!IsContactSource(e.source)) {
      for (const ProofEvent& pe : events) {
        const ConsentEvent& c = pe.event;
        if (c.number_id == ns.number.id && c.seq > e.seq && IsContactSource(c.source) &&
            c.from == c.to && c.to == SubscriptionStatus::kOptedOut) {
          confirmed = &pe;
          break;
        }
      }
    }
    if (confirmed) {
      s += "; the contact confirmed it on " + HumanTime(confirmed->event.at_ms) + " " +
           HowPhrase(confirmed->event, confirmed->evidence) +
           ", so it is their own opt-out, which no user can override";
    } else {
      s += "; this is the contact's own opt-out, which no user can override";
    }
  }
  return s + ".";
}

Result<Contact> FindSubject(ConsentService& service, ConsentStore& store, const Account& account,
                            const ProofSubject& subject) {
  if (subject.contact_id.has_value() == subject.phone.has_value()) {
    return InvalidArgument("name the contact by exactly one of id and phone");
  }
  if (subject.contact_id) return store.GetContact(account.id, *subject.contact_id);
  SMSC_ASSIGN_OR_RETURN(PhoneNumber p,
                        service.phones().Normalize(*subject.phone, account.default_region));
  return store.FindContactByPhone(account.id, p.e164);
}

json StatusJson(const NumberStatus& s) {
  json j = ToJson(s);
  j["number_id"] = s.number.id;
  return j;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Result<ConsentProof> BuildConsentProof(ConsentService& service, ConsentStore& store,
                                       LedgerService& ledger, const Clock& clock,
                                       int64_t account_id, const ProofSubject& subject) {
  ConsentProof proof;
  proof.generated_at_ms = clock.NowMs();
  // ListNumbers checks the account and its Marketing SMS Access add-on.
  SMSC_ASSIGN_OR_RETURN(auto numbers, service.ListNumbers(account_id));
  SMSC_ASSIGN_OR_RETURN(proof.account, service.GetAccount(account_id));
  SMSC_ASSIGN_OR_RETURN(proof.contact, FindSubject(service, store, proof.account, subject));
  SMSC_ASSIGN_OR_RETURN(auto rows, store.GetStatuses(proof.account.id, proof.contact.id));
  std::sort(numbers.begin(), numbers.end(),
            [](const SenderNumber& a, const SenderNumber& b) { return a.id < b.id; });
  for (const SenderNumber& n : numbers) {
    NumberStatus ns{n, {}};
    for (const StatusRow& r : rows) {
      if (r.number_id == n.id) ns.state = r.state;
    }
    proof.statuses.push_back(std::move(ns));
  }

  // The signed head the proof rests on: the account's events so far, integrated.
  SMSC_ASSIGN_OR_RETURN(proof.ledger.head, ledger.CurrentHead(proof.account.id));
  const SignedTreeHead& head = proof.ledger.head;
  proof.ledger.public_key = ledger.key().PublicKeyRaw();
  if (head.key_id != ledger.key().KeyId()) {
    // Signed by another instance's key: the one the store recorded for it.
    SMSC_ASSIGN_OR_RETURN(auto keys, store.ListLedgerKeys());
    for (const auto& [id, raw] : keys) {
      if (id == head.key_id) proof.ledger.public_key = raw;
    }
  }
  auto fail = [&](const std::string& why) {
    proof.ledger.ok = false;
    if (!proof.ledger.failure) proof.ledger.failure = why;
  };
  if (!VerifyTreeHead(head, proof.ledger.public_key)) {
    fail("the tree head's signature does not verify with key " + head.key_id);
  }

  // The contact's events, each with its inclusion proof; those written after the head are left
  // for the next proof.
  EventQuery q;
  q.limit = kProofEventPage;
  q.contact_id = proof.contact.id;
  bool past_head = false;
  EvidenceBatches known;  // batch documents read so far (missing ones empty)
  while (!past_head) {
    SMSC_ASSIGN_OR_RETURN(auto page, store.ListEvents(proof.account.id, q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    SMSC_RETURN_IF_ERROR(AttachBatchDocuments(store, proof.account.id, page, known));
    for (ConsentEvent& e : page) {
      if (e.seq > head.head.size) {
        past_head = true;
        break;
      }
      ProofEvent pe;
      pe.leaf_data = LeafData(e);
      pe.leaf_hash = merkle::LeafHash(pe.leaf_data);
      SMSC_ASSIGN_OR_RETURN(pe.inclusion,
                            ledger.InclusionProof(proof.account.id, e.seq - 1, head.head.size));
      pe.included = merkle::VerifyInclusion(pe.leaf_hash, e.seq - 1, head.head.size, pe.inclusion,
                                            head.head.root);
      if (!pe.included) fail("event seq " + std::to_string(e.seq) + " is not in the signed tree");
      if (!e.batch_hash.empty()) {
        if (e.batch_document.empty()) {
          fail("event seq " + std::to_string(e.seq) + " names batch document " + e.batch_hash +
               ", which the store does not hold");
        } else if (Sha256Hex(e.batch_document) != e.batch_hash) {
          fail("batch document " + e.batch_hash + " (named by event seq " + std::to_string(e.seq) +
               ") does not hash to its name");
          proof.batches.emplace(e.batch_hash, e.batch_document);  // as stored, for the record
        } else {
          proof.batches.emplace(e.batch_hash, e.batch_document);
        }
      }
      pe.evidence = EvidenceJson(e);  // with its batch's document
      pe.description = Describe(e, pe.evidence);
      pe.event = std::move(e);
      proof.events.push_back(std::move(pe));
    }
  }

  for (const NumberStatus& ns : proof.statuses)
    proof.summary.push_back(SummaryLine(ns, proof.events));
  return proof;
}

json ConsistencyToJson(const ConsistencyAnswer& a) {
  json proof = json::array();
  for (const merkle::Hash& h : a.proof) proof.push_back(merkle::ToHex(h));
  return {{"format", "smsconsent-consistency-v1"},
          {"account", a.to.head.account_id},
          {"from", SignedTreeHeadToJson(a.from)},
          {"to", SignedTreeHeadToJson(a.to)},
          {"proof", std::move(proof)}};
}

json ProofToJson(const ConsentProof& p) {
  json statuses = json::array();
  for (const NumberStatus& s : p.statuses) statuses.push_back(StatusJson(s));
  json events = json::array();
  for (const ProofEvent& pe : p.events) {
    const ConsentEvent& e = pe.event;
    json inclusion = json::array();
    for (const merkle::Hash& h : pe.inclusion) inclusion.push_back(merkle::ToHex(h));
    json j = ToJson(e);  // seq, at, number, phone, from, to, changed, source, actor, evidence, …
    j["format"] = e.format;
    j["encoding"] = pe.leaf_data;
    j["leaf_hash"] = merkle::ToHex(pe.leaf_hash);
    j["inclusion"] = std::move(inclusion);
    j["included"] = pe.included;
    j["at_ms"] = e.at_ms;
    j["account_id"] = e.account_id;
    j["contact_id"] = e.contact_id;
    j["number_id"] = e.number_id;
    j["description"] = pe.description;
    j["evidence_text"] = e.evidence;
    events.push_back(std::move(j));
  }
  json batches = json::object();
  for (const auto& [hash, document] : p.batches) batches[hash] = document;
  json contact = ToJson(p.contact);
  json ledger = {{"ok", p.ledger.ok},
                 {"public_key", base64::Encode(p.ledger.public_key)},
                 {"failure", p.ledger.failure ? json(*p.ledger.failure) : json(nullptr)}};
  return {{"format", "smsconsent-proof-v2"},
          {"title", "Consent record for " + p.contact.phone},
          {"generated_at", FormatTimestampMs(p.generated_at_ms)},
          {"account", p.account.id},
          {"account_name", p.account.name},
          {"contact", contact},
          {"statuses", statuses},
          {"summary", p.summary},
          {"tree_head", SignedTreeHeadToJson(p.ledger.head)},
          {"events", events},
          {"batches", batches},
          {"ledger", ledger},
          {"verification",
           {{"algorithm",
             "RFC 9162 Merkle tree (SHA-256) over the account's events, tree head signed with "
             "Ed25519"},
            {"description", "docs/ledger.md"}}}};
}

namespace {

constexpr char kCss[] = R"css(
body { font-family: Georgia, "Times New Roman", serif; color: #111; max-width: 60em;
       margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 1.6em; }
.meta { color: #444; font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
code, pre, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .82em;
                   overflow-wrap: anywhere; word-break: break-all; }
pre { white-space: pre-wrap; background: #f6f6f6; border: 1px solid #ddd; padding: .5em; }
.event { border: 1px solid #bbb; padding: .5em .8em; margin: .8em 0; page-break-inside: avoid; }
.event h3 { font-size: 1em; margin: 0 0 .3em 0; }
.ok { color: #05620e; font-weight: bold; }
.bad { color: #a00000; font-weight: bold; }
.banner { border: 2px solid #a00000; background: #fde8e8; padding: .6em .8em; margin: 1em 0; }
.verified { border: 2px solid #05620e; background: #e8f6ea; padding: .6em .8em; margin: 1em 0; }
ul.summary li { margin: .3em 0; }
.disclaimer { color: #444; font-size: .9em; border-top: 1px solid #bbb; padding-top: .5em; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } .event { border-color: #888; } }
)css";

void Row(std::string& h, std::string_view k, std::string_view v, bool mono = false) {
  h += "<tr><th>";
  h += HtmlEscape(k);
  h += mono ? "</th><td class=\"hash\">" : "</th><td>";
  h += HtmlEscape(v);
  h += "</td></tr>\n";
}

std::string Mark(bool ok) {
  return ok ? "<span class=\"ok\">verified</span>" : "<span class=\"bad\">DOES NOT MATCH</span>";
}

}  // namespace

std::string ProofToHtml(const ConsentProof& p) {
  const std::string title = "Consent record for " + p.contact.phone;
  std::string h;
  h.reserve(16 * 1024);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + HtmlEscape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  h += "<h1>" + HtmlEscape(title) + "</h1>\n";
  h += "<p class=\"meta\">Account " + HtmlEscape(p.account.name) + " (id " +
       std::to_string(p.account.id) + ") &middot; generated " +
       HtmlEscape(FormatTimestampMs(p.generated_at_ms)) +
       " by smsconsent from its signed, append-only "
       "consent ledger</p>\n";

  if (!p.ledger.ok) {
    h += "<div class=\"banner\"><strong>Warning: this record does not verify.</strong> " +
         HtmlEscape(p.ledger.failure.value_or("")) +
         ". Records it concerns cannot be relied on as unaltered.</div>\n";
  }

  h += "<h2>Summary</h2>\n<ul class=\"summary\">\n";
  for (const std::string& s : p.summary) h += "<li>" + HtmlEscape(s) + "</li>\n";
  h += "</ul>\n";

  h += "<h2>Contact</h2>\n<table>\n";
  Row(h, "Phone", p.contact.phone);
  if (!p.contact.name.empty()) Row(h, "Name", p.contact.name);
  if (!p.contact.email.empty()) Row(h, "Email", p.contact.email);
  const json props = json::parse(p.contact.properties, nullptr, /*allow_exceptions=*/false);
  if (props.is_object()) {
    for (const auto& [k, v] : props.items()) {
      Row(h, "Property: " + k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  Row(h, "Contact id", std::to_string(p.contact.id));
  Row(h, "Created", FormatTimestampMs(p.contact.created_at_ms));
  h += "</table>\n";

  h += "<h2>Current status</h2>\n<table>\n<tr><th>Sender number</th><th>Kind</th><th>Status</th>"
       "<th>Since</th><th>Source</th><th>May send</th></tr>\n";
  for (const NumberStatus& s : p.statuses) {
    const bool set = s.state.updated_at_ms != 0;
    h += "<tr><td>" + HtmlEscape(s.number.number) + "</td><td>" +
         HtmlEscape(NumberKindName(s.number.kind)) + "</td><td>" +
         HtmlEscape(SubscriptionStatusName(s.state.status)) +
         (s.state.self_opted_out ? " (the contact's own)" : "") + "</td><td>" +
         (set ? HtmlEscape(FormatTimestampMs(s.state.updated_at_ms)) : "&ndash;") + "</td><td>" +
         (set ? HtmlEscape(SourceName(s.state.source)) : "&ndash;") + "</td><td>" +
         (MaySend(s.state) ? "yes" : "no") + "</td></tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Timeline</h2>\n";
  if (p.events.empty()) h += "<p>No consent events are recorded for this contact.</p>\n";
  for (const ProofEvent& pe : p.events) {
    const ConsentEvent& e = pe.event;
    h += "<div class=\"event\">\n<h3>" + HtmlEscape(FormatTimestampMs(e.at_ms)) + " &middot; " +
         HtmlEscape(e.sender) + " &middot; " + HtmlEscape(SubscriptionStatusName(e.from)) +
         " &rarr; " + HtmlEscape(SubscriptionStatusName(e.to)) + "</h3>\n";
    h += "<p>" + HtmlEscape(pe.description) + "</p>\n<table>\n";
    Row(h, "Ledger seq", std::to_string(e.seq));
    Row(h, "Source / actor", std::string(SourceName(e.source)) + " / " + e.actor);
    if (pe.evidence.is_object()) {
      for (const auto& [k, v] : pe.evidence.items()) {
        Row(h, "Evidence: " + k, v.is_string() ? v.get<std::string>() : v.dump());
      }
    } else {
      Row(h, "Evidence (not JSON)", e.evidence);
    }
    if (!e.batch_hash.empty()) Row(h, "Batch document (SHA-256)", e.batch_hash, true);
    Row(h, "Leaf hash", merkle::ToHex(pe.leaf_hash), true);
    h += "<tr><th>Checks</th><td>in the signed ledger (inclusion proof): " + Mark(pe.included) +
         "</td></tr>\n";
    h += "</table>\n</div>\n";
  }

  const TreeHead& head = p.ledger.head.head;
  h += "<h2>Verification</h2>\n";
  if (p.ledger.ok) {
    h += "<div class=\"verified\"><span class=\"ok\">This record verifies.</span> The tree "
         "head below is signed with the installation's key, and each event above is proven to "
         "be in the account's ledger of " +
         std::to_string(head.size) + " events that the head describes.</div>\n";
  } else {
    h += "<div class=\"banner\"><span class=\"bad\">This record does NOT verify.</span> " +
         HtmlEscape(p.ledger.failure.value_or("")) + "</div>\n";
  }
  h += "<table>\n";
  Row(h, "Events in the account's ledger", std::to_string(head.size));
  Row(h, "Tree root (SHA-256)", merkle::ToHex(head.root), true);
  Row(h, "Tree head signed at", FormatTimestampMs(head.at_ms));
  Row(h, "Signing key id", p.ledger.head.key_id, true);
  Row(h, "Public key (base64)", base64::Encode(p.ledger.public_key), true);
  Row(h, "Signature (base64)", base64::Encode(p.ledger.head.signature), true);
  Row(h, "Generated at", FormatTimestampMs(p.generated_at_ms));
  h += "</table>\n";
  h += "<p>How to check this record without our software: the account's consent events are the "
       "leaves of a Merkle tree (RFC 9162, SHA-256). Each event's leaf is the SHA-256 of a zero "
       "byte followed by its encoding, shown below; the encoding's first line names its format "
       "(<code>smsconsent-ledger-v1</code> or <code>-v2</code>), and each further line is one "
       "field written as <code>name:byte-length:value</code>, where <code>at</code> is "
       "milliseconds since 1970-01-01 UTC and <code>evidence</code> the stored JSON text byte "
       "for byte. The evidence a bulk change shares among its events is kept once, as a batch "
       "document named by its SHA-256 in the <code>batch</code> line; the JSON form of this "
       "record carries each such document (<code>batches</code>), which must hash to its name. "
       "Combining the leaf with the hashes of its inclusion proof (in the JSON form "
       "of this record) must give the root above, and the root, size, time and account, "
       "encoded as docs/ledger.md says, must carry the Ed25519 signature above under the "
       "business's public key. Changing any event changes its leaf, and no signed head would "
       "match it; a tree head kept from earlier lets you ask for a consistency proof that the "
       "ledger was only appended to since (<code>smsconsent ledger consistency</code>).</p>\n";
  for (const ProofEvent& pe : p.events) {
    h += "<p>Event seq " + std::to_string(pe.event.seq) + " &mdash; leaf SHA-256 " +
         "<span class=\"hash\">" + HtmlEscape(merkle::ToHex(pe.leaf_hash)) + "</span> " +
         Mark(pe.included) + "</p>\n<pre>" + HtmlEscape(pe.leaf_data) + "</pre>\n";
  }
  h += "<p class=\"disclaimer\">This record shows what smsconsent stored and how to check "
       "it. It is not legal advice: whether the consent it shows meets the law that applies "
       "is for the business and its counsel to decide.</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace smsconsent
