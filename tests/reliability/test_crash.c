/*
 * Crash loop: a process using the semaphore is killed with SIGKILL, again
 * and again.
 *  - At a random point of its acquire/release cycle: System V's SEM_UNDO
 *    brings the count back to its starting value every time; POSIX has no
 *    undo, so a holder killed with a token loses it: the test measures that
 *    drift (never a gain) and gives the token back before the next round.
 *  - While blocked in acquire: nothing is lost or gained on either backend.
 *
 * Rounds: 100 each (SYSSEM_STRESS=full: 1,000).
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

struct crashboard {
  char key[128];
  volatile int holding; /* the victim has a token */
};

static long rounds(void)
{
  return rel_size(20, 100, 1000);
}

/* Fork a victim that opens the key, says so on a pipe, then runs body. */
static pid_t victim(struct crashboard *b, void (*body)(syssem_t *,
                                                       struct crashboard *))
{
  int ready[2];
  pid_t pid;
  char c;

  assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
  pid = rel_fork();
  if (pid == 0) {
    syssem_t *s = syssem_open(b->key, 1, SYSSEM_OPEN);

    WCHECK(s != NULL);
    WCHECK(write(ready[1], "r", 1) == 1);
    body(s, b);
    _exit(1); /* bodies never end: only SIGKILL does */
  }
  close(ready[1]);
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  return pid;
}

static void cycle_forever(syssem_t *s, struct crashboard *b)
{
  volatile unsigned spin;

  for (;;) {
    WCHECK(syssem_acquire(s) == SYSSEM_OK);
    b->holding = 1;
    for (spin = 0; spin < 2000u; spin++)
      ;
    b->holding = 0;
    WCHECK(syssem_release(s, 1) == SYSSEM_OK);
  }
}

static void block_forever(syssem_t *s, struct crashboard *b)
{
  (void)b;
  syssem_acquire(s);
  fprintf(stderr, "victim: acquire returned while the parent held the token\n");
}

static void killed_by_sigkill(int st)
{
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
    fail_msg("victim did not die of SIGKILL (status 0x%x)", st);
}

static void crash_random_point(void **state)
{
  struct crashboard *b = shared_alloc(sizeof *b);
  long n = rounds(), i, holding = 0, drift = 0;
  struct timespec nap = { 0, 0 };
  syssem_t *s;
  pid_t pid;
  int v;

  (void)state;
  snprintf(b->key, sizeof b->key, "%s", key_for("crashrandom"));
  s = open_or_fail(b->key, 1, SYSSEM_CREATE_NEW);
  for (i = 0; i < n; i++) {
    pid = victim(b, cycle_forever);
    /* A random point: 0 to 1 ms into its cycles (the randomness of the
     * test, not a wait for anything). */
    nap.tv_nsec = (long)(rand() % 1000) * 1000L;
    nanosleep(&nap, NULL);
    killed_by_sigkill(kill_reap(pid));
    holding += b->holding;
    v = value_of(s);
    if (SYSV) {
      if (v != 1)
        fail_msg("round %ld: count %d after the kill, expected 1", i, v);
    } else {
      /* No undo: a token held at the kill is gone; nothing is ever gained. */
      assert_true(v == 0 || v == 1);
      if (v == 0) {
        drift--;
        assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
      }
    }
    b->holding = 0;
  }
  figure("crash-random-point", "kills=%ld killed_holding=%ld count_drift=%ld "
         "final_count=%d", n, holding, drift, value_of(s));
  if (SYSV)
    assert_int_equal(drift, 0);
  syssem_close(s);
  shared_free(b, sizeof *b);
}

/* Whether pid is asleep in the semaphore wait: System V counts its waiters;
 * for POSIX the kernel names the futex wait the process sleeps in. */
static int blocked_in_acquire(syssem_t *s, pid_t pid)
{
  char path[64], wchan[128] = "";
  ssize_t n;
  int fd;

  if (SYSV)
    return semctl(sysv_id_of(syssem_native_key(s)), 0, GETNCNT) > 0;
  snprintf(path, sizeof path, "/proc/%ld/wchan", (long)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, wchan, sizeof wchan - 1);
  close(fd);
  wchan[n > 0 ? n : 0] = '\0';
  return strstr(wchan, "futex") != NULL;
}

static void crash_blocked(void **state)
{
  struct crashboard *b = shared_alloc(sizeof *b);
  struct timespec nap = { 0, 100000L };
  long n = rounds(), i;
  long long deadline;
  syssem_t *s;
  pid_t pid;

  (void)state;
  snprintf(b->key, sizeof b->key, "%s", key_for("crashblocked"));
  s = open_or_fail(b->key, 1, SYSSEM_CREATE_NEW);
  for (i = 0; i < n; i++) {
    assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
    pid = victim(b, block_forever);
    deadline = proc_now_ms() + PROMPT_MS;
    while (!blocked_in_acquire(s, pid)) {
      if (proc_now_ms() > deadline) {
        kill_reap(pid);
        fail_msg("round %ld: the victim never blocked in acquire", i);
      }
      nanosleep(&nap, NULL);
    }
    killed_by_sigkill(kill_reap(pid));
    /* The parent still holds the only token: nothing given, nothing taken. */
    assert_int_equal(value_of(s), 0);
    if (SYSV)
      assert_int_equal(semctl(sysv_id_of(syssem_native_key(s)), 0, GETNCNT), 0);
    assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    assert_int_equal(value_of(s), 1);
  }
  figure("crash-blocked", "kills=%ld lost=0 gained=0 final_count=%d", n,
         value_of(s));
  syssem_close(s);
  shared_free(b, sizeof *b);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(crash_random_point),
    TEST(crash_blocked),
  };

  srand((unsigned)proc_getpid());
  return TEST_MAIN("crash", tests);
}
