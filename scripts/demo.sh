#!/usr/bin/env bash
# Install what the build needs, build libsyssem, and run the demo: several
# processes share one semaphore with 2 tokens. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends gcc libc6-dev meson ninja-build pkg-config

opts=(-Dtests=disabled -Dtools=false)
if [ -d build-demo ]; then
  meson setup --reconfigure build-demo "${opts[@]}"
else
  meson setup build-demo "${opts[@]}"
fi
ninja -C build-demo
./build-demo/examples/demo 6 2
