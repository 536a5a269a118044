# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The canary test: quoting alone keeps hostile values inert. tests/e2e/canary/hostile.yaml
# puts an injection attempt in every string that reaches a generated file, each creating its
# own canary file (hha-canary-<field>) if it ever ran. Validation refuses that topology, and
# so does `harbor-ha render` (rendering takes only a validated topology); the
# `render_unchecked` example (harbor-ha-io, feature `unchecked`) renders it anyway, and then:
#   - no config file (anything but a script) has a line that a value's newline started;
#   - nginx -t (real) accepts the hostile LB config, and `include /etc/passwd` included nothing;
#   - every script of the bundle runs in a disposable root (an overlay of this machine with a
#     tmpfs upper layer, chrooted, in new network, mount and PID namespaces), with stand-ins
#     for the commands that would act outside it (canary/run-in-root.sh);
#   - no canary file exists afterwards, in the root or on this machine, while the positive
#     control (a script that evaluates a value) did create its own.

CANARY_DIR="$HERE/canary"

# canary_files DIR...: regular files named hha-canary-<name> (the payloads' targets; a path
# value that merely contains the text has other characters right after it).
canary_files() {
  find "$@" -xdev -type f -regextype posix-extended -regex '.*/hha-canary-[a-z0-9-]+' 2>/dev/null | sort
}

# codes_missing "CODE...": which of the codes every layer must report are not in the list.
codes_missing() {
  local want out=()
  for want in IN001 IN002 IN003 HA002; do [[ " $1 " == *" $want "* ]] || out+=("$want"); done
  printf '%s' "${out[*]}"
}

