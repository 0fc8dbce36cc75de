#!/usr/bin/env bash
# The main job, end to end on one machine: install what is missing, build,
# start a "connected" source registry seeded from samples/ and an empty
# "disconnected" target registry (both docker-registry on 127.0.0.1), create a
# key pair, export -> (carry) -> verify -> push, and show what arrived.
# Everything lives under ./demo (kept for a look afterwards); registries stop
# when the script ends.
#
# FERRY_DEMO_DIR: where (default ./demo); FERRY_DEMO_BIN: a build directory
# with ferry already built (tests use theirs; nothing is installed or built).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo=${FERRY_DEMO_DIR:-$top/demo}
build=${FERRY_DEMO_BIN:-$top/build/release}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Every process started here is stopped when the script ends, however it
# ends: done, failed, or interrupted (Ctrl-C, SIGTERM).
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

if [ -z "${FERRY_DEMO_BIN:-}" ]; then
  say "installing what is missing and building"
  bash "$top/scripts/install-deps.sh"
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
fi
FX=$build/export/ferry-export
FI=$build/import/ferry-import

rm -rf "$demo"
mkdir -p "$demo/connected" "$demo/media" "$demo/disconnected"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_registry NAME VAR: starts it in this shell (not a subshell, so its
# process id reaches cleanup) and sets VAR to its HOST:PORT
start_registry() {
  local name=$1 var=$2 port dir=$demo/$1
  port=$(free_port)
  mkdir -p "$dir/registry"
  cat > "$dir/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$dir/registry.yml" > "$dir/registry.log" 2>&1 &
  pids+=($!)
  echo "$!" > "$dir/registry.pid"
  for _ in $(seq 100); do
    if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
      printf -v "$var" '%s' "127.0.0.1:$port"
      return
    fi
    sleep 0.1
  done
  echo "demo: registry $name did not start, see $dir/registry.log" >&2
  exit 2
}

say "starting the source and target registries"
start_registry connected SRC
start_registry disconnected DST
echo "source $SRC, target $DST"

say "seeding the source from samples/images.json"
bash "$top/scripts/seed-registry.sh" -q -o "$demo/connected/layouts" "$SRC" "$top/samples/images.json"
echo "attaching a signature, an SBOM, provenance and a signature on the SBOM to corpus/app0:1.0"
/usr/bin/python3 "$top/tests/tools/mkreferrers.py" --registry "$SRC" \
  --subject-repo corpus/app0 --subject 1.0 signature sbom provenance sig-on:sbom >/dev/null
export FERRY_DEMO_SRC=$SRC
echo "the selection is samples/regsync-local.yaml, a regsync config (source: \$FERRY_DEMO_SRC):"
grep -E "^\s+(- source|type|allow|deny|referrer)" "$top/samples/regsync-local.yaml" | sed 's/^/  /'

say "connected side: the plan (nothing is written)"
"$FX" plan -c "$top/samples/regsync-local.yaml"

say "connected side: key pair and export"
"$FX" keygen -W -p "$demo/connected/ferry.pub" -s "$demo/connected/ferry.key"
"$FX" -k "$demo/connected/ferry.key" -o "$demo/media/images.tar.zst" \
  -c "$top/samples/regsync-local.yaml"

say "carrying the bundle, its detached signature and the public key"
cp "$demo/connected/ferry.pub" "$demo/media/"
ls -l "$demo/media"
if command -v minisign >/dev/null; then
  minisign -Vm "$demo/media/images.tar.zst" -p "$demo/media/ferry.pub"
fi

say "disconnected side: verify, list, push"
"$FI" verify -p "$demo/media/ferry.pub" "$demo/media/images.tar.zst"
"$FI" list --referrers -p "$demo/media/ferry.pub" "$demo/media/images.tar.zst"
# the config's targets name registry.airgap.example/mirror/...; --to puts them on this registry
"$FI" push -p "$demo/media/ferry.pub" --to "$DST" --plain-http "$demo/media/images.tar.zst"

say "what arrived in $DST"
curl -fsS "http://$DST/v2/_catalog"; echo
for r in corpus/app0:1.0 corpus/app0:1.1 corpus/app1:2.0 corpus/base:latest; do
  src=$(skopeo inspect --raw --tls-verify=false "docker://$SRC/$r" | sha256sum | cut -c1-16)
  dst=$(skopeo inspect --raw --tls-verify=false "docker://$DST/mirror/$r" | sha256sum | cut -c1-16)
  printf '  %-28s source sha256:%s  target sha256:%s  %s\n' "mirror/$r" "$src" "$dst" \
    "$([ "$src" = "$dst" ] && echo same || echo DIFFERENT)"
done

app0=$(skopeo inspect --raw --tls-verify=false "docker://$DST/mirror/corpus/app0:1.0" | sha256sum | cut -d' ' -f1)
"$FI" referrers --plain-http "$DST/mirror/corpus/app0@sha256:$app0"

say "pushing again changes nothing"
"$FI" push -q -p "$demo/media/ferry.pub" --to "$DST" --plain-http "$demo/media/images.tar.zst"
echo
echo "demo: done; files are in $demo"
