/*
 * Front end: argument checks, key derivation, backend choice, ownership and
 * the thread's last-error record. Everything OS-specific is in the backends.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syssem_int.h"

#ifndef SYSSEM__DEFAULT_BACKEND
# error "the build must define SYSSEM__DEFAULT_BACKEND"
#endif

/* The thread's last failure (the protocol: "error recording" in
 * syssem_int.h). `call` and `text` hold the note; `code` and `msg` the
 * record; `fn` and `why` a record whose message is still to be made. */
static _Thread_local struct {
  int code;
  const char *call;
  const char *fn;
  const char *why;
  char text[128];
  char msg[256];
} tls;

void (*syssem__hook)(const char *point);

int syssem__note(int code, const char *call, int err)
{
  tls.call = call;
  syssem__errtext(err, tls.text, sizeof tls.text);
  return code;
}

int syssem__note_text(int code, const char *call, const char *text)
{
  tls.call = call;
  snprintf(tls.text, sizeof tls.text, "%s", text ? text : "");
  return code;
}

/* Record code as the result of public function fn. why, when not NULL,
 * describes an argument error found here; otherwise the backend's note, if
 * any, names the OS call. */
static SYSSEM__COLD int fail(const char *fn, int code, const char *why)
{
  tls.fn = NULL;
  if (why == NULL && tls.call != NULL)
    snprintf(tls.msg, sizeof tls.msg, "%s: %s: %s", fn, tls.call, tls.text);
  else {
    tls.fn = fn;
    tls.why = why;
  }
  tls.call = NULL;
  tls.code = code;
  return code;
}

int syssem__record(const char *fn, int r)
{
  return r < 0 ? fail(fn, r, NULL) : r;
}

static int check_options(const syssem_options_t *o, const char **why)
{
  if (o->version != SYSSEM_OPTIONS_VERSION)
    *why = "unknown options version";
  else if ((unsigned int)o->backend > SYSSEM_BACKEND_ETCD)
    *why = "unknown backend";
  else if ((unsigned int)o->keyform > SYSSEM_KEYFORM_URI)
    *why = "unknown keyform";
  else if (o->flags & ~(SYSSEM_PERSIST | SYSSEM_NO_UNDO))
    *why = "unknown flag";
  else if (o->permissions > 0777)
    *why = "permissions above 0777";
  else
    return SYSSEM_OK;
  return SYSSEM_EINVAL;
}

static int backend_from_env(syssem_backend_t *b, const char **why)
{
  const char *e = getenv("SYSSEM_BACKEND");
  int i;

  if (e == NULL || *e == '\0') {
    *b = (syssem_backend_t)SYSSEM__DEFAULT_BACKEND;
    return SYSSEM_OK;
  }
  for (i = SYSSEM_BACKEND_SYSV; i <= SYSSEM_BACKEND_ETCD; i++) {
    if (strcmp(e, syssem_backend_name((syssem_backend_t)i)) == 0) {
      *b = (syssem_backend_t)i;
      return SYSSEM_OK;
    }
  }
  *why = "SYSSEM_BACKEND names no backend (sysv, posix, win32, etcd)";
  return SYSSEM_EINVAL;
}

/* The backend for a request: a URI key's type wins over the build default
 * and the environment, but must agree with an explicit choice. */
static int pick_backend(syssem_backend_t asked, syssem_backend_t by_key,
                        const syssem__backend_t **be, const char **why)
{
  syssem_backend_t b = asked;
  int r;

  if (by_key != SYSSEM_BACKEND_DEFAULT) {
    if (asked != SYSSEM_BACKEND_DEFAULT && asked != by_key) {
      *why = "the key's type names another backend than the options";
      return SYSSEM_EINVAL;
    }
    b = by_key;
  } else if (b == SYSSEM_BACKEND_DEFAULT) {
    r = backend_from_env(&b, why);
    if (r < 0)
      return r;
  }
  *be = syssem__backends[b];
  if (*be == NULL)
    *be = syssem__module(b, why);
  return *be != NULL ? SYSSEM_OK : SYSSEM_ENOSYS;
}

