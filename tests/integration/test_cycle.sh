#!/usr/bin/env bash
# The weekly cycle (docs/operations.md): a full bundle, push with a signed
# receipt, a tag changes upstream, a delta bundle from the receipt (its size
# checked against its new blobs), push. A delta pushed into an empty registry
# is refused with nothing written (exit 4); an older bundle pushed after a
# newer one moves no tag (exit 3), also from a second import host with empty
# local state, since the tag records live in the registry; --allow-downgrade
# and --max-age behave as documented; push --dry-run writes nothing;
# inventory writes what a registry holds, usable as a base; an earlier bundle
# is a base too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
PY=/usr/bin/python3

start_registry SRC anon
start_registry DST anon
start_registry EMPTY anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
make_keys "$TEST_TMP/rk" # the import side's receipt key
cd "$TEST_TMP"
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --subject-repo corpus/app0 \
  --subject 1.1 signature sbom > refs.jsonl || fail "mkreferrers"
refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done
TO=$REG_DST/mirror
statement() { zstd -dc "$1" | tar -xOf - ferry.json; }
catalog() { curl -fsS "http://$1/v2/_catalog"; }

# 1. full bundle, pushed with a signed receipt
"$FX" -q -k k.key -o b1.tar.zst --plain-http "${refs[@]}" || fail "export b1"
sleep 1.1 # the next bundle is created a second later at least
"$FI" push -q -p k.pub --plain-http --to "$TO" --receipt r1.json --receipt-key rk.key \
  b1.tar.zst > push1.out || fail "push b1 with a receipt"
[ -s r1.json.minisig ] || fail "the receipt is not signed"
old=$(digest_of "$REG_DST" mirror/corpus/app0:1.1)
$PY - "$REG_DST" "$(statement b1.tar.zst | sha256sum | cut -d' ' -f1)" "$old" <<'PYEOF' || fail "receipt r1.json: $(head -c 2000 r1.json)"
import json, sys
dst, stmt, old = sys.argv[1:]
r = json.load(open("r1.json"))
assert r["registry"] == dst and r["prefix"] == "mirror", r
assert r["bundle"]["statement"] == "sha256:" + stmt, r["bundle"]
assert len(r["results"]) == 4 and all(x["result"] == "pushed" for x in r["results"]), r["results"]
repos = {x["name"]: x for x in r["repositories"]}
assert set(repos) == {"mirror/corpus/app0", "mirror/corpus/app1", "mirror/corpus/base"}, set(repos)
app0 = repos["mirror/corpus/app0"]
assert app0["tags"]["1.1"] == old, app0["tags"]
assert len(app0["referrers"]) == 2 and all(x["subject"] == old for x in app0["referrers"]), app0
assert len(app0["blobs"]) >= 5 and len(app0["manifests"]) >= 8, app0
PYEOF

# 2. a tag changes upstream: app0:1.1 rebuilt with a new 3 MiB layer on the
# same base layers
cat > spec2.json <<'EOF'
{"seed": "ferry-samples-1", "layers": {"base": {"size": "2M"}},
 "images": [{"repo": "corpus/app0", "kind": "oci-index", "platforms": ["linux/amd64", "linux/arm64"],
   "tags": ["1.1"], "layers": ["base", {"size": "512K", "per_tag": false}, "3M"]}]}
EOF
bash "$FERRY_SOURCE_DIR/scripts/seed-registry.sh" -q -o "$TEST_TMP/seed2" "$REG_SRC" spec2.json ||
  fail "rebuilding corpus/app0:1.1 upstream"
new=$(digest_of "$REG_SRC" corpus/app0:1.1)
[ "$new" != "$old" ] || fail "the upstream tag did not change"

# 3. the delta, from the receipt (checked with the receipt key): plan shows
# the saving; the bundle carries the new blobs and at most 1 % more
"$FX" plan --plain-http --base r1.json -p rk.pub "${refs[@]}" > plan2.out 2> plan2.err ||
  fail "plan --base: $(cat plan2.err)"
grep -q "^delta against 1 base: .* left out, the far side holds them" plan2.out ||
  fail "plan does not show the saving: $(cat plan2.out)"
grep -q "signed by key" plan2.err || fail "the receipt's signature was not reported: $(cat plan2.err)"
"$FX" -q -k k.key -o b2.tar.zst --plain-http --base r1.json -p rk.pub "${refs[@]}" ||
  fail "export the delta"
