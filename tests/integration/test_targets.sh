#!/usr/bin/env bash
# SRC=TARGET on the command line, as `regctl image copy SRC DEST` (the DHI
# mirroring guide's copy into a repository of another name): the target is
# recorded (a target tag may be given; else the source's), import without --to
# pushes there, --to replaces the host and puts its prefix in front once (a
# target already under the prefix stays there), referrers land with their
# subject unless --referrers-tgt says otherwise, and --referrers-tgt is
# rewritten exactly like the image's target. plan and list show targets and
# warn when referrers would land apart from their image.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
PY=/usr/bin/python3

start_registry SRC anon
start_registry DST anon
start_registry DST2 anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --repo corpus/app0-attest \
  --subject-repo corpus/app0 --subject 1.0 signature sbom > refs.jsonl || fail "mkreferrers"
subject=$(digest_of "$REG_SRC" corpus/app0:1.0)
catalog() { curl -fsS "http://$1/v2/_catalog"; }
# nrefs HOST REPO@DIGEST: how many referrers `ferry-import referrers` shows
nrefs() {
  "$FI" referrers --plain-http "$1/$2" > nrefs.out 2>nrefs.err || fail "referrers $1/$2: $(cat nrefs.err)"
  sed -n 's/^\([0-9]*\) referrers\{0,1\}$/\1/p' nrefs.out
}

# 1. plan and list show the target; together, no warning
"$FX" plan --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/dhi-app0" > plan.out 2> plan.err || fail "plan: $(cat plan.err)"
grep -q -- "-> $REG_DST/mirror/dhi-app0:1.0" plan.out || fail "plan does not show the target: $(cat plan.out)"
grep -q "apart" plan.err && fail "plan warns without reason: $(cat plan.err)"
"$FX" -q -k k.key -o b.tar.zst --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/dhi-app0" || fail "export SRC=TARGET"
"$FI" list -p k.pub b.tar.zst > list.out || fail "list"
grep -q -- "-> $REG_DST/mirror/dhi-app0:1.0" list.out || fail "list does not show the target: $(cat list.out)"
"$FI" list --json -p k.pub b.tar.zst | $PY -c "
import json, sys
im = json.load(sys.stdin)['images'][0]
assert im['target'] == '$REG_DST/mirror/dhi-app0:1.0', im" || fail "list --json: no target"

# 2. without --to: into the target, referrers with their subject
"$FI" push -q -p k.pub --plain-http b.tar.zst || fail "push to the recorded target"
[ "$(digest_of "$REG_DST" mirror/dhi-app0:1.0)" = "$subject" ] || fail "target does not hold the image"
[ "$(nrefs "$REG_DST" "mirror/dhi-app0@$subject")" = 2 ] || fail "referrers not with their subject: $(cat nrefs.out)"

# push --json: per image and referrer, what it did; a second push changes nothing
"$FI" push -q -p k.pub --plain-http --json b.tar.zst > again.json || fail "push --json"
$PY - "$REG_DST" "$subject" <<'PYEOF' || fail "push --json: $(cat again.json)"
import json, sys
dst, subject = sys.argv[1:]
d = json.load(open("again.json"))
assert [(i["target"], i["digest"], i["result"]) for i in d["images"]] == \
    [(dst + "/mirror/dhi-app0:1.0", subject, "unchanged")], d["images"]
assert len(d["referrers"]) == 2 and all(r["result"] == "unchanged" and r["subject"] == subject
                                        for r in d["referrers"]), d["referrers"]
assert d["report"]["tagsUnchanged"] == 1 and d["report"]["tagsSet"] == 0, d["report"]
PYEOF
# another image to the same target tag: the tag moves, and push says from where
"$FX" -q -k k.key -o moved.tar.zst --plain-http --no-referrers \
  "$REG_SRC/corpus/app0:1.1=$REG_DST/mirror/dhi-app0:1.0" || fail "export for a move"
"$FI" push -p k.pub --plain-http moved.tar.zst > moved.out 2>/dev/null || fail "push a moved tag"
grep -q "^moved     $REG_DST/mirror/dhi-app0:1.0 $subject -> sha256:[0-9a-f]*\$" moved.out \
  || fail "a moved tag is not reported as moved: $(cat moved.out)"

# 3. --to HOST/PREFIX with a target under that prefix: not prefixed twice
"$FI" push -q -p k.pub --to "$REG_DST2/mirror" --plain-http b.tar.zst || fail "push --to"
catalog "$REG_DST2" | grep -q '"mirror/dhi-app0"' || fail "--to: $(catalog "$REG_DST2")"
catalog "$REG_DST2" | grep -q 'mirror/mirror' && fail "--to prefixed twice: $(catalog "$REG_DST2")"
[ "$(nrefs "$REG_DST2" "mirror/dhi-app0@$subject")" = 2 ] || fail "referrers after --to: $(cat nrefs.out)"

