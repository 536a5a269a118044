#!/usr/bin/env bash
# `make render-example`: the built-in seed example into out/seed.yaml, rendered into out/seed.
# The seed takes its three passwords from the environment ({env: VAR}); those not set are
# filled with placeholders here, and the script says so: such a bundle is for reading, not
# for a real site.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
cargo run -q -p harbor-ha-cli -- init --example seed >out/seed.yaml
placeholders=()
for pair in HARBOR_ADMIN_PASSWORD=Change-Me-1 HARBOR_DB_PASSWORD=change-me-db HARBOR_REDIS_PASSWORD=change-me-redis; do
  var=${pair%%=*}
  if [ -z "${!var:-}" ]; then
    export "${var}=${pair#*=}"
    placeholders+=("$var")
  fi
done
if [ "${#placeholders[@]}" -gt 0 ]; then
  echo "render-example: ${placeholders[*]} not set: the bundle holds PLACEHOLDER passwords (Change-Me-1, change-me-db, change-me-redis)." >&2
  echo "render-example: set them in the environment and run it again before using the bundle for a real site." >&2
fi
cargo run -q -p harbor-ha-cli -- render out/seed.yaml --out out/seed
