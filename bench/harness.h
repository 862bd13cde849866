/*
 * The benchmark's harness: clocks, medians, the two ways of comparing a
 * library arm with its reference (interleaved repetitions, and alternating
 * blocks in one loop), the printed table, the data files the charts are drawn
 * from, and callgrind mode. The cases (case_*.c) know what to measure; this
 * knows how.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>

#include "impl.h"

/* The run's settings (main.c sets them from the command line). */
extern int bench_quick;          /* --quick or BENCH_QUICK: a short run    */
extern int bench_reps;           /* repetitions of a compare() row         */
extern int bench_blocks;         /* blocks per arm of a bench_ab() row     */
extern volatile sig_atomic_t bench_stopping; /* SIGINT/SIGTERM seen        */
extern long bench_failures;      /* operations that did not do their job  */

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now(void);

/* Report what failed (errno and libsyssem's last error) and exit 2. */
void bench_die(const char *what);

/* The median of v[0..n) (sorts v); bench_quantile: q in [0, 1]. */
double bench_median(double *v, int n);
double bench_quantile(double *v, int n, double q);

/* A key of this run: "<$SYSSEM_TEST_PREFIX>bench<pid><what>", so that runs
 * at once never meet, and a CI run finds what it left by its prefix. */
void bench_key(char *out, size_t len, const char *what);

/* One arm of a comparison: run() times n operations and returns ns. */
typedef struct bench_arm bench_arm_t;
struct bench_arm {
  const char *label;
  double (*run)(bench_arm_t *a, long n);
  const bench_impl_t *impl; /* what run() drives                      */
  void *h;                  /* its handle                             */
  int create;               /* open cases: create and remove, or attach */
  int native;               /* open cases: key is a native name        */
  char key[PATH_MAX];       /* the key the arm opens                  */
};

/* An arm over impl's handle h: run() times impl->pairs (or impl->tries). */
void bench_arm(bench_arm_t *a, const bench_impl_t *impl, void *h);
double bench_run_pairs(bench_arm_t *a, long n);
double bench_run_tries(bench_arm_t *a, long n);

/* Create (or attach to) the object of key with impl, or exit. */
void *bench_create(const bench_impl_t *impl, const char *key, int initial);
void *bench_attach(const bench_impl_t *impl, const char *key);

/* Time lib and ref in turns (which one goes first alternates), bench_reps
 * times, n operations each, n doubled from n0 (at most nmax) until ref takes
 * the time budget. Prints the row: median ns/op of each side and the median
 * of the per-repetition ratios lib/ref, against target (<= 0: none). */
void bench_compare(const char *what, const char *backend, bench_arm_t *lib,
                   bench_arm_t *ref, long n0, long nmax, double target);

/* The A/B form for the hot pairs: arms[0] (the library) and the others on
 * the same object, in one loop of blocks of `block` operations each, the
 * arms' order rotating from block to block. Prints one row per arm after the
 * first: median and quartiles of the per-block ratio arm/arms[1] and the
 * library's ratio to arms[1]. target applies to the library's ratio. */
void bench_ab(const char *backend, bench_arm_t *arms, int narms, long block,
              int blocks, double target);

/* Print a row of a table other than the compare table (a header line, a
 * contention row): printf to stdout. */
void bench_print(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Append a line to the data file `table`.tsv, when the run was asked for
 * data (--data DIR). fmt gives the tab-separated fields. */
void bench_data(const char *table, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Open the data directory: every later bench_data() writes there. */
void bench_data_dir(const char *dir);
void bench_data_close(void);

/* Targets met and missed so far. */
extern int bench_met, bench_missed;

/* Callgrind mode (--callgrind CASE BACKEND SIDE N): bench_compare() and
 * bench_ab() run only the arm asked for, once, N operations, inside
 * bench_measure(), which is what callgrind.sh has Valgrind count. */
void bench_callgrind(const char *what, const char *backend, const char *side,
                     long n);
int bench_callgrind_mode(void); /* 1 in callgrind mode                    */
int bench_callgrind_done(void); /* 1 once the arm asked for has run       */
double bench_measure(bench_arm_t *a, long n);

/* Give up the whole run (exit 3, with a message) if it is still inside
 * this stretch after `seconds`: a child that died would otherwise leave a
 * parent waiting forever. 0 ends the stretch. */
void bench_watchdog(unsigned seconds);

/* Restore the CPUs the process had before main() pinned it: the contention
 * cases want every CPU. bench_pin() pins to one and returns it, or -1. */
int bench_pin(void);
void bench_unpin(void);

#endif /* BENCH_HARNESS_H */
