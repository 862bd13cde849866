/*
 * Behaviour only Windows has: the mode rule of CreateSemaphoreW, objects
 * freed with their last handle, UTF-16 names and their namespaces, the
 * count read through NtQuerySemaphore, and the mapping of Windows errors.
 * Run with SYSSEM_BACKEND=win32.
 *
 * SPDX-License-Identifier: MIT
 */
#include "api.h"

#include <limits.h>
#include <wchar.h>
#include <windows.h>

#include "threads.h"

/* Open with the native keyform: key is the object name. */
static int open_native(syssem_t **s, const char *name, int initial,
                       syssem_mode_t mode)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;

  o.keyform = SYSSEM_KEYFORM_NATIVE;
  return syssem_open_ex(s, name, initial, mode, &o);
}

/* 1 if a semaphore exists under the UTF-16 name (asked of Windows itself,
 * not through the library). */
static int wide_exists(const wchar_t *name)
{
  HANDLE h = OpenSemaphoreW(SYNCHRONIZE, FALSE, name);

  if (h == NULL)
    return 0;
  CloseHandle(h);
  return 1;
}

/* The UTF-16 form of an ASCII string followed by a UTF-16 tail. */
static const wchar_t *widen(const char *ascii, const wchar_t *tail)
{
  static wchar_t w[512];
  size_t i;

  for (i = 0; ascii[i] != '\0'; i++)
    w[i] = (wchar_t)(unsigned char)ascii[i];
  w[i] = L'\0';
  wcscat(w, tail);
  return w;
}

/* The last error is code and its message names call. */
static void failed_in(int code, const char *call)
{
  assert_int_equal(syssem_last_error(), code);
  if (strstr(syssem_last_error_message(), call) == NULL)
    print_error("message '%s' does not name %s\n",
                syssem_last_error_message(), call);
  assert_non_null(strstr(syssem_last_error_message(), call));
}

/* Open modes, the Windows rule (docs/semantics.md) ------------------------ */

/* OPEN and CREATE on an existing object both attach, leave its count alone
 * and ignore initial, in this process and in another. */
static void open_and_create_keep_count(void **state)
{
  const char *key = key_for("modes");
  syssem_t *s, *t, *u;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 2, SYSSEM_CREATE);
  assert_int_equal(syssem_created(s), 1);
  assert_int_equal(value_of(s), 2);
  assert_int_equal(syssem_acquire(s), SYSSEM_OK);
  t = open_or_fail(key, 7, SYSSEM_OPEN);
  u = open_or_fail(key, 9, SYSSEM_CREATE);
  assert_int_equal(syssem_created(t), 0);
  assert_int_equal(syssem_created(u), 0);
  assert_int_equal(value_of(u), 1);
  p = helper_open(key, 5, "create", "ok 0");
  helper_do(p, "value", "value 1");
  helper_quit(p);
  p = helper_open(key, 5, "open", "ok 0");
  helper_do(p, "value", "value 1");
  helper_quit(p);
  assert_int_equal(value_of(s), 1);
  syssem_close(u);
  syssem_close(t);
  syssem_close(s);
  assert_false(exists(key));
}

/* OPEN_EXISTING attaches only; CREATE_NEW creates only, and a refused
 * CREATE_NEW keeps no handle (the object goes with the last real one). */
static void open_existing_create_new(void **state)
{
  const char *key = key_for("extensions");
  syssem_t *s, *t;

  (void)state;
  assert_null(syssem_open(key, 1, SYSSEM_OPEN_EXISTING));
  failed_in(SYSSEM_ENOENT, "OpenSemaphoreW");
  assert_false(exists(key));
  s = open_or_fail(key, 3, SYSSEM_CREATE_NEW);
  assert_int_equal(syssem_created(s), 1);
  assert_null(syssem_open(key, 1, SYSSEM_CREATE_NEW));
  failed_in(SYSSEM_EEXIST, "CreateSemaphoreW");
  t = open_or_fail(key, 1, SYSSEM_OPEN_EXISTING);
  assert_int_equal(syssem_created(t), 0);
  assert_int_equal(value_of(t), 3);
  syssem_close(t);
  syssem_close(s);
  assert_null(syssem_open(key, 1, SYSSEM_OPEN_EXISTING));
  assert_int_equal(syssem_last_error(), SYSSEM_ENOENT);
}

