# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The upgrade scripts of `render --from` run for real (--only upgrade): fixtures/change/
# upgrade-e2e (two Harbor nodes, 1.10.2 -> 2.4.3 -> 2.6.4) against a real PostgreSQL 15 in
# the store's namespace, with Harbor stand-ins (tests/e2e/upgrade/) on the nodes. The scripts
# reach the hosts through ssh/scp stand-ins that enter the host's namespace; the nodes'
# "docker" starts and stops the stand-in, whose core migrates a schema_migrations table.

UP_DIR="$ROOT/tests/e2e/upgrade"

# up_ssh HOST CMD: run CMD on a host through the ssh stand-in.
up_ssh() { "$UP_DIR/admin/ssh" "root@${ADDR[$1]}" "$2"; }

# up_sql SQL: one value from the registry database, as Harbor's user from the first node.
up_sql() { pg_as "$(ns_of "${UP_NODES[0]}")" "${ADDR[$UP_DB]}" 5432 harbor "$UP_DB_PASSWORD" registry "$1"; }

# up_version NODE: the release the node's API reports.
up_version() {
  local api=/api/v2.0
  [ "${1#*:}" = v1 ] && api=/api
  up_ssh "${1%%:*}" "curl -fsS -u admin:$UP_ADMIN_PASSWORD http://127.0.0.1$api/systeminfo" 2>/dev/null |
    sed -n 's/.*"harbor_version":"v\([0-9.]*\)-standin".*/\1/p'
}

# up_installer VERSION: a stand-in offline installer harbor-offline-installer-vVERSION.tgz.
up_installer() {
  local v=$1 d="$UP_W/installers/$1"
  mkdir -p "$d/harbor"
  sed "s/@@VERSION@@/$v/g" "$UP_DIR/prepare" >"$d/harbor/prepare"
  chmod 755 "$d/harbor/prepare"
  printf '#!/bin/sh\necho "the upgrade scripts do not run the installer'\''s install.sh"\n' >"$d/harbor/install.sh"
  chmod 755 "$d/harbor/install.sh"
  head -c 65536 /dev/urandom | gzip -1 >"$d/harbor/harbor.v$v.tar.gz"
  tar czf "$UP_W/installers/harbor-offline-installer-v$v.tgz" -C "$d" harbor
}

# up_run NAME SCRIPT ARGS...: run an upgrade script from the bundle as an admin host would
# (the ssh/scp stand-ins first in PATH); its output in $UP_W/NAME.out, its exit code returned.
up_run() {
  local name=$1 script=$2
  shift 2
  (cd "$UP_BUNDLE" && PATH="$UP_DIR/admin:$PATH" bash "$script" --state-dir "$UP_W/state" \
     --remote-dir "$UP_W/remote" --min-free-gb 1 "$@") >"$UP_W/$name.out" 2>&1
}

# up_events_since N: the events after line N (timestamp stripped).
up_events_since() { tail -n +"$(($1 + 1))" "$E2E_UP_EVENTS" | cut -d' ' -f2-; }

