// JSON written as text, for hot paths where building an nlohmann::json tree and dumping it
// costs more than the work around it (an inbound message's evidence and decision, the consent
// check's answer, the access log).
//
// What is written is exactly what nlohmann::json's dump() writes for the same value (compact,
// UTF-8 kept as it is, its escapes), so text built here and text dumped there are
// interchangeable byte for byte -- callers writing objects must give the keys in the order
// dump() does, which for nlohmann::json (a std::map) is sorted by key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smsconsent {

// Appends `s` as a JSON string literal: '"' and '\' escaped, \b \f \n \r \t as such, other
// control characters as \u00XX, everything else as it is. A byte sequence that is not UTF-8 is
// written as U+FFFD (where dump() would throw), so the result is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

// `s` with every byte sequence that is not UTF-8 replaced by U+FFFD (ICU's conversion); `s`
// itself when it is valid. For text from outside (an SMS body) before it is matched, stored
// and written into evidence.
std::string ToValidUtf8(std::string_view s);
bool IsValidUtf8(std::string_view s);

// Appends "key": for a member of an object under construction, with the comma before it
// unless it is the first (`first` is then cleared).
void AppendJsonKey(std::string& out, std::string_view key, bool& first);
// AppendJsonKey, then `value` as a JSON string.
void AppendJsonMember(std::string& out, std::string_view key, std::string_view value, bool& first);

}  // namespace smsconsent
