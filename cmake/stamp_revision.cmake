# Writes the C++ file that holds the binary's version and git revision (src/cli/version.h).
# Run at every build as a script (cmake -P), from the smsconsent_revision target in
# CMakeLists.txt, with:
#   SOURCE_DIR  the source tree        OUTPUT    the .cc file to write
#   VERSION     project(VERSION)       GIT       the git executable ("" when there is none)
#   REVISION    a fixed revision instead of asking git ("" to ask), e.g. for a build from a
#               release tarball that knows its commit
# The revision is `git rev-parse --short HEAD`, with "-dirty" when tracked files differ from
# HEAD (untracked files do not count, as with `git describe --dirty`), or "unknown" when the
# source tree is not a git checkout of its own (a tarball, also one unpacked inside some
# other repository) or git is missing.
# OUTPUT is rewritten only when its text changes (file(CONFIGURE) compares first), so a build
# with nothing new recompiles nothing and a new commit recompiles this one file.
set(revision "${REVISION}")
if(revision STREQUAL "")
  set(revision "unknown")
  if(GIT)
    # --no-optional-locks: `git status` would otherwise refresh the index file, which can race
    # with git commands someone is running in the same checkout.
    execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" rev-parse --show-toplevel
      OUTPUT_VARIABLE toplevel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0)
      file(REAL_PATH "${toplevel}" toplevel)
      file(REAL_PATH "${SOURCE_DIR}" source_dir)
    endif()
    if(rc EQUAL 0 AND toplevel STREQUAL source_dir)
      execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" rev-parse --short HEAD
        OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
      if(rc EQUAL 0 AND NOT head STREQUAL "")
        set(revision "${head}")
        execute_process(COMMAND "${GIT}" --no-optional-locks -C "${SOURCE_DIR}" status
          --porcelain --untracked-files=no
          OUTPUT_VARIABLE changes ERROR_QUIET RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0 OR NOT changes STREQUAL "")
          string(APPEND revision "-dirty")
        endif()
      endif()
    endif()
  endif()
endif()
file(CONFIGURE OUTPUT "${OUTPUT}" @ONLY CONTENT [[
// Generated at build time by cmake/stamp_revision.cmake; do not edit.
#include "cli/version.h"

namespace smsconsent {

std::string_view Version() { return "@VERSION@"; }
std::string_view Revision() { return "@revision@"; }

}  // namespace smsconsent
]])
