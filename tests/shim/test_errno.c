/*
 * What the library makes of errors that Linux never gives and no emulation
 * profile can force, injected by the errno shim (errno_shim.h): the full
 * SEM_UNDO table of macOS and the BSDs, a name the system finds too long,
 * a kernel without System V IPC. Each case checks the code, the message,
 * that the library did not go round in circles, and that nothing is left
 * (the fixture counts what the test's keys left). Runs once, on both Unix
 * backends.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* lstat */

#include "api.h"
#include "errno_shim.h"
#include "syssem_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* macOS, OpenBSD and NetBSD keep 10 entries per process. */
#define UNDO_MAX 10

static const syssem_mode_t modes[] = { SYSSEM_OPEN, SYSSEM_CREATE,
                                       SYSSEM_OPEN_EXISTING,
                                       SYSSEM_CREATE_NEW };

static int disarm(void **state)
{
  (void)state;
  shim_reset();
  return 0;
}

static void message_has(const char *want)
{
  const char *m = syssem_last_error_message();

  if (strstr(m, want) == NULL)
    fail_msg("message '%s' does not say '%s'", m, want);
}

/* 1 if path names a file now. */
static int file_there(const char *path)
{
  struct stat st;

  return lstat(path, &st) == 0;
}

/* The 11th set with undo pending: semop says EINVAL on a set that still
 * exists. That is SYSSEM_ENOSPC with the reason, for acquire, both tries
 * and release, at once: no reopen, no second look beyond the one that tells
 * a removal from this, and the set and its count untouched. A handle
 * without undo needs no entry; a token given back frees one. */
static void undo_entries_exhausted(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s[UNDO_MAX + 1], *noundo = NULL, *last;
  long gets, ops;
  int i;

  (void)state;
  o.backend = SYSSEM_BACKEND_SYSV;
  shim.undo_max = UNDO_MAX;
  for (i = 0; i <= UNDO_MAX; i++)
    assert_int_equal(syssem_open_ex(&s[i], key_for("undo"), 1, SYSSEM_OPEN,
                                    &o), SYSSEM_OK);
  for (i = 0; i < UNDO_MAX; i++)
    assert_int_equal(syssem_acquire(s[i]), SYSSEM_OK);
  last = s[UNDO_MAX];

  gets = shim.semget_calls;
  ops = shim.semop_calls;
  assert_int_equal(syssem_acquire(last), SYSSEM_ENOSPC);
  assert_int_equal(syssem_last_error(), SYSSEM_ENOSPC);
  message_has("syssem_acquire");
  message_has("SEM_UNDO entries are exhausted");
  assert_int_equal(shim.semget_calls, gets); /* no reopen */
  assert_true(shim.semop_calls - ops <= 2);
  assert_int_equal(syssem_try_acquire(last, 0), SYSSEM_ENOSPC);
  message_has("SEM_UNDO entries are exhausted");
  assert_int_equal(syssem_try_acquire(last, 200), SYSSEM_ENOSPC);
  message_has("SEM_UNDO entries are exhausted");
  assert_int_equal(syssem_release(last, 1), SYSSEM_ENOSPC);
  assert_int_equal(shim.semget_calls, gets);
  assert_int_equal(value_of(last), 1); /* there, and untouched */

  o.flags = SYSSEM_NO_UNDO;
  assert_int_equal(syssem_open_ex(&noundo, syssem_key(last), 0,
                                  SYSSEM_OPEN_EXISTING, &o), SYSSEM_OK);
  assert_int_equal(syssem_acquire(noundo), SYSSEM_OK);
  assert_int_equal(syssem_release(noundo, 1), SYSSEM_OK);
  syssem_close(noundo);

  assert_int_equal(syssem_release(s[0], 1), SYSSEM_OK);
  assert_int_equal(syssem_acquire(last), SYSSEM_OK);
  assert_int_equal(syssem_release(last, 1), SYSSEM_OK);
  for (i = 1; i < UNDO_MAX; i++)
    assert_int_equal(syssem_release(s[i], 1), SYSSEM_OK);
  for (i = 0; i <= UNDO_MAX; i++) {
    assert_int_equal(value_of(s[i]), 1);
    syssem_close(s[i]);
  }
  shim_reset();
}

