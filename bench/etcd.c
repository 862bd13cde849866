/*
 * bench-etcd: the etcd backend against etcd itself, on a one-member cluster
 * this program starts on 127.0.0.1 (data on tmpfs where there is one) and
 * stops. Prints, never judges:
 *
 *   1. an uncontended acquire+release against the raw round trips it needs:
 *      etcd's own transaction (a put, through the same JSON gateway, on a
 *      kept-alive connection), timed in the same run; the ratio, and the
 *      requests one pair makes, counted by a proxy;
 *   2. the wake-up latency from a release in one process to the return of
 *      an acquire blocked in another, p50 and p99, against a waiter that
 *      polls every 10 ms as the peers do (redis-semaphore's default retry
 *      interval), measured the same way in the same run.
 *
 *   bench-etcd [--quick]      (BENCH_QUICK=1 as well)
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syssem.h"
#include "../tests/etcd/cluster.h"
#include "../tests/etcd/proxy.h"

static struct etcd_cluster C;

static double now_us(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted values. */
static double q(const double *v, int n, double quantile)
{
  int i = (int)(quantile * (n - 1) + 0.5);

  return v[i < n ? i : n - 1];
}

static void die(const char *what)
{
  fprintf(stderr, "bench-etcd: %s: %s\n", what, syssem_last_error_message());
  cluster_stop(&C);
  exit(1);
}

static size_t sink(char *d, size_t s, size_t n, void *arg)
{
  (void)d;
  (void)arg;
  return s * n;
}

/* etcd's own round trip: one transaction that puts a key, as each of our
 * changes is one transaction, on a connection kept alive. Median, in us;
 * the 99th percentile in *p99. */
static double raw_txn(int n, double *p99)
{
  char url[100];
  /* {"success":[{"request_put":{"key":"/bench/raw","value":"1"}}]} */
  const char *body = "{\"success\":[{\"request_put\":{\"key\":\"L2JlbmNoL3Jhdw==\","
                     "\"value\":\"MQ==\"}}]}";
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  double *t = malloc(sizeof *t * (size_t)n), m;
  CURL *e = curl_easy_init();
  int i;

  snprintf(url, sizeof url, "http://127.0.0.1:%d/v3/kv/txn", C.node[0].client);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  for (i = -20; i < n; i++) {
    double t0 = now_us();

    if (curl_easy_perform(e) != CURLE_OK) {
      fprintf(stderr, "bench-etcd: raw txn failed\n");
      exit(1);
    }
    if (i >= 0)
      t[i] = now_us() - t0;
  }
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  qsort(t, (size_t)n, sizeof *t, cmp);
  m = q(t, n, 0.5);
  *p99 = q(t, n, 0.99);
  free(t);
  return m;
}

/* Uncontended acquire + release on key. Median per pair, in us. */
static double pairs(const char *key, int n)
{
  syssem_t *s = syssem_open(key, 1, SYSSEM_OPEN);
  double *t = malloc(sizeof *t * (size_t)n), m;
  int i;

  if (s == NULL)
    die("open");
  for (i = -20; i < n; i++) {
    double t0 = now_us();

    if (syssem_acquire(s) != SYSSEM_OK || syssem_release(s, 1) != SYSSEM_OK)
      die("acquire/release");
    if (i >= 0)
      t[i] = now_us() - t0;
  }
  syssem_close(s);
  qsort(t, (size_t)n, sizeof *t, cmp);
  m = q(t, n, 0.5);
  free(t);
  return m;
}

/* Requests a pair makes, warm (the lease granted, the state known). */
static double requests_per_pair(int n)
{
  struct proxy *p = proxy_start(C.node[0].client);
  char key[200];
  syssem_t *s;
  int i, before;

  if (p == NULL) {
    fprintf(stderr, "bench-etcd: proxy\n");
    exit(1);
  }
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/bench/count", proxy_port(p));
  s = syssem_open(key, 1, SYSSEM_OPEN);
  if (s == NULL || syssem_acquire(s) != SYSSEM_OK ||
      syssem_release(s, 1) != SYSSEM_OK)
    die("counted pair");
  before = proxy_requests(p);
  for (i = 0; i < n; i++)
    if (syssem_acquire(s) != SYSSEM_OK || syssem_release(s, 1) != SYSSEM_OK)
      die("counted pair");
  i = proxy_requests(p) - before;
  syssem_close(s);
  syssem_remove(key, NULL);
  proxy_stop(p);
  return (double)i / n;
}

/* Take a token as a peer that polls every poll_ms would. */
static int poll_acquire(syssem_t *w, int poll_ms)
{
  struct timespec t = { 0, poll_ms * 1000000L };
  int r;

  while ((r = syssem_try_acquire(w, 0)) == SYSSEM_ETIMEDOUT)
    nanosleep(&t, NULL);
  return r;
}

/* A process waiting for a token gets the one another releases: from just
 * before the release to just after the acquire returns, n times; the
 * waiter blocks in acquire (poll_ms 0) or polls every poll_ms. The clocks
 * are one (CLOCK_MONOTONIC, one machine). */
