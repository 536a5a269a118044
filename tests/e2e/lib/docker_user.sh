# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The Harbor node's DOCKER-USER filter (etc/harbor-ha/firewall/docker-user.sh), run for real
# in the node's namespace against a simulation of Docker's own rules: a "container" namespace
# behind the node, a DNAT of the node's Harbor port to it, FORWARD -> DOCKER-USER. The LBs
# must get through, the client must not. Runs after the registry tests (the DNAT shadows the
# node's port).

# tcp_reply NS ADDR PORT: the first bytes the server sends on a new connection (2 s timeout).
tcp_reply() {
  ip netns exec "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -c 2 <&3' "$2" "$3" 2>/dev/null
}

test_docker_user() {
  local bundle=$1 work=$2 node ns ctr script port out lb before after pid
  node="$(hosts_with harbor | head -n1)"
  script="$bundle/hosts/$node/files/etc/harbor-ha/firewall/docker-user.sh"
  section "Docker-published port on $node: the bundle's DOCKER-USER filter with real iptables"
  [ -f "$script" ] || { setup_fail "bundle file missing: hosts/$node/files/etc/harbor-ha/firewall/docker-user.sh"; return 1; }
  command -v iptables >/dev/null || { setup_fail "iptables missing (add it to scripts/install-test-deps.sh)"; return 1; }
  ns=$(ns_of "$node") ctr=$(ns_of "$node-ctr") port=${NODE_PORT[$node]:-80}
  # The container: its own namespace on a link behind the node, like docker0.
  if ! quiet eval "ip netns add '$ctr' && CREATED_NETNS+=('$ctr') &&
      ip -n '$ns' link add ctr0 type veth peer name eth0 netns '$ctr' &&
      ip -n '$ns' addr add 172.31.255.1/30 dev ctr0 && ip -n '$ns' link set ctr0 up &&
      ip -n '$ctr' link set lo up && ip -n '$ctr' addr add 172.31.255.2/30 dev eth0 && ip -n '$ctr' link set eth0 up &&
      ip -n '$ctr' route add default via 172.31.255.1 &&
      ip netns exec '$ns' sysctl -q -w net.ipv4.ip_forward=1 &&
      ip netns exec '$ns' iptables -t nat -A PREROUTING -p tcp -d '${ADDR[$node]}' --dport '$port' -j DNAT --to-destination '172.31.255.2:$port' &&
      ip netns exec '$ns' iptables -N DOCKER-USER && ip netns exec '$ns' iptables -A DOCKER-USER -j RETURN &&
      ip netns exec '$ns' iptables -I FORWARD -j DOCKER-USER"; then
    setup_fail "simulated Docker network on $node" "$LAST_OUT"; return 1
  fi
  ip netns exec "$ctr" socat "TCP-LISTEN:$port,fork,reuseaddr" SYSTEM:'echo ok' >/dev/null 2>&1 &
  pid=$!
  track "$pid"
  wait_until 20 port_open "$ctr" 0.0.0.0 "$port" || { setup_fail "the simulated container does not listen"; return 1; }
  out="$(tcp_reply "$CLIENT_NS" "${ADDR[$node]}" "$port")"
  [ "$out" = ok ] || { setup_fail "without the filter the client does not reach the DNATed port ($out): the simulation is broken"; return 1; }
  pass "simulation: without the filter, the client reaches the container through the DNAT of ${ADDR[$node]}:$port"
  if out="$(ip netns exec "$ns" sh "$script" 2>&1)"; then pass "docker-user.sh runs with real iptables in $node's namespace"
  else fail "docker-user.sh fails" "$out"; return 1; fi
  before="$(ip netns exec "$ns" iptables -S)"
  out="$(ip netns exec "$ns" sh "$script" 2>&1)" && after="$(ip netns exec "$ns" iptables -S)"
  [ "$before" = "$after" ] && pass "docker-user.sh a second time: the same rules (idempotent)" ||
    fail "docker-user.sh is not idempotent" "$(diff <(echo "$before") <(echo "${after:-$out}"))"
  for lb in $(hosts_with lb); do
    out="$(tcp_reply "$(ns_of "$lb")" "${ADDR[$node]}" "$port")"
    [ "$out" = ok ] && pass "$lb (${ADDR[$lb]}) still reaches $node's published port $port" ||
      fail "$lb (${ADDR[$lb]}) is blocked from $node's published port $port"
  done
  out="$(tcp_reply "$CLIENT_NS" "${ADDR[$node]}" "$port")"
  [ -z "$out" ] && pass "the client ($CLIENT_ADDR) is dropped at $node's published port $port" ||
    fail "the client ($CLIENT_ADDR) still reaches $node's published port $port" "$out"
}
