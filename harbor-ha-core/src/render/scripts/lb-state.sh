#!/bin/sh
# shellcheck disable=SC2034  # the holes define the values
# Template of the LB state script (render/monitoring/exporters.rs fills it): run every 10 s by
# harbor-ha-lb-state.timer, it writes the load balancer's state for the node exporter's
# textfile collector. Holes: the header, VIP and INTERFACE (empty: no keepalived pair), CERT
# (empty: no TLS), OUT (the .prom file).
# ---
# @@header@@
set -eu
VIP=@@VIP@@
CERT=@@CERT@@
OUT=@@OUT@@
TMP="$OUT.$$"
{
  if [ -n "$VIP" ]; then
    echo '# HELP harbor_ha_vip_held 1 while this load balancer holds the virtual IP.'
    echo '# TYPE harbor_ha_vip_held gauge'
    if ip -o addr show to "$VIP" | grep -q .; then held=1; else held=0; fi
    echo "harbor_ha_vip_held{vip=\"$VIP\"} $held"
  fi
  if [ -n "$CERT" ] && [ -r "$CERT" ]; then
    not_after=$(openssl x509 -noout -enddate -in "$CERT" | sed 's/^notAfter=//')
    echo '# HELP harbor_ha_tls_cert_not_after_seconds When the TLS certificate expires (Unix time).'
    echo '# TYPE harbor_ha_tls_cert_not_after_seconds gauge'
    echo "harbor_ha_tls_cert_not_after_seconds{path=\"$CERT\"} $(date -d "$not_after" +%s)"
  fi
} > "$TMP"
chmod 0644 "$TMP"
mv "$TMP" "$OUT"
