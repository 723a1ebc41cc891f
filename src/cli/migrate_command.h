// `smsconsent migrate-store --from LOCATION --to LOCATION`: moves an installation to another
// store (SQLite → PostgreSQL and back, or SQLite → SQLite) and proves the copy
// (src/store/transfer.h, docs/storage.md "Moving an installation between stores").
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds `migrate-store` to `cli`. `json` is the global --json value, read when the command
// runs; a parsed command stores its action in `run`. Both must outlive the parse and the run.
// The global --db is not used: the command names both stores.
void AddMigrateCommand(CLI::App& cli, const bool& json, std::function<int()>& run);

}  // namespace smsconsent::cli
