#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # the site's values are set before this part; the scripts read its variables
# Template of the part that backup.sh and restore.sh share (render/backup/scripts.rs fills it
# into both, after the site's values): paths and logging, the credentials, running a command
# on a Harbor node (ssh), Harbor's API, PostgreSQL through a Harbor node, and the repository
# (restic or rsync).
# ---
PROG=${0##*/}
BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$BUNDLE/backup/$SITE
SECRETS=$BUNDLE/secrets/$SITE
STATE=/var/lib/harbor-ha/backup/$SITE
RESTIC_HOST=harbor-ha-$SITE
HOOK=${HARBOR_HA_STORAGE_HOOK:-/etc/harbor-ha/backup/$SITE/storage-hook}
umask 077

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
# secs MS: milliseconds as seconds with one decimal.
secs() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# sq WORD: WORD as one single-quoted word of a shell command line (for ssh).
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# need CMD...: every command is installed on this host.
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "$c is not installed here (hosts/$BACKUP_HOST/install.sh installs it)"
  done
}

# The credentials: Harbor's database role, the admin account and the repository password.
[ -r "$HERE/credentials.env" ] || die "$HERE/credentials.env is missing or unreadable (run as root)"
# shellcheck source=/dev/null
. "$HERE/credentials.env"
API_USER=${HARBOR_HA_API_USER:-$API_USER}
API_PASSWORD=${HARBOR_HA_API_PASSWORD:-$API_PASSWORD}

# on_node I SCRIPT: run the bash SCRIPT on Harbor node I (here, when it is this host) with
# this script's standard input and output; passwords only ever go through standard input.
# One ssh connection per node is reused (ControlMaster) and closed at the end (close_ssh).
on_node() {
  if [ "${NODE_NAMES[$1]}" = "$BACKUP_HOST" ]; then
    bash -c "$2"
  else
    ssh -o BatchMode=yes -o ConnectTimeout=10 -o ControlMaster=auto -o "ControlPath=$STATE/ssh-%C" \
      -o ControlPersist=120 "root@${NODE_ADDRS[$1]}" "bash -c $(sq "$2")"
  fi
}

# close_ssh: end the ssh connections on_node opened.
close_ssh() {
  local c
  for c in "$STATE"/ssh-*; do
    [ -S "$c" ] && ssh -o "ControlPath=$c" -O exit placeholder >/dev/null 2>&1
  done
  return 0
}

# reachable I: node I runs commands (ssh works).
reachable() { on_node "$1" true </dev/null >/dev/null 2>&1; }

