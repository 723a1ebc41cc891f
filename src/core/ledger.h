// The consent ledger's hash chain and its replay.
//
// Every consent event of an account carries seq (1, 2, 3, ... per account, no gaps), the hash
// of the account's previous event (64 zeros for seq 1) and its own hash: SHA-256 over the
// canonical encoding below, hex-encoded. Changing, removing or reordering any stored event
// breaks the chain from that event on. docs/ledger.md describes the format so that a third
// party can verify an export without our code.
//
// Events written as leaves of the account's Merkle tree only (format 2, core/merkle.h) use the
// v2 encoding below, without prev; the tree's signed heads take the chain's place for them.
//
// Canonical encoding (UTF-8, one field per line, fixed order, "name:byte-length:value\n"):
//   smsconsent-ledger-v1\n
//   account:…  seq:…  contact:…  phone:…  number:…  sender:…  from:…  to:…
//   source:…  actor:…  at:…(ms since epoch)  evidence:…(stored JSON text, verbatim)  prev:…
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/consent.h"
#include "core/merkle.h"

namespace smsconsent {

inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct ConsentEvent {
  int64_t id = 0;  // store-wide id
  int64_t account_id = 0;
  int64_t seq = 0;  // per account, from 1
  int64_t contact_id = 0;
  std::string phone;  // the contact's E.164 at the time
  int64_t number_id = 0;
  std::string sender;  // the sender number as registered ("+4520123456" or "12345")
  SubscriptionStatus from = SubscriptionStatus::kNotSpecified;
  SubscriptionStatus to = SubscriptionStatus::kNotSpecified;
  Source source = Source::kSystem;
  std::string actor;  // "contact", "user:alice", "api-key:…", "cli"
  int64_t at_ms = 0;
  std::string evidence;   // JSON object text, hashed verbatim
  std::string prev_hash;  // format 1 only
  std::string hash;       // format 1 only: ComputeEventHash
  // Lowercase hex SHA-256 of a bulk change's shared evidence document, stored once per batch;
  // empty for an event without one. Part of the v2 encoding only.
  std::string batch_hash;
  // 1: a chain event (v1 encoding, with prev_hash and hash); 2: a tree-only event (v2 encoding,
  // no chain). Both are leaves of the account's Merkle tree (LeafData).
  int format = 1;
  // Format 2: the event's number among its (contact, number)'s events: 1, 2, 3, ...
  int64_t nth = 0;
  // Read with the event for those who show it, not stored with it and part of no encoding: the
  // batch document batch_hash names (AttachBatchDocuments, src/app/consent_service.h); empty when
  // there is none or it was not read.
  std::string batch_document;
};

std::string CanonicalEventEncoding(const ConsentEvent& e);  // uses prev_hash, not hash
// The v2 encoding: first line "smsconsent-ledger-v2", then the fields of v1 without prev and
// with batch (the batch_hash, possibly empty) after evidence.
std::string CanonicalEventEncodingV2(const ConsentEvent& e);
// The event's leaf in the account's Merkle tree: the v1 encoding for format 1, the v2 encoding
// for format 2. So the tree covers chain events exactly as they were hashed.
std::string LeafData(const ConsentEvent& e);
merkle::Hash EventLeafHash(const ConsentEvent& e);    // merkle::LeafHash(LeafData(e))
std::string ComputeEventHash(const ConsentEvent& e);  // lowercase hex SHA-256
std::string Sha256Hex(std::string_view data);
// The SHA-256 of the parts' concatenation, without concatenating them (a large input kept in
// chunks).
std::string Sha256Hex(const std::vector<std::string>& parts);

// Checks events of one account fed in seq order.
class ChainVerifier {
 public:
  // Returns false (and remembers why) at the first event that breaks the chain: a seq gap,
  // a prev_hash different from the previous event's hash, or a hash that does not match the
  // recomputed one. Further calls after a failure return false.
  bool Add(const ConsentEvent& e);
  bool ok() const { return !failure_.has_value(); }
  int64_t checked() const { return checked_; }
  const std::string& last_hash() const { return last_hash_; }
  // "event seq 7 (id 42): hash mismatch (stored …, computed …)"
  const std::optional<std::string>& failure() const { return failure_; }
  std::optional<int64_t> failed_seq() const { return failed_seq_; }

 private:
  int64_t checked_ = 0;
  int64_t next_seq_ = 1;
  std::string last_hash_ = kGenesisHash;
  std::optional<std::string> failure_;
  std::optional<int64_t> failed_seq_;
};

// Replays events (in seq order) into the current state per (contact_id, number_id).
using StatusKey = std::pair<int64_t, int64_t>;
class StatusReplay {
 public:
  void Add(const ConsentEvent& e);
  const std::map<StatusKey, ConsentState>& states() const { return states_; }

 private:
  std::map<StatusKey, ConsentState> states_;
};

}  // namespace smsconsent
