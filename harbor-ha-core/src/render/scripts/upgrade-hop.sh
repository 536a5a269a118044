#!/usr/bin/env bash
# shellcheck disable=SC2034  # some values are read only by the database functions of a mode
# Template of upgrade/<site>/NN-*.sh (render/upgrade/hop.rs fills it): the values of one
# procedure (a Harbor hop, with the PostgreSQL upgrade it needs, or a PostgreSQL upgrade
# alone), the site's nodes, and the database functions of its mode (installed, external
# or internal), which the steps below use.
# ---
# @@header@@
set -euo pipefail

usage() {
  cat <<EOF
Usage: $0 [--user USER] [--remote-dir DIR] [--installer FILE] [--state-dir DIR] [--min-free-gb N]
          [--node NAME] [--rollback] [--dry-run]

$TITLE
Runs from an admin host with ssh access to every host of the site (as deploy.sh). The
steps, in order (a rerun resumes at the first step not done, and says so):

  preflight  every node runs Harbor $FROM; schema_migrations is $SCHEMA_FROM and not dirty;
             PostgreSQL and free disk suffice; the new installer is at hand
  stage      on every node: a copy of the installation for the rollback, the new
             installer unpacked, its images loaded (Harbor still serves)
  readonly   read-only mode on, through the API (pulls go on, pushes are refused)
  backup     pg_dump -Fc of Harbor's databases and a copy of the site's secrets
  stop       Harbor stopped on EVERY node
  postgres   the PostgreSQL upgrade, when this procedure has one
  migrate    the database migrated exactly once, on the first node, until
             schema_migrations is $SCHEMA_TO and not dirty
  start      the nodes started one by one with this procedure's files, each checked
  readwrite  read-only mode off

  --user USER       ssh user (default root; another user needs passwordless sudo)
  --remote-dir DIR  directory on the hosts that receives this procedure's files (default
                    /root/harbor-ha for root, harbor-ha in the home directory otherwise)
  --installer FILE  harbor-offline-installer-v$TO.tgz on this host: copied to every node
                    and unpacked into the installation directory (default: it is there)
  --state-dir DIR   where the progress is kept (default \$XDG_STATE_HOME/harbor-ha or
                    ~/.local/state/harbor-ha)
  --min-free-gb N   free space each node needs in the installation directory (default 8)
  --node NAME       with a database per node (internal database): the node to upgrade
  --rollback        stop the nodes, restore the dump and the previous installation,
                    start them again and turn read-only mode off
  --dry-run         print the commands instead of running them

The admin password is read from \$$ADMIN_ENV (or \$HARBOR_HA_ADMIN_PASSWORD).
EOF
}

# ---- the procedure (from the topology; every value quoted) ----------------------------
# @@values@@
# Every Harbor node of the site in install order: NAME ADDRESS HTTP_PORT DATA_VOLUME.
NODES=(
  # @@nodes@@
)

SSH_USER=root
REMOTE_DIR=
INSTALLER=
STATE_DIR=${XDG_STATE_HOME:-$HOME/.local/state}/harbor-ha
MIN_FREE_GB=8
ONLY_NODE=
ROLLBACK=0
DRY_RUN=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --user) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; SSH_USER=$2; shift 2 ;;
    --remote-dir) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; REMOTE_DIR=$2; shift 2 ;;
    --installer) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; INSTALLER=$2; shift 2 ;;
    --state-dir) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; STATE_DIR=$2; shift 2 ;;
    --min-free-gb) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; MIN_FREE_GB=$2; shift 2 ;;
    --node) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; ONLY_NODE=$2; shift 2 ;;
    --rollback) ROLLBACK=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: unknown argument %s\n' "$0" "$1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$SSH_USER" =~ ^[A-Za-z0-9._][A-Za-z0-9._-]*$ ]]; then
  printf '%s: --user %s is not a user name\n' "$0" "$SSH_USER" >&2; exit 2
