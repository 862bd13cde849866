/*
 * syssem: the command-line tool of libsyssem. Inspect and operate named
 * semaphores, and run commands under one (see syssem(1), docs/tool.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * Every semaphore operation goes through the public API of syssem.h; only
 * `list` reads the OS directly, to find objects without knowing their keys,
 * and it never creates anything.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
# include <sys/prctl.h>
#elif defined(__FreeBSD__)
# include <sys/procctl.h>
#endif

#include "syssem.h"

/* The library's default backend, as this build configured it. */
#ifndef SYSSEM_TOOL_DEFAULT_BACKEND
# define SYSSEM_TOOL_DEFAULT_BACKEND "default"
#endif

/* Exit statuses (syssem(1), EXIT STATUS). `run` exits with its command's. */
enum {
  ST_OK = 0,
  ST_LIB = 1,      /* the library or the OS refused                        */
  ST_USAGE = 2,    /* bad command line or argument                         */
  ST_TIMEOUT = 3,  /* no token within --timeout                            */
  ST_NOEXEC = 126, /* run: the command exists but could not be executed    */
  ST_NOTFOUND = 127 /* run: the command was not found                      */
};

/* The prefix of Qt's (and libsyssem's legacy) key files and names. */
#define LEGACY_PREFIX "qipc_systemsem_"
/* The ftok project id of legacy System V keys. */
#define LEGACY_PROJ 'Q'

/* ---- options ------------------------------------------------------------ */

enum opt_id {
  OPT_HELP, OPT_VERSION, OPT_BACKEND, OPT_NATIVE, OPT_LEGACY, OPT_PERMS,
  OPT_JOBS, OPT_TIMEOUT, OPT_INITIAL, OPT_RESET, OPT_EXCL, OPT_FORCE, OPT__COUNT
};

#define BIT(o) (1u << (o))
#define OPTS_BASE (BIT(OPT_HELP) | BIT(OPT_VERSION) | BIT(OPT_BACKEND))
#define OPTS_KEY (OPTS_BASE | BIT(OPT_NATIVE) | BIT(OPT_LEGACY) | BIT(OPT_PERMS))

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

/* ---- command line ------------------------------------------------------- */

struct args;

struct command {
  const char *name;
  int (*fn)(struct args *a);
  unsigned int allowed; /* options it takes (BIT(O_...))                 */
  int min_pos, max_pos; /* positional arguments, the command of run aside */
  const char *synopsis;
  const char *about;
};

struct args {
  const struct command *cmd;
  const char *pos[2];
  int npos;
  char **command; /* run: COMMAND [ARG...]                                */
  unsigned int seen;
  const char *val[OPT__COUNT];
  /* decoded */
  syssem_options_t opts;
  long timeout;
  int jobs, initial;
};

static int cmd_run(struct args *a);
static int cmd_create(struct args *a);
static int cmd_acquire(struct args *a);
static int cmd_release(struct args *a);
static int cmd_value(struct args *a);
static int cmd_info(struct args *a);
static int cmd_rm(struct args *a);
static int cmd_list(struct args *a);

