/*
 * A round trip between two processes, two semaphores: the parent releases A
 * and acquires B, the child acquires A and releases B.
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "cases.h"

/* The most rounds in one repetition: with SEM_UNDO each process's
 * adjustment of a set must stay within SEMAEM (32767). */
#define PP_MAX_ROUNDS 30000L

/* Each repetition makes fresh semaphores and a fresh child, so that no
 * SEM_UNDO adjustment outlives it. After its rounds the child waits on A
 * once more: with SEM_UNDO its exit takes back what it released, so it must
 * not exit before the parent has taken all of it. */
static double pingpong(bench_arm_t *arm, long n)
{
  const bench_impl_t *im = arm->impl;
  char ka[PATH_MAX + 2], kb[PATH_MAX + 2];
  void *a, *b;
  long i, bad = 0;
  pid_t pid;
  double t;
  int status;

  snprintf(ka, sizeof ka, "%sa", arm->key);
  snprintf(kb, sizeof kb, "%sb", arm->key);
  a = bench_create(im, ka, 0);
  b = bench_create(im, kb, 0);
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    bench_die("fork");
  if (pid == 0) {
    /* Finish the rounds even when the run is being stopped (the parent
     * finishes them too), and never outlive the parent. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (i = 0; i < n + 1; i++) {
      im->acquire(a);
      im->release(b);
    }
    im->acquire(a);
    _exit(0);
  }
  bench_watchdog(120);
  /* One untimed round: the child is up and running. */
  bad += im->release(a) != 0;
  bad += im->acquire(b) != 0;
  t = bench_now();
  for (i = 0; i < n; i++) {
    bad += im->release(a) != 0;
    bad += im->acquire(b) != 0;
  }
  t = bench_now() - t;
  bad += im->release(a) != 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    bad++;
  bench_watchdog(0);
  im->destroy(a);
  im->destroy(b);
  bench_failures += bad;
  return t;
}

static void row(const bench_impl_t *lib_impl, const bench_impl_t *ref_impl,
                double target)
{
  bench_arm_t lib, ref;

  if (ref_impl == NULL)
    return;
  bench_arm(&lib, lib_impl, NULL);
  bench_arm(&ref, ref_impl, NULL);
  lib.run = ref.run = pingpong;
  bench_key(lib.key, sizeof lib.key, "pp");
  bench_key(ref.key, sizeof ref.key, "rawpp");
  bench_compare("ping-pong", lib_impl->name, &lib, &ref, 1000, PP_MAX_ROUNDS,
                target);
}

void bench_case_pingpong(void)
{
  row(&bench_syssem_sysv, &bench_raw_sysv, 1.05);
  row(&bench_syssem_posix, &bench_raw_posix, 1.05);
  row(&bench_syssem_sysv, bench_qt, 0);
  row(&bench_syssem_posix, bench_boost, 0);
}
