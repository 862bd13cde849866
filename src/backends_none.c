/*
 * The backends of a Unix build whose C library has neither System V nor
 * POSIX named semaphores (Android's bionic): none built in, so that every
 * open of them says SYSSEM_ENOSYS and syssem_backend_available() tells the
 * truth; etcd stays a module (src/module.c).
 *
 * SPDX-License-Identifier: MIT
 */
#include "syssem_int.h"

const syssem__backend_t *const syssem__backends[SYSSEM_BACKEND_ETCD + 1] = {
  NULL, NULL, NULL, NULL, NULL
};
