#!/bin/sh
# Draws the benchmark's charts with gnuplot from the data of a run:
#
#   bench --data DIR && sh bench/plot.sh DIR OUT [svg|png]
#
# writes OUT/throughput.svg (cycles/s against N for every implementation,
# processes and threads, count 1 and 4), OUT/latency.svg (the distribution
# of the hand-off latency) and OUT/ratios.svg (every ratio of the table,
# with its quartiles and target). A table the run did not make is skipped.
set -eu

data=${1:?usage: plot.sh DATA_DIR OUT_DIR}
out=${2:?usage: plot.sh DATA_DIR OUT_DIR}
fmt=${3:-svg}
case $fmt in
  svg) term='svg dynamic noenhanced font "sans,11" background "white"' ;;
  png) term='pngcairo noenhanced font "sans,10" background "white"' ;;
  *) echo "plot.sh: format svg or png" >&2; exit 2 ;;
esac
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The implementations in a table's column, in order of appearance.
impls() { cut -f"$2" "$1" | awk '!seen[$0]++'; }

# gnuplot's string quoting: "..." with \ and " escaped.
q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }

common="set terminal $term size 960,720
set datafile separator tab
set grid
set key outside right top"

if [ -s "$data/throughput.tsv" ]; then
  t=$data/throughput.tsv
  {
    echo "$common"
    echo "set output $(q "$out/throughput.$fmt")"
    echo 'set multiplot layout 2,2 margins 0.1,0.72,0.08,0.9 spacing 0.08,0.14 title "acquire+release cycles per second, all workers together (log scales)"'
    echo 'set logscale xy 2'
    echo 'set logscale y 10'
    echo 'set xlabel "N"'
    echo 'set xtics (1, 2, 4, 8, 16)'
    echo 'set xrange [0.8:20]'
    panel=0
    for mode in processes threads; do
      for count in 1 4; do
        panel=$((panel + 1))
        plot="plot"
        i=0
        impls "$t" 4 >"$tmp/impls"
        while IFS= read -r im; do
          i=$((i + 1))
          awk -F'\t' -v m="$mode" -v c="$count" -v im="$im" \
            '$1 == m && $2 == c && $4 == im { print $3 "\t" $5 }' "$t" \
            >"$tmp/tp-$panel-$i"
          plot="$plot $(q "$tmp/tp-$panel-$i") using 1:2 with linespoints lw 2 title $(q "$im"),"
        done <"$tmp/impls"
        # One key for the four panels, to their right.
        [ $panel -eq 4 ] &&
          echo 'set key at screen 0.99,0.5 right center vertical' ||
          echo 'unset key'
        [ $count -eq 1 ] && echo 'set ylabel "cycles/s"' || echo 'unset ylabel'
        echo "set title $(q "$mode, count $count")"
        echo "${plot%,}"
      done
    done
    echo 'unset multiplot'
  } >"$tmp/throughput.gp"
  gnuplot "$tmp/throughput.gp"
  echo "plot.sh: $out/throughput.$fmt"
fi

if [ -s "$data/latency.tsv" ]; then
  t=$data/latency.tsv
  {
    echo "$common"
    echo "set output $(q "$out/latency.$fmt")"
    echo 'set title "hand-off latency, release to the waiter'"'"'s return in another process"'
    echo 'set logscale x 10'
    echo 'set xlabel "microseconds (log scale)"'
    echo 'set ylabel "fraction of hand-offs at most this long"'
    echo 'set yrange [0:1]'
    plot="plot"
    i=0
    impls "$t" 1 >"$tmp/impls"
    while IFS= read -r im; do
      i=$((i + 1))
      awk -F'\t' -v im="$im" '$1 == im { print $2 / 1000 }' "$t" | sort -g |
        awk '{ v[NR] = $1 } END { # at most about 500 points a line
          step = int(NR / 500) + 1
          for (k = 1; k <= NR; k++)
            if (k % step == 0 || k == 1 || k == NR) print v[k] "\t" k / NR }' \
        >"$tmp/lat-$i"
      plot="$plot $(q "$tmp/lat-$i") using 1:2 with lines lw 2 title $(q "$im"),"
    done <"$tmp/impls"
    echo "${plot%,}"
  } >"$tmp/latency.gp"
  gnuplot "$tmp/latency.gp"
  echo "plot.sh: $out/latency.$fmt"
fi

if [ -s "$data/ratios.tsv" ] || [ -s "$data/ab.tsv" ]; then
  # One line per ratio: label, ratio, q1, q3, target (0: none).
  {
    [ -s "$data/ratios.tsv" ] && awk -F'\t' '{
      printf "%s %s / %s\t%s\t%s\t%s\t%s\n", $1, $2, $3, $4, $5, $6, $7 }' \
      "$data/ratios.tsv"
    [ -s "$data/ab.tsv" ] && awk -F'\t' '{
      printf "A/B %s %s / raw, same object\t%s\t%s\t%s\t%s\n", $2, $1, $3, $4,
             $5, $8 }' "$data/ab.tsv"
  } >"$tmp/ratios"
  rows=$(wc -l <"$tmp/ratios")
  {
    echo "$common"
    echo "set terminal $term size 960,$((160 + rows * 22))"
    echo "set output $(q "$out/ratios.$fmt")"
    echo 'set title "time against the reference, same run: bar from 1 to the median ratio, quartiles, target (o)"'
    echo 'set style fill solid 0.4'
    echo 'set logscale x 2'
    echo 'set xlabel "ratio (log scale; 1 = as fast as the reference, below 1 = faster)"'
    echo "set yrange [$rows:-1]"
    echo 'set ytics font ",9"'
    echo 'set lmargin 46'
    echo 'unset key'
    echo "plot $(q "$tmp/ratios") using (\$2 < 1 ? \$2 : 1):0:(\$2 < 1 ? \$2 : 1):(\$2 > 1 ? \$2 : 1):(\$0 - 0.35):(\$0 + 0.35):ytic(1) with boxxyerror lc rgb '#4477aa', \\"
    echo "     '' using 2:0:3:4 with xerrorbars pt 7 ps 0.6 lc rgb 'black', \\"
    echo "     '' using (\$5 > 0 ? \$5 : NaN):0 with points pt 6 ps 1.4 lc rgb 'red'"
  } >"$tmp/ratios.gp"
  gnuplot "$tmp/ratios.gp"
  echo "plot.sh: $out/ratios.$fmt"
fi
