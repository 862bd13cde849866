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

static int sv_native_name(const syssem__name_t *n, char *buf)
{
  char *dir;
  int r;

  if (!n->legacy) {
    /* A native key is the key file's absolute path. */
    if (n->text[0] != '/' || strlen(n->text) >= PATH_MAX)
      return SYSSEM_EKEY;
    return syssem__native_put(buf, n->text, "", "");
  }
  if (strlen(n->text) > NAME_MAX)
    return SYSSEM_EKEY;
  r = syssem__key_dir(&dir);
  if (r < 0)
    return r;
  if (strlen(dir) + 1 + strlen(n->text) + 1 > PATH_MAX)
    r = SYSSEM_EKEY;
  else /* "/" as TMPDIR would otherwise give "//qipc_...". */
    r = syssem__native_put(buf, strcmp(dir, "/") == 0 ? "" : dir, "/",
                           n->text);
  free(dir);
  return r;
}

/* An attach step found the key file or the set gone: another process removed
 * it in the meantime. Not a code: sv_attach() starts over. */
#define SV_GONE 1

/* `call` failed (errno set), and it was no removal. ENOSYS: this kernel has
 * no System V IPC at all (built without it, a FreeBSD jail without
 * sysvsem, Cygwin without cygserver). */
static int sv_fail(const char *call)
{
  int err = errno;

  if (err == ENOSYS)
    return syssem__note_text(SYSSEM_ENOSYS, call,
                             "System V IPC is not available here (not in "
                             "this kernel, jail or container)");
  return syssem__note(syssem__errno_code(err), call, err);
}

/* The owner-execute bit of a set's mode marks it busy: its creator has made
 * it and not yet put its count in place. semop and semctl never ask for
 * execute permission, and a finished set has no execute bit (its creator
 * clears them with IPC_SET), so the mark costs nothing, reads the same from
 * every PID namespace (unlike sempid), and a set made by Qt, which creates
 * with 0600 and sets the count with SETVAL, is ready at once. */
#define SV_BUSY S_IXUSR

/* Classify the failure of `call` (errno set) during an attach: a removal
 * (the key file or set vanished) is SV_GONE, or SYSSEM_ENOENT for
 * SYSSEM_OPEN_EXISTING, which must not recreate; anything else its code. */
static int sv_gone(syssem_mode_t mode, const char *call)
{
  int err = errno;

  if (err != ENOENT && err != EIDRM && err != EINVAL)
    return sv_fail(call);
  if (mode == SYSSEM_OPEN_EXISTING)
    return syssem__note(SYSSEM_ENOENT, call, err);
  return SV_GONE;
}

/* The failure of open(2) on a key file. Creating, ENOENT means that the
 * directory is missing: the key names no usable place. */
static int sv_file_fail(int creating)
{
  int err = errno;

  if (err == ELOOP)
    return syssem__note_text(SYSSEM_EKEY, "open",
                                "key file is a symbolic link");
  if (err == ENOENT && creating)
    return syssem__note_text(SYSSEM_EKEY, "open",
                                "the key file's directory does not exist");
  if (err == EROFS)
    return syssem__note(SYSSEM_EPERM, "open", err);
  return syssem__note(syssem__errno_code(err), "open", err);
}

/* Open the key file at path, making it (with exactly perms) unless mode is
 * SYSSEM_OPEN_EXISTING, and take its lock. The lock is held by every process
 * of ours that creates a set on the file or removes the set or the file, so
 * that no set is made on a file that is about to be unlinked, no file is
 * unlinked while its set is being made, and a busy set's creator is known
 * to be alive: it holds the lock until the set is ready (the kernel drops a
 * dead holder's).
 * absent: the caller has just seen no file at path (never with
 * SYSSEM_OPEN_EXISTING): create it at once, without a first open that would
 * fail. On success *fd is the locked descriptor and *st its file; SV_GONE
 * when the path no longer names the file we locked (start over); or a code. */
