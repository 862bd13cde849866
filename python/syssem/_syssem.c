/*
 * syssem._syssem: the C extension behind the syssem package. Semaphore wraps
 * one libsyssem handle; the enumerations and exceptions come from
 * syssem/_types.py, so that Python and C share one definition.
 *
 * SPDX-License-Identifier: MIT
 *
 * The GIL: every call that may wait runs with the GIL released, and so does
 * open. The calls that never wait (try_acquire(0), release, value) keep it:
 * they are one system call, cheaper than giving the GIL away and taking it
 * back (docs/python.md has the figures).
 *
 * Signals: the C library retries EINTR inside its waits, so a signal cannot
 * end them. The main thread, the only one that runs Python's signal
 * handlers, therefore waits in slices of WAIT_SLICE_MS and runs the handlers
 * between two slices; every other thread waits in one call. Why this and not
 * something else: docs/python.md, "Blocking, threads and signals".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <syssem.h>

/* The longest a main-thread wait goes without running signal handlers. */
#define WAIT_SLICE_MS 50

/* Timeouts of this many milliseconds (139 years) or more wait for ever: a
 * deadline in nanoseconds of the monotonic clock then fits in an int64_t. */
#define TIMEOUT_MAX_MS (INT64_C(1) << 42)

/* ---- what the module keeps -------------------------------------------- */

/* From syssem._types, looked up once at import. */
static PyObject *Mode_type, *Backend_type, *Keyform_type, *Errors, *Error_type;
/* threading.main_thread, to know whether signal handlers can run here. */
static PyObject *main_thread_func;

/* ---- errors ------------------------------------------------------------ */

/* Raise the exception of code with the C library's message for this thread's
 * last failure. Returns NULL. */
static PyObject *raise_code(int code)
{
  PyObject *key, *cls, *exc;
  const char *msg = syssem_last_error_message();

  if (msg[0] == '\0')
    msg = syssem_strerror(code);
  key = PyLong_FromLong(code);
  if (key == NULL)
    return NULL;
  cls = PyDict_GetItemWithError(Errors, key); /* borrowed */
  Py_DECREF(key);
  if (cls == NULL) {
    if (PyErr_Occurred())
      return NULL;
    cls = Error_type; /* a code newer than syssem/_types.py */
  }
  /* The message may hold a path's bytes, or the OS's text in the locale's
   * encoding: never let it turn the error into a UnicodeDecodeError. */
  exc = PyObject_CallFunction(cls, "Ni",
                              PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg),
                                                   "backslashreplace"),
                              code);
  if (exc != NULL) {
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
  }
  return NULL;
}

/* ---- argument conversion ----------------------------------------------- */

/* An int argument, not a bool (True as a count is a mistake), from lo to
 * hi. Above hi raises too_big (ValueError, or OverflowError where a larger
 * number is only too large for C), below lo ValueError, a non-int
 * TypeError. Returns 0 or -1. */
static int int_arg(PyObject *o, const char *what, long lo, long hi,
                   PyObject *too_big, long *out)
{
  PyObject *i;
  long v;
  int over;

  if (PyBool_Check(o) || !PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                 Py_TYPE(o)->tp_name);
    return -1;
  }
  i = PyNumber_Index(o);
  if (i == NULL)
    return -1;
  v = PyLong_AsLongAndOverflow(i, &over);
  Py_DECREF(i);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (over > 0 || v > hi) {
    PyErr_Format(too_big, "%s must be at most %ld, not %R", what, hi, o);
    return -1;
  }
  if (over < 0 || v < lo) {
    PyErr_Format(PyExc_ValueError, "%s must be at least %ld, not %R", what,
                 lo, o);
    return -1;
  }
  *out = v;
  return 0;
}

/* The one optional argument of a method called with vectorcall: positional,
 * or as keyword name. Leaves *out alone when it is not given. */
static int one_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   const char *fn, const char *name, PyObject **out)
{
  Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);

  if (nargs + nkw > 1 ||
      (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0),
                                                    name) != 0)) {
    PyErr_Format(PyExc_TypeError, "%s() takes one optional argument, %s", fn,
                 name);
    return -1;
  }
  if (nargs + nkw == 1)
    *out = args[0];
  return 0;
}

/* A member of enumeration type (Mode, Backend, Keyform) given as a member,
 * its value or, where the type allows, its name; None gives dflt. */
