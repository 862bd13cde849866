/*
 * Races that could admit more holders than the count, strand a waiter or
 * orphan an object: tried as an attacker would, per class.
 *
 *  - storms: processes race SYSSEM_CREATE_NEW, SYSSEM_OPEN, SYSSEM_CREATE
 *    and SYSSEM_OPEN_EXISTING on one fresh key, round after round; a ledger
 *    in shared memory, not the semaphore, counts the holders;
 *  - interleavings: a test hook stops one process between two steps of the
 *    create, reset and remove paths, and the test runs the other party in
 *    exactly that window, every run;
 *  - stale owners: owners whose object was removed close after a new
 *    object exists;
 *  - removal under waiters and openers;
 *  - another PID namespace (root only);
 *  - the codes and limits of the same review: permissions without owner
 *    write, key files in places that cannot hold one, the System V undo
 *    bound, thread cancellation.
 *
 * Rounds: 150 per storm class (SYSSEM_STRESS=full: 2,000).
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <pthread.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>

#include "syssem_int.h"

#define PROCS 8

/* The ledger: holders counted by the holders, never by the semaphore. */
struct ledger {
  atomic_int holders;
  atomic_int max;
};

static void ledger_take(struct ledger *l)
{
  int h = atomic_fetch_add(&l->holders, 1) + 1;
  int m = atomic_load(&l->max);

  while (h > m && !atomic_compare_exchange_weak(&l->max, &m, h))
    ;
}

static void ledger_give(struct ledger *l)
{
  atomic_fetch_sub(&l->holders, 1);
}

/* Stopping a process at a hook point ---------------------------------------
 * A process arms the hook for one point; when the library reaches it, the
 * process writes a byte to `paused` and waits for one on `resume`. */
static struct {
  const char *point;
  int paused[2];
  int resume[2];
} stop;

static void stop_hook(const char *point)
{
  char b = 'p';

  if (stop.point == NULL || strcmp(point, stop.point) != 0)
    return;
  stop.point = NULL; /* once */
  if (write(stop.paused[1], &b, 1) != 1 || read(stop.resume[0], &b, 1) != 1)
    _exit(3);
}

static void stop_init(void)
{
  assert_int_equal(pipe2(stop.paused, O_CLOEXEC), 0);
  assert_int_equal(pipe2(stop.resume, O_CLOEXEC), 0);
  syssem__hook = stop_hook;
}

static void stop_fini(void)
{
  close(stop.paused[0]);
  close(stop.paused[1]);
  close(stop.resume[0]);
  close(stop.resume[1]);
  syssem__hook = NULL;
}

/* 1 when one byte came on fd within ms. */
static int byte_within(int fd, long ms)
{
  struct pollfd p = { fd, POLLIN, 0 };
  char b;

  while (poll(&p, 1, (int)ms) < 0)
    if (errno != EINTR)
      return 0;
  return (p.revents & POLLIN) && read(fd, &b, 1) == 1;
}

static void resume_stopped(void)
{
  char b = 'r';

  assert_int_equal(write(stop.resume[1], &b, 1), 1);
}

/* 1 if pid waits for an flock (a "->" line of /proc/locks). */
static int waits_for_flock(pid_t pid)
{
  char line[256];
  FILE *f = fopen("/proc/locks", "r");
  int found = 0;
  long p;

  if (f == NULL)
    return 0;
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = strstr(line, "->") != NULL &&
            sscanf(strstr(line, "->") + 2, " FLOCK ADVISORY WRITE %ld", &p) == 1 &&
            p == (long)pid;
  fclose(f);
  return found;
}

/* Wait until pid waits for a lock or has ended (then reap it into *st).
 * Returns 1 if it waits, 0 if it ended, -1 if neither within PROMPT_MS. */
static int blocked_or_done(pid_t pid, int *st)
{
  long long end = proc_now_ms() + PROMPT_MS;
  struct timespec nap = { 0, 1000000L };

  while (proc_now_ms() < end) {
    if (waitpid(pid, st, WNOHANG) == pid)
      return 0;
    if (waits_for_flock(pid))
      return 1;
    nanosleep(&nap, NULL); /* a poll of a state no pipe can report */
  }
  return -1;
}

static int reap(pid_t pid)
{
  int st = 0;

  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The System V set behind an open handle, to look for orphans once all is
 * closed: a set id is never another set's soon (the kernel adds a sequence
 * number), where a key may be (ftok keeps 16 bits of the inode). */
static int sysv_id_of_handle(syssem_t *s)
{
  return sysv_id_of(syssem_native_key(s));
}

static int sysv_set_alive(int id)
{
  struct semid_ds ds;
  union { int val; struct semid_ds *buf; } arg;

  arg.buf = &ds;
  return id >= 0 && semctl(id, 0, IPC_STAT, arg) == 0;
}

/* Storms --------------------------------------------------------------------
 * PROCS workers, one round after another, in phases that the parent opens
 * with a byte on each worker's `go` pipe and that the workers close with a
 * byte each on `done`: (1) open, (2) read the count, (3) try_acquire(0), and for a
 * SYSSEM_CREATE_NEW loser SYSSEM_OPEN_EXISTING, (4) release and close. All
 * opens, and so all resets, happen before any token is taken: one object
 * must then have exactly `count` tokens for everybody. */
