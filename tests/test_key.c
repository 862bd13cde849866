/*
 * Tests of src/key.c: SHA-1, UTF-8 validation and key parsing.
 *
 * SPDX-License-Identifier: MIT
 *
 * The SHA-1 values other than the FIPS 180 examples were computed with
 * sha1sum(1) over the same bytes when this file was written.
 */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

#include "syssem_int.h"

/* Helpers -------------------------------------------------------------- */

static void hex20(const unsigned char d[20], char out[41])
{
  static const char hex[] = "0123456789abcdef";
  int i;

  for (i = 0; i < 20; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 0x0f];
  }
  out[40] = '\0';
}

static void check_sha1(const void *data, size_t len, const char *want)
{
  unsigned char d[20];
  char got[41];

  syssem__sha1(data, len, d);
  hex20(d, got);
  assert_string_equal(got, want);
}

/* The pattern byte i = i*31+7 (mod 256), shared with the sha1sum run that
 * produced the expected values. */
static void fill_pattern(unsigned char *buf, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    buf[i] = (unsigned char)((i * 31u + 7u) & 0xffu);
}

/* Parse must fail with want, leave n as freshly initialised (so nothing is
 * leaked) and syssem__name_free must be safe, even twice. */
static void expect_fail(const char *key, syssem_keyform_t form, int want)
{
  syssem__name_t n;
  int dummy = 0;

  /* Garbage in, to show parse initialises n itself. */
  n.backend = SYSSEM_BACKEND_WIN32;
  n.legacy = 7;
  n.proj_id = -1;
  n.text = (char *)&dummy;
  n.buf = (char *)&dummy;

  assert_int_equal(syssem__name_parse(&n, key, form), want);
  assert_null(n.text);
  assert_null(n.buf);
  assert_int_equal(n.backend, SYSSEM_BACKEND_DEFAULT);
  assert_int_equal(n.legacy, 0);
  assert_int_equal(n.proj_id, 'Q');
  syssem__name_free(&n);
  syssem__name_free(&n);
  assert_null(n.text);
}

static void expect_legacy(const char *key, const char *stem)
{
  syssem__name_t n;

  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_LEGACY),
                   SYSSEM_OK);
  assert_non_null(n.text);
  assert_string_equal(n.text, stem);
  assert_int_equal(n.legacy, 1);
  assert_int_equal(n.backend, SYSSEM_BACKEND_DEFAULT);
  assert_int_equal(n.proj_id, 'Q');
  syssem__name_free(&n);
  assert_null(n.text);
  syssem__name_free(&n);
}

static void expect_uri(const char *key, syssem_backend_t backend, int proj_id,
                       const char *text)
{
  syssem__name_t n;

  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_URI),
                   SYSSEM_OK);
  assert_non_null(n.text);
  assert_string_equal(n.text, text);
  assert_int_equal(n.backend, backend);
  assert_int_equal(n.proj_id, proj_id);
  assert_int_equal(n.legacy, 0);
  syssem__name_free(&n);
  assert_null(n.text);
}

static void expect_uri_fail(const char *key)
{
  expect_fail(key, SYSSEM_KEYFORM_URI, SYSSEM_EKEY);
}

/* SHA-1 ------------------------------------------------------------------ */