static int enum_arg(PyObject *o, PyObject *type, const char *what, int dflt,
                    int *out)
{
  PyObject *m;
  long v;

  if (o == NULL || o == Py_None) {
    *out = dflt;
    return 0;
  }
  /* Members are ints; a float equal to one is not accepted for it. */
  if (PyBool_Check(o) || !(PyIndex_Check(o) || PyUnicode_Check(o))) {
    PyErr_Format(PyExc_TypeError, "%s must be a %s, not %.100s", what,
                 ((PyTypeObject *)type)->tp_name, Py_TYPE(o)->tp_name);
    return -1;
  }
  m = PyObject_CallOneArg(type, o);
  if (m == NULL) {
    if (PyErr_ExceptionMatches(PyExc_ValueError)) {
      PyErr_Clear();
      PyErr_Format(PyExc_ValueError, "%s: %R is not a %s", what, o,
                   ((PyTypeObject *)type)->tp_name);
    }
    return -1;
  }
  v = PyLong_AsLong(m);
  Py_DECREF(m);
  if (v == -1 && PyErr_Occurred())
    return -1;
  *out = (int)v;
  return 0;
}

/* The key as UTF-8, valid while o lives. Only str; no NUL inside. */
static const char *key_arg(PyObject *o)
{
  const char *s;
  Py_ssize_t n;

  if (!PyUnicode_Check(o)) {
    PyErr_Format(PyExc_TypeError, "key must be a str, not %.100s",
                 Py_TYPE(o)->tp_name);
    return NULL;
  }
  s = PyUnicode_AsUTF8AndSize(o, &n);
  if (s != NULL && (Py_ssize_t)strlen(s) != n) {
    PyErr_SetString(PyExc_ValueError, "key contains a NUL character");
    return NULL;
  }
  return s;
}

/* backend and keyform, the options that Semaphore(), remove() and
 * native_name() share. */
static int common_options(PyObject *backend, PyObject *keyform,
                          syssem_options_t *opts)
{
  int b, k;

  if (enum_arg(backend, Backend_type, "backend", SYSSEM_BACKEND_DEFAULT, &b) < 0 ||
      enum_arg(keyform, Keyform_type, "keyform", SYSSEM_KEYFORM_LEGACY, &k) < 0)
    return -1;
  opts->backend = (syssem_backend_t)b;
  opts->keyform = (syssem_keyform_t)k;
  return 0;
}

/* A timeout in seconds as milliseconds, rounded up so that a wait never
 * ends before it was asked to: -1 for None (or a wait longer than
 * TIMEOUT_MAX_MS, infinity included). */
static int timeout_arg(PyObject *o, int64_t *ms)
{
  double t;

  if (o == NULL || o == Py_None) {
    *ms = -1;
    return 0;
  }
  if (PyBool_Check(o)) {
    PyErr_SetString(PyExc_TypeError,
                    "timeout is a number of seconds, not a bool "
                    "(acquire(0) does not wait, acquire() waits for ever)");
    return -1;
  }
  t = PyFloat_AsDouble(o);
  if (t == -1.0 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError,
                   "timeout must be a number of seconds or None, not %.100s",
                   Py_TYPE(o)->tp_name);
    }
    return -1;
  }
  if (isnan(t) || t < 0) {
    PyErr_Format(PyExc_ValueError,
                 "timeout must be 0 or more seconds, or None, not %R", o);
    return -1;
  }
  t = ceil(t * 1000.0);
  *ms = t >= (double)TIMEOUT_MAX_MS ? -1 : (int64_t)t;
  return 0;
}

/* ---- the Semaphore type ------------------------------------------------ */

typedef struct {
  PyObject_HEAD
  syssem_t *s;
  PyObject *key;     /* the key as given, a str                           */
  int keyform;       /* for pickling: the child reopens what this names   */
  int no_undo;
  int busy;          /* calls of this handle running without the GIL    */
  PyObject *weakrefs;
} SemObject;

static PyTypeObject Sem_Type;

static int closed(SemObject *self)
{
  if (self->s != NULL)
    return 0;
  PyErr_SetString(PyExc_ValueError, "operation on a closed semaphore");
  return 1;
}

