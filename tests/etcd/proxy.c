/*
 * The lost-reply proxy (proxy.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct proxy {
  int listen_fd, port, target;
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t lock;
  char pattern[64]; /* armed when not empty */
  atomic_int dropped;
  atomic_int requests;
  atomic_int live; /* connection threads running */
};

struct conn {
  struct proxy *p;
  int client, server;
};

static int listen_on(int *port)
{
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int silent_port(int *port)
{
  return listen_on(port);
}

static int connect_to(int port)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

  if (fd < 0)
    return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((unsigned short)port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Whether the request in buf[0..n) is the one armed for, consuming the arm. */
static int hit(struct proxy *p, const char *buf, size_t n)
{
  int yes = 0;

  pthread_mutex_lock(&p->lock);
  if (p->pattern[0] && memmem(buf, n, p->pattern, strlen(p->pattern))) {
    p->pattern[0] = '\0';
    yes = 1;
  }
  pthread_mutex_unlock(&p->lock);
  return yes;
}

static void *pump(void *arg)
{
  struct conn *c = arg;
  struct pollfd f[2];
  char buf[65536];
  int dropping = 0;

  f[0].fd = c->client;
  f[1].fd = c->server;
  f[0].events = f[1].events = POLLIN;
  while (!atomic_load(&c->p->stop)) {
    ssize_t n;

    if (poll(f, 2, 200) <= 0)
      continue;
    if (f[0].revents) {
      n = read(c->client, buf, sizeof buf);
      if (n <= 0)
        break;
      if (hit(c->p, buf, (size_t)n))
        dropping = 1;
      {
        /* A request starts its chunk; a body never holds "POST /v3/". */
        const char *at = buf, *end = buf + n, *f;

        while ((f = memmem(at, (size_t)(end - at), "POST /v3/", 9)) != NULL) {
          atomic_fetch_add(&c->p->requests, 1);
          at = f + 9;
        }
      }
      if (write(c->server, buf, (size_t)n) != n)
        break;
    }
    if (f[1].revents) {
      n = read(c->server, buf, sizeof buf);
      if (n <= 0)
        break;
      if (dropping) {
        /* The server has applied it and answered: the answer never
         * arrives. */
        atomic_fetch_add(&c->p->dropped, 1);
        break;
      }
      if (write(c->client, buf, (size_t)n) != n)
        break;
    }
  }
  close(c->client);
  close(c->server);
  atomic_fetch_sub(&c->p->live, 1);
  free(c);
  return NULL;
}

static void *accepter(void *arg)
{
  struct proxy *p = arg;
  struct pollfd f;

  f.fd = p->listen_fd;
  f.events = POLLIN;
  while (!atomic_load(&p->stop)) {
    struct conn *c;
    pthread_t t;
    int fd;

    if (poll(&f, 1, 200) <= 0)
      continue;
    fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    c = malloc(sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->p = p;
    c->client = fd;
    c->server = connect_to(p->target);
    atomic_fetch_add(&p->live, 1);
    if (c->server < 0 || pthread_create(&t, NULL, pump, c) != 0) {
      atomic_fetch_sub(&p->live, 1);
      if (c->server >= 0)
        close(c->server);
      close(fd);
      free(c);
      continue;
    }
    pthread_detach(t);
  }
  return NULL;
}

struct proxy *proxy_start(int target)
{
  struct proxy *p = calloc(1, sizeof *p);

  if (p == NULL)
    return NULL;
  pthread_mutex_init(&p->lock, NULL);
  p->target = target;
  p->listen_fd = listen_on(&p->port);
  if (p->listen_fd < 0 || pthread_create(&p->thread, NULL, accepter, p) != 0) {
    if (p->listen_fd >= 0)
      close(p->listen_fd);
    free(p);
    return NULL;
  }
  return p;
}

int proxy_port(const struct proxy *p)
{
  return p->port;
}

void proxy_arm(struct proxy *p, const char *pattern)
{
  pthread_mutex_lock(&p->lock);
  strncpy(p->pattern, pattern, sizeof p->pattern - 1);
  pthread_mutex_unlock(&p->lock);
}

int proxy_dropped(struct proxy *p)
{
  return atomic_load(&p->dropped);
}

int proxy_requests(struct proxy *p)
{
  return atomic_load(&p->requests);
}

void proxy_stop(struct proxy *p)
{
  if (p == NULL)
    return;
  atomic_store(&p->stop, 1);
  pthread_join(p->thread, NULL);
  close(p->listen_fd);
  /* Connection threads see stop within a poll period. */
  while (atomic_load(&p->live) > 0)
    usleep(20000);
  pthread_mutex_destroy(&p->lock);
  free(p);
}
