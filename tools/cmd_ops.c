/*
 * The one-operation commands of the syssem tool: create, acquire, release,
 * value, info, rm. Each opens the semaphore with SYSSEM_PERSIST and
 * SYSSEM_NO_UNDO, so what it does lasts after the tool exits.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <limits.h>
#include <stdio.h>

#include "cli.h"

int cli_open_key(struct args *a, syssem_t **s, int initial, syssem_mode_t mode,
                 unsigned int flags)
{
  int r;

  a->opts.flags = flags;
  r = syssem_open_ex(s, a->pos[0], initial, mode, &a->opts);
  return r < 0 ? cli_lib_fail(a->pos[0], r) : ST_OK;
}

static int open_existing(struct args *a, syssem_t **s)
{
  return cli_open_key(a, s, 0, SYSSEM_OPEN_EXISTING,
                      SYSSEM_PERSIST | SYSSEM_NO_UNDO);
}

int cli_take(struct args *a, syssem_t *s)
{
  int r;

  r = (a->seen & BIT(OPT_TIMEOUT)) ? syssem_try_acquire(s, a->timeout)
                                   : syssem_acquire(s);
  if (r == SYSSEM_ETIMEDOUT) {
    cli_say("%s: timed out after %ld ms", a->pos[0], a->timeout);
    return ST_TIMEOUT;
  }
  return r < 0 ? cli_lib_fail(a->pos[0], r) : ST_OK;
}

/* Finish a command on handle s: close it, pass on st. */
static int done(syssem_t *s, int st)
{
  syssem_close(s);
  return st;
}

int cmd_create(struct args *a)
{
  syssem_mode_t mode = SYSSEM_OPEN;
  syssem_t *s;
  int st;

  if (a->seen & BIT(OPT_RESET))
    mode = SYSSEM_CREATE;
  else if (a->seen & BIT(OPT_EXCL))
    mode = SYSSEM_CREATE_NEW;
  st = cli_open_key(a, &s, a->initial, mode, SYSSEM_PERSIST | SYSSEM_NO_UNDO);
  return st == ST_OK ? done(s, ST_OK) : st;
}

int cmd_acquire(struct args *a)
{
  syssem_t *s;
  int st = open_existing(a, &s);

  return st == ST_OK ? done(s, cli_take(a, s)) : st;
}

int cmd_release(struct args *a)
{
  syssem_t *s;
  long n = 1;
  int st, r;

  if (a->npos > 1 && cli_parse_long(a->pos[1], 0, INT_MAX, &n) != 0)
    return cli_usage_error("'%s' is not a whole number of tokens", a->pos[1]);
  st = open_existing(a, &s);
  if (st != ST_OK)
    return st;
  r = syssem_release(s, (int)n);
  return done(s, r < 0 ? cli_lib_fail(a->pos[0], r) : ST_OK);
}

int cmd_value(struct args *a)
{
  syssem_t *s;
  int st, r, v;

  st = open_existing(a, &s);
  if (st != ST_OK)
    return st;
  r = syssem_value(s, &v);
  if (r == SYSSEM_OK)
    printf("%d\n", v);
  return done(s, r < 0 ? cli_lib_fail(a->pos[0], r) : ST_OK);
}

/* The library names the object whether or not it exists: the tool never
 * works out a name or a backend itself. */
int cmd_info(struct args *a)
{
  char native[SYSSEM_NATIVE_MAX];
  syssem_backend_t b;
  syssem_t *s = NULL;
  int r, v;

  r = syssem_native_name(a->pos[0], &a->opts, &b, native, sizeof native);
  if (r < 0)
    return cli_lib_fail(a->pos[0], r);
  a->opts.flags = SYSSEM_PERSIST | SYSSEM_NO_UNDO;
  r = syssem_open_ex(&s, a->pos[0], 0, SYSSEM_OPEN_EXISTING, &a->opts);
  if (r < 0 && r != SYSSEM_ENOENT)
    return cli_lib_fail(a->pos[0], r);
  fputs("key:     ", stdout);
  cli_put_name(a->pos[0]);
  printf("\nbackend: %s\nnative:  ", syssem_backend_name(b));
  cli_put_name(native);
  printf("\nexists:  %s\n", s != NULL ? "yes" : "no");
  if (s == NULL) {
    printf("value:   -\n");
    return ST_OK;
  }
  r = syssem_value(s, &v);
  if (r == SYSSEM_OK)
    printf("value:   %d\n", v);
  else
    printf("value:   ? (%s)\n", syssem_strerror(r));
  return done(s, ST_OK);
}

int cmd_rm(struct args *a)
{
  int r = syssem_remove(a->pos[0], &a->opts);

  if (r == SYSSEM_ENOENT && (a->seen & BIT(OPT_FORCE)))
    return ST_OK;
  return r < 0 ? cli_lib_fail(a->pos[0], r) : ST_OK;
}
