/*
 * Backends loaded as modules: the etcd backend is libsyssem-etcd.so, opened
 * with dlopen() on the first etcd key, so that libsyssem itself links
 * neither libcurl nor json-c and a program that never names a cluster
 * never loads them.
 *
 * SPDX-License-Identifier: MIT
 *
 * Where the module is: $SYSSEM_ETCD_MODULE (a path; ignored in set-user-ID
 * and set-group-ID programs, so that it cannot make them load foreign code),
 * else SYSSEM__MODULE_DIR "/libsyssem-etcd.so", the directory the build
 * installs it in. It is loaded once per process, never unloaded (its lease
 * thread and exit handler live as long as the process), and must come from
 * the same version as the library.
 */
#define _GNU_SOURCE /* secure_getenv, RTLD_NODELETE */

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "syssem_int.h"

#ifndef SYSSEM__MODULE_DIR
# error "the build must define SYSSEM__MODULE_DIR"
#endif

static const syssem__core_t core = {
  SYSSEM_VERSION_STRING,
  syssem__note,
  syssem__note_text,
  syssem__record,
  syssem__native_put,
};

/* $SYSSEM_ETCD_MODULE, unless the program runs with privileges it was
 * given by its file (set-user-ID, set-group-ID). */
#if defined(SYSSEM__HAVE_SECURE_GETENV)
static const char *module_env(void)
{
  return secure_getenv("SYSSEM_ETCD_MODULE");
}
#else
static const char *module_env(void)
{
  return issetugid() ? NULL : getenv("SYSSEM_ETCD_MODULE");
}
#endif

static pthread_once_t etcd_once = PTHREAD_ONCE_INIT;
static const syssem__backend_t *etcd_table;
static char etcd_why[320];

static void etcd_load(void)
{
  const char *path = module_env();
  syssem__module_entry_t entry;
  void *so;

  if (path == NULL || *path == '\0')
    path = SYSSEM__MODULE_DIR "/libsyssem-etcd.so";
  so = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (so == NULL) {
    snprintf(etcd_why, sizeof etcd_why, "etcd module not loaded: %s",
             dlerror());
    return;
  }
  *(void **)&entry = dlsym(so, "syssem__module_entry");
  if (entry == NULL) {
    snprintf(etcd_why, sizeof etcd_why, "%s is no libsyssem module", path);
    return;
  }
  etcd_table = entry(&core);
  if (etcd_table == NULL)
    snprintf(etcd_why, sizeof etcd_why,
             "%s is not from libsyssem " SYSSEM_VERSION_STRING, path);
}

const syssem__backend_t *syssem__module(syssem_backend_t b, const char **why)
{
  if (b != SYSSEM_BACKEND_ETCD) {
    *why = "backend not available on this platform";
    return NULL;
  }
  pthread_once(&etcd_once, etcd_load);
  if (etcd_table == NULL)
    *why = etcd_why;
  return etcd_table;
}
