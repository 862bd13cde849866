#!/usr/bin/env bash
# Install what the tests need, build libsyssem, and run the whole test suite:
# both Unix backends, as root and again as the ordinary user nobody from the
# same build; the suite under AddressSanitizer and UndefinedBehaviorSanitizer;
# the consumer projects; the Python package; the benchmark, briefly; the
# reliability variants (Valgrind, ThreadSanitizer, clang, musl, a libFuzzer
# run); the Windows build under Wine; FreeBSD's and macOS's fallbacks
# emulated on Linux; and at the end a check that the run left nothing
# behind (no semaphore, key file, POSIX name, or etcd server of this run).
# The etcd backend's tests (real etcd servers, one member and three, which
# they start and stop) are part of the suite: they run as root, as nobody
# and under the sanitizers with the rest.
# Run as root on Debian 12. Prints the time of every step; fails if any test
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
. .ci/lib.sh

# Every step's packages in one apt run; the steps' own scripts then find
# them installed.
# shellcheck disable=SC2046 # the words are package names
ci_step "packages" ci_install $(ci_packages test consumers bench reliability windows python)

# Every object the suite makes is named with this run's prefix, so the
# closing check counts this run's objects and no one else's: two runs at
# once (two build directories, two checkouts) do not fail each other.
ci_run_prefix
echo "objects of this run are named $SYSSEM_TEST_PREFIX*"

build_test() {
  ci_setup build-test -Dwerror=true -Dtests=enabled && ninja -C build-test
}
ci_step "build (warnings are errors)" build_test

# As root nothing may skip: not the root-only tests, not Qt.
as_root() {
  meson test -C build-test --print-errorlogs || true
  python3 .ci/testlog.py build-test --all --label "as root"
}
ci_step "test suite as root" as_root

# The same build as nobody: only the root-only tests skip, with reasons.
ci_step "test suite as nobody" bash .ci/unprivileged.sh build-test

asan() {
  ci_setup build-asan -Dwerror=true -Dtests=enabled \
    -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all \
    -Dcpp_args=-fno-sanitize-recover=all &&
    ninja -C build-asan || return 1
  # Every process of a test pays for its sanitizers at start and exit (the
  # tool's tests start some hundreds): three times the normal time allowed.
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --timeout-multiplier 3 || true
  python3 .ci/testlog.py build-asan --all --label "ASan + UBSan"
}
ci_step "test suite under ASan + UBSan" asan

ci_step "consumers: pkg-config, meson, CMake, symbols, man pages" bash .ci/consumers.sh
ci_step "Python package: built, installed, tested" bash .ci/python.sh
ci_step "benchmark, briefly (timings printed, never judged)" bash .ci/bench.sh
# Its figures and its Valgrind run come from build-test's whole suite.
ci_step "reliability: Valgrind, TSan, clang, musl, libFuzzer" \
  env RELIABILITY_BUILD="$PWD/build-test" bash .ci/reliability.sh
ci_step "Windows: mingw-w64 build, tests under Wine" bash .ci/windows.sh -Dwerror=true
ci_step "FreeBSD's and macOS's fallbacks, emulated on Linux" bash .ci/emulate.sh
ci_step "macOS: cross-build with zig, exports checked" bash .ci/macos.sh

# The etcd tests' servers keep their data in syssem-etcd-PREFIX-*: such a
# process still running was left by this run.
leftovers() {
  local status=0
  if ! build-test/tests/support/leftovers "$SYSSEM_TEST_PREFIX"; then
    echo "the run left these behind (above)"
    status=1
  fi
  if pgrep -a -x etcd | grep -F "syssem-etcd-$SYSSEM_TEST_PREFIX-"; then
    echo "etcd servers the tests started are still running (above)"
    status=1
  fi
  ((status == 0)) &&
    echo "no semaphore, key file, POSIX name or etcd server of $SYSSEM_TEST_PREFIX* left"
}
ci_step "nothing left behind" leftovers

ci_report
