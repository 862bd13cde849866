/*
 * The other process of the cross-process tests. It reads one command a line
 * on stdin and answers each with one line on stdout:
 *
 *   open KEY INITIAL MODE [persist] [noundo] [native] [uri]
 *                         -> "ok CREATED" | "err CODE"
 *   acquire               -> "acquiring", then "ok" | "err CODE"
 *   try MS                -> "ok" | "err CODE"
 *   release N             -> "ok" | "err CODE"
 *   value                 -> "value N" | "err CODE"
 *   count FILE ITERS      -> ITERS times: acquire, read the number in FILE,
 *                            write it back plus one, release -> "ok" | "err CODE"
 *   close                 -> "ok"
 *   quit (or end of input) closes the handle and exits 0.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syssem.h"

static syssem_t *sem;

static void say(const char *word, int v)
{
  printf("%s %d\n", word, v);
  fflush(stdout);
}

static void result(int r)
{
  if (r == SYSSEM_OK)
    printf("ok\n");
  else
    printf("err %d\n", r);
  fflush(stdout);
}

static int mode_of(const char *m)
{
  static const char *const names[] = { "open", "create", "open_existing",
                                       "create_new" };
  int i;

  for (i = 0; i < 4; i++)
    if (strcmp(m, names[i]) == 0)
      return i;
  return -1;
}

static int do_open(char *args)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char *key = strtok(args, " "), *init = strtok(NULL, " ");
  char *mode = strtok(NULL, " "), *f;
  int r;

  if (key == NULL || init == NULL || mode == NULL || mode_of(mode) < 0)
    return SYSSEM_EINVAL;
  while ((f = strtok(NULL, " ")) != NULL) {
    if (strcmp(f, "persist") == 0)
      o.flags |= SYSSEM_PERSIST;
    else if (strcmp(f, "noundo") == 0)
      o.flags |= SYSSEM_NO_UNDO;
    else if (strcmp(f, "native") == 0)
      o.keyform = SYSSEM_KEYFORM_NATIVE;
    else if (strcmp(f, "uri") == 0)
      o.keyform = SYSSEM_KEYFORM_URI;
    else
      return SYSSEM_EINVAL;
  }
  syssem_close(sem);
  r = syssem_open_ex(&sem, key, atoi(init), (syssem_mode_t)mode_of(mode), &o);
  if (r == SYSSEM_OK)
    say("ok", syssem_created(sem));
  return r;
}

/* The read-modify-write that the semaphore must make exclusive; the flush
 * between read and write widens the window a missing lock would open. */
static int count(const char *file, int iters)
{
  int i, v, r;
  FILE *f;

  for (i = 0; i < iters; i++) {
    r = syssem_acquire(sem);
    if (r != SYSSEM_OK)
      return r;
    f = fopen(file, "r+");
    if (f == NULL || fscanf(f, "%d", &v) != 1)
      return SYSSEM_EUNKNOWN;
    rewind(f);
    fflush(f);
    fprintf(f, "%d\n", v + 1);
    if (fclose(f) != 0)
      return SYSSEM_EUNKNOWN;
    r = syssem_release(sem, 1);
    if (r != SYSSEM_OK)
      return r;
  }
  return SYSSEM_OK;
}

int main(void)
{
  char line[4200], file[4096];
  int n, v, r;

  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "open ", 5) == 0) {
      r = do_open(line + 5);
      if (r != SYSSEM_OK)
        result(r);
    } else if (strcmp(line, "acquire") == 0) {
      printf("acquiring\n");
      fflush(stdout);
      result(syssem_acquire(sem));
    } else if (sscanf(line, "try %d", &n) == 1) {
      result(syssem_try_acquire(sem, n));
    } else if (sscanf(line, "release %d", &n) == 1) {
      result(syssem_release(sem, n));
    } else if (strcmp(line, "value") == 0) {
      r = syssem_value(sem, &v);
      if (r == SYSSEM_OK)
        say("value", v);
      else
        result(r);
    } else if (sscanf(line, "count %4095s %d", file, &n) == 2) {
      result(count(file, n));
    } else if (strcmp(line, "close") == 0) {
      syssem_close(sem);
      sem = NULL;
      result(SYSSEM_OK);
    } else if (strcmp(line, "quit") == 0) {
      break;
    } else {
      result(SYSSEM_EINVAL);
    }
  }
  syssem_close(sem);
  return 0;
}
