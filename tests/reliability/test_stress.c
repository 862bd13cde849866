/*
 * Stress: many processes hammer one semaphore with acquire / increment /
 * release cycles. Count 1: no update is lost. Count K: never more than K
 * holders at once. Both: no call fails, the count ends where it started.
 *
 * SYSSEM_STRESS=full: 16 processes x 10,000 cycles; default 16 x 1,000.
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <sched.h>

struct board {
  char key[128];
  int initial;
  long iters;
  atomic_int holders;
  atomic_int max_holders;
  atomic_long errors;
  volatile long counter; /* guarded by the semaphore when initial is 1 */
};

static int stress_worker(void *arg, int index)
{
  struct board *b = arg;
  syssem_t *s = syssem_open(b->key, b->initial, SYSSEM_OPEN);
  long i, v;
  int h, m;

  WCHECK(s != NULL);
  for (i = 0; i < b->iters; i++) {
    if (syssem_acquire(s) != SYSSEM_OK) {
      atomic_fetch_add(&b->errors, 1);
      continue;
    }
    h = atomic_fetch_add(&b->holders, 1) + 1;
    m = atomic_load(&b->max_holders);
    while (h > m && !atomic_compare_exchange_weak(&b->max_holders, &m, h))
      ;
    /* Read, sometimes give the processor away, write: a second holder in
     * this window loses an update. */
    v = b->counter;
    if ((i + index) % 32 == 0)
      sched_yield();
    b->counter = v + 1;
    atomic_fetch_sub(&b->holders, 1);
    if (syssem_release(s, 1) != SYSSEM_OK)
      atomic_fetch_add(&b->errors, 1);
  }
  syssem_close(s);
  return 0;
}

static void stress(int k, const char *name)
{
  struct board *b = shared_alloc(sizeof *b);
  int procs = (int)rel_size(4, 16, 16);
  long total, lost;
  long long t0;
  syssem_t *s;
  double secs;

  b->iters = rel_size(200, 1000, 10000);
  b->initial = k;
  snprintf(b->key, sizeof b->key, "%s", key_for(name));
  s = open_or_fail(b->key, k, SYSSEM_CREATE_NEW);

  t0 = proc_now_ms();
  crew_run(procs, stress_worker, b, 900000L);
  secs = rel_secs(t0);

  total = (long)procs * b->iters;
  lost = total - b->counter;
  figure(name, "count=%d procs=%d cycles_each=%ld cycles=%ld secs=%.2f "
         "cycles_per_s=%.0f lost_updates=%ld errors=%ld max_holders=%d "
         "final_count=%d",
         k, procs, b->iters, total, secs, (double)total / secs,
         k == 1 ? lost : 0L, atomic_load(&b->errors),
         atomic_load(&b->max_holders), value_of(s));
  assert_int_equal(atomic_load(&b->errors), 0);
  assert_true(atomic_load(&b->max_holders) <= k);
  assert_true(atomic_load(&b->max_holders) >= 1);
  if (k == 1)
    assert_int_equal(lost, 0);
  assert_int_equal(value_of(s), k);
  syssem_close(s);
  shared_free(b, sizeof *b);
}

static void stress_count1(void **state)
{
  (void)state;
  stress(1, "stress-count1");
}

static void stress_count3(void **state)
{
  (void)state;
  stress(3, "stress-countK");
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(stress_count1),
    TEST(stress_count3),
  };

  return TEST_MAIN("stress", tests);
}
