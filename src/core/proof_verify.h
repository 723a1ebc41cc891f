// Checks a contact's proof document and a consistency document (docs/ledger.md, "Proofs a
// third party can check") as a third party would: with the installation's public key and
// nothing else of ours. tests/ledger/verify_proof.py implements the same rules independently.
//
// Pure: documents come in parsed; nothing is read or fetched.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/tree_head.h"

namespace smsconsent {

struct ProofCheck {
  bool ok = false;
  // One sentence per failed rule, naming the event's seq where there is one:
  // "event seq 5: inclusion proof does not lead to the tree head's root".
  std::vector<std::string> problems;
  int64_t events_checked = 0;  // events that passed every rule
};

// A "smsconsent-proof-v2" document: the tree head verifies with `public_key_raw` (32 bytes)
// and names it, every event's encoding is well formed, belongs to the document's account and
// contact, and is included in the signed tree at index seq - 1, events come in strictly
// increasing seq, and each batch document referenced matches its hash. Unknown members are
// ignored.
ProofCheck VerifyProofDocument(const nlohmann::json& doc, std::string_view public_key_raw);

// A "smsconsent-consistency-v1" document: both tree heads verify, belong to the document's
// account, from.size <= to.size, and the proof shows `to` extends `from`.
ProofCheck VerifyConsistencyDocument(const nlohmann::json& doc, std::string_view public_key_raw);

// The JSON form of a signed tree head in these documents:
// {"account", "size", "root" (hex), "at", "key_id" (hex), "signature" (base64)}.
nlohmann::json SignedTreeHeadToJson(const SignedTreeHead& sth);
// The inverse; kInvalidArgument naming the member that is missing or malformed.
Result<SignedTreeHead> SignedTreeHeadFromJson(const nlohmann::json& j);

}  // namespace smsconsent
