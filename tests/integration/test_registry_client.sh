#!/usr/bin/env bash
# The registry client (registry/) against docker-registry 2.8.2 without auth,
# behind htpasswd Basic auth and behind Bearer tokens: blob upload, HEAD and
# streamed GET with digest check, manifest push and byte-identical pull, tag
# listing, cross-repository mount, referrers probing, credentials from config
# files and helpers, wrong passwords, and retries through a fault-injecting
# proxy (429 with Retry-After, 503, connection resets). Driven by regtool.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
ferry_require docker-registry htpasswd openssl sha256sum base64
[ -x "$FERRY_REGTOOL" ] || fail "regtool is not built: $FERRY_REGTOOL"
R=$FERRY_REGTOOL
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json

start_registry ANON anon
start_registry BASIC htpasswd
start_registry TOKEN token

sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# a blob of a few MB with an odd size, random content
blob=$TEST_TMP/blob.bin
head -c 3145851 /dev/urandom >"$blob"
blob_digest=$(sha "$blob")
blob_size=$(stat -c %s "$blob")
printf '{}' >"$TEST_TMP/config.json"
config_digest=$(sha "$TEST_TMP/config.json")
# tabs and key order that a re-serialising client would lose
printf '{\n\t"schemaVersion": 2,\n\t"mediaType": "%s",\n\t"config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "%s", "size": 2},\n\t"layers": [\n\t\t{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "%s", "size": %s}\n\t],\n\t"annotations": {"z": "1", "a": "2"}\n}\n' \
  "$OCI_MANIFEST" "$config_digest" "$blob_digest" "$blob_size" >"$TEST_TMP/manifest.json"
manifest_digest=$(sha "$TEST_TMP/manifest.json")
manifest_size=$(stat -c %s "$TEST_TMP/manifest.json")
absent=sha256:0000000000000000000000000000000000000000000000000000000000000001

# expect_fail WANT_RC PATTERN OUTFILE CMD...: CMD exits WANT_RC, stderr matches PATTERN
expect_fail() {
  local want=$1 pat=$2 out=$3 rc=0
  shift 3
  "$@" >/dev/null 2>"$out" || rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $(cat "$out")"
  [ -z "$pat" ] || grep -q -- "$pat" "$out" || fail "$*: stderr lacks '$pat': $(cat "$out")"
}

