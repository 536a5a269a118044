#!/usr/bin/env bash
# canary/run-in-root.sh BUNDLE RESULTS: run every script of the hostile bundle, inside the
# disposable root (tests/e2e/lib/canary.sh). Commands that would act outside the root, wait
# on a network or a daemon (package managers, systemctl, docker, curl, ssh, firewalls,
# sysctl, mount, keepalived, ...) are stand-ins that log their arguments and succeed, so
# that the scripts run as far as they can; the shell, coreutils (touch included), grep, sed,
# awk, jq, install and nginx -t are the real ones. Writes "RC SCRIPT" lines to RESULTS.
set -u
BUNDLE=$1 RESULTS=$2
STUBS=/usr/local/hha-stubs
mkdir -p "$STUBS"
cat >"$STUBS/_stub" <<'STUB'
#!/bin/sh
# A stand-in: log the call, succeed. curl answers 200 with an empty JSON list.
printf '%s\n' "$(basename "$0") $*" >>/var/log/hha-stubs.log
case "$(basename "$0")" in
  curl)
    out=""
    while [ "$#" -gt 0 ]; do
      case "$1" in
        -o|--output) out=$2; shift ;;
        -w|--write-out) printf '200' ;;
      esac
      shift
    done
    if [ -n "$out" ] && [ "$out" != /dev/null ]; then printf '[]' >"$out"; fi
    ;;
  exportfs)
    # -v: what is exported, the paths decoded from the exports files' octal escapes.
    if [ "${1:-}" = -v ]; then
      cat /etc/exports.d/*.exports 2>/dev/null | grep -v '^#' | while read -r path _; do
        printf '%b\t<world>\n' "$(printf '%s' "$path" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')"
      done
    fi
    ;;
esac
exit 0
STUB
chmod 0755 "$STUBS/_stub"
for c in apt-get apt dnf yum rpm systemctl service docker docker-compose curl wget ssh scp rsync \
  ufw firewall-cmd iptables ip6tables iptables-save sysctl mount umount mountpoint exportfs \
  setsebool semanage restorecon getenforce chronyc timedatectl hostnamectl psql pg_ctlcluster \
  postgresql-setup runuser su sudo redis-cli keepalived ip modprobe update-ca-certificates sleep \
  openssl tar ansible-playbook getent nc ping dig host nslookup; do
  ln -sf _stub "$STUBS/$c"
done
# Called by absolute path.
for c in /usr/lib/postgresql/*/bin/pg_isready; do ln -sf "$STUBS/_stub" "$c"; done
export PATH="$STUBS:$PATH" APT_UPDATED=1
# The secrets the replication scripts take from the environment, hostile too.
while IFS= read -r v; do
  export "$v=Env'\"\$(touch /tmp/hha-canary-envsecret)\`touch /tmp/hha-canary-envsecret2\`;#\\ x"
done < <(grep -rhoE 'HHA_[A-Z0-9_]+_(PASSWORD|SECRET|CREDENTIALS)' "$BUNDLE/replication" | sort -u)
: >"$RESULTS"
# Every script: the hosts' install.sh and the files they install, deploy.sh, verify.sh,
# the replication scripts. Each runs from its own directory with its own interpreter.
while IFS= read -r -d '' f; do
  d=$(dirname "$f")
  rel=${f#"$BUNDLE"/}
  # Scripts installed under files/ run at their installed place; running them from the
  # bundle is the same code.
  (cd "$d" && timeout 120 "./$(basename "$f")" </dev/null >>/var/log/hha-scripts.log 2>&1)
  printf '%s %s\n' "$?" "$rel" | tr '\n' ' ' >>"$RESULTS"
  printf '\n' >>"$RESULTS"
done < <(find "$BUNDLE" -type f -name '*.sh' -print0 | sort -z)
# The positive control: a script that does what the generated ones must never do (expand
# a topology value as code). The test expects its canary, and only that one.
# shellcheck disable=SC2016  # the value must stay unexpanded here
printf '%s' '$(touch /tmp/hha-canary-control)' >/tmp/control-value
bash -c 'v=$(cat /tmp/control-value); eval "echo $v"' >/dev/null 2>&1
echo "$? control" >>"$RESULTS"
