/*
 * syssem list: the semaphores on this machine that libsyssem's names can
 * find, without knowing their keys. The only command that reads the OS
 * directly; it opens nothing for writing and creates nothing. Where objects
 * live is the library's answer (syssem__key_dir, syssem__px_dir,
 * syssem__px_prefix, syssem__px_path); where it has none (POSIX semaphores
 * that are not files), list says so and exits 1.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli.h"
#include "syssem_int.h"

static int compare_names(const void *x, const void *y)
{
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static void free_names(char **names, size_t n)
{
  while (n > 0)
    free(names[--n]);
  free(names);
}

/* The sorted names in dir that start with prefix. Returns 0, or an errno
 * value (ENOENT when dir does not exist). */
static int scan_dir(const char *dir, const char *prefix, char ***out,
                    size_t *count)
{
  size_t n = 0, cap = 0, plen = strlen(prefix);
  char **names = NULL, **bigger, *copy;
  struct dirent *e;
  DIR *d;
  int err = 0;

  d = opendir(dir);
  if (d == NULL)
    return errno;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, prefix, plen) != 0 || e->d_name[plen] == '\0')
      continue;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      bigger = realloc(names, cap * sizeof *names);
      if (bigger == NULL) {
        err = ENOMEM;
        break;
      }
      names = bigger;
    }
    copy = malloc(strlen(e->d_name) + 1);
    if (copy == NULL) {
      err = ENOMEM;
      break;
    }
    names[n++] = strcpy(copy, e->d_name);
  }
  closedir(d);
  if (err != 0) {
    free_names(names, n);
    return err;
  }
  if (n > 0)
    qsort(names, n, sizeof *names, compare_names);
  *out = names;
  *count = n;
  return 0;
}

/* value >= 0: the count; -1: no semaphore ("-"); -2: unreadable ("?"). */
static void list_row(const char *backend, int value, const char *native,
                     const char *note)
{
  char v[16];

  if (value >= 0)
    snprintf(v, sizeof v, "%d", value);
  else
    snprintf(v, sizeof v, "%s", value == -1 ? "-" : "?");
  printf("%-5s %5s ", backend, v);
  cli_put_name(native);
  if (note != NULL)
    printf(" (%s)", note);
  putchar('\n');
}

/* Keys of the System V sets that a key file names, to tell orphans apart. */
struct keyset {
  key_t *keys;
  size_t n, cap;
};

static int keyset_add(struct keyset *ks, key_t k)
{
  key_t *bigger;

  if (ks->n == ks->cap) {
    ks->cap = ks->cap ? ks->cap * 2 : 16;
    bigger = realloc(ks->keys, ks->cap * sizeof *ks->keys);
    if (bigger == NULL)
      return ENOMEM;
    ks->keys = bigger;
  }
  ks->keys[ks->n++] = k;
  return 0;
}

static int keyset_has(const struct keyset *ks, key_t k)
{
  size_t i;

  for (i = 0; i < ks->n; i++)
    if (ks->keys[i] == k)
      return 1;
  return 0;
}

/* One legacy key file: its set, if there is one. */
static int list_key_file(const char *path, struct keyset *ks)
{
  struct stat st;
  char note[64];
  key_t key;
  int id, v;

  /* Gone since the scan, or not a file of ours. */
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  key = ftok(path, SYSSEM__FTOK_ID);
  if (key == (key_t)-1) {
    list_row("sysv", -2, path, strerror(errno));
    return 0;
  }
  id = semget(key, 0, 0);
  if (id < 0) {
    list_row("sysv", errno == ENOENT ? -1 : -2, path,
             errno == ENOENT ? "key file without a semaphore" : strerror(errno));
    return 0;
  }
  v = semctl(id, 0, GETVAL);
  snprintf(note, sizeof note, "semid %d", id);
  list_row("sysv", v < 0 ? -2 : v, path, v < 0 ? strerror(errno) : note);
  return keyset_add(ks, key);
}

/* System V sets that look like libsyssem's and that no key file names:
 * one semaphore, and the ftok project id in the IPC key where the C
 * library's ftok() puts it (the top byte, glibc and musl alike). Linux
 * alone says which sets exist (/proc/sysvipc/sem); elsewhere list says it
 * cannot look. */
