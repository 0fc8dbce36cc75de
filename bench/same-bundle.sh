#!/usr/bin/env bash
# Do two builds of ferry write the same bundle bytes and push the same tags?
#
#   bench/same-bundle.sh OLD_BIN_DIR [NEW_BIN_DIR]
#
# For a restructuring that must not change behaviour: build the commit before
# it into OLD_BIN_DIR (e.g. `git worktree add /tmp/old HEAD~3 && cmake -S
# /tmp/old -B /tmp/old/build -DCMAKE_BUILD_TYPE=Release && cmake --build
# /tmp/old/build`), then run this with the new build (default build/release).
#
# It starts a source registry, seeds the benchmark corpus (bench/benchlib.py
# spec, BENCH_SCALE times the sizes, default 0.1) and the samples, attaches
# referrers (signature, SBOM, provenance, a signature on the SBOM, a VEX on a
# platform manifest, and one set kept in a separate repository), and then for
# both builds:
#   - ferry-export plan --json, for every corpus tag and for the sample sync
#     config: the outputs must be identical;
#   - ferry-export of the same selections under faketime (the creation time
#     and the signature timestamps are the only inputs that change from run to
#     run; Ed25519 is deterministic): the bundles and their .minisig files
#     must be byte-identical;
#   - ferry-import push of each build's bundle into an empty registry of its
#     own, twice: every repository:tag must serve the same bytes in both
#     (images, referrers, fallback tag indexes), and the second push must
#     change nothing; ferry-import referrers must print the same for them,
#     and verify and list the same for the bundles.
# Exit status: 0 same, 1 different (what differs is printed), 2 could not run.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n 4p "$0" | sed 's/^# *//; s/^/usage: /' >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
abs() { (cd "$1" && pwd); }
old=$(abs "$1")
new=$(abs "${2:-$root/build/release}")
bin() { # DIR NAME: the binary in a build tree or a plain directory
    if [ -x "$1/export/$2" ]; then echo "$1/export/$2"; elif [ -x "$1/import/$2" ]; then
        echo "$1/import/$2"; else echo "$1/$2"; fi
}
for d in "$old" "$new"; do
    for b in ferry-export ferry-import; do
        [ -x "$(bin "$d" $b)" ] || { echo "same-bundle: no $b in $d" >&2; exit 2; }
    done
done
command -v faketime >/dev/null || { echo "same-bundle: faketime is not installed (apt-get install faketime)" >&2; exit 2; }

export FERRY_SOURCE_DIR=$root FERRY_BIN_DIR=$new
# shellcheck source=../tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
py=$FERRY_PYTHON
lib=$here/benchlib.py
mkref=$root/tests/tools/mkreferrers.py
cd "$TEST_TMP"

start_registry src
"$py" "$lib" spec --scale "${BENCH_SCALE:-0.1}" --repos "${BENCH_REPOS:-12}" --tags "${BENCH_TAGS:-3}" >spec.json
bash "$root/scripts/seed-registry.sh" -q -o corpus "$REG_SRC" spec.json || fail "seeding the corpus"
bash "$root/scripts/seed-registry.sh" -q -o samples "$REG_SRC" "$root/samples/images.json" ||
    fail "seeding the samples"
"$py" "$mkref" --registry "$REG_SRC" --subject-repo bench/app00 --subject 1.0 \
    signature sbom provenance sig-on:sbom >/dev/null || fail "referrers of bench/app00:1.0"
"$py" "$mkref" --registry "$REG_SRC" --subject-repo bench/app11 --subject 1.2 \
    signature sbom >/dev/null || fail "referrers of bench/app11:1.2"
"$py" "$mkref" --registry "$REG_SRC" --subject-repo corpus/app0 --subject 1.0 \
    signature sbom provenance sig-on:sbom >/dev/null || fail "referrers of corpus/app0:1.0"
child=$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "http://$REG_SRC/v2/bench/app01/manifests/1.1" |
    "$py" -c 'import json,sys; print(json.load(sys.stdin)["manifests"][1]["digest"])')
"$py" "$mkref" --registry "$REG_SRC" --subject-repo bench/app01 --subject "$child" \
    "vex,name=child-vex" >/dev/null || fail "referrers of a platform manifest"
"$py" "$mkref" --registry "$REG_SRC" --subject-repo bench/app02 --subject 1.0 \
    --repo scout/app02 signature "scan" >/dev/null || fail "referrers in a separate repository"

