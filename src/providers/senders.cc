// The reply senders of sender.h: log, Twilio REST API and Kannel sendsms.
//
// Settings (ProviderConfig::settings of the provider the account's reply_sender names):
//
//   log     none. Writes one info line per reply and reports it sent.
//   twilio  account_sid   (required) the Account SID, "AC…"; also the Basic auth user
//           auth_token    (required) the Auth Token; the Basic auth password
//           api_base_url  (optional) default "https://api.twilio.com"; tests point it at a local
//                         stand-in
//           timeout_ms    (optional) per request, default 10000
//   kannel  sendsms_url   (required) smsbox's sendsms URL, e.g.
//                         "http://127.0.0.1:13013/cgi-bin/sendsms"
//           username      (required) a sendsms-user's username
//           password      (required) its password
//           smsc          (optional) the smsc-id to route through
//           timeout_ms    (optional) per request, default 10000
//
// Outcome classes (sender.h): 2xx sent; 429, 5xx and transport errors retried; other statuses
// failed for good.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_reader.h"
#include "core/segments.h"
#include "http/client.h"
#include "providers/sender.h"
#include "providers/webhook.h"  // Base64Encode, UrlEncode

namespace smsconsent {
namespace {

constexpr int64_t kDefaultTimeoutMs = 10000;

// ---- Encodings ------------------------------------------------------------------------------

// application/x-www-form-urlencoded (WHATWG): space is "+", "*" is kept.
std::string FormEncode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == ' ') {
      out.push_back('+');
    } else if (ch == '*') {
      out.push_back('*');
    } else {
      out += UrlEncode(std::string_view(&ch, 1));
    }
  }
  return out;
}

std::string FormBody(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out += FormEncode(name);
    out.push_back('=');
    out += FormEncode(value);
  }
  return out;
}

// UTF-8 to UTF-16BE bytes. A malformed sequence becomes U+FFFD, as CountSegments counts it.
std::string Utf16Be(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  auto put_unit = [&out](uint32_t u) {
    out.push_back(static_cast<char>((u >> 8) & 0xFF));
    out.push_back(static_cast<char>(u & 0xFF));
  };
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t trail = 0;  // continuation bytes the lead byte announces
    uint32_t cp = 0;
    uint32_t min = 0;  // smallest code point of that length (longer forms are overlong)
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      trail = 1, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      trail = 2, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      trail = 3, cp = lead & 0x07, min = 0x10000;
    } else {
      cp = 0xFFFD;  // a stray continuation byte or an invalid lead byte
    }
    size_t len = 1;
    if (trail > 0) {
      bool ok = i + trail < s.size();
      for (size_t k = 1; ok && k <= trail; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = (b & 0xC0) == 0x80;
        cp = (cp << 6) | (b & 0x3F);
      }
      if (ok && cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
        len = trail + 1;
      } else {
        cp = 0xFFFD;  // resynchronise at the next byte
      }
    }
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      put_unit(0xD800 + (v >> 10));
      put_unit(0xDC00 + (v & 0x3FF));
    } else {
      put_unit(cp);
    }
    i += len;
  }
  return out;
}

// ---- Settings -------------------------------------------------------------------------------

// A string setting; empty when absent. kFailedPrecondition when present but not a string, or
// when `required` and absent/empty.
Result<std::string> StringSetting(const nlohmann::json& settings, const char* provider,
                                  const char* key, bool required) {
  if (settings.is_object() && settings.contains(key)) {
    const nlohmann::json& v = settings.at(key);
    if (!v.is_string()) {
      return FailedPrecondition(std::string(provider) + " setting " + key + " must be a string");
    }
    std::string s = v.get<std::string>();
    if (!s.empty() || !required) return s;
  }
  if (!required) return std::string();
  return FailedPrecondition(std::string(provider) + " reply sender needs the setting " + key +
                            " (smsconsent provider set --provider " + provider + ")");
}

Result<std::chrono::milliseconds> TimeoutSetting(const nlohmann::json& settings,
                                                 const char* provider) {
  if (!settings.is_object() || !settings.contains("timeout_ms")) {
    return std::chrono::milliseconds(kDefaultTimeoutMs);
  }
  const nlohmann::json& v = settings.at("timeout_ms");
  if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
    return FailedPrecondition(std::string(provider) +
                              " setting timeout_ms must be a positive integer");
  }
  return std::chrono::milliseconds(v.get<int64_t>());
}