statement b1.tar.zst > s1.json
statement b2.tar.zst > s2.json
$PY - "$(stat -c %s b2.tar.zst)" "$(sha256sum r1.json | cut -d' ' -f1)" <<'PYEOF' || fail "delta statement"
import json, sys
size, rdigest = int(sys.argv[1]), sys.argv[2]
s1, s2 = json.load(open("s1.json")), json.load(open("s2.json"))
MAN = ("manifest", "index", "manifest.list")
def blobs(s):
    return {m["digest"]: m["size"] for m in s["members"] if m["path"].startswith("blobs/")
            and not any(k in (m.get("mediaType") or "") for k in MAN)}
b1, b2 = blobs(s1), blobs(s2)
assert s2["ferryBundleVersion"] == 2, s2["ferryBundleVersion"]
assert s2["bases"][0]["kind"] == "receipt" and s2["bases"][0]["digest"] == "sha256:" + rdigest, s2["bases"]
assert s2["bases"][0]["keyId"], s2["bases"]
assert not set(b1) & set(b2), "the delta carries blobs the far side holds: %s" % (set(b1) & set(b2))
ext = {x["digest"]: x for x in s2["external"]}
assert set(ext) <= set(b1) and len(ext) >= 5, (len(ext), set(ext) - set(b1))
assert all(x["repository"].startswith("mirror/corpus/") for x in ext.values()), ext
new = sum(b2.values())
assert new >= 3 << 20, new  # the new layer
assert size <= new * 1.01, "delta is %d bytes for %d bytes of new blobs" % (size, new)
print("delta %d bytes, new blobs %d bytes (%.2f %%)" % (size, new, 100.0 * (size - new) / new))
PYEOF
"$FI" verify -p k.pub b2.tar.zst > verify2.out || fail "the delta does not verify on its own"
grep -q "^delta: expects [0-9]* blobs (.*) in the target, made against receipt r1.json sha256:" verify2.out ||
  fail "verify does not say what the delta expects: $(cat verify2.out)"
"$FI" list --json -p k.pub b2.tar.zst | $PY -c "
import json, sys
d = json.load(sys.stdin)
assert d['externalBlobs'] >= 5 and d['bases'][0]['name'] == 'r1.json', d" || fail "list --json of a delta"

# 4. a delta into an empty registry: refused, nothing written, exit 4
set +e
"$FI" push -p k.pub --plain-http --to "$REG_EMPTY/mirror" b2.tar.zst > empty.out 2> empty.err
rc=$?
set -e
[ $rc = 4 ] || fail "delta into an empty registry: exit $rc, want 4: $(cat empty.err)"
grep -q "lacks .* blobs the bundle expects there, so nothing was pushed" empty.err ||
  fail "no clear message: $(cat empty.err)"
