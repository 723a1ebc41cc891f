#include "app/consent_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>

#include "app/json_views.h"
#include "app/ledger_service.h"
#include "core/business_days.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/ledger.h"
#include "providers/sender.h"

namespace smsconsent {
namespace {

// "opted_out (the contact's own) since 2026-01-01T00:00:00.000Z by keyword", for a mismatch.
std::string DescribeState(const ConsentState& s) {
  std::string out = SubscriptionStatusName(s.status);
  if (s.self_opted_out) out += " (the contact's own)";
  if (s.updated_at_ms == 0) return out + ", never changed";
  return out + " since " + FormatTimestampMs(s.updated_at_ms) + " by " + SourceName(s.source);
}

// kInternal unless a provider's stored settings parsed to a JSON object.
Status RequireSettingsObject(const nlohmann::json& settings, const std::string& provider) {
  if (settings.is_object()) return Status::Ok();
  return Internal("stored settings of provider " + provider + " are not a JSON object");
}

Result<nlohmann::json> ParseProviderSettings(const std::string& text, const std::string& provider) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  SMSC_RETURN_IF_ERROR(RequireSettingsObject(j, provider));
  return j;
}

using nlohmann::json;

bool HasAddon(const std::vector<std::string>& addons, std::string_view name) {
  return std::find(addons.begin(), addons.end(), name) != addons.end();
}

std::string UpperAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const std::string& ReplyTemplate(const SenderNumber& n, ReplyKind kind) {
  switch (kind) {
    case ReplyKind::kOptInConfirmation:
      return n.replies.opt_in;
    case ReplyKind::kOptOutConfirmation:
      return n.replies.opt_out;
    case ReplyKind::kConfirmationRequest:  // ConfirmationRequestTemplate
    case ReplyKind::kHelp:
    case ReplyKind::kMessage:  // the business's own text: never rendered from a template
      break;
  }
  return n.replies.help;
}

}  // namespace

std::string ConfirmationRequestTemplate(const SenderNumber& number) {
  if (!number.replies.confirmation_request.empty()) return number.replies.confirmation_request;
  // A number registered before double opt-in existed has no text of its own.
  return DefaultRepliesFor(number.keywords.languages.empty() ? "en"
                                                             : number.keywords.languages.front())
      .confirmation_request;
}

OutboxItem OutboxFor(const QueuedReply& r, const SenderNumber& number, const Contact& contact,
                     int64_t now_ms) {
  OutboxItem item;
  item.account_id = number.account_id;
  item.number_id = number.id;
  item.contact_id = contact.id;
  item.to = contact.phone;
  item.from = number.number;
  item.body = r.body;
  item.kind = r.kind;
  item.created_at_ms = now_ms;
  item.next_attempt_at_ms = now_ms;
  return item;
}

std::string GenerateApiKey() {
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: nothing is safe
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = "sk_";
  for (unsigned char b : bytes) {
    key.push_back(kHex[b >> 4]);
    key.push_back(kHex[b & 0xf]);
  }
  return key;
}

ConsentService::ConsentService(ConsentStore& store, const Clock& clock)
    : store_(store), clock_(clock), accounts_(store, clock, kMetadataTtlMs) {}

Result<CreatedAccount> ConsentService::CreateAccount(const NewAccount& req) {
  std::string name = req.name;
  if (std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); })) {
    return InvalidArgument("account name must not be empty");
  }
  for (const std::string& a : req.addons) {
    if (a != kAddonMarketingSms && a != kAddonShortCode) {
      return InvalidArgument("unknown add-on '" + a + "' (expected " + kAddonMarketingSms + " or " +
                             kAddonShortCode + ")");
    }
  }
  const std::string region = UpperAscii(req.region);
  if (phones_.CountryCodeForRegion(region) == 0) {
    return InvalidArgument("unknown region '" + req.region + "' (expected an ISO code like DK)");
  }
  Account account;
  account.name = name;
  account.marketing_sms_access = HasAddon(req.addons, kAddonMarketingSms);
  account.sms_short_code = HasAddon(req.addons, kAddonShortCode);
  account.default_region = region;
  account.opt_out_scope = req.opt_out_scope;
  account.created_at_ms = clock_.NowMs();
  CreatedAccount out;
  out.api_key = GenerateApiKey();
  SMSC_ASSIGN_OR_RETURN(out.account, store_.CreateAccount(account, Sha256Hex(out.api_key)));
  return out;
}

Result<Account> ConsentService::GetAccount(int64_t account_id) {
  return store_.GetAccount(account_id);
}

Result<std::vector<int64_t>> ConsentService::ListAccountIds() {
  SMSC_ASSIGN_OR_RETURN(auto accounts, store_.ListAccounts());
  std::vector<int64_t> ids;
  for (const Account& a : accounts) ids.push_back(a.id);
  return ids;
}

Status ConsentService::RequireSms(const Account& account) {
  if (account.marketing_sms_access) return Status::Ok();
  return PermissionDenied("account " + std::to_string(account.id) +
                          " does not have the Marketing SMS Access add-on (" + kAddonMarketingSms +
                          "), which every SMS feature requires");
}

Result<Account> ConsentService::AccountWithSms(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  SMSC_RETURN_IF_ERROR(RequireSms(account));
  return account;
}

Result<Account> ConsentService::Authenticate(const std::string& api_key) {
  return AuthenticateKeyHash(Sha256Hex(api_key));
}

Result<Account> ConsentService::AuthenticateKeyHash(const std::string& key_hash) {
  auto id = accounts_.AccountIdForKeyHash(key_hash);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kNotFound) {
      return Status(StatusCode::kUnauthenticated, "unknown API key");
    }
    return id.status();
  }
  SMSC_ASSIGN_OR_RETURN(auto entry, accounts_.Get(*id));
  return entry->account;
}

Result<SenderNumber> ConsentService::AddNumber(const NewNumber& req) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(req.account_id));
  SenderNumber n;
  n.account_id = account.id;
  n.kind = req.kind;
  if (req.kind == NumberKind::kShortCode) {
    if (!account.sms_short_code) {
      return PermissionDenied("account " + std::to_string(account.id) +
                              " does not have the SMS Short Code add-on (" + kAddonShortCode +
                              "), which short-code numbers require");
    }
    const std::string country =
        UpperAscii(req.country.empty() ? account.default_region : req.country);
    SMSC_ASSIGN_OR_RETURN(ShortCode sc, phones_.NormalizeShortCode(req.number, country));
    n.number = sc.digits;
    n.country = sc.country;
  } else {
    const std::string region =
        UpperAscii(req.country.empty() ? account.default_region : req.country);
    SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(req.number, region));
    n.number = p.e164;
    n.country = p.region;
  }
  n.keywords.languages =
      req.languages.empty() ? DefaultLanguagesForRegion(n.country) : req.languages;
  n.keywords.free_text = req.free_text;
  // Validates the languages now rather than at the first inbound message.
  SMSC_ASSIGN_OR_RETURN(auto matcher, KeywordMatcher::Create(n.keywords));
  n.keywords.languages = matcher->config().languages;
  n.business_name = req.business_name.empty() ? account.name : req.business_name;
  const DefaultReplies defaults = DefaultRepliesFor(n.keywords.languages.front());
  n.replies = {defaults.opt_in, defaults.opt_out, defaults.help, defaults.confirmation_request};
  n.opt_in_confirmation = req.opt_in_confirmation || req.kind == NumberKind::kShortCode;
  n.double_opt_in = req.double_opt_in;
  n.created_at_ms = clock_.NowMs();
  auto added = store_.AddNumber(n);
  accounts_.Invalidate(account.id);  // after the write, so no reload can miss it
  return added;
}

Result<std::vector<SenderNumber>> ConsentService::ListNumbers(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  return store_.ListNumbers(account.id);
}

Result<Contact> ConsentService::AddContact(int64_t account_id, const std::string& phone,
                                           const std::string& name, const std::string& email) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(phone, account.default_region));
  Contact c;
  c.account_id = account.id;
  c.phone = p.e164;
  c.name = name;
  c.email = email;
  c.created_at_ms = clock_.NowMs();
  return store_.AddContact(c);
}

