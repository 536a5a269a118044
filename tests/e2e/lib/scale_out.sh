# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The scale-out plan run on the nginx + registries rig (--only scale-out): fixtures/change/
# scale-out (the seed, two Harbor nodes, and a third). The steps of `plan --from --format
# json` run in their order, each with the rig's counterpart of what the host's install.sh
# does (PostgreSQL settings and pg_hba, the new node's registry, nginx -t and a reload),
# while a client pulls through the load balancer the whole time: no pull may fail.

# so_pull_loop LB_ADDR REF STOP OUT: pull REF through the LB until STOP exists; one line per
# pull (ok/fail) in OUT.
so_pull_loop() {
  local i=0
  while [ ! -f "$3" ]; do
    i=$((i + 1))
    if pull_image "$1/$2" "$WORK/scale-out/pulls/p$i" >/dev/null 2>&1; then echo "ok $i $(ms)" >>"$4"
    else echo "fail $i $(ms)" >>"$4"; fi
    rm -rf "$WORK/scale-out/pulls/p$i"
  done
}

# so_pg_apply BUNDLE: the bundle's postgresql.harbor.conf and pg_hba.conf on the running
# PostgreSQL (as install.sh puts them: a settings change restarts it, pg_hba reloads).
so_pg_apply() {
  local files="$1/hosts/$SO_DB/files" dir="$WORK/scale-out/pg"
  sed "s/^password_encryption = on$/password_encryption = 'md5'/" "$files/etc/harbor-ha/postgres/postgresql.harbor.conf" >"$dir/postgresql.harbor.conf"
  chmod 644 "$dir/postgresql.harbor.conf"
  install -m 0640 -o postgres -g postgres "$(find "$files" -name pg_hba.conf -type f | head -n1)" "$dir/data/pg_hba.conf"
}

