// smsconsent: the command-line entry point. Only parsing and printing live here; every rule
// is in ConsentService (src/app) and the core.
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

#include "app/config.h"
#include "app/consent_service.h"
#include "app/json_views.h"
#include "app/system_clock.h"
#include "cli/bulk_commands.h"
#include "cli/export_commands.h"
#include "cli/ledger_commands.h"
#include "cli/migrate_command.h"
#include "cli/output.h"
#include "cli/review_commands.h"
#include "cli/serve.h"
#include "cli/user_commands.h"
#include "cli/version.h"
#include "core/contact_filter.h"  // ParseTimeSpan
#include "core/json_text.h"
#include "store/store.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

std::vector<std::string> SplitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

void PrintReplies(std::ostream& os, const std::vector<QueuedReply>& replies) {
  for (const QueuedReply& r : replies) {
    os << "  reply queued (" << ReplyKindName(r.kind) << ", "
       << SmsEncodingName(r.segments.encoding) << ", " << r.segments.characters << " chars, "
       << r.segments.segments << (r.segments.segments == 1 ? " segment" : " segments") << "):\n    "
       << r.body << "\n";
  }
}

std::string DescribeEvidence(const ConsentEvent& e) {
  const json ev = EvidenceJson(e);  // with its batch's document, if any
  if (!ev.is_object()) return e.evidence;
  if (ev.value("type", "") == "keyword") {
    return "text \"" + ev.value("body", "") + "\" (" + ev.value("explanation", "") + ")";
  }
  if (ev.value("type", "") == "contact_request") {
    std::string s = "the contact's request by " + ev.value("channel", "");
    if (ev.contains("received_at_ms") && ev["received_at_ms"].is_number_integer()) {
      s += ", received " + FormatTimestampMs(ev["received_at_ms"].get<int64_t>());
    }
    if (ev.contains("business_days") && ev["business_days"].is_number_integer()) {
      s += ", " + std::to_string(ev["business_days"].get<int64_t>()) + " US business day(s)";
      if (ev.value("late", false)) s += " (late: more than 10)";
    }
    if (!ev.value("explanation", "").empty()) s += ", \"" + ev.value("explanation", "") + "\"";
    return s;
  }
  std::string s =
      "attested=" + std::string(ev.value("attested_express_consent", false) ? "yes" : "no");
  if (ev.contains("legal_basis") && ev["legal_basis"].is_string()) {
    s += ", legal basis " + ev["legal_basis"].get<std::string>();
  }
  if (!ev.value("explanation", "").empty()) s += ", \"" + ev.value("explanation", "") + "\"";
  return s;
}

struct Globals {
  std::string db;
  std::string ledger_key;  // --ledger-key; empty: LedgerKeyPath's default
  bool json = false;
};

class App {
 public:
  explicit App(const Globals& g) : globals_(g) {}

  Status Open() {
    auto store = OpenStore(globals_.db);
    if (!store.ok()) return store.status();
    store_ = std::move(store).value();
    service_ = std::make_unique<ConsentService>(*store_, clock_);
    return Status::Ok();
  }
  ConsentService& service() { return *service_; }
  const Clock& clock() const { return clock_; }
  Output out() const { return Output{globals_.json}; }

 private:
  Globals globals_;
  SystemClock clock_;
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<ConsentService> service_;
};

}  // namespace