int syssem__native_put(char *buf, const char *a, const char *b,
                       const char *c)
{
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

  if (la + lb + lc >= SYSSEM_NATIVE_MAX)
    return syssem__note_text(SYSSEM_EKEY, "native name",
                             "longer than SYSSEM_NATIVE_MAX");
  memcpy(buf, a, la);
  memcpy(buf + la, b, lb);
  memcpy(buf + la + lb, c, lc + 1);
  return SYSSEM_OK;
}

/* Everything open and remove share: options, key, backend, native name
 * (into native, SYSSEM_NATIVE_MAX bytes). */
static int resolve(const char *key, const syssem_options_t *opts,
                   syssem__name_t *name, const syssem__backend_t **be,
                   char *native, const char **why)
{
  int r;

  r = check_options(opts, why);
  if (r < 0)
    return r;
  r = syssem__name_parse(name, key, opts->keyform);
  if (r < 0) {
    *why = syssem__name_why();
    return r;
  }
  r = pick_backend(opts->backend, name->backend, be, why);
  if (r < 0)
    return r;
  return (*be)->native_name(name, native);
}

/* For a backend without its own try_now and release_one. */
static int try_now(syssem_t *s)
{
  return s->be->try_acquire(s, 0);
}

static int release_one(syssem_t *s)
{
  return s->be->release(s, 1);
}

static const syssem_options_t default_options = SYSSEM_OPTIONS_INIT;

syssem_t *syssem_open(const char *key, int initial, syssem_mode_t mode)
{
  syssem_t *s;

  syssem_open_ex(&s, key, initial, mode, NULL);
  return s;
}

int syssem_open_ex(syssem_t **out, const char *key, int initial,
                   syssem_mode_t mode, const syssem_options_t *opts)
{
  syssem__name_t name = { SYSSEM_BACKEND_DEFAULT, 0, 0, NULL, NULL };
  const syssem__backend_t *be = NULL;
  const char *why = NULL;
  char native[SYSSEM_NATIVE_MAX];
  syssem_t *s = NULL;
  size_t key_size, native_size;
  int r;

  if (out == NULL) {
    why = "out is NULL";
    r = SYSSEM_EINVAL;
    goto cleanup;
  }
  *out = NULL;
  if ((unsigned int)mode > SYSSEM_CREATE_NEW) {
    why = "unknown mode";
    r = SYSSEM_EINVAL;
    goto cleanup;
  }
  if (opts == NULL)
    opts = &default_options;
  r = resolve(key, opts, &name, &be, native, &why);
  if (r < 0)
    goto cleanup;
  if (initial < 0 || initial > be->max_value) {
    why = "initial count below 0 or above the backend maximum";
    r = SYSSEM_EINVAL;
    goto cleanup;
  }

  /* The handle, its copy of the key and its native name are one
   * allocation. malloc and memset, not calloc: glibc's calloc skips the
   * per-thread cache, 200 instructions more per open+close here. */
  key_size = strlen(key) + 1;
  native_size = strlen(native) + 1;
  s = malloc(be->handle_size + key_size + native_size);
  if (s == NULL) {
    r = SYSSEM_ENOMEM;
    goto cleanup;
  }
  memset(s, 0, be->handle_size);
  s->acquire = be->acquire;
  s->try_now = be->try_now ? be->try_now : try_now;
  s->release_one = be->release_one ? be->release_one : release_one;
  s->key = memcpy((char *)s + be->handle_size, key, key_size);
  s->native = memcpy(s->key + key_size, native, native_size);
  s->be = be;
  s->initial = initial;
  s->proj_id = name.proj_id;
  s->legacy = name.legacy;
  s->flags = opts->flags;
  s->perms = opts->permissions ? opts->permissions : 0600;

  r = be->open(s, mode, initial);
  if (r < 0)
    goto cleanup;
  /* Only an owner needs to know its process (syssem_close); getpid() is a
   * system call, which an attach need not pay for. */
  if (s->owner)
    s->pid = syssem__getpid();
  *out = s;
  s = NULL;

cleanup:
  free(s);
  syssem__name_free(&name);
  return r < 0 ? fail("syssem_open", r, why) : SYSSEM_OK;
}

