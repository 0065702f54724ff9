#!/usr/bin/env bash
# Installs what is missing, builds streamrec, and runs it on its embedded
# default with demo data. (The HTTP server is not built yet; until then this
# runs the offline tour: generate a synthetic stream -> evaluate -> learn it
# online -> print recommendations.)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/deps.sh
streamrec_install_deps

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target streamrec
exec build/release/tools/streamrec demo --dir build/demo "$@"