/* A name within the limit the library knows that the system still finds
 * too long: a key error in every mode, with the system's reason, and
 * nothing made. */
static void name_too_long(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char name[64], path[SYSSEM_NATIVE_MAX + 64];
  syssem_t *s;
  size_t i;

  (void)state;
  o.backend = SYSSEM_BACKEND_POSIX;
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  snprintf(name, sizeof name, "/%s", key_for("long"));
  fixture_key(name, &o);
  shim.name_max = 4;
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    s = (syssem_t *)&s; /* must become NULL */
    assert_int_equal(syssem_open_ex(&s, name, 1, modes[i], &o), SYSSEM_EKEY);
    assert_null(s);
    message_has("sem_open");
    message_has(strerror(ENAMETOOLONG));
  }
  assert_true(shim.sem_open_calls >= 4);
  /* Legacy keys too, whatever their name. */
  o.keyform = SYSSEM_KEYFORM_LEGACY;
  assert_int_equal(syssem_open_ex(&s, key_for("longlegacy"), 1, SYSSEM_OPEN,
                                  &o), SYSSEM_EKEY);
  shim_reset();
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  assert_int_equal(syssem_remove(name, &o), SYSSEM_ENOENT);
  if (syssem__px_path(name, path, sizeof path) == SYSSEM_OK)
    assert_false(file_there(path));
}

/* No System V IPC in the kernel: semget says ENOSYS. Every open that
 * reaches it is SYSSEM_ENOSYS with a message that says so, and leaves no
 * key file; one that finds no key file to open (SYSSEM_OPEN_EXISTING) says
 * there is nothing. A key file the user made stays. */
static void no_system_v(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char native[SYSSEM_NATIVE_MAX], path[512];
  const char *key;
  struct stat before, after;
  syssem_t *s;
  FILE *f;
  size_t i;

  (void)state;
  o.backend = SYSSEM_BACKEND_SYSV;
  shim.no_sysv = 1;
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    key = key_for("nosysv");
    assert_int_equal(syssem_native_name(key, &o, NULL, native, sizeof native),
                     SYSSEM_OK);
    s = (syssem_t *)&s;
    if (modes[i] == SYSSEM_OPEN_EXISTING) {
      assert_int_equal(syssem_open_ex(&s, key, 1, modes[i], &o),
                       SYSSEM_ENOENT);
    } else {
      assert_int_equal(syssem_open_ex(&s, key, 1, modes[i], &o),
                       SYSSEM_ENOSYS);
      message_has("semget");
      message_has("System V IPC is not available here");
    }
    assert_null(s);
    assert_false(file_there(native));
    assert_int_equal(syssem_remove(key, &o), SYSSEM_ENOENT);
  }

  /* A native key: the user's file, there before and after. */
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  snprintf(path, sizeof path, "%s/keyfile", fixture_dir());
  f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(stat(path, &before), 0);
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    assert_int_equal(syssem_open_ex(&s, path, 1, modes[i], &o),
                     SYSSEM_ENOSYS);
    message_has("System V IPC is not available here");
  }
  assert_int_equal(syssem_remove(path, &o), SYSSEM_ENOSYS);
  assert_int_equal(stat(path, &after), 0);
  assert_int_equal(after.st_ino, before.st_ino);
  assert_int_equal(after.st_mode, before.st_mode);
  shim_reset();
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST_TEARDOWN(undo_entries_exhausted, disarm),
    TEST_TEARDOWN(name_too_long, disarm),
    TEST_TEARDOWN(no_system_v, disarm),
  };

  return TEST_MAIN("errno", tests);
}
