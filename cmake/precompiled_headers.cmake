# Precompiled headers: the third-party headers that nearly every translation unit parses
# (nlohmann/json, GoogleTest, Boost.Beast, CLI11, the standard library) are parsed once per
# target instead of once per file. It roughly halves what a test file costs to compile and
# cuts a clean build (scripts/test.sh builds everything twice) substantially.
# -DSMSCONSENT_PCH=OFF builds without them, e.g. to check that every file includes what it
# uses (a precompiled header makes a forgotten #include <vector> go unnoticed).
option(SMSCONSENT_PCH "Precompile heavy third-party headers" ON)
if(NOT SMSCONSENT_PCH)
  return()
endif()

set(SMSCONSENT_PCH_STD <algorithm> <chrono> <cstdint> <functional> <map> <memory> <mutex>
  <optional> <string> <string_view> <utility> <vector>)

# GCC 12 reports false -Wstringop-overflow and -Warray-bounds errors inside libstdc++ for
# `"literal" + std::string` at -O2/-O3 when <string> comes from a precompiled header (the same
# family as GCC bug 105651, see -Wno-restrict in CMakeLists.txt; fixed in 13). Rather than turn
# those warnings off, GCC < 13 precompiles only for unoptimised code: the tests (always -O0)
# and, in a Debug build (the ASan+UBSan configuration of scripts/test.sh), the libraries too.
set(SMSCONSENT_PCH_LIBS ON)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13
    AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  set(SMSCONSENT_PCH_LIBS OFF)
endif()

# Libraries, the binary and the benchmarks: one precompiled header each (the tests are built
# at another optimisation level, so they cannot share one).
foreach(t smsconsent_core smsconsent_store smsconsent_providers smsconsent_app smsconsent_http
    smsconsent smsconsent_bench)
  if(SMSCONSENT_PCH_LIBS AND TARGET ${t})
    target_precompile_headers(${t} PRIVATE ${SMSCONSENT_PCH_STD} <nlohmann/json.hpp>)
  endif()
endforeach()
if(SMSCONSENT_PCH_LIBS AND TARGET smsconsent_http)
  target_precompile_headers(smsconsent_http PRIVATE <boost/beast/core.hpp>
    <boost/beast/http.hpp> <boost/asio/ip/tcp.hpp>)
endif()
if(SMSCONSENT_PCH_LIBS AND TARGET smsconsent)
  target_precompile_headers(smsconsent PRIVATE <CLI/CLI.hpp>)
endif()

# Test executables (all -O0, see CMakeLists.txt): one each. They cannot share one with
# REUSE_FROM: their compile definitions differ (SMSCONSENT_SOURCE_DIR, SMSCONSENT_BINARY), and
# GCC refuses a precompiled header built with other macros (CMake adds -Winvalid-pch).
# A test target added later only needs adding to this list.
foreach(t core_tests store_tests providers_tests http_tests cli_tests)
  if(TARGET ${t})
    target_precompile_headers(${t} PRIVATE ${SMSCONSENT_PCH_STD} <filesystem> <thread>
      <gtest/gtest.h> <gmock/gmock.h> <nlohmann/json.hpp>)
  endif()
endforeach()
