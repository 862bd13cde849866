/*
 * libsyssem: named, counting, cross-process semaphores with the semantics of
 * Qt's QSystemSemaphore.
 *
 * SPDX-License-Identifier: MIT
 *
 * Conventions of this header:
 *  - Functions returning int return SYSSEM_OK (0) or a negative SYSSEM_E* code.
 *  - Every failing call records its code and a message in thread-local storage
 *    (syssem_last_error(), syssem_last_error_message()); successful calls leave
 *    that record alone.
 *  - No function prints, aborts or exits on bad input or OS failure.
 *  - A handle may be used by many threads at once for syssem_acquire(),
 *    syssem_try_acquire(), syssem_release() and syssem_value(); syssem_close()
 *    must be the last call on it.
 */
#ifndef SYSSEM_H
#define SYSSEM_H

#include <stddef.h>

#include "syssem_version.h"

#if defined(_WIN32) || defined(__CYGWIN__)
# if defined(SYSSEM_BUILDING) && !defined(SYSSEM_STATIC)
#  define SYSSEM_EXTERN __declspec(dllexport)
# elif !defined(SYSSEM_STATIC)
#  define SYSSEM_EXTERN __declspec(dllimport)
# else
#  define SYSSEM_EXTERN
# endif
#elif defined(__GNUC__) && __GNUC__ >= 4
# define SYSSEM_EXTERN __attribute__((visibility("default")))
#else
# define SYSSEM_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An open semaphore. Opaque; created by syssem_open()/syssem_open_ex(),
 * destroyed by syssem_close(). */
typedef struct syssem syssem_t;

/* How syssem_open() treats an existing or absent object (see docs/semantics.md).
 *
 *  SYSSEM_OPEN           exists: attach, count unchanged, initial ignored.
 *                        absent: create with count initial.
 *  SYSSEM_CREATE         exists: attach the same object and set its count to
 *                        initial. absent: create with count initial.
 *  SYSSEM_OPEN_EXISTING  exists: attach. absent: SYSSEM_ENOENT.
 *  SYSSEM_CREATE_NEW     absent: create. exists: SYSSEM_EEXIST.
 *
 * On Windows SYSSEM_OPEN and SYSSEM_CREATE both behave as SYSSEM_OPEN (Qt's
 * rule); the two extensions behave the same on every backend. */
typedef enum {
  SYSSEM_OPEN = 0,
  SYSSEM_CREATE = 1,
  SYSSEM_OPEN_EXISTING = 2,
  SYSSEM_CREATE_NEW = 3
} syssem_mode_t;

/* The OS primitive behind a handle. */
typedef enum {
  SYSSEM_BACKEND_DEFAULT = 0, /* build default, overridden by $SYSSEM_BACKEND  */
  SYSSEM_BACKEND_SYSV = 1,    /* System V semget/semop (Unix default)          */
  SYSSEM_BACKEND_POSIX = 2,   /* POSIX sem_open/sem_wait                       */
  SYSSEM_BACKEND_WIN32 = 3,   /* CreateSemaphoreW (Windows default)            */
  SYSSEM_BACKEND_ETCD = 4     /* an etcd cluster, keys etcd://... (Unix; a
                                 module, docs/distributed.md)                 */
} syssem_backend_t;

/* How the key string names the OS object. */
typedef enum {
  SYSSEM_KEYFORM_LEGACY = 0, /* Qt's string-key derivation (qipc_systemsem_...) */
  SYSSEM_KEYFORM_NATIVE = 1, /* key is the backend's native name               */
  SYSSEM_KEYFORM_URI = 2     /* key is Qt 6.6 QNativeIpcKey text, "posix:/x"    */
} syssem_keyform_t;

#define SYSSEM_PERSIST 0x1u /* never remove the object on close (etcd: always) */
#define SYSSEM_NO_UNDO 0x2u /* System V, etcd: no undo, operations are permanent */

/* Options for syssem_open_ex() and syssem_remove(). Initialise with
 * SYSSEM_OPTIONS_INIT, then change the fields you need. */
typedef struct syssem_options {
  unsigned int version;     /* SYSSEM_OPTIONS_VERSION                         */
  syssem_backend_t backend; /* DEFAULT: build default, SYSSEM_BACKEND env override */
  syssem_keyform_t keyform;
  unsigned int permissions; /* 0 means 0600; applied exactly, umask or not    */
  unsigned int flags;       /* SYSSEM_PERSIST | SYSSEM_NO_UNDO                */
} syssem_options_t;

