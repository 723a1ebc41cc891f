// Helpers shared by the webhook providers: request accessors, encodings, digests and MACs
// (OpenSSL), charset conversion (ICU), URL spellings, settings lookup, and the registry.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <unicode/ucnv.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "providers/webhook.h"

namespace smsconsent {

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// HMAC through OpenSSL 3's EVP_MAC, the keyed context kept per thread and re-initialised for
// each message. HMAC() (EVP_Q_mac) looks the MAC and the digest up by name, sets them up and
// keys them on every call, which cost more than hashing a webhook's few hundred bytes: every
// signed webhook pays one or two of these. A thread keeps one context per (digest, key) it
// has used, at most kMaxKeyedContexts (emptied when full: keys are per account, few).
// EVP_MAC_init without a key restarts the context with the key it already holds (for HMAC,
// the pre-hashed inner and outer pads), which costs less than duplicating and freeing a
// context per message; a context is only ever used by its own thread, one message at a time.
std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  static constexpr size_t kMaxKeyedContexts = 64;
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct CtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  using CtxPtr = std::unique_ptr<EVP_MAC_CTX, CtxFree>;
  thread_local std::unordered_map<std::string, CtxPtr> keyed;
  if (kHmac == nullptr) return {};  // an empty MAC never matches a signature
  const char* digest = EVP_MD_get0_name(md);
  std::string id = digest;
  id.push_back('\0');
  id.append(key);
  auto it = keyed.find(id);
  if (it == keyed.end()) {
    if (keyed.size() >= kMaxKeyedContexts) keyed.clear();
    CtxPtr ctx(EVP_MAC_CTX_new(kHmac));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    // An empty key is legal for HMAC; OpenSSL wants a non-null pointer for it.
    static const unsigned char kEmpty = 0;
    const auto* key_ptr =
        key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
    if (ctx == nullptr || EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) != 1) return {};
    it = keyed.emplace(std::move(id), std::move(ctx)).first;
  }
  EVP_MAC_CTX* const ctx = it->second.get();
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &out_len, sizeof out) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &out_len, md, nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

struct UConverterCloser {
  void operator()(UConverter* c) const { ucnv_close(c); }
};

}  // namespace

std::string_view WebhookRequest::Header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return {};
}

std::string_view WebhookRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return {};
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back(kBase64Alphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    const uint32_t n =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  // Padding is optional, but when present it must be where it belongs.
  size_t len = text.size();
  size_t padding = 0;
  while (len > 0 && text[len - 1] == '=' && padding < 2) {
    --len;
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0) return InvalidArgument("bad base64 padding");
  if (len % 4 == 1) return InvalidArgument("bad base64 length");
  std::string out;
  out.reserve(len * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    const int v = Base64Value(text[i]);
    if (v < 0) return InvalidArgument("bad base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/') {
      return InvalidArgument("bad base64url character");
    }
  }
  return Base64Decode(s);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha1(), key, data);
}
std::string HmacSha256(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha256(), key, data);
}
std::string HmacMd5(std::string_view key, std::string_view data) {
  return Hmac(EVP_md5(), key, data);
}
std::string HmacSha512(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha512(), key, data);
}
std::string Md5(std::string_view data) { return Digest(EVP_md5(), data); }
std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