enum storm_kind { STORM_CREATE_NEW, STORM_MIXED, STORM_CREATE, STORM_KINDS };

struct storm {
  char key[128];
  int count;
  int quit;
  syssem_mode_t mode[PROCS];
  int code[PROCS], recheck[PROCS], value[PROCS];
  int sv_id[PROCS];
  struct ledger led;
  int go[PROCS][2], done[2];
};

static void phase_wait(struct storm *b, int i)
{
  char c;

  if (read(b->go[i][0], &c, 1) != 1)
    _exit(2);
}

static void phase_done(struct storm *b)
{
  char c = 'd';

  if (write(b->done[1], &c, 1) != 1)
    _exit(2);
}

static int storm_worker(void *arg, int i)
{
  struct storm *b = arg;
  syssem_t *s, *again;
  int held;

  for (;;) {
    phase_wait(b, i);
    if (b->quit)
      return 0;
    s = again = NULL;
    held = 0;
    b->code[i] = syssem_open_ex(&s, b->key, b->count, b->mode[i], NULL);
    b->sv_id[i] = s && SYSV ? sysv_id_of_handle(s) : -1;
    phase_done(b);

    phase_wait(b, i);
    b->value[i] = -1;
    if (s)
      WCHECK(value_read(s, &b->value[i]) == SYSSEM_OK);
    phase_done(b);

    phase_wait(b, i);
    if (s && syssem_try_acquire(s, 0) == SYSSEM_OK) {
      ledger_take(&b->led);
      held = 1;
    }
    b->recheck[i] = SYSSEM_OK;
    if (b->mode[i] == SYSSEM_CREATE_NEW && b->code[i] == SYSSEM_EEXIST)
      b->recheck[i] = syssem_open_ex(&again, b->key, 0, SYSSEM_OPEN_EXISTING,
                                     NULL);
    phase_done(b);

    phase_wait(b, i);
    if (held) {
      ledger_give(&b->led);
      WCHECK(syssem_release(s, 1) == SYSSEM_OK);
    }
    syssem_close(again);
    syssem_close(s);
    phase_done(b);
  }
}

static void phase(struct storm *b)
{
  int i, got;

  for (i = 0; i < PROCS; i++)
    assert_int_equal(write(b->go[i][1], "g", 1), 1);
  for (got = 0; got < PROCS; got++)
    assert_true(byte_within(b->done[0], PROMPT_MS));
}

static void storm(enum storm_kind kind)
{
  static const char *const names[] = { "create-new", "mixed", "create" };
  struct storm *b = shared_alloc(sizeof *b);
  syssem_t *pre;
  long rounds = rel_size(20, 150, 2000), r;
  int i, winners, over = 0, split = 0, wrong_value = 0, orphans = 0;
  crew_t c;
  int hung;

  for (i = 0; i < PROCS; i++)
    assert_int_equal(pipe(b->go[i]), 0);
  assert_int_equal(pipe(b->done), 0);
  b->count = 1;
  crew_init(&c);
  for (i = 0; i < PROCS; i++)
    crew_fork(&c, storm_worker, b);
  for (r = 0; r < rounds; r++) {
    snprintf(b->key, sizeof b->key, "%s", key_for("storm"));
    for (i = 0; i < PROCS; i++)
      b->mode[i] = kind == STORM_CREATE_NEW ? SYSSEM_CREATE_NEW
                   : kind == STORM_CREATE   ? SYSSEM_CREATE
                                            : (syssem_mode_t)((i + r) % 4);
    atomic_store(&b->led.holders, 0);
    atomic_store(&b->led.max, 0);
    /* Resets race only where there is something to reset: an object with
     * count 0 is there before the storm of SYSSEM_CREATE opens. */
    pre = kind == STORM_CREATE ? open_or_fail(b->key, 0, SYSSEM_CREATE_NEW)
                               : NULL;
    phase(b); /* open */
    phase(b); /* count */
    phase(b); /* acquire */
    winners = 0;
    for (i = 0; i < PROCS; i++) {
      if (b->code[i] == SYSSEM_OK) {
        if (b->mode[i] == SYSSEM_CREATE_NEW)
          winners++;
        if (b->value[i] != b->count)
          wrong_value++;
      } else if (!(b->code[i] == SYSSEM_EEXIST &&
                   b->mode[i] == SYSSEM_CREATE_NEW) &&
                 !(b->code[i] == SYSSEM_ENOENT &&
                   b->mode[i] == SYSSEM_OPEN_EXISTING)) {
        print_error("round %ld: worker %d mode %d: code %d\n", r, i,
                    (int)b->mode[i], b->code[i]);
        fail();
      }
      if (b->recheck[i] != SYSSEM_OK)
        split++; /* a CREATE_NEW loser that cannot find the winner's object */
    }
    if (kind == STORM_CREATE_NEW && winners != 1)
      split++;
    if (atomic_load(&b->led.max) > b->count)
      over++;
    phase(b); /* release, close */
    syssem_close(pre);
    /* Everything closed: the owners removed the object, and no set lives on
     * without its key file. */
    for (i = 0; i < PROCS; i++)
      if (SYSV && sysv_set_alive(b->sv_id[i]))
        orphans++;
    assert_false(exists(b->key));
  }
  b->quit = 1;
  for (i = 0; i < PROCS; i++) {
    assert_int_equal(write(b->go[i][1], "q", 1), 1);
    close(b->go[i][0]);
  }
  close(b->done[1]);
  assert_int_equal(crew_wait(&c, PROMPT_MS, &hung), 0);
  assert_false(hung);
  for (i = 0; i < PROCS; i++)
    close(b->go[i][1]);
  close(b->done[0]);
  figure("storm", "kind=%s procs=%d rounds=%ld over_admitted=%d split=%d "
         "wrong_count=%d orphans=%d", names[kind], PROCS, rounds, over, split,
         wrong_value, orphans);
  assert_int_equal(over, 0);
  assert_int_equal(split, 0);
  assert_int_equal(wrong_value, 0);
  assert_int_equal(orphans, 0);
  shared_free(b, sizeof *b);
}

