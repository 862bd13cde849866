/*
 * Internal interface between the front end (syssem.c), the key code (key.c,
 * etcd_key.c), the backends (posix_sysv.c, posix_named.c, win32.c) and the
 * backends loaded as modules (etcd/, through module.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * A backend is one const table of functions (syssem__backend_t). The front
 * end checks arguments, derives the native name, allocates handle_size bytes
 * (a backend handle starts with struct syssem), fills the common part and
 * calls the table. Backends never see bad arguments, and report failures by
 * returning a code after noting which OS call failed (the protocol is under
 * "error recording" below).
 */
#ifndef SYSSEM_INT_H
#define SYSSEM_INT_H

#include <stddef.h>
#include <time.h>

#include "syssem.h"

/* Out of line and out of the way: the failure paths, so that the hot paths
 * (acquire, try_acquire(0), release) stay as short as the OS call. */
#if defined(__GNUC__)
# define SYSSEM__COLD __attribute__((cold, noinline))
#else
# define SYSSEM__COLD
#endif

/* The hot operations' functions, front end and backends, all in one section
 * (.text.hot): a call after the TLB was flushed (every system call, on a
 * kernel with page-table isolation and no PCID) then touches one page of
 * the library's code, not one per file (docs/performance.md). */
#if defined(__GNUC__)
# define SYSSEM__HOT __attribute__((hot))
#else
# define SYSSEM__HOT
#endif

/* Makes the compiler forget what variable v holds (v stays unchanged), so
 * that it neither turns syssem.c's NULL-handle select back into a branch
 * nor, where a hot function returns the 0 its OS call left in the return
 * register, loads a constant 0 again (one instruction per call). */
#if defined(__GNUC__)
# define SYSSEM__OPAQUE(v) __asm__("" : "+r"(v))
#else
# define SYSSEM__OPAQUE(v) ((void)0)
#endif

/* Apple's rules (docs/portability.md): on macOS and iOS, and on a Linux
 * build with -Demulate=darwin, which takes every Apple fallback that Linux
 * can run. Only whole definitions are chosen by it. */
#if defined(__APPLE__) || defined(SYSSEM__EMULATE_DARWIN)
# define SYSSEM__APPLE 1
#else
# define SYSSEM__APPLE 0
#endif

/* The most a key (legacy form) may hold, in bytes. */
#define SYSSEM__KEY_MAX 4096
/* Qt's legacy names: the stem of a string key starts with this prefix, and
 * its System V key file is turned into a key by ftok() with this project id
 * (docs/keys.md). */
#define SYSSEM__LEGACY_PREFIX "qipc_systemsem_"
#define SYSSEM__FTOK_ID 'Q'
/* Times an operation reopens an object removed underneath before it gives up. */
#define SYSSEM__REOPEN_MAX 8

/* A parsed key: what the backend needs to name the OS object. */
typedef struct syssem__name {
  syssem_backend_t backend; /* set by a URI or etcd key; DEFAULT otherwise   */
  int legacy;               /* text is the legacy stem (docs/keys.md)       */
  int proj_id;              /* System V ftok project id, 'Q' unless URI      */
  const char *text;         /* stem or native name, NUL-terminated: the key
                             * itself (a native key) or buf                  */
  char *buf;                /* malloc'd by the parse, or NULL                */
} syssem__name_t;

/* The common head of every handle. */
struct syssem {
  /* The hot operations, copied from the backend's table at open (or the
   * front end's general forms, where the table has none), so that a call
   * reads the handle and not the table too, which lies in another page. */
  int (*acquire)(syssem_t *s);
  int (*try_now)(syssem_t *s);     /* try_acquire(s, 0)                 */
  int (*release_one)(syssem_t *s); /* release(s, 1)                     */
  const struct syssem__backend *be;
  char *key;           /* the key as given, in the handle's own allocation   */
  char *native;        /* native name (UTF-8)                              */
  int initial;         /* for reopen after removal underneath              */
  int proj_id;         /* System V ftok project id                         */
  int legacy;          /* key derived from a Qt string key                 */
  int created;         /* this handle created the object                   */
  int owner;           /* this handle removes the object on close          */
  unsigned int flags;  /* SYSSEM_PERSIST | SYSSEM_NO_UNDO                  */
  unsigned int perms;  /* exact permission bits for objects and key files  */
  unsigned long pid;   /* an owner's process, set when it becomes owner: a */
                       /* fork child that closes it is another            */
};

