#!/usr/bin/env bash
# shellcheck disable=SC2034  # PUT_CHANGED is read by the steps
# Template of every host's install.sh (render/install.rs fills it): the header comment,
# the package manager's two commands, and the steps of the host's roles, which use the
# helpers below.
# ---
# @@header@@
set -euo pipefail
umask 022
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FILES="$HERE/files"
CHANGED=0
PUT_CHANGED=0

log() { printf '[harbor-ha] %s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
die() { printf '[harbor-ha] error: %s\n' "$*" >&2; exit 1; }

# pkgs PKG...: install the packages that are missing.
pkgs() {
  local p missing=()
  for p in "$@"; do
    @@PKG_CHECK@@ || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  @@PKG_INSTALL@@
  CHANGED=1
}

# put TARGET MODE [UID:GID]: install $FILES/TARGET at TARGET when content, mode or owner
# differ; sets PUT_CHANGED=1 when it did.
put() {
  local dest=$1 mode=$2 owner=${3:-0:0} src="$FILES$1"
  PUT_CHANGED=0
  [ -f "$src" ] || die "bundle file missing: $src"
  if [ -f "$dest" ] && cmp -s "$src" "$dest" \
     && [ "$(stat -c '%a %u:%g' "$dest")" = "${mode#0} $owner" ]; then
    return 0
  fi
  install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
  log "updated $dest"
  PUT_CHANGED=1
  CHANGED=1
}

# ensure_line FILE LINE: append LINE to FILE unless present verbatim.
ensure_line() {
  grep -qxF -- "$2" "$1" 2>/dev/null && return 0
  printf '%s\n' "$2" >> "$1"
  log "added to $1: $2"
  CHANGED=1
}

# enable_now UNIT: enable and start a systemd unit unless it already is.
enable_now() {
  if ! systemctl is-enabled --quiet "$1" 2>/dev/null; then systemctl enable --quiet "$1"; CHANGED=1; fi
  if ! systemctl is-active --quiet "$1"; then systemctl start "$1"; CHANGED=1; fi
}

[ "$(id -u)" -eq 0 ] || die 'run as root'

# This host's files as rendered: refuse files that differ from the manifest (edited since the
# render, or copied from a render that did not finish) before changing anything.
[ -f "$HERE/MANIFEST.sha256" ] || die "$HERE/MANIFEST.sha256 is missing: copy this host's whole directory from a finished render"
if ! bad="$(cd "$HERE" && LC_ALL=C sha256sum --strict --quiet -c MANIFEST.sha256 2>&1)"; then
  bad="$(printf '%s\n' "$bad" | sed -n 's/: FAILED.*$//p' | paste -sd' ')"
  die "these files differ from $HERE/MANIFEST.sha256: ${bad:-(unreadable manifest)}; render the bundle again and copy this host's directory whole"
fi
# @@steps@@

if [ "$CHANGED" -eq 0 ]; then log 'nothing to change'; else log 'done'; fi
