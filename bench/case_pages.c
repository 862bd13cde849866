/*
 * What a page costs after a system call: raw System V acquire+release
 * pairs, each call followed by a read of one word from each of P distinct
 * pages of data, P = 0, 1, 2, 4, 8, in turns in blocks of 2,000 pairs. On a
 * kernel whose system calls flush the TLB (page-table isolation without
 * PCID) every page that the code after a system call touches costs a page
 * walk; the slope of this table is that cost, the unit in which the
 * library's overhead over the raw calls is paid (docs/performance.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "cases.h"

#define PAGES_MAX 8
#define BLOCK 2000

static const int counts[] = { 0, 1, 2, 4, 8 };
#define NCOUNTS (int)(sizeof counts / sizeof counts[0])

static volatile long sink;

static double block(void *obj, volatile char *const *pg, int touch)
{
  const bench_impl_t *im = &bench_raw_sysv;
  long i, sum = 0, bad = 0;
  int p;
  double t = bench_now();

  for (i = 0; i < BLOCK; i++) {
    bad += im->acquire(obj) != 0;
    for (p = 0; p < touch; p++)
      sum += pg[p][0];
    bad += im->release(obj) != 0;
    for (p = 0; p < touch; p++)
      sum += pg[p][64];
  }
  t = bench_now() - t;
  sink = sum;
  bench_failures += bad;
  return t;
}

void bench_case_pages(void)
{
  static double t[NCOUNTS][4000];
  volatile char *pg[PAGES_MAX];
  long psize = sysconf(_SC_PAGESIZE);
  int blocks = bench_blocks, b, k, c;
  char key[64];
  double base, per;
  char *mem;
  void *obj;

  if (bench_callgrind_mode() || bench_stopping)
    return;
  /* Pages of their own: no huge page may map them all at once. */
  mem = mmap(NULL, (size_t)(psize * PAGES_MAX), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    bench_die("mmap");
  madvise(mem, (size_t)(psize * PAGES_MAX), MADV_NOHUGEPAGE);
  memset(mem, 1, (size_t)(psize * PAGES_MAX));
  for (k = 0; k < PAGES_MAX; k++)
    pg[k] = mem + k * psize;
  bench_key(key, sizeof key, "pages");
  obj = bench_create(&bench_raw_sysv, key, 1);
  for (c = 0; c < NCOUNTS; c++)
    block(obj, pg, counts[c]); /* warm up */
  for (b = 0; b < blocks && !bench_stopping; b++)
    for (k = 0; k < NCOUNTS; k++) {
      c = (b + k) % NCOUNTS;
      t[c][b] = block(obj, pg, counts[c]);
    }
  bench_raw_sysv.destroy(obj);
  munmap(mem, (size_t)(psize * PAGES_MAX));
  if (bench_stopping)
    return;
  bench_print("\npages touched after each system call: raw semop pairs "
              "(SEM_UNDO), each call followed by reads from P pages; median "
              "of %d blocks of %d pairs\n%4s %12s %18s\n",
              blocks, BLOCK, "P", "ns/pair", "ns per page, call");
  base = bench_median(t[0], blocks) / BLOCK;
  for (c = 0; c < NCOUNTS; c++) {
    per = bench_median(t[c], blocks) / BLOCK;
    if (counts[c] == 0)
      bench_print("%4d %12.1f %18s\n", 0, per, "-");
    else
      bench_print("%4d %12.1f %18.1f\n", counts[c], per,
                  (per - base) / (2.0 * counts[c]));
    bench_data("pages", "%d\t%.2f", counts[c], per);
  }
}