fi
[[ "$MIN_FREE_GB" =~ ^[0-9]+$ ]] || { printf '%s: --min-free-gb takes a number\n' "$0" >&2; exit 2; }
if [ "$SSH_USER" = root ]; then SUDO=; else SUDO='sudo -n '; fi
if [ -z "$REMOTE_DIR" ]; then
  if [ "$SSH_USER" = root ]; then REMOTE_DIR=/root/harbor-ha; else REMOTE_DIR=harbor-ha; fi
fi
# The remote directory reaches a shell on the hosts: only characters that need no quoting.
[[ "$REMOTE_DIR" =~ ^[A-Za-z0-9._/~-]+$ ]] || { printf '%s: --remote-dir: use only letters, digits and . _ / ~ -\n' "$0" >&2; exit 2; }
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$BUNDLE"

log() { printf '[upgrade] %s\n' "$*"; }
die() { printf '[upgrade] error: %s\n' "$*" >&2; exit 1; }

# With a database per node (internal), one node at a time: --node picks it.
if [ "$DB_MODE" = internal ] && [ "${#NODES[@]}" -gt 4 ] && [ -z "$ONLY_NODE" ]; then
  die "each node has its own database: run this script once per node with --node NAME"
fi
if [ -n "$ONLY_NODE" ]; then
  keep=()
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    [ "${NODES[i]}" = "$ONLY_NODE" ] && keep=("${NODES[@]:i:4}")
  done
  [ "${#keep[@]}" -eq 4 ] || die "--node $ONLY_NODE is not a Harbor node of site $SITE"
  NODES=("${keep[@]}")
fi

# ---- running commands --------------------------------------------------------------------

# remote ADDRESS SCRIPT: run SCRIPT with bash as root on the host (stdin passes through).
remote() {
  if [ "$DRY_RUN" -eq 1 ]; then
    # On stderr: a command's output that the script reads stays empty.
    printf '+ ssh %s@%s: %s\n' "$SSH_USER" "$1" "$2" >&2
    return 0
  fi
  ssh -o BatchMode=yes "$SSH_USER@$1" "${SUDO}bash -c $(printf '%q' "$2")"
}

# copy_dir ADDRESS LOCAL_DIR REMOTE_DIR: the directory's content at REMOTE_DIR (replaced).
copy_dir() {
  local host=$1
  case "$host" in *:*) host="[$host]" ;; esac
  remote "$1" "rm -rf $(printf '%q' "$3") && mkdir -p $(printf '%q' "$3")"
  if [ "$DRY_RUN" -eq 1 ]; then printf '+ scp -rpq %s/. %s@%s:%s\n' "$2" "$SSH_USER" "$host" "$3" >&2; return 0; fi
  scp -rpq "$2/." "$SSH_USER@$host:$3"
}

# compose SUBCOMMAND...: the remote snippet that runs docker compose in the Harbor directory.
compose() {
  printf 'cd %q && if docker compose version >/dev/null 2>&1; then docker compose %s; else docker-compose %s; fi' \
    "$HARBOR_DIR" "$*" "$*"
}

