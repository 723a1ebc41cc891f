// Signed tree heads: an installation's Ed25519 signature over the size and root of an
// account's ledger tree (core/merkle.h) at a moment. A head a contact or a regulator keeps is
// a commitment: every later head must extend it (a consistency proof), and every event proved
// against it is in the ledger (an inclusion proof). docs/ledger.md describes the encoding.
//
// Pure: keys come in and go out as PEM text; reading and writing key files is src/app's
// (app/ledger_key.h). Ed25519 through OpenSSL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/merkle.h"
#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace smsconsent {

struct TreeHead {
  int64_t account_id = 0;
  int64_t size = 0;
  merkle::Hash root{};
  int64_t at_ms = 0;
};

// The bytes signed (UTF-8 text): the line "smsconsent-tree-head-v1", then the fields
// account, size, root (lowercase hex), at (ms since the epoch), each "name:byte-length:value\n"
// as in the ledger's canonical encoding.
std::string TreeHeadEncoding(const TreeHead& head);

struct SignedTreeHead {
  TreeHead head;
  std::string key_id;     // lowercase hex SHA-256 of the raw 32-byte public key
  std::string signature;  // raw 64 bytes of Ed25519 over TreeHeadEncoding(head)
};

// An Ed25519 private key. Movable, not copyable. Thread-safe for concurrent Sign calls.
class SigningKey {
 public:
  static Result<SigningKey> Generate();
  // A PKCS#8 "PRIVATE KEY" PEM block of an Ed25519 key. kInvalidArgument for anything else
  // (another algorithm, an encrypted key, garbage).
  static Result<SigningKey> FromPem(std::string_view pem);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  std::string ToPem() const;         // PKCS#8 "PRIVATE KEY" PEM, unencrypted
  std::string PublicKeyRaw() const;  // 32 bytes
  std::string KeyId() const;         // lowercase hex SHA-256 of PublicKeyRaw()
  SignedTreeHead Sign(const TreeHead& head) const;

 private:
  explicit SigningKey(EVP_PKEY* key);
  EVP_PKEY* key_ = nullptr;
};

// True when `sth.signature` is a valid Ed25519 signature of TreeHeadEncoding(sth.head) by the
// key `public_key_raw` (32 bytes) and sth.key_id names that key. False for a wrong key, a wrong
// key_id, or a value of the wrong length.
bool VerifyTreeHead(const SignedTreeHead& sth, std::string_view public_key_raw);

// The raw 32 bytes of an Ed25519 public key given as base64 of those bytes (surrounding
// whitespace ignored) or as a "PUBLIC KEY" PEM block (SubjectPublicKeyInfo).
// kInvalidArgument otherwise.
Result<std::string> ParsePublicKey(std::string_view text);
// The "PUBLIC KEY" PEM block of a raw 32-byte Ed25519 public key ("" for another length).
std::string PublicKeyPem(std::string_view public_key_raw);
// Lowercase hex SHA-256 of a raw public key: its key_id.
std::string PublicKeyId(std::string_view public_key_raw);

}  // namespace smsconsent