static int list_orphans(const struct keyset *ks)
{
  static const char table[] = "/proc/sysvipc/sem";
  char line[256], native[32], note[64];
  unsigned long nsems;
  unsigned int perms;
  int key, id, v;
  FILE *f;

  f = fopen(table, "r");
  if (f == NULL) {
    cli_say("System V sets without a key file cannot be listed here (%s: %s)",
            table, strerror(errno));
    return ST_LIB;
  }
  if (fgets(line, sizeof line, f) != NULL) { /* the header */
    while (fgets(line, sizeof line, f) != NULL) {
      if (sscanf(line, "%d %d %o %lu", &key, &id, &perms, &nsems) != 4)
        continue;
      if (nsems != 1 ||
          ((unsigned int)key >> 24) != (unsigned int)SYSSEM__FTOK_ID ||
          keyset_has(ks, (key_t)key))
        continue;
      v = semctl(id, 0, GETVAL);
      if (v < 0 && (errno == EINVAL || errno == EIDRM))
        continue; /* removed since the table was read */
      snprintf(native, sizeof native, "0x%08x", (unsigned int)key);
      snprintf(note, sizeof note, "semid %d, no key file", id);
      list_row("sysv", v < 0 ? -2 : v, native, v < 0 ? strerror(errno) : note);
    }
  }
  fclose(f);
  return ST_OK;
}

static int list_sysv(void)
{
  struct keyset ks = { NULL, 0, 0 };
  char **names = NULL, *dir = NULL, *path;
  size_t n = 0, i;
  int err, st;

  if (syssem__key_dir(&dir) != SYSSEM_OK) {
    err = errno;
    cli_say("the directory of System V key files ($TMPDIR, or /tmp): %s",
            strerror(err));
    return ST_LIB;
  }
  err = scan_dir(dir, SYSSEM__LEGACY_PREFIX, &names, &n);
  for (i = 0; err == 0 && i < n; i++) {
    path = malloc(strlen(dir) + strlen(names[i]) + 2);
    if (path == NULL) {
      err = ENOMEM;
      break;
    }
    sprintf(path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, names[i]);
    err = list_key_file(path, &ks);
    free(path);
  }
  st = err == 0 ? list_orphans(&ks) : cli_os_fail(dir, err);
  free_names(names, n);
  free(ks.keys);
  free(dir);
  return st;
}

#if SYSSEM__APPLE
/* Apple systems keep POSIX semaphores out of the file system and cannot
 * read their counts (docs/portability.md): nothing to walk, nothing to
 * show. */
static int list_posix(void)
{
  cli_say("POSIX named semaphores cannot be listed here: this system does "
          "not keep them as files");
  return ST_LIB;
}
#else
/* One POSIX name: "/" + the file name less the C library's prefix. musl
 * keeps them beside shm_open objects, so the size tells semaphores apart. */
static void list_px_file(const char *file)
{
  char name[NAME_MAX + 2], path[PATH_MAX];
  struct stat st;
  sem_t *sem;
  int v;

  snprintf(name, sizeof name, "/%s", file + strlen(syssem__px_prefix));
  if (syssem__px_path(name, path, sizeof path) != SYSSEM_OK)
    return;
  /* A file too short for a sem_t (a sem_open killed half-way leaves one)
   * would make the mapping fault: report it, never open it. */
  if (stat(path, &st) != 0) {
    if (errno != ENOENT) /* ENOENT: removed since the scan */
      list_row("posix", -2, name, strerror(errno));
    return;
  }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size != sizeof(sem_t)) {
    list_row("posix", -2, name, "not a semaphore");
    return;
  }
  sem = sem_open(name, 0); /* no O_CREAT: creates nothing */
  if (sem == SEM_FAILED) {
    if (errno != ENOENT) /* ENOENT: removed since the scan */
      list_row("posix", -2, name, strerror(errno));
    return;
  }
  if (sem_getvalue(sem, &v) != 0)
    list_row("posix", -2, name, strerror(errno));
  else
    list_row("posix", v < 0 ? 0 : v, name, NULL);
  sem_close(sem);
}

static int list_posix(void)
{
  char **names = NULL;
  size_t n = 0, i;
  int err;

  if (syssem__px_dir == NULL) {
    cli_say("POSIX named semaphores cannot be listed here: this system does "
            "not keep them as files");
    return ST_LIB;
  }
  err = scan_dir(syssem__px_dir, syssem__px_prefix, &names, &n);
  if (err == ENOENT)
    return ST_OK; /* no such directory: no named semaphore can exist */
  if (err != 0)
    return cli_os_fail(syssem__px_dir, err);
  for (i = 0; i < n; i++)
    list_px_file(names[i]);
  free_names(names, n);
  return ST_OK;
}
#endif

int cmd_list(struct args *a)
{
  syssem_backend_t b = a->opts.backend;
  int st = ST_OK, r;

  if (b == SYSSEM_BACKEND_WIN32)
    return cli_usage_error("--backend: list knows sysv and posix");
  if (b == SYSSEM_BACKEND_DEFAULT || b == SYSSEM_BACKEND_SYSV)
    st = list_sysv();
  if (b == SYSSEM_BACKEND_DEFAULT || b == SYSSEM_BACKEND_POSIX) {
    r = list_posix();
    if (st == ST_OK)
      st = r;
  }
  return st;
}