# api ADDRESS PORT METHOD PATH [JSON]: Harbor's API on a node, as admin (the password goes
# over stdin, never on a command line).
api() {
  local data=${5:-} pw
  pw=${HARBOR_HA_ADMIN_PASSWORD:-${!ADMIN_ENV:-}}
  [ -n "$pw" ] || die "set $ADMIN_ENV (or HARBOR_HA_ADMIN_PASSWORD) to the admin password"
  pw=${pw//\\/\\\\}
  pw=${pw//\"/\\\"}
  local cmd
  cmd="curl -fsS --noproxy '*' --max-time 30 -K - -X $3 -H 'Content-Type: application/json' http://127.0.0.1:$2$4"
  [ -n "$data" ] && cmd+=" -d $(printf '%q' "$data")"
  remote "$1" "$cmd" <<<"user = \"admin:$pw\""
}

# ---- the database, in this procedure's mode -----------------------------------------------
# db_sql SQL: one value from Harbor's core database. db_server_num: server_version_num.
# db_wait: the database answers. db_dump: the backup. db_after_stop: what the backup needs
# once Harbor is stopped. db_restore: the backup back. pg_upgrade_step: the new PostgreSQL.
case "$DB_MODE" in
  installed)
    # PostgreSQL installed by the bundle (one host, or the primary of a cluster): the
    # superuser over the local socket on that host; the dumps stay there.
    DB_BACKUP="/var/backups/harbor-ha/$SITE-$NUMBER"
    pg_bin() {
      if [ "$PG_UPGRADE" -eq 1 ] && done_step postgres; then printf '%s' "$PG_BIN_TO"; else printf '%s' "$PG_BIN_FROM"; fi
    }
    # db_addr: the address of the host to run SQL on (a cluster's current primary).
    db_addr() {
      local i r
      if [ "${#DB_HOSTS[@]}" -eq 2 ] || [ "$DRY_RUN" -eq 1 ]; then printf '%s' "${DB_HOSTS[1]}"; return 0; fi
      for ((i = 0; i < ${#DB_HOSTS[@]}; i += 2)); do
        r=$(remote "${DB_HOSTS[i + 1]}" "cd / && runuser -u postgres -- $(pg_bin)/psql -X -q -p $DB_PORT -d postgres -tAc 'SELECT pg_is_in_recovery()'" 2>/dev/null) || continue
        [ "$r" = f ] && { printf '%s' "${DB_HOSTS[i + 1]}"; return 0; }
      done
      die "no PostgreSQL member answers as primary"
    }
    db_psql() { printf 'cd / && runuser -u postgres -- %q/psql -X -q -p %s -d %q -tA -v ON_ERROR_STOP=1' "$(pg_bin)" "$DB_PORT" "$1"; }
    db_sql() { remote "$(db_addr)" "$(db_psql "${DB_NAMES[0]}") -c $(printf '%q' "$1")"; }
    db_server_num() { db_sql 'SHOW server_version_num'; }
    db_wait() { :; }
    db_dump() {
      local d addr
      addr=$(db_addr)
      for d in "${DB_NAMES[@]}"; do
        remote "$addr" "install -d -m 700 -o postgres $DB_BACKUP && cd / && runuser -u postgres -- $(pg_bin)/pg_dump -Fc -p $DB_PORT -d $(printf '%q' "$d") -f $DB_BACKUP/$d.dump" ||
          die "pg_dump of $d failed"
        log "pg_dump -Fc of $d: $DB_BACKUP/$d.dump on $addr"
      done
    }
    db_after_stop() { :; }
    db_restore() {
      local d addr
      addr=$(db_addr)
      for d in "${DB_NAMES[@]}"; do
        remote "$addr" "cd / && runuser -u postgres -- $(pg_bin)/pg_restore --clean --if-exists --create -p $DB_PORT -d postgres $DB_BACKUP/$d.dump" ||
          die "pg_restore of $DB_BACKUP/$d.dump failed"
      done
    }
    pg_upgrade_step() {
      local d n
      log "PostgreSQL $PG_FROM -> $PG_TO on ${DB_HOSTS[0]}: the old server stops, the new one is installed, the dump restored"
      remote "${DB_HOSTS[1]}" "$PG_STOP_OLD" || die "stopping PostgreSQL $PG_FROM failed"
      install_on "${DB_HOSTS[0]}" "${DB_HOSTS[1]}" || die "installing PostgreSQL $PG_TO failed"
      for d in "${DB_NAMES[@]}"; do
        remote "${DB_HOSTS[1]}" "cd / && runuser -u postgres -- $PG_BIN_TO/pg_restore --clean --if-exists --create -p $DB_PORT -d postgres $DB_BACKUP/$d.dump" ||
          die "restoring $d into PostgreSQL $PG_TO failed (the dump is $DB_BACKUP/$d.dump; PostgreSQL $PG_FROM's data is untouched)"
      done
      mark postgres
      n=$(db_server_num) || die "PostgreSQL $PG_TO does not answer"
      [ "$DRY_RUN" -eq 1 ] || [ "${n:-0}" -ge "$PG_MIN_NUM" ] || die "PostgreSQL reports $n, below $PG_MIN_NUM"
      log "PostgreSQL $n, database restored"
    }
    ;;
  external)
    # An external server: psql, pg_dump and pg_restore on this admin host, as Harbor's
    # database user (password from $DB_ENV or PGPASSWORD); the dumps stay here.
    DB_BACKUP="$STATE_DIR/backup/$SITE-$NUMBER"
    db_run() {
      if [ "$DRY_RUN" -eq 1 ]; then printf '+ %s\n' "$*" >&2; return 0; fi
      PGPASSWORD=${PGPASSWORD:-${!DB_ENV:-}} PGCONNECT_TIMEOUT=10 "$@"
    }
    db_conn() { printf '%s dbname=%s' "$DB_CONN" "$1"; }
    db_sql() { db_run psql -X -q -tA -v ON_ERROR_STOP=1 "$(db_conn "${DB_NAMES[0]}")" -c "$1"; }
    db_server_num() { db_sql 'SHOW server_version_num'; }
    db_wait() { :; }
    db_dump() {
      local d
      command -v pg_dump >/dev/null || die "pg_dump is not installed on this host"
      mkdir -p "$DB_BACKUP" && chmod 700 "$DB_BACKUP"
      for d in "${DB_NAMES[@]}"; do
        db_run pg_dump -Fc -f "$DB_BACKUP/$d.dump" "$(db_conn "$d")" || die "pg_dump of $d failed"
        log "pg_dump -Fc of $d: $DB_BACKUP/$d.dump"
      done
    }
    db_after_stop() { :; }
    db_restore() {
      local d
      for d in "${DB_NAMES[@]}"; do
        db_run psql -X -q -v ON_ERROR_STOP=1 "$(db_conn "$d")" -c 'DROP OWNED BY CURRENT_USER' || die "emptying $d failed"
        db_run pg_restore --no-owner -d "$(db_conn "$d")" "$DB_BACKUP/$d.dump" || die "pg_restore of $d failed"
      done
    }
    pg_upgrade_step() { die "the external PostgreSQL server is upgraded by hand (CHANGE.md)"; }
    ;;
  internal)
    # Harbor's own database container on the node: the dump, and a copy of its data
    # directory once Harbor is stopped (Harbor's bundled PostgreSQL may change major).
    DB_BACKUP="/var/backups/harbor-ha/$SITE-$NUMBER"
    db_sql() { remote "${NODES[1]}" "docker exec harbor-db psql -U postgres -d registry -tA -v ON_ERROR_STOP=1 -c $(printf '%q' "$1")"; }
    db_server_num() { printf '999999'; }
    db_wait() {
      local i
      [ "$DRY_RUN" -eq 1 ] && return 0
      for i in $(seq 1 60); do
        remote "${NODES[1]}" "docker exec harbor-db pg_isready -q" >/dev/null 2>&1 && return 0
        sleep 2
      done
      die "the database container of ${NODES[0]} does not start"
    }
    db_dump() {
      remote "${NODES[1]}" "install -d -m 700 $DB_BACKUP && docker exec harbor-db pg_dump -U postgres -Fc registry > $DB_BACKUP/registry.dump" ||
        die "pg_dump on ${NODES[0]} failed"
      log "pg_dump -Fc of registry: $DB_BACKUP/registry.dump on ${NODES[0]}"
    }
    db_after_stop() {
      local d
      d=$(printf '%q' "${NODES[3]}/database")
      remote "${NODES[1]}" "[ -d $d.pre-$TO ] || cp -a $d $d.pre-$TO" || die "copying the database directory of ${NODES[0]} failed"
      log "${NODES[0]}: ${NODES[3]}/database copied to ${NODES[3]}/database.pre-$TO"
    }
    db_restore() {
      local d
      d=$(printf '%q' "${NODES[3]}/database")
      remote "${NODES[1]}" "if [ -d $d.pre-$TO ]; then rm -rf $d && cp -a $d.pre-$TO $d; fi" || die "restoring the database directory failed"
    }
    pg_upgrade_step() { die "Harbor's own database container is upgraded by Harbor"; }
    ;;
  *) die "unknown database mode $DB_MODE" ;;
esac

# ---- progress ----------------------------------------------------------------------------
STEPS=(preflight stage readonly backup stop postgres migrate start readwrite)
KEY="$SITE-$NUMBER${ONLY_NODE:+-$ONLY_NODE}"
STATE="$STATE_DIR/$KEY.done"
BACKUP_ID="$KEY"
mkdir -p "$STATE_DIR"
exec 9>"$STATE_DIR/$KEY.lock"
flock -n 9 || die "another run of this procedure holds $STATE_DIR/$KEY.lock"
touch "$STATE"
done_step() { grep -qx -- "$1" "$STATE"; }
mark() { [ "$DRY_RUN" -eq 1 ] || printf '%s\n' "$1" >>"$STATE"; }

# ---- helpers of the steps ----------------------------------------------------------------

# node_version ADDRESS PORT API: the Harbor release a node reports (systeminfo).
node_version() {
  local body
  body=$(api "$1" "$2" GET "$3/systeminfo") || return 1
  sed -n 's/.*"harbor_version"[[:space:]]*:[[:space:]]*"v\{0,1\}\([0-9][0-9.]*\).*/\1/p' <<<"$body"
}

# schema: "VERSION DIRTY" of schema_migrations (DIRTY t or f).
schema() { db_sql "SELECT version || CASE WHEN dirty THEN ' t' ELSE ' f' END FROM schema_migrations"; }

# read_only API VALUE: set read-only mode through the first node, and check it.
read_only() {
  local addr=${NODES[1]} port=${NODES[2]} body
  api "$addr" "$port" PUT "$1/configurations" "{\"read_only\":$2}" >/dev/null || die "PUT $1/configurations on ${NODES[0]} failed"
  [ "$DRY_RUN" -eq 1 ] && return 0
  body=$(api "$addr" "$port" GET "$1/configurations") || die "GET $1/configurations on ${NODES[0]} failed"
  tr -d ' \n' <<<"$body" | grep -q "\"read_only\":{\"value\":$2" || die "read_only is not $2 after setting it"
  log "read-only mode: $2"
}

# wait_ping ADDRESS PORT PATH: the node answers its health path (within 10 minutes: a core
# that migrates takes time).
wait_ping() {
  [ "$DRY_RUN" -eq 1 ] && return 0
  local i
  for i in $(seq 1 300); do
    remote "$1" "curl -fsS --noproxy '*' --max-time 5 http://127.0.0.1:$2$3" >/dev/null 2>&1 && return 0
    sleep 2
  done
  return 1
}

# ---- the steps ---------------------------------------------------------------------------

step_preflight() {
  local i name addr port v have
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]} port=${NODES[i + 2]}
    v=$(node_version "$addr" "$port" "$API_FROM") || die "$name ($addr) does not answer $API_FROM/systeminfo as admin"
    [ "$DRY_RUN" -eq 1 ] || [ "$v" = "$FROM" ] || die "$name runs Harbor ${v:-?}, not $FROM: every node must run the same release before a hop"
    have=$(remote "$addr" "df -Pk $(printf '%q' "$INSTALL_DIR") | awk 'NR==2 {print \$4}'") || die "cannot read the free space of $INSTALL_DIR on $name"
    [ "$DRY_RUN" -eq 1 ] || [ "${have:-0}" -ge $((MIN_FREE_GB * 1024 * 1024)) ] ||
      die "$name has $((${have:-0} / 1024 / 1024)) GiB free in $INSTALL_DIR, below --min-free-gb $MIN_FREE_GB"
    if [ "$MIGRATOR" != none ] && [ -z "$INSTALLER" ]; then
      remote "$addr" "test -s $(printf '%q' "$HARBOR_DIR/harbor.v$TO.tar.gz")" ||
        die "$name lacks $HARBOR_DIR/harbor.v$TO.tar.gz: pass --installer harbor-offline-installer-v$TO.tgz"
    fi
    log "$name: Harbor $FROM, ${have:-?} KiB free"
  done
  [ -z "$INSTALLER" ] || [ -s "$INSTALLER" ] || die "--installer $INSTALLER is not a file"
  v=$(schema) || die "cannot read schema_migrations"
  if [ -n "$SCHEMA_FROM" ]; then
    [ "$DRY_RUN" -eq 1 ] || [ "$v" = "$SCHEMA_FROM f" ] ||
      die "schema_migrations is '$v', expected '$SCHEMA_FROM f' (Harbor $FROM, clean): a dirty or unexpected schema must be repaired before any hop"
  fi
  v=$(db_server_num) || die "cannot read the PostgreSQL version"
  if [ "$PG_UPGRADE" -eq 1 ]; then
    log "PostgreSQL $v (the postgres step upgrades it to $PG_TO)"
  else
    [ "$DRY_RUN" -eq 1 ] || [ "${v:-0}" -ge "$PG_MIN_NUM" ] || die "PostgreSQL $v is older than Harbor $TO needs ($PG_MIN_NUM)"
    log "PostgreSQL $v"
  fi
  log "schema_migrations: ${v:-?}"
}

