/*
 * The etcd backend: a counting semaphore kept in an etcd cluster, with the
 * counting rules of QSystemSemaphore and the crash undo of System V.
 *
 * SPDX-License-Identifier: MIT
 *
 * The model. A semaphore named PATH is a few keys in the range
 * [P":", P";") where P = "/syssem/v1/" PATH (PATH has no ':', so no other
 * semaphore's keys fall in that range):
 *
 *   P:init          "INITIAL EPOCH", no lease: the count a creator set.
 *   P:bound         "BOUND EPOCH", no lease: a number the count can never
 *                   pass, kept by releases (below).
 *   P:n:LEASE.SEQ   "NET OPSEQ EPOCH", with the lease of the process that
 *                   owns it: what one handle released minus what it took.
 *
 * value = INITIAL + the sum of NET over the records of the epoch. etcd
 * deletes a process's records when its lease ends (revoked at a normal
 * exit, expired after a crash), which takes back what the process took and
 * what it released, as System V's SEM_UNDO does; release without acquire
 * adds tokens, as in Qt. SYSSEM_CREATE writes a new EPOCH and deletes the
 * records in one transaction: System V's SETVAL, which clears every undo.
 * SYSSEM_NO_UNDO handles change INITIAL instead of their record.
 *
 * An acquire is one transaction guarded by what it read: nothing in the
 * range modified since revision R, INITIAL's revision unchanged, our own
 * record as we knew it, and (only where a deletion could make it wrong)
 * each record whose deletion would lower the count below what it needs.
 * Deletions are the one change a range comparison cannot see. A
 * transaction that fails returns the range as it is now, in the same round
 * trip.
 *
 * A release must only keep the count within the maximum, and need not
 * conflict with acquires to do so: BOUND is at least INITIAL plus every
 * positive NET, so at least the count, now and after any record is deleted
 * (an acquire lowers the count and leaves BOUND; a release raises both by
 * n). A release guarded by BOUND's revision (and INITIAL's, and our record)
 * that keeps BOUND + n within the maximum keeps the count there, whatever
 * else changed. Only when BOUND would pass the maximum does a release read
 * the exact count, guard the whole range, and set BOUND anew.
 *
 * Exactly once: each change puts OPSEQ + 1 into our record. When the answer
 * to a change is lost, the next read of the range tells whether it was
 * applied (OPSEQ advanced) or not (then a new attempt, guarded by the same
 * record revision as the lost one, can never be applied with it).
 *
 * Waiting: a watch on the range from the revision the decision was made
 * at: no change in between can be missed, and the events bring the new
 * state with them. A re-read every half lease time guards against a watch
 * that went quiet.
 */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd.h"

const syssem__core_t *et_core;

#define ET_MAX INT_MAX
/* etcd refuses a transaction of more than 128 comparisons by default. */
#define ET_GUARDS_MAX 120

struct et_rec {
  char *key;
  long long net, opseq, mod;
  char epoch[17];
};

/* The range as last seen: exact at rev when fresh (read, or read and then
 * brought forward by watch events); after our own change it is what we
 * expect, good enough to guard the next change with, not to wait on. */
struct et_state {
  int valid, fresh;
  long long rev;
  int have_init, have_bound;
  long long init, init_mod, bound, bound_mod;
  char epoch[17], bound_epoch[17];
  struct et_rec *r;
  int nr, cap;
};

struct et_sem {
  struct syssem base;
  struct et_cluster *c;
  int ttl;
  char *pfx, *pfx_end;       /* the range                              */
  char *init_key, *bound_key;
  char *rec_pfx;             /* P:n:                                   */
  unsigned long pid;         /* a fork child starts afresh             */
  pthread_mutex_t lock;      /* one change at a time per handle        */
  struct et_session *sess;   /* holds our record, once bound           */
  struct et_sem *next_bound; /* the session's list, under et_lock      */
  char *rec;                 /* our record's key                       */
  long long net, opseq;
  atomic_llong held;         /* net, for the session's keeper          */
  char epoch[17];            /* the epoch our record belongs to        */
  atomic_int lost;           /* sticky SYSSEM_ELOST                    */
  int lostfd[2];
  struct et_state st;
};

/* Names and values ---------------------------------------------------------- */

static char *cat(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);

  if (s != NULL) {
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
  }
  return s;
}

static void new_epoch(char out[17])
{
  unsigned long long v = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

  if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
    v = (unsigned long long)et_now() * 6364136223846793005ull ^
        (unsigned long long)getpid() << 32;
  if (fd >= 0)
    close(fd);
  snprintf(out, 17, "%016llx", v);
}

static void state_clear(struct et_state *st)
{
  int i;

  for (i = 0; i < st->nr; i++)
    free(st->r[i].key);
  st->nr = 0;
  st->valid = st->fresh = st->have_init = st->have_bound = 0;
  st->rev = st->init = st->init_mod = st->bound = st->bound_mod = 0;
  st->epoch[0] = st->bound_epoch[0] = '\0';
}

static struct et_rec *rec_find(struct et_state *st, const char *key)
{
  int i;

  for (i = 0; i < st->nr; i++)
    if (strcmp(st->r[i].key, key) == 0)
      return &st->r[i];
  return NULL;
}

/* INITIAL and BOUND hold "N EPOCH": 1 and the parts when value is one
 * (mod, the key's revision, kept beside them), else 0 and nothing changed. */
static int counted(const char *value, long long mod, long long *n,
                   long long *n_mod, char epoch[17])
{
  long long a;
  char ep[17];

  if (value == NULL || sscanf(value, "%lld %16s", &a, ep) != 2)
    return 0;
  *n = a;
  *n_mod = mod;
  memcpy(epoch, ep, sizeof ep);
  return 1;
}

