# shellcheck shell=bash
# Harness for the integration tests, sourced by tests/integration/test_*.sh.
#
# Gives each test a temporary directory ($TEST_TMP) and starts real servers on
# 127.0.0.1 with free ports: CNCF distribution (/usr/bin/docker-registry) with no
# auth, htpasswd Basic auth or Bearer tokens from tests/tools/token_server.py,
# and tests/tools/fault_proxy.py in front of a registry. An EXIT trap stops
# every server it started; on success the directory is removed, on failure it
# is kept and the tail of each log is printed. Exit 77 means skipped.
#
# Functions:
#   ferry_free_port                 print a free TCP port on 127.0.0.1
#   start_registry NAME [anon|htpasswd|token|tls]
#                                   exports REG_<NAME>=127.0.0.1:PORT and
#                                   REG_<NAME>_{PID,DIR,LOG,MODE}; with auth also
#                                   REG_<NAME>_USER (ferry) and REG_<NAME>_PASSFILE;
#                                   token mode also REG_<NAME>_TOKEN_SERVER,
#                                   REG_<NAME>_TOKEN_LOG, REG_<NAME>_REFRESH_TOKEN_FILE
#                                   (an OAuth2 refresh token the server accepts);
#                                   tls mode (anonymous, HTTPS) also REG_<NAME>_CA,
#                                   its self-signed certificate;
#                                   the first registry also sets FERRY_TEST_REGISTRY
#   stop_registry NAME              stop it (and its token server)
#   start_fault_proxy NAME UPSTREAM [fault_proxy.py options...]
#                                   exports PROXY_<NAME>=127.0.0.1:PORT, PROXY_<NAME>_LOG
#   ferry_track_pid PID             stop PID at exit too
#   ferry_wait_http URL [SECONDS]   wait until URL answers with any HTTP status
#   ferry_require CMD...            skip unless every command exists
#   skip MSG / fail MSG / pass MSG  exit 77 / exit 1 / report success
# Variables: TEST_TMP, FERRY_SOURCE_DIR, FERRY_BIN_DIR, FERRY_PYTHON (/usr/bin/python3),
#   FERRY_REGTOOL (the test CLI over the registry client).
# NAME is upper-cased for variable names, '-' becomes '_'.

: "${FERRY_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${FERRY_BIN_DIR:=$FERRY_SOURCE_DIR/build}"
FERRY_PYTHON=${FERRY_PYTHON:-/usr/bin/python3}
FERRY_REGTOOL=$FERRY_BIN_DIR/tests/tools/regtool
FERRY_TEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-$FERRY_TEST_NAME.XXXXXX")
export FERRY_SOURCE_DIR FERRY_BIN_DIR FERRY_PYTHON FERRY_REGTOOL TEST_TMP

_ferry_pids=()

skip() {
  echo "SKIP: $FERRY_TEST_NAME: $*" >&2
  exit 77
}

fail() {
  echo "FAIL: $FERRY_TEST_NAME: $*" >&2
  exit 1
}

pass() {
  echo "PASS: $FERRY_TEST_NAME: $*" >&2
}

ferry_require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
  done
}

ferry_track_pid() {
  _ferry_pids+=("$1")
}

_ferry_stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# mount_tmpfs DIR SIZE: a small file system for tests of full disks; 1 when
# this machine does not allow it (callers skip). Unmounted at exit.
_ferry_mounts=()
mount_tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || return 1
  _ferry_mounts+=("$1")
}

_ferry_cleanup() {
  local rc=$? pid f m
  set +e
  for pid in "${_ferry_pids[@]}"; do
    _ferry_stop_pid "$pid"
  done
  for m in "${_ferry_mounts[@]}"; do
    umount "$m"
  done
  if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
    rm -rf "$TEST_TMP"
  else
    echo "$FERRY_TEST_NAME: exit $rc; logs kept in $TEST_TMP" >&2
    while IFS= read -r f; do
      echo "---- $f (last 15 lines)" >&2
      tail -n 15 "$f" >&2
    done < <(find "$TEST_TMP" -name '*.log' -type f 2>/dev/null | sort)
  fi
  exit "$rc"
}
trap _ferry_cleanup EXIT
trap 'exit 130' INT TERM

ferry_free_port() {
  "$FERRY_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

_ferry_var() { # NAME -> NAME upper-cased, non-alphanumerics as _
  printf '%s' "$1" | tr 'a-z' 'A-Z' | tr -c 'A-Z0-9\n' '_'
}

_ferry_random() {
  head -c 18 /dev/urandom | base64 | tr -d '/+=\n'
}

_ferry_probe() { # URL: 0 if it answers with any HTTP status (401 included)
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null)" != 000 ]
  else
    "$FERRY_PYTHON" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
  fi
}

# ferry_wait_http URL [SECONDS]
ferry_wait_http() {
  local i
  for ((i = 0; i < ${2:-20} * 10; i++)); do
    _ferry_probe "$1" && return 0
    sleep 0.1
  done
  return 1
}

# _ferry_wait_server PID URL WHAT LOG: up to 20 s, failing early if PID dies
_ferry_wait_server() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$1" 2>/dev/null || fail "$3 exited at start: $(tail -n 5 "$4")"
    _ferry_probe "$2" && return 0
    sleep 0.1
  done
  fail "$3 did not answer $2 within 20 s: $(tail -n 5 "$4")"
}