step_stage() {
  [ "$MIGRATOR" = none ] && return 0
  local i name addr q_dir q_pre
  q_dir=$(printf '%q' "$HARBOR_DIR") q_pre=$(printf '%q' "$HARBOR_DIR.pre-$TO")
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]}
    # The installation as it runs now, for the rollback (kept once made).
    remote "$addr" "[ -d $q_pre ] || { mkdir -p $q_pre.tmp && tar -C $q_dir --exclude='./harbor.v*.tar.gz' -cf - . | tar -C $q_pre.tmp -xf - && mv $q_pre.tmp $q_pre; }"
    if [ -n "$INSTALLER" ]; then
      copy_file "$addr" "$INSTALLER" "/tmp/harbor-offline-installer-v$TO.tgz"
      remote "$addr" "tar xzf /tmp/harbor-offline-installer-v$TO.tgz -C $(printf '%q' "$INSTALL_DIR") && rm -f /tmp/harbor-offline-installer-v$TO.tgz"
    fi
    remote "$addr" "docker image inspect goharbor/harbor-core:v$TO >/dev/null 2>&1 || docker load -i $q_dir/harbor.v$TO.tar.gz >/dev/null" ||
      die "loading the images of Harbor $TO on $name failed"
    log "$name: previous installation kept in $HARBOR_DIR.pre-$TO; Harbor $TO images loaded"
  done
}