# up_window_checks NAME FROM_LINE MIGRATOR: the hop's events show read-only on first and off
# last, every node stopped before the one migration, on the first node, while read-only.
up_window_checks() {
  local name=$1 from=$2 how=$3 ev n1=${UP_NODES[0]} n2=${UP_NODES[1]} out
  # The stage step loads the new images while the site still serves (before the window).
  ev="$(up_events_since "$from" | grep -v '^load ')"
  [ "$(head -n1 <<<"$ev")" = "read_only true via $n1" ] && [ "$(tail -n1 <<<"$ev")" = "read_only false via $n1" ] &&
    [ "$(grep -c '^read_only' <<<"$ev")" -eq 2 ] &&
    pass "$name: read-only on before any stop or migration and off after the last start, and only then (image loads of the stage step aside)" ||
    fail "$name: read-only does not frame the window" "$ev"
  [ "$(grep -c '^migrate-begin' <<<"$ev")" -eq 1 ] && grep -q "^migrate-begin $n1 $how .* read_only=true$" <<<"$ev" &&
    pass "$name: the migration ran exactly once, on $n1 ($how), with read-only on" ||
    fail "$name: not exactly one migration on $n1 ($how) while read-only" "$(grep '^migrate' <<<"$ev")"
  # Before the migration: each node's last event is its stop.
  out="$(awk -v n1="$n1" -v n2="$n2" '
    /^migrate-begin/ { print "n1=" last[n1] " n2=" last[n2]; exit }
    $1 == "stop" || $1 == "start" || $1 == "serving" { last[$2] = $1 }' <<<"$ev")"
  [ "$out" = "n1=stop n2=stop" ] && pass "$name: every Harbor node was stopped before the migration began" ||
    fail "$name: a node ran when the migration began ($out)" "$ev"
  out="$(awk '/^migrate-end/ { e = 1 } e && /^start / { print $2 }' <<<"$ev" | uniq | paste -sd' ')"
  [ "$out" = "$n1 $n2" ] && pass "$name: after the migration the nodes started one by one ($out)" ||
    fail "$name: start order after the migration: $out" "$ev"
}