# suite NAME HOST REGTOOL-OPTIONS...: the whole client against one registry
suite() {
  local name=$1 host=$2 t=$TEST_TMP/$1 d got
  shift 2
  local -a rt=("$R" "$@" "$host")
  mkdir -p "$t"

  d=$("${rt[@]}" put-blob app/a "$blob") || fail "$name: put-blob"
  [ "$d" = "$blob_digest" ] || fail "$name: put-blob printed $d, want $blob_digest"
  [ "$("${rt[@]}" head-blob app/a "$blob_digest")" = "$blob_size" ] || fail "$name: head-blob size"
  "${rt[@]}" get-blob app/a "$blob_digest" >"$t/blob.back" || fail "$name: get-blob"
  [ "$(sha "$t/blob.back")" = "$blob_digest" ] || fail "$name: get-blob content differs"
  expect_fail 1 "" "$t/absent.err" "${rt[@]}" head-blob app/a "$absent"
  expect_fail 2 "FERRY_E_NOT_FOUND" "$t/getabsent.err" "${rt[@]}" get-blob app/a "$absent" 5
  # a wrong size is caught, and the last bytes never reach the output
  expect_fail 2 "FERRY_E_SIZE_MISMATCH" "$t/short.err" "${rt[@]}" get-blob app/a "$blob_digest" 1000
  "${rt[@]}" get-blob app/a "$blob_digest" $((blob_size + 1)) >"$t/long.out" 2>"$t/long.err" \
    && fail "$name: get-blob with a too large size succeeded"
  grep -q FERRY_E_SIZE_MISMATCH "$t/long.err" || fail "$name: long size: $(cat "$t/long.err")"
  [ "$(stat -c %s "$t/long.out")" -lt "$blob_size" ] || fail "$name: unverified tail was written"

  [ "$("${rt[@]}" put-blob app/a "$TEST_TMP/config.json")" = "$config_digest" ] \
    || fail "$name: put config blob"
  "${rt[@]}" put-manifest app/a v1 "$OCI_MANIFEST" "$TEST_TMP/manifest.json" || fail "$name: put v1"
  "${rt[@]}" put-manifest app/a v2 "$OCI_MANIFEST" "$TEST_TMP/manifest.json" || fail "$name: put v2"
  "${rt[@]}" put-manifest app/a "$manifest_digest" "$OCI_MANIFEST" "$TEST_TMP/manifest.json" \
    || fail "$name: put by digest"
  expect_fail 2 "FERRY_E_DIGEST_MISMATCH" "$t/putwrong.err" \
    "${rt[@]}" put-manifest app/a "$absent" "$OCI_MANIFEST" "$TEST_TMP/manifest.json"
  for ref in v1 "$manifest_digest"; do
    "${rt[@]}" get-manifest app/a "$ref" >"$t/manifest.back" || fail "$name: get-manifest $ref"
    cmp -s "$t/manifest.back" "$TEST_TMP/manifest.json" || fail "$name: manifest $ref not byte-identical"
  done
  got=$("${rt[@]}" head-manifest app/a v1) || fail "$name: head-manifest"
  [ "$got" = "$manifest_digest $OCI_MANIFEST $manifest_size" ] || fail "$name: head-manifest: $got"
  expect_fail 1 "" "$t/hm.err" "${rt[@]}" head-manifest app/a nosuch
  expect_fail 2 "FERRY_E_NOT_FOUND.*app/a:nosuch.*http 404.*MANIFEST_UNKNOWN" "$t/gm.err" \
    "${rt[@]}" get-manifest app/a nosuch

  got=$("${rt[@]}" tags app/a | tr '\n' ' ') || fail "$name: tags"
  [ "$got" = "v1 v2 " ] || fail "$name: tags: '$got'"
  expect_fail 2 "FERRY_E_NOT_FOUND.*NAME_UNKNOWN" "$t/tags.err" "${rt[@]}" tags no/such

  [ "$("${rt[@]}" mount app/b "$blob_digest" app/a)" = mounted ] || fail "$name: mount"
  [ "$("${rt[@]}" head-blob app/b "$blob_digest")" = "$blob_size" ] || fail "$name: mounted blob"
  [ "$("${rt[@]}" mount app/c "$absent" app/a)" = "not mounted" ] || fail "$name: mount of absent"

  # distribution 2.8 has no referrers API: 404 text/plain means "no API"
  expect_fail 3 "" "$t/ref.err" "${rt[@]}" referrers app/a "$manifest_digest"
  pass "$name: client round trip"
}

suite anon "$REG_ANON" --plain-http
suite basic "$REG_BASIC" --plain-http --user ferry --password-file "$REG_BASIC_PASSFILE"
suite token "$REG_TOKEN" --plain-http --user ferry --password-file "$REG_TOKEN_PASSFILE"

# the token server saw one scope parameter per scope, and the mount asked for two
grep -q "repository:app/a:pull,push" "$REG_TOKEN_TOKEN_LOG" || fail "no push token requested"
grep -q "'repository:app/a:pull', 'repository:app/b:pull,push'" "$REG_TOKEN_TOKEN_LOG" \
  || fail "mount did not request both scopes: $(cat "$REG_TOKEN_TOKEN_LOG")"
# tokens are cached per scope set: HEAD then GET of a blob in one process,
# and POST then PUT of an upload, take one token each
n0=$(grep -c ' -> 200' "$REG_TOKEN_TOKEN_LOG")
"$R" --plain-http --user ferry --password-file "$REG_TOKEN_PASSFILE" "$REG_TOKEN" \
  get-blob app/a "$blob_digest" >/dev/null || fail "token: get-blob with HEAD"
