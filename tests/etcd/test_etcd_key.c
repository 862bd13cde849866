/*
 * Tests of etcd keys (src/etcd_key.c through src/key.c): what is an etcd
 * key in each keyform, the canonical form, and a message naming the wrong
 * part of every malformed one. No cluster needed.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

#include "syssem_int.h"

static void expect_key(const char *key, const char *canonical)
{
  syssem_keyform_t forms[] = { SYSSEM_KEYFORM_LEGACY, SYSSEM_KEYFORM_NATIVE,
                               SYSSEM_KEYFORM_URI };
  size_t i;

  for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    syssem__name_t n;

    assert_int_equal(syssem__name_parse(&n, key, forms[i]), SYSSEM_OK);
    assert_int_equal(n.backend, SYSSEM_BACKEND_ETCD);
    assert_int_equal(n.legacy, 0);
    assert_string_equal(n.text, canonical);
    assert_null(syssem__name_why());
    syssem__name_free(&n);
  }
}

/* Refused in every form, with a message that contains why. */
static void expect_bad(const char *key, const char *why)
{
  syssem__name_t n;
  const char *got;

  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_LEGACY),
                   SYSSEM_EKEY);
  assert_null(n.text);
  assert_int_equal(n.backend, SYSSEM_BACKEND_DEFAULT);
  got = syssem__name_why();
  assert_non_null(got);
  if (strstr(got, why) == NULL)
    print_error("%s: '%s' does not say '%s'\n", key, got, why);
  assert_non_null(strstr(got, why));
  assert_int_equal(strncmp(got, "etcd key: ", 10), 0);
  assert_int_equal(syssem__name_parse(&n, key, SYSSEM_KEYFORM_URI),
                   SYSSEM_EKEY);
  syssem__name_free(&n);
}

static void canonical_form(void **state)
{
  (void)state;
  expect_key("etcd://127.0.0.1:2379/builds", "etcd://127.0.0.1:2379/builds");
  expect_key("ETCD://Ci-Etcd-1:2379,ci-etcd-2:2379/ci/builds?ttl=10",
             "etcd://ci-etcd-1:2379,ci-etcd-2:2379/ci/builds?ttl=10");
  expect_key("etcd://[::1]:2379/a.b_c-D", "etcd://[::1]:2379/a.b_c-D");
  /* Query items come back in one order, file names escaped the one way. */
  expect_key("etcds://h:1/x?key=k%2epem&cert=c.pem&ttl=5&cacert=/ca%20dir/ca",
             "etcds://h:1/x?ttl=5&cacert=/ca%20dir/ca&cert=c.pem&key=k.pem");
  expect_key("etcds://h:1/x?cacert=a%26b%3Dc", "etcds://h:1/x?cacert=a%26b%3Dc");
  expect_key("etcds://h:1/x", "etcds://h:1/x");
}

static void not_etcd(void **state)
{
  syssem__name_t n;

  (void)state;
  /* Without "//" it is an ordinary legacy key. */
  assert_int_equal(syssem__name_parse(&n, "etcd:builds", SYSSEM_KEYFORM_LEGACY),
                   SYSSEM_OK);
  assert_int_equal(n.backend, SYSSEM_BACKEND_DEFAULT);
  assert_int_equal(n.legacy, 1);
  syssem__name_free(&n);
  assert_int_equal(syssem__name_parse(&n, "etcd:/x", SYSSEM_KEYFORM_URI),
                   SYSSEM_EKEY);
  assert_int_equal(syssem__etcd_key_scheme("etcdx://h:1/a", 13), 0);
  assert_int_equal(syssem__etcd_key_scheme("etcd:/", 6), 0);
  assert_int_equal(syssem__etcd_key_scheme("etcd://", 7), 1);
  assert_int_equal(syssem__etcd_key_scheme("eTcDs://", 8), 1);
}