/* Put one key of the range into the state (a deletion when value is
 * NULL). Keys that are neither INITIAL nor a well-formed record are
 * ignored: nothing of ours writes them. 0, or -1 when out of memory. */
static int state_set(struct et_sem *h, const char *key, const char *value,
                     long long mod)
{
  struct et_state *st = &h->st;
  struct et_rec *r;
  long long a, b;
  char ep[17];

  if (strcmp(key, h->init_key) == 0) {
    st->have_init = counted(value, mod, &st->init, &st->init_mod, st->epoch);
    return 0;
  }
  if (strcmp(key, h->bound_key) == 0) {
    st->have_bound =
        counted(value, mod, &st->bound, &st->bound_mod, st->bound_epoch);
    return 0;
  }
  if (strncmp(key, h->rec_pfx, strlen(h->rec_pfx)) != 0)
    return 0;
  r = rec_find(st, key);
  if (value == NULL || sscanf(value, "%lld %lld %16s", &a, &b, ep) != 3) {
    if (r != NULL) {
      free(r->key);
      *r = st->r[--st->nr];
    }
    return 0;
  }
  if (r == NULL) {
    if (st->nr == st->cap) {
      int cap = st->cap ? st->cap * 2 : 8;
      struct et_rec *n = realloc(st->r, (size_t)cap * sizeof *n);

      if (n == NULL)
        return -1;
      st->r = n;
      st->cap = cap;
    }
    r = &st->r[st->nr];
    r->key = strdup(key);
    if (r->key == NULL)
      return -1;
    st->nr++;
  }
  r->net = a;
  r->opseq = b;
  r->mod = mod;
  memcpy(r->epoch, ep, sizeof ep);
  return 0;
}

/* The state from a range answer (its "kvs" and header revision). */
static int state_load(struct et_sem *h, json_object *range, long long rev)
{
  json_object *kvs = et_get(range, "kvs");
  size_t i, n = kvs ? json_object_array_length(kvs) : 0;

  state_clear(&h->st);
  for (i = 0; i < n; i++) {
    json_object *kv = json_object_array_get_idx(kvs, i);
    json_object *k = et_get(kv, "key"), *v = et_get(kv, "value");
    char *key = strdup(k ? json_object_get_string(k) : "");
    char *val = strdup(v ? json_object_get_string(v) : "");
    int bad = key == NULL || val == NULL;

    if (!bad && et_unb64(key) >= 0 && et_unb64(val) >= 0)
      bad = state_set(h, key, val, et_i64(kv, "mod_revision")) != 0;
    free(key);
    free(val);
    if (bad) {
      state_clear(&h->st);
      return et_core->note_text(SYSSEM_ENOMEM, "etcd", "out of memory");
    }
  }
  h->st.rev = rev;
  h->st.valid = h->st.fresh = 1;
  return SYSSEM_OK;
}

/* A watch event on top of a fresh state. */
static void state_event(void *arg, const struct et_event *e)
{
  struct et_sem *h = arg;

  if (!h->st.valid || e->mod <= h->st.rev || strlen(e->key) != e->key_len)
    return;
  if (state_set(h, e->key, e->del ? NULL : e->value, e->mod) != 0) {
    h->st.valid = 0;
    return;
  }
  h->st.rev = e->mod;
}

/* INITIAL plus every NET of the epoch; with upper, only the positive
 * ones: the most the count can reach as records are deleted. */
static long long state_sum(const struct et_state *st, int upper)
{
  long long v = st->init;
  int i;

  for (i = 0; i < st->nr; i++)
    if (strcmp(st->r[i].epoch, st->epoch) == 0 &&
        (!upper || st->r[i].net > 0))
      v += st->r[i].net;
  return v;
}

static long long state_value(const struct et_state *st)
{
  return state_sum(st, 0);
}

/* BOUND can stand for the count in a release. */
static int bound_known(const struct et_state *st)
{
  return st->have_init && st->have_bound &&
         strcmp(st->bound_epoch, st->epoch) == 0;
}

/* Requests ------------------------------------------------------------------ */

static json_object *range_req(const char *key, const char *end)
{
  json_object *o = json_object_new_object();

  if (o != NULL) {
    json_object_object_add(o, "key", et_key(key));
    if (end != NULL)
      json_object_object_add(o, "range_end", et_key(end));
  }
  return o;
}

static json_object *cmp(const char *key, const char *end, const char *target,
                        const char *result, long long v)
{
  json_object *o = json_object_new_object();

  if (o == NULL)
    return NULL;
  json_object_object_add(o, "key", et_key(key));
  if (end != NULL)
    json_object_object_add(o, "range_end", et_key(end));
  json_object_object_add(o, "target", et_str(target));
  json_object_object_add(o, "result", et_str(result));
  json_object_object_add(o, strcmp(target, "MOD") == 0 ? "mod_revision"
                                                        : "create_revision",
                         et_num(v));
  return o;
}

static json_object *put_op(const char *key, const char *value,
                           long long lease)
{
  json_object *op = json_object_new_object(), *p = json_object_new_object();
  char *v = et_b64(value, strlen(value));

  if (op == NULL || p == NULL || v == NULL) {
    json_object_put(op);
    json_object_put(p);
    free(v);
    return NULL;
  }
  json_object_object_add(p, "key", et_key(key));
  json_object_object_add(p, "value", et_str(v));
  free(v);
  if (lease != 0)
    json_object_object_add(p, "lease", et_num(lease));
  json_object_object_add(op, "request_put", p);
  return op;
}

static json_object *op_of(const char *kind, json_object *body)
{
  json_object *op = json_object_new_object();

  if (op == NULL || body == NULL) {
    json_object_put(op);
    json_object_put(body);
    return NULL;
  }
  json_object_object_add(op, kind, body);
  return op;
}

