/*
 * The etcd backend against a real etcd: what only a networked semaphore
 * has. Crash undo by lease (a killed holder's tokens come back a lease time
 * after its last renewal, not before; a clean exit gives them back at
 * once), a stopped holder that outlives its lease is told (SYSSEM_ELOST and
 * its lost descriptor), a server restart keeps holders' tokens, unreachable
 * endpoints end in SYSSEM_EUNAVAIL in time, TLS with certificates made
 * here, a lost answer is applied once, creators race on no window, fork.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "api.h"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "proxy.h"

/* A plain one-member cluster, and one that speaks TLS and asks clients
 * for certificates. */
static struct etcd_cluster C, T;

/* Time the lease bounds may take beyond what etcd promises, on a loaded or
 * instrumented run (the valgrind setup sets it). */
static long slack(void)
{
  const char *e = getenv("SYSSEM_REL_SLACK_MS");

  return e ? atol(e) : 0;
}

/* A fresh etcd key on cluster c, "etcd[s]://HOSTS/e/TAGNAMEn?QUERY", removed
 * at the test's teardown. */
static const char *key_on(struct etcd_cluster *c, const char *name,
                          const char *query)
{
  static unsigned int n;
  char path[160], k[4000];

  snprintf(path, sizeof path, "e/%s%s%u", test_tag, name, n++);
  cluster_key(c, k, sizeof k, path, query);
  fixture_key(k, NULL);
  return fixture_printf("%s", k);
}

static const char *ekey(const char *name, const char *query)
{
  return key_on(&C, name, query);
}

/* The etcd key prefix of the records of key's semaphore. */
static const char *records_of(const char *key, char *buf, size_t size)
{
  const char *path = strchr(key + strlen("etcds://"), '/') + 1;
  size_t len = strcspn(path, "?");

  snprintf(buf, size, "/syssem/v1/%.*s:n:", (int)len, path);
  return buf;
}

/* The helper takes a token, waiting for it. */
static void helper_acquire(proc_t *p)
{
  char line[64];

  helper_do(p, "acquire", "acquiring");
  assert_int_equal(proc_read(p, line, sizeof line, PROMPT_MS), 0);
  assert_string_equal(line, "ok");
}

static void remove_key(const char *key)
{
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
  assert_false(exists(key));
}

/* Crash undo ------------------------------------------------------------- */

/* kill -9 of a holder: its token comes back when its lease expires: not
 * before the lease time etcd still gives it, and within the lease time and
 * a second of the kill. */
static void killed_holder(void **state)
{
  const char *key = ekey("killed", "ttl=3");
  char rec[600];
  long long t0, dt;
  long left;
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  p = helper_open(key, 1, "open", "ok 0");
  helper_acquire(p);
  assert_int_equal(value_of(s), 0);
  left = cluster_lease_ttl(&C, records_of(key, rec, sizeof rec));
  assert_true(left >= 1 && left <= 3);
  t0 = proc_now_ms();
  proc_kill(p);
  proc_wait(p);
  assert_int_equal(syssem_try_acquire(s, PROMPT_MS), SYSSEM_OK);
  dt = proc_now_ms() - t0;
  printf("# kill -9: the token came back %lld ms after the kill (lease time "
         "3 s, %ld s left by etcd's count)\n", dt, left);
  if (dt < (left - 1) * 1000 + 500 || dt > 3000 + 1000 + slack())
    print_error("token back %lld ms after the kill (lease had %ld s)\n", dt,
                left);
  /* etcd rounds the time left down to a second: the lease had more. */
  assert_true(dt >= (left - 1) * 1000 + 500);
  assert_true(dt <= 3000 + 1000 + slack());
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);
  remove_key(key);
}

/* A normal exit revokes the lease: the tokens are back by the time the
 * process is gone, and what it released is taken back. */
static void clean_exit(void **state)
{
  const char *key = ekey("exit", "ttl=30");
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 2, SYSSEM_OPEN);
  p = helper_open(key, 2, "open", "ok 0");
  helper_acquire(p);
  helper_do(p, "release 5", "ok");
  helper_do(p, "value", "value 6");
  helper_quit(p);
  assert_int_equal(value_of(s), 2);
  /* Closing the handle is not the end of the process: what it holds stays
   * held until the process ends, as System V's undo. */
  p = helper_open(key, 2, "open", "ok 0");
  helper_acquire(p);
  helper_do(p, "close", "ok");
  assert_int_equal(value_of(s), 1);
  helper_quit(p);
  assert_int_equal(value_of(s), 2);
  syssem_close(s);
  remove_key(key);
}

