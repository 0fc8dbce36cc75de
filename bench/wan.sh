#!/usr/bin/env bash
# WAN benchmark: ferry-export against the skopeo pipeline, pulling from a
# registry behind bench/wanrelay.py (25 ms each way, 50 Mbit/s per connection,
# 400 Mbit/s shared by default).
#
#   bench/wan.sh                  run.sh's corpus (~400 MiB) + 2 referrers per tag, 3 runs
#   BENCH_QUICK=1 bench/wan.sh    ~40 MiB, 1 run
#
# See bench/README.md ("WAN") for what is measured and the knobs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
py=/usr/bin/python3
lib=$here/benchlib.py
relay_py=$here/wanrelay.py
prog=bench-wan

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    scale=${BENCH_SCALE:-0.1} runs=${BENCH_RUNS:-1}
else
    scale=${BENCH_SCALE:-1} runs=${BENCH_RUNS:-3}
fi
repos=${BENCH_REPOS:-12} tags=${BENCH_TAGS:-3} docker=${BENCH_DOCKER:-2}
delay_ms=${WAN_DELAY_MS:-25} rate_mbit=${WAN_RATE_MBIT:-50} shared_mbit=${WAN_SHARED_MBIT:-400}
referrer_kinds=${WAN_REFERRERS:-signature sbom}
bin=${FERRY_BIN_DIR:-$root/build/release}
case $bin in /*) ;; *) bin=$root/$bin ;; esac

# die, say, cleanup on exit (the relay too), start_registry, measure, rec, ...
. "$here/benchlib.sh"

if [ -x "$bin/export/ferry-export" ]; then
    fexport=$bin/export/ferry-export
elif [ -x "$bin/ferry-export" ]; then
    fexport=$bin/ferry-export
else
    die "no ferry-export in $bin (build: cmake --preset release && cmake --build build/release)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-wan.XXXXXX")
cache=${BENCH_CACHE:-$work/cache}
results=$work/results

# ---- registries and the relay ------------------------------------------------

# start_relay NAME: a fresh relay in front of $src (so its statistics are the
# step's own); sets $relay to HOST:PORT.
start_relay() {
    local d=$work/relay-$1
    mkdir -p "$d"
    "$py" "$relay_py" --port 0 --port-file "$d/port" --stats "$d/stats.json" \
        --delay-ms "$delay_ms" --rate-mbit "$rate_mbit" --shared-mbit "$shared_mbit" \
        "${src#*:}" >/dev/null 2>"$d/log" &
    relaypid=$!
    for _ in $(seq 50); do
        if [ -s "$d/port" ]; then
            relay=127.0.0.1:$(cat "$d/port")
            return 0
        fi
        kill -0 "$relaypid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$d/log" >&2
    die "wanrelay did not start"
}

# stop_relay NAME KEY: stop it and record its connections and CPU seconds as KEY_*.
stop_relay() {
    local d=$work/relay-$1
    kill "$relaypid" 2>/dev/null || true
    wait "$relaypid" 2>/dev/null || true
    relaypid=
    [ -s "$d/stats.json" ] || { cat "$d/log" >&2; die "wanrelay wrote no statistics"; }
    "$py" -c 'import json, sys
s = json.load(open(sys.argv[1]))
k = sys.argv[2]
print(k + "_conns", s["connections"])
print(k + "_down_bytes", s["bytes_down"])
print(k + "_relay_cpu_s", round(s["cpu_user_s"] + s["cpu_sys_s"], 2))' "$d/stats.json" "$2" >>"$results"
    rm -rf "$d"
}

# ---- corpus ------------------------------------------------------------------

: >"$results"
rec "meta_date $(date -u +%Y-%m-%dT%H:%MZ)"
rec "meta_runs $runs"
if [ "$quick" = 1 ]; then rec "meta_mode quick mode (BENCH_QUICK=1, scale $scale)"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rec "meta_host $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
rec "meta_tools $(docker-registry --version | awk '{print "distribution", $3}'), $(skopeo --version), zstd $(zstd -V | sed -n 's/.* v\([0-9.]*\).*/\1/p'), $("$py" --version)"
rec "meta_ferry_desc $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), $fexport"
rec "meta_link $delay_ms ms each way ($((2 * delay_ms)) ms RTT), $rate_mbit Mbit/s per connection and direction, $shared_mbit Mbit/s shared"
rec "rate_mbit $rate_mbit" && rec "shared_mbit $shared_mbit"

say "work directory $work"
start_registry src
src=$reg
"$py" "$lib" spec --repos "$repos" --tags "$tags" --docker "$docker" --scale "$scale" >"$work/spec.json"
say "building and seeding the corpus into $src"
"$py" "$root/tests/tools/mkimages.py" -q -o "$cache/corpus" --summary "$cache/corpus.summary.json" \
    "$work/spec.json" || die "building the images failed"