/* Lifetime ---------------------------------------------------------------- */

/* Closing only closes the handle: the creator's close does not remove the
 * object, and SYSSEM_PERSIST cannot keep it past its last handle. */
static void last_handle_frees(void **state)
{
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  const char *key = key_for("lasthandle");
  syssem_t *s, *t;

  (void)state;
  s = open_or_fail(key, 4, SYSSEM_OPEN);
  t = open_or_fail(key, 0, SYSSEM_OPEN_EXISTING);
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  syssem_close(s); /* the creator */
  assert_true(exists(key));
  assert_int_equal(value_of(t), 3);
  syssem_close(t);
  assert_false(exists(key));

  o.flags = SYSSEM_PERSIST | SYSSEM_NO_UNDO; /* accepted, no effect here */
  key = key_for("persistless");
  assert_int_equal(syssem_open_ex(&s, key, 1, SYSSEM_OPEN, &o), SYSSEM_OK);
  syssem_close(s);
  assert_false(exists(key));
  assert_int_equal(syssem_remove(key, NULL), SYSSEM_ENOSYS);
}

/* The creator process ends, by exit or killed: with it goes its handle, and
 * the object with its last handle; another handle keeps it and its count. */
static void creator_exit_frees(void **state)
{
  const char *key = key_for("creatorexit");
  syssem_t *s;
  proc_t *p;

  (void)state;
  p = helper_open(key, 1, "open", "ok 1");
  assert_true(exists(key));
  helper_quit(p);
  assert_false(exists(key));

  p = helper_open(key, 1, "create_new", "ok 1");
  helper_do(p, "release 2", "ok");
  proc_kill(p);
  assert_int_not_equal(proc_wait(p), 0);
  assert_false(exists(key));

  p = helper_open(key, 1, "create", "ok 1");
  s = open_or_fail(key, 0, SYSSEM_OPEN_EXISTING);
  helper_do(p, "release 2", "ok");
  helper_quit(p);
  assert_int_equal(value_of(s), 3);
  syssem_close(s);
  assert_false(exists(key));
}

/* Names ------------------------------------------------------------------- */

/* Legacy keys give the stem of docs/keys.md, the one Unix derives, and
 * Windows knows the object under exactly that UTF-16 name. */
static void legacy_stems(void **state)
{
  static const struct {
    const char *key, *stem;
  } v[] = {
    { "org.example.myapp-12345",
      "qipc_systemsem_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091" },
    { "Gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c \xe2\x80\x94 win32 "
      "vector \xf0\x9d\x84\x9e",
      "qipc_systemsem_Grewinvectord64ef6b9e6b76f8b556bf7b38e053eaf3d6ba333" },
    { "sst win32 vector: tab\tand \\backslash",
      "qipc_systemsem_sstwinvectortabandbackslash"
      "67956777c275b8d81fc10e91ea643346f1eb16d8" },
  };
  char key[400], stem[460];
  syssem_t *s;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    s = open_or_fail(v[i].key, 1, SYSSEM_OPEN);
    assert_string_equal(syssem_native_key(s), v[i].stem);
    assert_string_equal(syssem_key(s), v[i].key);
    assert_true(wide_exists(widen(v[i].stem, L"")));
    syssem_close(s);
    assert_false(wide_exists(widen(v[i].stem, L"")));
  }
  /* A stem longer than MAX_PATH is used as it is, as Qt does: no limit but
   * the key's own. */
  i = (size_t)snprintf(key, sizeof key, "%s", key_for("longlegacy"));
  memset(key + i, 'k', 300);
  key[i + 300] = '\0';
  s = open_or_fail(key, 1, SYSSEM_CREATE_NEW);
  snprintf(stem, sizeof stem, "%s", syssem_native_key(s));
  assert_true(strlen(stem) > 300 + 40);
  assert_true(wide_exists(widen(stem, L"")));
  syssem_close(s);
  assert_false(wide_exists(widen(stem, L"")));
}