# 4. the guide's case: --referrers-tgt naming the target repository, pushed
#    with --to HOST/PREFIX: image and referrers in the same repository
"$FX" -q -k k.key -o t.tar.zst --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  --referrers-tgt "$REG_DST/mirror/dhi-py" "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/dhi-py" \
  2> t.err || fail "export with --referrers-tgt: $(cat t.err)"
grep -q apart t.err && fail "export warns without reason: $(cat t.err)"
"$FI" push -q -p k.pub --to "$REG_DST2/mirror" --plain-http t.tar.zst || fail "push t"
catalog "$REG_DST2" | grep -q 'mirror/mirror' && fail "referrers prefixed twice: $(catalog "$REG_DST2")"
[ "$(nrefs "$REG_DST2" "mirror/dhi-py@$subject")" = 2 ] || fail "guide case: $(cat nrefs.out)"

# 5. referrers sent elsewhere: plan and list warn
"$FX" plan --plain-http --referrers-src "$REG_SRC/corpus/app0-attest" \
  --referrers-tgt "$REG_DST/security/sigs" "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/dhi-app0" \
  > /dev/null 2> apart.err || fail "plan apart"
grep -q "referrers land in $REG_DST/security/sigs, apart from the image" apart.err \
  || fail "no warning: $(cat apart.err)"

# --json on export and verify (also when verification fails)
"$FX" -k k.key -o j.tar.zst --plain-http --no-referrers --json "$REG_SRC/corpus/app0:1.0" > exp.json \
  || fail "export --json"
"$FI" verify -p k.pub --json j.tar.zst > ver.json || fail "verify --json"
head -c 100 j.tar.zst > cut.tar.zst
rc=0
"$FI" verify -p k.pub --json cut.tar.zst > bad.json 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "verify --json of a cut bundle: exit $rc"
$PY <<'PYEOF' || fail "export/verify --json: $(cat exp.json ver.json bad.json)"
import json, os
e = json.load(open("exp.json"))
assert e["bundle"] == "j.tar.zst" and e["images"] == 1 and e["bundleBytes"] == os.path.getsize("j.tar.zst"), e
v = json.load(open("ver.json"))
assert v["ok"] is True and v["images"] == 1 and v["detachedSignature"] is True, v
b = json.load(open("bad.json"))
assert b["ok"] is False and b["exitCode"] == 1 and "cut.tar.zst" in b["error"], b
PYEOF

# --progress in a pipe: plain lines with overall bytes, percent, rate and ETA, no escapes
"$FI" verify --progress -p k.pub j.tar.zst > /dev/null 2> prog.err || fail "verify --progress"
grep -Eq "^ferry-import: verify .+ / .+ \(100%\), .+/s, ETA .+, " prog.err || fail "progress line: $(cat prog.err)"
grep -q $'\033\|\r' prog.err && fail "terminal escapes in piped progress: $(cat -v prog.err)"

# 6. a target tag of its own
"$FX" plan --plain-http --no-referrers "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/x:stable" > tag.out \
  || fail "plan with a target tag"
grep -q -- "-> $REG_DST/mirror/x:stable" tag.out || fail "target tag: $(cat tag.out)"

# two images onto one target tag with different digests: refused before anything is pushed
"$FX" -q -k k.key -o clash.tar.zst --plain-http --no-referrers \
  "$REG_SRC/corpus/app0:1.0=$REG_DST/mirror/clash:1" "$REG_SRC/corpus/app0:1.1=$REG_DST/mirror/clash:1" \
  || fail "export of a clash"
rc=0
"$FI" push -q -p k.pub --plain-http clash.tar.zst > /dev/null 2> clash.err || rc=$?
[ "$rc" = 64 ] && grep -q "would both land at mirror/clash:1 with different digests" clash.err \
  || fail "a tag clash: exit $rc: $(cat clash.err)"
catalog "$REG_DST" | grep -q "mirror/clash" && fail "a refused push wrote: $(catalog "$REG_DST")"
rc=0
"$FI" push -q -p k.pub --plain-http --json clash.tar.zst > clash.json 2>/dev/null || rc=$?
$PY -c "import json; d=json.load(open('clash.json')); assert d['ok'] is False and d['exitCode'] == 64 and d['images'] == [] and 'both land' in d['error'], d" \
  || fail "push --json on failure: exit $rc: $(cat clash.json)"

# 7. a bad target is a usage error naming it
rc=0
"$FX" plan "$REG_SRC/corpus/app0:1.0=NOT VALID" > /dev/null 2> bad.err || rc=$?
[ "$rc" = 64 ] && grep -q 'reference "NOT VALID" is not valid' bad.err || fail "bad target: exit $rc: $(cat bad.err)"
echo "catalog of DST2: $(catalog "$REG_DST2")"
pass "SRC=TARGET recorded, pushed there, --to rewrites once, referrers follow"