static int sv_lock(const char *path, syssem_mode_t mode, unsigned perms,
                   int absent, int *fd, int *made, struct stat *st)
{
  const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  int r, err;

  *made = 0;
  *fd = absent ? -1 : syssem__lock_open(path);
  if (*fd < 0 && (absent || errno == ENOENT) && mode != SYSSEM_OPEN_EXISTING) {
    *fd = open(path, O_RDWR | O_CREAT | O_EXCL | flags, (mode_t)(perms & 0666));
    if (*fd < 0 && errno == EEXIST)
      return SV_GONE; /* another opener made it since: start over */
    if (*fd < 0)
      return sv_file_fail(1);
    *made = 1;
    /* open() applied the umask; the permissions are promised exact. */
    if (fchmod(*fd, (mode_t)(perms & 0666)) != 0) {
      err = errno;
      unlink(path);
      close(*fd);
      return syssem__note(syssem__errno_code(err), "fchmod", err);
    }
  }
  if (*fd < 0)
    return errno == ENOENT ? sv_gone(mode, "open") : sv_file_fail(0);
  r = syssem__lock_take(*fd, path, st);
  if (r == SYSSEM_OK && !S_ISREG(st->st_mode))
    r = syssem__note_text(SYSSEM_EKEY, "open", "key file is not a regular file");
  if (r != SYSSEM_OK) {
    close(*fd);
    /* Moved: the path is someone else's now. */
    return r == SYSSEM__MOVED ? SV_GONE : r;
  }
  return SYSSEM_OK;
}

/* Creating set id failed at `call` (errno set): remove it, unless another
 * process did (EIDRM, EINVAL: start over). */
static int sv_unmake(int id, const char *call)
{
  int err = errno;

  if (err == EIDRM || err == EINVAL)
    return SV_GONE;
  semctl(id, 0, IPC_RMID);
  return syssem__note(syssem__errno_code(err), call, err);
}

/* Under the key file's lock: create the set of key, busy, put its count in
 * place and make it ready. The creator may write while busy, whatever perms
 * says, so that a set it may not write itself (0400) can still be
 * initialised; IPC_SET needs ownership, not permission. */
static int sv_create(int *id, key_t key, unsigned perms, int initial)
{
  /* Count 0 means that nobody has set it: add initial, in one step with
   * the check. A Qt process that opened the set with Create in between has
   * set its own initial with SETVAL; that one stays. Two initialisations
   * overwrite each other and never add up. No SEM_UNDO, or our exit would
   * take the initial count back. */
  struct sembuf init[2] = { { 0, 0, IPC_NOWAIT }, { 0, 0, 0 } };
  struct semid_ds ds;
  union sv_arg arg;

  perms &= 0666;
  SYSSEM__HOOK("sysv-create");
  *id = semget(key, 1, IPC_CREAT | IPC_EXCL | (int)(perms | S_IWUSR | SV_BUSY));
  if (*id < 0) {
    /* EEXIST: a creator that takes no lock of ours (Qt) made it since our
     * semget: start over and attach to it. */
    if (errno == EEXIST)
      return SV_GONE;
    return sv_fail("semget");
  }
  SYSSEM__HOOK("sysv-created");
  init[1].sem_op = (short)initial;
  if (semop(*id, init, 2) != 0 && errno != EAGAIN)
    return sv_unmake(*id, "semop");
  memset(&ds, 0, sizeof ds);
  ds.sem_perm.uid = geteuid();
  ds.sem_perm.gid = getegid();
  ds.sem_perm.mode = (unsigned short)perms;
  arg.buf = &ds;
  if (semctl(*id, 0, IPC_SET, arg) != 0)
    return sv_unmake(*id, "semctl");
  return SYSSEM_OK;
}

/* The set's state: 1 ready, 0 busy, -1 with errno set. */
static int sv_ready(int id, struct semid_ds *ds)
{
  union sv_arg arg;

  arg.buf = ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0)
    return -1;
  return !(ds->sem_perm.mode & SV_BUSY);
}

/* Under the key file's lock, set id is still busy: its creator died between
 * semget and IPC_SET (a live creator holds the lock throughout). Finish its
 * job: the count, unless someone operated on the set already (then a count
 * is in place), and the mode. A process that does not own the set cannot
 * clear the mark; the next opener finishes it again, at the same cost. */
