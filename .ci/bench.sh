#!/usr/bin/env bash
# Keeps the benchmark from rotting: builds it with warnings as errors, with
# the Qt and Boost arms, runs every table briefly (BENCH_QUICK=1), draws the
# charts from that run, and where Valgrind is installed counts instructions.
# Never judges a timing: it fails only if the build fails, an operation
# fails or a semaphore lets more holders in than it has tokens (the
# benchmark then exits non-zero), the charts cannot be drawn, or a
# semaphore, key file or /dev/shm entry is left behind. About a minute.
#
#   bash .ci/bench.sh              build tree build-bench-ci (BENCH_BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_BUILD_DIR:-build-bench-ci}

# shellcheck source=.ci/lib.sh
. .ci/lib.sh
# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages bench)

out=$(mktemp)
data=$(mktemp -d)
trap 'rm -rf "$out" "$data"' EXIT

if [ -d "$dir" ]; then
  meson setup --reconfigure "$dir" --buildtype=release -Dwerror=true -Dtests=enabled >/dev/null
else
  meson setup "$dir" --buildtype=release -Dwerror=true -Dtests=enabled >/dev/null
fi
ninja -C "$dir" bench/bench tests/support/leftovers

ci_run_prefix
export BENCH_QUICK=1
"$dir/bench/bench" --data "$data/numbers" | tee "$out"
for arm in QSystemSemaphore 'boost named_semaphore'; do
  grep -q "$arm" "$out" || { echo "bench.sh: no $arm rows" >&2; exit 1; }
done
sh bench/plot.sh "$data/numbers" "$data/charts"
if command -v valgrind >/dev/null; then
  sh bench/callgrind.sh "$dir/bench/bench"
fi

# The benchmark's keys all start with the run's prefix and "bench": what is
# left of its key files and POSIX names is found by that, where the library
# keeps them (tests/support/leftovers asks it), and other runs or files on
# the machine do not count. A set goes with its key file.
if ! "$dir/tests/support/leftovers" "${SYSSEM_TEST_PREFIX}bench"; then
  echo "bench.sh: left behind (above)" >&2
  exit 1
fi
echo "bench.sh: built, ran, drew the charts, nothing left behind (timings are not judged)"