head -c 1000 /dev/urandom >"$TEST_TMP/small"
"$R" --plain-http --user ferry --password-file "$REG_TOKEN_PASSFILE" "$REG_TOKEN" \
  put-blob app/a "$TEST_TMP/small" >/dev/null || fail "token: put small blob"
n1=$(grep -c ' -> 200' "$REG_TOKEN_TOKEN_LOG")
[ $((n1 - n0)) = 2 ] || fail "$((n1 - n0)) token requests for 2 scope sets: the cache does not work"

# ---- wrong and missing credentials -----------------------------------------
wrong=$TEST_TMP/wrong-password
echo "not-the-password-$RANDOM" >"$wrong"
for v in BASIC TOKEN; do
  hv=REG_$v pv=REG_${v}_PASSFILE
  host=${!hv}
  expect_fail 2 "FERRY_E_AUTH: .*authentication to $host failed:.*http 401" "$TEST_TMP/wrong-$v.err" \
    "$R" --plain-http --user ferry --password-file "$wrong" "$host" tags app/a
  grep -qF "$(cat "$wrong")" "$TEST_TMP/wrong-$v.err" && fail "$v: wrong password in stderr"
  grep -qF "$(cat "${!pv}")" "$TEST_TMP/wrong-$v.err" && fail "$v: real password in stderr"
  expect_fail 2 "FERRY_E_AUTH: .*$host.*http 401" "$TEST_TMP/anon-$v.err" \
    "$R" --plain-http "$host" tags app/a
  grep -q "no credentials found" "$TEST_TMP/anon-$v.err" || fail "$v: anonymous error: $(cat "$TEST_TMP/anon-$v.err")"
done
grep -q "insufficient_scope" "$TEST_TMP/anon-TOKEN.err" || fail "anonymous token: $(cat "$TEST_TMP/anon-TOKEN.err")"
pass "wrong and missing credentials"

# ---- credentials from files and helpers ---------------------------------------
mkdir -p "$TEST_TMP/docker" "$TEST_TMP/bin"
b64() { printf '%s' "$1" | base64 -w0; }
basic_auth=$(b64 "ferry:$(cat "$REG_BASIC_PASSFILE")")
token_auth=$(b64 "ferry:$(cat "$REG_TOKEN_PASSFILE")")
printf '{"auths":{"%s":{"auth":"%s"},"http://%s/v1/":{"auth":"%s"}}}\n' \
  "$REG_BASIC" "$basic_auth" "$REG_TOKEN" "$token_auth" >"$TEST_TMP/docker/config.json"
DOCKER_CONFIG=$TEST_TMP/docker "$R" --plain-http "$REG_BASIC" tags app/a >/dev/null \
  || fail "credentials from \$DOCKER_CONFIG/config.json"
DOCKER_CONFIG=$TEST_TMP/docker "$R" --plain-http "$REG_TOKEN" tags app/a >/dev/null \
  || fail "credentials from a legacy http://host/v1/ key"
REGISTRY_AUTH_FILE=$TEST_TMP/docker/config.json DOCKER_CONFIG=/nonexistent \
  "$R" --plain-http "$REG_BASIC" tags app/a >/dev/null || fail "credentials from REGISTRY_AUTH_FILE"
"$R" --plain-http --auth-file "$TEST_TMP/docker/config.json" "$REG_BASIC" tags app/a >/dev/null \
  || fail "credentials from --auth-file"

# a docker-credential helper on PATH (stdin: server URL, stdout: JSON)
cat >"$TEST_TMP/bin/docker-credential-ferrytest" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r server
if [ "\$server" = "$REG_BASIC" ]; then
  printf '{"ServerURL":"%s","Username":"ferry","Secret":"%s"}' "\$server" "$(cat "$REG_BASIC_PASSFILE")"
else
  echo "credentials not found in native keychain"; exit 1
