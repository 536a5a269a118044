# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# The rig of the backup drill (part `backup`; the drill itself is lib/backup_drill.sh): the
# bundle's backup/<site>/backup.sh and restore.sh run for real. Every host that matters is a
# disposable root (an overlay of this machine) in its namespace: the backup host holds the
# bundle at /root/harbor-ha-bundle and root's ssh key; each Harbor node has a real sshd (the
# scripts reach the nodes over ssh as root), Docker Distribution's registry as Harbor's
# registry and harbor_standin.py as Harbor's API (read-only mode kept in the real PostgreSQL's
# properties table, as Harbor keeps it), both started and stopped by a `docker compose`
# stand-in. With NFS the NFS server's root holds the export and the target, and each node has
# the export bind-mounted at its data volume (what NFS does); with object storage a directory
# bind-mounted at /bucket on every node stands in for the bucket, and a storage hook copies it.
# nginx with the bundle's config in front; real PostgreSQL 15 (one server, or Patroni behind
# HAProxy).

BACKUP_FIXTURE=fixtures/valid/backup-nfs-debian12.yaml
BACKUP_CLUSTER_FIXTURE=fixtures/valid/backup-ha-data-s3-sftp.yaml
BK_IMAGES=${BK_IMAGES:-5}
BK_FIGURES=()
declare -gA BK_ROOT=() BK_DIGEST=()

# The drill runs once per fixture; bk_load describes the current one. BK_KIND: nfs (the
# export is the storage, the NFS server the backup host) or object (the bucket stand-in, the
# first node the backup host). BK_HOST: the backup host. BK_REPO: the restic repository, as
# a path of this machine (for the checks).

# bk_in NS ROOT CMD...: CMD chrooted in ROOT (lib/in-root.sh), in a private mount namespace
# inside network namespace NS.
bk_in() {
  local ns=$1 root=$2
  shift 2
  ip netns exec "$ns" unshare -m --propagation private bash "$HERE/lib/in-root.sh" "$root" "$BK_WORK/mask" "$BK_WORK/no-keys" "$@"
}

# bk_on_host CMD...: CMD as root on the backup host.
bk_on_host() { bk_in "$(ns_of "$BK_HOST")" "${BK_ROOT[$BK_HOST]}" "$@"; }