/* A transaction; NULL if out of memory. The arrays are filled by the
 * caller through the returned object's members. */
static json_object *txn_new(void)
{
  json_object *t = json_object_new_object();

  if (t == NULL)
    return NULL;
  json_object_object_add(t, "compare", json_object_new_array());
  json_object_object_add(t, "success", json_object_new_array());
  json_object_object_add(t, "failure", json_object_new_array());
  return t;
}

/* Append o to t's member (array) name; remembers a failed allocation. */
static void add(json_object *t, const char *name, json_object *o, int *oom)
{
  json_object *a = et_get(t, name);

  if (o == NULL || a == NULL || json_object_array_add(a, o) != 0) {
    json_object_put(o);
    *oom = 1;
  }
}

static int oom(void)
{
  return et_core->note_text(SYSSEM_ENOMEM, "etcd", "out of memory");
}

/* One linearizable read of the whole range into h->st. */
static int read_state(struct et_sem *h, et_ms until)
{
  json_object *req = range_req(h->pfx, h->pfx_end), *out = NULL;
  struct et_fail f;
  int r;

  if (req == NULL)
    return oom();
  r = et_call(h->c, "/v3/kv/range", req, until, ET_RETRY, &out, &f);
  json_object_put(req);
  if (r != SYSSEM_OK)
    return et_fail_code(r, &f, "range");
  r = state_load(h, out, et_i64(out, "header.revision"));
  json_object_put(out);
  return r;
}

/* Sessions and loss ---------------------------------------------------------- */

struct et_sem **et_sem_next(struct et_sem *h)
{
  return &h->next_bound;
}

static void lost_signal(struct et_sem *h)
{
  ssize_t w;

  if (!atomic_exchange(&h->lost, 1) && h->lostfd[1] >= 0) {
    w = write(h->lostfd[1], "x", 1);
    (void)w;
  }
}

void et_sem_lost(struct et_sem *h)
{
  if (atomic_load(&h->held) != 0)
    lost_signal(h);
}

static int lost_code(void)
{
  return et_core->note_text(SYSSEM_ELOST, "lease",
                               "expired: the tokens this handle held were "
                               "given back to the cluster");
}

static void mark_lost(struct et_sem *h)
{
  pthread_mutex_lock(&et_lock);
  lost_signal(h);
  pthread_mutex_unlock(&et_lock);
}

static void set_net(struct et_sem *h, long long net)
{
  h->net = net;
  atomic_store(&h->held, net);
}

/* Take h off its session's list; 1 if the session stays for others. */
static int unlist(struct et_sem *h)
{
  struct et_sem **pp;
  int others;

  pthread_mutex_lock(&et_lock);
  for (pp = &h->sess->bound; *pp != NULL; pp = &(*pp)->next_bound)
    if (*pp == h) {
      *pp = h->next_bound;
      break;
    }
  others = h->sess->refs > 1;
  pthread_mutex_unlock(&et_lock);
  return others;
}

static void unbind(struct et_sem *h)
{
  struct et_session *s = h->sess;

  if (s == NULL)
    return;
  if (unlist(h) && h->opseq > 0 && !et_session_lost(s)) {
    /* A record that holds nothing, under a lease that others keep: delete
     * it now, or a process that opens and closes handles would leave one
     * per handle until it ends. (The last handle's revoke deletes it.) */
    json_object *req = range_req(h->rec, NULL), *out = NULL;
    struct et_fail f;

    if (req != NULL &&
        et_call(h->c, "/v3/kv/deleterange", req, et_now() + 1000, ET_RETRY,
                &out, &f) == SYSSEM_OK)
      json_object_put(out);
    json_object_put(req);
  }
  h->sess = NULL;
  free(h->rec);
  h->rec = NULL;
  set_net(h, 0);
  h->opseq = 0;
  h->epoch[0] = '\0';
  et_session_put(s);
}

/* Make sure our record has a live lease to live under. A handle that held
 * nothing when its lease was lost moves to a new one; one that held tokens
 * is lost for good. */
static int bind_session(struct et_sem *h, et_ms until)
{
  struct et_session *s;
  char seq[16];
  int r;

  if (h->sess != NULL && !et_session_lost(h->sess))
    return SYSSEM_OK;
  if (h->sess != NULL) {
    if (h->net != 0) {
      mark_lost(h);
      return lost_code();
    }
    unbind(h);
  }
  r = et_session_get(h->c, h->ttl, until, &s);
  if (r != SYSSEM_OK)
    return r;
  pthread_mutex_lock(&et_lock);
  h->sess = s;
  h->next_bound = s->bound;
  s->bound = h;
  snprintf(seq, sizeof seq, ".%u", s->seq++);
  pthread_mutex_unlock(&et_lock);
  h->rec = malloc(strlen(h->rec_pfx) + 16 + strlen(seq) + 1);
  if (h->rec == NULL) {
    unbind(h);
    return oom();
  }
  sprintf(h->rec, "%s%s%s", h->rec_pfx, s->hex, seq);
  set_net(h, 0);
  h->opseq = 0;
  h->epoch[0] = '\0';
  return SYSSEM_OK;
}

/* In a fork child, the handle is this process's anew: no session, no
 * record, nothing held (System V does not inherit undo either). */