Result<std::vector<Contact>> ConsentService::ListContacts(int64_t account_id,
                                                          const ContactQuery& q) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  // Filtering by subscription status reads SMS consent data, like ContactStatuses.
  if (q.number_id || q.status) SMSC_RETURN_IF_ERROR(RequireSms(account));
  return store_.ListContacts(account.id, q);
}

Result<Contact> ConsentService::UpdateContact(int64_t account_id, int64_t contact_id,
                                              const ContactUpdate& u) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  SMSC_ASSIGN_OR_RETURN(Contact c, store_.GetContact(account.id, contact_id));
  if (u.name) c.name = *u.name;
  if (u.email) c.email = *u.email;
  SMSC_RETURN_IF_ERROR(store_.UpdateContact(c));
  return c;
}

Result<ContactQuery> ConsentService::QueryFor(int64_t account_id, const ContactFilter& f) {
  ContactQuery q;
  q.search = f.search;
  q.created_from_ms = f.created_from_ms;
  q.created_to_ms = f.created_to_ms;
  q.properties = f.properties;
  q.status = f.status;
  if (f.number_id) {
    q.number_id = *f.number_id;
  } else if (f.number) {
    SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
    SMSC_ASSIGN_OR_RETURN(SenderNumber n, ResolveNumber(account, *f.number));
    q.number_id = n.id;
  }
  return q;
}

Status ConsentService::DeleteContact(int64_t account_id, int64_t contact_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  return store_.DeleteContact(account.id, contact_id);
}

Result<SenderNumber> ConsentService::ResolveNumber(const Account& account,
                                                   const std::string& number) {
  SMSC_ASSIGN_OR_RETURN(auto numbers, store_.ListNumbers(account.id));
  SMSC_ASSIGN_OR_RETURN(const SenderNumber* n, ResolveNumberIn(account, numbers, number));
  return *n;
}

Result<const SenderNumber*> ConsentService::ResolveNumberIn(
    const Account& account, const std::vector<SenderNumber>& numbers,
    const std::string& number) const {
  // A number written exactly as stored (stored numbers are normalised, and normalise to
  // themselves) needs no parse.
  if (PhoneNormalizer::LooksLikeE164(number)) {
    for (const SenderNumber& n : numbers) {
      if (n.number == number) return &n;
    }
  }
  std::string wanted;
  if (PhoneNormalizer::LooksLikeShortCode(number)) {
    SMSC_ASSIGN_OR_RETURN(ShortCode sc, phones_.NormalizeShortCode(number, account.default_region));
    wanted = sc.digits;
  } else {
    SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(number, account.default_region));
    wanted = p.e164;
  }
  for (const SenderNumber& n : numbers) {
    if (n.number == wanted) return &n;
  }
  return NotFound("sender number '" + number + "' is not registered to account " +
                  std::to_string(account.id));
}

Result<Contact> ConsentService::GetOrCreateContact(const Account& account,
                                                   const std::string& e164) {
  auto found = store_.FindContactByPhone(account.id, e164);
  if (found.ok() || found.status().code() != StatusCode::kNotFound) return found;
  Contact c;
  c.account_id = account.id;
  c.phone = e164;
  c.created_at_ms = clock_.NowMs();
  auto added = store_.AddContact(c);
  if (!added.ok() && added.status().code() == StatusCode::kAlreadyExists) {
    return store_.FindContactByPhone(account.id, e164);  // created concurrently
  }
  return added;
}

Result<std::shared_ptr<const KeywordMatcher>> ConsentService::MatcherFor(
    const SenderNumber& number) {
  std::lock_guard<std::mutex> lock(matchers_mu_);
  auto it = matchers_.find(number.id);
  // A matcher is rebuilt when the number's keyword configuration changed.
  if (it != matchers_.end() && it->second->config() == number.keywords) return it->second;
  SMSC_ASSIGN_OR_RETURN(auto matcher, KeywordMatcher::Create(number.keywords));
  matchers_[number.id] = matcher;
  return matcher;
}

QueuedReply ConsentService::MakeReply(ReplyKind kind, const SenderNumber& number) const {
  QueuedReply r;
  r.kind = kind;
  r.body = RenderReply(kind == ReplyKind::kConfirmationRequest ? ConfirmationRequestTemplate(number)
                                                               : ReplyTemplate(number, kind),
                       number.business_name);
  r.segments = CountSegments(r.body);
  return r;
}

Result<InboundRoute> ConsentService::RouteInbound(const std::string& to_raw,
                                                  const std::string& from_raw) {
  if (from_raw.empty() || to_raw.empty()) {
    return InvalidArgument("an inbound SMS needs both a sender (from) and a receiver (to)");
  }
  // Route by the receiving number: a short code by its digits, anything else as E.164.
  std::string key;
  if (PhoneNormalizer::LooksLikeShortCode(to_raw)) {
    for (char c : to_raw) {
      if (std::isdigit(static_cast<unsigned char>(c))) key.push_back(c);
    }
  } else {
    // Normalize, not NormalizeToE164: receiving numbers are few, so their verdicts stay cached.
    SMSC_ASSIGN_OR_RETURN(PhoneNumber to, phones_.Normalize(to_raw, ""));
    key = std::move(to.e164);
  }
  SMSC_ASSIGN_OR_RETURN(std::vector<SenderNumber> candidates, accounts_.NumbersAt(key));
  if (candidates.empty()) {
    return NotFound("no account has the receiving number '" + to_raw + "' registered");
  }
  auto chosen = candidates.begin();
  if (candidates.size() > 1) {
    // The same short code digits in several countries: the sender's country decides.
    auto from = phones_.Normalize(from_raw, "");
    auto it = std::find_if(candidates.begin(), candidates.end(), [&](const SenderNumber& n) {
      return from.ok() && n.country == from->region;
    });
    if (it == candidates.end()) {
      return InvalidArgument("short code '" + to_raw +
                             "' is registered in several countries and the sender's country "
                             "does not single one out");
    }
    chosen = it;
  }
  SenderNumber number = std::move(*chosen);  // candidates is a copy, ours to take from
  SMSC_ASSIGN_OR_RETURN(auto cached, accounts_.Get(number.account_id));
  SMSC_RETURN_IF_ERROR(RequireSms(cached->account));
  return InboundRoute{cached->account, std::move(number), cached};
}

Result<InboundResult> ConsentService::ReceiveSms(const InboundSms& sms) {
  SMSC_ASSIGN_OR_RETURN(InboundRoute route, RouteInbound(sms.to, sms.from));
  return ReceiveRouted(sms, route);
}

struct ConsentService::Receipt {
  InboundSms sms;
  InboundRoute route;
  std::string phone;  // the sender in E.164: the key of phone_turns_
  std::string message_id;
  Contact contact;         // id 0 until found, or created by the commit
  bool looked_up = false;  // the contact was looked up for the first attempt already
  int attempt = 0;
  InboundResult out;  // the answer being built
  InboundCallback done;
};

Result<InboundResult> ConsentService::ReceiveRouted(const InboundSms& sms,
                                                    const InboundRoute& route) {
  std::promise<Result<InboundResult>> promise;
  auto answer = promise.get_future();
  ReceiveRoutedAsync(sms, route,
                     [&promise](Result<InboundResult> r) { promise.set_value(std::move(r)); });
  return answer.get();
}

