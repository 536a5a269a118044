# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The Ansible part: the harbor_ha.ha collection, built with ansible-galaxy (make
# ansible-collection) and installed from its tarball, deploys the Debian 12 install fixture's
# bundle with the bundle's own inventory.ini (playbook harbor_ha.ha.deploy), for real, twice.
# The hosts are the install part's: a disposable root per host (lib/install.sh), in the host's
# network namespace. Ansible reaches them through a connection plugin of this test
# (tests/e2e/ansible/connection_plugins/e2e_root.py: the host's wrapper runs each command
# chrooted in its namespace; files are copied into the root's mount point). The Harbor nodes
# are left out with --limit (their install.sh needs Docker and Harbor's offline installer).

# ansible_run N [ARG...]: run harbor_ha.ha.deploy (run N) on the targets; output in play-N.log,
# exit status returned.
ansible_run() {
  local n=$1
  shift
  (
    cd "$ANSIBLE_WORK" &&
      env -i PATH="$ROOT/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$ANSIBLE_WORK/home" LC_ALL=C.UTF-8 \
        ANSIBLE_HOME="$ANSIBLE_WORK/home/.ansible" ANSIBLE_LOCAL_TEMP="$ANSIBLE_WORK/tmp" \
        ANSIBLE_COLLECTIONS_PATH="$ANSIBLE_WORK/collections" ANSIBLE_CONNECTION_PLUGINS="$HERE/ansible/connection_plugins" \
        ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 ANSIBLE_FORCE_COLOR=0 \
        "$ROOT/.venv/bin/ansible-playbook" -i "$INSTALL_BUNDLE/inventory.ini" harbor_ha.ha.deploy \
        --limit "$(IFS=,; echo "${ANSIBLE_TARGETS[*]}")" -e '{"harbor_ha_install_environment": {"APT_UPDATED": "1"}}' "$@"
  ) >"$ANSIBLE_WORK/play-$n.log" 2>&1
}

# ansible_recap N HOST: HOST's line of run N's PLAY RECAP ("ok=.. changed=.. ...").
ansible_recap() {
  sed -n "s/^$1[[:space:]]*:[[:space:]]*//p" "$ANSIBLE_WORK/play-$2.log" | tr -s ' '
}

# ansible_order N: the hosts whose install.sh run N started, in the order it started them.
ansible_order() {
  awk '/^TASK \[/ { run = /^TASK \[Run install\.sh\]/; next }
    run && match($0, /^(ok|changed|fatal|failed): \[[^]]+\]/) {
      h = substr($0, RSTART, RLENGTH); sub(/^[a-z]+: \[/, "", h); sub(/\]$/, "", h); print h; run = 0
    }' "$ANSIBLE_WORK/play-$1.log" | paste -sd' '
}

# ansible_host_setup HOST: HOST's disposable root without the bundle (the playbook copies
# it), its command wrapper, and its host_vars beside the bundle's inventory.ini.
ansible_host_setup() {
  local h=$1 d="$INSTALL_WORK/$1"
  install_root "$h" || return 1
  rm -rf "$d/root/root/harbor-ha"
  cat >"$d/exec" <<EOS
#!/usr/bin/env bash
# Runs its arguments inside $h: its network namespace, a private mount namespace, its root.
exec ip netns exec $(ns_of "$h") unshare -m --propagation private bash $HERE/lib/in-root.sh $d/root $d/mask $d/sysctl-keys "\$@"
EOS
  chmod 0755 "$d/exec"
  mkdir -p "$INSTALL_BUNDLE/host_vars"
  cat >"$INSTALL_BUNDLE/host_vars/$h.yml" <<EOS
ansible_connection: e2e_root
harbor_ha_e2e_wrapper: $d/exec
harbor_ha_e2e_root: $d/root
ansible_python_interpreter: /usr/bin/python3
# Connected as root; the disposable root has no sudo.
ansible_become: false
EOS
}