grep -q "import first the bundle $(grep -o '"statement": "[^"]*' r1.json | cut -d'"' -f4) (recorded by receipt r1.json of $REG_DST, created " empty.err ||
  fail "the base to import first is not named: $(cat empty.err)"
[ "$(catalog "$REG_EMPTY")" = '{"repositories":[]}' ] || fail "something was written: $(catalog "$REG_EMPTY")"
set +e
"$FI" push -p k.pub --plain-http --to "$REG_EMPTY/mirror" --dry-run b2.tar.zst > dry0.out 2> dry0.err
rc=$?
set -e
[ $rc = 4 ] || fail "dry run of a delta into an empty registry: exit $rc, want 4"
[ "$(grep -c '^missing ' dry0.out)" = 4 ] || fail "dry run does not show the missing images: $(cat dry0.out)"

# 5. dry run into the mirror: what would move, nothing written
"$FI" push -p k.pub --plain-http --to "$TO" --dry-run b2.tar.zst > dry.out 2> dry.err ||
  fail "dry run: $(cat dry.err)"
grep -q "^moved     $TO/corpus/app0:1.1 $old -> $new$" dry.out || fail "dry run: $(cat dry.out)"
[ "$(grep -c '^unchanged ' dry.out)" = 3 ] || fail "dry run: $(cat dry.out)"
grep -q "nothing was written" dry.err || fail "dry run: $(cat dry.err)"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$old" ] || fail "the dry run moved a tag"

# 6. push the delta: the tag moves, and says so
"$FI" push -p k.pub --plain-http --to "$TO" --receipt r2.json b2.tar.zst > push2.out 2> push2.err ||
  fail "push the delta: $(cat push2.err)"
grep -q "^moved     $TO/corpus/app0:1.1 $old -> $new$" push2.out || fail "no move reported: $(cat push2.out)"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$new" ] || fail "the tag did not move"
$PY "$FERRY_SOURCE_DIR/tests/tools/regcheck.py" "$REG_DST" > dst.json || fail "incomplete content after the delta"
grep -q '"moved"' r2.json || fail "receipt r2 lacks the move"

# a new repository sharing blobs the far side holds elsewhere: they are
# mounted from the repository the receipt names
"$FX" -q -k k.key -o b5.tar.zst --plain-http --base r2.json \
  "$REG_SRC/corpus/base:latest=$REG_DST/mirror/corpus/base2" || fail "export into a new repository"
statement b5.tar.zst | $PY -c "
import json, sys
s = json.load(sys.stdin)
assert [x['repository'] for x in s['external']] == ['mirror/corpus/base'] * len(s['external']) and s['external'], s['external']
" || fail "the delta does not name where the far side holds the blob"
"$FI" push -p k.pub --plain-http --to "$TO" b5.tar.zst > push5.out 2> push5.err || fail "push into a new repository: $(cat push5.err)"
grep -q "[1-9][0-9]* mounted" push5.err || fail "nothing was mounted: $(cat push5.err)"
[ "$(digest_of "$REG_DST" mirror/corpus/base2:latest)" = "$(digest_of "$REG_SRC" corpus/base:latest)" ] ||
  fail "mirror/corpus/base2 does not hold the image"
$PY "$FERRY_SOURCE_DIR/tests/tools/regcheck.py" "$REG_DST" > dst.json || fail "incomplete content after the mount"

# 7. the older bundle again: refused per image, no tag moves, exit 3
before=$(cat dst.json)
set +e
"$FI" push -p k.pub --plain-http --to "$TO" --json b1.tar.zst > old.json 2> old.err
rc=$?
set -e
[ $rc = 3 ] || fail "older bundle: exit $rc, want 3: $(cat old.err)"
$PY - "$TO" <<'PYEOF' || fail "older bundle: $(cat old.json)"
import json, sys
to = sys.argv[1]
d = json.load(open("old.json"))
res = {i["target"]: i for i in d["images"]}
r = res[to + "/corpus/app0:1.1"]
assert r["result"] == "refused" and r["reason"].startswith("older than the bundle that set it ("), r
assert all(i["result"] == "unchanged" for t, i in res.items() if t != to + "/corpus/app0:1.1"), res
assert d["report"]["refused"] == 1, d["report"]
PYEOF
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$new" ] || fail "the older bundle moved the tag back"
[ "$($PY "$FERRY_SOURCE_DIR/tests/tools/regcheck.py" "$REG_DST")" = "$before" ] || fail "a tag changed"

# 8. ... also from a second import host with empty local state
mkdir -p host2
set +e
env -i PATH="$PATH" HOME="$TEST_TMP/host2" "$FI" push -p k.pub --plain-http --to "$TO" \
  b1.tar.zst > host2.out 2> host2.err
rc=$?
set -e
[ $rc = 3 ] || fail "second host: exit $rc, want 3: $(cat host2.err)"
grep -q "^refused   $TO/corpus/app0:1.1 $old: older than the bundle that set it (" host2.out ||
  fail "second host: $(cat host2.out)"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$new" ] || fail "the second host moved the tag back"

# 9. --allow-downgrade moves it back, and says so; the newer bundle then moves it forward
"$FI" push -p k.pub --plain-http --to "$TO" --allow-downgrade b1.tar.zst > down.out 2> down.err ||
  fail "--allow-downgrade: $(cat down.err)"
grep -q "^moved     $TO/corpus/app0:1.1 $new -> $old$" down.out || fail "downgrade: $(cat down.out)"
grep -q "downgrade allowed: older than the bundle that set it" down.err || fail "downgrade not said: $(cat down.err)"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$old" ] || fail "--allow-downgrade did not move the tag"
"$FI" push -q -p k.pub --plain-http --to "$TO" b2.tar.zst > fwd.out || fail "forward again"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$new" ] || fail "the newer bundle did not move it forward"

# 10. --max-age: a bundle older than allowed changes nothing (exit 3)
sleep 2
set +e
"$FI" push -p k.pub --plain-http --to "$REG_EMPTY/fresh" --max-age 1s b1.tar.zst > age.out 2> age.err
rc=$?
set -e
[ $rc = 3 ] || fail "--max-age: exit $rc, want 3: $(cat age.err)"
grep -q "is older than --max-age allows" age.err || fail "--max-age: $(cat age.err)"
[ "$(catalog "$REG_EMPTY")" = '{"repositories":[]}' ] || fail "--max-age wrote something"
"$FI" push -q -p k.pub --plain-http --to "$REG_EMPTY/fresh" --max-age 1d b1.tar.zst > /dev/null ||
  fail "--max-age 1d refused a fresh bundle"

# a tag record ferry did not write (here: naming another repository, and a
# far-future time) allows nothing: push stops (exit 2) naming it;
# --allow-downgrade replaces it, and the rollback check works again after
rtag=tag-$(printf %s "mirror/corpus/app0:1.1" | sha256sum | cut -d' ' -f1)
# plant_record REPOSITORY DIGEST: a record of mirror/corpus/app0:1.1 that
# names REPOSITORY and DIGEST, from a bundle of 2099
plant_record() {
  $PY - "$REG_DST" "$rtag" "$1" "$2" <<'PYEOF'
import json, sys, urllib.request
host, tag, repo, digest = sys.argv[1:]
E = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": E, "size": 2},
     "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": E, "size": 2}],
     "annotations": {"dev.ferry.record.repository": repo,
                     "dev.ferry.record.tag": "1.1", "dev.ferry.record.digest": digest,
                     "dev.ferry.record.bundle-created": "2099-01-01T00:00:00Z"}}
