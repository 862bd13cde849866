/*
 * Test support: the few thread calls the tests need, on POSIX threads or
 * Win32 threads (threads_unix.c, threads_win32.c).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_THREADS_H
#define SYSSEM_TEST_THREADS_H

#ifdef _WIN32
typedef void *thread_t; /* a HANDLE */
#else
# include <pthread.h>
typedef pthread_t thread_t;
#endif

/* Start a thread running fn(arg). 0, or -1 on failure. */
int thread_start(thread_t *t, void (*fn)(void *), void *arg);

/* Wait for the thread to end. */
void thread_join(thread_t t);

/* Give the processor away. */
void thread_yield(void);

#endif
