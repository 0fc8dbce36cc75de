#!/usr/bin/env bash
# Tampered bundles are rejected with exit code 1, a message naming what failed,
# and no tag in the target registry: flipped bytes at several offsets, a
# statement re-signed by another key, a blob removed, an extra member, a wrong
# trusted key. push checks each blob as it uploads it (one pass): a bad blob
# stops it with no manifest or tag written, though blobs uploaded before may
# remain; push --verify-first reads everything first and writes nothing at all.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools

start_registry SRC anon
start_registry DST anon
start_registry ONE anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
make_keys "$TEST_TMP/other"
good=$TEST_TMP/good.tar.zst
"$FX" -q -k "$TEST_TMP/k.key" -o "$good" --plain-http "$REG_SRC/corpus/app0:1.0" \
  "$REG_SRC/corpus/base:latest" || fail "export failed"

# no_tags_in_target: the target registry must have no repository at all
no_tags_in_target() {
  local cat
  cat=$(curl -fsS "http://$REG_DST/v2/_catalog") || fail "catalog of target"
  [ "$cat" = '{"repositories":[]}' ] || fail "$1: target changed: $cat"
}

# no manifest and no tag in the target (blobs uploaded before a bad one
# was met may remain: unreferenced, invisible by tag)
no_manifests_in_target() { # WHAT PREFIX
  local repo
  for repo in $(curl -fsS "http://$REG_DST/v2/_catalog" | /usr/bin/python3 -c 'import json,sys; print(*json.load(sys.stdin)["repositories"])' | tr ' ' '\n' | grep "^$2/"); do
    curl -fsS "http://$REG_DST/v2/$repo/tags/list" 2>/dev/null | grep -q '"tags":\[\?"' &&
      fail "$1: $repo has tags: $(curl -fsS "http://$REG_DST/v2/$repo/tags/list")"
  done
  return 0
}

# expect_reject NAME BUNDLE PATTERN [keyfile]: verify and push --verify-first
# refuse it with nothing written; push (one pass) refuses it with no
# manifest or tag written. A second registry takes the one-pass pushes, each
# under a prefix of its own (a blob another case uploaded there is not read
# again: the registry holds it by its digest).
expect_reject() {
  local name=$1 b=$2 pat=$3 key=${4:-$TEST_TMP/k.pub} rc=0
  "$FI" verify -p "$key" "$b" >/dev/null 2>"$TEST_TMP/$name.verify.err" || rc=$?
  [ "$rc" = 1 ] || fail "$name: verify exit $rc, want 1: $(cat "$TEST_TMP/$name.verify.err")"
  grep -Eq "$pat" "$TEST_TMP/$name.verify.err" || fail "$name: message does not match /$pat/: $(cat "$TEST_TMP/$name.verify.err")"
  rc=0
  "$FI" push --verify-first -p "$key" --to "$REG_DST/mirror" --plain-http "$b" >/dev/null 2>"$TEST_TMP/$name.push.err" || rc=$?
  [ "$rc" = 1 ] || fail "$name: push --verify-first exit $rc, want 1: $(cat "$TEST_TMP/$name.push.err")"
  no_tags_in_target "$name"
  if [ -z "${PUSH_ACCEPTS:-}" ]; then
    rc=0
    "$FI" push -p "$key" --to "$REG_ONE/$name" --plain-http "$b" >/dev/null 2>"$TEST_TMP/$name.push1.err" || rc=$?
    [ "$rc" = 1 ] || fail "$name: push exit $rc, want 1: $(cat "$TEST_TMP/$name.push1.err")"
    REG_DST=$REG_ONE no_manifests_in_target "$name (one pass)" "$name"
  fi
  echo "ok: $name rejected: $(head -1 "$TEST_TMP/$name.verify.err")"
}

size=$(stat -c %s "$good")
# Flip one byte at several offsets: start, inside the statement frame, middle, near the end.
# The last offsets land in the data frames, then in the seek table.
for off in 0 40 200 $((size / 3)) $((size / 2)) $((size - 1000)) $((size - 20)) $((size - 3)); do
  b=$TEST_TMP/flip-$off.tar.zst
  cp "$good" "$b"
  /usr/bin/python3 -c "
import sys; f=open('$b','r+b'); f.seek($off); c=f.read(1); f.seek($off); f.write(bytes([c[0]^0x55]))"
  expect_reject "flip-$off" "$b" "ferry-import: .+"
