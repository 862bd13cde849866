#!/usr/bin/env bash
# Cross-build libsyssem for 64-bit Windows with mingw-w64 and run its test
# suite under Wine, headless.
#
#   bash .ci/windows.sh [extra 'meson setup' arguments]
#
# Runs as root on Debian 12. It installs what it needs with apt, builds cmocka
# for the target from Debian's own source package, creates a Wine prefix, then
# configures build-win/ with cross/x86_64-w64-mingw32.txt and runs
# 'meson test'. It exits non-zero if anything fails, a test included.
# A second run reuses the packages, the cmocka build and the Wine prefix.
#
# Environment:
#   SYSSEM_WIN_CI_DIR  where the target cmocka, the Wine prefix and the
#                      generated cross file live (default /opt/syssem-win-ci)
set -euo pipefail
umask 022

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cross="$repo/cross/x86_64-w64-mingw32.txt"
ci_dir=${SYSSEM_WIN_CI_DIR:-/opt/syssem-win-ci}
prefix="$ci_dir/mingw"            # cmocka for the target is installed here
cross_local="$ci_dir/cross-local.txt"
build="$repo/build-win"

step() { printf '\n=== windows: %s (at %ss)\n' "$*" "$SECONDS"; }

# The compilers are the ones the cross file names, so the two cannot drift.
binary() { sed -n "s/^$1[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$cross"; }
target_cc=$(binary c)
case "$target_cc" in
  *-win32) model=win32 ;;
  *-posix) model=posix ;;
  *) echo "windows: cannot tell the thread model of '$target_cc'" >&2; exit 1 ;;
esac

# ---------------------------------------------------------------- packages
packages=(
  "gcc-mingw-w64-x86-64-$model" "g++-mingw-w64-x86-64-$model" mingw-w64-tools
  wine wine64
  meson ninja-build pkg-config python3 cmake dpkg-dev
)
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@"
}
installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  apt_get update
  apt_get install -y --no-install-recommends "${missing[@]}"
fi

