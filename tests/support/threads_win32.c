/* Test support: threads.h on Win32 threads. SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <windows.h>

#include "threads.h"

struct start {
  void (*fn)(void *);
  void *arg;
};

static DWORD WINAPI trampoline(LPVOID p)
{
  struct start a = *(struct start *)p;

  free(p);
  a.fn(a.arg);
  return 0;
}

int thread_start(thread_t *t, void (*fn)(void *), void *arg)
{
  struct start *a = malloc(sizeof *a);

  if (a == NULL)
    return -1;
  a->fn = fn;
  a->arg = arg;
  *t = CreateThread(NULL, 0, trampoline, a, 0, NULL);
  if (*t == NULL) {
    free(a);
    return -1;
  }
  return 0;
}

void thread_join(thread_t t)
{
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
}

void thread_yield(void)
{
  SwitchToThread();
}