static void storm_create_new(void **state)
{
  (void)state;
  storm(STORM_CREATE_NEW);
}

static void storm_mixed(void **state)
{
  (void)state;
  storm(STORM_MIXED);
}

static void storm_create(void **state)
{
  (void)state;
  storm(STORM_CREATE);
}

/* Interleavings -------------------------------------------------------------
 * A child opens (or removes, or closes) with the hook armed at `point`; the
 * parent waits until it stops there, runs `other` in a second child, waits
 * until that one either waits for the lock the first holds or has ended,
 * and lets the first go on. */
struct pair {
  char key[128];
  int initial;
  syssem_mode_t mode;
  int code, value, other_code, other_value;
};

/* A child: arm the hook at point, open key, read the count, write the
 * result to the board, then hold the handle until told to close. */
static pid_t child_open_stopped(struct pair *b, const char *point, int *hold)
{
  pid_t pid = rel_fork();
  syssem_t *s = NULL;
  char c;

  if (pid != 0)
    return pid;
  close(hold[1]);
  stop.point = point;
  b->code = syssem_open_ex(&s, b->key, b->initial, b->mode, NULL);
  b->value = -1;
  if (s != NULL)
    value_read(s, &b->value);
  if (write(stop.paused[1], "o", 1) != 1 || read(hold[0], &c, 1) < 0)
    _exit(2);
  syssem_close(s);
  _exit(0);
}

/* System V: a SYSSEM_CREATE_NEW that made the key file is stopped before its
 * semget; a second SYSSEM_CREATE_NEW runs. The loser must not unlink the
 * file the winner's set hangs on: a third process finds the winner's set,
 * and nothing is orphaned. */
static void create_new_loser_keeps_file(void **state)
{
  struct pair *b = shared_alloc(sizeof *b);
  syssem_t *s, *third;
  int hold[2], st, w;
  pid_t first, second;

  (void)state;
  stop_init();
  assert_int_equal(pipe(hold), 0);
  snprintf(b->key, sizeof b->key, "%s", key_for("cnloser"));
  b->initial = 1;
  b->mode = SYSSEM_CREATE_NEW;
  first = child_open_stopped(b, "sysv-create", hold);
  assert_true(byte_within(stop.paused[0], PROMPT_MS));
  second = rel_fork();
  if (second == 0) {
    s = NULL;
    b->other_code = syssem_open_ex(&s, b->key, 1, SYSSEM_CREATE_NEW, NULL);
    syssem_close(s);
    _exit(0);
  }
  w = blocked_or_done(second, &st);
  assert_int_not_equal(w, -1);
  resume_stopped();
  assert_true(byte_within(stop.paused[0], PROMPT_MS)); /* first opened */
  if (w == 1)
    assert_int_equal(reap(second), 0);
  assert_int_equal(b->code, SYSSEM_OK);
  assert_int_equal(b->other_code, SYSSEM_EEXIST);
  /* The winner's object is the one the key names. */
  third = syssem_open(b->key, 0, SYSSEM_OPEN_EXISTING);
  assert_non_null(third);
  assert_int_equal(syssem_try_acquire(third, 0), SYSSEM_OK);
  assert_int_equal(syssem_release(third, 1), SYSSEM_OK);
  syssem_close(third);
  close(hold[1]); /* the first closes and removes */
  assert_int_equal(reap(first), 0);
  assert_false(exists(b->key));
  close(hold[0]);
  stop_fini();
  shared_free(b, sizeof *b);
}

/* System V: an opener holds a fresh key file and is stopped before making
 * its set; syssem_remove() of the key, which would find "a key file without
 * its set" and sweep it, runs. The opener's set must not be orphaned: once
 * both are done, whatever the opener releases reaches the object the key
 * names. */
