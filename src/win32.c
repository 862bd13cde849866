/*
 * Win32 backend: CreateSemaphoreW / WaitForSingleObjectEx / ReleaseSemaphore,
 * the count read through NtQuerySemaphore. Also the platform file of a
 * Windows build: the backend table, process id and errno text.
 *
 * Windows rules (docs/semantics.md): SYSSEM_OPEN and SYSSEM_CREATE both
 * attach to an existing object without touching its count; nobody removes
 * an object, the kernel frees it with its last handle; nothing is given back
 * when a process dies holding a token.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
# define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syssem_int.h"

/* The longest object name CreateSemaphoreW documents, in UTF-16 units: the
 * limit of a native name. */
#define W32_NAME_MAX MAX_PATH

/* SEMAPHORE_QUERY_STATE, which not every SDK names: NtQuerySemaphore needs
 * it. An opener asks for what it uses: wait, release, read the count. */
#define W32_QUERY_STATE 0x0001
#define W32_ACCESS (SYNCHRONIZE | SEMAPHORE_MODIFY_STATE | W32_QUERY_STATE)

struct w32_sem {
  struct syssem base;
  HANDLE h;
};

/* Windows' text for err, as UTF-8 and with the number: "Access is denied.
 * (Windows error 5)". */
static void w32_errtext(DWORD err, char *buf, size_t len)
{
  wchar_t wide[256];
  char text[512];
  DWORD n;
  int u = 0;

  n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                     NULL, err, 0, wide, sizeof wide / sizeof wide[0], NULL);
  while (n > 0 && (wide[n - 1] == L'\r' || wide[n - 1] == L'\n' ||
                   wide[n - 1] == L' '))
    n--;
  if (n > 0)
    u = WideCharToMultiByte(CP_UTF8, 0, wide, (int)n, text,
                            (int)sizeof text - 1, NULL, NULL);
  text[u > 0 ? u : 0] = '\0';
  snprintf(buf, len, "%s%s(Windows error %lu)", text, u > 0 ? " " : "",
           (unsigned long)err);
}

/* The one place a Windows error becomes a code; notes the failing call and
 * Windows' text for the last-error message. named: the call looked an object
 * up by name, where ERROR_INVALID_HANDLE means that the name belongs to an
 * object of another type (an event, a mutex...). */
static int w32_fail(const char *call, DWORD err, int named)
{
  char text[256];
  int code;

  switch (err) {
  case ERROR_ACCESS_DENIED:
    code = SYSSEM_EPERM;
    break;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_NO_SYSTEM_RESOURCES:
  case ERROR_COMMITMENT_LIMIT:
    code = SYSSEM_ENOSPC;
    break;
  case ERROR_TOO_MANY_POSTS:
    code = SYSSEM_EOVERFLOW;
    break;
  case ERROR_ALREADY_EXISTS:
    code = SYSSEM_EEXIST;
    break;
  case ERROR_FILE_NOT_FOUND:
    code = SYSSEM_ENOENT;
    break;
  case ERROR_PATH_NOT_FOUND:
  case ERROR_BAD_PATHNAME:
  case ERROR_INVALID_NAME:
  case ERROR_FILENAME_EXCED_RANGE:
    code = SYSSEM_EKEY;
    break;
  case ERROR_INVALID_HANDLE:
    code = named ? SYSSEM_EKEY : SYSSEM_EUNKNOWN;
    break;
  default:
    code = SYSSEM_EUNKNOWN;
    break;
  }
  w32_errtext(err, text, sizeof text);
  return syssem__note_text(code, call, text);
}

/* The UTF-16 units of a UTF-8 name, its terminating NUL included; 0 when
 * it is not UTF-8. */
static int w32_units(const char *name)
{
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, NULL, 0);
}

/* Legacy: the stem as it is, as Qt uses it, of any length the key allows
 * (the kernel's own limit is far above). Native: an object name of at most
 * W32_NAME_MAX UTF-16 units, which may start with "Local\" or "Global\" and
 * has no other backslash (Windows would take one for a namespace path). */
