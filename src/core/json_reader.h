// Reading JSON text that comes from outside the service: API request bodies, providers'
// webhooks and the answers of their APIs, the parts of a JWT. Every such text is read here, so
// one policy bounds them all (docs/limits.md, "JSON bodies"): how deeply arrays and objects
// may nest, and how many values a text may hold.
//
// The limits are enforced while the text is read, not on the value afterwards: reading stops
// at the first array or object past the depth limit and the first value past the count, so a
// value this returns was never deeper or larger than them. That is what makes it safe to copy,
// compare and dump (nlohmann::json does all three recursively, one stack frame or more per
// level: a value nested 100,000 deep overflows the stack; 64 levels do not).
//
// Pure: no I/O, no globals; safe from any thread. Data the service wrote itself (evidence,
// stored settings) is read with nlohmann::json::parse directly.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace smsconsent {

struct JsonLimits {
  // Arrays and objects inside each other; the outermost is level 1, a lone scalar level 0.
  int max_depth = 64;
  // Values of every kind, arrays and objects included; an object's keys are not counted.
  int64_t max_values = 100'000;
  // Whether a string (or key) may hold U+0000. Text the service stores may not: PostgreSQL's
  // text ends at a NUL, so a name or an id holding one would be kept cut short on one store
  // and whole on the other.
  bool allow_nul = true;
};

// `text` as one JSON value (RFC 8259: nothing but whitespace around it, strings in UTF-8).
// kInvalidArgument, with a message that quotes none of the input, when
//   * it is not JSON, or a string in it is not UTF-8:
//     "not valid JSON at byte 12: invalid string: ill-formed UTF-8 byte";
//   * arrays and objects nest deeper than limits.max_depth:
//     "JSON nested deeper than 64 levels";
//   * it holds more than limits.max_values values: "JSON holds more than 100000 values";
//   * a string or key holds U+0000 while !limits.allow_nul:
//     "a string holds U+0000 (NUL), which cannot be stored".
// A key given twice in one object keeps its last value, as nlohmann::json::parse does.
Result<nlohmann::json> ReadJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace smsconsent
