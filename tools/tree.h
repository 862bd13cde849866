/*
 * The process tree of a command that `syssem run` runs: every process the
 * command started, directly or not, including those that left its process
 * group or session. The build picks one file: tree_linux.c (the tree is
 * followed through PR_SET_CHILD_SUBREAPER and /proc) or tree_other.c (only
 * the command itself is known). docs/tool.md says what each covers.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TREE_H
#define SYSSEM_TREE_H

#include <sys/types.h>

/* Make the caller the reaper of its orphaned descendants, so that no
 * process of its tree can leave it: while one lives, the caller has a child.
 * 1 if that holds here, 0 if descendants may escape (then only the children
 * of the caller are known). */
int tree_adopt(void);

/* Send sig to every living descendant of the caller, except those in the
 * process group skip_pgid (when it is > 0). One pass: a process that is
 * being forked at that moment may miss it. Never signals a process that is
 * not a descendant, even when a pid has been reused since the tree was
 * read. cmd: the caller's child to signal when the tree cannot be read. */
void tree_signal(pid_t cmd, int sig, pid_t skip_pgid);

/* SIGKILL every descendant and reap them all, again and again, until the
 * caller has no child left. Where tree_adopt() holds, none of the tree
 * lives afterwards. When the child cmd (> 0) is reaped on the way, its wait
 * status is stored in *cmd_status. */
void tree_kill_all(pid_t cmd, int *cmd_status);

/* The caller gets SIGKILL when its parent (whose pid is parent) ends; if
 * that already happened, at once. Where the system cannot, nothing. */
void tree_die_with_parent(pid_t parent);
/* Undo tree_die_with_parent(). */
void tree_outlive_parent(void);

#endif /* SYSSEM_TREE_H */
