/*
 * Test support: the processes started and not yet waited for, which a
 * test's teardown kills and reaps (proc.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "proc.h"

static proc_t **live;
static size_t nlive, caplive;

void proc_live_add(proc_t *p)
{
  if (nlive == caplive) {
    caplive = caplive ? 2 * caplive : 16;
    live = realloc(live, caplive * sizeof *live);
    if (live == NULL) {
      fprintf(stderr, "test support: out of memory\n");
      abort();
    }
  }
  live[nlive++] = p;
}

void proc_live_drop(proc_t *p)
{
  size_t i;

  for (i = 0; i < nlive; i++)
    if (live[i] == p) {
      live[i] = live[--nlive];
      return;
    }
}

void proc_reap_all(void)
{
  while (nlive > 0) {
    proc_kill(live[nlive - 1]);
    proc_wait(live[nlive - 1]); /* drops it */
  }
}
