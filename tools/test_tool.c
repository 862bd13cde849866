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
#include <poll.h>
#include <pty.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "objects.h"
#include "syssem_int.h"

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

/* ---- helper mode: process trees that report to a ledger ------------------
 *
 * The ledger is a FIFO that the test reads. Every process of a tree keeps
 * its write end open until it dies, so the test sees end of file exactly
 * when the last of them has ended, and no process outside the tree (the
 * tool, its guardian) ever opens it. Each process writes
 *   "up PID PPID PGID SID"  when it is ready for signals,
 *   "sig PID SIG N"         for each signal SIG it caught (N times),
 * and exits with 100 + the first stop signal it caught. */

static volatile sig_atomic_t got[32]; /* HUP, INT, QUIT, TERM, USR1, CONT */

/* tree-linger: the command ends on a stop signal only once the orphan has
 * caught its own (it says so with SIGUSR1), so that the orphan's signal
 * comes from run's passing on, never from the end of the command. */
static pid_t tell_on_stop;
static int wait_for_usr1;

static void on_signal_count(int sig)
{
  got[sig]++;
}

static void say_line(int fd, const char *fmt, ...)
{
  char line[128];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (write(fd, line, (size_t)n) != n) /* one write: lines never mix */
    _exit(98);
}

/* Catch HUP, INT, QUIT and TERM (and note USR1 and CONT), say "up", and
 * wait. A hard process does not end on SIGTERM: only SIGKILL (or another
 * stop signal) ends it. ready, when >= 0, gets a byte once "up" is
 * written. */
static void serve(int ledger, int hard, int ready)
{
  static const int caught[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
                                SIGCONT };
  struct sigaction sa;
  sigset_t block, none;
  int sig, stop = 0, usr1 = 0, told = 0;
  size_t i;

  alarm(30); /* not inherited through fork: each process sets its own */
  sigemptyset(&block);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal_count;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < sizeof caught / sizeof caught[0]; i++) {
    sigaddset(&block, caught[i]);
    sigaction(caught[i], &sa, NULL);
  }
  sigprocmask(SIG_BLOCK, &block, NULL);
  say_line(ledger, "up %ld %ld %ld %ld\n", (long)getpid(), (long)getppid(),
           (long)getpgrp(), (long)getsid(0));
  if (ready >= 0 && write(ready, "r", 1) != 1)
    _exit(98);
  sigemptyset(&none);
  for (;;) {
    sigsuspend(&none);
    for (sig = 1; sig < 32; sig++) {
      if (got[sig] == 0)
        continue;
      say_line(ledger, "sig %ld %d %d\n", (long)getpid(), sig, (int)got[sig]);
      got[sig] = 0;
      if (sig == SIGUSR1)
        usr1 = 1;
      else if (sig != SIGCONT && stop == 0 && !(hard && sig == SIGTERM))
        stop = sig;
    }
    if (stop != 0 && tell_on_stop > 0 && !told) {
      kill(tell_on_stop, SIGUSR1);
      told = 1;
    }
    if (stop != 0 && (!wait_for_usr1 || usr1))
      _exit(100 + stop);
  }
}

/* A child in a session of its own whose child, orphaned at once, serves:
 * a daemon's double fork, out of the command's process group and session.
 * Returns once the orphan is up. */
static void daemonised(int ledger, int hard)
{
  int p[2];
  char c;
  pid_t mid;

  if (pipe(p) != 0)
    _exit(97);
  mid = fork();
  if (mid == 0) {
    setsid();
    if (fork() == 0)
      serve(ledger, hard, p[1]);
    _exit(0);
  }
  close(p[1]);
  if (read(p[0], &c, 1) != 1)
    _exit(97);
  close(p[0]);
  waitpid(mid, NULL, 0);
}

/* tree LEDGER: the command, a child in its group and a daemonised orphan,
 *   all up until a stop signal; the command exits 100 + that signal.
 * leave LEDGER term|hard: the command leaves a daemonised orphan behind
 *   (which ignores SIGTERM when hard) and exits 7 once the orphan is up.
 * probe PID...: exit 0 if none of these processes exists any more, 50 if
 *   one still does (a zombie included). */
static int tree_helper(const char *what, int argc, char **argv)
{
  int ledger, i;

  if (strcmp(what, "probe") == 0) {
    for (i = 0; i < argc; i++)
      if (kill((pid_t)atol(argv[i]), 0) == 0 || errno != ESRCH)
        return 50;
    return 0;
  }
  ledger = open(argv[0], O_WRONLY);
  if (ledger < 0)
    return 97;
  if (strcmp(what, "tree") == 0 || strcmp(what, "tree-linger") == 0) {
    if (fork() == 0)
      serve(ledger, 0, -1);
    if (strcmp(what, "tree-linger") == 0) {
      tell_on_stop = getpid(); /* for the orphan */
      daemonised(ledger, 0);
      tell_on_stop = 0;
      wait_for_usr1 = 1;
    } else {
      daemonised(ledger, 0);
    }
    serve(ledger, 0, -1);
  }
  if (strcmp(what, "leave") == 0) {
    daemonised(ledger, argc > 1 && strcmp(argv[1], "hard") == 0);
    say_line(ledger, "up %ld %ld %ld %ld\n", (long)getpid(), (long)getppid(),
             (long)getpgrp(), (long)getsid(0));
    return 7;
  }
  return 96;
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
  if (strncmp(what, "tree", 4) == 0 || strcmp(what, "leave") == 0 ||
      strcmp(what, "probe") == 0)
    return tree_helper(what, argc - 1, argv + 1);
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
/* When set, the tool starts in a process group of its own, as a shell with
 * job control starts a job; else in ours. */
static int spawn_own_group;

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
    if (spawn_own_group)
      setpgid(0, 0);
    execv(tool, argv);
    _exit(125);
  }
  if (spawn_own_group)
    setpgid(pid, pid);
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

