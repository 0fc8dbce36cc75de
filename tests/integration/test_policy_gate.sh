#!/usr/bin/env bash
# The signature gate end to end (issue 13): one bundle mixing images signed
# in cosign's forms (a legacy .sig tag, a cosign v3 Sigstore bundle
# referrer), unsigned, signed by another key, with a tampered signature, and
# signed for another repository name. push --require-signature lands exactly
# the signed ones; push --policy (containers-policy.json: sigstoreSigned with
# matchRepository for the source's namespace, insecureAcceptAnything for one
# repository, reject by default) lands exactly what the policy accepts; the
# refused keep their tags untouched. ferry-export checks the same before
# writing: it stops (exit 3, nothing written), or leaves the refused out with
# --skip-unsigned; plan shows each image's status. Wrong option combinations
# are usage errors.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require openssl
PY=/usr/bin/python3
MKC="$FERRY_SOURCE_DIR/tests/tools/mkcosign.py"

start_registry SRC anon
start_registry DK anon
start_registry DP anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
for who in vendor other; do
  cosign_key "$who"
done
copy() { # FROM TO: the same manifest under another repository (no attachments there)
  skopeo copy -q --all --src-tls-verify=false --dest-tls-verify=false "docker://$REG_SRC/$1" \
    "docker://$REG_SRC/$2" || fail "copy $1 $2"
}
copy corpus/base:latest corpus/plain:1
copy corpus/base:latest corpus/open:1
copy corpus/app0:1.1 corpus/named:1
mkc() { # REPO TAG ARGS...
  local repo=$1 tag=$2
  shift 2
  $PY "$MKC" --registry "$REG_SRC" --repo "$repo" --subject "$tag" "$@" > /dev/null || fail "mkcosign $repo:$tag"
}
mkc corpus/app0 1.0 --sign-key vendor.pem --identity "$REG_SRC/corpus/app0" sig    # signed (legacy .sig)
mkc corpus/app1 2.0 --sign-key vendor.pem bundle                                  # signed (cosign v3)
mkc corpus/base latest --sign-key other.pem --identity "$REG_SRC/corpus/base" sig  # wrong key
mkc corpus/app0 1.1 --sign-key vendor.pem --identity "$REG_SRC/corpus/app0" --tamper sig  # tampered
mkc corpus/named 1 --sign-key vendor.pem --identity "$REG_SRC/elsewhere/named" sig # another name
# corpus/plain:1 and corpus/open:1: no signature at all
ALL="corpus/app0:1.0 corpus/app1:2.0 corpus/base:latest corpus/app0:1.1 corpus/named:1 corpus/plain:1 corpus/open:1"
refs=()
for r in $ALL; do refs+=("$REG_SRC/$r"); done
cat > policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {
   "$REG_SRC/corpus": [{"type": "sigstoreSigned", "keyPath": "keys/vendor.pub",
                        "signedIdentity": {"type": "matchRepository"}}],
   "$REG_SRC/corpus/open": [{"type": "insecureAcceptAnything"}]}}}
EOF
mkdir keys && cp vendor.pub keys/

"$FX" -q -k k.key -o b.tar.zst --plain-http "${refs[@]}" || fail "export"

