# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The registry pair behind the bundle's nginx: push through the LB, pull through the LB and
# from each node, the negative control (different secrets), keepalived, and failover (last).

LB_HOSTS=()
NODES=()
STORAGE=""
SECRET=""
# Each node's REGISTRY_HTTP_SECRET, from its own shared-secrets.env.
declare -gA NODE_SECRET=()
AFFINITY=""

# lb_setup BUNDLE WORK: nginx prefixes for every LB, registries on every Harbor node.
lb_setup() {
  local bundle=$1 work=$2 node lb yml out f secrets=()
  mapfile -t LB_HOSTS < <(hosts_with lb)
  mapfile -t NODES < <(hosts_with harbor)
  [ "${#LB_HOSTS[@]}" -ge 1 ] && [ "${#NODES[@]}" -ge 2 ] || { setup_fail "needs an LB and two Harbor nodes"; return 1; }
  section "Load balancer ${LB_HOSTS[*]} and registries on ${NODES[*]} (shared storage)"
  # The http secret of the registry, from each node's shared-secrets.env.
  for node in "${NODES[@]}"; do
    f="$bundle/hosts/$node/files/etc/harbor-ha/shared-secrets.env"
    [ -f "$f" ] || { setup_fail "bundle file missing: hosts/$node/files/etc/harbor-ha/shared-secrets.env"; return 1; }
    NODE_SECRET[$node]="$(sed -n 's/^REGISTRY_HTTP_SECRET=//p' "$f")"
    secrets+=("${NODE_SECRET[$node]}")
    yml="$(harbor_yml "$bundle" "$node")"
    NODE_PORT[$node]="$(awk '/^http:/ { h = 1; next } /^[^ ]/ { h = 0 } h && $1 == "port:" { print $2; exit }' "$yml")"
    NODE_PORT[$node]=${NODE_PORT[$node]:-80}
  done
  SECRET=${secrets[0]}
  if [ -n "$SECRET" ] && [ "$(printf '%s\n' "${secrets[@]}" | sort -u | wc -l)" -eq 1 ]; then
    pass "every Harbor node's shared-secrets.env has the same REGISTRY_HTTP_SECRET"
  else fail "REGISTRY_HTTP_SECRET differs between nodes or is empty" "${secrets[@]}"; fi
  if grep -q '^[[:space:]]*ip_hash;' "$bundle/hosts/${LB_HOSTS[0]}/files/etc/nginx/conf.d/harbor.conf"; then AFFINITY=ip_hash
  else AFFINITY=none; fi
  log "affinity: $AFFINITY"
  STORAGE="$work/shared-storage"
  mkdir -p "$STORAGE" "$WORK/home" "$WORK/tmp"
  for lb in "${LB_HOSTS[@]}"; do
    nginx_prepare "$bundle" "$lb" "$work" || return 1
    sed 's/^/       /' "${NGINX_PREFIX[$lb]}/substitutions"
    if out="$(nginx_test "$lb")"; then pass "nginx -t accepts $lb's harbor.conf inside Debian's nginx.conf"
    else fail "nginx -t rejects $lb's harbor.conf" "$out"; return 1; fi
  done
  # shellcheck disable=SC2016  # nginx's variable, literally
  grep -q 'upstream=\$upstream_addr' "$bundle/hosts/${LB_HOSTS[0]}/files/etc/nginx/conf.d/harbor.conf" &&
    pass "the LB's access log format records \$upstream_addr" || fail "no \$upstream_addr in the LB's log format"
  for node in "${NODES[@]}"; do
    quiet registry_start "$node" "${NODE_SECRET[$node]}" "$STORAGE" "$work" || { setup_fail "registry on $node does not start" "$LAST_OUT"; return 1; }
  done
  pass "registries run on $(for n in "${NODES[@]}"; do printf '%s:%s ' "${ADDR[$n]}" "${NODE_PORT[$n]}"; done)each with its node's REGISTRY_HTTP_SECRET"
  quiet nginx_start "${LB_HOSTS[0]}" || { setup_fail "nginx does not start on ${LB_HOSTS[0]}" "$LAST_OUT"; return 1; }
  pass "nginx runs on ${LB_HOSTS[0]} (${ADDR[${LB_HOSTS[0]}]}) with the bundle's config"
  out="$(grep -E '\[(warn|emerg|alert|crit)\]' "${NGINX_PREFIX[${LB_HOSTS[0]}]}/logs/error.log")"
  [ -z "$out" ] && pass "nginx logs no warning at startup" || fail "nginx warns about the configuration" "$out"
}