/* Have the teardown remove key named with the options of a --backend NAME,
 * --native or Qt 6.6 key too. */
static void also_remove(const char *key, const char *backend_name,
                        syssem_keyform_t keyform)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;

  if (backend_name != NULL)
    o.backend = strcmp(backend_name, "sysv") == 0 ? SYSSEM_BACKEND_SYSV
                                                  : SYSSEM_BACKEND_POSIX;
  o.keyform = keyform;
  fixture_key(key, &o);
}

/* A key no other test or test run uses. The teardown removes it, on both
 * backends, if the test did not (the test support's key_for). */
static void make_key(char *buf, size_t size, const char *tag)
{
  snprintf(buf, size, "%s", key_for(tag));
  also_remove(buf, other, SYSSEM_KEYFORM_LEGACY);
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

/* 1 where POSIX semaphores are neither files nor counted: Apple's rules
 * (-Demulate=darwin), under which `value` and `info` cannot tell a POSIX
 * count and `list` cannot look for POSIX names. */
static int apple_posix(const char *backend_name)
{
  return SYSSEM__APPLE && strcmp(backend_name, "posix") == 0;
}

/* The count of key, as `syssem value` tells it. Where the tool cannot read
 * a POSIX count (apple_posix), it must say so and fail; the count then comes
 * from the C library's own sem_getvalue, by the name `info` gives. */
static int value_of(const char *const *kopts, const char *key)
{
  char field[PATH_MAX];
  struct out o;
  sem_t *sem;
  int v = -1;

  if (TOOLK(&o, kopts, "value", key) == 0)
    return atoi(o.out);
  assert_non_null(strstr(o.err, "cannot read the count"));
  assert_int_equal(TOOLK(&o, kopts, "info", key), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_true(apple_posix(field));
  info_field(&o, "value:", field, sizeof field);
  assert_string_equal(field, "? (not available on this platform)");
  info_field(&o, "native:", field, sizeof field);
  sem = sem_open(field, 0);
  assert_true(sem != SEM_FAILED);
  assert_int_equal(sem_getvalue(sem, &v), 0);
  sem_close(sem);
  return v;
}

/* Under Apple's rules `list` cannot look for POSIX names, and says so:
 * on its own it fails with the reason, and so does a listing of every
 * backend, after it has listed System V. */
static void list_refuses_posix(void)
{
  struct out o;

  assert_int_equal(TOOL(&o, "list", "--backend", "posix"), 1);
  assert_non_null(strstr(o.err, "POSIX named semaphores cannot be listed"));
  assert_int_equal(TOOL(&o, "list"), 1);
  assert_non_null(strstr(o.err, "POSIX named semaphores cannot be listed"));
}

/* Does `syssem list` show an object of backend b named native? 1 or 0; -1
 * for a POSIX name under Apple's rules, which list cannot look for (it says
 * so, list_refuses_posix), its listing of System V then asked alone. */
static int listed(const char *b, const char *native)
{
  char pat[PATH_MAX + 4];
  struct out o;

  if (SYSSEM__APPLE) {
    list_refuses_posix();
    if (apple_posix(b))
      return -1;
    assert_int_equal(TOOL(&o, "list", "--backend", "sysv"), 0);
  } else {
    assert_int_equal(TOOL(&o, "list"), 0);
  }
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
  char native[PATH_MAX], b[16];
  struct out o;

  assert_int_equal(TOOLK(&o, kopts, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  yes"));
  info_field(&o, "native:", native, sizeof native);
  info_field(&o, "backend:", b, sizeof b);
  if (in_list)
    assert_int_not_equal(listed(b, native), 0);
  assert_int_equal(TOOLK(&o, kopts, "rm", key), 0);
  assert_int_equal(TOOLK(&o, kopts, "info", key), 0);
  assert_non_null(strstr(o.out, "exists:  no"));
  if (in_list)
    assert_int_not_equal(listed(b, native), 1);
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
  assert_string_equal(field, apple_posix(backend)
                                 ? "? (not available on this platform)"
                                 : "2");

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

  /* A Qt 6.6 key: its type picks the backend. Its name fits every
   * system's limit (29 bytes after the slash on Apple systems). */
  snprintf(uri, sizeof uri, "posix:/%s", key_for("u"));
  also_remove(uri, NULL, SYSSEM_KEYFORM_URI);
  also_remove(uri, NULL, SYSSEM_KEYFORM_LEGACY);
  posix_uri_roundtrip(uri, uri);

  /* --legacy: the same text as a Qt string key. */
  assert_int_equal(TOOLK(&o, legacy_opts, "create", uri), 0);
  assert_int_equal(TOOLK(&o, legacy_opts, "info", uri), 0);
  info_field(&o, "backend:", field, sizeof field);
  assert_string_equal(field, backend);
  info_field(&o, "native:", field, sizeof field);
  if (apple_posix(backend)) {
    /* Qt's Apple name: a slash and 29 hex digits (test_unix has vectors). */
    assert_int_equal(strlen(field), 30);
    assert_int_equal(strspn(field + 1, "0123456789abcdef"), 29);
  } else {
    char want[256];

    snprintf(want, sizeof want, "%sposix%s", SYSSEM__LEGACY_PREFIX, test_tag);
    assert_non_null(strstr(field, want));
  }
  remove_checked(legacy_opts, uri, 1);

  /* --native: a file path (System V) or a POSIX name. */
  if (strcmp(backend, "sysv") == 0)
    snprintf(native, sizeof native, "%s/native-key", dir);
  else
    snprintf(native, sizeof native, "/%s", key_for("n"));
  also_remove(native, NULL, SYSSEM_KEYFORM_NATIVE);
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
  snprintf(lower, sizeof lower, "posix:/%s", key_for("t"));
  snprintf(upper, sizeof upper, "POSIX:%s", lower + strlen("posix:"));
  also_remove(lower, NULL, SYSSEM_KEYFORM_URI);
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
  /* An etcd key is the library's to judge (here, most likely, no module). */
  TOOL(&o, "info", "etcd://127.0.0.1:1/syssem-tool-test");
  assert_null(strstr(o.err, "Qt 6.6 key type"));
  snprintf(lower, sizeof lower, "db:%s", key);
  also_remove(lower, NULL, SYSSEM_KEYFORM_LEGACY);
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

/* A POSIX name with a line break, a space, a backslash, an escape byte and
 * a C1 control, next to UTF-8 text that stays as it is, and how info and
 * list print it; short enough for every system's limit. */
static void escaped_name(char *name, size_t nsize, char *want, size_t wsize)
{
  snprintf(name, nsize, "/st%ld-esc\nl\n x\\\x1b[31m\xc2\x9b\xc3\xa9",
           (long)getpid());
  snprintf(want, wsize, "/st%ld-esc\\x0al\\x0a\\x20x\\\\\\x1b[31m"
           "\\xc2\\x9b\xc3\xa9", (long)getpid());
}

/* info prints every name as one word on one line (syssem(1), NAMES IN
 * OUTPUT). */
static void test_names_escaped(void **state)
{
  const char *const px_native[] = { "--native", "--backend", "posix", NULL };
  char name[256], want[512], line[600];
  struct out o;

  (void)state;
  escaped_name(name, sizeof name, want, sizeof want);
  assert_int_equal(TOOLK(&o, px_native, "create", name), 0);
  assert_int_equal(TOOLK(&o, px_native, "info", name), 0);
  snprintf(line, sizeof line, "\nnative:  %s\n", want);
  if (strstr(o.out, line) == NULL)
    fail_msg("info printed '%s', not '%s'", o.out, want);
  assert_null(strchr(o.out, 0x1b));
  assert_int_equal(TOOLK(&o, px_native, "rm", name), 0);
}

/* Where list can look for POSIX names: Linux, and not under Apple's rules,
 * where they are no files (list says so: list_refuses_posix). */
static int posix_listed(void)
{
#if defined(__linux__)
  return !SYSSEM__APPLE;
#else
  return 0;
#endif
}

/* So does list: the name of test_names_escaped and, made by another program
 * (libsyssem takes only UTF-8), a name with a byte outside UTF-8. */
static void test_names_listed(void **state)
{
  const char *const px_native[] = { "--native", "--backend", "posix", NULL };
  char name[256], want[512];
  struct out o;
  sem_t *sem;

  (void)state;
  escaped_name(name, sizeof name, want, sizeof want);
  assert_int_equal(TOOLK(&o, px_native, "create", name), 0);
  if (!listed_as(want))
    fail_msg("list has no line for '%s'", want);
  assert_int_equal(TOOLK(&o, px_native, "rm", name), 0);

  snprintf(name, sizeof name, "/syssem-tool-test-%ld-\xff\xc3", (long)getpid());
  snprintf(want, sizeof want, "/syssem-tool-test-%ld-\\xff\\xc3",
           (long)getpid());
  sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  assert_true(sem != SEM_FAILED);
  sem_close(sem);
  if (!listed_as(want)) {
    sem_unlink(name);
    fail_msg("list has no line for '%s'", want);
  }
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

/* ---- the process-tree guarantee of run --------------------------------- */

/* The test's end of a ledger FIFO (see the helpers). */
struct ledger {
  char path[PATH_MAX];
  int fd;
  char buf[4096];
  size_t len;
  int ended; /* end of file: no process holds the FIFO open any more */
};

/* What a failed test leaves for the teardown: its ledgers (two at most),
 * and the pids of its trees (the test is their subreaper when the tool
 * fails to be). */
static struct ledger *open_ledgers[2];
static int nopen_ledgers;
static long tree_left[16];
static int ntree_left;

static void ledger_open(struct ledger *l, const char *tag)
{
  snprintf(l->path, sizeof l->path, "%s/ledger-%s", dir, tag);
  assert_int_equal(mkfifo(l->path, 0600), 0);
  /* Non-blocking: opening does not wait for a writer. */
  l->fd = open(l->path, O_RDONLY | O_NONBLOCK);
  assert_true(l->fd >= 0);
  l->len = 0;
  l->ended = 0;
  assert_true(nopen_ledgers < 2);
  open_ledgers[nopen_ledgers++] = l;
}

static void ledger_forget(struct ledger *l)
{
  int i;

  for (i = 0; i < nopen_ledgers; i++)
    if (open_ledgers[i] == l)
      open_ledgers[i] = open_ledgers[--nopen_ledgers];
  close(l->fd);
}

/* The tree of the ledger has been seen to end: nothing to clean up, once
 * no other ledger is open. */
static void ledger_close(struct ledger *l)
{
  ledger_forget(l);
  if (nopen_ledgers == 0)
    ntree_left = 0;
  assert_int_equal(unlink(l->path), 0);
}

/* Read what is there; wait at most ms for something. */
static void ledger_fill(struct ledger *l, int ms)
{
  struct pollfd pfd;
  ssize_t n;

  if (l->len == sizeof l->buf - 1)
    return;
  pfd.fd = l->fd;
  pfd.events = POLLIN;
  if (poll(&pfd, 1, ms) <= 0)
    return;
  n = read(l->fd, l->buf + l->len, sizeof l->buf - 1 - l->len);
  if (n == 0)
    l->ended = 1;
  else if (n > 0)
    l->len += (size_t)n;
}

/* The next line of the ledger into line: 1, or 0 at its end. Fails the
 * test if nothing comes for 10 s. */
static int ledger_line(struct ledger *l, char *line, size_t size)
{
  double t0 = now_ms();
  char *nl;
  size_t n;

  for (;;) {
    l->buf[l->len] = '\0';
    nl = strchr(l->buf, '\n');
    if (nl != NULL) {
      n = (size_t)(nl - l->buf);
      assert_true(n < size);
      memcpy(line, l->buf, n);
      line[n] = '\0';
      memmove(l->buf, nl + 1, l->len - n - 1);
      l->len -= n + 1;
      return 1;
    }
    if (l->ended)
      return 0;
    if (now_ms() - t0 > 10000)
      fail_msg("the ledger %s said nothing for 10 s", l->path);
    ledger_fill(l, 100);
  }
}

/* Has every process of the tree ended, now? Reads what is there. */
static int ledger_ended_now(struct ledger *l)
{
  size_t before;

  do {
    before = l->len;
    ledger_fill(l, 0);
  } while (!l->ended && l->len != before);
  return l->ended;
}

struct tree_pids {
  long pid[4], ppid[4];
  int n;
};

/* Read n "up" lines into t. */
static void read_ups(struct ledger *l, int n, struct tree_pids *t)
{
  long pgid, sid;
  char line[128];

  for (t->n = 0; t->n < n; t->n++) {
    assert_int_equal(ledger_line(l, line, sizeof line), 1);
    assert_int_equal(sscanf(line, "up %ld %ld %ld %ld", &t->pid[t->n],
                            &t->ppid[t->n], &pgid, &sid), 4);
    if (ntree_left < 16)
      tree_left[ntree_left++] = t->pid[t->n];
  }
}

/* A `syssem run KEY -- self --helper tree LEDGER` that is up, its standard
 * error going to err (-1: ours): the run's pid, the tree's pids. */
static pid_t run_tree(const char *key, struct ledger *l, struct tree_pids *t,
                      int err)
{
  pid_t run;

  run = spawn(ARGS("run", key, "--", self, "--helper", "tree", l->path), -1,
              err);
  read_ups(l, 3, t);
  return run;
}

/* `syssem run --timeout MS KEY -- probe PIDS`: its status. 0 means it got
 * the token and then found none of the tree's processes alive. */
static int probe_run(const char *key, const char *timeout,
                     const struct tree_pids *t)
{
  char num[4][24];
  const char *args[16];
  struct out o;
  int n = 0, i;

  args[n++] = "run";
  args[n++] = "--timeout";
  args[n++] = timeout;
  args[n++] = key;
  args[n++] = "--";
  args[n++] = self;
  args[n++] = "--helper";
  args[n++] = "probe";
  for (i = 0; i < t->n; i++) {
    snprintf(num[i], sizeof num[i], "%ld", t->pid[i]);
    args[n++] = num[i];
  }
  args[n] = NULL;
  {
    const char *const *lists[] = { args, NULL };

    return toolv(&o, lists);
  }
}

/* run killed with SIGKILL: its guardian kills the whole tree, the
 * daemonised orphan included, and only then gives the token back (on both
 * backends: the guardian, not the kernel's undo, gives it back). The next
 * run never gets the token while a process of the tree lives: the probe it
 * runs finds none alive. */
static void test_run_tree_sigkill(void **state)
{
  struct tree_pids t;
  struct ledger l;
  char key[128];
  struct out o;
  pid_t run;

  (void)state;
  make_key(key, sizeof key, "tree-kill");
  ledger_open(&l, "kill");
  run = run_tree(key, &l, &t, -1);
  /* The tree holds the only token. */
  assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 3);
  assert_int_equal(kill(run, SIGKILL), 0);
  assert_int_equal(reap(run), 1000 + SIGKILL);
  /* Whenever the next run gets the token, the tree is gone. */
  assert_int_equal(probe_run(key, "10000", &t), 0);
  assert_true(ledger_ended_now(&l));
  assert_int_equal(value_of(no_opts, key), 1);
  ledger_close(&l);
  rm_key(key);
}

/* SIGINT, SIGTERM and SIGHUP sent to run reach every process of the tree,
 * the ones outside its process group and session included, once each; run
 * exits with the command's status only after the last of them has ended,
 * and the token is back by then. */
static void test_run_tree_signals(void **state)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  struct tree_pids t;
  struct ledger l;
  long pid, seen[4];
  int sig, count, nseen, i, j;
  char key[128], line[128];
  struct out o;
  size_t k;
  pid_t run;

  (void)state;
  make_key(key, sizeof key, "tree-signals");
  for (k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
    ledger_open(&l, "signals");
    run = run_tree(key, &l, &t, -1);
    assert_int_equal(kill(run, sigs[k]), 0);
    assert_int_equal(reap(run), 100 + sigs[k]);
    /* run has exited: the tree had ended before. */
    assert_true(ledger_ended_now(&l));
    nseen = 0;
    while (ledger_line(&l, line, sizeof line)) {
      assert_int_equal(sscanf(line, "sig %ld %d %d", &pid, &sig, &count), 3);
      if (sig != sigs[k])
        continue; /* the SIGTERM of a leftover that was ending already */
      assert_int_equal(count, 1);
      for (j = 0; j < nseen; j++)
        assert_true(seen[j] != pid);
      assert_true(nseen < 4);
      seen[nseen++] = pid;
    }
    for (i = 0; i < t.n; i++) {
      for (j = 0; j < nseen && seen[j] != t.pid[i]; j++)
        ;
      if (j == nseen)
        fail_msg("process %ld got no signal %d", t.pid[i], sigs[k]);
    }
    ledger_close(&l);
    assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 0);
  }
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

/* What follows the command name in /proc/PID/stat (proc(5)), read into
 * buf: " S ppid ..."; NULL when the process is gone. */
static const char *proc_stat(const char *pid, char *buf, size_t size)
{
  char path[300];
  const char *end;
  size_t n;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return NULL;
  n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  end = strrchr(buf, ')'); /* the name may hold any character */
  return end != NULL ? end + 1 : NULL;
}

/* The state letter of process pid, or 0. */
static char proc_state(long pid)
{
  char num[24], buf[512];
  const char *p;

  snprintf(num, sizeof num, "%ld", pid);
  p = proc_stat(num, buf, sizeof buf);
  return p != NULL && p[0] == ' ' ? p[1] : 0;
}

/* How many children process pid has, from every process's stat (Linux);
 * the first in *child. */
static int proc_children(long pid, long *child)
{
  char buf[512];
  struct dirent *e;
  const char *p;
  long ppid;
  int n = 0;
  DIR *d = opendir("/proc");

  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    p = proc_stat(e->d_name, buf, sizeof buf);
    if (p == NULL || sscanf(p, " %*c %ld", &ppid) != 1 || ppid != pid)
      continue; /* ended since, or another's */
    if (n++ == 0)
      *child = strtol(e->d_name, NULL, 10);
  }
  closedir(d);
  return n;
}

/* The system call that process pid sleeps in (proc(5): syscall), or -1
 * while it runs. */
static long proc_syscall(long pid)
{
  char path[64];
  long nr;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%ld/syscall", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld", &nr) != 1)
    nr = -1;
  fclose(f);
  return nr;
}

/* Polls cond(pid) every millisecond for up to ten seconds: whether it held.
 * What is awaited here is a state of another process, which no pipe or
 * semaphore of the test can tell. */
static int await(int (*cond)(long), long pid)
{
  int i;

  for (i = 0; i < 10000; i++) {
    if (cond(pid))
      return 1;
    nap_ms(1);
  }
  return 0;
}

static int has_one_child(long pid)
{
  long child;

  return proc_children(pid, &child) == 1;
}

/* Holds the token and waits for run's go-ahead: asleep in read(), and no
 * command started (no child). Before the token it sleeps in the
 * semaphore's wait; a guardian that starts the command without waiting is
 * never in read() without a child. */
static int awaits_go_ahead(long guardian)
{
  long child;

  return proc_state(guardian) == 'S' && proc_syscall(guardian) == SYS_read &&
         proc_children(guardian, &child) == 0;
}

/* `syssem run` with args (its stderr to err, -1: ours), caught at the worst
 * moment of its start: its guardian holds the token of key and waits for
 * run's go-ahead (run.h), run is stopped, and no command runs. Made so: run
 * is stopped while a first run holds the only token, and the first run then
 * ends. Returns the stopped run. */
static pid_t run_at_go_ahead(const char *key, const char *const *args,
                             int err)
{
  struct tree_pids t;
  struct ledger first_l;
  long guardian = 0;
  int status;
  pid_t first, run;

  ledger_open(&first_l, "first");
  first = run_tree(key, &first_l, &t, -1); /* holds the only token */
  /* A job of its own: when the first run, in the test's group, exits, the
   * kernel sends SIGHUP to a group with a stopped member that counts as
   * orphaned, the test's own included. */
  spawn_own_group = 1;
  run = spawn(args, -1, err);
  spawn_own_group = 0;
  assert_true(await(has_one_child, run));
  assert_int_equal(proc_children(run, &guardian), 1);
  assert_int_equal(kill(run, SIGSTOP), 0);
  assert_int_equal(waitpid(run, &status, WUNTRACED), run);
  assert_true(WIFSTOPPED(status));

  /* The token comes free: the stopped run's guardian takes it. */
  assert_int_equal(kill(first, SIGTERM), 0);
  assert_int_equal(reap(first), 100 + SIGTERM);
  assert_true(ledger_ended_now(&first_l));
  ledger_close(&first_l);
  if (!await(awaits_go_ahead, guardian))
    fail_msg("the guardian never waited for run's go-ahead without a command "
             "(state %c, system call %ld)", proc_state(guardian),
             proc_syscall(guardian));
  assert_int_equal(value_of(no_opts, key), 0);
  return run;
}

/* The guardian starts the command only after run's go-ahead, once run
 * passes its signals on. Caught before it, the command starts only once
 * run goes on, and a signal to run then reaches the tree. A guardian that
 * started the command at once left a window in which such a signal found
 * run without its handlers and killed it. */
static void test_run_go_ahead(void **state)
{
  struct tree_pids t;
  struct ledger l;
  char key[128];
  pid_t run;

  (void)state;
#if !defined(__linux__)
  skip(); /* the state of a process comes from /proc */
#endif
  make_key(key, sizeof key, "go-ahead");
  ledger_open(&l, "go");
  run = run_at_go_ahead(
      key, ARGS("run", key, "--", self, "--helper", "tree", l.path), -1);
  assert_int_equal(kill(run, SIGCONT), 0);
  read_ups(&l, 3, &t);
  assert_int_equal(kill(run, SIGHUP), 0);
  assert_int_equal(reap(run), 100 + SIGHUP);
  assert_true(ledger_ended_now(&l));
  assert_int_equal(value_of(no_opts, key), 1);
  ledger_close(&l);
  rm_key(key);
}

/* run killed with SIGKILL while its guardian holds the token and waits for
 * the go-ahead: the guardian gives the token back and starts nothing. The
 * command is one that cannot be run, so that trying to start it leaves a
 * trace no kill can take back: the guardian's message on run's stderr. */
static void test_run_killed_before_go_ahead(void **state)
{
  static const char missing[] = "/nonexistent/syssem-test-command";
  char key[128], msg[4096];
  struct out o;
  FILE *err;
  pid_t run;

  (void)state;
#if !defined(__linux__)
  skip(); /* the state of a process comes from /proc */
#endif
  make_key(key, sizeof key, "go-killed");
  err = tmpfile();
  assert_non_null(err);
  run = run_at_go_ahead(key, ARGS("run", key, "--", missing), fileno(err));
  assert_int_equal(kill(run, SIGKILL), 0);
  assert_int_equal(reap(run), 1000 + SIGKILL);
  /* Whenever the next run gets the token, the guardian has given it back,
   * and had it tried the command, it would have said so by then. */
  assert_int_equal(TOOL(&o, "run", "--timeout", "10000", key, "true"), 0);
  slurp(err, msg, sizeof msg); /* and closes it */
  if (strstr(msg, missing) != NULL)
    fail_msg("the guardian tried the command after run died: %s", msg);
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

/* A command that ends and leaves a daemonised process behind: that process
 * gets SIGTERM, and SIGKILL after the grace time if it ignores it; the
 * token stays taken until it has ended, and run exits with the command's
 * status after that. */
static void test_run_leftovers(void **state)
{
  static const char *const modes[] = { "term", "hard" };
  struct tree_pids t;
  struct ledger l;
  char key[128], line[128];
  long left = 0;
  int sig, count, i;
  size_t k;
  pid_t run;

  (void)state;
  make_key(key, sizeof key, "leftovers");
  for (k = 0; k < 2; k++) {
    ledger_open(&l, modes[k]);
    run = spawn(ARGS("run", key, "--", self, "--helper", "leave", l.path,
                     modes[k]), -1, -1);
    read_ups(&l, 2, &t);
    /* The orphan's SIGTERM says that the command has ended. */
    assert_int_equal(ledger_line(&l, line, sizeof line), 1);
    assert_int_equal(sscanf(line, "sig %ld %d %d", &left, &sig, &count), 3);
    assert_int_equal(sig, SIGTERM);
    for (i = 0; i < t.n && t.pid[i] != left; i++)
      ;
    assert_true(i < t.n);
    if (k == 1) {
      /* It ignores SIGTERM and runs on: the token stays taken. */
      t.pid[0] = left;
      t.n = 1;
      assert_int_equal(probe_run(key, "0", &t), 3);
    }
    assert_int_equal(reap(run), 7);
    assert_true(ledger_ended_now(&l));
    /* Nothing more but the SIGCONT that came with the SIGTERM. */
    while (ledger_line(&l, line, sizeof line)) {
      assert_int_equal(sscanf(line, "sig %ld %d %d", &left, &sig, &count), 3);
      assert_int_equal(sig, SIGCONT);
    }
    t.pid[0] = left;
    t.n = 1;
    assert_int_equal(probe_run(key, "0", &t), 0);
    ledger_close(&l);
  }
  assert_int_equal(value_of(no_opts, key), 1);
  rm_key(key);
}

/* In a tree of the tree helper, the command is the parent of the child in
 * its group, and its parent is the guardian: the command's index. */
static int command_of(const struct tree_pids *t)
{
  int i, j;

  for (i = 0; i < t->n; i++)
    for (j = 0; j < t->n; j++)
      if (t->ppid[j] == t->pid[i])
        return i;
  fail_msg("%s", "no command in the tree");
  return -1;
}

/* What is not covered, as docs/tool.md says: the guardian itself killed
 * with SIGKILL. Its undo gives the System V token back at once (POSIX: the
 * token is lost), the command dies with it (parent-death signal), and run,
 * to which the rest of the tree falls, kills it and exits 1. */
static void test_run_guardian_killed(void **state)
{
  struct tree_pids t;
  struct ledger l;
  char key[128], msg[512];
  struct out o;
  long guardian;
  FILE *err;
  pid_t run;

  (void)state;
  make_key(key, sizeof key, "guardian");
  ledger_open(&l, "guardian");
  err = tmpfile();
  assert_non_null(err);
  run = run_tree(key, &l, &t, fileno(err));
  guardian = t.ppid[command_of(&t)];
  assert_true(guardian > 0);
  assert_int_equal(kill((pid_t)guardian, SIGKILL), 0);
  assert_int_equal(reap(run), 1);
  slurp(err, msg, sizeof msg);
  assert_non_null(strstr(msg, "syssem: run: "));
  assert_non_null(strstr(msg, "the guardian process died (signal 9)"));
  assert_true(ledger_ended_now(&l));
  if (strcmp(backend, "sysv") == 0) {
    assert_int_equal(value_of(no_opts, key), 1);
  } else {
    assert_int_equal(value_of(no_opts, key), 0);
    assert_int_equal(TOOL(&o, "release", key), 0);
  }
  assert_int_equal(probe_run(key, "0", &t), 0);
  ledger_close(&l);
  rm_key(key);
}

/* Not covered either: run and the guardian killed together. The command
 * dies with the guardian (parent-death signal); the processes below it run
 * on, here as our orphans (we are a subreaper), and the token is back
 * (System V undo) or lost (POSIX). */
static void test_run_both_killed(void **state)
{
  struct tree_pids t;
  struct ledger l;
  char key[128];
  struct out o;
  long guardian, cmd;
  double t0;
  pid_t run;
  int i, st = 0;

  (void)state;
#if !defined(__linux__)
  skip(); /* the parent-death signal and the subreaper are Linux's */
#endif
  make_key(key, sizeof key, "both");
  ledger_open(&l, "both");
  /* A job of its own: the stopped run must not leave our own process group
   * orphaned with a stopped member (the kernel would hang it up, us too). */
  spawn_own_group = 1;
  run = run_tree(key, &l, &t, -1);
  spawn_own_group = 0;
  i = command_of(&t);
  cmd = t.pid[i];
  guardian = t.ppid[i];
  /* run stopped first runs no code of its own again: it cannot take up the
   * tree that the guardian's death hands to it. */
  assert_int_equal(kill(run, SIGSTOP), 0);
  assert_int_equal(kill((pid_t)guardian, SIGKILL), 0);
  assert_int_equal(kill(run, SIGKILL), 0);
  assert_int_equal(reap(run), 1000 + SIGKILL);
  /* The command is killed and ends up our child: reap it. */
  for (t0 = now_ms(); now_ms() - t0 < 10000; nap_ms(10))
    if (waitpid((pid_t)cmd, &st, WNOHANG) == (pid_t)cmd)
      break;
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  /* The others still run, unguarded. */
  assert_false(ledger_ended_now(&l));
  for (i = 0; i < t.n; i++)
    if (t.pid[i] != cmd)
      assert_int_equal(kill((pid_t)t.pid[i], 0), 0);
  if (strcmp(backend, "sysv") == 0) {
    assert_int_equal(value_of(no_opts, key), 1);
  } else {
    assert_int_equal(value_of(no_opts, key), 0);
    assert_int_equal(TOOL(&o, "release", key), 0);
  }
  for (i = 0; i < t.n; i++)
    if (t.pid[i] != cmd) {
      assert_int_equal(kill((pid_t)t.pid[i], SIGKILL), 0);
      assert_int_equal(reap((pid_t)t.pid[i]), 1000 + SIGKILL);
    }
  assert_true(ledger_ended_now(&l));
  ledger_close(&l);
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
/* ---- the terminal --------------------------------------------------------- */

/* Read the terminal until it has shown want; fail after 10 s. */
static void tty_expect(int master, char *seen, size_t size, size_t *len,
                       const char *want)
{
  double t0 = now_ms();
  struct pollfd pfd;
  ssize_t n;

  for (;;) {
    seen[*len] = '\0';
    if (strstr(seen, want) != NULL)
      return;
    if (now_ms() - t0 > 10000)
      fail_msg("the terminal never showed '%s'; it showed:\n%s", want, seen);
    pfd.fd = master;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    if (*len + 1 >= size) { /* keep the tail */
      memmove(seen, seen + size / 2, *len - size / 2);
      *len -= size / 2;
    }
    n = read(master, seen + *len, size - 1 - *len);
    if (n > 0)
      *len += (size_t)n;
  }
}

static void tty_type(int master, const char *text)
{
  size_t len = strlen(text);

  assert_int_equal(write(master, text, len), (ssize_t)len);
}

/* In an interactive bash on a terminal, as a user works: run in the
 * foreground with a tree (a child in the job, a daemonised orphan outside
 * it; the command ends only after the orphan has caught its signal, so that
 * the orphan's can only come through run). Ctrl-Z stops the job and keeps the token taken; fg continues it;
 * Ctrl-C reaches every process of the tree exactly once (the job's from
 * the terminal, the orphan through run), and run exits with the command's
 * status, 100 + SIGINT, after the whole tree has ended. */
static void test_run_terminal(void **state)
{
  char key[128], cmd[3 * PATH_MAX], seen[16384], line[128];
  struct tree_pids t;
  struct ledger l;
  struct out o;
  size_t len = 0;
  long pid, job[4];
  int master, sig, count, nint = 0, ncont = 0, i, njob = 0;
  pid_t sh;

  (void)state;
#if !defined(__linux__)
  skip(); /* the state of a process comes from /proc */
#endif
  if (access("/bin/bash", X_OK) != 0)
    skip();
  make_key(key, sizeof key, "terminal");
  ledger_open(&l, "terminal");
  sh = forkpty(&master, NULL, NULL, NULL);
  assert_true(sh >= 0);
  if (sh == 0) {
    setenv("PS1", "prompt$ ", 1);
    setenv("TERM", "dumb", 1);
    setenv("HISTFILE", "/dev/null", 1);
    execl("/bin/bash", "bash", "--norc", "--noprofile", "-i", (char *)NULL);
    _exit(125);
  }
  live[nlive++] = sh;
  tty_expect(master, seen, sizeof seen, &len, "prompt$ ");
  snprintf(cmd, sizeof cmd,
           "'%s' run %s -- '%s' --helper tree-linger '%s'\n", tool, key, self,
           l.path);
  tty_type(master, cmd);
  read_ups(&l, 3, &t);
  for (i = 0; i < t.n; i++)
    if (getsid((pid_t)t.pid[i]) == sh)
      job[njob++] = t.pid[i];
  assert_int_equal(njob, 2); /* the command and its child; not the orphan */

  /* Ctrl-Z: bash sees the job stop, the job's processes stop, the token
   * stays taken. */
  tty_type(master, "\x1a");
  tty_expect(master, seen, sizeof seen, &len, "Stopped");
  for (i = 0; i < njob; i++) {
    double t0 = now_ms();

    while (proc_state(job[i]) != 'T' && now_ms() - t0 < 10000)
      nap_ms(10);
    assert_int_equal(proc_state(job[i]), 'T');
  }
  assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 3);

  /* fg: the job goes on (each of its processes notes the SIGCONT). */
  len = 0;
  tty_type(master, "fg\n");
  for (ncont = 0; ncont < njob;) {
    assert_int_equal(ledger_line(&l, line, sizeof line), 1);
    assert_int_equal(sscanf(line, "sig %ld %d %d", &pid, &sig, &count), 3);
    if (sig == SIGCONT)
      ncont++;
  }

  /* Ctrl-C: each process of the tree gets one SIGINT; run waits for all
   * and exits with the command's status, which fg passes on. */
  tty_type(master, "\x03");
  tty_expect(master, seen, sizeof seen, &len, "prompt$ ");
  /* The quotes keep the echoed command line from matching. */
  tty_type(master, "echo \"st\"\"atus=$?\"\n");
  tty_expect(master, seen, sizeof seen, &len, "status=102");
  assert_true(ledger_ended_now(&l));
  while (ledger_line(&l, line, sizeof line)) {
    assert_int_equal(sscanf(line, "sig %ld %d %d", &pid, &sig, &count), 3);
    if (sig != SIGINT)
      continue;
    if (count != 1)
      fail_msg("process %ld got SIGINT %d times", pid, count);
    nint++;
  }
  assert_int_equal(nint, 3);
  ledger_close(&l);
  assert_int_equal(TOOL(&o, "run", "--timeout", "0", key, "true"), 0);

  tty_type(master, "exit\n");
  assert_int_equal(reap(sh), 0);
  close(master);
  rm_key(key);
}

/* Kill and reap whatever a failed test left running, remove its keys and
 * its ledger. */
static int teardown(void **state)
{
  (void)state;
  while (nlive > 0) {
    kill(live[0], SIGKILL);
    reap(live[0]);
  }
  while (ntree_left > 0)
    kill((pid_t)tree_left[--ntree_left], SIGKILL);
  while (waitpid(-1, NULL, WNOHANG) > 0) /* orphans we adopted */
    ;
  while (nopen_ledgers > 0) {
    struct ledger *l = open_ledgers[0];

    ledger_forget(l);
    unlink(l->path);
  }
  return 0;
}

#define T(f) TEST_TEARDOWN(f, teardown)

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    T(test_usage_errors),
    T(test_help_and_version),
    T(test_one_operation_roundtrip),
    T(test_key_forms),
    T(test_key_types),
    T(test_names_escaped),
    TEST_TEARDOWN_SKIP_UNLESS(test_names_listed, teardown, posix_listed,
                              "syssem list cannot look for POSIX names here "
                              "(Apple's rules: they are no files), and says "
                              "so, as every other test's removal checks"),
    T(test_permissions),
    T(test_run_jobs_two),
    T(test_run_jobs_one),
    T(test_run_tree_sigkill),
    T(test_run_tree_signals),
    T(test_run_go_ahead),
    T(test_run_killed_before_go_ahead),
    T(test_run_leftovers),
    T(test_run_guardian_killed),
    T(test_run_both_killed),
    T(test_run_terminal),
    T(test_run_timeout),
    T(test_run_status),
    T(test_run_signals),
  };
  char *tmp;
  int r;

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
  /* The directory the library keeps key files in is a temporary one. */
  if (syssem__key_dir(&tmp) != SYSSEM_OK) {
    fprintf(stderr, "test_tool: %s\n", syssem_last_error_message());
    return 2;
  }
  snprintf(dir, sizeof dir, "%s/syssem-tool-test-XXXXXX", tmp);
  free(tmp);
  if (mkdtemp(dir) == NULL) {
    perror("test_tool: mkdtemp");
    return 2;
  }
#if defined(__linux__)
  /* Orphans of our runs come to us, so that we can see them end. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
  r = TEST_MAIN("tool", tests);
  /* Every test removed what it wrote there. */
  if (rmdir(dir) != 0) {
    perror("test_tool: rmdir");
    r = 1;
  }
  return r;
}