static PyObject *Sem_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
  static char *names[] = { "key", "initial", "mode", "backend", "keyform",
                           "permissions", "persist", "no_undo", NULL };
  PyObject *key, *initial_o = NULL, *mode_o = NULL, *backend = NULL,
           *keyform = NULL, *perms_o = NULL;
  int persist = 0, no_undo = 0, mode, r;
  long initial = 0, perms = 0;
  syssem_options_t opts = SYSSEM_OPTIONS_INIT;
  const char *ckey;
  SemObject *self;
  syssem_t *s;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO$OOOpp:Semaphore", names,
                                   &key, &initial_o, &mode_o, &backend,
                                   &keyform, &perms_o, &persist, &no_undo))
    return NULL;
  /* Every argument is checked before anything is created. */
  ckey = key_arg(key);
  if (ckey == NULL)
    return NULL;
  if (initial_o != NULL && int_arg(initial_o, "initial", 0, INT_MAX, PyExc_ValueError, &initial) < 0)
    return NULL;
  if (enum_arg(mode_o, Mode_type, "mode", SYSSEM_OPEN, &mode) < 0)
    return NULL;
  if (common_options(backend, keyform, &opts) < 0)
    return NULL;
  if (perms_o != NULL && perms_o != Py_None) {
    if (int_arg(perms_o, "permissions", 0, LONG_MAX, PyExc_ValueError, &perms) < 0)
      return NULL;
    if (perms > 0777) {
      PyErr_Format(PyExc_ValueError,
                   "permissions must be bits up to 0o777, not %R", perms_o);
      return NULL;
    }
  }
  opts.permissions = (unsigned int)perms;
  opts.flags = (persist ? SYSSEM_PERSIST : 0u) | (no_undo ? SYSSEM_NO_UNDO : 0u);

  self = (SemObject *)type->tp_alloc(type, 0);
  if (self == NULL)
    return NULL;
  Py_INCREF(key);
  self->key = key;
  self->keyform = (int)opts.keyform;
  self->no_undo = no_undo;

  /* A System V opener may wait for a concurrent creator. */
  Py_BEGIN_ALLOW_THREADS
  r = syssem_open_ex(&s, ckey, (int)initial, (syssem_mode_t)mode, &opts);
  Py_END_ALLOW_THREADS
  if (r < 0) {
    Py_DECREF(self);
    return raise_code(r);
  }
  self->s = s;
  return (PyObject *)self;
}

