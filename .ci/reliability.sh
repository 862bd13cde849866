#!/usr/bin/env bash
# Reliability and security runs of libsyssem on Debian 12 (Unix backends; the
# Win32 backend has its own CI). What each step checks: docs/reliability.md.
#
#   bash .ci/reliability.sh             everything, CI counts
#   FUZZ_SECONDS=600 bash .ci/reliability.sh   a longer fuzzing run
#   RELIABILITY_DIR=/some/dir ...       where the build trees go
#
# Steps: gcc -Werror build + reliability suite (figures collected), the whole
# test suite under Valgrind memcheck, AddressSanitizer + UBSan (gcc),
# ThreadSanitizer (clang) on the threaded tests, clang -Werror, musl-gcc
# -Werror (cmocka built for musl from Debian's source package), libFuzzer on
# the key code. Runs as root (the other-user and IPC-namespace tests need
# it); idempotent; runs every step and exits non-zero if any failed.
set -euo pipefail

cd "$(dirname "$0")/.."
src=$PWD
work=${RELIABILITY_DIR:-$src/build-reliability}
fuzz_seconds=${FUZZ_SECONDS:-60}
t0=$(date +%s)
mkdir -p "$work"
: > "$work/times.txt"

step() {
  printf '\n=== %s (at %ss)\n' "$*" "$(($(date +%s) - t0))"
}

# NAME COMMAND...: run, note how long it took and whether it failed. A
# failing step does not stop the others; the script fails at the end.
failed=()
timed() {
  local name=$1 s rc=0
  shift
  s=$(date +%s)
  "$@" || rc=$?
  ((rc == 0)) || failed+=("$name")
  printf '%-28s %4ss  %s\n' "$name" "$(($(date +%s) - s))" \
    "$( ((rc == 0)) && echo ok || echo FAILED)" | tee -a "$work/times.txt"
}

# Packages ---------------------------------------------------------------
need=()
for p in meson ninja-build pkg-config gcc libcmocka-dev clang libclang-rt-14-dev \
         valgrind musl-tools cmake dpkg-dev util-linux xz-utils; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  step "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ "$(id -u)" != 0 ]; then
  echo "reliability.sh: run as root (other-user and IPC-namespace tests)" >&2
  exit 1
fi

# A fresh build tree DIR with the given setup options.
setup() {
  local dir=$1
  shift
  rm -rf "$dir"
  meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
}

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# 1. gcc, warnings as errors: the reliability suite, figures ----------------
step "gcc -Werror: reliability suite"
setup "$work/gcc" -Dwerror=true
timed gcc-reliability meson test -C "$work/gcc" --suite reliability --print-errorlogs
grep -h '^FIGURE' "$work/gcc/meson-logs/testlog.txt" > "$work/figures.txt"
cat "$work/figures.txt"

# 2. Valgrind memcheck, the whole suite (setup from tests/reliability) -------
step "valgrind memcheck: whole suite"
timed valgrind-all meson test -C "$work/gcc" --setup valgrind --print-errorlogs

# 3. AddressSanitizer + UndefinedBehaviorSanitizer, the whole suite ---------
step "ASan + UBSan (gcc): whole suite"
setup "$work/asan" -Dwerror=true -Db_sanitize=address,undefined \
  -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all
timed asan-ubsan-all meson test -C "$work/asan" --print-errorlogs

# 4. ThreadSanitizer: the threaded tests ------------------------------------
step "TSan (clang): threaded tests"
CC=clang CXX=clang++ setup "$work/tsan" -Db_sanitize=thread -Db_lundef=false
timed tsan-threads meson test -C "$work/tsan" threads-sysv threads-posix --print-errorlogs

# 5. clang, warnings as errors, the whole suite ------------------------------
step "clang -Werror: whole suite"
CC=clang CXX=clang++ setup "$work/clang" -Dwerror=true
timed clang-all meson test -C "$work/clang" --print-errorlogs

# 6. musl ------------------------------------------------------------------
# Debian ships cmocka for glibc only: build it for musl from Debian's own
# source package. The deb-src entry is derived from this machine's sources.
step "musl-gcc -Werror: whole suite"
cmocka_musl=$work/cmocka-musl
if [ ! -f "$cmocka_musl/lib/pkgconfig/cmocka.pc" ]; then
  if ! grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        > /etc/apt/sources.list.d/syssem-reliability-src.sources
    else
      sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
        > /etc/apt/sources.list.d/syssem-reliability-src.list
    fi
    apt-get update -qq
  fi
  rm -rf "$work/cmocka-src" && mkdir -p "$work/cmocka-src"
  (cd "$work/cmocka-src" && apt-get source -qq --download-only cmocka >/dev/null 2>&1 &&
     tar xf cmocka_*.orig.tar.xz)
  CC=musl-gcc cmake -S "$(echo "$work"/cmocka-src/cmocka-*/)" -B "$work/cmocka-build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$cmocka_musl" \
    -DCMAKE_INSTALL_LIBDIR=lib -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF >/dev/null
  ninja -C "$work/cmocka-build" install >/dev/null
fi
CC=musl-gcc PKG_CONFIG_LIBDIR="$cmocka_musl/lib/pkgconfig" \
  setup "$work/musl" -Dwerror=true
LD_LIBRARY_PATH="$cmocka_musl/lib" \
  timed musl-all meson test -C "$work/musl" --print-errorlogs

# 7. libFuzzer on the key code -----------------------------------------------
step "libFuzzer: key parsing, ${fuzz_seconds}s"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$src/include" -I"$src/src" -I"$work/gcc" \
  "$src/fuzz/fuzz_key.c" "$src/src/key.c" "$src/src/etcd_key.c" \
  -o "$work/fuzz_key"
rm -rf "$work/fuzz-corpus" && mkdir -p "$work/fuzz-corpus"
# New inputs go to the scratch corpus; the repository's is only read.
timed "fuzz-${fuzz_seconds}s" "$work/fuzz_key" -max_total_time="$fuzz_seconds" \
  -max_len=8192 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/fuzz-corpus" "$src/fuzz/corpus" \
  2>"$work/fuzz.log"
tail -5 "$work/fuzz.log"
grep -E '^stat::number_of_executed_units' "$work/fuzz.log" || true

step "done"
printf '%-28s %4ss\n' total "$(($(date +%s) - t0))" | tee -a "$work/times.txt"
if ((${#failed[@]})); then
  echo "reliability.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