/* SYSSEM_NO_UNDO: nothing is given back, even after the lease ends. */
static void no_undo(void **state)
{
  const char *key = ekey("noundo", "ttl=2");
  char cmd[800];
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  p = helper_start();
  snprintf(cmd, sizeof cmd, "open %s 1 open noundo", key);
  helper_do(p, cmd, "ok 0");
  helper_acquire(p);
  proc_kill(p);
  proc_wait(p);
  /* Longer than the lease could last. */
  assert_int_equal(syssem_try_acquire(s, 2000 + 1500), SYSSEM_ETIMEDOUT);
  assert_int_equal(value_of(s), 0);
  syssem_close(s);
  remove_key(key);
}

/* SYSSEM_CREATE clears every process's record, as SETVAL clears every
 * undo: a holder's later exit does not change the count set. */
static void create_resets(void **state)
{
  const char *key = ekey("reset", "ttl=30");
  syssem_t *s, *t;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 2, SYSSEM_OPEN);
  p = helper_open(key, 2, "open", "ok 0");
  helper_acquire(p);
  t = open_or_fail(key, 5, SYSSEM_CREATE);
  assert_int_equal(syssem_created(t), 0);
  assert_int_equal(value_of(s), 5);
  helper_do(p, "release 1", "ok");
  assert_int_equal(value_of(s), 6);
  helper_quit(p);
  assert_int_equal(value_of(s), 5);
  syssem_close(t);
  syssem_close(s);
  remove_key(key);
}

/* The maximum against the bound a release keeps: a release past the bound
 * but within the maximum is made (on the exact count); past the maximum it
 * is refused, by this process or another, and changes nothing. */
static void release_near_max(void **state)
{
  const char *key = ekey("nearmax", "ttl=30");
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, INT_MAX - 2, SYSSEM_OPEN);
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  assert_int_equal(value_of(s), INT_MAX - 4);
  assert_int_equal(syssem_release(s, 3), SYSSEM_OK);
  assert_int_equal(value_of(s), INT_MAX - 1);
  p = helper_open(key, 0, "open", "ok 0");
  helper_do(p, "release 2", "err -9");
  helper_do(p, "release 1", "ok");
  helper_do(p, "value", "value 2147483647");
  assert_int_equal(syssem_release(s, 1), SYSSEM_EOVERFLOW);
  helper_quit(p); /* its release is undone: one below the maximum */
  assert_int_equal(value_of(s), INT_MAX - 1);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  assert_int_equal(value_of(s), INT_MAX);
  syssem_close(s);
  remove_key(key);
}

/* Lost leases ---------------------------------------------------------- */

/* A holder stopped past its lease time: the cluster gives its token to
 * another process; when it runs again it learns of it from its lost
 * descriptor, and every call on its handle is SYSSEM_ELOST. */
static void stopped_holder(void **state)
{
  const char *key = ekey("stopped", "ttl=2");
  syssem_t *s;
  proc_t *p;
  int fd;

  (void)state;
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_lost_fd(s, &fd), SYSSEM_OK);
  p = helper_open(key, 1, "open", "ok 0");
  helper_acquire(p);
  helper_do(p, "lost 0", "held");
  assert_int_equal(kill((pid_t)proc_pid(p), SIGSTOP), 0);
  assert_int_equal(syssem_try_acquire(s, PROMPT_MS), SYSSEM_OK);
  assert_int_equal(kill((pid_t)proc_pid(p), SIGCONT), 0);
  helper_do(p, "lost 5000", "lost");
  helper_do(p, "value", "err -12");
  helper_do(p, "release 1", "err -12");
  helper_do(p, "try 0", "err -12");
  helper_quit(p);
  /* Ours is still held, and our descriptor says so. */
  {
    struct pollfd pf = { fd, POLLIN, 0 };
    assert_int_equal(poll(&pf, 1, 0), 0);
  }
  assert_int_equal(value_of(s), 0);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);
  remove_key(key);
}

/* The server is killed and restarted on its data within the lease time:
 * holders keep their tokens, and a holder killed meanwhile gives its token
 * back a lease time (and an election) after the restart. */
