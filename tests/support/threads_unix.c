/* Test support: threads.h on POSIX threads. SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "threads.h"

struct start {
  void (*fn)(void *);
  void *arg;
};

static void *trampoline(void *p)
{
  struct start a = *(struct start *)p;

  free(p);
  a.fn(a.arg);
  return NULL;
}

int thread_start(thread_t *t, void (*fn)(void *), void *arg)
{
  struct start *a = malloc(sizeof *a);

  if (a == NULL)
    return -1;
  a->fn = fn;
  a->arg = arg;
  if (pthread_create(t, NULL, trampoline, a) != 0) {
    free(a);
    return -1;
  }
  return 0;
}

void thread_join(thread_t t)
{
  pthread_join(t, NULL);
}

void thread_yield(void)
{
  sched_yield();
}
