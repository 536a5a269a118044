# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The backup drill itself (lib/backup.sh is the rig): backup, refusals, a failing dump,
# the disaster and the restore, for the NFS fixture with restic then rsync, and for the
# PostgreSQL cluster on object storage with restic over SFTP.

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
    "${BK_ROOT[$BK_HOST]}/var/log/e2e-restic.log"
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
  bk_super 'CREATE TABLE e2e_not_harbors (x int)' registry >/dev/null
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
  bk_super 'DROP TABLE e2e_not_harbors' registry >/dev/null

  # The disaster, then the restore.
  if out="$(bk_destroy 2>&1)"; then pass "disaster: $BK_EXPORT emptied, database registry dropped (and created again, empty, by harbor.sql)"
  else fail "destroying the site" "$out"; return 1; fi
  [ "$(bk_sql 'SELECT count(*) FROM pg_tables WHERE schemaname = '"'public'")" = 0 ] && [ -z "$(ls -A "${BK_ROOT[$BK_HOST]}$BK_EXPORT")" ] ||
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
  cp -a "$out" "${BK_ROOT[$BK_HOST]}/root/harbor-ha-bundle-$name"
}

# bk_drill_rsync: the same site backed up with rsync; restored into a fresh Harbor schema.
bk_drill_rsync() {
  local dir=/root/harbor-ha-bundle-rsync rows_before rows_after first links t0
  if ! out="$(bk_variant rsync "s#^\([[:space:]]*\)target: $BK_TARGET\$#\1target: $BK_TARGET-rsync\n\1tool: rsync#; s/^\([[:space:]]*\)keep: [0-9]*\$/\1keep: 2/; /password: {env: HARBOR_BACKUP_PASSWORD}/d" 2>&1)"; then
    setup_fail "render with tool: rsync" "$out"; return 1
  fi
  rows_before=$(bk_rows)
  bk_backup "rsync backup" "$dir"
  [ "$BK_RC" -eq 0 ] && pass "rsync: backup.sh exit 0 in $(secs "$BK_MS")" || { fail "rsync: backup.sh failed (exit $BK_RC)"; return 1; }
  BK_FIGURES+=("rsync backup: $(secs "$BK_MS")")
  bk_backup "rsync backup again" "$dir"
  first=$(find "${BK_ROOT[$BK_HOST]}$BK_TARGET-rsync/$BK_SITE" -maxdepth 1 -name '*.complete' | sort | head -n 1)
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

  # Retention (this variant keeps 2): a third backup, of the restored site, removes the first.
  local kept
  bk_backup "rsync backup after the restore (keep 2)" "$dir"
  kept=$(find "${BK_ROOT[$BK_HOST]}$BK_TARGET-rsync/$BK_SITE" -maxdepth 1 -name '*.complete' | wc -l)
  if [ "$BK_RC" -eq 0 ] && [ "$kept" -eq 2 ] && [ ! -e "$first" ] && [ ! -e "$first.complete" ] && grep -q "removed backup ${first##*/} (keep 2)" <<<"$BK_OUT"; then
    pass "rsync: a third backup (of the restored site) keeps the last 2 (backup.keep) and removes the first, ${first##*/}"
  else fail "rsync: retention did not follow keep: 2" "exit $BK_RC, $kept complete backups, first ${first##*/} $([ -e "$first" ] && echo still there || echo gone)"; fi
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

# bk_super SQL [DATABASE]: SQL as the postgres superuser: on the one server's socket, or on
# the cluster's primary.
bk_super() {
  local p
  if [ "${#PG_MEMBERS[@]}" -eq 0 ]; then
    pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -d "${2:-postgres}" -c "$1"
    return
  fi
  p="$(pg_primary)" || return 1
  ip netns exec "$(ns_of "$p")" setpriv --reuid postgres --regid postgres --init-groups "$PG_BIN/psql" -X -q \
    -h "${PG_DIR[$p]}/sock" -p "$BK_DB_PORT" -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -c "$1"
}

# bk_destroy: the disaster. The storage emptied (with object storage, the bucket and the
# keys on every node's own data volume), the database dropped, then created again empty by
# the bundle's harbor.sql as the database host's install script (or Patroni's
# post_bootstrap) does on a rebuilt machine.
bk_destroy() {
  local n sql
  if [ "$BK_KIND" = nfs ]; then
    rm -rf "${BK_ROOT[$BK_HOST]:?}$BK_EXPORT"/*
  else
    rm -rf "${BK_BUCKET:?}"/*
    for n in "${BK_NODES[@]}"; do rm -rf "${BK_ROOT[$n]:?}/data/secret"; done
  fi
  bk_super 'DROP DATABASE registry WITH (FORCE)' || return 1
  sql=$(grep -v '^--' "$BK_SQL")
  if [ "${#PG_MEMBERS[@]}" -eq 0 ]; then pg_psql_super "$BK_PG_DIR" "$BK_DB_PORT" -f - <<<"$sql"
  else
    local p
    p="$(pg_primary)" || return 1
    ip netns exec "$(ns_of "$p")" setpriv --reuid postgres --regid postgres --init-groups "$PG_BIN/psql" -X -q \
      -h "${PG_DIR[$p]}/sock" -p "$BK_DB_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -f - <<<"$sql"
  fi
}

# bk_cluster_db BUNDLE: the PostgreSQL cluster of the fixture (etcd, Patroni, HAProxy on the
# first LB at the VIP), as the data-ha part runs it.
bk_cluster_db() {
  local bundle=$1 h
  mapfile -t PG_MEMBERS < <(hosts_with postgres)
  mapfile -t DCS < <({ hosts_with postgres; hosts_with etcd; } | awk '!seen[$0]++')
  for h in "${DCS[@]}"; do etcd_start "$bundle" "$BK_WORK" "$h" || return 1; done
  wait_until 30 etcd_healthy "${DCS[0]}" || { setup_fail "etcd does not become healthy"; return 1; }
  for h in "${PG_MEMBERS[@]}"; do patroni_prepare "$bundle" "$BK_WORK" "$h" || return 1; done
  for h in "${PG_MEMBERS[@]}"; do patroni_start "$h"; done
  if wait_until 60 pg_primary && wait_until 60 pg_replicas_running $(( ${#PG_MEMBERS[@]} - 1 )); then
    pass "the PostgreSQL cluster of the bundle runs: Patroni on ${PG_MEMBERS[*]}, primary $(pg_primary)"
  else setup_fail "the Patroni cluster does not come up" "$(tail -n 8 "${PG_DIR[${PG_MEMBERS[0]}]}/patroni.log")"; return 1; fi
  haproxy_start "$bundle" "$BK_WORK" "$BK_LB" || return 1
  HARBOR1=${BK_NODES[0]} DB_PORT=$BK_DB_PORT
  # HAProxy starts with every member up until its checks say otherwise: wait until the
  # endpoint reaches the primary (and only it) several times in a row.
  if wait_until 30 bk_endpoint_primary; then pass "${BK_NODES[0]} reaches the primary (and only it) through the endpoint $BK_DB_HOST:$BK_DB_PORT"
  else setup_fail "the endpoint does not reach the primary alone" "$(bk_sql 'SELECT pg_is_in_recovery()')"; return 1; fi
  if wait_until 30 pg_has_sync; then pass "the primary has a synchronous standby"
  else setup_fail "no synchronous standby" "$(primary_sql 'SELECT application_name, sync_state FROM pg_stat_replication')"; return 1; fi
}

# bk_endpoint_primary: five connections in a row through the endpoint reach a primary.
bk_endpoint_primary() {
  local i
  for i in 1 2 3 4 5; do
    [ "$(bk_sql 'SELECT pg_is_in_recovery()')" = f ] || return 1
  done
}

# bk_sftp_server: the backup server of an sftp:// target: a root at the target's address with
# the target's user, and sshd's sftp.
bk_sftp_server() {
  local url=${BK_TARGET#sftp://} user addr path r
  user=${url%%@*} url=${url#*@}
  addr=${url%%/*} path=/${url#*//}
  ADDR[bksrv]=$addr
  net_host "$(ns_of bksrv)" "he${RUN_ID}b32" "he${RUN_ID}v32s" eth0 "$addr/$PREFIX_LEN" || return 1
  bk_root bksrv || return 1
  r=${BK_ROOT[bksrv]}
  chroot "$r" useradd -m -p "*" "$user" || return 1  # "*": no password, not locked (sshd refuses a locked account)
  mkdir -p "$r$path"
  chroot "$r" chown -R "$user:" "${path%/*}"
  bk_sshd bksrv || return 1
  BK_REPO="$r$path"
  log "backup server at $addr: sshd with sftp, user $user, repository $path"
}

