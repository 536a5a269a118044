#!/usr/bin/env bash
# shellcheck disable=SC2034  # FOUND is read by apply.sh and resync.sh
# Template of the helpers that replication/<site>/apply.sh and replication/resync.sh share
# (render/replication/prelude.rs fills it into the `prelude` hole of both templates,
# without its shebang). No hole and no topology value inside.
# ---
set -euo pipefail
umask 077
PROG=${0##*/}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*"; }
usage() { sed -n '2,/^$/{/^#/s/^# \{0,1\}//p;}' "$0"; }

for tool in curl jq base64; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool is required on this host (apt-get install $tool, or dnf/yum install $tool; jq is in EPEL on CentOS 7)"
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/harbor-ha.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
SECRETS=()
AUTH=
ADMIN_HINT=
LABEL=
API=
URL_VAR=
NAME_QUERY=
STATUS=
FOUND=

# read_secret OVERRIDE KIND SOURCE WHAT: print a secret. The variable OVERRIDE wins when
# set; KIND env reads the variable SOURCE, file reads the file SOURCE now, literal has
# nothing but OVERRIDE. Nothing here is traced or passed on a command line.
read_secret() {
  local override=$1 kind=$2 src=$3 what=$4
  if [ -n "$override" ] && [ -n "${!override:-}" ]; then
    printf '%s' "${!override}"
    return 0
  fi
  case $kind in
    env)
      [ -n "${!src:-}" ] || die "$what: export $src${override:+ (or $override)}"
      printf '%s' "${!src}"
      ;;
    file)
      [ -r "$src" ] || die "$what: cannot read $src on this host${override:+ (or export $override)}"
      printf '%s' "$(cat -- "$src")"
      ;;
    *)
      die "$what: export $override (the topology writes it literally; the bundle does not copy it)"
      ;;
  esac
}

# remember VALUE: a value that no message may show.
remember() { SECRETS+=("$1"); }

# redact TEXT: TEXT with every remembered value replaced by ***.
redact() {
  local s=$1 v
  for v in ${SECRETS[@]+"${SECRETS[@]}"}; do
    if [ -n "$v" ]; then s=${s//"$v"/***}; fi
  done
  printf '%s' "$s"
}

# login USER PASSWORD HINT: the account of the next API calls (HINT: where it comes from).
login() {
  AUTH=$(printf '%s:%s' "$1" "$2" | base64 | tr -d '\n')
  remember "$2"
  remember "$AUTH"
  ADMIN_HINT=$3
}

# auth_config: curl configuration with the Authorization header, read by curl through a
# file descriptor so that no credential appears in the process list.
auth_config() { printf 'header = "Authorization: Basic %s"\n' "$AUTH"; }

# target LABEL URL_VAR DEFAULT_URL PREFIX NAME_QUERY: the Harbor the next calls go to.
target() {
  LABEL=$1
  URL_VAR=$2
  local url=${!2:-$3}
  API=${url%/}$4
  NAME_QUERY=$5
}

# api METHOD PATH [BODY]: one call to the current target. Sets STATUS; the answer is in
# $TMP/body, its headers in $TMP/headers.
api() {
  local method=$1 url=$API$2 rc=0 hint=
  local -a opts=(--silent --show-error --connect-timeout 10 --max-time 120 --request "$method"
    --header 'Accept: application/json' --header 'Expect:'
    --output "$TMP/body" --dump-header "$TMP/headers" --write-out '%{http_code}')
  if [ -n "${HARBOR_CACERT:-}" ]; then opts+=(--cacert "$HARBOR_CACERT"); fi
  if [ "${HARBOR_INSECURE:-0}" = 1 ]; then opts+=(--insecure); fi
  : >"$TMP/body"
  : >"$TMP/headers"
  if [ "$#" -ge 3 ]; then
    STATUS=$(printf '%s' "$3" | curl "${opts[@]}" --header 'Content-Type: application/json' \
      --data-binary @- --config <(auth_config) "$url" 2>"$TMP/stderr") || rc=$?
  else
    STATUS=$(curl "${opts[@]}" --config <(auth_config) "$url" 2>"$TMP/stderr") || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    case $rc in
      6) hint="the host name does not resolve here; or set $URL_VAR" ;;
      7) hint="connection refused: is Harbor up, and does its firewall let this host in?" ;;
      28) hint="timed out: check routing and firewalls" ;;
      35 | 51 | 53 | 54 | 58 | 59 | 60 | 77 | 80 | 83 | 90 | 91) hint="TLS failed: set HARBOR_CACERT to the CA certificate (or HARBOR_INSECURE=1)" ;;
    esac
    die "$LABEL: $method $url: $(redact "$(tr -d '\r\n' <"$TMP/stderr" | cut -c1-300)")${hint:+ ($hint)}"
  fi
}

# expect WHAT CODE...: unless STATUS is one of CODE, stop with Harbor's message.
expect() {
  local what=$1 code msg hint=
  shift
  for code in "$@"; do
    if [ "$STATUS" = "$code" ]; then return 0; fi
  done
  msg=$(jq -r 'if type == "object" then ([.errors[]?.message] + [.message // empty] | map(tostring) | join("; ")) else tostring end' "$TMP/body" 2>/dev/null) || msg=
  if [ -z "$msg" ]; then msg=$(tr -d '\r\n' <"$TMP/body" | cut -c1-300); fi
  case $STATUS in
    301 | 302 | 303 | 307 | 308) hint="the API redirects: set $URL_VAR to the final URL" ;;
    401) hint="wrong admin user or password: $ADMIN_HINT" ;;
    403) hint="the account must be a Harbor system administrator" ;;
    404) hint="not found at $API: wrong URL or Harbor version?" ;;
  esac
  die "$LABEL: $what: HTTP $STATUS${msg:+: $(redact "$msg")}${hint:+ ($hint)}"
}

# find_id PATH NAME: FOUND = the id of the object named exactly NAME, or empty.
find_id() {
  api GET "$1?$NAME_QUERY$2&page_size=100"
  expect "look up $2" 200
  FOUND=$(jq -r --arg n "$2" '[(. // [])[] | select(.name == $n) | .id] | first // empty' "$TMP/body")
}

# created_id: the id at the end of the Location header of the last answer.
created_id() { sed -n 's|^[Ll]ocation:.*/\([0-9][0-9]*\)[[:space:]]*$|\1|p' "$TMP/headers" | tail -n 1; }
