/*
 * What users of a semaphore feel under load: throughput of N processes (or
 * threads) cycling acquire+release on a count-1 and a count-4 semaphore,
 * how evenly the tokens are shared among them (fairness), and how long a
 * waiter in another process takes to return once the token is released
 * (hand-off latency). Every implementation in one run, in turns, so that
 * their ratios survive the noise of a shared machine.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "cases.h"

#define MAX_WORKERS 16
#define MAX_IMPLS 8
#define MAX_ROUNDS 9
#define MAX_SAMPLES 4000

/* Every implementation, and the raw calls its ratios are taken against. */
static const bench_impl_t *impls[MAX_IMPLS];
static const bench_impl_t *baseline[MAX_IMPLS];
static int nimpls;

static void list_impls(void)
{
  static const bench_impl_t *const all[] = {
    &bench_syssem_sysv, &bench_raw_sysv, &bench_syssem_posix, &bench_raw_posix,
  };
  size_t i;

  nimpls = 0;
  for (i = 0; i < sizeof all / sizeof all[0]; i++)
    impls[nimpls++] = all[i];
  if (bench_qt != NULL)
    impls[nimpls++] = bench_qt;
  if (bench_boost != NULL)
    impls[nimpls++] = bench_boost;
  for (i = 0; i < (size_t)nimpls; i++)
    baseline[i] = strcmp(impls[i]->primitive, "sysv") == 0 ? &bench_raw_sysv
                                                           : &bench_raw_posix;
}

static int impl_index(const bench_impl_t *im)
{
  int i;

  for (i = 0; i < nimpls && impls[i] != im; i++)
    ;
  return i;
}

/* Shared by the parent and its workers (an anonymous shared mapping): the
 * ledger that checks the semaphore, and what each worker counted. */
typedef struct shared {
  atomic_int ready;     /* workers attached and waiting for the start     */
  atomic_int stop;
  atomic_int holders;   /* workers between acquire and release          */
  atomic_int over;      /* times there were more holders than tokens    */
  atomic_long failed;   /* operations that failed                       */
  struct {
    atomic_long n;      /* acquisitions so far                          */
    char pad[56];
  } count[MAX_WORKERS];
  /* Hand-off latency. */
  atomic_long waiting;  /* the waiter is about to wait for token n      */
  double released;      /* when the parent released it                  */
  double lat[MAX_SAMPLES];
} shared_t;

static shared_t *sh;

/* Every implementation, the shared page, every CPU. */
static void begin(void)
{
  list_impls();
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
            -1, 0);
  if (sh == MAP_FAILED)
    bench_die("mmap");
  bench_unpin();
}

static void end(void)
{
  munmap(sh, sizeof *sh);
  sh = NULL;
}

typedef struct worker {
  const bench_impl_t *im;
  const char *key;
  int w, tokens;
  int go; /* read end of the start pipe: EOF means go */
} worker_t;

/* Acquire, note the holder in the ledger, release; count. A worker blocked
 * when stop is set gets its token from the others as they leave. */
static void *work(void *arg)
{
  worker_t *wk = arg;
  const bench_impl_t *im = wk->im;
  void *h = im->attach(wk->key);
  long k = 0;
  char c;

  if (h == NULL)
    atomic_fetch_add(&sh->failed, 1);
  atomic_fetch_add(&sh->ready, 1);
  while (read(wk->go, &c, 1) < 0 && errno == EINTR)
    ;
  if (h == NULL)
    return NULL;
  while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
    if (im->acquire(h) != 0) {
      atomic_fetch_add(&sh->failed, 1);
      break;
    }
    if (atomic_fetch_add(&sh->holders, 1) >= wk->tokens)
      atomic_fetch_add(&sh->over, 1);
    atomic_fetch_sub(&sh->holders, 1);
    if (im->release(h) != 0) {
      atomic_fetch_add(&sh->failed, 1);
      break;
    }
    atomic_store_explicit(&sh->count[wk->w].n, ++k, memory_order_relaxed);
  }
  im->close(h);
  return NULL;
}

static void nap(double ns)
{
  struct timespec t = { (time_t)(ns / 1e9), (long)((long long)ns % 1000000000LL) };

  while (nanosleep(&t, &t) != 0 && errno == EINTR)
    ;
}

/* One cell: n workers of im (processes, or threads when threads is set) on
 * a fresh semaphore with `tokens` tokens for a window of `window` ns.
 * Stores cycles per second and the fewest and most acquisitions of one
 * worker in the window. */