refs=()
while read -r r; do refs+=("$REG_SRC/$r"); done < <("$py" -c '
import json,sys
for im in json.load(open("spec.json"))["images"]:
    for t in im["tags"]: print(im["repo"] + ":" + t)')
"$(bin "$new" ferry-export)" keygen -W -p k.pub -s k.key >/dev/null
export FERRY_DEMO_SRC=$REG_SRC
sync_cfg=$root/samples/regsync-local.yaml
when="2026-01-02 03:04:05"
status=0
differ() { echo "same-bundle: DIFFERENT: $*" >&2; status=1; }

for side in old new; do
    d=${!side}
    fx=$(bin "$d" ferry-export) fi=$(bin "$d" ferry-import)
    mkdir -p "$side"
    "$fx" plan --json --plain-http "${refs[@]}" >"$side/plan.json" || fail "$side: plan"
    "$fx" plan --json -c "$sync_cfg" >"$side/plan-sync.json" || fail "$side: plan -c"
    "$fx" plan --json --plain-http --referrers-src "$REG_SRC/scout/app02" \
        --referrers-tgt "$REG_SRC/mirror/scout" "$REG_SRC/bench/app02:1.0" >"$side/plan-src.json" ||
        fail "$side: plan --referrers-src"
    faketime -f "@$when" "$fx" -q -k k.key -o "$side/refs.tar.zst" --plain-http "${refs[@]}" ||
        fail "$side: export"
    faketime -f "@$when" "$fx" -q -k k.key -o "$side/sync.tar.zst" -c "$sync_cfg" ||
        fail "$side: export -c"
    faketime -f "@$when" "$fx" -q -k k.key -o "$side/src.tar.zst" --plain-http \
        --referrers-src "$REG_SRC/scout/app02" --referrers-tgt "$REG_SRC/mirror/scout" \
        "$REG_SRC/bench/app02:1.0" || fail "$side: export --referrers-src"
    start_registry "dst$side"
    v=REG_DST${side^^}
    for b in refs sync src; do
        for pass in 1 2; do
            "$fi" push -q -p k.pub --to "${!v}" --plain-http "$side/$b.tar.zst" \
                >"$side/push-$b-$pass.out" || fail "$side: push $b ($pass)"
        done
        # the second push of the same bundle changes nothing
        "$fi" push -p k.pub --to "${!v}" --plain-http "$side/$b.tar.zst" >/dev/null 2>"$side/push-$b-3.err" ||
            fail "$side: push $b (3)"
        grep -q 'manifests: 0 pushed.*tags: 0 set' "$side/push-$b-3.err" &&
            ! grep -q 'fallback tags: [1-9]' "$side/push-$b-3.err" ||
            differ "$side: a third push of $b changed something: $(cat "$side/push-$b-3.err")"
    done
    # ferry's tag records (REPO/ferry-state, ferry 0.2 on) are compared apart:
    # a build before them has none
    "$py" "$lib" dump "${!v}" >"$side/registry-all.txt" || fail "$side: dump"
    grep -v '^[^ ]*ferry-state:' "$side/registry-all.txt" >"$side/registry.txt" || true
    # what the referrers command shows of them: all, by type, as JSON, none
    subj=$(grep '^bench/app00:1.0 ' "$side/registry.txt" | cut -d' ' -f2)
    bare=$(grep '^bench/app03:1.0 ' "$side/registry.txt" | cut -d' ' -f2)
    {
        "$fi" referrers --plain-http "${!v}/bench/app00@$subj"
        "$fi" referrers --plain-http --json "${!v}/bench/app00@$subj"
        "$fi" referrers --plain-http --artifact-type application/spdx+json "${!v}/bench/app00@$subj"
        "$fi" referrers --plain-http --json --artifact-type application/spdx+json \
            "${!v}/bench/app00@$subj"
        "$fi" referrers --plain-http "${!v}/bench/app03@$bare"
        "$fi" referrers --plain-http --json "${!v}/bench/app03@$bare"
    } 2>&1 | sed "s/${!v}/REGISTRY/g" >"$side/referrers.txt" || fail "$side: referrers command"
    [ -n "${SAME_BUNDLE_SHOW:-}" ] && cat "$side/referrers.txt"
    # and what verify and list say of the bundles
    for b in refs sync src; do
        "$fi" verify -p k.pub "$side/$b.tar.zst"
        "$fi" list --referrers -p k.pub "$side/$b.tar.zst"
        "$fi" list --json --referrers "$side/$b.tar.zst"
    done 2>&1 | sed "s|$side/||g" >"$side/list.txt" || fail "$side: verify or list"
done

for f in plan.json plan-sync.json plan-src.json refs.tar.zst refs.tar.zst.minisig sync.tar.zst \
    sync.tar.zst.minisig src.tar.zst src.tar.zst.minisig registry.txt referrers.txt list.txt; do
    if cmp -s "old/$f" "new/$f"; then
        echo "same-bundle: same: $f ($(stat -c %s "new/$f") bytes)"
    else
        differ "$f"
        case $f in *.json | *.txt) diff "old/$f" "new/$f" | head -20 >&2 ;; esac
    fi
done
echo "same-bundle: tag records: $(grep -c 'ferry-state:' old/registry-all.txt) old, $(grep -c 'ferry-state:' new/registry-all.txt) new"
echo "same-bundle: $(wc -l <new/registry.txt) tags in the target registry, $(grep -c ':sha256-' new/registry.txt) of them referrers fallback tags"
[ $status = 0 ] && pass "old and new builds wrote the same bundles and pushed the same tags"
exit $status