static void server_restart(void **state)
{
  const char *key = ekey("restart", "ttl=6");
  long long t0, dt;
  syssem_t *s;
  proc_t *p, *q;

  (void)state;
  s = open_or_fail(key, 2, SYSSEM_OPEN);
  p = helper_open(key, 2, "open", "ok 0");
  helper_acquire(p);
  q = helper_open(key, 2, "open", "ok 0");
  helper_acquire(q);
  assert_int_equal(value_of(s), 0);

  cluster_signal(&C, 0, SIGKILL);
  proc_kill(q);
  proc_wait(q);
  assert_int_equal(cluster_restart(&C, 0), 0);
  t0 = proc_now_ms();
  /* p still holds its token, q's comes back. */
  helper_do(p, "lost 0", "held");
  helper_do(p, "value", "value 0");
  assert_int_equal(syssem_try_acquire(s, PROMPT_MS + 6000), SYSSEM_OK);
  dt = proc_now_ms() - t0;
  printf("# restart: a holder killed while etcd was down gave its token back "
         "%lld ms after the restart (lease time 6 s)\n", dt);
  assert_true(dt <= 6000 + 1000 + 1500 + slack());
  /* And p's stays with p past a whole lease time. */
  assert_int_equal(syssem_try_acquire(s, 6000 + 1000), SYSSEM_ETIMEDOUT);
  helper_do(p, "lost 0", "held");
  helper_do(p, "release 1", "ok");
  helper_quit(p);
  assert_int_equal(value_of(s), 1);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);
  remove_key(key);
}

/* Unreachable endpoints --------------------------------------------------- */

/* The member unreachable stops, running again whatever the case did. */
static int resume_member(void **state)
{
  (void)state;
  cluster_signal(&C, 0, SIGCONT);
  return 0;
}

static void unreachable(void **state)
{
  char key[300], query[40];
  long long t0, dt;
  syssem_t *s;
  int port, silent, r;

  (void)state;
  /* Nobody listens: refused at once, tried for a lease time. */
  {
    int fd = silent_port(&port);
    assert_true(fd >= 0);
    close(fd);
  }
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/e/%sdown?ttl=2", port,
           test_tag);
  t0 = proc_now_ms();
  assert_null(syssem_open(key, 1, SYSSEM_OPEN));
  dt = proc_now_ms() - t0;
  assert_int_equal(syssem_last_error(), SYSSEM_EUNAVAIL);
  assert_non_null(strstr(syssem_last_error_message(), "127.0.0.1"));
  assert_true(dt <= 2000 + 1500 + slack());

  /* Connections accepted, never answered. */
  silent = silent_port(&port);
  assert_true(silent >= 0);
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/e/%ssilent?ttl=2", port,
           test_tag);
  t0 = proc_now_ms();
  assert_null(syssem_open(key, 1, SYSSEM_OPEN));
  dt = proc_now_ms() - t0;
  assert_int_equal(syssem_last_error(), SYSSEM_EUNAVAIL);
  assert_true(dt <= 2000 + 3500 + slack());
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_EUNAVAIL);

  /* A live member first, then one that stopped answering: a wait for a
   * token ends with SYSSEM_EUNAVAIL within the caller's timeout (a try
   * takes at least half a second). */
  snprintf(query, sizeof query, "ttl=2");
  {
    const char *k = ekey("stall", query);

    s = open_or_fail(k, 0, SYSSEM_OPEN);
    cluster_signal(&C, 0, SIGSTOP);
    t0 = proc_now_ms();
    r = syssem_try_acquire(s, 300);
    if (r != SYSSEM_EUNAVAIL)
      fail_msg("try_acquire with the member stopped: %d, %s", r,
               syssem_last_error_message());
    dt = proc_now_ms() - t0;
    assert_true(dt <= 300 + 1000 + slack());
    assert_non_null(strstr(syssem_last_error_message(), "syssem_try_acquire"));
    cluster_signal(&C, 0, SIGCONT);
    assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_ETIMEDOUT);
    syssem_close(s);
    remove_key(k);
  }
  close(silent);
}

/* TLS ----------------------------------------------------------------------- */

