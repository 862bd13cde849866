/*
 * Removal underneath: while worker processes acquire, try, release, read
 * the count and reopen, the object is removed at random moments, by
 * syssem_remove() and behind the library's back (System V: IPC_RMID and
 * unlink of the key file, as ipcrm and rm do; POSIX: sem_unlink). Every call
 * succeeds or returns a code the header documents for it, nothing hangs,
 * nothing crashes, and nothing is left once all is closed and removed.
 *
 * Removals: 100 (SYSSEM_STRESS=full: 1,000).
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <semaphore.h>

#define WORKERS 4

enum op { OP_ACQUIRE, OP_TRY, OP_RELEASE, OP_VALUE, OP_REOPEN, OP_N };

static const char *const op_names[OP_N] = { "acquire", "try_acquire",
                                            "release", "value", "open" };

struct board {
  char key[128];
  atomic_int stop;
  atomic_long calls;
  atomic_long codes[OP_N][16]; /* [op][-code] */
  atomic_long odd;
  atomic_long gave_up; /* opens that ran out of retries */
  int no_value;        /* syssem_value says SYSSEM_ENOSYS here */
};

/* Record the result of one call; 1 if it is one the header allows. */
static int check(struct board *b, enum op op, int r)
{
  int ok;

  atomic_fetch_add(&b->calls, 1);
  atomic_fetch_add(&b->codes[op][-r & 15], 1);
  switch (op) {
  case OP_TRY:
    ok = r == SYSSEM_OK || r == SYSSEM_ETIMEDOUT || r == SYSSEM_ENOENT;
    break;
  case OP_VALUE:
    /* Where the count cannot be read (POSIX on Apple systems), always
     * SYSSEM_ENOSYS, removed or not. */
    ok = b->no_value ? r == SYSSEM_ENOSYS
                     : r == SYSSEM_OK || r == SYSSEM_ENOENT;
    break;
  case OP_REOPEN:
    /* The open's own bounded retry may run out while removals follow each
     * other closely: SYSSEM_ENOENT, documented, counted apart. */
    ok = r == SYSSEM_OK || r == SYSSEM_ENOENT;
    if (r == SYSSEM_ENOENT)
      atomic_fetch_add(&b->gave_up, 1);
    break;
  default:
    ok = r == SYSSEM_OK || r == SYSSEM_ENOENT;
    break;
  }
  if (!ok && atomic_fetch_add(&b->odd, 1) < 10)
    fprintf(stderr, "worker %ld: %s gave %d: %s\n", (long)getpid(),
            op_names[op], r, syssem_last_error_message());
  return ok;
}

static int removal_worker(void *arg, int index)
{
  struct board *b = arg;
  syssem_t *s = NULL;
  int r, v;

  srand((unsigned)getpid());
  (void)index;
  while (!atomic_load(&b->stop)) {
    if (s == NULL) {
      /* The last reopen failed: try again (the failure is counted). */
      check(b, OP_REOPEN, syssem_open_ex(&s, b->key, 2, SYSSEM_OPEN, NULL));
      continue;
    }
    switch (rand() % 4) {
    case 0:
      r = syssem_acquire(s);
      check(b, OP_ACQUIRE, r);
      if (r == SYSSEM_OK)
        check(b, OP_RELEASE, syssem_release(s, 1));
      break;
    case 1:
      r = syssem_try_acquire(s, 5);
      check(b, OP_TRY, r);
      if (r == SYSSEM_OK)
        check(b, OP_RELEASE, syssem_release(s, 1));
      break;
    case 2:
      check(b, OP_VALUE, syssem_value(s, &v));
      break;
    default:
      syssem_close(s);
      check(b, OP_REOPEN, syssem_open_ex(&s, b->key, 2, SYSSEM_OPEN, NULL));
      break;
    }
  }
  syssem_close(s);
  return 0;
}

/* Remove the object behind the library's back. */
static void remove_raw(const char *native)
{
  if (SYSV) {
    int id = sysv_id_of(native);

    if (id >= 0)
      semctl(id, 0, IPC_RMID);
    unlink(native);
  } else {
    sem_unlink(native);
  }
}

static void removal_underneath(void **state)
{
  struct board *b = shared_alloc(sizeof *b);
  long n = rel_size(20, 100, 1000), i, remove_odd = 0, odd;
  struct timespec nap = { 0, 0 };
  char native[512];
  long long t0;
  int hung, failed, r;
  syssem_t *s;
  crew_t c;

  (void)state;
  snprintf(b->key, sizeof b->key, "%s", key_for("removal"));
  b->no_value = value_enosys();
  s = open_or_fail(b->key, 2, SYSSEM_CREATE_NEW);
  snprintf(native, sizeof native, "%s", syssem_native_key(s));
  /* The workers outlive this handle's object: it must not remove theirs. */
  syssem_close(s);
  s = open_or_fail(b->key, 2, SYSSEM_OPEN);

  crew_init(&c);
  for (i = 0; i < WORKERS; i++)
    crew_fork(&c, removal_worker, b);
  t0 = proc_now_ms();
  for (i = 0; i < n; i++) {
    /* A random moment: 0 to 3 ms after the last removal. */
    nap.tv_nsec = (long)(rand() % 3000) * 1000L;
    nanosleep(&nap, NULL);
    if (i % 2 == 0) {
      /* No assert while the workers run: they must be stopped first. */
      r = syssem_remove(b->key, NULL);
      if (r != SYSSEM_OK && r != SYSSEM_ENOENT && remove_odd++ < 10)
        print_error("syssem_remove gave %d: %s\n", r,
                    syssem_last_error_message());
    } else {
      remove_raw(native);
    }
  }
  atomic_store(&b->stop, 1);
  failed = crew_wait(&c, PROMPT_MS * 3, &hung);

  figure("removal-underneath", "workers=%d removals=%ld secs=%.2f calls=%ld "
         "ok=%ld timedout=%ld enoent=%ld open_gave_up=%ld undocumented=%ld "
         "remove_undocumented=%ld hung=%d",
         WORKERS, n, rel_secs(t0), atomic_load(&b->calls),
         atomic_load(&b->codes[OP_ACQUIRE][0]) +
             atomic_load(&b->codes[OP_TRY][0]) +
             atomic_load(&b->codes[OP_RELEASE][0]) +
             atomic_load(&b->codes[OP_VALUE][0]) +
             atomic_load(&b->codes[OP_REOPEN][0]),
         atomic_load(&b->codes[OP_TRY][-SYSSEM_ETIMEDOUT]),
         atomic_load(&b->codes[OP_ACQUIRE][-SYSSEM_ENOENT]) +
             atomic_load(&b->codes[OP_TRY][-SYSSEM_ENOENT]) +
             atomic_load(&b->codes[OP_RELEASE][-SYSSEM_ENOENT]) +
             atomic_load(&b->codes[OP_VALUE][-SYSSEM_ENOENT]),
         atomic_load(&b->gave_up), atomic_load(&b->odd), remove_odd, hung);
  odd = atomic_load(&b->odd);
  /* Clean up before judging, so that a failure leaks nothing either. */
  syssem_close(s);
  r = syssem_remove(b->key, NULL);
  shared_free(b, sizeof *b);
  assert_true(r == SYSSEM_OK || r == SYSSEM_ENOENT);
  assert_false(hung);
  assert_int_equal(failed, 0);
  assert_int_equal(odd, 0);
  assert_int_equal(remove_odd, 0);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(removal_underneath),
  };

  srand((unsigned)proc_getpid());
  return TEST_MAIN("removal", tests);
}
