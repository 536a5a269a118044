# shellcheck shell=bash
# PostgreSQL 15 with the bundle's postgresql.harbor.conf, pg_hba.conf and harbor.sql, in the
# postgres host's namespace; Harbor nodes connect with harbor.yml's credentials, others are refused.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# pg_psql_super DIR PORT ARGS...: psql as the postgres superuser over the test's socket.
pg_psql_super() {
  local dir=$1 port=$2
  shift 2
  (cd / && runuser -u postgres -- "$PG_BIN/psql" -X -q -h "$dir/sock" -p "$port" -d postgres -v ON_ERROR_STOP=1 "$@")
}

# pg_as NS HOST PORT USER PASSWORD DB SQL: psql over TCP from namespace NS.
pg_as() {
  ip netns exec "$1" env PGPASSWORD="$5" PGCONNECT_TIMEOUT=5 \
    "$PG_BIN/psql" -X -w -h "$2" -p "$3" -U "$4" -d "$6" -tA -v ON_ERROR_STOP=1 -c "$7" 2>&1
}

test_postgres() {
  local bundle=$1 work=$2 pg host ns addr files conf hba sql port yml user pass dbs db out node
  local client_ns=$3 nodes=() n_err ver
  pg="$(hosts_with postgres | head -n1)"
  [ -n "$pg" ] || { log "no postgres host in this fixture"; return 0; }
  section "PostgreSQL 15 on $pg (${ADDR[$pg]}) with the bundle's settings, pg_hba.conf and SQL"
  host=$pg ns=$(ns_of "$pg") addr=${ADDR[$pg]} files="$bundle/hosts/$pg/files"
  conf="$files/etc/harbor-ha/postgres/postgresql.harbor.conf"
  sql="$files/etc/harbor-ha/postgres/harbor.sql"
  hba="$(find "$files" -name pg_hba.conf -type f | head -n1)"
  for f in "$conf" "$sql" "$hba"; do
    [ -f "$f" ] || { setup_fail "bundle file missing on $host: ${f#"$files"}"; return 1; }
  done
  log "pg_hba.conf: ${hba#"$files"}"
  mapfile -t nodes < <(hosts_with harbor)
  yml="$(harbor_yml "$bundle" "${nodes[0]}")"
  port="$(yml_value "$yml" port external_database)"
  user="$(yml_value "$yml" username external_database)"
  pass="$(yml_value "$yml" password external_database)"
  # Every database Harbor is told to use (harbor.yml) and every one the SQL creates.
  mapfile -t dbs < <({ grep -o 'db_name: *[^ ]*' "$yml" | sed 's/db_name: *//'
                      grep -o 'CREATE DATABASE "[^"]*"' "$sql" | sed 's/CREATE DATABASE "\(.*\)"/\1/'; } | tr -d "\"'" | sort -u)
  log "Harbor connects as $user to port $port, databases: ${dbs[*]}"

  local dir="$work/pg"
  mkdir -p "$dir/sock" && chown postgres:postgres "$dir" "$dir/sock"
  if ! out="$(cd / && runuser -u postgres -- "$PG_BIN/initdb" -A peer -U postgres -E UTF8 --locale=C.UTF-8 -D "$dir/data" 2>&1)"; then
    setup_fail "initdb (as postgres)" "$(tail -n 5 <<<"$out")"; return 1
  fi
  # The bundle's settings file is included at the end of postgresql.conf, as install.sh does;
  # the bundle's pg_hba.conf replaces the cluster's, byte for byte.
  local conf_used="$conf"
  ver="$(sed -n 's/.*PostgreSQL \([0-9.]*\)[.:].*/\1/p' "$sql" | head -n1)"
  if [[ $ver == 9.* || $ver == 1[0-3]* ]]; then
    # A configuration for an older server run on 15: the only spelling that changed is
    # password_encryption's boolean (on = md5 up to 13, removed in 14).
    conf_used="$dir/postgresql.harbor.conf"
    sed "s/^password_encryption = on$/password_encryption = 'md5'/" "$conf" >"$conf_used"
    sed "s/^SET password_encryption = on;$/SET password_encryption = 'md5';/" "$sql" >"$dir/harbor.sql"
    sql="$dir/harbor.sql"
    log "substitution: bundle for PostgreSQL $ver run on 15: password_encryption on -> 'md5' (same meaning; 14+ dropped 'on')"
    chmod 644 "$conf_used"
  fi
  printf "include '%s'\n" "$conf_used" >>"$dir/data/postgresql.conf"
  install -m 0640 -o postgres -g postgres "$hba" "$dir/data/pg_hba.conf"
  port_free "$ns" "$addr" "$port" || { setup_fail "port $addr:$port already in use in $ns"; return 1; }
  # Only the socket directory is set on the command line (a temp dir instead of /run/postgresql).
  if ! out="$(ip netns exec "$ns" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "-c unix_socket_directories=$dir/sock" -w -t 20 start 2>&1)"; then
    setup_fail "PostgreSQL does not start with the bundle's settings" "$out" "$(tail -n 5 "$dir/server.log" 2>/dev/null)"
    return 1
  fi
  STARTED_PGDATA+=("$dir/data")
  pass "PostgreSQL starts with postgresql.harbor.conf (listen_addresses, port $port, max_connections)"
  check "PostgreSQL listens on $addr:$port in $host's namespace" port_open "$ns" "$addr" "$port"

  n_err="$(pg_psql_super "$dir" "$port" -tA -c 'SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL' 2>&1)"
  if [ "$n_err" = 0 ]; then pass "pg_hba.conf: 0 lines with errors (pg_hba_file_rules)"
  else fail "pg_hba.conf has lines PostgreSQL rejects" "$n_err" \
    "$(pg_psql_super "$dir" "$port" -tA -c 'SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL' 2>&1)"; fi

  if out="$(pg_psql_super "$dir" "$port" -f - <"$sql" 2>&1)"; then pass "harbor.sql runs with psql -v ON_ERROR_STOP=1"
  else fail "harbor.sql fails" "$out"; fi
  if out="$(pg_psql_super "$dir" "$port" -f - <"$sql" 2>&1)"; then pass "harbor.sql runs a second time (idempotent)"
  else fail "harbor.sql fails on its second run" "$out"; fi

  for node in "${nodes[@]}"; do
    for db in "${dbs[@]}"; do
      out="$(pg_as "$(ns_of "$node")" "$addr" "$port" "$user" "$pass" "$db" \
        'CREATE TABLE harbor_ha_e2e_probe (id int); DROP TABLE harbor_ha_e2e_probe; SELECT current_user')"
      if [ "$(tail -n1 <<<"$out")" = "$user" ]; then pass "$node (${ADDR[$node]}) connects as $user to $db and can create tables"
      else fail "$node (${ADDR[$node]}) cannot use database $db as $user" "$out"; fi
    done
  done
  out="$(pg_as "$(ns_of "${nodes[0]}")" "$addr" "$port" "$user" "wrong-$pass" "${dbs[0]}" 'SELECT 1')"
  if grep -q 'password authentication failed' <<<"$out"; then pass "a wrong password is refused (password authentication failed)"
  else fail "a wrong password is not refused as expected" "$out"; fi
  out="$(pg_as "$client_ns" "$addr" "$port" "$user" "$pass" "${dbs[0]}" 'SELECT 1')"
  if grep -q "no pg_hba.conf entry for host \"$CLIENT_ADDR\"" <<<"$out"; then
    pass "the client ($CLIENT_ADDR, not a Harbor node) is refused: no pg_hba.conf entry"
  else fail "the client ($CLIENT_ADDR) is not refused by pg_hba.conf" "$out"; fi
  out="$(pg_as "$(ns_of "${nodes[0]}")" "$addr" "$port" "$user" "$pass" postgres 'SELECT 1')"
  if grep -q 'no pg_hba.conf entry' <<<"$out"; then pass "a Harbor node is refused for a database Harbor does not use (postgres)"
  else fail "a Harbor node reaches the postgres database" "$out"; fi
}
