// KeyHashMemo and its SipHash-128 tag.
#include "http/key_hash_memo.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <gtest/gtest.h>

#include <string>

#include "core/ledger.h"

namespace smsconsent {
namespace {

// OpenSSL's SipHash-2-4 with a 16-byte output, as the reference to compare with.
std::string OpenSslSipHash128(const std::array<uint8_t, 16>& key, const std::string& data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  size_t size = 16;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  unsigned char out[16];
  size_t len = 0;
  const bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                                 data.size()) == 1 &&
                  EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_TRUE(ok);
  EXPECT_EQ(len, 16u);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string AsBytes(const std::array<uint64_t, 2>& tag) {
  std::string out;
  for (uint64_t word : tag) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
  }
  return out;
}

TEST(SipHash128, MatchesTheReferenceVectors) {
  // The reference implementation's first and last 128-bit vectors: key 00..0f, messages
  // 00..(n-1) for n = 0 and 63.
  std::array<uint8_t, 16> key;
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  std::string data;
  for (int i = 0; i < 63; ++i) data.push_back(static_cast<char>(i));
  EXPECT_EQ(AsBytes(SipHash128(key, "")),
            std::string("\xa3\x81\x7f\x04\xba\x25\xa8\xe6\x6d\xf6\x72\x14\xc7\x55\x02\x93", 16));
  EXPECT_EQ(AsBytes(SipHash128(key, data)), OpenSslSipHash128(key, data));
}

TEST(SipHash128, AgreesWithOpenSslForEveryLengthAndKey) {
  for (int k = 0; k < 4; ++k) {
    std::array<uint8_t, 16> key;
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i * 37 + k * 101 + 5);
    std::string data;
    for (int n = 0; n <= 80; ++n) {
      EXPECT_EQ(AsBytes(SipHash128(key, data)), OpenSslSipHash128(key, data))
          << "key " << k << ", length " << n;
      data.push_back(static_cast<char>(n * 29 + k + 0x80));
    }
  }
}

TEST(KeyHashMemo, AnswersSha256HexAndRemembersOnlyWhatItIsTold) {
  KeyHashMemo memo;
  const std::string key = "sk_live_0123456789abcdef0123456789abcdef";
  bool remembered = true;
  EXPECT_EQ(memo.Sha256Hex(key, &remembered), Sha256Hex(key));
  EXPECT_FALSE(remembered);
  memo.Remember(key, Sha256Hex(key));
  EXPECT_EQ(memo.Sha256Hex(key, &remembered), Sha256Hex(key));
  EXPECT_TRUE(remembered);
  // A key one character off, shorter or longer is hashed, not taken for the remembered one.
  for (const std::string& other : {key.substr(0, key.size() - 1) + "0", key.substr(1), key + "x",
                                  std::string()}) {
    EXPECT_EQ(memo.Sha256Hex(other, &remembered), Sha256Hex(other)) << other;
    EXPECT_FALSE(remembered) << other;
  }
}

TEST(KeyHashMemo, StartsAfreshWhenFull) {
  KeyHashMemo memo(2);
  memo.Remember("a", Sha256Hex("a"));
  memo.Remember("b", Sha256Hex("b"));
  memo.Remember("c", Sha256Hex("c"));  // full: forgets a and b
  bool remembered = false;
  EXPECT_EQ(memo.Sha256Hex("c", &remembered), Sha256Hex("c"));
  EXPECT_TRUE(remembered);
  EXPECT_EQ(memo.Sha256Hex("a", &remembered), Sha256Hex("a"));
  EXPECT_FALSE(remembered);
}

TEST(KeyHashMemo, TagsDependOnTheProcessKey) {
  // Two memos (two processes) key their tags differently, so a tag tells nothing elsewhere.
  std::array<uint8_t, 16> a{}, b{};
  b[15] = 1;
  EXPECT_NE(SipHash128(a, "sk_x"), SipHash128(b, "sk_x"));
}

}  // namespace
}  // namespace smsconsent
