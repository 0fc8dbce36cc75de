#!/usr/bin/env bash
# scripts/check-layering.py: the source tree keeps the rules of
# docs/internals/README.md, and the checker finds each kind of violation (and
# nothing in comments or strings) in a small tree made for it.
set -euo pipefail
src=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=${FERRY_PYTHON:-/usr/bin/python3}
check=$src/scripts/check-layering.py
fail() { echo "FAIL: test_layering: $*" >&2; exit 1; }

"$py" "$check" --root "$src" || fail "the source tree breaks a layering rule"

t=$(mktemp -d "${TMPDIR:-/tmp}/ferry-layering.XXXXXX")
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/docs/internals" "$t/oci-layout" "$t/registry" "$t/import" "$t/export/cli" "$t/tests"
cp "$src/docs/internals/README.md" "$t/docs/internals/"
cat >"$t/oci-layout/ok.c" <<'C'
#include "ferry/util.h"
/* ferry_registry_new(x) in a comment is fine */
static const char *s = "ferry_registry_new(";
C
cat >"$t/oci-layout/bad.c" <<'C'
#include "ferry/registry.h"
int f(void) { return ferry_registry_ping(0, 0); }
#include "registry_int.h"
int f2(void) { return reg_call_send(0, 0, 0, 0); }
C
cat >"$t/registry/bad.c" <<'C'
#include <archive.h>
void g(void) { ferry_bundle_writer_free(0); }
void g2(void) { cli_warn("x"); }
C
cat >"$t/import/bad.c" <<'C'
#include "ferry/export.h"
int h(void) { return export_resolve(0, 0, 0, 0, 0); }
#include "tagfilter_int.h"
int h2(void) { return ytree_load(0, 0, 0, 0); }
C
cat >"$t/import/ok.c" <<'C'
#include "refetch_int.h"
#include "ferry/registry.h"
int k(void) { return ferry_registry_ping(0, 0); }
C
cat >"$t/export/cli/bad.c" <<'C'
#include "export_int.h"
C
cat >"$t/tests/ignored.c" <<'C'
#include "ferry/registry.h"
C
rc=0
"$py" "$check" --root "$t" 2>"$t/out" || rc=$?
[ $rc = 1 ] || fail "want exit 1 for a tree with violations, got $rc: $(cat "$t/out")"
for want in "oci-layout/bad.c:1: includes ferry/registry.h" "oci-layout/bad.c:2: calls ferry_registry_ping" \
    "oci-layout/bad.c:3: includes registry_int.h" "oci-layout/bad.c:4: calls reg_call_send" \
    "registry/bad.c:1: includes archive.h" "registry/bad.c:2: calls ferry_bundle_writer_free" \
    "registry/bad.c:3: calls cli_warn" \
    "import/bad.c:1: includes ferry/export.h" "import/bad.c:2: calls export_resolve" \
    "import/bad.c:3: includes tagfilter_int.h" "import/bad.c:4: calls ytree_load" \
    "export/cli/bad.c:1: includes export_int.h"; do
    grep -qF "$want" "$t/out" || fail "not reported: $want ($(cat "$t/out"))"
done
! grep -q "ok.c\|tests/ignored.c" "$t/out" ||
  fail "reported a comment, a string, a test or an allowed name: $(cat "$t/out")"
[ "$(grep -c ': \(includes\|calls\) ' "$t/out")" = 12 ] || fail "want 12 violations: $(cat "$t/out")"
rc=0
"$py" "$check" --root "$t" --rules /dev/null 2>"$t/out" || rc=$?
[ $rc = 2 ] || fail "want exit 2 without rules, got $rc"
echo "PASS: test_layering"
