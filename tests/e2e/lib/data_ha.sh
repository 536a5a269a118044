# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The data tier without a single point: the bundle's Patroni, etcd, HAProxy, Redis and Sentinel
# configurations run by the real Debian packages, each host in a namespace at the topology's
# address. PostgreSQL: the primary's postmaster is SIGKILLed and its link taken down while a
# Harbor node writes through the endpoint; writes must resume through the same endpoint and
# no acknowledged row may be missing; the old primary rejoins with the runbook's command.
# Redis: the master is SIGKILLed; a client configured as Harbor would be (Sentinel for 2.1+,
# the LB-side proxy for 1.10) must read and write again, with every key written before
# (acknowledged by a replica, WAIT 1) still there.

DATA_HA_FIXTURES=(fixtures/valid/ha-data-debian12.yaml fixtures/valid/ha-data-1.10-two-lbs.yaml)
# Bounds the suite holds the failovers to (s). PostgreSQL: Patroni's ttl (30 s) plus a loop.
PG_FAILOVER_BOUND=${PG_FAILOVER_BOUND:-60}
REDIS_FAILOVER_BOUND=${REDIS_FAILOVER_BOUND:-20}
declare -gA PATRONI_PID=() PG_DIR=()
DATA_HA_TIMES=()

# secs MS: milliseconds as seconds with one decimal.
secs() { awk -v d="$1" 'BEGIN { printf "%.1f s", d / 1000 }'; }

# dh_file BUNDLE HOST PATH: a file of the host's bundle, or fail.
dh_file() {
  local f="$1/hosts/$2/files$3"
  [ -f "$f" ] || { setup_fail "bundle file missing on $2: $3"; return 1; }
  printf '%s\n' "$f"
}

# --- etcd -----------------------------------------------------------------------------------
# etcd_start BUNDLE WORK HOST: etcd in the host's namespace from the bundle's environment
# file (only the data directory moved under the test's directory).
etcd_start() {
  local bundle=$1 work=$2 h=$3 env dir
  env="$(dh_file "$bundle" "$h" /etc/default/etcd)" || return 1
  dir="$work/etcd-$h"
  mkdir -p "$dir"
  # shellcheck disable=SC2016  # expanded by the inner bash
  ip netns exec "$(ns_of "$h")" env -i PATH="$PATH" bash -c 'set -a; . "$1"; ETCD_DATA_DIR=$2/data; exec etcd' \
    etcd "$env" "$dir" >"$dir/etcd.log" 2>&1 &
  track $!
}

etcd_healthy() {
  ip netns exec "$(ns_of "$1")" env ETCDCTL_API=3 etcdctl --endpoints="http://${ADDR[$1]}:2379" \
    --command-timeout=2s endpoint health
}

# --- Patroni --------------------------------------------------------------------------------
# patroni_prepare BUNDLE WORK HOST: the host's Patroni config under the test's directory:
# data, socket, pgpass and the post-bootstrap hook (with Harbor's SQL) moved there.
patroni_prepare() {
  local bundle=$1 work=$2 h=$3 conf hook sql dir
  conf="$(dh_file "$bundle" "$h" /etc/patroni/config.yml)" || return 1
  hook="$(dh_file "$bundle" "$h" /etc/harbor-ha/postgres/post-bootstrap.sh)" || return 1
  sql="$(dh_file "$bundle" "$h" /etc/harbor-ha/postgres/harbor.sql)" || return 1
  dir="$work/pg-$h"
  PG_DIR[$h]=$dir
  mkdir -p "$dir/sock"
  install -m 0600 "$sql" "$dir/harbor.sql"
  sed "s#/etc/harbor-ha/postgres/harbor.sql#$dir/harbor.sql#" "$hook" >"$dir/post-bootstrap.sh"
  chmod 0755 "$dir/post-bootstrap.sh"
  sed -e "s#^\(  data_dir: \).*#\1\"$dir/data\"#" \
      -e "s#^\(  pgpass: \).*#\1\"$dir/pgpass\"#" \
      -e "s#^\(    unix_socket_directories: \).*#\1\"$dir/sock\"#" \
      -e "s#^\(  post_bootstrap: \).*#\1\"$dir/post-bootstrap.sh\"#" "$conf" >"$dir/patroni.yml"
  chmod 0600 "$dir/patroni.yml"
  chown -R postgres:postgres "$dir"
}

