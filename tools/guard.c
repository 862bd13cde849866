/*
 * The guardian of `syssem run` (run.h): the process that holds the token.
 *
 * SPDX-License-Identifier: MIT
 *
 * Why a process of its own: the token must go back only after the last
 * process of the command's tree has ended, even when the run process the
 * user started is killed with SIGKILL. A System V token taken with SEM_UNDO
 * goes back when the process that took it dies, so that process must be
 * one that outlives the tree: the guardian. It becomes the subreaper of the
 * tree (tree.h), so every process of it stays its descendant, and it gives
 * the token back after waitpid() says it has no child left. When run dies,
 * the pipe from run reaches end of file, and the guardian kills the tree
 * and reaps it before it gives the token back. Only the guardian's own
 * death returns the token early (docs/tool.md says what is left uncovered).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "tree.h"

/* After the command has ended, what it left running gets SIGTERM, and
 * SIGKILL this long after if it still runs. */
#define LEFTOVER_GRACE_MS 2000

/* SIGCHLD wakes the main loop through this pipe. */
static int chld_pipe[2] = { -1, -1 };

static void on_chld(int sig)
{
  int saved = errno;
  char c = 0;
  ssize_t r;

  (void)sig;
  r = write(chld_pipe[1], &c, 1); /* full: a wake-up is pending anyway */
  (void)r;
  errno = saved;
}