req = urllib.request.Request("http://%s/v2/mirror/ferry-state/manifests/%s" % (host, tag),
                             data=json.dumps(m).encode(), method="PUT",
                             headers={"Content-Type": m["mediaType"]})
urllib.request.urlopen(req).read()
PYEOF
}
plant_record mirror/corpus/other sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a ||
  fail "planting a forged tag record"
set +e
"$FI" push -p k.pub --plain-http --to "$TO" b2.tar.zst > forged.out 2> forged.err
rc=$?
set -e
[ $rc = 2 ] || fail "forged record: exit $rc, want 2: $(cat forged.err)"
grep -q "tag record mirror/ferry-state:$rtag for mirror/corpus/app0:1.1 is not one ferry wrote" forged.err ||
  fail "forged record: $(cat forged.err)"
"$FI" push -p k.pub --plain-http --to "$TO" --allow-downgrade b2.tar.zst > /dev/null 2> forged2.err ||
  fail "--allow-downgrade over a forged record: $(cat forged2.err)"
grep -q "replacing it (--allow-downgrade)" forged2.err || fail "the replacement is not said: $(cat forged2.err)"
set +e
"$FI" push -q -p k.pub --plain-http --to "$TO" b1.tar.zst > /dev/null 2>&1
rc=$?
set -e
[ $rc = 3 ] || fail "after the record was replaced, the older bundle: exit $rc, want 3"
# a well-formed record from the future (a compromised export key's mark)
# pins the tag even where it already holds the image; --allow-downgrade
# sets it back to the bundle pushed
record() { # print one annotation of the record of mirror/corpus/app0:1.1
  curl -fsS -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$REG_DST/v2/mirror/ferry-state/manifests/$rtag" |
    $PY -c "import json, sys; print(json.load(sys.stdin)['annotations']['$1'])"
}
plant_record mirror/corpus/app0 "$new" || fail "planting a future tag record"
"$FI" push -q -p k.pub --plain-http --to "$TO" b2.tar.zst > /dev/null || fail "push b2 over a future record"
[ "$(record dev.ferry.record.bundle-created)" = 2099-01-01T00:00:00Z ] || fail "a plain push rewrote a newer record"
"$FI" push -q -p k.pub --plain-http --to "$TO" --allow-downgrade b2.tar.zst > /dev/null ||
  fail "--allow-downgrade over a future record"
[ "$(record dev.ferry.record.bundle-created)" = "$($PY -c "import json; print(json.load(open('s2.json'))['created'])")" ] ||
  fail "--allow-downgrade did not set the record back: $(record dev.ferry.record.bundle-created)"

# a tag let through because it held the bundle's image, moved by a newer
# bundle while this push ran: refused, not moved back (the record is read
# again, slowly here: a 429 with Retry-After holds the second read)
$PY - "$REG_DST" "$old" <<'PYEOF' || fail "putting the tag back on the old image"
import sys, urllib.request
host, digest = sys.argv[1:]
mt = "application/vnd.oci.image.index.v1+json"
url = "http://%s/v2/mirror/corpus/app0/manifests/" % host
body = urllib.request.urlopen(urllib.request.Request(url + digest, headers={"Accept": mt})).read()
urllib.request.urlopen(urllib.request.Request(url + "1.1", data=body, method="PUT",
                                             headers={"Content-Type": mt})).read()
PYEOF
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$old" ] || fail "the tag was not put back"
start_fault_proxy SLOW "$REG_DST" --faults 1 --after 1 --mode 429 --retry-after 4 --method GET \
  --match "/ferry-state/manifests/$rtag"
