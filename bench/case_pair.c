/*
 * The uncontended hot path: acquire+release and try_acquire(0) of libsyssem
 * against the raw calls, the floor, Qt and Boost; and the A/B form, in which
 * the library, the raw calls and the floor take turns in blocks on the one
 * object the library opened.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "harness.h"
#include "cases.h"

/* The library's backends, each with its reference, floor and target. */
static const struct {
  const bench_impl_t *lib, *raw, *floor;
  const char *floor_row; /* the floor's row in the pairs table  */
  double target;
  const char *raw_try;   /* what the raw try_acquire(0) is      */
} backends[] = {
  { &bench_syssem_sysv, &bench_raw_sysv, &bench_floor_sysv, "floor-sysv",
    1.03, "semop NOWAIT|UNDO" },
  { &bench_syssem_sysv_noundo, &bench_raw_sysv_noundo,
    &bench_floor_sysv_noundo, "floor-noundo", 1.03, "semop IPC_NOWAIT" },
  { &bench_syssem_posix, &bench_raw_posix, &bench_floor_posix, "floor-posix",
    1.10, "sem_trywait" },
};

#define NBACKENDS (sizeof backends / sizeof backends[0])
#define PAIRS_N0 100000
#define PAIRS_NMAX (1L << 26)

/* One row against another implementation on an object of its own. */
static void against(const bench_impl_t *lib_impl, void *lib_h,
                    const bench_impl_t *other, const char *what)
{
  bench_arm_t lib, ref;
  char key[64];
  void *h;

  if (other == NULL)
    return;
  bench_key(key, sizeof key, what);
  h = bench_create(other, key, 1);
  bench_arm(&lib, lib_impl, lib_h);
  bench_arm(&ref, other, h);
  bench_compare("acquire+release", lib_impl->name, &lib, &ref, PAIRS_N0,
                PAIRS_NMAX, 0);
  other->destroy(h);
}

void bench_case_pairs(void)
{
  bench_arm_t lib, raw, floor_arm;
  char key[64], rawkey[64];
  size_t i;

  for (i = 0; i < NBACKENDS; i++) {
    const bench_impl_t *li = backends[i].lib, *ri = backends[i].raw;

    bench_key(key, sizeof key, "pair");
    bench_key(rawkey, sizeof rawkey, "rawpair");
    bench_arm(&lib, li, bench_create(li, key, 1));
    bench_arm(&raw, ri, bench_create(ri, rawkey, 1));
    bench_compare("acquire+release", li->name, &lib, &raw, PAIRS_N0,
                  PAIRS_NMAX, backends[i].target);
    /* The floor, on the raw object. */
    bench_arm(&floor_arm, backends[i].floor, raw.h);
    bench_compare("acquire+release", backends[i].floor_row, &floor_arm, &raw,
                  PAIRS_N0, PAIRS_NMAX, 0);
    /* Both empty for try_acquire(0). */
    li->acquire(lib.h);
    ri->acquire(raw.h);
    lib.run = raw.run = bench_run_tries;
    raw.label = backends[i].raw_try;
    bench_compare("try_acquire(0)", li->name, &lib, &raw, PAIRS_N0,
                  PAIRS_NMAX, 0);
    li->release(lib.h);
    li->destroy(lib.h);
    ri->destroy(raw.h);
  }

  /* The C++ choices, each on the backend it uses itself. */
  bench_key(key, sizeof key, "qpair");
  lib.h = bench_create(&bench_syssem_sysv, key, 1);
  against(&bench_syssem_sysv, lib.h, bench_qt, "qtpair");
  bench_syssem_sysv.destroy(lib.h);
  bench_key(key, sizeof key, "bpair");
  lib.h = bench_create(&bench_syssem_posix, key, 1);
  against(&bench_syssem_posix, lib.h, bench_boost, "bxpair");
  bench_syssem_posix.destroy(lib.h);
}

/* Blocks of this many pairs, as the first A/B measurements used. */
#define AB_BLOCK 2000

void bench_case_ab(void)
{
  bench_arm_t arms[3];
  char key[64];
  size_t i;
  int n;

  /* The library, the raw calls and the floor, all on the library's object. */
  for (i = 0; i < NBACKENDS; i++) {
    const bench_impl_t *li = backends[i].lib;

    bench_key(key, sizeof key, "ab");
    bench_arm(&arms[0], li, bench_create(li, key, 1));
    bench_arm(&arms[1], backends[i].raw,
              bench_attach(backends[i].raw, key));
    bench_arm(&arms[2], backends[i].floor,
              bench_attach(backends[i].floor, key));
    bench_ab(li->name, arms, 3, AB_BLOCK, bench_blocks, backends[i].target);
    for (n = 2; n > 0; n--)
      arms[n].impl->close(arms[n].h);
    li->destroy(arms[0].h);
  }
}