static int w32_native_name(const syssem__name_t *n, char *buf)
{
  const char *t = n->text, *rest = t;
  int units = w32_units(t);

  if (!n->legacy) {
    if (strncmp(t, "Local\\", 6) == 0)
      rest = t + 6;
    else if (strncmp(t, "Global\\", 7) == 0)
      rest = t + 7;
    if (*rest == '\0' || strchr(rest, '\\') != NULL ||
        units > W32_NAME_MAX + 1)
      return SYSSEM_EKEY;
  }
  if (units <= 0)
    return SYSSEM_EKEY;
  return syssem__native_put(buf, t, "", "");
}

static int w32_open(syssem_t *base, syssem_mode_t mode, int initial)
{
  struct w32_sem *s = (struct w32_sem *)base;
  const char *call = "CreateSemaphoreW";
  int units = w32_units(base->native);
  wchar_t *name;
  DWORD err;
  HANDLE h;

  if (units <= 0)
    return SYSSEM_EKEY;
  name = malloc((size_t)units * sizeof *name);
  if (name == NULL)
    return SYSSEM_ENOMEM;
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, base->native, -1, name,
                      units);
  SetLastError(ERROR_SUCCESS);
  if (mode == SYSSEM_OPEN_EXISTING) {
    call = "OpenSemaphoreW";
    h = OpenSemaphoreW(W32_ACCESS, FALSE, name);
  } else {
    /* SYSSEM_OPEN and SYSSEM_CREATE alike: an existing object keeps its
     * count and initial is ignored (Qt's Windows rule). */
    h = CreateSemaphoreW(NULL, initial, MAXLONG, name);
  }
  err = GetLastError();
  free(name);
  if (h == NULL)
    return w32_fail(call, err, 1);
  if (mode == SYSSEM_CREATE_NEW && err == ERROR_ALREADY_EXISTS) {
    CloseHandle(h);
    return w32_fail(call, err, 1);
  }
  s->h = h;
  base->created = mode != SYSSEM_OPEN_EXISTING && err != ERROR_ALREADY_EXISTS;
  base->owner = 0; /* the kernel frees the object with its last handle */
  return SYSSEM_OK;
}

static void w32_close(syssem_t *s, int remove)
{
  (void)remove;
  CloseHandle(((struct w32_sem *)s)->h);
}

/* One wait of at most ms milliseconds (INFINITE: no limit). */
static int w32_wait(HANDLE h, DWORD ms)
{
  DWORD r = WaitForSingleObjectEx(h, ms, FALSE);

  if (r == WAIT_OBJECT_0)
    return SYSSEM_OK;
  if (r == WAIT_TIMEOUT)
    return SYSSEM_ETIMEDOUT;
  if (r == WAIT_FAILED)
    return w32_fail("WaitForSingleObjectEx", GetLastError(), 0);
  return syssem__note_text(SYSSEM_EUNKNOWN, "WaitForSingleObjectEx",
                              "unexpected wait result");
}

static int w32_acquire(syssem_t *s)
{
  return syssem__record("syssem_acquire",
                        w32_wait(((struct w32_sem *)s)->h, INFINITE));
}

/* Microseconds on the performance counter, a monotonic clock. */
static long long w32_now_us(void)
{
  LARGE_INTEGER f, c;

  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return c.QuadPart / f.QuadPart * 1000000 +
         c.QuadPart % f.QuadPart * 1000000 / f.QuadPart;
}

/* A timeout for one wait: at most INFINITE - 1, the longest finite one. */
static DWORD w32_ms(long long ms)
{
  return ms < (long long)INFINITE ? (DWORD)ms : INFINITE - 1;
}

