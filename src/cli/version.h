// What `smsconsent --version` prints and `serve` logs when it starts. Defined in a file
// generated at build time (cmake/stamp_revision.cmake), so that a new commit recompiles only
// that file.
#pragma once

#include <string_view>

namespace smsconsent {

// The CMake project version, e.g. "0.1.0".
std::string_view Version();
// The source tree's commit, `git rev-parse --short HEAD`, with "-dirty" when it was built
// with uncommitted changes to tracked files; "unknown" when not built from a git checkout.
std::string_view Revision();

}  // namespace smsconsent
