/*
 * with_etcd PROGRAM [ARGS...]: start a one-member etcd on 127.0.0.1, run
 * PROGRAM with SYSSEM_TEST_KEY_FORMAT set to an etcd key around "%s" (so
 * that a test suite written for any backend makes its keys on the cluster),
 * then check that the run left no semaphore on the cluster, stop the server
 * and return PROGRAM's status. 77 (skipped) when etcd is not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"

int main(int argc, char **argv)
{
  struct etcd_cluster c;
  char fmt[300];
  long left;
  pid_t pid;
  int st;

  if (argc < 2) {
    fprintf(stderr, "usage: with_etcd PROGRAM [ARGS...]\n");
    return 2;
  }
  if (!cluster_available()) {
    printf("etcd is not installed (Debian: etcd-server): skipped\n");
    return 77;
  }
  if (cluster_start(&c, 1, 0, 0) != 0)
    return 1;
  /* A lease time of 2 s, etcd's least, keeps crash tests short. */
  cluster_key(&c, fmt, sizeof fmt, "t/%s", "ttl=2");
  setenv("SYSSEM_TEST_KEY_FORMAT", fmt, 1);
  pid = fork();
  if (pid == 0) {
    execv(argv[1], argv + 1);
    perror(argv[1]);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) != pid) {
    cluster_stop(&c);
    return 1;
  }
  left = cluster_count(&c, "/syssem/");
  if (left != 0)
    fprintf(stderr, "with_etcd: %ld key(s) left on the cluster under /syssem/\n",
            left);
  cluster_stop(&c);
  if (!WIFEXITED(st))
    return 1;
  return WEXITSTATUS(st) == 0 && left != 0 ? 1 : WEXITSTATUS(st);
}
