/*
 * `syssem run` is two processes (docs/tool.md, "How run keeps its promise"):
 *
 *   run       the process the user started (cmd_run.c): it never touches the
 *             semaphore; it passes signals on and exits with the command's
 *             status once the guardian says the tree has ended;
 *   guardian  its child (guard.c): opens the semaphore, takes the token
 *             (with SEM_UNDO on System V), becomes the subreaper of the
 *             command's tree, runs the command, and gives the token back
 *             only after every process of the tree has been reaped. If run
 *             dies, it kills the tree first.
 *
 * The two talk through two pipes:
 *   up    guardian -> run: the byte RUN_TOKEN once the token is held, then
 *         run's exit status (an int) when the tree has ended and the token
 *         is back;
 *   down  run -> guardian: first the go-ahead, RUN_GO and 0, once run passes
 *         its signals on (the guardian starts the command only then); then
 *         two bytes per signal run caught, its number and 1 if the terminal
 *         sent it (SI_KERNEL). End of file: run is gone.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_RUN_H
#define SYSSEM_RUN_H

#include <signal.h>
#include <sys/types.h>

#include "cli.h"

#define RUN_TOKEN 'T'
#define RUN_GO 0 /* no signal's number */

/* Signals passed on to the command's tree while it runs. */
#define RUN_FORWARDED SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2
/* Every signal whose disposition run or the guardian changes; the command
 * gets each back as run's caller left it. */
#define RUN_CHANGED RUN_FORWARDED, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD
#define RUN_NCHANGED 11

struct run_ctx {
  int up, down;       /* the guardian's ends of the pipes                 */
  pid_t run;          /* run's pid                                        */
  pid_t job;          /* run's process group, the command's too           */
  sigset_t mask;      /* the caller's signal mask                         */
  struct sigaction saved[RUN_NCHANGED]; /* the caller's dispositions      */
};

extern const int run_changed[RUN_NCHANGED];

/* The guardian, in run's child: returns its exit status. */
int guard_main(struct args *a, const struct run_ctx *ctx);

#endif /* SYSSEM_RUN_H */