void ConsentService::ReceiveRoutedAsync(const InboundSms& sms, const InboundRoute& route,
                                        InboundCallback done) {
  if (sms.reply_channel != "api" && sms.reply_channel != "response") {
    return done(InvalidArgument("reply channel must be 'api' or 'response'"));
  }
  // Every message enters here (webhooks of every provider, the CLI): what it stores of the
  // message is text that answers, exports and PostgreSQL read as UTF-8. An id or a number that
  // is not is a broken request, refused before it is stored; the body is repaired below.
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"message id", &sms.message_id},
        {"sender", &sms.from},
        {"receiving number", &sms.to}}) {
    if (!IsValidUtf8(*value)) return done(InvalidArgument(std::string(field) + " is not UTF-8"));
    // PostgreSQL's text ends at a NUL: two ids differing after one would be the same id there.
    if (value->find('\0') != std::string::npos) {
      return done(InvalidArgument(std::string(field) + " holds a NUL byte"));
    }
  }
  auto r = std::make_shared<Receipt>();
  // A sender that is already a contact, written as stored (providers send E.164), is found
  // without parsing the number: its stored phone was normalised when it was added.
  if (PhoneNormalizer::LooksLikeE164(sms.from)) {
    auto found = store_.FindContactByPhone(route.account.id, sms.from);
    if (found.ok()) {
      r->contact = std::move(*found);
      r->phone = r->contact.phone;
    } else if (found.status().code() != StatusCode::kNotFound) {
      return done(found.status());
    }
    r->looked_up = true;
  }
  if (r->phone.empty()) {
    auto from = phones_.NormalizeToE164(sms.from, route.number.country);
    if (!from.ok()) return done(from.status());
    r->phone = std::move(from->e164);
    // The lookup above was by this very text, so it stands for the first attempt.
    r->looked_up = r->looked_up && r->phone == sms.from;
  }
  r->sms = sms;
  // A body that is not UTF-8 (a gateway's wrong charset, a corrupted byte) is matched, stored
  // and written into evidence with U+FFFD for what cannot be read: a "STOP" next to a bad byte
  // is still an opt-out, and JSON and PostgreSQL need valid UTF-8. A NUL (which PostgreSQL's
  // text cannot hold) is kept the same way.
  if (!IsValidUtf8(r->sms.body)) r->sms.body = ToValidUtf8(r->sms.body);
  for (size_t nul = r->sms.body.find('\0'); nul != std::string::npos;
       nul = r->sms.body.find('\0', nul)) {
    r->sms.body.replace(nul, 1, "\xEF\xBF\xBD");
  }
  r->route = route;
  r->done = std::move(done);
  // A provider's retry (the same message id) is not looked up first: storing it again fails
  // with kAlreadyExists, which answers with the stored decision. Retries are rare, and a
  // lookup would cost every first delivery a read.
  r->message_id = sms.message_id.empty() ? "gen-" + GenerateApiKey().substr(3) : sms.message_id;
  // Messages from one phone are decided one at a time in this process: each reads the
  // statuses it plans from, and a concurrent commit between that read and its own would make
  // it lose (kAborted) again and again while it waits for the writer behind the others.
  phone_turns_.Run(r->phone, [this, r] { AttemptReceive(r); });
}

void ConsentService::AttemptReceive(const std::shared_ptr<Receipt>& r) {
  ++r->attempt;
  const Account& account = r->route.account;
  // Looked up again on a retry: the contact may have been created since.
  if (r->contact.id == 0 && !(r->attempt == 1 && r->looked_up)) {
    auto found = store_.FindContactByPhone(account.id, r->phone);
    if (found.ok()) {
      r->contact = std::move(*found);
    } else if (found.status().code() != StatusCode::kNotFound) {
      return FinishReceive(r, found.status());
    }
  }
  if (r->contact.id == 0) {
    // An unknown sender's contact is created in the same transaction as the message
    // (ChangeSet::new_contact), so a first message is one durable write, not two.
    r->contact = Contact();
    r->contact.account_id = account.id;
    r->contact.phone = r->phone;
    r->contact.created_at_ms = clock_.NowMs();
  }
  r->out = InboundResult();
  auto changes = PlanInbound(r->sms, r->route, r->contact, r->message_id, r->out);
  if (!changes.ok()) return FinishReceive(r, changes.status());
  TimedCommitAsync(account.id, std::move(*changes), [this, r](Result<CommitResult> committed) {
    OnReceiptCommitted(r, std::move(committed));
  });
}

void ConsentService::OnReceiptCommitted(const std::shared_ptr<Receipt>& r,
                                        Result<CommitResult> committed) {
  if (committed.ok()) {
    InboundResult& out = r->out;
    if (r->contact.id == 0) out.contact_id = committed->contact_id;
    out.inbound_id = committed->inbound_id;
    out.events = std::move(committed->events);
    for (size_t i = 0; i < out.replies.size() && i < committed->outbox.size(); ++i) {
      out.replies[i].outbox_id = committed->outbox[i].id;
    }
    out.message_id = r->message_id;
    return FinishReceive(r, std::move(out));
  }
  const StatusCode code = committed.status().code();
  if (code == StatusCode::kAlreadyExists) {
    // The same message was stored before (a provider retry), or a concurrent delivery of it
    // won the race: answer as it was answered.
    auto stored = store_.FindInbound(r->route.account.id, r->sms.provider, r->message_id);
    if (!stored.ok()) return FinishReceive(r, stored.status());
    if (*stored) return FinishReceive(r, StoredAnswer(**stored));
    return FinishReceive(r, committed.status());
  }
  if (code == StatusCode::kAborted && r->attempt < kMaxAttempts) return AttemptReceive(r);
  FinishReceive(r, committed.status());
}

void ConsentService::FinishReceive(const std::shared_ptr<Receipt>& r,
                                   Result<InboundResult> result) {
  InboundCallback done = std::move(r->done);
  phone_turns_.Done(r->phone);  // the phone's next message may start now
  done(std::move(result));
}

