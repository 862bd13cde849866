/*
 * The wire: etcd's v3 API through its JSON gateway (POST /v3/..., the
 * same on etcd 3.4, 3.5 and 3.6), with libcurl for HTTP and TLS and json-c
 * for JSON.
 *
 * SPDX-License-Identifier: MIT
 *
 * What the gateway does that a client must know (proto3 JSON): keys and
 * values are base64; int64 fields are strings; fields at their default are
 * left out (a failed transaction has no "succeeded", an empty range no
 * "kvs", a PUT event no "type"); errors are {"error", "message", "code"}
 * with the gRPC code; a watch is one POST whose answer is a stream of
 * {"result": ...} objects, one a line.
 */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd.h"

/* A try at one endpoint lasts at least ET_TRY_MIN, so that a call whose
 * deadline has passed still asks once, and at most ET_TRY_MAX, so that a
 * member that has stopped answering is left for the next one in time. */
#define ET_TRY_MIN 500
#define ET_TRY_MAX 3000
#define ET_CONNECT_MAX 1000
/* Nothing etcd answers us is bigger; a longer answer is refused. */
#define ET_BODY_MAX (64L << 20)

et_ms et_now(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (et_ms)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* base64 (RFC 4648, section 4) -------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *et_b64(const void *data, size_t len)
{
  const unsigned char *p = data;
  char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
  size_t i;

  if (out == NULL)
    return NULL;
  for (i = 0; i + 2 < len; i += 3) {
    *o++ = b64[p[i] >> 2];
    *o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
    *o++ = b64[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
    *o++ = b64[p[i + 2] & 63];
  }
  if (i < len) {
    *o++ = b64[p[i] >> 2];
    if (i + 1 < len) {
      *o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
      *o++ = b64[(p[i + 1] & 15) << 2];
    } else {
      *o++ = b64[(p[i] & 3) << 4];
      *o++ = '=';
    }
    *o++ = '=';
  }
  *o = '\0';
  return out;
}

long et_unb64(char *s)
{
  unsigned int acc = 0;
  int bits = 0;
  long o = 0;
  char *p;

  for (p = s; *p && *p != '='; p++) {
    const char *c = strchr(b64, *p);

    if (c == NULL || *p == '\0')
      return -1;
    acc = acc << 6 | (unsigned int)(c - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[o++] = (char)(acc >> bits & 0xff);
    }
  }
  s[o] = '\0';
  return o;
}

/* JSON --------------------------------------------------------------------- */

json_object *et_get(json_object *o, const char *path)
{
  char name[64];

  while (o != NULL && *path) {
    size_t n = strcspn(path, ".");

    if (n >= sizeof name)
      return NULL;
    memcpy(name, path, n);
    name[n] = '\0';
    if (json_object_is_type(o, json_type_array)) {
      char *end;
      unsigned long i = strtoul(name, &end, 10);

      if (*end != '\0' || i >= json_object_array_length(o))
        return NULL;
      o = json_object_array_get_idx(o, i);
    } else if (!json_object_object_get_ex(o, name, &o)) {
      return NULL;
    }
    path += n + (path[n] == '.');
  }
  return o;
}

long long et_i64(json_object *o, const char *path)
{
  json_object *v = et_get(o, path);

  if (v == NULL)
    return 0;
  if (json_object_is_type(v, json_type_string))
    return strtoll(json_object_get_string(v), NULL, 10);
  return (long long)json_object_get_int64(v);
}

json_object *et_str(const char *s)
{
  return json_object_new_string(s);
}

json_object *et_key(const char *s)
{
  char *e = et_b64(s, strlen(s));
  json_object *o = e ? json_object_new_string(e) : NULL;

  free(e);
  return o;
}

json_object *et_num(long long v)
{
  char buf[24];

  snprintf(buf, sizeof buf, "%lld", v);
  return json_object_new_string(buf);
}

/* Clusters ----------------------------------------------------------------- */

static struct et_cluster *clusters;

static char *cluster_id(const struct syssem__etcd_key *k)
{
  struct syssem__etcd_key only = *k;
  char *id;

  /* The path and the lease time are not the cluster's. */
  only.path = (char *)"";
  only.ttl = 0;
  id = syssem__etcd_key_format(&only);
  return id;
}

static void cluster_free(struct et_cluster *c)
{
  int i;

  if (c == NULL)
    return;
  for (i = 0; i < c->nidle; i++)
    curl_easy_cleanup(c->idle[i]);
  for (i = 0; c->base != NULL && i < c->n; i++)
    free(c->base[i]);
  free(c->base);
  free(c->id);
  free(c->cacert);
  free(c->cert);
  free(c->keyfile);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static char *dup_or_null(const char *s, int *bad)
{
  char *d;

  if (s == NULL)
    return NULL;
  d = strdup(s);
  if (d == NULL)
    *bad = 1;
  return d;
}

static struct et_cluster *cluster_new(const struct syssem__etcd_key *k,
                                      char *id)
{
  struct et_cluster *c = calloc(1, sizeof *c);
  const char *p = k->hosts;
  int i, bad = 0;

  if (c == NULL) {
    free(id);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  c->id = id;
  c->tls = k->tls;
  c->n = k->nhosts;
  c->pid = (unsigned long)getpid();
  c->base = calloc((size_t)c->n, sizeof *c->base);
  c->cacert = dup_or_null(k->cacert, &bad);
  c->cert = dup_or_null(k->cert, &bad);
  c->keyfile = dup_or_null(k->keyfile, &bad);
  if (c->base == NULL || bad) {
    cluster_free(c);
    return NULL;
  }
  for (i = 0; i < c->n; i++) {
    size_t len = strcspn(p, ",");

    c->base[i] = malloc(len + 9);
    if (c->base[i] == NULL) {
      cluster_free(c);
      return NULL;
    }
    snprintf(c->base[i], len + 9, "%s://%.*s", k->tls ? "https" : "http",
             (int)len, p);
    p += len + (p[len] == ',');
  }
  return c;
}

struct et_cluster *et_cluster_get(const struct syssem__etcd_key *k, int *r)
{
  unsigned long pid = (unsigned long)getpid();
  struct et_cluster *c;
  char *id = cluster_id(k);

  *r = SYSSEM_ENOMEM;
  if (id == NULL)
    return NULL;
  pthread_mutex_lock(&et_lock);
  for (c = clusters; c != NULL; c = c->next_cluster)
    if (c->pid == pid && strcmp(c->id, id) == 0)
      break;
  if (c != NULL) {
    free(id);
  } else {
    c = cluster_new(k, id);
    if (c != NULL) {
      c->next_cluster = clusters;
      clusters = c;
    }
  }
  if (c != NULL) {
    c->refs++;
    *r = SYSSEM_OK;
  }
  pthread_mutex_unlock(&et_lock);
  return c;
}

void et_cluster_put(struct et_cluster *c)
{
  struct et_cluster **pp;

  if (c == NULL)
    return;
  pthread_mutex_lock(&et_lock);
  /* A parent's cluster in a fork child: its connections are the parent's,
   * so the child only forgets it. */
  if (--c->refs > 0 || c->pid != (unsigned long)getpid()) {
    pthread_mutex_unlock(&et_lock);
    return;
  }
  for (pp = &clusters; *pp != NULL; pp = &(*pp)->next_cluster)
    if (*pp == c) {
      *pp = c->next_cluster;
      break;
    }
  pthread_mutex_unlock(&et_lock);
  cluster_free(c);
}

/* HTTP --------------------------------------------------------------------- */

struct body {
  char *p;
  size_t n, cap;
};

static size_t body_add(char *data, size_t size, size_t nmemb, void *arg)
{
  struct body *b = arg;
  size_t len = size * nmemb;

  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *p;

    while (cap < b->n + len + 1)
      cap *= 2;
    if (cap > (size_t)ET_BODY_MAX)
      return 0; /* makes curl fail the transfer */
    p = realloc(b->p, cap);
    if (p == NULL)
      return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, len);
  b->n += len;
  b->p[b->n] = '\0';
  return len;
}

static struct curl_slist *json_headers(void)
{
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  struct curl_slist *h2;

  if (h == NULL)
    return NULL;
  /* Without this curl waits for "100 Continue" before a body over 1 KiB. */
  h2 = curl_slist_append(h, "Expect:");
  if (h2 == NULL)
    curl_slist_free_all(h);
  return h2;
}

/* The options every request of c shares. */
static void setup(CURL *e, struct et_cluster *c, struct curl_slist *hdr)
{
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->tls ? "https" : "http");
  if (c->cacert)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
  if (c->cert) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
    curl_easy_setopt(e, CURLOPT_SSLKEY, c->keyfile);
  }
}

static CURL *pool_take(struct et_cluster *c)
{
  CURL *e = NULL;

  pthread_mutex_lock(&c->lock);
  if (c->nidle > 0)
    e = c->idle[--c->nidle];
  pthread_mutex_unlock(&c->lock);
  return e != NULL ? e : curl_easy_init();
}

static void pool_give(struct et_cluster *c, CURL *e)
{
  pthread_mutex_lock(&c->lock);
  if (c->nidle < (int)(sizeof c->idle / sizeof c->idle[0])) {
    c->idle[c->nidle++] = e;
    e = NULL;
  }
  pthread_mutex_unlock(&c->lock);
  if (e != NULL)
    curl_easy_cleanup(e);
}

/* The gRPC code of an error answer, or -1. */
static int answer_code(json_object *o, long http, char *msg, size_t size)
{
  json_object *m = et_get(o, "message");
  int code = et_get(o, "code") ? (int)et_i64(o, "code") : -1;

  snprintf(msg, size, "%s", m ? json_object_get_string(m) : "");
  if (code < 0 && http == 503)
    code = 14;
  return code;
}

int et_call(struct et_cluster *c, const char *api, json_object *req,
            et_ms until, int flags, json_object **out, struct et_fail *f)
{
  const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
  struct curl_slist *hdr = json_headers();
  struct body b = { NULL, 0, 0 };
  char url[512];
  int start = atomic_load(&c->next), attempt, r = ET_NOREPLY;

  *out = NULL;
  f->sent = 0;
  f->oom = 0;
  f->grpc = -1;
  snprintf(f->msg, sizeof f->msg, "no endpoint tried");
  if (hdr == NULL || text == NULL) {
    curl_slist_free_all(hdr);
    f->oom = 1;
    snprintf(f->msg, sizeof f->msg, "out of memory");
    return ET_NOREPLY;
  }
  for (attempt = 0;; attempt++) {
    int i = (start + attempt) % c->n;
    et_ms now = et_now(), left = until - now;
    long http = 0, sent = 0;
    CURLcode cr;
    CURL *e;

    if (attempt >= c->n && left <= 0)
      break;
    if (attempt > 0 && attempt % c->n == 0) {
      /* Every endpoint failed once: a short pause before the next round. */
      struct timespec nap = { 0, 50 * 1000000L };
      nanosleep(&nap, NULL);
    }
    if (left < ET_TRY_MIN)
      left = ET_TRY_MIN;
    if (left > ET_TRY_MAX)
      left = ET_TRY_MAX;
    e = pool_take(c);
    if (e == NULL) {
      f->oom = 1;
      snprintf(f->msg, sizeof f->msg, "out of memory");
      break;
    }
    b.n = 0;
    snprintf(url, sizeof url, "%s%s", c->base[i], api);
    setup(e, c, hdr);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_add);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(left < ET_CONNECT_MAX ? left : ET_CONNECT_MAX));
    cr = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent);
    pool_give(c, e);
    if (cr == CURLE_OK) {
      json_object *o = b.n ? json_tokener_parse(b.p) : NULL;

      if (http == 200 && o != NULL) {
        atomic_store(&c->next, i);
        *out = o;
        r = SYSSEM_OK;
        break;
      }
      f->grpc = o ? answer_code(o, http, f->msg, sizeof f->msg) : -1;
      if (o == NULL)
        snprintf(f->msg, sizeof f->msg, "HTTP %ld without a JSON answer", http);
      json_object_put(o);
      if (f->grpc != 14) {
        r = ET_ANSWER;
        break;
      }
      /* Unavailable: this member cannot serve now; a write may still be
       * applied by the leader it forwarded it to. */
      f->sent = 1;
      snprintf(f->msg + strlen(f->msg), sizeof f->msg - strlen(f->msg),
               " (%s)", c->base[i]);
    } else {
      snprintf(f->msg, sizeof f->msg, "%s: %s", c->base[i],
               curl_easy_strerror(cr));
      if (sent > 0)
        f->sent = 1;
      /* Certificate failures are the user's to fix, not the network's:
       * no other endpoint will do better. */
      if (cr == CURLE_SSL_CACERT_BADFILE || cr == CURLE_SSL_CERTPROBLEM ||
          cr == CURLE_PEER_FAILED_VERIFICATION) {
        f->grpc = 16; /* Unauthenticated */
        r = ET_ANSWER;
        break;
      }
    }
    atomic_store(&c->next, (i + 1) % c->n);
    if (f->sent && !(flags & ET_RETRY))
      break;
    f->sent = 0;
  }
  curl_slist_free_all(hdr);
  free(b.p);
  return r;
}

