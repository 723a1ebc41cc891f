#include "http/web_ui.h"

#include <fstream>
#include <sstream>

#include "core/ledger.h"  // Sha256Hex

namespace smsconsent {
namespace {

// The page loads only its own files and talks only to its own origin; it may not be framed.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

const char* ContentTypeFor(std::string_view name) {
  auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return nullptr;
}

// Plain file names only: no path separators, no dot files (so no "..").
bool IsSafeName(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string ETagOf(std::string_view body) { return "\"" + Sha256Hex(body).substr(0, 32) + "\""; }

}  // namespace

WebUi::WebUi(std::string dir) : dir_(std::move(dir)) {
  if (!dir_.empty()) return;
  for (const WebAsset& a : EmbeddedWebAssets()) {
    files_.push_back(File{a.name, a.content_type, std::string(a.body), ETagOf(a.body)});
  }
}

HttpResponse WebUi::Serve(std::string_view name, std::string_view if_none_match) const {
  if (name.empty()) name = "index.html";
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  const File* file = nullptr;
  File from_disk;
  if (IsSafeName(name)) {
    if (dir_.empty()) {
      for (const File& f : files_) {
        if (f.name == name) file = &f;
      }
    } else if (const char* type = ContentTypeFor(name)) {
      std::ifstream in(dir_ + "/" + std::string(name), std::ios::binary);
      if (in) {
        std::ostringstream body;
        body << in.rdbuf();
        from_disk = File{std::string(name), type, body.str(), {}};
        from_disk.etag = ETagOf(from_disk.body);
        file = &from_disk;
      }
    }
  }
  if (file == nullptr) {
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  r.headers = {{"ETag", file->etag},
               // Revalidate every time: cheap (304), and a new binary's page is used at once.
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "same-origin"}};
  if (file->content_type.rfind("text/html", 0) == 0) {
    r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  r.content_type = file->content_type;
  if (if_none_match == file->etag) {
    r.status = 304;
    return r;
  }
  r.body = file->body;
  return r;
}

}  // namespace smsconsent

// ---- routes (declared in api.h) ----------------------------------------------------------

#include "http/api.h"

namespace smsconsent {

void Api::AddWebRoutes() {
  auto web = std::make_shared<const WebUi>(options_.web_dir);
  auto redirect = [](const HttpRequest&, const PathParams&) {
    HttpResponse r;
    r.status = 302;
    r.content_type = "text/plain; charset=utf-8";
    r.headers = {{"Location", "/app/"}};
    return r;
  };
  router_.Add("GET", "/", redirect);
  // "/app" and "/app/" are one route to the router; only the latter is the page, so that its
  // relative links resolve under /app/.
  router_.Add("GET", "/app", [web, redirect](const HttpRequest& req, const PathParams& p) {
    if (req.path.empty() || req.path.back() != '/') return redirect(req, p);
    return web->Serve("", req.Header("if-none-match"));
  });
  router_.Add("GET", "/app/{file}", [web](const HttpRequest& req, const PathParams& p) {
    return web->Serve(p.at("file"), req.Header("if-none-match"));
  });
}

}  // namespace smsconsent
