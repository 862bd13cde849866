/*
 * Replays fuzz inputs through LLVMFuzzerTestOneInput without libFuzzer, so
 * the corpus runs under any compiler, sanitizer or Valgrind:
 *   fuzz_key_replay FILE_OR_DIRECTORY...
 * Exits 0 once every input ran (a failed check aborts).
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0, n;
  FILE *f = fopen(path, "rb");

  if (f == NULL) {
    perror(path);
    return 1;
  }
  do {
    if (len == cap) {
      unsigned char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return 1;
      }
      buf = nb;
    }
    n = fread(buf + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

static int run(const char *path, int *count)
{
  char sub[4096];
  struct dirent *e;
  struct stat st;
  int bad = 0;
  DIR *d;

  if (stat(path, &st) != 0) {
    perror(path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    ++*count;
    return run_file(path);
  }
  d = opendir(path);
  if (d == NULL) {
    perror(path);
    return 1;
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    bad |= run(sub, count);
  }
  closedir(d);
  return bad;
}

int main(int argc, char **argv)
{
  int i, bad = 0, count = 0;

  for (i = 1; i < argc; i++)
    bad |= run(argv[i], &count);
  printf("replayed %d inputs\n", count);
  return bad || count == 0;
}
