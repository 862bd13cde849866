/*
 * syssem run: the process the user started. It never touches the
 * semaphore: its child, the guardian (guard.c, run.h), takes the token, runs
 * the command and gives the token back after the command's whole tree has
 * ended. run passes its signals on to the guardian and exits with the
 * command's status when the guardian reports it. Killing run (even with
 * SIGKILL) makes the guardian kill the tree before the token goes back.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "tree.h"

const int run_changed[RUN_NCHANGED] = { RUN_CHANGED };

static const int forwarded[] = { RUN_FORWARDED };
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])

/* The write end of the pipe to the guardian, for the signal handler. */
static int down_fd = -1;

/* A signal the terminal sent (Ctrl-C, Ctrl-\, a hangup) went to its whole
 * foreground process group, the command's, already: the guardian passes it
 * only to the processes of the tree outside that group. Linux tells such
 * signals by SI_KERNEL; elsewhere every signal counts as sent with kill(). */
#if defined(SI_KERNEL)
static int from_terminal(const siginfo_t *si)
{
  return si != NULL && si->si_code == SI_KERNEL;
}
#else
static int from_terminal(const siginfo_t *si)
{
  (void)si;
  return 0;
}
#endif

static void forward(int sig, siginfo_t *si, void *uc)
{
  unsigned char msg[2];
  int saved = errno;
  ssize_t r;

  (void)uc;
  msg[0] = (unsigned char)sig;
  msg[1] = (unsigned char)from_terminal(si);
  /* Two bytes are written whole or not at all; a full pipe (a guardian
   * that does not read) drops the signal rather than block. */
  r = write(down_fd, msg, sizeof msg);
  (void)r;
  errno = saved;
}

/* From now until run exits, its signals go to the command's tree. What the
 * caller ignores (nohup) stays ignored, for the command too. Then the
 * go-ahead (RUN_GO) tells the guardian that it may start the command: a
 * signal that reaches run once the command runs is passed on, never run's
 * death. The forwarded signals wait meanwhile, so that the go-ahead is the
 * first message on the pipe. 0, or -1 when the guardian is gone. */
static int forward_signals(const struct run_ctx *ctx, int fd)
{
  static const unsigned char go[2] = { RUN_GO, 0 };
  struct sigaction act;
  sigset_t block, old;
  size_t i, j;
  ssize_t n;

  sigemptyset(&block);
  for (i = 0; i < N_FORWARDED; i++)
    sigaddset(&block, forwarded[i]);
  sigprocmask(SIG_BLOCK, &block, &old);
  down_fd = fd;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  memset(&act, 0, sizeof act);
  sigemptyset(&act.sa_mask);
  act.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &act, NULL); /* the guardian may be gone */
  act.sa_flags = SA_SIGINFO | SA_RESTART;
  act.sa_sigaction = forward;
  for (i = 0; i < N_FORWARDED; i++) {
    for (j = 0; run_changed[j] != forwarded[i]; j++)
      ;
    if (ctx->saved[j].sa_handler != SIG_IGN)
      sigaction(forwarded[i], &act, NULL);
  }
  do
    n = write(fd, go, sizeof go);
  while (n < 0 && errno == EINTR);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return n == (ssize_t)sizeof go ? 0 : -1;
}

/* Read exactly len bytes; the number read (less at end of file). */
static size_t read_full(int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;
  ssize_t n;

  while (got < len) {
    n = read(fd, p + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

static int reap(pid_t pid)
{
  int st;

  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return st;
}

int cmd_run(struct args *a)
{
  struct run_ctx ctx;
  struct sigaction dfl;
  int up[2], down[2], st, status;
  char token;
  pid_t g;
  size_t i;

  memset(&ctx, 0, sizeof ctx);
  ctx.run = getpid();
  ctx.job = getpgrp();
  sigprocmask(SIG_SETMASK, NULL, &ctx.mask);
  for (i = 0; i < RUN_NCHANGED; i++)
    sigaction(run_changed[i], NULL, &ctx.saved[i]);
  /* An inherited SIGCHLD ignore would make waitpid() fail. */
  memset(&dfl, 0, sizeof dfl);
  sigemptyset(&dfl.sa_mask);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, NULL);
  if (pipe(up) != 0)
    return cli_os_fail("pipe", errno);
  if (pipe(down) != 0) {
    st = errno;
    close(up[0]);
    close(up[1]);
    return cli_os_fail("pipe", st);
  }
  for (i = 0; i < 2; i++) {
    fcntl(up[i], F_SETFD, FD_CLOEXEC);
    fcntl(down[i], F_SETFD, FD_CLOEXEC);
  }
  /* Should the guardian die, the tree comes to run, which ends it. */
  tree_adopt();

  g = fork();
  if (g == 0) {
    close(up[0]);
    close(down[1]);
    ctx.up = up[1];
    ctx.down = down[0];
    _exit(guard_main(a, &ctx));
  }
  st = errno;
  close(up[1]);
  close(down[0]);
  if (g < 0) {
    close(up[0]);
    close(down[1]);
    return cli_os_fail("fork", st);
  }

  if (read_full(up[0], &token, 1) != 1 || token != RUN_TOKEN) {
    /* No token: the guardian said why (a bad key, a timeout, ...). */
    st = reap(g);
    if (st >= 0 && WIFEXITED(st))
      return WEXITSTATUS(st);
    cli_say("%s: the guardian process died (signal %d) before the command "
            "started", a->pos[0], st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return ST_LIB;
  }
  if (forward_signals(&ctx, down[1]) != 0) {
    /* The guardian died before it started the command: nothing runs. */
    st = reap(g);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : ST_LIB;
  }
  if (read_full(up[0], &status, sizeof status) == sizeof status) {
    reap(g);
    return status;
  }
  /* The guardian died while the command ran: the token is already back
   * (System V undo) or lost (POSIX). The least run can do is to end the
   * tree, which its death handed to run. */
  st = reap(g);
  cli_say("%s: the guardian process died (signal %d) while the command ran; "
          "killing what is left of the command", a->pos[0],
          st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  tree_kill_all(0, NULL);
  return ST_LIB;
}
