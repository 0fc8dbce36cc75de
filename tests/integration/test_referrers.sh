#!/usr/bin/env bash
# Referrers travel intact. An image whose signature, SBOM, provenance and a
# signature on the SBOM live in another repository of the source registry
# arrives with all of them attached in the target; an unrelated entry already
# in the target's fallback index survives; importing twice duplicates nothing;
# the artifact-type filter; --referrers-tgt; the layout is readable the oras way
# (untagged index.json entries with subject) and the regclient way (fallback tag
# index); and the referrers-API code paths, on export and on import, against
# tests/tools/referrers_proxy.py: a minimal test double that adds
# /v2/<name>/referrers/<digest> and OCI-Subject to a docker-registry, since no
# Debian registry speaks the referrers API.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
PY=/usr/bin/python3
MKREF=$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py

start_registry SRC anon
start_registry DST anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"

# referrers of corpus/app0:1.0 in corpus/app0-attest, and one on a platform manifest of app1
$PY "$MKREF" --registry "$REG_SRC" --repo corpus/app0-attest --subject-repo corpus/app0 \
  --subject 1.0 signature sbom provenance sig-on:sbom > refs.jsonl || fail "mkreferrers"
subject=$(digest_of "$REG_SRC" corpus/app0:1.0)
dg() { $PY -c "import json,sys
for l in open('refs.jsonl'):
    d=json.loads(l)
    if d['name']=='$1': print(d['digest'])"; }
sig=$(dg signature); sbom=$(dg sbom); prov=$(dg provenance); sigsbom=$(dg sig-on-sbom)
child=$(skopeo inspect --raw --tls-verify=false "docker://$REG_SRC/corpus/app1:2.0" |
  $PY -c 'import json,sys; print(json.load(sys.stdin)["manifests"][1]["digest"])')
$PY "$MKREF" --registry "$REG_SRC" --subject-repo corpus/app1 --subject "$child" \
  "vex,name=child-vex" > child.jsonl || fail "mkreferrers on a platform manifest"
childvex=$($PY -c "import json; print(json.loads(open('child.jsonl').readline())['digest'])")

# an unrelated entry already in the target's fallback index for the same subject
$PY "$MKREF" --registry "$REG_DST" --repo mirror/corpus/app0 --subject-registry "$REG_SRC" \
  --subject-repo corpus/app0 --subject 1.0 "scan,name=preexisting" > pre.jsonl || fail "preexisting"
pre=$($PY -c "import json; print(json.loads(open('pre.jsonl').readline())['digest'])")

# --- export, verify, list -------------------------------------------------------
"$FX" -q -k k.key -o app0.tar.zst --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  "$REG_SRC/corpus/app0:1.0" || fail "export with --referrers-src"
"$FI" verify -p k.pub app0.tar.zst >/dev/null || fail "verify"
"$FI" list --referrers --json -p k.pub app0.tar.zst > list.json
$PY - "$subject" "$sig" "$sbom" "$prov" "$sigsbom" "$REG_SRC" <<'PYEOF' || fail "list --referrers --json"
import json, sys
subject, sig, sbom, prov, sigsbom, src = sys.argv[1:]
img = json.load(open("list.json"))["images"][0]
refs = {r["digest"]: r for r in img["referrers"]}
assert set(refs) == {sig, sbom, prov, sigsbom}, refs.keys()
assert refs[sig]["subject"] == subject and refs[sbom]["subject"] == subject
assert refs[sigsbom]["subject"] == sbom, "signature on the SBOM keeps its subject"
assert refs[sbom]["artifactType"] == "application/spdx+json"
assert refs[prov]["annotations"]["dev.ferry.test.name"] == "provenance"
assert all(r["source"] == src + "/corpus/app0-attest" for r in refs.values())
PYEOF
"$FI" list --referrers app0.tar.zst | grep -q "└── application/vnd.dev.cosign.artifact.sig.v1+json" \
  || fail "tree output"

# --- the layout, read the oras way and the regclient way -------------------------
mkdir layout && zstd -dq < app0.tar.zst | tar -xf - -C layout
$PY - "$subject" "$sig" "$sbom" "$prov" "$sigsbom" <<'PYEOF' || fail "layout walk"
import json, sys
subject, sig, sbom, prov, sigsbom = sys.argv[1:]
blob = lambda d: json.load(open("layout/blobs/sha256/" + d.split(":")[1]))
idx = json.load(open("layout/index.json"))
# oras: walk every index.json entry, read `subject` of each manifest
found = {}
for e in idx["manifests"]:
    if "org.opencontainers.image.ref.name" in e.get("annotations", {}):
        continue
    m = blob(e["digest"])
    found[e["digest"]] = m.get("subject", {}).get("digest")
assert found == {sig: subject, sbom: subject, prov: subject, sigsbom: sbom}, found
# regclient: the fallback tag sha256-<hex> is an index listing the referrers
tags = {e["annotations"]["org.opencontainers.image.ref.name"]: e["digest"]
        for e in idx["manifests"]
        if "org.opencontainers.image.ref.name" in e.get("annotations", {})}
fb = blob(tags["sha256-" + subject.split(":")[1]])
assert {m["digest"] for m in fb["manifests"]} == {sig, sbom, prov}, fb
assert all("artifactType" in m for m in fb["manifests"])
fb2 = blob(tags["sha256-" + sbom.split(":")[1]])
assert [m["digest"] for m in fb2["manifests"]] == [sigsbom]
PYEOF

# --- push into a registry without the referrers API, twice ------------------------
"$FI" push -p k.pub --to "$REG_DST/mirror" --plain-http app0.tar.zst >push1.out 2>push1.err \
  || fail "push: $(cat push1.err)"
grep -q "fallback tags: 2 written" push1.err || fail "fallback tags not written: $(cat push1.err)"
fbtag() { # REPO DIGEST -> the fallback index JSON in the target
  curl -fsS -H "Accept: application/vnd.oci.image.index.v1+json" \
    "http://$REG_DST/v2/$1/manifests/sha256-${2#sha256:}"
}
fbtag mirror/corpus/app0 "$subject" > fb1.json || fail "no fallback tag in the target"
$PY - "$sig" "$sbom" "$prov" "$pre" <<'PYEOF' || fail "target fallback index"
import json, sys
sig, sbom, prov, pre = sys.argv[1:]
fb = json.load(open("fb1.json"))
ds = [m["digest"] for m in fb["manifests"]]
assert ds[0] == pre, "the entry that was there first stays first: %s" % ds
assert sorted(ds) == sorted([pre, sig, sbom, prov]), ds
assert len(ds) == len(set(ds))
for m in fb["manifests"]:
    assert m["artifactType"] and m["annotations"]["dev.ferry.test.name"], m
PYEOF
fbtag mirror/corpus/app0 "$sbom" | grep -q "${sigsbom#sha256:}" || fail "signature on the SBOM not attached"
for d in "$sig" "$sbom" "$prov" "$sigsbom"; do
  curl -fsS -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$REG_DST/v2/mirror/corpus/app0/manifests/$d" || fail "referrer $d not in the target"
done
"$FI" referrers --plain-http "$REG_DST/mirror/corpus/app0@$subject" > ls.out || fail "referrers command"
grep -q "4 referrers" ls.out && grep -q "via fallback tag" ls.out || fail "referrers listing: $(cat ls.out)"
# the guide's check: by tag, resolved first; --tree shows the signature on the SBOM
"$FI" referrers --plain-http --tree "$REG_DST/mirror/corpus/app0:1.0" > tree.out || fail "referrers --tree"
grep -q "^$REG_DST/mirror/corpus/app0:1.0 -> $subject\$" tree.out || fail "tag not resolved: $(cat tree.out)"
grep -q "5 referrers" tree.out || fail "tree count: $(cat tree.out)"
grep -Eq "^  │   └── application/vnd.dev.cosign.artifact.sig.v1\+json  $sigsbom" tree.out \
  || fail "signature on the SBOM not under the SBOM: $(cat tree.out)"
"$FI" referrers --plain-http --tree --json "$REG_DST/mirror/corpus/app0:1.0" > tree.json || fail "--json"
$PY - "$subject" "$sbom" "$sigsbom" <<'PYEOF' || fail "referrers --tree --json: $(cat tree.json)"
import json, sys
subject, sbom, sigsbom = sys.argv[1:]
t = json.load(open("tree.json"))
assert t["digest"] == subject and t["via"] == "fallback tag" and t["fallbackTag"], t
top = {m["digest"]: m for m in t["manifests"]}
assert len(top) == 4, top.keys()
assert [k["digest"] for k in top[sbom]["referrers"]] == [sigsbom], top[sbom]
PYEOF

"$FI" push -p k.pub --to "$REG_DST/mirror" --plain-http app0.tar.zst >push2.out 2>push2.err \
  || fail "second push"
grep -q "fallback tags: 0 written, 2 already complete" push2.err || fail "second push rewrote: $(cat push2.err)"
fbtag mirror/corpus/app0 "$subject" | cmp -s - fb1.json || fail "fallback index changed on the second import"

# --- platform manifest referrers (same repository, no --referrers-src) ----------------
# --platform picks the manifest of one platform of an index, as regctl manifest head does
plat=$(skopeo inspect --raw --tls-verify=false "docker://$REG_SRC/corpus/app1:2.0" |
  $PY -c 'import json,sys; p=json.load(sys.stdin)["manifests"][1]["platform"]; print(p["os"]+"/"+p["architecture"]+("/"+p["variant"] if p.get("variant") else ""))')
"$FI" referrers --plain-http --platform "$plat" "$REG_SRC/corpus/app1:2.0" > plat.out \
  || fail "referrers --platform"
grep -q -- "-> $child $plat" plat.out && grep -q "$childvex" plat.out || fail "--platform: $(cat plat.out)"
rc=0
"$FI" referrers --plain-http --platform linux "$REG_SRC/corpus/app1:2.0" > /dev/null 2> badplat.err || rc=$?
[ "$rc" = 64 ] && grep -q "give OS/ARCH or OS/ARCH/VARIANT" badplat.err || fail "--platform linux: exit $rc"
rc=0
"$FI" referrers --plain-http --platform plan9/mips "$REG_SRC/corpus/app1:2.0" > /dev/null 2> noplat.err || rc=$?
[ "$rc" = 2 ] && grep -q "has no platform plan9/mips (it has linux/" noplat.err \
  || fail "unknown platform: exit $rc: $(cat noplat.err)"
"$FX" -q -k k.key -o app1.tar.zst --plain-http "$REG_SRC/corpus/app1:2.0" || fail "export app1"
"$FI" list --referrers --json app1.tar.zst | grep -q "$childvex" || fail "referrer of a platform manifest missing"
"$FI" push -q -p k.pub --to "$REG_DST/mirror" --plain-http app1.tar.zst >/dev/null || fail "push app1"
fbtag mirror/corpus/app1 "$child" | grep -q "$childvex" || fail "platform referrer not attached"

# --- filters and switches ----------------------------------------------------------
"$FX" -q -k k.key -o sbom.tar.zst --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  --referrers-artifact-type application/spdx+json "$REG_SRC/corpus/app0:1.0" || fail "filtered export"
n=$("$FI" list --referrers --json sbom.tar.zst | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["images"][0]["referrers"]))')
[ "$n" = 1 ] || fail "artifact type filter kept $n referrers"
"$FX" -q -k k.key -o none.tar.zst --plain-http --no-referrers "$REG_SRC/corpus/app0:1.0" || fail "--no-referrers"
n=$("$FI" list --referrers --json none.tar.zst | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["images"][0]["referrers"]))')
[ "$n" = 0 ] || fail "--no-referrers kept $n"

