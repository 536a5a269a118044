#!/usr/bin/env bash
# harbor-ha e2e: run the bundle's generated configs with the real programs that read them
# (nginx, docker-registry + skopeo, PostgreSQL 15, Redis, keepalived), each on a simulated
# host (a network namespace) with the topology's own address. See tests/e2e/README.md.
#
# Usage: tests/e2e/run.sh [FIXTURE... | --only PART]   (as root; `make e2e`)
#        PART: canary, install (collect: the same), monitoring, data-ha, backup, upgrade, scale-out,
#        ansible, or a fixture's name (seed, shared-storage-debian12-two-lbs, …)
#        (--install-only, --canary-only, --monitoring-only, --data-ha-only, --backup-only, --upgrade-only,
#        --scale-out-only and --ansible-only are --only install, canary, …)
# Env:   CI=true       a missing tool or a failed setup is a failure (never a skip)
#        E2E_INSTALL=0 do not run the Debian 12 install scripts in a disposable root
#        E2E_KEEP=1    keep the work directory (printed at the end)
#        E2E_POST_RENDER='CMD'  run CMD on each rendered bundle ($1): break a file on purpose
set -uo pipefail
# shellcheck source-path=SCRIPTDIR

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/static.sh
. "$HERE/lib/static.sh"
# shellcheck source=lib/oci.sh
. "$HERE/lib/oci.sh"
# shellcheck source=lib/postgres.sh
. "$HERE/lib/postgres.sh"
# shellcheck source=lib/redis.sh
. "$HERE/lib/redis.sh"
# shellcheck source=lib/lb.sh
. "$HERE/lib/lb.sh"
# shellcheck source=lib/lb_tests.sh
. "$HERE/lib/lb_tests.sh"
# shellcheck source=lib/keepalived.sh
. "$HERE/lib/keepalived.sh"
# shellcheck source=lib/docker_user.sh
. "$HERE/lib/docker_user.sh"
# shellcheck source=lib/install.sh
. "$HERE/lib/install.sh"
# shellcheck source=lib/collect.sh
. "$HERE/lib/collect.sh"
# shellcheck source=lib/canary.sh
. "$HERE/lib/canary.sh"
# shellcheck source=lib/monitoring.sh
. "$HERE/lib/monitoring.sh"
# shellcheck source=lib/data_ha.sh
. "$HERE/lib/data_ha.sh"
# shellcheck source=lib/backup.sh
. "$HERE/lib/backup.sh"
# shellcheck source=lib/backup_drill.sh
. "$HERE/lib/backup_drill.sh"
# shellcheck source=lib/upgrade.sh
. "$HERE/lib/upgrade.sh"
# shellcheck source=lib/scale_out.sh
. "$HERE/lib/scale_out.sh"
# shellcheck source=lib/ansible.sh
. "$HERE/lib/ansible.sh"

DEFAULT_FIXTURES=(fixtures/examples/seed.yaml fixtures/valid/shared-storage-debian12-two-lbs.yaml)
# The Debian 12 fixture whose LB, PostgreSQL and Redis install scripts run for real.
INSTALL_FIXTURE=${E2E_INSTALL_FIXTURE:-fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml}
CURRENT_FIXTURE=suite
RUN_ID=$(($$ % 100000))
CLIENT_NS=""
T_START=$(ms)

# ns_of HOST: the namespace of a host of the current fixture.
NS_TAG="he$RUN_ID"
ns_of() { printf '%s-%s' "$NS_TAG" "$1"; }
INSTALL_PID=""

finish() {
  local rc=$?
  if [ -n "$INSTALL_PID" ] && alive "$INSTALL_PID"; then
    kill -TERM "$INSTALL_PID" 2>/dev/null
    wait "$INSTALL_PID" 2>/dev/null
  fi
  cleanup
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  return "$rc"
}

summary() {
  local f
  printf '\n=== Summary (%s s)\n' "$(( ($(ms) - T_START) / 1000 ))"
  for f in "${FAILURES[@]}"; do printf 'FAILED: %s\n' "$f"; done
  printf '%s passed, %s failed\n' "$PASSED" "$FAILED"
  [ "$FAILED" -eq 0 ]
}