namespace {

// Appends the form decoding of `raw` ('+' is a space, %XX a byte) to `out`. Returns the
// error's message, or nullptr. Runs of other characters, most of any value, are appended at
// once.
const char* AppendFormDecoded(std::string_view raw, std::string& out) {
  std::size_t i = 0;
  while (i < raw.size()) {
    std::size_t run = i;
    while (run < raw.size() && raw[run] != '+' && raw[run] != '%') ++run;
    out.append(raw.data() + i, run - i);
    i = run;
    if (i == raw.size()) break;
    if (raw[i] == '+') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (i + 2 >= raw.size()) return "bad %-escape in form data: truncated";
    const int hi = HexDigitValue(raw[i + 1]);
    const int lo = HexDigitValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return "bad %-escape in form data";
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 3;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(static_cast<std::size_t>(std::count(s.begin(), s.end(), '&')) + 1);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string_view::npos) amp = s.size();
    const std::string_view pair = s.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      const std::string_view raw_key = pair.substr(0, eq);
      const std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      auto& [key, value] = out.emplace_back();
      if (const char* error = AppendFormDecoded(raw_key, key)) return InvalidArgument(error);
      if (const char* error = AppendFormDecoded(raw_value, value)) return InvalidArgument(error);
    }
    pos = amp + 1;
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
        b == '.' || b == '_' || b == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length of a signature is public (it follows from the algorithm); its content is not.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> ConvertToUtf8(std::string_view bytes, std::string_view charset) {
  const std::string name(charset);
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<UConverter, UConverterCloser> conv(ucnv_open(name.c_str(), &err));
  if (U_FAILURE(err) || conv == nullptr) {
    return InvalidArgument("unknown charset \"" + name + "\"");
  }
  // Substitute U+FFFD for malformed input instead of failing (see header).
  ucnv_setToUCallBack(conv.get(), UCNV_TO_U_CALLBACK_SUBSTITUTE, nullptr, nullptr, nullptr, &err);
  if (bytes.empty()) return std::string();
  // Every input byte yields at most two UTF-16 units (surrogate pair for 4-byte input is
  // fewer units than bytes; single-byte charsets give one unit per byte).
  std::vector<UChar> units(bytes.size() * 2 + 2);
  err = U_ZERO_ERROR;
  const int32_t n_units =
      ucnv_toUChars(conv.get(), units.data(), static_cast<int32_t>(units.size()), bytes.data(),
                    static_cast<int32_t>(bytes.size()), &err);
  if (U_FAILURE(err)) {
    return InvalidArgument("cannot convert text from \"" + name + "\": " + u_errorName(err));
  }
  std::string out(static_cast<size_t>(n_units) * 3 + 1, '\0');
  int32_t out_len = 0;
  int32_t substitutions = 0;
  err = U_ZERO_ERROR;
  u_strToUTF8WithSub(out.data(), static_cast<int32_t>(out.size()), &out_len, units.data(), n_units,
                     0xFFFD, &substitutions, &err);
  if (U_FAILURE(err)) {
    return InvalidArgument("cannot convert text from \"" + name + "\": " + u_errorName(err));
  }
  out.resize(static_cast<size_t>(out_len));
  return out;
}

std::vector<std::string> UrlPortVariants(std::string_view url) {
  std::vector<std::string> out;
  out.emplace_back(url);
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return out;
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  // The host starts after any userinfo; its port after the last ':' not inside [IPv6].
  const size_t at = authority.rfind('@');
  const size_t host_start = at == std::string_view::npos ? 0 : at + 1;
  const size_t bracket = authority.rfind(']');
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos &&
      (colon < host_start || (bracket != std::string_view::npos && colon < bracket))) {
    colon = std::string_view::npos;
  }
  const std::string_view head = url.substr(0, authority_start);
  const std::string_view tail = url.substr(authority_end);
  const std::string_view host_part =
      colon == std::string_view::npos ? authority : authority.substr(0, colon);
  auto add = [&out](std::string s) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  };
  if (colon == std::string_view::npos) {
    const char* default_port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : nullptr;
    if (default_port != nullptr) {
      add(std::string(head) + std::string(host_part) + default_port + std::string(tail));
    }
  } else {
    add(std::string(head) + std::string(host_part) + std::string(tail));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> RequestQueryParams(const WebhookRequest& request) {
  const size_t q = request.url.find('?');
  if (q != std::string::npos) {
    std::string_view query = std::string_view(request.url).substr(q + 1);
    const size_t hash = query.find('#');
    if (hash != std::string_view::npos) query = query.substr(0, hash);
    auto parsed = ParseFormUrlEncoded(query);
    if (parsed.ok()) return std::move(parsed).value();
  }
  return request.query;
}

bool IsUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return false;
    } else if (HexDigitValue(id[i]) < 0) {
      return false;
    }
  }
  return true;
}

