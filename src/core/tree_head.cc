#include "core/tree_head.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

#include "core/base64.h"
#include "core/ledger.h"

namespace smsconsent {
namespace {

void HeadField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.push_back(':');
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

PkeyPtr RawPublicKey(std::string_view raw) {
  if (raw.size() != 32) return nullptr;
  return PkeyPtr(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

std::string TrimSpace(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string TreeHeadEncoding(const TreeHead& head) {
  std::string out = "smsconsent-tree-head-v1\n";
  HeadField(out, "account", std::to_string(head.account_id));
  HeadField(out, "size", std::to_string(head.size));
  HeadField(out, "root", merkle::ToHex(head.root));
  HeadField(out, "at", std::to_string(head.at_ms));
  return out;
}

SigningKey::SigningKey(EVP_PKEY* key) : key_(key) {}
SigningKey::SigningKey(SigningKey&& other) noexcept : key_(std::exchange(other.key_, nullptr)) {}
SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
  }
  return *this;
}
SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

Result<SigningKey> SigningKey::Generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) {
    ERR_clear_error();
    return Internal("could not generate an Ed25519 key");
  }
  return SigningKey(key);
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  if (pem.find("-----BEGIN PRIVATE KEY-----") == std::string_view::npos) {
    return InvalidArgument("not a PKCS#8 \"PRIVATE KEY\" PEM block");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A null passphrase callback with an empty passphrase: an encrypted key fails to load
  // instead of prompting on the terminal.
  char empty[] = "";
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty) : nullptr);
  ERR_clear_error();
  if (!key) return InvalidArgument("not a readable PEM private key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return InvalidArgument("the private key is not an Ed25519 key");
  }
  return SigningKey(key.release());
}

std::string SigningKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return "";
  }
  return BioText(bio.get());
}

std::string SigningKey::PublicKeyRaw() const {
  std::string out(32, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key_, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != 32) {
    ERR_clear_error();
    return "";
  }
  return out;
}

std::string SigningKey::KeyId() const { return PublicKeyId(PublicKeyRaw()); }

SignedTreeHead SigningKey::Sign(const TreeHead& head) const {
  SignedTreeHead out;
  out.head = head;
  out.key_id = KeyId();
  const std::string message = TreeHeadEncoding(head);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t sig_len = sig.size();
  if (ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) == 1 &&
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1 &&
      sig_len == 64) {
    out.signature = std::move(sig);
  } else {
    ERR_clear_error();  // An empty signature: it verifies against no key.
  }
  return out;
}

bool VerifyTreeHead(const SignedTreeHead& sth, std::string_view public_key_raw) {
  if (public_key_raw.size() != 32 || sth.signature.size() != 64) return false;
  if (sth.key_id != PublicKeyId(public_key_raw)) return false;
  PkeyPtr key = RawPublicKey(public_key_raw);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx) {
    ERR_clear_error();
    return false;
  }
  const std::string message = TreeHeadEncoding(sth.head);
  const bool ok =
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sth.signature.data()),
                       sth.signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::string> ParsePublicKey(std::string_view text) {
  if (text.find("-----BEGIN") != std::string_view::npos) {
    if (text.find("-----BEGIN PUBLIC KEY-----") == std::string_view::npos) {
      return InvalidArgument("not a \"PUBLIC KEY\" PEM block");
    }
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!key) return InvalidArgument("not a readable PEM public key");
    if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
      return InvalidArgument("the public key is not an Ed25519 key");
    }
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                    &len) != 1 ||
        len != 32) {
      ERR_clear_error();
      return InvalidArgument("could not read the Ed25519 public key");
    }
    return raw;
  }
  Result<std::string> raw = base64::DecodeStrict(TrimSpace(text));
  if (!raw.ok()) {
    return InvalidArgument("a public key is base64 of 32 bytes or a PEM block: " +
                           raw.status().message());
  }
  if (raw->size() != 32) {
    return InvalidArgument("an Ed25519 public key has 32 bytes, not " +
                           std::to_string(raw->size()));
  }
  return raw;
}

std::string PublicKeyPem(std::string_view public_key_raw) {
  PkeyPtr key = RawPublicKey(public_key_raw);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    ERR_clear_error();
    return "";
  }
  return BioText(bio.get());
}

std::string PublicKeyId(std::string_view public_key_raw) { return Sha256Hex(public_key_raw); }

}  // namespace smsconsent