# copy_file ADDRESS LOCAL REMOTE
copy_file() {
  local host=$1
  case "$host" in *:*) host="[$host]" ;; esac
  if [ "$DRY_RUN" -eq 1 ]; then printf '+ scp %s %s@%s:%s\n' "$2" "$SSH_USER" "$host" "$3" >&2; return 0; fi
  scp -q "$2" "$SSH_USER@$host:$3"
}

step_readonly() { read_only "$API_FROM" true; }

# site_backup: THE place where the site's backup is taken before the hop changes anything.
# When the bundle has backup/backup.sh (harbor-ha's site backup), it is called here
# instead; until then: pg_dump -Fc of Harbor's databases and a copy of secrets/<site>.
site_backup() {
  if [ -x backup/backup.sh ]; then
    backup/backup.sh --site "$SITE" --label "$BACKUP_ID"
    return
  fi
  db_dump
  if [ "$DRY_RUN" -eq 0 ]; then
    mkdir -p "$STATE_DIR/backup/$BACKUP_ID"
    chmod 700 "$STATE_DIR/backup" "$STATE_DIR/backup/$BACKUP_ID"
    rm -rf "$STATE_DIR/backup/$BACKUP_ID/secrets"
    cp -a "secrets/$SITE" "$STATE_DIR/backup/$BACKUP_ID/secrets"
  fi
  log "secrets/$SITE copied to $STATE_DIR/backup/$BACKUP_ID/secrets"
}

