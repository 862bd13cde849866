/*
 * A test-only LD_PRELOAD shim for the Qt helper: stops the process at its
 * first semget() that creates (IPC_CREAT | IPC_EXCL), so that a test can run
 * another party in the window between the key file and the set that Qt's
 * own code leaves. At that semget it opens the FIFO named by
 * $SYSSEM_SHIM_PAUSED and writes one byte, then opens the FIFO named by
 * $SYSSEM_SHIM_RESUME and reads one byte, and only then calls the real
 * semget. Without those variables it changes nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

int semget(key_t key, int nsems, int flags)
{
  static int (*real)(key_t, int, int);
  static int done;
  const char *paused = getenv("SYSSEM_SHIM_PAUSED");
  const char *resume = getenv("SYSSEM_SHIM_RESUME");
  char b = 'p';
  int fd;

  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "semget");
  if (!done && paused && resume && (flags & IPC_CREAT) && (flags & IPC_EXCL)) {
    done = 1;
    fd = open(paused, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, &b, 1) != 1)
      _exit(90);
    close(fd);
    fd = open(resume, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &b, 1) != 1)
      _exit(91);
    close(fd);
  }
  return real(key, nsems, flags);
}
