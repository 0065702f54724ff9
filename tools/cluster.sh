#!/usr/bin/env bash
# A local streamrec cluster on loopback, for trying replication by hand and
# for CI: a 3-node NATS JetStream cluster and streamrec replicas sharing it
# (each replica's config is config/streamrec.conf with [cluster] nats set).
#   tools/cluster.sh up DIR           starts the 3 NATS nodes, then 2 replicas;
#                                     once every one answers its /healthz,
#                                     prints one line per process:
#                                       nats: nats://127.0.0.1:PORT     (3)
#                                       replica: http://127.0.0.1:PORT  (2)
#   tools/cluster.sh add-replica DIR  one more replica, from an empty data
#                                     dir; prints its `replica:` line
#   tools/cluster.sh status DIR       each process, alive or dead (exit 1 if
#                                     any is dead)
#   tools/cluster.sh down DIR         SIGTERM the replicas, then NATS; waits
#                                     (SIGKILL after 30 s each); repeatable
# DIR holds everything: nats/nN (JetStream store) and nats/nN.log,
# replicaN/{streamrec.conf,data,serve.log}, and cluster.env (pids and
# ports, sourceable). `up` on the DIR of a cluster that is down restarts it
# on its NATS stores and replica data. Ports are free ones picked at random
# in 20000-32767, new at every `up`.
# STREAMREC_BIN: the streamrec binary (default build/release/tools/streamrec,
# from tools/test.sh); STREAMREC_CLUSTER_TIMEOUT: seconds to wait for
# health (default 60). Exits 1 on failure (with the tail of the failing
# process's log), 2 on bad usage.
set -euo pipefail

# The comment above, up to `set`.
usage() { sed -n '2,/^set /p' "$0" | sed -n 's/^# \{0,1\}//p'; }
if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then
  usage
  exit 0
fi
if [ $# -ne 2 ] || [ -z "$2" ]; then
  usage >&2
  exit 2
fi
cmd=$1
case "$cmd" in
  up | down | add-replica | status) ;;
  *) echo "cluster: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
# Absolute paths before the cd below: they go into configs and command
# lines, and `down` recognises its processes by DIR in their command line.
[ "$cmd" != up ] || mkdir -p "$2"
if [ ! -d "$2" ]; then
  [ "$cmd" = down ] && exit 0
  echo "cluster: no cluster in $2" >&2
  exit 1