typedef struct syssem__backend {
  syssem_backend_t id;
  const char *name;   /* "sysv", "posix", "win32"                        */
  size_t handle_size; /* sizeof the backend's handle struct               */
  int max_value;      /* largest count                                    */

  /* Write the native name into buf (SYSSEM_NATIVE_MAX bytes; see
   * syssem__native_put): from the stem when legacy, else check that text
   * is a valid native name. Returns SYSSEM_OK or SYSSEM_EKEY/ENOMEM.
   * Creates nothing. */
  int (*native_name)(const syssem__name_t *n, char *buf);

  /* Open or create s->native per mode. Sets s->created and s->owner. On
   * failure leaves nothing behind (no object, no key file). */
  int (*open)(syssem_t *s, syssem_mode_t mode, int initial);

  /* Release OS resources; remove the object (and owned key file) when
   * remove is non-zero. Must not fail visibly. */
  void (*close)(syssem_t *s, int remove);

  /* The hot operations. The front end checks the arguments and then jumps
   * here (acquire, try_now and release_one through their copies in the
   * handle), so these return straight to the caller: each records its own
   * failures, on its failure path, with syssem__record(). */
  int (*acquire)(syssem_t *s);
  int (*try_acquire)(syssem_t *s, long timeout_ms); /* timeout_ms >= 0 */
  int (*release)(syssem_t *s, int n);               /* n > 0            */
  /* try_acquire(s, 0) and release(s, 1), the usual calls, without the
   * argument's test; NULL: the front end calls the two above. */
  int (*try_now)(syssem_t *s);
  int (*release_one)(syssem_t *s);

  int (*value)(syssem_t *s, int *value);

  /* Remove the object named by native (a native_name() result). Creates
   * nothing. SYSSEM_ENOENT when there is no object. */
  int (*remove)(const char *native, int legacy, int proj_id);

  /* syssem_lost_fd(); NULL where a handle's tokens cannot be lost. */
  int (*lost_fd)(syssem_t *s, int *fd);
} syssem__backend_t;

extern const syssem__backend_t syssem__sysv;
extern const syssem__backend_t syssem__posix;
extern const syssem__backend_t syssem__win32;

/* Modules ------------------------------------------------------------------ */

/* A backend with dependencies of its own (etcd: libcurl, json-c) is a shared
 * object loaded on first use, so that the library itself links nothing
 * more. The module exports one function, syssem__module_entry, that takes
 * the services of the core it is loaded into (the thread's error record
 * lives in the core) and returns its backend table, or NULL when the core is
 * not the version it was built with: a module shares the core's internal
 * structures and is never mixed across versions. */
typedef struct syssem__core {
  const char *version; /* SYSSEM_VERSION_STRING of the core */
  int (*note)(int code, const char *call, int err);
  int (*note_text)(int code, const char *call, const char *text);
  int (*record)(const char *fn, int r);
  int (*native_put)(char *buf, const char *a, const char *b, const char *c);
} syssem__core_t;

typedef const syssem__backend_t *(*syssem__module_entry_t)(
    const syssem__core_t *core);

/* The table of backend b from its module, loaded once per process and never
 * unloaded; NULL with the reason in *why when it cannot be loaded or b is
 * not a module here (module.c or module_none.c). */
const syssem__backend_t *syssem__module(syssem_backend_t b, const char **why);

/* etcd_key.c --------------------------------------------------------------- */

#define SYSSEM__ETCD_HOSTS_MAX 16
#define SYSSEM__ETCD_PATH_MAX 1024
#define SYSSEM__ETCD_TTL_MIN 2 /* etcd's own minimum with default timing */
#define SYSSEM__ETCD_TTL_MAX 86400

/* An etcd key, split. hosts is "host:port[,host:port...]" with the hosts
 * lowercased, path the semaphore's name (never contains ':'), ttl 0 when the
 * key gives none; the file names are NULL when not given. */
struct syssem__etcd_key {
  int tls;
  int nhosts;
  int ttl;
  char *hosts;
  char *path;
  char *cacert;
  char *cert;
  char *keyfile;
};

/* 1 if the len bytes at key start with "etcd://" or "etcds://" (any case):
 * such a key names an etcd semaphore in every keyform. */
int syssem__etcd_key_scheme(const char *key, size_t len);

/* Split key into *k. SYSSEM_OK, SYSSEM_EKEY with the wrong part named in
 * why (size bytes), or SYSSEM_ENOMEM; on failure *k holds nothing. */
int syssem__etcd_key_parse(const char *key, size_t len,
                           struct syssem__etcd_key *k, char *why, size_t size);

/* The canonical text of k (malloc'd), which parses back to the same k;
 * NULL when out of memory. */
char *syssem__etcd_key_format(const struct syssem__etcd_key *k);
void syssem__etcd_key_free(struct syssem__etcd_key *k);

/* key.c ------------------------------------------------------------------ */

/* SHA-1 of len bytes at data, written to out[20]. */
void syssem__sha1(const void *data, size_t len, unsigned char out[20]);

/* 1 if the len bytes at s are well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF), else 0. */
int syssem__utf8_valid(const char *s, size_t len);

