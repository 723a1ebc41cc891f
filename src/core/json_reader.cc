#include "core/json_reader.h"

#include <string>
#include <utility>
#include <vector>

namespace smsconsent {
namespace {

using nlohmann::json;

// nlohmann's SAX interface with a DOM builder of our own: the parser itself keeps no recursion
// (it holds its nesting on a heap stack), and returning false from an event stops it at once,
// so the limits hold before anything past them is built. (A parser callback that returns false
// only discards a value after it has been read in full, deep or not.)
class LimitedBuilder {
 public:
  explicit LimitedBuilder(const JsonLimits& limits) : limits_(limits) {}

  bool null() { return Put(json(nullptr)); }
  bool boolean(bool v) { return Put(json(v)); }
  bool number_integer(json::number_integer_t v) { return Put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return Put(json(v)); }
  bool string(json::string_t& v) { return NoNul(v) && Put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return Put(json::binary(std::move(v))); }
  bool start_object(std::size_t /*elements*/) { return Open(json::object()); }
  bool key(json::string_t& k) {
    if (!NoNul(k)) return false;
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) { return Open(json::array()); }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t byte, const std::string& /*last_token*/, const json::exception& e) {
    error_ = InvalidArgument("not valid JSON at byte " + std::to_string(byte) + ": " + Reason(e));
    return false;
  }

  Result<json> Take() && {
    if (!error_.ok()) return error_;
    return std::move(root_);
  }

 private:
  // Adds `v` where the text is: the root, the next element of the open array, or the member
  // of the open object named by the last key. Returns where it went.
  json* Add(json v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& member = parent[key_];
    member = std::move(v);
    return &member;
  }

  bool NoNul(const json::string_t& s) {
    if (limits_.allow_nul || s.find('\0') == json::string_t::npos) return true;
    error_ = InvalidArgument("a string holds U+0000 (NUL), which cannot be stored");
    return false;
  }
  bool Count() {
    if (++values_ <= limits_.max_values) return true;
    error_ =
        InvalidArgument("JSON holds more than " + std::to_string(limits_.max_values) + " values");
    return false;
  }

  bool Put(json v) {
    if (!Count()) return false;
    Add(std::move(v));
    return true;
  }

  bool Open(json container) {
    if (static_cast<int64_t>(open_.size()) >= limits_.max_depth) {
      error_ = InvalidArgument("JSON nested deeper than " + std::to_string(limits_.max_depth) +
                               " levels");
      return false;
    }
    if (!Count()) return false;
    // Pointers to open containers stay valid: only the innermost one grows, and a container
    // moves only when its parent grows, which happens after it is closed.
    open_.push_back(Add(std::move(container)));
    return true;
  }

  // Why the parser stopped, in its own words without the input it quotes: nlohmann's message
  // is "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while
  // parsing value - invalid literal; last read: '<input>'; expected …".
  static std::string Reason(const json::exception& e) {
    std::string what = e.what();
    if (const size_t tag = what.find("] "); tag != std::string::npos) what.erase(0, tag + 2);
    if (what.rfind("parse error", 0) == 0) {
      if (const size_t colon = what.find(": "); colon != std::string::npos) {
        what.erase(0, colon + 2);
      }
    }
    if (const size_t quoted = what.find("; last read: '"); quoted != std::string::npos) {
      const size_t expected = what.rfind("; expected ");
      what.erase(quoted, expected != std::string::npos && expected > quoted ? expected - quoted
                                                                            : std::string::npos);
    }
    // A number too large for a double: "number overflow parsing '1e999'".
    if (what.rfind("number overflow", 0) == 0) what = "number overflow";
    for (char& c : what) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7F) c = '?';
    }
    return what;
  }

  const JsonLimits& limits_;
  json root_;
  std::vector<json*> open_;
  json::string_t key_;
  int64_t values_ = 0;
  Status error_;
};

}  // namespace

Result<json> ReadJson(std::string_view text, const JsonLimits& limits) {
  LimitedBuilder builder(limits);
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder);
  Result<json> out = std::move(builder).Take();
  // sax_parse reports failure only through the builder, whose error is then set.
  if (!ok && out.ok()) return InvalidArgument("not valid JSON");
  return out;
}

}  // namespace smsconsent
