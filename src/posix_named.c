/*
 * POSIX named-semaphore backend: sem_open / sem_wait / sem_post.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* sem_clockwait */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "syssem_int.h"

/* The largest count. Apple's SEM_VALUE_MAX is 32767, though its sem_post
 * never refuses to pass it (px_full); a build that takes Apple's rules on
 * Linux takes that too. The API counts in int: NetBSD's is ~0U. */
#if SYSSEM__APPLE
# define PX_MAX 32767
#elif SEM_VALUE_MAX > INT_MAX
# define PX_MAX INT_MAX
#else
# define PX_MAX SEM_VALUE_MAX
#endif

/* What a handle knows of the file behind its name (where the C library
 * keeps semaphores as files): which object close may unlink. */
enum px_name {
  PX_UNCHECKED, /* no file to check: close unlinks by name              */
  PX_MINE,      /* the file dev/ino is this handle's object             */
  PX_LOST       /* the name was another object's by the time we looked  */
};

struct px_sem {
  struct syssem base;
  sem_t *sem;
  enum px_name name;
  dev_t dev;
  ino_t ino;
};

static SYSSEM__COLD int px_fail(const char *call)
{
  return syssem__note(syssem__errno_code(errno), call, errno);
}

/* A name longer than the C library takes: a key error that says the limit. */
static SYSSEM__COLD int px_too_long(void)
{
  char why[96];

  snprintf(why, sizeof why,
           "the name is longer than the %u bytes after the slash that POSIX "
           "names may have here", (unsigned)syssem__px_name_max);
  return syssem__note_text(SYSSEM_EKEY, "sem_open", why);
}

#if SYSSEM__APPLE
/* Qt 6.4 and later on Apple systems, whose names hold 30 bytes: a slash and
 * the first 29 hex digits of the key's SHA-1, the digits that end the stem
 * (docs/keys.md). */
static int px_legacy_name(const char *stem, char *buf)
{
  const size_t digits = 29;

  buf[0] = '/';
  memcpy(buf + 1, stem + strlen(stem) - 40, digits);
  buf[1 + digits] = '\0';
  return SYSSEM_OK;
}
#else
/* Elsewhere the stem with a slash, as Qt names it. */
static int px_legacy_name(const char *stem, char *buf)
{
  if (strlen(stem) > syssem__px_name_max)
    return px_too_long();
  return syssem__native_put(buf, "/", stem, "");
}
#endif

static int px_native_name(const syssem__name_t *n, char *buf)
{
  const char *t = n->text;
  size_t len = strlen(t);

  if (n->legacy)
    return px_legacy_name(t, buf);
  if (t[0] != '/' || len < 2 || strchr(t + 1, '/') != NULL ||
      strcmp(t, "/.") == 0 || strcmp(t, "/..") == 0)
    return SYSSEM_EKEY;
  if (len > syssem__px_name_max + 1)
    return px_too_long();
  return syssem__native_put(buf, t, "", "");
}

/* Opening and closing a name. A process that opens one name twice gets,
 * from glibc, musl and FreeBSD, one mapping counted twice, and from macOS,
 * NetBSD and OpenBSD two objects of its own; either way each sem_close ends
 * one open. illumos and Cygwin hand back the first open's sem_t without
 * counting, and their first sem_close frees it for both (illumos unmaps it,
 * Cygwin deletes it): there the library counts the opens of each sem_t of
 * the process itself, and closes it with the last (docs/portability.md).
 * The test suite builds this counting on Linux too, against a C library
 * made to behave so (tests/shim). */
#if defined(__sun) || defined(__CYGWIN__)
# define SYSSEM__PX_SHARED_MAPPINGS 1
#endif

#if defined(SYSSEM__PX_SHARED_MAPPINGS)
static pthread_mutex_t px_opens_lock = PTHREAD_MUTEX_INITIALIZER;
static struct px_opened {
  sem_t *sem;
  unsigned long n;
} *px_opened;
static size_t px_nopened, px_capopened;

