/*
 * libFuzzer target: the key code (src/key.c, compiled in) on hostile input.
 * Each input is tried as a legacy, a native and a URI key, and its bytes go
 * through the UTF-8 check and SHA-1. Besides "no crash, no sanitizer
 * report", the results must be consistent:
 *   - a parsed key was valid UTF-8, at most SYSSEM__KEY_MAX bytes, not empty;
 *   - legacy: "qipc_systemsem_" + the key's ASCII letters + 40 hex digits,
 *     of the key without a leading byte-order mark;
 *   - native: the key itself;
 *   - URI: a backend chosen, a non-empty name without NUL, valid UTF-8;
 *   - an etcd key (any form): the etcd backend, and a canonical form that
 *     parses back to itself;
 *   - a failed parse leaves the name as fresh (safe to free twice).
 *
 * Built as the libFuzzer target by meson with -Dfuzzer=enabled (clang; see
 * fuzz/meson.build), which .ci/reliability.sh runs under ASan and UBSan;
 * fuzz/replay.c replays the corpus without libFuzzer in the test suite.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syssem_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                            \
  do {                                                                        \
    if (!(c))                                                                 \
      abort();                                                                \
  } while (0)

static int letter(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void check_legacy(const char *key, size_t len, const char *text)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char d[20];
  size_t i, o = 15;

  REQUIRE(strncmp(text, "qipc_systemsem_", 15) == 0);
  for (i = 0; i < len; i++)
    if (letter(key[i]))
      REQUIRE(text[o++] == key[i]);
  syssem__sha1(key, len, d);
  for (i = 0; i < 20; i++) {
    REQUIRE(text[o++] == hex[d[i] >> 4]);
    REQUIRE(text[o++] == hex[d[i] & 15]);
  }
  REQUIRE(text[o] == '\0');
}

static void one(const char *key, size_t len, syssem_keyform_t form)
{
  syssem__name_t n;
  int r = syssem__name_parse(&n, key, form);

  /* The key that the checks below hold the name to: without a leading
   * byte-order mark, which is dropped in every keyform (docs/keys.md). */
  if (len >= 3 && memcmp(key, "\xEF\xBB\xBF", 3) == 0) {
    key += 3;
    len -= 3;
  }
  if (r != SYSSEM_OK) {
    REQUIRE(r == SYSSEM_EKEY || r == SYSSEM_ENOMEM);
    REQUIRE(n.text == NULL && n.backend == SYSSEM_BACKEND_DEFAULT);
    syssem__name_free(&n);
    syssem__name_free(&n);
    return;
  }
  REQUIRE(len > 0 && len <= SYSSEM__KEY_MAX);
  REQUIRE(syssem__utf8_valid(key, len));
  REQUIRE(n.text != NULL);
  if (syssem__etcd_key_scheme(key, len)) {
    syssem__name_t again;

    REQUIRE(!n.legacy && n.backend == SYSSEM_BACKEND_ETCD);
    REQUIRE(syssem__name_parse(&again, n.text, SYSSEM_KEYFORM_URI) ==
            SYSSEM_OK);
    REQUIRE(strcmp(again.text, n.text) == 0);
    syssem__name_free(&again);
    syssem__name_free(&n);
    return;
  }
  switch (form) {
  case SYSSEM_KEYFORM_LEGACY:
    REQUIRE(n.legacy && n.backend == SYSSEM_BACKEND_DEFAULT);
    check_legacy(key, len, n.text);
    break;
  case SYSSEM_KEYFORM_NATIVE:
    REQUIRE(!n.legacy && strcmp(n.text, key) == 0);
    break;
  default:
    REQUIRE(!n.legacy && n.backend != SYSSEM_BACKEND_DEFAULT);
    REQUIRE(n.text[0] != '\0');
    REQUIRE(syssem__utf8_valid(n.text, strlen(n.text)));
    REQUIRE(n.proj_id >= 1 && n.proj_id <= 255);
    break;
  }
  syssem__name_free(&n);
  REQUIRE(n.text == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char digest[20];
  char *key = malloc(size + 1);

  if (key == NULL)
    return 0;
  memcpy(key, data, size);
  key[size] = '\0';
  (void)syssem__utf8_valid((const char *)data, size);
  syssem__sha1(data, size, digest);
  /* An embedded NUL ends the key, as it would for any C caller. */
  one(key, strlen(key), SYSSEM_KEYFORM_LEGACY);
  one(key, strlen(key), SYSSEM_KEYFORM_NATIVE);
  one(key, strlen(key), SYSSEM_KEYFORM_URI);
  free(key);
  return 0;
}
