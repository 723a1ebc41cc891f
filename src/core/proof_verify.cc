#include "core/proof_verify.h"

#include <array>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <utility>

#include "core/base64.h"
#include "core/ledger.h"
#include "core/merkle.h"

namespace smsconsent {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 13> kV1Fields = {
    "account", "seq",    "contact", "phone", "number",   "sender", "from",
    "to",      "source", "actor",   "at",    "evidence", "prev"};
constexpr std::array<std::string_view, 14> kV2Fields = {
    "account", "seq", "contact", "phone", "number", "sender",   "nth",
    "from",    "to",  "source",  "actor", "at",     "evidence", "batch"};

struct EncodedFields {
  int version = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  const std::string* Get(std::string_view name) const {
    for (const auto& [n, v] : fields) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

// Reads a canonical event encoding: the version line, then exactly the version's fields in
// order, each "name:length:value\n", and nothing after them. Returns why not otherwise.
Result<EncodedFields> ParseEventEncoding(std::string_view text) {
  EncodedFields out;
  std::span<const std::string_view> names;
  if (text.starts_with("smsconsent-ledger-v1\n")) {
    out.version = 1;
    names = kV1Fields;
  } else if (text.starts_with("smsconsent-ledger-v2\n")) {
    out.version = 2;
    names = kV2Fields;
  } else {
    return InvalidArgument("the encoding does not start with smsconsent-ledger-v1 or -v2");
  }
  size_t pos = 21;  // both version lines have 21 bytes with their newline
  for (std::string_view name : names) {
    const std::string where = "field " + std::string(name) + ": ";
    if (text.compare(pos, name.size(), name) != 0 || pos + name.size() >= text.size() ||
        text[pos + name.size()] != ':') {
      return InvalidArgument(where + "missing or out of order");
    }
    pos += name.size() + 1;
    size_t digits = 0;
    uint64_t len = 0;
    while (pos + digits < text.size() && text[pos + digits] >= '0' && text[pos + digits] <= '9') {
      len = len * 10 + static_cast<uint64_t>(text[pos + digits] - '0');
      if (++digits > 9) return InvalidArgument(where + "length too long");
    }
    if (digits == 0 || (digits > 1 && text[pos] == '0')) {
      return InvalidArgument(where + "bad length");
    }
    pos += digits;
    if (pos >= text.size() || text[pos] != ':') return InvalidArgument(where + "bad length");
    ++pos;
    if (len > text.size() - pos || pos + len >= text.size() || text[pos + len] != '\n') {
      return InvalidArgument(where + "value does not end where its length says");
    }
    out.fields.emplace_back(std::string(name), std::string(text.substr(pos, len)));
    pos += len + 1;
  }
  if (pos != text.size()) return InvalidArgument("bytes after the last field");
  return out;
}

std::optional<int64_t> IntegerMember(const json& obj, const char* name) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

const std::string* StringMember(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

// A hash written as 64 lowercase hex digits (the only spelling documents use).
std::optional<merkle::Hash> LowerHexHash(const std::string& s) {
  auto h = merkle::FromHex(s);
  if (!h || merkle::ToHex(*h) != s) return std::nullopt;
  return h;
}

// Checks a signed tree head member of a document; adds problems under `label`.
std::optional<SignedTreeHead> CheckHead(const json& doc, const char* member, const char* label,
                                        std::string_view public_key_raw,
                                        std::vector<std::string>& problems) {
  auto it = doc.find(member);
  if (it == doc.end()) {
    problems.push_back(std::string(label) + ": missing");
    return std::nullopt;
  }
  Result<SignedTreeHead> sth = SignedTreeHeadFromJson(*it);
  if (!sth.ok()) {
    problems.push_back(std::string(label) + ": " + sth.status().message());
    return std::nullopt;
  }
  if (sth->key_id != PublicKeyId(public_key_raw)) {
    problems.push_back(std::string(label) + ": key_id " + sth->key_id +
                       " does not name the given public key (" + PublicKeyId(public_key_raw) + ")");
  } else if (!VerifyTreeHead(*sth, public_key_raw)) {
    problems.push_back(std::string(label) +
                       ": the signature does not verify with the given public key");
  }
  return std::move(sth).value();
}

ProofCheck Finish(std::vector<std::string> problems, int64_t checked) {
  ProofCheck out;
  out.ok = problems.empty();
  out.problems = std::move(problems);
  out.events_checked = checked;
  return out;
}

}  // namespace

json SignedTreeHeadToJson(const SignedTreeHead& sth) {
  return json{{"account", sth.head.account_id},
              {"size", sth.head.size},
              {"root", merkle::ToHex(sth.head.root)},
              {"at", sth.head.at_ms},
              {"key_id", sth.key_id},
              {"signature", base64::Encode(sth.signature)}};
}

Result<SignedTreeHead> SignedTreeHeadFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("a tree head is a JSON object");
  SignedTreeHead out;
  auto account = IntegerMember(j, "account");
  auto size = IntegerMember(j, "size");
  auto at = IntegerMember(j, "at");
  if (!account) return InvalidArgument("tree head member account is not an integer");
  if (!size || *size < 0) return InvalidArgument("tree head member size is not an integer >= 0");
  if (!at) return InvalidArgument("tree head member at is not an integer");
  const std::string* root = StringMember(j, "root");
  std::optional<merkle::Hash> root_hash = root ? LowerHexHash(*root) : std::nullopt;
  if (!root_hash) return InvalidArgument("tree head member root is not 64 lowercase hex digits");
  const std::string* key_id = StringMember(j, "key_id");
  if (!key_id) return InvalidArgument("tree head member key_id is not a string");
  const std::string* sig = StringMember(j, "signature");
  if (!sig) return InvalidArgument("tree head member signature is not a string");
  Result<std::string> sig_raw = base64::DecodeStrict(*sig);
  if (!sig_raw.ok() || sig_raw->size() != 64) {
    return InvalidArgument("tree head member signature is not base64 of 64 bytes");
  }
  out.head = TreeHead{*account, *size, *root_hash, *at};
  out.key_id = *key_id;
  out.signature = std::move(sig_raw).value();
  return out;
}

ProofCheck VerifyProofDocument(const json& doc, std::string_view public_key_raw) {
  std::vector<std::string> problems;
  if (!doc.is_object()) return Finish({"the document is not a JSON object"}, 0);
  const std::string* format = StringMember(doc, "format");
  if (format == nullptr || *format != "smsconsent-proof-v2") {
    return Finish({"format is not smsconsent-proof-v2"}, 0);
  }
  const std::optional<int64_t> account = IntegerMember(doc, "account");
  if (!account) problems.push_back("account is not an integer");
  const json* contact = doc.contains("contact") ? &doc["contact"] : nullptr;
  const std::optional<int64_t> contact_id =
      contact ? IntegerMember(*contact, "id") : std::optional<int64_t>();
  // The contact id as the encodings write it ("" when the document has none).
  const std::string contact_text = contact_id ? std::to_string(*contact_id) : std::string();
  const std::string* phone = contact ? StringMember(*contact, "phone") : nullptr;
  if (!contact_id) problems.push_back("contact.id is not an integer");
  if (phone == nullptr) problems.push_back("contact.phone is not a string");

  std::optional<SignedTreeHead> head =
      CheckHead(doc, "tree_head", "tree head", public_key_raw, problems);
  if (head && account && head->head.account_id != *account) {
    problems.push_back("tree head: account " + std::to_string(head->head.account_id) +
                       " is not the document's account " + std::to_string(*account));
  }

  // Batch documents: each must hash to its name, whether an event names it or not.
  const json* batches = nullptr;
  if (auto it = doc.find("batches"); it != doc.end() && it->is_object()) {
    batches = &*it;
    for (const auto& [hash, text] : it->items()) {
      if (!text.is_string()) {
        problems.push_back("batch " + hash + ": not a string");
      } else if (Sha256Hex(text.get_ref<const std::string&>()) != hash) {
        problems.push_back("batch " + hash + ": its text hashes to " +
                           Sha256Hex(text.get_ref<const std::string&>()));
      }
    }
  } else {
    problems.push_back("batches is not an object");
  }

  auto events_it = doc.find("events");
  if (events_it == doc.end() || !events_it->is_array()) {
    problems.push_back("events is not an array");
    return Finish(std::move(problems), 0);
  }
  int64_t checked = 0;
  int64_t last_seq = 0;
  size_t position = 0;
  // Per sender number: the events of the contact's pair seen so far (format 1 ones count) --
  // each format-2 event's nth must be the next one, so none of the pair's events is missing.
  std::map<std::string, int64_t> pair_events;
  for (const json& ev : *events_it) {
    ++position;
    const std::optional<int64_t> seq = IntegerMember(ev, "seq");
    if (!seq || *seq < 1) {
      problems.push_back("event " + std::to_string(position) +
                         " of the list: seq is not an integer >= 1");
      continue;
    }
    const std::string where = "event seq " + std::to_string(*seq) + ": ";
    const size_t before = problems.size();
    if (*seq <= last_seq) {
      problems.push_back(where + "not after the previous event's seq " + std::to_string(last_seq));
    }
    last_seq = *seq;
    const std::optional<int64_t> fmt = IntegerMember(ev, "format");
    const std::string* encoding = StringMember(ev, "encoding");
    if (!fmt || (*fmt != 1 && *fmt != 2)) problems.push_back(where + "format is not 1 or 2");
    if (encoding == nullptr) {
      problems.push_back(where + "encoding is not a string");
      continue;
    }
    Result<EncodedFields> fields = ParseEventEncoding(*encoding);
    if (!fields.ok()) {
      problems.push_back(where + "malformed encoding: " + fields.status().message());
    } else {
      if (fmt && fields->version != *fmt) {
        problems.push_back(where + "format " + std::to_string(*fmt) + " but a v" +
                           std::to_string(fields->version) + " encoding");
      }
      if (account && *fields->Get("account") != std::to_string(*account)) {
        problems.push_back(where + "account " + *fields->Get("account") +
                           " is not the document's account");
      }
      if (contact_id && *fields->Get("contact") != contact_text) {
        problems.push_back(where + "contact " + *fields->Get("contact") +
                           " is not the document's contact");
      }
      if (phone && *fields->Get("phone") != *phone) {
        problems.push_back(where + "phone " + *fields->Get("phone") +
                           " is not the contact's phone");
      }
      if (*fields->Get("seq") != std::to_string(*seq)) {
        problems.push_back(where + "the encoding says seq " + *fields->Get("seq"));
      }
      // (Another contact's event, refused above, does not count.)
      if (contact_text.empty() || *fields->Get("contact") == contact_text) {
        int64_t& seen = pair_events[*fields->Get("number")];
        ++seen;
        if (fields->version == 2 && *fields->Get("nth") != std::to_string(seen)) {
          problems.push_back(where + "it is event " + *fields->Get("nth") + " of its number, " +
                             "but the proof has " + std::to_string(seen - 1) +
                             " before it: an event of the contact is missing");
          seen = std::atoll(fields->Get("nth")->c_str());
        }
      }
      if (fields->version == 2 && !fields->Get("batch")->empty()) {
        const std::string& batch = *fields->Get("batch");
        if (batches == nullptr || !batches->contains(batch)) {
          problems.push_back(where + "batch document " + batch + " is not in batches");
        }
      }
    }
    std::vector<merkle::Hash> path;
    bool path_ok = false;
    if (auto it = ev.find("inclusion"); it != ev.end() && it->is_array()) {
      path_ok = true;
      for (const json& h : *it) {
        std::optional<merkle::Hash> hash =
            h.is_string() ? LowerHexHash(h.get_ref<const std::string&>()) : std::nullopt;
        if (!hash) {
          path_ok = false;
          break;
        }
        path.push_back(*hash);
      }
    }
    if (!path_ok) {
      problems.push_back(where + "inclusion is not an array of 64-digit lowercase hex hashes");
    } else if (head) {
      if (*seq > head->head.size) {
        problems.push_back(where + "beyond the tree head's size " +
                           std::to_string(head->head.size));
      } else if (!merkle::VerifyInclusion(merkle::LeafHash(*encoding), *seq - 1, head->head.size,
                                          path, head->head.root)) {
        problems.push_back(where + "inclusion proof does not lead to the tree head's root");
      }
    }
    if (problems.size() == before) ++checked;
  }
  return Finish(std::move(problems), checked);
}

ProofCheck VerifyConsistencyDocument(const json& doc, std::string_view public_key_raw) {
  std::vector<std::string> problems;
  if (!doc.is_object()) return Finish({"the document is not a JSON object"}, 0);
  const std::string* format = StringMember(doc, "format");
  if (format == nullptr || *format != "smsconsent-consistency-v1") {
    return Finish({"format is not smsconsent-consistency-v1"}, 0);
  }
  const std::optional<int64_t> account = IntegerMember(doc, "account");
  if (!account) problems.push_back("account is not an integer");
  std::optional<SignedTreeHead> from = CheckHead(doc, "from", "from", public_key_raw, problems);
  std::optional<SignedTreeHead> to = CheckHead(doc, "to", "to", public_key_raw, problems);
  for (const auto* h : {&from, &to}) {
    if (*h && account && (*h)->head.account_id != *account) {
      problems.push_back(std::string(h == &from ? "from" : "to") + ": account " +
                         std::to_string((*h)->head.account_id) + " is not the document's account " +
                         std::to_string(*account));
    }
  }
  std::vector<merkle::Hash> path;
  bool path_ok = false;
  if (auto it = doc.find("proof"); it != doc.end() && it->is_array()) {
    path_ok = true;
    for (const json& h : *it) {
      std::optional<merkle::Hash> hash =
          h.is_string() ? LowerHexHash(h.get_ref<const std::string&>()) : std::nullopt;
      if (!hash) {
        path_ok = false;
        break;
      }
      path.push_back(*hash);
    }
  }
  if (!path_ok) problems.push_back("proof is not an array of 64-digit lowercase hex hashes");
  if (from && to && path_ok) {
    const TreeHead& a = from->head;
    const TreeHead& b = to->head;
    if (a.size > b.size) {
      problems.push_back("from.size " + std::to_string(a.size) + " is larger than to.size " +
                         std::to_string(b.size));
    } else if (a.size == 0) {
      // Every tree extends the empty one; its root is SHA-256 of nothing.
      if (a.root != merkle::EmptyRoot() || !path.empty()) {
        problems.push_back("from: an empty tree has root SHA-256(\"\") and an empty proof");
      }
    } else if (!merkle::VerifyConsistency(a.size, b.size, a.root, b.root, path)) {
      problems.push_back("the consistency proof does not show that the tree of size " +
                         std::to_string(b.size) + " extends the tree of size " +
                         std::to_string(a.size));
    }
  }
  return Finish(std::move(problems), 0);
}

}  // namespace smsconsent