/* UTF-8 names become UTF-16 names: Windows finds the object under the name
 * spelt in UTF-16 (a surrogate pair included), and syssem_native_key gives
 * back the UTF-8. An unprefixed name is in the session's Local namespace. */
static void utf16_names(void **state)
{
  static const char tail8[] = "-\xc3\xbc\xe2\x82\xac\xf0\x9d\x84\x9e";
  static const wchar_t tail16[] = L"-\u00fc\u20ac\U0001D11E";
  char ascii[128], local_ascii[140], name[160], local[160];
  syssem_t *s, *t;

  (void)state;
  snprintf(ascii, sizeof ascii, "%s", key_for("utf"));
  snprintf(local_ascii, sizeof local_ascii, "Local\\%s", ascii);
  snprintf(name, sizeof name, "%s%s", ascii, tail8);
  snprintf(local, sizeof local, "%s%s", local_ascii, tail8);
  assert_int_equal(open_native(&s, name, 2, SYSSEM_CREATE_NEW), SYSSEM_OK);
  assert_string_equal(syssem_native_key(s), name);
  assert_true(wide_exists(widen(ascii, tail16)));
  assert_true(wide_exists(widen(local_ascii, tail16)));
  assert_false(wide_exists(widen(ascii, L"")));
  assert_int_equal(open_native(&t, local, 9, SYSSEM_OPEN_EXISTING),
                   SYSSEM_OK);
  assert_string_equal(syssem_native_key(t), local);
  assert_int_equal(syssem_try_acquire(t, 0), SYSSEM_OK);
  assert_int_equal(value_of(s), 1);
  syssem_close(t);
  syssem_close(s);
  assert_int_equal(open_native(&s, local, 0, SYSSEM_OPEN_EXISTING),
                   SYSSEM_ENOENT);
  assert_false(wide_exists(widen(ascii, tail16)));
}

/* "Global\" names the global namespace; a second opener attaches. */
static void global_names(void **state)
{
  char name[128];
  syssem_t *s, *t;
  proc_t *p;

  (void)state;
  snprintf(name, sizeof name, "Global\\%s", key_for("global"));
  assert_int_equal(open_native(&s, name, 1, SYSSEM_OPEN), SYSSEM_OK);
  assert_int_equal(syssem_created(s), 1);
  assert_true(wide_exists(widen(name, L"")));
  assert_int_equal(open_native(&t, name, 5, SYSSEM_OPEN), SYSSEM_OK);
  assert_int_equal(syssem_created(t), 0);
  syssem_close(t);
  p = helper_open(name, 0, "open_existing native", "ok 0");
  helper_do(p, "value", "value 1");
  helper_quit(p);
  syssem_close(s);
  assert_false(wide_exists(widen(name, L"")));
}

/* Names Windows cannot take, and keys for backends Windows does not have:
 * refused before any object exists. */
