/*
 * libsyssem as the benchmark drives it: the public API of the shared
 * library, a legacy key, each backend chosen through the options.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "syssem.h"
#include "impl.h"

static syssem_t *lib_open(const char *key, int initial, syssem_mode_t mode,
                          syssem_backend_t backend, unsigned int flags)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s;

  o.backend = backend;
  o.flags = flags;
  return syssem_open_ex(&s, key, initial, mode, &o) == SYSSEM_OK ? s : NULL;
}

static void *sysv_create(const char *key, int initial)
{
  return lib_open(key, initial, SYSSEM_CREATE_NEW, SYSSEM_BACKEND_SYSV, 0);
}

static void *sysv_attach(const char *key)
{
  return lib_open(key, 0, SYSSEM_OPEN_EXISTING, SYSSEM_BACKEND_SYSV, 0);
}

static void *noundo_create(const char *key, int initial)
{
  return lib_open(key, initial, SYSSEM_CREATE_NEW, SYSSEM_BACKEND_SYSV,
                  SYSSEM_NO_UNDO);
}

static void *noundo_attach(const char *key)
{
  return lib_open(key, 0, SYSSEM_OPEN_EXISTING, SYSSEM_BACKEND_SYSV,
                  SYSSEM_NO_UNDO);
}

static void *posix_create(const char *key, int initial)
{
  return lib_open(key, initial, SYSSEM_CREATE_NEW, SYSSEM_BACKEND_POSIX, 0);
}

static void *posix_attach(const char *key)
{
  return lib_open(key, 0, SYSSEM_OPEN_EXISTING, SYSSEM_BACKEND_POSIX, 0);
}

static int lib_acquire(void *h)
{
  return syssem_acquire(h) == SYSSEM_OK ? 0 : -1;
}

static int lib_release(void *h)
{
  return syssem_release(h, 1) == SYSSEM_OK ? 0 : -1;
}

static long lib_pairs(void *h, long n)
{
  syssem_t *s = h;
  long i, bad = 0;

  for (i = 0; i < n; i++) {
    bad += syssem_acquire(s) != SYSSEM_OK;
    bad += syssem_release(s, 1) != SYSSEM_OK;
  }
  return bad;
}

static long lib_tries(void *h, long n)
{
  syssem_t *s = h;
  long i, bad = 0;

  for (i = 0; i < n; i++)
    bad += syssem_try_acquire(s, 0) != SYSSEM_ETIMEDOUT;
  return bad;
}

/* A handle removes the object only if it created it: close and destroy are
 * the same call. */
static void lib_close(void *h)
{
  syssem_close(h);
}

#define LIB_TABLE(label, prim, pfx)                                          \
  {                                                                          \
    .name = label, .side = "lib", .primitive = prim,                         \
    .create = pfx##_create, .attach = pfx##_attach, .acquire = lib_acquire,  \
    .release = lib_release, .pairs = lib_pairs, .tries = lib_tries,          \
    .close = lib_close, .destroy = lib_close, .open_close = NULL,            \
  }

const bench_impl_t bench_syssem_sysv = LIB_TABLE("sysv", "sysv", sysv);
const bench_impl_t bench_syssem_sysv_noundo =
    LIB_TABLE("sysv-noundo", "sysv", noundo);
const bench_impl_t bench_syssem_posix = LIB_TABLE("posix", "posix", posix);