static void Sem_dealloc(SemObject *self)
{
  if (self->weakrefs != NULL)
    PyObject_ClearWeakRefs((PyObject *)self);
  /* A handle inherited through fork() removes nothing: libsyssem checks. */
  syssem_close(self->s);
  Py_XDECREF(self->key);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* 1 if signal handlers run in this thread: the main thread of the main
 * interpreter. Asked each time, since fork() makes the forking thread the
 * main one. -1 on error. */
static int in_main_thread(void)
{
  PyObject *t, *ident;
  int r;

  t = PyObject_CallNoArgs(main_thread_func);
  if (t == NULL)
    return -1;
  ident = PyObject_GetAttrString(t, "ident");
  Py_DECREF(t);
  if (ident == NULL)
    return -1;
  r = PyLong_AsUnsignedLong(ident) == PyThread_get_thread_ident();
  Py_DECREF(ident);
  return PyErr_Occurred() ? -1 : r;
}

static int64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One wait of at most ms (-1: no limit) with the GIL released. */
static int wait_once(SemObject *self, int64_t ms)
{
  syssem_t *s = self->s;
  int r;

  self->busy++;
  Py_BEGIN_ALLOW_THREADS
  r = ms < 0 ? syssem_acquire(s) : syssem_try_acquire(s, (long)ms);
  Py_END_ALLOW_THREADS
  self->busy--;
  return r;
}

/* A wait has just given a token. A signal that arrived meanwhile has its
 * handler run now; if the handler raises, the token goes back first, so
 * that the exception leaves the count as it was. 1 or -1. */
static int token_taken(SemObject *self)
{
  if (PyErr_CheckSignals() == 0)
    return 1;
  syssem_release(self->s, 1);
  return -1;
}

/* The wait after a first try found no token: ms (-1: no limit) from now.
 * Returns 1 with a token, 0 without one at the end of the timeout, -1 with
 * an exception: a failure, or what a signal handler raised. Never holds a
 * token when it returns 0 or -1. */
static int wait_token(SemObject *self, int64_t ms)
{
  int64_t end = ms < 0 ? -1 : now_ns() + ms * 1000000, left;
  int main, r;

  main = in_main_thread();
  if (main < 0)
    return -1;
  for (;;) {
    if (main) {
      if (PyErr_CheckSignals() < 0)
        return -1;
      /* What is left, in whole milliseconds rounded up: never short. */
      left = end < 0 ? WAIT_SLICE_MS : (end - now_ns() + 999999) / 1000000;
      if (left <= 0)
        return 0;
      r = wait_once(self, left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS);
    } else {
      r = wait_once(self, ms);
    }
    if (r == SYSSEM_OK)
      return token_taken(self);
    if (r != SYSSEM_ETIMEDOUT) {
      raise_code(r);
      return -1;
    }
    if (!main)
      return 0;
  }
}

/* acquire(timeout=None): 1, 0 or -1 as wait_token. */
static int acquire(SemObject *self, int64_t ms)
{
  int r;

  r = syssem_try_acquire(self->s, 0);
  if (r == SYSSEM_OK)
    return 1;
  if (r != SYSSEM_ETIMEDOUT) {
    raise_code(r);
    return -1;
  }
  return ms == 0 ? 0 : wait_token(self, ms);
}

static PyObject *Sem_acquire(SemObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
  PyObject *timeout = NULL;
  int64_t ms = -1;
  int r;

  if (one_arg(args, nargs, kwnames, "acquire", "timeout", &timeout) < 0 ||
      closed(self) || timeout_arg(timeout, &ms) < 0)
    return NULL;
  r = acquire(self, ms);
  if (r < 0)
    return NULL;
  return PyBool_FromLong(r);
}

static PyObject *Sem_release(SemObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
  PyObject *n_o = NULL;
  long n = 1;
  int r;

  if (one_arg(args, nargs, kwnames, "release", "n", &n_o) < 0 || closed(self))
    return NULL;
  if (n_o != NULL && int_arg(n_o, "n", 0, INT_MAX, PyExc_OverflowError, &n) < 0)
    return NULL;
  if (n == 1) {
    r = syssem_release(self->s, 1);
  } else {
    /* POSIX gives n tokens with n sem_post calls. */
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    r = syssem_release(self->s, (int)n);
    Py_END_ALLOW_THREADS
    self->busy--;
  }
  if (r < 0)
    return raise_code(r);
  Py_RETURN_NONE;
}

static PyObject *Sem_lost_fd(SemObject *self, PyObject *unused)
{
  int fd, r;

  (void)unused;
  if (closed(self))
    return NULL;
  r = syssem_lost_fd(self->s, &fd);
  if (r < 0)
    return raise_code(r);
  return PyLong_FromLong(fd);
}

static PyObject *Sem_close(SemObject *self, PyObject *unused)
{
  (void)unused;
  if (self->busy > 0) {
    PyErr_Format(PyExc_RuntimeError,
                 "close(): %d call%s on this semaphore still run%s in other "
                 "threads (acquire() waiting for a token); end %s first, "
                 "e.g. by releasing tokens",
                 self->busy, self->busy == 1 ? "" : "s",
                 self->busy == 1 ? "s" : "", self->busy == 1 ? "it" : "them");
    return NULL;
  }
  syssem_close(self->s);
  self->s = NULL;
  Py_RETURN_NONE;
}

static PyObject *Sem_enter(SemObject *self, PyObject *unused)
{
  (void)unused;
  if (closed(self) || acquire(self, -1) < 0)
    return NULL;
  Py_INCREF(self);
  return (PyObject *)self;
}

static PyObject *Sem_exit(SemObject *self, PyObject *const *args,
                          Py_ssize_t nargs)
{
  int r;

  (void)args;
  (void)nargs;
  if (closed(self))
    return NULL;
  r = syssem_release(self->s, 1);
  if (r < 0)
    return raise_code(r);
  Py_RETURN_NONE;
}

/* Pickling (multiprocessing's spawn and forkserver): the other process
 * attaches to the same semaphore, never creates one, and owns nothing. */
static PyObject *Sem_reduce(SemObject *self, PyObject *unused)
{
  PyObject *mod, *reopen, *r;

  (void)unused;
  if (closed(self))
    return NULL;
  mod = PyImport_ImportModule("syssem._syssem");
  if (mod == NULL)
    return NULL;
  reopen = PyObject_GetAttrString(mod, "_reopen");
  Py_DECREF(mod);
  if (reopen == NULL)
    return NULL;
  r = Py_BuildValue("(N(Oiii))", reopen, self->key, (int)syssem_backend(self->s),
                    self->keyform, self->no_undo);
  return r;
}

static PyObject *Sem_get_value(SemObject *self, void *unused)
{
  int v, r;

  (void)unused;
  if (closed(self))
    return NULL;
  r = syssem_value(self->s, &v);
  if (r < 0)
    return raise_code(r);
  return PyLong_FromLong(v);
}

static PyObject *Sem_get_created(SemObject *self, void *unused)
{
  (void)unused;
  if (closed(self))
    return NULL;
  return PyBool_FromLong(syssem_created(self->s));
}

static PyObject *Sem_get_key(SemObject *self, void *unused)
{
  (void)unused;
  Py_INCREF(self->key);
  return self->key;
}

static PyObject *Sem_get_native_key(SemObject *self, void *unused)
{
  (void)unused;
  if (closed(self))
    return NULL;
  /* A key-file path holds $TMPDIR's bytes: decoded as os.fsdecode() does. */
  return PyUnicode_DecodeFSDefault(syssem_native_key(self->s));
}

static PyObject *Sem_get_backend(SemObject *self, void *unused)
{
  (void)unused;
  if (closed(self))
    return NULL;
  return PyObject_CallFunction(Backend_type, "i", (int)syssem_backend(self->s));
}

static PyObject *Sem_get_closed(SemObject *self, void *unused)
{
  (void)unused;
  return PyBool_FromLong(self->s == NULL);
}

static PyObject *Sem_repr(SemObject *self)
{
  if (self->s == NULL)
    return PyUnicode_FromFormat("<syssem.Semaphore %R, closed>", self->key);
  return PyUnicode_FromFormat("<syssem.Semaphore %R, %s %s%s>", self->key,
                              syssem_backend_name(syssem_backend(self->s)),
                              syssem_native_key(self->s),
                              syssem_created(self->s) ? ", created" : "");
}

PyDoc_STRVAR(Sem_doc,
"Semaphore(key, initial=0, mode=OPEN, *, backend=None, keyform=None, permissions=None, persist=False, no_undo=False)\n"
"--\n"
"\n"
"A named, counting semaphore shared by the processes of this machine.\n"
"\n"
"Opens the semaphore named key, or creates it with initial tokens, following\n"
"mode (a syssem.Mode; see help(syssem.Mode)). C programs using libsyssem and\n"
"Qt programs using QSystemSemaphore with the same key meet on the same\n"
"semaphore.\n"
"\n"
"  key          a str; by default a string key as Qt's QSystemSemaphore\n"
"               takes it (see keyform)\n"
"  initial      the count when this call creates the semaphore, or resets\n"
"               it with Mode.CREATE; 0 up to the backend's maximum (32767\n"
"               for System V)\n"
"  mode         Mode.OPEN, Mode.CREATE, Mode.OPEN_EXISTING, Mode.CREATE_NEW\n"
"  backend      None (the library's default, System V on Unix, or\n"
"               $SYSSEM_BACKEND), a Backend, or its name: 'sysv', 'posix'\n"
"  keyform      None (Keyform.LEGACY), a Keyform, or its name: 'legacy',\n"
"               'native', 'uri'\n"
"  permissions  for a semaphore this call creates: None (0o600) or bits up\n"
"               to 0o777, applied exactly whatever the umask\n"
"  persist      never remove the semaphore on close; syssem.remove() does\n"
"  no_undo      System V: do not give tokens back when this process dies\n"
"\n"
"Ownership: on Unix the handle that created the semaphore, or opened it with\n"
"Mode.CREATE, removes it when it is closed (close(), or when the object is\n"
"garbage-collected), unless persist is true. A process that inherited the\n"
"handle through fork() never removes it.\n"
"\n"
"Use it like threading.Semaphore:\n"
"\n"
"  sem = syssem.Semaphore('render-slots', 2)\n"
"  with sem:                    # waits for a token, gives it back after\n"
"      render()\n"
"  if sem.acquire(timeout=5):   # True with a token, False after 5 s\n"
"      try:\n"
"          render()\n"
"      finally:\n"
"          sem.release()\n"
"\n"
"Raises TypeError or ValueError for bad arguments before anything is\n"
"created, and a syssem.Error subclass when the library fails, e.g.\n"
"NotFoundError (a FileNotFoundError) for Mode.OPEN_EXISTING.\n"
"A handle may be used by many threads at once; blocking calls release the\n"
"GIL. Pickling it (multiprocessing with spawn) gives a handle to the same\n"
"semaphore in the other process, opened with Mode.OPEN_EXISTING.");

PyDoc_STRVAR(acquire_doc,
"acquire($self, /, timeout=None)\n"
"--\n"
"\n"
"Take one token; return True, or False if none came in time.\n"
"\n"
"timeout is in seconds: None waits as long as it takes, 0 never waits, and\n"
"any other number waits at most that long. The GIL is released while\n"
"waiting. A signal handler that raises (Ctrl-C: KeyboardInterrupt) ends the\n"
"wait with its exception, and then no token is held. On System V (unless\n"
"no_undo) a token this process holds goes back when the process dies.");

PyDoc_STRVAR(release_doc,
"release($self, /, n=1)\n"
"--\n"
"\n"
"Give n tokens back, waking up to n waiters. Never waits.\n"
"\n"
"All or nothing: if the count would pass the backend's maximum nothing is\n"
"added and CountOverflowError (an OverflowError) is raised. n=0 does\n"
"nothing. Like threading.Semaphore, a release need not follow an acquire\n"
"of the same handle or process.");

PyDoc_STRVAR(lost_fd_doc,
"lost_fd($self, /)\n"
"--\n"
"\n"
"A descriptor that becomes readable when the tokens this handle holds are\n"
"lost, for select() or poll() next to other work. Only a networked\n"
"backend's tokens can be lost; the local ones (System V, POSIX) raise\n"
"NotAvailableError. The descriptor belongs to the handle: do not read,\n"
"write or close it.");

PyDoc_STRVAR(close_doc,
"close($self, /)\n"
"--\n"
"\n"
"Close the handle. The handle that owns the semaphore (it created it, or\n"
"opened it with Mode.CREATE, and persist is false) removes it, unless this\n"
"process inherited the handle through fork(). Tokens this handle holds are\n"
"not given back. Closing twice is allowed; any other use of a closed\n"
"handle raises ValueError. Raises RuntimeError while other threads wait in\n"
"acquire() on this handle.");

PyDoc_STRVAR(enter_doc,
"__enter__($self, /)\n"
"--\n"
"\n"
"Take one token, waiting as long as it takes; return the semaphore.");

PyDoc_STRVAR(exit_doc,
"__exit__($self, exc_type, exc_value, traceback, /)\n"
"--\n"
"\n"
"Give the token taken by __enter__ back.");

static PyMethodDef Sem_methods[] = {
  { "acquire", (PyCFunction)(void (*)(void))Sem_acquire,
    METH_FASTCALL | METH_KEYWORDS, acquire_doc },
  { "release", (PyCFunction)(void (*)(void))Sem_release,
    METH_FASTCALL | METH_KEYWORDS, release_doc },
  { "lost_fd", (PyCFunction)Sem_lost_fd, METH_NOARGS, lost_fd_doc },
  { "close", (PyCFunction)Sem_close, METH_NOARGS, close_doc },
  { "__enter__", (PyCFunction)Sem_enter, METH_NOARGS, enter_doc },
  { "__exit__", (PyCFunction)(void (*)(void))Sem_exit, METH_FASTCALL, exit_doc },
  { "__reduce__", (PyCFunction)Sem_reduce, METH_NOARGS, NULL },
  { NULL, NULL, 0, NULL }
};

static PyGetSetDef Sem_getset[] = {
  { "value", (getter)Sem_get_value, NULL,
    "The current count, an int. It may be stale as soon as it is read.", NULL },
  { "created", (getter)Sem_get_created, NULL,
    "True if this handle created the semaphore (or created it again after\n"
    "it was removed underneath it).", NULL },
  { "key", (getter)Sem_get_key, NULL, "The key, as given.", NULL },
  { "native_key", (getter)Sem_get_native_key, NULL,
    "The operating system's name of the semaphore: the key file's path\n"
    "(System V) or '/name' (POSIX).", NULL },
  { "backend", (getter)Sem_get_backend, NULL,
    "The Backend behind this handle.", NULL },
  { "closed", (getter)Sem_get_closed, NULL,
    "True once close() was called.", NULL },
  { NULL, NULL, NULL, NULL, NULL }
};

static PyTypeObject Sem_Type = {
  PyVarObject_HEAD_INIT(NULL, 0)
  .tp_name = "syssem.Semaphore",
  .tp_basicsize = sizeof(SemObject),
  .tp_dealloc = (destructor)Sem_dealloc,
  .tp_repr = (reprfunc)Sem_repr,
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = Sem_doc,
  .tp_weaklistoffset = offsetof(SemObject, weakrefs),
  .tp_methods = Sem_methods,
  .tp_getset = Sem_getset,
  .tp_new = Sem_new,
};

/* ---- module functions -------------------------------------------------- */

static PyObject *mod_reopen(PyObject *mod, PyObject *args)
{
  PyObject *key, *a, *kw, *r;
  int backend, keyform, no_undo;

  (void)mod;
  if (!PyArg_ParseTuple(args, "Oiii:_reopen", &key, &backend, &keyform, &no_undo))
    return NULL;
  a = Py_BuildValue("(Oii)", key, 0, (int)SYSSEM_OPEN_EXISTING);
  kw = Py_BuildValue("{s:i,s:i,s:O}", "backend", backend, "keyform", keyform,
                     "no_undo", no_undo ? Py_True : Py_False);
  r = a && kw ? PyObject_Call((PyObject *)&Sem_Type, a, kw) : NULL;
  Py_XDECREF(a);
  Py_XDECREF(kw);
  return r;
}

static PyObject *mod_remove(PyObject *mod, PyObject *args, PyObject *kw)
{
  static char *names[] = { "key", "backend", "keyform", "missing_ok", NULL };
  PyObject *key, *backend = NULL, *keyform = NULL;
  syssem_options_t opts = SYSSEM_OPTIONS_INIT;
  int missing_ok = 0, r;
  const char *ckey;

  (void)mod;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OOp:remove", names, &key,
                                   &backend, &keyform, &missing_ok))
    return NULL;
  ckey = key_arg(key);
  if (ckey == NULL || common_options(backend, keyform, &opts) < 0)
    return NULL;
  r = syssem_remove(ckey, &opts);
  if (r < 0 && !(r == SYSSEM_ENOENT && missing_ok))
    return raise_code(r);
  Py_RETURN_NONE;
}