# api I METHOD PATH [JSON]: Harbor's API on node I, at the node's own loopback (the admin's
# credentials go to curl on standard input, never on a command line).
api() {
  local i=$1 method=$2 path=$3 body=${4:-} user pass cmd
  user=${API_USER//\\/\\\\} pass=${API_PASSWORD//\\/\\\\}
  cmd="curl -sS -f --max-time 30 -K - -X $method -H 'Content-Type: application/json'"
  if [ -n "$body" ]; then cmd+=" --data $(sq "$body")"; fi
  cmd+=" $(sq "http://127.0.0.1:${NODE_PORTS[$i]}$path")"
  printf 'user = "%s:%s"\n' "${user//\"/\\\"}" "${pass//\"/\\\"}" | on_node "$i" "$cmd"
}

# healthy I: Harbor on node I answers its health check.
healthy() {
  on_node "$1" "curl -fsS --max-time 5 $(sq "http://127.0.0.1:${NODE_PORTS[$1]}$PING") >/dev/null" </dev/null >/dev/null 2>&1
}

# first_healthy: the index of the first Harbor node that answers.
first_healthy() {
  local i
  for i in "${!NODE_NAMES[@]}"; do
    if healthy "$i"; then printf '%s\n' "$i"; return 0; fi
  done
  return 1
}

# read_only I: `true` or `false`, Harbor's read-only mode as node I reports it.
read_only() {
  local out
  out=$(api "$1" GET "$API/configurations") || return 1
  out=$(printf '%s' "$out" | tr -d ' \n\r\t' | grep -o '"read_only":{[^}]*}' | grep -o '"value":\(true\|false\)') || return 1
  printf '%s\n' "${out#*:}"
}

# set_read_only I true|false: turn read-only mode on or off through node I, and check it.
set_read_only() {
  api "$1" PUT "$API/configurations" "{\"read_only\":$2}" >/dev/null || return 1
  [ "$(read_only "$1")" = "$2" ]
}

# live_version I: the Harbor release node I runs (systeminfo), e.g. 2.11.1.
live_version() {
  api "$1" GET "$API/systeminfo" | tr -d ' \n\r\t' | sed -n 's/.*"harbor_version":"v\{0,1\}\([0-9][0-9.]*\).*/\1/p'
}

# same_version LIVE WANTED: LIVE is the release WANTED names (2.11 names every 2.11.x).
same_version() { [ "$1" = "$2" ] || [[ $1 == "$2".* ]]; }

# pg_on I PROGRAM ARGS: PROGRAM (pg_dump, pg_restore, psql) on node I as Harbor's role, at
# the address Harbor uses (the one server, or the cluster's endpoint, which reaches the
# primary). The first line of standard input is the password; the rest goes to PROGRAM.
pg_on() {
  on_node "$1" "IFS= read -r PGPASSWORD && export PGPASSWORD PGSSLMODE=$(sq "$DB_SSLMODE") PGCONNECT_TIMEOUT=10 && exec $(sq "${NODE_PG_BINS[$1]}/$2") -w -h $(sq "$DB_HOST") -p $DB_PORT -U $(sq "$DB_USER") $3"
}

# sql I DATABASE QUERY: the rows of QUERY (psql -tA), through node I.
sql() {
  printf '%s\n' "$DB_PASSWORD" | pg_on "$1" psql "-X -tA -v ON_ERROR_STOP=1 -d $(sq "$2") -c $(sq "$3")"
}

# compose I ARGS: docker compose in Harbor's directory on node I.
compose() {
  on_node "$1" "cd $(sq "$HARBOR_DIR") && if docker compose version >/dev/null 2>&1; then docker compose $2; else docker-compose $2; fi" </dev/null
}

# --- the repository -----------------------------------------------------------------------
# restic: one snapshot per backup (host harbor-ha-<site>, tags harbor-ha and id=<ID>) holding
# the staging directory (manifest, dumps, secrets) and the storage directory.
# rsync: <target>/<site>/<ID>/meta/ and storage/ (unchanged files hard-linked to the previous
# backup's), and <target>/<site>/<ID>.complete, written last, marking it whole.

restic_env() {
  export RESTIC_REPOSITORY=$TARGET RESTIC_PASSWORD=$REPOSITORY_PASSWORD
}

# rsync_ssh: rsync's remote shell for an ssh:// target.
RSYNC_E=()
if [ -n "$RSYNC_SSH_PORT" ]; then RSYNC_E=(-e "ssh -o BatchMode=yes -p $RSYNC_SSH_PORT"); fi

# backups: the IDs of the site's complete backups, oldest first.
backups() {
  if [ "$TOOL" = restic ]; then
    restic_env
    { restic snapshots --no-lock --host "$RESTIC_HOST" --tag harbor-ha --json 2>/dev/null || true; } |
      tr ',' '\n' | sed -n 's/.*"id=\([0-9TZ.]*\)".*/\1/p' | sort
  else
    # (A target without backups yet has no directory of the site: rsync exits 23.)
    { rsync --list-only ${RSYNC_E[@]+"${RSYNC_E[@]}"} "$RSYNC_BASE/" 2>/dev/null || true; } |
      awk '{ print $NF }' | sed -n 's/^\([0-9TZ.]*\)\.complete$/\1/p' | sort
  fi
}

# fetch_meta ID DIR: the manifest, dumps and secrets of backup ID into DIR.
fetch_meta() {
  local id=$1 dir=$2
  mkdir -p "$dir"
  if [ "$TOOL" = restic ]; then
    restic_env
    restic restore latest --host "$RESTIC_HOST" --tag "harbor-ha,id=$id" --target "$dir/r" --include "$STATE/staging" >/dev/null || return 1
    mv "$dir/r$STATE/staging" "$dir/meta" && rm -rf "$dir/r"
  else
    rsync -a ${RSYNC_E[@]+"${RSYNC_E[@]}"} "$RSYNC_BASE/$id/meta/" "$dir/meta/"
  fi
}

# manifest_value FILE KEY: a top-level string or number of a manifest.json.
manifest_value() { sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$1" | head -n 1; }

# storage_stats DIR: `FILES BYTES` of the regular files under DIR.
storage_stats() { find "$1" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'; }