/* The table under px_opens_lock: the open of sem counted, or a new entry
 * for it. 0, or -1 without memory for one. */
static int px_count_open(sem_t *sem)
{
  struct px_opened *bigger;
  size_t i;

  for (i = 0; i < px_nopened; i++)
    if (px_opened[i].sem == sem) {
      px_opened[i].n++;
      return 0;
    }
  if (px_nopened == px_capopened) {
    bigger = realloc(px_opened, (px_capopened ? 2 * px_capopened : 8) *
                                    sizeof *px_opened);
    if (bigger == NULL)
      return -1;
    px_opened = bigger;
    px_capopened = px_capopened ? 2 * px_capopened : 8;
  }
  px_opened[px_nopened].sem = sem;
  px_opened[px_nopened].n = 1;
  px_nopened++;
  return 0;
}

/* The open and its count in one step: no close of the same sem_t by
 * another thread may come between the C library's handing it out and our
 * counting it. (A fork() meanwhile leaves the child the lock held.) */
static sem_t *px_sem_open(const char *name, int oflag, mode_t perms,
                          unsigned value)
{
  sem_t *sem;

  pthread_mutex_lock(&px_opens_lock);
  sem = oflag & O_CREAT ? sem_open(name, oflag, perms, value)
                        : sem_open(name, oflag);
  if (sem != SEM_FAILED && px_count_open(sem) != 0) {
    /* Not counted, so not shared either: ours alone to close. */
    sem_close(sem);
    sem = SEM_FAILED;
    errno = ENOMEM;
  }
  pthread_mutex_unlock(&px_opens_lock);
  return sem;
}

static void px_sem_close(sem_t *sem)
{
  size_t i;

  pthread_mutex_lock(&px_opens_lock);
  for (i = 0; i < px_nopened && px_opened[i].sem != sem; i++)
    ;
  if (i < px_nopened && --px_opened[i].n == 0) {
    px_opened[i] = px_opened[--px_nopened];
    sem_close(sem);
  }
  pthread_mutex_unlock(&px_opens_lock);
}
#else
static sem_t *px_sem_open(const char *name, int oflag, mode_t perms,
                          unsigned value)
{
  return oflag & O_CREAT ? sem_open(name, oflag, perms, value)
                         : sem_open(name, oflag);
}

static void px_sem_close(sem_t *sem)
{
  sem_close(sem);
}
#endif

/* Open the file at path and take its lock. Every process of ours that
 * resets the count of a POSIX semaphore or unlinks its name holds the lock
 * of the object's file meanwhile: two resets never interleave, and an
 * unlink removes the object it checked, because the C library creates a
 * name with link(), which never replaces a file. SYSSEM_OK with *fd locked
 * and *st its file, SYSSEM_ENOENT when the path is gone or names another
 * file by the time we hold the lock, or a code. */
static int px_lock(const char *path, int *fd, struct stat *st)
{
  int r;

  *fd = syssem__lock_open(path);
  if (*fd < 0)
    return px_fail("open");
  r = syssem__lock_take(*fd, path, st);
  if (r != SYSSEM_OK) {
    close(*fd);
    return r == SYSSEM__MOVED ? syssem__note(SYSSEM_ENOENT, "open", ENOENT) : r;
  }
  return SYSSEM_OK;
}

#if SYSSEM__APPLE
/* Bring an existing semaphore's count to initial in place, so that every
 * process keeps using the one object (Qt unlinks and recreates instead,
 * splitting old and new users). macOS cannot read a count (sem_getvalue is
 * a stub): take every token there is, then give initial back. Meanwhile
 * takers wait; what others give back meanwhile adds to initial; and as
 * macOS keeps no file to lock, two resets at once may both give initial
 * back (docs/portability.md). */