#define SYSSEM_OPTIONS_VERSION 1
#define SYSSEM_OPTIONS_INIT                                                   \
  { SYSSEM_OPTIONS_VERSION, SYSSEM_BACKEND_DEFAULT, SYSSEM_KEYFORM_LEGACY, 0, 0 }

/* Error codes: 0 or negative, the same numbers on every platform.
 * -1..-6 are QSystemSemaphore::SystemSemaphoreError 1..6, negated. */
#define SYSSEM_OK 0
#define SYSSEM_EPERM -1     /* PermissionDenied                                */
#define SYSSEM_EKEY -2      /* KeyError: empty, malformed or unusable key      */
#define SYSSEM_EEXIST -3    /* AlreadyExists                                   */
#define SYSSEM_ENOENT -4    /* NotFound                                        */
#define SYSSEM_ENOSPC -5    /* OutOfResources                                  */
#define SYSSEM_EUNKNOWN -6  /* UnknownError                                    */
#define SYSSEM_EINVAL -7    /* bad argument: NULL handle, mode, initial, n, options */
#define SYSSEM_ETIMEDOUT -8 /* no token within the timeout (0 included)        */
#define SYSSEM_EOVERFLOW -9 /* release would pass the maximum; count unchanged */
#define SYSSEM_ENOSYS -10   /* backend or operation not available here         */
#define SYSSEM_ENOMEM -11   /* allocation failed                               */
#define SYSSEM_ELOST -12    /* etcd: the tokens this handle held were given
                               back when its lease expired (syssem_lost_fd)   */
#define SYSSEM_EUNAVAIL -13 /* etcd: no endpoint answered in time            */

/* Open the semaphore named by key (legacy keyform, default backend, default
 * options), following the rules of mode. A key that starts with "etcd://" or
 * "etcds://" names a semaphore on an etcd cluster in every keyform
 * (docs/distributed.md).
 *
 * Does not block, except while another process of this library creates,
 * resets or removes the same key's object: a System V opener that must make
 * the key file or the set, or finds a set still being made, waits for the
 * key file's lock; a POSIX opener with SYSSEM_CREATE waits for the object's
 * (docs/semantics.md). Such a holder keeps the lock for a few system calls,
 * unless it is stopped. An etcd opener waits for the cluster's answer (at
 * most the key's lease time).
 * Returns the handle, or NULL with the reason in syssem_last_error(): any code
 * that syssem_open_ex() returns. */
SYSSEM_EXTERN syssem_t *syssem_open(const char *key, int initial,
                                    syssem_mode_t mode);

/* Open the semaphore named by key with explicit options (opts may be NULL,
 * meaning SYSSEM_OPTIONS_INIT). On success stores the handle in *out and
 * returns SYSSEM_OK; on failure stores NULL in *out (when out is not NULL),
 * leaves no object, key file or memory behind, and returns:
 *
 *  SYSSEM_EINVAL   out is NULL; mode unknown; initial < 0 or above the backend
 *                  maximum; opts has an unknown version, backend, keyform or
 *                  flag, or permissions above 0777; $SYSSEM_BACKEND names no
 *                  backend; a URI key names another backend than opts->backend
 *  SYSSEM_EKEY     key NULL, empty, not UTF-8, too long or malformed (the
 *                  message names the wrong part); a System V key file that
 *                  is not a regular file (a symlink included), or whose
 *                  directory does not exist or takes no files
 *  SYSSEM_ENOSYS   the backend (or the URI key's type) is not built here, or
 *                  its module cannot be loaded (the message says why)
 *  SYSSEM_EPERM    the object or key file exists and is not accessible;
 *                  the key file would be on a read-only file system
 *  SYSSEM_EEXIST   SYSSEM_CREATE_NEW and the object exists
 *  SYSSEM_ENOENT   SYSSEM_OPEN_EXISTING and the object does not exist; or
 *                  other processes removed it again and again while this
 *                  call was opening it (a bounded number of retries)
 *  SYSSEM_ENOSPC   the system is out of semaphores, descriptors or memory
 *  SYSSEM_ENOMEM   allocation failed
 *  SYSSEM_EUNAVAIL etcd: no endpoint answered within the key's lease time
 *  SYSSEM_EUNKNOWN any other OS failure (the message names it)
 *
 * Ownership: on Unix the handle that created the object, or opened it with
 * SYSSEM_CREATE, removes it (and, System V, the key file it owns) when it is
 * closed, unless opts->flags has SYSSEM_PERSIST. On Windows the kernel frees
 * the object with its last handle. An etcd semaphore is shared by a fleet
 * and stays until syssem_remove(), whoever made it. */
