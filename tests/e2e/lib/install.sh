# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# Runs the Debian 12 install scripts of the LB and of the PostgreSQL/Redis host for real,
# twice each, in a disposable root: an overlay whose lower layer is this Debian 12 machine's
# own root file system and whose upper layer is a tmpfs we mount. It runs chrooted in the
# host's own network namespace (its topology address; ufw's rules land in that namespace
# only), with kernel settings outside net.* read-only or masked (lib/in-root.sh), and with a
# systemctl stand-in (lib/systemctl-shim.sh) because systemd is not PID 1 here.

# global_sysctl_keys FILE...: the keys outside net.* that sysctl files set (slash form).
global_sysctl_keys() {
  cat "$@" 2>/dev/null | sed -n 's/^[[:space:]]*-\{0,1\}\([a-z][a-z0-9_./-]*\)[[:space:]]*=.*/\1/p' |
    grep -v '^net[./]' | tr . / | sort -u
}

# install_root HOST: an overlay root of this machine for HOST, with the bundle's host
# directory at /root/harbor-ha/HOST and the systemctl stand-in.
install_root() {
  local h=$1 d="$INSTALL_WORK/$1" bundle=$INSTALL_BUNDLE
  mkdir -p "$d/mask"
  overlay_root "$d/t" "$d/root" || return 1
  install -m 0755 "$HERE/lib/systemctl-shim.sh" "$d/root/usr/local/sbin/systemctl"
  mkdir -p "$d/root/root/harbor-ha"
  cp -a "$bundle/hosts/$h" "$d/root/root/harbor-ha/$h"
  # The container image's apt hook empties the package cache after every install (a Debian
  # server has none): without it, the downloaded packages stay available to every apt run.
  rm -f "$d/root/etc/apt/apt.conf.d/docker-clean"
  if [ -d "$INSTALL_WORK/debs" ]; then cp "$INSTALL_WORK"/debs/*.deb "$d/root/var/cache/apt/archives/" || return 1; fi
  global_sysctl_keys "$d"/root/usr/lib/sysctl.d/*.conf "$d"/root/lib/sysctl.d/*.conf "$d"/root/etc/sysctl.d/*.conf \
    "$d/root/etc/sysctl.conf" "$bundle/hosts/$h"/files/etc/sysctl.d/*.conf >"$d/sysctl-keys"
}

# install_run HOST N: run HOST's install.sh (run N) chrooted in its namespace; log in run-N.log.
install_run() {
  local h=$1 n=$2 d="$INSTALL_WORK/$1"
  # apt's package lists come from this machine (the namespace has no route out): the script's
  # own switch skips apt-get update.
  ip netns exec "$(ns_of "$h")" unshare -m --propagation private \
    bash "$HERE/lib/in-root.sh" "$d/root" "$d/mask" "$d/sysctl-keys" \
    APT_UPDATED=1 bash -c "cd /root/harbor-ha/$h && bash ./install.sh" >"$d/run-$n.log" 2>&1
}

# install_runs N HOST...: run N of every host's install.sh at once; writes rc-N ("rc tenths").
install_runs() {
  local n=$1 h
  shift
  for h in "$@"; do
    (
      t0=$(ms)
      install_run "$h" "$n"
      rc=$?
      echo "$rc $(( ($(ms) - t0) / 100 ))" >"$INSTALL_WORK/$h/rc-$n"
    ) &
  done
  wait
}

# install_host_sysctls HOST...: this machine's values of the global keys the scripts touch.
install_host_sysctls() {
  local h key
  for h in "$@"; do cat "$INSTALL_WORK/$h/sysctl-keys"; done | sort -u | while IFS= read -r key; do
    printf '%s=%s\n' "$key" "$(cat "/proc/sys/$key" 2>/dev/null)"
  done
}

# fetch_debs HOST...: download (only) the packages the scripts install that this machine lacks,
# into a directory of the test (this machine's package state is not touched).
fetch_debs() {
  local pkgs=() h
  for h in "$@"; do
    mapfile -t -O "${#pkgs[@]}" pkgs < <(sed -n 's/^[[:space:]]*pkgs[[:space:]]\{1,\}//p' "$INSTALL_BUNDLE/hosts/$h/install.sh" | tr ' ' '\n' | grep .)
  done
  mkdir -p "$INSTALL_WORK/debs/partial"
  local opts=(-o "Dir::Cache::archives=$INSTALL_WORK/debs" -o Debug::NoLocking=1 -y -qq --no-install-recommends --download-only)
  DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "${pkgs[@]}" >"$INSTALL_WORK/apt.log" 2>&1 ||
    { apt-get update -qq >>"$INSTALL_WORK/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "${pkgs[@]}" >>"$INSTALL_WORK/apt.log" 2>&1; }
}

# install_targets: the hosts whose install.sh runs here, one a line in install order: the
# PostgreSQL and Redis hosts and the LBs (the Harbor nodes' need Docker and Harbor's
# offline installer).
install_targets() {
  local h targets=" "
  for h in "${HOSTS[@]}"; do
    case " ${ROLES[$h]} " in *" lb "*) ;; *) continue ;; esac
    targets+="$h "
  done
  for h in "$(hosts_with postgres | head -n1)" "$(hosts_with redis | head -n1)"; do
    [ -n "$h" ] && [[ $targets != *" $h "* ]] && targets+="$h "
  done
  # In the order of HOSTS (the inventory's install order).
  for h in "${HOSTS[@]}"; do [[ $targets == *" $h "* ]] && echo "$h"; done
}

# install_targets_debian12 HOST...: every HOST's install.sh is for Debian 12 (this machine's OS).
install_targets_debian12() {
  local h
  for h in "$@"; do
    grep -q '^# Roles: .* OS: Debian12\.' "$INSTALL_BUNDLE/hosts/$h/install.sh" ||
      { setup_fail "$h's install.sh is not for Debian 12 (this machine's OS): $(sed -n 3p "$INSTALL_BUNDLE/hosts/$h/install.sh")"; return 1; }
  done
}

# install_operator_certs HOST...: the operator provides each LB's certificate before
# install.sh (the script checks it); the test makes a self-signed one in the LB's root.
install_operator_certs() {
  local h crt key d
  for h in "$@"; do
    case " ${ROLES[$h]} " in *" lb "*) ;; *) continue ;; esac
    crt="$(sed -n 's/^\[ -s \(.*\.crt\) \].*/\1/p' "$INSTALL_BUNDLE/hosts/$h/install.sh" | head -n1)"
    key="$(sed -n 's/^\[ -s \(.*\.key\) \].*/\1/p' "$INSTALL_BUNDLE/hosts/$h/install.sh" | head -n1)"
    # tls: {self_signed: true}: the bundle ships the site's pair itself (no operator step).
    [ -n "$crt" ] || continue
    d="$INSTALL_WORK/$h/root"
    mkdir -p "$d$(dirname "$crt")" "$d$(dirname "$key")"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=${crt##*/}" \
      -keyout "$d$key" -out "$d$crt" >/dev/null 2>&1
    log "$h: operator step done by the test: self-signed certificate at $crt and $key"
  done
}

test_install_scripts() {
  local fixture=$1 h targets=() t0 dt out d rc fi=9 i=0 br changed
  section "Install scripts of $fixture, run for real twice in a disposable root"
  INSTALL_WORK="$WORK/install"
  INSTALL_BUNDLE="$INSTALL_WORK/bundle"
  mkdir -p "$INSTALL_WORK"
  if ! out="$(render "$ROOT/$fixture" "$INSTALL_BUNDLE")"; then setup_fail "harbor-ha render $fixture" "$out"; return 1; fi
  if ! quiet topo_load "$INSTALL_BUNDLE" "$ROOT/$fixture"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  mapfile -t targets < <(install_targets)
  install_targets_debian12 "${targets[@]}" || return 1
  log "hosts: ${targets[*]} (the Harbor nodes' scripts need a Docker engine and Harbor's offline installer: not run)"
  t0=$(ms)
  if ! fetch_debs "${targets[@]}"; then setup_fail "apt-get --download-only of the scripts' packages" "$(tail -n 5 "$INSTALL_WORK/apt.log")"; return 1; fi
  log "packages this machine lacks, downloaded for the offline namespaces: $(find "$INSTALL_WORK/debs" -name '*.deb' -printf '%f\n' | sed 's/_.*//' | paste -sd' ') ($(( ($(ms) - t0) / 1000 )) s)"
  # Every host of the site gets its namespace (the scripts probe the other hosts: an absent
  # address would cost an ARP timeout, a namespace answers at once).
  br="he${RUN_ID}b$fi"
  net_bridge "$br" || { setup_fail "bridge"; return 1; }
  for h in "${HOSTS[@]}"; do
    i=$((i + 1))
    quiet net_host "$(ns_of "$h")" "$br" "he${RUN_ID}v$fi$i" "${IFACE[$h]}" "${ADDR[$h]}/$PREFIX_LEN" ||
      { setup_fail "namespace of $h" "$LAST_OUT"; cleanup; return 1; }
  done
  CLIENT_NS="$(ns_of client)"
  quiet net_host "$CLIENT_NS" "$br" "he${RUN_ID}v${fi}c" eth0 "$CLIENT_ADDR/$PREFIX_LEN" ||
    { setup_fail "namespace of the client" "$LAST_OUT"; cleanup; return 1; }
  for h in "${targets[@]}"; do
    quiet install_root "$h" || { setup_fail "disposable root (overlay) for $h" "$LAST_OUT"; cleanup; return 1; }
  done
  log "disposable roots: overlay of this machine's / (upper: tmpfs); removed from them: /etc/apt/apt.conf.d/docker-clean (image-only hook)"
  install_operator_certs "${targets[@]}"

  # The hosts are separate machines: each run goes on all of them at once.
  local host_before
  host_before="$(install_host_sysctls "${targets[@]}")"
  install_runs 1 "${targets[@]}"
  for h in "${targets[@]}"; do
    d="$INSTALL_WORK/$h"
    read -r rc dt <"$d/rc-1"
    if [ "$rc" -eq 0 ]; then pass "$h: install.sh run 1 succeeds ($((dt / 10)).$((dt % 10)) s; $(grep -c '^\[harbor-ha\] \(updated\|installing\|added\|ufw\|created\|disabled\)' "$d/run-1.log") changes logged)"
    else fail "$h: install.sh run 1 fails (exit $rc)" "$(tail -n 12 "$d/run-1.log")"; fi
    touch "$d/before-run-2"
  done
  sleep 0.01
  install_runs 2 "${targets[@]}"
  for h in "${targets[@]}"; do
    d="$INSTALL_WORK/$h"
    read -r rc dt <"$d/rc-2"
    if [ "$rc" -eq 0 ] && grep -q '^\[harbor-ha\] nothing to change$' "$d/run-2.log"; then
      pass "$h: install.sh run 2 prints 'nothing to change' ($((dt / 10)).$((dt % 10)) s)"
    else fail "$h: install.sh run 2 is not a no-op (exit $rc)" "$(grep '^\[harbor-ha\]' "$d/run-2.log" | tail -n 10)" "$(tail -n 3 "$d/run-2.log")"; fi
    changed="$(cd "$d/t/upper" && find etc usr -newer "$d/before-run-2" \( -type f -o -type l \) 2>/dev/null | head -n 10)"
    if [ -z "$changed" ]; then pass "$h: run 2 modified no file under /etc or /usr"
    else fail "$h: run 2 modified files" "$changed"; fi
    install_after_checks "$h"
  done
  install_vip_checks
  install_collect_checks "${targets[@]}"
  if [ "$(install_host_sysctls "${targets[@]}")" = "$host_before" ]; then
    pass "this machine's kernel settings are unchanged ($(install_host_sysctls "${targets[@]}" | tr / . | paste -sd' '))"
  else fail "the install scripts changed this machine's kernel settings" "$host_before" "$(install_host_sysctls "${targets[@]}")"; fi
  verify_node_units
  for h in "${targets[@]}"; do
    log "$h: systemctl calls that acted (both runs): $(grep -v ' is-' "$INSTALL_WORK/$h/root/var/log/harbor-ha-e2e-systemctl.log" 2>/dev/null | sed 's/^systemctl //' | paste -sd',')"
  done
  cleanup
}

# verify_node_units: the first Harbor node's systemd units, checked statically (its install.sh
# needs Docker and Harbor's offline installer): systemd-analyze verify in an overlay root
# holding the node's bundle files at their paths.
verify_node_units() {
  local node unit out d drop
  node="$(hosts_with harbor | head -n1)"
  [ -n "$node" ] || return 0
  quiet install_root "$node" || { setup_fail "disposable root for $node" "$LAST_OUT"; return 1; }
  d="$INSTALL_WORK/$node/root"
  cp -a "$INSTALL_BUNDLE/hosts/$node/files/." "$d/"
  while IFS= read -r unit; do
    if out="$(systemd-analyze verify --root="$d" "/etc/systemd/system/$unit" 2>&1)"; then
      pass "$node: systemd-analyze verify $unit (static: no systemd as PID 1, no Docker here)"
    else fail "$node: systemd-analyze verify rejects $unit" "$out"; fi
  done < <(find "$INSTALL_BUNDLE/hosts/$node/files/etc/systemd/system" -maxdepth 1 -name '*.service' -printf '%f\n' 2>/dev/null | sort)
  drop="$(cd "$INSTALL_BUNDLE/hosts/$node/files" && find etc/systemd/system -mindepth 2 -name '*.conf' 2>/dev/null | paste -sd' ')"
  [ -z "$drop" ] || log "$node: drop-ins not verifiable without their unit (no Docker here): $drop"
}

# install_after_checks HOST: what the scripts set up answers, through the firewall the
# script enabled: from a Harbor node's namespace (allowed) and from the client (not allowed,
# except the LB's 80/443).
install_after_checks() {
  local h=$1 addr out pw yml node node_ns port user
  addr=${ADDR[$h]}
  node="$(hosts_with harbor | head -n1)"
  node_ns=$(ns_of "$node")
  yml="$(harbor_yml "$INSTALL_BUNDLE" "$node")"
  case " ${ROLES[$h]} " in *" postgres "*)
    port="$(yml_value "$yml" port external_database)" user="$(yml_value "$yml" username external_database)"
    out="$(pg_as "$node_ns" "$addr" "$port" "$user" "$(yml_value "$yml" password external_database)" \
      "$(yml_value "$yml" db_name external_database)" 'SELECT current_user')"
    [ "$out" = "$user" ] &&
      pass "$h: $node reaches the installed PostgreSQL on $addr:$port through ufw and logs in with harbor.yml's credentials" ||
      fail "$h: $node cannot use the installed PostgreSQL on $addr:$port" "$out"
    ! tcp_open "$CLIENT_NS" "$addr" "$port" && pass "$h: ufw drops the client ($CLIENT_ADDR) at $addr:$port" ||
      fail "$h: the client ($CLIENT_ADDR) opens a TCP connection to PostgreSQL $addr:$port" ;;
  esac
  case " ${ROLES[$h]} " in *" redis "*)
    pw="$(yml_value "$yml" password external_redis)"
    port="$(yml_value "$yml" host external_redis)"
    [[ $port == *:* ]] && port=${port##*:} || port="$(yml_value "$yml" port external_redis)"
    port=${port:-6379}
    out="$(redis_cli "$node_ns" "$addr" "$port" "$pw" PING)"
    [ "$out" = PONG ] && pass "$h: $node gets PONG from the installed Redis on $addr:$port through ufw" ||
      fail "$h: $node cannot use the installed Redis on $addr:$port" "$out"
    ! tcp_open "$CLIENT_NS" "$addr" "$port" && pass "$h: ufw drops the client ($CLIENT_ADDR) at $addr:$port" ||
      fail "$h: the client ($CLIENT_ADDR) opens a TCP connection to Redis $addr:$port" ;;
  esac
  case " ${ROLES[$h]} " in *" lb "*)
    out="$(ip netns exec "$CLIENT_NS" curl -fsk --max-time 3 "https://$addr/harbor-ha-health" 2>&1)" &&
      pass "$h: the client gets the installed nginx's https://$addr/harbor-ha-health through ufw" ||
      fail "$h: the client does not reach the installed nginx on $addr:443" "$out" ;;
  esac
  out="$(ip netns exec "$(ns_of "$h")" iptables -S INPUT 2>&1)"
  grep -q -- '-j ufw-before-input' <<<"$out" && pass "$h: ufw's rules are loaded (in the host's namespace only)" ||
    fail "$h: ufw's rules are not loaded in $h's namespace" "$out"
}