// ---- Outcome classification -------------------------------------------------------------------

// The outcome of a transport failure: kInvalidArgument is our configuration (a malformed URL)
// and will not get better; anything else (connection, timeout, TLS) may.
SendOutcome TransportFailure(const char* provider, const Status& st) {
  SendOutcome out;
  out.kind = st.code() == StatusCode::kInvalidArgument ? SendOutcome::kFailed : SendOutcome::kRetry;
  out.error = std::string(provider) + ": " + st.message();
  return out;
}

bool IsRetryableStatus(int status) { return status == 429 || status >= 500; }

// A provider's free-text answer, fit for last_error (which ends up in JSON and logs): at most
// `max` bytes, line breaks as spaces, and anything but printable ASCII as '?', so that a
// truncated or non-UTF-8 body can never make the text invalid UTF-8.
std::string Excerpt(std::string_view s, size_t max = 200) {
  std::string out;
  for (char ch : s.substr(0, max)) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c == '\r' || c == '\n' || c == '\t' ? ' ' : (c < 0x20 || c > 0x7E) ? '?' : ch);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (s.size() > max) out += "...";
  return out;
}

// ---- log --------------------------------------------------------------------------------------

class LogSender final : public ReplySender {
 public:
  SendOutcome Send(const OutboundSms& sms) override {
    spdlog::info(
        "reply (log sender, not sent to any provider): from={} to={} body={}", sms.from, sms.to,
        nlohmann::json(sms.body).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return SendOutcome{};
  }
};

// ---- twilio -----------------------------------------------------------------------------------

class TwilioSender final : public ReplySender {
 public:
  TwilioSender(HttpClient& http, std::string base_url, std::string account_sid,
               std::string auth_token, std::chrono::milliseconds timeout)
      : http_(http),
        url_(std::move(base_url) + "/2010-04-01/Accounts/" + UrlEncode(account_sid) +
             "/Messages.json"),
        authorization_("Basic " + Base64Encode(account_sid + ":" + auth_token)),
        timeout_(timeout) {}

  SendOutcome Send(const OutboundSms& sms) override {
    HttpClientRequest req;
    req.method = "POST";
    req.url = url_;
    req.timeout = timeout_;
    req.headers = {{"Authorization", authorization_},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    req.body = FormBody({{"From", sms.from}, {"To", sms.to}, {"Body", sms.body}});
    Result<HttpClientResponse> resp = http_.Send(req);
    if (!resp.ok()) return TransportFailure("twilio", resp.status());

    SendOutcome out;
    // Twilio's answer is outside text like any request's: read within the same limits. A body
    // that is not JSON (a proxy's error page) is null here and quoted as text below.
    auto read = ReadJson(resp->body);
    const nlohmann::json j = read.ok() ? std::move(read).value() : nlohmann::json();
    if (resp->status >= 200 && resp->status < 300) {
      out.kind = SendOutcome::kSent;
      if (j.is_object() && j.contains("sid") && j["sid"].is_string()) {
        out.provider_message_id = j["sid"].get<std::string>();
      }
      return out;
    }
    out.kind = IsRetryableStatus(resp->status) ? SendOutcome::kRetry : SendOutcome::kFailed;
    // Twilio's error body: {"code": 21211, "message": "The 'To' number … is not valid.", …}
    out.error = "twilio: HTTP " + std::to_string(resp->status);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      out.error += ": " + j["message"].get<std::string>();
      if (j.contains("code") && j["code"].is_number_integer()) {
        out.error += " (code " + std::to_string(j["code"].get<int64_t>()) + ")";
      }
    } else if (!resp->body.empty()) {
      out.error += ": " + Excerpt(resp->body);
    }
    return out;
  }

 private:
  HttpClient& http_;
  const std::string url_;
  const std::string authorization_;
  const std::chrono::milliseconds timeout_;
};

// ---- kannel -----------------------------------------------------------------------------------

class KannelSender final : public ReplySender {
 public:
  KannelSender(HttpClient& http, std::string sendsms_url, std::string username,
               std::string password, std::string smsc, std::chrono::milliseconds timeout)
      : http_(http),
        prefix_(std::move(sendsms_url)),
        username_(std::move(username)),
        password_(std::move(password)),
        smsc_(std::move(smsc)),
        timeout_(timeout) {
    prefix_.push_back(prefix_.find('?') == std::string::npos ? '?' : '&');
  }