static void adopt(struct et_sem *h)
{
  unsigned long pid = (unsigned long)getpid();

  if (h->pid == pid)
    return;
  pthread_mutex_init(&h->lock, NULL);
  h->pid = pid;
  h->sess = NULL; /* the parent's, never touched here */
  free(h->rec);
  h->rec = NULL;
  set_net(h, 0);
  h->opseq = 0;
  h->epoch[0] = '\0';
  atomic_store(&h->lost, 0);
  if (h->lostfd[0] >= 0) {
    close(h->lostfd[0]);
    close(h->lostfd[1]);
    h->lostfd[0] = h->lostfd[1] = -1;
  }
  h->st.valid = 0;
  /* The parent's connections are not ours either. */
  {
    struct syssem__etcd_key k;
    char why[160];
    int r;

    if (syssem__etcd_key_parse(h->base.native, strlen(h->base.native), &k,
                               why, sizeof why) == SYSSEM_OK) {
      h->c = et_cluster_get(&k, &r);
      syssem__etcd_key_free(&k);
    } else {
      h->c = NULL;
    }
  }
}

/* Open ------------------------------------------------------------------------ */

static int et_native_name(const syssem__name_t *n, char *buf)
{
  if (n->backend != SYSSEM_BACKEND_ETCD)
    return et_core->note_text(SYSSEM_EKEY, "etcd key",
                                 "an etcd semaphore needs an etcd:// key");
  return et_core->native_put(buf, n->text, "", "");
}

/* The names of h's keys, from its canonical key. */
static int names(struct et_sem *h, const struct syssem__etcd_key *k)
{
  char *p = cat("/syssem/v1/", k->path);

  if (p == NULL)
    return SYSSEM_ENOMEM;
  h->pfx = cat(p, ":");
  h->pfx_end = cat(p, ";");
  h->init_key = cat(p, ":init");
  h->bound_key = cat(p, ":bound");
  h->rec_pfx = cat(p, ":n:");
  free(p);
  if (!h->pfx || !h->pfx_end || !h->init_key || !h->bound_key || !h->rec_pfx)
    return SYSSEM_ENOMEM;
  return SYSSEM_OK;
}

/* Create INITIAL unless it exists (the one creator wins, on any host), or
 * with reset, set it and clear every record (SYSSEM_CREATE). Reads the range
 * into h->st. *created: 1 if INITIAL was made here, -1 unknown (the answer
 * was lost but our epoch is there). */
static int put_init(struct et_sem *h, int initial, int reset, et_ms until,
                    int *created)
{
  char epoch[17], value[48];
  int r, bad = 0;

  new_epoch(epoch);
  snprintf(value, sizeof value, "%d %s", initial, epoch);
  *created = 0;
  for (;;) {
    json_object *t = txn_new(), *out = NULL, *del;
    struct et_fail f;

    if (t == NULL)
      return oom();
    if (reset) {
      json_object *put = put_op(h->init_key, value, 0);

      /* Records are "P:n:..." and the range ends at "P;". */
      del = range_req(h->rec_pfx, h->pfx_end);
      if (put != NULL)
        json_object_object_add(et_get(put, "request_put"), "prev_kv",
                               json_object_new_boolean(1));
      add(t, "success", put, &bad);
      add(t, "success", op_of("request_delete_range", del), &bad);
    } else {
      add(t, "compare", cmp(h->init_key, NULL, "CREATE", "EQUAL", 0), &bad);
      add(t, "success", put_op(h->init_key, value, 0), &bad);
    }
    /* Nothing released yet: the bound is the count itself. */
    add(t, "success", put_op(h->bound_key, value, 0), &bad);
    add(t, "success", op_of("request_range", range_req(h->pfx, h->pfx_end)),
        &bad);
    add(t, "failure", op_of("request_range", range_req(h->pfx, h->pfx_end)),
        &bad);
    if (bad) {
      json_object_put(t);
      return oom();
    }
    r = et_call(h->c, "/v3/kv/txn", t, until, 0, &out, &f);
    json_object_put(t);
    if (r == SYSSEM_OK) {
      json_object *resp = et_get(out, "responses");
      size_t n = resp ? json_object_array_length(resp) : 0;
      json_object *last = n ? json_object_array_get_idx(resp, n - 1) : NULL;
      json_object *ok = et_get(out, "succeeded");

      *created = ok != NULL && json_object_get_boolean(ok) &&
                 (!reset || et_get(out, "responses.0.response_put.prev_kv") ==
                                NULL);
      r = state_load(h, et_get(last, "response_range"),
                     et_i64(out, "header.revision"));
      json_object_put(out);
      /* "Exists" with our own epoch: libcurl repeated the request after
       * the first one was applied and its answer lost. */
      if (r == SYSSEM_OK && !*created && !reset && h->st.have_init &&
          strcmp(h->st.epoch, epoch) == 0)
        *created = 1;
      return r;
    }
    if (r == ET_ANSWER || !f.sent || et_now() >= until)
      return et_fail_code(r, &f, "txn");
    /* The answer was lost: our epoch in INITIAL says it was applied. */
    r = read_state(h, until);
    if (r != SYSSEM_OK)
      return r;
    if (h->st.have_init && strcmp(h->st.epoch, epoch) == 0) {
      *created = -1;
      return SYSSEM_OK;
    }
    if (h->st.have_init && !reset)
      return SYSSEM_OK; /* someone else made it */
  }
}