int et_fail_code(int r, const struct et_fail *f, const char *what)
{
  int code;

  if (r == ET_NOREPLY)
    code = f->oom ? SYSSEM_ENOMEM : SYSSEM_EUNAVAIL;
  else if (f->grpc == 7 || f->grpc == 16)
    code = SYSSEM_EPERM; /* PermissionDenied, Unauthenticated, TLS */
  else if (f->grpc == 8 || f->grpc == 3)
    code = SYSSEM_ENOSPC; /* ResourceExhausted, too many operations */
  else
    code = SYSSEM_EUNKNOWN;
  return et_core->note_text(code, what, f->msg);
}

/* Watches ------------------------------------------------------------------ */

struct et_watch {
  CURLM *m;
  CURL *e;
  struct curl_slist *hdr;
  char *req;
  struct body b;       /* bytes not yet a whole line */
  json_object *events; /* an array, delivered by et_watch_wait */
  int ended;
};

static void watch_line(struct et_watch *w, char *line)
{
  json_object *o = json_tokener_parse(line), *ev;
  size_t i, n;

  if (o == NULL || et_get(o, "error") != NULL ||
      et_get(o, "result.canceled") != NULL ||
      et_get(o, "result.compact_revision") != NULL) {
    /* Canceled (compacted past our revision) or broken: start again. */
    w->ended = 1;
    json_object_put(o);
    return;
  }
  ev = et_get(o, "result.events");
  n = ev ? json_object_array_length(ev) : 0;
  for (i = 0; i < n; i++)
    json_object_array_add(w->events,
                          json_object_get(json_object_array_get_idx(ev, i)));
  json_object_put(o);
}