SYSSEM_EXTERN int syssem_open_ex(syssem_t **out, const char *key, int initial,
                                 syssem_mode_t mode,
                                 const syssem_options_t *opts);

/* Close the handle and free it. If this handle owns the object (see
 * syssem_open_ex) and the calling process is the one that opened it (not a
 * child that inherited the handle through fork), the object is removed, if
 * it is still this handle's: an object removed meanwhile and replaced by
 * another process's new one under the same key is left alone (System V:
 * only this handle's own set goes, and the key file only while it names that
 * set or none; POSIX: the name only while it names this handle's object).
 * Handles still open elsewhere then follow docs/semantics.md: System V ones
 * recreate the object by key at their next call, POSIX ones keep the
 * unlinked object. NULL is accepted and ignored. Blocks only as
 * syssem_open() may, for the lock under which it removes. */
SYSSEM_EXTERN void syssem_close(syssem_t *s);

/* Take one token, blocking for as long as it takes. Signals do not interrupt
 * it (EINTR is retried). If the object was removed underneath, it is reopened
 * by key (SYSSEM_OPEN rules, this handle's initial) a bounded number of times.
 * A POSIX acquire is a thread cancellation point (a cancelled waiter takes no
 * token); a System V one is not: a cancel request waits until it returns
 * (docs/semantics.md, "Threads").
 * Returns SYSSEM_OK, SYSSEM_EINVAL (s NULL), SYSSEM_ENOENT (removed and could
 * not be recreated), SYSSEM_EPERM, SYSSEM_ENOSPC, SYSSEM_EOVERFLOW (System V
 * with SEM_UNDO: this process has taken 32,767 tokens more than it gave back,
 * the most the kernel can undo for it; open with SYSSEM_NO_UNDO for such
 * one-way use) or SYSSEM_EUNKNOWN; on etcd
 * also SYSSEM_ELOST (this handle's tokens were given back when its lease
 * expired; every later call on the handle returns it too) and
 * SYSSEM_EUNAVAIL (the cluster stopped answering for a lease time: a
 * blocking acquire on etcd waits for a token without bound, but not for an
 * unreachable cluster). */
SYSSEM_EXTERN int syssem_acquire(syssem_t *s);

/* Take one token, waiting at most timeout_ms milliseconds on a monotonic
 * clock; 0 never blocks. Returns SYSSEM_OK, SYSSEM_ETIMEDOUT (no token in
 * time), SYSSEM_EINVAL (s NULL or timeout_ms < 0), or the codes of
 * syssem_acquire(). */
SYSSEM_EXTERN int syssem_try_acquire(syssem_t *s, long timeout_ms);

/* Give n tokens back, waking up to n waiters. Never blocks (etcd: waits for
 * the cluster's answer, at most a lease time). All or nothing:
 * if the count would pass the backend maximum nothing is added and
 * SYSSEM_EOVERFLOW is returned. n == 0 is a no-op returning SYSSEM_OK.
 * System V and Win32 add n in one step. POSIX has no such call: it posts n
 * times, in time proportional to n, and other processes may take tokens
 * between the posts; should a post still fail (a concurrent release reached
 * the maximum), the posts already made are taken back as far as tokens are
 * left (docs/semantics.md). With SEM_UNDO (System V) the same bound as for
 * syssem_acquire() applies the other way: SYSSEM_EOVERFLOW once this process
 * has given back 32,768 more than it took.
 * Returns SYSSEM_OK, SYSSEM_EINVAL (s NULL or n < 0), SYSSEM_EOVERFLOW, or
 * the codes of syssem_acquire(). */
SYSSEM_EXTERN int syssem_release(syssem_t *s, int n);

/* Store the current count in *value. Never blocks (etcd: as release). The
 * number may be stale as soon as it is read; on etcd it is below 0 while a
 * process that released tokens others took has gone (docs/distributed.md). Returns SYSSEM_OK, SYSSEM_EINVAL (s or value NULL),
 * SYSSEM_ENOSYS (the platform cannot tell; *value is left alone), or the
 * codes of syssem_acquire(). */
SYSSEM_EXTERN int syssem_value(syssem_t *s, int *value);

