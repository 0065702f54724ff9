# Sourced by tools/test.sh, tools/quickstart.sh and tools/cluster.sh:
# installs the Debian packages streamrec needs that are missing. apt-get
# update runs at most once, and only when something must be installed. Works
# as root, or via sudo.
#   streamrec_install_deps [EXTRA_PACKAGE...]   (quickstart and
#                                                tools/cluster.sh add curl;
#                                                tools/test.sh those of
#                                                STREAMREC_TEST_PACKAGES, and
#                                                for clang|tsan those of
#                                                STREAMREC_CLANG_PACKAGES;
#                                                tools/fuzz.sh those of
#                                                STREAMREC_FUZZ_PACKAGES)
# wrk, for the HTTP load benchmark, is optional: apt-get install wrk.
# nats-server is no build dependency: the cluster tests and tools/cluster.sh
# run real JetStream clusters with it (libnats-dev is the client streamrec
# links).

STREAMREC_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libeigen3-dev librocksdb-dev libfmt-dev libgtest-dev ccache
  libnats-dev nats-server
)

# Every test run (tools/test.sh): headless Chromium renders the dashboard
# in tests/http/dashboard_test.cc (without it that one test is skipped).
STREAMREC_TEST_PACKAGES=(chromium)

# The clang and tsan presets (tools/test.sh clang|tsan): clang, and its
# sanitizer runtimes (ThreadSanitizer's), which clang only recommends.
STREAMREC_CLANG_PACKAGES=(clang libclang-rt-14-dev)

# The fuzz build (tools/fuzz.sh): clang, libFuzzer, and clang's sanitizer
# runtimes, which clang only recommends (so --no-install-recommends would
# leave them out).
STREAMREC_FUZZ_PACKAGES=(clang libfuzzer-14-dev libclang-rt-14-dev)

streamrec_install_deps() {
  local missing=()
  local p
  for p in "${STREAMREC_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "streamrec: need root or sudo to install: ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo -n)
  fi
  echo "streamrec: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