# preflight: root, the programs the suite runs. Outside CI, a machine that cannot run the
# suite skips it (with the reason); in CI that is a failure.
preflight() {
  local missing=() t
  section "Preflight"
  if [ "$(id -u)" -ne 0 ]; then
    if [ "${CI:-}" = true ]; then setup_fail "the e2e suite needs root (network namespaces)"; summary; exit 1; fi
    echo "SKIP: the e2e suite needs root (network namespaces, PostgreSQL as the postgres user)"
    summary; exit 0
  fi
  if ! out="$(bash "$ROOT/scripts/install-test-deps.sh" 2>&1)"; then
    setup_fail "scripts/install-test-deps.sh" "$(tail -n 5 <<<"$out")"
  fi
  for t in ip nginx docker-registry skopeo redis-server redis-cli psql keepalived shellcheck openssl \
           curl ss runuser iptables socat systemctl systemd-analyze unshare chroot apt-get "$PG_BIN/initdb" "$PG_BIN/pg_ctl" cargo tar gzip sha256sum awk \
           jq prometheus promtool prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter \
           prometheus-nginx-exporter mtail restic rsync ssh ssh-keygen /usr/sbin/sshd python3; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${CI:-}" = true ]; then setup_fail "missing tools: ${missing[*]}"; summary; exit 1; fi
    echo "SKIP: missing tools: ${missing[*]} (run scripts/install-test-deps.sh as root)"
    summary; exit 0
  fi
  pass "tools present: nginx $(nginx -v 2>&1 | sed 's/.*\///'), docker-registry $(docker-registry --version | awk '{print $3}'), skopeo $(skopeo --version | awk '{print $3}'), redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), keepalived $(keepalived --version 2>&1 | head -n1 | awk '{print $2}')"
  if out="$(cd "$HERE" && shellcheck -x -f gcc run.sh lib/in-root.sh lib/systemctl-shim.sh lib/docker-standin.sh canary/run-in-root.sh 2>&1)"; then
    pass "the suite's own scripts pass shellcheck"
  else fail "shellcheck of tests/e2e" "$out"; fi
  if out="$(cd "$ROOT" && cargo build -q -p harbor-ha-cli 2>&1)"; then pass "cargo build -p harbor-ha-cli"
  else setup_fail "cargo build -p harbor-ha-cli" "$(tail -n 10 <<<"$out")"; summary; exit 1; fi
  HARBOR_HA="$ROOT/target/debug/harbor-ha"
}

# render FIXTURE OUT: the bundle, with every secret the fixture takes from the environment
# set (to a test value unless already exported). Each fixture is rendered once per run
# (under $WORK/renders) and copied: the token key pair takes seconds in a debug build.
render() {
  local fixture=$1 out=$2 v i=0 out_msg cache
  cache="$WORK/renders/$(basename "$fixture" .yaml)"
  if [ ! -d "$cache" ]; then
    for v in $(fixture_env_names "$fixture"); do
      i=$((i + 1))
      [ -n "${!v:-}" ] || export "$v=E2e-Secret-${i}x"
    done
    mkdir -p "$WORK/renders"
    out_msg="$("$HARBOR_HA" render "$fixture" --out "$cache.tmp" 2>&1)" || { echo "$out_msg"; return 1; }
    mv "$cache.tmp" "$cache"
  fi
  mkdir -p "$(dirname "$out")"
  cp -a "$cache" "$out"
  # E2E_POST_RENDER: a shell command run on each bundle ($1), e.g. to break a file on purpose
  # and see that the suite catches it.
  if [ -n "${E2E_POST_RENDER:-}" ]; then bash -c "$E2E_POST_RENDER" post-render "$out" || return 1; fi
}

