/*
 * Platform support shared by the Unix backends: the backend table, where key
 * files live, process id, errno text and mapping, monotonic deadlines. Where
 * POSIX objects live is unix_names.c.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* realpath; the XSI strerror_r, on glibc as elsewhere */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syssem_int.h"

const syssem__backend_t *const syssem__backends[SYSSEM_BACKEND_ETCD + 1] = {
  NULL, &syssem__sysv, &syssem__posix, NULL, NULL /* etcd: a module */
};

int syssem__key_dir(char **out)
{
  const char *dir = getenv("TMPDIR");

  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  *out = realpath(dir, NULL);
  if (*out == NULL)
    return syssem__note(errno == ENOMEM ? SYSSEM_ENOMEM : SYSSEM_EKEY,
                           "realpath", errno);
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
