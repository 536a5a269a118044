#!/usr/bin/env bash
# scripts/first-render.sh [--sites N] GEN BIN [BIN...]: the first render of an N-site topology
# (default 40; every site's shared secrets are generated: an RSA 4096 token key each, and an
# RSA 2048 key for a self-signed load balancer) by each harbor-ha BIN, against what OpenSSL
# needs for the token keys alone spread over every core, timed in the same run:
#   ratio = render seconds / (mean `openssl genrsa 4096` seconds x N / cores)
# RSA key generation takes a random time (a prime search), so the OpenSSL figure is the mean
# of several keys, drawn before and after the renders, and each render is one run of N keys.
# GEN is the synthetic topology printer (harbor-ha-core's `synthetic` example). Several BINs
# (e.g. before and after a change) are timed in turn against the same baseline.
set -euo pipefail
sites=40
if [ "${1:-}" = --sites ]; then sites=$2; shift 2; fi
[ "$#" -ge 2 ] || { echo "usage: $0 [--sites N] GEN BIN [BIN...]" >&2; exit 2; }
gen=$1
shift
cores=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/harbor-ha-first-render.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HARBOR_ADMIN_PASSWORD=Bench-Admin-1 HARBOR_DB_PASSWORD=bench-db HARBOR_REDIS_PASSWORD=bench-redis
export HARBOR_REPLICATION_SECRET=bench-replication
"$gen" "$sites" 2 >"$work/topology.yaml"

now() { date +%s.%N; }
genrsa() { # genrsa K → total seconds of K `openssl genrsa 4096`
  local t0 t1
  t0=$(now)
  for ((i = 0; i < $1; i++)); do openssl genrsa -out "$work/k.pem" 4096 2>/dev/null; done
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
keys=6
before=$(genrsa "$keys")
declare -a secs
for bin in "$@"; do
  rm -rf "$work/out"
  t0=$(now)
  "$bin" render "$work/topology.yaml" --out "$work/out" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  t1=$(now)
  secs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
done
after=$(genrsa "$keys")
mean=$(awk -v a="$before" -v b="$after" -v k="$keys" 'BEGIN { printf "%.3f", (a + b) / (2 * k) }')
budget=$(awk -v m="$mean" -v s="$sites" -v c="$cores" 'BEGIN { printf "%.2f", m * s / c }')
echo "first render of $sites sites ($cores cores): openssl genrsa 4096 mean ${mean} s, x $sites / $cores = ${budget} s"
i=0
for bin in "$@"; do
  awk -v t="${secs[$i]}" -v b="$budget" -v n="$bin" 'BEGIN { printf "  %-50s %8.2f s   ratio %.2f\n", n, t, t / b }'
  i=$((i + 1))
done