static void cell(const bench_impl_t *im, int threads, int tokens, int n,
                 double window, double *rate, long *fewest, long *most)
{
  worker_t wk[MAX_WORKERS];
  pthread_t tid[MAX_WORKERS];
  pid_t pid[MAX_WORKERS];
  long c0[MAX_WORKERS], d;
  char key[64];
  double t0, t1;
  void *h;
  int go[2], i, status;

  bench_key(key, sizeof key, "load");
  h = bench_create(im, key, tokens);
  memset(sh, 0, sizeof *sh);
  if (pipe(go) != 0)
    bench_die("pipe");
  fflush(NULL);
  for (i = 0; i < n; i++) {
    wk[i] = (worker_t){ im, key, i, tokens, go[0] };
    if (threads) {
      if (pthread_create(&tid[i], NULL, work, &wk[i]) != 0)
        bench_die("pthread_create");
      continue;
    }
    pid[i] = fork();
    if (pid[i] < 0)
      bench_die("fork");
    if (pid[i] == 0) {
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(go[1]);
      work(&wk[i]);
      _exit(0);
    }
  }
  bench_watchdog(120);
  /* Every worker attached (on a loaded machine starting 16 processes takes
   * longer than the warm-up), then go: every read() sees the pipe's end. */
  while (atomic_load(&sh->ready) < n)
    nap(1e6);
  close(go[1]);
  nap(window / 5);
  for (i = 0; i < n; i++)
    c0[i] = atomic_load(&sh->count[i].n);
  t0 = bench_now();
  nap(window);
  *fewest = -1;
  *most = 0;
  *rate = 0;
  for (i = 0; i < n; i++) {
    d = atomic_load(&sh->count[i].n) - c0[i];
    *rate += (double)d;
    if (*fewest < 0 || d < *fewest)
      *fewest = d;
    if (d > *most)
      *most = d;
  }
  t1 = bench_now();
  atomic_store(&sh->stop, 1);
  for (i = 0; i < n; i++) {
    if (threads) {
      pthread_join(tid[i], NULL);
    } else if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
               WEXITSTATUS(status) != 0) {
      atomic_fetch_add(&sh->failed, 1);
    }
  }
  bench_watchdog(0);
  close(go[0]);
  im->destroy(h);
  *rate /= (t1 - t0) / 1e9;
  bench_failures += atomic_load(&sh->failed);
  if (atomic_load(&sh->over) != 0) {
    fprintf(stderr, "bench: %s let more than %d hold a token %d times\n",
            im->name, tokens, atomic_load(&sh->over));
    bench_failures += atomic_load(&sh->over);
  }
}

static double median_of(const double *v, int n)
{
  double t[MAX_ROUNDS];

  memcpy(t, v, sizeof(double) * (size_t)n);
  return bench_median(t, n);
}

static long median_long(const long *v, int n)
{
  double t[MAX_ROUNDS];
  int i;

  for (i = 0; i < n; i++)
    t[i] = (double)v[i];
  return (long)bench_median(t, n);
}

static const int counts[] = { 1, 4 };
static const int ns_full[] = { 1, 2, 4, 8, 16 };
static const int ns_quick[] = { 1, 2, 4 };

void bench_case_contention(void)
{
  static double rate[2][2][5][MAX_IMPLS][MAX_ROUNDS];
  static long lo[2][2][5][MAX_IMPLS][MAX_ROUNDS], hi[2][2][5][MAX_IMPLS][MAX_ROUNDS];
  const int *ns = bench_quick ? ns_quick : ns_full;
  int nn = bench_quick ? 3 : 5, rounds = bench_quick ? 1 : 3;
  double window = bench_quick ? 20e6 : 250e6;
  int r, th, c, j, k, i, b;

  if (bench_callgrind_mode() || bench_stopping)
    return;
  begin();
  /* Round after round over every cell, the implementations of a cell in
   * turns (the first one rotating), so that each ratio compares runs made
   * seconds apart. */
  for (r = 0; r < rounds && !bench_stopping; r++)
    for (th = 0; th < 2; th++)
      for (c = 0; c < 2; c++)
        for (j = 0; j < nn; j++)
          for (k = 0; k < nimpls && !bench_stopping; k++) {
            i = (k + r + j) % nimpls;
            cell(impls[i], th, counts[c], ns[j], window,
                 &rate[th][c][j][i][r], &lo[th][c][j][i][r],
                 &hi[th][c][j][i][r]);
          }
  if (bench_stopping)
    goto out;

  bench_print("\ncontention: acquire+release cycles per second, all "
              "workers together (median of %d rounds of %.0f ms); ratio to "
              "the raw calls of the same primitive; fewest-most "
              "acquisitions of one worker in the window (medians)\n",
              rounds, window / 1e6);
  for (th = 0; th < 2; th++) {
    for (c = 0; c < 2; c++) {
      bench_print("\n%s, count %d\n%4s", th ? "threads" : "processes",
                  counts[c], "N");
      for (i = 0; i < nimpls; i++)
        bench_print("  %-24.24s", impls[i]->name);
      bench_print("\n");
      for (j = 0; j < nn; j++) {
        bench_print("%4d", ns[j]);
        for (i = 0; i < nimpls; i++) {
          double m = median_of(rate[th][c][j][i], rounds);
          double base = median_of(rate[th][c][j][impl_index(baseline[i])],
                                  rounds);
          double ratio[MAX_ROUNDS], q;
          int nr;
          long f = median_long(lo[th][c][j][i], rounds);
          long mo = median_long(hi[th][c][j][i], rounds);
          char cellbuf[64];

          /* The ratio of rates, round by round: raw/impl time per cycle;
           * a round in which either made no cycle (a worker starved of CPU
           * for the whole window) has none. */
          b = impl_index(baseline[i]);
          for (r = nr = 0; r < rounds; r++)
            if (rate[th][c][j][b][r] > 0 && rate[th][c][j][i][r] > 0)
              ratio[nr++] = rate[th][c][j][b][r] / rate[th][c][j][i][r];
          q = nr > 0 ? median_of(ratio, nr) : 0;
          snprintf(cellbuf, sizeof cellbuf, "%8.0f %5.2fx %ld-%ld", m, q, f,
                   mo);
          bench_print("  %-24s", cellbuf);
          bench_data("throughput", "%s\t%d\t%d\t%s\t%.1f\t%.4f\t%ld\t%ld\t%.1f",
                     th ? "threads" : "processes", counts[c], ns[j],
                     impls[i]->name, m, q, f, mo, base);
        }
        bench_print("\n");
      }
    }
  }
  bench_print("(ratio: time per cycle against the raw calls, >1 is slower)\n");
out:
  end();
}

