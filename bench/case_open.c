/*
 * Opening: create+destroy (the key is absent, the handle creates the object
 * and closing it removes it) and open+close (another handle holds the
 * object; this one attaches and detaches), against the least raw sequence
 * with the same meaning and against Qt. The raw sequences keep every promise
 * the library makes to other processes (exact permissions, no symlink
 * followed, no set seen before it is ready, the key-file and object-file
 * locks, removing only what is provably this handle's) and skip only what
 * a program that knows whether the object exists can skip.
 * docs/performance.md lists them.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
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
  o.keyform = a->native ? SYSSEM_KEYFORM_NATIVE : SYSSEM_KEYFORM_LEGACY;
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

/* Open path (creating it exclusively when flags has O_CREAT) and take its
 * lock; check that the path still names the file we locked. The descriptor
 * and the file's stat, or -1. */
static int lock_file(const char *path, int flags, struct stat *st)
{
  struct stat now;
  int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

  if (fd < 0)
    return -1;
  if (((flags & O_CREAT) && fchmod(fd, 0600) != 0) ||
      flock(fd, LOCK_EX) != 0 || fstat(fd, st) != 0 ||
      lstat(path, &now) != 0 || now.st_dev != st->st_dev ||
      now.st_ino != st->st_ino) {
    close(fd);
    return -1;
  }
  return fd;
}

/* System V, create: find the key file absent (open-or-create looks first),
 * make it, and under its lock the set, made busy (owner execute bit), its
 * count, then ready (IPC_SET). Returns the set id or -1. */
static int sv_raw_create(const char *path)
{
  struct sembuf init[2] = { { 0, 0, IPC_NOWAIT }, { 0, 1, 0 } };
  struct semid_ds ds;
  struct stat st;
  union { int val; struct semid_ds *buf; } arg;
  key_t key;
  int fd, id = -1;

  /* Open or create: look first. */
  if (lstat(path, &st) == 0 || errno != ENOENT)
    return -1;
  fd = lock_file(path, O_RDWR | O_CREAT | O_EXCL, &st);
  if (fd < 0)
    return -1;
  if (syssem__ftok(path, &st, SYSSEM__FTOK_ID, &key) == 0)
    id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600 | S_IXUSR);
  if (id >= 0) {
    memset(&ds, 0, sizeof ds);
    ds.sem_perm.uid = geteuid();
    ds.sem_perm.gid = getegid();
    ds.sem_perm.mode = 0600;
    arg.buf = &ds;
    if ((semop(id, init, 2) != 0 && errno != EAGAIN) ||
        semctl(id, 0, IPC_SET, arg) != 0) {
      semctl(id, 0, IPC_RMID);
      id = -1;
    }
  }
  close(fd);
  return id;
}

/* System V, destroy: under the lock, remove set id if the key file still
 * names it, and the file. */
static int sv_raw_destroy(const char *path, int id)
{
  struct stat st;
  key_t key;
  int fd, ok = 0;

  fd = lock_file(path, O_RDONLY, &st);
  if (fd < 0)
    return -1;
  if (syssem__ftok(path, &st, SYSSEM__FTOK_ID, &key) == 0 &&
      semget(key, 1, 0) == id && semctl(id, 0, IPC_RMID) == 0 &&
      unlink(path) == 0)
    ok = 1;
  close(fd);
  return ok ? 0 : -1;
}

/* System V, attach: a regular file (no symlink followed), its key from that
 * lstat, the set, and ready (no busy mark). Detach: nothing. */
static int sv_raw_attach(const char *path)
{
  union { int val; struct semid_ds *buf; } arg;
  struct semid_ds ds;
  struct stat st;
  key_t key;
  int id;

  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
      syssem__ftok(path, &st, SYSSEM__FTOK_ID, &key) != 0)
    return -1;
  id = semget(key, 1, 0);
  arg.buf = &ds;
  if (id < 0 || semctl(id, 0, IPC_STAT, arg) != 0 ||
      (ds.sem_perm.mode & S_IXUSR))
    return -1;
  return id;
}

static double sv_open_close(bench_arm_t *a, long n)
{
  long i, bad = 0;
  int id;
  double t = bench_now();

  for (i = 0; i < n; i++) {
    if (!a->create) {
      bad += sv_raw_attach(raw.name) < 0;
      continue;
    }
    id = sv_raw_create(raw.name);
    bad += id < 0 || sv_raw_destroy(raw.name, id) != 0;
  }
  t = bench_now() - t;
  bench_failures += bad;
  return t;
}

/* POSIX, create: find the name absent, create exclusively; then, under the lock of the object's file,
 * prove that the file is the object we mapped (a second sem_open of the
 * name gives our address back) and set the exact permissions (sem_open
 * applied the umask). Destroy: under the lock, unlink the name if it still
 * names that file. Attach: open the existing one; detach: close it. */
