# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# redis-server with the bundle's redis.conf in the redis host's namespace; Harbor nodes
# authenticate with harbor.yml's password, a client without it gets NOAUTH.

# redis_cli NS HOST PORT PASSWORD [ARGS...]: redis-cli from namespace NS (password via
# REDISCLI_AUTH, empty = none). Prints the output; redis-cli exits 0 even on NOAUTH.
redis_cli() {
  local ns=$1 host=$2 port=$3 pw=$4
  shift 4
  if [ -n "$pw" ]; then
    ip netns exec "$ns" env REDISCLI_AUTH="$pw" timeout 5 redis-cli --no-auth-warning -h "$host" -p "$port" "$@" 2>&1
  else
    ip netns exec "$ns" env -u REDISCLI_AUTH timeout 5 redis-cli -h "$host" -p "$port" "$@" 2>&1
  fi
}

test_redis() {
  local bundle=$1 work=$2 client_ns=$3 rd ns addr files conf yml port pw hostport out node pid idx
  local nodes=() key
  rd="$(hosts_with redis | head -n1)"
  [ -n "$rd" ] || { log "no redis host in this fixture"; return 0; }
  section "Redis on $rd (${ADDR[$rd]}) with the bundle's redis.conf"
  ns=$(ns_of "$rd") addr=${ADDR[$rd]} files="$bundle/hosts/$rd/files"
  conf="$files/etc/redis/redis.conf"
  [ -f "$conf" ] || conf="$files/etc/redis.conf"
  [ -f "$conf" ] || { setup_fail "no redis.conf in the bundle of $rd (etc/redis/redis.conf or etc/redis.conf)"; return 1; }
  log "config: ${conf#"$files"}"
  mapfile -t nodes < <(hosts_with harbor)
  yml="$(harbor_yml "$bundle" "${nodes[0]}")"
  pw="$(yml_value "$yml" password external_redis)"
  hostport="$(yml_value "$yml" host external_redis)"
  port="$(yml_value "$yml" port external_redis)"
  # Harbor 2.x writes host:port in one field; 1.x has a separate port.
  if [[ $hostport == *:* ]]; then port=${hostport##*:} hostport=${hostport%:*}; fi
  port=${port:-6379}
  [ "$hostport" = "$addr" ] && pass "harbor.yml points Harbor at the redis host ($addr:$port)" \
    || fail "harbor.yml's external_redis host $hostport is not the redis host $addr"

  local dir="$work/redis"
  mkdir -p "$dir/data"
  cp "$conf" "$dir/redis.conf"
  # Appended last, so they win: state, pid and log under the test's directory, foreground.
  cat >>"$dir/redis.conf" <<EOF
# --- harbor-ha e2e overrides (temp prefix) ---
dir $dir/data
daemonize no
supervised no
logfile $dir/redis.log
pidfile $dir/redis.pid
EOF
  log "overrides appended: dir, daemonize no, supervised no, logfile, pidfile (under $dir)"
  port_free "$ns" "$addr" "$port" || { setup_fail "port $addr:$port already in use in $ns"; return 1; }
  ip netns exec "$ns" redis-server "$dir/redis.conf" >"$dir/stdout.log" 2>&1 &
  pid=$!
  track "$pid"
  if ! wait_until 20 port_open "$ns" "$addr" "$port" || ! alive "$pid"; then
    fail "redis-server does not start with the bundle's redis.conf" "$(tail -n 8 "$dir/stdout.log" "$dir/redis.log" 2>/dev/null)"
    return 1
  fi
  pass "redis-server starts with the bundle's config (no directive rejected), listens on $addr:$port"

  for node in "${nodes[@]}"; do
    out="$(redis_cli "$(ns_of "$node")" "$addr" "$port" "$pw" PING)"
    if [ "$out" = PONG ]; then pass "$node (${ADDR[$node]}) authenticates with harbor.yml's password: PONG"
    else fail "$node cannot use Redis with the generated password" "$out"; fi
  done
  # Every database index Harbor is configured with must exist and accept writes.
  for key in registry_db_index jobservice_db_index chartmuseum_db_index clair_db_index trivy_db_index; do
    idx="$(yml_value "$yml" "$key" external_redis)"
    [ -n "$idx" ] || continue
    out="$(redis_cli "$(ns_of "${nodes[0]}")" "$addr" "$port" "$pw" -n "$idx" SET harbor-ha-e2e ok)"
    if [ "$out" = OK ]; then pass "$key $idx is a usable database"
    else fail "$key $idx is not usable" "$out"; fi
  done
  out="$(redis_cli "$client_ns" "$addr" "$port" "" PING)"
  if grep -q NOAUTH <<<"$out"; then pass "without the password: NOAUTH ($out)"
  else fail "Redis answers without the password" "$out"; fi
  out="$(redis_cli "$(ns_of "${nodes[0]}")" "$addr" "$port" "wrong-$pw" PING)"
  if grep -Eq 'WRONGPASS|invalid password|NOAUTH' <<<"$out"; then pass "a wrong password is refused"
  else fail "a wrong password is not refused" "$out"; fi
  alive "$pid" && pass "redis-server still running after the checks" || fail "redis-server died" "$(tail -n 5 "$dir/redis.log")"
}
