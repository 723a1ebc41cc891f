// The reply senders of sender.h: log, Twilio REST API, Kannel sendsms, Vonage SMS API, Plivo
// Message API and Telnyx Messaging API v2.
//
// Settings (ProviderConfig::settings of the provider the account's reply_sender names; the
// webhook's settings of the same provider live in the same object):
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
//   vonage  api_key       (required) the account's API key; the Basic auth user
//           api_secret    (required) its API secret; the Basic auth password
//           api_base_url  (optional) default "https://rest.nexmo.com"
//           timeout_ms    (optional) per request, default 10000
//   plivo   auth_id       (required) the Auth ID; the Basic auth user and part of the path
//           auth_token    (required) the Auth Token (the webhook's key too); the password
//           api_base_url  (optional) default "https://api.plivo.com"
//           timeout_ms    (optional) per request, default 10000
//   telnyx  api_key       (required) an API key (v2), sent as a Bearer token
//           api_base_url  (optional) default "https://api.telnyx.com"
//           timeout_ms    (optional) per request, default 10000
//
// Outcome classes (sender.h): 2xx sent; 429, 5xx and transport errors retried; other statuses
// failed for good. Vonage answers most errors with HTTP 200 and a status per message part,
// classified in VonageStatusIsRetryable.
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

// A JSON member that is a string, else empty.
std::string JsonString(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return {};
}

// A JSON POST to a provider's REST API with its Authorization header (Vonage, Plivo, Telnyx).
HttpClientRequest JsonPost(const std::string& url, const std::string& authorization,
                           std::chrono::milliseconds timeout, const nlohmann::json& body) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = url;
  req.timeout = timeout;
  req.headers = {{"Authorization", authorization},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return req;
}

// A provider's answer as JSON; null when it is not JSON (a proxy's error page), which the error
// text then quotes as text. Read within ReadJson's limits like any outside text.
nlohmann::json AnswerJson(const std::string& body) {
  auto read = ReadJson(body);
  return read.ok() ? std::move(read).value() : nlohmann::json();
}

// The error of a non-2xx answer: "<provider>: HTTP <status>: <message>", the message being what
// `message` found in the JSON answer, or else the body's first bytes.
SendOutcome HttpFailure(const char* provider, const HttpClientResponse& resp,
                        const std::string& message) {
  SendOutcome out;
  out.kind = IsRetryableStatus(resp.status) ? SendOutcome::kRetry : SendOutcome::kFailed;
  out.error = std::string(provider) + ": HTTP " + std::to_string(resp.status);
  if (!message.empty()) {
    out.error += ": " + Excerpt(message);
  } else if (!resp.body.empty()) {
    out.error += ": " + Excerpt(resp.body);
  }
  return out;
}

