/*
 * The floor: the thinnest wrapper a shared library can put around
 * sem_wait/sem_post, turning the result into a code of its own and nothing
 * else (no handle check, no backend, no retry). Whatever a library adds to
 * the raw POSIX pair, it adds at least this.
 *
 * SPDX-License-Identifier: MIT
 */
#include "floor.h"

int bench_floor_wait(sem_t *p)
{
  return sem_wait(p) == 0 ? 0 : -6;
}

int bench_floor_post(sem_t *p)
{
  return sem_post(p) == 0 ? 0 : -6;
}