test_scale_out() {
  local t0 d="$ROOT/fixtures/change/scale-out" w="$WORK/scale-out" out from to steps n i kind hosts changes lb node ok_n fail_n v
  t0=$(ms)
  CURRENT_FIXTURE=scale-out
  section "Scale-out (--only scale-out): the plan of fixtures/change/scale-out (2 -> 3 Harbor nodes) on the nginx + registries rig, pulls running"
  from="$w/from" to="$w/to"
  mkdir -p "$w/pulls"
  for v in $(fixture_env_names "$d/to.yaml"); do [ -n "${!v:-}" ] || export "$v=E2e-Scale-Pw1"; done
  out="$("$HARBOR_HA" render "$d/from.yaml" --out "$from" 2>&1)" || { setup_fail "render from.yaml" "$out"; return 1; }
  cp -a "$from" "$to"
  out="$("$HARBOR_HA" render "$d/to.yaml" --from "$d/from.yaml" --out "$to" 2>&1)" || { setup_fail "render --from" "$out"; return 1; }
  "$HARBOR_HA" plan --from "$d/from.yaml" "$d/to.yaml" --format json >"$w/plan.json"
  steps="$(jq -r '.steps[] | "\(.kind) \(.hosts | join(",")) \(.changes | join(","))"' "$w/plan.json")"
  log "plan: $(paste -sd';' <<<"$steps")"
  [ "$(jq -r '.steps | map(.kind) | join(" ")' "$w/plan.json")" = "backend node-add lb verify" ] &&
    [ "$(jq -r '.steps[0].changes | join(",")' "$w/plan.json")" = "postgres,nfs,firewall" ] && [ "$(jq -r .downtime "$w/plan.json")" = false ] &&
    pass "the plan orders PostgreSQL, NFS and firewall on the store, then the node, then the load balancer; no downtime" ||
    fail "unexpected plan" "$steps"

  if ! quiet topo_load "$to" "$d/to.yaml"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  if ! quiet net_setup s; then setup_fail "network namespaces" "$LAST_OUT"; return 1; fi
  SO_DB=$(hosts_with postgres | head -n1)
  lb=$(hosts_with lb | head -n1)
  mapfile -t SO_NODES < <(hosts_with harbor)
  so_start "$from" "$lb" || return 1

  # A client pulls through the load balancer during the whole change.
  oci_build "$WORK/img/scale-out" scale-out 3 1
  out="$(push_image "$WORK/img/scale-out" "${ADDR[$lb]}/e2e/scale:v1")" || { setup_fail "push through the LB" "$out"; return 1; }
  : >"$w/pulls.log"
  so_pull_loop "${ADDR[$lb]}" e2e/scale:v1 "$w/stop-pulls" "$w/pulls.log" &
  SO_LOOP=$!
  track "$SO_LOOP"
  wait_until 30 grep -q '^ok' "$w/pulls.log" || { fail "no pull succeeds through the LB before the change" "$(cat "$w/pulls.log")"; }

  n=$(jq '.steps | length' "$w/plan.json")
  for ((i = 0; i < n; i++)); do
    kind=$(jq -r ".steps[$i].kind" "$w/plan.json")
    hosts=$(jq -r ".steps[$i].hosts | join(\" \")" "$w/plan.json")
    changes=$(jq -r ".steps[$i].changes | join(\" \")" "$w/plan.json")
    log "step $((i + 1)): $kind $hosts ($changes)"
    case $kind in
      backend) so_backend "$from" "$to" "$changes" ;;
      node-add) for node in $hosts; do so_node_add "$to" "$node" "$lb"; done ;;
      lb) so_lb "$to" "$lb" ;;
      verify) so_verify "$lb" ;;
      *) fail "the scale-out plan has a step this part does not know: $kind" ;;
    esac
    sleep 1 # pulls in between
  done
  touch "$w/stop-pulls"
  for _ in $(seq 1 100); do alive "$SO_LOOP" || break; sleep 0.1; done
  ok_n=$(grep -c '^ok' "$w/pulls.log")
  fail_n=$(grep -c '^fail' "$w/pulls.log")
  [ "$fail_n" -eq 0 ] && [ "$ok_n" -ge 5 ] && pass "pulls through the LB during the whole change: $ok_n succeeded, 0 failed" ||
    fail "pulls during the change: $ok_n succeeded, $fail_n failed" "$(grep '^fail' "$w/pulls.log" | head -n 5)"
  log "scale-out part: $(( ($(ms) - t0) / 1000 )) s"
}

# so_start BUNDLE LB: the running site of BUNDLE on the rig: PostgreSQL with its settings,
# registries on its Harbor nodes, nginx on the LB.
so_start() {
  local bundle=$1 lb=$2 dir="$WORK/scale-out/pg" ns out node
  ns=$(ns_of "$SO_DB")
  mkdir -p "$dir/sock" && chown postgres:postgres "$dir" "$dir/sock"
  out="$(cd / && runuser -u postgres -- "$PG_BIN/initdb" -A peer -U postgres -E UTF8 --locale=C.UTF-8 -D "$dir/data" 2>&1)" || { setup_fail "initdb" "$out"; return 1; }
  so_pg_apply "$bundle"
  printf "include '%s'\n" "$dir/postgresql.harbor.conf" >>"$dir/data/postgresql.conf"
  log "substitution: the seed's settings are for PostgreSQL 9.6, run on 15: password_encryption on -> 'md5' (same meaning)"
  out="$(ip netns exec "$ns" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "-c unix_socket_directories=$dir/sock" -w -t 20 start 2>&1)" || { setup_fail "PostgreSQL" "$out"; return 1; }
  STARTED_PGDATA+=("$dir/data")
  sed "s/^SET password_encryption = on;$/SET password_encryption = 'md5';/" "$bundle/hosts/$SO_DB/files/etc/harbor-ha/postgres/harbor.sql" |
    pg_psql_super "$dir" 5432 -f - >/dev/null 2>&1 || { setup_fail "harbor.sql"; return 1; }
  SO_SECRET="$(sed -n 's/^REGISTRY_HTTP_SECRET=//p' "$bundle/hosts/${SO_NODES[0]}/files/etc/harbor-ha/shared-secrets.env")"
  SO_STORAGE="$WORK/scale-out/storage"
  mkdir -p "$SO_STORAGE" "$WORK/home" "$WORK/tmp"
  for node in "${SO_NODES[@]}"; do
    NODE_PORT[$node]=80
    [ -d "$bundle/hosts/$node" ] || continue
    quiet registry_start "$node" "$SO_SECRET" "$SO_STORAGE" "$WORK/scale-out" || { setup_fail "registry on $node" "$LAST_OUT"; return 1; }
  done
  nginx_prepare "$bundle" "$lb" "$WORK/scale-out" || return 1
  quiet nginx_start "$lb" || { setup_fail "nginx on $lb" "$LAST_OUT"; return 1; }
  pass "the running site on the rig: PostgreSQL (max_connections $(so_pg_value max_connections)), registries on the 2 running nodes, nginx on $lb"
}

