#!/usr/bin/env bash
# Export and push through registries that fail 10 % of their requests at
# random (tests/tools/fault_proxy.py --rate: 500, 429 with Retry-After 0 or 1,
# connections reset before the answer or in the middle of an upload's body,
# answers cut after the registry did the work), with several seeds. Every run
# must succeed (exit 0) and give what a run without faults gives: the same
# images, digests and referrers in the bundle, and the same tags, digests and
# referrers in the target registry. The proxies' logs must show faults and
# ferry's must show retries, so the test cannot pass without them. Blobs of
# 1 MiB and more are uploaded in 256 KiB chunks here (the test hook
# FERRY_TEST_UPLOAD_CHUNK), so the 2 MiB base layers take the chunked path.
# A request the manifest prefetch loses costs only its own answer.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_need_tools
ferry_require curl
PY=/usr/bin/python3
SEEDS=${FERRY_FAULT_SEEDS:-"1 2 3"}
RATE=0.1
export FERRY_TEST_UPLOAD_CHUNK=1048576:262144
cd "$TEST_TMP"

start_registry SRC anon
start_registry DST anon
seed_samples "$REG_SRC"
make_keys "$TEST_TMP/k"
# referrers of corpus/app0:1.0 in another repository: a signature, an SBOM
# and a signature on the SBOM
$PY "$FERRY_SOURCE_DIR/tests/tools/mkreferrers.py" --registry "$REG_SRC" \
  --repo corpus/app0-attest --subject-repo corpus/app0 --subject 1.0 \
  signature sbom sig-on:sbom >refs.jsonl || fail "mkreferrers"

# export HOST OUT LOG: the sample images with their referrers, read from HOST
export_from() {
  local refs=() r
  for r in $SAMPLE_REFS; do refs+=("$1/$r"); done
  "$FX" -v -k k.key -o "$2" --plain-http --referrers-src "$1/corpus/app0-attest" "${refs[@]}" \
    >/dev/null 2>"$3"
}

# listing BUNDLE HOST: what the bundle holds (list --json -r: images, digests,
# sizes, platforms, referrers, member and byte counts), its source registry
# written as SRC, without the file name and the time it was made
listing() {
  "$FI" list --json -r -p k.pub "$1" | sed "s/$2/SRC/g" | $PY -c '
import json, sys
d = json.load(sys.stdin)
del d["bundle"], d["created"]
json.dump(d, sys.stdout, indent=1, sort_keys=True)'
}

