# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The monitoring pack with the real programs (`--only monitoring`): the monitored fixture's
# hosts in namespaces; PostgreSQL, Redis and nginx with the bundle's configs; every exporter
# started with the command line of the bundle's systemd drop-in; a real Prometheus, in the
# Prometheus host's namespace (the only source the firewall lets in), with the bundle's
# prometheus.yml, file_sd targets and rules. Every target must be `up`, the exporters must
# expose the metrics the rules and the dashboard use, and a Harbor node taken off the network
# must turn HarborNodeDown pending or firing within the rule's `for`.
#
# There is no Harbor here. Each Harbor node runs a stand-in: the real Docker Distribution
# registry (what Harbor's registry is) on the node's HTTP port with its Prometheus debug
# endpoint, behind an nginx on the metrics port 9090 routed like Harbor's own proxy
# (`/metrics?comp=registry` to the registry's metrics; `comp=core`, `comp=jobservice` and no
# `comp` (Harbor's exporter) to fixed sample files with Harbor's metric names).

MON_FIXTURE=fixtures/valid/monitoring-debian12-two-lbs.yaml

# mon_prom Q: a Prometheus API query (GET path and query string) from the Prometheus host.
mon_prom() {
  ip netns exec "$(ns_of "$MON_PROM")" curl -fsS --max-time 5 "http://${ADDR[$MON_PROM]}:9090/api/v1/$1"
}
# mon_query EXPR: the instant vector of EXPR as JSON.
mon_query() {
  ip netns exec "$(ns_of "$MON_PROM")" curl -fsS --max-time 5 --get \
    --data-urlencode "query=$1" "http://${ADDR[$MON_PROM]}:9090/api/v1/query"
}
# mon_count EXPR: how many series EXPR returns.
mon_count() { mon_query "$1" | jq '.data.result | length'; }
# mon_targets_down: the number of active targets not `up` (fails while there are none).
mon_all_up() {
  local t
  t="$(mon_prom targets)" || return 1
  [ "$(jq '.data.activeTargets | length' <<<"$t")" -eq "$MON_NTARGETS" ] &&
    [ "$(jq '[.data.activeTargets[] | select(.health != "up")] | length' <<<"$t")" -eq 0 ]
}
# mon_alert_state NAME: pending, firing or nothing.
mon_alert_state() {
  mon_prom alerts | jq -r --arg a "$1" '[.data.alerts[] | select(.labels.alertname == $a) | .state] | first // empty'
}
mon_alert_active() { [ -n "$(mon_alert_state "$1")" ]; }

# mon_exec_line DROPIN: the ExecStart command of a bundle drop-in (the non-empty one).
mon_exec_line() { sed -n 's/^ExecStart=\(..*\)$/\1/p' "$1" | tail -n1; }

