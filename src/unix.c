/*
 * Platform support shared by the Unix backends: where key files live, process
 * id, errno text and mapping, monotonic deadlines and the naps of a polled
 * wait. Where POSIX objects live is unix_names.c; which backends are built,
 * backends_unix.c or backends_none.c.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* realpath; the XSI strerror_r, on glibc as elsewhere */
#define _DARWIN_C_SOURCE  /* and, on Apple systems, confstr's per-user names */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "syssem_int.h"

/* Where key files go when $TMPDIR is unset or empty: Qt's temporary
 * directory then. On Apple systems that is NSTemporaryDirectory(), the
 * per-user directory (/var/folders/.../T/) that confstr names, and /tmp
 * only when it cannot say; elsewhere /tmp. */
#if defined(__APPLE__)
static const char *default_dir(char *buf, size_t size)
{
  size_t n = confstr(_CS_DARWIN_USER_TEMP_DIR, buf, size);

  return n > 0 && n <= size ? buf : "/tmp";
}
#else
static const char *default_dir(char *buf, size_t size)
{
  (void)buf;
  (void)size;
  return "/tmp";
}
#endif

int syssem__key_dir(char **out)
{
  const char *dir = getenv("TMPDIR");
  char buf[PATH_MAX];

  if (dir == NULL || *dir == '\0')
    dir = default_dir(buf, sizeof buf);
  *out = realpath(dir, NULL);
  if (*out == NULL)
    return syssem__note(errno == ENOMEM ? SYSSEM_ENOMEM : SYSSEM_EKEY,
                           "realpath", errno);
  return SYSSEM_OK;
}

int syssem__lock_open(const char *path)
{
  const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  int fd = open(path, O_RDONLY | flags);

  if (fd < 0 && errno == EACCES)
    fd = open(path, O_WRONLY | flags);
  return fd;
}

int syssem__lock_take(int fd, const char *path, struct stat *st)
{
  struct stat now;

  while (flock(fd, LOCK_EX) != 0)
    if (errno != EINTR)
      return syssem__note(syssem__errno_code(errno), "flock", errno);
  if (fstat(fd, st) != 0)
    return syssem__note(syssem__errno_code(errno), "fstat", errno);
  if (lstat(path, &now) != 0 || now.st_dev != st->st_dev ||
      now.st_ino != st->st_ino)
    return SYSSEM__MOVED;
  return SYSSEM_OK;
}

unsigned long syssem__getpid(void)
{
  return (unsigned long)getpid();
}

void syssem__errtext(int err, char *buf, size_t len)
{
  if (strerror_r(err, buf, len) != 0 && len > 0)
    buf[0] = '\0';
}

int syssem__errno_code(int err)
{
  switch (err) {
  case EACCES:
  case EPERM:
    return SYSSEM_EPERM;
  case EEXIST:
    return SYSSEM_EEXIST;
  case ENOENT:
    return SYSSEM_ENOENT;
  case ENOSPC:
  case ENOMEM:
  case EMFILE:
  case ENFILE:
    return SYSSEM_ENOSPC;
  case ENAMETOOLONG:
  case ENOTDIR:
  case ELOOP:
  case EINVAL:
    return SYSSEM_EKEY;
  case ERANGE:
  case EOVERFLOW:
    return SYSSEM_EOVERFLOW;
  case ENOSYS:
    return SYSSEM_ENOSYS;
  default:
    return SYSSEM_EUNKNOWN;
  }
}

void syssem__deadline(struct timespec *end, long ms)
{
  clock_gettime(CLOCK_MONOTONIC, end);
  end->tv_sec += (time_t)(ms / 1000);
  end->tv_nsec += (ms % 1000) * 1000000L;
  if (end->tv_nsec >= 1000000000L) {
    end->tv_sec++;
    end->tv_nsec -= 1000000000L;
  }
}

void syssem__left(const struct timespec *end, struct timespec *left)
{
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  left->tv_sec = end->tv_sec - now.tv_sec;
  left->tv_nsec = end->tv_nsec - now.tv_nsec;
  if (left->tv_nsec < 0) {
    left->tv_sec--;
    left->tv_nsec += 1000000000L;
  }
  if (left->tv_sec < 0)
    left->tv_sec = left->tv_nsec = 0;
}

int syssem__nap(const struct timespec *end, long *step)
{
  struct timespec left;

  syssem__left(end, &left);
  if (left.tv_sec == 0 && left.tv_nsec == 0)
    return 0;
  *step = *step == 0 ? SYSSEM__NAP_FIRST_NS
          : *step > SYSSEM__NAP_CAP_NS / 2 ? SYSSEM__NAP_CAP_NS
          : *step * 2;
  if (left.tv_sec > 0 || left.tv_nsec > *step) {
    left.tv_sec = 0;
    left.tv_nsec = *step;
  }
  /* EINTR: the nap ends early and the caller tries again at once. */
  nanosleep(&left, NULL);
  return 1;
}
