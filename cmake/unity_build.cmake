# Unity builds: each library (and the binary) is compiled as a few large translation units,
# UNITY_BUILD_BATCH_SIZE source files each, instead of one per source file. The heavy headers
# (Boost.Beast, nlohmann/json, spdlog, libstdc++) are parsed, and their templates instantiated
# and optimised, once per batch instead of once per file: src/app compiled at -O2 in 52 s of
# CPU as one unit against 94 s file by file. A clean build (scripts/test.sh builds everything
# twice on CI's two cores) is dominated by exactly that.
# The price: a change to one file recompiles its whole batch, and file-local names must be
# unique within a library (two files' anonymous namespaces share one translation unit).
# -DSMSCONSENT_UNITY=OFF builds file by file, e.g. for quick incremental builds, or to check
# that every file includes what it uses.
option(SMSCONSENT_UNITY "Compile each library in a few large translation units" ON)
if(NOT SMSCONSENT_UNITY)
  return()
endif()
# Not the store library: its two backends are large, share few headers, and each keeps its own
# file-local SQL and helpers under the same names.
foreach(t smsconsent_core smsconsent_providers smsconsent_app smsconsent_http smsconsent)
  set_target_properties(${t} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # GCC warns when a class of a header (here: a pimpl's Impl defined in its .cc file) holds a
  # type from an anonymous namespace, since another translation unit could define the class
  # differently. In a unity build every .cc file is such a "header" of the batch, so the
  # warning fires for what is, file by file, a private implementation type.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${t} PRIVATE -Wno-subobject-linkage)
  endif()
endforeach()