bool IsTwilioSid(std::string_view sid, std::string_view prefix) {
  if (sid.size() != prefix.size() + 32 || sid.substr(0, prefix.size()) != prefix) return false;
  return std::all_of(sid.begin() + static_cast<std::ptrdiff_t>(prefix.size()), sid.end(),
                     [](char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f'); });
}

bool IsPrintableId(std::string_view id, std::size_t max_bytes) {
  return !id.empty() && id.size() <= max_bytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Status CheckFormat(bool ok, std::string_view provider, std::string_view field,
                   std::string_view value, std::string_view form) {
  if (ok) return Status::Ok();
  std::string shown;
  for (const char c : value.substr(0, 64)) shown += c > 0x20 && c < 0x7f ? c : '?';
  if (value.size() > 64) shown += "...";
  return InvalidArgument(std::string(provider) + ": " + std::string(field) + " \"" + shown +
                         "\" is not " + std::string(form));
}

bool IsFormBody(const WebhookRequest& request) {
  // The media type is what comes before any parameters ("; charset=utf-8"), in any case.
  std::string_view type = request.Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return type.empty() || (type.size() == kForm.size() &&
                          std::equal(type.begin(), type.end(), kForm.begin(), [](char a, char b) {
                            return std::tolower(static_cast<unsigned char>(a)) == b;
                          }));
}

const std::string* FindParam(const std::vector<std::pair<std::string, std::string>>& params,
                             std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

Result<std::string> RequiredSetting(const nlohmann::json& settings, std::string_view provider,
                                    std::string_view key) {
  const std::string k(key);
  if (!settings.is_object() || !settings.contains(k) || !settings[k].is_string() ||
      settings[k].get_ref<const std::string&>().empty()) {
    return FailedPrecondition(std::string(provider) + " settings lack \"" + k +
                              "\" (set it with: smsconsent provider set --provider " +
                              std::string(provider) + ")");
  }
  return settings[k].get<std::string>();
}

int64_t ToleranceSeconds(const nlohmann::json& settings) {
  constexpr int64_t kDefault = 300;
  constexpr int64_t kMax = 86400;  // A wider window is no replay protection at all.
  if (!settings.is_object() || !settings.contains("tolerance_seconds")) return kDefault;
  const auto& v = settings["tolerance_seconds"];
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return u > 0 && u <= static_cast<uint64_t>(kMax) ? static_cast<int64_t>(u) : kDefault;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i > 0 && i <= kMax ? i : kDefault;
  }
  return kDefault;
}

const std::vector<std::unique_ptr<WebhookProvider>>& AllWebhookProviders() {
  static const auto* const kProviders = [] {
    auto* v = new std::vector<std::unique_ptr<WebhookProvider>>();
    v->push_back(MakeTwilioWebhook());
    v->push_back(MakeKannelWebhook());
    v->push_back(MakeVonageWebhook());
    v->push_back(MakePlivoWebhook());
    v->push_back(MakeTelnyxWebhook());
    v->push_back(MakeGenericWebhook());
    return v;
  }();
  return *kProviders;
}

const WebhookProvider* FindWebhookProvider(std::string_view name) {
  for (const auto& p : AllWebhookProviders()) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

bool WithinTolerance(int64_t at_s, int64_t now_ms, int64_t tolerance_s) {
  const int64_t now_s = now_ms / 1000;
  return at_s >= now_s - tolerance_s && at_s <= now_s + tolerance_s;
}

bool ParseSeconds(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::string PlusE164(std::string_view number) {
  if (number.size() > 8 && std::all_of(number.begin(), number.end(), IsAsciiDigit)) {
    return "+" + std::string(number);
  }
  return std::string(number);
}

WebhookResponse JsonAcknowledgement() {
  WebhookResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = "{\"ok\":true}";
  return r;
}

}  // namespace smsconsent
