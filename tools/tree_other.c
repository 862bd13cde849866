/*
 * The command's process tree where the system offers no subreaper: only the
 * caller's own children are known. A process the command started that
 * outlives its parent is reparented to init and escapes (docs/tool.md).
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700
#if defined(__FreeBSD__)
# define __BSD_VISIBLE 1
#endif

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__FreeBSD__)
# include <sys/procctl.h>
#endif

#include "tree.h"

int tree_adopt(void)
{
  return 0;
}

void tree_signal(pid_t cmd, int sig, pid_t skip_pgid)
{
  (void)skip_pgid;
  if (cmd > 0)
    kill(cmd, sig);
}

void tree_kill_all(pid_t cmd, int *cmd_status)
{
  pid_t p;
  int st;

  if (cmd > 0)
    kill(cmd, SIGKILL);
  for (;;) {
    p = waitpid(-1, &st, 0);
    if (p < 0 && errno == EINTR)
      continue;
    if (p < 0)
      return; /* ECHILD */
    if (p == cmd && cmd_status != NULL)
      *cmd_status = st;
  }
}

#if defined(__FreeBSD__) && defined(PROC_PDEATHSIG_CTL)
void tree_die_with_parent(pid_t parent)
{
  int sig = SIGKILL;

  procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &sig);
  if (getppid() != parent)
    raise(SIGKILL);
}

void tree_outlive_parent(void)
{
  int sig = 0;

  procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &sig);
}
#else
void tree_die_with_parent(pid_t parent)
{
  if (getppid() != parent)
    raise(SIGKILL);
}

void tree_outlive_parent(void)
{
}
#endif