static int et_open(syssem_t *base, syssem_mode_t mode, int initial)
{
  struct et_sem *h = (struct et_sem *)base;
  struct syssem__etcd_key k;
  char why[160];
  et_ms until;
  int r, created = 0;

  h->lostfd[0] = h->lostfd[1] = -1;
  h->pid = (unsigned long)getpid();
  pthread_mutex_init(&h->lock, NULL);
  r = syssem__etcd_key_parse(base->native, strlen(base->native), &k, why,
                             sizeof why);
  if (r != SYSSEM_OK)
    return r == SYSSEM_EKEY ? et_core->note_text(r, "etcd key", why) : r;
  h->ttl = k.ttl ? k.ttl : ET_TTL_DEFAULT;
  h->c = et_cluster_get(&k, &r);
  if (r == SYSSEM_OK)
    r = names(h, &k);
  syssem__etcd_key_free(&k);
  if (r != SYSSEM_OK)
    goto fail;

  until = et_now() + (et_ms)h->ttl * 1000;
  if (mode == SYSSEM_OPEN_EXISTING) {
    r = read_state(h, until);
    if (r == SYSSEM_OK && !h->st.have_init)
      r = et_core->note_text(SYSSEM_ENOENT, "range",
                                "no such semaphore on the cluster");
  } else {
    r = put_init(h, initial, mode == SYSSEM_CREATE, until, &created);
    if (r == SYSSEM_OK && mode == SYSSEM_CREATE_NEW && created == 0)
      r = et_core->note_text(SYSSEM_EEXIST, "txn",
                                "the semaphore exists on the cluster");
  }
  if (r != SYSSEM_OK)
    goto fail;
  base->created = created != 0;
  /* Shared by a fleet: nobody's close removes it (syssem_remove does). */
  base->owner = 0;
  return SYSSEM_OK;

fail:
  state_clear(&h->st);
  free(h->st.r);
  free(h->pfx);
  free(h->pfx_end);
  free(h->init_key);
  free(h->bound_key);
  free(h->rec_pfx);
  et_cluster_put(h->c);
  pthread_mutex_destroy(&h->lock);
  return r;
}

/* Changes ---------------------------------------------------------------- */

/* What the state says about us before a change (changing) or a read. 
 * SYSSEM_OK to go on, 1 to read again (the semaphore was recreated here, or
 * our lease ended), 2 the change being made was applied, or a code. */
static int examine(struct et_sem *h, int *pending, int *reopens, et_ms until,
                   int changing)
{
  struct et_rec *own;
  int r, created;

  if (!h->st.have_init) {
    /* Removed underneath: recreate it as System V does, with this
     * handle's initial count, a bounded number of times. Our record went
     * with it. */
    if (++*reopens > SYSSEM__REOPEN_MAX)
      return et_core->note_text(SYSSEM_ENOENT, "range",
                                   "removed again and again");
    r = put_init(h, h->base.initial, 0, until, &created);
    if (r != SYSSEM_OK)
      return r;
    if (created)
      h->base.created = 1;
    set_net(h, 0);
    h->opseq = 0;
    h->epoch[0] = '\0';
    *pending = 0;
    return 1;
  }
  if (h->rec == NULL)
    return SYSSEM_OK;
  if (h->epoch[0] != '\0' && strcmp(h->epoch, h->st.epoch) != 0) {
    /* SYSSEM_CREATE by someone: every record was cleared, ours too, as
     * SETVAL clears every undo. Whatever we were doing starts afresh. */
    set_net(h, 0);
    h->opseq = 0;
    h->epoch[0] = '\0';
    *pending = 0;
    return SYSSEM_OK;
  }
  own = rec_find(&h->st, h->rec);
  if (own == NULL && h->opseq > 0) {
    /* Gone, the epoch unchanged: our lease ended on the server. */
    et_session_fail(h->sess);
    return 1;
  }
  if (changing && own != NULL && own->opseq == h->opseq + 1) {
    /* Our change was applied, though no answer said so: it was lost, or
     * it was a "compare failed" to a repeat of the request (libcurl sends a
     * request again, unasked, when a kept-alive connection turns out dead
     * before the answer). Only this handle writes this record, and one
     * change at a time. */
    h->opseq = own->opseq;
    set_net(h, own->net);
    *pending = 0;
    return 2;
  }
  return SYSSEM_OK;
}

/* The records whose deletion would make the change wrong: for an acquire of
 * n, positive ones until the count stays >= n without the others; for a
 * release, negative ones until it stays within the maximum. Largest first,
 * so that there are as few as possible. -1 if more than ET_GUARDS_MAX. */
static int guards(struct et_sem *h, long long v, long long delta,
                  struct et_rec **out)
{
  struct et_state *st = &h->st;
  long long spare = 0;
  int i, j, n = 0;

  for (i = 0; i < st->nr; i++) {
    struct et_rec *r = &st->r[i];

    if ((h->rec && strcmp(r->key, h->rec) == 0) ||
        strcmp(r->epoch, st->epoch) != 0)
      continue;
    if ((delta < 0 && r->net > 0) || (delta > 0 && r->net < 0))
      spare += r->net > 0 ? r->net : -r->net;
  }
  for (;;) {
    struct et_rec *best = NULL;

    if (delta < 0 ? v - spare >= -delta : v + spare + delta <= ET_MAX)
      return n;
    for (i = 0; i < st->nr; i++) {
      struct et_rec *r = &st->r[i];
      long long mag = r->net > 0 ? r->net : -r->net;

      if ((h->rec && strcmp(r->key, h->rec) == 0) ||
          strcmp(r->epoch, st->epoch) != 0 ||
          !((delta < 0 && r->net > 0) || (delta > 0 && r->net < 0)))
        continue;
      for (j = 0; j < n; j++)
        if (out[j] == r)
          break;
      if (j == n && (best == NULL || mag > (best->net > 0 ? best->net
                                                           : -best->net)))
        best = r;
    }
    if (best == NULL || n == ET_GUARDS_MAX)
      return -1;
    out[n++] = best;
    spare -= best->net > 0 ? best->net : -best->net;
  }
}

/* BOUND after a release of delta on the exact state: INITIAL and every
 * positive NET once the change is made. */
static long long bound_after(struct et_sem *h, long long delta)
{
  long long b = state_sum(&h->st, 1), net = h->net;

  if (h->base.flags & SYSSEM_NO_UNDO)
    return b + delta;
  /* state_sum counted our record as the state has it: net. */
  return b - (net > 0 ? net : 0) + (net + delta > 0 ? net + delta : 0);
}

