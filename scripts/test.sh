#!/usr/bin/env bash
# Build ferry with warnings as errors under ASan and UBSan and run every test:
# unit, fuzz corpus replay and integration (which start their own registries on
# 127.0.0.1). This is the command .ci/run calls.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/install-deps.sh"
build=${FERRY_TEST_BUILD:-$here/build/asan}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFERRY_WERROR=ON \
  -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  >/dev/null
cmake --build "$build" -j"$(nproc)"
# Registry processes and curl keep descriptors past exit; leak checks stay on
# for our code through ASan's default.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j2 "$@"
