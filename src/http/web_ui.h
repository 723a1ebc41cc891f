// The staff web page: static HTML/CSS/JS (web/*) served under /app/ by `smsconsent serve`.
// The page is a client of the public API only (it signs in through /v1/session and then calls
// the same /v1 routes a script would); this file only serves its files. The files are
// embedded at build time (cmake/embed_web.cmake), or read from a folder given with --web-dir
// (for an installed assets folder, or editing the page without rebuilding).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/http_types.h"

namespace smsconsent {

struct WebAsset {
  const char* name;          // file name under /app/: "index.html", "app.js"
  const char* content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// The files of web/ as they were at build time (generated/web_assets.cc).
const std::vector<WebAsset>& EmbeddedWebAssets();

class WebUi {
 public:
  // `dir` empty: the embedded files; otherwise files are read from `dir` on every request.
  explicit WebUi(std::string dir = {});

  // The response for /app/<name> ("" is index.html): 200 with strong ETag and security
  // headers, 304 when `if_none_match` carries the current ETag, 404 for an unknown name.
  HttpResponse Serve(std::string_view name, std::string_view if_none_match) const;

 private:
  struct File {
    std::string name;
    std::string content_type;
    std::string body;
    std::string etag;
  };
  std::string dir_;
  std::vector<File> files_;  // embedded files, with their ETags computed once
};

}  // namespace smsconsent