Result<ChangeSet> ConsentService::PlanInbound(const InboundSms& sms, const InboundRoute& route,
                                              const Contact& contact, const std::string& message_id,
                                              InboundResult& out) {
  const Account& account = route.account;
  const SenderNumber& number = route.number;
  const int64_t now = clock_.NowMs();
  SMSC_ASSIGN_OR_RETURN(auto matcher, MatcherFor(number));
  SMSC_ASSIGN_OR_RETURN(auto cached, CachedAccount(route));
  const std::vector<SenderNumber>& numbers = cached->numbers;
  std::vector<StatusRow> rows;  // a contact not stored yet (id 0) has none
  if (contact.id != 0) {
    SMSC_ASSIGN_OR_RETURN(rows, store_.GetStatuses(account.id, contact.id));
  }
  std::map<int64_t, ConsentState> states;
  for (const StatusRow& r : rows) states[r.number_id] = r.state;

  out.account_id = account.id;
  out.contact_id = contact.id;
  out.from = contact.phone;
  out.to = number.number;
  out.match = matcher->Match(sms.body);

  KeywordInput in;
  in.intent = out.match.intent;
  in.confirms = IsConfirmationReply(out.match.normalized);
  in.now_ms = now;
  in.confirmation_window_ms = confirmation_window_ms_;
  in.receiving_number_id = number.id;
  in.opt_out_scope = account.opt_out_scope;
  std::map<int64_t, const SenderNumber*> by_id;
  for (const SenderNumber& n : numbers) {
    by_id[n.id] = &n;
    in.numbers.push_back({{n.id, n.kind, n.opt_in_confirmation, n.double_opt_in}, states[n.id]});
  }
  SMSC_ASSIGN_OR_RETURN(KeywordPlan plan, PlanKeyword(in));

  out.status_before = states[number.id].status;
  // A yes that answers a request to confirm says so in its evidence (the proof tells it apart
  // from the English opt-in keyword YES).
  const bool confirming =
      in.confirms && out.status_before == SubscriptionStatus::kPendingConfirmation;
  out.status_after = out.status_before;
  // The events' evidence and the message's decision are written as text (core/json_text.h),
  // exactly as nlohmann::json would dump them (keys in sorted order): on the webhook path,
  // building and dumping the trees cost as much as the rest of the plan.
  // A revocation's FCC clock (core/business_days.h): received when the message arrived,
  // effective when its event is recorded, which for a keyword is the same moment.
  const int64_t received_at = now;
  const int64_t business_days = UsBusinessDaysBetween(received_at, now);
  auto evidence = [&](bool account_scope, bool revocation) {
    std::string ev;
    // The members' names and short values take about 350 bytes; one allocation for all.
    ev.reserve(420 + sms.body.size() + out.match.explanation.size() + out.match.matched.size() +
               out.match.rule.size() + message_id.size());
    ev = "{";
    bool first = true;
    auto member = [&](std::string_view key, std::string_view value) {
      AppendJsonMember(ev, key, value, first);
    };
    auto number_member = [&](std::string_view key, int64_t value) {
      AppendJsonKey(ev, key, first);
      ev += std::to_string(value);
    };
    member("body", sms.body);
    if (confirming && !account_scope) {
      AppendJsonKey(ev, "confirms", first);
      ev += "true";
    }
    if (revocation) {
      number_member("business_days", business_days);
      number_member("effective_at_ms", now);
    }
    member("explanation", out.match.explanation);
    member("from", contact.phone);
    member("intent", IntentName(out.match.intent));
    member("language", out.match.language);
    if (revocation) {
      AppendJsonKey(ev, "late", first);
      ev += RevocationIsLate(business_days) ? "true" : "false";
    }
    member("match_kind", MatchKindName(out.match.kind));
    member("matched", out.match.matched);
    member("message_id", message_id);
    member("provider", sms.provider);
    if (revocation) number_member("received_at_ms", received_at);
    member("rule", out.match.rule);
    if (account_scope) member("scope", "account");  // reached via STOPALL/policy
    member("to", number.number);
    member("type", "keyword");
    ev += "}";
    return ev;
  };

  ChangeSet changes;
  for (const Transition& t : plan.transitions) {
    const SenderNumber& target = *by_id.at(t.number_id);
    EventDraft e;
    e.contact_id = contact.id;
    e.phone = contact.phone;
    e.number_id = t.number_id;
    e.sender = target.number;
    e.from = t.from;
    e.to = t.to;
    e.source = Source::kKeyword;
    e.actor = "contact";
    e.at_ms = now;
    e.evidence = evidence(t.number_id != number.id, t.to == SubscriptionStatus::kOptedOut);
    changes.events.push_back(std::move(e));
    if (t.number_id == number.id) out.status_after = t.to;
  }
  if (plan.reply) {
    QueuedReply r = MakeReply(*plan.reply, number);
    changes.outbox.push_back(OutboxFor(r, number, contact, now));
    changes.outbox.back().channel = sms.reply_channel;
    out.replies.push_back(std::move(r));
  }

  std::string& d = out.decision;
  std::size_t reply_bytes = 0;
  for (const QueuedReply& r : out.replies) reply_bytes += r.body.size() + 96;
  d.reserve(320 + out.match.explanation.size() + out.match.rule.size() + out.match.matched.size() +
            reply_bytes + plan.transitions.size() * 96);
  d = "{";
  bool first = true;
  AppendJsonMember(d, "explanation", out.match.explanation, first);
  AppendJsonMember(d, "from", contact.phone, first);
  AppendJsonMember(d, "intent", IntentName(out.match.intent), first);
  AppendJsonMember(d, "language", out.match.language, first);
  AppendJsonMember(d, "match_kind", MatchKindName(out.match.kind), first);
  // `rule` and `matched` mean what they mean in the evidence (docs/keywords.md).
  AppendJsonMember(d, "matched", out.match.matched, first);
  AppendJsonKey(d, "replies", first);
  d += "[";
  for (size_t i = 0; i < out.replies.size(); ++i) {
    const QueuedReply& r = out.replies[i];
    if (i > 0) d += ",";
    bool first_in_reply = true;
    d += "{";
    AppendJsonMember(d, "body", r.body, first_in_reply);
    AppendJsonKey(d, "characters", first_in_reply);
    d += std::to_string(r.segments.characters);
    AppendJsonMember(d, "encoding", SmsEncodingName(r.segments.encoding), first_in_reply);
    AppendJsonMember(d, "kind", ReplyKindName(r.kind), first_in_reply);
    AppendJsonKey(d, "segments", first_in_reply);
    d += std::to_string(r.segments.segments) + "}";
  }
  d += "]";
  AppendJsonMember(d, "rule", out.match.rule, first);
  AppendJsonMember(d, "status_after", SubscriptionStatusName(out.status_after), first);
  AppendJsonMember(d, "status_before", SubscriptionStatusName(out.status_before), first);
  AppendJsonMember(d, "to", number.number, first);
  AppendJsonKey(d, "transitions", first);
  d += "[";
  for (size_t i = 0; i < plan.transitions.size(); ++i) {
    const Transition& t = plan.transitions[i];
    if (i > 0) d += ",";
    bool first_in_transition = true;
    d += "{";
    AppendJsonKey(d, "changed", first_in_transition);
    d += t.changed() ? "true" : "false";
    AppendJsonMember(d, "from", SubscriptionStatusName(t.from), first_in_transition);
    AppendJsonMember(d, "number", by_id.at(t.number_id)->number, first_in_transition);
    AppendJsonMember(d, "to", SubscriptionStatusName(t.to), first_in_transition);
    d += "}";
  }
  d += "]}";

  InboundMessage msg;
  msg.account_id = account.id;
  msg.provider = sms.provider;
  msg.provider_message_id = message_id;
  msg.from = contact.phone;
  msg.to = number.number;
  msg.number_id = number.id;
  msg.contact_id = contact.id;
  msg.body = sms.body;
  msg.received_at_ms = now;
  msg.decision = out.decision;
  changes.inbound = std::move(msg);
  // A possible opt-out changes no status: it waits for a person in the review queue, written
  // with the message so that an acknowledged message is never without its item (and a
  // provider's retry, refused as a stored message, adds none).
  if (out.match.kind == MatchKind::kPossibleOptOut) {
    ReviewItem review;
    review.account_id = account.id;
    review.contact_id = contact.id;
    review.number_id = number.id;
    review.rule = out.match.rule;
    review.explanation = out.match.explanation;
    review.created_at_ms = now;
    changes.review = std::move(review);
  }
  // contact.id 0 above (events, outbox, message, review) stands for this contact, created with
  // them.
  if (contact.id == 0) changes.new_contact = contact;

  return changes;
}

Result<InboundResult> ConsentService::StoredAnswer(const InboundMessage& stored) {
  InboundResult out;
  out.inbound_id = stored.id;
  out.duplicate = true;
  out.account_id = stored.account_id;
  out.contact_id = stored.contact_id;
  out.from = stored.from;
  out.to = stored.to;
  out.message_id = stored.provider_message_id;
  out.decision = stored.decision;
  const json d = json::parse(stored.decision, nullptr, /*allow_exceptions=*/false);
  if (d.is_discarded() || !d.is_object()) {
    return Internal("stored decision of inbound message " + std::to_string(stored.id) +
                    " is not a JSON object");
  }
  auto intent = ParseIntent(d.value("intent", "none"));
  if (intent.ok()) out.match.intent = *intent;
  const json current = CurrentDecision(d);
  out.match.rule = current.value("rule", "");
  out.match.matched = current.value("matched", "");
  out.match.explanation = d.value("explanation", "");
  auto before = ParseSubscriptionStatus(d.value("status_before", "not_specified"));
  auto after = ParseSubscriptionStatus(d.value("status_after", "not_specified"));
  if (before.ok()) out.status_before = *before;
  if (after.ok()) out.status_after = *after;
  // The replies as answered then (a webhook answers a retry with the same TwiML).
  for (const json& r : d.value("replies", json::array())) {
    if (!r.is_object()) continue;
    QueuedReply reply;
    reply.body = r.value("body", "");
    auto kind = ParseReplyKind(r.value("kind", ""));
    if (kind.ok()) reply.kind = *kind;
    reply.segments.encoding = r.value("encoding", "") == SmsEncodingName(SmsEncoding::kUcs2)
                                  ? SmsEncoding::kUcs2
                                  : SmsEncoding::kGsm7;
    reply.segments.characters = r.value("characters", 0);
    reply.segments.segments = r.value("segments", 0);
    out.replies.push_back(std::move(reply));
  }
  return out;
}

