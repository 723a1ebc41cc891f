// The verifiable ledger's commands (docs/ledger.md): `ledger head`, `ledger heads`,
// `ledger consistency`, `ledger public-key`, and `proof verify`, which checks a consent proof
// offline with nothing but the document and a public key.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds the subcommands to `ledger` (the `ledger` command) and `verify` to `proof` (the `proof`
// command). `db`, `ledger_key` and `json` are the global --db, --ledger-key and --json values,
// read when a command runs; a parsed command stores its action in `run`. All must outlive the
// parse and the run.
void AddLedgerCommands(CLI::App& ledger, CLI::App& proof, const std::string& db,
                       const std::string& ledger_key, const bool& json, std::function<int()>& run);

}  // namespace smsconsent::cli
