/*
 * Demo: several processes share one semaphore with 2 tokens. Each worker
 * takes a token, works for a while, gives it back; the parent then prints
 * the timeline and the most workers that ever held a token at once.
 *
 *   demo [WORKERS [TOKENS]]
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syssem.h"

extern char **environ;

static long long now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A worker: one token, 150 ms of work, and a line in the log on entry and
 * on exit (written while the token is held, so the log shows holders). */
static int worker(const char *key, const char *log, int id)
{
  struct timespec work = { 0, 150000000L };
  syssem_t *s = syssem_open(key, 0, SYSSEM_OPEN_EXISTING);
  FILE *f;

  if (s == NULL || syssem_acquire(s) != SYSSEM_OK) {
    fprintf(stderr, "worker %d: %s\n", id, syssem_last_error_message());
    return 1;
  }
  f = fopen(log, "a");
  fprintf(f, "%lld + %d\n", now_ms(), id);
  fflush(f);
  nanosleep(&work, NULL);
  fprintf(f, "%lld - %d\n", now_ms(), id);
  fclose(f);
  syssem_release(s, 1);
  syssem_close(s);
  return 0;
}

int main(int argc, char **argv)
{
  int workers = argc > 1 ? atoi(argv[1]) : 6;
  int tokens = argc > 2 ? atoi(argv[2]) : 2;
  char key[64], log[128], idtext[16], line[64];
  int i, id, st, in_use = 0, most = 0, failed = 0;
  long long t, t0 = -1;
  pid_t pids[64];
  syssem_t *s;
  FILE *f;
  char op;

  if (argc == 5 && strcmp(argv[1], "--worker") == 0)
    return worker(argv[2], argv[3], atoi(argv[4]));
  if (workers < 1 || workers > 64 || tokens < 1) {
    fprintf(stderr, "usage: demo [WORKERS (1-64) [TOKENS]]\n");
    return 2;
  }
  snprintf(key, sizeof key, "libsyssem-demo-%ld", (long)getpid());
  snprintf(log, sizeof log, "demo-%ld.log", (long)getpid());
  s = syssem_open(key, tokens, SYSSEM_CREATE_NEW);
  if (s == NULL) {
    fprintf(stderr, "demo: %s\n", syssem_last_error_message());
    return 1;
  }
  printf("semaphore \"%s\" (%s backend, %s), %d tokens, %d workers\n", key,
         syssem_backend_name(syssem_backend(s)), syssem_native_key(s), tokens,
         workers);
  for (i = 0; i < workers; i++) {
    char *args[] = { argv[0], "--worker", key, log, idtext, NULL };
    snprintf(idtext, sizeof idtext, "%d", i + 1);
    if (posix_spawn(&pids[i], argv[0], NULL, NULL, args, environ) != 0) {
      perror("posix_spawn");
      workers = i;
      failed = 1;
      break;
    }
  }
  for (i = 0; i < workers; i++)
    if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0)
      failed = 1;
  syssem_close(s); /* the creator removes the semaphore */

  /* Lines were appended in time order: replay them. */
  f = fopen(log, "r");
  while (f != NULL && fgets(line, sizeof line, f) != NULL &&
         sscanf(line, "%lld %c %d", &t, &op, &id) == 3) {
    if (t0 < 0)
      t0 = t;
    in_use += op == '+' ? 1 : -1;
    if (in_use > most)
      most = in_use;
    printf("%5lld ms  worker %d %-6s tokens in use: %d of %d\n", t - t0, id,
           op == '+' ? "takes" : "leaves", in_use, tokens);
  }
  if (f != NULL)
    fclose(f);
  remove(log);
  printf("most workers holding a token at once: %d (limit %d) -> %s\n", most,
         tokens, most <= tokens && !failed ? "respected" : "VIOLATED");
  return most <= tokens && !failed ? 0 : 1;
}
