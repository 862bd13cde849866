/*
 * syssem: the command-line tool of libsyssem. Inspect and operate named
 * semaphores, and run commands under one (see syssem(1), docs/tool.md).
 * This file holds the command table, the help and main(); cli.h says where
 * the rest lives.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct command cli_commands[] = {
  { "run", cmd_run, OPTS_KEY | BIT(OPT_JOBS) | BIT(OPT_TIMEOUT), 1, 1, 1,
    "[OPTION...] KEY [--] COMMAND [ARG...]",
    "Open KEY (created with N tokens if absent), take one token, run COMMAND,\n"
    "and give the token back when COMMAND and every process it started have\n"
    "ended. Exits with COMMAND's status (128+N if it died of signal N).\n"
    "Signals sent to syssem go to all those processes; if syssem is killed,\n"
    "they are killed before the token goes back. The semaphore stays after\n"
    "the last run; 'syssem rm KEY' removes it.\n" },
  { "create", cmd_create, OPTS_KEY | BIT(OPT_INITIAL) | BIT(OPT_RESET) | BIT(OPT_EXCL),
    1, 1, 0, "[OPTION...] KEY",
    "Create KEY with INITIAL tokens if it does not exist; an existing one is\n"
    "left as it is (unless --reset or --exclusive). It stays until 'rm'.\n" },
  { "acquire", cmd_acquire, OPTS_KEY | BIT(OPT_TIMEOUT), 1, 1, 0,
    "[OPTION...] KEY",
    "Take one token of the existing semaphore KEY and keep it taken after\n"
    "syssem exits (no undo); 'syssem release KEY' gives it back.\n" },
  { "release", cmd_release, OPTS_KEY, 1, 2, 0, "[OPTION...] KEY [N]",
    "Give N tokens (default 1) to the existing semaphore KEY.\n" },
  { "value", cmd_value, OPTS_KEY, 1, 1, 0, "[OPTION...] KEY",
    "Print the count of the existing semaphore KEY.\n" },
  { "info", cmd_info, OPTS_KEY, 1, 1, 0, "[OPTION...] KEY",
    "Print the key, backend, native name, whether the object exists and its\n"
    "count. Creates nothing.\n" },
  { "rm", cmd_rm, OPTS_KEY | BIT(OPT_FORCE), 1, 1, 0, "[OPTION...] KEY",
    "Remove the semaphore KEY (and its legacy key file), whoever made it.\n" },
  { "list", cmd_list, OPTS_BASE, 0, 0, 0, "[OPTION...]",
    "List the semaphores libsyssem can find on this machine: legacy System V\n"
    "key files and their sets, System V sets without a key file, and POSIX\n"
    "named semaphores. One line each: backend, count, native name, note.\n"
    "Exits 1 if it could not look at one of these places. Creates nothing.\n" },
};
const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

static void help_command(const struct command *c)
{
  printf("Usage: syssem %s %s\n%s", c->name, c->synopsis, c->about);
  cli_print_options(c->allowed);
  printf("\nSee syssem(1) for keys, exit statuses and crash behaviour.\n");
}

static void help_global(void)
{
  size_t i;

  printf("Usage: syssem [OPTION...] COMMAND [ARG...]\n"
         "Named, counting, cross-process semaphores (libsyssem).\n\n"
         "Commands:\n");
  for (i = 0; i < cli_ncommands; i++)
    printf("  syssem %s %s\n", cli_commands[i].name, cli_commands[i].synopsis);
  cli_print_options(OPTS_KEY);
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

int main(int argc, char **argv)
{
  struct args a;
  syssem_options_t init = SYSSEM_OPTIONS_INIT;
  int st;

  memset(&a, 0, sizeof a);
  a.opts = init;
  a.initial = 1;
  a.jobs = 1;
  st = cli_parse(&a, argc, argv);
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
    return cli_usage_error("missing command (run, create, acquire, release, "
                           "value, info, rm, list)");
  st = cli_decode(&a);
  if (st != ST_OK)
    return st;
  st = a.cmd->fn(&a);
  if (fflush(stdout) != 0 && st == ST_OK)
    st = cli_os_fail("standard output", errno);
  return st;
}
