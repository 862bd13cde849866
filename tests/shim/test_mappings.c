/*
 * POSIX names against C libraries that do what glibc does not (the errno
 * shim, errno_shim.h): illumos and Cygwin hand a process that opens one
 * name twice one sem_t and free it at the first close; FreeBSD's sem_open
 * and Cygwin's sem_close lock the semaphore's file themselves. This program
 * carries its own build of src/posix_named.c with the counting of opens
 * that illumos and Cygwin get (SYSSEM__PX_SHARED_MAPPINGS, tests/meson.build):
 * the library's other objects come from the internal library as usual.
 *
 * SPDX-License-Identifier: MIT
 */
#include "api.h"
#include "errno_shim.h"

#include <semaphore.h>
#include <stdio.h>

static int disarm(void **state)
{
  (void)state;
  shim_reset();
  return 0;
}

/* A fresh native POSIX name, removed at teardown if a test leaves it. */
static const char *px_name(syssem_options_t *o)
{
  const char *name = fixture_printf("/%s", key_for("map"));

  *o = (syssem_options_t)SYSSEM_OPTIONS_INIT;
  o->backend = SYSSEM_BACKEND_POSIX;
  o->keyform = SYSSEM_KEYFORM_NATIVE;
  fixture_key(name, o);
  return name;
}

static syssem_t *open_px(const char *name, const syssem_options_t *o,
                         int initial, syssem_mode_t mode)
{
  syssem_t *s = NULL;

  if (syssem_open_ex(&s, name, initial, mode, o) != SYSSEM_OK)
    fail_msg("open %s: %s", name, syssem_last_error_message());
  return s;
}

/* 1 if the name leads to an object (opening it creates nothing). */
static int px_exists(const char *name, const syssem_options_t *o)
{
  syssem_t *s = NULL;
  int r = syssem_open_ex(&s, name, 0, SYSSEM_OPEN_EXISTING, o);

  syssem_close(s);
  if (r != SYSSEM_OK)
    assert_int_equal(r, SYSSEM_ENOENT);
  return r == SYSSEM_OK;
}

/* s works: a token out and back, and the count it should have. */
static void works(syssem_t *s, int count)
{
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  assert_int_equal(value_of(s), count);
}

/* Handles of one name in one process share the C library's one sem_t;
 * each keeps working until it is closed itself, whichever closes first,
 * the creator (who removes the name) included. */
static void one_name_twice(void **state)
{
  syssem_options_t o;
  const char *name = px_name(&o);
  syssem_t *a, *b, *c;

  (void)state;
  shim.shared_mappings = 1;
  a = open_px(name, &o, 1, SYSSEM_CREATE_NEW); /* its owner check opens */
  b = open_px(name, &o, 0, SYSSEM_OPEN);       /* the name again, too   */
  syssem_close(b);
  works(a, 1);
  b = open_px(name, &o, 0, SYSSEM_OPEN);
  c = open_px(name, &o, 2, SYSSEM_CREATE); /* a reset: an owner, too */
  works(a, 2);
  syssem_close(c); /* an owner: removes the name */
  assert_false(px_exists(name, &o));
  works(a, 2);
  works(b, 2);
  syssem_close(a);
  works(b, 2);
  syssem_close(b);
  assert_int_equal(shim.self_deadlocks, 0);
}

/* The owner's proof of its object runs its second sem_open and its close
 * before it takes the file's lock, which a C library that locks the file
 * itself would otherwise wait for for ever; the proof still holds: an
 * owner removes its own name, never a name another object has since. */
static void owner_proof_unlocked(void **state)
{
  syssem_options_t o;
  const char *name = px_name(&o);
  syssem_t *a, *c, *d;

  (void)state;
  shim.file_locks = 1;
  a = open_px(name, &o, 1, SYSSEM_CREATE_NEW);
  c = open_px(name, &o, 2, SYSSEM_CREATE);
  works(a, 2);
  syssem_close(c);
  assert_false(px_exists(name, &o)); /* c's own object: removed */
  syssem_close(a);

  a = open_px(name, &o, 1, SYSSEM_CREATE_NEW);
  assert_int_equal(sem_unlink(name), 0); /* behind the library's back */
  d = open_px(name, &o, 3, SYSSEM_CREATE_NEW);
  syssem_close(a); /* a stale owner: the name is d's now */
  assert_true(px_exists(name, &o));
  works(d, 3);
  syssem_close(d);
  assert_false(px_exists(name, &o));
  assert_int_equal(shim.self_deadlocks, 0);
}

/* Cygwin has both: one uncounted sem_t per name, and locks of its own. */
static void both(void **state)
{
  syssem_options_t o;
  const char *name = px_name(&o);
  syssem_t *a, *b;

  (void)state;
  shim.shared_mappings = 1;
  shim.file_locks = 1;
  a = open_px(name, &o, 1, SYSSEM_CREATE_NEW);
  b = open_px(name, &o, 4, SYSSEM_CREATE);
  syssem_close(a); /* an owner: removes the name, b keeps the object */
  assert_false(px_exists(name, &o));
  works(b, 4);
  syssem_close(b);
  assert_int_equal(shim.self_deadlocks, 0);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST_TEARDOWN(one_name_twice, disarm),
    TEST_TEARDOWN(owner_proof_unlocked, disarm),
    TEST_TEARDOWN(both, disarm),
  };

  return TEST_MAIN("mappings", tests);
}