static void test_sha1_fips_vectors(void **state)
{
  (void)state;
  check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
  check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  check_sha1(NULL, 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  check_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
             "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_sha1_million_a(void **state)
{
  size_t len = 1000000;
  char *buf = (char *)malloc(len);

  (void)state;
  assert_non_null(buf);
  memset(buf, 'a', len);
  check_sha1(buf, len, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  free(buf);
}

static void test_sha1_block_boundaries(void **state)
{
  static const struct {
    size_t len;
    const char *hex;
  } v[] = {
    { 1, "5d1be7e9dda1ee8896be5b7e34a85ee16452a7b4" },
    { 55, "749bbefb28edc4638b28b2b9a9e03ab9a4032b90" },
    { 56, "a5b6e9c29d201c774753ff8e7fb64931656f5e63" },
    { 57, "eb0737bed5451790722b2df351829ce117e3d9dd" },
    { 63, "d1a454409359fc372b4d22b3cea6488d6ba1be00" },
    { 64, "39a0d8b645ad85f1f976731ed112ac9455e28b78" },
    { 65, "d0c96e18890114a14716e9686528d2e3fdba8d9e" },
    { 119, "562ecf8a430f8e1056e3619bae33628e9a1d0a4e" },
    { 120, "353f6d2bf0e91aa91b74a2e0b3f297510f7d825f" },
    { 127, "bebc42d2d3d1e5fb8ad8895c2dcef2d68a6c279a" },
    { 128, "0060f2a7e34b6e4d459f560197ef93243732a400" },
    { 129, "3a16082d1bf09b604907ec6908b9893ca3e937c0" },
  };
  unsigned char buf[129];
  size_t i;

  (void)state;
  fill_pattern(buf, sizeof buf);
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    /* A heap copy of exactly len bytes lets ASan catch any over-read. */
    unsigned char *exact = (unsigned char *)malloc(v[i].len);

    assert_non_null(exact);
    memcpy(exact, buf, v[i].len);
    check_sha1(exact, v[i].len, v[i].hex);
    free(exact);
  }
}

/* UTF-8 -------------------------------------------------------------------- */

/* The verdict on s, which must be the same with 0 to 16 ASCII bytes before
 * it and 9 after (ASCII passes a word at a time: the sequences under test
 * then lie across every word boundary); -1 when it is not. */
static int valid_str(const char *s)
{
  char buf[64];
  size_t len = strlen(s), pad;
  int want = syssem__utf8_valid(s, len);

  assert_true(16 + len + 9 <= sizeof buf);
  for (pad = 0; pad <= 16; pad++) {
    memset(buf, 'x', pad);
    memcpy(buf + pad, s, len);
    memset(buf + pad + len, 'y', 9);
    if (syssem__utf8_valid(buf, pad + len + 9) != want)
      return -1;
  }
  return want;
}

static void test_utf8_valid(void **state)
{
  (void)state;
  assert_int_equal(syssem__utf8_valid("", 0), 1);
  assert_int_equal(syssem__utf8_valid(NULL, 0), 1);
  assert_int_equal(valid_str("plain ascii ~\x7f"), 1);
  assert_int_equal(valid_str("\xc2\x80"), 1);             /* U+0080 */
  assert_int_equal(valid_str("\xc3\xa9"), 1);             /* U+00E9 */
  assert_int_equal(valid_str("\xdf\xbf"), 1);             /* U+07FF */
  assert_int_equal(valid_str("\xe0\xa0\x80"), 1);         /* U+0800 */
  assert_int_equal(valid_str("\xe2\x82\xac"), 1);         /* U+20AC */
  assert_int_equal(valid_str("\xed\x9f\xbf"), 1);         /* U+D7FF */
  assert_int_equal(valid_str("\xee\x80\x80"), 1);         /* U+E000 */
  assert_int_equal(valid_str("\xef\xbf\xbf"), 1);         /* U+FFFF */
  assert_int_equal(valid_str("\xf0\x90\x80\x80"), 1);     /* U+10000 */
  assert_int_equal(valid_str("\xf0\x9f\x98\x80"), 1);     /* U+1F600 */
  assert_int_equal(valid_str("\xf4\x8f\xbf\xbf"), 1);     /* U+10FFFF */
  assert_int_equal(valid_str("Gr\xc3\xbc\xc3\x9f" "e"), 1);
  /* U+0000 is well-formed when the length says it is there. */
  assert_int_equal(syssem__utf8_valid("a\0b", 3), 1);
}

static void test_utf8_invalid(void **state)
{
  (void)state;
  /* Overlong forms. */
  assert_int_equal(valid_str("\xc0\x80"), 0);
  assert_int_equal(valid_str("\xc0\xaf"), 0);
  assert_int_equal(valid_str("\xc1\xbf"), 0);
  assert_int_equal(valid_str("\xe0\x80\x80"), 0);
  assert_int_equal(valid_str("\xe0\x9f\xbf"), 0);
  assert_int_equal(valid_str("\xf0\x80\x80\x80"), 0);
  assert_int_equal(valid_str("\xf0\x8f\xbf\xbf"), 0);
  /* Surrogates. */
  assert_int_equal(valid_str("\xed\xa0\x80"), 0);         /* U+D800 */
  assert_int_equal(valid_str("\xed\xbf\xbf"), 0);         /* U+DFFF */
  assert_int_equal(valid_str("\xed\xa0\xbd\xed\xb8\x80"), 0); /* CESU pair */
  /* Above U+10FFFF and bytes that never occur. */
  assert_int_equal(valid_str("\xf4\x90\x80\x80"), 0);
  assert_int_equal(valid_str("\xf5\x80\x80\x80"), 0);
  assert_int_equal(valid_str("\xf8\x88\x80\x80\x80"), 0);
  assert_int_equal(valid_str("\xfe"), 0);
  assert_int_equal(valid_str("\xff"), 0);
  /* Truncated sequences. */
  assert_int_equal(valid_str("\xc3"), 0);
  assert_int_equal(valid_str("a\xc3"), 0);
  assert_int_equal(valid_str("\xe2\x82"), 0);
  assert_int_equal(valid_str("\xe2\x82" "a"), 0);
  assert_int_equal(valid_str("\xf0\x9f\x98"), 0);
  assert_int_equal(valid_str("\xf0\x9f\x98" "a"), 0);
  assert_int_equal(syssem__utf8_valid("\xc3\xa9", 1), 0);
  assert_int_equal(syssem__utf8_valid("\xf0\x9f\x98\x80", 3), 0);
  /* Stray continuation bytes. */
  assert_int_equal(valid_str("\x80"), 0);
  assert_int_equal(valid_str("\xbf"), 0);
  assert_int_equal(valid_str("a\x80" "b"), 0);
  assert_int_equal(valid_str("\xc3\xa9\xa9"), 0);
  /* A NULL buffer with a length is not text. */
  assert_int_equal(syssem__utf8_valid(NULL, 1), 0);
}

/* Legacy keys ----------------------------------------------------------- */

static void test_legacy_spec_examples(void **state)
{
  (void)state;
  expect_legacy("market",
                "qipc_systemsem_market5c9f73af73334ffe350c60ec076e5744db0ecda3");
  expect_legacy("org.example.myapp-12345",
                "qipc_systemsem_orgexamplemyapp"
                "63823d3c0284aac121bacc312c412fd4fd505091");
}

static void test_legacy_other_keys(void **state)
{
  (void)state;
  expect_legacy("12345",
                "qipc_systemsem_8cb2237d0679ca88db6464eac60da96345513964");
  expect_legacy("!@#$%^&*()",
                "qipc_systemsem_bf24d65c9bb05b9b814a966940bcfa50767c8a8d");
  expect_legacy("a1-B2_c3",
                "qipc_systemsem_aBca17cbfdec200b8fa49b5b7930530265d370c46fa");
  /* Only ASCII letters survive; the hash covers the UTF-8 bytes. */
  expect_legacy("Gr\xc3\xbc\xc3\x9f" "e",
                "qipc_systemsem_Gref649751d6e1bb46f8c86a8e0300237c33df07074");
}

/* A leading byte-order mark is dropped before anything else, as Qt's
 * reading of UTF-8 does; only one; a key that is only the mark is empty. */
static void test_byte_order_mark(void **state)
{
  syssem__name_t n;

  (void)state;
  expect_legacy("\xEF\xBB\xBF" "market",
                "qipc_systemsem_market5c9f73af73334ffe350c60ec076e5744db0ecda3");
  expect_fail("\xEF\xBB\xBF", SYSSEM_KEYFORM_LEGACY, SYSSEM_EKEY);
  expect_fail("\xEF\xBB\xBF", SYSSEM_KEYFORM_NATIVE, SYSSEM_EKEY);
  expect_fail("\xEF\xBB\xBF", SYSSEM_KEYFORM_URI, SYSSEM_EKEY);
  assert_int_equal(syssem__name_parse(&n, "\xEF\xBB\xBF/x",
                                      SYSSEM_KEYFORM_NATIVE), SYSSEM_OK);
  assert_string_equal(n.text, "/x");
  syssem__name_free(&n);
  /* A second mark is part of the key. */
  assert_int_equal(syssem__name_parse(&n, "\xEF\xBB\xBF\xEF\xBB\xBF" "market",
                                      SYSSEM_KEYFORM_LEGACY), SYSSEM_OK);
  assert_string_not_equal(
      n.text, "qipc_systemsem_market5c9f73af73334ffe350c60ec076e5744db0ecda3");
  syssem__name_free(&n);
  /* Shorter than a mark: no read past the end. */
  expect_fail("\xEF", SYSSEM_KEYFORM_LEGACY, SYSSEM_EKEY);
}

static void test_legacy_length_limit(void **state)
{
  static const char prefix[] = "qipc_systemsem_";
  static const char hash[] = "658d580c0315d4ec77698ef1a39655d05ec49c60";
  size_t plen = sizeof prefix - 1;
  char *key = (char *)malloc(SYSSEM__KEY_MAX + 2);
  syssem__name_t n;
  size_t i;

  (void)state;
  assert_non_null(key);
  memset(key, 'k', SYSSEM__KEY_MAX);
  key[SYSSEM__KEY_MAX] = '\0';

  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_LEGACY),
                   SYSSEM_OK);
  assert_non_null(n.text);
  assert_int_equal(strlen(n.text), plen + SYSSEM__KEY_MAX + 40);
  assert_memory_equal(n.text, prefix, plen);
  for (i = 0; i < SYSSEM__KEY_MAX; i++)
    assert_int_equal(n.text[plen + i], 'k');
  assert_string_equal(n.text + plen + SYSSEM__KEY_MAX, hash);
  syssem__name_free(&n);

  /* The limit holds for every form, not only legacy. */
  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_NATIVE),
                   SYSSEM_OK);
  assert_string_equal(n.text, key);
  syssem__name_free(&n);

  memcpy(key, "posix:/", 7);
  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_URI),
                   SYSSEM_OK);
  assert_int_equal(strlen(n.text), SYSSEM__KEY_MAX - 6);
  assert_string_equal(n.text, key + 6);
  syssem__name_free(&n);

  /* One byte more is refused in every form. */
  key[SYSSEM__KEY_MAX] = 'k';
  key[SYSSEM__KEY_MAX + 1] = '\0';
  expect_fail(key, SYSSEM_KEYFORM_URI, SYSSEM_EKEY);
  memcpy(key, "kkkkkkk", 7);
  expect_fail(key, SYSSEM_KEYFORM_LEGACY, SYSSEM_EKEY);
  expect_fail(key, SYSSEM_KEYFORM_NATIVE, SYSSEM_EKEY);
  free(key);
}

