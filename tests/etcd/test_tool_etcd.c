/*
 * The syssem tool on an etcd semaphore: `syssem run -j N etcd://... -- cmd`
 * from many processes at once admits N commands at a time (by a ledger the
 * commands write, not by the semaphore); `run` kills its command when the
 * cluster stops answering for longer than the lease time; create, value,
 * info and rm.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "api.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

static struct etcd_cluster C;
static char dir[600];

/* Run "syssem ARGS" through the shell, output in dir/out; exit status. */
static int tool(const char *fmt, ...)
{
  char args[2000], cmd[3000];
  va_list ap;
  int st;

  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out' 2>&1", getenv("SYSSEM_TOOL"),
           args, dir);
  st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *out(void)
{
  static char buf[4096];
  char path[700];
  FILE *f;
  size_t n;

  snprintf(path, sizeof path, "%s/out", dir);
  f = fopen(path, "r");
  if (f == NULL)
    return strcpy(buf, "");
  n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* 6 runs with -j 2 at once, each command holding its token 300 ms and
 * writing "+" when it starts and "-" when it ends to one O_APPEND file:
 * read in order, never more than 2 between them. */
static void run_jobs(void **state)
{
  enum { RUNS = 6 };
  char key[400], ledger[700], cmd[2000];
  pid_t pid[RUNS];
  int i, st, now = 0, most = 0, c;
  FILE *f;

  (void)state;
  cluster_key(&C, key, sizeof key, "tool/jobs", "ttl=5");
  fixture_key(key, NULL);
  snprintf(ledger, sizeof ledger, "%s/ledger", dir);
  for (i = 0; i < RUNS; i++) {
    pid[i] = fork();
    assert_true(pid[i] >= 0);
    if (pid[i] == 0) {
      snprintf(cmd, sizeof cmd,
               "'%s' run -j 2 '%s' -- sh -c 'printf + >>\"%s\"; sleep 0.3; "
               "printf - >>\"%s\"'",
               getenv("SYSSEM_TOOL"), key, ledger, ledger);
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
      _exit(127);
    }
  }
  for (i = 0; i < RUNS; i++) {
    assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  f = fopen(ledger, "r");
  assert_non_null(f);
  while ((c = fgetc(f)) != EOF) {
    now += c == '+' ? 1 : -1;
    if (now > most)
      most = now;
  }
  fclose(f);
  assert_int_equal(now, 0);
  assert_int_equal(most, 2); /* at most 2, and the runs did overlap */
  assert_int_equal(tool("value '%s'", key), 0);
  assert_string_equal(out(), "2\n");
  assert_int_equal(tool("rm '%s'", key), 0);
}

/* The cluster stops answering (its one member is stopped) for longer than
 * the lease time: run kills its command, says why, and fails. */
static void run_lost(void **state)
{
  char key[400], mark[700], cmd[2000];
  long long t0, dt;
  pid_t pid;
  int st;

  (void)state;
  cluster_key(&C, key, sizeof key, "tool/lost", "ttl=2");
  fixture_key(key, NULL);
  snprintf(mark, sizeof mark, "%s/started", dir);
  t0 = proc_now_ms();
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    snprintf(cmd, sizeof cmd,
             "'%s' run '%s' -- sh -c 'touch \"%s\"; exec sleep 60' 2>'%s/out'",
             getenv("SYSSEM_TOOL"), key, mark, dir);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  /* The command runs (it holds the token) before the cluster goes quiet. */
  while (access(mark, F_OK) != 0 && proc_now_ms() - t0 < 10000)
    usleep(20000);
  assert_int_equal(access(mark, F_OK), 0);
  cluster_signal(&C, 0, SIGSTOP);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  dt = proc_now_ms() - t0;
  cluster_signal(&C, 0, SIGCONT);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 1);
  assert_non_null(strstr(out(), "the token was lost"));
  assert_true(dt < 30000); /* not the 60 s the command would have slept */
  assert_int_equal(tool("rm '%s'", key), 0);
}

static void one_operations(void **state)
{
  char key[400];

  (void)state;
  cluster_key(&C, key, sizeof key, "tool/ops", "ttl=5");
  fixture_key(key, NULL);
  assert_int_equal(tool("create -n 3 '%s'", key), 0);
  assert_int_equal(tool("value '%s'", key), 0);
  assert_string_equal(out(), "3\n");
  /* acquire and release of the tool are permanent (SYSSEM_NO_UNDO). */
  assert_int_equal(tool("acquire '%s'", key), 0);
  assert_int_equal(tool("value '%s'", key), 0);
  assert_string_equal(out(), "2\n");
  assert_int_equal(tool("release '%s' 4", key), 0);
  assert_int_equal(tool("value '%s'", key), 0);
  assert_string_equal(out(), "6\n");
  assert_int_equal(tool("info '%s'", key), 0);
  assert_non_null(strstr(out(), "backend: etcd"));
  assert_non_null(strstr(out(), "exists:  yes"));
  assert_non_null(strstr(out(), "value:   6"));
  assert_int_equal(tool("rm '%s'", key), 0);
  assert_int_equal(tool("info '%s'", key), 0);
  assert_non_null(strstr(out(), "exists:  no"));
  assert_int_not_equal(tool("rm '%s'", key), 0);
  assert_int_equal(tool("rm -f '%s'", key), 0);
  assert_int_equal(tool("value 'etcd://127.0.0.1/x'"), 2);
  assert_non_null(strstr(out(), "no port"));
}

static void nothing_left(void **state)
{
  (void)state;
  assert_int_equal(cluster_count(&C, "/syssem/"), 0);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(one_operations),
    TEST(run_jobs),
    TEST(run_lost),
    TEST(nothing_left),
  };
  char cmd[700];
  int r;

  if (!cluster_available()) {
    printf("etcd is not installed (Debian: etcd-server): skipped\n");
    return 77;
  }
  snprintf(dir, sizeof dir, "%s/syssem-tool-etcd-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(dir) == NULL || cluster_start(&C, 1, 0, 0) != 0) {
    cluster_stop(&C);
    return 1;
  }
  r = TEST_MAIN("tool-etcd", tests);
  cluster_stop(&C);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
