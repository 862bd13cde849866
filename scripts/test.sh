#!/usr/bin/env bash
# Install what the tests need, build libsyssem, and run the whole test suite:
# both Unix backends, the same again under AddressSanitizer and
# UndefinedBehaviorSanitizer, the consumer projects, the Python package, the
# reliability variants (Valgrind, ThreadSanitizer, clang, musl, a libFuzzer
# run), the Windows build under Wine, FreeBSD's and macOS's fallbacks emulated
# on Linux, the macOS cross-build, and at the end a check that nothing was
# left behind. The suite runs twice from one build: as root, and as the
# ordinary user nobody. Run as root on Debian 12. Fails if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  gcc g++ libc6-dev meson ninja-build pkg-config libcmocka-dev \
  qt6-base-dev qtbase5-dev util-linux

# Every object the suite makes is named with this run's prefix (letters
# only: they stay in a legacy name), so the closing check counts this run's
# objects and no one else's: two runs at once do not fail each other.
SYSSEM_TEST_PREFIX=sst
for b in $(od -An -N8 -tu1 /dev/urandom); do
  SYSSEM_TEST_PREFIX+=$(printf "\\$(printf %03o $((107 + b % 15)))") # k-y
done
export SYSSEM_TEST_PREFIX

setup() { # setup DIR [meson options...]
  local dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

echo "== build and test (warnings are errors), as root"
setup build-test -Dwerror=true -Dtests=enabled
ninja -C build-test
meson test -C build-test --print-errorlogs || true
# As root nothing may skip: not the root-only tests, not Qt.
python3 .ci/testlog.py build-test --label "as root"

echo "== the same build, as an ordinary user (nobody)"
bash .ci/unprivileged.sh build-test

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

echo "== Python: the package built, installed and tested (python/, docs/python.md)"
bash .ci/python.sh

echo "== benchmark: builds and runs briefly (timings are printed, never judged)"
bash .ci/bench.sh

echo "== reliability: Valgrind, ThreadSanitizer, clang, musl, libFuzzer"
bash .ci/reliability.sh

echo "== Windows: cross-build with mingw-w64, test under Wine"
bash .ci/windows.sh -Dwerror=true

echo "== other systems' fallbacks on Linux: -Demulate=freebsd and darwin"
bash .ci/emulate.sh

echo "== macOS: cross-build of the library and the tool with zig, exports checked"
bash .ci/macos.sh

echo "== etcd: the etcd backend against real etcd servers, single and 3-member"
bash .ci/etcd.sh

echo "== nothing left behind (objects named $SYSSEM_TEST_PREFIX*)"
if ! build-test/tests/support/leftovers "$SYSSEM_TEST_PREFIX"; then
  echo "the test run left these behind (above)"
  exit 1
fi
echo "no semaphore, key file or POSIX name left behind"
