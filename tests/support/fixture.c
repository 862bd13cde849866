/*
 * Test support: test_main, the per-test cleanup registry, keys and tags
 * (fixture.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include "fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

char test_tag[96];

/* The registry: a stack of undo calls. A test's teardown undoes down to the
 * mark its setup left; exit undoes the rest. */
struct undo {
  void (*fn)(void *);
  void *arg;
};

static struct undo *undos;
static size_t nundo, capundo;
static size_t mark;
static int left_before; /* leftovers() when the current test began */
static const test_case_t *current; /* the test running, or NULL */
static unsigned long owner_pid; /* the process whose registry this is */

static void *must(void *p)
{
  if (p == NULL) {
    fprintf(stderr, "test support: out of memory\n");
    abort();
  }
  return p;
}

void fixture_defer(void (*fn)(void *), void *arg)
{
  if (nundo == capundo) {
    capundo = capundo ? 2 * capundo : 64;
    undos = must(realloc(undos, capundo * sizeof *undos));
  }
  undos[nundo].fn = fn;
  undos[nundo].arg = arg;
  nundo++;
}

static void undo_to(size_t level)
{
  while (nundo > level) {
    nundo--;
    undos[nundo].fn(undos[nundo].arg);
  }
}

static void undo_all_at_exit(void)
{
  /* A forked child that exits leaves its parent's registry alone, and
   * reachable: a leak checker at its exit must not take the parent's
   * entries for its own leaks. */
  if (proc_getpid() != owner_pid)
    return;
  proc_reap_all();
  undo_to(0);
  free(undos);
  undos = NULL;
  nundo = capundo = 0;
}