Result<StatusChangeResult> ConsentService::SetStatus(const StatusChangeRequest& req) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(req.account_id));
  SMSC_ASSIGN_OR_RETURN(SenderNumber number, ResolveNumber(account, req.number));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber phone, phones_.Normalize(req.phone, account.default_region));
  SMSC_ASSIGN_OR_RETURN(Contact contact, GetOrCreateContact(account, phone.e164));

  for (int attempt = 1;; ++attempt) {
    const int64_t now = clock_.NowMs();
    SMSC_ASSIGN_OR_RETURN(auto rows, store_.GetStatuses(account.id, contact.id));
    ConsentState current;
    for (const StatusRow& r : rows) {
      if (r.number_id == number.id) current = r.state;
    }
    UserChangeInput in;
    in.number = {number.id, number.kind, number.opt_in_confirmation, number.double_opt_in};
    in.current = current;
    in.target = req.target;
    in.source = req.source;
    in.attestation = req.attestation;
    SMSC_ASSIGN_OR_RETURN(UserChangePlan plan, PlanUserChange(in));

    json evidence = {{"type", "attestation"},
                     {"attested_express_consent", req.attestation.express_consent},
                     {"explanation", req.attestation.explanation},
                     {"actor", req.actor}};
    evidence["legal_basis"] = req.attestation.legal_basis
                                  ? json(LegalBasisName(*req.attestation.legal_basis))
                                  : json(nullptr);
    EventDraft e;
    e.contact_id = contact.id;
    e.phone = contact.phone;
    e.number_id = number.id;
    e.sender = number.number;
    e.from = plan.transition.from;
    e.to = plan.transition.to;
    e.source = req.source;
    e.actor = req.actor;
    e.at_ms = now;
    e.evidence = evidence.dump();

    ChangeSet changes;
    changes.events.push_back(std::move(e));
    StatusChangeResult out;
    if (plan.send_confirmation || plan.send_confirmation_request) {
      QueuedReply r = MakeReply(
          plan.send_confirmation ? ReplyKind::kOptInConfirmation : ReplyKind::kConfirmationRequest,
          number);
      changes.outbox.push_back(OutboxFor(r, number, contact, now));
      out.replies.push_back(std::move(r));
    }
    auto committed = TimedCommit(account.id, changes);
    if (!committed.ok()) {
      if (committed.status().code() == StatusCode::kAborted && attempt < kMaxAttempts) continue;
      return committed.status();
    }
    out.contact = contact;
    out.number = number;
    out.event = committed->events.front();
    out.changed = plan.transition.changed();
    for (size_t i = 0; i < out.replies.size() && i < committed->outbox.size(); ++i) {
      out.replies[i].outbox_id = committed->outbox[i].id;
    }
    return out;
  }
}

Result<StatusChangeResult> ConsentService::RecordContactOptOut(const ContactOptOutRequest& req) {
  const bool known_channel =
      std::any_of(kContactOptOutChannels.begin(), kContactOptOutChannels.end(),
                  [&](const char* c) { return req.channel == c; });
  if (!known_channel) {
    std::string known;
    for (const char* c : kContactOptOutChannels)
      known += std::string(known.empty() ? "" : ", ") + c;
    return InvalidArgument("unknown channel '" + req.channel + "' (expected one of: " + known +
                           ")");
  }
  if (req.channel == "sms" && !req.inbound_message_id) {
    return InvalidArgument("channel 'sms' needs the inbound message that carries the request");
  }
  if (std::all_of(req.explanation.begin(), req.explanation.end(),
                  [](unsigned char c) { return std::isspace(c); })) {
    return InvalidArgument(
        "an opt-out on the contact's behalf needs an explanation of what the contact asked");
  }
  if (req.explanation.size() > kMaxOptOutExplanationBytes) {
    return InvalidArgument("explanation is longer than " +
                           std::to_string(kMaxOptOutExplanationBytes) + " bytes");
  }
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(req.account_id));
  SMSC_ASSIGN_OR_RETURN(SenderNumber number, ResolveNumber(account, req.number));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber phone, phones_.Normalize(req.phone, account.default_region));
  int64_t received_at = req.received_at_ms;
  if (req.inbound_message_id) {
    InboundQuery q;
    q.before_id = *req.inbound_message_id + 1;
    q.limit = 1;
    SMSC_ASSIGN_OR_RETURN(auto found, store_.ListInbound(account.id, q));
    if (found.empty() || found.front().id != *req.inbound_message_id) {
      return NotFound("inbound message " + std::to_string(*req.inbound_message_id) +
                      " not found in account " + std::to_string(account.id));
    }
    if (found.front().from != phone.e164) {
      return InvalidArgument("inbound message " + std::to_string(*req.inbound_message_id) +
                             " is not from " + phone.e164);
    }
    if (received_at == 0) received_at = found.front().received_at_ms;
  }
  if (received_at != 0) {
    const int64_t now = clock_.NowMs();
    if (received_at > now + kMaxReceivedAheadMs) {
      return InvalidArgument("received_at is in the future");
    }
    if (received_at < now - kMaxRevocationAgeMs) {
      return InvalidArgument("received_at is more than 10 years ago");
    }
  }
  SMSC_ASSIGN_OR_RETURN(Contact contact, GetOrCreateContact(account, phone.e164));

  for (int attempt = 1;; ++attempt) {
    const int64_t now = clock_.NowMs();
    const int64_t received = received_at == 0 ? now : received_at;
    SMSC_ASSIGN_OR_RETURN(auto rows, store_.GetStatuses(account.id, contact.id));
    ConsentState current;
    for (const StatusRow& r : rows) {
      if (r.number_id == number.id) current = r.state;
    }
    // The effect is now: a request received "in the future" within the allowed skew took
    // effect the moment it was recorded.
    const int64_t business_days = UsBusinessDaysBetween(std::min(received, now), now);
    json evidence = {{"type", "contact_request"},      {"channel", req.channel},
                     {"explanation", req.explanation}, {"actor", req.actor},
                     {"received_at_ms", received},     {"effective_at_ms", now},
                     {"business_days", business_days}, {"late", RevocationIsLate(business_days)}};
    if (req.inbound_message_id) evidence["inbound_message_id"] = *req.inbound_message_id;
    EventDraft e;
    e.contact_id = contact.id;
    e.phone = contact.phone;
    e.number_id = number.id;
    e.sender = number.number;
    e.from = current.status;
    e.to = SubscriptionStatus::kOptedOut;
    e.source = Source::kContactRequest;
    e.actor = req.actor;
    e.at_ms = now;
    e.evidence = evidence.dump();

    ChangeSet changes;
    changes.events.push_back(std::move(e));
    auto committed = TimedCommit(account.id, changes);
    if (!committed.ok()) {
      if (committed.status().code() == StatusCode::kAborted && attempt < kMaxAttempts) continue;
      return committed.status();
    }
    StatusChangeResult out;
    out.contact = contact;
    out.number = number;
    out.event = committed->events.front();
    out.changed = current.status != SubscriptionStatus::kOptedOut;
    return out;
  }
}

Result<RevocationPage> ConsentService::ListRevocations(int64_t account_id,
                                                       const RevocationQuery& q) {
  if (q.limit < 1 || q.limit > kMaxRevocationPage) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxRevocationPage));
  }
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_RETURN_IF_ERROR(NumberWrittenEvents(account.id));
  RevocationPage out;
  EventQuery eq;
  eq.after_seq = q.after_seq;
  int64_t scanned = 0;
  while (scanned < kRevocationScanEvents) {
    eq.limit = static_cast<int>(std::min<int64_t>(1000, kRevocationScanEvents - scanned));
    SMSC_ASSIGN_OR_RETURN(auto events, store_.ListEvents(account.id, eq));
    for (const ConsentEvent& e : events) {
      ++scanned;
      eq.after_seq = e.seq;
      if (e.to != SubscriptionStatus::kOptedOut || !IsContactSource(e.source)) continue;
      Revocation r;
      r.event = e;
      r.channel = "sms";
      r.received_at_ms = e.at_ms;
      r.effective_at_ms = e.at_ms;
      const json ev = json::parse(e.evidence, nullptr, /*allow_exceptions=*/false);
      if (ev.is_object()) {
        auto int_of = [&](const char* key, int64_t fallback) {
          auto it = ev.find(key);
          return it != ev.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
        };
        r.received_at_ms = int_of("received_at_ms", e.at_ms);
        r.effective_at_ms = int_of("effective_at_ms", e.at_ms);
        auto channel = ev.find("channel");
        if (channel != ev.end() && channel->is_string()) r.channel = channel->get<std::string>();
      }
      // Counted again rather than read, so that every revocation, old ones too, is measured
      // by the same rule; equal to the evidence's count where there is one.
      r.business_days = UsBusinessDaysBetween(r.received_at_ms, r.effective_at_ms);
      r.late = RevocationIsLate(r.business_days);
      if (q.late_only && !r.late) continue;
      if (r.effective_at_ms > r.received_at_ms) {
        OutboxQuery oq;
        oq.contact_id = e.contact_id;
        oq.states = {OutboxState::kSent};
        oq.sent_from_ms = r.received_at_ms;
        oq.sent_until_ms = r.effective_at_ms;
        oq.limit = kMaxSentBetween + 1;
        SMSC_ASSIGN_OR_RETURN(r.sent_between, store_.ListOutbox(account.id, oq));
        if (static_cast<int>(r.sent_between.size()) > kMaxSentBetween) {
          r.sent_between.resize(kMaxSentBetween);
          r.sent_between_more = true;
        }
      }
      out.items.push_back(std::move(r));
      if (static_cast<int>(out.items.size()) == q.limit) {
        out.next_after_seq = e.seq;
        return out;
      }
    }
    if (static_cast<int>(events.size()) < eq.limit) return out;  // the ledger's end
  }
  out.next_after_seq = eq.after_seq;
  return out;
}

