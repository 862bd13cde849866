/*
 * Real etcd servers for the tests (cluster.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

static const char *etcd_bin(void)
{
  const char *e = getenv("SYSSEM_TEST_ETCD");

  return e && *e ? e : "etcd";
}

int cluster_available(void)
{
  char cmd[600];

  snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", etcd_bin());
  return system(cmd) == 0;
}

static long long now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap(long ms)
{
  struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

  nanosleep(&t, NULL);
}

/* A port nobody listens on now: the kernel's pick for port 0. */
static int free_port(void)
{
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* Where the servers keep their data: memory when there is a tmpfs, so that
 * fsync costs what it costs on a good disk, not on a shared test machine.
 * The name carries the run's $SYSSEM_TEST_PREFIX, so that a run can tell
 * its own servers (their command lines name the directory) from others'. */
static int make_root(struct etcd_cluster *c)
{
  const char *t = getenv("TMPDIR"), *run = getenv("SYSSEM_TEST_PREFIX");
  struct stat st;

  if (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0)
    t = "/dev/shm";
  else if (t == NULL || *t == '\0')
    t = "/tmp";
  snprintf(c->root, sizeof c->root, "%s/syssem-etcd-%s%sXXXXXX", t,
           run ? run : "", run ? "-" : "");
  return mkdtemp(c->root) != NULL ? 0 : -1;
}

static int run(const char *cmd)
{
  int r = system(cmd);

  if (r != 0)
    fprintf(stderr, "cluster: '%s' failed (%d)\n", cmd, r);
  return r == 0 ? 0 : -1;
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate. */
static int make_certs(struct etcd_cluster *c)
{
  char cmd[4096];
  const char *r = c->root;

  snprintf(cmd, sizeof cmd,
           "cd '%s' && exec >openssl.log 2>&1 && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=syssem-test-ca && "
           "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' >server.ext && "
           "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
           "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
           "-CAcreateserial -days 2 -extfile server.ext -out server.pem && "
           "printf 'extendedKeyUsage=clientAuth\\n' >client.ext && "
           "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout client.key -out client.csr -subj /CN=syssem-client && "
           "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
           "-CAcreateserial -days 2 -extfile client.ext -out client.pem && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           "-nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=other-ca",
           r);
  return run(cmd);
}

static int spawn(struct etcd_cluster *c, int i, int existing)
{
  char name[16], listen_c[64], listen_p[64], cluster[512], log[600];
  char cert[450], key[450], ca[450];
  const char *argv[40];
  const char *scheme = c->tls ? "https" : "http";
  int a = 0, j, fd;
  pid_t pid;

  snprintf(name, sizeof name, "n%d", i);
  snprintf(listen_c, sizeof listen_c, "%s://127.0.0.1:%d", scheme,
           c->node[i].client);
  snprintf(listen_p, sizeof listen_p, "http://127.0.0.1:%d", c->node[i].peer);
  cluster[0] = '\0';
  for (j = 0; j < c->n; j++)
    snprintf(cluster + strlen(cluster), sizeof cluster - strlen(cluster),
             "%sn%d=http://127.0.0.1:%d", j ? "," : "", j, c->node[j].peer);
  snprintf(log, sizeof log, "%s.log", c->node[i].dir);
  snprintf(cert, sizeof cert, "%s/server.pem", c->root);
  snprintf(key, sizeof key, "%s/server.key", c->root);
  snprintf(ca, sizeof ca, "%s/ca.pem", c->root);

  argv[a++] = etcd_bin();
  argv[a++] = "--name";
  argv[a++] = name;
  argv[a++] = "--data-dir";
  argv[a++] = c->node[i].dir;
  argv[a++] = "--listen-client-urls";
  argv[a++] = listen_c;
  argv[a++] = "--advertise-client-urls";
  argv[a++] = listen_c;
  argv[a++] = "--listen-peer-urls";
  argv[a++] = listen_p;
  argv[a++] = "--initial-advertise-peer-urls";
  argv[a++] = listen_p;
  argv[a++] = "--initial-cluster";
  argv[a++] = cluster;
  argv[a++] = "--initial-cluster-state";
  argv[a++] = existing ? "existing" : "new";
  argv[a++] = "--initial-cluster-token";
  argv[a++] = c->root;
  argv[a++] = "--logger";
  argv[a++] = "zap";
  argv[a++] = "--log-level";
  argv[a++] = "warn";
  if (c->tls) {
    argv[a++] = "--cert-file";
    argv[a++] = cert;
    argv[a++] = "--key-file";
    argv[a++] = key;
    if (c->client_auth) {
      argv[a++] = "--client-cert-auth";
      argv[a++] = "--trusted-ca-file";
      argv[a++] = ca;
    }
  }
  argv[a] = NULL;

  fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  pid = fork();
  if (pid < 0) {
    close(fd);
    return -1;
  }
  if (pid == 0) {
    /* The server dies with the test, whatever becomes of the test. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, 1);
    dup2(fd, 2);
    setpgid(0, 0);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(fd);
  c->node[i].pid = pid;
  return 0;
}

struct buf {
  char *p;
  size_t n;
};

static size_t collect(char *d, size_t s, size_t n, void *arg)
{
  struct buf *b = arg;
  char *p = realloc(b->p, b->n + s * n + 1);

  if (p == NULL)
    return 0;
  memcpy(p + b->n, d, s * n);
  b->p = p;
  b->n += s * n;
  p[b->n] = '\0';
  return s * n;
}

char *cluster_post(struct etcd_cluster *c, int i, const char *path,
                   const char *body)
{
  struct buf b = { NULL, 0 };
  char url[200], file[450];
  long code = 0;
  CURL *e = curl_easy_init();

  if (e == NULL)
    return NULL;
  snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", c->tls ? "https" : "http",
           c->node[i].client, path);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  if (body)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  if (c->tls) {
    snprintf(file, sizeof file, "%s/ca.pem", c->root);
    curl_easy_setopt(e, CURLOPT_CAINFO, file);
    snprintf(file, sizeof file, "%s/client.pem", c->root);
    curl_easy_setopt(e, CURLOPT_SSLCERT, file);
    snprintf(file, sizeof file, "%s/client.key", c->root);
    curl_easy_setopt(e, CURLOPT_SSLKEY, file);
  }
  if (curl_easy_perform(e) != CURLE_OK ||
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
      code != 200) {
    free(b.p);
    b.p = NULL;
  }
  curl_easy_cleanup(e);
  return b.p;
}

static int healthy(struct etcd_cluster *c, int i)
{
  char *r = cluster_post(c, i, "/health", NULL);
  int ok = r != NULL && strstr(r, "\"health\":\"true\"") != NULL;

  free(r);
  return ok;
}

static int wait_healthy(struct etcd_cluster *c, int i, long timeout_ms)
{
  long long end = now_ms() + timeout_ms;
  int st;

  while (now_ms() < end) {
    if (healthy(c, i))
      return 0;
    if (waitpid(c->node[i].pid, &st, WNOHANG) == c->node[i].pid) {
      c->node[i].pid = 0;
      return -1;
    }
    nap(50);
  }
  return -1;
}

int cluster_start(struct etcd_cluster *c, int n, int tls, int client_auth)
{
  static int curl_ready;
  int i, tries;

  if (!curl_ready) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ready = 1;
  }
  memset(c, 0, sizeof *c);
  c->n = n;
  c->tls = tls;
  c->client_auth = client_auth;
  if (make_root(c) != 0 || (tls && make_certs(c) != 0)) {
    perror("cluster: temporary directory");
    return -1;
  }
  /* A port picked free may be taken before etcd binds it: try again. */
  for (tries = 0; tries < 5; tries++) {
    int ok = 1;

    c->hosts[0] = '\0';
    for (i = 0; i < n; i++) {
      c->node[i].client = free_port();
      c->node[i].peer = free_port();
      snprintf(c->node[i].dir, sizeof c->node[i].dir, "%s/n%d.%d", c->root,
               i, tries);
      snprintf(c->hosts + strlen(c->hosts), sizeof c->hosts - strlen(c->hosts),
               "%s127.0.0.1:%d", i ? "," : "", c->node[i].client);
    }
    for (i = 0; i < n && ok; i++)
      ok = spawn(c, i, 0) == 0;
    for (i = 0; i < n && ok; i++)
      ok = wait_healthy(c, i, 20000) == 0;
    if (ok)
      return 0;
    for (i = 0; i < n; i++)
      cluster_signal(c, i, SIGKILL);
  }
  fprintf(stderr, "cluster: etcd did not start; logs in %s\n", c->root);
  return -1;
}

void cluster_signal(struct etcd_cluster *c, int i, int sig)
{
  if (c->node[i].pid <= 0)
    return;
  if (sig == SIGKILL)
    kill(c->node[i].pid, SIGCONT);
  kill(c->node[i].pid, sig);
  if (sig == SIGSTOP) {
    /* kill() returns before every thread of the server has stopped; its
     * parent hears when the whole group has. */
    int st;

    while (waitpid(c->node[i].pid, &st, WUNTRACED) < 0 && errno == EINTR)
      ;
  }
  if (sig == SIGKILL) {
    waitpid(c->node[i].pid, NULL, 0);
    c->node[i].pid = 0;
  }
}

int cluster_restart(struct etcd_cluster *c, int i)
{
  if (c->node[i].pid > 0 || spawn(c, i, 1) != 0)
    return -1;
  return wait_healthy(c, i, 20000);
}

void cluster_stop(struct etcd_cluster *c)
{
  char cmd[600];
  int i;

  for (i = 0; i < c->n; i++)
    cluster_signal(c, i, SIGKILL);
  if (c->root[0] && getenv("SYSSEM_TEST_KEEP") == NULL) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->root);
    if (system(cmd) != 0)
      fprintf(stderr, "cluster: could not remove %s\n", c->root);
  }
  c->root[0] = '\0';
}

int cluster_leader(struct etcd_cluster *c, long timeout_ms)
{
  long long end = now_ms() + timeout_ms;
  int i;

  do {
    for (i = 0; i < c->n; i++) {
      json_object *o, *m, *l;
      char *r;
      int me = 0;

      if (c->node[i].pid <= 0)
        continue;
      r = cluster_post(c, i, "/v3/maintenance/status", "{}");
      o = r ? json_tokener_parse(r) : NULL;
      free(r);
      if (o && json_object_object_get_ex(o, "header", &m) &&
          json_object_object_get_ex(m, "member_id", &m) &&
          json_object_object_get_ex(o, "leader", &l))
        me = strcmp(json_object_get_string(m), json_object_get_string(l)) == 0;
      json_object_put(o);
      if (me)
        return i;
    }
    nap(50);
  } while (now_ms() < end);
  return -1;
}

const char *cluster_key(const struct etcd_cluster *c, char *buf, size_t size,
                        const char *path, const char *query)
{
  snprintf(buf, size, "%s://%s/%s%s%s", c->tls ? "etcds" : "etcd", c->hosts,
           path, query && *query ? "?" : "", query ? query : "");
  return buf;
}

static char *b64(const char *s)
{
  static const char t[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s), i, o = 0;
  char *out = malloc((n + 2) / 3 * 4 + 1);
  const unsigned char *p = (const unsigned char *)s;

  if (out == NULL)
    return NULL;
  for (i = 0; i < n; i += 3) {
    unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) |
                 (i + 2 < n ? p[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

/* The range [prefix, prefix with its last byte plus one). */
static json_object *range_of(struct etcd_cluster *c, const char *prefix,
                             int count_only)
{
  char body[1200], *end = strdup(prefix), *k = b64(prefix), *e, *r;
  json_object *o = NULL;
  int i;

  if (end && *end)
    end[strlen(end) - 1]++;
  e = end ? b64(end) : NULL;
  if (k && e) {
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"range_end\":\"%s\"%s}", k,
             e, count_only ? ",\"count_only\":true" : "");
    for (i = 0; i < c->n && o == NULL; i++) {
      if (c->node[i].pid <= 0)
        continue;
      r = cluster_post(c, i, "/v3/kv/range", body);
      o = r ? json_tokener_parse(r) : NULL;
      free(r);
    }
  }
  free(end);
  free(k);
  free(e);
  return o;
}

long cluster_count(struct etcd_cluster *c, const char *prefix)
{
  json_object *o = range_of(c, prefix, 1), *n;
  long v = -1;

  if (o != NULL)
    v = json_object_object_get_ex(o, "count", &n)
            ? strtol(json_object_get_string(n), NULL, 10)
            : 0;
  json_object_put(o);
  return v;
}

long cluster_lease_ttl(struct etcd_cluster *c, const char *prefix)
{
  json_object *o = range_of(c, prefix, 0), *kvs, *lease, *t, *ttl;
  char body[100], *r;
  long v = -1;
  int i;

  if (o && json_object_object_get_ex(o, "kvs", &kvs) &&
      json_object_array_length(kvs) > 0 &&
      json_object_object_get_ex(json_object_array_get_idx(kvs, 0), "lease",
                                &lease)) {
    snprintf(body, sizeof body, "{\"ID\":\"%s\"}",
             json_object_get_string(lease));
    for (i = 0; i < c->n && v < 0; i++) {
      if (c->node[i].pid <= 0)
        continue;
      r = cluster_post(c, i, "/v3/lease/timetolive", body);
      t = r ? json_tokener_parse(r) : NULL;
      free(r);
      if (t && json_object_object_get_ex(t, "TTL", &ttl))
        v = strtol(json_object_get_string(ttl), NULL, 10);
      json_object_put(t);
    }
  }
  json_object_put(o);
  return v;
}