done

# Unpack once to build structural variants. A plain repack of the untouched
# members must still verify, so each rejection below is caused by its change.
u=$TEST_TMP/unpacked
mkdir -p "$u"
zstd -dq < "$good" | tar -xf - -C "$u"
# repack OUT MEMBER...: a well-formed container (frames, seek table) in the
# given order, written by ferry's own bundle writer, unsigned.
repack() {
  local out=$1; shift
  "$FERRY_BIN_DIR/tests/bundle_repack" "$out" "$u" "$@" || fail "repack $out"
}
members() { (cd "$u" && echo ferry.json ferry.json.minisig oci-layout index.json && find blobs -type f | sort); }

repack "$TEST_TMP/same.tar.zst" $(members)
"$FI" verify -p "$TEST_TMP/k.pub" "$TEST_TMP/same.tar.zst" >/dev/null || fail "an untouched repack does not verify"

# statement re-signed by another key
cp "$u/ferry.json.minisig" "$TEST_TMP/sig.orig"
if command -v minisign >/dev/null 2>&1; then
  minisign -S -s "$TEST_TMP/other.key" -m "$u/ferry.json" -x "$u/ferry.json.minisig" >/dev/null 2>&1 </dev/null \
    || fail "minisign could not sign with ferry's -W key"
  repack "$TEST_TMP/resigned.tar.zst" $(members)
  expect_reject resigned "$TEST_TMP/resigned.tar.zst" "untrusted|not trusted|key"
fi
cp "$TEST_TMP/sig.orig" "$u/ferry.json.minisig"

# statement edited after signing
cp "$u/ferry.json" "$TEST_TMP/stmt.orig"
sed -i 's/"creator":"ferry-export/"creator":"evil-export/' "$u/ferry.json"
repack "$TEST_TMP/edited.tar.zst" $(members)
expect_reject edited "$TEST_TMP/edited.tar.zst" "signature"
cp "$TEST_TMP/stmt.orig" "$u/ferry.json"

# a blob removed
victim=$(cd "$u" && find blobs -type f -size +100k | head -1)
repack "$TEST_TMP/missing.tar.zst" $(members | grep -v "$victim")
expect_reject missing "$TEST_TMP/missing.tar.zst" "missing"

# a blob replaced by other bytes of the same size
cp "$u/$victim" "$TEST_TMP/victim.orig"
head -c "$(stat -c %s "$u/$victim")" /dev/urandom > "$u/$victim"
repack "$TEST_TMP/swapped.tar.zst" $(members)
expect_reject swapped "$TEST_TMP/swapped.tar.zst" "digest"
cp "$TEST_TMP/victim.orig" "$u/$victim"

# an extra member that the statement does not list
echo extra > "$u/blobs/sha256/extra"
repack "$TEST_TMP/extra.tar.zst" $(members)
expect_reject extra "$TEST_TMP/extra.tar.zst" "not listed"
rm "$u/blobs/sha256/extra"

# statement not first
repack "$TEST_TMP/order.tar.zst" oci-layout ferry.json ferry.json.minisig index.json $(cd "$u" && find blobs -type f | sort)
expect_reject order "$TEST_TMP/order.tar.zst" "first member"

# a truncated bundle
head -c $((size / 2)) "$good" > "$TEST_TMP/trunc.tar.zst"
expect_reject truncated "$TEST_TMP/trunc.tar.zst" "ferry-import: .+"

# an intact bundle whose detached signature (BUNDLE.minisig) was altered
cp "$good" "$TEST_TMP/dsig.tar.zst"
sed 's/^trusted comment: timestamp:/trusted comment: timestamp:9/' "$good.minisig" > "$TEST_TMP/dsig.tar.zst.minisig"
# (a one-pass push reads the statement's signature and the digests, which
# cover the same content, not BUNDLE.minisig: verify and --verify-first do)
PUSH_ACCEPTS=1 expect_reject detached-sig "$TEST_TMP/dsig.tar.zst" "detached signature"

# the good bundle with a key that did not sign it
expect_reject wrong-key "$good" "untrusted|not trusted|key" "$TEST_TMP/other.pub"

# and the untouched bundle still pushes
"$FI" push -q -p "$TEST_TMP/k.pub" --to "$REG_DST/mirror" --plain-http "$good" >/dev/null || fail "good bundle rejected"
pass "tamper"
