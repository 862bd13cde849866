/*
 * Stress for the Win32 backend, run under Wine in CI: helper processes
 * hammer one semaphore. Count 1: 4 processes x 1,000 acquire / read-modify-
 * write of a counter file / release cycles, no update lost. Count K: never
 * more than K holders at once, the holder count kept in a file that a second,
 * count-1 semaphore makes exclusive. Both: no call fails, the count ends
 * where it started. The Unix counterpart is reliability/test_stress.c.
 *
 * SYSSEM_STRESS=full: the figures of docs/reliability.md (4 x 1,000 under
 * Wine); unset: the same counts; quick: 4 x 100.
 *
 * SPDX-License-Identifier: MIT
 */
#include "api.h"

enum { PROCS = 4, K = 3 };

/* Cycles per process, and the name of that size for the figures. */
static int stress_iters(const char **size)
{
  const char *e = getenv("SYSSEM_STRESS");

  if (e != NULL && strcmp(e, "full") == 0) {
    *size = "full";
    return 1000;
  }
  if (e != NULL && strcmp(e, "quick") == 0) {
    *size = "quick";
    return 100;
  }
  *size = "ci";
  return 1000;
}

static void write_text(const char *file, const char *text)
{
  FILE *f = fopen(file, "w");

  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

/* Read n numbers from file, then remove it. */
static void read_and_remove(const char *file, int *v, int n)
{
  FILE *f = fopen(file, "r");
  int i;

  assert_non_null(f);
  for (i = 0; i < n; i++)
    assert_int_equal(fscanf(f, "%d", &v[i]), 1);
  fclose(f);
  assert_int_equal(remove(file), 0);
}

/* PROCS helpers open key and run cmd at once; returns how many did not
 * answer "ok", and the elapsed time in *ms. */
static int crew_run(const char *key, int initial, const char *cmd,
                    long long *ms)
{
  proc_t *p[PROCS];
  long long t0;
  char line[64];
  int i, errors = 0;

  for (i = 0; i < PROCS; i++)
    p[i] = helper_open(key, initial, "open", "ok 0");
  t0 = proc_now_ms();
  for (i = 0; i < PROCS; i++)
    assert_int_equal(proc_send(p[i], cmd), 0);
  for (i = 0; i < PROCS; i++) {
    assert_int_equal(proc_read(p[i], line, sizeof line, 540000L), 0);
    if (strcmp(line, "ok") != 0) {
      print_error("helper %d: '%s'\n", i, line);
      errors++;
    }
  }
  *ms = proc_now_ms() - t0;
  for (i = 0; i < PROCS; i++)
    helper_quit(p[i]);
  return errors;
}

/* The figures, in the Unix test's form. */
static void figure(const char *name, const char *size, int count, int iters,
                   long long ms, const char *rest)
{
  long total = (long)PROCS * iters;

  printf("FIGURE %s backend=win32 size=%s count=%d procs=%d cycles_each=%d "
         "cycles=%ld elapsed_ms=%lld cycles_per_s=%.0f %s\n",
         name, size, count, PROCS, iters, total, ms,
         (double)total * 1000.0 / (double)(ms > 0 ? ms : 1), rest);
  fflush(stdout);
}

static void stress_count1(void **state)
{
  const char *key = key_for("stressone"), *size;
  int iters = stress_iters(&size), errors, v;
  char file[256], cmd[400], rest[200];
  long long ms;
  syssem_t *s;
  long lost;

  (void)state;
  snprintf(file, sizeof file, "%s-counter.txt", key);
  write_text(file, "0\n");
  s = open_or_fail(key, 1, SYSSEM_CREATE_NEW);
  snprintf(cmd, sizeof cmd, "count %s %d", file, iters);
  errors = crew_run(key, 1, cmd, &ms);
  read_and_remove(file, &v, 1);
  lost = (long)PROCS * iters - v;
  snprintf(rest, sizeof rest, "counter=%d lost_updates=%ld errors=%d "
           "final_count=%d", v, lost, errors, value_of(s));
  figure("stress-count1", size, 1, iters, ms, rest);
  assert_int_equal(errors, 0);
  assert_int_equal(lost, 0);
  assert_int_equal(value_of(s), 1);
  syssem_close(s);
  assert_false(exists(key)); /* gone with the last handle */
}

static void stress_countK(void **state)
{
  const char *key = key_for("stressk"), *mkey = key_for("stressmutex");
  const char *size;
  int iters = stress_iters(&size), errors, v[2];
  char file[256], cmd[600], rest[200];
  syssem_t *s, *mutex;
  long long ms;

  (void)state;
  snprintf(file, sizeof file, "%s-holders.txt", key);
  write_text(file, "0 0\n");
  s = open_or_fail(key, K, SYSSEM_CREATE_NEW);
  mutex = open_or_fail(mkey, 1, SYSSEM_CREATE_NEW);
  snprintf(cmd, sizeof cmd, "hold %s %d %s", file, iters, mkey);
  errors = crew_run(key, K, cmd, &ms);
  read_and_remove(file, v, 2);
  snprintf(rest, sizeof rest, "holders_at_end=%d max_holders=%d errors=%d "
           "final_count=%d mutex_count=%d", v[0], v[1], errors, value_of(s),
           value_of(mutex));
  figure("stress-countK", size, K, iters, ms, rest);
  assert_int_equal(errors, 0);
  assert_int_equal(v[0], 0);
  assert_in_range(v[1], 1, K);
  assert_int_equal(value_of(s), K);
  assert_int_equal(value_of(mutex), 1);
  syssem_close(mutex);
  syssem_close(s);
  assert_false(exists(key));
  assert_false(exists(mkey));
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(stress_count1),
    TEST(stress_countK),
  };

  /* The figures are the Win32 backend's, not those of another built in. */
  if (!is_backend(SYSSEM_BACKEND_WIN32)) {
    fprintf(stderr, "stress-win32: SYSSEM_BACKEND is not win32\n");
    return 1;
  }
  return TEST_MAIN("stress-win32", tests);
}
