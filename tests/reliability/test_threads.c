/*
 * Threads of one process on one shared handle: the ThreadSanitizer target
 * (no fork here). Count 1 loses no update; count K never has more than K
 * holders; removals underneath while threads work (the reopen path that
 * threads share) end in documented codes, with nothing hanging.
 *
 * The guarded counter is read and written with relaxed atomics, separately,
 * so that only the semaphore keeps updates from being lost and
 * ThreadSanitizer, which cannot see System V semaphores, reports no race.
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <pthread.h>
#include <sched.h>

#include "threads.h"

#define NTHREADS 8

struct shared {
  syssem_t *s;
  int k;
  long iters;
  atomic_int stop;
  atomic_long counter;
  atomic_int holders;
  atomic_int max_holders;
  atomic_long errors;
  atomic_long odd; /* codes outside the documented set */
  atomic_long codes[16];
};

static void note(struct shared *sh, int r)
{
  atomic_fetch_add(&sh->codes[-r & 15], 1);
}

static void cycle_body(void *arg)
{
  struct shared *sh = arg;
  long i, v;
  int h, m;

  for (i = 0; i < sh->iters; i++) {
    if (syssem_acquire(sh->s) != SYSSEM_OK) {
      atomic_fetch_add(&sh->errors, 1);
      continue;
    }
    h = atomic_fetch_add(&sh->holders, 1) + 1;
    m = atomic_load(&sh->max_holders);
    while (h > m && !atomic_compare_exchange_weak(&sh->max_holders, &m, h))
      ;
    v = atomic_load_explicit(&sh->counter, memory_order_relaxed);
    if (i % 16 == 0)
      thread_yield();
    atomic_store_explicit(&sh->counter, v + 1, memory_order_relaxed);
    atomic_fetch_sub(&sh->holders, 1);
    if (syssem_release(sh->s, 1) != SYSSEM_OK)
      atomic_fetch_add(&sh->errors, 1);
  }
}

static void threads_cycle(int k, const char *name)
{
  struct shared sh;
  thread_t t[NTHREADS];
  long long t0;
  double secs;
  long total;
  int i;

  memset(&sh, 0, sizeof sh);
  sh.k = k;
  sh.iters = rel_size(200, 2000, 20000);
  sh.s = open_or_fail(key_for(name), k, SYSSEM_CREATE_NEW);
  t0 = proc_now_ms();
  for (i = 0; i < NTHREADS; i++)
    assert_int_equal(thread_start(&t[i], cycle_body, &sh), 0);
  for (i = 0; i < NTHREADS; i++)
    thread_join(t[i]);
  secs = rel_secs(t0);
  total = NTHREADS * sh.iters;
  figure(name, "count=%d threads=%d cycles=%ld secs=%.2f cycles_per_s=%.0f "
         "lost_updates=%ld errors=%ld max_holders=%d",
         k, NTHREADS, total, secs, (double)total / secs,
         k == 1 ? total - atomic_load(&sh.counter) : 0L,
         atomic_load(&sh.errors), atomic_load(&sh.max_holders));
  assert_int_equal(atomic_load(&sh.errors), 0);
  assert_true(atomic_load(&sh.max_holders) <= k);
  if (k == 1)
    assert_int_equal(atomic_load(&sh.counter), total);
  assert_int_equal(value_of(sh.s), k);
  syssem_close(sh.s);
}

static void threads_count1(void **state)
{
  (void)state;
  threads_cycle(1, "threads-count1");
}

static void threads_count3(void **state)
{
  (void)state;
  threads_cycle(3, "threads-countK");
}

/* Work while the main thread removes the object: each call succeeds or
 * gives a code the header documents for it. */
static void removal_body(void *arg)
{
  struct shared *sh = arg;
  int r;

  while (!atomic_load(&sh->stop)) {
    r = syssem_try_acquire(sh->s, 5);
    note(sh, r);
    if (r == SYSSEM_OK) {
      r = syssem_release(sh->s, 1);
      note(sh, r);
      if (r != SYSSEM_OK && r != SYSSEM_ENOENT)
        atomic_fetch_add(&sh->odd, 1);
    } else if (r != SYSSEM_ETIMEDOUT && r != SYSSEM_ENOENT) {
      atomic_fetch_add(&sh->odd, 1);
    }
  }
}

static void threads_removal(void **state)
{
  struct shared sh;
  thread_t t[NTHREADS];
  const char *key = key_for("threadsremoval");
  long removals = rel_size(20, 200, 2000), i, removed = 0;
  struct timespec nap = { 0, 0 };
  int r;

  (void)state;
  memset(&sh, 0, sizeof sh);
  sh.s = open_or_fail(key, 2, SYSSEM_CREATE_NEW);
  for (i = 0; i < NTHREADS; i++)
    assert_int_equal(thread_start(&t[i], removal_body, &sh), 0);
  for (i = 0; i < removals; i++) {
    /* A random moment: 0 to 2 ms from the last removal. */
    nap.tv_nsec = (long)(rand() % 2000) * 1000L;
    nanosleep(&nap, NULL);
    r = syssem_remove(key, NULL);
    assert_true(r == SYSSEM_OK || r == SYSSEM_ENOENT);
    removed += r == SYSSEM_OK;
  }
  atomic_store(&sh.stop, 1);
  for (i = 0; i < NTHREADS; i++)
    thread_join(t[i]);
  figure("threads-removal", "threads=%d removals=%ld removed=%ld ok=%ld "
         "timedout=%ld enoent=%ld other=%ld",
         NTHREADS, removals, removed, atomic_load(&sh.codes[0]),
         atomic_load(&sh.codes[-SYSSEM_ETIMEDOUT]),
         atomic_load(&sh.codes[-SYSSEM_ENOENT]), atomic_load(&sh.odd));
  assert_int_equal(atomic_load(&sh.odd), 0);
  syssem_close(sh.s);
  r = syssem_remove(key, NULL);
  assert_true(r == SYSSEM_OK || r == SYSSEM_ENOENT);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(threads_count1),
    TEST(threads_count3),
    TEST(threads_removal),
  };

  srand((unsigned)proc_getpid());
  return TEST_MAIN("threads", tests);
}
