/*
 * Options of the syssem tool: the table, splitting the command line,
 * decoding the values, and the form of KEY.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "syssem_int.h"

static const struct optdef {
  const char *name; /* long name                                        */
  char letter;      /* short name, or 0                                 */
  const char *arg;  /* name of its argument, or NULL for a flag         */
  const char *help;
} optdefs[OPT__COUNT] = {
  [OPT_HELP] = { "help", 'h', NULL, "show this help and exit" },
  [OPT_VERSION] = { "version", 0, NULL, "show the version and exit" },
  [OPT_BACKEND] = { "backend", 'b', "NAME",
                  "sysv or posix (else $SYSSEM_BACKEND, or the default)" },
  [OPT_NATIVE] = { "native", 0, NULL,
                 "KEY is the native name: /name, or a file (sysv)" },
  [OPT_LEGACY] = { "legacy", 0, NULL,
                 "KEY is a Qt string key, even if it looks like a:b" },
  [OPT_PERMS] = { "permissions", 'p', "MODE",
                "octal mode of an object this creates (default 600)" },
  [OPT_JOBS] = { "jobs", 'j', "N",
               "tokens of the semaphore if this creates it (default 1)" },
  [OPT_TIMEOUT] = { "timeout", 't', "MS",
                  "give up after MS milliseconds, with exit status 3" },
  [OPT_INITIAL] = { "initial", 'n', "INITIAL",
                  "tokens of the semaphore if this creates it (default 1)" },
  [OPT_RESET] = { "reset", 0, NULL,
                "if it exists, set its count to INITIAL" },
  [OPT_EXCL] = { "exclusive", 0, NULL,
               "fail if it exists (exit status 1)" },
  [OPT_FORCE] = { "force", 'f', NULL,
                "succeed if there is nothing to remove" },
};

static void print_option(const struct optdef *o)
{
  char left[48];

  if (o->letter)
    snprintf(left, sizeof left, "-%c, --%s%s%s", o->letter, o->name,
             o->arg ? " " : "", o->arg ? o->arg : "");
  else
    snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
             o->arg ? o->arg : "");
  printf("  %-23s %s\n", left, o->help);
}

void cli_print_options(unsigned int allowed)
{
  size_t i;

  printf("\nOptions:\n");
  for (i = 0; i < OPT__COUNT; i++)
    if (allowed & BIT(i))
      print_option(&optdefs[i]);
}

static const struct optdef *find_long(const char *name, size_t len, int *id)
{
  for (*id = 0; *id < OPT__COUNT; (*id)++)
    if (strlen(optdefs[*id].name) == len &&
        strncmp(optdefs[*id].name, name, len) == 0)
      return &optdefs[*id];
  return NULL;
}

static const struct optdef *find_short(char c, int *id)
{
  for (*id = 0; *id < OPT__COUNT; (*id)++)
    if (optdefs[*id].letter == c && c != 0)
      return &optdefs[*id];
  return NULL;
}

/* Parse one option at argv[*i] (which starts with '-' and is not "-" or
 * "--"). Returns ST_OK or ST_USAGE. */
static int parse_option(struct args *a, char **argv, int argc, int *i)
{
  const char *arg = argv[*i], *value = NULL, *eq;
  const struct optdef *o;
  int id;

  if (arg[1] == '-') {
    eq = strchr(arg + 2, '=');
    o = find_long(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2), &id);
    if (o == NULL)
      return cli_usage_error("unknown option '%s'", arg);
    if (eq != NULL) {
      if (o->arg == NULL)
        return cli_usage_error("option '--%s' takes no argument", o->name);
      value = eq + 1;
    }
  } else {
    o = find_short(arg[1], &id);
    if (o == NULL)
      return cli_usage_error("unknown option '%s'", arg);
    if (arg[2] != '\0') {
      if (o->arg == NULL)
        return cli_usage_error("unknown option '%s'", arg);
      value = arg + 2;
    }
  }
  if (o->arg != NULL && value == NULL) {
    if (*i + 1 >= argc)
      return cli_usage_error("option '%s' needs an argument %s", arg, o->arg);
    value = argv[++*i];
  }
  a->seen |= BIT(id);
  a->val[id] = value;
  return ST_OK;
}

static const struct command *find_command(const char *name)
{
  size_t i;

  for (i = 0; i < cli_ncommands; i++)
    if (strcmp(cli_commands[i].name, name) == 0)
      return &cli_commands[i];
  return NULL;
}

/* Split the command line: options (before or after the subcommand),
 * positionals, and run's command. Options stop at "--"; for run they also
 * stop at the first word after KEY, where the command begins. */
