/*
 * syssem run.
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

#if defined(__linux__)
# include <sys/prctl.h>
#elif defined(__FreeBSD__)
# include <sys/procctl.h>
#endif

#include "cli.h"

static int done(syssem_t *s, int st)
{
  syssem_close(s);
  return st;
}


/* Signals passed on to the command while it runs. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
                                 SIGUSR2 };
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])

static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *ctx)
{
  (void)ctx;
#if defined(SI_KERNEL)
  /* A terminal's signals (Ctrl-C, Ctrl-\) come from the kernel and go to the
   * whole foreground process group, the command included: do not double
   * them. Signals sent with kill() or sigqueue() are passed on. */
  if (si != NULL && si->si_code == SI_KERNEL)
    return;
#else
  (void)si;
#endif
  if (child_pid > 0)
    kill((pid_t)child_pid, sig);
}

/* In the child: die when the parent (syssem run) dies, so that a command
 * whose run was killed does not go on without a token. */
static void die_with_parent(pid_t parent)
{
#if defined(__linux__)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
#elif defined(__FreeBSD__) && defined(PROC_PDEATHSIG_CTL)
  int sig = SIGKILL;

  procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &sig);
#endif
  /* The parent may have died before the request took effect. */
  if (getppid() != parent)
    raise(SIGKILL);
}

/* Run argv as a child, passing signals on; store its wait status in
 * *status. Returns ST_OK, or an exit status after a failure of its own. */
static int spawn_wait(char **argv, int *status)
{
  struct sigaction act, old[N_FORWARDED], oldchld;
  sigset_t block, oldmask;
  pid_t pid, parent = getpid();
  int pfd[2], err = 0;
  ssize_t n;
  size_t i;

  /* A close-on-exec pipe tells the parent whether exec failed, and why. */
  if (pipe(pfd) != 0)
    return cli_os_fail("pipe", errno);
  fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
  fcntl(pfd[1], F_SETFD, FD_CLOEXEC);

  /* Signals wait until the child's pid is known to the handler. */
  sigemptyset(&block);
  for (i = 0; i < N_FORWARDED; i++)
    sigaddset(&block, forwarded[i]);
  sigprocmask(SIG_BLOCK, &block, &oldmask);
  memset(&act, 0, sizeof act);
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_SIGINFO | SA_RESTART;
  act.sa_sigaction = forward;
  for (i = 0; i < N_FORWARDED; i++) {
    sigaction(forwarded[i], NULL, &old[i]);
    /* What our caller ignores (nohup) stays ignored, for the command too. */
    if (old[i].sa_handler != SIG_IGN)
      sigaction(forwarded[i], &act, NULL);
  }
  /* An inherited SIGCHLD ignore would make waitpid() fail. */
  memset(&act, 0, sizeof act);
  sigemptyset(&act.sa_mask);
  act.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &act, &oldchld);

  pid = fork();
  if (pid == 0) {
    for (i = 0; i < N_FORWARDED; i++)
      sigaction(forwarded[i], &old[i], NULL);
    sigaction(SIGCHLD, &oldchld, NULL);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(pfd[0]);
    die_with_parent(parent);
    execvp(argv[0], argv);
    err = errno;
    while (write(pfd[1], &err, sizeof err) < 0 && errno == EINTR)
      ;
    _exit(err == ENOENT ? ST_NOTFOUND : ST_NOEXEC);
  }
  if (pid < 0) {
    err = errno;
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(pfd[0]);
    close(pfd[1]);
    return cli_os_fail("fork", err);
  }
  child_pid = pid;
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  close(pfd[1]);
  do
    n = read(pfd[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      child_pid = 0;
      return cli_os_fail("waitpid", errno);
    }
  }
  /* The handlers stay until exit: a signal now has no one to go to, and
   * must not kill us before the token is given back. */
  child_pid = 0;
  if (n == (ssize_t)sizeof err) {
    cli_say("%s: %s", argv[0], strerror(err));
    return err == ENOENT ? ST_NOTFOUND : ST_NOEXEC;
  }
  return ST_OK;
}

int cmd_run(struct args *a)
{
  syssem_t *s;
  int st, r, status = 0;

  /* Concurrent runs meet on one object that outlives each of them: a run
   * that created it must not remove it under the others (docs/tool.md). The
   * token is held with undo (System V), so a killed run gives it back. */
  st = cli_open_key(a, &s, a->jobs, SYSSEM_OPEN, SYSSEM_PERSIST);
  if (st != ST_OK)
    return st;
  st = cli_take(a, s);
  if (st != ST_OK)
    return done(s, st);
  st = spawn_wait(a->command, &status);
  r = syssem_release(s, 1);
  if (r < 0)
    cli_lib_fail(a->pos[0], r);
  if (st != ST_OK)
    return done(s, st);
  if (WIFSIGNALED(status))
    return done(s, 128 + WTERMSIG(status));
  return done(s, WIFEXITED(status) ? WEXITSTATUS(status) : ST_LIB);
}