so_pg_value() { pg_psql_super "$WORK/scale-out/pg" 5432 -tA -c "SHOW $1" 2>&1; }

# so_db_reaches NODE: the node connects to the registry database with harbor.yml's credentials.
so_db_reaches() {
  local yml pass
  yml="$(harbor_yml "$SO_TO" "$1")"
  pass="$(yml_value "$yml" password external_database)"
  [ "$(tail -n1 <<<"$(pg_as "$(ns_of "$1")" "${ADDR[$SO_DB]}" 5432 harbor "$pass" registry 'SELECT current_user')")" = harbor ]
}

so_backend() {
  local from=$1 to=$2 changes=$3 new=${SO_NODES[-1]} exports
  SO_TO=$to
  ! so_db_reaches "$new" && pass "before the step: $new cannot reach PostgreSQL (pg_hba.conf has no line for it)" ||
    fail "$new reaches PostgreSQL before the backend step"
  for c in $changes; do
    case $c in
      postgres)
        so_pg_apply "$to"
        # install.sh restarts PostgreSQL when its settings file changed (max_connections).
        # -l: the restarted server must not hold this command substitution's pipe open.
        out="$(ip netns exec "$(ns_of "$SO_DB")" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/scale-out/pg/data" -m fast -w -t 20 \
              -l "$WORK/scale-out/pg/server.log" restart -o "-c unix_socket_directories=$WORK/scale-out/pg/sock" 2>&1)" ||
          { fail "PostgreSQL does not restart" "$out"; continue; }
        [ "$(so_pg_value max_connections)" = "$(sed -n 's/^max_connections = //p' "$to/hosts/$SO_DB/files/etc/harbor-ha/postgres/postgresql.harbor.conf")" ] &&
          so_db_reaches "$new" && pass "postgres: max_connections $(so_pg_value max_connections) after the restart, and $new connects as harbor" ||
          fail "postgres: max_connections $(so_pg_value max_connections); $new connects: $(so_db_reaches "$new" && echo yes || echo no)"
        ;;
      nfs)
        exports="$to/hosts/$SO_DB/files/etc/exports.d/harbor.exports"
        grep -q "${ADDR[$new]}(rw," "$exports" && pass "nfs: the export admits $new (${ADDR[$new]}) (static: no NFS server runs here)" ||
          fail "nfs: the export lacks $new" "$(cat "$exports")"
        ;;
      firewall)
        [ "$(grep -c "source address=\"${ADDR[$new]}/32\"" "$to/hosts/$SO_DB/install.sh")" -ge 3 ] &&
          pass "firewall: the store's install.sh opens NFS, PostgreSQL and Redis to $new (static: firewalld does not run here)" ||
          fail "firewall: no rules for $new"
        ;;
      *) log "store change $c: applied by its install.sh (not run here)" ;;
    esac
  done
}