static void bad_names(void **state)
{
  static const char *const bad[] = {
    "a\\b", "\\a", "a\\", "Local\\", "Global\\", "Local\\a\\b",
    "Global\\Local\\a", "Session\\1\\a", "local\\a", "\\Local\\a",
  };
  syssem_options_t o = SYSSEM_OPTIONS_INIT;
  char name[400], *e;
  syssem_t *s = NULL;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(open_native(&s, bad[i], 1, SYSSEM_OPEN), SYSSEM_EKEY);
    assert_null(s);
    assert_false(wide_exists(widen(bad[i], L"")));
  }
  /* At most MAX_PATH (260) UTF-16 units: a U+1D11E takes two. */
  snprintf(name, sizeof name, "%s", key_for("long"));
  for (e = name + strlen(name); e < name + 260; e++)
    *e = 'x';
  *e = '\0';
  assert_int_equal(open_native(&s, name, 1, SYSSEM_OPEN), SYSSEM_OK);
  syssem_close(s);
  name[259] = '\0';
  strcat(name, "\xf0\x9d\x84\x9e"); /* 259 + 2 units */
  assert_int_equal(open_native(&s, name, 1, SYSSEM_OPEN), SYSSEM_EKEY);
  name[258] = '\0';
  strcat(name, "\xf0\x9d\x84\x9e"); /* 258 + 2 units */
  assert_int_equal(open_native(&s, name, 1, SYSSEM_OPEN), SYSSEM_OK);
  syssem_close(s);

  /* Other backends' key types and backends: not built here. */
  o.keyform = SYSSEM_KEYFORM_URI;
  assert_int_equal(syssem_open_ex(&s, "posix:/sstx", 1, SYSSEM_OPEN, &o),
                   SYSSEM_ENOSYS);
  assert_int_equal(syssem_open_ex(&s, "systemv:/tmp/sstx", 1, SYSSEM_OPEN, &o),
                   SYSSEM_ENOSYS);
  assert_int_equal(
      syssem_open_ex(&s, "systemv-5:/tmp/sstx", 1, SYSSEM_OPEN, &o),
      SYSSEM_ENOSYS);
  assert_int_equal(syssem_remove("posix:/sstx", &o), SYSSEM_ENOSYS);
  assert_int_equal(syssem_open_ex(&s, "windows:a%zz", 1, SYSSEM_OPEN, &o),
                   SYSSEM_EKEY);
  assert_int_equal(syssem_open_ex(&s, "windows:a%5Cb", 1, SYSSEM_OPEN, &o),
                   SYSSEM_EKEY); /* a\b */
  o.keyform = SYSSEM_KEYFORM_LEGACY;
  o.backend = SYSSEM_BACKEND_SYSV;
  assert_int_equal(syssem_open_ex(&s, key_for("sysv"), 1, SYSSEM_OPEN, &o),
                   SYSSEM_ENOSYS);
  assert_int_equal(syssem_remove(key_for("sysv"), &o), SYSSEM_ENOSYS);
  o.backend = SYSSEM_BACKEND_POSIX;
  assert_int_equal(syssem_open_ex(&s, key_for("posix"), 1, SYSSEM_OPEN, &o),
                   SYSSEM_ENOSYS);
  assert_null(s);
  assert_int_equal(syssem_backend_available(SYSSEM_BACKEND_SYSV), 0);
  assert_int_equal(syssem_backend_available(SYSSEM_BACKEND_POSIX), 0);
  assert_int_equal(syssem_backend_available(SYSSEM_BACKEND_WIN32), 1);

  /* The environment override may name only what is built. */
  assert_int_equal(_putenv_s("SYSSEM_BACKEND", "posix"), 0);
  assert_null(syssem_open(key_for("envposix"), 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_ENOSYS);
  assert_int_equal(_putenv_s("SYSSEM_BACKEND", "nonesuch"), 0);
  assert_null(syssem_open(key_for("envbad"), 1, SYSSEM_OPEN));
  assert_int_equal(syssem_last_error(), SYSSEM_EINVAL);
  assert_int_equal(_putenv_s("SYSSEM_BACKEND", "win32"), 0);

  /* The mode bits are ignored on Windows, the range check is not. */
  o.backend = SYSSEM_BACKEND_DEFAULT;
  o.permissions = 0777;
  assert_int_equal(syssem_open_ex(&s, key_for("perms"), MAXLONG, SYSSEM_OPEN,
                                  &o),
                   SYSSEM_OK);
  assert_int_equal(value_of(s), MAXLONG);
  syssem_close(s);
  assert_int_equal(syssem_open_ex(&s, key_for("perms"), -1, SYSSEM_OPEN, &o),
                   SYSSEM_EINVAL);
}