# install_vip_checks: with both LBs installed (ufw on, keepalived started by install.sh), the
# VRRP adverts pass the firewalls: exactly one LB holds the VIP, and the client reaches it.
install_vip_checks() {
  local lbs=() holders lb out
  mapfile -t lbs < <(hosts_with lb)
  [ "${#lbs[@]}" -eq 2 ] && [ -n "$VIP" ] || return 0
  holders=""
  wait_until 10 install_one_vip_holder "${lbs[@]}"
  for lb in "${lbs[@]}"; do
    ip -n "$(ns_of "$lb")" -4 -o addr show | grep -q " inet $VIP/" && holders+="$lb "
  done
  # An advert the firewall drops is not always seen: once the backup has sent adverts of its
  # own, conntrack lets the peer's in as replies. So the rule itself is checked too.
  for lb in "${lbs[@]}"; do
    local peer=${lbs[0]}
    [ "$lb" = "$peer" ] && peer=${lbs[1]}
    out="$(ip netns exec "$(ns_of "$lb")" iptables -S ufw-user-input 2>&1)"
    grep -Eq -- "-s ${ADDR[$peer]}(/32)? -p (vrrp|112) -j ACCEPT" <<<"$out" &&
      pass "$lb: ufw accepts VRRP from $peer (${ADDR[$peer]})" ||
      fail "$lb: ufw has no rule for VRRP from $peer (${ADDR[$peer]})" "$out"
  done
  [ "$holders" = "${lbs[0]} " ] && pass "installed LBs (ufw on both): exactly ${lbs[0]} holds the VIP $VIP (no split brain)" ||
    fail "installed LBs: the VIP $VIP is held by: ${holders:-nobody} (expected ${lbs[0]} alone)"
  out="$(ip netns exec "$CLIENT_NS" curl -fsk --max-time 3 "https://$VIP/harbor-ha-health" 2>&1)" &&
    pass "the client reaches https://$VIP/harbor-ha-health on the installed LBs" ||
    fail "the client does not reach the VIP $VIP on the installed LBs" "$out"
  install_self_signed_checks "${lbs[@]}"
}

