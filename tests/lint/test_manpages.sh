#!/usr/bin/env bash
# man/: every page renders without a warning from man or groff and has the
# sections a reader looks for; every command and option the programs' --help
# prints is described in the matching page, so the pages keep up with the code.
# Skips (77) without man and groff, or without built programs for the second part.
set -euo pipefail
src=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${FERRY_BIN_DIR:-$src/build}
fail() { echo "FAIL: test_manpages: $*" >&2; exit 1; }
skip() { echo "SKIP: test_manpages: $*" >&2; exit 77; }

pages=(ferry-export.1 ferry-import.1 ferry-bundle.5)
have_man=no have_groff=no
command -v man >/dev/null 2>&1 && have_man=yes
command -v groff >/dev/null 2>&1 && have_groff=yes
[ $have_man = yes ] || [ $have_groff = yes ] || skip "neither man nor groff is installed"

t=$(mktemp -d "${TMPDIR:-/tmp}/ferry-manpages.XXXXXX")
trap 'rm -rf "$t"' EXIT

for p in "${pages[@]}"; do
  f=$src/man/$p
  [ -f "$f" ] || fail "man/$p is missing"
  if [ $have_man = yes ]; then
    man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>"$t/err" >/dev/null ||
      fail "man cannot render man/$p: $(cat "$t/err")"
    [ ! -s "$t/err" ] || fail "man/$p renders with warnings: $(cat "$t/err")"
  fi
  if [ $have_groff = yes ]; then
    groff -man -ww -z "$f" 2>"$t/err" || fail "groff cannot render man/$p: $(cat "$t/err")"
    [ ! -s "$t/err" ] || fail "man/$p renders with warnings: $(cat "$t/err")"
  fi
  want="NAME|SYNOPSIS|DESCRIPTION|EXAMPLES|SEE ALSO"
  case $p in *.1) want="$want|OPTIONS|EXIT STATUS|ENVIRONMENT" ;; esac
  IFS='|' read -ra secs <<<"$want"
  for s in "${secs[@]}"; do
    grep -qx "\.SH \"\?$s\"\?" "$f" || fail "man/$p has no $s section"
  done
done

# The page's text as a reader types it: \- is -, no font changes or comments.
plain() {
  grep -v '^\.\\"' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\[&%]//g' -e 's/\\~/ /g'
}
# mentions FILE WORD: WORD stands in FILE on its own (not inside a longer option)
mentions() {
  grep -Eq -- "(^|[^-[:alnum:]])$2([^-[:alnum:]]|$)" "$1"
}
# check_help PAGE TEXT-FILE: every option in the help text is in the page
check_help() {
  local page=$1 help=$2 o
  for o in $(grep -oE -- '--[a-z][a-z0-9-]+' "$help" | sort -u) \
      $(grep -oE -- '(^|[[ ])-[A-Za-z]([], ]|$)' "$help" | grep -oE -- '-[A-Za-z]' | sort -u); do
    mentions "$t/$page" "$o" || fail "man/$page does not describe $o ($(head -n 1 "$help"))"
  done
}

fx=$bin/export/ferry-export
fi=$bin/import/ferry-import
if ! [ -x "$fx" ] || ! [ -x "$fi" ]; then
  skip "pages render; ferry-export and ferry-import are not built in $bin"
fi
for p in "${pages[@]}"; do plain "$src/man/$p" >"$t/$p"; done

"$fx" --help >"$t/export.help" || fail "ferry-export --help failed"
check_help ferry-export.1 "$t/export.help"
cmds=$(sed -n 's/^ *\(usage: \)\?ferry-export \([a-z][a-z]*\) .*/\2/p' "$t/export.help" | sort -u)
[ -n "$cmds" ] || fail "no commands found in ferry-export --help"
for c in $cmds; do
  mentions "$t/ferry-export.1" "$c" || fail "man/ferry-export.1 does not describe the command $c"
  "$fx" "$c" --help >"$t/export-$c.help" || fail "ferry-export $c --help failed"
  check_help ferry-export.1 "$t/export-$c.help"
done

"$fi" --help >"$t/import.help" || fail "ferry-import --help failed"
check_help ferry-import.1 "$t/import.help"
cmds=$(sed -n 's/^  \([a-z][a-z]*\)[ ,].*/\1/p' "$t/import.help" | grep -vx version | sort -u)
[ -n "$cmds" ] || fail "no commands found in ferry-import --help"
for c in $cmds; do
  mentions "$t/ferry-import.1" "ferry-import $c" ||
    grep -q "^$c " "$t/ferry-import.1" || fail "man/ferry-import.1 does not describe the command $c"
  "$fi" "$c" --help >"$t/import-$c.help" || fail "ferry-import $c --help failed"
  check_help ferry-import.1 "$t/import-$c.help"
done
echo "PASS: test_manpages"
