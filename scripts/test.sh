#!/usr/bin/env bash
# Install what the tests need, build libsyssem, and run the whole test suite:
# both Unix backends, the same again under AddressSanitizer and
# UndefinedBehaviorSanitizer, the consumer projects, the reliability
# variants (Valgrind, ThreadSanitizer, clang, musl, a libFuzzer run), the
# Windows build under Wine, and at the end a check that nothing was left
# behind. Run as root on Debian 12. Fails if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  gcc g++ libc6-dev meson ninja-build pkg-config libcmocka-dev \
  qt6-base-dev qtbase5-dev util-linux

# What exists before the run, so that only what the run leaves counts.
leftovers() {
  { ipcs -s | awk '/^0x/ { print "sysv set", $1 }'
    ls "${TMPDIR:-/tmp}" | grep '^qipc_systemsem_' | sed 's/^/key file /' || true
    ls /dev/shm | grep '^sem\.' | sed 's/^/posix /' || true
  } | sort
}
before=$(mktemp)
leftovers >"$before"

setup() { # setup DIR [meson options...]
  local dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

echo "== build and test (warnings are errors)"
setup build-test -Dwerror=true -Dtests=enabled
ninja -C build-test
meson test -C build-test --print-errorlogs

echo "== the same under AddressSanitizer + UndefinedBehaviorSanitizer"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
setup build-asan -Dwerror=true -Dtests=enabled -Db_sanitize=address,undefined \
  -Dc_args=-fno-sanitize-recover=all
ninja -C build-asan
meson test -C build-asan --print-errorlogs
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== consumers: pkg-config, meson subproject, CMake, C++, symbols, man pages"
bash .ci/consumers.sh

echo "== benchmark: builds and runs briefly (timings are printed, never judged)"
bash .ci/bench.sh

echo "== reliability: Valgrind, ThreadSanitizer, clang, musl, libFuzzer"
bash .ci/reliability.sh

echo "== Windows: cross-build with mingw-w64, test under Wine"
bash .ci/windows.sh -Dwerror=true

echo "== nothing left behind"
after=$(mktemp)
leftovers >"$after"
new=$(comm -13 "$before" "$after")
rm -f "$before" "$after"
if [ -n "$new" ]; then
  echo "the test run left these behind:"
  echo "$new"
  exit 1
fi
echo "no semaphore, key file or POSIX name left behind"
cd "$top"
