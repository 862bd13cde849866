#!/usr/bin/env bash
# Consumers' CI: install libsyssem into a temporary prefix the way its users
# do, then prove every route into it with a real consumer project
# (tests/consumers/): pkg-config (shared and --static), C++, a meson parent
# project (subproject by link and by wrap), CMake (package and pkg-config),
# plus the symbol, header, soname and manual page checks.
#
# Prints one PASS or FAIL line per check, the output of each failing one, and
# a closing "consumers: N passed, M failed". Exits non-zero on any failure.
# Needs nothing installed beforehand on Debian 12: it installs what it lacks.

# $(pkg-config ...) is left unquoted on purpose: its words are the flags.
# shellcheck disable=SC2046
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
consumers=$repo/tests/consumers
started=$SECONDS

# --- what the checks need --------------------------------------------------
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages consumers)

work=$(mktemp -d "${TMPDIR:-/tmp}/syssem-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
PREFIX=$work/prefix
BUILD=$work/build
unset PKG_CONFIG_PATH

# --- running checks --------------------------------------------------------
passed=0
failed=0

# check NAME FUNCTION [ARG...]: run FUNCTION in a subshell that stops at its
# first failing command; one line for the result, the output on failure.
check() {
  local name=$1 rc
  shift
  set +e
  (set -euo pipefail; "$@") >"$work/check.log" 2>&1
  rc=$?
  set -e
  if ((rc == 0)); then
    echo "PASS  $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    tail -n 60 "$work/check.log" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}

fail() {
  echo "$*" >&2
  exit 1
}

# run_app PROGRAM [ENV...]: the consumer program must print "ok: ...".
run_app() {
  local prog=$1 out
  shift
  out=$(env "$@" "$prog")
  echo "$out"
  [[ $out == ok:* ]] || fail "$prog did not print ok"
}

# The libraries that PROGRAM needs, one a line.
needed() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# links_shared PROGRAM DIR: PROGRAM needs libsyssem.so.MAJOR, found in DIR.
links_shared() {
  local where
  needed "$1" | grep -qx "libsyssem.so.$major" ||
    fail "$1 does not need libsyssem.so.$major: $(needed "$1" | tr '\n' ' ')"
  where=$(env ${3:+"$3"} ldd "$1" | sed -n 's/.*libsyssem[^ ]* => \([^ ]*\).*/\1/p')
  [[ $where == "$2"/* ]] || fail "$1 loads libsyssem from '$where', not $2"
}

# links_static PROGRAM: libsyssem is inside PROGRAM.
links_static() {
  if needed "$1" | grep -q libsyssem; then
    fail "$1 needs a shared libsyssem: $(needed "$1" | tr '\n' ' ')"
  fi
}

# --- the library, as a user installs it ------------------------------------
install_library() {
  cd "$repo"
  meson setup "$BUILD" --prefix="$PREFIX" --libdir=lib -Dtests=disabled \
    -Ddefault_library=both
  meson install -C "$BUILD"
}
check "meson install into a temporary prefix" install_library
if ((failed)); then
  echo "consumers: $passed passed, $failed failed"
  exit 1
fi

version=$(meson introspect "$BUILD" --projectinfo |
          grep -o '"version": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
major=${version%%.*}
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
echo "      libsyssem $version, prefix $PREFIX"

# The function names that the header declares with SYSSEM_EXTERN.
header_functions() {
  gcc -fpreprocessed -dD -E -P "$PREFIX/include/syssem.h" |
    grep -v '^[[:space:]]*#' | tr '\n' ' ' |
    grep -o 'SYSSEM_EXTERN[^;]*;' |
    sed -E 's/^[^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\(.*/\1/' |
    sort
}

installed_files() {
  local f
  for f in include/syssem.h include/syssem_version.h \
           lib/libsyssem.so "lib/libsyssem.so.$major" "lib/libsyssem.so.$version" \
           lib/libsyssem.a lib/pkgconfig/syssem.pc \
           lib/cmake/syssem/syssemConfig.cmake \
           lib/cmake/syssem/syssemConfigVersion.cmake; do
    [[ -e $PREFIX/$f ]] || fail "not installed: $f"
  done
  [[ $(pkg-config --modversion syssem) == "$version" ]] ||
    fail "syssem.pc says $(pkg-config --modversion syssem), the project $version"
}
check "installed headers, libraries, syssem.pc and CMake package" installed_files

# ABI rule (meson.build, README): soname libsyssem.so.MAJOR, 0 while 0.y.
soname() {
  local so
  so=$(readelf -d "$PREFIX/lib/libsyssem.so.$version" |
       sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  echo "soname $so"
  [[ $so == "libsyssem.so.$major" ]] ||
    fail "soname is '$so', the rule for $version gives libsyssem.so.$major"
  [[ $(readlink "$PREFIX/lib/libsyssem.so") == "libsyssem.so.$major" ]] ||
    fail "libsyssem.so does not point at libsyssem.so.$major"
  [[ $(readlink "$PREFIX/lib/libsyssem.so.$major") == "libsyssem.so.$version" ]] ||
    fail "libsyssem.so.$major does not point at libsyssem.so.$version"
}
check "soname is libsyssem.so.$major for version $version" soname

exports() {
  local want got
  want=$(header_functions)
  got=$(nm -D --defined-only "$PREFIX/lib/libsyssem.so.$version" |
        awk '{ print $NF }' | sort)
  [[ $(wc -l <<<"$want") -ge 18 ]] || fail "header parse found only: $want"
  echo "$(wc -l <<<"$got") exported, $(wc -l <<<"$want") declared"
  diff <(echo "$want") <(echo "$got") ||
    fail "exported (>) and declared (<) symbols differ"
}
check "shared library exports exactly the header's syssem_* functions" exports

archive_globals() {
  local bad
  bad=$(nm -g --defined-only "$PREFIX/lib/libsyssem.a" |
        awk 'NF == 3 && $3 !~ /^syssem_/ { print $3 }')
  [[ -z $bad ]] || fail "global symbols outside syssem_*: $bad"
}
check "static library defines no global symbol outside syssem_*" archive_globals

# The header alone, as strict as compilers go, in C and C++.
header_alone() {
  local cc std src=$work/header.c
  cat >"$src" <<'EOF'
#include <syssem.h>
int main(void)
{
  syssem_options_t opts = SYSSEM_OPTIONS_INIT;
  (void)opts;
  return SYSSEM_VERSION_NUMBER > 0 ? syssem_last_error() : SYSSEM_EINVAL;
}
EOF
  cp "$src" "$work/header.cpp"
  for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    for std in c89 c99 c11; do
      echo "$cc -std=$std"
      $cc -std=$std -pedantic -Wall -Wextra -Werror -Wstrict-prototypes \
        -Wundef -I"$PREFIX/include" -c "$src" -o "$work/header.o"
    done
  done
  for cc in g++ clang++; do
    command -v $cc >/dev/null || continue
    for std in c++98 c++11 c++17 c++20; do
      echo "$cc -std=$std"
      $cc -std=$std -pedantic -Wall -Wextra -Werror -Wold-style-cast \
        -Wundef -I"$PREFIX/include" -c "$work/header.cpp" -o "$work/header.o"
    done
  done
}
check "syssem.h compiles with -std=c89 -pedantic -Werror and as C++" header_alone

# --- pkg-config ------------------------------------------------------------
# README "Using libsyssem" shows these lines as they are, run here next to a
# copy of tests/consumers/app.c and app.cpp.
in_pc_dir() {
  mkdir -p "$work/pc"
  cp "$consumers/app.c" "$consumers/app.cpp" "$work/pc/"
  cd "$work/pc"
}

pkg_config_shared() {
  in_pc_dir
  cc app.c $(pkg-config --cflags --libs syssem) -o app
  LD_LIBRARY_PATH="$PREFIX/lib" ./app
  links_shared ./app "$PREFIX/lib" LD_LIBRARY_PATH="$PREFIX/lib"
  run_app ./app LD_LIBRARY_PATH="$PREFIX/lib" SYSSEM_BACKEND=posix
}
check "cc app.c \$(pkg-config --cflags --libs syssem), both backends" pkg_config_shared

pkg_config_static() {
  in_pc_dir
  [[ " $(pkg-config --static --libs syssem) " == *" -pthread "* ]] ||
    fail "pkg-config --static gives no -pthread: $(pkg-config --static --libs syssem)"
  cc -static app.c $(pkg-config --static --cflags --libs syssem) -o app-static
  ./app-static
  links_static ./app-static
}
check "cc -static app.c \$(pkg-config --static --cflags --libs syssem)" pkg_config_static

cxx_program() {
  in_pc_dir
  c++ app.cpp $(pkg-config --cflags --libs syssem) -o app-cpp
  LD_LIBRARY_PATH="$PREFIX/lib" ./app-cpp
  links_shared ./app-cpp "$PREFIX/lib" LD_LIBRARY_PATH="$PREFIX/lib"
}
check "c++ app.cpp \$(pkg-config --cflags --libs syssem)" cxx_program

# --- meson subproject ------------------------------------------------------
# The parent project of tests/consumers/PARENT/ (default: meson) in DIR, with
# its app.c; subprojects/ is left to the caller.
meson_parent() {
  mkdir -p "$1/subprojects"
  cp "$consumers/${2:-meson}/meson.build" "$consumers/app.c" "$1/"
}

# Build, run and install the parent in the current directory: libsyssem is
# linked in, and the parent's install holds its program and nothing else.
meson_parent_build() {
  local staged=$PWD/staged files
  env -u PKG_CONFIG_PATH meson setup build --force-fallback-for=syssem
  meson compile -C build
  ./build/app
  links_static ./build/app
  meson install -C build --destdir "$staged"
  # Its program, and the etcd module that a static libsyssem in it loads
  # for etcd:// keys, when the module is built; nothing else.
  files=$(cd "$staged" && find . ! -type d | sort)
  echo "the parent installs: $files"
  [[ $(grep -cv '/syssem/libsyssem-etcd\.so$' <<<"$files") -eq 1 &&
     $(grep -v '/syssem/libsyssem-etcd\.so$' <<<"$files") == ./*/bin/app ]] ||
    fail "the parent's install holds more than its program"
}

# meson_link [PARENT]: the parent, libsyssem linked into subprojects/.
meson_link() {
  local parent=${1:-meson}
  meson_parent "$work/$parent-link" "$parent"
  cd "$work/$parent-link"
  ln -s "$repo" subprojects/syssem
  meson_parent_build
}
check "meson parent with default_library=static: static libsyssem, installs its program (and the etcd module)" meson_link
check "meson parent, dependency('syssem', static : true): static libsyssem" \
  meson_link meson-static-dep
check "meson parent, subproject('syssem', default_library=static): static libsyssem" \
  meson_link meson-subproject

meson_wrap() {
  local rev
  rev=$(git -C "$repo" rev-parse HEAD)
  meson_parent "$work/meson-wrap"
  cd "$work/meson-wrap"
  cat >subprojects/syssem.wrap <<EOF
[wrap-git]
url = $repo
revision = $rev

[provide]
dependency_names = syssem
EOF
  meson_parent_build
}
if git -C "$repo" rev-parse HEAD >/dev/null 2>&1; then
  check "meson subproject (wrap-git with [provide]) of HEAD" meson_wrap
else
  echo "SKIP  meson subproject (wrap-git): $repo is not a git checkout"
fi

# --- CMake -----------------------------------------------------------------
# cmake_app DIR [OPTION...]: configure and build tests/consumers/cmake.
cmake_app() {
  local dir=$1
  shift
  cmake -S "$consumers/cmake" -B "$dir" "$@"
  cmake --build "$dir"
}

cmake_package() {
  cmake_app "$work/cmake" -DCMAKE_PREFIX_PATH="$PREFIX"
  run_app "$work/cmake/app"
  links_shared "$work/cmake/app" "$PREFIX/lib"
}
check "CMake find_package(syssem CONFIG), syssem::syssem" cmake_package

cmake_package_static() {
  cmake_app "$work/cmake-static" -DCMAKE_PREFIX_PATH="$PREFIX" -DSYSSEM_STATIC=ON
  run_app "$work/cmake-static/app"
  links_static "$work/cmake-static/app"
}
check "CMake find_package(syssem CONFIG), syssem::syssem_static" cmake_package_static

cmake_pkg_config() {
  cmake_app "$work/cmake-pc" -DSYSSEM_VIA_PKG_CONFIG=ON
  run_app "$work/cmake-pc/app"
  links_shared "$work/cmake-pc/app" "$PREFIX/lib"
}
check "CMake pkg_check_modules(syssem)" cmake_pkg_config

# SameMajorVersion: this version and MAJOR.0 are accepted, the next major
# is not.
cmake_versions() {
  local v
  for v in "$version" "$major.0"; do
    cmake -S "$consumers/cmake" -B "$work/cmake-v$v" -DCMAKE_PREFIX_PATH="$PREFIX" \
      -DSYSSEM_VERSION="$v" >/dev/null
  done
  if cmake -S "$consumers/cmake" -B "$work/cmake-next" -DCMAKE_PREFIX_PATH="$PREFIX" \
      -DSYSSEM_VERSION="$((major + 1)).0"; then
    fail "find_package(syssem $((major + 1)).0) accepted $version"
  fi
  echo "find_package(syssem $((major + 1)).0) refused $version, as it must"
}
check "CMake version rule: $version and $major.0 accepted, $((major + 1)).0 refused" cmake_versions

# The package finds itself from its own place: a copied prefix works alone.
cmake_moved() {
  cp -a "$PREFIX" "$work/moved"
  cmake_app "$work/cmake-moved" -DCMAKE_PREFIX_PATH="$work/moved"
  links_shared "$work/cmake-moved/app" "$work/moved/lib"
  run_app "$work/cmake-moved/app"
}
check "CMake package of a moved prefix" cmake_moved

# A static-only libsyssem: syssem::syssem is then the static library.
cmake_static_only() {
  local prefix=$work/prefix-static
  cd "$repo"
  meson setup "$work/build-static" --prefix="$prefix" --libdir=lib \
    -Dtests=disabled -Dtools=false -Ddefault_library=static
  meson install -C "$work/build-static"
  [[ ! -e $prefix/lib/libsyssem.so ]] || fail "a shared library was installed"
  cmake_app "$work/cmake-static-only" -DCMAKE_PREFIX_PATH="$prefix"
  run_app "$work/cmake-static-only/app"
  links_static "$work/cmake-static-only/app"
}
check "CMake package of a default_library=static install" cmake_static_only

# --- manual pages ----------------------------------------------------------
# Every function of the header has a page (its own, or a symbolic link to
# its group's page, whose NAME lists it), and each renders without a word
# from man.
man_installed() {
  local f fn page out
  export LC_ALL=C
  for f in "$repo"/man/*.3; do
    [[ -f $PREFIX/share/man/man3/${f##*/} ]] || fail "not installed: ${f##*/}"
  done
  for fn in syssem $(header_functions); do
    page=$(man -M "$PREFIX/share/man" -w "$fn") || fail "man $fn: no page"
    if [[ -L $page ]]; then
      [[ $(readlink "$page") != */* && -f $page ]] ||
        fail "$page links to $(readlink "$page"), not a page beside it"
    fi
    sed -n '/^\.SH NAME/,/\\-/p' "$page" | grep -w "$fn" >/dev/null ||
      fail "man $fn shows $page, whose NAME does not list $fn"
    out=$(man --warnings -M "$PREFIX/share/man" -P cat "$fn" 2>&1 >/dev/null)
    [[ -z $out ]] || fail "man --warnings $fn: $out"
    out=$(man -M "$PREFIX/share/man" -P cat "$fn")
    grep -q '^NAME' <<<"$out" || fail "man $fn does not render: $out"
  done
  set -- "$PREFIX"/share/man/man3/*
  echo "$# pages in man3 ($(find "$PREFIX/share/man/man3" -type l | wc -l) links)"
}
check "a manual page for syssem(3) and every function, installed" man_installed

# Every installed page and link, as mandoc and groff read them: not one
# message (mandoc -T lint shows everything down to style).
man_lint() {
  local out page
  cd "$PREFIX/share/man"
  for page in man*/*; do
    out=$(mandoc -T lint "$page" 2>&1) || true
    [[ -z $out ]] || fail "mandoc: $out"
    out=$(groff -ww -z -man "$page" 2>&1) || true
    [[ -z $out ]] || fail "groff: $out"
  done
  echo "linted: $(echo man*/*)"
}
check "manual pages lint clean (mandoc -T lint, groff -ww)" man_lint

# The pages against the header: every function has one, the SYNOPSIS
# declares it as the header does, the codes listed are the header's.
man_contract() {
  python3 "$repo/man/pages.py" check "$PREFIX/include/syssem.h" "$repo/man"
}
check "manual pages say what include/syssem.h says (man/pages.py)" man_contract

echo "consumers: took $((SECONDS - started))s"
echo "consumers: $passed passed, $failed failed"
((failed == 0))
