/*
 * No backend modules in this build (meson -Detcd=disabled, or Windows):
 * an etcd key is still recognised, and refused with SYSSEM_ENOSYS.
 *
 * SPDX-License-Identifier: MIT
 */
#include "syssem_int.h"

const syssem__backend_t *syssem__module(syssem_backend_t b, const char **why)
{
  *why = b == SYSSEM_BACKEND_ETCD
             ? "this libsyssem is built without etcd support (-Detcd)"
             : "backend not available on this platform";
  return NULL;
}