/* Hand-off latency ------------------------------------------------------ */

/* Whether process pid is asleep (state S): the waiter is in the kernel,
 * waiting for the token, and the release must wake it. */
static int asleep(pid_t pid)
{
  char path[64], buf[256], *p;
  ssize_t len;
  int fd;

  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 1; /* no /proc: the yield below must do */
  len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0)
    return 1;
  buf[len] = '\0';
  p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' && p[2] == 'S';
}

/* `samples` hand-offs from this process to a waiter in a child: the child
 * attaches and waits on an empty semaphore; once it sleeps in the kernel the
 * parent notes the time and releases; the child notes how long it took to
 * return. lat[] gets the samples in ns. */
static void handoffs(const bench_impl_t *im, int samples, double *lat)
{
  char key[64], c;
  int done[2], i, status;
  pid_t pid;
  void *h;

  bench_key(key, sizeof key, "wake");
  h = bench_create(im, key, 0);
  memset(sh, 0, sizeof *sh);
  if (pipe(done) != 0)
    bench_die("pipe");
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    bench_die("fork");
  if (pid == 0) {
    void *w = im->attach(key);

    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(done[0]);
    for (i = 0; w != NULL && i < samples; i++) {
      atomic_store(&sh->waiting, i + 1);
      if (im->acquire(w) != 0)
        break;
      sh->lat[i] = bench_now() - sh->released;
      if (write(done[1], "", 1) != 1)
        break;
    }
    _exit(w == NULL || i < samples);
  }
  close(done[1]);
  bench_watchdog(120);
  for (i = 0; i < samples; i++) {
    while (atomic_load(&sh->waiting) != i + 1 || !asleep(pid))
      sched_yield();
    sh->released = bench_now();
    atomic_thread_fence(memory_order_seq_cst);
    if (im->release(h) != 0 || read(done[0], &c, 1) != 1) {
      bench_failures++;
      break;
    }
    lat[i] = sh->lat[i];
  }
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    bench_failures++;
  bench_watchdog(0);
  close(done[0]);
  im->destroy(h);
}

void bench_case_latency(void)
{
  static double lat[MAX_IMPLS][MAX_SAMPLES];
  const int per = bench_quick ? 50 : 200, rounds = bench_quick ? 1 : 10;
  double p50[MAX_IMPLS], p99[MAX_IMPLS], mx[MAX_IMPLS], t[MAX_SAMPLES];
  int r, k, i, s, total = per * rounds;

  if (bench_callgrind_mode() || bench_stopping)
    return;
  begin();
  for (r = 0; r < rounds && !bench_stopping; r++)
    for (k = 0; k < nimpls; k++) {
      i = (k + r) % nimpls;
      handoffs(impls[i], per, &lat[i][r * per]);
    }
  if (bench_stopping)
    goto out;
  for (i = 0; i < nimpls; i++) {
    for (s = 0; s < total; s++)
      bench_data("latency", "%s\t%.0f", impls[i]->name, lat[i][s]);
    memcpy(t, lat[i], sizeof(double) * (size_t)total);
    p50[i] = bench_quantile(t, total, 0.50);
    p99[i] = bench_quantile(t, total, 0.99);
    mx[i] = t[total - 1];
  }
  bench_print("\nhand-off latency: release in one process to the waiter's "
              "return in another, %d samples each; us, and the ratio to the "
              "raw calls of the same primitive\n%-24s %8s %8s %8s %7s %7s\n",
              total, "implementation", "p50", "p99", "max", "p50 x", "p99 x");
  for (i = 0; i < nimpls; i++) {
    int b = impl_index(baseline[i]);

    bench_print("%-24s %8.1f %8.1f %8.1f %6.2fx %6.2fx\n", impls[i]->name,
                p50[i] / 1e3, p99[i] / 1e3, mx[i] / 1e3, p50[i] / p50[b],
                p99[i] / p99[b]);
  }
out:
  end();
}