/* Parse key in keyform into *n; free it with syssem__name_free. Legacy:
 * n->text is the stem "qipc_systemsem_" + ASCII letters of key + lowercase
 * hex SHA-1 of key. Native: n->text is key itself (past a byte-order mark),
 * not a copy: n lives no longer than key. URI: type picks n->backend (SYSV with
 * proj_id, POSIX or WIN32), payload percent-decoded into n->text,
 * "?legacyKey=..." accepted and ignored. In every form, a key that starts
 * with "etcd://" or "etcds://" is an etcd key: n->backend ETCD, n->text its
 * canonical form (etcd_key.c).
 * Returns SYSSEM_OK, SYSSEM_EKEY (NULL, empty, not UTF-8, over
 * SYSSEM__KEY_MAX, malformed URI or escape, NUL in a decoded URI),
 * SYSSEM_ENOMEM. Backend availability is not checked here. */
int syssem__name_parse(syssem__name_t *n, const char *key,
                       syssem_keyform_t keyform);
void syssem__name_free(syssem__name_t *n);

/* Qt 6.6 key text, the one home of its rules (the URI parser above and the
 * tool's choice of key form both use these).
 *
 * syssem__uri_scheme: the length of the type that key starts with when it
 * starts as Qt's QUrl reads a scheme, an ASCII letter and then ASCII
 * letters, digits, '+', '-' or '.' up to a ':'; 0 when it does not (or key
 * is NULL). Says nothing about whether the type is one Qt knows.
 *
 * syssem__uri_type: whether type[0..len) is a type that Qt 6.6's
 * QNativeIpcKey::fromString() accepts, ignoring ASCII case: "posix",
 * "windows", "systemv" (ftok project id 'Q'), or "systemv-N" with N in
 * decimal, leading zeros allowed, from 1 to 255. Stores the backend and the
 * project id where the pointers are not NULL. SYSSEM_OK or SYSSEM_EKEY. */
size_t syssem__uri_scheme(const char *key);
int syssem__uri_type(const char *type, size_t len, syssem_backend_t *backend,
                     int *proj_id);

/* After a failed syssem__name_parse: what was wrong, when the code does not
 * say it all ("etcd key: endpoint 'h': no port (HOST:PORT)"), else NULL.
 * Thread-local, valid until this thread's next parse. */
const char *syssem__name_why(void);

/* syssem.c: error recording ----------------------------------------------
 *
 * The protocol, in one place. Every failing public call leaves the thread a
 * code and a message "function: os-call: os-error" (syssem_last_error*).
 *  1. Where an OS call fails, the backend takes a note of it: which call,
 *     and the OS's text for the error (syssem__note, syssem__note_text).
 *     A note is not a failure yet: a caller may still retry or recover and
 *     succeed, and a success never touches the record. Both return the code
 *     they are given, so that `return syssem__note(...)` reads as it does.
 *  2. The public function that fails records its code against its own name
 *     (syssem__record; the front end does it for open, value and remove,
 *     the hot operations' failure paths do it themselves, as the front end
 *     jumps to them). Recording turns the note, if any, into the message
 *     and clears it.
 *  3. A failure without an OS call behind it (a bad argument, a timeout)
 *     records only the function and the code; its message is formatted
 *     when asked for, so that polling with try_acquire(s, 0) never pays
 *     for formatting. */
int syssem__note(int code, const char *call, int err);
int syssem__note_text(int code, const char *call, const char *text);
int syssem__record(const char *fn, int r);

/* Map an errno value from an open/remove-type call to a code. */
int syssem__errno_code(int err);

/* syssem.c: test hooks ---------------------------------------------------- */

/* Called, when not NULL, at the named points of the create, attach, reset
 * and remove paths (the SYSSEM__HOOK lines), so that a test can stop a
 * process between two steps and widen a race window at will. NULL in every
 * program but the test suite's; the shared library does not export it, so
 * only programs linked with the internal library can set it. */
extern void (*syssem__hook)(const char *point);
#define SYSSEM__HOOK(point)                                                   \
  do {                                                                        \
    if (syssem__hook != NULL)                                                 \
      syssem__hook(point);                                                    \
  } while (0)

/* Platform file (unix.c or win32.c) ---------------------------------------- */

/* Backends built into the library, indexed by syssem_backend_t; NULL where
 * absent or loaded as a module. */
extern const syssem__backend_t *const syssem__backends[SYSSEM_BACKEND_ETCD + 1];

/* The calling process's id. */
unsigned long syssem__getpid(void);

/* A native name in buf (SYSSEM_NATIVE_MAX bytes): the strings a, b and c
 * one after the other (b and c may be ""). SYSSEM_OK, or SYSSEM_EKEY when
 * they do not fit, which no key within SYSSEM__KEY_MAX makes. */
