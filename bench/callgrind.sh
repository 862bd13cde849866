#!/bin/sh
# Instructions per operation, libsyssem against the raw calls (and Qt's
# QSystemSemaphore where the benchmark has it), counted by Valgrind's
# callgrind: user space only, the same on a noisy machine.
#
# usage: callgrind.sh BENCH [N]       the table; BENCH_QUICK=1: pairs only
#        callgrind.sh BENCH --annotate CASE BACKEND SIDE
#                                     instructions by function for one side
#
# The pairs' target: at most what the floor (bench/floor.c, the thinnest
# wrapper a shared library can be) costs over the raw calls, plus 10.
#
# Callgrind collects only inside the benchmark's bench_measure(); running N
# and 2N operations and taking the difference cancels the setup and the
# clock reads, leaving N operations. Exit status 0 whatever the numbers.
set -eu

bench=${1:?usage: callgrind.sh BENCH [N | --annotate CASE BACKEND SIDE]}
quick=0
case ${BENCH_QUICK:-0} in 0|'') ;; *) quick=1 ;; esac
n=${2:-}
[ -n "$n" ] || { [ $quick = 1 ] && n=2000 || n=20000; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run CASE BACKEND SIDE N: callgrind over N operations; leaves $tmp/out
run() {
  if ! valgrind --tool=callgrind --toggle-collect=bench_measure \
      --callgrind-out-file="$tmp/out" "$bench" --callgrind "$@" \
      >"$tmp/log" 2>&1; then
    echo "callgrind.sh: $bench --callgrind $* failed:" >&2
    cat "$tmp/log" >&2
    exit 1
  fi
}

# per CASE BACKEND SIDE N: instructions per operation (2N run less N run)
per() {
  run "$1" "$2" "$3" "$4"
  c1=$(sed -n 's/.*Collected : \([0-9][0-9]*\).*/\1/p' "$tmp/log")
  run "$1" "$2" "$3" $(($4 * 2))
  c2=$(sed -n 's/.*Collected : \([0-9][0-9]*\).*/\1/p' "$tmp/log")
  awk -v a="$c1" -v b="$c2" -v n="$4" 'BEGIN { printf "%.1f", (b - a) / n }'
}

# row CASE BACKEND REF N TARGET: lib against REF (raw, qt or boost);
# TARGET is the most lib may cost over REF, "-" for none
row() {
  lib=$(per "$1" "$2" lib "$4")
  ref=$(per "$1" "$2" "$3" "$4")
  awk -v c="$1" -v b="$2" -v r="$3" -v l="$lib" -v f="$ref" -v t="$5" 'BEGIN {
    d = l - f
    printf "%-16s %-12s %-5s %10.1f %10.1f %10.1f  %6s  %s\n", c, b, r, l, f,
           d, t, t == "-" ? "-" : (d <= t + 0.05 ? "met" : "MISSED")
  }'
}

if [ "$n" = "--annotate" ]; then
  [ $# -eq 5 ] || { echo "usage: callgrind.sh BENCH --annotate CASE BACKEND SIDE" >&2; exit 2; }
  run "$3" "$4" "$5" 1000
  echo "== $3, $4, $5: 1000 operations, instructions by function (self)"
  callgrind_annotate --threshold=99.9 "$tmp/out" | sed -n '/^Ir/,$p' |
    grep -v '^ *$'
  exit 0
fi

echo "callgrind: user-space instructions per operation (one pair, one try, one open+close)"
echo "target of a pair: at most the floor's cost over the raw calls + 10"
printf '%-16s %-12s %-5s %10s %10s %10s  %6s  %s\n' case backend ref lib \
  "ref" "lib - ref" target result
# The thinnest wrapper a shared library can be (bench/floor.c), per
# primitive; its cost over the raw calls + 10 is the library's target.
floor_sysv=$(per acquire+release floor-sysv lib "$n")
raw_sysv=$(per acquire+release floor-sysv raw "$n")
floor_posix=$(per acquire+release floor-posix lib "$n")
raw_posix=$(per acquire+release floor-posix raw "$n")
t_sysv=$(awk -v a="$floor_sysv" -v b="$raw_sysv" 'BEGIN { printf "%.1f", a - b + 10 }')
t_posix=$(awk -v a="$floor_posix" -v b="$raw_posix" 'BEGIN { printf "%.1f", a - b + 10 }')
awk -v a="$floor_sysv" -v b="$raw_sysv" 'BEGIN {
  printf "%-16s %-12s %-5s %10.1f %10.1f %10.1f  %6s  %s\n", "acquire+release",
         "floor-sysv", "raw", a, b, a - b, "-", "-" }'
awk -v a="$floor_posix" -v b="$raw_posix" 'BEGIN {
  printf "%-16s %-12s %-5s %10.1f %10.1f %10.1f  %6s  %s\n", "acquire+release",
         "floor-posix", "raw", a, b, a - b, "-", "-" }'
row acquire+release sysv raw "$n" "$t_sysv"
row acquire+release sysv-noundo raw "$n" "$t_sysv"
row acquire+release posix raw "$n" "$t_posix"
[ $quick = 1 ] && exit 0
for b in sysv posix; do
  row "try_acquire(0)" "$b" raw "$n" -
done
# Opening by native name, then by Qt string key (the name derived).
for b in sysv posix sysv-qtkey posix-qtkey; do
  row open+close "$b" raw 200 -
  row create+destroy "$b" raw 100 -
done
# The C++ rows, where the benchmark was built with Qt and Boost.
if "$bench" --callgrind acquire+release sysv qt 1 >/dev/null 2>&1; then
  row acquire+release sysv qt "$n" -
  row open+close sysv-qtkey qt 200 -
  row create+destroy sysv-qtkey qt 100 -
fi
if "$bench" --callgrind acquire+release posix boost 1 >/dev/null 2>&1; then
  row acquire+release posix boost "$n" -
fi
