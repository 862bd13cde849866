/*
 * The backends of a Unix build: System V and POSIX named semaphores built
 * in, etcd a module (src/module.c).
 *
 * SPDX-License-Identifier: MIT
 */
#include "syssem_int.h"

const syssem__backend_t *const syssem__backends[SYSSEM_BACKEND_ETCD + 1] = {
  NULL, &syssem__sysv, &syssem__posix, NULL, NULL /* etcd: a module */
};
