# shellcheck shell=bash
# Shared helpers of the e2e suite: results, process tracking, network namespaces, teardown.
# Sourced by tests/e2e/run.sh; everything here runs as root.

PASSED=0
FAILED=0
FAILURES=()
# PIDs of the long-running processes this run started (killed by id on exit).
STARTED_PIDS=()
# Network namespaces and links this run created (deleted on exit).
CREATED_NETNS=()
CREATED_LINKS=()
# PostgreSQL data directories this run started (stopped on exit).
STARTED_PGDATA=()
# Mounts this run made (unmounted on exit, last first).
CREATED_MOUNTS=()

log() { printf '       %s\n' "$*"; }
section() { printf '\n=== %s   [%s s]\n' "$*" "$(( ($(ms) - T_START) / 1000 ))"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS   %s\n' "$*"; }
fail() {
  FAILED=$((FAILED + 1))
  FAILURES+=("$CURRENT_FIXTURE: $1")
  printf 'FAIL   %s\n' "$1"
  shift
  local line
  for line in "$@"; do printf '       | %s\n' "$line"; done
}
# check NAME CMD...: PASS when CMD succeeds; FAIL with its output otherwise.
check() {
  local name=$1 out
  shift
  if out="$("$@" 2>&1)"; then pass "$name"; return 0; fi
  fail "$name" "$(printf '%s\n' "$out" | tail -n 15)"
  return 1
}
# setup_fail MSG: a failed setup counts as a failure (never a skip), and the caller stops.
setup_fail() { fail "setup: $1" "${@:2}"; }

# quiet CMD...: run CMD in this shell (so the processes and namespaces it records stay
# recorded), its output kept in $LAST_OUT instead of printed.
LAST_OUT=""
quiet() {
  local rc f="$WORK/.last.out.$BASHPID"
  "$@" >"$f" 2>&1
  rc=$?
  LAST_OUT="$(cat "$f")"
  return "$rc"
}

# overlay_root T ROOT: a disposable root at ROOT, an overlay whose lower layer is this
# machine's own / and whose upper layer lives on a tmpfs mounted at T. Both mounts are
# recorded for cleanup; nothing written under ROOT reaches this machine.
overlay_root() {
  local t=$1 r=$2
  mkdir -p "$t" "$r"
  mount -t tmpfs -o mode=755 tmpfs "$t" || return 1
  CREATED_MOUNTS+=("$t")
  mkdir -p "$t/upper" "$t/work"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$r" || return 1
  CREATED_MOUNTS+=("$r")
}

# ms: milliseconds since the epoch.
ms() { date +%s%3N; }

# track PID: remember a process this run started (and drop it from the job table, so that
# bash does not print "Killed" when a test kills it on purpose).
track() { STARTED_PIDS+=("$1"); disown "$1" 2>/dev/null || true; }

# alive PID: the process exists and is not a zombie.
alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [ -n "$st" ] && [[ $st != Z* ]]
}

# stop_pid PID [SIGNAL]: kill one of our processes by id and reap it.
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.05
    [ "$i" -eq 40 ] && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

# wait_until TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds.
wait_until() {
  local deadline=$(( $(ms) + $1 * 1000 ))
  shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(ms)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# port_free NS ADDR PORT: nothing listens on ADDR:PORT in namespace NS.
port_free() {
  ! ip netns exec "$1" ss -Htln "src $2:$3" 2>/dev/null | grep -q .
}
# port_open NS ADDR PORT: something listens on ADDR:PORT in namespace NS.
port_open() {
  ip netns exec "$1" ss -Htln "src $2:$3" 2>/dev/null | grep -q .
}

# tcp_open NS ADDR PORT: a TCP connection from namespace NS to ADDR:PORT succeeds within 2 s.
tcp_open() {
  ip netns exec "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
}

# --- network namespaces -------------------------------------------------------------------
# One bridge per fixture; one namespace per host, its veth named as the host's interface.

# net_bridge NAME: create a bridge without any address (the host keeps none in the subnet).
net_bridge() {
  ip link add "$1" type bridge || return 1
  CREATED_LINKS+=("$1")
  ip link set "$1" up
}

# net_host NS BRIDGE HOST_VETH IFNAME ADDR/PREFIX: a namespace with ADDR on IFNAME, lo up.
net_host() {
  local ns=$1 br=$2 hv=$3 ifname=$4 cidr=$5
  ip netns add "$ns" || return 1
  CREATED_NETNS+=("$ns")
  ip link add "$hv" type veth peer name "$ifname" netns "$ns" || return 1
  CREATED_LINKS+=("$hv")
  ip link set "$hv" master "$br" up &&
  ip -n "$ns" link set lo up &&
  ip -n "$ns" addr add "$cidr" dev "$ifname" &&
  ip -n "$ns" link set "$ifname" up
}

# --- teardown -----------------------------------------------------------------------------
cleanup() {
  local pid ns i
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in "${!STARTED_PGDATA[@]}"; do
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "${STARTED_PGDATA[$i]}" -m immediate -w stop >/dev/null 2>&1 || true
  done
  sleep 0.2
  for pid in "${STARTED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Anything still running inside our namespaces was started by this run (e.g. a daemon
  # that forked): kill it by id before the namespace goes.
  for ns in "${CREATED_NETNS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ((i = ${#CREATED_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -l "${CREATED_MOUNTS[$i]}" 2>/dev/null || true
  done
  for ns in "${CREATED_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for i in "${CREATED_LINKS[@]}"; do ip link del "$i" 2>/dev/null || true; done
  STARTED_PIDS=() CREATED_NETNS=() CREATED_LINKS=() STARTED_PGDATA=() CREATED_MOUNTS=()
}
