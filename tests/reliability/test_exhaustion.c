/*
 * Running out of resources leaves nothing partial behind.
 *  - File descriptors (both backends): a child lowers RLIMIT_NOFILE and
 *    fills every slot; opening a new key gives SYSSEM_ENOSPC and creates no
 *    key file and no object. An existing key needs no descriptor with
 *    System V (its key file is only looked at) and opens; with POSIX it
 *    gives SYSSEM_ENOSPC. Either way the existing object's count is left
 *    alone, and one free slot is enough again.
 *  - System V sets (needs root): a child enters a new IPC namespace
 *    (unshare(CLONE_NEWIPC), its own limits, the machine's untouched), sets
 *    SEMMNI to 8 there and opens keys until SYSSEM_ENOSPC: exactly 8 sets and
 *    8 key files exist at that point, none after closing.
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <sched.h>
#include <sys/resource.h>

#define FREE_MAX 3
#define SETS_MAX 8

struct fdboard {
  char existing[128], fresh[FREE_MAX + 1][128];
  int fresh_code[FREE_MAX + 1], existing_code[FREE_MAX + 1];
};

static int fd_child(void *arg, int index)
{
  struct fdboard *b = arg;
  struct rlimit rl;
  int fds[64], n = 0, k, fd;
  syssem_t *s;

  (void)index;
  /* The soft limit only: Valgrind refuses to move the hard one. */
  WCHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rl.rlim_cur = 32;
  WCHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  while ((fd = dup(0)) >= 0)
    fds[n++] = fd;
  WCHECK(errno == EMFILE && n > FREE_MAX);
  for (k = 0; k <= FREE_MAX; k++) {
    b->fresh_code[k] = syssem_open_ex(&s, b->fresh[k], 1, SYSSEM_OPEN, NULL);
    /* Whatever this created, its owner removes again. */
    syssem_close(s);
    b->existing_code[k] =
        syssem_open_ex(&s, b->existing, 1, SYSSEM_OPEN, NULL);
    if (b->existing_code[k] == SYSSEM_OK)
      WCHECK(syssem_try_acquire(s, 0) == SYSSEM_OK &&
             syssem_release(s, 1) == SYSSEM_OK);
    syssem_close(s);
    close(fds[--n]); /* one more free slot for the next round */
  }
  return 0;
}

static void out_of_descriptors(void **state)
{
  struct fdboard *b = shared_alloc(sizeof *b);
  syssem_t *s;
  int k;

  (void)state;
  snprintf(b->existing, sizeof b->existing, "%s", key_for("fdexisting"));
  for (k = 0; k <= FREE_MAX; k++)
    snprintf(b->fresh[k], sizeof b->fresh[k], "%s", key_for("fdfresh"));
  s = open_or_fail(b->existing, 5, SYSSEM_CREATE_NEW);
  crew_run(1, fd_child, b, PROMPT_MS);
  figure("out-of-descriptors", "free_slots=0 new_key=%d existing_key=%d "
         "free_slots=1 new_key=%d existing_key=%d leftovers_besides_existing=%d "
         "existing_count=%d",
         b->fresh_code[0], b->existing_code[0], b->fresh_code[1],
         b->existing_code[1], leftovers() - 1, value_of(s));
  /* No slot: refused, nothing made. One slot: enough. */
  assert_int_equal(b->fresh_code[0], SYSSEM_ENOSPC);
  assert_int_equal(b->existing_code[0], is_backend(SYSSEM_BACKEND_SYSV)
                                            ? SYSSEM_OK
                                            : SYSSEM_ENOSPC);
  for (k = 1; k <= FREE_MAX; k++) {
    assert_int_equal(b->fresh_code[k], SYSSEM_OK);
    assert_int_equal(b->existing_code[k], SYSSEM_OK);
  }
  for (k = 0; k <= FREE_MAX; k++)
    assert_false(exists(b->fresh[k]));
  assert_int_equal(leftovers(), 1); /* the existing one only */
  assert_int_equal(value_of(s), 5);
  syssem_close(s);
  shared_free(b, sizeof *b);
}

struct setboard {
  char keys[4 * SETS_MAX][128]; /* the parent's, so that its teardown can
                                   sweep what a failing child leaves */
  int opened, fail_code, sets_at_fail, files_at_fail, sets_after, files_after;
  char fail_msg[256];
};

/* System V sets in this IPC namespace. */
static int sets_here(void)
{
  FILE *f = fopen("/proc/sysvipc/sem", "r");
  int lines = 0, c;

  if (f == NULL)
    return -1;
  while ((c = getc(f)) != EOF)
    lines += c == '\n';
  fclose(f);
  return lines - 1; /* the header */
}

static int sets_child(void *arg, int index)
{
  struct setboard *b = arg;
  syssem_t *s[4 * SETS_MAX];
  FILE *f;
  int i, r = SYSSEM_OK;

  (void)index;
  WCHECK(unshare(CLONE_NEWIPC) == 0);
  f = fopen("/proc/sys/kernel/sem", "w");
  WCHECK(f != NULL);
  /* SEMMSL SEMMNS SEMOPM SEMMNI, this namespace only. */
  fprintf(f, "250 32000 32 %d\n", SETS_MAX);
  WCHECK(fclose(f) == 0);
  WCHECK(sets_here() == 0);
  for (i = 0; i < 4 * SETS_MAX; i++) {
    r = syssem_open_ex(&s[i], b->keys[i], 1, SYSSEM_OPEN, NULL);
    if (r != SYSSEM_OK)
      break;
  }
  b->opened = i;
  b->fail_code = r;
  snprintf(b->fail_msg, sizeof b->fail_msg, "%s", syssem_last_error_message());
  b->sets_at_fail = sets_here();
  b->files_at_fail = leftovers();
  while (i-- > 0)
    syssem_close(s[i]);
  b->sets_after = sets_here();
  b->files_after = leftovers();
  return 0;
}

static void out_of_sysv_sets(void **state)
{
  struct setboard *b = shared_alloc(sizeof *b);
  int i;

  (void)state;
  for (i = 0; i < 4 * SETS_MAX; i++)
    snprintf(b->keys[i], sizeof b->keys[i], "%s", key_for("sets"));
  crew_run(1, sets_child, b, PROMPT_MS);
  figure("out-of-sysv-sets", "semmni=%d opened=%d then=%d (%s) sets=%d "
         "key_files=%d after_close_sets=%d after_close_key_files=%d",
         SETS_MAX, b->opened, b->fail_code, b->fail_msg, b->sets_at_fail,
         b->files_at_fail, b->sets_after, b->files_after);
  assert_int_equal(b->opened, SETS_MAX);
  assert_int_equal(b->fail_code, SYSSEM_ENOSPC);
  assert_int_equal(b->sets_at_fail, SETS_MAX);
  assert_int_equal(b->files_at_fail, SETS_MAX);
  assert_int_equal(b->sets_after, 0);
  assert_int_equal(b->files_after, 0);
  shared_free(b, sizeof *b);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    /* Valgrind emulates the descriptor limit above the kernel's: a create
     * goes through in the kernel, then Valgrind takes the descriptor back
     * and says EMFILE. The run says nothing about the library there. */
    TEST_IF(out_of_descriptors, not_valgrind),
    ROOT_TEST_IF(out_of_sysv_sets, on_sysv,
                 "unshare(CLONE_NEWIPC) and the namespace's SEMMNI"),
  };

  return TEST_MAIN("exhaustion", tests);
}
