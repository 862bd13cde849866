/*
 * Opening: create+destroy (the key is absent, the handle creates the object
 * and closing it removes it) and open+close (another handle holds the
 * object; this one attaches and detaches), against the least raw sequence
 * with the same meaning and against Qt. docs/performance.md says what each
 * raw sequence holds and why.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syssem_int.h"
#include "harness.h"
#include "cases.h"

/* The arm's native name and, POSIX, the object's file. */
static struct {
  char name[PATH_MAX];
  char file[PATH_MAX];
} raw;

static double lib_open_close(bench_arm_t *a, long n)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s;
  long i, bad = 0;
  double t;

  o.backend = strcmp(a->impl->primitive, "posix") == 0 ? SYSSEM_BACKEND_POSIX
                                                       : SYSSEM_BACKEND_SYSV;
  t = bench_now();
  for (i = 0; i < n; i++) {
    if (syssem_open_ex(&s, a->key, a->create, SYSSEM_OPEN, &o) != SYSSEM_OK) {
      bad++;
      continue;
    }
    bad += syssem_created(s) != a->create;
    syssem_close(s);
  }
  t = bench_now() - t;
  bench_failures += bad;
  return t;
}

/* System V, create: make the key file (exclusive, no symlink followed, exact
 * permissions), ftok, create the set exclusively and initialise it with
 * semop (so that sempid tells openers it is initialised). Attach: check that
 * the key file is a regular file, ftok, get the set, check that it has been
 * initialised. Returns the set id, or -1. */
static int sv_raw_open(const char *path, int create)
{
  struct sembuf init = { 0, 1, IPC_NOWAIT };
  struct stat st;
  key_t key;
  int fd, id;

  if (create) {
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0)
      return -1;
    fchmod(fd, 0600);
    close(fd);
  } else if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    return -1;
  }
  key = ftok(path, SYSSEM__FTOK_ID);
  if (key == (key_t)-1)
    return -1;
  if (!create) {
    id = semget(key, 1, 0);
    return id < 0 || semctl(id, 0, GETPID) <= 0 ? -1 : id;
  }
  id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
  if (id >= 0 && semop(id, &init, 1) != 0)
    return -1;
  return id;
}

static double sv_open_close(bench_arm_t *a, long n)
{
  long i, bad = 0;
  int id;
  double t = bench_now();

  for (i = 0; i < n; i++) {
    id = sv_raw_open(raw.name, a->create);
    bad += id < 0;
    if (a->create) {
      semctl(id, 0, IPC_RMID);
      unlink(raw.name);
    }
  }
  t = bench_now() - t;
  bench_failures += bad;
  return t;
}

/* POSIX, create: exclusively, then the exact permissions (sem_open applies
 * the umask) on the object's file. Attach: open the existing one. */
static double px_open_close(bench_arm_t *a, long n)
{
  sem_t *p;
  long i, bad = 0;
  double t = bench_now();

  for (i = 0; i < n; i++) {
    if (!a->create) {
      p = sem_open(raw.name, 0);
    } else {
      p = sem_open(raw.name, O_CREAT | O_EXCL, 0600, 1u);
      if (p != SEM_FAILED && raw.file[0] != '\0')
        chmod(raw.file, 0600);
    }
    if (p == SEM_FAILED) {
      bad++;
      continue;
    }
    sem_close(p);
    if (a->create)
      sem_unlink(raw.name);
  }
  t = bench_now() - t;
  bench_failures += bad;
  return t;
}

static double qt_open_close(bench_arm_t *a, long n)
{
  double t = bench_now();

  bench_failures += a->impl->open_close(a->key, a->create, n);
  return bench_now() - t;
}

static void one_backend(const bench_impl_t *lib_impl,
                        const bench_impl_t *raw_impl, syssem_backend_t b)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  bench_arm_t lib, ref, qt;
  void *keeper, *raw_keeper, *qt_keeper = NULL;
  char rawkey[64];
  int with_qt = bench_qt != NULL && b == SYSSEM_BACKEND_SYSV;

  bench_arm(&lib, lib_impl, NULL);
  lib.run = lib_open_close;
  bench_key(lib.key, sizeof lib.key, "open");
  bench_arm(&ref, raw_impl, NULL);
  ref.label = "raw sequence";
  ref.run = b == SYSSEM_BACKEND_SYSV ? sv_open_close : px_open_close;
  bench_key(rawkey, sizeof rawkey, "rawopen");
  o.backend = b;
  if (syssem_native_name(rawkey, &o, NULL, raw.name, sizeof raw.name) !=
      SYSSEM_OK)
    bench_die("syssem_native_name");
  /* Where the C library keeps the object as a file, if it does. */
  if (b != SYSSEM_BACKEND_POSIX ||
      syssem__px_path(raw.name, raw.file, sizeof raw.file) != SYSSEM_OK)
    raw.file[0] = '\0';
  if (with_qt) {
    bench_arm(&qt, bench_qt, NULL);
    qt.run = qt_open_close;
    bench_key(qt.key, sizeof qt.key, "qtopen");
  }

  lib.create = ref.create = qt.create = 1;
  bench_compare("create+destroy", lib_impl->name, &lib, &ref, 200, 1L << 22,
                1.10);
  if (with_qt)
    bench_compare("create+destroy", lib_impl->name, &lib, &qt, 200, 1L << 22,
                  1.00);

  /* Attach+detach: the objects exist, held by keepers. */
  lib.create = ref.create = qt.create = 0;
  keeper = bench_create(lib_impl, lib.key, 1);
  raw_keeper = bench_create(raw_impl, rawkey, 1);
  bench_compare("open+close", lib_impl->name, &lib, &ref, 200, 1L << 22,
                1.10);
  if (with_qt) {
    qt_keeper = bench_create(bench_qt, qt.key, 1);
    bench_compare("open+close", lib_impl->name, &lib, &qt, 200, 1L << 22,
                  1.00);
    bench_qt->destroy(qt_keeper);
  }
  lib_impl->destroy(keeper);
  raw_impl->destroy(raw_keeper);
}

void bench_case_open(void)
{
  one_backend(&bench_syssem_sysv, &bench_raw_sysv, SYSSEM_BACKEND_SYSV);
  one_backend(&bench_syssem_posix, &bench_raw_posix, SYSSEM_BACKEND_POSIX);
}