static void tls(void **state)
{
  char q[1600], key[2200];
  syssem_t *s;

  (void)state;
  snprintf(q, sizeof q, "cacert=%s/ca.pem&cert=%s/client.pem&key=%s/client.key"
           "&ttl=2", T.root, T.root, T.root);
  snprintf(key, sizeof key, "%s", key_on(&T, "tls", q));
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  assert_int_equal(value_of(s), 0);
  assert_int_equal(syssem_try_acquire(s, 100), SYSSEM_ETIMEDOUT);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);

  /* A server that our CA did not sign: refused, whoever it is. */
  snprintf(q, sizeof q, "cacert=%s/other-ca.pem&cert=%s/client.pem"
           "&key=%s/client.key&ttl=2", T.root, T.root, T.root);
  assert_null(syssem_open(key_on(&T, "tls", q), 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_EPERM);
  /* No client certificate where the server asks for one. */
  snprintf(q, sizeof q, "cacert=%s/ca.pem&ttl=2", T.root);
  assert_null(syssem_open(key_on(&T, "tls", q), 1, SYSSEM_OPEN));
  assert_true(syssem_last_error() == SYSSEM_EPERM ||
              syssem_last_error() == SYSSEM_EUNAVAIL);
  /* Plain HTTP to a TLS port. */
  snprintf(q, sizeof q, "etcd://%s/e/%splain?ttl=2", T.hosts, test_tag);
  assert_null(syssem_open(q, 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_EUNAVAIL);
  remove_key(key);
}

/* Lost answers ------------------------------------------------------------- */

/* Each change whose answer is lost is applied exactly once: the count says
 * so, and the proxy that it was lost. */
static void lost_answer(void **state)
{
  struct proxy *px = proxy_start(C.node[0].client);
  char key[300];
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s, *t = NULL;

  (void)state;
  assert_non_null(px);
  /* Removed through the proxy below; directly, should the test fail. */
  fixture_key(fixture_printf("etcd://%s/e/%slostanswer", C.hosts, test_tag),
              NULL);
  fixture_key(fixture_printf("etcd://%s/e/%slostcreate", C.hosts, test_tag),
              NULL);
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/e/%slostanswer?ttl=5",
           proxy_port(px), test_tag);
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  proxy_arm(px, "/v3/kv/txn");
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  assert_int_equal(proxy_dropped(px), 1);
  assert_int_equal(value_of(s), 1);
  proxy_arm(px, "/v3/kv/txn");
  assert_int_equal(syssem_release(s, 2), SYSSEM_OK);
  assert_int_equal(proxy_dropped(px), 2);
  assert_int_equal(value_of(s), 3);
  proxy_arm(px, "/v3/kv/txn");
  assert_int_equal(syssem_try_acquire(s, PROMPT_MS), SYSSEM_OK);
  assert_int_equal(proxy_dropped(px), 3);
  assert_int_equal(value_of(s), 2);
  /* SYSSEM_NO_UNDO changes the initial count; once too. */
  o.flags = SYSSEM_NO_UNDO;
  assert_int_equal(syssem_open_ex(&t, key, 0, SYSSEM_OPEN, &o), SYSSEM_OK);
  proxy_arm(px, "/v3/kv/txn");
  assert_int_equal(syssem_acquire(t), SYSSEM_OK);
  assert_int_equal(proxy_dropped(px), 4);
  assert_int_equal(value_of(s), 1);
  syssem_close(t);
  assert_int_equal(value_of(s), 1);
  syssem_close(s);
  /* The creation of the semaphore, too. */
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/e/%slostcreate?ttl=5",
           proxy_port(px), test_tag);
  proxy_arm(px, "/v3/kv/txn");
  s = open_or_fail(key, 3, SYSSEM_CREATE_NEW);
  assert_int_equal(proxy_dropped(px), 5);
  assert_int_equal(value_of(s), 3);
  syssem_close(s);
  remove_key(key);
  snprintf(key, sizeof key, "etcd://127.0.0.1:%d/e/%slostanswer?ttl=5",
           proxy_port(px), test_tag);
  remove_key(key);
  proxy_stop(px);
}

/* Creation ------------------------------------------------------------------ */

/* Processes that open one key at the same moment: one creator, one count. */
static void creators_race(void **state)
{
  enum { N = 6 };
  const char *key = ekey("race", "ttl=5");
  const char *new_key = ekey("racenew", "ttl=5");
  int go[2], i, created = 0, st, ok = 0;
  pid_t pid[N];
  char c;

  (void)state;
  assert_int_equal(pipe(go), 0);
  for (i = 0; i < N; i++) {
    pid[i] = fork();
    assert_true(pid[i] >= 0);
    if (pid[i] == 0) {
      syssem_t *s, *t;
      int code;

      close(go[1]);
      if (read(go[0], &c, 1) != 0)
        _exit(90);
      s = syssem_open(key, 3 + i, SYSSEM_OPEN);
      t = syssem_open(new_key, 1, SYSSEM_CREATE_NEW);
      code = t ? 1 : syssem_last_error() == SYSSEM_EEXIST ? 0 : 91;
      if (s == NULL)
        _exit(92);
      code |= syssem_created(s) << 1;
      syssem_close(t);
      syssem_close(s);
      _exit(code);
    }
  }
  close(go[0]);
  close(go[1]); /* every child reads end of file at once */
  for (i = 0; i < N; i++) {
    assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) < 4);
    ok += WEXITSTATUS(st) & 1;
    created += WEXITSTATUS(st) >> 1 & 1;
  }
  assert_int_equal(ok, 1);
  assert_int_equal(created, 1);
  {
    syssem_t *s = open_or_fail(key, 0, SYSSEM_OPEN_EXISTING);
    int v = value_of(s);
    assert_true(v >= 3 && v < 3 + N);
    syssem_close(s);
  }
  remove_key(key);
  remove_key(new_key);
}

