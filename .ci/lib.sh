# What the CI scripts share; sourced, never run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provisioning
#   ci_packages GROUP...  the Debian packages of groups: test, reliability,
#                         windows, consumers, bench
#   ci_install PKG...     install those not installed yet: at most one
#                         `apt-get update` and one `apt-get install` per
#                         script, none when everything is there
#   ci_cmocka TARGET      cmocka for TARGET (mingw or musl), built once from
#                         Debian's source package and kept in $CI_DIR; prints
#                         the directory of its cmocka.pc
# Steps
#   ci_step NAME CMD...   run CMD, note its time and whether it failed; a
#                         failing step does not stop the ones after it
#   ci_report             the table of steps with their times; returns 1 if
#                         a step failed
# Tests
#   ci_run_prefix         export SYSSEM_TEST_PREFIX, this run's prefix of
#                         every object the suite names (kept if already set)
#   ci_setup DIR OPT...   meson setup DIR, or reconfigure it when it exists
#
# Environment: CI_DIR (default /var/cache/syssem-ci) holds what is built
# once for many runs: cmocka per target, the Wine prefix.

CI_DIR=${CI_DIR:-/var/cache/syssem-ci}
CI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Provisioning ----------------------------------------------------------------

ci_packages() {
  local g
  for g in "$@"; do
    case $g in
      test) echo gcc g++ libc6-dev meson ninja-build pkg-config \
        libcmocka-dev qt6-base-dev qtbase5-dev util-linux python3 \
        libcurl4-openssl-dev libjson-c-dev etcd-server openssl ;;
      reliability) echo clang libclang-rt-14-dev valgrind musl-tools cmake \
        dpkg-dev xz-utils ;;
      windows) echo gcc-mingw-w64-x86-64-win32 g++-mingw-w64-x86-64-win32 \
        mingw-w64-tools wine wine64 cmake dpkg-dev python3 ;;
      consumers) echo gcc g++ libc6-dev pkg-config meson ninja-build cmake \
        make binutils git mandoc groff-base man-db ;;
      bench) echo libboost-dev gnuplot-nox valgrind qt6-base-dev ;;
      python) echo python3 python3-dev python3-venv python3-pip \
        python3-mesonpy python3-pytest python3-pyqt6 mypy meson ninja-build \
        gcc pkg-config binutils git util-linux unzip ;;
      macos) echo llvm file npm ;;
      *) echo "ci_packages: no group '$g'" >&2; return 1 ;;
    esac
  done
}

ci_apt() {
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 \
    -o Acquire::Retries=3 "$@"
}

ci_install() {
  local p missing=()
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  # shellcheck disable=SC2207 # the words are package names
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  echo "installing: ${missing[*]}"
  # A package may start a service of its own (etcd-server on a host run by
  # systemd): one that was not running before is stopped again, since the
  # tests start every server they need themselves.
  local etcd_was_active=no
  if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    etcd_was_active=yes
  fi
  ci_apt update
  ci_apt install -y --no-install-recommends "${missing[@]}"
  if [ "$etcd_was_active" = no ] && command -v systemctl >/dev/null &&
     systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl stop etcd
  fi
}

# Print deb822 'deb-src' stanzas for this machine's 'deb' entries, read from
# the one-line (sources.list, *.list) and the deb822 (*.sources) formats;
# this release's suites only, unless none is found.
ci_deb_src() {
  python3 - "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" <<'PY'
import glob, re, sys

codename = sys.argv[1]
entries = []

def one_line(path):
    with open(path, encoding='utf-8', errors='replace') as fh:
        for raw in fh:
            m = re.match(r'deb\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)\s*(.*)$',
                         raw.split('#', 1)[0].strip())
            if not m:
                continue
            opts = dict(o.split('=', 1) for o in (m.group(1) or '').split() if '=' in o)
            extra = []
            if 'signed-by' in opts:
                extra.append('Signed-By: ' + opts['signed-by'])
            if 'trusted' in opts:
                extra.append('Trusted: ' + opts['trusted'])
            entries.append((m.group(2), m.group(3), m.group(4).split(), extra))

def deb822(path):
    with open(path, encoding='utf-8', errors='replace') as fh:
        text = fh.read()
    for para in re.split(r'\n[ \t]*\n', text):
        fields, key = {}, None
        for line in para.splitlines():
            if line.startswith('#'):
                continue
            if line[:1] in (' ', '\t'):          # continuation line
                if key:
                    fields[key].append(line)
                continue
            if ':' not in line:
                continue
            name, value = line.split(':', 1)
            key = name.strip().lower()
            fields[key] = [value.strip()]
        words = {k: ' '.join(v).split() for k, v in fields.items()}
        if 'deb' not in words.get('types', []):
            continue
        if words.get('enabled', ['yes'])[0].lower() == 'no':
            continue
        extra = [n + ': ' + '\n'.join(fields[n.lower()])
                 for n in ('Signed-By', 'Trusted') if n.lower() in fields]
        for uri in words.get('uris', []):
            for suite in words.get('suites', []):
                entries.append((uri, suite, words.get('components', []), extra))

for f in ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list')):
    try:
        one_line(f)
    except FileNotFoundError:
        pass
for f in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    deb822(f)
ours = [e for e in entries if codename and (e[1] == codename or e[1].startswith(codename + '-'))]
if not (ours or entries):
    sys.exit('no deb entries found in the apt sources')
for uri, suite, comps, extra in ours or entries:
    print('Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s' % (uri, suite, ' '.join(comps)))
    for x in extra:
        print(x)
    print()
PY
}

