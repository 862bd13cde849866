/*
 * System V backend: a key file names the semaphore through ftok(); one set of
 * one semaphore; SEM_UNDO on acquire and release unless SYSSEM_NO_UNDO.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* semtimedop */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "syssem_int.h"

/* Linux and the BSDs cap a System V semaphore at 32767 (SEMVMX). */
#define SV_MAX 32767

/* The caller defines this union (SUSv4, semctl). */
union sv_arg {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

struct sv_sem {
  struct syssem base;
  atomic_int id;        /* replaced when the set is reopened               */
  struct sembuf down;   /* the hot operations, made once at open: take one, */
  struct sembuf up;     /* give one, and take one without waiting           */
  struct sembuf poll;
  int file_owned;       /* close removes the key file                      */
  pthread_mutex_t lock; /* serialises reopening                            */
};

/* How long an opener waits for a concurrent creator to initialise the set,
 * before it takes the creator for dead and initialises the set itself. */
#define SV_INIT_WAIT_MS 5000

static int sv_native_name(const syssem__name_t *n, char **out)
{
  char *dir = NULL, *path = NULL;
  size_t len;
  int r = SYSSEM_EKEY;

  if (!n->legacy) {
    /* A native key is the key file's absolute path. */
    if (n->text[0] != '/' || strlen(n->text) >= PATH_MAX)
      goto cleanup;
    r = SYSSEM_ENOMEM;
    path = strdup(n->text);
    if (path == NULL)
      goto cleanup;
    r = SYSSEM_OK;
    goto cleanup;
  }
  r = syssem__key_dir(&dir);
  if (r < 0)
    goto cleanup;
  r = SYSSEM_EKEY;
  if (strlen(n->text) > NAME_MAX)
    goto cleanup;
  len = strlen(dir) + 1 + strlen(n->text) + 1;
  if (len > PATH_MAX)
    goto cleanup;
  r = SYSSEM_ENOMEM;
  path = malloc(len);
  if (path == NULL)
    goto cleanup;
  /* "/" as TMPDIR would otherwise give "//qipc_...". */
  strcpy(path, strcmp(dir, "/") == 0 ? "" : dir);
  strcat(path, "/");
  strcat(path, n->text);
  r = SYSSEM_OK;

cleanup:
  free(dir);
  *out = path;
  return r;
}

/* An attach step found the key file or the set gone: another process removed
 * it in the meantime. Not a code: sv_attach() starts over. */
#define SV_GONE 1

/* Classify the failure of `call` (errno set) during an attach: a removal
 * (the key file or set vanished) is SV_GONE, or SYSSEM_ENOENT for
 * SYSSEM_OPEN_EXISTING, which must not recreate; anything else its code. */
static int sv_gone(syssem_mode_t mode, const char *call)
{
  int err = errno;

  if (err != ENOENT && err != EIDRM && err != EINVAL)
    return syssem__os_fail(syssem__errno_code(err), call, err);
  if (mode == SYSSEM_OPEN_EXISTING)
    return syssem__os_fail(SYSSEM_ENOENT, call, err);
  return SV_GONE;
}

/* The ftok() key of the file behind st. On Linux, glibc and musl compute it
 * from the inode and device numbers alone, so it comes from the lstat we
 * already made (no second stat, and no window in which the path could be
 * swapped for a symlink); it is the key Qt gets from ftok(). */
#if defined(__linux__)
static int sv_ftok(const char *path, const struct stat *st, int proj_id,
                   key_t *key)
{
  (void)path;
  *key = (key_t)(((unsigned)proj_id & 0xffu) << 24 |
                 ((unsigned)st->st_dev & 0xffu) << 16 |
                 ((unsigned)st->st_ino & 0xffffu));
  return 0;
}
#else
static int sv_ftok(const char *path, const struct stat *st, int proj_id,
                   key_t *key)
{
  (void)st;
  *key = ftok(path, proj_id);
  return *key == (key_t)-1 ? -1 : 0;
}
#endif

/* Make sure the key file exists as a regular file; never follow a symlink
 * planted at its path. *made tells whether this call created it; *key is
 * its ftok key. An existing file, the usual case, costs one lstat. */
static int sv_key_file(const char *path, syssem_mode_t mode, unsigned perms,
                       int proj_id, int *made, key_t *key)
{
  struct stat st;
  int fd, err;

  *made = 0;
  if (lstat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return syssem__os_fail_text(SYSSEM_EKEY, "lstat",
                                  "key file is not a regular file");
  } else {
    if (errno != ENOENT || mode == SYSSEM_OPEN_EXISTING)
      return sv_gone(mode, "lstat");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              (mode_t)(perms & 0666));
    if (fd < 0) {
      /* EEXIST: another opener made it since our lstat; start over. */
      if (errno == EEXIST)
        return SV_GONE;
      return syssem__os_fail(syssem__errno_code(errno), "open", errno);
    }
    /* open() applied the umask; the permissions are promised exact. */
    if (fchmod(fd, (mode_t)(perms & 0666)) != 0 || fstat(fd, &st) != 0) {
      err = errno;
      close(fd);
      unlink(path);
      return syssem__os_fail(syssem__errno_code(err), "fchmod", err);
    }
    close(fd);
    *made = 1;
  }
  if (sv_ftok(path, &st, proj_id, key) != 0)
    return sv_gone(mode, "ftok");
  return SYSSEM_OK;
}