# ------------------------------------------------------------------ cmocka
# Debian ships no cmocka for mingw: build it from Debian's source package.
# The deb-src entries are derived from this machine's own 'deb' entries and
# kept in a private apt configuration, so the system's apt is left untouched.
stamp_want="cmocka recipe 1, $target_cc $("$target_cc" -dumpversion)"
if [ ! -f "$prefix/lib/pkgconfig/cmocka.pc" ] || [ "$(cat "$prefix/.stamp" 2>/dev/null)" != "$stamp_want" ]; then
  step "build cmocka for x86_64-w64-mingw32"
  apt_dir="$ci_dir/apt"
  rm -rf "$apt_dir" "$ci_dir/cmocka-src" "$ci_dir/cmocka-build" "$prefix"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" \
           "$apt_dir/cache/archives/partial" "$ci_dir/cmocka-src"
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  python3 - "$codename" > "$apt_dir/sources.list.d/deb-src.sources" <<'PY'
# Print deb822 'deb-src' stanzas for the machine's 'deb' entries, read from
# both the one-line format (sources.list, *.list) and deb822 (*.sources).
# Entries for this release's suites are kept; if none is found, all of them.
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
  apt_private=(
    -o Dir::Etc::SourceList=/dev/null
    -o Dir::Etc::SourceParts="$apt_dir/sources.list.d"
    -o Dir::State::Lists="$apt_dir/lists"
    -o Dir::Cache="$apt_dir/cache"
    -o APT::Sandbox::User=root
  )
  apt_get "${apt_private[@]}" update
  (cd "$ci_dir/cmocka-src" && apt_get "${apt_private[@]}" source cmocka)
  src=$(find "$ci_dir/cmocka-src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
  [ -n "$src" ] || { echo "windows: apt-get source cmocka gave no source tree" >&2; exit 1; }

  # cmocka 1.1.x always builds the DLL; WITH_STATIC_LIB adds libcmocka-static.a.
  # Its header has no dllimport, so the static library needs no define on the
  # consumer side.
  cmake -S "$src" -B "$ci_dir/cmocka-build" \
    -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64 \
    -DCMAKE_C_COMPILER="$target_cc" \
    -DCMAKE_RC_COMPILER="$(binary windres)" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
    -DWITH_CMOCKERY_SUPPORT=OFF -DPICKY_DEVELOPER=OFF
  cmake --build "$ci_dir/cmocka-build" --parallel "$(nproc)"
  cmake --install "$ci_dir/cmocka-build"

  # Keep the static library only, and let cmocka.pc say so.
  version=$(sed -n 's/^Version:[[:space:]]*//p' "$prefix/lib/pkgconfig/cmocka.pc")
  rm -rf "${prefix:?}/bin" "$prefix/lib/libcmocka.dll.a" "$prefix/lib/cmake"
  cat > "$prefix/lib/pkgconfig/cmocka.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: cmocka
Description: The cmocka unit testing library (static, x86_64-w64-mingw32)
Version: $version
Libs: -L\${libdir} -lcmocka-static
Cflags: -I\${includedir}
EOF
  rm -rf "$ci_dir/cmocka-build" "$ci_dir/cmocka-src" "$apt_dir"
  echo "$stamp_want" > "$prefix/.stamp"
fi

# Second cross file: lets the cross pkg-config find the cmocka above (and the
# mingw system .pc files), nothing of the build machine.
mkdir -p "$ci_dir"
cat > "$cross_local.tmp" <<EOF
# Generated by .ci/windows.sh; used together with cross/x86_64-w64-mingw32.txt.
[properties]
pkg_config_libdir = ['$prefix/lib/pkgconfig', '/usr/x86_64-w64-mingw32/lib/pkgconfig']
EOF
mv "$cross_local.tmp" "$cross_local"

# -------------------------------------------------------------------- Wine
# Headless: no display, no Mono/Gecko download prompt, no menu entries, no
# crash dialog; Wine's own debug output off.
unset DISPLAY WAYLAND_DISPLAY
export WINEPREFIX="$ci_dir/wine"
export WINEARCH=win64
export WINEDEBUG=-all
export WINEDLLOVERRIDES='mscoree=d;mshtml=d;winemenubuilder.exe=d'
# Runtime DLLs of the toolchain (libwinpthread for programs using pthreads,
# libgcc_s if something links libgcc dynamically): Meson adds its own
# build folders in front of this.
runtime_dirs=()
for dll in libwinpthread-1.dll libgcc_s_seh-1.dll; do
  f=$("$target_cc" -print-file-name="$dll")
  [ -f "$f" ] && runtime_dirs+=("Z:$(cd "$(dirname "$f")" && pwd)")
done
WINEPATH=$(IFS=';'; echo "${runtime_dirs[*]}")
export WINEPATH
# shellcheck disable=SC2317
stop_wine() { timeout 60 wineserver -w 2>/dev/null || wineserver -k 2>/dev/null || true; }
trap stop_wine EXIT

# A crashing program must fail its test. With Wine's default debugger
# (winedbg --auto) the crashed process sometimes exits with status 0; with no
# debugger to start, it always exits with the exception code (0xC0000005, an
# access violation, gives status 5) after one "wine: Unhandled page fault ..."
# line on stderr.
prefix_recipe='wine prefix recipe 2'
if [ "$(cat "$WINEPREFIX/.syssem-ready" 2>/dev/null)" != "$prefix_recipe" ]; then
  step "create the Wine prefix"
  rm -rf "$WINEPREFIX"
  timeout 600 wineboot --init
  timeout 300 wineserver -w
  reg_add() { timeout 120 wine reg add "$@" /f >/dev/null; }
  reg_add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0
  reg_add 'HKCU\Software\Wine\Drivers' /v Graphics /d null
  reg_add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /d 'no-debugger %ld %ld'
  reg_add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /d 1
  timeout 300 wineserver -w
  echo "$prefix_recipe" > "$WINEPREFIX/.syssem-ready"
fi

# ----------------------------------------------------------------- libsyssem
step "meson setup build-win"
setup=(--cross-file "$cross" --cross-file "$cross_local" "$@")
if [ -f "$build/meson-private/coredata.dat" ]; then
  meson setup --wipe "$build" "$repo" "${setup[@]}"
else
  rm -rf "$build"
  meson setup "$build" "$repo" "${setup[@]}"
fi

step "meson test -C build-win"
status=0
meson test -C "$build" --print-errorlogs || status=$?

# One closing line that any reader of the log understands; a run that ran no
# test at all fails too.
python3 - "$build/meson-logs/testlog.json" <<'PY' || status=${status/#0/1}
import json, os, sys
counts = {}
if os.path.exists(sys.argv[1]):
    with open(sys.argv[1]) as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)['result']
                counts[r] = counts.get(r, 0) + 1
total = sum(counts.values())
ok = counts.get('OK', 0) + counts.get('EXPECTEDFAIL', 0)
skipped = counts.get('SKIP', 0)
print('windows: %d passed, %d failed, %d skipped' % (ok, total - ok - skipped, skipped))
sys.exit(0 if total else 1)
PY
step "done"
exit "$status"
