# shellcheck shell=bash
# Reads a rendered bundle (inventory.ini) and its fixture: hosts, addresses, roles, interfaces,
# subnet prefix, virtual IP. One site per fixture.

declare -gA ADDR=() ROLES=() IFACE=()
HOSTS=()
PREFIX_LEN=24
VIP=""
CLIENT_ADDR=""

# fixture_interface FIXTURE HOST: the host's `interface` in the topology (flow or block
# style), eth0 when absent.
fixture_interface() {
  awk -v host="$2" '
    function strip(s) { gsub(/["'\'' ,}]/, "", s); return s }
    # flow style: - {name: h, address: ..., interface: ens18}
    /name:/ && /[{]/ {
      n = $0; sub(/.*name:[ ]*/, "", n); sub(/[,}].*/, "", n)
      if (strip(n) == host && match($0, /interface:[ ]*[^,}]+/)) {
        v = substr($0, RSTART, RLENGTH); sub(/interface:[ ]*/, "", v); print strip(v); exit
      }
      next
    }
    # block style: - name: h ... interface: x (until the next list item)
    /^[ ]*-[ ]+name:/ { n = $0; sub(/.*name:[ ]*/, "", n); inhost = (strip(n) == host); next }
    /^[ ]*-[ ]/ { inhost = 0 }
    inhost && /^[ ]*interface:/ { v = $0; sub(/.*interface:[ ]*/, "", v); print strip(v); exit }
  ' "$1"
}

# topo_load BUNDLE FIXTURE: fills HOSTS, ADDR, ROLES, IFACE, PREFIX_LEN, VIP, CLIENT_ADDR.
topo_load() {
  local bundle=$1 fixture=$2 section="" line name addr sites i iface used
  HOSTS=() ADDR=() ROLES=() IFACE=() VIP="" CLIENT_ADDR=""
  sites="$(grep -c '^\[site_[^]:]*\]$' "$bundle/inventory.ini")"
  [ "$sites" -eq 1 ] || { echo "the e2e suite handles one site per fixture; $fixture has $sites"; return 1; }
  while IFS= read -r line; do
    case "$line" in
      '#'* | '') continue ;;
      '['*']') section=${line#[}; section=${section%]}; continue ;;
    esac
    name=${line%% *}
    addr=$(sed -n 's/.*ansible_host=\([^ ]*\).*/\1/p' <<<"$line")
    case "$section" in
      site_*:vars | harbor_first) ;;
      site_*) HOSTS+=("$name"); ADDR[$name]=$addr ;;
      *) ROLES[$name]="${ROLES[$name]:-}${ROLES[$name]:+ }$section" ;;
    esac
  done <"$bundle/inventory.ini"
  for name in "${HOSTS[@]}"; do
    iface="$(fixture_interface "$fixture" "$name")"
    IFACE[$name]=${iface:-eth0}
  done
  PREFIX_LEN="$(sed -n 's/^[[:space:]]*subnet:[[:space:]]*[0-9.]*\/\([0-9]*\).*/\1/p' "$fixture" | head -n1)"
  PREFIX_LEN=${PREFIX_LEN:-24}
  VIP="$(sed -n 's/^[[:space:]]*vip:[[:space:]]*\([0-9.]*\).*/\1/p' "$fixture" | head -n1)"
  # The client: a free address in the site's subnet (not a host's, not the VIP).
  used=" ${VIP} "
  for name in "${HOSTS[@]}"; do used+="${ADDR[$name]} "; done
  for i in $(seq 250 -1 200); do
    addr="${ADDR[${HOSTS[0]}]%.*}.$i"
    case "$used" in *" $addr "*) continue ;; esac
    CLIENT_ADDR=$addr
    break
  done
  [ -n "$CLIENT_ADDR" ]
}

# hosts_with ROLE: the hosts having ROLE, in install order.
hosts_with() {
  local h
  for h in "${HOSTS[@]}"; do
    case " ${ROLES[$h]:-} " in *" $1 "*) printf '%s\n' "$h" ;; esac
  done
}

# yml_value FILE KEY [SECTION]: a scalar from harbor.yml (the first KEY under SECTION).
yml_value() {
  awk -v key="$2" -v sect="${3:-}" '
    sect != "" && $0 ~ "^" sect ":" { insect = 1; next }
    sect != "" && /^[^ #]/ { insect = 0 }
    (sect == "" || insect) && $1 == key ":" {
      v = $0; sub(/^[^:]*:[ ]*/, "", v); gsub(/^["'\'']|["'\'']$/, "", v); print v; exit
    }' "$1"
}

# fixture_env_names FIXTURE: the environment variables the fixture's secrets come from.
fixture_env_names() {
  grep -o 'env:[[:space:]]*[A-Za-z_][A-Za-z0-9_]*' "$1" | sed 's/env:[[:space:]]*//' | sort -u
}

# harbor_yml BUNDLE NODE: the node's harbor.yml in the bundle (under its install_dir).
harbor_yml() {
  find "$1/hosts/$2/files" -path '*/harbor/harbor.yml' -type f | head -n1
}