/* Wait until the creator of set id has initialised it. Our creators
 * initialise with semop() and Qt's with SETVAL; both set sempid, which a
 * fresh set has 0. */
static int sv_wait_init(int id, syssem_mode_t mode, int initial)
{
  struct timespec nap = { 0, 1000000L };
  union sv_arg arg;
  int pid, waited;

  for (waited = 0; waited < SV_INIT_WAIT_MS; waited++) {
    pid = semctl(id, 0, GETPID);
    if (pid > 0)
      return SYSSEM_OK;
    if (pid < 0)
      return sv_gone(mode, "semctl");
    nanosleep(&nap, NULL);
  }
  /* The creator died between semget() and initialisation: finish its job. */
  arg.val = initial;
  if (semctl(id, 0, SETVAL, arg) != 0)
    return sv_gone(mode, "semctl");
  return SYSSEM_OK;
}

/* One attempt of sv_attach(): SYSSEM_OK, a code, or SV_GONE. */
static int sv_attach_once(struct sv_sem *s, syssem_mode_t mode, int initial,
                          int *id, int *created, int *file_made)
{
  const char *path = s->base.native;
  struct sembuf init;
  union sv_arg arg;
  key_t key = IPC_PRIVATE;
  int r;

  r = sv_key_file(path, mode, s->base.perms, s->base.proj_id, file_made,
                  &key);
  if (r != SYSSEM_OK)
    return r;
  /* A key file that was there most likely has its set: attach first. A file
   * just made has none yet, and SYSSEM_CREATE_NEW must create. */
  *id = -1;
  if (!*file_made && mode != SYSSEM_CREATE_NEW) {
    *id = semget(key, 1, 0);
    if (*id < 0 && (errno != ENOENT || mode == SYSSEM_OPEN_EXISTING))
      return sv_gone(mode, "semget");
  }
  if (*id < 0) {
    *id = semget(key, 1, IPC_CREAT | IPC_EXCL | (int)(s->base.perms & 0777));
    if (*id >= 0) {
      /* semop, not SETVAL, so that sempid marks the set initialised; no
       * SEM_UNDO, or our exit would take the initial count back. */
      init.sem_num = 0;
      init.sem_op = (short)initial;
      init.sem_flg = IPC_NOWAIT;
      if (semop(*id, &init, 1) != 0) {
        r = sv_gone(mode, "semop");
        semctl(*id, 0, IPC_RMID);
        return r;
      }
      *created = 1;
      return SYSSEM_OK;
    }
    if (errno != EEXIST)
      return syssem__os_fail(syssem__errno_code(errno), "semget", errno);
    if (mode == SYSSEM_CREATE_NEW)
      return syssem__os_fail(SYSSEM_EEXIST, "semget", EEXIST);
    *id = semget(key, 1, 0);
    if (*id < 0)
      return sv_gone(mode, "semget");
  }
  r = sv_wait_init(*id, mode, initial);
  if (r != SYSSEM_OK)
    return r;
  arg.val = initial;
  if (mode == SYSSEM_CREATE && semctl(*id, 0, SETVAL, arg) != 0)
    return sv_gone(mode, "semctl");
  return SYSSEM_OK;
}

