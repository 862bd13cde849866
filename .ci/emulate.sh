#!/usr/bin/env bash
# The fallbacks of other systems, run on Linux: builds with -Demulate=freebsd
# and -Demulate=darwin (docs/portability.md says what each one forces), warnings
# as errors, and runs the whole suite in each as root.
#
#   freebsd  no semtimedop (a timed System V acquire polls), the POSIX
#            timed wait on the real-time clock.
#   darwin   no semtimedop, no POSIX timed wait (both poll), no
#            sem_getvalue (SYSSEM_ENOSYS), Apple's POSIX names, 29-byte
#            limit and SEM_VALUE_MAX, user-space 32767 checks. Tests read
#            POSIX counts behind the library's back (syssem__px_count).
#
# No test may skip, and no case of one, but these darwin cases, which check
# what cannot exist on macOS; the summary lists them with their reasons:
#   api-posix release_overflow   macOS's sem_post never refuses to pass
#                                32767: the POSIX maximum is not enforced
#   tool-* test_names_listed     `syssem list` cannot look for POSIX names
#                                (no files); every removal check asserts
#                                that it says so
#
# Objects named by Apple's POSIX rule are hashes without the run's prefix:
# each test finds what it left by its keys (tests/support, leftover_hashed),
# the closing check of scripts/test.sh cannot.
#
# The etcd backend takes none of these fallbacks: it is not built here (the
# main run covers it), so the whole suite is what remains.
#
#   bash .ci/emulate.sh          build trees build-emulate-PROFILE
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=.ci/lib.sh
. .ci/lib.sh
# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages test)

status=0
for profile in freebsd darwin; do
  dir=build-emulate-$profile
  echo "== emulate=$profile"
  ci_setup "$dir" -Dwerror=true -Dtests=enabled -Detcd=disabled \
    -Demulate=$profile >/dev/null
  grep -A3 "^  Platform" "$dir/meson-logs/meson-log.txt" | tail -n 3 || true
  ninja -C "$dir"
  case $profile in
    freebsd) cases=() ;;
    darwin) cases=(--case-skips-allowed
                   '^syssem:behaviour\+posix / api-posix: release_overflow: |^syssem:tool\+(sysv|posix) / tool-(sysv|posix): test_names_listed: ') ;;
  esac
  meson test -C "$dir" --print-errorlogs || true
  python3 .ci/testlog.py "$dir" --all --label "emulate=$profile" "${cases[@]}" ||
    status=1
done
exit $status
