// The `bulk`, `import` and `job` subcommands (src/app/bulk.h): bulk subscription changes,
// contact imports and the background jobs that apply them.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds `bulk preview|apply`, `import` and `job show|rejects` to `cli`. `db` and `json` are the
// global --db and --json values, read when a command runs; a parsed command stores its action
// in `run`. All three must outlive the parse and the run.
void AddBulkCommands(CLI::App& cli, const std::string& db, const bool& json,
                     std::function<int()>& run);

}  // namespace smsconsent::cli
