/*
 * The OS calls alone, and the floor over them. Objects are named as
 * libsyssem names them (syssem_native_name()), so that a raw handle can
 * attach to a set or semaphore the library made, and the other way round.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syssem_int.h"
#include "floor.h"
#include "impl.h"

/* The native name of key on backend b, as libsyssem derives it. */
static int native_name(const char *key, syssem_backend_t b, char *buf,
                       size_t size)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;

  o.backend = b;
  return syssem_native_name(key, &o, NULL, buf, size) == SYSSEM_OK ? 0 : -1;
}

/* System V ----------------------------------------------------------------- */

typedef struct rsv {
  bench_floor_sv_t f; /* the set, take one, give one                      */
  struct sembuf poll; /* take one without waiting                         */
  int owner;          /* destroy removes the set and the key file         */
  char path[PATH_MAX];
} rsv_t;

static rsv_t *rsv_new(const char *key, short undo)
{
  rsv_t *h = calloc(1, sizeof *h);

  if (h == NULL)
    return NULL;
  if (native_name(key, SYSSEM_BACKEND_SYSV, h->path, sizeof h->path) != 0) {
    free(h);
    return NULL;
  }
  h->f.id = -1;
  h->f.down.sem_op = -1;
  h->f.up.sem_op = 1;
  h->f.down.sem_flg = h->f.up.sem_flg = undo;
  h->poll.sem_op = -1;
  h->poll.sem_flg = (short)(undo | IPC_NOWAIT);
  return h;
}

/* The set behind an existing key file, or -1. */
static int rsv_get(const char *path, int flags)
{
  key_t k = ftok(path, SYSSEM__FTOK_ID);

  return k == (key_t)-1 ? -1 : semget(k, 1, flags);
}

static void *rsv_make(const char *key, int initial, short undo)
{
  struct sembuf init = { 0, 0, IPC_NOWAIT };
  rsv_t *h = rsv_new(key, undo);
  int fd;

  if (h == NULL)
    return NULL;
  fd = open(h->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
            0600);
  if (fd < 0) {
    free(h);
    return NULL;
  }
  close(fd);
  h->f.id = rsv_get(h->path, IPC_CREAT | IPC_EXCL | 0600);
  init.sem_op = (short)initial;
  if (h->f.id < 0 || (initial > 0 && semop(h->f.id, &init, 1) != 0)) {
    if (h->f.id >= 0)
      semctl(h->f.id, 0, IPC_RMID);
    unlink(h->path);
    free(h);
    return NULL;
  }
  h->owner = 1;
  return h;
}

static void *rsv_join(const char *key, short undo)
{
  rsv_t *h = rsv_new(key, undo);

  if (h != NULL && (h->f.id = rsv_get(h->path, 0)) < 0) {
    free(h);
    h = NULL;
  }
  return h;
}

static void *sv_create(const char *key, int initial)
{
  return rsv_make(key, initial, SEM_UNDO);
}

static void *sv_attach(const char *key)
{
  return rsv_join(key, SEM_UNDO);
}

static void *sv0_create(const char *key, int initial)
{
  return rsv_make(key, initial, 0);
}

static void *sv0_attach(const char *key)
{
  return rsv_join(key, 0);
}

static int sv_acquire(void *p)
{
  rsv_t *h = p;

  return semop(h->f.id, &h->f.down, 1);
}

static int sv_release(void *p)
{
  rsv_t *h = p;

  return semop(h->f.id, &h->f.up, 1);
}

static long sv_pairs(void *p, long n)
{
  rsv_t *h = p;
  struct sembuf down = h->f.down, up = h->f.up;
  int id = h->f.id;
  long i, bad = 0;

  for (i = 0; i < n; i++) {
    bad += semop(id, &down, 1) != 0;
    bad += semop(id, &up, 1) != 0;
  }
  return bad;
}

static long sv_tries(void *p, long n)
{
  rsv_t *h = p;
  struct sembuf poll = h->poll;
  int id = h->f.id;
  long i, bad = 0;

  for (i = 0; i < n; i++)
    bad += semop(id, &poll, 1) == 0 || errno != EAGAIN;
  return bad;
}

static long sv_floor_pairs(void *p, long n)
{
  bench_floor_sv_t *f = &((rsv_t *)p)->f;
  long i, bad = 0;

  for (i = 0; i < n; i++) {
    bad += bench_floor_sv_acquire(f) != 0;
    bad += bench_floor_sv_release(f, 1) != 0;
  }
  return bad;
}

