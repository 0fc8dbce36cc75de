# Shell pieces shared by bench/run.sh and bench/wan.sh (sourced). Before it:
# prog (the name in messages), py (python3) and lib (benchlib.py); work (the
# work directory, removed on exit) and results (the results file) once made.
# wan.sh's relay, when one runs, is $relaypid: the EXIT trap stops it too.

die() { echo "$prog: $*" >&2; exit 2; }
say() { echo "$prog: $*" >&2; }
for t in docker-registry skopeo zstd tar curl; do
    command -v "$t" >/dev/null || die "$t not found (see bench/README.md)"
done
[ -x "$py" ] || die "$py not found"

declare -A regpid # registry name -> pid, for the ones still running
relaypid=

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    local n p
    [ -z "$relaypid" ] || kill "$relaypid" 2>/dev/null || true
    for n in "${!regpid[@]}"; do kill "${regpid[$n]}" 2>/dev/null || true; done
    for p in $relaypid "${regpid[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -n "${work:-}" ] || return 0
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_registry NAME: start distribution on 127.0.0.1 with a free port and
# empty storage under $work/NAME; sets $reg to HOST:PORT.
start_registry() {
    local name=$1 dir=$work/$1 port pid
    mkdir -p "$dir/data"
    for _ in 1 2 3 4 5; do # a free port may be taken before we bind it
        port=$("$py" "$lib" freeport)
        cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOC
        docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
        pid=$!
        regpid[$name]=$pid
        for _ in $(seq 50); do
            if curl -fs -o /dev/null "http://127.0.0.1:$port/v2/"; then
                reg=127.0.0.1:$port
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "regpid[$name]"
    done
    cat "$dir/log" >&2
    die "registry $name did not start"
}

# measure OUT CMD...: run CMD, write "SECONDS PEAK_RSS_KIB" to OUT, return its status.
if [ -x /usr/bin/time ]; then
    measure() { local out=$1; shift; /usr/bin/time -f '%e %M' -o "$out" "$@"; }
else
    measure() { local out=$1; shift; "$py" "$lib" measure "$out" -- "$@"; }
fi
now() { echo "$EPOCHREALTIME"; }
# Before each timed step: flush what earlier steps left dirty, so no tool pays
# for the writeback of another's files (ferry-export fsyncs its bundle, and the
# disk is shared).
settle() { sync; }
since() { "$py" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
rec() { echo "$*" >>"$results"; }
maxrss() { # files with "SECONDS KIB" lines -> largest KIB
    cat "$@" | awk '$2 > m { m = $2 } END { print m + 0 }'
}
bytes() { stat -c %s "$1"; }
oci_name() { local r=$1; r=${r//\//-}; echo "${r/:/-}"; } # bench/app00:1.0 -> bench-app00-1.0
