#!/usr/bin/env bash
# cosign's tag-based attachments (issue 13, item 1): the sha256-<hex>.sig,
# .att and .sbom tags of every exported manifest travel in the bundle
# (format version 4), are listed by plan and list --referrers, land under the
# same tags on import (a registry without the referrers API), are found in
# --referrers-src too, stay out with --no-referrers (an attachment's own
# attachment, a signed .sbom, travels too), and feed the signature
# gate: an image signed only by a legacy .sig tag passes
# --require-signature, one whose .sig was tampered with is refused. A dry
# run reports the attachment tags and referrers a push would write.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require openssl
PY=/usr/bin/python3
MKC="$FERRY_SOURCE_DIR/tests/tools/mkcosign.py"

start_registry SRC anon
start_registry DST anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
cosign_key vendor

# app0:1.0: legacy .sig, .att and .sbom tags; app1:2.0: a tampered .sig;
# app0:1.1: nothing; base:latest: its .sig in another repository (below)
$PY "$MKC" --registry "$REG_SRC" --repo corpus/app0 --subject 1.0 --sign-key vendor.pem \
  sig att sbom > a0.json || fail "mkcosign app0:1.0"
$PY "$MKC" --registry "$REG_SRC" --repo corpus/app1 --subject 2.0 --sign-key vendor.pem \
  --tamper sig > a1.json || fail "mkcosign app1:2.0"
d0=$(digest_of "$REG_SRC" corpus/app0:1.0)
t0=sha256-${d0#sha256:}
for k in sig att sbom; do
  digest_of "$REG_SRC" "corpus/app0:$t0.$k" > /dev/null || fail "no $t0.$k in the source"
done
# the .sbom signed in turn (cosign sign --attachment sbom): an attachment's
# attachment, sha256-<the .sbom's hex>.sig
$PY "$MKC" --registry "$REG_SRC" --repo corpus/app0 --subject "$t0.sbom" --sign-key vendor.pem \
  sig > as.json || fail "mkcosign app0:$t0.sbom"
ds=$(digest_of "$REG_SRC" "corpus/app0:$t0.sbom")
ts=sha256-${ds#sha256:}.sig
digest_of "$REG_SRC" "corpus/app0:$ts" > /dev/null || fail "no $ts in the source"
refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done

# plan names them
"$FX" plan --plain-http "${refs[@]}" > plan.out 2> plan.err || fail "plan: $(cat plan.err)"
for k in sig att sbom; do
  grep -q "cosign attachment $t0.$k sha256:" plan.out || fail "plan does not list $t0.$k: $(cat plan.out)"
done
"$FX" plan --json --plain-http "${refs[@]}" > plan.json 2> /dev/null || fail "plan --json"
$PY - plan.json "$t0" "$ts" "$ds" <<'PYEOF' || fail "plan --json: $(cat plan.json)"
import json, sys
d = json.load(open(sys.argv[1]))
tags = sorted(r["tag"] for im in d["images"] for r in im["referrers"] if "tag" in r)
t0 = sys.argv[2]
sub = [r for im in d["images"] for r in im["referrers"] if r.get("tag") == sys.argv[3]]
assert len(sub) == 1 and sub[0]["subject"] == sys.argv[4], sub
assert [t for t in tags if t.startswith(t0)] == [t0 + ".att", t0 + ".sbom", t0 + ".sig"], tags
assert len(tags) == 5, tags  # the .sbom's .sig and app1's tampered .sig
PYEOF

"$FX" -vv -k k.key -o b.tar.zst --plain-http "${refs[@]}" 2> b.err || fail "export: $(tail -5 b.err)"
# the prefetch fetched everything ahead, the attachments' own referrers and
# attachments included: the resolve asked the registry for nothing itself
grep -q "resolve: [0-9]* manifests, referrer lists and tag lists from the prefetch, 0 asked for itself" \
  b.err || fail "the resolve asked for what the prefetch did not fetch: $(grep -E 'resolve: |prefetch: ' b.err)"
tar --zstd -xOf b.tar.zst ferry.json > st.json || fail "no ferry.json"
$PY - st.json "$t0" "$ts" "$ds" <<'PYEOF' || fail "statement: $(head -c 2000 st.json)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ferryBundleVersion"] == 4, s["ferryBundleVersion"]
tags = [r["tag"] for r in s["referrers"] if "tag" in r]
assert sorted(t for t in tags if t.startswith(sys.argv[2])) == sorted(
    sys.argv[2] + x for x in (".att", ".sbom", ".sig")), tags
sub = [r for r in s["referrers"] if r.get("tag") == sys.argv[3]]
assert len(sub) == 1 and sub[0]["subject"] == sys.argv[4], sub
PYEOF
tar --zstd -xOf b.tar.zst index.json > idx.json || fail "no index.json"
grep -q "\"org.opencontainers.image.ref.name\":\"$t0.sig\"" idx.json ||
  fail "index.json does not tag the .sig manifest: $(cat idx.json)"
"$FI" verify -p k.pub b.tar.zst > /dev/null 2> v.err || fail "verify: $(cat v.err)"
"$FI" list --referrers b.tar.zst > l.out 2> l.err || fail "list --referrers: $(cat l.err)"
grep -q "cosign attachment $t0.sig" l.out || fail "list --referrers: $(cat l.out)"

# a dry run says which attachment tags and referrers a push would write,
# and writes none
nref=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["referrers"]))' st.json)
"$FI" push --dry-run -p k.pub --plain-http --to "$REG_DST" b.tar.zst > d.out 2> d.err ||
  fail "dry run: $(cat d.err)"