# net_setup: one namespace per host (the topology's address and interface name) and the client.
net_setup() {
  local fi=$1 br h i=0
  br="he${RUN_ID}b$fi"
  net_bridge "$br" || return 1
  for h in "${HOSTS[@]}"; do
    i=$((i + 1))
    net_host "$(ns_of "$h")" "$br" "he${RUN_ID}v$fi$i" "${IFACE[$h]}" "${ADDR[$h]}/$PREFIX_LEN" || return 1
  done
  CLIENT_NS="$(ns_of client)"
  net_host "$CLIENT_NS" "$br" "he${RUN_ID}v${fi}c" eth0 "$CLIENT_ADDR/$PREFIX_LEN" || return 1
}

run_fixture() {
  local fixture=$1 fi=$2 work bundle out h
  CURRENT_FIXTURE="$(basename "$fixture" .yaml)"
  section "Fixture $fixture"
  work="$WORK/$CURRENT_FIXTURE"
  bundle="$work/bundle"
  mkdir -p "$work"
  if ! out="$(render "$ROOT/$fixture" "$bundle")"; then setup_fail "harbor-ha render $fixture" "$out"; return 1; fi
  pass "rendered $fixture"
  test_static_scripts "$bundle"
  if ! quiet topo_load "$bundle" "$ROOT/$fixture"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  for h in "${HOSTS[@]}"; do log "host $h ${ADDR[$h]}/$PREFIX_LEN on ${IFACE[$h]} [${ROLES[$h]}]"; done
  log "client ${CLIENT_ADDR}/$PREFIX_LEN${VIP:+, VIP $VIP}"
  if ! quiet net_setup "$fi"; then setup_fail "network namespaces" "$LAST_OUT"; cleanup; return 1; fi
  pass "network namespaces: ${#HOSTS[@]} hosts and the client on a bridge"

  test_postgres "$bundle" "$work" "$CLIENT_NS"
  test_redis "$bundle" "$work" "$CLIENT_NS"
  if lb_setup "$bundle" "$work"; then
    test_push_pull
    test_negative_control
    test_keepalived "$bundle" "$work"
    # Last: nginx's fail_timeout mark after a kill would hide the secret problem above.
    test_registry_failover
    test_docker_user "$bundle" "$work"
  fi
  cleanup
  NGINX_PID=() REG_PID=()
}

# install_job: the install-script tests, run in a background subshell with their own counts
# and their own teardown.
install_job() {
  trap cleanup EXIT
  trap 'exit 143' TERM INT
  PASSED=0 FAILED=0 FAILURES=() NS_TAG="he${RUN_ID}i"
  CURRENT_FIXTURE="install:$(basename "$INSTALL_FIXTURE" .yaml)"
  test_install_scripts "$INSTALL_FIXTURE"
  # The Ansible part deploys the same fixture's hosts: after the install scripts, in this
  # job too (one dpkg-heavy part at a time, while the fixtures run in the foreground).
  if [ "${ANSIBLE_IN_JOB:-0}" = 1 ]; then
    cleanup
    test_ansible
  fi
  printf '%s %s\n' "$PASSED" "$FAILED" >"$WORK/install.counts"
  printf '%s\n' ${FAILURES[@]+"${FAILURES[@]}"} >"$WORK/install.failures"
}

# only PART: the arguments that run one part of the suite alone.
only() {
  local f
  case ${1:-} in
    canary) echo --canary-only ;;
    # collect.sh runs on the hosts the install part installs: the same part.
    install | collect) echo --install-only ;;
    monitoring) echo --monitoring-only ;;
    data-ha) echo --data-ha-only ;;
    backup) echo --backup-only ;;
    upgrade) echo --upgrade-only ;;
    scale-out) echo --scale-out-only ;;
    ansible) echo --ansible-only ;;
    "") echo "--only needs a part: canary, install, collect, monitoring, data-ha, backup, upgrade, scale-out, ansible, or a fixture name" >&2; return 1 ;;
    *)
      for f in fixtures/examples/"$1".yaml fixtures/valid/"$1".yaml "$1"; do
        if [ -f "$ROOT/$f" ]; then printf '%s\n' "$f"; return 0; fi
      done
      echo "--only: no part or fixture named $1 (canary, install, collect, monitoring, data-ha, backup, upgrade, scale-out, ansible, or a file of fixtures/examples or fixtures/valid)" >&2
      return 1
      ;;
  esac
}