# install_self_signed_checks LB...: with tls: {self_signed: true}, every installed LB and the
# VIP serve the site's one certificate (secrets/<site>/lb_certificate.pem, whose fingerprint
# the README gives), and a client that trusts that file as its CA verifies the VIP: a
# failover to the other LB changes nothing for clients.
install_self_signed_checks() {
  local ca name want got lb fp_readme out
  ca="$(find "$INSTALL_BUNDLE/secrets" -name lb_certificate.pem | head -n1)"
  [ -n "$ca" ] || return 0
  name="$(openssl x509 -in "$ca" -noout -subject | sed 's/.*CN *= *//')"
  want="$(openssl x509 -in "$ca" -noout -fingerprint -sha256 | sed 's/.*=//')"
  fp_readme="$(grep -c -F "    $want" "$INSTALL_BUNDLE/README.md")"
  [ "$fp_readme" -ge 1 ] && pass "README.md gives the LB certificate's SHA-256 fingerprint ($want)" ||
    fail "README.md lacks the LB certificate's fingerprint $want"
  for lb in "$@" VIP; do
    local addr=${ADDR[$lb]:-$VIP}
    got="$(ip netns exec "$CLIENT_NS" timeout 5 openssl s_client -connect "$addr:443" -servername "$name" </dev/null 2>/dev/null |
      openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')"
    [ "$got" = "$want" ] && pass "$lb ($addr) serves the site's self-signed certificate" ||
      fail "$lb ($addr) serves another certificate" "got: ${got:-none}" "want: $want"
  done
  out="$(ip netns exec "$CLIENT_NS" curl -fsS --max-time 3 --cacert "$ca" --resolve "$name:443:$VIP" "https://$name/harbor-ha-health" 2>&1)" &&
    pass "a client trusting lb_certificate.pem as its CA verifies https://$name through the VIP" ||
    fail "a client trusting lb_certificate.pem cannot verify https://$name through the VIP" "$out"
}
install_one_vip_holder() {
  local lb n=0
  for lb in "$@"; do ip -n "$(ns_of "$lb")" -4 -o addr show | grep -q " inet $VIP/" && n=$((n + 1)); done
  [ "$n" -eq 1 ]
}
