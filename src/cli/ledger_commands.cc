#include "cli/ledger_commands.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/ledger_key.h"
#include "app/ledger_service.h"
#include "app/proof.h"
#include "cli/output.h"
#include "cli/session.h"
#include "core/base64.h"
#include "core/json_reader.h"
#include "core/proof_verify.h"
#include "core/tree_head.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

struct LedgerArgs {
  int64_t account = 0;
  int64_t after = 0;
  int limit = 100;
  int64_t from = 0;
  int64_t to = 0;
  std::string file;
  std::string public_key;
};

// The store, the services and the ledger key: what every ledger command but `proof verify`
// works on.
struct LedgerSession {
  std::unique_ptr<Session> session;
  std::unique_ptr<SigningKey> key;
  std::unique_ptr<LedgerService> ledger;
};

Result<LedgerSession> OpenLedger(const std::string& db, const std::string& ledger_key) {
  LedgerSession ls;
  SMSC_ASSIGN_OR_RETURN(ls.session, OpenSession(db));
  SMSC_ASSIGN_OR_RETURN(SigningKey key, LoadOrCreateLedgerKey(LedgerKeyPath(db, ledger_key)));
  ls.key = std::make_unique<SigningKey>(std::move(key));
  ls.ledger = std::make_unique<LedgerService>(*ls.session->store, ls.session->clock, *ls.key);
  SMSC_RETURN_IF_ERROR(ls.ledger->RegisterKey());
  return ls;
}

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (!in.good() && !in.eof()) return InvalidArgument("cannot read " + path);
  return buf.str();
}

// --public-key: a file holding a PEM or base64 key, or the base64 text itself.
Result<std::string> PublicKeyArg(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    SMSC_ASSIGN_OR_RETURN(std::string text, ReadAll(arg));
    return ParsePublicKey(text);
  }
  return ParsePublicKey(arg);
}

void PrintHead(std::ostream& os, const SignedTreeHead& h) {
  os << "account " << h.head.account_id << ": " << h.head.size << " events, root "
     << merkle::ToHex(h.head.root) << ", signed " << FormatTimestampMs(h.head.at_ms) << " by key "
     << h.key_id << "\n";
}

int RunVerify(bool json_out, const LedgerArgs& a) {
  auto key = PublicKeyArg(a.public_key);
  if (!key.ok()) return Output::Fail(key.status());
  auto text = ReadAll(a.file);
  if (!text.ok()) return Output::Fail(text.status());
  JsonLimits limits;
  limits.max_values = 10'000'000;  // a local file: a contact with many events, 40 hashes each
  auto doc = ReadJson(*text, limits);
  if (!doc.ok()) {
    return Output::Fail(
        InvalidArgument(a.file + " is not a JSON document: " + doc.status().message()));
  }
  const bool consistency =
      doc->is_object() && doc->value("format", "") == std::string("smsconsent-consistency-v1");
  ProofCheck check =
      consistency ? VerifyConsistencyDocument(*doc, *key) : VerifyProofDocument(*doc, *key);
  (void)Output{json_out}.Print(
      {{"ok", check.ok}, {"events_checked", check.events_checked}, {"problems", check.problems}},
      [&](std::ostream& os) {
        if (check.ok) {
          os << "ok: "
             << (consistency
                     ? "the later tree head extends the earlier one"
                     : std::to_string(check.events_checked) + " events in the signed ledger")
             << "\n";
        }
        for (const std::string& p : check.problems) os << "FAILED: " << p << "\n";
      });
  return check.ok ? 0 : 1;
}

}  // namespace

void AddLedgerCommands(CLI::App& ledger, CLI::App& proof, const std::string& db,
                       const std::string& ledger_key, const bool& json_out,
                       std::function<int()>& run) {
  auto a = std::make_shared<LedgerArgs>();
  auto with_ledger = [&db, &ledger_key, &json_out](auto fn) {
    return [&db, &ledger_key, &json_out, fn]() -> int {
      auto ls = OpenLedger(db, ledger_key);
      if (!ls.ok()) return Output::Fail(ls.status());
      return fn(*ls->ledger, Output{json_out});
    };
  };

  auto* head = ledger.add_subcommand(
      "head", "integrate the account's newest events and print a signed tree head of its ledger");
  head->add_option("--account", a->account, "account id")->required();
  head->callback([&run, a, with_ledger] {
    run = with_ledger([a](LedgerService& l, Output out) {
      auto h = l.CurrentHead(a->account);
      if (!h.ok()) return Output::Fail(h.status());
      return out.Print(SignedTreeHeadToJson(*h), [&](std::ostream& os) { PrintHead(os, *h); });
    });
  });

  auto* heads = ledger.add_subcommand("heads", "the signed tree heads kept, ascending by size");
  heads->add_option("--account", a->account, "account id")->required();
  heads->add_option("--after", a->after, "heads of a size above this")->capture_default_str();
  heads->add_option("--limit", a->limit, "at most this many (1 to 1000)")->capture_default_str();
  heads->callback([&run, a, with_ledger] {
    run = with_ledger([a](LedgerService& l, Output out) {
      auto list = l.ListHeads(a->account, a->after, a->limit);
      if (!list.ok()) return Output::Fail(list.status());
      json items = json::array();
      for (const SignedTreeHead& h : *list) items.push_back(SignedTreeHeadToJson(h));
      return out.Print(items, [&](std::ostream& os) {
        for (const SignedTreeHead& h : *list) PrintHead(os, h);
      });
    });
  });

  auto* consistency = ledger.add_subcommand(
      "consistency",
      "prove that the ledger of a kept tree head (--from SIZE) was only appended to since");
  consistency->add_option("--account", a->account, "account id")->required();
  consistency->add_option("--from", a->from, "size of the earlier kept head")->required();
  consistency->add_option("--to", a->to, "size of the later kept head (default: a current one)");
  consistency->callback([&run, a, with_ledger] {
    run = with_ledger([a](LedgerService& l, Output) {
      auto c = l.Consistency(a->account, a->from, a->to);
      if (!c.ok()) return Output::Fail(c.status());
      // The document itself, always JSON: it is what `proof verify` and third parties read.
      std::cout << ConsistencyToJson(*c).dump(2) << "\n";
      return 0;
    });
  });

  auto* key = ledger.add_subcommand("public-key", "the public key that signs tree heads");
  key->callback([&run, with_ledger] {
    run = with_ledger([](LedgerService& l, Output out) {
      const SigningKey& k = l.key();
      return out.Print({{"key_id", k.KeyId()},
                        {"public_key", base64::Encode(k.PublicKeyRaw())},
                        {"pem", PublicKeyPem(k.PublicKeyRaw())}},
                       [&](std::ostream& os) { os << PublicKeyPem(k.PublicKeyRaw()); });
    });
  });

  auto* verify = proof.add_subcommand(
      "verify",
      "check a consent proof (or a consistency proof) offline against a public key; exit 1 if "
      "it does not verify");
  verify->add_option("file", a->file, "the JSON document")->required()->check(CLI::ExistingFile);
  verify
      ->add_option("--public-key", a->public_key,
                   "the public key: a PEM file, or base64 of the raw 32 bytes")
      ->required();
  verify->callback(
      [&run, &json_out, a] { run = [&json_out, a] { return RunVerify(json_out, *a); }; });
}

}  // namespace smsconsent::cli
