/*
 * Sessions: one etcd lease per process, cluster and lease time, holding the
 * records of every handle bound to it, kept alive by one thread; revoked
 * when its last handle goes or the process exits normally.
 *
 * SPDX-License-Identifier: MIT
 *
 * When is a lease lost? etcd's leader deletes it, and with it our records,
 * once a lease time has passed since the last renewal it received; a
 * renewal sent at time t cannot have been received before t, so the server
 * keeps the lease until at least t + TTL. We renew every TTL/3 and call
 * the lease lost at t + TTL - margin (t the sending time of the last
 * renewal the server confirmed), before anyone else can be given our
 * tokens, whatever happened meanwhile: a network partition, a cluster
 * that stopped answering, or a process that was stopped and resumed (the
 * monotonic clock counts the stop). A renewal that comes back without a
 * TTL, or "lease not found", is a loss too.
 */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"

pthread_mutex_t et_lock = PTHREAD_MUTEX_INITIALIZER;
static struct et_session *sessions;

/* The part of the lease time we do not count on: the time to notice and
 * act (a tool kills its child) before etcd may give the tokens away. */
static et_ms margin(int ttl)
{
  et_ms m = (et_ms)ttl * 100;

  return m < 250 ? 250 : m;
}

static void to_timespec(et_ms t, struct timespec *ts)
{
  ts->tv_sec = (time_t)(t / 1000);
  ts->tv_nsec = (long)(t % 1000) * 1000000L;
}

void et_session_fail(struct et_session *s)
{
  struct et_sem *h;
  ssize_t w;

  if (atomic_exchange(&s->lost, 1))
    return;
  w = write(s->wake[1], "x", 1);
  (void)w;
  pthread_mutex_lock(&et_lock);
  for (h = s->bound; h != NULL; h = *et_sem_next(h))
    et_sem_lost(h);
  pthread_mutex_unlock(&et_lock);
}

int et_session_lost(struct et_session *s)
{
  if (atomic_load(&s->lost))
    return 1;
  if (et_now() < atomic_load(&s->deadline))
    return 0;
  et_session_fail(s);
  return 1;
}

/* One renewal. 1 renewed, 0 lost, -1 no answer (try again soon). */
static int renew(struct et_session *s, et_ms *next)
{
  json_object *req = json_object_new_object(), *out = NULL;
  et_ms sent = et_now(), until = atomic_load(&s->deadline);
  struct et_fail f;
  long long ttl;
  int r;

  /* Short tries, so that a stop (close, exit) never waits long for us;
   * the loop tries again soon. */
  if (until > sent + 1000)
    until = sent + 1000;

  if (req == NULL)
    return -1;
  json_object_object_add(req, "ID", et_num(s->lease));
  r = et_call(s->c, "/v3/lease/keepalive", req, until, ET_RETRY, &out, &f);
  json_object_put(req);
  if (r == ET_ANSWER && f.grpc == 5)
    return 0; /* lease not found */
  if (r != SYSSEM_OK)
    return -1;
  ttl = et_i64(out, "result.TTL");
  json_object_put(out);
  if (ttl <= 0)
    return 0; /* expired or revoked: proto3 leaves the 0 out */
  if (ttl > s->ttl)
    ttl = s->ttl;
  if (sent + ttl * 1000 - margin(s->ttl) > atomic_load(&s->deadline))
    atomic_store(&s->deadline, sent + ttl * 1000 - margin(s->ttl));
  *next = sent + ttl * 1000 / 3;
  return 1;
}

static void *keeper(void *arg)
{
  struct et_session *s = arg;
  et_ms next = et_now() + (et_ms)s->ttl * 1000 / 3;
  int lost = 0;

  pthread_mutex_lock(&s->lock);
  while (!s->stop) {
    et_ms now = et_now(), until = atomic_load(&s->deadline);
    struct timespec ts;
    int r;

    if (now >= until) {
      lost = 1;
      break;
    }
    if (now < next) {
      to_timespec(next < until ? next : until, &ts);
      pthread_cond_timedwait(&s->cond, &s->lock, &ts);
      continue;
    }
    pthread_mutex_unlock(&s->lock);
    r = renew(s, &next);
    pthread_mutex_lock(&s->lock);
    if (r == 0) {
      lost = 1;
      break;
    }
    if (r < 0)
      next = et_now() + 200;
  }
  pthread_mutex_unlock(&s->lock);
  if (lost)
    et_session_fail(s);
  return NULL;
}

static int grant(struct et_cluster *c, int ttl, et_ms until, long long *id,
                 int *granted)
{
  json_object *req = json_object_new_object(), *out = NULL;
  struct et_fail f;
  int r;

  if (req == NULL)
    return SYSSEM_ENOMEM;
  json_object_object_add(req, "TTL", et_num(ttl));
  /* A grant whose answer is lost leaves a lease nobody renews: it expires
   * by itself, so repeating is safe. */
  r = et_call(c, "/v3/lease/grant", req, until, ET_RETRY, &out, &f);
  json_object_put(req);
  if (r != SYSSEM_OK)
    return et_fail_code(r, &f, "lease grant");
  *id = et_i64(out, "ID");
  *granted = (int)et_i64(out, "TTL");
  if (*id == 0 || *granted <= 0) {
    json_object *e = et_get(out, "error");
    r = et_core->note_text(SYSSEM_EUNKNOWN, "lease grant",
                              e ? json_object_get_string(e) : "no lease");
  }
  json_object_put(out);
  return r;
}

