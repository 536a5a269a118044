# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# Two keepalived instances with the bundle's configs in the two LB namespaces (the veth named
# as the topology's interface), the bundle's check script at its path, nginx in both.

declare -gA KA_DIR=()

# vip_holders: the LBs whose interface carries the VIP now (an interface that is down, as on
# a dead LB, does not count).
vip_holders() {
  local lb
  for lb in "${LB_HOSTS[@]}"; do
    ip -n "$(ns_of "$lb")" -4 -o addr show up 2>/dev/null | grep -q " inet $VIP/" && printf '%s\n' "$lb"
  done
}
# vip_on LB: exactly LB holds the VIP.
vip_on() { [ "$(vip_holders | paste -sd' ')" = "$1" ]; }

# ka_run LB ARGS...: keepalived in the LB's namespace with the bundle's /etc/keepalived bind-
# mounted at its real path (the mount stays inside this process's mount namespace).
ka_run() {
  local lb=$1
  shift
  # shellcheck disable=SC2016  # $1 and $@ belong to the inner sh
  ip netns exec "$(ns_of "$lb")" sh -c 'mount --bind "$1" /etc/keepalived && shift && exec keepalived "$@"' \
    ka "${KA_DIR[$lb]}" "$@"
}

# via_vip: what the client gets for the image pushed first, through the VIP (its digest).
via_vip() {
  skopeo_in "$CLIENT_NS" inspect --tls-verify=false --format '{{.Digest}}' "docker://$VIP/e2e/img1:v1"
}

