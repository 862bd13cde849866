#!/bin/sh
# Instructions per acquire+release pair, libsyssem against the raw calls,
# counted by Valgrind's callgrind (user space only, repeatable on a noisy
# machine).
#
# usage: callgrind.sh BENCH [N]          the table (BENCH_QUICK=1: small N)
#        callgrind.sh BENCH --annotate   per-function counts of the library
#
# Callgrind collects only inside the benchmark's bench_measure(); running N
# and 2N pairs and taking the difference cancels the setup and the clock
# reads, leaving N pairs. Exit status 0 whatever the numbers.
set -eu

bench=${1:?usage: callgrind.sh BENCH [N | --annotate]}
n=${2:-}
if [ -z "$n" ]; then
  case ${BENCH_QUICK:-0} in
    0|'') n=20000 ;;
    *) n=2000 ;;
  esac
fi
target=20
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run BACKEND SIDE N: callgrind over N pairs; leaves $tmp/out
run() {
  valgrind --tool=callgrind --toggle-collect=bench_measure \
    --callgrind-out-file="$tmp/out" "$bench" --callgrind-pair "$1" "$2" "$3" \
    >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
}

# count BACKEND SIDE N: instructions collected for N pairs
count() {
  run "$1" "$2" "$3"
  sed -n 's/.*Collected : \([0-9][0-9]*\).*/\1/p' "$tmp/log"
}

if [ "$n" = "--annotate" ]; then
  for b in sysv posix; do
    echo "== $b, libsyssem, 1000 pairs: instructions by function (self)"
    run "$b" lib 1000
    callgrind_annotate --threshold=99.9 "$tmp/out" | sed -n '/Ir/,$p'
  done
  exit 0
fi

echo "callgrind: instructions per acquire+release pair (user space), $n and $((2 * n)) pairs"
printf '%-12s %10s %10s %10s  %6s  %s\n' backend lib raw overhead target result
for b in sysv sysv-noundo posix; do
  lib1=$(count "$b" lib "$n")
  lib2=$(count "$b" lib $((2 * n)))
  raw1=$(count "$b" raw "$n")
  raw2=$(count "$b" raw $((2 * n)))
  awk -v b="$b" -v n="$n" -v l1="$lib1" -v l2="$lib2" -v r1="$raw1" \
      -v r2="$raw2" -v t="$target" 'BEGIN {
    lib = (l2 - l1) / n; raw = (r2 - r1) / n; d = lib - raw
    printf "%-12s %10.1f %10.1f %10.1f  %6d  %s\n", b, lib, raw, d, t,
           d <= t ? "met" : "MISSED"
  }'
done
