#!/usr/bin/env bash
# Used by tests/render_nfs_firewall.rs: runs a rendered DOCKER-USER script (argument 2) in a
# network namespace set up like a Harbor node running Docker, and reports who can reach the
# published port. Namespaces: LB (10.20.0.2), OTHER (10.20.1.99), NODE (10.20.0.11 towards the
# LB, 10.20.1.11 towards OTHER) and CTR, the "container" (172.31.0.2:8080) that NODE publishes
# on port 80 with the DNAT and MASQUERADE rules Docker makes. Argument 1 makes names unique.
# Prints jumps=N (jumps from DOCKER-USER to our chain after two runs), then lb=, other= and
# outbound= (a container connecting out to some port 80) as ok or blocked. Cleans up always.
set -euo pipefail
S=$1
SCRIPT=$2
LB=hha-lb-$S OT=hha-ot-$S ND=hha-nd-$S CT=hha-ct-$S
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "$LB" "$OT" "$ND" "$CT"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
for n in "$LB" "$OT" "$ND" "$CT"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n "$LB" link add eth0 type veth peer name l0 netns "$ND"
ip -n "$OT" link add eth0 type veth peer name o0 netns "$ND"
ip -n "$CT" link add eth0 type veth peer name c0 netns "$ND"
ip -n "$LB" addr add 10.20.0.2/24 dev eth0; ip -n "$LB" link set eth0 up
ip -n "$OT" addr add 10.20.1.99/24 dev eth0; ip -n "$OT" link set eth0 up
ip -n "$CT" addr add 172.31.0.2/24 dev eth0; ip -n "$CT" link set eth0 up
ip -n "$CT" route add default via 172.31.0.1
ip -n "$ND" addr add 10.20.0.11/24 dev l0; ip -n "$ND" link set l0 up
ip -n "$ND" addr add 10.20.1.11/24 dev o0; ip -n "$ND" link set o0 up
ip -n "$ND" addr add 172.31.0.1/24 dev c0; ip -n "$ND" link set c0 up
ip netns exec "$ND" sysctl -qw net.ipv4.ip_forward=1
# What Docker sets up for a published port 80 -> container 8080 (its DOCKER chain, simplified).
ip netns exec "$ND" iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL ! -i c0 -p tcp --dport 80 -j DNAT --to-destination 172.31.0.2:8080
ip netns exec "$ND" iptables -t nat -A POSTROUTING -s 172.31.0.0/24 ! -o c0 -j MASQUERADE
ip netns exec "$ND" iptables -N DOCKER-USER
ip netns exec "$ND" iptables -A DOCKER-USER -j RETURN
ip netns exec "$ND" iptables -A FORWARD -j DOCKER-USER
# The rendered script, twice (idempotent).
ip netns exec "$ND" sh "$SCRIPT"
ip netns exec "$ND" sh "$SCRIPT"
echo "jumps=$(ip netns exec "$ND" iptables -S DOCKER-USER | grep -c HARBOR-HA || true)"
ip netns exec "$CT" /usr/bin/python3 -m http.server 8080 --bind 172.31.0.2 --directory / >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$LB" /usr/bin/python3 -m http.server 80 --bind 10.20.0.2 --directory / >/dev/null 2>&1 & PIDS+=($!)
get() { ip netns exec "$1" /usr/bin/python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$2" 2>/dev/null; }
for _ in $(seq 1 50); do get "$CT" http://172.31.0.2:8080/ && get "$LB" http://10.20.0.2/ && break; sleep 0.1; done
if get "$LB" http://10.20.0.11/; then echo lb=ok; else echo lb=blocked; fi
if get "$OT" http://10.20.1.11/; then echo other=ok; else echo other=blocked; fi
if get "$CT" http://10.20.0.2/; then echo outbound=ok; else echo outbound=blocked; fi
