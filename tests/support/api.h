/*
 * Test support for the behavioural tests: the backend under test, opening
 * and probing semaphores with assertions, and the helper process (helper.c),
 * the other process of the cross-process tests. Each test program runs once
 * per backend with SYSSEM_BACKEND set.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_API_H
#define SYSSEM_TEST_API_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "proc.h"

/* Generous bound for "this happens promptly" (slow CI, sanitizers). */
#define PROMPT_MS 10000L

/* 1 if the backend that the default options choose here is b. */
int is_backend(syssem_backend_t b);

/* The same as predicates for TEST_IF. */
int on_sysv(void);
int on_posix(void);
int on_win32(void);
int not_win32(void);
int not_etcd(void);

/* syssem_open, failing the test with the library's message on NULL. */
syssem_t *open_or_fail(const char *key, int initial, syssem_mode_t m);

/* The current count (the call must succeed). */
int value_of(syssem_t *s);

/* The current count in *value without asserting (a forked worker's form of
 * value_of): syssem_value, or where that says SYSSEM_ENOSYS because the
 * build takes Apple's rules on Linux (-Demulate=darwin), value_behind.
 * SYSSEM_OK or the code. */
int value_read(syssem_t *s, int *value);

/* 1 where syssem_value says SYSSEM_ENOSYS on the backend under test, as
 * POSIX semaphores do on Apple systems and in -Demulate=darwin builds. */
int value_enosys(void);

/* The count of s's POSIX object, read behind the library's back with the C
 * library's own sem_getvalue (syssem__px_count): what value_read() falls
 * back to where the library says SYSSEM_ENOSYS because it takes Apple's
 * rules on Linux (-Demulate=darwin). 0, or -1 where no count can be read
 * this way (Windows, Apple systems themselves). */
int value_behind(syssem_t *s, int *value);

/* 1 if an object exists under key (probing creates nothing). */
int exists(const char *key);

/* The helper process ------------------------------------------------------ */

/* Start the helper named by $SYSSEM_TEST_HELPER. */
proc_t *helper_start(void);

/* Send cmd and check that the answer is want. */
void helper_do(proc_t *p, const char *cmd, const char *want);

/* Start a helper that opens key ("open KEY INITIAL MODE"), answering want. */
proc_t *helper_open(const char *key, int initial, const char *mode,
                    const char *want);

/* Ask the helper to quit; it must exit with status 0. */
void helper_quit(proc_t *p);

#endif