Result<std::vector<NumberStatus>> ConsentService::ShowStatus(int64_t account_id,
                                                             const std::string& phone) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(phone, account.default_region));
  SMSC_ASSIGN_OR_RETURN(Contact contact, store_.FindContactByPhone(account.id, p.e164));
  SMSC_ASSIGN_OR_RETURN(auto numbers, store_.ListNumbers(account.id));
  SMSC_ASSIGN_OR_RETURN(auto rows, store_.GetStatuses(account.id, contact.id));
  std::vector<NumberStatus> out;
  for (const SenderNumber& n : numbers) {
    NumberStatus ns{n, {}};
    for (const StatusRow& r : rows) {
      if (r.number_id == n.id) ns.state = r.state;
    }
    out.push_back(std::move(ns));
  }
  return out;
}

Result<std::vector<ConsentEvent>> ConsentService::History(int64_t account_id,
                                                          const std::string& phone) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(phone, account.default_region));
  SMSC_ASSIGN_OR_RETURN(Contact contact, store_.FindContactByPhone(account.id, p.e164));
  std::vector<ConsentEvent> out;
  SMSC_RETURN_IF_ERROR(
      ForEachEvent(account.id, contact.id, [&](const ConsentEvent& e) { out.push_back(e); }));
  EvidenceBatches known;
  SMSC_RETURN_IF_ERROR(AttachBatchDocuments(store_, account.id, out, known));
  return out;
}

Result<std::vector<OutboxItem>> ConsentService::ListOutbox(int64_t account_id,
                                                           const OutboxQuery& q) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  return store_.ListOutbox(account.id, q);
}

Result<std::vector<MessageWithReplies>> ConsentService::ListMessages(int64_t account_id,
                                                                     const InboundQuery& q) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(auto messages, store_.ListInbound(account.id, q));
  std::vector<MessageWithReplies> out;
  std::map<int64_t, size_t> index;  // message id -> position in out
  OutboxQuery replies;
  replies.inbound_ids.emplace();
  for (InboundMessage& m : messages) {
    index.emplace(m.id, out.size());
    replies.inbound_ids->push_back(m.id);
    out.push_back({std::move(m), {}});
  }
  if (out.empty()) return out;
  // A message is answered by one reply at most, so one read of up to 1,000 holds the replies
  // of a page; a further read happens only if that ever changes.
  replies.limit = 1000;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto items, store_.ListOutbox(account.id, replies));
    const bool last_page = static_cast<int>(items.size()) < replies.limit;
    if (!items.empty()) replies.after_id = items.back().id;
    for (OutboxItem& o : items) {
      auto it = index.find(o.inbound_id);
      if (it != index.end()) out[it->second].replies.push_back(std::move(o));
    }
    if (last_page) break;
  }
  return out;
}

Result<std::map<int64_t, std::vector<NumberStatus>>> ConsentService::StoredStatuses(
    int64_t account_id, const std::vector<int64_t>& contact_ids) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  std::map<int64_t, std::vector<NumberStatus>> out;
  if (contact_ids.empty()) return out;
  SMSC_ASSIGN_OR_RETURN(auto numbers, store_.ListNumbers(account.id));
  SMSC_ASSIGN_OR_RETURN(auto found, store_.LookupContacts(account.id, {}, contact_ids));
  for (const auto& cs : found) {
    std::vector<NumberStatus>& states = out[cs.contact.id];
    for (const SenderNumber& n : numbers) {
      for (const StatusRow& r : cs.statuses) {
        if (r.number_id == n.id) states.push_back({n, r.state});
      }
    }
  }
  return out;
}

Status ConsentService::ForEachEvent(int64_t account_id, std::optional<int64_t> contact_id,
                                    const std::function<void(const ConsentEvent&)>& fn) {
  SMSC_RETURN_IF_ERROR(NumberWrittenEvents(account_id));
  EventQuery q;
  q.contact_id = contact_id;
  while (true) {
    SMSC_ASSIGN_OR_RETURN(auto page, store_.ListEvents(account_id, q));
    if (page.empty()) return Status::Ok();
    q.after_seq = page.back().seq;
    for (const ConsentEvent& e : page) fn(e);
  }
}

Status ConsentService::IntegrateLedger(int64_t account_id) {
  return CatchUpLedger(store_, clock_, account_id).status();
}

Status ConsentService::NumberWrittenEvents(int64_t account_id) {
  if (!store_.NumbersEventsWhenIntegrating()) return Status::Ok();
  return IntegrateLedger(account_id);
}

