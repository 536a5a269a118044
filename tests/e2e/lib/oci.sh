# shellcheck shell=bash disable=SC2015  # pass never fails: `cond && pass || fail` is an if/else
# Builds OCI image layouts by hand (no container engine): random multi-MiB layers packed
# reproducibly (tar --sort=name --mtime=@0, gzip -n), a config with rootfs.diff_ids, a
# manifest, index.json and oci-layout.

# sha_of FILE: the sha256 hex digest.
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# oci_blob LAYOUT FILE: move FILE into the layout's blobs; prints sha256:HEX SIZE.
oci_blob() {
  local hex size
  hex="$(sha_of "$2")"
  size="$(stat -c %s "$2")"
  mkdir -p "$1/blobs/sha256"
  mv "$2" "$1/blobs/sha256/$hex"
  printf 'sha256:%s %s\n' "$hex" "$size"
}

# oci_build LAYOUT TAG MIB...: an image with one layer of MIB MiB of random data per argument.
oci_build() {
  local layout=$1 tag=$2 tmp i mib diff_ids="" layers="" d s
  shift 2
  mkdir -p "$layout"
  tmp="$(mktemp -d "$layout.tmp.XXXX")"
  i=0
  for mib in "$@"; do
    i=$((i + 1))
    mkdir -p "$tmp/root$i/data"
    openssl rand -out "$tmp/root$i/data/layer$i.bin" $((mib * 1024 * 1024))
    printf '%s layer %s\n' "$tag" "$i" >"$tmp/root$i/data/layer$i.txt"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/root$i" -cf "$tmp/layer$i.tar" .
    diff_ids+="${diff_ids:+,}\"sha256:$(sha_of "$tmp/layer$i.tar")\""
    gzip -n -1 -c "$tmp/layer$i.tar" >"$tmp/layer$i.tar.gz"
    read -r d s < <(oci_blob "$layout" "$tmp/layer$i.tar.gz")
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$d\",\"size\":$s}"
  done
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$diff_ids" >"$tmp/config.json"
  read -r d s < <(oci_blob "$layout" "$tmp/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
    "$d" "$s" "$layers" >"$tmp/manifest.json"
  read -r d s < <(oci_blob "$layout" "$tmp/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$d" "$s" "$tag" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  rm -rf "$tmp"
}

# oci_manifest_digest LAYOUT: the digest index.json points at (the first manifest).
oci_manifest_digest() {
  grep -o '"digest":"sha256:[0-9a-f]\{64\}"' "$1/index.json" | head -n1 | cut -d'"' -f4
}

# oci_same LAYOUT_A LAYOUT_B: same manifest digest and the same blobs, each blob's content
# matching its name. Prints what differs.
oci_same() {
  local a b f
  a="$(oci_manifest_digest "$1")" b="$(oci_manifest_digest "$2")"
  [ -n "$a" ] && [ "$a" = "$b" ] || { echo "manifest digest $a != $b"; return 1; }
  [ "$(find "$1/blobs/sha256" -type f -printf '%f\n' | sort)" = "$(find "$2/blobs/sha256" -type f -printf '%f\n' | sort)" ] || { echo "blob sets differ"; return 1; }
  for f in "$2"/blobs/sha256/*; do
    [ "$(sha_of "$f")" = "${f##*/}" ] || { echo "blob ${f##*/} has other content"; return 1; }
  done
}
