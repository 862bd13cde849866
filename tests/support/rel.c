/*
 * Test support for the reliability tests (rel.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#ifdef __linux__
# include <sys/prctl.h>
#endif

long rel_size(long quick, long ci, long full)
{
  const char *e = getenv("SYSSEM_STRESS");

  if (e != NULL && strcmp(e, "full") == 0)
    return full;
  if (e != NULL && strcmp(e, "quick") == 0)
    return quick;
  return ci;
}

long rel_slack_ms(void)
{
  const char *e = getenv("SYSSEM_REL_SLACK_MS");

  return e != NULL && atol(e) > 0 ? atol(e) : 100;
}

int not_valgrind(void)
{
  return getenv("SYSSEM_REL_VALGRIND") == NULL;
}

void figure(const char *name, const char *fmt, ...)
{
  va_list ap;

  printf("FIGURE %s backend=%s ", name, SYSV ? "sysv" : "posix");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

double rel_secs(long long start_ms)
{
  long long d = proc_now_ms() - start_ms;

  return d > 0 ? (double)d / 1000.0 : 0.001;
}

void *shared_alloc(size_t len)
{
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);

  assert_true(p != MAP_FAILED);
  memset(p, 0, len);
  return p;
}

void shared_free(void *p, size_t len)
{
  munmap(p, len);
}

#ifdef __linux__
/* A child that outlives a failed test process would spin for ever. */
static int die_with_parent(pid_t parent)
{
  return prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent;
}
#else
static int die_with_parent(pid_t parent)
{
  (void)parent;
  return 1;
}
#endif

pid_t rel_fork(void)
{
  pid_t parent = getpid(), pid;

  fflush(stdout);
  fflush(stderr);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0 && !die_with_parent(parent))
    _exit(1);
  return pid;
}

void crew_init(crew_t *c)
{
  c->pid = NULL;
  c->n = c->cap = 0;
  assert_int_equal(pipe2(c->done, O_CLOEXEC), 0);
}

pid_t crew_fork(crew_t *c, int (*fn)(void *, int), void *arg)
{
  pid_t pid;

  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 16;
    c->pid = realloc(c->pid, (size_t)c->cap * sizeof *c->pid);
    assert_non_null(c->pid);
  }
  pid = rel_fork();
  if (pid == 0) {
    close(c->done[0]);
    _exit(fn(arg, c->n));
  }
  c->pid[c->n++] = pid;
  return pid;
}

int crew_wait(crew_t *c, long timeout_ms, int *hung)
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
  free(c->pid);
  c->pid = NULL;
  c->n = c->cap = 0;
  return failed;
}

void crew_run(int n, int (*fn)(void *, int), void *arg, long timeout_ms)
{
  crew_t c;
  int i, hung;

  crew_init(&c);
  for (i = 0; i < n; i++)
    crew_fork(&c, fn, arg);
  assert_int_equal(crew_wait(&c, timeout_ms, &hung), 0);
  assert_false(hung);
}

int kill_reap(pid_t pid)
{
  int st = 0;

  kill(pid, SIGKILL);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return st;
}