static size_t watch_add(char *data, size_t size, size_t nmemb, void *arg)
{
  struct et_watch *w = arg;
  size_t len = size * nmemb, done = 0;
  char *nl;

  if (body_add(data, size, nmemb, &w->b) != len)
    return 0;
  while ((nl = memchr(w->b.p + done, '\n', w->b.n - done)) != NULL) {
    *nl = '\0';
    if (nl > w->b.p + done)
      watch_line(w, w->b.p + done);
    done = (size_t)(nl - w->b.p) + 1;
  }
  memmove(w->b.p, w->b.p + done, w->b.n - done);
  w->b.n -= done;
  return len;
}

void et_watch_stop(struct et_watch *w)
{
  if (w == NULL)
    return;
  if (w->m && w->e)
    curl_multi_remove_handle(w->m, w->e);
  if (w->e)
    curl_easy_cleanup(w->e);
  if (w->m)
    curl_multi_cleanup(w->m);
  curl_slist_free_all(w->hdr);
  json_object_put(w->events);
  free(w->req);
  free(w->b.p);
  free(w);
}

struct et_watch *et_watch_start(struct et_cluster *c, const char *key,
                                const char *end, long long from)
{
  struct et_watch *w = calloc(1, sizeof *w);
  json_object *req = json_object_new_object(), *cr = json_object_new_object();
  char url[512];
  int i = atomic_load(&c->next);

  if (w == NULL || req == NULL || cr == NULL)
    goto fail;
  json_object_object_add(cr, "key", et_key(key));
  json_object_object_add(cr, "range_end", et_key(end));
  json_object_object_add(cr, "start_revision", et_num(from));
  json_object_object_add(req, "create_request", cr);
  cr = NULL;
  w->req = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
  w->events = json_object_new_array();
  w->hdr = json_headers();
  w->m = curl_multi_init();
  w->e = curl_easy_init();
  if (w->req == NULL || w->events == NULL || w->hdr == NULL || w->m == NULL ||
      w->e == NULL)
    goto fail;
  snprintf(url, sizeof url, "%s/v3/watch", c->base[i]);
  setup(w->e, c, w->hdr);
  curl_easy_setopt(w->e, CURLOPT_URL, url);
  curl_easy_setopt(w->e, CURLOPT_POSTFIELDS, w->req);
  curl_easy_setopt(w->e, CURLOPT_WRITEFUNCTION, watch_add);
  curl_easy_setopt(w->e, CURLOPT_WRITEDATA, w);
  curl_easy_setopt(w->e, CURLOPT_CONNECTTIMEOUT_MS, (long)ET_CONNECT_MAX);
  curl_easy_setopt(w->e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (curl_multi_add_handle(w->m, w->e) != CURLM_OK)
    goto fail;
  json_object_put(req);
  return w;

fail:
  json_object_put(cr);
  json_object_put(req);
  et_watch_stop(w);
  return NULL;
}

int et_watch_wait(struct et_watch *w, et_ms until, int wake_fd)
{
  while (json_object_array_length(w->events) == 0) {
    struct curl_waitfd extra = { wake_fd, CURL_WAIT_POLLIN, 0 };
    et_ms left = until - et_now();
    int running = 0;
    CURLMsg *msg;

    if (w->ended)
      return ET_NOREPLY;
    if (left <= 0)
      return SYSSEM_ETIMEDOUT;
    curl_multi_poll(w->m, &extra, wake_fd >= 0 ? 1u : 0u,
                    (int)(left < 1000 ? left : 1000), NULL);
    if (extra.revents & POLLIN)
      return 1;
    curl_multi_perform(w->m, &running);
    while ((msg = curl_multi_info_read(w->m, &running)) != NULL)
      if (msg->msg == CURLMSG_DONE)
        w->ended = 1;
  }
  return SYSSEM_OK;
}

void et_watch_drain(struct et_watch *w,
                    void (*fn)(void *arg, const struct et_event *e), void *arg)
{
  size_t i, n = json_object_array_length(w->events);

  for (i = 0; i < n; i++) {
    json_object *ev = json_object_array_get_idx(w->events, i);
    json_object *k = et_get(ev, "kv.key"), *v = et_get(ev, "kv.value");
    json_object *type = et_get(ev, "type");
    char *key = strdup(k ? json_object_get_string(k) : "");
    char *val = strdup(v ? json_object_get_string(v) : "");
    struct et_event e;
    long kl, vl;

    if (key == NULL || val == NULL || (kl = et_unb64(key)) < 0 ||
        (vl = et_unb64(val)) < 0) {
      free(key);
      free(val);
      w->ended = 1;
      continue;
    }
    e.del = type != NULL && strcmp(json_object_get_string(type), "DELETE") == 0;
    e.key = key;
    e.key_len = (size_t)kl;
    e.value = val;
    e.mod = et_i64(ev, "kv.mod_revision");
    fn(arg, &e);
    free(key);
    free(val);
  }
  /* Emptied in place: a new array could fail to allocate. */
  json_object_array_del_idx(w->events, 0, n);
}