static void sv_finish(int id, struct semid_ds *ds, int initial)
{
  struct sembuf init[2] = { { 0, 0, IPC_NOWAIT }, { 0, 0, 0 } };
  union sv_arg arg;

  if (ds->sem_otime == 0) {
    init[1].sem_op = (short)initial;
    semop(id, init, 2);
  }
  ds->sem_perm.mode &= 0666;
  arg.buf = ds;
  semctl(id, 0, IPC_SET, arg);
}

/* Remove set id (-1: the set the key file names) and, when unlink_file, the
 * key file if it names that set or none. Under the file's lock: a waiter
 * woken by the removal (EIDRM) reopens by key and waits for the lock, then
 * finds the file gone and makes a new one that every later opener finds;
 * and a handle whose set was removed and replaced by another process's
 * never unlinks the file the new set hangs on. Without the file (gone, or
 * not ours to open) only the set goes. SYSSEM_OK, SYSSEM_ENOENT (no set),
 * or a code. */
static int sv_destroy(const char *path, int proj_id, int id, int unlink_file)
{
  struct stat st;
  key_t key;
  int fd = -1, made, cur = -1, tries, r = SV_GONE;

  for (tries = 0; r == SV_GONE && tries < SYSSEM__REOPEN_MAX; tries++)
    r = sv_lock(path, SYSSEM_OPEN_EXISTING, 0, 0, &fd, &made, &st);
  if (r != SYSSEM_OK) {
    fd = -1;
    if (id < 0)
      return r == SV_GONE ? syssem__note(SYSSEM_ENOENT, "open", ENOENT) : r;
  } else if (syssem__ftok(path, &st, proj_id, &key) == 0) {
    cur = semget(key, 1, 0);
  }
  if (id < 0 && cur < 0)
    r = errno == ENOSYS ? sv_fail("semget")
                        : syssem__note(SYSSEM_ENOENT, "semget", ENOENT);
  else if (semctl(id < 0 ? cur : id, 0, IPC_RMID) != 0)
    /* EIDRM/EINVAL: removed since (by a process that takes no lock). */
    r = syssem__note(errno == EIDRM || errno == EINVAL
                            ? SYSSEM_ENOENT
                            : syssem__errno_code(errno),
                        "semctl", errno);
  else
    r = SYSSEM_OK;
  SYSSEM__HOOK("sysv-removed");
  if (fd >= 0 && unlink_file && (cur < 0 || r == SYSSEM_OK) &&
      (id < 0 || cur < 0 || cur == id))
    unlink(path);
  if (fd >= 0)
    close(fd);
  return r;
}

/* The slow half of an attach, under the key file's lock: make the file or
 * the set that is missing, or wait for a busy set's creator. absent: as for
 * sv_lock. */
static int sv_make(struct sv_sem *s, syssem_mode_t mode, int initial,
                   int absent, int *id, int *created, int *file_made)
{
  struct semid_ds ds;
  struct stat st;
  key_t key;
  int fd, r;

  r = sv_lock(s->base.native, mode, s->base.perms, absent, &fd, file_made,
              &st);
  if (r != SYSSEM_OK)
    return r;
  if (syssem__ftok(s->base.native, &st, s->base.proj_id, &key) != 0) {
    r = syssem__note(syssem__errno_code(errno), "ftok", errno);
    goto cleanup;
  }
  /* A file we have just made names no set of ours: create at once. A set
   * left with the same key (a removed file whose inode came back) makes
   * sv_create start over, and the next attempt attaches to it. */
  *id = *file_made ? -1 : semget(key, 1, 0);
  if (*id >= 0) {
    if (mode == SYSSEM_CREATE_NEW) {
      r = syssem__note(SYSSEM_EEXIST, "semget", EEXIST);
    } else {
      r = sv_ready(*id, &ds);
      if (r == 0)
        sv_finish(*id, &ds, initial);
      r = r < 0 ? sv_gone(mode, "semctl") : SYSSEM_OK;
    }
  } else if (!*file_made && (errno != ENOENT || mode == SYSSEM_OPEN_EXISTING)) {
    r = sv_gone(mode, "semget");
  } else {
    r = sv_create(id, key, s->base.perms, initial);
    *created = r == SYSSEM_OK;
  }

cleanup:
  /* A file we made that names no set is litter: sweep it while no creator
   * can be making a set on it. A loser of a creation race leaves the file,
   * which the winner's set hangs on. Without System V IPC (ENOSYS) no set
   * can hang on it. */
  if (r != SYSSEM_OK && *file_made && semget(key, 1, 0) < 0 &&
      (errno == ENOENT || errno == ENOSYS)) {
    unlink(s->base.native);
    *file_made = 0;
  }
  close(fd);
  return r;
}

