/*
 * Tests of the syssem tool: real processes on real semaphores, the tool run
 * as a user would run it. The tool's path comes in $SYSSEM_TOOL, the backend
 * in $SYSSEM_BACKEND (meson runs this once per backend).
 *
 * The commands that `syssem run` runs are this program itself, in helper
 * mode (`test_tool --helper WHAT ...`), so that they can tell the test what
 * they do through a pipe or a log file.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unix_object.h"

#if defined(__linux__)
# include <sys/prctl.h>
#endif

/* ---- helper mode: the commands run under `syssem run` -------------------- */

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
  caught = sig;
}

static void nap_ms(long ms)
{
  struct timespec t;

  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&t, &t) != 0 && errno == EINTR)
    ;
}

static void put(int fd, const char *fmt, long v)
{
  char line[64];
  int n = snprintf(line, sizeof line, fmt, v);

  if (write(fd, line, (size_t)n) != n)
    _exit(98);
}

/* log FILE: append "start PID", hold on a moment, append "end PID".
 * hold FD: write our pid to FD and wait to be killed.
 * sigwait FD: write "ready" to FD, wait for HUP, INT or TERM, exit 100+sig.
 * exit N: exit with status N.   kill SIG: die of signal SIG. */
static int helper(int argc, char **argv)
{
  const char *what = argv[0];
  int fd = argc > 1 ? atoi(argv[1]) : -1;
  sigset_t set, none;
  struct sigaction sa;

  alarm(30); /* whatever happens, no helper outlives the test for long */
  if (strcmp(what, "exit") == 0)
    return fd;
  if (strcmp(what, "kill") == 0) {
    signal(fd, SIG_DFL);
    raise(fd);
    return 99;
  }
  if (strcmp(what, "log") == 0) {
    fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
      return 97;
    put(fd, "start %ld\n", (long)getpid());
    nap_ms(40); /* only so that runs can overlap if the tool lets them */
    put(fd, "end %ld\n", (long)getpid());
    return 0;
  }
  if (strcmp(what, "hold") == 0) {
    put(fd, "%ld\n", (long)getpid());
    for (;;)
      pause();
  }
  if (strcmp(what, "sigwait") == 0) {
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    put(fd, "ready %ld\n", (long)getpid());
    sigemptyset(&none);
    while (!caught)
      sigsuspend(&none);
    return 100 + caught;
  }
  return 96;
}

/* ---- running the tool ---------------------------------------------------- */

static const char *tool;        /* $SYSSEM_TOOL                           */
static const char *backend;     /* $SYSSEM_BACKEND: sysv or posix         */
static const char *other;       /* the other Unix backend                 */
static char self[PATH_MAX];     /* this program, for helper commands      */
static char dir[PATH_MAX / 2];  /* a private directory for logs and files */

/* Processes started and not yet reaped; a test's teardown kills them. */
static pid_t live[64];
static int nlive;

static void forget(pid_t pid)
{
  int i;

  for (i = 0; i < nlive; i++)
    if (live[i] == pid)
      live[i] = live[--nlive];
}

/* Start the tool with args (NULL-terminated); its stdout and stderr go to
 * out and err when they are not -1. */
static pid_t spawn(const char *const *args, int out, int err)
{
  static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD };
  char *argv[64];
  sigset_t none;
  size_t i;
  int n = 0;
  pid_t pid;

  argv[n++] = (char *)tool;
  while (*args != NULL && n < 63)
    argv[n++] = (char *)*args++;
  argv[n] = NULL;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
      signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (out >= 0)
      dup2(out, 1);
    if (err >= 0)
      dup2(err, 2);
    execv(tool, argv);
    _exit(125);
  }
  assert_true(nlive < (int)(sizeof live / sizeof live[0]));
  live[nlive++] = pid;
  return pid;
}

