/*
 * How a name becomes an OS object on Unix: the file in which the C library
 * keeps a POSIX named semaphore, and the System V key of a key file. A file
 * of its own that uses nothing else of the library, so that a program linked
 * with the shared library (the benchmark) can link these facts alone.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>
#include <sys/ipc.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "syssem_int.h"

/* glibc keeps "/x" as /dev/shm/sem.x, musl as /dev/shm/x; other systems keep
 * named semaphores out of the file system. */
#if defined(__linux__) && defined(__GLIBC__)
const char *const syssem__px_dir = "/dev/shm";
const char *const syssem__px_prefix = "sem.";
#elif defined(__linux__)
const char *const syssem__px_dir = "/dev/shm";
const char *const syssem__px_prefix = "";
#else
const char *const syssem__px_dir = NULL;
const char *const syssem__px_prefix = NULL;
#endif

int syssem__px_path(const char *native, char *buf, size_t size)
{
  size_t d, p, n;

  if (syssem__px_dir == NULL)
    return SYSSEM_ENOSYS;
  d = strlen(syssem__px_dir);
  p = strlen(syssem__px_prefix);
  n = strlen(native + 1);
  if (d + 1 + p + n + 1 > size)
    return SYSSEM_EINVAL;
  memcpy(buf, syssem__px_dir, d);
  buf[d] = '/';
  memcpy(buf + d + 1, syssem__px_prefix, p);
  memcpy(buf + d + 1 + p, native + 1, n + 1);
  return SYSSEM_OK;
}

/* On Linux, glibc and musl compute ftok() from the inode and device numbers
 * alone, so the key comes from a stat the caller already made (no second
 * stat, and no window in which the path could be swapped for a symlink); it
 * is the key Qt gets from ftok(). */
#if defined(__linux__)
int syssem__ftok(const char *path, const struct stat *st, int proj_id,
                 key_t *key)
{
  (void)path;
  *key = (key_t)(((unsigned)proj_id & 0xffu) << 24 |
                 ((unsigned)st->st_dev & 0xffu) << 16 |
                 ((unsigned)st->st_ino & 0xffffu));
  return 0;
}
#else
int syssem__ftok(const char *path, const struct stat *st, int proj_id,
                 key_t *key)
{
  (void)st;
  *key = ftok(path, proj_id);
  return *key == (key_t)-1 ? -1 : 0;
}
#endif