static void remove_during_create(void **state)
{
  struct pair *b = shared_alloc(sizeof *b);
  syssem_t *s = NULL, *probe;
  int hold[2], st, w, v = -1;
  pid_t opener, remover;
  int id;

  (void)state;
  stop_init();
  assert_int_equal(pipe(hold), 0);
  snprintf(b->key, sizeof b->key, "%s", key_for("rmcreate"));
  stop.point = "sysv-create";
  opener = rel_fork();
  if (opener == 0) {
    char c;

    close(hold[1]);
    b->code = syssem_open_ex(&s, b->key, 0, SYSSEM_OPEN, NULL);
    if (write(stop.paused[1], "o", 1) != 1 || read(hold[0], &c, 1) < 0)
      _exit(2);
    /* After the removal: a release goes to the object the key names. */
    b->other_code = syssem_release(s, 1);
    if (write(stop.paused[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0)
      _exit(2);
    syssem_close(s);
    _exit(0);
  }
  stop.point = NULL;
  assert_true(byte_within(stop.paused[0], PROMPT_MS));
  remover = rel_fork();
  if (remover == 0)
    _exit(syssem_remove(b->key, NULL) == SYSSEM_OK ? 0 : 1);
  w = blocked_or_done(remover, &st);
  assert_int_not_equal(w, -1);
  resume_stopped();
  assert_true(byte_within(stop.paused[0], PROMPT_MS)); /* opened */
  assert_int_equal(b->code, SYSSEM_OK);
  if (w == 1)
    assert_int_equal(reap(remover), 0); /* it removed the opener's set */
  assert_int_equal(write(hold[1], "c", 1), 1);
  assert_true(byte_within(stop.paused[0], PROMPT_MS)); /* released */
  assert_int_equal(b->other_code, SYSSEM_OK);
  probe = syssem_open(b->key, 0, SYSSEM_OPEN_EXISTING);
  assert_non_null(probe);
  assert_int_equal(syssem_value(probe, &v), SYSSEM_OK);
  assert_int_equal(v, 1);
  id = sysv_id_of_handle(probe);
  syssem_close(probe);
  close(hold[1]);
  assert_int_equal(reap(opener), 0);
  assert_false(exists(b->key));
  assert_false(sysv_set_alive(id));
  close(hold[0]);
  stop_fini();
  shared_free(b, sizeof *b);
}

/* System V: waiters block on a count-0 semaphore; syssem_remove() by key is
 * stopped between removing the set (which wakes the waiters) and unlinking
 * the key file, until every waiter has reacted. Then a release by key must
 * wake every waiter: none may sleep on a set that the key no longer names. */
#define WAITERS 3

struct waitboard {
  char key[128];
  atomic_int woken;
};

/* Persistent: the waiter that recreates the object owns it, and its close
 * would remove it under the waiters still on their way to it. */
static int waiter(void *arg, int i)
{
  struct waitboard *b = arg;
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s = NULL;

  (void)i;
  o.flags = SYSSEM_PERSIST;
  WCHECK(syssem_open_ex(&s, b->key, 0, SYSSEM_OPEN, &o) == SYSSEM_OK);
  WCHECK(syssem_acquire(s) == SYSSEM_OK);
  atomic_fetch_add(&b->woken, 1);
  syssem_close(s);
  return 0;
}

static void remove_under_waiters(void **state)
{
  struct waitboard *b = shared_alloc(sizeof *b);
  syssem_t *keep, *rel;
  pid_t remover;
  crew_t c;
  int i, hung, blocked;
  long long end;
  struct timespec nap = { 0, 1000000L };

  (void)state;
  stop_init();
  snprintf(b->key, sizeof b->key, "%s", key_for("rmwait"));
  /* Persist so that the last waiter's close does not race the check. */
  keep = open_or_fail(b->key, 0, SYSSEM_CREATE_NEW);
  crew_init(&c);
  for (i = 0; i < WAITERS; i++)
    crew_fork(&c, waiter, b);
  /* Each waiter is asleep in semop once the set has WAITERS waiters. */
  end = proc_now_ms() + PROMPT_MS;
  while (semctl(sysv_id_of_handle(keep), 0, GETNCNT) < WAITERS &&
         proc_now_ms() < end)
    nanosleep(&nap, NULL);
  assert_true(semctl(sysv_id_of_handle(keep), 0, GETNCNT) >= WAITERS);
  stop.point = "sysv-removed";
  remover = rel_fork();
  if (remover == 0)
    _exit(syssem_remove(b->key, NULL) == SYSSEM_OK ? 0 : 1);
  stop.point = NULL;
  assert_true(byte_within(stop.paused[0], PROMPT_MS));
  /* The set is gone, the key file still there: the waiters wake (EIDRM) and
   * reopen by key. Let them get as far as they can. */
  end = proc_now_ms() + PROMPT_MS;
  do {
    blocked = 0;
    for (i = 0; i < c.n; i++)
      blocked += waits_for_flock(c.pid[i]);
    if (blocked < WAITERS)
      nanosleep(&nap, NULL);
  } while (blocked < WAITERS && proc_now_ms() < end);
  resume_stopped();
  assert_int_equal(reap(remover), 0);
  /* A release by key, as another program would make it. */
  rel = open_or_fail(b->key, 0, SYSSEM_OPEN);
  assert_int_equal(syssem_release(rel, WAITERS), SYSSEM_OK);
  assert_int_equal(crew_wait(&c, PROMPT_MS, &hung), 0);
  figure("remove-under-waiters", "waiters=%d blocked_on_lock=%d woken=%d",
         WAITERS, blocked, atomic_load(&b->woken));
  assert_false(hung);
  assert_int_equal(atomic_load(&b->woken), WAITERS);
  syssem_close(rel);
  syssem_close(keep); /* its set is long gone: removes nothing new */
  syssem_remove(b->key, NULL);
  assert_false(exists(b->key));
  stop_fini();
  shared_free(b, sizeof *b);
}

/* POSIX: two SYSSEM_CREATE opens of one existing object reset it at once;
 * the first is stopped after reading the count. The second must wait, and
 * the count must end at initial, not at twice it (both post) or 0 (both
 * drain). */
static void concurrent_resets(void **state)
{
  struct pair *b = shared_alloc(sizeof *b);
  syssem_t *s, *holder;
  int hold[2], st, w, k;

  (void)state;
  stop_init();
  assert_int_equal(pipe(hold), 0);
  for (k = 0; k < 2; k++) {
    /* Round 0 from count 0 (both would post), round 1 from count 4 (both
     * would drain). */
    snprintf(b->key, sizeof b->key, "%s", key_for("resets"));
    holder = open_or_fail(b->key, 4, SYSSEM_CREATE_NEW);
    if (k == 0)
      for (w = 0; w < 4; w++)
        assert_int_equal(syssem_try_acquire(holder, 0), SYSSEM_OK);
    b->initial = 2;
    b->mode = SYSSEM_CREATE;
    {
      const char *point = SYSV ? "sysv-reset" : "posix-reset";
      pid_t first = child_open_stopped(b, point, hold), second;

      assert_true(byte_within(stop.paused[0], PROMPT_MS));
      second = rel_fork();
      if (second == 0) {
        s = NULL;
        _exit(syssem_open_ex(&s, b->key, 2, SYSSEM_CREATE, NULL) == 0 ? 0 : 1);
      }
      w = blocked_or_done(second, &st);
      assert_int_not_equal(w, -1);
      resume_stopped();
      assert_true(byte_within(stop.paused[0], PROMPT_MS));
      if (w == 1)
        assert_int_equal(reap(second), 0);
      else
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      assert_int_equal(b->code, SYSSEM_OK);
      assert_int_equal(value_of(holder), 2);
      assert_int_equal(write(hold[1], "c", 1), 1);
      assert_int_equal(reap(first), 0);
    }
    syssem_close(holder);
    syssem_remove(b->key, NULL);
  }
  close(hold[0]);
  close(hold[1]);
  stop_fini();
  shared_free(b, sizeof *b);
}

/* Stale owners --------------------------------------------------------------
 * Two processes open with SYSSEM_CREATE (Qt's habit): both own the object.
 * The first closes and removes it; a third process makes a new object; the
 * second closes. The new object must stay reachable by key, and a count-1
 * semaphore must still have one holder at most. */
static void stale_owner(void **state)
{
  const char *key = key_for("stale");
  syssem_t *a, *b, *c, *d;

  (void)state;
  a = open_or_fail(key, 1, SYSSEM_CREATE);
  b = open_or_fail(key, 1, SYSSEM_CREATE);
  syssem_close(a);
  assert_false(exists(key));
  c = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_true(syssem_created(c));
  assert_int_equal(syssem_try_acquire(c, 0), SYSSEM_OK);
  syssem_close(b); /* stale: its object is gone */
  d = syssem_open(key, 1, SYSSEM_OPEN_EXISTING);
  assert_non_null(d);
  assert_int_equal(syssem_try_acquire(d, 0), SYSSEM_ETIMEDOUT);
  assert_int_equal(syssem_release(c, 1), SYSSEM_OK);
  assert_int_equal(syssem_try_acquire(d, 0), SYSSEM_OK);
  assert_int_equal(syssem_release(d, 1), SYSSEM_OK);
  syssem_close(d);
  syssem_close(c);
  assert_false(exists(key));
}

/* The same with the stale owner in another process, closing while the new
 * object's users hold and wait. */
static void stale_owner_processes(void **state)
{
  const char *key = key_for("stalep");
  struct pair *b = shared_alloc(sizeof *b);
  syssem_t *a, *c, *d;
  int hold[2];
  pid_t stale;

  (void)state;
  stop_init();
  assert_int_equal(pipe(hold), 0);
  a = open_or_fail(key, 1, SYSSEM_CREATE);
  snprintf(b->key, sizeof b->key, "%s", key);
  b->initial = 1;
  b->mode = SYSSEM_CREATE;
  stale = child_open_stopped(b, "no-such-point", hold);
  assert_true(byte_within(stop.paused[0], PROMPT_MS));
  assert_int_equal(b->code, SYSSEM_OK);
  syssem_close(a);
  c = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_try_acquire(c, 0), SYSSEM_OK);
  assert_int_equal(write(hold[1], "c", 1), 1);
  assert_int_equal(reap(stale), 0);
  d = syssem_open(key, 1, SYSSEM_OPEN_EXISTING);
  assert_non_null(d);
  assert_int_equal(syssem_try_acquire(d, 0), SYSSEM_ETIMEDOUT);
  syssem_close(d);
  assert_int_equal(syssem_release(c, 1), SYSSEM_OK);
  syssem_close(c);
  assert_false(exists(key));
  close(hold[0]);
  close(hold[1]);
  stop_fini();
  shared_free(b, sizeof *b);
}

/* Removal under openers: workers open, take, give back and close while
 * another removes the key again and again. Nothing may hang, and once all
 * is over no set may live on without its key file. */
struct rmboard {
  char key[128];
  atomic_int stop;
  int ids[PROCS][64];
  int nids[PROCS];
};

static int rm_worker(void *arg, int i)
{
  struct rmboard *b = arg;
  syssem_t *s;
  int r;

  while (!atomic_load(&b->stop)) {
    s = NULL;
    r = syssem_open_ex(&s, b->key, 1, i % 2 ? SYSSEM_OPEN : SYSSEM_CREATE,
                       NULL);
    WCHECK(r == SYSSEM_OK || r == SYSSEM_ENOENT);
    if (s == NULL)
      continue;
    if (SYSV && b->nids[i] < 64)
      b->ids[i][b->nids[i]++] = sysv_id_of_handle(s);
    r = syssem_try_acquire(s, 50);
    WCHECK(r == SYSSEM_OK || r == SYSSEM_ETIMEDOUT || r == SYSSEM_ENOENT);
    if (r == SYSSEM_OK)
      WCHECK(syssem_release(s, 1) == SYSSEM_OK ||
             syssem_last_error() == SYSSEM_ENOENT);
    syssem_close(s);
  }
  return 0;
}

static void remove_under_openers(void **state)
{
  struct rmboard *b = shared_alloc(sizeof *b);
  long removals = rel_size(50, 300, 3000), n;
  int i, j, orphans = 0, hung, r;
  crew_t c;

  (void)state;
  snprintf(b->key, sizeof b->key, "%s", key_for("rmopen"));
  crew_init(&c);
  for (i = 0; i < 4; i++)
    crew_fork(&c, rm_worker, b);
  for (n = 0; n < removals; n++) {
    r = syssem_remove(b->key, NULL);
    assert_true(r == SYSSEM_OK || r == SYSSEM_ENOENT);
    sched_yield();
  }
  atomic_store(&b->stop, 1);
  assert_int_equal(crew_wait(&c, PROMPT_MS, &hung), 0);
  assert_false(hung);
  syssem_remove(b->key, NULL);
  for (i = 0; i < 4; i++)
    for (j = 0; j < b->nids[i]; j++)
      orphans += sysv_set_alive(b->ids[i][j]);
  figure("remove-under-openers", "removals=%ld orphans=%d", removals, orphans);
  assert_int_equal(orphans, 0);
  assert_false(exists(b->key));
  shared_free(b, sizeof *b);
}

/* Another PID namespace (root) ------------------------------------------------
 * The last process to operate on the set is invisible from a new PID
 * namespace, where GETPID reads 0. The open must not wait for it, and must
 * not touch the count. */
static void other_pid_namespace(void **state)
{
  const char *key = key_for("pidns");
  syssem_t *s;
  pid_t pid;
  int k;

  (void)state;
  s = open_or_fail(key, 3, SYSSEM_CREATE_NEW);
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  for (k = 0; k < 2; k++) {
    pid = rel_fork();
    if (pid == 0) {
      pid_t inner;

      if (unshare(CLONE_NEWPID) != 0)
        _exit(10);
      inner = fork(); /* the first child is pid 1 of the new namespace */
      if (inner == 0) {
        long long t0 = proc_now_ms();
        syssem_t *o = syssem_open(key, 5, SYSSEM_OPEN);
        int v = -1;

        if (o == NULL || value_read(o, &v) != SYSSEM_OK)
          _exit(11);
        if (v != 1)
          _exit(12);
        if (proc_now_ms() - t0 > PROMPT_MS / 4)
          _exit(13);
        syssem_close(o);
        _exit(getpid() == 1 ? 0 : 14);
      }
      _exit(inner > 0 ? reap(inner) : 15);
    }
    assert_int_equal(reap(pid), 0);
    assert_int_equal(value_of(s), 1);
  }
  assert_int_equal(syssem_release(s, 2), SYSSEM_OK);
  syssem_close(s);
  assert_false(exists(key));
}

/* Permissions without owner write (System V needs write permission to set
 * the count; an unprivileged creator must still manage). */
static void create_read_only_perms(void **state)
{
  static const unsigned perms[] = { 0400, 0440, 0444, 0404 };
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  unsigned mode;
  uid_t uid;
  syssem_t *s;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof perms / sizeof perms[0]; i++) {
    const char *key = key_for("rdonly");

    o.permissions = perms[i];
    s = NULL;
    assert_int_equal(syssem_open_ex(&s, key, 3, SYSSEM_CREATE_NEW, &o),
                     SYSSEM_OK);
    assert_int_equal(value_of(s), 3);
    assert_int_equal(object_stat(syssem_native_key(s), SYSV, &uid, &mode), 0);
    assert_int_equal(mode, perms[i]);
    syssem_close(s);
    assert_false(exists(key));
  }
}