test_upgrade() {
  local t0 fixture="$ROOT/fixtures/change/upgrade-e2e" out h v
  t0=$(ms)
  CURRENT_FIXTURE=upgrade
  section "Upgrade scripts (--only upgrade): fixtures/change/upgrade-e2e, Harbor 1.10.2 -> 2.4.3 -> 2.6.4 on PostgreSQL 15 with Harbor stand-ins"
  UP_W="$WORK/upgrade"
  UP_BUNDLE="$UP_W/bundle"
  mkdir -p "$UP_W/installers" "$UP_W/state" "$UP_W/remote"
  export UP_ADMIN_PASSWORD=Up-Admin-Pw1 UP_DB_PASSWORD=up-db-pw UP_REDIS_PASSWORD=up-redis-pw
  if ! out="$("$HARBOR_HA" render "$fixture/from.yaml" --out "$UP_BUNDLE" 2>&1)"; then setup_fail "render from.yaml" "$out"; return 1; fi
  cp -a "$UP_BUNDLE" "$UP_W/running"
  if out="$("$HARBOR_HA" render "$fixture/to.yaml" --from "$fixture/from.yaml" --out "$UP_BUNDLE" 2>&1)"; then
    pass "render to.yaml --from from.yaml: the new bundle with CHANGE.md and upgrade/"
  else setup_fail "render --from" "$out"; return 1; fi
  "$HARBOR_HA" plan --from "$fixture/from.yaml" "$fixture/to.yaml" --format json >"$UP_W/plan.json"
  mapfile -t UP_HOPS < <(jq -r '.hops[] | "\(.from) \(.to) \(.schema_from) \(.schema_to) \(.migrate) \(.script)"' "$UP_W/plan.json")
  [ "${#UP_HOPS[@]}" -eq 2 ] && [[ ${UP_HOPS[0]} == "1.10.2 2.4.3 15 71 start-alone "* ]] && [[ ${UP_HOPS[1]} == "2.4.3 2.6.4 71 91 migrate-mode "* ]] &&
    pass "the plan has two hops: 1.10.2 -> 2.4.3 (start alone), 2.4.3 -> 2.6.4 (-mode=migrate)" ||
    { fail "unexpected hops" "${UP_HOPS[@]}"; return 1; }
  E2E_UP_SCHEMAS="$UP_W/schemas"
  jq -r '.hops[] | "\(.from) \(.schema_from)\n\(.to) \(.schema_to)"' "$UP_W/plan.json" | sort -u >"$E2E_UP_SCHEMAS"

  if ! quiet topo_load "$UP_BUNDLE" "$fixture/from.yaml"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  if ! quiet net_setup u; then setup_fail "network namespaces" "$LAST_OUT"; return 1; fi
  mapfile -t UP_NODES < <(hosts_with harbor)
  UP_DB=$(hosts_with postgres | head -n1)
  up_postgres || return 1
  for v in 1.10.2 2.4.3 2.6.4; do up_installer "$v"; done

  export E2E_UP_MAP="$UP_W/hosts.map" E2E_UP_EVENTS="$UP_W/events.log" E2E_UP_SCHEMAS E2E_UP_FAIL="$UP_W/fail-migrate"
  export E2E_UP_INSTALL_DIR=/opt E2E_UP_PGHOST="$UP_W/pg/sock" PG_BIN
  : >"$E2E_UP_EVENTS"
  : >"$E2E_UP_MAP"
  for h in "${UP_NODES[@]}"; do
    mkdir -p "$UP_W/nodes/$h"
    printf '%s %s node %s %s\n' "${ADDR[$h]}" "$(ns_of "$h")" "$UP_W/nodes/$h" "$h" >>"$E2E_UP_MAP"
  done
  mkdir -p "$UP_W/dbhost-backups"
  printf '%s %s db %s %s\n' "${ADDR[$UP_DB]}" "$(ns_of "$UP_DB")" "$UP_W/dbhost-backups" "$UP_DB" >>"$E2E_UP_MAP"
  log "substitution: each node's /opt is its own directory $UP_W/nodes/<node> (a mount namespace per ssh call); the store's /var/backups is $UP_W/dbhost-backups"
  log "stand-ins: ssh/scp enter the host's namespace; docker and the nodes' install.sh are tests/e2e/upgrade/node/docker and node-install.sh; Harbor is harbor-standin.py"

  # The running site: Harbor 1.10.2 on both nodes, installed from its (stand-in) installer with
  # the running bundle's harbor.yml.
  for h in "${UP_NODES[@]}"; do
    tar xzf "$UP_W/installers/harbor-offline-installer-v1.10.2.tgz" -C "$UP_W/nodes/$h"
    install -m 600 "$(harbor_yml "$UP_W/running" "$h")" "$UP_W/nodes/$h/harbor/harbor.yml"
    out="$(up_ssh "$h" 'cd /opt/harbor && ./prepare && docker load -i harbor.v1.10.2.tar.gz && docker compose up -d' 2>&1)" ||
      { setup_fail "starting Harbor 1.10.2 on $h" "$out"; return 1; }
  done
  [ "$(up_version "${UP_NODES[0]}:v1")" = 1.10.2 ] && [ "$(up_version "${UP_NODES[1]}:v1")" = 1.10.2 ] &&
    pass "both nodes run Harbor 1.10.2 (stand-in), schema $(up_sql 'SELECT version FROM schema_migrations')" ||
    { fail "the running site is not up"; return 1; }

  up_hop1 && up_hop2
  log "upgrade part: $(( ($(ms) - t0) / 1000 )) s"
}

