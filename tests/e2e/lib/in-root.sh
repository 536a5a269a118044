#!/usr/bin/env bash
# in-root.sh ROOT MASKDIR KEYS_FILE CMD...: run CMD chrooted in ROOT (a disposable overlay of
# this machine). Run it in a private mount namespace inside the simulated host's network
# namespace. It mounts a fresh /proc, /dev and /sys (read-only). Kernel settings outside net.*
# (which belongs to the network namespace) are read-only. The global keys listed in KEYS_FILE
# (the ones the scripts write: vm.overcommit_memory, ...) are masked by files under MASKDIR,
# holding their current values. This machine's kernel is never changed.
set -euo pipefail
R=$1 MASKDIR=$2 KEYS=$3
shift 3
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount --rbind /sys "$R/sys"
mount -o remount,bind,ro "$R/sys"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount --bind /proc/sys/net "$R/proc/sys/net"
while IFS= read -r key; do
  if [ -z "$key" ] || [ ! -e "/proc/sys/$key" ]; then continue; fi
  mkdir -p "$MASKDIR/$(dirname "$key")"
  [ -f "$MASKDIR/$key" ] || cat "/proc/sys/$key" >"$MASKDIR/$key"
  mount --bind "$MASKDIR/$key" "$R/proc/sys/$key"
done <"$KEYS"
exec chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
