/*
 * Test support: start a helper process with pipes on its stdin and stdout,
 * talk to it line by line, kill it, reap it. proc_unix.c and proc_win32.c
 * implement it; the tests themselves stay portable. A process started and
 * not yet waited for is killed and reaped by the test's teardown.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_PROC_H
#define SYSSEM_TEST_PROC_H

#include <stddef.h>

typedef struct proc proc_t;

/* Start argv[0] (a path) with argv; NULL on failure. */
proc_t *proc_start(const char *const argv[]);

/* Write one line (a newline is added). 0 or -1. */
int proc_send(proc_t *p, const char *line);

/* Read one line (without its newline) into buf, waiting at most timeout_ms.
 * 0 on success, -1 on timeout, end of file or error. */
int proc_read(proc_t *p, char *buf, size_t len, long timeout_ms);

/* Kill the process at once (SIGKILL / TerminateProcess). */
void proc_kill(proc_t *p);

/* Its process id (for signals other than proc_kill's). */
unsigned long proc_pid(const proc_t *p);

/* Close its stdin, wait for it to end, free p. Returns the exit status, or
 * 128 + signal number when it died of a signal. */
int proc_wait(proc_t *p);

/* This process's id. */
unsigned long proc_getpid(void);

/* Monotonic milliseconds, for measuring elapsed time in tests. */
long long proc_now_ms(void);

/* Kill and reap every process started and not yet waited for. */
void proc_reap_all(void);

/* For proc_unix.c and proc_win32.c: note p as started, or as waited for. */
void proc_live_add(proc_t *p);
void proc_live_drop(proc_t *p);

#endif