"$FI" push -p k.pub --plain-http --to "$PROXY_SLOW/mirror" b1.tar.zst > race.out 2> race.err &
racer=$!
for _ in $(seq 100); do
  grep -q "fault 429 GET" "$PROXY_SLOW_LOG" && break
  sleep 0.1
done
grep -q "fault 429 GET" "$PROXY_SLOW_LOG" || fail "the older push never read the record again"
"$FI" push -q -p k.pub --plain-http --to "$TO" b2.tar.zst > /dev/null || fail "the newer push meanwhile"
set +e
wait $racer
rc=$?
set -e
[ $rc = 3 ] || fail "older push racing a newer one: exit $rc, want 3: $(cat race.err) $(cat race.out)"
[ "$(digest_of "$REG_DST" mirror/corpus/app0:1.1)" = "$new" ] || fail "the older push moved the tag back"

# 11. inventory (when receipts are lost) is a base as good as a receipt;
# an earlier bundle is one too
"$FI" inventory --plain-http --to "$TO" -o inv.json --receipt-key rk.key corpus/app0 corpus/app1 corpus/base ||
  fail "inventory"
$PY - <<'PYEOF' || fail "inventory differs from the last receipt"
import json
inv, r2 = json.load(open("inv.json")), json.load(open("r2.json"))
assert "bundle" not in inv and "bundle" in r2
key = lambda r: {x["name"]: (x["tags"], sorted(b["digest"] for b in x["blobs"])) for x in r["repositories"]}
assert key(inv) == key(r2), (key(inv), key(r2))
PYEOF
# without repositories: every one of the catalog under the prefix, ferry's
# tag records left out
"$FI" inventory --plain-http --to "$TO" -o invall.json || fail "inventory from the catalog"
$PY -c "
import json
names = [r['name'] for r in json.load(open('invall.json'))['repositories']]
assert names == ['mirror/corpus/app0', 'mirror/corpus/app1', 'mirror/corpus/base', 'mirror/corpus/base2'], names
" || fail "inventory from the catalog lists the wrong repositories"
"$FX" -q -k k.key -o b3.tar.zst --plain-http --base inv.json -p rk.pub "${refs[@]}" || fail "export from the inventory"
statement b3.tar.zst | $PY -c "
import json, sys
s = json.load(sys.stdin)
assert all('manifest' in (m.get('mediaType') or '') or 'index' in (m.get('mediaType') or '')
           for m in s['members'] if m['path'].startswith('blobs/')), 'b3 carries blobs the target holds'
" || fail "a delta from an up-to-date inventory still carries blobs"
"$FI" push -q -p k.pub --plain-http --to "$TO" b3.tar.zst > /dev/null || fail "push the no-op delta"
"$FX" -q -k k.key -o b4.tar.zst --plain-http --base b1.tar.zst -p k.pub "${refs[@]}" || fail "export from a bundle base"
statement b4.tar.zst | $PY -c "
import json, sys
s = json.load(sys.stdin)
assert s['bases'][0]['kind'] == 'bundle' and len(s['external']) >= 5, s['bases']
" || fail "a bundle base"
# receipts come back across the gap: they are read as hostile input. A
# receipt not signed by the -p key, one changed after signing, a FIFO, one
# over the cap: refused with a message naming the file.
cp r1.json r1x.json && cp r1.json.minisig r1x.json.minisig
sed -i 's/"mirror\/corpus\/app1"/"mirror\/corpus\/app2"/' r1x.json
mkfifo fifo.json
head -c $((64 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > big.json
for c in "r1.json -p k.pub:1:r1.json" "r1x.json -p rk.pub:1:r1x.json" "fifo.json:2:not a regular file" \
  "big.json:2:big.json"; do
  args=${c%%:*} rest=${c#*:} want=${rest%%:*} msg=${rest#*:}
  set +e
  # shellcheck disable=SC2086
  timeout 20 "$FX" plan --plain-http --base $args "${refs[@]}" > /dev/null 2> hostile.err
  rc=$?
  set -e
  [ $rc = "$want" ] || fail "--base $args: exit $rc, want $want: $(cat hostile.err)"
  grep -q -- "$msg" hostile.err || fail "--base $args: the message does not name it: $(cat hostile.err)"
done
# a receipt not signed by the -p key is refused
set +e
"$FX" plan --plain-http --base r1.json -p k.pub "${refs[@]}" > /dev/null 2> badkey.err
rc=$?
set -e
[ $rc = 1 ] || fail "receipt with the wrong key: exit $rc, want 1: $(cat badkey.err)"
pass
