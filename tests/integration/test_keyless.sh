#!/usr/bin/env bash
# Keyless signatures through the gate (issue 13): a test Sigstore (a CA as
# Fulcio, a log key as Rekor, tests/tools/mksigstore.py) signs corpus images
# the way `cosign sign` does without a key (a legacy .sig layer with the
# certificate, chain and Rekor bundle annotations). With --trusted-root and
# the identity, verify and push accept the image signed by that identity and
# refuse, each for its reason, one signed by another identity, one whose log
# entry is dated after the certificate expired, one whose log entry was made
# with another log's key, and one without a signature; a containers-policy
# "fulcio" requirement accepts the same. Regexp identities work as cosign's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require openssl
PY=/usr/bin/python3
MKC="$FERRY_SOURCE_DIR/tests/tools/mkcosign.py"
MKS="$FERRY_SOURCE_DIR/tests/tools/mksigstore.py"

start_registry SRC anon
start_registry DST anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
$PY "$MKS" init ss || fail "mksigstore init"
$PY "$MKS" init other || fail "mksigstore init other"
cp other/rekor.key other-rekor.key
ID=dev@example.com
ISS=https://issuer.example
mkc() { # REPO TAG ARGS...
  local repo=$1 tag=$2
  shift 2
  $PY "$MKC" --registry "$REG_SRC" --repo "$repo" --subject "$tag" "$@" sig > /dev/null || fail "mkcosign $repo:$tag"
}
mkc corpus/app0 1.0 --keyless ss --email "$ID" --issuer "$ISS" --identity "$REG_SRC/corpus/app0"
mkc corpus/app1 2.0 --keyless ss --email mallory@example.com --issuer "$ISS"
mkc corpus/base latest --keyless ss --email "$ID" --issuer "$ISS" --time-offset 90000
# app0:1.1: signed by the right CA and identity, but logged by another log
cp -r ss mixed && cp other/rekor.key mixed/rekor.key && cp other/rekor.pub mixed/rekor.pub
mkc corpus/app0 1.1 --keyless mixed --email "$ID" --issuer "$ISS"
refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done
"$FX" -q -k k.key -o b.tar.zst --plain-http "${refs[@]}" || fail "export"

gate=(--trusted-root ss/trusted_root.json --certificate-identity "$ID" --certificate-oidc-issuer "$ISS")
set +e
"$FI" verify -p k.pub "${gate[@]}" b.tar.zst > v.out 2> v.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify keyless: exit $rc, want 3: $(cat v.err)"
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by $ID (tlog verified)$" v.out || fail "keyless app0:1.0: $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/app1:2.0: no valid signature: identity mismatch" v.out ||
  fail "keyless app1:2.0 (another identity): $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/base:latest: no valid signature: certificate expired" v.out ||
  fail "keyless base (logged after expiry): $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/app0:1.1: no valid signature: .*log" v.out ||
  fail "keyless app0:1.1 (another log): $(cat v.out)"

# regexps, unanchored as cosign's
"$FI" verify -q -p k.pub --trusted-root ss/trusted_root.json --certificate-identity-regexp '@example\.com$' \
  --certificate-oidc-issuer-regexp '^https://issuer\.' b.tar.zst > vr.out 2>&1 || true
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by $ID (tlog verified)$" vr.out || fail "regexp app0:1.0: $(cat vr.out)"
grep -q "^signed    $REG_SRC/corpus/app1:2.0 by mallory@example.com (tlog verified)$" vr.out || fail "regexp app1:2.0: $(cat vr.out)"
# another root (another CA and log): the log entry is the first thing it
# cannot vouch for
set +e
"$FI" verify -p k.pub --trusted-root other/trusted_root.json --certificate-identity "$ID" \
  --certificate-oidc-issuer "$ISS" b.tar.zst > vo.out 2>&1
set -e
grep -q "^unsigned  $REG_SRC/corpus/app0:1.0: no valid signature: bad log entry" vo.out ||
  fail "another root: $(cat vo.out)"

# push: only the image signed by the identity lands
set +e
"$FI" push -q -p k.pub "${gate[@]}" --plain-http --to "$REG_DST/k" b.tar.zst > p.out 2> p.err
rc=$?
set -e
[ $rc = 3 ] || fail "push keyless: exit $rc, want 3: $(cat p.err)"
grep -q "^pushed    $REG_DST/k/corpus/app0:1.0 " p.out || fail "push keyless: $(cat p.out)"
[ "$(grep -c '^refused ' p.out)" = 3 ] || fail "push keyless refused: $(cat p.out)"

# a containers-policy fulcio requirement says the same
cat > policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG_SRC/corpus": [{"type": "sigstoreSigned",
   "fulcio": {"caPath": "ss/ca.pem", "oidcIssuer": "$ISS", "subjectEmail": "$ID"},
   "rekorPublicKeyPath": "ss/rekor.pub", "signedIdentity": {"type": "matchRepository"}}]}}}
EOF
set +e
"$FI" verify -p k.pub --policy policy.json b.tar.zst > pv.out 2> pv.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify --policy fulcio: exit $rc: $(cat pv.err)"
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by $ID (tlog verified)$" pv.out || fail "policy fulcio app0:1.0: $(cat pv.out)"
grep -q "^unsigned  $REG_SRC/corpus/app1:2.0: policy: scope \"$REG_SRC/corpus\": no valid signature: identity mismatch" pv.out ||
  fail "policy fulcio app1:2.0: $(cat pv.out)"
# the right log but another CA: the certificate is not trusted
sed "s#ss/ca.pem#other/ca.pem#" policy.json > policy-ca.json
set +e
"$FI" verify -p k.pub --policy policy-ca.json b.tar.zst > pc.out 2>&1
set -e
grep -q "^unsigned  $REG_SRC/corpus/app0:1.0: policy: scope \"$REG_SRC/corpus\": no valid signature: untrusted certificate" pc.out ||
  fail "policy with another CA: $(cat pc.out)"
pass "keyless: trusted root and identity, regexps, another CA, another log, expiry, policy fulcio"
