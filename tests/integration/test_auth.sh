#!/usr/bin/env bash
# Credentials end to end: export from a registry behind htpasswd (bcrypt)
# Basic auth, push into one behind Bearer tokens from a test token server.
# Wrong passwords fail before anything is written, name the registry and the
# HTTP status, and never print the secret.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools

start_registry SRC htpasswd
start_registry DST token
src_pw=$(cat "$REG_SRC_PASSFILE")
dst_pw=$(cat "$REG_DST_PASSFILE")
seed_samples "$REG_SRC" "ferry:$src_pw"
make_keys "$TEST_TMP/k"
ref="$REG_SRC/corpus/app0:1.0"
b=$TEST_TMP/b.tar.zst

# anonymous: refused with the registry and status named
rc=0
"$FX" -k "$TEST_TMP/k.key" -o "$b" --plain-http "$ref" 2>"$TEST_TMP/anon.err" || rc=$?
[ "$rc" = 2 ] || fail "anonymous export exit $rc, want 2"
grep -q "$REG_SRC" "$TEST_TMP/anon.err" && grep -q 401 "$TEST_TMP/anon.err" \
  || fail "anonymous export message: $(cat "$TEST_TMP/anon.err")"
grep -q "log in with 'login HOST -u USER --password-stdin', or give --authfile FILE" "$TEST_TMP/anon.err" \
  || fail "an auth failure does not name the fix: $(cat "$TEST_TMP/anon.err")"
[ ! -e "$b" ] || fail "a failed export left a bundle"

# wrong password
rc=0
echo "not-the-password" | "$FX" -k "$TEST_TMP/k.key" -o "$b" --plain-http --username ferry \
  --password-stdin "$ref" 2>"$TEST_TMP/wrong.err" || rc=$?
[ "$rc" = 2 ] || fail "wrong password exit $rc, want 2"
grep -q "$REG_SRC" "$TEST_TMP/wrong.err" && grep -q 401 "$TEST_TMP/wrong.err" \
  || fail "wrong password message: $(cat "$TEST_TMP/wrong.err")"
grep -q "not-the-password" "$TEST_TMP/wrong.err" && fail "the password appears in stderr"
[ ! -e "$b" ] && [ -z "$(ls "$TEST_TMP" | grep 'b.tar.zst.tmp' || true)" ] || fail "a failed export left files"

# right password on stdin
echo "$src_pw" | "$FX" -q -k "$TEST_TMP/k.key" -o "$b" --plain-http --username ferry \
  --password-stdin "$ref" 2>"$TEST_TMP/ok.err" || fail "export with password: $(cat "$TEST_TMP/ok.err")"
grep -q "$src_pw" "$TEST_TMP/ok.err" && fail "the password appears in stderr"

