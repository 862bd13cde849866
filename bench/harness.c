/*
 * The benchmark's harness (harness.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "syssem.h"
#include "harness.h"

#define MAX_REPS 31
#define MAX_ARMS 4
#define MAX_BLOCKS 4000

int bench_quick;
int bench_reps = 11;
int bench_blocks;
volatile sig_atomic_t bench_stopping;
long bench_failures;
int bench_met, bench_missed;

double bench_now(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

void bench_die(const char *what)
{
  fprintf(stderr, "bench: %s: %s (%s)\n", what, strerror(errno),
          syssem_last_error_message());
  exit(2);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

double bench_quantile(double *v, int n, double q)
{
  double pos;
  int i;

  qsort(v, (size_t)n, sizeof *v, cmp_double);
  pos = q * (n - 1);
  i = (int)pos;
  return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[n - 1];
}

double bench_median(double *v, int n)
{
  return bench_quantile(v, n, 0.5);
}

void bench_key(char *out, size_t len, const char *what)
{
  const char *run = getenv("SYSSEM_TEST_PREFIX");

  snprintf(out, len, "%sbench%ld%s", run ? run : "", (long)getpid(), what);
}

void bench_print(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}

/* Arms ---------------------------------------------------------------- */

double bench_run_pairs(bench_arm_t *a, long n)
{
  double t = bench_now();

  bench_failures += a->impl->pairs(a->h, n);
  return bench_now() - t;
}

double bench_run_tries(bench_arm_t *a, long n)
{
  double t = bench_now();

  bench_failures += a->impl->tries(a->h, n);
  return bench_now() - t;
}

void bench_arm(bench_arm_t *a, const bench_impl_t *impl, void *h)
{
  memset(a, 0, sizeof *a);
  a->label = impl->name;
  a->run = bench_run_pairs;
  a->impl = impl;
  a->h = h;
}

void *bench_create(const bench_impl_t *impl, const char *key, int initial)
{
  void *h = impl->create(key, initial);

  if (h == NULL)
    bench_die(impl->name);
  return h;
}

void *bench_attach(const bench_impl_t *impl, const char *key)
{
  void *h = impl->attach(key);

  if (h == NULL)
    bench_die(impl->name);
  return h;
}

/* Data files ------------------------------------------------------------- */

static char data_dir[4096];

/* Make dir and its missing parents. */
void bench_data_dir(const char *dir)
{
  char *p;

  snprintf(data_dir, sizeof data_dir, "%s", dir);
  for (p = data_dir + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(data_dir, 0777) != 0 && errno != EEXIST)
      bench_die(data_dir);
    *p = '/';
  }
  if (mkdir(data_dir, 0777) != 0 && errno != EEXIST)
    bench_die(data_dir);
}