/* Wait for pid: its exit status, or 1000 + the signal that killed it. */
static int reap(pid_t pid)
{
  int status;

  while (waitpid(pid, &status, 0) < 0)
    assert_int_equal(errno, EINTR);
  forget(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

struct out {
  int status;
  char out[16384];
  char err[4096];
};

static void slurp(FILE *f, char *buf, size_t size)
{
  size_t n;

  rewind(f);
  n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Run the tool with the arguments of lists (each NULL-terminated, the last
 * list NULL) and capture what it says. Returns its status. */
static int toolv(struct out *o, const char *const *const *lists)
{
  const char *args[64];
  FILE *fo = tmpfile(), *fe = tmpfile();
  int n = 0;

  assert_non_null(fo);
  assert_non_null(fe);
  for (; *lists != NULL; lists++)
    for (const char *const *a = *lists; *a != NULL; a++) {
      assert_true(n < 63);
      args[n++] = *a;
    }
  args[n] = NULL;
  o->status = reap(spawn(args, fileno(fo), fileno(fe)));
  slurp(fo, o->out, sizeof o->out);
  slurp(fe, o->err, sizeof o->err);
  return o->status;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define TOOL(o, ...) toolv((o), (const char *const *const[]){ ARGS(__VA_ARGS__), NULL })
/* The same with options that name the key first (e.g. --native). */
#define TOOLK(o, kopts, ...) \
  toolv((o), (const char *const *const[]){ (kopts), ARGS(__VA_ARGS__), NULL })

static const char *const no_opts[] = { NULL };

/* A key no other test or test run uses. */
static void make_key(char *buf, size_t size, const char *tag)
{
  snprintf(buf, size, "syssem-tool-test-%ld-%s", (long)getpid(), tag);
}

/* The count of key, as `syssem value` tells it. */
static int value_of(const char *const *kopts, const char *key)
{
  struct out o;

  assert_int_equal(TOOLK(&o, kopts, "value", key), 0);
  return atoi(o.out);
}

/* The value of field `name` in `syssem info` output, into buf. */
static void info_field(const struct out *o, const char *name, char *buf,
                       size_t size)
{
  const char *p = strstr(o->out, name), *end;

  assert_non_null(p);
  p += strlen(name);
  while (*p == ' ')
    p++;
  end = strchr(p, '\n');
  assert_non_null(end);
  assert_true((size_t)(end - p) < size);
  memcpy(buf, p, (size_t)(end - p));
  buf[end - p] = '\0';
}

/* Does `syssem list` show an object named native? */
static int listed(const char *native)
{
  char pat[PATH_MAX + 4];
  struct out o;

  assert_int_equal(TOOL(&o, "list"), 0);
  snprintf(pat, sizeof pat, " %s\n", native);
  if (strstr(o.out, pat) != NULL)
    return 1;
  snprintf(pat, sizeof pat, " %s (", native);
  return strstr(o.out, pat) != NULL;
}

/* Remove key with `syssem rm` and check that it was there before and is
 * gone after, in `info` and (when in_list) in `list`. */
static void remove_checked(const char *const *kopts, const char *key,
                           int in_list)
{
  char native[PATH_MAX];
  struct out o;

  assert_int_equal(TOOLK(&o, kopts, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  yes"));
  info_field(&o, "native:", native, sizeof native);
  if (in_list)
    assert_true(listed(native));
  assert_int_equal(TOOLK(&o, kopts, "rm", key), 0);
  assert_int_equal(TOOLK(&o, kopts, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  no"));
  if (in_list)
    assert_false(listed(native));
}

static void rm_key(const char *key)
{
  remove_checked(no_opts, key, 1);
}

/* A pipe whose write end (returned in *w) the helper writes to. */
static int helper_pipe(int *w)
{
  int p[2];

  assert_int_equal(pipe(p), 0);
  *w = p[1];
  return p[0];
}

static void read_line(int fd, char *buf, size_t size)
{
  size_t n = 0;
  ssize_t r;

  while (n + 1 < size) {
    r = read(fd, buf + n, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || buf[n] == '\n')
      break;
    n++;
  }
  buf[n] = '\0';
}

static double now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_usage_errors(void **state)
{
  const char *const bad[][7] = {
    { NULL },
    { "bogus", NULL },
    { "--bogus", NULL },
    { "-b", "bogus", "list", NULL },
    { "--backend", "posix", NULL },
    { "run", NULL },
    { "run", "k", NULL },
    { "run", "k", "--", NULL },
    { "run", "-j", NULL },
    { "run", "-j", "0", "k", "true", NULL },
    { "run", "-j", "x", "k", "true", NULL },
    { "run", "--jobs=", "k", "true", NULL },
    { "run", "-j", "99999999999999999999", "k", "true", NULL },
    { "run", "--timeout", "-1", "k", "true", NULL },
    { "run", "--timeout=abc", "k", "true", NULL },
    { "run", "-n", "2", "k", "true", NULL },
    { "run", "--reset", "k", "true", NULL },
    { "create", NULL },
    { "create", "k", "extra", NULL },
    { "create", "-n", "abc", "k", NULL },
    { "create", "-n", "-3", "k", NULL },
    { "create", "-n", " 3", "k", NULL },
    { "create", "--reset", "--exclusive", "k", NULL },
    { "create", "--timeout", "5", "k", NULL },
    { "create", "--help=x", "k", NULL },
    { "create", "-fh", "k", NULL },
    { "acquire", "k", "--timeout", NULL },
    { "acquire", "-t", "1e3", "k", NULL },
    { "acquire", "--force", "k", NULL },
    { "release", NULL },
    { "release", "k", "x", NULL },
    { "release", "k", "1", "2", NULL },
    { "release", "k", "-1", NULL },
    { "release", "k", "99999999999", NULL },
    { "value", NULL },
    { "value", "a", "b", NULL },
    { "value", "--native", "--legacy", "k", NULL },
    { "value", "-p", "999", "k", NULL },
    { "value", "-p", "", "k", NULL },
    { "value", "--permissions=8", "k", NULL },
    { "value", "-b", "nope", "k", NULL },
    { "value", "--backend", NULL },
    { "value", "-x", "k", NULL },
    { "value", "-j", "2", "k", NULL },
    { "value", "", NULL },
    { "value", "--native", "relative", NULL },
    { "value", "--backend", "posix", "systemv:/nonexistent", NULL },
    { "value", "posix:/a%zz", NULL },
    { "value", "bogus:/x", NULL },
    { "value", "db:main", NULL },
    { "value", "systemv-0x54:/x", NULL },
    { "value", "systemv-0:/x", NULL },
    { "value", "POSIXX:/x", NULL },
    { "value", "posix:///x", NULL },
    { "value", "posix:/x?", NULL },
    { "info", NULL },
    { "rm", NULL },
    { "rm", "a", "b", NULL },
    { "list", "x", NULL },
    { "list", "--native", NULL },
    { "list", "-b", "win32", NULL },
  };
  struct out o;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *const *lists[] = { bad[i], NULL };

    toolv(&o, lists);
    if (o.status != 2 || strncmp(o.err, "syssem: ", 8) != 0 || o.out[0] != '\0')
      fail_msg("case %zu (%s %s ...): status %d, stderr '%s'", i,
               bad[i][0] ? bad[i][0] : "", bad[i][0] && bad[i][1] ? bad[i][1] : "",
               o.status, o.err);
  }
  /* A usage error names the subcommand. */
  TOOL(&o, "value", "--bogus", "k");
  assert_non_null(strstr(o.err, "syssem: value: "));
}

static void test_help_and_version(void **state)
{
  static const char *const subs[] = { "run", "create", "acquire", "release",
                                      "value", "info", "rm", "list" };
  char want[64];
  struct out o;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
    snprintf(want, sizeof want, "Usage: syssem %s ", subs[i]);
    assert_int_equal(TOOL(&o, subs[i], "--help"), 0);
    assert_non_null(strstr(o.out, want));
    assert_int_equal(TOOL(&o, subs[i], "-h"), 0);
    assert_non_null(strstr(o.out, want));
  }
  assert_int_equal(TOOL(&o, "--help"), 0);
  assert_non_null(strstr(o.out, "Usage: syssem "));
  assert_int_equal(TOOL(&o, "--version"), 0);
  assert_non_null(strstr(o.out, "syssem (libsyssem) "));
}

static void test_one_operation_roundtrip(void **state)
{
  char key[128], field[64];
  struct out o;

  (void)state;
  make_key(key, sizeof key, "ops");
  /* Nothing there: nothing is created by looking or by acquire. */
  assert_int_equal(TOOL(&o, "value", key), 1);
  assert_non_null(strstr(o.err, "syssem: value: "));
  assert_non_null(strstr(o.err, "does not exist"));
  assert_int_equal(TOOL(&o, "acquire", key), 1);
  assert_int_equal(TOOL(&o, "release", key), 1);
  assert_int_equal(TOOL(&o, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  no"));

  assert_int_equal(TOOL(&o, "create", "-n", "2", key), 0);
  assert_int_equal(value_of(no_opts, key), 2);
  assert_int_equal(TOOL(&o, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  yes"));
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, backend);
  info_field(&o, "value:", field, sizeof field);
  assert_string_equal(field, "2");

  /* Tokens taken by acquire stay taken after it exits. */
  assert_int_equal(TOOL(&o, "acquire", key), 0);
  assert_int_equal(value_of(no_opts, key), 1);
  assert_int_equal(TOOL(&o, "acquire", "-t", "0", key), 0);
  assert_int_equal(value_of(no_opts, key), 0);
  assert_int_equal(TOOL(&o, "acquire", "--timeout", "0", key), 3);
  assert_non_null(strstr(o.err, "timed out"));
  assert_int_equal(TOOL(&o, "release", key, "2"), 0);
  assert_int_equal(value_of(no_opts, key), 2);
  assert_int_equal(TOOL(&o, "release", key), 0);
  assert_int_equal(value_of(no_opts, key), 3);
  assert_int_equal(TOOL(&o, "release", key, "0"), 0);
  assert_int_equal(value_of(no_opts, key), 3);
  assert_int_equal(TOOL(&o, "release", key, "2147483647"), 1);
  assert_int_equal(value_of(no_opts, key), 3);

  /* create: leave, refuse or reset an existing one. */
  assert_int_equal(TOOL(&o, "create", "-n", "7", key), 0);
  assert_int_equal(value_of(no_opts, key), 3);
  assert_int_equal(TOOL(&o, "create", "--exclusive", key), 1);
  assert_non_null(strstr(o.err, "already exists"));
  assert_int_equal(TOOL(&o, "create", "--reset", "--initial=5", key), 0);
  assert_int_equal(value_of(no_opts, key), 5);

  rm_key(key);
  assert_int_equal(TOOL(&o, "rm", key), 1);
  assert_non_null(strstr(o.err, "syssem: rm: "));
  assert_int_equal(TOOL(&o, "rm", "-f", key), 0);
  assert_int_equal(TOOL(&o, "create", "--exclusive", "-n", "0", key), 0);
  assert_int_equal(value_of(no_opts, key), 0);
  rm_key(key);
}

/* Create a POSIX semaphore by the Qt 6.6 key made, and find the same object
 * by the key seen ("posix:" + its native name): backend, native name and
 * count; then remove it by seen. */
static void posix_uri_roundtrip(const char *made, const char *seen)
{
  char field[PATH_MAX];
  struct out o;

  assert_int_equal(TOOL(&o, "create", "-n", "3", made), 0);
  assert_int_equal(value_of(no_opts, seen), 3);
  assert_int_equal(TOOL(&o, "info", made), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, "posix");
  info_field(&o, "native:", field, sizeof field);
  assert_string_equal(field, seen + strlen("posix:"));
  remove_checked(no_opts, seen, 1);
}

static void test_key_forms(void **state)
{
  char key[128], uri[160], native[PATH_MAX], field[PATH_MAX];
  const char *const backend_opts[] = { "--backend", other, NULL };
  const char *const legacy_opts[] = { "--legacy", NULL };
  const char *const native_opts[] = { "--native", NULL };
  struct out o;

  (void)state;
  make_key(key, sizeof key, "forms");

  /* --backend picks the other backend: a separate object. */
  assert_int_equal(TOOLK(&o, backend_opts, "create", "-n", "2", key), 0);
  assert_int_equal(TOOL(&o, "value", key), 1);
  assert_int_equal(value_of(backend_opts, key), 2);
  assert_int_equal(TOOLK(&o, backend_opts, "info", key), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, other);
  remove_checked(backend_opts, key, 1);

  /* A Qt 6.6 key: its type picks the backend. */
  snprintf(uri, sizeof uri, "posix:/%s-uri", key);
  posix_uri_roundtrip(uri, uri);

  /* --legacy: the same text as a Qt string key. */
  assert_int_equal(TOOLK(&o, legacy_opts, "create", uri), 0);
  assert_int_equal(TOOLK(&o, legacy_opts, "info", uri), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, backend);
  assert_non_null(strstr(o.out, "qipc_systemsem_posixsyssemtooltest"));
  remove_checked(legacy_opts, uri, 1);

  /* --native: a file path (System V) or a POSIX name. */
  if (strcmp(backend, "sysv") == 0)
    snprintf(native, sizeof native, "%s/native-key", dir);
  else
    snprintf(native, sizeof native, "/%s-native", key);
  assert_int_equal(TOOLK(&o, native_opts, "create", "-n", "4", native), 0);
  assert_int_equal(value_of(native_opts, native), 4);
  assert_int_equal(TOOLK(&o, native_opts, "info", native), 0);
  info_field(&o, "native:", field, sizeof field);
  assert_string_equal(field, native);
  /* A System V set with a key file elsewhere is listed by its IPC key. */
  remove_checked(native_opts, native, strcmp(backend, "posix") == 0);
  if (strcmp(backend, "sysv") == 0)
    assert_int_equal(unlink(native), 0); /* the library keeps user files */
}

/* Qt 6.6's reading of a key's type: any ASCII case, N in decimal with
 * leading zeros; text with a scheme that is no Qt type is refused with a
 * message that names the way out, and --legacy takes it as a string key. */
static void test_key_types(void **state)
{
  char key[128], upper[PATH_MAX], lower[PATH_MAX], field[PATH_MAX],
    want[PATH_MAX];
  const char *const legacy_opts[] = { "--legacy", NULL };
  struct out o;

  (void)state;
  make_key(key, sizeof key, "types");
  snprintf(lower, sizeof lower, "posix:/%s", key);
  snprintf(upper, sizeof upper, "POSIX:/%s", key);
  posix_uri_roundtrip(upper, lower);

  /* systemv-084 is systemv-84, whatever the case. */
  snprintf(lower, sizeof lower, "systemv-84:%s/types-file", dir);
  snprintf(upper, sizeof upper, "SystemV-084:%s/types-file", dir);
  assert_int_equal(TOOL(&o, "info", lower), 0);
  info_field(&o, "native:", want, sizeof want);
  assert_int_equal(TOOL(&o, "info", upper), 0);
  info_field(&o, "native:", field, sizeof field);
  assert_string_equal(field, want);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, "sysv");

  /* A scheme that is no type: refused, never silently a string key. */
  assert_int_equal(TOOL(&o, "create", "db:main"), 2);
  assert_non_null(strstr(o.err, "syssem: create: 'db:' "));
  assert_non_null(strstr(o.err, "--legacy"));
  assert_int_equal(TOOL(&o, "create", "systemv-0x54:/x"), 2);
  assert_non_null(strstr(o.err, "'systemv-0x54:'"));
  snprintf(lower, sizeof lower, "db:%s", key);
  assert_int_equal(TOOLK(&o, legacy_opts, "create", lower), 0);
  assert_int_equal(TOOLK(&o, legacy_opts, "info", lower), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, backend);
  remove_checked(legacy_opts, lower, 1);
}

/* Does `syssem list --backend posix` have the line "posix  <value> <want>"? */
static int listed_as(const char *want)
{
  char line[600];
  struct out o;

  assert_int_equal(TOOL(&o, "list", "--backend", "posix"), 0);
  /* No line of the listing may be a piece of a name. */
  assert_null(strstr(o.out, "\nl\n"));
  assert_null(strchr(o.out, 0x1b));
  assert_null(strchr(o.out, 0xff));
  snprintf(line, sizeof line, "\nposix     1 %s\n", want);
  return strstr(o.out, line) != NULL ||
         strncmp(o.out, line + 1, strlen(line + 1)) == 0;
}

/* info and list print every name as one word on one line (syssem(1),
 * NAMES IN OUTPUT): a POSIX name with a line break, a space, a backslash,
 * an escape byte and a C1 control, next to UTF-8 text that stays as it is;
 * and, made by another program (libsyssem takes only UTF-8), a name with a
 * byte outside UTF-8. */
static void test_names_escaped(void **state)
{
  const char *const px_native[] = { "--native", "--backend", "posix", NULL };
  char name[256], want[512], line[600];
  struct out o;
  sem_t *sem;

  (void)state;
  snprintf(name, sizeof name, "/syssem-tool-test-%ld-esc\nl\n x\\\x1b[31m"
           "\xc2\x9b\xc3\xa9", (long)getpid());
  snprintf(want, sizeof want, "/syssem-tool-test-%ld-esc\\x0al\\x0a\\x20x"
           "\\\\\\x1b[31m\\xc2\\x9b\xc3\xa9", (long)getpid());
  assert_int_equal(TOOLK(&o, px_native, "create", name), 0);
  assert_int_equal(TOOLK(&o, px_native, "info", name), 0);
  snprintf(line, sizeof line, "\nnative:  %s\n", want);
  if (strstr(o.out, line) == NULL)
    fail_msg("info printed '%s', not '%s'", o.out, want);
  assert_null(strchr(o.out, 0x1b));
#if defined(__linux__)
  if (!listed_as(want))
    fail_msg("list has no line for '%s'", want);
#endif
  assert_int_equal(TOOLK(&o, px_native, "rm", name), 0);

  snprintf(name, sizeof name, "/syssem-tool-test-%ld-\xff\xc3", (long)getpid());
  snprintf(want, sizeof want, "/syssem-tool-test-%ld-\\xff\\xc3",
           (long)getpid());
  sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  assert_true(sem != SEM_FAILED);
  sem_close(sem);
#if defined(__linux__)
  if (!listed_as(want)) {
    sem_unlink(name);
    fail_msg("list has no line for '%s'", want);
  }
#endif
  assert_int_equal(sem_unlink(name), 0);
}

/* The permission bits of the object behind native. */
static unsigned int mode_of(const char *native)
{
  unsigned int mode = 0;
  uid_t uid;

  assert_int_equal(object_stat(native, strcmp(backend, "sysv") == 0, &uid,
                               &mode), 0);
  return mode;
}

static void test_permissions(void **state)
{
  char key[128], native[PATH_MAX];
  struct out o;

  (void)state;
#if !defined(__linux__)
  skip();
#endif
  make_key(key, sizeof key, "perms");
  assert_int_equal(TOOL(&o, "create", "--permissions", "640", key), 0);
  assert_int_equal(TOOL(&o, "info", key), 0);
  info_field(&o, "native:", native, sizeof native);
  assert_int_equal(mode_of(native), 0640);
  rm_key(key);
  assert_int_equal(TOOL(&o, "run", "-p0604", key, "true"), 0);
  assert_int_equal(TOOL(&o, "info", key), 0);
  info_field(&o, "native:", native, sizeof native);
  assert_int_equal(mode_of(native), 0604);
  rm_key(key);
  assert_int_equal(TOOL(&o, "create", key), 0);
  assert_int_equal(mode_of(native), 0600);
  rm_key(key);
}

/* Six runs of -j jobs at once, each logging its start and end: all ran, and
 * never more than jobs at a time. */
static void run_concurrently(int jobs)
{
  char key[128], log[PATH_MAX], j[16], word[8];
  pid_t pids[6];
  int i, cur = 0, most = 0, starts = 0, ends = 0;
  long pid;
  FILE *f;

  snprintf(j, sizeof j, "%d", jobs);
  make_key(key, sizeof key, jobs == 1 ? "jobs-one" : "jobs-two");
  snprintf(log, sizeof log, "%s/log-%d", dir, jobs);
  for (i = 0; i < 6; i++)
    pids[i] = spawn(ARGS("run", "-j", j, key, "--", self, "--helper", "log", log),
                    -1, -1);
  for (i = 0; i < 6; i++)
    assert_int_equal(reap(pids[i]), 0);

  f = fopen(log, "r");
  assert_non_null(f);
  while (fscanf(f, "%7s %ld", word, &pid) == 2) {
    if (strcmp(word, "start") == 0) {
      starts++;
      if (++cur > most)
        most = cur;
    } else {
      ends++;
      cur--;
      assert_true(cur >= 0);
    }
  }
  fclose(f);
  assert_int_equal(unlink(log), 0);
  assert_int_equal(starts, 6);
  assert_int_equal(ends, 6);
  assert_true(most >= 1);
  assert_true(most <= jobs);
  /* Every token came back. */
  assert_int_equal(value_of(no_opts, key), jobs);
  rm_key(key);
}

static void test_run_jobs_two(void **state)
{
  (void)state;
  run_concurrently(2);
}

static void test_run_jobs_one(void **state)
{
  (void)state;
  run_concurrently(1);
}

/* Reap pid, which must end within ms milliseconds (it is an orphan that we,
 * the subreaper, adopted). Returns its status as reap() does, -1 if it
 * would not end. */
static int reap_within(pid_t pid, int ms)
{
  int status, i;

  for (i = 0; i < ms; i++) {
    pid_t r = waitpid(pid, &status, WNOHANG);

    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    if (r < 0 && errno != EINTR)
      return -1;
    nap_ms(1);
  }
  return -1;
}

static void test_run_killed(void **state)
{
  char key[128], line[64], fdnum[16];
  struct out o;
  pid_t run, cmd;
  int r, w;

  (void)state;
  make_key(key, sizeof key, "killed");
  r = helper_pipe(&w);
  snprintf(fdnum, sizeof fdnum, "%d", w);
  run = spawn(ARGS("run", key, "--", self, "--helper", "hold", fdnum), -1, -1);
  close(w);
  read_line(r, line, sizeof line);
  close(r);
  cmd = (pid_t)atol(line);
  assert_true(cmd > 0);
  /* The command holds the only token. */
  assert_int_equal(value_of(no_opts, key), 0);
  assert_int_equal(kill(run, SIGKILL), 0);
  assert_int_equal(reap(run), 1000 + SIGKILL);
#if defined(__linux__)
  /* The command, now our orphan, died with its run. */
  assert_int_equal(reap_within(cmd, 5000), 1000 + SIGKILL);
#else
  kill(cmd, SIGKILL);
#endif
  if (strcmp(backend, "sysv") == 0) {
    /* System V undo gave the token back at once. */
    assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 0);
  } else {
    /* POSIX has no undo: the token is lost until released by hand. */
    assert_int_equal(value_of(no_opts, key), 0);
    assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 3);
    assert_int_equal(TOOL(&o, "release", key), 0);
    assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 0);
  }
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

static void test_run_timeout(void **state)
{
  char key[128], log[PATH_MAX];
  struct out o;
  double t0, spent;

  (void)state;
  make_key(key, sizeof key, "timeout");
  snprintf(log, sizeof log, "%s/log-timeout", dir);
  assert_int_equal(TOOL(&o, "create", "-n", "0", key), 0);
  t0 = now_ms();
  assert_int_equal(TOOL(&o, "run", "--timeout", "200", key, "--", self,
                        "--helper", "log", log), 3);
  spent = now_ms() - t0;
  assert_true(spent >= 190.0);
  assert_non_null(strstr(o.err, "syssem: run: "));
  assert_non_null(strstr(o.err, "timed out"));
  /* The command never ran. */
  assert_int_equal(access(log, F_OK), -1);
  assert_int_equal(TOOL(&o, "run", "-t", "0", key, "true"), 3);
  assert_int_equal(TOOL(&o, "release", key), 0);
  assert_int_equal(TOOL(&o, "run", "-t", "1000", key, "true"), 0);
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

static void test_run_status(void **state)
{
  char key[128], sig[16];
  struct out o;

  (void)state;
  make_key(key, sizeof key, "status");
  assert_int_equal(TOOL(&o, "run", key, "--", self, "--helper", "exit", "42"),
                   42);
  assert_int_equal(TOOL(&o, "run", key, self, "--helper", "exit", "0"), 0);
  /* A command killed by a signal: 128 + the signal, token back. */
  snprintf(sig, sizeof sig, "%d", SIGKILL);
  assert_int_equal(TOOL(&o, "run", key, "--", self, "--helper", "kill", sig),
                   128 + SIGKILL);
  assert_int_equal(value_of(no_opts, key), 1);
  snprintf(sig, sizeof sig, "%d", SIGTERM);
  assert_int_equal(TOOL(&o, "run", key, "--", self, "--helper", "kill", sig),
                   128 + SIGTERM);
  /* Commands that cannot run: 127 and 126, as shells say. */
  assert_int_equal(TOOL(&o, "run", key, "--", "/nonexistent/command"), 127);
  assert_non_null(strstr(o.err, "syssem: run: /nonexistent/command: "));
  assert_int_equal(TOOL(&o, "run", key, "--", dir), 126);
  /* Options after KEY, and a command that looks like an option. */
  assert_int_equal(TOOL(&o, "run", key, "-j", "3", "--", "true", "-x"), 0);
  assert_int_equal(TOOL(&o, "run", key, "sh", "-c", "exit 5"), 5);
  /* The object was there already: -j 3 did not change it. */
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

static void test_run_signals(void **state)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  char key[128], line[64], fdnum[16];
  size_t i;
  pid_t run;
  int r, w;

  (void)state;
  make_key(key, sizeof key, "signals");
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    r = helper_pipe(&w);
    snprintf(fdnum, sizeof fdnum, "%d", w);
    run = spawn(ARGS("run", key, "--", self, "--helper", "sigwait", fdnum), -1,
                -1);
    close(w);
    read_line(r, line, sizeof line);
    close(r);
    assert_true(strncmp(line, "ready ", 6) == 0);
    assert_int_equal(kill(run, sigs[i]), 0);
    /* The command caught it and exited with 100 + its number. */
    assert_int_equal(reap(run), 100 + sigs[i]);
  }
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

/* Kill and reap whatever a failed test left running. */
static int teardown(void **state)
{
  (void)state;
  while (nlive > 0) {
    kill(live[0], SIGKILL);
    reap(live[0]);
  }
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  return rmdir(dir);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    T(test_usage_errors),
    T(test_help_and_version),
    T(test_one_operation_roundtrip),
    T(test_key_forms),
    T(test_key_types),
    T(test_names_escaped),
    T(test_permissions),
    T(test_run_jobs_two),
    T(test_run_jobs_one),
    T(test_run_killed),
    T(test_run_timeout),
    T(test_run_status),
    T(test_run_signals),
  };
  const char *tmp = getenv("TMPDIR");

  if (argc >= 3 && strcmp(argv[1], "--helper") == 0)
    return helper(argc - 2, argv + 2);
  tool = getenv("SYSSEM_TOOL");
  backend = getenv("SYSSEM_BACKEND");
  if (tool == NULL || backend == NULL) {
    fprintf(stderr, "test_tool: set SYSSEM_TOOL and SYSSEM_BACKEND\n");
    return 2;
  }
  other = strcmp(backend, "sysv") == 0 ? "posix" : "sysv";
  if (realpath(argv[0], self) == NULL) {
    perror("test_tool: realpath");
    return 2;
  }
  snprintf(dir, sizeof dir, "%s/syssem-tool-test-XXXXXX",
           tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    perror("test_tool: mkdtemp");
    return 2;
  }
#if defined(__linux__)
  /* Orphans of our runs come to us, so that we can see them end. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
  return cmocka_run_group_tests(tests, NULL, group_teardown);
}
