/* Test support: the few thread calls the tests need. SPDX-License-Identifier: MIT */
#ifndef SYSSEM_TEST_THREADS_H
#define SYSSEM_TEST_THREADS_H

#ifdef _WIN32
#include <windows.h>

typedef HANDLE thread_t;
struct thread_start_arg { void (*fn)(void *); void *arg; };

static DWORD WINAPI thread_trampoline(LPVOID p)
{
  struct thread_start_arg a = *(struct thread_start_arg *)p;
  free(p);
  a.fn(a.arg);
  return 0;
}

static int thread_start(thread_t *t, void (*fn)(void *), void *arg)
{
  struct thread_start_arg *a = malloc(sizeof *a);
  if (a == NULL)
    return -1;
  a->fn = fn;
  a->arg = arg;
  *t = CreateThread(NULL, 0, thread_trampoline, a, 0, NULL);
  if (*t == NULL) {
    free(a);
    return -1;
  }
  return 0;
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
struct thread_start_arg { void (*fn)(void *); void *arg; };

static void *thread_trampoline(void *p)
{
  struct thread_start_arg a = *(struct thread_start_arg *)p;
  free(p);
  a.fn(a.arg);
  return NULL;
}

static int thread_start(thread_t *t, void (*fn)(void *), void *arg)
{
  struct thread_start_arg *a = malloc(sizeof *a);
  if (a == NULL)
    return -1;
  a->fn = fn;
  a->arg = arg;
  if (pthread_create(t, NULL, thread_trampoline, a) != 0) {
    free(a);
    return -1;
  }
  return 0;
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

#endif