static int px_set(sem_t *sem, int initial)
{
  SYSSEM__HOOK("posix-reset");
  while (sem_trywait(sem) == 0 || errno == EINTR)
    ;
  if (errno != EAGAIN)
    return px_fail("sem_trywait");
  for (; initial > 0; initial--)
    if (sem_post(sem) != 0)
      return px_fail("sem_post");
  return SYSSEM_OK;
}
#else
/* Bring an existing semaphore's count to initial in place, so that every
 * process keeps using the one object (Qt unlinks and recreates instead,
 * splitting old and new users). Concurrent acquires and releases may move
 * the count while we do; we move it by the difference we saw. */
static int px_set(sem_t *sem, int initial)
{
  int v;

  if (sem_getvalue(sem, &v) != 0)
    return px_fail("sem_getvalue");
  SYSSEM__HOOK("posix-reset");
  for (; v > initial; v--)
    if (sem_trywait(sem) != 0 && errno != EINTR)
      break; /* EAGAIN: others took the rest */
  for (; v < initial; v++)
    if (sem_post(sem) != 0)
      return px_fail("sem_post");
  return SYSSEM_OK;
}
#endif

/* An owner (creator, or opener with SYSSEM_CREATE) learns which file is its
 * object, under the file's lock, and there sets the exact permissions (a
 * creator: sem_open applied the umask) or resets the count (reset >= 0).
 *
 * Proof that the file is the object we mapped: a second sem_open of the
 * name gives our sem_t back only if the name still leads to our object.
 * glibc and musl find a mapping they made by the file's inode (and
 * device), FreeBSD by the name and then the file's device and inode,
 * illumos by the name and inode, Cygwin by the name and an id its creator
 * wrote into the file; each opens the path anew to tell. The file we lock
 * is opened before that second sem_open and checked to be the path's file
 * still once locked: a name is linked to a file once (the C libraries
 * create with link() or O_EXCL), so the path that named it before and after
 * named no other file between, and the file is the one the proof was about.
 * The second sem_open runs, and is closed, before we take the lock: FreeBSD
 * locks the file itself in sem_open (O_EXLOCK), Cygwin in sem_close, and
 * either would wait for ours for ever. */
static int px_own(struct px_sem *s, int created, int reset)
{
  const char *name = s->base.native;
  char path[PATH_MAX];
  struct stat st;
  sem_t *again;
  int fd, r, same = -1;

  s->name = PX_UNCHECKED;
  if (syssem__px_path(name, path, sizeof path) != SYSSEM_OK)
    return reset >= 0 ? px_set(s->sem, reset) : SYSSEM_OK;
  fd = syssem__lock_open(path);
  if (fd < 0 && errno != ENOENT)
    return px_fail("open");
  /* Without a descriptor or memory for the second sem_open, the name
   * stays unchecked: close then unlinks by name, as on systems without
   * files. */
  again = fd < 0 ? SEM_FAILED : px_sem_open(name, 0, 0, 0);
  if (again != SEM_FAILED) {
    same = again == s->sem;
    px_sem_close(again);
  }
  r = fd < 0 ? SYSSEM__MOVED : syssem__lock_take(fd, path, &st);
  if (r == SYSSEM__MOVED) {
    /* Unlinked since our sem_open: the object is ours alone, the name
     * someone else's. */
    if (fd >= 0)
      close(fd);
    s->name = PX_LOST;
    return reset >= 0 ? px_set(s->sem, reset) : SYSSEM_OK;
  }
  if (r < 0) {
    close(fd);
    return r;
  }
  if (same >= 0) {
    s->name = same ? PX_MINE : PX_LOST;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
  }
  if (created && s->name != PX_LOST && fchmod(fd, (mode_t)s->base.perms) != 0)
    r = px_fail("fchmod");
  if (r == SYSSEM_OK && reset >= 0)
    r = px_set(s->sem, reset);
  close(fd);
  return r;
}

/* Unlink the name of s's object if it still is its name. The check and the
 * unlink happen under the file's lock, before our mapping goes (it keeps
 * the inode, so its number cannot be another file's yet). */