# mon_start_dropin HOST DROPIN SUBST...: run the drop-in's command (with its Environment= and
# User=) in HOST's namespace, after the `FROM::TO` substitutions (each logged).
mon_start_dropin() {
  local host=$1 dropin=$2 cmd user env=() s name pid
  shift 2
  cmd="$(mon_exec_line "$dropin")"
  user="$(sed -n 's/^User=//p' "$dropin")"
  while IFS= read -r s; do env+=("$s"); done < <(sed -n 's/^Environment="\(.*\)"$/\1/p' "$dropin")
  for s in "$@"; do
    grep -qF -- "${s%%::*}" <<<"$cmd ${env[*]}" || { echo "substitution ${s%%::*} does not apply to $dropin"; return 1; }
    cmd=${cmd//"${s%%::*}"/"${s#*::}"}
    env=("${env[@]//"${s%%::*}"/"${s#*::}"}")
    echo "substitution ($host ${dropin##*/system/}): ${s%%::*} -> ${s#*::}"
  done
  name="$(basename "$(dirname "$dropin")" .service.d)"
  # shellcheck disable=SC2086  # the command line is split into words as systemd does
  ip netns exec "$(ns_of "$host")" runuser -u "${user:-root}" -- env ${env[@]+"${env[@]}"} $cmd \
    >"$MON_WORK/$host-$name.log" 2>&1 &
  pid=$!
  track "$pid"
}

# mon_standin NODE: the Harbor stand-in on a Harbor node (see the header).
mon_standin() {
  local node=$1 d ns pid addr=${ADDR[$1]}
  d="$MON_WORK/standin-$node"
  ns=$(ns_of "$node")
  mkdir -p "$d/logs" "$d/tmp" "$d/data"
  cat >"$d/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $d/data}}
http:
  addr: $addr:80
  secret: e2e-monitoring
  debug:
    addr: 127.0.0.1:5001
    prometheus: {enabled: true, path: /metrics}
EOF
  # Fixed samples with the names Harbor's core, jobservice and exporter expose.
  printf '%s\n' '# TYPE harbor_core_http_request_total counter' \
    "harbor_core_http_request_total{code=\"200\",method=\"GET\",operation=\"GetPing\"} 3" >"$d/core.prom"
  printf '%s\n' '# TYPE harbor_jobservice_task_total counter' \
    "harbor_jobservice_task_total{status=\"Success\",type=\"REPLICATION\"} 1" >"$d/jobservice.prom"
  printf '%s\n' '# TYPE harbor_up gauge' 'harbor_up{component="core"} 1' 'harbor_up{component="database"} 1' \
    '# TYPE harbor_task_queue_latency gauge' 'harbor_task_queue_latency{type="REPLICATION"} 0' \
    '# TYPE harbor_task_queue_size gauge' 'harbor_task_queue_size{type="REPLICATION"} 0' \
    '# TYPE harbor_project_total gauge' 'harbor_project_total{public="true"} 1' >"$d/exporter.prom"
  cat >"$d/nginx.conf" <<EOF
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy; fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
  types { text/plain prom; }
  server {
    listen $addr:9090;
    location = /metrics {
      if (\$arg_comp = core) { rewrite ^ /core.prom last; }
      if (\$arg_comp = jobservice) { rewrite ^ /jobservice.prom last; }
      if (\$arg_comp = registry) { proxy_pass http://127.0.0.1:5001; break; }
      rewrite ^ /exporter.prom last;
    }
    location ~ \.prom\$ { root $d; }
  }
}
EOF
  ip netns exec "$ns" docker-registry serve "$d/registry.yml" >"$d/logs/registry.log" 2>&1 &
  pid=$!; track "$pid"
  ip netns exec "$ns" nginx -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/logs/nginx.out" 2>&1 &
  pid=$!; track "$pid"
  wait_until 10 port_open "$ns" "$addr" 9090 && wait_until 10 port_open "$ns" "$addr" 80
}

# mon_lb_state LB: run the bundle's LB state script once, writing into the LB's textfile dir.
mon_lb_state() {
  local lb=$1 script
  script="$MON_WORK/lb-state-$lb"
  ip netns exec "$(ns_of "$lb")" sh "$script"
}

# mon_exporters: every exporter of every host, from its drop-in.
mon_exporters() {
  local bundle=$1 h f sys textfile
  for h in "${HOSTS[@]}"; do
    sys="$bundle/hosts/$h/files/etc/systemd/system"
    textfile="$MON_WORK/textfile-$h"
    mkdir -p "$textfile"
    mon_start_dropin "$h" "$sys/prometheus-node-exporter.service.d/harbor-ha.conf" \
      "/var/lib/prometheus/node-exporter::$textfile" || return 1
    for f in "$sys"/*.service.d/harbor-ha.conf; do
      case "$f" in
        */prometheus-node-exporter.service.d/*) ;;
        */prometheus-postgres-exporter.service.d/*)
          mon_start_dropin "$h" "$f" "host=/var/run/postgresql::host=$MON_PGSOCK" \
            "/etc/harbor-ha/::$bundle/hosts/$h/files/etc/harbor-ha/" || return 1 ;;
        */prometheus-redis-exporter.service.d/*)
          mon_start_dropin "$h" "$f" "/etc/harbor-ha/::$bundle/hosts/$h/files/etc/harbor-ha/" || return 1 ;;
        */prometheus-nginx-exporter.service.d/*) mon_start_dropin "$h" "$f" || return 1 ;;
        */mtail.service.d/*)
          mon_start_dropin "$h" "$f" "/etc/harbor-ha/::$bundle/hosts/$h/files/etc/harbor-ha/" \
            "/var/log/nginx/harbor-access.log::${NGINX_PREFIX[$h]}/logs/harbor-access.log" || return 1 ;;
        *) log "drop-in not started here: ${f#"$sys"/}" ;;
      esac
    done
  done
}

# mon_servers BUNDLE WORK: PostgreSQL, Redis and the LBs' nginx with the bundle's configs,
# and the monitoring role.
mon_servers() {
  local bundle=$1 work=$2 lb store sql
  test_postgres "$bundle" "$work" "$CLIENT_NS" || return 1
  MON_PGSOCK="$work/pg/sock"
  store="$(hosts_with postgres | head -n1)"
  sql="$bundle/hosts/$store/files/etc/harbor-ha/monitoring/monitoring-role.sql"
  check "monitoring-role.sql runs twice on PostgreSQL (role prometheus, pg_monitor)" mon_role_sql "$work/pg" 5432 "$sql"
  test_redis "$bundle" "$work" "$CLIENT_NS" || return 1
  for lb in "${LB_HOSTS[@]}"; do
    nginx_prepare "$bundle" "$lb" "$work" || return 1
    cp "$bundle/hosts/$lb/files/etc/nginx/conf.d/harbor-ha-stub-status.conf" "${NGINX_PREFIX[$lb]}/conf/conf.d/"
    quiet nginx_start "$lb" || { setup_fail "nginx on $lb with harbor.conf and harbor-ha-stub-status.conf" "$LAST_OUT"; return 1; }
  done
  pass "nginx on ${LB_HOSTS[*]} with the bundle's harbor.conf and harbor-ha-stub-status.conf"
}

# mon_role_sql DIR PORT SQL: the bundle's monitoring-role.sql, twice (it is idempotent), as
# install.sh runs it: on standard input (the file is root's), as the superuser.
mon_role_sql() {
  for _ in 1 2; do pg_psql_super "$1" "$2" -f - <"$3" || return 1; done
  [ "$(pg_psql_super "$1" "$2" -tA -c "SELECT pg_has_role('prometheus', 'pg_monitor', 'member')")" = t ]
}

test_monitoring() {
  local bundle work out h lb t0 dt name src n missing=() expr state node_for
  CURRENT_FIXTURE=monitoring
  section "Monitoring: real exporters and Prometheus on $MON_FIXTURE"
  local t_part
  t_part=$(ms)
  work="$WORK/monitoring"
  bundle="$work/bundle"
  MON_WORK="$work/mon"
  mkdir -p "$MON_WORK"
  if ! out="$(render "$ROOT/$MON_FIXTURE" "$bundle")"; then setup_fail "harbor-ha render $MON_FIXTURE" "$out"; return 1; fi
  quiet topo_load "$bundle" "$ROOT/$MON_FIXTURE" || { setup_fail "reading the topology" "$LAST_OUT"; return 1; }
  quiet net_setup 9 || { setup_fail "network namespaces" "$LAST_OUT"; cleanup; return 1; }
  mapfile -t LB_HOSTS < <(hosts_with lb)
  MON_PROM="$(sed -n 's/.*Prometheus on \([a-z0-9-]*\), .*/\1/p' "$bundle/monitoring/prometheus.yml" | head -n1)"
  [ -n "$MON_PROM" ] || { setup_fail "no Prometheus host named in monitoring/prometheus.yml"; cleanup; return 1; }
  MON_NTARGETS="$(cat "$bundle"/monitoring/targets/*/*.json | jq -s '[.[][] | .targets[]] | length')"
  log "Prometheus host $MON_PROM (${ADDR[$MON_PROM]}), $MON_NTARGETS targets in monitoring/targets/"

  mon_servers "$bundle" "$work" || { cleanup; return 1; }
  for h in $(hosts_with harbor); do
    quiet mon_standin "$h" || { setup_fail "Harbor stand-in on $h" "$LAST_OUT"; cleanup; return 1; }
  done
  pass "Harbor stand-ins on $(hosts_with harbor | paste -sd' '): docker-registry (metrics on its debug port) behind an nginx on :9090 routed by ?comp="
  # The LB state: the VIP on the first LB (as keepalived would put it), the test certificate.
  ip -n "$(ns_of "${LB_HOSTS[0]}")" addr add "$VIP/$PREFIX_LEN" dev "${IFACE[${LB_HOSTS[0]}]}"
  for lb in "${LB_HOSTS[@]}"; do
    sed -e "s|^OUT=.*|OUT=$MON_WORK/textfile-$lb/harbor_ha_lb.prom|" \
        -e "s|^CERT=.*|CERT=${NGINX_PREFIX[$lb]}/ssl/lb.crt|" \
        "$bundle/hosts/$lb/files/usr/local/sbin/harbor-ha-lb-state" >"$MON_WORK/lb-state-$lb"
  done
  log "substitution (LB state script): OUT -> the test textfile dir, CERT -> the test certificate"
  quiet mon_exporters "$bundle" || { setup_fail "starting the exporters" "$LAST_OUT"; cleanup; return 1; }
  grep '^substitution' <<<"$LAST_OUT" | while IFS= read -r l; do log "$l"; done
  sleep 1
  for lb in "${LB_HOSTS[@]}"; do check "the LB state script runs on $lb" mon_lb_state "$lb"; done
  # Traffic through the first LB: 200s from the registry stand-ins for mtail to count.
  local codes=""
  for _ in 1 2 3; do
    codes+="$(ip netns exec "$CLIENT_NS" curl -sk -o /dev/null -w '%{http_code} ' --max-time 5 \
      --resolve "harbor.mon.example.org:443:${ADDR[${LB_HOSTS[0]}]}" https://harbor.mon.example.org/v2/)"
  done
  log "three requests through ${LB_HOSTS[0]} to the registry stand-ins: $codes"

  # Prometheus with the bundle's configuration, unchanged, in the Prometheus host's namespace.
  local pdir="$MON_WORK/prometheus"
  mkdir -p "$pdir/data"
  cp -a "$bundle/monitoring/." "$pdir/"
  check "promtool check config on the bundle's prometheus.yml" promtool check config "$pdir/prometheus.yml"
  ip netns exec "$(ns_of "$MON_PROM")" prometheus --config.file="$pdir/prometheus.yml" \
    --storage.tsdb.path="$pdir/data" --web.listen-address="${ADDR[$MON_PROM]}:9090" >"$pdir/prometheus.log" 2>&1 &
  track $!
  if ! wait_until 20 mon_prom 'status/config'; then
    setup_fail "Prometheus does not start with the bundle's prometheus.yml" "$(tail -n 5 "$pdir/prometheus.log")"; cleanup; return 1
  fi
  t0=$(ms)
  if wait_until 40 mon_all_up; then
    pass "all $MON_NTARGETS targets up after $(( ($(ms) - t0) / 1000 )) s (node, postgres, redis, nginx, lb-log, harbor-core/registry/jobservice, harbor-exporter)"
  else
    fail "targets not up" "$(mon_prom targets | jq -r '.data.activeTargets[] | select(.health != "up") | "\(.labels.job) \(.labels.instance): \(.lastError)"')"
  fi
  check "the target labels: site, host, role, and instance = the host's name" \
    test "$(mon_count 'up{site="mon", instance="mon-store", host="mon-store", role="nfs,postgres,redis", job="node"}')" = 1
  # Every metric the rules and the dashboard use, from an exporter running here, is exposed.
  sleep 6
  while read -r name src; do
    case "$src" in
      Prometheus|NodeExporter|Textfile|PostgresExporter|PostgresQueries|RedisExporter|NginxExporter|Mtail|HarborRegistry) ;;
      *) continue ;;
    esac
    n="$(mon_count "count(${name}{site=\"mon\"})")"
    [ "$n" = 1 ] || missing+=("$name ($src)")
  done < <(sed -n 's/^ *("\([a-zA-Z_:0-9]*\)", Source::\([A-Za-z]*\)),$/\1 \2/p' "$ROOT/harbor-ha-core/src/render/monitoring/metrics.rs")
  if [ "${#missing[@]}" -eq 0 ]; then pass "every metric of render::monitoring::metrics from the exporters running here is exposed"
  else fail "metrics the rules or dashboard use that no exporter exposes" "${missing[@]}"; fi
  check "PostgreSQL exporter connected as role prometheus: pg_up = 1" test "$(mon_count 'pg_up{host="mon-store"} == 1')" = 1
  check "PostgreSQL exporter: pg_harbor_ha_replication_is_replica = 0 (a single primary)" \
    test "$(mon_count 'pg_harbor_ha_replication_is_replica{host="mon-store"} == 0')" = 1
  check "Redis exporter authenticated with the bundle's password file: redis_up = 1" test "$(mon_count 'redis_up{host="mon-store"} == 1')" = 1
  check "nginx exporter reads stub_status on loopback: nginx_up = 1 on both LBs" test "$(mon_count 'nginx_up == 1')" = 2
  check "the LB state: ${LB_HOSTS[0]} holds the VIP, ${LB_HOSTS[1]} does not" \
    test "$(mon_count "harbor_ha_vip_held{host=\"${LB_HOSTS[0]}\"} == 1") $(mon_count "harbor_ha_vip_held{host=\"${LB_HOSTS[1]}\"} == 0")" = "1 1"
  for expr in HostDown HarborNodeDown LbNoVipHolder PostgresPrimaryLost; do
    state="$(mon_alert_state "$expr")"
    [ -z "$state" ] && pass "no $expr alert while everything runs" || fail "$expr is $state while everything runs"
  done

  # A registry node goes down: its link down (the machine is gone for the network).
  node_for="$(sed -n '/alert: HarborNodeDown/,/for:/s/^ *for: //p' "$bundle/monitoring/rules/harbor-ha.rules.yml")"
  h="$(hosts_with harbor | tail -n1)"
  ip -n "$(ns_of "$h")" link set "${IFACE[$h]}" down
  t0=$(ms)
  if wait_until 60 mon_alert_active HarborNodeDown; then
    dt=$(( $(ms) - t0 ))
    pass "HarborNodeDown is $(mon_alert_state HarborNodeDown) $((dt / 1000)).$(( (dt % 1000) / 100 )) s after $h went down (the rule's for: $node_for)"
    check "the alert names the node: host=$h" test "$(mon_prom alerts | jq -r '.data.alerts[] | select(.labels.alertname == "HarborNodeDown") | .labels.host')" = "$h"
  else
    fail "HarborNodeDown not pending within 60 s (for: $node_for) after $h went down"
  fi
  # The VIP moves to the other LB: LbVipHolderChanged fires (it has no `for`).
  ip -n "$(ns_of "${LB_HOSTS[0]}")" addr del "$VIP/$PREFIX_LEN" dev "${IFACE[${LB_HOSTS[0]}]}"
  ip -n "$(ns_of "${LB_HOSTS[1]}")" addr add "$VIP/$PREFIX_LEN" dev "${IFACE[${LB_HOSTS[1]}]}"
  for lb in "${LB_HOSTS[@]}"; do mon_lb_state "$lb"; done
  t0=$(ms)
  if wait_until 30 mon_alert_active LbVipHolderChanged; then
    pass "LbVipHolderChanged is $(mon_alert_state LbVipHolderChanged) $(( ($(ms) - t0) / 1000 )) s after the VIP moved to ${LB_HOSTS[1]}"
  else fail "LbVipHolderChanged not active 30 s after the VIP moved"; fi
  cleanup
  log "monitoring part: $(( ($(ms) - t_part) / 1000 )) s"
}