/* The three keyforms meet on one object: the legacy key, its stem as a
 * native name, and the stem as a "windows:" URI, each in its own process. */
static void keyforms_meet(void **state)
{
  const char *key = key_for("meet");
  char native[160], cmd[400];
  syssem_t *s;
  proc_t *p, *q;

  (void)state;
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  snprintf(native, sizeof native, "%s", syssem_native_key(s));
  p = helper_start();
  snprintf(cmd, sizeof cmd, "open %s 5 open native", native);
  helper_do(p, cmd, "ok 0");
  q = helper_start();
  snprintf(cmd, sizeof cmd, "open windows:%s?legacyKey=%s 5 open_existing uri",
           native, key);
  helper_do(q, cmd, "ok 0");
  helper_do(q, "release 3", "ok");
  helper_do(p, "value", "value 3");
  helper_do(p, "try 0", "ok");
  assert_int_equal(value_of(s), 2);
  helper_quit(q);
  helper_quit(p);
  syssem_close(s);
  assert_false(exists(key));
}

/* Counting ---------------------------------------------------------------- */

/* The count as NtQuerySemaphore reads it, here and in another process;
 * release(n) is one ReleaseSemaphore, refused whole past MAXLONG. */
static void value_and_overflow(void **state)
{
  const char *key = key_for("valueoverflow");
  syssem_t *s;
  proc_t *p;

  (void)state;
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  assert_int_equal(value_of(s), 0);
  p = helper_open(key, 0, "open", "ok 0");
  assert_int_equal(syssem_release(s, 5), SYSSEM_OK);
  helper_do(p, "value", "value 5");
  helper_do(p, "try 0", "ok");
  assert_int_equal(value_of(s), 4);
  helper_do(p, "release 2147483643", "ok"); /* 4 + that = MAXLONG */
  assert_int_equal(value_of(s), MAXLONG);
  assert_int_equal(syssem_release(s, 1), SYSSEM_EOVERFLOW);
  failed_in(SYSSEM_EOVERFLOW, "ReleaseSemaphore");
  helper_do(p, "release 1", "err -9");
  assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_OK);
  assert_int_equal(syssem_release(s, INT_MAX), SYSSEM_EOVERFLOW);
  assert_int_equal(syssem_release(s, 2), SYSSEM_EOVERFLOW);
  assert_int_equal(value_of(s), MAXLONG - 1);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  helper_do(p, "value", "value 2147483647");
  helper_quit(p);
  syssem_close(s);
}

/* Timeouts ---------------------------------------------------------------- */

struct waiter {
  syssem_t *s;
  long timeout;
  int result;
  long long waited;
};

static void waiter_body(void *arg)
{
  struct waiter *w = arg;
  long long t0 = proc_now_ms();

  w->result = syssem_try_acquire(w->s, w->timeout);
  w->waited = proc_now_ms() - t0;
}

/* try_acquire(0) never blocks; a timeout is never cut short (Windows waits
 * in timer ticks); the longest timeout a long holds still wakes on a
 * release; acquire wakes on a release from another thread. */