static void px_unlink(struct px_sem *s)
{
  char path[PATH_MAX];
  struct stat st;
  int fd;

  if (s->name == PX_UNCHECKED) {
    sem_unlink(s->base.native);
    return;
  }
  if (s->name == PX_LOST ||
      syssem__px_path(s->base.native, path, sizeof path) != SYSSEM_OK ||
      px_lock(path, &fd, &st) != SYSSEM_OK)
    return;
  SYSSEM__HOOK("posix-unlink");
  if (st.st_dev == s->dev && st.st_ino == s->ino)
    sem_unlink(s->base.native);
  close(fd);
}

static int px_open(syssem_t *base, syssem_mode_t mode, int initial)
{
  struct px_sem *s = (struct px_sem *)base;
  const char *name = base->native;
  mode_t perms = (mode_t)base->perms;
  sem_t *sem = SEM_FAILED;
  int created = 0, tries, r = SYSSEM_OK;

  /* Attach first: an exclusive sem_open of a name that exists costs glibc
   * a whole temporary file (create, write, mmap, link, unlink) before it
   * fails. Between the two calls another process may create or unlink the
   * object: go round again, a bounded number of times. */
  for (tries = 0; tries < SYSSEM__REOPEN_MAX; tries++) {
    if (mode != SYSSEM_CREATE_NEW) {
      sem = px_sem_open(name, 0, 0, 0);
      if (sem != SEM_FAILED)
        break;
      if (errno != ENOENT || mode == SYSSEM_OPEN_EXISTING) {
        r = px_fail("sem_open");
        goto cleanup;
      }
    }
    sem = px_sem_open(name, O_CREAT | O_EXCL, perms, (unsigned)initial);
    if (sem != SEM_FAILED) {
      created = 1;
      break;
    }
    if (errno != EEXIST || mode == SYSSEM_CREATE_NEW) {
      r = px_fail("sem_open");
      goto cleanup;
    }
  }
  if (sem == SEM_FAILED) {
    r = syssem__note_text(SYSSEM_ENOENT, "sem_open",
                             "removed while opening, again and again");
    goto cleanup;
  }
  s->sem = sem;
  if (created || mode == SYSSEM_CREATE)
    r = px_own(s, created, created ? -1 : initial);

cleanup:
  if (r < 0 && sem != SEM_FAILED) {
    if (created)
      px_unlink(s);
    px_sem_close(sem);
  }
  if (r == SYSSEM_OK) {
    base->created = created;
    base->owner = created || mode == SYSSEM_CREATE;
  }
  return r;
}

static void px_close(syssem_t *base, int remove)
{
  struct px_sem *s = (struct px_sem *)base;

  if (remove)
    px_unlink(s);
  px_sem_close(s->sem);
}

/* sem_wait failed: go on waiting after EINTR, else fail. */
static SYSSEM__COLD int px_wait_again(sem_t *sem)
{
  do {
    if (errno != EINTR)
      return syssem__record("syssem_acquire", px_fail("sem_wait"));
  } while (sem_wait(sem) != 0);
  return SYSSEM_OK;
}

/* The hot paths: the C library's call on the handle's sem_t, and its
 * failure out of line. The call's 0 is SYSSEM_OK, returned as it is
 * (SYSSEM__OPAQUE). */
static inline int px_hot(syssem_t *s, int (*call)(sem_t *sem),
                         int (*failed)(sem_t *sem))
{
  sem_t *sem = ((struct px_sem *)s)->sem;
  int r = call(sem);

  if (r != 0)
    return failed(sem);
  SYSSEM__OPAQUE(r);
  return r;
}

static SYSSEM__HOT int px_acquire(syssem_t *s)
{
  return px_hot(s, sem_wait, px_wait_again);
}

/* The timed wait the build found (meson.build), best first. Each takes
 * the monotonic deadline end, returns 0 with a token or -1 with errno
 * (ETIMEDOUT at the deadline), and may be called again after EINTR. */
