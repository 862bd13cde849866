/* Test support, Unix: posix_spawn with two pipes. SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

struct proc {
  pid_t pid;
  int in;  /* its stdin  */
  int out; /* its stdout */
  size_t have;
  char buf[4096];
};

proc_t *proc_start(const char *const argv[])
{
  posix_spawn_file_actions_t fa;
  int to[2] = { -1, -1 }, from[2] = { -1, -1 };
  proc_t *p = calloc(1, sizeof *p);

  if (p == NULL || pipe(to) != 0 || pipe(from) != 0)
    goto fail;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from[1], 1);
  posix_spawn_file_actions_addclose(&fa, to[1]);
  posix_spawn_file_actions_addclose(&fa, from[0]);
  if (posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv,
                  environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    goto fail;
  }
  posix_spawn_file_actions_destroy(&fa);
  close(to[0]);
  close(from[1]);
  p->in = to[1];
  p->out = from[0];
  proc_live_add(p);
  return p;
fail:
  if (to[0] >= 0) { close(to[0]); close(to[1]); }
  if (from[0] >= 0) { close(from[0]); close(from[1]); }
  free(p);
  return NULL;
}

int proc_send(proc_t *p, const char *line)
{
  size_t len = strlen(line);

  if (write(p->in, line, len) != (ssize_t)len || write(p->in, "\n", 1) != 1)
    return -1;
  return 0;
}

int proc_read(proc_t *p, char *buf, size_t len, long timeout_ms)
{
  long long end = proc_now_ms() + timeout_ms;
  struct pollfd pfd;
  char *nl;
  ssize_t n;

  for (;;) {
    nl = memchr(p->buf, '\n', p->have);
    if (nl != NULL) {
      size_t line = (size_t)(nl - p->buf);
      size_t copy = line < len - 1 ? line : len - 1;
      memcpy(buf, p->buf, copy);
      buf[copy] = '\0';
      p->have -= line + 1;
      memmove(p->buf, nl + 1, p->have);
      return 0;
    }
    if (p->have == sizeof p->buf)
      return -1;
    pfd.fd = p->out;
    pfd.events = POLLIN;
    long long left = end - proc_now_ms();
    if (left < 0)
      left = 0;
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    n = read(p->out, p->buf + p->have, sizeof p->buf - p->have);
    if (n <= 0)
      return -1;
    p->have += (size_t)n;
  }
}

void proc_kill(proc_t *p)
{
  kill(p->pid, SIGKILL);
}

unsigned long proc_pid(const proc_t *p)
{
  return (unsigned long)p->pid;
}

int proc_wait(proc_t *p)
{
  int st = 0, r;

  proc_live_drop(p);
  close(p->in);
  while ((r = waitpid(p->pid, &st, 0)) < 0 && errno == EINTR)
    ;
  close(p->out);
  free(p);
  if (r < 0)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

long long proc_now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

unsigned long proc_getpid(void)
{
  return (unsigned long)getpid();
}
