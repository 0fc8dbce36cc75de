#!/usr/bin/env bash
# Seed a registry with the synthetic images of a mkimages.py spec.
#
#   scripts/seed-registry.sh [-o LAYOUT_DIR] [-j JOBS] [-q] HOST:PORT SPEC
#
# Builds the images with tests/tools/mkimages.py (into LAYOUT_DIR, which is kept
# and reused as a cache, or a temporary directory), pushes every tag with
# `skopeo copy --all --preserve-digests`, and checks that the registry serves
# each tag under the digest the layout has. OCI images are copied from the
# `oci:` layout; Docker manifests and lists from a `dir:` view, because skopeo's
# oci: transport ignores index.json entries with Docker media types.
#
# Environment: SEED_CREDS=user:password for registries that want Basic auth.
# Exit status: 0 when every tag arrived with its digest, 1 otherwise, 64 usage.
set -euo pipefail

prog=seed-registry
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkimages=${MKIMAGES:-$here/../tests/tools/mkimages.py}
python=${PYTHON:-/usr/bin/python3}

usage() {
    sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^#  *//; s/^/usage: /' >&2
    exit 64
}
die() { echo "$prog: $*" >&2; exit 1; }
say() { [ -n "$quiet" ] || echo "$prog: $*" >&2; }

layout="" jobs=2 quiet=""
while getopts "o:j:qh" opt; do
    case $opt in
    o) layout=$OPTARG ;;
    j) jobs=$OPTARG ;;
    q) quiet=1 ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
registry=$1 spec=$2
[[ $registry =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || die "bad registry '$registry' (want HOST:PORT)"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "bad job count '$jobs'"
[ -r "$spec" ] || die "cannot read spec '$spec'"
command -v skopeo >/dev/null || die "skopeo not found (apt-get install skopeo)"
[ -x "$python" ] || die "$python not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/seed-registry.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$layout" ]; then
    # A shared cache: no other seed may rebuild (and prune) it while we push.
    mkdir -p "$(dirname "$layout")"
    exec {lockfd}>"$layout.lock"
    flock "$lockfd"
else
    layout=$work/layout
fi

creds=() dest_creds=()
if [ -n "${SEED_CREDS:-}" ]; then
    creds=(--creds "$SEED_CREDS") dest_creds=(--dest-creds "$SEED_CREDS")
fi

# Is anything answering? Any HTTP status will do (401 means auth is on).
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$registry/v2/" || true)
if [ "$code" = 000 ] || [ -z "$code" ]; then
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "https://$registry/v2/" || true)
fi
if [ "$code" = 000 ] || [ -z "$code" ]; then
    die "no registry answers at $registry"
fi

say "building images from $spec in $layout"
q=()
[ -z "$quiet" ] || q=(-q)
"$python" "$mkimages" "${q[@]}" -o "$layout" --dir-views "$work/views" --list-refs \
    --summary "$work/refs" "$spec" || die "mkimages.py failed for $spec"
mapfile -t lines <"$work/refs"
[ ${#lines[@]} -gt 0 ] || die "$spec defines no images"

push_one() { # REF SOURCE LOG
    local ref=$1 src=$2 log=$3
    skopeo copy --all --preserve-digests --retry-times 2 --dest-tls-verify=false \
        ${dest_creds[@]+"${dest_creds[@]}"} \
        "$src" "docker://$registry/$ref" >"$log" 2>&1
}

say "pushing ${#lines[@]} tags to $registry ($jobs at a time)"
running=0 failed=0 i=0
declare -A logs
for line in "${lines[@]}"; do
    IFS=$'\t' read -r ref _ src <<<"$line"
    i=$((i + 1))
    logs[$ref]=$work/push.$i.log
    if [ "$running" -ge "$jobs" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    push_one "$ref" "$src" "${logs[$ref]}" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done

served() { # REF: the digest the registry serves for REF, or "nothing"
    if skopeo inspect --raw --tls-verify=false ${creds[@]+"${creds[@]}"} \
        "docker://$registry/$1" >"$work/raw" 2>"$work/inspect.err"; then
        echo "sha256:$(sha256sum <"$work/raw" | cut -d' ' -f1)"
    else
        echo nothing
    fi
}

# distribution 2.8 now and then answers 500 when two pushes into one
# repository check the same blob at once ("failed to read from destination
# repository"): a tag that did not arrive is pushed again, alone.
if [ "$failed" -ne 0 ]; then
    for line in "${lines[@]}"; do
        IFS=$'\t' read -r ref want src <<<"$line"
        if [ "$(served "$ref")" != "$want" ]; then
            say "pushing $ref again"
            logs[$ref]=${logs[$ref]}.again
            push_one "$ref" "$src" "${logs[$ref]}" || true
        fi
    done
    failed=0 # the check below decides
fi

# Check every tag, which also names the ones whose push failed.
bad=0
for line in "${lines[@]}"; do
    IFS=$'\t' read -r ref want _ <<<"$line"
    got=$(served "$ref")
    if [ "$got" != "$want" ]; then
        bad=$((bad + 1))
        echo "$prog: $registry/$ref: want $want, registry has $got" >&2
        sed 's/^/  skopeo: /' "${logs[$ref]}" | tail -n 5 >&2
    fi
done
[ "$bad" -eq 0 ] || die "$bad of ${#lines[@]} tags missing or wrong in $registry"
say "pushed ${#lines[@]} tags to $registry"
