/*
 * leftovers PREFIX: list the objects (key files, POSIX names) whose names
 * start with PREFIX, or with the legacy prefix and then PREFIX, where this
 * build of the library keeps them. Exits 1 if there is any, else 0.
 * scripts/test.sh runs it at the end with the run's $SYSSEM_TEST_PREFIX.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "fixture.h"

int main(int argc, char **argv)
{
  int n;

  if (argc != 2 || argv[1][0] == '\0') {
    fprintf(stderr, "usage: leftovers PREFIX\n");
    return 2;
  }
  n = leftovers_of(argv[1], 1);
  return n == 0 ? 0 : 1;
}