/* Key files where none can be: a missing directory or one that takes no
 * files is a key error, a read-only file system a permission error; and
 * nothing is created. */
static void key_file_places(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s = NULL;

  (void)state;
  o.keyform = SYSSEM_KEYFORM_NATIVE;
  assert_int_equal(syssem_open_ex(&s, "/nonexistent-syssem-dir/k", 1,
                                  SYSSEM_OPEN, &o), SYSSEM_EKEY);
  assert_null(s);
  fixture_setenv("TMPDIR", "/proc");
  assert_int_equal(syssem_open_ex(&s, key_for("proc"), 1, SYSSEM_OPEN, NULL),
                   SYSSEM_EKEY);
  assert_null(s);
}

static void read_only_file_system(void **state)
{
  pid_t pid;
  int st;

  (void)state;
  pid = rel_fork();
  if (pid == 0) {
    char dir[] = "/tmp/syssem-rofs-XXXXXX";
    syssem_t *s = NULL;
    int r;

    if (mkdtemp(dir) == NULL)
      _exit(10);
    /* Our mounts must not reach the machine's namespace: the tree that
     * holds dir is made private ("/", or in a chroot where "/" is no mount
     * point, "/tmp"). */
    if (unshare(CLONE_NEWNS) != 0 ||
        (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 &&
         mount("none", "/tmp", NULL, MS_REC | MS_PRIVATE, NULL) != 0)) {
      rmdir(dir);
      _exit(13);
    }
    if (mount("syssem-rofs", dir, "tmpfs", MS_RDONLY, NULL) != 0) {
      rmdir(dir);
      _exit(11);
    }
    setenv("TMPDIR", dir, 1);
    r = syssem_open_ex(&s, key_for("rofs"), 1, SYSSEM_OPEN, NULL);
    umount(dir);
    rmdir(dir);
    _exit(r == SYSSEM_EPERM && s == NULL ? 0 : 12);
  }
  st = reap(pid);
  if (st == 13) {
    print_message("SKIP: read_only_file_system: no private mount namespace "
                  "here (neither / nor /tmp is a mount point)\n");
    skip();
  }
  assert_int_equal(st, 0);
}