#if defined(SYSSEM__PX_WAIT_CLOCKWAIT)
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  return sem_clockwait(sem, CLOCK_MONOTONIC, end);
}
#define PX_WAIT_CALL "sem_clockwait"
#elif defined(SYSSEM__PX_WAIT_CLOCKWAIT_NP)
/* FreeBSD's form of the same. */
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  return sem_clockwait_np(sem, CLOCK_MONOTONIC, TIMER_ABSTIME, end, NULL);
}
#define PX_WAIT_CALL "sem_clockwait_np"
#elif defined(SYSSEM__PX_WAIT_RELTIMEDWAIT_NP)
/* illumos: a relative wait, which no clock step moves. */
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  struct timespec left;

  syssem__left(end, &left);
  return sem_reltimedwait_np(sem, &left);
}
#define PX_WAIT_CALL "sem_reltimedwait_np"
#elif defined(SYSSEM__PX_WAIT_TIMEDWAIT)
/* Without sem_clockwait the only deadline is on CLOCK_REALTIME: a clock
 * step during the wait lengthens or shortens it (docs/semantics.md). */
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  struct timespec left, abs;

  syssem__left(end, &left);
  clock_gettime(CLOCK_REALTIME, &abs);
  abs.tv_sec += left.tv_sec;
  abs.tv_nsec += left.tv_nsec;
  if (abs.tv_nsec >= 1000000000L) {
    abs.tv_sec++;
    abs.tv_nsec -= 1000000000L;
  }
  return sem_timedwait(sem, &abs);
}
#define PX_WAIT_CALL "sem_timedwait"
#else
/* No timed wait at all (macOS): poll, sem_trywait between naps
 * (syssem__nap), until the deadline. A poller wakes up to a nap late and
 * loses a token to a waiter blocked in sem_wait (docs/portability.md). */
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  long step = 0;

  while (sem_trywait(sem) != 0) {
    if (errno != EAGAIN && errno != EINTR)
      return -1;
    if (errno == EAGAIN && !syssem__nap(end, &step)) {
      errno = ETIMEDOUT;
      return -1;
    }
  }
  return 0;
}
#define PX_WAIT_CALL "sem_trywait"
#endif

/* try_acquire's every path but a token at the first sem_trywait. */
static SYSSEM__COLD int px_try_slow(sem_t *sem, long timeout_ms)
{
  struct timespec end;

  if (timeout_ms == 0) {
    do {
      if (errno == EAGAIN)
        return SYSSEM_ETIMEDOUT;
      if (errno != EINTR)
        return px_fail("sem_trywait");
    } while (sem_trywait(sem) != 0);
    return SYSSEM_OK;
  }
  syssem__deadline(&end, timeout_ms);
  while (px_timedwait(sem, &end) != 0) {
    if (errno == ETIMEDOUT)
      return SYSSEM_ETIMEDOUT;
    if (errno != EINTR)
      return px_fail(PX_WAIT_CALL);
  }
  return SYSSEM_OK;
}

static SYSSEM__COLD int px_try_now_failed(sem_t *sem)
{
  return syssem__record("syssem_try_acquire", px_try_slow(sem, 0));
}

static SYSSEM__HOT int px_try_now(syssem_t *s)
{
  return px_hot(s, sem_trywait, px_try_now_failed);
}

static int px_try_acquire(syssem_t *s, long timeout_ms)
{
  if (timeout_ms == 0)
    return px_try_now(s);
  return syssem__record("syssem_try_acquire",
                        px_try_slow(((struct px_sem *)s)->sem, timeout_ms));
}

#if SYSSEM__APPLE
/* macOS cannot read the count, and its sem_post never says a maximum was
 * passed: nothing to check before. */
static int px_full(sem_t *sem, int n)
{
  (void)sem;
  return n > PX_MAX;
}
#else
static int px_full(sem_t *sem, int n)
{
  int v;

  return sem_getvalue(sem, &v) == 0 && v > PX_MAX - n;
}
#endif