# images N PREFIX: build N images under $WORK/img/PREFIX-i (two layers: 3 MiB and 1 MiB).
build_images() {
  local i
  for i in $(seq 1 "$1"); do oci_build "$WORK/img/$2-$i" "$2-$i" 3 1; done
}

test_push_pull() {
  local lb=${LB_HOSTS[0]} lbaddr node i out ok=0 n=3 crossings log
  lbaddr=${ADDR[$lb]}
  log=${NGINX_PREFIX[$lb]}/logs/harbor-access.log
  build_images "$n" "$CURRENT_FIXTURE-rr"
  for i in $(seq 1 "$n"); do
    if out="$(push_image "$WORK/img/$CURRENT_FIXTURE-rr-$i" "$lbaddr/e2e/img$i:v1")"; then ok=$((ok + 1))
    else fail "push of image $i through the LB ($lbaddr) fails" "$(tail -n 3 <<<"$out")"; fi
  done
  [ "$ok" -eq "$n" ] && pass "$n pushes (3 MiB + 1 MiB layers) through the LB with the shared secret work"
  [ -f "$log" ] || { fail "no access log at $log"; return 1; }
  crossings="$(upload_crossings "$log")"
  if [ "$AFFINITY" = none ]; then
    local both=1
    for node in "${NODES[@]}"; do grep -q "upstream=${ADDR[$node]}:" "$log" || both=0; done
    [ "$both" -eq 1 ] && pass "access log: requests served by every node (upstream=$(grep -o 'upstream=[0-9.:]*' "$log" | sort -u | cut -d= -f2 | paste -sd,))" \
      || fail "access log does not show every node" "$(grep -o 'upstream=[0-9.:, ]*' "$log" | sort | uniq -c)"
    if [ "${crossings%% *}" -gt 0 ]; then pass "round robin: ${crossings%% *} blob uploads had their PATCH and PUT on different nodes"
    else fail "round robin: no upload crossed nodes" "$crossings"; fi
  else
    local served
    served="$(grep -o 'upstream=[0-9.]*:[0-9]*' "$log" | sort -u | wc -l)"
    [ "$served" -eq 1 ] && pass "ip_hash: one node served every request from the client's subnet ($(grep -o 'upstream=[0-9.:]*' "$log" | sort -u | cut -d= -f2))" \
      || fail "ip_hash: requests from one client went to $served nodes"
  fi
  # Pull through the LB and straight from every node: same manifest, same blobs.
  for i in $(seq 1 "$n"); do
    out="$(pull_image "$lbaddr/e2e/img$i:v1" "$WORK/pull/lb-$i" && oci_same "$WORK/img/$CURRENT_FIXTURE-rr-$i" "$WORK/pull/lb-$i")" &&
      pass "image $i pulled through the LB: digest $(oci_manifest_digest "$WORK/pull/lb-$i" | cut -c1-19)… as pushed" ||
      fail "image $i pulled through the LB differs or fails" "$(tail -n 3 <<<"$out")"
    for node in "${NODES[@]}"; do
      out="$(pull_image "${ADDR[$node]}:${NODE_PORT[$node]}/e2e/img$i:v1" "$WORK/pull/$node-$i" && oci_same "$WORK/img/$CURRENT_FIXTURE-rr-$i" "$WORK/pull/$node-$i")" &&
        pass "image $i pulled straight from $node: same digest and blobs" ||
        fail "image $i pulled straight from $node differs or fails" "$(tail -n 3 <<<"$out")"
    done
  done
}

