#!/usr/bin/env bash
# The fallbacks of other systems, run on Linux: builds with -Demulate=freebsd
# and -Demulate=darwin (docs/portability.md says what each one forces), warnings
# as errors, and runs their tests as root; no test may skip.
#
#   freebsd  no semtimedop (a timed System V acquire polls), the POSIX
#            timed wait on the real-time clock: the whole suite.
#   darwin   no semtimedop, no POSIX timed wait (both poll), no
#            sem_getvalue (SYSSEM_ENOSYS), Apple's POSIX names and 29-byte
#            limit, user-space 32767 checks: the unit tests, the whole
#            System V half and Qt. Its POSIX half and the tool's tests do not
#            pass yet (docs/portability.md, "What the darwin profile does
#            not run").
#
# The etcd backend takes none of these fallbacks: the main run covers it.
#
#   bash .ci/emulate.sh          build trees build-emulate-PROFILE
set -euo pipefail
cd "$(dirname "$0")/.."

setup() { # setup DIR [meson options...]
  local dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

for profile in freebsd darwin; do
  dir=build-emulate-$profile
  echo "== emulate=$profile"
  setup "$dir" -Dwerror=true -Dtests=enabled -Demulate=$profile
  grep -A3 "^  Platform" "$dir/meson-logs/meson-log.txt" | tail -n 3 || true
  ninja -C "$dir"
  case $profile in
    freebsd) suites=(--no-suite etcd) ;;
    darwin) suites=(--suite unit --suite sysv --suite qt --no-suite tool
                    --no-suite etcd) ;;
  esac
  meson test -C "$dir" --print-errorlogs "${suites[@]}" || true
  python3 .ci/testlog.py "$dir" --label "emulate=$profile"
done
