#!/usr/bin/env bash
# Keeps the benchmark from rotting: builds it with warnings as errors and
# runs it briefly (BENCH_QUICK=1), the timed table and, where Valgrind is
# installed, the callgrind count. Never judges a timing: it fails only if the
# build fails, an operation fails, the benchmark exits non-zero, or a
# semaphore, key file or /dev/shm entry is left behind. Under a minute.
#
#   bash .ci/bench.sh              build tree build-bench-ci (BENCH_BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_BUILD_DIR:-build-bench-ci}

leftovers() {
  { ipcs -s | awk '/^0x/ { print "sysv set", $2 }'
    ls "${TMPDIR:-/tmp}" | grep '^qipc_systemsem_' | sed 's/^/key file /' || true
    ls /dev/shm | sed 's/^/shm /' || true
  } | sort
}
before=$(mktemp)
out=$(mktemp)
trap 'rm -f "$before" "$out"' EXIT
leftovers >"$before"

if [ -d "$dir" ]; then
  meson setup --reconfigure "$dir" --buildtype=release -Dwerror=true >/dev/null
else
  meson setup "$dir" --buildtype=release -Dwerror=true >/dev/null
fi
ninja -C "$dir" bench/bench

export BENCH_QUICK=1
"$dir/bench/bench" | tee "$out"
if grep -q 'failed operations\|FAILED' "$out"; then
  echo "bench.sh: the benchmark saw operations fail" >&2
  exit 1
fi
if command -v valgrind >/dev/null; then
  sh bench/callgrind.sh "$dir/bench/bench"
fi

left=$(leftovers | comm -13 "$before" -)
if [ -n "$left" ]; then
  printf 'bench.sh: left behind:\n%s\n' "$left" >&2
  exit 1
fi
echo "bench.sh: built, ran, nothing left behind (timings are not judged)"