# --referrers-tgt: they land there (host replaced by --to), not with the image
"$FX" -q -k k.key -o tgt.tar.zst --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  --referrers-tgt "$REG_SRC/security/app0-sigs" "$REG_SRC/corpus/app0:1.0" || fail "export --referrers-tgt"
"$FI" push -q -p k.pub --to "$REG_DST/m2" --plain-http tgt.tar.zst >/dev/null || fail "push --referrers-tgt"
fbtag m2/security/app0-sigs "$subject" | grep -q "${sig#sha256:}" || fail "referrers not in --referrers-tgt"
curl -fsS -o /dev/null "http://$REG_DST/v2/m2/corpus/app0/manifests/sha256-${subject#sha256:}" \
  -H "Accept: application/vnd.oci.image.index.v1+json" && fail "referrers also landed with the image"

# --- a registry with the referrers API (test double) ---------------------------------
start_registry API anon
pport=$(ferry_free_port)
$PY "$FERRY_SOURCE_DIR/tests/tools/referrers_proxy.py" --listen "$pport" --upstream "$REG_API" \
  --page-size 2 2>proxy.log &
ferry_track_pid $!
ferry_wait_http "http://127.0.0.1:$pport/v2/" 20 || fail "referrers proxy did not start"
PROXY=127.0.0.1:$pport
"$FI" push -p k.pub --to "$PROXY/mirror" --plain-http app0.tar.zst >api.out 2>api.err || fail "push via API: $(cat api.err)"
grep -q "0 written" api.err && grep -q "served by the referrers API" api.err || fail "API push report: $(cat api.err)"
curl -fsS -o /dev/null "http://$REG_API/v2/mirror/corpus/app0/manifests/sha256-${subject#sha256:}" \
  -H "Accept: application/vnd.oci.image.index.v1+json" && fail "a fallback tag was written although the API exists"
"$FI" referrers --plain-http "$PROXY/mirror/corpus/app0@$subject" > api-ls.out || fail "referrers via API"
grep -q "via referrers API" api-ls.out && grep -q "3 referrers" api-ls.out || fail "API listing: $(cat api-ls.out)"
# and export discovers through the API (paginated: page size 2), recursively
"$FX" -q -k k.key -o api.tar.zst --plain-http "$PROXY/mirror/corpus/app0:1.0" || fail "export via API"
n=$("$FI" list --referrers --json api.tar.zst | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["images"][0]["referrers"]))')
[ "$n" = 4 ] || fail "export via the referrers API found $n referrers, want 4"
grep -q "referrers/$subject" proxy.log || fail "the API was not asked"
pass "referrers"