# Debian's cmocka source tree, unpacked in $CI_DIR/cmocka-src once. apt reads
# the deb-src entries from a private configuration in a temporary directory,
# so the machine's apt configuration is never changed.
ci_cmocka_source() {
  local src=$CI_DIR/cmocka-src apt_dir
  if [ ! -f "$src/.complete" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" \
             "$apt_dir/cache/archives/partial"
    ci_deb_src >"$apt_dir/sources.list.d/deb-src.sources"
    local private=(
      -o Dir::Etc::SourceList=/dev/null
      -o Dir::Etc::SourceParts="$apt_dir/sources.list.d"
      -o Dir::State::Lists="$apt_dir/lists"
      -o Dir::Cache="$apt_dir/cache"
      -o APT::Sandbox::User=root
    )
    ci_apt "${private[@]}" update >/dev/null
    (cd "$src" && ci_apt "${private[@]}" source cmocka >/dev/null)
    rm -rf "$apt_dir"
    touch "$src/.complete"
  fi
  find "$src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n 1
}

# The cross file's compiler for key $1 (c, cpp, windres...).
ci_cross_binary() {
  sed -n "s/^$1[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" \
    "$CI_REPO/cross/x86_64-w64-mingw32.txt"
}

# Build cmocka's static library for a target; prints the folder of its
# cmocka.pc. Rebuilt only when the recipe or the compiler changes.
ci_cmocka() {
  local target=$1 prefix=$CI_DIR/cmocka-$1 cc args stamp src version
  case $target in
    mingw)
      cc=$(ci_cross_binary c)
      args=(-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64
            -DCMAKE_C_COMPILER="$cc" -DCMAKE_RC_COMPILER="$(ci_cross_binary windres)") ;;
    musl)
      cc=musl-gcc
      args=(-DCMAKE_C_COMPILER=musl-gcc) ;;
    *) echo "ci_cmocka: no target '$target'" >&2; return 1 ;;
  esac
  stamp="cmocka recipe 2, $target, $cc $("$cc" -dumpversion)"
  mkdir -p "$CI_DIR"
  (
    # One build at a time on this machine; the others wait and reuse it.
    flock 9
    if [ "$(cat "$prefix/.stamp" 2>/dev/null)" != "$stamp" ]; then
      echo "building cmocka for $target from Debian's source package" >&2
      src=$(ci_cmocka_source)
      [ -n "$src" ] || { echo "ci_cmocka: no cmocka source" >&2; exit 1; }
      rm -rf "$prefix" "$CI_DIR/cmocka-build-$target"
      # cmocka 1.1 always builds the shared library; WITH_STATIC_LIB adds
      # libcmocka-static.a, the one kept. Its header has no dllimport.
      cmake -S "$src" -B "$CI_DIR/cmocka-build-$target" -G Ninja \
        "${args[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
        -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
        -DWITH_CMOCKERY_SUPPORT=OFF -DPICKY_DEVELOPER=OFF >/dev/null
      cmake --build "$CI_DIR/cmocka-build-$target" >/dev/null
      cmake --install "$CI_DIR/cmocka-build-$target" >/dev/null
      version=$(sed -n 's/^Version:[[:space:]]*//p' "$prefix/lib/pkgconfig/cmocka.pc")
      rm -rf "${prefix:?}/bin" "$prefix/lib/cmake" "$CI_DIR/cmocka-build-$target"
      find "$prefix/lib" -maxdepth 1 \( -name '*.so*' -o -name '*.dll.a' \) -delete
      cat >"$prefix/lib/pkgconfig/cmocka.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: cmocka
Description: The cmocka unit testing library (static, $target)
Version: $version
Libs: -L\${libdir} -lcmocka-static
Cflags: -I\${includedir}
EOF
      echo "$stamp" >"$prefix/.stamp"
    fi
  ) 9>"$CI_DIR/cmocka.lock" || return 1
  echo "$prefix/lib/pkgconfig"
}

# Steps -----------------------------------------------------------------------

CI_STEPS=()
CI_FAILED=0
CI_T0=$SECONDS

ci_step() {
  local name=$1 s=$SECONDS rc=0
  shift
  printf '\n=== %s (at %ss)\n' "$name" "$((SECONDS - CI_T0))"
  "$@" || rc=$?
  if ((rc == 0)); then
    CI_STEPS+=("$(printf '%-44s %5ss  ok' "$name" "$((SECONDS - s))")")
  else
    CI_STEPS+=("$(printf '%-44s %5ss  FAILED (%s)' "$name" "$((SECONDS - s))" "$rc")")
    CI_FAILED=$((CI_FAILED + 1))
  fi
  printf '=== %s: %ss, %s\n' "$name" "$((SECONDS - s))" \
    "$( ((rc == 0)) && echo ok || echo FAILED)"
  return 0
}

ci_report() {
  local line
  printf '\n%-44s %6s\n' step time
  for line in "${CI_STEPS[@]}"; do
    echo "$line"
  done
  printf '%-44s %5ss\n' total "$((SECONDS - CI_T0))"
  ((CI_FAILED == 0))
}

# Tests -----------------------------------------------------------------------

# The prefix is letters (a legacy name keeps only the ASCII letters of a
# key): "sst" and eight of k-y, which the test programs' own tags (a-j, z)
# never continue, so that no run's objects look like another's.
ci_run_prefix() {
  local b p=sst
  if [ -z "${SYSSEM_TEST_PREFIX:-}" ]; then
    for b in $(od -An -N8 -tu1 /dev/urandom); do
      p+=$(printf "\\$(printf %03o $((107 + b % 15)))")
    done
    SYSSEM_TEST_PREFIX=$p
  fi
  export SYSSEM_TEST_PREFIX
}

ci_setup() {
  local dir=$1
  shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}