/* Remove the object named by key (opts as for syssem_open_ex, may be NULL),
 * whoever created it. Handles still open elsewhere see the rules of
 * docs/semantics.md: System V waiters wake and meet again on the object the
 * key names next. Blocks only as syssem_open() may, for the lock under
 * which it removes (etcd: waits for the cluster's answer). A System V legacy
 * key file left without its set is removed too. Creates nothing, no key
 * file either.
 * Returns SYSSEM_OK, SYSSEM_ENOENT (no such object), SYSSEM_EPERM,
 * SYSSEM_EUNKNOWN (any other OS failure, named by the message), and the key
 * and option codes of syssem_open_ex() (SYSSEM_EKEY, SYSSEM_EINVAL,
 * SYSSEM_ENOSYS, SYSSEM_ENOMEM). On Windows, where named objects cannot be
 * removed, SYSSEM_ENOSYS. */
SYSSEM_EXTERN int syssem_remove(const char *key, const syssem_options_t *opts);

/* A descriptor that becomes readable when the tokens this handle holds are
 * lost, which only a networked backend's handle can suffer (etcd: its lease
 * expired, after a partition or a pause longer than the lease time), so that
 * a program learns of it without calling: poll() it for POLLIN next to its
 * own work. It stays readable from then on; every later call on the handle
 * returns SYSSEM_ELOST. The descriptor belongs to the handle: do not read,
 * write or close it; syssem_close() closes it. Never blocks.
 * Returns SYSSEM_OK with *fd set, SYSSEM_EINVAL (s or fd NULL), SYSSEM_ENOSYS
 * (a backend whose tokens cannot be lost: System V, POSIX, Win32) or
 * SYSSEM_ENOSPC (out of descriptors). */
SYSSEM_EXTERN int syssem_lost_fd(syssem_t *s, int *fd);

/* The largest native name of any backend, its terminating NUL included: a
 * buffer of this size always holds what syssem_native_name() writes. */
#define SYSSEM_NATIVE_MAX 4352

/* Name the object that key (opts as for syssem_open_ex, may be NULL) would
 * open, without opening, creating or touching anything: stores the backend
 * in *backend (when backend is not NULL) and the native name, as
 * syssem_native_key() would give it, in buf. The System V name is the key
 * file's path, made from $TMPDIR as it is now. Never blocks.
 * Returns SYSSEM_OK, SYSSEM_EINVAL (buf NULL, size 0, or the name does not
 * fit: buf then holds ""), and the key and option codes of syssem_open_ex()
 * (SYSSEM_EKEY, SYSSEM_EINVAL, SYSSEM_ENOSYS, SYSSEM_ENOMEM). */
SYSSEM_EXTERN int syssem_native_name(const char *key,
                                     const syssem_options_t *opts,
                                     syssem_backend_t *backend, char *buf,
                                     size_t size);

/* 1 if this handle created the object (or recreated it after a removal
 * underneath), 0 if it attached to an existing one or s is NULL. */
SYSSEM_EXTERN int syssem_created(const syssem_t *s);

/* The key the handle was opened with, or NULL for a NULL handle. Valid until
 * syssem_close(). */
SYSSEM_EXTERN const char *syssem_key(const syssem_t *s);

/* The native name of the object: a key file path (System V), "/name" (POSIX),
 * the object name (Windows, as UTF-8) or the key in canonical form (etcd). NULL for a NULL handle. Valid until
 * syssem_close(). */
SYSSEM_EXTERN const char *syssem_native_key(const syssem_t *s);

/* The backend of an open handle; SYSSEM_BACKEND_DEFAULT for a NULL handle. */
SYSSEM_EXTERN syssem_backend_t syssem_backend(const syssem_t *s);

/* "sysv", "posix", "win32", "etcd", "default" for SYSSEM_BACKEND_DEFAULT, or
 * NULL for a value that names no backend. A static string. */
SYSSEM_EXTERN const char *syssem_backend_name(syssem_backend_t b);

/* 1 if backend b is built into this library (SYSSEM_BACKEND_DEFAULT: 1),
 * or is a module that loads (etcd), otherwise 0. */
SYSSEM_EXTERN int syssem_backend_available(syssem_backend_t b);

/* The code of this thread's last failing call, SYSSEM_OK if none failed yet. */
SYSSEM_EXTERN int syssem_last_error(void);

/* The message of this thread's last failing call, naming the function, the OS
 * call and the OS error, e.g. "syssem_open: semget: Permission denied"; "" if
 * none failed yet. Valid until this thread's next failing call. */
SYSSEM_EXTERN const char *syssem_last_error_message(void);

/* A static description of code, for any int ("unknown error code" for
 * values that are not codes). */
SYSSEM_EXTERN const char *syssem_strerror(int code);

/* The library version, "MAJOR.MINOR.PATCH" (may differ from
 * SYSSEM_VERSION_STRING, the version this program was compiled against). */
SYSSEM_EXTERN const char *syssem_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SYSSEM_H */