/* Wait for run's go-ahead (run.h): 0, or -1 when run is gone. */
static int read_go(int fd)
{
  unsigned char go[2];
  size_t got = 0;
  ssize_t n;

  while (got < sizeof go) {
    n = read(fd, go + got, sizeof go - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  return go[0] == RUN_GO && go[1] == 0 ? 0 : -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  ssize_t n;

  while (len > 0) {
    n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* What is meant for run must not end the guardian: it ignores the signals
 * run passes on (run sends them to the tree), the terminal's stop and
 * background-I/O signals (it is in a process group of its own) and SIGPIPE
 * (run may be gone), and catches SIGCHLD. */
static int guard_signals(void)
{
  static const int ignored[] = { RUN_FORWARDED, SIGPIPE, SIGTSTP, SIGTTIN,
                                 SIGTTOU };
  struct sigaction sa;
  size_t i;
  int fl;

  if (pipe(chld_pipe) != 0)
    return -1;
  for (i = 0; i < 2; i++) {
    fl = fcntl(chld_pipe[i], F_GETFL);
    fcntl(chld_pipe[i], F_SETFL, fl | O_NONBLOCK);
    fcntl(chld_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;
  for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
    sigaction(ignored[i], &sa, NULL);
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  return sigaction(SIGCHLD, &sa, NULL);
}

/* Start the command in run's process group (the terminal's job: Ctrl-C and
 * job control reach it as if run had started it), with the signal
 * dispositions and mask of run's caller. Returns its pid (or -1 after a
 * message); *exec_err is the errno of a failed exec, else 0. */
static pid_t start(char **argv, const struct run_ctx *ctx, int *exec_err)
{
  pid_t pid, self = getpid();
  int pfd[2], err = 0;
  ssize_t n;
  size_t i;

  *exec_err = 0;
  /* A close-on-exec pipe tells whether exec failed, and why. */
  if (pipe(pfd) != 0) {
    cli_os_fail("pipe", errno);
    return -1;
  }
  fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
  fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
  pid = fork();
  if (pid == 0) {
    for (i = 0; i < RUN_NCHANGED; i++)
      sigaction(run_changed[i], &ctx->saved[i], NULL);
    sigprocmask(SIG_SETMASK, &ctx->mask, NULL);
    setpgid(0, ctx->job);
    /* Where the guardian dies, its tree is unguarded: take at least the
     * command down with it (docs/tool.md). */
    tree_die_with_parent(self);
    execvp(argv[0], argv);
    err = errno;
    while (write(pfd[1], &err, sizeof err) < 0 && errno == EINTR)
      ;
    _exit(err == ENOENT ? ST_NOTFOUND : ST_NOEXEC);
  }
  err = errno;
  close(pfd[1]);
  if (pid < 0) {
    close(pfd[0]);
    cli_os_fail("fork", err);
    return -1;
  }
  /* Both sides set the group, so it is set before either goes on. After
   * the exec this fails harmlessly (EACCES). */
  setpgid(pid, ctx->job);
  do
    n = read(pfd[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  if (n == (ssize_t)sizeof err)
    *exec_err = err;
  return pid;
}

static long ms_until(const struct timespec *end)
{
  struct timespec now;
  long ms;

  clock_gettime(CLOCK_MONOTONIC, &now);
  ms = (long)(end->tv_sec - now.tv_sec) * 1000 +
       (end->tv_nsec - now.tv_nsec) / 1000000;
  return ms > 0 ? ms : 0;
}

/* Wait until the tree of cmd has ended, passing run's signals on. The
 * command's wait status goes to *status. Returns 0, 1 when run is gone, or
 * 2 when the token was lost (lost_fd, -1 for none, became readable: a
 * networked semaphore took it back); in both cases the tree was killed. */
static int wait_tree(pid_t cmd, const struct run_ctx *ctx, int lost_fd,
                     int *status)
{
  unsigned char msg[64];
  struct timespec end;
  struct pollfd pfd[3];
  int ending = 0, st, timeout;
  pid_t p, known = cmd; /* the command, until it is reaped */
  ssize_t n, i;

  for (;;) {
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p == cmd) {
        *status = st;
        known = 0;
      }
    }
    if (p < 0 && errno == ECHILD)
      return 0; /* no child, so no descendant: the tree has ended */
    if (known == 0 && !ending) {
      /* The command has ended; what it left running ends now too. */
      tree_signal(0, SIGTERM, 0);
      tree_signal(0, SIGCONT, 0);
      clock_gettime(CLOCK_MONOTONIC, &end);
      end.tv_sec += LEFTOVER_GRACE_MS / 1000;
      end.tv_nsec += (LEFTOVER_GRACE_MS % 1000) * 1000000L;
      if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
      }
      ending = 1;
    }
    timeout = ending ? (int)ms_until(&end) : -1;
    if (timeout == 0) {
      tree_kill_all(0, NULL);
      return 0;
    }
    pfd[0].fd = chld_pipe[0];
    pfd[0].events = POLLIN;
    pfd[1].fd = ctx->down;
    pfd[1].events = POLLIN;
    pfd[2].fd = lost_fd;
    pfd[2].events = POLLIN;
    pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
    if (poll(pfd, lost_fd >= 0 ? 3 : 2, timeout) < 0)
      continue; /* EINTR: SIGCHLD */
    if (pfd[2].revents != 0) {
      /* The lease that held the token ended (a partition, a stop longer
       * than the lease time): the cluster may give the token to another
       * process a moment from now, so the tree ends at once, without the
       * grace a finished command's leftovers get. */
      tree_kill_all(known, status);
      return 2;
    }
    if (pfd[0].revents != 0)
      while (read(chld_pipe[0], msg, sizeof msg) > 0)
        ;
    if (pfd[1].revents == 0)
      continue;
    n = read(ctx->down, msg, sizeof msg);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      /* run is gone (killed, most likely with SIGKILL): nobody waits for
       * the command any more, and its token must not go back while it
       * runs. */
      tree_kill_all(known, status);
      return 1;
    }
    /* Each message is two bytes, written at once: reads hold whole ones. */
    for (i = 0; i + 1 < n; i += 2)
      tree_signal(known, msg[i], msg[i + 1] ? ctx->job : 0);
  }
}

/* Give the token back and close the handle: the tree has ended. */
static void give_back(struct args *a, syssem_t *s)
{
  int r = syssem_release(s, 1);

  if (r < 0)
    cli_lib_fail(a->pos[0], r);
  syssem_close(s);
}

int guard_main(struct args *a, const struct run_ctx *ctx)
{
  int st, status = 0, exec_err, exit_status, lost_fd, r;
  const char token = RUN_TOKEN;
  syssem_t *s;
  pid_t cmd;

  /* While it waits for the token, the guardian holds nothing: it dies with
   * run (Ctrl-C ends the wait and nothing runs). */
  tree_die_with_parent(ctx->run);
  st = cli_open_key(a, &s, a->jobs, SYSSEM_OPEN, SYSSEM_PERSIST);
  if (st != ST_OK)
    return st;
  st = cli_take(a, s);
  if (st != ST_OK) {
    syssem_close(s);
    return st;
  }
  /* The token is held (System V: with undo, so the guardian's death gives
   * it back). From here on the guardian outlives run, to end the tree. */
  tree_outlive_parent();
  if (getppid() != ctx->run || guard_signals() != 0) {
    give_back(a, s);
    return ST_LIB;
  }
  tree_adopt();
  /* Out of the terminal's job, so that what the terminal or a kill of the
   * job's group sends reaches run and the command, not the guardian. */
  setpgid(0, 0);
  if (write_all(ctx->up, &token, 1) != 0 || read_go(ctx->down) != 0) {
    give_back(a, s);
    return ST_LIB;
  }
  cmd = start(a->command, ctx, &exec_err);
  if (cmd < 0) {
    give_back(a, s);
    exit_status = ST_LIB;
    return write_all(ctx->up, &exit_status, sizeof exit_status) == 0 ? ST_OK
                                                                      : ST_LIB;
  }
  if (exec_err != 0)
    cli_say("%s: %s", a->command[0], strerror(exec_err));
  /* Only a networked backend's token can be lost; the others say ENOSYS. */
  if (syssem_lost_fd(s, &lost_fd) != SYSSEM_OK)
    lost_fd = -1;
  r = wait_tree(cmd, ctx, lost_fd, &status);
  if (r == 2) {
    cli_say("%s: the token was lost (its lease expired): %s was killed",
            a->pos[0], a->command[0]);
    give_back(a, s);
    exit_status = ST_LIB;
    return write_all(ctx->up, &exit_status, sizeof exit_status) == 0 ? ST_OK
                                                                      : ST_LIB;
  }
  if (r != 0) {
    give_back(a, s);
    return ST_LIB;
  }
  give_back(a, s);
  if (WIFSIGNALED(status))
    exit_status = 128 + WTERMSIG(status);
  else
    exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : ST_LIB;
  write_all(ctx->up, &exit_status, sizeof exit_status);
  return ST_OK;
}