int cli_parse(struct args *a, int argc, char **argv)
{
  int i, r, no_opts = 0;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (!no_opts && arg[0] == '-' && arg[1] != '\0') {
      if (strcmp(arg, "--") == 0) {
        no_opts = 1;
        if (a->cmd == NULL)
          return cli_usage_error("missing command");
        if (a->cmd->takes_command && a->npos == 1) {
          a->command = &argv[i + 1];
          break;
        }
        continue;
      }
      r = parse_option(a, argv, argc, &i);
      if (r != ST_OK)
        return r;
      continue;
    }
    if (a->cmd == NULL) {
      if (a->seen & (BIT(OPT_HELP) | BIT(OPT_VERSION)))
        break; /* "syssem --help anything" */
      a->cmd = find_command(arg);
      if (a->cmd == NULL)
        return cli_usage_error("unknown command '%s'", arg);
      cli_subcommand = a->cmd->name;
      continue;
    }
    if (a->cmd->takes_command && a->npos == 1) {
      a->command = &argv[i];
      break;
    }
    if (a->npos >= a->cmd->max_pos)
      return cli_usage_error("unexpected argument '%s'", arg);
    a->pos[a->npos++] = arg;
  }
  return ST_OK;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
  char *end;
  long v;

  if (s == NULL || *s == '\0' || *s == ' ' || *s == '+')
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int parse_count(struct args *a, int id, long min, int *out)
{
  long v;

  if (!(a->seen & BIT(id)))
    return ST_OK;
  if (cli_parse_long(a->val[id], min, INT_MAX, &v) != 0)
    return cli_usage_error("--%s: '%s' is not a whole number from %ld up",
                           optdefs[id].name, a->val[id], min);
  *out = (int)v;
  return ST_OK;
}

/* The form of KEY. A key that starts with a URI scheme ("TYPE:", TYPE an
 * ASCII letter and then letters, digits, '+', '-' or '.') is what Qt 6.6's
 * QNativeIpcKey::fromString() reads as a typed key, so it is read as one;
 * the library decides what TYPE may be (src/key.c, one home for the rule),
 * and a TYPE it does not know is refused here rather than silently taken
 * as a string key. An etcd key (etcd://, etcds://) goes to the library as
 * it is, which takes it in every form. Every other key is a string key. */
static int key_form(struct args *a)
{
  const char *key = a->pos[0];
  size_t n;

  if (a->seen & BIT(OPT_NATIVE)) {
    a->opts.keyform = SYSSEM_KEYFORM_NATIVE;
    return ST_OK;
  }
  if (a->seen & BIT(OPT_LEGACY))
    return ST_OK;
  n = syssem__uri_scheme(key);
  /* An etcd key is one in every form: the library takes it as it is. */
  if (n == 0 || syssem__etcd_key_scheme(key, strlen(key)))
    return ST_OK;
  if (syssem__uri_type(key, n, NULL, NULL) != SYSSEM_OK)
    return cli_usage_error("'%.*s:' starts KEY as a Qt 6.6 key type would, "
                           "but names none (posix, systemv, systemv-N with N "
                           "from 1 to 255, windows); --legacy reads KEY as a "
                           "string key", (int)n, key);
  a->opts.keyform = SYSSEM_KEYFORM_URI;
  return ST_OK;
}

/* Turn the option strings into values; check what the subcommand allows. */
int cli_decode(struct args *a)
{
  const struct command *c = a->cmd;
  unsigned int extra = a->seen & ~c->allowed;
  long v;
  int i, r;

  if (extra != 0) {
    for (i = 0; !(extra & BIT(i)); i++)
      ;
    return cli_usage_error("option '--%s' does not apply to %s",
                           optdefs[i].name, c->name);
  }
  if (a->npos < c->min_pos)
    return cli_usage_error("missing KEY");
  if (c->takes_command && a->command == NULL)
    return cli_usage_error("missing COMMAND");
  if (c->takes_command && a->command[0] == NULL)
    return cli_usage_error("missing COMMAND after '--'");
  if (a->seen & BIT(OPT_BACKEND)) {
    for (i = SYSSEM_BACKEND_SYSV; i <= SYSSEM_BACKEND_WIN32; i++)
      if (strcmp(a->val[OPT_BACKEND], syssem_backend_name((syssem_backend_t)i)) == 0)
        break;
    if (i > SYSSEM_BACKEND_WIN32)
      return cli_usage_error("--backend: unknown backend '%s' (sysv, posix)",
                             a->val[OPT_BACKEND]);
    a->opts.backend = (syssem_backend_t)i;
  }
  if ((a->seen & BIT(OPT_NATIVE)) && (a->seen & BIT(OPT_LEGACY)))
    return cli_usage_error("--native and --legacy exclude each other");
  if ((a->seen & BIT(OPT_RESET)) && (a->seen & BIT(OPT_EXCL)))
    return cli_usage_error("--reset and --exclusive exclude each other");
  if (a->seen & BIT(OPT_PERMS)) {
    const char *p = a->val[OPT_PERMS];
    char *end;

    errno = 0;
    v = strtol(p, &end, 8);
    if (p[0] < '0' || p[0] > '7' || *end != '\0' || errno != 0 || v > 0777)
      return cli_usage_error("--permissions: '%s' is not an octal mode up to 777",
                             p);
    a->opts.permissions = (unsigned int)v;
  }
  if (a->npos > 0) {
    r = key_form(a);
    if (r != ST_OK)
      return r;
  }
  if (a->seen & BIT(OPT_TIMEOUT)) {
    if (cli_parse_long(a->val[OPT_TIMEOUT], 0, LONG_MAX, &a->timeout) != 0)
      return cli_usage_error("--timeout: '%s' is not a number of milliseconds",
                             a->val[OPT_TIMEOUT]);
  }
  r = parse_count(a, OPT_JOBS, 1, &a->jobs);
  if (r == ST_OK)
    r = parse_count(a, OPT_INITIAL, 0, &a->initial);
  return r;
}
