#!/usr/bin/env bash
# Benchmark ferry-export / ferry-import against the skopeo pipeline.
#
#   bench/run.sh            full corpus: 12 repositories x 3 tags, ~400 MiB, 3 runs
#   BENCH_QUICK=1 bench/run.sh   ~40 MiB, 1 run
#
# See bench/README.md for what is measured and the environment knobs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
py=/usr/bin/python3
lib=$here/benchlib.py
prog=bench

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    scale=${BENCH_SCALE:-0.1} runs=${BENCH_RUNS:-1}
else
    scale=${BENCH_SCALE:-1} runs=${BENCH_RUNS:-3}
fi
repos=${BENCH_REPOS:-12} tags=${BENCH_TAGS:-3} docker=${BENCH_DOCKER:-2}
big=${BENCH_BIG:-1} big_size=${BENCH_BIG_SIZE:-1.5G}
bin=${FERRY_BIN_DIR:-$root/build/release}
case $bin in /*) ;; *) bin=$root/$bin ;; esac

# die, say, cleanup on exit, start_registry, measure, rec, ...
. "$here/benchlib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
cache=${BENCH_CACHE:-$work/cache}
results=$work/results

# ---- registries --------------------------------------------------------------

stop_registry() { # NAME: stop it and drop its storage (keeps the disk small)
    local pid=${regpid[$1]:-}
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "regpid[$1]"
    fi
    rm -rf "${work:?}/$1"
}

# ---- corpus ------------------------------------------------------------------

: >"$results"
rec "meta_date $(date -u +%Y-%m-%dT%H:%MZ)"
rec "meta_runs $runs"
if [ "$quick" = 1 ]; then rec "meta_mode quick mode (BENCH_QUICK=1, scale $scale)"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rec "meta_host $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
rec "meta_tools $(docker-registry --version | awk '{print "distribution", $3}'), $(skopeo --version), zstd $(zstd -V | sed -n 's/.* v\([0-9.]*\).*/\1/p')"

have_ferry=no
if [ -x "$bin/export/ferry-export" ] && [ -x "$bin/import/ferry-import" ]; then
    fexport=$bin/export/ferry-export fimport=$bin/import/ferry-import have_ferry=yes
elif [ -x "$bin/ferry-export" ] && [ -x "$bin/ferry-import" ]; then
    fexport=$bin/ferry-export fimport=$bin/ferry-import have_ferry=yes
fi
rec "meta_ferry $have_ferry"
if [ $have_ferry = yes ]; then
    rec "meta_ferry_desc $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), binaries in $bin"
else
    rec "meta_ferry_desc not measured: no ferry-export/ferry-import in $bin (build: cmake --preset release && cmake --build build/release)"
    say "ferry binaries not found in $bin: measuring the skopeo half only"
fi

# seed SPEC LAYOUT: build the images of SPEC in LAYOUT (a cache), push them to
# $src, and leave the mkimages summary in LAYOUT.summary.json.
seed() {
    "$py" "$root/tests/tools/mkimages.py" -q -o "$2" --summary "$2.summary.json" "$1" ||
        die "building the images of $1 failed"
    "$root/scripts/seed-registry.sh" -q -o "$2" "$src" "$1" || die "seeding $src from $1 failed"
}
summary() { # LAYOUT EXPR: evaluate a python expression on the summary `s`
    "$py" -c 'import json,sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1.summary.json" "$2"
}

