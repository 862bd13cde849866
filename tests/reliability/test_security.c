/*
 * Hostile key files and other users (the root-only tests: the other user
 * is "nobody", reached by setuid in a forked child, as setpriv would).
 *  - Something planted at the System V key-file path (a symlink to a file, a
 *    dangling symlink, a symlink to a directory, a FIFO) is refused with
 *    SYSSEM_EKEY by every mode and by syssem_remove, and neither it nor what
 *    it points to is changed, created or opened.
 *  - A key file or a semaphore owned by another user is used without being
 *    followed, chmod'ed, chown'ed or, for a native key file, deleted.
 *  - nobody gets SYSSEM_EPERM on root's 0600 semaphore, and works with it
 *    when it was created 0666 (under umask 077); nobody's close removes
 *    nothing of root's.
 *  - The requested permissions are exact under umask 077 and 022.
 *
 * SPDX-License-Identifier: MIT
 */
#include "rel.h"

#include <grp.h>
#include <pwd.h>

static uid_t nobody_uid(gid_t *gid)
{
  struct passwd *pw = getpwnam("nobody");

  assert_non_null(pw);
  *gid = pw->pw_gid;
  return pw->pw_uid;
}

/* Run fn(arg) in a child that has become nobody; its exit status. */
static int as_nobody(int (*fn)(void *), void *arg)
{
  gid_t gid;
  uid_t uid = nobody_uid(&gid);
  pid_t pid;
  int st;

  pid = rel_fork();
  if (pid == 0) {
    WCHECK(setgroups(0, NULL) == 0);
    WCHECK(setgid(gid) == 0);
    WCHECK(setuid(uid) == 0);
    WCHECK(geteuid() == uid);
    _exit(fn(arg));
  }
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Owner and permission bits of the object behind s. */
static void handle_stat(syssem_t *s, uid_t *uid, unsigned *mode)
{
  assert_int_equal(object_stat(syssem_native_key(s), SYSV, uid, mode), 0);
}

/* The legacy key-file path of key (System V), learnt from a short open. */
static void key_path(const char *key, char *buf, size_t len)
{
  syssem_t *s = open_or_fail(key, 0, SYSSEM_CREATE_NEW);

  snprintf(buf, len, "%s", syssem_native_key(s));
  syssem_close(s);
  assert_int_equal(access(buf, F_OK), -1);
}

/* What must not change about a file: identity, owner, bits, size, times. */
static int same_file(const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
         a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
         a->st_mode == b->st_mode && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

/* Every way in refuses the planted node with SYSSEM_EKEY. */
static void refused_everywhere(const char *key, const syssem_options_t *o)
{
  syssem_t *s;
  int m;

  for (m = SYSSEM_OPEN; m <= SYSSEM_CREATE_NEW; m++) {
    assert_int_equal(syssem_open_ex(&s, key, 1, (syssem_mode_t)m, o),
                     SYSSEM_EKEY);
    assert_null(s);
  }
  assert_int_equal(syssem_remove(key, o), SYSSEM_EKEY);
}

static void planted_key_file(void **state)
{
  const char *key = key_for("planted"), *scratch = fixture_dir();
  char path[512], target[600], dir[600], dangling[600];
  struct stat before, after, dbefore, dafter;
  syssem_options_t native = SYSSEM_OPTIONS_INIT;
  int kind;

  (void)state;
  key_path(key, path, sizeof path);
  snprintf(target, sizeof target, "%s/target", scratch);
  snprintf(dir, sizeof dir, "%s/dir", scratch);
  snprintf(dangling, sizeof dangling, "%s/absent", scratch);
  write_file(target, "precious\n", 0640);
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(stat(target, &before), 0);
  assert_int_equal(stat(dir, &dbefore), 0);

  for (kind = 0; kind < 4; kind++) {
    switch (kind) {
    case 0: assert_int_equal(symlink(target, path), 0); break;
    case 1: assert_int_equal(symlink(dangling, path), 0); break;
    case 2: assert_int_equal(symlink(dir, path), 0); break;
    default: assert_int_equal(mkfifo(path, 0600), 0); break; /* must not block */
    }
    refused_everywhere(key, NULL);
    /* The same node named by a native key. */
    native.keyform = SYSSEM_KEYFORM_NATIVE;
    refused_everywhere(path, &native);
    /* Nothing followed: the target, the directory, the absent file. */
    assert_int_equal(stat(target, &after), 0);
    assert_true(same_file(&before, &after));
    assert_int_equal(stat(dir, &dafter), 0);
    assert_true(same_file(&dbefore, &dafter));
    assert_int_equal(access(dangling, F_OK), -1);
    /* No set named by the target either. */
    assert_int_equal(sysv_id_of(target), -1);
    assert_int_equal(unlink(path), 0);
  }
  figure("planted-key-file", "kinds=4 (symlink to file, dangling symlink, "
         "symlink to directory, fifo) modes=4+remove keyforms=2 refused=all "
         "target_changed=0");
}

static void foreign_key_file(void **state)
{
  const char *key = key_for("foreignfile"), *scratch = fixture_dir();
  syssem_options_t native = SYSSEM_OPTIONS_INIT;
  char path[512], nfile[600];
  struct stat before, after;
  syssem_t *s;
  gid_t gid;
  uid_t uid = nobody_uid(&gid);

  (void)state;
  /* Legacy: nobody's regular file at the key path is used as it is. */
  key_path(key, path, sizeof path);
  write_file(path, "nobody's\n", 0644);
  assert_int_equal(chown(path, uid, gid), 0);
  assert_int_equal(stat(path, &before), 0);
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  assert_int_equal(stat(path, &after), 0);
  assert_true(same_file(&before, &after));
  syssem_close(s); /* legacy: the owner removes the key file, as Qt does */
  unlink(path);

  /* Native: nobody's key file is never changed or deleted. */
  snprintf(nfile, sizeof nfile, "%s/nobodys-key", scratch);
  write_file(nfile, "nobody's\n", 0644);
  assert_int_equal(chown(nfile, uid, gid), 0);
  assert_int_equal(stat(nfile, &before), 0);
  native.keyform = SYSSEM_KEYFORM_NATIVE;
  assert_int_equal(syssem_open_ex(&s, nfile, 1, SYSSEM_CREATE_NEW, &native),
                   SYSSEM_OK);
  syssem_close(s);
  assert_int_equal(stat(nfile, &after), 0);
  assert_true(same_file(&before, &after));
  assert_int_equal(syssem_remove(nfile, &native), SYSSEM_ENOENT);
}

/* nobody's side of the tests below. */
struct visit {
  char key[128];
  unsigned perms;
  int codes[8];
};

static int nobody_creates(void *arg)
{
  struct visit *v = arg;
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  syssem_t *s;

  o.permissions = v->perms;
  o.flags = SYSSEM_PERSIST;
  v->codes[0] = syssem_open_ex(&s, v->key, 3, SYSSEM_CREATE_NEW, &o);
  syssem_close(s);
  return 0;
}

static void foreign_semaphore(void **state)
{
  struct visit *v = shared_alloc(sizeof *v);
  unsigned mode;
  syssem_t *s;
  uid_t owner;
  gid_t gid;
  uid_t uid = nobody_uid(&gid);

  (void)state;
  snprintf(v->key, sizeof v->key, "%s", key_for("foreignsem"));
  v->perms = 0600;
  assert_int_equal(as_nobody(nobody_creates, v), 0);
  assert_int_equal(v->codes[0], SYSSEM_OK);
  /* root attaches: no change of count, owner or bits, nothing removed. */
  s = open_or_fail(v->key, 1, SYSSEM_OPEN);
  assert_int_equal(syssem_created(s), 0);
  assert_int_equal(value_of(s), 3);
  handle_stat(s, &owner, &mode);
  assert_int_equal(owner, uid);
  assert_int_equal(mode, 0600);
  syssem_close(s);
  assert_true(exists(v->key));
  assert_int_equal(syssem_remove(v->key, NULL), SYSSEM_OK);
  shared_free(v, sizeof *v);
}

static int nobody_visits(void *arg)
{
  struct visit *v = arg;
  syssem_t *s;
  int m, value = -1;

  for (m = SYSSEM_OPEN; m <= SYSSEM_CREATE_NEW; m++) {
    v->codes[m] = syssem_open_ex(&s, v->key, 1, (syssem_mode_t)m, NULL);
    if (v->codes[m] == SYSSEM_OK && m == SYSSEM_OPEN) {
      v->codes[4] = syssem_try_acquire(s, 0);
      v->codes[5] = syssem_release(s, 1);
      v->codes[6] = syssem_value(s, &value);
    }
    syssem_close(s);
  }
  v->codes[7] = syssem_remove(v->key, NULL);
  return 0;
}

static void other_user(unsigned perms)
{
  struct visit *v = shared_alloc(sizeof *v);
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  mode_t old = umask(077);
  syssem_t *s;

  int i;

  for (i = 0; i < 8; i++)
    v->codes[i] = 1; /* "not run" */
  snprintf(v->key, sizeof v->key, "%s", key_for("otheruser"));
  o.permissions = perms;
  assert_int_equal(syssem_open_ex(&s, v->key, 2, SYSSEM_CREATE_NEW, &o),
                   SYSSEM_OK);
  umask(old);
  assert_int_equal(as_nobody(nobody_visits, v), 0);
  figure(perms == 0600 ? "other-user-0600" : "other-user-0666",
         "open=%d create=%d open_existing=%d create_new=%d try=%d release=%d "
         "value=%d remove=%d (1: not run)",
         v->codes[0], v->codes[1], v->codes[2], v->codes[3], v->codes[4],
         v->codes[5], v->codes[6], v->codes[7]);
  if (perms == 0600) {
    assert_int_equal(v->codes[SYSSEM_OPEN], SYSSEM_EPERM);
    assert_int_equal(v->codes[SYSSEM_CREATE], SYSSEM_EPERM);
    assert_int_equal(v->codes[SYSSEM_OPEN_EXISTING], SYSSEM_EPERM);
    assert_true(v->codes[SYSSEM_CREATE_NEW] == SYSSEM_EEXIST ||
                v->codes[SYSSEM_CREATE_NEW] == SYSSEM_EPERM);
    assert_int_equal(v->codes[7], SYSSEM_EPERM);
    assert_int_equal(value_of(s), 2);
  } else {
    assert_int_equal(v->codes[SYSSEM_OPEN], SYSSEM_OK);
    assert_int_equal(v->codes[4], SYSSEM_OK);
    assert_int_equal(v->codes[5], SYSSEM_OK);
    /* A count POSIX cannot read on Apple systems says so to anybody. */
    assert_int_equal(v->codes[6], value_enosys() ? SYSSEM_ENOSYS : SYSSEM_OK);
    /* nobody's CREATE sets the count to 1 (it may: 0666); its close, as
     * owner by CREATE, then removes the object: Qt's rule for Unix. The
     * last two ran on whatever that left. */
  }
  syssem_close(s);
  syssem_remove(v->key, NULL);
  shared_free(v, sizeof *v);
}

static void other_user_0600(void **state)
{
  (void)state;
  other_user(0600);
}

static void other_user_0666(void **state)
{
  (void)state;
  other_user(0666);
}

static void exact_permissions(void **state)
{
  static const unsigned perms[] = { 0600, 0640, 0644, 0660, 0666, 0604, 0400 };
  static const mode_t masks[] = { 077, 022 };
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  unsigned mode;
  struct stat st;
  size_t i, j;
  syssem_t *s;
  uid_t uid;

  (void)state;
  for (j = 0; j < 2; j++) {
    mode_t old = umask(masks[j]);

    for (i = 0; i < sizeof perms / sizeof perms[0]; i++) {
      o.permissions = perms[i];
      assert_int_equal(
          syssem_open_ex(&s, key_for("perms"), 1, SYSSEM_CREATE_NEW, &o),
          SYSSEM_OK);
      handle_stat(s, &uid, &mode);
      if (mode != perms[i])
        fail_msg("umask %03o: asked %03o, object has %03o", (unsigned)masks[j],
                 perms[i], mode);
      if (SYSV) {
        assert_int_equal(stat(syssem_native_key(s), &st), 0);
        assert_int_equal(st.st_mode & 0777, perms[i] & 0666);
      }
      syssem_close(s);
    }
    umask(old);
  }
  figure("exact-permissions", "umasks=077,022 perms=0600,0640,0644,0660,0666,"
         "0604,0400 all_exact=1");
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(exact_permissions),
    TEST_IF(planted_key_file, on_sysv),
    ROOT_TEST(other_user_0600, "setuid to nobody"),
    ROOT_TEST(other_user_0666, "setuid to nobody"),
    ROOT_TEST(foreign_semaphore, "setuid to nobody"),
    ROOT_TEST_IF(foreign_key_file, on_sysv, "chown to nobody"),
  };

  return TEST_MAIN("security", tests);
}