test_keepalived() {
  local bundle=$1 work=$2 lb f conf out iface t0 dt expect holder other pid
  if [ "${#LB_HOSTS[@]}" -ne 2 ] || [ -z "$VIP" ]; then
    log "keepalived: this fixture has ${#LB_HOSTS[@]} LB(s) and no VIP pair: not applicable"
    return 0
  fi
  section "keepalived on ${LB_HOSTS[*]} holding $VIP"
  expect="$(oci_manifest_digest "$WORK/img/$CURRENT_FIXTURE-rr-1")"
  for lb in "${LB_HOSTS[@]}"; do
    f="$bundle/hosts/$lb/files/etc/keepalived"
    conf="$f/keepalived.conf"
    [ -f "$conf" ] && [ -f "$f/check_nginx.sh" ] ||
      { setup_fail "bundle of $lb has no /etc/keepalived/keepalived.conf or check_nginx.sh (two LBs with a VIP)"; return 1; }
    iface="$(awk '$1 == "interface" { print $2; exit }' "$conf")"
    [ "$iface" = "${IFACE[$lb]}" ] && pass "$lb: keepalived.conf uses the topology's interface ${IFACE[$lb]}" ||
      fail "$lb: keepalived.conf uses interface '$iface', the topology says '${IFACE[$lb]}'"
    KA_DIR[$lb]="$work/keepalived-$lb"
    mkdir -p "${KA_DIR[$lb]}"
    chmod 755 "${KA_DIR[$lb]}"
    install -m 0644 "$conf" "${KA_DIR[$lb]}/keepalived.conf"
    install -m 0755 "$f/check_nginx.sh" "${KA_DIR[$lb]}/check_nginx.sh"
    if out="$(ka_run "$lb" -t -e -f /etc/keepalived/keepalived.conf 2>&1)"; then pass "keepalived -t -e accepts $lb's keepalived.conf"
    else fail "keepalived -t -e rejects $lb's keepalived.conf (in a namespace with ${IFACE[$lb]}, as the topology says)" "$out"; return 1; fi
    # The bundle's sysctl file (ip_nonlocal_bind), applied in this namespace only.
    f="$(find "$bundle/hosts/$lb/files/etc/sysctl.d" -name '*keepalived*' -type f | head -n1)"
    if [ -n "$f" ] && out="$(ip netns exec "$(ns_of "$lb")" sysctl -q -p "$f" 2>&1)"; then
      pass "$lb: the bundle's ${f##*/} applies (net.ipv4.ip_nonlocal_bind=$(ip netns exec "$(ns_of "$lb")" sysctl -n net.ipv4.ip_nonlocal_bind))"
    else fail "$lb: no sysctl file for ip_nonlocal_bind, or it does not apply" "$out"; fi
    if [ -z "${NGINX_PID[$lb]:-}" ] || ! alive "${NGINX_PID[$lb]}"; then
      quiet nginx_start "$lb" || { setup_fail "nginx does not start on $lb" "$LAST_OUT"; return 1; }
    fi
  done
  for lb in "${LB_HOSTS[@]}"; do
    ka_run "$lb" -n -l -D -P -f /etc/keepalived/keepalived.conf -p "${KA_DIR[$lb]}/keepalived.pid" \
      -r "${KA_DIR[$lb]}/vrrp.pid" >"${KA_DIR[$lb]}/keepalived.log" 2>&1 &
    pid=$!
    track "$pid"
  done
  t0=$(ms)
  if wait_until 15 vip_on "${LB_HOSTS[0]}"; then
    pass "the VIP is held by exactly one LB, ${LB_HOSTS[0]} (the higher priority), after $(( $(ms) - t0 )) ms"
  else
    fail "the VIP is not held by exactly ${LB_HOSTS[0]}: holders: $(vip_holders | paste -sd' ')" "$(tail -n 5 "${KA_DIR[${LB_HOSTS[0]}]}/keepalived.log")"
    return 1
  fi
  out="$(grep -hE 'WARNING|SECURITY VIOLATION|[Uu]nknown keyword|not executable|insecure' "${KA_DIR[${LB_HOSTS[0]}]}/keepalived.log" "${KA_DIR[${LB_HOSTS[1]}]}/keepalived.log")"
  [ -z "$out" ] && pass "keepalived logs no warning (script security, keywords) on either LB" ||
    fail "keepalived warns about the configuration" "$out"
  out="$(via_vip)"
  [ "$out" = "$expect" ] && pass "the client reaches the registry through the VIP $VIP (digest matches)" ||
    fail "the client does not reach the registry through the VIP" "$out"

  holder=${LB_HOSTS[0]} other=${LB_HOSTS[1]}
  # 1. nginx fails on the holder: the bundle's check script makes keepalived give up the VIP.
  stop_pid "${NGINX_PID[$holder]}" TERM
  t0=$(ms)
  if wait_until 15 vip_on "$other"; then
    dt=$(( $(ms) - t0 ))
    pass "nginx stopped on $holder: the VIP moved to $other in $dt ms (check_nginx.sh, interval 2 s, fall 2)"
  else fail "nginx stopped on $holder: the VIP did not move (holders: $(vip_holders | paste -sd' '))" "$(tail -n 5 "${KA_DIR[$holder]}/keepalived.log")"; fi
  out="$(via_vip)"
  [ "$out" = "$expect" ] && pass "the client reaches the registry through the VIP on $other" ||
    fail "the client does not reach the registry through the VIP on $other" "$out"
  quiet nginx_start "$holder" || { setup_fail "nginx does not restart on $holder" "$LAST_OUT"; return 1; }
  t0=$(ms)
  wait_until 15 vip_on "$holder" && pass "nginx back on $holder: the VIP returns to it in $(( $(ms) - t0 )) ms (higher priority)" ||
    fail "the VIP does not return to $holder" "holders: $(vip_holders | paste -sd' ')"

  # 2. The holder dies (every process killed -9, its link down): the VIP moves within 5 s.
  for pid in $(ip netns pids "$(ns_of "$holder")"); do kill -KILL "$pid" 2>/dev/null; done
  ip -n "$(ns_of "$holder")" link set "${IFACE[$holder]}" down
  t0=$(ms)
  if wait_until 10 vip_on "$other"; then
    dt=$(( $(ms) - t0 ))
    [ "$dt" -le 5000 ] && pass "$holder killed (kill -9, link down): the VIP moved to $other in $dt ms (<= 5 s)" ||
      fail "$holder killed: the VIP moved to $other only after $dt ms (> 5 s)"
  else fail "$holder killed: the VIP did not move to $other" "$(tail -n 5 "${KA_DIR[$other]}/keepalived.log")"; fi
  out="$(via_vip)"
  [ "$out" = "$expect" ] && pass "the client reaches the registry through the VIP after $holder died" ||
    fail "the client does not reach the registry through the VIP after $holder died" "$out"
  # Bring the dead LB's address back (without keepalived) for the registry failover test.
  local stale
  for stale in $(ip -n "$(ns_of "$holder")" -4 -o addr show | awk -v v="$VIP" 'index($4, v "/") == 1 { print $4 }'); do
    ip -n "$(ns_of "$holder")" addr del "$stale" dev "${IFACE[$holder]}"
  done
  ip -n "$(ns_of "$holder")" link set "${IFACE[$holder]}" up
  NGINX_PID[$holder]=""
}
