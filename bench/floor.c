/*
 * The floor: the thinnest wrapper a shared library can put around semop or
 * sem_wait/sem_post with libsyssem's signatures (a handle; release takes a
 * count). One load from the handle, the OS call, its result turned into a
 * code of the library's own, nothing else (no NULL check, no backend table,
 * no retry). Whatever a library with this API adds to the raw pair, it adds
 * at least this.
 *
 * SPDX-License-Identifier: MIT
 */
#include "floor.h"

int bench_floor_sv_acquire(bench_floor_sv_t *h)
{
  return semop(h->id, &h->down, 1) == 0 ? 0 : -6;
}

/* A count other than 1, out of the way of the usual call. */
__attribute__((cold, noinline)) static int sv_release_n(bench_floor_sv_t *h,
                                                         int n)
{
  struct sembuf op = h->up;

  op.sem_op = (short)n;
  return semop(h->id, &op, 1) == 0 ? 0 : -6;
}

int bench_floor_sv_release(bench_floor_sv_t *h, int n)
{
  if (n != 1)
    return sv_release_n(h, n);
  return semop(h->id, &h->up, 1) == 0 ? 0 : -6;
}

int bench_floor_px_acquire(bench_floor_px_t *h)
{
  return sem_wait(h->sem) == 0 ? 0 : -6;
}

__attribute__((cold, noinline)) static int px_release_n(bench_floor_px_t *h,
                                                         int n)
{
  while (n-- > 0)
    if (sem_post(h->sem) != 0)
      return -6;
  return 0;
}

int bench_floor_px_release(bench_floor_px_t *h, int n)
{
  if (n != 1)
    return px_release_n(h, n);
  return sem_post(h->sem) == 0 ? 0 : -6;
}