step_backup() { site_backup; }

step_stop() {
  local i name addr left
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]}
    remote "$addr" "$(compose down)" || die "stopping Harbor on $name failed"
    log "$name: stopped"
  done
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]}
    left=$(remote "$addr" "docker ps -q --filter name=harbor-core") || die "cannot list the containers of $name"
    [ -z "$left" ] || die "$name still runs harbor-core"
  done
  db_after_stop
  log "Harbor is stopped on every node"
}

step_postgres() {
  [ "$PG_UPGRADE" -eq 1 ] || return 0
  pg_upgrade_step
}

# node_files NAME: this procedure's directory for a node (or the PostgreSQL host).
node_files() { printf '%s/hosts/%s' "$HOP_DIR" "$1"; }

# install_on NAME ADDRESS: copy this procedure's files for the host and run its install.sh.
install_on() {
  local dir="$REMOTE_DIR/upgrade/$KEY/$1"
  [ -x "$(node_files "$1")/install.sh" ] || die "$(node_files "$1")/install.sh is missing"
  copy_dir "$2" "$(node_files "$1")" "$dir"
  remote "$2" "cd $dir && ./install.sh"
}

step_migrate() {
  [ "$MIGRATOR" = none ] && return 0
  local name=${NODES[0]} addr=${NODES[1]} port=${NODES[2]} s i yml
  yml="$(node_files "$name")/files$HARBOR_DIR/harbor.yml"
  [ -f "$yml" ] || die "$yml is missing"
  # Harbor $TO's configuration on the first node (prepare writes its compose file), and the
  # containers the migration needs: the log collector (and the node's own database).
  copy_file "$addr" "$yml" "$HARBOR_DIR/harbor.yml"
  remote "$addr" "chmod 600 $(printf '%q' "$HARBOR_DIR/harbor.yml") && cd $(printf '%q' "$HARBOR_DIR") && ./prepare $PREPARE_FLAGS" ||
    die "prepare of Harbor $TO failed on $name"
  remote "$addr" "$(compose up -d log ${DB_SERVICE:+"$DB_SERVICE"})" || die "starting the log container on $name failed"
  db_wait
  s=$(schema) || die "cannot read schema_migrations"
  if [ "$s" = "$SCHEMA_TO f" ]; then log "schema_migrations is already $SCHEMA_TO: nothing to migrate"; return 0; fi
  [ "$DRY_RUN" -eq 1 ] || [ "$s" = "$SCHEMA_FROM f" ] ||
    die "schema_migrations is '$s': a migration stopped half-way (dirty). Do not force the version: run $0 --rollback"
  if [ "$MIGRATOR" = migrate-mode ]; then
    log "$name: harbor_core -mode=migrate (the only core running)"
    remote "$addr" "$(compose run --rm --no-deps --entrypoint /harbor/harbor_core core -mode=migrate)" ||
      die "the migration failed on $name: Harbor is stopped on every node and read-only; fix the cause and run $0 again (it resumes at migrate), or run $0 --rollback"
  else
    log "$name: started alone; its core migrates the database"
    remote "$addr" "$(compose up -d)" || die "starting Harbor $TO on $name failed"
    wait_ping "$addr" "$port" "$PING_TO" || true
  fi
  [ "$DRY_RUN" -eq 1 ] && return 0
  for i in $(seq 1 300); do
    s=$(schema) || s=
    [ "$s" = "$SCHEMA_TO f" ] && break
    case $s in *" t") die "schema_migrations is '$s' (dirty): the migration failed half-way; Harbor is stopped on every other node and read-only. Run $0 --rollback" ;; esac
    sleep 2
  done
  [ "$s" = "$SCHEMA_TO f" ] || die "schema_migrations is '$s', not '$SCHEMA_TO f', after 10 minutes"
  log "schema_migrations: $SCHEMA_TO, clean (migrated once, on $name)"
}

