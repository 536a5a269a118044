# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# Nginx with the bundle's LB config in an LB namespace, and Docker Distribution registries on
# the Harbor nodes' addresses, sharing one storage directory and the bundle's http secret.

declare -gA NGINX_PID=() REG_PID=()

# nginx_prepare BUNDLE LB WORK: a prefix with Debian's own nginx.conf and the bundle's
# harbor.conf, the path substitutions a temp prefix needs, and a self-signed certificate.
nginx_prepare() {
  local bundle=$1 lb=$2 p="$3/nginx-$2" src conf line path new n_changed n_expected server_name
  src="$bundle/hosts/$lb/files/etc/nginx/conf.d/harbor.conf"
  [ -f "$src" ] || { setup_fail "bundle file missing: hosts/$lb/files/etc/nginx/conf.d/harbor.conf"; return 1; }
  mkdir -p "$p/conf/conf.d" "$p/logs" "$p/tmp" "$p/ssl"
  # The distribution's main config (Debian 12), as on the real LB, with its paths moved into
  # the prefix: pid, logs, the conf.d include; sites-enabled dropped (install.sh removes the
  # default site); daemon off so that $! is the master; temp paths under the prefix.
  conf="$p/conf/nginx.conf"
  {
    echo 'daemon off;'
    sed -e "s|^pid /run/nginx.pid;|pid $p/nginx.pid;|" \
        -e "s|^error_log /var/log/nginx/error.log;|error_log $p/logs/error.log;|" \
        -e "s|access_log /var/log/nginx/access.log;|access_log $p/logs/access.log;|" \
        -e "s|include /etc/nginx/conf.d/\*.conf;|include $p/conf/conf.d/*.conf;|" \
        -e "/include \/etc\/nginx\/sites-enabled\/\*;/d" \
        -e "s|^http {|http {\n\tclient_body_temp_path $p/tmp/body;\n\tproxy_temp_path $p/tmp/proxy;\n\tfastcgi_temp_path $p/tmp/fastcgi;\n\tuwsgi_temp_path $p/tmp/uwsgi;\n\tscgi_temp_path $p/tmp/scgi;|" \
        /etc/nginx/nginx.conf
  } >"$conf"
  for path in "pid $p/nginx.pid;" "error_log $p/logs/error.log;" "include $p/conf/conf.d/\*.conf;" "client_body_temp_path"; do
    grep -q "$path" "$conf" || { setup_fail "/etc/nginx/nginx.conf is not Debian 12's (no line for: $path)"; return 1; }
  done
  # harbor.conf: only the certificate, key and log paths change.
  server_name="$(sed -n 's/^[[:space:]]*server_name[[:space:]]*"\{0,1\}\([^";]*\).*/\1/p' "$src" | head -n1)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$server_name" -keyout "$p/ssl/lb.key" -out "$p/ssl/lb.crt" >/dev/null 2>&1 ||
    { setup_fail "openssl cannot make a self-signed certificate"; return 1; }
  cp "$src" "$p/conf/conf.d/harbor.conf"
  n_expected=0
  while IFS= read -r line; do
    path="$(sed -n 's/^[[:space:]]*\(ssl_certificate\|ssl_certificate_key\|access_log\|error_log\)[[:space:]]\{1,\}"\{0,1\}\([^" ;]*\).*/\2/p' <<<"$line")"
    [ -n "$path" ] && [ "$path" != off ] || continue
    case "$line" in
      *ssl_certificate_key*) new="$p/ssl/lb.key" ;;
      *ssl_certificate*) new="$p/ssl/lb.crt" ;;
      *) new="$p/logs/${path##*/}" ;;
    esac
    n_expected=$((n_expected + 1))
    grep -qF "substitution: $path" "$p/substitutions" 2>/dev/null || echo "substitution: $path -> $new" >>"$p/substitutions"
    sed -i "s|\"$path\"|\"$new\"|; s|[[:space:]]$path\([[:space:];]\)| $new\1|" "$p/conf/conf.d/harbor.conf"
  done < <(grep -E '^[[:space:]]*(ssl_certificate|ssl_certificate_key|access_log|error_log)[[:space:]]' "$src")
  n_changed="$(diff "$src" "$p/conf/conf.d/harbor.conf" | grep -c '^>')"
  if [ "$n_changed" -ne "$n_expected" ]; then
    setup_fail "harbor.conf substitutions changed $n_changed lines, expected $n_expected"; return 1
  fi
  NGINX_PREFIX[$lb]=$p
  NGINX_SERVER_NAME[$lb]=$server_name
}
declare -gA NGINX_PREFIX=() NGINX_SERVER_NAME=()

# nginx_test LB: nginx -t on the prepared prefix, in the LB's namespace.
nginx_test() {
  local p=${NGINX_PREFIX[$1]}
  ip netns exec "$(ns_of "$1")" nginx -t -q -p "$p/" -c "$p/conf/nginx.conf" -e "$p/logs/error.log" 2>&1
}

# nginx_start LB: start (or restart) nginx in the LB's namespace, wait for :443.
nginx_start() {
  local lb=$1 p=${NGINX_PREFIX[$1]} ns pid
  ns=$(ns_of "$lb")
  [ -n "${NGINX_PID[$lb]:-}" ] && stop_pid "${NGINX_PID[$lb]}"
  wait_until 10 port_free "$ns" 0.0.0.0 443 || { echo "port 443 already in use in $ns"; return 1; }
  ip netns exec "$ns" nginx -p "$p/" -c "$p/conf/nginx.conf" -e "$p/logs/error.log" >>"$p/logs/stdout.log" 2>&1 &
  pid=$!
  track "$pid"
  NGINX_PID[$lb]=$pid
  wait_until 20 port_open "$ns" 0.0.0.0 443 && alive "$pid" || { tail -n 5 "$p/logs/error.log"; return 1; }
}

# registry_start NODE SECRET STORAGE WORK: docker-registry on the node's address and
# harbor.yml's http port, in the node's namespace.
registry_start() {
  local node=$1 secret=$2 storage=$3 work=$4 ns cfg pid port
  ns=$(ns_of "$node")
  port=${NODE_PORT[$node]}
  [ -n "${REG_PID[$node]:-}" ] && stop_pid "${REG_PID[$node]}"
  cfg="$work/registry-$node.yml"
  cat >"$cfg" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${ADDR[$node]}:$port
  secret: "$secret"
EOF
  wait_until 10 port_free "$ns" "${ADDR[$node]}" "$port" || { echo "port ${ADDR[$node]}:$port already in use in $ns"; return 1; }
  ip netns exec "$ns" docker-registry serve "$cfg" >>"$work/registry-$node.log" 2>&1 &
  pid=$!
  track "$pid"
  REG_PID[$node]=$pid
  wait_until 20 port_open "$ns" "${ADDR[$node]}" "$port" && alive "$pid" || { tail -n 5 "$work/registry-$node.log"; return 1; }
}
declare -gA NODE_PORT=()

# skopeo_in NS ARGS...: skopeo from a namespace, no signature policy, no retries.
skopeo_in() {
  local ns=$1
  shift
  ip netns exec "$ns" env HOME="$WORK/home" TMPDIR="$WORK/tmp" timeout 60 skopeo --insecure-policy "$@" 2>&1
}

# push_image LAYOUT DEST: push an OCI layout to docker://DEST from the client.
push_image() {
  skopeo_in "$CLIENT_NS" copy --dest-tls-verify=false "oci:$1" "docker://$2"
}
# pull_image SRC LAYOUT: pull docker://SRC into an OCI layout from the client.
pull_image() {
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  skopeo_in "$CLIENT_NS" copy --src-tls-verify=false "docker://$1" "oci:$2"
}

# upload_crossings LOG: uploads (by id) whose PATCH and PUT went to different nodes, and
# the nodes that served upload requests.
upload_crossings() {
  awk '
    / "(PATCH|PUT) \/v2\/[^ ]*\/blobs\/uploads\// {
      m = $0; sub(/.*"(PATCH|PUT) \/v2\/[^ ]*\/blobs\/uploads\//, "", m); sub(/[?\/ ].*/, "", m)
      u = $0; sub(/.*upstream=/, "", u); sub(/ .*/, "", u)
      if (!(m in first)) first[m] = u; else if (first[m] != u) crossed[m] = 1
      nodes[u] = 1
    }
    END { n = 0; for (m in crossed) n++; s = ""; for (u in nodes) s = s " " u; print n s }' "$1"
}