static void timeouts(void **state)
{
  static const long short_ones[] = { 1, 2, 5, 10, 15, 16, 17, 20, 31, 50 };
  const char *key = key_for("timeouts");
  struct waiter w;
  thread_t th;
  long long t0, dt;
  syssem_t *s;
  size_t i;

  (void)state;
  s = open_or_fail(key, 0, SYSSEM_OPEN);
  t0 = proc_now_ms();
  for (i = 0; i < 100; i++)
    assert_int_equal(syssem_try_acquire(s, 0), SYSSEM_ETIMEDOUT);
  assert_true(proc_now_ms() - t0 < 1000);
  for (i = 0; i < sizeof short_ones / sizeof short_ones[0]; i++) {
    t0 = proc_now_ms();
    assert_int_equal(syssem_try_acquire(s, short_ones[i]), SYSSEM_ETIMEDOUT);
    dt = proc_now_ms() - t0;
    if (dt < short_ones[i])
      print_error("try_acquire(%ld) returned after %lld ms\n", short_ones[i],
                  dt);
    assert_true(dt >= short_ones[i]);
    assert_true(dt < short_ones[i] + PROMPT_MS);
  }

  w.s = s;
  w.timeout = LONG_MAX;
  w.result = 1;
  assert_int_equal(thread_start(&th, waiter_body, &w), 0);
  Sleep(200);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  thread_join(th);
  assert_int_equal(w.result, SYSSEM_OK);
  assert_true(w.waited < PROMPT_MS);
  assert_int_equal(value_of(s), 0);

  w.timeout = 60000;
  assert_int_equal(thread_start(&th, waiter_body, &w), 0);
  Sleep(100);
  assert_int_equal(syssem_release(s, 1), SYSSEM_OK);
  thread_join(th);
  assert_int_equal(w.result, SYSSEM_OK);
  assert_true(w.waited < 60000);
  syssem_close(s);
}

/* Errors ------------------------------------------------------------------ */

/* A name already used by an event, a mutex or a file mapping is unusable:
 * SYSSEM_EKEY in every mode, with Windows' own words in the message. */
static void name_of_other_object(void **state)
{
  static const syssem_mode_t modes[] = { SYSSEM_OPEN, SYSSEM_CREATE,
                                         SYSSEM_OPEN_EXISTING,
                                         SYSSEM_CREATE_NEW };
  const char *key;
  char stem[160];
  syssem_t *s = NULL;
  HANDLE other[3];
  size_t i, k;

  (void)state;
  for (k = 0; k < 3; k++) {
    const char *name = key_for("other");
    const wchar_t *w = widen(name, L"");
    if (k == 0)
      other[k] = CreateEventW(NULL, TRUE, FALSE, w);
    else if (k == 1)
      other[k] = CreateMutexW(NULL, FALSE, w);
    else
      other[k] = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                    0, 4096, w);
    assert_non_null(other[k]);
    for (i = 0; i < 4; i++) {
      assert_int_equal(open_native(&s, name, 1, modes[i]), SYSSEM_EKEY);
      assert_null(s);
      failed_in(SYSSEM_EKEY, i == 2 ? "OpenSemaphoreW" : "CreateSemaphoreW");
      assert_non_null(strstr(syssem_last_error_message(),
                             "(Windows error 6)"));
    }
    CloseHandle(other[k]);
  }

  /* A legacy key whose stem an event holds. */
  key = key_for("legacyother");
  s = open_or_fail(key, 1, SYSSEM_OPEN);
  snprintf(stem, sizeof stem, "%s", syssem_native_key(s));
  syssem_close(s);
  other[0] = CreateEventW(NULL, TRUE, FALSE, widen(stem, L""));
  assert_non_null(other[0]);
  assert_null(syssem_open(key, 1, SYSSEM_OPEN));
  failed_in(SYSSEM_EKEY, "CreateSemaphoreW");
  CloseHandle(other[0]);
  assert_false(exists(key));
}

/* A semaphore whose DACL grants nobody anything (an empty DACL): opening
 * it in any mode is SYSSEM_EPERM. (CREATE_NEW too: Windows says "access
 * denied" before it says whether the name is taken, and it says the same
 * when the namespace refuses a new object.) */