/* Build the guarded change of our record (and INITIAL with NO_UNDO) by
 * delta, with OPSEQ + 1. whole: guarded by the whole range (every acquire,
 * and a release that sets BOUND anew, to bound); else a release guarded by
 * BOUND, which becomes bound. */
static json_object *change_txn(struct et_sem *h, long long delta,
                               struct et_rec **g, int ng, int whole,
                               long long bound)
{
  struct et_state *st = &h->st;
  struct et_rec *own = rec_find(st, h->rec);
  json_object *t = txn_new();
  char value[80];
  long long net = h->net;
  int i, bad = t == NULL;

  if (bad)
    return NULL;
  if (whole)
    add(t, "compare", cmp(h->pfx, h->pfx_end, "MOD", "LESS", st->rev + 1),
        &bad);
  else
    add(t, "compare", cmp(h->bound_key, NULL, "MOD", "EQUAL", st->bound_mod),
        &bad);
  add(t, "compare", cmp(h->init_key, NULL, "MOD", "EQUAL", st->init_mod),
      &bad);
  add(t, "compare",
      own ? cmp(h->rec, NULL, "MOD", "EQUAL", own->mod)
          : cmp(h->rec, NULL, "CREATE", "EQUAL", 0),
      &bad);
  for (i = 0; i < ng; i++)
    add(t, "compare", cmp(g[i]->key, NULL, "MOD", "EQUAL", g[i]->mod), &bad);
  if (h->base.flags & SYSSEM_NO_UNDO) {
    snprintf(value, sizeof value, "%lld %s", st->init + delta, st->epoch);
    add(t, "success", put_op(h->init_key, value, 0), &bad);
  } else {
    net += delta;
  }
  snprintf(value, sizeof value, "%lld %lld %s", net, h->opseq + 1, st->epoch);
  add(t, "success", put_op(h->rec, value, h->sess->lease), &bad);
  if (delta > 0) {
    snprintf(value, sizeof value, "%lld %s", bound, st->epoch);
    add(t, "success", put_op(h->bound_key, value, 0), &bad);
  }
  add(t, "failure", op_of("request_range", range_req(h->pfx, h->pfx_end)),
      &bad);
  if (bad) {
    json_object_put(t);
    return NULL;
  }
  return t;
}

/* Our change was applied at revision rev (a release setting BOUND to
 * bound): the state we expect now. */
static void applied(struct et_sem *h, long long delta, long long bound,
                    long long rev)
{
  struct et_state *st = &h->st;
  char value[80];

  if (delta > 0) {
    st->have_bound = 1;
    st->bound = bound;
    st->bound_mod = rev;
    memcpy(st->bound_epoch, st->epoch, sizeof st->bound_epoch);
  }
  if (h->base.flags & SYSSEM_NO_UNDO) {
    st->init += delta;
    st->init_mod = rev;
  } else {
    set_net(h, h->net + delta);
  }
  h->opseq++;
  memcpy(h->epoch, st->epoch, sizeof h->epoch);
  snprintf(value, sizeof value, "%lld %lld %s", h->net, h->opseq, st->epoch);
  if (state_set(h, h->rec, value, rev) != 0)
    st->valid = 0;
  st->rev = rev;
  st->fresh = 0;
}

/* Handle the answer to a change: 0 applied, 1 not applied (h->st holds the
 * range as it is), 2 outcome unknown, or a code. */
static int change_answer(struct et_sem *h, long long delta, long long bound,
                         int r, json_object *out, const struct et_fail *f)
{
  json_object *ok;

  if (r == SYSSEM_OK) {
    ok = et_get(out, "succeeded");
    if (ok != NULL && json_object_get_boolean(ok)) {
      applied(h, delta, bound, et_i64(out, "header.revision"));
      return 0;
    }
    r = state_load(h, et_get(out, "responses.0.response_range"),
                   et_i64(out, "header.revision"));
    return r == SYSSEM_OK ? 1 : r;
  }
  if (r == ET_ANSWER && f->grpc == 5) {
    /* "requested lease not found": the lease ended on the server. */
    et_session_fail(h->sess);
    return 1;
  }
  if (r == ET_ANSWER || f->oom)
    return et_fail_code(r, f, "txn");
  return f->sent ? 2 : 3;
}

/* Change the count by delta (acquire: -n, waiting until `wait` for the
 * tokens; release: +n) under h->lock. */