tags_of() { # REGISTRY REPO: its tags, one per line, or nothing
  local body
  body=$(curl -fsS "http://$1/v2/$2/tags/list" 2>/dev/null) || return 0
  printf '%s' "$body" | $PY -c 'import json,sys; [print(t) for t in (json.load(sys.stdin).get("tags") or [])]'

}
landed() { # REGISTRY: the repo:tag of the sample tags that exist (not attachments)
  for r in $ALL; do
    repo=${r%:*} tag=${r##*:}
    tags_of "$1" "m/$repo" | grep -x "$tag" > /dev/null && echo "$r"
  done | sort
}

# --- keys: the signed ones, whatever name they carry ---
set +e
"$FI" push -p k.pub --require-signature vendor.pub --plain-http --to "$REG_DK/m" --json b.tar.zst > pk.json 2> pk.err
rc=$?
set -e
[ $rc = 3 ] || fail "push --require-signature: exit $rc, want 3: $(cat pk.err)"
want=$(printf '%s\n' corpus/app0:1.0 corpus/app1:2.0 corpus/named:1 | sort)
[ "$(landed "$REG_DK")" = "$want" ] || fail "keys: landed $(landed "$REG_DK" | tr '\n' ' '), want $(echo $want)"
$PY - pk.json <<'PYEOF' || fail "push --json reasons: $(cat pk.json)"
import json, sys
d = json.load(open(sys.argv[1]))
res = {i["source"].split("/", 1)[1]: i for i in d["images"]}
def why(r): return res[r].get("reason", "")
assert res["corpus/base:latest"]["result"] == "refused" and "wrong key" in why("corpus/base:latest"), res
assert res["corpus/app0:1.1"]["result"] == "refused" and "wrong key" in why("corpus/app0:1.1"), res
assert res["corpus/plain:1"]["result"] == "refused" and why("corpus/plain:1").endswith("no signature"), res
assert res["corpus/open:1"]["result"] == "refused", res
for r in ("corpus/app0:1.0", "corpus/app1:2.0", "corpus/named:1"):
    assert res[r]["result"] == "pushed", (r, res[r])
# the refused images' attachments stay out too
tg = [x["target"] for x in d["referrers"]]
assert not any("/m/corpus/base:" in t for t in tg), tg
PYEOF
grep -q "4 images refused: not signed as the signature gate requires" pk.err || fail "keys summary: $(cat pk.err)"

# --- policy: what it accepts for the source names ---
set +e
"$FI" verify -p k.pub --policy policy.json b.tar.zst > pv.out 2> pv.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify --policy: exit $rc, want 3: $(cat pv.err)"
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by key [0-9a-f]\{16\} (tlog not checked)$" pv.out ||
  fail "policy verify app0:1.0 (no log key: the log is not checked, and says so): $(cat pv.out)"
grep -q "^signed    $REG_SRC/corpus/app1:2.0 by key " pv.out || fail "policy verify app1:2.0: $(cat pv.out)"
grep -q "^accepted  $REG_SRC/corpus/open:1: policy scope \"$REG_SRC/corpus/open\" accepts anything" pv.out ||
  fail "policy verify open:1: $(cat pv.out)"
grep -q "^unsigned  $REG_SRC/corpus/named:1: policy: scope \"$REG_SRC/corpus\": no valid signature: identity mismatch" pv.out ||
  fail "policy verify named:1: $(cat pv.out)"
grep -q "^unsigned  $REG_SRC/corpus/plain:1: policy: scope \"$REG_SRC/corpus\": no signature" pv.out ||
  fail "policy verify plain:1: $(cat pv.out)"
set +e
"$FI" verify --json -p k.pub --policy policy.json b.tar.zst > pvj.json 2> /dev/null
set -e
$PY - pvj.json "$REG_SRC" <<'PYEOF' || fail "verify --policy --json: $(cat pvj.json)"
import json, sys
d = json.load(open(sys.argv[1]))
sig = {x["source"].split("/", 1)[1]: x for x in d["signatures"]}
assert sig["corpus/named:1"]["reasonCode"] == "identity mismatch", sig
assert sig["corpus/named:1"]["policyScope"] == sys.argv[2] + "/corpus", sig
assert sig["corpus/open:1"]["signed"] and sig["corpus/open:1"]["policyScope"] == sys.argv[2] + "/corpus/open", sig
assert sum(1 for x in sig.values() if x["signed"]) == 3, sig
PYEOF
set +e
"$FI" push -q -p k.pub --policy policy.json --plain-http --to "$REG_DP/m" b.tar.zst > pp.out 2> pp.err
rc=$?
set -e
[ $rc = 3 ] || fail "push --policy: exit $rc, want 3: $(cat pp.err)"
want=$(printf '%s\n' corpus/app0:1.0 corpus/app1:2.0 corpus/open:1 | sort)
[ "$(landed "$REG_DP")" = "$want" ] || fail "policy: landed $(landed "$REG_DP" | tr '\n' ' '), want $(echo $want)"
grep -q "^refused   $REG_DP/m/corpus/named:1 sha256:[0-9a-f]*: policy: scope \"$REG_SRC/corpus\": no valid signature: identity mismatch" pp.out ||
  fail "policy push named:1: $(cat pp.out)"
# the .sig of the signed legacy image landed with it
d0=$(digest_of "$REG_SRC" corpus/app0:1.0)
tags_of "$REG_DP" m/corpus/app0 | grep -x "sha256-${d0#sha256:}.sig" > /dev/null || fail "app0:1.0's .sig did not land"

# --- export checks before writing ---
set +e
"$FX" -q -k k.key -o stop.tar.zst --plain-http --policy policy.json "${refs[@]}" > xs.out 2> xs.err
rc=$?
set -e
[ $rc = 3 ] || fail "export --policy: exit $rc, want 3: $(cat xs.err)"
[ ! -e stop.tar.zst ] || fail "export --policy wrote a bundle although images were refused"
grep -q "4 images not signed as the signature gate requires" xs.err || fail "export --policy: $(cat xs.err)"
grep -q "^unsigned  $REG_SRC/corpus/named:1: " xs.err || fail "export --policy does not name named:1: $(cat xs.err)"
"$FX" -q -k k.key -o kept.tar.zst --plain-http --policy policy.json --skip-unsigned "${refs[@]}" 2> xk.err ||
  fail "export --skip-unsigned: $(cat xk.err)"
"$FI" list kept.tar.zst > kept.out 2>&1 || fail "list kept: $(cat kept.out)"
for r in corpus/app0:1.0 corpus/app1:2.0 corpus/open:1; do
  grep -q "$REG_SRC/$r" kept.out || fail "--skip-unsigned left out $r: $(cat kept.out)"
done
for r in corpus/base:latest corpus/app0:1.1 corpus/named:1 corpus/plain:1; do
  if grep -q "$REG_SRC/$r" kept.out; then fail "--skip-unsigned kept $r"; fi
done
# what only the refused needed is gone: named:1 is app0:1.1's digest, whose
# tampered .sig lived only in corpus/app0
tar --zstd -xOf kept.tar.zst ferry.json > kept.json
if grep -q "sha256-$(digest_of "$REG_SRC" corpus/app0:1.1 | cut -d: -f2).sig" kept.json; then
  fail "--skip-unsigned kept a refused image's attachment"
fi
"$FI" verify -p k.pub --policy policy.json kept.tar.zst > kv.out 2> kv.err || fail "the kept bundle does not pass its own gate: $(cat kv.out kv.err)"
set +e
"$FX" plan --plain-http --policy policy.json "${refs[@]}" > plan.out 2> plan.err
rc=$?
set -e
[ $rc = 3 ] || fail "plan --policy: exit $rc, want 3: $(cat plan.err)"
grep -q "^signed    $REG_SRC/corpus/app1:2.0 by key " plan.out || fail "plan status: $(cat plan.out)"
grep -q "^unsigned  $REG_SRC/corpus/plain:1: " plan.out || fail "plan status plain: $(cat plan.out)"
"$FX" plan --json --plain-http --require-signature vendor.pub --skip-unsigned "${refs[@]}" > plan.json 2> /dev/null ||
  fail "plan --skip-unsigned"
$PY - plan.json <<'PYEOF' || fail "plan --json signatures: $(cat plan.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["signatures"]) == 7 and sum(x["signed"] for x in d["signatures"]) == 3, d["signatures"]
assert len(d["images"]) == 3, [i["source"] for i in d["images"]]
PYEOF

# --- usage errors ---
usage() { # WHAT CMD...: exit 64 and a message
  set +e
  "$@" > /dev/null 2> u.err
  local rc=$?
  set -e
  [ $rc = 64 ] || fail "usage: exit $rc for: $* : $(cat u.err)"
}
ROOT="$FERRY_SOURCE_DIR/tests/data/cosign-vectors/rekor/trusted_root_public_good.json"
usage "$FI" verify -p k.pub --policy policy.json --require-signature vendor.pub b.tar.zst
usage "$FI" verify -p k.pub --trusted-root "$ROOT" b.tar.zst
usage "$FI" verify -p k.pub --certificate-identity a@b.c --certificate-oidc-issuer https://x b.tar.zst
usage "$FI" verify -p k.pub --trusted-root "$ROOT" --certificate-identity-regexp '(' \
  --certificate-oidc-issuer https://x b.tar.zst
grep -q "(" u.err || fail "a bad regexp is not named: $(cat u.err)"
usage "$FI" verify -p k.pub --rekor-key vendor.pub b.tar.zst
usage "$FX" plan --plain-http --skip-unsigned "$REG_SRC/corpus/app0:1.0"
# keyless accepted as options; key-signed images are not keyless-signed
set +e
"$FI" verify -p k.pub --trusted-root "$ROOT" --certificate-identity a@example.com \
  --certificate-oidc-issuer https://accounts.google.com b.tar.zst > kl.out 2>&1
rc=$?
set -e
[ $rc = 3 ] || fail "verify --trusted-root: exit $rc, want 3: $(cat kl.out)"
grep -q "^unsigned  $REG_SRC/corpus/app0:1.0: no valid signature: wrong key" kl.out || fail "keyless: $(cat kl.out)"
pass "signature gate: keys, policy, export checks, usage errors"
