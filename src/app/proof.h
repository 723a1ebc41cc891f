// Consent proof: everything the ledger holds about one contact, with the evidence decoded, and
// for each event an inclusion proof against a signed tree head of the account's Merkle ledger --
// what a business shows a regulator or a court when asked "prove this person agreed"
// (docs/ledger.md defines the JSON document so that a third party verifies it without our code;
// docs/export.md describes both forms).
//
// Building a proof integrates the account's newest events, takes a signed tree head that covers
// them (signing one when the newest kept head does not), and reads the contact's events only:
// its cost grows with the contact's events times log2 of the ledger's size, not with the ledger.
// The builder checks what it hands out (the head's signature, every inclusion proof) and says
// so in `ledger`.
//
// Add-ons: needs the account's Marketing SMS Access add-on (kPermissionDenied), checked
// through ConsentService. Thread-safe if the services and the store are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/consent_service.h"
#include "app/ledger_service.h"
#include "core/clock.h"
#include "core/ledger.h"
#include "core/merkle.h"
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
  // The stored evidence, parsed, after its batch document's members (EvidenceJson; the stored
  // text as a string when it is not JSON).
  nlohmann::json evidence;
  std::string leaf_data;  // LeafData(event): the bytes its leaf hashes (docs/ledger.md)
  merkle::Hash leaf_hash{};
  std::vector<merkle::Hash> inclusion;  // against ConsentProof::ledger.head
  bool included = false;                // the inclusion proof verifies against the head
  // One sentence for people: "Opted in by keyword "START" sent from +1… to +1…".
  std::string description;
};

// What the proof rests on, as the builder checked it.
struct LedgerResult {
  bool ok = true;  // the head's signature verifies and every event's inclusion proof with it
  SignedTreeHead head;
  std::string public_key;  // raw 32 bytes of the key that signed the head
  std::optional<std::string> failure;
};

struct ConsentProof {
  Account account;
  Contact contact;
  std::vector<NumberStatus> statuses;  // every number of the account
  // Per number with a recorded status, in number order: "On +1… (long code): opted in on …".
  std::vector<std::string> summary;
  std::vector<ProofEvent> events;  // the contact's events in the signed tree, in seq order
  // The batch documents those events name (a bulk change's shared evidence), by hash.
  EvidenceBatches batches;
  LedgerResult ledger;
  int64_t generated_at_ms = 0;
};

// Errors: kPermissionDenied (add-on), kNotFound (account, contact -- also a contact of another
// account), kInvalidPhone, kInvalidArgument (neither or both of id and phone).
Result<ConsentProof> BuildConsentProof(ConsentService& service, ConsentStore& store,
                                       LedgerService& ledger, const Clock& clock,
                                       int64_t account_id, const ProofSubject& subject);

// The JSON document, format smsconsent-proof-v2 (docs/ledger.md, "Proofs a third party can
// check"; docs/export.md lists the members for people).
nlohmann::json ProofToJson(const ConsentProof& proof);

// A consistency proof as the API and the CLI give it: format smsconsent-consistency-v1, account,
// from and to (signed heads), proof (hex hashes) -- docs/ledger.md.
nlohmann::json ConsistencyToJson(const ConsistencyAnswer& answer);

// A complete HTML5 document: inline CSS, no scripts, no external assets; every value from the
// store is HTML-escaped (evidence holds SMS text the contact wrote).
std::string ProofToHtml(const ConsentProof& proof);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace smsconsent