int syssem__native_put(char *buf, const char *a, const char *b,
                       const char *c);

/* The text of OS error err, written to buf (always NUL-terminated). */
void syssem__errtext(int err, char *buf, size_t len);

/* Where objects live (Unix: unix.c; the POSIX files in unix_names.c, which
 * stands alone so that the benchmark can link it). The one home of these
 * facts: the backends, the tool, the tests and the benchmark all ask here.
 *
 * syssem__key_dir: the directory of legacy System V key files, $TMPDIR made
 * canonical with realpath() or "/tmp" when it is unset or empty (Qt's rule),
 * malloc'd in *out. SYSSEM_OK, SYSSEM_EKEY (no such directory), ENOMEM.
 *
 * syssem__px_dir, syssem__px_prefix: the directory where the C library keeps
 * POSIX named semaphores as files, and the prefix of a file name before the
 * name's text ("/x" is syssem__px_dir "/" syssem__px_prefix "x"); NULL where
 * they are not files.
 *
 * syssem__px_path: that file's path for native name "/x" in buf.
 * SYSSEM_OK, SYSSEM_ENOSYS where POSIX semaphores are not files,
 * SYSSEM_EINVAL when buf is too small. */
int syssem__key_dir(char **out);
extern const char *const syssem__px_dir;
extern const char *const syssem__px_prefix;
int syssem__px_path(const char *native, char *buf, size_t size);

/* Unix only (unix_names.c): the ftok() key, with project id proj_id, of the
 * key file at path that st describes (an lstat or fstat already made), in
 * *key. 0, or -1 with errno set. */
#if !defined(_WIN32)
# include <sys/ipc.h> /* key_t, whatever the feature macros */
struct stat;
int syssem__ftok(const char *path, const struct stat *st, int proj_id,
                 key_t *key);
#endif

#if !defined(_WIN32)
/* Unix only (unix.c): the lock of a file, the one way the backends order
 * the steps that change which object a name leads to (docs/semantics.md,
 * "Locks"). An flock, not an fcntl lock: it belongs to the open file, so no
 * other descriptor the process closes drops it, and the kernel drops it
 * when its holder dies.
 *
 * syssem__lock_open: open the file at path to lock it, for reading or,
 * failing that, for writing (either will do), never following a symlink or
 * waiting on a FIFO. A descriptor, or -1 with errno set.
 *
 * syssem__lock_take: take fd's lock, waiting as long as it is held (EINTR
 * retried), and check that path still names fd's file: SYSSEM_OK with *st
 * that file's stat; SYSSEM__MOVED when the path was unlinked or replaced
 * while we waited (the name is someone else's now: start over); or a code,
 * noted. fd stays open, and locked on SYSSEM_OK, until the caller closes
 * it. */
# define SYSSEM__MOVED 1
int syssem__lock_open(const char *path);
int syssem__lock_take(int fd, const char *path, struct stat *st);
#endif

/* The longest POSIX name this system's C library takes, in bytes after the
 * leading slash (unix_names.c; docs/portability.md has the table). */
extern const size_t syssem__px_name_max;

/* Unix, for the test suite (posix_named.c): the count of POSIX handle s
 * read with the C library's sem_getvalue, whatever this build's rules say
 * (-Demulate=darwin's syssem_value says SYSSEM_ENOSYS, as a Mac's does).
 * SYSSEM_OK, SYSSEM_EINVAL (not a POSIX handle), SYSSEM_ENOSYS (Apple
 * systems), or the C library's failure. The library never calls it. */
int syssem__px_count(syssem_t *s, int *value);

/* Unix only: *end = now + ms on CLOCK_MONOTONIC; syssem__left() stores in
 * *left the time from now to end (0 once it has passed). */
void syssem__deadline(struct timespec *end, long ms);
void syssem__left(const struct timespec *end, struct timespec *left);

/* A timed wait where the system has none (macOS, and the BSDs for System V)
 * is a poll: try without blocking, nap, try again. The first nap is
 * SYSSEM__NAP_FIRST_NS, each next one twice the last, up to SYSSEM__NAP_CAP_NS:
 * a token given back while the poller naps waits for it at most that cap,
 * and so does a try that ends the wait at the deadline.
 *
 * syssem__nap: sleep min(*step, the time left to end) on the monotonic
 * clock, then double *step up to the cap (start with *step = 0). Returns 0,
 * without sleeping, once end has passed: the caller's last try was its
 * last. A signal cuts a nap short, which only brings the next try sooner:
 * no signal, thread or timer of the library's own is involved. */
#define SYSSEM__NAP_FIRST_NS 100000L   /* 0.1 ms */
#define SYSSEM__NAP_CAP_NS 10000000L   /* 10 ms */
int syssem__nap(const struct timespec *end, long *step);

#endif /* SYSSEM_INT_H */