# credentials from a docker config.json (auths, base64 user:password)
mkdir -p "$TEST_TMP/docker"
auth=$(printf 'ferry:%s' "$src_pw" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG_SRC" "$auth" > "$TEST_TMP/docker/config.json"
DOCKER_CONFIG=$TEST_TMP/docker "$FX" -q -k "$TEST_TMP/k.key" -o "$TEST_TMP/b2.tar.zst" \
  --plain-http "$ref" || fail "export with DOCKER_CONFIG credentials"
# and from REGISTRY_AUTH_FILE
REGISTRY_AUTH_FILE=$TEST_TMP/docker/config.json "$FX" -q -k "$TEST_TMP/k.key" \
  -o "$TEST_TMP/b3.tar.zst" --plain-http "$ref" || fail "export with REGISTRY_AUTH_FILE credentials"

# push into the token registry: wrong password first, nothing may change
rc=0
echo "nope" | "$FI" push -p "$TEST_TMP/k.pub" --to "$REG_DST/mirror" --plain-http --username ferry \
  --password-stdin "$b" >/dev/null 2>"$TEST_TMP/pushwrong.err" || rc=$?
[ "$rc" = 2 ] || fail "push with wrong password exit $rc, want 2: $(cat "$TEST_TMP/pushwrong.err")"
grep -q "$REG_DST\|127.0.0.1" "$TEST_TMP/pushwrong.err" || fail "push error does not name the registry"
grep -q "nope" "$TEST_TMP/pushwrong.err" && fail "the password appears in stderr"

echo "$dst_pw" | "$FI" push -p "$TEST_TMP/k.pub" --to "$REG_DST/mirror" --plain-http --username ferry \
  --password-stdin "$b" >"$TEST_TMP/push.out" 2>"$TEST_TMP/push.err" \
  || fail "push with token auth: $(cat "$TEST_TMP/push.err")"
grep -q "$dst_pw" "$TEST_TMP/push.err" "$TEST_TMP/push.out" && fail "the password appears in the output"
want=$(digest_of "$REG_SRC" corpus/app0:1.0 "ferry:$src_pw")
got=$(digest_of "$REG_DST" mirror/corpus/app0:1.0 "ferry:$dst_pw") || fail "pushed image missing"
[ "$got" = "$want" ] || fail "digest $got != $want"
# login / logout, as the guide's `regctl registry login -u USER --pass-stdin HOST`
af=$TEST_TMP/login/auth.json
mkdir -p "$TEST_TMP/login"
printf '{"auths":{"other.example":{"auth":"eDp5"}},"proxies":{"default":{}}}\n' > "$af"
rc=0
echo "not-the-password" | REGISTRY_AUTH_FILE=$af "$FX" login -u ferry --password-stdin --plain-http \
  "$REG_SRC" 2> "$TEST_TMP/login-wrong.err" || rc=$?
[ "$rc" = 2 ] && grep -q "login to $REG_SRC" "$TEST_TMP/login-wrong.err" \
  || fail "login with a wrong password: exit $rc: $(cat "$TEST_TMP/login-wrong.err")"
grep -q "not-the-password" "$TEST_TMP/login-wrong.err" && fail "login printed the password"
grep -q "$REG_SRC" "$af" && fail "a refused login was stored"
echo "$src_pw" | REGISTRY_AUTH_FILE=$af "$FI" login -u ferry --password-stdin --plain-http "$REG_SRC" \
  2> "$TEST_TMP/login.err" || fail "login: $(cat "$TEST_TMP/login.err")"
grep -q "$src_pw" "$TEST_TMP/login.err" && fail "login printed the password"
[ "$(stat -c %a "$af")" = 600 ] || fail "auth file mode $(stat -c %a "$af")"
/usr/bin/python3 - "$af" "$REG_SRC" "$src_pw" <<'PYEOF' || fail "auth file after login: $(cat "$af")"
import base64, json, sys
path, host, pw = sys.argv[1:]
d = json.load(open(path))
assert d["proxies"] == {"default": {}}, d               # other keys kept
assert d["auths"]["other.example"]["auth"] == "eDp5", d  # other entries kept
assert base64.b64decode(d["auths"][host]["auth"]).decode() == "ferry:" + pw
PYEOF
# the stored credentials are used by both tools without --username
REGISTRY_AUTH_FILE=$af "$FX" -q -k "$TEST_TMP/k.key" -o "$TEST_TMP/b4.tar.zst" --plain-http "$ref" \
  || fail "export with credentials from login"
# an entry under the legacy https://HOST/ form is read by the lookup, so logout removes it too
/usr/bin/python3 - "$af" "$REG_SRC" <<'PYEOF' || fail "adding a legacy entry"
import json, sys
path, host = sys.argv[1:]
d = json.load(open(path))
d["auths"]["https://%s/v1/" % host] = d["auths"][host]
json.dump(d, open(path, "w"))
PYEOF
REGISTRY_AUTH_FILE=$af "$FX" logout "$REG_SRC" 2> "$TEST_TMP/logout.err" || fail "logout"
grep -q "$REG_SRC" "$af" && fail "logout left an entry the lookup reads: $(cat "$af")"
/usr/bin/python3 -c "import json,sys; d=json.load(open('$af')); sys.exit('$REG_SRC' in d['auths'] or 'other.example' not in d['auths'])" \
  || fail "logout: $(cat "$af")"
rc=0
REGISTRY_AUTH_FILE=$af "$FX" -q -k "$TEST_TMP/k.key" -o "$TEST_TMP/b5.tar.zst" --plain-http "$ref" \
  2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "export after logout: exit $rc"
pass "auth"
