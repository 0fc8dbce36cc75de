#!/usr/bin/env bash
# completions/: the bash scripts parse and complete commands, options and
# bundles (with and without bash-completion's helpers); the zsh and fish ones
# parse when those shells are installed (fish also completes); every option
# the programs' --help prints is offered by each shell.
set -euo pipefail
src=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${FERRY_BIN_DIR:-$src/build}
fail() { echo "FAIL: test_completions: $*" >&2; exit 1; }
c=$src/completions

files=(bash/ferry-export bash/ferry-import zsh/_ferry-export zsh/_ferry-import
  fish/ferry-export.fish fish/ferry-import.fish)
for f in "${files[@]}"; do
  [ -f "$c/$f" ] || fail "completions/$f is missing"
done
for f in bash/ferry-export bash/ferry-import; do
  bash -n "$c/$f" 2>&1 || fail "completions/$f does not parse"
done
notes=()
if command -v zsh >/dev/null 2>&1; then
  for f in zsh/_ferry-export zsh/_ferry-import; do
    zsh -n "$c/$f" 2>&1 || fail "completions/$f does not parse"
  done
else
  notes+=("zsh not installed")
fi
if command -v fish >/dev/null 2>&1; then
  for f in fish/ferry-export.fish fish/ferry-import.fish; do
    fish -n "$c/$f" 2>&1 || fail "completions/$f does not parse"
  done
else
  notes+=("fish not installed")
fi

t=$(mktemp -d "${TMPDIR:-/tmp}/ferry-completions.XXXXXX")
trap 'rm -rf "$t"' EXIT
mkdir "$t/dir"
touch "$t/a.tar.zst" "$t/b.txt" "$t/c.yaml"

# complete [bc] WORDS...: what bash offers for the last word, space-separated;
# with bc, bash-completion is loaded first
complete_bash() {
  local init=""
  if [ "$1" = bc ]; then
    init=". /usr/share/bash-completion/bash_completion"
  fi
  shift
  (cd "$t" && bash --norc --noprofile -c "$init"'
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    fn=_${1//-/_}; $fn
    [ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
    _ "$c/bash/$1" "$@")
}
# expect_bash MODE WANT WORDS...
expect_bash() {
  local mode=$1 want=$2 got
  shift 2
  got=$(complete_bash "$mode" "$@")
  [ "$got" = "$want" ] || fail "bash ($mode) '$*': got '$got', want '$want'"
}
modes=(plain)
if [ -r /usr/share/bash-completion/bash_completion ]; then
  modes+=(bc)
else
  notes+=("bash-completion not installed")
fi
for m in "${modes[@]}"; do
  expect_bash "$m" "plan " ferry-export pl
  expect_bash "$m" "--key --key-password-file " ferry-export --ke
  expect_bash "$m" "c.yaml dir " ferry-export -c ""
  expect_bash "$m" "--force " ferry-export keygen --fo
  expect_bash "$m" "push " ferry-import pu
  expect_bash "$m" "--to --trusted-root " ferry-import push --t
  expect_bash "$m" "a.tar.zst dir " ferry-import verify -p k.pub ""
  expect_bash "$m" "a.tar.zst b.txt c.yaml dir " ferry-import list -p ""
  expect_bash "$m" "" ferry-import referrers ""
done

if command -v fish >/dev/null 2>&1; then
  got=$(cd "$t" && fish --no-config -c "source $c/fish/ferry-import.fish
    complete -C'ferry-import pu'; complete -C'ferry-import push --t'" | cut -f1 | tr '\n' ' ')
  [ "$got" = "push --to --trusted-root " ] || fail "fish: got '$got', want 'push --to --trusted-root '"
fi

# Every option of every --help is offered (fish writes --name as -l name).
fx=$bin/export/ferry-export
fi=$bin/import/ferry-import
if ! [ -x "$fx" ] || ! [ -x "$fi" ]; then
  echo "SKIP: test_completions: scripts parse; ferry-export and ferry-import are not built in $bin" >&2
  exit 77
fi
{
  "$fx" --help
  "$fx" plan --help
  "$fx" keygen --help
} >"$t/export.help" || fail "ferry-export --help failed"
"$fi" --help >"$t/import.help" || fail "ferry-import --help failed"
for cmd in verify list push referrers; do
  "$fi" "$cmd" --help >>"$t/import.help" || fail "ferry-import $cmd --help failed"
done
for prog in export import; do
  for o in $(grep -oE -- '--[a-z][a-z0-9-]+' "$t/$prog.help" | sort -u); do
    for f in bash/ferry-$prog zsh/_ferry-$prog; do
      grep -Eq -- "(^|[^-[:alnum:]])$o([^-[:alnum:]]|$)" "$c/$f" ||
        fail "completions/$f does not offer $o"
    done
    grep -Eq -- "-l ${o#--}( |$)" "$c/fish/ferry-$prog.fish" ||
      fail "completions/fish/ferry-$prog.fish does not offer $o"
  done
done
echo "PASS: test_completions${notes[*]:+ (${notes[*]})}"