static void sv_close(void *p)
{
  free(p);
}

static void sv_destroy(void *p)
{
  rsv_t *h = p;

  if (h->owner) {
    semctl(h->f.id, 0, IPC_RMID);
    unlink(h->path);
  }
  free(h);
}

/* POSIX ------------------------------------------------------------------- */

typedef struct rpx {
  bench_floor_px_t f;
  int owner;
  char name[PATH_MAX];
} rpx_t;

static void *px_open(const char *key, int create, int initial)
{
  rpx_t *h = calloc(1, sizeof *h);

  if (h == NULL)
    return NULL;
  if (native_name(key, SYSSEM_BACKEND_POSIX, h->name, sizeof h->name) != 0) {
    free(h);
    return NULL;
  }
  h->f.sem = create ? sem_open(h->name, O_CREAT | O_EXCL, 0600,
                               (unsigned)initial)
                    : sem_open(h->name, 0);
  if (h->f.sem == SEM_FAILED) {
    free(h);
    return NULL;
  }
  h->owner = create;
  return h;
}

static void *px_create(const char *key, int initial)
{
  return px_open(key, 1, initial);
}

static void *px_attach(const char *key)
{
  return px_open(key, 0, 0);
}

static int px_acquire(void *p)
{
  return sem_wait(((rpx_t *)p)->f.sem);
}

static int px_release(void *p)
{
  return sem_post(((rpx_t *)p)->f.sem);
}

static long px_pairs(void *p, long n)
{
  sem_t *sem = ((rpx_t *)p)->f.sem;
  long i, bad = 0;

  for (i = 0; i < n; i++) {
    bad += sem_wait(sem) != 0;
    bad += sem_post(sem) != 0;
  }
  return bad;
}

static long px_tries(void *p, long n)
{
  sem_t *sem = ((rpx_t *)p)->f.sem;
  long i, bad = 0;

  for (i = 0; i < n; i++)
    bad += sem_trywait(sem) == 0 || errno != EAGAIN;
  return bad;
}

static long px_floor_pairs(void *p, long n)
{
  bench_floor_px_t *f = &((rpx_t *)p)->f;
  long i, bad = 0;

  for (i = 0; i < n; i++) {
    bad += bench_floor_px_acquire(f) != 0;
    bad += bench_floor_px_release(f, 1) != 0;
  }
  return bad;
}

static void px_close(void *p)
{
  rpx_t *h = p;

  sem_close(h->f.sem);
  if (h->owner)
    sem_unlink(h->name);
  free(h);
}

/* Tables ------------------------------------------------------------------ */

#define RAW_TABLE(label, kind, prim, cr, at, pairs_fn, tries_fn, pfx)        \
  {                                                                          \
    .name = label, .side = kind, .primitive = prim, .create = cr,            \
    .attach = at, .acquire = pfx##_acquire, .release = pfx##_release,        \
    .pairs = pairs_fn, .tries = tries_fn, .close = pfx##_close,              \
    .destroy = pfx##_destroy, .open_close = NULL,                            \
  }

#define px_destroy px_close

const bench_impl_t bench_raw_sysv =
    RAW_TABLE("semop SEM_UNDO", "raw", "sysv", sv_create, sv_attach, sv_pairs,
              sv_tries, sv);
const bench_impl_t bench_raw_sysv_noundo =
    RAW_TABLE("semop", "raw", "sysv", sv0_create, sv0_attach, sv_pairs,
              sv_tries, sv);
const bench_impl_t bench_raw_posix =
    RAW_TABLE("sem_wait+sem_post", "raw", "posix", px_create, px_attach,
              px_pairs, px_tries, px);
const bench_impl_t bench_floor_sysv =
    RAW_TABLE("floor", "floor", "sysv", sv_create, sv_attach, sv_floor_pairs,
              NULL, sv);
const bench_impl_t bench_floor_sysv_noundo =
    RAW_TABLE("floor", "floor", "sysv", sv0_create, sv0_attach,
              sv_floor_pairs, NULL, sv);
const bench_impl_t bench_floor_posix =
    RAW_TABLE("floor", "floor", "posix", px_create, px_attach, px_floor_pairs,
              NULL, px);
