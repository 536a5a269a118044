#!/usr/bin/env bash
# Build what harbor-ha distributes, into dist/:
#   - the crates (`cargo package`, each one verified by building it from its .crate);
#   - the `harbor-ha` command as a static musl binary (runs without any libc: CentOS 7, RHEL 8);
#   - the `harbor_ha` Python wheels, abi3 (CPython >= 3.9) manylinux2014 (glibc 2.17) for
#     x86_64 and aarch64, built with maturin's --zig, and the sdist;
#   - the Ansible collection harbor_ha.ha (ansible-galaxy collection build).
# PROFILE=release (`make dist`) or dist-check (`make test`: the same linkage, built cheaper).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
VENV="${VENV:-.venv}"
OUT=dist
MUSL=x86_64-unknown-linux-musl
WHEEL_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

step() { printf '== %s\n' "$*"; }

step "toolchain targets: $MUSL ${WHEEL_TARGETS[*]}"
if ! rustup target add "$MUSL" "${WHEEL_TARGETS[@]}" >/dev/null; then
  echo "dist: rustup cannot add the targets $MUSL ${WHEEL_TARGETS[*]} (rustup needs to reach static.rust-lang.org once)" >&2
  exit 1
fi
step "build tools in $VENV (maturin, ziglang, auditwheel, ansible-core)"
test -x "$VENV/bin/python" || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r harbor-ha-py/requirements-dist.txt

rm -rf "$OUT"
mkdir -p "$OUT"

step "crates (cargo package, verified)"
# cargo verifies each crate against the others as just packaged (a local registry overlay),
# but it reuses an extraction of a crate of the same name and version that an earlier run left
# in the registry's src/ (stale once the sources changed: the verify build then fails on
# missing items), and a registry crate's build is never redone (a registry version is taken to
# be immutable). Our crates are not on crates.io: those extractions and builds go first (the
# workspace's own builds of them are redone by the next cargo build, which is cheap).
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/harbor-ha-core-* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/harbor-ha-io-* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/harbor-ha-cli-* \
  target/debug/.fingerprint/harbor-ha-core-* target/debug/.fingerprint/harbor-ha-io-* \
  target/debug/.fingerprint/harbor-ha-cli-*
cargo package -q --workspace --exclude harbor-ha-py --allow-dirty
cp target/package/harbor-ha-*.crate "$OUT/"

step "static CLI ($MUSL, profile $PROFILE)"
cargo build -q --profile "$PROFILE" --target "$MUSL" -p harbor-ha-cli
cp "target/$MUSL/$PROFILE/harbor-ha" "$OUT/harbor-ha-$MUSL"
strip "$OUT/harbor-ha-$MUSL"

for t in "${WHEEL_TARGETS[@]}"; do
  step "wheel manylinux2014 $t (profile $PROFILE)"
  PATH="$PWD/$VENV/bin:$PATH" maturin build -q --profile "$PROFILE" --zig --compatibility manylinux2014 \
    --target "$t" -m harbor-ha-py/Cargo.toml -o "$OUT"
done
step "sdist"
PATH="$PWD/$VENV/bin:$PATH" maturin sdist -m harbor-ha-py/Cargo.toml -o "$OUT"
step "Ansible collection harbor_ha.ha"
"$VENV/bin/ansible-galaxy" collection build --force --output-path "$OUT" collections/ansible_collections/harbor_ha/ha >/dev/null

ls -l "$OUT"
