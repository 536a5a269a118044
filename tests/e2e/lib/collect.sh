# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# collect.sh run for real on the hosts the install part installed (each in its disposable
# root, chrooted in its namespace, as `collect.sh --local HOST` on the host itself): the tree
# it gives is what `harbor-ha drift` finds clean against the bundle, and a hand edit made
# afterwards is drift. Runs at the end of the install part (it needs its installed hosts);
# `--only collect` runs that part.

# collect_in_root HOST OUT: collect HOST from its root with the bundle's collect.sh (the
# bundle copied into the root, without its secrets/, so the script reads the host's files
# and units from it), into OUT/HOST.
collect_in_root() {
  local h=$1 out=$2 d="$INSTALL_WORK/$1"
  rm -rf "$d/root/root/bundle" "$d/root/root/collected"
  cp -a "$INSTALL_BUNDLE" "$d/root/root/bundle" && rm -rf "$d/root/root/bundle/secrets" || return 1
  ip netns exec "$(ns_of "$h")" unshare -m --propagation private \
    bash "$HERE/lib/in-root.sh" "$d/root" "$d/mask" "$d/sysctl-keys" \
    bash /root/bundle/collect.sh --local "$h" -o /root/collected >"$d/collect.log" 2>&1 || return 1
  rm -rf "${out:?}/$h"
  mkdir -p "$out"
  cp -a "$d/root/root/collected/$h" "$out/$h"
}

# install_collect_checks HOST...: collect, drift clean; edit a file by hand, collect, drift.
install_collect_checks() {
  local h out t0 dt hosts=() args=() drift lb conf
  out="$INSTALL_WORK/collected"
  t0=$(ms)
  for h in "$@"; do
    if collect_in_root "$h" "$out"; then
      hosts+=("$h")
      args+=(--host "$h")
    else
      fail "$h: collect.sh --local $h fails in its root" "$(tail -n 8 "$INSTALL_WORK/$h/collect.log")"
    fi
  done
  [ "${#hosts[@]}" -gt 0 ] || return 0
  dt=$(( $(ms) - t0 ))
  pass "collect.sh collected ${hosts[*]} from their roots ($((dt / 1000)).$(( (dt % 1000) / 100 )) s): $(cat "$INSTALL_WORK"/*/collect.log 2>/dev/null | grep -c '^collected ') hosts, $(find "$out" -name '*.sha256' | wc -l) secret-bearing files as digests"
  # Secrets never leave a host: no value of the bundle's secrets directory is in the tree.
  local leak="" f v
  while IFS= read -r f; do
    v=$(head -n 1 "$f")
    [ "${#v}" -ge 8 ] || continue
    if grep -rqF -- "$v" "$out"; then leak+="$f "; fi
  done < <(find "$INSTALL_BUNDLE/secrets" -type f ! -name '*.pem')
  [ -z "$leak" ] && pass "no secret of the bundle's secrets/ is in the collected tree" ||
    fail "secrets reached the collected tree" "$leak"
  if drift="$("$HARBOR_HA" drift "$INSTALL_BUNDLE" "$out" "${args[@]}" 2>&1)"; then
    pass "harbor-ha drift: the installed ${hosts[*]} match the bundle ($(tail -n 1 <<<"$drift"))"
  else
    fail "harbor-ha drift finds drift on the freshly installed hosts" "$(head -n 30 <<<"$drift")"
  fi
  # A hand edit on the first LB (or the first host), collected again: drift, with its diff.
  lb=${hosts[0]}
  for h in "${hosts[@]}"; do case " ${ROLES[$h]} " in *" lb "*) lb=$h; break ;; esac; done
  case " ${ROLES[$lb]} " in
    *" lb "*) conf=/etc/nginx/conf.d/harbor.conf ;;
    *) conf=/etc/exports.d/harbor.exports ;;
  esac
  printf '# hand edit\n' >>"$INSTALL_WORK/$lb/root$conf"
  if collect_in_root "$lb" "$out"; then
    drift="$("$HARBOR_HA" drift "$INSTALL_BUNDLE" "$out" "${args[@]}" 2>&1)"
    local rc=$?
    [ "$rc" -eq 1 ] && grep -qF "$lb: $conf differs" <<<"$drift" && grep -qx '+# hand edit' <<<"$drift" &&
      pass "after a hand edit of $conf on $lb, harbor-ha drift exits 1 and shows the diff" ||
      fail "harbor-ha drift misses the hand edit of $conf on $lb (exit $rc)" "$(head -n 20 <<<"$drift")"
  else
    fail "$lb: collect.sh fails after the edit" "$(tail -n 8 "$INSTALL_WORK/$lb/collect.log")"
  fi
}
