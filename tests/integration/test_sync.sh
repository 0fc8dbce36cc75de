#!/usr/bin/env bash
# Sync configs end to end: a regsync-shaped config whose source sits behind
# htpasswd Basic auth with the password read through {{file}}; tag allow/deny
# (RE2 syntax), a digest tag never selected, platforms, referrerSource /
# referrerTarget / referrerFilters, an online-only key reported as a notice;
# the plan matches what the export then contains; targets recorded in the
# bundle are used by push, with and without --to; a wrong password or a
# missing credential fails before anything is written and prints no secret.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
PY=/usr/bin/python3
cd "$TEST_TMP"

start_registry SRC htpasswd
start_registry DST anon
pw=$(cat "$REG_SRC_PASSFILE")
seed_samples "$REG_SRC" "ferry:$pw"
make_keys "$TEST_TMP/k"
# referrers: a signature and an SBOM in a separate repository, and one
# referrer in corpus/app0 itself so that its sha256-<hex> fallback tag exists
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --creds "ferry:$pw" \
  --repo corpus/app0-attest --subject-repo corpus/app0 --subject 1.0 signature sbom > refs.jsonl
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --creds "ferry:$pw" \
  --subject-repo corpus/app0 --subject 1.1 vex > vex.jsonl
dg() { $PY -c "import json
for l in open('refs.jsonl'):
    d=json.loads(l)
    if d['name']=='$1': print(d['digest'])"; }
sbom=$(dg sbom); sig=$(dg signature)

cp "$REG_SRC_PASSFILE" src.pass
app1_digest=$(digest_of "$REG_SRC" corpus/app1:2.0 "ferry:$pw")
write_config() { # FILE PASSFILE
  cat > "$1" <<YML
version: 1
creds:
  - registry: $REG_SRC
    user: ferry
    pass: '{{file "$2"}}'
    tls: disabled
defaults:
  referrers: true
  interval: 60m
sync:
  - source: $REG_SRC/corpus/app0
    target: $REG_DST/mirror/corpus/app0
    type: repository
    tags:
      allow: [ '1\.\d+' ]
      deny: [ '(?i).*\.1' ]
    referrerSource: $REG_SRC/corpus/app0-attest
    referrerTarget: $REG_DST/security/app0-sigs
    referrerFilters:
      - artifactType: application/spdx+json
      - annotations:
          dev.ferry.test.name: signature
  - source: $REG_SRC/corpus/app1
    target: $REG_DST/mirror/corpus/app1
    type: repository
    platforms: [ linux/amd64 ]
    referrers: false
  - source: $REG_SRC/corpus/base:latest
    target: $REG_DST/mirror/base:stable
    type: image
  # the same image to a second place: both land
  - source: $REG_SRC/corpus/base:latest
    target: $REG_DST/copy/base:stable
    type: image
  # app0:1.0 once more, elsewhere: its referrers land there too
  - source: $REG_SRC/corpus/app0:1.0
    target: $REG_DST/other/app0
    type: image
    referrerSource: $REG_SRC/corpus/app0-attest
  # by digest, target without a tag: pushed by digest, no tag invented
  - source: $REG_SRC/corpus/app1@$app1_digest
    target: $REG_DST/bydigest/app1
    type: image
YML
}
write_config sync.yaml src.pass

# --- plan ---------------------------------------------------------------------------
"$FX" plan -c sync.yaml --json > plan.json 2> plan.err || fail "plan: $(cat plan.err)"
grep -q "interval" plan.err || fail "no notice for the online-only key: $(cat plan.err)"
grep -q "$pw" plan.err plan.json && fail "the password appears in the plan output"
$PY - "$REG_SRC" "$REG_DST" "$sbom" "$sig" <<'PYEOF' || fail "plan content"
import json, sys
src, dst, sbom, sig = sys.argv[1:]
p = json.load(open("plan.json"))
imgs = {i["source"]: i for i in p["images"]}
assert set(imgs) >= {src + "/corpus/app0:1.0", src + "/corpus/app1:2.0", src + "/corpus/base:latest"}, imgs.keys()
assert len(p["images"]) == 6, [i["source"] for i in p["images"]]
a0 = [i for i in p["images"] if i["target"] == dst + "/mirror/corpus/app0:1.0"][0]
# filters: the SBOM by artifactType, the signature by annotation
assert sorted(r["digest"] for r in a0["referrers"]) == sorted([sbom, sig]), a0["referrers"]
a1 = imgs[src + "/corpus/app1:2.0"]
assert a1["platforms"] == ["linux/amd64"] and a1["digest"] != a1["sourceDigest"], a1
assert {i["target"] for i in p["images"] if i["source"] == src + "/corpus/base:latest"} == {dst + "/mirror/base:stable", dst + "/copy/base:stable"}
other = [i for i in p["images"] if i["target"] == dst + "/other/app0:1.0"][0]
assert len(other["referrers"]) == 2, other   # no filter on this entry: signature and SBOM
assert [i["target"] for i in p["images"] if "@" in i["source"]][0].startswith(dst + "/bydigest/app1@sha256:")
assert p["dedupedBytes"] <= p["totalBytes"]
PYEOF

# --- export: what the plan said ----------------------------------------------------
"$FX" -q -k k.key -o s.tar.zst -c sync.yaml 2>export.err || fail "export -c: $(cat export.err)"
"$FI" list --referrers --json -p k.pub s.tar.zst > list.json
$PY <<'PYEOF' || fail "plan and export differ"
import json
p, l = json.load(open("plan.json")), json.load(open("list.json"))
key = lambda i: (i["source"], i["digest"], tuple(sorted(r["digest"] for r in i["referrers"])))
assert sorted(map(key, p["images"])) == sorted(map(key, l["images"])), (p["images"], l["images"])
assert p["dedupedBytes"] == l["contentBytes"], (p["dedupedBytes"], l["contentBytes"])
assert p["members"] == l["members"]
PYEOF

# --- push to the recorded targets, then under --to ------------------------------------
"$FI" push -p k.pub --plain-http s.tar.zst > push.out 2> push.err || fail "push to recorded targets: $(cat push.err)"
for t in mirror/corpus/app0:1.0 mirror/corpus/app1:2.0 mirror/base:stable copy/base:stable; do
  grep -q "$REG_DST/$t " push.out || fail "$t not pushed: $(cat push.out)"
done
curl -fsS -o /dev/null "http://$REG_DST/v2/mirror/corpus/app0/manifests/1.1" \
  -H "Accept: application/vnd.oci.image.index.v1+json" && fail "denied tag 1.1 was pushed"
n=$(skopeo inspect --raw --tls-verify=false "docker://$REG_DST/mirror/corpus/app1:2.0" |
  $PY -c 'import json,sys; print(len(json.load(sys.stdin)["manifests"]))')
[ "$n" = 1 ] || fail "platform filter: $n manifests in the pushed index"
a0=$(digest_of "$REG_DST" mirror/corpus/app0:1.0)
curl -fsS -H "Accept: application/vnd.oci.image.index.v1+json" \
  "http://$REG_DST/v2/security/app0-sigs/manifests/sha256-${a0#sha256:}" | grep -q "${sbom#sha256:}" \
  || fail "SBOM not in referrerTarget"
curl -fsS -H "Accept: application/vnd.oci.image.index.v1+json" \
  "http://$REG_DST/v2/other/app0/manifests/sha256-${a0#sha256:}" | grep -q "${sig#sha256:}" \
  || fail "referrers of the second copy of app0:1.0 missing"
curl -fsS -o /dev/null -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json" \
  "http://$REG_DST/v2/bydigest/app1/manifests/$app1_digest" || fail "by-digest image not pushed"
# distribution answers NAME_UNKNOWN for a repository without tags
curl -s "http://$REG_DST/v2/bydigest/app1/tags/list" | grep -q '"tags":\["' \
  && fail "a tag was invented for the by-digest image: $(curl -s "http://$REG_DST/v2/bydigest/app1/tags/list")"
"$FI" push -q -p k.pub --to "$REG_DST/airgap" --plain-http s.tar.zst > to.out || fail "push --to"
grep -q "$REG_DST/airgap/mirror/corpus/app0:1.0 " to.out && grep -q "$REG_DST/airgap/mirror/base:stable " to.out \
  || fail "--to did not rewrite the targets: $(cat to.out)"

# --- credentials: wrong password, missing file -------------------------------------------
echo "wrong-password" > bad.pass
write_config bad.yaml bad.pass
rc=0
"$FX" -k k.key -o bad.tar.zst -c bad.yaml 2> bad.err || rc=$?
[ "$rc" = 2 ] || fail "wrong password: exit $rc"
grep -q "$REG_SRC" bad.err && grep -q 401 bad.err || fail "wrong password message: $(cat bad.err)"
grep -q "wrong-password" bad.err && fail "the password appears in stderr"
ls | grep -q "bad.tar.zst" && fail "a failed export left a file"
write_config missing.yaml /nonexistent/secret
rc=0
"$FX" -k k.key -o missing.tar.zst -c missing.yaml 2> missing.err || rc=$?
[ "$rc" = 2 ] && grep -q "missing.yaml:[0-9]*:[0-9]*" missing.err || fail "missing credential: exit $rc: $(cat missing.err)"
ls | grep -q "missing.tar.zst" && fail "a failed export left a file"

# --- an unknown key names file, line and column ----------------------------------------
printf 'version: 1\nsync:\n  - source: a/b\n    target: c/d\n    type: repository\n    colour: blue\n' > unknown.yaml
rc=0
"$FX" plan -c unknown.yaml 2> unknown.err || rc=$?
[ "$rc" = 2 ] && grep -q "unknown.yaml:6:5" unknown.err || fail "unknown key: exit $rc: $(cat unknown.err)"
# --- the manifest prefetch asks for what the resolve uses, and logs in once ---------------
# A single `platform` (regsync's) takes the first matching entry of the index:
# only the tag and that entry are fetched, not every match.
cat > arm.json <<'J'
{"seed": "arm", "layers": {"b": {"size": "64K"}}, "images": [{"repo": "corpus/arm",
 "kind": "oci-index", "platforms": ["linux/arm/v6", "linux/arm/v7", "linux/amd64"],
 "tags": ["1"], "layers": ["b"]}]}
J
SEED_CREDS="ferry:$pw" "$FERRY_SOURCE_DIR/scripts/seed-registry.sh" -q "$REG_SRC" arm.json ||
  fail "seeding corpus/arm"
cat > arm.yaml <<YML
version: 1
creds:
  - registry: $REG_SRC
    user: ferry
    pass: '{{file "src.pass"}}'
    tls: disabled
sync:
  - source: $REG_SRC/corpus/arm:1
    target: $REG_DST/mirror/arm:1
    type: image
    platform: linux/arm
YML
n0=$(wc -l < "$REG_SRC_LOG")
"$FX" -k k.key -o arm.tar.zst -c arm.yaml 2> arm.err || fail "export with platform: $(cat arm.err)"
gets=$(tail -n +$((n0 + 1)) "$REG_SRC_LOG" | grep -E '"GET /v2/corpus/arm/manifests/[^ ]* HTTP/1.1" 200 ' | wc -l)
[ "$gets" = 2 ] || fail "platform linux/arm: $gets manifest GETs answered, want 2 (tag, first match)"
want=$(curl -fsS -u "ferry:$pw" -H "Accept: application/vnd.oci.image.index.v1+json" \
  "http://$REG_SRC/v2/corpus/arm/manifests/1" | $PY -c "import json,sys
print([m['digest'] for m in json.load(sys.stdin)['manifests'] if m['platform'].get('architecture') == 'arm'][0])")
"$FI" list --json -p k.pub arm.tar.zst | $PY -c "import json,sys
d = json.load(sys.stdin); assert d['images'][0]['digest'] == '$want', d['images'][0]" ||
  fail "platform linux/arm did not export the first arm entry $want"
# Wrong credentials with several images: the first request to a host goes
# alone, so the prefetch threads do not each fail a login (lockout policies).
cat > many.yaml <<YML
version: 1
creds:
  - registry: $REG_SRC
    user: ferry
    pass: '{{file "bad.pass"}}'
    tls: disabled
sync:
YML
for r in corpus/app0:1.0 corpus/app0:1.1 corpus/app1:2.0 corpus/base:latest corpus/arm:1; do
  printf '  - source: %s\n    target: %s\n    type: image\n' "$REG_SRC/$r" "$REG_DST/m/$r" >> many.yaml
done
n0=$(wc -l < "$REG_SRC_LOG")
rc=0
"$FX" -k k.key -o many.tar.zst -c many.yaml 2> many.err || rc=$?
[ "$rc" = 2 ] || fail "wrong password, several images: exit $rc: $(cat many.err)"
failed=$(tail -n +$((n0 + 1)) "$REG_SRC_LOG" | grep -c 'error authenticating user' || true)
[ "$failed" -le 2 ] || fail "wrong password: $failed failed logins, want at most 2 (prefetch, resolve)"

# Flags that win: a creds entry without `tls` no longer turns --plain-http
# off for its host; without the flag, an https request to the plain-HTTP
# registry fails at once (no retries) and names the fix.
cat > notls.yaml <<YML
version: 1
creds:
  - registry: $REG_SRC
    user: ferry
    pass: '{{file "src.pass"}}'
sync:
  - source: $REG_SRC/corpus/app0:1.0
    target: $REG_DST/m/app0
    type: image
YML
"$FX" plan --plain-http -c notls.yaml > notls.out 2> notls.err || fail "--plain-http with creds lost: $(cat notls.err)"
grep -q "corpus/app0:1.0" notls.out || fail "plan with --plain-http: $(cat notls.out)"
rc=0
start=$(date +%s)
"$FX" plan -c notls.yaml > /dev/null 2> tls.err || rc=$?
[ "$rc" = 2 ] || fail "https to a plain-HTTP registry: exit $rc"
grep -q "answers in plain HTTP, not TLS: add --plain-http" tls.err || fail "no fix named: $(cat tls.err)"
grep -q "retry" tls.err && fail "a TLS mismatch was retried: $(cat tls.err)"
[ $(( $(date +%s) - start )) -lt 5 ] || fail "the mismatch took $(( $(date +%s) - start )) s"

# the other way round: --plain-http to a registry that speaks HTTPS
start_registry TLS tls
rc=0
"$FX" plan --plain-http "$REG_TLS/corpus/none:1" > /dev/null 2> plain.err || rc=$?
[ "$rc" = 2 ] && grep -q "the registry speaks HTTPS: drop --plain-http" plain.err \
  || fail "plain HTTP to HTTPS: exit $rc: $(cat plain.err)"
# and over TLS with its certificate trusted, the registry answers (no such image)
rc=0
"$FX" plan --ca-file "$REG_TLS_CA" "$REG_TLS/corpus/none:1" > /dev/null 2> tls.err || rc=$?
[ "$rc" = 2 ] && grep -q "not found\|NAME_UNKNOWN\|MANIFEST_UNKNOWN" tls.err \
  || fail "over TLS with --ca-file: exit $rc: $(cat tls.err)"

pass "sync"