void bench_data(const char *table, const char *fmt, ...)
{
  char path[4200];
  va_list ap;
  FILE *f;

  if (data_dir[0] == '\0')
    return;
  snprintf(path, sizeof path, "%s/%s.tsv", data_dir, table);
  f = fopen(path, "a");
  if (f == NULL)
    bench_die(path);
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

void bench_data_close(void)
{
  data_dir[0] = '\0';
}

/* Callgrind mode ---------------------------------------------------------- */

static struct {
  const char *what, *backend, *side;
  long n;
  int done;
} cg;

void bench_callgrind(const char *what, const char *backend, const char *side,
                     long n)
{
  cg.what = what;
  cg.backend = backend;
  cg.side = side;
  cg.n = n;
}

int bench_callgrind_mode(void)
{
  return cg.n > 0;
}

int bench_callgrind_done(void)
{
  return cg.done;
}

/* Callgrind counts only inside this function (--toggle-collect): n
 * operations plus a constant that callgrind.sh cancels by running n and 2n. */
__attribute__((noinline)) double bench_measure(bench_arm_t *a, long n)
{
  return a->run(a, n);
}

/* In callgrind mode: run the arm asked for, if this row has it. "lib" is the
 * row's first arm; any other side names the reference by its kind. */
static void callgrind_row(const char *what, const char *backend,
                          bench_arm_t *arms, int narms)
{
  int i;

  if (cg.done || strcmp(what, cg.what) != 0 ||
      strcmp(backend, cg.backend) != 0)
    return;
  for (i = 0; i < narms; i++) {
    if (i == 0 ? strcmp(cg.side, "lib") == 0
               : strcmp(cg.side, arms[i].impl->side) == 0) {
      bench_measure(&arms[i], cg.n);
      cg.done = 1;
      return;
    }
  }
}

/* Interleaved repetitions ------------------------------------------------- */

/* Operations per repetition: double from n0 until ref takes the budget. */
static long calibrate(bench_arm_t *ref, long n0, long nmax)
{
  double budget = bench_quick ? 2e6 : 20e6;
  long n = n0;

  while (ref->run(ref, n) < budget && n < nmax)
    n = n * 2 < nmax ? n * 2 : nmax;
  return n;
}

static void verdict(double ratio, double target)
{
  if (target <= 0) {
    printf("  %6s  %s", "-", "-");
    return;
  }
  printf("  %5.2fx  %s", target, ratio <= target ? "met" : "MISSED");
  if (ratio <= target)
    bench_met++;
  else
    bench_missed++;
}

void bench_compare(const char *what, const char *backend, bench_arm_t *lib,
                   bench_arm_t *ref, long n0, long nmax, double target)
{
  double tl[MAX_REPS], tr[MAX_REPS], ratio[MAX_REPS], ml, mr, mq, q1, q3;
  bench_arm_t arms[2];
  long n, before = bench_failures;
  int i;

  if (bench_callgrind_mode()) {
    arms[0] = *lib;
    arms[1] = *ref;
    callgrind_row(what, backend, arms, 2);
    return;
  }
  if (bench_stopping)
    return;
  n = calibrate(ref, n0, nmax);
  lib->run(lib, n); /* warm up */
  for (i = 0; i < bench_reps && !bench_stopping; i++) {
    if (i % 2 == 0) {
      tl[i] = lib->run(lib, n);
      tr[i] = ref->run(ref, n);
    } else {
      tr[i] = ref->run(ref, n);
      tl[i] = lib->run(lib, n);
    }
    ratio[i] = tl[i] / tr[i];
  }
  if (bench_stopping)
    return;
  ml = bench_median(tl, bench_reps) / (double)n;
  mr = bench_median(tr, bench_reps) / (double)n;
  q1 = bench_quantile(ratio, bench_reps, 0.25);
  q3 = bench_quantile(ratio, bench_reps, 0.75);
  mq = bench_median(ratio, bench_reps);
  printf("%-16s %-12s %10.1f %10.1f  %-22s %6.3f %5.3f-%5.3f", what, backend,
         ml, mr, ref->label, mq, q1, q3);
  verdict(mq, target);
  if (bench_failures != before)
    printf("  (%ld failed operations)", bench_failures - before);
  printf("\n");
  fflush(stdout);
  bench_data("ratios", "%s\t%s\t%s\t%.4f\t%.4f\t%.4f\t%.2f", what, backend,
             ref->label, mq, q1, q3, target);
}

/* Alternating blocks ---------------------------------------------------- */

static double block_t[MAX_ARMS][MAX_BLOCKS];

void bench_ab(const char *backend, bench_arm_t *arms, int narms, long block,
              int blocks, double target)
{
  double ratio[MAX_BLOCKS], per[MAX_ARMS], mq, q1, q3;
  char what[32];
  long before = bench_failures;
  int b, k, a, done = 0;

  if (bench_callgrind_mode()) {
    callgrind_row("ab", backend, arms, narms);
    return;
  }
  if (bench_stopping)
    return;
  if (blocks > MAX_BLOCKS)
    blocks = MAX_BLOCKS;
  for (a = 0; a < narms; a++)
    arms[a].run(&arms[a], block); /* warm up */
  for (b = 0; b < blocks && !bench_stopping; b++, done++) {
    /* Rotate the order, so that no arm always follows the same one. */
    for (k = 0; k < narms; k++) {
      a = (b + k) % narms;
      block_t[a][b] = arms[a].run(&arms[a], block);
    }
  }
  if (done < 3)
    return;
  for (a = 0; a < narms; a++) {
    double t[MAX_BLOCKS];

    memcpy(t, block_t[a], sizeof(double) * (size_t)done);
    per[a] = bench_median(t, done) / (double)block;
  }
  /* Each arm against arms[1], the raw calls on the same object. */
  for (a = 0; a < narms; a++) {
    if (a == 1)
      continue;
    for (b = 0; b < done; b++)
      ratio[b] = block_t[a][b] / block_t[1][b];
    q1 = bench_quantile(ratio, done, 0.25);
    q3 = bench_quantile(ratio, done, 0.75);
    mq = bench_median(ratio, done);
    snprintf(what, sizeof what, "A/B %s", arms[a].impl->side);
    printf("%-16s %-12s %10.1f %10.1f  %-22s %6.3f %5.3f-%5.3f", what,
           backend, per[a], per[1], arms[1].label, mq, q1, q3);
    verdict(mq, a == 0 ? target : 0);
    printf("  (+%.1f ns/pair, %d blocks of %ld)\n", per[a] - per[1], done,
           block);
    bench_data("ab", "%s\t%s\t%.4f\t%.4f\t%.4f\t%.2f\t%.2f\t%.2f", backend,
               arms[a].impl->side, mq, q1, q3, per[a], per[1],
               a == 0 ? target : 0);
  }
  if (bench_failures != before)
    printf("  (%ld failed operations)\n", bench_failures - before);
  fflush(stdout);
}

/* Watchdog ------------------------------------------------------------ */

static void on_stuck(int sig)
{
  static const char msg[] = "bench: a case is stuck (a process gone?), giving up\n";
  ssize_t r = write(2, msg, sizeof msg - 1);

  (void)sig;
  (void)r;
  _exit(3);
}

void bench_watchdog(unsigned seconds)
{
  signal(SIGALRM, on_stuck);
  alarm(seconds);
}

/* CPUs ---------------------------------------------------------------- */

static cpu_set_t all_cpus;
static int pinned;

int bench_pin(void)
{
  cpu_set_t set;
  int cpu;

  if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0)
    return -1;
  set = all_cpus;
  for (cpu = CPU_SETSIZE - 1; cpu >= 0 && !CPU_ISSET(cpu, &set); cpu--)
    ;
  if (cpu < 0)
    return -1;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    return -1;
  pinned = 1;
  return cpu;
}

void bench_unpin(void)
{
  if (pinned && sched_setaffinity(0, sizeof all_cpus, &all_cpus) == 0)
    pinned = 0;
}