fi
EOF
chmod +x "$TEST_TMP/bin/docker-credential-ferrytest"
mkdir -p "$TEST_TMP/helper"
printf '{"credHelpers":{"%s":"ferrytest"}}\n' "$REG_BASIC" >"$TEST_TMP/helper/config.json"
PATH=$TEST_TMP/bin:$PATH DOCKER_CONFIG=$TEST_TMP/helper "$R" --plain-http "$REG_BASIC" \
  put-blob app/h "$TEST_TMP/config.json" >/dev/null || fail "credentials from a credential helper"
# an OAuth2 identity token (refresh token): POST grant_type=refresh_token
mkdir -p "$TEST_TMP/idt"
printf '{"auths":{"%s":{"auth":"","identitytoken":"%s"}}}\n' "$REG_TOKEN" \
  "$(cat "$REG_TOKEN_REFRESH_TOKEN_FILE")" >"$TEST_TMP/idt/config.json"
DOCKER_CONFIG=$TEST_TMP/idt "$R" --plain-http "$REG_TOKEN" tags app/a >/dev/null \
  || fail "identity token"
grep -q "POST grant=refresh_token.*-> 200" "$REG_TOKEN_TOKEN_LOG" || fail "no OAuth2 refresh_token POST"
pass "credentials from config files, helpers and identity tokens"

# ---- retries through a fault-injecting proxy ----------------------------------
# 429 with Retry-After: 1, three times: the client waits and succeeds
start_fault_proxy P429 "$REG_ANON" --faults 3 --mode 429 --retry-after 1 --match /manifests/
t0=$(date +%s%N)
"$R" --plain-http "$PROXY_P429" get-manifest app/a v1 >"$TEST_TMP/p429.out" 2>"$TEST_TMP/p429.err" \
  || fail "429: $(cat "$TEST_TMP/p429.err")"
ms=$((($(date +%s%N) - t0) / 1000000))
cmp -s "$TEST_TMP/p429.out" "$TEST_TMP/manifest.json" || fail "429: manifest differs"
[ "$(grep -c 'fault 429' "$PROXY_P429_LOG")" = 3 ] || fail "429: faults: $(cat "$PROXY_P429_LOG")"
[ "$(grep -c 'http 429; retry' "$TEST_TMP/p429.err")" = 3 ] || fail "429: $(cat "$TEST_TMP/p429.err")"
[ "$ms" -ge 2900 ] || fail "429: Retry-After not honoured ($ms ms)"

# 503 on the upload session POST, twice
start_fault_proxy P503 "$REG_ANON" --faults 2 --mode 503 --method POST
head -c 100000 /dev/urandom >"$TEST_TMP/b503"
"$R" --plain-http "$PROXY_P503" put-blob app/p "$TEST_TMP/b503" >/dev/null 2>"$TEST_TMP/p503.err" \
  || fail "503: $(cat "$TEST_TMP/p503.err")"
[ "$(grep -c 'fault 503' "$PROXY_P503_LOG")" = 2 ] || fail "503: $(cat "$PROXY_P503_LOG")"
[ "$("$R" --plain-http "$REG_ANON" head-blob app/p "$(sha "$TEST_TMP/b503")")" = 100000 ] \
  || fail "503: blob not stored"

# 503 after the PUT body was sent: a new upload session, the source rewound
start_fault_proxy PPUT "$REG_ANON" --faults 1 --mode 503 --method PUT
head -c 200000 /dev/urandom >"$TEST_TMP/bput"
"$R" --plain-http "$PROXY_PPUT" put-blob app/p "$TEST_TMP/bput" >/dev/null 2>"$TEST_TMP/pput.err" \
  || fail "PUT 503: $(cat "$TEST_TMP/pput.err")"
grep -q "new upload session" "$TEST_TMP/pput.err" || fail "PUT 503: $(cat "$TEST_TMP/pput.err")"
[ "$(grep -c 'pass 202 POST' "$PROXY_PPUT_LOG")" = 2 ] || fail "PUT 503: $(cat "$PROXY_PPUT_LOG")"
"$R" --plain-http "$REG_ANON" get-blob app/p "$(sha "$TEST_TMP/bput")" >/dev/null || fail "PUT 503: blob"