grep -q "dry run: referrers: $nref, $nref of them to push" d.err || fail "dry run, referrers: $(cat d.err)"
grep -q "dry run: cosign attachment tags: 5 to set, 0 unchanged" d.err || fail "dry run, attachments: $(cat d.err)"
"$FI" push --dry-run -p k.pub --plain-http --to "$REG_DST" --json b.tar.zst > d.json 2> /dev/null ||
  fail "dry run --json"
$PY - d.json "$REG_DST/corpus/app0:$t0" "$nref" <<'PYEOF' || fail "dry run --json: $(cat d.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dryRun"] is True
got = {r["target"]: r["result"] for r in d["referrers"]}
assert len(d["referrers"]) == int(sys.argv[3]), len(d["referrers"])
assert all(r["result"] == "new" for r in d["referrers"]), got
for k in (".sig", ".att", ".sbom"):
    assert got.get(sys.argv[2] + k) == "new", (k, got)
r = d["report"]
assert r["attachmentTagsSet"] == 5 and r["attachmentTagsUnchanged"] == 0, r
assert r["referrersNew"] == int(sys.argv[3]), r
PYEOF
if digest_of "$REG_DST" "corpus/app0:$t0.sig" > /dev/null 2>&1; then
  fail "the dry run set $t0.sig"
fi

# push: the tags land with the same digests; a second push changes nothing
"$FI" push -p k.pub --plain-http --to "$REG_DST" --json b.tar.zst > p.json 2> p.err || fail "push: $(cat p.err)"
for k in "$t0.sig" "$t0.att" "$t0.sbom" "$ts"; do
  [ "$(digest_of "$REG_DST" "corpus/app0:$k" 2>/dev/null)" = "$(digest_of "$REG_SRC" "corpus/app0:$k")" ] ||
    fail "$k did not land in the target"
done
$PY - p.json "$REG_DST/corpus/app0:$t0" <<'PYEOF' || fail "push --json does not report the attachments: $(cat p.json)"
import json, sys
d = json.load(open(sys.argv[1]))
got = {r["target"]: r["result"] for r in d["referrers"]}
for k in (".sig", ".att", ".sbom"):
    assert got.get(sys.argv[2] + k) == "pushed", (k, got)
PYEOF
grep -q "cosign attachment tags: 5 set, 0 unchanged" p.err || fail "push summary: $(cat p.err)"
# nothing else tagged: no referrers fallback tag for attachments
if curl -fsS "http://$REG_DST/v2/corpus/app0/tags/list" | grep "\"$t0\"" > /dev/null; then
  fail "an attachment went into a referrers fallback tag"
fi
"$FI" push -q -p k.pub --plain-http --to "$REG_DST" --json b.tar.zst > p2.json 2> p2.err || fail "push again: $(cat p2.err)"
$PY - p2.json <<'PYEOF' || fail "second push: $(cat p2.json)"
import json, sys
r = json.load(open(sys.argv[1]))["report"]
assert r["attachmentTagsSet"] == 0 and r["attachmentTagsUnchanged"] == 5, r
assert r["manifestsPushed"] == 0 and r["blobsUploaded"] == 0, r
PYEOF

