/*
 * Stands in for a test that cannot run on this host (its program could not
 * be built: no Qt, no C++ compiler, no such backend): prints why and exits
 * 77, which meson counts as a skip, never as a pass.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

int main(int argc, char **argv)
{
  printf("SKIP: %s\n", argc > 1 ? argv[1] : "not testable on this host");
  return 77;
}
