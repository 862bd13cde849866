/*
 * Where the C library keeps POSIX named semaphores as files. A file of its
 * own that uses nothing else of the library, so that a program linked with
 * the shared library (the benchmark) can link this fact alone.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

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
