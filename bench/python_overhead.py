"""What a Python acquire+release costs over a C one.

Measures, in one process and on one semaphore per backend:

  C        syssem_acquire + syssem_release(s, 1), a loop in C
           (syssem._syssem._c_rounds: what a C program pays)
  Python   sem.acquire(); sem.release(), a loop in Python
  with     `with sem: pass`, a loop in Python
  floor    a Python loop calling two C methods that do nothing
           (the interpreter's share of the Python rows)

Each repetition times N rounds of every row, in turn; the table shows the
median ns per round, and the medians of the per-repetition ratio to C and
difference from C. Timings are printed, never judged.

    python3 bench/python_overhead.py [--quick] [--no-pin]
"""

import itertools
import os
import statistics
import sys
import time

import syssem


def python_rounds(sem, n):
    acquire, release = sem.acquire, sem.release
    t0 = time.perf_counter()
    for _ in itertools.repeat(None, n):
        acquire()
        release()
    return time.perf_counter() - t0


def with_rounds(sem, n):
    t0 = time.perf_counter()
    for _ in itertools.repeat(None, n):
        with sem:
            pass
    return time.perf_counter() - t0


def floor_rounds(sem, n):
    # Two calls of C methods that do nothing, as the two above do something.
    nothing = [].clear
    t0 = time.perf_counter()
    for _ in itertools.repeat(None, n):
        nothing()
        nothing()
    return time.perf_counter() - t0


ROWS = [
    ("C", syssem._syssem._c_rounds),
    ("Python", python_rounds),
    ("with", with_rounds),
    ("floor", floor_rounds),
]


def bench(backend, reps, n):
    key = f"syssem-python-bench-{os.getpid()}"
    sem = syssem.Semaphore(key, 1, syssem.CREATE_NEW, backend=backend)
    try:
        times = {name: [] for name, _ in ROWS}
        for _ in range(reps):
            for name, rounds in ROWS:
                times[name].append(rounds(sem, n) / n * 1e9)
        if sem.value != 1:
            raise SystemExit(f"bench: the count is {sem.value}, not 1")
    finally:
        sem.close()
    c = times["C"]
    for name, _ in ROWS:
        ns = times[name]
        ratio = statistics.median(t / ref for t, ref in zip(ns, c))
        extra = statistics.median(t - ref for t, ref in zip(ns, c))
        print(f"{backend!s:6} {name:7} {statistics.median(ns):9.1f} ns"
              f"   x{ratio:5.2f} of C   {extra:+8.1f} ns")


def main():
    quick = "--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK")
    reps, n = (3, 20000) if quick else (11, 200000)
    pinned = ""
    if "--no-pin" not in sys.argv[1:] and hasattr(os, "sched_setaffinity"):
        # On one CPU, as bench/bench runs: no migration inside a row.
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = f", pinned to CPU {cpu}"
    print(f"syssem {syssem.__version__}, Python {sys.version.split()[0]}, "
          f"{reps} repetitions of {n} rounds{pinned}; ns per acquire+release")
    for backend in syssem.available_backends():
        bench(backend, reps, n)


if __name__ == "__main__":
    main()
