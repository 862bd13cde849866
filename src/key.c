/*
 * Keys: SHA-1, UTF-8 validation and the three key forms (legacy, native,
 * URI) turned into a syssem__name_t; etcd keys, whatever the form, are
 * split by etcd_key.c.
 *
 * SPDX-License-Identifier: MIT
 *
 * Nothing here touches the OS: the front end records errors and the backends
 * decide whether a native name has a usable shape.
 */
#include "syssem_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA-1 (FIPS 180-4, section 6.1) ---------------------------------------- */

static uint32_t sha1_rol(uint32_t x, unsigned int n)
{
  return (x << n) | (x >> (32u - n));
}

static uint32_t sha1_be32(const unsigned char *p)
{
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void sha1_block(uint32_t h[5], const unsigned char block[64])
{
  /* A 16-word ring instead of the 80-word schedule keeps the stack small. */
  uint32_t w[16];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  unsigned int t;

  for (t = 0; t < 16; t++)
    w[t] = sha1_be32(block + 4 * t);

  /* Four runs of twenty rounds, one per round function: no round branches
   * on its number (half the instructions of one loop of eighty). */
#define SHA1_ROUNDS(lo, f, k)                                                \
  for (t = lo; t < lo + 20u; t++) {                                          \
    uint32_t tmp;                                                            \
    if (t >= 16)                                                             \
      w[t & 15u] = sha1_rol(w[(t + 13u) & 15u] ^ w[(t + 8u) & 15u] ^         \
                                w[(t + 2u) & 15u] ^ w[t & 15u],              \
                            1);                                              \
    tmp = sha1_rol(a, 5) + (f) + e + (k) + w[t & 15u];                       \
    e = d;                                                                   \
    d = c;                                                                   \
    c = sha1_rol(b, 30);                                                     \
    b = a;                                                                   \
    a = tmp;                                                                 \
  }
  SHA1_ROUNDS(0u, (b & c) | (~b & d), 0x5a827999u)
  SHA1_ROUNDS(20u, b ^ c ^ d, 0x6ed9eba1u)
  SHA1_ROUNDS(40u, (b & c) | (b & d) | (c & d), 0x8f1bbcdcu)
  SHA1_ROUNDS(60u, b ^ c ^ d, 0xca62c1d6u)
#undef SHA1_ROUNDS

  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void syssem__sha1(const void *data, size_t len, unsigned char out[20])
{
  const unsigned char *p = (const unsigned char *)data;
  uint32_t h[5] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                    0xc3d2e1f0u };
  /* The tail never needs more than two blocks: up to 63 message bytes, the
   * 0x80 marker and the 8-byte length. */
  unsigned char tail[128];
  size_t rest, tail_len, i;
  /* The standard counts bits modulo 2^64; the wrap is intended. */
  uint64_t bits = (uint64_t)len * 8u;

  while (len >= 64) {
    sha1_block(h, p);
    p += 64;
    len -= 64;
  }

  rest = len;
  memset(tail, 0, sizeof tail);
  if (rest > 0)
    memcpy(tail, p, rest);
  tail[rest] = 0x80;
  tail_len = (rest < 56) ? 64 : 128;
  for (i = 0; i < 8; i++)
    tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));

  sha1_block(h, tail);
  if (tail_len == 128)
    sha1_block(h, tail + 64);

  for (i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(h[i] >> 8);
    out[4 * i + 3] = (unsigned char)h[i];
  }
}

/* UTF-8 (Unicode, Table 3-7 "Well-Formed UTF-8 Byte Sequences") ----------- */

int syssem__utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;

  if (len == 0)
    return 1;
  if (s == NULL)
    return 0;

  while (i < len) {
    unsigned char c;
    size_t need, j;
    uint64_t w;

    /* Keys are mostly ASCII: pass it eight bytes at a time. */
    if (len - i >= sizeof w) {
      memcpy(&w, p + i, sizeof w);
      if ((w & UINT64_C(0x8080808080808080)) == 0) {
        i += sizeof w;
        continue;
      }
    }
    c = p[i];
    /* The second byte's range is where overlongs, surrogates and values
     * above U+10FFFF are excluded; later bytes are plain continuations. */
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    } else {
      /* 80..BF stray continuation, C0/C1 always overlong, F5..FF too big. */
      return 0;
    }

    if (len - i - 1 < need)
      return 0;
    if (p[i + 1] < lo || p[i + 1] > hi)
      return 0;
    for (j = 2; j <= need; j++)
      if (p[i + j] < 0x80 || p[i + j] > 0xbf)
        return 0;
    i += need + 1;
  }
  return 1;
}

