#!/usr/bin/env bash
# The Debian package: a Release build of the tree, 'cpack -G DEB', then the
# .deb's name, its Depends (computed by dpkg-shlibdeps from the linked
# libraries), its files, and the programs extracted from it run. Also
# 'cmake --install' into a prefix puts the same files in the GNU layout.
# Most of the time is the build (about 15 s on 2 cores; ccache when present).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
ferry_require cmake cpack dpkg-deb dpkg-shlibdeps dpkg
cd "$TEST_TMP"

b=$TEST_TMP/build
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$FERRY_SOURCE_DIR" -B "$b" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF \
  "${launcher[@]}" >configure.log 2>&1 || fail "configure: $(tail -n 20 configure.log)"
cmake --build "$b" -j2 >build.log 2>&1 || fail "build: $(tail -n 20 build.log)"
(cd "$b" && cpack -G DEB) >cpack.log 2>&1 || fail "cpack -G DEB: $(tail -n 20 cpack.log)"

ver=$("$b/export/ferry-export" --version | sed -n '1s/^ferry-export //p')
deb=$b/ferry_${ver}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || fail "no $(basename "$deb"): $(ls "$b"/*.deb 2>/dev/null)"

dpkg-deb -I "$deb" >info || fail "dpkg-deb -I failed"
for f in "Package: ferry" "Version: $ver" "Section: admin" "Maintainer: " \
    "Description: "; do
  grep -q "^ $f" info || fail "control has no '$f': $(cat info)"
done
depends=$(sed -n 's/^ Depends: //p' info)
for lib in libcurl4 libarchive13 libjansson4 libsodium23 libzstd1 'libssl3(t64)?' \
    libyaml-0-2 libpcre2-8-0; do
  grep -Eq "(^|, )$lib( \(|,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./||' >files || fail "dpkg-deb -c failed"
for f in usr/bin/ferry-export usr/bin/ferry-import \
    usr/share/bash-completion/completions/ferry-export \
    usr/share/bash-completion/completions/ferry-import \
    usr/share/zsh/vendor-completions/_ferry-export usr/share/zsh/vendor-completions/_ferry-import \
    usr/share/fish/vendor_completions.d/ferry-export.fish \
    usr/share/fish/vendor_completions.d/ferry-import.fish \
    usr/share/doc/ferry/copyright usr/share/doc/ferry/LICENSE usr/share/doc/ferry/README.md \
    usr/share/doc/ferry/CLI.md usr/share/doc/ferry/FORMAT.md; do
  grep -qx "$f" files || fail "the package lacks $f"
done
for f in man1/ferry-export.1 man1/ferry-import.1 man5/ferry-bundle.5; do
  grep -Eqx "usr/share/man/$f(\.gz)?" files || fail "the package lacks usr/share/man/$f"
done

dpkg-deb -x "$deb" root || fail "dpkg-deb -x failed"
for p in ferry-export ferry-import; do
  root/usr/bin/$p --version >"$p.out" 2>&1 || fail "extracted $p --version: $(cat "$p.out")"
  grep -qx "$p $ver" "$p.out" || fail "extracted $p --version: $(cat "$p.out")"
done

cmake --install "$b" --prefix "$TEST_TMP/prefix" >install.log 2>&1 ||
  fail "cmake --install: $(tail -n 20 install.log)"
(cd prefix && find . -type f | sed 's|^\./||' | sort) >installed
(sed -n 's|^usr/||p' files | sort | while read -r f; do [ -f "root/usr/$f" ] && echo "$f"; done) \
  >packaged
diff packaged installed >install.diff || fail "cmake --install differs from the package: $(cat install.diff)"
pass "$(basename "$deb"), Depends: $depends"
