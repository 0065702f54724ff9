#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz; the `fuzz` preset: clang, ASan +
# UBSan) and runs them one at a time, single process.
#   tools/fuzz.sh                     every target, 30 s each
#   tools/fuzz.sh TARGET [SECONDS]    one target
#   tools/fuzz.sh all SECONDS         every target, SECONDS each
# Targets: event_json url event_codec stream_record snapshot config importers event_file
# (tests/fuzz/<target>.cc says what each feeds and checks).
#
# A run starts from the seeds in tests/fuzz/corpus/<target> plus what
# earlier runs found, kept in build/fuzz/corpus/<target>; the repository's
# corpus is only read (delete the build copy to start over). A crash, a
# sanitizer report, a failed invariant, a leak, an input slower than 10 s
# or a malloc over 2 GB is a finding: libFuzzer keeps the input as
# build/fuzz/artifacts/<target>-crash-<sha1> (or leak-, timeout-, oom-),
# the remaining targets still run, and the script exits 1. Reproduce with
#   build/fuzz/tests/fuzz/fuzz_<target> build/fuzz/artifacts/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

all_targets=(event_json url event_codec stream_record snapshot config importers event_file)
want="${1:-all}"
seconds="${2:-30}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
if [ "$want" = all ]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $want "* ]]; then
  targets=("$want")
else
  echo "fuzz: unknown target '$want' (${all_targets[*]} or all)" >&2
  exit 2
fi

source tools/lib/deps.sh
streamrec_install_deps "${STREAMREC_FUZZ_PACKAGES[@]}"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset fuzz
cmake --build --preset fuzz -j "$jobs"

# UB is already fatal (-fno-sanitize-recover); the stack says where.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
artifacts=build/fuzz/artifacts
mkdir -p "$artifacts"
findings=()
for t in "${targets[@]}"; do
  corpus="build/fuzz/corpus/$t"
  mkdir -p "$corpus"
  # Seeds the build copy lacks (cp -n's exit status differs between
  # coreutils versions).
  for seed in "tests/fuzz/corpus/$t"/*; do
    [ -e "$corpus/${seed##*/}" ] || cp "$seed" "$corpus/"
  done
  dict=()
  if [ -f "tests/fuzz/$t.dict" ]; then dict=("-dict=tests/fuzz/$t.dict"); fi
  log="build/fuzz/$t.log"
  start=$SECONDS
  result="no findings"
  if ! "build/fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "${dict[@]}" "$corpus" </dev/null >"$log" 2>&1; then
    result="FINDING (log: $log)"
    findings+=("$t")
  fi
  # The final stats are missing after a crash: the last status line has
  # the count then.
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  if [ -z "$execs" ]; then
    execs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')"
    rate="?"
  fi
  files="$(find "$corpus" -type f | wc -l)"
  echo "fuzz: $t: ${execs:-0} executions in $((SECONDS - start)) s (${rate} exec/s)," \
    "corpus $files inputs, $result"
  if [ "$result" != "no findings" ]; then
    grep -E -A 30 '^==[0-9]+==|FUZZ_CHECK|runtime error|^SUMMARY' "$log" | head -n 60 >&2 || true
  fi
done
if [ ${#findings[@]} -gt 0 ]; then
  echo "fuzz: findings in ${findings[*]}; inputs in $artifacts/" >&2
  exit 1
fi
