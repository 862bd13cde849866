/*
 * Test support: how a test program runs its tests, and how everything a test
 * made is undone, even when an assertion fails half-way through it.
 *
 * A program lists its tests in a table of test_case_t and returns
 * TEST_MAIN("group", cases) from main(). Every test then runs with a cleanup
 * registry. Its teardown, which runs whether the test passed or failed:
 *  1. runs the test's own teardown (TEST_TEARDOWN), if any;
 *  2. kills and reaps every helper process still running (proc.h);
 *  3. counts the objects named with this process's tag: a test that left
 *     any fails here, with their names, even if its assertions passed;
 *  4. undoes what the test registered, last first: the keys it took from
 *     key_for() or gave to fixture_key() are removed through the library
 *     (syssem_remove), the directories of fixture_dir() go with their
 *     contents, and fixture_defer() calls run.
 * What is registered outside a test (in main, before TEST_MAIN) is undone at
 * exit, by this process only: a forked child never undoes its parent's work.
 *
 * Root-only tests (another user, a private IPC namespace) are ROOT_TEST
 * entries. They run only when the program is given --root, which the
 * registry in tests/meson.build does for the NAME-root-BACKEND test of a
 * program marked 'root'; without root that run prints the reasons and exits
 * 77, a skip. A program with no test to run here exits 77 too: a skipped
 * test is never counted as passed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_FIXTURE_H
#define SYSSEM_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "syssem.h"

typedef struct test_case {
  const char *name;
  CMUnitTestFunction fn;
  int (*when)(void);          /* NULL, or run only when it returns non-zero */
  const char *root;           /* NULL, or: needs root, and why              */
  CMFixtureFunction teardown; /* NULL, or the test's own teardown; on
                               SIGTERM or SIGINT it runs with state NULL */
  const char *skip;           /* NULL, or: where when() says 0, a skip, and
                                 why */
} test_case_t;

/* TEST_IF leaves a case out where it does not belong (another backend's
 * case): it is not listed there. TEST_SKIP_UNLESS is for a case that
 * belongs to the run but checks what cannot exist on this system (an
 * emulated one included): where when() says 0 it is reported skipped, as
 * "SKIP: case: why" and cmocka's SKIPPED line, never run, never passed;
 * .ci/testlog.py lists such skips with their reasons and fails a run that
 * has one it was not told to expect. */
#define TEST(f) { #f, f, NULL, NULL, NULL, NULL }
#define TEST_IF(f, when) { #f, f, when, NULL, NULL, NULL }
#define TEST_SKIP_UNLESS(f, when, why) { #f, f, when, NULL, NULL, why }
#define TEST_TEARDOWN(f, teardown) { #f, f, NULL, NULL, teardown, NULL }
#define TEST_IF_TEARDOWN(f, when, teardown) { #f, f, when, NULL, teardown, NULL }
#define TEST_TEARDOWN_SKIP_UNLESS(f, teardown, when, why)                    \
  { #f, f, when, NULL, teardown, why }
#define ROOT_TEST(f, why) { #f, f, NULL, why, NULL, NULL }
#define ROOT_TEST_IF(f, when, why) { #f, f, when, why, NULL, NULL }

/* Run the cases of the table (see above); the program's exit status.
 * Arguments: [--root] [NAME...], NAMEs picking cases by name. */
int test_main(int argc, char **argv, const char *group,
              const test_case_t *cases, size_t n);
#define TEST_MAIN(group, cases)                                               \
  test_main(argc, argv, (group), (cases), sizeof(cases) / sizeof((cases)[0]))

/* This process's tag: $SYSSEM_TEST_PREFIX (ASCII letters; "sst" when unset),
 * then the process id spelt in the letters a-j, then 'z'. The ASCII letters
 * of a key are part of its legacy name, so every object a test names with
 * the tag can be found by prefix, and no two processes' tags are prefixes of
 * one another. Set by test_main. */
extern char test_tag[];

/* A fresh key: the tag, name (letters only, to stay in the legacy name), a
 * counter, put into $SYSSEM_TEST_KEY_FORMAT when it is set. Removed
 * (syssem_remove, default options) at the test's teardown; the string lives
 * until then. */
const char *key_for(const char *name);

/* plain put in place of the "%s" of $SYSSEM_TEST_KEY_FORMAT (malloc'd; plain
 * itself when it is unset). A networked backend's run of a behavioural
 * test sets it to a key around "%s", e.g. "etcd://127.0.0.1:2379/t/%s",
 * so that the test's keys name semaphores there (tests/etcd/with_etcd.c). */
char *key_in_format(const char *plain);

/* Remove key with opts (copied; NULL: the defaults) at the test's teardown. */
void fixture_key(const char *key, const syssem_options_t *opts);

/* Remove the file at path (a copy is kept) at the test's teardown. */
void fixture_file(const char *path);

/* Call fn(arg) at the test's teardown. */
void fixture_defer(void (*fn)(void *), void *arg);

/* Memory freed at the test's teardown: a copy of the text printf makes. */
char *fixture_printf(const char *fmt, ...);

/* Unix: a new private directory (mode 0700) in the library's directory for
 * key files, removed with everything in it at the test's teardown. */
const char *fixture_dir(void);

/* Unix: set the environment variable name to value (NULL: unset it); the
 * value it had before the test's first such call comes back at its
 * teardown. */
void fixture_setenv(const char *name, const char *value);

/* How many objects (key files, System V key files of native keys, POSIX
 * names) whose names start with prefix, or with the legacy prefix and then
 * prefix, exist now; where the library keeps them is asked of the library,
 * the key-file directory once, at the first call (test_main makes it).
 * Each one's path is printed when print is non-zero. 0 where objects are
 * not files (Windows). */
int leftovers_of(const char *prefix, int print);

/* 1 if key (opts o) names an object that exists and whose name does not
 * carry the tag, so that leftovers_of() cannot find it: a legacy POSIX
 * name on Apple's rule (-Demulate=darwin) is a hash of the key. Its path
 * is printed when print is non-zero. 0 where names keep the key's letters. */
int leftover_hashed(const char *key, const syssem_options_t *o, int print);

/* leftovers_of(test_tag, 0), plus the keys registered now (key_for,
 * fixture_key) for which leftover_hashed() says 1. */
int leftovers(void);

/* 1 when this process may act as another user or enter namespaces. */
int running_as_root(void);

#endif
