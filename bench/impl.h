/*
 * The semaphores the benchmark compares, each behind one table: libsyssem
 * on each backend, the raw OS calls, the thinnest wrapper a shared library
 * can be (the floor), Qt's QSystemSemaphore and Boost.Interprocess's
 * named_semaphore. A case drives any of them the same way.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_IMPL_H
#define BENCH_IMPL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_impl {
  const char *name; /* row label: "sysv", "semop SEM_UNDO", ...           */
  const char *side; /* callgrind side: "lib", "raw", "floor", "qt", "boost" */
  const char *primitive; /* "sysv" or "posix": what it uses underneath    */

  /* Create the object of key with count initial (the key must be absent);
   * the handle removes it in destroy(). NULL on failure. */
  void *(*create)(const char *key, int initial);
  /* Open the existing object of key, in this or another process or thread:
   * the same object create() made, also one made by another table of the
   * same primitive (the raw and floor tables name objects as libsyssem
   * does). NULL on failure. */
  void *(*attach)(const char *key);
  /* Take one token, blocking; give one back. 0, or -1 on failure. */
  int (*acquire)(void *h);
  int (*release)(void *h);
  /* n acquire+release pairs in a tight loop: the number that failed. */
  long (*pairs)(void *h, long n);
  /* n non-blocking tries on an empty semaphore: the number that did not
   * fail with "no token" as they should. NULL where not measured. */
  long (*tries)(void *h, long n);
  /* Close an attached handle; remove the object and close a created one. */
  void (*close)(void *h);
  void (*destroy)(void *h);
  /* n times: open key as a program would (attach, or create with count
   * initial when absent) and close again; the number that failed. NULL
   * where the open case has its own sequence (case_open.c). */
  long (*open_close)(const char *key, int initial, long n);
} bench_impl_t;

/* libsyssem (impl_syssem.c). */
extern const bench_impl_t bench_syssem_sysv;
extern const bench_impl_t bench_syssem_sysv_noundo;
extern const bench_impl_t bench_syssem_posix;
/* The OS calls alone (impl_raw.c): semop with SEM_UNDO and without, and
 * POSIX sem_open / sem_wait / sem_post. */
extern const bench_impl_t bench_raw_sysv;
extern const bench_impl_t bench_raw_sysv_noundo;
extern const bench_impl_t bench_raw_posix;
/* The floor (impl_raw.c over floor.c): the raw objects, each operation
 * through a function of a shared library of its own that only calls the OS
 * and turns its result into a code. */
extern const bench_impl_t bench_floor_sysv;
extern const bench_impl_t bench_floor_sysv_noundo;
extern const bench_impl_t bench_floor_posix;
/* Where the build found them (impl_qt.cpp, impl_boost.cpp), else NULL
 * (no_qt.c, no_boost.c). */
extern const bench_impl_t *const bench_qt;
extern const bench_impl_t *const bench_boost;

/* Their versions, "" where not built. */
extern const char *const bench_qt_version;
extern const char *const bench_boost_version;

#ifdef __cplusplus
}
#endif

#endif /* BENCH_IMPL_H */