# bk_drill_cluster: a PostgreSQL cluster on object storage, restic over SFTP: the dump and
# the restore go through the cluster's endpoint, the bucket through the storage hook, the keys
# onto each node's own data volume.
bk_drill_cluster() {
  local dir=/root/harbor-ha-bundle id t0 win rwin rows_before rows_after manifest n ok h p
  local hook="${BK_ROOT[$BK_HOST]}/etc/harbor-ha/backup/$BK_SITE/storage-hook"
  mkdir -p "${hook%/*}"
  cat >"$hook" <<'EOF'
#!/bin/bash
# The e2e storage hook: /bucket stands in for the bucket, copied whole into the backup (a real
# hook would use the object versions as of $HARBOR_HA_MARKER, or rclone).
set -euo pipefail
echo "$(date +%s%3N) $1 $HARBOR_HA_BACKUP_ID $HARBOR_HA_MARKER $HARBOR_HA_STORAGE_DRIVER $HARBOR_HA_BUCKET" >>/var/log/e2e-hook.log
case $1 in
  backup) mkdir -p "$HARBOR_HA_HOOK_DIR/objects" && cp -a /bucket/. "$HARBOR_HA_HOOK_DIR/objects/" ;;
  restore) cp -a "$HARBOR_HA_HOOK_DIR/objects/." /bucket/ ;;
