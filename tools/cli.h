/*
 * The syssem tool's internal interface: the command line as parsed, the
 * messages and exit statuses every command shares, and one entry point per
 * command (see syssem(1), docs/tool.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * main.c     the command table, help, main()
 * opt.c      options: the table, parsing, decoding, the key's form
 * common.c   messages, exit statuses of failures, printing names
 * cmd_ops.c  create, acquire, release, value, info, rm: one operation each
 * cmd_run.c  run: the process the user started
 * guard.c    run's guardian (run.h): holds the token, runs and ends the tree
 * tree.h     the command's process tree (tree_linux.c, tree_other.c)
 * cmd_list.c list
 *
 * Every semaphore operation goes through the library, and so does every
 * fact about where objects live (syssem_native_name(), syssem__key_dir(),
 * syssem__px_dir, ...): nothing here re-derives one.
 */
#ifndef SYSSEM_CLI_H
#define SYSSEM_CLI_H

#include <stddef.h>

#include "syssem.h"

/* Exit statuses (syssem(1), EXIT STATUS). `run` exits with its command's. */
enum {
  ST_OK = 0,
  ST_LIB = 1,       /* the library or the OS refused                      */
  ST_USAGE = 2,     /* bad command line or argument                       */
  ST_TIMEOUT = 3,   /* no token within --timeout                          */
  ST_NOEXEC = 126,  /* run: the command exists but could not be executed  */
  ST_NOTFOUND = 127 /* run: the command was not found                     */
};

enum opt_id {
  OPT_HELP, OPT_VERSION, OPT_BACKEND, OPT_NATIVE, OPT_LEGACY, OPT_PERMS,
  OPT_JOBS, OPT_TIMEOUT, OPT_INITIAL, OPT_RESET, OPT_EXCL, OPT_FORCE, OPT__COUNT
};

#define BIT(o) (1u << (o))
#define OPTS_BASE (BIT(OPT_HELP) | BIT(OPT_VERSION) | BIT(OPT_BACKEND))
#define OPTS_KEY (OPTS_BASE | BIT(OPT_NATIVE) | BIT(OPT_LEGACY) | BIT(OPT_PERMS))

struct args;

struct command {
  const char *name;
  int (*fn)(struct args *a);
  unsigned int allowed; /* options it takes (BIT(OPT_...))                */
  int min_pos, max_pos; /* positional arguments                           */
  int takes_command;    /* run: COMMAND [ARG...] follows KEY              */
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

/* main.c */
extern const struct command cli_commands[];
extern const size_t cli_ncommands;

/* opt.c: split argv into a (options, command, positionals, run's command)
 * and decode the option values; ST_OK, or ST_USAGE after a message. */
int cli_parse(struct args *a, int argc, char **argv);
int cli_decode(struct args *a);
/* The help lines of the options in `allowed`. */
void cli_print_options(unsigned int allowed);
/* A decimal integer in [min, max], all of s: 0, or -1. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* common.c */
/* The subcommand being run, for messages ("syssem: run: ..."). */
extern const char *cli_subcommand;
/* "syssem: <subcommand>: <message>" on standard error. */
void cli_say(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;
/* The same, then "Try 'syssem ... --help'."; returns ST_USAGE. */
int cli_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;
/* Report the library's failure code about what; returns the exit status:
 * ST_USAGE for a key or argument it refused, ST_TIMEOUT, else ST_LIB. */
int cli_lib_fail(const char *what, int code);
/* An OS call of the tool itself failed with errno value err: ST_LIB. */
int cli_os_fail(const char *what, int err);
/* Write name to standard output escaped as syssem(1) says (NAMES IN OUTPUT):
 * a backslash as "\\", every byte that is not printable (space, control
 * bytes, C1 controls, bytes outside well-formed UTF-8) as "\xHH". */
void cli_put_name(const char *name);

/* The commands. */
int cmd_run(struct args *a);
int cmd_create(struct args *a);
int cmd_acquire(struct args *a);
int cmd_release(struct args *a);
int cmd_value(struct args *a);
int cmd_info(struct args *a);
int cmd_rm(struct args *a);
int cmd_list(struct args *a);

/* cmd_ops.c, for run's guardian too: open KEY with the options of a, initial
 * and mode, and flags; take one token honouring --timeout. Exit statuses. */
int cli_open_key(struct args *a, syssem_t **s, int initial, syssem_mode_t mode,
                 unsigned int flags);
int cli_take(struct args *a, syssem_t *s);

#endif /* SYSSEM_CLI_H */
