// The `export` and `proof` subcommands (src/app/export.h, src/app/proof.h), kept apart from
// main.cc so that their options and output handling live in one place.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds `export` and `proof` to `cli`. `db`, `ledger_key` and `json` are the global --db,
// --ledger-key and --json values;
// they are read when a command runs (after parsing). A parsed command stores its action in
// `run`, which returns the process exit code. All three must outlive the parse and the run.
void AddExportCommands(CLI::App& cli, const std::string& db, const std::string& ledger_key,
                       const bool& json, std::function<int()>& run);

}  // namespace smsconsent::cli
