/*
 * Behaviour only Unix has: fork, umask, key files, System V undo, removal
 * underneath, signals. Run once per Unix backend.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "api.h"
#include "objects.h"
#include "syssem_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>

#define ON_SYSV is_backend(SYSSEM_BACKEND_SYSV)
#define ON_ETCD is_backend(SYSSEM_BACKEND_ETCD)

/* Nothing of key is left once s, its creator's handle, is closed; an etcd
 * semaphore is kept for the fleet until syssem_remove(), done here. */
static void close_creator(syssem_t *s, const char *key)
{
  syssem_close(s);
  if (ON_ETCD)
    assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
  assert_false(exists(key));
}

/* The permission bits of the object behind s. */
static unsigned int object_perms(syssem_t *s)
{
  unsigned int mode = 0;
  uid_t uid;

  assert_int_equal(object_stat(syssem_native_key(s), ON_SYSV, &uid, &mode), 0);
  return mode;
}

/* A child that inherited a handle through fork never removes the object. */
static void fork_child_close(void **state)
{
  const char *key = key_for("forkchild");
  syssem_t *s;
  pid_t pid;
  int st;

  (void)state;
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_created(s), 1);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    syssem_close(s);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_true(exists(key));
  assert_int_equal(value_of(s), 1);
  close_creator(s, key);
}

/* The requested permissions are exact whatever the umask, for the object
 * and for the System V key file. */
static void exact_permissions(void **state)
{
  static const mode_t masks[] = { 077, 022, 0 };
  static const unsigned int perms[] = { 0666, 0640, 0604 };
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  struct stat st;
  syssem_t *s;
  size_t i;
  mode_t old;

  (void)state;
  for (i = 0; i < 3; i++) {
    old = umask(masks[i]);
    o.permissions = perms[i];
    assert_int_equal(syssem_open_ex(&s, key_for("perms"), 1, SYSSEM_OPEN, &o),
                     SYSSEM_OK);
    umask(old);
    assert_int_equal(object_perms(s), perms[i]);
    if (ON_SYSV) {
      assert_int_equal(stat(syssem_native_key(s), &st), 0);
      assert_int_equal(st.st_mode & 0777, perms[i] & 0666);
    }
    syssem_close(s);
  }
  /* 0 means 0600. */
  o.permissions = 0;
  assert_int_equal(syssem_open_ex(&s, key_for("perms"), 1, SYSSEM_OPEN, &o),
                   SYSSEM_OK);
  assert_int_equal(object_perms(s), 0600);
  syssem_close(s);
}