main() {
  local fixtures=("$@") i=0 f
  if [ "${fixtures[0]:-}" = --only ]; then
    f=$(only "${fixtures[1]:-}") || exit 2
    fixtures=("$f")
    # A fixture alone: without the install scripts and the canary (their own parts).
    case $f in --*) ;; *) E2E_INSTALL=0 ONLY_FIXTURE=1 ;; esac
  fi
  [ "${#fixtures[@]}" -gt 0 ] || fixtures=("${DEFAULT_FIXTURES[@]}")
  local canary=1 monitoring=1 data_ha=1 backup=1 upgrade=1 scale_out=1 ansible=1 part p
  local parts=(canary monitoring data_ha backup upgrade scale_out ansible)
  # A fixture alone, or --install-only (the install scripts and collect.sh): no other part.
  if [ "${ONLY_FIXTURE:-0}" = 1 ] || [ "${fixtures[0]}" = --install-only ]; then
    for part in "${parts[@]}"; do printf -v "$part" 0; done
    if [ "${fixtures[0]}" = --install-only ]; then fixtures=(); fi
  fi
  # --<part>-only: that part alone (development).
  case "${fixtures[0]:-}" in
    --canary-only | --monitoring-only | --data-ha-only | --backup-only | --upgrade-only | --scale-out-only | --ansible-only)
      part=${fixtures[0]#--}
      part=${part%-only}
      fixtures=() E2E_INSTALL=0
      for p in "${parts[@]}"; do printf -v "$p" 0; done
      printf -v "${part//-/_}" 1
      ;;
  esac
  WORK="$(mktemp -d /tmp/harbor-ha-e2e.XXXXXX)"
  chmod 711 "$WORK"
  trap finish EXIT
  trap 'exit 130' INT TERM
  preflight
  # The install scripts run in the background, in namespaces and roots of their own (they
  # mostly wait on dpkg, the fixtures on timers); their report is printed after the fixtures'.
  if [ "${E2E_INSTALL:-1}" = 1 ] && [ "$ansible" = 1 ]; then ANSIBLE_IN_JOB=1 ansible=0; fi
  if [ "${E2E_INSTALL:-1}" = 1 ]; then
    # Rendered here, once: the background job and the fixture run then share the render.
    render "$ROOT/$INSTALL_FIXTURE" "$WORK/renders.check" >/dev/null 2>&1 || true
    install_job >"$WORK/install.out" 2>&1 &
    INSTALL_PID=$!
  fi
  for f in ${fixtures[@]+"${fixtures[@]}"}; do
    i=$((i + 1))
    run_fixture "$f" "$i"
  done
  if [ "$monitoring" = 1 ]; then
    test_monitoring
    cleanup
  fi
  if [ "$data_ha" = 1 ]; then
    test_data_ha
    cleanup
  fi
  if [ "$backup" = 1 ]; then
    test_backup
    cleanup
  fi
  if [ "$upgrade" = 1 ]; then
    test_upgrade
    cleanup
  fi
  if [ "$scale_out" = 1 ]; then
    test_scale_out
    cleanup
  fi
  if [ "$canary" = 1 ]; then
    test_canary
    cleanup
  fi
  if [ "$ansible" = 1 ]; then
    test_ansible
    cleanup
  fi
  if [ -n "$INSTALL_PID" ]; then
    wait "$INSTALL_PID"
    INSTALL_PID=""
    cat "$WORK/install.out"
    CURRENT_FIXTURE=install
    if [ -s "$WORK/install.counts" ]; then
      local p n line
      read -r p n <"$WORK/install.counts"
      PASSED=$((PASSED + p)) FAILED=$((FAILED + n))
      while IFS= read -r line; do [ -n "$line" ] && FAILURES+=("$line"); done <"$WORK/install.failures"
    else fail "the install-script tests did not finish"; fi
  fi
  summary
}

main "$@"