void syssem_close(syssem_t *s)
{
  if (s == NULL)
    return;
  /* A child that inherited the handle through fork must not take the
   * object away from the parent that owns it. */
  s->be->close(s, s->owner && !(s->flags & SYSSEM_PERSIST) &&
                      s->pid == syssem__getpid());
  free(s);
}

/* The hot operations end in a jump to the backend, which returns to our
 * caller directly and records its own failures (syssem__record): no call
 * level of ours stays between the caller and the OS call.
 *
 * A NULL handle is not tested with a branch: it is swapped for null_handle,
 * whose operations fail with SYSSEM_EINVAL. On the POSIX pair, which makes
 * no system call, the branches cost a third of all that the library added
 * to the raw calls; the select costs nothing measurable
 * (docs/performance.md). */
static SYSSEM__COLD int null_acquire(syssem_t *s)
{
  (void)s;
  return fail("syssem_acquire", SYSSEM_EINVAL, "handle is NULL");
}

static SYSSEM__COLD int null_try_now(syssem_t *s)
{
  (void)s;
  return fail("syssem_try_acquire", SYSSEM_EINVAL, "handle is NULL");
}

static SYSSEM__COLD int null_release_one(syssem_t *s)
{
  (void)s;
  return fail("syssem_release", SYSSEM_EINVAL, "handle is NULL");
}

static const struct syssem null_handle = {
  .acquire = null_acquire,
  .try_now = null_try_now,
  .release_one = null_release_one,
};

static inline syssem_t *or_null_handle(syssem_t *s)
{
  syssem_t *null = (syssem_t *)&null_handle;

  SYSSEM__OPAQUE(null);
  return s != NULL ? s : null;
}

SYSSEM__HOT int syssem_acquire(syssem_t *s)
{
  s = or_null_handle(s);
  return s->acquire(s);
}

/* The cold halves take the handle as selected: null_handle is NULL. */
static SYSSEM__COLD int try_acquire_timed(syssem_t *s, long timeout_ms)
{
  if (s == &null_handle)
    return fail("syssem_try_acquire", SYSSEM_EINVAL, "handle is NULL");
  if (timeout_ms < 0)
    return fail("syssem_try_acquire", SYSSEM_EINVAL, "negative timeout");
  return s->be->try_acquire(s, timeout_ms);
}

SYSSEM__HOT int syssem_try_acquire(syssem_t *s, long timeout_ms)
{
  s = or_null_handle(s);
  if (timeout_ms == 0)
    return s->try_now(s);
  return try_acquire_timed(s, timeout_ms);
}

static SYSSEM__COLD int release_n(syssem_t *s, int n)
{
  if (s == &null_handle)
    return fail("syssem_release", SYSSEM_EINVAL, "handle is NULL");
  if (n <= 0)
    return n == 0 ? SYSSEM_OK
                  : fail("syssem_release", SYSSEM_EINVAL, "negative count");
  return s->be->release(s, n);
}

SYSSEM__HOT int syssem_release(syssem_t *s, int n)
{
  s = or_null_handle(s);
  if (n == 1)
    return s->release_one(s);
  return release_n(s, n);
}

int syssem_value(syssem_t *s, int *value)
{
  int r;

  if (s == NULL || value == NULL)
    return fail("syssem_value", SYSSEM_EINVAL, "handle or value is NULL");
  r = s->be->value(s, value);
  return r < 0 ? fail("syssem_value", r, NULL) : r;
}

int syssem_lost_fd(syssem_t *s, int *fd)
{
  int r;

  if (s == NULL || fd == NULL)
    return fail("syssem_lost_fd", SYSSEM_EINVAL, "handle or fd is NULL");
  if (s->be->lost_fd == NULL)
    return fail("syssem_lost_fd", SYSSEM_ENOSYS,
                "this backend's tokens cannot be lost");
  r = s->be->lost_fd(s, fd);
  return r < 0 ? fail("syssem_lost_fd", r, NULL) : r;
}