static sem_t *px_raw_create(struct stat *st)
{
  sem_t *p, *again;
  int fd, ok = 0;

  /* Open or create: look first. */
  p = sem_open(raw.name, 0);
  if (p != SEM_FAILED || errno != ENOENT)
    return SEM_FAILED;
  p = sem_open(raw.name, O_CREAT | O_EXCL, 0600, 1u);
  if (p == SEM_FAILED || raw.file[0] == '\0')
    return p;
  fd = lock_file(raw.file, O_RDONLY, st);
  if (fd >= 0) {
    again = sem_open(raw.name, 0);
    ok = again == p && fchmod(fd, 0600) == 0;
    if (again != SEM_FAILED)
      sem_close(again);
    close(fd);
  }
  if (!ok) {
    sem_close(p);
    sem_unlink(raw.name);
    return SEM_FAILED;
  }
  return p;
}

static int px_raw_destroy(sem_t *p, const struct stat *mine)
{
  struct stat st;
  int fd, ok = 1;

  if (raw.file[0] == '\0') {
    ok = sem_unlink(raw.name) == 0;
  } else {
    fd = lock_file(raw.file, O_RDONLY, &st);
    ok = fd >= 0 && st.st_dev == mine->st_dev && st.st_ino == mine->st_ino &&
         sem_unlink(raw.name) == 0;
    if (fd >= 0)
      close(fd);
  }
  sem_close(p);
  return ok ? 0 : -1;
}

static double px_open_close(bench_arm_t *a, long n)
{
  struct stat st;
  sem_t *p;
  long i, bad = 0;
  double t = bench_now();

  for (i = 0; i < n; i++) {
    p = a->create ? px_raw_create(&st) : sem_open(raw.name, 0);
    if (p == SEM_FAILED) {
      bad++;
      continue;
    }
    if (a->create)
      bad += px_raw_destroy(p, &st) != 0;
    else
      sem_close(p);
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

/* The native name of key on backend b, in out. */
static void native_name(const char *key, syssem_backend_t b, char *out,
                        size_t size)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;

  o.backend = b;
  if (syssem_native_name(key, &o, NULL, out, size) != SYSSEM_OK)
    bench_die("syssem_native_name");
}

/* The library twice: opening by native name, as the raw sequence does (the
 * target is against that), and by Qt string key, which adds the name's
 * derivation (the SHA-1 of the key, TMPDIR made canonical) and is what Qt
 * does too. Both arms open the one object of the string key. */
static void one_backend(const bench_impl_t *lib_impl,
                        const bench_impl_t *raw_impl, syssem_backend_t b)
{
  bench_arm_t native, bykey, ref, qt;
  void *keeper, *raw_keeper, *qt_keeper = NULL;
  char rawkey[64], label[32];
  int with_qt = bench_qt != NULL && b == SYSSEM_BACKEND_SYSV;

  bench_arm(&bykey, lib_impl, NULL);
  bykey.run = lib_open_close;
  bench_key(bykey.key, sizeof bykey.key, "open");
  native = bykey;
  native.native = 1;
  native_name(bykey.key, b, native.key, sizeof native.key);
  snprintf(label, sizeof label, "%s-qtkey", lib_impl->name);
  bench_arm(&ref, raw_impl, NULL);
  ref.label = "raw sequence";
  ref.run = b == SYSSEM_BACKEND_SYSV ? sv_open_close : px_open_close;
  bench_key(rawkey, sizeof rawkey, "rawopen");
  native_name(rawkey, b, raw.name, sizeof raw.name);
  /* Where the C library keeps the object as a file, if it does. */
  if (b != SYSSEM_BACKEND_POSIX ||
      syssem__px_path(raw.name, raw.file, sizeof raw.file) != SYSSEM_OK)
    raw.file[0] = '\0';
  if (with_qt) {
    bench_arm(&qt, bench_qt, NULL);
    qt.run = qt_open_close;
    bench_key(qt.key, sizeof qt.key, "qtopen");
  }

  native.create = bykey.create = ref.create = qt.create = 1;
  bench_compare("create+destroy", lib_impl->name, &native, &ref, 200,
                1L << 22, 1.10);
  bench_compare("create+destroy", label, &bykey, &ref, 200, 1L << 22, 0);
  if (with_qt) {
    bench_compare("create+destroy", label, &bykey, &qt, 200, 1L << 22, 1.00);
    /* The floor of that target: the raw sequence, which keeps the library's
     * promises and is given the name (no derivation), against Qt, which
     * makes none of them. */
    snprintf(label, sizeof label, "floor-%s", lib_impl->name);
    bench_compare("create+destroy", label, &ref, &qt, 200, 1L << 22, 0);
    snprintf(label, sizeof label, "%s-qtkey", lib_impl->name);
  }

  /* Attach+detach: the objects exist, held by keepers. */
  native.create = bykey.create = ref.create = qt.create = 0;
  keeper = bench_create(lib_impl, bykey.key, 1);
  raw_keeper = bench_create(raw_impl, rawkey, 1);
  bench_compare("open+close", lib_impl->name, &native, &ref, 200, 1L << 22,
                1.10);
  bench_compare("open+close", label, &bykey, &ref, 200, 1L << 22, 0);
  if (with_qt) {
    qt_keeper = bench_create(bench_qt, qt.key, 1);
    bench_compare("open+close", label, &bykey, &qt, 200, 1L << 22, 1.00);
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