/* release's every path but one successful sem_post. */
static SYSSEM__COLD int px_release_slow(sem_t *sem, int n)
{
  int i, r;

  if (n == 1)
    return px_fail("sem_post");
  /* n posts are not atomic: refuse what would overflow, and take back the
   * posts already made if one still fails (a racing releaser, or a maximum
   * that could not be seen first). */
  if (px_full(sem, n))
    return syssem__note(SYSSEM_EOVERFLOW, "sem_post", EOVERFLOW);
  for (i = 0; i < n; i++) {
    if (sem_post(sem) != 0) {
      r = px_fail("sem_post");
      while (i-- > 0 && sem_trywait(sem) == 0)
        ;
      return r;
    }
  }
  return SYSSEM_OK;
}

static SYSSEM__COLD int px_release_one_failed(sem_t *sem)
{
  return syssem__record("syssem_release", px_release_slow(sem, 1));
}

static SYSSEM__HOT int px_release_one(syssem_t *s)
{
  return px_hot(s, sem_post, px_release_one_failed);
}

static int px_release(syssem_t *s, int n)
{
  if (n == 1)
    return px_release_one(s);
  return syssem__record("syssem_release",
                        px_release_slow(((struct px_sem *)s)->sem, n));
}

#if SYSSEM__APPLE
/* macOS's sem_getvalue is a stub that always fails: say so plainly. */
static int px_value(syssem_t *s, int *value)
{
  (void)s;
  (void)value;
  return syssem__note_text(SYSSEM_ENOSYS, "sem_getvalue",
                           "macOS cannot read the count of a POSIX semaphore");
}
#else
static int px_value(syssem_t *s, int *value)
{
  int v;

  if (sem_getvalue(((struct px_sem *)s)->sem, &v) != 0)
    return px_fail("sem_getvalue");
  /* Some systems report waiters as a negative count. */
  *value = v < 0 ? 0 : v;
  return SYSSEM_OK;
}
#endif

/* The count as the C library reads it, whatever rules this build takes:
 * the test suite's view of a build with Apple's rules on Linux
 * (-Demulate=darwin), whose syssem_value says SYSSEM_ENOSYS as on a Mac
 * while Linux's sem_getvalue can still tell. On Apple systems themselves
 * nothing can. */
#if defined(__APPLE__)
int syssem__px_count(syssem_t *s, int *value)
{
  (void)s;
  (void)value;
  return SYSSEM_ENOSYS;
}
#else
int syssem__px_count(syssem_t *s, int *value)
{
  if (s->be != &syssem__posix)
    return SYSSEM_EINVAL;
  return sem_getvalue(((struct px_sem *)s)->sem, value) == 0
             ? SYSSEM_OK
             : px_fail("sem_getvalue");
}
#endif

/* Under the file's lock where there is one, so that the unlink removes the
 * object the path named when we took it. */
static int px_remove(const char *name, int legacy, int proj_id)
{
  char path[PATH_MAX];
  struct stat st;
  int fd = -1, r;

  (void)legacy;
  (void)proj_id;
  if (syssem__px_path(name, path, sizeof path) == SYSSEM_OK) {
    r = px_lock(path, &fd, &st);
    if (r < 0)
      return r;
  }
  r = sem_unlink(name) == 0 ? SYSSEM_OK : px_fail("sem_unlink");
  if (fd >= 0)
    close(fd);
  return r;
}

const syssem__backend_t syssem__posix = {
  .id = SYSSEM_BACKEND_POSIX,
  .name = "posix",
  .handle_size = sizeof(struct px_sem),
  .max_value = PX_MAX,
  .native_name = px_native_name,
  .open = px_open,
  .close = px_close,
  .acquire = px_acquire,
  .try_acquire = px_try_acquire,
  .release = px_release,
  .try_now = px_try_now,
  .release_one = px_release_one,
  .value = px_value,
  .remove = px_remove,
};
