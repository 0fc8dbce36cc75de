#!/usr/bin/env bash
# Media that fits (issue 12): export checks the free space of the output's
# file system against the most the bundle can take before it downloads any
# layer, says how much is needed, and leaves nothing behind; a bundle that
# fits is written. Needs a small tmpfs (root); skipped without one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require /usr/bin/time
PY=/usr/bin/python3

start_registry SRC anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
cd "$TEST_TMP"
mount_tmpfs "$TEST_TMP/small" 2m || skip "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"
mount_tmpfs "$TEST_TMP/big" 32m || fail "mount a second tmpfs"
log=$REG_SRC_LOG
before=$(grep -c '"GET /v2/[^ ]*/blobs/' "$log" || true)

set +e
"$FX" -k k.key -o small/b.tar.zst --plain-http "$REG_SRC/corpus/app0:1.0" 2> small.err
rc=$?
set -e
[ $rc = 2 ] || fail "export onto a full file system: exit $rc, want 2: $(cat small.err)"
grep -q "write small/b.tar.zst: the bundle needs up to [0-9]* bytes and its file system has [0-9]* free: nothing was downloaded" small.err ||
  fail "no clear message: $(cat small.err)"
[ -z "$(ls -A small)" ] || fail "something was left on the file system: $(ls -A small)"
# configs are read by the resolve (a few hundred bytes); no layer was fetched
big_gets=$({ grep '"GET /v2/[^ ]*/blobs/' "$log" || true; } | tail -n +$((before + 1)) |
  awk '{ if ($(NF-2) + 0 > 65536) n++ } END { print n + 0 }')
[ "$big_gets" = 0 ] || fail "$big_gets layers were downloaded before the space check"

"$FX" -q -k k.key -o big/b.tar.zst --plain-http "$REG_SRC/corpus/app0:1.0" || fail "export that fits"
"$FI" verify -q -p k.pub big/b.tar.zst || fail "the bundle that fit does not verify"

# -o -: the bundle on stdout, its statement signed inside, no detached
# signature; what a diode's receiver writes to a file verifies and pushes
start_registry DST anon
"$FX" -k k.key -o - --plain-http "$REG_SRC/corpus/app0:1.0" "$REG_SRC/corpus/app1:2.0" \
  > stream.tar.zst 2> stream.err || fail "export to stdout: $(cat stream.err)"
[ ! -e ./-.minisig ] && [ ! -e ./- ] || fail "-o - wrote a file named -"
[ "$(zstd -dc stream.tar.zst | tar -tf - | head -2 | tr '\n' ' ')" = "ferry.json ferry.json.minisig " ] ||
  fail "the stream does not start with the signed statement"
"$FI" verify -q -p k.pub stream.tar.zst || fail "the streamed bundle does not verify"
"$FI" push -q -p k.pub --plain-http --to "$REG_DST/m" stream.tar.zst > /dev/null || fail "push the streamed bundle"
[ "$(digest_of "$REG_DST" m/corpus/app1:2.0)" = "$(digest_of "$REG_SRC" corpus/app1:2.0)" ] ||
  fail "the streamed bundle did not land"
# verify - and list - read a stream once, front to back; a stream cut short
# or with bytes after it is refused; push - says it cannot yet
"$FX" -k k.key -o - --plain-http "$REG_SRC/corpus/app0:1.0" 2>/dev/null |
  "$FI" verify -p k.pub - > vstream.out || fail "export -o - | verify -"
grep -q "^-: ok: signed by key" vstream.out || fail "verify -: $(cat vstream.out)"
"$FI" list -p k.pub - < stream.tar.zst | grep -q "corpus/app1:2.0" || fail "list -"
size=$(stat -c %s stream.tar.zst)
for cut in 100 $((size / 2)) $((size - 1)); do
  set +e
  head -c "$cut" stream.tar.zst | "$FI" verify -p k.pub - > /dev/null 2> cutv.err
  rc=$?
  set -e
  [ $rc = 1 ] || fail "a stream cut at $cut bytes: exit $rc, want 1: $(cat cutv.err)"
