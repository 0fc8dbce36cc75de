#!/usr/bin/env bash
# The registry client follows Link pages the same way for tag lists and the
# referrers API (registry/registry.c reg_call_pages): relative and absolute
# links, every page taken once, and a link back to the same page refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ferry_require "$FERRY_PYTHON"
[ -x "$FERRY_REGTOOL" ] || skip "regtool not built"
cd "$TEST_TMP"
port=$(ferry_free_port)
"$FERRY_PYTHON" "$FERRY_SOURCE_DIR/tests/tools/pages_server.py" --port "$port" 2>pages.log &
ferry_track_pid $!
ferry_wait_http "http://127.0.0.1:$port/v2/" 20 || fail "pages server did not start"
rt() { "$FERRY_REGTOOL" --plain-http "127.0.0.1:$port" "$@"; }

rt tags lib/app >tags.out || fail "tags over relative links"
[ "$(tr '\n' ' ' <tags.out)" = "t0 t1 t2 t3 t4 t5 " ] || fail "tags: $(cat tags.out)"
rt tags absolute >abs.out || fail "tags over absolute links"
cmp -s tags.out abs.out || fail "absolute links: $(cat abs.out)"
rc=0
rt tags loop >loop.out 2>loop.err || rc=$?
[ $rc = 2 ] && grep -q "FERRY_E_INVALID: list tags 127.0.0.1:$port/loop: link points at the same page" loop.err ||
  fail "a tag page linking to itself: rc $rc, $(cat loop.err)"

d=sha256:$(printf 'x' | sha256sum | cut -d' ' -f1)
rt referrers lib/app "$d" >refs.json || fail "referrers over two pages"
"$FERRY_PYTHON" -c '
import json, sys
m = json.load(open("refs.json"))["manifests"]
assert [x["size"] for x in m] == [101, 102, 103], m' || fail "referrers pages not merged: $(cat refs.json)"
rc=0
rt referrers loop "$d" >rloop.out 2>rloop.err || rc=$?
[ $rc = 2 ] && grep -q "link points at the same page" rloop.err ||
  fail "a referrers page linking to itself: rc $rc, $(cat rloop.err)"
pass "pages"
