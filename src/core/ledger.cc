#include "core/ledger.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <new>

namespace smsconsent {
namespace {

void Field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.push_back(':');
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

}  // namespace

std::string CanonicalEventEncoding(const ConsentEvent& e) {
  std::string out = "smsconsent-ledger-v1\n";
  out.reserve(256 + e.evidence.size());
  Field(out, "account", std::to_string(e.account_id));
  Field(out, "seq", std::to_string(e.seq));
  Field(out, "contact", std::to_string(e.contact_id));
  Field(out, "phone", e.phone);
  Field(out, "number", std::to_string(e.number_id));
  Field(out, "sender", e.sender);
  Field(out, "from", SubscriptionStatusName(e.from));
  Field(out, "to", SubscriptionStatusName(e.to));
  Field(out, "source", SourceName(e.source));
  Field(out, "actor", e.actor);
  Field(out, "at", std::to_string(e.at_ms));
  Field(out, "evidence", e.evidence);
  Field(out, "prev", e.prev_hash);
  return out;
}

std::string CanonicalEventEncodingV2(const ConsentEvent& e) {
  std::string out = "smsconsent-ledger-v2\n";
  out.reserve(256 + e.evidence.size());
  Field(out, "account", std::to_string(e.account_id));
  Field(out, "seq", std::to_string(e.seq));
  Field(out, "contact", std::to_string(e.contact_id));
  Field(out, "phone", e.phone);
  Field(out, "number", std::to_string(e.number_id));
  Field(out, "sender", e.sender);
  Field(out, "nth", std::to_string(e.nth));
  Field(out, "from", SubscriptionStatusName(e.from));
  Field(out, "to", SubscriptionStatusName(e.to));
  Field(out, "source", SourceName(e.source));
  Field(out, "actor", e.actor);
  Field(out, "at", std::to_string(e.at_ms));
  Field(out, "evidence", e.evidence);
  Field(out, "batch", e.batch_hash);
  return out;
}

std::string LeafData(const ConsentEvent& e) {
  return e.format == 2 ? CanonicalEventEncodingV2(e) : CanonicalEventEncoding(e);
}

merkle::Hash EventLeafHash(const ConsentEvent& e) { return merkle::LeafHash(LeafData(e)); }

namespace {

// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up again on every call,
// which cost more than hashing a short input (an API key, an event) itself.
const EVP_MD* Sha256Md() {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256 != nullptr ? kSha256 : EVP_sha256();
}

std::string LowerHex(const unsigned char* digest, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, Sha256Md(), nullptr);
  return LowerHex(digest, len);
}

std::string Sha256Hex(const std::vector<std::string>& parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) == 1;
  for (const std::string& p : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &len) == 1;
  if (!ok) throw std::bad_alloc();  // OpenSSL fails here only when out of memory
  return LowerHex(digest, len);
}

std::string ComputeEventHash(const ConsentEvent& e) { return Sha256Hex(CanonicalEventEncoding(e)); }

bool ChainVerifier::Add(const ConsentEvent& e) {
  if (failure_) return false;
  const std::string where =
      "event seq " + std::to_string(e.seq) + " (id " + std::to_string(e.id) + ")";
  std::string why;
  if (e.seq != next_seq_) {
    why = where + ": expected seq " + std::to_string(next_seq_) +
          " (an event is missing or out of order)";
  } else if (e.prev_hash != last_hash_) {
    why = where + ": prev_hash " + e.prev_hash + " does not match the previous event's hash " +
          last_hash_;
  } else {
    const std::string computed = ComputeEventHash(e);
    if (computed != e.hash) {
      why = where + ": content does not match its hash (stored " + e.hash + ", computed " +
            computed + ")";
    }
  }
  if (!why.empty()) {
    failure_ = why;
    failed_seq_ = e.seq;
    return false;
  }
  ++checked_;
  ++next_seq_;
  last_hash_ = e.hash;
  return true;
}

void StatusReplay::Add(const ConsentEvent& e) {
  ConsentState& s = states_[{e.contact_id, e.number_id}];
  s = ApplyEvent(s, e.to, e.source, e.at_ms);
}

}  // namespace smsconsent