/* System V undo bound: a process that only takes (a consumer whose tokens
 * a producer gives) reaches the kernel's per-process bound after 32,767
 * unbalanced acquisitions: the next acquire says SYSSEM_EOVERFLOW with a
 * message about the undo bound, not about the count; with SYSSEM_NO_UNDO
 * there is no bound; and at the consumer's exit its acquisitions are given
 * back. */
static void undo_bound_consumer(void **state)
{
  const char *key = key_for("undobound");
  syssem_options_t nu = SYSSEM_OPTIONS_INIT;
  syssem_t *producer;
  pid_t pid;

  (void)state;
  nu.flags = SYSSEM_NO_UNDO;
  producer = NULL;
  assert_int_equal(syssem_open_ex(&producer, key, 32767, SYSSEM_CREATE_NEW,
                                  &nu), SYSSEM_OK);
  pid = rel_fork();
  if (pid == 0) {
    syssem_t *s = syssem_open(key, 0, SYSSEM_OPEN);
    syssem_t *free_run = NULL;
    int i;

    WCHECK(s != NULL);
    for (i = 0; i < 32767; i++)
      WCHECK(syssem_acquire(s) == SYSSEM_OK);
    WCHECK(syssem_open_ex(&free_run, key, 0, SYSSEM_OPEN, &nu) == SYSSEM_OK);
    WCHECK(syssem_release(free_run, 2) == SYSSEM_OK);
    WCHECK(syssem_try_acquire(s, 0) == SYSSEM_EOVERFLOW);
    WCHECK(strstr(syssem_last_error_message(), "undo") != NULL);
    WCHECK(syssem_acquire(s) == SYSSEM_EOVERFLOW);
    WCHECK(syssem_try_acquire(free_run, 0) == SYSSEM_OK);
    WCHECK(syssem_try_acquire(free_run, 0) == SYSSEM_OK);
    syssem_close(free_run);
    syssem_close(s);
    _exit(0); /* the kernel gives the 32,767 back */
  }
  assert_int_equal(reap(pid), 0);
  assert_int_equal(value_of(producer), 32767);
  syssem_close(producer);
  assert_false(exists(key));
}

