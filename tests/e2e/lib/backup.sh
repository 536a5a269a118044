# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The backup drill (part `backup`): the bundle's backup/<site>/backup.sh and restore.sh run for
# real against the rig. The NFS server is a disposable root (an overlay of this machine) in its
# namespace, holding the export and the backup target; each Harbor node is a disposable root
# in its namespace with the export bind-mounted at its data volume (what NFS does), a real
# sshd (the scripts reach the nodes over ssh as root), Docker Distribution's registry as
# Harbor's registry and harbor_standin.py as Harbor's API (read-only mode kept in the real
# PostgreSQL's properties table), both started and stopped by a `docker compose` stand-in.
# nginx with the bundle's config in front; real PostgreSQL 15 with the bundle's settings.
# Push images through the LB and write rows standing in for Harbor's metadata; back up; back
# up again unchanged; make the dump fail; destroy the storage and drop the database; restore;
# pull every image by digest through the LB and compare the rows. Then the same with rsync.

BACKUP_FIXTURE=fixtures/valid/backup-nfs-debian12.yaml
BK_IMAGES=${BK_IMAGES:-5}
BK_FIGURES=()
declare -gA BK_ROOT=() BK_DIGEST=()

# bk_in NS ROOT CMD...: CMD chrooted in ROOT (lib/in-root.sh), in a private mount namespace
# inside network namespace NS.
bk_in() {
  local ns=$1 root=$2
  shift 2
  ip netns exec "$ns" unshare -m --propagation private bash "$HERE/lib/in-root.sh" "$root" "$BK_WORK/mask" "$BK_WORK/no-keys" "$@"
}

# bk_store CMD...: CMD as root on the NFS server (the backup host).
bk_store() { bk_in "$(ns_of "$BK_STORE")" "${BK_ROOT[$BK_STORE]}" "$@"; }

# bk_script BUNDLE_DIR NAME ARGS...: a backup script of the site, run on the backup host.
bk_script() {
  local dir=$1 name=$2
  shift 2
  bk_store bash "$dir/backup/$BK_SITE/$name" "$@"
}

# bk_node_curl NODE ARGS...: curl on a node's own loopback, in its namespace.
bk_node_curl() {
  local n=$1
  shift
  ip netns exec "$(ns_of "$n")" curl -sS --max-time 5 "$@"
}

# bk_read_only NODE: Harbor's read_only as the node's API stand-in reports it.
bk_read_only() {
  bk_node_curl "$1" -f -u "admin:$BK_ADMIN" "http://127.0.0.1:${NODE_PORT[$1]}/api/v2.0/configurations" |
    tr -d ' \n' | grep -o '"read_only":{"value":[a-z]*' | sed 's/.*://'
}

# bk_sql SQL: psql as Harbor's role on the registry database, from the first node's namespace.
bk_sql() { pg_as "$(ns_of "${BK_NODES[0]}")" "$BK_DB_HOST" "$BK_DB_PORT" harbor "$BK_DB_PASS" registry "$1"; }

# bk_rows: one checksum per table standing in for Harbor's metadata.
bk_rows() {
  local t out=""
  for t in schema_migrations project repository artifact registry; do
    out+="$t:$(bk_sql "SELECT count(*) || '/' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM $t x") "
  done
  printf '%s\n' "$out"
}

# bk_schema VERSION [ROWS]: the tables a Harbor schema has, at schema VERSION; with ROWS the
# projects, and a replication endpoint whose secret only secretkey decrypts.
bk_schema() {
  local sql="CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
    INSERT INTO schema_migrations VALUES ($1, false);
    CREATE TABLE properties (id serial PRIMARY KEY, k varchar(64) UNIQUE NOT NULL, v text NOT NULL);
    INSERT INTO properties (k, v) VALUES ('read_only', 'false'), ('auth_mode', 'db_auth');
    CREATE TABLE project (project_id serial PRIMARY KEY, name varchar(255) UNIQUE NOT NULL);
    CREATE TABLE repository (repository_id serial PRIMARY KEY, name varchar(255) UNIQUE NOT NULL,
      project_id int NOT NULL REFERENCES project(project_id), pull_count int NOT NULL DEFAULT 0);
    CREATE TABLE artifact (id serial PRIMARY KEY, repository_name varchar(255) NOT NULL, digest varchar(255) NOT NULL,
      size bigint NOT NULL, UNIQUE (repository_name, digest));
    CREATE TABLE registry (id serial PRIMARY KEY, name varchar(256) UNIQUE, url varchar(256), access_secret varchar(4096));
    INSERT INTO project (name) VALUES ('library');"
  if [ -n "${2:-}" ]; then
    sql+="INSERT INTO project (name) VALUES ('e2e');
      INSERT INTO registry (name, url, access_secret) VALUES ('hq', 'https://hq.example.org', '<enc-v1>c2VjcmV0IGVuY3J5cHRlZCB3aXRoIHNlY3JldGtleQ==');"
  fi
  bk_sql "$sql"
}