patroni_start() {
  local h=$1
  ip netns exec "$(ns_of "$h")" setpriv --reuid postgres --regid postgres --init-groups \
    env HOME=/var/lib/postgresql patroni "${PG_DIR[$h]}/patroni.yml" >>"${PG_DIR[$h]}/patroni.log" 2>&1 &
  PATRONI_PID[$h]=$!
  track "${PATRONI_PID[$h]}"
}

# rest NS ADDR PATH: the HTTP status of Patroni's REST API.
rest() { ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$2:8008$3" 2>/dev/null; }

# pg_primary: the member whose REST API says it is the primary (from the client namespace).
pg_primary() {
  local h
  for h in "${PG_MEMBERS[@]}"; do
    [ "$(rest "$CLIENT_NS" "${ADDR[$h]}" /primary)" = 200 ] && { printf '%s\n' "$h"; return 0; }
  done
  return 1
}
pg_replicas_running() {
  local h n=0
  for h in "${PG_MEMBERS[@]}"; do [ "$(rest "$CLIENT_NS" "${ADDR[$h]}" /replica)" = 200 ] && n=$((n + 1)); done
  [ "$n" -ge "$1" ]
}

# ep_sql SQL: psql from the first Harbor node to the endpoint, with harbor.yml's settings.
ep_sql() {
  ip netns exec "$(ns_of "$HARBOR1")" env PGPASSWORD="$DB_PASS" PGCONNECT_TIMEOUT=2 \
    "$PG_BIN/psql" -X -w -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -tA -v ON_ERROR_STOP=1 -c "$1" 2>&1
}

# primary_sql SQL: psql as the superuser on the current primary's own socket (pg_stat_replication
# shows its details to a superuser only).
primary_sql() {
  local p
  p="$(pg_primary)" || return 1
  ip netns exec "$(ns_of "$p")" setpriv --reuid postgres --regid postgres --init-groups "$PG_BIN/psql" -X \
    -h "${PG_DIR[$p]}/sock" -p "$DB_PORT" -U postgres -d postgres -tA -c "$1" 2>&1
}
# pg_has_sync: the primary has a synchronous standby.
pg_has_sync() { [ -n "$(primary_sql "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")" ]; }

# write_loop FILE STOP: insert rows through the endpoint until STOP exists; one line per
# attempt: `id ms ok|fail`. Bounded: at most 20,000 attempts.
write_loop() {
  local out=$1 stop=$2 i=0
  while [ ! -e "$stop" ] && [ "$i" -lt 20000 ]; do
    i=$((i + 1))
    if ep_sql "INSERT INTO harbor_ha_probe (id) VALUES ($i)" >/dev/null; then
      printf '%s %s ok\n' "$i" "$(ms)"
    else
      printf '%s %s fail\n' "$i" "$(ms)"
      sleep 0.1
    fi
  done >"$out"
}

test_pg_cluster() {
  local bundle=$1 work=$2 h lb cfg out t0 t1 dead loop_pid acked missing n old pid
  mapfile -t PG_MEMBERS < <(hosts_with postgres)
  mapfile -t DCS < <({ hosts_with postgres; hosts_with etcd; } | awk '!seen[$0]++')
  section "PostgreSQL cluster: Patroni on ${PG_MEMBERS[*]}, etcd on ${DCS[*]}, HAProxy on $(hosts_with lb | paste -sd' ')"
  for h in "${DCS[@]}"; do etcd_start "$bundle" "$work" "$h" || return 1; done
  if wait_until 30 etcd_healthy "${DCS[0]}"; then pass "etcd: ${#DCS[@]} members from the bundle's /etc/default/etcd form a healthy cluster"
  else setup_fail "etcd does not become healthy" "$(tail -n 5 "$work/etcd-${DCS[0]}/etcd.log")"; return 1; fi
  for h in "${PG_MEMBERS[@]}"; do
    patroni_prepare "$bundle" "$work" "$h" || return 1
    if out="$(ip netns exec "$(ns_of "$h")" setpriv --reuid postgres --regid postgres --init-groups \
          env HOME=/var/lib/postgresql patroni --validate-config "${PG_DIR[$h]}/patroni.yml" 2>&1)"; then
      pass "patroni --validate-config accepts $h's config.yml (in its namespace, etcd up)"
    else fail "patroni --validate-config rejects $h's config.yml" "$out"; fi
  done
  log "substitutions: data_dir, pgpass, unix_socket_directories and post_bootstrap under $work (paths only)"
  for h in "${PG_MEMBERS[@]}"; do patroni_start "$h"; done
  if wait_until 60 pg_primary && wait_until 60 pg_replicas_running $(( ${#PG_MEMBERS[@]} - 1 )); then
    pass "Patroni bootstraps the cluster: primary $(pg_primary), $(( ${#PG_MEMBERS[@]} - 1 )) replica(s) running"
  else setup_fail "the Patroni cluster does not come up" "$(tail -n 8 "${PG_DIR[${PG_MEMBERS[0]}]}/patroni.log")"; return 1; fi

  for lb in $(hosts_with lb); do
    cfg="$(dh_file "$bundle" "$lb" /etc/haproxy/haproxy.cfg)" || return 1
    check "haproxy -c accepts $lb's haproxy.cfg" haproxy -c -q -f "$cfg"
  done
  lb="$(hosts_with lb | head -n1)"
  haproxy_start "$bundle" "$work" "$lb" || return 1
  yml="$(harbor_yml "$bundle" "$HARBOR1")"
  DB_HOST="$(yml_value "$yml" host external_database)" DB_PORT="$(yml_value "$yml" port external_database)"
  DB_USER="$(yml_value "$yml" username external_database)" DB_PASS="$(yml_value "$yml" password external_database)"
  DB_NAME="$(yml_value "$yml" db_name external_database)"
  if wait_until 20 ep_sql 'SELECT 1'; then pass "$HARBOR1 reaches the primary through the endpoint $DB_HOST:$DB_PORT as $DB_USER (harbor.yml; role and database made by post_bootstrap)"
  else setup_fail "no connection through the endpoint $DB_HOST:$DB_PORT" "$(ep_sql 'SELECT 1')"; return 1; fi
  if grep -q '^    synchronous_mode: true' "${PG_DIR[${PG_MEMBERS[0]}]}/patroni.yml"; then
    if wait_until 30 pg_has_sync; then pass "synchronous replication (pg_stat_replication on the primary): $(primary_sql "SELECT string_agg(application_name || '=' || sync_state, ', ' ORDER BY application_name) FROM pg_stat_replication")"
    else fail "synchronous_mode is on but no standby is synchronous" "$(primary_sql 'SELECT application_name, sync_state FROM pg_stat_replication')"; fi
  fi
  ep_sql 'CREATE TABLE harbor_ha_probe (id int PRIMARY KEY, at timestamptz DEFAULT now())' >/dev/null

  old="$(pg_primary)"
  write_loop "$work/writes.log" "$work/writes.stop" &
  loop_pid=$!
  track "$loop_pid"
  sleep 3
  pid="$(head -n1 "${PG_DIR[$old]}/data/postmaster.pid")"
  t0=$(ms)
  kill -KILL "$pid"
  ip -n "$(ns_of "$old")" link set "${IFACE[$old]}" down
  kill -KILL "${PATRONI_PID[$old]}"
  log "t=0: SIGKILL to $old's postmaster ($pid) and Patroni, link ${IFACE[$old]} down: the machine is lost"
  dead=1
  for _ in $(seq 1 $((PG_FAILOVER_BOUND * 10 + 100))); do
    t1="$(awk -v t0="$t0" '$2 > t0 && $3 == "ok" { print $2; exit }' "$work/writes.log")"
    [ -n "$t1" ] && { dead=0; break; }
    sleep 0.1
  done
  sleep 2
  touch "$work/writes.stop"
  wait "$loop_pid" 2>/dev/null
  if [ "$dead" -eq 0 ]; then
    DATA_HA_TIMES+=("PostgreSQL failover (writes through $DB_HOST:$DB_PORT resumed): $(secs $((t1 - t0)))")
    [ $(( (t1 - t0) / 1000 )) -le "$PG_FAILOVER_BOUND" ] && pass "writes resume through the same endpoint after $(( t1 - t0 )) ms (new primary $(pg_primary); bound ${PG_FAILOVER_BOUND} s)" ||
      fail "writes resumed only after $(( t1 - t0 )) ms (bound ${PG_FAILOVER_BOUND} s)"
  else fail "writes do not resume through the endpoint within ${PG_FAILOVER_BOUND} s" "$(tail -n 3 "$work/writes.log")"; fi
  acked="$(awk '$3 == "ok" { print $1 }' "$work/writes.log" | sort -n)"
  n="$(wc -l <<<"$acked")"
  ep_sql 'SELECT id FROM harbor_ha_probe ORDER BY id' | sort -n >"$work/rows.txt"
  missing="$(comm -23 <(sort <<<"$acked") <(sort "$work/rows.txt") | wc -l)"
  log "rows acknowledged: $n (before the kill: $(awk -v t0="$t0" '$3 == "ok" && $2 < t0' "$work/writes.log" | wc -l)); rows on the new primary: $(wc -l <"$work/rows.txt")"
  [ "$missing" -eq 0 ] && [ "$n" -gt 10 ] && pass "no acknowledged row lost: all $n acknowledged rows are on the new primary" ||
    fail "$missing of $n acknowledged rows are missing after the failover"

  # Rejoin: the runbook's command on the returning machine (systemctl start patroni).
  ip -n "$(ns_of "$old")" link set "${IFACE[$old]}" up
  patroni_start "$old"
  if wait_until 90 bash -c '[ "$(ip netns exec "$1" curl -s -o /dev/null -w "%{http_code}" --max-time 2 "http://$2:8008/replica")" = 200 ]' _ "$CLIENT_NS" "${ADDR[$old]}"; then
    n="$(ip netns exec "$(ns_of "$old")" setpriv --reuid postgres --regid postgres --init-groups "$PG_BIN/psql" -X -h "${PG_DIR[$old]}/sock" \
      -p "$DB_PORT" -U postgres -d "$DB_NAME" -tA -c 'SELECT count(*) FROM harbor_ha_probe' 2>&1)"
    [ "$n" = "$(wc -l <"$work/rows.txt")" ] && pass "the old primary $old rejoins as a replica (systemctl start patroni: pg_rewind, then streaming) with all $n rows" ||
      fail "the old primary $old rejoined but has '$n' rows, the primary $(wc -l <"$work/rows.txt")"
  else fail "the old primary $old does not rejoin as a replica" "$(tail -n 8 "${PG_DIR[$old]}/patroni.log")"; fi
}

# --- HAProxy --------------------------------------------------------------------------------
haproxy_start() {
  local bundle=$1 work=$2 lb=$3 cfg
  cfg="$(dh_file "$bundle" "$lb" /etc/haproxy/haproxy.cfg)" || return 1
  if [ -n "$VIP" ] && ! ip -n "$(ns_of "$lb")" -o addr show | grep -q " $VIP/"; then
    # keepalived's part (tested with nginx elsewhere): the VIP on the first LB.
    ip -n "$(ns_of "$lb")" addr add "$VIP/$PREFIX_LEN" dev "${IFACE[$lb]}"
    log "VIP $VIP added on $lb (keepalived's job; its failover is tested in the LB part)"
  fi
  ip netns exec "$(ns_of "$lb")" haproxy -db -f "$cfg" >"$work/haproxy-$lb.log" 2>&1 &
  track $!
  wait_until 5 port_open "$(ns_of "$lb")" "${VIP:-${ADDR[$lb]}}" "${4:-5432}" ||
    { setup_fail "HAProxy does not listen on $lb" "$(tail -n 5 "$work/haproxy-$lb.log")"; return 1; }
  pass "HAProxy runs with $lb's haproxy.cfg"
}

# --- Redis ----------------------------------------------------------------------------------
# redis_node_start BUNDLE WORK HOST MASTER: a data node from the managed redis.conf, as
# install.sh writes it (plus `replicaof MASTER` on a replica), state under the test's dir.
redis_node_start() {
  local bundle=$1 work=$2 h=$3 master=$4 conf dir port
  conf="$(dh_file "$bundle" "$h" /etc/harbor-ha/redis/redis.conf)" || return 1
  dir="$work/redis-$h"
  mkdir -p "$dir"
  port="$(awk '$1 == "port" { print $2 }' "$conf")"
  { cat "$conf"
    [ "$master" != "${ADDR[$h]}" ] && printf 'replicaof %s %s\n' "$master" "$port"
    printf 'dir %s\ndaemonize no\nsupervised no\npidfile %s/redis.pid\nlogfile %s/redis.log\n' "$dir" "$dir" "$dir"
  } >"$dir/redis.conf"
  ip netns exec "$(ns_of "$h")" redis-server "$dir/redis.conf" >"$dir/stdout.log" 2>&1 &
  REDIS_PID[$h]=$!
  track "${REDIS_PID[$h]}"
  wait_until 10 port_open "$(ns_of "$h")" "${ADDR[$h]}" "$port" && alive "${REDIS_PID[$h]}"
}

sentinel_start() {
  local bundle=$1 work=$2 h=$3 conf dir
  conf="$(dh_file "$bundle" "$h" /etc/harbor-ha/redis/sentinel.conf)" || return 1
  dir="$work/sentinel-$h"
  mkdir -p "$dir"
  { cat "$conf"; printf 'dir %s\nlogfile %s/sentinel.log\n' "$dir" "$dir"; } >"$dir/sentinel.conf"
  ip netns exec "$(ns_of "$h")" redis-sentinel "$dir/sentinel.conf" >"$dir/stdout.log" 2>&1 &
  track $!
  wait_until 10 port_open "$(ns_of "$h")" "${ADDR[$h]}" 26379
}

# sentinel_client NS SENTINELS SET PW CMD...: a client as Harbor 2.1+ is configured (the
# Sentinel list and master set of harbor.yml): ask the Sentinels for the master, check its
# ROLE is master (as go-redis does), then run CMD there.
sentinel_client() {
  local ns=$1 list=$2 set=$3 pw=$4 s m
  shift 4
  for s in ${list//,/ }; do
    m="$(ip netns exec "$ns" timeout 2 redis-cli -h "${s%:*}" -p "${s##*:}" --raw SENTINEL get-master-addr-by-name "$set" 2>/dev/null | head -n1)"
    [ -n "$m" ] || continue
    [ "$(redis_cli "$ns" "$m" "$REDIS_PORT" "$pw" --raw ROLE | head -n1)" = master ] || return 1
    redis_cli "$ns" "$m" "$REDIS_PORT" "$pw" "$@"
    return
  done
  return 1
}

# redis_synced HOST PW N: the master on HOST has N replicas online.
redis_synced() {
  [ "$(redis_cli "$(ns_of "$1")" "${ADDR[$1]}" "$REDIS_PORT" "$2" INFO replication | grep -c 'state=online')" -ge "$3" ]
}

# rw_ok: the Harbor-configured client sets and reads back a key.
rw_ok() {
  local v="v$RANDOM" out
  out="$(redis_client SET harbor-ha-rw "$v" 2>&1)" && [ "$out" = OK ] &&
    [ "$(redis_client GET harbor-ha-rw 2>&1)" = "$v" ]
}

declare -gA REDIS_PID=()
test_redis_cluster() {
  local bundle=$1 work=$2 h yml list set pw master t0 t1 i out n client
  mapfile -t RD_DATA < <(hosts_with redis)
  mapfile -t RD_SENT < <({ hosts_with redis; hosts_with sentinel; } | awk '!seen[$0]++')
  section "Redis cluster: data on ${RD_DATA[*]}, Sentinels on ${RD_SENT[*]}"
  yml="$(harbor_yml "$bundle" "$HARBOR1")"
  pw="$(yml_value "$yml" password external_redis)"
  master="${ADDR[${RD_DATA[0]}]}"
  REDIS_PORT=6379
  for h in "${RD_DATA[@]}"; do
    if redis_node_start "$bundle" "$work" "$h" "$master"; then pass "redis-server starts with $h's redis.conf$([ "${ADDR[$h]}" != "$master" ] && echo " as a replica of $master")"
    else setup_fail "redis-server does not start on $h" "$(tail -n 5 "$work/redis-$h/redis.log" "$work/redis-$h/stdout.log" 2>/dev/null)"; return 1; fi
  done
  for h in "${RD_SENT[@]}"; do
    if sentinel_start "$bundle" "$work" "$h"; then pass "redis-sentinel starts with $h's sentinel.conf"
    else setup_fail "redis-sentinel does not start on $h" "$(tail -n 5 "$work/sentinel-$h/sentinel.log" "$work/sentinel-$h/stdout.log" 2>/dev/null)"; return 1; fi
  done
  if wait_until 30 redis_synced "${RD_DATA[0]}" "$pw" $(( ${#RD_DATA[@]} - 1 )); then
    pass "the $(( ${#RD_DATA[@]} - 1 )) replica(s) are in sync with the master (INFO replication: state=online)"
  else fail "the replicas do not sync" "$(redis_cli "$(ns_of "${RD_DATA[0]}")" "$master" "$REDIS_PORT" "$pw" INFO replication)"; fi
  list="$(yml_value "$yml" host external_redis)"
  set="$(yml_value "$yml" sentinel_master_set external_redis)"
  client="$(ns_of "$HARBOR1")"
  if [ -n "$set" ]; then
    redis_client() { sentinel_client "$client" "$list" "$set" "$pw" "$@"; }
    log "client as Harbor $(yml_value "$yml" _version) is configured: Sentinels $list, master set $set"
  else
    haproxy_start "$bundle" "$work" "$(hosts_with lb | head -n1)" 6379 || return 1
    REDIS_EP="$list"
    redis_client() { redis_cli "$client" "$REDIS_EP" "$REDIS_PORT" "$pw" "$@"; }
    log "client as Harbor 1.10 is configured (no Sentinel client): the LB-side proxy $list:$REDIS_PORT"
  fi
  if wait_until 20 rw_ok; then pass "the Harbor-configured client writes and reads through $([ -n "$set" ] && echo Sentinel || echo the proxy)"
  else setup_fail "the client cannot use Redis" "$(redis_client PING)"; return 1; fi
  # Keys acknowledged by a replica (WAIT 1) before the master is lost.
  out="$(for i in $(seq 1 200); do printf 'SET harbor-ha-k%s %s\n' "$i" "$i"; done; printf 'WAIT 1 2000\n')"
  n="$(redis_client <<<"$out" | tail -n1)"
  [ "${n:-0}" -ge 1 ] 2>/dev/null && pass "200 keys written, WAIT 1 says $n replica(s) have them" || fail "WAIT 1 did not confirm a replica" "$n"
  t0=$(ms)
  kill -KILL "${REDIS_PID[${RD_DATA[0]}]}"
  log "t=0: SIGKILL to the master redis-server on ${RD_DATA[0]}"
  if wait_until "$REDIS_FAILOVER_BOUND" rw_ok; then
    t1=$(ms)
    DATA_HA_TIMES+=("Redis failover ($([ -n "$set" ] && echo "Sentinel client, Harbor 2.11" || echo "proxy client, Harbor 1.10")): $(secs $((t1 - t0)))")
    pass "the client reads and writes again after $(( t1 - t0 )) ms (bound ${REDIS_FAILOVER_BOUND} s)"
  else fail "the client cannot write within ${REDIS_FAILOVER_BOUND} s of the master's loss" "$(redis_client SET x y)"; fi
  n=0
  for i in $(seq 1 200); do [ "$(redis_client GET "harbor-ha-k$i")" = "$i" ] && n=$((n + 1)); done
  [ "$n" -eq 200 ] && pass "all 200 keys written before the kill with WAIT 1 are on the new master" ||
    fail "only $n of 200 keys acknowledged with WAIT 1 survived the failover"
}

test_data_ha_fixture() {
  local fixture=$1 fi=$2 work bundle out
  CURRENT_FIXTURE="data-ha:$(basename "$fixture" .yaml)"
  section "Data tier without a single point: $fixture"
  work="$WORK/data-ha-$(basename "$fixture" .yaml)"
  bundle="$work/bundle"
  mkdir -p "$work"
  chmod 755 "$work"
  if ! out="$(render "$ROOT/$fixture" "$bundle")"; then setup_fail "harbor-ha render $fixture" "$out"; return 1; fi
  pass "rendered $fixture"
  if ! quiet topo_load "$bundle" "$ROOT/$fixture"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  if ! quiet net_setup "$fi"; then setup_fail "network namespaces" "$LAST_OUT"; cleanup; return 1; fi
  pass "network namespaces: ${#HOSTS[@]} hosts and the client"
  HARBOR1="$(hosts_with harbor | head -n1)"
  if [ "$(hosts_with postgres | wc -l)" -ge 2 ] && [ "${DATA_HA_PG:-1}" = 1 ]; then test_pg_cluster "$bundle" "$work"; fi
  if [ "$(hosts_with redis | wc -l)" -ge 2 ]; then test_redis_cluster "$bundle" "$work"; fi
  cleanup
}

test_data_ha() {
  local t_start i=0 f
  t_start=$(ms)
  for t in patroni etcd etcdctl haproxy redis-sentinel setpriv; do
    command -v "$t" >/dev/null 2>&1 || { setup_fail "data-ha: missing $t (scripts/install-test-deps.sh)"; return 1; }
  done
  for f in "${DATA_HA_FIXTURES[@]}"; do
    i=$((i + 1))
    # The 1.10 fixture: its Redis through the proxy (the PostgreSQL failover ran on the first).
    DATA_HA_PG=$([ "$i" -eq 1 ] && echo 1 || echo 0) test_data_ha_fixture "$f" "$((i + 20))"
  done
  section "Data tier: failover times"
  for t in "${DATA_HA_TIMES[@]}"; do printf '       %s\n' "$t"; done
  log "data-ha part: $(( ($(ms) - t_start) / 1000 )) s"
}
