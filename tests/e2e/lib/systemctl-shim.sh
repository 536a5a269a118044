#!/usr/bin/env bash
# harbor-ha e2e: stands in for systemctl inside the disposable root, installed as
# /usr/local/sbin/systemctl. This machine has no systemd as PID 1, so `systemctl start` cannot work.
# - is-enabled / enable / disable: the real systemctl (it edits unit symlinks offline).
# - is-active / start / stop / restart / reload: start and check the unit's real daemon the way
#   its Debian unit does (same binary, same config file, same pid file).
# - chrony and nfs-server are only marked active, never started: chronyd would steer this
#   machine's clock, and nfsd would run in this machine's shared kernel.
# Every call is logged to /var/log/harbor-ha-e2e-systemctl.log.
set -uo pipefail
STATE=/var/lib/harbor-ha-e2e-systemctl
mkdir -p "$STATE"
echo "systemctl $*" >>/var/log/harbor-ha-e2e-systemctl.log
quiet=0
args=()
for a in "$@"; do
  case $a in
    --quiet | -q) quiet=1 ;;
    --now | --no-block | --system | --no-pager) ;;
    *) args+=("$a") ;;
  esac
done
cmd=${args[0]:-}
unit=${args[1]:-}
unit=${unit%.service}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

is_active() {
  case $unit in
    nginx) pid_alive /run/nginx.pid ;;
    redis-server | redis) pid_alive /run/redis/redis-server.pid ;;
    keepalived) pid_alive /run/keepalived.pid ;;
    postgresql) pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { f = 1 } END { exit !f }' ;;
    chrony | chronyd | nfs-server | nfs-kernel-server) [ -f "$STATE/active-$unit" ] ;;
    *) return 3 ;;
  esac
}

clusters() { pg_lsclusters -h | awk '{ print $1 " " $2 }'; }

start() {
  local v c
  case $unit in
    nginx) nginx -t -q -g 'daemon on; master_process on;' && nginx -g 'daemon on; master_process on;' ;;
    redis-server | redis)
      install -d -o redis -g redis -m 2755 /run/redis
      # The unit runs it in the foreground under systemd; here it daemonizes itself.
      runuser -u redis -- redis-server /etc/redis/redis.conf --supervised no --daemonize yes ;;
    keepalived) keepalived -p /run/keepalived.pid ;;
    postgresql) while read -r v c; do pg_ctlcluster "$v" "$c" start || return 1; done < <(clusters) ;;
    chrony | chronyd | nfs-server | nfs-kernel-server) touch "$STATE/active-$unit" ;;
    *) echo "harbor-ha e2e systemctl: unit $unit not supported" >&2; return 5 ;;
  esac
}

stop() {
  local v c
  case $unit in
    nginx) nginx -s quit 2>/dev/null; for _ in $(seq 50); do pid_alive /run/nginx.pid || break; sleep 0.1; done ;;
    redis-server | redis | keepalived)
      local f=/run/keepalived.pid
      [ "$unit" = keepalived ] || f=/run/redis/redis-server.pid
      if pid_alive "$f"; then kill "$(cat "$f")"; for _ in $(seq 50); do pid_alive "$f" || break; sleep 0.1; done; fi ;;
    postgresql) while read -r v c; do pg_ctlcluster "$v" "$c" stop || true; done < <(clusters) ;;
    *) rm -f "$STATE/active-$unit" ;;
  esac
}

reload() {
  local v c
  case $unit in
    nginx) nginx -g 'daemon on; master_process on;' -s reload ;;
    postgresql) while read -r v c; do pg_ctlcluster "$v" "$c" reload; done < <(clusters) ;;
    keepalived) kill -HUP "$(cat /run/keepalived.pid)" ;;
    *) stop; start ;;
  esac
}

case $cmd in
  is-enabled | enable | disable | daemon-reload)
    if [ "$quiet" -eq 1 ]; then exec /usr/bin/systemctl --quiet "${args[@]}"; fi
    exec /usr/bin/systemctl "${args[@]}" ;;
  is-active)
    if is_active; then [ "$quiet" -eq 1 ] || echo active; exit 0; fi
    [ "$quiet" -eq 1 ] || echo inactive
    exit 3 ;;
  start) is_active || start ;;
  stop) stop ;;
  restart) stop; start ;;
  reload) reload ;;
  reload-or-restart | try-restart) if is_active; then reload; else start; fi ;;
  *) echo "harbor-ha e2e systemctl: '$cmd' not supported" >&2; exit 1 ;;
esac
