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
 *   hold FILE ITERS MUTEXKEY
 *                         -> opens MUTEXKEY (SYSSEM_OPEN, initial 1), then
 *                            ITERS times: acquire; under the mutex read
 *                            "HOLDERS MAX" from FILE, write HOLDERS+1 and the
 *                            larger MAX; under the mutex again write
 *                            HOLDERS-1; release -> "ok" | "err CODE"
 *   lost MS               -> waits up to MS for syssem_lost_fd() to become
 *                            readable: "lost" | "held" | "err CODE"
 *   close                 -> "ok"
 *   quit (or end of input) closes the handle and exits 0.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
# include <poll.h>
#endif

#include "syssem.h"
#include "syssem_int.h"

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

/* Add delta to the first number in file; with keep_max, the second number
 * is the largest first number seen so far. The flush between read and write
 * widens the window a missing lock would open. */
static int file_add(const char *file, int delta, int keep_max)
{
  FILE *f = fopen(file, "r+");
  int v, m = 0;

  if (f == NULL)
    return SYSSEM_EUNKNOWN;
  if (fscanf(f, "%d", &v) != 1 || (keep_max && fscanf(f, "%d", &m) != 1)) {
    fclose(f);
    return SYSSEM_EUNKNOWN;
  }
  v += delta;
  rewind(f);
  fflush(f);
  if (keep_max)
    fprintf(f, "%d %d\n", v, v > m ? v : m);
  else
    fprintf(f, "%d\n", v);
  return fclose(f) == 0 ? SYSSEM_OK : SYSSEM_EUNKNOWN;
}

/* The read-modify-write that the semaphore must make exclusive. */
static int count(const char *file, int iters)
{
  int i, r;

  for (i = 0; i < iters; i++) {
    r = syssem_acquire(sem);
    if (r != SYSSEM_OK)
      return r;
    r = file_add(file, 1, 0);
    if (r != SYSSEM_OK)
      return r;
    r = syssem_release(sem, 1);
    if (r != SYSSEM_OK)
      return r;
  }
  return SYSSEM_OK;
}

/* file_add under the mutex. */
static int locked_add(syssem_t *mutex, const char *file, int delta)
{
  int r = syssem_acquire(mutex);

  if (r != SYSSEM_OK)
    return r;
  r = file_add(file, delta, 1);
  if (r != SYSSEM_OK)
    return r;
  return syssem_release(mutex, 1);
}

/* Count the holders of sem's tokens in file, the count kept exclusive by a
 * second, count-1 semaphore. */
static int hold(const char *file, int iters, const char *mutex_key)
{
  syssem_t *mutex = syssem_open(mutex_key, 1, SYSSEM_OPEN);
  int i, r = SYSSEM_OK;

  if (mutex == NULL)
    return syssem_last_error();
  for (i = 0; i < iters && r == SYSSEM_OK; i++) {
    r = syssem_acquire(sem);
    if (r != SYSSEM_OK)
      break;
    r = locked_add(mutex, file, 1);
    if (r == SYSSEM_OK)
      r = locked_add(mutex, file, -1);
    if (r == SYSSEM_OK)
      r = syssem_release(sem, 1);
  }
  syssem_close(mutex);
  return r;
}

/* The count, as syssem_value tells it; where the build takes Apple's rules
 * on Linux (-Demulate=darwin) and so says SYSSEM_ENOSYS for a POSIX
 * semaphore, as the C library reads it (syssem__px_count), so that a test
 * still learns what this process sees. */
static int value(int *v)
{
  int r = syssem_value(sem, v);

#ifndef _WIN32
  if (r == SYSSEM_ENOSYS && syssem_backend(sem) == SYSSEM_BACKEND_POSIX &&
      syssem__px_count(sem, v) == SYSSEM_OK)
    r = SYSSEM_OK;
#endif
  return r;
}

/* Whether the handle's tokens were lost, waiting up to ms for it. */
static void lost(int ms)
{
#ifdef _WIN32
  (void)ms;
  result(SYSSEM_ENOSYS);
#else
  struct pollfd p;
  int r = syssem_lost_fd(sem, &p.fd);

  if (r != SYSSEM_OK) {
    result(r);
    return;
  }
  p.events = POLLIN;
  printf("%s\n", poll(&p, 1, ms) > 0 ? "lost" : "held");
  fflush(stdout);
#endif
}

int main(void)
{
  char line[4400], file[4096], key[200];
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
      r = value(&v);
      if (r == SYSSEM_OK)
        say("value", v);
      else
        result(r);
    } else if (sscanf(line, "count %4095s %d", file, &n) == 2) {
      result(count(file, n));
    } else if (sscanf(line, "hold %4095s %d %199s", file, &n, key) == 3) {
      result(hold(file, n, key));
    } else if (sscanf(line, "lost %d", &n) == 1) {
      lost(n);
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