# up_postgres: PostgreSQL 15 in the store's namespace with the running bundle's settings,
# pg_hba.conf and SQL; then the tables a 1.10 core has made (schema 15, clean), Harbor's
# read_only property and three artifacts.
up_postgres() {
  local files="$UP_W/running/hosts/$UP_DB/files" dir="$UP_W/pg" ns out
  ns=$(ns_of "$UP_DB")
  mkdir -p "$dir/sock" && chown postgres:postgres "$dir" "$dir/sock"
  out="$(cd / && runuser -u postgres -- "$PG_BIN/initdb" -A peer -U postgres -E UTF8 --locale=C.UTF-8 -D "$dir/data" 2>&1)" ||
    { setup_fail "initdb" "$out"; return 1; }
  printf "include '%s'\n" "$files/etc/harbor-ha/postgres/postgresql.harbor.conf" >>"$dir/data/postgresql.conf"
  install -m 0640 -o postgres -g postgres "$(find "$files" -name pg_hba.conf -type f | head -n1)" "$dir/data/pg_hba.conf"
  out="$(ip netns exec "$ns" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "-c unix_socket_directories=$dir/sock" -w -t 20 start 2>&1)" || { setup_fail "PostgreSQL" "$out"; return 1; }
  STARTED_PGDATA+=("$dir/data")
  pg_psql_super "$dir" 5432 -f - <"$files/etc/harbor-ha/postgres/harbor.sql" >/dev/null 2>&1 ||
    { setup_fail "harbor.sql"; return 1; }
  out="$(up_sql "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
    INSERT INTO schema_migrations VALUES (15, false);
    CREATE TABLE properties (k text PRIMARY KEY, v text); INSERT INTO properties VALUES ('read_only', 'false');
    CREATE TABLE artifact (id int PRIMARY KEY, digest text);
    INSERT INTO artifact SELECT i, 'sha256:' || md5(i::text) FROM generate_series(1, 3) i; SELECT count(*) FROM artifact")"
  [ "$(tail -n1 <<<"$out")" = 3 ] && pass "PostgreSQL 15 on $UP_DB with the bundle's settings: schema_migrations 15 (clean), read_only false, 3 artifacts" ||
    { setup_fail "seeding the database" "$out"; return 1; }
}

up_hop1() {
  local s1 n0 out
  s1=$(cut -d' ' -f6 <<<"${UP_HOPS[0]}")
  n0=$(wc -l <"$E2E_UP_EVENTS")
  if up_run hop1 "$s1" --installer "$UP_W/installers/harbor-offline-installer-v2.4.3.tgz"; then
    pass "$s1 runs to its end ($(grep -c '^\[upgrade\] step' "$UP_W/hop1.out") steps)"
  else fail "$s1 fails" "$(tail -n 15 "$UP_W/hop1.out")"; return 1; fi
  up_window_checks hop1 "$n0" at-start
  out="$(up_sql "SELECT version || ' ' || dirty FROM schema_migrations")"
  [ "$out" = "71 false" ] && pass "hop1: schema_migrations 71, clean" || fail "hop1: schema_migrations is $out"
  [ "$(up_version "${UP_NODES[0]}")" = 2.4.3 ] && [ "$(up_version "${UP_NODES[1]}")" = 2.4.3 ] &&
    pass "hop1: both nodes report Harbor 2.4.3" || fail "hop1: the nodes do not report 2.4.3"
  n0=$(wc -l <"$E2E_UP_EVENTS")
  if up_run hop1-again "$s1" --installer "$UP_W/installers/harbor-offline-installer-v2.4.3.tgz" &&
     grep -q 'is complete .*: nothing to do' "$UP_W/hop1-again.out" && [ "$(wc -l <"$E2E_UP_EVENTS")" -eq "$n0" ] &&
     [ "$(up_sql "SELECT version || ' ' || dirty FROM schema_migrations")" = "71 false" ]; then
    pass "hop1 run again: \"$(grep -o 'is complete.*' "$UP_W/hop1-again.out")\"; no stop, start or migration, schema unchanged"
  else fail "hop1's second run changed something" "$(cat "$UP_W/hop1-again.out")" "$(up_events_since "$n0")"; fi
}

