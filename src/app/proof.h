// Consent proof: everything the ledger holds about one contact, with the evidence decoded and
// the hash chain checked, as JSON and as a self-contained printable HTML document -- what a
// business shows a regulator or a court when asked "prove this person agreed"
// (docs/export.md describes both and how a third party verifies them).
//
// Building a proof reads the contact, its statuses, and the account's whole ledger once, in
// seq order and page by page: the contact's events are kept (one contact has few), every
// event of the account is fed to a ChainVerifier, so the result says whether the chain from
// genesis to head is intact and, if not, names the first event that breaks it.
//
// Add-ons: needs the account's Marketing SMS Access add-on (kPermissionDenied), checked
// through ConsentService. Thread-safe if the service and the store are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/consent_service.h"
#include "core/clock.h"
#include "core/ledger.h"
#include "core/status.h"
#include "store/store.h"

namespace smsconsent {

// Which contact: by id, or by phone (any format the account's region normalises).
struct ProofSubject {
  std::optional<int64_t> contact_id;
  std::optional<std::string> phone;
};

struct ProofEvent {
  ConsentEvent event;
  // The stored evidence, parsed (the stored text as a string when it is not JSON).
  nlohmann::json evidence;
  // CanonicalEventEncoding(event) and its SHA-256: hash_ok says whether that equals the stored
  // hash. prev_ok: prev_hash equals the hash of the account's previous event (zeros for seq 1).
  std::string canonical;
  std::string computed_hash;
  bool hash_ok = false;
  bool prev_ok = false;
  // One sentence for people: "Opted in by keyword "START" sent from +1… to +1…".
  std::string description;
};

struct ChainResult {
  bool ok = true;
  int64_t events_checked = 0;  // events that verified before the first failure (all when ok)
  int64_t events_total = 0;    // events in the account's ledger
  int64_t head_seq = 0;        // the newest event (0 for an empty ledger)
  std::string head_hash;       // its stored hash (kGenesisHash for an empty ledger)
  std::optional<int64_t> failed_seq;
  std::optional<std::string> failure;  // ChainVerifier's message
};

struct ConsentProof {
  Account account;
  Contact contact;
  std::vector<NumberStatus> statuses;  // every number of the account
  // Per number with a recorded status, in number order: "On +1… (long code): opted in on …".
  std::vector<std::string> summary;
  std::vector<ProofEvent> events;  // the contact's events, in seq order
  ChainResult chain;
  int64_t generated_at_ms = 0;
};

// Errors: kPermissionDenied (add-on), kNotFound (account, contact -- also a contact of another
// account), kInvalidPhone, kInvalidArgument (neither or both of id and phone).
Result<ConsentProof> BuildConsentProof(ConsentService& service, ConsentStore& store,
                                       const Clock& clock, int64_t account_id,
                                       const ProofSubject& subject);

// The JSON document (docs/export.md lists its keys).
nlohmann::json ProofToJson(const ConsentProof& proof);

// A complete HTML5 document: inline CSS, no scripts, no external assets; every value from the
// store is HTML-escaped (evidence holds SMS text the contact wrote).
std::string ProofToHtml(const ConsentProof& proof);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace smsconsent
