#!/usr/bin/env bash
# The Python package's CI (python/, docs/python.md). With the system's
# Python 3 and Debian's build tools only, offline (no PyPI):
#
#  1. builds the `syssem` tool, the C program of the interop tests;
#  2. installs the package the documented way, `pip install
#     --no-build-isolation ./python`, into a throwaway venv that sees the
#     system's pytest and PyQt6 (--system-site-packages);
#  3. makes an sdist, builds a wheel from it alone, checks that the wheel
#     holds the extension with libsyssem inside, and installs that wheel
#     into a second venv;
#  4. runs the tests (python/tests) against each install as root, and
#     against the pip one as an ordinary user; no test may fail or skip;
#  5. runs the overhead benchmark briefly (timings printed, never judged).
#
# Run as root on Debian 12; installs what it lacks with apt.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3
started=$SECONDS

# shellcheck source=.ci/lib.sh
. "$repo/.ci/lib.sh"
# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages python)

work=$(mktemp -d "${TMPDIR:-/tmp}/syssem-python.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
# Nothing may come from an index: every dependency is the system's.
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== the syssem tool, for the interop tests"
meson setup "$work/tool" "$repo" -Dtests=disabled --buildtype=release >/dev/null
ninja -C "$work/tool" tools/syssem >/dev/null
export SYSSEM_TOOL=$work/tool/tools/syssem

echo "== pip install --no-build-isolation ./python"
$py -m venv --system-site-packages "$work/venv"
(cd "$repo" && "$work/venv/bin/python" -m pip install -q --no-build-isolation ./python)

echo "== sdist, a wheel built from it alone, installed"
mkdir "$work/dist"
(cd "$repo/python" && $py -c 'import mesonpy, sys; mesonpy.build_sdist(sys.argv[1])' "$work/dist") >/dev/null
sdist=$(echo "$work"/dist/syssem-*.tar.gz)
tar tzvf "$sdist" >"$work/sdist.txt"
if grep -- ' -> ' "$work/sdist.txt"; then
  echo "the sdist holds a symbolic link" >&2
  exit 1
fi
grep -q '/subprojects/syssem/src/syssem\.c$' "$work/sdist.txt" ||
  { echo "the sdist does not hold libsyssem's sources" >&2; exit 1; }
mkdir "$work/unpacked"
tar xzf "$sdist" -C "$work/unpacked"
(cd "$work/unpacked"/syssem-* &&
 $py -m pip wheel -q --no-build-isolation --no-deps -w "$work/dist" .)
wheel=$(echo "$work"/dist/syssem-*.whl)
unzip -l "$wheel" | awk 'NR > 3 && $4 != "" { print $4 }' | sort >"$work/wheel.txt"
so=$(grep '^syssem/_syssem\..*\.so$' "$work/wheel.txt") ||
  { echo "the wheel holds no extension" >&2; exit 1; }
for f in syssem/__init__.py syssem/_types.py syssem/_syssem.pyi syssem/py.typed; do
  grep -qx "$f" "$work/wheel.txt" || { echo "the wheel lacks $f" >&2; exit 1; }
done
unzip -q -o "$wheel" "$so" -d "$work/wheel"
if readelf -d "$work/wheel/$so" | grep NEEDED | grep -q syssem; then
  echo "the extension needs a shared libsyssem" >&2
  exit 1
fi
echo "$(basename "$wheel"): $(wc -l <"$work/wheel.txt") files, libsyssem linked in"
$py -m venv --system-site-packages "$work/venv-wheel"
"$work/venv-wheel/bin/python" -m pip install -q "$wheel"

# The tests, and the documents whose examples they run, where an ordinary
# user can read them.
mkdir -p "$work/tree/python" "$work/tree/docs" "$work/tree/bench"
cp -r "$repo/python/tests" "$work/tree/python/"
cp "$repo/docs/python.md" "$work/tree/docs/"
cp "$repo/README.md" "$work/tree/"
cp "$repo/bench/python_overhead.py" "$work/tree/bench/"
chmod -R a+rX "$work/tree"

# run_tests ID TITLE PYTHON [COMMAND PREFIX...]: pytest, with no failure
# and no skip; ID names its report.
failed=0
run_tests() {
  local title=$2 python=$3 xml=$work/$1.xml skipped
  shift 3
  echo "== pytest: $title"
  if ! (cd "$work/tree/python/tests" &&
        "$@" env HOME="$work/home" "$python" -m pytest -p no:cacheprovider \
          -q -rs --junitxml="$xml" .); then
    failed=1
    return 0
  fi
  skipped=$($py -c 'import sys, xml.etree.ElementTree as t
r = t.parse(sys.argv[1]).getroot()
print(sum(int(s.get("skipped", 0)) for s in r.iter("testsuite")))' "$xml")
  if ((skipped)); then
    echo "$title: $skipped tests skipped; here every test must run" >&2
    failed=1
  fi
}
mkdir -m 1777 "$work/home"
run_tests root-pip "pip install ./python, as root" "$work/venv/bin/python"
run_tests root-wheel "the wheel built from the sdist, as root" \
  "$work/venv-wheel/bin/python"
chmod 1777 "$work"   # for the user's junit file
run_tests user-pip "pip install ./python, as user nobody" \
  "$work/venv/bin/python" setpriv --reuid=nobody --regid=nogroup --clear-groups

echo "== overhead of a Python acquire+release over a C one (not judged)"
(cd "$work/tree/bench" && "$work/venv/bin/python" python_overhead.py --quick)

echo "python: took $((SECONDS - started))s"
if ((failed)); then
  echo "python: FAILED" >&2
  exit 1
fi
echo "python: passed"
