#!/usr/bin/env bash
# The README's main job, scripts/demo.sh, runs to the end with this build, and
# leaves nothing running: not when it is done, not when it is interrupted
# (Ctrl-C, as SIGINT to its process group) or terminated while its registries
# serve. The same holds for the integration tests' harness.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
demo=$FERRY_SOURCE_DIR/scripts/demo.sh

# alive DIR: the registry processes the demo recorded under DIR still running
alive() {
  local f n=0
  for f in "$1"/*/registry.pid; do
    [ -f "$f" ] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

wait_registries() { # DIR: until both registries answered (their pid files exist)
  for _ in $(seq 300); do
    [ -f "$1/disconnected/registry.pid" ] && [ "$(alive "$1")" = 2 ] && return 0
    sleep 0.1
  done
  fail "the demo's registries did not start: $(tail -5 "$1.log")"
}

# 1. to the end
FERRY_DEMO_BIN=$FERRY_BIN_DIR FERRY_DEMO_DIR=$TEST_TMP/full bash "$demo" >"$TEST_TMP/full.log" 2>&1 \
  || fail "demo failed: $(tail -20 "$TEST_TMP/full.log")"
grep -q "demo: done" "$TEST_TMP/full.log" || fail "demo did not finish"
grep -q "DIFFERENT" "$TEST_TMP/full.log" && fail "demo: an image arrived with another digest"
[ "$(ls "$TEST_TMP"/full/*/registry.pid | wc -l)" = 2 ] || fail "demo did not record its registries"
[ "$(alive "$TEST_TMP/full")" = 0 ] || fail "demo left $(alive "$TEST_TMP/full") registries running"
echo "ok: demo ran to the end and stopped its registries"

# 2. Ctrl-C and SIGTERM while the registries serve
for sig in INT TERM; do
  d=$TEST_TMP/$sig
  set -m # the demo gets a process group of its own, as in a terminal
  FERRY_DEMO_BIN=$FERRY_BIN_DIR FERRY_DEMO_DIR=$d bash "$demo" >"$d.log" 2>&1 &
  pid=$!
  set +m
  wait_registries "$d"
  if [ "$sig" = INT ]; then
    kill -INT -- "-$pid"
  else
    kill -TERM "$pid"
  fi
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" != 0 ] || fail "demo exited 0 after SIG$sig"
  for _ in $(seq 50); do
    [ "$(alive "$d")" = 0 ] && break
    sleep 0.1
  done
  [ "$(alive "$d")" = 0 ] || fail "after SIG$sig the demo left $(alive "$d") registries running"
  echo "ok: SIG$sig: demo exited $rc and stopped its registries"
done
# 3. the integration tests' own harness (lib.sh): a test interrupted while
#    its registry serves stops it too
cat > "$TEST_TMP/harness.sh" <<'SH'
. "$FERRY_SOURCE_DIR/tests/integration/lib.sh"
start_registry H anon
echo "$REG_H_PID" > "$HARNESS_PIDFILE"
sleep 60
SH
for sig in INT TERM; do
  rm -f "$TEST_TMP/h.pid"
  set -m
  HARNESS_PIDFILE=$TEST_TMP/h.pid TMPDIR=$TEST_TMP bash "$TEST_TMP/harness.sh" > "$TEST_TMP/h.log" 2>&1 &
  pid=$!
  set +m
  for _ in $(seq 300); do [ -s "$TEST_TMP/h.pid" ] && break; sleep 0.1; done
  [ -s "$TEST_TMP/h.pid" ] || fail "the harness did not start its registry: $(cat "$TEST_TMP/h.log")"
  reg=$(cat "$TEST_TMP/h.pid")
  kill -0 "$reg" || fail "the harness's registry is not running"
  kill -"$sig" -- "-$pid"
  wait "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$reg" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$reg" 2>/dev/null && fail "after SIG$sig a test left its registry running"
  echo "ok: SIG$sig: a test's harness stopped its registry"
done
pass "the demo and the test harness stop everything they start"
