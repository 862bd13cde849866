/*
 * A 3-member etcd cluster loses its leader while 8 processes take and give
 * back the 3 tokens of one semaphore, 200 times each: the leader is killed
 * (kill -9) and restarted twice, and stopped (SIGSTOP) for two seconds once.
 * A ledger outside etcd, counters in shared memory that each process
 * changes right after its acquire returns and right before its release,
 * shows how many hold a token at once: never more than 3. Every cycle
 * completes, and no call fails.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "api.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

enum { WORKERS = 8, CYCLES = 200, TOKENS = 3 };

struct ledger {
  atomic_int holders;  /* holding a token now, by the ledger */
  atomic_int most;     /* the most at once                    */
  atomic_int cycles;   /* completed                           */
  atomic_int failures; /* calls that did not return SYSSEM_OK */
  atomic_int last;     /* the last such code                  */
};

static struct etcd_cluster C;

static void failed(struct ledger *l, int r)
{
  atomic_fetch_add(&l->failures, 1);
  atomic_store(&l->last, r);
  fprintf(stderr, "worker %d: %s\n", (int)getpid(),
          syssem_last_error_message());
}

static void worker(const char *key, struct ledger *l)
{
  syssem_t *s = syssem_open(key, TOKENS, SYSSEM_OPEN);
  int i, r;

  if (s == NULL) {
    failed(l, syssem_last_error());
    _exit(1);
  }
  for (i = 0; i < CYCLES; i++) {
    int now, most;

    r = syssem_acquire(s);
    if (r != SYSSEM_OK) {
      failed(l, r);
      if (atomic_load(&l->failures) > 100)
        _exit(2);
      i--;
      continue;
    }
    now = atomic_fetch_add(&l->holders, 1) + 1;
    most = atomic_load(&l->most);
    while (now > most && !atomic_compare_exchange_weak(&l->most, &most, now))
      ;
    usleep(15000); /* the work the token guards */
    atomic_fetch_sub(&l->holders, 1);
    r = syssem_release(s, 1);
    if (r != SYSSEM_OK)
      failed(l, r);
    atomic_fetch_add(&l->cycles, 1);
  }
  /* The close revokes the lease: nothing is left for exit to do. */
  syssem_close(s);
  _exit(0);
}

static pid_t workers[WORKERS];
static syssem_t *mine;

/* Should the test fail half-way, no worker outlives it. */
static void stop_workers(void *arg)
{
  int i;

  (void)arg;
  for (i = 0; i < WORKERS; i++)
    if (workers[i] > 0) {
      kill(workers[i], SIGKILL);
      waitpid(workers[i], NULL, 0);
      workers[i] = 0;
    }
  syssem_close(mine);
  mine = NULL;
}

/* Wait until the workers have done n cycles in all (or the time is up). */
static void at_cycle(struct ledger *l, int n, long long end)
{
  while (atomic_load(&l->cycles) < n && proc_now_ms() < end)
    usleep(20000);
}

static void fault(struct ledger *l, const char *what, int sig, long ms)
{
  int leader = cluster_leader(&C, 10000);

  assert_true(leader >= 0);
  printf("# %s the leader (member %d) at cycle %d\n", what, leader,
         atomic_load(&l->cycles));
  cluster_signal(&C, leader, sig);
  usleep((useconds_t)ms * 1000);
  if (sig == SIGKILL)
    assert_int_equal(cluster_restart(&C, leader), 0);
  else
    cluster_signal(&C, leader, SIGCONT);
}

static void leader_failover(void **state)
{
  struct ledger *l = mmap(NULL, sizeof *l, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long long t0 = proc_now_ms(), end = t0 + 240000;
  char key[400], path[64];
  pid_t *pid = workers;
  syssem_t *s;
  int i, st, v = -1;

  (void)state;
  assert_true(l != MAP_FAILED);
  memset(l, 0, sizeof *l);
  snprintf(path, sizeof path, "f/ledger%d", (int)getpid());
  /* The default lease time: a leader's failure (an election, about two
   * seconds here) must not cost a lease. */
  cluster_key(&C, key, sizeof key, path, "ttl=10");
  fixture_key(key, NULL);
  s = mine = syssem_open(key, TOKENS, SYSSEM_CREATE_NEW);
  assert_non_null(s);
  fixture_defer(stop_workers, NULL);
  for (i = 0; i < WORKERS; i++) {
    pid[i] = fork();
    assert_true(pid[i] >= 0);
    if (pid[i] == 0) {
      syssem_close(s); /* the parent's; the child opens its own */
      worker(key, l);
    }
  }
  at_cycle(l, 300, end);
  fault(l, "kill -9", SIGKILL, 1500);
  at_cycle(l, 800, end);
  fault(l, "kill -9", SIGKILL, 500);
  at_cycle(l, 1200, end);
  fault(l, "SIGSTOP for 2 s", SIGSTOP, 2000);
  for (i = 0; i < WORKERS; i++) {
    while (waitpid(pid[i], &st, WNOHANG) == 0 && proc_now_ms() < end)
      usleep(50000);
    if (proc_now_ms() >= end) {
      kill(pid[i], SIGKILL);
      waitpid(pid[i], &st, 0);
    }
    pid[i] = 0;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  printf("# %d cycles by %d processes in %lld ms; at most %d of %d tokens "
         "held at once; %d failed calls\n",
         atomic_load(&l->cycles), WORKERS, proc_now_ms() - t0,
         atomic_load(&l->most), TOKENS, atomic_load(&l->failures));
  assert_true(atomic_load(&l->most) <= TOKENS);
  assert_true(atomic_load(&l->most) >= 2); /* the workers did overlap */
  assert_int_equal(atomic_load(&l->cycles), WORKERS * CYCLES);
  assert_int_equal(atomic_load(&l->failures), 0);
  assert_int_equal(syssem_value(s, &v), SYSSEM_OK);
  assert_int_equal(v, TOKENS);
  syssem_close(s);
  mine = NULL;
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
  munmap(l, sizeof *l);
}

static void nothing_left(void **state)
{
  (void)state;
  assert_int_equal(cluster_count(&C, "/syssem/"), 0);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(leader_failover),
    TEST(nothing_left),
  };
  int r;

  if (!cluster_available()) {
    printf("etcd is not installed (Debian: etcd-server): skipped\n");
    return 77;
  }
  if (cluster_start(&C, 3, 0, 0) != 0) {
    cluster_stop(&C);
    return 1;
  }
  r = TEST_MAIN("etcd-failover", tests);
  cluster_stop(&C);
  return r;
}
