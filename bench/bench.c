/*
 * libsyssem benchmark: the library against the raw OS calls it wraps, in
 * one process run, interleaved, median of several repetitions.
 *
 * SPDX-License-Identifier: MIT
 *
 * Usage:
 *   bench [--quick] [--reps R] [--no-pin]
 *       the table (BENCH_QUICK=1 is --quick); pinned to one CPU unless
 *       --no-pin
 *   bench --callgrind CASE BACKEND SIDE N
 *       N operations of one side of one row, e.g. "acquire+release" sysv
 *       lib 1000; SIDE is lib, raw or qt. callgrind.sh runs it under
 *       callgrind.
 *
 * Every case times N operations of one side, then N of the other, taking
 * turns on which goes first; a row shows the median ns/op of each side and
 * the median of the per-repetition ratios lib/reference. The exit status is
 * 0 whatever the numbers: targets are reported, never asserted.
 *
 * The raw side makes the same OS calls the library makes, with names worked
 * out beforehand (docs/performance.md says what each sequence holds).
 */
#define _GNU_SOURCE /* sched_setaffinity, prctl */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syssem.h"
#include "bench_qt.h"
#include "floor.h"

#define MAX_REPS 31

/* The most ping-pong rounds in one repetition: with SEM_UNDO each process's
 * adjustment of a set must stay within SEMAEM (32767). */
#define PP_MAX_ROUNDS 30000L

/* One side of a comparison. run() times n operations and returns ns. */
typedef struct side side_t;
struct side {
  const char *label;
  double (*run)(side_t *sd, long n);
  int backend;          /* SYSSEM_BACKEND_SYSV or SYSSEM_BACKEND_POSIX     */
  short undo;           /* SEM_UNDO or 0 (raw System V)                   */
  unsigned int flags;   /* libsyssem option flags                         */
  syssem_t *s;          /* libsyssem handle                               */
  int id;               /* System V set id                                */
  sem_t *px;            /* POSIX semaphore                                */
  void *qt;             /* QSystemSemaphore                               */
  int create;           /* open+close cases: create and remove (1) or attach */
  char key[64];         /* libsyssem or Qt key                            */
  char name[PATH_MAX];  /* raw: key file path (System V) or "/name"       */
};

static volatile sig_atomic_t stopping;
static int quick;
static int reps = 11;
static long failures; /* operations that did not return what they should */

static void on_signal(int sig)
{
  (void)sig;
  stopping = 1;
}

static double now_ns(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what)
{
  fprintf(stderr, "bench: %s: %s (%s)\n", what, strerror(errno),
          syssem_last_error_message());
  exit(2);
}

static syssem_options_t lib_options(const side_t *sd)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;

  o.backend = (syssem_backend_t)sd->backend;
  o.flags = sd->flags;
  return o;
}

static syssem_t *lib_open(const side_t *sd, const char *key, int initial,
                          syssem_mode_t mode)
{
  syssem_options_t o = lib_options(sd);
  syssem_t *s;

  if (syssem_open_ex(&s, key, initial, mode, &o) != SYSSEM_OK)
    die("syssem_open_ex");
  return s;
}

/* The native name libsyssem derives from key, so that a raw sequence can
 * use the same kind of name without deriving it. Leaves nothing behind. */
static void lib_native_name(const side_t *sd, const char *key, char *out,
                            size_t len)
{
  syssem_t *s = lib_open(sd, key, 0, SYSSEM_CREATE_NEW);

  snprintf(out, len, "%s", syssem_native_key(s));
  syssem_close(s);
}

/* Raw objects --------------------------------------------------------------- */

static int sv_make(int initial)
{
  struct sembuf init = { 0, 0, IPC_NOWAIT };
  int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);

  if (id < 0)
    die("semget");
  init.sem_op = (short)initial;
  if (initial > 0 && semop(id, &init, 1) != 0)
    die("semop");
  return id;
}

static sem_t *px_make(const char *name, int initial)
{
  sem_t *p = sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)initial);

  if (p == SEM_FAILED)
    die("sem_open");
  return p;
}

static void px_destroy(sem_t *p, const char *name)
{
  sem_close(p);
  sem_unlink(name);
}

/* Uncontended acquire+release ------------------------------------------------ */

