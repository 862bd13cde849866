/*
 * The errno shim (errno_shim.h): __wrap_ functions for -Wl,--wrap. Single
 * threaded: the tests that arm it make their calls from one thread.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* semtimedop */

#include "errno_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "syssem_int.h"

struct errno_shim shim;

int __real_semop(int id, struct sembuf *ops, size_t n);
int __real_semtimedop(int id, struct sembuf *ops, size_t n,
                      const struct timespec *timeout);
int __real_semget(key_t key, int nsems, int flags);
sem_t *__real_sem_open(const char *name, int oflag, ...);
int __real_sem_close(sem_t *sem);

int __wrap_semop(int id, struct sembuf *ops, size_t n);
int __wrap_semtimedop(int id, struct sembuf *ops, size_t n,
                      const struct timespec *timeout);
int __wrap_semget(key_t key, int nsems, int flags);
sem_t *__wrap_sem_open(const char *name, int oflag, ...);
int __wrap_sem_close(sem_t *sem);

/* The undo table: the sets with a net SEM_UNDO change pending. */
#define UNDO_SLOTS 64
static struct {
  int id;
  long adj;
} undo[UNDO_SLOTS];
static int nundo;

/* The sem_t handed out while shared_mappings or file_locks is armed: the
 * file of its name, and how many opens the C library counts for it. */
#define MAPPED_SLOTS 64
static struct {
  sem_t *sem;
  unsigned long n;
  char path[512];
} mapped[MAPPED_SLOTS];
static int nmapped;

void shim_reset(void)
{
  memset(&shim, 0, sizeof shim);
  nundo = 0;
  nmapped = 0;
}

static int undo_find(int id)
{
  int i;

  for (i = 0; i < nundo; i++)
    if (undo[i].id == id)
      return i;
  return -1;
}

/* 1 when ops need an entry that the table has no room for. */
static int undo_refused(int id, const struct sembuf *ops, size_t n)
{
  size_t i;

  if (shim.undo_max == 0 || undo_find(id) >= 0 || nundo < shim.undo_max)
    return 0;
  for (i = 0; i < n; i++)
    if ((ops[i].sem_flg & SEM_UNDO) && ops[i].sem_op != 0)
      return 1;
  return 0;
}

/* ops succeeded: keep their adjustments; an entry whose net is 0 goes. */
static void undo_note(int id, const struct sembuf *ops, size_t n)
{
  size_t i;
  int k;

  if (shim.undo_max == 0)
    return;
  for (i = 0; i < n; i++) {
    if (!(ops[i].sem_flg & SEM_UNDO) || ops[i].sem_op == 0)
      continue;
    k = undo_find(id);
    if (k < 0) {
      if (nundo == UNDO_SLOTS)
        continue;
      k = nundo++;
      undo[k].id = id;
      undo[k].adj = 0;
    }
    undo[k].adj -= ops[i].sem_op;
    if (undo[k].adj == 0)
      undo[k] = undo[--nundo];
  }
}

int __wrap_semop(int id, struct sembuf *ops, size_t n)
{
  shim.semop_calls++;
  if (undo_refused(id, ops, n)) {
    errno = EINVAL;
    return -1;
  }
  if (__real_semop(id, ops, n) != 0)
    return -1;
  undo_note(id, ops, n);
  return 0;
}

int __wrap_semtimedop(int id, struct sembuf *ops, size_t n,
                      const struct timespec *timeout)
{
  shim.semop_calls++;
  if (undo_refused(id, ops, n)) {
    errno = EINVAL;
    return -1;
  }
  if (__real_semtimedop(id, ops, n, timeout) != 0)
    return -1;
  undo_note(id, ops, n);
  return 0;
}

int __wrap_semget(key_t key, int nsems, int flags)
{
  shim.semget_calls++;
  if (shim.no_sysv) {
    errno = ENOSYS;
    return -1;
  }
  return __real_semget(key, nsems, flags);
}

static int mapped_find(const sem_t *sem)
{
  int i;

  for (i = 0; i < nmapped; i++)
    if (mapped[i].sem == sem)
      return i;
  return -1;
}

/* 1 when this process holds a lock on the file at path through another
 * descriptor: the lock a C library that locks the file itself would wait
 * for. (Another process's lock would make it wait too, but not for ever;
 * the tests that arm file_locks have no other process.) */
static int locked_here(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), busy;

  if (fd < 0)
    return 0;
  busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return busy;
}

/* sem_open has given sem for the file at path. */
static void opened(sem_t *sem, const char *path)
{
  int k = mapped_find(sem);

  if (k >= 0 && shim.shared_mappings) {
    /* The C library counted a second open of one mapping: take it back,
     * so that the next close unmaps it, as illumos's first close does. */
    __real_sem_close(sem);
    return;
  }
  if (k >= 0) {
    mapped[k].n++;
    return;
  }
  if (nmapped == MAPPED_SLOTS)
    return;
  mapped[nmapped].sem = sem;
  mapped[nmapped].n = 1;
  snprintf(mapped[nmapped].path, sizeof mapped[nmapped].path, "%s", path);
  nmapped++;
}

sem_t *__wrap_sem_open(const char *name, int oflag, ...)
{
  unsigned int mode, value;
  va_list ap;

  char path[512];
  sem_t *sem;

  shim.sem_open_calls++;
  if (shim.name_max != 0 && strlen(name) > shim.name_max + 1) {
    errno = ENAMETOOLONG;
    return SEM_FAILED;
  }
  if (syssem__px_path(name, path, sizeof path) != SYSSEM_OK)
    path[0] = '\0';
  if (shim.file_locks && locked_here(path)) {
    shim.self_deadlocks++;
    errno = EDEADLK;
    return SEM_FAILED;
  }
  if (oflag & O_CREAT) {
    va_start(ap, oflag);
    mode = va_arg(ap, unsigned int);
    value = va_arg(ap, unsigned int);
    va_end(ap);
    sem = __real_sem_open(name, oflag, (mode_t)mode, value);
  } else {
    sem = __real_sem_open(name, oflag);
  }
  if (sem != SEM_FAILED && (shim.shared_mappings || shim.file_locks))
    opened(sem, path);
  return sem;
}

int __wrap_sem_close(sem_t *sem)
{
  int k = mapped_find(sem);

  if (k >= 0 && shim.file_locks && locked_here(mapped[k].path)) {
    shim.self_deadlocks++;
    errno = EDEADLK;
    return -1;
  }
  if (k >= 0 && (shim.shared_mappings || --mapped[k].n == 0))
    mapped[k] = mapped[--nmapped];
  return __real_sem_close(sem);
}