so_node_add() {
  local to=$1 node=$2 lb=$3 secret log
  secret="$(sed -n 's/^REGISTRY_HTTP_SECRET=//p' "$to/hosts/$node/files/etc/harbor-ha/shared-secrets.env")"
  [ "$secret" = "$SO_SECRET" ] && pass "$node gets the site's REGISTRY_HTTP_SECRET (shared secrets reused by render --from)" ||
    fail "$node has another REGISTRY_HTTP_SECRET"
  quiet registry_start "$node" "$secret" "$SO_STORAGE" "$WORK/scale-out" || { fail "the registry on $node does not start" "$LAST_OUT"; return 1; }
  if ip netns exec "$(ns_of "$lb")" curl -fsS -o /dev/null --max-time 5 "http://${ADDR[$node]}:${NODE_PORT[$node]}/v2/"; then
    pass "$node is healthy (from $lb: /v2/ answers) before any load balancer reload"
  else fail "$node does not answer $lb"; fi
  log="${NGINX_PREFIX[$lb]}/logs/harbor-access.log"
  ! grep -q "upstream=${ADDR[$node]}:" "$log" && pass "$lb has sent $node no request yet" || fail "$lb sent $node requests before its step"
  grep -q "${ADDR[$node]}" "${NGINX_PREFIX[$lb]}/conf/conf.d/harbor.conf" && fail "$lb's running config already has $node" || true
}

so_lb() {
  local to=$1 lb=$2 p=${NGINX_PREFIX[$2]} pid out node
  cp "$p/ssl/lb.crt" "$p/lb.crt.keep" && cp "$p/ssl/lb.key" "$p/lb.key.keep"
  nginx_prepare "$to" "$lb" "$WORK/scale-out" >/dev/null || { fail "the new harbor.conf cannot be prepared"; return 1; }
  cp "$p/lb.crt.keep" "$p/ssl/lb.crt" && cp "$p/lb.key.keep" "$p/ssl/lb.key"
  if out="$(nginx_test "$lb")"; then pass "$lb: nginx -t accepts the new harbor.conf"
  else fail "$lb: nginx -t rejects the new harbor.conf" "$out"; return 1; fi
  pid=$(cat "$p/nginx.pid")
  kill -HUP "$pid"
  sleep 1
  [ "$(cat "$p/nginx.pid")" = "$pid" ] && alive "$pid" && pass "$lb: reloaded (SIGHUP to the master $pid, as systemctl reload nginx does): the master kept running" ||
    fail "$lb: nginx did not reload in place"
  # The whole configuration first: `nginx -T | grep -q` would fail on SIGPIPE under pipefail.
  out="$(ip netns exec "$(ns_of "$lb")" nginx -T -q -p "$p/" -c "$p/conf/nginx.conf" 2>/dev/null)"
  local missing=()
  for node in "${SO_NODES[@]}"; do
    grep -q "server ${ADDR[$node]}:${NODE_PORT[$node]} " <<<"$out" || missing+=("$node")
  done
  [ "${#missing[@]}" -eq 0 ] && pass "$lb's running configuration has all ${#SO_NODES[@]} nodes in its upstream" ||
    fail "$lb's configuration lacks ${missing[*]}"
}

so_verify() {
  local lb=$1 node ok=1
  for node in "${SO_NODES[@]}"; do
    if ! pull_image "${ADDR[$node]}:${NODE_PORT[$node]}/e2e/scale:v1" "$WORK/scale-out/direct-$node" >/dev/null 2>&1 ||
       ! oci_same "$WORK/img/scale-out" "$WORK/scale-out/direct-$node" >/dev/null; then
      ok=0
      fail "pulling from $node directly"
    fi
  done
  [ "$ok" -eq 1 ] && pass "every node, $node included, serves the image pushed before the change (same digest and blobs)"
}