static int change(struct et_sem *h, long long delta, et_ms wait)
{
  struct et_watch *w = NULL;
  struct et_rec *g[ET_GUARDS_MAX];
  et_ms contact = et_now(), probe = (et_ms)h->ttl * 500;
  int pending = 0, reopens = 0, r = SYSSEM_OK, ng, fast;

  /* What we saw in an earlier call may guard an attempt (a stale guard
   * only fails), but "no token" is only ever said on what this call read. */
  h->st.fresh = 0;
  for (;;) {
    et_ms now = et_now();
    /* Give up on a cluster that does not answer after a lease time, or
     * the caller's wait; never while a change may be applied unknown to
     * us: that is settled first, or the lease is lost. */
    et_ms until = contact + (et_ms)h->ttl * 1000;
    json_object *t, *out = NULL;
    struct et_fail f;
    long long v, bound;

    if (!pending && wait < until && delta < 0)
      until = wait > now ? wait : now;
    if (atomic_load(&h->lost)) {
      r = lost_code();
      break;
    }
    if (pending && (h->base.flags & SYSSEM_NO_UNDO) && h->sess != NULL &&
        et_session_lost(h->sess)) {
      /* A change of INITIAL may have been applied, and the record that
       * would tell is gone with the lease: nobody can know. */
      mark_lost(h);
      r = et_core->note_text(SYSSEM_ELOST, "lease",
                                "expired before a lost answer was settled");
      break;
    }
    r = bind_session(h, until);
    if (r != SYSSEM_OK)
      break;
    if (!h->st.valid) {
      r = read_state(h, pending ? atomic_load(&h->sess->deadline) : until);
      if (r != SYSSEM_OK) {
        if (r == SYSSEM_EUNAVAIL && (pending || et_now() < until))
          continue;
        break;
      }
      contact = et_now();
    }
    r = examine(h, &pending, &reopens, until, 1);
    if (r == 2) {
      r = SYSSEM_OK;
      break;
    }
    if (r == 1) {
      continue;
    }
    if (r != SYSSEM_OK)
      break;
    if (pending) {
      /* Not applied: no answer will ever apply it now that we read past
       * it and guard the next attempt by the same record revision. */
      pending = 0;
    }
    v = state_value(&h->st);
    if (delta < 0 && v < -delta) {
      int wr;

      if (!h->st.fresh) {
        h->st.valid = 0;
        continue;
      }
      if (now >= wait) {
        r = et_core->note_text(SYSSEM_ETIMEDOUT, "acquire",
                                  "no token in time");
        break;
      }
      if (w == NULL) {
        w = et_watch_start(h->c, h->pfx, h->pfx_end, h->st.rev + 1);
        if (w == NULL) {
          r = oom();
          break;
        }
      }
      pthread_mutex_unlock(&h->lock);
      wr = et_watch_wait(w, wait < now + probe ? wait : now + probe,
                         h->sess ? h->sess->wake[0] : -1);
      pthread_mutex_lock(&h->lock);
      if (wr == SYSSEM_OK) {
        et_watch_drain(w, state_event, h);
        contact = et_now();
      } else if (wr == SYSSEM_ETIMEDOUT && et_now() >= wait) {
        r = et_core->note_text(SYSSEM_ETIMEDOUT, "acquire",
                                  "no token in time");
        break;
      } else if (wr != 1) {
        /* The probe time passed, or the watch broke: read again. */
        h->st.valid = 0;
        if (wr == ET_NOREPLY) {
          et_watch_stop(w);
          w = NULL;
        }
      }
      continue;
    }
    /* A release within BOUND needs nothing else; past it, the exact count
     * (read in this call) decides, and sets BOUND anew. */
    fast = delta > 0 && bound_known(&h->st) && h->st.bound + delta <= ET_MAX;
    if (delta > 0 && !fast) {
      if (!h->st.fresh) {
        h->st.valid = 0;
        continue;
      }
      if (v + delta > ET_MAX) {
        r = et_core->note_text(SYSSEM_EOVERFLOW, "release",
                               "count would pass the maximum");
        break;
      }
    }
    ng = fast ? 0 : guards(h, v, delta, g);
    if (ng < 0) {
      r = et_core->note_text(SYSSEM_ENOSPC, "txn",
                                "too many processes hold nets of this "
                                "semaphore to guard the change");
      break;
    }
    bound = fast ? h->st.bound + delta : delta > 0 ? bound_after(h, delta) : 0;
    t = change_txn(h, delta, g, ng, !fast, bound);
    if (t == NULL) {
      r = oom();
      break;
    }
    r = et_call(h->c, "/v3/kv/txn", t, pending ? atomic_load(&h->sess->deadline)
                                               : until,
                0, &out, &f);
    json_object_put(t);
    r = change_answer(h, delta, bound, r, out, &f);
    json_object_put(out);
    if (r == 0) {
      r = SYSSEM_OK;
      break;
    }
    if (r < 0)
      break;
    if (r == 1) {
      contact = et_now();
      continue;
    }
    /* No answer. Sent: applied or not, the next read tells. Not sent:
     * try again while the cluster has time to come back. */
    h->st.valid = 0;
    if (r == 2)
      pending = 1;
    else if (et_now() >= until) {
      r = et_fail_code(ET_NOREPLY, &f, "txn");
      break;
    }
  }
  et_watch_stop(w);
  return r;
}

/* The hot operations' common entry: the handle's lock, the fork check,
 * the sticky loss. */
static int enter(struct et_sem *h)
{
  adopt(h);
  if (h->c == NULL)
    return et_core->note_text(SYSSEM_ENOMEM, "etcd", "out of memory");
  pthread_mutex_lock(&h->lock);
  return SYSSEM_OK;
}

static int op(syssem_t *base, long long delta, et_ms wait, const char *fn)
{
  struct et_sem *h = (struct et_sem *)base;
  int r = enter(h);

  if (r == SYSSEM_OK) {
    r = change(h, delta, wait);
    pthread_mutex_unlock(&h->lock);
  }
  return et_core->record(fn, r);
}

static int et_acquire(syssem_t *base)
{
  return op(base, -1, ET_NEVER, "syssem_acquire");
}

static int et_try_acquire(syssem_t *base, long timeout_ms)
{
  return op(base, -1, et_now() + timeout_ms, "syssem_try_acquire");
}

static int et_release(syssem_t *base, int n)
{
  return op(base, n, 0, "syssem_release");
}

static int et_value(syssem_t *base, int *value)
{
  struct et_sem *h = (struct et_sem *)base;
  int r = enter(h), pending = 0, reopens = 0;
  long long v;

  if (r != SYSSEM_OK)
    return r;
  for (;;) {
    et_ms until = et_now() + (et_ms)h->ttl * 1000;

    if (atomic_load(&h->lost)) {
      r = lost_code();
      break;
    }
    if (h->sess != NULL && h->net != 0 && et_session_lost(h->sess)) {
      mark_lost(h);
      r = lost_code();
      break;
    }
    r = read_state(h, until);
    if (r == SYSSEM_OK)
      r = examine(h, &pending, &reopens, until, 0);
    if (r != 1)
      break;
  }
  if (r == SYSSEM_OK) {
    v = state_value(&h->st);
    *value = v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
  }
  pthread_mutex_unlock(&h->lock);
  return r;
}

