// The `reviews` subcommands: the queue of possible opt-outs (src/app/reviews.h,
// docs/reviews.md).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace smsconsent::cli {

// Adds `reviews list|confirm|dismiss` to `cli`. `db` and `json` are the global --db and --json
// values, read when a command runs; a parsed command stores its action in `run`. All three
// must outlive the parse and the run.
void AddReviewCommands(CLI::App& cli, const std::string& db, const bool& json,
                       std::function<int()>& run);

}  // namespace smsconsent::cli
