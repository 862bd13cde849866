/*
 * Signals: a process waiting in acquire or try_acquire(timeout) gets SIGUSR1
 * as fast as another process can send it, with a handler installed without
 * SA_RESTART (so every wait is interrupted with EINTR). The calls return no
 * spurious error, never before the token is there or the timeout is over,
 * and at most SYSSEM_REL_SLACK_MS (default 100) late.
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

/* The pause between two signals. About 10,000 signals a second arrive this
 * way. Unpaced (the sender spinning on kill, some 70,000 a second), the
 * waiter spends all its time in the handler and returns up to ~115 ms late
 * on both backends: starvation of the waiter's CPU, not the library. */
#define SIGNAL_GAP_US 20

enum call { ACQUIRE, TRY_TIMEOUT, TRY_ZERO };

struct scenario {
  const char *name;
  enum call call;
  long timeout_ms;  /* TRY_TIMEOUT                                  */
  long release_ms;  /* the parent releases this long after "ready"; <0: never */
  int want;         /* expected code                                 */
};

struct outcome {
  int rc;
  long long start, end; /* CLOCK_MONOTONIC ms, comparable across processes */
  long signals;         /* handled by the waiter                         */
};

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
  (void)sig;
  handled++;
}

/* The waiting process: answers with one struct outcome on the pipe. */
static void waiter(const char *key, const struct scenario *sc, int ready,
                   int out)
{
  struct sigaction sa;
  struct outcome o;
  syssem_t *s;

  memset(&o, 0, sizeof o); /* the padding goes down the pipe too */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = 0; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  WCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  s = syssem_open(key, 0, SYSSEM_OPEN_EXISTING);
  WCHECK(s != NULL);
  WCHECK(write(ready, "r", 1) == 1);
  o.start = proc_now_ms();
  if (sc->call == ACQUIRE) {
    o.rc = syssem_acquire(s);
  } else if (sc->call == TRY_TIMEOUT) {
    o.rc = syssem_try_acquire(s, sc->timeout_ms);
  } else {
    /* As many non-blocking tries as fit in 300 ms. */
    do
      o.rc = syssem_try_acquire(s, 0);
    while (o.rc == SYSSEM_ETIMEDOUT && proc_now_ms() - o.start < 300);
  }
  o.end = proc_now_ms();
  o.signals = (long)handled;
  if (o.rc != sc->want)
    fprintf(stderr, "waiter: %s\n", syssem_last_error_message());
  WCHECK(write(out, &o, sizeof o) == (ssize_t)sizeof o);
  syssem_close(s);
  _exit(0);
}

static void run_scenario(const struct scenario *sc)
{
  const char *key = key_for("signals");
  long slack = rel_slack_ms(), sent = 0, late;
  long long t_ready, released = -1, deadline;
  int ready[2], out[2], st;
  struct pollfd pfd;
  struct timespec gap = { 0, SIGNAL_GAP_US * 1000L };
  struct outcome o;
  syssem_t *s;
  pid_t pid;
  char c;

  s = open_or_fail(key, 0, SYSSEM_CREATE_NEW);
  assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  pid = rel_fork();
  if (pid == 0)
    waiter(key, sc, ready[1], out[1]);
  close(ready[1]);
  close(out[1]);
  assert_int_equal(read(ready[0], &c, 1), 1);
  t_ready = proc_now_ms();
  deadline = t_ready + PROMPT_MS + sc->timeout_ms + slack;

  /* The storm: a signal, a look at the answer pipe, a pause of
   * SIGNAL_GAP_US, again. */
  pfd.fd = out[0];
  pfd.events = POLLIN;
  while (poll(&pfd, 1, 0) == 0) {
    nanosleep(&gap, NULL);
    if (kill(pid, SIGUSR1) == 0)
      sent++;
    if (sc->release_ms >= 0 && released < 0 &&
        proc_now_ms() >= t_ready + sc->release_ms) {
      /* The time before the call: the waiter may wake before it returns. */
      released = proc_now_ms();
      assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    }
    if (proc_now_ms() > deadline) {
      kill_reap(pid);
      fail_msg("%s: no answer in time (a hang)", sc->name);
    }
  }
  assert_int_equal(read(out[0], &o, sizeof o), (ssize_t)sizeof o);
  close(ready[0]);
  close(out[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

  if (sc->call == TRY_TIMEOUT && sc->want == SYSSEM_ETIMEDOUT)
    late = (long)(o.end - o.start) - sc->timeout_ms;
  else if (released >= 0)
    late = (long)(o.end - released);
  else
    late = 0;
  figure(sc->name, "rc=%d elapsed_ms=%lld late_ms=%ld signals_sent=%ld "
         "signals_handled=%ld handled_per_s=%.0f",
         o.rc, o.end - o.start, late, sent, o.signals,
         (double)o.signals * 1000.0 / (double)(o.end - o.start + 1));
  assert_int_equal(o.rc, sc->want);
  /* Neither early (before the token or the timeout) nor late. */
  if (sc->call == TRY_TIMEOUT && sc->want == SYSSEM_ETIMEDOUT)
    assert_true(o.end - o.start >= sc->timeout_ms);
  if (released >= 0)
    assert_true(o.end >= released);
  assert_true(late >= 0 && late <= slack);
  /* The storm reached the waiter while it waited (signals coalesce, so
   * fewer are handled than sent). */
  assert_true(o.signals >= 10);
  /* The waiter took the token and exited: System V's undo gave it back. */
  if (sc->want == SYSSEM_OK)
    assert_int_equal(value_of(s), SYSV ? 1 : 0);
  syssem_close(s);
}

static void signals_acquire(void **state)
{
  static const struct scenario sc = { "signals-acquire", ACQUIRE, 0, 300,
                                      SYSSEM_OK };
  (void)state;
  run_scenario(&sc);
}

static void signals_try_timeout(void **state)
{
  static const struct scenario sc = { "signals-try-timeout", TRY_TIMEOUT, 300,
                                      -1, SYSSEM_ETIMEDOUT };
  (void)state;
  run_scenario(&sc);
}

static void signals_try_woken(void **state)
{
  static const struct scenario sc = { "signals-try-woken", TRY_TIMEOUT, 5000,
                                      300, SYSSEM_OK };
  (void)state;
  run_scenario(&sc);
}

static void signals_try_zero(void **state)
{
  static const struct scenario sc = { "signals-try-zero", TRY_ZERO, 0, -1,
                                      SYSSEM_ETIMEDOUT };
  (void)state;
  run_scenario(&sc);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(signals_acquire),
    TEST(signals_try_timeout),
    TEST(signals_try_woken),
    /* Valgrind delivers a signal only where its scheduler looks: a loop of
     * non-blocking calls handles too few of them to tell anything. */
    TEST_IF(signals_try_zero, not_valgrind),
  };

  return TEST_MAIN("signals", tests);
}
