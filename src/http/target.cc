#include "http/target.h"

#include <string>

namespace smsconsent {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX in a path ("+" is a plus sign in paths, unlike in form data).
std::string PercentDecodePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      const int hi = HexValue(raw[i + 1]), lo = HexValue(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(raw[i]);
  }
  return out;
}

// Decodes one form-encoded key or value into `out`. The same rules and messages as
// ParseFormUrlEncoded (tests/http/target_test.cc compares the two), written here to decode
// straight into the request's strings: the query is parsed on every request.
Status DecodeFormComponent(std::string_view raw, std::string& out) {
  // Written through a pointer into room made beforehand: decoding never lengthens the text.
  out.resize(raw.size());
  char* to = out.data();
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '+') {
      *to++ = ' ';
    } else if (c == '%') {
      if (i + 2 >= raw.size()) {
        return InvalidArgument("malformed query string: bad %-escape in form data: truncated");
      }
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) {
        return InvalidArgument("malformed query string: bad %-escape in form data");
      }
      *to++ = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *to++ = c;
    }
  }
  out.resize(static_cast<size_t>(to - out.data()));
  return Status::Ok();
}

}  // namespace

Status SplitTarget(std::string_view target, HttpRequest& req) {
  const size_t q = target.find('?');
  req.path = PercentDecodePath(target.substr(0, q));
  req.query.clear();
  if (q == std::string_view::npos) return Status::Ok();
  const std::string_view query = target.substr(q + 1);
  size_t pairs = 1;
  for (const char c : query) pairs += c == '&';
  req.query.reserve(pairs);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      auto& [key, value] = req.query.emplace_back();
      Status s = DecodeFormComponent(pair.substr(0, eq), key);
      if (s.ok() && eq != std::string_view::npos) s = DecodeFormComponent(pair.substr(eq + 1), value);
      if (!s.ok()) {
        req.query.clear();
        return s;
      }
    }
    pos = amp + 1;
  }
  return Status::Ok();
}

}  // namespace smsconsent
