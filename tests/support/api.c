/*
 * Test support for the behavioural tests (api.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syssem_int.h"

int is_backend(syssem_backend_t b)
{
  static syssem_backend_t cached = SYSSEM_BACKEND_DEFAULT;
  char name[SYSSEM_NATIVE_MAX];

  /* Naming a key tells the backend and creates nothing. A networked
   * backend's run makes its keys from a format (fixture.h, key_for). */
  if (cached == SYSSEM_BACKEND_DEFAULT) {
    char *probe = key_in_format("backend");

    assert_int_equal(syssem_native_name(probe, NULL, &cached, name,
                                        sizeof name), SYSSEM_OK);
    free(probe);
  }
  return cached == b;
}

int on_sysv(void)
{
  return is_backend(SYSSEM_BACKEND_SYSV);
}

int on_posix(void)
{
  return is_backend(SYSSEM_BACKEND_POSIX);
}

int on_win32(void)
{
  return is_backend(SYSSEM_BACKEND_WIN32);
}

int not_win32(void)
{
  return !on_win32();
}

int not_etcd(void)
{
  return !is_backend(SYSSEM_BACKEND_ETCD);
}

syssem_t *open_or_fail(const char *key, int initial, syssem_mode_t m)
{
  syssem_t *s = syssem_open(key, initial, m);

  if (s == NULL)
    print_error("syssem_open(%s): %s\n", key, syssem_last_error_message());
  assert_non_null(s);
  return s;
}

int value_read(syssem_t *s, int *value)
{
  int r = syssem_value(s, value);

  if (r == SYSSEM_ENOSYS && syssem_backend(s) == SYSSEM_BACKEND_POSIX &&
      value_behind(s, value) == 0)
    return SYSSEM_OK;
  return r;
}

int value_of(syssem_t *s)
{
  int v = -1;

  assert_int_equal(value_read(s, &v), SYSSEM_OK);
  return v;
}

int value_enosys(void)
{
  return SYSSEM__APPLE && on_posix();
}

int exists(const char *key)
{
  syssem_t *s = syssem_open(key, 0, SYSSEM_OPEN_EXISTING);

  if (s == NULL) {
    assert_int_equal(syssem_last_error(), SYSSEM_ENOENT);
    return 0;
  }
  syssem_close(s);
  return 1;
}

proc_t *helper_start(void)
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

void helper_do(proc_t *p, const char *cmd, const char *want)
{
  char got[256];

  assert_int_equal(proc_send(p, cmd), 0);
  assert_int_equal(proc_read(p, got, sizeof got, PROMPT_MS), 0);
  if (strcmp(got, want) != 0)
    print_error("helper: '%s' answered '%s', expected '%s'\n", cmd, got, want);
  assert_string_equal(got, want);
}

proc_t *helper_open(const char *key, int initial, const char *mode,
                    const char *want)
{
  char *cmd = fixture_printf("open %s %d %s", key, initial, mode);
  proc_t *p = helper_start();

  helper_do(p, cmd, want);
  return p;
}

void helper_quit(proc_t *p)
{
  assert_int_equal(proc_send(p, "quit"), 0);
  assert_int_equal(proc_wait(p), 0);
}
