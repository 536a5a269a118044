#!/usr/bin/env bash
# Stand-in for a Harbor node's install.sh in the upgrade e2e (it needs Docker and Harbor's
# installer): puts the bundle's harbor.yml, runs the installer's prepare when it changed,
# restarts Harbor and waits for its health path, as the real script's last steps do.
set -euo pipefail
dir=$1
yml=$(find "$dir/files" -path '*/harbor/harbor.yml' -type f | head -n1)
[ -n "$yml" ] || { echo "node-install: no harbor.yml under $dir/files" >&2; exit 1; }
hd="$E2E_UP_HARBOR_DIR"
if ! cmp -s "$yml" "$hd/harbor.yml"; then
  install -m 600 "$yml" "$hd/harbor.yml"
  (cd "$hd" && ./prepare)
fi
(cd "$hd" && docker compose down && docker compose up -d)
echo "node-install: Harbor started"
