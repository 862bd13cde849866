/*
 * POSIX named-semaphore backend: sem_open / sem_wait / sem_post.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* sem_clockwait */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "syssem_int.h"

/* glibc's longest name after the slash: NAME_MAX less its "sem." prefix. */
#define PX_NAME_MAX 251


struct px_sem {
  struct syssem base;
  sem_t *sem;
};

static SYSSEM__COLD int px_fail(const char *call)
{
  return syssem__os_fail(syssem__errno_code(errno), call, errno);
}

static int px_native_name(const syssem__name_t *n, char **out)
{
  const char *t = n->text;
  size_t len = strlen(t);
  char *name;

  *out = NULL;
  if (n->legacy) {
    if (len > PX_NAME_MAX)
      return SYSSEM_EKEY;
  } else if (t[0] != '/' || len < 2 || len > PX_NAME_MAX + 1 ||
             strchr(t + 1, '/') != NULL || strcmp(t, "/.") == 0 ||
             strcmp(t, "/..") == 0) {
    return SYSSEM_EKEY;
  }
  name = malloc(len + 2);
  if (name == NULL)
    return SYSSEM_ENOMEM;
  /* A legacy stem gets its slash; a native name has it already. */
  name[0] = '/';
  memcpy(name + (n->legacy ? 1 : 0), t, len + 1);
  *out = name;
  return SYSSEM_OK;
}

/* sem_open applied the umask to the new object; set the exact bits. */
static int px_chmod(const char *name, unsigned perms)
{
  char path[PATH_MAX];

  /* No such file: a C library that keeps semaphores elsewhere. */
  if (syssem__px_path(name, path, sizeof path) != SYSSEM_OK)
    return SYSSEM_OK;
  if (chmod(path, (mode_t)perms) != 0 && errno != ENOENT)
    return px_fail("chmod");
  return SYSSEM_OK;
}

/* Bring an existing semaphore's count to initial in place, so that every
 * process keeps using the one object (Qt unlinks and recreates instead,
 * splitting old and new users). Concurrent users may move the count while
 * we do; we move it by the difference we saw. */
static int px_set(sem_t *sem, int initial)
{
  int v;

  if (sem_getvalue(sem, &v) != 0)
    return px_fail("sem_getvalue");
  for (; v > initial; v--)
    if (sem_trywait(sem) != 0 && errno != EINTR)
      break; /* EAGAIN: others took the rest */
  for (; v < initial; v++)
    if (sem_post(sem) != 0)
      return px_fail("sem_post");
  return SYSSEM_OK;
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
      sem = sem_open(name, 0);
      if (sem != SEM_FAILED)
        break;
      if (errno != ENOENT || mode == SYSSEM_OPEN_EXISTING) {
        r = px_fail("sem_open");
        goto cleanup;
      }
    }
    sem = sem_open(name, O_CREAT | O_EXCL, perms, (unsigned)initial);
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
    r = syssem__os_fail_text(SYSSEM_ENOENT, "sem_open",
                             "removed while opening, again and again");
    goto cleanup;
  }
  if (created)
    r = px_chmod(name, base->perms);
  else if (mode == SYSSEM_CREATE)
    r = px_set(sem, initial);

cleanup:
  if (r < 0 && sem != SEM_FAILED) {
    sem_close(sem);
    if (created)
      sem_unlink(name);
  }
  if (r == SYSSEM_OK) {
    s->sem = sem;
    base->created = created;
    base->owner = created || mode == SYSSEM_CREATE;
  }
  return r;
}

static void px_close(syssem_t *base, int remove)
{
  sem_close(((struct px_sem *)base)->sem);
  if (remove)
    sem_unlink(base->native);
}

/* sem_wait failed: go on waiting after EINTR, else fail. */
static SYSSEM__COLD int px_wait_again(sem_t *sem)
{
  do {
    if (errno != EINTR)
      return syssem__failed("syssem_acquire", px_fail("sem_wait"));
  } while (sem_wait(sem) != 0);
  return SYSSEM_OK;
}

static int px_acquire(syssem_t *s)
{
  sem_t *sem = ((struct px_sem *)s)->sem;

  return sem_wait(sem) == 0 ? SYSSEM_OK : px_wait_again(sem);
}

#if defined(SYSSEM__HAVE_SEM_CLOCKWAIT)
/* The deadline is absolute, so a retry after EINTR keeps the original end. */
static int px_timedwait(sem_t *sem, const struct timespec *end)
{
  return sem_clockwait(sem, CLOCK_MONOTONIC, end);
}
#define PX_WAIT_CALL "sem_clockwait"
#else
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

static int px_try_acquire(syssem_t *s, long timeout_ms)
{
  sem_t *sem = ((struct px_sem *)s)->sem;

  if (timeout_ms == 0 && sem_trywait(sem) == 0)
    return SYSSEM_OK;
  return syssem__failed("syssem_try_acquire", px_try_slow(sem, timeout_ms));
}

/* release's every path but one successful sem_post. */
static SYSSEM__COLD int px_release_slow(sem_t *sem, int n)
{
  int v, i, r;

  if (n == 1)
    return px_fail("sem_post");
  /* n posts are not atomic: refuse what would overflow, and take back the
   * posts already made if one still fails (a racing releaser). */
  if (sem_getvalue(sem, &v) != 0)
    return px_fail("sem_getvalue");
  if (v > SEM_VALUE_MAX - n)
    return syssem__os_fail(SYSSEM_EOVERFLOW, "sem_post", EOVERFLOW);
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

static int px_release(syssem_t *s, int n)
{
  sem_t *sem = ((struct px_sem *)s)->sem;

  if (n == 1 && sem_post(sem) == 0)
    return SYSSEM_OK;
  return syssem__failed("syssem_release", px_release_slow(sem, n));
}

static int px_value(syssem_t *s, int *value)
{
  int v;

  if (sem_getvalue(((struct px_sem *)s)->sem, &v) != 0)
    return px_fail("sem_getvalue");
  /* Some systems report waiters as a negative count. */
  *value = v < 0 ? 0 : v;
  return SYSSEM_OK;
}

static int px_remove(const char *name, int legacy, int proj_id)
{
  (void)legacy;
  (void)proj_id;
  return sem_unlink(name) == 0 ? SYSSEM_OK : px_fail("sem_unlink");
}

const syssem__backend_t syssem__posix = {
  SYSSEM_BACKEND_POSIX,
  "posix",
  sizeof(struct px_sem),
  SEM_VALUE_MAX,
  px_native_name,
  px_open,
  px_close,
  px_acquire,
  px_try_acquire,
  px_release,
  px_value,
  px_remove,
};
