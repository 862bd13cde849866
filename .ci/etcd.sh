#!/usr/bin/env bash
# The etcd suite alone, for work on the backend (scripts/test.sh runs the
# same tests with the rest of the suite). Against real etcd servers
# (docs/distributed.md):
#   - installs Debian's etcd-server and the module's build dependencies
#     (libcurl, json-c; openssl makes the TLS test's certificates);
#   - builds with -Detcd=enabled and runs the etcd suite as root, then builds
#     it under AddressSanitizer + UndefinedBehaviorSanitizer and runs it
#     again as the ordinary user nobody; no etcd test may skip;
#   - checks that no etcd server the tests started is left running.
# The tests start every server themselves, on 127.0.0.1, on free ports, in a
# temporary directory, and kill them by pid; nothing here stops an etcd it
# did not start.
#
#   bash .ci/etcd.sh        as root
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)

# shellcheck source=.ci/lib.sh
. .ci/lib.sh
# shellcheck disable=SC2046 # the words are package names
ci_install $(ci_packages test)
# The servers of this run have this prefix in their directory's name
# (scripts/test.sh sets one per run).
ci_run_prefix
etcd --version | sed -n 1p

# Servers started by this run's tests have their data under a directory
# named syssem-etcd-PREFIX-*: any such process left is a leftover (servers
# of other runs on the machine are theirs).
left_servers() {
  pgrep -a -x etcd | grep -F "syssem-etcd-$SYSSEM_TEST_PREFIX-" || true
}

echo "== etcd: build with -Detcd=enabled, the etcd suite as root"
ci_setup build-etcd -Dwerror=true -Dtests=enabled -Detcd=enabled
ninja -C build-etcd
meson test -C build-etcd --suite etcd --print-errorlogs || true
python3 .ci/testlog.py build-etcd --label "etcd suite as root"

echo "== etcd: under AddressSanitizer + UndefinedBehaviorSanitizer, as nobody"
ci_setup build-etcd-asan -Dwerror=true -Dtests=enabled -Detcd=enabled \
  -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all
ninja -C build-etcd-asan
chmod -R a+rwX build-etcd-asan
setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups \
  env HOME=/nonexistent \
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-etcd-asan --suite etcd --no-rebuild --print-errorlogs ||
  true
python3 .ci/testlog.py build-etcd-asan --label "etcd suite, sanitizers, as nobody"

echo "== etcd: no server left running"
left=$(left_servers)
if [ -n "$left" ]; then
  echo "etcd servers the tests started are still running:"
  echo "$left"
  exit 1
fi
echo "none; etcd.sh took $(($(date +%s) - t0)) s"
