#!/usr/bin/env bash
# Command-line contract without a registry: exit codes (0 ok, 1 verification,
# 2 error, 64 usage), messages that name the object, password-protected keys,
# and keys made by minisign itself.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
FX=$FERRY_BIN_DIR/export/ferry-export
FI=$FERRY_BIN_DIR/import/ferry-import
[ -x "$FX" ] && [ -x "$FI" ] || fail "ferry binaries not built in $FERRY_BIN_DIR"
cd "$TEST_TMP"

# expect CODE PATTERN CMD...: exit code and a stderr line matching PATTERN
expect() {
  local want=$1 pat=$2 rc=0; shift 2
  "$@" >out 2>err </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(cat err)"
  grep -Eq -- "$pat" err || fail "'$*': stderr does not match /$pat/: $(cat err)"
}

"$FX" keygen -W -p k.pub -s k.key >/dev/null 2>&1 || fail "keygen -W"
expect 64 "missing -k" "$FX" -o x.tar.zst 127.0.0.1:1/a:1
expect 64 "missing -o" "$FX" -k k.key 127.0.0.1:1/a:1
expect 64 "no image reference" "$FX" -k k.key -o x.tar.zst
expect 64 "^ferry-export: unrecognized option '--bogus'$" "$FX" --bogus
# one line naming the problem, one hint naming the command's help; nothing else
[ "$(wc -l < err)" = 2 ] && grep -q "^Try 'ferry-export --help'" err || fail "usage error shape: $(cat err)"
expect 64 "^ferry-import: option '--to' needs a value$" "$FI" push --to
grep -q "^Try 'ferry-import push --help'" err || fail "hint names the subcommand: $(cat err)"
expect 64 "^ferry-import: unrecognized option '-Z'$" "$FI" verify -Z x
expect 64 "^ferry-export: unrecognized option '--nope'$" "$FX" plan --nope
# --version and help on both tools
for t in "$FX" "$FI"; do
  for v in --version version; do
    "$t" "$v" > out 2>err || fail "$t $v failed: $(cat err)"
    grep -Eq "^ferry-(export|import) [0-9]+\.[0-9]+\.[0-9]+$" out || fail "$t $v: $(cat out)"
    grep -q "^bundle format 1 to 4$" out || fail "$t $v: no bundle format: $(cat out)"
    grep -q "^libraries: libcurl .*libarchive .*libzstd .*jansson .*libsodium .*OpenSSL" out \
      || fail "$t $v: libraries: $(cat out)"
  done
done
grep -q "libyaml .*PCRE2" <("$FX" --version) || fail "ferry-export --version: no libyaml, PCRE2"
"$FX" help > out 2>err || fail "ferry-export help: $(cat err)"
grep -q "^usage: ferry-export" out || fail "ferry-export help: $(cat out)"
"$FI" help > out 2>err || fail "ferry-import help: $(cat err)"
grep -q "push -p PUBKEY \[--to" out || fail "ferry-import help shows --to as required: $(cat out)"
expect 64 "level" "$FX" -k k -o o --level 99 a
expect 64 "needs --password-stdin" "$FX" -k k -o o --username u a
expect 64 "missing -p" "$FI" verify x.tar.zst
expect 64 "unknown command" "$FI" frobnicate
expect 64 "exactly one BUNDLE" "$FI" list a b
expect 2 "open.*nope.key" "$FX" -k nope.key -o o.tar.zst 127.0.0.1:1/a:1

# unencrypted key pair; files exist -> refuse; -f overwrites; secret key 0600
[ "$(stat -c %a k.key)" = 600 ] || fail "secret key mode is $(stat -c %a k.key)"
expect 2 "k\.(key|pub)" "$FX" keygen -W -p k.pub -s k.key
"$FX" keygen -W -f -p k.pub -s k.key >/dev/null 2>&1 || fail "keygen -f"

# a bad reference is a usage error naming it and the accepted forms
expect 64 'reference "NOT//VALID" is not valid: give HOST\[:PORT\]/REPO:TAG' "$FX" -k k.key -o o.tar.zst "NOT//VALID"
expect 64 "give it without a scheme .*--plain-http" "$FX" plan "http://127.0.0.1:5000/a:1"
# nothing listening: an operational error naming the registry, and no bundle
port=$(ferry_free_port)
expect 2 "127.0.0.1:$port" "$FX" -k k.key -o o.tar.zst --plain-http "127.0.0.1:$port/a/b:1"
[ ! -e o.tar.zst ] || fail "a failed export left a bundle"
ls | grep -q 'o.tar.zst.tmp' && fail "a failed export left a temporary file"

# not a bundle / missing file
echo "hello" > junk.tar.zst
expect 1 "junk.tar.zst" "$FI" verify -p k.pub junk.tar.zst
expect 2 "missing.tar.zst" "$FI" verify -p k.pub missing.tar.zst
echo "not a key" > bad.pub
expect 2 "bad.pub" "$FI" verify -p bad.pub junk.tar.zst

# password-protected key: keygen and use, with the password from files
printf 'correct horse battery\n' > pw
"$FX" keygen -p e.pub -s e.key --password-file pw >/dev/null 2>&1 || fail "keygen with password"
grep -q "encrypted" e.key || fail "secret key is not marked encrypted"
printf 'wrong\n' > badpw
expect 2 "password" "$FX" -k e.key --key-password-file badpw -o o.tar.zst --plain-http \
  "127.0.0.1:$port/a/b:1"
# the right password gets past the key and fails later, at the registry
expect 2 "127.0.0.1:$port" "$FX" -k e.key --key-password-file pw -o o.tar.zst --plain-http \
  "127.0.0.1:$port/a/b:1"
grep -q "correct horse" err && fail "the key password appears in stderr"
# no password file and no terminal (setsid: no controlling terminal): the fix is named
expect 2 "no terminal to ask its password on: give --key-password-file FILE" \
  setsid -w "$FX" -k e.key -o o.tar.zst --plain-http "127.0.0.1:$port/a/b:1"

# minisign's own key pair verifies with ferry, and ferry's signatures with minisign
if command -v minisign >/dev/null 2>&1; then
  minisign -G -W -p m.pub -s m.key >/dev/null 2>&1 || fail "minisign -G"
  echo data > f
  minisign -S -s m.key -m f >/dev/null 2>&1 </dev/null || fail "minisign -S with its own key"
  [ -s f.minisig ] || fail "minisign wrote no signature"
fi
pass "cli"