int Main(int argc, char** argv) {
  CLI::App cli{
      "smsconsent: records who agreed to receive SMS, on which number, since when and "
      "on what evidence, and enforces it."};
  cli.require_subcommand(1);
  Globals g;
  const char* env_db = std::getenv("SMSCONSENT_DB");
  g.db = env_db && *env_db ? env_db : "smsconsent.db";
  cli.add_option("--db", g.db, "SQLite database file, or postgresql://… URL (env SMSCONSENT_DB)")
      ->capture_default_str();
  cli.add_option("--ledger-key", g.ledger_key,
                 "the Ed25519 key (PEM) that signs tree heads, created on first use (env "
                 "SMSCONSENT_LEDGER_KEY; default: beside a SQLite database, DB-ledger-key.pem)")
      ->envname("SMSCONSENT_LEDGER_KEY");
  cli.add_flag("--json", g.json, "print one JSON document on stdout");
  // Added after --json, whose value is therefore set when this runs: CLI11 runs the flags'
  // callbacks in the order they were added, once the whole command line is parsed.
  cli.set_version_flag(
      "--version",
      [&g]() -> std::string {
        if (g.json) return json{{"version", Version()}, {"revision", Revision()}}.dump(2);
        return "smsconsent " + std::string(Version()) + " (git " + std::string(Revision()) + ")";
      },
      "print the version and git revision and exit");

  std::function<int()> run;
  auto with_app = [&](auto fn) {
    return [&g, fn]() -> int {
      App app(g);
      Status st = app.Open();
      if (!st.ok()) return Output::Fail(st);
      return fn(app);
    };
  };

  // ---- account ----
  auto* account = cli.add_subcommand("account", "accounts (workspaces)");
  account->require_subcommand(1);
  NewAccount new_account;
  std::string addons, scope = "number";
  auto* account_create =
      account->add_subcommand("create", "create an account and print its API key");
  account_create->add_option("--name", new_account.name, "account name")->required();
  account_create->add_option("--addons", addons,
                             "comma-separated: marketing_sms_access,sms_short_code");
  account_create
      ->add_option("--region", new_account.region,
                   "default region for national phone formats (ISO, e.g. DK)")
      ->capture_default_str();
  account_create
      ->add_option("--opt-out-scope", scope,
                   "what a plain STOP covers: number (default) or account")
      ->capture_default_str();
  account_create->callback([&] {
    run = with_app([&](App& app) {
      new_account.addons = SplitCsv(addons);
      auto parsed_scope = ParseOptOutScope(scope);
      if (!parsed_scope.ok()) return Output::Fail(parsed_scope.status());
      new_account.opt_out_scope = *parsed_scope;
      auto r = app.service().CreateAccount(new_account);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = ToJson(r->account);
      doc["api_key"] = r->api_key;
      return app.out().Print(doc, [&](std::ostream& os) {
        os << "account " << r->account.id << " (" << r->account.name << ") created\n"
           << "  add-ons: " << (doc["addons"].empty() ? "none" : Join(doc["addons"])) << "\n"
           << "  API key: " << r->api_key << "  (shown once; store it now)\n";
      });
    });
  });

  auto* account_list = account->add_subcommand("list", "list accounts");
  account_list->callback([&] {
    run = with_app([&](App& app) {
      auto ids = app.service().ListAccountIds();
      if (!ids.ok()) return Output::Fail(ids.status());
      json doc = json::array();
      std::vector<Account> accounts;
      for (int64_t id : *ids) {
        auto a = app.service().GetAccount(id);
        if (!a.ok()) return Output::Fail(a.status());
        doc.push_back(ToJson(*a));
        accounts.push_back(*a);
      }
      return app.out().Print(doc, [&](std::ostream& os) {
        if (accounts.empty()) os << "no accounts\n";
        for (const auto& a : accounts) {
          os << std::setw(4) << a.id << "  " << a.name << "  ("
             << (a.marketing_sms_access ? "marketing_sms_access" : "no SMS access")
             << (a.sms_short_code ? ", sms_short_code" : "") << ")\n";
        }
      });
    });
  });

  // ---- number ----
  auto* number = cli.add_subcommand("number", "sender numbers");
  number->require_subcommand(1);
  NewNumber new_number;
  std::string kind = "long_code", languages;
  bool no_free_text = false;
  auto* number_add = number->add_subcommand("add", "register a sender number");
  number_add->add_option("--account", new_number.account_id, "account id")->required();
  number_add->add_option("--number", new_number.number, "E.164 number or short code")->required();
  number_add->add_option("--kind", kind, "long_code, toll_free or short_code")
      ->capture_default_str();
  number_add->add_option("--country", new_number.country,
                         "ISO country (required meaning for short codes; default: account region)");
  number_add->add_option("--languages", languages,
                         "keyword languages, e.g. da,en (default: from the country)");
  number_add->add_option("--business-name", new_number.business_name,
                         "name used in replies (default: the account name)");
  number_add->add_flag("--opt-in-confirmation", new_number.opt_in_confirmation,
                       "also confirm manual/bulk opt-ins (short codes always do)");
  number_add->add_flag("--double-opt-in", new_number.double_opt_in,
                       "opt-ins wait for the contact's YES to the request to confirm");
  number_add->add_flag("--no-free-text", no_free_text,
                       "recognise exact keywords only, not free-text opt-out requests");
  number_add->callback([&] {
    run = with_app([&](App& app) {
      auto k = ParseNumberKind(kind);
      if (!k.ok()) return Output::Fail(k.status());
      new_number.kind = *k;
      new_number.languages = SplitCsv(languages);
      new_number.free_text = !no_free_text;
      auto r = app.service().AddNumber(new_number);
      if (!r.ok()) return Output::Fail(r.status());
      return app.out().Print(ToJson(*r), [&](std::ostream& os) {
        os << "number " << r->id << ": " << r->number << " (" << NumberKindName(r->kind) << ", "
           << r->country << ", languages " << Join(r->keywords.languages) << ")\n";
      });
    });
  });
  int64_t list_account = 0;
  auto* number_list = number->add_subcommand("list", "list an account's sender numbers");
  number_list->add_option("--account", list_account, "account id")->required();
  number_list->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().ListNumbers(list_account);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = json::array();
      for (const auto& n : *r) doc.push_back(ToJson(n));
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->empty()) os << "no sender numbers\n";
        for (const auto& n : *r) {
          os << std::setw(4) << n.id << "  " << std::setw(14) << n.number << "  "
             << NumberKindName(n.kind) << "  " << n.country << "  " << Join(n.keywords.languages)
             << "\n";
        }
      });
    });
  });

  // ---- contact ----
  auto* contact = cli.add_subcommand("contact", "contacts");
  contact->require_subcommand(1);
  int64_t contact_account = 0;
  std::string contact_phone, contact_name, contact_email;
  auto* contact_add = contact->add_subcommand("add", "add a contact");
  contact_add->add_option("--account", contact_account, "account id")->required();
  contact_add->add_option("--phone", contact_phone, "phone (any format; E.164 stored)")->required();
  contact_add->add_option("--name", contact_name, "name");
  contact_add->add_option("--email", contact_email, "email");
  contact_add->callback([&] {
    run = with_app([&](App& app) {
      auto r =
          app.service().AddContact(contact_account, contact_phone, contact_name, contact_email);
      if (!r.ok()) return Output::Fail(r.status());
      return app.out().Print(ToJson(*r), [&](std::ostream& os) {
        os << "contact " << r->id << ": " << r->phone
           << (r->name.empty() ? "" : " (" + r->name + ")") << "\n";
      });
    });
  });
  ContactQuery contact_query;
  auto* contact_list = contact->add_subcommand("list", "list contacts (paged by id)");
  contact_list->add_option("--account", contact_account, "account id")->required();
  contact_list->add_option("--search", contact_query.search, "substring of phone or name");
  contact_list->add_option("--after", contact_query.after_id, "cursor: last id of previous page");
  contact_list->add_option("--limit", contact_query.limit, "page size")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  contact_list->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().ListContacts(contact_account, contact_query);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = json::array();
      for (const auto& c : *r) doc.push_back(ToJson(c));
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->empty()) os << "no contacts\n";
        for (const auto& c : *r) {
          os << std::setw(6) << c.id << "  " << std::setw(16) << c.phone << "  " << c.name << "\n";
        }
      });
    });
  });

  // ---- sms receive ----
  auto* sms = cli.add_subcommand("sms", "inbound SMS, and messages to send");
  sms->require_subcommand(1);
  InboundSms inbound;
  auto* sms_receive = sms->add_subcommand(
      "receive",
      "simulate an inbound SMS: decide, record, queue replies (the account is found "
      "by --to)");
  sms_receive->add_option("--from", inbound.from, "the contact's phone")->required();
  sms_receive->add_option("--to", inbound.to, "the registered sender number")->required();
  sms_receive->add_option("--body", inbound.body, "message text")->required();
  sms_receive->add_option("--message-id", inbound.message_id,
                          "provider message id; a repeat changes nothing");
  sms_receive->add_option("--provider", inbound.provider, "provider name")->capture_default_str();
  sms_receive->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().ReceiveSms(inbound);
      if (!r.ok()) return Output::Fail(r.status());
      const json d = DecisionJson(*r);
      return app.out().Print(d, [&](std::ostream& os) {
        os << (r->duplicate ? "duplicate of an earlier message: nothing changed\n" : "")
           << "intent: " << d.value("intent", "none") << " — " << d.value("explanation", "")
           << "\nstatus on " << d.value("to", "") << ": " << d.value("status_before", "") << " -> "
           << d.value("status_after", "") << "\n";
        for (const auto& t : d["transitions"]) {
          if (t["number"] != d["to"]) {
            os << "  also " << t["number"].get<std::string>() << ": "
               << t["from"].get<std::string>() << " -> " << t["to"].get<std::string>() << "\n";
          }
        }
        if (r->match.kind == MatchKind::kPossibleOptOut) {
          os << "  possible opt-out: waiting for a person (smsconsent reviews list)\n";
        }
        for (const auto& rep : d["replies"]) {
          os << "  reply queued (" << rep["kind"].get<std::string>() << ", "
             << rep["encoding"].get<std::string>() << ", " << rep["segments"].get<int>()
             << " segment(s)):\n    " << rep["body"].get<std::string>() << "\n";
        }
      });
    });
  });

  // ---- sms send ----
  MessageRequest outgoing;
  int64_t send_account = 0;
  std::string send_purpose = "marketing", send_at;
  auto* sms_send = sms->add_subcommand(
      "send",
      "queue a message to send from one of the account's numbers, refused (exit 3) unless the "
      "recipient's consent allows it (docs/sending.md); `serve` sends it");
  sms_send->add_option("--account", send_account, "account id")->required();
  sms_send->add_option("--to", outgoing.to, "the recipient's phone")->required();
  sms_send->add_option("--from", outgoing.from, "the sender number as registered")->required();
  sms_send->add_option("--body", outgoing.body, "message text")->required();
  sms_send->add_option("--purpose", send_purpose, "marketing or transactional")
      ->capture_default_str();
  sms_send->add_option("--send-at", send_at,
                       "when to send it: a date-time with Z or an offset (default: at once)");
  sms_send->add_option("--idempotency-key", outgoing.idempotency_key,
                       "the same key with the same message queues it once");
  sms_send->callback([&] {
    run = with_app([&](App& app) {
      auto purpose = ParsePurpose(send_purpose);
      if (!purpose.ok()) return Output::Fail(purpose.status());
      outgoing.purpose = *purpose;
      if (!send_at.empty()) {
        auto span = ParseTimeSpan(send_at);
        if (!span.ok()) return Output::Fail(span.status());
        if (span->end_ms - span->start_ms != 1) {
          return Output::Fail(
              InvalidArgument("--send-at must be a date and time with Z or an "
                              "offset"));
        }
        outgoing.send_at_ms = span->start_ms;
      }
      auto r = app.service().SendMessage(send_account, outgoing);
      if (!r.ok()) return Output::Fail(r.status());
      if (r->refusal) {
        return Output::Fail(
            Status(StatusCode::kFailedPrecondition,
                   std::string(SendRefusalCode(r->refusal->why)) + ": " + r->refusal->message));
      }
      const json m = MessageJson(*r, app.clock().NowMs());
      return app.out().Print(m, [&](std::ostream& os) {
        os << "message " << m["id"] << " " << m["state"].get<std::string>()
           << (r->replayed ? " (queued before with this key)" : "") << ": to "
           << m["to"].get<std::string>() << " from " << m["from"].get<std::string>() << ", "
           << m["segments"] << " segment(s) " << m["encoding"].get<std::string>() << ", due "
           << m["send_at"].get<std::string>() << "\n";
      });
    });
  });

  // ---- status ----
  auto* status = cli.add_subcommand("status", "subscription status");
  status->require_subcommand(1);
  StatusChangeRequest change;
  std::string target, legal_basis, source = "manual";
  auto* status_set = status->add_subcommand(
      "set",
      "change a contact's status on a number (opt-in needs --attest, --legal-basis and "
      "--explanation)");
  status_set->add_option("--account", change.account_id, "account id")->required();
  status_set->add_option("--phone", change.phone, "the contact's phone")->required();
  status_set->add_option("--number", change.number, "the sender number")->required();
  status_set->add_option("--status", target, "opted_in, opted_out or not_specified")->required();
  status_set->add_flag("--attest", change.attestation.express_consent,
                       "I attest that I hold express, verifiable consent");
  status_set->add_option("--legal-basis", legal_basis, "one of: " + Join(LegalBasisNames()));
  status_set->add_option("--explanation", change.attestation.explanation,
                         "how and when consent was obtained");
  status_set->add_option("--actor", change.actor, "who is making the change")
      ->capture_default_str();
  status_set->add_option("--source", source, "manual, api or import")->capture_default_str();
  bool on_behalf = false;
  std::string channel, received_at;
  status_set->add_flag("--on-behalf-of-contact", on_behalf,
                       "record the contact's own opt-out, asked for by another channel than a "
                       "text keyword (needs --status opted_out, --channel and --explanation)");
  status_set->add_option("--channel", channel,
                         "how the contact asked: phone, email, in_person, web, mail or other_sms");
  status_set->add_option("--received-at", received_at,
                         "when the contact's request was received (YYYY-MM-DD or a date-time with "
                         "Z or an offset; default now)");
  status_set->callback([&] {
    run = with_app([&](App& app) {
      auto t = ParseSubscriptionStatus(target);
      if (!t.ok()) return Output::Fail(t.status());
      change.target = *t;
      Result<StatusChangeResult> r = Internal("unset");
      if (on_behalf) {
        if (change.target != SubscriptionStatus::kOptedOut) {
          return Output::Fail(InvalidArgument(
              "--on-behalf-of-contact records the contact's opt-out: use --status opted_out"));
        }
        if (change.attestation.express_consent || !legal_basis.empty()) {
          return Output::Fail(InvalidArgument(
              "--attest and --legal-basis are for opt-ins, not for an opt-out on the contact's "
              "behalf"));
        }
        ContactOptOutRequest opt_out;
        opt_out.account_id = change.account_id;
        opt_out.phone = change.phone;
        opt_out.number = change.number;
        opt_out.channel = channel;
        if (!received_at.empty()) {
          auto span = ParseTimeSpan(received_at);
          if (!span.ok()) {
            return Output::Fail(InvalidArgument("--received-at: " + span.status().message()));
          }
          opt_out.received_at_ms = span->start_ms;
        }
        opt_out.explanation = change.attestation.explanation;
        opt_out.actor = change.actor;
        r = app.service().RecordContactOptOut(opt_out);
      } else {
        if (!channel.empty() || !received_at.empty()) {
          return Output::Fail(
              InvalidArgument("--channel and --received-at go with --on-behalf-of-contact"));
        }
        auto src = ParseSource(source);
        if (!src.ok()) return Output::Fail(src.status());
        change.source = *src;
        if (!legal_basis.empty()) {
          auto b = ParseLegalBasis(legal_basis);
          if (!b.ok()) return Output::Fail(b.status());
          change.attestation.legal_basis = *b;
        }
        r = app.service().SetStatus(change);
      }
      if (!r.ok()) return Output::Fail(r.status());
      json doc = {{"contact", ToJson(r->contact)},
                  {"number", r->number.number},
                  {"status_before", SubscriptionStatusName(r->event.from)},
                  {"status_after", SubscriptionStatusName(r->event.to)},
                  {"changed", r->changed},
                  {"event", ToJson(r->event)},
                  {"replies", json::array()}};
      for (const auto& rep : r->replies) doc["replies"].push_back(ToJson(rep));
      return app.out().Print(doc, [&](std::ostream& os) {
        os << r->contact.phone << " on " << r->number.number << ": "
           << SubscriptionStatusName(r->event.from) << " -> " << SubscriptionStatusName(r->event.to)
           << (r->changed ? "" : " (no change; recorded)") << "\n";
        PrintReplies(os, r->replies);
      });
    });
  });
  int64_t show_account = 0;
  std::string show_phone;
  auto* status_show = status->add_subcommand("show", "a contact's status on every number");
  status_show->add_option("--account", show_account, "account id")->required();
  status_show->add_option("--phone", show_phone, "the contact's phone")->required();
  status_show->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().ShowStatus(show_account, show_phone);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = json::array();
      for (const auto& s : *r) doc.push_back(ToJson(s));
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->empty()) os << "the account has no sender numbers\n";
        for (const auto& s : *r) {
          os << std::setw(14) << s.number.number << "  " << std::setw(13)
             << SubscriptionStatusName(s.state.status);
          if (s.state.updated_at_ms) {
            os << "  since " << FormatTimestampMs(s.state.updated_at_ms) << " by "
               << SourceName(s.state.source)
               << (s.state.self_opted_out ? " (the contact's own opt-out)" : "");
          }
          os << "\n";
        }
      });
    });
  });

  // ---- history ----
  int64_t history_account = 0;
  std::string history_phone;
  auto* history = cli.add_subcommand("history", "a contact's consent events with evidence");
  history->add_option("--account", history_account, "account id")->required();
  history->add_option("--phone", history_phone, "the contact's phone")->required();
  history->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().History(history_account, history_phone);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = json::array();
      for (const auto& e : *r) doc.push_back(ToJson(e));
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->empty()) os << "no consent events\n";
        for (const auto& e : *r) {
          os << FormatTimestampMs(e.at_ms) << "  " << e.sender << "  "
             << SubscriptionStatusName(e.from) << " -> " << SubscriptionStatusName(e.to)
             << (e.from == e.to ? " (no change)" : "") << "  by " << SourceName(e.source) << " ("
             << e.actor << ")\n    " << DescribeEvidence(e) << "\n";
        }
      });
    });
  });

  // ---- outbox ----
  auto* outbox = cli.add_subcommand("outbox", "queued replies");
  outbox->require_subcommand(1);
  int64_t outbox_account = 0;
  std::string outbox_state;
  OutboxQuery outbox_query;
  auto* outbox_list =
      outbox->add_subcommand("list", "list queued, sent and unsent replies (with the reason)");
  outbox_list->add_option("--account", outbox_account, "account id")->required();
  outbox_list->add_option("--state", outbox_state,
                          "pending, sending, sent, failed, dead, cancelled or expired");
  outbox_list->add_option("--after", outbox_query.after_id, "cursor: last id of previous page");
  outbox_list->add_option("--limit", outbox_query.limit, "page size")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  outbox_list->callback([&] {
    run = with_app([&](App& app) {
      if (!outbox_state.empty()) {
        auto s = ParseOutboxState(outbox_state);
        if (!s.ok()) return Output::Fail(s.status());
        outbox_query.states = {*s};
      }
      auto r = app.service().ListOutbox(outbox_account, outbox_query);
      if (!r.ok()) return Output::Fail(r.status());
      json doc = json::array();
      for (const auto& o : *r) doc.push_back(ToJson(o));
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->empty()) os << "the outbox is empty\n";
        for (const auto& o : *r) {
          const SegmentInfo seg = CountSegments(o.body);
          os << std::setw(5) << o.id << "  " << OutboxStateName(o.state) << "  " << o.from << " -> "
             << o.to << "  " << ReplyKindName(o.kind) << "  " << SmsEncodingName(seg.encoding)
             << "/" << seg.segments << "\n    " << o.body << "\n";
          if (!o.last_error.empty()) os << "    (" << o.last_error << ")\n";
        }
      });
    });
  });

  // ---- compliance ----
  auto* compliance = cli.add_subcommand("compliance", "compliance reports");
  compliance->require_subcommand(1);
  int64_t compliance_account = 0;
  RevocationQuery revocation_query;
  auto* revocations = compliance->add_subcommand(
      "revocations",
      "the contact's own opt-outs with the US business days from receipt to effect (FCC: at "
      "most 10) and the replies sent to the contact in between");
  revocations->add_option("--account", compliance_account, "account id")->required();
  revocations->add_flag("--late", revocation_query.late_only,
                        "only revocations that took more than 10 US business days");
  revocations->add_option("--after", revocation_query.after_seq,
                          "cursor: the 'next' of the previous page");
  revocations->add_option("--limit", revocation_query.limit, "page size")
      ->capture_default_str()
      ->check(CLI::Range(1, ConsentService::kMaxRevocationPage));
  revocations->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().ListRevocations(compliance_account, revocation_query);
      if (!r.ok()) return Output::Fail(r.status());
      json items = json::array();
      for (const Revocation& rev : r->items) items.push_back(ToJson(rev));
      json doc = {
          {"items", items},
          {"next", r->next_after_seq ? json(std::to_string(*r->next_after_seq)) : json(nullptr)}};
      return app.out().Print(doc, [&](std::ostream& os) {
        if (r->items.empty()) os << "no revocations\n";
        for (const Revocation& rev : r->items) {
          os << rev.event.phone << " on " << rev.event.sender << " by " << rev.channel
             << ": received " << FormatTimestampMs(rev.received_at_ms) << ", effective "
             << FormatTimestampMs(rev.effective_at_ms) << ", " << rev.business_days
             << " US business day(s)" << (rev.late ? "  LATE (more than 10)" : "") << "\n";
          for (const OutboxItem& o : rev.sent_between) {
            os << "    sent in between: " << FormatTimestampMs(o.sent_at_ms) << " from " << o.from
               << " (" << ReplyKindName(o.kind) << "): " << o.body << "\n";
          }
          if (rev.sent_between_more) os << "    … and more\n";
        }
        if (r->next_after_seq) os << "more: --after " << *r->next_after_seq << "\n";
      });
    });
  });

  // ---- ledger ----
  auto* ledger = cli.add_subcommand("ledger", "the consent ledger");
  ledger->require_subcommand(1);
  int64_t ledger_account = 0;
  auto* ledger_verify = ledger->add_subcommand(
      "verify",
      "check the ledger (hash chain, Merkle tree, signed tree heads) and that statuses equal its "
      "replay (exit 1 if not)");
  ledger_verify->add_option("--account", ledger_account, "account id (default: all)");
  ledger_verify->callback([&] {
    run = with_app([&](App& app) {
      std::vector<int64_t> ids;
      if (ledger_account) {
        ids.push_back(ledger_account);
      } else {
        auto all = app.service().ListAccountIds();
        if (!all.ok()) return Output::Fail(all.status());
        ids = *all;
      }
      json doc = json::array();
      bool ok = true;
      std::vector<LedgerCheck> checks;
      for (int64_t id : ids) {
        auto c = app.service().VerifyLedger(id);
        if (!c.ok()) return Output::Fail(c.status());
        ok = ok && c->ok();
        doc.push_back(ToJson(*c));
        checks.push_back(*c);
      }
      app.out().Print(ledger_account ? doc.at(0) : doc, [&](std::ostream& os) {
        for (const auto& c : checks) {
          os << "account " << c.account_id << ": " << c.events << " events, "
             << (c.ok()
                     ? "ledger verifies (" + std::to_string(c.tree_size) + " in the signed tree, " +
                           std::to_string(c.heads_checked) + " tree heads checked" +
                           (c.batches_checked == 0 ? std::string()
                                                   : ", " + std::to_string(c.batches_checked) +
                                                         " batch documents checked") +
                           "), statuses match the ledger"
                     : std::string("LEDGER CHECK FAILED"))
             << "\n";
          if (c.chain_failure) os << "  first bad event: " << *c.chain_failure << "\n";
          for (const auto& m : c.mismatch_samples) os << "  status mismatch: " << m << "\n";
        }
      });
      if (!ok) {
        for (const auto& c : checks) {
          if (c.ok()) continue;
          std::cerr << "smsconsent: ledger of account " << c.account_id << " failed: "
                    << c.chain_failure.value_or(std::to_string(c.status_mismatches) +
                                                " status rows differ from the ledger")
                    << "\n";
          break;
        }
        return 1;
      }
      return 0;
    });
  });
  auto* ledger_rebuild =
      ledger->add_subcommand("rebuild", "recompute the status table from the ledger");
  ledger_rebuild->add_option("--account", ledger_account, "account id")->required();
  ledger_rebuild->callback([&] {
    run = with_app([&](App& app) {
      auto r = app.service().RebuildStatuses(ledger_account);
      if (!r.ok()) return Output::Fail(r.status());
      return app.out().Print({{"account", ledger_account}, {"statuses", *r}},
                             [&](std::ostream& os) {
                               os << "rebuilt " << *r << " status rows of account "
                                  << ledger_account << " from the ledger\n";
                             });
    });
  });

  // ---- serve ----
  ServeConfig serve_config;
  auto* serve = cli.add_subcommand(
      "serve", "run the HTTP service: API v1, provider webhooks, outbox dispatch");
  AddServeOptions(*serve, serve_config);
  serve->callback([&] {
    run = [&] {
      Status st = ApplyServeConfigFile(*serve);
      if (!st.ok()) return Output::Fail(st);
      return RunServe(g.db, g.ledger_key, serve_config);
    };
  });

  // ---- provider ----
  auto* provider = cli.add_subcommand("provider", "SMS provider settings of an account");
  provider->require_subcommand(1);
  int64_t provider_account = 0;
  std::string provider_name, sender;
  // Flag -> settings key; only the flags given are stored, the others are kept.
  const std::vector<std::pair<std::string, std::string>> kSettingFlags = {
      {"--auth-token", "auth_token"},
      {"--account-sid", "account_sid"},
      {"--api-base-url", "api_base_url"},
      {"--api-key", "api_key"},
      {"--api-secret", "api_secret"},
      {"--auth-id", "auth_id"},
      {"--secret", "secret"},
      {"--sendsms-url", "sendsms_url"},
      {"--username", "username"},
      {"--password", "password"},
      {"--signature-secret", "signature_secret"},
      {"--signature-method", "signature_method"},
      {"--public-key", "public_key"},
      {"--tolerance-seconds", "tolerance_seconds"},
      {"--plivo-allow-v2", "allow_v2"},
      {"--smsc", "smsc"}};
  std::map<std::string, std::string> setting_values;
  auto* provider_set = provider->add_subcommand(
      "set", "store a provider's webhook secrets / outbound credentials (docs/webhooks.md)");
  provider_set->add_option("--account", provider_account, "account id")->required();
  provider_set
      ->add_option("--provider", provider_name, "twilio, kannel, vonage, plivo, telnyx or generic")
      ->required();
  for (const auto& [flag, key] : kSettingFlags) {
    provider_set->add_option(flag, setting_values[key],
                             key == "allow_v2"
                                 ? "true: also accept Plivo's Signature V2, which signs no message "
                                   "(each nonce once; docs/webhooks.md#plivo); settings key "
                                   "'allow_v2'"
                                 : "settings key '" + key + "'");
  }
  provider_set->add_option("--sender", sender,
                           "how replies leave: twilio, kannel, vonage, plivo, telnyx or log");
  provider_set->callback([&] {
    run = with_app([&](App& app) {
      json settings = json::object();
      for (const auto& [key, value] : setting_values) {
        if (value.empty()) continue;
        if (key == "tolerance_seconds") {
          try {
            settings[key] = std::stoll(value);
          } catch (const std::exception&) {
            return Output::Fail(InvalidArgument("--tolerance-seconds must be a number"));
          }
        } else if (key == "allow_v2") {
          // Plivo's Signature V2 signs no message: accepting it is the account's explicit choice
          // (docs/webhooks.md#plivo), and `false` takes it back.
          if (provider_name != "plivo") {
            return Output::Fail(
                InvalidArgument("--plivo-allow-v2 is a setting of --provider plivo"));
          }
          if (value != "true" && value != "false") {
            return Output::Fail(InvalidArgument("--plivo-allow-v2 must be true or false"));
          }
          settings[key] = value == "true";
        } else {
          settings[key] = value;
        }
      }
      std::optional<std::string> reply_sender;
      if (!sender.empty()) reply_sender = sender;
      Status st =
          app.service().SetProvider(provider_account, provider_name, settings, reply_sender);
      if (!st.ok()) return Output::Fail(st);
      json keys = json::array();
      for (const auto& [k, v] : settings.items()) keys.push_back(k);
      json doc = {{"account", provider_account}, {"provider", provider_name}, {"updated", keys}};
      if (reply_sender) doc["sender"] = *reply_sender;
      return app.out().Print(doc, [&](std::ostream& os) {
        os << provider_name << " settings of account " << provider_account << " updated ("
           << (keys.empty() ? "no keys" : Join(keys.get<std::vector<std::string>>())) << ")"
           << (reply_sender ? "; replies leave through " + *reply_sender : "") << "\n";
      });
    });
  });

  // ---- segments ----
  std::string seg_text;
  auto* segments = cli.add_subcommand("segments", "encoding and SMS segment count of a text");
  segments->add_option("text", seg_text, "the text")->required();
  segments->callback([&] {
    run = [&]() {
      const SegmentInfo s = CountSegments(seg_text);
      return Output{g.json}.Print(ToJson(s), [&](std::ostream& os) {
        os << SmsEncodingName(s.encoding) << ", " << s.characters << " characters, " << s.segments
           << (s.segments == 1 ? " segment" : " segments") << " (" << s.per_segment
           << " per segment)\n";
      });
    };
  });

  // ---- export, proof (src/cli/export_commands.cc) ----
  AddExportCommands(cli, g.db, g.ledger_key, g.json, run);
  // ---- ledger head, heads, consistency, public-key; proof verify (src/cli/ledger_commands.cc)
  AddLedgerCommands(*ledger, *cli.get_subcommand("proof"), g.db, g.ledger_key, g.json, run);
  // ---- bulk, import, job (src/cli/bulk_commands.cc) ----
  AddBulkCommands(cli, g.db, g.json, run);
  // ---- user: staff of the web page (src/cli/user_commands.cc) ----
  AddUserCommands(cli, g.db, g.json, run);
  AddReviewCommands(cli, g.db, g.json, run);
  // ---- migrate-store: move an installation to another store (src/cli/migrate_command.cc) ----
  AddMigrateCommand(cli, g.json, run);

  // Names, explanations, keywords and replies given here are stored as text and written into
  // JSON evidence: bytes that are not UTF-8 (a terminal in another encoding) are refused
  // before anything runs, instead of being stored and failing every later read.
  for (int i = 1; i < argc; ++i) {
    if (!IsValidUtf8(argv[i])) {
      std::cerr << "smsconsent: argument " << i << " is not UTF-8 text\n";
      return 2;
    }
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (!run) return 2;
  try {
    return run();
  } catch (const std::exception& e) {
    return Output::Fail(Internal(std::string("unexpected error: ") + e.what()));
  }
}

}  // namespace smsconsent::cli

int main(int argc, char** argv) { return smsconsent::cli::Main(argc, argv); }