/* Close and remove -------------------------------------------------------- */

static void et_close(syssem_t *base, int remove)
{
  struct et_sem *h = (struct et_sem *)base;

  (void)remove; /* never the owner: an etcd semaphore stays */
  if (h->pid == (unsigned long)getpid()) {
    if (h->sess != NULL && h->net != 0 && !atomic_load(&h->lost)) {
      /* Our record keeps what we hold until this process ends, as
       * System V's undo does: the session stays with it. */
      unlist(h);
    } else {
      unbind(h);
    }
    et_cluster_put(h->c);
    pthread_mutex_destroy(&h->lock);
  }
  if (h->lostfd[0] >= 0) {
    close(h->lostfd[0]);
    close(h->lostfd[1]);
  }
  state_clear(&h->st);
  free(h->st.r);
  free(h->rec);
  free(h->pfx);
  free(h->pfx_end);
  free(h->init_key);
  free(h->bound_key);
  free(h->rec_pfx);
}

static int et_remove(const char *native, int legacy, int proj_id)
{
  struct et_sem h;
  struct syssem__etcd_key k;
  char why[160];
  et_ms until;
  int r, bad = 0;

  (void)legacy;
  (void)proj_id;
  memset(&h, 0, sizeof h);
  r = syssem__etcd_key_parse(native, strlen(native), &k, why, sizeof why);
  if (r != SYSSEM_OK)
    return r == SYSSEM_EKEY ? et_core->note_text(r, "etcd key", why) : r;
  h.ttl = k.ttl ? k.ttl : ET_TTL_DEFAULT;
  h.c = et_cluster_get(&k, &r);
  if (r == SYSSEM_OK)
    r = names(&h, &k);
  syssem__etcd_key_free(&k);
  until = et_now() + (et_ms)h.ttl * 1000;
  while (r == SYSSEM_OK) {
    json_object *t = txn_new(), *del = range_req(h.pfx, h.pfx_end), *out = NULL;
    struct et_fail f;

    add(t, "compare", cmp(h.init_key, NULL, "CREATE", "GREATER", 0), &bad);
    add(t, "success", op_of("request_delete_range", del), &bad);
    if (t == NULL || bad) {
      json_object_put(t);
      r = oom();
      break;
    }
    r = et_call(h.c, "/v3/kv/txn", t, until, 0, &out, &f);
    json_object_put(t);
    if (r == SYSSEM_OK) {
      json_object *ok = et_get(out, "succeeded");

      if (ok == NULL || !json_object_get_boolean(ok))
        r = et_core->note_text(SYSSEM_ENOENT, "txn",
                                  "no such semaphore on the cluster");
      json_object_put(out);
      break;
    }
    if (r == ET_ANSWER || !f.sent || et_now() >= until) {
      r = et_fail_code(r, &f, "txn");
      break;
    }
    /* The answer was lost: gone now is what was asked for. */
    r = read_state(&h, until);
    if (r == SYSSEM_OK && !h.st.have_init)
      break;
  }
  state_clear(&h.st);
  free(h.st.r);
  free(h.pfx);
  free(h.pfx_end);
  free(h.init_key);
  free(h.bound_key);
  free(h.rec_pfx);
  et_cluster_put(h.c);
  return r;
}

static int et_lost_fd(syssem_t *base, int *fd)
{
  struct et_sem *h = (struct et_sem *)base;
  int r = SYSSEM_OK;

  adopt(h);
  pthread_mutex_lock(&et_lock);
  if (h->lostfd[0] < 0) {
    if (pipe2(h->lostfd, O_CLOEXEC | O_NONBLOCK) != 0) {
      h->lostfd[0] = h->lostfd[1] = -1;
      r = et_core->note(SYSSEM_ENOSPC, "pipe", errno);
    } else if (atomic_load(&h->lost)) {
      ssize_t w = write(h->lostfd[1], "x", 1);
      (void)w;
    }
  }
  if (r == SYSSEM_OK)
    *fd = h->lostfd[0];
  pthread_mutex_unlock(&et_lock);
  return r;
}

static const syssem__backend_t et_backend = {
  .id = SYSSEM_BACKEND_ETCD,
  .name = "etcd",
  .handle_size = sizeof(struct et_sem),
  .max_value = ET_MAX,
  .native_name = et_native_name,
  .open = et_open,
  .close = et_close,
  .acquire = et_acquire,
  .try_acquire = et_try_acquire,
  .release = et_release,
  .value = et_value,
  .remove = et_remove,
  .lost_fd = et_lost_fd,
};

/* The module's entry ----------------------------------------------------------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;

static void at_exit(void)
{
  et_session_exit();
}

static void init(void)
{
  /* libcurl first: its TLS library registers its own exit handler, which
   * must run after ours (handlers run in reverse order). */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return;
  if (et_session_setup() != 0 || atexit(at_exit) != 0)
    return;
  ready = 1;
}

__attribute__((visibility("default"))) const syssem__backend_t *
syssem__module_entry(const syssem__core_t *core);

const syssem__backend_t *syssem__module_entry(const syssem__core_t *core)
{
  if (core == NULL || strcmp(core->version, SYSSEM_VERSION_STRING) != 0)
    return NULL;
  et_core = core;
  pthread_once(&once, init);
  return ready ? &et_backend : NULL;
}