done
set +e
(cat stream.tar.zst; printf x) | "$FI" verify -p k.pub - > /dev/null 2> extra.err
rc=$?
set -e
[ $rc = 1 ] && grep -q "data after the seek table" extra.err || fail "a byte after the stream: exit $rc: $(cat extra.err)"

# export -o - | push -: round trip, verified as it streams, pushed from a
# private spool; cut short, nothing is pushed; no room for the spool, said
# before anything is pushed
start_registry PIPE anon
"$FX" -k k.key -o - --plain-http "$REG_SRC/corpus/app0:1.0" "$REG_SRC/corpus/app1:2.0" 2>/dev/null |
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=0:malloc_context_size=2" \
    /usr/bin/time -f "%M" -o pipe.rss "$FI" push -p k.pub --plain-http --to "$REG_PIPE/p" - \
    > pipe.out 2> pipe.err || fail "export -o - | push -: $(cat pipe.err)"
[ "$(tail -1 pipe.rss)" -lt $((64 * 1024)) ] || fail "push - peak RSS $(tail -1 pipe.rss) KiB, 64 MiB or more"
for r in corpus/app0:1.0 corpus/app1:2.0; do
  [ "$(digest_of "$REG_PIPE" "p/$r")" = "$(digest_of "$REG_SRC" "$r")" ] || fail "push - did not land $r"
done
$PY "$FERRY_SOURCE_DIR/tests/tools/regcheck.py" "$REG_PIPE" > /dev/null || fail "push - left incomplete content"
start_registry PIPE2 anon
set +e
head -c $((size - 100)) stream.tar.zst | "$FI" push -p k.pub --plain-http --to "$REG_PIPE2/p" - > /dev/null 2> pcut.err
rc=$?
TMPDIR=$TEST_TMP/small "$FI" push -p k.pub --plain-http --to "$REG_PIPE2/p" - < stream.tar.zst > /dev/null 2> proom.err
rc2=$?
set -e
[ $rc = 1 ] || fail "push - of a cut stream: exit $rc, want 1: $(cat pcut.err)"
[ $rc2 = 2 ] && grep -q "needs up to [0-9]* bytes of spool in TMPDIR" proom.err ||
  fail "push - without room for the spool: exit $rc2: $(cat proom.err)"
[ "$(curl -fsS "http://$REG_PIPE2/v2/_catalog")" = '{"repositories":[]}' ] ||
  fail "a refused push - wrote something: $(curl -fsS "http://$REG_PIPE2/v2/_catalog")"
[ -z "$(ls -A "$TEST_TMP/small")" ] || fail "a spool was left behind: $(ls -A "$TEST_TMP/small")"
# a target path no registry takes is said before anything is written
long=$(printf 'p%.0s' $(seq 250))
set +e
"$FI" push -p k.pub --plain-http --to "$REG_DST/$long" stream.tar.zst > /dev/null 2> long.err
rc=$?
set -e
[ $rc = 2 ] && grep -q "longer than the 255 characters registries accept" long.err ||
  fail "a target path over 255 characters: exit $rc: $(cat long.err)"
[ "$(curl -fsS "http://$REG_DST/v2/_catalog")" = '{"repositories":["m/corpus/app0","m/corpus/app1","m/ferry-state"]}' ] ||
  fail "a refused push wrote something: $(curl -fsS "http://$REG_DST/v2/_catalog")"
# the reader goes away: the export stops with an error, it does not hang
set +e
timeout 60 "$FX" -k k.key -o - --plain-http "$REG_SRC/corpus/app0:1.0" 2> cut.err | head -c 1000 > /dev/null
rc=${PIPESTATUS[0]}
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "export into a closed pipe: exit $rc: $(cat cut.err)"
grep -q "Broken pipe" cut.err || fail "export into a closed pipe: $(cat cut.err)"
pass "space checked before any layer is downloaded; bundles written to stdout, verified and pushed from stdin"