/* Every form ---------------------------------------------------------------- */

static void test_bad_keys_every_form(void **state)
{
  static const syssem_keyform_t forms[] = { SYSSEM_KEYFORM_LEGACY,
                                            SYSSEM_KEYFORM_NATIVE,
                                            SYSSEM_KEYFORM_URI };
  static const char *const bad[] = {
    "\xff",
    "abc\xc3",
    "\xc0\xaf",
    "posix:/\xed\xa0\x80",
    "/name\x80",
  };
  size_t f, b;

  (void)state;
  for (f = 0; f < sizeof forms / sizeof forms[0]; f++) {
    expect_fail(NULL, forms[f], SYSSEM_EKEY);
    expect_fail("", forms[f], SYSSEM_EKEY);
    for (b = 0; b < sizeof bad / sizeof bad[0]; b++)
      expect_fail(bad[b], forms[f], SYSSEM_EKEY);
  }
}

/* A native key is the name: the parse points into the key and allocates
 * nothing (past a byte-order mark, which Qt drops too). */
static void test_native_borrows(void **state)
{
  syssem__name_t n;
  const char *keys[] = { "/name", "name", "/tmp/some file",
                         "Local\\foo", "posix:/x", "\xc3\xa9t\xc3\xa9" };
  const char *bom = "\xEF\xBB\xBF/marked";
  size_t i;

  (void)state;
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    assert_int_equal(syssem__name_parse(&n, keys[i], SYSSEM_KEYFORM_NATIVE),
                     SYSSEM_OK);
    assert_ptr_equal(n.text, keys[i]);
    assert_null(n.buf);
    assert_int_equal(n.legacy, 0);
    assert_int_equal(n.backend, SYSSEM_BACKEND_DEFAULT);
    assert_int_equal(n.proj_id, 'Q');
    syssem__name_free(&n);
    assert_null(n.text);
  }
  assert_int_equal(syssem__name_parse(&n, bom, SYSSEM_KEYFORM_NATIVE),
                   SYSSEM_OK);
  assert_ptr_equal(n.text, bom + 3);
  syssem__name_free(&n);
}