# The negative control: two different http secrets. With round robin the chunked push must fail.
test_negative_control() {
  local lb=${LB_HOSTS[0]} lbaddr i out ok=0 n=4 node idx=0
  lbaddr=${ADDR[$lb]}
  section "Negative control: registries with different http secrets"
  if [ "$AFFINITY" != none ]; then
    log "affinity $AFFINITY keeps a client on one node, which hides a secret mismatch: control runs on round-robin fixtures only"
    return 0
  fi
  for node in "${NODES[@]}"; do
    idx=$((idx + 1))
    quiet registry_start "$node" "different-secret-$idx" "$STORAGE-neg" "$WORK/$CURRENT_FIXTURE" ||
      { setup_fail "registry on $node does not restart" "$LAST_OUT"; return 1; }
  done
  quiet nginx_start "$lb" || { setup_fail "nginx does not restart on $lb" "$LAST_OUT"; return 1; }
  build_images "$n" "$CURRENT_FIXTURE-neg"
  # nginx runs one round robin per worker and skopeo uploads blobs in parallel, so which
  # upload crosses nodes varies: the control needs pushes failing on the upload state
  # (at least one; all of them in every run so far), and none failing otherwise.
  local bad=0 other=""
  for i in $(seq 1 "$n"); do
    if out="$(push_image "$WORK/img/$CURRENT_FIXTURE-neg-$i" "$lbaddr/e2e/neg$i:v1")"; then ok=$((ok + 1))
    elif grep -q 'blob upload invalid\|blob upload unknown' <<<"$out"; then bad=$((bad + 1))
    else other+="$(tail -n1 <<<"$out")"; fi
  done
  if [ "$bad" -ge 1 ] && [ -z "$other" ]; then
    pass "negative control: $bad of $n chunked pushes fail with different secrets (blob upload invalid/unknown), $ok succeed"
  else fail "negative control: $bad of $n pushes failed on the upload state, $ok succeeded: the test would not see a secret mismatch" "$other"; fi
  # Back to each node's own secret from the bundle.
  for node in "${NODES[@]}"; do
    quiet registry_start "$node" "${NODE_SECRET[$node]}" "$STORAGE" "$WORK/$CURRENT_FIXTURE" ||
      { setup_fail "registry on $node does not restart" "$LAST_OUT"; return 1; }
  done
}

# Failover (last): kill -9 the registry of one node; push and pull through the LB again.
test_registry_failover() {
  local lb=${LB_HOSTS[0]} lbaddr out victim survivor log
  lbaddr=${ADDR[$lb]}
  section "Failover: kill -9 one registry, push and pull through the LB ($lb)"
  quiet nginx_start "$lb" || { setup_fail "nginx does not restart on $lb" "$LAST_OUT"; return 1; }
  log=${NGINX_PREFIX[$lb]}/logs/harbor-access.log
  # The victim: with ip_hash, the node that served the client (so the LB must move it).
  victim=${NODES[0]}
  if [ "$AFFINITY" = ip_hash ]; then
    local served
    served="$(grep -o 'upstream=[0-9.]*' "$log" | tail -n1 | cut -d= -f2)"
    for survivor in "${NODES[@]}"; do [ "${ADDR[$survivor]}" = "$served" ] && victim=$survivor; done
  fi
  stop_pid "${REG_PID[$victim]}" KILL
  alive "${REG_PID[$victim]}" && { setup_fail "registry on $victim survives kill -9"; return 1; }
  log "killed -9 the registry on $victim (${ADDR[$victim]})"
  oci_build "$WORK/img/$CURRENT_FIXTURE-fo" fo 3
  if out="$(push_image "$WORK/img/$CURRENT_FIXTURE-fo" "$lbaddr/e2e/failover:v1")"; then
    pass "push through the LB works with $victim's registry dead"
  else fail "push through the LB fails with $victim's registry dead" "$(tail -n 3 <<<"$out")"; fi
  out="$(pull_image "$lbaddr/e2e/failover:v1" "$WORK/pull/fo" && oci_same "$WORK/img/$CURRENT_FIXTURE-fo" "$WORK/pull/fo")" &&
    pass "pull through the LB after the kill: same digest" || fail "pull through the LB after the kill fails" "$(tail -n 3 <<<"$out")"
  out="$(pull_image "$lbaddr/e2e/img1:v1" "$WORK/pull/fo-old" && oci_same "$WORK/img/$CURRENT_FIXTURE-rr-1" "$WORK/pull/fo-old")" &&
    pass "an image pushed before the kill still pulls through the LB" || fail "an earlier image no longer pulls" "$(tail -n 3 <<<"$out")"
}