# snapshot PREFIX: every repository under PREFIX/ in the target with each tag
# and the digest it names (the referrers' fallback tags included), then each
# manifest those fallback indexes list and whether it is there; PREFIX is cut
snapshot() {
  $PY - "$REG_DST" "$1" <<'PY'
import json, sys, urllib.request
host, prefix = sys.argv[1], sys.argv[2] + "/"
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
def get(path, method="GET"):
    req = urllib.request.Request("http://%s%s" % (host, path), method=method,
                                 headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers, r.read()
repos = json.loads(get("/v2/_catalog?n=1000")[1])["repositories"]
lines = []
# ferry's tag records (PREFIX/ferry-state) are keyed by the full target path:
# test_cycle.sh checks them
for repo in sorted(r for r in repos if r.startswith(prefix) and not r.endswith("/ferry-state")):
    tags = json.loads(get("/v2/%s/tags/list" % repo)[1]).get("tags") or []
    for tag in sorted(tags):
        h, body = get("/v2/%s/manifests/%s" % (repo, tag))
        lines.append("%s:%s %s" % (repo[len(prefix):], tag, h["Docker-Content-Digest"]))
        if tag.startswith("sha256-"):
            for m in json.loads(body)["manifests"]:
                get("/v2/%s/manifests/%s" % (repo, m["digest"]), "HEAD")
                lines.append("%s@%s referrer of %s (%s) present" % (
                    repo[len(prefix):], m["digest"], tag, m.get("artifactType")))
print("\n".join(lines))
PY
}

# ---- the run without faults ----------------------------------------------------
export_from "$REG_SRC" clean.tar.zst clean-export.log || fail "clean export: $(cat clean-export.log)"
listing clean.tar.zst "$REG_SRC" >clean.json || fail "list clean bundle"
"$FI" push -v -p k.pub --to "$REG_DST/clean" --plain-http clean.tar.zst >/dev/null \
  2>clean-push.log || fail "clean push: $(cat clean-push.log)"
snapshot clean >clean.snap || fail "snapshot of the clean push"
[ "$(grep -c "referrer of sha256-" clean.snap)" = 3 ] || fail "no referrers in the clean push: $(cat clean.snap)"
[ "$($PY -c 'import json,sys; print(sum(len(i["referrers"]) for i in json.load(open(sys.argv[1]))["images"]))' clean.json)" = 3 ] \
  || fail "the clean bundle lacks referrers: $(cat clean.json)"
grep -q "retry" clean-export.log clean-push.log && fail "retries without faults"

# ---- the prefetch loses the answer that failed, not the others -----------------
# (it does not retry: the resolve asks again). The first manifest GET is
# the prefetch's first request to the host; a 503 there must not stop it.
prefetched() { # LOG -> the number of answers the prefetch kept
  sed -n 's/.*prefetch: \([0-9]*\) answers on .*/\1/p' "$1"
}
start_fault_proxy PF0 "$REG_SRC" --faults 0
start_fault_proxy PF1 "$REG_SRC" --mode 503 --faults 1 --method GET --match "/manifests/"
for p in PF0 PF1; do
  v=PROXY_$p refs=()
  for r in $SAMPLE_REFS; do refs+=("${!v}/$r"); done
  "$FX" -vv -k k.key -o "$p.tar.zst" --plain-http --referrers-src "${!v}/corpus/app0-attest" \
    "${refs[@]}" >/dev/null 2>"$p.log" || fail "export through $p: $(tail -n 5 "$p.log")"
  listing "$p.tar.zst" "${!v}" >"$p.json" || fail "list $p"
  diff -u clean.json "$p.json" >&2 || fail "$p: the bundle differs from the clean one"
done
grep -q "fault 503 GET" "$PROXY_PF1_LOG" || fail "no 503 was injected: $(head -3 "$PROXY_PF1_LOG")"
grep -q "prefetch: .*; failed requests: 1, skipped for their host: 0$" PF1.log ||
  fail "the prefetch did not count the failure: $(grep prefetch: PF1.log)"
n0=$(prefetched PF0.log) n1=$(prefetched PF1.log)
echo "prefetch: $n0 answers without faults, $n1 after one failure" >&2
# the failed manifest is an index: it, its two platforms, the referrer
# lookups and referrers that hang off them are lost; nothing else
[ -n "$n0" ] && [ -n "$n1" ] && [ "$n1" -ge $((n0 - 12)) ] && [ "$n1" -lt "$n0" ] ||
  fail "the prefetch kept $n1 answers after one failure, $n0 without: it stopped"

# ---- the same through faults, seed by seed ---------------------------------------
t0=$(date +%s)
faults_export=0 retries_export=0 faults_push=0 retries_push=0
for seed in $SEEDS; do
  start_fault_proxy "SRC$seed" "$REG_SRC" --rate "$RATE" --seed "$seed"
  start_fault_proxy "DST$seed" "$REG_DST" --rate "$RATE" --seed "$seed"
  sv=PROXY_SRC$seed dv=PROXY_DST$seed slog=PROXY_SRC${seed}_LOG dlog=PROXY_DST${seed}_LOG
  src=${!sv} dst=${!dv}

  export_from "$src" "b$seed.tar.zst" "export$seed.log" \
    || fail "seed $seed: export exited $?: $(tail -n 5 "export$seed.log")"
  listing "b$seed.tar.zst" "$src" >"b$seed.json" || fail "seed $seed: list"
  diff -u clean.json "b$seed.json" >&2 || fail "seed $seed: the bundle differs from the clean one"

  "$FI" push -v -p k.pub --to "$dst/s$seed" --plain-http "b$seed.tar.zst" >/dev/null \
    2>"push$seed.log" || fail "seed $seed: push exited $?: $(tail -n 5 "push$seed.log")"
  snapshot "s$seed" >"s$seed.snap" || fail "seed $seed: snapshot"
  diff -u clean.snap "s$seed.snap" >&2 || fail "seed $seed: the target differs from the clean push"

  # not vacuous: faults were injected and ferry retried (counted over all
  # seeds below: one seed may spare a phase)
  for w in export push; do
    log=$slog
    [ $w = push ] && log=$dlog
    n=$(grep -c "fault-proxy: fault" "${!log}" || true)
    m=$(grep -c "retry" "$w$seed.log" || true)
    echo "seed $seed: $w: $n faults, $m retries logged" >&2
    eval "faults_$w=\$((faults_$w + n)) retries_$w=\$((retries_$w + m))"
  done
  grep -q "PATCH .* range " "${!dlog}" || fail "seed $seed: no blob was uploaded in chunks"
  # no upload session's state token in ferry's logs
  grep -q "_state=" "export$seed.log" "push$seed.log" && fail "seed $seed: a state token was logged"
done
echo "faulty runs: $(($(date +%s) - t0)) s" >&2
for w in export push; do
  fv=faults_$w rv=retries_$w
  [ "${!fv}" -gt 0 ] || fail "no fault was injected during any $w"
  [ "${!rv}" -gt 0 ] || fail "no $w logged a retry"
done
cat "$TEST_TMP"/proxy-DST*.log | grep -q "fault .*PATCH" \
  || echo "note: no PATCH was faulted with these seeds" >&2
pass "export and push through $RATE faults, seeds $SEEDS"
