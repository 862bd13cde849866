/*
 * A test-only errno shim: the test program that links it is linked with
 * -Wl,--wrap for each call below (tests/meson.build), so that every call
 * the library and the test make to it reaches the wrapper first. Unarmed,
 * a wrapper passes the call on unchanged; armed, it answers as another
 * system would where no emulation profile can make Linux do so
 * (docs/portability.md):
 *
 *  undo_max   semop and semtimedop keep, as xnu and the BSDs do, a table of
 *             the sets on which this process has SEM_UNDO adjustments
 *             pending, one entry per set with a net change; an operation
 *             with SEM_UNDO that needs an entry beyond undo_max fails with
 *             EINVAL, the set untouched (macOS, OpenBSD, NetBSD: 10;
 *             FreeBSD: 50).
 *  name_max   sem_open fails with ENAMETOOLONG for a name longer than this
 *             many bytes after the slash (a kernel or C library whose limit
 *             is below the one the library knows).
 *  no_sysv    semget fails with ENOSYS: System V IPC is not in this kernel
 *             (a FreeBSD jail without sysvsem, Cygwin without cygserver).
 *  shared_mappings
 *             sem_open and sem_close as illumos and Cygwin make them: a
 *             second open of a name this process has open gives the first
 *             open's sem_t without counting it, and the first sem_close of
 *             it unmaps it for every holder.
 *  file_locks sem_open locks the semaphore's file while it works (FreeBSD
 *             opens it O_EXLOCK) and sem_close does too (Cygwin, with
 *             fcntl): a lock held on the file by this very process, through
 *             another descriptor, would make either wait for ever. Here
 *             the call fails with EDEADLK instead, and counts it in
 *             self_deadlocks.
 *
 * Each wrapper also counts the calls made to it, armed or not, so that a
 * test can tell what the library did (no reopen, no second try).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_ERRNO_SHIM_H
#define SYSSEM_TEST_ERRNO_SHIM_H

#include <stddef.h>

struct errno_shim {
  int undo_max;    /* 0: unarmed */
  size_t name_max; /* 0: unarmed */
  int no_sysv;
  int shared_mappings;
  int file_locks;
  long semop_calls, semget_calls, sem_open_calls, self_deadlocks;
};

extern struct errno_shim shim;

/* Disarm every fault, forget the undo table, zero the counts. */
void shim_reset(void);

#endif
