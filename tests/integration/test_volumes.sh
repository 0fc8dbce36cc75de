#!/usr/bin/env bash
# Volume sets (issue 12, docs/FORMAT.md 3.3): the samples with referrers
# exported in 1.5 MiB volumes (the 2 MiB base layers larger than a volume,
# so cut into parts). Each volume fits the size and verifies on its own;
# verify names the volumes still to come. Imported one volume per run in
# reverse order, in a shuffled order, and all at once, each target ends in
# the state the single-file bundle gives (the same inventory); after every
# run no tag points at missing content, the images not yet complete say
# which volumes they wait on (exit 5), and parts of split blobs are parked
# until their other parts come. A second run changes nothing. A dry run of a
# volume writes nothing and says what would wait; a delta cut into volumes
# pushes where its base is and is refused (exit 4) elsewhere. Volumes of two
# sets, one volume twice, a size too small, and --volume-size with -o - are
# refused with their messages; a push of volumes stays under 64 MiB.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require /usr/bin/time
PY=/usr/bin/python3

start_registry SRC anon
for r in ONE REV SHUF ALL NOMOUNT; do start_registry "$r" anon; done
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" --subject-repo corpus/app0 \
  --subject 1.0 signature sbom > refs.jsonl || fail "mkreferrers"
refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done
SIZE=$((1536 * 1024))
statement() { zstd -dc "$1" | tar -xOf - ferry.json; }

# 1. the single-file bundle and the set, from the same source
"$FX" -q -k k.key -o one.tar.zst --plain-http "${refs[@]}" || fail "export one bundle"
"$FX" -k k.key -o set.tar.zst --volume-size 1536K --plain-http "${refs[@]}" 2> export.err ||
  fail "export the set: $(cat export.err)"
