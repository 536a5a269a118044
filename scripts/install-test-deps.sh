#!/usr/bin/env bash
# Install the real programs the tests run (Debian packages), only when missing.
# docker-compose (Compose v1, no engine needed): `docker-compose config` merges the bundle's
# docker-compose.override.yml with a compose file shaped like Harbor's prepare output.
# restic, rsync and openssh-server: the backup drill (a real sshd on each simulated Harbor node;
# the image's policy-rc.d keeps the packaged sshd from starting).
# Used by `make test`; safe to run twice.
set -euo pipefail
PKGS=(nginx docker-registry skopeo redis-server redis-tools redis-sentinel postgresql patroni etcd-server etcd-client haproxy
  keepalived shellcheck socat openssl iproute2 curl jq python3-venv iptables systemd docker-compose
  prometheus prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter
  prometheus-nginx-exporter mtail rsyslog restic rsync openssh-client openssh-server)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