/* Key parsing ---------------------------------------------------------- */

static const char legacy_prefix[] = SYSSEM__LEGACY_PREFIX;

/* strlen that stops once the key is known to be too long, so refusing a
 * huge key costs no more than the limit. */
static size_t key_length(const char *key, int *too_long)
{
  /* memchr reads no further than the NUL it finds (C11 7.24.5.1). */
  const char *end = (const char *)memchr(key, '\0', SYSSEM__KEY_MAX + 1);

  *too_long = end == NULL;
  return end != NULL ? (size_t)(end - key) : SYSSEM__KEY_MAX + 1;
}

static int is_ascii_letter(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int parse_legacy(syssem__name_t *n, const char *key, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char digest[20];
  size_t letters = 0, i, o;
  char *text;

  for (i = 0; i < len; i++)
    if (is_ascii_letter(key[i]))
      letters++;

  text = (char *)malloc(sizeof legacy_prefix - 1 + letters + 40 + 1);
  if (text == NULL)
    return SYSSEM_ENOMEM;

  memcpy(text, legacy_prefix, sizeof legacy_prefix - 1);
  o = sizeof legacy_prefix - 1;
  for (i = 0; i < len; i++)
    if (is_ascii_letter(key[i]))
      text[o++] = key[i];

  /* The key is already known to be UTF-8, so its bytes are the UTF-8 bytes
   * Qt hashes. */
  syssem__sha1(key, len, digest);
  for (i = 0; i < 20; i++) {
    text[o++] = hex[digest[i] >> 4];
    text[o++] = hex[digest[i] & 0x0f];
  }
  text[o] = '\0';

  n->legacy = 1;
  n->text = n->buf = text;
  return SYSSEM_OK;
}

/* The key is the name: n borrows it (name_parse's callers keep the key
 * alive for as long as the name), so that an open by native name copies
 * nothing here. */
static void parse_native(syssem__name_t *n, const char *key)
{
  n->text = key;
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode src[0..len) into dst (which has room for len bytes), or
 * only check the escapes when dst is NULL. Stores the decoded length. */
static int percent_decode(const char *src, size_t len, char *dst,
                          size_t *out_len)
{
  size_t i = 0, o = 0;

  while (i < len) {
    char c = src[i];

    if (c == '%') {
      int hi, lo;

      if (len - i < 3)
        return SYSSEM_EKEY;
      hi = hex_value(src[i + 1]);
      lo = hex_value(src[i + 2]);
      if (hi < 0 || lo < 0)
        return SYSSEM_EKEY;
      c = (char)(unsigned char)(hi * 16 + lo);
      i += 3;
    } else {
      i++;
    }
    if (dst != NULL)
      dst[o] = c;
    o++;
  }
  if (out_len != NULL)
    *out_len = o;
  return SYSSEM_OK;
}

static int is_ascii_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* a[0..len) equals the lowercase ASCII word w, ignoring ASCII case. */
static int equal_nocase(const char *a, size_t len, const char *w)
{
  size_t i;

  for (i = 0; i < len; i++) {
    char c = a[i];

    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (w[i] == '\0' || c != w[i])
      return 0;
  }
  return w[len] == '\0';
}

/* An RFC 3986 scheme, as Qt's QUrl reads the text before the first ':'. */
size_t syssem__uri_scheme(const char *key)
{
  size_t i;

  if (key == NULL || !is_ascii_letter(key[0]))
    return 0;
  for (i = 1; key[i] != ':'; i++)
    if (!is_ascii_letter(key[i]) && !is_ascii_digit(key[i]) &&
        key[i] != '+' && key[i] != '-' && key[i] != '.')
      return 0; /* the NUL included: no colon */
  return i;
}

/* Qt 6.6 reads the type after QUrl has lowercased the scheme: "posix",
 * "windows", "systemv", or "systemv" followed by a text that its integer
 * parser reads as -1 to -255 in decimal, i.e. '-' and digits (leading zeros
 * allowed). A sign, a space or any other spelling is no type there either. */
int syssem__uri_type(const char *type, size_t len, syssem_backend_t *backend,
                     int *proj_id)
{
  static const char sysv[] = "systemv";
  static const size_t sysv_len = sizeof sysv - 1;
  syssem_backend_t b;
  int id = SYSSEM__FTOK_ID;

  if (equal_nocase(type, len, "posix")) {
    b = SYSSEM_BACKEND_POSIX;
  } else if (equal_nocase(type, len, "windows")) {
    b = SYSSEM_BACKEND_WIN32;
  } else if (equal_nocase(type, len, sysv)) {
    b = SYSSEM_BACKEND_SYSV;
  } else if (len > sysv_len + 1 && equal_nocase(type, sysv_len, sysv) &&
             type[sysv_len] == '-') {
    size_t i = sysv_len + 1;

    while (i < len && type[i] == '0')
      i++;
    /* Past the zeros, at most three digits: 1..255 never needs more, and
     * the value cannot overflow. */
    if (len - i > 3)
      return SYSSEM_EKEY;
    for (id = 0; i < len; i++) {
      if (!is_ascii_digit(type[i]))
        return SYSSEM_EKEY;
      id = id * 10 + (type[i] - '0');
    }
    if (id < 1 || id > 255)
      return SYSSEM_EKEY;
    b = SYSSEM_BACKEND_SYSV;
  } else {
    return SYSSEM_EKEY;
  }
  if (backend != NULL)
    *backend = b;
  if (proj_id != NULL)
    *proj_id = id;
  return SYSSEM_OK;
}

/* The query Qt writes is "legacyKey=..."; repeated legacyKey items are
 * tolerated, since they too carry nothing we use. Any other item could
 * change the meaning of the key in a way we do not know, so it is refused. */
static int check_uri_query(const char *q, size_t len)
{
  static const char item[] = "legacyKey=";
  static const size_t item_len = sizeof item - 1;
  size_t start = 0;

  while (start <= len) {
    const char *amp = (const char *)memchr(q + start, '&', len - start);
    size_t end = amp != NULL ? (size_t)(amp - q) : len;
    int rc;

    if (end - start < item_len || memcmp(q + start, item, item_len) != 0)
      return SYSSEM_EKEY;
    rc = percent_decode(q + start + item_len, end - start - item_len, NULL,
                        NULL);
    if (rc != SYSSEM_OK)
      return rc;
    start = end + 1;
  }
  return SYSSEM_OK;
}

static int parse_uri(syssem__name_t *n, const char *key, size_t len)
{
  size_t type_len = syssem__uri_scheme(key);
  const char *payload, *query;
  size_t payload_len, text_len;
  char *text;
  int rc;

  if (type_len == 0)
    return SYSSEM_EKEY;
  /* A fragment is never part of what Qt writes. */
  if (memchr(key, '#', len) != NULL)
    return SYSSEM_EKEY;

  rc = syssem__uri_type(key, type_len, &n->backend, &n->proj_id);
  if (rc != SYSSEM_OK)
    return rc;

  payload = key + type_len + 1;
  query = (const char *)memchr(payload, '?', len - (size_t)(payload - key));
  payload_len = query != NULL ? (size_t)(query - payload)
                              : len - (size_t)(payload - key);
  if (payload_len == 0)
    return SYSSEM_EKEY;
  if (query != NULL) {
    rc = check_uri_query(query + 1, len - (size_t)(query + 1 - key));
    if (rc != SYSSEM_OK)
      return rc;
  }

  text = (char *)malloc(payload_len + 1);
  if (text == NULL)
    return SYSSEM_ENOMEM;
  rc = percent_decode(payload, payload_len, text, &text_len);
  if (rc == SYSSEM_OK) {
    text[text_len] = '\0';
    /* An embedded NUL would silently shorten the name the OS sees. */
    if (memchr(text, '\0', text_len) != NULL ||
        !syssem__utf8_valid(text, text_len))
      rc = SYSSEM_EKEY;
  }
  if (rc != SYSSEM_OK) {
    free(text);
    return rc;
  }
  n->text = n->buf = text;
  return SYSSEM_OK;
}

/* Why this thread's last parse failed, when there is more to say than the
 * code: for the message of the public call. */
static _Thread_local char parse_why[192];

const char *syssem__name_why(void)
{
  return parse_why[0] ? parse_why : NULL;
}

/* An etcd key: its canonical form is the native name. The wrong part of a
 * malformed one goes into parse_why. */
static int parse_etcd(syssem__name_t *n, const char *key, size_t len)
{
  static const char head[] = "etcd key: ";
  struct syssem__etcd_key k;
  int rc;

  memcpy(parse_why, head, sizeof head);
  rc = syssem__etcd_key_parse(key, len, &k, parse_why + sizeof head - 1,
                              sizeof parse_why - sizeof head + 1);
  if (rc != SYSSEM_OK) {
    if (rc != SYSSEM_EKEY)
      parse_why[0] = '\0';
    return rc;
  }
  parse_why[0] = '\0';
  n->buf = syssem__etcd_key_format(&k);
  syssem__etcd_key_free(&k);
  if (n->buf == NULL)
    return SYSSEM_ENOMEM;
  /* Escapes may lengthen it; the native name obeys the key's limit. */
  if (strlen(n->buf) > SYSSEM__KEY_MAX) {
    free(n->buf);
    n->buf = NULL;
    snprintf(parse_why, sizeof parse_why,
             "etcd key: longer than %d bytes once written canonically",
             SYSSEM__KEY_MAX);
    return SYSSEM_EKEY;
  }
  n->text = n->buf;
  n->backend = SYSSEM_BACKEND_ETCD;
  return SYSSEM_OK;
}

int syssem__name_parse(syssem__name_t *n, const char *key,
                       syssem_keyform_t keyform)
{
  size_t len;
  int too_long, rc;

  if (n == NULL)
    return SYSSEM_EINVAL;
  parse_why[0] = '\0';
  /* Filled before any check so that syssem__name_free is always safe. */
  n->backend = SYSSEM_BACKEND_DEFAULT;
  n->legacy = 0;
  n->proj_id = SYSSEM__FTOK_ID;
  n->text = NULL;
  n->buf = NULL;

  if (key == NULL)
    return SYSSEM_EKEY;
  /* Qt reads a key from UTF-8 and drops a leading byte-order mark on the
   * way: so do we, or the two would never meet. A key that is only the
   * mark is empty. */
  if (strncmp(key, "\xEF\xBB\xBF", 3) == 0)
    key += 3;
  if (key[0] == '\0')
    return SYSSEM_EKEY;
  len = key_length(key, &too_long);
  if (too_long || !syssem__utf8_valid(key, len))
    return SYSSEM_EKEY;

  /* Qt's URI keys never have an etcd type; a legacy string key that starts
   * so is given up to etcd on purpose (docs/keys.md): with the default
   * keyform a program reaches a cluster by changing only its key. */
  if ((unsigned int)keyform <= SYSSEM_KEYFORM_URI &&
      syssem__etcd_key_scheme(key, len))
    return parse_etcd(n, key, len);

  switch (keyform) {
  case SYSSEM_KEYFORM_LEGACY:
    rc = parse_legacy(n, key, len);
    break;
  case SYSSEM_KEYFORM_NATIVE:
    parse_native(n, key);
    rc = SYSSEM_OK;
    break;
  case SYSSEM_KEYFORM_URI:
    rc = parse_uri(n, key, len);
    break;
  default:
    rc = SYSSEM_EINVAL;
    break;
  }
  if (rc != SYSSEM_OK) {
    /* A URI may have set the backend before failing: leave n as fresh. */
    free(n->buf);
    n->backend = SYSSEM_BACKEND_DEFAULT;
    n->legacy = 0;
    n->proj_id = SYSSEM__FTOK_ID;
    n->text = NULL;
    n->buf = NULL;
  }
  return rc;
}

void syssem__name_free(syssem__name_t *n)
{
  if (n == NULL)
    return;
  free(n->buf);
  n->text = NULL;
  n->buf = NULL;
}