/* Thread cancellation, as docs/semantics.md states it: a POSIX acquire is a
 * cancellation point and a cancelled waiter takes no token; a System V
 * acquire is not one, so the cancelled thread goes on waiting, takes the
 * next token, and dies holding it at its next cancellation point. */
static void *cancel_waiter(void *arg)
{
  syssem_acquire(arg);
  pthread_testcancel();
  return NULL;
}

static void cancellation(void **state)
{
  const char *key = key_for("cancel");
  syssem_t *s = open_or_fail(key, 0, SYSSEM_CREATE_NEW);
  struct timespec until;
  pthread_t t;
  void *res = NULL;
  int r;

  (void)state;
  assert_int_equal(pthread_create(&t, NULL, cancel_waiter, s), 0);
  /* The waiter is asleep once the count has a waiter (System V), or soon;
   * cancellation acts either at once or never, whenever it is sent. */
  assert_int_equal(pthread_cancel(t), 0);
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  r = pthread_timedjoin_np(t, &res, &until);
  if (SYSV) {
    assert_int_equal(r, ETIMEDOUT); /* still waiting */
    assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    assert_int_equal(pthread_join(t, &res), 0);
    assert_true(res == PTHREAD_CANCELED);
    assert_int_equal(value_of(s), 0); /* it died with the token */
  } else {
    assert_int_equal(r, 0);
    assert_true(res == PTHREAD_CANCELED);
    assert_int_equal(value_of(s), 0);
    assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
    assert_int_equal(value_of(s), 1); /* the token was not taken */
  }
  syssem_close(s);
  assert_false(exists(key));
}