step_start() {
  local i name addr port v
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]} port=${NODES[i + 2]}
    if done_step "start:$name"; then log "$name: already started"; continue; fi
    install_on "$name" "$addr" || die "install.sh of Harbor $TO failed on $name"
    # install.sh restarts Harbor when its configuration changed; start it in any case.
    remote "$addr" "$(compose up -d)" || die "starting Harbor on $name failed"
    wait_ping "$addr" "$port" "$PING_TO" || die "$name does not answer $PING_TO"
    v=$(node_version "$addr" "$port" "$API_TO") || die "$name does not answer $API_TO/systeminfo"
    [ "$DRY_RUN" -eq 1 ] || [ "$v" = "$TO" ] || die "$name reports Harbor $v, not $TO"
    mark "start:$name"
    log "$name: Harbor $TO answers"
  done
}

step_readwrite() { read_only "$API_TO" false; }

# ---- rollback ----------------------------------------------------------------------------

rollback() {
  local i name addr port q_dir q_pre v
  q_dir=$(printf '%q' "$HARBOR_DIR") q_pre=$(printf '%q' "$HARBOR_DIR.pre-$TO")
  log "rollback of $TITLE"
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]}
    remote "$addr" "if [ -f $q_dir/docker-compose.yml ]; then $(compose down); fi" || die "stopping Harbor on $name failed"
    log "$name: stopped"
  done
  if done_step backup; then
    db_restore || die "restoring the backup failed"
    log "database restored from the backup taken before the hop"
  else
    log "no backup was taken (the hop stopped before it): the database was not changed"
  fi
  for ((i = 0; i < ${#NODES[@]}; i += 4)); do
    name=${NODES[i]} addr=${NODES[i + 1]} port=${NODES[i + 2]}
    remote "$addr" "if [ -d $q_pre ]; then rm -rf $q_dir && cp -a $q_pre $q_dir; fi && $(compose up -d)" || die "starting Harbor $FROM on $name failed"
    wait_ping "$addr" "$port" "$PING_FROM" || die "$name does not answer $PING_FROM after the rollback"
    v=$(node_version "$addr" "$port" "$API_FROM") || die "$name does not answer $API_FROM/systeminfo"
    [ "$DRY_RUN" -eq 1 ] || [ "$v" = "$FROM" ] || die "$name reports Harbor $v after the rollback, not $FROM"
    log "$name: Harbor $FROM answers"
  done
  read_only "$API_FROM" false
  [ "$DRY_RUN" -eq 1 ] || : >"$STATE"
  log "rolled back to Harbor $FROM; the procedure can be run again from the start"
}

# ---- main --------------------------------------------------------------------------------

if [ "$ROLLBACK" -eq 1 ]; then rollback; exit 0; fi
first=
for s in "${STEPS[@]}"; do
  if ! done_step "$s"; then first=$s; break; fi
done
if [ -z "$first" ]; then
  log "$TITLE is complete ($STATE): nothing to do"
  exit 0
fi
if [ -s "$STATE" ]; then
  log "resuming at step $first: $(grep -v : "$STATE" | paste -sd, -) done before ($STATE)"
fi
for s in "${STEPS[@]}"; do
  done_step "$s" && continue
  log "step $s"
  "step_$s"
  mark "$s"
done
log "$TITLE: done"