static const struct command commands[] = {
  { "run", cmd_run, OPTS_KEY | BIT(OPT_JOBS) | BIT(OPT_TIMEOUT), 1, 1,
    "[OPTION...] KEY [--] COMMAND [ARG...]",
    "Open KEY (created with N tokens if absent), take one token, run COMMAND,\n"
    "give the token back when it ends, and exit with its status (128+N if it\n"
    "died of signal N). Signals sent to syssem are passed on to COMMAND.\n"
    "The semaphore stays after the last run; 'syssem rm KEY' removes it.\n" },
  { "create", cmd_create, OPTS_KEY | BIT(OPT_INITIAL) | BIT(OPT_RESET) | BIT(OPT_EXCL),
    1, 1, "[OPTION...] KEY",
    "Create KEY with INITIAL tokens if it does not exist; an existing one is\n"
    "left as it is (unless --reset or --exclusive). It stays until 'rm'.\n" },
  { "acquire", cmd_acquire, OPTS_KEY | BIT(OPT_TIMEOUT), 1, 1, "[OPTION...] KEY",
    "Take one token of the existing semaphore KEY and keep it taken after\n"
    "syssem exits (no undo); 'syssem release KEY' gives it back.\n" },
  { "release", cmd_release, OPTS_KEY, 1, 2, "[OPTION...] KEY [N]",
    "Give N tokens (default 1) to the existing semaphore KEY.\n" },
  { "value", cmd_value, OPTS_KEY, 1, 1, "[OPTION...] KEY",
    "Print the count of the existing semaphore KEY.\n" },
  { "info", cmd_info, OPTS_KEY, 1, 1, "[OPTION...] KEY",
    "Print the key, backend, native name, whether the object exists and its\n"
    "count. Creates nothing.\n" },
  { "rm", cmd_rm, OPTS_KEY | BIT(OPT_FORCE), 1, 1, "[OPTION...] KEY",
    "Remove the semaphore KEY (and its legacy key file), whoever made it.\n" },
  { "list", cmd_list, OPTS_BASE, 0, 0, "[OPTION...]",
    "List the semaphores libsyssem can find on this machine: legacy System V\n"
    "key files and their sets, System V sets without a key file, and POSIX\n"
    "named semaphores. One line each: backend, count, native name, note.\n"
    "Creates nothing.\n" },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* The subcommand being run, for messages. */
static const char *subcommand;

static void vsay(const char *fmt, va_list ap)
{
  fputs("syssem: ", stderr);
  if (subcommand != NULL)
    fprintf(stderr, "%s: ", subcommand);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

/* An error message: "syssem: <subcommand>: <message>". */
static void say(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

static int usage_error(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
  if (subcommand != NULL)
    fprintf(stderr, "Try 'syssem %s --help'.\n", subcommand);
  else
    fputs("Try 'syssem --help'.\n", stderr);
  return ST_USAGE;
}

/* Report the library's failure `code` about `what` and give the exit status:
 * a key or an argument it refused is a usage error, a timeout is a timeout,
 * the rest is the library's. */
static int lib_fail(const char *what, int code)
{
  const char *text = syssem_strerror(code);
  const char *detail = syssem_last_error_message();

  if (*what == '\0')
    what = "(empty key)";
  if (syssem_last_error() != code || strstr(detail, text) != NULL)
    say("%s: %s", what, text);
  else
    say("%s: %s (%s)", what, text, detail);
  if (code == SYSSEM_EKEY || code == SYSSEM_EINVAL)
    return ST_USAGE;
  return code == SYSSEM_ETIMEDOUT ? ST_TIMEOUT : ST_LIB;
}

/* An OS call of the tool itself failed with errno value err. */
static int os_fail(const char *what, int err)
{
  say("%s: %s", what, strerror(err));
  return ST_LIB;
}

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

static void print_options(unsigned int allowed)
{
  size_t i;

  printf("\nOptions:\n");
  for (i = 0; i < OPT__COUNT; i++)
    if (allowed & BIT(i))
      print_option(&optdefs[i]);
}

static void help_command(const struct command *c)
{
  printf("Usage: syssem %s %s\n%s", c->name, c->synopsis, c->about);
  print_options(c->allowed);
  printf("\nSee syssem(1) for keys, exit statuses and crash behaviour.\n");
}

static void help_global(void)
{
  size_t i;

  printf("Usage: syssem [OPTION...] COMMAND [ARG...]\n"
         "Named, counting, cross-process semaphores (libsyssem).\n\n"
         "Commands:\n");
  for (i = 0; i < N_COMMANDS; i++)
    printf("  syssem %s %s\n", commands[i].name, commands[i].synopsis);
  print_options(OPTS_KEY);
  printf("\nKEY is a Qt string key, a Qt 6.6 key \"posix:/name\" or \"systemv:/file\",\n"
         "or with --native the native name. 'syssem COMMAND --help' tells more.\n"
         "Exit status: 0 success, 1 library error, 2 usage error, 3 timeout;\n"
         "run: its command's status.\n");
}

static void print_version(void)
{
  printf("syssem (libsyssem) %s\n", syssem_version());
  if (strcmp(syssem_version(), SYSSEM_VERSION_STRING) != 0)
    printf("built against libsyssem %s\n", SYSSEM_VERSION_STRING);
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
      return usage_error("unknown option '%s'", arg);
    if (eq != NULL) {
      if (o->arg == NULL)
        return usage_error("option '--%s' takes no argument", o->name);
      value = eq + 1;
    }
  } else {
    o = find_short(arg[1], &id);
    if (o == NULL)
      return usage_error("unknown option '%s'", arg);
    if (arg[2] != '\0') {
      if (o->arg == NULL)
        return usage_error("unknown option '%s'", arg);
      value = arg + 2;
    }
  }
  if (o->arg != NULL && value == NULL) {
    if (*i + 1 >= argc)
      return usage_error("option '%s' needs an argument %s", arg, o->arg);
    value = argv[++*i];
  }
  a->seen |= BIT(id);
  a->val[id] = value;
  return ST_OK;
}

static const struct command *find_command(const char *name)
{
  size_t i;

  for (i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

/* Split the command line: options (before or after the subcommand),
 * positionals, and run's command. Options stop at "--"; for run they also
 * stop at the first word after KEY, where the command begins. */
static int parse_args(struct args *a, int argc, char **argv)
{
  int i, r, no_opts = 0;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (!no_opts && arg[0] == '-' && arg[1] != '\0') {
      if (strcmp(arg, "--") == 0) {
        no_opts = 1;
        if (a->cmd == NULL)
          return usage_error("missing command");
        if (a->cmd->fn == cmd_run && a->npos == 1) {
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
        return usage_error("unknown command '%s'", arg);
      subcommand = a->cmd->name;
      continue;
    }
    if (a->cmd->fn == cmd_run && a->npos == 1) {
      a->command = &argv[i];
      break;
    }
    if (a->npos >= a->cmd->max_pos)
      return usage_error("unexpected argument '%s'", arg);
    a->pos[a->npos++] = arg;
  }
  return ST_OK;
}

/* A decimal integer in [min, max], all of s. */
static int parse_long(const char *s, long min, long max, long *out)
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
  if (parse_long(a->val[id], min, INT_MAX, &v) != 0)
    return usage_error("--%s: '%s' is not a whole number from %ld up",
                       optdefs[id].name, a->val[id], min);
  *out = (int)v;
  return ST_OK;
}

/* Does key look like Qt 6.6 QNativeIpcKey text ("type:payload")? */
static int looks_like_uri(const char *key)
{
  static const char *const types[] = { "posix:", "systemv:", "windows:" };
  size_t i;

  for (i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strncmp(key, types[i], strlen(types[i])) == 0)
      return 1;
  if (strncmp(key, "systemv-", 8) != 0)
    return 0;
  for (key += 8; *key >= '0' && *key <= '9'; key++)
    ;
  return *key == ':';
}

/* Turn the option strings into values; check what the subcommand allows. */
static int decode_args(struct args *a)
{
  const struct command *c = a->cmd;
  unsigned int extra = a->seen & ~c->allowed;
  long v;
  int i, r;

  if (extra != 0) {
    for (i = 0; !(extra & BIT(i)); i++)
      ;
    return usage_error("option '--%s' does not apply to %s", optdefs[i].name,
                       c->name);
  }
  if (a->npos < c->min_pos)
    return usage_error("missing KEY");
  if (c->fn == cmd_run && a->command == NULL)
    return usage_error("missing COMMAND");
  if (c->fn == cmd_run && a->command[0] == NULL)
    return usage_error("missing COMMAND after '--'");
  if (a->seen & BIT(OPT_BACKEND)) {
    for (i = SYSSEM_BACKEND_SYSV; i <= SYSSEM_BACKEND_WIN32; i++)
      if (strcmp(a->val[OPT_BACKEND], syssem_backend_name((syssem_backend_t)i)) == 0)
        break;
    if (i > SYSSEM_BACKEND_WIN32)
      return usage_error("--backend: unknown backend '%s' (sysv, posix)",
                         a->val[OPT_BACKEND]);
    a->opts.backend = (syssem_backend_t)i;
  }
  if ((a->seen & BIT(OPT_NATIVE)) && (a->seen & BIT(OPT_LEGACY)))
    return usage_error("--native and --legacy exclude each other");
  if ((a->seen & BIT(OPT_RESET)) && (a->seen & BIT(OPT_EXCL)))
    return usage_error("--reset and --exclusive exclude each other");
  if (a->seen & BIT(OPT_PERMS)) {
    char *end;

    errno = 0;
    v = strtol(a->val[OPT_PERMS], &end, 8);
    if (a->val[OPT_PERMS][0] < '0' || a->val[OPT_PERMS][0] > '7' || *end != '\0' ||
        errno != 0 || v > 0777)
      return usage_error("--permissions: '%s' is not an octal mode up to 777",
                         a->val[OPT_PERMS]);
    a->opts.permissions = (unsigned int)v;
  }
  if (a->npos > 0) {
    if (a->seen & BIT(OPT_NATIVE))
      a->opts.keyform = SYSSEM_KEYFORM_NATIVE;
    else if (!(a->seen & BIT(OPT_LEGACY)) && looks_like_uri(a->pos[0]))
      a->opts.keyform = SYSSEM_KEYFORM_URI;
  }
  if (a->seen & BIT(OPT_TIMEOUT)) {
    if (parse_long(a->val[OPT_TIMEOUT], 0, LONG_MAX, &a->timeout) != 0)
      return usage_error("--timeout: '%s' is not a number of milliseconds",
                         a->val[OPT_TIMEOUT]);
  }
  r = parse_count(a, OPT_JOBS, 1, &a->jobs);
  if (r == ST_OK)
    r = parse_count(a, OPT_INITIAL, 0, &a->initial);
  return r;
}

/* ---- one operation each -------------------------------------------------- */

/* Open KEY for a one-operation subcommand: the object persists and
 * operations have no undo. Returns an exit status. */
static int open_key(struct args *a, syssem_t **s, int initial,
                    syssem_mode_t mode, unsigned int flags)
{
  int r;

  a->opts.flags = flags;
  r = syssem_open_ex(s, a->pos[0], initial, mode, &a->opts);
  return r < 0 ? lib_fail(a->pos[0], r) : ST_OK;
}

static int open_existing(struct args *a, syssem_t **s)
{
  return open_key(a, s, 0, SYSSEM_OPEN_EXISTING,
                  SYSSEM_PERSIST | SYSSEM_NO_UNDO);
}

/* Take one token, honouring --timeout. Returns an exit status. */
static int take(struct args *a, syssem_t *s)
{
  int r;

  r = (a->seen & BIT(OPT_TIMEOUT)) ? syssem_try_acquire(s, a->timeout)
                                 : syssem_acquire(s);
  if (r == SYSSEM_ETIMEDOUT) {
    say("%s: timed out after %ld ms", a->pos[0], a->timeout);
    return ST_TIMEOUT;
  }
  return r < 0 ? lib_fail(a->pos[0], r) : ST_OK;
}

/* Finish a subcommand on handle s: close it, pass on st. */
static int done(syssem_t *s, int st)
{
  syssem_close(s);
  return st;
}

static int cmd_create(struct args *a)
{
  syssem_mode_t mode = SYSSEM_OPEN;
  syssem_t *s;
  int st;

  if (a->seen & BIT(OPT_RESET))
    mode = SYSSEM_CREATE;
  else if (a->seen & BIT(OPT_EXCL))
    mode = SYSSEM_CREATE_NEW;
  st = open_key(a, &s, a->initial, mode, SYSSEM_PERSIST | SYSSEM_NO_UNDO);
  return st == ST_OK ? done(s, ST_OK) : st;
}

static int cmd_acquire(struct args *a)
{
  syssem_t *s;
  int st = open_existing(a, &s);

  return st == ST_OK ? done(s, take(a, s)) : st;
}

static int cmd_release(struct args *a)
{
  syssem_t *s;
  long n = 1;
  int st, r;

  if (a->npos > 1 && parse_long(a->pos[1], 0, INT_MAX, &n) != 0)
    return usage_error("'%s' is not a whole number of tokens", a->pos[1]);
  st = open_existing(a, &s);
  if (st != ST_OK)
    return st;
  r = syssem_release(s, (int)n);
  return done(s, r < 0 ? lib_fail(a->pos[0], r) : ST_OK);
}

static int cmd_value(struct args *a)
{
  syssem_t *s;
  int st, r, v;

  st = open_existing(a, &s);
  if (st != ST_OK)
    return st;
  r = syssem_value(s, &v);
  if (r == SYSSEM_OK)
    printf("%d\n", v);
  return done(s, r < 0 ? lib_fail(a->pos[0], r) : ST_OK);
}

/* The backend a key would use when there is no object to ask. */
static const char *backend_guess(const struct args *a)
{
  const char *env = getenv("SYSSEM_BACKEND");
  const char *k = a->pos[0];

  if (a->opts.backend != SYSSEM_BACKEND_DEFAULT)
    return syssem_backend_name(a->opts.backend);
  if (a->opts.keyform == SYSSEM_KEYFORM_URI)
    return k[0] == 'p' ? "posix" : k[0] == 'w' ? "win32" : "sysv";
  return env != NULL && *env != '\0' ? env : SYSSEM_TOOL_DEFAULT_BACKEND;
}

static int cmd_info(struct args *a)
{
  syssem_t *s;
  int r, v;

  a->opts.flags = SYSSEM_PERSIST | SYSSEM_NO_UNDO;
  r = syssem_open_ex(&s, a->pos[0], 0, SYSSEM_OPEN_EXISTING, &a->opts);
  if (r == SYSSEM_ENOENT) {
    /* The library names objects only through a handle: without an object
     * the native name of a derived key is not known here. */
    printf("key:     %s\nbackend: %s\nnative:  %s\nexists:  no\nvalue:   -\n",
           a->pos[0], backend_guess(a),
           a->opts.keyform == SYSSEM_KEYFORM_NATIVE ? a->pos[0] : "-");
    return ST_OK;
  }
  if (r < 0)
    return lib_fail(a->pos[0], r);
  printf("key:     %s\nbackend: %s\nnative:  %s\nexists:  yes\n",
         syssem_key(s), syssem_backend_name(syssem_backend(s)),
         syssem_native_key(s));
  r = syssem_value(s, &v);
  if (r == SYSSEM_OK)
    printf("value:   %d\n", v);
  else
    printf("value:   ? (%s)\n", syssem_strerror(r));
  return done(s, ST_OK);
}

static int cmd_rm(struct args *a)
{
  int r = syssem_remove(a->pos[0], &a->opts);

  if (r == SYSSEM_ENOENT && (a->seen & BIT(OPT_FORCE)))
    return ST_OK;
  return r < 0 ? lib_fail(a->pos[0], r) : ST_OK;
}

/* ---- run ------------------------------------------------------------------ */

/* Signals passed on to the command while it runs. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
                                 SIGUSR2 };
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])

static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *ctx)
{
  (void)ctx;
#if defined(SI_KERNEL)
  /* A terminal's signals (Ctrl-C, Ctrl-\) come from the kernel and go to the
   * whole foreground process group, the command included: do not double
   * them. Signals sent with kill() or sigqueue() are passed on. */
  if (si != NULL && si->si_code == SI_KERNEL)
    return;
#else
  (void)si;
#endif
  if (child_pid > 0)
    kill((pid_t)child_pid, sig);
}

/* In the child: die when the parent (syssem run) dies, so that a command
 * whose run was killed does not go on without a token. */
static void die_with_parent(pid_t parent)
{
#if defined(__linux__)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
#elif defined(__FreeBSD__) && defined(PROC_PDEATHSIG_CTL)
  int sig = SIGKILL;

  procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &sig);
#endif
  /* The parent may have died before the request took effect. */
  if (getppid() != parent)
    raise(SIGKILL);
}

/* Run argv as a child, passing signals on; store its wait status in
 * *status. Returns ST_OK, or an exit status after a failure of its own. */
static int spawn_wait(char **argv, int *status)
{
  struct sigaction act, old[N_FORWARDED], oldchld;
  sigset_t block, oldmask;
  pid_t pid, parent = getpid();
  int pfd[2], err = 0;
  ssize_t n;
  size_t i;

  /* A close-on-exec pipe tells the parent whether exec failed, and why. */
  if (pipe(pfd) != 0)
    return os_fail("pipe", errno);
  fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
  fcntl(pfd[1], F_SETFD, FD_CLOEXEC);

  /* Signals wait until the child's pid is known to the handler. */
  sigemptyset(&block);
  for (i = 0; i < N_FORWARDED; i++)
    sigaddset(&block, forwarded[i]);
  sigprocmask(SIG_BLOCK, &block, &oldmask);
  memset(&act, 0, sizeof act);
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_SIGINFO | SA_RESTART;
  act.sa_sigaction = forward;
  for (i = 0; i < N_FORWARDED; i++) {
    sigaction(forwarded[i], NULL, &old[i]);
    /* What our caller ignores (nohup) stays ignored, for the command too. */
    if (old[i].sa_handler != SIG_IGN)
      sigaction(forwarded[i], &act, NULL);
  }
  /* An inherited SIGCHLD ignore would make waitpid() fail. */
  memset(&act, 0, sizeof act);
  sigemptyset(&act.sa_mask);
  act.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &act, &oldchld);

  pid = fork();
  if (pid == 0) {
    for (i = 0; i < N_FORWARDED; i++)
      sigaction(forwarded[i], &old[i], NULL);
    sigaction(SIGCHLD, &oldchld, NULL);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(pfd[0]);
    die_with_parent(parent);
    execvp(argv[0], argv);
    err = errno;
    while (write(pfd[1], &err, sizeof err) < 0 && errno == EINTR)
      ;
    _exit(err == ENOENT ? ST_NOTFOUND : ST_NOEXEC);
  }
  if (pid < 0) {
    err = errno;
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(pfd[0]);
    close(pfd[1]);
    return os_fail("fork", err);
  }
  child_pid = pid;
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  close(pfd[1]);
  do
    n = read(pfd[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      child_pid = 0;
      return os_fail("waitpid", errno);
    }
  }
  /* The handlers stay until exit: a signal now has no one to go to, and
   * must not kill us before the token is given back. */
  child_pid = 0;
  if (n == (ssize_t)sizeof err) {
    say("%s: %s", argv[0], strerror(err));
    return err == ENOENT ? ST_NOTFOUND : ST_NOEXEC;
  }
  return ST_OK;
}

static int cmd_run(struct args *a)
{
  syssem_t *s;
  int st, r, status = 0;

  /* Concurrent runs meet on one object that outlives each of them: a run
   * that created it must not remove it under the others (docs/tool.md). The
   * token is held with undo (System V), so a killed run gives it back. */
  st = open_key(a, &s, a->jobs, SYSSEM_OPEN, SYSSEM_PERSIST);
  if (st != ST_OK)
    return st;
  st = take(a, s);
  if (st != ST_OK)
    return done(s, st);
  st = spawn_wait(a->command, &status);
  r = syssem_release(s, 1);
  if (r < 0)
    lib_fail(a->pos[0], r);
  if (st != ST_OK)
    return done(s, st);
  if (WIFSIGNALED(status))
    return done(s, 128 + WTERMSIG(status));
  return done(s, WIFEXITED(status) ? WEXITSTATUS(status) : ST_LIB);
}

/* ---- list ----------------------------------------------------------------- */

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
    if (strncmp(e->d_name, prefix, plen) != 0)
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

static void list_row(const char *backend, int value, const char *native,
                     const char *note)
{
  char v[16];

  if (value >= 0)
    snprintf(v, sizeof v, "%d", value);
  else
    snprintf(v, sizeof v, "%s", value == -1 ? "-" : "?");
  printf("%-5s %5s %s%s%s%s\n", backend, v, native, note ? " (" : "",
         note ? note : "", note ? ")" : "");
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
  key = ftok(path, LEGACY_PROJ);
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

/* System V sets that look like libsyssem's (one semaphore, ftok project 'Q'
 * as Linux lays out the key) and that no key file names. */
static void list_orphans(const struct keyset *ks)
{
  char line[256], native[32], note[64];
  unsigned long nsems;
  unsigned int perms;
  int key, id, v;
  FILE *f;

  f = fopen("/proc/sysvipc/sem", "r");
  if (f == NULL)
    return; /* not Linux, or no System V IPC */
  if (fgets(line, sizeof line, f) != NULL) { /* the header */
    while (fgets(line, sizeof line, f) != NULL) {
      if (sscanf(line, "%d %d %o %lu", &key, &id, &perms, &nsems) != 4)
        continue;
      if (nsems != 1 || ((unsigned int)key >> 24) != (unsigned int)LEGACY_PROJ ||
          keyset_has(ks, (key_t)key))
        continue;
      v = semctl(id, 0, GETVAL);
      if (v < 0 && (errno == EINVAL || errno == EIDRM))
        continue; /* removed since /proc was read */
      snprintf(native, sizeof native, "0x%08x", (unsigned int)key);
      snprintf(note, sizeof note, "semid %d, no key file", id);
      list_row("sysv", v < 0 ? -2 : v, native, v < 0 ? strerror(errno) : note);
    }
  }
  fclose(f);
}

static int list_sysv(void)
{
  struct keyset ks = { NULL, 0, 0 };
  const char *tmp = getenv("TMPDIR");
  char **names = NULL, *dir, *path;
  size_t n = 0, i;
  int err;

  if (tmp == NULL || *tmp == '\0')
    tmp = "/tmp";
  dir = realpath(tmp, NULL);
  if (dir == NULL)
    return os_fail(tmp, errno);
  err = scan_dir(dir, LEGACY_PREFIX, &names, &n);
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
  if (err == 0)
    list_orphans(&ks);
  free_names(names, n);
  free(ks.keys);
  if (err != 0)
    os_fail(dir, err);
  free(dir);
  return err == 0 ? ST_OK : ST_LIB;
}

/* Linux C libraries keep the POSIX named semaphore "/x" in /dev/shm: glibc
 * as sem.x, musl as x (beside shm_open objects: the size check below tells
 * semaphores apart). */
#if defined(__linux__) && defined(__GLIBC__)
# define SHM_DIR "/dev/shm"
# define SHM_PREFIX "sem."
#elif defined(__linux__)
# define SHM_DIR "/dev/shm"
# define SHM_PREFIX ""
#endif

static int list_posix(void)
{
#if defined(SHM_DIR)
  char **names = NULL, name[NAME_MAX + 2], path[sizeof SHM_DIR + NAME_MAX + 2];
  size_t n = 0, i;
  struct stat st;
  sem_t *sem;
  int err, v;

  err = scan_dir(SHM_DIR, SHM_PREFIX, &names, &n);
  if (err == ENOENT)
    return ST_OK;
  if (err != 0)
    return os_fail(SHM_DIR, err);
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof name, "/%s", names[i] + strlen(SHM_PREFIX));
    snprintf(path, sizeof path, "%s/%s", SHM_DIR, names[i]);
    /* A file too short for a sem_t (a sem_open killed half-way leaves one)
     * would make the mapping fault: report it, never open it. */
    if (stat(path, &st) != 0) {
      if (errno != ENOENT) /* ENOENT: removed since the scan */
        list_row("posix", -2, name, strerror(errno));
      continue;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size != sizeof(sem_t)) {
      list_row("posix", -2, name, "not a semaphore");
      continue;
    }
    sem = sem_open(name, 0); /* no O_CREAT: creates nothing */
    if (sem == SEM_FAILED) {
      if (errno != ENOENT) /* ENOENT: removed since the scan */
        list_row("posix", -2, name, strerror(errno));
      continue;
    }
    if (sem_getvalue(sem, &v) != 0)
      list_row("posix", -2, name, strerror(errno));
    else
      list_row("posix", v < 0 ? 0 : v, name, NULL);
    sem_close(sem);
  }
  free_names(names, n);
#endif
  return ST_OK;
}