static void access_denied(void **state)
{
  static const syssem_mode_t modes[] = { SYSSEM_OPEN, SYSSEM_CREATE,
                                         SYSSEM_OPEN_EXISTING,
                                         SYSSEM_CREATE_NEW };
  const char *name = key_for("denied");
  SECURITY_ATTRIBUTES sa;
  SECURITY_DESCRIPTOR sd;
  ACL acl;
  syssem_t *s = NULL;
  HANDLE h;
  size_t i;

  (void)state;
  assert_true(InitializeAcl(&acl, sizeof acl, ACL_REVISION));
  assert_true(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
  assert_true(SetSecurityDescriptorDacl(&sd, TRUE, &acl, FALSE));
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = &sd;
  sa.bInheritHandle = FALSE;
  h = CreateSemaphoreW(&sa, 1, 1, widen(name, L""));
  assert_non_null(h);
  for (i = 0; i < 4; i++) {
    assert_int_equal(open_native(&s, name, 1, modes[i]), SYSSEM_EPERM);
    assert_null(s);
    failed_in(SYSSEM_EPERM, i == 2 ? "OpenSemaphoreW" : "CreateSemaphoreW");
  }
  CloseHandle(h);
  assert_false(wide_exists(widen(name, L"")));
}

/* Each thread has its own last error, and a thread's successes leave its
 * record alone. */
struct errs {
  syssem_t *empty;
  const char *absent;
  int enoent_bad, etimedout_bad; /* one writer each */
};

static void enoent_body(void *arg)
{
  struct errs *e = arg;
  int i;

  for (i = 0; i < 300; i++) {
    if (syssem_open(e->absent, 0, SYSSEM_OPEN_EXISTING) != NULL ||
        syssem_last_error() != SYSSEM_ENOENT ||
        strstr(syssem_last_error_message(), "OpenSemaphoreW") == NULL)
      e->enoent_bad++;
    thread_yield();
  }
}

static void etimedout_body(void *arg)
{
  struct errs *e = arg;
  int i;

  for (i = 0; i < 300; i++) {
    if (syssem_try_acquire(e->empty, 0) != SYSSEM_ETIMEDOUT ||
        syssem_last_error() != SYSSEM_ETIMEDOUT ||
        strstr(syssem_last_error_message(), "syssem_try_acquire") == NULL)
      e->etimedout_bad++;
    thread_yield();
  }
}

static void thread_local_errors(void **state)
{
  struct errs e;
  thread_t a, b;

  (void)state;
  e.empty = open_or_fail(key_for("tls"), 0, SYSSEM_OPEN);
  e.absent = key_for("tlsabsent");
  e.enoent_bad = e.etimedout_bad = 0;
  assert_int_equal(syssem_release(e.empty, -1), SYSSEM_EINVAL);
  assert_int_equal(thread_start(&a, enoent_body, &e), 0);
  assert_int_equal(thread_start(&b, etimedout_body, &e), 0);
  thread_join(a);
  thread_join(b);
  assert_int_equal(e.enoent_bad, 0);
  assert_int_equal(e.etimedout_bad, 0);
  assert_int_equal(syssem_last_error(), SYSSEM_EINVAL);
  assert_non_null(strstr(syssem_last_error_message(), "syssem_release"));
  syssem_close(e.empty);
}

int main(int argc, char **argv)
{
  static const test_case_t tests[] = {
    TEST(open_and_create_keep_count),
    TEST(open_existing_create_new),
    TEST(last_handle_frees),
    TEST(creator_exit_frees),
    TEST(legacy_stems),
    TEST(utf16_names),
    TEST(global_names),
    TEST(bad_names),
    TEST(keyforms_meet),
    TEST(value_and_overflow),
    TEST(timeouts),
    TEST(name_of_other_object),
    TEST(access_denied),
    TEST(thread_local_errors),
  };

  if (!is_backend(SYSSEM_BACKEND_WIN32)) {
    fprintf(stderr, "test_win32: run with SYSSEM_BACKEND=win32\n");
    return 1;
  }
  return TEST_MAIN("windows", tests);
}
