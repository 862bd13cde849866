/*
 * The program every consumer route builds (pkg-config, meson subproject,
 * CMake): open a semaphore under a key of its own, take a token, give it
 * back, check the count, close. Prints "ok: ..." and exits 0 on success.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <syssem.h>

static int fail(const char *what)
{
  fprintf(stderr, "app: %s: %s\n", what, syssem_last_error_message());
  return 1;
}

int main(void)
{
  char key[64];
  syssem_t *s;
  int value = -1;

  /* The library must be the one the header describes. */
  if (strcmp(syssem_version(), SYSSEM_VERSION_STRING) != 0) {
    fprintf(stderr, "app: header %s, library %s\n", SYSSEM_VERSION_STRING,
            syssem_version());
    return 1;
  }
  sprintf(key, "syssem-consumer-%ld", (long)getpid());
  s = syssem_open(key, 1, SYSSEM_CREATE);
  if (s == NULL)
    return fail("syssem_open");
  if (syssem_acquire(s) != SYSSEM_OK)
    return fail("syssem_acquire");
  if (syssem_try_acquire(s, 0) != SYSSEM_ETIMEDOUT)
    return fail("syssem_try_acquire on a count of 0");
  if (syssem_release(s, 1) != SYSSEM_OK)
    return fail("syssem_release");
  if (syssem_value(s, &value) != SYSSEM_OK || value != 1)
    return fail("syssem_value");
  printf("ok: libsyssem %s, %s backend, %s\n", syssem_version(),
         syssem_backend_name(syssem_backend(s)), syssem_native_key(s));
  syssem_close(s);
  return 0;
}