/* One attempt of sv_attach(): SYSSEM_OK, a code, or SV_GONE. The usual case,
 * a key file whose set is ready, takes no lock: lstat, semget, IPC_STAT. */
static int sv_attach_once(struct sv_sem *s, syssem_mode_t mode, int initial,
                          int *id, int *created, int *file_made)
{
  struct semid_ds ds;
  struct stat st;
  key_t key;
  int r;

  *file_made = 0;
  if (mode == SYSSEM_CREATE_NEW)
    return sv_make(s, mode, initial, 0, id, created, file_made);
  if (lstat(s->base.native, &st) != 0)
    return errno == ENOENT && mode != SYSSEM_OPEN_EXISTING
               ? sv_make(s, mode, initial, 1, id, created, file_made)
               : sv_gone(mode, "lstat");
  if (!S_ISREG(st.st_mode))
    return syssem__note_text(SYSSEM_EKEY, "lstat",
                                "key file is not a regular file");
  if (syssem__ftok(s->base.native, &st, s->base.proj_id, &key) != 0)
    return sv_gone(mode, "ftok");
  *id = semget(key, 1, 0);
  if (*id < 0)
    return errno == ENOENT && mode != SYSSEM_OPEN_EXISTING
               ? sv_make(s, mode, initial, 0, id, created, file_made)
               : sv_gone(mode, "semget");
  r = sv_ready(*id, &ds);
  if (r < 0)
    return sv_gone(mode, "semctl");
  /* Busy: its creator holds the key file's lock until it is ready. */
  return r ? SYSSEM_OK : sv_make(s, mode, initial, 0, id, created, file_made);
}

/* Attach to or create the set per mode; on success store its id and whether
 * this call created the set and the key file. Any step may find the file or
 * set removed by another process: start over, a bounded number of times.
 * Leaves nothing behind on failure. Used by open and by the reopen after a
 * removal underneath. */