/* Attach to or create the set per mode; on success store its id and whether
 * this call created the set and the key file. Any step may find the file or
 * set removed by another process: start over, a bounded number of times.
 * Leaves nothing behind on failure. Used by open and by the reopen after a
 * removal underneath. */
static int sv_attach(struct sv_sem *s, syssem_mode_t mode, int initial,
                     int *id, int *created, int *file_made)
{
  int tries, made, r = SV_GONE;

  *created = 0;
  *file_made = 0;
  for (tries = 0; r == SV_GONE && tries < SYSSEM__REOPEN_MAX; tries++) {
    r = sv_attach_once(s, mode, initial, id, created, &made);
    *file_made |= made;
  }
  if (r == SV_GONE)
    r = syssem__os_fail_text(SYSSEM_ENOENT, "semget",
                             "removed while opening, again and again");
  if (r < 0 && *file_made)
    unlink(s->base.native);
  return r;
}

static int sv_open(syssem_t *base, syssem_mode_t mode, int initial)
{
  struct sv_sem *s = (struct sv_sem *)base;
  int id, created, file_made, r;
  short undo;

  r = sv_attach(s, mode, initial, &id, &created, &file_made);
  if (r < 0)
    return r;
  r = pthread_mutex_init(&s->lock, NULL);
  if (r != 0) {
    if (created)
      semctl(id, 0, IPC_RMID);
    if (file_made)
      unlink(base->native);
    return syssem__os_fail(SYSSEM_ENOSPC, "pthread_mutex_init", r);
  }
  atomic_init(&s->id, id);
  undo = (short)((base->flags & SYSSEM_NO_UNDO) ? 0 : SEM_UNDO);
  s->down.sem_num = s->up.sem_num = s->poll.sem_num = 0;
  s->down.sem_op = s->poll.sem_op = -1;
  s->up.sem_op = 1;
  s->down.sem_flg = s->up.sem_flg = undo;
  s->poll.sem_flg = (short)(undo | IPC_NOWAIT);
  /* Qt's rule for its own key files: the owner removes them. Files named by
   * native keys go only if this handle made them. */
  s->file_owned = base->legacy || file_made;
  base->created = created;
  base->owner = created || mode == SYSSEM_CREATE;
  return SYSSEM_OK;
}

/* Decide what to do after a failed call on set `id` (errno still set):
 * SYSSEM_OK to try again (EINTR, or the set was removed underneath and has
 * been reopened) or a code. */
