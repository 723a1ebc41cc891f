// Signed tree heads: Ed25519 over the head's encoding, keys as PEM and base64.
#include "core/tree_head.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/ledger.h"

namespace smsconsent {
namespace {

TreeHead SampleHead() {
  TreeHead h;
  h.account_id = 7;
  h.size = 123;
  h.root = merkle::LeafHash("root");
  h.at_ms = 1764381941123;
  return h;
}

TEST(TreeHead, EncodingIsLengthPrefixedText) {
  TreeHead h = SampleHead();
  h.root =
      merkle::FromHex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328").value();
  EXPECT_EQ(TreeHeadEncoding(h),
            "smsconsent-tree-head-v1\n"
            "account:1:7\n"
            "size:3:123\n"
            "root:64:5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n"
            "at:13:1764381941123\n");
}

TEST(TreeHead, SignedHeadVerifiesWithItsKeyOnly) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string pub = key->PublicKeyRaw();
  ASSERT_EQ(pub.size(), 32u);
  EXPECT_EQ(key->KeyId(), Sha256Hex(pub));
  const SignedTreeHead sth = key->Sign(SampleHead());
  EXPECT_EQ(sth.signature.size(), 64u);
  EXPECT_EQ(sth.key_id, key->KeyId());
  EXPECT_TRUE(VerifyTreeHead(sth, pub));

  // Any changed field.
  for (int field = 0; field < 4; ++field) {
    SignedTreeHead bad = sth;
    if (field == 0) bad.head.account_id = 8;
    if (field == 1) bad.head.size = 124;
    if (field == 2) bad.head.root[5] ^= 1;
    if (field == 3) bad.head.at_ms += 1;
    EXPECT_FALSE(VerifyTreeHead(bad, pub)) << "field " << field;
  }
  SignedTreeHead bad_sig = sth;
  bad_sig.signature[10] ^= 1;
  EXPECT_FALSE(VerifyTreeHead(bad_sig, pub));
  bad_sig.signature = sth.signature.substr(0, 63);
  EXPECT_FALSE(VerifyTreeHead(bad_sig, pub));

  // Another key: with its own key_id the signature fails; with ours the key_id does not match.
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyTreeHead(sth, other->PublicKeyRaw()));
  SignedTreeHead forged = other->Sign(SampleHead());
  EXPECT_FALSE(VerifyTreeHead(forged, pub));
  forged.key_id = sth.key_id;
  EXPECT_FALSE(VerifyTreeHead(forged, pub));
  EXPECT_TRUE(VerifyTreeHead(other->Sign(SampleHead()), other->PublicKeyRaw()));
  EXPECT_FALSE(VerifyTreeHead(sth, pub.substr(0, 31)));
  SignedTreeHead wrong_id = sth;
  wrong_id.key_id = std::string(64, '0');
  EXPECT_FALSE(VerifyTreeHead(wrong_id, pub));
}

TEST(TreeHead, PrivateKeyPemRoundTrips) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string pem = key->ToPem();
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  auto again = SigningKey::FromPem(pem);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->PublicKeyRaw(), key->PublicKeyRaw());
  EXPECT_TRUE(VerifyTreeHead(again->Sign(SampleHead()), key->PublicKeyRaw()));
  SigningKey moved = std::move(again).value();
  EXPECT_EQ(moved.KeyId(), key->KeyId());
}

TEST(TreeHead, FromPemRejectsWhatIsNotAnEd25519PrivateKey) {
  EXPECT_EQ(SigningKey::FromPem("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPem("garbage").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  // A public key is not a private key.
  EXPECT_EQ(SigningKey::FromPem(PublicKeyPem(key->PublicKeyRaw())).status().code(),
            StatusCode::kInvalidArgument);
  // A P-256 private key (PKCS#8, a throwaway test key) is not an Ed25519 key.
  const char* p256 =
      "-----BEGIN PRIVATE KEY-----\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgo9blVjDtWvF5XnD0\n"
      "v5ss+Ncm9v51Vub2GpEYNPVurGuhRANCAARtV1cOhWwhSva+xqav349ppo8ia20B\n"
      "MfTVm0+ljiRw8JLjvj9WmiMmHzY4DOafdzY93e4VYiOWa3oEbrZOC0Lw\n"
      "-----END PRIVATE KEY-----\n";
  auto ec = SigningKey::FromPem(p256);
  EXPECT_EQ(ec.status().code(), StatusCode::kInvalidArgument) << ec.status().ToString();
}

TEST(TreeHead, PublicKeyParsesFromBase64AndPem) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string raw = key->PublicKeyRaw();
  const std::string pem = PublicKeyPem(raw);
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  auto from_pem = ParsePublicKey(pem);
  ASSERT_TRUE(from_pem.ok()) << from_pem.status().ToString();
  EXPECT_EQ(*from_pem, raw);
  auto from_b64 = ParsePublicKey("  " + base64::Encode(raw) + "\n");
  ASSERT_TRUE(from_b64.ok());
  EXPECT_EQ(*from_b64, raw);
  EXPECT_FALSE(ParsePublicKey(base64::Encode(raw.substr(1))).ok());
  EXPECT_FALSE(ParsePublicKey("not base64!").ok());
  EXPECT_FALSE(ParsePublicKey(key->ToPem()).ok());
  EXPECT_FALSE(ParsePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  EXPECT_EQ(PublicKeyPem("short"), "");
}

TEST(Base64, StrictDecodingAcceptsOnlyTheCanonicalSpelling) {
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto back = base64::DecodeStrict(base64::Encode(s));
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64::Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64::Encode("fo"), "Zm8=");
  EXPECT_FALSE(base64::DecodeStrict("Zm8").ok());       // padding missing
  EXPECT_FALSE(base64::DecodeStrict("Zm9=").ok());      // unused bits set
  EXPECT_FALSE(base64::DecodeStrict("Zm8=Zm8=").ok());  // padding inside
  EXPECT_FALSE(base64::DecodeStrict("Zm 8=").ok());
  EXPECT_FALSE(base64::DecodeStrict("====").ok());
  EXPECT_FALSE(base64::DecodeStrict("Zg=a").ok());
}

}  // namespace
}  // namespace smsconsent
