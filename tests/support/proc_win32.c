/*
 * Test support, Windows: CreateProcessW with two anonymous pipes.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef WIN32_LEAN_AND_MEAN
# define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "proc.h"

/* The exit status proc_wait reports for a killed process, as Unix reports
 * SIGKILL (128 + 9). */
#define PROC_KILLED 137

struct proc {
  HANDLE process;
  HANDLE in;  /* its stdin, our end  */
  HANDLE out; /* its stdout, our end */
  size_t have;
  char buf[4096];
};

/* Append arg to the command line at cmd, quoted so that the C runtime's
 * argument splitting gives it back unchanged: inside quotes a run of
 * backslashes is literal unless a quote follows it, so double the run before
 * a quote (the arg's own, escaped, or the closing one). Returns the end. */
static char *quote_arg(char *cmd, const char *arg)
{
  size_t slashes = 0;

  if (*arg != '\0' && strpbrk(arg, " \t\n\v\"") == NULL) {
    strcpy(cmd, arg);
    return cmd + strlen(arg);
  }
  *cmd++ = '"';
  for (;; arg++) {
    if (*arg == '\\') {
      slashes++;
      continue;
    }
    if (*arg == '"' || *arg == '\0')
      slashes *= 2; /* they precede a quote: each one escaped */
    for (; slashes > 0; slashes--)
      *cmd++ = '\\';
    if (*arg == '\0')
      break;
    if (*arg == '"')
      *cmd++ = '\\';
    *cmd++ = *arg;
  }
  *cmd++ = '"';
  *cmd = '\0';
  return cmd;
}

/* A UTF-16 copy of a UTF-8 string, malloc'd; NULL on failure. */
static wchar_t *wide(const char *s)
{
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;

  if (w != NULL && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) != n) {
    free(w);
    w = NULL;
  }
  return w;
}

/* The command line for argv, as UTF-16; NULL on failure. */
static wchar_t *command_line(const char *const argv[])
{
  size_t i, room = 1;
  char *cmd, *end;
  wchar_t *w;

  for (i = 0; argv[i] != NULL; i++)
    room += 2 * strlen(argv[i]) + 3;
  cmd = malloc(room);
  if (cmd == NULL)
    return NULL;
  end = cmd;
  *end = '\0';
  for (i = 0; argv[i] != NULL; i++) {
    if (i > 0)
      *end++ = ' ';
    end = quote_arg(end, argv[i]);
  }
  w = wide(cmd);
  free(cmd);
  return w;
}

/* Close what is not NULL. */
static void close_all(HANDLE *h, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (h[i] != NULL)
      CloseHandle(h[i]);
}

proc_t *proc_start(const char *const argv[])
{
  SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
  PROCESS_INFORMATION pi;
  STARTUPINFOW si;
  /* Its stdin (read end), its stdout (write end), its stderr (our stderr,
   * made inheritable): all three inheritable, and ours only. */
  HANDLE child[3] = { NULL, NULL, NULL };
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
  wchar_t *app = wide(argv[0]), *cmd = command_line(argv);
  proc_t *p = calloc(1, sizeof *p);
  BOOL ok = FALSE;

  if (p == NULL || app == NULL || cmd == NULL ||
      !CreatePipe(&child[0], &p->in, &sa, 0) ||
      !CreatePipe(&p->out, &child[1], &sa, 0) ||
      !SetHandleInformation(p->in, HANDLE_FLAG_INHERIT, 0) ||
      !SetHandleInformation(p->out, HANDLE_FLAG_INHERIT, 0))
    goto cleanup;
  if (err != NULL && err != INVALID_HANDLE_VALUE)
    DuplicateHandle(GetCurrentProcess(), err, GetCurrentProcess(), &child[2],
                    0, TRUE, DUPLICATE_SAME_ACCESS);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = child[0];
  si.hStdOutput = child[1];
  si.hStdError = child[2];
  ok = CreateProcessW(app, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  if (ok) {
    CloseHandle(pi.hThread);
    p->process = pi.hProcess;
    proc_live_add(p);
  }

cleanup:
  close_all(child, 3);
  free(app);
  free(cmd);
  if (!ok && p != NULL) {
    HANDLE ours[2];
    ours[0] = p->in;
    ours[1] = p->out;
    close_all(ours, 2);
    free(p);
    p = NULL;
  }
  return p;
}

int proc_send(proc_t *p, const char *line)
{
  size_t len = strlen(line);
  char *msg = malloc(len + 1);
  DWORD done = 0;
  BOOL ok;

  if (msg == NULL)
    return -1;
  memcpy(msg, line, len);
  msg[len] = '\n';
  ok = WriteFile(p->in, msg, (DWORD)(len + 1), &done, NULL);
  free(msg);
  return ok && done == len + 1 ? 0 : -1;
}

/* Move the first complete line of p->buf to buf, without its end ("\n" or,
 * from a C runtime in text mode, "\r\n"). 0, or -1 when there is none. */
static int take_line(proc_t *p, char *buf, size_t len)
{
  char *nl = memchr(p->buf, '\n', p->have);
  size_t used, text;

  if (nl == NULL)
    return -1;
  used = (size_t)(nl - p->buf) + 1;
  text = used - 1;
  if (text > 0 && p->buf[text - 1] == '\r')
    text--;
  if (text > len - 1)
    text = len - 1;
  memcpy(buf, p->buf, text);
  buf[text] = '\0';
  p->have -= used;
  memmove(p->buf, p->buf + used, p->have);
  return 0;
}

int proc_read(proc_t *p, char *buf, size_t len, long timeout_ms)
{
  long long end = proc_now_ms() + timeout_ms;
  DWORD avail, got;

  /* Anonymous pipes have no overlapped reads: poll what is waiting. */
  while (take_line(p, buf, len) != 0) {
    if (p->have == sizeof p->buf)
      return -1;
    if (!PeekNamedPipe(p->out, NULL, 0, NULL, &avail, NULL))
      return -1; /* the writer is gone: end of file */
    if (avail == 0) {
      if (proc_now_ms() >= end)
        return -1;
      Sleep(1);
      continue;
    }
    if (avail > sizeof p->buf - p->have)
      avail = (DWORD)(sizeof p->buf - p->have);
    if (!ReadFile(p->out, p->buf + p->have, avail, &got, NULL) || got == 0)
      return -1;
    p->have += got;
  }
  return 0;
}

void proc_kill(proc_t *p)
{
  TerminateProcess(p->process, PROC_KILLED);
}

unsigned long proc_pid(const proc_t *p)
{
  return (unsigned long)GetProcessId(p->process);
}

int proc_wait(proc_t *p)
{
  DWORD code = 0;
  int r = -1;

  proc_live_drop(p);
  CloseHandle(p->in);
  if (WaitForSingleObject(p->process, INFINITE) == WAIT_OBJECT_0 &&
      GetExitCodeProcess(p->process, &code))
    r = (int)code;
  CloseHandle(p->out);
  CloseHandle(p->process);
  free(p);
  return r;
}

long long proc_now_ms(void)
{
  LARGE_INTEGER f, c;

  /* The performance counter, not GetTickCount64: its 10-16 ms steps would
   * blur the timeout tests' measurements. */
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return c.QuadPart / f.QuadPart * 1000 +
         c.QuadPart % f.QuadPart * 1000 / f.QuadPart;
}

unsigned long proc_getpid(void)
{
  return (unsigned long)GetCurrentProcessId();
}