static int w32_try_acquire(syssem_t *s, long timeout_ms)
{
  HANDLE h = ((struct w32_sem *)s)->h;
  long long end = w32_now_us() + (long long)timeout_ms * 1000, left;
  int r;

  /* Windows waits in timer ticks and may end a wait a little early; wait
   * again for what is left, so that ETIMEDOUT means the whole timeout has
   * passed. (A long is 32 bits here, so no timeout reaches INFINITE.) */
  r = w32_wait(h, w32_ms(timeout_ms));
  while (r == SYSSEM_ETIMEDOUT && (left = end - w32_now_us()) > 0)
    r = w32_wait(h, w32_ms((left + 999) / 1000));
  return syssem__record("syssem_try_acquire", r);
}

static int w32_release(syssem_t *s, int n)
{
  /* One call, all or nothing: past MAXLONG it fails with
   * ERROR_TOO_MANY_POSTS and the count is unchanged. */
  if (!ReleaseSemaphore(((struct w32_sem *)s)->h, n, NULL))
    return syssem__record("syssem_release",
                          w32_fail("ReleaseSemaphore", GetLastError(), 0));
  return SYSSEM_OK;
}

/* ntdll's NtQuerySemaphore (undocumented, so looked up at run time) and
 * RtlNtStatusToDosError to map its failures. Looked up once per process. */
typedef LONG(NTAPI *w32_query_fn)(HANDLE, int, PVOID, ULONG, PULONG);
typedef ULONG(NTAPI *w32_status_fn)(LONG);

static struct {
  w32_query_fn query;
  w32_status_fn status;
} w32_nt;
static INIT_ONCE w32_nt_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK w32_nt_lookup(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");

  (void)once;
  (void)arg;
  (void)ctx;
  if (nt != NULL) {
    /* Through void (*)(void), the generic function pointer type. */
    w32_nt.query = (w32_query_fn)(void (*)(void))GetProcAddress(
        nt, "NtQuerySemaphore");
    w32_nt.status = (w32_status_fn)(void (*)(void))GetProcAddress(
        nt, "RtlNtStatusToDosError");
  }
  return TRUE;
}

static int w32_value(syssem_t *s, int *value)
{
  struct {
    LONG current; /* SEMAPHORE_BASIC_INFORMATION, class 0 */
    LONG maximum;
  } info;
  LONG st;

  InitOnceExecuteOnce(&w32_nt_once, w32_nt_lookup, NULL, NULL);
  if (w32_nt.query == NULL || w32_nt.status == NULL)
    return syssem__note_text(SYSSEM_ENOSYS, "GetProcAddress",
                                "ntdll.dll has no NtQuerySemaphore");
  st = w32_nt.query(((struct w32_sem *)s)->h, 0, &info, sizeof info, NULL);
  if (st < 0)
    return w32_fail("NtQuerySemaphore", w32_nt.status(st), 0);
  *value = (int)info.current;
  return SYSSEM_OK;
}

/* A named object lives as long as a handle to it: nothing can remove it. */
static int w32_remove(const char *native, int legacy, int proj_id)
{
  (void)native;
  (void)legacy;
  (void)proj_id;
  return SYSSEM_ENOSYS;
}

/* Platform file ------------------------------------------------------------ */

const syssem__backend_t *const syssem__backends[SYSSEM_BACKEND_ETCD + 1] = {
  NULL, NULL, NULL, &syssem__win32, NULL
};

unsigned long syssem__getpid(void)
{
  return (unsigned long)GetCurrentProcessId();
}

void syssem__errtext(int err, char *buf, size_t len)
{
  if (len > 0 && strerror_s(buf, len, err) != 0)
    buf[0] = '\0';
}

const syssem__backend_t syssem__win32 = {
  .id = SYSSEM_BACKEND_WIN32,
  .name = "win32",
  .handle_size = sizeof(struct w32_sem),
  .max_value = MAXLONG,
  .native_name = w32_native_name,
  .open = w32_open,
  .close = w32_close,
  .acquire = w32_acquire,
  .try_acquire = w32_try_acquire,
  .release = w32_release,
  .value = w32_value,
  .remove = w32_remove,
};
