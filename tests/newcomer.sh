#!/usr/bin/env bash
# What the README promises a newcomer, tried as one would (`make newcomer`, in `make test`):
#   - `make help` lists every target the README names;
#   - `make test` first checks its prerequisites and names each missing one with its fix
#     (tried as an unprivileged user and with no rustup on PATH);
#   - `make render-example` writes the topology into the checkout (out/seed.yaml, not /tmp)
#     and says so when it fills in placeholder passwords, and only then;
#   - the README's `cargo install --locked --path harbor-ha-cli` works (into a temporary root,
#     reusing the debug build).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
failed=0
pass() { printf '  ok    %s\n' "$*"; }
fail() {
  printf '  FAIL  %s\n' "$*"
  failed=1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

help=$(make -s help)
for t in test e2e render-example test-python dist bench fuzz-smoke; do
  if grep -q "^$t	" <<<"$help"; then pass "make help lists $t"; else fail "make help does not list $t"; fi
done
for t in e2e render-example dist; do
  if grep -q "make $t" README.md; then pass "README names make $t"; else fail "README does not name make $t"; fi
done

chmod o+rx "$work"
out=$(cp -r scripts rust-toolchain.toml "$work"/ && cd "$work" &&
  setpriv --reuid=65534 --regid=65534 --clear-groups env PATH=/usr/bin:/bin bash scripts/check-prereqs.sh 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "not root" <<<"$out" && grep -q "rustup not found: install rustup" <<<"$out"; then
  pass "check-prereqs names what is missing (no root, no rustup) and fails"
else
  fail "check-prereqs as nobody without rustup: rc=$rc: $out"
fi
if out=$(bash scripts/check-prereqs.sh 2>&1); then pass "check-prereqs passes here: $out"; else fail "check-prereqs: $out"; fi

rm -rf out/seed out/seed.yaml
err=$(env -u HARBOR_ADMIN_PASSWORD -u HARBOR_DB_PASSWORD -u HARBOR_REDIS_PASSWORD make -s render-example 2>&1 >/dev/null)
if [ -s out/seed.yaml ] && [ -f out/seed/README.md ]; then pass "render-example wrote out/seed.yaml and out/seed/"; else fail "render-example: no out/seed.yaml or bundle: $err"; fi
if grep -q "PLACEHOLDER passwords" <<<"$err"; then pass "render-example says it used placeholder passwords"; else fail "render-example said nothing of placeholders: $err"; fi
if grep -rq "Change-Me-1" out/seed/secrets out/seed/hosts 2>/dev/null; then pass "(the placeholder is indeed in the bundle)"; else fail "placeholder not found in the bundle"; fi
err=$(HARBOR_ADMIN_PASSWORD=Newcomer-Pass-1 HARBOR_DB_PASSWORD=newcomer-db-1 HARBOR_REDIS_PASSWORD=newcomer-redis-1 make -s render-example 2>&1 >/dev/null)
if grep -q "PLACEHOLDER" <<<"$err"; then fail "render-example warned with every password set: $err"; else pass "no placeholder warning when the passwords are set"; fi
recipe=$(sed -n '/^render-example:/,/^$/p' Makefile)
if grep -q '/tmp/' <<<"$recipe" || grep -q '/tmp/' scripts/render-example.sh; then
  fail "render-example still uses /tmp"
else
  pass "render-example uses no /tmp path"
fi

cmd=$(grep -o 'cargo install --locked --path harbor-ha-cli' README.md | head -n1)
if [ -n "$cmd" ] && CARGO_TARGET_DIR="$PWD/target" $cmd --debug --root "$work/root" -q 2>"$work/install.log" &&
  "$work/root/bin/harbor-ha" --version >/dev/null; then
  pass "README: $cmd (debug, into a temporary root) installs a working harbor-ha"
else
  fail "README's cargo install: '${cmd:-not in README}': $(tail -n 5 "$work/install.log" 2>/dev/null)"
fi

[ "$failed" -eq 0 ] && echo "newcomer: all checks passed" || echo "newcomer: FAILED"
exit "$failed"
