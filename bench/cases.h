/*
 * The benchmark's cases, one function per group (main.c runs them in this
 * order; --only picks some).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_CASES_H
#define BENCH_CASES_H

/* case_pair.c: uncontended acquire+release and try_acquire(0), against the
 * raw calls, the floor, Qt and Boost; the A/B blocks on one object. */
void bench_case_pairs(void);
void bench_case_ab(void);

/* case_pages.c: what each page touched after a system call costs. */
void bench_case_pages(void);

/* case_pingpong.c: a round trip between two processes. */
void bench_case_pingpong(void);

/* case_open.c: create+destroy and open+close against the least raw sequence
 * with the same meaning, and against Qt. */
void bench_case_open(void);

/* case_contention.c: throughput and fairness of N processes or threads on a
 * count-1 and a count-4 semaphore; hand-off latency across processes. */
void bench_case_contention(void);
void bench_case_latency(void);

#endif /* BENCH_CASES_H */