say "work directory $work"
start_registry src
src=$reg
"$py" "$lib" spec --repos "$repos" --tags "$tags" --docker "$docker" --scale "$scale" >"$work/spec.json"
say "building and seeding the corpus into $src"
seed "$work/spec.json" "$cache/corpus"
distinct=$(summary "$cache/corpus" 's["blob_bytes"]')
summary "$cache/corpus" '"\n".join(r["ref"] + " " + r["digest"] for r in s["refs"])' >"$work/want"
mapfile -t refs < <(cut -d' ' -f1 "$work/want")
ntags=${#refs[@]}
rec "meta_tags $ntags"
rec "distinct_bytes $distinct"
rec "meta_corpus $repos repositories x $tags tags = $ntags tags, 2 platforms (linux/amd64, linux/arm64), $((repos - docker)) OCI index and $docker Docker list repositories, shared base layers, $(summary "$cache/corpus" 's["blobs"]') blobs"
src_refs=()
for r in "${refs[@]}"; do src_refs+=("$src/$r"); done

if [ $have_ferry = yes ]; then
    "$fexport" keygen -W -p "$work/bench.pub" -s "$work/bench.key" >/dev/null 2>"$work/keygen.log" ||
        { cat "$work/keygen.log" >&2; die "ferry-export keygen failed"; }
fi

# ---- runs --------------------------------------------------------------------

status=0
for run in $(seq "$runs"); do
    say "run $run/$runs"
    r=$work/run$run
    mkdir -p "$r"

    # ferry export
    if [ $have_ferry = yes ]; then
        rc=0
        settle
        measure "$r/fe.time" "$fexport" -k "$work/bench.key" -o "$r/ferry.tar.zst" --plain-http \
            "${src_refs[@]}" >"$r/fe.log" 2>&1 || rc=$?
        rec "ferry_export_status $rc"
        if [ $rc = 0 ]; then
            read -r s k <"$r/fe.time"
            rec "ferry_export_s $s" && rec "ferry_export_rss_kib $k"
            rec "ferry_bundle_bytes $(bytes "$r/ferry.tar.zst")"
            say "ferry export: $s s"
        else
            status=1
            say "ferry export failed (exit $rc):" && tail -n 5 "$r/fe.log" >&2
        fi
    fi

    # skopeo export: every tag into one oci: layout, then tar | zstd; then, not
    # counted in its time, how long its output takes to reach the disk
    settle
    t0=$(now)
    for ref in "${refs[@]}"; do
        measure "$r/se.$(oci_name "$ref").time" skopeo copy --all --src-tls-verify=false \
            "docker://$src/$ref" "oci:$r/sk-layout:$(oci_name "$ref")" >>"$r/se.log" 2>&1 ||
            { tail -n 5 "$r/se.log" >&2; die "skopeo copy $ref failed"; }
    done
    copy_s=$(since "$t0")
    t1=$(now)
    tar -cf - -C "$r/sk-layout" . | zstd -q -T2 -3 -o "$r/skopeo.tar.zst"
    pack_s=$(since "$t1")
    total_s=$(since "$t0")
    sync
    durable_s=$(since "$t0")
    rec "skopeo_export_s $total_s" && rec "skopeo_export_copy_s $copy_s" && rec "skopeo_export_pack_s $pack_s"
    rec "skopeo_export_durable_s $durable_s"
    rec "skopeo_export_rss_kib $(maxrss "$r"/se.*.time)"
    rec "skopeo_bundle_bytes $(bytes "$r/skopeo.tar.zst")"
    rm -rf "$r/sk-layout"
    say "skopeo export: $total_s s (copy $copy_s, tar|zstd $pack_s)"

    # ferry import into an empty registry
    if [ $have_ferry = yes ] && [ -f "$r/ferry.tar.zst" ]; then
        start_registry "ferry-dst$run"
        rc=0
        settle
        measure "$r/fi.time" "$fimport" push -p "$work/bench.pub" --to "$reg" --plain-http \
            "$r/ferry.tar.zst" >"$r/fi.log" 2>&1 || rc=$?
        rec "ferry_import_status $rc"
        if [ $rc = 0 ]; then
            read -r s k <"$r/fi.time"
            rec "ferry_import_s $s" && rec "ferry_import_rss_kib $k"
            say "ferry import: $s s"
            [ "$run" != 1 ] || rec "ferry_same $("$py" "$lib" same --label "ferry import" "$reg" "$work/want")"
        else
            status=1
            say "ferry import failed (exit $rc):" && tail -n 5 "$r/fi.log" >&2
        fi
        stop_registry "ferry-dst$run"
        rm -f "$r/ferry.tar.zst"
    elif [ $have_ferry = yes ]; then
        rec "ferry_import_status skipped"
    fi

    # skopeo import: zstd -d | tar -x, then every tag into an empty registry
    start_registry "skopeo-dst$run"
    settle
    t0=$(now)
    mkdir -p "$r/sk-in"
    zstd -q -d -c "$r/skopeo.tar.zst" | tar -xf - -C "$r/sk-in"
    unpack_s=$(since "$t0")
    for ref in "${refs[@]}"; do
        measure "$r/si.$(oci_name "$ref").time" skopeo copy --all --dest-tls-verify=false \
            "oci:$r/sk-in:$(oci_name "$ref")" "docker://$reg/$ref" >>"$r/si.log" 2>&1 ||
            { tail -n 5 "$r/si.log" >&2; die "skopeo copy $ref failed"; }
    done
    total_s=$(since "$t0")
    rec "skopeo_import_s $total_s" && rec "skopeo_import_unpack_s $unpack_s"
    rec "skopeo_import_copy_s $("$py" -c 'import sys; print(f"{float(sys.argv[1]) - float(sys.argv[2]):.2f}")' "$total_s" "$unpack_s")"
    rec "skopeo_import_rss_kib $(maxrss "$r"/si.*.time)"
    say "skopeo import: $total_s s (unpack $unpack_s)"
    [ "$run" != 1 ] || rec "skopeo_same $("$py" "$lib" same "$reg" "$work/want")"
    stop_registry "skopeo-dst$run"
    rm -rf "$r/sk-in" "$r/skopeo.tar.zst"
done

# ---- memory run: one image with a single big layer ---------------------------

if [ "$big" = 1 ] && [ $have_ferry = yes ]; then
    say "memory run: one image with a single $big_size layer"
    r=$work/big
    mkdir -p "$r"
    "$py" - "$big_size" >"$r/spec.json" <<'EOF'
import json, sys
json.dump({"images": [{"repo": "big/one", "tags": ["1.0"], "layers": [sys.argv[1]]}]}, sys.stdout)
EOF
    seed "$r/spec.json" "$cache/big"
    rec "big_bytes $(summary "$cache/big" 's["blob_bytes"]')"
    rc=0
    settle
    measure "$r/fe.time" "$fexport" -k "$work/bench.key" -o "$r/big.tar.zst" --plain-http \
        "$src/big/one:1.0" >"$r/fe.log" 2>&1 || rc=$?
    rec "big_export_status $rc"
    if [ $rc = 0 ]; then
        read -r s k <"$r/fe.time"
        rec "big_export_s $s" && rec "big_export_rss_kib $k"
        start_registry big-dst
        rc=0
        settle
        measure "$r/fi.time" "$fimport" push -p "$work/bench.pub" --to "$reg" --plain-http \
            "$r/big.tar.zst" >"$r/fi.log" 2>&1 || rc=$?
        rec "big_import_status $rc"
        if [ $rc = 0 ]; then
            read -r s k <"$r/fi.time"
            rec "big_import_s $s" && rec "big_import_rss_kib $k"
        else
            status=1 && tail -n 5 "$r/fi.log" >&2
        fi
        stop_registry big-dst
    else
        status=1 && tail -n 5 "$r/fe.log" >&2
    fi
    rm -f "$r/big.tar.zst"
elif [ "$big" = 1 ]; then
    rec "note The memory run with a single $big_size layer needs the ferry binaries; skipped."
fi

# ---- report ------------------------------------------------------------------

mkdir -p "$here/results"
out=$here/results/$(date -u +%Y-%m-%d)$([ "$quick" != 1 ] || echo -quick).md
"$py" "$lib" report "$results" | tee "$out"
say "written to ${out#"$root"/}"
exit $status