esac
EOF
  chmod 755 "$hook"
  rows_before=$(bk_rows)
  t0=$(ms)
  bk_backup "cluster backup" "$dir"
  id=$(sed -n 's/^BACKUP_ID=//p' <<<"$BK_OUT")
  if [ "$BK_RC" -eq 0 ] && [ -n "$id" ]; then pass "cluster: backup.sh on ${BK_HOST} (a Harbor node): exit 0 in $(secs "$BK_MS"), BACKUP_ID=$id"
  else fail "cluster: backup.sh failed (exit $BK_RC)"; return 1; fi
  BK_FIGURES+=("cluster backup (restic over sftp): $(secs "$BK_MS")")
  if win=$(bk_read_only_window "$t0") && rwin=$(bk_restic_window "$t0"); then
    [ "${win%% *}" -lt "${rwin%% *}" ] && [ "${rwin##* }" -lt "${win##* }" ] &&
      pass "cluster: the snapshot was taken inside the read-only window" || fail "cluster: the snapshot is outside the read-only window" "$win / $rwin"
  else fail "cluster: no read-only window or restic run in the logs"; fi
  if grep -q " backup $id .* s3 harbor-bkha$" <(bk_log "$BK_HOST" e2e-hook.log); then pass "the storage hook ran with the backup's ID, the marker, the driver (s3) and the bucket"
  else fail "the storage hook did not run as documented" "$(bk_log "$BK_HOST" e2e-hook.log)"; fi
  manifest=$(bk_restic dump latest "/var/lib/harbor-ha/backup/$BK_SITE/staging/manifest.json" 2>&1)
  if grep -q '"storage_kind": "object",' <<<"$manifest" && grep -q '"storage_marker": "20' <<<"$manifest" &&
     grep -q '"path": "storage-hook/objects/docker/registry/v2/blobs/' <<<"$manifest" && grep -q '"path": "secrets/pg_superuser_password"' <<<"$manifest"; then
    pass "cluster: the manifest (read from the SFTP repository on the backup server) names object storage, the marker, the hook's files and the cluster's secrets"
  else fail "cluster: the manifest lacks what it must hold" "$(head -c 1200 <<<"$manifest")"; fi
  if out="$(bk_destroy 2>&1)"; then pass "cluster disaster: the bucket emptied, the nodes' keys deleted, database registry dropped on the primary (and created again, empty)"
  else fail "cluster: destroying the site" "$out"; return 1; fi
  t0=$(ms)
  bk_restore "cluster restore" "$dir" --yes
  if [ "$BK_RC" -eq 0 ]; then pass "cluster: restore.sh --yes: exit 0 in $(secs "$BK_MS")"
  else fail "cluster: restore.sh failed (exit $BK_RC)"; return 1; fi
  BK_FIGURES+=("cluster restore: $(secs "$BK_MS")")
  bk_restore_order "$t0"
  ok=1
  for n in "${BK_NODES[@]}"; do
    for p in secret/keys/secretkey secret/core/private_key.pem secret/registry/root.crt; do
      cmp -s "${BK_ROOT[$n]}/data/$p" "$BK_WORK/bundle/hosts/$n/files/data/$p" || { ok=0; log "$n: /data/$p differs or is missing"; }
    done
  done
  [ "$ok" -eq 1 ] && pass "cluster: secretkey and the token key pair are back on every node's data volume, byte for byte as install.sh puts them" ||
    fail "cluster: the keys were not restored on the nodes"
  for h in "${PG_MEMBERS[@]}"; do
    [ "$h" = "$(pg_primary)" ] && continue
    if wait_until 20 bash -c '[ "$(ip netns exec "$1" setpriv --reuid postgres --regid postgres --init-groups "$2/psql" -X -h "$3" -p "$4" -U postgres -d registry -tA -c "SELECT count(*) FROM artifact" 2>/dev/null)" = "$5" ]' \
         _ "$(ns_of "$h")" "$PG_BIN" "${PG_DIR[$h]}/sock" "$BK_DB_PORT" "$BK_IMAGES"; then
      pass "cluster: the standby $h has the restored rows (replication carried the restore)"
    else fail "cluster: the standby $h lacks the restored rows"; fi
  done
  [ "$(bk_read_only "${BK_NODES[0]}")" = false ] && pass "cluster: read-only mode is off after the restore" || fail "cluster: read-only mode is on after the restore"
  bk_pull_all "after the cluster restore"
  rows_after=$(bk_rows)
  [ "$rows_after" = "$rows_before" ] && pass "cluster: every table has the rows it had" || fail "cluster: rows differ" "before: $rows_before" "after:  $rows_after"
}

