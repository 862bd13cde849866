/*
 * Test support, Unix: the OS object behind a native name, for tests that
 * look at it behind the library's back. Where it lives is asked of the
 * library (src/syssem_int.h), never worked out again here.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_OBJECTS_H
#define SYSSEM_TEST_OBJECTS_H

#include <sys/types.h>

/* The System V set behind a key file (the library's ftok project id), or -1. */
int sysv_id_of(const char *keyfile);

/* Owner and permission bits of the object behind native (a key file path
 * when sysv, else a POSIX name). 0, or -1 when there is no such object
 * (then both are 0). */
int object_stat(const char *native, int sysv, uid_t *uid, unsigned int *mode);

#endif