# bk_root HOST: a disposable root for HOST.
bk_root() {
  local h=$1 r="$BK_WORK/root-$1"
  overlay_root "$BK_WORK/t-$h" "$r" || return 1
  BK_ROOT[$h]=$r
  mkdir -p "$r/root/.ssh" "$r/run/sshd" "$r/var/log"
  chmod 700 "$r/root/.ssh"
}

# bk_node_root NODE BUNDLE: the node's root: the export at its data volume, sshd, the compose
# stand-in, the registry's config, the API stand-in and a logging pg_restore.
bk_node_root() {
  local n=$1 bundle=$2 r yml secret pg_bin
  bk_root "$n" || return 1
  r=${BK_ROOT[$n]}
  mkdir -p "$r/data" "$r$BK_HARBOR_DIR" "$r/etc/e2e" "$r/usr/local/lib/e2e"
  mount --bind "${BK_ROOT[$BK_STORE]}$BK_EXPORT" "$r/data" || return 1
  CREATED_MOUNTS+=("$r/data")
  yml="$(harbor_yml "$bundle" "$n")"
  NODE_PORT[$n]="$(awk '/^http:/ { h = 1; next } /^[^ ]/ { h = 0 } h && $1 == "port:" { print $2; exit }' "$yml")"
  secret="$(sed -n 's/^REGISTRY_HTTP_SECRET=//p' "$bundle/hosts/$n/files/etc/harbor-ha/shared-secrets.env")"
  cat >"$r/etc/e2e/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /data/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${ADDR[$n]}:${NODE_PORT[$n]}
  secret: "$secret"
EOF
  pg_bin=$PG_BIN
  printf 'PORT=%s\nAPI=/api/v2.0\nVERSION=%s\nPG_BIN=%s\nDB_HOST=%s\nDB_PORT=%s\nPGPASSWORD=%q\n' \
    "${NODE_PORT[$n]}" "$BK_VERSION" "$pg_bin" "$BK_DB_HOST" "$BK_DB_PORT" "$BK_DB_PASS" >"$r/etc/e2e/node.env"
  printf '%s\n' "$BK_ADMIN" >"$r/etc/e2e/admin-password"
  chmod 600 "$r/etc/e2e/node.env" "$r/etc/e2e/admin-password"
  install -m 0755 "$HERE/lib/docker-standin.sh" "$r/usr/local/bin/docker"
  install -m 0644 "$HERE/lib/harbor_standin.py" "$r/usr/local/lib/e2e/harbor_standin.py"
  # pg_restore as it is, with the time it starts and ends logged (the order of the restore).
  mv "$r$pg_bin/pg_restore" "$r$pg_bin/pg_restore.real"
  printf '#!/bin/bash\necho "$(date +%%s%%3N) start" >>/var/log/e2e-pg_restore.log\n%s "$@"\nrc=$?\necho "$(date +%%s%%3N) end $rc" >>/var/log/e2e-pg_restore.log\nexit $rc\n' \
    "$pg_bin/pg_restore.real" >"$r$pg_bin/pg_restore"
  chmod 755 "$r$pg_bin/pg_restore"
  # sshd on the node's address: root logs in with the backup host's key only.
  cp "$BK_WORK/host_key" "$r/etc/ssh/e2e_host_key"
  cp "$BK_WORK/client_key.pub" "$r/etc/ssh/e2e_authorized_keys"
  chmod 600 "$r/etc/ssh/e2e_host_key"
  cat >"$r/etc/ssh/sshd_e2e.conf" <<EOF
ListenAddress ${ADDR[$n]}
Port 22
HostKey /etc/ssh/e2e_host_key
PermitRootLogin prohibit-password
AuthorizedKeysFile /etc/ssh/e2e_authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile /run/e2e-sshd.pid
EOF
  bk_in "$(ns_of "$n")" "$r" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_e2e.conf >"$BK_WORK/sshd-$n.log" 2>&1 &
  track $!
  wait_until 10 port_open "$(ns_of "$n")" "${ADDR[$n]}" 22 || { tail -n 5 "$BK_WORK/sshd-$n.log"; return 1; }
}

