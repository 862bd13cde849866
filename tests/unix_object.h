/*
 * Test support, Unix: the OS object behind a native name, found the way the
 * library names it, for tests that look at it behind the library's back.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_UNIX_OBJECT_H
#define SYSSEM_TEST_UNIX_OBJECT_H

#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The System V set behind a key file (the library's ftok project id), or -1. */
static inline int sysv_id_of(const char *keyfile)
{
  key_t k = ftok(keyfile, 'Q');

  return k == (key_t)-1 ? -1 : semget(k, 1, 0);
}

/* Where the C library keeps POSIX name "/x": glibc as /dev/shm/sem.x, musl
 * as /dev/shm/x. */
static inline void posix_path(const char *native, char *buf, size_t len)
{
#ifdef __GLIBC__
  snprintf(buf, len, "/dev/shm/sem.%s", native + 1);
#else
  snprintf(buf, len, "/dev/shm/%s", native + 1);
#endif
}

/* Owner and permission bits of the object behind native (a key file path
 * when sysv, else a POSIX name). 0, or -1 when there is no such object
 * (then both are 0). */
static inline int object_stat(const char *native, int sysv, uid_t *uid,
                              unsigned int *mode)
{
  char path[512];
  struct stat st;

  *uid = 0;
  *mode = 0;
  if (sysv) {
    struct semid_ds ds;
    union { int val; struct semid_ds *buf; } arg;

    arg.buf = &ds;
    if (semctl(sysv_id_of(native), 0, IPC_STAT, arg) != 0)
      return -1;
    *uid = ds.sem_perm.uid;
    *mode = ds.sem_perm.mode & 0777;
    return 0;
  }
  posix_path(native, path, sizeof path);
  if (stat(path, &st) != 0)
    return -1;
  *uid = st.st_uid;
  *mode = st.st_mode & 0777;
  return 0;
}

#endif