int syssem_remove(const char *key, const syssem_options_t *opts)
{
  syssem__name_t name = { SYSSEM_BACKEND_DEFAULT, 0, 0, NULL, NULL };
  const syssem__backend_t *be = NULL;
  const char *why = NULL;
  char native[SYSSEM_NATIVE_MAX];
  int r;

  r = resolve(key, opts ? opts : &default_options, &name, &be, native, &why);
  if (r == SYSSEM_OK)
    r = be->remove(native, name.legacy, name.proj_id);
  syssem__name_free(&name);
  return r < 0 ? fail("syssem_remove", r, why) : SYSSEM_OK;
}

int syssem_native_name(const char *key, const syssem_options_t *opts,
                       syssem_backend_t *backend, char *buf, size_t size)
{
  syssem__name_t name = { SYSSEM_BACKEND_DEFAULT, 0, 0, NULL, NULL };
  const syssem__backend_t *be = NULL;
  const char *why = NULL;
  char native[SYSSEM_NATIVE_MAX];
  size_t len;
  int r;

  if (buf == NULL || size == 0) {
    why = "buf is NULL or size is 0";
    r = SYSSEM_EINVAL;
    goto cleanup;
  }
  buf[0] = '\0';
  r = resolve(key, opts ? opts : &default_options, &name, &be, native, &why);
  if (r < 0)
    goto cleanup;
  len = strlen(native);
  if (len >= size) {
    why = "the name does not fit in buf";
    r = SYSSEM_EINVAL;
    goto cleanup;
  }
  memcpy(buf, native, len + 1);
  if (backend != NULL)
    *backend = be->id;

cleanup:
  syssem__name_free(&name);
  return r < 0 ? fail("syssem_native_name", r, why) : SYSSEM_OK;
}

int syssem_created(const syssem_t *s)
{
  return s ? s->created : 0;
}

const char *syssem_key(const syssem_t *s)
{
  return s ? s->key : NULL;
}

const char *syssem_native_key(const syssem_t *s)
{
  return s ? s->native : NULL;
}

syssem_backend_t syssem_backend(const syssem_t *s)
{
  return s ? s->be->id : SYSSEM_BACKEND_DEFAULT;
}

const char *syssem_backend_name(syssem_backend_t b)
{
  static const char *const names[] = { "default", "sysv", "posix", "win32",
                                       "etcd" };

  return (unsigned int)b <= SYSSEM_BACKEND_ETCD ? names[b] : NULL;
}

int syssem_backend_available(syssem_backend_t b)
{
  const char *why;

  if (b == SYSSEM_BACKEND_DEFAULT)
    return 1;
  if ((unsigned int)b > SYSSEM_BACKEND_ETCD)
    return 0;
  return syssem__backends[b] != NULL || syssem__module(b, &why) != NULL;
}

int syssem_last_error(void)
{
  return tls.code;
}

const char *syssem_last_error_message(void)
{
  if (tls.fn != NULL) {
    snprintf(tls.msg, sizeof tls.msg, "%s: %s", tls.fn,
             tls.why ? tls.why : syssem_strerror(tls.code));
    tls.fn = NULL;
  }
  return tls.msg;
}

const char *syssem_strerror(int code)
{
  static const char *const text[] = {
    "success",
    "permission denied",
    "invalid, unusable or malformed key",
    "semaphore already exists",
    "semaphore does not exist",
    "out of system resources",
    "unknown error",
    "invalid argument",
    "timed out",
    "count would pass the maximum",
    "not available on this platform",
    "out of memory",
    "lease lost: the tokens this handle held were given back",
    "no endpoint answered",
  };

  if (code > 0 || code < SYSSEM_EUNAVAIL)
    return "unknown error code";
  return text[-code];
}

const char *syssem_version(void)
{
  return SYSSEM_VERSION_STRING;
}