up_hop2() {
  local s2 n0 out h alive
  s2=$(cut -d' ' -f6 <<<"${UP_HOPS[1]}")
  touch "$E2E_UP_FAIL"
  n0=$(wc -l <"$E2E_UP_EVENTS")
  if up_run hop2-fail "$s2" --installer "$UP_W/installers/harbor-offline-installer-v2.6.4.tgz"; then
    fail "hop2 with a failing migration exits 0" "$(tail -n 5 "$UP_W/hop2-fail.out")"
  else
    grep -q 'the migration failed' "$UP_W/hop2-fail.out" && pass "hop2 with a failing migration stops at migrate: $(grep -o 'error: the migration failed[^:]*' "$UP_W/hop2-fail.out")" ||
      fail "hop2 failed elsewhere" "$(tail -n 8 "$UP_W/hop2-fail.out")"
  fi
  alive=""
  for h in "${UP_NODES[@]}"; do alive+=$(up_ssh "$h" 'docker ps -q --filter name=harbor-core'); done
  [ "$(up_sql "SELECT v FROM properties WHERE k = 'read_only'")" = true ] && [ -z "$alive" ] &&
    [ "$(up_sql "SELECT version || ' ' || dirty FROM schema_migrations")" = "91 true" ] &&
    pass "after the failure: the site is still read-only, no node runs, schema_migrations 91 dirty" ||
    fail "after the failure: read_only=$(up_sql "SELECT v FROM properties WHERE k = 'read_only'") running=[$alive] schema=$(up_sql "SELECT version || ' ' || dirty FROM schema_migrations")"
  rm -f "$E2E_UP_FAIL"
  if ! up_run hop2-resume "$s2" && grep -q 'resuming at step migrate' "$UP_W/hop2-resume.out" && grep -q 'dirty' "$UP_W/hop2-resume.out"; then
    pass "a rerun resumes at migrate and refuses the dirty schema: $(grep -o 'resuming at step migrate' "$UP_W/hop2-resume.out"), \"$(grep -o 'a migration stopped half-way (dirty)' "$UP_W/hop2-resume.out")\""
  else fail "the rerun after the failure" "$(tail -n 6 "$UP_W/hop2-resume.out")"; fi
  if up_run hop2-rollback "$s2" --rollback; then pass "$s2 --rollback runs to its end"
  else fail "$s2 --rollback fails" "$(tail -n 10 "$UP_W/hop2-rollback.out")"; fi
  out="$(up_sql "SELECT (SELECT version || ' ' || dirty FROM schema_migrations) || ' ' || (SELECT count(*) FROM artifact) || ' ' || (SELECT count(*) FROM pg_tables WHERE tablename = 'migrated_91') || ' ' || (SELECT v FROM properties WHERE k = 'read_only')")"
  [ "$out" = "71 false 3 0 false" ] && [ "$(up_version "${UP_NODES[0]}")" = 2.4.3 ] && [ "$(up_version "${UP_NODES[1]}")" = 2.4.3 ] &&
    pass "rollback restored the dump (schema 71 clean, 3 artifacts, no trace of the failed migration), both nodes run 2.4.3, read-only off" ||
    fail "after the rollback: $out, nodes $(up_version "${UP_NODES[0]}") $(up_version "${UP_NODES[1]}")" "$(tail -n 8 "$UP_W/hop2-rollback.out")"
  n0=$(wc -l <"$E2E_UP_EVENTS")
  if up_run hop2 "$s2" --installer "$UP_W/installers/harbor-offline-installer-v2.6.4.tgz"; then pass "$s2 runs to its end after the rollback"
  else fail "$s2 fails after the rollback" "$(tail -n 15 "$UP_W/hop2.out")"; return 1; fi
  up_window_checks hop2 "$n0" migrate-mode
  grep -q "^run-migrate ${UP_NODES[0]}$" < <(up_events_since "$n0") && pass "hop2: the migration was harbor_core -mode=migrate (docker compose run ... core -mode=migrate)" ||
    fail "hop2: no -mode=migrate run"
  out="$(up_sql "SELECT version || ' ' || dirty FROM schema_migrations")"
  [ "$out" = "91 false" ] && [ "$(up_version "${UP_NODES[0]}")" = 2.6.4 ] && [ "$(up_version "${UP_NODES[1]}")" = 2.6.4 ] &&
    pass "hop2: schema_migrations 91 clean, both nodes report Harbor 2.6.4" || fail "hop2: schema $out"
}