# bk_fixture FIXTURE FI: render, namespaces, load; then the database (one server, or the
# cluster) and the rig.
bk_fixture() {
  local fixture=$1 fi=$2 bundle out
  BK_WORK="$WORK/backup-$(basename "$fixture" .yaml)"
  bundle="$BK_WORK/bundle"
  BK_ROOT=() PG_MEMBERS=() PG_DIR=() PATRONI_PID=()
  mkdir -p "$BK_WORK"
  chmod 755 "$BK_WORK"
  if ! out="$(render "$ROOT/$fixture" "$bundle")"; then setup_fail "harbor-ha render $fixture" "$out"; return 1; fi
  pass "rendered $fixture"
  test_static_scripts "$bundle"
  if ! quiet topo_load "$bundle" "$ROOT/$fixture"; then setup_fail "reading the topology" "$LAST_OUT"; return 1; fi
  if ! quiet net_setup "$fi"; then setup_fail "network namespaces" "$LAST_OUT"; return 1; fi
  pass "network namespaces: ${#HOSTS[@]} hosts and the client"
  bk_load "$bundle" "$fixture"
  bk_keys || { setup_fail "ssh-keygen"; return 1; }
  BK_SQL="$bundle/hosts/$(hosts_with postgres | head -n 1)/files/etc/harbor-ha/postgres/harbor.sql"
  if [ "$(hosts_with postgres | wc -l)" -ge 2 ]; then
    bk_cluster_db "$bundle" || return 1
    bk_sftp_server >"$BK_WORK/sftp.log" 2>&1 || { setup_fail "the SFTP backup server" "$(tail -n 8 "$BK_WORK/sftp.log")"; return 1; }
  else
    test_postgres "$bundle" "$BK_WORK" "$CLIENT_NS" || return 1
    BK_PG_DIR="$BK_WORK/pg"
    BK_REPO=''
  fi
  quiet bk_schema 140 rows || { setup_fail "the schema standing in for Harbor's" "$LAST_OUT"; return 1; }
  bk_rig "$bundle" || return 1
  [ -n "$BK_REPO" ] || BK_REPO="${BK_ROOT[$BK_HOST]}$BK_TARGET"
  bk_push
}

test_backup() {
  local t_start t t_part
  t_start=$(ms)
  CURRENT_FIXTURE=backup
  for t in restic rsync /usr/sbin/sshd ssh ssh-keygen python3 unshare useradd patroni etcd haproxy setpriv; do
    command -v "$t" >/dev/null 2>&1 || { setup_fail "backup: missing $t (scripts/install-test-deps.sh)"; return 1; }
  done
  # E2E_BACKUP_DRILLS: which drills run (development), default both.
  case " ${E2E_BACKUP_DRILLS:-nfs cluster} " in
    *" nfs "*)
      section "Backup drill: $BACKUP_FIXTURE (NFS; restic, then rsync)"
      t_part=$(ms)
      if bk_fixture "$BACKUP_FIXTURE" 31; then
        bk_drill_restic && bk_version_refused
        bk_drill_rsync
      fi
      cleanup
      BK_FIGURES+=("(NFS drills: $(secs $(($(ms) - t_part))))")
      ;;
  esac
  case " ${E2E_BACKUP_DRILLS:-nfs cluster} " in
    *" cluster "*)
      section "Backup drill: $BACKUP_CLUSTER_FIXTURE (PostgreSQL cluster, object storage, restic over SFTP)"
      t_part=$(ms)
      CURRENT_FIXTURE=backup-cluster
      if bk_fixture "$BACKUP_CLUSTER_FIXTURE" 32; then
        bk_drill_cluster
      fi
      cleanup
      BK_FIGURES+=("(cluster drill: $(secs $(($(ms) - t_part))))")
      ;;
  esac
  section "Backup drill: figures"
  log "$BK_IMAGES images of $BK_BYTES bytes of blobs per drill"
  for t in "${BK_FIGURES[@]}"; do log "$t"; done
  log "backup part: $(( ($(ms) - t_start) / 1000 )) s"
}
