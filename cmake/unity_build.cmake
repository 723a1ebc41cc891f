# Unity builds: each library, the binary and each test executable is compiled as a few large
# translation units, UNITY_BUILD_BATCH_SIZE source files each, instead of one per source file.
# The heavy headers (Boost.Beast, nlohmann/json, spdlog, GoogleTest, libstdc++) are parsed, and
# their templates instantiated and optimised, once per batch instead of once per file, which
# is a large part of what a file costs to compile. A clean build (scripts/test.sh builds everything
# twice on CI's two cores) is dominated by exactly that; -DSMSCONSENT_UNITY=OFF shows the
# difference.
# The price: a change to one file recompiles its whole batch, and file-local names must be
# unique within a library or test executable (two files' anonymous namespaces share one
# translation unit).
# -DSMSCONSENT_UNITY=OFF builds file by file, e.g. for quick incremental builds, or to check
# that every file includes what it uses.
option(SMSCONSENT_UNITY "Compile libraries and tests in a few large translation units" ON)
if(NOT SMSCONSENT_UNITY)
  return()
endif()
# Not the store library: its two backends are large, share few headers, and each keeps its own
# file-local SQL and helpers under the same names.
# The GoogleTest executables too: every test file includes GoogleTest, nlohmann/json and the
# headers of what it tests, and at -O0 (CMakeLists.txt) parsing and instantiating those is
# most of its cost, even with precompiled headers: batches save a good part of the tests'
# compile time in both of scripts/test.sh's configurations.
# Helpers that two test files of one executable need therefore live in a shared header
# (tests/app/test_clock.h, tests/store/status_shorthands.h, tests/http/serve_fixture.h,
# tests/cli/cli_test_util.h); TEST suite names were unique per executable anyway.
# providers_tests and multi_instance_tests are one file each, for which nothing changes; they
# are listed so that the next file added to them joins the batch.
foreach(t smsconsent_core smsconsent_providers smsconsent_app smsconsent_http smsconsent
    core_tests store_tests providers_tests http_tests multi_instance_tests cli_tests)
  if(NOT TARGET ${t})
    continue()
  endif()
  set_target_properties(${t} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # GCC warns when a class of a header (here: a pimpl's Impl defined in its .cc file) holds a
  # type from an anonymous namespace, since another translation unit could define the class
  # differently. In a unity build every .cc file is such a "header" of the batch, so the
  # warning fires for what is, file by file, a private implementation type.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${t} PRIVATE -Wno-subobject-linkage)
  endif()
endforeach()