static void malformed(void **state)
{
  char long_path[SYSSEM__ETCD_PATH_MAX + 64];
  size_t i;

  (void)state;
  expect_bad("etcd://", "no path");
  expect_bad("etcd:///x", "no host");
  expect_bad("etcd://127.0.0.1/x", "endpoint '127.0.0.1': no port");
  expect_bad("etcd://h:0/x", "endpoint 'h:0': port is not a number");
  expect_bad("etcd://h:65536/x", "port is not a number 1..65535");
  expect_bad("etcd://h:12a/x", "port is not a number");
  expect_bad("etcd://:1/x", "endpoint ':1': no host");
  expect_bad("etcd://h_x:1/x", "endpoint 'h_x:1': bad host name");
  expect_bad("etcd://h:1,/x", "empty endpoint");
  expect_bad("etcd://h:1,,g:2/x", "empty endpoint");
  expect_bad("etcd://[::1:1/x", "unclosed or empty IPv6 bracket");
  expect_bad("etcd://[]:1/x", "unclosed or empty IPv6 bracket");
  expect_bad("etcd://[::1]/x", "no port");
  expect_bad("etcd://[::1]x:1/x", "no port");
  expect_bad("etcd://h:1", "no path");
  expect_bad("etcd://h:1/", "no path");
  expect_bad("etcd://h:1/a//b", "path 'a//b': empty segment");
  expect_bad("etcd://h:1/a/", "empty segment");
  expect_bad("etcd://h:1/a/../b", "'.' and '..' are not names");
  expect_bad("etcd://h:1/./b", "'.' and '..' are not names");
  expect_bad("etcd://h:1/a:b", "only letters, digits");
  expect_bad("etcd://h:1/a%20b", "only letters, digits");
  expect_bad("etcd://h:1/a#frag", "'#' has no meaning");
  expect_bad("etcd://h:1/a?", "has no '='");
  expect_bad("etcd://h:1/a?ttl", "query item 'ttl' has no '='");
  expect_bad("etcd://h:1/a?ttl=1", "ttl '1' is not a number of seconds 2..86400");
  expect_bad("etcd://h:1/a?ttl=86401", "is not a number of seconds");
  expect_bad("etcd://h:1/a?ttl=-3", "is not a number of seconds");
  expect_bad("etcd://h:1/a?ttl=3&ttl=3", "'ttl' given twice");
  expect_bad("etcd://h:1/a?user=x", "unknown query item 'user'");
  expect_bad("etcd://h:1/a?cacert=/ca", "need the etcds:// scheme");
  expect_bad("etcds://h:1/a?cert=c", "cert and key go together");
  expect_bad("etcds://h:1/a?key=k", "cert and key go together");
  expect_bad("etcds://h:1/a?cacert=", "query item 'cacert' is empty");
  expect_bad("etcds://h:1/a?cacert=x%4", "bad percent escape");
  expect_bad("etcds://h:1/a?cacert=x%00y", "bad percent escape");
  expect_bad("etcds://h:1/a?cacert=a&cacert=b", "'cacert' given twice");
  expect_bad("etcd://a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1,k:1,l:1,m:1,"
             "n:1,o:1,p:1,q:1/x", "more than 16 endpoints");
  memcpy(long_path, "etcd://h:1/", 11);
  for (i = 11; i < sizeof long_path - 1; i++)
    long_path[i] = 'a';
  long_path[i] = '\0';
  expect_bad(long_path, "path longer than");
}

/* A malformed etcd key leaves the thread's reason for the public call; the
 * next parse, good or bad for another reason, clears it. */
static void reason_is_fresh(void **state)
{
  syssem__name_t n;

  (void)state;
  assert_int_equal(syssem__name_parse(&n, "etcd://h/x", SYSSEM_KEYFORM_URI),
                   SYSSEM_EKEY);
  assert_non_null(syssem__name_why());
  assert_int_equal(syssem__name_parse(&n, "", SYSSEM_KEYFORM_URI), SYSSEM_EKEY);
  assert_null(syssem__name_why());
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(canonical_form),
    TEST(not_etcd),
    TEST(malformed),
    TEST(reason_is_fresh),
  };

  return TEST_MAIN("etcd-key", tests);
}
