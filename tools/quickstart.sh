#!/usr/bin/env bash
# Installs what is missing, builds streamrec, and runs it on its embedded
# default: `streamrec serve` with config/streamrec.conf on the database
# build/quickstart-data, in the background. Once /healthz answers it loads a
# synthetic demo stream over HTTP (NDJSON batches, as an application
# would), prints curl examples with their real answers, and serves until
# Ctrl-C or SIGTERM, which it forwards for a clean shutdown (snapshot,
# database closed). Non-interactive throughout.
#
#   tools/quickstart.sh [--no-demo] [--port N] [--no-wait] [--fresh]
#     --no-demo   start the server without loading the demo stream
#     --port N    listen on N instead of the config's port (0: any free one)
#     --no-wait   stop the server after the examples instead of serving on
#     --fresh     delete build/quickstart-data first
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1 wait_for_server=1 fresh=0 port_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-demo) demo=0 ;;
    --no-wait) wait_for_server=0 ;;
    --fresh) fresh=1 ;;
    --port) port_args=(--port "${2:?--port needs a value}"); shift ;;
    --port=*) port_args=(--port "${1#--port=}") ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

source tools/lib/deps.sh
streamrec_install_deps curl

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target streamrec
S=build/release/tools/streamrec
data=build/quickstart-data
log=build/quickstart-serve.log
[ "$fresh" -eq 1 ] && rm -rf "$data"

"$S" serve --config config/streamrec.conf --data-dir "$data" "${port_args[@]}" >"$log" 2>&1 &
pid=$!
# Stops the server cleanly (SIGTERM: requests in flight finish, snapshot,
# database closed) and exits with its status, or with $1 if given.
stop() {
  trap - INT TERM EXIT
  if kill -0 "$pid" 2>/dev/null; then
    echo "quickstart: stopping streamrec (pid $pid)..."
    kill -TERM "$pid" 2>/dev/null || true
  fi
  local rc=0
  wait "$pid" || rc=$?
  tail -n 2 "$log"
  exit "${1:-$rc}"
}
# A background job of a script ignores SIGINT, so Ctrl-C reaches only this
# shell: forward it as SIGTERM. EXIT: never leave a server behind if a step
# below fails.
trap stop INT TERM
trap 'stop 1' EXIT

# The listening line tells the real port (the config's, or any with --port 0).
port=
for _ in $(seq 600); do
  port=$(sed -n 's|^streamrec: listening on http://[^ ]*:\([0-9]*\)$|\1|p' "$log" | head -n 1)
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    trap - EXIT
    cat "$log" >&2
    wait "$pid" || exit $?
    exit 1
  fi
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "quickstart: streamrec printed no listening line; see $log" >&2
  stop 1
fi
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { echo "quickstart: $base/healthz does not answer" >&2; stop 1; }
cat "$log"

if [ "$demo" -eq 1 ]; then
  # A synthetic stream with planted tastes (fixed seed), as NDJSON with
  # event ids, so a second run is answered with duplicates, not doubled.
  events=build/quickstart-demo.events
  "$S" generate --events 50000 --users 2000 --items 1000 --out "$events"
  batches=$(mktemp -d)
  # Timestamps shifted so that the stream ends now: "trending" decays with
  # event time, and a stream from the past would all but vanish next to the
  # first live event.
  shift_ms=$(( $(date +%s%3N) - $(tail -n 1 "$events" | cut -f 1) ))
  awk -F'\t' -v shift="$shift_ms" '!/^#/ { printf "{\"event_id\":\"demo-%d\",\"user\":\"%s\",\"item\":\"%s\",\"type\":\"%s\",\"value\":%s,\"ts\":%.0f}\n", n++, $2, $3, $4, $5, $1 + shift }' \
    "$events" | split -l 1000 - "$batches/b"
  accepted=0 duplicates=0
  for f in "$batches"/b*; do
    ack=$(curl -fsS -H 'Content-Type: application/x-ndjson' --data-binary "@$f" "$base/v1/events") || {
      echo "quickstart: loading $f failed" >&2; rm -rf "$batches"; stop 1; }
    accepted=$((accepted + $(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' <<<"$ack")))
    duplicates=$((duplicates + $(sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' <<<"$ack")))
  done
  rm -rf "$batches"
  echo "quickstart: loaded the demo stream over HTTP: $accepted events accepted, $duplicates duplicates"
fi

# Shows a command line, runs it, and prints the start of its answer (the
# whole answer stays in $out).
out=
show() {
  echo
  echo "\$ $1"
  out=$(eval "$1") || true
  if [ "${#out}" -gt 600 ]; then
    printf '%s ...\n' "${out:0:600}"
  else
    printf '%s\n' "$out"
  fi
}
echo
echo "streamrec is serving on $base (database $data, log $log). Try:"
show "curl -s '$base/v1/users/user0/recommendations?n=5'"
# user0 buys the top recommendation: the next answer no longer has it (seen
# items are excluded), and its seq covers the event.
top=$(sed -n 's/.*"items":\[{"item":"\([^"]*\)".*/\1/p' <<<"$out")
show "curl -s '$base/v1/items/${top:-item0}/similar?n=5'"
show "curl -s '$base/v1/items/popular?n=5'"
show "curl -s -H 'Content-Type: application/json' '$base/v1/events' -d '[{\"user\":\"user0\",\"item\":\"${top:-item0}\",\"type\":\"purchase\"}]'"
show "curl -s '$base/v1/users/user0/recommendations?n=5'"
show "curl -s '$base/v1/admin/status'"
show "curl -s '$base/metrics' | grep -v '^#' | head -n 4"
echo
echo "More in README.md (\"Serving\"). Stop with Ctrl-C: streamrec finishes the requests"
echo "in flight, writes a snapshot and closes the database."

if [ "$wait_for_server" -eq 0 ]; then
  stop
fi
trap - EXIT
rc=0
wait "$pid" || rc=$?
tail -n 2 "$log"
exit "$rc"
