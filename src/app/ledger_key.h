// The installation's ledger key on disk: a PKCS#8 PEM file, created on first use (docs/ledger.md).
#pragma once

#include <string>

#include "core/status.h"
#include "core/tree_head.h"

namespace smsconsent {

// Reads the Ed25519 key in `path`; when there is no such file, generates one and writes it
// (mode 0600, through a temporary file renamed into place, synced) and returns it.
// kInvalidArgument for a file that holds no Ed25519 private key; kInternal when it cannot be
// read or written.
Result<SigningKey> LoadOrCreateLedgerKey(const std::string& path);

}  // namespace smsconsent
