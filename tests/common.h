/*
 * Shared by the behavioural tests: unique keys, the helper process, probes.
 * Each test program is run once per backend with SYSSEM_BACKEND set.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_COMMON_H
#define SYSSEM_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "syssem.h"

/* Generous bound for "this happens promptly" (slow CI, sanitizers). */
#define PROMPT_MS 10000L

/* Letters unique to this process: the ASCII letters of a key are part of its
 * legacy name, so leftovers can be found by prefix. */
static char test_tag[32];

static void test_tag_init(void)
{
  unsigned long pid = (unsigned long)proc_getpid();
  size_t i = 0;

  memcpy(test_tag, "sst", 3);
  i = 3;
  do {
    test_tag[i++] = (char)('a' + pid % 10);
    pid /= 10;
  } while (pid != 0 && i < sizeof test_tag - 1);
  test_tag[i] = '\0';
}

/* A fresh key for each call: tag + name letters + a counter (digits do not
 * enter the letter part, so the prefix stays tag + name). */
static const char *key_for(const char *name)
{
  static char keys[16][128];
  static unsigned int n;
  char *k = keys[n % 16];

  snprintf(k, sizeof keys[0], "%s%s%u", test_tag, name, n);
  n++;
  return k;
}

static syssem_backend_t test_backend(void)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_backend_t b = SYSSEM_BACKEND_DEFAULT;
  syssem_t *s = NULL;

  if (syssem_open_ex(&s, "sst-backend-probe", 0, SYSSEM_OPEN, &o) == 0) {
    b = syssem_backend(s);
    syssem_close(s);
  }
  return b;
}

static int is_backend(syssem_backend_t b)
{
  static syssem_backend_t cached = SYSSEM_BACKEND_DEFAULT;

  if (cached == SYSSEM_BACKEND_DEFAULT)
    cached = test_backend();
  return cached == b;
}

static syssem_t *open_or_fail(const char *key, int initial, syssem_mode_t m)
{
  syssem_t *s = syssem_open(key, initial, m);

  if (s == NULL)
    print_error("syssem_open(%s): %s\n", key, syssem_last_error_message());
  assert_non_null(s);
  return s;
}

static int value_of(syssem_t *s)
{
  int v = -1;

  assert_int_equal(syssem_value(s, &v), SYSSEM_OK);
  return v;
}

/* 1 if an object exists under key (probing creates nothing). */
static int exists(const char *key)
{
  syssem_t *s = syssem_open(key, 0, SYSSEM_OPEN_EXISTING);

  if (s == NULL) {
    assert_int_equal(syssem_last_error(), SYSSEM_ENOENT);
    return 0;
  }
  syssem_close(s);
  return 1;
}

/* The helper process ------------------------------------------------------ */

static proc_t *helper_start(void)
{
  const char *argv[2];
  proc_t *p;

  argv[0] = getenv("SYSSEM_TEST_HELPER");
  argv[1] = NULL;
  assert_non_null(argv[0]);
  p = proc_start(argv);
  assert_non_null(p);
  return p;
}

/* Send cmd and check that the answer is want. */
static void helper_do(proc_t *p, const char *cmd, const char *want)
{
  char got[256];

  assert_int_equal(proc_send(p, cmd), 0);
  assert_int_equal(proc_read(p, got, sizeof got, PROMPT_MS), 0);
  if (strcmp(got, want) != 0)
    print_error("helper: '%s' answered '%s', expected '%s'\n", cmd, got, want);
  assert_string_equal(got, want);
}

static proc_t *helper_open(const char *key, int initial, const char *mode,
                           const char *want)
{
  char cmd[256];
  proc_t *p = helper_start();

  snprintf(cmd, sizeof cmd, "open %s %d %s", key, initial, mode);
  helper_do(p, cmd, want);
  return p;
}

static void helper_quit(proc_t *p)
{
  assert_int_equal(proc_send(p, "quit"), 0);
  assert_int_equal(proc_wait(p), 0);
}

static int no_leftovers(void **state)
{
  (void)state;
  assert_int_equal(proc_leftovers(test_tag), 0);
  return 0;
}

#endif
