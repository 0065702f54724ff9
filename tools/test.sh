#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
#   tools/test.sh            Release build (build/release)
#   tools/test.sh clang      Release build with clang (build/clang), every test
#                            as release; the lock annotations (GUARDED_BY,
#                            REQUIRES) checked by -Wthread-safety, as errors
#   tools/test.sh asan       AddressSanitizer + UBSan (clang, lock annotations
#                            checked as in `clang`), all but the label quality
#   tools/test.sh tsan       ThreadSanitizer (clang, lock annotations checked
#                            as in `clang`), the tests labelled concurrent
#   tools/test.sh long       Release build, the tests labelled long (not in CI:
#                            kill -9 of `serve` 200 times under HTTP ingest)
# (CMakePresets.json holds each preset's filter; tests/CMakeLists.txt says
# what the labels mean.)
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so clones in other folders
# (CI) share the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
preset="${1:-release}"
# The long tests run on the release build.
build_preset="$preset"
[ "$preset" = long ] && build_preset=release
source tools/lib/deps.sh
case "$preset" in
  clang | asan | tsan)
    streamrec_install_deps "${STREAMREC_TEST_PACKAGES[@]}" "${STREAMREC_CLANG_PACKAGES[@]}" ;;
  *) streamrec_install_deps "${STREAMREC_TEST_PACKAGES[@]}" ;;
esac

jobs="$(nproc 2>/dev/null || echo 2)"
# CI builds warning-free or fails (STREAMREC_WERROR); a local build warns.
werror=()
[ "${CI:-}" = true ] && werror=(-DSTREAMREC_WERROR=ON)
cmake --preset "$build_preset" "${werror[@]}"
# A sanitizer run builds only the test programs its filter runs.
case "$preset" in
  tsan) targets=(--target engine_test http_server_test http_api_test storage_test tools_test) ;;
  *) targets=() ;;
esac
cmake --build --preset "$build_preset" -j "$jobs" "${targets[@]}"
# Tests find MovieLens in ../shared/data unless STREAMREC_DATA says otherwise.
ctest --preset "$preset" -j "$jobs"
