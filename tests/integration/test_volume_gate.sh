#!/usr/bin/env bash
# The signature gate over a volume set: a push of volumes reads signature
# blobs from whichever volume given holds them. An image whose signature
# blobs are all on volumes not given cannot be judged: it waits on them
# (exit 5 unless something is refused), its tag and manifests untouched,
# its blobs that are here uploaded as for any waiting image; pushed with the
# volume that brings its signature, it lands. An unsigned image is refused
# whatever the volumes. The end state is the one a gated push of the
# single-file bundle gives, also when the volumes come one per run, last
# first: a signature blob a run uploaded is read back from the target by a
# later run that lacks its volume. verify of one volume says which images
# wait on signatures elsewhere instead of calling them unsigned.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require openssl
PY=/usr/bin/python3
MKC="$FERRY_SOURCE_DIR/tests/tools/mkcosign.py"

start_registry SRC anon
start_registry ONE anon
start_registry SET anon
start_registry REV anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
cosign_key vendor
$PY "$MKC" --registry "$REG_SRC" --repo corpus/app0 --subject 1.0 --sign-key vendor.pem \
  --identity "$REG_SRC/corpus/app0" sig > /dev/null || fail "sign app0:1.0 (.sig)"
$PY "$MKC" --registry "$REG_SRC" --repo corpus/app1 --subject 2.0 --sign-key vendor.pem \
  bundle > /dev/null || fail "sign app1:2.0 (cosign v3 bundle)"
# corpus/base:latest: no signature
refs=("$REG_SRC/corpus/app0:1.0" "$REG_SRC/corpus/app1:2.0" "$REG_SRC/corpus/base:latest")

"$FX" -q -k k.key -o one.tar.zst --plain-http "${refs[@]}" || fail "export one bundle"
"$FX" -q -k k.key -o set.tar.zst --volume-size 1536K --plain-http "${refs[@]}" || fail "export the set"
vols=(set.*.tar.zst)
n=${#vols[@]}
[ "$n" -ge 3 ] || fail "only $n volumes: ${vols[*]}"

# the volume holding the simple-signing layer of app0:1.0's .sig
sigvol=$($PY - "${vols[@]}" <<'PYEOF'
import json, subprocess, sys
def member(vol, path):
    return subprocess.run("zstd -dc %s | tar -xOf - %s" % (vol, path), shell=True, check=True,
                          capture_output=True).stdout
st = json.loads(member(sys.argv[1], "ferry.json"))
im = [i for i, x in enumerate(st["images"]) if x["source"].endswith("/corpus/app0:1.0")][0]
sig = [r for r in st["referrers"] if r.get("tag", "").endswith(".sig") and r["image"] == im][0]
path = "blobs/" + sig["digest"].replace(":", "/")
m = [x for x in st["members"] if x["path"] == path][0]
src = sys.argv[1] if m.get("volume", 0) == 0 else sys.argv[m["volume"]]
layer = json.loads(member(src, path))["layers"][0]["digest"]
lm = [x for x in st["members"] if x["path"] == "blobs/" + layer.replace(":", "/")][0]
assert lm.get("volume", 0) > 0, lm
print(lm["volume"], layer, sig["digest"])
PYEOF
) || fail "finding the signature's volume"
read -r sigvol siglayer sigman <<< "$sigvol"
sigfile=$(printf 'set.%03d.tar.zst' "$sigvol")
others=()
for v in "${vols[@]}"; do [ "$v" = "$sigfile" ] || others+=("$v"); done

# the single bundle, gated: app0 and app1 land, base is refused
set +e
"$FI" push -q -p k.pub --require-signature vendor.pub --plain-http --to "$REG_ONE" one.tar.zst \
  > one.out 2> one.err
rc=$?
set -e
[ $rc = 3 ] || fail "gated push of one bundle: exit $rc, want 3: $(cat one.err)"

# every volume but the signature's: app0:1.0 waits on it, base is refused
set +e
"$FI" push -p k.pub --require-signature vendor.pub --plain-http --to "$REG_SET" --json \
  "${others[@]}" > a.json 2> a.err
rc=$?
set -e
[ $rc = 3 ] || fail "volumes without the signature: exit $rc, want 3 (base refused): $(cat a.err)"
$PY - a.json "$sigvol" <<'PYEOF' || fail "volumes without the signature: $(cat a.json)"
import json, sys
d = json.load(open(sys.argv[1]))
got = {i["source"].split("/", 1)[1]: i for i in d["images"]}
w = got["corpus/app0:1.0"]
assert w["result"] == "waiting", w
assert w["reason"].endswith("its signatures are on volume %s" % sys.argv[2]), w
assert got["corpus/base:latest"]["result"] == "refused", got
assert int(sys.argv[2]) in d["volumesMissing"], d["volumesMissing"]
PYEOF
if digest_of "$REG_SET" corpus/app0:1.0 > /dev/null 2>&1; then
  fail "app0:1.0 was tagged before its signature was judged"
fi
# nothing of it but blobs: no manifest by digest, no .sig manifest or tag
app0=$(digest_of "$REG_SRC" corpus/app0:1.0)
sigtag="sha256-${app0#sha256:}.sig"
for m in "$app0" "$sigman" "$sigtag"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Accept: application/vnd.oci.image.index.v1+json" \
    -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json" \
    -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
    "http://$REG_SET/v2/corpus/app0/manifests/$m")
  [ "$code" = 404 ] || fail "corpus/app0 manifest $m is in the target ($code) while app0:1.0 waits"
