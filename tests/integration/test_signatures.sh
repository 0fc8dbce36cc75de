#!/usr/bin/env bash
# The signature gate (issue 13, first part): push --require-signature KEY.pub
# pushes the images that carry a cosign signature referrer by that key and
# refuses the others (exit 3) with their tags untouched: an image signed by
# another key, an unsigned one, and one whose signature was tampered with in
# the source registry (a signature over other bytes). Any one of several
# keys suffices. verify --require-signature says the same per image.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require openssl
PY=/usr/bin/python3

start_registry SRC anon
start_registry DST anon
start_registry DST2 anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
# the vendor's key and another one (ECDSA P-256, as cosign generates)
for who in vendor other; do
  cosign_key "$who"
done
mkref() { # SIGNING-KEY SUBJECT-REPO TAG
  $PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --subject-repo "$2" \
    --subject "$3" --sign-key "$1" signature > /dev/null || fail "mkreferrers $2:$3"
}
mkref vendor.pem corpus/app0 1.0
mkref other.pem corpus/app1 2.0
# app0:1.1 gets a fake signature (random bytes, what mkreferrers writes
# without a key); base:latest none at all
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --subject-repo corpus/app0 \
  --subject 1.1 signature > /dev/null || fail "mkreferrers fake"
refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done
"$FX" -q -k k.key -o b.tar.zst --plain-http "${refs[@]}" || fail "export"

# verify says per image, exit 3
set +e
"$FI" verify -p k.pub --require-signature vendor.pub b.tar.zst > v.out 2> v.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify --require-signature: exit $rc, want 3: $(cat v.err)"
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by key " v.out || fail "verify: app0:1.0 not signed: $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/app1:2.0: no valid signature: wrong key" v.out ||
  fail "verify: app1:2.0: $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/app0:1.1: no valid signature: " v.out || fail "verify: app0:1.1: $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/base:latest: no signature" v.out || fail "verify: base: $(cat v.out)"
grep -q "3 images without a signature the gate accepts" v.err || fail "verify summary: $(cat v.err)"

set +e
"$FI" verify --json -p k.pub --require-signature vendor.pub b.tar.zst > vj.out 2> vj.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify --json --require-signature: exit $rc, want 3: $(cat vj.err)"
$PY - vj.out <<'PYEOF' || fail "verify --json: $(cat vj.out)"
import json, sys
d = json.load(open(sys.argv[1]))
sig = {x["source"].split("/", 1)[1]: x for x in d["signatures"]}
assert sig["corpus/app0:1.0"]["signed"] and len(sig["corpus/app0:1.0"]["keyId"]) == 64, sig
assert not sig["corpus/app1:2.0"]["signed"] and "wrong key" in sig["corpus/app1:2.0"]["reason"], sig
assert sig["corpus/base:latest"]["reason"] == "no signature", sig
PYEOF

# push: only the signed image lands; the others are refused, tags untouched
set +e
"$FI" push -p k.pub --require-signature vendor.pub --plain-http --to "$REG_DST/m" \
  --receipt r.json b.tar.zst > p.out 2> p.err
rc=$?
set -e
[ $rc = 3 ] || fail "push --require-signature: exit $rc, want 3: $(cat p.err)"
grep -q "^pushed    $REG_DST/m/corpus/app0:1.0 " p.out || fail "push: app0:1.0: $(cat p.out)"
grep -q "^refused   $REG_DST/m/corpus/app1:2.0 sha256:[0-9a-f]*: not signed by a required key: no valid signature: wrong key" p.out ||
  fail "push: app1:2.0: $(cat p.out)"
grep -q "^refused   $REG_DST/m/corpus/base:latest sha256:[0-9a-f]*: not signed by a required key: no signature" p.out ||
  fail "push: base: $(cat p.out)"
grep -q "3 images refused: not signed as the signature gate requires" p.err || fail "push summary: $(cat p.err)"
[ "$(digest_of "$REG_DST" m/corpus/app0:1.0)" = "$(digest_of "$REG_SRC" corpus/app0:1.0)" ] ||
  fail "the signed image did not land"
for t in corpus/app1/tags corpus/base/tags; do
  if curl -fsS "http://$REG_DST/v2/m/${t%/tags}/tags/list" 2>/dev/null | grep -q '"tags":\["'; then
    fail "a refused image's tag was set: m/${t%/tags}"
  fi
done
$PY - r.json <<'PYEOF' || fail "the receipt does not say why: $(cat r.json)"
import json, sys
r = json.load(open(sys.argv[1]))
res = {x["source"].split("/", 1)[1]: x for x in r["results"]}
assert res["corpus/app0:1.0"]["result"] == "pushed", res
assert res["corpus/base:latest"]["result"] == "refused", res
assert "not signed by a required key" in res["corpus/base:latest"]["reason"], res
PYEOF

# either of two keys: the images signed by one of them land
set +e
"$FI" push -q -p k.pub --require-signature other.pub --require-signature vendor.pub --plain-http \
  --to "$REG_DST2/m" b.tar.zst > p2.out 2> p2.err
rc=$?
set -e
[ $rc = 3 ] || fail "push with two keys: exit $rc, want 3 (two images unsigned): $(cat p2.err)"
grep -q "^pushed    $REG_DST2/m/corpus/app1:2.0 " p2.out || fail "two keys: app1:2.0: $(cat p2.out)"
grep -q "^pushed    $REG_DST2/m/corpus/app0:1.0 " p2.out || fail "two keys: app0:1.0: $(cat p2.out)"
[ "$(grep -c '^refused ' p2.out)" = 2 ] || fail "two keys: $(cat p2.out)"

# a key file that is no key is refused before anything
set +e
echo "not a key" > bad.pub
"$FI" push -p k.pub --require-signature bad.pub --plain-http --to "$REG_DST2/x" b.tar.zst > /dev/null 2> bad.err
rc=$?
set -e
[ $rc = 2 ] || [ $rc = 1 ] || fail "a bad key file: exit $rc: $(cat bad.err)"
grep -q "bad.pub" bad.err || fail "a bad key file is not named: $(cat bad.err)"
pass "signature gate: signed pushed, wrong key, fake and unsigned refused"
