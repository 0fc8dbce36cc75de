# Shared steps of the export -> carry -> import tests. Sourced after lib.sh.

FERRY_BIN_DIR=${FERRY_BIN_DIR:-$FERRY_SOURCE_DIR/build}
FX=$FERRY_BIN_DIR/export/ferry-export
FI=$FERRY_BIN_DIR/import/ferry-import
SAMPLES=$FERRY_SOURCE_DIR/samples/images.json
SAMPLE_REFS="corpus/app0:1.0 corpus/app0:1.1 corpus/app1:2.0 corpus/base:latest"

flow_need_tools() {
  for t in skopeo zstd tar /usr/bin/python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
  done
  [ -x "$FX" ] && [ -x "$FI" ] || fail "ferry binaries not built in $FERRY_BIN_DIR"
}

# seed_samples HOST:PORT [user:password]
seed_samples() {
  SEED_CREDS=${2:-} bash "$FERRY_SOURCE_DIR/scripts/seed-registry.sh" -q \
    -o "$FERRY_SEED_CACHE" "$1" "$SAMPLES" || fail "seeding $1 failed"
}

# digest_of HOST:PORT REPO:TAG [user:password] -> digest of the manifest bytes
digest_of() {
  local creds=()
  [ -n "${3:-}" ] && creds=(--creds "$3")
  skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$1/$2" | sha256sum | awk '{print "sha256:"$1}'
}

make_keys() {
  "$FX" keygen -W -p "$1.pub" -s "$1.key" >/dev/null || fail "keygen $1"
}

# cosign_key NAME: a P-256 key as `cosign generate-key-pair` makes, NAME.pem
# (private, for tests/tools/mkcosign.py --sign-key) and NAME.pub
cosign_key() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.pem" 2>/dev/null || fail "key $1"
  openssl ec -in "$1.pem" -pubout -out "$1.pub" 2>/dev/null || fail "public key $1"
}

# Cache of built sample layouts shared by the tests of one run.
FERRY_SEED_CACHE=${FERRY_SEED_CACHE:-${TMPDIR:-/tmp}/ferry-seed-cache-$(id -u)}