vols=(set.*.tar.zst)
n=${#vols[@]}
[ "$n" -ge 4 ] || fail "only $n volumes for $SIZE bytes each: ${vols[*]}"
[ "${vols[0]}" = set.001.tar.zst ] || fail "first volume is ${vols[0]}"
grep -q "wrote set.001.tar.zst to $(printf 'set.%03d.tar.zst' "$n") ($n volumes): 4 images, 2 referrers" export.err &&
  grep -q "blobs larger than a volume: in [0-9]* parts across consecutive volumes" export.err ||
  fail "export does not say what it wrote: $(cat export.err)"
for v in "${vols[@]}"; do
  [ -s "$v.minisig" ] || fail "$v has no detached signature"
  total=$(($(stat -c %s "$v") + $(stat -c %s "$v.minisig")))
  [ "$total" -le "$SIZE" ] || fail "$v takes $total bytes, more than the volume size $SIZE"
done
$PY - "$n" "${vols[@]}" <<'PYEOF' || fail "the volumes' statements"
import hashlib, json, subprocess, sys
n = int(sys.argv[1])
sts = [json.loads(subprocess.run("zstd -dc %s | tar -xOf - ferry.json" % v, shell=True,
                                 check=True, capture_output=True).stdout) for v in sys.argv[2:]]
sets = {st["volume"]["set"] for st in sts}
assert len(sets) == 1, sets
for k, st in enumerate(sts, 1):
    assert st["ferryBundleVersion"] == 3 and st["volume"]["number"] == k, st["volume"]
    assert st["volume"]["count"] == n
    # all but the number are the same: the set's graph in every volume
    a = dict(st, volume=None)
    b = dict(sts[0], volume=None)
    assert a == b, k
split = sts[0].get("split", [])
assert len(split) >= 1, "no blob was cut into parts"
for x in split:
    parts = [m for m in sts[0]["members"] if m.get("blob") == x["digest"]]
    assert len(parts) == x["parts"] >= 2
    assert len({m["volume"] for m in parts}) == len(parts), "parts share a volume"
    assert [m["volume"] for m in parts] == list(range(parts[0]["volume"], parts[0]["volume"] + len(parts)))
for m in sts[0]["members"]:
    mt = m.get("mediaType") or ""
    if "manifest" in mt or "index" in mt or m["path"] in ("oci-layout", "index.json"):
        assert "volume" not in m, m
    else:
        assert 1 <= m["volume"] <= n, m
PYEOF

# 2. every volume verifies on its own; verify says which are still to come
for v in "${vols[@]}"; do
  "$FI" verify -p k.pub "$v" > verify.out 2>&1 || fail "verify $v: $(cat verify.out)"
  grep -q "^$v: ok: volume [0-9]* of $n, signed by key" verify.out || fail "verify $v: $(cat verify.out)"
done
"$FI" verify -p k.pub set.001.tar.zst set.003.tar.zst > v13.out 2>&1 || fail "verify two volumes"
want_missing=$(seq 1 "$n" | grep -vx 1 | grep -vx 3 | paste -sd, | sed 's/,/, /g')
grep -q "$((n - 2)) of $n volumes still to come: $want_missing" v13.out ||
  fail "verify does not name the missing volumes ($want_missing): $(cat v13.out)"
"$FI" verify -p k.pub "${vols[@]}" > vall.out 2>&1 || fail "verify all volumes"
grep -q "all $n volumes verified" vall.out || fail "verify all: $(cat vall.out)"
"$FI" list -p k.pub set.002.tar.zst | grep -q "^volume 2 of $n of set sha256:" || fail "list of a volume"

# 3. the reference state: the single-file bundle (with a receipt, for 7.)
"$FI" push -q -p k.pub --plain-http --to "$REG_ONE/m" --receipt one.receipt one.tar.zst > /dev/null ||
  fail "push one bundle"
inventory() {
  "$FI" inventory --plain-http --to "$1/m" -o "$2" || fail "inventory of $1"
}
inventory "$REG_ONE" one.inv
same_as_one() { # INVENTORY WHAT
  $PY - one.inv "$1" <<'PYEOF' || fail "$2 does not hold what the single bundle gives"
import json, sys
a, b = (json.load(open(p))["repositories"] for p in sys.argv[1:3])
assert a == b, (a, b)
PYEOF
}
# no tag of the target points at missing content, at any time
complete() {
  $PY "$FERRY_SOURCE_DIR/tests/tools/regcheck.py" "$1" > /dev/null 2> regcheck.err ||
    fail "$2: a tag points at missing content: $(cat regcheck.err)"
}

# 4. one volume per run, in reverse order: every run but the last waits
# (exit 5) and names what it waits on; the last completes
parked=0
for ((k = n; k >= 1; k--)); do
  v=$(printf 'set.%03d.tar.zst' "$k")
  set +e
  "$FI" push -p k.pub --plain-http --to "$REG_REV/m" "$v" > "rev$k.out" 2> "rev$k.err"
  rc=$?
  set -e
  complete "$REG_REV" "reverse, after volume $k"
  if [ "$k" -gt 1 ]; then
    [ $rc = 5 ] || fail "volume $k of $n alone: exit $rc, want 5: $(cat "rev$k.err")"
    grep -q "^waiting   $REG_REV/m/corpus/[a-z0-9]*:[0-9a-z.]* sha256:[0-9a-f]*: waiting on volumes\? [0-9, ]* of $n$" "rev$k.out" ||
      fail "volume $k: no waiting image: $(cat "rev$k.out")"
    grep -q "wait.* on volumes\? .* of the set: push" "rev$k.err" || fail "volume $k: $(cat "rev$k.err")"
    # what waits never names a volume already pushed
    for ((j = n; j >= k; j--)); do
      if grep "waiting on" "rev$k.out" | grep -Eq "volumes? ([0-9]+, )*$j(,| of)"; then
        fail "volume $k: waits on volume $j, pushed already: $(cat "rev$k.out")"
      fi
    done
  else
    [ $rc = 0 ] || fail "the last volume: exit $rc: $(cat "rev$k.err")"
  fi
  if grep -q "parked [0-9]* part" "rev$k.err"; then parked=$((parked + 1)); fi
done
[ "$parked" -ge 1 ] || fail "no run parked a part of a split blob"
grep -q "^pushed    $REG_REV/m/corpus/app0:1.0 " rev1.out || fail "the last volume did not set the tags"
inventory "$REG_REV" rev.inv
same_as_one rev.inv "reverse order"

# 5. a shuffled order (fixed), one volume per run
order=$($PY -c "import random; r = list(range(1, $n + 1)); random.Random(12).shuffle(r); print(*r)")
last=${order##* }
for k in $order; do
  v=$(printf 'set.%03d.tar.zst' "$k")
  set +e
  "$FI" push -q -p k.pub --plain-http --to "$REG_SHUF/m" "$v" > "shuf$k.out" 2> "shuf$k.err"
  rc=$?
  set -e
  complete "$REG_SHUF" "shuffled ($order), after volume $k"
  if [ "$k" = "$last" ]; then
    [ $rc = 0 ] || fail "shuffled, last volume $k: exit $rc: $(cat "shuf$k.err")"
  else
    [ $rc = 5 ] || fail "shuffled, volume $k: exit $rc, want 5: $(cat "shuf$k.err")"
  fi
done
inventory "$REG_SHUF" shuf.inv
same_as_one shuf.inv "shuffled order ($order)"

# 6. all at once, the volumes given in any order, under 64 MiB; a second
# run changes nothing
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=0:malloc_context_size=2"
mapfile -t backwards < <(printf '%s\n' "${vols[@]}" | sort -r)
/usr/bin/time -f "%M" -o all.rss "$FI" push -p k.pub --plain-http --to "$REG_ALL/m" \
  "${backwards[@]}" > all.out 2> all.err || fail "push every volume at once: $(cat all.err)"
kb=$(tail -1 all.rss)
[ "$kb" -lt $((64 * 1024)) ] || fail "push of the set: peak RSS $kb KiB, over 64 MiB"
grep -q "parked" all.err && fail "all at once, yet parts were parked: $(cat all.err)"
complete "$REG_ALL" "all at once"
inventory "$REG_ALL" all.inv
same_as_one all.inv "all at once"
"$FI" push -p k.pub --plain-http --to "$REG_ALL/m" "${vols[@]}" > again.out 2> again.err ||
  fail "push the set again: $(cat again.err)"
grep -q "blobs: 0 uploaded (0 B), 0 mounted" again.err || fail "the second run uploaded: $(cat again.err)"
grep -q "tags: 0 set" again.err || fail "the second run set tags: $(cat again.err)"
[ "$(grep -c '^unchanged ' again.out)" = 4 ] || fail "the second run: $(cat again.out)"

# 6b. a registry that refuses cross-repository mounts (202, a session): the
# blobs cut in parts, needed in several repositories, are put together in
# each; the same state again
start_fault_proxy NOMOUNT "$REG_NOMOUNT" --mode no-mount --faults 1000000 --method POST \
  --match '/blobs/uploads/'
"$FI" push -p k.pub --plain-http --to "$PROXY_NOMOUNT/m" "${vols[@]}" > nomount.out 2> nomount.err ||
  fail "push through a registry that refuses mounts: $(cat nomount.err)"
grep -q "fault no-mount" "$PROXY_NOMOUNT_LOG" || fail "no mount was tried (and refused)"
complete "$REG_NOMOUNT" "mounts refused"
inventory "$REG_NOMOUNT" nomount.inv
same_as_one nomount.inv "mounts refused"

# 7. a dry run of one volume into an empty registry writes nothing and says
# what would wait (exit 5); a delta cut into volumes (everything it needs is
# in the receipt's registry already) pushes there and nowhere else
set +e
"$FI" push --dry-run -p k.pub --plain-http --to "$REG_ALL/dry" set.002.tar.zst > dry.out 2> dry.err
rc=$?
set -e
[ $rc = 5 ] || fail "dry run of one volume: exit $rc, want 5: $(cat dry.err)"
grep -q "^waiting   $REG_ALL/dry/corpus/" dry.out || fail "dry run: no waiting image: $(cat dry.out)"
curl -fsS "http://$REG_ALL/v2/_catalog" | grep -q '"dry/' && fail "the dry run wrote into the registry"
"$FX" -k k.key -o delta.tar.zst --volume-size 1536K --base one.receipt --plain-http "${refs[@]}" 2> delta.err ||
  fail "export a delta in volumes: $(cat delta.err)"
dvols=(delta.*.tar.zst)
[ "$(statement "${dvols[0]}" | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["ferryBundleVersion"], len(s["external"]) > 0, "volume" in s)')" = "3 True True" ] ||
  fail "the delta's volumes are not version 3 with external blobs"
"$FI" push -p k.pub --plain-http --to "$REG_ONE/m" "${dvols[@]}" > delta.out 2> delta-push.err ||
  fail "push the delta's volumes where its base is: $(cat delta-push.err)"
[ "$(grep -c '^unchanged ' delta.out)" = 4 ] || fail "the delta's volumes: $(cat delta.out)"
set +e
"$FI" push -p k.pub --plain-http --to "$REG_SRC/elsewhere" "${dvols[@]}" > /dev/null 2> delta-missing.err
rc=$?
set -e
[ $rc = 4 ] || fail "the delta's volumes where the base is not: exit $rc, want 4: $(cat delta-missing.err)"

# 8. what is refused
set +e
"$FX" -k k.key -o other.tar.zst --volume-size 1536K --plain-http "$REG_SRC/corpus/base:latest" 2> /dev/null
"$FI" push -p k.pub --plain-http --to "$REG_ALL/x" set.001.tar.zst other.001.tar.zst > mix.out 2> mix.err
rc=$?
set -e
[ $rc = 64 ] && grep -q "volume 1 is of set sha256:[0-9a-f]*, volume 1 of set sha256:[0-9a-f]*: push each set on its own" mix.err ||
  fail "volumes of two sets: exit $rc: $(cat mix.err)"
set +e
"$FI" push -p k.pub --plain-http --to "$REG_ALL/x" set.002.tar.zst set.002.tar.zst > twice.out 2> twice.err
rc=$?
set -e
[ $rc = 64 ] && grep -q "volume 2 is given twice" twice.err || fail "one volume twice: exit $rc: $(cat twice.err)"
set +e
"$FX" -k k.key -o small.tar.zst --volume-size 64K --plain-http "${refs[@]}" 2> small.err
rc=$?
set -e
[ $rc = 64 ] && grep -q "volume-size 65536 bytes is too small: every volume carries the statement and the manifests, and needs at least [0-9]* bytes" small.err ||
  fail "a volume size too small: exit $rc: $(cat small.err)"
! ls small*.tar.zst* > /dev/null 2>&1 || fail "a refused export left files: $(ls small*.tar.zst*)"
set +e
"$FX" -k k.key -o - --volume-size 4M --plain-http "${refs[@]}" > /dev/null 2> stream.err
rc=$?
"$FX" -k k.key -o x.tar.zst --volume-size 12Q --plain-http "${refs[@]}" 2> badsize.err
rc2=$?
set -e
[ $rc = 64 ] && grep -q "volume-size writes files: not with -o -" stream.err || fail "-o - with volumes: exit $rc: $(cat stream.err)"
[ $rc2 = 64 ] && grep -q "volume-size: give bytes, or a number with K, M, G or T" badsize.err || fail "bad size: exit $rc2: $(cat badsize.err)"
pass "a set of $n volumes verified and imported in reverse, shuffled ($order) and at once; $kb KiB peak"