"$root/scripts/seed-registry.sh" -q -o "$cache/corpus" "$src" "$work/spec.json" || die "seeding $src failed"
summary() { # EXPR on the mkimages summary `s`
    "$py" -c 'import json,sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$cache/corpus.summary.json" "$1"
}
summary '"\n".join(r["ref"] for r in s["refs"])' >"$work/refs"
mapfile -t refs <"$work/refs"
ntags=${#refs[@]}
largest=$(find "$cache/corpus/blobs" -type f -printf '%s\n' | sort -n | tail -n 1)

# referrers: one artifact per kind and tag, attached to the tag's index (or list)
# and announced through the referrers tag (distribution 2.8 has no referrers API)
say "attaching referrers ($referrer_kinds) to every tag"
: >"$work/referrers.json"
for ref in "${refs[@]}"; do
    # shellcheck disable=SC2086 # one argument per kind
    "$py" "$root/tests/tools/mkreferrers.py" --registry "$src" --subject-repo "${ref%:*}" \
        --subject "${ref##*:}" $referrer_kinds >>"$work/referrers.json" ||
        die "mkreferrers for $ref failed"
done
# "repo digest" per referrer, for the skopeo pipeline
"$py" -c 'import json, sys
for l in open(sys.argv[1]):
    if l.strip():
        a = json.loads(l)
        print(a["repo"], a["digest"])' "$work/referrers.json" >"$work/referrers"
nref=$(wc -l <"$work/referrers")
corpus_bytes=$(summary 's["blob_bytes"]')
rec "meta_tags $ntags"
rec "meta_referrers $nref"
rec "distinct_bytes $corpus_bytes"
rec "largest_blob $largest"
rec "meta_corpus $repos repositories x $tags tags = $ntags tags, 2 platforms, $((repos - docker)) OCI index and $docker Docker list repositories, $(summary 's["blobs"]') blobs, plus $nref referrers ($referrer_kinds per tag, a few KiB each)"

"$fexport" keygen -W -p "$work/bench.pub" -s "$work/bench.key" >/dev/null 2>"$work/keygen.log" ||
    { cat "$work/keygen.log" >&2; die "ferry-export keygen failed"; }

# ---- timed steps -------------------------------------------------------------

status=0

# ferry_step KEY [OPTION...]: ferry-export of every tag through a fresh relay
ferry_step() {
    local key=$1 rc=0 s k
    shift
    settle
    start_relay "$key"
    local rrefs=()
    for x in "${refs[@]}"; do rrefs+=("$relay/$x"); done
    measure "$r/$key.time" "$fexport" -k "$work/bench.key" -o "$r/$key.tar.zst" --plain-http \
        "$@" "${rrefs[@]}" >"$r/$key.log" 2>&1 || rc=$?
    stop_relay "$key" "$key"
    rec "${key}_status $rc"
    if [ $rc = 0 ]; then
        read -r s k <"$r/$key.time"
        rec "${key}_s $s" && rec "${key}_rss_kib $k"
        rec "${key}_bundle_bytes $(bytes "$r/$key.tar.zst")"
        say "$key: $s s"
    else
        status=1
        say "$key failed (exit $rc):" && tail -n 5 "$r/$key.log" >&2
    fi
    rm -f "$r/$key.tar.zst" "$r/$key.tar.zst.minisig"
}

# skopeo_step: every tag with skopeo copy --all into one oci: layout, then every
# referrer manifest by digest (skopeo does not follow referrers), then tar | zstd
skopeo_step() {
    local t0 t1 t2 total n=0 repo digest
    settle
    start_relay skopeo
    t0=$(now)
    for ref in "${refs[@]}"; do
        measure "$r/se.$(oci_name "$ref").time" skopeo copy --all --src-tls-verify=false \
            "docker://$relay/$ref" "oci:$r/sk-layout:$(oci_name "$ref")" >>"$r/se.log" 2>&1 ||
            { tail -n 5 "$r/se.log" >&2; die "skopeo copy $ref failed"; }
    done
    rec "skopeo_tags_s $(since "$t0")"
    t1=$(now)
    while read -r repo digest; do
        n=$((n + 1))
        measure "$r/se.ref-$n.time" skopeo copy --all --src-tls-verify=false \
            "docker://$relay/$repo@$digest" "oci:$r/sk-layout:ref-$n" >>"$r/se.log" 2>&1 ||
            { tail -n 5 "$r/se.log" >&2; die "skopeo copy $repo@$digest failed"; }
    done <"$work/referrers"
    rec "skopeo_referrers_s $(since "$t1")"
    t2=$(now)
    tar -cf - -C "$r/sk-layout" . | zstd -q -T2 -3 -o "$r/skopeo.tar.zst"
    rec "skopeo_pack_s $(since "$t2")"
    total=$(since "$t0")
    stop_relay skopeo skopeo
    rec "skopeo_s $total"
    rec "skopeo_rss_kib $(maxrss "$r"/se.*.time)"
    rec "skopeo_bundle_bytes $(bytes "$r/skopeo.tar.zst")"
    say "skopeo pipeline: $total s"
    rm -rf "$r/sk-layout" "$r/skopeo.tar.zst"
}

steps=(ferry_refs ferry_norefs skopeo)
for run in $(seq "$runs"); do
    r=$work/run$run
    mkdir -p "$r"
    order=("${steps[@]}")
    if [ $((run % 2)) = 0 ]; then order=(skopeo ferry_norefs ferry_refs); fi
    say "run $run/$runs: ${order[*]}"
    for step in "${order[@]}"; do
        case $step in
        ferry_refs) ferry_step ferry_refs ;;
        ferry_norefs) ferry_step ferry_norefs --no-referrers ;;
        skopeo) skopeo_step ;;
        esac
    done
done

# ---- report ------------------------------------------------------------------

mkdir -p "$here/results"
out=$here/results/$(date -u +%Y-%m-%d)-wan$([ "$quick" != 1 ] || echo -quick).md
"$py" "$lib" wan-report "$results" | tee "$out"
say "written to ${out#"$root"/}"
exit $status