Result<LedgerCheck> ConsentService::VerifyLedger(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  // Every event written so far, in the ledger: on PostgreSQL an event has no seq, and is not
  // listed, until it is integrated.
  SMSC_RETURN_IF_ERROR(IntegrateLedger(account.id));
  LedgerCheck check;
  check.account_id = account.id;
  ChainVerifier chain;
  StatusReplay replay;
  merkle::CompactRange range;
  SMSC_ASSIGN_OR_RETURN(LedgerTree tree, store_.GetLedgerTree(account.id));
  check.tree_size = tree.size;
  std::map<std::string, std::string> keys;
  SMSC_ASSIGN_OR_RETURN(auto key_list, store_.ListLedgerKeys());
  for (auto& [id, raw] : key_list) keys[id] = raw;
  auto fail = [&](int64_t seq, const std::string& why) {
    if (check.chain_ok) {
      check.chain_ok = false;
      check.chain_failure = why;
      check.failed_seq = seq;
    }
  };
  // Kept heads, ascending by size, read a page at a time as the walk reaches them.
  std::vector<SignedTreeHead> heads;
  size_t next_head = 0;
  int64_t heads_after = 0;
  auto check_heads = [&]() -> Status {
    while (true) {
      if (next_head == heads.size()) {
        SMSC_ASSIGN_OR_RETURN(heads, store_.ListTreeHeads(account.id, heads_after, 1000));
        next_head = 0;
        if (heads.empty()) return Status::Ok();
        heads_after = heads.back().head.size;
      }
      const SignedTreeHead& h = heads[next_head];
      if (h.head.size > range.size()) return Status::Ok();
      ++next_head;
      ++check.heads_checked;
      const std::string at = "tree head of size " + std::to_string(h.head.size);
      if (h.head.size < range.size()) {
        fail(h.head.size, at + " was not reached in seq order");
        continue;
      }
      if (h.head.root != range.Root()) fail(h.head.size, at + ": its root is not the ledger's");
      auto key = keys.find(h.key_id);
      if (key == keys.end()) {
        fail(h.head.size, at + ": signed by unknown key " + h.key_id);
      } else if (!VerifyTreeHead(h, key->second)) {
        fail(h.head.size, at + ": the signature does not verify");
      }
    }
  };
  bool tree_checked = tree.size == 0;
  std::map<std::string, int64_t> batches;  // batch documents named: hash -> the first event's seq
  Status walked = ForEachEvent(account.id, {}, [&](const ConsentEvent& e) {
    if (e.format == 1) {
      if (!chain.Add(e)) fail(chain.failed_seq().value_or(e.seq), chain.failure().value_or(""));
    } else if (e.seq != range.size() + 1) {
      fail(e.seq,
           "event seq " + std::to_string(e.seq) + " follows seq " + std::to_string(range.size()));
    }
    range.Append(EventLeafHash(e));
    if (range.size() == tree.size) {
      tree_checked = true;
      if (range.Root() != tree.root) {
        fail(e.seq, "the stored tree of " + std::to_string(tree.size) +
                        " events does not match the events' root");
      }
    }
    if (Status st = check_heads(); !st.ok()) fail(e.seq, st.ToString());
    if (!e.batch_hash.empty()) batches.emplace(e.batch_hash, e.seq);
    replay.Add(e);
    ++check.events;
  });
  SMSC_RETURN_IF_ERROR(walked);
  // Every batch document an event names is kept and hashes to its name (the event's leaf holds
  // only the name).
  std::vector<std::string> names;
  for (auto it = batches.begin(); it != batches.end();) {
    names.push_back(it->first);
    if (++it != batches.end() && names.size() < kMaxEvidenceBatchLookup) continue;
    SMSC_ASSIGN_OR_RETURN(EvidenceBatches kept, store_.GetEvidenceBatches(account.id, names));
    for (const std::string& name : names) {
      const int64_t seq = batches[name];
      auto doc = kept.find(name);
      if (doc == kept.end()) {
        fail(seq, "event seq " + std::to_string(seq) + " names batch document " + name +
                      ", which the store does not hold");
      } else if (Sha256Hex(doc->second) != name) {
        fail(seq, "batch document " + name + " (named by event seq " + std::to_string(seq) +
                      ") does not hash to its name");
      }
    }
    check.batches_checked += static_cast<int64_t>(kept.size());
    names.clear();
  }
  if (!tree_checked) {
    fail(range.size(), "the stored tree holds " + std::to_string(tree.size) +
                           " events, the ledger " + std::to_string(range.size()));
  }
  if (next_head < heads.size()) {
    fail(heads[next_head].head.size, "tree head of size " +
                                         std::to_string(heads[next_head].head.size) +
                                         " is past the ledger's end");
  }

  SMSC_ASSIGN_OR_RETURN(auto rows, store_.ListAllStatuses(account.id));
  std::map<StatusKey, ConsentState> stored;
  for (const StatusRow& r : rows) stored[{r.contact_id, r.number_id}] = r.state;
  auto note = [&](const StatusKey& k, const std::string& what) {
    ++check.status_mismatches;
    if (check.mismatch_samples.size() < 10) {
      check.mismatch_samples.push_back("contact " + std::to_string(k.first) + " number " +
                                       std::to_string(k.second) + ": " + what);
    }
  };
  for (const auto& [key, want] : replay.states()) {
    auto it = stored.find(key);
    if (it == stored.end()) {
      note(key, "missing from the status table");
      continue;
    }
    const ConsentState& got = it->second;
    if (got.status != want.status || got.self_opted_out != want.self_opted_out ||
        got.source != want.source || got.updated_at_ms != want.updated_at_ms) {
      note(key, "table says " + DescribeState(got) + ", ledger replays to " + DescribeState(want));
    }
  }
  for (const auto& [key, got] : stored) {
    if (!replay.states().count(key)) note(key, "in the status table but never in the ledger");
  }
  return check;
}

Result<int64_t> ConsentService::RebuildStatuses(int64_t account_id) {
  SMSC_ASSIGN_OR_RETURN(LedgerCheck check, VerifyLedger(account_id));
  if (!check.chain_ok) {
    return Status(StatusCode::kDataLoss,
                  "refusing to rebuild from a broken ledger: " + check.chain_failure.value_or(""));
  }
  StatusReplay replay;
  SMSC_RETURN_IF_ERROR(ForEachEvent(account_id, {}, [&](const ConsentEvent& e) { replay.Add(e); }));
  std::vector<StatusRow> rows;
  for (const auto& [key, state] : replay.states()) rows.push_back({key.first, key.second, state});
  SMSC_RETURN_IF_ERROR(store_.ReplaceStatuses(account_id, rows));
  return static_cast<int64_t>(rows.size());
}

void ConsentService::TimedCommitAsync(int64_t account_id, ChangeSet changes,
                                      std::function<void(Result<CommitResult>)> done) {
  auto timed = [this, start = std::chrono::steady_clock::now(),
                done = std::move(done)](Result<CommitResult> result) {
    if (store_observer_) {
      store_observer_(
          "commit",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    done(std::move(result));
  };
  if (committer_ != nullptr) return committer_->CommitAsync(account_id, std::move(changes), timed);
  timed(store_.Commit(account_id, changes));
}

Result<CommitResult> ConsentService::TimedCommit(int64_t account_id, const ChangeSet& changes) {
  const auto start = std::chrono::steady_clock::now();
  auto result = committer_ != nullptr ? committer_->Commit(account_id, changes)
                                      : store_.Commit(account_id, changes);
  if (store_observer_) {
    store_observer_(
        "commit", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return result;
}

Result<Contact> ConsentService::FindContact(const Account& account, const std::string& phone) {
  SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.Normalize(phone, account.default_region));
  return store_.FindContactByPhone(account.id, p.e164);
}

Result<ConsentAnswer> ConsentService::CheckConsent(int64_t account_id, const std::string& phone,
                                                   const std::string& number) {
  SMSC_ASSIGN_OR_RETURN(auto cached, accounts_.Get(account_id));
  const Account& account = cached->account;
  SMSC_RETURN_IF_ERROR(RequireSms(account));
  SMSC_ASSIGN_OR_RETURN(const SenderNumber* n, ResolveNumberIn(account, cached->numbers, number));
  ConsentAnswer out;
  out.number = n->number;
  std::optional<ContactState> found;
  // A known contact's phone, written as stored, is answered without parsing it (stored phones
  // are normalised, and normalise to themselves); anything else is parsed -- and refused when
  // it is not a valid number -- before the lookup.
  const bool as_stored = PhoneNormalizer::LooksLikeE164(phone);
  if (as_stored) {
    SMSC_ASSIGN_OR_RETURN(found, store_.FindContactState(account.id, phone, n->id));
    out.phone = phone;
  }
  if (!found) {
    SMSC_ASSIGN_OR_RETURN(PhoneNumber p, phones_.NormalizeToE164(phone, n->country));
    if (!as_stored || p.e164 != phone) {
      SMSC_ASSIGN_OR_RETURN(found, store_.FindContactState(account.id, p.e164, n->id));
    }
    out.phone = std::move(p.e164);
  }
  if (!found) return out;  // never heard of: not_specified, not allowed
  out.known_contact = true;
  out.state = found->state;
  out.allowed = MaySend(out.state);
  return out;
}

Result<Account> ConsentService::SetAccountQuietHours(int64_t account_id,
                                                     const QuietHoursPolicy& policy) {
  SMSC_RETURN_IF_ERROR(store_.SetAccountQuietHours(account_id, policy));
  accounts_.Invalidate(account_id);  // after the write, so no reload can miss it
  return store_.GetAccount(account_id);
}

Result<SenderNumber> ConsentService::GetNumber(int64_t account_id, int64_t number_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  return store_.GetNumber(account.id, number_id);
}

Result<SenderNumber> ConsentService::UpdateNumber(int64_t account_id, int64_t number_id,
                                                  const NumberUpdate& u) {
  SMSC_ASSIGN_OR_RETURN(SenderNumber n, GetNumber(account_id, number_id));
  if (u.languages) n.keywords.languages = *u.languages;
  if (u.opt_in) n.keywords.opt_in = *u.opt_in;
  if (u.opt_out) n.keywords.opt_out = *u.opt_out;
  if (u.opt_out_all) n.keywords.opt_out_all = *u.opt_out_all;
  if (u.help) n.keywords.help = *u.help;
  if (u.replace_default_keywords) n.keywords.replace_default_keywords = *u.replace_default_keywords;
  if (u.free_text) n.keywords.free_text = *u.free_text;
  if (u.reply_opt_in) n.replies.opt_in = *u.reply_opt_in;
  if (u.reply_opt_out) n.replies.opt_out = *u.reply_opt_out;
  if (u.reply_help) n.replies.help = *u.reply_help;
  if (u.reply_confirmation_request) {
    n.replies.confirmation_request = *u.reply_confirmation_request;
    if (std::all_of(n.replies.confirmation_request.begin(), n.replies.confirmation_request.end(),
                    [](unsigned char c) { return std::isspace(c); })) {
      return InvalidArgument("reply texts must not be empty");
    }
  }
  if (u.double_opt_in) n.double_opt_in = *u.double_opt_in;
  if (u.business_name) n.business_name = *u.business_name;
  if (u.opt_in_confirmation) n.opt_in_confirmation = *u.opt_in_confirmation;
  if (u.quiet_hours) n.quiet_hours = *u.quiet_hours;
  if (u.opt_out_notice) n.opt_out_notice = *u.opt_out_notice;
  if (u.frequency_cap) n.frequency_cap = *u.frequency_cap;
  if (u.rate_mmps) {
    if (*u.rate_mmps != 0 && (*u.rate_mmps < kMinRateMmps || *u.rate_mmps > kMaxRateMmps)) {
      return InvalidArgument("rate_per_second must be from 0.01 to 1000 (messages per second)");
    }
    n.rate_mmps = *u.rate_mmps;
  }
  if (n.kind == NumberKind::kShortCode && !n.opt_in_confirmation) {
    return FailedPrecondition(
        "short-code numbers always send an opt-in confirmation; it cannot be turned off");
  }
  for (const std::string* text : {&n.replies.opt_in, &n.replies.opt_out, &n.replies.help}) {
    if (std::all_of(text->begin(), text->end(), [](unsigned char c) { return std::isspace(c); })) {
      return InvalidArgument("reply texts must not be empty");
    }
  }
  if (n.keywords.languages.empty()) {
    return InvalidArgument("a number needs at least one keyword language");
  }
  SMSC_ASSIGN_OR_RETURN(auto matcher, KeywordMatcher::Create(n.keywords));
  n.keywords.languages = matcher->config().languages;
  auto updated = store_.UpdateNumber(n);
  accounts_.Invalidate(account_id);
  return updated;
}

Result<Contact> ConsentService::GetContact(int64_t account_id, int64_t contact_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, store_.GetAccount(account_id));
  return store_.GetContact(account.id, contact_id);
}

Result<std::vector<NumberStatus>> ConsentService::ContactStatuses(int64_t account_id,
                                                                  int64_t contact_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(Contact contact, store_.GetContact(account.id, contact_id));
  return ShowStatus(account.id, contact.phone);
}

Result<std::vector<ConsentEvent>> ConsentService::ContactHistory(int64_t account_id,
                                                                 int64_t contact_id) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(Contact contact, store_.GetContact(account.id, contact_id));
  return History(account.id, contact.phone);
}

Result<std::vector<ConsentEvent>> ConsentService::ListEvents(int64_t account_id,
                                                             const EventQuery& q) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_RETURN_IF_ERROR(NumberWrittenEvents(account.id));
  SMSC_ASSIGN_OR_RETURN(std::vector<ConsentEvent> events, store_.ListEvents(account.id, q));
  EvidenceBatches known;
  SMSC_RETURN_IF_ERROR(AttachBatchDocuments(store_, account.id, events, known));
  return events;
}