static double lib_pair(side_t *sd, long n)
{
  syssem_t *s = sd->s;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++) {
    bad += syssem_acquire(s) != SYSSEM_OK;
    bad += syssem_release(s, 1) != SYSSEM_OK;
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

static double sv_pair(side_t *sd, long n)
{
  struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
  int id = sd->id;
  long i, bad = 0;
  double t;

  down.sem_flg = up.sem_flg = sd->undo;
  t = now_ns();
  for (i = 0; i < n; i++) {
    bad += semop(id, &down, 1) != 0;
    bad += semop(id, &up, 1) != 0;
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

static double px_pair(side_t *sd, long n)
{
  sem_t *p = sd->px;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++) {
    bad += sem_wait(p) != 0;
    bad += sem_post(p) != 0;
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

static double floor_pair(side_t *sd, long n)
{
  sem_t *p = sd->px;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++) {
    bad += bench_floor_wait(p) != 0;
    bad += bench_floor_post(p) != 0;
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

#ifdef BENCH_HAVE_QT
static double qt_pair(side_t *sd, long n)
{
  double t = now_ns();

  failures += bench_qt_pairs(sd->qt, n);
  return now_ns() - t;
}
#endif

/* try_acquire(0) on an empty semaphore ---------------------------------------- */

static double lib_try(side_t *sd, long n)
{
  syssem_t *s = sd->s;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++)
    bad += syssem_try_acquire(s, 0) != SYSSEM_ETIMEDOUT;
  t = now_ns() - t;
  failures += bad;
  return t;
}

static double sv_try(side_t *sd, long n)
{
  struct sembuf down = { 0, -1, IPC_NOWAIT };
  int id = sd->id;
  long i, bad = 0;
  double t;

  down.sem_flg = (short)(down.sem_flg | sd->undo);
  t = now_ns();
  for (i = 0; i < n; i++)
    bad += semop(id, &down, 1) == 0 || errno != EAGAIN;
  t = now_ns() - t;
  failures += bad;
  return t;
}

static double px_try(side_t *sd, long n)
{
  sem_t *p = sd->px;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++)
    bad += sem_trywait(p) == 0 || errno != EAGAIN;
  t = now_ns() - t;
  failures += bad;
  return t;
}

/* Cross-process ping-pong ------------------------------------------------------ */

/* The parent posts A and waits on B, the child waits on A and posts B: one
 * round trip per round. After its rounds the child waits on A once more. Each repetition makes fresh semaphores and a fresh
 * child, so no SEM_UNDO adjustment outlives it. */
typedef struct pp_ops {
  void (*make)(side_t *sd);
  void (*child)(side_t *sd, long rounds);
  long (*parent)(side_t *sd, long rounds); /* returns failures */
  void (*let_go)(side_t *sd);              /* post A once more    */
  void (*destroy)(side_t *sd);
} pp_ops_t;

/* Two semaphores per side: A in the side's fields, B here. */
static struct {
  syssem_t *s;
  int id;
  sem_t *px;
  char name[PATH_MAX + 2];
} pp_b;

static void lib_pp_make(side_t *sd)
{
  char kb[72];

  snprintf(kb, sizeof kb, "%sb", sd->key);
  sd->s = lib_open(sd, sd->key, 0, SYSSEM_CREATE_NEW);
  pp_b.s = lib_open(sd, kb, 0, SYSSEM_CREATE_NEW);
}

static void lib_pp_child(side_t *sd, long rounds)
{
  syssem_t *a = sd->s, *b = pp_b.s;
  long i;

  for (i = 0; i < rounds; i++) {
    syssem_acquire(a);
    syssem_release(b, 1);
  }
  syssem_acquire(a);
}

static void lib_pp_let_go(side_t *sd)
{
  syssem_release(sd->s, 1);
}

static long lib_pp_parent(side_t *sd, long rounds)
{
  syssem_t *a = sd->s, *b = pp_b.s;
  long i, bad = 0;

  for (i = 0; i < rounds; i++) {
    bad += syssem_release(a, 1) != SYSSEM_OK;
    bad += syssem_acquire(b) != SYSSEM_OK;
  }
  return bad;
}

static void lib_pp_destroy(side_t *sd)
{
  syssem_close(sd->s);
  syssem_close(pp_b.s);
  sd->s = pp_b.s = NULL;
}

static void sv_pp_make(side_t *sd)
{
  sd->id = sv_make(0);
  pp_b.id = sv_make(0);
}

static void sv_pp_child(side_t *sd, long rounds)
{
  struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
  long i;

  down.sem_flg = up.sem_flg = sd->undo;
  for (i = 0; i < rounds; i++) {
    semop(sd->id, &down, 1);
    semop(pp_b.id, &up, 1);
  }
  semop(sd->id, &down, 1);
}

static void sv_pp_let_go(side_t *sd)
{
  struct sembuf up = { 0, 1, 0 };

  up.sem_flg = sd->undo;
  semop(sd->id, &up, 1);
}

static long sv_pp_parent(side_t *sd, long rounds)
{
  struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
  long i, bad = 0;

  down.sem_flg = up.sem_flg = sd->undo;
  for (i = 0; i < rounds; i++) {
    bad += semop(sd->id, &up, 1) != 0;
    bad += semop(pp_b.id, &down, 1) != 0;
  }
  return bad;
}

static void sv_pp_destroy(side_t *sd)
{
  semctl(sd->id, 0, IPC_RMID);
  semctl(pp_b.id, 0, IPC_RMID);
}

static void px_pp_make(side_t *sd)
{
  snprintf(pp_b.name, sizeof pp_b.name, "%sb", sd->name);
  sd->px = px_make(sd->name, 0);
  pp_b.px = px_make(pp_b.name, 0);
}

static void px_pp_child(side_t *sd, long rounds)
{
  sem_t *a = sd->px, *b = pp_b.px;
  long i;

  for (i = 0; i < rounds; i++) {
    sem_wait(a);
    sem_post(b);
  }
  sem_wait(a);
}

static void px_pp_let_go(side_t *sd)
{
  sem_post(sd->px);
}

static long px_pp_parent(side_t *sd, long rounds)
{
  sem_t *a = sd->px, *b = pp_b.px;
  long i, bad = 0;

  for (i = 0; i < rounds; i++) {
    bad += sem_post(a) != 0;
    bad += sem_wait(b) != 0;
  }
  return bad;
}

static void px_pp_destroy(side_t *sd)
{
  px_destroy(sd->px, sd->name);
  px_destroy(pp_b.px, pp_b.name);
}

static const pp_ops_t lib_pp = { lib_pp_make, lib_pp_child, lib_pp_parent,
                                 lib_pp_let_go, lib_pp_destroy };
static const pp_ops_t sv_pp = { sv_pp_make, sv_pp_child, sv_pp_parent,
                                sv_pp_let_go, sv_pp_destroy };
static const pp_ops_t px_pp = { px_pp_make, px_pp_child, px_pp_parent,
                                px_pp_let_go, px_pp_destroy };

/* A round trip takes microseconds: a repetition that has not ended after
 * two minutes never will (a child gone); do not hang the benchmark run. */
static void on_stuck(int sig)
{
  static const char msg[] = "bench: ping-pong stuck, giving up\n";

  ssize_t r = write(2, msg, sizeof msg - 1);

  (void)sig;
  (void)r;
  _exit(3);
}

static double pingpong(side_t *sd, const pp_ops_t *ops, long n)
{
  pid_t pid;
  double t;
  int status;

  ops->make(sd);
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    /* Finish the rounds even when the run is being stopped (the parent
     * finishes them too), and never outlive the parent. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    ops->child(sd, n + 1);
    _exit(0);
  }
  signal(SIGALRM, on_stuck);
  alarm(120);
  /* One untimed round: the child is up and running. */
  failures += ops->parent(sd, 1);
  t = now_ns();
  failures += ops->parent(sd, n);
  t = now_ns() - t;
  /* Let the child go: with SEM_UNDO its exit takes back what it released,
   * so it waits on A until the parent has taken all of it. */
  ops->let_go(sd);
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    failures++;
  alarm(0);
  ops->destroy(sd);
  return t;
}

static double lib_pingpong(side_t *sd, long n)
{
  return pingpong(sd, &lib_pp, n);
}

static double sv_pingpong(side_t *sd, long n)
{
  return pingpong(sd, &sv_pp, n);
}

static double px_pingpong(side_t *sd, long n)
{
  return pingpong(sd, &px_pp, n);
}

/* Create+destroy and attach+detach with a legacy key ---------------------------- */

/* sd->create: the key is absent, the handle creates the object (SYSSEM_OPEN
 * on an absent key) and closing it removes it. Otherwise a keeper holds the
 * object; the handle attaches and detaches. */
static double lib_open_close(side_t *sd, long n)
{
  syssem_options_t o = lib_options(sd);
  syssem_t *s;
  long i, bad = 0;
  double t = now_ns();

  for (i = 0; i < n; i++) {
    if (syssem_open_ex(&s, sd->key, sd->create, SYSSEM_OPEN, &o) != SYSSEM_OK) {
      bad++;
      continue;
    }
    bad += syssem_created(s) != sd->create;
    syssem_close(s);
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

/* The raw sequences are the least a careful program does for the same
 * outcome and the same guarantees, knowing whether the object exists.
 *
 * System V, create: make the key file (exclusive, no symlink followed, exact
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
  key = ftok(path, 'Q');
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

static double sv_open_close(side_t *sd, long n)
{
  long i, bad = 0;
  int id;
  double t = now_ns();

  for (i = 0; i < n; i++) {
    id = sv_raw_open(sd->name, sd->create);
    bad += id < 0;
    if (sd->create) {
      semctl(id, 0, IPC_RMID);
      unlink(sd->name);
    }
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

/* POSIX, create: exclusively, then set the exact permissions (sem_open
 * applies the umask). Attach: open the existing one. */
static sem_t *px_raw_open(const char *name, const char *shm_path, int create)
{
  sem_t *p;

  if (!create)
    return sem_open(name, 0);
  p = sem_open(name, O_CREAT | O_EXCL, 0600, 1u);
  if (p != SEM_FAILED)
    chmod(shm_path, 0600);
  return p;
}

/* Where the C library keeps "/x", as libsyssem computes it for chmod(). */
static void px_shm_path(const char *name, char *out, size_t len)
{
#if defined(__GLIBC__)
  snprintf(out, len, "/dev/shm/sem.%s", name + 1);
#else
  snprintf(out, len, "/dev/shm/%s", name + 1);
#endif
}

static double px_open_close(side_t *sd, long n)
{
  char shm[PATH_MAX + 16];
  sem_t *p;
  long i, bad = 0;
  double t;

  px_shm_path(sd->name, shm, sizeof shm);
  t = now_ns();
  for (i = 0; i < n; i++) {
    p = px_raw_open(sd->name, shm, sd->create);
    if (p == SEM_FAILED) {
      bad++;
      continue;
    }
    sem_close(p);
    if (sd->create)
      sem_unlink(sd->name);
  }
  t = now_ns() - t;
  failures += bad;
  return t;
}

#ifdef BENCH_HAVE_QT
static double qt_open_close(side_t *sd, long n)
{
  double t = now_ns();

  failures += bench_qt_open_close(sd->key, sd->create, n);
  return now_ns() - t;
}
#endif

/* Callgrind mode ---------------------------------------------------------------- */

/* Set by --callgrind: compare() runs only the matching side, once, n ops. */
static struct {
  const char *what, *backend, *side;
  long n;
  int done;
} cg;

/* Callgrind counts only inside this function (--toggle-collect): n
 * operations plus a constant that callgrind.sh cancels by running n and 2n. */
__attribute__((noinline)) double bench_measure(side_t *sd, long n)
{
  return sd->run(sd, n);
}

/* In callgrind mode: run lib or ref if this comparison is the one asked. */
static void callgrind_run(const char *what, side_t *lib, side_t *ref)
{
  int qt = strcmp(ref->label, "QSystemSemaphore") == 0;

  if (cg.done || strcmp(what, cg.what) != 0 ||
      strcmp(lib->label, cg.backend) != 0)
    return;
  if (strcmp(cg.side, "lib") == 0 && !qt)
    bench_measure(lib, cg.n);
  else if (strcmp(cg.side, qt ? "qt" : "raw") == 0)
    bench_measure(ref, cg.n);
  else
    return;
  cg.done = 1;
}

/* The comparison loop --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Operations per repetition: double from n0 until the reference side takes
 * the time budget, at most nmax. */
static long calibrate(side_t *ref, long n0, long nmax)
{
  double budget = quick ? 2e6 : 20e6;
  long n = n0;

  while (ref->run(ref, n) < budget && n < nmax)
    n = n * 2 < nmax ? n * 2 : nmax;
  return n;
}

static int met_count, missed_count;

/* Time lib and ref in turns, print one row. target <= 0: no target. */
static void compare(const char *what, side_t *lib, side_t *ref, long n0,
                    long nmax, double target)
{
  double tl[MAX_REPS], tr[MAX_REPS], ratio[MAX_REPS], ml, mr, mq;
  long n, before = failures;
  int i;

  if (cg.n > 0) {
    callgrind_run(what, lib, ref);
    return;
  }
  if (stopping)
    return;
  n = calibrate(ref, n0, nmax);
  lib->run(lib, n); /* warm up */
  for (i = 0; i < reps && !stopping; i++) {
    if (i % 2 == 0) {
      tl[i] = lib->run(lib, n);
      tr[i] = ref->run(ref, n);
    } else {
      tr[i] = ref->run(ref, n);
      tl[i] = lib->run(lib, n);
    }
    ratio[i] = tl[i] / tr[i];
  }
  if (stopping)
    return;
  ml = median(tl, reps) / (double)n;
  mr = median(tr, reps) / (double)n;
  mq = median(ratio, reps);
  printf("%-16s %-12s %10.1f %10.1f  %-22s %6.3f", what, lib->label, ml, mr,
         ref->label, mq);
  if (target > 0) {
    printf("  %5.2fx  %s", target, mq <= target ? "met" : "MISSED");
    if (mq <= target)
      met_count++;
    else
      missed_count++;
  } else {
    printf("  %6s  %s", "-", "-");
  }
  if (failures != before)
    printf("  (%ld failed operations)", failures - before);
  printf("\n");
  fflush(stdout);
}

/* Cases ---------------------------------------------------------------------- */

static void init_side(side_t *sd, const char *label, int backend,
                      double (*run)(side_t *, long))
{
  memset(sd, 0, sizeof *sd);
  sd->label = label;
  sd->backend = backend;
  sd->run = run;
  sd->id = -1;
  sd->px = SEM_FAILED;
}

static void key_for(char *out, size_t len, const char *what)
{
  snprintf(out, len, "bench%ld%s", (long)getpid(), what);
}

/* Acquire+release and try_acquire(0), one backend (System V with or without
 * undo, or POSIX). */
static void bench_hot(int backend, int undo)
{
  static const char *const labels[] = { "sysv", "sysv-noundo", "posix" };
  const char *label = labels[backend == SYSSEM_BACKEND_POSIX ? 2 : !undo];
  side_t lib, raw;
  double target = backend == SYSSEM_BACKEND_POSIX ? 1.10 : 1.03;

  init_side(&lib, label, backend, lib_pair);
  lib.flags = undo ? 0 : SYSSEM_NO_UNDO;
  key_for(lib.key, sizeof lib.key, "pair");
  lib.s = lib_open(&lib, lib.key, 1, SYSSEM_CREATE_NEW);
  if (backend == SYSSEM_BACKEND_SYSV) {
    init_side(&raw, undo ? "semop SEM_UNDO" : "semop", backend, sv_pair);
    raw.undo = undo ? SEM_UNDO : 0;
    raw.id = sv_make(1);
  } else {
    init_side(&raw, "sem_wait+sem_post", backend, px_pair);
    snprintf(raw.name, sizeof raw.name, "/bench%ldraw", (long)getpid());
    raw.px = px_make(raw.name, 1);
  }
  compare("acquire+release", &lib, &raw, 100000, 1L << 26, target);
  if (backend == SYSSEM_BACKEND_POSIX) {
    side_t floor_side = raw;

    floor_side.label = "floor";
    floor_side.run = floor_pair;
    compare("acquire+release", &floor_side, &raw, 100000, 1L << 26, 0);
  }

  /* Both empty now for try_acquire(0). */
  syssem_acquire(lib.s);
  lib.run = lib_try;
  if (backend == SYSSEM_BACKEND_SYSV) {
    struct sembuf take = { 0, -1, IPC_NOWAIT };
    semop(raw.id, &take, 1);
    raw.label = undo ? "semop NOWAIT|UNDO" : "semop IPC_NOWAIT";
    raw.run = sv_try;
  } else {
    sem_trywait(raw.px);
    raw.label = "sem_trywait";
    raw.run = px_try;
  }
  compare("try_acquire(0)", &lib, &raw, 100000, 1L << 26, 0);

  syssem_close(lib.s);
  if (backend == SYSSEM_BACKEND_SYSV)
    semctl(raw.id, 0, IPC_RMID);
  else
    px_destroy(raw.px, raw.name);
}

#ifdef BENCH_HAVE_QT
/* QSystemSemaphore (System V here) against libsyssem's System V backend. */
static void bench_qt_hot(void)
{
  side_t lib, qt;
  char qkey[64];

  init_side(&lib, "sysv", SYSSEM_BACKEND_SYSV, lib_pair);
  key_for(lib.key, sizeof lib.key, "qpair");
  lib.s = lib_open(&lib, lib.key, 1, SYSSEM_CREATE_NEW);
  init_side(&qt, "QSystemSemaphore", SYSSEM_BACKEND_SYSV, qt_pair);
  key_for(qkey, sizeof qkey, "qtpair");
  qt.qt = bench_qt_new(qkey, 1);
  if (qt.qt == NULL) {
    fprintf(stderr, "bench: QSystemSemaphore could not be made\n");
  } else {
    compare("acquire+release", &lib, &qt, 100000, 1L << 26, 0);
    bench_qt_delete(qt.qt);
  }
  syssem_close(lib.s);
}
#endif

static void bench_pingpong(int backend)
{
  side_t lib, raw;

  init_side(&lib, backend == SYSSEM_BACKEND_POSIX ? "posix" : "sysv", backend,
            lib_pingpong);
  key_for(lib.key, sizeof lib.key, "pp");
  if (backend == SYSSEM_BACKEND_SYSV) {
    init_side(&raw, "semop SEM_UNDO", backend, sv_pingpong);
    raw.undo = SEM_UNDO;
  } else {
    init_side(&raw, "sem_post+sem_wait", backend, px_pingpong);
    snprintf(raw.name, sizeof raw.name, "/bench%ldpp", (long)getpid());
  }
  compare("ping-pong", &lib, &raw, 1000, PP_MAX_ROUNDS, 1.05);
}

/* Create+destroy and attach+detach, with the Qt rows where Qt is built. */
static void bench_open(int backend)
{
  side_t lib, raw, qt;
  syssem_t *keeper;
  sem_t *px = SEM_FAILED;
  char rawkey[64];
  int id = -1;
  int with_qt = 0;

  init_side(&lib, backend == SYSSEM_BACKEND_POSIX ? "posix" : "sysv", backend,
            lib_open_close);
  key_for(lib.key, sizeof lib.key, "open");
  key_for(rawkey, sizeof rawkey, "rawopen");
  init_side(&raw, "raw sequence", backend,
            backend == SYSSEM_BACKEND_SYSV ? sv_open_close : px_open_close);
  lib_native_name(&lib, rawkey, raw.name, sizeof raw.name);
#ifdef BENCH_HAVE_QT
  with_qt = backend == SYSSEM_BACKEND_SYSV;
  init_side(&qt, "QSystemSemaphore", backend, qt_open_close);
  key_for(qt.key, sizeof qt.key, "qtopen");
#endif
  lib.create = raw.create = qt.create = 1;
  compare("create+destroy", &lib, &raw, 200, 1L << 22, 1.25);
  if (with_qt)
    compare("create+destroy", &lib, &qt, 200, 1L << 22, 0.5);

  /* Attach+detach: the objects exist, held by keepers. */
  lib.create = raw.create = qt.create = 0;
  keeper = lib_open(&lib, lib.key, 1, SYSSEM_CREATE_NEW);
  if (backend == SYSSEM_BACKEND_SYSV) {
    id = sv_raw_open(raw.name, 1);
    if (id < 0)
      die("raw open");
  } else {
    px = px_make(raw.name, 1);
  }
  compare("open+close", &lib, &raw, 200, 1L << 22, 1.25);
#ifdef BENCH_HAVE_QT
  if (with_qt) {
    void *qkeeper = bench_qt_new(qt.key, 1);
    if (qkeeper != NULL)
      compare("open+close", &lib, &qt, 200, 1L << 22, 0.5);
    bench_qt_delete(qkeeper);
  }
#endif

  syssem_close(keeper);
  if (backend == SYSSEM_BACKEND_SYSV) {
    semctl(id, 0, IPC_RMID);
    unlink(raw.name);
  } else {
    px_destroy(px, raw.name);
  }
}

/* Main ------------------------------------------------------------------------ */

static void print_machine(int cpu)
{
  struct utsname u;
  char line[256], model[200] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");

  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
      snprintf(model, sizeof model, "%s", colon + 2);
      model[strcspn(model, "\n")] = '\0';
      break;
    }
  }
  if (f != NULL)
    fclose(f);
  uname(&u);
  printf("libsyssem %s benchmark\n", syssem_version());
  printf("machine: %s %s %s, %s, %ld CPUs\n", u.sysname, u.release, u.machine,
         model, sysconf(_SC_NPROCESSORS_ONLN));
#ifdef BENCH_HAVE_QT
  printf("Qt: %s (QSystemSemaphore, System V)\n", bench_qt_version());
#else
  printf("Qt: not built in\n");
#endif
  if (cpu >= 0)
    printf("pinned to CPU %d (ping-pong: both processes on it)\n", cpu);
  else
    printf("not pinned\n");
  printf("%d repetitions, lib and reference in turns; ns per operation "
         "(a pair, a round trip, an open+close); ratio = median of "
         "lib/reference per repetition\n\n",
         reps);
}

/* Run on one CPU: the ping-pong pair then measures two context switches per
 * round trip, not the wake-up latency of an idle CPU (which, in a virtual
 * machine, varies by half from run to run); the rest is spared migrations.
 * Returns the CPU, or -1. */
static int pin(void)
{
  cpu_set_t set;
  int cpu;

  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return -1;
  for (cpu = CPU_SETSIZE - 1; cpu >= 0 && !CPU_ISSET(cpu, &set); cpu--)
    ;
  if (cpu < 0)
    return -1;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

static void usage(void)
{
  fprintf(stderr, "usage: bench [--quick] [--reps R] [--no-pin]\n"
                  "       bench --callgrind CASE BACKEND lib|raw|qt N\n");
  exit(2);
}

int main(int argc, char **argv)
{
  struct sigaction sa;
  const char *q = getenv("BENCH_QUICK");
  int i, cpu = -2;

  setvbuf(stdout, NULL, _IOLBF, 0);
  quick = q != NULL && *q != '\0' && strcmp(q, "0") != 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-pin") == 0) {
      cpu = -1;
    } else if (strcmp(argv[i], "--callgrind") == 0 && i + 4 < argc) {
      cg.what = argv[++i];
      cg.backend = argv[++i];
      cg.side = argv[++i];
      cg.n = atol(argv[++i]);
      if (cg.n <= 0)
        usage();
    } else {
      usage();
    }
  }
  if (quick)
    reps = 3;
  if (reps < 1 || reps > MAX_REPS)
    usage();

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if (cg.n == 0) {
    if (cpu == -2)
      cpu = pin();
    print_machine(cpu);
    printf("%-16s %-12s %10s %10s  %-22s %6s  %6s  %s\n", "case", "backend",
           "lib ns/op", "ref ns/op", "reference", "ratio", "target",
           "result");
  }
  bench_hot(SYSSEM_BACKEND_SYSV, 1);
  bench_hot(SYSSEM_BACKEND_SYSV, 0);
  bench_hot(SYSSEM_BACKEND_POSIX, 0);
#ifdef BENCH_HAVE_QT
  bench_qt_hot();
#endif
  bench_pingpong(SYSSEM_BACKEND_SYSV);
  bench_pingpong(SYSSEM_BACKEND_POSIX);
  bench_open(SYSSEM_BACKEND_SYSV);
  bench_open(SYSSEM_BACKEND_POSIX);

  if (cg.n > 0) {
    if (!cg.done)
      fprintf(stderr, "bench: no case %s %s %s\n", cg.what, cg.backend,
              cg.side);
    else if (failures)
      fprintf(stderr, "bench: %ld failed operations\n", failures);
    return !cg.done || failures != 0;
  }
  if (stopping) {
    printf("\nstopped by a signal; objects removed\n");
    return 0;
  }
  printf("\ntargets: %d met, %d missed%s\n", met_count, missed_count,
         failures ? " (some operations FAILED: see above)" : "");
  return 0;
}
