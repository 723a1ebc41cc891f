// The installation's ledger key: the Ed25519 key that signs tree heads (core/tree_head.h),
// kept as a PKCS#8 PEM file.
#pragma once

#include <string>

#include "core/status.h"
#include "core/tree_head.h"

namespace smsconsent {

// The largest key file read (a PEM Ed25519 key has 119 bytes).
inline constexpr size_t kMaxLedgerKeyFileBytes = 64 * 1024;

// Reads the key from `path` if the file exists. Otherwise generates a key and creates the file
// with mode 0600: written to a temporary file beside it, fsynced, then linked into place, so
// the file is either absent or complete; if another process created it meanwhile, that key is
// read and returned instead (two processes sharing the path end up with one key). The
// directory must exist. Durable when it returns.
// Errors: kInvalidArgument (the file is not an Ed25519 PKCS#8 PEM key, or larger than
// kMaxLedgerKeyFileBytes), kFailedPrecondition (the file or its directory cannot be read,
// written or created; the message names the path and the system's reason).
Result<SigningKey> LoadOrCreateLedgerKey(const std::string& path);

}  // namespace smsconsent
