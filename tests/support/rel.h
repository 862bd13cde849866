/*
 * Test support for the reliability tests (Unix): sizes from the
 * environment, figures, memory shared with forked workers, crews of workers
 * and their checks. Each program runs once per backend with SYSSEM_BACKEND
 * set.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_REL_H
#define SYSSEM_REL_H

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include "api.h"
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYSV is_backend(SYSSEM_BACKEND_SYSV)

/* SYSSEM_STRESS=full gives the figures of docs/reliability.md, =quick the
 * small counts the Valgrind run affords; anything else the CI counts. */
long rel_size(long quick, long ci, long full);

/* The bound on "late" for timed calls, in ms: SYSSEM_REL_SLACK_MS, else 100
 * (slow runs such as Valgrind set it higher). */
long rel_slack_ms(void);

/* 1 when the run is under Valgrind (SYSSEM_REL_VALGRIND, set by the
 * valgrind test setup); as a predicate for TEST_IF, not_valgrind. */
int not_valgrind(void);

/* One line of figures, "FIGURE name backend=... k=v ...": docs/reliability.md
 * quotes these, .ci/reliability.sh collects them from the test log. */
void figure(const char *name, const char *fmt, ...);

/* Seconds since start_ms (proc_now_ms), never 0. */
double rel_secs(long long start_ms);

/* Zeroed memory shared with the workers forked after it. */
void *shared_alloc(size_t len);
void shared_free(void *p, size_t len);

/* A worker must never return into cmocka: it checks with WCHECK, which
 * prints and exits 1, and ends with _exit. */
#define WCHECK(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "worker %ld: %s:%d: check failed: %s (last error: %s)\n", \
              (long)getpid(), __FILE__, __LINE__, #cond,                      \
              syssem_last_error_message());                                   \
      _exit(1);                                                               \
    }                                                                         \
  } while (0)

/* fork() for the tests: on Linux the child dies with its parent, so that
 * none outlives a failed test process. */
pid_t rel_fork(void);

/* A group of workers, and a pipe whose write end only they hold: its read
 * end reports end of file once every one of them has exited, so the parent
 * waits on it with a deadline instead of sleeping. */
typedef struct {
  pid_t *pid;
  int n, cap;
  int done[2];
} crew_t;

void crew_init(crew_t *c);

/* Fork a worker running fn(arg, index); its exit status is fn's result. */
pid_t crew_fork(crew_t *c, int (*fn)(void *, int), void *arg);

/* Wait at most timeout_ms for all workers to end (killing them all if they
 * do not: a hang), reap them and return how many failed. *hung tells
 * whether the deadline passed. */
int crew_wait(crew_t *c, long timeout_ms, int *hung);

/* Fork n workers, wait for them and assert that none failed or hung. */
void crew_run(int n, int (*fn)(void *, int), void *arg, long timeout_ms);

/* Kill one process and reap it; its wait status. */
int kill_reap(pid_t pid);

#endif