static SYSSEM__COLD int sv_retry(struct sv_sem *s, int id, const char *call,
                                 int *reopens)
{
  int err = errno, nid, created, file_made, r = SYSSEM_OK;

  if (err == EINTR)
    return SYSSEM_OK;
  if (err == EAGAIN)
    return SYSSEM_ETIMEDOUT;
  if (err == ERANGE)
    return syssem__os_fail(SYSSEM_EOVERFLOW, call, err);
  if (err != EIDRM && err != EINVAL)
    return syssem__os_fail(syssem__errno_code(err), call, err);
  if (++*reopens > SYSSEM__REOPEN_MAX)
    return syssem__os_fail(SYSSEM_ENOENT, call, err);
  /* Several threads may see the same removal: the first reopens, the others
   * find the id already replaced and just retry. */
  pthread_mutex_lock(&s->lock);
  if (atomic_load_explicit(&s->id, memory_order_relaxed) == id) {
    r = sv_attach(s, SYSSEM_OPEN, s->base.initial, &nid, &created, &file_made);
    if (r == SYSSEM_OK) {
      atomic_store_explicit(&s->id, nid, memory_order_relaxed);
      s->base.created = created;
      s->base.owner = created;
      s->file_owned |= file_made;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

/* The first try of *op on set id failed (errno set): retry after EINTR or
 * a removal underneath until it succeeds or fails for good, as public
 * function fn. */
static SYSSEM__COLD int sv_again(struct sv_sem *s, struct sembuf *op, int id,
                                 const char *fn)
{
  int reopens = 0, r;

  for (;;) {
    r = sv_retry(s, id, "semop", &reopens);
    if (r < 0)
      return syssem__failed(fn, r);
    id = atomic_load_explicit(&s->id, memory_order_relaxed);
    if (semop(id, op, 1) == 0)
      return SYSSEM_OK;
  }
}

/* The hot path: one semop, everything else out of line. */
static inline int sv_semop(struct sv_sem *s, struct sembuf *op, const char *fn)
{
  int id = atomic_load_explicit(&s->id, memory_order_relaxed);

  if (semop(id, op, 1) == 0)
    return SYSSEM_OK;
  return sv_again(s, op, id, fn);
}

/* Wait at most timeout_ms; after EINTR only what is left of it remains. */
static int sv_timedwait(struct sv_sem *s, long timeout_ms)
{
  struct timespec end, left;
  int id, reopens = 0, r;

  syssem__deadline(&end, timeout_ms);
  for (;;) {
    id = atomic_load_explicit(&s->id, memory_order_relaxed);
    syssem__left(&end, &left);
    if (semtimedop(id, &s->down, 1, &left) == 0)
      return SYSSEM_OK;
    r = sv_retry(s, id, "semtimedop", &reopens);
    if (r < 0)
      return syssem__failed("syssem_try_acquire", r);
  }
}

static int sv_acquire(syssem_t *base)
{
  struct sv_sem *s = (struct sv_sem *)base;

  return sv_semop(s, &s->down, "syssem_acquire");
}

static int sv_try_acquire(syssem_t *base, long timeout_ms)
{
  struct sv_sem *s = (struct sv_sem *)base;

  return timeout_ms == 0 ? sv_semop(s, &s->poll, "syssem_try_acquire")
                         : sv_timedwait(s, timeout_ms);
}

static int sv_release(syssem_t *base, int n)
{
  struct sv_sem *s = (struct sv_sem *)base;
  struct sembuf op;

  if (n == 1)
    return sv_semop(s, &s->up, "syssem_release");
  /* Past SV_MAX the count always overflows, and sem_op is a short. */
  if (n > SV_MAX)
    return syssem__failed("syssem_release",
                          syssem__os_fail_text(SYSSEM_EOVERFLOW, "semop",
                                               "count would pass the maximum"));
  op = s->up;
  op.sem_op = (short)n;
  return sv_semop(s, &op, "syssem_release");
}

static int sv_value(syssem_t *base, int *value)
{
  struct sv_sem *s = (struct sv_sem *)base;
  int id, v, reopens = 0, r;

  for (;;) {
    id = atomic_load_explicit(&s->id, memory_order_relaxed);
    v = semctl(id, 0, GETVAL);
    if (v >= 0) {
      *value = v;
      return SYSSEM_OK;
    }
    r = sv_retry(s, id, "semctl", &reopens);
    if (r < 0)
      return r;
  }
}

static void sv_close(syssem_t *base, int remove)
{
  struct sv_sem *s = (struct sv_sem *)base;

  if (remove) {
    semctl(atomic_load_explicit(&s->id, memory_order_relaxed), 0, IPC_RMID);
    if (s->file_owned)
      unlink(base->native);
  }
  pthread_mutex_destroy(&s->lock);
}

static int sv_remove(const char *path, int legacy, int proj_id)
{
  struct stat st;
  key_t key;
  int id;

  if (lstat(path, &st) != 0)
    return syssem__os_fail(syssem__errno_code(errno), "lstat", errno);
  if (!S_ISREG(st.st_mode))
    return syssem__os_fail_text(SYSSEM_EKEY, "lstat",
                                "key file is not a regular file");
  if (sv_ftok(path, &st, proj_id, &key) != 0)
    return syssem__os_fail(syssem__errno_code(errno), "ftok", errno);
  id = semget(key, 1, 0);
  if (id < 0 || semctl(id, 0, IPC_RMID) != 0) {
    int err = errno;
    /* EIDRM/EINVAL: another process removed the set since our semget. */
    int gone = err == ENOENT || err == EIDRM || err == EINVAL;
    /* A legacy key file without its set is litter of ours: sweep it. */
    if (gone && legacy)
      unlink(path);
    return syssem__os_fail(gone ? SYSSEM_ENOENT : syssem__errno_code(err),
                           id < 0 ? "semget" : "semctl", err);
  }
  if (legacy)
    unlink(path);
  return SYSSEM_OK;
}

const syssem__backend_t syssem__sysv = {
  SYSSEM_BACKEND_SYSV,
  "sysv",
  sizeof(struct sv_sem),
  SV_MAX,
  sv_native_name,
  sv_open,
  sv_close,
  sv_acquire,
  sv_try_acquire,
  sv_release,
  sv_value,
  sv_remove,
};