# chunked uploads (regtool --chunk: blobs from 1 MiB on, in 1 MiB chunks).
# check_order LOG PATTERN...: LOG has lines matching each PATTERN, in order
check_order() {
  "$FERRY_PYTHON" - "$@" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
i = 0
for pat in sys.argv[2:]:
    while i < len(lines) and not re.search(pat, lines[i]):
        i += 1
    if i == len(lines):
        sys.exit("no line matching %r after the previous ones" % pat)
    i += 1
PY
}
# The second PATCH is reset before it is answered (the registry never saw
# it): the client asks the session where it stopped (GET: 204, Range
# 0-1048575) and sends that chunk again, in the same session.
start_fault_proxy PPATCH "$REG_ANON" --after 1 --faults 1 --mode reset --method PATCH
"$R" --plain-http --chunk 1048576:1048576 "$PROXY_PPATCH" put-blob app/chunk "$blob" >/dev/null \
  2>"$TEST_TMP/ppatch.err" || fail "PATCH reset: $(cat "$TEST_TMP/ppatch.err")"
grep -q "bytes 1048576-2097151: .*asking where the upload stopped" "$TEST_TMP/ppatch.err" \
  || fail "PATCH reset: $(cat "$TEST_TMP/ppatch.err")"
check_order "$PROXY_PPATCH_LOG" "pass 202 POST" "pass 202 PATCH .* range 0-1048575" \
  "fault reset PATCH .* range 1048576-2097151" "pass 204 GET /v2/app/chunk/blobs/uploads/" \
  "pass 202 PATCH .* range 1048576-2097151" "pass 202 PATCH .* range 2097152-3145727" \
  "pass 202 PATCH .* range 3145728-3145850" "pass 201 PUT /v2/app/chunk/blobs/uploads/" \
  || fail "PATCH reset: not resumed: $(cat "$PROXY_PPATCH_LOG")"
[ "$(grep -c 'POST' "$PROXY_PPATCH_LOG")" = 1 ] || fail "PATCH reset: a new session was opened"
"$R" --plain-http "$REG_ANON" get-blob app/chunk "$blob_digest" >"$TEST_TMP/ppatch.out" \
  && cmp -s "$TEST_TMP/ppatch.out" "$blob" || fail "PATCH reset: blob differs"
# A 503 on the third PATCH: the same, going on from byte 2097152.
head -c 2500000 /dev/urandom >"$TEST_TMP/b503p"
start_fault_proxy P503P "$REG_ANON" --after 2 --faults 1 --mode 503 --method PATCH
"$R" --plain-http --chunk 1048576:1048576 "$PROXY_P503P" put-blob app/chunk "$TEST_TMP/b503p" \
  >/dev/null 2>"$TEST_TMP/p503p.err" || fail "PATCH 503: $(cat "$TEST_TMP/p503p.err")"
check_order "$PROXY_P503P_LOG" "fault 503 PATCH .* range 2097152-2499999" "pass 204 GET" \
  "pass 202 PATCH .* range 2097152-2499999" "pass 201 PUT" || fail "PATCH 503: $(cat "$PROXY_P503P_LOG")"
# A PATCH that arrived but whose answer was cut: distribution drops a session
# whose state token is behind its data, so the GET is a 404 and a new session
# starts from byte 0.
start_fault_proxy PPCUT "$REG_ANON" --after 1 --faults 1 --mode cut --method PATCH
head -c 2200000 /dev/urandom >"$TEST_TMP/bcut"
"$R" --plain-http --chunk 1048576:1048576 "$PROXY_PPCUT" put-blob app/chunk "$TEST_TMP/bcut" \
  >/dev/null 2>"$TEST_TMP/ppcut.err" || fail "PATCH cut: $(cat "$TEST_TMP/ppcut.err")"
grep -q "upload session gone; new upload session" "$TEST_TMP/ppcut.err" \
  || fail "PATCH cut: $(cat "$TEST_TMP/ppcut.err")"