/* A malloc'd copy of the text printf makes of fmt and ap. */
static char *vformat(const char *fmt, va_list ap)
{
  va_list again;
  char *s;
  int n;

  va_copy(again, ap);
  n = vsnprintf(NULL, 0, fmt, again);
  va_end(again);
  if (n < 0)
    abort();
  s = must(malloc((size_t)n + 1));
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

/* A test killed by meson for taking too long (SIGTERM) or by a user's
 * Ctrl-C undoes what it made on the way out. Best effort: the signal may
 * have come in the middle of malloc, and then this can hang until meson's
 * SIGKILL, which is no worse than not trying. */
static void undo_on_signal(int sig)
{
  if (proc_getpid() == owner_pid) {
    /* The test's own teardown first: it ends the processes it started,
     * which would make again what the registry removes. */
    if (current != NULL && current->teardown != NULL)
      current->teardown(NULL);
    proc_reap_all();
    undo_to(0);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

char *fixture_printf(const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = vformat(fmt, ap);
  va_end(ap);
  fixture_defer(free, s);
  return s;
}

static void remove_file(void *path)
{
  remove(path);
  free(path);
}

void fixture_file(const char *path)
{
  fixture_defer(remove_file, must(strdup(path)));
}

/* Keys ----------------------------------------------------------------------- */

struct tracked_key {
  syssem_options_t opts;
  char *key;
};

static void remove_key(void *p)
{
  struct tracked_key *k = p;

  syssem_remove(k->key, &k->opts);
  free(k->key);
  free(k);
}

/* Track key (malloc'd; the registry frees it) for removal with opts. */
static const char *track(char *key, const syssem_options_t *opts)
{
  static const syssem_options_t defaults = SYSSEM_OPTIONS_INIT;
  struct tracked_key *k = must(malloc(sizeof *k));

  k->opts = opts != NULL ? *opts : defaults;
  k->key = key;
  fixture_defer(remove_key, k);
  return key;
}

/* The registered keys whose objects leftover_hashed() finds. */
static int hashed_leftovers(int print)
{
  size_t i;
  int n = 0;

  for (i = 0; i < nundo; i++)
    if (undos[i].fn == remove_key) {
      const struct tracked_key *k = undos[i].arg;

      n += leftover_hashed(k->key, &k->opts, print);
    }
  return n;
}

int leftovers(void)
{
  return leftovers_of(test_tag, 0) + hashed_leftovers(0);
}

static void print_leftovers(void)
{
  leftovers_of(test_tag, 1);
  hashed_leftovers(1);
}

void fixture_key(const char *key, const syssem_options_t *opts)
{
  track(must(strdup(key)), opts);
}

static char *format(const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

char *key_in_format(const char *plain)
{
  const char *f = getenv("SYSSEM_TEST_KEY_FORMAT"), *at;

  if (f == NULL || (at = strstr(f, "%s")) == NULL)
    return must(strdup(plain));
  return format("%.*s%s%s", (int)(at - f), f, plain, at + 2);
}

const char *key_for(const char *name)
{
  static unsigned long n;
  char *plain = format("%s%s%lu", test_tag, name, n++);
  char *key = key_in_format(plain);

  free(plain);
  return track(key, NULL);
}

/* The tag ----------------------------------------------------------------- */

static int tag_init(void)
{
  const char *prefix = getenv("SYSSEM_TEST_PREFIX");
  unsigned long pid = proc_getpid();
  size_t i, len;

  if (prefix == NULL || *prefix == '\0')
    prefix = "sst";
  len = strlen(prefix);
  for (i = 0; i < len; i++) {
    char c = prefix[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      fprintf(stderr, "SYSSEM_TEST_PREFIX '%s': only ASCII letters, which "
              "a legacy name keeps\n", prefix);
      return -1;
    }
  }
  if (len > sizeof test_tag - 24) {
    fprintf(stderr, "SYSSEM_TEST_PREFIX '%s' is too long\n", prefix);
    return -1;
  }
  memcpy(test_tag, prefix, len);
  do {
    test_tag[len++] = (char)('a' + pid % 10);
    pid /= 10;
  } while (pid != 0);
  test_tag[len++] = 'z';
  test_tag[len] = '\0';
  return 0;
}

/* Running the tests ---------------------------------------------------------- */

static int fixture_setup(void **state)
{
  current = *state;
  mark = nundo;
  /* What an earlier test left is reported once, by that test. */
  left_before = leftovers();
  return 0;
}

static int fixture_teardown(void **state)
{
  const test_case_t *c = *state;
  int r = 0, left;

  current = NULL;
  if (c->teardown != NULL && c->teardown(state) != 0)
    r = -1;
  proc_reap_all();
  left = leftovers() - left_before;
  if (left > 0) {
    print_error("%s left %d object(s) named %s*:\n", c->name, left, test_tag);
    print_leftovers();
    r = -1;
  }
  undo_to(mark);
  if (left > 0 && leftovers() > left_before) {
    print_error("%s: not removed by its teardown either:\n", c->name);
    print_leftovers();
    r = -1;
  }
  return r;
}

/* The case runs in this run: root-only or not as asked, applicable here or
 * to be reported skipped (TEST_SKIP_UNLESS), and named on the command line
 * when names are given there. */
static int selected(const test_case_t *c, int root, char **names, int nnames)
{
  int i;

  if ((c->root != NULL) != root ||
      (c->when != NULL && c->skip == NULL && !c->when()))
    return 0;
  for (i = 0; i < nnames; i++)
    if (strcmp(names[i], c->name) == 0)
      return 1;
  return nnames == 0;
}

/* A TEST_SKIP_UNLESS case where it cannot run: says why, and skips. */
static void skip_case(void **state)
{
  const test_case_t *c = *state;

  printf("SKIP: %s: %s\n", c->name, c->skip);
  fflush(stdout);
  skip();
}

int test_main(int argc, char **argv, const char *group,
              const test_case_t *cases, size_t n)
{
  struct CMUnitTest *tests;
  size_t i, k = 0;
  int root = argc > 1 && strcmp(argv[1], "--root") == 0;
  char **names = argv + 1 + root;
  int nnames = argc - 1 - root, failed;

  if (tag_init() != 0)
    return 1;
  if (leftovers() != 0) {
    printf("%s: objects named %s* exist before the first test:\n", group,
           test_tag);
    print_leftovers();
    return 1;
  }
  owner_pid = proc_getpid();
  atexit(undo_all_at_exit);
  signal(SIGTERM, undo_on_signal);
  signal(SIGINT, undo_on_signal);
  tests = must(calloc(n ? n : 1, sizeof *tests));
  for (i = 0; i < n; i++) {
    if (!selected(&cases[i], root, names, nnames))
      continue;
    tests[k].name = cases[i].name;
    tests[k].test_func = cases[i].when != NULL && cases[i].skip != NULL &&
                                 !cases[i].when()
                             ? skip_case
                             : cases[i].fn;
    tests[k].setup_func = fixture_setup;
    tests[k].teardown_func = fixture_teardown;
    tests[k].initial_state = (void *)&cases[i];
    k++;
  }
  if (k == 0 && nnames > 0) {
    fprintf(stderr, "%s: no %stest of these names applies here\n", group,
            root ? "root-only " : "");
    free(tests);
    return 1;
  }
  if (k == 0) {
    printf("SKIP: %s: no %stest applies here\n", group,
           root ? "root-only " : "");
    free(tests);
    return 77;
  }
  if (root && !running_as_root()) {
    printf("SKIP: %s: these tests need root:\n", group);
    for (i = 0; i < k; i++)
      printf("  %s: %s\n", tests[i].name,
             ((const test_case_t *)tests[i].initial_state)->root);
    free(tests);
    return 77;
  }
  failed = _cmocka_run_group_tests(group, tests, k, NULL, NULL);
  free(tests);
  proc_reap_all();
  undo_to(0);
  if (leftovers() != 0) {
    printf("%s: left behind after the last test:\n", group);
    print_leftovers();
    failed++;
  }
  return failed == 0 ? 0 : 1;
}