  SendOutcome Send(const OutboundSms& sms) override {
    // Kannel converts `text` from `charset` to what the SMSC needs. A text that fits GSM-7
    // goes as UTF-8 with 7-bit coding; anything else must be sent as UCS-2 (coding=2), whose
    // text Kannel expects as UTF-16BE bytes.
    const bool gsm = CountSegments(sms.body).encoding == SmsEncoding::kGsm7;
    std::string url = prefix_;
    url += "username=" + UrlEncode(username_);
    url += "&password=" + UrlEncode(password_);
    url += "&from=" + UrlEncode(sms.from);
    url += "&to=" + UrlEncode(sms.to);
    url += "&text=" + UrlEncode(gsm ? sms.body : Utf16Be(sms.body));
    url += gsm ? "&charset=UTF-8&coding=0" : "&charset=UTF-16BE&coding=2";
    if (!smsc_.empty()) url += "&smsc=" + UrlEncode(smsc_);

    HttpClientRequest req;
    req.method = "GET";
    req.url = std::move(url);
    req.timeout = timeout_;
    Result<HttpClientResponse> resp = http_.Send(req);
    if (!resp.ok()) return TransportFailure("kannel", resp.status());

    SendOutcome out;
    // Kannel answers 202 "0: Accepted for delivery" (or "3: Queued for later delivery"); it
    // returns no message id.
    if (resp->status >= 200 && resp->status < 300) return out;
    // 503 "Temporal failure, try again later"; 4xx: bad credentials, missing parameters.
    out.kind = resp->status >= 500 ? SendOutcome::kRetry : SendOutcome::kFailed;
    out.error = "kannel: HTTP " + std::to_string(resp->status);
    if (!resp->body.empty()) out.error += ": " + Excerpt(resp->body);
    return out;
  }

 private:
  HttpClient& http_;
  std::string prefix_;  // sendsms URL followed by '?' or '&'
  const std::string username_;
  const std::string password_;
  const std::string smsc_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

Result<std::unique_ptr<ReplySender>> MakeReplySender(const std::string& sender,
                                                     const nlohmann::json& settings,
                                                     HttpClient& http) {
  if (!settings.is_null() && !settings.is_object()) {
    return FailedPrecondition(sender + " settings are not a JSON object");
  }
  if (sender == "log") return std::unique_ptr<ReplySender>(new LogSender());
  if (sender == "twilio") {
    SMSC_ASSIGN_OR_RETURN(std::string sid, StringSetting(settings, "twilio", "account_sid", true));
    SMSC_ASSIGN_OR_RETURN(std::string token, StringSetting(settings, "twilio", "auth_token", true));
    SMSC_ASSIGN_OR_RETURN(std::string base,
                          StringSetting(settings, "twilio", "api_base_url", false));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "twilio"));
    if (base.empty()) base = "https://api.twilio.com";
    while (!base.empty() && base.back() == '/') base.pop_back();
    return std::unique_ptr<ReplySender>(
        new TwilioSender(http, std::move(base), std::move(sid), std::move(token), timeout));
  }
  if (sender == "kannel") {
    SMSC_ASSIGN_OR_RETURN(std::string url, StringSetting(settings, "kannel", "sendsms_url", true));
    SMSC_ASSIGN_OR_RETURN(std::string user, StringSetting(settings, "kannel", "username", true));
    SMSC_ASSIGN_OR_RETURN(std::string pass, StringSetting(settings, "kannel", "password", true));
    SMSC_ASSIGN_OR_RETURN(std::string smsc, StringSetting(settings, "kannel", "smsc", false));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "kannel"));
    return std::unique_ptr<ReplySender>(new KannelSender(
        http, std::move(url), std::move(user), std::move(pass), std::move(smsc), timeout));
  }
  return InvalidArgument("unknown reply sender \"" + sender +
                         "\" (expected log, twilio or kannel)");
}

}  // namespace smsconsent
