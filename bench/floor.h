/*
 * The floor of the POSIX pair (floor.c), built as its own shared library.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <semaphore.h>

int bench_floor_wait(sem_t *p);
int bench_floor_post(sem_t *p);

#endif /* BENCH_FLOOR_H */
