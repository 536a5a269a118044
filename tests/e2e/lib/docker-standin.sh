#!/usr/bin/env bash
# harbor-ha e2e: stands in for `docker compose` on a Harbor node of the backup drill, installed
# as /usr/local/bin/docker in the node's disposable root (there is no Docker engine here).
# "Harbor" on the node is Docker Distribution's registry (Harbor's registry, on the node's
# address and HTTP port, its storage under the data volume as Harbor keeps it) and the API
# stand-in (harbor_standin.py, on the node's loopback and HTTP port).
#   docker compose version   a version line
#   docker compose down      stop both, and wait until they are gone
#   docker compose up -d     start both, detached
# Every call is logged with the time in ms to /var/log/e2e-docker.log.
set -uo pipefail
# shellcheck source=/dev/null
. /etc/e2e/node.env
RUN=/var/lib/e2e-harbor
LOG=/var/log/e2e-docker.log
mkdir -p "$RUN"
log() { printf '%s %s\n' "$(date +%s%3N)" "$*" >>"$LOG"; }

stop_all() {
  local f pid i
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
      # Gone, or a zombie (the shell that started it has exited; nothing here reaps it).
      case "$(ps -o stat= -p "$pid" 2>/dev/null)" in '' | Z*) break ;; esac
      sleep 0.05
      [ "$i" -eq 80 ] && kill -KILL "$pid" 2>/dev/null
    done
    rm -f "$f"
  done
}

start_all() {
  setsid docker-registry serve /etc/e2e/registry.yml >>/var/log/e2e-registry.log 2>&1 </dev/null &
  echo $! >"$RUN/registry.pid"
  setsid env PGPASSWORD="$PGPASSWORD" python3 /usr/local/lib/e2e/harbor_standin.py --listen 127.0.0.1 --port "$PORT" \
    --api "$API" --version "$VERSION" --password-file /etc/e2e/admin-password --psql "$PG_BIN/psql" \
    --db-host "$DB_HOST" --db-port "$DB_PORT" --log /var/log/e2e-standin.log >>/var/log/e2e-standin.out 2>&1 </dev/null &
  echo $! >"$RUN/api.pid"
}

case "${1:-} ${2:-}" in
  'compose version') echo 'Docker Compose version e2e-stand-in' ;;
  'compose down') log down; stop_all; log down-done ;;
  'compose up') log up; stop_all; start_all; log up-done ;;
  *) echo "docker stand-in: not supported: $*" >&2; exit 1 ;;
esac