# a dry run after it: nothing to set; with the .sig tag moved in the target,
# it reports the move back (with the digest the tag has) but leaves it
"$FI" push --dry-run -p k.pub --plain-http --to "$REG_DST" b.tar.zst > d2.out 2> d2.err ||
  fail "dry run after the push: $(cat d2.err)"
grep -q "dry run: referrers: $nref, 0 of them to push" d2.err || fail "dry run after, referrers: $(cat d2.err)"
grep -q "dry run: cosign attachment tags: 0 to set, 5 unchanged" d2.err ||
  fail "dry run after, attachments: $(cat d2.err)"
att=$(digest_of "$REG_DST" "corpus/app0:$t0.att")
sig=$(digest_of "$REG_DST" "corpus/app0:$t0.sig")
skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REG_DST/corpus/app0:$t0.att" "docker://$REG_DST/corpus/app0:$t0.sig" || fail "move $t0.sig"
"$FI" push --dry-run -p k.pub --plain-http --to "$REG_DST" --json b.tar.zst > d3.json 2> d3.err ||
  fail "dry run, moved tag: $(cat d3.err)"
$PY - d3.json "$REG_DST/corpus/app0:$t0.sig" "$att" <<'PYEOF' || fail "dry run, moved tag: $(cat d3.json)"
import json, sys
d = json.load(open(sys.argv[1]))
r = [r for r in d["referrers"] if r["target"] == sys.argv[2]]
assert len(r) == 1 and r[0]["result"] == "moved" and r[0]["previous"] == sys.argv[3], r
assert d["report"]["attachmentTagsSet"] == 1 and d["report"]["attachmentTagsUnchanged"] == 4, d["report"]
PYEOF
[ "$(digest_of "$REG_DST" "corpus/app0:$t0.sig")" = "$att" ] || fail "the dry run moved $t0.sig back"
"$FI" push -q -p k.pub --plain-http --to "$REG_DST" b.tar.zst 2> p3.err || fail "push, moved tag: $(cat p3.err)"
[ "$(digest_of "$REG_DST" "corpus/app0:$t0.sig")" = "$sig" ] || fail "the push did not move $t0.sig back"

# the gate: the legacy .sig signs app0:1.0; app1's was tampered with
set +e
"$FI" verify -p k.pub --require-signature vendor.pub b.tar.zst > g.out 2> g.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify --require-signature: exit $rc, want 3: $(cat g.err)"
grep -q "^signed    $REG_SRC/corpus/app0:1.0 by key " g.out || fail "app0:1.0 by its .sig: $(cat g.out)"
# (a signature over other bytes is what no given key verifies: "wrong key")
grep -q "^unsigned  $REG_SRC/corpus/app1:2.0: no valid signature: wrong key" g.out ||
  fail "app1:2.0 tampered .sig: $(cat g.out)"

# --referrers-src: attachments kept in another repository are found there
$PY "$MKC" --registry "$REG_SRC" --repo corpus/base --subject latest --attach-repo sigs/base \
  --sign-key vendor.pem sig > ab.json || fail "mkcosign base"
db=$(digest_of "$REG_SRC" corpus/base:latest)
"$FX" -q -k k.key -o rs.tar.zst --plain-http --referrers-src "$REG_SRC/sigs/base" \
  "$REG_SRC/corpus/base:latest" || fail "export --referrers-src"
"$FI" list --referrers rs.tar.zst > rs.out 2>&1 || fail "list rs: $(cat rs.out)"
grep -q "cosign attachment sha256-${db#sha256:}.sig" rs.out || fail "--referrers-src: $(cat rs.out)"

# --no-referrers: none of them, and the bundle stays version 1
"$FX" -q -k k.key -o nr.tar.zst --plain-http --no-referrers "${refs[@]}" || fail "export --no-referrers"
tar --zstd -xOf nr.tar.zst ferry.json | grep '"ferryBundleVersion":1' > /dev/null || fail "--no-referrers: not version 1"
if tar --zstd -xOf nr.tar.zst ferry.json | grep '"tag":"sha256-' > /dev/null; then
  fail "--no-referrers carried an attachment"
fi
pass "cosign tag attachments: carried, listed, pushed under their tags, gate reads .sig"
