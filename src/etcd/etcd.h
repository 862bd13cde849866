/*
 * Inside the etcd module: the wire (wire.c: etcd's v3 JSON gateway over
 * libcurl, json-c), sessions (session.c: one lease per process and cluster,
 * kept alive by one thread) and the semaphore itself (etcd.c). Nothing here
 * is exported but the module's entry.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_ETCD_H
#define SYSSEM_ETCD_H

#include <pthread.h>
#include <stdatomic.h>

#include <json-c/json.h>

#include "syssem_int.h"

/* The core the module is loaded into: errors are recorded there. */
extern const syssem__core_t *et_core;

/* Milliseconds on CLOCK_MONOTONIC; ET_NEVER for "no deadline". */
typedef long long et_ms;
#define ET_NEVER ((et_ms)1 << 62)
et_ms et_now(void);

/* Default lease time when the key gives none, in seconds. */
#define ET_TTL_DEFAULT 10

/* Wire (wire.c) ------------------------------------------------------------ */

/* A cluster as a key names it: its endpoints, TLS files and a pool of
 * libcurl handles that keep their connections open. One per process and
 * canonical endpoint text; shared by handles and sessions. */
struct et_cluster {
  char *id;          /* canonical "etcd[s]://hosts" plus the TLS files */
  int tls;
  int n;             /* endpoints */
  char **base;       /* "http[s]://host:port" each                     */
  char *cacert, *cert, *keyfile;
  atomic_int next;   /* the endpoint to try first                     */
  pthread_mutex_t lock;
  void *idle[8];     /* CURL *, ready for reuse                       */
  int nidle;
  int refs;          /* under et_lock                                 */
  unsigned long pid; /* a fork child never touches its parent's       */
  struct et_cluster *next_cluster;
};

/* What a failed call found. */
struct et_fail {
  int sent;      /* the request may have reached the cluster          */
  int oom;       /* failed for want of memory, nothing sent           */
  int grpc;      /* etcd's error code when it answered with an error  */
  char msg[200]; /* "endpoint: what happened"                        */
};

/* et_call outcomes besides SYSSEM_OK (an answer, in *out). */
#define ET_ANSWER 1 /* the cluster answered with an error: f->grpc   */
#define ET_NOREPLY 2 /* no answer before the deadline; see f->sent    */

/* Flags of et_call. */
#define ET_RETRY 0x1 /* the request is safe to repeat: do so across
                        endpoints until the deadline                  */

/* POST req (a JSON object, not consumed) to api ("/v3/kv/txn") on the
 * cluster, trying its endpoints in turn until one answers or `until`
 * passes (each endpoint gets at least one try). A request that may have
 * been sent is repeated only with ET_RETRY. gRPC "unavailable" answers
 * (no leader, leader changed, timed out) count as no answer, since a write
 * may still be applied. */
int et_call(struct et_cluster *c, const char *api, json_object *req,
            et_ms until, int flags, json_object **out, struct et_fail *f);

/* Record failure r of et_call in the core as the code it maps to and
 * return that: SYSSEM_EUNAVAIL without an answer, otherwise by etcd's
 * error code. */
int et_fail_code(int r, const struct et_fail *f, const char *what);

/* A watch: one long request whose answer streams the changes of a range
 * from a revision on. */
struct et_watch;
struct et_event {
  int del;            /* a deletion                          */
  const char *key;    /* decoded, NUL-terminated             */
  size_t key_len;
  const char *value;  /* decoded, NUL-terminated ("" if none) */
  long long mod;      /* the revision of the change          */
};
/* Start watching [key, end) from revision `from` on the cluster's preferred
 * endpoint. NULL when out of memory. */
struct et_watch *et_watch_start(struct et_cluster *c, const char *key,
                                const char *end, long long from);
/* Wait until events arrive (SYSSEM_OK), `until` passes
 * (SYSSEM_ETIMEDOUT), wake_fd becomes readable (1), or the watch ends or
 * fails (ET_NOREPLY; start a new one). */
int et_watch_wait(struct et_watch *w, et_ms until, int wake_fd);
/* Hand the events that arrived to fn, in order, and forget them. */
void et_watch_drain(struct et_watch *w,
                    void (*fn)(void *arg, const struct et_event *e), void *arg);
void et_watch_stop(struct et_watch *w);

/* Get the cluster of key k for this process (a reference), or NULL with
 * a code in *r. */
struct et_cluster *et_cluster_get(const struct syssem__etcd_key *k, int *r);
void et_cluster_put(struct et_cluster *c);

/* base64 of len bytes, malloc'd; decode in place (returns the length, or
 * -1 when s is not base64). */
char *et_b64(const void *data, size_t len);
long et_unb64(char *s);

/* JSON helpers: members by path "a.b" ("a.0" for an array's first), int64 fields that proto3 writes as
 * strings (and omits when 0). */
json_object *et_get(json_object *o, const char *path);
long long et_i64(json_object *o, const char *path);
json_object *et_str(const char *s);    /* a JSON string         */
json_object *et_key(const char *s);    /* a base64 JSON string  */
json_object *et_num(long long v);      /* an int64, as a string */

/* Sessions (session.c) ----------------------------------------------------- */

struct et_sem;

/* One lease of this process on a cluster, with the thread that keeps it
 * alive. The lease holds the records of every handle bound to it; etcd
 * deletes them when it expires. */
struct et_session {
  struct et_cluster *c;
  int ttl;            /* asked for, seconds                            */
  long long lease;    /* its ID                                        */
  char hex[17];       /* ID in hex, for record names                   */
  _Atomic et_ms deadline; /* lost at this time unless renewed (monotonic) */
  atomic_int lost;    /* expired, revoked or not renewed in time       */
  int wake[2];        /* readable once lost: waiters poll it           */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stop;
  int thread_up;
  pthread_t thread;
  int refs;           /* under et_lock: handles bound and records kept */
  unsigned int seq;   /* record names, under et_lock                   */
  unsigned long pid;
  struct et_sem *bound; /* handles bound to it, under et_lock          */
  struct et_session *next_session;
  struct et_session *next_exit;
};

/* The one lock of the registries and of the lists of bound handles. */
extern pthread_mutex_t et_lock;

/* A live session of this process on c with lease time ttl: the one there
 * is, or a new one (one network round trip to grant the lease). A
 * reference; SYSSEM_OK or a code (recorded). */
int et_session_get(struct et_cluster *c, int ttl, et_ms until,
                   struct et_session **out);
void et_session_put(struct et_session *s);
/* 1 if the lease is lost, or its local deadline has passed (the server may
 * hand its tokens out from then on). Marks it lost then. */
int et_session_lost(struct et_session *s);
/* Declare the lease lost: wakes waiters and marks lost every bound handle
 * that holds tokens (et_sem_lost). */
void et_session_fail(struct et_session *s);
/* At exit: revoke this process's leases. */
void et_session_exit(void);
/* Once, at load: the fork handlers. 0 or an errno value. */
int et_session_setup(void);

/* The semaphore (etcd.c) --------------------------------------------------- */

/* Mark h lost because its session was lost while it held tokens (net not
 * 0): its lost descriptor becomes readable. Called under et_lock. */
void et_sem_lost(struct et_sem *h);
/* The handle list of a session (et_sem is opaque outside etcd.c). */
struct et_sem **et_sem_next(struct et_sem *h);

#endif
