/*
 * The floor: the thinnest wrapper a shared library can put around semop or
 * sem_wait/sem_post. One load from the handle, the OS call, its result
 * turned into a code of the library's own, nothing else (no NULL check, no
 * backend table, no retry). Whatever a library adds to the raw pair, it adds
 * at least this.
 *
 * SPDX-License-Identifier: MIT
 */
#include "floor.h"

int bench_floor_sv_acquire(bench_floor_sv_t *h)
{
  return semop(h->id, &h->down, 1) == 0 ? 0 : -6;
}

int bench_floor_sv_release(bench_floor_sv_t *h)
{
  return semop(h->id, &h->up, 1) == 0 ? 0 : -6;
}

int bench_floor_px_acquire(bench_floor_px_t *h)
{
  return sem_wait(h->sem) == 0 ? 0 : -6;
}

int bench_floor_px_release(bench_floor_px_t *h)
{
  return sem_post(h->sem) == 0 ? 0 : -6;
}