start_registry() {
  local name=$1 mode=${2:-anon} v dir port auth="" pid tport tpid
  v=$(_ferry_var "$name")
  ferry_require docker-registry "$FERRY_PYTHON"
  case $mode in
  anon) ;;
  htpasswd) ferry_require htpasswd ;;
  token | tls) ferry_require openssl ;;
  *) fail "start_registry: unknown mode $mode" ;;
  esac
  dir=$TEST_TMP/registry-$name
  mkdir -p "$dir/storage"
  port=$(ferry_free_port)

  local tls=""
  if [ "$mode" = tls ]; then
    # anonymous, over HTTPS with a self-signed certificate for 127.0.0.1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/tls-key.pem" -out "$dir/tls-cert.pem" \
      -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
      >"$dir/openssl.out" 2>&1 || fail "openssl req failed: $(cat "$dir/openssl.out")"
    tls="  tls:
    certificate: $dir/tls-cert.pem
    key: $dir/tls-key.pem"
    printf -v "REG_${v}_CA" '%s' "$dir/tls-cert.pem"
    export "REG_${v}_CA"
  fi
  if [ "$mode" != anon ] && [ "$mode" != tls ]; then
    (umask 077 && _ferry_random >"$dir/password")
    printf -v "REG_${v}_USER" ferry
    printf -v "REG_${v}_PASSFILE" '%s' "$dir/password"
    export "REG_${v}_USER" "REG_${v}_PASSFILE"
  fi
  if [ "$mode" = htpasswd ]; then
    htpasswd -Bbn ferry "$(cat "$dir/password")" >"$dir/htpasswd" 2>/dev/null \
      || fail "htpasswd failed"
    auth="auth:
  htpasswd:
    realm: ferry-test
    path: $dir/htpasswd"
  elif [ "$mode" = token ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token-key.pem" \
      -out "$dir/token-cert.pem" -days 2 -subj "/CN=ferry-test-token-issuer" \
      >"$dir/openssl.out" 2>&1 || fail "openssl req failed: $(cat "$dir/openssl.out")"
    (umask 077 && _ferry_random >"$dir/refresh_token")
    tport=$(ferry_free_port)
    "$FERRY_PYTHON" "$FERRY_SOURCE_DIR/tests/tools/token_server.py" --port "$tport" \
      --key "$dir/token-key.pem" --cert "$dir/token-cert.pem" --issuer ferry-test-issuer \
      --service ferry-test-registry --user ferry --password-file "$dir/password" \
      --refresh-token-file "$dir/refresh_token" >"$dir/token.log" 2>&1 &
    tpid=$!
    ferry_track_pid "$tpid"
    _ferry_wait_server "$tpid" "http://127.0.0.1:$tport/" "token server for $name" "$dir/token.log"
    printf -v "REG_${v}_TOKEN_SERVER" '%s' "127.0.0.1:$tport"
    printf -v "REG_${v}_TOKEN_PID" '%s' "$tpid"
    printf -v "REG_${v}_TOKEN_LOG" '%s' "$dir/token.log"
    printf -v "REG_${v}_REFRESH_TOKEN_FILE" '%s' "$dir/refresh_token"
    export "REG_${v}_TOKEN_SERVER" "REG_${v}_TOKEN_PID" "REG_${v}_TOKEN_LOG" \
      "REG_${v}_REFRESH_TOKEN_FILE"
    auth="auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: ferry-test-registry
    issuer: ferry-test-issuer
    rootcertbundle: $dir/token-cert.pem"
  fi

  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(_ferry_random)
$tls
$auth
EOF
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  pid=$!
  ferry_track_pid "$pid"
  _ferry_wait_server "$pid" "http://127.0.0.1:$port/v2/" "registry $name" "$dir/registry.log"

  printf -v "REG_${v}" '%s' "127.0.0.1:$port"
  printf -v "REG_${v}_PID" '%s' "$pid"
  printf -v "REG_${v}_DIR" '%s' "$dir"
  printf -v "REG_${v}_LOG" '%s' "$dir/registry.log"
  printf -v "REG_${v}_MODE" '%s' "$mode"
  export "REG_${v}" "REG_${v}_PID" "REG_${v}_DIR" "REG_${v}_LOG" "REG_${v}_MODE"
  if [ -z "${FERRY_TEST_REGISTRY:-}" ]; then
    export FERRY_TEST_REGISTRY=127.0.0.1:$port
  fi
}

stop_registry() {
  local v pidvar tpidvar
  v=$(_ferry_var "$1")
  pidvar=REG_${v}_PID
  tpidvar=REG_${v}_TOKEN_PID
  [ -n "${!pidvar:-}" ] && _ferry_stop_pid "${!pidvar}"
  [ -n "${!tpidvar:-}" ] && _ferry_stop_pid "${!tpidvar}"
  return 0
}

start_fault_proxy() {
  local name=$1 upstream=$2 v port pid log
  shift 2
  v=$(_ferry_var "$name")
  ferry_require "$FERRY_PYTHON"
  port=$(ferry_free_port)
  log=$TEST_TMP/proxy-$name.log
  "$FERRY_PYTHON" "$FERRY_SOURCE_DIR/tests/tools/fault_proxy.py" --port "$port" \
    --upstream "$upstream" "$@" >"$log" 2>&1 &
  pid=$!
  ferry_track_pid "$pid"
  # wait for the port only: a probe request would use up a fault
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || fail "fault proxy $name exited: $(tail -n 5 "$log")"
    grep -q "listening" "$log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening" "$log" || fail "fault proxy $name did not start"
  printf -v "PROXY_${v}" '%s' "127.0.0.1:$port"
  printf -v "PROXY_${v}_PID" '%s' "$pid"
  printf -v "PROXY_${v}_LOG" '%s' "$log"
  export "PROXY_${v}" "PROXY_${v}_PID" "PROXY_${v}_LOG"
}