# bk_store_root BUNDLE: the NFS server's root: the export, the target's disk, the bundle at
# /root/harbor-ha-bundle, root's ssh key for the nodes, and a restic that logs its runs.
bk_store_root() {
  local bundle=$1 r
  bk_root "$BK_STORE" || return 1
  r=${BK_ROOT[$BK_STORE]}
  mkdir -p "$r$BK_EXPORT" "$r$BK_TARGET" "$r$BK_TARGET-rsync"
  cp -a "$bundle" "$r/root/harbor-ha-bundle"
  cp "$BK_WORK/client_key" "$r/root/.ssh/id_ed25519"
  printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' >"$r/root/.ssh/config"
  chmod 600 "$r/root/.ssh/id_ed25519" "$r/root/.ssh/config"
  printf '#!/bin/bash\necho "$(date +%%s%%3N) start $1" >>/var/log/e2e-restic.log\n/usr/bin/restic "$@"\nrc=$?\necho "$(date +%%s%%3N) end $1 $rc" >>/var/log/e2e-restic.log\nexit $rc\n' \
    >"$r/usr/local/bin/restic"
  chmod 755 "$r/usr/local/bin/restic"
}

# bk_harbor_up: `docker compose up -d` on every node over ssh from the backup host; both
# "services" answer.
bk_harbor_up() {
  local n
  for n in "${BK_NODES[@]}"; do
    bk_store ssh -o BatchMode=yes "root@${ADDR[$n]}" "cd $BK_HARBOR_DIR && docker compose up -d" || return 1
  done
  for n in "${BK_NODES[@]}"; do
    wait_until 20 bk_node_curl "$n" -f "http://127.0.0.1:${NODE_PORT[$n]}/api/v2.0/ping" || { echo "API stand-in on $n does not answer"; return 1; }
    wait_until 20 port_open "$(ns_of "$n")" "${ADDR[$n]}" "${NODE_PORT[$n]}" || { echo "registry on $n does not listen"; return 1; }
  done
}

# bk_log NODE NAME: a log file of the node's root.
bk_log() { cat "${BK_ROOT[$1]}/var/log/$2" 2>/dev/null; }

# bk_restic ARGS...: restic on the backup host's repository, from outside (for the checks).
bk_restic() {
  RESTIC_REPOSITORY="${BK_ROOT[$BK_STORE]}$BK_TARGET" RESTIC_PASSWORD="$BK_REPO_PASS" restic --no-lock "$@"
}

# bk_setup BUNDLE WORK: PostgreSQL, the schema, the roots, sshd, Harbor and nginx.
bk_setup() {
  local bundle=$1 work=$2 yml n
  BK_STORE=$(hosts_with nfs)
  mapfile -t BK_NODES < <(hosts_with harbor)
  BK_LB=$(hosts_with lb | head -n 1)
  BK_SITE=$(sed -n 's/^[[:space:]]*- name:[[:space:]]*\([a-z0-9-]*\)$/\1/p' "$ROOT/$BACKUP_FIXTURE" | head -n 1)
  BK_EXPORT=$(sed -n 's/.*nfs: {export: \([^,]*\),.*/\1/p' "$ROOT/$BACKUP_FIXTURE")
  BK_TARGET=$(sed -n 's/^[[:space:]]*target: \(\/.*\)$/\1/p' "$ROOT/$BACKUP_FIXTURE")
  BK_VERSION=$(sed -n 's/^[[:space:]]*version: "\(2[0-9.]*\)"$/\1/p' "$ROOT/$BACKUP_FIXTURE" | head -n 1)
  BK_HARBOR_DIR=/usr/local/harbor
  yml="$(harbor_yml "$bundle" "${BK_NODES[0]}")"
  BK_DB_HOST="$(yml_value "$yml" host external_database)"
  BK_DB_PORT="$(yml_value "$yml" port external_database)"
  BK_DB_PASS="$(yml_value "$yml" password external_database)"
  BK_ADMIN="$(yml_value "$yml" harbor_admin_password)"
  BK_REPO_PASS="$(sed -n "s/^REPOSITORY_PASSWORD=//p" "$bundle/backup/$BK_SITE/credentials.env" | tr -d "'")"
  log "site $BK_SITE: backup host $BK_STORE (export $BK_EXPORT), nodes ${BK_NODES[*]}, LB $BK_LB, target $BK_TARGET"
  test_postgres "$bundle" "$work" "$CLIENT_NS" || return 1
  BK_PG_DIR="$work/pg"
  quiet bk_schema 140 rows || { setup_fail "the schema standing in for Harbor's" "$LAST_OUT"; return 1; }
  mkdir -p "$BK_WORK/mask"
  : >"$BK_WORK/no-keys"
  ssh-keygen -q -t ed25519 -N '' -f "$BK_WORK/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$BK_WORK/client_key" ||
    { setup_fail "ssh-keygen"; return 1; }
  quiet bk_store_root "$bundle" || { setup_fail "the backup host's root" "$LAST_OUT"; return 1; }
  for n in "${BK_NODES[@]}"; do
    quiet bk_node_root "$n" "$bundle" || { setup_fail "the root of $n (sshd)" "$LAST_OUT"; return 1; }
  done
  pass "disposable roots: $BK_STORE with the export at $BK_EXPORT; ${BK_NODES[*]} with it at /data and sshd on port 22"
  if out="$(bk_harbor_up 2>&1)"; then pass "docker compose up -d over ssh from $BK_STORE: registry and API stand-in on every node"
  else setup_fail "starting Harbor's stand-ins over ssh" "$out"; return 1; fi
  nginx_prepare "$bundle" "$BK_LB" "$work" || return 1
  quiet nginx_start "$BK_LB" || { setup_fail "nginx on $BK_LB" "$LAST_OUT"; return 1; }
  pass "nginx on $BK_LB with the bundle's config, in front of ${BK_NODES[*]}"
}