/* A fork child has no part in its parent's lease: closing the inherited
 * handle, or exiting, gives back nothing of the parent's; what the child
 * takes itself it gives back at its exit. */
static void fork_child(void **state)
{
  const char *key = ekey("fork", "ttl=30");
  syssem_t *s;
  pid_t pid;
  int st;

  (void)state;
  s = open_or_fail(key, 3, SYSSEM_OPEN);
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int v = -1;

    if (syssem_acquire(s) != SYSSEM_OK || syssem_value(s, &v) != SYSSEM_OK ||
        v != 1)
      _exit(1);
    syssem_close(s);
#if defined(__SANITIZE_ADDRESS__)
    /* A leak checker at the exit of a fork child of a threaded process
     * takes what the parent's threads held for leaks. Without it, the
     * child's normal exit is what revokes its lease (below). */
    {
      syssem_t *again = syssem_open(key, 3, SYSSEM_OPEN);

      if (again == NULL || syssem_release(again, 1) != SYSSEM_OK)
        _exit(1);
      syssem_close(again);
    }
    _exit(0);
#else
    exit(0); /* a normal exit: revokes the child's lease, not the parent's */
#endif
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_int_equal(value_of(s), 2);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);
  remove_key(key);
}

/* The lost descriptor: none for local backends; for etcd, quiet while the
 * lease lives. */
static void lost_fd_api(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  const char *key = ekey("lostfd", "ttl=2");
  syssem_t *s = NULL;
  int fd = -1, fd2 = -2;

  (void)state;
  o.backend = SYSSEM_BACKEND_SYSV;
  assert_int_equal(syssem_open_ex(&s, key_for("lostfdsysv"), 1, SYSSEM_OPEN, &o),
                   SYSSEM_OK);
  assert_int_equal(syssem_lost_fd(s, &fd), SYSSEM_ENOSYS);
  syssem_close(s);
  assert_int_equal(syssem_lost_fd(NULL, &fd), SYSSEM_EINVAL);
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_lost_fd(s, NULL), SYSSEM_EINVAL);
  assert_int_equal(syssem_lost_fd(s, &fd), SYSSEM_OK);
  assert_int_equal(syssem_lost_fd(s, &fd2), SYSSEM_OK);
  assert_int_equal(fd, fd2);
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  {
    /* Longer than a lease time: renewed all along. */
    struct pollfd pf = { fd, POLLIN, 0 };
    assert_int_equal(poll(&pf, 1, 3000), 0);
  }
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  syssem_close(s);
  remove_key(key);
}

/* The last case: every test removed what it made on the clusters. */
static void nothing_left(void **state)
{
  (void)state;
  assert_int_equal(cluster_count(&C, "/syssem/"), 0);
  assert_int_equal(cluster_count(&T, "/syssem/"), 0);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(clean_exit),
    TEST(killed_holder),
    TEST(no_undo),
    TEST(create_resets),
    TEST(release_near_max),
    TEST(stopped_holder),
    TEST(lost_answer),
    TEST(creators_race),
    TEST(fork_child),
    TEST(lost_fd_api),
    TEST(tls),
    TEST_TEARDOWN(unreachable, resume_member),
    TEST(server_restart),
    TEST(nothing_left),
  };
  int r;

  if (!cluster_available()) {
    printf("etcd is not installed (Debian: etcd-server): skipped\n");
    return 77;
  }
  if (cluster_start(&C, 1, 0, 0) != 0 || cluster_start(&T, 1, 1, 1) != 0) {
    cluster_stop(&T);
    cluster_stop(&C);
    return 1;
  }
  r = TEST_MAIN("etcd", tests);
  cluster_stop(&T);
  cluster_stop(&C);
  return r;
}