// The base URL setting without trailing slashes, or `fallback` when absent.
Result<std::string> BaseUrlSetting(const nlohmann::json& settings, const char* provider,
                                   const char* fallback) {
  SMSC_ASSIGN_OR_RETURN(std::string base, StringSetting(settings, provider, "api_base_url", false));
  if (base.empty()) base = fallback;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
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
    std::vector<std::pair<std::string, std::string>> form = {
        {"From", sms.from}, {"To", sms.to}, {"Body", sms.body}};
    if (!sms.status_callback_url.empty())
      form.emplace_back("StatusCallback", sms.status_callback_url);
    req.body = FormBody(form);
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
        out.error_code = std::to_string(j["code"].get<int64_t>());
        out.error += " (code " + out.error_code + ")";
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

// ---- vonage -----------------------------------------------------------------------------------

// Vonage's SMS API status of one message part (https://developer.vonage.com/api-errors/sms):
// 1 throttled, 5 internal error and 10 too many binds are temporary; every other non-zero
// status (missing or invalid parameters, bad credentials, invalid or barred number, account
// barred, no credit, message too long, invalid sender, …) needs a person to change something.
bool VonageStatusIsRetryable(const std::string& status) {
  return status == "1" || status == "5" || status == "10";
}

class VonageSender final : public ReplySender {
 public:
  VonageSender(HttpClient& http, const std::string& base_url, const std::string& api_key,
               const std::string& api_secret, std::chrono::milliseconds timeout)
      : http_(http),
        url_(base_url + "/sms/json"),
        authorization_("Basic " + Base64Encode(api_key + ":" + api_secret)),
        timeout_(timeout) {}

  SendOutcome Send(const OutboundSms& sms) override {
    // Vonage writes numbers in E.164 without the '+'. Its SMS API sends text as GSM-7 unless
    // the type is "unicode", so a text GSM-7 cannot hold would not arrive as written.
    nlohmann::json body = {
        {"from", WithoutPlus(sms.from)}, {"to", WithoutPlus(sms.to)}, {"text", sms.body}};
    if (CountSegments(sms.body).encoding != SmsEncoding::kGsm7) body["type"] = "unicode";
    if (!sms.status_callback_url.empty()) body["callback"] = sms.status_callback_url;

    Result<HttpClientResponse> resp = http_.Send(JsonPost(url_, authorization_, timeout_, body));
    if (!resp.ok()) return TransportFailure("vonage", resp.status());

    const nlohmann::json j = AnswerJson(resp->body);
    if (resp->status < 200 || resp->status >= 300) {
      // Outside the per-message statuses, Vonage answers RFC 7807 problems ({"title",
      // "detail"}); older endpoints {"error-code", "error-code-label"}.
      std::string message = JsonString(j, "title");
      const std::string detail = JsonString(j, "detail");
      if (!detail.empty()) message += message.empty() ? detail : ": " + detail;
      if (message.empty()) message = JsonString(j, "error-code-label");
      return HttpFailure("vonage", *resp, message);
    }
    // {"message-count": "2", "messages": [{"status": "0", "message-id": "…", …}, …]}: one
    // entry per part of a long text, each with its own status.
    SendOutcome out;
    const nlohmann::json* parts =
        j.is_object() && j.contains("messages") && j["messages"].is_array() ? &j["messages"]
                                                                            : nullptr;
    if (parts == nullptr || parts->empty()) {
      out.kind = SendOutcome::kFailed;  // whether anything left is unknown: never sent twice
      out.error = "vonage: HTTP " + std::to_string(resp->status) +
                  ": answer without messages: " + Excerpt(resp->body);
      return out;
    }
    for (const nlohmann::json& part : *parts) {
      const std::string status = JsonString(part, "status");
      if (status == "0") {
        if (out.provider_message_id.empty()) {
          out.provider_message_id = JsonString(part, "message-id");
        }
        continue;
      }
      // The first part that did not leave decides. Parts that did leave are not recalled, so
      // a retry sends them again: a long reply may arrive partly twice rather than not at all.
      out.kind = VonageStatusIsRetryable(status) ? SendOutcome::kRetry : SendOutcome::kFailed;
      out.provider_message_id.clear();
      out.error = "vonage: status " + Excerpt(status.empty() ? "missing" : status, 8);
      const std::string text = JsonString(part, "error-text");
      if (!text.empty()) out.error += ": " + Excerpt(text);
      return out;
    }
    return out;
  }

 private:
  static std::string WithoutPlus(const std::string& number) {
    return !number.empty() && number.front() == '+' ? number.substr(1) : number;
  }

  HttpClient& http_;
  const std::string url_;
  const std::string authorization_;
  const std::chrono::milliseconds timeout_;
};

// ---- plivo ------------------------------------------------------------------------------------

class PlivoSender final : public ReplySender {
 public:
  PlivoSender(HttpClient& http, const std::string& base_url, const std::string& auth_id,
              const std::string& auth_token, std::chrono::milliseconds timeout)
      : http_(http),
        url_(base_url + "/v1/Account/" + UrlEncode(auth_id) + "/Message/"),
        authorization_("Basic " + Base64Encode(auth_id + ":" + auth_token)),
        timeout_(timeout) {}

  SendOutcome Send(const OutboundSms& sms) override {
    // Plivo picks GSM-7 or UCS-2 itself (type "sms" is the default) and splits long texts.
    nlohmann::json body = {{"src", sms.from}, {"dst", sms.to}, {"text", sms.body}};
    if (!sms.status_callback_url.empty()) body["url"] = sms.status_callback_url;
    Result<HttpClientResponse> resp = http_.Send(JsonPost(url_, authorization_, timeout_, body));
    if (!resp.ok()) return TransportFailure("plivo", resp.status());

    const nlohmann::json j = AnswerJson(resp->body);
    if (resp->status < 200 || resp->status >= 300) {
      // {"api_id": "…", "error": "…"}; the error may be an object naming the fields at fault.
      std::string message = JsonString(j, "error");
      if (message.empty() && j.is_object() && j.contains("error") && j["error"].is_object()) {
        message = j["error"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      return HttpFailure("plivo", *resp, message);
    }
    // 202 {"api_id": "…", "message": "message(s) queued", "message_uuid": ["…"]}
    SendOutcome out;
    if (j.is_object() && j.contains("message_uuid") && j["message_uuid"].is_array() &&
        !j["message_uuid"].empty() && j["message_uuid"][0].is_string()) {
      out.provider_message_id = j["message_uuid"][0].get<std::string>();
    }
    return out;
  }

 private:
  HttpClient& http_;
  const std::string url_;
  const std::string authorization_;
  const std::chrono::milliseconds timeout_;
};

// ---- telnyx -----------------------------------------------------------------------------------

class TelnyxSender final : public ReplySender {
 public:
  TelnyxSender(HttpClient& http, const std::string& base_url, const std::string& api_key,
               std::chrono::milliseconds timeout)
      : http_(http),
        url_(base_url + "/v2/messages"),
        authorization_("Bearer " + api_key),
        timeout_(timeout) {}

  SendOutcome Send(const OutboundSms& sms) override {
    // Telnyx picks the encoding and splits long texts itself.
    nlohmann::json body = {{"from", sms.from}, {"to", sms.to}, {"text", sms.body}};
    if (!sms.status_callback_url.empty()) body["webhook_url"] = sms.status_callback_url;
    HttpClientRequest req = JsonPost(url_, authorization_, timeout_, body);
    // Telnyx replays the answer of a successful request repeated with the same key on the
    // endpoints that take part in its idempotency scheme, so a retry after a timeout whose
    // request did arrive does not text the phone twice. Whether messages do is not documented
    // (docs/webhooks.md): a best effort.
    if (!sms.idempotency_key.empty())
      req.headers.emplace_back("Idempotency-Key", sms.idempotency_key);
    Result<HttpClientResponse> resp = http_.Send(req);
    if (!resp.ok()) return TransportFailure("telnyx", resp.status());

    const nlohmann::json j = AnswerJson(resp->body);
    if (resp->status < 200 || resp->status >= 300) {
      // {"errors": [{"code": "10004", "title": "Missing required parameter", "detail": "…"}]}
      std::string message;
      if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
        const nlohmann::json& e = j["errors"][0];
        message = JsonString(e, "detail");
        if (message.empty()) message = JsonString(e, "title");
        const std::string code = JsonString(e, "code");
        if (!message.empty() && !code.empty()) message += " (code " + Excerpt(code, 16) + ")";
        SendOutcome out = HttpFailure("telnyx", *resp, message);
        out.error_code = Excerpt(code, 16);
        return out;
      }
      return HttpFailure("telnyx", *resp, message);
    }
    // 200 {"data": {"record_type": "message", "id": "…", …}}
    SendOutcome out;
    if (j.is_object() && j.contains("data")) out.provider_message_id = JsonString(j["data"], "id");
    return out;
  }

 private:
  HttpClient& http_;
  const std::string url_;
  const std::string authorization_;
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
                          BaseUrlSetting(settings, "twilio", "https://api.twilio.com"));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "twilio"));
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
  if (sender == "vonage") {
    SMSC_ASSIGN_OR_RETURN(std::string key, StringSetting(settings, "vonage", "api_key", true));
    SMSC_ASSIGN_OR_RETURN(std::string secret,
                          StringSetting(settings, "vonage", "api_secret", true));
    SMSC_ASSIGN_OR_RETURN(std::string base,
                          BaseUrlSetting(settings, "vonage", "https://rest.nexmo.com"));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "vonage"));
    return std::unique_ptr<ReplySender>(new VonageSender(http, base, key, secret, timeout));
  }
  if (sender == "plivo") {
    SMSC_ASSIGN_OR_RETURN(std::string id, StringSetting(settings, "plivo", "auth_id", true));
    SMSC_ASSIGN_OR_RETURN(std::string token, StringSetting(settings, "plivo", "auth_token", true));
    SMSC_ASSIGN_OR_RETURN(std::string base,
                          BaseUrlSetting(settings, "plivo", "https://api.plivo.com"));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "plivo"));
    return std::unique_ptr<ReplySender>(new PlivoSender(http, base, id, token, timeout));
  }
  if (sender == "telnyx") {
    SMSC_ASSIGN_OR_RETURN(std::string key, StringSetting(settings, "telnyx", "api_key", true));
    SMSC_ASSIGN_OR_RETURN(std::string base,
                          BaseUrlSetting(settings, "telnyx", "https://api.telnyx.com"));
    SMSC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, TimeoutSetting(settings, "telnyx"));
    return std::unique_ptr<ReplySender>(new TelnyxSender(http, base, key, timeout));
  }
  return InvalidArgument("unknown reply sender \"" + sender +
                         "\" (expected log, twilio, kannel, vonage, plivo or telnyx)");
}

}  // namespace smsconsent
