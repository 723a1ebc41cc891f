// Staff sign-in for the web page (docs/auth.md):
//   POST /v1/session {"email", "password"} -> the session JSON and Set-Cookie;
//   GET /v1/session -> the same JSON for the cookie's session; DELETE /v1/session -> 204.
// and the cookie half of Api::Authed: the session behind the cookie, the CSRF check of
// unsafe methods, and the viewer role's refusal of them. StaffAuth (src/app/staff_auth.h)
// decides who someone is; this file only speaks HTTP.
#include <string>
#include <string_view>

#include "app/json_views.h"
#include "core/ascii.h"
#include "http/api.h"
#include "http/api_util.h"
#include "providers/webhook.h"  // ConstantTimeEquals

namespace smsconsent {

using nlohmann::json;

namespace {

constexpr char kCsrfHeader[] = "x-csrf-token";

bool IsSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

HttpResponse NoStore(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse CsrfFailed(const std::string& message) {
  return ErrorResponse(403, "CSRF_FAILED", message);
}

// "scheme://host[:port]" lower-cased, without a path and without the scheme's default port.
std::string OriginOf(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::string scheme = LowerAscii(url.substr(0, scheme_end));
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  std::string host = LowerAscii(authority);
  const std::string default_port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : "";
  if (!default_port.empty() && host.size() > default_port.size() &&
      host.compare(host.size() - default_port.size(), default_port.size(), default_port) == 0) {
    host.resize(host.size() - default_port.size());
  }
  return scheme + "://" + host;
}

// Login CSRF: a sign-in form on another site must not sign the browser in to an account of
// the attacker's. A browser names the page's origin in Origin on every cross-origin POST (and
// fetch sends it on same-origin POSTs too); a request without Origin is not from a browser
// form, so it is allowed.
bool SameOrigin(const HttpRequest& req, const std::string& public_url) {
  const std::string_view origin = req.Header("origin");
  if (origin.empty()) return true;
  const std::string given = OriginOf(origin);
  if (given.empty()) return false;  // "null" (sandboxed frames, file:) and garbage
  if (!public_url.empty() && given == OriginOf(public_url)) return true;
  const std::string_view host = req.Header("host");
  if (host.empty()) return false;
  // Behind a TLS-terminating proxy the page is https while this server sees plain HTTP:
  // the host (and port) decide, whichever of the two schemes the page used.
  return given == OriginOf("http://" + std::string(host)) ||
         given == OriginOf("https://" + std::string(host));
}

// Cookies over https only when the configured public URL is https.
bool SecureCookies(const std::string& public_url) {
  return OriginOf(public_url).rfind("https://", 0) == 0;
}

json SessionJson(const User& user, const Account& account, const StaffSession& session) {
  return {{"user", ToJson(user)},
          {"account", ToJson(account)},
          {"csrf_token", session.csrf_token},
          {"expires_at", FormatTimestampMs(session.expires_at_ms)}};
}

std::string SessionCookie(const std::string& value, int64_t max_age_s, bool secure) {
  std::string c = std::string(kSessionCookie) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (secure) c += "; Secure";
  return c;
}

}  // namespace

std::optional<HttpResponse> Api::CheckSession(const HttpRequest& req, StaffIdentity* who) const {
  if (staff_auth_ == nullptr) {
    return ErrorResponse(503, "UNAVAILABLE", "staff sign-in is not enabled");
  }
  const std::optional<std::string> token = CookieValue(req, kSessionCookie);
  if (!token) {
    return ErrorResponse(Status(StatusCode::kUnauthenticated,
                                "not signed in: POST /v1/session with an email and password"));
  }
  auto identity = staff_auth_->Authenticate(*token);
  if (!identity.ok()) return ErrorResponse(identity.status());
  if (!IsSafeMethod(req.method)) {
    const std::string_view sent = req.Header(kCsrfHeader);
    if (sent.empty()) {
      return CsrfFailed("missing X-CSRF-Token header: send the csrf_token of the session");
    }
    // Constant-time; `sent` is not empty (above), and neither is a session's token.
    if (!ConstantTimeEquals(sent, identity->session.csrf_token)) {
      return CsrfFailed("X-CSRF-Token does not match the session's csrf_token");
    }
  }
  *who = std::move(identity).value();
  return std::nullopt;
}

HttpResponse Api::Answer(const Caller& caller, Result<HttpResponse> r) {
  HttpResponse out = r.ok() ? std::move(r).value() : ErrorResponse(r.status());
  return caller.via_session ? NoStore(std::move(out)) : out;
}

std::optional<HttpResponse> Api::IdentifyStaff(const HttpRequest& req, Caller* caller) const {
  StaffIdentity who;
  if (auto refused = CheckSession(req, &who)) return NoStore(std::move(*refused));
  if (!IsSafeMethod(req.method) && who.user.role != StaffRole::kEditor) {
    return NoStore(ErrorResponse(Status(
        StatusCode::kPermissionDenied,
        "the viewer role is read-only: " + req.method + " needs a user with the editor role")));
  }
  static_cast<Account&>(*caller) = std::move(who.account);
  caller->actor = "user:" + who.user.email;
  caller->role = StaffRoleName(who.user.role);
  caller->via_session = true;
  return std::nullopt;
}

void Api::AddSessionRoutes() {
  router_.AddAsync(
      "POST", "/v1/session", [this](const HttpRequest& req, const PathParams&, Responder respond) {
        if (staff_auth_ == nullptr) {
          return respond(
              NoStore(ErrorResponse(503, "UNAVAILABLE", "staff sign-in is not enabled")));
        }
        if (!SameOrigin(req, options_.public_url)) {
          return respond(NoStore(CsrfFailed("sign-in from another origin (" +
                                            std::string(req.Header("origin")) + ") is refused")));
        }
        static const JsonFields kFields = {{"email"}, {"password"}};
        auto body = ParseJsonBody(req, kFields);
        if (!body.ok()) return respond(NoStore(ErrorResponse(body.status())));
        auto email = ReqString(*body, "email");
        if (!email.ok()) return respond(NoStore(ErrorResponse(email.status())));
        auto password = ReqString(*body, "password");
        if (!password.ok()) return respond(NoStore(ErrorResponse(password.status())));
        auto sign_in = [this, email = std::move(email).value(),
                        password = std::move(password).value(), respond]() {
          auto signed_in = staff_auth_->SignIn(email, password);
          if (!signed_in.ok()) return respond(NoStore(ErrorResponse(signed_in.status())));
          HttpResponse r = JsonResponse(
              200, SessionJson(signed_in->user, signed_in->account, signed_in->session));
          // The browser keeps the cookie for the session's absolute lifetime; the server ends the
          // session earlier when it sits idle.
          r.headers.emplace_back("Set-Cookie",
                                 SessionCookie(signed_in->session_token,
                                               staff_auth_->options().absolute_lifetime_ms / 1000,
                                               SecureCookies(options_.public_url)));
          respond(NoStore(std::move(r)));
        };
        if (signin_pool_ == nullptr) return sign_in();
        // The password check (Argon2id) runs on the sign-in pool; this thread goes back to other
        // requests, and the pool answers when it is done.
        int64_t retry_after_s = 1;
        Status admitted = signin_pool_->Submit(std::move(sign_in), &retry_after_s);
        if (admitted.ok()) return;
        HttpResponse r = NoStore(ErrorResponse(admitted));
        r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
        respond(std::move(r));
      });
  router_.Add("GET", "/v1/session", [this](const HttpRequest& req, const PathParams&) {
    StaffIdentity who;
    if (auto refused = CheckSession(req, &who)) return NoStore(std::move(*refused));
    return NoStore(JsonResponse(200, SessionJson(who.user, who.account, who.session)));
  });
  router_.Add("DELETE", "/v1/session", [this](const HttpRequest& req, const PathParams&) {
    StaffIdentity who;
    if (auto refused = CheckSession(req, &who)) return NoStore(std::move(*refused));
    Status st = staff_auth_->SignOut(*CookieValue(req, kSessionCookie));
    if (!st.ok()) return NoStore(ErrorResponse(st));
    HttpResponse r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", SessionCookie("", 0, SecureCookies(options_.public_url)));
    return NoStore(std::move(r));
  });
}

}  // namespace smsconsent