static PyObject *mod_native_name(PyObject *mod, PyObject *args, PyObject *kw)
{
  static char *names[] = { "key", "backend", "keyform", NULL };
  PyObject *key, *backend = NULL, *keyform = NULL;
  syssem_options_t opts = SYSSEM_OPTIONS_INIT;
  char buf[SYSSEM_NATIVE_MAX];
  const char *ckey;
  int r;

  (void)mod;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OO:native_name", names, &key,
                                   &backend, &keyform))
    return NULL;
  ckey = key_arg(key);
  if (ckey == NULL || common_options(backend, keyform, &opts) < 0)
    return NULL;
  r = syssem_native_name(ckey, &opts, NULL, buf, sizeof buf);
  if (r < 0)
    return raise_code(r);
  return PyUnicode_DecodeFSDefault(buf);
}

static PyObject *mod_available_backends(PyObject *mod, PyObject *unused)
{
  PyObject *list, *m, *t;
  int b;

  (void)mod;
  (void)unused;
  list = PyList_New(0);
  if (list == NULL)
    return NULL;
  for (b = SYSSEM_BACKEND_SYSV; syssem_backend_name((syssem_backend_t)b); b++) {
    if (!syssem_backend_available((syssem_backend_t)b))
      continue;
    m = PyObject_CallFunction(Backend_type, "i", b);
    if (m == NULL || PyList_Append(list, m) < 0) {
      Py_XDECREF(m);
      Py_DECREF(list);
      return NULL;
    }
    Py_DECREF(m);
  }
  t = PyList_AsTuple(list);
  Py_DECREF(list);
  return t;
}

