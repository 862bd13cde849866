/*
 * etcd keys: "etcd://HOST:PORT[,HOST:PORT...]/PATH[?ttl=SECONDS]" and
 * "etcds://...?[cacert=FILE][&cert=FILE&key=FILE][&ttl=SECONDS]" checked,
 * split and written back in one canonical form.
 *
 * SPDX-License-Identifier: MIT
 *
 * Pure text, no OS call: the front end parses every etcd key here (so that a
 * malformed one is SYSSEM_EKEY with the part named, whether or not the etcd
 * module can be loaded), and the module parses the canonical form again to
 * learn the endpoints, the path, the lease time and the TLS files.
 */
#include "syssem_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char scheme_plain[] = "etcd://";
static const char scheme_tls[] = "etcds://";

static int lower(int c)
{
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive prefix test, as URI schemes are (RFC 3986, 3.1). */
static int has_prefix(const char *s, size_t len, const char *p)
{
  size_t i, n = strlen(p);

  if (len < n)
    return 0;
  for (i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != p[i])
      return 0;
  return 1;
}

int syssem__etcd_key_scheme(const char *key, size_t len)
{
  return has_prefix(key, len, scheme_plain) || has_prefix(key, len, scheme_tls);
}

static int bad(char *why, size_t size, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
  return SYSSEM_EKEY;
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A decimal number without sign in [lo, hi]; -1 if it is none. */
static long number(const char *s, size_t len, long lo, long hi)
{
  long v = 0;
  size_t i;

  if (len == 0 || len > 9)
    return -1;
  for (i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= lo && v <= hi ? v : -1;
}

/* One endpoint, "host:port", "[v6]:port": a DNS name or IPv4 address of
 * letters, digits, '.' and '-', or an IPv6 address in brackets. Written
 * to out in lowercase. */
static int parse_endpoint(const char *s, size_t len, char *out, char *why,
                          size_t size)
{
  const char *colon;
  size_t hlen, i;

  if (len == 0)
    return bad(why, size, "empty endpoint in the host list");
  if (s[0] == '[') {
    const char *close = memchr(s, ']', len);

    if (close == NULL || close == s + 1)
      return bad(why, size, "endpoint '%.*s': unclosed or empty IPv6 bracket",
                 (int)len, s);
    for (i = 1; s + i < close; i++)
      if (!is_alnum(s[i]) && s[i] != ':' && s[i] != '.')
        return bad(why, size, "endpoint '%.*s': bad IPv6 address", (int)len,
                   s);
    colon = close + 1;
    if (colon == s + len || *colon != ':')
      return bad(why, size, "endpoint '%.*s': no port (HOST:PORT)", (int)len,
                 s);
  } else {
    colon = memchr(s, ':', len);
    if (colon == NULL)
      return bad(why, size, "endpoint '%.*s': no port (HOST:PORT)", (int)len,
                 s);
    if (colon == s)
      return bad(why, size, "endpoint '%.*s': no host", (int)len, s);
    for (i = 0; s + i < colon; i++)
      if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-')
        return bad(why, size, "endpoint '%.*s': bad host name", (int)len, s);
  }
  if (number(colon + 1, len - (size_t)(colon + 1 - s), 1, 65535) < 0)
    return bad(why, size, "endpoint '%.*s': port is not a number 1..65535",
               (int)len, s);
  hlen = (size_t)(colon - s);
  for (i = 0; i < hlen; i++)
    out[i] = (char)lower((unsigned char)s[i]);
  memcpy(out + hlen, colon, len - hlen);
  out[len] = '\0';
  return SYSSEM_OK;
}

/* The path names the semaphore: segments of letters, digits, '.', '_' and
 * '-' joined by single slashes. ':' can therefore never occur in it, which
 * is what keeps one semaphore's keys out of another's range (etcd.c). */
static int check_path(const char *p, size_t len, char *why, size_t size)
{
  size_t i, seg = 0;

  if (len == 0)
    return bad(why, size, "no path: the key needs /NAME after the hosts");
  if (len > SYSSEM__ETCD_PATH_MAX)
    return bad(why, size, "path longer than %d bytes", SYSSEM__ETCD_PATH_MAX);
  for (i = 0; i <= len; i++) {
    if (i == len || p[i] == '/') {
      if (i == seg)
        return bad(why, size, "path '%.*s': empty segment", (int)len, p);
      if ((i - seg == 1 && p[seg] == '.') ||
          (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
        return bad(why, size, "path '%.*s': '.' and '..' are not names",
                   (int)len, p);
      seg = i + 1;
    } else if (!is_alnum(p[i]) && p[i] != '.' && p[i] != '_' && p[i] != '-') {
      return bad(why, size,
                 "path '%.*s': only letters, digits, '.', '_', '-' and '/'",
                 (int)len, p);
    }
  }
  return SYSSEM_OK;
}

static int hex_digit(char c)
{
  if (is_digit(c))
    return c - '0';
  c = (char)lower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A query value (a file name): percent-decoded, no NUL, not empty. */
static int query_value(const char *name, const char *s, size_t len, char **out,
                       char *why, size_t size)
{
  size_t i, o = 0;
  char *v;

  if (*out != NULL)
    return bad(why, size, "query item '%s' given twice", name);
  if (len == 0)
    return bad(why, size, "query item '%s' is empty", name);
  v = malloc(len + 1);
  if (v == NULL)
    return SYSSEM_ENOMEM;
  for (i = 0; i < len; i++) {
    char c = s[i];

    if (c == '%') {
      int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
      int lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;

      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(v);
        return bad(why, size, "query item '%s': bad percent escape", name);
      }
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    v[o++] = c;
  }
  v[o] = '\0';
  *out = v;
  return SYSSEM_OK;
}

static int parse_query(struct syssem__etcd_key *k, const char *q, size_t len,
                       char *why, size_t size)
{
  size_t start = 0;
  int r;

  while (start <= len) {
    const char *amp = memchr(q + start, '&', len - start);
    size_t end = amp ? (size_t)(amp - q) : len;
    const char *item = q + start, *eq = memchr(item, '=', end - start);
    size_t nlen = eq ? (size_t)(eq - item) : end - start;
    const char *val = eq ? eq + 1 : item + nlen;
    size_t vlen = end - start - nlen - (eq ? 1 : 0);

    if (eq == NULL)
      return bad(why, size, "query item '%.*s' has no '='", (int)nlen, item);
    if (nlen == 3 && memcmp(item, "ttl", 3) == 0) {
      if (k->ttl != 0)
        return bad(why, size, "query item 'ttl' given twice");
      k->ttl = (int)number(val, vlen, SYSSEM__ETCD_TTL_MIN,
                           SYSSEM__ETCD_TTL_MAX);
      if (k->ttl < 0) {
        k->ttl = 0;
        return bad(why, size, "ttl '%.*s' is not a number of seconds %d..%d",
                   (int)vlen, val, SYSSEM__ETCD_TTL_MIN, SYSSEM__ETCD_TTL_MAX);
      }
      r = SYSSEM_OK;
    } else if (nlen == 6 && memcmp(item, "cacert", 6) == 0) {
      r = query_value("cacert", val, vlen, &k->cacert, why, size);
    } else if (nlen == 4 && memcmp(item, "cert", 4) == 0) {
      r = query_value("cert", val, vlen, &k->cert, why, size);
    } else if (nlen == 3 && memcmp(item, "key", 3) == 0) {
      r = query_value("key", val, vlen, &k->keyfile, why, size);
    } else {
      return bad(why, size,
                 "unknown query item '%.*s' (ttl, cacert, cert, key)",
                 (int)nlen, item);
    }
    if (r != SYSSEM_OK)
      return r;
    start = end + 1;
  }
  if (!k->tls && (k->cacert || k->cert || k->keyfile))
    return bad(why, size, "cacert, cert and key need the etcds:// scheme");
  if ((k->cert == NULL) != (k->keyfile == NULL))
    return bad(why, size, "cert and key go together");
  return SYSSEM_OK;
}

void syssem__etcd_key_free(struct syssem__etcd_key *k)
{
  free(k->hosts);
  free(k->path);
  free(k->cacert);
  free(k->cert);
  free(k->keyfile);
  memset(k, 0, sizeof *k);
}

int syssem__etcd_key_parse(const char *key, size_t len,
                           struct syssem__etcd_key *k, char *why, size_t size)
{
  const char *p, *end = key + len, *slash, *query;
  size_t o = 0;
  int r;

  memset(k, 0, sizeof *k);
  why[0] = '\0';
  if (has_prefix(key, len, scheme_tls)) {
    k->tls = 1;
    p = key + sizeof scheme_tls - 1;
  } else if (has_prefix(key, len, scheme_plain)) {
    p = key + sizeof scheme_plain - 1;
  } else {
    return bad(why, size, "not an etcd:// or etcds:// key");
  }
  if (memchr(key, '#', len) != NULL)
    return bad(why, size, "'#' has no meaning in an etcd key");
  query = memchr(p, '?', (size_t)(end - p));
  if (query == NULL)
    query = end;
  slash = memchr(p, '/', (size_t)(query - p));
  if (slash == NULL)
    return bad(why, size, "no path: the key needs /NAME after the hosts");
  if (slash == p)
    return bad(why, size, "no host: the key needs HOST:PORT after '//'");

  /* Endpoints, each written back lowercased; the list never grows. */
  k->hosts = malloc((size_t)(slash - p) + 1);
  if (k->hosts == NULL)
    return SYSSEM_ENOMEM;
  while (p < slash) {
    const char *comma = memchr(p, ',', (size_t)(slash - p));
    const char *e = comma ? comma : slash;

    if (k->nhosts == SYSSEM__ETCD_HOSTS_MAX) {
      r = bad(why, size, "more than %d endpoints", SYSSEM__ETCD_HOSTS_MAX);
      goto fail;
    }
    if (o > 0)
      k->hosts[o++] = ',';
    r = parse_endpoint(p, (size_t)(e - p), k->hosts + o, why, size);
    if (r != SYSSEM_OK)
      goto fail;
    o += (size_t)(e - p);
    k->nhosts++;
    if (comma != NULL && comma + 1 == slash) {
      r = bad(why, size, "empty endpoint in the host list");
      goto fail;
    }
    p = comma ? comma + 1 : slash;
  }

  r = check_path(slash + 1, (size_t)(query - slash - 1), why, size);
  if (r != SYSSEM_OK)
    goto fail;
  r = SYSSEM_ENOMEM;
  k->path = malloc((size_t)(query - slash));
  if (k->path == NULL)
    goto fail;
  memcpy(k->path, slash + 1, (size_t)(query - slash - 1));
  k->path[query - slash - 1] = '\0';

  if (query < end) {
    r = parse_query(k, query + 1, (size_t)(end - query - 1), why, size);
    if (r != SYSSEM_OK)
      goto fail;
  }
  return SYSSEM_OK;

fail:
  syssem__etcd_key_free(k);
  return r;
}

/* Percent-encode what the query syntax would misread, and every byte
 * outside printable ASCII: the canonical form is plain ASCII. */
static size_t put_value(char *out, const char *v)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;

  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;

    if (c == '%' || c == '&' || c == '#' || c == '?' || c == '=' || c <= ' ' ||
        c >= 0x7f) {
      if (out) {
        out[o] = '%';
        out[o + 1] = hex[c >> 4];
        out[o + 2] = hex[c & 15];
      }
      o += 3;
    } else {
      if (out)
        out[o] = (char)c;
      o++;
    }
  }
  return o;
}

static size_t put_item(char *out, char sep, const char *name, const char *v)
{
  size_t n = strlen(name), o = 0;

  if (v == NULL)
    return 0;
  if (out) {
    out[0] = sep;
    memcpy(out + 1, name, n);
    out[n + 1] = '=';
  }
  o = n + 2;
  return o + put_value(out ? out + o : NULL, v);
}

static size_t format_into(const struct syssem__etcd_key *k, char *out)
{
  char ttl[16];
  size_t o;
  char sep = '?';
  const char *scheme = k->tls ? scheme_tls : scheme_plain;

  o = strlen(scheme) + strlen(k->hosts) + 1 + strlen(k->path);
  if (out) {
    strcpy(out, scheme);
    strcat(out, k->hosts);
    strcat(out, "/");
    strcat(out, k->path);
  }
  if (k->ttl > 0) {
    snprintf(ttl, sizeof ttl, "%d", k->ttl);
    o += put_item(out ? out + o : NULL, sep, "ttl", ttl);
    sep = '&';
  }
  if (k->cacert) {
    o += put_item(out ? out + o : NULL, sep, "cacert", k->cacert);
    sep = '&';
  }
  if (k->cert) {
    o += put_item(out ? out + o : NULL, sep, "cert", k->cert);
    o += put_item(out ? out + o : NULL, '&', "key", k->keyfile);
  }
  if (out)
    out[o] = '\0';
  return o;
}

char *syssem__etcd_key_format(const struct syssem__etcd_key *k)
{
  char *out = malloc(format_into(k, NULL) + 1);

  if (out != NULL)
    format_into(k, out);
  return out;
}
