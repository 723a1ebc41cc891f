// `smsconsent serve`: wires the store, the service, the HTTP API and the outbox dispatcher.
#pragma once

#include <string>

#include "app/config.h"

namespace smsconsent::cli {

// Runs the server until SIGTERM/SIGINT; returns the process exit code.
int RunServe(const std::string& db, const std::string& ledger_key, const ServeConfig& config);

}  // namespace smsconsent::cli
