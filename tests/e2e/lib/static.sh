# shellcheck shell=bash
# Static checks of every shell script of a bundle: syntax (bash -n / sh -n) and shellcheck.

# bundle_scripts BUNDLE: every file of the bundle that starts with a sh or bash shebang.
bundle_scripts() {
  local f
  while IFS= read -r -d '' f; do
    head -n1 "$f" | grep -Eq '^#!.*(/|env )(ba)?sh([[:space:]]|$)' && printf '%s\n' "$f"
  done < <(find "$1" -type f -print0 | sort -z)
}

test_static_scripts() {
  local bundle=$1 f rel out n=0 bad=0 shell
  section "Shell scripts of the bundle: syntax and shellcheck"
  while IFS= read -r f; do
    n=$((n + 1))
    rel=${f#"$bundle"/}
    shell="bash"
    head -n1 "$f" | grep -Eq 'bash' || shell=sh
    if ! out="$("$shell" -n "$f" 2>&1)"; then fail "$shell -n $rel" "$out"; bad=$((bad + 1)); continue; fi
    if ! out="$(shellcheck -f gcc "$f" 2>&1)"; then fail "shellcheck $rel" "$(head -n 10 <<<"$out")"; bad=$((bad + 1)); continue; fi
  done < <(bundle_scripts "$bundle")
  [ "$n" -gt 0 ] || { fail "the bundle has no shell scripts"; return 1; }
  [ "$bad" -eq 0 ] && pass "$n shell scripts pass bash -n / sh -n and shellcheck"
}