# bk_push: N images through the LB, and their rows.
bk_push() {
  local i out d size lb=${ADDR[$BK_LB]} ok=0 bytes=0
  build_images "$BK_IMAGES" bk
  for i in $(seq 1 "$BK_IMAGES"); do
    if out="$(push_image "$WORK/img/bk-$i" "$lb/e2e/img$i:v1")"; then ok=$((ok + 1))
    else fail "push of image $i through the LB" "$(tail -n 3 <<<"$out")"; fi
    d=$(oci_manifest_digest "$WORK/img/bk-$i")
    size=$(du -sb "$WORK/img/bk-$i/blobs" | cut -f1)
    bytes=$((bytes + size))
    BK_DIGEST[$i]=$d
    bk_sql "INSERT INTO repository (name, project_id) SELECT 'e2e/img$i', project_id FROM project WHERE name = 'e2e';
            INSERT INTO artifact (repository_name, digest, size) VALUES ('e2e/img$i', '$d', $size)" >/dev/null
  done
  BK_BYTES=$bytes
  [ "$ok" -eq "$BK_IMAGES" ] && pass "$BK_IMAGES images ($bytes bytes of blobs) pushed through the LB; their repository and artifact rows written"
}

# bk_pull_all LABEL: every image pulled by digest through the LB is the one pushed.
bk_pull_all() {
  local i out ok=0 lb=${ADDR[$BK_LB]}
  for i in $(seq 1 "$BK_IMAGES"); do
    if out="$(pull_image "$lb/e2e/img$i@${BK_DIGEST[$i]}" "$WORK/pull/bk-$1-$i" && oci_same "$WORK/img/bk-$i" "$WORK/pull/bk-$1-$i")"; then
      ok=$((ok + 1))
    else fail "$1: image $i (${BK_DIGEST[$i]:0:19}…) by digest through the LB" "$(tail -n 3 <<<"$out")"; fi
  done
  [ "$ok" -eq "$BK_IMAGES" ] && pass "$1: all $BK_IMAGES images pulled by digest through the LB, each with its manifest and blobs as pushed"
}