static void test_free_edge_cases(void **state)
{
  syssem__name_t n;

  (void)state;
  syssem__name_free(NULL);
  memset(&n, 0, sizeof n);
  syssem__name_free(&n);
  assert_null(n.text);
  assert_int_equal(syssem__name_parse(NULL, "market", SYSSEM_KEYFORM_LEGACY),
                   SYSSEM_EINVAL);
  expect_fail("market", (syssem_keyform_t)42, SYSSEM_EINVAL);
}

/* URI keys ------------------------------------------------------------- */

static void test_uri_types(void **state)
{
  (void)state;
  expect_uri("posix:/name", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("systemv:/tmp/x", SYSSEM_BACKEND_SYSV, 'Q', "/tmp/x");
  expect_uri("systemv-84:/tmp/x", SYSSEM_BACKEND_SYSV, 84, "/tmp/x");
  expect_uri("systemv-81:/tmp/x", SYSSEM_BACKEND_SYSV, 81, "/tmp/x");
  expect_uri("systemv-1:/tmp/x", SYSSEM_BACKEND_SYSV, 1, "/tmp/x");
  expect_uri("systemv-9:/tmp/x", SYSSEM_BACKEND_SYSV, 9, "/tmp/x");
  expect_uri("systemv-10:/tmp/x", SYSSEM_BACKEND_SYSV, 10, "/tmp/x");
  expect_uri("systemv-255:/tmp/x", SYSSEM_BACKEND_SYSV, 255, "/tmp/x");
  expect_uri("windows:Local\\foo", SYSSEM_BACKEND_WIN32, 'Q', "Local\\foo");
  /* Only the first ':' ends the type. */
  expect_uri("windows:Global\\a:b", SYSSEM_BACKEND_WIN32, 'Q',
             "Global\\a:b");
  /* Qt lowercases the scheme (QUrl) before it reads the type, and reads N
   * as a decimal integer: any ASCII case, leading zeros. */
  expect_uri("POSIX:/name", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("Posix:/name", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("SystemV:/tmp/x", SYSSEM_BACKEND_SYSV, 'Q', "/tmp/x");
  expect_uri("SYSTEMV-84:/tmp/x", SYSSEM_BACKEND_SYSV, 84, "/tmp/x");
  expect_uri("Windows:foo", SYSSEM_BACKEND_WIN32, 'Q', "foo");
  expect_uri("systemv-084:/tmp/x", SYSSEM_BACKEND_SYSV, 84, "/tmp/x");
  expect_uri("systemv-08:/tmp/x", SYSSEM_BACKEND_SYSV, 8, "/tmp/x");
  expect_uri("systemv-00000255:/tmp/x", SYSSEM_BACKEND_SYSV, 255, "/tmp/x");
}

static void test_uri_bad_types(void **state)
{
  (void)state;
  expect_uri_fail("systemv-0:/tmp/x");
  expect_uri_fail("systemv-256:/tmp/x");
  expect_uri_fail("systemv-999:/tmp/x");
  expect_uri_fail("systemv-1000:/tmp/x");
  expect_uri_fail("systemv-:/tmp/x");
  expect_uri_fail("systemv-00:/tmp/x");
  expect_uri_fail("systemv-0000:/tmp/x");
  expect_uri_fail("systemv-0256:/tmp/x");
  expect_uri_fail("systemv-1.5:/tmp/x");
  expect_uri_fail("systemv-8e1:/tmp/x");
  expect_uri_fail("systemv-+8:/tmp/x");
  expect_uri_fail("systemv--8:/tmp/x");
  expect_uri_fail("systemv- 8:/tmp/x");
  expect_uri_fail("systemv-8 :/tmp/x");
  expect_uri_fail("systemv-0x10:/tmp/x");
  expect_uri_fail("systemv81:/tmp/x");
  expect_uri_fail("systemv_81:/tmp/x");
  expect_uri_fail("POSIXX:/name");
  expect_uri_fail("SYSTEMV81:/tmp/x");
  expect_uri_fail("win32:foo");
  expect_uri_fail("sysv:/tmp/x");
  expect_uri_fail("posixx:/name");
  expect_uri_fail(" posix:/name");
  expect_uri_fail(":/name");
  expect_uri_fail("unknown:/name");
  expect_uri_fail("posix/name");
  expect_uri_fail("/name");
  expect_uri_fail("posix");
  expect_uri_fail("1posix:/name");
  expect_uri_fail("pos_ix:/name");
}

/* Where a key starts with a scheme, and which types Qt 6.6 knows. */
static void test_uri_scheme_and_type(void **state)
{
  static const struct {
    const char *key;
    size_t len;
  } schemes[] = {
    { "posix:/x", 5 }, { "POSIX:/x", 5 }, { "bogus:/x", 5 }, { "a:", 1 },
    { "db:main", 2 }, { "a+b-c.d9:x", 8 }, { "systemv-0x54:/x", 12 },
    { "C:\\dir", 1 }, { "", 0 }, { ":x", 0 }, { "9a:x", 0 }, { "-a:x", 0 },
    { "a_b:x", 0 }, { "a b:x", 0 }, { "ab", 0 }, { "/tmp/a:b", 0 },
    { "a/b:c", 0 }, { "a?b:c", 0 }, { "\xc3\xa9t\xc3\xa9:x", 0 },
  };
  static const char *const bad_types[] = {
    "", "p", "posixx", "sysv", "win32", "systemv-", "systemv-0",
    "systemv-256", "systemv--1", "systemv-+1", "systemv+1", "systemv1",
    "systemv-0x54", "systemv-1.", "systemv-1000",
  };
  syssem_backend_t b = SYSSEM_BACKEND_DEFAULT;
  size_t i;
  int id = 0;

  (void)state;
  for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (syssem__uri_scheme(schemes[i].key) != schemes[i].len)
      fail_msg("scheme of '%s': %lu, expected %lu", schemes[i].key,
               (unsigned long)syssem__uri_scheme(schemes[i].key),
               (unsigned long)schemes[i].len); /* msvcrt has no %zu */
  assert_int_equal(syssem__uri_scheme(NULL), 0);
  for (i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++)
    if (syssem__uri_type(bad_types[i], strlen(bad_types[i]), &b, &id) !=
        SYSSEM_EKEY)
      fail_msg("type '%s' accepted", bad_types[i]);
  assert_int_equal(syssem__uri_type("sYsTeMv-0255", 12, &b, &id), SYSSEM_OK);
  assert_int_equal(b, SYSSEM_BACKEND_SYSV);
  assert_int_equal(id, 255);
  assert_int_equal(syssem__uri_type("systemv", 7, &b, &id), SYSSEM_OK);
  assert_int_equal(id, 'Q');
  /* Only len bytes count, and NULL outputs are fine. */
  assert_int_equal(syssem__uri_type("posix:/x", 5, NULL, NULL), SYSSEM_OK);
  assert_int_equal(syssem__uri_type("windowsX", 7, &b, NULL), SYSSEM_OK);
  assert_int_equal(b, SYSSEM_BACKEND_WIN32);
}

static void test_uri_empty_payload(void **state)
{
  (void)state;
  expect_uri_fail("posix:");
  expect_uri_fail("systemv:");
  expect_uri_fail("systemv-84:");
  expect_uri_fail("windows:");
  expect_uri_fail("posix:?legacyKey=abc");
}

static void test_uri_percent_decoding(void **state)
{
  (void)state;
  expect_uri("posix:/a%20b", SYSSEM_BACKEND_POSIX, 'Q', "/a b");
  expect_uri("posix:%2Fname", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("posix:%2fname", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("systemv:%2Ftmp%2fx", SYSSEM_BACKEND_SYSV, 'Q', "/tmp/x");
  expect_uri("windows:Local%5Cfoo", SYSSEM_BACKEND_WIN32, 'Q', "Local\\foo");
  expect_uri("posix:/%3F%23%25%26", SYSSEM_BACKEND_POSIX, 'Q', "/?#%&");
  expect_uri("posix:/%c3%A9t%C3%a9", SYSSEM_BACKEND_POSIX, 'Q',
             "/\xc3\xa9t\xc3\xa9");
  /* Raw UTF-8 is taken as it is. */
  expect_uri("posix:/\xc3\xa9t\xc3\xa9", SYSSEM_BACKEND_POSIX, 'Q',
             "/\xc3\xa9t\xc3\xa9");
}

static void test_uri_bad_escapes(void **state)
{
  (void)state;
  expect_uri_fail("posix:%");
  expect_uri_fail("posix:/a%");
  expect_uri_fail("posix:/a%2");
  expect_uri_fail("posix:/a%2?legacyKey=x");
  expect_uri_fail("posix:/a%zz");
  expect_uri_fail("posix:/a%g0");
  expect_uri_fail("posix:/a%0g");
  expect_uri_fail("posix:/a% 20");
  expect_uri_fail("posix:/a%-1");
  /* A decoded NUL would cut the name short. */
  expect_uri_fail("posix:/a%00b");
  expect_uri_fail("posix:%00");
  /* Decoded text must be UTF-8 too. */
  expect_uri_fail("posix:/a%FF");
  expect_uri_fail("posix:/a%C3");
  expect_uri_fail("posix:/a%ED%A0%80");
  expect_uri_fail("posix:/a%C0%AF");
}

static void test_uri_query(void **state)
{
  (void)state;
  expect_uri("posix:/name?legacyKey=abc", SYSSEM_BACKEND_POSIX, 'Q', "/name");
  expect_uri("systemv-84:/tmp/x?legacyKey=a%20b", SYSSEM_BACKEND_SYSV, 84,
             "/tmp/x");
  expect_uri("windows:foo?legacyKey=", SYSSEM_BACKEND_WIN32, 'Q', "foo");
  expect_uri("posix:/name?legacyKey=a?b=c:d", SYSSEM_BACKEND_POSIX, 'Q',
             "/name");
  expect_uri("posix:/name?legacyKey=a&legacyKey=b", SYSSEM_BACKEND_POSIX,
             'Q', "/name");

  expect_uri_fail("posix:/name?other=1");
  expect_uri_fail("posix:/name?legacyKey=abc&other=1");
  expect_uri_fail("posix:/name?other=1&legacyKey=abc");
  expect_uri_fail("posix:/name?legacyKey=abc&");
  expect_uri_fail("posix:/name?&legacyKey=abc");
  expect_uri_fail("posix:/name?");
  expect_uri_fail("posix:/name?legacyKey");
  expect_uri_fail("posix:/name?legacykey=abc");
  expect_uri_fail("posix:/name?LegacyKey=abc");
  expect_uri_fail("posix:/name?legacyKey=%");
  expect_uri_fail("posix:/name?legacyKey=%4");
  expect_uri_fail("posix:/name?legacyKey=%zz");
  expect_uri_fail("posix:/name#frag");
  expect_uri_fail("posix:/name?legacyKey=abc#frag");
  expect_uri_fail("posix:/na#me");
  expect_uri_fail("posix:/name#");
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(test_sha1_fips_vectors),
    TEST(test_sha1_million_a),
    TEST(test_sha1_block_boundaries),
    TEST(test_utf8_valid),
    TEST(test_utf8_invalid),
    TEST(test_legacy_spec_examples),
    TEST(test_legacy_other_keys),
    TEST(test_byte_order_mark),
    TEST(test_legacy_length_limit),
    TEST(test_bad_keys_every_form),
    TEST(test_native_borrows),
    TEST(test_free_edge_cases),
    TEST(test_uri_types),
    TEST(test_uri_bad_types),
    TEST(test_uri_scheme_and_type),
    TEST(test_uri_empty_payload),
    TEST(test_uri_percent_decoding),
    TEST(test_uri_bad_escapes),
    TEST(test_uri_query),
  };

  return TEST_MAIN("key", tests);
}
