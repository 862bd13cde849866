#!/usr/bin/env bash
# Run a build's whole test suite again as an ordinary user, from the same
# build (no rebuild): what needs root must skip with its reason, everything
# else must pass, and only the root-only tests (NAME-root-BACKEND) may skip.
#
#   bash .ci/unprivileged.sh BUILD_DIR      as root; the user is nobody
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: unprivileged.sh BUILD_DIR}
user=${SYSSEM_TEST_USER:-nobody}
group=$(id -gn "$user")
as_user=(setpriv --reuid="$user" --regid="$group" --clear-groups)

if [ "$(id -u)" != 0 ]; then
  echo "unprivileged.sh: run as root (it becomes $user)" >&2
  exit 1
fi
if ! "${as_user[@]}" test -r meson.build -a -x "$build"; then
  echo "unprivileged.sh: $user cannot read $PWD or $build" >&2
  exit 1
fi
# The user writes the test logs into the build and reads everything in it.
chmod -R a+rwX "$build"
"${as_user[@]}" env HOME=/nonexistent \
  meson test -C "$build" --no-rebuild --print-errorlogs || true
python3 .ci/testlog.py "$build" --all --label "as $user" --skips-allowed='-root-'
