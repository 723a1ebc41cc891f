// The `user` subcommands: staff who sign in to the web page (src/app/staff_auth.h,
// docs/auth.md).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds `user add|list|set|remove` to `cli`. `db` and `json` are the global --db and --json
// values, read when a command runs; a parsed command stores its action in `run`. All three
// must outlive the parse and the run.
void AddUserCommands(CLI::App& cli, const std::string& db, const bool& json,
                     std::function<int()>& run);

}  // namespace smsconsent::cli