static void lease_revoke(struct et_session *s, et_ms until)
{
  json_object *req = json_object_new_object(), *out = NULL;
  struct et_fail f;

  if (req == NULL)
    return;
  json_object_object_add(req, "ID", et_num(s->lease));
  if (et_call(s->c, "/v3/lease/revoke", req, until, ET_RETRY, &out, &f) ==
      SYSSEM_OK)
    json_object_put(out);
  json_object_put(req);
}

static void session_free(struct et_session *s)
{
  if (s->wake[0] >= 0)
    close(s->wake[0]);
  if (s->wake[1] >= 0)
    close(s->wake[1]);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  et_cluster_put(s->c);
  free(s);
}

/* The keeper gets no signal: they are the program's. */
static int start_keeper(struct et_session *s)
{
  sigset_t all, old;
  int r;

  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&s->thread, NULL, keeper, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  s->thread_up = r == 0;
  return r;
}

static struct et_session *session_new(struct et_cluster *c, int ttl)
{
  struct et_session *s = calloc(1, sizeof *s);
  pthread_condattr_t ca;

  if (s == NULL)
    return NULL;
  s->wake[0] = s->wake[1] = -1;
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);
  s->c = c;
  s->ttl = ttl;
  s->pid = (unsigned long)getpid();
  s->refs = 1;
  if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    s->c = NULL;
    session_free(s);
    return NULL;
  }
  return s;
}

int et_session_get(struct et_cluster *c, int ttl, et_ms until,
                   struct et_session **out)
{
  unsigned long pid = (unsigned long)getpid();
  struct et_session *s;
  int granted = 0, r;
  et_ms sent;

  pthread_mutex_lock(&et_lock);
  for (s = sessions; s != NULL; s = s->next_session)
    if (s->c == c && s->ttl == ttl && s->pid == pid &&
        !atomic_load(&s->lost) && et_now() < atomic_load(&s->deadline))
      break;
  if (s != NULL)
    s->refs++;
  pthread_mutex_unlock(&et_lock);
  if (s != NULL) {
    *out = s;
    return SYSSEM_OK;
  }

  s = session_new(c, ttl);
  if (s == NULL)
    return et_core->note(SYSSEM_ENOSPC, "pipe", errno);
  sent = et_now();
  r = grant(c, ttl, until, &s->lease, &granted);
  if (r != SYSSEM_OK) {
    s->c = NULL;
    session_free(s);
    return r;
  }
  /* etcd may grant more than asked (its minimum); never count on more
   * than asked. */
  if (granted > ttl)
    granted = ttl;
  atomic_init(&s->deadline, sent + (et_ms)granted * 1000 - margin(ttl));
  snprintf(s->hex, sizeof s->hex, "%016llx", (unsigned long long)s->lease);
  r = start_keeper(s);
  if (r != 0) {
    lease_revoke(s, et_now() + 1000);
    s->c = NULL;
    session_free(s);
    return et_core->note(SYSSEM_ENOSPC, "pthread_create", r);
  }
  pthread_mutex_lock(&et_lock);
  c->refs++; /* the session's own reference */
  s->next_session = sessions;
  sessions = s;
  pthread_mutex_unlock(&et_lock);
  *out = s;
  return SYSSEM_OK;
}

static void stop_keeper(struct et_session *s)
{
  if (!s->thread_up)
    return;
  pthread_mutex_lock(&s->lock);
  s->stop = 1;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  s->thread_up = 0;
}

void et_session_put(struct et_session *s)
{
  struct et_session **pp;

  if (s == NULL)
    return;
  pthread_mutex_lock(&et_lock);
  /* A parent's session in a fork child is the parent's: forget it. */
  if (--s->refs > 0 || s->pid != (unsigned long)getpid()) {
    pthread_mutex_unlock(&et_lock);
    return;
  }
  for (pp = &sessions; *pp != NULL; pp = &(*pp)->next_session)
    if (*pp == s) {
      *pp = s->next_session;
      break;
    }
  pthread_mutex_unlock(&et_lock);
  stop_keeper(s);
  /* Revoking deletes our records at once: the tokens are back now, not
   * after a lease time. */
  if (!atomic_load(&s->lost))
    lease_revoke(s, et_now() + 1000);
  session_free(s);
}

/* A normal exit revokes this process's leases: what it held is given back
 * at once, as System V's undo does. Sessions are not freed: other threads
 * may still be running. */
void et_session_exit(void)
{
  unsigned long pid = (unsigned long)getpid();
  struct et_session *s, *mine = NULL;

  /* Taken off the list first: a keeper that is just failing its session
   * needs et_lock, and is joined below. */
  pthread_mutex_lock(&et_lock);
  for (s = sessions; s != NULL; s = s->next_session)
    if (s->pid == pid) {
      s->refs++; /* never freed from here on */
      s->next_exit = mine;
      mine = s;
    }
  pthread_mutex_unlock(&et_lock);
  for (s = mine; s != NULL; s = s->next_exit) {
    stop_keeper(s);
    if (!atomic_exchange(&s->lost, 1))
      lease_revoke(s, et_now() + 1000);
  }
}

/* fork(): the registries must not be copied while another thread changes
 * them. The child's copies of the parent's sessions and clusters are then
 * never used (their pid is the parent's). */
static void fork_prepare(void)
{
  pthread_mutex_lock(&et_lock);
}

static void fork_done(void)
{
  pthread_mutex_unlock(&et_lock);
}

int et_session_setup(void)
{
  return pthread_atfork(fork_prepare, fork_done, fork_done);
}