done
if digest_of "$REG_SET" corpus/base:latest > /dev/null 2>&1; then
  fail "the unsigned base:latest was tagged"
fi

# the signature's volume alone: app0:1.0 is judged, signed, and lands
set +e
"$FI" push -p k.pub --require-signature vendor.pub --plain-http --to "$REG_SET" "$sigfile" \
  > b.out 2> b.err
rc=$?
set -e
[ $rc = 3 ] || fail "the signature's volume: exit $rc, want 3 (base refused): $(cat b.err)"
grep -q "^pushed    $REG_SET/corpus/app0:1.0 " b.out || fail "app0:1.0 did not land: $(cat b.out)"
for r in corpus/app0:1.0 corpus/app1:2.0; do
  [ "$(digest_of "$REG_SET" "$r")" = "$(digest_of "$REG_SRC" "$r")" ] || fail "$r is not the source's in the target"
  [ "$(digest_of "$REG_SET" "$r")" = "$(digest_of "$REG_ONE" "$r")" ] || fail "$r differs from the one-bundle push"
done
[ "$(digest_of "$REG_SET" "corpus/app0:$sigtag")" = "$(digest_of "$REG_SRC" "corpus/app0:$sigtag")" ] ||
  fail "the .sig attachment did not land with its image"
if digest_of "$REG_SET" corpus/base:latest > /dev/null 2>&1; then
  fail "the unsigned base:latest was tagged"
fi

# one volume per run, last first: a signature read in one run and the
# content that comes later meet, through what the earlier runs uploaded
for ((k = n; k >= 1; k--)); do
  v=$(printf 'set.%03d.tar.zst' "$k")
  set +e
  "$FI" push -q -p k.pub --require-signature vendor.pub --plain-http --to "$REG_REV" "$v" \
    > "rev$k.out" 2> "rev$k.err"
  rc=$?
  set -e
  [ $rc = 3 ] || [ $rc = 5 ] || fail "volume $k alone: exit $rc: $(cat "rev$k.err")"
done
[ $rc = 3 ] || fail "the last run: exit $rc, want 3 (only base refused): $(cat rev1.err)"
for r in corpus/app0:1.0 corpus/app1:2.0 "corpus/app0:$sigtag"; do
  [ "$(digest_of "$REG_REV" "$r")" = "$(digest_of "$REG_ONE" "$r")" ] ||
    fail "one volume per run: $r is not what the one-bundle push gives: $(cat rev*.out)"
done
# a run without the signature's volume read it back from the target
grep "GET /v2/corpus/app0/blobs/$siglayer " "$REG_REV_LOG" > /dev/null ||
  fail "no run read the signature of app0:1.0 back from the target"
if digest_of "$REG_REV" corpus/base:latest > /dev/null 2>&1; then
  fail "one volume per run: the unsigned base:latest was tagged"
fi

# verify of one volume without the signature: app0:1.0 waits, it is not "unsigned"
set +e
"$FI" verify -p k.pub --require-signature vendor.pub "${others[0]}" > v.out 2> v.err
rc=$?
set -e
[ $rc = 3 ] || fail "verify of a volume: exit $rc, want 3 (base): $(cat v.err)"
grep -q "^waiting   $REG_SRC/corpus/app0:1.0: its signatures are on volume $sigvol of $n$" v.out ||
  fail "verify of a volume does not say app0:1.0 waits: $(cat v.out)"
grep -q "^unsigned  $REG_SRC/corpus/base:latest" v.out || fail "verify of a volume: base: $(cat v.out)"
set +e
"$FI" verify -p k.pub --require-signature vendor.pub --json "${others[0]}" > v.json 2> /dev/null
set -e
$PY - v.json "$sigvol" <<'PYEOF' || fail "verify --json of a volume: $(cat v.json)"
import json, sys
d = json.load(open(sys.argv[1]))
d = d[0] if isinstance(d, list) else d
w = [x for x in d["signatures"] if x["source"].endswith("/corpus/app0:1.0")][0]
assert w["waiting"] is True and w["waitingOnVolumes"] == [int(sys.argv[2])] and "reason" not in w, w
PYEOF

pass "signature gate over volumes: app0:1.0 waited on volume $sigvol of $n, then landed; one volume per run converged; base refused throughout"