/* What the C library knows, for the test that Python knows it too: its
 * error codes {code: text} and its backends {value: name}. */
static PyObject *mod_library_names(PyObject *mod, PyObject *unused)
{
  PyObject *codes = PyDict_New(), *backends = PyDict_New(), *k, *v;
  const char *name;
  int i, r = 0;

  (void)mod;
  (void)unused;
  for (i = -1; r == 0 && codes != NULL; i--) {
    name = syssem_strerror(i);
    if (strcmp(name, syssem_strerror(1)) == 0) /* "unknown error code" */
      break;
    k = PyLong_FromLong(i);
    v = PyUnicode_FromString(name);
    r = k && v ? PyDict_SetItem(codes, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
  }
  for (i = 1; r == 0 && backends != NULL; i++) {
    name = syssem_backend_name((syssem_backend_t)i);
    if (name == NULL)
      break;
    k = PyLong_FromLong(i);
    v = PyUnicode_FromString(name);
    r = k && v ? PyDict_SetItem(backends, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
  }
  if (r < 0 || codes == NULL || backends == NULL) {
    Py_XDECREF(codes);
    Py_XDECREF(backends);
    return NULL;
  }
  return Py_BuildValue("(NN)", codes, backends);
}

static PyObject *mod_library_version(PyObject *mod, PyObject *unused)
{
  (void)mod;
  (void)unused;
  return PyUnicode_FromString(syssem_version());
}

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* For the overhead benchmark (bench/python_overhead.py): what a C program pays for n
 * rounds of syssem_acquire + syssem_release(s, 1) on this handle, timed in
 * the same process as the Python rounds it is compared with. */
static PyObject *mod_c_rounds(PyObject *mod, PyObject *args)
{
  SemObject *sem;
  Py_ssize_t n, i;
  double t0, t1;
  int r = SYSSEM_OK;

  (void)mod;
  if (!PyArg_ParseTuple(args, "O!n:_c_rounds", &Sem_Type, &sem, &n) ||
      closed(sem))
    return NULL;
  t0 = seconds();
  for (i = 0; i < n && r == SYSSEM_OK; i++) {
    r = syssem_acquire(sem->s);
    if (r == SYSSEM_OK)
      r = syssem_release(sem->s, 1);
  }
  t1 = seconds();
  if (r < 0)
    return raise_code(r);
  return PyFloat_FromDouble(t1 - t0);
}

PyDoc_STRVAR(remove_doc,
"remove(key, *, backend=None, keyform=None, missing_ok=False)\n"
"--\n"
"\n"
"Remove the semaphore named key (backend and keyform as for Semaphore),\n"
"whoever created it. Creates nothing. Raises NotFoundError (a\n"
"FileNotFoundError) if there is none, unless missing_ok is true.\n"
"Handles still open elsewhere: see docs/semantics.md (System V ones create\n"
"it again at their next call, POSIX ones keep the removed semaphore).");

PyDoc_STRVAR(native_name_doc,
"native_name(key, *, backend=None, keyform=None)\n"
"--\n"
"\n"
"The operating system's name of the semaphore that key names, as\n"
"Semaphore.native_key would give it, without opening or creating anything.");

PyDoc_STRVAR(available_backends_doc,
"available_backends()\n"
"--\n"
"\n"
"The Backends built into this library, a tuple.");

PyDoc_STRVAR(library_version_doc,
"library_version()\n"
"--\n"
"\n"
"The version of the C library, 'MAJOR.MINOR.PATCH'.");

static PyMethodDef mod_methods[] = {
  { "remove", (PyCFunction)(void (*)(void))mod_remove,
    METH_VARARGS | METH_KEYWORDS, remove_doc },
  { "native_name", (PyCFunction)(void (*)(void))mod_native_name,
    METH_VARARGS | METH_KEYWORDS, native_name_doc },
  { "available_backends", mod_available_backends, METH_NOARGS,
    available_backends_doc },
  { "library_version", mod_library_version, METH_NOARGS, library_version_doc },
  { "_reopen", mod_reopen, METH_VARARGS, NULL },
  { "_library_names", mod_library_names, METH_NOARGS, NULL },
  { "_c_rounds", mod_c_rounds, METH_VARARGS, NULL },
  { NULL, NULL, 0, NULL }
};

static struct PyModuleDef module = {
  PyModuleDef_HEAD_INIT,
  .m_name = "syssem._syssem",
  .m_doc = "The C extension of the syssem package; use the package.",
  .m_size = -1,
  .m_methods = mod_methods,
};

static PyObject *attr(PyObject *mod, const char *name)
{
  return PyObject_GetAttrString(mod, name);
}

PyMODINIT_FUNC PyInit__syssem(void)
{
  PyObject *m, *types, *threading;

  types = PyImport_ImportModule("syssem._types");
  if (types == NULL)
    return NULL;
  Mode_type = attr(types, "Mode");
  Backend_type = attr(types, "Backend");
  Keyform_type = attr(types, "Keyform");
  Errors = attr(types, "ERRORS");
  Error_type = attr(types, "Error");
  Py_DECREF(types);
  if (Mode_type == NULL || Backend_type == NULL || Keyform_type == NULL ||
      Errors == NULL || Error_type == NULL)
    return NULL;
  if (!PyDict_Check(Errors)) {
    PyErr_SetString(PyExc_ImportError, "syssem._types.ERRORS is not a dict");
    return NULL;
  }
  threading = PyImport_ImportModule("threading");
  if (threading == NULL)
    return NULL;
  main_thread_func = attr(threading, "main_thread");
  Py_DECREF(threading);
  if (main_thread_func == NULL)
    return NULL;

  if (PyType_Ready(&Sem_Type) < 0)
    return NULL;
  m = PyModule_Create(&module);
  if (m == NULL)
    return NULL;
  Py_INCREF(&Sem_Type);
  if (PyModule_AddObject(m, "Semaphore", (PyObject *)&Sem_Type) < 0 ||
      PyModule_AddIntConstant(m, "WAIT_SLICE_MS", WAIT_SLICE_MS) < 0) {
    Py_DECREF(&Sem_Type);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