# bk_destroy: the storage emptied and the database dropped, then created again empty by the
# bundle's harbor.sql (what the database host's install script does on a rebuilt machine).
bk_destroy() {
  rm -rf "${BK_ROOT[$BK_STORE]:?}$BK_EXPORT"/* &&
    pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -c 'DROP DATABASE registry WITH (FORCE)' &&
    pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -f - <"$BK_SQL"
}

# bk_backup LABEL BUNDLE_DIR: run backup.sh; sets BK_OUT, BK_RC, BK_MS.
bk_backup() {
  local t
  t=$(ms)
  BK_OUT="$(bk_script "$2" backup.sh 2>&1)"
  BK_RC=$?
  BK_MS=$(($(ms) - t))
  printf '%s\n' "$BK_OUT" | sed "s/^/       [$1] /"
}

# bk_restore LABEL BUNDLE_DIR ARGS...: run restore.sh; sets BK_OUT, BK_RC, BK_MS.
bk_restore() {
  local t label=$1 dir=$2
  shift 2
  t=$(ms)
  BK_OUT="$(bk_script "$dir" restore.sh "$@" 2>&1)"
  BK_RC=$?
  BK_MS=$(($(ms) - t))
  printf '%s\n' "$BK_OUT" | sed "s/^/       [$label] /"
}

# bk_read_only_window STANDIN_LOG_BEFORE: read-only went on, then off, in the lines the API
# stand-ins logged since; prints `ON OFF` (ms).
bk_read_only_window() {
  local n on off
  for n in "${BK_NODES[@]}"; do bk_log "$n" e2e-standin.log; done | sort -n | awk -v t="$1" '$1 > t' >"$BK_WORK/ro.log"
  on=$(awk '$2 == "read_only=true" { print $1; exit }' "$BK_WORK/ro.log")
  off=$(awk -v on="$on" '$2 == "read_only=false" && $1 >= on { print $1; exit }' "$BK_WORK/ro.log")
  [ -n "$on" ] && [ -n "$off" ] && printf '%s %s\n' "$on" "$off"
}

# bk_restic_window AFTER: the start and end (ms) of the first `restic backup` run after AFTER.
bk_restic_window() {
  awk -v t="$1" '$1 > t && $2 == "start" && $3 == "backup" && !s { s = $1 } s && $2 == "end" && $3 == "backup" && !e { e = $1 } END { if (s && e) print s, e }' \
    "${BK_ROOT[$BK_STORE]}/var/log/e2e-restic.log"
}

# bk_drill_restic: the drill with the bundle as rendered (restic).
bk_drill_restic() {
  local dir=/root/harbor-ha-bundle t0 win rwin rows_before rows_after id n downs manifest storage_files first_restore
  rows_before=$(bk_rows)
  # Nothing to restore yet: refused.
  bk_restore "restore, no backup yet" "$dir" --yes
  [ "$BK_RC" -eq 1 ] && grep -q 'holds no complete backup' <<<"$BK_OUT" && pass "restore.sh before any backup: refused (no complete backup in the target)" ||
    fail "restore.sh before any backup is not refused as expected (exit $BK_RC)"
  t0=$(ms)
  bk_backup backup "$dir"
  id=$(sed -n 's/^BACKUP_ID=//p' <<<"$BK_OUT")
  if [ "$BK_RC" -eq 0 ] && [ -n "$id" ]; then pass "backup.sh: exit 0 in $(secs "$BK_MS"), BACKUP_ID=$id as its last line"
  else fail "backup.sh failed (exit $BK_RC)"; return 1; fi
  BK_FIGURES+=("backup: $(secs "$BK_MS")")
  if win=$(bk_read_only_window "$t0") && rwin=$(bk_restic_window "$t0"); then
    read -r on off <<<"$win"
    read -r rs re <<<"$rwin"
    [ "$on" -lt "$rs" ] && [ "$re" -lt "$off" ] &&
      pass "read-only on at +$((on - t0)) ms, restic backup from +$((rs - t0)) to +$((re - t0)) ms, read-only off at +$((off - t0)) ms" ||
      fail "the storage snapshot was not taken inside the read-only window" "read-only $on-$off, restic $rs-$re"
  else fail "no read-only window or restic run in the logs" "$(cat "$BK_WORK/ro.log")"; fi
  [ "$(bk_read_only "${BK_NODES[0]}")" = false ] && pass "read-only mode is off after the backup" || fail "read-only mode is still on after the backup"
  bk_restic dump latest "/var/lib/harbor-ha/backup/$BK_SITE/staging/db/registry.dump" >"$BK_WORK/registry.dump" 2>/dev/null
  if "$PG_BIN/pg_restore" -a -t properties -f - "$BK_WORK/registry.dump" 2>/dev/null | grep -qP '\tread_only\ttrue$'; then
    pass "the dump holds read_only = true: it was taken in read-only mode"
  else fail "the dump does not hold read_only = true" "$("$PG_BIN/pg_restore" -a -t properties -f - "$BK_WORK/registry.dump" 2>&1 | tail -n 5)"; fi
  manifest=$(bk_restic dump latest "/var/lib/harbor-ha/backup/$BK_SITE/staging/manifest.json" 2>&1)
  storage_files=$(sed -n 's/^  "storage_files": \([0-9]*\),$/\1/p' <<<"$manifest")
  if grep -q '"schema_version": 140,' <<<"$manifest" && grep -q "\"harbor_version\": \"$BK_VERSION\"," <<<"$manifest" &&
     grep -q '"path": "db/registry.dump", "sha256": "[0-9a-f]\{64\}", "size": [1-9]' <<<"$manifest" &&
     grep -q '"path": "secrets/secret_key"' <<<"$manifest" && grep -q '"path": "secrets/token_private_key.pem"' <<<"$manifest" &&
     grep -q '"path": "secrets/lb_certificate.pem"' <<<"$manifest" && grep -q '"path": "site.json"' <<<"$manifest" &&
     [ "${storage_files:-0}" -gt 0 ]; then
    pass "manifest.json: schema version 140, Harbor $BK_VERSION, sha256 and size of the dump, secretkey, token key, LB certificate and site.json; $storage_files storage files"
  else fail "manifest.json lacks what it must hold" "$(head -c 1500 <<<"$manifest")"; fi

  # On the live site: refused, and nothing stopped.
  downs=$(for n in "${BK_NODES[@]}"; do bk_log "$n" e2e-docker.log; done | grep -c ' down$')
  bk_restore "restore into the live site" "$dir" --yes latest
  if [ "$BK_RC" -eq 1 ] && grep -q 'database registry is not empty' <<<"$BK_OUT" && grep -q 'the storage is not empty' <<<"$BK_OUT" &&
     [ "$(for n in "${BK_NODES[@]}"; do bk_log "$n" e2e-docker.log; done | grep -c ' down$')" -eq "$downs" ]; then
    pass "restore.sh into the live site: refused (database not empty, storage not empty), no node stopped"
  else fail "restore.sh into the live site is not refused as expected (exit $BK_RC)"; fi

  # A second backup with no change reuses the storage snapshot.
  bk_backup "backup again" "$dir"
  local added reused
  added=$(sed -n 's/.*: \([0-9]*\) bytes added to .*/\1/p' <<<"$BK_OUT")
  reused=$(sed -n 's/.*, \([0-9]*\) unchanged files reused.*/\1/p' <<<"$BK_OUT")
  if [ "$BK_RC" -eq 0 ] && [ -n "$added" ] && [ "$added" -lt $((BK_BYTES / 20)) ] && [ "${reused:-0}" -ge "${storage_files:-1}" ]; then
    pass "a second backup without changes: $(secs "$BK_MS"), $added bytes added to the repository, $reused unchanged files reused (the storage holds $BK_BYTES bytes of blobs)"
  else fail "the second backup did not reuse the first one's storage" "exit $BK_RC, added ${added:-?}, reused ${reused:-?}"; fi
  BK_FIGURES+=("second backup, nothing changed: $(secs "$BK_MS"), $added bytes added")

  # The dump step fails: a table Harbor's role may not read (created by the superuser).
  local snaps
  snaps=$(bk_restic snapshots --json 2>/dev/null | grep -o '"id=' | wc -l)
  pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -d registry -c 'CREATE TABLE e2e_not_harbors (x int)' >/dev/null
  t0=$(ms)
  bk_backup "backup, the dump fails" "$dir"
  if [ "$BK_RC" -eq 1 ] && grep -q 'pg_dump of database registry .* failed' <<<"$BK_OUT" && grep -q 'FAILED.*no backup was recorded' <<<"$BK_OUT"; then
    pass "backup.sh with a failing pg_dump: exit 1, names the step, no backup recorded"
  else fail "backup.sh with a failing pg_dump did not fail as expected (exit $BK_RC)"; fi
  if win=$(bk_read_only_window "$t0"); then
    pass "read-only went on ($(( ${win%% *} - t0 )) ms) and off again ($(( ${win##* } - t0 )) ms) although the dump failed"
  else fail "read-only was not turned on and off around the failed dump" "$(cat "$BK_WORK/ro.log")"; fi
  [ "$(bk_read_only "${BK_NODES[0]}")" = false ] && pass "read-only mode is off after the failed backup" || fail "read-only mode is still on after the failed backup"
  [ "$(bk_restic snapshots --json 2>/dev/null | grep -o '"id=' | wc -l)" -eq "$snaps" ] &&
    pass "the repository holds no snapshot of the failed backup ($snaps snapshots)" || fail "the failed backup left a snapshot"
  pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -d registry -c 'DROP TABLE e2e_not_harbors' >/dev/null

  # The disaster, then the restore.
  if out="$(bk_destroy 2>&1)"; then pass "disaster: $BK_EXPORT emptied, database registry dropped (and created again, empty, by harbor.sql)"
  else fail "destroying the site" "$out"; return 1; fi
  [ "$(bk_sql 'SELECT count(*) FROM pg_tables WHERE schemaname = '"'public'")" = 0 ] && [ -z "$(ls -A "${BK_ROOT[$BK_STORE]}$BK_EXPORT")" ] ||
    fail "the site is not empty after the disaster"
  t0=$(ms)
  bk_restore restore "$dir" --yes latest
  if [ "$BK_RC" -eq 0 ]; then pass "restore.sh --yes latest: exit 0 in $(secs "$BK_MS")"
  else fail "restore.sh failed (exit $BK_RC)"; return 1; fi
  BK_FIGURES+=("restore: $(secs "$BK_MS")")
  bk_restore_order "$t0"
  [ "$(bk_read_only "${BK_NODES[0]}")" = false ] && pass "read-only mode is off after the restore (the dump had it on)" || fail "read-only mode is on after the restore"
  bk_pull_all "after the restic restore"
  rows_after=$(bk_rows)
  [ "$rows_after" = "$rows_before" ] && pass "every table standing in for Harbor's metadata has the rows it had ($rows_after)" ||
    fail "rows differ after the restore" "before: $rows_before" "after:  $rows_after"
}

# bk_restore_order T0: every node stopped before the first pg_restore; each node started only
# once the one before answered.
bk_restore_order() {
  local t0=$1 n last_down=0 first_restore prev_ready=0 up ready ok=1 msg=""
  for n in "${BK_NODES[@]}"; do
    d=$(bk_log "$n" e2e-docker.log | awk -v t="$t0" '$1 > t && $2 == "down-done" { print $1; exit }')
    [ -n "$d" ] || { ok=0; msg+="$n was not stopped; "; continue; }
    [ "$d" -gt "$last_down" ] && last_down=$d
  done
  first_restore=$(for n in "${BK_NODES[@]}"; do bk_log "$n" e2e-pg_restore.log; done | awk -v t="$t0" '$1 > t && $2 == "start" { print $1 }' | sort -n | head -n 1)
  if [ "$ok" -eq 1 ] && [ -n "$first_restore" ] && [ "$last_down" -lt "$first_restore" ]; then
    pass "Harbor stopped on every node ($(printf '%s ' "${BK_NODES[@]}")) before pg_restore began (+$((first_restore - last_down)) ms)"
  else fail "the nodes were not all stopped before the database restore" "$msg last down $last_down, pg_restore ${first_restore:-never}"; fi
  ok=1 msg=""
  for n in "${BK_NODES[@]}"; do
    up=$(bk_log "$n" e2e-docker.log | awk -v t="$t0" '$1 > t && $2 == "up" { print $1; exit }')
    ready=$(bk_log "$n" e2e-standin.log | awk -v t="$t0" '$1 > t && $2 == "ready" { print $1; exit }')
    if [ -z "$up" ] || [ -z "$ready" ] || [ "$up" -lt "$prev_ready" ]; then ok=0; fi
    msg+="$n up +$((${up:-0} - t0)) ms, ready +$((${ready:-0} - t0)) ms; "
    prev_ready=${ready:-0}
  done
  [ "$ok" -eq 1 ] && pass "nodes started one by one: $msg" || fail "the nodes were not started one by one" "$msg"
}

# bk_variant NAME SED: the fixture edited by SED, rendered with the first bundle's secrets
# into the backup host's root at /root/harbor-ha-bundle-NAME.
bk_variant() {
  local name=$1 expr=$2 out="$BK_WORK/bundle-$1" msg v i=0
  sed "$expr" "$ROOT/$BACKUP_FIXTURE" >"$BK_WORK/$name.yaml"
  # The values render() gave the fixture's secrets (it ran in a subshell).
  for v in $(fixture_env_names "$ROOT/$BACKUP_FIXTURE"); do
    i=$((i + 1))
    [ -n "${!v:-}" ] || export "$v=E2e-Secret-${i}x"
  done
  mkdir -p "$out"
  cp -a "$BK_WORK/bundle/secrets" "$out/"
  msg="$("$HARBOR_HA" render "$BK_WORK/$name.yaml" --out "$out" --force 2>&1)" || { echo "$msg"; return 1; }
  cp -a "$out" "${BK_ROOT[$BK_STORE]}/root/harbor-ha-bundle-$name"
}

# bk_drill_rsync: the same site backed up with rsync; restored into a fresh Harbor schema.
bk_drill_rsync() {
  local dir=/root/harbor-ha-bundle-rsync rows_before rows_after first links t0
  if ! out="$(bk_variant rsync "s#^\([[:space:]]*\)target: $BK_TARGET\$#\1target: $BK_TARGET-rsync\n\1tool: rsync#; /password: {env: HARBOR_BACKUP_PASSWORD}/d" 2>&1)"; then
    setup_fail "render with tool: rsync" "$out"; return 1
  fi
  rows_before=$(bk_rows)
  bk_backup "rsync backup" "$dir"
  [ "$BK_RC" -eq 0 ] && pass "rsync: backup.sh exit 0 in $(secs "$BK_MS")" || { fail "rsync: backup.sh failed (exit $BK_RC)"; return 1; }
  BK_FIGURES+=("rsync backup: $(secs "$BK_MS")")
  bk_backup "rsync backup again" "$dir"
  first=$(find "${BK_ROOT[$BK_STORE]}$BK_TARGET-rsync/$BK_SITE" -maxdepth 1 -name '*.complete' | sort | head -n 1)
  first=${first%.complete}
  links=$(find "$first/storage" -type f -links +1 | wc -l)
  added=$(sed -n 's/.*: \([0-9]*\) bytes added to .*/\1/p' <<<"$BK_OUT")
  if [ "$BK_RC" -eq 0 ] && [ "${added:-1}" -eq 0 ] && [ "$links" -gt 0 ] && [ "$links" -eq "$(find "$first/storage" -type f | wc -l)" ]; then
    pass "rsync: a second backup without changes copies 0 bytes of storage in $(secs "$BK_MS"): all $links files hard-linked to the first backup's"
  else fail "rsync: the second backup did not link to the first" "exit $BK_RC, added ${added:-?}, $links linked files"; fi
  BK_FIGURES+=("rsync second backup, nothing changed: $(secs "$BK_MS"), ${added:-?} bytes copied")

  # Destroyed, and the site reinstalled: a fresh Harbor schema (no repositories).
  bk_destroy >/dev/null 2>&1 || { fail "destroying the site"; return 1; }
  bk_schema 150 >/dev/null
  bk_restore "rsync restore, newer schema" "$dir" --yes
  [ "$BK_RC" -eq 1 ] && grep -q 'versions differ: database registry has schema version 150' <<<"$BK_OUT" &&
    pass "restore.sh into a database of another schema version (150, the backup 140): refused, saying the versions differ" ||
    fail "restore.sh into another schema version is not refused as expected (exit $BK_RC)"
  bk_destroy >/dev/null 2>&1 && bk_schema 140 >/dev/null
  bk_restore "rsync restore into a fresh schema" "$dir" --yes
  [ "$BK_RC" -eq 0 ] && pass "rsync: restore.sh into a fresh Harbor schema of the same version (pg_restore --clean): exit 0 in $(secs "$BK_MS")" ||
    { fail "rsync: restore.sh failed (exit $BK_RC)"; return 1; }
  BK_FIGURES+=("rsync restore: $(secs "$BK_MS")")
  bk_pull_all "after the rsync restore"
  rows_after=$(bk_rows)
  [ "$rows_after" = "$rows_before" ] && pass "rsync: every table has the rows it had" || fail "rsync: rows differ" "before: $rows_before" "after:  $rows_after"
}

# bk_version_refused: a bundle of another Harbor release refuses the backup.
bk_version_refused() {
  local next=2.12.0
  if ! out="$(bk_variant newer "s/version: \"$BK_VERSION\"/version: \"$next\"/" 2>&1)"; then setup_fail "render with Harbor $next" "$out"; return 1; fi
  bk_restore "restore with a bundle of Harbor $next" /root/harbor-ha-bundle-newer --yes
  [ "$BK_RC" -eq 1 ] && grep -q "versions differ: backup .* is of Harbor $BK_VERSION and this bundle installs Harbor $next" <<<"$BK_OUT" && grep -q 'nothing was changed' <<<"$BK_OUT" &&
    pass "restore.sh from a bundle of Harbor $next: refused, saying the versions differ" ||
    fail "restore.sh from a bundle of another Harbor release is not refused as expected (exit $BK_RC)"
}

