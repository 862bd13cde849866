/*
 * Shared by the reliability tests: sizes from the environment, figures,
 * forked workers and their checks, shared memory, leftover checks.
 * Unix only; each program runs once per backend with SYSSEM_BACKEND set.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_REL_H
#define SYSSEM_REL_H

#define _GNU_SOURCE

/* Programs use a part of these helpers (and of common.h's). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#include "common.h"
#include "unix_object.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define SYSV is_backend(SYSSEM_BACKEND_SYSV)

/* Sizes ------------------------------------------------------------------ */

/* SYSSEM_STRESS=full gives the figures of docs/reliability.md, =quick the
 * small counts the Valgrind run affords; anything else the CI counts. */
static long rel_size(long quick, long ci, long full)
{
  const char *e = getenv("SYSSEM_STRESS");

  if (e != NULL && strcmp(e, "full") == 0)
    return full;
  if (e != NULL && strcmp(e, "quick") == 0)
    return quick;
  return ci;
}

/* The bound on "late" for timed calls, in ms: SYSSEM_REL_SLACK_MS, else 100
 * (slow runs such as Valgrind set it higher). */
static long rel_slack_ms(void)
{
  const char *e = getenv("SYSSEM_REL_SLACK_MS");

  return e != NULL && atol(e) > 0 ? atol(e) : 100;
}

/* One line of figures, "FIGURE name backend=... k=v ...": docs/reliability.md
 * quotes these, .ci/reliability.sh collects them from the test log. */
static void figure(const char *name, const char *fmt, ...)
{
  va_list ap;

  printf("FIGURE %s backend=%s ", name, SYSV ? "sysv" : "posix");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

static double rel_secs(long long start_ms)
{
  long long d = proc_now_ms() - start_ms;

  return d > 0 ? (double)d / 1000.0 : 0.001;
}

/* Memory shared with forked workers ---------------------------------------- */

static void *shared_alloc(size_t len)
{
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);

  assert_true(p != MAP_FAILED);
  memset(p, 0, len);
  return p;
}

static void shared_free(void *p, size_t len)
{
  munmap(p, len);
}

/* Forked workers -------------------------------------------------------------
 * A worker must never return into cmocka: it checks with WCHECK, which prints
 * and exits 1, and ends with _exit. */

#define WCHECK(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "worker %ld: %s:%d: check failed: %s (last error: %s)\n", \
              (long)getpid(), __FILE__, __LINE__, #cond,                      \
              syssem_last_error_message());                                   \
      _exit(1);                                                               \
    }                                                                         \
  } while (0)

/* fork() for the tests: a child that outlives a failed test process would
 * spin for ever, so on Linux it dies with its parent. */
static pid_t rel_fork(void)
{
  pid_t parent = getpid(), pid;

  fflush(stdout);
  fflush(stderr);
  pid = fork();
  assert_true(pid >= 0);
#ifdef __linux__
  if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
    _exit(1);
#else
  (void)parent;
#endif
  return pid;
}

/* A group of workers, and a pipe whose write end only they hold: its read
 * end reports end of file once every one of them has exited, so the parent
 * waits on it with a deadline instead of sleeping. */
typedef struct {
  pid_t pid[64];
  int n;
  int done[2];
} crew_t;

static void crew_init(crew_t *c)
{
  c->n = 0;
  assert_int_equal(pipe2(c->done, O_CLOEXEC), 0);
}

/* Fork a worker running fn(arg, index); its exit status is fn's result. */
static pid_t crew_fork(crew_t *c, int (*fn)(void *, int), void *arg)
{
  pid_t pid;

  assert_true(c->n < (int)(sizeof c->pid / sizeof c->pid[0]));
  pid = rel_fork();
  if (pid == 0) {
    close(c->done[0]);
    _exit(fn(arg, c->n));
  }
  c->pid[c->n++] = pid;
  return pid;
}

/* Wait at most timeout_ms for all workers to end (killing them all if they
 * do not: a hang), reap them and return how many failed. *hung tells
 * whether the deadline passed. */
static int crew_wait(crew_t *c, long timeout_ms, int *hung)
{
  struct pollfd pfd;
  long long end = proc_now_ms() + timeout_ms;
  int i, st, failed = 0, r;
  char b;

  close(c->done[1]);
  pfd.fd = c->done[0];
  pfd.events = POLLIN;
  *hung = 0;
  for (;;) {
    long long left = end - proc_now_ms();
    if (left <= 0) {
      *hung = 1;
      break;
    }
    r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0) {
      *hung = 1;
      break;
    }
    if (read(c->done[0], &b, 1) <= 0)
      break; /* end of file: all gone */
  }
  for (i = 0; i < c->n; i++) {
    if (*hung)
      kill(c->pid[i], SIGKILL);
    while (waitpid(c->pid[i], &st, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      print_error("worker %ld ended with status 0x%x\n", (long)c->pid[i], st);
      failed++;
    }
  }
  close(c->done[0]);
  c->n = 0;
  return failed;
}

/* Fork n workers, wait for them and assert that none failed or hung. */
static void crew_run(int n, int (*fn)(void *, int), void *arg, long timeout_ms)
{
  crew_t c;
  int i, hung;

  crew_init(&c);
  for (i = 0; i < n; i++)
    crew_fork(&c, fn, arg);
  assert_int_equal(crew_wait(&c, timeout_ms, &hung), 0);
  assert_false(hung);
}

/* Kill one process and reap it; its wait status. */
static int kill_reap(pid_t pid)
{
  int st = 0;

  kill(pid, SIGKILL);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return st;
}

/* Root-only tests ------------------------------------------------------------
 * They need root (setuid to nobody, a new IPC namespace). Run unprivileged,
 * they fail loudly; SYSSEM_REL_NO_ROOT=1 leaves them out of the list instead,
 * for a developer's own runs (CI runs as root and never sets it). */
static int rel_root_tests_wanted(void)
{
  const char *e = getenv("SYSSEM_REL_NO_ROOT");

  if (geteuid() == 0 || e == NULL || strcmp(e, "1") != 0)
    return 1;
  printf("note: not root and SYSSEM_REL_NO_ROOT=1: root-only tests not run\n");
  return 0;
}

static void require_root(void)
{
  if (geteuid() != 0)
    fail_msg("%s", "this test needs root (CI runs as root); set "
             "SYSSEM_REL_NO_ROOT=1 to leave it out of an unprivileged run");
}

#define REL_TEST(f) ((struct CMUnitTest)cmocka_unit_test(f))

#pragma GCC diagnostic pop

#endif
