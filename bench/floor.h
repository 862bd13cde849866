/*
 * The floor (floor.c), built as a shared library of its own: the thinnest
 * wrapper a shared library can put around the OS calls. Its functions have
 * the shape of libsyssem's calls: they take a handle, release takes a count,
 * and they return 0 or a negative code.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <semaphore.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>

/* A System V handle: the set and the two operations, made once. */
typedef struct bench_floor_sv {
  int id;
  struct sembuf down, up;
} bench_floor_sv_t;

int bench_floor_sv_acquire(bench_floor_sv_t *h);
int bench_floor_sv_release(bench_floor_sv_t *h, int n);

/* A POSIX handle: the semaphore. */
typedef struct bench_floor_px {
  sem_t *sem;
} bench_floor_px_t;

int bench_floor_px_acquire(bench_floor_px_t *h);
int bench_floor_px_release(bench_floor_px_t *h, int n);

#endif /* BENCH_FLOOR_H */