fi
dir=$(cd "$2" && pwd)
bin=${STREAMREC_BIN:-build/release/tools/streamrec}
[[ "$bin" = /* ]] || [ -z "${STREAMREC_BIN:-}" ] || bin="$PWD/$bin"
cd "$(dirname "$0")/.."
env_file="$dir/cluster.env"
timeout_s=${STREAMREC_CLUSTER_TIMEOUT:-60}

say() { echo "cluster: $*" >&2; }

# True while process $1 exists and has not exited (a zombie has).
alive() {
  local stat
  # `read`, not $(<file): bash 5.2 under set -e exits on a $(<file) that
  # cannot open the file, even after ||.
  [ -n "$1" ] && { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  [[ "$stat" != *") Z "* ]]
}

# True while process $1 runs and was started for this DIR: a pid reused by
# an unrelated process after ours exited is never signalled.
ours() {
  local cmdline
  alive "$1" && { cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null &&
    [[ "$cmdline" == *"$dir/"* ]]
}

# Every process of cluster.env as "KIND NAME PID URL", replicas first (the
# order `down` stops them in).
processes() {
  [ -f "$env_file" ] || return 0
  (
    # shellcheck disable=SC1090
    source "$env_file"
    local i pid port
    for ((i = 1; i <= ${REPLICAS:-0}; i++)); do
      pid="REPLICA${i}_PID" port="REPLICA${i}_PORT"
      echo "replica replica$i ${!pid:-} http://127.0.0.1:${!port:-}"
    done
    for i in 1 2 3; do
      pid="N${i}_PID" port="N${i}_PORT"
      [ -n "${!pid:-}" ] && echo "nats n$i ${!pid} nats://127.0.0.1:${!port}"
    done
  )
}

# terminate PID:NAME...: SIGTERM to each that is ours, then waits for them
# to exit, with SIGKILL for those still there after 30 s.
terminate() {
  local p left
  local pids=()
  for p in "$@"; do
    ours "${p%%:*}" && kill -TERM "${p%%:*}" && pids+=("$p")
  done
  local deadline=$((SECONDS + 30)) killed=0
  while :; do
    left=0
    for p in "${pids[@]}"; do alive "${p%%:*}" && left=1; done
    [ "$left" -eq 0 ] && return 0
    # A process stuck in the kernel may outlive even SIGKILL: not forever.
    [ "$SECONDS" -lt $((deadline + 10)) ] || return 0
    if [ "$SECONDS" -ge "$deadline" ] && [ "$killed" -eq 0 ]; then
      for p in "${pids[@]}"; do
        if alive "${p%%:*}"; then
          say "${p#*:} (pid ${p%%:*}) still runs 30 s after SIGTERM; SIGKILL"
          kill -KILL "${p%%:*}" 2>/dev/null || true
        fi
      done
      killed=1
    fi
    sleep 0.1
  done
}

# Every live process of `kind` (replica, nats), as terminate does.
stop_kind() {
  local kind=$1 k name pid url
  local pids=()
  while read -r k name pid url; do
    [ "$k" != "$kind" ] || pids+=("$pid:$name")
  done < <(processes)
  terminate "${pids[@]}"
}

stop_all() {
  stop_kind replica
  stop_kind nats
}

# pick_port VAR: sets VAR to a port in 20000-32767 (below Linux's ephemeral
# range, so no outgoing connection holds it) on which nothing listens, and
# that this run has not picked before. Not in a $(...): $taken must persist.
taken=" "
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12768))
    [[ "$taken" == *" $p "* ]] && continue
    # Connection refused: nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  say "no free port found in 20000-32767"
  return 1
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

# Fails with the tail of `log` unless `check` succeeds within the timeout;
# gives up early if `pid` exits. (Not `ours`: until it execs, the child is a
# copy of this script, whose command line need not name DIR; while it
# execs, its command line reads empty.)
wait_until() {
  local what=$1 pid=$2 log=$3 check=$4
  local deadline=$((SECONDS + timeout_s))
  until eval "$check"; do
    if ! alive "$pid"; then
      say "$what exited; last lines of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$what not ready after $timeout_s s; last lines of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
}

nats_healthy() { [ "$(http_status "http://127.0.0.1:$1/healthz")" = 200 ]; }

# The meta leader (as node 1 sees it) lists both other nodes as current, so
# a replicas = 3 stream can be placed. nats-server 2.9's /healthz says 200
# as soon as a meta leader is known, and its ?js-enabled-only=true even
# before that.
meta_formed() {
  local jsz leader
  jsz=$(curl -s --max-time 2 "http://127.0.0.1:$N1_MONITOR_PORT/jsz" | tr -d ' \t\r\n') || return 1
  leader=$(sed -n 's/.*"meta_cluster":{[^}]*"leader":"n\([123]\)".*/\1/p' <<<"$jsz")
  [ -n "$leader" ] || return 1
  local port_var="N${leader}_MONITOR_PORT"
  jsz=$(curl -s --max-time 2 "http://127.0.0.1:${!port_var}/jsz" | tr -d ' \t\r\n') || return 1
  [ "$(grep -o '"current":true' <<<"$jsz" | wc -l)" -ge 2 ]
}

start_nats() {
  local i j routes
  for i in 1 2 3; do
    pick_port "N${i}_PORT" && pick_port "N${i}_CLUSTER_PORT" && pick_port "N${i}_MONITOR_PORT" ||
      return 1
  done
  mkdir -p "$dir/nats"
  NATS_URLS=
  for i in 1 2 3; do
    local port="N${i}_PORT" cport="N${i}_CLUSTER_PORT" mport="N${i}_MONITOR_PORT"
    routes=
    for j in 1 2 3; do
      local rport="N${j}_CLUSTER_PORT"
      [ "$j" = "$i" ] || routes+="${routes:+,}nats://127.0.0.1:${!rport}"
    done
    # --addr also binds the monitoring port to loopback. setsid: the
    # cluster outlives this script and a Ctrl-C in its terminal.
    setsid "$nats_server" --jetstream --store_dir "$dir/nats/n$i" --server_name "n$i" \
      --addr 127.0.0.1 --port "${!port}" --http_port "${!mport}" \
      --cluster_name streamrec --cluster "nats://127.0.0.1:${!cport}" --routes "$routes" \
      </dev/null >"$dir/nats/n$i.log" 2>&1 &
    declare -g "N${i}_PID=$!"
    printf 'N%s_PID=%s\nN%s_PORT=%s\nN%s_CLUSTER_PORT=%s\nN%s_MONITOR_PORT=%s\n' \
      "$i" "$!" "$i" "${!port}" "$i" "${!cport}" "$i" "${!mport}" >>"$env_file"
    NATS_URLS+="${NATS_URLS:+,}nats://127.0.0.1:${!port}"
  done
  echo "NATS_URLS=$NATS_URLS" >>"$env_file"
  for i in 1 2 3; do
    local pid="N${i}_PID" mport="N${i}_MONITOR_PORT"
    wait_until "nats n$i" "${!pid}" "$dir/nats/n$i.log" "nats_healthy ${!mport}" || return 1
  done
  wait_until "the JetStream meta group" "$N1_PID" "$dir/nats/n1.log" meta_formed
}

# start_replica N [fresh]: starts replica N (fresh: from an empty data dir,
# else on what an earlier cluster in DIR left); records it in cluster.env;
# sets REPLICA_PID, and REPLICA_URL once it is healthy.
start_replica() {
  local i=$1 port
  local rdir="$dir/replica$i"
  pick_port port || return 1
  [ "${2:-}" != fresh ] || rm -rf "$rdir/data"
  mkdir -p "$rdir"
  # The shipped file with its [cluster] section's `nats =` filled in (the
  # section's other keys keep their defaults: stream streamrec, R3).
  sed "s|^nats =.*|nats = $NATS_URLS|" config/streamrec.conf >"$rdir/streamrec.conf"
  setsid "$bin" serve --config "$rdir/streamrec.conf" --data-dir "$rdir/data" --port "$port" \
    </dev/null >"$rdir/serve.log" 2>&1 &
  REPLICA_PID=$!
  printf 'REPLICA%s_PID=%s\nREPLICA%s_PORT=%s\nREPLICAS=%s\n' "$i" "$REPLICA_PID" "$i" "$port" \
    "$i" >>"$env_file"
  wait_until "replica$i" "$REPLICA_PID" "$rdir/serve.log" \
    "[ \"\$(http_status http://127.0.0.1:$port/healthz)\" = 200 ]"
  REPLICA_URL="http://127.0.0.1:$port"
}

need_tools() {
  nats_server=$(command -v nats-server || true)
  [ -n "$nats_server" ] || [ ! -x /usr/sbin/nats-server ] || nats_server=/usr/sbin/nats-server
  if [ -z "$nats_server" ] || ! command -v curl >/dev/null 2>&1; then
    source tools/lib/deps.sh
    # apt-get's output to stderr: stdout is for the lines `up` promises.
    streamrec_install_deps curl >&2
    nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
  fi
  if [ ! -x "$bin" ]; then
    say "no streamrec binary at $bin: build it (tools/test.sh) or set STREAMREC_BIN"
    exit 1
  fi
}

any_alive() {
  local kind name pid url
  while read -r kind name pid url; do ours "$pid" && return 0; done < <(processes)
  return 1
}

case "$cmd" in
  up)
    need_tools
    if any_alive; then
      say "a cluster still runs in $dir: tools/cluster.sh down $dir first"
      exit 1
    fi
    : >"$env_file"
    # Never leave half a cluster behind.
    trap 'rc=$?; [ "$rc" -eq 0 ] || stop_all; exit "$rc"' EXIT
    start_nats
    replica_urls=()
    for i in 1 2; do
      start_replica "$i"
      replica_urls+=("$REPLICA_URL")
    done
    trap - EXIT
    for i in 1 2 3; do
      port="N${i}_PORT"
      echo "nats: nats://127.0.0.1:${!port}"
    done
    for url in "${replica_urls[@]}"; do echo "replica: $url"; done
    ;;
  add-replica)
    need_tools
    if [ ! -f "$env_file" ]; then
      say "no cluster in $dir: tools/cluster.sh up $dir first"
      exit 1
    fi
    # shellcheck disable=SC1090
    source "$env_file"
    if ! ours "${N1_PID:-}" && ! ours "${N2_PID:-}" && ! ours "${N3_PID:-}"; then
      say "the NATS nodes of $dir are not running"
      exit 1
    fi
    REPLICA_PID=
    trap 'rc=$?; [ "$rc" -eq 0 ] || terminate "$REPLICA_PID:new replica"; exit "$rc"' EXIT
    start_replica $((${REPLICAS:-0} + 1)) fresh
    trap - EXIT
    echo "replica: $REPLICA_URL"
    ;;
  status)
    rc=0
    [ -f "$env_file" ] || { say "no cluster in $dir"; exit 1; }
    while read -r kind name pid url; do
      if ours "$pid"; then state=alive; else state=dead rc=1; fi
      echo "$kind $name pid ${pid:-?} $url $state"
    done < <(processes)
    exit "$rc"
    ;;
  down)
    stop_all
    ;;
esac