test_canary() {
  local w="$WORK/canary" b out codes missing sroot rc f bad=() n_ok=0 n_all=0 line
  section "Canary: hostile values rendered without validation, scripts run in a sandbox"
  CURRENT_FIXTURE=canary
  mkdir -p "$w"
  if ! out=$(cd "$ROOT" && cargo build -q -p harbor-ha-io --features unchecked --example render_unchecked 2>&1); then
    setup_fail "cargo build -p harbor-ha-io --features unchecked --example render_unchecked" "$(tail -n 10 <<<"$out")"; return 1
  fi
  out=$("$HARBOR_HA" validate "$CANARY_DIR/hostile.yaml" 2>&1); rc=$?
  [ "$rc" -eq 1 ] && pass "harbor-ha validate refuses the hostile topology (exit 1)" ||
    fail "harbor-ha validate should refuse the hostile topology, exit $rc" "$(tail -n 5 <<<"$out")"
  out=$("$HARBOR_HA" render "$CANARY_DIR/hostile.yaml" --out "$w/refused" 2>&1); rc=$?
  [ "$rc" -eq 1 ] && [ ! -e "$w/refused" ] && pass "harbor-ha render refuses it too (exit 1) and writes nothing" ||
    fail "harbor-ha render should refuse the hostile topology and write nothing, exit $rc" "$(tail -n 5 <<<"$out")"
  b="$w/bundle"
  out=$("$ROOT/target/debug/examples/render_unchecked" "$CANARY_DIR/hostile.yaml" "$b" 2>&1); rc=$?
  if [ "$rc" -ne 0 ]; then setup_fail "render_unchecked (exit $rc)" "$(tail -n 10 <<<"$out")"; return 1; fi
  codes=$(sed -n 's/^refused-by: //p' <<<"$out")
  missing=$(codes_missing "$codes")
  [ -z "$missing" ] && pass "rendered without validation; validation would refuse it with: $codes" ||
    fail "the hostile topology should trip $missing (got: $codes)"
  canary_files "$b" >"$w/before"
  [ ! -s "$w/before" ] || { setup_fail "the bundle already holds canary-named files" "$(cat "$w/before")"; return 1; }

  # Config files: a value's newline must never start a line.
  out=$(find "$b" -type f ! -name '*.sh' -print0 | xargs -0 grep -nE '^[[:space:]]*touch /tmp/hha.canary' 2>/dev/null)
  [ -z "$out" ] && pass "no value starts a line of a config file (inventory, keepalived, exports, fstab, units, env, README)" ||
    fail "a value's newline started a line of a config file" "$(head -n 10 <<<"$out")"

  # The sandbox: an overlay of this machine, the bundle at /root/bundle, the TLS files the
  # LB scripts want at the topology's (hostile) paths.
  sroot="$w/root"
  mkdir -p "$w/mask"
  : >"$w/keys"
  overlay_root "$w/t" "$sroot" || { setup_fail "overlay root for the canary run"; return 1; }
  rm -f "$sroot/etc/nginx/sites-enabled/default"
  mkdir -p "$sroot/root/bundle"
  cp -a "$b/." "$sroot/root/bundle/"
  local crt="/etc/nginx/ssl/hq\`touch /tmp/hha-canary-cert\`.crt" key="/etc/nginx/ssl/hq';touch /tmp/hha-canary-key;'.key"
  mkdir -p "$sroot/$(dirname "$crt")" "$sroot/$(dirname "$key")"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hq.example.org -keyout "$sroot$key" -out "$sroot$crt" \
    >/dev/null 2>&1 || { setup_fail "test certificate"; return 1; }
  # Harbor's offline installer (not runnable here): a stand-in at each site's install_dir.
  for f in "/opt/harbor\$(touch /tmp/hha-canary-installdir)/harbor/install.sh" /usr/local/harbor/install.sh; do
    mkdir -p "$sroot$(dirname "$f")"
    # What Harbor's install.sh/prepare leave behind, as far as the node script reads it.
    cat >"$sroot$f" <<'STANDIN'
#!/bin/sh
echo "Harbor installer stand-in: $*"
mkdir -p common/config/core common/config/jobservice common/config/registryctl common/config/registry
for f in core/env jobservice/env registryctl/env; do echo 'CORE_SECRET=from-prepare' >"common/config/$f"; done
printf 'http:\n  secret: from-prepare\n' >common/config/registry/config.yml
echo 'services: {}' >docker-compose.yml
STANDIN
    chmod 0755 "$sroot$f"
    cp -p "$sroot$f" "$sroot$(dirname "$f")/prepare"
  done
  install -m 0755 "$CANARY_DIR/run-in-root.sh" "$sroot/root/run-in-root.sh"

  # nginx -t, for real, on the hostile LB config (inside the root: the certificates are there).
  local conf
  conf=$(find "$sroot/root/bundle/hosts" -path '*/files/etc/nginx/conf.d/harbor.conf' | head -n 1)
  cp "$conf" "$sroot/etc/nginx/conf.d/harbor.conf"
  out=$(unshare --mount --propagation private bash "$HERE/lib/in-root.sh" "$sroot" "$w/mask" "$w/keys" nginx -T 2>&1); rc=$?
  rm -f "$sroot/etc/nginx/conf.d/harbor.conf"
  if [ "$rc" -eq 0 ] && ! grep -q '^root:' <<<"$out" && grep -q 'include /etc/passwd' <<<"$out"; then
    pass "nginx -t accepts the hostile LB config; the server_name's 'include /etc/passwd' stays text"
  else fail "nginx -T on the hostile LB config (exit $rc)" "$(grep -E 'emerg|root:' <<<"$out" | head -n 5)"; fi

  # Every script, in the sandbox.
  ip netns add "he${RUN_ID}canary" && CREATED_NETNS+=("he${RUN_ID}canary")
  ip netns exec "he${RUN_ID}canary" unshare --mount --pid --fork --propagation private \
    bash "$HERE/lib/in-root.sh" "$sroot" "$w/mask" "$w/keys" bash /root/run-in-root.sh /root/bundle /root/results \
    >"$w/run.log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && [ -s "$sroot/root/results" ] || { fail "the sandbox run (exit $rc)" "$(tail -n 10 "$w/run.log")"; }
  cp "$sroot/root/results" "$w/results" 2>/dev/null
  cp "$sroot/var/log/hha-scripts.log" "$w/scripts.log" 2>/dev/null
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    [ "${line#* }" = control ] && continue
    n_all=$((n_all + 1))
    if [ "${line%% *}" = 0 ]; then n_ok=$((n_ok + 1)); else bad+=("$line"); fi
  done <"$w/results"
  log "$n_ok of $n_all scripts ran to the end (exit 0); the others stopped where a hostile value is refused or a stand-in's answer is not enough:"
  for line in ${bad[@]+"${bad[@]}"}; do log "  exit $line"; done
  # Every host's install.sh must run to its end: that is where most values are used.
  out=$(grep -E '^[1-9][0-9]* hosts/[^ ]*( [^ ]*)*/install\.sh *$' "$w/results")
  [ "$n_all" -ge 10 ] && [ -z "$out" ] && pass "every install.sh ran to its end in the sandbox ($n_all scripts run)" ||
    fail "an install.sh stopped early in the sandbox" "$out" "$(tail -n 20 "$w/scripts.log")"

  out=$(canary_files "$w/t/upper" /tmp "$sroot/root/bundle")
  if [ "$out" = "$w/t/upper/tmp/hha-canary-control" ]; then
    pass "no canary file: the scripts never ran a value (the positive control created its own)"
  elif grep -q 'hha-canary-control' <<<"$out"; then
    fail "a hostile value ran as code: canary files created" "$(grep -v 'hha-canary-control' <<<"$out")"
  else
    fail "the positive control did not create its canary: this test cannot see an injection" "$out"
  fi
  return 0
}