/* A symlink planted at the key-file path is refused, its target untouched. */
static void symlink_refused(void **state)
{
  char target[512], link_path[512], key[128];
  struct stat st, before;
  syssem_t *s;
  FILE *f;

  (void)state;
  snprintf(key, sizeof key, "%s", key_for("symlinkref"));
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  snprintf(link_path, sizeof link_path, "%s", syssem_native_key(s));
  syssem_close(s);
  assert_int_equal(lstat(link_path, &st), -1); /* the owner removed it */
  snprintf(target, sizeof target, "%s/target", fixture_dir());
  f = fopen(target, "w");
  assert_non_null(f);
  fputs("precious\n", f);
  fclose(f);
  chmod(target, 0644);
  assert_int_equal(stat(target, &before), 0);
  assert_int_equal(symlink(target, link_path), 0);
  assert_null(syssem_open(key, 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_EKEY);
  assert_null(syssem_open(key, 1, SYSSEM_OPEN_EXISTING));
  assert_int_equal(syssem_last_error(), SYSSEM_EKEY);
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_EKEY);
  assert_int_equal(stat(target, &st), 0);
  assert_int_equal(st.st_mode, before.st_mode);
  assert_int_equal(st.st_size, before.st_size);
  assert_int_equal(st.st_ino, before.st_ino);
  assert_int_equal(lstat(link_path, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  unlink(link_path);
  unlink(target);
}

/* TMPDIR moves legacy key files (System V), canonicalised. */
static void tmpdir_key_files(void **state)
{
  char dir[512], link_dir[512], want[1024], *real;
  const char *scratch = fixture_dir();
  syssem_t *s;

  (void)state;
  snprintf(dir, sizeof dir, "%s/dir", scratch);
  snprintf(link_dir, sizeof link_dir, "%s/link", scratch);
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(symlink(dir, link_dir), 0);
  real = realpath(dir, NULL);
  assert_non_null(real);
  fixture_setenv("TMPDIR", link_dir);
  fixture_key("market", NULL);
  s = open_or_fail("market", 1, SYSSEM_CREATE_NEW);
  snprintf(want, sizeof want,
           "%s/qipc_systemsem_market5c9f73af73334ffe350c60ec076e5744db0ecda3",
           real);
  assert_string_equal(syssem_native_key(s), want);
  syssem_close(s);
  /* An unusable TMPDIR is a key error, and creates nothing. */
  fixture_setenv("TMPDIR", "/nonexistent/dir/for/syssem");
  assert_null(syssem_open("market", 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_EKEY);
  unlink(link_dir);
  assert_int_equal(rmdir(dir), 0); /* empty: the key file went with it */
  free(real);
}

/* Native keys: System V takes a file path, POSIX a "/name". A key file the
 * user made is never deleted; one this handle made goes with the object. */
static void native_keys(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  size_t max = syssem__px_name_max;
  char name[512];
  struct stat st;
  syssem_t *s;
  FILE *f;

  (void)state;
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  if (ON_SYSV) {
    snprintf(name, sizeof name, "%s/native", fixture_dir());
    fixture_key(name, &o);
    assert_int_equal(syssem_open_ex(&s, name, 2, SYSSEM_OPEN, &o), SYSSEM_OK);
    assert_string_equal(syssem_native_key(s), name);
    assert_int_equal(stat(name, &st), 0);
    syssem_close(s);
    assert_int_equal(stat(name, &st), -1); /* ours: removed */
    f = fopen(name, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(syssem_open_ex(&s, name, 2, SYSSEM_OPEN, &o), SYSSEM_OK);
    assert_int_equal(syssem_created(s), 1);
    syssem_close(s);
    assert_int_equal(stat(name, &st), 0); /* the user's: kept */
    assert_int_equal(syssem_open_ex(&s, name, 0, SYSSEM_OPEN_EXISTING, &o),
                     SYSSEM_ENOENT); /* but the set is gone */
    unlink(name);
    /* Relative paths are not native System V keys. */
    assert_int_equal(syssem_open_ex(&s, "relative/path", 1, SYSSEM_OPEN, &o),
                     SYSSEM_EKEY);
  } else {
    snprintf(name, sizeof name, "/%snative", test_tag);
    fixture_key(name, &o);
    assert_int_equal(syssem_open_ex(&s, name, 2, SYSSEM_OPEN, &o), SYSSEM_OK);
    assert_string_equal(syssem_native_key(s), name);
    syssem_close(s);
    memset(name, 'a', sizeof name);
    name[0] = '/';
    memcpy(name + 1, test_tag, strlen(test_tag));
    name[max + 1] = '\0'; /* "/" + the system's limit: the longest */
    fixture_key(name, &o);
    assert_int_equal(syssem_open_ex(&s, name, 1, SYSSEM_CREATE_NEW, &o),
                     SYSSEM_OK);
    syssem_close(s);
    name[max + 1] = 'a';
    name[max + 2] = '\0';
    assert_int_equal(syssem_open_ex(&s, name, 1, SYSSEM_OPEN, &o), SYSSEM_EKEY);
    assert_int_equal(syssem_open_ex(&s, "noslash", 1, SYSSEM_OPEN, &o),
                     SYSSEM_EKEY);
    assert_int_equal(syssem_open_ex(&s, "/a/b", 1, SYSSEM_OPEN, &o),
                     SYSSEM_EKEY);
    assert_int_equal(syssem_open_ex(&s, "/", 1, SYSSEM_OPEN, &o), SYSSEM_EKEY);
    assert_int_equal(syssem_open_ex(&s, "/..", 1, SYSSEM_OPEN, &o),
                     SYSSEM_EKEY);
  }
}

/* URI keys pick the backend by type, whatever SYSSEM_BACKEND says. */
static void uri_keys(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char uri[600], path[512];
  syssem_t *s;

  (void)state;
  o.keyform = SYSSEM_KEYFORM_URI;
  snprintf(uri, sizeof uri, "posix:/%suri%%20x?legacyKey=abc", test_tag);
  fixture_key(uri, &o);
  assert_int_equal(syssem_open_ex(&s, uri, 1, SYSSEM_OPEN, &o), SYSSEM_OK);
  assert_int_equal(syssem_backend(s), SYSSEM_BACKEND_POSIX);
  snprintf(path, sizeof path, "/%suri x", test_tag);
  assert_string_equal(syssem_native_key(s), path);
  syssem_close(s);

  snprintf(path, sizeof path, "%s/uri", fixture_dir());
  snprintf(uri, sizeof uri, "systemv-84:%s", path);
  fixture_key(uri, &o);
  assert_int_equal(syssem_open_ex(&s, uri, 3, SYSSEM_OPEN, &o), SYSSEM_OK);
  assert_int_equal(syssem_backend(s), SYSSEM_BACKEND_SYSV);
  assert_string_equal(syssem_native_key(s), path);
  {
    /* Project id 84 names the set, not the legacy keys' id. */
    key_t k = ftok(path, 84);
    int id = semget(k, 1, 0);
    assert_true(id >= 0);
    assert_int_equal(semctl(id, 0, GETVAL), 3);
    assert_int_equal(sysv_id_of(path), -1);
  }
  syssem_close(s);

  assert_int_equal(syssem_open_ex(&s, "windows:Local\\x", 1, SYSSEM_OPEN, &o),
                   SYSSEM_ENOSYS);
  assert_int_equal(syssem_open_ex(&s, "posix:/bad%zz", 1, SYSSEM_OPEN, &o),
                   SYSSEM_EKEY);
  assert_int_equal(syssem_open_ex(&s, "nonsense:/x", 1, SYSSEM_OPEN, &o),
                   SYSSEM_EKEY);
  o.backend = SYSSEM_BACKEND_SYSV;
  assert_int_equal(syssem_open_ex(&s, "posix:/x", 1, SYSSEM_OPEN, &o),
                   SYSSEM_EINVAL);
}

/* Removal underneath: System V reopens by key and goes on; POSIX keeps the
 * unlinked object, which stays valid for the handles that have it. */
static void removed_underneath(void **state)
{
  const char *key = key_for("underneath");
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 2, SYSSEM_OPEN);
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
  assert_false(exists(key));
  if (ON_SYSV || ON_ETCD) {
    /* The next call recreates it with this handle's initial count. */
    assert_int_equal(value_of(s), 2);
    assert_int_equal(syssem_created(s), 1);
    assert_int_equal(syssem_acquire(s), SYSSEM_OK);
    p = helper_open(key, 0, "open_existing", "ok 0");
    helper_do(p, "value", "value 1");
    helper_quit(p);
    assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    /* And again, from another process, while this one waits. */
    assert_int_equal(syssem_acquire(s), SYSSEM_OK);
    assert_int_equal(syssem_acquire(s), SYSSEM_OK);
    p = helper_open(key, 0, "open_existing", "ok 0");
    helper_do(p, "close", "ok");
    helper_quit(p);
    assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
    assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  } else {
    assert_int_equal(value_of(s), 1);
    assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    assert_int_equal(value_of(s), 2);
    assert_false(exists(key));
  }
  close_creator(s, key);
}

/* System V undo works both ways: a dead process's releases are taken back
 * too; SYSSEM_NO_UNDO turns it off. */
static void undo_rules(void **state)
{
  const char *key = key_for("undo");
  char cmd[256];
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  p = helper_open(key, 0, "open", "ok 0");
  helper_do(p, "release 3", "ok");
  assert_int_equal(value_of(s), 3);
  proc_kill(p);
  proc_wait(p);
  assert_int_equal(value_of(s), 0);

  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  p = helper_start();
  snprintf(cmd, sizeof cmd, "open %s 0 open noundo", key);
  helper_do(p, cmd, "ok 0");
  helper_do(p, "acquire", "acquiring");
  helper_do(p, "value", "ok");
  proc_kill(p);
  proc_wait(p);
  assert_int_equal(value_of(s), 0); /* no undo: the token stays taken */
  syssem_close(s);
}

/* Signals without SA_RESTART interrupt the OS call; the library retries and
 * neither acquire nor a timed wait returns early or fails. */
static volatile sig_atomic_t hits;

static void on_signal(int sig)
{
  (void)sig;
  hits++;
}

struct storm {
  pthread_t target;
  volatile int stop;
};

static void *storm_body(void *arg)
{
  struct storm *st = arg;
  struct timespec nap = { 0, 2000000L };

  while (!st->stop) {
    pthread_kill(st->target, SIGUSR1);
    nanosleep(&nap, NULL);
  }
  return NULL;
}

static void signals_retried(void **state)
{
  const char *key = key_for("signals");
  struct sigaction sa, old;
  struct storm st;
  pthread_t th;
  syssem_t *s;
  proc_t *p;
  long long t0, dt;

  (void)state;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  st.target = pthread_self();
  st.stop = 0;
  hits = 0;
  assert_int_equal(pthread_create(&th, NULL, storm_body, &st), 0);
  t0 = proc_now_ms();
  assert_int_equal(syssem_try_acquire(s, 400), SYSSEM_ETIMEDOUT);
  dt = proc_now_ms() - t0;
  assert_true(dt >= 399);
  assert_true(dt < 400 + PROMPT_MS);
  assert_true(hits > 10);
  /* A blocked acquire survives the storm and returns on the release. */
  p = helper_open(syssem_key(s), 0, "open", "ok 0");
  helper_do(p, "try 300", "err -8");
  hits = 0;
  proc_send(p, "release 1");
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  st.stop = 1;
  pthread_join(th, NULL);
  {
    char line[64];
    assert_int_equal(proc_read(p, line, sizeof line, PROMPT_MS), 0);
    assert_string_equal(line, "ok");
  }
  helper_quit(p);
  sigaction(SIGUSR1, &old, NULL);
  syssem_close(s);
  if (ON_ETCD)
    assert_int_equal(syssem_remove(key, NULL), SYSSEM_OK);
}

/* The POSIX name of a legacy key, as Qt names it: on Apple systems (Qt 6.4
 * and later) a slash and the first 29 hex digits of the SHA-1 of the key's
 * UTF-8, whatever the key's length; elsewhere a slash and the stem, which
 * must fit the C library's limit. The Apple vectors were computed apart
 * from this library, with Qt's rule and another SHA-1. Names only: nothing
 * is opened. */
static const char *const px_legacy[][2] = {
#if SYSSEM__APPLE
  { "market", "/5c9f73af73334ffe350c60ec076e5" },
  { "org.example.myapp-12345", "/63823d3c0284aac121bacc312c412" },
  { "12345", "/8cb2237d0679ca88db6464eac60da" },
  { "Gr\xc3\xbc\xc3\x9f" "e", "/f649751d6e1bb46f8c86a8e030023" },
  { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x82\xad\xe3\x83\xbc",
    "/622460bd575657f85980a793b966d" },
  { "\xf0\x9f\x99\x82 smile \xe2\x98\x83", "/5f9bf5085801488100fdf3fb446e6" },
#else
  { "market", "/qipc_systemsem_market5c9f73af73334ffe350c60ec076e5744db0ecda3" },
  { "12345", "/qipc_systemsem_8cb2237d0679ca88db6464eac60da96345513964" },
#endif
};

static void posix_legacy_names(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char name[SYSSEM_NATIVE_MAX], *key;
  size_t i;
  int r;

  (void)state;
  o.backend = SYSSEM_BACKEND_POSIX;
  for (i = 0; i < sizeof px_legacy / sizeof px_legacy[0]; i++) {
    assert_int_equal(syssem_native_name(px_legacy[i][0], &o, NULL, name,
                                        sizeof name), SYSSEM_OK);
    assert_string_equal(name, px_legacy[i][1]);
  }
  /* The longest key: a name on Apple systems (its hash), a key error that
   * names the limit elsewhere. */
  key = malloc(SYSSEM__KEY_MAX + 1);
  assert_non_null(key);
  memset(key, 'x', SYSSEM__KEY_MAX);
  key[SYSSEM__KEY_MAX] = '\0';
  r = syssem_native_name(key, &o, NULL, name, sizeof name);
  free(key);
  if (SYSSEM__APPLE) {
    assert_int_equal(r, SYSSEM_OK);
    assert_string_equal(name, "/0494dc592da04a1753223918ea73b");
  } else {
    assert_int_equal(r, SYSSEM_EKEY);
    assert_non_null(strstr(syssem_last_error_message(), "251 bytes"));
  }
}

/* A native POSIX name over the system's limit is a key error whose message
 * says the limit; one at the limit is a name. */
static void posix_name_limit(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char name[SYSSEM_NATIVE_MAX], key[SYSSEM_NATIVE_MAX], want[64];
  size_t max = syssem__px_name_max;

  (void)state;
  o.backend = SYSSEM_BACKEND_POSIX;
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  assert_int_equal(max, SYSSEM__APPLE ? 29 : 251);
  key[0] = '/';
  memset(key + 1, 'n', max);
  key[max + 1] = '\0';
  assert_int_equal(syssem_native_name(key, &o, NULL, name, sizeof name),
                   SYSSEM_OK);
  assert_string_equal(name, key);
  key[max + 1] = 'n';
  key[max + 2] = '\0';
  assert_int_equal(syssem_native_name(key, &o, NULL, name, sizeof name),
                   SYSSEM_EKEY);
  snprintf(want, sizeof want, "%u bytes after the slash", (unsigned)max);
  assert_non_null(strstr(syssem_last_error_message(), want));
}

/* Apple systems cannot read a POSIX count: syssem_value says so plainly
 * and leaves *value alone; the object is intact (docs/portability.md). */
static void posix_value_apple(void **state)
{
  const char *key = key_for("applevalue");
  syssem_t *s = open_or_fail(key, 2, SYSSEM_OPEN);
  int v = 12345;

  (void)state;
  assert_int_equal(syssem_value(s, &v), SYSSEM_ENOSYS);
  assert_int_equal(v, 12345);
  assert_int_equal(syssem_last_error(), SYSSEM_ENOSYS);
  assert_non_null(strstr(syssem_last_error_message(),
                         "macOS cannot read the count"));
  assert_int_equal(syssem_release(s, 3), SYSSEM_OK);
  assert_int_equal(value_of(s), 5); /* read behind the library's back */
  syssem_close(s);
  assert_false(exists(key));
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(fork_child_close),
    TEST(removed_underneath),
    TEST(signals_retried),
    /* Permissions and native names are the OS object's; an etcd semaphore
     * has neither (its keys: tests/etcd). */
    TEST_IF(exact_permissions, not_etcd),
    TEST_IF(native_keys, not_etcd),
    TEST_IF(uri_keys, not_etcd),
    /* POSIX names, made without touching anything: once is enough. */
    TEST_IF(posix_legacy_names, on_posix),
    TEST_IF(posix_name_limit, on_posix),
    TEST_IF(posix_value_apple, value_enosys),
    /* Only System V has key files and undo: the POSIX run does not list
     * these rather than skip them. */
    TEST_IF(symlink_refused, on_sysv),
    TEST_IF(tmpdir_key_files, on_sysv),
    TEST_IF(undo_rules, on_sysv),
  };

  return TEST_MAIN("unix", tests);
}