test_backup() {
  local t_start work bundle out t
  t_start=$(ms)
  CURRENT_FIXTURE=backup
  section "Backup drill: $BACKUP_FIXTURE (restic), then rsync"
  for t in restic rsync /usr/sbin/sshd ssh ssh-keygen python3 unshare; do
    command -v "$t" >/dev/null 2>&1 || { setup_fail "backup: missing $t (scripts/install-test-deps.sh)"; return 1; }
  done
  work="$WORK/backup"
  BK_WORK=$work
  bundle="$work/bundle"
  mkdir -p "$work"
  chmod 755 "$work"
  if ! out="$(render "$ROOT/$BACKUP_FIXTURE" "$bundle")"; then setup_fail "harbor-ha render $BACKUP_FIXTURE" "$out"; return 1; fi
  pass "rendered $BACKUP_FIXTURE"
  test_static_scripts "$bundle"
  if ! quiet topo_load "$bundle" "$ROOT/$BACKUP_FIXTURE"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  if ! quiet net_setup 31; then setup_fail "network namespaces" "$LAST_OUT"; cleanup; return 1; fi
  pass "network namespaces: ${#HOSTS[@]} hosts and the client"
  BK_SQL="$bundle/hosts/$(hosts_with postgres | head -n 1)/files/etc/harbor-ha/postgres/harbor.sql"
  if bk_setup "$bundle" "$work"; then
    bk_push
    bk_drill_restic && bk_version_refused
    bk_drill_rsync
  fi
  section "Backup drill: figures"
  log "$BK_IMAGES images, $BK_BYTES bytes of blobs"
  for t in "${BK_FIGURES[@]}"; do log "$t"; done
  log "backup part: $(( ($(ms) - t_start) / 1000 )) s"
  cleanup
}