static int sv_attach(struct sv_sem *s, syssem_mode_t mode, int initial,
                     int *id, int *created, int *file_made)
{
  union sv_arg arg;
  int tries, r = SV_GONE;

  *created = 0;
  arg.val = initial;
  for (tries = 0; r == SV_GONE && tries < SYSSEM__REOPEN_MAX; tries++) {
    r = sv_attach_once(s, mode, initial, id, created, file_made);
    /* SYSSEM_CREATE on a set that was there: reset it, in one step. */
    if (r == SYSSEM_OK && mode == SYSSEM_CREATE && !*created) {
      SYSSEM__HOOK("sysv-reset");
      if (semctl(*id, 0, SETVAL, arg) != 0)
        r = sv_gone(mode, "semctl");
    }
  }
  if (r == SV_GONE)
    r = syssem__note_text(SYSSEM_ENOENT, "semget",
                             "removed while opening, again and again");
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
      sv_destroy(base->native, base->proj_id, id, file_made);
    return syssem__note(SYSSEM_ENOSPC, "pthread_mutex_init", r);
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
                                 const struct sembuf *op, int *reopens)
{
  int err = errno, nid, created, file_made, r = SYSSEM_OK;

  if (err == EINTR)
    return SYSSEM_OK;
  if (err == EAGAIN)
    return SYSSEM_ETIMEDOUT;
  /* The count is capped at SV_MAX, and so is, both ways, what SEM_UNDO
   * keeps per process to undo at its exit: a take can only pass the
   * latter. */
  if (err == ERANGE)
    return syssem__note_text(
        SYSSEM_EOVERFLOW, call,
        op != NULL && op->sem_op < 0
            ? "this process has taken 32767 tokens more than it gave back, "
              "the most SEM_UNDO can undo (open with SYSSEM_NO_UNDO)"
            : "the count, or what this process has given back beyond what "
              "it took (SEM_UNDO's bound), would pass 32767");
  if (err != EIDRM && err != EINVAL)
    return sv_fail(call);
  /* The BSDs and macOS also say EINVAL when this process holds SEM_UNDO
   * adjustments on as many semaphores as it may (10 on macOS, OpenBSD and
   * NetBSD, 50 on FreeBSD): a set that still answers was not removed, and
   * reopening it would not help. Linux has no such bound. */
  if (err == EINVAL && semctl(id, 0, GETVAL) >= 0)
    return syssem__note_text(SYSSEM_ENOSPC, call,
                             "this process's SEM_UNDO entries are exhausted "
                             "(the system's per-process bound)");
  if (++*reopens > SYSSEM__REOPEN_MAX)
    return syssem__note(SYSSEM_ENOENT, call, err);
  /* Several threads may see the same removal: the first reopens, the others
   * find the id already replaced and just retry. */
  pthread_mutex_lock(&s->lock);
  if (atomic_load_explicit(&s->id, memory_order_relaxed) == id) {
    r = sv_attach(s, SYSSEM_OPEN, s->base.initial, &nid, &created, &file_made);
    if (r == SYSSEM_OK) {
      atomic_store_explicit(&s->id, nid, memory_order_relaxed);
      s->base.created = created;
      s->base.owner = created;
      if (created)
        s->base.pid = syssem__getpid();
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
    r = sv_retry(s, id, "semop", op, &reopens);
    if (r < 0)
      return syssem__record(fn, r);
    id = atomic_load_explicit(&s->id, memory_order_relaxed);
    if (semop(id, op, 1) == 0)
      return SYSSEM_OK;
  }
}

/* The first try of *op failed (errno set). The hot path keeps nothing but
 * the handle across its semop, so the id it used is not known here; only a
 * removal underneath needs it, to tell whether another thread has reopened
 * the set since. So after a removal try the current id once more: if that
 * fails with a removal too, its id is the one removed. */
static SYSSEM__COLD int sv_first_failed(struct sv_sem *s, struct sembuf *op,
                                        const char *fn)
{
  int id = atomic_load_explicit(&s->id, memory_order_relaxed);

  if ((errno == EIDRM || errno == EINVAL) && semop(id, op, 1) == 0)
    return SYSSEM_OK;
  return sv_again(s, op, id, fn);
}

static SYSSEM__COLD int sv_acquire_failed(struct sv_sem *s)
{
  return sv_first_failed(s, &s->down, "syssem_acquire");
}

static SYSSEM__COLD int sv_try_now_failed(struct sv_sem *s)
{
  return sv_first_failed(s, &s->poll, "syssem_try_acquire");
}

/* The hot paths: one semop of op, and only the handle kept across it (a
 * register to save and restore); its failure out of line. The call's 0 is
 * SYSSEM_OK, returned as it is (SYSSEM__OPAQUE). */
static inline int sv_hot(struct sv_sem *s, struct sembuf *op,
                         int (*failed)(struct sv_sem *s))
{
  int r = semop(atomic_load_explicit(&s->id, memory_order_relaxed), op, 1);

  if (r != 0)
    return failed(s);
  SYSSEM__OPAQUE(r);
  return r;
}

static SYSSEM__HOT int sv_acquire(syssem_t *base)
{
  struct sv_sem *s = (struct sv_sem *)base;

  return sv_hot(s, &s->down, sv_acquire_failed);
}

static SYSSEM__HOT int sv_try_now(syssem_t *base)
{
  struct sv_sem *s = (struct sv_sem *)base;

  return sv_hot(s, &s->poll, sv_try_now_failed);
}

/* What a release may add. */
#if SYSSEM__APPLE
/* xnu adds past SEMVMX without a word (the count, an unsigned short, wraps
 * at 65536), so every release reads and checks the count first: racy, as
 * releasers at once may pass 32767 together, but it catches the usual case.
 * No release_one of our own then: the front end sends release(1) to
 * sv_release. */
static int sv_over(struct sv_sem *s, int n)
{
  int v = semctl(atomic_load_explicit(&s->id, memory_order_relaxed), 0, GETVAL);

  return n > SV_MAX || (v >= 0 && v > SV_MAX - n);
}
# define SV_RELEASE_ONE NULL
#else
/* The kernel refuses a count past SEMVMX itself (ERANGE, sv_retry): only an
 * n that no count can take is refused here, as sem_op is a short. */
static int sv_over(struct sv_sem *s, int n)
{
  (void)s;
  return n > SV_MAX;
}

static SYSSEM__COLD int sv_release_one_failed(struct sv_sem *s)
{
  return sv_first_failed(s, &s->up, "syssem_release");
}

static SYSSEM__HOT int sv_release_one(syssem_t *base)
{
  struct sv_sem *s = (struct sv_sem *)base;

  return sv_hot(s, &s->up, sv_release_one_failed);
}
# define SV_RELEASE_ONE sv_release_one
#endif

#if defined(SYSSEM__HAVE_SEMTIMEDOP)
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
    r = sv_retry(s, id, "semtimedop", &s->down, &reopens);
    if (r < 0)
      return syssem__record("syssem_try_acquire", r);
  }
}
#else
/* No semtimedop (macOS, FreeBSD, OpenBSD): poll, a semop that never
 * blocks between naps (syssem__nap), until the deadline. The undo
 * accounting is the blocking take's. A poller wakes up to a nap late and
 * loses a token to a waiter blocked in the kernel (docs/portability.md). */
