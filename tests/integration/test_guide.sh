#!/usr/bin/env bash
# Docker's guide to mirroring Docker Hardened Images, step for step, across the
# gap (docs/guide-dhi.md puts the guide's regctl commands beside these):
# three registries behind authentication stand for Docker Hub (the image),
# registry.scout.docker.com (its attestations, on the platform manifests) and
# the destination. The connected side logs in to the first two and exports
# with a separate referrer source and a target repository of another name;
# the disconnected side logs in to the destination, pushes without --to, and
# runs the guide's check: the digest of a tag for linux/amd64, then the
# artifacts attached to it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
PY=/usr/bin/python3

start_registry HUB htpasswd
start_registry SCOUT htpasswd
start_registry DEST token
hub_pw=$(cat "$REG_HUB_PASSFILE")
scout_pw=$(cat "$REG_SCOUT_PASSFILE")
dest_pw=$(cat "$REG_DEST_PASSFILE")
seed_samples "$REG_HUB" "ferry:$hub_pw"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
mkdir -p media

# the image: a two-platform index; its attestations live in the Scout stand-in,
# attached to the linux/amd64 manifest (and one to the index)
TAG=2.0
SRC_REPO=$REG_HUB/corpus/app1
SRC_ATT_REPO=$REG_SCOUT/corpus/app1
DEST_REPO=mirror/dhi-python
idx=$(skopeo inspect --raw --tls-verify=false --creds "ferry:$hub_pw" "docker://$SRC_REPO:$TAG")
amd64=$(echo "$idx" | $PY -c 'import json,sys
for m in json.load(sys.stdin)["manifests"]:
    if m["platform"]["architecture"] == "amd64": print(m["digest"])')
[ -n "$amd64" ] || fail "no linux/amd64 manifest in the sample index"
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SCOUT" --creds "ferry:$scout_pw" \
  --repo corpus/app1 --subject-registry "$REG_HUB" --subject-creds "ferry:$hub_pw" \
  --subject-repo corpus/app1 --subject "$amd64" sbom provenance vex scan sig-on:sbom > att.jsonl \
  || fail "attestations"
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SCOUT" --creds "ferry:$scout_pw" \
  --repo corpus/app1 --subject-registry "$REG_HUB" --subject-creds "ferry:$hub_pw" \
  --subject-repo corpus/app1 --subject "$TAG" signature > sig.jsonl || fail "signature"

# --- connected host: log in (guide step 2), copy (step 3) ------------------------
export REGISTRY_AUTH_FILE=$TEST_TMP/connected/auth.json
echo "$hub_pw" | "$FX" login -u ferry --password-stdin --plain-http "$REG_HUB" 2>/dev/null \
  || fail "login to the Hub stand-in"
echo "$scout_pw" | "$FX" login -u ferry --password-stdin --plain-http "$REG_SCOUT" 2>/dev/null \
  || fail "login to the Scout stand-in"
"$FX" -q -k k.key -o media/dhi-python.tar.zst --plain-http \
  --referrers-src "$SRC_ATT_REPO" --referrers-tgt "$REG_DEST/$DEST_REPO" \
  "$SRC_REPO:$TAG=$REG_DEST/$DEST_REPO:$TAG" 2> export.err || fail "export: $(cat export.err)"
grep -q apart export.err && fail "referrers would land apart: $(cat export.err)"
cp k.pub media/

# --- disconnected host: log in, verify, push (no --to: the recorded target) ------
export REGISTRY_AUTH_FILE=$TEST_TMP/disconnected/auth.json
echo "$dest_pw" | "$FI" login -u ferry --password-stdin --plain-http "$REG_DEST" 2>/dev/null \
  || fail "login to the destination"
"$FI" verify -p media/k.pub media/dhi-python.tar.zst > /dev/null || fail "verify"
"$FI" push -q -p media/k.pub --plain-http media/dhi-python.tar.zst > push.out \
  || fail "push to the recorded target"
grep -q "$REG_DEST/$DEST_REPO:$TAG" push.out || fail "pushed elsewhere: $(cat push.out)"

# --- the guide's check (step 4) ----------------------------------------------------
"$FI" referrers --plain-http --platform linux/amd64 "$REG_DEST/$DEST_REPO:$TAG" > check.out \
  2> check.err || fail "referrers --platform: $(cat check.err)"
grep -q "^$REG_DEST/$DEST_REPO:$TAG -> $amd64 linux/amd64\$" check.out \
  || fail "the tag and platform did not resolve to the amd64 manifest: $(cat check.out)"
grep -q "^4 referrers\$" check.out || fail "attestations on the amd64 manifest: $(cat check.out)"
for kind in application/spdx+json application/vnd.in-toto+json application/vnd.openvex+json \
  application/sarif+json; do
  grep -q "  $kind  sha256:" check.out || fail "$kind missing: $(cat check.out)"
done
"$FI" referrers --plain-http --tree --platform linux/amd64 "$REG_DEST/$DEST_REPO:$TAG" > tree.out \
  || fail "referrers --tree"
grep -q "^5 referrers\$" tree.out || fail "the signature on the SBOM: $(cat tree.out)"
"$FI" referrers --plain-http "$REG_DEST/$DEST_REPO:$TAG" > top.out || fail "referrers of the index"
grep -q "^1 referrer\$" top.out && grep -q "cosign" top.out || fail "the index's signature: $(cat top.out)"
# the same digests as the source
[ "$(digest_of "$REG_DEST" "$DEST_REPO:$TAG" "ferry:$dest_pw")" = \
  "$(digest_of "$REG_HUB" "corpus/app1:$TAG" "ferry:$hub_pw")" ] || fail "the index digest changed"
pass "the guide's regctl workflow, across the gap, with logins and its check"
