#!/usr/bin/env bash
# ferry-export plan refuses what the importer would refuse: the statement it
# prints is read back as ferry-import reads it. A registry double
# (tests/tools/static_registry.py) serves an image whose referrer has an
# annotation that is a number: image-spec wants strings, distribution refuses
# to store it, and the statement cannot carry it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ferry_require "$FERRY_PYTHON"
FX=$FERRY_BIN_DIR/export/ferry-export
[ -x "$FX" ] || fail "ferry-export not built in $FERRY_BIN_DIR"
cd "$TEST_TMP"

"$FERRY_PYTHON" - <<'PY' || fail "building the registry content"
import hashlib, json, os
def put(repo, kind, name, data):
    os.makedirs(f"root/{repo}/{kind}", exist_ok=True)
    open(f"root/{repo}/{kind}/{name}", "wb").write(data)
def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    put("lib/app", "blobs", d, data)
    return {"digest": d, "size": len(data)}
def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()
cfg = blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
layer = blob(b"layer")
empty = blob(b"{}")
image = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cfg),
               "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar", **layer)]})
idig = "sha256:" + hashlib.sha256(image).hexdigest()
put("lib/app", "manifests", "1.0", image)
put("lib/app", "manifests", idig, image)
ref = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "artifactType": "application/x-test",
             "config": dict(mediaType="application/vnd.oci.empty.v1+json", **empty), "layers": [],
             "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                         "digest": idig, "size": len(image)},
             "annotations": {"x": 1}})
rdig = "sha256:" + hashlib.sha256(ref).hexdigest()
put("lib/app", "manifests", rdig, ref)
put("lib/app", "manifests", "sha256-" + idig[7:], dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": rdig,
                   "size": len(ref), "artifactType": "application/x-test"}]}))
PY
port=$(ferry_free_port)
"$FERRY_PYTHON" "$FERRY_SOURCE_DIR/tests/tools/static_registry.py" --port "$port" --root root \
  2>registry.log &
ferry_track_pid $!
ferry_wait_http "http://127.0.0.1:$port/v2/" 20 || fail "registry double did not start"

rc=0
"$FX" plan --plain-http "127.0.0.1:$port/lib/app:1.0" >plan.out 2>plan.err || rc=$?
[ $rc = 1 ] || fail "plan exit $rc, want 1: $(cat plan.err)"
grep -q 'ferry.json referrers\[0\]: annotation "x" is not a string' plan.err ||
  fail "plan message: $(cat plan.err)"
# without the referrer the same image plans
"$FX" plan --plain-http --no-referrers "127.0.0.1:$port/lib/app:1.0" >ok.out 2>ok.err ||
  fail "plan --no-referrers: $(cat ok.err)"
grep -q "127.0.0.1:$port/lib/app:1.0" ok.out || fail "plan output: $(cat ok.out)"
pass "plan refuses a statement the importer would refuse"