static int sv_timedwait(struct sv_sem *s, long timeout_ms)
{
  struct timespec end;
  long step = 0;
  int id, reopens = 0, r;

  syssem__deadline(&end, timeout_ms);
  for (;;) {
    id = atomic_load_explicit(&s->id, memory_order_relaxed);
    if (semop(id, &s->poll, 1) == 0)
      return SYSSEM_OK;
    r = sv_retry(s, id, "semop", &s->poll, &reopens);
    if (r == SYSSEM_ETIMEDOUT)
      r = syssem__nap(&end, &step) ? SYSSEM_OK : SYSSEM_ETIMEDOUT;
    if (r < 0)
      return syssem__record("syssem_try_acquire", r);
  }
}
#endif

static int sv_try_acquire(syssem_t *base, long timeout_ms)
{
  return timeout_ms == 0 ? sv_try_now(base)
                         : sv_timedwait((struct sv_sem *)base, timeout_ms);
}

static int sv_release(syssem_t *base, int n)
{
  struct sv_sem *s = (struct sv_sem *)base;
  struct sembuf op;
  int id;

  if (sv_over(s, n))
    return syssem__record("syssem_release",
                          syssem__note_text(SYSSEM_EOVERFLOW, "semop",
                                            "the count would pass 32767"));
  op = s->up;
  op.sem_op = (short)n;
  id = atomic_load_explicit(&s->id, memory_order_relaxed);
  if (semop(id, &op, 1) == 0)
    return SYSSEM_OK;
  return sv_again(s, &op, id, "syssem_release");
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
    r = sv_retry(s, id, "semctl", NULL, &reopens);
    if (r < 0)
      return r;
  }
}

static void sv_close(syssem_t *base, int remove)
{
  struct sv_sem *s = (struct sv_sem *)base;

  if (remove)
    sv_destroy(base->native, base->proj_id,
               atomic_load_explicit(&s->id, memory_order_relaxed),
               s->file_owned);
  pthread_mutex_destroy(&s->lock);
}

static int sv_remove(const char *path, int legacy, int proj_id)
{
  return sv_destroy(path, proj_id, -1, legacy);
}

const syssem__backend_t syssem__sysv = {
  .id = SYSSEM_BACKEND_SYSV,
  .name = "sysv",
  .handle_size = sizeof(struct sv_sem),
  .max_value = SV_MAX,
  .native_name = sv_native_name,
  .open = sv_open,
  .close = sv_close,
  .acquire = sv_acquire,
  .try_acquire = sv_try_acquire,
  .release = sv_release,
  .try_now = sv_try_now,
  .release_one = SV_RELEASE_ONE,
  .value = sv_value,
  .remove = sv_remove,
};