/* A child that opens key, then releases (op > 0) or takes (op < 0) one
 * token with SEM_UNDO, says so with a byte on `said`, and waits without
 * closing until undo_child_end() terminates it: its undo is applied then. */
static pid_t undo_child(const char *key, int op, int said)
{
  pid_t pid = rel_fork();

  if (pid == 0) {
    syssem_t *s = syssem_open(key, 0, SYSSEM_OPEN);
    char b = 'd';

    WCHECK(s != NULL);
    WCHECK((op > 0 ? syssem_release(s, 1) : syssem_try_acquire(s, 0)) ==
           SYSSEM_OK);
    WCHECK(write(said, &b, 1) == 1);
    for (;;)
      pause();
  }
  assert_true(byte_within(stop.paused[0], PROMPT_MS));
  return pid;
}

static void undo_child_end(pid_t pid)
{
  int st;

  kill(pid, SIGTERM);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

/* The undo clamp (docs/semantics.md, "Crash behaviour"): at exit the kernel
 * applies a process's undo adjustment but never takes the count below 0. A
 * producer's release that consumers took is not taken back at the
 * producer's exit; when the consumers exit, their acquisitions are given
 * back: the semaphore made with 1 ends with 2. */
static void undo_clamp_producer(void **state)
{
  syssem_options_t nu = SYSSEM_OPTIONS_INIT;
  char key[128];
  syssem_t *keep = NULL;
  pid_t producer, c1, c2;

  (void)state;
  stop_init();
  snprintf(key, sizeof key, "%s", key_for("clamp"));
  nu.flags = SYSSEM_NO_UNDO;
  assert_int_equal(syssem_open_ex(&keep, key, 1, SYSSEM_CREATE_NEW, &nu),
                   SYSSEM_OK);
  producer = undo_child(key, +1, stop.paused[1]);
  assert_int_equal(value_of(keep), 2);
  c1 = undo_child(key, -1, stop.paused[1]);
  c2 = undo_child(key, -1, stop.paused[1]);
  assert_int_equal(value_of(keep), 0);
  undo_child_end(producer);
  assert_int_equal(value_of(keep), 0); /* -1 on 0: dropped */
  undo_child_end(c1);
  undo_child_end(c2);
  assert_int_equal(value_of(keep), 2); /* one token more than made */
  syssem_close(keep);
  assert_false(exists(key));
  stop_fini();
}

/* A reset while tokens are held (docs/semantics.md, "SYSSEM_CREATE on an
 * existing object"): the count is set as if nobody held a token, so every
 * holder at that moment is one holder too many: four holders of a count-2
 * semaphore. SETVAL also wipes their undo adjustment, so their exit gives
 * nothing back, and the count ends where the reset put it. */
static void reset_while_held(void **state)
{
  syssem_options_t persist = SYSSEM_OPTIONS_INIT;
  char key[128];
  syssem_t *keep, *reset = NULL;
  pid_t a, b, c, d;

  (void)state;
  stop_init();
  snprintf(key, sizeof key, "%s", key_for("resetheld"));
  persist.flags = SYSSEM_PERSIST;
  keep = open_or_fail(key, 2, SYSSEM_CREATE_NEW);
  a = undo_child(key, -1, stop.paused[1]);
  b = undo_child(key, -1, stop.paused[1]);
  assert_int_equal(value_of(keep), 0);
  assert_int_equal(syssem_open_ex(&reset, key, 2, SYSSEM_CREATE, &persist),
                   SYSSEM_OK);
  syssem_close(reset);
  c = undo_child(key, -1, stop.paused[1]);
  d = undo_child(key, -1, stop.paused[1]);
  /* a, b, c and d hold a token each, all alive now. */
  assert_int_equal(value_of(keep), 0);
  undo_child_end(a);
  undo_child_end(b);
  assert_int_equal(value_of(keep), 0); /* wiped: nothing given back */
  undo_child_end(c);
  undo_child_end(d);
  assert_int_equal(value_of(keep), 2);
  syssem_close(keep);
  assert_false(exists(key));
  stop_fini();
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(storm_create_new),
    TEST(storm_mixed),
    TEST(storm_create),
    TEST_IF(create_new_loser_keeps_file, on_sysv),
    TEST_IF(remove_during_create, on_sysv),
    TEST_IF(remove_under_waiters, on_sysv),
    TEST(concurrent_resets),
    TEST(stale_owner),
    TEST(stale_owner_processes),
    TEST(remove_under_openers),
    ROOT_TEST(other_pid_namespace, "unshare(CLONE_NEWPID)"),
    TEST(create_read_only_perms),
    TEST_IF(key_file_places, on_sysv),
    ROOT_TEST_IF(read_only_file_system, on_sysv,
                 "a private mount namespace (unshare(CLONE_NEWNS), mount)"),
    TEST_IF(undo_bound_consumer, on_sysv),
    TEST(cancellation),
    TEST_IF(undo_clamp_producer, on_sysv),
    TEST_IF(reset_while_held, on_sysv),
  };

  /* Under Valgrind the windows these tests aim at are many times wider and
   * differently placed, and workers that end with _exit while they hold a
   * handle count as leaks: such a run says nothing about the library. */
  if (!not_valgrind()) {
    printf("SKIP: races: not run under Valgrind\n");
    return 77;
  }
  return TEST_MAIN("races", tests);
}
