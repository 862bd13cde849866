/*
 * The command's process tree on Linux. The caller is a child subreaper
 * (PR_SET_CHILD_SUBREAPER): an orphan of its tree is reparented to it, not
 * to init, so every descendant, whatever process group or session it moved
 * to, keeps a chain of parents up to the caller, and the caller has a child
 * for as long as one lives. /proc tells the chains.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* syscall() */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"

struct proc {
  pid_t pid, ppid, pgid;
  unsigned long long start; /* clock ticks after boot: with pid, an identity */
  int member;               /* -1 unknown, 0 no, 1 a descendant             */
};

/* pid's parent, process group and start time from /proc/PID/stat. 0, or -1
 * when the process is gone (or is a zombie: it is dead, and its children
 * have been reparented already). */
static int read_stat(pid_t pid, struct proc *p)
{
  char path[64], buf[1024], state;
  const char *rest;
  ssize_t n;
  int fd, ppid, pgid;

  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  do
    n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* The command name may hold ')' and spaces: the fields follow the last
   * ')'. Then: state ppid pgrp, 16 more, starttime (proc(5), field 22). */
  rest = strrchr(buf, ')');
  if (rest == NULL ||
      sscanf(rest + 1, " %c %d %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                       "%*s %*s %*s %*s %*s %llu",
             &state, &ppid, &pgid, &p->start) != 4 ||
      state == 'Z')
    return -1;
  p->pid = pid;
  p->ppid = (pid_t)ppid;
  p->pgid = (pid_t)pgid;
  p->member = -1;
  return 0;
}

static int by_pid(const void *x, const void *y)
{
  const struct proc *a = x, *b = y;

  return (a->pid > b->pid) - (a->pid < b->pid);
}

/* Every process /proc shows, sorted by pid. 0, or -1 (no /proc, no memory). */
static int read_all(struct proc **out, size_t *count)
{
  struct proc *ps = NULL, *bigger;
  size_t n = 0, cap = 0;
  struct dirent *e;
  char *end;
  long pid;
  DIR *d;

  d = opendir("/proc");
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      bigger = realloc(ps, cap * sizeof *ps);
      if (bigger == NULL) {
        free(ps);
        closedir(d);
        return -1;
      }
      ps = bigger;
    }
    if (read_stat((pid_t)pid, &ps[n]) == 0)
      n++;
  }
  closedir(d);
  qsort(ps, n, sizeof *ps, by_pid);
  *out = ps;
  *count = n;
  return 0;
}

/* Is p a descendant of self? Follows the parents, remembering the answer
 * for every process on the way. */
static int member(struct proc *ps, size_t n, struct proc *p, pid_t self)
{
  struct proc key, *parent;
  int m;

  if (p->member >= 0)
    return p->member;
  p->member = 0; /* a loop (pids reused while /proc was read) ends here */
  if (p->ppid == self) {
    m = 1;
  } else {
    key.pid = p->ppid;
    parent = p->ppid > 1 ? bsearch(&key, ps, n, sizeof *ps, by_pid) : NULL;
    m = parent != NULL && member(ps, n, parent, self);
  }
  p->member = m;
  return m;
}

/* Is the process now behind p->pid the one that was read? */
static int same_process(const struct proc *p)
{
  struct proc now;

  return read_stat(p->pid, &now) == 0 && now.start == p->start;
}

/* A descendant that is not the caller's child may have died since /proc
 * was read, been reaped by its parent and had its pid reused by a process
 * outside the tree. A pidfd pins one process: take it, check that it is
 * still the one read, and signal through it. */
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
static void signal_other(const struct proc *p, int sig)
{
  int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);

  if (fd < 0) {
    /* Kernels before 5.3: the check narrows the window to a few calls. */
    if (errno == ENOSYS && same_process(p))
      kill(p->pid, sig);
    return;
  }
  if (same_process(p))
    syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
  close(fd);
}
#else
static void signal_other(const struct proc *p, int sig)
{
  if (same_process(p))
    kill(p->pid, sig);
}
#endif

void tree_signal(pid_t cmd, int sig, pid_t skip_pgid)
{
  pid_t self = getpid();
  struct proc *ps;
  size_t n, i;

  if (read_all(&ps, &n) != 0) {
    if (cmd > 0)
      kill(cmd, sig);
    return;
  }
  for (i = 0; i < n; i++) {
    if (!member(ps, n, &ps[i], self) ||
        (skip_pgid > 0 && ps[i].pgid == skip_pgid))
      continue;
    /* A child of ours keeps its pid until we reap it, and we reap nothing
     * meanwhile: kill() is safe for it. */
    if (ps[i].ppid == self)
      kill(ps[i].pid, sig);
    else
      signal_other(&ps[i], sig);
  }
  free(ps);
}

void tree_kill_all(pid_t cmd, int *cmd_status)
{
  pid_t p;
  int st;

  /* A process forked after /proc was read escapes one round; its parent's
   * death hands it to us (we are its subreaper), and the next round, after
   * the next reap, finds it. No child left means no descendant left. */
  for (;;) {
    tree_signal(cmd, SIGKILL, 0);
    p = waitpid(-1, &st, 0);
    while (p > 0) {
      if (p == cmd && cmd_status != NULL)
        *cmd_status = st;
      p = waitpid(-1, &st, WNOHANG);
    }
    if (p < 0 && errno != EINTR)
      return; /* ECHILD */
  }
}

int tree_adopt(void)
{
  return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
}

void tree_die_with_parent(pid_t parent)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have died before the request took effect. */
  if (getppid() != parent)
    raise(SIGKILL);
}

void tree_outlive_parent(void)
{
  prctl(PR_SET_PDEATHSIG, 0);
}
