#!/usr/bin/env bash
# The etcd backend in one command: install etcd and what the build needs,
# build libsyssem with its etcd module, start a throwaway etcd on 127.0.0.1
# (a free port, a temporary directory), and run 6 `syssem run -j 2` at once,
# as separate processes, against one semaphore on it. Each command notes
# when it starts and ends; the timeline shows that at most 2 run at once.
# The server is stopped and its directory removed at the end, whatever
# happens. Run as root on Debian 12 (docs/distributed.md).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends gcc libc6-dev meson ninja-build \
  pkg-config etcd-server libcurl4-openssl-dev libjson-c-dev python3 curl

opts=(-Detcd=enabled -Dtests=disabled)
if [ -d build-etcd-demo ]; then
  meson setup --reconfigure build-etcd-demo "${opts[@]}" >/dev/null
else
  meson setup build-etcd-demo "${opts[@]}" >/dev/null
fi
ninja -C build-etcd-demo tools/syssem libsyssem-etcd.so >/dev/null
syssem=$top/build-etcd-demo/tools/syssem
export SYSSEM_ETCD_MODULE=$top/build-etcd-demo/libsyssem-etcd.so

dir=$(mktemp -d)
etcd_pid=
cleanup() {
  if [ -n "$etcd_pid" ]; then
    kill "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
client=$(free_port)
peer=$(free_port)
etcd --name demo --data-dir "$dir/data" \
  --listen-client-urls "http://127.0.0.1:$client" \
  --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "demo=http://127.0.0.1:$peer" \
  --logger zap --log-level error >"$dir/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$client/health" 2>/dev/null | grep -q true && break
  sleep 0.1
done

key="etcd://127.0.0.1:$client/demo/builds?ttl=5"
echo "etcd on 127.0.0.1:$client; 6 runs of: syssem run -j 2 '$key' -- ..."
# Lines appended to one file (O_APPEND) are in the order they happened.
log=$dir/timeline
t0=$(date +%s%N)
runs=()
for i in 1 2 3 4 5 6; do
  "$syssem" run -j 2 "$key" -- sh -c \
    'echo "$(( ($(date +%s%N) - '"$t0"') / 1000000 )) ms: run '"$i"' starts" >>"'"$log"'"
     sleep 0.5
     echo "$(( ($(date +%s%N) - '"$t0"') / 1000000 )) ms: run '"$i"' ends" >>"'"$log"'"' &
  runs+=($!)
done
wait "${runs[@]}"
cat "$log"
most=$(awk '/starts/ { n++ } /ends/ { n-- } n > m { m = n } END { print m }' "$log")
echo "most runs holding a token at once: $most (limit 2) -> $([ "$most" -le 2 ] && echo respected || echo VIOLATED)"
"$syssem" rm "$key"
[ "$most" -le 2 ]