test_ansible() {
  local fixture=$INSTALL_FIXTURE h t0 t1 out tarball recap n rc want got first
  section "Ansible: harbor_ha.ha.deploy deploys $(basename "$fixture" .yaml) with its inventory.ini, twice"
  NS_TAG="he${RUN_ID}a" CURRENT_FIXTURE=ansible
  ANSIBLE_WORK="$WORK/ansible"
  INSTALL_WORK="$ANSIBLE_WORK/hosts"
  INSTALL_BUNDLE="$ANSIBLE_WORK/bundle"
  mkdir -p "$INSTALL_WORK" "$ANSIBLE_WORK/home" "$ANSIBLE_WORK/tmp"
  t0=$(ms)
  # ansible-core in .venv (harbor-ha-py/requirements-test.txt) and the collection's tarball.
  if ! out="$(make -s -C "$ROOT" ansible-collection 2>&1)"; then setup_fail "make ansible-collection" "$(tail -n 10 <<<"$out")"; return 1; fi
  tarball="$(find "$ROOT/target/ansible" -name "harbor_ha-ha-*.tar.gz" 2>/dev/null | head -n1)"
  if ! out="$("$ROOT/.venv/bin/ansible-galaxy" collection install --offline -p "$ANSIBLE_WORK/collections" "$tarball" 2>&1)"; then
    setup_fail "ansible-galaxy collection install $tarball" "$out"; return 1
  fi
  pass "ansible-galaxy collection install ${tarball##*/} (built by make ansible-collection; $("$ROOT/.venv/bin/ansible-playbook" --version 2>/dev/null | sed -n 1p); $(( ($(ms) - t0) / 1000 )) s)"
  if ! out="$(render "$ROOT/$fixture" "$INSTALL_BUNDLE")"; then setup_fail "harbor-ha render $fixture" "$out"; return 1; fi
  if ! quiet topo_load "$INSTALL_BUNDLE" "$ROOT/$fixture"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  mapfile -t ANSIBLE_TARGETS < <(install_targets)
  install_targets_debian12 "${ANSIBLE_TARGETS[@]}" || return 1
  log "hosts: ${ANSIBLE_TARGETS[*]} (--limit: the Harbor nodes' install.sh needs Docker and Harbor's offline installer)"
  # The install part's download, when it ran before in this suite (same fixture, same hosts).
  if compgen -G "$WORK/install/debs/*.deb" >/dev/null; then
    mkdir -p "$INSTALL_WORK/debs" && cp "$WORK"/install/debs/*.deb "$INSTALL_WORK/debs/"
  elif ! fetch_debs "${ANSIBLE_TARGETS[@]}"; then setup_fail "apt-get --download-only of the scripts' packages" "$(tail -n 5 "$INSTALL_WORK/apt.log")"; return 1; fi
  if ! quiet net_setup 8; then setup_fail "network namespaces" "$LAST_OUT"; cleanup; return 1; fi
  for h in "${ANSIBLE_TARGETS[@]}"; do
    quiet ansible_host_setup "$h" || { setup_fail "disposable root for $h" "$LAST_OUT"; cleanup; return 1; }
  done
  install_operator_certs "${ANSIBLE_TARGETS[@]}"

  want="${ANSIBLE_TARGETS[*]}"
  for n in 1 2; do
    t1=$(ms)
    ansible_run "$n"
    rc=$?
    log "run $n: exit $rc in $(( ($(ms) - t1) / 1000 )) s"
    [ "$rc" -eq 0 ] && pass "run $n: ansible-playbook -i bundle/inventory.ini harbor_ha.ha.deploy succeeds" ||
      { fail "run $n: harbor_ha.ha.deploy fails (exit $rc)" "$(grep -E '^(fatal|failed|TASK|PLAY RECAP)|FAILED' "$ANSIBLE_WORK/play-$n.log" | tail -n 12)"; cleanup; return 1; }
    got="$(ansible_order "$n")"
    [ "$got" = "$want" ] && pass "run $n: install.sh ran one host at a time in install order: $got" ||
      fail "run $n: install order $got (the inventory's is $want)"
    for h in "${ANSIBLE_TARGETS[@]}"; do
      recap="$(ansible_recap "$h" "$n")"
      if [ "$n" = 1 ]; then
        [[ $recap == *" changed=1 "* && $recap == *" failed=0 "* ]] && pass "run 1: $h is changed ($recap)" ||
          fail "run 1: $h is not reported changed" "$recap"
      else
        [[ $recap == *" changed=0 "* && $recap == *" failed=0 "* && $recap != "ok=0 "* ]] && pass "run 2: $h is all ok, nothing changed ($recap)" ||
          fail "run 2: $h is not all ok" "$recap" "$(grep -A3 "changed: \[$h\]" "$ANSIBLE_WORK/play-2.log" | head -n 12)"
      fi
    done
  done
  # What the playbook installed answers (the install part's checks, through ufw).
  CLIENT_NS="$(ns_of client)"
  for h in "${ANSIBLE_TARGETS[@]}"; do install_after_checks "$h"; done

  # The first failure stops the play: the hosts after it are not touched.
  first=${ANSIBLE_TARGETS[0]}
  sed -i '2i echo "e2e: broken on purpose" >&2; exit 3' "$INSTALL_BUNDLE/hosts/$first/install.sh"
  ansible_run 3
  rc=$?
  got="$(ansible_order 3)"
  [ "$rc" -ne 0 ] && [ "$got" = "$first" ] && [[ $(ansible_recap "$first" 3) == *" failed=1 "* ]] &&
    pass "a failing install.sh on $first stops the play (exit $rc): no host after it ran" ||
    fail "a failing install.sh on $first did not stop the play (exit $rc; install.sh ran on: $got)" "$(tail -n 8 "$ANSIBLE_WORK/play-3.log")"
  log "Ansible part: $(( ($(ms) - t0) / 1000 )) s"
  cleanup
}