static int cmd_list(struct args *a)
{
  syssem_backend_t b = a->opts.backend;
  int st = ST_OK;

  if (b == SYSSEM_BACKEND_WIN32)
    return usage_error("--backend: list knows sysv and posix");
  if (b == SYSSEM_BACKEND_DEFAULT || b == SYSSEM_BACKEND_SYSV)
    st = list_sysv();
  if (b == SYSSEM_BACKEND_DEFAULT || b == SYSSEM_BACKEND_POSIX) {
    int r = list_posix();

    if (st == ST_OK)
      st = r;
  }
  return st;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
  struct args a;
  syssem_options_t init = SYSSEM_OPTIONS_INIT;
  int st;

  memset(&a, 0, sizeof a);
  a.opts = init;
  a.initial = 1;
  a.jobs = 1;
  st = parse_args(&a, argc, argv);
  if (st != ST_OK)
    return st;
  if (a.seen & BIT(OPT_HELP)) {
    if (a.cmd != NULL)
      help_command(a.cmd);
    else
      help_global();
    return ST_OK;
  }
  if (a.seen & BIT(OPT_VERSION)) {
    print_version();
    return ST_OK;
  }
  if (a.cmd == NULL)
    return usage_error("missing command (run, create, acquire, release, value, "
                       "info, rm, list)");
  st = decode_args(&a);
  if (st != ST_OK)
    return st;
  st = a.cmd->fn(&a);
  if (fflush(stdout) != 0 && st == ST_OK)
    st = os_fail("standard output", errno);
  return st;
}
