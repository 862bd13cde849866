/*
 * libsyssem benchmark: the library against the raw OS calls it wraps, the
 * thinnest possible wrapper, Qt's QSystemSemaphore and Boost.Interprocess,
 * in one process run; docs/performance.md explains every table.
 *
 * SPDX-License-Identifier: MIT
 *
 * Usage:
 *   bench [--quick] [--reps R] [--blocks B] [--no-pin] [--data DIR]
 *         [--only GROUP,...]
 *       the tables (BENCH_QUICK=1 is --quick); B blocks per arm in the A/B
 *       rows (1,000; --quick 20). GROUPs: pairs, ab, pages,
 *       pingpong, open, contention, latency. --data DIR writes the
 *       numbers the charts are drawn from (bench/plot.sh).
 *   bench --callgrind CASE BACKEND SIDE N
 *       N operations of one arm of one row, e.g. "acquire+release" sysv
 *       lib 1000; SIDE is lib or the reference's kind (raw, qt, boost).
 *       callgrind.sh runs it under callgrind.
 *
 * The exit status is 0 whatever the timings: targets are reported, never
 * asserted. It is 1 when an operation failed or a semaphore let more
 * holders in than it had tokens.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "syssem.h"
#include "harness.h"
#include "cases.h"

static const struct {
  const char *name;
  void (*run)(void);
} groups[] = {
  { "pairs", bench_case_pairs },
  { "ab", bench_case_ab },
  { "pages", bench_case_pages },
  { "pingpong", bench_case_pingpong },
  { "open", bench_case_open },
  { "contention", bench_case_contention },
  { "latency", bench_case_latency },
};

#define NGROUPS (sizeof groups / sizeof groups[0])

static void on_signal(int sig)
{
  (void)sig;
  bench_stopping = 1;
}

static void print_machine(int cpu)
{
  struct utsname u;
  char line[256], model[200] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");

  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
      snprintf(model, sizeof model, "%s", colon + 2);
      model[strcspn(model, "\n")] = '\0';
      break;
    }
  }
  if (f != NULL)
    fclose(f);
  uname(&u);
  printf("libsyssem %s benchmark\n", syssem_version());
  printf("machine: %s %s %s, %s, %ld CPUs\n", u.sysname, u.release, u.machine,
         model, sysconf(_SC_NPROCESSORS_ONLN));
  printf("Qt: %s; Boost: %s\n",
         bench_qt != NULL ? bench_qt_version : "not built in",
         bench_boost != NULL ? bench_boost_version : "not built in");
  if (cpu >= 0)
    printf("pinned to CPU %d (ping-pong: both processes on it); contention "
           "and latency on every CPU\n", cpu);
  else
    printf("not pinned\n");
  printf("%d repetitions, lib and reference in turns; ns per operation "
         "(a pair, a round trip, an open+close); ratio = median of "
         "lib/reference per repetition, and its quartiles\n\n",
         bench_reps);
  printf("%-16s %-12s %10s %10s  %-22s %6s %11s  %6s  %s\n", "case",
         "backend", "lib ns/op", "ref ns/op", "reference", "ratio",
         "quartiles", "target", "result");
}

static void usage(void)
{
  fprintf(stderr, "usage: bench [--quick] [--reps R] [--blocks B] [--no-pin]"
                  " [--data DIR] [--only GROUP,...]\n"
                  "       bench --callgrind CASE BACKEND SIDE N\n"
                  "GROUPs: pairs ab pages pingpong open contention latency\n");
  exit(2);
}

/* 1 if group g is in the comma-separated list (NULL: all). */
static int chosen(const char *list, const char *g)
{
  size_t n = strlen(g);
  const char *p = list;

  if (list == NULL)
    return 1;
  while ((p = strstr(p, g)) != NULL) {
    if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
      return 1;
    p += n;
  }
  return 0;
}

/* 1 if every name in the comma-separated list is a group. */
static int known(const char *list)
{
  size_t g, len;

  for (;;) {
    len = strcspn(list, ",");
    for (g = 0; g < NGROUPS; g++)
      if (strlen(groups[g].name) == len &&
          strncmp(list, groups[g].name, len) == 0)
        break;
    if (g == NGROUPS)
      return 0;
    if (list[len] == '\0')
      return 1;
    list += len + 1;
  }
}

int main(int argc, char **argv)
{
  struct sigaction sa;
  const char *q = getenv("BENCH_QUICK"), *only = NULL, *data = NULL;
  int i, nopin = 0, cpu = -1;
  size_t g;

  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_quick = q != NULL && *q != '\0' && strcmp(q, "0") != 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      bench_quick = 1;
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      bench_reps = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-pin") == 0) {
      nopin = 1;
    } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      data = argv[++i];
    } else if (strcmp(argv[i], "--blocks") == 0 && i + 1 < argc) {
      bench_blocks = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (strcmp(argv[i], "--callgrind") == 0 && i + 4 < argc) {
      bench_callgrind(argv[i + 1], argv[i + 2], argv[i + 3],
                      atol(argv[i + 4]));
      if (!bench_callgrind_mode())
        usage();
      i += 4;
    } else {
      usage();
    }
  }
  if (bench_quick) {
    bench_reps = 3;
    if (bench_blocks == 0)
      bench_blocks = 20;
  }
  if (bench_blocks == 0)
    bench_blocks = 1000;
  if (bench_reps < 1 || bench_reps > 31 || bench_blocks < 3 ||
      bench_blocks > 4000)
    usage();
  if (only != NULL && !known(only))
    usage();

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if (!bench_callgrind_mode()) {
    if (!nopin)
      cpu = bench_pin();
    if (data != NULL)
      bench_data_dir(data);
    print_machine(cpu);
  }
  for (g = 0; g < NGROUPS; g++)
    if (chosen(only, groups[g].name))
      groups[g].run();

  if (bench_callgrind_mode()) {
    if (!bench_callgrind_done())
      fprintf(stderr, "bench: no such row and side: %s\n", argv[2]);
    else if (bench_failures)
      fprintf(stderr, "bench: %ld failed operations\n", bench_failures);
    return !bench_callgrind_done() || bench_failures != 0;
  }
  if (bench_stopping) {
    printf("\nstopped by a signal; objects removed\n");
    return 0;
  }
  printf("\ntargets: %d met, %d missed%s\n", bench_met, bench_missed,
         bench_failures ? " (some operations FAILED: see above)" : "");
  return bench_failures != 0;
}