static void wake_latency(const char *key, int n, int poll_ms, double *p50,
                         double *p99)
{
  int up[2], down[2], i;
  double *t = malloc(sizeof *t * (size_t)n);
  syssem_t *s;
  pid_t pid;

  if (pipe(up) != 0 || pipe(down) != 0)
    die("pipe");
  s = syssem_open(key, 0, SYSSEM_CREATE);
  if (s == NULL)
    die("open");
  pid = fork();
  if (pid == 0) {
    syssem_t *w = syssem_open(key, 0, SYSSEM_OPEN);
    double got;
    char c;

    if (w == NULL)
      _exit(1);
    for (;;) {
      /* Ready; the parent releases a while after, so that this acquire
       * is waiting on its watch by then. */
      if (write(up[1], "r", 1) != 1)
        _exit(1);
      if ((poll_ms ? poll_acquire(w, poll_ms) : syssem_acquire(w)) !=
          SYSSEM_OK)
        _exit(1);
      got = now_us();
      if (write(up[1], &got, sizeof got) != sizeof got ||
          read(down[0], &c, 1) != 1 || c != 'n')
        break;
    }
    syssem_close(w);
    _exit(0);
  }
  for (i = -5; i < n; i++) {
    struct timespec settle = { 0, 30 * 1000000L };
    double t0, t1;
    char c;

    if (read(up[0], &c, 1) != 1)
      die("waiter");
    nanosleep(&settle, NULL);
    t0 = now_us();
    if (syssem_release(s, 1) != SYSSEM_OK)
      die("release");
    if (read(up[0], &t1, sizeof t1) != sizeof t1)
      die("waiter");
    if (i >= 0)
      t[i] = t1 - t0;
    if (write(down[1], i + 1 < n ? "n" : "q", 1) != 1)
      die("waiter");
  }
  waitpid(pid, NULL, 0);
  syssem_close(s);
  qsort(t, (size_t)n, sizeof *t, cmp);
  *p50 = q(t, n, 0.5);
  *p99 = q(t, n, 0.99);
  free(t);
}

int main(int argc, char **argv)
{
  int quick = (argc > 1 && strcmp(argv[1], "--quick") == 0) ||
              getenv("BENCH_QUICK") != NULL;
  int n = quick ? 100 : 1000, wakes = quick ? 40 : 300;
  char key[300], wake[300];
  double raw, raw99, pair, reqs, p50, p99, poll50, poll99;

  if (!cluster_available()) {
    printf("bench-etcd: etcd is not installed (Debian: etcd-server)\n");
    return 77;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (cluster_start(&C, 1, 0, 0) != 0)
    return 1;
  cluster_key(&C, key, sizeof key, "bench/pair", "ttl=10");
  cluster_key(&C, wake, sizeof wake, "bench/wake", "ttl=10");

  printf("etcd on 127.0.0.1, one member, data on %s; %d pairs, %d wake-ups\n",
         strncmp(C.root, "/dev/shm", 8) == 0 ? "tmpfs" : "disk", n, wakes);
  /* Interleaved, so that both see the same machine. */
  raw = raw_txn(n / 2, &raw99);
  pair = pairs(key, n / 2);
  raw = (raw + raw_txn(n / 2, &raw99)) / 2;
  pair = (pair + pairs(key, n / 2)) / 2;
  reqs = requests_per_pair(quick ? 20 : 100);
  printf("\n1. uncontended acquire + release (medians)\n");
  printf("   etcd txn round trip, raw       %8.0f us   (p99 %.0f us)\n", raw,
         raw99);
  printf("   libsyssem acquire + release    %8.0f us   = %.2f x 2 raw "
         "round trips\n", pair, pair / (2 * raw));
  printf("   requests per acquire + release %8.2f      (each one txn; a "
         "first use adds the lease grant and a range)\n", reqs);

  /* Interleaved halves again. */
  wake_latency(wake, wakes / 2, 0, &p50, &p99);
  wake_latency(wake, wakes / 2, 10, &poll50, &poll99);
  {
    double a, b, c, d;

    wake_latency(wake, wakes / 2, 0, &a, &b);
    wake_latency(wake, wakes / 2, 10, &c, &d);
    p50 = (p50 + a) / 2;
    p99 = (p99 + b) / 2;
    poll50 = (poll50 + c) / 2;
    poll99 = (poll99 + d) / 2;
  }
  printf("\n2. wake-up, release in one process -> acquire returns in another\n");
  printf("   libsyssem, blocked (a watch)  p50 %6.2f ms   p99 %6.2f ms\n",
         p50 / 1000, p99 / 1000);
  printf("   polling every 10 ms (peers)   p50 %6.2f ms   p99 %6.2f ms\n",
         poll50 / 1000, poll99 / 1000);
  printf("   ratio                         p50 %6.2f      p99 %6.2f\n",
         p50 / poll50, p99 / poll99);

  syssem_remove(key, NULL);
  syssem_remove(wake, NULL);
  cluster_stop(&C);
  return 0;
}
