/*
 * The Qt side of the benchmark (bench_qt.cpp), built only where Qt 6 Core
 * and a C++ compiler are found; the build then defines BENCH_HAVE_QT.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_QT_H
#define BENCH_QT_H

#ifdef __cplusplus
extern "C" {
#endif

/* A QSystemSemaphore(key, initial, Create), or NULL if Qt reports an error. */
void *bench_qt_new(const char *key, int initial);
/* Destroy it (Qt removes what it created). NULL is fine. */
void bench_qt_delete(void *q);
/* n acquire+release pairs; returns the number that failed. */
long bench_qt_pairs(void *q, long n);
/* n times: construct QSystemSemaphore(key, initial, Open), destroy it.
 * Returns the number of constructions that reported an error. */
long bench_qt_open_close(const char *key, int initial, long n);
/* qVersion(). */
const char *bench_qt_version(void);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_QT_H */
