#!/usr/bin/env bash
# Full flow against real registries: export a multi-platform OCI index, a
# Docker manifest list and a single manifest from one docker-registry, check
# the bundle with ferry, minisign and skopeo, push into a second registry, and
# push again to see that nothing changes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools

start_registry SRC anon
start_registry DST anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"

refs=()
for r in $SAMPLE_REFS; do refs+=("$REG_SRC/$r"); done
bundle=$TEST_TMP/out/bundle.tar.zst
mkdir -p "$TEST_TMP/out"
"$FX" -k "$TEST_TMP/k.key" -o "$bundle" --plain-http "${refs[@]}" 2>"$TEST_TMP/export.err" \
  || { cat "$TEST_TMP/export.err"; fail "export failed"; }
[ -f "$bundle" ] && [ -f "$bundle.minisig" ] || fail "bundle or its signature missing"
ls "$TEST_TMP/out" | grep -q tmp && fail "temporary file left behind"

# Manifests are fetched ahead on several threads; a missing tag among good
# references still fails the export (exit 2) naming the first bad reference in
# command-line order, and leaves no bundle.
rc=0
"$FX" -k "$TEST_TMP/k.key" -o "$TEST_TMP/out/bad.tar.zst" --plain-http "${refs[@]}" \
  "$REG_SRC/corpus/app0:nosuchtag" "$REG_SRC/corpus/nosuchrepo:1" 2>"$TEST_TMP/bad.err" || rc=$?
[ "$rc" = 2 ] || fail "export with a missing tag exited $rc: $(cat "$TEST_TMP/bad.err")"
grep -q "corpus/app0:nosuchtag" "$TEST_TMP/bad.err" ||
  fail "error does not name the missing tag: $(cat "$TEST_TMP/bad.err")"
grep -q "nosuchrepo" "$TEST_TMP/bad.err" && fail "error names the later reference, not the first"
[ ! -e "$TEST_TMP/out/bad.tar.zst" ] || fail "a failed export left a bundle"

# verify
out=$("$FI" verify -p "$TEST_TMP/k.pub" "$bundle") || fail "verify failed"
echo "$out" | grep -q "ok: signed by key" || fail "verify output: $out"

# list --json: 4 images, platforms and source digests
"$FI" list --json -p "$TEST_TMP/k.pub" "$bundle" > "$TEST_TMP/list.json"
/usr/bin/python3 - "$TEST_TMP/list.json" "$REG_SRC" <<'PY' || fail "list --json content"
import json, sys
d = json.load(open(sys.argv[1])); src = sys.argv[2]
assert d["signatureChecked"] is True, d
imgs = {i["source"]: i for i in d["images"]}
assert len(imgs) == 4, imgs.keys()
app0 = imgs[src + "/corpus/app0:1.0"]
assert sorted(app0["platforms"]) == ["linux/amd64", "linux/arm64"], app0
assert app0["mediaType"] == "application/vnd.oci.image.index.v1+json"
app1 = imgs[src + "/corpus/app1:2.0"]
assert app1["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json", app1
base = imgs[src + "/corpus/base:latest"]
assert base["platforms"] == ["linux/amd64"], base
assert all(i["size"] > 0 for i in imgs.values())
PY
"$FI" list "$bundle" | grep -q UNVERIFIED || fail "list without -p must say unverified"

# digests in the bundle are the source's
for r in $SAMPLE_REFS; do
  want=$(digest_of "$REG_SRC" "$r")
  grep -q "\"source\": \"$REG_SRC/$r\"" "$TEST_TMP/list.json" || fail "$r not listed"
  /usr/bin/python3 -c "
import json,sys; d=json.load(open('$TEST_TMP/list.json'))
m=[i for i in d['images'] if i['source']=='$REG_SRC/$r'][0]
sys.exit(0 if m['digest']=='$want' else 1)" || fail "$r digest differs from source $want"
done

# minisign checks the detached signature and, after extraction, the statement
if command -v minisign >/dev/null 2>&1; then
  minisign -Vm "$bundle" -p "$TEST_TMP/k.pub" >/dev/null || fail "minisign rejects the bundle signature"
fi
mkdir -p "$TEST_TMP/layout"
zstd -dq < "$bundle" | tar -xf - -C "$TEST_TMP/layout" || fail "zstd -d | tar -x failed"
if command -v minisign >/dev/null 2>&1; then
  minisign -Vm "$TEST_TMP/layout/ferry.json" -p "$TEST_TMP/k.pub" >/dev/null \
    || fail "minisign rejects ferry.json.minisig"
fi
# skopeo's oci: transport only addresses index.json entries with OCI media
# types, so the Docker manifest list (corpus/app1) is checked through the registry.
for r in corpus/app0:1.0 corpus/app0:1.1 corpus/base:latest; do
  want=$(digest_of "$REG_SRC" "$r")
  got=$(skopeo inspect --raw "oci:$TEST_TMP/layout:$r" | sha256sum | awk '{print "sha256:"$1}') \
    || fail "skopeo cannot read $r from the layout"
  [ "$got" = "$want" ] || fail "layout $r: $got != $want"
done
skopeo inspect "oci:$TEST_TMP/layout:corpus/app0:1.0" >/dev/null || fail "skopeo inspect app0"

# a bundle of plain references records no target: push wants --to
rc=0
"$FI" push -p "$TEST_TMP/k.pub" --plain-http "$bundle" >/dev/null 2>"$TEST_TMP/noto.err" || rc=$?
[ "$rc" = 64 ] && grep -q "no recorded target" "$TEST_TMP/noto.err" || fail "push without --to: exit $rc: $(cat "$TEST_TMP/noto.err")"

# push, then check every tag arrived with its digest
"$FI" push -p "$TEST_TMP/k.pub" --to "$REG_DST/mirror" --plain-http "$bundle" \
  > "$TEST_TMP/push1.out" 2> "$TEST_TMP/push1.err" || { cat "$TEST_TMP/push1.err"; fail "push failed"; }
[ "$(grep -c '^pushed ' "$TEST_TMP/push1.out")" = 4 ] || fail "expected 4 pushed lines: $(cat "$TEST_TMP/push1.out")"
for r in $SAMPLE_REFS; do
  want=$(digest_of "$REG_SRC" "$r")
  got=$(digest_of "$REG_DST" "mirror/$r") || fail "mirror/$r missing in target"
  [ "$got" = "$want" ] || fail "mirror/$r: $got != $want"
done
# every platform of the index is pullable from the target
skopeo copy -q --all --src-tls-verify=false "docker://$REG_DST/mirror/corpus/app0:1.0" \
  "oci:$TEST_TMP/pulled:x" || fail "cannot pull the pushed index with all platforms"

# second run: nothing changes
"$FI" push -p "$TEST_TMP/k.pub" --to "$REG_DST/mirror" --plain-http "$bundle" \
  > "$TEST_TMP/push2.out" 2> "$TEST_TMP/push2.err" || { cat "$TEST_TMP/push2.err"; fail "second push failed"; }
[ "$(grep -c '^unchanged ' "$TEST_TMP/push2.out")" = 4 ] || fail "second push changed something: $(cat "$TEST_TMP/push2.out")"
grep -q "0 uploaded" "$TEST_TMP/push2.err" || fail "second push uploaded blobs: $(cat "$TEST_TMP/push2.err")"
grep -q "manifests: 0 pushed" "$TEST_TMP/push2.err" || fail "second push pushed manifests"

pass "full flow"
