/*
 * How a name becomes an OS object on Unix: the file in which the C library
 * keeps a POSIX named semaphore and how long its name may be, and the
 * System V key of a key file. A file
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

/* Where each C library keeps "/x", and the longest x it takes (a name it
 * would refuse, or keep somewhere else than this path, is a key error for
 * us before any call). Read in each library's source; docs/portability.md
 * says which and how each is known.
 *  glibc        /dev/shm/sem.x    NAME_MAX less "sem."
 *  musl         /dev/shm/x        musl takes NAME_MAX; 251 keeps one rule
 *                                 for the two C libraries of Linux
 *  FreeBSD      /tmp/SEMDx        NAME_MAX less "SEMD"
 *  illumos      /tmp/.SEMDx       longer names go to a hashed directory
 *  Cygwin       /dev/shm/sem.x    NAME_MAX less "sem."
 *  macOS        no file           30 bytes with the slash (PSEMNAMLEN 31
 *                                 counts the NUL)
 *  NetBSD       no file (kernel)  14 bytes with the slash
 *  OpenBSD      a hash of the name under /tmp, mode ignored: not a path we
 *               can work out or chmod; 251 as elsewhere */
#if defined(__APPLE__)
# define PX_NAME_MAX 29
#elif defined(__linux__) && defined(__GLIBC__)
# define PX_DIR "/dev/shm"
# define PX_PREFIX "sem."
# define PX_NAME_MAX 251
#elif defined(__linux__)
# define PX_DIR "/dev/shm"
# define PX_PREFIX ""
# define PX_NAME_MAX 251
#elif defined(__FreeBSD__)
# define PX_DIR "/tmp"
# define PX_PREFIX "SEMD"
# define PX_NAME_MAX 251
#elif defined(__sun)
# define PX_DIR "/tmp"
# define PX_PREFIX ".SEMD"
# define PX_NAME_MAX 250
#elif defined(__CYGWIN__)
# define PX_DIR "/dev/shm"
# define PX_PREFIX "sem."
# define PX_NAME_MAX 251
#elif defined(__NetBSD__)
# define PX_NAME_MAX 13
#else
# define PX_NAME_MAX 251
#endif

/* -Demulate=darwin takes Apple's limit on Linux, whose files stay where
 * its C library keeps them. */
const size_t syssem__px_name_max = SYSSEM__APPLE ? 29 : PX_NAME_MAX;

#if defined(PX_DIR)
const char *const syssem__px_dir = PX_DIR;
const char *const syssem__px_prefix = PX_PREFIX;

int syssem__px_path(const char *native, char *buf, size_t size)
{
  static const size_t d = sizeof PX_DIR - 1, p = sizeof PX_PREFIX - 1;
  size_t n = strlen(native + 1);

  if (d + 1 + p + n + 1 > size)
    return SYSSEM_EINVAL;
  memcpy(buf, PX_DIR "/" PX_PREFIX, d + 1 + p);
  memcpy(buf + d + 1 + p, native + 1, n + 1);
  return SYSSEM_OK;
}
#else
const char *const syssem__px_dir = NULL;
const char *const syssem__px_prefix = NULL;

int syssem__px_path(const char *native, char *buf, size_t size)
{
  (void)native;
  (void)buf;
  (void)size;
  return SYSSEM_ENOSYS;
}
#endif

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
