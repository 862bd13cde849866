/* Test support: the few thread calls the tests need. SPDX-License-Identifier: MIT */
#ifndef SYSSEM_TEST_THREADS_H
#define SYSSEM_TEST_THREADS_H

#include <stdlib.h>

/* What a new thread runs: fn(arg), handed over through the heap. */
struct thread_start_arg {
  void (*fn)(void *);
  void *arg;
};

static void thread_run(void *p)
{
  struct thread_start_arg a = *(struct thread_start_arg *)p;

  free(p);
  a.fn(a.arg);
}

#ifdef _WIN32
#include <windows.h>

typedef HANDLE thread_t;

static DWORD WINAPI thread_trampoline(LPVOID p)
{
  thread_run(p);
  return 0;
}

static int thread_create(thread_t *t, struct thread_start_arg *a)
{
  *t = CreateThread(NULL, 0, thread_trampoline, a, 0, NULL);
  return *t == NULL ? -1 : 0;
}

static void thread_join(thread_t t)
{
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
}

static void thread_yield(void)
{
  SwitchToThread();
}
#else
#include <pthread.h>
#include <sched.h>

typedef pthread_t thread_t;

static void *thread_trampoline(void *p)
{
  thread_run(p);
  return NULL;
}

static int thread_create(thread_t *t, struct thread_start_arg *a)
{
  return pthread_create(t, NULL, thread_trampoline, a) == 0 ? 0 : -1;
}

static void thread_join(thread_t t)
{
  pthread_join(t, NULL);
}

static void thread_yield(void)
{
  sched_yield();
}
#endif

static int thread_start(thread_t *t, void (*fn)(void *), void *arg)
{
  struct thread_start_arg *a = malloc(sizeof *a);

  if (a == NULL)
    return -1;
  a->fn = fn;
  a->arg = arg;
  if (thread_create(t, a) != 0) {
    free(a);
    return -1;
  }
  return 0;
}

#endif
