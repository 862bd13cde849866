/*
 * Real etcd servers for the tests: started on 127.0.0.1, on free ports, in
 * a temporary directory, and stopped (by pid, every one of them) and
 * removed afterwards. A server dies with the test that started it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_CLUSTER_H
#define SYSSEM_TEST_CLUSTER_H

#include <sys/types.h>

#define CLUSTER_MAX 3

struct etcd_node {
  pid_t pid;          /* 0 when not running */
  int client, peer;   /* ports              */
  char dir[512];      /* its data directory */
};

struct etcd_cluster {
  int n;
  int tls;            /* clients speak TLS, certificates in root  */
  int client_auth;    /* clients must show a certificate          */
  char root[400];     /* the temporary directory of everything    */
  char hosts[200];    /* "127.0.0.1:P1,127.0.0.1:P2,..."          */
  struct etcd_node node[CLUSTER_MAX];
};

/* 1 if etcd can be run here (the etcd binary on PATH or $SYSSEM_TEST_ETCD). */
int cluster_available(void);

/* Start n members (1 or 3), wait until every one is healthy. tls: make a CA,
 * a server certificate for 127.0.0.1 and a client certificate with openssl
 * in root (ca.pem, client.pem, client.key) and serve TLS; client_auth:
 * require client certificates. 0, or -1 with a message on stderr. */
int cluster_start(struct etcd_cluster *c, int n, int tls, int client_auth);

/* Stop every member still running (SIGKILL, reaped) and remove root. */
void cluster_stop(struct etcd_cluster *c);

/* Member i: kill with sig and reap (SIGKILL), stop it and return once all
 * its threads have stopped (SIGSTOP), or just signal it (SIGCONT). */
void cluster_signal(struct etcd_cluster *c, int i, int sig);
/* Start member i again on its data directory; wait until it is healthy.
 * 0 or -1. */
int cluster_restart(struct etcd_cluster *c, int i);
/* Wait until the cluster has a leader that answers; its index, or -1. */
int cluster_leader(struct etcd_cluster *c, long timeout_ms);

/* "etcd[s]://HOSTS/PATH" plus query (may be NULL or ""), in buf. */
const char *cluster_key(const struct etcd_cluster *c, char *buf, size_t size,
                        const char *path, const char *query);

/* The number of keys under prefix, read from the first member that answers;
 * -1 if none does. */
long cluster_count(struct etcd_cluster *c, const char *prefix);

/* Remaining seconds of the lease whose record is the first key under
 * prefix, from etcd itself: -1 if there is none. */
long cluster_lease_ttl(struct etcd_cluster *c, const char *prefix);

/* POST body to path on member i; the answer (malloc'd) or NULL. */
char *cluster_post(struct etcd_cluster *c, int i, const char *path,
                   const char *body);

#endif