Result<OutboxItem> ConsentService::GetOutboxItem(int64_t account_id, int64_t id) {
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  return store_.GetOutboxItem(account.id, id);
}

Status ConsentService::SetProvider(int64_t account_id, const std::string& provider,
                                   const nlohmann::json& settings,
                                   const std::optional<std::string>& reply_sender) {
  static const std::vector<std::string> kProviders = {"twilio", "kannel", "vonage",
                                                      "plivo",  "telnyx", "generic"};
  if (std::find(kProviders.begin(), kProviders.end(), provider) == kProviders.end()) {
    return InvalidArgument("unknown provider '" + provider +
                           "' (expected twilio, kannel, vonage, plivo, telnyx or generic)");
  }
  if (!settings.is_object()) return InvalidArgument("provider settings must be a JSON object");
  if (reply_sender && std::find(kReplySenderNames.begin(), kReplySenderNames.end(),
                                *reply_sender) == kReplySenderNames.end()) {
    return InvalidArgument("unknown reply sender '" + *reply_sender +
                           "' (expected log, twilio, kannel, vonage, plivo or telnyx)");
  }
  SMSC_ASSIGN_OR_RETURN(Account account, AccountWithSms(account_id));
  SMSC_ASSIGN_OR_RETURN(nlohmann::json merged, ProviderSettings(account.id, provider));
  merged.update(settings);  // set only what was given; keep the other secrets
  ProviderConfig config{account.id, provider, merged.dump(), clock_.NowMs()};
  SMSC_RETURN_IF_ERROR(store_.PutProviderConfig(config));
  if (reply_sender) SMSC_RETURN_IF_ERROR(store_.SetReplySender(account.id, *reply_sender));
  accounts_.Invalidate(account.id);
  return Status::Ok();
}

Result<std::shared_ptr<const nlohmann::json>> ConsentService::ProviderSettings(
    const InboundRoute& route, const std::string& provider) {
  SMSC_ASSIGN_OR_RETURN(auto cached, CachedAccount(route));
  const json* settings = cached->ParsedProviderSettings(provider);
  if (!settings) {
    static const json kNone = json::object();
    return std::shared_ptr<const json>(std::shared_ptr<const void>(), &kNone);  // not owned
  }
  SMSC_RETURN_IF_ERROR(RequireSettingsObject(*settings, provider));
  // Shares the entry's ownership: the settings live as long as the caller holds them.
  return std::shared_ptr<const json>(std::move(cached), settings);
}

Result<std::shared_ptr<const AccountCache::Entry>> ConsentService::CachedAccount(
    const InboundRoute& route) {
  if (route.cached) return route.cached;
  return accounts_.Get(route.account.id);
}

Result<nlohmann::json> ConsentService::ProviderSettings(int64_t account_id,
                                                        const std::string& provider) {
  SMSC_ASSIGN_OR_RETURN(auto configs, store_.ListProviderConfigs(account_id));
  for (const ProviderConfig& c : configs) {
    if (c.provider == provider) return ParseProviderSettings(c.settings, provider);
  }
  return json::object();
}

Status AttachBatchDocuments(ConsentStore& store, int64_t account_id,
                            std::vector<ConsentEvent>& events, EvidenceBatches& known) {
  std::vector<std::string> missing;
  for (const ConsentEvent& e : events) {
    if (e.batch_hash.empty() || known.count(e.batch_hash) != 0) continue;
    if (std::find(missing.begin(), missing.end(), e.batch_hash) == missing.end()) {
      missing.push_back(e.batch_hash);
    }
  }
  for (size_t i = 0; i < missing.size(); i += kMaxEvidenceBatchLookup) {
    const size_t end = std::min(missing.size(), i + kMaxEvidenceBatchLookup);
    std::vector<std::string> part(missing.begin() + static_cast<std::ptrdiff_t>(i),
                                  missing.begin() + static_cast<std::ptrdiff_t>(end));
    SMSC_ASSIGN_OR_RETURN(EvidenceBatches found, store.GetEvidenceBatches(account_id, part));
    for (std::string& name : part) {
      auto it = found.find(name);
      // Remembered as missing too (empty), so that it is not looked up again.
      known.emplace(std::move(name), it == found.end() ? std::string() : std::move(it->second));
    }
  }
  for (ConsentEvent& e : events) {
    if (e.batch_hash.empty()) continue;
    auto it = known.find(e.batch_hash);
    if (it != known.end()) e.batch_document = it->second;
  }
  return Status::Ok();
}

}  // namespace smsconsent
