#!/usr/bin/env bash
# Reliability and security runs of libsyssem on Debian 12 (Unix backends; the
# Win32 backend has its own CI). What each step checks: docs/reliability.md.
#
#   bash .ci/reliability.sh             everything, CI counts
#   FUZZ_SECONDS=600 bash .ci/reliability.sh   a longer fuzzing run
#   RELIABILITY_DIR=/some/dir ...       where the build trees go
#   RELIABILITY_BUILD=build-test ...    a gcc -Werror build whose whole suite
#                                       just ran: its figures are collected
#                                       and Valgrind runs on it (scripts/test.sh)
#
# Steps: gcc -Werror build + reliability suite (figures collected), the test
# suite under Valgrind memcheck, ThreadSanitizer (clang) on the threaded
# tests, clang -Werror, musl-gcc -Werror (cmocka built for musl
# from Debian's source package, .ci/lib.sh), libFuzzer on the key code
# (meson -Dfuzzer=enabled). The whole suite under AddressSanitizer and
# UndefinedBehaviorSanitizer is scripts/test.sh's step. Runs as root (the
# root-only tests must run, not skip); idempotent; runs every step, prints
# their times, and exits non-zero if any failed.
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=$CI_REPO
work=${RELIABILITY_DIR:-$src/build-reliability}
fuzz_seconds=${FUZZ_SECONDS:-60}
mkdir -p "$work"

# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages test reliability)
if [ "$(id -u)" != 0 ]; then
  echo "reliability.sh: run as root (other-user and IPC-namespace tests)" >&2
  exit 1
fi
ci_run_prefix

# A fresh build tree DIR with the given setup options, quietly.
setup() {
  local dir=$1
  shift
  rm -rf "$dir"
  meson setup "$dir" "$src" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
}

# suite DIR [SKIPS_ALLOWED [meson test arguments]]: meson test in DIR, then
# the log's verdict. As root nothing may skip, but what SKIPS_ALLOWED matches;
# a run of the whole suite must give every test a result.
suite() {
  local dir=$1 allowed=${2:-} opts=()
  shift $(($# < 2 ? $# : 2))
  [[ " $* " == *" --setup valgrind "* ]] && opts+=(--setup valgrind)
  [[ " $* " == *" --suite "* || " $* " == *" --no-suite "* ||
     " $* " == *" --no-rebuild "* ]] || opts+=(--all)
  meson test -C "$dir" --print-errorlogs "$@" || true
  python3 "$src/.ci/testlog.py" "$dir" "${opts[@]}" ${allowed:+--skips-allowed="$allowed"}
}

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

gcc_reliability() {
  setup "$work/gcc" -Dwerror=true
  suite "$work/gcc" '' --suite reliability || return 1
  figures "$work/gcc"
}
figures() {
  grep -h '^FIGURE' "$1/meson-logs/testlog.txt" >"$work/figures.txt"
  cat "$work/figures.txt"
}
gcc=${RELIABILITY_BUILD:-}
if [ -n "$gcc" ]; then
  ci_step "figures of $gcc" figures "$gcc"
else
  gcc=$work/gcc
  ci_step "gcc -Werror: reliability suite" gcc_reliability
fi

# Under Valgrind exhaustion (descriptor limits it emulates) and races (their
# timing windows) have nothing to run, and say so. The etcd suite (its
# servers, its lease times) runs under the sanitizers instead
# (scripts/test.sh).
ci_step "valgrind memcheck: the suite but etcd's" suite "$gcc" \
  '(exhaustion|races)-(root-)?(sysv|posix)$' --setup valgrind --no-suite etcd

# Only what the threaded tests need is built.
tsan() {
  CC=clang CXX=clang++ setup "$work/tsan" -Db_sanitize=thread -Db_lundef=false
  ninja -C "$work/tsan" tests/test_threads tests/syssem_test_helper >/dev/null &&
    suite "$work/tsan" '' --no-rebuild threads-sysv threads-posix
}
ci_step "TSan (clang): threaded tests" tsan

# Everything is built; the etcd suite, a minute of servers and lease times
# that clang's code does not change, runs in the gcc builds.
clang_all() {
  CC=clang CXX=clang++ setup "$work/clang" -Dwerror=true || return 1
  ninja -C "$work/clang" >"$work/clang.build.log" ||
    { tail -40 "$work/clang.build.log"; return 1; }
  suite "$work/clang" '' --no-suite etcd
}
ci_step "clang -Werror: the suite but etcd's" clang_all

# Debian ships cmocka for glibc only: lib.sh builds it for musl.
musl_all() {
  local pc
  pc=$(ci_cmocka musl) || return 1
  CC=musl-gcc PKG_CONFIG_LIBDIR="$pc" setup "$work/musl" -Dwerror=true \
    -Detcd=disabled
  # No Qt for musl: the Qt tests skip, and only they may.
  suite "$work/musl" '-interop$'
}
ci_step "musl-gcc -Werror: whole suite" musl_all

# The libFuzzer target, built by meson with clang's -fsanitize=fuzzer and
# the whole library under libFuzzer's coverage instrumentation.
fuzz() {
  CC=clang CXX=clang++ setup "$work/fuzz" -Dfuzzer=enabled -Dtests=disabled \
    -Dtools=false -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all
  ninja -C "$work/fuzz" fuzz/fuzz_key >/dev/null
  rm -rf "$work/fuzz-corpus" && mkdir -p "$work/fuzz-corpus"
  # New inputs go to the scratch corpus; the repository's is only read.
  "$work/fuzz/fuzz/fuzz_key" -max_total_time="$fuzz_seconds" \
    -max_len=8192 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/fuzz-corpus" "$src/fuzz/corpus" \
    2>"$work/fuzz.log" || { tail -30 "$work/fuzz.log"; return 1; }
  tail -5 "$work/fuzz.log"
  grep -E '^stat::number_of_executed_units' "$work/fuzz.log" || true
}
ci_step "libFuzzer: key parsing, ${fuzz_seconds}s" fuzz

ci_report | tee "$work/times.txt"