check_order "$PROXY_PPCUT_LOG" "fault cut 202 .*PATCH .* range 1048576-2097151" "pass 404 GET" \
  "pass 202 POST" "pass 202 PATCH .* range 0-1048575" "pass 201 PUT" \
  || fail "PATCH cut: $(cat "$PROXY_PPCUT_LOG")"
"$R" --plain-http "$REG_ANON" get-blob app/chunk "$(sha "$TEST_TMP/bcut")" | cmp -s - "$TEST_TMP/bcut" \
  || fail "PATCH cut: blob differs"
# The closing PUT arrived but its answer was cut: the blob is there (HEAD),
# nothing is sent again.
start_fault_proxy PPUTCUT "$REG_ANON" --faults 1 --mode cut --method PUT
head -c 1500000 /dev/urandom >"$TEST_TMP/bputcut"
"$R" --plain-http --chunk 1048576:1048576 "$PROXY_PPUTCUT" put-blob app/chunk "$TEST_TMP/bputcut" \
  >/dev/null 2>"$TEST_TMP/pputcut.err" || fail "PUT cut: $(cat "$TEST_TMP/pputcut.err")"
check_order "$PROXY_PPUTCUT_LOG" "fault cut 201 .*PUT" "pass 200 HEAD /v2/app/chunk/blobs/sha256:" \
  || fail "PUT cut: $(cat "$PROXY_PPUTCUT_LOG")"
[ "$(grep -c 'POST' "$PROXY_PPUTCUT_LOG")" = 1 ] || fail "PUT cut: uploaded again"
# no upload URL with its state token in any message
grep -q "_state" "$TEST_TMP"/p*.err && fail "an upload session's state token was logged"
pass "chunked uploads resume"

# connection resets on blob GETs
start_fault_proxy PRST "$REG_ANON" --faults 2 --mode reset --method GET --match /blobs/
"$R" --plain-http "$PROXY_PRST" get-blob app/a "$blob_digest" >"$TEST_TMP/prst.out" \
  2>"$TEST_TMP/prst.err" || fail "reset: $(cat "$TEST_TMP/prst.err")"
[ "$(sha "$TEST_TMP/prst.out")" = "$blob_digest" ] || fail "reset: content differs"
[ "$(grep -c 'fault reset' "$PROXY_PRST_LOG")" = 2 ] || fail "reset: $(cat "$PROXY_PRST_LOG")"

# connections cut in the middle of a blob: the download resumes with Range
start_fault_proxy PCUT "$REG_ANON" --faults 2 --mode cut --method GET --match /blobs/
"$R" --plain-http "$PROXY_PCUT" get-blob app/a "$blob_digest" "$blob_size" >"$TEST_TMP/pcut.out" \
  2>"$TEST_TMP/pcut.err" || fail "cut: $(cat "$TEST_TMP/pcut.err")"
[ "$(sha "$TEST_TMP/pcut.out")" = "$blob_digest" ] || fail "cut: content differs"
[ "$(grep -c 'fault cut' "$PROXY_PCUT_LOG")" = 2 ] || fail "cut: $(cat "$PROXY_PCUT_LOG")"
grep -q "fault cut 206" "$PROXY_PCUT_LOG" && grep -q "pass 206" "$PROXY_PCUT_LOG" \
  || fail "cut: no ranged resume: $(cat "$PROXY_PCUT_LOG")"

# bounded: a registry that keeps failing is given up on after 1 + retries attempts
start_fault_proxy PDOWN "$REG_ANON" --faults 1000 --mode 503
expect_fail 2 "FERRY_E_HTTP: .*http 503.*after 3 attempts" "$TEST_TMP/pdown.err" \
  "$R" --plain-http --retries 2 "$PROXY_PDOWN" tags app/a
[ "$(grep -c 'fault 503' "$PROXY_PDOWN_LOG")" = 3 ] || fail "give up: $(cat "$PROXY_PDOWN_LOG")"
pass "retries"