# bk_script BUNDLE_DIR NAME ARGS...: a backup script of the site, run on the backup host.
bk_script() {
  local dir=$1 name=$2
  shift 2
  bk_on_host bash "$dir/backup/$BK_SITE/$name" "$@"
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

# bk_sql SQL: psql as Harbor's role on the registry database, from the first node's namespace,
# at harbor.yml's address (the one server, or the cluster's endpoint).
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

# bk_sshd HOST: a real sshd in HOST's root on its address (sftp too); the backup host's key
# logs in, as any user.
bk_sshd() {
  local h=$1 r=${BK_ROOT[$1]}
  cp "$BK_WORK/host_key" "$r/etc/ssh/e2e_host_key"
  cp "$BK_WORK/client_key.pub" "$r/etc/ssh/e2e_authorized_keys"
  chmod 600 "$r/etc/ssh/e2e_host_key"
  chmod 644 "$r/etc/ssh/e2e_authorized_keys"
  cat >"$r/etc/ssh/sshd_e2e.conf" <<EOF
ListenAddress ${ADDR[$h]}
Port 22
HostKey /etc/ssh/e2e_host_key
PermitRootLogin prohibit-password
AuthorizedKeysFile /etc/ssh/e2e_authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile /run/e2e-sshd.pid
Subsystem sftp internal-sftp
EOF
  bk_in "$(ns_of "$h")" "$r" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_e2e.conf >"$BK_WORK/sshd-$h.log" 2>&1 &
  track $!
  wait_until 10 port_open "$(ns_of "$h")" "${ADDR[$h]}" 22 || { tail -n 5 "$BK_WORK/sshd-$h.log"; return 1; }
}

# bk_node_root NODE BUNDLE: the node's root: the storage (the export at the data volume, or
# the bucket stand-in), the keys install.sh puts, sshd, the compose stand-in, the registry's
# config, the API stand-in, and a pg_restore that logs when it runs.
bk_node_root() {
  local n=$1 bundle=$2 r yml secret storage f pg_bin=$PG_BIN
  bk_root "$n" || return 1
  r=${BK_ROOT[$n]}
  mkdir -p "$r/data" "$r$BK_HARBOR_DIR" "$r/etc/e2e" "$r/usr/local/lib/e2e"
  if [ "$BK_KIND" = nfs ]; then
    mount --bind "${BK_ROOT[$BK_HOST]}$BK_EXPORT" "$r/data" || return 1
    CREATED_MOUNTS+=("$r/data")
    storage=/data/registry
  else
    mkdir -p "$r/bucket"
    mount --bind "$BK_BUCKET" "$r/bucket" || return 1
    CREATED_MOUNTS+=("$r/bucket")
    storage=/bucket
    # The data volume is the node's own disk: the keys, as install.sh puts them.
    while IFS= read -r f; do
      install -D -m 0600 "$f" "$r/data${f#"$bundle/hosts/$n/files/data"}"
    done < <(find "$bundle/hosts/$n/files/data/secret" -type f)
  fi
  yml="$(harbor_yml "$bundle" "$n")"
  NODE_PORT[$n]="$(awk '/^http:/ { h = 1; next } /^[^ ]/ { h = 0 } h && $1 == "port:" { print $2; exit }' "$yml")"
  secret="$(sed -n 's/^REGISTRY_HTTP_SECRET=//p' "$bundle/hosts/$n/files/etc/harbor-ha/shared-secrets.env")"
  cat >"$r/etc/e2e/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${ADDR[$n]}:${NODE_PORT[$n]}
  secret: "$secret"
EOF
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
  bk_sshd "$n"
}

# bk_host_root BUNDLE: the backup host (its own root with NFS, the first node's otherwise):
# the bundle at /root/harbor-ha-bundle, root's ssh key, and a restic that logs its runs.
bk_host_root() {
  local bundle=$1 r
  if [ "$BK_KIND" = nfs ]; then
    bk_root "$BK_HOST" || return 1
    r=${BK_ROOT[$BK_HOST]}
    mkdir -p "$r$BK_EXPORT" "$r$BK_TARGET" "$r$BK_TARGET-rsync"
  fi
  r=${BK_ROOT[$BK_HOST]}
  cp -a "$bundle" "$r/root/harbor-ha-bundle"
  cp "$BK_WORK/client_key" "$r/root/.ssh/id_ed25519"
  printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' >"$r/root/.ssh/config"
  chmod 600 "$r/root/.ssh/id_ed25519" "$r/root/.ssh/config"
  printf '#!/bin/bash\necho "$(date +%%s%%3N) start $1" >>/var/log/e2e-restic.log\n/usr/bin/restic "$@"\nrc=$?\necho "$(date +%%s%%3N) end $1 $rc" >>/var/log/e2e-restic.log\nexit $rc\n' \
    >"$r/usr/local/bin/restic"
  chmod 755 "$r/usr/local/bin/restic"
}

# bk_harbor_up: `docker compose up -d` on every node, over ssh from the backup host (on the
# backup host itself, there); both "services" answer.
bk_harbor_up() {
  local n
  for n in "${BK_NODES[@]}"; do
    if [ "$n" = "$BK_HOST" ]; then
      bk_on_host bash -c "cd $BK_HARBOR_DIR && docker compose up -d" || return 1
    else
      bk_on_host ssh -o BatchMode=yes "root@${ADDR[$n]}" "cd $BK_HARBOR_DIR && docker compose up -d" || return 1
    fi
  done
  for n in "${BK_NODES[@]}"; do
    wait_until 20 bk_node_curl "$n" -f "http://127.0.0.1:${NODE_PORT[$n]}/api/v2.0/ping" || { echo "API stand-in on $n does not answer"; return 1; }
    wait_until 20 port_open "$(ns_of "$n")" "${ADDR[$n]}" "${NODE_PORT[$n]}" || { echo "registry on $n does not listen"; return 1; }
  done
}

# bk_log HOST NAME: a log file of the host's root.
bk_log() { cat "${BK_ROOT[$1]}/var/log/$2" 2>/dev/null; }

# bk_restic ARGS...: restic on the site's repository, from outside (for the checks).
bk_restic() { RESTIC_REPOSITORY="$BK_REPO" RESTIC_PASSWORD="$BK_REPO_PASS" restic --no-lock "$@"; }

# bk_load BUNDLE FIXTURE: the facts of the fixture and its bundle.
bk_load() {
  local bundle=$1 fixture=$2 yml
  BK_FIXTURE=$fixture
  mapfile -t BK_NODES < <(hosts_with harbor)
  BK_LB=$(hosts_with lb | head -n 1)
  BK_SITE=$(sed -n 's/^[[:space:]]*- name:[[:space:]]*\([a-z0-9-]*\)$/\1/p' "$ROOT/$fixture" | head -n 1)
  BK_TARGET=$(sed -n 's/^[[:space:]]*target: \(.*\)$/\1/p' "$ROOT/$fixture")
  BK_VERSION=$(sed -n 's/^[[:space:]]*version: "\(2[0-9.]*\)"$/\1/p' "$ROOT/$fixture" | head -n 1)
  BK_HARBOR_DIR=/usr/local/harbor
  BK_HOST=$(sed -n 's/^BACKUP_HOST=//p' "$bundle/backup/$BK_SITE/backup.sh")
  if grep -q 'nfs: {export:' "$ROOT/$fixture"; then
    BK_KIND=nfs
    BK_EXPORT=$(sed -n 's/.*nfs: {export: \([^,]*\),.*/\1/p' "$ROOT/$fixture")
  else
    BK_KIND=object
    BK_BUCKET="$BK_WORK/bucket"
    mkdir -p "$BK_BUCKET"
  fi
  yml="$(harbor_yml "$bundle" "${BK_NODES[0]}")"
  BK_DB_HOST="$(yml_value "$yml" host external_database)"
  BK_DB_PORT="$(yml_value "$yml" port external_database)"
  BK_DB_PASS="$(yml_value "$yml" password external_database)"
  BK_ADMIN="$(yml_value "$yml" harbor_admin_password)"
  BK_REPO_PASS="$(sed -n "s/^REPOSITORY_PASSWORD=//p" "$bundle/backup/$BK_SITE/credentials.env" | tr -d "'")"
  log "site $BK_SITE: backup host $BK_HOST, storage $BK_KIND, nodes ${BK_NODES[*]}, LB $BK_LB, target $BK_TARGET"
}

# bk_keys: the ssh keys of the rig (one host key for every sshd, root's key on the backup
# host), and what lib/in-root.sh needs.
bk_keys() {
  mkdir -p "$BK_WORK/mask"
  : >"$BK_WORK/no-keys"
  rm -f "$BK_WORK/host_key"* "$BK_WORK/client_key"*
  ssh-keygen -q -t ed25519 -N '' -f "$BK_WORK/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$BK_WORK/client_key"
}

# bk_rig BUNDLE: the roots, sshd, Harbor's stand-ins and nginx (PostgreSQL runs already).
bk_rig() {
  local bundle=$1 n out
  if [ "$BK_KIND" = nfs ]; then quiet bk_host_root "$bundle" || { setup_fail "the backup host's root" "$LAST_OUT"; return 1; }; fi
  for n in "${BK_NODES[@]}"; do
    quiet bk_node_root "$n" "$bundle" || { setup_fail "the root of $n (sshd)" "$LAST_OUT"; return 1; }
  done
  if [ "$BK_KIND" = object ]; then quiet bk_host_root "$bundle" || { setup_fail "the backup host's root" "$LAST_OUT"; return 1; }; fi
  pass "disposable roots: $BK_HOST (the backup host) and ${BK_NODES[*]} (sshd on port 22; the storage at $([ "$BK_KIND" = nfs ] && echo "/data, bind-mounted from $BK_HOST:$BK_EXPORT" || echo "/bucket"))"
  if out="$(bk_harbor_up 2>&1)"; then pass "docker compose up -d from $BK_HOST (over ssh to the other nodes): registry and API stand-in on every node"
  else setup_fail "starting Harbor's stand-ins" "$out"; return 1; fi
  nginx_prepare "$bundle" "$BK_LB" "$BK_WORK" || return 1
  quiet nginx_start "$BK_LB" || { setup_fail "nginx on $BK_LB" "$LAST_OUT"; return 1; }
  pass "nginx on $BK_LB with the bundle's config, in front of ${BK_NODES[*]}"
}

# bk_push: N images through the LB, and their rows.
bk_push() {
  local i out d size lb=${ADDR[$BK_LB]} ok=0 bytes=0 img
  build_images "$BK_IMAGES" "bk-$BK_SITE"
  for i in $(seq 1 "$BK_IMAGES"); do
    img="$WORK/img/bk-$BK_SITE-$i"
    if out="$(push_image "$img" "$lb/e2e/img$i:v1")"; then ok=$((ok + 1))
    else fail "push of image $i through the LB" "$(tail -n 3 <<<"$out")"; fi
    d=$(oci_manifest_digest "$img")
    size=$(du -sb "$img/blobs" | cut -f1)
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
  local i out ok=0 lb=${ADDR[$BK_LB]} img
  for i in $(seq 1 "$BK_IMAGES"); do
    img="$WORK/img/bk-$BK_SITE-$i"
    if out="$(pull_image "$lb/e2e/img$i@${BK_DIGEST[$i]}" "$WORK/pull/bk-$BK_SITE-$i" && oci_same "$img" "$WORK/pull/bk-$BK_SITE-$i")"; then
      ok=$((ok + 1))
    else fail "$1: image $i (${BK_DIGEST[$i]:0:19}…) by digest through the LB" "$(tail -n 3 <<<"$out")"; fi
  done
  [ "$ok" -eq "$BK_IMAGES" ] && pass "$1: all $BK_IMAGES images pulled by digest through the LB, each with its manifest and blobs as pushed"
}
