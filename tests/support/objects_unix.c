/*
 * Test support, Unix: objects behind names, leftovers by prefix, private
 * directories, root (objects.h, fixture.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "fixture.h"
#include "objects.h"
#include "syssem_int.h"

int sysv_id_of(const char *keyfile)
{
  key_t k = ftok(keyfile, SYSSEM__FTOK_ID);

  return k == (key_t)-1 ? -1 : semget(k, 1, 0);
}

int object_stat(const char *native, int sysv, uid_t *uid, unsigned int *mode)
{
  char path[SYSSEM_NATIVE_MAX + 64];
  struct stat st;

  *uid = 0;
  *mode = 0;
  if (sysv) {
    struct semid_ds ds;
    union { int val; struct semid_ds *buf; } arg;

    arg.buf = &ds;
    if (semctl(sysv_id_of(native), 0, IPC_STAT, arg) != 0)
      return -1;
    *uid = ds.sem_perm.uid;
    *mode = ds.sem_perm.mode & 0777;
    return 0;
  }
  if (syssem__px_path(native, path, sizeof path) != SYSSEM_OK ||
      stat(path, &st) != 0)
    return -1;
  *uid = st.st_uid;
  *mode = st.st_mode & 0777;
  return 0;
}

/* Entries of dir whose names start with before + prefix, for each of the
 * two befores; printed when print. */
static int count_in(const char *dir, const char *before, const char *prefix,
                    int print)
{
  const char *legacy = SYSSEM__LEGACY_PREFIX;
  size_t b = strlen(before), l = strlen(legacy), p = strlen(prefix);
  struct dirent *e;
  DIR *d = opendir(dir);
  int n = 0;

  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;

    if (strncmp(name, before, b) != 0)
      continue;
    name += b;
    if (strncmp(name, legacy, l) == 0 && strncmp(name + l, prefix, p) == 0)
      ; /* a legacy name */
    else if (strncmp(name, prefix, p) != 0)
      continue; /* not a native one either */
    if (print)
      printf("  %s/%s\n", dir, e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

int leftovers_of(const char *prefix, int print)
{
  /* The directory of key files as the program started: a test may point
   * TMPDIR elsewhere for a while, its leftovers are still looked for here
   * (what it makes in its own TMPDIR goes with its fixture_dir). */
  static char *dir;
  int n = 0;

  if (dir == NULL && syssem__key_dir(&dir) != SYSSEM_OK)
    dir = NULL;
  if (dir != NULL)
    n += count_in(dir, "", prefix, print);
  if (syssem__px_dir != NULL)
    n += count_in(syssem__px_dir, syssem__px_prefix, prefix, print);
  return n;
}

int leftover_hashed(const char *key, const syssem_options_t *o, int print)
{
  char name[SYSSEM_NATIVE_MAX], path[SYSSEM_NATIVE_MAX + 64];
  size_t t = strlen(test_tag);
  syssem_backend_t b;
  struct stat st;

  if (!SYSSEM__APPLE ||
      syssem_native_name(key, o, &b, name, sizeof name) != SYSSEM_OK ||
      b != SYSSEM_BACKEND_POSIX || strncmp(name + 1, test_tag, t) == 0 ||
      syssem__px_path(name, path, sizeof path) != SYSSEM_OK ||
      lstat(path, &st) != 0)
    return 0;
  if (print)
    printf("  %s (key %s)\n", path, key);
  return 1;
}

int running_as_root(void)
{
  return geteuid() == 0;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void remove_tree(void *dir)
{
  nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

const char *fixture_dir(void)
{
  char *base, *dir;

  assert_int_equal(syssem__key_dir(&base), SYSSEM_OK);
  /* Not named with the tag: the directory is no leftover object. */
  dir = malloc(strlen(base) + sizeof "/syssem-test-XXXXXX");
  assert_non_null(dir);
  sprintf(dir, "%s/syssem-test-XXXXXX", base);
  free(base);
  if (mkdtemp(dir) == NULL) {
    free(dir);
    fail_msg("%s", "mkdtemp failed");
  }
  fixture_defer(remove_tree, dir);
  return dir;
}

struct saved_env {
  char *name;
  char *value; /* NULL: it was unset */
};

static void restore_env(void *p)
{
  struct saved_env *e = p;

  if (e->value != NULL)
    setenv(e->name, e->value, 1);
  else
    unsetenv(e->name);
  free(e->name);
  free(e->value);
  free(e);
}

void fixture_setenv(const char *name, const char *value)
{
  struct saved_env *e = malloc(sizeof *e);
  const char *old = getenv(name);

  /* Every call saves what it replaces; the teardown undoes them last
   * first, so the value from before the first call comes back. */
  assert_non_null(e);
  e->name = strdup(name);
  e->value = old != NULL ? strdup(old) : NULL;
  assert_non_null(e->name);
  assert_true(old == NULL || e->value != NULL);
  fixture_defer(restore_env, e);
  if (value != NULL)
    assert_int_equal(setenv(name, value, 1), 0);
  else
    assert_int_equal(unsetenv(name), 0);
}

int value_behind(syssem_t *s, int *value)
{
  return syssem__px_count(s, value) == SYSSEM_OK ? 0 : -1;
}
