#!/usr/bin/env bash
# Checks what scripts/dist.sh put into dist/ (run by `make test` after a dist-check build):
#   - each wheel's platform tag, as auditwheel computes it from the symbols it links against,
#     is manylinux_2_17 (= manylinux2014: CentOS 7's glibc), and it declares Requires-Python;
#   - the x86_64 wheel installs into a fresh venv and renders the seed example;
#   - the CLI is a static binary with no dynamic section, and renders the seed in a root that
#     holds nothing but itself and the topology (no libc, no loader: what CentOS 7 or RHEL 8
#     would not provide is not needed);
#   - the sdist holds every crate it builds from; every publishable crate was packaged.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
VENV="${VENV:-.venv}"
D=dist
failed=0
pass() { printf '  ok    %s\n' "$*"; }
fail() {
  printf '  FAIL  %s\n' "$*"
  failed=1
}
first() { # the first existing path among the (globbed) arguments
  local f
  for f in "$@"; do
    [ -e "$f" ] && printf '%s' "$f" && return
  done
}
# shellcheck disable=SC2317  # called through check
quiet() { "$@" >/dev/null 2>&1; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
env_vars=(HARBOR_ADMIN_PASSWORD=Dist-Check-1 HARBOR_DB_PASSWORD=dist-check-db HARBOR_REDIS_PASSWORD=dist-check-redis)

echo "== wheels"
for arch in x86_64 aarch64; do
  whl=$(first "$D"/harbor_ha-*-cp39-abi3-*"$arch"*.whl)
  if [ -z "$whl" ]; then
    fail "$arch: no abi3 wheel in $D"
    continue
  fi
  tag=$("$VENV/bin/auditwheel" show "$whl" 2>&1 | tr '\n' ' ' | sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
  check "$arch: auditwheel: platform tag $tag (want manylinux_2_17_$arch)" [ "$tag" = "manylinux_2_17_$arch" ]
  meta=$("$VENV/bin/python" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]).decode())' "$whl")
  check "$arch: declares Requires-Python >=3.9" grep -qx 'Requires-Python: >=3.9' <<<"$meta"
done

whl=$(first "$D"/harbor_ha-*manylinux*x86_64*.whl)
if [ -n "$whl" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check --no-deps "$whl"
  out=$(cd "$work" && env "${env_vars[@]}" "$work/venv/bin/python" -c '
import harbor_ha
topo = harbor_ha.loads(harbor_ha.example("seed"))
assert not [d for d in topo.validate() if d.severity == "error"]
b = topo.render(secrets_dir="secrets")
b.write("bundle")
print(len(b))
' 2>&1)
  check "x86_64 wheel installs into a fresh venv and renders the seed ($out files)" [ "${out:-0}" -gt 10 ] 2>/dev/null
fi

echo "== static CLI"
cli="$D/harbor-ha-x86_64-unknown-linux-musl"
if [ -x "$cli" ]; then
  check "links no shared library (readelf -d: no NEEDED)" bash -c "! readelf -d '$cli' | grep -q NEEDED"
  check "no program interpreter (readelf -l)" bash -c "! readelf -l '$cli' | grep -q 'INTERP'"
  root="$work/root"
  mkdir -p "$root"
  cp "$cli" "$root/harbor-ha"
  target/debug/harbor-ha init --example seed >"$root/seed.yaml" 2>/dev/null ||
    cargo run -q -p harbor-ha-cli -- init --example seed >"$root/seed.yaml"
  check "the root holds nothing else: $(find "$root" -mindepth 1 | wc -l) entries" [ "$(find "$root" -mindepth 1 | wc -l)" -eq 2 ]
  check "runs in that root: $(chroot "$root" /harbor-ha --version 2>&1)" quiet chroot "$root" /harbor-ha --version
  check "validates the seed there" quiet chroot "$root" /harbor-ha validate /seed.yaml --format json
  check "renders the seed there (secrets from the OS RNG)" quiet env "${env_vars[@]}" chroot "$root" /harbor-ha render /seed.yaml --out /bundle
  check "the bundle has install scripts" test -x "$root/bundle/hosts/harbor-1/install.sh"
else
  fail "no static CLI at $cli"
fi

echo "== sdist and crates"
sdist=$(first "$D"/harbor_ha-*.tar.gz)
if [ -n "$sdist" ]; then
  list=$(tar tzf "$sdist")
  for f in pyproject.toml harbor-ha-py/Cargo.toml harbor-ha-core/Cargo.toml harbor-ha-io/Cargo.toml harbor-ha-core/src/lib.rs; do
    check "sdist holds $f" grep -q "/$f\$" <<<"$list"
  done
else
  fail "no sdist in $D"
fi
for c in harbor-ha-core harbor-ha-io harbor-ha-cli; do
  check "crate $c packaged" test -s "$(first "$D/$c"-*.crate)"
done

echo "== Ansible collection"
coll=$(first "$D"/harbor_ha-ha-*.tar.gz)
if [ -n "$coll" ]; then
  check "the README's ansible-galaxy collection install works: $(basename "$coll")" \
    quiet "$VENV/bin/ansible-galaxy" collection install --offline -p "$work/collections" "$coll"
  check "it holds the module and the deploy playbook" \
    test -f "$work/collections/ansible_collections/harbor_ha/ha/plugins/modules/bundle.py" -a \
    -f "$work/collections/ansible_collections/harbor_ha/ha/playbooks/deploy.yml"
else
  fail "no Ansible collection in $D"
fi

[ "$failed" -eq 0 ] && echo "dist: all checks passed" || echo "dist: FAILED"
exit "$failed"
