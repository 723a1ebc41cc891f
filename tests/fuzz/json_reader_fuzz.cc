// Fuzz target: ReadJson (core/json_reader.h), the reader of every JSON text from outside (API
// bodies, JSON webhooks, the parts of a Vonage JWT).
//
// Invariants, with the default limits and with small ones (picked by the input's length, so a
// seed is a plain JSON text):
//  - a value it returns is within the limits (depth and number of values), prints as text it
//    reads back to the same value, and is what nlohmann::json::parse makes of the text;
//  - a text it refuses that nlohmann::json::parse reads is refused for a limit, never as
//    invalid JSON; every refusal is kInvalidArgument.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_reader.h"
#include "core/status.h"
#include "fuzz_check.h"

namespace smsconsent {
namespace {

using nlohmann::json;

// The depth (outermost array or object: 1; a scalar: 0) and the number of values of `v`,
// without recursion.
void Measure(const json& v, int* depth, int64_t* values) {
  *depth = 0;
  *values = 0;
  std::vector<std::pair<const json*, int>> todo = {{&v, 0}};
  while (!todo.empty()) {
    const auto [value, level] = todo.back();
    todo.pop_back();
    ++*values;
    if (!value->is_structured()) continue;
    *depth = std::max(*depth, level + 1);
    for (const json& child : *value) todo.emplace_back(&child, level + 1);
  }
}

void Check(std::string_view text, const JsonLimits& limits) {
  const Result<json> read = ReadJson(text, limits);
  const std::string what = fuzz::Escaped(text) + " with depth " + std::to_string(limits.max_depth) +
                           ", values " + std::to_string(limits.max_values);
  if (read.ok()) {
    int depth = 0;
    int64_t values = 0;
    Measure(*read, &depth, &values);
    FUZZ_CHECK(depth <= limits.max_depth && values <= limits.max_values,
               what + ": depth " + std::to_string(depth) + ", values " + std::to_string(values));
    const std::string printed = read->dump();
    const Result<json> again = ReadJson(printed, limits);
    FUZZ_CHECK(again.ok() && *again == *read, what + " prints as " + fuzz::Escaped(printed));
    const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!parsed.is_discarded() && parsed == *read, what);
    return;
  }
  FUZZ_CHECK(read.status().code() == StatusCode::kInvalidArgument, read.status().ToString());
  // Only a text within the limits is handed to the recursive comparison below; the parse
  // itself keeps its nesting on the heap.
  if (!json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded()) {
    const std::string& message = read.status().message();
    FUZZ_CHECK(message.find("nested deeper") != std::string::npos ||
                   message.find("holds more than") != std::string::npos,
               what + " is JSON, refused as: " + message);
  }
}

}  // namespace
}  // namespace smsconsent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  smsconsent::Check(text, {});
  smsconsent::Check(text, {.max_depth = static_cast<int>(size % 4),
                           .max_values = static_cast<int64_t>(1 + size % 13)});
  return 0;
}
